/*
 * review_supervisor_resmgr.c: review of resource managers, names and fd I/O on a supervised
 * kernel whose supervisor (procnto-sim) was killed, and of managers, name servers and clients
 * that die after it. One program, a role per argv[1]; the driver is
 * procnto-sim/tests/review_supervisor_resmgr.rs. Words from the driver are files in its
 * temporary directory (written whole by a rename), polled with a bound: a program cannot be
 * started once the supervisor is dead (it could not join the old kernel), so every program a
 * scenario needs after the kill is started before it and waits for its word.
 *
 *   mgr PATH NAME [DIR]    a resource manager on PATH, served by a thread pool (read of
 *                       HOLD_BYTES and DCMD_SR_HOLD are held, answered EINTR at the unblock
 *                       pulse or the OCB's close), and a name server on NAME (name_attach with
 *                       no dispatch handle, a thread of its own receiving: _IO_CONNECT EOK,
 *                       MSG_ECHO echoed, MSG_HOLD held until the unblock pulse, MSG_STATS; the
 *                       disconnect pulses counted). Prints "ready PID" (or "attach failed
 *                       ERRNO"); at DCMD_SR_QUIT checks its counts and prints the summary. With
 *                       DIR, it writes "closed C of O" to DIR/mgr.log at each close_ocb (C
 *                       closes of O opens) and "names live L" at each name disconnect pulse
 *                       (L server connections left), and at the word DIR/mgr-exit prints "exiting" and calls exit(0)
 *                       at once, its pool's threads blocked and its clients' requests held.
 *   blocked PATH NAME   three fds and two name connections; a read and a devctl held on two
 *                       of the fds, a MsgSend held on a name connection. Prints "blocked MGRPID";
 *                       when the driver has killed the supervisor and then the manager, checks
 *                       what each blocked call and each later call on the old fds and
 *                       connections gives (QNX: ESRCH for the blocked ones), that close
 *                       releases the fds (0, or as QNX's libc the _IO_CLOSE's EBADF/ESRCH),
 *                       that name_close succeeds, and that PATH and NAME are gone (ENOENT).
 *   victim PATH NAME [DIR]  two fds (one with a read held) and a name connection (a MsgSend
 *                       held); prints "armed" and sleeps until killed, or with DIR, until the
 *                       word DIR/leave, then prints "leaving" and calls exit(0) with all of it
 *                       open and blocked.
 *   checker PATH NAME DIR   joins (an open and a name_open), prints "joined" (or "missing
 *                       ENAME" and ends, if PATH is not in its kernel), then for each
 *                       word DIR/cmd1, DIR/cmd2, ... (a word per line): "clean" waits (bounded)
 *                       until the manager has no OCB, held request or name connection but the
 *                       checker's own and checks it serves (write, read back, devctl, echo);
 *                       "gone" checks PATH and NAME are gone (ENOENT, and free for a new
 *                       resmgr_attach and name_attach) and its own fd and connection fail;
 *                       "quit" ends the manager (DCMD_SR_QUIT: it checks its counts); "end"
 *                       ends the checker. Prints "did WORD" after each.
 *   cycler PATH NAME MS DIR  after the word DIR/go (or at once if DIR is "-"), opens, writes,
 *                       reads back, devctls and closes PATH, and name_opens, echoes and
 *                       name_closes NAME, over and over for MS ms; prints "running" when it
 *                       starts, then "ok CYCLES" or "error WHAT ENAME after CYCLES".
 *   late PATH NAME      a program started while the supervisor may be dying: its first call
 *                       joins a kernel (the old one, or a new one a new supervisor serves);
 *                       prints "ok found" (PATH and NAME reached), "ok not-found ENAME ENAME"
 *                       (neither there: a new kernel, or the manager not attached yet),
 *                       "error mixed ENAME ENAME" (one of them) or "error WHAT ENAME".
 *   forker PATH DIR     opens PATH, prints "joined"; at the word DIR/fork forks: the child
 *                       prints "child read R ENAME" (a read of the inherited fd) and "child open
 *                       ok|ENAME" (its own open of PATH); the parent prints "child status S"
 *                       and "parent devctl ENAME" (a devctl on its fd).
 *   phys DIR VALUE      joins, prints "joined", then (after the word DIR/map, or at once if DIR
 *                       is "-") maps the device register at PHYS_ADDR (mmap_device_memory),
 *                       prints "read 0x........" (its value), writes VALUE (hex) unless it is
 *                       "-" and prints "wrote 0x........", and sleeps until killed.
 * Every program ends within 90 s (alarm()); every blocking call of the clients is bounded by
 * it, and the driver's bounds are shorter.
 */
#include <devctl.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <sys/iomgr.h>
#include <sys/iomsg.h>
#include <sys/mman.h>
#include <sys/neutrino.h>

#include "check.h"

struct sr_stats {
    int pid, opens, closes, held, count, unblocks;
    /* The name server's: _IO_CONNECTs and disconnect pulses seen, server connections live (a
     * disconnect pulse may come for a connection whose _IO_CONNECT never came: its client
     * died between ConnectAttach and the send), held messages, unblock pulses. */
    int n_connects, n_disconnects, n_live, n_held, n_unblocks;
};

