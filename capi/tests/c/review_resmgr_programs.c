/*
 * review_resmgr_programs.c: review of a C resource manager in one program against hostile and
 * dying clients in others, and of the manager dying under its clients, on one supervised
 * kernel (QNXSIM_KERNEL names it). One program, a role per argv[1]; the driver is
 * procnto-sim/tests/review_resmgr_programs.rs. Words between programs are files in the test's
 * temporary directory (written whole by a rename), polled with a bound.
 *
 *   mgr PATH NAME       a manager served by a thread pool: PATH (its own read/write/devctl/
 *                       notify/unblock/close_ocb), PATH-def (iofunc_func_init's defaults
 *                       only) and the name NAME on the same handle. read of 7777 bytes, write
 *                       of 7777 bytes and DCMD_HOLD are held (answered EINTR at the unblock
 *                       pulse or the OCB's close). Prints "ready PID CHID ID DEFID"; at
 *                       DCMD_QUIT checks its counts and prints "N passed, M failed".
 *   hostile PATH NAME PID CHID ID DEFID   raw malformed I/O messages on connections to the
 *                       manager's channel; the manager must answer each with QNX's errno,
 *                       never crash or hang, and leak no OCB.
 *   victim PATH MODE    read|write|devctl|notify|fds: opens, prints "armed", and blocks (or
 *                       sleeps) until the driver kills it.
 *   expect PATH [quit]  waits (bounded) until the manager has no OCB but its own, no held
 *                       request and empty notify lists, then checks it still serves; with
 *                       quit, ends the manager (DCMD_QUIT).
 *   orphan PATH DIR     client whose manager is killed under it: blocked in read, write and
 *                       devctl, an ionotify armed, a COIDDEATH channel; then at DIR/new (the
 *                       new manager's pid) opens reach the new manager, old fds never do.
 *   forker PATH         a client that forks after open (docs/deviations.md, "Files": the
 *                       child's copies fail with EBADF, close closes the placeholder only).
 *   many PATH MS        four threads open/write/read/devctl/close for MS milliseconds.
 * Every blocking call is bounded (alarm(), TimerTimeout, bounded polls).
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

#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <sys/iomgr.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>

#include "check.h"

struct rv_stats {
    int pid, opens, closes, held, notify, count, unblocks, held_gone;
};

#define DCMD_RV_STATS __DIOF(_DCMD_MISC, 1, struct rv_stats)
#define DCMD_RV_HOLD __DION(_DCMD_MISC, 2)
#define DCMD_RV_TRIGGER __DION(_DCMD_MISC, 3)
#define DCMD_RV_QUIT __DION(_DCMD_MISC, 4)
#define HOLD_BYTES 7777
#define CAP 65536
#define MAX_HELD 128

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ===================================================================== the manager */

static struct {
    iofunc_attr_t attr;
    iofunc_notify_t notify[3];
    char data[CAP];
} dev;
static iofunc_attr_t def_attr;
static resmgr_connect_funcs_t connect_funcs, def_connect;
static resmgr_io_funcs_t io_funcs, def_io;
static dispatch_t *dpp;
static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static struct {
    rcvid_t rcvid;
    iofunc_ocb_t *ocb;
} held[MAX_HELD];
static struct rv_stats st;
static volatile int quit;

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
            if (MsgError(held[i].rcvid, EINTR) == -1 && errno == ESRCH) {
                st.held_gone++;
            }
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
    if (msg->i.nbytes == HOLD_BYTES && ctp->rcvid > 0) {
        hold(ctp, ocb);
        return _RESMGR_NOREPLY;
    }
    n = (size_t)msg->i.nbytes;
    if (ocb->offset < 0 || ocb->offset >= CAP) {
        return ENOSPC;
    }
    if (n > (size_t)(CAP - ocb->offset)) {
        n = (size_t)(CAP - ocb->offset);
    }
    /* What the client really sent (it may claim more than it sent). */
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

static int count_notify(void) {
    int i, n = 0;
    iofunc_notify_event_t *e;
    for (i = 0; i < 3; i++) {
        for (e = dev.notify[i].list; e != NULL; e = e->next) {
            n++;
        }
    }
    return n;
}

static int m_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb) {
    int r;
    if ((r = iofunc_devctl_default(ctp, msg, ocb)) != _RESMGR_DEFAULT) {
        return r;
    }
    switch (msg->i.dcmd) {
    case DCMD_RV_STATS: {
        struct rv_stats s;
        iofunc_attr_lock(&dev.attr);
        pthread_mutex_lock(&lk);
        s = st;
        s.pid = getpid();
        s.notify = count_notify();
        s.count = dev.attr.count;
        pthread_mutex_unlock(&lk);
        iofunc_attr_unlock(&dev.attr);
        s.opens = __sync_fetch_and_add(&st.opens, 0);
        s.closes = __sync_fetch_and_add(&st.closes, 0);
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.nbytes = sizeof s;
        memcpy(_DEVCTL_DATA(msg->o), &s, sizeof s);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof s);
    }
    case DCMD_RV_HOLD:
        hold(ctp, ocb);
        return _RESMGR_NOREPLY;
    case DCMD_RV_TRIGGER:
        iofunc_attr_lock(&dev.attr);
        iofunc_notify_trigger(dev.notify, 1, IOFUNC_NOTIFY_INPUT);
        iofunc_attr_unlock(&dev.attr);
        memset(&msg->o, 0, sizeof msg->o);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
    case DCMD_RV_QUIT:
        quit = 1;
        memset(&msg->o, 0, sizeof msg->o);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
    default:
        return ENOSYS;
    }
}

