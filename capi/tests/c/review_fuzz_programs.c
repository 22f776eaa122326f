/*
 * review_fuzz_programs.c: a concurrent, randomised fuzzer of <sys/neutrino.h> (and names,
 * asyncmsg, interrupts) meant to run as several programs at once on one supervised kernel
 * (procnto-sim/tests/review_fuzz_programs.rs runs it, kills some copies with SIGKILL at
 * random moments and starts new ones).
 *
 *   review_fuzz_programs SEED RUN_MS NTHREADS PIDFILE GRACE_MS
 *
 * NTHREADS threads make random calls for RUN_MS milliseconds, with ids drawn from their own
 * live and stale objects, small raw numbers (so other processes' chids and coids, and the
 * library's own), and the pids of every program of the run (PIDFILE: each program appends its
 * pid once it is in the kernel; dead ones stay listed). Only valid buffers are passed (a wild
 * pointer is the program's crash by design: docs/deviations.md, "The C API", "Buffers").
 * Every call's result must be success or an errno of its per-call allowed set (QNX's
 * documented errnos, widened only where docs/deviations.md documents a deviation); anything
 * else prints a line "FINDING ..." with the seed, the thread, the op number and the
 * arguments. Blocking calls are bounded by a TimerTimeout right before them; what cannot be
 * bounded so (name_open's send, a REPLY-blocked send on an _NTO_CHF_UNBLOCK channel, a resend
 * after MsgError(ERESTART): documented) is released when the program at the other end
 * destroys its channels at its own end. At the end the main thread waits for the threads (a
 * grace of GRACE_MS after it destroyed its channels); a thread still inside a call then is
 * reported ("HANG ...", exit status 3). alarm() bounds the whole program.
 *
 * Output: "ready PID", any FINDING/HANG lines, then "done ops N findings M signals S".
 * Exit status: 0 clean, 1 findings, 2 set-up failed, 3 hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sched.h>
#include <qnxsim/interrupt.h>
#include <sys/asyncmsg.h>
#include <sys/dispatch.h>
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <sys/siginfo.h>

#ifndef ERESTART
#define ERESTART 85
#endif

#define MAXT 16
#define MAXOBJ 48
#define BUFSZ 8192
#define SENTINEL 12345

/* ------------------------------------------------------------------ allowed errnos */

/* What a server of this run answers with MsgError (besides EOK, ERESTART and -1): a client's
 * MsgSend and name_open may fail with these. */
#define SRV_ERRS ENOSYS, EIO, ENOTSUP, EPROTO
static const int srv_errs[] = {SRV_ERRS};

static const int S_CHCREATE[] = {EAGAIN, EBUSY, EPERM, EINVAL, 0};
static const int S_EINVAL[] = {EINVAL, 0};
static const int S_CONNATTACH[] = {EINVAL, EMFILE, ESRCH, ENXIO, ENOREMOTE, ENFILE, EAGAIN, EPERM, 0};
/* QNX's MsgSend list; EFAULT/ESRVRFAULT also for a peer killed mid-copy (deviations.md, "A
 * program killed but not yet reaped"); the servers' MsgError codes. */
static const int S_SEND[] = {EBADF, EFAULT, EINTR, ESRCH, ESRVRFAULT, ETIMEDOUT, EOVERFLOW, ENXIO,
                             SRV_ERRS, 0};
/* QNX's list; EINVAL: an asyncmsg channel (deviations.md, "Mixing models"). */
static const int S_RECV[] = {EFAULT, EINTR, ESRCH, ETIMEDOUT, EOVERFLOW, EINVAL, 0};
static const int S_REPLY[] = {EDEADLK, EFAULT, ENOREMOTE, ESRCH, ESRVRFAULT, ETIMEDOUT, 0};
static const int S_ERROR[] = {ESRCH, ETIMEDOUT, EINVAL, 0};
static const int S_RW[] = {EDEADLK, EFAULT, ESRCH, ESRVRFAULT, ETIMEDOUT, 0};
static const int S_INFO[] = {ESRCH, EFAULT, 0};
static const int S_PULSE[] = {EBADF, EPERM, EINVAL, EAGAIN, ENXIO, ESRVRFAULT, 0};
static const int S_DELIVER[] = {EACCES, EAGAIN, EBADF, EBUSY, ECANCELED, EFAULT, EINVAL, ENXIO,
                                EPERM, ESRCH, ESRVRFAULT, ETIMEDOUT, 0};
static const int S_VERIFY[] = {EBADF, EINVAL, ESRCH, EBUSY, 0};
static const int S_TT[] = {EAGAIN, EINVAL, EFAULT, 0};
/* _NTO_TIMEOUT_NANOSLEEP: EINTR when a handler runs first (deviations.md, "TimerTimeout");
 * ETIMEDOUT when a SIGEV_UNBLOCK (a timer's of this thread, MsgDeliverEvent's) ends the sleep,
 * as SIGEV_UNBLOCK ends any kernel-blocked state on QNX. */
static const int S_TT_SLEEP[] = {EAGAIN, EINVAL, EFAULT, EINTR, ETIMEDOUT, 0};
static const int S_TCREATE[] = {EAGAIN, EINVAL, EFAULT, 0};
static const int S_TSET[] = {EINVAL, EFAULT, 0};
static const int S_TINFO[] = {EINVAL, EFAULT, ESRCH, 0};
static const int S_SIGKILL[] = {EINVAL, EPERM, ESRCH, EAGAIN, ENOREMOTE, 0};
static const int S_SCHEDGET[] = {EFAULT, ESRCH, 0};
static const int S_SCHEDSET[] = {EFAULT, EINVAL, EPERM, ESRCH, ENOTSUP, 0};
static const int S_INTRATTACH[] = {EINVAL, EBUSY, EAGAIN, EFAULT, EPERM, 0};
static const int S_INTRWAIT[] = {EINTR, ETIMEDOUT, EINVAL, 0};
static const int S_CCI[] = {EINVAL, ESRCH, EPERM, EFAULT, 0};
static const int S_CSI[] = {EINVAL, ESRCH, EFAULT, 0};
static const int S_NATTACH[] = {EINVAL, EEXIST, ENAMETOOLONG, EAGAIN, ENOMEM, EBUSY, 0};
/* open()-style errors (qnx-api 2.14), the server's answer, what its send can end with. */
static const int S_NOPEN[] = {ENOENT, EINVAL, EBADF, ESRCH, EINTR, ETIMEDOUT, EAGAIN, EMFILE, ENFILE,
                              ENXIO, EBUSY, EACCES, ENAMETOOLONG, EFAULT, ESRVRFAULT, SRV_ERRS, 0};
static const int S_ACH_CREATE[] = {EAGAIN, EINVAL, ENOTSUP, ENOMEM, 0};
/* Known defects' errnos, reported as KNOWN and not counted: none now. (The fuzzer's first runs
 * found asyncmsg_channel_create failing with MsgVerifyEvent's errnos, ESRCH, EBADF, EBUSY, for
 * an event it could not deliver, where TimerCreate gives EINVAL: fixed, and kept as the
 * driver's `repro-async-event` test.) */
static const int K_ACH_CREATE[] = {0};
static const int S_ACO_ATTACH[] = {EAGAIN, ESRCH, EINVAL, ENOMEM, EFAULT, ENXIO, EMFILE, ENOREMOTE,
                                   EPERM, 0};
/* (Its first runs found asyncmsg_connect_attach racing with the end of the process's asyncmsg
 * library, ended by a random ChannelDestroy of its private channel, failing with EBADF, outside
 * its documented set: it now attaches again with a new library.) */
static const int K_ACO_ATTACH[] = {0};
static const int S_APUT[] = {EBADF, EFAULT, EAGAIN, ENOMEM, EINVAL, 0};
static const int S_AFLUSH[] = {EBADF, 0};
static const int S_AGET[] = {EBADF, ESRCH, ENOMEM, EAGAIN, ETIMEDOUT, EINTR, EFAULT, EMSGSIZE, 0};
static const int S_AATTR[] = {EINVAL, EAGAIN, 0};
static const int S_CFLAGS[] = {ESRCH, EBADF, ENOTSUP, EINVAL, 0};