#define DCMD_SR_STATS __DIOF(_DCMD_MISC, 11, struct sr_stats)
#define DCMD_SR_HOLD __DION(_DCMD_MISC, 12)
#define DCMD_SR_QUIT __DION(_DCMD_MISC, 13)
#define HOLD_BYTES 5555
#define PHYS_ADDR 0x10002000ULL
#define CAP 4096
#define MAX_HELD 64

/* The name server's messages (not I/O messages: below _IO_BASE would be a system message,
 * so types of our own above _IO_MAX). */
#define MSG_ECHO 0x5001
#define MSG_HOLD 0x5002
#define MSG_STATS 0x5003

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A word from the driver: DIR/NAME's first line into `out` (bounded by `ms`): 1 if it came. */
static int wait_word(const char *dir, const char *name, char *out, size_t n, long ms) {
    char file[400];
    FILE *f;
    long until = now_ms() + ms;
    snprintf(file, sizeof file, "%s/%s", dir, name);
    for (;;) {
        f = fopen(file, "r");
        if (f != NULL) {
            int ok = fgets(out, (int)n, f) != NULL;
            fclose(f);
            if (ok) {
                out[strcspn(out, "\n")] = 0;
                return 1;
            }
        }
        if (now_ms() > until) {
            return 0;
        }
        sleep_ms(5);
    }
}

static const char *ename(int e) {
    switch (e) {
    case EOK: return "EOK";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case ENXIO: return "ENXIO";
    case EINVAL: return "EINVAL";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EACCES: return "EACCES";
    case EAGAIN: return "EAGAIN";
    case ENOSYS: return "ENOSYS";
    case EFAULT: return "EFAULT";
    case EIO: return "EIO";
    case EPIPE: return "EPIPE";
    case ENOMEM: return "ENOMEM";
    case EEXIST: return "EEXIST";
    case ENOTCONN: return "ENOTCONN";
    default: {
        static char b[32];
        snprintf(b, sizeof b, "Errno(%d)", e);
        return b;
    }
    }
}

/* ===================================================================== the manager */

static struct {
    iofunc_attr_t attr;
    char data[CAP];
} dev;
static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static dispatch_t *dpp;
static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static struct {
    rcvid_t rcvid;
    iofunc_ocb_t *ocb;
} held[MAX_HELD];
static struct sr_stats st;
static volatile int quit;
/* mgr ... DIR: DIR/mgr.log gets a line at each close_ocb and name disconnect (-1: none). */
static int log_fd = -1;
static const char *mgr_dir;

static void hold(resmgr_context_t *ctp, iofunc_ocb_t *ocb) {
    pthread_mutex_lock(&lk);
    if (st.held < MAX_HELD) {
        held[st.held].rcvid = ctp->rcvid;
        held[st.held].ocb = ocb;
        st.held++;
    }
    pthread_mutex_unlock(&lk);
}

/* Answers (EINTR) the held requests of `ocb` (or of rcvid `r`); under lk. */
static int release_held(iofunc_ocb_t *ocb, rcvid_t r) {
    int i, n = 0;
    for (i = 0; i < st.held;) {
        if ((ocb != NULL && held[i].ocb == ocb) || (r != 0 && held[i].rcvid == r)) {
            MsgError(held[i].rcvid, EINTR);
            held[i] = held[st.held - 1];
            st.held--;
            n++;
        } else {
            i++;
        }
    }
    return n;
}

static int m_open(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *a, void *extra) {
    int r = iofunc_open_default(ctp, msg, a, extra);
    if (r == EOK) {
        __sync_fetch_and_add(&st.opens, 1);
    }
    return r;
}

static int m_read(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb) {
    size_t n;
    off_t left;
    int r;
    if ((r = iofunc_read_verify(ctp, msg, ocb, NULL)) != EOK) {
        return r;
    }
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE) {
        return ENOSYS;
    }
    if (msg->i.nbytes == HOLD_BYTES && ctp->rcvid > 0) {
        hold(ctp, ocb);
        return _RESMGR_NOREPLY;
    }
    iofunc_attr_lock(&dev.attr);
    left = dev.attr.nbytes - ocb->offset;
    if (left < 0) {
        left = 0;
    }
    n = (size_t)msg->i.nbytes;
    if ((off_t)n > left) {
        n = (size_t)left;
    }
    iofunc_attr_unlock(&dev.attr);
    _IO_SET_READ_NBYTES(ctp, (long)n);
    SETIOV(ctp->iov, dev.data + ocb->offset, n);
    ocb->offset += (off_t)n;
    return _RESMGR_NPARTS(1);
}

