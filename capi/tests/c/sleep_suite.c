/*
 * sleep_suite.c: nanosleep(), clock_nanosleep(), sleep() and usleep() as QNX programs call
 * them, through libqnxsim's <time.h> and <unistd.h>. A thread that made a kernel call sleeps
 * NANOSLEEP-blocked in the kernel (QNX's TimerTimeout with _NTO_TIMEOUT_NANOSLEEP) with the
 * results and errors of the C library's calls; a thread of a program that made none sleeps in
 * Linux's and joins no kernel.
 *
 * Modes:
 *   (none)  the results and errors from a thread of the kernel's: bad arguments, whole sleeps
 *           (never shorter than asked), absolute ones, sleeps ended by a signal handler (EINTR,
 *           the time left), and the same calls from a thread that is not the kernel's yet;
 *   states  starts one thread per call, each sleeping 60 s after a kernel call, prints
 *           "sleeping TID CALL" for each and "ready", then waits to be killed (the test reads
 *           the threads' states in the kernel: NANOSLEEP);
 *   plain   sleeps with each call and makes no kernel call: prints "slept R R R R" (the
 *           results) and exits (the test checks that no kernel was started for it).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <process.h>
#include <time.h>
#include <unistd.h>
#ifdef __cplusplus
#include <chrono>
#include <thread>
#endif

#include "check.h"

static long long now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static volatile sig_atomic_t caught;

static void on_usr1(int sig) {
    (void)sig;
    caught++;
}

/* A thread that sends SIGUSR1 to `target` every 20 ms until told to stop. */
struct poker {
    pthread_t target;
    volatile int stop;
};

static void *poke(void *arg) {
    struct poker *p = (struct poker *)arg;
    while (!p->stop) {
        struct timespec ts = {0, 20000000};
        pthread_kill(p->target, SIGUSR1);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Starts a poker of the calling thread. */
static pthread_t start_poker(struct poker *p) {
    pthread_t t;
    p->target = pthread_self();
    p->stop = 0;
    pthread_create(&t, NULL, poke, p);
    return t;
}

static void stop_poker(struct poker *p, pthread_t t) {
    p->stop = 1;
    pthread_join(t, NULL);
}

static void bad_arguments(void) {
    struct timespec ts;
    errno = 0;
    CHECK(nanosleep(NULL, NULL) == -1 && errno == EFAULT, "nanosleep(NULL): EFAULT");
    ts.tv_sec = 0;
    ts.tv_nsec = 1000000000L;
    errno = 0;
    CHECK(nanosleep(&ts, NULL) == -1 && errno == EINVAL, "nanosleep 1e9 ns: EINVAL");
    ts.tv_nsec = -1;
    errno = 0;
    CHECK(nanosleep(&ts, NULL) == -1 && errno == EINVAL, "nanosleep -1 ns: EINVAL");
    ts.tv_sec = -1;
    ts.tv_nsec = 0;
    errno = 0;
    CHECK(nanosleep(&ts, NULL) == -1 && errno == EINVAL, "nanosleep -1 s: EINVAL");
    ts.tv_sec = 0;
    ts.tv_nsec = 1000000000L;
    errno = 0;
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINVAL,
          "clock_nanosleep 1e9 ns: EINVAL, returned");
    CHECK(errno == 0, "clock_nanosleep leaves errno alone");
    CHECK(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, NULL, NULL) == EFAULT,
          "clock_nanosleep(NULL): EFAULT");
    ts.tv_nsec = 1000;
    CHECK(clock_nanosleep((clockid_t)12345, 0, &ts, NULL) == EINVAL,
          "clock_nanosleep on no clock: EINVAL");
}