/* ------------------------------------------------------------------ shared state */

static unsigned long long g_seed;
static int g_nthreads;
static long g_run_ms;
static long g_grace_ms;
static const char *g_pidfile;
static pid_t g_me;
static volatile int g_stop;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_out = PTHREAD_MUTEX_INITIALIZER;
static int g_findings;
static volatile sig_atomic_t g_signals;
/* What got through, to see that the run reached the interesting paths. */
static unsigned long g_ok_send, g_ok_msg, g_ok_pulse, g_ok_open, g_ok_aget, g_ok_intr;
#define COUNT(c) __atomic_fetch_add(&(c), 1, __ATOMIC_RELAXED)

struct objs {
    int v[MAXOBJ];
    int n;
};
static struct objs g_chids, g_coids, g_rcvids, g_stale_rcvids, g_timers, g_intrs, g_achids,
    g_acoids, g_scoids;
static name_attach_t *g_names[MAXOBJ];
static int g_nnames;
static name_attach_t *g_dead_names[MAXOBJ];
static int g_ndead_names;
static pid_t g_pids[256];
static int g_npids;

struct thr {
    int idx;
    unsigned long long rng;
    unsigned long ops;
    const char *call; /* the call under way (for a hang's report) */
    volatile int done;
    pthread_t th;
    char sbuf[BUFSZ];
    char rbuf[BUFSZ];
};
static struct thr g_thr[MAXT];

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static unsigned long long rnd(struct thr *t) {
    /* xorshift64* */
    unsigned long long x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return x * 2685821657736338717ULL;
}
static unsigned r_n(struct thr *t, unsigned n) { return (unsigned)(rnd(t) % n); }
static int chance(struct thr *t, unsigned pct) { return r_n(t, 100) < pct; }

static void obj_add(struct objs *o, int v) {
    pthread_mutex_lock(&g_mu);
    if (o->n < MAXOBJ) {
        o->v[o->n++] = v;
    } else {
        o->v[v & 7] = v; /* overwrite one: the old one becomes a raw number */
    }
    pthread_mutex_unlock(&g_mu);
}
static void obj_del(struct objs *o, int v) {
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < o->n; i++) {
        if (o->v[i] == v) {
            o->v[i] = o->v[--o->n];
            break;
        }
    }
    pthread_mutex_unlock(&g_mu);
}
/* One of o's values, or fallback if it is empty. */
static int obj_pick(struct thr *t, struct objs *o, int fallback) {
    int v = fallback;
    pthread_mutex_lock(&g_mu);
    if (o->n > 0) {
        v = o->v[r_n(t, (unsigned)o->n)];
    }
    pthread_mutex_unlock(&g_mu);
    return v;
}
/* Takes one of o's values out (0 if none). */
static int obj_take(struct thr *t, struct objs *o) {
    int v = 0;
    pthread_mutex_lock(&g_mu);
    if (o->n > 0) {
        int i = (int)r_n(t, (unsigned)o->n);
        v = o->v[i];
        o->v[i] = o->v[--o->n];
    }
    pthread_mutex_unlock(&g_mu);
    return v;
}

/* ------------------------------------------------------------------ checking */

static int in_set(int e, const int *set) {
    for (; *set; set++) {
        if (*set == e) {
            return 1;
        }
    }
    return 0;
}

/* A call's result: failed (with errno err) or not. A failure outside `allowed` is a finding. */
static int g_known[64];
static int g_nknown;

/* A known defect's errno: printed once per errno as KNOWN, not counted as a finding. */
static void known(struct thr *t, const char *call, int err, const char *args) {
    pthread_mutex_lock(&g_out);
    int seen = 0;
    int key = err * 2 + (call[9] == 'c' && call[10] == 'o'); /* per call and errno */
    for (int i = 0; i < g_nknown; i++) {
        seen |= g_known[i] == key;
    }
    if (!seen && g_nknown < 64) {
        g_known[g_nknown++] = key;
        printf("KNOWN seed=%llu pid=%d thread=%d op=%lu call=%s args=(%s) errno=%d (%s)\n",
               g_seed, (int)g_me, t->idx, t->ops, call, args, err, strerror(err));
        fflush(stdout);
    }
    pthread_mutex_unlock(&g_out);
}

static void judge(struct thr *t, const char *call, int failed, int err, const int *allowed,
                  const char *args) {
    if (!failed || in_set(err, allowed)) {
        return;
    }
    if ((allowed == S_ACH_CREATE && in_set(err, K_ACH_CREATE)) ||
        (allowed == S_ACO_ATTACH && in_set(err, K_ACO_ATTACH))) {
        known(t, call, err, args);
        return;
    }
    pthread_mutex_lock(&g_out);
    g_findings++;
    printf("FINDING seed=%llu pid=%d thread=%d op=%lu call=%s args=(%s) errno=%d (%s)\n", g_seed,
           (int)g_me, t->idx, t->ops, call, args, err, strerror(err));
    fflush(stdout);
    pthread_mutex_unlock(&g_out);
}

/* A result the call's contract rules out (not an errno). */
static void wrong(struct thr *t, const char *call, const char *what, const char *args) {
    pthread_mutex_lock(&g_out);
    g_findings++;
    printf("FINDING seed=%llu pid=%d thread=%d op=%lu call=%s args=(%s) %s\n", g_seed, (int)g_me,
           t ? t->idx : -1, t ? t->ops : 0, call, args, what);
    fflush(stdout);
    pthread_mutex_unlock(&g_out);
}

/* The _r form's result: -errno, errno untouched. `r` is the return, `e0` errno after. */
static void judge_r(struct thr *t, const char *call, long r, int e0, const int *allowed,
                    const char *args) {
    if (e0 != SENTINEL) {
        wrong(t, call, "the _r form changed errno", args);
    }
    if (r < 0) {
        judge(t, call, 1, (int)-r, allowed, args);
    }
}

/* ------------------------------------------------------------------ argument choices */

static void on_signal(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)si;
    (void)uc;
    g_signals++;
}

static int pick_sig(struct thr *t) {
    static const int bad[] = {0, 65, 200, -1};
    switch (r_n(t, 8)) {
    case 0: case 1: case 2: return SIGUSR1;
    case 3: case 4: return SIGUSR2;
    case 5: case 6: return SIGRTMIN + 2;
    default: return bad[r_n(t, 4)];
    }
}

static pid_t pick_pid(struct thr *t) {
    unsigned c = r_n(t, 20);
    if (c < 2) {
        return 0;
    }
    if (c < 5) {
        return g_me;
    }
    if (c < 6) {
        static const pid_t raw[] = {-1, 1, INT_MAX, 4194305};
        return raw[r_n(t, 4)];
    }
    pid_t p = g_me;
    pthread_mutex_lock(&g_mu);
    if (g_npids > 0) {
        p = g_pids[r_n(t, (unsigned)g_npids)];
    }
    pthread_mutex_unlock(&g_mu);
    return p;
}

static int pick_chid(struct thr *t) {
    unsigned c = r_n(t, 10);
    if (c < 5) {
        return obj_pick(t, &g_chids, 1);
    }
    if (c < 9) {
        return (int)r_n(t, 12); /* 0..11: others', stale, the library's */
    }
    static const int raw[] = {-1, INT_MAX, _NTO_SIDE_CHANNEL | 1, INT_MIN};
    return raw[r_n(t, 4)];
}

static int pick_coid(struct thr *t) {
    unsigned c = r_n(t, 10);
    if (c < 5) {
        return obj_pick(t, &g_coids, _NTO_SIDE_CHANNEL | 1);
    }
    if (c < 6) {
        return obj_pick(t, &g_acoids, _NTO_SIDE_CHANNEL | 2);
    }
    if (c < 9) {
        return (int)(_NTO_SIDE_CHANNEL | r_n(t, 24)); /* 0x40000000 is SYSMGR_COID */
    }
    static const int raw[] = {-1, 0, 1, 5, INT_MAX};
    return raw[r_n(t, 5)];
}

