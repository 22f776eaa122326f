/*
 * review_asyncmsg_programs.c: an adversarial review of <sys/asyncmsg.h> between separate C
 * programs on one supervised kernel, with kills (run by
 * procnto-sim/tests/review_asyncmsg_programs.rs, which starts the roles below, kills them and
 * checks the kernel's pools and pidin-sim's view). Usage: review_asyncmsg_programs ROLE ARGS.
 *
 * Roles (each bounded by alarm(); each prints its lines unbuffered and ends with SUMMARY()):
 *   recv-patient GOFILE            a receiver that looks only when GOFILE ("PID N") appears
 *   send-hold PID CHID MODE        puts, then is killed: untriggered | timed | triggered | full
 *                                  | flushing
 *   recv-destroy DIR               destroys its channel when DIR/destroy appears
 *   send-n PID CHID N TAG          puts N messages, flushes, checks every callback
 *   recv-idle                      a receiver that never takes anything (killed)
 *   send-orphan PID CHID KILLED    a put and a flush blocked when the receiver is killed
 *   recv-reuse DIR                 takes, destroys its channel, makes one (same chid), takes
 *   send-reuse PID CHID DIR        the sender of recv-reuse, then of a restarted receiver
 *   recv-count N TAG               takes N messages of TAG from one sender, then nothing
 *   recv-many N                    takes N of tags 1 and 2 and any prefix of tag 0
 *   send-forever PID CHID TAG      puts until killed
 *   recv-big N                     big messages from senders killed meanwhile, then N small
 *   send-big PID CHID              puts 1.5 MiB messages until killed
 *   recv-event N ROUNDS            a pulse and a signal event for two channels
 *   send-rounds PID CHID R PER TAG R rounds of PER messages, each flushed to the end
 *   recv-guard GOFILE              a receiver whose channel another program attacks
 *   send-intruder PID CHID SCHID   the attacker, then odd sizes and asyncmsg_malloc buffers
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/asyncmsg.h>
#include <sys/neutrino.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define SEC 1000000000ull

/* ---------------------------------------------------------------- helpers */

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Waits (at most ms) for the file `path`; reads up to n ints from it. Returns how many. */
static int wait_file(const char *path, long ms, int *out, int n) {
    uint64_t until = now_ms() + (uint64_t)ms;
    struct stat st;
    int got = 0;
    while (stat(path, &st) != 0) {
        if (now_ms() > until) {
            return -1;
        }
        sleep_ms(2);
    }
    if (n > 0) {
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            while (got < n && fscanf(f, "%d", &out[got]) == 1) {
                got++;
            }
            fclose(f);
        }
    }
    return got;
}

/* asyncmsg_get bounded by TimerTimeout. */
static struct _asyncmsg_get_header *get_within(int chid, uint64_t ns) {
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    return asyncmsg_get(chid);
}

static void free_list(struct _asyncmsg_get_header *h) {
    while (h != NULL) {
        struct _asyncmsg_get_header *next = h->next;
        asyncmsg_free(h);
        h = next;
    }
}

static void attr_init(struct _asyncmsg_connection_attr *a, unsigned max, unsigned trigger,
                      int (*cb)(int, void *, unsigned)) {
    memset(a, 0, sizeof *a);
    a->call_back = cb;
    a->buffer_size = 512;
    a->max_num_buffer = max;
    a->trigger_num_msg = trigger;
}

/* Holds on until killed (at most 100 s; alarm() ends it sooner). */
static int hold(void) {
    int i;
    for (i = 0; i < 100; i++) {
        sleep_ms(1000);
    }
    return 3;
}

/* ---------------------------------------------------------------- messages "T<tag> S<seq> ..." */

#define MSGROOM 400

/* Message seq of tag into out (at least MSGROOM bytes); returns its length (with its NUL). */
static size_t make_msg(char *out, int tag, int seq) {
    int n = snprintf(out, MSGROOM, "T%d S%d ", tag, seq);
    int len = n + (seq * 37) % 300;
    int k;
    for (k = n; k < len; k++) {
        out[k] = (char)('a' + (tag * 7 + seq + k) % 26);
    }
    out[len] = '\0';
    return (size_t)len + 1;
}

