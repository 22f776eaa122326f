/*
 * review_interrupt_programs.c: review of the simulated interrupts used from C by separate
 * programs on one shared kernel, as drivers ported from QNX use them. One program, several
 * roles (argv[1]); procnto-sim/tests/review_interrupt_programs.rs runs them on a supervised
 * kernel, raises levels (this program's "raise" role, intr-sim), kills drivers and checks what
 * the kernel and pidin-sim show.
 *
 *   event LEVEL FLAGS DIR TAG N   a SIGEV_INTR driver: InterruptAttachEvent(FLAGS), prints
 *                                 "ready PID ID TID"; N times: InterruptWait (bounded),
 *                                 "irq I", then waits for the file DIR/TAG.uI: "keep" leaves
 *                                 the level masked ("kept I"), anything else unmasks
 *                                 ("unmasked I COUNT"). Then waits for DIR/TAG.end: "exit"
 *                                 returns without detaching, anything else detaches first.
 *   handler LEVEL                 InterruptAttach with a handler that says "handler running"
 *                                 and then stays (bounded, 30 s): "ready PID ID".
 *   pulse LEVEL N                 SIGEV_PULSE to its own channel, a MsgReceive loop: N times
 *                                 the pulse (code, value checked), "pulse I", unmask.
 *   signal LEVEL N                SIGEV_SIGNAL (SIGUSR2, a handler): N times "sig I", unmask.
 *   collector K                   a channel ("ready PID CHID"); receives K pulses and prints
 *                                 "order C1 C2 ...", their codes in arrival order.
 *   pulse-to PID CHID LEVEL FLAGS CODE DIR TAG
 *                                 attaches a SIGEV_PULSE to another program's channel:
 *                                 "ready PID ID"; at DIR/TAG.end, detaches.
 *   try LEVEL FLAGS ERRNO         InterruptAttachEvent and InterruptAttach with FLAGS: both
 *                                 succeed (ERRNO 0, then detached) or fail with ERRNO.
 *   intruder LEVEL ID             another program's id: InterruptDetach, _r, InterruptMask and
 *                                 InterruptUnmask with it must fail; prints "detach R ERRNO",
 *                                 "detach_r R", "mask R ERRNO", "unmask R ERRNO".
 *   other-thread LEVEL            attaches SIGEV_INTR in main; a second thread, which did not
 *                                 attach, InterruptWaits ("t-waiting TID"): only its
 *                                 TimerTimeout ends it, while the attaching thread's next
 *                                 InterruptWait returns at once.
 *   quiet LEVEL MS                attaches SIGEV_INTR ("ready PID ID"); no interrupt may come
 *                                 within MS ms.
 *   count LEVEL MS                attaches SIGEV_INTR ("ready PID ID"), serves (wait, unmask)
 *                                 until no interrupt for MS ms: "served K".
 *   unmask LEVEL                  InterruptUnmask(LEVEL, -1) once: "unmasked COUNT".
 *   raise LEVEL                   qnxsim_interrupt_raise once: "raised R".
 *
 * Every blocking call is bounded (TimerTimeout, bounded polls) and alarm() ends a role that
 * hangs anyway.
 */
#include <errno.h>
#include <process.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/siginfo.h>
#include <time.h>
#include <unistd.h>

#include <qnxsim/interrupt.h>

#include "check.h"

#define MS 1000000ULL
/* The bound on a wait that should end. */
#define LONG_MS 15000
/* The bound on a role's whole run. */
#define ALARM_S 60

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* InterruptWait bounded by ms: 0, or -1 with errno. */
static int wait_within(unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, NULL, &ns, NULL);
    return InterruptWait(0, NULL);
}

static struct sigevent intr_event(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    SIGEV_INTR_INIT(&ev);
    return ev;
}

/* Waits (bounded) for the file DIR/NAME and returns its first word ("" if empty); NULL if it
 * never came. */
static const char *await_file(const char *dir, const char *name) {
    static char word[64];
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    long long until = now_ms() + 30000;
    while (now_ms() < until) {
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            word[0] = '\0';
            if (fscanf(f, "%63s", word) != 1) {
                word[0] = '\0';
            }
            fclose(f);
            return word;
        }
        sleep_ms(5);
    }
    return NULL;
}

/* ------------------------------------------------------------------ event: the SIGEV_INTR driver */