static int m_notify(resmgr_context_t *ctp, io_notify_t *msg, iofunc_ocb_t *ocb) {
    int r;
    (void)ocb;
    iofunc_attr_lock(&dev.attr);
    r = iofunc_notify(ctp, msg, dev.notify, _NOTIFY_COND_OUTPUT, NULL, NULL);
    iofunc_attr_unlock(&dev.attr);
    return r;
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
    int r;
    pthread_mutex_lock(&lk);
    release_held(ocb, 0);
    pthread_mutex_unlock(&lk);
    iofunc_attr_lock(&dev.attr);
    iofunc_notify_remove(ctp, dev.notify);
    iofunc_attr_unlock(&dev.attr);
    r = iofunc_close_ocb_default(ctp, reserved, ocb);
    __sync_fetch_and_add(&st.closes, 1);
    return r;
}

static int role_mgr(const char *path, const char *name) {
    thread_pool_attr_t pa;
    thread_pool_t *tpp;
    name_attach_t *na;
    char defpath[200];
    int id, defid;
    long start;

    dpp = dispatch_create();
    if (dpp == NULL) {
        printf("attach failed: dispatch_create errno %d\n", errno);
        return 1;
    }
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &def_connect, _RESMGR_IO_NFUNCS, &def_io);
    connect_funcs.open = m_open;
    io_funcs.read = m_read;
    io_funcs.write = m_write;
    io_funcs.devctl = m_devctl;
    io_funcs.notify = m_notify;
    io_funcs.unblock = m_unblock;
    io_funcs.close_ocb = m_close_ocb;
    iofunc_attr_init(&dev.attr, S_IFCHR | 0666, NULL, NULL);
    iofunc_attr_init(&def_attr, S_IFCHR | 0666, NULL, NULL);
    IOFUNC_NOTIFY_INIT(dev.notify);
    id = resmgr_attach(dpp, NULL, path, _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &dev.attr);
    snprintf(defpath, sizeof defpath, "%s-def", path);
    defid = resmgr_attach(dpp, NULL, defpath, _FTYPE_ANY, 0, &def_connect, &def_io, &def_attr);
    na = name_attach(dpp, name, 0);
    if (id == -1 || defid == -1 || na == NULL) {
        printf("attach failed: errno %d (%s)\n", errno, strerror(errno));
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
        printf("attach failed: thread pool errno %d\n", errno);
        return 1;
    }
    printf("ready %d %d %d %d\n", getpid(), na->chid, id, defid);
    fflush(stdout);
    start = now_ms();
    while (!quit && now_ms() - start < 90000) {
        sleep_ms(10);
    }
    CHECK(quit, "QUIT came within 90 s");
    /* The QUIT's own OCB closes after its reply: wait for it (bounded). */
    start = now_ms();
    while (__sync_fetch_and_add(&st.opens, 0) != __sync_fetch_and_add(&st.closes, 0) &&
           now_ms() - start < 5000) {
        sleep_ms(10);
    }
    pthread_mutex_lock(&lk);
    printf("mgr: %d opens, %d closes, %d held, %d unblocks, %d held gone\n", st.opens,
           st.closes, st.held, st.unblocks, st.held_gone);
    CHECK(st.opens > 0 && st.opens == st.closes, "every open met its close_ocb");
    CHECK(st.held == 0, "no request is still held");
    pthread_mutex_unlock(&lk);
    iofunc_attr_lock(&dev.attr);
    CHECK(count_notify() == 0, "the notify lists are empty");
    CHECK(dev.attr.count == 0 && dev.attr.rcount == 0 && dev.attr.wcount == 0,
          "the attribute's open counts are back at zero");
    iofunc_attr_unlock(&dev.attr);
    CHECK(def_attr.count == 0, "the default path's open count is back at zero");
    return SUMMARY();
}

/* ===================================================================== client helpers */

static int stats_of(int fd, struct rv_stats *s) {
    memset(s, 0, sizeof *s);
    return devctl(fd, DCMD_RV_STATS, s, sizeof *s, NULL);
}

/* The manager's stats through a new fd of PATH; the fd's own OCB is taken out. */
static int stats_path(const char *path, struct rv_stats *s) {
    int fd = open(path, O_RDWR), r;
    if (fd == -1) {
        return errno;
    }
    r = stats_of(fd, s);
    s->opens--; /* this fd */
    s->count--;
    close(fd);
    return r;
}

/* MsgSend bounded by 5 s (send and reply). */
static long send5(int coid, const void *m, size_t n, void *r, size_t rn) {
    uint64_t ns = 5000000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    return MsgSend(coid, m, n, r, rn);
}

/* -1 and errno == e */
#define ERR(call, e) ((call) == -1 && errno == (e))

/* An _IO_CONNECT on `coid` for link `handle` (subtype, path_len, total length). */
static long raw_connect(int coid, int handle, int subtype, unsigned path_len, const void *extra,
                        size_t extra_len, size_t len) {
    static char m[4096];
    struct _io_connect *c = (struct _io_connect *)m;
    memset(m, 0, sizeof m);
    c->type = _IO_CONNECT;
    c->subtype = (_Uint16t)subtype;
    c->file_type = _FTYPE_ANY;
    c->handle = (_Uint32t)handle;
    c->ioflag = O_RDWR + 1;
    c->sflag = SH_DENYNO;
    c->access = _IO_FLAG_RD | _IO_FLAG_WR;
    c->path_len = (_Uint16t)path_len;
    if (extra != NULL) {
        c->extra_len = (_Uint16t)extra_len;
        memcpy(m + 48, extra, extra_len); /* path "" (len 1) + pad to 48 */
    }
    return send5(coid, m, len, NULL, 0);
}

static int attach_to(int pid, int chid) {
    return ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0);
}

/* ===================================================================== hostile */

static int kept[64], nkept;

static int keep(int coid) {
    if (coid != -1 && nkept < 64) {
        kept[nkept++] = coid;
    }
    return coid;
}

