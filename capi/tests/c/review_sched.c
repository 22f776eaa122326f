/*
 * review_sched.c: an attacker's look at libqnxsim's scheduling calls and its pthread_create,
 * which attaches the new thread's kernel thread at creation (a trampoline binds it; until the
 * new thread records its Linux tid, its pthread_t is found through a table of pending
 * threads).
 *
 * Modes (argv[1]), each ends with "N passed, M failed":
 *
 *   race      pthread_create (explicit priority), then at once pthread_getschedparam and
 *             pthread_setschedprio on the new thread from its creator, many times: each must
 *             name the new thread (never ESRCH, never another thread's priority), while the
 *             new thread races to record its own Linux tid.
 *   lifecycle the pthread_t reuse of glibc (a joined thread's stack for the next), a thread
 *             that ended but is not joined (ESRCH), pthread_exit from the start routine,
 *             pthread_cancel before and after the start, detached threads, a thread made in
 *             a forked child, the NULL / bad argument errnos.
 *   churn     several threads create threads at once (joined, detached, pthread_exit, cancel,
 *             a QNX call or none), then print "idle" and wait (at most 30 s) for the test to
 *             look at the kernel and kill it: only the program's long-lived threads are left.
 *
 * Every wait is bounded; alarm() ends a program that hangs.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/wait.h>
#include <process.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_flag(volatile sig_atomic_t *flag, int ms) {
    long long until = now_ms() + ms;
    while (!*flag && now_ms() < until) {
        usleep(200);
    }
    return *flag != 0;
}

static struct sched_param param_of(int prio) {
    struct sched_param p;
    memset(&p, 0, sizeof p);
    p.sched_priority = prio;
    return p;
}

static int explicit_attr(pthread_attr_t *a, int policy, int prio) {
    struct sched_param p = param_of(prio);
    return pthread_attr_init(a) | pthread_attr_setinheritsched(a, PTHREAD_EXPLICIT_SCHED) |
           pthread_attr_setschedpolicy(a, policy) | pthread_attr_setschedparam(a, &p);
}

/* ------------------------------------------------------------------ race */

static volatile sig_atomic_t race_release;

static void *race_main(void *arg) {
    (void)arg;
    wait_flag(&race_release, 5000);
    return NULL;
}

/* The signal storm of the race: a handler that takes a while, so that a creator interrupted
 * between two steps of a lookup gives the new thread time to run. */
static volatile sig_atomic_t storm_stop;
static pthread_t storm_target;

static long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void storm_handler(int sig) {
    long long until = now_us() + 100;
    (void)sig;
    while (now_us() < until) {
    }
}

static void *storm_main(void *arg) {
    (void)arg;
    while (!storm_stop) {
        pthread_kill(storm_target, SIGUSR1);
        usleep(500);
    }
    return NULL;
}

static void race(int rounds, int storm) {
    int esrch = 0, wrong = 0, setfail = 0, made = 0, i;
    pthread_t stormer;
    (void)ChannelCreate(0); /* the program has a kernel */
    if (storm) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = storm_handler;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        storm_target = pthread_self();
        /* (The storm thread is a plain one: the renamed create is what is under test, so it
         * is made before the race, at the default scheduling.) */
        pthread_create(&stormer, NULL, storm_main, NULL);
    }
    for (i = 0; i < rounds; i++) {
        pthread_attr_t a;
        pthread_t t;
        int prio = 20 + i % 50, pol = -7, r;
        struct sched_param got = param_of(0);
        explicit_attr(&a, SCHED_FIFO, prio);
        race_release = 0;
        r = pthread_create(&t, &a, race_main, NULL);
        pthread_attr_destroy(&a);
        if (r != 0) {
            printf("pthread_create: %d\n", r);
            break;
        }
        made++;
        r = pthread_getschedparam(t, &pol, &got);
        if (r == ESRCH) {
            esrch++;
        } else if (r != 0 || pol != SCHED_FIFO || got.sched_priority != prio) {
            if (wrong < 5) {
                printf("round %d: getschedparam %d, policy %d, prio %d (want FIFO %d)\n", i, r,
                       pol, got.sched_priority, prio);
            }
            wrong++;
        }
        r = pthread_setschedprio(t, prio + 1);
        if (r != 0) {
            if (setfail < 5) {
                printf("round %d: setschedprio %d\n", i, r);
            }
            setfail++;
        }
        race_release = 1;
        pthread_join(t, NULL);
    }
    if (storm) {
        storm_stop = 1;
        pthread_join(stormer, NULL);
    }
    printf("race: %d threads, %d ESRCH, %d wrong, %d setschedprio failures\n", made, esrch,
           wrong, setfail);
    CHECK(made == rounds, "every thread made");
    CHECK(esrch == 0, "pthread_getschedparam on a thread just made: never ESRCH");
    CHECK(wrong == 0, "pthread_getschedparam on a thread just made: its own policy/priority");
    CHECK(setfail == 0, "pthread_setschedprio on a thread just made: never fails");
}

