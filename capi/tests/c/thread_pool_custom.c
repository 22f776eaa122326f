/*
 * thread_pool_custom.c: a thread pool over contexts and a handle of the program's own, with
 * THREAD_POOL_PARAM_T and THREAD_POOL_HANDLE_T defined before <sys/dispatch.h> (as QNX's
 * header lets a program): each pool thread receives pulses on a plain channel and counts them.
 * Compiled beside thread_pool_suite.c, which checks what custom_pool_run returns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tp_handle;
struct tp_ctx;
#define THREAD_POOL_PARAM_T struct tp_ctx
#define THREAD_POOL_HANDLE_T struct tp_handle
#include <sys/dispatch.h>
#include <sys/neutrino.h>

struct tp_handle {
    int chid;
    int coid;
    pthread_mutex_t lock;
    int counted;
    int unblocks;
};

struct tp_ctx {
    struct tp_handle *h;
    int rcvid;
    struct _pulse pulse;
};

#define CODE_COUNT (_PULSE_CODE_MINAVAIL + 3)
#define CODE_UNBLOCK (_PULSE_CODE_MINAVAIL + 4)

static struct tp_ctx *custom_alloc(struct tp_handle *h) {
    struct tp_ctx *c = (struct tp_ctx *)calloc(1, sizeof *c);
    if (c != NULL) {
        c->h = h;
    }
    return c;
}

static struct tp_ctx *custom_block(struct tp_ctx *c) {
    c->rcvid = MsgReceive(c->h->chid, &c->pulse, sizeof c->pulse, NULL);
    return c->rcvid == -1 ? NULL : c;
}

static int custom_handler(struct tp_ctx *c) {
    if (c == NULL || c->rcvid != 0) {
        return -1;
    }
    pthread_mutex_lock(&c->h->lock);
    if (c->pulse.code == CODE_COUNT) {
        c->h->counted += c->pulse.value.sival_int;
    } else if (c->pulse.code == CODE_UNBLOCK) {
        c->h->unblocks++;
    }
    pthread_mutex_unlock(&c->h->lock);
    return 0;
}

static void custom_unblock(struct tp_ctx *c) {
    MsgSendPulse(c->h->coid, -1, CODE_UNBLOCK, 0);
}

static void custom_free(struct tp_ctx *c) {
    free(c);
}

static int counted(struct tp_handle *h) {
    int n;
    pthread_mutex_lock(&h->lock);
    n = h->counted;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* Sends n pulses of value 1 through a pool of 2..3 threads; returns how many were counted
   (-1: a call failed). */
int custom_pool_run(int n) {
    static struct tp_handle h;
    thread_pool_attr_t a;
    thread_pool_t *tpp;
    struct timespec ms = {0, 1000000};
    int i, tries, got;

    memset(&h, 0, sizeof h);
    pthread_mutex_init(&h.lock, NULL);
    h.chid = ChannelCreate(0);
    h.coid = ConnectAttach(0, 0, h.chid, _NTO_SIDE_CHANNEL, 0);
    if (h.chid == -1 || h.coid == -1) {
        return -1;
    }
    memset(&a, 0, sizeof a);
    a.handle = &h;
    a.context_alloc = custom_alloc;
    a.block_func = custom_block;
    a.handler_func = custom_handler;
    a.unblock_func = custom_unblock;
    a.context_free = custom_free;
    a.lo_water = 2;
    a.hi_water = 3;
    a.increment = 1;
    a.maximum = 3;
    tpp = thread_pool_create(&a, 0);
    if (tpp == NULL || thread_pool_start(tpp) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (MsgSendPulse(h.coid, -1, CODE_COUNT, 1) == -1) {
            return -1;
        }
    }
    for (tries = 0; tries < 20000 && counted(&h) < n; tries++) {
        nanosleep(&ms, NULL);
    }
    got = counted(&h);
    if (thread_pool_destroy(tpp) != 0) {
        return -1;
    }
    ConnectDetach(h.coid);
    ChannelDestroy(h.chid);
    return got;
}