static int role_hostile(const char *path, const char *name, int pid, int chid, int id,
                        int defid) {
    static char m[8192], r[8192];
    struct rv_stats before, after;
    struct _io_read rd;
    struct _io_write *w = (struct _io_write *)m;
    struct _io_devctl dc;
    struct _io_lseek *l;
    struct _io_close cl = {_IO_CLOSE, sizeof(struct _io_close)};
    long n;
    int c, c2, nc, i, fd;

    CHECK(stats_path(path, &before) == EOK, "stats before");
    c = attach_to(pid, chid);
    CHECK(c != -1, "ConnectAttach to the manager's pid/chid");

    /* Messages too short for any type: EINVAL (dispatch_handler's rule). */
    CHECK(ERR(send5(c, m, 0, NULL, 0), EINVAL), "a 0-byte message: EINVAL");
    CHECK(ERR(send5(c, m, 1, NULL, 0), EINVAL), "a 1-byte message: EINVAL");
    /* A type below _IO_BASE, nothing attached for it: ENOSYS. */
    memset(m, 0, 64);
    *(_Uint16t *)m = 0x50;
    CHECK(ERR(send5(c, m, 16, NULL, 0), ENOSYS), "an unattached type: ENOSYS");
    /* I/O messages on a connection that opened nothing: EBADF. */
    memset(&rd, 0, sizeof rd);
    rd.type = _IO_READ;
    rd.combine_len = sizeof rd;
    rd.nbytes = 16;
    CHECK(ERR(send5(c, &rd, sizeof rd, r, 16), EBADF), "_IO_READ unbound: EBADF");
    CHECK(ERR(send5(c, &cl, sizeof cl, NULL, 0), EBADF), "_IO_CLOSE unbound: EBADF");
    *(_Uint16t *)m = _IO_MAX;
    CHECK(ERR(send5(c, m, 4, NULL, 0), EBADF) || ERR(send5(c, m, 4, NULL, 0), ENOSYS),
          "_IO_MAX unbound: EBADF or ENOSYS");
    /* Connects to links that do not exist: ENOENT. */
    CHECK(ERR(raw_connect(c, 9999, _IO_CONNECT_OPEN, 1, NULL, 0, 48), ENOENT),
          "_IO_CONNECT for no link: ENOENT");
    CHECK(ERR(raw_connect(c, -5, _IO_CONNECT_OPEN, 1, NULL, 0, 48), ENOENT),
          "_IO_CONNECT for link -5: ENOENT");
    /* A connect subtype with no handler (iofunc_func_init leaves unlink NULL): ENOSYS. */
    CHECK(ERR(raw_connect(c, id, _IO_CONNECT_UNLINK, 1, NULL, 0, 48), ENOSYS),
          "_IO_CONNECT_UNLINK without a handler: ENOSYS");
    n = raw_connect(c, id, 200, 1, NULL, 0, 48);
    CHECK(n == -1, "_IO_CONNECT of subtype 200 is refused");
    printf("observed: connect subtype 200 -> %ld errno %d\n", n, n == -1 ? errno : 0);
    /* A path_len far past the message: answered, no crash (QNX's docs are silent). The
     * connections of this role stay attached to the end: a coid detached without _IO_CLOSE
     * keeps its binding until the process's last connection to the channel goes (the
     * disconnect pulse), and a reused coid number would find it. */
    c2 = keep(attach_to(pid, chid));
    n = raw_connect(c2, id, _IO_CONNECT_OPEN, 60000, NULL, 0, 48);
    printf("observed: connect path_len 60000 in 48 bytes -> %ld errno %d\n", n,
           n == -1 ? errno : 0);
    /* A connect shorter than its header (4 bytes), on a fresh connection: QNX's docs are
     * silent; the rest of the header reads as zeros here. */
    c2 = keep(attach_to(pid, chid));
    n = raw_connect(c2, id, _IO_CONNECT_OPEN, 1, NULL, 0, 4);
    printf("observed: 4-byte _IO_CONNECT -> %ld errno %d\n", n, n == -1 ? errno : 0);
    n = send5(c2, &rd, sizeof rd, r, 16);
    printf("observed: then _IO_READ on it -> %ld errno %d\n", n, n == -1 ? errno : 0);

    /* A raw open on the manager's own path: bound. */
    CHECK(raw_connect(c, id, _IO_CONNECT_OPEN, 1, NULL, 0, 48) == 0, "raw open of PATH");
    /* _IO_WRITE claiming 100000 bytes, 20 sent: the handler's resmgr_msgread gets 20. */
    memset(m, 0, sizeof m);
    w->type = _IO_WRITE;
    w->combine_len = sizeof *w;
    w->nbytes = 100000;
    memcpy(m + sizeof *w, "twenty-bytes-of-data", 20);
    CHECK(send5(c, m, sizeof *w + 20, NULL, 0) == 20, "a write claiming 100000 bytes of 20: 20");
    /* 3000 claimed, 1000 sent (longer than a short message). */
    w->nbytes = 3000;
    for (i = 0; i < 1000; i++) {
        m[sizeof *w + i] = (char)('A' + i % 26);
    }
    CHECK(send5(c, m, sizeof *w + 1000, NULL, 0) == 1000, "a write claiming 3000 of 1000: 1000");
    /* Combine: lseek(0) then a read of nbytes 0xffffffff into a 20-byte reply buffer. */
    memset(m, 0, 64);
    l = (struct _io_lseek *)m;
    l->type = _IO_LSEEK;
    l->combine_len = sizeof *l | _IO_COMBINE_FLAG;
    l->whence = SEEK_SET;
    l->offset = 0;
    memset(&rd, 0, sizeof rd);
    rd.type = _IO_READ;
    rd.combine_len = sizeof rd;
    rd.nbytes = 0xffffffffu;
    memcpy(m + sizeof *l, &rd, sizeof rd);
    memset(r, 0, 64);
    n = send5(c, m, sizeof *l + sizeof rd, r, 20);
    CHECK(n == 1020, "lseek+read of 0xffffffff bytes: status = the 1020 bytes there");
    CHECK(memcmp(r, "twenty-bytes-of-data", 20) == 0, "and the first 20 in the reply buffer");
    /* Malformed combine chains: EBADMSG, the manager serves on. */
    l->combine_len = 0 | _IO_COMBINE_FLAG;
    CHECK(ERR(send5(c, m, sizeof *l + sizeof rd, r, 20), EBADMSG), "combine_len 0|FLAG: EBADMSG");
    l->combine_len = 2 | _IO_COMBINE_FLAG;
    CHECK(ERR(send5(c, m, sizeof *l + sizeof rd, r, 20), EBADMSG), "combine_len 2|FLAG: EBADMSG");
    l->combine_len = 4000 | _IO_COMBINE_FLAG;
    CHECK(ERR(send5(c, m, sizeof *l + sizeof rd, r, 20), EBADMSG),
          "combine_len past the message: EBADMSG");
    l->combine_len = sizeof *l | _IO_COMBINE_FLAG;
    CHECK(ERR(send5(c, m, sizeof *l, r, 20), EBADMSG), "a last part flagged for more: EBADMSG");
    CHECK(ERR(send5(c, m, sizeof *l + 2, r, 20), EBADMSG), "a 2-byte part after it: EBADMSG");
    /* A part of an unknown type: ENOSYS (the parts before it ran). */
    *(_Uint16t *)(m + sizeof *l) = 0x1f0;
    *(_Uint16t *)(m + sizeof *l + 2) = 4;
    CHECK(ERR(send5(c, m, sizeof *l + 4, r, 20), ENOSYS), "a combined unknown type: ENOSYS");
    *(_Uint16t *)(m + sizeof *l) = 0x50;
    CHECK(ERR(send5(c, m, sizeof *l + 4, r, 20), ENOSYS), "a combined non-I/O type: ENOSYS");
    /* A chain of 100 lseeks then a read: the last offset wins. */
    for (i = 0; i < 100; i++) {
        l = (struct _io_lseek *)(m + i * 16);
        memset(l, 0, 16);
        l->type = _IO_LSEEK;
        l->combine_len = 16 | _IO_COMBINE_FLAG;
        l->whence = SEEK_SET;
        l->offset = (_Uint64t)i;
    }
    rd.nbytes = 5;
    memcpy(m + 1600, &rd, sizeof rd);
    memset(r, 0, 16);
    n = send5(c, m, 1600 + sizeof rd, r, 16);
    CHECK(n == 5 && memcmp(r, "AAAAA", 5) != 0 && r[0] == (char)('A' + (99 - 20) % 26),
          "100 combined lseeks then a read: 5 bytes from offset 99");
    /* 300 lseeks: past the receive buffer; served or EBADMSG (docs/deviations.md, Files). */
    for (i = 100; i < 300; i++) {
        memcpy(m + i * 16, m, 16);
    }
    memcpy(m + 4800, &rd, sizeof rd);
    n = send5(c, m, 4800 + sizeof rd, r, 16);
    CHECK(n == 5 || (n == -1 && errno == EBADMSG), "300 combined lseeks: served or EBADMSG");
    /* MsgSendv of 300 parts: the header in four, 296 bytes of data one byte a part. */
    {
        static iov_t iov[300];
        static char bytes[296];
        struct _io_write hw;
        struct _io_lseek sk;
        memset(&hw, 0, sizeof hw);
        hw.type = _IO_WRITE;
        hw.combine_len = sizeof hw;
        hw.nbytes = 296;
        memset(&sk, 0, sizeof sk);
        sk.type = _IO_LSEEK;
        sk.combine_len = sizeof sk;
        sk.whence = SEEK_SET;
        sk.offset = 2000;
        CHECK(send5(c, &sk, sizeof sk, r, 8) == 0, "lseek to 2000");
        for (i = 0; i < 4; i++) {
            SETIOV(&iov[i], (char *)&hw + i * 4, 4);
        }
        for (i = 0; i < 296; i++) {
            bytes[i] = (char)(i * 7);
            SETIOV(&iov[4 + i], &bytes[i], 1);
        }
        CHECK(MsgSendv(c, iov, 300, NULL, 0) == 296, "MsgSendv of 300 parts: 296 written");
        CHECK(send5(c, &sk, sizeof sk, r, 8) == 0, "lseek back");
        rd.nbytes = 296;
        memset(r, 0, 296);
        /* The reply in 296 one-byte parts too. */
        for (i = 0; i < 296; i++) {
            SETIOV(&iov[i], &r[i], 1);
        }
        SETIOV(&iov[296], &rd, sizeof rd);
        CHECK(MsgSendv(c, &iov[296], 1, iov, 296) == 296 && memcmp(r, bytes, 296) == 0,
              "and read back whole into 296 one-byte reply parts");
    }
    /* A devctl with huge nbytes: GETFLAGS answered, an unknown command ENOSYS. */
    memset(&dc, 0, sizeof dc);
    dc.type = _IO_DEVCTL;
    dc.combine_len = sizeof dc;
    dc.dcmd = DCMD_ALL_GETFLAGS;
    dc.nbytes = 0x7fffffff;
    CHECK(send5(c, &dc, sizeof dc, r, 64) == 0, "DCMD_ALL_GETFLAGS with nbytes 0x7fffffff");
    dc.dcmd = (int)__DIOTF(_DCMD_MISC, 77, int);
    CHECK(ERR(send5(c, &dc, sizeof dc, r, 64), ENOSYS), "an unknown dcmd, huge nbytes: ENOSYS");
    /* A stats devctl into a reply buffer of 4 bytes: truncated, not refused, no crash. */
    dc.dcmd = (int)DCMD_RV_STATS;
    dc.nbytes = sizeof(struct rv_stats);
    CHECK(send5(c, &dc, sizeof dc, r, 4) == 0, "a devctl into a 4-byte reply buffer");
    /* A read header of 4 bytes (nbytes missing): answered, no crash. */
    n = send5(c, &rd, 4, r, 16);
    printf("observed: 4-byte _IO_READ -> %ld errno %d\n", n, n == -1 ? errno : 0);
    /* _IO_NOTIFY with events that cannot be delivered, an unknown action, a short header;
     * then a trigger: the manager delivers nothing harmful and serves on; the armed entries
     * go with the trigger. */
    {
        struct _io_notify nt;
        struct _io_notify_reply no;
        int acts[3] = {_NOTIFY_ACTION_POLLARM, _NOTIFY_ACTION_TRANARM, 99};
        for (i = 0; i < 3; i++) {
            memset(&nt, 0, sizeof nt);
            nt.type = _IO_NOTIFY;
            nt.combine_len = sizeof nt;
            nt.action = acts[i];
            nt.flags = _NOTIFY_COND_INPUT;
            memcpy(&nt.event, (int[]){4 /* SIGEV_PULSE */, 0x3fff, 0, 0}, 16);
            n = send5(c, &nt, sizeof nt, &no, sizeof no);
            printf("observed: _IO_NOTIFY action %d, a bad event -> %ld errno %d\n", acts[i], n,
                   n == -1 ? errno : 0);
        }
        memset(&nt, 0, sizeof nt);
        nt.type = _IO_NOTIFY;
        nt.combine_len = 4;
        n = send5(c, &nt, 4, &no, sizeof no);
        printf("observed: a 4-byte _IO_NOTIFY -> %ld errno %d\n", n, n == -1 ? errno : 0);
        memset(&dc, 0, sizeof dc);
        dc.type = _IO_DEVCTL;
        dc.combine_len = sizeof dc;
        dc.dcmd = (int)DCMD_RV_TRIGGER;
        CHECK(send5(c, &dc, sizeof dc, r, 64) == 0, "a trigger of the undeliverable events");
        dc.dcmd = (int)DCMD_RV_STATS;
        dc.nbytes = sizeof(struct rv_stats);
        CHECK(send5(c, &dc, sizeof dc, r, 64) == 0 &&
                  ((struct rv_stats *)(r + sizeof(struct _io_devctl_reply)))->notify <= 1,
              "the manager serves on; the input entries went with the trigger");
    }
    /* lseek+close+read in one message: the close unbinds; one close_ocb. */
    memset(m, 0, 64);
    l = (struct _io_lseek *)m;
    l->type = _IO_LSEEK;
    l->combine_len = sizeof *l | _IO_COMBINE_FLAG;
    l->whence = SEEK_SET;
    ((struct _io_close *)(m + 16))->type = _IO_CLOSE;
    ((struct _io_close *)(m + 16))->combine_len = 4 | _IO_COMBINE_FLAG;
    rd.nbytes = 4;
    memcpy(m + 20, &rd, sizeof rd);
    n = send5(c, m, 20 + sizeof rd, r, 16);
    printf("observed: lseek+close+read combine -> %ld errno %d\n", n, n == -1 ? errno : 0);
    CHECK(ERR(send5(c, &cl, sizeof cl, NULL, 0), EBADF), "after a combined close: EBADF");
    CHECK(ERR(send5(c, &rd, sizeof rd, r, 16), EBADF), "read after a combined close: EBADF");

    /* The defaults' path: xtypes and lying sizes against iofunc_*_default. */
    CHECK(raw_connect(c, defid, _IO_CONNECT_OPEN, 1, NULL, 0, 48) == 0, "raw open of PATH-def");
    rd.nbytes = 0xffffffffu;
    rd.xtype = 0x7f;
    CHECK(ERR(send5(c, &rd, sizeof rd, r, 16), ENOSYS), "iofunc_read_default, xtype 0x7f: ENOSYS");
    rd.xtype = _IO_XTYPE_OFFSET; /* the offset struct missing */
    CHECK(ERR(send5(c, &rd, sizeof rd, r, 16), ENOSYS),
          "iofunc_read_default, xtype OFFSET: ENOSYS");
    rd.xtype = _IO_XTYPE_NONE;
    CHECK(send5(c, &rd, sizeof rd, r, 16) == 0, "iofunc_read_default, nbytes 0xffffffff: 0 (EOF)");
    w = (struct _io_write *)m;
    memset(m, 0, 64);
    w->type = _IO_WRITE;
    w->combine_len = sizeof *w;
    w->nbytes = 100000;
    w->xtype = 0x7f;
    CHECK(ERR(send5(c, m, sizeof *w + 20, NULL, 0), ENOSYS),
          "iofunc_write_default, xtype 0x7f: ENOSYS");
    w->xtype = _IO_XTYPE_NONE;
    CHECK(send5(c, m, sizeof *w + 20, NULL, 0) == 100000,
          "iofunc_write_default claims every byte claimed (100000)");
    l = (struct _io_lseek *)m;
    memset(m, 0, 64);
    l->type = _IO_LSEEK;
    l->combine_len = sizeof *l;
    l->whence = 77;
    CHECK(ERR(send5(c, m, sizeof *l, r, 8), EINVAL), "iofunc_lseek_default, whence 77: EINVAL");
    l->whence = SEEK_CUR;
    l->offset = (_Uint64t)-5;
    CHECK(ERR(send5(c, m, sizeof *l, r, 8), EINVAL), "lseek to a negative offset: EINVAL");
    CHECK(send5(c, &cl, sizeof cl, NULL, 0) == 0, "close of the default path's OCB");

    /* Combine connects whose embedded message lies: the OCB must not leak. */
    {
        struct _io_read x;
        memset(&x, 0, sizeof x);
        x.type = _IO_READ;
        x.combine_len = 4000 | _IO_COMBINE_FLAG;
        x.nbytes = 4;
        c2 = keep(attach_to(pid, chid));
        n = raw_connect(c2, id, _IO_CONNECT_COMBINE_CLOSE, 1, &x, sizeof x, 48 + sizeof x);
        CHECK(ERR(n, EBADMSG), "COMBINE_CLOSE with a lying part: EBADMSG");
        CHECK(ERR(send5(c2, &rd, sizeof rd, r, 16), EBADF), "and the connection is unbound");
        n = raw_connect(c2, id, _IO_CONNECT_COMBINE, 1, &x, sizeof x, 48 + sizeof x);
        CHECK(ERR(n, EBADMSG), "COMBINE with a lying part: EBADMSG");
        n = send5(c2, &rd, sizeof rd, r, 16);
        printf("observed: after a failed COMBINE the read -> %ld errno %d\n", n,
               n == -1 ? errno : 0);
        /* Its binding, if any, goes with the process's connections, at the end. */
    }

    /* Many connections opened raw and abandoned by ConnectDetach (no _IO_CLOSE). */
    for (i = 0; i < 20; i++) {
        nc = keep(attach_to(pid, chid));
        CHECK(nc != -1 && raw_connect(nc, id, _IO_CONNECT_OPEN, 1, NULL, 0, 48) == 0,
              "raw open, to abandon");
    }
    /* A spoofed disconnect pulse (code -33) from a client with an open binding. */
    nc = keep(attach_to(pid, chid));
    CHECK(raw_connect(nc, id, _IO_CONNECT_OPEN, 1, NULL, 0, 48) == 0, "raw open, to spoof");
    n = MsgSendPulse(nc, -1, _PULSE_CODE_DISCONNECT, 0);
    printf("observed: spoofed disconnect pulse -> %ld errno %d\n", n, n == -1 ? errno : 0);
    n = MsgSendPulse(nc, -1, _PULSE_CODE_UNBLOCK, 12345);
    printf("observed: spoofed unblock pulse -> %ld errno %d\n", n, n == -1 ? errno : 0);
    sleep_ms(100);
    CHECK(send5(nc, &rd, sizeof rd, r, 16) >= 0, "the spoofer's own OCB still serves");

    /* name_open: the name answers EOK, I/O on it EBADF. */
    nc = name_open(name, 0);
    CHECK(nc != -1, "name_open of the manager's name");
    CHECK(ERR(send5(nc, &rd, sizeof rd, r, 16), EBADF), "_IO_READ on the name's connection");
    name_close(nc);

    /* Every raw connection goes at once, without _IO_CLOSE: the disconnect pulse must close
     * each OCB bound on them. */
    for (i = 0; i < nkept; i++) {
        CHECK(ConnectDetach(kept[i]) == 0, "detach a kept connection");
    }
    CHECK(ConnectDetach(c) == 0, "detach the hostile connection");

    /* Then a plain client is served, and no OCB is left behind (bounded wait). */
    fd = open(path, O_RDWR);
    CHECK(fd != -1, "open after the attacks");
    CHECK(lseek(fd, 20, SEEK_SET) == 20 && read(fd, r, 3) == 3 && memcmp(r, "ABC", 3) == 0,
          "read back what the lying write wrote");
    close(fd);
    {
        long until = now_ms() + 10000;
        do {
            (void)stats_path(path, &after);
            if (after.opens - after.closes == before.opens - before.closes && after.count == 0) {
                break;
            }
            sleep_ms(20);
        } while (now_ms() < until);
    }
    printf("hostile: before %d opens %d closes; after %d opens %d closes, count %d\n",
           before.opens, before.closes, after.opens, after.closes, after.count);
    CHECK(after.opens - after.closes == before.opens - before.closes,
          "every OCB the attacks opened was closed");
    CHECK(after.count == 0 && after.held == 0, "no open count or held request left");
    return SUMMARY();
}

