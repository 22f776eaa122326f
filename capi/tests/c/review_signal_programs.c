/*
 * review_signal_programs.c: an adversarial review of signals between separate C programs on
 * one supervised kernel (run by procnto-sim/tests/review_signal_programs.rs, which starts the
 * roles below, storms them from another program, kills some, and checks the kernel's pools).
 * Usage: review_signal_programs ROLE ARGS. Every role is bounded by alarm(), prints its lines
 * unbuffered and ends with SUMMARY().
 *
 * Roles:
 *   server                        _NTO_CHF_UNBLOCK channel; 3 threads; holds every 3rd request
 *                                 a moment, cancels held ones on an unblock pulse (ECANCELED);
 *                                 counts requests per client thread (sequence numbers), client
 *                                 handler pulses, its own handler pulses; ends on a quit message
 *   client PID CHID TAG T N DIR   T threads, N numbered requests each (from DIR/go on); its
 *                                 handlers send a pulse to the server; reports its counts
 *   quit PID CHID                 ends the server
 *   storm MS KIND PID:TID,... ... floods the targets for MS ms: tgkill (SIGUSR1, SIGRTMIN),
 *                                 kill(), SignalKill process- and thread-directed (KIND all), or
 *                                 SIGUSR1 only (KIND usr1)
 *   mute                          channels A (held, never replied), B (never received), C
 *                                 (_NTO_CHF_UNBLOCK, held, unblock answered with status 77)
 *   sleeper DIR MPID A B C        threads blocked INTR, NANOSLEEP (TimerTimeout), delay(),
 *                                 RECEIVE, SEND, REPLY (A and C), and one in non-blocking calls
 *   counter                       a real-time signal's handler counting while its threads are
 *                                 in kernel calls; reads DIR/sent (how many were queued)
 *   rtq PID TID N OUT             queues N SIGRTMIN+2 to PID/TID with tgkill, writes how many
 *   evserver                      receives event requests, delivers each event N times
 *   evclient PID CHID N PART      events: SIGEV_SIGNAL_THREAD to a thread in kernel calls, and
 *                                 to one in sigtimedwait; kill: SignalKill process-directed with
 *                                 one of two threads masking the signal (each way round)
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/siginfo.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000ull
#define SEC 1000000000ull

#define CODE_SELF 10
#define CODE_CLIENT 11
#define CODE_WAKE 12
#define MSG_REQ 0x301
#define MSG_DONE 0x302
#define MSG_QUIT 0x303
#define MSG_EV 0x304
#define MAXTAG 8
#define MAXTHR 8

/* ---------------------------------------------------------------- helpers */

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* Linux's nanosleep (not a kernel call of the simulation), resumed after a handler. */
static void sleep_us(long us) {
    struct timespec ts;
    ts.tv_sec = us / 1000000;
    ts.tv_nsec = (us % 1000000) * 1000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Waits at most ms for `path`. */
static int wait_file(const char *path, long ms) {
    uint64_t until = now_ns() + (uint64_t)ms * MS;
    while (!file_exists(path)) {
        if (now_ns() > until) {
            return 0;
        }
        sleep_us(1000);
    }
    return 1;
}

static void bound(int flags, uint64_t ns) {
    TimerTimeout(CLOCK_MONOTONIC, flags, NULL, &ns, NULL);
}

static int linux_tid(void) {
    return (int)syscall(SYS_gettid);
}

static void on(int sig, void (*h)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction");
}

static void block_storm(int how) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    sigaddset(&s, SIGRTMIN);
    pthread_sigmask(how, &s, NULL);
}

#define ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_SEQ_CST)
#define GET(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)

struct req {
    _Uint16t type;
    _Uint16t tag;
    _Uint16t thr;
    _Uint16t pad;
    _Uint32t seq;
    _Uint32t a, b, c, d;
};

/* ---------------------------------------------------------------- server */

static int s_chid, s_self_coid;
static long s_handled, s_self_sent, s_self_got, s_self_fail;
static volatile int s_quit;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static long s_expected[MAXTAG][MAXTHR], s_cancelled[MAXTAG], s_answered[MAXTAG];
static long s_dups[MAXTAG], s_gaps, s_client_pulses[MAXTAG], s_unblock, s_stale_unblock;
static long s_rx_eintr, s_errors, s_reply_fail;
static int s_done[MAXTAG];
static struct req s_claim[MAXTAG];
static rcvid_t s_pending[16];
static int s_tids[3];
static int s_pending_tag[16];

static void s_handler(int sig) {
    (void)sig;
    ADD(s_handled, 1);
    if (MsgSendPulse(s_self_coid, 10, CODE_SELF, 0) == 0) {
        ADD(s_self_sent, 1);
    } else {
        ADD(s_self_fail, 1);
    }
}

static void s_pulse(struct _pulse *p) {
    if (p->code == CODE_SELF) {
        ADD(s_self_got, 1);
    } else if (p->code == CODE_CLIENT) {
        int tag = p->value.sival_int;
        if (tag >= 0 && tag < MAXTAG) {
            ADD(s_client_pulses[tag], 1);
        }
    } else if (p->code == _PULSE_CODE_UNBLOCK) {
        rcvid_t r = (rcvid_t)p->value.sival_int;
        int i, found = 0;
        ADD(s_unblock, 1);
        pthread_mutex_lock(&s_lock);
        for (i = 0; i < 16; i++) {
            if (s_pending[i] == r && r != 0) {
                s_pending[i] = 0;
                found = 1;
                s_cancelled[s_pending_tag[i]]++;
                if (MsgError(r, ECANCELED) == -1) {
                    s_reply_fail++;
                }
                break;
            }
        }
        pthread_mutex_unlock(&s_lock);
        if (!found) {
            ADD(s_stale_unblock, 1);
        }
    }
}

