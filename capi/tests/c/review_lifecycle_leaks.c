/*
 * review_lifecycle_leaks.c: a long-lived QNX server in C and its short-lived clients, for
 * procnto-sim/tests/review_lifecycle_leaks.rs, which runs many clients against one server and
 * measures the server, the supervisor and the kernel before and after. Roles:
 *
 *   server SECS            names "leaks/c" (name_attach), an asyncmsg channel (a thread takes
 *                          its batches) and a resource manager on /dev/leaks-c (iofunc's
 *                          defaults, a thread pool), prints "ready PID CHID ACHID", then serves
 *                          for SECS seconds: ECHO replies; HOLD holds the client until its
 *                          timeout's _PULSE_CODE_UNBLOCK, then MsgError(EINTR); EVENT replies,
 *                          then delivers the client's event (MsgDeliverEvent after the reply);
 *                          TIMER creates a timer whose pulse deletes it (and one deleted at
 *                          once); THREAD starts a thread (detached, or joined once it ended)
 *                          that makes the client calls of a long-lived program against the
 *                          server itself (name_open and a message, name_close; open, fstat,
 *                          close; asyncmsg attach, put, flush, detach; a timer), pulses the
 *                          server and replies; SPAWN starts a thread that spawns
 *                          this program as "short" (P_WAIT) and replies its exit status;
 *                          _PULSE_CODE_DISCONNECT detaches the scoid.
 *   client PID CHID ACHID N  N rounds of every call against the server; prints "done".
 *   short                  joins the kernel, makes a call, exits 0.
 *
 * The message protocol is the Rust test's: a 16-byte header (type in the first two bytes,
 * three ints at 4, 8, 12), and for EVENT a struct sigevent after it.
 * Every role is bounded by alarm().
 */
#include <errno.h>
#include <fcntl.h>
#include <process.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sys/asyncmsg.h>
#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <sys/neutrino.h>

#define M_ECHO 0x2001
#define M_HOLD 0x2002
#define M_EVENT 0x2003
#define M_TIMER 0x2004
#define M_THREAD 0x2005
#define M_SPAWN 0x2006
#define TIMER_CODE 9
#define USER_CODE 5
#define EV_CODE 7
#define NAME "leaks/c"
#define DEV "/dev/leaks-c"
#define LONG_NS 10000000000ULL
#define MAX_HELD 256
#define MAX_JOIN 64
#define MAX_TIMERS 256

struct msg {
    uint16_t type;
    uint16_t pad;
    int32_t a, b, c;
    struct sigevent ev;
};

static const char *self_path;
static int chid;
static int achid_g;

