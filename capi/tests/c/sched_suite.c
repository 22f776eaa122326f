/*
 * sched_suite.c: QNX's scheduling calls on the simulated priorities, as a porter's program
 * makes them: SchedGet, SchedSet, SchedYield (and their _r forms), pthread_setschedparam,
 * pthread_getschedparam, pthread_setschedprio, pthread_attr_setschedparam with
 * PTHREAD_EXPLICIT_SCHED and PTHREAD_INHERIT_SCHED in pthread_create,
 * sched_get_priority_min/max, sched_setparam, sched_getparam, sched_setscheduler and
 * sched_getscheduler: every errno path, and what the priorities do: a priority set this way
 * is the one a server sees (_msg_info.priority, MsgInfo) and takes, a server holding a
 * message is boosted by a higher-priority client queued behind it and goes back to its own
 * priority, and a server's send queue is in the order of priorities set this way (changed
 * while queued too). None of it touches the program's Linux scheduling: every thread stays
 * SCHED_OTHER at Linux priority 0 (read with the system calls themselves, past the renames).
 *
 * With no argument: the suite. With "hold": sets simulated SCHED_RR 50 on itself and on a
 * second thread (pthread_setschedparam), prints "ready" and waits (at most 30 s) for the test
 * to read /proc/PID/task/ wide of it and kill it.
 *
 * Every receive and send that could wait is bounded (TimerTimeout); every wait for another
 * thread is bounded.
 */
#include <errno.h>
#include <process.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000ULL
#define LONG_MS 5000
#define SENTINEL_ERRNO 4321

/* ------------------------------------------------------------------ helpers */

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void arm_rx(unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
}

static void arm_sr(unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
}

/* Waits (at most ms) until *flag is set. */
static int wait_flag(volatile sig_atomic_t *flag, int ms) {
    long long until = now_ms() + ms;
    while (!*flag && now_ms() < until) {
        delay(1);
    }
    return *flag != 0;
}

/* Waits (at most ms) until the calling thread's current priority is prio. */
static int wait_prio(int prio, int ms) {
    long long until = now_ms() + ms;
    while (getprio(0) != prio && now_ms() < until) {
        delay(1);
    }
    return getprio(0) == prio;
}

static struct sched_param param_of(int prio) {
    struct sched_param p;
    memset(&p, 0, sizeof p);
    p.sched_priority = prio;
    return p;
}

/* The calling thread's Linux policy and priority, from the system calls themselves. */
static int linux_policy(void) {
    return (int)syscall(SYS_sched_getscheduler, 0);
}

static int linux_prio(void) {
    struct sched_param p;
    memset(&p, 0, sizeof p);
    p.sched_priority = -1;
    if (syscall(SYS_sched_getparam, 0, &p) != 0) {
        return -1;
    }
    return p.sched_priority;
}

/* ------------------------------------------------------------------ threads */

/* A thread that reports what it starts with, then waits for `release`. */
struct probe {
    volatile sig_atomic_t started;
    volatile sig_atomic_t release;
    int policy;
    int prio;
    int current;
    int linux_policy;
    int linux_prio;
    int tid;
};

static void *probe_main(void *arg) {
    struct probe *p = (struct probe *)arg;
    struct sched_param sp;
    p->policy = SchedGet(0, 0, &sp);
    p->prio = sp.sched_priority;
    p->current = getprio(0);
    p->linux_policy = linux_policy();
    p->linux_prio = linux_prio();
    p->tid = gettid();
    p->started = 1;
    wait_flag(&p->release, LONG_MS);
    /* What it runs at now (set by another thread meanwhile). */
    p->policy = SchedGet(0, 0, &sp);
    p->prio = sp.sched_priority;
    p->current = getprio(0);
    p->linux_policy = linux_policy();
    return NULL;
}

/* A thread that never enters the kernel: ends at once. */
static void *quiet_main(void *arg) {
    (void)arg;
    return NULL;
}

/* A client: sets its own priority in the way `how` says, sends `tag` on coid, keeps the
 * reply's status. */
