/*
 * review_conformance_pass.c: an outside tester's pass over ../shared/reference/qnx-api.md,
 * section by section, through the C API only, for a threaded program on its own simulated
 * kernel: the constants and struct layouts of section 1, then each call of section 2 with its
 * documented errno conditions, flags and filled-in fields (_msg_info, _pulse), the iov forms
 * with empty and partial parts, MsgRead/MsgWrite past the end, the spent rcvid, MsgError's
 * EOK/ERESTART, the priority queue of pulses and messages, MsgDeliverEvent's kinds,
 * TimerTimeout's flags, result and otime, ChannelDestroy and ConnectDetach with blocked
 * threads, priority inheritance and boost, the death pulses, and the _r forms (negative errno,
 * errno left alone). Where docs/deviations.md declares a choice, the check follows it and
 * says so.
 *
 * No call may block forever: every receive and send that could wait is armed with
 * TimerTimeout first, and every helper thread bounds its own.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <process.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <sys/siginfo.h>
#include <sys/states.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ------------------------------------------------------------------ helpers */

#define MS 1000000ULL
#define LONG_MS 5000
/* What a kept errno is set to before an _r call. */
#define KEEP 4242

static void arm(int flags, unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, flags, NULL, &ns, NULL);
}
static void arm_rx(unsigned long long ms) { arm(_NTO_TIMEOUT_RECEIVE, ms); }
static void arm_sr(unsigned long long ms) { arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, ms); }

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_flag(volatile sig_atomic_t *flag, int ms) {
    long long until = now_ms() + ms;
    while (!*flag && now_ms() < until) {
        delay(2);
    }
    return *flag != 0;
}

/* A client thread: MsgSendv on coid at priority prio (0: inherited), bounded by its own
 * TimerTimeout (tflags 0: SEND|REPLY for LONG_MS). */
struct cl {
    int coid;
    int prio;
    int fifo; /* with prio: SchedSet(SCHED_FIFO) instead of setprio */
    const iov_t *siov;
    size_t sparts;
    const iov_t *riov;
    size_t rparts;
    int tflags;
    unsigned long long tmo_ms;
    long ret;
    int err;
    int tid;
    long long took_ms;
    volatile sig_atomic_t started;
    volatile sig_atomic_t done;
    pthread_t th;
};

static void *cl_main(void *arg) {
    struct cl *c = (struct cl *)arg;
    long long t0;
    if (c->prio > 0 && c->fifo) {
        struct sched_param sp;
        memset(&sp, 0, sizeof sp);
        sp.sched_priority = c->prio;
        SchedSet(0, 0, SCHED_FIFO, &sp);
    } else if (c->prio > 0) {
        setprio(0, c->prio);
    }
    c->tid = gettid();
    c->started = 1;
    if (c->tflags != 0) {
        arm(c->tflags, c->tmo_ms);
    } else {
        arm_sr(LONG_MS);
    }
    t0 = now_ms();
    errno = 0;
    c->ret = MsgSendv(c->coid, c->siov, c->sparts, c->riov, c->rparts);
    c->err = errno;
    c->took_ms = now_ms() - t0;
    c->done = 1;
    return NULL;
}

static iov_t one_s[1], one_r[1];

/* Starts a client sending sb bytes of s with rb bytes of reply room r. */
static void cl_start(struct cl *c, int coid, int prio, const void *s, size_t sb, void *r,
                     size_t rb) {
    memset(c, 0, sizeof *c);
    c->coid = coid;
    c->prio = prio;
    c->siov = (iov_t *)malloc(sizeof(iov_t));
    c->riov = (iov_t *)malloc(sizeof(iov_t));
    SETIOV((iov_t *)c->siov, (void *)(uintptr_t)s, sb);
    SETIOV((iov_t *)c->riov, r, rb);
    c->sparts = 1;
    c->rparts = 1;
    pthread_create(&c->th, NULL, cl_main, c);
    wait_flag(&c->started, LONG_MS);
}

static void cl_startv(struct cl *c, int coid, const iov_t *siov, size_t sparts,
                      const iov_t *riov, size_t rparts) {
    memset(c, 0, sizeof *c);
    c->coid = coid;
    c->siov = siov;
    c->sparts = sparts;
    c->riov = riov;
    c->rparts = rparts;
    pthread_create(&c->th, NULL, cl_main, c);
    wait_flag(&c->started, LONG_MS);
}

static void cl_join(struct cl *c) { pthread_join(c->th, NULL); }

/* Frees cl_start's iovs. */
static void cl_free(struct cl *c) {
    free((void *)(uintptr_t)c->siov);
    free((void *)(uintptr_t)c->riov);
}

/* Lets a started client reach its blocking state. */
static void settle(void) { delay(60); }

static int recv_bounded(int chid, void *buf, size_t n, struct _msg_info *info) {
    arm_rx(LONG_MS);
    return MsgReceive(chid, buf, n, info);
}

static int recv_pulse(int chid, struct _pulse *p) {
    arm_rx(LONG_MS);
    return MsgReceivePulse(chid, p, sizeof *p, NULL);
}

/* Empties chid of queued pulses (no message may be queued). */
static void drain(int chid) {
    struct _pulse p;
    for (;;) {
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
        if (MsgReceivePulse(chid, &p, sizeof p, NULL) != 0) {
            break;
        }
    }
}

/* ------------------------------------------------------------------ 1: constants, layouts */

static void constants(void) {
    /* 1.1 _msg_info flags */
    CHECK(_NTO_MI_ENDIAN_BIG == 0x1 && _NTO_MI_ENDIAN_DIFF == 0x2 && _NTO_MI_UNBLOCK_REQ == 0x100,
          "_NTO_MI_* values");
    CHECK(_NTO_MI_NET_CRED_DIRTY == 0x200 && _NTO_MI_CONSTRAINED == 0x400 &&
              _NTO_MI_CHROOT == 0x800 && _NTO_MI_BITS_64 == 0x1000 &&
              _NTO_MI_BITS_DIFF == 0x2000 && _NTO_MI_SANDBOX == 0x4000,
          "the newer _NTO_MI_* values ([BB], [RL])");
    CHECK(_PULSE_CODE_RESTART == -39 && _PULSE_CODE_NORESTART == -40 &&
              _PULSE_CODE_UNBLOCK_RESTART == -41 && _PULSE_CODE_UNBLOCK_TIMER == -42,
          "QNX 7's _PULSE_CODE_* values");
    /* 1.2 struct _msg_info64 layout, [RL] */
    CHECK(offsetof(struct _msg_info, nd) == 0 && offsetof(struct _msg_info, srcnd) == 4 &&
              offsetof(struct _msg_info, pid) == 8 && offsetof(struct _msg_info, tid) == 12 &&
              offsetof(struct _msg_info, chid) == 16 && offsetof(struct _msg_info, scoid) == 20 &&
              offsetof(struct _msg_info, coid) == 24 &&
              offsetof(struct _msg_info, priority) == 28 &&
              offsetof(struct _msg_info, flags) == 30 && offsetof(struct _msg_info, msglen) == 32 &&
              offsetof(struct _msg_info, srcmsglen) == 40 &&
              offsetof(struct _msg_info, dstmsglen) == 48 &&
              offsetof(struct _msg_info, type_id) == 56 &&
              offsetof(struct _msg_info, reserved) == 60,
          "_msg_info64 field offsets as QNX 7's");
    CHECK(sizeof(((struct _msg_info *)0)->priority) == 2 &&
              sizeof(((struct _msg_info *)0)->flags) == 2 &&
              sizeof(((struct _msg_info *)0)->msglen) == sizeof(ssize_t),
          "_msg_info64 field widths");
    /* 1.3 struct _pulse layout and codes */
    CHECK(offsetof(struct _pulse, type) == 0 && offsetof(struct _pulse, subtype) == 2 &&
              offsetof(struct _pulse, code) == 4 && offsetof(struct _pulse, zero) == 5 &&
              offsetof(struct _pulse, value) == 8 && offsetof(struct _pulse, scoid) == 16,
          "_pulse field offsets");
    CHECK(sizeof(((struct _pulse *)0)->code) == 1 && (_Int8t)-1 < 0,
          "_pulse code is a signed 8-bit field");
    CHECK(_PULSE_CODE_UNBLOCK == -32 && _PULSE_CODE_DISCONNECT == -33 &&
              _PULSE_CODE_THREADDEATH == -34 && _PULSE_CODE_COIDDEATH == -35 &&
              _PULSE_CODE_NET_ACK == -36 && _PULSE_CODE_NET_UNBLOCK == -37 &&
              _PULSE_CODE_NET_DETACH == -38 && _PULSE_CODE_MINAVAIL == 0 &&
              _PULSE_CODE_MAXAVAIL == 127 && _PULSE_TYPE == 0 && _PULSE_SUBTYPE == 0,
          "_PULSE_CODE_* values");
    /* 1.4 sigevent (deviations.md: QNX 7's 64-bit SIGEV_* values) */
    CHECK((SIGEV_PULSE & SIGEV_TYPE_MASK) == SIGEV_PULSE && (SIGEV_NONE & 0x7f) == 0 &&
              (SIGEV_SIGNAL & 0x7f) == 1 && (SIGEV_SIGNAL_CODE & 0x7f) == 2 &&
              (SIGEV_SIGNAL_THREAD & 0x7f) == 3 && (SIGEV_PULSE & 0x7f) == 4 &&
              (SIGEV_UNBLOCK & 0x7f) == 5 && (SIGEV_INTR & 0x7f) == 6 &&
              (SIGEV_THREAD & 0x7f) == 7,
          "SIGEV_* types");
    CHECK(SIGEV_TYPE_MASK == 0xff && SIGEV_FLAG_CRITICAL == 0x100 && SIGEV_PULSE_PRIO_INHERIT == -1,
          "SIGEV_TYPE_MASK, SIGEV_FLAG_CRITICAL, SIGEV_PULSE_PRIO_INHERIT");
    {
        struct sigevent ev;
        memset(&ev, 0, sizeof ev);
        SIGEV_PULSE_INIT(&ev, 0x40000007, 12, 5, 77);
        CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_PULSE && ev.sigev_coid == 0x40000007 &&
                  ev.sigev_priority == 12 && ev.sigev_code == 5 &&
                  ev.sigev_value.sival_int == 77,
              "SIGEV_PULSE_INIT fills coid, priority, code, value");
        SIGEV_MAKE_CRITICAL(&ev);
        CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_PULSE && (ev.sigev_notify & SIGEV_FLAG_CRITICAL),
              "SIGEV_MAKE_CRITICAL keeps the type");
        SIGEV_CLEAR_CRITICAL(&ev);
        CHECK(!(ev.sigev_notify & SIGEV_FLAG_CRITICAL), "SIGEV_CLEAR_CRITICAL");
    }
    /* 1.5 */
    CHECK(sizeof(iov_t) == sizeof(struct iovec) && ND_LOCAL_NODE == 0, "iov_t, ND_LOCAL_NODE");
    CHECK(sizeof(struct _itimer) == 16, "struct _itimer is two 64-bit words");
    /* 1.6 thread states */
    CHECK(STATE_DEAD == 0 && STATE_RUNNING == 1 && STATE_READY == 2 && STATE_STOPPED == 3 &&
              STATE_SEND == 4 && STATE_RECEIVE == 5 && STATE_REPLY == 6 && STATE_STACK == 7 &&
              STATE_WAITTHREAD == 8 && STATE_WAITPAGE == 9 && STATE_SIGSUSPEND == 10 &&
              STATE_SIGWAITINFO == 11 && STATE_NANOSLEEP == 12 && STATE_MUTEX == 13 &&
              STATE_CONDVAR == 14 && STATE_JOIN == 15 && STATE_INTR == 16 && STATE_SEM == 17 &&
              STATE_WAITCTX == 18 && STATE_NET_SEND == 19 && STATE_NET_REPLY == 20 &&
              STATE_MAX == 24,
          "STATE_* values");
    /* 1.7 */
    CHECK(_NTO_TIMEOUT_SEND == (1 << 4) && _NTO_TIMEOUT_RECEIVE == (1 << 5) &&
              _NTO_TIMEOUT_REPLY == (1 << 6) && _NTO_TIMEOUT_SIGSUSPEND == (1 << 10) &&
              _NTO_TIMEOUT_SIGWAITINFO == (1 << 11) && _NTO_TIMEOUT_NANOSLEEP == (1 << 12) &&
              _NTO_TIMEOUT_MUTEX == (1 << 13) && _NTO_TIMEOUT_CONDVAR == (1 << 14) &&
              _NTO_TIMEOUT_JOIN == (1 << 15) && _NTO_TIMEOUT_INTR == (1 << 16) &&
              _NTO_TIMEOUT_SEM == (1 << 17) && _NTO_TIMEOUT_MASK == ((1 << 24) - 1) &&
              _NTO_TIMEOUT_ACTIVE == (1 << 24) && _NTO_TIMEOUT_IMMEDIATE == (1 << 25),
          "_NTO_TIMEOUT_* values");
    /* 1.8 */
    CHECK(_NTO_CHF_FIXED_PRIORITY == 0x1 && _NTO_CHF_UNBLOCK == 0x2 &&
              _NTO_CHF_THREAD_DEATH == 0x4 && _NTO_CHF_DISCONNECT == 0x8 &&
              _NTO_CHF_NET_MSG == 0x10 && _NTO_CHF_SENDER_LEN == 0x20 &&
              _NTO_CHF_COID_DISCONNECT == 0x40 && _NTO_CHF_REPLY_LEN == 0x80 &&
              _NTO_CHF_ASYNC_NONBLOCK == 0x200 && _NTO_CHF_ASYNC == 0x400 &&
              _NTO_CHF_GLOBAL == 0x800 && _NTO_CHF_PRIVATE == 0x1000,
          "_NTO_CHF_* values");
    /* 1.9 */
    CHECK(_NTO_COF_CLOEXEC == 0x1 && _NTO_COF_DEAD == 0x2 && _NTO_COF_NOSHARE == 0x40 &&
              _NTO_COF_NETCON == 0x80 && _NTO_COF_NONBLOCK == 0x100 &&
              _NTO_COF_ASYNC == 0x200 && _NTO_COF_GLOBAL == 0x400,
          "_NTO_COF_* values");
    CHECK(_NTO_SIDE_CHANNEL == 0x40000000 && _NTO_GLOBAL_CHANNEL == 0x40000000 &&
              SYSMGR_PID == 1 && SYSMGR_CHID == 1 && SYSMGR_COID == _NTO_SIDE_CHANNEL,
          "_NTO_SIDE_CHANNEL, SYSMGR_*");
    CHECK(EOK == 0, "EOK");
}

