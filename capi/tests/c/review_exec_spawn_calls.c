/*
 * review_exec_spawn_calls.c: <process.h>'s spawn*() attacked (procnto-sim/tests/
 * review_exec_spawn.rs runs it, on a shared kernel when QNXSIM_KERNEL is set). With no argument,
 * the suite; its children are this program in a role (argv[1]):
 *
 *   exit N        exits with N
 *   sleep MS      sleeps MS ms, exits 0
 *   fds           prints the descriptors it holds beyond 0, 1 and 2 and exits with their count
 *   envc          exits with the number of its environment's entries (255 at most)
 *   overlay-fds   joins the kernel (ChannelCreate), then P_OVERLAYs itself as "fds"
 *   overlay-path  PATH with an empty entry (the current directory), P_OVERLAY by name: exit 7
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <process.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define SENTINEL 4242

extern char **environ;

static char self[PATH_MAX];
static char dir[PATH_MAX];
static const char *base;

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int shared(void) {
    const char *k = getenv("QNXSIM_KERNEL");
    return k != NULL && k[0] != '\0';
}

/* ------------------------------------------------------------------ roles */

static int fds_role(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (d == NULL) {
        return 200;
    }
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        char link[PATH_MAX], path[64];
        ssize_t len;
        if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d)) {
            continue;
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        len = readlink(path, link, sizeof link - 1);
        link[len > 0 ? len : 0] = '\0';
        printf("inherited fd %d -> %s\n", fd, link);
        n++;
    }
    closedir(d);
    fflush(stdout);
    return n;
}

static int envc_role(void) {
    int n = 0;
    while (environ != NULL && environ[n] != NULL) {
        n++;
    }
    return n > 255 ? 255 : n;
}

static int overlay_fds_role(void) {
    if (ChannelCreate(0) == -1) {
        return 201;
    }
    spawnl(P_OVERLAY, self, base, "fds", NULL);
    return 202;
}

static int overlay_path_role(void) {
    if (chdir(dir) != 0) {
        return 203;
    }
    setenv("PATH", "/nonexistent-qnxsim::/usr/bin", 1);
    spawnlp(P_OVERLAY, base, base, "exit", "7", NULL);
    return 204;
}

/* ------------------------------------------------------------------ checks */

static void bad_modes(void) {
    static const int modes[] = {-1, 4, 5, 100, INT_MAX, INT_MIN};
    char *argv[] = {(char *)base, (char *)"exit", (char *)"0", NULL};
    char *envp[] = {NULL};
    size_t i;
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char what[96];
        int m = modes[i], r, e;
        errno = 0;
        r = spawnv(m, self, argv);
        e = errno;
        snprintf(what, sizeof what, "spawnv mode %d: -1 EINVAL", m);
        CHECK(r == -1 && e == EINVAL, what);
        errno = 0;
        r = spawnvpe(m, base, argv, envp);
        e = errno;
        snprintf(what, sizeof what, "spawnvpe mode %d: -1 EINVAL", m);
        CHECK(r == -1 && e == EINVAL, what);
        errno = 0;
        r = spawnl(m, self, base, "exit", "0", NULL);
        e = errno;
        snprintf(what, sizeof what, "spawnl mode %d: -1 EINVAL", m);
        CHECK(r == -1 && e == EINVAL, what);
    }
}

static void errno_kept(void) {
    char *argv[] = {(char *)base, (char *)"exit", (char *)"0", NULL};
    int r, st;
    errno = SENTINEL;
    r = spawnv(P_WAIT, self, argv);
    CHECK(r == 0 && errno == SENTINEL, "spawnv(P_WAIT) success leaves errno");
    errno = SENTINEL;
    r = spawnvp(P_NOWAIT, base, argv);
    CHECK(r > 0 && errno == SENTINEL, "spawnvp(P_NOWAIT) success leaves errno");
    if (r > 0) {
        waitpid(r, &st, 0);
    }
    errno = SENTINEL;
    r = spawnlp(P_NOWAITO, base, base, "exit", "0", NULL);
    CHECK(r > 0 && errno == SENTINEL, "spawnlp(P_NOWAITO) success leaves errno");
    errno = SENTINEL;
    r = spawnle(P_WAIT, self, base, "exit", "0", NULL, environ);
    CHECK(r == 0 && errno == SENTINEL, "spawnle(P_WAIT) success leaves errno");
}

