/*
 * porter_headers.c: the headers QNX programs include that are not about message passing, and
 * QNX 7.1's registered events: <atomic.h>, <gulliver.h>, <sys/slog.h>, <sys/procmgr.h>'s
 * procmgr_daemon, MsgRegisterEvent/MsgUnregisterEvent. Run on a shared kernel (QNXSIM_KERNEL
 * names it: procnto-sim/tests/c_porter_headers.rs starts its supervisor), since the daemon
 * that procmgr_daemon makes is a program of its own, answering this one over that kernel.
 *
 * The new headers come first here, before the existing ones; porter_headers_order.c includes
 * them the other way round. Prints "daemon PID" for each daemon it makes (the test kills them
 * on every path), then "N passed, M failed".
 */
#include <atomic.h>
#include <gulliver.h>
#include <sys/procmgr.h>
#include <sys/slog.h>

#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <sys/siginfo.h>
#include <process.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* porter_headers_order.c: the headers the other way round; returns 0 if all is well. */
#ifdef __cplusplus
extern "C" {
#endif
int porter_order_check(void);
#ifdef __cplusplus
}
#endif

/* Every blocking call waits at most this long (ns). */
#define BOUND_NS 15000000000ULL

/* ------------------------------------------------------------------ atomic.h */

static volatile unsigned shared_counter;

static void *adder(void *arg) {
    int i;
    (void)arg;
    for (i = 0; i < 100000; i++) {
        atomic_add(&shared_counter, 1);
    }
    return NULL;
}

static void test_atomic(void) {
    volatile unsigned v = 10;
    pthread_t t[4];
    int i, made = 0;

    atomic_add(&v, 5);
    CHECK(v == 15, "atomic_add");
    CHECK(atomic_add_value(&v, 5) == 15 && v == 20, "atomic_add_value returns the old value");
    atomic_sub(&v, 3);
    CHECK(v == 17, "atomic_sub");
    CHECK(atomic_sub_value(&v, 7) == 17 && v == 10, "atomic_sub_value returns the old value");
    atomic_set(&v, 0x100);
    CHECK(v == 0x10a, "atomic_set ORs the bits in");
    CHECK(atomic_set_value(&v, 0x1) == 0x10a && v == 0x10b, "atomic_set_value");
    atomic_clr(&v, 0x100);
    CHECK(v == 0xb, "atomic_clr clears the bits");
    CHECK(atomic_clr_value(&v, 0x3) == 0xb && v == 0x8, "atomic_clr_value");
    atomic_toggle(&v, 0xff);
    CHECK(v == 0xf7, "atomic_toggle XORs the bits");
    CHECK(atomic_toggle_value(&v, 0xff) == 0xf7 && v == 0x8, "atomic_toggle_value");
    v = 0;
    CHECK(atomic_sub_value(&v, 1) == 0 && v == UINT_MAX, "atomic_sub wraps as unsigned");
    CHECK(atomic_add_value(&v, 2) == UINT_MAX && v == 1, "atomic_add wraps as unsigned");

    shared_counter = 0;
    for (i = 0; i < 4; i++) {
        made += pthread_create(&t[i], NULL, adder, NULL) == 0;
    }
    for (i = 0; i < made; i++) {
        pthread_join(t[i], NULL);
    }
    CHECK(made == 4 && shared_counter == 400000, "4 threads' atomic_add lose no increment");
}

/* ------------------------------------------------------------------ gulliver.h */

