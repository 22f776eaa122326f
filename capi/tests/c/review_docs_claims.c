/*
 * review_docs_claims.c: the C API's documented promises (docs/c-api.md, docs/deviations.md),
 * one mode per group of claims, each check naming the document and line of its claim. Run by
 * procnto-sim/tests/review_docs_claims.rs; every mode prints "N passed, M failed".
 */
#include <devctl.h>
#include <errno.h>
#include <fcntl.h>
#include <process.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/asyncmsg.h>
#include <sys/dispatch.h>
#include <sys/ftype.h>
#include <sys/iofunc.h>
#include <sys/iomgr.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <sys/procmgr.h>
#include <sys/slog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ------------------------------------------------------------ sizes and values */

static void mode_values(void) {
    /* c-api.md:64: struct sizes. */
    CHECK(sizeof(struct _msg_info) == 64, "c-api.md:64 _msg_info 64 bytes");
    CHECK(sizeof(struct _client_info) == 76, "c-api.md:64 _client_info 76 bytes");
    CHECK(sizeof(struct _cred_info) == 60, "c-api.md:64 _cred_info 60 bytes");
    CHECK(sizeof(struct _pulse) == 24, "c-api.md:64 _pulse 24 bytes");
    /* c-api.md:69: dispatch sizes. */
    CHECK(sizeof(name_attach_t) == 24, "c-api.md:69 name_attach_t 24 bytes");
    CHECK(sizeof(resmgr_context_t) == 152, "c-api.md:69 resmgr_context_t 152 bytes");
    CHECK(sizeof(thread_pool_attr_t) == 104, "c-api.md:69 thread_pool_attr_t 104 bytes");
    CHECK(sizeof(thread_pool_t) == 136, "deviations.md:627 thread_pool_t 136 bytes");
    CHECK(sizeof(resmgr_iomsgs_t) == 256, "deviations.md:622 resmgr_iomsgs_t 256 bytes");
    /* c-api.md:640-641: iofunc sizes. */
    CHECK(sizeof(iofunc_attr_t) == 128, "c-api.md:640 iofunc_attr_t 128 bytes");
    CHECK(sizeof(iofunc_ocb_t) == 40, "c-api.md:640 iofunc_ocb_t 40 bytes");
    CHECK(sizeof(iofunc_mount_t) == 80, "c-api.md:641 iofunc_mount_t 80 bytes");
    /* c-api.md:70 */
    CHECK(_FTYPE_ANY == 0 && _FTYPE_NAME == 12 && _FTYPE_TYMEM == 13, "c-api.md:70 _FTYPE_*");
    /* c-api.md:482 */
    CHECK(PROCMGR_DAEMON_NOCHDIR == 1 && PROCMGR_DAEMON_NOCLOSE == 2 &&
              PROCMGR_DAEMON_NODEVNULL == 4 && PROCMGR_DAEMON_KEEPUMASK == 8,
          "c-api.md:482 PROCMGR_DAEMON_*");
    CHECK(PROCMGR_AID_EOL == 0xffff, "c-api.md:482 PROCMGR_AID_EOL 0xffff");
    /* deviations.md:10 */
    CHECK(ENOREMOTE == 300 && ESRVRFAULT == 312, "deviations.md:10 ENOREMOTE 300, ESRVRFAULT 312");
    CHECK(EOK == 0, "c-api.md:76 EOK 0");
    /* deviations.md:663-666, c-api.md:89-90 */
    CHECK(sizeof(struct sigevent) == 64, "deviations.md:663 sigevent 64 bytes");
    CHECK(SIGEV_PULSE == 0x84 && SIGEV_NONE == 0, "c-api.md:89 SIGEV_PULSE 0x84, SIGEV_NONE 0");
    /* deviations.md:675-676 */
    CHECK(sizeof(rcvid_t) == 4 && __RCVID_T_SIZE == 4, "deviations.md:675 rcvid_t int, size 4");
    /* deviations.md:812, 820 */
    CHECK(SIGEV_FLAG_HANDLE == 0x2000, "deviations.md:812 SIGEV_FLAG_HANDLE 0x2000");
    CHECK(_NTO_REGEVENT_ALLOW_ANY_SERVER == -1, "deviations.md:820 ALLOW_ANY_SERVER -1");
    /* deviations.md:844-845 */
    CHECK(_SLOG_SETCODE(0x1234, 0x1ff) == ((0x1234 << 8) | 0xff),
          "deviations.md:845 _SLOG_SETCODE(major, minor) = major << 8 | (minor & 0xff)");
    /* c-api.md:788-789 */
    CHECK(SCHED_SPORADIC == 4 && SCHED_NOCHANGE == -1, "c-api.md:788 SCHED_SPORADIC 4, NOCHANGE -1");
    /* deviations.md:926 */
    CHECK(sizeof(struct stat) == 144, "deviations.md:926 the stat reply is 144 bytes");
}

