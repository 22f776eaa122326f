/*
 * cancel_suite.c: pthread_cancel of a thread blocked in a kernel call, through libqnxsim's
 * <pthread.h>. QNX's kernel calls are cancellation points (MsgSend* but the *nc forms,
 * MsgReceive*, InterruptWait, delay() and the sleeps): a cancelled thread blocked in one leaves
 * it and is cancelled (its cleanup handlers, and in C++ its destructors, run; pthread_join
 * gives PTHREAD_CANCELED), with QNX's rules for the exchange it was in: a SEND-blocked message
 * is withdrawn unseen; a REPLY-blocked client is released at once, or, on a channel with
 * _NTO_CHF_UNBLOCK, its server gets _PULSE_CODE_UNBLOCK and the client goes once answered. A
 * call that is not a cancellation point (MsgSendnc), or a thread with cancellation disabled,
 * is not ended; the cancellation acts at the next cancellation point. read() of a resource
 * manager that holds the request is a cancellation point too, and so are open() and
 * name_open() (a held open ends; a pending cancellation acts before the manager grants
 * anything) and close() (acting before it closes: the descriptor stays open). The kernel's
 * threads and the channels' queues are as before at the end.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <sys/neutrino.h>
#include <sys/resmgr.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#ifdef __cplusplus
/* A local object whose destructor must run when the thread is cancelled. */
struct Guard {
    volatile int *flag;
    explicit Guard(volatile int *f) : flag(f) {}
    ~Guard() { *flag = 1; }
};
#endif

static int server_chid, unblock_chid;
static int coid, unblock_coid;

/* What a thread saw: set by its cleanup handler, and by what it did before. */
struct seen {
    volatile int cleaned;
    volatile int destroyed;
    volatile int started;
    volatile int returned;
    int how;
};

static void cleanup(void *arg) {
    ((struct seen *)arg)->cleaned = 1;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    /* (glibc's own: the main thread's waits are not what is tested.) */
    (nanosleep)(&ts, NULL);
}

/* The calls a thread blocks in. */
enum how {
    RECEIVE,
    RECEIVE_PULSE,
    SEND_UNRECEIVED,
    SEND_REPLY,
    SEND_REPLY_UNBLOCK,
    SEND_NC,
    INTERRUPT_WAIT,
    NANOSLEEP,
    CLOCK_NANOSLEEP,
    SLEEP,
    USLEEP,
    DELAY,
    RECEIVE_DISABLED,
    SELF_CANCEL,
    HOWS
};

static const char *names[HOWS] = {
    "MsgReceive",      "MsgReceivePulse", "MsgSend (SEND-blocked)", "MsgSend (REPLY-blocked)",
    "MsgSend (REPLY-blocked, _NTO_CHF_UNBLOCK)", "MsgSendnc", "InterruptWait", "nanosleep",
    "clock_nanosleep", "sleep", "usleep", "delay", "MsgReceive, cancellation disabled",
    "pthread_cancel of itself"};

static void *blocker(void *arg) {
    struct seen *s = (struct seen *)arg;
    char buf[64];
    struct timespec ts = {60, 0};
    pthread_cleanup_push(cleanup, s);
#ifdef __cplusplus
    Guard g(&s->destroyed);
#endif
    s->started = 1;
    switch (s->how) {
    case RECEIVE:
        MsgReceive(server_chid, buf, sizeof buf, NULL);
        break;
    case RECEIVE_PULSE:
        MsgReceivePulse(server_chid, buf, sizeof buf, NULL);
        break;
    case SEND_UNRECEIVED:
    case SEND_REPLY:
        MsgSend(coid, "hello", 6, buf, sizeof buf);
        break;
    case SEND_REPLY_UNBLOCK:
        MsgSend(unblock_coid, "hello", 6, buf, sizeof buf);
        break;
    case SEND_NC:
        MsgSendnc(coid, "hello", 6, buf, sizeof buf);
        s->returned = 1;
        delay(60000); /* a cancellation point: the cancellation acts here */
        break;
    case INTERRUPT_WAIT:
        InterruptWait(0, NULL);
        break;
    case NANOSLEEP:
        nanosleep(&ts, NULL);
        break;
    case CLOCK_NANOSLEEP:
        clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
        break;
    case SLEEP:
        sleep(60);
        break;
    case USLEEP:
        usleep(60000000);
        break;
    case DELAY:
        delay(60000);
        break;
    case RECEIVE_DISABLED: {
        int old;
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
        s->started = 2;
        /* Cancelled meanwhile: with cancellation disabled, the receive times out as usual. */
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
        {
            uint64_t t = 300000000ULL;
            TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &t, NULL);
        }
        if (MsgReceive(server_chid, buf, sizeof buf, NULL) == -1 && errno == ETIMEDOUT) {
            s->returned = 1;
        }
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
        MsgReceive(server_chid, buf, sizeof buf, NULL); /* acts at once */
        break;
    }
    case SELF_CANCEL:
        pthread_cancel(pthread_self());
        s->returned = 1;
        MsgReceive(server_chid, buf, sizeof buf, NULL); /* acts at once */
        break;
    }
    s->returned = 2; /* never: every case is cancelled */
    pthread_cleanup_pop(0);
    return NULL;
}

