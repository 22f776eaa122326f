/*
 * review_asyncmsg_semantics.c: an adversarial review of <sys/asyncmsg.h> against QNX's
 * documented asyncmsg behaviour (run by procnto-sim/tests/review_asyncmsg_semantics.rs), in one
 * threaded program on its own kernel: argument validation and errnos, synchronous objects given
 * to asyncmsg calls, per-connection order and fairness, the count and time triggers (a timed
 * batch of fewer than trigger_num_msg), callbacks (once each, err/buf/handle, order, thread,
 * only after a receiver took the message), EMSGSIZE at the boundary, full queues (blocking and
 * _NTO_COF_NONBLOCK), blocking flush, empty gets (TimerTimeout, NULL ntime, a signal, a
 * destroy), detach and channel destroy with messages pending, putv gathering, asyncmsg_malloc
 * and asyncmsg_free, and concurrent producers.
 *
 * Its first run found one defect, fixed since: a time trigger set by asyncmsg_connect_attr on a
 * connection attached without one never fired. Every blocking call is bounded: alarm() for the whole program, TimerTimeout for
 * gets, and helper threads that unblock puts and flushes.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/asyncmsg.h>
#include <sys/neutrino.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ---------------------------------------------------------------- callbacks, recorded */

enum { CB_A = 1, CB_B = 2, CB_ATTR = 3 };

struct rec {
    int which;
    int err;
    void *buf;
    unsigned handle;
    pthread_t thread;
};

#define NREC 2048
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rec_cond = PTHREAD_COND_INITIALIZER;
static struct rec recs[NREC];
static int nrec;

static void record(int which, int err, void *buf, unsigned handle) {
    pthread_mutex_lock(&rec_lock);
    if (nrec < NREC) {
        recs[nrec].which = which;
        recs[nrec].err = err;
        recs[nrec].buf = buf;
        recs[nrec].handle = handle;
        recs[nrec].thread = pthread_self();
    }
    nrec++;
    pthread_cond_broadcast(&rec_cond);
    pthread_mutex_unlock(&rec_lock);
}

static int cb_a(int err, void *buf, unsigned handle) {
    record(CB_A, err, buf, handle);
    return 0;
}

static int cb_b(int err, void *buf, unsigned handle) {
    record(CB_B, err, buf, handle);
    return 0;
}

static int cb_attr(int err, void *buf, unsigned handle) {
    record(CB_ATTR, err, buf, handle);
    return 0;
}

static void reset_recs(void) {
    pthread_mutex_lock(&rec_lock);
    nrec = 0;
    pthread_mutex_unlock(&rec_lock);
}

static int recs_now(void) {
    int n;
    pthread_mutex_lock(&rec_lock);
    n = nrec;
    pthread_mutex_unlock(&rec_lock);
    return n;
}

/* Waits (at most ms milliseconds) until n callbacks were recorded; returns how many. */
static int wait_recs_ms(int n, long ms) {
    struct timespec until;
    int got;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&rec_lock);
    while (nrec < n) {
        if (pthread_cond_timedwait(&rec_cond, &rec_lock, &until) != 0) {
            break;
        }
    }
    got = nrec;
    pthread_mutex_unlock(&rec_lock);
    return got;
}

static int wait_recs(int n) {
    return wait_recs_ms(n, 10000);
}

/* ---------------------------------------------------------------- helpers */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Bounds the calling thread's next receive-blocking call. */
static void bound_receive(uint64_t ns) {
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
}

#define SEC 1000000000u
#define MS 1000000u

/* asyncmsg_get bounded by TimerTimeout. */
static struct _asyncmsg_get_header *get_within(int chid, uint64_t ns) {
    bound_receive(ns);
    return asyncmsg_get(chid);
}

static void attr_init(struct _asyncmsg_connection_attr *a, unsigned max_num_buffer,
                      unsigned trigger_num_msg) {
    memset(a, 0, sizeof *a);
    a->buffer_size = 256;
    a->max_num_buffer = max_num_buffer;
    a->trigger_num_msg = trigger_num_msg;
}

static int count_list(struct _asyncmsg_get_header *h) {
    int n = 0;
    for (; h != NULL; h = h->next) {
        n++;
    }
    return n;
}

static void free_list(struct _asyncmsg_get_header *h) {
    while (h != NULL) {
        struct _asyncmsg_get_header *next = h->next;
        asyncmsg_free(h);
        h = next;
    }
}

/* The message's bytes are `text` (with its NUL), and the header says so. */
static int msg_is(const struct _asyncmsg_get_header *h, const char *text) {
    size_t n = strlen(text) + 1;
    return h != NULL && h->err == 0 && h->parts == 1 && h->iov != NULL &&
           h->info.msglen == (ssize_t)n && h->info.srcmsglen == (ssize_t)n &&
           memcmp(h->iov->iov_base, text, n) == 0;
}

/* Messages "<tag> <n>" (their ints) of a list, appended to out (at most max). */
static int collect(struct _asyncmsg_get_header *list, int *coids, int *seqs, int at, int max) {
    struct _asyncmsg_get_header *h;
    for (h = list; h != NULL && at < max; h = h->next) {
        int v = -1;
        if (h->err == 0 && h->iov != NULL && h->iov->iov_base != NULL &&
            h->info.msglen == (ssize_t)sizeof(int)) {
            memcpy(&v, h->iov->iov_base, sizeof v);
        }
        coids[at] = h->info.coid;
        seqs[at] = v;
        at++;
    }
    return at;
}

static int put_int(int coid, int v, unsigned handle,
                   int (*cb)(int err, void *buf, unsigned handle)) {
    return asyncmsg_put(coid, &v, sizeof v, handle, cb);
}

/* ---------------------------------------------------------------- 1. errnos */