/* ------------------------------------------------------------ slog */

static void mode_slog(void) {
    char big[3000];
    int v[40];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    memset(v, 0, sizeof v);
    /* c-api.md:501-503: slogf returns the message's size, cut at 1023. */
    int r = slogf(_SLOG_SETCODE(_SLOGC_TEST, 7), _SLOG_WARNING, "hello %d", 5);
    CHECK(r == 7, "c-api.md:501 slogf returns the message's size (\"hello 5\": 7)");
    r = slogf(_SLOG_SETCODE(_SLOGC_TEST, 7), _SLOG_INFO, "%s", big);
    CHECK(r == 1023, "c-api.md:502 a long message is cut at 1023 bytes");
    errno = 0;
    r = slogf(_SLOG_SETCODE(_SLOGC_TEST, 7), 8, "x");
    CHECK(r == -1 && errno == EINVAL, "c-api.md:503 severity 8: -1 EINVAL");
    errno = 0;
    r = slogf(_SLOG_SETCODE(_SLOGC_TEST, 7), -1, "x");
    CHECK(r == -1 && errno == EINVAL, "c-api.md:503 severity -1: -1 EINVAL");
    errno = 0;
    r = vslogf(_SLOG_SETCODE(_SLOGC_TEST, 7), _SLOG_INFO, NULL, NULL);
    CHECK(r == -1 && errno == EINVAL, "c-api.md:503 NULL format: -1 EINVAL");
    /* deviations.md:842-843 */
    errno = 0;
    r = slogb(_SLOG_SETCODE(_SLOGC_TEST, 7), _SLOG_INFO, v, -1);
    CHECK(r == -1 && errno == EINVAL, "deviations.md:842 slogb negative size: EINVAL");
    errno = 0;
    r = slogb(_SLOG_SETCODE(_SLOGC_TEST, 7), _SLOG_INFO, NULL, 4);
    CHECK(r == -1 && errno == EINVAL, "deviations.md:842 slogb NULL data: EINVAL");
    errno = 0;
    r = slogi(_SLOG_SETCODE(_SLOGC_TEST, 7), _SLOG_INFO, 33, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
              12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
              32, 33);
    CHECK(r == -1 && errno == EINVAL, "deviations.md:843 slogi with 33 integers: EINVAL");
    r = slogi(_SLOG_SETCODE(_SLOGC_TEST, 7), _SLOG_INFO, 2, 1, 2);
    CHECK(r >= 0, "deviations.md:843 slogi with 2 integers logs");
}

/* ------------------------------------------------------------ devctl and ionotify on Linux fds */

