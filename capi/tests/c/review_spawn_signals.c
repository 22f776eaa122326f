/*
 * review_spawn_signals.c: spawn/exec chains and signals across programs on one supervised
 * kernel (run by procnto-sim/tests/review_spawn_signals.rs, which starts the roles below on a
 * kernel, signals them from Linux and through the kernel, and checks the kernel afterwards).
 * Usage: review_spawn_signals ROLE ARGS. Every role is bounded by alarm() (kept across exec,
 * set again by each image) and dies with its parent (PR_SET_PDEATHSIG); lines are printed
 * unbuffered.
 *
 * Roles:
 *   inherit MODE [POLICY] joins the kernel, catches SIGUSR1, ignores SIGUSR2, blocks
 *                         SIGRTMIN+1, sets its priority to 21 (setprio; with POLICY fifo, rr
 *                         or other, SchedSet of that policy and 21), then spawns "report" with
 *                         MODE (wait, nowait, nowaito, overlay) and prints "status ..." (wait,
 *                         nowait) or "gone" (nowaito, once the child no longer exists)
 *   report                prints "report blocked=B usr1=D usr2=D prio=P ign=I pend=Q kernel=K
 *                         policy=S": B 1 if SIGRTMIN+1 is blocked, D dfl/ign/caught, P its
 *                         priority on the kernel, I 1 if a SignalKill of SIGUSR2 to itself left
 *                         it running, Q 1 if a SignalKill of SIGRTMIN+1 to itself stayed
 *                         pending, K 1 if it is still a process of the kernel after that, S its
 *                         first thread's policy on the kernel (fifo, rr, other)
 *   parent MODE ROLE ...  spawns this program in ROLE ... (MODE wait or nowait) and prints
 *                         "status exited N" or "status signaled S"
 *   target KIND           prints "ready PID CHID" once on the kernel, then (KIND recv) waits
 *                         in MsgReceive, (usr1) the same with a SIGUSR1 handler, exiting 42 at
 *                         the EINTR, or (threadless) lets the thread that made the channel end
 *                         and sleeps in Linux (no thread of it left in the kernel); exits 0
 *                         after 15 s
 *   selfkill SIGNO        joins the kernel, SignalKill(SIGNO) of its own pid (not blocked, not
 *                         caught), then a kernel call; prints "selfkill survived ..." if alive
 *   sk PID TID SIGNO      SignalKill(0, PID, TID, SIGNO, SI_USER, 0): prints "sk 0" or
 *                         "sk -1 ERRNO"
 *   xserver FLAGS DIR     ChannelCreate(FLAGS), "ready PID CHID", receives (and holds) one
 *                         message, prints "holding", waits for DIR/exec, then P_OVERLAYs
 *                         itself as "after DIR"
 *   after DIR             the new image: prints "after-up", waits for DIR/join (no call of
 *                         libqnxsim until then: it would join the kernel), ChannelCreate, prints "after chid C", serves 2
 *                         messages
 *   xclient PID CHID A    a SIGUSR1 handler; MsgSend to PID/CHID (bounded 30 s), retried after
 *                         EINTR ("client EINTR"); prints "client ERRNO-NAME" for how it ended,
 *                         then (after ESRCH, if A is 1) sends to the new image's channel 1 and
 *                         prints "client second ok" when served
 *   chain                 joins the kernel, prints "chain PID" (first image only), makes a
 *                         connection and a pulse, and P_OVERLAYs itself, for ever
 *   groot                 a new process group; a server (2 threads) that spawns "gclient 1"
 *                         (P_NOWAIT) and "gmid" (P_NOWAITO), prints "pgid G", every member
 *                         prints "member PID"; prints "served" after 200 requests
 *   gmid PID CHID         joins the kernel, then P_OVERLAYs itself as "gclient 2"
 *   gclient PID CHID L    spawns "gclient L+1" (P_NOWAIT) while L < 3; sends to PID/CHID for
 *                         ever
 */
#include <errno.h>
#include <limits.h>
#include <process.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull
#define SEC 1000000000ull

