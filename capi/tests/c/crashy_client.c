/*
 * crashy_client.c: a client of crashy_dev.c, whose server is killed with SIGKILL and restarted
 * under it: `crashy_client PATH MODE [ARG]`, on the kernel QNXSIM_KERNEL names, with plain
 * POSIX calls and devctl. The driver is procnto-sim/tests/c_crashy.rs, which talks to it on
 * its stdin.
 *
 * Modes:
 *   hammer ID   prints "joined", waits 300 ms, then two threads hammer PATH until the line
 *               "stop": A opens, asks the pid (DCMD_CRASHY_PID), writes 64 or 4000 bytes
 *               at ID*8192, seeks back, reads them back, adds (DCMD_CRASHY_ADD), sleeps in
 *               the server (DCMD_CRASHY_SLOW 3 ms), closes, and each time uses an fd it keeps open
 *               across the server's deaths; B holds a request (DCMD_CRASHY_HOLD 1000 ms) on
 *               an fd of its own, REPLY-blocked when the server is killed. Every call in
 *               flight or made on an fd whose server died must fail with EBADF or ESRCH (an
 *               open with ENOENT while no server is attached), never succeed against another
 *               server, never give other bytes than were written; close must release the fd.
 *               (A long write's ESRVRFAULT, once a defect, is counted apart and fails.)
 *               Then it closes everything, prints what it saw, "N passed, M failed" and
 *               "closed", and ends at the line "exit" (or EOF).
 *   writer N    N threads write 4000 bytes at a time (open, ten writes or until one fails,
 *               close) until the line "stop"; every failed write must be ESRCH or EBADF.
 *   bigholder N [together]  N threads make held requests of 1-4 ms answered with 4000
 *               bytes (checked), until killed; prints "holding". The program joins the
 *               kernel first (getprio), or with `together` its threads join it at once, each
 *               by its first open.
 *   together N  N threads join the kernel together (each by its first open, at once), open,
 *               ask the pid and close; then the program ends normally.
 *   probe PID [wait]  opens PATH (at once; with wait, at a line on its stdin once it printed
 *               "waiting"), checks it reaches server PID, writes and reads back, through a
 *               second fd too; "N passed, M failed".
 *   inflight loop|pool  opens three fds, blocks a thread REPLY-blocked in a held request,
 *               one in a slow request (3 s in the handler), one behind it (a quick request,
 *               SEND-blocked under a dispatch loop; another slow one under a pool); prints
 *               "blocked PID" and waits for the line "killed": each
 *               blocked call must have returned with ESRCH or EBADF (it prints which), then
 *               read, write, lseek, devctl, fstat on the old fds fail, close releases them;
 *               at "check NEWPID" a new open reaches the new server and works.
 *   hold        opens, prints "holding PID", and is REPLY-blocked in a held request for ever.
 *   slow        opens, prints "slow PID", and is REPLY-blocked in a 2 s slow request.
 *   stats       prints "stats pid opens closes held held_closed unblocks held_gone released
 *               unblock_gone busy_closed busy_bad big_replied big_esrch big_efault big_other".
 *   quit        asks the server to end (DCMD_CRASHY_QUIT).
 */
#include <devctl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>

#include <sys/neutrino.h>

#include "check.h"

struct crashy_add {
    int a, b, sum, pid;
};

struct crashy_stats {
    int pid, opens, closes, held, held_closed, unblocks, held_gone, held_released;
    int unblock_gone, busy_closed, busy_bad;
    int big_replied, big_esrch, big_efault, big_other;
};

#define DCMD_CRASHY_PID __DIOF(_DCMD_MISC, 1, int)
#define DCMD_CRASHY_ADD __DIOTF(_DCMD_MISC, 2, struct crashy_add)
#define DCMD_CRASHY_SLOW __DIOT(_DCMD_MISC, 3, int)
#define DCMD_CRASHY_HOLD __DIOT(_DCMD_MISC, 4, int)
#define DCMD_CRASHY_STATS __DIOF(_DCMD_MISC, 5, struct crashy_stats)
#define DCMD_CRASHY_QUIT __DION(_DCMD_MISC, 6)
#define DCMD_CRASHY_BIGHOLD __DIOTF(_DCMD_MISC, 7, int)

#define REC_MAX 4000
#define REGION 8192