static void mode_fds(void) {
    int p[2];
    int dummy = 0;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    CHECK(pipe(p) == 0, "pipe");
    /* c-api.md:724-726: "On an fd of Linux's, devctl is ENOTTY and ionotify ENOSYS ...; on no
     * fd at all, EBADF." */
    errno = 0;
    int r = devctl(p[0], DCMD_ALL_GETFLAGS, &dummy, sizeof dummy, NULL);
    CHECK(r == ENOTTY && errno == 0, "c-api.md:725 devctl on a pipe: ENOTTY, errno untouched");
    errno = 0;
    r = ionotify(p[0], _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT, &ev);
    CHECK(r == -1 && errno == ENOSYS, "c-api.md:725 ionotify on a pipe: -1 ENOSYS");
    close(p[0]);
    close(p[1]);
    errno = 0;
    r = devctl(p[0], DCMD_ALL_GETFLAGS, &dummy, sizeof dummy, NULL);
    CHECK(r == EBADF, "c-api.md:726 devctl on no fd: EBADF");
    errno = 0;
    r = ionotify(p[0], _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT, &ev);
    CHECK(r == -1 && errno == EBADF, "c-api.md:726 ionotify on no fd: -1 EBADF");
    errno = 0;
    r = _devctl(p[0], DCMD_ALL_GETFLAGS, &dummy, sizeof dummy, 0);
    CHECK(r == -1 && errno == EBADF, "c-api.md:724 _devctl returns -1 and errno");
}

/* ------------------------------------------------------------ scheduling and ThreadCtl */

static void mode_sched(void) {
    int pols[3] = {SCHED_FIFO, SCHED_RR, SCHED_OTHER};
    for (int i = 0; i < 3; i++) {
        CHECK(sched_get_priority_min(pols[i]) == 1, "c-api.md:782 sched_get_priority_min 1");
        CHECK(sched_get_priority_max(pols[i]) == 255, "c-api.md:782 sched_get_priority_max 255");
    }
    /* deviations.md:687-688: getprio of another process is ENOSYS. */
    CHECK(getprio(0) >= 1, "getprio(0)");
    CHECK(getprio(getpid()) == getprio(0), "deviations.md:687 getprio(getpid()) is the caller's");
    /* deviations.md:684-686: ThreadCtl. */
    CHECK(ThreadCtl(_NTO_TCTL_IO, 0) == 0, "deviations.md:684 ThreadCtl(_NTO_TCTL_IO) succeeds");
    CHECK(ThreadCtl(_NTO_TCTL_IO_PRIV, 0) == 0, "deviations.md:684 _NTO_TCTL_IO_PRIV succeeds");
    errno = 0;
    CHECK(ThreadCtl(_NTO_TCTL_THREADS_HOLD, 0) == -1 && errno == ENOSYS,
          "deviations.md:686 QNX's other commands: ENOSYS");
    errno = 0;
    CHECK(ThreadCtl(_NTO_TCTL_ALIGN_FAULT, 0) == -1 && errno == ENOSYS,
          "deviations.md:686 _NTO_TCTL_ALIGN_FAULT: ENOSYS");
    errno = 0;
    CHECK(ThreadCtl(999, 0) == -1 && errno == EINVAL, "deviations.md:686 unknown ones: EINVAL");
    /* c-api.md:773: a new thread is SCHED_RR at 10. */
    struct sched_param sp;
    memset(&sp, 0, sizeof sp);
    int pol = SchedGet(0, 0, &sp);
    CHECK(pol == SCHED_RR && sp.sched_priority == 10, "c-api.md:773 a new thread is SCHED_RR at 10");
    /* c-api.md:785 sched_setscheduler returns the previous policy. */
    sp.sched_priority = 12;
    int prev = sched_setscheduler(0, SCHED_FIFO, &sp);
    CHECK(prev == SCHED_RR, "c-api.md:785 sched_setscheduler returns the previous policy");
    CHECK(sched_getscheduler(0) == SCHED_FIFO, "sched_getscheduler after set");
    errno = 0;
    CHECK(sched_setscheduler(0, SCHED_SPORADIC, &sp) == -1 && errno == ENOTSUP,
          "c-api.md:789 SCHED_SPORADIC refused, ENOTSUP");
    errno = 0;
    CHECK(sched_setparam(0, NULL) == -1 && errno == EINVAL, "deviations.md:705 NULL param: EINVAL");
}

