/*
 * conformance.c: QNX Neutrino's documented results, one check each, for a threaded C (and
 * C++) program on its own simulated kernel (QNXSIM_KERNEL unset): send/receive/reply in every
 * buffer form, MsgRead/MsgWrite at offsets, MsgInfo, MsgError, pulses, events, timers that
 * deliver pulses and signals, kernel timeouts, the unblock and disconnect pulses, the errors
 * and their errno values, the _r forms, and the small QNX extras (ThreadCtl, delay,
 * getprio/setprio, gettid, pthread_create with a NULL thread).
 *
 * No call may block forever: every receive and send that could wait is armed with
 * TimerTimeout first, and every helper thread bounds its own.
 */
#include <errno.h>
#include <pthread.h>
#include <process.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <sys/siginfo.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ------------------------------------------------------------------ helpers */

#define MS 1000000ULL
/* The bound on any call that should not block for long. */
#define LONG_MS 5000

/* Arms a kernel timeout of ms milliseconds for the next call's receive. */
static void arm_rx(unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
}

/* Arms a kernel timeout of ms milliseconds for the next call's send and reply. */
static void arm_sr(unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits (at most ms milliseconds) until *flag is set. */
static int wait_flag(volatile sig_atomic_t *flag, int ms) {
    long long until = now_ms() + ms;
    while (!*flag && now_ms() < until) {
        delay(2);
    }
    return *flag != 0;
}

/* ------------------------------------------------------------------ the server thread */

/* Requests to the server thread: a header, then a body. Types from _IO_MAX + 1. */
enum {
    T_ECHO = _IO_MAX + 1, /* reply the body's first arg bytes; status = msglen */
    T_WRITE,              /* MsgWrite/MsgWritev at offsets, then a 4-byte reply */
    T_READ,               /* MsgRead/MsgReadv at offsets of a long message */
    T_REPLYV,             /* a two-part reply */
    T_ERROR,              /* MsgError(rcvid, arg) */
    T_INFO,               /* MsgInfo(rcvid) */
    T_UPPER,              /* the body upper-cased, from the same buffer */
    T_EVENT,              /* the body is a struct sigevent: verify, reply, deliver */
    T_HOLD,               /* keep the rcvid, reply never */
    T_STALE,              /* reply, read, info on the held (stale) rcvid */
    T_PRIO,               /* the server's priority while it serves */
    T_QUIT
};

struct hdr {
    _Uint16t type;
    _Uint16t subtype;
    _Int32t arg;
};

#define BODY 120

static int chid;                 /* the server thread's channel */
static struct _msg_info s_info;  /* what MsgReceivev said for the last request */
static struct _msg_info s_info2; /* what MsgInfo said (T_INFO) */
static int s_msginfo_ret;
static int s_tid;                  /* the server thread's gettid() */
static struct hdr s_hdr;           /* the last request's header (MsgReceivev's first part) */
static ssize_t s_read_all, s_read_tail, s_read_end, s_readv;
static int s_read_ok, s_readv_ok;
static ssize_t s_write, s_writev;
static int s_verify, s_verify_bad, s_verify_bad_errno, s_deliver;
static rcvid_t s_held;
static int s_stale_reply, s_stale_reply_errno, s_stale_read_errno, s_stale_info_errno;
static int s_prio;
static int s_reply_r;

static void *server(void *arg) {
    struct hdr h;
    char body[BODY];
    iov_t riov[2];
    sigset_t timer_signals;
    (void)arg;
    /* The timers' signals are for main (a signal would interrupt a receive: EINTR). */
    sigemptyset(&timer_signals);
    sigaddset(&timer_signals, SIGUSR1);
    sigaddset(&timer_signals, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &timer_signals, NULL);
    s_tid = gettid();
    for (;;) {
        rcvid_t rcvid;
        SETIOV(&riov[0], &h, sizeof h);
        SETIOV(&riov[1], body, sizeof body);
        arm_rx(10000);
        rcvid = MsgReceivev(chid, riov, 2, &s_info);
        if (rcvid == -1 && errno == EINTR) {
            continue;
        }
        if (rcvid == -1) {
            return NULL; /* timed out: main is gone or stuck */
        }
        if (rcvid == 0) {
            continue; /* a pulse */
        }
        s_hdr = h;
        switch (h.type) {
        case T_ECHO:
            MsgReply(rcvid, (long)s_info.msglen, body, (size_t)h.arg);
            break;
        case T_WRITE: {
            iov_t w[2];
            s_write = MsgWrite(rcvid, "BB", 2, 4);
            SETIOV(&w[0], "CC", 2);
            SETIOV(&w[1], "DD", 2);
            s_writev = MsgWritev(rcvid, w, 2, 6);
            MsgReply(rcvid, 0, "AAAA", 4);
            break;
        }
        case T_READ: {
            static char all[512];
            char tail[64], a[10], b[10];
            iov_t r[2];
            int i;
            s_read_all = MsgRead(rcvid, all, sizeof all, 0);
            s_read_ok = memcmp(all, &h, sizeof h) == 0;
            for (i = 0; i < 200; i++) {
                s_read_ok &= all[sizeof h + (size_t)i] == (char)(i * 7);
            }
            s_read_tail = MsgRead(rcvid, tail, sizeof tail, sizeof h + 190);
            s_read_ok &= memcmp(tail, all + sizeof h + 190, 10) == 0;
            s_read_end = MsgRead(rcvid, tail, sizeof tail, sizeof h + 200);
            SETIOV(&r[0], a, sizeof a);
            SETIOV(&r[1], b, sizeof b);
            s_readv = MsgReadv(rcvid, r, 2, sizeof h + 50);
            s_readv_ok = memcmp(a, all + sizeof h + 50, 10) == 0 &&
                         memcmp(b, all + sizeof h + 60, 10) == 0;
            MsgReply(rcvid, (long)s_read_all, NULL, 0);
            break;
        }
        case T_REPLYV: {
            iov_t w[2];
            SETIOV(&w[0], "hello, ", 7);
            SETIOV(&w[1], "world", 6);
            MsgReplyv(rcvid, 13, w, 2);
            break;
        }
        case T_ERROR:
            MsgError(rcvid, h.arg);
            break;
        case T_INFO:
            s_msginfo_ret = MsgInfo(rcvid, &s_info2);
            MsgReply(rcvid, 0, NULL, 0);
            break;
        case T_UPPER: {
            int i;
            for (i = 0; i < h.arg && i < BODY; i++) {
                if (body[i] >= 'a' && body[i] <= 'z') {
                    body[i] = (char)(body[i] - 'a' + 'A');
                }
            }
            MsgReply(rcvid, h.arg, body, (size_t)h.arg);
            break;
        }
        case T_EVENT: {
            struct sigevent ev, bad;
            memcpy(&ev, body, sizeof ev);
            s_verify = MsgVerifyEvent(rcvid, &ev);
            bad = ev;
            bad.sigev_notify = 0x7e;
            errno = 0;
            s_verify_bad = MsgVerifyEvent(rcvid, &bad);
            s_verify_bad_errno = errno;
            MsgReply(rcvid, 0, NULL, 0);
            /* After the reply, as QNX servers do: the rcvid need not be REPLY-blocked. */
            s_deliver = MsgDeliverEvent(rcvid, &ev);
            break;
        }
        case T_HOLD:
            s_held = rcvid;
            break;
        case T_STALE: {
            char x[4];
            struct _msg_info i;
            errno = 0;
            s_stale_reply = MsgReply(s_held, 0, "no", 2);
            s_stale_reply_errno = errno;
            errno = 0;
            MsgRead(s_held, x, sizeof x, 0);
            s_stale_read_errno = errno;
            errno = 0;
            MsgInfo(s_held, &i);
            s_stale_info_errno = errno;
            s_reply_r = MsgReply_r(s_held, 0, NULL, 0);
            MsgReply(rcvid, 0, NULL, 0);
            break;
        }
        case T_PRIO:
            s_prio = getprio(0);
            MsgReply(rcvid, 0, NULL, 0);
            break;
        case T_QUIT:
            MsgReply(rcvid, 0, NULL, 0);
            return NULL;
        default:
            MsgError(rcvid, ENOSYS);
            break;
        }
    }
}

/* Sends a header-only request, bounded. */
static long request(int coid, int type, int arg, void *reply, size_t rbytes) {
    struct hdr h;
    memset(&h, 0, sizeof h);
    h.type = (_Uint16t)type;
    h.arg = arg;
    arm_sr(LONG_MS);
    return MsgSend(coid, &h, sizeof h, reply, rbytes);
}

/* ------------------------------------------------------------------ helper threads */

static int hold_coid;
static long hold_ret;
static int hold_errno;

/* Sends T_HOLD with a 50 ms timeout: the server never replies. */
static void *holder(void *arg) {
    struct hdr h;
    (void)arg;
    memset(&h, 0, sizeof h);
    h.type = T_HOLD;
    arm_sr(50);
    errno = 0;
    hold_ret = MsgSend(hold_coid, &h, sizeof h, NULL, 0);
    hold_errno = errno;
    return NULL;
}

static int pulse_chid;
static int helper_tid;
static long helper_ret;

/* Sends "side" to main's pulse channel (a thread made with pthread_create(NULL, ...)). */
static void *side_sender(void *arg) {
    char r[8];
    int coid = ConnectAttach(ND_LOCAL_NODE, getpid(), pulse_chid, _NTO_SIDE_CHANNEL, 0);
    (void)arg;
    helper_tid = gettid();
    arm_sr(LONG_MS);
    helper_ret = MsgSend(coid, "side", 5, r, sizeof r);
    ConnectDetach(coid);
    return NULL;
}

static int unblock_chid;
static long unblock_ret;
static int unblock_errno;
static long long unblock_ms;

/* Sends to the _NTO_CHF_UNBLOCK channel with a 100 ms timeout the server answers late. */
static void *unblocker(void *arg) {
    char r[4];
    long long t0;
    int coid = ConnectAttach(ND_LOCAL_NODE, 0, unblock_chid, _NTO_SIDE_CHANNEL, 0);
    (void)arg;
    arm_sr(100);
    t0 = now_ms();
    errno = 0;
    unblock_ret = MsgSend(coid, "u", 2, r, sizeof r);
    unblock_errno = errno;
    unblock_ms = now_ms() - t0;
    ConnectDetach(coid);
    return NULL;
}

/* ------------------------------------------------------------------ signal handlers */

static volatile sig_atomic_t sig_code_seen, sig_code_code, sig_code_value;
static volatile sig_atomic_t sig_plain_seen, sig_plain_code, sig_plain_value;

static void on_code_signal(int signo, siginfo_t *si, void *ctx) {
    (void)signo;
    (void)ctx;
    sig_code_code = si->si_code;
    sig_code_value = si->si_value.sival_int;
    sig_code_seen = 1;
}

static volatile sig_atomic_t thread_timer_seen, thread_timer_value;

static void on_thread_timer(union sigval v) {
    thread_timer_value = v.sival_int;
    thread_timer_seen = 1;
}

static void on_plain_signal(int signo, siginfo_t *si, void *ctx) {
    (void)signo;
    (void)ctx;
    sig_plain_code = si->si_code;
    sig_plain_value = si->si_value.sival_int;
    sig_plain_seen = 1;
}

static void install(int signo, void (*fn)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, NULL);
}