/* ===================================================================== victim */

static int role_victim(const char *path, const char *mode) {
    static char buf[HOLD_BYTES];
    int fd = open(path, O_RDWR), i, chid, coid;
    struct sigevent ev;
    if (fd == -1) {
        printf("open failed: errno %d\n", errno);
        return 1;
    }
    if (strcmp(mode, "notify") == 0) {
        chid = ChannelCreate(0);
        coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
        SIGEV_PULSE_INIT(&ev, coid, -1, _PULSE_CODE_MINAVAIL, 0);
        for (i = 0; i < 3; i++) {
            int f = i == 0 ? fd : open(path, O_RDWR);
            int met = ionotify(f, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT, &ev);
            if (met != 0) {
                printf("ionotify: %d errno %d\n", met, errno);
            }
        }
        printf("armed\n");
        fflush(stdout);
        for (;;) {
            pause();
        }
    }
    if (strcmp(mode, "fds") == 0) {
        for (i = 0; i < 20; i++) {
            if (open(path, i % 2 ? O_RDONLY : O_WRONLY) == -1) {
                printf("open %d failed\n", i);
            }
        }
        printf("armed\n");
        fflush(stdout);
        for (;;) {
            pause();
        }
    }
    printf("armed\n");
    fflush(stdout);
    if (strcmp(mode, "read") == 0) {
        (void)read(fd, buf, HOLD_BYTES);
    } else if (strcmp(mode, "write") == 0) {
        (void)write(fd, buf, HOLD_BYTES);
    } else {
        (void)devctl(fd, DCMD_RV_HOLD, NULL, 0, NULL);
    }
    printf("returned: errno %d\n", errno);
    return 1;
}

