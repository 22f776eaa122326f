/*
 * asyncmsg_suite.c: <sys/asyncmsg.h> in one threaded program on its own kernel: put, putv,
 * get, flush (blocking and not), the per-message and attribute callbacks, the count and time
 * triggers, a channel's event, non-blocking channels and connections, TimerTimeout on a get,
 * EMSGSIZE, a detach's EBADF callbacks, bad ids, asyncmsg_connect_attr, asyncmsg_malloc.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/asyncmsg.h>
#include <sys/neutrino.h>
#include <time.h>

#include "check.h"

/* ---------------------------------------------------------------- callbacks, recorded */

enum { CB_MSG = 1, CB_ATTR = 2, CB_OTHER = 3 };

struct rec {
    int which;
    int err;
    void *buf;
    unsigned handle;
};

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rec_cond = PTHREAD_COND_INITIALIZER;
static struct rec recs[256];
static int nrec;
static pthread_t rec_thread;
static int rec_thread_set;

static void record(int which, int err, void *buf, unsigned handle) {
    pthread_mutex_lock(&rec_lock);
    if (nrec < 256) {
        recs[nrec].which = which;
        recs[nrec].err = err;
        recs[nrec].buf = buf;
        recs[nrec].handle = handle;
        nrec++;
    }
    rec_thread = pthread_self();
    rec_thread_set = 1;
    pthread_cond_broadcast(&rec_cond);
    pthread_mutex_unlock(&rec_lock);
}

static int cb_msg(int err, void *buf, unsigned handle) {
    record(CB_MSG, err, buf, handle);
    return 0;
}

static int cb_attr(int err, void *buf, unsigned handle) {
    record(CB_ATTR, err, buf, handle);
    return 0;
}

static int cb_other(int err, void *buf, unsigned handle) {
    record(CB_OTHER, err, buf, handle);
    return 0;
}

static void reset_recs(void) {
    pthread_mutex_lock(&rec_lock);
    nrec = 0;
    pthread_mutex_unlock(&rec_lock);
}

/* Waits (at most 10 s) until n callbacks were recorded; returns how many there are. */
static int wait_recs(int n) {
    struct timespec until;
    int got;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
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

/* ---------------------------------------------------------------- helpers */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bounds the calling thread's next receive-blocking call. */
static void bound_receive(uint64_t ns) {
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
}

static void attr_init(struct _asyncmsg_connection_attr *a, unsigned trigger_num_msg) {
    memset(a, 0, sizeof *a);
    a->buffer_size = 256;
    a->max_num_buffer = 16;
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

static int msg_is(const struct _asyncmsg_get_header *h, const char *text) {
    size_t n = strlen(text) + 1;
    return h->err == 0 && h->parts == 1 && h->iov != NULL && h->iov->iov_len == n &&
           memcmp(h->iov->iov_base, text, n) == 0 && h->info.msglen == (ssize_t)n &&
           h->info.srcmsglen == (ssize_t)n;
}

/* ---------------------------------------------------------------- a receiver thread */

static int flush_chid;
static int flush_got;
static int flush_in_order;

static void *receiver(void *arg) {
    int want = *(int *)arg;
    flush_in_order = 1;
    while (flush_got < want) {
        struct _asyncmsg_get_header *h, *list;
        bound_receive(10000000000u);
        list = asyncmsg_get(flush_chid);
        if (list == NULL) {
            break;
        }
        for (h = list; h != NULL; h = h->next) {
            char want_text[32];
            snprintf(want_text, sizeof want_text, "flush %d", flush_got);
            flush_in_order &= msg_is(h, want_text);
            flush_got++;
        }
        free_list(list);
    }
    return NULL;
}

/* ---------------------------------------------------------------- the tests */

static void layouts_and_buffers(void) {
    void *p;
    CHECK(sizeof(struct _asyncmsg_get_header) == 104, "struct _asyncmsg_get_header's size");
    CHECK(sizeof(struct _asyncmsg_connection_attr) == 48, "the attributes' size");
    p = asyncmsg_malloc(100);
    CHECK(p != NULL, "asyncmsg_malloc(100)");
    memset(p, 0x5a, 100);
    asyncmsg_free(p);
    errno = 0;
    CHECK(asyncmsg_malloc((size_t)3 << 30) == NULL && errno == ENOMEM,
          "asyncmsg_malloc beyond 2 GiB: ENOMEM");
    asyncmsg_free(NULL);
}

static void bad_ids(void) {
    struct _asyncmsg_connection_attr a;
    int chid;
    attr_init(&a, 1);
    errno = 0;
    CHECK(asyncmsg_put(4321, "x", 2, 0, NULL) == -1 && errno == EBADF, "put on no coid: EBADF");
    errno = 0;
    CHECK(asyncmsg_flush(4321, 0) == -1 && errno == EBADF, "flush of no coid: EBADF");
    errno = 0;
    CHECK(asyncmsg_get(4321) == NULL && errno == EBADF, "get on no chid: EBADF");
    errno = 0;
    CHECK(asyncmsg_connect_detach(4321) == -1 && errno == EINVAL, "detach of no coid: EINVAL");
    errno = 0;
    CHECK(asyncmsg_channel_destroy(4321) == -1 && errno == EINVAL,
          "destroy of no chid: EINVAL");
    errno = 0;
    CHECK(asyncmsg_connect_attr(4321, &a, NULL) == -1 && errno == EINVAL,
          "attributes of no coid: EINVAL");
    errno = 0;
    CHECK(asyncmsg_channel_create(0, 0600, 64, 8, NULL, NULL, NULL) > 0, "a channel");
    chid = ChannelCreate(0);
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a) == -1 && errno == EINVAL,
          "asyncmsg_connect_attach to an ordinary channel: EINVAL");
    errno = 0;
    CHECK(asyncmsg_channel_create(0, 0600, 0, 8, NULL, NULL, NULL) == -1 && errno == EINVAL,
          "a zero buffer_size: EINVAL");
    ChannelDestroy(chid);
}