static const char *path;

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *ename(int e) {
    switch (e) {
    case 0:
        return "EOK";
    case EBADF:
        return "EBADF";
    case ESRCH:
        return "ESRCH";
    case ENOENT:
        return "ENOENT";
    case EINTR:
        return "EINTR";
    case ENXIO:
        return "ENXIO";
    case ENOSYS:
        return "ENOSYS";
    case ENOTTY:
        return "ENOTTY";
    case EINVAL:
        return "EINVAL";
    case EIO:
        return "EIO";
    case 312:
        return "ESRVRFAULT";
    case EFAULT:
        return "EFAULT";
    default:
        return "other";
    }
}

/* ------------------------------------------------------------------ the hammer */

enum op { OP_OPEN, OP_PID, OP_WRITE, OP_LSEEK, OP_READ, OP_ADD, OP_SLOW, OP_CLOSE, OP_KEPT,
          OP_HOLD, OP_AFTER_HOLD, OP_N };
static const char *op_names[OP_N] = {"open",  "devctl-pid", "write", "lseek",
                                     "read",  "devctl-add", "devctl-slow", "close",
                                     "kept-fd", "devctl-hold", "after-hold"};
enum bucket { B_OK, B_EBADF, B_ESRCH, B_ENOENT, B_SRVRFAULT, B_OTHER, B_N };
static const char *bucket_names[B_N] = {"ok", "EBADF", "ESRCH", "ENOENT", "ESRVRFAULT", "other"};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counts[OP_N][B_N];
static int unexpected, garbage, stale_ok, notes;
static int servers[256], nservers;
static volatile int stop;
static int my_id;
/* What each thread is doing, for the watchdog. */
static volatile long busy_since[2];
static volatile int busy_op[2];

#if defined(__GNUC__)
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
static void note(const char *fmt, ...) {
    va_list ap;
    pthread_mutex_lock(&lock);
    if (notes++ < 20) {
        printf("NOTE ");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
    }
    pthread_mutex_unlock(&lock);
}

static void seen_server(int pid) {
    int i;
    pthread_mutex_lock(&lock);
    for (i = 0; i < nservers; i++) {
        if (servers[i] == pid) {
            break;
        }
    }
    if (i == nservers && nservers < 256) {
        servers[nservers++] = pid;
    }
    pthread_mutex_unlock(&lock);
}

/* Counts an outcome: ok, or an errno that must be in the allowed set of the op. */
static void count(enum op op, int ok, int err) {
    int b;
    int allowed;
    if (ok) {
        b = B_OK;
    } else if (err == EBADF) {
        b = B_EBADF;
    } else if (err == ESRCH) {
        b = B_ESRCH;
    } else if (err == ENOENT) {
        b = B_ENOENT;
    } else if (err == 312 && op == OP_WRITE) {
        /* ESRVRFAULT from a long write whose server was killed under it: a defect, fixed
         * (QNX gives ESRCH); counted apart, and not allowed. */
        b = B_SRVRFAULT;
    } else {
        b = B_OTHER;
    }
    allowed = ok || b == B_EBADF || b == B_ESRCH || (op == OP_OPEN && b == B_ENOENT);
    pthread_mutex_lock(&lock);
    counts[op][b]++;
    if (!allowed) {
        unexpected++;
    }
    pthread_mutex_unlock(&lock);
    if (!allowed) {
        note("unexpected errno %d (%s) from %s", err, ename(err), op_names[op]);
    }
}

static void busy(int who, int op) {
    busy_op[who] = op;
    busy_since[who] = op < 0 ? 0 : now_ms();
}

/* devctl PID on fd: the pid, or -1 (errno counted under op). */
static int ask_pid(int fd, enum op op) {
    int pid = 0;
    int r = devctl(fd, DCMD_CRASHY_PID, &pid, sizeof pid, NULL);
    count(op, r == EOK, r);
    if (r != EOK) {
        return -1;
    }
    return pid;
}

/* close: 0, or -1 with EBADF/ESRCH (the server died); either way the fd must be released. */
static void close_checked(int fd) {
    int r = close(fd);
    count(OP_CLOSE, r == 0, errno);
}