static void *s_thread(void *arg) {
    union {
        struct req r;
        struct _pulse p;
    } m;
    s_tids[(intptr_t)arg] = linux_tid();
    while (!s_quit) {
        rcvid_t rcvid;
        bound(_NTO_TIMEOUT_RECEIVE, 300 * MS);
        rcvid = MsgReceive(s_chid, &m, sizeof m, NULL);
        if (rcvid == -1) {
            if (errno == EINTR) {
                ADD(s_rx_eintr, 1);
            } else if (errno != ETIMEDOUT) {
                ADD(s_errors, 1);
                say("server MsgReceive: %s", strerror(errno));
                sleep_us(1000);
            }
            continue;
        }
        if (rcvid == 0) {
            s_pulse(&m.p);
            continue;
        }
        if (m.r.type == MSG_QUIT) {
            int k;
            s_quit = 1;
            MsgReply(rcvid, 0, NULL, 0);
            /* Wake the other two threads: a signal handler's kernel call (MsgSendPulse) that
             * ran between a thread's TimerTimeout and its MsgReceive spent the 300 ms bound
             * (QNX clears an arming on return from the next kernel call, whichever it is), so
             * that thread may be RECEIVE-blocked without one. */
            for (k = 0; k < 2; k++) {
                if (MsgSendPulse(s_self_coid, 10, CODE_WAKE, 0) == -1) {
                    ADD(s_errors, 1);
                }
            }
            continue;
        }
        if (m.r.type == MSG_DONE && m.r.tag < MAXTAG) {
            pthread_mutex_lock(&s_lock);
            s_done[m.r.tag] = 1;
            s_claim[m.r.tag] = m.r;
            pthread_mutex_unlock(&s_lock);
            MsgReply(rcvid, 0, NULL, 0);
            continue;
        }
        if (m.r.type != MSG_REQ || m.r.tag >= MAXTAG || m.r.thr >= MAXTHR) {
            MsgError(rcvid, EINVAL);
            ADD(s_errors, 1);
            continue;
        }
        {
            int tag = m.r.tag, thr = m.r.thr, slot = -1, i;
            long want;
            pthread_mutex_lock(&s_lock);
            want = s_expected[tag][thr];
            if ((long)m.r.seq == want) {
                s_expected[tag][thr]++;
            } else if ((long)m.r.seq == want - 1) {
                s_dups[tag]++;
            } else {
                s_gaps++;
                say("server: tag %d thread %d seq %u, expected %ld", tag, thr, m.r.seq, want);
            }
            if (m.r.seq % 3 == 0) {
                for (i = 0; i < 16; i++) {
                    if (s_pending[i] == 0) {
                        s_pending[i] = rcvid;
                        s_pending_tag[i] = tag;
                        slot = i;
                        break;
                    }
                }
            }
            if (slot < 0) {
                s_answered[tag]++;
                if (MsgReply(rcvid, 0, &m.r, sizeof m.r) == -1) {
                    s_reply_fail++;
                }
            }
            pthread_mutex_unlock(&s_lock);
            if (slot >= 0) {
                /* Held: the client stays REPLY-blocked under the storm a moment. */
                sleep_us(500);
                pthread_mutex_lock(&s_lock);
                if (s_pending[slot] == rcvid) {
                    s_pending[slot] = 0;
                    s_answered[tag]++;
                    if (MsgReply(rcvid, 0, &m.r, sizeof m.r) == -1) {
                        s_reply_fail++;
                    }
                }
                pthread_mutex_unlock(&s_lock);
            }
        }
    }
    return NULL;
}