/* ------------------------------------------------------------------ the checks */

static void constants(void) {
    CHECK(EOK == 0, "EOK is 0");
    CHECK(_IO_MAX == 0x1FF, "_IO_MAX is 0x1FF");
    CHECK(ND_LOCAL_NODE == 0, "ND_LOCAL_NODE is 0");
    CHECK(sizeof(struct _pulse) == 24, "sizeof(struct _pulse) is 24");
    CHECK(sizeof(struct _msg_info) == 64, "sizeof(struct _msg_info) is 64");
    CHECK(_NTO_SIDE_CHANNEL == 0x40000000, "_NTO_SIDE_CHANNEL is 0x40000000");
    CHECK(_NTO_TIMEOUT_RECEIVE == (1 << 5) && _NTO_TIMEOUT_SEND == (1 << 4) &&
              _NTO_TIMEOUT_REPLY == (1 << 6),
          "the _NTO_TIMEOUT_* bits are the states'");
    CHECK(_PULSE_CODE_UNBLOCK == -32 && _PULSE_CODE_DISCONNECT == -33,
          "the kernel's pulse codes");
    CHECK(gettid() == 1, "gettid() is 1 in the main thread");
    CHECK(ThreadCtl(_NTO_TCTL_IO, 0) == 0, "ThreadCtl(_NTO_TCTL_IO, 0) succeeds");
}