static void errnos_and_sync_objects(void) {
    struct _asyncmsg_connection_attr a;
    struct _pulse pulse;
    int chid, sync_chid, sync_coid, coid;
    iov_t iov[2];
    char buf[8] = "abc";

    attr_init(&a, 8, 1);
    chid = asyncmsg_channel_create(0, 0600, 64, 8, NULL, NULL, NULL);
    CHECK(chid > 0, "an asyncmsg channel");

    /* asyncmsg_connect_attach: ESRCH for no such channel or process ([D6] connect_attach). */
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, 0, 7777, _NTO_SIDE_CHANNEL, 0, &a) == -1 && errno == ESRCH,
          "asyncmsg_connect_attach to no such chid: ESRCH");
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, 0x3ffffff0, chid, _NTO_SIDE_CHANNEL, 0, &a) == -1 &&
              errno == ESRCH,
          "asyncmsg_connect_attach to no such pid: ESRCH");

    errno = 0;
    CHECK(asyncmsg_connect_attach(5, 0, chid, _NTO_SIDE_CHANNEL, 0, &a) == -1 &&
              errno == ENOREMOTE,
          "asyncmsg_connect_attach to a remote nd (no Qnet): ENOREMOTE");
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0x80000u, &a) == -1 &&
              errno == EINVAL,
          "asyncmsg_connect_attach with an unknown flag bit: EINVAL");

    /* index: without _NTO_SIDE_CHANNEL the coid is an fd-space one; with it, a side channel. */
    coid = asyncmsg_connect_attach(0, getpid(), chid, 0, 0, &a);
    CHECK(coid >= 0 && (coid & _NTO_SIDE_CHANNEL) == 0, "index 0: an fd-space coid");
    CHECK(asyncmsg_connect_detach(coid) == 0, "detached");
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0 && (coid & _NTO_SIDE_CHANNEL) != 0, "_NTO_SIDE_CHANNEL: a side-channel coid");

    /* Synchronous objects given to asyncmsg calls. */
    sync_chid = ChannelCreate(0);
    sync_coid = ConnectAttach(0, 0, sync_chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(sync_chid > 0 && sync_coid > 0, "an ordinary channel and connection");
    errno = 0;
    CHECK(asyncmsg_put(sync_coid, buf, 4, 0, NULL) == -1 && errno == EBADF,
          "asyncmsg_put on an ordinary coid: EBADF");
    errno = 0;
    CHECK(asyncmsg_flush(sync_coid, 0) == -1 && errno == EBADF,
          "asyncmsg_flush on an ordinary coid: EBADF");
    errno = 0;
    CHECK(asyncmsg_connect_attr(sync_coid, &a, NULL) == -1 && errno == EINVAL,
          "asyncmsg_connect_attr on an ordinary coid: EINVAL");
    errno = 0;
    CHECK(asyncmsg_connect_detach(sync_coid) == -1 && errno == EINVAL,
          "asyncmsg_connect_detach of an ordinary coid: EINVAL");
    errno = 0;
    bound_receive(200 * MS);
    CHECK(asyncmsg_get(sync_chid) == NULL && errno == EBADF,
          "asyncmsg_get on an ordinary chid: EBADF");
    errno = 0;
    CHECK(asyncmsg_channel_destroy(sync_chid) == -1 && errno == EINVAL,
          "asyncmsg_channel_destroy of an ordinary chid: EINVAL");
    /* ... and they are left alone: a pulse still goes through. */
    CHECK(MsgSendPulse(sync_coid, 10, 3, 77) == 0, "the ordinary coid still works");
    memset(&pulse, 0, sizeof pulse);
    bound_receive(2 * SEC);
    CHECK(MsgReceivePulse(sync_chid, &pulse, sizeof pulse, NULL) == 0 && pulse.code == 3 &&
              pulse.value.sival_int == 77,
          "the ordinary channel still works");

    /* asyncmsg objects given to synchronous calls (docs/deviations.md: EBADF / EINVAL). */
    errno = 0;
    CHECK(MsgSendPulse(coid, 10, 3, 1) == -1 && errno == EBADF,
          "MsgSendPulse on an asyncmsg coid: EBADF");
    errno = 0;
    bound_receive(100 * MS);
    CHECK(MsgReceive(chid, buf, sizeof buf, NULL) == -1 && errno == EINVAL,
          "MsgReceive on an asyncmsg chid: EINVAL");

    /* Buffers. */
    errno = 0;
    CHECK(asyncmsg_put(coid, NULL, 4, 0, NULL) == -1 && errno == EFAULT,
          "asyncmsg_put of NULL with a size: EFAULT");
    errno = 0;
    CHECK(asyncmsg_putv(coid, NULL, 2, 0, NULL) == -1 && errno == EFAULT,
          "asyncmsg_putv of a NULL iov: EFAULT");
    SETIOV(&iov[0], buf, 2);
    SETIOV(&iov[1], NULL, 5);
    errno = 0;
    CHECK(asyncmsg_putv(coid, iov, 2, 0, NULL) == -1 && errno == EFAULT,
          "asyncmsg_putv with a NULL part of 5 bytes: EFAULT");
    errno = 0;
    CHECK(asyncmsg_putv(coid, iov, -2, 0, NULL) == -1, "asyncmsg_putv with negative parts fails");

    /* asyncmsg_connect_attr with neither: returns 0 (nothing to do). */
    CHECK(asyncmsg_connect_attr(coid, NULL, NULL) == 0, "asyncmsg_connect_attr(NULL, NULL)");

    CHECK(asyncmsg_connect_detach(coid) == 0, "detach");
    errno = 0;
    CHECK(asyncmsg_connect_detach(coid) == -1 && errno == EINVAL, "a second detach: EINVAL");
    errno = 0;
    CHECK(asyncmsg_flush(coid, 0) == -1 && errno == EBADF, "flush after detach: EBADF");
    errno = 0;
    CHECK(asyncmsg_connect_attr(coid, &a, NULL) == -1 && errno == EINVAL,
          "attributes after detach: EINVAL");
    CHECK(asyncmsg_channel_destroy(chid) == 0, "destroy");
    errno = 0;
    CHECK(asyncmsg_get(chid) == NULL && errno == EBADF, "get on a destroyed chid: EBADF");
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a) == -1 && errno == ESRCH,
          "attach to a destroyed chid: ESRCH");
    ConnectDetach(sync_coid);
    ChannelDestroy(sync_chid);
}