static char self[PATH_MAX];
static const char *base;

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* Linux's nanosleep (not a kernel call), resumed after a handler. */
static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void bound(int flags, uint64_t ns) {
    TimerTimeout(CLOCK_MONOTONIC, flags, NULL, &ns, NULL);
}

/* Waits at most ms for `path`. (access(), not stat(): libqnxsim routes stat, and its first
 * call joins the kernel, which the "after" role must not do before its cue.) */
static int wait_file(const char *path, long ms) {
    long waited = 0;
    while (access(path, F_OK) != 0) {
        if (waited >= ms) {
            return 0;
        }
        sleep_ms(5);
        waited += 5;
    }
    return 1;
}

static void on(int sig, void (*h)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static int spawn_mode(const char *m) {
    if (strcmp(m, "wait") == 0) {
        return P_WAIT;
    }
    if (strcmp(m, "nowait") == 0) {
        return P_NOWAIT;
    }
    if (strcmp(m, "nowaito") == 0) {
        return P_NOWAITO;
    }
    return P_OVERLAY;
}

static void print_status(int st) {
    if (WIFEXITED(st)) {
        say("status exited %d", WEXITSTATUS(st));
    } else if (WIFSIGNALED(st)) {
        say("status signaled %d", WTERMSIG(st));
    } else {
        say("status other %#x", st);
    }
}

/* ---------------------------------------------------------------- inheritance */

static volatile sig_atomic_t caught;
static void count(int sig) {
    (void)sig;
    caught++;
}

static int policy_named(const char *name) {
    if (strcmp(name, "fifo") == 0) {
        return SCHED_FIFO;
    }
    if (strcmp(name, "rr") == 0) {
        return SCHED_RR;
    }
    return SCHED_OTHER;
}

static const char *policy_name(int policy) {
    switch (policy) {
    case SCHED_FIFO:
        return "fifo";
    case SCHED_RR:
        return "rr";
    case SCHED_OTHER:
        return "other";
    default:
        return "unknown";
    }
}

static int role_inherit(const char *mode, const char *policy) {
    int m = spawn_mode(mode), r;
    sigset_t s;
    alarm(30);
    if (ChannelCreate(0) == -1) {
        say("inherit: ChannelCreate: %s", strerror(errno));
        return 2;
    }
    on(SIGUSR1, count);
    signal(SIGUSR2, SIG_IGN);
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 1);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    if (policy == NULL) {
        if (setprio(0, 21) == -1) {
            say("inherit: setprio: %s", strerror(errno));
            return 2;
        }
    } else {
        struct sched_param p;
        memset(&p, 0, sizeof p);
        p.sched_priority = 21;
        if (SchedSet(0, 0, policy_named(policy), &p) == -1) {
            say("inherit: SchedSet: %s", strerror(errno));
            return 2;
        }
    }
    r = spawnl(m, self, base, "report", NULL);
    if (r == -1) {
        say("inherit: spawnl: %s", strerror(errno));
        return 2;
    }
    if (m == P_WAIT) {
        print_status(r);
    } else if (m == P_NOWAIT) {
        int st = 0;
        if (waitpid(r, &st, 0) != r) {
            say("inherit: waitpid: %s", strerror(errno));
            return 2;
        }
        print_status(st);
    } else {
        int i;
        for (i = 0; i < 1000 && kill(r, 0) == 0; i++) {
            sleep_ms(10);
        }
        say(kill(r, 0) == -1 && errno == ESRCH ? "gone" : "still there");
    }
    return 0;
}

static const char *disposition(int sig) {
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) != 0) {
        return "error";
    }
    if (sa.sa_handler == SIG_DFL) {
        return "dfl";
    }
    if (sa.sa_handler == SIG_IGN) {
        return "ign";
    }
    return "caught";
}