static void put_get_and_callbacks(void) {
    struct _asyncmsg_connection_attr a;
    struct _asyncmsg_get_header *list;
    char b0[] = "zero", b1[] = "one", b2[] = "two";
    int chid, coid, n, i, ok;
    pid_t me = getpid();

    chid = asyncmsg_channel_create(0, 0600, 64, 8, NULL, NULL, NULL);
    CHECK(chid > 0, "asyncmsg_channel_create");
    attr_init(&a, 0);
    coid = asyncmsg_connect_attach(0, me, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0, "asyncmsg_connect_attach to our own pid");
    reset_recs();
    CHECK(asyncmsg_put(coid, b0, sizeof b0, 10, cb_msg) == 0 &&
              asyncmsg_put(coid, b1, sizeof b1, 11, cb_msg) == 0 &&
              asyncmsg_put(coid, b2, sizeof b2, 12, cb_msg) == 0,
          "three puts");
    /* The puts copied: the buffers may change at once. */
    b0[0] = 'Z';
    CHECK(asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK) == 0, "asyncmsg_flush NONBLOCK");
    bound_receive(10000000000u);
    list = asyncmsg_get(chid);
    CHECK(list != NULL && count_list(list) == 3, "asyncmsg_get: the three, in one batch");
    if (list != NULL && count_list(list) == 3) {
        CHECK(msg_is(list, "zero") && msg_is(list->next, "one") &&
                  msg_is(list->next->next, "two"),
              "in order, as they were when put");
        CHECK(list->info.chid == chid && list->info.coid == coid && list->info.scoid > 0,
              "the header's chid, coid, scoid");
        CHECK(list->info.pid == me, "the header's pid is the sender's getpid()");
        CHECK(list->reserve[0] == 0 && list->next->next->next == NULL, "the list ends");
    }
    free_list(list);
    n = wait_recs(3);
    CHECK(n == 3, "three callbacks");
    ok = n == 3;
    for (i = 0; i < n && i < 3; i++) {
        void *want = i == 0 ? (void *)b0 : i == 1 ? (void *)b1 : (void *)b2;
        ok &= recs[i].which == CB_MSG && recs[i].err == 0 && recs[i].buf == want &&
              recs[i].handle == (unsigned)(10 + i);
    }
    CHECK(ok, "each with err 0, its own buffer pointer and handle, in order");
    CHECK(rec_thread_set && !pthread_equal(rec_thread, pthread_self()),
          "callbacks run on the library's thread");

    /* putv: three parts, one message; the callback gets the iov array. */
    {
        iov_t iov[3];
        SETIOV(&iov[0], "ga", 2);
        SETIOV(&iov[1], "the", 3);
        SETIOV(&iov[2], "red", 4);
        reset_recs();
        CHECK(asyncmsg_putv(coid, iov, 3, 99, cb_msg) == 0, "asyncmsg_putv");
        CHECK(asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK) == 0, "flush");
        bound_receive(10000000000u);
        list = asyncmsg_get(chid);
        CHECK(list != NULL && count_list(list) == 1 && msg_is(list, "gathered"),
              "the parts arrive as one message");
        free_list(list);
        CHECK(wait_recs(1) == 1 && recs[0].buf == (void *)iov && recs[0].handle == 99 &&
                  recs[0].err == 0,
              "putv's callback: the iov pointer, the handle");
        errno = 0;
        CHECK(asyncmsg_putv(coid, iov, -1, 0, NULL) == -1 && errno == EINVAL,
              "putv with negative parts: EINVAL");
        errno = 0;
        CHECK(asyncmsg_put(coid, NULL, 5, 0, NULL) == -1 && errno == EFAULT,
              "put of NULL with a size: EFAULT");
    }

    /* A blocking flush returns once a receiver took everything. */
    {
        pthread_t t;
        int want = 4;
        flush_chid = chid;
        flush_got = 0;
        CHECK(pthread_create(&t, NULL, receiver, &want) == 0, "a receiver thread");
        for (i = 0; i < want; i++) {
            char text[32];
            snprintf(text, sizeof text, "flush %d", i);
            asyncmsg_put(coid, text, strlen(text) + 1, (unsigned)i, NULL);
        }
        CHECK(asyncmsg_flush(coid, 0) == 0, "asyncmsg_flush blocking");
        pthread_join(t, NULL);
        CHECK(flush_got == want && flush_in_order, "the receiver took them all, in order");
    }

    CHECK(asyncmsg_connect_detach(coid) == 0, "asyncmsg_connect_detach");
    errno = 0;
    CHECK(asyncmsg_put(coid, "x", 2, 0, NULL) == -1 && errno == EBADF, "put after detach: EBADF");
    CHECK(asyncmsg_channel_destroy(chid) == 0, "asyncmsg_channel_destroy");
    errno = 0;
    CHECK(asyncmsg_channel_destroy(chid) == -1 && errno == EINVAL, "destroyed twice: EINVAL");
}