static void send_receive_reply(int coid, int srv_chid) {
    char msg[BODY + sizeof(struct hdr)];
    char reply[64];
    struct hdr *h = (struct hdr *)(void *)msg;
    long r;

    /* MsgSend with a flat message: the server's reply and status. */
    memset(msg, 0, sizeof msg);
    h->type = T_ECHO;
    h->arg = 5;
    memcpy(msg + sizeof *h, "hello", 5);
    memset(reply, 'x', sizeof reply);
    arm_sr(LONG_MS);
    r = MsgSend(coid, msg, sizeof *h + 5, reply, sizeof reply);
    CHECK(r == (long)(sizeof *h + 5), "MsgSend returns the reply's status (msglen)");
    CHECK(memcmp(reply, "hello", 5) == 0, "the reply's bytes arrive");
    CHECK(reply[5] == 'x', "a reply shorter than the buffer leaves the rest alone");
    CHECK(s_hdr.type == T_ECHO && s_hdr.arg == 5, "MsgReceivev's first part gets the header");
    CHECK(s_info.pid == getpid(), "MsgInfo pid is the client's getpid()");
    CHECK(s_info.tid == 1, "MsgInfo tid is the client thread's (1)");
    CHECK(s_info.chid == srv_chid, "MsgInfo chid is the server's channel");
    CHECK(s_info.coid == coid, "MsgInfo coid is the client's connection");
    CHECK((s_info.scoid & _NTO_SIDE_CHANNEL) != 0, "MsgInfo scoid carries _NTO_SIDE_CHANNEL");
    CHECK(s_info.nd == ND_LOCAL_NODE, "MsgInfo nd is ND_LOCAL_NODE");
    CHECK(s_info.priority == getprio(0), "MsgInfo priority is the client's");
    CHECK(s_info.msglen == (ssize_t)(sizeof *h + 5) && s_info.srcmsglen == s_info.msglen,
          "msglen and srcmsglen: the bytes sent");
    CHECK(s_info.dstmsglen == (ssize_t)sizeof reply, "dstmsglen: the reply buffer's size");

    /* A message longer than the receive buffer: msglen is what fit, srcmsglen all. */
    memset(msg, 'm', sizeof msg);
    {
        char big[300];
        memset(big, 'q', sizeof big);
        memcpy(big, msg, sizeof *h);
        ((struct hdr *)(void *)big)->type = T_ECHO;
        ((struct hdr *)(void *)big)->arg = 3;
        arm_sr(LONG_MS);
        r = MsgSend(coid, big, sizeof big, reply, sizeof reply);
        CHECK(r == (long)(sizeof *h + BODY), "msglen: only what fit in the receive buffer");
        CHECK(s_info.srcmsglen == (ssize_t)sizeof big, "srcmsglen: all the client sent");
    }

    /* A reply longer than the client's buffer is cut to it. */
    {
        char small[3];
        char tail = 'z';
        struct {
            char small[3];
            char guard;
        } s;
        memset(&s, 0, sizeof s);
        s.guard = tail;
        memset(msg, 0, sizeof msg);
        h->type = T_ECHO;
        h->arg = 10;
        memcpy(msg + sizeof *h, "0123456789", 10);
        arm_sr(LONG_MS);
        r = MsgSend(coid, msg, sizeof *h + 10, s.small, sizeof s.small);
        memcpy(small, s.small, sizeof small);
        CHECK(r == (long)(sizeof *h + 10) && memcmp(small, "012", 3) == 0,
              "a reply longer than the buffer: the buffer's worth arrives");
        CHECK(s.guard == 'z', "and nothing past the buffer is written");
        CHECK(s_info.dstmsglen == 3, "dstmsglen is the small buffer's size");
    }

    /* Send and reply from the same buffer. */
    memset(msg, 0, sizeof msg);
    h->type = T_UPPER;
    h->arg = 6;
    memcpy(msg + sizeof *h, "abc-de", 6);
    arm_sr(LONG_MS);
    r = MsgSend(coid, msg, sizeof *h + 6, msg, sizeof msg);
    CHECK(r == 6 && memcmp(msg, "ABC-DE", 6) == 0, "send and reply from one buffer");

    /* MsgSendnc: the same call. */
    memset(msg, 0, sizeof msg);
    h->type = T_ECHO;
    h->arg = 2;
    memcpy(msg + sizeof *h, "nc", 2);
    arm_sr(LONG_MS);
    r = MsgSendnc(coid, msg, sizeof *h + 2, reply, sizeof reply);
    CHECK(r == (long)(sizeof *h + 2) && memcmp(reply, "nc", 2) == 0, "MsgSendnc");

    /* MsgSendv: a gathered send, a scattered reply. */
    {
        struct hdr hh;
        iov_t s[3], rv[2];
        char r1[2], r2[8];
        memset(&hh, 0, sizeof hh);
        hh.type = T_ECHO;
        hh.arg = 7;
        SETIOV(&s[0], &hh, sizeof hh);
        SETIOV(&s[1], "abc", 3);
        SETIOV(&s[2], "defg", 4);
        SETIOV(&rv[0], r1, sizeof r1);
        SETIOV(&rv[1], r2, sizeof r2);
        arm_sr(LONG_MS);
        r = MsgSendv(coid, s, 3, rv, 2);
        CHECK(r == (long)(sizeof hh + 7), "MsgSendv returns the status");
        CHECK(memcmp(r1, "ab", 2) == 0 && memcmp(r2, "cdefg", 5) == 0,
              "MsgSendv: the parts are gathered and the reply scattered");
        CHECK(s_info.dstmsglen == 10, "dstmsglen sums the reply parts");

        /* MsgSendsv: a flat send, a scattered reply. */
        memset(msg, 0, sizeof msg);
        h->type = T_ECHO;
        h->arg = 4;
        memcpy(msg + sizeof *h, "wxyz", 4);
        arm_sr(LONG_MS);
        r = MsgSendsv(coid, msg, sizeof *h + 4, rv, 2);
        CHECK(r == (long)(sizeof *h + 4) && memcmp(r1, "wx", 2) == 0 &&
                  memcmp(r2, "yz", 2) == 0,
              "MsgSendsv");

        /* MsgSendvs: a gathered send, a flat reply. */
        arm_sr(LONG_MS);
        r = MsgSendvs(coid, s, 3, reply, sizeof reply);
        CHECK(r == (long)(sizeof hh + 7) && memcmp(reply, "abcdefg", 7) == 0, "MsgSendvs");
    }

    /* MsgWrite and MsgWritev at offsets, then the reply. */
    memset(reply, '.', sizeof reply);
    r = request(coid, T_WRITE, 0, reply, 10);
    CHECK(r == 0, "MsgReply after MsgWrite completes the send");
    CHECK(s_write == 2 && s_writev == 4, "MsgWrite and MsgWritev return the bytes written");
    CHECK(memcmp(reply, "AAAABBCCDD", 10) == 0, "MsgWrite at offsets, then MsgReply at 0");
    CHECK(reply[10] == '.', "nothing past the reply buffer");

    /* MsgRead and MsgReadv at offsets of a long message. */
    {
        struct hdr hh;
        char data[200];
        iov_t s[2];
        int i;
        for (i = 0; i < 200; i++) {
            data[i] = (char)(i * 7);
        }
        memset(&hh, 0, sizeof hh);
        hh.type = T_READ;
        SETIOV(&s[0], &hh, sizeof hh);
        SETIOV(&s[1], data, sizeof data);
        arm_sr(LONG_MS);
        r = MsgSendv(coid, s, 2, NULL, 0);
        CHECK(r == (long)(sizeof hh + 200) && s_read_all == (ssize_t)(sizeof hh + 200),
              "MsgRead from 0 reads the whole message");
        CHECK(s_read_ok, "MsgRead's bytes are the client's");
        CHECK(s_read_tail == 10, "MsgRead near the end: a short count");
        CHECK(s_read_end == 0, "MsgRead at the end: 0");
        CHECK(s_readv == 20 && s_readv_ok, "MsgReadv at an offset into two parts");
    }

    /* MsgReplyv. */
    memset(reply, 0, sizeof reply);
    r = request(coid, T_REPLYV, 0, reply, sizeof reply);
    CHECK(r == 13 && strcmp(reply, "hello, world") == 0, "MsgReplyv's parts arrive in order");

    /* MsgInfo on a REPLY-blocked rcvid. */
    r = request(coid, T_INFO, 0, NULL, 0);
    CHECK(r == 0 && s_msginfo_ret == 0, "MsgInfo succeeds");
    CHECK(s_info2.pid == getpid() && s_info2.tid == 1 && s_info2.chid == srv_chid &&
              s_info2.coid == coid,
          "MsgInfo describes the client");

    /* MsgError: with an errno, and with EOK. */
    errno = 0;
    r = request(coid, T_ERROR, EPERM, reply, sizeof reply);
    CHECK(r == -1 && errno == EPERM, "MsgError(rcvid, EPERM): MsgSend -1, errno EPERM");
    errno = 0;
    r = request(coid, T_ERROR, EOK, reply, sizeof reply);
    CHECK(r == 0 && errno == 0, "MsgError(rcvid, EOK): MsgSend returns 0");
    {
        struct hdr hh;
        memset(&hh, 0, sizeof hh);
        hh.type = T_ERROR;
        hh.arg = ENOTSUP;
        errno = 1234;
        arm_sr(LONG_MS);
        r = MsgSend_r(coid, &hh, sizeof hh, NULL, 0);
        CHECK(r == -ENOTSUP && errno == 1234, "MsgSend_r gets -err from MsgError");
    }
    errno = 0;
    r = request(coid, 0x7fff, 0, NULL, 0);
    CHECK(r == -1 && errno == ENOSYS, "an unknown type: MsgError(ENOSYS)");

    /* The server runs at its client's priority. */
    {
        int old = getprio(0);
        CHECK(setprio(0, old + 5) == old, "setprio returns the old priority");
        CHECK(getprio(0) == old + 5, "getprio sees the new one");
        r = request(coid, T_PRIO, 0, NULL, 0);
        CHECK(r == 0 && s_prio == old + 5, "the server inherits the client's priority");
        setprio(0, old);
        CHECK(getprio(getpid()) == old, "getprio(getpid()) is the caller's");
    }
    CHECK(s_tid > 1, "the server thread has its own tid");
}

