/*
 * review_timers_semantics.c: an adversarial review of timers, kernel timeouts, clocks and
 * signal events against QNX's documented behaviour (qnx-api.md §1.4, §1.7, §2.9, §2.13;
 * qnx-resmgr.md §6.1-6.2; where those are silent, the [OQ] 6.4 kernel source they name as
 * ground truth: ker_timer.c, ker_signal.c):
 *
 * the SIGEV_* macros and flags; timer_create with SIGEV_PULSE (code, value, priority),
 * timer_settime relative and TIMER_ABSTIME (past and future, both clocks), periodic timers
 * (never early, counted with wide margins), disarming with zero, timer_gettime's time left,
 * timer_getoverrun, timer_delete with a pulse still queued; TimerCreate, TimerSettime,
 * TimerInfo, TimerDestroy and their errnos; TimerTimeout with NULL, zero, absolute past and
 * future times, its returned flags, its one-shot life, disarming with flags 0; ClockTime,
 * ClockCycles, ClockPeriod; delay() and its remaining time; SIGEV_SIGNAL_THREAD and
 * SIGEV_SIGNAL_CODE by MsgDeliverEvent to the right thread with si_code and si_value;
 * SignalKill to a thread and a process with codes; the _r forms.
 *
 * Its first run found nine defects, fixed since: events made with SIGEV_*_INIT on an
 * uninitialised struct refused, TimerInfo's itime/otime, a NULL-event timer's value, the
 * thread a SIGEV_SIGNAL_THREAD timer signals, _NTO_TIMEOUT_NANOSLEEP and _NTO_TIMEOUT_JOIN
 * ignored, SignalKill's SI_USER code and value lost and codes above it accepted.
 *
 * No call may block for long: alarm() bounds the whole run, every receive is armed with
 * TimerTimeout, every helper thread's wait is a bounded loop. Nothing is timed tightly: only
 * "never early" lower bounds (1 ms of slack for clock reading) and wide upper bounds.
 */
#include <errno.h>
#include <pthread.h>
#include <process.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/siginfo.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define SENTINEL_ERRNO 4321
/* The bound on any wait that should end soon. */
#define LONG_MS 5000ULL
/* QNX's own TIMER_ABSTIME, which the headers accept beside <time.h>'s. */
#define QNX_TIMER_ABSTIME ((int)0x80000000u)

/* ------------------------------------------------------------------ helpers */

static _Uint64t now_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (_Uint64t)ts.tv_sec * SEC + (_Uint64t)ts.tv_nsec;
}

static _Uint64t mono(void) {
    return now_ns(CLOCK_MONOTONIC);
}

static struct timespec ts_of(_Uint64t ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / SEC);
    ts.tv_nsec = (long)(ns % SEC);
    return ts;
}

static _Uint64t ns_of(const struct timespec *ts) {
    return (_Uint64t)ts->tv_sec * SEC + (_Uint64t)ts->tv_nsec;
}

static void arm_rx_ns(_Uint64t ns) {
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
}

/* One pulse from chid within ms (retrying after a signal): 0, or -1 with errno. */
static int recv_pulse(int chid, struct _pulse *p, _Uint64t ms) {
    _Uint64t until = mono() + ms * MS;
    for (;;) {
        _Uint64t now = mono();
        int r;
        if (now >= until) {
            errno = ETIMEDOUT;
            return -1;
        }
        arm_rx_ns(until - now);
        r = MsgReceivePulse(chid, p, sizeof *p, NULL);
        if (r == -1 && errno == EINTR) {
            continue;
        }
        return r;
    }
}

/* Empties chid's queue of pulses (none waits). */
static int drain(int chid) {
    struct _pulse p;
    int n = 0;
    for (;;) {
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
        if (MsgReceivePulse(chid, &p, sizeof p, NULL) == -1) {
            if (errno == EINTR) {
                continue;
            }
            return n;
        }
        n++;
    }
}

/* Waits (at most ms) until *flag is set, outside the kernel. */
static int wait_flag(volatile sig_atomic_t *flag, int ms) {
    _Uint64t until = mono() + (_Uint64t)ms * MS;
    while (!*flag && mono() < until) {
        delay(2);
    }
    return *flag != 0;
}

/* Each thread's tag, for the signal handler to say which thread it ran on. */
static __thread int thread_tag;

struct seen {
    volatile sig_atomic_t hit;
    volatile sig_atomic_t count;
    volatile int code;
    volatile int value;
    volatile int tag;
};
static struct seen seen_usr1, seen_usr2, seen_alrm;

static void record(struct seen *s, siginfo_t *si) {
    s->code = si->si_code;
    s->value = si->si_value.sival_int;
    s->tag = thread_tag;
    s->count++;
    s->hit = 1;
}

static void on_usr1(int signo, siginfo_t *si, void *ctx) {
    (void)signo;
    (void)ctx;
    record(&seen_usr1, si);
}

static void on_usr2(int signo, siginfo_t *si, void *ctx) {
    (void)signo;
    (void)ctx;
    record(&seen_usr2, si);
}

static void on_alrm(int signo, siginfo_t *si, void *ctx) {
    (void)signo;
    (void)ctx;
    record(&seen_alrm, si);
}

static void install(int signo, void (*fn)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, NULL);
}

static void reset(struct seen *s) {
    s->hit = 0;
    s->count = 0;
    s->code = 0x7fff;
    s->value = 0x7fff;
    s->tag = -1;
}

static int chid;  /* main's channel for timer pulses */
static int coid;  /* main's connection to it */
static int chid2; /* an idle channel nobody sends to */
static int coid2;

/* ------------------------------------------------------------------ sigevent macros */