/* ===================================================================== expect */

static int role_expect(const char *path, int do_quit) {
    struct rv_stats s;
    char b[8];
    long until = now_ms() + 10000;
    int fd, ok = 0, r;
    memset(&s, 0, sizeof s);
    while (now_ms() < until) {
        if (stats_path(path, &s) == EOK && s.opens == s.closes && s.held == 0 && s.notify == 0 &&
            s.count == 0) {
            ok = 1;
            break;
        }
        sleep_ms(20);
    }
    printf("expect: %d opens %d closes %d held %d notify %d count %d unblocks %d held_gone\n",
           s.opens, s.closes, s.held, s.notify, s.count, s.unblocks, s.held_gone);
    CHECK(ok, "every OCB closed, nothing held, the notify lists empty");
    fd = open(path, O_RDWR);
    CHECK(fd != -1, "open");
    r = devctl(fd, DCMD_RV_TRIGGER, NULL, 0, NULL);
    CHECK(r == EOK, "a notify trigger after the deaths");
    CHECK(lseek(fd, 60000, SEEK_SET) == 60000 && write(fd, "alive", 5) == 5, "write");
    CHECK(lseek(fd, 60000, SEEK_SET) == 60000 && read(fd, b, 5) == 5 && memcmp(b, "alive", 5) == 0,
          "and read back");
    if (do_quit) {
        CHECK(devctl(fd, DCMD_RV_QUIT, NULL, 0, NULL) == EOK, "quit");
    }
    CHECK(close(fd) == 0, "close");
    return SUMMARY();
}