static void pulses(int pch, int pcoid) {
    struct _pulse p;
    struct _msg_info info;
    int r;
    char small[8];

    memset(&p, 0x55, sizeof p);
    CHECK(MsgSendPulse(pcoid, -1, 5, 42) == 0, "MsgSendPulse with priority -1");
    arm_rx(LONG_MS);
    r = MsgReceive(pch, &p, sizeof p, &info);
    CHECK(r == 0, "MsgReceive returns 0 for a pulse");
    CHECK(p.type == _PULSE_TYPE && p.subtype == _PULSE_SUBTYPE, "_pulse type and subtype 0");
    CHECK(p.code == 5 && p.value.sival_int == 42, "_pulse code and value");
    CHECK((p.scoid & _NTO_SIDE_CHANNEL) != 0, "_pulse scoid is a server connection");

    CHECK(MsgSendPulse(pcoid, 15, _PULSE_CODE_MAXAVAIL, -7) == 0,
          "MsgSendPulse with priority 15, code 127");
    arm_rx(LONG_MS);
    r = MsgReceivePulse(pch, &p, sizeof p, NULL);
    CHECK(r == 0 && p.code == 127 && p.value.sival_int == -7, "MsgReceivePulse gets it");

    CHECK(MsgSendPulse(pcoid, 10, _PULSE_CODE_MINAVAIL, 0) == 0, "code 0");
    arm_rx(LONG_MS);
    r = MsgReceivePulse(pch, &p, sizeof p, NULL);
    CHECK(r == 0 && p.code == 0, "a pulse of code 0 arrives");

    /* Pulses queue by priority. */
    MsgSendPulse(pcoid, 10, 1, 1);
    MsgSendPulse(pcoid, 20, 2, 2);
    arm_rx(LONG_MS);
    MsgReceivePulse(pch, &p, sizeof p, NULL);
    CHECK(p.code == 2, "the higher-priority pulse comes first");
    arm_rx(LONG_MS);
    MsgReceivePulse(pch, &p, sizeof p, NULL);
    CHECK(p.code == 1, "then the lower one");

    /* The receiver takes a pulse's priority. */
    {
        int old = getprio(0);
        MsgSendPulse(pcoid, old + 7, 3, 0);
        arm_rx(LONG_MS);
        MsgReceivePulse(pch, &p, sizeof p, NULL);
        CHECK(getprio(0) == old + 7, "receiving a pulse takes its priority");
        setprio(0, old);
    }

    /* A receive buffer smaller than a pulse: EFAULT. */
    MsgSendPulse(pcoid, -1, 6, 0);
    arm_rx(LONG_MS);
    errno = 0;
    r = MsgReceive(pch, small, sizeof small, NULL);
    CHECK(r == -1 && errno == EFAULT, "a pulse into a buffer smaller than _pulse: EFAULT");
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    errno = 0;
    r = MsgReceivePulse(pch, &p, sizeof p, NULL);
    CHECK(r == -1 && errno == ETIMEDOUT, "and that pulse is lost");
    MsgSendPulse(pcoid, -1, 6, 0);
    arm_rx(LONG_MS);
    errno = 0;
    r = MsgReceivePulse(pch, small, sizeof small, NULL);
    CHECK(r == -1 && errno == EFAULT, "MsgReceivePulse into a small buffer: EFAULT");
    /* Drain whatever is left (the docs say the pulse is lost; either way, none blocks). */
    for (;;) {
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
        if (MsgReceivePulse(pch, &p, sizeof p, NULL) == -1) {
            break;
        }
    }

    /* Bad priorities and codes. */
    errno = 0;
    CHECK(MsgSendPulse(pcoid, 1000, 1, 0) == -1 && errno == EINVAL,
          "MsgSendPulse with priority 1000: EINVAL");

    /* MsgReceivePulse skips messages; a pthread_create(NULL) thread's message carries our
     * pid. */
    {
        rcvid_t rcvid;
        char buf[16];
        long long until = now_ms() + LONG_MS;
        helper_ret = -2;
        CHECK(pthread_create(NULL, NULL, side_sender, NULL) == 0,
              "pthread_create with a NULL thread");
        /* Let the helper queue its message first (bounded). */
        while (now_ms() < until) {
            delay(5);
            if (helper_tid != 0) {
                delay(20);
                break;
            }
        }
        MsgSendPulse(pcoid, -1, 8, 88);
        arm_rx(LONG_MS);
        r = MsgReceivePulse(pch, &p, sizeof p, NULL);
        CHECK(r == 0 && p.code == 8 && p.value.sival_int == 88,
              "MsgReceivePulse takes the pulse, not the queued message");
        arm_rx(LONG_MS);
        rcvid = MsgReceive(pch, buf, sizeof buf, &info);
        CHECK(rcvid > 0 && strcmp(buf, "side") == 0, "the message is still there");
        CHECK(info.pid == getpid(), "a pthread_create(NULL) thread's message: our pid");
        CHECK(info.tid == helper_tid && helper_tid > 1, "and its own tid");
        CHECK(MsgReply(rcvid, 3, "ok", 3) == 0, "MsgReply to it");
        errno = 0;
        CHECK(MsgReply(rcvid, 3, "ok", 3) == -1 && errno == ESRCH,
              "a second MsgReply on the rcvid: ESRCH");
        until = now_ms() + LONG_MS;
        while (helper_ret == -2 && now_ms() < until) {
            delay(2);
        }
        CHECK(helper_ret == 3, "the helper's MsgSend returns the status");
    }
}

