/*
 * review_c_abi.c: a review of the C ABI of 6d46e9e..HEAD (interrupts, device memory, clocks and
 * the system page, procmgr_ability, ConnectClientInfo/ConnectServerInfo), as a QNX porter's
 * program uses it. Built by procnto-sim/tests/review_c_abi.rs (C99 and C++17).
 *
 *   review_c_abi                      the idioms that work (each a check); all must pass
 *   review_c_abi ngroups_max          DEFECT: ConnectClientInfo(scoid, &ci, NGROUPS_MAX), QNX's
 *                                     idiom, writes past struct _client_info when the client
 *                                     has more than 8 groups (NGROUPS_MAX is 65536 on Linux,
 *                                     8 on QNX)
 *   review_c_abi ability_eol_inherit  DEFECT: gdb's list (EOL | ALLOW | INHERIT_YES | ROOT) is
 *                                     EINVAL here
 *   review_c_abi ability_eol_domain   DEFECT: a list ended by PROCMGR_ADN_NONROOT |
 *                                     PROCMGR_AID_EOL (a driver's) is EINVAL here
 *
 * Each mode prints "N passed, M failed" last. Every wait is bounded (TimerTimeout, loops with
 * a deadline).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* setgroups */
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hw/inout.h>
#include <qnxsim/interrupt.h>
#include <sys/mman.h>
#include <sys/neutrino.h>
#include <sys/procmgr.h>
#include <sys/syspage.h>

#include "check.h"

#define LEVEL 7

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void arm_intr(unsigned long long ms) {
    _Uint64t ns = ms * 1000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, NULL, &ns, NULL);
}

/* Whether descriptor fd is open. */
static int fcntl_probe(int fd) {
    return fcntl(fd, F_GETFD) != -1;
}

/* Descriptors open in this process. */
static int open_fds(void) {
    int n = 0;
    int fd;
    for (fd = 0; fd < 4096; fd++) {
        if (fcntl_probe(fd)) {
            n++;
        }
    }
    return n;
}

/* ------------------------------------------------------------------ the idioms that work */

static struct sigevent intr_event;
static volatile int isr_runs;
static volatile int stop_storm;

static const struct sigevent *masking_isr(void *area, int id) {
    (void)area;
    InterruptMask(LEVEL, id);
    isr_runs++;
    return &intr_event;
}

static void *storm(void *arg) {
    (void)arg;
    while (!stop_storm) {
        qnxsim_interrupt_raise(LEVEL);
    }
    return NULL;
}

static void clocks_and_syspage(void) {
    _Uint64t cps = SYSPAGE_ENTRY(qtime)->cycles_per_sec;
    _Uint64t t0 = ClockCycles();
    struct timespec nap = {0, 20 * 1000 * 1000};
    _Uint64t t1;
    double secs;
    _Uint64t ms;
    _Uint64t rt = 0;
    struct _clockperiod per;
    CHECK(cps == 1000000000ULL, "SYSPAGE_ENTRY(qtime)->cycles_per_sec");
    nanosleep(&nap, NULL);
    t1 = ClockCycles();
    secs = (double)(t1 - t0) / (double)cps;
    ms = (t1 - t0) * 1000 / SYSPAGE_ENTRY(qtime)->cycles_per_sec;
    CHECK(secs >= 0.019 && secs < 5.0, "a ClockCycles delta over cycles_per_sec is the time");
    CHECK(ms >= 19 && ms < 5000, "delta * 1000 / cycles_per_sec: milliseconds");
    CHECK(_syspage_ptr->num_cpu >= 1, "_syspage_ptr->num_cpu");
    errno = 4321;
    CHECK(ClockTime(CLOCK_REALTIME, NULL, &rt) == 0 && errno == 4321,
          "ClockTime succeeds, errno untouched");
    CHECK(rt / 1000000000ULL >= SYSPAGE_ENTRY(qtime)->boot_time, "boot_time is before now");
    CHECK(ClockTime_r(CLOCK_PROCESS_CPUTIME_ID + 1000, NULL, &rt) == -EINVAL && errno == 4321,
          "ClockTime_r: -EINVAL, errno untouched");
    CHECK(ClockPeriod(CLOCK_REALTIME, NULL, &per, 0) == 0 && per.nsec >= 1,
          "ClockPeriod reports the resolution");
}

