/*
 * spawn_suite.c: QNX's spawn*() family of <process.h>: every form (spawnl, spawnle, spawnlp,
 * spawnlpe, spawnv, spawnve, spawnvp, spawnvpe) in every mode (P_WAIT, P_NOWAIT, P_NOWAITO,
 * P_OVERLAY), what each returns (P_WAIT: the child's status as wait() reports it), the
 * arguments and environment the child gets (it echoes them), P_OVERLAY keeping the pid (in a
 * sub-run, so that the suite goes on), P_NOWAITO leaving no zombie, every errno (EINVAL,
 * EFAULT, ENOENT, ENOTDIR, EACCES, ENOEXEC, E2BIG, ENOMEM, ECHILD), errno left alone on
 * success, a P_WAIT interrupted by a signal handler, and, on a shared kernel (QNXSIM_KERNEL),
 * a spawned child program that connects to this one and sends it a message, received and
 * replied to here, also after the child overlaid itself.
 *
 * With no argument: the suite. Its children are this program in a role (argv[1]): "echo"
 * (prints its argc, argv, pid and environment), "exit N", "signal" (killed by SIGTERM),
 * "sleep MS", "overlay FORM" (P_OVERLAY of "echo" with one form), "enomem" (spawns under an
 * address-space limit), "client PID CHID" (MsgSend to PID's channel), "client-overlay PID
 * CHID" (joins the kernel, then P_OVERLAY into "client").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <process.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define SENTINEL_ERRNO 4242
#define S(x) ((char *)(x))

extern char **environ;

static char self[PATH_MAX]; /* this program */
static char dir[PATH_MAX];  /* its directory (the test's temporary one) */
static const char *base;    /* its name, found through PATH */

/* ------------------------------------------------------------------ helpers */

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Output capture: the children's stdout (fd 1) goes into a pipe between cap_begin() and
 * cap_end(); cap_read() reads it to EOF (all the children that hold it ended), 10 s at most. */
static int cap_fd = -1;
static int saved_out = -1;

static void cloexec(int fd) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void cap_begin(void) {
    int p[2];
    fflush(stdout);
    if (pipe(p) != 0) {
        perror("pipe");
        exit(2);
    }
    cloexec(p[0]);
    cloexec(p[1]);
    saved_out = dup(1);
    cloexec(saved_out);
    dup2(p[1], 1);
    close(p[1]);
    cap_fd = p[0];
}

static void cap_end(void) {
    fflush(stdout);
    dup2(saved_out, 1);
    close(saved_out);
    saved_out = -1;
}

static void cap_read(char *buf, size_t size) {
    size_t n = 0;
    int waited = 0;
    while (n + 1 < size && waited < 10000) {
        struct pollfd pfd;
        ssize_t r;
        pfd.fd = cap_fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 100) == 0) {
            waited += 100;
            continue;
        }
        r = read(cap_fd, buf + n, size - 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(cap_fd);
    cap_fd = -1;
}

/* Whether the echo in `out` shows exactly `args`, the environment `env` (NULL: the suite's
 * own, inherited: SPAWN_INHERIT=yes among it), and ends; its pid into *pid. */
static int echo_matches(const char *out, char *const *args, char *const *env, int *pid,
                        const char *what) {
    char want[8192];
    size_t n;
    int i, argc = 0, ok = 1;
    const char *p;
    while (args[argc] != NULL) {
        argc++;
    }
    n = (size_t)snprintf(want, sizeof want, "argc %d\n", argc);
    for (i = 0; i < argc; i++) {
        n += (size_t)snprintf(want + n, sizeof want - n, "arg %d %s\n", i, args[i]);
    }
    if (strncmp(out, want, n) != 0) {
        ok = 0;
    } else {
        p = out + n;
        if (sscanf(p, "pid %d\n", pid) != 1) {
            ok = 0;
        } else {
            p = strchr(p, '\n') + 1;
            if (env != NULL) {
                size_t m = 0;
                for (i = 0; env[i] != NULL; i++) {
                    m += (size_t)snprintf(want + m, sizeof want - m, "env %s\n", env[i]);
                }
                snprintf(want + m, sizeof want - m, "end\n");
                ok = strcmp(p, want) == 0;
            } else {
                size_t len = strlen(p);
                ok = strstr(p, "env SPAWN_INHERIT=yes\n") != NULL && len >= 4 &&
                     strcmp(p + len - 4, "end\n") == 0;
            }
        }
    }
    if (!ok) {
        printf("  %s: the child echoed:\n%s  --\n", what, out);
    }
    return ok;
}