static int pick_rcvid(struct thr *t) {
    unsigned c = r_n(t, 10);
    if (c < 5) {
        return obj_pick(t, &g_rcvids, 0);
    }
    if (c < 8) {
        return obj_pick(t, &g_stale_rcvids, 2);
    }
    static const int raw[] = {0, -1, 1, 0x10001, INT_MAX};
    return raw[r_n(t, 5)];
}

static int pick_level(struct thr *t) {
    if (chance(t, 85)) {
        return (int)r_n(t, 6);
    }
    static const int raw[] = {-1, 255, 256, 1000, (int)_NTO_INTR_SPARE};
    return raw[r_n(t, 5)];
}

static void thread_fn_dummy(union sigval v) { (void)v; }

static void rand_event(struct thr *t, struct sigevent *ev) {
    int val = (int)r_n(t, 1000);
    memset(ev, 0, sizeof *ev);
    switch (r_n(t, 10)) {
    case 0:
        SIGEV_NONE_INIT(ev);
        break;
    case 1:
        SIGEV_SIGNAL_VALUE_INIT(ev, pick_sig(t), val);
        break;
    case 2:
        SIGEV_SIGNAL_CODE_INIT(ev, pick_sig(t), val, SI_MINAVAIL + (int)r_n(t, 80));
        break;
    case 3:
        SIGEV_SIGNAL_THREAD_INIT(ev, pick_sig(t), val, SI_MINAVAIL + (int)r_n(t, 80));
        break;
    case 4:
    case 5:
    case 6: {
        static const int prios[] = {-1, 10, 1, 255, 0, 300};
        static const int codes[] = {1, 5, 100, 127, -1, 200};
        SIGEV_PULSE_INIT(ev, pick_coid(t), prios[r_n(t, chance(t, 80) ? 4 : 6)],
                         codes[r_n(t, chance(t, 80) ? 4 : 6)], val);
        break;
    }
    case 7:
        SIGEV_UNBLOCK_INIT(ev);
        break;
    case 8:
        SIGEV_INTR_INIT(ev);
        break;
    default:
        SIGEV_THREAD_INIT(ev, thread_fn_dummy, val, NULL);
        break;
    }
}

/* Bounds the next call: ms milliseconds in `states`. */
static void arm(unsigned states, unsigned ms) {
    _Uint64t ns = (_Uint64t)ms * 1000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, (int)states, NULL, &ns, NULL);
}
#define ARM_SR(t) arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, r_n(t, 30))
#define ARM_RX(t) arm(_NTO_TIMEOUT_RECEIVE, r_n(t, 30))

static size_t pick_size(struct thr *t) {
    switch (r_n(t, 8)) {
    case 0: return 0;
    case 1: return r_n(t, 24);
    case 2: case 3: case 4: return r_n(t, 300); /* around the 256 bytes passed in the region */
    case 5: return 24 + r_n(t, 8);
    default: return r_n(t, BUFSZ + 1);
    }
}

/* ------------------------------------------------------------------ the calls */

static void answer(struct thr *t, int rcvid, char *args, size_t alen);

static void op_channel_create(struct thr *t, char *a, size_t al) {
    static const unsigned bits[] = {
        _NTO_CHF_FIXED_PRIORITY, _NTO_CHF_UNBLOCK, _NTO_CHF_THREAD_DEATH, _NTO_CHF_DISCONNECT,
        _NTO_CHF_SENDER_LEN, _NTO_CHF_COID_DISCONNECT, _NTO_CHF_REPLY_LEN, _NTO_CHF_PRIVATE};
    unsigned flags = 0;
    for (unsigned i = 0; i < 8; i++) {
        if (chance(t, 25)) {
            flags |= bits[i];
        }
    }
    if (chance(t, 5)) {
        static const unsigned odd[] = {_NTO_CHF_NET_MSG, _NTO_CHF_ASYNC, _NTO_CHF_GLOBAL,
                                       _NTO_CHF_ASYNC_NONBLOCK, 0x80000000u, 0x4000};
        flags |= odd[r_n(t, 6)];
    }
    snprintf(a, al, "flags=%#x", flags);
    t->call = "ChannelCreate";
    if (chance(t, 20)) {
        errno = SENTINEL;
        int r = ChannelCreate_r(flags);
        judge_r(t, "ChannelCreate_r", r, errno, S_CHCREATE, a);
        if (r > 0) {
            obj_add(&g_chids, r);
        }
        return;
    }
    int r = ChannelCreate(flags);
    judge(t, "ChannelCreate", r == -1, errno, S_CHCREATE, a);
    if (r > 0) {
        obj_add(&g_chids, r);
    } else if (r != -1) {
        wrong(t, "ChannelCreate", "returned neither a chid nor -1", a);
    }
}

static void op_channel_destroy(struct thr *t, char *a, size_t al) {
    int chid = chance(t, 60) ? obj_take(t, &g_chids) : pick_chid(t);
    snprintf(a, al, "chid=%d", chid);
    t->call = "ChannelDestroy";
    int r = ChannelDestroy(chid);
    judge(t, "ChannelDestroy", r == -1, errno, S_EINVAL, a);
    obj_del(&g_chids, chid);
}

static void op_connect_attach(struct thr *t, char *a, size_t al) {
    _Uint32t nd = chance(t, 95) ? ND_LOCAL_NODE : 7;
    pid_t pid = pick_pid(t);
    int chid = chance(t, 40) ? obj_pick(t, &g_chids, 1) : pick_chid(t);
    unsigned index = chance(t, 70) ? _NTO_SIDE_CHANNEL : (chance(t, 80) ? r_n(t, 8) : 300 + r_n(t, 5));
    int flags = 0;
    if (chance(t, 20)) {
        static const int f[] = {_NTO_COF_CLOEXEC, _NTO_COF_NOSHARE, _NTO_COF_NONBLOCK, 0x8000,
                                _NTO_COF_DEAD};
        flags = f[r_n(t, 5)];
    }
    snprintf(a, al, "nd=%u pid=%d chid=%d index=%#x flags=%#x", nd, (int)pid, chid, index, flags);
    t->call = "ConnectAttach";
    int r = ConnectAttach(nd, pid, chid, index, flags);
    judge(t, "ConnectAttach", r == -1, errno, S_CONNATTACH, a);
    if (r != -1) {
        if (index & _NTO_SIDE_CHANNEL ? !(r & _NTO_SIDE_CHANNEL) : (r & _NTO_SIDE_CHANNEL) != 0) {
            wrong(t, "ConnectAttach", "the coid is not in the space asked for", a);
        }
        obj_add(&g_coids, r);
    }
}

static void op_connect_detach(struct thr *t, char *a, size_t al) {
    int coid = chance(t, 60) ? obj_take(t, &g_coids) : pick_coid(t);
    snprintf(a, al, "coid=%#x", (unsigned)coid);
    t->call = "ConnectDetach";
    if (chance(t, 20)) {
        errno = SENTINEL;
        int r = ConnectDetach_r(coid);
        judge_r(t, "ConnectDetach_r", r, errno, S_EINVAL, a);
    } else {
        int r = ConnectDetach(coid);
        judge(t, "ConnectDetach", r == -1, errno, S_EINVAL, a);
    }
    obj_del(&g_coids, coid);
}

static void op_send(struct thr *t, char *a, size_t al) {
    int coid = pick_coid(t);
    size_t sb = pick_size(t), rb = pick_size(t);
    unsigned form = r_n(t, 5);
    long r;
    memset(t->sbuf, (int)(t->ops & 0xff), sb < 64 ? sb : 64);
    snprintf(a, al, "coid=%#x sbytes=%zu rbytes=%zu form=%u", (unsigned)coid, sb, rb, form);
    t->call = "MsgSend";
    ARM_SR(t);
    if (form == 0) {
        r = MsgSend(coid, t->sbuf, sb, t->rbuf, rb);
    } else if (form == 1) {
        iov_t s[3], rv[2];
        size_t s1 = sb / 3, s2 = sb / 3;
        SETIOV(&s[0], t->sbuf, s1);
        SETIOV(&s[1], t->sbuf + s1, s2);
        SETIOV(&s[2], t->sbuf + s1 + s2, sb - s1 - s2);
        SETIOV(&rv[0], t->rbuf, rb / 2);
        SETIOV(&rv[1], t->rbuf + rb / 2, rb - rb / 2);
        r = MsgSendv(coid, s, 1 + r_n(t, 3), rv, 1 + r_n(t, 2));
    } else if (form == 2) {
        r = MsgSendnc(coid, t->sbuf, sb, t->rbuf, rb);
    } else if (form == 3) {
        iov_t rv[1];
        SETIOV(&rv[0], t->rbuf, rb);
        r = MsgSendsv(coid, t->sbuf, sb, rv, 1);
    } else {
        errno = SENTINEL;
        r = MsgSend_r(coid, t->sbuf, sb, t->rbuf, rb);
        judge_r(t, "MsgSend_r", r, errno, S_SEND, a);
        return;
    }
    judge(t, "MsgSend", r == -1, errno, S_SEND, a);
    if (r >= 0) {
        COUNT(g_ok_send);
    }
    if (r < -1) {
        wrong(t, "MsgSend", "returned a negative status (this run's servers reply >= 0)", a);
    }
}