enum how { BY_SCHEDSET, BY_NOTHING, BY_SETPRIO };
struct client {
    int coid;
    int how;
    int prio;
    char tag;
    int tid;
    volatile sig_atomic_t go;
    volatile sig_atomic_t sending;
    long status;
};

static void *client_main(void *arg) {
    struct client *c = (struct client *)arg;
    c->tid = gettid();
    if (c->how == BY_SCHEDSET) {
        struct sched_param sp = param_of(c->prio);
        SchedSet(0, 0, SCHED_RR, &sp);
    } else if (c->how == BY_SETPRIO) {
        setprio(0, c->prio);
    }
    wait_flag(&c->go, LONG_MS);
    c->sending = 1;
    /* (Held while the server sets the other clients up, each step bounded by LONG_MS: the
     * send's own bound covers them all, so that a loaded machine does not end it first.) */
    arm_sr(6 * LONG_MS);
    c->status = MsgSend(c->coid, &c->tag, 1, NULL, 0);
    return NULL;
}

/* ------------------------------------------------------------------ the kernel calls */

static void kernel_calls(void) {
    struct sched_param p = param_of(0);
    int r;

    /* A thread starts SCHED_RR at priority 10, as on QNX. */
    CHECK(gettid() == 1, "the first thread to enter is thread 1");
    CHECK(SchedGet(0, 0, &p) == SCHED_RR, "SchedGet: a new thread is SCHED_RR");
    CHECK(p.sched_priority == 10, "at priority 10");
    p = param_of(0);
    CHECK(SchedGet(getpid(), 1, &p) == SCHED_RR && p.sched_priority == 10,
          "SchedGet(getpid(), 1) names the same thread");
    p = param_of(0);
    CHECK(SchedGet(0, 1, &p) == SCHED_RR && p.sched_priority == 10, "SchedGet(0, 1) too");
    p = param_of(0);
    CHECK(SchedGet(getpid(), 0, &p) == SCHED_RR && p.sched_priority == 10,
          "tid 0: the caller, with its own pid");
    errno = 0;
    CHECK(SchedGet(999999, 0, &p) == -1 && errno == ESRCH,
          "tid 0 with a pid no process has: ESRCH (QNX's SchedGet looks the pid up first)");

    p = param_of(20);
    CHECK(SchedSet(0, 0, SCHED_FIFO, &p) == 0, "SchedSet(SCHED_FIFO, 20)");
    p = param_of(0);
    CHECK(SchedGet(0, 0, &p) == SCHED_FIFO && p.sched_priority == 20, "SchedGet sees it");
    CHECK(getprio(0) == 20, "getprio sees it");
    p = param_of(21);
    CHECK(SchedSet(getpid(), 1, SCHED_NOCHANGE, &p) == 0, "SchedSet(SCHED_NOCHANGE, 21)");
    p = param_of(0);
    CHECK(SchedGet(0, 0, &p) == SCHED_FIFO && p.sched_priority == 21,
          "SCHED_NOCHANGE keeps the policy");
    p = param_of(22);
    CHECK(SchedSet(0, 0, SCHED_OTHER, &p) == 0, "SchedSet(SCHED_OTHER, 22)");
    CHECK(SchedGet(0, 0, &p) == SCHED_OTHER && p.sched_priority == 22, "SCHED_OTHER back");
    p = param_of(255);
    CHECK(SchedSet(0, 0, SCHED_RR, &p) == 0 && getprio(0) == 255, "255 is the top");
    p = param_of(1);
    CHECK(SchedSet(0, 0, SCHED_RR, &p) == 0 && getprio(0) == 1, "1 the bottom");

    /* The errors: nothing changes. */
    {
        static const struct {
            pid_t pid;
            int tid;
            int policy;
            int prio;
            int err;
            const char *what;
        } bad[] = {
            {0, 0, 77, 10, EINVAL, "an unknown policy: EINVAL"},
            {0, 0, 3 /* Linux's SCHED_BATCH */, 10, EINVAL, "SCHED_BATCH: EINVAL"},
            {0, 0, SCHED_RR, 0, EINVAL, "priority 0: EINVAL"},
            {0, 0, SCHED_RR, 256, EINVAL, "priority 256: EINVAL"},
            {0, 0, SCHED_RR, -5, EINVAL, "a negative priority: EINVAL"},
            {0, 0, SCHED_SPORADIC, 10, ENOTSUP, "SCHED_SPORADIC: ENOTSUP"},
            {0, 999, SCHED_RR, 10, ESRCH, "no such thread: ESRCH"},
            {0, -1, SCHED_RR, 10, ESRCH, "a negative tid: ESRCH"},
            {999999, 1, SCHED_RR, 10, ESRCH, "no such process: ESRCH"},
        };
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            p = param_of(bad[i].prio);
            errno = 0;
            r = SchedSet(bad[i].pid, bad[i].tid, bad[i].policy, &p);
            CHECK(r == -1 && errno == bad[i].err, bad[i].what);
            errno = SENTINEL_ERRNO;
            r = SchedSet_r(bad[i].pid, bad[i].tid, bad[i].policy, &p);
            CHECK(r == -bad[i].err && errno == SENTINEL_ERRNO, bad[i].what);
        }
        p = param_of(0);
        CHECK(SchedGet(0, 0, &p) == SCHED_RR && p.sched_priority == 1 && getprio(0) == 1,
              "a refused SchedSet changes nothing");
    }
    errno = 0;
    CHECK(SchedSet(0, 0, SCHED_RR, NULL) == -1 && errno == EFAULT, "SchedSet NULL: EFAULT");
    errno = 0;
    CHECK(SchedGet(0, 0, NULL) == -1 && errno == EFAULT, "SchedGet NULL: EFAULT");
    errno = 0;
    CHECK(SchedGet(0, 999, &p) == -1 && errno == ESRCH, "SchedGet no such thread: ESRCH");
    errno = 0;
    CHECK(SchedGet(999999, 1, &p) == -1 && errno == ESRCH, "SchedGet no such process: ESRCH");
    errno = SENTINEL_ERRNO;
    CHECK(SchedGet_r(0, 999, &p) == -ESRCH && errno == SENTINEL_ERRNO, "SchedGet_r: -ESRCH");
    p = param_of(12);
    errno = SENTINEL_ERRNO;
    CHECK(SchedSet_r(0, 0, SCHED_FIFO, &p) == 0, "SchedSet_r: EOK");
    CHECK(SchedGet_r(0, 0, &p) == SCHED_FIFO && p.sched_priority == 12, "SchedGet_r");
    CHECK(errno == SENTINEL_ERRNO, "errno left alone on success");
    CHECK(SchedYield() == 0 && SchedYield_r() == 0, "SchedYield, SchedYield_r: 0");
    CHECK(linux_policy() == SCHED_OTHER && linux_prio() == 0,
          "the Linux thread is still SCHED_OTHER, priority 0");
}