static void test_sigevent_macros(void) {
    struct sigevent ev;
    memset(&ev, 0x5a, sizeof ev);
    SIGEV_PULSE_INIT(&ev, coid, 33, 17, 0x1234);
    CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_PULSE, "SIGEV_PULSE_INIT: the type");
    CHECK(ev.sigev_coid == coid, "SIGEV_PULSE_INIT: sigev_coid");
    CHECK(ev.sigev_priority == 33, "SIGEV_PULSE_INIT: sigev_priority");
    CHECK(ev.sigev_code == 17, "SIGEV_PULSE_INIT: sigev_code");
    CHECK(ev.sigev_value.sival_int == 0x1234, "SIGEV_PULSE_INIT: sigev_value");
    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 1, 0);
    CHECK(ev.sigev_priority == -1 && SIGEV_PULSE_PRIO_INHERIT == -1,
          "SIGEV_PULSE_PRIO_INHERIT is -1 and fits sigev_priority");

    /* The flags live above the type: the type survives them (§1.4, qnx-resmgr §6.1). */
    CHECK(SIGEV_FLAG_CRITICAL == 0x100 && SIGEV_FLAG_UPDATEABLE == 0x400 &&
              SIGEV_TYPE_MASK == 0xff,
          "SIGEV_FLAG_CRITICAL 0x100, SIGEV_FLAG_UPDATEABLE 0x400, SIGEV_TYPE_MASK 0xff");
    SIGEV_MAKE_CRITICAL(&ev);
    CHECK((ev.sigev_notify & SIGEV_FLAG_CRITICAL) != 0 && SIGEV_GET_TYPE(&ev) == SIGEV_PULSE,
          "SIGEV_MAKE_CRITICAL sets the flag and keeps the type");
    SIGEV_MAKE_UPDATEABLE(&ev);
    CHECK((ev.sigev_notify & SIGEV_FLAG_UPDATEABLE) != 0 && SIGEV_GET_TYPE(&ev) == SIGEV_PULSE,
          "SIGEV_MAKE_UPDATEABLE sets the flag and keeps the type");
    SIGEV_SET_TYPE(&ev, SIGEV_UNBLOCK);
    CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_UNBLOCK && (ev.sigev_notify & SIGEV_FLAG_CRITICAL) != 0,
          "SIGEV_SET_TYPE changes the type and keeps the flags");
    SIGEV_CLEAR_CRITICAL(&ev);
    CHECK((ev.sigev_notify & SIGEV_FLAG_CRITICAL) == 0, "SIGEV_CLEAR_CRITICAL clears it");

    SIGEV_SIGNAL_CODE_INIT(&ev, SIGUSR1, 77, SI_MINAVAIL + 5);
    CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_SIGNAL_CODE && ev.sigev_signo == SIGUSR1 &&
              ev.sigev_value.sival_int == 77 && ev.sigev_code == SI_MINAVAIL + 5,
          "SIGEV_SIGNAL_CODE_INIT's fields");
    SIGEV_SIGNAL_THREAD_INIT(&ev, SIGUSR2, 78, SI_MINAVAIL + 6);
    CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_SIGNAL_THREAD && ev.sigev_signo == SIGUSR2 &&
              ev.sigev_value.sival_int == 78 && ev.sigev_code == SI_MINAVAIL + 6,
          "SIGEV_SIGNAL_THREAD_INIT's fields");
    SIGEV_SIGNAL_VALUE_INIT(&ev, SIGUSR1, 79);
    CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_SIGNAL && ev.sigev_value.sival_int == 79,
          "SIGEV_SIGNAL_VALUE_INIT's fields");
    SIGEV_UNBLOCK_INIT(&ev);
    CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_UNBLOCK, "SIGEV_UNBLOCK_INIT");
    SIGEV_INTR_INIT(&ev);
    CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_INTR, "SIGEV_INTR_INIT");
    SIGEV_NONE_INIT(&ev);
    CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_NONE && SIGEV_NONE == 0, "SIGEV_NONE_INIT; SIGEV_NONE 0");

    /* A flagged pulse event is still a pulse event: verified and delivered by a timer. */
    {
        timer_t t;
        struct itimerspec its;
        struct _pulse p;
        SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 21, 2121);
        SIGEV_MAKE_CRITICAL(&ev);
        CHECK(MsgVerifyEvent(0, &ev) == 0, "MsgVerifyEvent accepts a critical pulse event");
        CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0,
              "timer_create with a critical pulse event");
        memset(&its, 0, sizeof its);
        its.it_value.tv_nsec = 5 * 1000000;
        CHECK(timer_settime(t, 0, &its, NULL) == 0, "and armed");
        memset(&p, 0, sizeof p);
        CHECK(recv_pulse(chid, &p, LONG_MS) == 0 && p.code == 21 && p.value.sival_int == 2121,
              "the critical pulse event's timer delivers its pulse");
        CHECK(timer_delete(t) == 0, "timer_delete");
    }
}

/* ------------------------------------------------------------------ timer_* with pulses */

static void test_pulse_timer(void) {
    struct sigevent ev;
    struct itimerspec its, cur, old;
    struct _pulse p;
    timer_t t;
    _Uint64t t0, el;
    int r, old_prio = getprio(0);

    /* Fields: code, value, the receiver takes the event's priority (§1.4, §2.11). */
    SIGEV_PULSE_INIT(&ev, coid, 33, 42, -99);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create (pulse, priority 33)");
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = 100 * 1000000;
    t0 = mono();
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "timer_settime 100 ms relative");
    memset(&p, 0, sizeof p);
    r = recv_pulse(chid, &p, LONG_MS);
    el = mono() - t0;
    CHECK(r == 0 && p.type == _PULSE_TYPE && p.subtype == _PULSE_SUBTYPE,
          "the timer's pulse is a pulse");
    CHECK(p.code == 42 && p.value.sival_int == -99, "with the event's code and value");
    CHECK((p.scoid & _NTO_SIDE_CHANNEL) != 0, "and the connection's scoid");
    CHECK(el >= 99 * MS, "a relative timer never fires early");
    CHECK(getprio(0) == 33, "the receiver runs at the pulse's priority (33)");
    setprio(0, old_prio);
    CHECK(timer_gettime(t, &cur) == 0 && ns_of(&cur.it_value) == 0 &&
              ns_of(&cur.it_interval) == 0,
          "an expired one-shot timer reads disarmed");
    CHECK(timer_getoverrun(t) == 0, "timer_getoverrun of a one-shot timer: 0");

    /* TIMER_ABSTIME in the future, on CLOCK_MONOTONIC. */
    {
        _Uint64t target = mono() + 80 * MS;
        its.it_value = ts_of(target);
        CHECK(timer_settime(t, TIMER_ABSTIME, &its, NULL) == 0, "timer_settime TIMER_ABSTIME");
        r = recv_pulse(chid, &p, LONG_MS);
        el = mono();
        CHECK(r == 0 && p.code == 42, "the absolute timer's pulse");
        CHECK(el + MS >= target, "an absolute timer never fires early");
        CHECK(el < target + 3 * SEC, "and fires (within 3 s of its time)");
    }

    /* TIMER_ABSTIME in the past: expires at once (POSIX). */
    {
        _Uint64t now = mono();
        its.it_value = ts_of(now > SEC ? now - SEC : 1);
        t0 = mono();
        CHECK(timer_settime(t, TIMER_ABSTIME, &its, NULL) == 0,
              "timer_settime TIMER_ABSTIME in the past");
        r = recv_pulse(chid, &p, LONG_MS);
        CHECK(r == 0 && p.code == 42 && mono() - t0 < 2 * SEC,
              "an absolute time already past fires at once");
    }

    /* timer_gettime of an absolute timer: the time left, relative. */
    {
        _Uint64t target = mono() + 10 * SEC;
        its.it_value = ts_of(target);
        its.it_interval.tv_sec = 0;
        its.it_interval.tv_nsec = 0;
        CHECK(timer_settime(t, TIMER_ABSTIME, &its, NULL) == 0, "an absolute timer 10 s ahead");
        CHECK(timer_gettime(t, &cur) == 0 && ns_of(&cur.it_value) > 8 * SEC &&
                  ns_of(&cur.it_value) <= 10 * SEC,
              "timer_gettime of an absolute timer: the time left (about 10 s)");
        /* Re-arm relative with ovalue: the old time left. */
        its.it_value = ts_of(20 * SEC);
        CHECK(timer_settime(t, 0, &its, &old) == 0, "timer_settime over an armed timer");
        CHECK(ns_of(&old.it_value) > 8 * SEC && ns_of(&old.it_value) <= 10 * SEC,
              "ovalue: the time the old arming had left");
        /* Disarm with zero: ovalue says what was left; nothing fires. */
        memset(&its, 0, sizeof its);
        CHECK(timer_settime(t, 0, &its, &old) == 0, "timer_settime with zero disarms");
        CHECK(ns_of(&old.it_value) > 18 * SEC && ns_of(&old.it_value) <= 20 * SEC,
              "ovalue of the disarm: the time the arming had left");
        CHECK(timer_gettime(t, &cur) == 0 && ns_of(&cur.it_value) == 0,
              "a disarmed timer reads 0 left");
    }
    CHECK(timer_delete(t) == 0, "timer_delete");

    /* CLOCK_REALTIME, absolute. */
    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 43, 4343);
    CHECK(timer_create(CLOCK_REALTIME, &ev, &t) == 0, "timer_create on CLOCK_REALTIME");
    memset(&its, 0, sizeof its);
    its.it_value = ts_of(now_ns(CLOCK_REALTIME) + 60 * MS);
    t0 = mono();
    CHECK(timer_settime(t, TIMER_ABSTIME, &its, NULL) == 0,
          "timer_settime TIMER_ABSTIME on CLOCK_REALTIME");
    r = recv_pulse(chid, &p, LONG_MS);
    el = mono() - t0;
    CHECK(r == 0 && p.code == 43 && p.value.sival_int == 4343,
          "the realtime absolute timer's pulse");
    CHECK(el >= 50 * MS, "not (much) before its realtime");
    CHECK(timer_delete(t) == 0, "timer_delete (realtime)");
}