static void handle_pulse(struct thr *t, const struct _pulse *p) {
    char a[96];
    if (p->code == _PULSE_CODE_DISCONNECT && chance(t, 80)) {
        snprintf(a, sizeof a, "scoid=%#x (disconnect pulse)", (unsigned)p->scoid);
        int r = ConnectDetach(p->scoid);
        judge(t, "ConnectDetach", r == -1, errno, S_EINVAL, a);
    } else if (p->code == _PULSE_CODE_COIDDEATH && chance(t, 80)) {
        snprintf(a, sizeof a, "coid=%#x (coiddeath pulse)", (unsigned)p->value.sival_int);
        int r = ConnectDetach(p->value.sival_int);
        judge(t, "ConnectDetach", r == -1, errno, S_EINVAL, a);
        obj_del(&g_coids, p->value.sival_int);
    } else if (p->code == _PULSE_CODE_UNBLOCK && chance(t, 60)) {
        snprintf(a, sizeof a, "rcvid=%d err=EINTR (unblock pulse)", p->value.sival_int);
        int r = MsgError(p->value.sival_int, EINTR);
        judge(t, "MsgError", r == -1, errno, S_ERROR, a);
        obj_del(&g_rcvids, p->value.sival_int);
    }
}

static void op_receive(struct thr *t, char *a, size_t al) {
    int chid = chance(t, 70) ? obj_pick(t, &g_chids, 1) : pick_chid(t);
    size_t bytes = chance(t, 80) ? sizeof(struct _pulse) + r_n(t, 600) : r_n(t, 30);
    struct _msg_info info;
    int pulse_only = chance(t, 15);
    int with_info = chance(t, 70);
    int r;
    snprintf(a, al, "chid=%d bytes=%zu pulse_only=%d", chid, bytes, pulse_only);
    t->call = pulse_only ? "MsgReceivePulse" : "MsgReceive";
    ARM_RX(t);
    if (pulse_only) {
        r = MsgReceivePulse(chid, t->rbuf, bytes, with_info ? &info : NULL);
    } else if (chance(t, 20)) {
        iov_t iov[2];
        SETIOV(&iov[0], t->rbuf, bytes / 2);
        SETIOV(&iov[1], t->rbuf + bytes / 2, bytes - bytes / 2);
        r = MsgReceivev(chid, iov, 2, with_info ? &info : NULL);
    } else {
        r = MsgReceive(chid, t->rbuf, bytes, with_info ? &info : NULL);
    }
    judge(t, t->call, r == -1, errno, S_RECV, a);
    if (r == 0) {
        COUNT(g_ok_pulse);
        struct _pulse p;
        memcpy(&p, t->rbuf, sizeof p);
        handle_pulse(t, &p);
    } else if (r > 0) {
        COUNT(g_ok_msg);
        if (pulse_only) {
            wrong(t, "MsgReceivePulse", "returned a message's rcvid", a);
        }
        if (with_info && info.scoid > 0 && chance(t, 10)) {
            obj_add(&g_scoids, info.scoid);
        }
        if (chance(t, 70)) {
            answer(t, r, a, al);
        } else {
            obj_add(&g_rcvids, r);
        }
    } else if (r < -1) {
        wrong(t, t->call, "returned a negative rcvid other than -1", a);
    }
}

/* Answers a received message one way or another. */
static void answer(struct thr *t, int rcvid, char *a, size_t al) {
    int r;
    switch (r_n(t, 6)) {
    case 0: {
        int err = srv_errs[r_n(t, sizeof srv_errs / sizeof srv_errs[0])];
        if (chance(t, 10)) {
            static const int odd[] = {EOK, ERESTART, -1, 5000, -7};
            err = odd[r_n(t, 5)];
        }
        snprintf(a, al, "rcvid=%d err=%d", rcvid, err);
        t->call = "MsgError";
        r = MsgError(rcvid, err);
        judge(t, "MsgError", r == -1, errno, S_ERROR, a);
        if (r == -1 && errno == EINVAL) {
            obj_add(&g_rcvids, rcvid); /* still REPLY-blocked */
            return;
        }
        break;
    }
    case 1: {
        size_t n = pick_size(t), off = chance(t, 80) ? r_n(t, 400) : (size_t)-1 - r_n(t, 10);
        snprintf(a, al, "rcvid=%d bytes=%zu offset=%zu", rcvid, n, off);
        t->call = "MsgRead";
        ssize_t k = MsgRead(rcvid, t->rbuf, n, off);
        judge(t, "MsgRead", k == -1, errno, S_RW, a);
        if (k > (ssize_t)n) {
            wrong(t, "MsgRead", "read more than asked", a);
        }
        t->call = "MsgWrite";
        k = MsgWrite(rcvid, t->sbuf, pick_size(t), r_n(t, 400));
        judge(t, "MsgWrite", k == -1, errno, S_RW, a);
    }
    /* fall through */
    default: {
        size_t n = pick_size(t);
        long status = (long)r_n(t, 100000);
        snprintf(a, al, "rcvid=%d status=%ld bytes=%zu", rcvid, status, n);
        t->call = "MsgReply";
        if (chance(t, 20)) {
            iov_t iov[2];
            SETIOV(&iov[0], t->sbuf, n / 2);
            SETIOV(&iov[1], t->sbuf + n / 2, n - n / 2);
            r = MsgReplyv(rcvid, status, iov, 2);
        } else {
            r = MsgReply(rcvid, status, t->sbuf, n);
        }
        judge(t, "MsgReply", r == -1, errno, S_REPLY, a);
        break;
    }
    }
    obj_add(&g_stale_rcvids, rcvid);
}

static void op_answer_pooled(struct thr *t, char *a, size_t al) {
    int rcvid = chance(t, 80) ? obj_take(t, &g_rcvids) : pick_rcvid(t);
    answer(t, rcvid, a, al);
}

static void op_read_write_info(struct thr *t, char *a, size_t al) {
    int rcvid = pick_rcvid(t);
    size_t n = pick_size(t), off = r_n(t, 600);
    struct _msg_info info;
    ssize_t k;
    int r;
    snprintf(a, al, "rcvid=%d bytes=%zu offset=%zu", rcvid, n, off);
    switch (r_n(t, 5)) {
    case 0:
        t->call = "MsgRead";
        k = MsgRead(rcvid, t->rbuf, n, off);
        judge(t, "MsgRead", k == -1, errno, S_RW, a);
        break;
    case 1: {
        iov_t iov[2];
        SETIOV(&iov[0], t->sbuf, n / 2);
        SETIOV(&iov[1], t->sbuf + n / 2, n - n / 2);
        t->call = "MsgWritev";
        k = MsgWritev(rcvid, iov, 2, off);
        judge(t, "MsgWritev", k == -1, errno, S_RW, a);
        break;
    }
    case 2:
        t->call = "MsgInfo";
        r = MsgInfo(rcvid, &info);
        judge(t, "MsgInfo", r == -1, errno, S_INFO, a);
        break;
    case 3:
        t->call = "MsgCurrent";
        r = MsgCurrent(rcvid);
        judge(t, "MsgCurrent", r == -1, errno, S_INFO, a);
        break;
    default:
        t->call = "MsgWrite";
        k = MsgWrite(rcvid, t->sbuf, n, off);
        judge(t, "MsgWrite", k == -1, errno, S_RW, a);
        break;
    }
}