static void attribute_callbacks(void) {
    struct _asyncmsg_connection_attr a, old;
    struct _asyncmsg_get_header *list;
    char m1[] = "by attr", m2[] = "by other", m3[] = "own";
    int chid, coid;

    chid = asyncmsg_channel_create(0, 0600, 64, 8, NULL, NULL, NULL);
    attr_init(&a, 1);
    a.call_back = cb_attr;
    a.trigger_time.nsec = 0;
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0, "a connection with an attribute callback");
    reset_recs();
    CHECK(asyncmsg_put(coid, m1, sizeof m1, 5, NULL) == 0, "a put without its own callback");
    bound_receive(10000000000u);
    list = asyncmsg_get(chid);
    CHECK(list != NULL && msg_is(list, "by attr"), "trigger_num_msg 1: delivered at once");
    free_list(list);
    CHECK(wait_recs(1) == 1 && recs[0].which == CB_ATTR && recs[0].buf == (void *)m1 &&
              recs[0].handle == 5 && recs[0].err == 0,
          "the attribute's callback ran, with the buffer and handle");

    memset(&old, 0xff, sizeof old);
    CHECK(asyncmsg_connect_attr(coid, &old, NULL) == 0, "asyncmsg_connect_attr get");
    CHECK(old.call_back == cb_attr && old.buffer_size == 256 && old.max_num_buffer == 16 &&
              old.trigger_num_msg == 1 && old.trigger_time.nsec == 0,
          "the attributes as attached");
    a.call_back = cb_other;
    a.trigger_num_msg = 2;
    memset(&old, 0, sizeof old);
    CHECK(asyncmsg_connect_attr(coid, &old, &a) == 0 && old.call_back == cb_attr,
          "asyncmsg_connect_attr set returns the old ones");
    memset(&old, 0, sizeof old);
    CHECK(asyncmsg_connect_attr(coid, &old, NULL) == 0 && old.call_back == cb_other &&
              old.trigger_num_msg == 2,
          "the new ones hold");
    reset_recs();
    asyncmsg_put(coid, m2, sizeof m2, 6, NULL);
    asyncmsg_put(coid, m3, sizeof m3, 7, cb_msg);
    bound_receive(10000000000u);
    list = asyncmsg_get(chid);
    CHECK(list != NULL && count_list(list) == 2, "trigger_num_msg 2: the two together");
    free_list(list);
    CHECK(wait_recs(2) == 2 && recs[0].which == CB_OTHER && recs[0].buf == (void *)m2 &&
              recs[1].which == CB_MSG && recs[1].buf == (void *)m3 && recs[1].handle == 7,
          "the new attribute callback, and a put's own callback before it");
    asyncmsg_connect_detach(coid);
    asyncmsg_channel_destroy(chid);
}