/* ------------------------------------------------------------------ the POSIX calls */

static void posix_calls(void) {
    struct sched_param p = param_of(0);
    int policy = -7;
    int r;

    CHECK(sched_get_priority_min(SCHED_FIFO) == 1 && sched_get_priority_max(SCHED_FIFO) == 255,
          "SCHED_FIFO: 1..255");
    CHECK(sched_get_priority_min(SCHED_RR) == 1 && sched_get_priority_max(SCHED_RR) == 255,
          "SCHED_RR: 1..255");
    CHECK(sched_get_priority_min(SCHED_OTHER) == 1 &&
              sched_get_priority_max(SCHED_OTHER) == 255,
          "SCHED_OTHER: 1..255 (QNX's, not Linux's 0..0)");
    errno = 0;
    CHECK(sched_get_priority_min(SCHED_SPORADIC) == -1 && errno == EINVAL,
          "sched_get_priority_min(SCHED_SPORADIC): EINVAL");
    errno = 0;
    CHECK(sched_get_priority_max(99) == -1 && errno == EINVAL, "an unknown policy: EINVAL");
    errno = 0;
    CHECK(sched_get_priority_max(SCHED_NOCHANGE) == -1 && errno == EINVAL,
          "SCHED_NOCHANGE is no policy: EINVAL");

    /* Process-level calls: pid 0 the calling thread, getpid() thread 1 (this one). */
    p = param_of(30);
    CHECK(sched_setparam(0, &p) == 0 && getprio(0) == 30, "sched_setparam(0, 30)");
    p = param_of(0);
    CHECK(sched_getparam(0, &p) == 0 && p.sched_priority == 30, "sched_getparam(0)");
    p = param_of(0);
    CHECK(sched_getparam(getpid(), &p) == 0 && p.sched_priority == 30,
          "sched_getparam(getpid()): thread 1");
    CHECK(sched_getscheduler(0) == SCHED_FIFO, "sched_getscheduler(0): the policy kept");
    p = param_of(31);
    CHECK(sched_setscheduler(getpid(), SCHED_RR, &p) == SCHED_FIFO,
          "sched_setscheduler returns the previous policy");
    CHECK(sched_getscheduler(getpid()) == SCHED_RR && getprio(0) == 31,
          "sched_setscheduler set both");
    p = param_of(32);
    CHECK(sched_setscheduler(0, SCHED_OTHER, &p) == SCHED_RR && sched_getscheduler(0) == 0,
          "SCHED_OTHER is 0, as C programs compile it here");
    errno = 0;
    CHECK(sched_setscheduler(0, SCHED_SPORADIC, &p) == -1 && errno == ENOTSUP,
          "sched_setscheduler(SCHED_SPORADIC): ENOTSUP");
    errno = 0;
    CHECK(sched_setscheduler(0, SCHED_NOCHANGE, &p) == -1 && errno == EINVAL,
          "sched_setscheduler(SCHED_NOCHANGE): EINVAL");
    errno = 0;
    CHECK(sched_setscheduler(0, 77, &p) == -1 && errno == EINVAL, "an unknown policy: EINVAL");
    p = param_of(0);
    errno = 0;
    CHECK(sched_setparam(0, &p) == -1 && errno == EINVAL, "sched_setparam(0): EINVAL");
    p = param_of(300);
    errno = 0;
    CHECK(sched_setscheduler(0, SCHED_RR, &p) == -1 && errno == EINVAL, "300: EINVAL");
    errno = 0;
    CHECK(sched_setparam(0, NULL) == -1 && errno == EINVAL, "sched_setparam NULL: EINVAL");
    errno = 0;
    CHECK(sched_getparam(0, NULL) == -1 && errno == EINVAL, "sched_getparam NULL: EINVAL");
    errno = 0;
    CHECK(sched_getparam(-1, &p) == -1 && errno == EINVAL, "a negative pid: EINVAL");
    errno = 0;
    CHECK(sched_getscheduler(999999) == -1 && errno == ESRCH, "no such process: ESRCH");
    CHECK(sched_getscheduler(0) == SCHED_OTHER && getprio(0) == 32, "nothing changed");

    /* pthread calls on the calling thread. */
    p = param_of(40);
    CHECK(pthread_setschedparam(pthread_self(), SCHED_RR, &p) == 0,
          "pthread_setschedparam(self, SCHED_RR, 40)");
    p = param_of(0);
    CHECK(pthread_getschedparam(pthread_self(), &policy, &p) == 0 && policy == SCHED_RR &&
              p.sched_priority == 40,
          "pthread_getschedparam(self)");
    CHECK(getprio(0) == 40, "getprio sees it");
    p = param_of(0);
    CHECK(pthread_getschedparam(pthread_self(), NULL, &p) == 0 && p.sched_priority == 40,
          "a NULL policy (QNX's extension)");
    CHECK(pthread_setschedprio(pthread_self(), 41) == 0, "pthread_setschedprio(41)");
    CHECK(pthread_getschedparam(pthread_self(), &policy, &p) == 0 && policy == SCHED_RR &&
              p.sched_priority == 41,
          "pthread_setschedprio keeps the policy");
    p = param_of(42);
    CHECK(pthread_setschedparam(pthread_self(), SCHED_NOCHANGE, &p) == 0 &&
              pthread_getschedparam(pthread_self(), &policy, &p) == 0 && policy == SCHED_RR &&
              p.sched_priority == 42,
          "pthread_setschedparam(SCHED_NOCHANGE) keeps it too");
    p = param_of(43);
    errno = SENTINEL_ERRNO;
    r = pthread_setschedparam(pthread_self(), 77, &p);
    CHECK(r == EINVAL && errno == SENTINEL_ERRNO, "an unknown policy: EINVAL, errno alone");
    CHECK(pthread_setschedparam(pthread_self(), SCHED_SPORADIC, &p) == ENOTSUP,
          "SCHED_SPORADIC: ENOTSUP");
    p = param_of(256);
    CHECK(pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == EINVAL, "256: EINVAL");
    CHECK(pthread_setschedparam(pthread_self(), SCHED_FIFO, NULL) == EINVAL, "NULL: EINVAL");
    CHECK(pthread_setschedprio(pthread_self(), 0) == EINVAL, "pthread_setschedprio(0): EINVAL");
    CHECK(pthread_getschedparam(pthread_self(), &policy, NULL) == EFAULT, "NULL param: EFAULT");
    CHECK(getprio(0) == 42, "the refused calls changed nothing");
    CHECK(linux_policy() == SCHED_OTHER && linux_prio() == 0,
          "the Linux thread is still SCHED_OTHER, priority 0");
}