/* Waits (at most 5 s) until thread state `started` reaches `v`, then lets it block. */
static void wait_started(struct seen *s, int v) {
    int i;
    for (i = 0; i < 500 && s->started < v; i++) {
        sleep_ms(10);
    }
    sleep_ms(50);
}

/* Whether pthread_join of `t` gives PTHREAD_CANCELED within `ms` (a bounded join). */
static int joined_cancelled(pthread_t t, long ms) {
    void *res = NULL;
    uint64_t ns = (uint64_t)ms * 1000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_JOIN, NULL, &ns, NULL);
    int r = pthread_join(t, &res);
    return r == 0 && res == PTHREAD_CANCELED;
}

/* Whether pthread_join of `t` is still waiting after `ms`. */
static int still_running(pthread_t t, long ms) {
    uint64_t ns = (uint64_t)ms * 1000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_JOIN, NULL, &ns, NULL);
    return pthread_join(t, NULL) == ETIMEDOUT;
}

/* Polls `chid` once: the rcvid (>0), 0 for a pulse (in `buf`), -1 for nothing. */
static int poll_receive(int chid, void *buf, size_t n) {
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    return MsgReceive(chid, buf, n, NULL);
}

/* Receives on `chid`, waiting at most 5 s. */
static int receive_bounded(int chid, void *buf, size_t n) {
    uint64_t ns = 5000000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    return MsgReceive(chid, buf, n, NULL);
}

static int kernel_threads(void) {
    int n = 0, tid;
    for (tid = 1; tid < 512; tid++) {
        struct sched_param sp;
        if (SchedGet(0, tid, &sp) != -1) {
            n++;
        }
    }
    return n;
}

static void one(enum how how) {
    struct seen s;
    pthread_t t;
    char what[160];
    union {
        struct _pulse pulse;
        char bytes[64];
    } msg;
    memset(&s, 0, sizeof s);
    s.how = how;
    snprintf(what, sizeof what, "%s: started", names[how]);
    CHECK(pthread_create(&t, NULL, blocker, &s) == 0, what);
    wait_started(&s, how == RECEIVE_DISABLED ? 2 : 1);

    int rcvid = -1;
    if (how == SEND_REPLY) {
        rcvid = receive_bounded(server_chid, &msg, sizeof msg);
        snprintf(what, sizeof what, "%s: the server has the message", names[how]);
        CHECK(rcvid > 0, what);
    } else if (how == SEND_REPLY_UNBLOCK) {
        rcvid = receive_bounded(unblock_chid, &msg, sizeof msg);
        snprintf(what, sizeof what, "%s: the server has the message", names[how]);
        CHECK(rcvid > 0, what);
    }
    if (how != SELF_CANCEL) {
        snprintf(what, sizeof what, "%s: pthread_cancel", names[how]);
        CHECK(pthread_cancel(t) == 0, what);
    }

    switch (how) {
    case SEND_REPLY_UNBLOCK: {
        /* The client stays until the server answers; the server gets the unblock pulse. */
        int p = receive_bounded(unblock_chid, &msg, sizeof msg);
        CHECK(p == 0 && msg.pulse.code == _PULSE_CODE_UNBLOCK && msg.pulse.value.sival_int == rcvid,
              "_NTO_CHF_UNBLOCK: the server gets _PULSE_CODE_UNBLOCK with the rcvid");
        CHECK(still_running(t, 200), "_NTO_CHF_UNBLOCK: the client waits for the answer");
        CHECK(MsgError(rcvid, EINTR) == 0, "the server answers");
        break;
    }
    case SEND_NC:
        CHECK(still_running(t, 200), "MsgSendnc: not a cancellation point, still blocked");
        rcvid = receive_bounded(server_chid, &msg, sizeof msg);
        CHECK(rcvid > 0 && MsgReply(rcvid, 0, "ok", 3) == 0, "MsgSendnc: received, answered");
        break;
    case RECEIVE_DISABLED:
        break;
    default:
        break;
    }
    snprintf(what, sizeof what, "%s: the thread is cancelled", names[how]);
    CHECK(joined_cancelled(t, 5000), what);
    snprintf(what, sizeof what, "%s: its cleanup handler ran", names[how]);
    CHECK(s.cleaned == 1, what);
#ifdef __cplusplus
    snprintf(what, sizeof what, "%s: its destructors ran", names[how]);
    CHECK(s.destroyed == 1, what);
#endif
    if (how == SEND_NC || how == RECEIVE_DISABLED || how == SELF_CANCEL) {
        snprintf(what, sizeof what, "%s: returned first", names[how]);
        CHECK(s.returned == 1, what);
    } else {
        snprintf(what, sizeof what, "%s: never returned", names[how]);
        CHECK(s.returned == 0, what);
    }
    if (how == SEND_UNRECEIVED) {
        CHECK(poll_receive(server_chid, &msg, sizeof msg) == -1 && errno == ETIMEDOUT,
              "a cancelled SEND-blocked message is withdrawn unseen");
    }
    if (how == SEND_REPLY) {
        CHECK(MsgReply(rcvid, 0, "late", 5) == -1 && errno == ESRCH,
              "a reply to a cancelled client: ESRCH");
    }
}