static int role_report(void) {
    sigset_t cur, pend;
    struct sched_param p;
    int blocked, prio = -1, ign = 0, pending = 0, kernel, policy = -1;
    alarm(30);
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    blocked = sigismember(&cur, SIGRTMIN + 1);
    if (ChannelCreate(0) != -1 && (policy = SchedGet(0, 0, &p)) != -1) {
        prio = p.sched_priority;
    }
    /* Ignored (inherited SIG_IGN): nothing happens. Blocked (inherited mask): pending. */
    if (SignalKill(0, getpid(), 0, SIGUSR2, SI_USER, 0) == 0) {
        sleep_ms(50);
        ign = 1;
    }
    if (SignalKill(0, getpid(), 0, SIGRTMIN + 1, SI_USER, 0) == 0) {
        sleep_ms(50);
        sigpending(&pend);
        pending = sigismember(&pend, SIGRTMIN + 1);
    }
    /* Still a process of the kernel. */
    kernel = ChannelCreate(0) != -1;
    say("report blocked=%d usr1=%s usr2=%s prio=%d ign=%d pend=%d kernel=%d policy=%s", blocked,
        disposition(SIGUSR1), disposition(SIGUSR2), prio, ign, pending, kernel,
        policy_name(policy));
    /* Leaves with the pending signal discarded. */
    signal(SIGRTMIN + 1, SIG_IGN);
    return 0;
}

/* ---------------------------------------------------------------- SignalKill targets */

static int role_parent(int argc, char **argv) {
    const char *args[8];
    int i, m = spawn_mode(argv[0]), r, st = 0;
    alarm(30);
    args[0] = base;
    for (i = 1; i < argc && i < 7; i++) {
        args[i] = argv[i];
    }
    args[i] = NULL;
    r = spawnv(m, self, (char *const *)args);
    if (r == -1) {
        say("parent: spawnv: %s", strerror(errno));
        return 2;
    }
    if (m == P_NOWAIT) {
        say("child %d", r);
        while (waitpid(r, &st, 0) == -1 && errno == EINTR) {
        }
        r = st;
    }
    print_status(r);
    return 0;
}

static volatile sig_atomic_t usr1;
static void on_usr1(int sig) {
    (void)sig;
    usr1++;
}

static void *make_channel(void *arg) {
    *(int *)arg = ChannelCreate(0);
    return NULL;
}

static int role_target(const char *kind) {
    int chid;
    struct _pulse p;
    alarm(30);
    if (strcmp(kind, "threadless") == 0) {
        /* The kernel knows this program by the channel of a thread that has ended. */
        pthread_t t;
        chid = -1;
        pthread_create(&t, NULL, make_channel, &chid);
        pthread_join(t, NULL);
        say("ready %d %d", getpid(), chid);
        sleep_ms(15000);
        return 0;
    }
    if (strcmp(kind, "usr1") == 0) {
        on(SIGUSR1, on_usr1);
    }
    chid = ChannelCreate(0);
    say("ready %d %d", getpid(), chid);
    for (int i = 0; i < 3; i++) {
        bound(_NTO_TIMEOUT_RECEIVE, 5 * SEC);
        if (MsgReceivePulse(chid, &p, sizeof p, NULL) == -1 && errno == EINTR) {
            say("eintr usr1=%d", (int)usr1);
            return 42;
        }
    }
    return 0;
}

/* SignalKill of SIGNO to itself (unblocked, default action), then a kernel call. */
static int role_selfkill(int signo) {
    int r, chid;
    alarm(30);
    if (ChannelCreate(0) == -1) {
        return 2;
    }
    r = SignalKill(0, getpid(), 0, signo, SI_USER, 0);
    sleep_ms(300);
    chid = ChannelCreate(0);
    say("selfkill survived: SignalKill %d, then ChannelCreate %d (%s)", r, chid,
        chid == -1 ? strerror(errno) : "ok");
    return 0;
}

static int role_sk(int pid, int tid, int signo) {
    alarm(30);
    if (SignalKill(0, pid, tid, signo, SI_USER, 0) == 0) {
        say("sk 0");
    } else {
        say("sk -1 %d", errno);
    }
    return 0;
}

/* ---------------------------------------------------------------- exec under clients */