static void test_gulliver(void) {
    const uint8_t bytes[9] = {0xee, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t buf[9];
    uint16_t a16;
    uint32_t a32;
    uint64_t a64;
    const union {
        uint16_t v;
        uint8_t b[2];
    } probe = {1};
    int little = probe.b[0] == 1;

    CHECK(ENDIAN_RET16(0x1234) == 0x3412, "ENDIAN_RET16");
    CHECK(ENDIAN_RET32(0x12345678u) == 0x78563412u, "ENDIAN_RET32");
    CHECK(ENDIAN_RET64(0x0102030405060708ull) == 0x0807060504030201ull, "ENDIAN_RET64");

    a16 = 0xaabb;
    a32 = 0x11223344u;
    a64 = 0x1122334455667788ull;
    ENDIAN_SWAP16(&a16);
    ENDIAN_SWAP32(&a32);
    ENDIAN_SWAP64(&a64);
    CHECK(a16 == 0xbbaa && a32 == 0x44332211u && a64 == 0x8877665544332211ull,
          "ENDIAN_SWAP16/32/64 swap in place");

    memcpy(&a16, bytes + 1, 2);
    memcpy(&a32, bytes + 1, 4);
    memcpy(&a64, bytes + 1, 8);
    CHECK(ENDIAN_LE16(a16) == 0x0201 && ENDIAN_BE16(a16) == 0x0102, "ENDIAN_LE16/BE16");
    CHECK(ENDIAN_LE32(a32) == 0x04030201u && ENDIAN_BE32(a32) == 0x01020304u,
          "ENDIAN_LE32/BE32");
    CHECK(ENDIAN_LE64(a64) == 0x0807060504030201ull && ENDIAN_BE64(a64) == 0x0102030405060708ull,
          "ENDIAN_LE64/BE64");
    CHECK(strcmp(ENDIAN_STRINGNAME, little ? "le" : "be") == 0, "ENDIAN_STRINGNAME");

    /* At an odd address. */
    CHECK(UNALIGNED_RET16(bytes + 1) == a16 && UNALIGNED_RET32(bytes + 1) == a32 &&
              UNALIGNED_RET64(bytes + 1) == a64,
          "UNALIGNED_RET16/32/64 at an odd address");
    memset(buf, 0, sizeof buf);
    UNALIGNED_PUT16(buf + 1, a16);
    CHECK(memcmp(buf + 1, bytes + 1, 2) == 0 && buf[3] == 0, "UNALIGNED_PUT16");
    memset(buf, 0, sizeof buf);
    UNALIGNED_PUT32(buf + 1, a32);
    CHECK(memcmp(buf + 1, bytes + 1, 4) == 0 && buf[5] == 0, "UNALIGNED_PUT32");
    memset(buf, 0, sizeof buf);
    UNALIGNED_PUT64(buf + 1, a64);
    CHECK(memcmp(buf + 1, bytes + 1, 8) == 0 && buf[0] == 0, "UNALIGNED_PUT64");
}

/* ------------------------------------------------------------------ sys/slog.h */

/* slogi(.., 2, 1, 2)'s line: the two ints' bytes in this machine's order. */
static const char *ints_line(void) {
    const union {
        uint16_t v;
        uint8_t b[2];
    } probe = {1};
    return probe.b[0] == 1 ? ": slog 0.6 DEBUG1: slogb: 01 00 00 00 02 00 00 00\n"
                           : ": slog 0.6 DEBUG1: slogb: 00 00 00 01 00 00 00 02\n";
}

/* vslogf through a va_list of our own (and a NULL format, which slogf's format check would
 * warn about at compile time). */
static int call_vslogf(int opcode, int severity, const char *fmt, ...) {
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = vslogf(opcode, severity, fmt, ap);
    va_end(ap);
    return r;
}

static void test_slog(void) {
    char path[] = "/tmp/qnxsim-slog-XXXXXX";
    char text[8192];
    char big[2001];
    const char *volatile no_format = NULL;
    uint8_t data[3] = {1, 2, 0xab};
    int fd, saved, r, e;
    ssize_t n;
    off_t before;

    CHECK(_SLOG_GETMAJOR(_SLOG_SETCODE(_SLOGC_PRIVATE_START, 7)) == _SLOGC_PRIVATE_START &&
              _SLOG_GETMINOR(_SLOG_SETCODE(_SLOGC_PRIVATE_START, 7)) == 7 &&
              _SLOG_SHUTDOWN == 0 && _SLOG_DEBUG2 == 7,
          "_SLOG_SETCODE, _SLOG_GETMAJOR/GETMINOR, the severities");

    /* stderr into a file, to read what the messages said. */
    fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) {
        return;
    }
    fflush(stderr);
    saved = dup(2);
    dup2(fd, 2);
    setenv("QNXSIM_SLOG", "stderr", 1);

    r = slogf(_SLOG_SETCODE(_SLOGC_TEST, 3), _SLOG_ERROR, "hello %d %s", 42, "x");
    CHECK(r == 10, "slogf returns the message's size");
    r = call_vslogf(_SLOG_SETCODE(_SLOGC_TEST, 4), _SLOG_WARNING, "%s-%d", "v", 7);
    CHECK(r == 3, "vslogf returns the message's size");
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    r = slogf(0, _SLOG_DEBUG2, "%s", big);
    CHECK(r == 1023, "a long message is cut at 1023 bytes");

    errno = 0;
    r = slogf(0, _SLOG_INFO, no_format, 0);
    e = errno;
    CHECK(r == -1 && e == EINVAL, "slogf with a NULL format: -1, EINVAL");
    errno = 0;
    r = call_vslogf(0, _SLOG_INFO, NULL);
    e = errno;
    CHECK(r == -1 && e == EINVAL, "vslogf with a NULL format: -1, EINVAL");
    errno = 0;
    r = slogf(0, 8, "x");
    e = errno;
    CHECK(r == -1 && e == EINVAL, "slogf with severity 8: -1, EINVAL");
    errno = 0;
    r = slogf(0, -1, "x");
    e = errno;
    CHECK(r == -1 && e == EINVAL, "slogf with severity -1: -1, EINVAL");

    r = slogb(_SLOG_SETCODE(_SLOGC_TEST, 5), _SLOG_INFO, data, 3);
    CHECK(r == (int)strlen("slogb: 01 02 ab"), "slogb returns its message's size");
    errno = 0;
    r = slogb(0, _SLOG_INFO, NULL, 3);
    e = errno;
    CHECK(r == -1 && e == EINVAL, "slogb with NULL data: -1, EINVAL");
    errno = 0;
    r = slogb(0, _SLOG_INFO, data, -1);
    e = errno;
    CHECK(r == -1 && e == EINVAL, "slogb with a negative size: -1, EINVAL");
    r = slogi(_SLOG_SETCODE(_SLOGC_TEST, 6), _SLOG_DEBUG1, 2, 1, 2);
    CHECK(r == (int)strlen("slogb:") + 8 * 3, "slogi logs its integers' bytes");
    errno = 0;
    r = slogi(0, _SLOG_INFO, 33);
    e = errno;
    CHECK(r == -1 && e == EINVAL, "slogi with 33 integers: -1, EINVAL");

    fflush(stderr);
    before = lseek(fd, 0, SEEK_END);
    setenv("QNXSIM_SLOG", "off", 1);
    r = slogf(0, _SLOG_INFO, "silent %d", 1);
    CHECK(r == 8 && lseek(fd, 0, SEEK_END) == before, "QNXSIM_SLOG=off: logged nowhere");
    unsetenv("QNXSIM_SLOG");
    r = slogf(0, _SLOG_DEBUG1, "to syslog only");
    CHECK(r == 14 && lseek(fd, 0, SEEK_END) == before, "QNXSIM_SLOG unset: not on stderr");

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    CHECK(strstr(text, ": slog 0.3 ERROR: hello 42 x\n") != NULL, "slogf's line on stderr");
    CHECK(strstr(text, ": slog 0.4 WARNING: v-7\n") != NULL, "vslogf's line on stderr");
    CHECK(strstr(text, ": slog 0.5 INFO: slogb: 01 02 ab\n") != NULL, "slogb's line on stderr");
    CHECK(strstr(text, ints_line()) != NULL, "slogi's line on stderr");
    CHECK(strstr(text, "silent") == NULL && strstr(text, "syslog only") == NULL,
          "nothing on stderr without QNXSIM_SLOG=stderr");
}