static int m_write(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb) {
    size_t n;
    ssize_t got;
    int r;
    if ((r = iofunc_write_verify(ctp, msg, ocb, NULL)) != EOK) {
        return r;
    }
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE) {
        return ENOSYS;
    }
    n = (size_t)msg->i.nbytes;
    if (ocb->offset < 0 || ocb->offset >= CAP) {
        return ENOSPC;
    }
    if (n > (size_t)(CAP - ocb->offset)) {
        n = (size_t)(CAP - ocb->offset);
    }
    got = resmgr_msgread(ctp, dev.data + ocb->offset, n, sizeof msg->i);
    if (got < 0) {
        return errno;
    }
    ocb->offset += (off_t)got;
    iofunc_attr_lock(&dev.attr);
    if (ocb->offset > dev.attr.nbytes) {
        dev.attr.nbytes = ocb->offset;
    }
    iofunc_attr_unlock(&dev.attr);
    _IO_SET_WRITE_NBYTES(ctp, (long)got);
    return EOK;
}

static void stats_now(struct sr_stats *s) {
    iofunc_attr_lock(&dev.attr);
    pthread_mutex_lock(&lk);
    *s = st;
    s->count = dev.attr.count;
    pthread_mutex_unlock(&lk);
    iofunc_attr_unlock(&dev.attr);
    s->pid = getpid();
    s->opens = __sync_fetch_and_add(&st.opens, 0);
    s->closes = __sync_fetch_and_add(&st.closes, 0);
}

static int m_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb) {
    int r;
    if ((r = iofunc_devctl_default(ctp, msg, ocb)) != _RESMGR_DEFAULT) {
        return r;
    }
    switch (msg->i.dcmd) {
    case DCMD_SR_STATS: {
        struct sr_stats s;
        stats_now(&s);
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.nbytes = sizeof s;
        memcpy(_DEVCTL_DATA(msg->o), &s, sizeof s);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof s);
    }
    case DCMD_SR_HOLD:
        hold(ctp, ocb);
        return _RESMGR_NOREPLY;
    case DCMD_SR_QUIT:
        quit = 1;
        memset(&msg->o, 0, sizeof msg->o);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
    default:
        return ENOSYS;
    }
}

static int m_unblock(resmgr_context_t *ctp, io_pulse_t *msg, iofunc_ocb_t *ocb) {
    int n;
    pthread_mutex_lock(&lk);
    st.unblocks++;
    n = release_held(NULL, ctp->rcvid);
    pthread_mutex_unlock(&lk);
    return n > 0 ? _RESMGR_NOREPLY : iofunc_unblock_default(ctp, msg, ocb);
}

static int m_close_ocb(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb) {
    int r, n;
    pthread_mutex_lock(&lk);
    release_held(ocb, 0);
    pthread_mutex_unlock(&lk);
    r = iofunc_close_ocb_default(ctp, reserved, ocb);
    n = __sync_add_and_fetch(&st.closes, 1);
    if (log_fd != -1) {
        dprintf(log_fd, "closed %d of %d\n", n, __sync_fetch_and_add(&st.opens, 0));
    }
    return r;
}

/* The name server's thread: receives on the name's own channel. */
static name_attach_t *na;
static struct {
    rcvid_t rcvid;
    int scoid;
} nheld[MAX_HELD];
#define MAX_LIVE 256
static int live[MAX_LIVE];

/* Server connection `scoid` live (`on`) or gone; under lk. */
static void set_live(int scoid, int on) {
    int i;
    for (i = 0; i < st.n_live; i++) {
        if (live[i] == scoid) {
            if (!on) {
                live[i] = live[--st.n_live];
            }
            return;
        }
    }
    if (on && st.n_live < MAX_LIVE) {
        live[st.n_live++] = scoid;
    }
}

static void *name_server(void *arg) {
    union {
        uint16_t type;
        struct _pulse pulse;
        char raw[256];
    } m;
    struct _msg_info info;
    rcvid_t rcvid;
    int i;
    (void)arg;
    for (;;) {
        rcvid = MsgReceive(na->chid, &m, sizeof m, &info);
        if (rcvid == -1) {
            if (errno == EINTR) {
                continue;
            }
            return NULL;
        }
        pthread_mutex_lock(&lk);
        if (rcvid == 0) {
            if (m.pulse.code == _PULSE_CODE_DISCONNECT) {
                st.n_disconnects++;
                /* Held messages of that connection: gone with it (their senders too). */
                for (i = 0; i < st.n_held;) {
                    if (nheld[i].scoid == m.pulse.scoid) {
                        MsgError(nheld[i].rcvid, EBADF);
                        nheld[i] = nheld[--st.n_held];
                    } else {
                        i++;
                    }
                }
                ConnectDetach(m.pulse.scoid);
                set_live(m.pulse.scoid, 0);
                if (log_fd != -1) {
                    dprintf(log_fd, "names live %d\n", st.n_live);
                }
            } else if (m.pulse.code == _PULSE_CODE_UNBLOCK) {
                st.n_unblocks++;
                for (i = 0; i < st.n_held; i++) {
                    if (nheld[i].rcvid == (rcvid_t)m.pulse.value.sival_int) {
                        MsgError(nheld[i].rcvid, EINTR);
                        nheld[i] = nheld[--st.n_held];
                        break;
                    }
                }
            }
            pthread_mutex_unlock(&lk);
            continue;
        }
        switch (m.type) {
        case _IO_CONNECT:
            st.n_connects++;
            set_live(info.scoid, 1);
            MsgReply(rcvid, EOK, NULL, 0);
            break;
        case MSG_ECHO:
            MsgReply(rcvid, (long)info.msglen, &m,
                     (size_t)info.msglen < sizeof m ? (size_t)info.msglen : sizeof m);
            break;
        case MSG_HOLD:
            if (st.n_held < MAX_HELD) {
                nheld[st.n_held].rcvid = rcvid;
                nheld[st.n_held].scoid = info.scoid;
                st.n_held++;
            } else {
                MsgError(rcvid, EAGAIN);
            }
            break;
        case MSG_STATS: {
            struct sr_stats s = st;
            pthread_mutex_unlock(&lk);
            stats_now(&s);
            MsgReply(rcvid, EOK, &s, sizeof s);
            continue;
        }
        default:
            MsgError(rcvid, ENOSYS);
            break;
        }
        pthread_mutex_unlock(&lk);
    }
}