/* Cancels a thread looping in MsgReceive at random moments, many times: each is cancelled
 * (never a hang), whatever the moment. */
static void *looper(void *arg) {
    char buf[16];
    (void)arg;
    for (;;) {
        MsgReceive(server_chid, buf, sizeof buf, NULL);
    }
    return NULL;
}

static void random_moments(void) {
    int i, ok = 1;
    srand(7);
    for (i = 0; i < 100 && ok; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, looper, NULL) != 0) {
            ok = 0;
            break;
        }
        if (rand() % 4) {
            struct timespec ts = {0, (long)(rand() % 2000) * 1000L};
            (nanosleep)(&ts, NULL);
        }
        pthread_cancel(t);
        ok = joined_cancelled(t, 5000);
    }
    CHECK(ok, "a thread in MsgReceive cancelled at 100 random moments");
}


/* ---------------------------------------------------------------- a resource manager's read */

#define RPATH "/dev/cancel-suite"
static volatile int held_rcvid;

#define OPATH "/dev/cancel-suite-open"
static volatile int held_open_rcvid, opens_counted;

/* An open handler that counts the opens it grants. */
static int counting_open(resmgr_context_t *ctp, io_open_t *msg, RESMGR_HANDLE_T *handle,
                         void *extra) {
    opens_counted++;
    return iofunc_open_default(ctp, msg, handle, extra);
}

/* An open handler that holds its client. */
static int held_open(resmgr_context_t *ctp, io_open_t *msg, RESMGR_HANDLE_T *handle,
                     void *extra) {
    (void)msg;
    (void)handle;
    (void)extra;
    held_open_rcvid = ctp->rcvid;
    return _RESMGR_NOREPLY;
}

/* A thread that opens `path` (or name_open's it): with `pending`, it first waits, with
 * cancellation disabled, until it has been cancelled (`go`), so that the cancellation is
 * pending when it calls. */
struct opener {
    struct seen s;
    const char *path;
    int pending, use_name, fd;
    volatile int go;
};

static void *opener_fn(void *arg) {
    struct opener *o = (struct opener *)arg;
    int fd;
    pthread_cleanup_push(cleanup, &o->s);
    if (o->pending) {
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    }
    o->s.started = 1;
    while (o->pending && !o->go) {
        sleep_ms(5);
    }
    if (o->pending) {
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    }
    fd = o->use_name ? name_open(o->path, 0) : open(o->path, O_RDONLY);
    o->fd = fd;
    o->s.returned = 1;
    pthread_cleanup_pop(0);
    return NULL;
}

/* A thread that opens `path`, then, with a cancellation pending, closes it. */
static void *closer_fn(void *arg) {
    struct opener *o = (struct opener *)arg;
    pthread_cleanup_push(cleanup, &o->s);
    o->fd = open(o->path, O_RDONLY);
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    o->s.started = o->fd >= 0 ? 1 : -1;
    while (!o->go) {
        sleep_ms(5);
    }
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    close(o->fd);
    o->s.returned = 1;
    pthread_cleanup_pop(0);
    return NULL;
}

/* Starts `fn` with `o`, waits until it has started, cancels it, and lets it go on. */
static pthread_t cancelled_pending(void *(*fn)(void *), struct opener *o) {
    pthread_t t;
    pthread_create(&t, NULL, fn, o);
    wait_started(&o->s, 1);
    pthread_cancel(t);
    o->go = 1;
    return t;
}

