/*
 * review_names_pool_semantics.c: a review of names, the dispatch layer and thread pools against
 * QNX's documented behaviour (/work/shared/reference/qnx-resmgr.md §1.5-1.9, qnx-api.md
 * §2.2-2.3, §2.10, §2.14), as a porter meets them:
 *
 *   - name_attach(NULL, ...) and a MsgReceive loop on attach->chid: the _IO_CONNECT of each
 *     name_open answered EOK, _PULSE_CODE_UNBLOCK (value = rcvid) of a REPLY-blocked client
 *     that timed out, _PULSE_CODE_DISCONNECT on name_close, name_close of a coid another thread
 *     is REPLY-blocked on (EBADF), name_detach with clients SEND- and REPLY-blocked (ESRCH), a
 *     name attached after a failed name_open, a receive buffer smaller than a pulse (EFAULT);
 *   - name_attach with a dispatch handle: message_attach/pulse_attach handlers (overlapping
 *     ranges, the first wins; pulse ranges; the kernel's negative codes through pulse_attach;
 *     _IO_BASE.._IO_MAX attached), dispatch_handler's return values, dispatch_unblock, and
 *     dispatch_block's ESRCH once the handle's channel goes;
 *   - thread pools: the threads made under bursts of blocked handlers for several lo_water /
 *     hi_water / increment / maximum settings, unblock_func's calls from thread_pool_destroy
 *     and thread_pool_control, destroy with handlers still blocked, POOL_FLAG_USE_SELF, and the
 *     limits as tpp->pool_attr shows them.
 *
 * `review_names_pool_semantics` runs all that in one program on its own kernel;
 * `review_names_pool_semantics server NAME` / `client NAME` are a name server and its client as
 * two programs of a shared kernel. Its first run found three defects, fixed since
 * (dispatch_block's pulse at dispatch_destroy, tpp->pool_attr never updated, pulse_attach
 * refusing MSG_FLAG_TYPE_PULSE). Every
 * blocking call is bounded (TimerTimeout, timed waits, and alarm() for the whole program).
 * Prints "N passed, M failed" last.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#define GATE_START 1
#include "gate.h"

enum {
    NM_ECHO = _IO_MAX + 1, /* reply status value */
    NM_HOLD,               /* held by the server (no reply) */
    NM_STOP,               /* reply 0; the server ends */
    NM_PID,                /* reply status: the sender's pid as the server's _msg_info has it */
    NM_GATED,              /* a pool handler that waits at the gate */
    NM_OTHER = _IO_MAX + 6
};

struct nm_msg {
    _Uint16t type;
    _Uint16t subtype;
    _Int32t value;
    char data[24];
};

#define BOUND_NS 10000000000ULL
#define SHORT_NS 300000000ULL

static void bound_ns(int states, _Uint64t ns) {
    TimerTimeout(CLOCK_MONOTONIC, states, NULL, &ns, NULL);
}

static void bound(int states) {
    bound_ns(states, BOUND_NS);
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&t, NULL);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int get(const volatile int *p) {
    int v;
    pthread_mutex_lock(&lock);
    v = *p;
    pthread_mutex_unlock(&lock);
    return v;
}

/* Polls (every ms, at most 10 s) until *p >= want. */
static int wait_for(const volatile int *p, int want) {
    int i;
    for (i = 0; i < 10000; i++) {
        if (get(p) >= want) {
            return 1;
        }
        sleep_ms(1);
    }
    return 0;
}

static long send_msg_ns(int coid, int type, int value, _Uint64t ns) {
    struct nm_msg m;
    memset(&m, 0, sizeof m);
    m.type = (_Uint16t)type;
    m.value = value;
    bound_ns(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, ns);
    return MsgSend(coid, &m, sizeof m, NULL, 0);
}

static long send_msg(int coid, int type, int value) {
    return send_msg_ns(coid, type, value, BOUND_NS);
}

static int fails_with(long r, int e) {
    return r == -1 && errno == e;
}

static int open_name(const char *name) {
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    return name_open(name, 0);
}

/* A client thread: one send, its result and errno. */
struct sender {
    pthread_t t;
    int coid, type, value;
    long got;
    int err;
    volatile int done;
};