static void environments(void) {
    char *argv[] = {(char *)base, (char *)"envc", NULL};
    char *empty[] = {NULL};
    char *one[] = {(char *)"A=1", NULL};
    int r = spawnve(P_WAIT, self, argv, empty);
    CHECK(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 0, "an empty envp: the child has none");
    r = spawnve(P_WAIT, self, argv, one);
    CHECK(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 1, "envp {A=1}: the child has one");
    r = spawnle(P_WAIT, self, base, "envc", NULL, one);
    CHECK(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 1, "spawnle envp {A=1}");
    r = spawnle(P_WAIT, self, base, "envc", NULL, (char *const *)NULL);
    CHECK(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) >= 1, "spawnle NULL envp: the caller's");
}

static void descriptors(void) {
    int r;
    if (shared()) {
        uint64_t ns = 1000000;
        int chid = ChannelCreate(0);
        CHECK(chid > 0, "ChannelCreate on the shared kernel");
        /* A bounded receive: the library's timer machinery in use too. */
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        MsgReceive(chid, NULL, 0, NULL);
    }
    r = spawnl(P_WAIT, self, base, "fds", NULL);
    CHECK(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 0,
          "a spawned child inherits no descriptor of libqnxsim's");
    printf("spawned child: %d inherited fds\n", r == -1 ? -1 : WEXITSTATUS(r));
    if (shared()) {
        r = spawnl(P_WAIT, self, base, "overlay-fds", NULL);
        CHECK(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 0,
              "a program on the kernel that P_OVERLAYs passes no descriptor of libqnxsim's");
        printf("overlaid image: %d inherited fds\n", r == -1 ? -1 : WEXITSTATUS(r));
    }
}

static void path_search(void) {
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    char cwd[PATH_MAX];
    int r;
    if (getcwd(cwd, sizeof cwd) == NULL) {
        cwd[0] = '\0';
    }
    CHECK(chdir(dir) == 0, "chdir");
    setenv("PATH", "/nonexistent-qnxsim::/usr/bin", 1);
    r = spawnlp(P_WAIT, base, base, "exit", "6", NULL);
    CHECK(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 6,
          "spawnlp(P_WAIT): an empty PATH entry is the current directory");
    if (old != NULL) {
        setenv("PATH", old, 1);
        free(old);
    }
    if (cwd[0] != '\0') {
        (void)chdir(cwd);
    }
    r = spawnl(P_WAIT, self, base, "overlay-path", NULL);
    CHECK(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 7,
          "spawnlp(P_OVERLAY): an empty PATH entry is the current directory");
}

/* ---- several threads spawning at once while another makes kernel calls */

static volatile int stop_churn;
static int churn_failed;

static void *churn(void *arg) {
    (void)arg;
    while (!stop_churn) {
        int chid = ChannelCreate(0);
        if (chid == -1 || ChannelDestroy(chid) != 0) {
            churn_failed++;
        }
    }
    return NULL;
}

static int spawn_failures;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void *spawner(void *arg) {
    int i, mode = (int)(intptr_t)arg;
    for (i = 0; i < 15; i++) {
        int r;
        if (mode == P_WAIT) {
            r = spawnl(P_WAIT, self, base, "exit", "5", NULL);
            r = (r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 5) ? 0 : -1;
        } else {
            r = spawnl(P_NOWAITO, self, base, "sleep", "20", NULL);
            r = r > 0 ? 0 : -1;
        }
        if (r != 0) {
            pthread_mutex_lock(&fail_lock);
            spawn_failures++;
            pthread_mutex_unlock(&fail_lock);
        }
    }
    return NULL;
}