static void triggers_and_nonblocking(void) {
    struct _asyncmsg_connection_attr a;
    struct _asyncmsg_get_header *list;
    int chid, coid, i, n;
    uint64_t t0, waited;

    /* The count trigger, on a non-blocking channel. */
    chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0600, 64, 8, NULL, NULL, NULL);
    CHECK(chid > 0, "a non-blocking asyncmsg channel");
    attr_init(&a, 3);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    errno = 0;
    CHECK(asyncmsg_get(chid) == NULL && errno == EAGAIN, "_NTO_CHF_ASYNC_NONBLOCK, empty: EAGAIN");
    asyncmsg_put(coid, "c0", 3, 0, NULL);
    asyncmsg_put(coid, "c1", 3, 1, NULL);
    errno = 0;
    CHECK(asyncmsg_get(chid) == NULL && errno == EAGAIN, "two puts of three: nothing sent yet");
    asyncmsg_put(coid, "c2", 3, 2, NULL);
    list = asyncmsg_get(chid);
    CHECK(list != NULL && count_list(list) == 3 && msg_is(list, "c0") &&
              msg_is(list->next->next, "c2"),
          "the third put fires the count trigger");
    free_list(list);
    asyncmsg_connect_detach(coid);

    /* A full queue under _NTO_COF_NONBLOCK. */
    attr_init(&a, 0);
    a.max_num_buffer = 4;
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NONBLOCK, &a);
    CHECK(coid > 0, "a non-blocking connection");
    errno = 0;
    for (n = 0; n < 100; n++) {
        if (asyncmsg_put(coid, "f", 2, 0, NULL) != 0) {
            break;
        }
    }
    CHECK(n >= 1 && n < 100 && errno == EAGAIN, "a full queue: EAGAIN");
    asyncmsg_connect_detach(coid);
    asyncmsg_channel_destroy(chid);

    /* The time trigger, on a blocking channel. */
    chid = asyncmsg_channel_create(0, 0600, 64, 8, NULL, NULL, NULL);
    attr_init(&a, 0);
    a.trigger_time.nsec = 150000000u; /* 150 ms */
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0, "a connection with a time trigger");
    t0 = now_ns();
    asyncmsg_put(coid, "late", 5, 0, NULL);
    bound_receive(10000000000u);
    list = asyncmsg_get(chid);
    waited = now_ns() - t0;
    CHECK(list != NULL && msg_is(list, "late") && waited >= 100000000u,
          "the time trigger delivers after trigger_time");
    free_list(list);

    /* TimerTimeout bounds a blocking get. */
    bound_receive(50000000u);
    errno = 0;
    t0 = now_ns();
    CHECK(asyncmsg_get(chid) == NULL && errno == ETIMEDOUT, "TimerTimeout on a get: ETIMEDOUT");
    CHECK(now_ns() - t0 < 5000000000u, "and it came in time");

    /* Too long for the channel: EMSGSIZE, to the receiver and to the callback. */
    {
        char big[100];
        memset(big, 'b', sizeof big);
        reset_recs();
        CHECK(asyncmsg_put(coid, big, sizeof big, 31, cb_msg) == 0, "a put too long for the channel");
        asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK);
        bound_receive(10000000000u);
        list = asyncmsg_get(chid);
        CHECK(list != NULL && list->err == EMSGSIZE && list->info.srcmsglen == 100,
              "the receiver sees EMSGSIZE");
        free_list(list);
        CHECK(wait_recs(1) == 1 && recs[0].err == EMSGSIZE && recs[0].buf == (void *)big &&
                  recs[0].handle == 31,
              "the callback gets EMSGSIZE");
    }

    /* A detach discards what is queued: EBADF callbacks. */
    {
        char d[3][4] = {"d0", "d1", "d2"};
        int ok = 1;
        asyncmsg_connect_detach(coid);
        attr_init(&a, 0);
        coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
        reset_recs();
        for (i = 0; i < 3; i++) {
            asyncmsg_put(coid, d[i], 3, (unsigned)(40 + i), cb_msg);
        }
        CHECK(asyncmsg_connect_detach(coid) == 0, "detach with three queued");
        CHECK(wait_recs(3) == 3, "three callbacks after the detach");
        for (i = 0; i < 3; i++) {
            ok &= recs[i].err == EBADF && recs[i].buf == (void *)d[i] &&
                  recs[i].handle == (unsigned)(40 + i);
        }
        CHECK(ok, "each with EBADF, its buffer and handle, in order");
    }
    asyncmsg_channel_destroy(chid);
}