static int role_event(int level, unsigned flags, const char *dir, const char *tag, int n) {
    struct sigevent ev = intr_event();
    int id = InterruptAttachEvent(level, &ev, flags);
    CHECK(id > 0, "the driver attaches");
    say("ready %d %d %d", (int)getpid(), id, gettid());
    if (id <= 0) {
        return SUMMARY();
    }
    for (int i = 1; i <= n; i++) {
        int r = wait_within(LONG_MS);
        CHECK(r == 0, "the driver's InterruptWait");
        if (r != 0) {
            say("wait failed %d", errno);
            break;
        }
        say("irq %d", i);
        char name[128];
        snprintf(name, sizeof name, "%s.u%d", tag, i);
        const char *w = await_file(dir, name);
        CHECK(w != NULL, "told whether to unmask");
        if (w == NULL) {
            break;
        }
        if (strcmp(w, "keep") == 0) {
            say("kept %d", i);
        } else {
            int c = InterruptUnmask(level, id);
            CHECK(c >= 0, "the driver unmasks");
            say("unmasked %d %d", i, c);
        }
    }
    char name[128];
    snprintf(name, sizeof name, "%s.end", tag);
    const char *w = await_file(dir, name);
    CHECK(w != NULL, "told how to end");
    if (w != NULL && strcmp(w, "exit") == 0) {
        say("exiting attached");
        return SUMMARY();
    }
    CHECK(InterruptDetach(id) == 0, "the driver detaches");
    return SUMMARY();
}

/* ------------------------------------------------------------------ handler: stays in its handler */

static const struct sigevent *staying_handler(void *area, int id) {
    (void)area;
    (void)id;
    say("handler running");
    sleep_ms(30000);
    return NULL;
}

static int role_handler(int level) {
    int id = InterruptAttach(level, staying_handler, NULL, 0, 0);
    say("ready %d %d", (int)getpid(), id);
    if (id <= 0) {
        return 1;
    }
    sleep_ms(40000);
    return 1;
}

/* ------------------------------------------------------------------ pulse: a MsgReceive loop */

#define PULSE_CODE 7
#define PULSE_VALUE 4242

static int role_pulse(int level, int n) {
    int chid = ChannelCreate(0);
    int coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(chid >= 0 && coid >= 0, "a channel and a connection to it");
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, coid, 10, PULSE_CODE, (intptr_t)PULSE_VALUE);
    int id = InterruptAttachEvent(level, &ev, 0);
    CHECK(id > 0, "attach a pulse event");
    say("ready %d %d", (int)getpid(), id);
    for (int i = 1; i <= n && id > 0; i++) {
        struct _pulse p;
        memset(&p, 0, sizeof p);
        _Uint64t ns = LONG_MS * MS;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        int rcvid = MsgReceive(chid, &p, sizeof p, NULL);
        CHECK(rcvid == 0, "a pulse came");
        if (rcvid != 0) {
            break;
        }
        CHECK(p.code == PULSE_CODE, "the attachment's code");
        CHECK(p.value.sival_int == PULSE_VALUE, "the attachment's value");
        say("pulse %d", i);
        CHECK(InterruptUnmask(level, id) == 0, "unmask");
    }
    CHECK(InterruptDetach(id) == 0, "detach");
    ConnectDetach(coid);
    ChannelDestroy(chid);
    return SUMMARY();
}

/* ------------------------------------------------------------------ signal: SIGEV_SIGNAL */

static volatile sig_atomic_t sigs;
static volatile sig_atomic_t sig_bad;

static void on_sig(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    (void)si;
    if (sig != SIGUSR2) {
        sig_bad = 1;
    }
    sigs++;
}

static int role_signal(int level, int n) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0, "a SIGUSR2 handler");
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    SIGEV_SIGNAL_INIT(&ev, SIGUSR2);
    int id = InterruptAttachEvent(level, &ev, 0);
    CHECK(id > 0, "attach a signal event");
    say("ready %d %d", (int)getpid(), id);
    for (int i = 1; i <= n && id > 0; i++) {
        long long until = now_ms() + LONG_MS;
        while (sigs < i && now_ms() < until) {
            sleep_ms(2);
        }
        CHECK(sigs == i, "one signal per interrupt");
        if (sigs < i) {
            break;
        }
        say("sig %d", i);
        CHECK(InterruptUnmask(level, id) == 0, "unmask");
    }
    CHECK(!sig_bad, "only SIGUSR2");
    CHECK(InterruptDetach(id) == 0, "detach");
    return SUMMARY();
}

/* ------------------------------------------------------------------ collector and pulse-to */

static int role_collector(int k) {
    int chid = ChannelCreate(0);
    CHECK(chid >= 0, "the collector's channel");
    say("ready %d %d", (int)getpid(), chid);
    char order[256] = "order";
    for (int i = 0; i < k; i++) {
        struct _pulse p;
        _Uint64t ns = 30000 * MS;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        int rcvid = MsgReceive(chid, &p, sizeof p, NULL);
        CHECK(rcvid == 0, "a pulse");
        if (rcvid != 0) {
            break;
        }
        size_t len = strlen(order);
        snprintf(order + len, sizeof order - len, " %d", p.code);
    }
    say("%s", order);
    ChannelDestroy(chid);
    return SUMMARY();
}