static void test_periodic(void) {
    struct sigevent ev;
    struct itimerspec its, cur, old;
    struct _pulse p;
    timer_t t;
    _Uint64t t0, until;
    int n = 0, early = 0, drained;
    const _Uint64t period = 20 * MS;

    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 50, 5050);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create (periodic)");
    memset(&its, 0, sizeof its);
    its.it_value = ts_of(period);
    its.it_interval = ts_of(period);
    t0 = mono();
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "timer_settime 20 ms periodic");
    until = t0 + SEC;
    while (mono() < until) {
        _Uint64t left = until - mono();
        if (left == 0) {
            break;
        }
        arm_rx_ns(left);
        if (MsgReceivePulse(chid, &p, sizeof p, NULL) == 0 && p.code == 50) {
            n++;
            /* The n-th pulse comes no earlier than the n-th period. */
            if (mono() + MS < t0 + (_Uint64t)n * period) {
                early++;
            }
        }
    }
    printf("periodic: %d pulses of a 20 ms timer in 1 s (nominal 50), overrun %d\n", n,
           timer_getoverrun(t));
    CHECK(early == 0, "no pulse of a periodic timer comes before its period");
    CHECK(n >= 15 && n <= 51, "about 50 pulses of a 20 ms timer in 1 s (15..51 accepted)");
    CHECK(timer_gettime(t, &cur) == 0 && ns_of(&cur.it_interval) == period &&
              ns_of(&cur.it_value) > 0 && ns_of(&cur.it_value) <= period,
          "timer_gettime of a periodic timer: the period, and at most one period left");

    /* Disarm with zero while periodic: no pulse after the queue is drained. */
    memset(&its, 0, sizeof its);
    CHECK(timer_settime(t, 0, &its, &old) == 0, "disarming the periodic timer");
    CHECK(ns_of(&old.it_interval) == period, "ovalue: its period");
    drained = drain(chid);
    CHECK(drained <= 1, "at most one pulse was left queued");
    errno = 0;
    CHECK(recv_pulse(chid, &p, 150) == -1 && errno == ETIMEDOUT,
          "a disarmed periodic timer sends no more pulses");
    CHECK(timer_gettime(t, &cur) == 0 && ns_of(&cur.it_value) == 0, "and reads 0 left");

    /* Overruns: a 5 ms timer whose pulses are not received for 200 ms. */
    its.it_value = ts_of(5 * MS);
    its.it_interval = ts_of(5 * MS);
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "a 5 ms periodic timer");
    delay(200);
    CHECK(recv_pulse(chid, &p, LONG_MS) == 0 && p.code == 50, "its (merged) pulse");
    {
        int ov = timer_getoverrun(t);
        printf("overrun after a 200 ms stall of a 5 ms timer: %d\n", ov);
        CHECK(ov >= 5, "timer_getoverrun counts the expiries merged while the pulse waited");
    }
    memset(&its, 0, sizeof its);
    timer_settime(t, 0, &its, NULL);
    drain(chid);

    /* A pulse received on time: overrun back to 0. */
    its.it_value = ts_of(200 * MS);
    its.it_interval = ts_of(200 * MS);
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "a 200 ms periodic timer");
    CHECK(recv_pulse(chid, &p, LONG_MS) == 0 && p.code == 50, "its first pulse");
    CHECK(recv_pulse(chid, &p, LONG_MS) == 0 && p.code == 50, "its second pulse");
    CHECK(timer_getoverrun(t) == 0, "timer_getoverrun after an on-time pulse: 0");
    CHECK(timer_delete(t) == 0, "timer_delete (periodic, armed)");
    drain(chid);
    errno = 0;
    CHECK(recv_pulse(chid, &p, 450) == -1 && errno == ETIMEDOUT,
          "a deleted periodic timer sends nothing more");
}