/* Waits (5 s at most) until `pid` is gone for good: not even a zombie (kill() finds none). */
static int gone(pid_t pid) {
    int i;
    for (i = 0; i < 500; i++) {
        if (kill(pid, 0) == -1 && errno == ESRCH) {
            return 1;
        }
        sleep_ms(10);
    }
    return 0;
}

/* A status from waitpid, bounded (10 s): -1 if it never ended (then it is killed). */
static int wait_child(pid_t pid) {
    int status, i;
    for (i = 0; i < 1000; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return status;
        }
        if (r == -1 && errno != EINTR) {
            return -1;
        }
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* ------------------------------------------------------------------ the forms */

static const char *const FORMS[] = {"l", "le", "lp", "lpe", "v", "ve", "vp", "vpe"};
#define NFORMS 8

static int has_env(const char *form) {
    return strchr(form, 'e') != NULL;
}

static int searches(const char *form) {
    return strchr(form, 'p') != NULL;
}

/* Calls spawn<form>(mode, path, args..., env): an l form takes exactly 5 arguments. */
static int spawn_form(const char *form, int mode, const char *path, char *const *args,
                      char *const *env) {
    if (strcmp(form, "l") == 0) {
        return spawnl(mode, path, args[0], args[1], args[2], args[3], args[4], NULL);
    }
    if (strcmp(form, "le") == 0) {
        return spawnle(mode, path, args[0], args[1], args[2], args[3], args[4], NULL, env);
    }
    if (strcmp(form, "lp") == 0) {
        return spawnlp(mode, path, args[0], args[1], args[2], args[3], args[4], NULL);
    }
    if (strcmp(form, "lpe") == 0) {
        return spawnlpe(mode, path, args[0], args[1], args[2], args[3], args[4], NULL, env);
    }
    if (strcmp(form, "v") == 0) {
        return spawnv(mode, path, args);
    }
    if (strcmp(form, "ve") == 0) {
        return spawnve(mode, path, args, env);
    }
    if (strcmp(form, "vp") == 0) {
        return spawnvp(mode, path, args);
    }
    return spawnvpe(mode, path, args, env);
}

/* The echo child's arguments (5, for the l forms) and the environment the e forms give. */
static char *ECHO_ARGS[] = {S("zero"), S("echo"), S("two words"), S(""), S("x=y \xc3\xa9"),
                            NULL};
static char *ECHO_ENV[] = {S("SPAWN_A=1"), S("SPAWN_B=two words"), NULL};

/* The path a form is given: this program's name for the p forms (found through PATH). */
static const char *path_for(const char *form) {
    return searches(form) ? base : self;
}

static void modes_of(const char *form) {
    char out[16384], what[128];
    char *const *env = has_env(form) ? ECHO_ENV : NULL;
    char *const *want_env = has_env(form) ? ECHO_ENV : NULL;
    int r, pid, e;

    /* P_WAIT: the child's status (0: exited 0), its output complete on return. */
    cap_begin();
    errno = SENTINEL_ERRNO;
    r = spawn_form(form, P_WAIT, path_for(form), ECHO_ARGS, env);
    e = errno;
    cap_end();
    cap_read(out, sizeof out);
    snprintf(what, sizeof what, "spawn%s(P_WAIT) returns the status 0 of a child that exited 0",
             form);
    CHECK(r == 0, what);
    snprintf(what, sizeof what, "spawn%s(P_WAIT) leaves errno alone on success", form);
    CHECK(e == SENTINEL_ERRNO, what);
    snprintf(what, sizeof what, "spawn%s(P_WAIT): the child got the arguments and environment",
             form);
    CHECK(echo_matches(out, ECHO_ARGS, want_env, &pid, what), what);
    CHECK(pid != getpid(), "P_WAIT's child is another process");

    /* P_NOWAIT: the child's pid, to wait for. */
    cap_begin();
    r = spawn_form(form, P_NOWAIT, path_for(form), ECHO_ARGS, env);
    cap_end();
    snprintf(what, sizeof what, "spawn%s(P_NOWAIT) returns a pid", form);
    CHECK(r > 0 && r != getpid(), what);
    cap_read(out, sizeof out);
    snprintf(what, sizeof what, "spawn%s(P_NOWAIT): the child got the arguments and environment",
             form);
    CHECK(echo_matches(out, ECHO_ARGS, want_env, &pid, what) && pid == r, what);
    if (r > 0) {
        int st = wait_child(r);
        snprintf(what, sizeof what, "spawn%s(P_NOWAIT): waitpid gives the child's exit 0", form);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, what);
    }

    /* P_NOWAITO: the child's pid; it leaves no zombie and cannot be waited for. */
    cap_begin();
    r = spawn_form(form, P_NOWAITO, path_for(form), ECHO_ARGS, env);
    cap_end();
    snprintf(what, sizeof what, "spawn%s(P_NOWAITO) returns a pid", form);
    CHECK(r > 0 && r != getpid(), what);
    cap_read(out, sizeof out);
    snprintf(what, sizeof what,
             "spawn%s(P_NOWAITO): the child got the arguments and environment", form);
    CHECK(echo_matches(out, ECHO_ARGS, want_env, &pid, what) && pid == r, what);
    if (r > 0) {
        snprintf(what, sizeof what, "spawn%s(P_NOWAITO): the ended child leaves no zombie", form);
        CHECK(gone(r), what);
        errno = 0;
        snprintf(what, sizeof what, "spawn%s(P_NOWAITO): waitpid finds no child (ECHILD)", form);
        CHECK(waitpid(r, NULL, WNOHANG) == -1 && errno == ECHILD, what);
    }

    /* P_OVERLAY, in a sub-run that overlays itself with "echo": the same pid, the new argv
     * and environment, and no return (the sub-run's own "returned" line never comes). */
    cap_begin();
    r = spawnl(P_NOWAIT, self, "sub", "overlay", form, NULL);
    cap_end();
    cap_read(out, sizeof out);
    {
        char *over_args[] = {S("over"), S("echo"), S(form), NULL};
        char *over_env[] = {S("SPAWN_OVER=1"), NULL};
        char prefix[64];
        int st = r > 0 ? wait_child(r) : -1;
        snprintf(prefix, sizeof prefix, "before %d\n", r);
        snprintf(what, sizeof what,
                 "spawn%s(P_OVERLAY) replaces the program, keeping its pid, with the new "
                 "arguments and environment",
                 form);
        CHECK(r > 0 && strncmp(out, prefix, strlen(prefix)) == 0 &&
                  echo_matches(out + strlen(prefix), over_args, has_env(form) ? over_env : NULL,
                               &pid, what) &&
                  pid == r,
              what);
        snprintf(what, sizeof what, "spawn%s(P_OVERLAY) did not return (the echo's exit 0)",
                 form);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, what);
    }
}

