/*
 * dispatch_suite.c: the message part of <sys/dispatch.h>'s dispatch layer in one threaded
 * program on its own kernel: the context layout, dispatch_create (the channel made on the first
 * attach), message_attach ranges (the first match wins, the default handler), pulse_attach
 * with and without MSG_FLAG_ALLOC_PULSE, a dispatch server thread serving messages, a pulse
 * and a timer's pulse through message_connect's coid, dispatch_handler's return values,
 * dispatch_timeout, dispatch_unblock, name_attach with a dispatch handle reached by name_open,
 * and every documented errno. Every block is bounded (dispatch_timeout or TimerTimeout), every
 * send too.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define BOUND_NS 10000000000ULL

static struct timespec long_wait = {10, 0};

static void bound(int states) {
    _Uint64t ns = BOUND_NS;
    TimerTimeout(CLOCK_MONOTONIC, states, NULL, &ns, NULL);
}

static int fails_with(int r, int e) {
    return r == -1 && errno == e;
}

static int null_with(const void *p, int e) {
    return p == NULL && errno == e;
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- handlers */

/* What the handlers saw (the server thread writes, the main thread reads after joining). */
struct seen {
    int wide[8];
    int nwide;
    int narrow;
    int pulse_code, pulse_value;
    int timer_code, timer_value;
    int defaults[8];
    int ndefaults;
};

static int h_wide(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct seen *s = (struct seen *)handle;
    if (s->nwide < 8 && flags == 0 && ctp->msg->type == (_Uint16t)code) {
        s->wide[s->nwide++] = code;
    }
    MsgReply(ctp->rcvid, 1, NULL, 0);
    return 11;
}

static int h_narrow(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct seen *s = (struct seen *)handle;
    (void)code;
    (void)flags;
    s->narrow++;
    MsgReply(ctp->rcvid, 2, NULL, 0);
    return 22;
}

static int h_default(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct seen *s = (struct seen *)handle;
    (void)flags;
    if (s->ndefaults < 8) {
        s->defaults[s->ndefaults++] = code;
    }
    if (ctp->rcvid > 0) {
        MsgError(ctp->rcvid, EPERM);
    }
    return 33;
}

static int h_pulse(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct seen *s = (struct seen *)handle;
    (void)flags;
    if (ctp->rcvid == 0 && ctp->msg->pulse.code == code) {
        s->pulse_code = code;
        s->pulse_value = ctp->msg->pulse.value.sival_int;
    }
    return 44;
}

static int h_timer(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct seen *s = (struct seen *)handle;
    (void)flags;
    s->timer_code = code;
    s->timer_value = ctp->msg->pulse.value.sival_int;
    return 55;
}

/* Returns its code (for the unblock pulse). */
static int h_code(message_context_t *ctp, int code, unsigned flags, void *handle) {
    (void)ctp;
    (void)flags;
    (void)handle;
    return code;
}

static int h_nothing(message_context_t *ctp, int code, unsigned flags, void *handle) {
    (void)ctp;
    (void)code;
    (void)flags;
    (void)handle;
    return 0;
}

/* Echoes the message (status: its length), returns 5. */
static int h_echo(message_context_t *ctp, int code, unsigned flags, void *handle) {
    (void)code;
    (void)flags;
    (void)handle;
    MsgReply(ctp->rcvid, (long)ctp->info.msglen, ctp->msg, (size_t)ctp->info.msglen);
    return 5;
}

/* ---------------------------------------------------------------- a client thread */

struct send_job {
    int coid;
    char msg[16];
    size_t len;
    char reply[16];
    long status;
    int err;
    const char *open; /* name_open this instead of sending (the coid in status) */
    pthread_t thread;
};

static void *send_thread(void *arg) {
    struct send_job *j = (struct send_job *)arg;
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    if (j->open != NULL) {
        j->status = name_open(j->open, 0);
    } else {
        j->status = MsgSend(j->coid, j->msg, j->len, j->reply, sizeof j->reply);
    }
    j->err = j->status == -1 ? errno : 0;
    return NULL;
}

static void start_send(struct send_job *j, int coid, _Uint16t type, size_t len) {
    memset(j->msg, 0, sizeof j->msg);
    memcpy(j->msg, &type, sizeof type);
    memcpy(j->msg + 2, "dispatch", 8);
    j->coid = coid;
    j->len = len;
    j->open = NULL;
    pthread_create(&j->thread, NULL, send_thread, j);
}