static void interrupts(void) {
    int id;
    pthread_t t;
    int served = 0;
    int bad = 0;
    double t0;
    int r;

    CHECK(ThreadCtl(_NTO_TCTL_IO, 0) == 0, "ThreadCtl(_NTO_TCTL_IO, 0) first");
    SIGEV_INTR_INIT(&intr_event);
    /* QNX's handler-driver loop: the ISR masks and returns SIGEV_INTR; the thread waits,
     * serves, unmasks; a device raises as fast as it can meanwhile. */
    id = InterruptAttach(LEVEL, masking_isr, NULL, 0, _NTO_INTR_FLAGS_TRK_MSK);
    CHECK(id != -1, "InterruptAttach(_NTO_INTR_FLAGS_TRK_MSK)");
    pthread_create(&t, NULL, storm, NULL);
    t0 = now_s();
    while (served < 500 && now_s() - t0 < 10) {
        arm_intr(2000);
        if (InterruptWait(0, NULL) != 0) {
            bad++;
            break;
        }
        served++;
        InterruptUnmask(LEVEL, id);
    }
    stop_storm = 1;
    pthread_join(t, NULL);
    CHECK(bad == 0 && served == 500, "InterruptWait(0, NULL) loop served 500 interrupts");
    CHECK(isr_runs >= served, "the handler ran for each");
    CHECK(InterruptDetach(id) == 0, "InterruptDetach after the loop");

    /* Bad ids and levels: errors, not crashes; the _r forms leave errno alone. */
    errno = 99;
    r = InterruptAttach_r(INT_MIN, masking_isr, NULL, 0, 0);
    CHECK(r == -EINVAL && errno == 99, "InterruptAttach_r(INT_MIN): -EINVAL");
    CHECK(InterruptDetach(INT_MIN) == -1 && errno == EINVAL, "InterruptDetach(INT_MIN): EINVAL");
    CHECK(InterruptWait(INT_MIN, NULL) == -1 && errno == EINVAL, "InterruptWait(INT_MIN): EINVAL");
    CHECK(qnxsim_interrupt_raise(-1) == -1 && errno == EINVAL, "raise(-1): EINVAL");
}

static void device_memory(void) {
    uintptr_t base;
    volatile _Uint32t *regs;
    volatile _Uint32t *dev;
    int i;
    int ok = 1;
    int fds0 = open_fds();
    _Uint8t buf[8];

    base = mmap_device_io(8, 0x3f8);
    CHECK(base != MAP_DEVICE_FAILED, "mmap_device_io(8, 0x3f8)");
    if (base == MAP_DEVICE_FAILED) {
        return;
    }
    for (i = 0; i < 8; i++) {
        out8(base + (uintptr_t)i, (_Uint8t)(0xa0 + i));
    }
    for (i = 0; i < 8; i++) {
        ok &= in8(base + (uintptr_t)i) == (_Uint8t)(0xa0 + i);
    }
    CHECK(ok, "out8/in8 loop over the ports");
    in8s(buf, 4, base + 1);
    CHECK(buf[0] == 0xa1 && buf[3] == 0xa1, "in8s reads one port (a FIFO)");
    CHECK(munmap_device_io(base, 8) == 0, "munmap_device_io");

    regs = (volatile _Uint32t *)mmap_device_memory(NULL, 0x1000,
                                                   PROT_READ | PROT_WRITE | PROT_NOCACHE, 0,
                                                   0xfe200000ULL);
    dev = (volatile _Uint32t *)mmap_device_memory(NULL, 0x1000, PROT_READ | PROT_WRITE, 0,
                                                  0xfe200000ULL);
    CHECK(regs != MAP_FAILED && dev != MAP_FAILED, "two mappings of one register block");
    if (regs != MAP_FAILED && dev != MAP_FAILED) {
        dev[4] = 0xbeef;
        CHECK(in32((uintptr_t)&regs[4]) == 0xbeef, "the driver's in32 sees the device's write");
        munmap_device_memory((void *)regs, 0x1000);
        munmap_device_memory((void *)dev, 0x1000);
    }
    /* Many maps and unmaps: no descriptor kept per mapping. */
    for (i = 0; i < 2000; i++) {
        void *p = mmap_device_memory(NULL, 4096, PROT_READ | PROT_WRITE, 0, 0x10000);
        if (p == MAP_FAILED) {
            ok = 0;
            break;
        }
        munmap_device_memory(p, 4096);
        base = mmap_device_io(4, 0x60);
        if (base == MAP_DEVICE_FAILED) {
            ok = 0;
            break;
        }
        munmap_device_io(base, 4);
    }
    CHECK(ok, "2000 maps and unmaps");
    CHECK(open_fds() <= fds0 + 1, "the physical memory file is one descriptor at most");
    errno = 55;
    CHECK(mmap_device_memory(NULL, (size_t)-1, PROT_READ, 0, 0) == MAP_FAILED && errno == EINVAL,
          "a huge length: EINVAL");
    CHECK(mmap_device_io(16, 0xfffc) == MAP_DEVICE_FAILED && errno == EINVAL,
          "ports past 65535: EINVAL");
}