static int role_server(void) {
    pthread_t th[3];
    int i, tag;
    union {
        struct req r;
        struct _pulse p;
    } m;
    alarm(60);
    s_chid = ChannelCreate(_NTO_CHF_UNBLOCK);
    s_self_coid = ConnectAttach(0, 0, s_chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(s_chid > 0 && s_self_coid != -1, "server channel");
    on(SIGUSR1, s_handler, 0);
    on(SIGUSR2, s_handler, 0);
    on(SIGRTMIN, s_handler, 0);
    for (i = 0; i < 3; i++) {
        pthread_create(&th[i], NULL, s_thread, (void *)(intptr_t)i);
    }
    sleep_us(20000);
    /* Ready: pid chid, then the server threads' Linux tids (the storm's targets). */
    say("ready %d %d %d:%d,%d,%d", getpid(), s_chid, getpid(), GET(s_tids[0]), GET(s_tids[1]),
        GET(s_tids[2]));
    for (i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
    }
    block_storm(SIG_BLOCK);
    /* Drain what is left. */
    for (i = 0; i < 100000; i++) {
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
        rcvid_t r = MsgReceive(s_chid, &m, sizeof m, NULL);
        if (r == -1) {
            break;
        }
        if (r == 0) {
            s_pulse(&m.p);
        } else {
            MsgError(r, ESRCH);
        }
    }
    say("server: handled %ld self-pulses sent %ld got %ld failed %ld unblock %ld stale %ld "
        "rx-eintr %ld reply-fail %ld",
        GET(s_handled), GET(s_self_sent), GET(s_self_got), GET(s_self_fail), GET(s_unblock),
        GET(s_stale_unblock), GET(s_rx_eintr), s_reply_fail);
    CHECK(GET(s_self_sent) == GET(s_self_got),
          "every pulse the server's own handlers sent arrived once");
    CHECK(s_gaps == 0, "no request lost or out of order");
    CHECK(GET(s_errors) == 0, "no unexpected server error");
    CHECK(GET(s_handled) > 0, "the storm reached the server");
    for (tag = 0; tag < MAXTAG; tag++) {
        long got = 0;
        int t;
        for (t = 0; t < MAXTHR; t++) {
            got += s_expected[tag][t];
        }
        if (got == 0) {
            continue;
        }
        say("server: tag %d requests %ld answered %ld cancelled %ld dups %ld pulses %ld done %d",
            tag, got, s_answered[tag], s_cancelled[tag], s_dups[tag], s_client_pulses[tag],
            s_done[tag]);
        if (!s_done[tag]) {
            continue; /* a killed client */
        }
        /* claim: a = replies, b = cancelled, c = handler pulses sent, d = pulse failures */
        CHECK(got == (long)s_claim[tag].a + (long)s_claim[tag].b + s_dups[tag],
              "every request the client finished reached the server once (or was resent "
              "after a documented pool-full EINTR)");
        CHECK(s_dups[tag] == 0 || s_claim[tag].d > 0,
              "a REPLY-blocked client on an _NTO_CHF_UNBLOCK channel never left with EINTR "
              "(the request was received twice) while pulses could be queued");
        CHECK(s_cancelled[tag] == (long)s_claim[tag].b,
              "every cancel the server made reached the client as ECANCELED");
        CHECK(s_answered[tag] == (long)s_claim[tag].a + s_dups[tag],
              "every reply the server made reached the client");
        CHECK(GET(s_client_pulses[tag]) == (long)s_claim[tag].c,
              "every pulse the client's handlers sent arrived once");
    }
    return SUMMARY();
}

/* ---------------------------------------------------------------- client */

static int c_coid, c_tag, c_n;
static long c_sigs, c_pulses, c_pulse_fail;
static long c_ok, c_cancel, c_eintr, c_other, c_bad, c_esrch;
static int c_tids[MAXTHR + 1];
static char c_go[512];

static void c_handler(int sig) {
    (void)sig;
    ADD(c_sigs, 1);
    if (MsgSendPulse(c_coid, 10, CODE_CLIENT, c_tag) == 0) {
        ADD(c_pulses, 1);
    } else {
        ADD(c_pulse_fail, 1);
    }
}

static void *c_thread(void *arg) {
    int thr = (int)(intptr_t)arg;
    int seq;
    c_tids[thr + 1] = linux_tid();
    CHECK(wait_file(c_go, 20000), "the go file");
    for (seq = 0; seq < c_n; seq++) {
        struct req q, r;
        memset(&q, 0, sizeof q);
        q.type = MSG_REQ;
        q.tag = (_Uint16t)c_tag;
        q.thr = (_Uint16t)thr;
        q.seq = (_Uint32t)seq;
        for (;;) {
            long st;
            memset(&r, 0, sizeof r);
            bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, 10 * SEC);
            st = MsgSend(c_coid, &q, sizeof q, &r, sizeof r);
            if (st == 0) {
                if (r.seq == q.seq && r.tag == q.tag && r.thr == q.thr) {
                    ADD(c_ok, 1);
                } else {
                    ADD(c_bad, 1);
                }
                break;
            }
            if (st == -1 && errno == EINTR) {
                ADD(c_eintr, 1);
                continue; /* not received (or a documented pool-full release): again */
            }
            if (st == -1 && errno == ECANCELED) {
                ADD(c_cancel, 1);
                break;
            }
            if (st == -1 && (errno == ESRCH || errno == EBADF) && c_tag >= 5) {
                /* The server was killed: ESRCH blocked in the call, EBADF after (QNX's
                 * MsgSend: the connection no longer has a channel). This thread's end. */
                ADD(c_esrch, 1);
                return NULL;
            }
            ADD(c_other, 1);
            say("client %d thread %d seq %d: MsgSend %ld: %s", c_tag, thr, seq, st,
                strerror(errno));
            return NULL;
        }
    }
    return NULL;
}

static int role_client(int pid, int chid, int tag, int nthr, int n, const char *dir) {
    pthread_t th[MAXTHR];
    int i;
    struct req q;
    char buf[256];
    int len;
    alarm(60);
    if (nthr > MAXTHR) {
        nthr = MAXTHR;
    }
    c_tag = tag;
    c_n = n;
    snprintf(c_go, sizeof c_go, "%s/go", dir);
    c_coid = ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(c_coid != -1, "ConnectAttach to the server");
    on(SIGUSR1, c_handler, SA_RESTART);
    on(SIGUSR2, c_handler, 0);
    on(SIGRTMIN, c_handler, 0);
    c_tids[0] = linux_tid();
    for (i = 0; i < nthr; i++) {
        pthread_create(&th[i], NULL, c_thread, (void *)(intptr_t)i);
    }
    for (i = 0; i < 2000; i++) {
        int all = 1, t;
        for (t = 1; t <= nthr; t++) {
            all = all && GET(c_tids[t]) != 0;
        }
        if (all) {
            break;
        }
        sleep_us(1000);
    }
    len = snprintf(buf, sizeof buf, "ready %d:%d", getpid(), c_tids[0]);
    for (i = 1; i <= nthr; i++) {
        len += snprintf(buf + len, sizeof buf - (size_t)len, ",%d", c_tids[i]);
    }
    say("%s", buf);
    for (i = 0; i < nthr; i++) {
        pthread_join(th[i], NULL);
    }
    block_storm(SIG_BLOCK);
    if (tag >= 5) {
        /* A client whose server is killed mid-storm: every thread leaves with ESRCH. */
        say("client %d: ok %ld cancelled %ld eintr %ld esrch %ld other %ld bad %ld signals %ld",
            tag, c_ok, c_cancel, c_eintr, c_esrch, c_other, c_bad, GET(c_sigs));
        CHECK(c_esrch == nthr, "every thread left the killed server with ESRCH (or EBADF)");
        CHECK(c_other == 0 && c_bad == 0, "no other error, no wrong reply");
        CHECK(GET(c_sigs) > 0, "the storm reached the client");
        return SUMMARY();
    }
    say("client %d: ok %ld cancelled %ld eintr %ld other %ld bad %ld signals %ld pulses %ld "
        "pulse-failures %ld",
        tag, c_ok, c_cancel, c_eintr, c_other, c_bad, GET(c_sigs), GET(c_pulses),
        GET(c_pulse_fail));
    CHECK(c_ok + c_cancel == (long)nthr * n, "every request answered (reply or cancel)");
    CHECK(c_other == 0, "no MsgSend ended with another error (no timeout, no hang)");
    CHECK(c_bad == 0, "every reply echoes its own request");
    CHECK(GET(c_sigs) > 0, "the storm reached the client");
    memset(&q, 0, sizeof q);
    q.type = MSG_DONE;
    q.tag = (_Uint16t)tag;
    q.a = (_Uint32t)c_ok;
    q.b = (_Uint32t)c_cancel;
    q.c = (_Uint32t)GET(c_pulses);
    q.d = (_Uint32t)GET(c_pulse_fail);
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, 10 * SEC);
    CHECK(MsgSend(c_coid, &q, sizeof q, NULL, 0) == 0, "the done message");
    return SUMMARY();
}