static int role_mgr(const char *path, const char *name) {
    thread_pool_attr_t pa;
    thread_pool_t *tpp;
    pthread_t nt;
    int id;
    long start;

    dpp = dispatch_create();
    if (dpp == NULL) {
        printf("attach failed %s dispatch_create\n", ename(errno));
        return 1;
    }
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    connect_funcs.open = m_open;
    io_funcs.read = m_read;
    io_funcs.write = m_write;
    io_funcs.devctl = m_devctl;
    io_funcs.unblock = m_unblock;
    io_funcs.close_ocb = m_close_ocb;
    iofunc_attr_init(&dev.attr, S_IFCHR | 0666, NULL, NULL);
    id = resmgr_attach(dpp, NULL, path, _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &dev.attr);
    if (id == -1) {
        printf("attach failed %s resmgr_attach\n", ename(errno));
        return 1;
    }
    na = name_attach(NULL, name, 0);
    if (na == NULL) {
        printf("attach failed %s name_attach\n", ename(errno));
        return 1;
    }
    memset(&pa, 0, sizeof pa);
    pa.handle = dpp;
    pa.context_alloc = dispatch_context_alloc;
    pa.block_func = dispatch_block;
    pa.unblock_func = dispatch_unblock;
    pa.handler_func = dispatch_handler;
    pa.context_free = dispatch_context_free;
    pa.lo_water = 2;
    pa.hi_water = 4;
    pa.increment = 1;
    pa.maximum = 12;
    tpp = thread_pool_create(&pa, 0);
    if (tpp == NULL || thread_pool_start(tpp) != 0) {
        printf("attach failed %s thread_pool\n", ename(errno));
        return 1;
    }
    if (pthread_create(&nt, NULL, name_server, NULL) != 0) {
        printf("attach failed pthread_create\n");
        return 1;
    }
    printf("ready %d\n", getpid());
    fflush(stdout);
    start = now_ms();
    while (!quit && now_ms() - start < 85000) {
        char word[16];
        if (mgr_dir != NULL && wait_word(mgr_dir, "mgr-exit", word, sizeof word, 0)) {
            /* exit() from main, the pool's threads blocked in the kernel and clients'
             * requests held: the library takes the process out at exit. */
            printf("exiting\n");
            fflush(stdout);
            exit(0);
        }
        sleep_ms(10);
    }
    CHECK(quit, "QUIT came");
    /* The QUIT's own OCB closes after its reply: wait for it (bounded). */
    start = now_ms();
    while (__sync_fetch_and_add(&st.opens, 0) != __sync_fetch_and_add(&st.closes, 0) &&
           now_ms() - start < 5000) {
        sleep_ms(10);
    }
    pthread_mutex_lock(&lk);
    printf("mgr: %d opens, %d closes, %d held, %d unblocks; name: %d connects, %d disconnects, "
           "%d held, %d unblocks\n",
           st.opens, st.closes, st.held, st.unblocks, st.n_connects, st.n_disconnects,
           st.n_held, st.n_unblocks);
    CHECK(st.opens > 0 && st.opens == st.closes, "every open met its close_ocb");
    CHECK(st.held == 0 && st.n_held == 0, "no request is still held");
    pthread_mutex_unlock(&lk);
    iofunc_attr_lock(&dev.attr);
    CHECK(dev.attr.count == 0 && dev.attr.rcount == 0 && dev.attr.wcount == 0,
          "the attribute's open counts are back at zero");
    iofunc_attr_unlock(&dev.attr);
    return SUMMARY();
}

/* ===================================================================== client helpers */

static int stats_of(int fd, struct sr_stats *s) {
    memset(s, 0, sizeof *s);
    return devctl(fd, DCMD_SR_STATS, s, sizeof *s, NULL);
}

/* MsgSend bounded by 5 s (send and reply). */
static long send5(int coid, const void *m, size_t n, void *r, size_t rn) {
    uint64_t ns = 5000000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    return MsgSend(coid, m, n, r, rn);
}

static int name_stats(int coid, struct sr_stats *s) {
    uint16_t t = MSG_STATS;
    memset(s, 0, sizeof *s);
    return send5(coid, &t, sizeof t, s, sizeof *s) == 0 ? EOK : errno;
}