static void finish_send(struct send_job *j) {
    pthread_join(j->thread, NULL);
}

/* One bounded block and handler in the calling thread: the handler's result (-100: no block). */
static int serve_one(dispatch_context_t *ctp) {
    dispatch_context_t *got;
    dispatch_timeout(ctp->resmgr_context.dpp, &long_wait);
    got = dispatch_block(ctp);
    if (got == NULL) {
        return -100;
    }
    return dispatch_handler(got);
}

/* ---------------------------------------------------------------- the checks */

static void layouts(void) {
    CHECK(sizeof(resmgr_context_t) == 152 && offsetof(resmgr_context_t, info) == 8 &&
              offsetof(resmgr_context_t, msg) == 72 && offsetof(resmgr_context_t, dpp) == 80,
          "resmgr_context_t: info at 8, msg at 72, dpp at 80, sizeof 152");
    CHECK(offsetof(resmgr_context_t, id) == 88 && offsetof(resmgr_context_t, extra) == 96 &&
              offsetof(resmgr_context_t, msg_max_size) == 104 &&
              offsetof(resmgr_context_t, status) == 112 &&
              offsetof(resmgr_context_t, offset) == 120 &&
              offsetof(resmgr_context_t, size) == 128 && offsetof(resmgr_context_t, iov) == 136,
          "resmgr_context_t: id, extra, msg_max_size, status, offset, size, iov as QNX 7.1's");
    CHECK(sizeof(message_attr_t) == 32 && sizeof(dispatch_context_t) == 152 &&
              offsetof(dispatch_context_t, message_context) == 0,
          "message_attr_t 32 bytes, dispatch_context_t a union starting with the context");
    CHECK(sizeof(resmgr_iomsgs_t) == 256 && sizeof(struct _extended_context) == 24,
          "resmgr_iomsgs_t 256 bytes, struct _extended_context 24");
    CHECK(MSG_FLAG_TYPE_PULSE == 1 && MSG_FLAG_ALLOC_PULSE == 2 && MSG_FLAG_DEFAULT_FUNC == 0x100 &&
              MSG_FLAG_SIDE_CHANNEL == 0x200 && DISPATCH_FLAG_NOLOCK == 1,
          "MSG_FLAG_* and DISPATCH_FLAG_NOLOCK are QNX's");
}