/* ------------------------------------------------------------------ statuses */

static void statuses(void) {
    int r;
    r = spawnl(P_WAIT, self, "x", "exit", "3", NULL);
    CHECK(r == (3 << 8), "P_WAIT returns the status wait() reports: exit(3) gives 0x300");
    CHECK(WIFEXITED(r) && WEXITSTATUS(r) == 3, "P_WAIT's status: WEXITSTATUS is the exit code");
    r = spawnl(P_WAIT, self, "x", "exit", "0", NULL);
    CHECK(r == 0, "P_WAIT: exit(0) gives 0");
    r = spawnlp(P_WAIT, base, "x", "exit", "255", NULL);
    CHECK(WIFEXITED(r) && WEXITSTATUS(r) == 255, "P_WAIT: exit(255) gives WEXITSTATUS 255");
    r = spawnl(P_WAIT, self, "x", "signal", NULL);
    CHECK(r != -1 && WIFSIGNALED(r) && WTERMSIG(r) == SIGTERM,
          "P_WAIT: a child killed by SIGTERM gives WIFSIGNALED, WTERMSIG SIGTERM");
    /* A full path to a p form is used as it is. */
    r = spawnlp(P_WAIT, self, "x", "exit", "5", NULL);
    CHECK(WIFEXITED(r) && WEXITSTATUS(r) == 5, "spawnlp with a '/' in the name takes it as a path");
    /* Other programs, through PATH. */
    r = spawnlp(P_WAIT, "true", "true", NULL);
    CHECK(r == 0, "spawnlp(P_WAIT, \"true\") runs the system's true: 0");
    r = spawnlp(P_WAIT, "false", "false", NULL);
    CHECK(WIFEXITED(r) && WEXITSTATUS(r) == 1, "spawnlp(P_WAIT, \"false\"): exit 1");
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig) {
    (void)sig;
    alarms++;
}