/* A received message: its tag and seq if it is whole and as make_msg made it, else -1s. */
static int parse_msg(const struct _asyncmsg_get_header *h, int *tag, int *seq) {
    char want[MSGROOM];
    size_t len;
    *tag = -1;
    *seq = -1;
    if (h->err != 0 || h->parts != 1 || h->iov == NULL || h->iov->iov_len < 5 ||
        h->iov->iov_len > MSGROOM) {
        return 0;
    }
    if (sscanf((const char *)h->iov->iov_base, "T%d S%d", tag, seq) != 2 || *seq < 0) {
        *tag = -1;
        return 0;
    }
    len = make_msg(want, *tag, *seq);
    if (len != h->iov->iov_len || h->info.msglen != (ssize_t)len ||
        memcmp(want, h->iov->iov_base, len) != 0) {
        *tag = -1;
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- callbacks, recorded */

#define NREC 8192
struct rec {
    int err;
    void *buf;
    unsigned handle;
};
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rec_cond = PTHREAD_COND_INITIALIZER;
static struct rec recs[NREC];
static int nrec;

static int cb_rec(int err, void *buf, unsigned handle) {
    pthread_mutex_lock(&rec_lock);
    if (nrec < NREC) {
        recs[nrec].err = err;
        recs[nrec].buf = buf;
        recs[nrec].handle = handle;
    }
    nrec++;
    pthread_cond_broadcast(&rec_cond);
    pthread_mutex_unlock(&rec_lock);
    return 0;
}

static int recs_now(void) {
    int n;
    pthread_mutex_lock(&rec_lock);
    n = nrec;
    pthread_mutex_unlock(&rec_lock);
    return n;
}

/* Waits (at most ms) until n callbacks came; returns how many did. */
static int wait_recs(int n, long ms) {
    uint64_t until = now_ms() + (uint64_t)ms;
    int got;
    while ((got = recs_now()) < n && now_ms() < until) {
        sleep_ms(2);
    }
    return got;
}

/* ---------------------------------------------------------------- senders' buffers */

#define MAXPUT 4096
static char bufs[MAXPUT][MSGROOM];

/* ================================================================ recv-patient */

/* Looks only when GOFILE ("PID N") appears: then takes N messages of tag 9, all from PID,
 * and then nothing more (the dead senders' messages must not come). */
static int recv_patient(const char *gofile) {
    int chid, want[2] = {0, 0}, got = 0, ok = 1, strangers = 0;
    struct _asyncmsg_get_header *list, *h;
    chid = asyncmsg_channel_create(0, 0600, 512, 16, NULL, NULL, NULL);
    CHECK(chid > 0, "recv-patient: asyncmsg_channel_create");
    say("ready %d %d", (int)getpid(), chid);
    CHECK(wait_file(gofile, 60000, want, 2) == 2, "recv-patient: the parent's word");
    while (got < want[1]) {
        list = get_within(chid, 10 * SEC);
        CHECK(list != NULL, "recv-patient: asyncmsg_get of the live sender's messages");
        if (list == NULL) {
            break;
        }
        for (h = list; h != NULL; h = h->next) {
            int tag, seq;
            if (h->info.pid != want[0]) {
                strangers++;
                continue;
            }
            ok &= parse_msg(h, &tag, &seq) && tag == 9 && seq == got;
            got++;
        }
        free_list(list);
    }
    CHECK(strangers == 0, "recv-patient: no message of a killed sender arrives");
    CHECK(got == want[1] && ok, "recv-patient: the live sender's messages, whole, in order");
    errno = 0;
    list = get_within(chid, 300000000ull);
    CHECK(list == NULL && errno == ETIMEDOUT, "recv-patient: then nothing more (ETIMEDOUT)");
    free_list(list);
    say("strangers %d", strangers);
    CHECK(asyncmsg_channel_destroy(chid) == 0, "recv-patient: asyncmsg_channel_destroy");
    return SUMMARY();
}

/* ================================================================ send-hold */

static void *mbufs[4];

/* Puts messages to PID/CHID and is killed where MODE says. */
static int send_hold(int pid, int chid, const char *mode) {
    struct _asyncmsg_connection_attr a;
    int full = strcmp(mode, "full") == 0;
    int n = full ? 3 : 10, i, coid, ok = 1;
    attr_init(&a, full ? 4 : 16, strcmp(mode, "triggered") == 0 ? 1 : 0, cb_rec);
    if (strcmp(mode, "timed") == 0) {
        a.trigger_time.nsec = 30 * SEC; /* a time trigger armed, never due before the kill */
    }
    coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0, "send-hold: asyncmsg_connect_attach");
    if (coid <= 0) {
        say("attach failed");
        return SUMMARY();
    }
    mbufs[0] = asyncmsg_malloc(200);
    mbufs[1] = asyncmsg_malloc(3000);
    for (i = 0; i < n; i++) {
        size_t len = make_msg(bufs[i], 1, i);
        if (i == 1 && mbufs[0] != NULL) {
            memcpy(mbufs[0], bufs[i], len);
            ok &= asyncmsg_put(coid, mbufs[0], len, (unsigned)i, NULL) == 0;
        } else if (i == 2 && mbufs[1] != NULL) {
            memcpy(mbufs[1], bufs[i], len);
            ok &= asyncmsg_put(coid, mbufs[1], len, (unsigned)i, NULL) == 0;
        } else if (i == 4) {
            iov_t iov[2];
            SETIOV(&iov[0], bufs[i], 3);
            SETIOV(&iov[1], bufs[i] + 3, len - 3);
            ok &= asyncmsg_putv(coid, iov, 2, (unsigned)i, NULL) == 0;
        } else {
            ok &= asyncmsg_put(coid, bufs[i], len, (unsigned)i, NULL) == 0;
        }
    }
    CHECK(ok, "send-hold: every put");
    if (full) {
        say("blocking");
        (void)make_msg(bufs[n], 1, n);
        i = asyncmsg_put(coid, bufs[n], 20, (unsigned)n, NULL);
        say("the put on a full queue returned %d (errno %d)", i, errno);
    } else if (strcmp(mode, "flushing") == 0) {
        say("flushing");
        i = asyncmsg_flush(coid, 0);
        say("the blocking flush returned %d (errno %d)", i, errno);
    } else {
        say("held");
    }
    return hold(); /* until killed */
}

/* ================================================================ send-n */

/* Puts N messages of TAG (the odd ones with a callback of their own, the even ones with the
 * attribute's), flushes, and checks every callback: 0, its buffer and handle, in order. */
static int send_n(int pid, int chid, int n, int tag) {
    struct _asyncmsg_connection_attr a;
    int i, coid, ok = 1, cb_ok = 1;
    if (n > MAXPUT) {
        n = MAXPUT;
    }
    attr_init(&a, 32, 8, cb_rec);
    coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0, "send-n: asyncmsg_connect_attach");
    say("attached");
    for (i = 0; i < n; i++) {
        size_t len = make_msg(bufs[i], tag, i);
        ok &= asyncmsg_put(coid, bufs[i], len, (unsigned)i, i % 2 ? cb_rec : NULL) == 0;
    }
    CHECK(ok, "send-n: every put");
    CHECK(asyncmsg_flush(coid, 0) == 0, "send-n: asyncmsg_flush: the receiver took them all");
    CHECK(wait_recs(n, 20000) == n, "send-n: a callback for every message");
    pthread_mutex_lock(&rec_lock);
    for (i = 0; i < n && i < NREC; i++) {
        cb_ok &= recs[i].err == 0 && recs[i].handle == (unsigned)i && recs[i].buf == bufs[i];
    }
    pthread_mutex_unlock(&rec_lock);
    CHECK(cb_ok, "send-n: each callback with 0, its buffer and handle, in order");
    sleep_ms(50);
    CHECK(recs_now() == n, "send-n: no callback more");
    CHECK(asyncmsg_connect_detach(coid) == 0, "send-n: asyncmsg_connect_detach");
    return SUMMARY();
}

/* ================================================================ recv-idle */

static int recv_idle(void) {
    int chid = asyncmsg_channel_create(0, 0600, 256, 8, NULL, NULL, NULL);
    CHECK(chid > 0, "recv-idle: asyncmsg_channel_create");
    say("ready %d %d", (int)getpid(), chid);
    return hold(); /* until killed */
}

/* ================================================================ recv-destroy */

static int recv_destroy(const char *dir) {
    char path[512];
    int chid = asyncmsg_channel_create(0, 0600, 256, 8, NULL, NULL, NULL);
    CHECK(chid > 0, "recv-destroy: asyncmsg_channel_create");
    say("ready %d %d", (int)getpid(), chid);
    snprintf(path, sizeof path, "%s/destroy", dir);
    CHECK(wait_file(path, 60000, NULL, 0) == 0, "recv-destroy: the parent's word");
    CHECK(asyncmsg_channel_destroy(chid) == 0, "recv-destroy: destroyed under the blocked sender");
    say("destroyed");
    snprintf(path, sizeof path, "%s/end", dir);
    CHECK(wait_file(path, 60000, NULL, 0) == 0, "recv-destroy: the parent's word to end");
    return SUMMARY();
}