/* ---------------------------------------------------------------- 2. order and fairness */

static void order_and_fairness(void) {
    struct _asyncmsg_connection_attr a;
    int chid, ca, cb, i, n = 0, batches = 0, big = 0;
    int coids[64], seqs[64];
    int next_a = 0, next_b = 100, in_order = 1, b_in_first_two = 0;

    chid = asyncmsg_channel_create(0, 0600, 64, 4, NULL, NULL, NULL);
    attr_init(&a, 16, 0);
    ca = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    cb = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(chid > 0 && ca > 0 && cb > 0, "a channel of batch 4 and two connections");
    for (i = 0; i < 10; i++) {
        put_int(ca, i, 0, NULL);
    }
    for (i = 0; i < 3; i++) {
        put_int(cb, 100 + i, 0, NULL);
    }
    CHECK(asyncmsg_flush(ca, ASYNCMSG_FLUSH_NONBLOCK) == 0 &&
              asyncmsg_flush(cb, ASYNCMSG_FLUSH_NONBLOCK) == 0,
          "both flushed");
    while (n < 13) {
        struct _asyncmsg_get_header *list = get_within(chid, 2 * SEC);
        int before = n;
        if (list == NULL) {
            break;
        }
        batches++;
        big |= count_list(list) > 4;
        n = collect(list, coids, seqs, n, 64);
        if (batches <= 2) {
            for (i = before; i < n; i++) {
                b_in_first_two |= coids[i] == cb;
            }
        }
        free_list(list);
    }
    CHECK(n == 13, "all 13 messages arrived");
    CHECK(!big, "no batch holds more than the channel's max_num_buffer (4)");
    for (i = 0; i < n; i++) {
        if (coids[i] == ca) {
            in_order &= seqs[i] == next_a++;
        } else if (coids[i] == cb) {
            in_order &= seqs[i] == next_b++;
        } else {
            in_order = 0;
        }
    }
    CHECK(in_order && next_a == 10 && next_b == 103, "each connection's messages in put order");
    CHECK(b_in_first_two, "the second connection is not starved behind the first's 10");
    asyncmsg_connect_detach(ca);
    asyncmsg_connect_detach(cb);
    asyncmsg_channel_destroy(chid);
}

/* ---------------------------------------------------------------- 3. triggers */

static void triggers(void) {
    struct _asyncmsg_connection_attr a;
    struct _asyncmsg_get_header *list;
    int chid, nb_chid, coid, i;
    uint64_t t0, waited;

    chid = asyncmsg_channel_create(0, 0600, 64, 16, NULL, NULL, NULL);
    nb_chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0600, 64, 16, NULL, NULL, NULL);

    /* The time trigger delivers a batch smaller than the count trigger. */
    attr_init(&a, 16, 5);
    a.trigger_time.nsec = 150 * MS;
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0, "a connection with count 5 and time 150 ms");
    t0 = now_ns();
    put_int(coid, 1, 0, NULL);
    put_int(coid, 2, 0, NULL);
    list = get_within(chid, 5 * SEC);
    waited = now_ns() - t0;
    CHECK(list != NULL && count_list(list) == 2, "two of five: delivered by the time trigger");
    CHECK(waited >= 120 * MS, "not before trigger_time");
    free_list(list);
    /* And again: the timer re-arms for the next batch. */
    t0 = now_ns();
    put_int(coid, 3, 0, NULL);
    list = get_within(chid, 5 * SEC);
    waited = now_ns() - t0;
    CHECK(list != NULL && count_list(list) == 1 && waited >= 120 * MS,
          "a second timed batch, after trigger_time again");
    free_list(list);
    asyncmsg_connect_detach(coid);

    /* The count trigger fires at once, whatever the timer (non-blocking channel). */
    attr_init(&a, 16, 5);
    a.trigger_time.nsec = 5 * SEC;
    coid = asyncmsg_connect_attach(0, 0, nb_chid, _NTO_SIDE_CHANNEL, 0, &a);
    for (i = 0; i < 4; i++) {
        put_int(coid, i, 0, NULL);
    }
    errno = 0;
    CHECK(asyncmsg_get(nb_chid) == NULL && errno == EAGAIN, "four of five: nothing yet");
    put_int(coid, 4, 0, NULL);
    list = asyncmsg_get(nb_chid);
    CHECK(list != NULL && count_list(list) == 5, "the fifth fires the count trigger");
    free_list(list);
    asyncmsg_connect_detach(coid);

    /* trigger_num_msg 1: every put is delivered at once. */
    attr_init(&a, 16, 1);
    coid = asyncmsg_connect_attach(0, 0, nb_chid, _NTO_SIDE_CHANNEL, 0, &a);
    put_int(coid, 9, 0, NULL);
    list = asyncmsg_get(nb_chid);
    CHECK(list != NULL && count_list(list) == 1, "trigger_num_msg 1: at once");
    free_list(list);
    asyncmsg_connect_detach(coid);

    /* No trigger: nothing moves until a flush. */
    attr_init(&a, 16, 0);
    coid = asyncmsg_connect_attach(0, 0, nb_chid, _NTO_SIDE_CHANNEL, 0, &a);
    put_int(coid, 1, 0, NULL);
    sleep_ms(100);
    errno = 0;
    CHECK(asyncmsg_get(nb_chid) == NULL && errno == EAGAIN, "no trigger: nothing without a flush");
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK);
    list = asyncmsg_get(nb_chid);
    CHECK(list != NULL && count_list(list) == 1, "the flush sends it");
    free_list(list);

    /* asyncmsg_connect_attr turns a time trigger on (QNX's put arms the connection's timer with
     * attr.trigger_time, whatever it was at attach). */
    {
        struct _asyncmsg_connection_attr na;
        int coid2;
        attr_init(&na, 16, 0);
        coid2 = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &na);
        na.trigger_time.nsec = 100 * MS;
        CHECK(asyncmsg_connect_attr(coid2, NULL, &na) == 0, "a time trigger set afterwards");
        put_int(coid2, 42, 0, NULL);
        list = get_within(chid, 3 * SEC);
        CHECK(list != NULL && count_list(list) == 1,
              "a time trigger set by asyncmsg_connect_attr delivers the batch");
        free_list(list);
        asyncmsg_connect_detach(coid2);
    }
    /* Turning the count trigger on with asyncmsg_connect_attr works. */
    attr_init(&a, 16, 2);
    CHECK(asyncmsg_connect_attr(coid, NULL, &a) == 0, "count trigger 2 set afterwards");
    put_int(coid, 1, 0, NULL);
    put_int(coid, 2, 0, NULL);
    list = asyncmsg_get(nb_chid);
    CHECK(list != NULL && count_list(list) == 2, "the new count trigger fires");
    free_list(list);
    asyncmsg_connect_detach(coid);
    asyncmsg_channel_destroy(chid);
    asyncmsg_channel_destroy(nb_chid);
}

