/*
 * thread_pool_server.c: a name server whose dispatch loop runs in a thread pool, in its own
 * program on a kernel shared with its clients (QNXSIM_KERNEL names it):
 * `thread_pool_server NAME NCLIENTS`. QNX's canonical set-up (lo_water 2, hi_water 4,
 * increment 1, maximum 50, POOL_FLAG_EXIT_SELF): main prints "ready" and thread_pool_start
 * ends it. TP_GATHER waits (bounded) until NCLIENTS handlers are in at once, which only a pool
 * that grew can give; TP_ECHO answers its value; TP_QUIT answers and, from the last client,
 * prints "N passed, M failed" and exits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/neutrino.h>
#include <time.h>

#include "check.h"

#define TP_GATHER (_IO_MAX + 1)
#define TP_ECHO (_IO_MAX + 2)
#define TP_QUIT (_IO_MAX + 3)

struct tp_msg {
    _Uint16t type;
    _Uint16t zero;
    _Int32t value;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int nclients, gathered, most_inside, inside, quits, echoes;
static unsigned grown; /* the pool's threads when every client's gather was in */
static thread_pool_t *tpp;

static int on_msg(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct tp_msg *m = (struct tp_msg *)(void *)ctp->msg;
    int last = 0;
    (void)flags;
    (void)handle;
    pthread_mutex_lock(&lock);
    switch (code) {
    case TP_GATHER: {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 15;
        inside++;
        if (inside > most_inside) {
            most_inside = inside;
        }
        if (inside == nclients) {
            grown = tpp->created;
        }
        pthread_cond_broadcast(&cond);
        while (inside < nclients && gathered == 0) {
            if (pthread_cond_timedwait(&cond, &lock, &until) != 0) {
                break;
            }
        }
        gathered = 1;
        inside--;
        break;
    }
    case TP_ECHO:
        echoes++;
        break;
    case TP_QUIT:
        quits++;
        last = quits == nclients;
        break;
    }
    pthread_mutex_unlock(&lock);
    MsgReply(ctp->rcvid, m->value, NULL, 0);
    if (last) {
        CHECK(most_inside == nclients, "every client's gather in a handler at once");
        CHECK(grown >= (unsigned)nclients && grown <= 50,
              "the pool grew from lo_water 2 to serve them (within maximum)");
        CHECK(echoes == 3 * nclients, "every echo served");
        exit(SUMMARY());
    }
    return 0;
}

int main(int argc, char **argv) {
    thread_pool_attr_t pool_attr;
    dispatch_t *dpp;
    name_attach_t *a;

    if (argc != 3) {
        fprintf(stderr, "usage: thread_pool_server NAME NCLIENTS\n");
        return 2;
    }
    nclients = atoi(argv[2]);
    dpp = dispatch_create();
    CHECK(dpp != NULL, "dispatch_create");
    a = dpp != NULL ? name_attach(dpp, argv[1], 0) : NULL;
    CHECK(a != NULL, "name_attach");
    CHECK(message_attach(dpp, NULL, TP_GATHER, TP_QUIT, on_msg, NULL) == 0, "message_attach");
    if (a == NULL) {
        return SUMMARY();
    }
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
    tpp = thread_pool_create(&pool_attr, POOL_FLAG_EXIT_SELF);
    CHECK(tpp != NULL, "thread_pool_create");
    if (tpp == NULL) {
        return SUMMARY();
    }
    printf("ready\n");
    fflush(stdout);
    thread_pool_start(tpp);
    /* Not reached: POOL_FLAG_EXIT_SELF. */
    CHECK(0, "thread_pool_start returned");
    return SUMMARY();
}