/* ===================================================================== blocked */

static int bfd[3], bcoid[2];
static long bret[3];
static int berr[3];
static volatile int bdone[3];

static void *b_read(void *a) {
    char b[HOLD_BYTES];
    (void)a;
    bret[0] = (long)read(bfd[0], b, HOLD_BYTES);
    berr[0] = errno;
    bdone[0] = 1;
    return NULL;
}

static void *b_devctl(void *a) {
    (void)a;
    bret[1] = devctl(bfd[1], DCMD_SR_HOLD, NULL, 0, NULL);
    berr[1] = errno;
    bdone[1] = 1;
    return NULL;
}

static void *b_send(void *a) {
    uint16_t t = MSG_HOLD;
    (void)a;
    bret[2] = MsgSend(bcoid[0], &t, sizeof t, NULL, 0);
    berr[2] = errno;
    bdone[2] = 1;
    return NULL;
}

static int role_blocked(const char *path, const char *name) {
    pthread_t t[3];
    struct sr_stats s, ns;
    char b[8];
    int i, fd, mgrpid = 0, all;
    long until, r;
    uint16_t echo = MSG_ECHO;

    for (i = 0; i < 3; i++) {
        bfd[i] = open(path, O_RDWR);
        CHECK(bfd[i] != -1, "open");
    }
    CHECK(write(bfd[2], "abc", 3) == 3, "write");
    for (i = 0; i < 2; i++) {
        bcoid[i] = name_open(name, 0);
        CHECK(bcoid[i] != -1, "name_open");
    }
    CHECK(stats_of(bfd[2], &s) == EOK, "stats of the manager");
    mgrpid = s.pid;
    pthread_create(&t[0], NULL, b_read, NULL);
    pthread_create(&t[1], NULL, b_devctl, NULL);
    pthread_create(&t[2], NULL, b_send, NULL);
    until = now_ms() + 10000;
    do {
        sleep_ms(20);
        stats_of(bfd[2], &s);
        name_stats(bcoid[1], &ns);
    } while (!(s.held == 2 && ns.n_held == 1) && now_ms() < until);
    CHECK(s.held == 2 && ns.n_held == 1, "a read and a devctl held by the manager, a message by "
                                         "the name server");
    printf("blocked %d\n", mgrpid);
    fflush(stdout);
    /* The driver kills the supervisor, then the manager: each blocked call must come back
     * (the driver bounds how soon; alarm() how long at all). */
    for (;;) {
        all = bdone[0] && bdone[1] && bdone[2];
        if (all) {
            break;
        }
        sleep_ms(5);
    }
    printf("released\n");
    printf("observed: read %ld %s, devctl %ld, MsgSend %ld %s\n", bret[0], ename(berr[0]),
           bret[1], bret[2], ename(berr[2]));
    fflush(stdout);
    for (i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
    }
    CHECK(bret[0] == -1 && berr[0] == ESRCH, "the blocked read: -1 ESRCH (QNX: the server died)");
    CHECK(bret[1] == ESRCH, "the blocked devctl: ESRCH");
    CHECK(bret[2] == -1 && berr[2] == ESRCH, "the blocked MsgSend on the name: -1 ESRCH");
    /* Later calls on the old fds and connections fail, with the errno of a dead server
     * (QNX: EBADF, the connection no longer reaches a channel; ESRCH taken too). */
    r = read(bfd[2], b, 1);
    printf("observed: later read %ld %s\n", r, ename(errno));
    CHECK(r == -1 && (errno == EBADF || errno == ESRCH), "a later read fails EBADF/ESRCH");
    r = write(bfd[2], "x", 1);
    CHECK(r == -1 && (errno == EBADF || errno == ESRCH), "a later write fails EBADF/ESRCH");
    r = devctl(bfd[0], DCMD_SR_STATS, &s, sizeof s, NULL);
    CHECK(r == EBADF || r == ESRCH, "a later devctl: EBADF/ESRCH");
    r = send5(bcoid[1], &echo, sizeof echo, NULL, 0);
    printf("observed: later MsgSend on the name %ld %s\n", r, ename(errno));
    CHECK(r == -1 && (errno == EBADF || errno == ESRCH), "a later MsgSend on the name fails");
    /* close: QNX's libc sends _IO_CLOSE, detaches the connection whatever it gave, and
     * returns what the send returned: -1 and the dead server's errno here, the fd released. */
    for (i = 0; i < 3; i++) {
        r = close(bfd[i]);
        if (i == 0) {
            printf("observed: close %ld %s\n", r, ename(r == -1 ? errno : EOK));
        }
        CHECK(r == 0 || (r == -1 && (errno == EBADF || errno == ESRCH)),
              "close of an fd of the dead manager: 0, or the send's EBADF/ESRCH");
        CHECK(fcntl(bfd[i], F_GETFD) == -1 && errno == EBADF, "the fd is closed");
    }
    for (i = 0; i < 2; i++) {
        CHECK(name_close(bcoid[i]) == 0, "name_close of a connection to the dead server: 0");
    }
    /* The path and the name went with the manager. */
    fd = open(path, O_RDWR);
    CHECK(fd == -1 && errno == ENOENT, "open of the dead manager's path: ENOENT");
    if (fd != -1) {
        close(fd);
    }
    fd = name_open(name, 0);
    CHECK(fd == -1 && errno == ENOENT, "name_open of the dead server's name: ENOENT");
    if (fd != -1) {
        name_close(fd);
    }
    return SUMMARY();
}