/* ================================================================ send-orphan */

struct blocked {
    int coid;
    int flush; /* 1: a blocking flush; 0: a put */
    volatile int done;
    int rc;
    int err;
};

static void *blocked_main(void *arg) {
    struct blocked *b = (struct blocked *)arg;
    errno = 0;
    if (b->flush) {
        b->rc = asyncmsg_flush(b->coid, 0);
    } else {
        static char extra[MSGROOM];
        size_t len = make_msg(extra, 1, 3);
        b->rc = asyncmsg_put(b->coid, extra, len, 3, NULL);
    }
    b->err = errno;
    __sync_synchronize();
    b->done = 1;
    return NULL;
}

/* A put blocked on a full queue and a blocking flush when the receiver program is killed:
 * both fail with EBADF; every accepted message gets its callback, EBADF (never taken). */
static int send_orphan(int pid, int chid, const char *killed) {
    struct _asyncmsg_connection_attr a;
    struct blocked bp, bf;
    pthread_t tp, tf;
    int ca, cb, i, ok = 1, before, order_ok = 1, next_a = 0, next_b = 10;
    uint64_t until;
    attr_init(&a, 4, 0, cb_rec);
    ca = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a);
    attr_init(&a, 8, 1, cb_rec);
    cb = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(ca > 0 && cb > 0, "send-orphan: two connections");
    for (i = 0; i < 3; i++) {
        size_t len = make_msg(bufs[i], 1, i);
        ok &= asyncmsg_put(ca, bufs[i], len, (unsigned)i, NULL) == 0;
    }
    for (i = 10; i < 12; i++) {
        size_t len = make_msg(bufs[i], 2, i);
        ok &= asyncmsg_put(cb, bufs[i], len, (unsigned)i, NULL) == 0;
    }
    CHECK(ok, "send-orphan: 3 puts fill the 4-slot queue, 2 more on the other");
    memset(&bp, 0, sizeof bp);
    bp.coid = ca;
    memset(&bf, 0, sizeof bf);
    bf.coid = cb;
    bf.flush = 1;
    pthread_create(&tp, NULL, blocked_main, &bp);
    pthread_create(&tf, NULL, blocked_main, &bf);
    sleep_ms(300);
    CHECK(!bp.done, "send-orphan: the put on the full queue blocks");
    CHECK(!bf.done, "send-orphan: the blocking flush waits for the receiver");
    say("blocked");
    CHECK(wait_file(killed, 60000, NULL, 0) == 0, "send-orphan: the parent's word");
    until = now_ms() + 10000;
    while (!(bp.done && bf.done) && now_ms() < until) {
        sleep_ms(2);
    }
    CHECK(bp.done && bp.rc == -1 && bp.err == EBADF,
          "send-orphan: the put blocked when the receiver died: EBADF");
    CHECK(bf.done && bf.rc == -1 && bf.err == EBADF,
          "send-orphan: the flush blocked when the receiver died: EBADF");
    if (!(bp.done && bf.done)) {
        say("still blocked: put %d flush %d", bp.done, bf.done);
        return SUMMARY(); /* (exit ends the stuck threads) */
    }
    pthread_join(tp, NULL);
    pthread_join(tf, NULL);
    errno = 0;
    CHECK(asyncmsg_put(ca, bufs[0], 10, 99, NULL) == -1 && errno == EBADF,
          "send-orphan: a later put: EBADF");
    errno = 0;
    CHECK(asyncmsg_put(cb, bufs[0], 10, 99, cb_rec) == -1 && errno == EBADF,
          "send-orphan: a later put with a callback: EBADF");
    errno = 0;
    CHECK(asyncmsg_flush(ca, ASYNCMSG_FLUSH_NONBLOCK) == -1 && errno == EBADF,
          "send-orphan: a later flush: EBADF");
    sleep_ms(200);
    before = recs_now();
    say("callbacks before the detach %d", before);
    CHECK(asyncmsg_connect_detach(ca) == 0, "send-orphan: detach of the orphaned connection");
    CHECK(asyncmsg_connect_detach(cb) == 0, "send-orphan: detach of the other");
    CHECK(wait_recs(5, 10000) == 5, "send-orphan: a callback for each of the 5 accepted");
    sleep_ms(100);
    CHECK(recs_now() == 5, "send-orphan: none for the failed puts");
    pthread_mutex_lock(&rec_lock);
    for (i = 0; i < nrec && i < NREC; i++) {
        unsigned hd = recs[i].handle;
        order_ok &= recs[i].err == EBADF && recs[i].buf == bufs[hd];
        if (hd < 10) {
            order_ok &= hd == (unsigned)next_a++;
        } else {
            order_ok &= hd == (unsigned)next_b++;
        }
    }
    pthread_mutex_unlock(&rec_lock);
    CHECK(order_ok && next_a == 3 && next_b == 12,
          "send-orphan: each EBADF, its buffer, in queue order per connection");
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a) == -1 && errno == ESRCH,
          "send-orphan: attach to the receiver's gone channel: ESRCH");
    return SUMMARY();
}

/* ================================================================ recv-reuse */

/* Takes until `n` messages of `tag` came (in order from 0; from `*from`, set by the first);
 * counts others in *others. Returns how many of tag came. */
static int take_tag(int chid, int tag, int n, int *from, int *others, int *in_order) {
    int got = 0;
    while (got < n) {
        struct _asyncmsg_get_header *list = get_within(chid, 10 * SEC), *h;
        if (list == NULL) {
            break;
        }
        for (h = list; h != NULL; h = h->next) {
            int t, s;
            if (!parse_msg(h, &t, &s) || t != tag) {
                (*others)++;
                continue;
            }
            if (*from == 0) {
                *from = h->info.pid;
            }
            *in_order &= s == got && h->info.pid == *from;
            got++;
        }
        free_list(list);
    }
    return got;
}

