/*
 * clock_suite.c: the timing and ability calls QNX drivers and applications use:
 * ClockCycles (monotonic, advancing, at the rate SYSPAGE_ENTRY(qtime)->cycles_per_sec says,
 * CLOCK_MONOTONIC_RAW itself), the system page (_syspage_ptr valid in a constructor before
 * main, num_cpu, boot_time, read-only), ClockTime and ClockPeriod (both clocks, every errno,
 * the _r forms, errno left alone on success), and procmgr_ability (the lists accepted, every
 * error, the walk's bound).
 *
 * With no argument: the suite. With "cycles": prints one ClockCycles() value and exits (the
 * test compares it with its own CLOCK_MONOTONIC_RAW, read before and after: the same counter
 * in every program).
 *
 * Nothing here is timed tightly: the rate is checked against clock_gettime readings that
 * bracket each ClockCycles reading, so a preempted test only widens the bracket.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/procmgr.h>
#include <sys/resource.h>
#include <sys/syspage.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define NS 1000000000ULL
#define SENTINEL_ERRNO 4321
#define SENTINEL_U64 0x5a5a5a5a5a5a5a5aULL

/* ------------------------------------------------------------------ helpers */

static _Uint64t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (_Uint64t)ts.tv_sec * NS + (_Uint64t)ts.tv_nsec;
}

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* What the system page said in a constructor, before main. */
static int early_valid;
static unsigned early_num_cpu;
static _Uint64t early_cycles_per_sec;
static _Uint32t early_boot_time;

__attribute__((constructor)) static void read_syspage_early(void) {
    if (_syspage_ptr != NULL) {
        early_valid = 1;
        early_num_cpu = _syspage_ptr->num_cpu;
        early_cycles_per_sec = SYSPAGE_ENTRY(qtime)->cycles_per_sec;
        early_boot_time = SYSPAGE_ENTRY(qtime)->boot_time;
    }
}

