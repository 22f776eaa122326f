/*
 * asyncmsg_sender.c: the sending half of a two-program asyncmsg test on a shared kernel.
 * Usage: asyncmsg_sender PID CHID N. Attaches to channel CHID of process PID, puts N messages
 * (the even ones with a callback of their own, the odd ones with the attribute's), flushes, and
 * checks that every callback came once, with err 0, its buffer and handle, in order.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/asyncmsg.h>
#include <sys/neutrino.h>
#include <time.h>

#include "check.h"

#define MAX_MSGS 1000

static char bufs[MAX_MSGS][128];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ncb;
static int cb_ok = 1;

static void record(int own, int err, void *buf, unsigned handle) {
    pthread_mutex_lock(&lock);
    /* Callbacks run in queue order: the next one is for message ncb. */
    cb_ok &= err == 0 && handle == (unsigned)ncb && buf == (void *)bufs[ncb] &&
             own == (ncb % 2 == 0);
    ncb++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static int own_cb(int err, void *buf, unsigned handle) {
    record(1, err, buf, handle);
    return 0;
}

static int attr_cb(int err, void *buf, unsigned handle) {
    record(0, err, buf, handle);
    return 0;
}

/* Message i (see asyncmsg_receiver.c); returns its length. */
static size_t message(int i, char *out, size_t room) {
    int n = snprintf(out, room, "msg %d ", i);
    int pad = i % 50;
    int k;
    for (k = 0; k < pad && (size_t)(n + k) < room - 1; k++) {
        out[n + k] = (char)('a' + i % 26);
    }
    out[n + k] = '\0';
    return (size_t)(n + k) + 1;
}

int main(int argc, char **argv) {
    struct _asyncmsg_connection_attr attr;
    struct timespec until;
    int pid, chid, n, i, coid, puts_ok = 1;
    if (argc != 4) {
        fprintf(stderr, "usage: %s PID CHID N\n", argv[0]);
        return 2;
    }
    pid = atoi(argv[1]);
    chid = atoi(argv[2]);
    n = atoi(argv[3]);
    if (n > MAX_MSGS) {
        n = MAX_MSGS;
    }
    memset(&attr, 0, sizeof attr);
    attr.call_back = attr_cb;
    attr.buffer_size = 256;
    attr.max_num_buffer = 32;
    attr.trigger_num_msg = 8;
    coid = asyncmsg_connect_attach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, 0, &attr);
    CHECK(coid > 0, "asyncmsg_connect_attach to the receiver");
    for (i = 0; i < n; i++) {
        size_t len = message(i, bufs[i], sizeof bufs[i]);
        puts_ok &= asyncmsg_put(coid, bufs[i], len, (unsigned)i, i % 2 == 0 ? own_cb : NULL) == 0;
    }
    CHECK(puts_ok, "every put");
    CHECK(asyncmsg_flush(coid, 0) == 0, "asyncmsg_flush: the receiver took them all");

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&lock);
    while (ncb < n) {
        if (pthread_cond_timedwait(&cond, &lock, &until) != 0) {
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    CHECK(ncb == n, "a callback for every message");
    CHECK(cb_ok, "each with err 0, its buffer and handle, in order, the right callback");
    CHECK(asyncmsg_connect_detach(coid) == 0, "asyncmsg_connect_detach");
    return SUMMARY();
}