static void create_and_errors(void) {
    dispatch_t *dpp, *d2;
    dispatch_context_t *ctp;
    message_attr_t attr;
    struct timespec bad = {0, 1000000000L};
    int i, r, ok;

    dpp = dispatch_create();
    CHECK(dpp != NULL, "dispatch_create");
    errno = 0;
    CHECK(null_with(dispatch_context_alloc(dpp), EINVAL),
          "dispatch_context_alloc before any attach: EINVAL");
    CHECK(fails_with(message_connect(dpp, 0), EINVAL), "message_connect with no channel: EINVAL");
    CHECK(null_with(dispatch_create_channel(-2, 0), EINVAL), "dispatch_create_channel(-2): EINVAL");
    CHECK(null_with(dispatch_create_channel(-1, 0x10), EINVAL),
          "dispatch_create_channel with an unknown flag: EINVAL");
    d2 = dispatch_create_channel(-1, DISPATCH_FLAG_NOLOCK);
    CHECK(d2 != NULL && dispatch_destroy(d2) == 0, "DISPATCH_FLAG_NOLOCK is accepted");
    CHECK(fails_with(message_attach(NULL, NULL, 0x200, 0x2ff, h_nothing, NULL), EINVAL),
          "message_attach(NULL dpp): EINVAL");
    CHECK(fails_with(message_attach(dpp, NULL, 0x200, 0x2ff, NULL, NULL), EINVAL),
          "message_attach with no func: EINVAL");
    memset(&attr, 0, sizeof attr);
    attr.flags = MSG_FLAG_TYPE_SELECT;
    CHECK(fails_with(message_attach(dpp, &attr, 0x200, 0x2ff, h_nothing, NULL), EINVAL),
          "message_attach with an internal flag: EINVAL");
    attr.flags = MSG_FLAG_TYPE_PULSE;
    CHECK(fails_with(message_attach(dpp, &attr, -129, 0, h_nothing, NULL), EINVAL) &&
              fails_with(message_attach(dpp, &attr, 0, 128, h_nothing, NULL), EINVAL),
          "a pulse range beyond -128..127: EINVAL");
    CHECK(fails_with(message_attach(dpp, NULL, 0x300, 0x200, h_nothing, NULL), EINVAL),
          "a range upside down: EINVAL");
    CHECK(fails_with(pulse_attach(dpp, 0, 200, h_nothing, NULL), EINVAL),
          "pulse_attach of code 200: EINVAL");
    CHECK(fails_with(pulse_attach(dpp, MSG_FLAG_TYPE_SELECT, 1, h_nothing, NULL), EINVAL),
          "pulse_attach with an unknown flag: EINVAL");
    CHECK(message_attach(dpp, NULL, 0x200, 0x2ff, h_nothing, NULL) == 0,
          "message_attach makes the channel");
    CHECK(fails_with(message_detach(dpp, 0x200, 0x2fe, 0), EINVAL),
          "message_detach of a range not attached: EINVAL");
    CHECK(fails_with(pulse_detach(dpp, 9, 0), EINVAL), "pulse_detach of a code not attached: EINVAL");
    CHECK(fails_with(message_connect(dpp, 0x1), EINVAL), "message_connect with a bad flag: EINVAL");
    CHECK(fails_with(dispatch_timeout(NULL, &long_wait), EINVAL) &&
              fails_with(dispatch_timeout(dpp, &bad), EINVAL),
          "dispatch_timeout(NULL) and of a bad timespec: EINVAL");
    CHECK(dispatch_timeout(dpp, NULL) == 0, "dispatch_timeout(dpp, NULL): no change, 0");
    CHECK(fails_with(dispatch_destroy(NULL), EINVAL), "dispatch_destroy(NULL): EINVAL");
    CHECK(null_with(dispatch_block(NULL), EINVAL) && dispatch_handler(NULL) == -1,
          "dispatch_block(NULL): EINVAL; dispatch_handler(NULL): -1");
    CHECK(null_with(dispatch_context_alloc(NULL), EINVAL), "dispatch_context_alloc(NULL): EINVAL");

    /* The process's first dispatch channel took the death channel: a second one cannot take
     * _PULSE_CODE_COIDDEATH. */
    d2 = dispatch_create();
    CHECK(fails_with(pulse_attach(d2, 0, _PULSE_CODE_COIDDEATH, h_nothing, NULL), EBUSY),
          "_PULSE_CODE_COIDDEATH on a channel without COID_DISCONNECT: EBUSY");
    CHECK(pulse_attach(dpp, 0, _PULSE_CODE_COIDDEATH, h_nothing, NULL) == _PULSE_CODE_COIDDEATH,
          "_PULSE_CODE_COIDDEATH on the process's first dispatch channel: its code");
    CHECK(dispatch_destroy(d2) == 0, "dispatch_destroy of a handle with no channel");

    /* Contexts. */
    ctp = dispatch_context_alloc(dpp);
    CHECK(ctp != NULL && ctp->resmgr_context.dpp == dpp &&
              ctp->resmgr_context.msg_max_size >= sizeof(resmgr_iomsgs_t) &&
              (char *)ctp->resmgr_context.msg == (char *)ctp + 152 &&
              ctp->resmgr_context.extra != NULL &&
              ctp->resmgr_context.extra->length == sizeof(struct _extended_context),
          "dispatch_context_alloc: the receive buffer right after iov[1], extra set");
    memset(&attr, 0, sizeof attr);
    attr.msg_max_size = 4096;
    CHECK(fails_with(message_attach(dpp, &attr, 0x400, 0x400, h_nothing, NULL), EINVAL),
          "an attach asking for a bigger context after one was allocated: EINVAL");
    if (ctp != NULL) {
        /* Writing the whole buffer stays inside the block. */
        memset(ctp->resmgr_context.msg, 0xA5, ctp->resmgr_context.msg_max_size);
    }
    dispatch_context_free(ctp);
    dispatch_context_free(NULL);

    /* ALLOC_PULSE: the lowest free code, EAGAIN when none is left. */
    CHECK(pulse_attach(dpp, 0, 0, h_nothing, NULL) == 0, "pulse_attach of code 0 returns it");
    CHECK(pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 77, h_nothing, NULL) == 1 &&
              pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, h_nothing, NULL) == 2,
          "MSG_FLAG_ALLOC_PULSE: 1, then 2");
    CHECK(pulse_detach(dpp, 1, 0) == 0 && pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, h_nothing, NULL) == 1,
          "a detached code is allocated again");
    attr.flags = MSG_FLAG_TYPE_PULSE;
    attr.msg_max_size = 0;
    r = message_attach(dpp, &attr, 3, 127, h_nothing, NULL);
    CHECK(r == 3, "a pulse range returns its low code");
    CHECK(fails_with(pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, h_nothing, NULL), EAGAIN),
          "MSG_FLAG_ALLOC_PULSE with every code taken: EAGAIN");
    ok = message_detach(dpp, 3, 127, MSG_FLAG_TYPE_PULSE) == 0;
    for (i = 0; i < 3; i++) {
        ok = ok && pulse_detach(dpp, i, 0) == 0;
    }
    CHECK(ok, "message_detach of the pulse range and pulse_detach of each code");
    CHECK(dispatch_destroy(dpp) == 0, "dispatch_destroy");
}