/* ------------------------------------------------------------------ 2.2 ChannelCreate */

static void channels(void) {
    static const unsigned ok_flags[] = {
        0, _NTO_CHF_FIXED_PRIORITY, _NTO_CHF_UNBLOCK, _NTO_CHF_DISCONNECT, _NTO_CHF_SENDER_LEN,
        _NTO_CHF_REPLY_LEN, _NTO_CHF_PRIVATE,
        _NTO_CHF_FIXED_PRIORITY | _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT | _NTO_CHF_SENDER_LEN |
            _NTO_CHF_REPLY_LEN};
    size_t i;
    int td, cd;
    for (i = 0; i < sizeof ok_flags / sizeof ok_flags[0]; i++) {
        int c = ChannelCreate(ok_flags[i]);
        CHECK(c >= 1, "ChannelCreate with a documented flag: a chid >= 1");
        CHECK(c < 0 || ChannelDestroy(c) == 0, "and ChannelDestroy of it");
    }
    errno = 0;
    CHECK(ChannelCreate(_NTO_CHF_NET_MSG) == -1 && errno == EPERM,
          "ChannelCreate(_NTO_CHF_NET_MSG) without root: EPERM");
    errno = KEEP;
    CHECK(ChannelCreate_r(_NTO_CHF_NET_MSG) == -EPERM && errno == KEEP,
          "ChannelCreate_r(_NTO_CHF_NET_MSG): -EPERM, errno kept");

    /* One death channel per process: THREAD_DEATH and COID_DISCONNECT share the place. */
    td = ChannelCreate(_NTO_CHF_THREAD_DEATH);
    CHECK(td > 0, "ChannelCreate(_NTO_CHF_THREAD_DEATH)");
    errno = 0;
    CHECK(ChannelCreate(_NTO_CHF_COID_DISCONNECT) == -1 && errno == EBUSY,
          "then ChannelCreate(_NTO_CHF_COID_DISCONNECT): EBUSY");
    CHECK(ChannelCreate(_NTO_CHF_THREAD_DEATH | _NTO_CHF_UNBLOCK) == -1 && errno == EBUSY,
          "and a second THREAD_DEATH channel: EBUSY");
    errno = KEEP;
    CHECK(ChannelCreate_r(_NTO_CHF_THREAD_DEATH) == -EBUSY && errno == KEEP,
          "ChannelCreate_r of a second death channel: -EBUSY");
    CHECK(ChannelDestroy(td) == 0, "destroying the death channel");
    cd = ChannelCreate(_NTO_CHF_COID_DISCONNECT);
    CHECK(cd > 0, "frees the place: ChannelCreate(_NTO_CHF_COID_DISCONNECT)");
    CHECK(ChannelDestroy(cd) == 0, "ChannelDestroy");

    /* ChannelDestroy: EINVAL for a chid that is no channel, twice destroyed included. */
    errno = 0;
    CHECK(ChannelDestroy(cd) == -1 && errno == EINVAL, "ChannelDestroy twice: EINVAL");
    CHECK(ChannelDestroy(-1) == -1 && errno == EINVAL, "ChannelDestroy(-1): EINVAL");
    errno = KEEP;
    CHECK(ChannelDestroy_r(0) == -EINVAL && errno == KEEP, "ChannelDestroy_r(0): -EINVAL");

    /* chids are the lowest free, reused. */
    {
        int a = ChannelCreate(0), b = ChannelCreate(0), c;
        CHECK(a > 0 && b > a, "two chids, increasing");
        ChannelDestroy(a);
        c = ChannelCreate(0);
        CHECK(c == a, "a destroyed chid is reused lowest-first");
        ChannelDestroy(b);
        ChannelDestroy(c);
    }
}

/* ------------------------------------------------------------------ 2.3 ConnectAttach */

static void connections(void) {
    int ch = ChannelCreate(0);
    int s1, s2, s3, f1, f2, f3, n1;
    struct _pulse p1, p2, p3;

    s1 = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    CHECK(s1 > _NTO_SIDE_CHANNEL && (s1 & _NTO_SIDE_CHANNEL),
          "a side-channel coid has 0x40000000 set (and is not SYSMGR_COID)");
    s2 = ConnectAttach(ND_LOCAL_NODE, getpid(), ch, _NTO_SIDE_CHANNEL | 7, 0);
    CHECK(s2 > _NTO_SIDE_CHANNEL && s2 != s1, "other index bits with _NTO_SIDE_CHANNEL are ignored");
    f1 = ConnectAttach(ND_LOCAL_NODE, 0, ch, 20, 0);
    CHECK(f1 >= 20 && !(f1 & _NTO_SIDE_CHANNEL), "an fd-space coid at or above index");
    f2 = ConnectAttach(ND_LOCAL_NODE, 0, ch, 20, 0);
    CHECK(f2 > 20 && f2 != f1 && !(f2 & _NTO_SIDE_CHANNEL), "the next one is the next free");
    CHECK(ConnectDetach(f1) == 0, "ConnectDetach of an fd-space coid");
    f3 = ConnectAttach(ND_LOCAL_NODE, 0, ch, 20, 0);
    CHECK(f3 == f1, "the lowest free fd-space coid at or above index is reused");

    /* Sharing: every attach from this process to (nd, pid, chid) is one connection, one scoid,
     * unless _NTO_COF_NOSHARE. */
    n1 = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE);
    CHECK(n1 > 0, "ConnectAttach(_NTO_COF_NOSHARE)");
    s3 = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, _NTO_COF_CLOEXEC);
    CHECK(s3 > 0, "ConnectAttach(_NTO_COF_CLOEXEC)");
    MsgSendPulse(s1, 10, 1, 0);
    MsgSendPulse(f2, 10, 2, 0);
    MsgSendPulse(n1, 10, 3, 0);
    CHECK(recv_pulse(ch, &p1) == 0 && recv_pulse(ch, &p2) == 0 && recv_pulse(ch, &p3) == 0,
          "three pulses through three coids");
    CHECK(p1.code == 1 && p2.code == 2 && p3.code == 3, "in the order sent (one priority)");
    CHECK(p1.scoid == p2.scoid && (p1.scoid & _NTO_SIDE_CHANNEL),
          "a side-channel and an fd-space coid to one channel share the scoid");
    CHECK(p3.scoid != p1.scoid && (p3.scoid & _NTO_SIDE_CHANNEL),
          "a _NTO_COF_NOSHARE connection has a scoid of its own");

    /* Errors. */
    errno = 0;
    CHECK(ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0x10000) == -1 &&
              errno == EINVAL,
          "ConnectAttach with an unknown flag: EINVAL");
    CHECK(ConnectAttach(ND_LOCAL_NODE, 0, ch, 100000, 0) == -1 && errno == EINVAL,
          "ConnectAttach with index beyond the fd table: EINVAL");
    CHECK(ConnectAttach(ND_LOCAL_NODE, 0x7ffffff0, ch, _NTO_SIDE_CHANNEL, 0) == -1 &&
              errno == ESRCH,
          "ConnectAttach to no such pid: ESRCH");
    CHECK(ConnectAttach(ND_LOCAL_NODE, 0, ch + 1000, _NTO_SIDE_CHANNEL, 0) == -1 &&
              errno == ESRCH,
          "ConnectAttach to no such chid: ESRCH");
    CHECK(ConnectAttach(5, 0, ch, _NTO_SIDE_CHANNEL, 0) == -1 && errno == ENOREMOTE,
          "ConnectAttach to a remote node without Qnet: ENOREMOTE");
    errno = KEEP;
    CHECK(ConnectAttach_r(ND_LOCAL_NODE, 0, ch + 1000, _NTO_SIDE_CHANNEL, 0) == -ESRCH &&
              errno == KEEP,
          "ConnectAttach_r: -ESRCH, errno kept");
    CHECK(ConnectDetach(s1) == 0 && ConnectDetach(s2) == 0 && ConnectDetach(s3) == 0 &&
              ConnectDetach(f2) == 0 && ConnectDetach(f3) == 0 && ConnectDetach(n1) == 0,
          "ConnectDetach of each");
    errno = 0;
    CHECK(ConnectDetach(s1) == -1 && errno == EINVAL, "ConnectDetach twice: EINVAL");
    CHECK(ConnectDetach(-3) == -1 && errno == EINVAL, "ConnectDetach(-3): EINVAL");
    errno = KEEP;
    CHECK(ConnectDetach_r(s1) == -EINVAL && errno == KEEP, "ConnectDetach_r: -EINVAL");
    /* A scoid is the server's, not a coid: ConnectDetach of it while linked is EINVAL. */
    {
        int c = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
        struct _pulse p;
        MsgSendPulse(c, 10, 4, 0);
        recv_pulse(ch, &p);
        errno = 0;
        CHECK(ConnectDetach(p.scoid) == -1 && errno == EINVAL,
              "ConnectDetach of a scoid still linked: EINVAL");
        CHECK(MsgSendPulse(p.scoid, 10, 1, 0) == -1 && errno == EBADF,
              "a scoid is no coid for MsgSendPulse: EBADF");
        ConnectDetach(c);
    }
    ChannelDestroy(ch);
}

