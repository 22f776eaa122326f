/* Review of the C interrupt API (capi/src/interrupt.rs, capi/src/devmem.rs), run by
 * procnto-sim/tests/review_intr_sim.rs:
 *
 *   review_interrupts_fork fork   A handler is under way (InterruptAttach, raised, blocked in
 *                                 the handler) when the program forks. The child, which has no
 *                                 handler running (only the forking thread is copied), calls
 *                                 InterruptDisable()/InterruptEnable(): on QNX a cli/sti, here it
 *                                 must not wait for the parent's handler. The child is bounded
 *                                 by alarm(5). Prints "child ok" or "child hung STATUS".
 *   review_interrupts_fork write  Maps physical 0x1000 and writes 0xdeadbeef there.
 *   review_interrupts_fork read   Maps physical 0x1000 and prints "reg 0xVALUE" (a kernel's
 *                                 untouched physical memory reads as zero).
 */
#include <qnxsim/interrupt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/neutrino.h>
#include <sys/wait.h>
#include <hw/inout.h>
#include <unistd.h>

static volatile int in_handler;
static volatile int release;

static const struct sigevent *handler(void *area, int id) {
    (void)area;
    (void)id;
    __atomic_store_n(&in_handler, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 20000 && !__atomic_load_n(&release, __ATOMIC_SEQ_CST); i++) {
        usleep(1000);
    }
    return NULL;
}

static int do_fork(void) {
    int id = InterruptAttach(20, handler, NULL, 0, 0);
    if (id == -1) {
        perror("InterruptAttach");
        return 1;
    }
    if (qnxsim_interrupt_raise(20) != 1) {
        perror("qnxsim_interrupt_raise");
        return 1;
    }
    for (int i = 0; i < 20000 && !__atomic_load_n(&in_handler, __ATOMIC_SEQ_CST); i++) {
        usleep(1000);
    }
    if (!in_handler) {
        fprintf(stderr, "the handler never ran\n");
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(5);
        InterruptDisable();
        InterruptEnable();
        _exit(0);
    }
    __atomic_store_n(&release, 1, __ATOMIC_SEQ_CST);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        printf("child ok\n");
    } else {
        printf("child hung %d\n", st);
    }
    InterruptDetach(id);
    return 0;
}

static int do_write(void) {
    void *p = mmap_device_memory(NULL, 4096, PROT_READ | PROT_WRITE | PROT_NOCACHE, 0, 0x1000);
    if (p == MAP_FAILED) {
        perror("mmap_device_memory");
        return 1;
    }
    out32((uintptr_t)p, 0xdeadbeef);
    printf("wrote\n");
    munmap_device_memory(p, 4096);
    return 0;
}

static int do_read(void) {
    void *p = mmap_device_memory(NULL, 4096, PROT_READ | PROT_WRITE | PROT_NOCACHE, 0, 0x1000);
    if (p == MAP_FAILED) {
        perror("mmap_device_memory");
        return 1;
    }
    printf("reg 0x%x\n", (unsigned)in32((uintptr_t)p));
    munmap_device_memory(p, 4096);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "fork") == 0) {
        return do_fork();
    }
    if (argc > 1 && strcmp(argv[1], "write") == 0) {
        return do_write();
    }
    if (argc > 1 && strcmp(argv[1], "read") == 0) {
        return do_read();
    }
    fprintf(stderr, "usage: %s fork|write|read\n", argv[0]);
    return 2;
}