static int role_xserver(int flags, const char *dir) {
    char msg[64], path[PATH_MAX];
    int chid;
    rcvid_t r;
    alarm(30);
    chid = ChannelCreate(flags);
    say("ready %d %d", getpid(), chid);
    bound(_NTO_TIMEOUT_RECEIVE, 20 * SEC);
    r = MsgReceive(chid, msg, sizeof msg, NULL);
    if (r <= 0) {
        say("xserver: MsgReceive %ld: %s", (long)r, strerror(errno));
        return 2;
    }
    say("holding");
    snprintf(path, sizeof path, "%s/exec", dir);
    if (!wait_file(path, 20000)) {
        return 3;
    }
    spawnl(P_OVERLAY, self, base, "after", dir, NULL);
    say("xserver: P_OVERLAY: %s", strerror(errno));
    return 2;
}

static int role_after(const char *dir) {
    char msg[64], path[PATH_MAX];
    int chid;
    rcvid_t r;
    alarm(30);
    say("after-up");
    snprintf(path, sizeof path, "%s/join", dir);
    if (!wait_file(path, 20000)) {
        return 3;
    }
    chid = ChannelCreate(0);
    say("after chid %d", chid);
    for (int served = 0; served < 2;) {
        bound(_NTO_TIMEOUT_RECEIVE, 20 * SEC);
        r = MsgReceive(chid, msg, sizeof msg, NULL);
        if (r > 0) {
            MsgReply(r, 0, "second", 7);
            served++;
            continue;
        }
        if (r == -1 && errno != EINTR) {
            say("after: MsgReceive: %s", strerror(errno));
            return 2;
        }
    }
    return 0;
}

static const char *ename(int e) {
    switch (e) {
    case ESRCH:
        return "ESRCH";
    case EINTR:
        return "EINTR";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case EBADF:
        return "EBADF";
    case 0:
        return "OK";
    default:
        return "OTHER";
    }
}

static int role_xclient(int pid, int chid, int again) {
    char reply[16];
    int coid, e, i;
    long r;
    alarm(40);
    on(SIGUSR1, on_usr1);
    coid = ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0);
    if (coid == -1) {
        say("client attach: %s", strerror(errno));
        return 2;
    }
    say("client up");
    for (;;) {
        bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, 30 * SEC);
        r = MsgSend(coid, "first", 6, reply, sizeof reply);
        e = r == -1 ? errno : 0;
        if (e != EINTR) {
            break;
        }
        say("client EINTR");
    }
    say("client %s", ename(e));
    if (e != ESRCH) {
        return 1;
    }
    ConnectDetach(coid);
    if (!again) {
        return 0;
    }
    /* The new image's channel: chid 1 once it has made it. */
    for (i = 0; i < 1000; i++) {
        coid = ConnectAttach(0, pid, 1, _NTO_SIDE_CHANNEL, 0);
        if (coid != -1) {
            bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, 10 * SEC);
            r = MsgSend(coid, "second", 7, reply, sizeof reply);
            if (r == 0 && strcmp(reply, "second") == 0) {
                say("client second ok");
                return 0;
            }
            ConnectDetach(coid);
        }
        sleep_ms(10);
    }
    say("client second failed");
    return 1;
}

/* ---------------------------------------------------------------- exec chain */

static int role_chain(int first) {
    int chid, coid;
    alarm(30);
    chid = ChannelCreate(0);
    coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    if (chid == -1 || coid == -1) {
        say("chain: %s", strerror(errno));
        return 2;
    }
    MsgSendPulse(coid, 10, 1, 0);
    if (first) {
        say("chain %d", getpid());
    }
    spawnl(P_OVERLAY, self, base, "chain-next", NULL);
    say("chain: P_OVERLAY: %s", strerror(errno));
    return 2;
}

/* ---------------------------------------------------------------- a process group */

static int g_chid;
static volatile long g_served;

static void *g_serve(void *arg) {
    char msg[64];
    (void)arg;
    for (;;) {
        rcvid_t r;
        bound(_NTO_TIMEOUT_RECEIVE, 20 * SEC);
        r = MsgReceive(g_chid, msg, sizeof msg, NULL);
        if (r > 0) {
            MsgReply(r, 0, msg, 8);
            if (__atomic_add_fetch(&g_served, 1, __ATOMIC_SEQ_CST) == 200) {
                say("served");
            }
        }
    }
    return NULL;
}

