/*
 * asyncmsg_region.c: asyncmsg_malloc's buffers in a kernel shared by programs, one program in
 * two roles (run by procnto-sim/tests/c_asyncmsg_region.rs).
 *
 *   asyncmsg_region receive READY_FILE   creates an asyncmsg channel of 64 KiB buffers, writes
 *                                        "ready PID CHID" to READY_FILE, takes TOTAL messages
 *                                        and checks each against the plan below.
 *   asyncmsg_region send PID CHID        attaches to that channel and puts the plan's messages.
 *
 * In a shared kernel asyncmsg_malloc gives memory of the kernel's region (the process's send
 * buffers: a quarter of the queue arena at most, 4 MiB with the default config, one buffer
 * 1 MiB at most), and asyncmsg_put hands such a buffer to the kernel uncopied, as on QNX: bytes
 * changed after the put and before a receiver takes the message are what the receiver gets.
 * Any other buffer is copied before asyncmsg_put returns. The phases:
 *
 *  (a) messages of 129 B to 64 KiB from asyncmsg_malloc buffers; each callback comes with err
 *      0, the same pointer and handle; the buffer is freed in its callback (even handles) or
 *      after it (odd ones).
 *  (b) asyncmsg_malloc buffers put with the count trigger not reached, rewritten, then flushed:
 *      the receiver gets the NEW bytes.
 *  (c) the same with stack and malloc buffers: the receiver gets the OLD bytes.
 *  (d) NBIG asyncmsg_malloc buffers of 1 MiB (more than the budget): each non-NULL and
 *      writable (all at once, so none overlaps another); the first 64 KiB of each put, rewritten
 *      and flushed: the first ones (region buffers) arrive rewritten, the last (malloc's, past
 *      the budget) as it was put, intact; all freed. Then one more 1 MiB buffer: region memory
 *      again (the budget came back), its rewrite seen.
 *  (e) asyncmsg_free(NULL) does nothing.
 *
 * Message layout: [seq][seed] (two unsigned) then bytes that depend on the seed and the
 * position, so that a message rewritten with another seed differs in every byte and a mix of
 * the two is caught. Each role prints "N passed, N failed" last and exits 0 only if all passed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/asyncmsg.h>
#include <sys/neutrino.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
/* The receiver's channel: buffers of this many bytes. */
#define BUFSZ (64u * KIB)
/* The sender's count trigger: a phase puts fewer messages than this before it flushes. */
#define TRIGGER 4u
/* Phase (d): 1 MiB buffers, more than the 4 MiB budget holds. */
#define NBIG 6
/* A message's bytes as put (OLD) and as rewritten after the put (NEW). */
#define OLD 0
#define NEW 1
#define EITHER 2

struct planned {
    char phase;
    unsigned len;
    int expect; /* OLD, NEW or EITHER */
};

/* Every message, in the order the sender puts them (its seq is its index). */
static const struct planned PLAN[] = {
    /* (a) asyncmsg_malloc buffers, put once, not rewritten. */
    {'a', 129, OLD},
    {'a', 1000, OLD},
    {'a', 4096, OLD},
    {'a', 20000, OLD},
    {'a', 65536, OLD},
    /* (b) asyncmsg_malloc buffers rewritten after the put. */
    {'b', 129, NEW},
    {'b', 4096, NEW},
    {'b', 65536, NEW},
    /* (c) a stack buffer in the slot's inline area, a longer stack buffer, a malloc buffer,
     * rewritten after the put. */
    {'c', 100, OLD},
    {'c', 1000, OLD},
    {'c', 20000, OLD},
    /* (d) the first 64 KiB of each 1 MiB buffer, rewritten after the put: new while the
     * budget lasts, old after (checked by the receiver as a whole). */
    {'d', 65536, EITHER},
    {'d', 65536, EITHER},
    {'d', 65536, EITHER},
    {'d', 65536, EITHER},
    {'d', 65536, EITHER},
    {'d', 65536, EITHER},
    /* ... and one 1 MiB buffer after they were all freed. */
    {'d', 65536, NEW},
};
#define TOTAL ((int)(sizeof PLAN / sizeof PLAN[0]))
/* The seqs of phase (d)'s NBIG buffers. */
#define FIRST_BIG 11

static unsigned seed_of(int seq, int which) {
    return (which == NEW ? 2000u : 1000u) + (unsigned)seq;
}