/* deviations.md:687-688: "getprio(pid)/setprio(pid, prio) act on the calling thread for pid 0 or
 * the caller's own pid; another process's (QNX: its thread 1) is ENOSYS." (The parent is a
 * Linux process outside this program's kernel.) */
static void mode_getprio_other(void) {
    int r;
    errno = 0;
    r = getprio(getppid());
    printf("getprio(getppid()) = %d, errno %d\n", r, errno);
    CHECK(r == -1 && errno == ESRCH,
          "deviations.md getprio(a process outside the kernel): ESRCH");
    errno = 0;
    r = setprio(getppid(), 10);
    printf("setprio(getppid(), 10) = %d, errno %d\n", r, errno);
    CHECK(r == -1 && errno == ESRCH,
          "deviations.md setprio(a process outside the kernel): ESRCH");
}

/* ------------------------------------------------------------ clocks */

static void mode_clock(void) {
    _Uint64t t = 0, set = 1;
    struct _clockperiod per = {0, 0}, newp = {1000000, 0};
    struct timespec res;
    /* c-api.md:488-490 */
    CHECK(ClockTime(CLOCK_MONOTONIC, NULL, &t) == 0 && t > 0, "ClockTime reads CLOCK_MONOTONIC");
    errno = 0;
    CHECK(ClockTime(CLOCK_MONOTONIC, &set, NULL) == -1 && errno == EINVAL,
          "c-api.md:489 setting CLOCK_MONOTONIC: EINVAL");
    errno = 0;
    CHECK(ClockTime(CLOCK_PROCESS_CPUTIME_ID, NULL, &t) == -1 && errno == EINVAL,
          "deviations.md:797 ClockTime of a CPU-time clock: EINVAL");
    errno = 0;
    CHECK(ClockTime(CLOCK_THREAD_CPUTIME_ID, NULL, &t) == -1 && errno == EINVAL,
          "deviations.md:797 ClockTime of the thread CPU-time clock: EINVAL");
    CHECK(ClockPeriod(CLOCK_REALTIME, NULL, &per, 0) == 0, "ClockPeriod reads");
    clock_getres(CLOCK_REALTIME, &res);
    CHECK(per.nsec == (_Uint32t)res.tv_nsec && per.fract == 0,
          "c-api.md:490 ClockPeriod reports clock_getres, fract 0");
    errno = 0;
    CHECK(ClockPeriod(CLOCK_REALTIME, &newp, NULL, 0) == -1 && errno == EPERM,
          "c-api.md:490 a new period: EPERM");
    /* deviations.md:790-791: ClockCycles is CLOCK_MONOTONIC_RAW in ns. */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC_RAW, &a);
    _Uint64t c = ClockCycles();
    clock_gettime(CLOCK_MONOTONIC_RAW, &b);
    _Uint64t lo = (_Uint64t)a.tv_sec * 1000000000ull + (_Uint64t)a.tv_nsec;
    _Uint64t hi = (_Uint64t)b.tv_sec * 1000000000ull + (_Uint64t)b.tv_nsec;
    CHECK(c >= lo && c <= hi, "deviations.md:790 ClockCycles is CLOCK_MONOTONIC_RAW in ns");
}

/* ------------------------------------------------------------ timers */

static volatile sig_atomic_t alrm_code, alrm_value, alrm_count;

static void on_alrm(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    alrm_code = si->si_code;
    alrm_value = si->si_value.sival_int;
    alrm_count++;
}