static void events(int srv_coid, int pch, int pcoid) {
    struct {
        struct hdr h;
        struct sigevent ev;
    } m;
    struct _pulse p;
    int r;
    long s;
    memset(&m, 0, sizeof m);
    m.h.type = T_EVENT;
    SIGEV_PULSE_INIT(&m.ev, pcoid, SIGEV_PULSE_PRIO_INHERIT, 9, 0xBEEF);
    CHECK(SIGEV_GET_TYPE(&m.ev) == SIGEV_PULSE, "SIGEV_PULSE_INIT makes a pulse event");
    arm_sr(LONG_MS);
    s = MsgSend(srv_coid, &m, sizeof m, NULL, 0);
    CHECK(s == 0, "the event is sent to the server");
    arm_rx(LONG_MS);
    memset(&p, 0, sizeof p);
    r = MsgReceivePulse(pch, &p, sizeof p, NULL);
    CHECK(r == 0 && p.code == 9 && p.value.sival_int == 0xBEEF,
          "MsgDeliverEvent: the client receives the event's pulse");
    CHECK(s_deliver == 0, "MsgDeliverEvent after the reply returns 0");
    CHECK(s_verify == 0, "MsgVerifyEvent accepts the event");
    CHECK(s_verify_bad == -1 && s_verify_bad_errno == EINVAL,
          "MsgVerifyEvent of a bad event: EINVAL");
}