/* timer_delete with the timer's pulse still queued, then a new timer. */
static void test_delete_queued(void) {
    struct sigevent ev;
    struct itimerspec its;
    struct _pulse p;
    timer_t t, t2;
    int got_a = 0, got_b = 0, other = 0, i;

    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 60, 6060);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create (to delete)");
    memset(&its, 0, sizeof its);
    its.it_value = ts_of(5 * MS);
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "armed 5 ms");
    delay(60); /* its pulse is queued now */
    CHECK(timer_delete(t) == 0, "timer_delete with its pulse queued");
    /* A new timer takes the freed slot (and pulse). */
    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 61, 6161);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t2) == 0, "timer_create after it");
    its.it_value = ts_of(5 * MS);
    CHECK(timer_settime(t2, 0, &its, NULL) == 0, "the new timer armed 5 ms");
    for (i = 0; i < 3; i++) {
        if (recv_pulse(chid, &p, 300) == 0) {
            if (p.code == 60 && p.value.sival_int == 6060) {
                got_a++;
            } else if (p.code == 61 && p.value.sival_int == 6161) {
                got_b++;
            } else {
                other++;
            }
        }
    }
    CHECK(got_a <= 1, "the deleted timer's queued pulse arrives at most once");
    CHECK(got_b == 1, "the new timer's pulse arrives, once, with its own code and value");
    CHECK(other == 0, "no pulse with another code or value");
    CHECK(timer_delete(t2) == 0, "timer_delete (the new one)");
    CHECK(MsgSendPulse(coid, -1, 62, 6262) == 0 && recv_pulse(chid, &p, LONG_MS) == 0 &&
              p.code == 62,
          "the channel still works");
}

/* ------------------------------------------------------------------ kernel timer calls */

static void test_kernel_timers(void) {
    struct sigevent ev;
    struct _itimer it, old;
    struct _timer_info ti;
    struct _pulse p;
    int id, r;

    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 70, 7070);
    id = TimerCreate(CLOCK_MONOTONIC, &ev);
    CHECK(id >= 0, "TimerCreate (pulse)");
    memset(&ti, 0, sizeof ti);
    r = TimerInfo(getpid(), id, 0, &ti);
    CHECK(r == id, "TimerInfo returns the timer's id");
    CHECK((ti.flags & _NTO_TI_ACTIVE) == 0, "a new timer is not active");
    CHECK(ti.clockid == CLOCK_MONOTONIC, "TimerInfo: the clock");

    it.nsec = 10 * SEC;
    it.interval_nsec = 3 * SEC;
    CHECK(TimerSettime(id, 0, &it, NULL) == 0, "TimerSettime 10 s, period 3 s");
    memset(&ti, 0, sizeof ti);
    CHECK(TimerInfo(0, id, 0, &ti) == id, "TimerInfo(pid 0)");
    CHECK((ti.flags & _NTO_TI_ACTIVE) != 0, "an armed timer is active");
    CHECK(ti.itime.interval_nsec == 3 * SEC, "TimerInfo: the period in itime.interval_nsec");
    /* [OQ] ker_timer.c ker_timer_info: inp->itime = tip->itime (the absolute expiry on the
     * timer's clock, and the period); timer_remaining(tip, &inp->otime) (the time left). */
    {
        _Uint64t now = mono();
        CHECK(ti.otime.nsec > 8 * SEC && ti.otime.nsec <= 10 * SEC,
              "DEFECT TimerInfo: otime.nsec is the time left (about 10 s)");
        CHECK(ti.itime.nsec > now + 8 * SEC && ti.itime.nsec <= now + 10 * SEC,
              "DEFECT TimerInfo: itime.nsec is the absolute expiry (now + about 10 s)");
    }

    it.nsec = 20 * SEC;
    it.interval_nsec = 0;
    memset(&old, 0, sizeof old);
    CHECK(TimerSettime(id, 0, &it, &old) == 0, "TimerSettime over an armed timer");
    CHECK(old.nsec > 8 * SEC && old.nsec <= 10 * SEC, "oitime: the old time left");
    /* Absolute, with QNX's TIMER_ABSTIME bit. */
    it.nsec = mono() + 30 * MS;
    CHECK(TimerSettime(id, QNX_TIMER_ABSTIME, &it, &old) == 0,
          "TimerSettime with QNX's TIMER_ABSTIME (0x80000000)");
    CHECK(old.nsec > 18 * SEC && old.nsec <= 20 * SEC, "oitime of the re-arm");
    CHECK(recv_pulse(chid, &p, LONG_MS) == 0 && p.code == 70 && p.value.sival_int == 7070,
          "TimerCreate's pulse arrives");
    CHECK(TimerInfo(0, id, 0, &ti) == id && (ti.flags & _NTO_TI_ACTIVE) == 0,
          "an expired one-shot kernel timer is not active");
    /* Disarm: nsec 0. */
    it.nsec = 10 * SEC;
    TimerSettime(id, 0, &it, NULL);
    it.nsec = 0;
    CHECK(TimerSettime(id, 0, &it, &old) == 0 && old.nsec > 0, "TimerSettime(0) disarms");
    CHECK(TimerInfo(0, id, 0, &ti) == id && (ti.flags & _NTO_TI_ACTIVE) == 0,
          "a disarmed timer is not active");

    /* Errors and the _r forms. */
    errno = 0;
    CHECK(TimerInfo(0x7ffffff0, id, 0, &ti) == -1 && errno == ESRCH,
          "TimerInfo of no such process: ESRCH");
    errno = SENTINEL_ERRNO;
    CHECK(TimerInfo_r(0, -5, 0, &ti) == -EINVAL && errno == SENTINEL_ERRNO,
          "TimerInfo_r of no such timer: -EINVAL, errno untouched");
    errno = SENTINEL_ERRNO;
    CHECK(TimerSettime_r(-5, 0, &it, NULL) == -EINVAL && errno == SENTINEL_ERRNO,
          "TimerSettime_r of no such timer: -EINVAL, errno untouched");
    errno = 0;
    CHECK(TimerCreate(CLOCK_PROCESS_CPUTIME_ID, &ev) == -1 && errno == EINVAL,
          "TimerCreate on a CPU-time clock: EINVAL (QNX: MONOTONIC, REALTIME, SOFTTIME)");
    errno = SENTINEL_ERRNO;
    r = TimerCreate_r(99, &ev);
    CHECK(r == -EINVAL && errno == SENTINEL_ERRNO, "TimerCreate_r(clock 99): -EINVAL");
    {
        struct sigevent bad;
        SIGEV_PULSE_INIT(&bad, 0x3ffffff0, SIGEV_PULSE_PRIO_INHERIT, 1, 0);
        errno = SENTINEL_ERRNO;
        r = TimerCreate_r(CLOCK_MONOTONIC, &bad);
        CHECK(r < 0 && errno == SENTINEL_ERRNO,
              "TimerCreate_r with a pulse on no connection fails, errno untouched");
    }
    /* The same for timers: an event whose unused members are uninitialised. */
    {
        struct sigevent g;
        timer_t t;
        int k;
        memset(&g, 0x5a, sizeof g);
        SIGEV_SIGNAL_CODE_INIT(&g, SIGUSR1, 1, SI_MINAVAIL + 2);
        errno = 0;
        k = TimerCreate(CLOCK_MONOTONIC, &g);
        CHECK(k >= 0, "DEFECT TimerCreate accepts SIGEV_SIGNAL_CODE_INIT on an uninitialised "
                      "sigevent (sigev_priority unused)");
        if (k >= 0) {
            TimerDestroy(k);
        }
        memset(&g, 0x5a, sizeof g);
        SIGEV_UNBLOCK_INIT(&g);
        errno = 0;
        k = timer_create(CLOCK_MONOTONIC, &g, &t);
        CHECK(k == 0, "DEFECT timer_create accepts SIGEV_UNBLOCK_INIT on an uninitialised "
                      "sigevent");
        if (k == 0) {
            timer_delete(t);
        }
    }
    CHECK(TimerDestroy(id) == 0, "TimerDestroy");
    errno = 0;
    CHECK(TimerInfo(0, id, 0, &ti) == -1 && errno == EINVAL,
          "TimerInfo of a destroyed timer: EINVAL");
    errno = SENTINEL_ERRNO;
    CHECK(TimerDestroy_r(id) == -EINVAL && errno == SENTINEL_ERRNO,
          "TimerDestroy_r twice: -EINVAL, errno untouched");
    drain(chid);
}