static void mode_timers(void) {
    struct _timer_info ti;
    struct _itimer it;
    struct sigevent ev;
    int chid = ChannelCreate(0);
    int coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    SIGEV_PULSE_INIT(&ev, coid, 10, _PULSE_CODE_MINAVAIL, 0);
    int id = TimerCreate(CLOCK_MONOTONIC, &ev);
    CHECK(id > 0, "TimerCreate");
    /* c-api.md:111-113: a disarmed timer's TimerInfo is all 0, no _NTO_TI_ACTIVE. */
    memset(&ti, 0xa5, sizeof ti);
    CHECK(TimerInfo(0, id, 0, &ti) == id || TimerInfo(0, id, 0, &ti) == 0, "TimerInfo disarmed");
    CHECK(ti.otime.nsec == 0 && ti.itime.nsec == 0 && ti.itime.interval_nsec == 0 &&
              ti.otime.interval_nsec == 0,
          "c-api.md:113 a disarmed timer's times are all 0");
    CHECK((ti.flags & _NTO_TI_ACTIVE) == 0, "c-api.md:113 disarmed: no _NTO_TI_ACTIVE");
    it.nsec = 5000000000ull;
    it.interval_nsec = 7000000000ull;
    CHECK(TimerSettime(id, 0, &it, NULL) == 0, "TimerSettime");
    CHECK(TimerInfo(0, id, 0, &ti) != -1, "TimerInfo armed");
    CHECK(ti.flags & _NTO_TI_ACTIVE, "c-api.md:113 armed: _NTO_TI_ACTIVE");
    CHECK(ti.otime.nsec > 0 && ti.otime.nsec <= 5000000000ull, "c-api.md:112 otime: time left");
    CHECK(ti.itime.interval_nsec == 7000000000ull && ti.otime.interval_nsec == 7000000000ull,
          "c-api.md:112 both interval_nsec the period");
    _Uint64t now = 0;
    ClockTime(CLOCK_MONOTONIC, NULL, &now);
    CHECK(ti.itime.nsec > now && ti.itime.nsec <= now + 5000000000ull,
          "c-api.md:112 itime.nsec the absolute expiry");
    TimerDestroy(id);
    /* deviations.md:733, c-api.md:105-106: TIMER_ABSTIME may be QNX's or <time.h>'s. */
    id = TimerCreate(CLOCK_MONOTONIC, &ev);
    ClockTime(CLOCK_MONOTONIC, NULL, &now);
    it.nsec = now + 3600000000000ull;
    it.interval_nsec = 0;
    CHECK(TimerSettime(id, 1, &it, NULL) == 0, "c-api.md:105 TimerSettime with <time.h>'s 1");
    TimerInfo(0, id, 0, &ti);
    CHECK(ti.otime.nsec > 3000000000000ull, "c-api.md:105 flag 1 is TIMER_ABSTIME");
    CHECK(TimerSettime(id, 0x80000000u, &it, NULL) == 0, "TimerSettime with QNX's 0x80000000");
    TimerInfo(0, id, 0, &ti);
    CHECK(ti.otime.nsec > 3000000000000ull, "c-api.md:105 flag 0x80000000 is TIMER_ABSTIME");
    TimerDestroy(id);
    /* c-api.md:113-115: a NULL event sends SIGALRM, SI_TIMER, the timer's id as si_value. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alrm;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    id = TimerCreate(CLOCK_MONOTONIC, NULL);
    CHECK(id > 0, "TimerCreate NULL event");
    it.nsec = 10000000;
    it.interval_nsec = 0;
    TimerSettime(id, 0, &it, NULL);
    for (int i = 0; i < 5000 && alrm_count == 0; i++) {
        delay(1);
    }
    CHECK(alrm_count == 1, "c-api.md:114 SIGALRM delivered");
    CHECK(alrm_code == SI_TIMER, "c-api.md:114 si_code SI_TIMER");
    CHECK(alrm_value == id, "c-api.md:114 si_value the timer's id");
    TimerDestroy(id);
    /* c-api.md:107-110: NANOSLEEP with NULL: 0 at once. */
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_NANOSLEEP, NULL, NULL, NULL) == 0,
          "c-api.md:108 NANOSLEEP with NULL: 0 at once");
    _Uint64t ns = 20000000, otime = 12345;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_NANOSLEEP, NULL, &ns, &otime) == 0,
          "c-api.md:108 NANOSLEEP 20 ms: 0");
    CHECK(otime == 12345, "deviations.md:731 otime written only when interrupted");
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

/* ------------------------------------------------------------ names */