static int role_quit(int pid, int chid) {
    struct req q;
    int coid;
    alarm(20);
    coid = ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0);
    memset(&q, 0, sizeof q);
    q.type = MSG_QUIT;
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, 10 * SEC);
    CHECK(coid != -1 && MsgSend(coid, &q, sizeof q, NULL, 0) == 0, "quit");
    return SUMMARY();
}

/* ---------------------------------------------------------------- storm */

static int role_storm(long ms, const char *kind, int argc, char **argv) {
    int pids[16], tids[16][MAXTHR + 2], ntid[16], nt = 0, i, j;
    long sent = 0, failed = 0, sk = 0, skfail = 0;
    uint64_t until;
    int only_usr1 = strcmp(kind, "usr1") == 0;
    unsigned round = 0;
    alarm(30);
    for (i = 0; i < argc && nt < 16; i++) {
        char *p = argv[i], *end;
        pids[nt] = (int)strtol(p, &end, 10);
        ntid[nt] = 0;
        while (*end == ':' || *end == ',') {
            p = end + 1;
            if (ntid[nt] < MAXTHR + 2) {
                tids[nt][ntid[nt]++] = (int)strtol(p, &end, 10);
            } else {
                strtol(p, &end, 10);
            }
        }
        nt++;
    }
    until = now_ns() + (uint64_t)ms * MS;
    while (now_ns() < until) {
        round++;
        for (i = 0; i < nt; i++) {
            for (j = 0; j < ntid[i]; j++) {
                int sig = only_usr1 || (round + (unsigned)j) % 2 ? SIGUSR1 : SIGRTMIN;
                if (syscall(SYS_tgkill, pids[i], tids[i][j], sig) == 0) {
                    sent++;
                } else {
                    failed++;
                }
            }
            if (only_usr1) {
                if (round % 4 == 0) {
                    if (SignalKill(0, pids[i], 0, SIGUSR1, SI_USER, 0) == 0) {
                        sk++;
                    } else {
                        skfail++;
                    }
                }
                continue;
            }
            if (round % 4 == 0) {
                if (kill(pids[i], SIGUSR2) == 0) {
                    sent++;
                } else {
                    failed++;
                }
                if (SignalKill(0, pids[i], 0, SIGUSR2, SI_USER, 0) == 0) {
                    sk++;
                } else {
                    skfail++;
                }
                if (SignalKill(0, pids[i], 1, SIGRTMIN, SI_MINAVAIL, (int)round) == 0) {
                    sk++;
                } else {
                    skfail++;
                }
            }
        }
        sleep_us(50);
    }
    say("storm: rounds %u signals %ld failed %ld SignalKill %ld failed %ld", round, sent,
        failed, sk, skfail);
    CHECK(sent > 0 && sk > 0, "the storm sent signals");
    return SUMMARY();
}

/* ---------------------------------------------------------------- mute + sleeper */

static int role_mute(const char *dir) {
    int a = ChannelCreate(0), b = ChannelCreate(0), c = ChannelCreate(_NTO_CHF_UNBLOCK);
    rcvid_t held_a[4096];
    rcvid_t held_c[64];
    int na = 0, nc = 0, i;
    long unblocks = 0, answered = 0, esrch = 0, other = 0;
    char end[512];
    union {
        char b[64];
        struct _pulse p;
    } m;
    alarm(60);
    CHECK(a > 0 && b > 0 && c > 0, "the mute channels");
    snprintf(end, sizeof end, "%s/end", dir);
    say("ready %d %d %d %d", getpid(), a, b, c);
    while (!file_exists(end)) {
        rcvid_t r;
        bound(_NTO_TIMEOUT_RECEIVE, 2 * MS);
        r = MsgReceive(a, &m, sizeof m, NULL);
        if (r > 0 && na < 4096) {
            held_a[na++] = r;
        }
        bound(_NTO_TIMEOUT_RECEIVE, 2 * MS);
        r = MsgReceive(c, &m, sizeof m, NULL);
        if (r > 0 && nc < 64) {
            held_c[nc++] = r;
        } else if (r == 0 && m.p.code == _PULSE_CODE_UNBLOCK) {
            unblocks++;
            for (i = 0; i < nc; i++) {
                if (held_c[i] == m.p.value.sival_int) {
                    if (MsgReply(held_c[i], 77, NULL, 0) == 0) {
                        answered++;
                    }
                    held_c[i] = held_c[--nc];
                    break;
                }
            }
        }
    }
    /* The sleeper has ended: nothing it sent SEND-blocked is still queued on B, and every
     * REPLY-blocked request on A was let go (EINTR), so a reply is ESRCH. */
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    CHECK(MsgReceive(b, &m, sizeof m, NULL) == -1 && errno == ETIMEDOUT,
          "no interrupted SEND-blocked message was left queued");
    for (i = 0; i < na; i++) {
        if (MsgReply(held_a[i], 0, NULL, 0) == -1 && errno == ESRCH) {
            esrch++;
        } else {
            other++;
        }
    }
    say("mute: held A %d unblock pulses %ld answered %ld; A replies ESRCH %ld other %ld", na,
        unblocks, answered, esrch, other);
    CHECK(other == 0, "replies to the interrupted REPLY-blocked requests are ESRCH");
    CHECK(na > 0 && unblocks > 0, "the sleeper was REPLY-blocked on A and C");
    return SUMMARY();
}