static unsigned char byte_at(unsigned seed, size_t i) {
    return (unsigned char)(i * 131u + seed * 17u + (i >> 9));
}

/* Message seq as put (OLD) or rewritten (NEW), into buf (len bytes). */
static void fill(void *buf, size_t len, int seq, int which) {
    unsigned char *b = (unsigned char *)buf;
    unsigned head[2];
    size_t i;
    head[0] = (unsigned)seq;
    head[1] = seed_of(seq, which);
    for (i = sizeof head; i < len; i++) {
        b[i] = byte_at(head[1], i);
    }
    memcpy(b, head, sizeof head);
}

/* Which version of message seq the len bytes at buf are (OLD or NEW), or -1: neither whole. */
static int version_of(const void *buf, size_t len, int seq) {
    const unsigned char *b = (const unsigned char *)buf;
    unsigned head[2];
    int which;
    size_t i;
    if (len < sizeof head) {
        return -1;
    }
    memcpy(head, b, sizeof head);
    if (head[0] != (unsigned)seq) {
        return -1;
    }
    if (head[1] == seed_of(seq, OLD)) {
        which = OLD;
    } else if (head[1] == seed_of(seq, NEW)) {
        which = NEW;
    } else {
        return -1;
    }
    for (i = sizeof head; i < len; i++) {
        if (b[i] != byte_at(head[1], i)) {
            return -1;
        }
    }
    return which;
}

/* ------------------------------------------------------------------------------ receiver */

static int receive_role(const char *ready) {
    char tmp[4096], what[160];
    int chid, got = 0, batches = 0, versions[TOTAL], i, region = 0, prefix = 1;
    pid_t sender = 0;
    FILE *f;

    chid = asyncmsg_channel_create(0, 0600, BUFSZ, 16, NULL, NULL, NULL);
    CHECK(chid > 0, "asyncmsg_channel_create with 64 KiB buffers");
    if (chid <= 0) {
        return SUMMARY();
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", ready);
    f = fopen(tmp, "w");
    CHECK(f != NULL, "the ready file");
    if (f == NULL) {
        return SUMMARY();
    }
    fprintf(f, "ready %d %d\n", (int)getpid(), chid);
    fclose(f);
    CHECK(rename(tmp, ready) == 0, "the ready file in place");

    for (i = 0; i < TOTAL; i++) {
        versions[i] = -1;
    }
    while (got < TOTAL) {
        struct _asyncmsg_get_header *list, *h;
        _Uint64t ns = 10000000000u;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        list = asyncmsg_get(chid);
        CHECK(list != NULL, "asyncmsg_get (within 10 s)");
        if (list == NULL) {
            break;
        }
        batches++;
        for (h = list; h != NULL;) {
            struct _asyncmsg_get_header *next = h->next;
            if (got < TOTAL) {
                const struct planned *p = &PLAN[got];
                int v = -1;
                if (h->err == 0 && h->parts == 1 && h->iov->iov_len == p->len &&
                    h->info.msglen == (ssize_t)p->len) {
                    v = version_of(h->iov->iov_base, h->iov->iov_len, got);
                }
                versions[got] = v;
                snprintf(what, sizeof what,
                         "(%c) message %d: %u bytes, whole, %s (err %d, %ld bytes, got %s)",
                         p->phase, got, p->len,
                         p->expect == NEW   ? "as rewritten after the put"
                         : p->expect == OLD ? "as put"
                                            : "as put or as rewritten",
                         h->err, (long)h->iov->iov_len,
                         v == NEW ? "new" : v == OLD ? "old" : "neither, or garbled");
                CHECK(v >= 0 && (p->expect == EITHER || v == p->expect), what);
                if (sender == 0) {
                    sender = h->info.pid;
                }
                CHECK(h->info.pid == sender, "every message from the one sender");
            }
            got++;
            asyncmsg_free(h);
            h = next;
        }
    }
    CHECK(got == TOTAL, "every message arrived, no more");
    CHECK(sender != 0 && sender != getpid(), "from another process");
    CHECK(batches >= 5, "in batches, one at least per phase");

    /* (d): the 1 MiB buffers within the budget were region memory (their rewrite seen), the
     * rest malloc's (copied at the put): a prefix of at least one and at most 4 (4 MiB / 1 MiB),
     * and the last one past it. */
    for (i = FIRST_BIG; i < FIRST_BIG + NBIG; i++) {
        if (versions[i] == NEW) {
            prefix &= region == i - FIRST_BIG;
            region++;
        }
    }
    printf("(d) region buffers %d of %d\n", region, NBIG);
    CHECK(region >= 1, "(d) the first 1 MiB asyncmsg_malloc buffer was region memory, put uncopied");
    CHECK(region <= 4, "(d) at most the 4 MiB budget's worth of 1 MiB buffers was region memory");
    CHECK(prefix, "(d) the region buffers came first, malloc's after");
    CHECK(versions[FIRST_BIG + NBIG - 1] == OLD,
          "(d) the last 1 MiB buffer (malloc's, past the budget) was copied at its put, intact");
    printf("from %d\n", (int)sender);
    CHECK(asyncmsg_channel_destroy(chid) == 0, "asyncmsg_channel_destroy");
    return SUMMARY();
}

/* -------------------------------------------------------------------------------- sender */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
/* Per seq: the buffer its callback must bring back, and whether the callback frees it. */
static void *expect_buf[TOTAL];
static int free_in_cb[TOTAL];
static int ncb;
static int cb_ok = 1;

static int done(int err, void *buf, unsigned handle) {
    pthread_mutex_lock(&lock);
    /* Callbacks run in queue order: this one is for message ncb. */
    if (ncb >= TOTAL || err != 0 || handle != (unsigned)ncb || buf != expect_buf[ncb]) {
        printf("callback %d: err %d, handle %u, buffer %p (expected %p)\n", ncb, err, handle,
               buf, ncb < TOTAL ? expect_buf[ncb] : NULL);
        cb_ok = 0;
    } else if (free_in_cb[ncb]) {
        asyncmsg_free(buf);
    }
    ncb++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    return 0;
}

/* Waits (10 s at most) for the callbacks of every message up to seq n (excluded). */
static int callbacks_until(int n) {
    struct timespec until;
    int reached;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&lock);
    while (ncb < n) {
        if (pthread_cond_timedwait(&cond, &lock, &until) != 0) {
            break;
        }
    }
    reached = ncb == n;
    pthread_mutex_unlock(&lock);
    return reached;
}