static void channel_event(void) {
    struct sigevent ev;
    struct _asyncmsg_connection_attr a;
    struct _asyncmsg_get_header *list;
    struct _pulse pulse;
    int chid, ev_chid, ev_coid, coid;

    ev_chid = ChannelCreate(0);
    ev_coid = ConnectAttach(0, 0, ev_chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(ev_chid > 0 && ev_coid > 0, "an ordinary channel for the event");
    SIGEV_PULSE_INIT(&ev, ev_coid, 10, 5, 42);
    chid = asyncmsg_channel_create(0, 0600, 64, 8, &ev, NULL, NULL);
    CHECK(chid > 0, "an asyncmsg channel with a pulse event");
    attr_init(&a, 1);
    coid = asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a);
    asyncmsg_put(coid, "evt", 4, 0, NULL);
    memset(&pulse, 0, sizeof pulse);
    bound_receive(10000000000u);
    CHECK(MsgReceivePulse(ev_chid, &pulse, sizeof pulse, NULL) == 0 && pulse.code == 5 &&
              pulse.value.sival_int == 42,
          "the channel's event arrives as the pulse");
    errno = 0;
    bound_receive(10000000000u);
    list = asyncmsg_get(chid);
    CHECK(list != NULL && msg_is(list, "evt"), "then asyncmsg_get takes the message");
    free_list(list);
    asyncmsg_connect_detach(coid);
    asyncmsg_channel_destroy(chid);
    ConnectDetach(ev_coid);
    ChannelDestroy(ev_chid);
}

static int recvbuf(size_t bufsize, unsigned num_bufs, void *bufs[], int flags, void *handle) {
    (void)bufsize;
    (void)num_bufs;
    (void)bufs;
    (void)flags;
    (void)handle;
    return 0;
}

static void refusals(void) {
    errno = 0;
    CHECK(asyncmsg_channel_create(0, 0600, 64, 8, NULL, recvbuf, NULL) == -1 && errno == ENOTSUP,
          "a recvbuf callback: ENOTSUP");
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, 0, 1, _NTO_SIDE_CHANNEL, 0, NULL) == -1 && errno == EFAULT,
          "asyncmsg_connect_attach with NULL attributes: EFAULT");
}

int main(void) {
    layouts_and_buffers();
    bad_ids();
    refusals();
    put_get_and_callbacks();
    attribute_callbacks();
    triggers_and_nonblocking();
    channel_event();
    return SUMMARY();
}
