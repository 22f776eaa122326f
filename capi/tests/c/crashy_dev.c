/*
 * crashy_dev.c: a QNX 7.1 resource manager that is killed and restarted under its clients,
 * in a program of its own on a kernel shared with them (QNXSIM_KERNEL names it):
 * `crashy_dev PATH pool|loop [wait]` (wait: joins the kernel, prints "waiting" and attaches
 * when a line comes on its stdin). The client is crashy_client.c; the driver
 * procnto-sim/tests/c_crashy.rs kills this program with SIGKILL at random moments and starts
 * it again on the same PATH.
 *
 * PATH is S_IFCHR | 0666, a 65536-byte buffer. iofunc_func_init's defaults for open, stat,
 * lseek, close_dup; its own io_read, io_write, io_devctl, unblock and close_ocb. Served by a
 * thread pool (`pool`: lo_water 2, hi_water 4, maximum 6) or by one thread's
 * dispatch_block/dispatch_handler loop (`loop`), so that clients queue SEND-blocked behind a
 * slow request.
 *
 * The commands (the same definitions in crashy_client.c):
 *   DCMD_CRASHY_PID    __DIOF(_DCMD_MISC, 1, int)   the server's pid
 *   DCMD_CRASHY_ADD    __DIOTF(_DCMD_MISC, 2, struct crashy_add)  sum = a + b, pid = the server's
 *   DCMD_CRASHY_SLOW   __DIOT(_DCMD_MISC, 3, int)   the handler sleeps that many ms (<= 5000),
 *                                                  then replies; ret_val = the server's pid
 *   DCMD_CRASHY_HOLD   __DIOT(_DCMD_MISC, 4, int)   the reply is held that many ms (0: until
 *                                                  the client unblocks or closes); ret_val = pid
 *   DCMD_CRASHY_STATS  __DIOF(_DCMD_MISC, 5, struct crashy_stats)
 *   DCMD_CRASHY_QUIT   __DION(_DCMD_MISC, 6)        end: once every OCB is closed, the checks
 *   DCMD_CRASHY_BIGHOLD __DIOTF(_DCMD_MISC, 7, int) as HOLD, answered with 4000 bytes of data
 *                                                  ('b'), whose MsgReplyv result is counted
 *
 * A held reply whose client unblocks (the unblock pulse: the unblock handler) is answered
 * EINTR; one whose OCB is closed (its client's fd closed, or its process torn down: the
 * disconnect pulse) is answered EINTR too, and the MsgError's result counted (ESRCH: the
 * client is gone).
 *
 * It prints "ready" once attached (or "attach failed: errno N" and ends with status 1), and
 * after QUIT "N passed, M failed" for its own checks: every open met its close_ocb, no reply is
 * still held, the attribute's counts are back at zero.
 */
#include <devctl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>

#include <sys/iofunc.h>
#include <sys/dispatch.h>
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
#define BIG 4000

#define CAPACITY 65536
#define MAX_HELD 64

static struct {
    iofunc_attr_t attr;
    char data[CAPACITY];
} dev;

static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static dispatch_t *dpp;
static int my_pid;
static volatile int quit;
static volatile long last_ms;

/* The held replies, under held_lock. */
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct held {
    rcvid_t rcvid;
    iofunc_ocb_t *ocb;
    long until_ms; /* 0: for ever */
    int big;       /* answered with BIG bytes of data */
} held[MAX_HELD];
static int nheld;
static struct crashy_stats stats;
/* The OCBs a slow request is using (under held_lock). */
static iofunc_ocb_t *busy[MAX_HELD];

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void touch(void) {
    __atomic_store_n(&last_ms, now_ms(), __ATOMIC_RELAXED);
}

static int io_open(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *handle, void *extra) {
    int st;
    touch();
    st = iofunc_open_default(ctp, msg, handle, extra);
    if (st == EOK) {
        __sync_fetch_and_add(&stats.opens, 1);
    }
    return st;
}

static int io_read(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb) {
    size_t n;
    off_t left;
    int st;
    touch();
    if ((st = iofunc_read_verify(ctp, msg, ocb, NULL)) != EOK) {
        return st;
    }
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE) {
        return ENOSYS;
    }
    iofunc_attr_lock(&dev.attr);
    left = dev.attr.nbytes - ocb->offset;
    if (left < 0) {
        left = 0;
    }
    n = (size_t)_IO_READ_GET_NBYTES(msg);
    if ((off_t)n > left) {
        n = (size_t)left;
    }
    iofunc_attr_unlock(&dev.attr);
    _IO_SET_READ_NBYTES(ctp, (long)n);
    SETIOV(ctp->iov, dev.data + ocb->offset, n);
    ocb->offset += (off_t)n;
    return _RESMGR_NPARTS(1);
}