static void die(const char *what) {
    printf("FAIL %s (errno %d: %s)\n", what, errno, strerror(errno));
    fflush(stdout);
    exit(1);
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void arm(int flags, uint64_t ns) {
    if (TimerTimeout(CLOCK_MONOTONIC, flags, NULL, &ns, NULL) == -1) {
        die("TimerTimeout");
    }
}

/* ------------------------------------------------------------------------------- server */

static void *getter(void *arg) {
    int achid = (int)(intptr_t)arg;
    for (;;) {
        struct _asyncmsg_get_header *h;
        arm(_NTO_TIMEOUT_RECEIVE, 300000000ULL);
        h = asyncmsg_get(achid);
        if (h == NULL && errno != ETIMEDOUT) {
            die("asyncmsg_get");
        }
        while (h != NULL) {
            struct _asyncmsg_get_header *next = h->next;
            asyncmsg_free(h);
            h = next;
        }
    }
    return NULL;
}

/* The long-lived server's own client calls, in a thread of its: name_open of its own name
 * (its main loop answers) and a message, name_close; open, fstat, close on its resource
 * manager (its thread pool answers); an asyncmsg connection to its own channel, messages put
 * and flushed, detached; a timer. */
static void be_a_client(void) {
    struct _asyncmsg_connection_attr aa;
    struct msg m;
    struct stat st;
    static char big[700];
    char r[16];
    int coid, fd, ac, k, t;
    uint64_t ns = LONG_NS;

    coid = name_open(NAME, 0);
    if (coid == -1) {
        die("server: name_open");
    }
    memset(&m, 0, sizeof m);
    m.type = M_ECHO;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    if (MsgSend(coid, &m, 16, r, sizeof r) == -1 || name_close(coid) == -1) {
        die("server: echo, name_close");
    }
    fd = open(DEV, O_RDONLY);
    if (fd == -1 || fstat(fd, &st) == -1 || close(fd) == -1) {
        die("server: open/fstat/close " DEV);
    }
    memset(&aa, 0, sizeof aa);
    aa.buffer_size = 1024;
    aa.max_num_buffer = 8;
    aa.trigger_num_msg = 2;
    ac = asyncmsg_connect_attach(0, getpid(), achid_g, _NTO_SIDE_CHANNEL, 0, &aa);
    if (ac == -1) {
        die("server: asyncmsg_connect_attach");
    }
    for (k = 0; k < 3; k++) {
        if (asyncmsg_put(ac, big, 16 + 300 * (size_t)k, (unsigned)k, NULL) == -1) {
            die("server: asyncmsg_put");
        }
    }
    if (asyncmsg_flush(ac, 0) == -1 || asyncmsg_connect_detach(ac) == -1) {
        die("server: asyncmsg_flush/detach");
    }
    t = TimerCreate(CLOCK_MONOTONIC, NULL);
    if (t == -1 || TimerDestroy(t) == -1) {
        die("server: TimerCreate/TimerDestroy");
    }
}

/* THREAD: a thread of the server that is a client of the server itself, pulses it and
 * replies. */
struct work {
    int rcvid;
    int *done; /* set at the end (a joinable thread), or NULL */
};

static void *worker(void *arg) {
    struct work w = *(struct work *)arg;
    int rcvid = w.rcvid;
    int c;
    free(arg);
    be_a_client();
    c = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    if (c == -1) {
        die("worker: ConnectAttach");
    }
    (void)MsgSendPulse(c, 10, USER_CODE, 0);
    if (ConnectDetach(c) == -1) {
        die("worker: ConnectDetach");
    }
    (void)MsgReply(rcvid, 0, NULL, 0);
    if (w.done != NULL) {
        __atomic_store_n(w.done, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* SPAWN: a thread that spawns a short child, waits for it, and replies its status. */
static void *spawner(void *arg) {
    int rcvid = (int)(intptr_t)arg;
    int st = spawnl(P_WAIT, self_path, self_path, "short", (char *)NULL);
    (void)MsgReply(rcvid, st == -1 ? -1 : WEXITSTATUS(st), NULL, 0);
    return NULL;
}

static int server(int secs) {
    static resmgr_connect_funcs_t cf;
    static resmgr_io_funcs_t iof;
    static iofunc_attr_t attr;
    thread_pool_attr_t pa;
    thread_pool_t *tpp;
    dispatch_t *dpp;
    name_attach_t *att;
    pthread_t tid;
    pthread_attr_t detached;
    pthread_t joinable[MAX_JOIN];
    int *done[MAX_JOIN];
    int njoin = 0, held[MAX_HELD], nheld = 0, achid, self_coid, n = 0, i, slot;
    static int timers[MAX_TIMERS];
    long end = now_ms() + (long)secs * 1000;

    alarm((unsigned)secs + 30);
    for (i = 0; i < MAX_TIMERS; i++) {
        timers[i] = -1;
    }
    att = name_attach(NULL, NAME, 0);
    if (att == NULL) {
        die("name_attach");
    }
    chid = att->chid;
    achid = asyncmsg_channel_create(0, 0600, 256, 16, NULL, NULL, NULL);
    if (achid == -1) {
        die("asyncmsg_channel_create");
    }
    achid_g = achid;
    if (pthread_create(&tid, NULL, getter, (void *)(intptr_t)achid) != 0) {
        die("pthread_create (getter)");
    }
    dpp = dispatch_create();
    if (dpp == NULL) {
        die("dispatch_create");
    }
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &cf, _RESMGR_IO_NFUNCS, &iof);
    iofunc_attr_init(&attr, S_IFCHR | 0666, NULL, NULL);
    if (resmgr_attach(dpp, NULL, DEV, _FTYPE_ANY, _RESMGR_FLAG_SELF, &cf, &iof, &attr) == -1) {
        die("resmgr_attach");
    }
    memset(&pa, 0, sizeof pa);
    pa.handle = dpp;
    pa.context_alloc = dispatch_context_alloc;
    pa.block_func = dispatch_block;
    pa.unblock_func = dispatch_unblock;
    pa.handler_func = dispatch_handler;
    pa.context_free = dispatch_context_free;
    pa.lo_water = 1;
    pa.hi_water = 2;
    pa.increment = 1;
    pa.maximum = 4;
    tpp = thread_pool_create(&pa, 0);
    if (tpp == NULL || thread_pool_start(tpp) != 0) {
        die("thread pool");
    }
    self_coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    if (self_coid == -1) {
        die("ConnectAttach (self)");
    }
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    printf("ready %d %d %d\n", getpid(), chid, achid);
    fflush(stdout);

    while (now_ms() < end) {
        union {
            struct _pulse pulse;
            struct msg m;
            uint16_t type;
        } buf;
        int rcvid;
        /* The joinable threads that have ended (a worker may wait for this loop). */
        for (i = 0; i < njoin;) {
            if (__atomic_load_n(done[i], __ATOMIC_ACQUIRE)) {
                pthread_join(joinable[i], NULL);
                free(done[i]);
                njoin--;
                joinable[i] = joinable[njoin];
                done[i] = done[njoin];
            } else {
                i++;
            }
        }
        arm(_NTO_TIMEOUT_RECEIVE, 200000000ULL);
        rcvid = MsgReceive(chid, &buf, sizeof buf, NULL);
        if (rcvid == -1) {
            if (errno != ETIMEDOUT) {
                die("MsgReceive");
            }
            /* A client killed while held leaves a stale rcvid. */
            for (i = 0; i < nheld;) {
                struct _msg_info info;
                if (MsgInfo(held[i], &info) == -1) {
                    held[i] = held[--nheld];
                } else {
                    i++;
                }
            }
            continue;
        }
        if (rcvid == 0) {
            switch (buf.pulse.code) {
            case _PULSE_CODE_DISCONNECT:
                (void)ConnectDetach(buf.pulse.scoid);
                break;
            case _PULSE_CODE_UNBLOCK:
                for (i = 0; i < nheld; i++) {
                    if (held[i] == buf.pulse.value.sival_int) {
                        (void)MsgError(held[i], EINTR);
                        held[i] = held[--nheld];
                        break;
                    }
                }
                break;
            case TIMER_CODE:
                slot = buf.pulse.value.sival_int;
                if (slot >= 0 && slot < MAX_TIMERS && timers[slot] != -1) {
                    if (TimerDestroy(timers[slot]) == -1) {
                        die("TimerDestroy (fired)");
                    }
                    timers[slot] = -1;
                }
                break;
            default:
                break;
            }
            continue;
        }
        switch (buf.type) {
        case _IO_CONNECT:
            (void)MsgReply(rcvid, EOK, NULL, 0);
            break;
        case M_ECHO:
            (void)MsgReply(rcvid, 0, &buf.m, 16);
            break;
        case M_HOLD:
            if (nheld < MAX_HELD) {
                held[nheld++] = rcvid;
            } else {
                (void)MsgError(rcvid, EAGAIN);
            }
            break;
        case M_EVENT: {
            struct sigevent ev = buf.m.ev;
            if (MsgReply(rcvid, 0, NULL, 0) == 0) {
                (void)MsgDeliverEvent(rcvid, &ev);
            }
            break;
        }
        case M_TIMER: {
            struct sigevent ev;
            struct _itimer it = {1000000, 0};
            int id = TimerCreate(CLOCK_MONOTONIC, NULL);
            if (id == -1 || TimerDestroy(id) == -1) {
                die("TimerCreate/TimerDestroy");
            }
            /* The pulse names the timer's slot; its pulse deletes it. */
            for (slot = 0; slot < MAX_TIMERS && timers[slot] != -1; slot++) {
            }
            if (slot == MAX_TIMERS) {
                errno = EAGAIN;
                die("a free timer slot");
            }
            SIGEV_PULSE_INIT(&ev, self_coid, 10, TIMER_CODE, slot);
            id = TimerCreate(CLOCK_MONOTONIC, &ev);
            if (id == -1 || TimerSettime(id, 0, &it, NULL) == -1) {
                die("TimerCreate/TimerSettime");
            }
            timers[slot] = id;
            n++;
            (void)MsgReply(rcvid, 0, NULL, 0);
            break;
        }
        case M_THREAD: {
            struct work *w = malloc(sizeof *w);
            if (w == NULL) {
                die("malloc");
            }
            w->rcvid = rcvid;
            w->done = NULL;
            if ((n & 1) == 0 && njoin < MAX_JOIN) {
                done[njoin] = calloc(1, sizeof(int));
                w->done = done[njoin];
                if (w->done == NULL ||
                    pthread_create(&joinable[njoin], NULL, worker, w) != 0) {
                    die("pthread_create (joinable)");
                }
                njoin++;
            } else if (pthread_create(&tid, &detached, worker, w) != 0) {
                die("pthread_create (detached)");
            }
            n++;
            break;
        }
        case M_SPAWN:
            if (pthread_create(&tid, &detached, spawner, (void *)(intptr_t)rcvid) != 0) {
                die("pthread_create (spawner)");
            }
            break;
        default:
            (void)MsgError(rcvid, ENOSYS);
            break;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------- client */

static int64_t send_msg(int coid, const struct msg *m, size_t len, uint64_t ns) {
    char r[16];
    arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, ns);
    return MsgSend(coid, m, len, r, sizeof r);
}

static int client(int spid, int schid, int achid, int iters) {
    struct _asyncmsg_connection_attr aa;
    char name[64], big[600];
    int me = getpid(), mine, me_coid, i, k;

    alarm(60);
    mine = ChannelCreate(0);
    me_coid = ConnectAttach(0, 0, mine, _NTO_SIDE_CHANNEL, 0);
    if (mine == -1 || me_coid == -1) {
        die("client: own channel");
    }
    memset(&aa, 0, sizeof aa);
    aa.buffer_size = 1024;
    aa.max_num_buffer = 8;
    aa.trigger_num_msg = 2;
    memset(big, 'x', sizeof big);
    for (i = 0; i < iters; i++) {
        struct msg m;
        struct _pulse p;
        struct stat st;
        name_attach_t *na;
        int coid, c2, ac, fd, t;
        int64_t r;

        memset(&m, 0, sizeof m);
        m.a = i;
        coid = name_open(NAME, 0);
        if (coid == -1) {
            die("name_open");
        }
        m.type = M_ECHO;
        if (send_msg(coid, &m, 16, LONG_NS) == -1) {
            die("echo");
        }
        m.type = M_HOLD;
        r = send_msg(coid, &m, 16, 5000000ULL);
        if (r != -1) {
            errno = 0;
            die("a held send returned");
        }
        if (MsgSendPulse(coid, 10, USER_CODE, i) == -1) {
            die("MsgSendPulse");
        }
        m.type = M_EVENT;
        SIGEV_PULSE_INIT(&m.ev, me_coid, 10, EV_CODE, i);
        if (send_msg(coid, &m, sizeof m, LONG_NS) == -1) {
            die("event");
        }
        arm(_NTO_TIMEOUT_RECEIVE, LONG_NS);
        if (MsgReceive(mine, &p, sizeof p, NULL) != 0 || p.code != EV_CODE) {
            die("the event's pulse");
        }
        m.type = M_TIMER;
        if (send_msg(coid, &m, 16, LONG_NS) == -1) {
            die("timer");
        }
        m.type = M_THREAD;
        if (send_msg(coid, &m, 16, LONG_NS) == -1) {
            die("thread");
        }
        if (i % 3 == 0) {
            m.type = M_SPAWN;
            r = send_msg(coid, &m, 16, 2 * LONG_NS);
            if (r != 0) {
                die("spawn: the short child's status");
            }
        }
        c2 = ConnectAttach(0, spid, schid, _NTO_SIDE_CHANNEL, 0);
        m.type = M_ECHO;
        if (c2 == -1 || send_msg(c2, &m, 16, LONG_NS) == -1 || ConnectDetach(c2) == -1) {
            die("echo by chid");
        }
        ac = asyncmsg_connect_attach(0, spid, achid, _NTO_SIDE_CHANNEL, 0, &aa);
        if (ac == -1) {
            die("asyncmsg_connect_attach");
        }
        for (k = 0; k < 3; k++) {
            if (asyncmsg_put(ac, big, 16 + 200 * (size_t)k, (unsigned)k, NULL) == -1) {
                die("asyncmsg_put");
            }
        }
        if (i % 2 == 0 && asyncmsg_flush(ac, 0) == -1) {
            die("asyncmsg_flush");
        }
        if (asyncmsg_connect_detach(ac) == -1) {
            die("asyncmsg_connect_detach");
        }
        snprintf(name, sizeof name, "leaks/tmp-%d-%d", me, i);
        na = name_attach(NULL, name, 0);
        if (na == NULL || name_detach(na, 0) == -1) {
            die("name_attach/name_detach");
        }
        fd = open(DEV, O_RDONLY);
        if (fd == -1 || fstat(fd, &st) == -1 || close(fd) == -1) {
            die("open/fstat/close " DEV);
        }
        t = TimerCreate(CLOCK_MONOTONIC, NULL);
        if (t == -1 || TimerDestroy(t) == -1) {
            die("client timer");
        }
        if (i % 2 == 0 && name_close(coid) == -1) {
            die("name_close");
        }
    }
    printf("done\n");
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    self_path = argv[0];
    if (argc == 3 && strcmp(argv[1], "server") == 0) {
        return server(atoi(argv[2]));
    }
    if (argc == 6 && strcmp(argv[1], "client") == 0) {
        return client(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    }
    if (argc == 2 && strcmp(argv[1], "short") == 0) {
        int c;
        alarm(20);
        c = ChannelCreate(0);
        return c == -1 || ChannelDestroy(c) == -1 ? 1 : 0;
    }
    fprintf(stderr, "usage: review_lifecycle_leaks server SECS | client PID CHID ACHID N | short\n");
    return 2;
}