static void op_pulse(struct thr *t, char *a, size_t al) {
    static const int prios[] = {-1, 1, 10, 63, 255, 0, 256, -5};
    static const int codes[] = {0, 1, 64, 127, -1, 128, -33, 1000};
    int coid = pick_coid(t);
    int prio = prios[r_n(t, chance(t, 85) ? 5 : 8)];
    int code = codes[r_n(t, chance(t, 85) ? 4 : 8)];
    int value = (int)rnd(t);
    snprintf(a, al, "coid=%#x prio=%d code=%d", (unsigned)coid, prio, code);
    t->call = "MsgSendPulse";
    if (chance(t, 15)) {
        errno = SENTINEL;
        int r = MsgSendPulse_r(coid, prio, code, value);
        judge_r(t, "MsgSendPulse_r", r, errno, S_PULSE, a);
        return;
    }
    int r = MsgSendPulse(coid, prio, code, value);
    judge(t, "MsgSendPulse", r == -1, errno, S_PULSE, a);
}

static void op_deliver(struct thr *t, char *a, size_t al) {
    struct sigevent ev;
    int rcvid = pick_rcvid(t);
    rand_event(t, &ev);
    snprintf(a, al, "rcvid=%d notify=%#x signo/coid=%#x", rcvid, ev.sigev_notify,
             (unsigned)ev.sigev_signo);
    if (chance(t, 30)) {
        t->call = "MsgVerifyEvent";
        int r = MsgVerifyEvent(rcvid, &ev);
        judge(t, "MsgVerifyEvent", r == -1, errno, S_VERIFY, a);
    } else {
        t->call = "MsgDeliverEvent";
        int r = MsgDeliverEvent(rcvid, &ev);
        judge(t, "MsgDeliverEvent", r == -1, errno, S_DELIVER, a);
    }
}

static void op_timer_timeout(struct thr *t, char *a, size_t al) {
    static const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, 99, -1};
    clockid_t clk = clocks[r_n(t, chance(t, 90) ? 2 : 4)];
    unsigned states = (unsigned)(rnd(t) & _NTO_TIMEOUT_MASK);
    int sleep = chance(t, 15);
    if (sleep) {
        states |= _NTO_TIMEOUT_NANOSLEEP;
    } else {
        states &= ~(unsigned)_NTO_TIMEOUT_NANOSLEEP;
    }
    int abs = chance(t, 20);
    _Uint64t ntime = r_n(t, 30) * 1000000ULL, otime = 0;
    if (abs) {
        struct timespec ts;
        clock_gettime(clk == CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts);
        ntime += (_Uint64t)ts.tv_sec * 1000000000ULL + (_Uint64t)ts.tv_nsec;
        states |= TIMER_ABSTIME;
    }
    if (chance(t, 5)) {
        states |= 1u << 26; /* a bit beyond the states: ignored (deviations.md) */
    }
    struct sigevent ev;
    int with_ev = chance(t, 30);
    if (with_ev) {
        rand_event(t, &ev);
    }
    int with_ntime = chance(t, 85);
    snprintf(a, al, "clock=%d flags=%#x ntime=%s%llu event=%#x", (int)clk, states,
             with_ntime ? "" : "NULL:", (unsigned long long)ntime, with_ev ? ev.sigev_notify : 0);
    t->call = "TimerTimeout";
    int r = TimerTimeout(clk, (int)states, with_ev ? &ev : NULL, with_ntime ? &ntime : NULL,
                         chance(t, 50) ? &otime : NULL);
    judge(t, "TimerTimeout", r == -1, errno, sleep ? S_TT_SLEEP : S_TT, a);
}

static void op_timer(struct thr *t, char *a, size_t al) {
    unsigned c = r_n(t, 10);
    int r;
    if (c < 3) {
        static const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, 99};
        struct sigevent ev;
        clockid_t clk = clocks[r_n(t, chance(t, 90) ? 2 : 3)];
        rand_event(t, &ev);
        snprintf(a, al, "clock=%d notify=%#x signo/coid=%#x", (int)clk, ev.sigev_notify,
                 (unsigned)ev.sigev_signo);
        t->call = "TimerCreate";
        r = TimerCreate(clk, &ev);
        judge(t, "TimerCreate", r == -1, errno, S_TCREATE, a);
        if (r != -1) {
            obj_add(&g_timers, r);
        }
    } else if (c < 6) {
        int id = chance(t, 85) ? obj_pick(t, &g_timers, 1) : (int)r_n(t, 40) - 1;
        struct _itimer it, old;
        it.nsec = chance(t, 20) ? 0 : 1000000ULL * (1 + r_n(t, 30));
        it.interval_nsec = chance(t, 60) ? 0 : 1000000ULL * (5 + r_n(t, 30));
        int flags = chance(t, 15) ? TIMER_ABSTIME : 0;
        snprintf(a, al, "id=%d flags=%#x nsec=%llu interval=%llu", id, flags,
                 (unsigned long long)it.nsec, (unsigned long long)it.interval_nsec);
        t->call = "TimerSettime";
        r = TimerSettime(id, flags, &it, chance(t, 50) ? &old : NULL);
        judge(t, "TimerSettime", r == -1, errno, S_TSET, a);
    } else if (c < 8) {
        int id = chance(t, 80) ? obj_take(t, &g_timers) : (int)r_n(t, 40) - 1;
        snprintf(a, al, "id=%d", id);
        t->call = "TimerDestroy";
        r = TimerDestroy(id);
        judge(t, "TimerDestroy", r == -1, errno, S_EINVAL, a);
    } else {
        struct _timer_info info;
        pid_t pid = chance(t, 60) ? 0 : pick_pid(t);
        int id = chance(t, 70) ? obj_pick(t, &g_timers, 1) : (int)r_n(t, 40) - 1;
        snprintf(a, al, "pid=%d id=%d", (int)pid, id);
        t->call = "TimerInfo";
        r = TimerInfo(pid, id, 0, &info);
        judge(t, "TimerInfo", r == -1, errno, S_TINFO, a);
    }
}

static void op_signal(struct thr *t, char *a, size_t al) {
    pid_t pid = pick_pid(t);
    int tid = chance(t, 20) ? 0 : (int)r_n(t, 14) - 1;
    int sig = pick_sig(t);
    int code = chance(t, 85) ? -(int)r_n(t, 100) : 1 + (int)r_n(t, 5);
    _Uint32t nd = chance(t, 97) ? ND_LOCAL_NODE : 3;
    if (pid < 0 || pid == 1) {
        pid = 4194305 + (int)r_n(t, 10); /* never a Linux process group or init */
    }
    snprintf(a, al, "nd=%u pid=%d tid=%d signo=%d code=%d", nd, (int)pid, tid, sig, code);
    t->call = "SignalKill";
    int r = SignalKill(nd, pid, tid, sig, code, (int)r_n(t, 100));
    judge(t, "SignalKill", r == -1, errno, S_SIGKILL, a);
}

static void op_sched(struct thr *t, char *a, size_t al) {
    pid_t pid = pick_pid(t);
    int tid = chance(t, 30) ? 0 : (int)r_n(t, 14) - 1;
    struct sched_param p;
    int r;
    memset(&p, 0, sizeof p);
    if (pid == 1) {
        pid = 0;
    }
    if (chance(t, 50)) {
        snprintf(a, al, "pid=%d tid=%d", (int)pid, tid);
        t->call = "SchedGet";
        r = SchedGet(pid, tid, &p);
        judge(t, "SchedGet", r == -1, errno, S_SCHEDGET, a);
    } else {
        static const int pol[] = {SCHED_NOCHANGE, SCHED_FIFO, SCHED_RR, SCHED_OTHER,
                                  SCHED_SPORADIC, 77};
        int policy = pol[r_n(t, 6)];
        p.sched_priority = chance(t, 85) ? 1 + (int)r_n(t, 60) : (int)r_n(t, 300) - 10;
        snprintf(a, al, "pid=%d tid=%d policy=%d prio=%d", (int)pid, tid, policy,
                 p.sched_priority);
        t->call = "SchedSet";
        r = SchedSet(pid, tid, policy, &p);
        judge(t, "SchedSet", r == -1, errno, S_SCHEDSET, a);
    }
}