/* ------------------------------------------------------------------ 1.1, 2.5, 2.7: _msg_info */

static void msg_info_fields(void) {
    int ch = ChannelCreate(0);
    int fcoid = ConnectAttach(ND_LOCAL_NODE, 0, ch, 30, 0);
    struct cl c;
    char small[4];
    char rbuf[33];
    char rest[16];
    struct _msg_info info, info2;
    int rcvid;
    ssize_t n;

    memset(rbuf, '.', sizeof rbuf);
    cl_start(&c, fcoid, 17, "0123456789", 10, rbuf, sizeof rbuf);
    memset(&info, 0x5a, sizeof info);
    rcvid = recv_bounded(ch, small, sizeof small, &info);
    CHECK(rcvid > 0, "MsgReceive: rcvid > 0 for a message");
    CHECK(info.nd == ND_LOCAL_NODE && info.srcnd == ND_LOCAL_NODE, "info nd, srcnd: 0");
    CHECK(info.pid == getpid(), "info pid: the client's");
    CHECK(info.tid == c.tid && c.tid > 1, "info tid: the client thread's tid");
    CHECK(info.chid == ch, "info chid");
    CHECK((info.scoid & _NTO_SIDE_CHANNEL) && info.scoid > _NTO_SIDE_CHANNEL,
          "info scoid: a server connection with _NTO_SIDE_CHANNEL");
    CHECK(info.coid == fcoid, "info coid: the client's fd-space coid as sent on");
    CHECK(info.msglen == 4, "info msglen: what was copied (the receive buffer's 4)");
    CHECK(info.srcmsglen == 10, "info srcmsglen: all the client sent");
    CHECK(info.dstmsglen == (ssize_t)sizeof rbuf, "info dstmsglen: the client's reply room");
    CHECK(info.priority == 17, "info priority: the client thread's");
    CHECK(info.flags == 0, "info flags: no _NTO_MI_ENDIAN_BIG/DIFF, no unblock request");
    CHECK(info.type_id == 0 && info.reserved == 0, "info type_id and reserved: 0, not left as they were");
    CHECK(memcmp(small, "0123", 4) == 0, "the first 4 bytes arrive");

    memset(&info2, 0, sizeof info2);
    CHECK(MsgInfo(rcvid, &info2) == 0, "MsgInfo");
    CHECK(info2.pid == info.pid && info2.tid == info.tid && info2.chid == info.chid &&
              info2.scoid == info.scoid && info2.coid == info.coid &&
              info2.srcmsglen == info.srcmsglen && info2.dstmsglen == info.dstmsglen &&
              info2.priority == info.priority && info2.nd == 0 && info2.srcnd == 0 &&
              info2.flags == 0,
          "MsgInfo agrees with MsgReceive's info");

    /* MsgRead: from offset, short at the end, 0 past it; client state unchanged. */
    memset(rest, 0, sizeof rest);
    n = MsgRead(rcvid, rest, sizeof rest, 4);
    CHECK(n == 6 && memcmp(rest, "456789", 6) == 0, "MsgRead at offset 4: the last 6 bytes");
    CHECK(MsgRead(rcvid, rest, sizeof rest, 10) == 0, "MsgRead at the end: 0");
    CHECK(MsgRead(rcvid, rest, sizeof rest, 1000) == 0, "MsgRead past the end: 0");
    CHECK(MsgRead(rcvid, rest, 0, 0) == 0, "MsgRead of 0 bytes: 0");
    /* MsgWrite: at offset, short at the end of the reply room, 0 past it. */
    CHECK(MsgWrite(rcvid, "WXYZ", 4, 0) == 4, "MsgWrite at 0: 4");
    CHECK(MsgWrite(rcvid, "0123456789", 10, 30) == 3, "MsgWrite near the end: short count");
    CHECK(MsgWrite(rcvid, "abc", 3, 33) == 0, "MsgWrite at the end: 0");
    CHECK(MsgWrite(rcvid, "abc", 3, 1000) == 0, "MsgWrite past the end: 0");
    CHECK(!c.done, "MsgRead/MsgWrite leave the client REPLY-blocked");
    /* The reply: 2 bytes at offset 0 over what MsgWrite left. */
    CHECK(MsgReply(rcvid, 55, "ab", 2) == 0, "MsgReply");
    cl_join(&c);
    CHECK(c.ret == 55, "MsgSend returns the reply's status");
    CHECK(memcmp(rbuf, "abYZ", 4) == 0 && memcmp(rbuf + 30, "012", 3) == 0 && rbuf[4] == '.',
          "the reply lands over MsgWrite's bytes, which stay beyond it");

    /* The rcvid is spent. */
    errno = 0;
    CHECK(MsgReply(rcvid, 0, NULL, 0) == -1 && errno == ESRCH, "MsgReply twice: ESRCH");
    CHECK(MsgError(rcvid, EIO) == -1 && errno == ESRCH, "MsgError after MsgReply: ESRCH");
    CHECK(MsgRead(rcvid, rest, 4, 0) == -1 && errno == ESRCH, "MsgRead after MsgReply: ESRCH");
    CHECK(MsgWrite(rcvid, "x", 1, 0) == -1 && errno == ESRCH, "MsgWrite after MsgReply: ESRCH");
    CHECK(MsgInfo(rcvid, &info2) == -1 && errno == ESRCH, "MsgInfo after MsgReply: ESRCH");
    CHECK(MsgCurrent(rcvid) == -1 && errno == ESRCH, "MsgCurrent after MsgReply: ESRCH");
    errno = KEEP;
    CHECK(MsgReply_r(rcvid, 0, NULL, 0) == -ESRCH && errno == KEEP, "MsgReply_r: -ESRCH");
    CHECK(MsgReplyv_r(rcvid, 0, NULL, 0) == -ESRCH && errno == KEEP, "MsgReplyv_r: -ESRCH");
    CHECK(MsgRead_r(rcvid, rest, 4, 0) == -ESRCH && errno == KEEP, "MsgRead_r: -ESRCH");
    CHECK(MsgReadv_r(rcvid, NULL, 0, 0) == -ESRCH && errno == KEEP, "MsgReadv_r: -ESRCH");
    CHECK(MsgWrite_r(rcvid, "x", 1, 0) == -ESRCH && errno == KEEP, "MsgWrite_r: -ESRCH");
    CHECK(MsgWritev_r(rcvid, NULL, 0, 0) == -ESRCH && errno == KEEP, "MsgWritev_r: -ESRCH");
    CHECK(MsgInfo_r(rcvid, &info2) == -ESRCH && errno == KEEP, "MsgInfo_r: -ESRCH");
    CHECK(MsgError_r(rcvid, EOK) == -ESRCH && errno == KEEP, "MsgError_r: -ESRCH");
    CHECK(MsgCurrent_r(rcvid) == -ESRCH && errno == KEEP, "MsgCurrent_r: -ESRCH");
    cl_free(&c);

    /* _NTO_CHF_SENDER_LEN | _NTO_CHF_REPLY_LEN: the same lengths. */
    {
        int ch2 = ChannelCreate(_NTO_CHF_SENDER_LEN | _NTO_CHF_REPLY_LEN);
        int co2 = ConnectAttach(ND_LOCAL_NODE, 0, ch2, _NTO_SIDE_CHANNEL, 0);
        char r2[7];
        cl_start(&c, co2, 0, "abcdefghij", 10, r2, sizeof r2);
        rcvid = recv_bounded(ch2, small, 2, &info);
        CHECK(rcvid > 0 && info.msglen == 2 && info.srcmsglen == 10 && info.dstmsglen == 7,
              "with SENDER_LEN|REPLY_LEN: msglen 2, srcmsglen 10, dstmsglen 7");
        /* A reply longer than the client's room: only the room is filled. */
        MsgReply(rcvid, 0, "0123456789", 10);
        cl_join(&c);
        CHECK(c.ret == 0 && memcmp(r2, "0123456", 7) == 0, "a long reply fills the room only");
        cl_free(&c);
        ConnectDetach(co2);
        ChannelDestroy(ch2);
    }

    /* A zero-length message into a zero-length buffer. */
    {
        cl_start(&c, fcoid, 0, NULL, 0, NULL, 0);
        rcvid = recv_bounded(ch, NULL, 0, &info);
        CHECK(rcvid > 0 && info.msglen == 0 && info.srcmsglen == 0 && info.dstmsglen == 0,
              "a zero-length message: rcvid, lengths 0");
        CHECK(MsgReply(rcvid, -5, NULL, 0) == 0, "MsgReply with a negative status");
        cl_join(&c);
        CHECK(c.ret == -5, "passes it through (deviations.md: MsgReply with a negative status)");
        cl_free(&c);
    }
    ConnectDetach(fcoid);
    ChannelDestroy(ch);
}

/* ------------------------------------------------------------------ 2.4-2.6 iov forms */

