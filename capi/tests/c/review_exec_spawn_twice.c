/*
 * review_exec_spawn_twice.c: two copies of libqnxsim in one program (argv[1..]: the paths of
 * copies of libqnxsim.so, dlopen'ed RTLD_LOCAL, as a host and a plugin each linked with its
 * own), both on the kernel QNXSIM_KERNEL names. A thread of the first copy makes kernel calls
 * in a tight loop (ChannelCreate, ChannelDestroy) while the main thread makes a first kernel
 * call through each other copy in turn: that copy maps the kernel for the first time in this
 * image (its list of mappings is its own), finds the lock held by this pid, and takes it for a
 * dead earlier image's hold (design.md, "exec"). Prints "N passed, M failed": every call of
 * the first copy's thread must succeed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

typedef int (*chan_create_t)(unsigned);
typedef int (*chan_destroy_t)(int);

static chan_create_t create_a;
static chan_destroy_t destroy_a;
static volatile int stop;
static long rounds, failures;

static void *hammer(void *arg) {
    (void)arg;
    while (!stop) {
        int chid = create_a(0);
        if (chid == -1 || destroy_a(chid) != 0) {
            if (failures++ < 5) {
                printf("first copy: call failed (chid %d): %s\n", chid, strerror(errno));
                fflush(stdout);
            }
        }
        rounds++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t t;
    int i;
    if (argc < 3) {
        fprintf(stderr, "usage: %s LIB1 LIB2...\n", argv[0]);
        return 2;
    }
    void *a = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (a == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
        return 2;
    }
    create_a = (chan_create_t)dlsym(a, "ChannelCreate");
    destroy_a = (chan_destroy_t)dlsym(a, "ChannelDestroy");
    CHECK(create_a != NULL && destroy_a != NULL, "the first copy's calls");
    int first = create_a(0);
    CHECK(first > 0, "the first copy joins the kernel");
    pthread_create(&t, NULL, hammer, NULL);
    usleep(50000);
    for (i = 2; i < argc; i++) {
        void *b = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
        if (b == NULL) {
            fprintf(stderr, "dlopen %s: %s\n", argv[i], dlerror());
            continue;
        }
        chan_create_t create_b = (chan_create_t)dlsym(b, "ChannelCreate");
        /* Its result does not matter (EEXIST: the pid's process is the first copy's): its
         * mapping of the kernel does. */
        (void)create_b(0);
        usleep(20000);
    }
    usleep(50000);
    stop = 1;
    pthread_join(t, NULL);
    printf("%ld rounds, %ld failed\n", rounds, failures);
    CHECK(rounds > 100, "the first copy's thread made calls");
    CHECK(failures == 0, "no call of the first copy's thread failed");
    CHECK(destroy_a(first) == 0, "the first copy's first channel is still there");
    return SUMMARY();
}