/* ------------------------------------------------------------------ MsgRegisterEvent */

/* Receives one pulse on chid (bounded); its code and value, or code -100 on failure. */
static struct _pulse receive_pulse(int chid) {
    struct _pulse p;
    _Uint64t bound = BOUND_NS;
    memset(&p, 0, sizeof p);
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &bound, NULL);
    if (MsgReceivePulse(chid, &p, sizeof p, NULL) == -1) {
        p.code = -100;
    }
    return p;
}

static void test_register_event(void) {
    struct sigevent ev, copy, bad;
    struct _pulse p;
    int chid, coid, r, e;

    chid = ChannelCreate(_NTO_CHF_PRIVATE);
    coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(chid > 0 && coid >= 0, "a channel and a connection to it");

    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 5, 77);
    CHECK(MsgRegisterEvent(&ev, coid) == 0, "MsgRegisterEvent(a pulse, its server's coid)");
    CHECK((ev.sigev_notify & SIGEV_FLAG_HANDLE) != 0 && SIGEV_GET_TYPE(&ev) == SIGEV_PULSE,
          "the event is marked registered (SIGEV_FLAG_HANDLE), its type kept");
    CHECK(MsgVerifyEvent(0, &ev) == 0, "MsgVerifyEvent accepts it");
    CHECK(MsgDeliverEvent(0, &ev) == 0, "MsgDeliverEvent by its server delivers it");
    p = receive_pulse(chid);
    CHECK(p.code == 5 && p.value.sival_int == 77, "the registered pulse arrives as registered");

    copy = ev;
    copy.sigev_code = 6;
    errno = 0;
    r = MsgDeliverEvent(0, &copy);
    e = errno;
    CHECK(r == -1 && e == EINVAL, "a registered event changed by the server: EINVAL");
    copy = ev;
    copy.sigev_value.sival_int = 78;
    CHECK(MsgDeliverEvent_r(0, &copy) == -EINVAL,
          "its value changed without SIGEV_FLAG_UPDATEABLE: EINVAL (_r form)");

    CHECK(MsgUnregisterEvent(&ev) == 0, "MsgUnregisterEvent");
    errno = 0;
    r = MsgDeliverEvent(0, &ev);
    e = errno;
    CHECK(r == -1 && e == EINVAL, "a withdrawn event is not delivered: EINVAL");
    errno = 0;
    r = MsgUnregisterEvent(&ev);
    e = errno;
    CHECK(r == -1 && e == EINVAL, "MsgUnregisterEvent twice: EINVAL");
    CHECK(MsgRegisterEvent(&ev, coid) == 0 && MsgDeliverEvent(0, &ev) == 0,
          "the same struct registered again is delivered");
    p = receive_pulse(chid);
    CHECK(p.code == 5 && p.value.sival_int == 77, "and arrives");
    CHECK(MsgUnregisterEvent_r(&ev) == 0, "MsgUnregisterEvent_r");

    /* Updateable: the server may change the value. */
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 7, 1);
    ev.sigev_notify |= SIGEV_FLAG_UPDATEABLE;
    CHECK(MsgRegisterEvent(&ev, _NTO_REGEVENT_ALLOW_ANY_SERVER) == 0,
          "MsgRegisterEvent for any server, updateable");
    ev.sigev_value.sival_int = 99;
    CHECK(MsgDeliverEvent(0, &ev) == 0, "an updateable event with a new value is delivered");
    p = receive_pulse(chid);
    CHECK(p.code == 7 && p.value.sival_int == 99, "with the server's value");
    CHECK(MsgUnregisterEvent(&ev) == 0, "and withdrawn");

    /* An unregistered event is still accepted. */
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 8, 3);
    CHECK(MsgDeliverEvent(0, &ev) == 0 && receive_pulse(chid).code == 8,
          "an unregistered event is delivered as before");

    /* Errors. */
    errno = 0;
    r = MsgRegisterEvent(NULL, coid);
    e = errno;
    CHECK(r == -1 && e == EFAULT, "MsgRegisterEvent(NULL): EFAULT");
    CHECK(MsgRegisterEvent_r(NULL, coid) == -EFAULT, "MsgRegisterEvent_r(NULL): -EFAULT");
    bad = ev;
    bad.sigev_notify = 0x89;
    errno = 0;
    r = MsgRegisterEvent(&bad, coid);
    e = errno;
    CHECK(r == -1 && e == EINVAL && bad.sigev_notify == 0x89,
          "MsgRegisterEvent of no event type: EINVAL, the struct untouched");
    bad = ev;
    errno = 0;
    r = MsgRegisterEvent(&bad, 12345);
    e = errno;
    CHECK(r == -1 && e == EBADF, "MsgRegisterEvent for a coid that is no connection: EBADF");
    bad = ev;
    bad.sigev_coid = 12345;
    errno = 0;
    r = MsgRegisterEvent(&bad, coid);
    e = errno;
    CHECK(r == -1 && e != 0 && (bad.sigev_notify & SIGEV_FLAG_HANDLE) == 0,
          "MsgRegisterEvent of a pulse to no connection: refused as MsgVerifyEvent refuses it");
    errno = 0;
    r = MsgUnregisterEvent(&ev);
    e = errno;
    CHECK(r == -1 && e == EINVAL, "MsgUnregisterEvent of an unregistered event: EINVAL");
    errno = 0;
    r = MsgUnregisterEvent(NULL);
    e = errno;
    CHECK(r == -1 && e == EFAULT, "MsgUnregisterEvent(NULL): EFAULT");

    ConnectDetach(coid);
    ChannelDestroy(chid);
}