static int io_write(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb) {
    size_t n;
    int st;
    touch();
    if ((st = iofunc_write_verify(ctp, msg, ocb, NULL)) != EOK) {
        return st;
    }
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE) {
        return ENOSYS;
    }
    n = (size_t)_IO_WRITE_GET_NBYTES(msg);
    if (ocb->offset < 0 || ocb->offset + (off_t)n > CAPACITY) {
        return ENOSPC;
    }
    if (resmgr_msgread(ctp, dev.data + ocb->offset, n, sizeof msg->i) != (ssize_t)n) {
        return EIO;
    }
    ocb->offset += (off_t)n;
    iofunc_attr_lock(&dev.attr);
    if (ocb->offset > dev.attr.nbytes) {
        dev.attr.nbytes = ocb->offset;
    }
    iofunc_attr_unlock(&dev.attr);
    _IO_SET_WRITE_NBYTES(ctp, (long)n);
    return EOK;
}

static char big_data[BIG];

/* Replies to a held request (under held_lock), with the pid as ret_val (and BIG bytes of data
 * for a big one: longer than a message window, copied straight into the client), or an
 * error. A big reply's result is counted: ESRCH for a client that died, as QNX says. */
static int answer(rcvid_t rcvid, int err, int big) {
    struct _io_devctl_reply o;
    iov_t iov[2];
    int r;
    if (err != EOK) {
        return MsgError(rcvid, err);
    }
    memset(&o, 0, sizeof o);
    o.ret_val = my_pid;
    if (!big) {
        return MsgReply(rcvid, EOK, &o, sizeof o);
    }
    o.nbytes = BIG;
    SETIOV(&iov[0], &o, sizeof o);
    SETIOV(&iov[1], big_data, BIG);
    r = MsgReplyv(rcvid, EOK, iov, 2);
    if (r != -1) {
        stats.big_replied++;
    } else if (errno == ESRCH) {
        stats.big_esrch++;
    } else if (errno == EFAULT) {
        stats.big_efault++;
    } else {
        stats.big_other++;
    }
    return r;
}

static int io_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb) {
    int st, v = 0;
    struct crashy_add add;
    void *data;
    touch();
    if ((st = iofunc_devctl_default(ctp, msg, ocb)) != _RESMGR_DEFAULT) {
        return st;
    }
    data = _DEVCTL_DATA(msg->i);
    switch (msg->i.dcmd) {
    case DCMD_CRASHY_PID:
        memset(&msg->o, 0, sizeof msg->o);
        memcpy(_DEVCTL_DATA(msg->o), &my_pid, sizeof my_pid);
        msg->o.nbytes = sizeof my_pid;
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof my_pid);
    case DCMD_CRASHY_ADD:
        if (msg->i.nbytes < sizeof add) {
            return EINVAL;
        }
        memcpy(&add, data, sizeof add);
        add.sum = add.a + add.b;
        add.pid = my_pid;
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.ret_val = 7;
        msg->o.nbytes = sizeof add;
        memcpy(_DEVCTL_DATA(msg->o), &add, sizeof add);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof add);
    case DCMD_CRASHY_SLOW:
        if (msg->i.nbytes < sizeof v) {
            return EINVAL;
        }
        memcpy(&v, data, sizeof v);
        if (v < 0 || v > 5000) {
            return EINVAL;
        }
        pthread_mutex_lock(&held_lock);
        for (st = 0; st < MAX_HELD && busy[st] != NULL; st++) {
        }
        if (st < MAX_HELD) {
            busy[st] = ocb;
        }
        pthread_mutex_unlock(&held_lock);
        delay((unsigned)v);
        /* The OCB is still ours: QNX's layer closes it only once its handlers returned. */
        pthread_mutex_lock(&held_lock);
        if (st < MAX_HELD) {
            busy[st] = NULL;
        }
        if (ocb->attr != &dev.attr) {
            stats.busy_bad++;
        }
        pthread_mutex_unlock(&held_lock);
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.ret_val = my_pid;
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
    case DCMD_CRASHY_HOLD:
    case DCMD_CRASHY_BIGHOLD:
        if (msg->i.nbytes < sizeof v) {
            return EINVAL;
        }
        memcpy(&v, data, sizeof v);
        if (v < 0) {
            return EINVAL;
        }
        pthread_mutex_lock(&held_lock);
        if (nheld == MAX_HELD) {
            pthread_mutex_unlock(&held_lock);
            return EAGAIN;
        }
        held[nheld].rcvid = ctp->rcvid;
        held[nheld].ocb = ocb;
        held[nheld].until_ms = v == 0 ? 0 : now_ms() + v;
        held[nheld].big = msg->i.dcmd == DCMD_CRASHY_BIGHOLD;
        nheld++;
        stats.held = nheld;
        pthread_mutex_unlock(&held_lock);
        return _RESMGR_NOREPLY;
    case DCMD_CRASHY_STATS:
        memset(&msg->o, 0, sizeof msg->o);
        pthread_mutex_lock(&held_lock);
        stats.pid = my_pid;
        stats.held = nheld;
        memcpy(_DEVCTL_DATA(msg->o), &stats, sizeof stats);
        pthread_mutex_unlock(&held_lock);
        msg->o.nbytes = sizeof stats;
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof stats);
    case DCMD_CRASHY_QUIT:
        quit = 1;
        return EOK;
    default:
        return _RESMGR_DEFAULT;
    }
}