/* ===================================================================== orphan */

static int ofd[3];
static volatile int oerr[3];
static volatile long oret[3];

static void *o_read(void *a) {
    static char buf[HOLD_BYTES];
    (void)a;
    oret[0] = read(ofd[0], buf, HOLD_BYTES);
    oerr[0] = errno;
    return NULL;
}
static void *o_write(void *a) {
    static char buf[HOLD_BYTES];
    (void)a;
    oret[1] = write(ofd[1], buf, HOLD_BYTES);
    oerr[1] = errno;
    return NULL;
}
static void *o_devctl(void *a) {
    (void)a;
    oret[2] = devctl(ofd[2], DCMD_RV_HOLD, NULL, 0, NULL);
    oerr[2] = (int)oret[2];
    return NULL;
}

static int read_file_int(const char *file, int *v) {
    FILE *f = fopen(file, "r");
    int ok;
    if (f == NULL) {
        return 0;
    }
    ok = fscanf(f, "%d", v) == 1;
    fclose(f);
    return ok;
}

static int role_orphan(const char *path, const char *dir) {
    pthread_t t[3];
    struct sigevent ev;
    struct _pulse p;
    struct rv_stats s;
    char file[300], b[8];
    int chid, coid, nfd, i, newpid = 0, rc, coiddeaths = 0, mgrpid;
    long until;
    uint64_t ns;

    chid = ChannelCreate(_NTO_CHF_COID_DISCONNECT);
    coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(chid != -1 && coid != -1, "a channel with _NTO_CHF_COID_DISCONNECT");
    for (i = 0; i < 3; i++) {
        ofd[i] = open(path, O_RDWR);
        CHECK(ofd[i] != -1, "open");
    }
    nfd = open(path, O_RDWR);
    CHECK(stats_of(nfd, &s) == EOK, "stats of the first manager");
    mgrpid = s.pid;
    SIGEV_PULSE_INIT(&ev, coid, -1, _PULSE_CODE_MINAVAIL, 0);
    CHECK(ionotify(nfd, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT, &ev) == 0,
          "ionotify armed for input");
    pthread_create(&t[0], NULL, o_read, NULL);
    pthread_create(&t[1], NULL, o_write, NULL);
    pthread_create(&t[2], NULL, o_devctl, NULL);
    /* Until the manager holds all three (bounded). */
    until = now_ms() + 10000;
    do {
        int f = open(path, O_RDWR);
        stats_of(f, &s);
        close(f);
        if (s.held == 3) {
            break;
        }
        sleep_ms(20);
    } while (now_ms() < until);
    CHECK(s.held == 3, "three requests held by the manager");
    printf("blocked %d\n", mgrpid);
    fflush(stdout);
    /* The driver kills the manager: each blocked call must fail (ESRCH: the server died). */
    for (i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
    }
    printf("observed: read %ld errno %d, write %ld errno %d, devctl %ld\n", oret[0], oerr[0],
           oret[1], oerr[1], oret[2]);
    CHECK(oret[0] == -1 && oerr[0] == ESRCH, "the blocked read: -1 ESRCH");
    CHECK(oret[1] == -1 && oerr[1] == ESRCH, "the blocked write: -1 ESRCH");
    CHECK(oret[2] == ESRCH, "the blocked devctl: ESRCH");
    /* COIDDEATH pulses for the connections to the dead manager's channel. */
    for (;;) {
        ns = 3000000000ULL;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        rc = MsgReceive(chid, &p, sizeof p, NULL);
        if (rc != 0) {
            break;
        }
        if (p.code == _PULSE_CODE_COIDDEATH) {
            coiddeaths++;
        } else {
            printf("observed: pulse code %d value %d\n", p.code, p.value.sival_int);
        }
        if (coiddeaths >= 4) {
            break;
        }
    }
    printf("observed: %d COIDDEATH pulses\n", coiddeaths);
    CHECK(coiddeaths >= 1, "_PULSE_CODE_COIDDEATH for the dead manager's connections");
    /* The old fds fail now. */
    CHECK(read(ofd[0], b, 1) == -1 && (errno == ESRCH || errno == EBADF), "old fd read fails");
    CHECK(write(ofd[1], b, 1) == -1 && (errno == ESRCH || errno == EBADF), "old fd write fails");
    printf("done-old\n");
    fflush(stdout);
    /* At DIR/new: the new manager's pid. */
    snprintf(file, sizeof file, "%s/new", dir);
    until = now_ms() + 20000;
    while (!read_file_int(file, &newpid) && now_ms() < until) {
        sleep_ms(20);
    }
    CHECK(newpid > 0 && newpid != mgrpid, "a new manager");
    i = open(path, O_RDWR);
    CHECK(i != -1 && stats_of(i, &s) == EOK && s.pid == newpid, "a new open reaches it");
    CHECK(s.opens == 1 && s.count == 1, "and only this open reached it");
    CHECK(read(ofd[0], b, 1) == -1, "an old fd still fails");
    CHECK(devctl(ofd[2], DCMD_RV_STATS, &s, sizeof s, NULL) != EOK, "old fd devctl still fails");
    CHECK(stats_of(i, &s) == EOK && s.opens == 1, "nothing of the old fds reached the new one");
    for (i = 0; i < 3; i++) {
        close(ofd[i]);
        CHECK(fcntl(ofd[i], F_GETFD) == -1 && errno == EBADF, "close released the old fd");
    }
    close(nfd);
    return SUMMARY();
}