/* Thread A: the whole round of calls, and a kept fd. */
static void *hammer_a(void *arg) {
    int kept = -1, kept_pid = -1, kept_dead = 0;
    char small[64];
    unsigned seq = 0;
    (void)arg;
    while (!stop) {
        static char rec[REC_MAX], back[REC_MAX]; /* thread A's only */
        size_t len = (seq & 1) ? REC_MAX : 64;
        struct crashy_add add;
        int fd, pid, r, info = 0, slow = 3;
        ssize_t n;
        off_t off;

        /* The kept fd: opened when there is none; asked each round. */
        if (kept == -1) {
            busy(0, OP_OPEN);
            kept = open(path, O_RDWR);
            count(OP_OPEN, kept != -1, errno);
            if (kept != -1) {
                kept_pid = ask_pid(kept, OP_KEPT);
                kept_dead = kept_pid == -1;
                if (kept_pid > 0) {
                    seen_server(kept_pid);
                }
            }
        } else {
            busy(0, OP_KEPT);
            pid = ask_pid(kept, OP_KEPT);
            if (pid != -1 && (kept_dead || pid != kept_pid)) {
                /* The old fd reached a server: after its own died, or another one. */
                pthread_mutex_lock(&lock);
                stale_ok++;
                pthread_mutex_unlock(&lock);
                note("a kept fd opened to pid %d (dead: %d) reached pid %d", kept_pid,
                     kept_dead, pid);
            }
            if (pid == -1) {
                if (!kept_dead) {
                    kept_dead = 1;
                    /* once more, and with other calls: still failing */
                    continue;
                }
                /* Dead twice: read and write fail too, then it is closed. */
                busy(0, OP_READ);
                n = read(kept, small, sizeof small);
                count(OP_READ, n >= 0, errno);
                if (n >= 0) {
                    pthread_mutex_lock(&lock);
                    stale_ok++;
                    pthread_mutex_unlock(&lock);
                    note("read on a dead kept fd (pid %d) gave %d bytes", kept_pid, (int)n);
                }
                busy(0, OP_CLOSE);
                close_checked(kept);
                kept = -1;
            }
        }

        busy(0, OP_OPEN);
        fd = open(path, O_RDWR);
        count(OP_OPEN, fd != -1, errno);
        if (fd == -1) {
            busy(0, -1);
            delay(2);
            continue;
        }
        busy(0, OP_PID);
        pid = ask_pid(fd, OP_PID);
        if (pid == -1) {
            goto done;
        }
        seen_server(pid);
        seq++;
        memset(rec, 'a' + (int)(seq % 26), len);
        snprintf(rec, len, "c%d s%u p%d ", my_id, seq, pid);
        busy(0, OP_LSEEK);
        off = lseek(fd, (off_t)my_id * REGION, SEEK_SET);
        count(OP_LSEEK, off != -1, errno);
        if (off == -1) {
            goto done;
        }
        if (off != (off_t)my_id * REGION) {
            pthread_mutex_lock(&lock);
            garbage++;
            pthread_mutex_unlock(&lock);
            note("lseek gave %d, not %d", (int)off, my_id * REGION);
            goto done;
        }
        busy(0, OP_WRITE);
        n = write(fd, rec, len);
        count(OP_WRITE, n != -1, errno);
        if (n == -1) {
            goto done;
        }
        if (n != (ssize_t)len) {
            pthread_mutex_lock(&lock);
            garbage++;
            pthread_mutex_unlock(&lock);
            note("write gave %d, not %d", (int)n, (int)len);
            goto done;
        }
        busy(0, OP_LSEEK);
        off = lseek(fd, (off_t)my_id * REGION, SEEK_SET);
        count(OP_LSEEK, off != -1, errno);
        if (off == -1) {
            goto done;
        }
        busy(0, OP_READ);
        memset(back, 0, len);
        n = read(fd, back, len);
        count(OP_READ, n != -1, errno);
        if (n == -1) {
            goto done;
        }
        if (n != (ssize_t)len || memcmp(back, rec, len) != 0) {
            pthread_mutex_lock(&lock);
            garbage++;
            pthread_mutex_unlock(&lock);
            note("read back %d bytes, other than written (%d bytes to pid %d)", (int)n, (int)len,
                 pid);
            goto done;
        }
        busy(0, OP_ADD);
        memset(&add, 0, sizeof add);
        add.a = (int)seq;
        add.b = my_id;
        r = devctl(fd, DCMD_CRASHY_ADD, &add, sizeof add, &info);
        count(OP_ADD, r == EOK, r);
        if (r == EOK && (add.sum != (int)seq + my_id || add.pid != pid || info != 7)) {
            pthread_mutex_lock(&lock);
            garbage++;
            pthread_mutex_unlock(&lock);
            note("devctl ADD gave sum %d pid %d (the fd's server: %d)", add.sum, add.pid, pid);
        }
        if (r != EOK) {
            goto done;
        }
        busy(0, OP_SLOW);
        info = 0;
        r = devctl(fd, DCMD_CRASHY_SLOW, &slow, sizeof slow, &info);
        count(OP_SLOW, r == EOK, r);
        if (r == EOK && info != pid) {
            pthread_mutex_lock(&lock);
            garbage++;
            pthread_mutex_unlock(&lock);
            note("devctl SLOW answered by pid %d, the fd's server is %d", info, pid);
        }
    done:
        busy(0, OP_CLOSE);
        close_checked(fd);
        busy(0, -1);
    }
    if (kept != -1) {
        close_checked(kept);
    }
    return NULL;
}

