/*
 * fdio_bench.c: what libqnxsim's interposed file calls cost ordinary I/O. Times N read(2)s of
 * one byte from /dev/zero and N open(2)+close(2) pairs of an ordinary file, in R rounds, and
 * prints the median ns per call of each. Built twice by procnto-sim/tests/c_fdio.rs, linked
 * with libqnxsim and not; it says which it is (whether ionotify, libqnxsim's, is there) and
 * the CPU it pinned itself to. Linked with libqnxsim, it then makes its kernel (a name_attach,
 * found with dlsym) and times the open+close pairs again: an open in a program with a kernel
 * compares the path with the kernel's cached mountpoints. `fdio_bench [N [R]]` (defaults
 * 200000, 7).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int rounds = argc > 2 ? atoi(argv[2]) : 7, r, cpu = sched_getcpu(), ncpu;
    double reads[64], opens[64], kopens[64];
    void *(*attach)(void *, const char *, unsigned);
    char path[64], b;
    cpu_set_t set;
    long i;
    int fd, zero;

    if (n <= 0 || rounds <= 0 || rounds > 64) {
        fprintf(stderr, "usage: fdio_bench [N [ROUNDS<=64]]\n");
        return 2;
    }
    ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    CPU_ZERO(&set);
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        cpu = -1;
    }
    snprintf(path, sizeof path, "/tmp/qnxsim-fdio-bench-%d", (int)getpid());
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    close(fd);
    zero = open("/dev/zero", O_RDONLY);
    if (zero < 0) {
        perror("/dev/zero");
        return 1;
    }
    for (r = 0; r < rounds; r++) {
        double t0 = now_ns();
        for (i = 0; i < n; i++) {
            if (read(zero, &b, 1) != 1) {
                perror("read");
                return 1;
            }
        }
        reads[r] = (now_ns() - t0) / (double)n;
        t0 = now_ns();
        for (i = 0; i < n / 10; i++) {
            fd = open(path, O_RDONLY);
            if (fd < 0 || close(fd) != 0) {
                perror("open/close");
                return 1;
            }
        }
        opens[r] = (now_ns() - t0) / (double)(n / 10 > 0 ? n / 10 : 1);
    }
    close(zero);
    *(void **)&attach = dlsym(RTLD_DEFAULT, "name_attach");
    if (attach != NULL) {
        if (attach(NULL, "fdio-bench", 0) == NULL) {
            perror("name_attach");
            return 1;
        }
        for (r = 0; r < rounds; r++) {
            double t0 = now_ns();
            for (i = 0; i < n / 10; i++) {
                fd = open(path, O_RDONLY);
                if (fd < 0 || close(fd) != 0) {
                    perror("open/close");
                    return 1;
                }
            }
            kopens[r] = (now_ns() - t0) / (double)(n / 10 > 0 ? n / 10 : 1);
        }
    }
    unlink(path);
    printf("libqnxsim %s\n", dlsym(RTLD_DEFAULT, "ionotify") ? "linked" : "not linked");
    printf("placement: pinned to cpu %d of %d\n", cpu, ncpu);
    printf("read 1 byte of /dev/zero: %.1f ns/call (median of %d rounds of %ld)\n",
           median(reads, rounds), rounds, n);
    printf("open+close of a file: %.1f ns/pair (median of %d rounds of %ld)\n",
           median(opens, rounds), rounds, n / 10 > 0 ? n / 10 : 1);
    if (attach != NULL) {
        printf("open+close, kernel made: %.1f ns/pair (median of %d rounds of %ld)\n",
               median(kopens, rounds), rounds, n / 10 > 0 ? n / 10 : 1);
    }
    return 0;
}