/* ---------------------------------------------------------------- 4. callbacks */

static void callbacks(void) {
    struct _asyncmsg_connection_attr a;
    struct _asyncmsg_get_header *list;
    static char m[6][8] = {"m0", "m1", "m2", "m3", "m4", "m5"};
    int chid, ca, cb, i, n, ok;
    pthread_t t0;

    chid = asyncmsg_channel_create(0, 0600, 64, 16, NULL, NULL, NULL);
    attr_init(&a, 16, 0);
    a.call_back = cb_attr;
    ca = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    a.call_back = NULL;
    cb = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(ca > 0 && cb > 0, "two connections, one with an attribute callback");
    reset_recs();
    asyncmsg_put(ca, m[0], 3, 10, NULL);    /* attr's */
    asyncmsg_put(ca, m[1], 3, 11, cb_a);    /* its own */
    asyncmsg_put(ca, m[2], 3, 12, NULL);    /* attr's */
    asyncmsg_put(cb, m[3], 3, 13, cb_b);    /* its own */
    asyncmsg_put(cb, m[4], 3, 14, NULL);    /* none */
    asyncmsg_put(cb, m[5], 3, 15, cb_b);    /* its own */
    asyncmsg_flush(ca, ASYNCMSG_FLUSH_NONBLOCK);
    asyncmsg_flush(cb, ASYNCMSG_FLUSH_NONBLOCK);
    /* Triggered, not taken: no callback yet (a callback says the receiver took it). */
    CHECK(wait_recs_ms(1, 300) == 0, "no callback before a receiver took the messages");
    list = get_within(chid, 2 * SEC);
    n = count_list(list);
    CHECK(n == 6, "the six in one batch");
    free_list(list);
    CHECK(wait_recs(5) == 5, "five callbacks (one message had none)");
    sleep_ms(200);
    CHECK(recs_now() == 5, "each called once only");
    /* Per connection, in queue order. */
    {
        int ia = -1, ib = -1, order_a[3], order_b[2], ka = 0, kb = 0;
        ok = 1;
        for (i = 0; i < 5 && i < NREC; i++) {
            if (recs[i].handle >= 10 && recs[i].handle <= 12 && ka < 3) {
                order_a[ka++] = i;
            } else if ( kb < 2) {
                order_b[kb++] = i;
            }
            ok &= recs[i].err == 0;
        }
        CHECK(ok && ka == 3 && kb == 2, "err 0 for each, three of one connection, two of other");
        if (ka == 3 && kb == 2) {
            ia = order_a[0];
            ib = order_b[0];
            CHECK(recs[ia].handle == 10 && recs[ia].which == CB_ATTR &&
                      recs[ia].buf == (void *)m[0] && recs[order_a[1]].handle == 11 &&
                      recs[order_a[1]].which == CB_A && recs[order_a[1]].buf == (void *)m[1] &&
                      recs[order_a[2]].handle == 12 && recs[order_a[2]].which == CB_ATTR &&
                      recs[order_a[2]].buf == (void *)m[2],
                  "connection one: attr, own, attr; in order; buffers and handles");
            CHECK(recs[ib].handle == 13 && recs[ib].which == CB_B && recs[ib].buf == (void *)m[3] &&
                      recs[order_b[1]].handle == 15 && recs[order_b[1]].which == CB_B &&
                      recs[order_b[1]].buf == (void *)m[5],
                  "connection two: its own callbacks, in order, the one without none");
        }
    }
    t0 = recs[0].thread;
    ok = 1;
    for (i = 1; i < 5; i++) {
        ok &= pthread_equal(recs[i].thread, t0);
    }
    CHECK(ok && !pthread_equal(t0, pthread_self()),
          "all on one thread (the library's), not the putting one");

    /* A detach discards: the attribute's callback too gets EBADF. */
    reset_recs();
    asyncmsg_put(ca, m[0], 3, 20, NULL);
    asyncmsg_put(ca, m[1], 3, 21, NULL);
    asyncmsg_flush(ca, ASYNCMSG_FLUSH_NONBLOCK); /* triggered but not taken */
    CHECK(asyncmsg_connect_detach(ca) == 0, "detach with two triggered, not taken");
    CHECK(wait_recs(2) == 2 && recs[0].which == CB_ATTR && recs[0].err == EBADF &&
              recs[0].handle == 20 && recs[1].err == EBADF && recs[1].handle == 21,
          "their attribute callback: EBADF, in order");
    errno = 0;
    bound_receive(200 * MS);
    list = asyncmsg_get(chid);
    CHECK(list == NULL && errno == ETIMEDOUT, "a detached connection's messages are not received");
    free_list(list);
    asyncmsg_connect_detach(cb);
    asyncmsg_channel_destroy(chid);
}