/* Thread B: a held request on an fd of its own, REPLY-blocked when the server dies. */
static void *hammer_b(void *arg) {
    (void)arg;
    while (!stop) {
        int fd, pid, r, info = 0, ms = 1000;
        busy(1, OP_OPEN);
        fd = open(path, O_RDWR);
        count(OP_OPEN, fd != -1, errno);
        if (fd == -1) {
            busy(1, -1);
            delay(2);
            continue;
        }
        pid = ask_pid(fd, OP_PID);
        while (pid != -1 && !stop) {
            busy(1, OP_HOLD);
            info = 0;
            r = devctl(fd, DCMD_CRASHY_HOLD, &ms, sizeof ms, &info);
            count(OP_HOLD, r == EOK, r);
            if (r == EOK) {
                if (info != pid) {
                    pthread_mutex_lock(&lock);
                    garbage++;
                    pthread_mutex_unlock(&lock);
                    note("a held request answered by pid %d, the fd's server is %d", info, pid);
                }
                continue;
            }
            /* The server died under the held request: the fd must not reach another. */
            busy(1, OP_AFTER_HOLD);
            r = ask_pid(fd, OP_AFTER_HOLD);
            if (r != -1) {
                pthread_mutex_lock(&lock);
                stale_ok++;
                pthread_mutex_unlock(&lock);
                note("after its held request failed, the fd of pid %d reached pid %d", pid, r);
            }
            break;
        }
        busy(1, OP_CLOSE);
        close_checked(fd);
        busy(1, -1);
    }
    return NULL;
}

static void *watchdog(void *arg) {
    int i;
    int said[2] = {0, 0};
    (void)arg;
    while (!stop) {
        long now = now_ms();
        for (i = 0; i < 2; i++) {
            long since = busy_since[i];
            if (since != 0 && now - since > 5000 && !said[i]) {
                said[i] = 1;
                printf("HANG: thread %c in %s for %ld ms\n", 'A' + i, op_names[busy_op[i]],
                       now - since);
                fflush(stdout);
            } else if (since == 0) {
                said[i] = 0;
            }
        }
        delay(100);
    }
    return NULL;
}

static void wait_line(const char *want) {
    char line[128];
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\n")] = 0;
        if (strcmp(line, want) == 0) {
            return;
        }
    }
}