/* ------------------------------------------------------------------ lifecycle */

struct worker {
    volatile sig_atomic_t started;
    volatile sig_atomic_t release;
    int how; /* 0 return, 1 pthread_exit, 2 block in a cancellation point */
    int prio_seen;
};

static void *worker_main(void *arg) {
    struct worker *w = (struct worker *)arg;
    struct sched_param sp = param_of(0);
    SchedGet(0, 0, &sp);
    w->prio_seen = sp.sched_priority;
    w->started = 1;
    if (w->how == 2) {
        for (;;) {
            sleep(1); /* a cancellation point */
        }
    }
    wait_flag(&w->release, 5000);
    if (w->how == 1) {
        pthread_exit((void *)(long)42);
    }
    return (void *)(long)7;
}

static int threads_of_kernel(void) {
    /* The calling thread's tid is 1 here; the highest thread id the kernel gave so far is
     * not visible from C: count threads by SchedGet on every tid up to `upto`. */
    int n = 0, tid;
    for (tid = 1; tid < 4096; tid++) {
        struct sched_param sp;
        if (SchedGet(0, tid, &sp) != -1) {
            n++;
        }
    }
    return n;
}

static void lifecycle(void) {
    pthread_attr_t a;
    pthread_t t1, t2, t;
    struct worker w1, w2, w;
    struct sched_param sp = param_of(0);
    void *res = NULL;
    int pol = -1, r, base;

    CHECK(ChannelCreate(0) >= 0, "the program has a kernel");
    base = threads_of_kernel();

    /* glibc reuses a joined thread's pthread_t: the sched calls name the new thread. */
    memset(&w1, 0, sizeof w1);
    explicit_attr(&a, SCHED_RR, 30);
    CHECK(pthread_create(&t1, &a, worker_main, &w1) == 0, "t1");
    wait_flag(&w1.started, 5000);
    w1.release = 1;
    pthread_join(t1, NULL);
    memset(&w2, 0, sizeof w2);
    explicit_attr(&a, SCHED_FIFO, 40);
    CHECK(pthread_create(&t2, &a, worker_main, &w2) == 0, "t2");
    pthread_attr_destroy(&a);
    printf("pthread_t reused: %s\n", pthread_equal(t1, t2) ? "yes" : "no");
    CHECK(pthread_getschedparam(t2, &pol, &sp) == 0 && pol == SCHED_FIFO &&
              sp.sched_priority == 40,
          "the reused pthread_t names the new thread (FIFO 40)");
    CHECK(wait_flag(&w2.started, 5000) && w2.prio_seen == 40, "t2 started at 40");
    CHECK(pthread_setschedprio(t2, 41) == 0, "setschedprio on t2");
    sp = param_of(0);
    CHECK(SchedGet(0, 0, &sp) >= 0 && sp.sched_priority == 10, "the caller untouched (10)");
    w2.release = 1;
    pthread_join(t2, NULL);

    /* A thread that ended but is not joined: ESRCH (deviations.md). */
    memset(&w, 0, sizeof w);
    CHECK(pthread_create(&t, NULL, worker_main, &w) == 0, "an unjoined thread");
    w.release = 1;
    {
        long long until = now_ms() + 5000;
        do {
            sp = param_of(0);
            r = pthread_getschedparam(t, &pol, &sp);
            if (r == ESRCH) {
                break;
            }
            usleep(1000);
        } while (now_ms() < until);
    }
    CHECK(r == ESRCH, "getschedparam on an ended, unjoined thread: ESRCH");
    sp = param_of(20);
    CHECK(pthread_setschedparam(t, SCHED_RR, &sp) == ESRCH, "setschedparam on it: ESRCH");
    CHECK(pthread_setschedprio(t, 20) == ESRCH, "setschedprio on it: ESRCH");
    CHECK(pthread_join(t, &res) == 0 && res == (void *)(long)7, "joined after");

    /* pthread_exit from the start routine. */
    memset(&w, 0, sizeof w);
    w.how = 1;
    w.release = 1;
    CHECK(pthread_create(&t, NULL, worker_main, &w) == 0, "a thread that pthread_exits");
    CHECK(pthread_join(t, &res) == 0 && res == (void *)(long)42, "its pthread_exit value");

    /* pthread_cancel after it started (blocked in sleep) and before it started. */
    memset(&w, 0, sizeof w);
    w.how = 2;
    CHECK(pthread_create(&t, NULL, worker_main, &w) == 0, "a thread to cancel");
    wait_flag(&w.started, 5000);
    CHECK(pthread_cancel(t) == 0, "pthread_cancel");
    CHECK(pthread_join(t, &res) == 0 && res == PTHREAD_CANCELED, "cancelled");
    {
        int i, ok = 1;
        for (i = 0; i < 50; i++) {
            memset(&w, 0, sizeof w);
            w.how = 2;
            if (pthread_create(&t, NULL, worker_main, &w) != 0 || pthread_cancel(t) != 0 ||
                pthread_join(t, &res) != 0 || res != PTHREAD_CANCELED) {
                ok = 0;
            }
        }
        CHECK(ok, "cancelled at once, 50 times");
    }

    /* Detached threads, ending by themselves. */
    {
        int i;
        static struct worker ws[32];
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        for (i = 0; i < 32; i++) {
            memset(&ws[i], 0, sizeof ws[i]);
            ws[i].release = 1;
            ws[i].how = i % 2;
            CHECK(pthread_create(&t, &a, worker_main, &ws[i]) == 0, "a detached thread");
        }
        pthread_attr_destroy(&a);
        for (i = 0; i < 32; i++) {
            wait_flag(&ws[i].started, 5000);
        }
    }
    {
        long long until = now_ms() + 5000;
        int n;
        while ((n = threads_of_kernel()) != base && now_ms() < until) {
            usleep(2000);
        }
        printf("kernel threads of the process: %d (baseline %d)\n", n, base);
        CHECK(n == base, "every thread made here left the kernel");
    }

    /* A thread made in a forked child. */
    {
        pid_t child = fork();
        if (child == 0) {
            struct worker cw;
            pthread_t ct;
            int ok;
            alarm(20);
            memset(&cw, 0, sizeof cw);
            cw.release = 1;
            explicit_attr(&a, SCHED_RR, 33);
            ok = pthread_create(&ct, &a, worker_main, &cw) == 0 && pthread_join(ct, NULL) == 0 &&
                 cw.prio_seen == 33;
            _exit(ok ? 0 : 3);
        }
        int st = -1;
        long long until = now_ms() + 20000;
        while (waitpid(child, &st, WNOHANG) == 0 && now_ms() < until) {
            usleep(2000);
        }
        if (now_ms() >= until) {
            kill(child, SIGKILL);
            waitpid(child, &st, 0);
        }
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "a forked child makes a thread at an explicit priority");
    }

    /* Arguments. */
    sp = param_of(20);
    CHECK(pthread_setschedparam(pthread_self(), SCHED_RR, NULL) == EINVAL, "set NULL: EINVAL");
    CHECK(pthread_getschedparam(pthread_self(), &pol, NULL) == EFAULT, "get NULL: EFAULT");
    CHECK(pthread_getschedparam(pthread_self(), NULL, &sp) == 0, "get policy NULL: fine");
    CHECK(pthread_setschedparam(pthread_self(), 77, &sp) == EINVAL, "bad policy: EINVAL");
    CHECK(pthread_setschedparam(pthread_self(), SCHED_SPORADIC, &sp) == ENOTSUP,
          "SCHED_SPORADIC: ENOTSUP");
    sp = param_of(0);
    CHECK(pthread_setschedparam(pthread_self(), SCHED_RR, &sp) == EINVAL, "prio 0: EINVAL");
    sp = param_of(256);
    CHECK(pthread_setschedparam(pthread_self(), SCHED_RR, &sp) == EINVAL, "prio 256: EINVAL");
    CHECK(pthread_setschedprio(pthread_self(), 0) == EINVAL, "setschedprio 0: EINVAL");
    errno = 0;
    CHECK(sched_setparam(0, NULL) == -1 && errno == EINVAL, "sched_setparam NULL: EINVAL");
    errno = 0;
    CHECK(sched_getparam(-1, &sp) == -1 && errno == EINVAL, "sched_getparam(-1): EINVAL");
    errno = 0;
    sp = param_of(20);
    CHECK(sched_setscheduler(0, SCHED_SPORADIC, &sp) == -1 && errno == ENOTSUP,
          "sched_setscheduler SPORADIC: ENOTSUP");
    errno = 0;
    CHECK(SchedSet(0, 0, SCHED_RR, NULL) == -1 && errno == EFAULT, "SchedSet NULL: EFAULT");
    CHECK(SchedSet_r(0, 0, SCHED_RR, NULL) == -EFAULT, "SchedSet_r NULL: -EFAULT");
    CHECK(SchedGet_r(0, 99999, &sp) == -ESRCH, "SchedGet_r no such tid: -ESRCH");
}