/* TimerCreate with a NULL event: SIGALRM, and (POSIX, [OQ] ker_timer_create) the timer's id
 * as the signal's value, SI_TIMER as its code. */
static void test_null_event_timer(void) {
    struct _itimer it;
    int id;
    reset(&seen_alrm);
    install(SIGALRM, on_alrm);
    id = TimerCreate(CLOCK_MONOTONIC, NULL);
    CHECK(id >= 0, "TimerCreate with a NULL event");
    it.nsec = 10 * MS;
    it.interval_nsec = 0;
    CHECK(TimerSettime(id, 0, &it, NULL) == 0, "armed 10 ms");
    CHECK(wait_flag(&seen_alrm.hit, (int)LONG_MS), "the NULL-event timer sends SIGALRM");
    CHECK(seen_alrm.value == id,
          "DEFECT a NULL-event timer's SIGALRM carries the timer id as si_value");
    TimerDestroy(id);
    signal(SIGALRM, SIG_DFL); /* alarm() bounds the run again */
}

/* A SIGEV_SIGNAL_THREAD timer goes to the thread that armed it ([OQ] ker_timer_settime:
 * tip->thread = act). */
static int sigthread_timer;
static volatile sig_atomic_t sigthread_done;
static void *sigthread_armer(void *arg) {
    struct _itimer it;
    (void)arg;
    thread_tag = 2;
    it.nsec = 10 * MS;
    it.interval_nsec = 0;
    TimerSettime(sigthread_timer, 0, &it, NULL);
    wait_flag(&seen_usr2.hit, 2000);
    sigthread_done = 1;
    return NULL;
}

static void test_signal_thread_timer(void) {
    struct sigevent ev;
    pthread_t th;
    reset(&seen_usr2);
    install(SIGUSR2, on_usr2);
    memset(&ev, 0, sizeof ev);
    SIGEV_SIGNAL_THREAD_INIT(&ev, SIGUSR2, 321, SI_MINAVAIL + 1);
    sigthread_timer = TimerCreate(CLOCK_MONOTONIC, &ev);
    CHECK(sigthread_timer >= 0, "TimerCreate (SIGEV_SIGNAL_THREAD)");
    CHECK(pthread_create(&th, NULL, sigthread_armer, NULL) == 0, "the arming thread");
    wait_flag(&sigthread_done, 4000);
    pthread_join(th, NULL);
    CHECK(seen_usr2.hit, "the SIGEV_SIGNAL_THREAD timer's signal comes");
    CHECK(seen_usr2.code == SI_MINAVAIL + 1 && seen_usr2.value == 321,
          "with the event's si_code and si_value");
    CHECK(seen_usr2.tag == 2,
          "DEFECT the SIGEV_SIGNAL_THREAD timer's signal goes to the thread that armed it");
    TimerDestroy(sigthread_timer);
}

/* ------------------------------------------------------------------ TimerTimeout */

static volatile sig_atomic_t late_pulse_sent;
static void *late_pulser(void *arg) {
    (void)arg;
    delay(100);
    MsgSendPulse(coid2, -1, 9, 99);
    late_pulse_sent = 1;
    return NULL;
}

static volatile sig_atomic_t sleeper_go;
static void *sleeper(void *arg) {
    (void)arg;
    wait_flag(&sleeper_go, 1500);
    return NULL;
}