/* Removes held entry i (under held_lock). */
static void forget(int i) {
    held[i] = held[nheld - 1];
    nheld--;
    stats.held = nheld;
}

/* The unblock pulse of a client REPLY-blocked in a held request: EINTR to it. */
static int io_unblock(resmgr_context_t *ctp, io_pulse_t *msg, iofunc_ocb_t *ocb) {
    int i;
    touch();
    pthread_mutex_lock(&held_lock);
    stats.unblocks++;
    for (i = 0; i < nheld; i++) {
        if (held[i].rcvid == ctp->rcvid) {
            if (answer(held[i].rcvid, EINTR, 0) == -1 && errno == ESRCH) {
                stats.unblock_gone++;
            }
            forget(i);
            pthread_mutex_unlock(&held_lock);
            return _RESMGR_NOREPLY;
        }
    }
    pthread_mutex_unlock(&held_lock);
    return iofunc_unblock_default(ctp, msg, ocb);
}

static int io_close_ocb(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb) {
    int i;
    touch();
    pthread_mutex_lock(&held_lock);
    for (i = 0; i < MAX_HELD; i++) {
        if (busy[i] == ocb) {
            stats.busy_closed++; /* closed under a handler still running */
        }
    }
    for (i = 0; i < nheld;) {
        if (held[i].ocb == ocb) {
            stats.held_closed++;
            if (answer(held[i].rcvid, EINTR, 0) == -1 && errno == ESRCH) {
                stats.held_gone++;
            }
            forget(i);
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&held_lock);
    __sync_fetch_and_add(&stats.closes, 1);
    return iofunc_close_ocb_default(ctp, reserved, ocb);
}

/* Answers the held requests whose time has come. */
static void *releaser(void *arg) {
    int i;
    (void)arg;
    for (;;) {
        long now = now_ms();
        pthread_mutex_lock(&held_lock);
        for (i = 0; i < nheld;) {
            if (held[i].until_ms != 0 && held[i].until_ms <= now) {
                answer(held[i].rcvid, EOK, held[i].big);
                stats.held_released++;
                forget(i);
            } else {
                i++;
            }
        }
        pthread_mutex_unlock(&held_lock);
        delay(5);
    }
    return NULL;
}

/* The single-threaded server: one context, dispatch_block and dispatch_handler for ever. */
static void *serve_loop(void *arg) {
    dispatch_context_t *ctp = (dispatch_context_t *)arg;
    for (;;) {
        dispatch_context_t *got = dispatch_block(ctp);
        if (got == NULL) {
            continue;
        }
        ctp = got;
        dispatch_handler(ctp);
    }
    return NULL;
}

int main(int argc, char **argv) {
    thread_pool_attr_t pool_attr;
    thread_pool_t *tpp = NULL;
    pthread_t t;
    int id, pool;
    long start;

    if (argc < 3 || argc > 4 || strlen(argv[1]) > 120 ||
        (strcmp(argv[2], "pool") != 0 && strcmp(argv[2], "loop") != 0) ||
        (argc == 4 && strcmp(argv[3], "wait") != 0)) {
        fprintf(stderr, "usage: crashy_dev PATH pool|loop [wait]\n");
        return 2;
    }
    pool = strcmp(argv[2], "pool") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line: the driver reads them as they come */
    my_pid = getpid();
    dpp = dispatch_create();
    if (dpp == NULL) {
        printf("attach failed: dispatch_create errno %d\n", errno);
        fflush(stdout);
        return 1;
    }
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    connect_funcs.open = io_open;
    io_funcs.read = io_read;
    io_funcs.write = io_write;
    io_funcs.devctl = io_devctl;
    io_funcs.unblock = io_unblock;
    io_funcs.close_ocb = io_close_ocb;
    iofunc_attr_init(&dev.attr, S_IFCHR | 0666, NULL, NULL);
    memset(big_data, 'b', sizeof big_data);
    if (argc == 4) {
        /* Started ahead: joined the kernel, it attaches at the driver's word. */
        char line[16];
        if (getprio(0) < 0) {
            printf("attach failed: getprio errno %d\n", errno);
            return 1;
        }
        printf("waiting\n");
        if (fgets(line, sizeof line, stdin) == NULL) {
            return 1;
        }
    }
    /* At once, the previous server just killed: the path must be free for us. */
    id = resmgr_attach(dpp, NULL, argv[1], _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &dev.attr);
    if (id == -1) {
        printf("attach failed: errno %d (%s)\n", errno, strerror(errno));
        fflush(stdout);
        return 1;
    }
    if (pthread_create(&t, NULL, releaser, NULL) != 0) {
        printf("attach failed: pthread_create\n");
        fflush(stdout);
        return 1;
    }
    if (pool) {
        memset(&pool_attr, 0, sizeof pool_attr);
        pool_attr.handle = dpp;
        pool_attr.context_alloc = dispatch_context_alloc;
        pool_attr.block_func = dispatch_block;
        pool_attr.unblock_func = dispatch_unblock;
        pool_attr.handler_func = dispatch_handler;
        pool_attr.context_free = dispatch_context_free;
        pool_attr.lo_water = 2;
        pool_attr.hi_water = 4;
        pool_attr.increment = 1;
        pool_attr.maximum = 6;
        tpp = thread_pool_create(&pool_attr, 0);
        if (tpp == NULL || thread_pool_start(tpp) != 0) {
            printf("attach failed: thread pool errno %d\n", errno);
            fflush(stdout);
            return 1;
        }
    } else {
        dispatch_context_t *ctp = dispatch_context_alloc(dpp);
        if (ctp == NULL || pthread_create(&t, NULL, serve_loop, ctp) != 0) {
            printf("attach failed: dispatch loop errno %d\n", errno);
            fflush(stdout);
            return 1;
        }
    }
    touch();
    printf("ready\n");
    fflush(stdout);

    /* Until QUIT (or 60 s); then until every OCB is closed and 200 ms went by without a
     * message (at most 10 s more). */
    start = now_ms();
    while (!quit && now_ms() - start < 60000) {
        delay(10);
    }
    CHECK(quit, "QUIT came within 60 s");
    start = now_ms();
    for (;;) {
        int o = __sync_fetch_and_add(&stats.opens, 0), c = __sync_fetch_and_add(&stats.closes, 0);
        if (o == c && now_ms() - __atomic_load_n(&last_ms, __ATOMIC_RELAXED) >= 200) {
            break;
        }
        if (now_ms() - start > 10000) {
            break;
        }
        delay(10);
    }
    pthread_mutex_lock(&held_lock);
    printf("crashy_dev: pid %d, %d opens, %d closes, %d held, %d held closed (%d gone), %d "
           "unblocks (%d gone), %d released, %d closed busy\n",
           my_pid, stats.opens, stats.closes, nheld, stats.held_closed, stats.held_gone,
           stats.unblocks, stats.unblock_gone, stats.held_released, stats.busy_closed);
    CHECK(stats.opens > 0 && stats.opens == stats.closes, "every open met its close_ocb");
    CHECK(nheld == 0, "no reply is held any more");
    CHECK(stats.busy_closed == 0 && stats.busy_bad == 0,
          "no OCB was closed under a handler still using it");
    pthread_mutex_unlock(&held_lock);
    iofunc_attr_lock(&dev.attr);
    CHECK(dev.attr.count == 0 && dev.attr.rcount == 0 && dev.attr.wcount == 0,
          "the device's open counts are back at zero");
    iofunc_attr_unlock(&dev.attr);
    CHECK(resmgr_detach(dpp, id, _RESMGR_DETACH_ALL) == 0, "resmgr_detach");
    (void)tpp;
    return SUMMARY();
}