/* A dispatch server thread: serves `n` blocks, keeping each handler's result. */
struct server {
    dispatch_context_t *ctp;
    int n;
    int results[16];
    pthread_t thread;
};

static void *server_thread(void *arg) {
    struct server *s = (struct server *)arg;
    int i;
    for (i = 0; i < s->n && i < 16; i++) {
        s->results[i] = serve_one(s->ctp);
    }
    return NULL;
}

static void server_loop(void) {
    static struct seen seen;
    struct server srv;
    struct send_job jobs[5];
    message_attr_t attr;
    dispatch_t *dpp = dispatch_create();
    struct sigevent ev;
    struct itimerspec its;
    timer_t timer;
    int coid, side, tcode, i, ok;
    static const int want[7] = {11, 11, 33, -1, 44, 55, 11};

    memset(&seen, 0, sizeof seen);
    memset(&attr, 0, sizeof attr);
    CHECK(message_attach(dpp, NULL, 0x200, 0x2ff, h_wide, &seen) == 0, "message_attach 0x200..0x2ff");
    CHECK(message_attach(dpp, NULL, 0x250, 0x260, h_narrow, &seen) == 0,
          "message_attach of an overlapping range");
    attr.flags = MSG_FLAG_TYPE_PULSE;
    CHECK(message_attach(dpp, &attr, 5, 6, h_pulse, &seen) == 5, "message_attach of pulses 5..6");
    tcode = pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, h_timer, &seen);
    CHECK(tcode == 0, "pulse_attach with MSG_FLAG_ALLOC_PULSE: code 0");
    attr.flags = MSG_FLAG_DEFAULT_FUNC;
    CHECK(message_attach(dpp, &attr, 0, 0, h_default, &seen) == 0, "message_attach of the default");

    coid = message_connect(dpp, 0);
    side = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    CHECK(coid >= 0 && (coid & _NTO_SIDE_CHANNEL) == 0 && side > 0 && (side & _NTO_SIDE_CHANNEL) != 0,
          "message_connect: a coid, and a side-channel one with MSG_FLAG_SIDE_CHANNEL");

    srv.ctp = dispatch_context_alloc(dpp);
    srv.n = 7;
    CHECK(srv.ctp != NULL, "dispatch_context_alloc");
    if (srv.ctp == NULL) {
        return;
    }
    pthread_create(&srv.thread, NULL, server_thread, &srv);

    /* Messages, one after the other. */
    start_send(&jobs[0], side, 0x255, 8);
    finish_send(&jobs[0]);
    start_send(&jobs[1], side, 0x200, 8);
    finish_send(&jobs[1]);
    start_send(&jobs[2], side, 0x700, 8);
    finish_send(&jobs[2]);
    start_send(&jobs[3], side, 0x200, 1);
    finish_send(&jobs[3]);
    CHECK(jobs[0].status == 1 && jobs[1].status == 1, "the first range answers both, overlap included");
    CHECK(jobs[2].status == -1 && jobs[2].err == EPERM, "an unmatched type goes to the default");
    CHECK(jobs[3].status == -1 && jobs[3].err == EINVAL, "a 1-byte message: MsgError(EINVAL)");

    /* A pulse, then a timer's pulse through the coid. */
    CHECK(MsgSendPulse(side, -1, 6, 77) == 0, "MsgSendPulse to the dispatch channel");
    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, tcode, 99);
    ok = timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0;
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = 10 * 1000000;
    ok = ok && timer_settime(timer, 0, &its, NULL) == 0;
    CHECK(ok, "a timer with a SIGEV_PULSE through message_connect's coid");
    /* Its pulse comes before this message: the server handles them in order. */
    usleep(50 * 1000);
    start_send(&jobs[4], side, 0x2ff, 8);
    finish_send(&jobs[4]);
    CHECK(jobs[4].status == 1, "the last message");
    pthread_join(srv.thread, NULL);
    ok = 1;
    /* (The timer's pulse and the last message may come either way round.) */
    if (srv.results[5] == 11 && srv.results[6] == 55) {
        srv.results[5] = 55;
        srv.results[6] = 11;
    }
    for (i = 0; i < 7; i++) {
        if (srv.results[i] != want[i]) {
            printf("result %d: %d, expected %d\n", i, srv.results[i], want[i]);
            ok = 0;
        }
    }
    CHECK(ok, "dispatch_handler returns each handler's value, -1 for the short message");
    CHECK(seen.nwide == 3 && seen.wide[0] == 0x255 && seen.wide[1] == 0x200 && seen.wide[2] == 0x2ff &&
              seen.narrow == 0,
          "the first attached range wins; code is the type, flags 0");
    CHECK(seen.pulse_code == 6 && seen.pulse_value == 77, "the pulse handler sees code and value");
    CHECK(seen.timer_code == tcode && seen.timer_value == 99, "the timer's pulse reaches its handler");
    CHECK(seen.ndefaults == 1 && seen.defaults[0] == 0x700, "the default saw the unmatched type");
    timer_delete(timer);
    ConnectDetach(coid);
    ConnectDetach(side);
    dispatch_context_free(srv.ctp);
    CHECK(dispatch_destroy(dpp) == 0, "dispatch_destroy of the server's handle");
}