/* A P_WAIT whose wait a signal handler interrupts (no SA_RESTART) still returns the status. */
static void interrupted_wait(void) {
    struct sigaction sa, old;
    struct itimerval it;
    int r;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, &old);
    memset(&it, 0, sizeof it);
    it.it_value.tv_usec = 50000;
    it.it_interval.tv_usec = 50000;
    alarms = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    r = spawnl(P_WAIT, self, "x", "sleep", "400", NULL);
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, NULL);
    sigaction(SIGALRM, &old, NULL);
    CHECK(alarms > 0, "the handler ran during the P_WAIT");
    CHECK(r == 0, "a P_WAIT interrupted by signal handlers returns the child's status");
}

/* ------------------------------------------------------------------ errors */

static char noexec_path[PATH_MAX + 64];
static char noperm_path[PATH_MAX + 64];
static const char *noperm_name;

static void make_file(const char *path, mode_t mode, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        ssize_t w = write(fd, text, strlen(text));
        (void)w;
        close(fd);
    }
    chmod(path, mode);
}

static void expect_error(int r, int e, int want, const char *what) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s (got %d, errno %d)", what, r, e);
    CHECK(r == -1 && e == want, msg);
}

static void errors(void) {
    char *args[] = {S("x"), S("exit"), S("0"), NULL};
    char *empty[] = {NULL};
    char what[160];
    int i, r, e;
    char *big;
    char *big_args[4];

    for (i = 0; i < NFORMS; i++) {
        const char *f = FORMS[i];
        const char *path = path_for(f);
        int modes[] = {4, -1, 100};
        int m;
        for (m = 0; m < 3; m++) {
            errno = 0;
            r = spawn_form(f, modes[m], path, ECHO_ARGS, ECHO_ENV);
            e = errno;
            snprintf(what, sizeof what, "spawn%s with mode %d: EINVAL", f, modes[m]);
            expect_error(r, e, EINVAL, what);
        }
        errno = 0;
        r = spawn_form(f, P_WAIT, NULL, ECHO_ARGS, ECHO_ENV);
        e = errno;
        snprintf(what, sizeof what, "spawn%s with a NULL path: EFAULT", f);
        expect_error(r, e, EFAULT, what);
        errno = 0;
        r = spawn_form(f, P_OVERLAY, NULL, ECHO_ARGS, ECHO_ENV);
        e = errno;
        snprintf(what, sizeof what, "spawn%s(P_OVERLAY) with a NULL path: EFAULT", f);
        expect_error(r, e, EFAULT, what);
        errno = 0;
        r = spawn_form(f, P_WAIT, "/nonexistent/spawn-suite", ECHO_ARGS, ECHO_ENV);
        e = errno;
        snprintf(what, sizeof what, "spawn%s(P_WAIT) of a missing program: ENOENT", f);
        expect_error(r, e, ENOENT, what);
        errno = 0;
        r = spawn_form(f, P_NOWAIT, "/nonexistent/spawn-suite", ECHO_ARGS, ECHO_ENV);
        e = errno;
        snprintf(what, sizeof what, "spawn%s(P_NOWAIT) of a missing program: ENOENT", f);
        expect_error(r, e, ENOENT, what);
        errno = 0;
        r = spawn_form(f, P_NOWAITO, "/nonexistent/spawn-suite", ECHO_ARGS, ECHO_ENV);
        e = errno;
        snprintf(what, sizeof what, "spawn%s(P_NOWAITO) of a missing program: ENOENT", f);
        expect_error(r, e, ENOENT, what);
        errno = 0;
        r = spawn_form(f, P_OVERLAY, "/nonexistent/spawn-suite", ECHO_ARGS, ECHO_ENV);
        e = errno;
        snprintf(what, sizeof what, "spawn%s(P_OVERLAY) of a missing program: ENOENT, returns",
                 f);
        expect_error(r, e, ENOENT, what);
        errno = 0;
        r = spawn_form(f, P_WAIT, "", ECHO_ARGS, ECHO_ENV);
        e = errno;
        snprintf(what, sizeof what, "spawn%s with an empty path: ENOENT", f);
        expect_error(r, e, ENOENT, what);
    }

    /* A NULL argv (the v forms), an empty one (argv[0] NULL; for the l forms a NULL arg0). */
    errno = 0;
    r = spawnv(P_WAIT, self, NULL);
    expect_error(r, errno, EFAULT, "spawnv with a NULL argv: EFAULT");
    errno = 0;
    r = spawnve(P_NOWAIT, self, NULL, ECHO_ENV);
    expect_error(r, errno, EFAULT, "spawnve with a NULL argv: EFAULT");
    errno = 0;
    r = spawnvp(P_OVERLAY, base, NULL);
    expect_error(r, errno, EFAULT, "spawnvp(P_OVERLAY) with a NULL argv: EFAULT");
    errno = 0;
    r = spawnvpe(P_NOWAITO, base, NULL, NULL);
    expect_error(r, errno, EFAULT, "spawnvpe with a NULL argv: EFAULT");
    errno = 0;
    r = spawnv(P_WAIT, self, empty);
    expect_error(r, errno, EINVAL, "spawnv with argv[0] NULL: EINVAL");
    errno = 0;
    r = spawnvpe(P_OVERLAY, base, empty, NULL);
    expect_error(r, errno, EINVAL, "spawnvpe(P_OVERLAY) with argv[0] NULL: EINVAL");
    errno = 0;
    r = spawnl(P_WAIT, self, NULL);
    expect_error(r, errno, EINVAL, "spawnl with a NULL arg0: EINVAL");
    errno = 0;
    r = spawnle(P_NOWAIT, self, NULL, ECHO_ENV);
    expect_error(r, errno, EINVAL, "spawnle with a NULL arg0: EINVAL");
    errno = 0;
    r = spawnlp(P_NOWAITO, base, NULL);
    expect_error(r, errno, EINVAL, "spawnlp with a NULL arg0: EINVAL");
    errno = 0;
    r = spawnlpe(P_OVERLAY, base, NULL, NULL);
    expect_error(r, errno, EINVAL, "spawnlpe(P_OVERLAY) with a NULL arg0: EINVAL");

    /* A name PATH does not have; a path through a file. */
    errno = 0;
    r = spawnvp(P_WAIT, "no-such-program-spawn-suite", args);
    expect_error(r, errno, ENOENT, "spawnvp of a name on no PATH entry: ENOENT");
    errno = 0;
    r = spawnlpe(P_OVERLAY, "no-such-program-spawn-suite", "x", NULL, NULL);
    expect_error(r, errno, ENOENT, "spawnlpe(P_OVERLAY) of a name on no PATH entry: ENOENT");
    errno = 0;
    r = spawnv(P_WAIT, "/etc/passwd/x", args);
    expect_error(r, errno, ENOTDIR, "spawnv of a path through a file: ENOTDIR");
    errno = 0;
    r = spawnv(P_OVERLAY, "/etc/passwd/x", args);
    expect_error(r, errno, ENOTDIR, "spawnv(P_OVERLAY) of a path through a file: ENOTDIR");

    /* A file without execute permission: EACCES; an executable that is no program: ENOEXEC. */
    errno = 0;
    r = spawnv(P_WAIT, noperm_path, args);
    expect_error(r, errno, EACCES, "spawnv(P_WAIT) of a file without x permission: EACCES");
    errno = 0;
    r = spawnl(P_NOWAIT, noperm_path, "x", NULL);
    expect_error(r, errno, EACCES, "spawnl(P_NOWAIT) of a file without x permission: EACCES");
    errno = 0;
    r = spawnvp(P_WAIT, noperm_name, args);
    expect_error(r, errno, EACCES, "spawnvp of a name PATH has only without x: EACCES");
    errno = 0;
    r = spawnv(P_OVERLAY, noperm_path, args);
    expect_error(r, errno, EACCES, "spawnv(P_OVERLAY) of a file without x permission: EACCES");
    errno = 0;
    r = spawnlp(P_OVERLAY, noperm_name, "x", NULL);
    expect_error(r, errno, EACCES, "spawnlp(P_OVERLAY) of a name PATH has only without x: "
                                   "EACCES");
    errno = 0;
    r = spawnv(P_WAIT, noexec_path, args);
    expect_error(r, errno, ENOEXEC, "spawnv(P_WAIT) of an executable that is no program: "
                                    "ENOEXEC");
    errno = 0;
    r = spawnle(P_NOWAITO, noexec_path, "x", NULL, ECHO_ENV);
    expect_error(r, errno, ENOEXEC, "spawnle(P_NOWAITO) of an executable that is no program: "
                                    "ENOEXEC");
    errno = 0;
    r = spawnv(P_OVERLAY, noexec_path, args);
    expect_error(r, errno, ENOEXEC, "spawnv(P_OVERLAY) of an executable that is no program: "
                                    "ENOEXEC");

    /* An argument longer than Linux takes (128 KiB): E2BIG, in every mode. */
    big = (char *)malloc(200 * 1024 + 1);
    if (big != NULL) {
        memset(big, 'a', 200 * 1024);
        big[200 * 1024] = '\0';
        big_args[0] = S("x");
        big_args[1] = S("exit");
        big_args[2] = big;
        big_args[3] = NULL;
        errno = 0;
        r = spawnv(P_WAIT, self, big_args);
        expect_error(r, errno, E2BIG, "spawnv(P_WAIT) with a 200 KiB argument: E2BIG");
        errno = 0;
        r = spawnl(P_NOWAIT, self, "x", big, NULL);
        expect_error(r, errno, E2BIG, "spawnl(P_NOWAIT) with a 200 KiB argument: E2BIG");
        errno = 0;
        r = spawnvpe(P_NOWAITO, base, big_args, NULL);
        expect_error(r, errno, E2BIG, "spawnvpe(P_NOWAITO) with a 200 KiB argument: E2BIG");
        errno = 0;
        r = spawnv(P_OVERLAY, self, big_args);
        expect_error(r, errno, E2BIG, "spawnv(P_OVERLAY) with a 200 KiB argument: E2BIG");
        {
            char *big_env[] = {big, NULL};
            errno = 0;
            r = spawnve(P_WAIT, self, args, big_env);
            expect_error(r, errno, E2BIG, "spawnve(P_WAIT) with a 200 KiB environment string: "
                                          "E2BIG");
            errno = 0;
            r = spawnle(P_OVERLAY, self, "x", NULL, big_env);
            expect_error(r, errno, E2BIG, "spawnle(P_OVERLAY) with a 200 KiB environment "
                                          "string: E2BIG");
        }
        free(big);
    } else {
        CHECK(0, "malloc for the E2BIG checks");
    }

    /* ENOMEM: a sub-run spawns under an address-space limit (it checks, its exit says). */
    r = spawnl(P_WAIT, self, "x", "enomem", NULL);
    CHECK(WIFEXITED(r) && WEXITSTATUS(r) == 0,
          "spawnv and spawnl with no memory left for the child: ENOMEM (in a sub-run)");
    if (!(WIFEXITED(r) && WEXITSTATUS(r) == 0)) {
        printf("  the enomem sub-run's status: %#x\n", (unsigned)r);
    }

    /* ECHILD: with SIGCHLD ignored the child reaps itself; P_WAIT has nothing to wait for. */
    {
        struct sigaction ign, old;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGCHLD, &ign, &old);
        errno = 0;
        r = spawnl(P_WAIT, self, "x", "exit", "3", NULL);
        e = errno;
        sigaction(SIGCHLD, &old, NULL);
        expect_error(r, e, ECHILD, "spawnl(P_WAIT) with SIGCHLD ignored: ECHILD");
    }
}