static int recv_reuse(const char *dir) {
    int chid1, chid2, from = 0, others = 0, in_order = 1, stale = 0;
    char path[512];
    uint64_t until;
    chid1 = asyncmsg_channel_create(0, 0600, 512, 8, NULL, NULL, NULL);
    CHECK(chid1 > 0, "recv-reuse: asyncmsg_channel_create");
    say("ready %d %d", (int)getpid(), chid1);
    CHECK(take_tag(chid1, 1, 5, &from, &others, &in_order) >= 5 && in_order,
          "recv-reuse: 5 messages (or a batch more) of the first connection, in order");
    CHECK(asyncmsg_channel_destroy(chid1) == 0, "recv-reuse: destroyed with the sender putting");
    chid2 = asyncmsg_channel_create(0, 0600, 512, 8, NULL, NULL, NULL);
    CHECK(chid2 > 0, "recv-reuse: a new channel");
    say("reopened %d %d", chid2, chid2 == chid1);
    /* The sender tries its stale coid (puts, a flush) until the parent's word (DIR/stale-done),
     * and 200 ms more: none of it may reach the new channel. */
    snprintf(path, sizeof path, "%s/stale-done", dir);
    until = now_ms() + 30000;
    for (;;) {
        struct stat st;
        int done = stat(path, &st) == 0;
        struct _asyncmsg_get_header *list = get_within(chid2, (done ? 200 : 20) * 1000000ull), *h;
        for (h = list; h != NULL; h = h->next) {
            stale++;
        }
        free_list(list);
        if (done || now_ms() > until) {
            break;
        }
    }
    say("window over");
    CHECK(stale == 0, "recv-reuse: no message of the old connection on the new channel");
    others = 0;
    in_order = 1;
    CHECK(take_tag(chid2, 2, 20, &from, &others, &in_order) == 20 && in_order && others == 0,
          "recv-reuse: the sender's new connection: 20 messages, in order, nothing else");
    say("stale %d", stale);
    if (SUMMARY() != 0) {
        return 1;
    }
    return hold(); /* until killed by the parent */
}

/* ================================================================ send-reuse */

static int callbacks_taken_then_ebadf(int accepted, int min_taken) {
    int i, taken = 0, ok = 1;
    pthread_mutex_lock(&rec_lock);
    for (i = 0; i < accepted && i < nrec && i < NREC; i++) {
        ok &= recs[i].handle == (unsigned)i && recs[i].buf == bufs[i % MAXPUT];
        if (recs[i].err == 0 && taken == i) {
            taken++;
        } else {
            ok &= recs[i].err == EBADF;
        }
    }
    pthread_mutex_unlock(&rec_lock);
    say("taken %d of %d", taken, accepted);
    return ok && taken >= min_taken;
}

static int put_flush_check(int coid, int tag, int n, const char *what) {
    int i, ok = 1, base = recs_now();
    for (i = 0; i < n; i++) {
        size_t len = make_msg(bufs[i], tag, i);
        ok &= asyncmsg_put(coid, bufs[i], len, (unsigned)i, cb_rec) == 0;
    }
    ok &= asyncmsg_flush(coid, 0) == 0;
    ok &= wait_recs(base + n, 10000) == base + n;
    pthread_mutex_lock(&rec_lock);
    for (i = 0; i < n && base + i < NREC; i++) {
        ok &= recs[base + i].err == 0 && recs[base + i].handle == (unsigned)i;
    }
    pthread_mutex_unlock(&rec_lock);
    CHECK(ok, what);
    return ok;
}

static int send_reuse(int pid, int chid, const char *dir) {
    struct _asyncmsg_connection_attr a;
    char path[512];
    int coid1, coid2, coid3, accepted = 0, failed_errno = 0, ids[2] = {0, 0};
    uint64_t until = now_ms() + 20000;
    attr_init(&a, 16, 1, cb_rec);
    coid1 = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid1 > 0, "send-reuse: attach");
    /* Put as fast as the queue lets (a put blocks on a full queue) until the channel goes (its
     * program destroys it after taking 5): messages are pending when it goes. */
    while (now_ms() < until && accepted < MAXPUT) {
        size_t len = make_msg(bufs[accepted], 1, accepted);
        errno = 0;
        if (asyncmsg_put(coid1, bufs[accepted], len, (unsigned)accepted, NULL) == 0) {
            accepted++;
        } else if (errno != EAGAIN) {
            failed_errno = errno;
            break;
        }
    }
    CHECK(failed_errno == EBADF, "send-reuse: puts after the channel was destroyed: EBADF");
    snprintf(path, sizeof path, "%s/chid2", dir);
    CHECK(wait_file(path, 30000, ids, 1) == 1, "send-reuse: the new chid");
    errno = 0;
    CHECK(asyncmsg_put(coid1, bufs[0], 8, 0, NULL) == -1 && errno == EBADF,
          "send-reuse: the stale coid once the id is reused: EBADF");
    errno = 0;
    CHECK(asyncmsg_flush(coid1, ASYNCMSG_FLUSH_NONBLOCK) == -1 && errno == EBADF,
          "send-reuse: flush of the stale coid: EBADF");
    say("stale done");
    snprintf(path, sizeof path, "%s/attach", dir);
    CHECK(wait_file(path, 30000, NULL, 0) == 0, "send-reuse: the word to attach again");
    CHECK(asyncmsg_connect_detach(coid1) == 0, "send-reuse: detach of the stale coid");
    CHECK(wait_recs(accepted, 10000) == accepted, "send-reuse: a callback for every accepted put");
    sleep_ms(50);
    CHECK(recs_now() == accepted, "send-reuse: and no more");
    CHECK(callbacks_taken_then_ebadf(accepted, 5),
          "send-reuse: the taken ones 0 (at least 5), then every other EBADF, in order");
    if (ids[0] != chid) {
        errno = 0;
        CHECK(asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a) == -1 &&
                  errno == ESRCH,
              "send-reuse: attach to the destroyed chid: ESRCH");
    }
    coid2 = asyncmsg_connect_attach(0, pid, ids[0], _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid2 > 0, "send-reuse: attach to the new channel");
    pthread_mutex_lock(&rec_lock);
    nrec = 0;
    pthread_mutex_unlock(&rec_lock);
    put_flush_check(coid2, 2, 20, "send-reuse: 20 messages to the new channel, each called back 0");
    say("phase1 done");

    /* Phase 2: the receiver program is killed and another started. */
    snprintf(path, sizeof path, "%s/r2", dir);
    CHECK(wait_file(path, 30000, ids, 2) == 2, "send-reuse: the restarted receiver");
    errno = 0;
    CHECK(asyncmsg_put(coid2, bufs[0], 8, 0, NULL) == -1 && errno == EBADF,
          "send-reuse: a coid to the killed receiver: EBADF");
    errno = 0;
    CHECK(asyncmsg_flush(coid2, 0) == -1 && errno == EBADF,
          "send-reuse: a blocking flush of it: EBADF");
    CHECK(asyncmsg_connect_detach(coid2) == 0, "send-reuse: detach it");
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, pid, ids[1], _NTO_SIDE_CHANNEL, 0, &a) == -1 &&
              errno == ESRCH,
          "send-reuse: attach to the dead program's pid: ESRCH");
    coid3 = asyncmsg_connect_attach(0, ids[0], ids[1], _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid3 > 0, "send-reuse: attach to the restarted receiver");
    pthread_mutex_lock(&rec_lock);
    nrec = 0;
    pthread_mutex_unlock(&rec_lock);
    put_flush_check(coid3, 3, 20, "send-reuse: 20 messages to the restarted receiver");
    CHECK(asyncmsg_connect_detach(coid3) == 0, "send-reuse: detach");
    return SUMMARY();
}