enum { T_INTR, T_NANO, T_DELAY, T_RECV, T_SEND, T_REPLYA, T_REPLYC, T_BUSY, NT };
static const char *t_name[NT] = {"intr", "nanosleep", "delay", "receive",
                                 "send",  "reply-A",   "reply-C", "busy"};
static int z_tids[NT];
static long z_eintr[NT], z_done[NT], z_wrong[NT], z_calls[NT], z_final_ok[NT];
static volatile int z_calm;
static int z_pchid, z_pcoid, z_coid[3];
static long z_sigs, z_psent, z_pgot, z_pfail, z_overdue;
static int z_joined[NT], z_ended[NT];

static void z_handler(int sig) {
    (void)sig;
    ADD(z_sigs, 1);
    if (MsgSendPulse(z_pcoid, 10, CODE_SELF, 0) == 0) {
        ADD(z_psent, 1);
    } else {
        ADD(z_pfail, 1);
    }
}

/* One call in state `who`, bounded by `ns`: 1 interrupted, 0 ran its course, -1 wrong. */
static int z_call(int who, uint64_t ns) {
    struct _pulse p;
    char msg[16] = "x";
    long r;
    unsigned left;
    uint64_t t0 = now_ns();
    errno = 0;
    switch (who) {
    case T_INTR:
        bound(_NTO_TIMEOUT_INTR, ns);
        r = InterruptWait(0, NULL);
        return r == -1 && errno == EINTR ? 1 : r == -1 && errno == ETIMEDOUT ? 0 : -1;
    case T_NANO: {
        _Uint64t otime = 0, t = ns;
        r = TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_NANOSLEEP, NULL, &t, &otime);
        if (r == -1 && errno == EINTR) {
            return 1;
        }
        return now_ns() - t0 >= ns - ns / 10 ? 0 : -1;
    }
    case T_DELAY:
        left = delay((unsigned)(ns / MS));
        if (left > 0) {
            return 1;
        }
        return now_ns() - t0 >= ns - ns / 10 ? 0 : -1;
    case T_RECV:
        for (;;) {
            bound(_NTO_TIMEOUT_RECEIVE, ns);
            r = MsgReceivePulse(z_pchid, &p, sizeof p, NULL);
            if (r == 0 && p.code == CODE_SELF) {
                ADD(z_pgot, 1);
                continue;
            }
            return r == -1 && errno == EINTR ? 1 : r == -1 && errno == ETIMEDOUT ? 0 : -1;
        }
    case T_SEND:
    case T_REPLYA:
        bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, ns);
        r = MsgSend(z_coid[who == T_SEND ? 1 : 0], msg, sizeof msg, NULL, 0);
        return r == -1 && errno == EINTR ? 1 : r == -1 && errno == ETIMEDOUT ? 0 : -1;
    case T_REPLYC:
        bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, ns);
        r = MsgSend(z_coid[2], msg, sizeof msg, NULL, 0);
        /* 77: the server's answer to the unblock pulse; EINTR only if still SEND-blocked. */
        return r == 77 ? 0 : r == -1 && errno == EINTR ? 1 : -1;
    default: {
        int c = ConnectAttach(0, 0, z_pchid, _NTO_SIDE_CHANNEL, 0);
        _Uint64t t;
        if (c == -1 || ConnectDetach(c) == -1 || ClockTime(CLOCK_MONOTONIC, NULL, &t) == -1) {
            return -1;
        }
        return 0;
    }
    }
}