/* ------------------------------------------------------------------ across programs */

static void arm(int flags) {
    _Uint64t ns = 10000000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, flags, NULL, &ns, NULL);
}

/* Spawns "role PID CHID" (P_NOWAIT), receives its message, replies; checks it all. */
static void serve_one(int chid, const char *role) {
    char pid_s[16], chid_s[16], msg[64], want[64], what[160];
    struct _msg_info info;
    rcvid_t rcvid;
    int child, st;
    snprintf(pid_s, sizeof pid_s, "%d", getpid());
    snprintf(chid_s, sizeof chid_s, "%d", chid);
    child = spawnl(P_NOWAIT, self, base, role, pid_s, chid_s, NULL);
    snprintf(what, sizeof what, "spawnl(P_NOWAIT) of the %s child", role);
    CHECK(child > 0, what);
    if (child <= 0) {
        return;
    }
    memset(msg, 0, sizeof msg);
    arm(_NTO_TIMEOUT_RECEIVE);
    rcvid = MsgReceive(chid, msg, sizeof msg, &info);
    snprintf(what, sizeof what, "MsgReceive gets the %s child's message", role);
    CHECK(rcvid > 0, what);
    snprintf(want, sizeof want, "hello from %d", child);
    snprintf(what, sizeof what, "the %s child's message names its pid (got \"%s\")", role, msg);
    CHECK(strcmp(msg, want) == 0, what);
    snprintf(what, sizeof what, "the sender is the %s child (info.pid %d)", role,
             (int)info.pid);
    CHECK(info.pid == child, what);
    if (rcvid > 0) {
        snprintf(what, sizeof what, "MsgReply to the %s child", role);
        CHECK(MsgReply(rcvid, 42, "world", 6) == 0, what);
    }
    st = wait_child(child);
    snprintf(what, sizeof what, "the %s child got the reply and ended with 0 (status %#x)", role,
             (unsigned)st);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, what);
}