static void iov_forms(void) {
    int ch = ChannelCreate(0);
    int co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    struct cl c;
    iov_t siov[4], riov[4], rx[3], rp[5];
    char r0[2], r1[4], a[4], b[10];
    struct _msg_info info;
    int rcvid;

    /* A gathered send with empty parts; a scattered receive with an empty part. */
    SETIOV(&siov[0], "abc", 3);
    SETIOV(&siov[1], NULL, 0);
    SETIOV(&siov[2], "defgh", 5);
    SETIOV(&siov[3], "", 0);
    SETIOV(&riov[0], NULL, 0);
    SETIOV(&riov[1], r0, sizeof r0);
    SETIOV(&riov[2], NULL, 0);
    SETIOV(&riov[3], r1, sizeof r1);
    cl_startv(&c, co, siov, 4, riov, 4);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    SETIOV(&rx[0], a, sizeof a);
    SETIOV(&rx[1], NULL, 0);
    SETIOV(&rx[2], b, sizeof b);
    arm_rx(LONG_MS);
    rcvid = MsgReceivev(ch, rx, 3, &info);
    CHECK(rcvid > 0 && info.msglen == 8 && info.srcmsglen == 8 && info.dstmsglen == 6,
          "MsgReceivev: lengths summed over the parts, empty ones included");
    CHECK(memcmp(a, "abcd", 4) == 0 && memcmp(b, "efgh", 4) == 0,
          "the message scattered across the receive parts, skipping the empty one");
    /* A gathered reply with empty parts, longer than the client's room. */
    SETIOV(&rp[0], NULL, 0);
    SETIOV(&rp[1], "12", 2);
    SETIOV(&rp[2], "", 0);
    SETIOV(&rp[3], "3456", 4);
    SETIOV(&rp[4], "789", 3);
    CHECK(MsgReplyv(rcvid, 9, rp, 5) == 0, "MsgReplyv with empty parts");
    cl_join(&c);
    CHECK(c.ret == 9 && memcmp(r0, "12", 2) == 0 && memcmp(r1, "3456", 4) == 0,
          "the reply gathered and scattered; its tail beyond the room dropped");

    /* MsgReadv with empty parts from an offset. */
    SETIOV(&siov[0], "0123456789", 10);
    cl_startv(&c, co, siov, 1, NULL, 0);
    arm_rx(LONG_MS);
    rcvid = MsgReceive(ch, NULL, 0, &info);
    CHECK(rcvid > 0 && info.msglen == 0 && info.srcmsglen == 10,
          "a receive with no room: msglen 0, srcmsglen 10");
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    SETIOV(&rx[0], NULL, 0);
    SETIOV(&rx[1], a, 3);
    SETIOV(&rx[2], b, sizeof b);
    CHECK(MsgReadv(rcvid, rx, 3, 2) == 8 && memcmp(a, "234", 3) == 0 &&
              memcmp(b, "56789", 5) == 0,
          "MsgReadv from offset 2 over an empty part: 8 bytes");
    CHECK(MsgReadv(rcvid, rx, 3, 10) == 0, "MsgReadv at the end: 0");
    CHECK(MsgWritev(rcvid, rx, 3, 0) == 0, "MsgWritev into no reply room: 0");
    CHECK(MsgReply(rcvid, 1, "zz", 2) == 0, "MsgReply to a client with no reply room");
    cl_join(&c);
    CHECK(c.ret == 1, "the status arrives alone");

    /* MsgSendv of no parts: a zero-length message. */
    cl_startv(&c, co, NULL, 0, NULL, 0);
    rcvid = recv_bounded(ch, a, sizeof a, &info);
    CHECK(rcvid > 0 && info.msglen == 0 && info.srcmsglen == 0,
          "MsgSendv with 0 parts: a zero-length message");
    MsgReply(rcvid, 0, NULL, 0);
    cl_join(&c);

    /* MsgSendsv and MsgSendvs from the main thread to a server thread are in conformance.c;
     * here their _r forms fail as the plain ones do. */
    errno = KEEP;
    CHECK(MsgSendsv_r(_NTO_SIDE_CHANNEL | 9999, "x", 1, NULL, 0) == -EBADF && errno == KEEP,
          "MsgSendsv_r on no coid: -EBADF");
    CHECK(MsgSendvs_r(_NTO_SIDE_CHANNEL | 9999, NULL, 0, NULL, 0) == -EBADF && errno == KEEP,
          "MsgSendvs_r on no coid: -EBADF");
    CHECK(MsgSendnc_r(_NTO_SIDE_CHANNEL | 9999, NULL, 0, NULL, 0) == -EBADF && errno == KEEP,
          "MsgSendnc_r on no coid: -EBADF");
    CHECK(MsgSendvnc_r(_NTO_SIDE_CHANNEL | 9999, NULL, 0, NULL, 0) == -EBADF && errno == KEEP,
          "MsgSendvnc_r on no coid: -EBADF");
    CHECK(MsgSendsvnc_r(_NTO_SIDE_CHANNEL | 9999, NULL, 0, NULL, 0) == -EBADF && errno == KEEP,
          "MsgSendsvnc_r on no coid: -EBADF");
    CHECK(MsgSendvsnc_r(_NTO_SIDE_CHANNEL | 9999, NULL, 0, NULL, 0) == -EBADF && errno == KEEP,
          "MsgSendvsnc_r on no coid: -EBADF");
    /* Lengths whose sum overflows: EOVERFLOW ([OQ]), checked before anything moves. */
    {
        static char big[8];
        iov_t ov[2];
        SETIOV(&ov[0], big, (size_t)SSIZE_MAX / 2 + 1);
        SETIOV(&ov[1], big, (size_t)SSIZE_MAX / 2 + 1);
        arm_sr(200);
        errno = 0;
        CHECK(MsgSendv(co, ov, 2, NULL, 0) == -1 && errno == EOVERFLOW,
              "MsgSendv with lengths summing past SSIZE_MAX: EOVERFLOW");
        arm_rx(200);
        errno = 0;
        CHECK(MsgReceivev(ch, ov, 2, NULL) == -1 && errno == EOVERFLOW,
              "MsgReceivev with lengths summing past SSIZE_MAX: EOVERFLOW");
    }
    ConnectDetach(co);
    ChannelDestroy(ch);
}

/* ------------------------------------------------------------------ 2.6 MsgError */

static void msg_error(void) {
    int ch = ChannelCreate(0);
    int co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    struct cl c;
    char buf[16], rb[8];
    struct _msg_info info;
    int rcvid, rcvid2;

    /* EOK: MsgSend returns 0, no data. */
    memset(rb, '.', sizeof rb);
    cl_start(&c, co, 0, "hi", 2, rb, sizeof rb);
    rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
    CHECK(MsgError(rcvid, EOK) == 0, "MsgError(rcvid, EOK)");
    cl_join(&c);
    CHECK(c.ret == 0 && rb[0] == '.', "the client's MsgSend returns 0 and gets no data");
    cl_free(&c);

    /* An errno: -1 and that errno. */
    cl_start(&c, co, 0, "hi", 2, rb, sizeof rb);
    rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
    CHECK(MsgError(rcvid, ENOTSUP) == 0, "MsgError(rcvid, ENOTSUP)");
    cl_join(&c);
    CHECK(c.ret == -1 && c.err == ENOTSUP, "the client's MsgSend: -1, errno ENOTSUP");
    cl_free(&c);

    /* ERESTART: the client sends the same message again. */
    cl_start(&c, co, 0, "again", 6, rb, sizeof rb);
    rcvid = recv_bounded(ch, buf, sizeof buf, &info);
    CHECK(rcvid > 0 && strcmp(buf, "again") == 0, "the first send");
    CHECK(MsgError(rcvid, ERESTART) == 0, "MsgError(rcvid, ERESTART)");
    memset(buf, 0, sizeof buf);
    rcvid2 = recv_bounded(ch, buf, sizeof buf, &info);
    CHECK(rcvid2 > 0 && strcmp(buf, "again") == 0 && info.srcmsglen == 6,
          "the client re-sent the same message");
    CHECK(MsgReply(rcvid2, 3, "ok", 3) == 0, "and its reply");
    cl_join(&c);
    CHECK(c.ret == 3 && strcmp(rb, "ok") == 0, "ends the client's MsgSend");
    cl_free(&c);

    /* Negative and out-of-range errnos (deviations.md: EINVAL, the client stays). */
    cl_start(&c, co, 0, "x", 1, rb, sizeof rb);
    rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
    errno = 0;
    CHECK(MsgError(rcvid, -1) == -1 && errno == EINVAL,
          "MsgError(-1) for a client that never asked to unblock: EINVAL");
    CHECK(MsgError(rcvid, 5000) == -1 && errno == EINVAL, "MsgError(5000): EINVAL");
    CHECK(!c.done, "and the client stays REPLY-blocked");
    errno = KEEP;
    CHECK(MsgError_r(rcvid, EACCES) == 0 && errno == KEEP, "MsgError_r success: 0");
    cl_join(&c);
    CHECK(c.ret == -1 && c.err == EACCES, "the client gets EACCES");
    cl_free(&c);

    ConnectDetach(co);
    ChannelDestroy(ch);
}

/* A client for MsgSend_r: its result and errno after. */
struct rcl {
    int coid;
    long ret;
    int err;
    volatile sig_atomic_t done;
};

static void *rcl_main(void *arg) {
    struct rcl *c = (struct rcl *)arg;
    arm_sr(LONG_MS);
    errno = KEEP;
    c->ret = MsgSend_r(c->coid, "r", 1, NULL, 0);
    c->err = errno;
    c->done = 1;
    return NULL;
}

static void r_send(void) {
    int ch = ChannelCreate(0);
    int co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    struct rcl c;
    pthread_t th;
    char buf[8];
    int rcvid;

    memset(&c, 0, sizeof c);
    c.coid = co;
    pthread_create(&th, NULL, rcl_main, &c);
    errno = KEEP;
    arm_rx(LONG_MS);
    rcvid = MsgReceive_r(ch, buf, sizeof buf, NULL);
    CHECK(rcvid > 0 && errno == KEEP, "MsgReceive_r: the rcvid");
    CHECK(MsgError(rcvid, EPERM) == 0, "MsgError(EPERM)");
    pthread_join(th, NULL);
    CHECK(c.ret == -EPERM && c.err == KEEP, "MsgSend_r: -EPERM, errno kept");

    memset(&c, 0, sizeof c);
    c.coid = co;
    pthread_create(&th, NULL, rcl_main, &c);
    rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
    MsgReply(rcvid, 1234, NULL, 0);
    pthread_join(th, NULL);
    CHECK(c.ret == 1234 && c.err == KEEP, "MsgSend_r: the status");
    ConnectDetach(co);
    ChannelDestroy(ch);
}

/* ------------------------------------------------------------------ 2.8 pulses, queue order */