/* ===================================================================== victim */

static int vfd[2], vcoid;

static void *v_read(void *a) {
    char b[HOLD_BYTES];
    (void)a;
    (void)read(vfd[0], b, HOLD_BYTES);
    return NULL;
}

static void *v_send(void *a) {
    uint16_t t = MSG_HOLD;
    (void)a;
    (void)MsgSend(vcoid, &t, sizeof t, NULL, 0);
    return NULL;
}

static int role_victim(const char *path, const char *name, const char *dir) {
    pthread_t t[2];
    struct sr_stats s, ns, base, nbase;
    int fd;
    long until;

    fd = open(path, O_RDWR);
    CHECK(fd != -1 && stats_of(fd, &base) == EOK, "stats before");
    vfd[0] = open(path, O_RDWR);
    vfd[1] = open(path, O_RDWR);
    CHECK(vfd[0] != -1 && vfd[1] != -1, "open");
    CHECK(write(vfd[1], "victim", 6) == 6, "write");
    vcoid = name_open(name, 0);
    CHECK(vcoid != -1, "name_open");
    CHECK(name_stats(vcoid, &nbase) == EOK, "name stats before");
    pthread_create(&t[0], NULL, v_read, NULL);
    pthread_create(&t[1], NULL, v_send, NULL);
    until = now_ms() + 10000;
    do {
        sleep_ms(20);
        stats_of(fd, &s);
        name_stats(vcoid, &ns);
    } while (!(s.held == base.held + 1 && ns.n_held == nbase.n_held + 1) && now_ms() < until);
    CHECK(s.held == base.held + 1 && ns.n_held == nbase.n_held + 1, "held");
    close(fd);
    printf("armed\n");
    fflush(stdout);
    if (check_failed) {
        return SUMMARY();
    }
    if (dir != NULL) {
        char word[16];
        /* exit() with the fds and the connection open, the read and the send still blocked
         * in their threads: the library takes the process out at exit. */
        if (wait_word(dir, "leave", word, sizeof word, 60000)) {
            printf("leaving\n");
            fflush(stdout);
            exit(0);
        }
        return 1;
    }
    for (;;) {
        pause();
    }
}

/* ===================================================================== checker */

/* Waits (bounded) until the manager has nothing but the checker's own fd and connection. */
static void check_clean(int fd, int coid) {
    struct sr_stats s, ns;
    char b[16];
    uint16_t echo[4] = {MSG_ECHO, 1, 2, 3}, back[4];
    long until = now_ms() + 10000;
    int e1, e2;
    do {
        e1 = stats_of(fd, &s);
        e2 = name_stats(coid, &ns);
        if (e1 == EOK && e2 == EOK && s.opens - s.closes == 1 && s.count == 1 && s.held == 0 &&
            ns.n_live == 1 && ns.n_held == 0) {
            break;
        }
        sleep_ms(20);
    } while (now_ms() < until);
    printf("observed: stats %s/%s: %d opens %d closes %d count %d held %d unblocks; name %d "
           "connects %d disconnects %d live %d held %d unblocks\n",
           ename(e1), ename(e2), s.opens, s.closes, s.count, s.held, s.unblocks, ns.n_connects,
           ns.n_disconnects, ns.n_live, ns.n_held, ns.n_unblocks);
    CHECK(e1 == EOK && s.opens - s.closes == 1 && s.count == 1,
          "every OCB but the checker's closed (io_close_ocb)");
    CHECK(e1 == EOK && s.held == 0, "no held request left");
    CHECK(e2 == EOK && ns.n_live == 1, "every name connection but the checker's disconnected");
    CHECK(e2 == EOK && ns.n_held == 0, "no held name message left");
    /* And the manager serves. */
    CHECK(lseek(fd, 100, SEEK_SET) == 100 && write(fd, "serving", 7) == 7, "write");
    CHECK(lseek(fd, 100, SEEK_SET) == 100 && read(fd, b, 7) == 7 && memcmp(b, "serving", 7) == 0,
          "read back");
    CHECK(send5(coid, echo, sizeof echo, back, sizeof back) == (long)sizeof echo &&
              memcmp(echo, back, sizeof echo) == 0,
          "echo through the name");
}