static volatile int conn_ok, conn_len, conn_handle_ok, conn_fields_ok, disconnects;

struct name_server_arg {
    int chid;
    int mntid;
    int opens;
};

static void *name_server(void *arg) {
    struct name_server_arg *a = arg;
    union {
        _Uint16t type;
        struct _io_connect connect;
        struct _pulse pulse;
        char raw[256];
    } msg;
    struct _msg_info info;
    for (;;) {
        _Uint64t to = 10000000000ull;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &to, NULL);
        rcvid_t r = MsgReceive(a->chid, &msg, sizeof msg, &info);
        if (r == -1) {
            break;
        }
        if (r == 0) {
            if (msg.pulse.code == _PULSE_CODE_DISCONNECT) {
                disconnects++;
                ConnectDetach(msg.pulse.scoid);
                break;
            }
            continue;
        }
        if (msg.type == _IO_CONNECT) {
            conn_ok++;
            conn_len = (int)info.srcmsglen;
            conn_handle_ok = msg.connect.handle == (_Uint32t)a->mntid;
            conn_fields_ok = msg.connect.subtype == _IO_CONNECT_OPEN &&
                             msg.connect.file_type == _FTYPE_NAME && msg.connect.ioflag == 3 &&
                             msg.connect.access == (_IO_FLAG_RD | _IO_FLAG_WR) &&
                             msg.connect.sflag == 0x40 && msg.connect.path_len == 1 &&
                             msg.connect.path[0] == 0;
            MsgReply(r, EOK, NULL, 0);
        } else {
            MsgReply(r, EOK, NULL, 0);
        }
    }
    return NULL;
}

static void mode_names(void) {
    char longname[200];
    /* c-api.md:211-212 */
    errno = 0;
    CHECK(name_attach(NULL, "/lead", 0) == NULL && errno == EINVAL, "c-api.md:211 leading '/': EINVAL");
    errno = 0;
    CHECK(name_attach(NULL, "a/../b", 0) == NULL && errno == EINVAL, "c-api.md:211 '..': EINVAL");
    errno = 0;
    CHECK(name_attach(NULL, "bad\xff", 0) == NULL && errno == EINVAL, "c-api.md:212 not UTF-8: EINVAL");
    errno = 0;
    CHECK(name_attach(NULL, "", 0) == NULL && errno == EINVAL, "c-api.md:211 empty: EINVAL");
    errno = 0;
    CHECK(name_attach(NULL, "x", 0x100) == NULL && errno == EINVAL, "c-api.md:212 unknown flags: EINVAL");
    memset(longname, 'n', 128);
    longname[128] = 0;
    errno = 0;
    CHECK(name_attach(NULL, longname, 0) == NULL && errno == ENAMETOOLONG,
          "c-api.md:212 128 bytes: ENAMETOOLONG");
    /* c-api.md:212 says "EINVAL for ... a non-NULL dpp", c-api.md:330 that name_attach(dpp)
     * names the handle's channel: a live handle is taken. */
    dispatch_t *dpp = dispatch_create();
    name_attach_t *da = name_attach(dpp, "review/dpp", 0);
    CHECK(da != NULL, "c-api.md:330 name_attach with a live dispatch handle succeeds");
    if (da) {
        name_detach(da, 0);
    }
    /* c-api.md:213-221, deviations.md:779-780 */
    name_attach_t *att = name_attach(NULL, "review/claims", 0);
    CHECK(att != NULL, "name_attach");
    if (!att) {
        return;
    }
    struct name_server_arg arg = {att->chid, att->mntid, 0};
    pthread_t t;
    pthread_create(&t, NULL, name_server, &arg);
    int c1 = name_open("review/claims", 0);
    CHECK(c1 != -1, "name_open");
    CHECK(conn_ok == 1, "c-api.md:213 name_open sends an _IO_CONNECT");
    CHECK(conn_len == 41, "deviations.md:779 the _IO_CONNECT is 41 bytes");
    CHECK(conn_handle_ok, "deviations.md:779 its handle is the name's mntid");
    CHECK(conn_fields_ok,
          "c-api.md:214-215 subtype OPEN, _FTYPE_NAME, ioflag 3, access RD|WR, sflag 0x40, empty path");
    int c2 = name_open("review/claims", 0);
    CHECK(c2 != -1, "a second name_open");
    CHECK(ConnectFlags(0, c1, 0, 0) & _NTO_COF_CLOEXEC, "deviations.md:569 name_open's coid is CLOEXEC");
    name_close(c1);
    delay(200);
    CHECK(disconnects == 0, "c-api.md:221 no disconnect while another name_open's connection is open");
    name_close(c2);
    _Uint64t to = 10000000000ull;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_JOIN, NULL, &to, NULL);
    CHECK(pthread_join(t, NULL) == 0, "server thread ended");
    CHECK(disconnects == 1, "c-api.md:220 _PULSE_CODE_DISCONNECT once the last connection goes");
    /* c-api.md:222-223: name_detach destroys the channel: connected clients' sends EBADF. */
    int c3 = ConnectAttach(ND_LOCAL_NODE, 0, att->chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(c3 != -1, "ConnectAttach to the name's channel");
    CHECK(name_detach(att, 0) == 0, "name_detach");
    errno = 0;
    CHECK(MsgSend(c3, "x", 1, NULL, 0) == -1 && errno == EBADF,
          "c-api.md:223 after name_detach, a connected client's send: EBADF");
    errno = 0;
    CHECK(name_open("review/claims", 0) == -1 && errno == ENOENT, "c-api.md:217 no such name: ENOENT");
    errno = 0;
    CHECK(name_open("review/claims", 1) == -1 && errno == EINVAL, "deviations.md:778 flags not 0: EINVAL");
}