static void pulses(void) {
    int ch = ChannelCreate(0);
    int co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    struct _pulse p;
    struct _msg_info info, orig;
    struct cl c1, c2;
    char buf[32];
    unsigned char raw[sizeof(struct _pulse)];
    int r, old, base;
    base = getprio(0);

    /* All fields, and MsgReceive leaves info alone for a pulse. */
    CHECK(MsgSendPulse(co, 12, 100, -123456) == 0, "MsgSendPulse(prio 12, code 100)");
    memset(&info, 0x5a, sizeof info);
    memcpy(&orig, &info, sizeof info);
    memset(raw, 0xee, sizeof raw);
    arm_rx(LONG_MS);
    r = MsgReceive(ch, raw, sizeof raw, &info);
    memcpy(&p, raw, sizeof p);
    CHECK(r == 0, "MsgReceive returns 0 for a pulse");
    CHECK(p.type == 0 && p.subtype == 0 && p.code == 100 && p.value.sival_int == -123456,
          "_pulse type 0, subtype 0, code, value");
    CHECK((p.scoid & _NTO_SIDE_CHANNEL) && p.scoid > _NTO_SIDE_CHANNEL, "_pulse scoid");
    CHECK(p.zero[0] == 0 && p.zero[1] == 0 && p.zero[2] == 0, "_pulse zero[] written as 0");
    CHECK(memcmp(&info, &orig, sizeof info) == 0, "a pulse leaves _msg_info untouched");
    CHECK(getprio(0) == 12, "the receiver takes the pulse's priority");
    setprio(0, base);

    /* One queue for pulses and senders: priority order, FIFO within a priority. */
    MsgSendPulse(co, 10, 1, 0);
    cl_start(&c1, co, 10, "m10", 4, NULL, 0);
    settle();
    MsgSendPulse(co, 10, 2, 0);
    MsgSendPulse(co, 20, 3, 0);
    cl_start(&c2, co, 15, "m15", 4, NULL, 0);
    settle();
    MsgSendPulse(co, 5, 4, 0);
    MsgSendPulse(co, 20, 5, 0);
    {
        /* Expected: p3(20) p5(20) m15 p1(10) m10 p2(10) p4(5) */
        const char *want[] = {"p3", "p5", "m15", "p1", "m10", "p2", "p4"};
        int i, ok = 1;
        for (i = 0; i < 7; i++) {
            char got[8];
            memset(buf, 0, sizeof buf);
            r = recv_bounded(ch, buf, sizeof buf, NULL);
            if (r == 0) {
                memcpy(&p, buf, sizeof p);
                snprintf(got, sizeof got, "p%d", p.code);
            } else if (r > 0) {
                snprintf(got, sizeof got, "%.3s", buf);
                MsgReply(r, 0, NULL, 0);
            } else {
                snprintf(got, sizeof got, "err");
            }
            if (strcmp(got, want[i]) != 0) {
                printf("queue order: at %d got %s, want %s\n", i, got, want[i]);
                ok = 0;
            }
        }
        CHECK(ok, "pulses and messages received by priority, FIFO within a priority");
    }
    cl_join(&c1);
    cl_join(&c2);
    cl_free(&c1);
    cl_free(&c2);
    setprio(0, base);

    /* Priority -1: the sender's. */
    old = setprio(0, 33);
    CHECK(MsgSendPulse(co, -1, 6, 0) == 0, "MsgSendPulse with priority -1");
    setprio(0, old);
    CHECK(recv_pulse(ch, &p) == 0 && p.code == 6 && getprio(0) == 33,
          "priority -1 is the sender's priority (the receiver takes 33)");
    setprio(0, base);

    /* Errors (deviations.md: 0 and codes outside 0..127 are EINVAL). */
    errno = 0;
    CHECK(MsgSendPulse(co, 0, 1, 0) == -1 && errno == EINVAL, "MsgSendPulse priority 0: EINVAL");
    CHECK(MsgSendPulse(co, 256, 1, 0) == -1 && errno == EINVAL,
          "MsgSendPulse priority 256: EINVAL");
    CHECK(MsgSendPulse(co, -2, 1, 0) == -1 && errno == EINVAL,
          "MsgSendPulse priority -2: EINVAL");
    CHECK(MsgSendPulse(co, 10, 128, 0) == -1 && errno == EINVAL, "MsgSendPulse code 128: EINVAL");
    CHECK(MsgSendPulse(co, 10, _PULSE_CODE_UNBLOCK, 0) == -1 && errno == EINVAL,
          "MsgSendPulse with a kernel code: EINVAL");
    CHECK(MsgSendPulse(co, 10, _PULSE_CODE_MAXAVAIL, 0) == 0 &&
              MsgSendPulse(co, 255, _PULSE_CODE_MINAVAIL, 0) == 0 &&
              MsgSendPulse(co, 1, 0, 0) == 0,
          "codes 0 and 127, priorities 1 and 255");
    CHECK(recv_pulse(ch, &p) == 0 && p.code == 0 && recv_pulse(ch, &p) == 0 && p.code == 127 &&
              recv_pulse(ch, &p) == 0 && p.code == 0,
          "received by priority");
    setprio(0, base);
    errno = KEEP;
    CHECK(MsgSendPulse_r(co, 0, 1, 0) == -EINVAL && errno == KEEP, "MsgSendPulse_r: -EINVAL");

    /* MsgReceivePulse: messages stay queued; a short buffer loses the pulse with EFAULT. */
    cl_start(&c1, co, 0, "msg", 4, NULL, 0);
    settle();
    MsgSendPulse(co, 1, 9, 0);
    CHECK(recv_pulse(ch, &p) == 0 && p.code == 9, "MsgReceivePulse takes the pulse behind a message");
    MsgSendPulse(co, 10, 10, 0);
    arm_rx(LONG_MS);
    errno = 0;
    CHECK(MsgReceivePulse(ch, raw, sizeof(struct _pulse) - 1, NULL) == -1 && errno == EFAULT,
          "MsgReceivePulse into 23 bytes: EFAULT");
    r = recv_bounded(ch, buf, sizeof buf, NULL);
    CHECK(r > 0 && strcmp(buf, "msg") == 0, "the pulse was lost; the message is next");
    MsgReply(r, 0, NULL, 0);
    cl_join(&c1);
    cl_free(&c1);
    {
        iov_t pv[3];
        char x[10], y[6], z[10];
        MsgSendPulse(co, 10, 11, 77);
        SETIOV(&pv[0], x, sizeof x);
        SETIOV(&pv[1], y, sizeof y);
        SETIOV(&pv[2], z, sizeof z);
        arm_rx(LONG_MS);
        errno = KEEP;
        CHECK(MsgReceivePulsev_r(ch, pv, 3, NULL) == 0 && errno == KEEP,
              "MsgReceivePulsev_r: 0 for a pulse over three parts");
        memcpy(raw, x, 10);
        memcpy(raw + 10, y, 6);
        memcpy(raw + 16, z, 8);
        memcpy(&p, raw, sizeof p);
        CHECK(p.code == 11 && p.value.sival_int == 77, "the pulse scattered across the parts");
        arm_rx(LONG_MS);
        errno = KEEP;
        CHECK(MsgReceivePulse_r(ch + 1000, &p, sizeof p, NULL) == -ESRCH && errno == KEEP,
              "MsgReceivePulse_r on no channel: -ESRCH");
    }
    /* A pulse into a short MsgReceive buffer: EFAULT, lost. */
    MsgSendPulse(co, 10, 12, 0);
    arm_rx(LONG_MS);
    errno = 0;
    CHECK(MsgReceive(ch, buf, 8, NULL) == -1 && errno == EFAULT,
          "MsgReceive of a pulse into 8 bytes: EFAULT");
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    CHECK(MsgReceive(ch, buf, sizeof buf, NULL) == -1 && errno == ETIMEDOUT, "and it is gone");
    setprio(0, base);
    ConnectDetach(co);
    ChannelDestroy(ch);
}

/* ------------------------------------------------------------------ 2.11 priority */

static void priorities(void) {
    int ch = ChannelCreate(0);
    int fch = ChannelCreate(_NTO_CHF_FIXED_PRIORITY);
    int co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    int fco = ConnectAttach(ND_LOCAL_NODE, 0, fch, _NTO_SIDE_CHANNEL, 0);
    int base = getprio(0);
    struct cl a, b;
    struct _msg_info info;
    struct _pulse p;
    char buf[8];
    int ra, rb;

    setprio(0, 10);
    cl_start(&a, co, 25, "a", 2, NULL, 0);
    ra = recv_bounded(ch, buf, sizeof buf, &info);
    CHECK(ra > 0 && getprio(0) == 25, "the receiver takes the sender's priority (25)");
    /* A higher client queues while we are busy: we are boosted to it. */
    cl_start(&b, co, 40, "b", 2, NULL, 0);
    settle();
    CHECK(getprio(0) == 40, "a busy server is boosted to a queued client's priority (40)");
    MsgReply(ra, 0, NULL, 0);
    CHECK(getprio(0) >= 25, "the reply leaves the inherited priority until the next receive");
    rb = recv_bounded(ch, buf, sizeof buf, &info);
    CHECK(rb > 0 && info.priority == 40 && getprio(0) == 40, "the next receive takes 40");
    /* MsgCurrent on a lower client: take its priority, down as well. */
    {
        struct cl c;
        int rc;
        MsgReply(rb, 0, NULL, 0);
        cl_join(&b);
        cl_free(&b);
        cl_start(&c, co, 12, "c", 2, NULL, 0);
        rc = recv_bounded(ch, buf, sizeof buf, NULL);
        setprio(0, 50);
        CHECK(MsgCurrent(rc) == 0 && getprio(0) == 12, "MsgCurrent: the client's priority (12)");
        MsgReply(rc, 0, NULL, 0);
        cl_join(&c);
        cl_free(&c);
    }
    cl_join(&a);
    cl_free(&a);

    /* The priority is inherited, not the policy. */
    {
        struct cl f;
        struct sched_param sp;
        int rf, pol;
        static iov_t fs[1];
        memset(&f, 0, sizeof f);
        f.coid = co;
        f.prio = 31;
        f.fifo = 1;
        SETIOV(&fs[0], "F", 2);
        f.siov = fs;
        f.sparts = 1;
        pthread_create(&f.th, NULL, cl_main, &f);
        rf = recv_bounded(ch, buf, sizeof buf, &info);
        pol = SchedGet(0, 0, &sp);
        CHECK(rf > 0 && getprio(0) == 31 && pol == SCHED_RR,
              "a SCHED_FIFO client at 31: the server takes 31 and keeps SCHED_RR");
        MsgReply(rf, 0, NULL, 0);
        pthread_join(f.th, NULL);
    }

    /* A queued pulse boosts the busy server thread that last received on the channel. */
    setprio(0, 10);
    cl_start(&a, co, 11, "p", 2, NULL, 0);
    ra = recv_bounded(ch, buf, sizeof buf, NULL);
    CHECK(ra > 0 && getprio(0) == 11, "serving a client at 11");
    MsgSendPulse(co, 50, 20, 0);
    CHECK(getprio(0) == 50, "a pulse queued at 50 boosts the busy server to 50");
    MsgReply(ra, 0, NULL, 0);
    CHECK(recv_pulse(ch, &p) == 0 && p.code == 20 && getprio(0) == 50, "and is received at 50");
    cl_join(&a);
    cl_free(&a);

    /* _NTO_CHF_FIXED_PRIORITY: no inheritance (pulse or message), no boost; info still says. */
    setprio(0, 10);
    cl_start(&a, fco, 30, "f", 2, NULL, 0);
    ra = recv_bounded(fch, buf, sizeof buf, &info);
    CHECK(ra > 0 && getprio(0) == 10 && info.priority == 30,
          "FIXED_PRIORITY: the receiver keeps 10; info.priority is the client's 30");
    cl_start(&b, fco, 45, "g", 2, NULL, 0);
    settle();
    CHECK(getprio(0) == 10, "FIXED_PRIORITY: no server boost");
    MsgReply(ra, 0, NULL, 0);
    rb = recv_bounded(fch, buf, sizeof buf, NULL);
    MsgReply(rb, 0, NULL, 0);
    MsgSendPulse(fco, 60, 1, 0);
    CHECK(recv_pulse(fch, &p) == 0 && getprio(0) == 10, "FIXED_PRIORITY: a pulse's neither");
    {
        struct cl f;
        int rf;
        cl_start(&f, fco, 33, "m", 2, NULL, 0);
        rf = recv_bounded(fch, buf, sizeof buf, NULL);
        MsgSendPulse(fco, 70, 2, 0);
        CHECK(getprio(0) == 10, "FIXED_PRIORITY: a queued pulse boosts nobody");
        CHECK(MsgCurrent(rf) == 0 && getprio(0) == 10,
              "FIXED_PRIORITY: MsgCurrent leaves the caller's priority");
        MsgReply(rf, 0, NULL, 0);
        cl_join(&f);
        cl_free(&f);
        drain(fch);
    }
    cl_join(&a);
    cl_join(&b);
    cl_free(&a);
    cl_free(&b);
    setprio(0, base);
    ConnectDetach(co);
    ConnectDetach(fco);
    ChannelDestroy(ch);
    ChannelDestroy(fch);
}

/* ------------------------------------------------------------------ 2.9 MsgDeliverEvent */

static volatile sig_atomic_t sig_seen, sig_code, sig_value, sig_on_client;
static pthread_t sig_expect;

static void on_sig(int signo, siginfo_t *si, void *ctx) {
    (void)signo;
    (void)ctx;
    sig_code = si->si_code;
    sig_value = si->si_value.sival_int;
    sig_on_client = pthread_equal(pthread_self(), sig_expect);
    sig_seen = 1;
}

/* A client thread that sends, then waits for what the server delivers: a signal (it spins in
 * delay), or SIGEV_INTR (InterruptWait). */