/* ================================================================ recv-count */

static int recv_count(int n, int tag) {
    int chid, from = 0, others = 0, in_order = 1, got;
    struct _asyncmsg_get_header *list;
    chid = asyncmsg_channel_create(0, 0600, 512, 16, NULL, NULL, NULL);
    CHECK(chid > 0, "recv-count: asyncmsg_channel_create");
    say("ready %d %d", (int)getpid(), chid);
    got = take_tag(chid, tag, n, &from, &others, &in_order);
    CHECK(got == n && in_order && others == 0,
          "recv-count: N messages of the tag from one sender, in order, nothing else");
    CHECK(from != 0 && from != getpid(), "recv-count: from another program");
    errno = 0;
    list = get_within(chid, 300000000ull);
    CHECK(list == NULL && errno == ETIMEDOUT, "recv-count: then nothing (ETIMEDOUT)");
    free_list(list);
    say("from %d", from);
    CHECK(asyncmsg_channel_destroy(chid) == 0, "recv-count: destroy");
    return SUMMARY();
}

/* ================================================================ recv-many, send-forever */

static int recv_many(int n) {
    int chid, next[10], pids[10], order_ok = 1, bad = 0, got = 0, t0;
    uint64_t until;
    struct _asyncmsg_get_header *list, *h;
    memset(next, 0, sizeof next);
    memset(pids, 0, sizeof pids);
    chid = asyncmsg_channel_create(0, 0600, 512, 32, NULL, NULL, NULL);
    CHECK(chid > 0, "recv-many: asyncmsg_channel_create");
    say("ready %d %d", (int)getpid(), chid);
    until = now_ms() + 60000;
    while ((next[1] < n || next[2] < n) && now_ms() < until) {
        list = get_within(chid, 10 * SEC);
        if (list == NULL) {
            CHECK(0, "recv-many: a get while the good senders are sending");
            break;
        }
        for (h = list; h != NULL; h = h->next) {
            int t, s;
            if (!parse_msg(h, &t, &s) || t < 0 || t > 9) {
                bad++;
                continue;
            }
            if (pids[t] == 0) {
                pids[t] = h->info.pid;
            }
            order_ok &= s == next[t] && h->info.pid == pids[t];
            next[t] = s + 1;
            got++;
        }
        free_list(list);
    }
    /* Whatever of the killed one's is still there, then nothing. */
    for (;;) {
        errno = 0;
        list = get_within(chid, 500000000ull);
        if (list == NULL) {
            break;
        }
        for (h = list; h != NULL; h = h->next) {
            int t, s;
            if (!parse_msg(h, &t, &s) || t < 0 || t > 9 || t == 1 || t == 2) {
                bad++;
                continue;
            }
            if (pids[t] == 0) {
                pids[t] = h->info.pid;
            }
            order_ok &= s == next[t] && h->info.pid == pids[t];
            next[t] = s + 1;
        }
        free_list(list);
    }
    CHECK(errno == ETIMEDOUT, "recv-many: the end: ETIMEDOUT");
    CHECK(next[1] == n && next[2] == n, "recv-many: every message of the two live senders");
    CHECK(order_ok, "recv-many: each connection's messages in order, from one pid each");
    CHECK(bad == 0, "recv-many: every message whole");
    for (t0 = 0; t0 < 10; t0++) {
        int u;
        for (u = 0; u < t0; u++) {
            order_ok &= pids[t0] == 0 || pids[t0] != pids[u];
        }
    }
    CHECK(pids[1] != 0 && pids[2] != 0 && pids[0] != 0 && order_ok,
          "recv-many: a sender per tag");
    say("victim %d", next[0]);
    CHECK(asyncmsg_channel_destroy(chid) == 0, "recv-many: destroy");
    return SUMMARY();
}

static int send_forever(int pid, int chid, int tag) {
    struct _asyncmsg_connection_attr a;
    int coid, seq = 0;
    attr_init(&a, 16, 4, NULL);
    coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0, "send-forever: attach");
    for (;;) {
        char m[MSGROOM];
        size_t len = make_msg(m, tag, seq);
        if (asyncmsg_put(coid, m, len, (unsigned)seq, NULL) != 0) {
            say("put failed (errno %d)", errno);
            return SUMMARY();
        }
        if (++seq == 50) {
            say("putting");
        }
    }
}

/* ================================================================ recv-big, send-big */

#define BIGMSG (1536 * 1024) /* beyond a program's largest send buffer: read from its memory */

static unsigned char big_pat(unsigned seq, size_t j) {
    return (unsigned char)((seq * 13u + (unsigned)j * 3u + 5u) & 0xff);
}

/* Takes big messages from senders that are killed while it takes, and then N small ones of
 * tag 1: every big message is whole and in order per sender, or carries an error; never
 * garbage. */
static int recv_big(int n) {
    int chid, small = 0, whole = 0, errs = 0, garbage = 0, order_ok = 1, i;
    int pids[16], nexts[16], npids = 0, from = 0;
    uint64_t until = now_ms() + 60000;
    chid = asyncmsg_channel_create(0, 0600, BIGMSG + 64, 4, NULL, NULL, NULL);
    CHECK(chid > 0, "recv-big: asyncmsg_channel_create");
    say("ready %d %d", (int)getpid(), chid);
    while (small < n && now_ms() < until) {
        struct _asyncmsg_get_header *list = get_within(chid, 10 * SEC), *h;
        if (list == NULL) {
            CHECK(0, "recv-big: a get");
            break;
        }
        for (h = list; h != NULL; h = h->next) {
            int t, sq;
            if (h->err != 0) {
                errs++;
                continue;
            }
            if (h->iov->iov_len < MSGROOM) {
                order_ok &= parse_msg(h, &t, &sq) && t == 1 && sq == small &&
                            (from == 0 || from == h->info.pid);
                from = h->info.pid;
                small++;
            } else {
                const unsigned char *p = (const unsigned char *)h->iov->iov_base;
                unsigned seq;
                size_t j;
                int ok = h->iov->iov_len == BIGMSG;
                memcpy(&seq, p, sizeof seq);
                for (j = sizeof seq; ok && j < BIGMSG; j++) {
                    ok &= p[j] == big_pat(seq, j);
                }
                if (!ok) {
                    garbage++;
                    continue;
                }
                whole++;
                for (i = 0; i < npids && pids[i] != h->info.pid; i++) {
                }
                if (i == npids && npids < 16) {
                    pids[npids] = h->info.pid;
                    nexts[npids++] = 0;
                }
                if (i < 16) {
                    order_ok &= seq == (unsigned)nexts[i];
                    nexts[i] = (int)seq + 1;
                }
            }
        }
        free_list(list);
    }
    CHECK(garbage == 0, "recv-big: no big message garbled by its sender's death");
    CHECK(order_ok, "recv-big: each sender's messages in order");
    CHECK(small == n, "recv-big: the live sender's messages after the kills");
    CHECK(whole > 0, "recv-big: big messages from the killed senders arrived before");
    say("whole %d errors %d garbage %d senders %d", whole, errs, garbage, npids);
    CHECK(asyncmsg_channel_destroy(chid) == 0, "recv-big: destroy");
    return SUMMARY();
}