static int role_pulse_to(int pid, int chid, int level, unsigned flags, int code,
                         const char *dir, const char *tag) {
    int coid = ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid >= 0, "connect to the collector");
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, coid, 10, code, 0);
    int id = InterruptAttachEvent(level, &ev, flags);
    CHECK(id > 0, "attach a pulse to the collector");
    say("ready %d %d", (int)getpid(), id);
    char name[128];
    snprintf(name, sizeof name, "%s.end", tag);
    CHECK(await_file(dir, name) != NULL, "told to end");
    CHECK(InterruptDetach(id) == 0, "detach");
    ConnectDetach(coid);
    return SUMMARY();
}

/* ------------------------------------------------------------------ try: EXCLUSIVE */

static const struct sigevent *null_handler(void *area, int id) {
    (void)area;
    (void)id;
    return NULL;
}

static int role_try(int level, unsigned flags, int want) {
    struct sigevent ev = intr_event();
    int id = InterruptAttachEvent(level, &ev, flags);
    int e = errno;
    say("attach-event %d %d", id, id == -1 ? e : 0);
    if (want == 0) {
        CHECK(id > 0, "InterruptAttachEvent succeeds");
        CHECK(id <= 0 || InterruptDetach(id) == 0, "and detaches");
    } else {
        CHECK(id == -1 && e == want, "InterruptAttachEvent refused with the errno expected");
    }
    id = InterruptAttach(level, null_handler, NULL, 0, flags);
    e = errno;
    say("attach-handler %d %d", id, id == -1 ? e : 0);
    if (want == 0) {
        CHECK(id > 0, "InterruptAttach succeeds");
        CHECK(id <= 0 || InterruptDetach(id) == 0, "and detaches");
    } else {
        CHECK(id == -1 && e == want, "InterruptAttach refused with the errno expected");
    }
    int r = InterruptAttachEvent_r(level, &ev, flags);
    if (want == 0) {
        CHECK(r > 0, "InterruptAttachEvent_r succeeds");
        CHECK(r <= 0 || InterruptDetach(r) == 0, "and detaches");
    } else {
        CHECK(r == -want, "InterruptAttachEvent_r: -errno");
    }
    return SUMMARY();
}

/* ------------------------------------------------------------------ intruder: another's id */

static int role_intruder(int level, int victim) {
    errno = 0;
    int r = InterruptDetach(victim);
    int e = errno;
    say("detach %d %d", r, e);
    CHECK(r == -1, "InterruptDetach of another program's id fails");
    CHECK(e == EINVAL || e == EPERM, "with EINVAL or EPERM");
    r = InterruptDetach_r(victim);
    say("detach_r %d", r);
    CHECK(r < 0, "InterruptDetach_r of it fails");
    errno = 0;
    r = InterruptUnmask(level, victim);
    e = errno;
    say("unmask %d %d", r, e);
    CHECK(r == -1, "InterruptUnmask with another program's id fails");
    errno = 0;
    r = InterruptMask(level, victim);
    e = errno;
    say("mask %d %d", r, e);
    CHECK(r == -1, "InterruptMask with another program's id fails");
    /* Its own attachment on the level: the ids are not confused. */
    struct sigevent ev = intr_event();
    int mine = InterruptAttachEvent(level, &ev, 0);
    CHECK(mine > 0 && mine != victim, "an attachment of its own on the level");
    CHECK(InterruptDetach(mine) == 0, "which it detaches");
    CHECK(InterruptDetach(mine) == -1 && errno == EINVAL, "once");
    return SUMMARY();
}

/* ------------------------------------------------------------------ other-thread */

static int ot_level;

static void *ot_thread(void *arg) {
    (void)arg;
    say("t-waiting %d", gettid());
    long long t0 = now_ms();
    int r = wait_within(3000);
    int e = errno;
    long long took = now_ms() - t0;
    CHECK(r == -1 && e == ETIMEDOUT,
          "InterruptWait in a thread that did not attach: only its TimerTimeout ends it");
    CHECK(took >= 2500, "it waited its whole timeout");
    say("t-done %d %d", r, e);
    return NULL;
}