/* /proc/stat's btime, or 0. */
static unsigned long long proc_btime(void) {
    char line[512];
    unsigned long long v = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "btime ", 6) == 0) {
            v = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* /proc/uptime's first number, in whole seconds, or -1. */
static long long proc_uptime(void) {
    double up = -1;
    FILE *f = fopen("/proc/uptime", "r");
    if (f == NULL) {
        return -1;
    }
    if (fscanf(f, "%lf", &up) != 1) {
        up = -1;
    }
    fclose(f);
    return (long long)up;
}

/* Whether a child that writes to the system page dies of SIGSEGV (which = 0: num_cpu through
 * _syspage_ptr; 1: boot_time through SYSPAGE_ENTRY). */
static int write_faults(int which) {
    int status = 0;
    pid_t child = fork();
    if (child == 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none); /* no core file for the expected fault */
        alarm(10);
        if (which == 0) {
            ((volatile struct syspage_entry *)_syspage_ptr)->num_cpu = 99;
        } else {
            ((volatile struct qtime_entry *)SYSPAGE_ENTRY(qtime))->boot_time = 99;
        }
        _exit(0); /* the write went through */
    }
    if (child < 0 || waitpid(child, &status, 0) != child) {
        return 0;
    }
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

/* ------------------------------------------------------------------ ClockCycles */

static void test_clock_cycles(void) {
    _Uint64t prev = ClockCycles();
    int backwards = 0;
    int i;
    for (i = 0; i < 100000; i++) {
        _Uint64t c = ClockCycles();
        if (c < prev) {
            backwards++;
        }
        prev = c;
    }
    CHECK(backwards == 0, "ClockCycles never goes backwards (100000 readings)");

    _Uint64t a = ClockCycles();
    sleep_ms(2);
    _Uint64t b = ClockCycles();
    CHECK(b > a, "ClockCycles advances across a 2 ms sleep");
    CHECK(b - a >= 2000000ULL, "ClockCycles advances at least 2 ms' worth across a 2 ms sleep");

    /* It is CLOCK_MONOTONIC_RAW in ns: bracketed by two readings of it. */
    _Uint64t r0 = clock_ns(CLOCK_MONOTONIC_RAW);
    _Uint64t c = ClockCycles();
    _Uint64t r1 = clock_ns(CLOCK_MONOTONIC_RAW);
    CHECK(r0 <= c && c <= r1, "ClockCycles lies between two CLOCK_MONOTONIC_RAW readings");

    /* Its rate, scaled by cycles_per_sec, against CLOCK_MONOTONIC over ~50 ms: each reading
     * bracketed, so preemption widens the bounds instead of failing the check; the slack
     * covers NTP's slew of CLOCK_MONOTONIC (at most 0.05%) many times over. */
    _Uint64t cps = SYSPAGE_ENTRY(qtime)->cycles_per_sec;
    _Uint64t t0a = clock_ns(CLOCK_MONOTONIC);
    _Uint64t c0 = ClockCycles();
    _Uint64t t0b = clock_ns(CLOCK_MONOTONIC);
    sleep_ms(50);
    _Uint64t t1a = clock_ns(CLOCK_MONOTONIC);
    _Uint64t c1 = ClockCycles();
    _Uint64t t1b = clock_ns(CLOCK_MONOTONIC);
    CHECK(cps != 0, "cycles_per_sec is not 0");
    if (cps != 0) {
        double elapsed = (double)(c1 - c0) * 1e9 / (double)cps;
        double lo = (double)(t1a - t0b), hi = (double)(t1b - t0a);
        CHECK(elapsed >= lo * 0.99 - 100000.0,
              "ClockCycles' rate (by cycles_per_sec) is not below CLOCK_MONOTONIC's");
        CHECK(elapsed <= hi * 1.01 + 100000.0,
              "ClockCycles' rate (by cycles_per_sec) is not above CLOCK_MONOTONIC's");
        CHECK(elapsed >= 45e6, "ClockCycles counted about the 50 ms slept");
    }
}

/* ------------------------------------------------------------------ the system page */

static void test_syspage(void) {
    CHECK(early_valid, "_syspage_ptr is set in a constructor, before main");
    CHECK(_syspage_ptr != NULL, "_syspage_ptr is set");
    if (_syspage_ptr == NULL) {
        return;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(online > 0 && _syspage_ptr->num_cpu == (unsigned)online,
          "num_cpu is sysconf(_SC_NPROCESSORS_ONLN)");
    CHECK(early_num_cpu == _syspage_ptr->num_cpu, "num_cpu is already right before main");
    CHECK(SYSPAGE_ENTRY(qtime)->cycles_per_sec == 1000000000ULL,
          "cycles_per_sec is 1000000000 (ClockCycles counts ns)");
    CHECK(early_cycles_per_sec == 1000000000ULL, "cycles_per_sec is already right before main");
    CHECK(_syspage_ptr->size == sizeof(struct syspage_entry), "size is sizeof(syspage_entry)");
    CHECK(SYSPAGE_ENTRY_SIZE(qtime) == sizeof(struct qtime_entry),
          "the qtime entry's size is sizeof(qtime_entry)");
    CHECK(_syspage_ptr->qtime.entry_off >= sizeof(struct syspage_entry),
          "the qtime entry lies after the header");
    CHECK(_syspage_ptr->total_size >= _syspage_ptr->qtime.entry_off + sizeof(struct qtime_entry),
          "total_size covers the qtime entry");

    _Uint32t boot = SYSPAGE_ENTRY(qtime)->boot_time;
    unsigned long long btime = proc_btime();
    CHECK(btime != 0 && boot == btime, "boot_time is /proc/stat's btime");
    CHECK(early_boot_time == boot, "boot_time is already right before main");
    long long up = proc_uptime();
    long long expected = (long long)time(NULL) - up;
    long long diff = (long long)boot - expected;
    CHECK(up >= 0 && diff < 86400 && diff > -86400,
          "boot_time is within a day of now minus /proc/uptime");

    CHECK(write_faults(0), "writing num_cpu through _syspage_ptr is a SIGSEGV (read-only)");
    CHECK(write_faults(1), "writing boot_time through SYSPAGE_ENTRY is a SIGSEGV (read-only)");
    CHECK(_syspage_ptr->num_cpu == (unsigned)online, "num_cpu unchanged after the writes");
}

/* ------------------------------------------------------------------ ClockTime */

static void test_clock_time(void) {
    static const clockid_t clocks[2] = {CLOCK_REALTIME, CLOCK_MONOTONIC};
    static const char *const names[2] = {"CLOCK_REALTIME", "CLOCK_MONOTONIC"};
    char what[128];
    int i;
    for (i = 0; i < 2; i++) {
        _Uint64t t = SENTINEL_U64;
        _Uint64t before = clock_ns(clocks[i]);
        errno = SENTINEL_ERRNO;
        int r = ClockTime(clocks[i], NULL, &t);
        int e = errno;
        _Uint64t after = clock_ns(clocks[i]);
        snprintf(what, sizeof what, "ClockTime(%s, NULL, &t) returns 0", names[i]);
        CHECK(r == 0, what);
        snprintf(what, sizeof what, "ClockTime(%s) leaves errno alone on success", names[i]);
        CHECK(e == SENTINEL_ERRNO, what);
        snprintf(what, sizeof what, "ClockTime(%s)'s time lies between clock_gettime's",
                 names[i]);
        CHECK(before <= t && t <= after, what);

        t = SENTINEL_U64;
        before = clock_ns(clocks[i]);
        errno = SENTINEL_ERRNO;
        r = ClockTime_r(clocks[i], NULL, &t);
        e = errno;
        after = clock_ns(clocks[i]);
        snprintf(what, sizeof what, "ClockTime_r(%s) returns EOK with the time", names[i]);
        CHECK(r == EOK && before <= t && t <= after, what);
        snprintf(what, sizeof what, "ClockTime_r(%s) leaves errno alone", names[i]);
        CHECK(e == SENTINEL_ERRNO, what);

        snprintf(what, sizeof what, "ClockTime(%s, NULL, NULL) is a no-op returning 0",
                 names[i]);
        CHECK(ClockTime(clocks[i], NULL, NULL) == 0, what);
    }

    /* Clocks other than these two. */
    static const clockid_t bad[4] = {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, -1,
                                     12345};
    for (i = 0; i < 4; i++) {
        _Uint64t t = SENTINEL_U64;
        errno = 0;
        int r = ClockTime(bad[i], NULL, &t);
        snprintf(what, sizeof what, "ClockTime(clock %d) is -1 EINVAL", (int)bad[i]);
        CHECK(r == -1 && errno == EINVAL, what);
        snprintf(what, sizeof what, "ClockTime(clock %d) writes nothing", (int)bad[i]);
        CHECK(t == SENTINEL_U64, what);
        errno = SENTINEL_ERRNO;
        r = ClockTime_r(bad[i], NULL, &t);
        snprintf(what, sizeof what, "ClockTime_r(clock %d) is -EINVAL, errno alone",
                 (int)bad[i]);
        CHECK(r == -EINVAL && errno == SENTINEL_ERRNO && t == SENTINEL_U64, what);
    }

    /* Setting CLOCK_MONOTONIC. */
    {
        _Uint64t t = SENTINEL_U64;
        _Uint64t set = clock_ns(CLOCK_MONOTONIC);
        errno = 0;
        int r = ClockTime(CLOCK_MONOTONIC, &set, &t);
        CHECK(r == -1 && errno == EINVAL, "setting CLOCK_MONOTONIC is -1 EINVAL");
        CHECK(t == SENTINEL_U64, "a failed ClockTime writes no old time");
        errno = SENTINEL_ERRNO;
        r = ClockTime_r(CLOCK_MONOTONIC, &set, NULL);
        CHECK(r == -EINVAL && errno == SENTINEL_ERRNO,
              "ClockTime_r setting CLOCK_MONOTONIC is -EINVAL, errno alone");
    }

    /* Setting CLOCK_REALTIME unprivileged: EPERM (as root it would set the clock: not done). */
    if (geteuid() != 0) {
        _Uint64t t = SENTINEL_U64;
        _Uint64t set = clock_ns(CLOCK_REALTIME); /* now: harmless if it went through */
        errno = 0;
        int r = ClockTime(CLOCK_REALTIME, &set, &t);
        CHECK(r == -1 && errno == EPERM, "setting CLOCK_REALTIME unprivileged is -1 EPERM");
        CHECK(t == SENTINEL_U64, "a refused set writes no old time");
        errno = SENTINEL_ERRNO;
        set = clock_ns(CLOCK_REALTIME);
        r = ClockTime_r(CLOCK_REALTIME, &set, NULL);
        CHECK(r == -EPERM && errno == SENTINEL_ERRNO,
              "ClockTime_r setting CLOCK_REALTIME unprivileged is -EPERM, errno alone");
    } else {
        printf("skipped: setting CLOCK_REALTIME (running as root)\n");
    }
}

/* ------------------------------------------------------------------ ClockPeriod */

static void test_clock_period(void) {
    static const clockid_t clocks[2] = {CLOCK_REALTIME, CLOCK_MONOTONIC};
    static const char *const names[2] = {"CLOCK_REALTIME", "CLOCK_MONOTONIC"};
    char what[128];
    int i;
    for (i = 0; i < 2; i++) {
        struct timespec res;
        struct _clockperiod p;
        p.nsec = 0xdeadbeefu;
        p.fract = 77;
        clock_getres(clocks[i], &res);
        errno = SENTINEL_ERRNO;
        int r = ClockPeriod(clocks[i], NULL, &p, 0);
        int e = errno;
        snprintf(what, sizeof what, "ClockPeriod(%s, NULL, &p, 0) returns 0", names[i]);
        CHECK(r == 0, what);
        snprintf(what, sizeof what, "ClockPeriod(%s) leaves errno alone on success", names[i]);
        CHECK(e == SENTINEL_ERRNO, what);
        snprintf(what, sizeof what, "ClockPeriod(%s)'s nsec is clock_getres's, fract 0",
                 names[i]);
        CHECK(res.tv_sec == 0 && p.nsec == (_Uint32t)res.tv_nsec && p.fract == 0, what);

        p.nsec = 0xdeadbeefu;
        errno = SENTINEL_ERRNO;
        r = ClockPeriod_r(clocks[i], NULL, &p, 0);
        snprintf(what, sizeof what, "ClockPeriod_r(%s) returns EOK with the period, errno alone",
                 names[i]);
        CHECK(r == EOK && p.nsec == (_Uint32t)res.tv_nsec && errno == SENTINEL_ERRNO, what);

        snprintf(what, sizeof what, "ClockPeriod(%s, NULL, NULL, 0) is a no-op returning 0",
                 names[i]);
        CHECK(ClockPeriod(clocks[i], NULL, NULL, 0) == 0, what);

        /* A new period: EPERM, nothing written. */
        struct _clockperiod n;
        n.nsec = 500000;
        n.fract = 0;
        p.nsec = 0xdeadbeefu;
        errno = 0;
        r = ClockPeriod(clocks[i], &n, &p, 0);
        snprintf(what, sizeof what, "setting %s's period is -1 EPERM", names[i]);
        CHECK(r == -1 && errno == EPERM, what);
        snprintf(what, sizeof what, "a refused ClockPeriod(%s) writes no old period", names[i]);
        CHECK(p.nsec == 0xdeadbeefu, what);
        errno = SENTINEL_ERRNO;
        r = ClockPeriod_r(clocks[i], &n, NULL, 0);
        snprintf(what, sizeof what, "ClockPeriod_r setting %s's period is -EPERM, errno alone",
                 names[i]);
        CHECK(r == -EPERM && errno == SENTINEL_ERRNO, what);
    }

    static const clockid_t bad[3] = {CLOCK_PROCESS_CPUTIME_ID, -1, 12345};
    for (i = 0; i < 3; i++) {
        struct _clockperiod p, n;
        p.nsec = 0xdeadbeefu;
        n.nsec = 500000;
        n.fract = 0;
        errno = 0;
        int r = ClockPeriod(bad[i], NULL, &p, 0);
        snprintf(what, sizeof what, "ClockPeriod(clock %d) is -1 EINVAL, nothing written",
                 (int)bad[i]);
        CHECK(r == -1 && errno == EINVAL && p.nsec == 0xdeadbeefu, what);
        errno = 0;
        r = ClockPeriod(bad[i], &n, NULL, 0);
        snprintf(what, sizeof what, "ClockPeriod(clock %d) with a new period is EINVAL first",
                 (int)bad[i]);
        CHECK(r == -1 && errno == EINVAL, what);
        errno = SENTINEL_ERRNO;
        r = ClockPeriod_r(bad[i], NULL, &p, 0);
        snprintf(what, sizeof what, "ClockPeriod_r(clock %d) is -EINVAL, errno alone",
                 (int)bad[i]);
        CHECK(r == -EINVAL && errno == SENTINEL_ERRNO, what);
    }
}

/* ------------------------------------------------------------------ procmgr_ability */

#define W PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_PRIORITY
#define W4 W, W, W, W
#define W16 W4, W4, W4, W4
#define W64 W16, W16, W16, W16
#define W256 W64, W64, W64, W64
#define W1023 W256, W256, W256, W64, W64, W64, W16, W16, W16, W4, W4, W4, W, W, W
#define W1024 W1023, W

static void test_procmgr_ability(void) {
    static const unsigned ids[] = {
        PROCMGR_AID_SPAWN_SETUID, PROCMGR_AID_SPAWN_SETGID, PROCMGR_AID_SETUID,
        PROCMGR_AID_SETGID, PROCMGR_AID_GETID, PROCMGR_AID_PATHSPACE, PROCMGR_AID_REBOOT,
        PROCMGR_AID_CPUMODE, PROCMGR_AID_RUNSTATE, PROCMGR_AID_CONFSET, PROCMGR_AID_RSRCDBMGR,
        PROCMGR_AID_SESSION, PROCMGR_AID_UMASK, PROCMGR_AID_EVENT, PROCMGR_AID_RLIMIT,
        PROCMGR_AID_MEM_ADD, PROCMGR_AID_MEM_PHYS, PROCMGR_AID_MEM_SPECIAL,
        PROCMGR_AID_MEM_GLOBAL, PROCMGR_AID_MEM_PEER, PROCMGR_AID_MEM_LOCK, PROCMGR_AID_SPAWN,
        PROCMGR_AID_FORK, PROCMGR_AID_PROT_EXEC, PROCMGR_AID_WAIT, PROCMGR_AID_V86,
        PROCMGR_AID_QNET, PROCMGR_AID_CLOCKSET, PROCMGR_AID_CLOCKPERIOD, PROCMGR_AID_INTERRUPT,
        PROCMGR_AID_KEYDATA, PROCMGR_AID_IO, PROCMGR_AID_TRACE, PROCMGR_AID_PRIORITY,
        PROCMGR_AID_CONNECTION, PROCMGR_AID_SCHEDULE, PROCMGR_AID_SIGNAL, PROCMGR_AID_TIMER,
        PROCMGR_AID_PGRP, PROCMGR_AID_MAP_FIXED, PROCMGR_AID_PATH_TRUST, PROCMGR_AID_SWAP,
        PROCMGR_AID_RCONSTRAINT, PROCMGR_AID_CHILD_NEWAPP, PROCMGR_AID_PUBLIC_CHANNEL,
        PROCMGR_AID_APS_ROOT, PROCMGR_AID_ABLE_CREATE, PROCMGR_AID_RUNSTATE_BURST,
        PROCMGR_AID_DEFAULT_TIMER_TOLERANCE, PROCMGR_AID_XTHREAD_THREADCTL,
        PROCMGR_AID_XPROCESS_QUERY, PROCMGR_AID_CHROOT, PROCMGR_AID_POWER,
        PROCMGR_AID_PROT_WRITE_AND_EXEC, PROCMGR_AID_SRANDOM, PROCMGR_AID_SANDBOX,
        PROCMGR_AID_QVM, PROCMGR_AID_RLIMIT_PEER, PROCMGR_AID_CHANNEL_CONNECT,
        PROCMGR_AID_MAC_POLICY, PROCMGR_AID_SETTYPEID, PROCMGR_AID_ABLE_PRIV,
        PROCMGR_AID_XPROCESS_ABLE, PROCMGR_AID_INTERRUPTEVENT, PROCMGR_AID_XPROCESS_DEBUG,
        PROCMGR_AID_XPROCESS_MEM_READ, PROCMGR_AID_HIGH_RESOLUTION_TIMER,
        PROCMGR_AID_SERVER_MONITOR, PROCMGR_AID_SIGEV_THREAD, PROCMGR_AID_PRIVREG};
    const unsigned all = PROCMGR_ADN_ROOT | PROCMGR_ADN_NONROOT;
    char what[160];
    size_t i;
    int r;

    /* The constants' values (QNX 7.1's), a few of each kind. */
    CHECK(PROCMGR_AID_EOL == 0xffffu && PROCMGR_AOP_DENY == 0x10000u &&
              PROCMGR_AOP_ALLOW == 0x20000u && PROCMGR_AOP_SUBRANGE == 0x40000u &&
              PROCMGR_AOP_LOCK == 0x80000u && PROCMGR_AOP_INHERIT_YES == 0x400000u &&
              PROCMGR_AOP_INHERIT_NO == 0x800000u && PROCMGR_ADN_ROOT == 0x10000000u &&
              PROCMGR_ADN_NONROOT == 0x20000000u,
          "the PROCMGR_AOP_*, PROCMGR_ADN_* and PROCMGR_AID_EOL values are QNX's");
    CHECK(PROCMGR_AID_SPAWN_SETUID == 0 && PROCMGR_AID_IO == 31 && PROCMGR_AID_INTERRUPT == 29 &&
              PROCMGR_AID_CLOCKPERIOD == 28 && PROCMGR_AID_PUBLIC_CHANNEL == 44 &&
              PROCMGR_AID_INTERRUPTEVENT == 63 && PROCMGR_AID_XPROCESS_DEBUG == 64,
          "the PROCMGR_AID_* values are QNX's");

    /* Accepted lists. */
    errno = SENTINEL_ERRNO;
    r = procmgr_ability(0, PROCMGR_ADN_ROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_CLOCKPERIOD,
                        PROCMGR_AID_EOL);
    CHECK(r == EOK, "procmgr_ability(0, ROOT|ALLOW|CLOCKPERIOD, EOL) is EOK");
    CHECK(errno == SENTINEL_ERRNO, "procmgr_ability leaves errno alone on success");
    r = procmgr_ability(getpid(), PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_IO,
                        PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_INTERRUPT,
                        PROCMGR_AID_EOL);
    CHECK(r == EOK, "procmgr_ability(getpid(), IO, INTERRUPT, EOL) is EOK");
    CHECK(procmgr_ability(0, PROCMGR_AID_EOL) == EOK, "an empty list (EOL alone) is EOK");
    CHECK(procmgr_ability(0, PROCMGR_ADN_NONROOT | PROCMGR_AOP_DENY | PROCMGR_AOP_LOCK |
                                 PROCMGR_AID_EOL) == EOK,
          "EOL with NONROOT|DENY|LOCK (drop the rest) is EOK");
    CHECK(procmgr_ability(0,
                          PROCMGR_ADN_NONROOT | PROCMGR_AOP_DENY | PROCMGR_AOP_LOCK |
                              PROCMGR_AID_SPAWN_SETUID,
                          PROCMGR_AID_EOL) == EOK,
          "NONROOT|DENY|LOCK|SPAWN_SETUID is EOK");
    r = procmgr_ability(0,
                        PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AOP_SUBRANGE |
                            PROCMGR_AID_SPAWN_SETUID,
                        (_Uint64t)800, (_Uint64t)899,
                        PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_PRIORITY,
                        PROCMGR_AID_EOL);
    CHECK(r == EOK, "a subrange's two uint64_t are skipped, the next word read (EOK)");
    r = procmgr_ability(0,
                        PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AOP_SUBRANGE |
                            PROCMGR_AID_PRIORITY,
                        (_Uint64t)10, (_Uint64t)10, PROCMGR_AID_EOL);
    CHECK(r == EOK, "a one-value subrange (lower == upper) is EOK");
    r = procmgr_ability(0, all | PROCMGR_AOP_INHERIT_YES | PROCMGR_AID_TRACE,
                        all | PROCMGR_AOP_INHERIT_NO | PROCMGR_AID_TRACE,
                        all | PROCMGR_AOP_LOCK | PROCMGR_AID_TRACE, PROCMGR_AID_EOL);
    CHECK(r == EOK, "INHERIT_YES, INHERIT_NO and LOCK alone are operations (EOK)");
    int refused = 0;
    for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (procmgr_ability(0, all | PROCMGR_AOP_ALLOW | PROCMGR_AOP_INHERIT_YES | ids[i],
                            PROCMGR_AID_EOL) != EOK) {
            printf("ability %u refused\n", ids[i]);
            refused++;
        }
    }
    CHECK(refused == 0, "every PROCMGR_AID_* the header defines is accepted");
    r = procmgr_ability(0, W1023, PROCMGR_AID_EOL);
    CHECK(r == EOK, "a list of 1023 abilities and EOL (1024 words) is EOK");

    /* Whose abilities. */
    errno = SENTINEL_ERRNO;
    r = procmgr_ability(getppid(), W, PROCMGR_AID_EOL);
    CHECK(r == EPERM, "another (existing) process's pid is EPERM");
    CHECK(errno == SENTINEL_ERRNO, "procmgr_ability leaves errno alone on failure");
    r = procmgr_ability(1, W, PROCMGR_AID_EOL);
    CHECK(r == EPERM, "pid 1 (another process) is EPERM");
    pid_t gone = fork();
    if (gone == 0) {
        _exit(0);
    }
    if (gone > 0) {
        waitpid(gone, NULL, 0);
        r = procmgr_ability(gone, W, PROCMGR_AID_EOL);
        CHECK(r == ESRCH, "a pid no process has (a reaped child's) is ESRCH");
    } else {
        CHECK(0, "fork for the ESRCH check");
    }
    CHECK(procmgr_ability(-5, W, PROCMGR_AID_EOL) == ESRCH, "a negative pid is ESRCH");

    /* Malformed words. */
    struct {
        unsigned word;
        const char *what;
    } bad[] = {
        {W | 0x00200000u, "an undefined operation bit (0x00200000)"},
        {W | 0x01000000u, "an undefined bit (0x01000000)"},
        {W | 0x40000000u, "QNX's internal bit 0x40000000"},
        {W | 0x80000000u, "QNX's internal bit 0x80000000"},
        {W | PROCMGR_AID_UNCREATED, "PROCMGR_AID_UNCREATED"},
        {W | PROCMGR_AOP_DENY, "DENY with ALLOW"},
        {W | PROCMGR_AOP_INHERIT_YES | PROCMGR_AOP_INHERIT_NO, "INHERIT_YES with INHERIT_NO"},
        {PROCMGR_AOP_ALLOW | PROCMGR_AID_PRIORITY, "an ability with no domain"},
        {PROCMGR_ADN_NONROOT | PROCMGR_AID_PRIORITY, "an ability with no operation"},
        {PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | 67u, "an unassigned identifier (67)"},
        {PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | (PROCMGR_AID_MAX + 1), "PROCMGR_AID_MAX + 1"},
        {PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | 0x1234u, "an identifier of no ability"},
    };
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = SENTINEL_ERRNO;
        r = procmgr_ability(0, bad[i].word, PROCMGR_AID_EOL);
        snprintf(what, sizeof what, "%s is EINVAL, errno alone", bad[i].what);
        CHECK(r == EINVAL && errno == SENTINEL_ERRNO, what);
        r = procmgr_ability(0, W, bad[i].word, PROCMGR_AID_EOL);
        snprintf(what, sizeof what, "%s as the second word is EINVAL", bad[i].what);
        CHECK(r == EINVAL, what);
    }
    /* What real programs end their lists with (gdb's nto-procfs, drivers): EOK. */
    CHECK(procmgr_ability(0, PROCMGR_ADN_ROOT | PROCMGR_AOP_ALLOW | PROCMGR_AOP_INHERIT_YES |
                                 PROCMGR_AID_EOL) == EOK,
          "EOL with ROOT|ALLOW|INHERIT_YES is EOK");
    CHECK(procmgr_ability(0, PROCMGR_ADN_NONROOT | PROCMGR_AOP_INHERIT_NO | PROCMGR_AID_EOL) ==
              EOK,
          "EOL with INHERIT_NO is EOK");
    CHECK(procmgr_ability(0, PROCMGR_ADN_NONROOT | PROCMGR_AID_EOL) == EOK,
          "EOL with a domain and no operation is EOK");
    CHECK(procmgr_ability(0, PROCMGR_AOP_DENY | PROCMGR_AID_EOL) == EOK,
          "EOL with an operation and no domain is EOK");
    r = procmgr_ability(0, PROCMGR_ADN_NONROOT | PROCMGR_AOP_SUBRANGE | PROCMGR_AID_EOL,
                        (_Uint64t)0, (_Uint64t)1);
    CHECK(r == EINVAL, "EOL with SUBRANGE is EINVAL");
    r = procmgr_ability(0,
                        PROCMGR_ADN_NONROOT | PROCMGR_AOP_ALLOW | PROCMGR_AOP_SUBRANGE |
                            PROCMGR_AID_SPAWN_SETUID,
                        (_Uint64t)899, (_Uint64t)800, PROCMGR_AID_EOL);
    CHECK(r == EINVAL, "a subrange whose lower limit is above its upper one is EINVAL");
    r = procmgr_ability(0, W1024);
    CHECK(r == EINVAL, "1024 words without EOL: EINVAL at the walk's bound");
    r = procmgr_ability(0, W1024, PROCMGR_AID_EOL);
    CHECK(r == EINVAL, "EOL as the 1025th word is past the bound: EINVAL");

    /* The pid is checked before the list. */
    r = procmgr_ability(getppid(), W | 0x00200000u, PROCMGR_AID_EOL);
    CHECK(r == EPERM, "another process's pid with a bad word is EPERM (the pid first)");
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "cycles") == 0) {
        printf("%llu\n", (unsigned long long)ClockCycles());
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "unknown role %s\n", argv[1]);
        return 2;
    }
    test_clock_cycles();
    test_syspage();
    test_clock_time();
    test_clock_period();
    test_procmgr_ability();
    return SUMMARY();
}