/* ------------------------------------------------------------ spawn */

static void mode_spawn(const char *dir) {
    char *argv[] = {"true", NULL};
    char *noarg0[] = {NULL};
    char script[512];
    errno = 0;
    CHECK(spawnv(7, "/bin/true", argv) == -1 && errno == EINVAL, "c-api.md:537 another mode: EINVAL");
    errno = 0;
    CHECK(spawnv(P_WAIT, NULL, argv) == -1 && errno == EFAULT, "c-api.md:538 NULL path: EFAULT");
    errno = 0;
    CHECK(spawnv(P_WAIT, "/bin/true", NULL) == -1 && errno == EFAULT, "c-api.md:538 NULL argv: EFAULT");
    errno = 0;
    CHECK(spawnv(P_WAIT, "/bin/true", noarg0) == -1 && errno == EINVAL,
          "c-api.md:537 NULL argv[0]: EINVAL");
    errno = 0;
    CHECK(spawnv(P_WAIT, "", argv) == -1 && errno == ENOENT, "c-api.md:539 empty path: ENOENT");
    errno = 0;
    CHECK(spawnv(P_WAIT, "/no/such/program", argv) == -1 && errno == ENOENT,
          "c-api.md:539 no such program: ENOENT");
    snprintf(script, sizeof script, "%s/noshebang", dir);
    FILE *f = fopen(script, "w");
    if (f) {
        fputs("exit 0\n", f);
        fclose(f);
        chmod(script, 0700);
    }
    errno = 0;
    CHECK(spawnv(P_WAIT, script, argv) == -1 && errno == ENOEXEC,
          "c-api.md:539 a script without #!: ENOEXEC");
    unlink(script);
    int st = spawnl(P_WAIT, "/bin/sh", "sh", "-c", "exit 3", NULL);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3 && st == 0x300, "c-api.md:532 P_WAIT: status 0x300");
    st = spawnl(P_WAIT, "/bin/sh", "sh", "-c", "kill -9 $$", NULL);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "c-api.md:532 P_WAIT: WTERMSIG of a killed child");
    signal(SIGCHLD, SIG_IGN);
    errno = 0;
    CHECK(spawnl(P_WAIT, "/bin/true", "true", NULL) == -1 && errno == ECHILD,
          "c-api.md:540 P_WAIT with SIGCHLD ignored: ECHILD");
    signal(SIGCHLD, SIG_DFL);
}