static void *z_thread(void *arg) {
    int who = (int)(intptr_t)arg;
    int i;
    z_tids[who] = linux_tid();
    if (who == T_INTR) {
        struct sigevent ev;
        SIGEV_INTR_INIT(&ev);
        CHECK(InterruptAttachEvent(201, &ev, 0) != -1, "InterruptAttachEvent");
    }
    while (!z_calm) {
        uint64_t t0 = now_ns();
        int r = z_call(who, who == T_BUSY ? 0 : 2 * SEC);
        if (now_ns() - t0 > 4 * SEC) {
            /* The call outlived its TimerTimeout: a handler's kernel call between the arming
             * and the call took the timeout (QNX clears it on return from the next kernel
             * call); the main thread's nudges end it. */
            ADD(z_overdue, 1);
        }
        z_calls[who]++;
        if (r == 1) {
            z_eintr[who]++;
        } else if (r == 0) {
            z_done[who]++;
        } else {
            z_wrong[who]++;
            say("sleeper %s: wrong result (errno %d %s)", t_name[who], errno, strerror(errno));
        }
    }
    /* Calm: with the signal blocked (no handler may take the timeout), a call must run its
     * course (one leftover interruption tolerated). */
    {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
    }
    for (i = 0; i < 2 && who != T_BUSY; i++) {
        if (z_call(who, 300 * MS) == 0) {
            z_final_ok[who] = 1;
            break;
        }
    }
    if (who == T_BUSY) {
        z_final_ok[who] = z_call(who, 0) == 0;
    }
    __atomic_store_n(&z_ended[who], 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int role_sleeper(const char *dir, int mpid, int a, int b, int c) {
    pthread_t th[NT];
    char buf[256], calm[512];
    int i, len;
    alarm(60);
    z_pchid = ChannelCreate(0);
    z_pcoid = ConnectAttach(0, 0, z_pchid, _NTO_SIDE_CHANNEL, 0);
    z_coid[0] = ConnectAttach(0, mpid, a, _NTO_SIDE_CHANNEL, 0);
    z_coid[1] = ConnectAttach(0, mpid, b, _NTO_SIDE_CHANNEL, 0);
    z_coid[2] = ConnectAttach(0, mpid, c, _NTO_SIDE_CHANNEL, 0);
    CHECK(z_pchid > 0 && z_pcoid != -1 && z_coid[0] != -1 && z_coid[1] != -1 &&
              z_coid[2] != -1,
          "the sleeper's channel and connections");
    /* SA_RESTART: QNX's kernel calls are not restarted all the same. */
    on(SIGUSR1, z_handler, SA_RESTART);
    for (i = 0; i < NT; i++) {
        pthread_create(&th[i], NULL, z_thread, (void *)(intptr_t)i);
    }
    for (i = 0; i < 2000; i++) {
        int t, all = 1;
        for (t = 0; t < NT; t++) {
            all = all && GET(z_tids[t]) != 0;
        }
        if (all) {
            break;
        }
        sleep_us(1000);
    }
    sleep_us(50000);
    len = snprintf(buf, sizeof buf, "ready %d", getpid());
    for (i = 0; i < NT; i++) {
        len += snprintf(buf + len, sizeof buf - (size_t)len, "%c%d", i ? ',' : ':', z_tids[i]);
    }
    say("%s", buf);
    snprintf(calm, sizeof calm, "%s/calm", dir);
    CHECK(wait_file(calm, 40000), "the calm file");
    z_calm = 1;
    /* Nudges a thread whose blocked call lost its bound (see z_overdue) until all have ended. */
    {
        uint64_t until = now_ns() + 20 * SEC;
        int left = NT;
        while (left > 0 && now_ns() < until) {
            sleep_us(100000);
            for (i = 0; i < NT; i++) {
                if (!z_joined[i] && GET(z_ended[i])) {
                    pthread_join(th[i], NULL);
                    z_joined[i] = 1;
                    left--;
                } else if (!z_joined[i]) {
                    pthread_kill(th[i], SIGUSR1);
                }
            }
        }
        CHECK(left == 0, "every sleeper thread ended");
    }
    block_storm(SIG_BLOCK);
    for (i = 0; i < 100000; i++) {
        struct _pulse p;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
        if (MsgReceivePulse(z_pchid, &p, sizeof p, NULL) == -1) {
            break;
        }
        ADD(z_pgot, 1);
    }
    for (i = 0; i < NT; i++) {
        char what[128];
        say("sleeper %s: calls %ld interrupted %ld ran-out %ld wrong %ld final %ld", t_name[i],
            z_calls[i], z_eintr[i], z_done[i], z_wrong[i], z_final_ok[i]);
        snprintf(what, sizeof what, "%s: every call ended with its result or EINTR", t_name[i]);
        CHECK(z_wrong[i] == 0, what);
        snprintf(what, sizeof what, "%s: after the storm a call runs its course", t_name[i]);
        CHECK(z_final_ok[i] == 1, what);
        if (i != T_BUSY && i != T_REPLYC) {
            snprintf(what, sizeof what,
                     "%s: the SA_RESTART storm interrupted the blocked call (not restarted)",
                     t_name[i]);
            CHECK(z_eintr[i] > 0, what);
        }
    }
    CHECK(z_done[T_REPLYC] > 0, "reply-C: the server's answer to the unblock pulse came back");
    say("sleeper: signals %ld pulses sent %ld got %ld failed %ld; calls that outlived their "
        "TimerTimeout %ld",
        GET(z_sigs), GET(z_psent), GET(z_pgot), GET(z_pfail), GET(z_overdue));
    CHECK(GET(z_psent) == GET(z_pgot), "every handler pulse arrived once");
    return SUMMARY();
}

/* ---------------------------------------------------------------- counter + rtq */

static long q_count;
static void q_handler(int sig) {
    (void)sig;
    ADD(q_count, 1);
}

static volatile int q_stop;
static int q_tid2;
static void *q_thread(void *arg) {
    int chid = (int)(intptr_t)arg;
    struct _pulse p;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 2);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    q_tid2 = linux_tid();
    while (!q_stop) {
        bound(_NTO_TIMEOUT_RECEIVE, 20 * MS);
        MsgReceivePulse(chid, &p, sizeof p, NULL);
    }
    return NULL;
}

static int role_counter(const char *dir) {
    pthread_t th;
    char sentp[512];
    long want = -1;
    int chid = ChannelCreate(0), i;
    uint64_t until;
    alarm(60);
    on(SIGRTMIN + 2, q_handler, 0);
    /* Only the receiving thread takes the signal: the main thread masks it. */
    {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGRTMIN + 2);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
    }
    pthread_create(&th, NULL, q_thread, (void *)(intptr_t)chid);
    for (i = 0; i < 2000 && GET(q_tid2) == 0; i++) {
        sleep_us(1000);
    }
    say("ready %d %d", getpid(), q_tid2);
    snprintf(sentp, sizeof sentp, "%s/sent", dir);
    CHECK(wait_file(sentp, 40000), "the sent file");
    {
        FILE *f = fopen(sentp, "r");
        if (f != NULL) {
            if (fscanf(f, "%ld", &want) != 1) {
                want = -1;
            }
            fclose(f);
        }
    }
    until = now_ns() + 3 * SEC;
    while (GET(q_count) < want && now_ns() < until) {
        sleep_us(1000);
    }
    q_stop = 1;
    pthread_join(th, NULL);
    say("counter: queued %ld handled %ld", want, GET(q_count));
    CHECK(want > 0, "signals were queued");
    CHECK(GET(q_count) == want,
          "every queued real-time signal ran its handler once (a thread in kernel calls)");
    return SUMMARY();
}