/* ===================================================================== forker */

static int role_forker(const char *path) {
    struct rv_stats a, b;
    char buf[16];
    int fd, status = 0, fails;
    pid_t pid;
    long until;

    fd = open(path, O_RDWR);
    CHECK(fd != -1, "open");
    CHECK(lseek(fd, 30000, SEEK_SET) == 30000 && write(fd, "forkdata", 8) == 8, "write");
    CHECK(stats_path(path, &a) == EOK, "stats");
    pid = fork();
    if (pid == 0) {
        alarm(10);
        fails = 0;
        errno = 0;
        fails |= !(read(fd, buf, 4) == -1 && errno == EBADF) << 0;
        fails |= !(write(fd, buf, 4) == -1 && errno == EBADF) << 1;
        fails |= !(lseek(fd, 0, SEEK_SET) == -1 && errno == EBADF) << 2;
        fails |= !(close(fd) == 0) << 3;
        {
            /* The child's own open reaches the manager, from its fresh process. */
            struct rv_stats cs;
            int cfd = open(path, O_RDWR);
            fails |= !(cfd != -1 && stats_of(cfd, &cs) == EOK && cs.pid != getpid() &&
                       cs.count >= 2) << 4;
            fails |= !(cfd != -1 && close(cfd) == 0) << 5;
        }
        _exit(fails);
    }
    CHECK(pid > 0, "fork");
    until = now_ms() + 10000;
    while (waitpid(pid, &status, WNOHANG) == 0 && now_ms() < until) {
        sleep_ms(10);
    }
    printf("observed: the forked child's status %d\n", status);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the child's copy: read, write, lseek EBADF, close 0");
    /* A child that joins the kernel and is killed. */
    pid = fork();
    if (pid == 0) {
        alarm(10);
        (void)getprio(0);
        for (;;) {
            pause();
        }
    }
    sleep_ms(300);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHECK(lseek(fd, 30000, SEEK_SET) == 30000 && read(fd, buf, 8) == 8 &&
              memcmp(buf, "forkdata", 8) == 0,
          "the parent's fd still works");
    CHECK(stats_path(path, &b) == EOK && b.opens - b.closes == a.opens - a.closes &&
              b.opens - b.closes >= 1,
          "the children closed none of the parent's OCBs");
    printf("forker: before %d/%d after %d/%d\n", a.opens, a.closes, b.opens, b.closes);
    CHECK(close(fd) == 0, "close");
    return SUMMARY();
}