static void across_programs(void) {
    int chid, r;
    if (getenv("QNXSIM_KERNEL") == NULL || getenv("QNXSIM_KERNEL")[0] == '\0') {
        printf("skipped: the checks across programs need QNXSIM_KERNEL\n");
        return;
    }
    chid = ChannelCreate(0);
    CHECK(chid > 0, "ChannelCreate on the shared kernel (after the failed P_OVERLAYs)");
    if (chid <= 0) {
        return;
    }
    serve_one(chid, "client");
    serve_one(chid, "client-overlay");
    r = spawnl(P_WAIT, self, "x", "exit", "3", NULL);
    CHECK(r == (3 << 8) && WEXITSTATUS(r) == 3,
          "on the shared kernel too, P_WAIT on a child that exits 3 returns 0x300");
    CHECK(ChannelDestroy(chid) == 0, "ChannelDestroy");
}

/* ------------------------------------------------------------------ the roles */

static int echo_role(int argc, char **argv) {
    int i;
    printf("argc %d\n", argc);
    for (i = 0; i < argc; i++) {
        printf("arg %d %s\n", i, argv[i]);
    }
    printf("pid %d\n", getpid());
    for (i = 0; environ[i] != NULL; i++) {
        printf("env %s\n", environ[i]);
    }
    printf("end\n");
    return 0;
}