static void timers(int pch, int pcoid) {
    struct sigevent ev;
    struct itimerspec its, cur;
    struct _pulse p;
    timer_t t;
    int r, i, ok;
    long long t0;

    /* One-shot. */
    SIGEV_PULSE_INIT(&ev, pcoid, SIGEV_PULSE_PRIO_INHERIT, 10, 7);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create with a pulse event");
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = 200 * 1000000;
    t0 = now_ms();
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "timer_settime one-shot");
    CHECK(timer_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
              cur.it_value.tv_nsec <= 200 * 1000000,
          "timer_gettime: the time left");
    arm_rx(LONG_MS);
    r = MsgReceivePulse(pch, &p, sizeof p, NULL);
    CHECK(r == 0 && p.code == 10 && p.value.sival_int == 7, "the timer's pulse arrives");
    CHECK(now_ms() - t0 >= 195, "not before its time");
    CHECK(timer_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0,
          "an expired one-shot timer is disarmed");
    CHECK(timer_delete(t) == 0, "timer_delete");

    /* Periodic. */
    SIGEV_PULSE_INIT(&ev, pcoid, 12, 11, 0);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create for a periodic timer");
    its.it_value.tv_nsec = 10 * 1000000;
    its.it_interval.tv_nsec = 10 * 1000000;
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "timer_settime periodic");
    ok = 1;
    for (i = 0; i < 3; i++) {
        arm_rx(LONG_MS);
        r = MsgReceivePulse(pch, &p, sizeof p, NULL);
        ok &= r == 0 && p.code == 11;
    }
    CHECK(ok, "a periodic timer's pulses keep coming");
    CHECK(timer_gettime(t, &cur) == 0 && cur.it_interval.tv_sec == 0 &&
              cur.it_interval.tv_nsec == 10 * 1000000,
          "timer_gettime: the period");
    CHECK(timer_delete(t) == 0, "timer_delete of a periodic timer");
    errno = 0;
    CHECK(timer_settime(t, 0, &its, NULL) == -1 && errno == EINVAL,
          "timer_settime of a deleted timer: EINVAL");
    delay(30);
    for (;;) {
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
        if (MsgReceivePulse(pch, &p, sizeof p, NULL) == -1) {
            break;
        }
    }

    /* SIGEV_SIGNAL_CODE: through the kernel to a sigaction handler with its si_code. */
    install(SIGUSR1, on_code_signal);
    SIGEV_SIGNAL_CODE_INIT(&ev, SIGUSR1, 77, SI_MINAVAIL + 5);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create with SIGEV_SIGNAL_CODE");
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = 10 * 1000000;
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "and timer_settime");
    CHECK(wait_flag(&sig_code_seen, LONG_MS), "the SIGEV_SIGNAL_CODE timer's handler runs");
    CHECK(sig_code_code == SI_MINAVAIL + 5 && sig_code_value == 77,
          "with the event's si_code and value");
    timer_delete(t);

    /* SIGEV_SIGNAL: glibc's own timer. */
    install(SIGUSR2, on_plain_signal);
    SIGEV_SIGNAL_VALUE_INIT(&ev, SIGUSR2, 99);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create with SIGEV_SIGNAL");
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "and timer_settime");
    CHECK(wait_flag(&sig_plain_seen, LONG_MS), "the SIGEV_SIGNAL timer's handler runs");
    CHECK(sig_plain_code == SI_TIMER && sig_plain_value == 99, "with SI_TIMER and the value");
    CHECK(timer_delete(t) == 0, "timer_delete of a glibc timer");

    /* SIGEV_THREAD: glibc's own timer, its function run on a thread of glibc's. */
    SIGEV_THREAD_INIT(&ev, on_thread_timer, 41, NULL);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create with SIGEV_THREAD");
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "and timer_settime");
    CHECK(wait_flag(&thread_timer_seen, LONG_MS) && thread_timer_value == 41,
          "the SIGEV_THREAD timer's function runs with the value");
    CHECK(timer_delete(t) == 0, "timer_delete of a SIGEV_THREAD timer");

    /* SIGEV_NONE: a timer that only counts down (glibc's). */
    SIGEV_NONE_INIT(&ev);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create with SIGEV_NONE");
    its.it_value.tv_sec = 10;
    its.it_value.tv_nsec = 0;
    CHECK(timer_settime(t, 0, &its, NULL) == 0 && timer_gettime(t, &cur) == 0 &&
              cur.it_value.tv_sec >= 9 && cur.it_value.tv_sec <= 10,
          "a SIGEV_NONE timer counts down");
    CHECK(timer_delete(t) == 0, "timer_delete of a SIGEV_NONE timer");

    /* SIGEV_UNBLOCK: a kernel timer that ends its thread's blocked call with ETIMEDOUT. */
    {
        int idle = ChannelCreate(0);
        char buf[16];
        SIGEV_UNBLOCK_INIT(&ev);
        CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create with SIGEV_UNBLOCK");
        memset(&its, 0, sizeof its);
        its.it_value.tv_nsec = 20 * 1000000;
        t0 = now_ms();
        CHECK(timer_settime(t, 0, &its, NULL) == 0, "and timer_settime");
        arm_rx(LONG_MS);
        errno = 0;
        r = MsgReceive(idle, buf, sizeof buf, NULL);
        CHECK(r == -1 && errno == ETIMEDOUT && now_ms() - t0 < LONG_MS / 2,
              "the SIGEV_UNBLOCK timer ends the receive with ETIMEDOUT, long before its bound");
        CHECK(timer_delete(t) == 0, "timer_delete of a kernel SIGEV_UNBLOCK timer");
        ChannelDestroy(idle);
    }

    /* Bad arguments. */
    errno = 0;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, NULL) == -1 && errno == EFAULT,
          "timer_create with no timer_t: EFAULT");
    ev.sigev_notify = 0x99;
    errno = 0;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == -1 && errno == EINVAL,
          "timer_create with no QNX event type: EINVAL");
}