static void check_gone(const char *path, const char *name, int fd, int coid) {
    char b[4];
    long r;
    int g;
    uint16_t echo = MSG_ECHO;
    r = read(fd, b, 1);
    printf("observed: checker's read %ld %s\n", r, ename(errno));
    CHECK(r == -1 && (errno == EBADF || errno == ESRCH), "the checker's fd fails");
    r = send5(coid, &echo, sizeof echo, NULL, 0);
    CHECK(r == -1 && (errno == EBADF || errno == ESRCH), "the checker's name connection fails");
    g = open(path, O_RDONLY);
    CHECK(g == -1 && errno == ENOENT, "the path is gone: ENOENT");
    if (g != -1) {
        close(g);
    }
    g = name_open(name, 0);
    CHECK(g == -1 && errno == ENOENT, "the name is gone: ENOENT");
    if (g != -1) {
        name_close(g);
    }
    /* Both are free for a new server of this kernel. */
    {
        static resmgr_connect_funcs_t cf;
        static resmgr_io_funcs_t iof;
        static iofunc_attr_t at;
        dispatch_t *d = dispatch_create();
        name_attach_t *a = name_attach(NULL, name, 0);
        int id;
        CHECK(a != NULL, "the name can be attached again");
        if (a != NULL) {
            CHECK(name_detach(a, 0) == 0, "name_detach");
        }
        CHECK(d != NULL, "dispatch_create");
        if (d != NULL) {
            iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &cf, _RESMGR_IO_NFUNCS, &iof);
            iofunc_attr_init(&at, S_IFCHR | 0666, NULL, NULL);
            id = resmgr_attach(d, NULL, path, _FTYPE_ANY, 0, &cf, &iof, &at);
            CHECK(id != -1, "the path can be attached again");
            if (id != -1) {
                CHECK(resmgr_detach(d, id, 0) == 0, "resmgr_detach");
            }
            dispatch_destroy(d);
        }
    }
}

static int role_checker(const char *path, const char *name, const char *dir) {
    char word[64], cmd[32];
    int fd, coid, k;
    fd = open(path, O_RDWR);
    if (fd == -1) {
        /* A kernel without the manager (a new supervisor's): nothing to check. */
        printf("missing %s\n", ename(errno));
        return 0;
    }
    coid = name_open(name, 0);
    CHECK(coid != -1, "the checker's name_open");
    printf("joined\n");
    fflush(stdout);
    for (k = 1;; k++) {
        snprintf(cmd, sizeof cmd, "cmd%d", k);
        if (!wait_word(dir, cmd, word, sizeof word, 60000)) {
            CHECK(0, "a word from the driver");
            break;
        }
        if (strcmp(word, "clean") == 0) {
            check_clean(fd, coid);
        } else if (strcmp(word, "gone") == 0) {
            check_gone(path, name, fd, coid);
        } else if (strcmp(word, "quit") == 0) {
            CHECK(devctl(fd, DCMD_SR_QUIT, NULL, 0, NULL) == EOK, "QUIT");
            CHECK(close(fd) == 0, "close");
            CHECK(name_close(coid) == 0, "name_close");
        } else if (strcmp(word, "end") == 0) {
            break;
        } else {
            CHECK(0, "a known word");
        }
        printf("did %s\n", word);
        fflush(stdout);
    }
    return SUMMARY();
}

/* ===================================================================== cycler */

static int role_cycler(const char *path, const char *name, long ms, const char *dir) {
    char b[32], word[16];
    struct sr_stats s;
    int fd, coid, cycles = 0, n, r;
    long until;
    uint16_t echo[4] = {MSG_ECHO, 4, 5, 6}, back[4];
    const char *what = NULL;

    /* Joins (its first call), then waits for its go. */
    (void)getpid();
    if (strcmp(dir, "-") != 0) {
        fd = open(path, O_RDWR);
        if (fd == -1) {
            printf("error open %s after 0\n", ename(errno));
            return 0;
        }
        close(fd);
        printf("joined\n");
        fflush(stdout);
        if (!wait_word(dir, "go", word, sizeof word, 60000)) {
            printf("error go ETIMEDOUT after 0\n");
            return 0;
        }
    }
    printf("running\n");
    fflush(stdout);
    until = now_ms() + ms;
    while (now_ms() < until) {
        n = snprintf(b, sizeof b, "cycle %d", cycles);
        fd = open(path, O_RDWR);
        if (fd == -1) {
            what = "open";
            break;
        }
        if (write(fd, b, (size_t)n) != n) {
            what = "write";
        } else if (lseek(fd, 0, SEEK_SET) != 0) {
            what = "lseek";
        } else if (read(fd, b, (size_t)n) != n) {
            what = "read";
        } else if ((r = stats_of(fd, &s)) != EOK) {
            errno = r;
            what = "devctl";
        }
        if (what != NULL) {
            int e = errno;
            close(fd);
            errno = e;
            break;
        }
        if (close(fd) != 0) {
            what = "close";
            break;
        }
        coid = name_open(name, 0);
        if (coid == -1) {
            what = "name_open";
            break;
        }
        if (send5(coid, echo, sizeof echo, back, sizeof back) != (long)sizeof echo) {
            int e = errno;
            name_close(coid);
            errno = e;
            what = "MsgSend";
            break;
        }
        if (name_close(coid) != 0) {
            what = "name_close";
            break;
        }
        cycles++;
    }
    if (what != NULL) {
        printf("error %s %s after %d\n", what, ename(errno), cycles);
    } else {
        printf("ok %d\n", cycles);
    }
    fflush(stdout);
    return 0;
}