static void test_timer_timeout(void) {
    char buf[32];
    _Uint64t ns, t0, el;
    int r, prev;
    struct _pulse p;
    pthread_t th;

    /* NULL ntime: at once. */
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    t0 = mono();
    errno = 0;
    r = MsgReceive(chid2, buf, sizeof buf, NULL);
    CHECK(r == -1 && errno == ETIMEDOUT && mono() - t0 < SEC, "NULL ntime: ETIMEDOUT at once");

    /* Zero relative time: at once. */
    ns = 0;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    t0 = mono();
    errno = 0;
    r = MsgReceive(chid2, buf, sizeof buf, NULL);
    CHECK(r == -1 && errno == ETIMEDOUT && mono() - t0 < SEC, "ntime 0: ETIMEDOUT at once");

    /* Absolute, in the future (<time.h>'s TIMER_ABSTIME). */
    ns = mono() + 60 * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, NULL, &ns, NULL);
    errno = 0;
    r = MsgReceive(chid2, buf, sizeof buf, NULL);
    el = mono();
    CHECK(r == -1 && errno == ETIMEDOUT, "absolute ntime: ETIMEDOUT");
    CHECK(el + MS >= ns && el < ns + 3 * SEC, "at its time, not before");

    /* Absolute with QNX's bit. */
    ns = mono() + 40 * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE | QNX_TIMER_ABSTIME, NULL, &ns, NULL);
    errno = 0;
    r = MsgReceive(chid2, buf, sizeof buf, NULL);
    el = mono();
    CHECK(r == -1 && errno == ETIMEDOUT && el + MS >= ns,
          "absolute ntime with QNX's TIMER_ABSTIME: ETIMEDOUT at its time");

    /* Absolute, in the past: at once. */
    ns = mono() - 1 * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, NULL, &ns, NULL);
    t0 = mono();
    errno = 0;
    r = MsgReceive(chid2, buf, sizeof buf, NULL);
    CHECK(r == -1 && errno == ETIMEDOUT && mono() - t0 < SEC,
          "absolute ntime already past: ETIMEDOUT at once");

    /* Absolute on CLOCK_REALTIME. */
    ns = now_ns(CLOCK_REALTIME) + 50 * MS;
    t0 = mono();
    TimerTimeout(CLOCK_REALTIME, _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, NULL, &ns, NULL);
    errno = 0;
    r = MsgReceive(chid2, buf, sizeof buf, NULL);
    el = mono() - t0;
    CHECK(r == -1 && errno == ETIMEDOUT && el >= 40 * MS && el < 3 * SEC,
          "absolute ntime on CLOCK_REALTIME: ETIMEDOUT at about its time");

    /* An explicit SIGEV_UNBLOCK event is the NULL event. */
    {
        struct sigevent ev;
        memset(&ev, 0, sizeof ev);
        SIGEV_UNBLOCK_INIT(&ev);
        ns = 20 * MS;
        CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, &ev, &ns, NULL) != -1,
              "TimerTimeout with a (zeroed) SIGEV_UNBLOCK_INIT event");
        errno = 0;
        r = MsgReceive(chid2, buf, sizeof buf, NULL);
        CHECK(r == -1 && errno == ETIMEDOUT, "SIGEV_UNBLOCK event: ETIMEDOUT");
    }
    /* QNX's SIGEV_*_INIT macros set only the members their type uses (§1.4); QNX code
     * applies them to an uninitialised automatic struct sigevent, the canonical
     * "struct sigevent ev; SIGEV_UNBLOCK_INIT(&ev); TimerTimeout(..., &ev, ...)". The other
     * members (here the bytes an uninitialised stack leaves, 0x5a) mean nothing to the
     * kernel for that type. */
    {
        struct sigevent ev;
        memset(&ev, 0x5a, sizeof ev);
        SIGEV_UNBLOCK_INIT(&ev);
        ns = 20 * MS;
        errno = 0;
        r = TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, &ev, &ns, NULL);
        CHECK(r != -1,
              "DEFECT TimerTimeout accepts SIGEV_UNBLOCK_INIT on an uninitialised sigevent");
        if (r != -1) {
            errno = 0;
            r = MsgReceive(chid2, buf, sizeof buf, NULL);
            CHECK(r == -1 && errno == ETIMEDOUT,
                  "DEFECT and the receive times out (ETIMEDOUT) instead of blocking forever");
        }
    }

    /* The flags returned: those armed before (state bits). */
    ns = SEC;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    prev = TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    CHECK((prev & _NTO_TIMEOUT_MASK) == (_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY),
          "TimerTimeout returns the flags armed before");
    /* A kernel call in between spends the arming (one-shot): none is armed after it. */
    CHECK(MsgSendPulse(coid, -1, 3, 3) == 0, "a kernel call spends the arming");
    drain(chid);
    ns = 30 * MS;
    prev = TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    CHECK((prev & _NTO_TIMEOUT_MASK) == 0,
          "after a kernel call, TimerTimeout finds no arming left (returns 0)");
    errno = 0;
    r = MsgReceive(chid2, buf, sizeof buf, NULL);
    CHECK(r == -1 && errno == ETIMEDOUT, "the new arming holds for the receive");

    /* One-shot: an immediate arming spent by another call does not touch the receive after
     * it, which waits for a pulse sent 100 ms later. */
    late_pulse_sent = 0;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    CHECK(MsgSendPulse(coid, -1, 3, 3) == 0, "a kernel call after an immediate arming");
    drain(chid); /* (itself armed: it ends at once) */
    CHECK(pthread_create(&th, NULL, late_pulser, NULL) == 0, "a thread pulses in 100 ms");
    memset(&p, 0, sizeof p);
    t0 = mono();
    /* The arming is spent: this receive is bounded by the thread's pulse (and alarm()). */
    for (;;) {
        r = MsgReceivePulse(chid2, &p, sizeof p, NULL);
        if (!(r == -1 && errno == EINTR)) {
            break;
        }
    }
    CHECK(r == 0 && p.code == 9 && mono() - t0 >= 50 * MS,
          "the receive after the spent arming waits for the late pulse");
    pthread_join(th, NULL);

    /* flags 0 disarms an arming not yet spent. */
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    prev = TimerTimeout(CLOCK_MONOTONIC, 0, NULL, NULL, NULL);
    CHECK((prev & _NTO_TIMEOUT_MASK) == _NTO_TIMEOUT_RECEIVE,
          "TimerTimeout(0) returns the arming it removes");
    CHECK(pthread_create(&th, NULL, late_pulser, NULL) == 0, "a thread pulses in 100 ms");
    for (;;) {
        r = MsgReceivePulse(chid2, &p, sizeof p, NULL);
        if (!(r == -1 && errno == EINTR)) {
            break;
        }
    }
    CHECK(r == 0 && p.code == 9, "after TimerTimeout(0) the receive waits (no timeout)");
    pthread_join(th, NULL);

    /* Errors, _r. */
    errno = SENTINEL_ERRNO;
    ns = MS;
    CHECK(TimerTimeout_r(99, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL) == -EINVAL &&
              errno == SENTINEL_ERRNO,
          "TimerTimeout_r(clock 99): -EINVAL, errno untouched");
    errno = 0;
    CHECK(TimerTimeout(CLOCK_PROCESS_CPUTIME_ID, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL) == -1 &&
              errno == EINVAL,
          "TimerTimeout on a CPU-time clock: EINVAL");
    TimerTimeout(CLOCK_MONOTONIC, 0, NULL, NULL, NULL);

    /* [OQ] ker_timer.c ker_timer_timeout: with _NTO_TIMEOUT_NANOSLEEP the call itself blocks
     * in STATE_NANOSLEEP until ntime (the kernel side of nanosleep()). */
    {
        _Uint64t otime = 0;
        ns = 80 * MS;
        t0 = mono();
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_NANOSLEEP, NULL, &ns, &otime);
        el = mono() - t0;
        CHECK(el >= 70 * MS, "DEFECT TimerTimeout(_NTO_TIMEOUT_NANOSLEEP, 80 ms) sleeps 80 ms");
    }
    /* _NTO_TIMEOUT_JOIN (§1.7) bounds pthread_join (STATE_JOIN): ETIMEDOUT. */
    sleeper_go = 0;
    if (pthread_create(&th, NULL, sleeper, NULL) == 0) {
        ns = 50 * MS;
        t0 = mono();
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_JOIN, NULL, &ns, NULL);
        r = pthread_join(th, NULL);
        el = mono() - t0;
        CHECK(r == ETIMEDOUT && el < 1000 * MS,
              "DEFECT TimerTimeout(_NTO_TIMEOUT_JOIN, 50 ms) ends pthread_join with ETIMEDOUT");
        sleeper_go = 1;
        if (r != 0) {
            pthread_join(th, NULL);
        }
    }
}

