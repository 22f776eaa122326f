/*
 * thread_pool_suite.c: QNX's thread pools from C (<sys/dispatch.h>): the canonical QNX set-up
 * (dispatch_context_alloc, dispatch_block, dispatch_unblock, dispatch_handler,
 * dispatch_context_free; lo_water 2, hi_water 4, increment 1, maximum 50) serving 20 client
 * threads at once, the water marks in tpp->created and tpp->waiting, the shrink back to
 * hi_water, maximum, thread_pool_limits and thread_pool_control, POOL_FLAG_USE_SELF and
 * POOL_FLAG_EXIT_SELF, error_func and tid_name, destroy, every EINVAL, and (in
 * thread_pool_custom.c) a pool over THREAD_POOL_PARAM_T/THREAD_POOL_HANDLE_T of its own.
 * Every wait is bounded; prints "N passed, M failed".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_getname_np */
#endif
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/neutrino.h>
#include <time.h>

#include "check.h"
#include "gate.h"

int custom_pool_run(int n);

#define MSG_GATED (_IO_MAX + 1)
#define MSG_PLAIN (_IO_MAX + 2)
#define MSG_DESTROY (_IO_MAX + 3)
#define MSG_UNKNOWN (_IO_MAX + 9)

struct msg {
    _Uint16t type;
    _Uint16t zero;
    _Int32t value;
};

/* ---------------------------------------------------------------- the handlers (gate.h: the gate) */

static char seen_name[32];
static thread_pool_t *self_pool;
static int destroy_result = 1, destroy_errno;

static int on_msg(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct msg *m = (struct msg *)(void *)ctp->msg;
    (void)flags;
    (void)handle;
    if (code == MSG_GATED) {
        gate_pass();
    } else if (code == MSG_DESTROY) {
        destroy_result = thread_pool_destroy(self_pool);
        destroy_errno = errno;
    } else {
        pthread_getname_np(pthread_self(), seen_name, sizeof seen_name);
    }
    MsgReply(ctp->rcvid, m->value, NULL, 0);
    return 0;
}

/* ---------------------------------------------------------------- helpers */

static int wait_until(int (*cond)(void *), void *arg) {
    struct timespec ms = {0, 1000000};
    int i;
    for (i = 0; i < 20000; i++) {
        if (cond(arg)) {
            return 1;
        }
        nanosleep(&ms, NULL);
    }
    return 0;
}

static long send_msg(int coid, int type, int value) {
    struct msg m;
    _Uint64t ns = 20000000000ULL;
    memset(&m, 0, sizeof m);
    m.type = (_Uint16t)type;
    m.value = value;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    return MsgSend(coid, &m, sizeof m, NULL, 0);
}

struct client {
    pthread_t t;
    int coid;
    int value;
    long got;
};

static void *client_main(void *arg) {
    struct client *c = (struct client *)arg;
    c->got = send_msg(c->coid, MSG_GATED, c->value);
    return NULL;
}

struct want {
    thread_pool_t *tpp;
    unsigned created, waiting;
    int inside;
};

static int pool_is(void *arg) {
    struct want *w = (struct want *)arg;
    return w->tpp->created == w->created && w->tpp->waiting == w->waiting &&
           (w->inside < 0 || gate_inside() == w->inside);
}

static int pool_created_is(void *arg) {
    struct want *w = (struct want *)arg;
    return w->tpp->created == w->created;
}

static dispatch_t *make_dispatch(void) {
    dispatch_t *dpp = dispatch_create();
    if (dpp != NULL) {
        message_attach(dpp, NULL, MSG_GATED, MSG_DESTROY, on_msg, NULL);
    }
    return dpp;
}

static void canonical_attr(thread_pool_attr_t *pool_attr, dispatch_t *dpp) {
    memset(pool_attr, 0, sizeof *pool_attr);
    pool_attr->handle = dpp;
    pool_attr->context_alloc = dispatch_context_alloc;
    pool_attr->block_func = dispatch_block;
    pool_attr->unblock_func = dispatch_unblock;
    pool_attr->handler_func = dispatch_handler;
    pool_attr->context_free = dispatch_context_free;
    pool_attr->lo_water = 2;
    pool_attr->hi_water = 4;
    pool_attr->increment = 1;
    pool_attr->maximum = 50;
}

/* ---------------------------------------------------------------- the tests */

static void layout(void) {
    CHECK(sizeof(thread_pool_attr_t) == 104 && offsetof(thread_pool_attr_t, lo_water) == 56 &&
              offsetof(thread_pool_attr_t, tid_name) == 64 &&
              offsetof(thread_pool_attr_t, error_func) == 72,
          "thread_pool_attr_t laid out as QNX 7.1's");
    CHECK(sizeof(thread_pool_t) == 136 && offsetof(thread_pool_t, created) == 104 &&
              offsetof(thread_pool_t, waiting) == 108,
          "thread_pool_t laid out as QNX 7.1's");
}