/* ===================================================================== late */

static int role_late(const char *path, const char *name) {
    int fd, coid, e1, e2;
    struct sr_stats s;
    if (getprio(0) == -1) {
        printf("error join %s\n", ename(errno));
        return 0;
    }
    fd = open(path, O_RDWR);
    e1 = fd == -1 ? errno : EOK;
    coid = name_open(name, 0);
    e2 = coid == -1 ? errno : EOK;
    if (fd != -1 && coid != -1) {
        int r = stats_of(fd, &s);
        close(fd);
        name_close(coid);
        if (r != EOK) {
            printf("error devctl %s\n", ename(r));
        } else {
            printf("ok found\n");
        }
    } else if (fd == -1 && coid == -1) {
        printf("ok not-found %s %s\n", ename(e1), ename(e2));
    } else {
        if (fd != -1) {
            close(fd);
        }
        if (coid != -1) {
            name_close(coid);
        }
        printf("error mixed %s %s\n", ename(e1), ename(e2));
    }
    fflush(stdout);
    return 0;
}

/* ===================================================================== forker */

static int role_forker(const char *path, const char *dir) {
    struct sr_stats s;
    char word[16], b[4];
    int fd, status = -1, cfd, r;
    pid_t pid;
    long until;
    fd = open(path, O_RDWR);
    if (fd == -1) {
        printf("error open %s\n", ename(errno));
        return 0;
    }
    printf("joined\n");
    fflush(stdout);
    if (!wait_word(dir, "fork", word, sizeof word, 60000)) {
        return 1;
    }
    pid = fork();
    if (pid == 0) {
        alarm(20);
        r = (int)read(fd, b, 1);
        printf("child read %d %s\n", r, ename(r == -1 ? errno : EOK));
        cfd = open(path, O_RDWR);
        printf("child open %s\n", cfd == -1 ? ename(errno) : "ok");
        fflush(stdout);
        _exit(0);
    }
    until = now_ms() + 30000;
    while (pid > 0 && waitpid(pid, &status, WNOHANG) == 0 && now_ms() < until) {
        sleep_ms(10);
    }
    printf("child status %d\n", status);
    r = stats_of(fd, &s);
    printf("parent devctl %s\n", ename(r));
    close(fd);
    return 0;
}

/* ===================================================================== phys */

static int role_phys(const char *word_dir, const char *value) {
    volatile uint32_t *reg;
    char word[16];
    unsigned long v;
    if (getprio(0) == -1) {
        printf("error join %s\n", ename(errno));
        return 0;
    }
    printf("joined\n");
    fflush(stdout);
    if (strcmp(word_dir, "-") != 0 && !wait_word(word_dir, "map", word, sizeof word, 60000)) {
        return 1;
    }
    reg = (volatile uint32_t *)mmap_device_memory(NULL, 4096, PROT_READ | PROT_WRITE |
                                                  PROT_NOCACHE, 0, PHYS_ADDR);
    if ((void *)reg == MAP_FAILED) {
        printf("error mmap_device_memory %s\n", ename(errno));
        return 0;
    }
    printf("read 0x%08x\n", (unsigned)reg[0]);
    if (strcmp(value, "-") != 0) {
        v = strtoul(value, NULL, 16);
        reg[0] = (uint32_t)v;
        printf("wrote 0x%08x\n", (unsigned)reg[0]);
    }
    fflush(stdout);
    for (;;) {
        pause();
    }
}

int main(int argc, char **argv) {
    alarm(90);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 4 && strcmp(argv[1], "mgr") == 0) {
        if (argc >= 5 && strcmp(argv[4], "-") != 0) {
            char file[400];
            mgr_dir = argv[4];
            snprintf(file, sizeof file, "%s/mgr.log", mgr_dir);
            log_fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        }
        return role_mgr(argv[2], argv[3]);
    }
    if (argc >= 4 && strcmp(argv[1], "blocked") == 0) {
        return role_blocked(argv[2], argv[3]);
    }
    if (argc >= 4 && strcmp(argv[1], "victim") == 0) {
        return role_victim(argv[2], argv[3], argc >= 5 ? argv[4] : NULL);
    }
    if (argc >= 5 && strcmp(argv[1], "checker") == 0) {
        return role_checker(argv[2], argv[3], argv[4]);
    }
    if (argc >= 6 && strcmp(argv[1], "cycler") == 0) {
        return role_cycler(argv[2], argv[3], atol(argv[4]), argv[5]);
    }
    if (argc >= 4 && strcmp(argv[1], "forker") == 0) {
        return role_forker(argv[2], argv[3]);
    }
    if (argc >= 4 && strcmp(argv[1], "phys") == 0) {
        return role_phys(argv[2], argv[3]);
    }
    if (argc >= 4 && strcmp(argv[1], "late") == 0) {
        return role_late(argv[2], argv[3]);
    }
    fprintf(stderr, "usage: %s mgr|blocked|victim|checker|cycler|late ...\n", argv[0]);
    return 2;
}