static void timeouts(int idle_coid, int idle_chid) {
    int r;
    long s;
    long long t0;
    char buf[32];
    _Uint64t ns = 30 * MS;

    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    t0 = now_ms();
    errno = 0;
    r = MsgReceive(idle_chid, buf, sizeof buf, NULL);
    CHECK(r == -1 && errno == ETIMEDOUT, "TimerTimeout with NULL ntime: ETIMEDOUT");
    CHECK(now_ms() - t0 < 1000, "at once");

    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL) != -1,
          "TimerTimeout with 30 ms");
    t0 = now_ms();
    errno = 0;
    r = MsgReceive(idle_chid, buf, sizeof buf, NULL);
    CHECK(r == -1 && errno == ETIMEDOUT, "MsgReceive times out: ETIMEDOUT");
    CHECK(now_ms() - t0 >= 25 && now_ms() - t0 < 3000, "after about 30 ms");

    /* Nobody receives on idle_chid: SEND-blocked, then timed out. */
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    errno = 0;
    s = MsgSend(idle_coid, "x", 2, buf, sizeof buf);
    CHECK(s == -1 && errno == ETIMEDOUT, "a SEND-blocked MsgSend times out");

    /* TimerTimeout returns the flags armed before. */
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE | _NTO_TIMEOUT_SEND, NULL, NULL,
                       NULL) == _NTO_TIMEOUT_RECEIVE,
          "TimerTimeout returns the flags armed before");
    errno = 0;
    r = MsgReceive(idle_chid, buf, sizeof buf, NULL);
    CHECK(r == -1 && errno == ETIMEDOUT, "the last arming holds");

    /* The _r form of a timeout. */
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    errno = 4321;
    r = MsgReceive_r(idle_chid, buf, sizeof buf, NULL);
    CHECK(r == -ETIMEDOUT && errno == 4321, "MsgReceive_r: -ETIMEDOUT, errno untouched");

    /* The timeout holds for one call only: the next, not armed, gets its pulse. */
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    CHECK(MsgSendPulse(idle_coid, -1, 4, 4) == 0, "MsgSendPulse is not a blocking call");
    arm_rx(LONG_MS);
    r = MsgReceive(idle_chid, buf, sizeof buf, NULL);
    CHECK(r == 0, "a queued pulse is received in spite of an immediate timeout");

    /* delay(). */
    t0 = now_ms();
    CHECK(delay(20) == 0, "delay returns 0");
    CHECK(now_ms() - t0 >= 19, "delay sleeps");
}

static void reply_timeout_and_stale(int srv_coid) {
    pthread_t th;
    hold_coid = srv_coid;
    CHECK(pthread_create(&th, NULL, holder, NULL) == 0, "pthread_create");
    pthread_join(th, NULL);
    CHECK(hold_ret == -1 && hold_errno == ETIMEDOUT,
          "a REPLY-blocked MsgSend times out (_NTO_TIMEOUT_REPLY)");
    CHECK(request(srv_coid, T_STALE, 0, NULL, 0) == 0, "the server goes on");
    CHECK(s_stale_reply == -1 && s_stale_reply_errno == ESRCH,
          "MsgReply on a stale rcvid: ESRCH");
    CHECK(s_stale_read_errno == ESRCH, "MsgRead on a stale rcvid: ESRCH");
    CHECK(s_stale_info_errno == ESRCH, "MsgInfo on a stale rcvid: ESRCH");
    CHECK(s_reply_r == -ESRCH, "MsgReply_r on a stale rcvid: -ESRCH");
}

static void unblock_pulse(void) {
    pthread_t th;
    char buf[32];
    struct _pulse p;
    struct _msg_info info;
    rcvid_t rcvid;
    int r;
    unblock_chid = ChannelCreate(_NTO_CHF_UNBLOCK);
    CHECK(unblock_chid > 0, "ChannelCreate(_NTO_CHF_UNBLOCK)");
    CHECK(pthread_create(&th, NULL, unblocker, NULL) == 0, "pthread_create (unblocker)");
    arm_rx(LONG_MS);
    rcvid = MsgReceive(unblock_chid, buf, sizeof buf, NULL);
    CHECK(rcvid > 0, "the unblocker's message");
    arm_rx(LONG_MS);
    r = MsgReceive(unblock_chid, &p, sizeof p, NULL);
    CHECK(r == 0 && p.code == _PULSE_CODE_UNBLOCK, "its timeout: an unblock pulse");
    CHECK(p.value.sival_int == rcvid, "whose value is the rcvid");
    CHECK(MsgInfo(rcvid, &info) == 0 && (info.flags & _NTO_MI_UNBLOCK_REQ) != 0,
          "MsgInfo flags _NTO_MI_UNBLOCK_REQ");
    delay(50);
    CHECK(unblock_ret == 0 && unblock_ms == 0, "the client stays blocked until answered");
    CHECK(MsgError(rcvid, EINTR) == 0, "MsgError(rcvid, EINTR)");
    pthread_join(th, NULL);
    CHECK(unblock_ret == -1 && unblock_errno == EINTR, "the client's MsgSend: EINTR");
    CHECK(unblock_ms >= 100, "after its timeout and the server's answer");
    CHECK(ChannelDestroy(unblock_chid) == 0, "ChannelDestroy");
}

static void disconnect_pulse(void) {
    struct _pulse p;
    int dch, dcoid, c2, r, scoid;
    dch = ChannelCreate(_NTO_CHF_DISCONNECT);
    CHECK(dch > 0, "ChannelCreate(_NTO_CHF_DISCONNECT)");
    dcoid = ConnectAttach(ND_LOCAL_NODE, getpid(), dch, _NTO_SIDE_CHANNEL, 0);
    CHECK(dcoid > 0 && (dcoid & _NTO_SIDE_CHANNEL), "ConnectAttach: a side-channel coid");
    MsgSendPulse(dcoid, -1, 3, 0);
    arm_rx(LONG_MS);
    MsgReceive(dch, &p, sizeof p, NULL);
    scoid = p.scoid;
    CHECK(ConnectDetach(dcoid) == 0, "ConnectDetach");
    arm_rx(LONG_MS);
    memset(&p, 0, sizeof p);
    r = MsgReceive(dch, &p, sizeof p, NULL);
    CHECK(r == 0 && p.code == _PULSE_CODE_DISCONNECT, "the last detach: a disconnect pulse");
    CHECK(p.scoid == scoid, "its scoid is the connection's");
    CHECK(ConnectDetach(scoid) == 0, "the server detaches the scoid");

    /* ChannelDestroy: later sends on its connections fail with EBADF. */
    c2 = ConnectAttach(ND_LOCAL_NODE, 0, dch, _NTO_SIDE_CHANNEL, 0);
    CHECK(ChannelDestroy(dch) == 0, "ChannelDestroy with a connection attached");
    arm_sr(LONG_MS);
    errno = 0;
    CHECK(MsgSend(c2, "x", 2, NULL, 0) == -1 && errno == EBADF,
          "MsgSend on a destroyed channel's coid: EBADF");
    CHECK(ConnectDetach(c2) == 0, "its coid is still ours to detach");
}