/* ------------------------------------------------------------------ other threads */

static void other_threads(void) {
    struct sched_param p;
    int policy = -7;
    pthread_t t;
    pthread_attr_t attr;
    struct probe pr;

    /* Inheriting (the default): the creator's policy and priority. */
    p = param_of(33);
    SchedSet(0, 0, SCHED_FIFO, &p);
    memset(&pr, 0, sizeof pr);
    CHECK(pthread_create(&t, NULL, probe_main, &pr) == 0, "pthread_create");
    CHECK(wait_flag(&pr.started, LONG_MS), "the thread started");
    CHECK(pr.policy == SCHED_FIFO && pr.prio == 33 && pr.current == 33,
          "PTHREAD_INHERIT_SCHED: the creator's policy and priority");
    CHECK(pr.linux_policy == SCHED_OTHER && pr.linux_prio == 0, "its Linux thread: SCHED_OTHER");
    p = param_of(0);
    CHECK(pthread_getschedparam(t, &policy, &p) == 0 && policy == SCHED_FIFO &&
              p.sched_priority == 33,
          "pthread_getschedparam of another thread");
    /* Set from here. */
    p = param_of(50);
    CHECK(pthread_setschedparam(t, SCHED_RR, &p) == 0, "pthread_setschedparam(t, RR, 50)");
    CHECK(pthread_getschedparam(t, &policy, &p) == 0 && policy == SCHED_RR &&
              p.sched_priority == 50,
          "read back");
    CHECK(pthread_setschedprio(t, 51) == 0, "pthread_setschedprio(t, 51)");
    p = param_of(0);
    CHECK(SchedGet(0, pr.tid, &p) == SCHED_RR && p.sched_priority == 51,
          "SchedGet(0, its tid) agrees");
    p = param_of(52);
    CHECK(SchedSet(getpid(), pr.tid, SCHED_NOCHANGE, &p) == 0, "SchedSet(getpid(), its tid)");
    CHECK(getprio(0) == 33, "the caller's own priority is untouched");
    pr.release = 1;
    pthread_join(t, NULL);
    CHECK(pr.policy == SCHED_RR && pr.prio == 52 && pr.current == 52,
          "the thread runs at what others set");
    CHECK(pr.linux_policy == SCHED_OTHER, "and its Linux thread is still SCHED_OTHER");

    /* A thread that has ended, not yet joined: ESRCH. */
    {
        pthread_t q;
        long long until;
        int r = 0;
        CHECK(pthread_create(&q, NULL, quiet_main, NULL) == 0, "a thread that ends at once");
        until = now_ms() + LONG_MS;
        while (now_ms() < until) {
            r = pthread_getschedparam(q, &policy, &p);
            if (r == ESRCH) {
                break;
            }
            delay(1);
        }
        CHECK(r == ESRCH, "pthread_getschedparam of an ended thread: ESRCH");
        p = param_of(20);
        CHECK(pthread_setschedparam(q, SCHED_RR, &p) == ESRCH, "pthread_setschedparam: ESRCH");
        CHECK(pthread_setschedprio(q, 20) == ESRCH, "pthread_setschedprio: ESRCH");
        pthread_join(q, NULL);
    }

    /* PTHREAD_EXPLICIT_SCHED: the attribute's simulated policy and priority, whatever
     * Linux's range for the policy (SCHED_OTHER's is 0..0, SCHED_RR's 1..99). */
    CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
    CHECK(pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED) == 0,
          "PTHREAD_EXPLICIT_SCHED");
    p = param_of(60);
    CHECK(pthread_attr_setschedparam(&attr, &p) == 0,
          "pthread_attr_setschedparam(60) with SCHED_OTHER");
    p = param_of(0);
    CHECK(pthread_attr_getschedparam(&attr, &p) == 0 && p.sched_priority == 60,
          "pthread_attr_getschedparam reads it back");
    p = param_of(0);
    CHECK(pthread_attr_setschedparam(&attr, &p) == EINVAL, "priority 0: EINVAL");
    p = param_of(256);
    CHECK(pthread_attr_setschedparam(&attr, &p) == EINVAL, "priority 256: EINVAL");
    CHECK(pthread_attr_setschedparam(&attr, NULL) == EINVAL, "NULL: EINVAL");
    memset(&pr, 0, sizeof pr);
    CHECK(pthread_create(&t, &attr, probe_main, &pr) == 0, "pthread_create(explicit OTHER 60)");
    CHECK(wait_flag(&pr.started, LONG_MS), "the thread started");
    CHECK(pr.policy == SCHED_OTHER && pr.prio == 60 && pr.current == 60,
          "it starts at SCHED_OTHER 60");
    CHECK(pr.linux_policy == SCHED_OTHER && pr.linux_prio == 0, "its Linux thread: SCHED_OTHER");
    pr.release = 1;
    pthread_join(t, NULL);

    CHECK(pthread_attr_setschedpolicy(&attr, SCHED_RR) == 0, "pthread_attr_setschedpolicy(RR)");
    p = param_of(150);
    CHECK(pthread_attr_setschedparam(&attr, &p) == 0, "pthread_attr_setschedparam(150)");
    memset(&pr, 0, sizeof pr);
    CHECK(pthread_create(&t, &attr, probe_main, &pr) == 0, "pthread_create(explicit RR 150)");
    CHECK(wait_flag(&pr.started, LONG_MS), "the thread started");
    CHECK(pr.policy == SCHED_RR && pr.prio == 150 && pr.current == 150,
          "it starts at SCHED_RR 150");
    CHECK(pr.linux_policy == SCHED_OTHER && pr.linux_prio == 0,
          "its Linux thread is SCHED_OTHER, not a real SCHED_RR");
    pr.release = 1;
    pthread_join(t, NULL);
    CHECK(pthread_attr_setschedpolicy(&attr, SCHED_FIFO) == 0, "(SCHED_FIFO)");
    p = param_of(7);
    pthread_attr_setschedparam(&attr, &p);
    memset(&pr, 0, sizeof pr);
    CHECK(pthread_create(NULL, &attr, probe_main, &pr) == 0,
          "pthread_create(NULL thread, explicit FIFO 7)");
    CHECK(wait_flag(&pr.started, LONG_MS), "the thread started");
    CHECK(pr.policy == SCHED_FIFO && pr.prio == 7, "it starts at SCHED_FIFO 7");
    pr.release = 1;
    pthread_attr_destroy(&attr);
    CHECK(getprio(0) == 33, "the creator's priority is untouched");
}

