/*
 * review_porter_headers.c: the C findings of the review of d35a197..HEAD (session 10), run by
 * procnto-sim/tests/review_porter_headers.rs, one mode per run (argv[1]). Each mode prints a line
 * "RESULT ..." and exits 0 when the behaviour is right, 1 when the defect shows, 77 when the
 * scenario could not be set up.
 *
 *   overdrive  A plain event with QNX's SIGEV_FLAG_OVERDRIVE (0x200, SIGEV_MAKE_OVERDRIVE of
 *              QNX 7's <sys/siginfo.h>) is delivered by MsgDeliverEvent, as QNX does (a QNX
 *              touch driver does exactly SIGEV_NONE_INIT; SIGEV_MAKE_OVERDRIVE;
 *              MsgDeliverEvent(0, &ev)). libqnxsim took 0x200 for SIGEV_FLAG_HANDLE (QNX's is
 *              0x2000) and refuses the event as a registration that is not intact.
 *
 *   reregister A struct registered a second time (no MsgUnregisterEvent between) and then
 *              withdrawn: the copy a server holds of its first registration is still
 *              delivered. The first handle stays live in the program's table for ever (each
 *              registration of the same struct leaks one), and nothing can withdraw it but a
 *              copy of the struct as it was.
 *
 *   slog-kernel  slogf in a program that made no kernel, with QNXSIM_KERNEL naming a memory
 *              file FILE: logging should not make the kernel. slogf goes through libqnxsim's
 *              guard, which binds the thread: it creates FILE (a whole kernel) and joins it.
 *
 *   syslog-fd  slogf before procmgr_daemon: glibc's syslog keeps its socket open; the daemon's
 *              close of every descriptor above 2 closes it behind glibc's back; the daemon's
 *              next file takes that number; its next slogf fails to send on it, and glibc's
 *              syslog then closes it (the program's file) and reopens its socket there. Runs in
 *              a private mount namespace with a tmpfs /dev holding a /dev/log socket (a logger
 *              process drains it), so that syslog connects; the namespace goes with the run.
 */
#define _GNU_SOURCE 1 /* unshare, CLONE_NEWNS */

#include <sys/neutrino.h>
#include <sys/procmgr.h>
#include <sys/siginfo.h>
#include <sys/slog.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* QNX 7's value (its <sys/siginfo.h>: SIGEV_FLAG_OVERDRIVE 0x00000200, SIGEV_FLAG_HANDLE
 * 0x00002000). */
#define QNX_SIGEV_FLAG_OVERDRIVE 0x00000200

static int overdrive(void) {
    struct sigevent ev;
    int r, e;
    memset(&ev, 0, sizeof ev);
    SIGEV_NONE_INIT(&ev);
    ev.sigev_notify |= QNX_SIGEV_FLAG_OVERDRIVE; /* SIGEV_MAKE_OVERDRIVE(&ev) */
    errno = 0;
    r = MsgDeliverEvent(0, &ev);
    e = errno;
    printf("RESULT MsgDeliverEvent(0, SIGEV_NONE|OVERDRIVE) = %d errno %d (%s); "
           "SIGEV_FLAG_HANDLE is %#x (QNX: 0x2000)\n",
           r, e, r == 0 ? "delivered" : strerror(e), (unsigned)SIGEV_FLAG_HANDLE);
    fflush(stdout);
    return r == 0 ? 0 : 1;
}

static int reregister(void) {
    struct sigevent ev, held;
    int chid, coid, r1, r2, r3, r, e;
    chid = ChannelCreate(_NTO_CHF_PRIVATE);
    coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    if (chid < 0 || coid < 0) {
        printf("RESULT no channel or connection\n");
        return 77;
    }
    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, coid, SIGEV_PULSE_PRIO_INHERIT, 5, 1);
    r1 = MsgRegisterEvent(&ev, _NTO_REGEVENT_ALLOW_ANY_SERVER);
    held = ev; /* what the server was given */
    r2 = MsgRegisterEvent(&ev, _NTO_REGEVENT_ALLOW_ANY_SERVER);
    r3 = MsgUnregisterEvent(&ev);
    errno = 0;
    r = MsgDeliverEvent(0, &held);
    e = errno;
    printf("RESULT register %d, again %d, unregister %d; the first registration's copy: "
           "MsgDeliverEvent %d errno %d (%s)\n",
           r1, r2, r3, r, e, r == 0 ? "still delivered" : strerror(e));
    fflush(stdout);
    ConnectDetach(coid);
    ChannelDestroy(chid);
    if (r1 != 0 || r2 != 0 || r3 != 0) {
        return 77;
    }
    return r == 0 ? 1 : 0;
}