static void errors(int coid, int chid_ok) {
    char buf[32];
    iov_t iov;
    errno = 0;
    arm_rx(LONG_MS);
    CHECK(MsgReceive(9999, buf, sizeof buf, NULL) == -1 && errno == ESRCH,
          "MsgReceive on an unknown chid: ESRCH");
    errno = 0;
    arm_sr(LONG_MS);
    CHECK(MsgSend(_NTO_SIDE_CHANNEL | 999, "x", 2, NULL, 0) == -1 && errno == EBADF,
          "MsgSend on an unknown coid: EBADF");
    errno = 0;
    CHECK(MsgSendPulse(_NTO_SIDE_CHANNEL | 999, -1, 1, 0) == -1 && errno == EBADF,
          "MsgSendPulse on an unknown coid: EBADF");
    errno = 0;
    CHECK(ConnectAttach(ND_LOCAL_NODE, 0, chid_ok, _NTO_SIDE_CHANNEL, 0x7ff0000) == -1 &&
              errno == EINVAL,
          "ConnectAttach with unknown flags: EINVAL");
    errno = 0;
    CHECK(ConnectAttach(ND_LOCAL_NODE, 0, 9999, _NTO_SIDE_CHANNEL, 0) == -1 && errno == ESRCH,
          "ConnectAttach to an unknown chid: ESRCH");
    errno = 0;
    CHECK(ChannelDestroy(9999) == -1 && errno == EINVAL, "ChannelDestroy(unknown): EINVAL");
    errno = 0;
    CHECK(ConnectDetach(_NTO_SIDE_CHANNEL | 999) == -1 && errno == EINVAL,
          "ConnectDetach(unknown): EINVAL");
    errno = 0;
    arm_sr(LONG_MS);
    CHECK(MsgSend(coid, NULL, 10, buf, sizeof buf) == -1 && errno == EFAULT,
          "MsgSend with a NULL message of 10 bytes: EFAULT");
    errno = 0;
    arm_rx(LONG_MS);
    CHECK(MsgReceive(chid_ok, NULL, 10, NULL) == -1 && errno == EFAULT,
          "MsgReceive into a NULL buffer of 10 bytes: EFAULT");
    errno = 0;
    SETIOV(&iov, NULL, 8);
    arm_sr(LONG_MS);
    CHECK(MsgSendv(coid, &iov, 1, NULL, 0) == -1 && errno == EFAULT,
          "MsgSendv with a NULL part: EFAULT");
    errno = 0;
    arm_sr(LONG_MS);
    CHECK(MsgSendv(coid, NULL, 1, NULL, 0) == -1 && errno == EFAULT,
          "MsgSendv with a NULL iov array: EFAULT");

    /* The _r forms: -errno, errno untouched. */
    errno = 777;
    CHECK(ChannelDestroy_r(9999) == -EINVAL && errno == 777, "ChannelDestroy_r: -EINVAL");
    CHECK(ConnectDetach_r(_NTO_SIDE_CHANNEL | 999) == -EINVAL && errno == 777,
          "ConnectDetach_r: -EINVAL");
    arm_sr(LONG_MS);
    CHECK(MsgSend_r(_NTO_SIDE_CHANNEL | 999, "x", 2, NULL, 0) == -EBADF && errno == 777,
          "MsgSend_r: -EBADF");
    CHECK(MsgSendPulse_r(_NTO_SIDE_CHANNEL | 999, -1, 1, 0) == -EBADF && errno == 777,
          "MsgSendPulse_r: -EBADF");
    arm_rx(LONG_MS);
    CHECK(MsgReceive_r(9999, buf, sizeof buf, NULL) == -ESRCH && errno == 777,
          "MsgReceive_r: -ESRCH");
    CHECK(ConnectAttach_r(ND_LOCAL_NODE, 0, 9999, _NTO_SIDE_CHANNEL, 0) == -ESRCH &&
              errno == 777,
          "ConnectAttach_r: -ESRCH");
    CHECK(MsgError_r(12345, EIO) == -ESRCH && errno == 777, "MsgError_r: -ESRCH");
    {
        int c = ChannelCreate_r(0);
        CHECK(c > 0 && errno == 777, "ChannelCreate_r: the chid");
        CHECK(ChannelDestroy_r(c) == 0, "ChannelDestroy_r: 0");
    }
    CHECK(ThreadCtl_r(-5, NULL) == -EINVAL && errno == 777, "ThreadCtl_r(unknown): -EINVAL");
}

int main(void) {
    int srv_coid, pch, pcoid, idle_chid, idle_coid;

    constants();

    chid = ChannelCreate(0);
    CHECK(chid > 0, "ChannelCreate");
    CHECK(pthread_create(NULL, NULL, server, NULL) == 0, "pthread_create(NULL, ...) server");
    srv_coid = ConnectAttach(ND_LOCAL_NODE, getpid(), chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(srv_coid > 0 && (srv_coid & _NTO_SIDE_CHANNEL), "ConnectAttach to our own pid");

    pch = pulse_chid = ChannelCreate(0);
    pcoid = ConnectAttach(ND_LOCAL_NODE, 0, pch, _NTO_SIDE_CHANNEL, 0);
    idle_chid = ChannelCreate(0);
    idle_coid = ConnectAttach(ND_LOCAL_NODE, 0, idle_chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(pch > 0 && pcoid > 0 && idle_chid > 0 && idle_coid > 0, "more channels");

    send_receive_reply(srv_coid, chid);
    pulses(pch, pcoid);
    events(srv_coid, pch, pcoid);
    timers(pch, pcoid);
    timeouts(idle_coid, idle_chid);
    reply_timeout_and_stale(srv_coid);
    unblock_pulse();
    disconnect_pulse();
    errors(srv_coid, idle_chid);

    CHECK(request(srv_coid, T_QUIT, 0, NULL, 0) == 0, "the server quits");
    CHECK(ConnectDetach(srv_coid) == 0 && ConnectDetach(pcoid) == 0 &&
              ConnectDetach(idle_coid) == 0,
          "ConnectDetach");
    CHECK(ChannelDestroy(pch) == 0 && ChannelDestroy(idle_chid) == 0, "ChannelDestroy");
    return SUMMARY();
}