/* ---------------------------------------------------------------- 5. sizes */

static void sizes(void) {
    struct _asyncmsg_connection_attr a;
    struct _asyncmsg_get_header *list, *h;
    char exact[64], over[65];
    int chid, coid, ok;

    chid = asyncmsg_channel_create(0, 0600, 64, 16, NULL, NULL, NULL);
    attr_init(&a, 16, 0);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    memset(exact, 'e', sizeof exact);
    memset(over, 'o', sizeof over);
    reset_recs();
    CHECK(asyncmsg_put(coid, exact, sizeof exact, 1, cb_a) == 0, "a put of buffer_size bytes");
    CHECK(asyncmsg_put(coid, over, sizeof over, 2, cb_a) == 0, "a put of buffer_size + 1");
    CHECK(asyncmsg_put(coid, "z", 0, 3, cb_a) == 0, "a put of 0 bytes");
    CHECK(asyncmsg_put(coid, NULL, 0, 4, cb_a) == 0, "a put of NULL, 0 bytes");
    CHECK(asyncmsg_put(coid, "after", 6, 5, cb_a) == 0, "one more after them");
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK);
    list = get_within(chid, 2 * SEC);
    CHECK(count_list(list) == 5, "five in the batch");
    if (count_list(list) == 5) {
        h = list;
        CHECK(h->err == 0 && h->info.msglen == 64 && h->info.srcmsglen == 64 &&
                  memcmp(h->iov->iov_base, exact, 64) == 0,
              "buffer_size bytes fit");
        h = h->next;
        CHECK(h->err == EMSGSIZE && h->info.srcmsglen == 65, "buffer_size + 1: EMSGSIZE");
        h = h->next;
        CHECK(h->err == 0 && h->info.msglen == 0 && h->info.srcmsglen == 0, "0 bytes arrive");
        h = h->next;
        CHECK(h->err == 0 && h->info.msglen == 0, "NULL, 0 bytes arrive");
        CHECK(msg_is(h->next, "after"), "the message behind them arrives");
    }
    /* Free the headers out of order: each is its own. */
    if (count_list(list) == 5) {
        struct _asyncmsg_get_header *second = list->next, *rest = list->next->next;
        asyncmsg_free(second);
        ok = list->err == 0 && memcmp(list->iov->iov_base, exact, 64) == 0;
        CHECK(ok, "the first still readable after freeing the second");
        asyncmsg_free(list);
        free_list(rest);
    } else {
        free_list(list);
    }
    CHECK(wait_recs(5) == 5 && recs[0].err == 0 && recs[1].err == EMSGSIZE && recs[2].err == 0 &&
              recs[3].err == 0 && recs[4].err == 0 && recs[1].handle == 2,
          "callbacks: 0, EMSGSIZE, 0, 0, 0");
    asyncmsg_connect_detach(coid);
    asyncmsg_channel_destroy(chid);
}

/* ---------------------------------------------------------------- 6. putv */

static void gathering(void) {
    struct _asyncmsg_connection_attr a;
    struct _asyncmsg_get_header *list;
    iov_t iov[40], empty[3];
    char bytes[40];
    int chid, coid, i, ok;

    chid = asyncmsg_channel_create(0, 0600, 64, 16, NULL, NULL, NULL);
    attr_init(&a, 16, 0);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    for (i = 0; i < 40; i++) {
        bytes[i] = (char)('A' + i % 26);
        SETIOV(&iov[i], &bytes[i], 1);
    }
    SETIOV(&empty[0], bytes, 0);
    SETIOV(&empty[1], bytes, 0);
    SETIOV(&empty[2], bytes, 0);
    reset_recs();
    CHECK(asyncmsg_putv(coid, iov, 40, 1, cb_a) == 0, "putv of 40 one-byte parts");
    CHECK(asyncmsg_putv(coid, empty, 3, 2, cb_a) == 0, "putv of three empty parts");
    CHECK(asyncmsg_putv(coid, iov, 0, 3, cb_a) == 0, "putv of no parts");
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK);
    list = get_within(chid, 2 * SEC);
    CHECK(count_list(list) == 3, "three messages");
    if (count_list(list) == 3) {
        CHECK(list->err == 0 && list->info.msglen == 40 &&
                  memcmp(list->iov->iov_base, bytes, 40) == 0,
              "the 40 parts as one message, in order");
        CHECK(list->next->err == 0 && list->next->info.msglen == 0, "the empty parts: 0 bytes");
        CHECK(list->next->next->err == 0 && list->next->next->info.msglen == 0,
              "no parts: 0 bytes");
    }
    free_list(list);
    ok = wait_recs(3) == 3;
    CHECK(ok && recs[0].buf == (void *)iov && recs[1].buf == (void *)empty &&
              recs[2].buf == (void *)iov && recs[0].err == 0,
          "putv callbacks get the iov pointer");
    asyncmsg_connect_detach(coid);
    asyncmsg_channel_destroy(chid);
}

/* ---------------------------------------------------------------- 7. full queues, flush */

struct taker {
    int chid;
    long delay_ms;
    int want;
    int got;
    int seq_ok;
    int destroy; /* destroy the channel after the delay instead of taking */
};

static void *taker_main(void *arg) {
    struct taker *t = (struct taker *)arg;
    int next = 0;
    sleep_ms(t->delay_ms);
    if (t->destroy) {
        asyncmsg_channel_destroy(t->chid);
        return NULL;
    }
    t->seq_ok = 1;
    while (t->got < t->want) {
        struct _asyncmsg_get_header *h, *list = get_within(t->chid, 5 * SEC);
        if (list == NULL) {
            break;
        }
        for (h = list; h != NULL; h = h->next) {
            int v = -1;
            if (h->err == 0 && h->info.msglen == (ssize_t)sizeof v) {
                memcpy(&v, h->iov->iov_base, sizeof v);
            }
            t->seq_ok &= v == next++;
            t->got++;
        }
        free_list(list);
    }
    return NULL;
}