static void unmatched(void) {
    dispatch_t *dpp = dispatch_create();
    dispatch_context_t *ctp;
    struct send_job job;
    int side;

    message_attach(dpp, NULL, 0x200, 0x200, h_nothing, NULL);
    ctp = dispatch_context_alloc(dpp);
    side = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    start_send(&job, side, 0x201, 8);
    CHECK(serve_one(ctp) == -1, "an unmatched message with no default: -1");
    finish_send(&job);
    CHECK(job.status == -1 && job.err == ENOSYS, "... and its client gets ENOSYS");
    MsgSendPulse(side, -1, 3, 0);
    CHECK(serve_one(ctp) == -1, "an unmatched pulse: dropped, -1");
    ConnectDetach(side);
    dispatch_context_free(ctp);
    dispatch_destroy(dpp);
}

static void timeouts(void) {
    dispatch_t *dpp = dispatch_create();
    dispatch_context_t *ctp, *got;
    struct timespec t = {0, 50 * 1000000};
    _Uint64t ns = 20 * 1000000;
    long long t0;

    pulse_attach(dpp, 0, 1, h_nothing, NULL);
    ctp = dispatch_context_alloc(dpp);
    CHECK(dispatch_timeout(dpp, &t) == 0, "dispatch_timeout(50 ms)");
    t0 = now_ms();
    got = dispatch_block(ctp);
    CHECK(got == ctp && ctp->resmgr_context.rcvid == -1 && now_ms() - t0 >= 45,
          "a block that times out returns the context with rcvid -1");
    CHECK(dispatch_handler(got) == -1, "dispatch_handler of a timed-out context: -1");
    dispatch_destroy(dpp);
    dispatch_context_free(ctp);

    dpp = dispatch_create();
    pulse_attach(dpp, 0, 1, h_nothing, NULL);
    ctp = dispatch_context_alloc(dpp);
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    got = dispatch_block(ctp);
    CHECK(got == ctp && ctp->resmgr_context.rcvid == -1,
          "a TimerTimeout armed before dispatch_block bounds it");
    dispatch_destroy(dpp);
    dispatch_context_free(ctp);
}