static int send_big(int pid, int chid) {
    struct _asyncmsg_connection_attr a;
    unsigned char *m = (unsigned char *)malloc(BIGMSG);
    unsigned seq;
    int coid;
    attr_init(&a, 8, 1, NULL);
    coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0 && m != NULL, "send-big: attach");
    for (seq = 0;; seq++) {
        size_t j;
        memcpy(m, &seq, sizeof seq);
        for (j = sizeof seq; j < BIGMSG; j++) {
            m[j] = big_pat(seq, j);
        }
        if (asyncmsg_put(coid, m, BIGMSG, seq, NULL) != 0) {
            say("put failed (errno %d)", errno);
            return SUMMARY();
        }
        if (seq == 3) {
            say("putting");
        }
    }
}

/* ================================================================ recv-event, send-rounds */

static int drain(int chid, int tag, int *next, int *ok) {
    struct _asyncmsg_get_header *list, *h;
    int n = 0;
    while ((list = asyncmsg_get(chid)) != NULL) {
        for (h = list; h != NULL; h = h->next) {
            int t, s;
            *ok &= parse_msg(h, &t, &s) && t == tag && s == *next;
            (*next)++;
            n++;
        }
        free_list(list);
    }
    *ok &= errno == EAGAIN;
    return n;
}

static int recv_event(int n, int rounds) {
    struct sigevent ev, ev2;
    struct _pulse pulse;
    sigset_t set;
    siginfo_t si;
    struct timespec ts;
    int pchid, pcoid, chid, chid2, pulses = 0, signals = 0, next = 0, ok = 1, empty_drains = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pchid = ChannelCreate(0);
    pcoid = ConnectAttach(0, 0, pchid, _NTO_SIDE_CHANNEL, 0);
    CHECK(pchid > 0 && pcoid > 0, "recv-event: a pulse channel and a connection to it");
    SIGEV_PULSE_INIT(&ev, pcoid, 10, 0x55, 0x1234);
    chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0600, 512, 16, &ev, NULL, NULL);
    SIGEV_SIGNAL_VALUE_INIT(&ev2, SIGUSR1, 0x777);
    chid2 = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0600, 512, 16, &ev2, NULL, NULL);
    CHECK(chid > 0 && chid2 > 0, "recv-event: two asyncmsg channels with events");
    errno = 0;
    CHECK(asyncmsg_get(chid) == NULL && errno == EAGAIN, "recv-event: nothing yet: EAGAIN");
    say("ready %d %d %d", (int)getpid(), chid, chid2);
    while (next < n) {
        uint64_t ns = 10 * SEC;
        int r;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        memset(&pulse, 0, sizeof pulse);
        r = MsgReceivePulse(pchid, &pulse, sizeof pulse, NULL);
        CHECK(r == 0, "recv-event: the channel's pulse for a batch from another program");
        if (r != 0) {
            break;
        }
        pulses++;
        ok &= pulse.code == 0x55 && pulse.value.sival_int == 0x1234;
        if (drain(chid, 4, &next, &ok) == 0) {
            empty_drains++;
        }
    }
    CHECK(next == n && ok, "recv-event: every message, in order; the pulses' code and value");
    CHECK(pulses >= 1 && pulses <= rounds, "recv-event: at most one pulse per batch");
    say("pulses %d empty %d", pulses, empty_drains);
    next = 0;
    while (next < n) {
        int r;
        ts.tv_sec = 10;
        ts.tv_nsec = 0;
        memset(&si, 0, sizeof si);
        r = sigtimedwait(&set, &si, &ts);
        CHECK(r == SIGUSR1, "recv-event: the channel's signal for a batch from another program");
        if (r != SIGUSR1) {
            break;
        }
        signals++;
        ok &= si.si_value.sival_int == 0x777;
        drain(chid2, 5, &next, &ok);
    }
    CHECK(next == n && ok, "recv-event: every message of the signalled channel; its value");
    CHECK(signals >= 1 && signals <= rounds, "recv-event: at most one signal per batch");
    say("signals %d", signals);
    CHECK(asyncmsg_channel_destroy(chid) == 0 && asyncmsg_channel_destroy(chid2) == 0,
          "recv-event: destroy");
    return SUMMARY();
}

static int send_rounds(int pid, int chid, int rounds, int per, int tag) {
    struct _asyncmsg_connection_attr a;
    int coid, r, i, seq = 0, ok = 1;
    attr_init(&a, 32, 0, cb_rec);
    coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0, "send-rounds: attach");
    for (r = 0; r < rounds; r++) {
        for (i = 0; i < per; i++, seq++) {
            size_t len = make_msg(bufs[seq % MAXPUT], tag, seq);
            ok &= asyncmsg_put(coid, bufs[seq % MAXPUT], len, (unsigned)seq, NULL) == 0;
        }
        ok &= asyncmsg_flush(coid, 0) == 0;
    }
    CHECK(ok, "send-rounds: puts and flushes (the receiver woken by its event each time)");
    CHECK(wait_recs(seq, 10000) == seq, "send-rounds: every callback");
    CHECK(asyncmsg_connect_detach(coid) == 0, "send-rounds: detach");
    return SUMMARY();
}

/* ================================================================ recv-guard, send-intruder */