static int role_rtq(int pid, int tid, long n, const char *out) {
    long sent = 0, full = 0, i;
    char tmp[600];
    FILE *f;
    alarm(30);
    for (i = 0; i < n; i++) {
        if (syscall(SYS_tgkill, pid, tid, SIGRTMIN + 2) == 0) {
            sent++;
        } else if (errno == EAGAIN) {
            full++;
            sleep_us(200);
        }
        if (i % 64 == 63) {
            sleep_us(100);
        }
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    f = fopen(tmp, "w");
    if (f != NULL) {
        fprintf(f, "%ld\n", sent);
        fclose(f);
        rename(tmp, out);
    }
    say("rtq: sent %ld queue-full %ld", sent, full);
    CHECK(sent > 0, "rtq sent");
    return SUMMARY();
}

/* ---------------------------------------------------------------- events */

static int role_evserver(void) {
    int chid = ChannelCreate(0), served = 0;
    struct {
        struct req r;
        struct sigevent ev;
    } m;
    alarm(60);
    say("ready %d %d", getpid(), chid);
    while (served < 16) {
        rcvid_t r;
        int i, ok = 0;
        bound(_NTO_TIMEOUT_RECEIVE, 20 * SEC);
        r = MsgReceive(chid, &m, sizeof m, NULL);
        if (r == -1) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (r == 0) {
            continue;
        }
        if (m.r.type == MSG_QUIT) {
            MsgReply(r, 0, NULL, 0);
            break;
        }
        if (m.r.type == MSG_EV) {
            /* a: 1 = SignalKill process-directed instead of the event. */
            MsgReply(r, 0, NULL, 0);
            for (i = 0; i < (int)m.r.seq; i++) {
                int x = m.r.a ? SignalKill(0, (pid_t)m.r.b, 0, (int)m.r.c, SI_USER, i)
                              : MsgDeliverEvent(r, &m.ev);
                if (x == 0) {
                    ok++;
                }
                if (i % 16 == 15) {
                    sleep_us(200);
                }
            }
            say("evserver: delivered %d of %u", ok, m.r.seq);
            CHECK(ok == (int)m.r.seq, "every delivery succeeded");
        }
        served++;
    }
    return SUMMARY();
}

static long e_count, e_wrong_thread;
static pthread_t e_target;
static int e_target_set;
static void e_handler(int sig) {
    (void)sig;
    ADD(e_count, 1);
    if (e_target_set && !pthread_equal(pthread_self(), e_target)) {
        ADD(e_wrong_thread, 1);
    }
}

static int e_coid, e_n, e_mode;
static volatile int e_stop, e_ready;
static long e_got;

/* Asks for n deliveries of ev (or SignalKill) to this thread. */
static int e_ask(struct sigevent *ev, int a, int b, int c, int n) {
    struct {
        struct req r;
        struct sigevent ev;
    } m;
    memset(&m, 0, sizeof m);
    m.r.type = MSG_EV;
    m.r.seq = (_Uint32t)n;
    m.r.a = (_Uint32t)a;
    m.r.b = (_Uint32t)b;
    m.r.c = (_Uint32t)c;
    if (ev != NULL) {
        m.ev = *ev;
    }
    for (;;) {
        int r;
        bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, 10 * SEC);
        r = MsgSend(e_coid, &m, sizeof m, NULL, 0);
        if (r == -1 && errno == EINTR) {
            continue;
        }
        return r;
    }
}

static void *e_thread(void *arg) {
    int chid = ChannelCreate(0);
    struct _pulse p;
    struct sigevent ev;
    uint64_t until;
    (void)arg;
    if (e_mode == 0) {
        /* SIGEV_SIGNAL_THREAD to this thread, which spends its time in kernel calls. */
        e_target = pthread_self();
        e_target_set = 1;
        SIGEV_SIGNAL_THREAD_INIT(&ev, SIGRTMIN + 3, 0, SI_MINAVAIL);
        CHECK(e_ask(&ev, 0, 0, 0, e_n) == 0, "event request (thread)");
        until = now_ns() + 3 * SEC;
        while (GET(e_count) < e_n && now_ns() < until) {
            bound(_NTO_TIMEOUT_RECEIVE, 5 * MS);
            MsgReceivePulse(chid, &p, sizeof p, NULL);
        }
        e_got = GET(e_count);
    } else if (e_mode == 1) {
        /* The same signal blocked, taken with sigtimedwait. */
        sigset_t s;
        siginfo_t si;
        struct timespec ts = {0, 200 * 1000 * 1000};
        sigemptyset(&s);
        sigaddset(&s, SIGRTMIN + 3);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
        SIGEV_SIGNAL_THREAD_INIT(&ev, SIGRTMIN + 3, 0, SI_MINAVAIL);
        CHECK(e_ask(&ev, 0, 0, 0, e_n) == 0, "event request (sigtimedwait)");
        until = now_ns() + 3 * SEC;
        while (e_got < e_n && now_ns() < until) {
            if (sigtimedwait(&s, &si, &ts) == SIGRTMIN + 3) {
                e_got++;
            }
        }
    } else {
        /* A process-directed SignalKill: this thread lets it in, the others mask it (mode 2);
         * or this thread masks it and the main thread lets it in (mode 3). */
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGRTMIN + 4);
        pthread_sigmask(e_mode == 2 ? SIG_UNBLOCK : SIG_BLOCK, &s, NULL);
        e_ready = 1;
        until = now_ns() + 3 * SEC;
        while (!e_stop && now_ns() < until) {
            bound(_NTO_TIMEOUT_RECEIVE, 5 * MS);
            MsgReceivePulse(chid, &p, sizeof p, NULL);
        }
    }
    ChannelDestroy(chid);
    return NULL;
}