static int role_other_thread(int level) {
    ot_level = level;
    struct sigevent ev = intr_event();
    int id = InterruptAttachEvent(level, &ev, 0);
    CHECK(id > 0, "the main thread attaches");
    CHECK(wait_within(200) == -1 && errno == ETIMEDOUT, "nothing raised yet: ETIMEDOUT");
    say("ready %d %d", (int)getpid(), id);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, ot_thread, NULL) == 0, "a second thread");
    pthread_join(t, NULL);
    /* The raise made meanwhile went to the attaching thread: its wait returns at once. */
    long long t0 = now_ms();
    CHECK(wait_within(LONG_MS) == 0, "the attaching thread's InterruptWait returns");
    CHECK(now_ms() - t0 < 2000, "at once (the SIGEV_INTR was pending)");
    CHECK(InterruptUnmask(level, id) == 0, "unmask");
    CHECK(InterruptDetach(id) == 0, "detach");
    return SUMMARY();
}

/* ------------------------------------------------------------------ quiet, count, raise */

static int role_quiet(int level, int ms) {
    struct sigevent ev = intr_event();
    int id = InterruptAttachEvent(level, &ev, 0);
    CHECK(id > 0, "attach");
    say("ready %d %d", (int)getpid(), id);
    int r = wait_within((unsigned long long)ms);
    CHECK(r == -1 && errno == ETIMEDOUT, "no interrupt comes");
    CHECK(InterruptDetach(id) == 0, "detach");
    return SUMMARY();
}

static int role_count(int level, int ms) {
    struct sigevent ev = intr_event();
    int id = InterruptAttachEvent(level, &ev, 0);
    CHECK(id > 0, "attach");
    say("ready %d %d", (int)getpid(), id);
    int k = 0;
    /* The first one within LONG_MS, the others until MS ms of quiet. */
    if (wait_within(LONG_MS) == 0) {
        k++;
        CHECK(InterruptUnmask(level, id) >= 0, "unmask (others may hold the level masked)");
        while (k < 1000000 && wait_within((unsigned long long)ms) == 0) {
            k++;
            CHECK(InterruptUnmask(level, id) >= 0, "unmask (others may hold the level masked)");
        }
        CHECK(errno == ETIMEDOUT, "the serving ends with a quiet TimerTimeout");
    }
    CHECK(k > 0, "served at least one");
    say("served %d", k);
    CHECK(InterruptDetach(id) == 0, "detach");
    return SUMMARY();
}

static int role_unmask(int level) {
    say("unmasked %d", InterruptUnmask(level, -1));
    return 0;
}

static int role_raise(int level) {
    say("raised %d", qnxsim_interrupt_raise(level));
    return 0;
}

int main(int argc, char **argv) {
    alarm(ALARM_S);
    const char *role = argc > 1 ? argv[1] : "";
    if (strcmp(role, "event") == 0 && argc == 7) {
        return role_event(atoi(argv[2]), (unsigned)strtoul(argv[3], NULL, 0), argv[4],
                          argv[5], atoi(argv[6]));
    }
    if (strcmp(role, "handler") == 0 && argc == 3) {
        return role_handler(atoi(argv[2]));
    }
    if (strcmp(role, "pulse") == 0 && argc == 4) {
        return role_pulse(atoi(argv[2]), atoi(argv[3]));
    }
    if (strcmp(role, "signal") == 0 && argc == 4) {
        return role_signal(atoi(argv[2]), atoi(argv[3]));
    }
    if (strcmp(role, "collector") == 0 && argc == 3) {
        return role_collector(atoi(argv[2]));
    }
    if (strcmp(role, "pulse-to") == 0 && argc == 9) {
        return role_pulse_to(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]),
                             (unsigned)strtoul(argv[5], NULL, 0), atoi(argv[6]), argv[7],
                             argv[8]);
    }
    if (strcmp(role, "try") == 0 && argc == 5) {
        return role_try(atoi(argv[2]), (unsigned)strtoul(argv[3], NULL, 0), atoi(argv[4]));
    }
    if (strcmp(role, "intruder") == 0 && argc == 4) {
        return role_intruder(atoi(argv[2]), atoi(argv[3]));
    }
    if (strcmp(role, "other-thread") == 0 && argc == 3) {
        return role_other_thread(atoi(argv[2]));
    }
    if (strcmp(role, "quiet") == 0 && argc == 4) {
        return role_quiet(atoi(argv[2]), atoi(argv[3]));
    }
    if (strcmp(role, "count") == 0 && argc == 4) {
        return role_count(atoi(argv[2]), atoi(argv[3]));
    }
    if (strcmp(role, "unmask") == 0 && argc == 3) {
        return role_unmask(atoi(argv[2]));
    }
    if (strcmp(role, "raise") == 0 && argc == 3) {
        return role_raise(atoi(argv[2]));
    }
    fprintf(stderr, "usage: %s ROLE ARGS... (see the file's head)\n", argv[0]);
    return 2;
}