/* The intruder's messages: size, pattern key, how it is put. */
enum { K_COPY, K_MALLOC, K_SAME, K_PUTV };
struct shape {
    size_t size;
    int key;
    int kind;
};
#define BIG 80000
static const struct shape shapes[] = {
    {0, 0, K_COPY},      {1, 1, K_COPY},        {16, 2, K_MALLOC},     {128, 3, K_COPY},
    {129, 4, K_MALLOC},  {255, 5, K_PUTV},      {256, 6, K_COPY},      {257, 7, K_MALLOC},
    {1000, 8, K_PUTV},   {4096, 9, K_MALLOC},   {4097, 10, K_COPY},    {65536, 11, K_MALLOC},
    {65537, 12, K_MALLOC}, {70000, 13, K_MALLOC}, {70000, 14, K_PUTV},  {300, 15, K_MALLOC},
    {300, 15, K_SAME},   {300, 15, K_SAME},     {BIG + 1, 16, K_COPY}, {5, 17, K_COPY},
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

static unsigned char pat(int key, size_t j) {
    return (unsigned char)((key * 31 + (int)(j % 251) * 7 + 1) & 0xff);
}

static int recv_guard(const char *gofile) {
    int chid, schid, want[2] = {0, 0}, got = 0, ok = 1, i;
    struct _asyncmsg_get_header *list, *h;
    chid = asyncmsg_channel_create(0, 0600, BIG, 16, NULL, NULL, NULL);
    schid = ChannelCreate(0);
    CHECK(chid > 0 && schid > 0, "recv-guard: an asyncmsg and an ordinary channel");
    say("ready %d %d %d", (int)getpid(), chid, schid);
    CHECK(wait_file(gofile, 60000, want, 2) == 2, "recv-guard: the parent's word");
    while (got < want[1]) {
        list = get_within(chid, 10 * SEC);
        CHECK(list != NULL, "recv-guard: asyncmsg_get (the channel survived the intruder)");
        if (list == NULL) {
            break;
        }
        for (h = list; h != NULL; h = h->next, got++) {
            const struct shape *s = &shapes[got < NSHAPES ? got : NSHAPES - 1];
            int this_ok = h->info.pid == want[0];
            if (s->size > BIG) {
                this_ok &= h->err == EMSGSIZE;
            } else {
                const unsigned char *p = (const unsigned char *)h->iov->iov_base;
                size_t j;
                this_ok &= h->err == 0 && h->info.msglen == (ssize_t)s->size &&
                           h->iov->iov_len == s->size;
                for (j = 0; this_ok && j < s->size; j++) {
                    this_ok &= p[j] == pat(s->key, j);
                }
            }
            if (!this_ok) {
                say("message %d (size %zu): err %d msglen %zd", got, s->size, h->err,
                    (ssize_t)h->info.msglen);
            }
            ok &= this_ok;
        }
        free_list(list);
    }
    CHECK(got == want[1] && ok, "recv-guard: every message whole, its size, in order");
    for (i = 0; i < 3; i++) {
        errno = 0;
        list = get_within(chid, 200000000ull);
        if (list == NULL) {
            break;
        }
        free_list(list);
        got++;
    }
    CHECK(got == want[1] && errno == ETIMEDOUT, "recv-guard: nothing more");
    CHECK(asyncmsg_channel_destroy(chid) == 0, "recv-guard: its channel is still its own");
    CHECK(ChannelDestroy(schid) == 0, "recv-guard: its ordinary channel too");
    return SUMMARY();
}

static int send_intruder(int pid, int chid, int schid) {
    struct _asyncmsg_connection_attr a;
    pid_t gone;
    int coid, scoid, i, ok = 1, cb_ok = 1, status;
    void *m[NSHAPES], *used[NSHAPES];
    static unsigned char copy[NSHAPES][BIG + 2];
    iov_t iovs[NSHAPES][3];
    struct _asyncmsg_get_header *list;

    /* A pid that no program has (a child that has ended), before any QNX call. */
    gone = fork();
    if (gone == 0) {
        _exit(0);
    }
    waitpid(gone, &status, 0);

    /* Another program's channel is not this program's. */
    errno = 0;
    list = asyncmsg_get(chid);
    CHECK(list == NULL && errno == EBADF, "send-intruder: asyncmsg_get of another program's chid: EBADF");
    free_list(list);
    errno = 0;
    list = get_within(chid, 100000000ull);
    CHECK(list == NULL, "send-intruder: a bounded asyncmsg_get of it takes nothing");
    free_list(list);
    errno = 0;
    CHECK(asyncmsg_channel_destroy(chid) == -1 && errno == EINVAL,
          "send-intruder: asyncmsg_channel_destroy of another program's chid: EINVAL");
    errno = 0;
    CHECK(ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0) == -1 && errno == EINVAL,
          "send-intruder: ConnectAttach to another program's asyncmsg channel: EINVAL");
    attr_init(&a, 32, 0, cb_rec);
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, pid, schid, _NTO_SIDE_CHANNEL, 0, &a) == -1 &&
              errno == EINVAL,
          "send-intruder: asyncmsg_connect_attach to another program's ordinary channel: EINVAL");
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, pid, 4321, _NTO_SIDE_CHANNEL, 0, &a) == -1 && errno == ESRCH,
          "send-intruder: to a chid the other program has not: ESRCH");
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, gone, chid, _NTO_SIDE_CHANNEL, 0, &a) == -1 &&
              errno == ESRCH,
          "send-intruder: to a pid no program has: ESRCH");
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, NULL) == -1 &&
              errno == EFAULT,
          "send-intruder: a NULL attr: EFAULT");
    a.max_num_buffer = 70000;
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a) == -1 &&
              errno == EINVAL,
          "send-intruder: max_num_buffer 70000: EINVAL");
    attr_init(&a, 32, 0, cb_rec);
    scoid = ConnectAttach(0, pid, schid, _NTO_SIDE_CHANNEL, 0);
    CHECK(scoid > 0, "send-intruder: an ordinary connection to the other program");
    errno = 0;
    CHECK(asyncmsg_put(scoid, "x", 2, 0, NULL) == -1 && errno == EBADF,
          "send-intruder: asyncmsg_put on an ordinary coid to another program: EBADF");
    errno = 0;
    CHECK(asyncmsg_connect_detach(scoid) == -1 && errno == EINVAL,
          "send-intruder: asyncmsg_connect_detach of it: EINVAL");

    coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0, "send-intruder: asyncmsg_connect_attach");
    errno = 0;
    CHECK(MsgSendPulse(coid, 10, 1, 1) == -1 && errno == EBADF,
          "send-intruder: MsgSendPulse on the asyncmsg coid: EBADF");
    errno = 0;
    CHECK(asyncmsg_put(coid, NULL, 10, 0, NULL) == -1 && errno == EFAULT,
          "send-intruder: a NULL buffer with a size: EFAULT");
    errno = 0;
    CHECK(asyncmsg_put(coid, "abc", (size_t)-1, 0, NULL) == -1 && errno == EOVERFLOW,
          "send-intruder: a size past SSIZE_MAX: EOVERFLOW");
    errno = 0;
    CHECK(asyncmsg_putv(coid, NULL, 1, 0, NULL) == -1 && errno == EFAULT,
          "send-intruder: asyncmsg_putv of NULL: EFAULT");
    errno = 0;
    CHECK(asyncmsg_put(coid + 77, "abc", 3, 0, NULL) == -1 && errno == EBADF,
          "send-intruder: a put on no coid: EBADF");
    CHECK(asyncmsg_put(coid, "abc", 3, 0, NULL) == 0,
          "send-intruder: a put never triggered (no trigger, no flush)");
    CHECK(asyncmsg_connect_detach(coid) == 0, "send-intruder: detach with it queued");
    CHECK(wait_recs(1, 5000) == 1 && recs[0].err == EBADF,
          "send-intruder: its callback: EBADF at the detach (accepted, never delivered)");
    pthread_mutex_lock(&rec_lock);
    nrec = 0;
    pthread_mutex_unlock(&rec_lock);
    coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &a);
    CHECK(coid > 0, "send-intruder: attach again");

    /* Odd sizes, asyncmsg_malloc'd buffers (one put three times), gathers. */
    for (i = 0; i < NSHAPES; i++) {
        const struct shape *s = &shapes[i];
        size_t j;
        unsigned char *p;
        m[i] = NULL;
        if (s->kind == K_MALLOC) {
            m[i] = asyncmsg_malloc(s->size);
            p = (unsigned char *)m[i];
            CHECK(p != NULL, "send-intruder: asyncmsg_malloc");
            if (p == NULL) {
                p = copy[i];
            }
        } else if (s->kind == K_SAME) {
            p = (unsigned char *)used[i - 1]; /* the same asyncmsg_malloc buffer again */
        } else {
            p = copy[i];
        }
        for (j = 0; j < s->size && s->kind != K_SAME; j++) {
            p[j] = pat(s->key, j);
        }
        if (s->kind == K_PUTV) {
            size_t third = s->size / 3;
            SETIOV(&iovs[i][0], p, third);
            SETIOV(&iovs[i][1], p + third, 0);
            SETIOV(&iovs[i][2], p + third, s->size - third);
            used[i] = iovs[i];
            ok &= asyncmsg_putv(coid, iovs[i], 3, (unsigned)i, NULL) == 0;
        } else {
            used[i] = p;
            ok &= asyncmsg_put(coid, p, s->size, (unsigned)i, NULL) == 0;
        }
    }
    CHECK(ok, "send-intruder: every put of every shape");
    say("sent %d", NSHAPES);
    CHECK(asyncmsg_flush(coid, 0) == 0, "send-intruder: flush: the receiver took them");
    CHECK(wait_recs(NSHAPES, 10000) == NSHAPES, "send-intruder: a callback for each");
    pthread_mutex_lock(&rec_lock);
    for (i = 0; i < NSHAPES && i < nrec; i++) {
        int this_ok = recs[i].handle == (unsigned)i && recs[i].buf == used[i] &&
                      recs[i].err == (shapes[i].size > BIG ? EMSGSIZE : 0);
        if (!this_ok) {
            say("callback %d: err %d handle %u", i, recs[i].err, recs[i].handle);
        }
        cb_ok &= this_ok;
    }
    pthread_mutex_unlock(&rec_lock);
    CHECK(cb_ok, "send-intruder: each callback: its err (EMSGSIZE for the long one), handle, buffer");
    for (i = 0; i < NSHAPES; i++) {
        asyncmsg_free(m[i]);
    }
    CHECK(asyncmsg_connect_detach(coid) == 0, "send-intruder: detach");
    CHECK(ConnectDetach(scoid) == 0, "send-intruder: ConnectDetach");
    return SUMMARY();
}