static void concurrent(void) {
    pthread_t c, s[8];
    int i, reaped = 0;
    if (shared()) {
        pthread_create(&c, NULL, churn, NULL);
    }
    for (i = 0; i < 8; i++) {
        pthread_create(&s[i], NULL, spawner, (void *)(intptr_t)(i % 2 ? P_WAIT : P_NOWAITO));
    }
    for (i = 0; i < 8; i++) {
        pthread_join(s[i], NULL);
    }
    stop_churn = 1;
    if (shared()) {
        pthread_join(c, NULL);
        CHECK(churn_failed == 0, "the kernel calls beside the spawns all succeeded");
    }
    CHECK(spawn_failures == 0, "8 threads spawning at once: every spawn succeeded");
    /* Every P_NOWAITO child reaped by the library within 5 s: no child of ours left. */
    for (i = 0; i < 500; i++) {
        errno = 0;
        if (waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD) {
            reaped = 1;
            break;
        }
        sleep_ms(10);
    }
    CHECK(reaped, "the P_NOWAITO children left no child behind");
}

/* ---- a P_WAIT under a storm of signals */

static volatile sig_atomic_t storms;
static volatile int stop_storm;

static void on_usr1(int sig) {
    (void)sig;
    storms++;
}

static void *storm(void *arg) {
    pid_t me = *(pid_t *)arg;
    while (!stop_storm) {
        kill(me, SIGUSR1);
        usleep(100);
    }
    return NULL;
}

static void signal_storm(void) {
    struct sigaction sa;
    pthread_t t;
    pid_t me = getpid();
    int r, i, ok = 1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pthread_create(&t, NULL, storm, &me);
    for (i = 0; i < 10; i++) {
        r = spawnl(P_WAIT, self, base, "sleep", "30", NULL);
        if (!(r == 0)) {
            printf("storm: spawn %d gave %d (errno %d)\n", i, r, errno);
            ok = 0;
        }
    }
    stop_storm = 1;
    pthread_join(t, NULL);
    signal(SIGUSR1, SIG_DFL);
    CHECK(storms > 10, "the storm's handler ran");
    CHECK(ok, "P_WAIT under SIGUSR1 every 100 us: every child's status");
}

int main(int argc, char **argv) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash;
    if (n <= 0) {
        return 2;
    }
    self[n] = '\0';
    strcpy(dir, self);
    slash = strrchr(dir, '/');
    *slash = '\0';
    base = strrchr(self, '/') + 1;
    if (argc >= 2) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    }
    if (argc == 2 && strcmp(argv[1], "fds") == 0) {
        return fds_role();
    }
    if (argc == 3 && strcmp(argv[1], "exit") == 0) {
        return atoi(argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "sleep") == 0) {
        sleep_ms(atol(argv[2]));
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "envc") == 0) {
        return envc_role();
    }
    if (argc == 2 && strcmp(argv[1], "overlay-fds") == 0) {
        return overlay_fds_role();
    }
    if (argc == 2 && strcmp(argv[1], "overlay-path") == 0) {
        return overlay_path_role();
    }
    if (argc != 1) {
        return 2;
    }
    {
        /* What the test harness left open (not libqnxsim's): closed, so that a child's
         * descriptors beyond 0, 1 and 2 can only be ours. */
        int fd;
        for (fd = 3; fd < 1024; fd++) {
            close(fd);
        }
    }
    {
        /* This program's directory first on PATH: the p forms find it by name. */
        const char *old = getenv("PATH");
        size_t len = strlen(dir) + (old ? strlen(old) : 0) + 2;
        char *path = (char *)malloc(len);
        snprintf(path, len, "%s:%s", dir, old ? old : "/bin:/usr/bin");
        setenv("PATH", path, 1);
        free(path);
    }
    bad_modes();
    errno_kept();
    environments();
    descriptors();
    path_search();
    concurrent();
    signal_storm();
    return SUMMARY();
}