static void errors(void) {
    dispatch_t *dpp = make_dispatch();
    thread_pool_attr_t a;
    thread_pool_t *tpp;

    errno = 0;
    CHECK(thread_pool_create(NULL, 0) == NULL && errno == EINVAL, "create(NULL): EINVAL");
    canonical_attr(&a, dpp);
    a.block_func = NULL;
    errno = 0;
    CHECK(thread_pool_create(&a, 0) == NULL && errno == EINVAL, "no block_func: EINVAL");
    canonical_attr(&a, dpp);
    a.maximum = 0;
    errno = 0;
    CHECK(thread_pool_create(&a, 0) == NULL && errno == EINVAL, "maximum 0: EINVAL");
    canonical_attr(&a, dpp);
    errno = 0;
    CHECK(thread_pool_create(&a, POOL_FLAG_EXIT_SELF | POOL_FLAG_USE_SELF) == NULL &&
              errno == EINVAL,
          "EXIT_SELF with USE_SELF: EINVAL");
    errno = 0;
    CHECK(thread_pool_create(&a, POOL_FLAG_EXITING) == NULL && errno == EINVAL,
          "an internal flag: EINVAL");
    errno = 0;
    CHECK(thread_pool_create(&a, POOL_FLAG_CALL_HANDLE_ERRF) == NULL && errno == EINVAL,
          "CALL_HANDLE_ERRF without error_func: EINVAL");
    errno = 0;
    CHECK(thread_pool_start(NULL) == -1 && errno == EINVAL, "start(NULL): EINVAL");
    errno = 0;
    CHECK(thread_pool_destroy(NULL) == -1 && errno == EINVAL, "destroy(NULL): EINVAL");

    /* Limits are normalised at start, not refused. */
    a.lo_water = 9;
    a.hi_water = 7;
    a.maximum = 3;
    tpp = thread_pool_create(&a, 0);
    CHECK(tpp != NULL, "lo_water > hi_water > maximum: created");
    if (tpp == NULL) {
        return;
    }
    errno = 0;
    CHECK(thread_pool_control(tpp, &a, 3, 2, 0) == -1 && errno == EINVAL,
          "control with lower > upper: EINVAL");
    errno = 0;
    CHECK(thread_pool_control(tpp, NULL, 0, 5, THREAD_POOL_CONTROL_HIWATER) == -1 &&
              errno == EINVAL,
          "control of a limit with attr NULL: EINVAL");
    errno = 0;
    CHECK(thread_pool_limits(tpp, 70000, -1, -1, -1, 0) == -1 && errno == EINVAL,
          "limits above 65535: EINVAL");
    CHECK(thread_pool_start(tpp) == 0, "start");
    {
        struct want w = {tpp, 3, 3, -1};
        CHECK(wait_until(pool_is, &w) && tpp->pool_attr.maximum == 3,
              "three threads, all blocked (lo_water lowered to hi_water, to maximum)");
    }
    errno = 0;
    CHECK(thread_pool_start(tpp) == -1 && errno == EBUSY, "a second start: EBUSY");
    errno = 0;
    CHECK(thread_pool_control(tpp, &a, 4, 9, 0) == -1 && errno == EINVAL,
          "waiting for more threads than maximum: EINVAL");
    CHECK(thread_pool_destroy(tpp) == 0, "destroy");
    CHECK(dispatch_destroy(dpp) == 0, "dispatch_destroy");
}