/* Puts message seq (PLAN[seq].len bytes of buf) with the callback `done`. */
static int put(int coid, int seq, void *buf, int free_it) {
    pthread_mutex_lock(&lock);
    expect_buf[seq] = buf;
    free_in_cb[seq] = free_it;
    pthread_mutex_unlock(&lock);
    return asyncmsg_put(coid, buf, PLAN[seq].len, (unsigned)seq, done);
}

/* Puts the n messages from seq (buffers bufs), the count trigger not reached, rewrites them,
 * flushes and waits for their callbacks. */
static int put_rewrite_flush(int coid, int seq, void **bufs, int n) {
    int i, ok = 1;
    for (i = 0; i < n; i++) {
        fill(bufs[i], PLAN[seq + i].len, seq + i, OLD);
        ok &= put(coid, seq + i, bufs[i], 0) == 0;
    }
    for (i = 0; i < n; i++) {
        fill(bufs[i], PLAN[seq + i].len, seq + i, NEW);
    }
    ok &= asyncmsg_flush(coid, 0) == 0;
    return ok && callbacks_until(seq + n);
}

static int send_role(int pid, int chid) {
    struct _asyncmsg_connection_attr attr;
    char stack_short[100], stack_long[1000];
    void *bufs[NBIG + 1], *big[NBIG];
    unsigned char *heap;
    int coid, seq = 0, i, ok;

    memset(&attr, 0, sizeof attr);
    attr.buffer_size = BUFSZ;
    attr.max_num_buffer = 32;
    attr.trigger_num_msg = TRIGGER;
    coid = asyncmsg_connect_attach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, 0, &attr);
    CHECK(coid > 0, "asyncmsg_connect_attach to the receiver");
    if (coid <= 0) {
        return SUMMARY();
    }

    /* (a) */
    ok = 1;
    for (; seq < 5; seq++) {
        void *b = asyncmsg_malloc(PLAN[seq].len);
        CHECK(b != NULL, "(a) asyncmsg_malloc");
        if (b == NULL) {
            return SUMMARY();
        }
        bufs[seq] = b;
        fill(b, PLAN[seq].len, seq, OLD);
        ok &= put(coid, seq, b, seq % 2 == 0) == 0;
    }
    CHECK(ok, "(a) every put of an asyncmsg_malloc buffer, 129 B to 64 KiB");
    CHECK(asyncmsg_flush(coid, 0) == 0, "(a) asyncmsg_flush");
    CHECK(callbacks_until(seq), "(a) a callback for every message");
    CHECK(cb_ok, "(a) each with err 0, its buffer and its handle, in order");
    for (i = 1; i < 5; i += 2) {
        asyncmsg_free(bufs[i]);
    }

    /* (b) */
    for (i = 0; i < 3; i++) {
        bufs[i] = asyncmsg_malloc(PLAN[seq + i].len);
        CHECK(bufs[i] != NULL, "(b) asyncmsg_malloc");
        if (bufs[i] == NULL) {
            return SUMMARY();
        }
    }
    CHECK(put_rewrite_flush(coid, seq, bufs, 3),
          "(b) asyncmsg_malloc buffers put, rewritten, flushed: their callbacks");
    CHECK(cb_ok, "(b) each callback with err 0, its buffer and its handle");
    for (i = 0; i < 3; i++) {
        asyncmsg_free(bufs[i]);
    }
    seq += 3;

    /* (c) */
    heap = (unsigned char *)malloc(PLAN[seq + 2].len);
    CHECK(heap != NULL, "(c) malloc");
    if (heap == NULL) {
        return SUMMARY();
    }
    bufs[0] = stack_short;
    bufs[1] = stack_long;
    bufs[2] = heap;
    CHECK(put_rewrite_flush(coid, seq, bufs, 3),
          "(c) stack and malloc buffers put, rewritten, flushed: their callbacks");
    CHECK(cb_ok, "(c) each callback with err 0, its buffer and its handle");
    free(heap);
    seq += 3;

    /* (d) */
    ok = 1;
    for (i = 0; i < NBIG; i++) {
        big[i] = asyncmsg_malloc(MIB);
        CHECK(big[i] != NULL, "(d) asyncmsg_malloc of 1 MiB, within the budget or past it");
        if (big[i] == NULL) {
            return SUMMARY();
        }
        memset(big[i], 0x40 + i, MIB);
    }
    for (i = 0; i < NBIG; i++) {
        unsigned char *b = (unsigned char *)big[i];
        size_t k;
        for (k = 0; k < MIB && b[k] == (unsigned char)(0x40 + i); k++) {
        }
        ok &= k == MIB;
    }
    CHECK(ok, "(d) every 1 MiB buffer writable, all of it, none overlapping another");
    for (i = 0; i < NBIG; i++, seq++) {
        CHECK(put_rewrite_flush(coid, seq, &big[i], 1),
              "(d) the first 64 KiB of a 1 MiB buffer put, rewritten, flushed: its callback");
    }
    CHECK(cb_ok, "(d) each callback with err 0, its buffer and its handle");
    for (i = 0; i < NBIG; i++) {
        asyncmsg_free(big[i]);
    }
    bufs[0] = asyncmsg_malloc(MIB);
    CHECK(bufs[0] != NULL, "(d) asyncmsg_malloc of 1 MiB after the others were freed");
    if (bufs[0] == NULL) {
        return SUMMARY();
    }
    CHECK(put_rewrite_flush(coid, seq, bufs, 1),
          "(d) its first 64 KiB put, rewritten, flushed: its callback");
    CHECK(cb_ok, "(d) the callback with err 0, its buffer and its handle");
    asyncmsg_free(bufs[0]);
    seq++;

    /* (e) */
    asyncmsg_free(NULL);
    CHECK(1, "(e) asyncmsg_free(NULL) returned");

    CHECK(seq == TOTAL, "the whole plan put");
    pthread_mutex_lock(&lock);
    ok = ncb == TOTAL && cb_ok;
    pthread_mutex_unlock(&lock);
    CHECK(ok, "a callback for every message, each as expected, none more");
    CHECK(asyncmsg_connect_detach(coid) == 0, "asyncmsg_connect_detach");
    return SUMMARY();
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "receive") == 0) {
        return receive_role(argv[2]);
    }
    if (argc == 4 && strcmp(argv[1], "send") == 0) {
        return send_role(atoi(argv[2]), atoi(argv[3]));
    }
    fprintf(stderr, "usage: %s receive READY_FILE | %s send PID CHID\n", argv[0], argv[0]);
    return 2;
}