/* ------------------------------------------------------------------ clocks, delay */

static volatile int usr1_target_tid;
static void *interrupter(void *arg) {
    (void)arg;
    thread_tag = 3;
    delay(100);
    SignalKill(0, getpid(), usr1_target_tid, SIGUSR1, SI_USER, 5);
    return NULL;
}

static void test_clocks_and_delay(void) {
    _Uint64t a = 0, b = 0, prev = 0;
    int i, back = 0;
    struct _clockperiod per;
    pthread_t th;
    _Uint64t t0, el;
    unsigned left;

    CHECK(ClockTime(CLOCK_REALTIME, NULL, &a) == 0, "ClockTime(CLOCK_REALTIME) reads");
    b = now_ns(CLOCK_REALTIME);
    CHECK(a <= b && b - a < SEC, "ClockTime(CLOCK_REALTIME) is the realtime clock");
    for (i = 0; i < 2000; i++) {
        _Uint64t c;
        ClockTime(CLOCK_MONOTONIC, NULL, &c);
        if (c < prev) {
            back++;
        }
        prev = c;
    }
    CHECK(back == 0, "ClockTime(CLOCK_MONOTONIC) never goes back");
    CHECK(ClockTime(CLOCK_REALTIME, NULL, NULL) == 0, "ClockTime with neither time: 0");
    errno = SENTINEL_ERRNO;
    CHECK(ClockTime_r(99, NULL, &a) == -EINVAL && errno == SENTINEL_ERRNO,
          "ClockTime_r(clock 99): -EINVAL, errno untouched");
    prev = ClockCycles();
    back = 0;
    for (i = 0; i < 2000; i++) {
        _Uint64t c = ClockCycles();
        if (c < prev) {
            back++;
        }
        prev = c;
    }
    CHECK(back == 0, "ClockCycles never goes back");
    memset(&per, 0, sizeof per);
    CHECK(ClockPeriod(CLOCK_REALTIME, NULL, &per, 0) == 0 && per.nsec > 0,
          "ClockPeriod reads a period");

    /* delay(). */
    t0 = mono();
    CHECK(delay(0) == 0 && mono() - t0 < SEC, "delay(0) returns 0 at once");
    t0 = mono();
    CHECK(delay(30) == 0, "delay(30) returns 0");
    CHECK(mono() - t0 >= 29 * MS, "delay(30) sleeps 30 ms");
    /* Interrupted by a handled signal: the milliseconds left (qnx-resmgr §6.2). */
    reset(&seen_usr1);
    install(SIGUSR1, on_usr1);
    usr1_target_tid = gettid();
    CHECK(pthread_create(&th, NULL, interrupter, NULL) == 0, "the interrupting thread");
    t0 = mono();
    left = delay(3000);
    el = mono() - t0;
    pthread_join(th, NULL);
    CHECK(seen_usr1.hit && seen_usr1.tag == 1, "SignalKill(tid) hits the sleeping thread");
    CHECK(el < 2500 * MS, "the signal ends the delay early");
    CHECK(left > 0 && left <= 3000 && left + el / MS >= 2900,
          "delay returns the milliseconds left");
    /* [OQ] ker_signal.c: SignalKill queues signo with kap->code and kap->value, SI_USER (0)
     * included (QNX's kill() is SignalKill(..., SI_USER, 0)). */
    CHECK(seen_usr1.code == SI_USER && seen_usr1.value == 5,
          "DEFECT SignalKill(code SI_USER, value 5): the handler sees SI_USER and 5");
}

/* ------------------------------------------------------------------ signal events, SignalKill */

struct evmsg {
    _Uint16t type;
    _Uint16t zero;
    struct sigevent ev;
};

static volatile int client_tid;
static volatile sig_atomic_t client_done;
static volatile sig_atomic_t client_may_go;
static struct seen *client_wait;

static void *event_client(void *arg) {
    struct evmsg *m = (struct evmsg *)arg;
    int c;
    _Uint64t ns = LONG_MS * MS;
    thread_tag = 4;
    client_tid = gettid();
    c = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    MsgSend(c, m, sizeof *m, NULL, 0);
    /* Waits for the event outside the kernel (its handler records this thread's tag). */
    wait_flag(&client_wait->hit, 3000);
    wait_flag(&client_may_go, 3000);
    ConnectDetach(c);
    client_done = 1;
    return NULL;
}

/* The client thread sends ev; main (the server) receives it, replies, delivers it. */
static int deliver_to_client(struct evmsg *m, struct seen *s) {
    pthread_t th;
    union {
        struct evmsg m;
        struct _pulse p;
    } in;
    int rcvid = -1, r = -1, tries;
    client_done = 0;
    client_may_go = 0;
    client_wait = s;
    if (pthread_create(&th, NULL, event_client, m) != 0) {
        return -1;
    }
    for (tries = 0; tries < 50; tries++) {
        arm_rx_ns(LONG_MS * MS);
        rcvid = MsgReceive(chid, &in, sizeof in, NULL);
        if (rcvid > 0 || !(rcvid == 0 || errno == EINTR)) {
            break;
        }
    }
    if (rcvid > 0) {
        MsgReply(rcvid, 0, NULL, 0);
        r = MsgDeliverEvent(rcvid, &in.m.ev);
    }
    wait_flag(&s->hit, 3000);
    client_may_go = 1;
    pthread_join(th, NULL);
    return r;
}