/* ------------------------------------------------------------ buffers and asyncmsg */

static int recvbuf_cb(size_t bufsize, unsigned num_bufs, void *bufs[], int flags, void *handle) {
    (void)bufsize;
    (void)num_bufs;
    (void)bufs;
    (void)flags;
    (void)handle;
    return 0;
}

static void mode_iov(void) {
    int chid = ChannelCreate(0);
    int coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    static iov_t iov[65537];
    static char byte;
    for (int i = 0; i < 65537; i++) {
        SETIOV(&iov[i], &byte, 1);
    }
    /* deviations.md:745-746: more than 65,536 iov parts is EFAULT before anything moves. */
    _Uint64t to = 2000000000ull;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &to, NULL);
    errno = 0;
    long r = MsgSendv(coid, iov, 65537, NULL, 0);
    CHECK(r == -1 && errno == EFAULT, "deviations.md:746 65,537 iov parts: EFAULT");
    errno = 0;
    r = MsgSend(coid, NULL, 8, NULL, 0);
    CHECK(r == -1 && errno == EFAULT, "deviations.md:745 a NULL buffer with a length: EFAULT");
    TimerTimeout(CLOCK_MONOTONIC, 0, NULL, NULL, NULL);
    /* deviations.md:767-769 */
    errno = 0;
    CHECK(asyncmsg_channel_create(0, 0666, 64, 8, NULL, recvbuf_cb, NULL) == -1 && errno == ENOTSUP,
          "deviations.md:768 a recvbuf_callback: ENOTSUP");
    int achid = asyncmsg_channel_create(0, 0666, 64, 8, NULL, NULL, NULL);
    CHECK(achid != -1, "asyncmsg_channel_create");
    errno = 0;
    CHECK(asyncmsg_connect_attach(0, 0, achid, 0, 0, NULL) == -1 && errno == EFAULT,
          "deviations.md:769 asyncmsg_connect_attach with NULL attr: EFAULT");
    asyncmsg_channel_destroy(achid);
    ConnectDetach(coid);
    ChannelDestroy(chid);
}

static void mode_procmgr(void) {
    /* c-api.md:491-494 */
    CHECK(procmgr_ability(0, PROCMGR_ADN_ROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_SPAWN_SETUID,
                          PROCMGR_AID_EOL) == EOK,
          "c-api.md:492 a well-formed list for pid 0: EOK");
    CHECK(procmgr_ability(getppid(), PROCMGR_ADN_ROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_SPAWN_SETUID,
                          PROCMGR_AID_EOL) == EPERM,
          "c-api.md:493 another process: EPERM");
    CHECK(procmgr_ability(0x3ffffff0, PROCMGR_ADN_ROOT | PROCMGR_AOP_ALLOW | PROCMGR_AID_SPAWN_SETUID,
                          PROCMGR_AID_EOL) == ESRCH,
          "c-api.md:493 no such process: ESRCH");
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "values")) {
        mode_values();
    } else if (!strcmp(mode, "slog")) {
        mode_slog();
    } else if (!strcmp(mode, "fds")) {
        mode_fds();
    } else if (!strcmp(mode, "sched")) {
        mode_sched();
    } else if (!strcmp(mode, "getprio_other")) {
        mode_getprio_other();
    } else if (!strcmp(mode, "clock")) {
        mode_clock();
    } else if (!strcmp(mode, "timers")) {
        mode_timers();
    } else if (!strcmp(mode, "names")) {
        mode_names();
    } else if (!strcmp(mode, "spawn")) {
        mode_spawn(argc > 2 ? argv[2] : "/tmp");
    } else if (!strcmp(mode, "iov")) {
        mode_iov();
    } else if (!strcmp(mode, "procmgr")) {
        mode_procmgr();
    } else {
        printf("unknown mode %s\n", mode);
        return 2;
    }
    return SUMMARY();
}