static void canonical(void) {
    /* QNX's own set-up, word for word. */
    dispatch_t *dpp = make_dispatch();
    thread_pool_attr_t pool_attr;
    thread_pool_t *tpp;
    struct client clients[20];
    int i, coid, all = 1;

    memset(&pool_attr, 0, sizeof pool_attr);
    pool_attr.handle = dpp;
    pool_attr.context_alloc = dispatch_context_alloc;
    pool_attr.block_func = dispatch_block;
    pool_attr.unblock_func = dispatch_unblock;
    pool_attr.handler_func = dispatch_handler;
    pool_attr.context_free = dispatch_context_free;
    pool_attr.lo_water = 2;
    pool_attr.hi_water = 4;
    pool_attr.increment = 1;
    pool_attr.maximum = 50;
    pool_attr.tid_name = "tp-worker";
    tpp = thread_pool_create(&pool_attr, 0);
    CHECK(tpp != NULL, "thread_pool_create with QNX's canonical attributes");
    if (tpp == NULL) {
        return;
    }
    CHECK(tpp->created == 0 && tpp->flags == 0, "not started: no thread");
    CHECK(thread_pool_start(tpp) == 0, "thread_pool_start (no flags) returns EOK");
    {
        struct want w = {tpp, 2, 2, 0};
        CHECK(wait_until(pool_is, &w), "lo_water threads, blocked");
    }
    coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    CHECK(coid != -1, "message_connect");
    CHECK(send_msg(coid, MSG_PLAIN, 5) == 5, "a message served by the pool");
    CHECK(strcmp(seen_name, "tp-worker") == 0, "pool threads are named tid_name");

    set_gate(0);
    for (i = 0; i < 20; i++) {
        clients[i].coid = coid;
        clients[i].value = 100 + i;
        clients[i].got = -2;
        pthread_create(&clients[i].t, NULL, client_main, &clients[i]);
    }
    {
        struct want w = {tpp, 22, 2, 20};
        CHECK(wait_until(pool_is, &w),
              "20 handlers busy: the pool grew by increment to 22, lo_water still blocked");
    }
    set_gate(1);
    for (i = 0; i < 20; i++) {
        pthread_join(clients[i].t, NULL);
        all &= clients[i].got == 100 + i;
    }
    CHECK(all, "every client got its answer");
    {
        struct want w = {tpp, 4, 4, 0};
        CHECK(wait_until(pool_is, &w), "the pool shrank back to hi_water, all blocked");
    }

    /* thread_pool_limits: up to lo_water 6 (waiting until 6 exist), down to hi_water 1. */
    CHECK(thread_pool_limits(tpp, 6, 8, 50, 1, 0) == 0 && tpp->created >= 6,
          "thread_pool_limits up: at least lo_water threads when it returns");
    {
        struct want w = {tpp, 6, 6, 0};
        CHECK(wait_until(pool_is, &w), "six threads, blocked");
    }
    pool_attr.lo_water = 1;
    pool_attr.hi_water = 1;
    CHECK(thread_pool_control(tpp, &pool_attr, 1, 1,
                              THREAD_POOL_CONTROL_LOWATER | THREAD_POOL_CONTROL_HIWATER) == 0,
          "thread_pool_control down to hi_water 1");
    {
        struct want w = {tpp, 1, 1, 0};
        CHECK(wait_until(pool_is, &w), "the surplus threads left");
    }
    CHECK(thread_pool_limits(tpp, 2, 4, -1, -1, THREAD_POOL_CONTROL_NONBLOCK) == 0,
          "thread_pool_limits NONBLOCK");
    {
        struct want w = {tpp, 2, 2, 0};
        CHECK(wait_until(pool_is, &w), "back to lo_water 2");
    }

    /* A handler that destroys its own pool: EDEADLK. */
    self_pool = tpp;
    CHECK(send_msg(coid, MSG_DESTROY, 0) == 0 && destroy_result == -1 &&
              destroy_errno == EDEADLK,
          "thread_pool_destroy from a pool thread: EDEADLK");
    CHECK(thread_pool_destroy(tpp) == 0, "thread_pool_destroy");
    CHECK(ConnectDetach(coid) == 0, "ConnectDetach");
    CHECK(dispatch_destroy(dpp) == 0, "dispatch_destroy after the pool");
}

static void maximum(void) {
    dispatch_t *dpp = make_dispatch();
    thread_pool_attr_t a;
    thread_pool_t *tpp;
    struct client clients[8];
    int i, coid, all = 1;

    canonical_attr(&a, dpp);
    a.increment = 3;
    a.maximum = 5;
    tpp = thread_pool_create(&a, 0);
    CHECK(tpp != NULL && thread_pool_start(tpp) == 0, "a pool of at most 5");
    if (tpp == NULL) {
        return;
    }
    coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    set_gate(0);
    for (i = 0; i < 8; i++) {
        clients[i].coid = coid;
        clients[i].value = i;
        pthread_create(&clients[i].t, NULL, client_main, &clients[i]);
    }
    {
        struct want w = {tpp, 5, 0, 5};
        CHECK(wait_until(pool_is, &w), "5 handlers busy, no thread blocked, none more");
    }
    set_gate(1);
    for (i = 0; i < 8; i++) {
        pthread_join(clients[i].t, NULL);
        all &= clients[i].got == i;
    }
    CHECK(all && tpp->created <= 5, "all 8 served by at most 5 threads");
    CHECK(thread_pool_destroy(tpp) == 0, "destroy");
    ConnectDetach(coid);
    dispatch_destroy(dpp);
}

/* ---------------------------------------------------------------- USE_SELF and EXIT_SELF */

static int returned_from_start;

static void *starter(void *arg) {
    thread_pool_start(arg);
    returned_from_start = 1; /* never: start pthread_exit's */
    return (void *)1;
}