struct ecl {
    int coid;
    int mode; /* 0: signal wait, 1: InterruptWait */
    int wait_ret;
    int wait_err;
    volatile sig_atomic_t sent;
    volatile sig_atomic_t done;
};

static void *ecl_main(void *arg) {
    struct ecl *c = (struct ecl *)arg;
    arm_sr(LONG_MS);
    MsgSend(c->coid, "e", 2, NULL, 0);
    c->sent = 1;
    if (c->mode == 1) {
        _Uint64t ns = LONG_MS * MS;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, NULL, &ns, NULL);
        errno = 0;
        c->wait_ret = InterruptWait(0, NULL);
        c->wait_err = errno;
    } else {
        wait_flag(&sig_seen, LONG_MS);
    }
    c->done = 1;
    return NULL;
}

static void events(void) {
    int ch = ChannelCreate(0);
    int co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    int pch = ChannelCreate(0);
    int pco = ConnectAttach(ND_LOCAL_NODE, 0, pch, _NTO_SIDE_CHANNEL, 0);
    struct sigevent ev;
    struct sigaction sa;
    struct cl c;
    struct ecl e;
    pthread_t th;
    struct _pulse p;
    char buf[8];
    int rcvid, pscoid;
    int base = getprio(0);

    /* The scoid of pco's connection as its server (pch's) sees it. */
    MsgSendPulse(pco, 10, 1, 0);
    recv_pulse(pch, &p);
    pscoid = p.scoid;
    setprio(0, base);

    /* SIGEV_PULSE to a REPLY-blocked client, priority inherited: the target's base priority. */
    cl_start(&c, co, 22, "x", 2, NULL, 0);
    rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, pco, SIGEV_PULSE_PRIO_INHERIT, 7, 99);
    CHECK(MsgVerifyEvent(rcvid, &ev) == 0, "MsgVerifyEvent of a pulse event");
    CHECK(MsgDeliverEvent(rcvid, &ev) == 0, "MsgDeliverEvent(SIGEV_PULSE) to a REPLY-blocked client");
    MsgReply(rcvid, 0, NULL, 0);
    cl_join(&c);
    setprio(0, 3);
    CHECK(recv_pulse(pch, &p) == 0 && p.code == 7 && p.value.sival_int == 99 && p.scoid == pscoid,
          "the pulse: its code, value and the event coid's scoid");
    CHECK(getprio(0) == 22, "SIGEV_PULSE_PRIO_INHERIT: the client's base priority (22)");
    setprio(0, base);
    /* The rcvid of a replied client is still good for MsgDeliverEvent ([D7]). */
    SIGEV_PULSE_INIT(&ev, pco, 15, 8, 5);
    CHECK(MsgDeliverEvent(rcvid, &ev) == 0, "MsgDeliverEvent after the reply");
    CHECK(recv_pulse(pch, &p) == 0 && p.code == 8 && getprio(0) == 15, "arrives at priority 15");
    setprio(0, base);
    cl_free(&c);
    /* The rcvid 0: the caller itself (7.x). */
    SIGEV_PULSE_INIT(&ev, pco, 10, 9, 1);
    CHECK(MsgVerifyEvent(0, &ev) == 0 && MsgDeliverEvent(0, &ev) == 0, "rcvid 0: the caller");
    CHECK(recv_pulse(pch, &p) == 0 && p.code == 9, "its pulse arrives");
    setprio(0, base);
    /* Bad events. */
    SIGEV_PULSE_INIT(&ev, _NTO_SIDE_CHANNEL | 4321, 10, 1, 0);
    errno = 0;
    CHECK(MsgDeliverEvent(0, &ev) == -1 && errno == ESRCH,
          "a pulse event on a coid the client does not have: ESRCH");
    SIGEV_PULSE_INIT(&ev, pco, 300, 1, 0);
    CHECK(MsgDeliverEvent(0, &ev) == -1 && errno == EINVAL, "a pulse priority of 300: EINVAL");
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = 0x7e;
    CHECK(MsgDeliverEvent(0, &ev) == -1 && errno == EINVAL, "an unknown event type: EINVAL");
    CHECK(MsgVerifyEvent(0, &ev) == -1 && errno == EINVAL, "MsgVerifyEvent: EINVAL too");
    errno = KEEP;
    CHECK(MsgDeliverEvent_r(0, &ev) == -EINVAL && errno == KEEP, "MsgDeliverEvent_r: -EINVAL");
    CHECK(MsgVerifyEvent_r(0, &ev) == -EINVAL && errno == KEEP, "MsgVerifyEvent_r: -EINVAL");
    CHECK(MsgDeliverEvent_r(0x7ffffff0, &ev) == -ESRCH || MsgDeliverEvent_r(0x7ffffff0, &ev) == -EINVAL,
          "MsgDeliverEvent_r on a garbage rcvid fails");
    memset(&ev, 0, sizeof ev);
    SIGEV_NONE_INIT(&ev);
    CHECK(MsgDeliverEvent(0, &ev) == 0, "SIGEV_NONE: delivered as nothing");
    {
        struct sigevent tev;
        memset(&tev, 0, sizeof tev);
        tev.sigev_notify = SIGEV_THREAD;
        errno = 0;
        CHECK(MsgDeliverEvent(0, &tev) == -1 && errno == EBUSY, "SIGEV_THREAD: EBUSY");
    }

    /* SIGEV_UNBLOCK: a REPLY-blocked client leaves with ETIMEDOUT. */
    cl_start(&c, co, 0, "u", 2, NULL, 0);
    rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
    SIGEV_UNBLOCK_INIT(&ev);
    CHECK(MsgDeliverEvent(rcvid, &ev) == 0, "MsgDeliverEvent(SIGEV_UNBLOCK)");
    cl_join(&c);
    CHECK(c.ret == -1 && c.err == ETIMEDOUT, "the client leaves with ETIMEDOUT");
    errno = 0;
    CHECK(MsgReply(rcvid, 0, NULL, 0) == -1 && errno == ESRCH, "and the later reply is ESRCH");
    cl_free(&c);

    /* SIGEV_SIGNAL_CODE and SIGEV_SIGNAL_THREAD (and plain SIGEV_SIGNAL) reach the client's thread, with code and value. */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    {
        int kind;
        for (kind = 0; kind < 3; kind++) {
            memset(&e, 0, sizeof e);
            e.coid = co;
            sig_seen = 0;
            pthread_create(&th, NULL, ecl_main, &e);
            sig_expect = th;
            rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
            MsgReply(rcvid, 0, NULL, 0);
            memset(&ev, 0, sizeof ev);
            if (kind == 0) {
                SIGEV_SIGNAL_CODE_INIT(&ev, SIGUSR2, 31, SI_MINAVAIL + 3);
            } else if (kind == 1) {
                SIGEV_SIGNAL_THREAD_INIT(&ev, SIGUSR2, 32, SI_MINAVAIL + 4);
            } else {
                SIGEV_SIGNAL_VALUE_INIT(&ev, SIGUSR2, 33);
            }
            CHECK(MsgDeliverEvent(rcvid, &ev) == 0, "MsgDeliverEvent(SIGEV_SIGNAL*)");
            pthread_join(th, NULL);
            CHECK(sig_seen && sig_code == (kind == 2 ? SI_QUEUE : SI_MINAVAIL + 3 + kind) &&
                      sig_value == 31 + kind,
                  "the handler sees the event's code (SI_QUEUE for SIGEV_SIGNAL) and value");
            CHECK(sig_on_client, "in the client's thread");
        }
    }
    /* SIGEV_SIGNAL with a code (SIGEV_SIGNAL_CODE) not in SI_MINAVAIL..SI_MAXAVAIL: EINVAL. */
    memset(&ev, 0, sizeof ev);
    SIGEV_SIGNAL_CODE_INIT(&ev, SIGUSR2, 1, 5);
    errno = 0;
    CHECK(MsgVerifyEvent(0, &ev) == -1 && errno == EINVAL, "SIGEV_SIGNAL_CODE code 5: EINVAL");
    signal(SIGUSR2, SIG_DFL);

    /* SIGEV_INTR: the client's InterruptWait returns. */
    memset(&e, 0, sizeof e);
    e.coid = co;
    e.mode = 1;
    pthread_create(&th, NULL, ecl_main, &e);
    rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
    MsgReply(rcvid, 0, NULL, 0);
    wait_flag(&e.sent, LONG_MS);
    delay(20);
    memset(&ev, 0, sizeof ev);
    SIGEV_INTR_INIT(&ev);
    CHECK(MsgDeliverEvent(rcvid, &ev) == 0, "MsgDeliverEvent(SIGEV_INTR)");
    pthread_join(th, NULL);
    CHECK(e.wait_ret == 0, "the client's InterruptWait returns 0");

    ConnectDetach(co);
    ConnectDetach(pco);
    ChannelDestroy(ch);
    ChannelDestroy(pch);
    setprio(0, base);
}

/* ------------------------------------------------------------------ 2.13 TimerTimeout */

static volatile sig_atomic_t alrm_seen;
static void on_alrm(int signo) {
    (void)signo;
    alrm_seen = 1;
}

static void *alarm_in_100ms(void *arg) {
    pthread_t target = *(pthread_t *)arg;
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    pthread_kill(target, SIGALRM);
    return NULL;
}