/* A thread that opens and closes `path` for ever; its cleanup handler closes what it holds. */
static void close_held(void *arg) {
    int *fd = (int *)arg;
    if (*fd >= 0) {
        close(*fd);
    }
}

static void *open_close_loop(void *arg) {
    const char *path = (const char *)arg;
    int fd = -1;
    pthread_cleanup_push(close_held, &fd);
    for (;;) {
        fd = open(path, O_RDONLY);
        if (fd >= 0) {
            close(fd); /* (a cancelled close leaves it open: the handler closes it) */
            fd = -1;
        }
    }
    pthread_cleanup_pop(0);
    return NULL;
}

/* The manager's open count of `attr`. */
static int open_count(iofunc_attr_t *attr) {
    int n;
    iofunc_attr_lock(attr);
    n = attr->count;
    iofunc_attr_unlock(attr);
    return n;
}

/* Cancels open_close_loop at random moments: every cancellation acts (in an open, a close or
 * between them), nothing aborts, and no open is left behind: the manager's open count is as
 * before at the end. */
static void open_close_random(iofunc_attr_t *attr) {
    int i, cancelled = 0, before = open_count(attr);
    srand(7);
    for (i = 0; i < 60; i++) {
        pthread_t t;
        pthread_create(&t, NULL, open_close_loop, (void *)RPATH);
        sleep_ms(rand() % 4);
        pthread_cancel(t);
        cancelled += joined_cancelled(t, 5000);
    }
    CHECK(cancelled == 60, "open/close loop cancelled at random moments: every one acted");
    {
        int n = open_count(attr);
        for (i = 0; i < 100 && n != before; i++) {
            sleep_ms(10);
            n = open_count(attr);
        }
        CHECK(n == before, "no open left behind by a cancellation");
    }
}

/* open() and name_open() of a manager's path, and close() of its descriptor, are
 * cancellation points: a held open ends, a pending cancellation acts before the open (the
 * manager grants nothing) or the close (the descriptor stays open). */
static void open_close(void) {
    struct opener o;
    pthread_t t;
    int before;
    /* A held open. */
    memset(&o, 0, sizeof o);
    o.path = OPATH;
    held_open_rcvid = 0;
    pthread_create(&t, NULL, opener_fn, &o);
    {
        int i;
        for (i = 0; i < 500 && held_open_rcvid == 0; i++) {
            sleep_ms(10);
        }
    }
    CHECK(held_open_rcvid > 0, "open: the manager holds the open");
    CHECK(pthread_cancel(t) == 0, "open: pthread_cancel");
    sleep_ms(300);
    MsgError(held_open_rcvid, EINTR); /* (ESRCH if the manager's unblock handling answered) */
    CHECK(joined_cancelled(t, 5000), "open() held by a manager: the thread is cancelled");
    CHECK(o.s.cleaned == 1 && o.s.returned == 0, "open: cleanup ran, open never returned");
    /* A cancellation pending at open(): acted on before the manager is asked. */
    memset(&o, 0, sizeof o);
    o.path = RPATH;
    o.pending = 1;
    before = opens_counted;
    t = cancelled_pending(opener_fn, &o);
    CHECK(joined_cancelled(t, 5000), "open() with a cancellation pending: cancelled");
    CHECK(o.s.cleaned == 1 && o.s.returned == 0 && opens_counted == before,
          "open: cancelled before the manager granted an open");
    /* The same for name_open(), whatever the name. */
    memset(&o, 0, sizeof o);
    o.path = "cancel-suite-no-such-name";
    o.pending = 1;
    o.use_name = 1;
    t = cancelled_pending(opener_fn, &o);
    CHECK(joined_cancelled(t, 5000), "name_open() with a cancellation pending: cancelled");
    CHECK(o.s.cleaned == 1 && o.s.returned == 0, "name_open: cleanup ran, never returned");
    /* close() with a cancellation pending: acted on before the descriptor is closed. */
    memset(&o, 0, sizeof o);
    o.path = RPATH;
    t = cancelled_pending(closer_fn, &o);
    CHECK(joined_cancelled(t, 5000), "close() with a cancellation pending: cancelled");
    CHECK(o.s.started == 1 && o.s.cleaned == 1 && o.s.returned == 0,
          "close: cleanup ran, close never returned");
    CHECK(close(o.fd) == 0, "close: the cancelled close left the descriptor open");
}

/* A read handler that holds its client (answered later, or never). */
static int held_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb) {
    (void)msg;
    (void)ocb;
    held_rcvid = ctp->rcvid;
    return _RESMGR_NOREPLY;
}