static void full_queues_and_flush(void) {
    struct _asyncmsg_connection_attr a;
    struct taker tk;
    pthread_t th;
    int chid, coid, n, i;
    uint64_t t0, waited;

    chid = asyncmsg_channel_create(0, 0600, 64, 16, NULL, NULL, NULL);

    /* _NTO_COF_NONBLOCK: max_num_buffer - 1 puts, then EAGAIN (4 and 5 slots). */
    attr_init(&a, 4, 0);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NONBLOCK, &a);
    for (n = 0; n < 50 && put_int(coid, n, 0, NULL) == 0; n++) {
    }
    CHECK(n == 3 && errno == EAGAIN, "max_num_buffer 4: three puts, then EAGAIN");
    asyncmsg_connect_detach(coid);
    attr_init(&a, 5, 0);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NONBLOCK, &a);
    for (n = 0; n < 50 && put_int(coid, n, 0, NULL) == 0; n++) {
    }
    CHECK(n == 4 && errno == EAGAIN, "max_num_buffer 5: four puts, then EAGAIN");
    asyncmsg_connect_detach(coid);

    /* A blocking put on a full queue waits until a receiver takes messages. */
    attr_init(&a, 4, 1);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    memset(&tk, 0, sizeof tk);
    tk.chid = chid;
    tk.delay_ms = 300;
    tk.want = 6;
    for (i = 0; i < 3; i++) {
        put_int(coid, i, 0, NULL);
    }
    pthread_create(&th, NULL, taker_main, &tk);
    t0 = now_ns();
    CHECK(put_int(coid, 3, 0, NULL) == 0, "the fourth put on a full queue succeeds");
    waited = now_ns() - t0;
    CHECK(waited >= 200 * MS, "after the receiver made room");
    put_int(coid, 4, 0, NULL);
    put_int(coid, 5, 0, NULL);
    pthread_join(th, NULL);
    CHECK(tk.got == 6 && tk.seq_ok, "all six taken, in order");

    /* A blocking flush returns once every message was taken; an empty one at once. */
    t0 = now_ns();
    CHECK(asyncmsg_flush(coid, 0) == 0 && now_ns() - t0 < SEC, "flush of nothing: at once");
    asyncmsg_connect_detach(coid);
    attr_init(&a, 16, 0);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    for (i = 0; i < 5; i++) {
        put_int(coid, i, 0, NULL);
    }
    memset(&tk, 0, sizeof tk);
    tk.chid = chid;
    tk.delay_ms = 300;
    tk.want = 5;
    pthread_create(&th, NULL, taker_main, &tk);
    t0 = now_ns();
    CHECK(asyncmsg_flush(coid, 0) == 0, "a blocking flush");
    waited = now_ns() - t0;
    CHECK(waited >= 200 * MS, "returns only once a receiver took them (after its 300 ms)");
    pthread_join(th, NULL);
    /* (The taker counts after its get returns: checked once it is joined.) */
    CHECK(tk.got == 5 && tk.seq_ok, "the receiver took all five, in order");
    asyncmsg_connect_detach(coid);
    asyncmsg_channel_destroy(chid);
}

/* ---------------------------------------------------------------- 8. empty gets */

static pthread_t sig_target;
static volatile sig_atomic_t got_sig;

static void on_usr1(int s) {
    (void)s;
    got_sig = 1;
}

struct destroyer {
    int chid;
    int rc;
};

static void *destroy_later(void *arg) {
    struct destroyer *d = (struct destroyer *)arg;
    sleep_ms(200);
    d->rc = asyncmsg_channel_destroy(d->chid);
    return NULL;
}

static void *signal_later(void *arg) {
    (void)arg;
    sleep_ms(200);
    pthread_kill(sig_target, SIGUSR1);
    return NULL;
}

static void empty_gets(void) {
    struct sigaction sa;
    struct destroyer d;
    pthread_t th;
    int chid;
    uint64_t t0;

    chid = asyncmsg_channel_create(0, 0600, 64, 8, NULL, NULL, NULL);
    /* TimerTimeout with a NULL ntime: an immediate ETIMEDOUT. */
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    errno = 0;
    t0 = now_ns();
    CHECK(asyncmsg_get(chid) == NULL && errno == ETIMEDOUT && now_ns() - t0 < SEC,
          "TimerTimeout with NULL ntime: an immediate ETIMEDOUT");
    /* A bounded one. */
    errno = 0;
    t0 = now_ns();
    CHECK(get_within(chid, 100 * MS) == NULL && errno == ETIMEDOUT && now_ns() - t0 >= 80 * MS,
          "TimerTimeout 100 ms: ETIMEDOUT after it");

    /* A signal ends a blocked get with EINTR. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sig_target = pthread_self();
    got_sig = 0;
    pthread_create(&th, NULL, signal_later, NULL);
    errno = 0;
    CHECK(get_within(chid, 5 * SEC) == NULL && errno == EINTR && got_sig,
          "a signal: EINTR (MsgReceive's rule)");
    pthread_join(th, NULL);

    /* A destroy ends a blocked get with ESRCH (ChannelDestroy's rule). */
    d.chid = chid;
    d.rc = -2;
    pthread_create(&th, NULL, destroy_later, &d);
    errno = 0;
    CHECK(get_within(chid, 5 * SEC) == NULL && errno == ESRCH,
          "the channel destroyed under a blocked get: ESRCH");
    pthread_join(th, NULL);
    CHECK(d.rc == 0, "the destroy succeeded");
}

/* ---------------------------------------------------------------- 9. channel destroy */

struct flusher {
    int coid;
    int rc;
    int err;
};

static void *flush_main(void *arg) {
    struct flusher *f = (struct flusher *)arg;
    errno = 0;
    f->rc = asyncmsg_flush(f->coid, 0);
    f->err = errno;
    return NULL;
}