static void whole_sleeps(void) {
    struct timespec ts = {0, 30000000}, rem = {7, 7};
    long long t0 = now_ns(CLOCK_MONOTONIC);
    CHECK(nanosleep(&ts, &rem) == 0, "nanosleep 30 ms");
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 30000000LL, "nanosleep slept 30 ms at least");
    CHECK(rem.tv_sec == 7 && rem.tv_nsec == 7, "a whole nanosleep leaves rem alone");
    t0 = now_ns(CLOCK_MONOTONIC);
    CHECK(clock_nanosleep(CLOCK_REALTIME, 0, &ts, NULL) == 0, "clock_nanosleep realtime 30 ms");
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 30000000LL, "it slept 30 ms at least");
    t0 = now_ns(CLOCK_MONOTONIC);
    CHECK(usleep(30000) == 0, "usleep 30 ms");
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 30000000LL, "usleep slept 30 ms at least");
    t0 = now_ns(CLOCK_MONOTONIC);
    CHECK(sleep(1) == 0, "sleep 1 s");
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 1000000000LL, "sleep slept 1 s at least");
    CHECK(sleep(0) == 0 && usleep(0) == 0, "sleeps of 0");
    ts.tv_nsec = 0;
    CHECK(nanosleep(&ts, NULL) == 0, "nanosleep of 0");

    /* Absolute: until a time on the clock; one that has passed returns at once. */
    long long target = now_ns(CLOCK_MONOTONIC) + 30000000LL;
    ts.tv_sec = (time_t)(target / 1000000000LL);
    ts.tv_nsec = (long)(target % 1000000000LL);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == 0,
          "clock_nanosleep monotonic TIMER_ABSTIME");
    CHECK(now_ns(CLOCK_MONOTONIC) >= target, "it slept until the time");
    target = now_ns(CLOCK_REALTIME) + 30000000LL;
    ts.tv_sec = (time_t)(target / 1000000000LL);
    ts.tv_nsec = (long)(target % 1000000000LL);
    CHECK(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == 0,
          "clock_nanosleep realtime TIMER_ABSTIME");
    CHECK(now_ns(CLOCK_REALTIME) >= target, "it slept until the realtime");
    ts.tv_sec = 1;
    ts.tv_nsec = 0;
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == 0,
          "a TIMER_ABSTIME time passed long ago: 0");
}

/* Each call, 10 s, ended by SIGUSR1's handler (installed with and without SA_RESTART, which
 * never restarts a sleep). */
static void interrupted_sleeps(int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction SIGUSR1");
    struct poker p;
    pthread_t t = start_poker(&p);

    struct timespec ts = {10, 0}, rem = {-1, -1};
    caught = 0;
    errno = 0;
    CHECK(nanosleep(&ts, &rem) == -1 && errno == EINTR, "nanosleep ended by a handler: EINTR");
    CHECK(caught > 0, "the handler ran");
    CHECK(rem.tv_sec >= 0 && rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000L &&
              (rem.tv_sec < 10 || (rem.tv_sec == 10 && rem.tv_nsec == 0)) &&
              (rem.tv_sec > 0 || rem.tv_nsec > 0),
          "rem: the time left, less than asked");

    rem.tv_sec = -1;
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem) == EINTR,
          "clock_nanosleep ended by a handler: EINTR, returned");
    CHECK(rem.tv_sec >= 0 && rem.tv_sec <= 10, "rem written");

    long long target = now_ns(CLOCK_REALTIME) + 10000000000LL;
    struct timespec abs_ts = {(time_t)(target / 1000000000LL), (long)(target % 1000000000LL)};
    rem.tv_sec = -7;
    rem.tv_nsec = 7;
    CHECK(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs_ts, &rem) == EINTR,
          "an absolute clock_nanosleep ended by a handler: EINTR");
    CHECK(rem.tv_sec == -7 && rem.tv_nsec == 7, "an absolute sleep leaves rem alone");

    unsigned left = sleep(10);
    CHECK(left >= 1 && left <= 10, "sleep ended by a handler: the seconds left");

    errno = 0;
    CHECK(usleep(10000000) == -1 && errno == EINTR, "usleep ended by a handler: EINTR");

    stop_poker(&p, t);
    signal(SIGUSR1, SIG_DFL);
}