static int role_evclient(int pid, int chid, int n, const char *part) {
    pthread_t th;
    uint64_t until;
    sigset_t s;
    alarm(60);
    e_n = n;
    e_coid = ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(e_coid != -1, "ConnectAttach to the event server");
    on(SIGRTMIN + 3, e_handler, 0);
    on(SIGRTMIN + 4, e_handler, 0);

    if (strcmp(part, "kill") == 0) {
        goto kill_part;
    }
    e_mode = 0;
    pthread_create(&th, NULL, e_thread, NULL);
    pthread_join(th, NULL);
    say("evclient: SIGEV_SIGNAL_THREAD x%d: handled %ld, in another thread %ld", n, e_got,
        GET(e_wrong_thread));
    CHECK(e_got == n, "every SIGEV_SIGNAL_THREAD event from the other program ran the handler");
    CHECK(GET(e_wrong_thread) == 0, "...in the thread the event named");

    e_mode = 1;
    e_got = 0;
    pthread_create(&th, NULL, e_thread, NULL);
    pthread_join(th, NULL);
    say("evclient: SIGEV_SIGNAL_THREAD blocked x%d: sigtimedwait took %ld", n, e_got);
    CHECK(e_got == n, "every event's signal taken by sigtimedwait in the masked thread");
    goto out;

kill_part:
    /* Process-directed SignalKill from the other program: the main thread (QNX tid 1, the
     * kernel's pick) masks SIGRTMIN+4, a second thread does not. QNX delivers a
     * process-directed signal to a thread that does not block it. */
    e_mode = 2;
    e_target_set = 0;
    __atomic_store_n(&e_count, 0, __ATOMIC_SEQ_CST);
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 4);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    pthread_create(&th, NULL, e_thread, NULL);
    sleep_us(50000);
    CHECK(e_ask(NULL, 1, getpid(), SIGRTMIN + 4, 4) == 0, "SignalKill request");
    until = now_ns() + 2 * SEC;
    while (GET(e_count) < 1 && now_ns() < until) {
        sleep_us(1000);
    }
    e_stop = 1;
    pthread_join(th, NULL);
    say("evclient: process-directed SignalKill x4 with the main thread masking: handled %ld",
        GET(e_count));
    CHECK(GET(e_count) >= 1,
          "a process-directed SignalKill reaches a thread that does not mask the signal");
    /* The other way round: the thread in kernel calls masks it, the main thread (sleeping in
     * Linux's nanosleep) lets it in. */
    e_mode = 3;
    e_stop = 0;
    e_ready = 0;
    __atomic_store_n(&e_count, 0, __ATOMIC_SEQ_CST);
    pthread_create(&th, NULL, e_thread, NULL);
    for (until = now_ns() + 2 * SEC; !e_ready && now_ns() < until;) {
        sleep_us(1000);
    }
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    CHECK(e_ask(NULL, 1, getpid(), SIGRTMIN + 4, 4) == 0, "SignalKill request");
    until = now_ns() + 2 * SEC;
    while (GET(e_count) < 1 && now_ns() < until) {
        sleep_us(1000);
    }
    e_stop = 1;
    pthread_join(th, NULL);
    say("evclient: process-directed SignalKill x4 with the other thread masking: handled %ld",
        GET(e_count));
    CHECK(GET(e_count) >= 1,
          "a process-directed SignalKill reaches the main thread when the other masks it");
    pthread_sigmask(SIG_BLOCK, &s, NULL);
out:
    {
        struct req q;
        memset(&q, 0, sizeof q);
        q.type = MSG_QUIT;
        bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, 5 * SEC);
        MsgSend(e_coid, &q, sizeof q, NULL, 0);
    }
    /* Leaves with the pending masked signals unhandled: ignore them first. */
    signal(SIGRTMIN + 4, SIG_IGN);
    return SUMMARY();
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: %s ROLE ARGS\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "server") == 0) {
        return role_server();
    }
    if (strcmp(argv[1], "client") == 0 && argc == 8) {
        return role_client(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
                           atoi(argv[6]), argv[7]);
    }
    if (strcmp(argv[1], "quit") == 0 && argc == 4) {
        return role_quit(atoi(argv[2]), atoi(argv[3]));
    }
    if (strcmp(argv[1], "storm") == 0 && argc >= 5) {
        return role_storm(atol(argv[2]), argv[3], argc - 4, argv + 4);
    }
    if (strcmp(argv[1], "mute") == 0 && argc == 3) {
        return role_mute(argv[2]);
    }
    if (strcmp(argv[1], "sleeper") == 0 && argc == 7) {
        return role_sleeper(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
                            atoi(argv[6]));
    }
    if (strcmp(argv[1], "counter") == 0 && argc == 3) {
        return role_counter(argv[2]);
    }
    if (strcmp(argv[1], "rtq") == 0 && argc == 6) {
        return role_rtq(atoi(argv[2]), atoi(argv[3]), atol(argv[4]), argv[5]);
    }
    if (strcmp(argv[1], "evserver") == 0) {
        return role_evserver();
    }
    if (strcmp(argv[1], "evclient") == 0 && argc == 6) {
        return role_evclient(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[5]);
    }
    fprintf(stderr, "unknown role %s\n", argv[1]);
    return 2;
}