static void op_interrupt(struct thr *t, char *a, size_t al) {
    unsigned c = r_n(t, 12);
    int r;
    if (c < 3) {
        struct sigevent ev;
        int level = pick_level(t);
        unsigned flags = 0;
        static const unsigned bits[] = {_NTO_INTR_FLAGS_END, _NTO_INTR_FLAGS_NO_UNMASK,
                                        _NTO_INTR_FLAGS_PROCESS, _NTO_INTR_FLAGS_TRK_MSK,
                                        _NTO_INTR_FLAGS_EXCLUSIVE, _NTO_INTR_FLAGS_ARRAY};
        for (unsigned i = 0; i < 6; i++) {
            if (chance(t, i == 5 ? 3 : 25)) {
                flags |= bits[i];
            }
        }
        if (chance(t, 60)) {
            SIGEV_INTR_INIT(&ev);
        } else {
            rand_event(t, &ev);
        }
        snprintf(a, al, "level=%d flags=%#x notify=%#x", level, flags, ev.sigev_notify);
        t->call = "InterruptAttachEvent";
        r = InterruptAttachEvent(level, &ev, flags);
        judge(t, "InterruptAttachEvent", r == -1, errno, S_INTRATTACH, a);
        if (r != -1) {
            obj_add(&g_intrs, r);
        }
    } else if (c < 5) {
        int id = chance(t, 80) ? obj_take(t, &g_intrs) : (int)r_n(t, 20) - 1;
        snprintf(a, al, "id=%d", id);
        t->call = "InterruptDetach";
        r = InterruptDetach(id);
        judge(t, "InterruptDetach", r == -1, errno, S_EINVAL, a);
    } else if (c < 8) {
        int level = pick_level(t);
        int id = chance(t, 50) ? obj_pick(t, &g_intrs, -1) : (chance(t, 50) ? -1 : (int)r_n(t, 20));
        int mask = chance(t, 50);
        snprintf(a, al, "level=%d id=%d", level, id);
        t->call = mask ? "InterruptMask" : "InterruptUnmask";
        r = mask ? InterruptMask(level, id) : InterruptUnmask(level, id);
        judge(t, t->call, r == -1, errno, S_EINVAL, a);
    } else if (c < 10) {
        int level = pick_level(t);
        snprintf(a, al, "level=%d", level);
        t->call = "qnxsim_interrupt_raise";
        r = qnxsim_interrupt_raise(level);
        judge(t, "qnxsim_interrupt_raise", r == -1, errno, S_EINVAL, a);
    } else {
        int flags = chance(t, 80) ? (int)r_n(t, 4) : 0x10;
        snprintf(a, al, "flags=%#x", flags);
        t->call = "InterruptWait";
        arm(_NTO_TIMEOUT_INTR, r_n(t, 20));
        r = InterruptWait(flags, NULL);
        judge(t, "InterruptWait", r == -1, errno, S_INTRWAIT, a);
        if (r != -1) {
            COUNT(g_ok_intr);
        }
    }
}

static void op_info(struct thr *t, char *a, size_t al) {
    int r;
    if (chance(t, 50)) {
        struct _client_info ci;
        int scoid = chance(t, 40) ? obj_pick(t, &g_scoids, -1)
                                  : (chance(t, 30) ? -1 : (int)(_NTO_SIDE_CHANNEL | r_n(t, 20)));
        int ng = chance(t, 80) ? (int)r_n(t, 9) : (chance(t, 50) ? -1 : 70000);
        snprintf(a, al, "scoid=%#x ngroups=%d", (unsigned)scoid, ng);
        t->call = "ConnectClientInfo";
        r = ConnectClientInfo(scoid, chance(t, 95) ? &ci : NULL, ng);
        judge(t, "ConnectClientInfo", r == -1, errno, S_CCI, a);
    } else if (chance(t, 70)) {
        struct _server_info si;
        pid_t pid = pick_pid(t);
        int coid = chance(t, 50) ? (int)r_n(t, 4) : pick_coid(t);
        snprintf(a, al, "pid=%d coid=%#x", (int)pid, (unsigned)coid);
        t->call = "ConnectServerInfo";
        r = ConnectServerInfo(pid, coid, chance(t, 95) ? &si : NULL);
        judge(t, "ConnectServerInfo", r == -1, errno, S_CSI, a);
        if (r != -1 && r < coid && coid >= 0) {
            wrong(t, "ConnectServerInfo", "returned a coid below the one asked from", a);
        }
    } else {
        pid_t pid = chance(t, 50) ? 0 : pick_pid(t);
        int coid = pick_coid(t);
        unsigned mask = chance(t, 80) ? _NTO_COF_CLOEXEC : (unsigned)rnd(t);
        snprintf(a, al, "pid=%d coid=%#x mask=%#x", (int)pid, (unsigned)coid, mask);
        t->call = "ConnectFlags";
        r = ConnectFlags(pid, coid, mask, (unsigned)rnd(t) & _NTO_COF_CLOEXEC);
        judge(t, "ConnectFlags", r == -1, errno, S_CFLAGS, a);
    }
}

static const char *pick_name(struct thr *t, char *buf, size_t n) {
    switch (r_n(t, 12)) {
    case 0: return "";
    case 1: return "/fz/abs";
    case 2: return "fz/../x";
    case 3: {
        memset(buf, 'n', n - 1);
        buf[n - 1] = 0;
        return buf; /* 199 bytes: ENAMETOOLONG */
    }
    default:
        snprintf(buf, n, "fz/%u", r_n(t, 6));
        return buf;
    }
}

static void op_names(struct thr *t, char *a, size_t al) {
    char nb[200];
    unsigned c = r_n(t, 10);
    if (c < 3) {
        const char *name = pick_name(t, nb, sizeof nb);
        unsigned flags = chance(t, 80) ? 0 : (chance(t, 60) ? NAME_FLAG_ATTACH_GLOBAL : 0x40u);
        snprintf(a, al, "name=%.40s flags=%#x", name, flags);
        t->call = "name_attach";
        name_attach_t *na = name_attach(NULL, name, flags);
        judge(t, "name_attach", na == NULL, errno, S_NATTACH, a);
        if (na != NULL) {
            pthread_mutex_lock(&g_mu);
            if (g_nnames < MAXOBJ) {
                g_names[g_nnames++] = na;
            }
            pthread_mutex_unlock(&g_mu);
            obj_add(&g_chids, na->chid);
        }
    } else if (c < 5) {
        name_attach_t *na = NULL;
        pthread_mutex_lock(&g_mu);
        if (chance(t, 30) && g_ndead_names > 0) {
            na = g_dead_names[r_n(t, (unsigned)g_ndead_names)]; /* detached already: refused unread */
        } else if (g_nnames > 0) {
            int i = (int)r_n(t, (unsigned)g_nnames);
            na = g_names[i];
            g_names[i] = g_names[--g_nnames];
        }
        pthread_mutex_unlock(&g_mu);
        unsigned flags = chance(t, 85) ? 0 : (chance(t, 50) ? NAME_FLAG_DETACH_SAVEDPP : 0x80u);
        snprintf(a, al, "attach=%p flags=%#x", (void *)na, flags);
        t->call = "name_detach";
        int r = name_detach(na, flags);
        judge(t, "name_detach", r == -1, errno, S_EINVAL, a);
        pthread_mutex_lock(&g_mu);
        if (r == 0 && g_ndead_names < MAXOBJ) {
            g_dead_names[g_ndead_names++] = na;
        } else if (r == -1 && na != NULL && g_nnames < MAXOBJ) {
            int dead = 0;
            for (int i = 0; i < g_ndead_names; i++) {
                dead |= g_dead_names[i] == na;
            }
            if (!dead) {
                g_names[g_nnames++] = na; /* still ours (not freed on failure) */
            }
        }
        pthread_mutex_unlock(&g_mu);
    } else if (c < 8) {
        const char *name = pick_name(t, nb, sizeof nb);
        int flags = chance(t, 95) ? 0 : 1;
        snprintf(a, al, "name=%.40s flags=%d", name, flags);
        t->call = "name_open";
        int r = name_open(name, flags);
        judge(t, "name_open", r == -1, errno, S_NOPEN, a);
        if (r != -1) {
            COUNT(g_ok_open);
            obj_add(&g_coids, r);
        }
    } else {
        int coid = chance(t, 70) ? obj_take(t, &g_coids) : pick_coid(t);
        snprintf(a, al, "coid=%#x", (unsigned)coid);
        t->call = "name_close";
        int r = name_close(coid);
        judge(t, "name_close", r == -1, errno, S_EINVAL, a);
    }
}