/* ------------------------------------------------------------------ at a server */

/* The order a server's send queue takes, and what a server sees and takes: this thread is
 * the server. It holds a first client's message (not replying) after one receive on the
 * channel, so each client that queues behind it boosts it to that client's priority: seeing
 * its own priority rise tells it that client is queued. Three clients queue at rising
 * priorities set three ways (so arrival order and priority order are opposite); one is then
 * raised while queued; the server then takes them in priority order, at their priorities. */
static void at_a_server(void) {
    struct sched_param p;
    struct _msg_info info;
    char tag = 0;
    int chid, coid, rcvid, base;
    pthread_t tb, ta, tc, tz;
    pthread_attr_t attr;
    struct client blocker, a, b, c;

    p = param_of(5);
    SchedSet(0, 0, SCHED_RR, &p);
    base = getprio(0);
    CHECK(base == 5, "the server at priority 5");
    chid = ChannelCreate(0);
    coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(chid >= 0 && coid >= 0, "a channel and a connection");

    /* The blocker, at 7 (setprio), whose message the server holds. */
    memset(&blocker, 0, sizeof blocker);
    blocker.coid = coid;
    blocker.how = BY_SETPRIO;
    blocker.prio = 7;
    blocker.tag = 'z';
    blocker.go = 1;
    pthread_create(&tz, NULL, client_main, &blocker);
    arm_rx(LONG_MS);
    rcvid = MsgReceive(chid, &tag, 1, &info);
    CHECK(rcvid > 0 && tag == 'z', "the blocker's message");
    CHECK(info.priority == 7, "_msg_info.priority: the priority setprio set");
    CHECK(getprio(0) == 7, "the server took it");
    memset(&info, 0, sizeof info);
    CHECK(MsgInfo(rcvid, &info) == 0 && info.priority == 7, "MsgInfo says it too");

    /* a at 11 (SchedSet by itself). */
    memset(&a, 0, sizeof a);
    a.coid = coid;
    a.how = BY_SCHEDSET;
    a.prio = 11;
    a.tag = 'a';
    a.go = 1;
    pthread_create(&ta, NULL, client_main, &a);
    CHECK(wait_prio(11, LONG_MS), "a queued at 11 boosts the server to 11");

    /* b at 20 (pthread_setschedparam from here, before it sends). */
    memset(&b, 0, sizeof b);
    b.coid = coid;
    b.how = BY_NOTHING;
    b.tag = 'b';
    pthread_create(&tb, NULL, client_main, &b);
    p = param_of(20);
    CHECK(pthread_setschedparam(tb, SCHED_FIFO, &p) == 0, "b set to 20 by the server");
    b.go = 1;
    CHECK(wait_prio(20, LONG_MS), "b queued at 20 boosts the server to 20");

    /* c at 30 (an explicit attribute). */
    memset(&c, 0, sizeof c);
    c.coid = coid;
    c.how = BY_NOTHING;
    c.tag = 'c';
    c.go = 1;
    pthread_attr_init(&attr);
    pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&attr, SCHED_RR);
    p = param_of(30);
    pthread_attr_setschedparam(&attr, &p);
    pthread_create(&tc, &attr, client_main, &c);
    pthread_attr_destroy(&attr);
    CHECK(wait_prio(30, LONG_MS), "c queued at 30 boosts the server to 30");

    /* a raised to 40 while SEND-blocked (SchedSet by its tid): to the head, and a boost. */
    p = param_of(40);
    CHECK(SchedSet(0, a.tid, SCHED_NOCHANGE, &p) == 0, "a raised to 40 while queued");
    CHECK(wait_prio(40, LONG_MS), "the server boosted to 40 by it");
    p = param_of(0);
    CHECK(SchedGet(0, 0, &p) >= 0 && p.sched_priority == 5, "its own priority is still 5");

    MsgReply(rcvid, 0, NULL, 0);
    {
        static const char order[] = {'a', 'c', 'b'};
        static const int prios[] = {40, 30, 20};
        int i;
        for (i = 0; i < 3; i++) {
            tag = 0;
            memset(&info, 0, sizeof info);
            arm_rx(LONG_MS);
            rcvid = MsgReceive(chid, &tag, 1, &info);
            CHECK(rcvid > 0 && tag == order[i], "taken in priority order: a, c, b");
            CHECK(info.priority == prios[i], "_msg_info.priority: the priority set");
            CHECK(getprio(0) == prios[i], "the server runs at it");
            MsgReply(rcvid, 0, NULL, 0);
        }
    }
    /* Nothing left: a receive that times out leaves the server at its own priority. */
    arm_rx(20);
    errno = 0;
    CHECK(MsgReceive(chid, &tag, 1, NULL) == -1 && errno == ETIMEDOUT, "the queue is empty");
    CHECK(getprio(0) == 5, "the server is back at its own priority");
    pthread_join(tz, NULL);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tc, NULL);
    CHECK(blocker.status == 0 && a.status == 0 && b.status == 0 && c.status == 0,
          "every client was answered");
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