static int role_groot(void) {
    pthread_t t[2];
    char pid[16], chid[16];
    alarm(30);
    setpgid(0, 0);
    g_chid = ChannelCreate(0);
    snprintf(pid, sizeof pid, "%d", getpid());
    snprintf(chid, sizeof chid, "%d", g_chid);
    say("pgid %d", (int)getpgrp());
    say("member %d", getpid());
    pthread_create(&t[0], NULL, g_serve, NULL);
    pthread_create(&t[1], NULL, g_serve, NULL);
    if (spawnl(P_NOWAIT, self, base, "gclient", pid, chid, "1", NULL) == -1 ||
        spawnl(P_NOWAITO, self, base, "gmid", pid, chid, NULL) == -1) {
        say("groot: spawnl: %s", strerror(errno));
        return 2;
    }
    pthread_join(t[0], NULL);
    return 0;
}

static int role_gmid(const char *pid, const char *chid) {
    alarm(30);
    say("member %d", getpid());
    if (ChannelCreate(0) == -1) {
        return 2;
    }
    spawnl(P_OVERLAY, self, base, "gclient", pid, chid, "2", NULL);
    return 2;
}

static int role_gclient(const char *pid, const char *chid, int level) {
    char msg[8] = "request", reply[8];
    int coid;
    alarm(30);
    say("member %d", getpid());
    if (level < 3) {
        char next[16];
        snprintf(next, sizeof next, "%d", level + 1);
        if (spawnl(P_NOWAIT, self, base, "gclient", pid, chid, next, NULL) == -1) {
            return 2;
        }
    }
    coid = ConnectAttach(0, atoi(pid), atoi(chid), _NTO_SIDE_CHANNEL, 0);
    if (coid == -1) {
        return 2;
    }
    for (;;) {
        bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, 20 * SEC);
        if (MsgSend(coid, msg, sizeof msg, reply, sizeof reply) == -1 && errno != EINTR) {
            return 3;
        }
    }
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (n <= 0 || argc < 2) {
        fprintf(stderr, "usage: review_spawn_signals ROLE ARGS\n");
        return 2;
    }
    self[n] = '\0';
    base = strrchr(self, '/') + 1;
    /* Every program of the suite dies with the one that started it (the test, or a
     * spawner); kept across exec. (groot's group is killed by the test.) */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (strcmp(argv[1], "inherit") == 0 && (argc == 3 || argc == 4)) {
        return role_inherit(argv[2], argc == 4 ? argv[3] : NULL);
    }
    if (strcmp(argv[1], "report") == 0) {
        return role_report();
    }
    if (strcmp(argv[1], "parent") == 0 && argc >= 4) {
        return role_parent(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "target") == 0 && argc == 3) {
        return role_target(argv[2]);
    }
    if (strcmp(argv[1], "selfkill") == 0 && argc == 3) {
        return role_selfkill(atoi(argv[2]));
    }
    if (strcmp(argv[1], "sk") == 0 && argc == 5) {
        return role_sk(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    }
    if (strcmp(argv[1], "xserver") == 0 && argc == 4) {
        return role_xserver(atoi(argv[2]), argv[3]);
    }
    if (strcmp(argv[1], "after") == 0 && argc == 3) {
        return role_after(argv[2]);
    }
    if (strcmp(argv[1], "xclient") == 0 && argc == 5) {
        return role_xclient(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    }
    if (strcmp(argv[1], "chain") == 0 || strcmp(argv[1], "chain-next") == 0) {
        return role_chain(strcmp(argv[1], "chain") == 0);
    }
    if (strcmp(argv[1], "groot") == 0) {
        return role_groot();
    }
    if (strcmp(argv[1], "gmid") == 0 && argc == 4) {
        return role_gmid(argv[2], argv[3]);
    }
    if (strcmp(argv[1], "gclient") == 0 && argc == 5) {
        return role_gclient(argv[2], argv[3], atoi(argv[4]));
    }
    fprintf(stderr, "unknown role %s\n", argv[1]);
    return 2;
}