static int acb(int err, void *buf, unsigned handle) {
    (void)buf;
    if (err != 0 && err != EMSGSIZE && err != EBADF) {
        char a[64];
        snprintf(a, sizeof a, "handle=%u err=%d", handle, err);
        wrong(NULL, "asyncmsg callback", "an error outside 0/EMSGSIZE/EBADF", a);
    }
    return 0;
}

static void op_async(struct thr *t, char *a, size_t al) {
    unsigned c = r_n(t, 14);
    int r;
    if (c < 2) {
        unsigned flags = chance(t, 50) ? _NTO_CHF_ASYNC_NONBLOCK : 0;
        if (chance(t, 5)) {
            flags |= 0x80000000u;
        }
        size_t bs = chance(t, 90) ? 16 + r_n(t, 2048) : 0;
        unsigned nb = chance(t, 90) ? 1 + r_n(t, 16) : 0;
        struct sigevent ev;
        int with_ev = chance(t, 30);
        if (with_ev) {
            rand_event(t, &ev);
        }
        snprintf(a, al, "flags=%#x bufsize=%zu maxbuf=%u ev=%s%#x coid/signo=%#x", flags, bs, nb,
                 with_ev ? "" : "NULL:", with_ev ? ev.sigev_notify : 0,
                 with_ev ? (unsigned)ev.sigev_signo : 0);
        t->call = "asyncmsg_channel_create";
        r = asyncmsg_channel_create(flags, 0600, bs, nb, with_ev ? &ev : NULL, NULL, NULL);
        judge(t, "asyncmsg_channel_create", r == -1, errno, S_ACH_CREATE, a);
        if (r != -1) {
            obj_add(&g_achids, r);
        }
    } else if (c < 3) {
        int chid = chance(t, 70) ? obj_take(t, &g_achids) : pick_chid(t);
        snprintf(a, al, "chid=%d", chid);
        t->call = "asyncmsg_channel_destroy";
        r = asyncmsg_channel_destroy(chid);
        judge(t, "asyncmsg_channel_destroy", r == -1, errno, S_EINVAL, a);
    } else if (c < 5) {
        struct _asyncmsg_connection_attr at;
        memset(&at, 0, sizeof at);
        at.call_back = chance(t, 70) ? acb : NULL;
        at.buffer_size = 16 + r_n(t, 4096);
        at.max_num_buffer = chance(t, 95) ? 2 + r_n(t, 30) : 70000;
        at.trigger_num_msg = r_n(t, 4);
        at.trigger_time.nsec = chance(t, 50) ? 0 : 1000000ULL * (1 + r_n(t, 10));
        pid_t pid = pick_pid(t);
        int chid = chance(t, 50) ? obj_pick(t, &g_achids, 1) : pick_chid(t);
        /* Always non-blocking: a full queue fails the put with EAGAIN instead of waiting with
         * no bound (a library wait TimerTimeout does not reach). */
        unsigned flags = _NTO_COF_NONBLOCK | (chance(t, 5) ? 0x8000u : 0);
        snprintf(a, al, "pid=%d chid=%d flags=%#x maxbuf=%u", (int)pid, chid, flags,
                 at.max_num_buffer);
        t->call = "asyncmsg_connect_attach";
        r = asyncmsg_connect_attach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, flags, &at);
        judge(t, "asyncmsg_connect_attach", r == -1, errno, S_ACO_ATTACH, a);
        if (r != -1) {
            obj_add(&g_acoids, r);
        }
    } else if (c < 6) {
        int coid = chance(t, 70) ? obj_take(t, &g_acoids) : pick_coid(t);
        snprintf(a, al, "coid=%#x", (unsigned)coid);
        t->call = "asyncmsg_connect_detach";
        r = asyncmsg_connect_detach(coid);
        judge(t, "asyncmsg_connect_detach", r == -1, errno, S_EINVAL, a);
    } else if (c < 10) {
        /* Static bytes: the put copies them (deviations.md, "asyncmsg from C"). */
        static const char msg[4096] = "fuzz";
        int coid = chance(t, 80) ? obj_pick(t, &g_acoids, _NTO_SIDE_CHANNEL | 3) : pick_coid(t);
        size_t n = chance(t, 80) ? r_n(t, 300) : r_n(t, sizeof msg);
        snprintf(a, al, "coid=%#x size=%zu", (unsigned)coid, n);
        if (chance(t, 25)) {
            iov_t iov[2];
            SETIOV(&iov[0], msg, n / 2);
            SETIOV(&iov[1], msg + n / 2, n - n / 2);
            t->call = "asyncmsg_putv";
            r = asyncmsg_putv(coid, iov, 2, (unsigned)t->ops, chance(t, 50) ? acb : NULL);
        } else {
            t->call = "asyncmsg_put";
            r = asyncmsg_put(coid, msg, n, (unsigned)t->ops, chance(t, 50) ? acb : NULL);
        }
        judge(t, t->call, r == -1, errno, S_APUT, a);
    } else if (c < 11) {
        int coid = chance(t, 80) ? obj_pick(t, &g_acoids, _NTO_SIDE_CHANNEL | 3) : pick_coid(t);
        snprintf(a, al, "coid=%#x", (unsigned)coid);
        t->call = "asyncmsg_flush";
        r = asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK);
        judge(t, "asyncmsg_flush", r == -1, errno, S_AFLUSH, a);
    } else if (c < 12) {
        struct _asyncmsg_connection_attr old, nw;
        int coid = chance(t, 80) ? obj_pick(t, &g_acoids, _NTO_SIDE_CHANNEL | 3) : pick_coid(t);
        memset(&nw, 0, sizeof nw);
        nw.call_back = acb;
        nw.buffer_size = 64;
        nw.max_num_buffer = 4;
        nw.trigger_num_msg = r_n(t, 3);
        nw.trigger_time.nsec = chance(t, 50) ? 0 : 2000000ULL;
        snprintf(a, al, "coid=%#x", (unsigned)coid);
        t->call = "asyncmsg_connect_attr";
        r = asyncmsg_connect_attr(coid, &old, chance(t, 50) ? &nw : NULL);
        judge(t, "asyncmsg_connect_attr", r == -1, errno, S_AATTR, a);
    } else {
        int chid = chance(t, 80) ? obj_pick(t, &g_achids, 1) : pick_chid(t);
        snprintf(a, al, "chid=%d", chid);
        t->call = "asyncmsg_get";
        ARM_RX(t);
        struct _asyncmsg_get_header *h = asyncmsg_get(chid);
        judge(t, "asyncmsg_get", h == NULL, errno, S_AGET, a);
        while (h != NULL) {
            struct _asyncmsg_get_header *next = h->next;
            COUNT(g_ok_aget);
            if (h->err != 0 && h->err != EMSGSIZE && h->err != EFAULT) {
                wrong(t, "asyncmsg_get", "a message with an error outside 0/EMSGSIZE/EFAULT", a);
            }
            asyncmsg_free(h);
            h = next;
        }
    }
}

/* ------------------------------------------------------------------ threads */