/* ================================================================ main */

int main(int argc, char **argv) {
    const char *role = argc > 1 ? argv[1] : "";
    int n = argc - 2;
    int v[6] = {0, 0, 0, 0, 0, 0}, i;
    alarm(90); /* every role is bounded */
    for (i = 0; i < n && i < 6; i++) {
        v[i] = atoi(argv[i + 2]);
    }
    if (strcmp(role, "recv-patient") == 0 && n == 1) {
        return recv_patient(argv[2]);
    } else if (strcmp(role, "send-hold") == 0 && n == 3) {
        return send_hold(v[0], v[1], argv[4]);
    } else if (strcmp(role, "send-n") == 0 && n == 4) {
        return send_n(v[0], v[1], v[2], v[3]);
    } else if (strcmp(role, "recv-idle") == 0 && n == 0) {
        return recv_idle();
    } else if (strcmp(role, "recv-destroy") == 0 && n == 1) {
        return recv_destroy(argv[2]);
    } else if (strcmp(role, "send-orphan") == 0 && n == 3) {
        return send_orphan(v[0], v[1], argv[4]);
    } else if (strcmp(role, "recv-reuse") == 0 && n == 1) {
        return recv_reuse(argv[2]);
    } else if (strcmp(role, "send-reuse") == 0 && n == 3) {
        return send_reuse(v[0], v[1], argv[4]);
    } else if (strcmp(role, "recv-count") == 0 && n == 2) {
        return recv_count(v[0], v[1]);
    } else if (strcmp(role, "recv-many") == 0 && n == 1) {
        return recv_many(v[0]);
    } else if (strcmp(role, "send-forever") == 0 && n == 3) {
        return send_forever(v[0], v[1], v[2]);
    } else if (strcmp(role, "recv-big") == 0 && n == 1) {
        return recv_big(v[0]);
    } else if (strcmp(role, "send-big") == 0 && n == 2) {
        return send_big(v[0], v[1]);
    } else if (strcmp(role, "recv-event") == 0 && n == 2) {
        return recv_event(v[0], v[1]);
    } else if (strcmp(role, "send-rounds") == 0 && n == 5) {
        return send_rounds(v[0], v[1], v[2], v[3], v[4]);
    } else if (strcmp(role, "recv-guard") == 0 && n == 1) {
        return recv_guard(argv[2]);
    } else if (strcmp(role, "send-intruder") == 0 && n == 3) {
        return send_intruder(v[0], v[1], v[2]);
    }
    fprintf(stderr, "usage: %s ROLE ARGS (see the file's comment)\n", argv[0]);
    return 2;
}