static int overlay_role(const char *form) {
    char *args[] = {S("over"), S("echo"), S(form), NULL};
    char *env[] = {S("SPAWN_OVER=1"), NULL};
    const char *path = path_for(form);
    int r = -2;
    printf("before %d\n", getpid());
    fflush(stdout);
    if (strcmp(form, "l") == 0) {
        r = spawnl(P_OVERLAY, path, "over", "echo", form, NULL);
    } else if (strcmp(form, "le") == 0) {
        r = spawnle(P_OVERLAY, path, "over", "echo", form, NULL, env);
    } else if (strcmp(form, "lp") == 0) {
        r = spawnlp(P_OVERLAY, path, "over", "echo", form, NULL);
    } else if (strcmp(form, "lpe") == 0) {
        r = spawnlpe(P_OVERLAY, path, "over", "echo", form, NULL, env);
    } else if (strcmp(form, "v") == 0) {
        r = spawnv(P_OVERLAY, path, args);
    } else if (strcmp(form, "ve") == 0) {
        r = spawnve(P_OVERLAY, path, args, env);
    } else if (strcmp(form, "vp") == 0) {
        r = spawnvp(P_OVERLAY, path, args);
    } else if (strcmp(form, "vpe") == 0) {
        r = spawnvpe(P_OVERLAY, path, args, env);
    }
    printf("returned %d errno %d\n", r, errno);
    return 50;
}

/* Spawns under an address-space limit at what is mapped now: no room for the child's
 * stack. Exit 0: both ENOMEM; else a code saying which was not. */
static int enomem_role(void) {
    char buf[256];
    char *args[] = {S("x"), S("exit"), S("0"), NULL};
    unsigned long pages = 0;
    struct rlimit rl;
    ssize_t n;
    int fd, r1, e1, r2, e2;
    (void)spawnv(-1, self, args); /* (resolves what the calls need, before the limit) */
    (void)spawnl(-1, self, "x", NULL);
    fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0) {
        return 10;
    }
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return 11;
    }
    buf[n] = '\0';
    pages = strtoul(buf, NULL, 10);
    if (getrlimit(RLIMIT_AS, &rl) != 0) {
        return 12;
    }
    rl.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
        return 13;
    }
    errno = 0;
    r1 = spawnv(P_WAIT, self, args);
    e1 = errno;
    errno = 0;
    r2 = spawnl(P_NOWAIT, self, "x", "exit", "0", NULL);
    e2 = errno;
    if (r1 != -1 || e1 != ENOMEM) {
        _exit(20);
    }
    if (r2 != -1 || e2 != ENOMEM) {
        _exit(21);
    }
    _exit(0);
}