static void *block_thread(void *arg) {
    struct server *s = (struct server *)arg;
    dispatch_context_t *got;
    dispatch_timeout(s->ctp->resmgr_context.dpp, &long_wait);
    got = dispatch_block(s->ctp);
    s->results[0] = got == NULL ? -100 : got->resmgr_context.rcvid;
    s->results[1] = got == NULL ? -100 : got->resmgr_context.msg->pulse.code;
    s->results[2] = got == NULL ? -100 : got->resmgr_context.msg->pulse.value.sival_int;
    s->results[3] = got == NULL ? -100 : dispatch_handler(got);
    return NULL;
}

static void unblock(void) {
    dispatch_t *dpp = dispatch_create();
    dispatch_context_t *mine;
    struct server srv;
    long long t0;

    message_attach(dpp, NULL, 0x200, 0x200, h_nothing, NULL);
    srv.ctp = dispatch_context_alloc(dpp);
    mine = dispatch_context_alloc(dpp);
    t0 = now_ms();
    pthread_create(&srv.thread, NULL, block_thread, &srv);
    usleep(20 * 1000);
    dispatch_unblock(mine);
    pthread_join(srv.thread, NULL);
    CHECK(srv.results[0] == 0 && srv.results[1] == _PULSE_CODE_UNBLOCK && srv.results[2] == 0,
          "dispatch_unblock wakes a blocked thread with _PULSE_CODE_UNBLOCK, value 0");
    CHECK(srv.results[3] == -1 && now_ms() - t0 < 5000,
          "... which dispatch_handler drops (-1), at once");
    CHECK(pulse_attach(dpp, 0, _PULSE_CODE_UNBLOCK, h_code, NULL) == _PULSE_CODE_UNBLOCK,
          "pulse_attach of _PULSE_CODE_UNBLOCK");
    dispatch_unblock(mine);
    CHECK(serve_one(mine) == _PULSE_CODE_UNBLOCK, "then its handler gets the unblock pulse");
    dispatch_context_free(srv.ctp);
    dispatch_context_free(mine);
    dispatch_destroy(dpp);
    errno = 0;
    dispatch_unblock(NULL);
    CHECK(errno == EINVAL, "dispatch_unblock(NULL): EINVAL");
}

static void names(void) {
    dispatch_t *dpp = dispatch_create();
    dispatch_context_t *ctp;
    name_attach_t *a;
    struct send_job job;
    int coid, r;

    a = name_attach(dpp, "qnxsim/dispatch/suite", 0);
    CHECK(a != NULL && a->dpp == dpp && a->chid > 0, "name_attach(dpp, ...) names its channel");
    if (a == NULL) {
        dispatch_destroy(dpp);
        return;
    }
    CHECK(message_attach(dpp, NULL, 0x200, 0x2ff, h_echo, NULL) == 0, "message_attach the echo");
    ctp = dispatch_context_alloc(dpp);
    memset(&job, 0, sizeof job);
    job.open = "qnxsim/dispatch/suite";
    pthread_create(&job.thread, NULL, send_thread, &job);
    r = serve_one(ctp);
    finish_send(&job);
    coid = (int)job.status;
    CHECK(r == 0 && coid != -1 && (coid & _NTO_SIDE_CHANNEL) != 0,
          "name_open reaches it: the layer answers _IO_CONNECT with EOK (0)");
    start_send(&job, coid, 0x222, 10);
    CHECK(serve_one(ctp) == 5, "the echo handler's result");
    finish_send(&job);
    CHECK(job.status == 10 && memcmp(job.reply, job.msg, 10) == 0, "the echo came back");
    CHECK(name_close(coid) == 0, "name_close");
    CHECK(serve_one(ctp) == 0, "the disconnect pulse: the layer detaches the connection (0)");
    dispatch_context_free(ctp);
    CHECK(name_detach(a, 0) == 0, "name_detach destroys the handle too");
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    CHECK(fails_with(name_open("qnxsim/dispatch/suite", 0), ENOENT), "then the name is gone");
}

int main(void) {
    layouts();
    create_and_errors();
    server_loop();
    unmatched();
    timeouts();
    unblock();
    names();
    return SUMMARY();
}