/* ------------------------------------------------------------------ procmgr_daemon */

enum { PH_STATE = _IO_MAX + 1, PH_EVENT, PH_QUIT };

struct ph_msg {
    _Uint16t type;
    _Uint16t subtype;
    _Int32t value;
    struct sigevent ev;
};

/* What the daemon found of itself. */
struct ph_state {
    int ret;        /* procmgr_daemon's return */
    int err;        /* its errno if -1 */
    int pid;        /* getpid() */
    int sid;        /* getsid(0) */
    int umask_was;  /* its umask */
    int pipe_open;  /* the pipe's write end still open */
    int fd0_null;   /* fd 0 is /dev/null */
    int fd0_zero;   /* fd 0 is /dev/zero */
    int fd1_null;   /* fd 1 is /dev/null */
    char cwd[512];
};

static dev_t rdev_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_rdev : (dev_t)-1;
}

static int fd_is(int fd, const char *path) {
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == rdev_of(path);
}

/* The daemon's life: note its state, tell its pid down the pipe if it is open, serve `name`
 * until PH_QUIT (each receive bounded), then _exit. */
static void daemon_main(int ret, int err, int pipe_w, const char *name) {
    struct ph_state st;
    name_attach_t *attach;
    _Uint64t bound = BOUND_NS;
    union {
        struct _pulse p;
        struct ph_msg m;
        _Uint16t type;
        char bytes[256];
    } u;
    mode_t m;

    memset(&st, 0, sizeof st);
    st.ret = ret;
    st.err = err;
    st.pid = (int)getpid();
    st.sid = (int)getsid(0);
    m = umask(0);
    umask(m);
    st.umask_was = (int)m;
    st.pipe_open = fcntl(pipe_w, F_GETFD) != -1;
    st.fd0_null = fd_is(0, "/dev/null");
    st.fd0_zero = fd_is(0, "/dev/zero");
    st.fd1_null = fd_is(1, "/dev/null");
    if (getcwd(st.cwd, sizeof st.cwd) == NULL) {
        strcpy(st.cwd, "?");
    }
    if (st.pipe_open) {
        int pid = st.pid;
        if (write(pipe_w, &pid, sizeof pid) != (ssize_t)sizeof pid) {
            _exit(95);
        }
        close(pipe_w);
    }
    attach = name_attach(NULL, name, 0);
    if (attach == NULL) {
        _exit(97);
    }
    for (;;) {
        rcvid_t rcvid;
        memset(&u, 0, sizeof u);
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &bound, NULL);
        rcvid = MsgReceive(attach->chid, &u, sizeof u, NULL);
        if (rcvid == -1) {
            _exit(96);
        }
        if (rcvid == 0) {
            if (u.p.code == _PULSE_CODE_DISCONNECT) {
                ConnectDetach(u.p.scoid);
            }
            continue;
        }
        if (u.type == _IO_CONNECT) {
            MsgReply(rcvid, EOK, NULL, 0);
            continue;
        }
        switch (u.type) {
        case PH_STATE:
            MsgReply(rcvid, 0, &st, sizeof st);
            break;
        case PH_EVENT: {
            /* The registered event as given, then a copy the server changed. */
            int results[2];
            struct sigevent changed = u.m.ev;
            results[0] = MsgDeliverEvent(rcvid, &u.m.ev) == 0 ? 0 : errno;
            changed.sigev_code = 10;
            results[1] = MsgDeliverEvent(rcvid, &changed) == 0 ? 0 : errno;
            MsgReply(rcvid, 0, results, sizeof results);
            break;
        }
        case PH_QUIT:
            MsgReply(rcvid, 0, NULL, 0);
            name_detach(attach, 0);
            _exit(0);
        default:
            MsgError(rcvid, ENOSYS);
            break;
        }
    }
}