/* The calls from a thread that is not the kernel's (a program's main thread before any kernel
 * call): Linux's, with the same results. */
static void unbound_sleeps(void) {
    struct timespec ts = {0, 5000000};
    CHECK(nanosleep(&ts, NULL) == 0, "nanosleep before any kernel call");
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == 0,
          "clock_nanosleep before any kernel call");
    CHECK(usleep(5000) == 0 && sleep(0) == 0, "usleep and sleep before any kernel call");
    ts.tv_nsec = 1000000000L;
    errno = 0;
    CHECK(nanosleep(&ts, NULL) == -1 && errno == EINVAL, "EINVAL before any kernel call");
}

/* ------------------------------------------------------------------------- states */

static pthread_mutex_t announced_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t announced_cond = PTHREAD_COND_INITIALIZER;
static int announced;

/* Prints "sleeping TID CALL" and counts it, before the thread sleeps in `call`. */
static void announce(const char *call) {
    pthread_mutex_lock(&announced_lock);
    printf("sleeping %d %s\n", gettid(), call);
    fflush(stdout);
    announced++;
    pthread_cond_broadcast(&announced_cond);
    pthread_mutex_unlock(&announced_lock);
}

static void *in_nanosleep(void *arg) {
    struct timespec ts = {60, 0};
    (void)arg;
    announce("nanosleep");
    nanosleep(&ts, NULL);
    return NULL;
}

static void *in_clock_nanosleep(void *arg) {
    struct timespec ts = {60, 0};
    (void)arg;
    announce("clock_nanosleep");
    clock_nanosleep(CLOCK_REALTIME, 0, &ts, NULL);
    return NULL;
}

static void *in_sleep(void *arg) {
    (void)arg;
    announce("sleep");
    sleep(60);
    return NULL;
}

static void *in_usleep(void *arg) {
    (void)arg;
    announce("usleep");
    usleep(60000000);
    return NULL;
}

#ifdef __cplusplus
static void *in_sleep_for(void *arg) {
    (void)arg;
    announce("this_thread::sleep_for");
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return NULL;
}
#endif

static int states(void) {
    void *(*fns[])(void *) = {
        in_nanosleep, in_clock_nanosleep, in_sleep, in_usleep,
#ifdef __cplusplus
        in_sleep_for,
#endif
    };
    int n = (int)(sizeof fns / sizeof fns[0]);
    /* (A kernel call first: the program joins the kernel, and its threads are the kernel's.) */
    if (ChannelCreate(0) == -1) {
        perror("ChannelCreate");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, fns[i], NULL) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    /* (Each thread has said which it is before "ready": the test reads the lines up to it.) */
    pthread_mutex_lock(&announced_lock);
    while (announced < n) {
        pthread_cond_wait(&announced_cond, &announced_lock);
    }
    pthread_mutex_unlock(&announced_lock);
    printf("ready\n");
    fflush(stdout);
    sleep(60);
    return 0;
}

static int plain(void) {
    struct timespec ts = {0, 2000000};
    int a = nanosleep(&ts, NULL);
    int b = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    int c = usleep(2000);
    unsigned d = sleep(0);
    printf("slept %d %d %d %u\n", a, b, c, d);
    return 0;
}

int main(int argc, char **argv) {
    alarm(120);
    if (argc > 1 && strcmp(argv[1], "states") == 0) {
        return states();
    }
    if (argc > 1 && strcmp(argv[1], "plain") == 0) {
        return plain();
    }
    unbound_sleeps();
    CHECK(ChannelCreate(0) != -1, "ChannelCreate: the thread is the kernel's");
    bad_arguments();
    whole_sleeps();
    interrupted_sleeps(0);
    interrupted_sleeps(1);
    return SUMMARY();
}