static void *sender_main(void *arg) {
    struct sender *s = (struct sender *)arg;
    long r = send_msg(s->coid, s->type, s->value);
    int e = errno;
    pthread_mutex_lock(&lock);
    s->got = r;
    s->err = e;
    s->done = 1;
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void start_sender(struct sender *s, int coid, int type, int value) {
    memset(s, 0, sizeof *s);
    s->coid = coid;
    s->type = type;
    s->value = value;
    s->got = -2;
    if (pthread_create(&s->t, NULL, sender_main, s) != 0) {
        s->done = 1;
    }
}

/* Joins a sender (bounded: its send is). */
static int join_sender(struct sender *s) {
    int ok = wait_for(&s->done, 1);
    if (ok) {
        pthread_join(s->t, NULL);
    }
    return ok;
}

/* ---------------------------------------------------------------- a raw name server */

struct raw {
    int chid;
    pthread_t t;
    int stop_after_hold; /* stop receiving once a message is held */
    volatile int connects, echoes, disconnects, disconnect_scoid, detached_ok;
    volatile int unblocks, unblock_value, unblock_matched;
    volatile int held, held_rcvid, holds;
    volatile int done, end_errno;
};

static void *raw_main(void *arg) {
    struct raw *s = (struct raw *)arg;
    union {
        struct _io_connect c;
        char bytes[128];
        struct _pulse p;
        struct nm_msg m;
        _Uint16t type;
    } u;
    struct _msg_info info;
    for (;;) {
        rcvid_t rcvid;
        memset(&u, 0, sizeof u);
        bound(_NTO_TIMEOUT_RECEIVE);
        rcvid = MsgReceive(s->chid, &u, sizeof u, &info);
        pthread_mutex_lock(&lock);
        if (rcvid == -1) {
            s->end_errno = errno;
            s->done = 1;
            pthread_mutex_unlock(&lock);
            break;
        }
        if (rcvid == 0) {
            if (u.p.code == _PULSE_CODE_DISCONNECT) {
                s->disconnect_scoid = u.p.scoid;
                s->detached_ok += ConnectDetach(u.p.scoid) == 0;
                s->disconnects++;
            } else if (u.p.code == _PULSE_CODE_UNBLOCK) {
                s->unblock_value = u.p.value.sival_int;
                if (s->held && u.p.value.sival_int == s->held_rcvid) {
                    s->unblock_matched++;
                    MsgError(s->held_rcvid, EINTR);
                    s->held = 0;
                }
                s->unblocks++;
            }
        } else if (u.type == _IO_CONNECT) {
            s->connects++;
            MsgReply(rcvid, EOK, NULL, 0);
        } else if (u.type == NM_ECHO) {
            s->echoes++;
            MsgReply(rcvid, u.m.value, NULL, 0);
        } else if (u.type == NM_HOLD) {
            s->held = 1;
            s->held_rcvid = rcvid;
            s->holds++;
            if (s->stop_after_hold) {
                s->done = 1;
                pthread_mutex_unlock(&lock);
                break;
            }
        } else if (u.type == NM_STOP) {
            MsgReply(rcvid, EOK, NULL, 0);
            s->done = 1;
            pthread_mutex_unlock(&lock);
            break;
        } else {
            MsgError(rcvid, ENOSYS);
        }
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void raw_start(struct raw *s, int chid, int stop_after_hold) {
    memset(s, 0, sizeof *s);
    s->chid = chid;
    s->stop_after_hold = stop_after_hold;
    if (pthread_create(&s->t, NULL, raw_main, s) != 0) {
        s->done = 1;
    }
}

static int raw_finish(struct raw *s) {
    int ok = wait_for(&s->done, 1);
    if (ok) {
        pthread_join(s->t, NULL);
    }
    return ok;
}

/* The porter's pattern: name_attach(NULL) and MsgReceive on attach->chid. */
static void raw_names(void) {
    static struct raw s;
    struct sender t;
    name_attach_t *a;
    int coid, coid2;
    long r, t0;
    int held;

    CHECK(fails_with(open_name("review/np/later"), ENOENT),
          "name_open of a name not attached yet: ENOENT");
    a = name_attach(NULL, "review/np/later", 0);
    CHECK(a != NULL && a->dpp == NULL && a->chid > 0, "then name_attach(NULL, the name, 0)");
    if (a == NULL) {
        return;
    }
    raw_start(&s, a->chid, 0);
    coid = open_name("review/np/later");
    CHECK(coid != -1 && (coid & _NTO_SIDE_CHANNEL) != 0,
          "name_open of the name attached later: a side-channel coid");
    CHECK(get(&s.connects) == 1, "the server answered one _IO_CONNECT with EOK");
    CHECK(send_msg(coid, NM_ECHO, 42) == 42, "a message over it");

    /* A REPLY-blocked client that times out: the server gets _PULSE_CODE_UNBLOCK (value: the
       rcvid) and the client stays blocked until the server answers (api §2.10). */
    t0 = now_ms();
    r = send_msg_ns(coid, NM_HOLD, 0, SHORT_NS);
    CHECK(fails_with(r, EINTR) && now_ms() - t0 >= 250,
          "a held send whose timeout fired ends with the server's MsgError(EINTR)");
    CHECK(get(&s.unblocks) == 1 && get(&s.unblock_matched) == 1,
          "the server got _PULSE_CODE_UNBLOCK whose value is the held rcvid");

    /* name_close of a coid another thread is REPLY-blocked on: that thread gets EBADF
       (api §2.3 ConnectDetach); the server gets the disconnect pulse. */
    coid2 = open_name("review/np/later");
    CHECK(coid2 != -1 && get(&s.connects) == 2, "a second name_open (the same connection)");
    start_sender(&t, coid, NM_HOLD, 0);
    CHECK(wait_for(&s.holds, 2), "the server holds the other thread's message");
    pthread_mutex_lock(&lock);
    held = s.held_rcvid;
    pthread_mutex_unlock(&lock);
    CHECK(name_close(coid) == 0, "name_close(coid) while another thread is REPLY-blocked on it");
    CHECK(join_sender(&t) && t.got == -1 && t.err == EBADF,
          "the REPLY-blocked thread is released with EBADF");
    CHECK(get(&s.disconnects) == 0, "no disconnect yet: the second coid shares the connection");
    CHECK(name_close(coid2) == 0, "name_close(the second coid)");
    CHECK(wait_for(&s.disconnects, 1) && get(&s.detached_ok) == 1,
          "then the server gets _PULSE_CODE_DISCONNECT and ConnectDetach(scoid) succeeds");
    errno = 0;
    CHECK(fails_with(MsgReply(held, EOK, NULL, 0), ESRCH),
          "a reply to the released thread's rcvid: ESRCH");
    CHECK(fails_with(name_close(coid2), EINVAL), "name_close of a closed coid: EINVAL");
    CHECK(fails_with(name_close(-1), EINVAL), "name_close(-1): EINVAL");

    coid = open_name("review/np/later");
    CHECK(coid != -1 && send_msg(coid, NM_STOP, 0) == 0 && raw_finish(&s), "the server stops");
    name_close(coid);
    CHECK(name_detach(a, 0) == 0, "name_detach");
    CHECK(fails_with(open_name("review/np/later"), ENOENT), "name_open after it: ENOENT");
}

/* name_detach(attach, 0) with one client REPLY-blocked and one SEND-blocked: both ESRCH
   (ChannelDestroy, api §2.2), later sends EBADF. */
static void detach_with_clients(void) {
    static struct raw s;
    struct sender t1, t2;
    name_attach_t *a = name_attach(NULL, "review/np/detach", 0);
    int coid;
    CHECK(a != NULL, "name_attach(\"review/np/detach\")");
    if (a == NULL) {
        return;
    }
    raw_start(&s, a->chid, 1);
    coid = open_name("review/np/detach");
    CHECK(coid != -1, "name_open");
    if (coid == -1) {
        name_detach(a, 0);
        return;
    }
    start_sender(&t1, coid, NM_HOLD, 0);
    CHECK(raw_finish(&s) && s.holds == 1, "one client REPLY-blocked (the server stops receiving)");
    start_sender(&t2, coid, NM_ECHO, 1);
    sleep_ms(150);
    CHECK(get(&t2.done) == 0, "another client SEND-blocked");
    CHECK(name_detach(a, 0) == 0, "name_detach(attach, 0) with both blocked");
    CHECK(join_sender(&t1) && t1.got == -1 && t1.err == ESRCH, "the REPLY-blocked client: ESRCH");
    CHECK(join_sender(&t2) && t2.got == -1 && t2.err == ESRCH, "the SEND-blocked client: ESRCH");
    CHECK(fails_with(send_msg(coid, NM_ECHO, 1), EBADF), "a later send: EBADF");
    CHECK(name_close(coid) == 0, "name_close of the dead coid");
}

/* A receive buffer smaller than a pulse: EFAULT ([D7] MsgReceive, api §1.3). */
static void small_receive(void) {
    name_attach_t *a = name_attach(NULL, "review/np/small", 0);
    char small[8];
    int coid;
    CHECK(a != NULL, "name_attach(\"review/np/small\")");
    if (a == NULL) {
        return;
    }
    coid = ConnectAttach(0, 0, a->chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid != -1 && MsgSendPulse(coid, -1, 5, 9) == 0, "a pulse queued on the name's channel");
    bound(_NTO_TIMEOUT_RECEIVE);
    errno = 0;
    CHECK(fails_with(MsgReceive(a->chid, small, sizeof small, NULL), EFAULT),
          "MsgReceive into 8 bytes of a pulse: EFAULT");
    ConnectDetach(coid);
    name_detach(a, 0);
}

/* Names: flags and bad names. */
static void name_checks(void) {
    name_attach_t *g;
    int coid;
    static struct raw s;
    CHECK(name_attach(NULL, "a/..", 0) == NULL && errno == EINVAL,
          "name_attach(\"a/..\"): EINVAL (a .. component)");
    CHECK(name_attach(NULL, "../a", 0) == NULL && errno == EINVAL, "name_attach(\"../a\"): EINVAL");
    g = name_attach(NULL, "review/np/global", NAME_FLAG_ATTACH_GLOBAL);
    CHECK(g != NULL, "name_attach(..., NAME_FLAG_ATTACH_GLOBAL)");
    if (g == NULL) {
        return;
    }
    raw_start(&s, g->chid, 0);
    coid = open_name("review/np/global");
    CHECK(coid != -1 && get(&s.connects) == 1 && send_msg(coid, NM_ECHO, 3) == 3,
          "name_open finds the global name; its server got the _IO_CONNECT");
    CHECK(send_msg(coid, NM_STOP, 0) == 0 && raw_finish(&s), "its server stops");
    name_close(coid);
    CHECK(name_detach(g, 0) == 0, "name_detach of the global name");
}

/* ---------------------------------------------------------------- the dispatch layer */

struct dsrv {
    dispatch_t *dpp;
    dispatch_context_t *ctp;
    pthread_t t;
    volatile int results[64];
    volatile int nresults;
    volatile int in_block; /* blocks entered */
    volatile int done, end_errno, block_null;
    /* What the handlers saw. */
    volatile int msg_first, msg_second, msg_code;
    volatile int held, held_rcvid;
    volatile int unblock_calls, unblock_value, unblock_matched, unblock_zero;
    volatile int disc_calls, disc_code, disc_detached;
    volatile int range_calls, range_code, single_calls;
    volatile int io_calls, io_code;
    volatile int stop;
    volatile int last_rcvid, last_code; /* what the last dispatch_block returned */
};

static int h_msg(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct dsrv *s = (struct dsrv *)handle;
    struct nm_msg *m = (struct nm_msg *)(void *)ctp->msg;
    (void)flags;
    pthread_mutex_lock(&lock);
    s->msg_first++;
    s->msg_code = code;
    if (code == NM_HOLD) {
        s->held = 1;
        s->held_rcvid = ctp->rcvid;
    } else if (code == NM_STOP) {
        s->stop = 1;
        MsgReply(ctp->rcvid, EOK, NULL, 0);
    } else {
        MsgReply(ctp->rcvid, m->value, NULL, 0);
    }
    pthread_mutex_unlock(&lock);
    return 7;
}

static int h_second(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct dsrv *s = (struct dsrv *)handle;
    (void)flags;
    (void)code;
    pthread_mutex_lock(&lock);
    s->msg_second++;
    pthread_mutex_unlock(&lock);
    MsgError(ctp->rcvid, EPERM);
    return 8;
}

static int h_unblock(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct dsrv *s = (struct dsrv *)handle;
    int value = ctp->msg->pulse.value.sival_int;
    (void)flags;
    pthread_mutex_lock(&lock);
    s->unblock_calls++;
    s->unblock_value = value;
    if (code == _PULSE_CODE_UNBLOCK && s->held && value == s->held_rcvid) {
        s->unblock_matched++;
        s->held = 0;
        MsgError(value, EINTR);
    } else if (value == 0) {
        s->unblock_zero++;
    }
    pthread_mutex_unlock(&lock);
    return 11;
}

static int h_disc(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct dsrv *s = (struct dsrv *)handle;
    (void)flags;
    pthread_mutex_lock(&lock);
    s->disc_calls++;
    s->disc_code = code;
    s->disc_detached += ConnectDetach(ctp->msg->pulse.scoid) == 0;
    pthread_mutex_unlock(&lock);
    return 12;
}

static int h_range(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct dsrv *s = (struct dsrv *)handle;
    (void)flags;
    (void)ctp;
    pthread_mutex_lock(&lock);
    s->range_calls++;
    s->range_code = code;
    pthread_mutex_unlock(&lock);
    return 13;
}

static int h_single(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct dsrv *s = (struct dsrv *)handle;
    (void)flags;
    (void)ctp;
    (void)code;
    pthread_mutex_lock(&lock);
    s->single_calls++;
    pthread_mutex_unlock(&lock);
    return 14;
}

static int h_io(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct dsrv *s = (struct dsrv *)handle;
    (void)flags;
    pthread_mutex_lock(&lock);
    s->io_calls++;
    s->io_code = code;
    pthread_mutex_unlock(&lock);
    if (code == _IO_CONNECT) {
        MsgReply(ctp->rcvid, EOK, NULL, 0);
    } else {
        MsgError(ctp->rcvid, ENOTSUP);
    }
    return 15;
}

static void *dsrv_main(void *arg) {
    struct dsrv *s = (struct dsrv *)arg;
    dispatch_context_t *ctp = s->ctp;
    for (;;) {
        dispatch_context_t *got;
        int r;
        pthread_mutex_lock(&lock);
        s->in_block++;
        pthread_mutex_unlock(&lock);
        bound(_NTO_TIMEOUT_RECEIVE);
        got = dispatch_block(ctp);
        if (got == NULL) {
            pthread_mutex_lock(&lock);
            s->end_errno = errno;
            s->block_null = 1;
            s->done = 1;
            pthread_mutex_unlock(&lock);
            break;
        }
        pthread_mutex_lock(&lock);
        s->last_rcvid = got->resmgr_context.rcvid;
        s->last_code = got->resmgr_context.rcvid == 0 ? got->resmgr_context.msg->pulse.code
                                                      : got->resmgr_context.msg->type;
        pthread_mutex_unlock(&lock);
        r = dispatch_handler(got);
        pthread_mutex_lock(&lock);
        if (s->nresults < 64) {
            s->results[s->nresults] = r;
        }
        s->nresults++;
        if (s->stop) {
            s->done = 1;
            pthread_mutex_unlock(&lock);
            break;
        }
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static int last_result(struct dsrv *s) {
    int v;
    pthread_mutex_lock(&lock);
    v = s->nresults > 0 && s->nresults <= 64 ? s->results[s->nresults - 1] : -999;
    pthread_mutex_unlock(&lock);
    return v;
}

/* Waits until the server handled `n` events in all. */
static int handled(struct dsrv *s, int n) {
    return wait_for(&s->nresults, n);
}

static void dispatch_names(void) {
    static struct dsrv s;
    message_attr_t attr;
    name_attach_t *a;
    int coid, side, n, r;
    int ok;
    long t0;

    memset(&s, 0, sizeof s);
    s.dpp = dispatch_create();
    CHECK(s.dpp != NULL, "dispatch_create");
    if (s.dpp == NULL) {
        return;
    }
    CHECK(message_attach(s.dpp, NULL, NM_ECHO, NM_GATED, h_msg, &s) == 0,
          "message_attach of the application's range");
    CHECK(message_attach(s.dpp, NULL, NM_HOLD, NM_OTHER, h_second, &s) == 0,
          "an overlapping range attached second");
    CHECK(pulse_attach(s.dpp, 0, _PULSE_CODE_UNBLOCK, h_unblock, &s) == _PULSE_CODE_UNBLOCK,
          "pulse_attach(_PULSE_CODE_UNBLOCK) returns the code");
    CHECK(pulse_attach(s.dpp, 0, _PULSE_CODE_DISCONNECT, h_disc, &s) == _PULSE_CODE_DISCONNECT,
          "pulse_attach(_PULSE_CODE_DISCONNECT) returns the code");
    memset(&attr, 0, sizeof attr);
    attr.flags = MSG_FLAG_TYPE_PULSE;
    CHECK(message_attach(s.dpp, &attr, 10, 20, h_range, &s) == 10,
          "message_attach of pulse codes 10..20 returns 10");
    CHECK(pulse_attach(s.dpp, 0, 15, h_single, &s) == 15, "pulse_attach(15) inside that range");
    r = pulse_attach(s.dpp, MSG_FLAG_TYPE_PULSE, 30, h_single, &s);
    CHECK(r == 30, "pulse_attach with MSG_FLAG_TYPE_PULSE in flags: the code (QNX ignores it)");
    a = name_attach(s.dpp, "review/np/dispatch", 0);
    CHECK(a != NULL && a->dpp == s.dpp && a->chid > 0, "name_attach(dpp, ...)");
    s.ctp = dispatch_context_alloc(s.dpp);
    CHECK(s.ctp != NULL, "dispatch_context_alloc");
    if (a == NULL || s.ctp == NULL) {
        return;
    }
    if (pthread_create(&s.t, NULL, dsrv_main, &s) != 0) {
        return;
    }

    coid = open_name("review/np/dispatch");
    CHECK(coid != -1 && (coid & _NTO_SIDE_CHANNEL) != 0,
          "name_open of a dispatch handle's name (its _IO_CONNECT answered by the layer)");
    CHECK(handled(&s, 1) && last_result(&s) == 0, "dispatch_handler of the _IO_CONNECT: 0");
    n = 1;
    CHECK(send_msg(coid, NM_ECHO, 5) == 5 && handled(&s, ++n) && last_result(&s) == 7,
          "a message to its handler; dispatch_handler returns the handler's 7");
    CHECK(get(&s.msg_second) == 0, "the overlapping second range did not get it");
    CHECK(fails_with(send_msg(coid, NM_OTHER, 0), EPERM) && handled(&s, ++n) &&
              last_result(&s) == 8,
          "a type only the second range has goes to it (8)");
    CHECK(fails_with(send_msg(coid, NM_OTHER + 1, 0), ENOSYS) && handled(&s, ++n) &&
              last_result(&s) == -1,
          "an unmatched type: ENOSYS, dispatch_handler -1");

    /* A held message whose client times out: the _PULSE_CODE_UNBLOCK handler gets the
       rcvid in the pulse's value. */
    t0 = now_ms();
    r = (int)send_msg_ns(coid, NM_HOLD, 0, SHORT_NS);
    CHECK(fails_with(r, EINTR) && now_ms() - t0 >= 250,
          "a held send that timed out ends with the unblock handler's MsgError(EINTR)");
    n += 2;
    CHECK(handled(&s, n) && get(&s.unblock_matched) == 1 && last_result(&s) == 11,
          "the unblock handler (code -32, value the rcvid) ran; dispatch_handler returned 11");

    /* Pulses: the range wins over the single code attached after it. */
    side = message_connect(s.dpp, MSG_FLAG_SIDE_CHANNEL);
    CHECK(side != -1 && MsgSendPulse(side, -1, 15, 0) == 0 && handled(&s, ++n) &&
              last_result(&s) == 13 && get(&s.range_code) == 15 && get(&s.single_calls) == 0,
          "pulse 15: the range attached first (13), with code 15");
    CHECK(MsgSendPulse(side, -1, 21, 0) == 0 && handled(&s, ++n) && last_result(&s) == -1,
          "an unmatched pulse: dispatch_handler -1");

    /* name_close (with message_connect's coid, which shares the connection, detached first):
       the disconnect pulse goes to its attached handler. */
    CHECK(ConnectDetach(side) == 0 && get(&s.disc_calls) == 0,
          "ConnectDetach(message_connect's coid): no disconnect yet (the name's coid shares it)");
    CHECK(name_close(coid) == 0, "name_close");
    CHECK(handled(&s, ++n) && get(&s.disc_calls) == 1 &&
              get(&s.disc_code) == _PULSE_CODE_DISCONNECT && get(&s.disc_detached) == 1 &&
              last_result(&s) == 12,
          "the _PULSE_CODE_DISCONNECT handler ran (code -33) and ConnectDetach(scoid) worked");

    /* dispatch_unblock: one blocked thread wakes with _PULSE_CODE_UNBLOCK, value 0. (QNX's
       detaches its coid after, which queues a disconnect pulse: not checked.) */
    dispatch_unblock(s.ctp);
    CHECK(wait_for(&s.unblock_zero, 1) && get(&s.unblock_calls) == 2,
          "dispatch_unblock: the blocked thread got _PULSE_CODE_UNBLOCK with value 0");
    sleep_ms(100);
    n = get(&s.nresults);

    /* dispatch_block while the handle's channel goes (a handle dispatch_unblock was used on):
       NULL, ESRCH (dispatch_destroy's ChannelDestroy, api §2.2), and nothing else first. */
    CHECK(get(&s.in_block) == n + 1 && get(&s.done) == 0, "the server is blocked again");
    CHECK(name_detach(a, 0) == 0, "name_detach(attach, 0) destroys the handle");
    ok = wait_for(&s.done, 1) && get(&s.block_null) == 1 && get(&s.end_errno) == ESRCH &&
         get(&s.nresults) == n;
    if (!ok) {
        printf("  (server: block NULL %d, errno %d, events %d (was %d): the last rcvid %d code %d, "
               "dispatch_handler %d)\n",
               get(&s.block_null), get(&s.end_errno), get(&s.nresults), n, get(&s.last_rcvid),
               get(&s.last_code), last_result(&s));
    }
    CHECK(ok, "the thread blocked in dispatch_block: NULL, ESRCH, no event before");
    pthread_join(s.t, NULL);
    dispatch_context_free(s.ctp);
    CHECK(fails_with(open_name("review/np/dispatch"), ENOENT), "the name is gone");
}

/* message_attach of _IO_BASE.._IO_MAX on a named handle: its handler gets _IO_CONNECT and the
   other I/O types (the reference: a programming choice, first attached wins). */
static void dispatch_io_range(void) {
    static struct dsrv s;
    name_attach_t *a;
    int coid;
    memset(&s, 0, sizeof s);
    s.dpp = dispatch_create();
    CHECK(s.dpp != NULL && message_attach(s.dpp, NULL, _IO_BASE, _IO_MAX, h_io, &s) == 0,
          "message_attach(_IO_BASE, _IO_MAX) is accepted");
    CHECK(message_attach(s.dpp, NULL, NM_ECHO, NM_STOP, h_msg, &s) == 0, "and the application's");
    a = s.dpp != NULL ? name_attach(s.dpp, "review/np/io", 0) : NULL;
    s.ctp = s.dpp != NULL ? dispatch_context_alloc(s.dpp) : NULL;
    if (a == NULL || s.ctp == NULL || pthread_create(&s.t, NULL, dsrv_main, &s) != 0) {
        CHECK(0, "a named handle with a server thread");
        return;
    }
    coid = open_name("review/np/io");
    CHECK(coid != -1 && get(&s.io_calls) == 1 && get(&s.io_code) == _IO_CONNECT,
          "name_open: the attached handler got the _IO_CONNECT (and let it in)");
    CHECK(fails_with(send_msg(coid, _IO_READ, 0), ENOTSUP) && get(&s.io_code) == _IO_READ,
          "an _IO_READ goes to the same handler");
    CHECK(name_close(coid) == 0 && wait_for(&s.nresults, 3) && last_result(&s) == 0 &&
              get(&s.last_code) == _PULSE_CODE_DISCONNECT,
          "name_close: the layer takes the unhandled disconnect pulse (0)");
    sleep_ms(100);
    CHECK(get(&s.in_block) == 4 && get(&s.done) == 0, "the server is blocked again");
    CHECK(name_detach(a, 0) == 0, "name_detach(attach, 0) with the server blocked");
    CHECK(wait_for(&s.done, 1) && get(&s.block_null) == 1 && get(&s.end_errno) == ESRCH &&
              get(&s.nresults) == 3,
          "its dispatch_block: NULL, ESRCH (no dispatch_unblock was used on this handle)");
    pthread_join(s.t, NULL);
    dispatch_context_free(s.ctp);
}

/* ---------------------------------------------------------------- thread pools */

static volatile int allocs, frees, unblock_calls;
static volatile pthread_t handler_thread;

static int on_pool_msg(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct nm_msg *m = (struct nm_msg *)(void *)ctp->msg;
    (void)flags;
    (void)handle;
    if (code == NM_GATED) {
        gate_pass();
    } else {
        pthread_mutex_lock(&lock);
        handler_thread = pthread_self();
        pthread_mutex_unlock(&lock);
    }
    MsgReply(ctp->rcvid, m->value, NULL, 0);
    return 0;
}

static dispatch_context_t *count_alloc(dispatch_t *dpp) {
    dispatch_context_t *c = dispatch_context_alloc(dpp);
    if (c != NULL) {
        pthread_mutex_lock(&lock);
        allocs++;
        pthread_mutex_unlock(&lock);
    }
    return c;
}

static void count_free(dispatch_context_t *ctp) {
    pthread_mutex_lock(&lock);
    frees++;
    pthread_mutex_unlock(&lock);
    dispatch_context_free(ctp);
}

static void count_unblock(dispatch_context_t *ctp) {
    pthread_mutex_lock(&lock);
    unblock_calls++;
    pthread_mutex_unlock(&lock);
    dispatch_unblock(ctp);
}

static dispatch_t *pool_dispatch(void) {
    dispatch_t *dpp = dispatch_create();
    if (dpp != NULL) {
        message_attach(dpp, NULL, NM_ECHO, NM_GATED, on_pool_msg, NULL);
    }
    return dpp;
}

static void pool_attr(thread_pool_attr_t *a, dispatch_t *dpp, int lo, int hi, int inc, int max) {
    memset(a, 0, sizeof *a);
    a->handle = dpp;
    a->context_alloc = count_alloc;
    a->block_func = dispatch_block;
    a->unblock_func = count_unblock;
    a->handler_func = dispatch_handler;
    a->context_free = count_free;
    a->lo_water = (unsigned short)lo;
    a->hi_water = (unsigned short)hi;
    a->increment = (unsigned short)inc;
    a->maximum = (unsigned short)max;
}

/* Waits (at most 10 s) until the pool shows created/waiting and `in` handlers are inside, then
   that it stays so for 200 ms (no late thread). */
static int pool_settles(thread_pool_t *tpp, unsigned created, unsigned waiting, int in) {
    int i, stable = 0;
    for (i = 0; i < 10000; i++) {
        if (tpp->created == created && tpp->waiting == waiting && (in < 0 || gate_inside() == in)) {
            if (++stable >= 200) {
                return 1;
            }
        } else {
            stable = 0;
        }
        sleep_ms(1);
    }
    printf("  (pool: created %u waiting %u inside %d; wanted %u %u %d)\n", tpp->created,
           tpp->waiting, gate_inside(), created, waiting, in);
    return 0;
}

static void burst(struct sender *c, int n, int coid) {
    int i;
    for (i = 0; i < n; i++) {
        start_sender(&c[i], coid, NM_GATED, 100 + i);
    }
}

static int all_answered(struct sender *c, int n) {
    int i, ok = 1;
    for (i = 0; i < n; i++) {
        ok &= join_sender(&c[i]) && c[i].got == 100 + i;
    }
    return ok;
}

struct destroyer {
    pthread_t t;
    thread_pool_t *tpp;
    volatile int done, result;
};

static void *destroyer_main(void *arg) {
    struct destroyer *d = (struct destroyer *)arg;
    int r = thread_pool_destroy(d->tpp);
    pthread_mutex_lock(&lock);
    d->result = r;
    d->done = 1;
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* lo 3, hi 6, increment 2, maximum 10: QNX's _thread_pool_update arithmetic. */
static void pool_water_marks(void) {
    dispatch_t *dpp = pool_dispatch();
    thread_pool_attr_t a;
    thread_pool_t *tpp;
    struct sender c[8];
    struct destroyer d;
    int coid, u0;

    pool_attr(&a, dpp, 3, 6, 2, 10);
    tpp = thread_pool_create(&a, 0);
    CHECK(tpp != NULL && thread_pool_start(tpp) == 0, "a pool lo 3, hi 6, increment 2, maximum 10");
    if (tpp == NULL) {
        return;
    }
    CHECK(pool_settles(tpp, 3, 3, 0), "started: lo_water (3) threads, all blocked");
    coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    set_gate(0);
    burst(c, 8, coid);
    CHECK(pool_settles(tpp, 10, 2, 8),
          "8 handlers blocked: grown by 2s to maximum 10, 2 left blocked in dispatch_block");
    set_gate(1);
    CHECK(all_answered(c, 8), "every client answered");
    CHECK(pool_settles(tpp, 6, 6, 0), "then shrunk to hi_water: 6 threads, all blocked");

    /* thread_pool_control lowering hi_water: unblock_func once per surplus thread. */
    pthread_mutex_lock(&lock);
    u0 = unblock_calls;
    pthread_mutex_unlock(&lock);
    a.lo_water = 2;
    a.hi_water = 2;
    CHECK(thread_pool_control(tpp, &a, 2, 2,
                              THREAD_POOL_CONTROL_LOWATER | THREAD_POOL_CONTROL_HIWATER) == 0,
          "thread_pool_control to lo 2, hi 2");
    CHECK(pool_settles(tpp, 2, 2, 0) && get(&unblock_calls) - u0 == 4,
          "4 surplus threads unblocked (unblock_func 4 times) and gone");
    CHECK(tpp->pool_attr.lo_water == 2 && tpp->pool_attr.hi_water == 2,
          "tpp->pool_attr shows the limits thread_pool_control set");
    a.lo_water = 3;
    a.hi_water = 6;
    CHECK(thread_pool_control(tpp, &a, 3, 6,
                              THREAD_POOL_CONTROL_LOWATER | THREAD_POOL_CONTROL_HIWATER) == 0 &&
              pool_settles(tpp, 3, 3, 0),
          "back to lo 3, hi 6: 3 threads");

    /* Destroy with handlers blocked: it waits for them; unblock_func once per thread. */
    set_gate(0);
    burst(c, 8, coid);
    CHECK(pool_settles(tpp, 10, 2, 8), "again 8 handlers blocked, 10 threads");
    pthread_mutex_lock(&lock);
    u0 = unblock_calls;
    pthread_mutex_unlock(&lock);
    memset(&d, 0, sizeof d);
    d.tpp = tpp;
    if (pthread_create(&d.t, NULL, destroyer_main, &d) != 0) {
        set_gate(1);
        return;
    }
    sleep_ms(400);
    CHECK(get(&d.done) == 0, "thread_pool_destroy waits while handlers are blocked");
    CHECK(get(&unblock_calls) - u0 == 10, "it called unblock_func once per created thread (10)");
    set_gate(1);
    CHECK(all_answered(c, 8), "the blocked handlers' clients are answered");
    CHECK(wait_for(&d.done, 1) && get(&d.result) == 0, "then thread_pool_destroy returns 0");
    pthread_join(d.t, NULL);
    CHECK(get(&allocs) == get(&frees), "every context allocated was freed");
    ConnectDetach(coid);
    dispatch_destroy(dpp);
}

/* lo 2, hi 3, increment 10 (capped by hi_water), maximum 20. */
static void pool_big_increment(void) {
    dispatch_t *dpp = pool_dispatch();
    thread_pool_attr_t a;
    thread_pool_t *tpp;
    struct sender c[5];
    int coid;

    pool_attr(&a, dpp, 2, 3, 10, 20);
    tpp = thread_pool_create(&a, 0);
    CHECK(tpp != NULL && thread_pool_start(tpp) == 0, "a pool lo 2, hi 3, increment 10, max 20");
    if (tpp == NULL) {
        return;
    }
    CHECK(pool_settles(tpp, 2, 2, 0), "started: 2 threads");
    coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    set_gate(0);
    burst(c, 5, coid);
    CHECK(pool_settles(tpp, 8, 3, 5),
          "5 handlers blocked: increments capped at hi_water blocked: 8 threads, 3 blocked");
    set_gate(1);
    CHECK(all_answered(c, 5), "every client answered");
    CHECK(pool_settles(tpp, 3, 3, 0), "shrunk to hi_water 3");
    CHECK(thread_pool_destroy(tpp) == 0, "destroy");
    ConnectDetach(coid);
    dispatch_destroy(dpp);
}

/* lo 0, hi 1: one thread, never more (nothing below lo_water to make more). */
static void pool_lo_zero(void) {
    dispatch_t *dpp = pool_dispatch();
    thread_pool_attr_t a;
    thread_pool_t *tpp;
    struct sender c[2];
    int coid;

    pool_attr(&a, dpp, 0, 1, 1, 4);
    tpp = thread_pool_create(&a, 0);
    CHECK(tpp != NULL && thread_pool_start(tpp) == 0, "a pool lo 0, hi 1, max 4");
    if (tpp == NULL) {
        return;
    }
    CHECK(pool_settles(tpp, 1, 1, 0), "started: the first thread only");
    coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    set_gate(0);
    burst(c, 2, coid);
    CHECK(pool_settles(tpp, 1, 0, 1), "2 clients: one handler busy, no thread added");
    set_gate(1);
    CHECK(all_answered(c, 2), "both answered, one after the other");
    CHECK(pool_settles(tpp, 1, 1, 0), "one thread, blocked");
    CHECK(thread_pool_destroy(tpp) == 0, "destroy");
    ConnectDetach(coid);
    dispatch_destroy(dpp);
}

/* Normalisation at start, as tpp->pool_attr shows it; POOL_FLAG_USE_SELF. */
static void *use_self_starter(void *arg) {
    thread_pool_start(arg);
    return (void *)1;
}

static void pool_start_flags(void) {
    dispatch_t *dpp = pool_dispatch();
    thread_pool_attr_t a;
    thread_pool_t *tpp;
    pthread_t t;
    void *ret = (void *)2;
    int coid;

    pool_attr(&a, dpp, 9, 7, 1, 3);
    tpp = thread_pool_create(&a, 0);
    CHECK(tpp != NULL && thread_pool_start(tpp) == 0, "a pool lo 9 > hi 7 > maximum 3");
    if (tpp == NULL) {
        return;
    }
    CHECK(pool_settles(tpp, 3, 3, 0), "3 threads (hi and lo lowered to maximum)");
    CHECK(tpp->pool_attr.hi_water == 3 && tpp->pool_attr.lo_water == 3 &&
              tpp->pool_attr.maximum == 3,
          "tpp->pool_attr shows the normalised limits (hi 3, lo 3)");
    CHECK(thread_pool_destroy(tpp) == 0, "destroy");
    dispatch_destroy(dpp);

    dpp = pool_dispatch();
    pool_attr(&a, dpp, 1, 1, 1, 1);
    tpp = thread_pool_create(&a, POOL_FLAG_USE_SELF);
    CHECK(tpp != NULL, "a USE_SELF pool of one thread");
    if (tpp == NULL || pthread_create(&t, NULL, use_self_starter, tpp) != 0) {
        return;
    }
    CHECK(pool_settles(tpp, 1, 1, 0), "its one thread is the caller of thread_pool_start");
    coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    CHECK(send_msg(coid, NM_ECHO, 4) == 4 && pthread_equal(handler_thread, t),
          "a message served by the starter thread");
    CHECK(thread_pool_destroy(tpp) == 0, "destroy");
    pthread_join(t, &ret);
    CHECK(ret == NULL, "the starter left through pthread_exit");
    ConnectDetach(coid);
    dispatch_destroy(dpp);
}

/* ---------------------------------------------------------------- two programs */

static int server_role(const char *name) {
    union {
        struct _io_connect c;
        char bytes[128];
        struct _pulse p;
        struct nm_msg m;
        _Uint16t type;
    } u;
    struct _msg_info info;
    name_attach_t *a = name_attach(NULL, name, 0);
    int connects = 0, disconnects = 0, detached = 0, pid_ok = 0, echoes = 0;
    CHECK(a != NULL, "server: name_attach(NULL, NAME, 0)");
    if (a == NULL) {
        return SUMMARY();
    }
    printf("ready\n");
    fflush(stdout);
    while (disconnects < 2) {
        rcvid_t rcvid;
        memset(&u, 0, sizeof u);
        bound(_NTO_TIMEOUT_RECEIVE);
        rcvid = MsgReceive(a->chid, &u, sizeof u, &info);
        if (rcvid == -1) {
            CHECK(0, "server: MsgReceive");
            break;
        }
        if (rcvid == 0) {
            if (u.p.code == _PULSE_CODE_DISCONNECT) {
                disconnects++;
                detached += ConnectDetach(u.p.scoid) == 0;
            }
        } else if (u.type == _IO_CONNECT) {
            connects++;
            MsgReply(rcvid, EOK, NULL, 0);
        } else if (u.type == NM_ECHO) {
            echoes++;
            MsgReply(rcvid, u.m.value, NULL, 0);
        } else if (u.type == NM_PID) {
            pid_ok += info.pid == (pid_t)u.m.value;
            MsgReply(rcvid, (long)info.pid, NULL, 0);
        } else {
            MsgError(rcvid, ENOSYS);
        }
    }
    CHECK(connects == 2, "server: two _IO_CONNECTs (two name_opens)");
    CHECK(echoes == 2 && pid_ok == 1, "server: the messages, and the client's pid in _msg_info");
    CHECK(disconnects == 2 && detached == 2,
          "server: a disconnect pulse for name_close and one for the client's exit");
    CHECK(name_detach(a, 0) == 0, "server: name_detach");
    return SUMMARY();
}

static int client_role(const char *name) {
    int coid = open_name(name);
    CHECK(coid != -1 && (coid & _NTO_SIDE_CHANNEL) != 0, "client: name_open");
    if (coid == -1) {
        return SUMMARY();
    }
    CHECK(send_msg(coid, NM_ECHO, 21) == 21, "client: a message");
    CHECK(send_msg(coid, NM_PID, (int)getpid()) == (long)getpid(), "client: the server sees my pid");
    CHECK(fails_with(send_msg(coid, _IO_STAT, 0), ENOSYS), "client: an _IO_* type: ENOSYS");
    CHECK(name_close(coid) == 0, "client: name_close");
    coid = open_name(name);
    CHECK(coid != -1 && send_msg(coid, NM_ECHO, 22) == 22, "client: name_open again");
    /* Ends without name_close: the server hears of it. */
    return SUMMARY();
}

int main(int argc, char **argv) {
    alarm(150);
    if (argc == 3 && strcmp(argv[1], "server") == 0) {
        return server_role(argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "client") == 0) {
        return client_role(argv[2]);
    }
    raw_names();
    detach_with_clients();
    small_receive();
    name_checks();
    dispatch_names();
    dispatch_io_range();
    pool_water_marks();
    pool_big_increment();
    pool_lo_zero();
    pool_start_flags();
    return SUMMARY();
}