static void timeouts(void) {
    int ch = ChannelCreate(0);
    int co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    _Uint64t ns, left;
    char buf[8];
    long long t0;
    int r;
    struct cl c;

    /* The result: the flags armed before. */
    TimerTimeout(CLOCK_MONOTONIC, 0, NULL, NULL, NULL);
    ns = LONG_MS * MS;
    r = TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    CHECK(r == 0, "TimerTimeout with nothing armed: 0");
    r = TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    CHECK(r == _NTO_TIMEOUT_RECEIVE, "TimerTimeout returns the flags armed before");
    errno = KEEP;
    r = TimerTimeout_r(CLOCK_MONOTONIC, 0, NULL, NULL, NULL);
    CHECK(r == (_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY) && errno == KEEP,
          "TimerTimeout_r: the flags before, errno kept");
    errno = KEEP;
    CHECK(TimerTimeout_r(12345, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL) == -EINVAL && errno == KEEP,
          "TimerTimeout_r with a bad clock: -EINVAL");
    errno = 0;
    CHECK(TimerTimeout(12345, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL) == -1 && errno == EINVAL,
          "TimerTimeout with a bad clock: EINVAL");

    /* NULL ntime: an immediate timeout only for a call that would block. */
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    t0 = now_ms();
    errno = 0;
    CHECK(MsgReceive(ch, buf, sizeof buf, NULL) == -1 && errno == ETIMEDOUT && now_ms() - t0 < 500,
          "NULL ntime: MsgReceive fails at once with ETIMEDOUT");
    MsgSendPulse(co, 10, 1, 0);
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    {
        struct _pulse pp;
        CHECK(MsgReceive(ch, &pp, sizeof pp, NULL) == 0 && pp.code == 1,
              "but takes what is queued");
    }
    /* One-shot: spent by the call, so the next call is unbounded (not tested by blocking);
     * spent even by a call that does not block. */
    ns = 50 * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    MsgSendPulse(co, 10, 2, 0); /* spends it */
    CHECK(TimerTimeout(CLOCK_MONOTONIC, 0, NULL, NULL, NULL) == 0,
          "a non-blocking call spends the arming");
    drain(ch);
    /* Flags for other states do not bound the call. */
    ns = 30 * MS;
    cl_start(&c, co, 0, "late", 5, NULL, 0);
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, NULL, &ns, NULL);
    r = MsgReceive(ch, buf, sizeof buf, NULL); /* a client is there: returns */
    CHECK(r > 0, "a receive armed for SEND only is not bounded by it (got the message)");
    MsgReply(r, 0, NULL, 0);
    cl_join(&c);
    cl_free(&c);
    /* An absolute deadline in the past, TIMER_ABSTIME as <time.h>'s 1. */
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ns = (_Uint64t)ts.tv_sec * 1000000000ULL + (_Uint64t)ts.tv_nsec - 1000000ULL;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, NULL, &ns, NULL);
        t0 = now_ms();
        errno = 0;
        CHECK(MsgReceive(ch, buf, sizeof buf, NULL) == -1 && errno == ETIMEDOUT &&
                  now_ms() - t0 < 500,
              "a TIMER_ABSTIME deadline already past: ETIMEDOUT at once");
        clock_gettime(CLOCK_REALTIME, &ts);
        ns = (_Uint64t)ts.tv_sec * 1000000000ULL + (_Uint64t)ts.tv_nsec + 80 * MS;
        TimerTimeout(CLOCK_REALTIME, _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, NULL, &ns, NULL);
        t0 = now_ms();
        CHECK(MsgReceive(ch, buf, sizeof buf, NULL) == -1 && errno == ETIMEDOUT &&
                  now_ms() - t0 >= 70,
              "an absolute CLOCK_REALTIME deadline 80 ms ahead: ETIMEDOUT after it");
    }
    /* A relative timeout: not before its time. */
    ns = 80 * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    t0 = now_ms();
    CHECK(MsgReceive(ch, buf, sizeof buf, NULL) == -1 && errno == ETIMEDOUT &&
              now_ms() - t0 >= 75,
          "a relative 80 ms receive timeout");
    /* SEND only: does not bound the REPLY state. */
    {
        struct cl s;
        memset(&s, 0, sizeof s);
        cl_start(&s, co, 0, "s", 2, NULL, 0);
        /* (cl_start armed SEND|REPLY for LONG_MS; use a fresh client with SEND only.) */
        r = recv_bounded(ch, buf, sizeof buf, NULL);
        MsgReply(r, 0, NULL, 0);
        cl_join(&s);
        cl_free(&s);
        memset(&s, 0, sizeof s);
        s.coid = co;
        s.tflags = _NTO_TIMEOUT_SEND;
        s.tmo_ms = 40;
        s.siov = one_s;
        s.sparts = 1;
        SETIOV(&one_s[0], "t", 2);
        pthread_create(&s.th, NULL, cl_main, &s);
        r = recv_bounded(ch, buf, sizeof buf, NULL);
        delay(120);
        CHECK(!s.done, "a SEND-only timeout does not bound the REPLY-blocked client");
        MsgReply(r, 4, NULL, 0);
        pthread_join(s.th, NULL);
        CHECK(s.ret == 4, "it gets the late reply");
        /* REPLY only with nobody receiving: SEND-blocked unbounded; here bounded by SEND. */
        memset(&s, 0, sizeof s);
        s.coid = co;
        s.tflags = _NTO_TIMEOUT_SEND;
        s.tmo_ms = 40;
        s.siov = one_s;
        s.sparts = 1;
        pthread_create(&s.th, NULL, cl_main, &s);
        pthread_join(s.th, NULL);
        CHECK(s.ret == -1 && s.err == ETIMEDOUT && s.took_ms >= 35,
              "a SEND-blocked client times out (SEND)");
    }

    /* _NTO_TIMEOUT_NANOSLEEP: sleeps; a signal ends it with EINTR and otime the time left. */
    ns = 60 * MS;
    left = 12345;
    t0 = now_ms();
    r = TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_NANOSLEEP, NULL, &ns, &left);
    CHECK(r == 0 && now_ms() - t0 >= 55, "NANOSLEEP: sleeps its time, returns 0");
    {
        struct sigaction sa;
        pthread_t th, me = pthread_self();
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alrm;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        alrm_seen = 0;
        pthread_create(&th, NULL, alarm_in_100ms, &me);
        ns = 1000 * MS;
        left = 0;
        t0 = now_ms();
        errno = 0;
        r = TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_NANOSLEEP, NULL, &ns, &left);
        CHECK(r == -1 && errno == EINTR && alrm_seen, "NANOSLEEP ended by a signal: EINTR");
        CHECK(left > 700 * MS && left <= 1000 * MS, "otime: the time that was left");
        CHECK(now_ms() - t0 < 700, "ended early");
        pthread_join(th, NULL);
        signal(SIGALRM, SIG_DFL);
    }
    ConnectDetach(co);
    ChannelDestroy(ch);
}

/* ------------------------------------------------------------------ 2.10 unblock protocol */

static void unblock(void) {
    int ch = ChannelCreate(_NTO_CHF_UNBLOCK);
    int co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    struct cl c;
    struct _msg_info info, i2;
    struct _pulse p;
    char buf[32];
    int rcvid, r;
    int base = getprio(0);

    memset(&c, 0, sizeof c);
    c.coid = co;
    c.prio = 19;
    c.tflags = _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY;
    c.tmo_ms = 50;
    c.siov = one_s;
    c.sparts = 1;
    SETIOV(&one_s[0], "ub", 3);
    pthread_create(&c.th, NULL, cl_main, &c);
    rcvid = recv_bounded(ch, buf, sizeof buf, &info);
    CHECK(rcvid > 0 && (info.flags & _NTO_MI_UNBLOCK_REQ) == 0, "received; no unblock request yet");
    r = recv_bounded(ch, buf, sizeof buf, NULL);
    memcpy(&p, buf, sizeof p);
    CHECK(r == 0 && p.code == _PULSE_CODE_UNBLOCK, "the client's timeout: _PULSE_CODE_UNBLOCK");
    CHECK(p.value.sival_int == rcvid, "its value is the rcvid");
    CHECK(p.scoid == info.scoid, "its scoid is the client's connection");
    CHECK(getprio(0) == 19, "at the client's priority");
    CHECK(MsgInfo(rcvid, &i2) == 0 && (i2.flags & _NTO_MI_UNBLOCK_REQ),
          "MsgInfo now shows _NTO_MI_UNBLOCK_REQ");
    delay(50);
    CHECK(!c.done, "the client stays REPLY-blocked");
    CHECK(MsgError(rcvid, -1) == 0, "MsgError(rcvid, -1): pass on the kernel's reason");
    pthread_join(c.th, NULL);
    CHECK(c.ret == -1 && c.err == ETIMEDOUT, "the client gets ETIMEDOUT");
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    CHECK(MsgReceive(ch, buf, sizeof buf, NULL) == -1 && errno == ETIMEDOUT,
          "only one unblock pulse was queued");
    setprio(0, base);

    /* A reply before the unblock pulse is received removes the pulse; the reply stands. */
    memset(&c, 0, sizeof c);
    c.coid = co;
    c.tflags = _NTO_TIMEOUT_REPLY;
    c.tmo_ms = 30;
    c.siov = one_s;
    c.sparts = 1;
    c.riov = one_r;
    c.rparts = 1;
    SETIOV(&one_r[0], buf, 4);
    pthread_create(&c.th, NULL, cl_main, &c);
    {
        char b2[8];
        rcvid = recv_bounded(ch, b2, sizeof b2, NULL);
        delay(100);
        CHECK(MsgReply(rcvid, 8, "ok!", 4) == 0, "replying to a client that asked to unblock");
        pthread_join(c.th, NULL);
        CHECK(c.ret == 8 && strcmp(buf, "ok!") == 0, "the reply stands");
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
        CHECK(MsgReceive(ch, b2, sizeof b2, NULL) == -1 && errno == ETIMEDOUT,
              "and the queued unblock pulse went with it");
    }
    /* A SEND-blocked client on an UNBLOCK channel leaves at once, no pulse. */
    memset(&c, 0, sizeof c);
    c.coid = co;
    c.tflags = _NTO_TIMEOUT_SEND;
    c.tmo_ms = 30;
    c.siov = one_s;
    c.sparts = 1;
    pthread_create(&c.th, NULL, cl_main, &c);
    pthread_join(c.th, NULL);
    CHECK(c.ret == -1 && c.err == ETIMEDOUT, "SEND-blocked: leaves with ETIMEDOUT");
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    CHECK(MsgReceive(ch, buf, sizeof buf, NULL) == -1 && errno == ETIMEDOUT,
          "and the server hears nothing");
    setprio(0, base);
    ConnectDetach(co);
    ChannelDestroy(ch);

    /* Without the flag: a REPLY-blocked client leaves; the late reply is ESRCH. */
    ch = ChannelCreate(0);
    co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    memset(&c, 0, sizeof c);
    c.coid = co;
    c.tflags = _NTO_TIMEOUT_REPLY;
    c.tmo_ms = 30;
    c.siov = one_s;
    c.sparts = 1;
    pthread_create(&c.th, NULL, cl_main, &c);
    rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
    pthread_join(c.th, NULL);
    CHECK(c.ret == -1 && c.err == ETIMEDOUT, "no UNBLOCK flag: the client leaves at its timeout");
    errno = 0;
    CHECK(MsgReply(rcvid, 0, NULL, 0) == -1 && errno == ESRCH, "the late reply: ESRCH");
    CHECK(MsgInfo(rcvid, &i2) == -1 && errno == ESRCH, "MsgInfo of it: ESRCH");
    ConnectDetach(co);
    ChannelDestroy(ch);
}

/* ------------------------------------------------------------------ 2.2/2.3/2.12 teardown */

static void *receiver_main(void *arg) {
    int *a = (int *)arg; /* a[0] chid in, a[1] result, a[2] errno */
    char b[8];
    arm_rx(LONG_MS);
    a[1] = MsgReceive(a[0], b, sizeof b, NULL);
    a[2] = errno;
    return NULL;
}

static int dc_coid;
static volatile sig_atomic_t dc_phase;

/* Sends once, detaches its coid, and waits (alive) until told. */
static void *detaching_client(void *arg) {
    (void)arg;
    arm_sr(LONG_MS);
    MsgSend(dc_coid, "d", 2, NULL, 0);
    ConnectDetach(dc_coid);
    dc_phase = 1;
    while (dc_phase != 2) {
        delay(2);
    }
    return NULL;
}