static void self_flags(void) {
    dispatch_t *dpp = make_dispatch();
    thread_pool_attr_t a;
    thread_pool_t *tpp;
    pthread_t t;
    void *ret = (void *)2;
    int coid;

    canonical_attr(&a, dpp);
    a.lo_water = 1;
    a.hi_water = 1;
    tpp = thread_pool_create(&a, POOL_FLAG_USE_SELF);
    CHECK(tpp != NULL && tpp->flags == POOL_FLAG_USE_SELF, "a USE_SELF pool");
    if (tpp == NULL) {
        return;
    }
    pthread_create(&t, NULL, starter, tpp);
    {
        struct want w = {tpp, 1, 1, 0};
        CHECK(wait_until(pool_is, &w), "USE_SELF: the caller is the pool's one thread");
    }
    coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    CHECK(send_msg(coid, MSG_PLAIN, 7) == 7, "served by the caller of thread_pool_start");
    CHECK(thread_pool_destroy(tpp) == 0, "destroy the USE_SELF pool");
    pthread_join(t, &ret);
    CHECK(ret == NULL && !returned_from_start,
          "its caller left through pthread_exit, never returning from thread_pool_start");

    /* (A fresh handle: destroy's unblock pulses that no thread took stay in the old one's
       channel, as QNX's do, and would wake a thread of the next pool.) */
    ConnectDetach(coid);
    dispatch_destroy(dpp);
    dpp = make_dispatch();
    coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    canonical_attr(&a, dpp);
    a.lo_water = 2;
    a.hi_water = 3;
    tpp = thread_pool_create(&a, POOL_FLAG_EXIT_SELF);
    ret = (void *)2;
    pthread_create(&t, NULL, starter, tpp);
    pthread_join(t, &ret);
    CHECK(ret == NULL && !returned_from_start, "EXIT_SELF: the caller exits once it started");
    {
        struct want w = {tpp, 2, 2, 0};
        CHECK(wait_until(pool_is, &w), "and the pool runs on");
    }
    CHECK(send_msg(coid, MSG_PLAIN, 8) == 8, "served after its starter exited");
    CHECK(thread_pool_destroy(tpp) == 0, "destroy the EXIT_SELF pool");
    ConnectDetach(coid);
    dispatch_destroy(dpp);
}

/* ---------------------------------------------------------------- error_func */

static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned err_flags;
static int err_calls;

static void on_error(unsigned flags, int err_value) {
    (void)err_value;
    pthread_mutex_lock(&err_lock);
    err_flags |= flags;
    err_calls++;
    pthread_mutex_unlock(&err_lock);
}

static int error_seen(void *arg) {
    unsigned want = *(unsigned *)arg, got;
    pthread_mutex_lock(&err_lock);
    got = err_flags;
    pthread_mutex_unlock(&err_lock);
    return (got & want) == want;
}

static void error_func(void) {
    dispatch_t *dpp = make_dispatch();
    dispatch_t *bare = dispatch_create();
    thread_pool_attr_t a;
    thread_pool_t *tpp;
    unsigned want = POOL_ERROR_HANDLER;
    int coid;

    canonical_attr(&a, dpp);
    a.error_func = on_error;
    tpp = thread_pool_create(&a, POOL_FLAG_CALL_HANDLE_ERRF);
    CHECK(tpp != NULL && thread_pool_start(tpp) == 0, "a pool with an error_func");
    coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    CHECK(send_msg(coid, MSG_UNKNOWN, 0) == -1 && errno == ENOSYS,
          "an unknown message: the dispatch layer's ENOSYS");
    CHECK(wait_until(error_seen, &want), "error_func heard of the handler's -1");
    CHECK(thread_pool_destroy(tpp) == 0, "destroy");
    ConnectDetach(coid);

    /* A handle with nothing attached gives no context: reported (always), thread gone. */
    canonical_attr(&a, bare);
    a.error_func = on_error;
    a.lo_water = 1;
    a.hi_water = 1;
    a.maximum = 1;
    tpp = thread_pool_create(&a, 0);
    CHECK(tpp != NULL && thread_pool_start(tpp) == 0, "a pool whose contexts fail");
    want = POOL_ERROR_CONTEXT;
    {
        struct want w = {tpp, 0, 0, -1};
        CHECK(wait_until(error_seen, &want) && wait_until(pool_created_is, &w),
              "the context failure reported, the thread gone");
    }
    CHECK(thread_pool_destroy(tpp) == 0, "destroy");
    dispatch_destroy(bare);
    dispatch_destroy(dpp);
}

int main(void) {
    layout();
    errors();
    canonical();
    maximum();
    self_flags();
    error_func();
    CHECK(custom_pool_run(25) == 25,
          "a pool over THREAD_POOL_PARAM_T/THREAD_POOL_HANDLE_T of its own counted 25 pulses");
    return SUMMARY();
}