static void abilities(void) {
    errno = 77;
    /* Lists QNX drivers pass (each from a public driver or QNX's documentation). */
    CHECK(procmgr_ability(0, PROCMGR_ADN_ROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_INTERRUPT,
                          PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_INTERRUPT,
                          PROCMGR_ADN_ROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_IO,
                          PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_IO,
                          PROCMGR_AID_EOL) == EOK,
          "interrupt and I/O abilities for both domains");
    CHECK(procmgr_ability(0,
                          PROCMGR_AOP_ALLOW | PROCMGR_ADN_NONROOT | PROCMGR_AID_MEM_PHYS,
                          PROCMGR_AOP_DENY | PROCMGR_ADN_NONROOT | PROCMGR_AOP_LOCK |
                              PROCMGR_AID_EOL) == EOK,
          "deny and lock the rest (EOL | DENY | LOCK)");
    CHECK(procmgr_ability(0, PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_PRIORITY |
                                 PROCMGR_AID_EOL) == EOK,
          "an ability ORed into the EOL word");
    CHECK(procmgr_ability(0, PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AOP_SUBRANGE |
                                 PROCMGR_AOP_LOCK | PROCMGR_AID_SETUID,
                          (_Uint64t)1000, (_Uint64t)1500, PROCMGR_AID_EOL) == EOK,
          "a locked subrange");
    CHECK(procmgr_ability(getpid(), PROCMGR_AID_EOL) == EOK, "getpid(), EOL alone");
    CHECK(errno == 77, "procmgr_ability leaves errno alone");
}

static void client_info(void) {
    struct _client_info ci;
    struct _server_info si;
    int i;
    int ok = 1;
    int fds0 = open_fds();
    errno = 31;
    CHECK(ConnectClientInfo(-1, &ci, NGROUPS_MAX_QNX) == 0 && ci.pid == getpid() &&
              errno == 31,
          "ConnectClientInfo(-1): this process, errno untouched");
    for (i = 0; i < 1000; i++) {
        ok &= ConnectClientInfo(-1, &ci, NGROUPS_MAX_QNX) == 0;
    }
    CHECK(ok && open_fds() <= fds0, "1000 calls: no descriptor left open");
    CHECK(ConnectClientInfo(INT_MIN, &ci, 8) == -1 && errno == EINVAL, "scoid INT_MIN: EINVAL");
    CHECK(ConnectClientInfo(-1, &ci, INT_MIN) == -1 && errno == EINVAL, "ngroups INT_MIN: EINVAL");
    CHECK(ConnectServerInfo(INT_MIN, 0, &si) == -1 && errno == ESRCH, "pid INT_MIN: ESRCH");
    CHECK(ConnectServerInfo(0, INT_MAX, &si) == -1 && errno == EINVAL, "coid INT_MAX: EINVAL");
    CHECK(ConnectServerInfo(0, INT_MIN, NULL) == -1 && errno == EINVAL, "coid INT_MIN: EINVAL");
}

/* A forked child uses each of them. */
static void forked_child(void) {
    volatile _Uint8t *m = (volatile _Uint8t *)mmap_device_memory(
        NULL, 4096, PROT_READ | PROT_WRITE, 0, 0x20000);
    pid_t pid;
    int st = 0;
    _Uint64t c0 = ClockCycles();
    CHECK(m != MAP_FAILED, "the parent's mapping");
    if (m == MAP_FAILED) {
        return;
    }
    m[0] = 1;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int ok = 1;
        struct _client_info ci;
        volatile _Uint8t *c;
        int id;
        alarm(20);
        ok &= ClockCycles() > c0;
        ok &= SYSPAGE_ENTRY(qtime)->cycles_per_sec == 1000000000ULL;
        ok &= procmgr_ability(0, PROCMGR_ADN_ROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_IO,
                              PROCMGR_AID_EOL) == EOK;
        ok &= ConnectClientInfo(-1, &ci, NGROUPS_MAX_QNX) == 0 && ci.pid == getpid();
        c = (volatile _Uint8t *)mmap_device_memory(NULL, 4096, PROT_READ | PROT_WRITE, 0,
                                                   0x20000);
        ok &= c != MAP_FAILED && c[0] == 1;
        if (c != MAP_FAILED) {
            c[1] = 9;
        }
        id = InterruptAttachEvent(LEVEL, &intr_event, 0);
        ok &= id != -1 && qnxsim_interrupt_raise(LEVEL) == 1;
        arm_intr(2000);
        ok &= InterruptWait(0, NULL) == 0;
        _exit(ok ? 0 : 1);
    }
    CHECK(pid > 0, "fork");
    if (pid > 0) {
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's calls all worked");
        CHECK(m[1] == 9, "the child's write to physical memory is the parent's");
    }
}