/* ===================================================================== many */

static const char *mpath;
static long mstop;
static volatile int mfail, mops;

static void *many_thread(void *arg) {
    int k = (int)(intptr_t)arg, fd, i = 0;
    char out[64], in[64];
    struct rv_stats s;
    while (now_ms() < mstop) {
        fd = open(mpath, O_RDWR);
        if (fd == -1) {
            __sync_fetch_and_add(&mfail, 1);
            continue;
        }
        snprintf(out, sizeof out, "k%d-i%d-%ld", k, i++, now_ms());
        if (lseek(fd, 3000 * (k + 1), SEEK_SET) != 3000 * (k + 1) ||
            write(fd, out, sizeof out) != (ssize_t)sizeof out ||
            lseek(fd, 3000 * (k + 1), SEEK_SET) != 3000 * (k + 1) ||
            read(fd, in, sizeof in) != (ssize_t)sizeof in || memcmp(in, out, sizeof in) != 0 ||
            stats_of(fd, &s) != EOK) {
            __sync_fetch_and_add(&mfail, 1);
        }
        if (close(fd) != 0) {
            __sync_fetch_and_add(&mfail, 1);
        }
        __sync_fetch_and_add(&mops, 1);
    }
    return NULL;
}

static int role_many(const char *path, long ms, int id) {
    pthread_t t[4];
    int i;
    mpath = path;
    mstop = now_ms() + ms;
    printf("running\n");
    fflush(stdout);
    for (i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, many_thread, (void *)(intptr_t)(id * 4 + i));
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    printf("many: %d rounds, %d failed\n", mops, mfail);
    CHECK(mops > 0 && mfail == 0, "every round open/write/read/devctl/close worked");
    return SUMMARY();
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(argc > 1 && strcmp(argv[1], "mgr") == 0 ? 120 : 60);
    if (argc == 4 && strcmp(argv[1], "mgr") == 0) {
        return role_mgr(argv[2], argv[3]);
    }
    if (argc == 8 && strcmp(argv[1], "hostile") == 0) {
        return role_hostile(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
                            atoi(argv[7]));
    }
    if (argc == 4 && strcmp(argv[1], "victim") == 0) {
        return role_victim(argv[2], argv[3]);
    }
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "expect") == 0) {
        return role_expect(argv[2], argc == 4);
    }
    if (argc == 4 && strcmp(argv[1], "orphan") == 0) {
        return role_orphan(argv[2], argv[3]);
    }
    if (argc == 3 && strcmp(argv[1], "forker") == 0) {
        return role_forker(argv[2]);
    }
    if (argc == 5 && strcmp(argv[1], "many") == 0) {
        return role_many(argv[2], atol(argv[3]), atoi(argv[4]));
    }
    fprintf(stderr, "usage: see the comment at the top\n");
    return 2;
}