static void channel_destroy_with_senders(void) {
    struct _asyncmsg_connection_attr a;
    struct taker tk;
    struct flusher fl;
    pthread_t th, th2;
    int chid, coid, coid2, n;
    static char pend[3][4] = {"p0", "p1", "p2"};

    chid = asyncmsg_channel_create(0, 0600, 64, 8, NULL, NULL, NULL);
    attr_init(&a, 16, 0);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    attr_init(&a, 4, 0);
    coid2 = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    reset_recs();
    asyncmsg_put(coid, pend[0], 3, 50, cb_a);
    asyncmsg_put(coid, pend[1], 3, 51, cb_a);
    asyncmsg_put(coid, pend[2], 3, 52, cb_a);
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK);

    /* A blocking flush waiting, and a put blocked on a full queue, when the channel goes. */
    fl.coid = coid;
    fl.rc = -2;
    fl.err = 0;
    pthread_create(&th, NULL, flush_main, &fl);
    for (n = 0; n < 3; n++) {
        put_int(coid2, n, 0, NULL);
    }
    memset(&tk, 0, sizeof tk);
    tk.chid = chid;
    tk.delay_ms = 300;
    tk.destroy = 1;
    pthread_create(&th2, NULL, taker_main, &tk);
    errno = 0;
    CHECK(put_int(coid2, 3, 0, NULL) == -1 && errno == EBADF,
          "a put blocked on a full queue when the channel goes: EBADF");
    pthread_join(th2, NULL);
    pthread_join(th, NULL);
    CHECK(fl.rc == -1 && fl.err == EBADF, "a blocking flush when the channel goes: EBADF");

    /* Later puts and flushes: EBADF. */
    errno = 0;
    CHECK(asyncmsg_put(coid, "x", 2, 0, NULL) == -1 && errno == EBADF,
          "a put after the channel went: EBADF");
    errno = 0;
    CHECK(asyncmsg_put(coid, "x", 2, 0, cb_b) == -1 && errno == EBADF,
          "a put with a callback after the channel went: EBADF");
    errno = 0;
    CHECK(asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK) == -1 && errno == EBADF,
          "a flush after the channel went: EBADF");
    /* The pending messages' callbacks: EBADF (at the latest at the detach). */
    CHECK(asyncmsg_connect_detach(coid) == 0 && asyncmsg_connect_detach(coid2) == 0,
          "the connections detach");
    CHECK(wait_recs(3) == 3 && recs[0].err == EBADF && recs[0].handle == 50 &&
              recs[2].err == EBADF && recs[2].handle == 52 && recs[1].buf == (void *)pend[1],
          "the pending messages' callbacks: EBADF, in order");
    sleep_ms(100);
    CHECK(recs_now() == 3, "no callback for the failed puts");
}

/* ---------------------------------------------------------------- 10. malloc and free */

static int cb_free(int err, void *buf, unsigned handle) {
    record(CB_A, err, buf, handle);
    asyncmsg_free(buf);
    return 0;
}

static void buffers(void) {
    struct _asyncmsg_connection_attr a;
    struct _asyncmsg_get_header *list;
    void *p0;
    char *p;
    int chid, coid;

    p0 = asyncmsg_malloc(0);
    CHECK(p0 != NULL, "asyncmsg_malloc(0): a pointer");
    asyncmsg_free(p0);
    errno = 0;
    CHECK(asyncmsg_malloc((size_t)-1) == NULL && errno == ENOMEM, "asyncmsg_malloc(SIZE_MAX): ENOMEM");

    chid = asyncmsg_channel_create(0, 0600, 4096, 8, NULL, NULL, NULL);
    attr_init(&a, 8, 1);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    p = (char *)asyncmsg_malloc(3000);
    CHECK(p != NULL, "asyncmsg_malloc(3000)");
    if (p == NULL) {
        return;
    }
    memset(p, 'q', 3000);
    reset_recs();
    CHECK(asyncmsg_put(coid, p, 3000, 7, cb_free) == 0, "put it (freed by its callback)");
    list = get_within(chid, 2 * SEC);
    CHECK(list != NULL && list->err == 0 && list->info.msglen == 3000 &&
              ((char *)list->iov->iov_base)[0] == 'q' && ((char *)list->iov->iov_base)[2999] == 'q',
          "it arrives");
    free_list(list);
    CHECK(wait_recs(1) == 1 && recs[0].buf == (void *)p && recs[0].err == 0 && recs[0].handle == 7,
          "its callback: the same pointer");
    asyncmsg_connect_detach(coid);
    asyncmsg_channel_destroy(chid);
}

/* ---------------------------------------------------------------- 11. concurrent producers */

#define PRODUCERS 4
#define PER 300

struct producer {
    int coid;
    int id;
    int fails;
};

static int cb_count(int err, void *buf, unsigned handle) {
    (void)buf;
    record(CB_B, err, NULL, handle);
    return 0;
}

static void *producer_main(void *arg) {
    struct producer *p = (struct producer *)arg;
    int i;
    for (i = 0; i < PER; i++) {
        int v = p->id * 100000 + i;
        if (asyncmsg_put(p->coid, &v, sizeof v, (unsigned)v, cb_count) != 0) {
            p->fails++;
        }
    }
    return NULL;
}