static int idioms(void) {
    clocks_and_syspage();
    interrupts();
    device_memory();
    abilities();
    client_info();
    forked_child();
    return SUMMARY();
}

/* ------------------------------------------------------------------ the defects */

/* QNX's <limits.h> has NGROUPS_MAX 8, struct _cred_info's grouplist[NGROUPS_MAX]: the idiom
 * ConnectClientInfo(scoid, &ci, NGROUPS_MAX) is safe there. Here <limits.h> gives Linux's
 * 65536, and the call writes every group the client has. */
static int ngroups_max(void) {
    gid_t groups[20];
    struct {
        struct _client_info ci;
        unsigned canary[32];
    } s;
    int i;
    int clobbered = 0;
    for (i = 0; i < 20; i++) {
        groups[i] = (gid_t)(5000 + i);
    }
    if (setgroups(20, groups) != 0) {
        printf("skipped: setgroups needs root (%s)\n", strerror(errno));
        return SUMMARY();
    }
    memset(&s, 0, sizeof s);
    for (i = 0; i < 32; i++) {
        s.canary[i] = 0xdeadbeefu;
    }
    CHECK(ConnectClientInfo(-1, &s.ci, NGROUPS_MAX) == 0, "ConnectClientInfo(-1, &ci, NGROUPS_MAX)");
    for (i = 0; i < 32; i++) {
        clobbered += s.canary[i] != 0xdeadbeefu;
    }
    printf("NGROUPS_MAX %d, cred.ngroups %u, words written past struct _client_info: %d\n",
           (int)NGROUPS_MAX, s.ci.cred.ngroups, clobbered);
    CHECK(clobbered == 0, "nothing written past struct _client_info");
    CHECK(s.ci.cred.ngroups <= NGROUPS_MAX_QNX, "cred.ngroups within the struct's 8");
    return SUMMARY();
}

/* gdb's nto-procfs (gdb/nto-procfs.c, _initialize_nto_procfs) as root. */
static int ability_eol_inherit(void) {
    int r = procmgr_ability(0, PROCMGR_ADN_ROOT | PROCMGR_AOP_ALLOW | PROCMGR_AOP_INHERIT_YES |
                                   PROCMGR_AID_EOL);
    printf("procmgr_ability(0, ROOT|ALLOW|INHERIT_YES|EOL) = %d\n", r);
    CHECK(r == EOK, "EOL with PROCMGR_AOP_INHERIT_YES (gdb's list): EOK");
    r = procmgr_ability(0, PROCMGR_ADN_NONROOT | PROCMGR_AOP_DENY | PROCMGR_AOP_INHERIT_NO |
                               PROCMGR_AID_EOL);
    CHECK(r == EOK, "EOL with PROCMGR_AOP_INHERIT_NO: EOK");
    return SUMMARY();
}

/* NVIDIA's LwSciIpc test driver drops privileges with this list (its last word a domain and
 * PROCMGR_AID_EOL, no operation) and fails unless it is EOK. */
static int ability_eol_domain(void) {
    int r = procmgr_ability(0, PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_MEM_PHYS,
                            PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_INTERRUPTEVENT,
                            PROCMGR_ADN_NONROOT | PROCMGR_AID_EOL);
    printf("procmgr_ability(..., NONROOT|EOL) = %d\n", r);
    CHECK(r == EOK, "a list ended by PROCMGR_ADN_NONROOT | PROCMGR_AID_EOL: EOK");
    return SUMMARY();
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        return idioms();
    }
    if (strcmp(argv[1], "ngroups_max") == 0) {
        return ngroups_max();
    }
    if (strcmp(argv[1], "ability_eol_inherit") == 0) {
        return ability_eol_inherit();
    }
    if (strcmp(argv[1], "ability_eol_domain") == 0) {
        return ability_eol_domain();
    }
    printf("unknown mode %s\n", argv[1]);
    return 2;
}