static void test_signal_events(void) {
    struct evmsg m;
    int r;

    /* SIGEV_SIGNAL_THREAD by MsgDeliverEvent: the client's thread, its code and value. */
    reset(&seen_usr2);
    install(SIGUSR2, on_usr2);
    memset(&m, 0, sizeof m);
    m.type = 0x300;
    SIGEV_SIGNAL_THREAD_INIT(&m.ev, SIGUSR2, 555, SI_MINAVAIL + 7);
    r = deliver_to_client(&m, &seen_usr2);
    CHECK(r == 0, "MsgDeliverEvent(SIGEV_SIGNAL_THREAD) returns 0");
    CHECK(seen_usr2.hit && seen_usr2.count == 1, "the signal comes, once");
    CHECK(seen_usr2.tag == 4, "to the client thread that sent the event");
    CHECK(seen_usr2.code == SI_MINAVAIL + 7 && seen_usr2.value == 555,
          "with the event's si_code and si_value");

    /* SIGEV_SIGNAL_CODE by MsgDeliverEvent: code and value. */
    reset(&seen_usr1);
    install(SIGUSR1, on_usr1);
    memset(&m, 0, sizeof m);
    m.type = 0x300;
    SIGEV_SIGNAL_CODE_INIT(&m.ev, SIGUSR1, 666, SI_MINAVAIL + 8);
    r = deliver_to_client(&m, &seen_usr1);
    CHECK(r == 0, "MsgDeliverEvent(SIGEV_SIGNAL_CODE) returns 0");
    CHECK(seen_usr1.hit && seen_usr1.code == SI_MINAVAIL + 8 && seen_usr1.value == 666,
          "SIGEV_SIGNAL_CODE's signal with its si_code and si_value");

    /* A bad signal number: EINVAL (§2.9). */
    {
        struct sigevent bad;
        memset(&bad, 0, sizeof bad);
        SIGEV_SIGNAL_THREAD_INIT(&bad, 1000, 0, SI_MINAVAIL);
        errno = 0;
        CHECK(MsgDeliverEvent(0, &bad) == -1 && errno == EINVAL,
              "MsgDeliverEvent of signal 1000: EINVAL");
        errno = SENTINEL_ERRNO;
        CHECK(MsgDeliverEvent_r(0, &bad) == -EINVAL && errno == SENTINEL_ERRNO,
              "MsgDeliverEvent_r of signal 1000: -EINVAL, errno untouched");
    }
}

static volatile int target_tid;
static volatile sig_atomic_t target_stop;
static void *signal_target(void *arg) {
    (void)arg;
    thread_tag = 5;
    target_tid = gettid();
    wait_flag(&target_stop, 5000);
    return NULL;
}

static void test_signal_kill(void) {
    pthread_t th;
    _Uint64t until;
    reset(&seen_usr1);
    install(SIGUSR1, on_usr1);
    target_tid = 0;
    target_stop = 0;
    CHECK(pthread_create(&th, NULL, signal_target, NULL) == 0, "a target thread");
    until = mono() + LONG_MS * MS;
    while (target_tid == 0 && mono() < until) {
        delay(2);
    }
    CHECK(SignalKill(ND_LOCAL_NODE, getpid(), target_tid, SIGUSR1, SI_MINAVAIL + 3, 4242) == 0,
          "SignalKill to a thread with a code and a value");
    CHECK(wait_flag(&seen_usr1.hit, (int)LONG_MS), "its handler runs");
    CHECK(seen_usr1.tag == 5, "on the thread named");
    CHECK(seen_usr1.code == SI_MINAVAIL + 3 && seen_usr1.value == 4242,
          "with SignalKill's code and value");

    /* To the process (tid 0): some thread of it runs the handler. */
    reset(&seen_usr1);
    CHECK(SignalKill(ND_LOCAL_NODE, getpid(), 0, SIGUSR1, SI_MINAVAIL + 4, 17) == 0,
          "SignalKill to the process");
    CHECK(wait_flag(&seen_usr1.hit, (int)LONG_MS) && seen_usr1.value == 17 &&
              seen_usr1.code == SI_MINAVAIL + 4,
          "its handler runs with the code and value");
    reset(&seen_usr1);
    CHECK(SignalKill(ND_LOCAL_NODE, getpid(), 0, SIGUSR1, SI_USER, 18) == 0,
          "SignalKill to the process with SI_USER");
    CHECK(wait_flag(&seen_usr1.hit, (int)LONG_MS), "its handler runs");
    CHECK(seen_usr1.code == SI_USER && seen_usr1.value == 18,
          "DEFECT SignalKill(code SI_USER, value 18): the handler sees SI_USER and 18");

    /* Signal 0: a check of the target only. */
    reset(&seen_usr1);
    CHECK(SignalKill(ND_LOCAL_NODE, getpid(), target_tid, 0, SI_USER, 0) == 0,
          "SignalKill with signal 0 checks the thread");
    errno = SENTINEL_ERRNO;
    CHECK(SignalKill_r(ND_LOCAL_NODE, getpid(), 100000, SIGUSR1, SI_USER, 0) == -ESRCH &&
              errno == SENTINEL_ERRNO,
          "SignalKill_r to no such thread: -ESRCH, errno untouched");
    errno = SENTINEL_ERRNO;
    CHECK(SignalKill_r(ND_LOCAL_NODE, getpid(), 0, 65, SI_USER, 0) == -EINVAL &&
              errno == SENTINEL_ERRNO,
          "SignalKill_r of signal 65: -EINVAL, errno untouched");
    /* [OQ] ker_signal.c do_ker_signal_kill: "if((signo > _SIGMAX) || (kap->code > SI_USER))
     * return EINVAL" -- codes above SI_USER (0) are the kernel's. */
    reset(&seen_usr1);
    errno = 0;
    CHECK(SignalKill(ND_LOCAL_NODE, getpid(), target_tid, SIGUSR1, 5, 0) == -1 &&
              errno == EINVAL,
          "DEFECT SignalKill with a code above SI_USER (5): EINVAL");
    wait_flag(&seen_usr1.hit, 200);
    target_stop = 1;
    pthread_join(th, NULL);
}

/* ------------------------------------------------------------------ main */

int main(void) {
    sigset_t none;
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(300); /* the bound on the whole run */
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    thread_tag = 1;
    chid = ChannelCreate(0);
    coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    chid2 = ChannelCreate(0);
    coid2 = ConnectAttach(ND_LOCAL_NODE, 0, chid2, _NTO_SIDE_CHANNEL, 0);
    CHECK(chid > 0 && coid > 0 && chid2 > 0 && coid2 > 0, "channels and connections");

    printf("-- %s\n", "test_sigevent_macros");
    test_sigevent_macros();
    printf("-- %s\n", "test_pulse_timer");
    test_pulse_timer();
    printf("-- %s\n", "test_periodic");
    test_periodic();
    printf("-- %s\n", "test_delete_queued");
    test_delete_queued();
    printf("-- %s\n", "test_kernel_timers");
    test_kernel_timers();
    printf("-- %s\n", "test_null_event_timer");
    test_null_event_timer();
    printf("-- %s\n", "test_signal_thread_timer");
    test_signal_thread_timer();
    printf("-- %s\n", "test_timer_timeout");
    test_timer_timeout();
    printf("-- %s\n", "test_clocks_and_delay");
    test_clocks_and_delay();
    printf("-- %s\n", "test_signal_events");
    test_signal_events();
    printf("-- %s\n", "test_signal_kill");
    test_signal_kill();
    return SUMMARY();
}