static void one_op(struct thr *t) {
    char a[200];
    a[0] = 0;
    unsigned w = r_n(t, 100);
    if (w < 6) {
        op_channel_create(t, a, sizeof a);
    } else if (w < 11) {
        op_channel_destroy(t, a, sizeof a);
    } else if (w < 19) {
        op_connect_attach(t, a, sizeof a);
    } else if (w < 24) {
        op_connect_detach(t, a, sizeof a);
    } else if (w < 36) {
        op_send(t, a, sizeof a);
    } else if (w < 48) {
        op_receive(t, a, sizeof a);
    } else if (w < 53) {
        op_answer_pooled(t, a, sizeof a);
    } else if (w < 57) {
        op_read_write_info(t, a, sizeof a);
    } else if (w < 63) {
        op_pulse(t, a, sizeof a);
    } else if (w < 67) {
        op_deliver(t, a, sizeof a);
    } else if (w < 70) {
        op_timer_timeout(t, a, sizeof a);
    } else if (w < 74) {
        op_timer(t, a, sizeof a);
    } else if (w < 77) {
        op_signal(t, a, sizeof a);
    } else if (w < 80) {
        op_sched(t, a, sizeof a);
    } else if (w < 85) {
        op_interrupt(t, a, sizeof a);
    } else if (w < 88) {
        op_info(t, a, sizeof a);
    } else if (w < 93) {
        op_names(t, a, sizeof a);
    } else {
        op_async(t, a, sizeof a);
    }
    t->call = NULL;
}

static void *fuzz_thread(void *arg) {
    struct thr *t = arg;
    while (!g_stop) {
        t->ops++;
        one_op(t);
    }
    t->done = 1;
    return NULL;
}

static void read_pids(void) {
    FILE *f = fopen(g_pidfile, "r");
    if (f == NULL) {
        return;
    }
    pid_t tmp[256];
    int n = 0;
    long v;
    while (n < 256 && fscanf(f, "%ld", &v) == 1) {
        tmp[n++] = (pid_t)v;
    }
    fclose(f);
    pthread_mutex_lock(&g_mu);
    memcpy(g_pids, tmp, sizeof(pid_t) * (size_t)n);
    g_npids = n;
    pthread_mutex_unlock(&g_mu);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static int all_done(void) {
    for (int i = 0; i < g_nthreads; i++) {
        if (!g_thr[i].done) {
            return 0;
        }
    }
    return 1;
}

/* The fixed sequences the fuzzer's findings were reduced to. Each prints "REPRO ok" when the
 * project behaves as documented, else "REPRO FAIL ..." lines; exit status 0 / 1. */
static int repro_async_event(void) {
    /* asyncmsg_channel_create with an event the kernel could not deliver: QNX documents
     * EAGAIN and EINVAL only (qnx-api.md 3.4); TimerCreate and TimerTimeout refuse the same
     * events with EINVAL (deviations.md, "TimerTimeout and TimerCreate check their event"). */
    struct sigevent ev;
    int bad = 0, chid = ChannelCreate(0);
    int coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    for (int k = 0; k < 3; k++) {
        memset(&ev, 0, sizeof ev);
        const char *what;
        if (k == 0) {
            SIGEV_PULSE_INIT(&ev, _NTO_SIDE_CHANNEL | 77, 10, 1, 0);
            what = "a pulse on a coid that is no connection";
        } else if (k == 1) {
            SIGEV_THREAD_INIT(&ev, thread_fn_dummy, 0, NULL);
            what = "SIGEV_THREAD";
        } else {
            ChannelDestroy(chid);
            SIGEV_PULSE_INIT(&ev, coid, 10, 1, 0);
            what = "a pulse on a coid whose channel is gone";
        }
        errno = 0;
        int tc = TimerCreate(CLOCK_MONOTONIC, &ev);
        int te = errno;
        errno = 0;
        int r = asyncmsg_channel_create(0, 0600, 64, 4, &ev, NULL, NULL);
        int e = errno;
        if (r != -1 || (e != EINVAL && e != EAGAIN)) {
            bad++;
            printf("REPRO FAIL asyncmsg_channel_create(%s): %d errno %d (%s), want -1 EINVAL "
                   "(TimerCreate of it: %d errno %d)\n", what, r, e, strerror(e), tc, te);
        }
        if (r != -1) {
            asyncmsg_channel_destroy(r);
        }
    }
    printf(bad ? "REPRO failed\n" : "REPRO ok\n");
    return bad ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "repro-async-event") == 0) {
        return repro_async_event();
    }
    if (argc != 6) {
        fprintf(stderr, "usage: review_fuzz_programs SEED RUN_MS NTHREADS PIDFILE GRACE_MS\n");
        return 2;
    }
    g_seed = strtoull(argv[1], NULL, 10);
    g_run_ms = atol(argv[2]);
    g_nthreads = atoi(argv[3]);
    g_pidfile = argv[4];
    g_grace_ms = atol(argv[5]);
    if (g_nthreads < 1 || g_nthreads > MAXT || g_run_ms < 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    g_me = getpid();

    /* Handlers first: every signal this run sends (SignalKill, events) has one. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGRTMIN + 2, &sa, NULL);
    /* The hard bound: SIGALRM's default action ends the program (the driver sees it). */
    alarm((unsigned)((g_run_ms + g_grace_ms) / 1000 + 30));

    int home = ChannelCreate(0);
    if (home == -1) {
        printf("SETUP ChannelCreate: errno %d (%s)\n", errno, strerror(errno));
        return 2;
    }
    obj_add(&g_chids, home);
    {
        char line[32];
        int n = snprintf(line, sizeof line, "%d\n", (int)g_me);
        int fd = open(g_pidfile, O_WRONLY | O_APPEND | O_CREAT, 0600);
        if (fd == -1 || write(fd, line, (size_t)n) != n) {
            printf("SETUP pid file: errno %d\n", errno);
            return 2;
        }
        close(fd);
    }
    read_pids();
    printf("ready %d seed %llu\n", (int)g_me, g_seed);
    fflush(stdout);

    for (int i = 0; i < g_nthreads; i++) {
        struct thr *t = &g_thr[i];
        t->idx = i;
        t->rng = (g_seed ^ (0x9E3779B97F4A7C15ULL * (unsigned long long)(i + 1))) | 1;
        if (pthread_create(&t->th, NULL, fuzz_thread, t) != 0) {
            printf("SETUP pthread_create failed\n");
            fflush(stdout);
            _exit(2);
        }
    }
    long end = now_ms() + g_run_ms;
    while (now_ms() < end) {
        sleep_ms(100);
        read_pids();
    }
    g_stop = 1;

    /* Give the threads their bounded calls' time, then release whatever waits on our side:
     * answer the pooled rcvids, destroy our channels (their SEND- and REPLY-blocked clients,
     * ours included, get ESRCH). */
    long until = now_ms() + 2000;
    while (!all_done() && now_ms() < until) {
        sleep_ms(20);
    }
    if (!all_done()) {
        int rcvid;
        struct thr me;
        memset(&me, 0, sizeof me);
        me.rng = g_seed | 1;
        while ((rcvid = obj_take(&me, &g_rcvids)) != 0) {
            MsgError(rcvid, ENOSYS);
        }
        for (int chid = 1; chid < 64; chid++) {
            ChannelDestroy(chid);
        }
    }
    until = now_ms() + g_grace_ms;
    while (!all_done() && now_ms() < until) {
        sleep_ms(20);
    }
    if (!all_done()) {
        pthread_mutex_lock(&g_out);
        for (int i = 0; i < g_nthreads; i++) {
            if (!g_thr[i].done) {
                const char *c = g_thr[i].call;
                printf("HANG seed=%llu pid=%d thread=%d op=%lu still in %s %ld ms after the end\n",
                       g_seed, (int)g_me, i, g_thr[i].ops, c ? c : "(between calls)",
                       g_grace_ms + 2000);
            }
        }
        fflush(stdout);
        _exit(3);
    }
    unsigned long ops = 0;
    for (int i = 0; i < g_nthreads; i++) {
        pthread_join(g_thr[i].th, NULL);
        ops += g_thr[i].ops;
    }
    pthread_mutex_lock(&g_out);
    printf("done ops %lu findings %d signals %d sends-answered %lu messages %lu pulses %lu "
           "name-opens %lu async-got %lu intr-waits %lu\n",
           ops, g_findings, (int)g_signals, g_ok_send, g_ok_msg, g_ok_pulse, g_ok_open, g_ok_aget,
           g_ok_intr);
    fflush(stdout);
    int f = g_findings;
    pthread_mutex_unlock(&g_out);
    return f ? 1 : 0;
}