static int slog_kernel(const char *file) {
    /* (The test looks for the file itself, after this program ended: a stat() here would be
     * libqnxsim's, which asks QNXSIM_KERNEL's path manager and so joins the kernel.) */
    (void)file;
    slogf(_SLOG_SETCODE(_SLOGC_TEST, 9), _SLOG_INFO, "only a log line");
    printf("RESULT logged\n");
    fflush(stdout);
    return 0;
}

/* The socket descriptor this process has open (glibc's syslog's), or -1. */
static int socket_fd(void) {
    int fd;
    struct stat st;
    for (fd = 3; fd < 64; fd++) {
        if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
            return fd;
        }
    }
    return -1;
}

static int syslog_fd(const char *file) {
    struct sockaddr_un sa;
    int ready[2], s, logfd, fds[64], n = 0, i, fd = -1, is_sock;
    pid_t logger;
    char c;
    struct stat st;

    /* A private mount namespace with a /dev of our own, holding /dev/null and /dev/log. */
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") != 0 ||
        mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3)) != 0) {
        printf("RESULT setup failed: %s\n", strerror(errno));
        return 77;
    }
    if (pipe(ready) != 0) {
        printf("RESULT pipe: %s\n", strerror(errno));
        return 77;
    }
    logger = fork();
    if (logger == 0) {
        /* The logger: takes /dev/log's datagrams until killed (at most 60 s). */
        char buf[2048];
        close(ready[0]);
        close(1);
        close(2);
        s = socket(AF_UNIX, SOCK_DGRAM, 0);
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        strcpy(sa.sun_path, "/dev/log");
        if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
            _exit(1);
        }
        if (write(ready[1], "r", 1) != 1) {
            _exit(1);
        }
        close(ready[1]);
        alarm(60);
        for (;;) {
            if (recv(s, buf, sizeof buf, 0) < 0 && errno != EINTR) {
                _exit(0);
            }
        }
    }
    close(ready[1]);
    if (logger < 0 || read(ready[0], &c, 1) != 1) {
        printf("RESULT the logger did not start\n");
        return 77;
    }
    close(ready[0]);

    /* Logged before the daemon: glibc's syslog connects to /dev/log and keeps the socket. */
    slogf(_SLOG_SETCODE(_SLOGC_TEST, 1), _SLOG_INFO, "before the daemon");
    logfd = socket_fd();
    if (logfd < 0) {
        printf("RESULT syslog kept no socket\n");
        kill(logger, SIGKILL);
        return 77;
    }
    /* Keeps stdout (the test reads the result there) and the working directory. */
    if (procmgr_daemon(0, PROCMGR_DAEMON_NOCHDIR | PROCMGR_DAEMON_NODEVNULL) < 0) {
        printf("RESULT procmgr_daemon: %s\n", strerror(errno));
        kill(logger, SIGKILL);
        return 77;
    }
    /* The daemon opens files until one takes the number syslog's socket had. */
    for (i = 0; i < 64 && fd != logfd; i++) {
        fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) {
            break;
        }
        fds[n++] = fd;
    }
    if (fd != logfd) {
        printf("RESULT no file took descriptor %d (last %d)\n", logfd, fd);
        kill(logger, SIGKILL);
        return 77;
    }
    slogf(_SLOG_SETCODE(_SLOGC_TEST, 2), _SLOG_INFO, "in the daemon");
    is_sock = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    printf("RESULT the daemon's file on descriptor %d is %s after its slogf\n", fd,
           is_sock ? "now syslog's socket" : "still its file");
    fflush(stdout);
    for (i = 0; i < n; i++) {
        close(fds[i]);
    }
    unlink(file);
    kill(logger, SIGKILL);
    waitpid(logger, NULL, 0);
    return is_sock ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "overdrive") == 0) {
        return overdrive();
    }
    if (argc >= 2 && strcmp(argv[1], "reregister") == 0) {
        return reregister();
    }
    if (argc >= 3 && strcmp(argv[1], "slog-kernel") == 0) {
        return slog_kernel(argv[2]);
    }
    if (argc >= 3 && strcmp(argv[1], "syslog-fd") == 0) {
        return syslog_fd(argv[2]);
    }
    fprintf(stderr, "usage: %s overdrive | reregister | slog-kernel FILE | syslog-fd FILE\n", argv[0]);
    return 2;
}