/* ------------------------------------------------------------------ hold */

static void *hold_main(void *arg) {
    (void)arg;
    sleep(30);
    return NULL;
}

static int hold(void) {
    struct sched_param p = param_of(50);
    pthread_t t;
    int ok;
    getprio(0); /* (enters the kernel: the second thread is made in it) */
    pthread_create(&t, NULL, hold_main, NULL);
    ok = pthread_setschedparam(pthread_self(), SCHED_RR, &p) == 0 &&
         pthread_setschedparam(t, SCHED_RR, &p) == 0 && getprio(0) == 50;
    printf("%s\n", ok ? "ready" : "failed");
    fflush(stdout);
    sleep(30);
    return 0;
}

static void *channel_in_thread(void *arg) {
    (void)arg;
    return (void *)(intptr_t)ChannelCreate(0);
}

/* Run with QNXSIM_KERNEL naming a kernel that cannot be reached: a thread of the default
 * scheduling is made all the same (its first QNX call fails), one with an explicit attribute
 * is not. */
static int unreachable(void) {
    pthread_t t;
    void *r = NULL;
    pthread_attr_t a;
    struct sched_param p = param_of(20);
    CHECK(pthread_create(&t, NULL, channel_in_thread, NULL) == 0,
          "no kernel to be had: a default thread is made all the same");
    CHECK(pthread_join(t, &r) == 0 && (intptr_t)r == -1, "and its first QNX call fails");
    pthread_attr_init(&a);
    pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&a, SCHED_RR);
    pthread_attr_setschedparam(&a, &p);
    CHECK(pthread_create(&t, &a, channel_in_thread, NULL) != 0,
          "an explicit attribute needs its kernel thread: refused");
    pthread_attr_destroy(&a);
    return SUMMARY();
}

int main(int argc, char **argv) {
    pthread_t quiet;
    int r;
    if (argc > 1 && strcmp(argv[1], "hold") == 0) {
        return hold();
    }
    if (argc > 1 && strcmp(argv[1], "unreachable") == 0) {
        return unreachable();
    }
    /* Made before the program has a kernel: a thread the kernel never hears of. */
    pthread_create(&quiet, NULL, hold_main, NULL);
    kernel_calls();
    {
        struct sched_param p = param_of(20);
        int policy;
        r = pthread_getschedparam(quiet, &policy, &p);
        CHECK(r == ESRCH, "a thread that never entered the kernel: ESRCH");
        CHECK(pthread_setschedparam(quiet, SCHED_RR, &p) == ESRCH, "and cannot be set");
    }
    posix_calls();
    other_threads();
    at_a_server();
    return SUMMARY();
}