/* Whether process pid has ended (gone, or a zombie no one reaped yet). */
static int gone(pid_t pid) {
    char path[64], buf[256];
    FILE *f;
    char *close_paren;
    if (kill(pid, 0) == -1 && errno == ESRCH) {
        return 1;
    }
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 1;
    }
    buf[0] = '\0';
    if (fgets(buf, sizeof buf, f) == NULL) {
        buf[0] = '\0';
    }
    fclose(f);
    close_paren = strrchr(buf, ')');
    return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static void say_daemon(int pid) {
    printf("daemon %d\n", pid);
    fflush(stdout);
}

/* Makes a daemon with `flags` serving `name`, and checks what it did and that it answers. */
static void test_daemon(unsigned flags, const char *name) {
    int all = flags != 0;
    char cwd[512];
    int pipefd[2], status = 0, coid = -1, i, daemon_pid = -1;
    pid_t launcher, w = 0;
    struct ph_msg msg;
    struct ph_state st;
    struct pollfd pfd;
    ssize_t n;

    /* (Opened here: in a forked child on a shared kernel, libqnxsim's open asks the kernel
     * about the path, and a forked child's first kernel call ends its parent's thread there.) */
    int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);

    CHECK(getcwd(cwd, sizeof cwd) != NULL && pipe(pipefd) == 0 && zero >= 0 && null >= 0,
          "getcwd, pipe, /dev/zero, /dev/null");
    fflush(stdout);
    fflush(stderr);
    launcher = fork();
    if (launcher == 0) {
        /* The program that becomes a daemon: stdin /dev/zero, stdout and stderr /dev/null (so
         * that no daemon holds the test's pipes), umask 022. */
        int r, err;
        if (zero < 0 || null < 0 || dup2(zero, 0) < 0 || dup2(null, 1) < 0 ||
            dup2(null, 2) < 0) {
            _exit(90);
        }
        close(zero);
        close(null);
        close(pipefd[0]);
        umask(022);
        r = procmgr_daemon(42, flags);
        err = errno;
        if (r == -1 && getsid(0) != getpid()) {
            _exit(91); /* failed before the fork: the launcher itself */
        }
        daemon_main(r, err, pipefd[1], name);
        _exit(0);
    }
    close(pipefd[1]);
    close(zero);
    close(null);
    CHECK(launcher > 0, "fork");
    if (launcher <= 0) {
        close(pipefd[0]);
        return;
    }
    for (i = 0; i < 1000; i++) {
        w = waitpid(launcher, &status, WNOHANG);
        if (w != 0) {
            break;
        }
        usleep(10000);
    }
    if (w == 0) {
        kill(launcher, SIGKILL);
        waitpid(launcher, &status, 0);
    }
    CHECK(w == launcher && WIFEXITED(status) && WEXITSTATUS(status) == 42,
          "the caller's parent sees it exit with procmgr_daemon's status");

    /* The pipe: the daemon's pid through it (NOCLOSE), or its end closed (EOF). */
    pfd.fd = pipefd[0];
    pfd.events = POLLIN;
    n = -1;
    if (poll(&pfd, 1, 10000) == 1) {
        n = read(pipefd[0], &daemon_pid, sizeof daemon_pid);
    }
    close(pipefd[0]);
    if (all) {
        CHECK(n == (ssize_t)sizeof daemon_pid && daemon_pid > 0,
              "NOCLOSE: the daemon writes through a descriptor it kept");
        if (daemon_pid > 0) {
            say_daemon(daemon_pid);
        }
    } else {
        CHECK(n == 0, "the daemon closed the descriptors above 2 (the pipe reads EOF)");
    }

    /* Reach it by its name, over the shared kernel (it attaches the name a moment later). */
    for (i = 0; i < 1000 && coid == -1; i++) {
        coid = name_open(name, 0);
        if (coid == -1) {
            usleep(10000);
        }
    }
    CHECK(coid != -1, "name_open of the daemon's name");
    if (coid == -1) {
        return;
    }
    memset(&msg, 0, sizeof msg);
    memset(&st, 0, sizeof st);
    msg.type = PH_STATE;
    CHECK(MsgSend(coid, &msg, sizeof msg, &st, sizeof st) == 0, "the daemon answers a client");
    if (!all && st.pid > 0) {
        say_daemon(st.pid);
    }
    CHECK(st.ret >= 0 && st.ret == st.sid && st.sid == st.pid && st.pid != (int)launcher,
          "procmgr_daemon returned the new session's id: a new process leading it");
    CHECK(!all || st.pid == daemon_pid, "the pid it told is its own");
    if (all) {
        CHECK(strcmp(st.cwd, cwd) == 0, "NOCHDIR: the working directory kept");
        CHECK(st.umask_was == 022, "KEEPUMASK: the umask kept");
        CHECK(st.fd0_zero && !st.fd0_null, "NODEVNULL: stdin kept");
    } else {
        CHECK(strcmp(st.cwd, "/") == 0, "the working directory is /");
        CHECK(st.umask_was == 0, "the umask is 0");
        CHECK(st.fd0_null && !st.fd0_zero && st.fd1_null && !st.pipe_open,
              "stdin and stdout are /dev/null, the pipe closed");
    }

    /* A registered event, delivered by the daemon (a server in another program). */
    if (!all) {
        struct sigevent ev;
        struct _pulse p;
        int results[2] = {-1, -1};
        int chid = ChannelCreate(_NTO_CHF_PRIVATE);
        int self = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
        int r, e;
        memset(&ev, 0, sizeof ev);
        SIGEV_PULSE_INIT(&ev, self, SIGEV_PULSE_PRIO_INHERIT, 9, 1234);
        CHECK(MsgRegisterEvent(&ev, coid) == 0, "MsgRegisterEvent for the daemon's connection");
        errno = 0;
        r = MsgDeliverEvent(0, &ev);
        e = errno;
        CHECK(r == -1 && e == EACCES, "another server (this program) may not deliver it: EACCES");
        memset(&msg, 0, sizeof msg);
        msg.type = PH_EVENT;
        msg.ev = ev;
        CHECK(MsgSend(coid, &msg, sizeof msg, results, sizeof results) == 0 && results[0] == 0,
              "the daemon delivers the registered event");
        CHECK(results[1] == EINVAL, "a copy the daemon changed: EINVAL");
        p = receive_pulse(chid);
        CHECK(p.code == 9 && p.value.sival_int == 1234, "the daemon's pulse arrives");
        CHECK(MsgUnregisterEvent(&ev) == 0, "MsgUnregisterEvent");
        ConnectDetach(self);
        ChannelDestroy(chid);
    }

    memset(&msg, 0, sizeof msg);
    msg.type = PH_QUIT;
    CHECK(MsgSend(coid, &msg, sizeof msg, NULL, 0) == 0, "the daemon quits when asked");
    name_close(coid);
    for (i = 0; i < 1000 && st.pid > 0 && !gone(st.pid); i++) {
        usleep(10000);
    }
    CHECK(st.pid > 0 && gone(st.pid), "the daemon ended");
}

/* ------------------------------------------------------------------ main */

int main(void) {
    char name[64];

    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(porter_order_check() == 0, "the headers included the other way round");
    test_atomic();
    test_gulliver();
    test_slog();
    test_register_event();
    CHECK(getenv("QNXSIM_KERNEL") != NULL, "QNXSIM_KERNEL names a shared kernel");
    snprintf(name, sizeof name, "porter-daemon-a-%d", (int)getpid());
    test_daemon(0, name);
    snprintf(name, sizeof name, "porter-daemon-b-%d", (int)getpid());
    test_daemon(PROCMGR_DAEMON_NOCHDIR | PROCMGR_DAEMON_NOCLOSE | PROCMGR_DAEMON_NODEVNULL |
                    PROCMGR_DAEMON_KEEPUMASK,
                name);
    return SUMMARY();
}