static int client_role(int pid, int chid) {
    char msg[64], reply[16];
    long r;
    int coid = ConnectAttach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, 0);
    if (coid == -1) {
        fprintf(stderr, "client: ConnectAttach(%d, %d): %s\n", pid, chid, strerror(errno));
        return 10;
    }
    snprintf(msg, sizeof msg, "hello from %d", getpid());
    memset(reply, 0, sizeof reply);
    arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    r = MsgSend(coid, msg, strlen(msg) + 1, reply, sizeof reply);
    if (r != 42) {
        fprintf(stderr, "client: MsgSend: %ld (%s)\n", r, strerror(errno));
        return 11;
    }
    if (strcmp(reply, "world") != 0) {
        return 12;
    }
    if (ConnectDetach(coid) != 0) {
        return 13;
    }
    return 0;
}

/* Joins the kernel (a channel of its own), then overlays itself with "client": the new
 * program keeps the pid and joins the kernel as it. */
static int client_overlay_role(const char *pid, const char *chid) {
    int own = ChannelCreate(0);
    int r;
    if (own <= 0) {
        fprintf(stderr, "client-overlay: ChannelCreate: %s\n", strerror(errno));
        return 20;
    }
    r = spawnl(P_OVERLAY, self, "x", "client", pid, chid, NULL);
    fprintf(stderr, "client-overlay: P_OVERLAY returned %d (%s)\n", r, strerror(errno));
    return 21;
}

static void find_self(void) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash;
    if (n <= 0) {
        perror("readlink /proc/self/exe");
        exit(2);
    }
    self[n] = '\0';
    strcpy(dir, self);
    slash = strrchr(dir, '/');
    *slash = '\0';
    base = strrchr(self, '/') + 1;
}

int main(int argc, char **argv) {
    int i;
    find_self();
    if (argc >= 2) {
        /* A child of the suite dies with it: a suite killed mid-run leaves none behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    }
    if (argc >= 2 && strcmp(argv[1], "echo") == 0) {
        return echo_role(argc, argv);
    }
    if (argc == 3 && strcmp(argv[1], "exit") == 0) {
        return atoi(argv[2]);
    }
    if (argc == 2 && strcmp(argv[1], "signal") == 0) {
        kill(getpid(), SIGTERM);
        return 30;
    }
    if (argc == 3 && strcmp(argv[1], "sleep") == 0) {
        sleep_ms(atoi(argv[2]));
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "overlay") == 0) {
        return overlay_role(argv[2]);
    }
    if (argc == 2 && strcmp(argv[1], "enomem") == 0) {
        return enomem_role();
    }
    if (argc == 4 && strcmp(argv[1], "client") == 0) {
        return client_role(atoi(argv[2]), atoi(argv[3]));
    }
    if (argc == 4 && strcmp(argv[1], "client-overlay") == 0) {
        return client_overlay_role(argv[2], argv[3]);
    }
    if (argc != 1) {
        fprintf(stderr, "spawn_suite: unknown role %s\n", argv[1]);
        return 2;
    }

    /* The suite: its directory first on PATH (the p forms find it by name), a variable the
     * children inherit, the files of the error checks. */
    {
        const char *old = getenv("PATH");
        size_t len = strlen(dir) + (old ? strlen(old) : 0) + 2;
        char *path = (char *)malloc(len);
        snprintf(path, len, "%s:%s", dir, old ? old : "/bin:/usr/bin");
        setenv("PATH", path, 1);
        free(path);
    }
    setenv("SPAWN_INHERIT", "yes", 1);
    snprintf(noexec_path, sizeof noexec_path, "%s/spawn-noexec", dir);
    snprintf(noperm_path, sizeof noperm_path, "%s/spawn-noperm-%d", dir, getpid());
    noperm_name = strrchr(noperm_path, '/') + 1;
    make_file(noexec_path, 0755, "this is no program\n");
    make_file(noperm_path, 0644, "#!/bin/sh\nexit 0\n");

    for (i = 0; i < NFORMS; i++) {
        modes_of(FORMS[i]);
    }
    statuses();
    interrupted_wait();
    errors();
    across_programs();

    unlink(noexec_path);
    unlink(noperm_path);
    return SUMMARY();
}