static void concurrent_producers(void) {
    struct _asyncmsg_connection_attr a;
    struct producer pr[PRODUCERS];
    pthread_t th[PRODUCERS];
    int next[PRODUCERS];
    int chid, coid, i, got = 0, ok = 1, fails = 0;

    chid = asyncmsg_channel_create(0, 0600, 64, 8, NULL, NULL, NULL);
    attr_init(&a, 8, 3);
    a.trigger_time.nsec = 20 * MS;
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    reset_recs();
    for (i = 0; i < PRODUCERS; i++) {
        pr[i].coid = coid;
        pr[i].id = i;
        pr[i].fails = 0;
        next[i] = 0;
        pthread_create(&th[i], NULL, producer_main, &pr[i]);
    }
    while (got < PRODUCERS * PER) {
        struct _asyncmsg_get_header *h, *list = get_within(chid, 5 * SEC);
        if (list == NULL) {
            break;
        }
        for (h = list; h != NULL; h = h->next) {
            int v = -1, who;
            if (h->err == 0 && h->info.msglen == (ssize_t)sizeof v) {
                memcpy(&v, h->iov->iov_base, sizeof v);
            }
            who = v / 100000;
            if (v < 0 || who >= PRODUCERS || v % 100000 != next[who]) {
                ok = 0;
            } else {
                next[who]++;
            }
            got++;
        }
        free_list(list);
    }
    for (i = 0; i < PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        fails += pr[i].fails;
    }
    CHECK(fails == 0, "every concurrent put succeeded");
    CHECK(got == PRODUCERS * PER && ok, "every message once, each producer's in order");
    CHECK(wait_recs(PRODUCERS * PER) == PRODUCERS * PER, "a callback for each");
    sleep_ms(100);
    CHECK(recs_now() == PRODUCERS * PER, "and no more");
    asyncmsg_connect_detach(coid);
    asyncmsg_channel_destroy(chid);
}


/* ---------------------------------------------------------------- 12. unblocking */

struct putter {
    int coid;
    int rc;
    int err;
    int flush; /* a blocking flush instead of a put */
    uint64_t took;
};

static void *putter_main(void *arg) {
    struct putter *p = (struct putter *)arg;
    uint64_t t0 = now_ns();
    int v = 99;
    errno = 0;
    p->rc = p->flush ? asyncmsg_flush(p->coid, 0) : asyncmsg_put(p->coid, &v, sizeof v, 0, NULL);
    p->err = errno;
    p->took = now_ns() - t0;
    return NULL;
}

static void *put_later(void *arg) {
    int coid = *(int *)arg;
    sleep_ms(300);
    put_int(coid, 5, 0, NULL);
    return NULL;
}

static void unblocking(void) {
    struct _asyncmsg_connection_attr a;
    struct _asyncmsg_get_header *list;
    struct putter pu, fl;
    struct taker tk;
    struct sigaction sa;
    pthread_t th, th2;
    int chid, coid, i;
    uint64_t t0;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    chid = asyncmsg_channel_create(0, 0600, 64, 8, NULL, NULL, NULL);

    /* A TimerTimeout consumed by a get that did not block does not carry over to the next. */
    attr_init(&a, 8, 1);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    put_int(coid, 1, 0, NULL);
    list = get_within(chid, 100 * MS);
    CHECK(list != NULL, "a bounded get with a message ready");
    free_list(list);
    sleep_ms(150);
    pthread_create(&th, NULL, put_later, &coid);
    t0 = now_ns();
    errno = 0;
    list = asyncmsg_get(chid); /* unbounded, but a put comes in 300 ms */
    CHECK(list != NULL && now_ns() - t0 >= 200 * MS,
          "the next get blocks until the put: the earlier timeout was used up");
    free_list(list);
    pthread_join(th, NULL);
    asyncmsg_connect_detach(coid);

    /* A signal does not end a put blocked on a full queue, nor a blocking flush (condvar
     * waits in QNX's library): both go on once a receiver takes. */
    attr_init(&a, 4, 0);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    for (i = 0; i < 3; i++) {
        put_int(coid, i, 0, NULL);
    }
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK);
    memset(&pu, 0, sizeof pu);
    pu.coid = coid;
    pthread_create(&th, NULL, putter_main, &pu);
    sleep_ms(150);
    pthread_kill(th, SIGUSR1);
    memset(&tk, 0, sizeof tk);
    tk.chid = chid;
    tk.delay_ms = 200;
    tk.want = 4;
    pthread_create(&th2, NULL, taker_main, &tk);
    pthread_join(th, NULL);
    CHECK(pu.rc == 0 && pu.took >= 150 * MS, "a blocked put survives a signal and then succeeds");
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK);
    pthread_join(th2, NULL);
    CHECK(tk.got == 4, "all four taken");

    for (i = 0; i < 3; i++) {
        put_int(coid, i, 0, NULL);
    }
    memset(&fl, 0, sizeof fl);
    fl.coid = coid;
    fl.flush = 1;
    pthread_create(&th, NULL, putter_main, &fl);
    sleep_ms(150);
    pthread_kill(th, SIGUSR1);
    memset(&tk, 0, sizeof tk);
    tk.chid = chid;
    tk.delay_ms = 200;
    tk.want = 3;
    pthread_create(&th2, NULL, taker_main, &tk);
    pthread_join(th, NULL);
    CHECK(fl.rc == 0 && fl.took >= 150 * MS, "a blocking flush survives a signal and then returns");
    pthread_join(th2, NULL);

    /* A detach ends a put blocked on the full queue and a blocking flush: EBADF. */
    for (i = 0; i < 3; i++) {
        put_int(coid, i, 0, NULL);
    }
    memset(&pu, 0, sizeof pu);
    pu.coid = coid;
    memset(&fl, 0, sizeof fl);
    fl.coid = coid;
    fl.flush = 1;
    pthread_create(&th, NULL, putter_main, &pu);
    pthread_create(&th2, NULL, putter_main, &fl);
    sleep_ms(200);
    CHECK(asyncmsg_connect_detach(coid) == 0, "detach under a blocked put and flush");
    pthread_join(th, NULL);
    pthread_join(th2, NULL);
    CHECK(pu.rc == -1 && pu.err == EBADF, "the blocked put: EBADF");
    CHECK(fl.rc == -1 && fl.err == EBADF, "the blocked flush: EBADF");
    asyncmsg_channel_destroy(chid);
}

int main(void) {
    alarm(120);
    errnos_and_sync_objects();
    order_and_fairness();
    triggers();
    callbacks();
    sizes();
    gathering();
    full_queues_and_flush();
    empty_gets();
    channel_destroy_with_senders();
    buffers();
    concurrent_producers();
    unblocking();
    return SUMMARY();
}
