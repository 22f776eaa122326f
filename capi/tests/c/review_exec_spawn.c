/*
 * review_exec_spawn.c: exec on a shared kernel, attacked (procnto-sim/tests/review_exec_spawn.rs
 * runs it; QNXSIM_KERNEL names the kernel). Roles (argv[1]):
 *
 *   member                 ChannelCreate, prints "ready", then waits (killed by the test)
 *   worker MS              ChannelCreate/ConnectAttach/ConnectDetach/ChannelDestroy for MS ms;
 *                          prints "N passed, M failed"
 *   hold-exec DELAY_MS     a thread loops ChannelCreate/ChannelDestroy (QNXSIM_FAULT, set by
 *                          the test, parks it holding the kernel lock); the main thread waits
 *                          300 ms, prints "exec", clears QNXSIM_FAULT and execs itself as
 *                          `after DELAY_MS PID`
 *   after DELAY_MS PID     prints "up", waits DELAY_MS, then ChannelCreate (chid 1 expected),
 *                          prints "after chid C" and "N passed, M failed"
 *   spin-exec N            two threads in kernel calls in tight loops (channels and
 *                          connections; a pulse to itself and its receipt), the main thread
 *                          execs itself as `spin-exec N-1` after a short random while; at 0,
 *                          prints "final PID", ChannelCreate (chid 1) and "N passed, M failed"
 *   fork-exec              ChannelCreate and a connection to it; fork(); the child makes its
 *                          own channel, then execs itself as `after 0 CHILDPID`; the parent
 *                          waits for it, then sends a pulse to itself: its process survived
 *   exec-sleep MS          ChannelCreate, prints "chid C pid P", receives one message and,
 *                          holding its sender, execs /bin/sleep MS/1000 (a non-QNX program)
 *   client PID CHID MIN_MS MsgSend to PID's CHID (bounded 10 s): ESRCH expected, no sooner
 *                          than MIN_MS after the send
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define BOUND 10000000000ULL

static char self[4096];

static void bound(int states) {
    uint64_t ns = BOUND;
    if (TimerTimeout(CLOCK_MONOTONIC, states, NULL, &ns, NULL) == -1) {
        perror("TimerTimeout");
        exit(2);
    }
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    /* (glibc's own, not the kernel's: in hold-exec another thread holds the kernel lock.) */
    while ((nanosleep)(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int member(void) {
    int chid = ChannelCreate(0);
    if (chid == -1) {
        perror("ChannelCreate");
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    sleep_ms(60000);
    return 0;
}

static int worker(long ms) {
    long until = now_ms() + ms;
    long n = 0;
    int bad = 0;
    while (now_ms() < until) {
        int chid = ChannelCreate(0);
        int coid = chid == -1 ? -1 : ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
        if (chid == -1 || coid == -1 || ConnectDetach(coid) != 0 || ChannelDestroy(chid) != 0) {
            bad++;
            if (bad < 5) {
                printf("worker: call failed: %s\n", strerror(errno));
            }
        }
        n++;
    }
    CHECK(bad == 0, "every call of the worker succeeded");
    CHECK(n > 0, "the worker made calls");
    printf("worker made %ld rounds\n", n);
    return SUMMARY();
}

static void *churn(void *arg) {
    (void)arg;
    for (;;) {
        int chid = ChannelCreate(0);
        if (chid != -1) {
            int coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
            if (coid != -1) {
                ConnectDetach(coid);
            }
            ChannelDestroy(chid);
        }
    }
    return NULL;
}

static int pulse_chid = -1, pulse_coid = -1;

static void *pulses(void *arg) {
    (void)arg;
    for (;;) {
        struct _pulse p;
        if (MsgSendPulse(pulse_coid, -1, 5, 1) == 0) {
            bound(_NTO_TIMEOUT_RECEIVE);
            MsgReceivePulse(pulse_chid, &p, sizeof p, NULL);
        }
    }
    return NULL;
}

static void exec_self(const char *a, const char *b, const char *c) {
    execl(self, self, a, b, c, (char *)NULL);
    printf("exec failed: %s\n", strerror(errno));
    fflush(stdout);
    _exit(2);
}

static int hold_exec(const char *delay) {
    pthread_t t;
    char pid[16];
    if (ChannelCreate(0) == -1) {
        perror("ChannelCreate");
        return 2;
    }
    pthread_create(&t, NULL, churn, NULL);
    sleep_ms(300);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    printf("exec\n");
    fflush(stdout);
    unsetenv("QNXSIM_FAULT");
    unsetenv("QNXSIM_FAULT_FD");
    exec_self("after", delay, pid);
    return 2;
}

static int after(long delay, int was_pid) {
    printf("up %d\n", (int)getpid());
    fflush(stdout);
    CHECK(getpid() == was_pid, "the new image keeps the pid");
    sleep_ms(delay);
    int chid = ChannelCreate(0);
    CHECK(chid == 1, "the new image's first channel is chid 1");
    printf("after chid %d\n", chid);
    fflush(stdout);
    return SUMMARY();
}

static int spin_exec(int n) {
    pthread_t t1, t2;
    char next[16];
    pulse_chid = ChannelCreate(0);
    if (n == 0) {
        printf("final %d\n", (int)getpid());
        CHECK(pulse_chid == 1, "the last image's first channel is chid 1");
        pulse_coid = ConnectAttach(ND_LOCAL_NODE, 0, pulse_chid, _NTO_SIDE_CHANNEL, 0);
        CHECK(pulse_coid != -1, "ConnectAttach");
        CHECK(MsgSendPulse(pulse_coid, -1, 3, 7) == 0, "MsgSendPulse");
        struct _pulse p;
        bound(_NTO_TIMEOUT_RECEIVE);
        CHECK(MsgReceivePulse(pulse_chid, &p, sizeof p, NULL) == 0 && p.code == 3,
              "the pulse to itself arrives");
        return SUMMARY();
    }
    if (pulse_chid == -1) {
        printf("spin-exec %d: ChannelCreate failed: %s\n", n, strerror(errno));
        return 2;
    }
    pulse_coid = ConnectAttach(ND_LOCAL_NODE, 0, pulse_chid, _NTO_SIDE_CHANNEL, 0);
    pthread_create(&t1, NULL, churn, NULL);
    pthread_create(&t2, NULL, pulses, NULL);
    srand((unsigned)getpid() * 31u + (unsigned)n);
    usleep((useconds_t)(200 + rand() % 3000));
    snprintf(next, sizeof next, "%d", n - 1);
    exec_self("spin-exec", next, NULL);
    return 2;
}

static int fork_exec(void) {
    int chid = ChannelCreate(0);
    CHECK(chid != -1, "the parent's ChannelCreate");
    int coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid != -1, "the parent's ConnectAttach");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char pid[16];
        int c = ChannelCreate(0);
        if (c == -1) {
            printf("child: ChannelCreate failed: %s\n", strerror(errno));
            fflush(stdout);
            _exit(3);
        }
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        exec_self("after", "0", pid);
    }
    CHECK(child > 0, "fork");
    int st = -1;
    waitpid(child, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's new image passed");
    CHECK(MsgSendPulse(coid, -1, 4, 9) == 0, "the parent's connection still works");
    struct _pulse p;
    bound(_NTO_TIMEOUT_RECEIVE);
    CHECK(MsgReceivePulse(chid, &p, sizeof p, NULL) == 0 && p.code == 4,
          "the parent's channel still receives");
    return SUMMARY();
}

static int exec_sleep(const char *ms) {
    char secs[32];
    int chid = ChannelCreate(0);
    if (chid == -1) {
        perror("ChannelCreate");
        return 2;
    }
    printf("chid %d pid %d\n", chid, (int)getpid());
    fflush(stdout);
    char msg[16];
    bound(_NTO_TIMEOUT_RECEIVE);
    int rcvid = MsgReceive(chid, msg, sizeof msg, NULL);
    if (rcvid <= 0) {
        perror("MsgReceive");
        return 2;
    }
    printf("received\n");
    fflush(stdout);
    snprintf(secs, sizeof secs, "%.3f", atol(ms) / 1000.0);
    execl("/bin/sleep", "sleep", secs, (char *)NULL);
    printf("exec failed: %s\n", strerror(errno));
    return 2;
}

static int client(int pid, int chid, long min_ms) {
    int coid = ConnectAttach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid != -1, "ConnectAttach");
    char reply[16];
    long t0 = now_ms();
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    long r = MsgSend(coid, "hi", 3, reply, sizeof reply);
    int e = errno;
    long took = now_ms() - t0;
    printf("send %ld errno %d after %ld ms\n", r, r == -1 ? e : 0, took);
    CHECK(r == -1 && e == ESRCH, "released with ESRCH");
    CHECK(took >= min_ms, "not released before the exec'd program ended");
    return SUMMARY();
}

int main(int argc, char **argv) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        return 2;
    }
    self[n] = '\0';
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (argc == 2 && strcmp(argv[1], "member") == 0) {
        return member();
    }
    if (argc == 3 && strcmp(argv[1], "worker") == 0) {
        return worker(atol(argv[2]));
    }
    if (argc == 3 && strcmp(argv[1], "hold-exec") == 0) {
        return hold_exec(argv[2]);
    }
    if (argc == 4 && strcmp(argv[1], "after") == 0) {
        return after(atol(argv[2]), atoi(argv[3]));
    }
    if (argc == 3 && strcmp(argv[1], "spin-exec") == 0) {
        return spin_exec(atoi(argv[2]));
    }
    if (argc == 2 && strcmp(argv[1], "fork-exec") == 0) {
        return fork_exec();
    }
    if (argc == 3 && strcmp(argv[1], "exec-sleep") == 0) {
        return exec_sleep(argv[2]);
    }
    if (argc == 5 && strcmp(argv[1], "client") == 0) {
        return client(atoi(argv[2]), atoi(argv[3]), atol(argv[4]));
    }
    fprintf(stderr, "review_exec_spawn: unknown role\n");
    return 2;
}