static int hammer(void) {
    pthread_t a, b, w;
    int i, j;
    long opened = 0;

    /* Joined the kernel (a first kernel call), with no connection yet: the baseline. */
    CHECK(getprio(0) >= 0, "getprio joins the kernel");
    printf("joined\n");
    fflush(stdout);
    delay(300);
    CHECK(pthread_create(&a, NULL, hammer_a, NULL) == 0, "thread A");
    CHECK(pthread_create(&b, NULL, hammer_b, NULL) == 0, "thread B");
    CHECK(pthread_create(&w, NULL, watchdog, NULL) == 0, "the watchdog");
    wait_line("stop");
    stop = 1;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_join(w, NULL);

    for (i = 0; i < OP_N; i++) {
        printf("client %d %s:", my_id, op_names[i]);
        for (j = 0; j < B_N; j++) {
            if (counts[i][j] != 0) {
                printf(" %s %ld", bucket_names[j], counts[i][j]);
            }
        }
        printf("\n");
    }
    printf("client %d: %d servers reached\n", my_id, nservers);
    opened = counts[OP_OPEN][B_OK];
    CHECK(opened > 0, "opens reached a server");
    CHECK(counts[OP_READ][B_OK] > 0, "reads came back");
    CHECK(unexpected == 0, "every failure was EBADF or ESRCH (ENOENT for open)");
    CHECK(garbage == 0, "no call gave other data than written or another server's answer");
    CHECK(stale_ok == 0, "no fd opened to a dead server reached another");
    (void)SUMMARY();
    printf("closed\n");
    fflush(stdout);
    wait_line("exit");
    return check_failed == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ the writers */

/* Each writer thread: open, then ten 4000-byte writes (longer than a message window: copied
 * straight into the server's receive buffer) or fewer if one fails, then close; again. */
static long w_ok, w_ebadf, w_esrch, w_other, w_open_fail;
static int w_other_errno[8], w_nother;

static void *writer(void *arg) {
    static char buf[4000]; /* zeros */
    (void)arg;
    while (!stop) {
        int fd = open(path, O_WRONLY);
        if (fd == -1) {
            __sync_fetch_and_add(&w_open_fail, 1);
            delay(1);
            continue;
        }
        for (int i = 0; i < 10; i++) { /* 40000 bytes at most: the device holds 65536 */
            ssize_t n = write(fd, buf, sizeof buf);
            int e = errno;
            if (n == (ssize_t)sizeof buf) {
                __sync_fetch_and_add(&w_ok, 1);
                if (stop) {
                    break;
                }
                continue;
            }
            if (n == -1 && e == EBADF) {
                __sync_fetch_and_add(&w_ebadf, 1);
            } else if (n == -1 && e == ESRCH) {
                __sync_fetch_and_add(&w_esrch, 1);
            } else {
                pthread_mutex_lock(&lock);
                w_other++;
                if (w_nother < 8) {
                    w_other_errno[w_nother++] = n == -1 ? e : -(int)n;
                }
                pthread_mutex_unlock(&lock);
            }
            break;
        }
        close(fd);
    }
    return NULL;
}

/* `writer THREADS`: until "stop"; then what they saw, checked. */
static int writers(int n) {
    pthread_t t[8];
    int i;
    if (n < 1 || n > 8) {
        return 2;
    }
    CHECK(getprio(0) >= 0, "getprio joins the kernel");
    for (i = 0; i < n; i++) {
        CHECK(pthread_create(&t[i], NULL, writer, NULL) == 0, "a writer");
    }
    printf("writing\n");
    wait_line("stop");
    stop = 1;
    for (i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
    }
    printf("writers: ok %ld EBADF %ld ESRCH %ld other %ld (open failed %ld)", w_ok, w_ebadf,
           w_esrch, w_other, w_open_fail);
    for (i = 0; i < w_nother; i++) {
        printf(" errno %d (%s)", w_other_errno[i], ename(w_other_errno[i]));
    }
    printf("\n");
    CHECK(w_ok > 0, "writes reached the servers");
    CHECK(w_other == 0, "every write that failed under a dying server failed with ESRCH or EBADF");
    return SUMMARY();
}

/* Each big holder thread: big held requests of 1-4 ms, answered with 4000 bytes, checked. */
static void *big_holder(void *arg) {
    static __thread char buf[4000];
    unsigned seq = (unsigned)(size_t)arg;
    for (;;) {
        int fd = open(path, O_RDWR);
        if (fd == -1) {
            delay(1);
            continue;
        }
        for (;;) {
            int r, i;
            memset(buf, 0, sizeof buf);
            i = 1 + (int)(seq++ % 4);
            memcpy(buf, &i, sizeof i);
            r = devctl(fd, DCMD_CRASHY_BIGHOLD, buf, sizeof buf, NULL);
            if (r != EOK) {
                break;
            }
            for (i = 0; i < (int)sizeof buf; i++) {
                if (buf[i] != 'b') {
                    printf("BAD big reply: byte %d is %d\n", i, buf[i]);
                    break;
                }
            }
        }
        close(fd);
    }
    return NULL;
}

/* `bigholder THREADS [together]`: big held requests until killed. The program joins the kernel
 * first, in main; `together`: its threads join it at once, each with its first open. */
static int big_holders(int n, int together) {
    pthread_t t;
    int i;
    if (!together && getprio(0) < 0) {
        return 1;
    }
    for (i = 0; i < n; i++) {
        if (pthread_create(&t, NULL, big_holder, (void *)(size_t)i) != 0) {
            return 1;
        }
    }
    printf("holding\n");
    delay(30000);
    return 1;
}

/* `together N`: N threads, each joining the kernel by its first open at the same moment, open,
 * ask the pid, close; then the program ends normally. */
static pthread_barrier_t together_start;
static int together_ok;

static void *together_thread(void *arg) {
    int fd, r, pid = 0;
    (void)arg;
    pthread_barrier_wait(&together_start);
    fd = open(path, O_RDWR);
    if (fd == -1) {
        printf("together: open: errno %d (%s)\n", errno, ename(errno));
        return NULL;
    }
    r = devctl(fd, DCMD_CRASHY_PID, &pid, sizeof pid, NULL);
    if (r != EOK || pid <= 0) {
        printf("together: devctl: %d (%s), pid %d\n", r, ename(r), pid);
    }
    if (close(fd) != 0) {
        printf("together: close: errno %d (%s)\n", errno, ename(errno));
        return NULL;
    }
    if (r == EOK && pid > 0) {
        __sync_fetch_and_add(&together_ok, 1);
    }
    return NULL;
}

static int together(int n) {
    pthread_t t[8];
    int i;
    if (n < 1 || n > 8 || pthread_barrier_init(&together_start, NULL, (unsigned)n) != 0) {
        return 2;
    }
    for (i = 0; i < n; i++) {
        CHECK(pthread_create(&t[i], NULL, together_thread, NULL) == 0, "a thread");
    }
    for (i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
    }
    CHECK(together_ok == n, "every thread opened, asked and closed");
    return SUMMARY();
}

/* ------------------------------------------------------------------ the other modes */

static int probe(int want, int wait) {
    char rec[16], back[16];
    int fd, fd2, pid = 0, r;
    if (wait) {
        /* Started ahead: joined the kernel, it opens at the driver's word. */
        CHECK(getprio(0) >= 0, "getprio joins the kernel");
        printf("waiting\n");
        if (fgets(rec, sizeof rec, stdin) == NULL) {
            return SUMMARY();
        }
    }
    fd = open(path, O_RDWR);
    CHECK(fd != -1, "a new open after the restart");
    if (fd == -1) {
        return SUMMARY();
    }
    r = devctl(fd, DCMD_CRASHY_PID, &pid, sizeof pid, NULL);
    CHECK(r == EOK && pid == want, "it reached the new server");
    if (pid != want) {
        printf("reached pid %d, not %d (devctl %d)\n", pid, want, r);
    }
    memset(rec, 0, sizeof rec);
    snprintf(rec, sizeof rec, "probe %d", want);
    CHECK(lseek(fd, 60000, SEEK_SET) == 60000, "lseek");
    CHECK(write(fd, rec, sizeof rec) == (ssize_t)sizeof rec, "write");
    CHECK(lseek(fd, 60000, SEEK_SET) == 60000, "lseek back");
    memset(back, 0, sizeof back);
    CHECK(read(fd, back, sizeof back) == (ssize_t)sizeof back &&
              memcmp(back, rec, sizeof rec) == 0,
          "read back what was written");
    fd2 = open(path, O_RDONLY);
    CHECK(fd2 != -1, "a second open");
    memset(back, 0, sizeof back);
    CHECK(fd2 != -1 && lseek(fd2, 60000, SEEK_SET) == 60000 &&
              read(fd2, back, sizeof back) == (ssize_t)sizeof back &&
              memcmp(back, rec, sizeof rec) == 0,
          "another fd reads it back");
    CHECK(fd2 == -1 || close(fd2) == 0, "close the second");
    CHECK(close(fd) == 0, "close");
    return SUMMARY();
}

struct blocked {
    int fd, dcmd, arg, ret, done;
    long took_ms;
};

static void *blocked_call(void *arg) {
    struct blocked *b = (struct blocked *)arg;
    long t0 = now_ms();
    int v = b->arg, pid = 0;
    if (b->dcmd == DCMD_CRASHY_PID) {
        b->ret = devctl(b->fd, b->dcmd, &pid, sizeof pid, NULL);
    } else {
        b->ret = devctl(b->fd, b->dcmd, &v, sizeof v, NULL);
    }
    b->took_ms = now_ms() - t0;
    __atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int inflight(int pool) {
    static const char *what[3] = {"held (REPLY-blocked)", "slow (REPLY-blocked)",
                                  "third (SEND-blocked under a loop, REPLY under a pool)"};
    struct blocked b[3];
    pthread_t t[3];
    char line[128], buf[16];
    struct stat st;
    int i, pid = 0, newpid = 0, fd, r;
    long t0;

    memset(b, 0, sizeof b);
    for (i = 0; i < 3; i++) {
        b[i].fd = open(path, O_RDWR);
        CHECK(b[i].fd != -1, "open");
        if (b[i].fd == -1) {
            return SUMMARY();
        }
    }
    CHECK(devctl(b[0].fd, DCMD_CRASHY_PID, &pid, sizeof pid, NULL) == EOK, "the server's pid");
    b[0].dcmd = DCMD_CRASHY_HOLD;
    b[0].arg = 0;
    b[1].dcmd = DCMD_CRASHY_SLOW;
    b[1].arg = 3000;
    /* Under a loop, a quick request queues behind the slow one; a pool serves it at once, so
     * there it is another slow one. */
    b[2].dcmd = pool ? DCMD_CRASHY_SLOW : DCMD_CRASHY_PID;
    b[2].arg = 3000;
    for (i = 0; i < 3; i++) {
        CHECK(pthread_create(&t[i], NULL, blocked_call, &b[i]) == 0, "a blocked thread");
        delay(30);
    }
    printf("blocked %d\n", pid);
    fflush(stdout);
    wait_line("killed");
    t0 = now_ms();
    for (i = 0; i < 3; i++) {
        while (!__atomic_load_n(&b[i].done, __ATOMIC_ACQUIRE) && now_ms() - t0 < 10000) {
            delay(1);
        }
        CHECK(b[i].done, "the blocked call returned within 10 s of the server's death");
        if (!b[i].done) {
            printf("%s: still blocked\n", what[i]);
            continue;
        }
        pthread_join(t[i], NULL);
        printf("inflight %s: %s after %ld ms\n", what[i], ename(b[i].ret), b[i].took_ms);
    }
    /* Each was blocked when the server died (the driver saw them so). */
    CHECK(b[0].ret == ESRCH || b[0].ret == EBADF, "the held call: ESRCH (or EBADF)");
    CHECK(b[1].ret == ESRCH || b[1].ret == EBADF, "the slow call: ESRCH (or EBADF)");
    CHECK(b[2].ret == ESRCH || b[2].ret == EBADF, "the third call: ESRCH (or EBADF)");

    /* Wait for the new server, then the old fds: every call fails, never reaching it. */
    for (;;) {
        if (fgets(line, sizeof line, stdin) == NULL) {
            return SUMMARY();
        }
        if (sscanf(line, "check %d", &newpid) == 1) {
            break;
        }
    }
    fd = b[0].fd;
    errno = 0;
    r = devctl(fd, DCMD_CRASHY_PID, &i, sizeof i, NULL);
    printf("old fd after the restart: devctl %s\n", ename(r));
    CHECK(r == EBADF || r == ESRCH, "devctl on the old fd: EBADF (or ESRCH)");
    errno = 0;
    r = (int)read(fd, buf, sizeof buf);
    printf("old fd after the restart: read %d %s\n", r, ename(errno));
    CHECK(r == -1 && (errno == EBADF || errno == ESRCH), "read on the old fd: EBADF (or ESRCH)");
    errno = 0;
    r = (int)write(fd, "x", 1);
    printf("old fd after the restart: write %d %s\n", r, ename(errno));
    CHECK(r == -1 && (errno == EBADF || errno == ESRCH), "write on the old fd: EBADF (or ESRCH)");
    errno = 0;
    r = (int)lseek(fd, 0, SEEK_SET);
    printf("old fd after the restart: lseek %d %s\n", r, ename(errno));
    CHECK(r == -1 && (errno == EBADF || errno == ESRCH), "lseek on the old fd: EBADF (or ESRCH)");
    errno = 0;
    r = fstat(fd, &st);
    printf("old fd after the restart: fstat %d %s\n", r, ename(errno));
    CHECK(r == -1 && (errno == EBADF || errno == ESRCH), "fstat on the old fd: EBADF (or ESRCH)");
    for (i = 0; i < 3; i++) {
        errno = 0;
        r = close(b[i].fd);
        printf("old fd after the restart: close %d %s\n", r, ename(r == 0 ? 0 : errno));
        CHECK(r == 0 || errno == EBADF || errno == ESRCH, "close of an old fd");
        errno = 0;
        r = (int)read(b[i].fd, buf, 1);
        CHECK(r == -1 && errno == EBADF, "the closed fd is no fd any more: EBADF");
    }
    fd = open(path, O_RDWR);
    CHECK(fd != -1, "a new open reaches the new server");
    if (fd != -1) {
        CHECK(devctl(fd, DCMD_CRASHY_PID, &pid, sizeof pid, NULL) == EOK && pid == newpid,
              "the new server's pid");
        CHECK(write(fd, "fresh", 5) == 5 && lseek(fd, 0, SEEK_SET) == 0 &&
                  read(fd, buf, sizeof buf) == 5 && memcmp(buf, "fresh", 5) == 0,
              "write and read back on the new server");
        CHECK(close(fd) == 0, "close");
    }
    return SUMMARY();
}

static void usage(void) {
    fprintf(stderr, "usage: crashy_client PATH hammer ID|writer N|bigholder N [together]|"
                    "together N|probe PID [wait]|inflight loop|pool|hold|slow|stats|quit\n");
}

int main(int argc, char **argv) {
    const char *mode = argc >= 3 ? argv[2] : "";
    int fd, r, v = 0;
    if (argc < 3 || argc > 5 || strlen(argv[1]) > 120) {
        usage();
        return 2;
    }
    path = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line: the driver reads them as they come */
    if (strcmp(mode, "hammer") == 0 && argc == 4) {
        my_id = atoi(argv[3]);
        return hammer();
    }
    if (strcmp(mode, "together") == 0 && argc == 4) {
        return together(atoi(argv[3]));
    }
    if (strcmp(mode, "bigholder") == 0 && (argc == 4 || argc == 5)) {
        return big_holders(atoi(argv[3]), argc == 5 && strcmp(argv[4], "together") == 0);
    }
    if (strcmp(mode, "writer") == 0 && argc == 4) {
        return writers(atoi(argv[3]));
    }
    if (strcmp(mode, "probe") == 0 && (argc == 4 || argc == 5)) {
        return probe(atoi(argv[3]), argc == 5);
    }
    if (strcmp(mode, "inflight") == 0 && argc == 4) {
        return inflight(strcmp(argv[3], "pool") == 0);
    }
    if (strcmp(mode, "slow") == 0 && argc == 3) {
        /* REPLY-blocked while a pool thread works 2 s on its request. */
        fd = open(path, O_RDWR);
        if (fd == -1 || devctl(fd, DCMD_CRASHY_PID, &v, sizeof v, NULL) != EOK) {
            printf("open: errno %d\n", errno);
            return 1;
        }
        printf("slow %d\n", v);
        v = 2000;
        r = devctl(fd, DCMD_CRASHY_SLOW, &v, sizeof v, NULL);
        printf("slow returned %s\n", ename(r));
        delay(20000);
        return 1;
    }
    if (strcmp(mode, "hold") == 0 && argc == 3) {
        fd = open(path, O_RDWR);
        if (fd == -1 || devctl(fd, DCMD_CRASHY_PID, &v, sizeof v, NULL) != EOK) {
            printf("open: errno %d\n", errno);
            return 1;
        }
        printf("holding %d\n", v);
        fflush(stdout);
        v = 0;
        r = devctl(fd, DCMD_CRASHY_HOLD, &v, sizeof v, NULL);
        printf("hold returned %s\n", ename(r));
        fflush(stdout);
        delay(20000);
        return 1;
    }
    if (strcmp(mode, "stats") == 0 && argc == 3) {
        struct crashy_stats s;
        memset(&s, 0, sizeof s);
        fd = open(path, O_RDWR);
        if (fd == -1 || (r = devctl(fd, DCMD_CRASHY_STATS, &s, sizeof s, NULL)) != EOK) {
            printf("stats failed: errno %d\n", errno);
            return 1;
        }
        printf("stats %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d\n", s.pid, s.opens, s.closes,
               s.held, s.held_closed, s.unblocks, s.held_gone, s.held_released, s.unblock_gone,
               s.busy_closed, s.busy_bad, s.big_replied, s.big_esrch, s.big_efault, s.big_other);
        return close(fd) == 0 ? 0 : 1;
    }
    if (strcmp(mode, "quit") == 0 && argc == 3) {
        fd = open(path, O_RDWR);
        CHECK(fd != -1, "open");
        CHECK(fd != -1 && devctl(fd, DCMD_CRASHY_QUIT, NULL, 0, NULL) == EOK, "QUIT");
        CHECK(fd == -1 || close(fd) == 0, "close");
        return SUMMARY();
    }
    usage();
    return 2;
}