/* ------------------------------------------------------------------ churn */

#define CREATORS 4
#define PER_CREATOR 150

static void *churn_leaf(void *arg) {
    long how = (long)arg;
    struct sched_param sp;
    switch (how % 5) {
    case 0:
        return NULL; /* no QNX call at all */
    case 1:
        SchedGet(0, 0, &sp);
        return NULL;
    case 2:
        SchedGet(0, 0, &sp);
        pthread_exit(NULL);
    case 3:
        for (;;) {
            usleep(1000); /* cancelled */
        }
    default:
        (void)getprio(0);
        return NULL;
    }
    return NULL;
}

static volatile sig_atomic_t churn_failures;

static void *churn_creator(void *arg) {
    long id = (long)arg, i;
    for (i = 0; i < PER_CREATOR; i++) {
        pthread_attr_t a;
        pthread_t t;
        long how = id * 1000 + i;
        int detached = (i % 3 == 0) && (how % 5 != 3);
        int explicit_ = i % 2;
        if (explicit_) {
            explicit_attr(&a, SCHED_RR, 11 + (int)(i % 40));
        } else {
            pthread_attr_init(&a);
        }
        if (detached) {
            pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        }
        if (pthread_create(&t, &a, churn_leaf, (void *)how) != 0) {
            churn_failures++;
        } else if (!detached) {
            struct sched_param sp = param_of(0);
            int pol, r = pthread_getschedparam(t, &pol, &sp);
            /* (A thread that already ended is ESRCH: fine.) */
            if (r != 0 && r != ESRCH) {
                churn_failures++;
            }
            if (how % 5 == 3) {
                pthread_cancel(t);
            }
            pthread_join(t, NULL);
        }
        pthread_attr_destroy(&a);
    }
    return NULL;
}

static void churn(void) {
    pthread_t c[CREATORS];
    long i;
    CHECK(ChannelCreate(0) >= 0, "the program has a kernel");
    for (i = 0; i < CREATORS; i++) {
        CHECK(pthread_create(&c[i], NULL, churn_creator, (void *)i) == 0, "a creator");
    }
    for (i = 0; i < CREATORS; i++) {
        pthread_join(c[i], NULL);
    }
    CHECK(churn_failures == 0, "every pthread_create and getschedparam of the churn");
    /* Detached leaves end by themselves. */
    usleep(200000);
    printf("%d passed, %d failed\n", check_passed, check_failed);
    printf("idle %d\n", (int)getpid());
    fflush(stdout);
    sleep(30);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "lifecycle";
    alarm(90);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "race") == 0) {
        race(argc > 2 ? atoi(argv[2]) : 3000, argc > 3 && strcmp(argv[3], "storm") == 0);
    } else if (strcmp(mode, "churn") == 0) {
        churn();
        return 0;
    } else {
        lifecycle();
    }
    return SUMMARY();
}