static void teardown(void) {
    int dch = ChannelCreate(_NTO_CHF_COID_DISCONNECT);
    int ch = ChannelCreate(0);
    int co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    int co_fd = ConnectAttach(ND_LOCAL_NODE, 0, ch, 40, 0);
    struct cl sb, rbl;
    struct _pulse p;
    char buf[8];
    int rcvid, got_side = 0, got_fd = 0, i;
    int ra[3];
    pthread_t rt;
    int base = getprio(0);

    CHECK(dch > 0, "a COID_DISCONNECT channel");
    /* One REPLY-blocked, one SEND-blocked client, and a RECEIVE-blocked thread. */
    cl_start(&rbl, co, 0, "r", 2, NULL, 0);
    rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
    cl_start(&sb, co_fd, 0, "s", 2, NULL, 0);
    settle();
    CHECK(ChannelDestroy(ch) == 0, "ChannelDestroy with blocked clients");
    cl_join(&rbl);
    cl_join(&sb);
    CHECK(rbl.ret == -1 && rbl.err == ESRCH, "a REPLY-blocked client: ESRCH");
    CHECK(sb.ret == -1 && sb.err == ESRCH, "a SEND-blocked client: ESRCH");
    errno = 0;
    CHECK(MsgReply(rcvid, 0, NULL, 0) == -1 && errno == ESRCH, "the server's late reply: ESRCH");
    cl_free(&rbl);
    cl_free(&sb);
    errno = 0;
    CHECK(MsgSend(co, "x", 2, NULL, 0) == -1 && errno == EBADF,
          "a coid of the destroyed channel: MsgSend EBADF");
    CHECK(MsgSendPulse(co_fd, 10, 1, 0) == -1 && errno == EBADF, "MsgSendPulse EBADF");
    for (i = 0; i < 2; i++) {
        if (recv_pulse(dch, &p) == 0 && p.code == _PULSE_CODE_COIDDEATH) {
            if (p.value.sival_int == co) {
                got_side = 1;
            }
            if (p.value.sival_int == co_fd) {
                got_fd = 1;
            }
            CHECK(p.scoid == -1, "a COIDDEATH pulse's scoid: -1");
        }
    }
    CHECK(got_side && got_fd, "_PULSE_CODE_COIDDEATH for each coid, value the coid");
    CHECK(ConnectDetach(co) == 0 && ConnectDetach(co_fd) == 0,
          "the coids stay ours until ConnectDetach");
    setprio(0, base);

    /* A RECEIVE-blocked thread. */
    ch = ChannelCreate(0);
    ra[0] = ch;
    ra[1] = 77;
    pthread_create(&rt, NULL, receiver_main, ra);
    settle();
    ChannelDestroy(ch);
    pthread_join(rt, NULL);
    CHECK(ra[1] == -1 && ra[2] == ESRCH, "a RECEIVE-blocked thread: ESRCH");
    CHECK(ChannelDestroy(dch) == 0, "ChannelDestroy of the death channel");

    /* ConnectDetach with another thread REPLY-blocked on the coid: EBADF; DISCONNECT pulse. */
    ch = ChannelCreate(_NTO_CHF_DISCONNECT);
    co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    cl_start(&rbl, co, 0, "d", 2, NULL, 0);
    {
        struct _msg_info info;
        struct _client_info ci;
        rcvid = recv_bounded(ch, buf, sizeof buf, &info);
        CHECK(ConnectDetach(co) == 0, "ConnectDetach with a thread REPLY-blocked on it");
        cl_join(&rbl);
        CHECK(rbl.ret == -1 && rbl.err == EBADF, "that thread: EBADF");
        errno = 0;
        CHECK(MsgReply(rcvid, 0, NULL, 0) == -1 && errno == ESRCH, "the server's reply: ESRCH");
        CHECK(recv_pulse(ch, &p) == 0 && p.code == _PULSE_CODE_DISCONNECT,
              "the last link gone: _PULSE_CODE_DISCONNECT");
        CHECK(p.scoid == info.scoid && p.value.sival_int == 0,
              "its scoid the connection's, its value 0");
        CHECK(ConnectClientInfo(p.scoid, &ci, 0) == 0 && ci.pid == getpid(),
              "the held scoid still names the client");
        CHECK(ConnectDetach(p.scoid) == 0, "the server's ConnectDetach(scoid)");
        errno = 0;
        CHECK(ConnectDetach(p.scoid) == -1 && errno == EINVAL, "twice: EINVAL");
        CHECK(ConnectClientInfo(p.scoid, &ci, 0) == -1 && errno == EINVAL,
              "ConnectClientInfo of the freed scoid: EINVAL");
        errno = KEEP;
        CHECK(ConnectClientInfo_r(p.scoid, &ci, 0) == -EINVAL && errno == KEEP,
              "ConnectClientInfo_r: -EINVAL");
    }
    cl_free(&rbl);
    setprio(0, base);

    /* ConnectDetach with a sibling SEND-blocked on the coid: EBADF. And MsgDeliverEvent to a
     * client whose connection is gone: EBADF. */
    co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    {
        int pch = ChannelCreate(0);
        int pco = ConnectAttach(ND_LOCAL_NODE, 0, pch, _NTO_SIDE_CHANNEL, 0);
        struct sigevent ev;
        pthread_t dt;
        cl_start(&rbl, co, 0, "e", 2, NULL, 0);
        rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
        MsgReply(rcvid, 0, NULL, 0);
        cl_join(&rbl);
        cl_free(&rbl);
        cl_start(&sb, co, 0, "q", 2, NULL, 0);
        settle();
        CHECK(ConnectDetach(co) == 0, "ConnectDetach with a sibling SEND-blocked on it");
        cl_join(&sb);
        CHECK(sb.ret == -1 && sb.err == EBADF, "the SEND-blocked sibling: EBADF");
        cl_free(&sb);
        memset(&ev, 0, sizeof ev);
        SIGEV_PULSE_INIT(&ev, pco, 10, 3, 0);
        errno = 0;
        CHECK(MsgDeliverEvent(rcvid, &ev) == -1 && errno == ESRCH,
              "MsgDeliverEvent to a client thread that exited, its connection gone: ESRCH");
        /* A live client thread that detached the connection its message came through. */
        drain(ch);
        dc_coid = co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
        dc_phase = 0;
        pthread_create(&dt, NULL, detaching_client, NULL);
        rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
        MsgReply(rcvid, 0, NULL, 0);
        wait_flag(&dc_phase, LONG_MS);
        errno = 0;
        CHECK(MsgDeliverEvent(rcvid, &ev) == -1 && errno == EBADF,
              "MsgDeliverEvent to a live client that detached its connection: EBADF");
        dc_phase = 2;
        pthread_join(dt, NULL);
        drain(ch);
        ConnectDetach(pco);
        ChannelDestroy(pch);
        drain(ch);
    }
    setprio(0, base);
    ChannelDestroy(ch);

    /* ConnectDetach of the coid of a thread REPLY-blocked on an UNBLOCK channel: the server is
     * asked to unblock; the thread leaves with EBADF once answered. */
    ch = ChannelCreate(_NTO_CHF_UNBLOCK);
    co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    cl_start(&rbl, co, 0, "h", 2, NULL, 0);
    rcvid = recv_bounded(ch, buf, sizeof buf, NULL);
    CHECK(ConnectDetach(co) == 0, "ConnectDetach (UNBLOCK channel)");
    CHECK(recv_pulse(ch, &p) == 0 && p.code == _PULSE_CODE_UNBLOCK && p.value.sival_int == rcvid,
          "the server gets _PULSE_CODE_UNBLOCK");
    delay(30);
    CHECK(!rbl.done, "the thread waits for the answer");
    CHECK(MsgReply(rcvid, 0, NULL, 0) == 0, "the server answers");
    cl_join(&rbl);
    CHECK(rbl.ret == -1 && rbl.err == EBADF, "the thread then gets EBADF");
    cl_free(&rbl);
    setprio(0, base);
    ChannelDestroy(ch);
}

/* ------------------------------------------------------------------ 2.12 thread death */

static void *exit_at_once(void *arg) {
    *(int *)arg = gettid();
    return NULL;
}

static void thread_death(void) {
    int ch = ChannelCreate(_NTO_CHF_THREAD_DEATH);
    int tid = 0;
    pthread_t th;
    struct _pulse p;
    int base = getprio(0);
    pthread_create(&th, NULL, exit_at_once, &tid);
    pthread_join(th, NULL);
    CHECK(recv_pulse(ch, &p) == 0 && p.code == _PULSE_CODE_THREADDEATH,
          "a thread's death: _PULSE_CODE_THREADDEATH");
    CHECK(p.value.sival_int == tid && tid > 1, "its value the thread's tid");
    CHECK(p.scoid == -1 && p.type == 0 && p.subtype == 0, "scoid -1");
    drain(ch);
    ChannelDestroy(ch);
    setprio(0, base);
}

/* ------------------------------------------------------------------ connection info */

static void connect_info(void) {
    int ch = ChannelCreate(0);
    int co = ConnectAttach(ND_LOCAL_NODE, 0, ch, _NTO_SIDE_CHANNEL, 0);
    struct _server_info si;
    struct _client_info ci;
    struct _pulse p;
    int r;
    int base = getprio(0);

    MsgSendPulse(co, 10, 1, 0);
    recv_pulse(ch, &p);
    setprio(0, base);
    memset(&si, 0x5a, sizeof si);
    r = ConnectServerInfo(0, co, &si);
    CHECK(r == co, "ConnectServerInfo(0, coid): that coid");
    CHECK(si.nd == ND_LOCAL_NODE && si.pid == getpid() && si.chid == ch && si.scoid == p.scoid &&
              si.coid == co,
          "its nd, pid (the server's), chid, scoid, coid");
    memset(&ci, 0x5a, sizeof ci);
    CHECK(ConnectClientInfo(p.scoid, &ci, NGROUPS_MAX_QNX) == 0, "ConnectClientInfo(scoid)");
    CHECK(ci.nd == ND_LOCAL_NODE && ci.pid == getpid() && ci.cred.euid == geteuid() &&
              ci.cred.ruid == getuid() && ci.cred.egid == getegid() &&
              ci.cred.ngroups <= NGROUPS_MAX_QNX,
          "the client's nd, pid and ids");
    errno = KEEP;
    CHECK(ConnectServerInfo_r(0x7ffffff0, 0, &si) == -ESRCH && errno == KEEP,
          "ConnectServerInfo_r of no process: -ESRCH");
    CHECK(ConnectFlags_r(0, co, _NTO_COF_NOSHARE, 0) == -ENOTSUP && errno == KEEP,
          "ConnectFlags_r of a flag it cannot change: -ENOTSUP");
    CHECK(ConnectFlags(0, co, _NTO_COF_CLOEXEC, _NTO_COF_CLOEXEC) == 0 &&
              ConnectFlags(0, co, 0, 0) == _NTO_COF_CLOEXEC,
          "ConnectFlags sets _NTO_COF_CLOEXEC and returns the flags as they were");
    ConnectDetach(co);
    ChannelDestroy(ch);
}

/* ------------------------------------------------------------------ receive errors */

static void receive_errors(void) {
    char buf[8];
    int ch = ChannelCreate(0);
    errno = 0;
    arm_rx(200);
    CHECK(MsgReceive(ch + 1000, buf, sizeof buf, NULL) == -1 && errno == ESRCH,
          "MsgReceive on no channel: ESRCH");
    arm_rx(200);
    CHECK(MsgReceive(-1, buf, sizeof buf, NULL) == -1 && errno == ESRCH,
          "MsgReceive(-1): ESRCH (deviations.md)");
    arm_rx(200);
    errno = KEEP;
    CHECK(MsgReceivev_r(ch + 1000, NULL, 0, NULL) == -ESRCH && errno == KEEP,
          "MsgReceivev_r on no channel: -ESRCH");
    errno = 0;
    CHECK(MsgSend(_NTO_SIDE_CHANNEL | 4444, "x", 2, NULL, 0) == -1 && errno == EBADF,
          "MsgSend on no coid: EBADF");
    CHECK(MsgSendv(12345, NULL, 0, NULL, 0) == -1 && errno == EBADF,
          "MsgSendv on no fd-space coid: EBADF");
    ChannelDestroy(ch);
}

int main(void) {
    setprio(0, 10);
    constants();
    channels();
    connections();
    msg_info_fields();
    iov_forms();
    msg_error();
    r_send();
    pulses();
    priorities();
    events();
    timeouts();
    unblock();
    teardown();
    thread_death();
    connect_info();
    receive_errors();
    return SUMMARY();
}