static void *serve(void *arg) {
    dispatch_t *dpp = (dispatch_t *)arg;
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    for (;;) {
        ctp = dispatch_block(ctp);
        if (ctp != NULL) {
            dispatch_handler(ctp);
        }
    }
    return NULL;
}

static void *reader(void *arg) {
    struct seen *s = (struct seen *)arg;
    char buf[8];
    int fd;
    pthread_cleanup_push(cleanup, s);
    fd = open(RPATH, O_RDONLY);
    s->started = fd >= 0 ? 1 : -1;
    if (fd >= 0) {
        read(fd, buf, sizeof buf);
        s->returned = 1;
    }
    pthread_cleanup_pop(0);
    return NULL;
}

static void resmgr_read(void) {
    static resmgr_connect_funcs_t cf, ocf;
    static resmgr_io_funcs_t iof, oiof;
    static iofunc_attr_t attr, oattr;
    resmgr_attr_t ra;
    pthread_t server, t;
    struct seen s;
    dispatch_t *dpp = dispatch_create();
    memset(&ra, 0, sizeof ra);
    ra.nparts_max = 1;
    ra.msg_max_size = 512;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &cf, _RESMGR_IO_NFUNCS, &iof);
    iof.read = held_read;
    cf.open = counting_open;
    iofunc_attr_init(&attr, S_IFCHR | 0666, NULL, NULL);
    CHECK(dpp != NULL && resmgr_attach(dpp, &ra, RPATH, _FTYPE_ANY, _RESMGR_FLAG_SELF, &cf,
                                       &iof, &attr) >= 0,
          "a resource manager at " RPATH);
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &ocf, _RESMGR_IO_NFUNCS, &oiof);
    ocf.open = held_open;
    iofunc_attr_init(&oattr, S_IFCHR | 0666, NULL, NULL);
    CHECK(resmgr_attach(dpp, &ra, OPATH, _FTYPE_ANY, _RESMGR_FLAG_SELF, &ocf, &oiof, &oattr) >=
              0,
          "a resource manager at " OPATH);
    pthread_create(&server, NULL, serve, dpp);
    memset(&s, 0, sizeof s);
    held_rcvid = 0;
    CHECK(pthread_create(&t, NULL, reader, &s) == 0, "read: started");
    {
        int i;
        for (i = 0; i < 500 && held_rcvid == 0; i++) {
            sleep_ms(10);
        }
    }
    CHECK(s.started == 1 && held_rcvid > 0, "read: the manager holds the request");
    CHECK(pthread_cancel(t) == 0, "read: pthread_cancel");
    /* The manager's channel has _NTO_CHF_UNBLOCK: the client goes once the manager answers
     * (its unblock handling, or this reply). */
    sleep_ms(300);
    MsgError(held_rcvid, EINTR); /* (ESRCH if the manager's unblock handling answered first) */
    CHECK(joined_cancelled(t, 5000), "read() of a resource manager: the thread is cancelled");
    CHECK(s.cleaned == 1 && s.returned == 0, "read: its cleanup handler ran, read never returned");
    open_close();
    open_close_random(&attr);
    pthread_cancel(server);
    CHECK(joined_cancelled(server, 5000), "the manager's thread in dispatch_block: cancelled");
}

int main(void) {
    int base, h;
    alarm(120);
    server_chid = ChannelCreate(0);
    unblock_chid = ChannelCreate(_NTO_CHF_UNBLOCK);
    coid = ConnectAttach(0, 0, server_chid, _NTO_SIDE_CHANNEL, 0);
    unblock_coid = ConnectAttach(0, 0, unblock_chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(server_chid > 0 && unblock_chid > 0 && coid != -1 && unblock_coid != -1, "channels");
    base = kernel_threads();
    for (h = 0; h < HOWS; h++) {
        one((enum how)h);
    }
    random_moments();
    resmgr_read();
    {
        char buf[64];
        CHECK(poll_receive(server_chid, buf, sizeof buf) == -1 && errno == ETIMEDOUT,
              "nothing left queued");
        CHECK(poll_receive(unblock_chid, buf, sizeof buf) == -1 && errno == ETIMEDOUT,
              "nothing left queued on the unblock channel");
    }
    /* (A cancelled thread's kernel thread goes as the thread ends.) */
    {
        int i, n = kernel_threads();
        for (i = 0; i < 100 && n != base; i++) {
            sleep_ms(10);
            n = kernel_threads();
        }
        CHECK(n == base, "the kernel's threads are as before");
    }
    return SUMMARY();
}
