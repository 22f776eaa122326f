/*
 * resmgr_suite.c: the resource-manager layer in C (<sys/resmgr.h>, <sys/iofunc.h>) as QNX 7.1
 * programs use it. A /dev/sample-like resource manager (attributes and OCBs of its own types
 * through IOFUNC_ATTR_T / IOFUNC_OCB_T and a mount's ocb_calloc/ocb_free) is attached with
 * _RESMGR_FLAG_SELF and served by a thread pool; the clients are threads of the same program
 * that speak the I/O protocol with raw kernel calls: a connection to the server's channel, the
 * _IO_CONNECT carrying the link id as its handle, then _IO_READ, _IO_WRITE, _IO_LSEEK,
 * _IO_STAT, _IO_DEVCTL, _IO_NOTIFY, _IO_MSG and _IO_CLOSE messages. Prints "N passed, M
 * failed".
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sample_attr;
struct sample_ocb;
#define IOFUNC_ATTR_T struct sample_attr
#define IOFUNC_OCB_T struct sample_ocb
#include <sys/iofunc.h>
#include <sys/dispatch.h>

#include "check.h"

#define MAGIC 0x5a17
#define PATH "/dev/qnxsim-sample"
#ifndef DCMD_ALL_GETFLAGS
#define DCMD_ALL_GETFLAGS ((int)0x40040101u)
#endif
/* __DIOF(_DCMD_MISC, 1, int) and __DION(_DCMD_MISC, 2), by hand. */
#define DCMD_SAMPLE_GET ((int)(0x40000000u | (4u << 16) | (0x05u << 8) | 1u))
#define DCMD_SAMPLE_NONE ((int)((0x05u << 8) | 9u))

struct sample_attr {
    iofunc_attr_t hdr; /* first: the layer sees an iofunc_attr_t */
    char data[256];
    int avail;
    iofunc_notify_t notify[3];
};

struct sample_ocb {
    iofunc_ocb_t hdr; /* first */
    int magic;
};

static dispatch_t *dpp;
static struct sample_attr attr, attr2;
static iofunc_mount_t mount;
static iofunc_funcs_t ocb_funcs;
static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static int link_id, link2_id;
static int ocb_allocs, ocb_frees, close_ocbs, opens, bad_magic;

/* ------------------------------------------------------------------ the server */

static struct sample_ocb *sample_ocb_calloc(resmgr_context_t *ctp, struct sample_attr *a) {
    struct sample_ocb *o = (struct sample_ocb *)calloc(1, sizeof *o);
    (void)ctp;
    (void)a;
    if (o != NULL) {
        o->magic = MAGIC;
        __sync_fetch_and_add(&ocb_allocs, 1);
    }
    return o;
}

static void sample_ocb_free(struct sample_ocb *o) {
    if (o->magic != MAGIC) {
        __sync_fetch_and_add(&bad_magic, 1);
    }
    __sync_fetch_and_add(&ocb_frees, 1);
    free(o);
}

static int sample_open(resmgr_context_t *ctp, io_open_t *msg, struct sample_attr *handle,
                       void *extra) {
    __sync_fetch_and_add(&opens, 1);
    return iofunc_open_default(ctp, msg, &handle->hdr, extra);
}

static int sample_read(resmgr_context_t *ctp, io_read_t *msg, struct sample_ocb *ocb) {
    struct sample_attr *a = ocb->hdr.attr;
    off_t left;
    size_t n;
    int st = iofunc_read_verify(ctp, msg, &ocb->hdr, NULL);
    if (st != EOK) {
        return st;
    }
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE) {
        return ENOSYS;
    }
    if (ocb->magic != MAGIC) {
        return EFAULT;
    }
    left = a->hdr.nbytes - ocb->hdr.offset;
    n = (size_t)_IO_READ_GET_NBYTES(msg);
    if (left < 0) {
        left = 0;
    }
    if ((off_t)n > left) {
        n = (size_t)left;
    }
    _IO_SET_READ_NBYTES(ctp, (long)n);
    SETIOV(ctp->iov, a->data + ocb->hdr.offset, n);
    ocb->hdr.offset += (off_t)n;
    a->hdr.flags |= IOFUNC_ATTR_ATIME;
    return _RESMGR_NPARTS(1);
}

static int sample_write(resmgr_context_t *ctp, io_write_t *msg, struct sample_ocb *ocb) {
    struct sample_attr *a = ocb->hdr.attr;
    size_t n;
    int st = iofunc_write_verify(ctp, msg, &ocb->hdr, NULL);
    if (st != EOK) {
        return st;
    }
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE) {
        return ENOSYS;
    }
    n = (size_t)_IO_WRITE_GET_NBYTES(msg);
    if (ocb->hdr.offset + (off_t)n > (off_t)sizeof a->data) {
        return ENOSPC;
    }
    /* The data follows the header in the client's message: resmgr_msgread from there. */
    if (resmgr_msgread(ctp, a->data + ocb->hdr.offset, n, sizeof msg->i) != (ssize_t)n) {
        return EIO;
    }
    ocb->hdr.offset += (off_t)n;
    if (ocb->hdr.offset > a->hdr.nbytes) {
        a->hdr.nbytes = ocb->hdr.offset;
    }
    _IO_SET_WRITE_NBYTES(ctp, (long)n);
    a->hdr.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    a->avail = 1;
    iofunc_notify_trigger(a->notify, 1, IOFUNC_NOTIFY_INPUT);
    return EOK;
}

static int sample_devctl(resmgr_context_t *ctp, io_devctl_t *msg, struct sample_ocb *ocb) {
    int v = 42;
    int st = iofunc_devctl_default(ctp, msg, &ocb->hdr);
    if (st != _RESMGR_DEFAULT) {
        return st;
    }
    if (msg->i.dcmd == DCMD_SAMPLE_GET) {
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.ret_val = 7;
        msg->o.nbytes = sizeof v;
        /* The data goes after the 16-byte reply header, written into the client's buffer. */
        if (resmgr_msgwrite(ctp, &v, sizeof v, sizeof msg->o) != (ssize_t)sizeof v) {
            return EIO;
        }
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
    }
    return _RESMGR_DEFAULT;
}

static int sample_notify(resmgr_context_t *ctp, io_notify_t *msg, struct sample_ocb *ocb) {
    struct sample_attr *a = ocb->hdr.attr;
    int trig = _NOTIFY_COND_OUTPUT | (a->avail ? _NOTIFY_COND_INPUT : 0);
    return iofunc_notify(ctp, msg, a->notify, trig, NULL, NULL);
}

static int sample_msg(resmgr_context_t *ctp, io_msg_t *msg, struct sample_ocb *ocb) {
    static char abc[] = "abc";
    iov_t iov[1];
    switch (msg->i.subtype) {
    case 1:
        return _RESMGR_ERRNO(EPERM);
    case 2:
        ctp->status = 5;
        resmgr_msgreply(ctp, abc, 3);
        return _RESMGR_NOREPLY;
    case 3:
        _RESMGR_STATUS(ctp, 77);
        return EOK;
    case 4:
        return _RESMGR_PTR(ctp, abc, 3);
    case 5:
        return _RESMGR_DEFAULT;
    case 6:
        SETIOV(iov, abc, 2);
        ctp->status = 9;
        resmgr_msgreplyv(ctp, iov, 1);
        return _RESMGR_NOREPLY;
    case 7:
        ocb->hdr.attr->avail = 0;
        return EOK;
    default:
        return ENOSYS;
    }
}

static int sample_close_ocb(resmgr_context_t *ctp, void *reserved, struct sample_ocb *ocb) {
    struct sample_attr *a = ocb->hdr.attr;
    int st;
    if (ocb->magic != MAGIC) {
        __sync_fetch_and_add(&bad_magic, 1);
    }
    iofunc_attr_lock(&a->hdr);
    iofunc_notify_remove(ctp, a->notify);
    iofunc_attr_unlock(&a->hdr);
    st = iofunc_close_ocb_default(ctp, reserved, &ocb->hdr);
    /* Counted once the OCB is out of the counts and freed: the checks wait for this. */
    __sync_fetch_and_add(&close_ocbs, 1);
    return st;
}

/* ------------------------------------------------------------------ raw clients */

/* A connection to the server's channel and an _IO_CONNECT for link `handle` (path ""). */
static int raw_open(int handle, unsigned ioflag, unsigned sflag) {
    struct {
        struct _io_connect c;
        char pad[12];
    } m;
    int coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    int e;
    if (coid == -1) {
        return -1;
    }
    memset(&m, 0, sizeof m);
    m.c.type = _IO_CONNECT;
    m.c.subtype = _IO_CONNECT_OPEN;
    m.c.file_type = _FTYPE_ANY;
    m.c.reply_max = 128;
    m.c.entry_max = 16;
    m.c.handle = (_Uint32t)handle;
    m.c.ioflag = ioflag;
    m.c.sflag = (_Uint16t)sflag;
    m.c.access = _IO_FLAG_RD | _IO_FLAG_WR;
    m.c.path_len = 1;
    if (MsgSend(coid, &m, 48, NULL, 0) == -1) {
        e = errno;
        ConnectDetach(coid);
        errno = e;
        return -1;
    }
    return coid;
}

static long raw_read(int coid, void *buf, unsigned n) {
    io_read_t m;
    memset(&m, 0, sizeof m);
    m.i.type = _IO_READ;
    m.i.combine_len = sizeof m.i;
    m.i.nbytes = n;
    return MsgSend(coid, &m.i, sizeof m.i, buf, n);
}

static long raw_write(int coid, const void *data, unsigned n) {
    io_write_t m;
    iov_t iov[2];
    memset(&m, 0, sizeof m);
    m.i.type = _IO_WRITE;
    m.i.combine_len = sizeof m.i;
    m.i.nbytes = n;
    SETIOV(iov + 0, &m.i, sizeof m.i);
    SETIOV(iov + 1, data, n);
    return MsgSendv(coid, iov, 2, NULL, 0);
}

static long raw_lseek(int coid, long off, int whence, _Uint64t *out) {
    io_lseek_t m;
    memset(&m, 0, sizeof m);
    m.i.type = _IO_LSEEK;
    m.i.combine_len = sizeof m.i;
    m.i.whence = (short)whence;
    m.i.offset = (_Uint64t)off;
    return MsgSend(coid, &m.i, sizeof m.i, out, sizeof *out);
}

static long raw_devctl(int coid, int dcmd, int *data, struct _io_devctl_reply *o) {
    io_devctl_t m;
    iov_t r[2];
    memset(&m, 0, sizeof m);
    m.i.type = _IO_DEVCTL;
    m.i.combine_len = sizeof m.i;
    m.i.dcmd = dcmd;
    m.i.nbytes = sizeof *data;
    SETIOV(r + 0, o, sizeof *o);
    SETIOV(r + 1, data, sizeof *data);
    return MsgSendsv(coid, &m.i, sizeof m.i, r, 2);
}

static long raw_msg(int coid, unsigned subtype, char *reply, unsigned n) {
    io_msg_t m;
    memset(&m, 0, sizeof m);
    m.i.type = _IO_MSG;
    m.i.combine_len = sizeof m.i;
    m.i.mgrid = _IOMGR_PRIVATE_BASE;
    m.i.subtype = (_Uint16t)subtype;
    return MsgSend(coid, &m.i, sizeof m.i, reply, n);
}

static long raw_close(int coid) {
    io_close_t m;
    long r;
    m.i.type = _IO_CLOSE;
    m.i.combine_len = sizeof m.i;
    r = MsgSend(coid, &m.i, sizeof m.i, NULL, 0);
    ConnectDetach(coid);
    return r;
}

static int wait_until_closed(int want_close_ocbs) {
    int i;
    for (i = 0; i < 300; i++) {
        if (__sync_fetch_and_add(&close_ocbs, 0) >= want_close_ocbs) {
            return 1;
        }
        delay(10);
    }
    return 0;
}

/* ------------------------------------------------------------------ the checks */

static void check_setup(void) {
    resmgr_io_funcs_t io;
    resmgr_connect_funcs_t c;
    memset(&io, 0xff, sizeof io);
    memset(&c, 0xff, sizeof c);
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &c, _RESMGR_IO_NFUNCS, &io);
    CHECK(c.nfuncs == 8 && io.nfuncs == 33, "iofunc_func_init: nfuncs 8 and 33");
    CHECK(c.open != NULL && c.unlink == NULL && c.mount == NULL, "connect defaults: open only");
    CHECK(io.read != NULL && io.write != NULL && io.close_ocb != NULL && io.stat != NULL &&
              io.devctl != NULL && io.lseek != NULL && io.close_dup != NULL &&
              io.lock_ocb != NULL && io.unlock_ocb != NULL,
          "I/O defaults set");
    CHECK(io.notify == NULL && io.msg == NULL && io.read64 == NULL, "notify, msg, read64 NULL");
    CHECK(sizeof(iofunc_attr_t) == 128 && sizeof(iofunc_ocb_t) == 40 &&
              sizeof(iofunc_mount_t) == 80 && sizeof(resmgr_attr_t) == 40,
          "QNX 7.1's sizes");
    CHECK(_RESMGR_NOREPLY == (int)0x80000000u && _RESMGR_DEFAULT == (int)0x80000001u &&
              _RESMGR_NPARTS(2) == -2,
          "_RESMGR_* values");
}

static void *lock_other(void *arg) {
    iofunc_attr_t *a = (iofunc_attr_t *)arg;
    long r = iofunc_attr_trylock(a) == EBUSY && iofunc_attr_unlock(a) == EPERM;
    return (void *)r;
}

static void check_attr_lock(void) {
    iofunc_attr_t a;
    pthread_t t;
    void *r = NULL;
    iofunc_attr_init(&a, S_IFREG | 0644, NULL, NULL);
    CHECK(a.nlink == 1 && a.mode == (S_IFREG | 0644) && a.uid == getuid(), "iofunc_attr_init");
    CHECK((a.flags & (IOFUNC_ATTR_MTIME | IOFUNC_ATTR_ATIME | IOFUNC_ATTR_CTIME)) != 0,
          "attr_init: times due");
    CHECK(iofunc_time_update(&a) == EOK && a.mtime != 0 &&
              (a.flags & IOFUNC_ATTR_DIRTY_TIME) != 0,
          "iofunc_time_update");
    CHECK(iofunc_attr_lock(&a) == EOK && iofunc_attr_lock(&a) == EOK, "recursive lock");
    pthread_create(&t, NULL, lock_other, &a);
    pthread_join(t, &r);
    CHECK(r == (void *)1, "another thread: trylock EBUSY, unlock EPERM");
    CHECK(iofunc_attr_unlock(&a) == EOK && iofunc_attr_unlock(&a) == EOK, "unlock twice");
    CHECK(iofunc_attr_unlock(&a) == EPERM, "unlock unheld: EPERM");
    CHECK(iofunc_attr_trylock(&a) == EOK && iofunc_attr_unlock(&a) == EOK, "trylock free");
}

static void check_access_rules(void) {
    iofunc_attr_t a;
    struct _client_info info;
    iofunc_attr_init(&a, S_IFREG | 0604, NULL, NULL);
    a.uid = 0;
    a.gid = 0;
    memset(&info, 0, sizeof info);
    info.cred.euid = 1000;
    info.cred.egid = 1000;
    CHECK(iofunc_check_access(NULL, &a, S_IREAD, &info) == EOK, "others may read 0604");
    CHECK(iofunc_check_access(NULL, &a, S_IWRITE, &info) == EACCES, "others may not write");
    CHECK(iofunc_check_access(NULL, &a, S_ISUID, &info) == EPERM, "set-uid not granted: EPERM");
    info.cred.euid = 0;
    CHECK(iofunc_check_access(NULL, &a, S_IWRITE, &info) == EOK, "root may");
    CHECK(iofunc_check_access(NULL, &a, S_IREAD, NULL) == ENOSYS, "no info: ENOSYS");
}

static void check_basic_io(void) {
    char buf[32];
    _Uint64t off = 99;
    struct stat st;
    io_stat_t sm;
    int before = close_ocbs;
    int fd = raw_open(link_id, O_RDWR + 1, SH_DENYNO);
    CHECK(fd != -1, "open RDWR");
    CHECK(opens >= 1 && attr.hdr.count == 1 && attr.hdr.rcount == 1 && attr.hdr.wcount == 1,
          "counts after open");
    CHECK(ocb_allocs == 1, "the mount's ocb_calloc made the OCB");
    CHECK(raw_write(fd, "hello", 5) == 5, "write: status 5");
    CHECK(memcmp(attr.data, "hello", 5) == 0 && attr.hdr.nbytes == 5, "the data arrived");
    CHECK(raw_lseek(fd, 0, SEEK_SET, &off) == 0 && off == 0, "lseek SET 0: reply 0");
    memset(buf, 0, sizeof buf);
    CHECK(raw_read(fd, buf, sizeof buf) == 5 && strcmp(buf, "hello") == 0, "read: hello");
    CHECK(raw_read(fd, buf, sizeof buf) == 0, "read at the end: 0");
    CHECK(raw_lseek(fd, -2, SEEK_END, &off) == 0 && off == 3, "lseek END -2: 3");
    CHECK(raw_lseek(fd, 1, SEEK_CUR, &off) == 0 && off == 4, "lseek CUR 1: 4");
    errno = 0;
    CHECK(raw_lseek(fd, 0, 9, &off) == -1 && errno == EINVAL, "lseek whence 9: EINVAL");
    errno = 0;
    CHECK(raw_lseek(fd, -1, SEEK_SET, &off) == -1 && errno == EINVAL, "lseek -1: EINVAL");

    /* A combine message: lseek(1) then read(3) in one send. */
    {
        struct {
            struct _io_lseek l;
            struct _io_read r;
        } c;
        memset(&c, 0, sizeof c);
        c.l.type = _IO_LSEEK;
        c.l.combine_len = sizeof c.l | _IO_COMBINE_FLAG;
        c.l.whence = SEEK_SET;
        c.l.offset = 1;
        c.r.type = _IO_READ;
        c.r.combine_len = sizeof c.r;
        c.r.nbytes = 3;
        memset(buf, 0, sizeof buf);
        CHECK(MsgSend(fd, &c, sizeof c, buf, 3) == 3 && memcmp(buf, "ell", 3) == 0,
              "combine lseek+read: ell");
    }

    memset(&sm, 0, sizeof sm);
    sm.i.type = _IO_STAT;
    sm.i.combine_len = sizeof sm.i;
    sm.i.format = _STAT_FORM_PREFERRED;
    memset(&st, 0, sizeof st);
    CHECK(MsgSend(fd, &sm.i, sizeof sm.i, &st, sizeof st) == _STAT_FORM_PREFERRED,
          "stat: status _STAT_FORM_PREFERRED");
    CHECK(st.st_size == 5 && S_ISCHR(st.st_mode) && (st.st_mode & 0777) == 0666 &&
              st.st_nlink == 1 && st.st_mtime != 0,
          "stat: Linux's struct stat from the attr");

    {
        struct _io_devctl_reply o;
        int data = -1;
        memset(&o, 0xff, sizeof o);
        CHECK(raw_devctl(fd, DCMD_ALL_GETFLAGS, &data, &o) == EOK && o.ret_val == 0 &&
                  data == O_RDWR,
              "DCMD_ALL_GETFLAGS: EOK and O_RDWR");
        data = -1;
        CHECK(raw_devctl(fd, DCMD_SAMPLE_GET, &data, &o) == EOK && o.ret_val == 7 && data == 42,
              "own devctl: ret_val and data (resmgr_msgwrite)");
        errno = 0;
        CHECK(raw_devctl(fd, DCMD_SAMPLE_NONE, &data, &o) == -1 && errno == ENOSYS,
              "unknown devctl: ENOSYS (devctl() makes it ENOTTY)");
    }

    {
        char r[4];
        memset(r, 0, sizeof r);
        errno = 0;
        CHECK(raw_msg(fd, 1, r, 3) == -1 && errno == EPERM, "_RESMGR_ERRNO(EPERM)");
        CHECK(raw_msg(fd, 2, r, 3) == 5 && memcmp(r, "abc", 3) == 0,
              "resmgr_msgreply + _RESMGR_NOREPLY");
        CHECK(raw_msg(fd, 3, r, 3) == 77, "_RESMGR_STATUS(77) + EOK");
        memset(r, 0, sizeof r);
        CHECK(raw_msg(fd, 4, r, 3) == 0 && memcmp(r, "abc", 3) == 0, "_RESMGR_PTR");
        errno = 0;
        CHECK(raw_msg(fd, 5, r, 3) == -1 && errno == ENOSYS, "_RESMGR_DEFAULT: ENOSYS");
        memset(r, 0, sizeof r);
        CHECK(raw_msg(fd, 6, r, 3) == 9 && memcmp(r, "ab", 2) == 0, "resmgr_msgreplyv");
    }

    {
        struct _io_combine m;
        m.type = _IO_CHMOD;
        m.combine_len = sizeof m;
        errno = 0;
        CHECK(MsgSend(fd, &m, sizeof m, NULL, 0) == -1 && errno == ENOSYS,
              "a type with no slot: ENOSYS");
    }

    CHECK(raw_close(fd) == 0, "close: 0");
    CHECK(wait_until_closed(before + 1), "close_ocb ran");
    CHECK(attr.hdr.count == 0 && attr.hdr.rcount == 0 && attr.hdr.wcount == 0,
          "counts back to zero");
    CHECK(ocb_frees == ocb_allocs && bad_magic == 0, "the mount's ocb_free freed it");
}

static void check_default_errors(void) {
    char buf[8];
    int fd, fd2, fd3;
    int before = close_ocbs;
    /* Access modes against the OCB. */
    fd = raw_open(link_id, O_WRONLY + 1, SH_DENYNO);
    errno = 0;
    CHECK(fd != -1 && raw_read(fd, buf, sizeof buf) == -1 && errno == EBADF,
          "reading a write-only OCB: EBADF");
    raw_close(fd);
    fd = raw_open(link_id, O_RDONLY + 1, SH_DENYNO);
    errno = 0;
    CHECK(fd != -1 && raw_write(fd, "x", 1) == -1 && errno == EBADF,
          "writing a read-only OCB: EBADF");
    raw_close(fd);

    /* Share modes. */
    fd = raw_open(link_id, O_RDONLY + 1, SH_DENYWR);
    CHECK(fd != -1 && attr.hdr.wlocks == 1, "SH_DENYWR open");
    errno = 0;
    fd2 = raw_open(link_id, O_WRONLY + 1, SH_DENYNO);
    CHECK(fd2 == -1 && errno == EBUSY, "writer against SH_DENYWR: EBUSY");
    fd3 = raw_open(link_id, O_RDONLY + 1, SH_DENYNO);
    CHECK(fd3 != -1, "reader against SH_DENYWR: fine");
    errno = 0;
    fd2 = raw_open(link_id, O_RDONLY + 1, SH_DENYRD);
    CHECK(fd2 == -1 && errno == EBUSY, "SH_DENYRD while readers: EBUSY");
    raw_close(fd3);
    raw_close(fd);
    CHECK(wait_until_closed(before + 4), "closed");
    fd = raw_open(link_id, O_WRONLY + 1, SH_DENYNO);
    CHECK(fd != -1, "writer once the denier closed");
    raw_close(fd);

    /* Permissions by mode (the client is this program: its Linux uid). */
    if (geteuid() != 0) {
        attr.hdr.mode = S_IFCHR | 0400;
        errno = 0;
        fd = raw_open(link_id, O_WRONLY + 1, SH_DENYNO);
        CHECK(fd == -1 && errno == EACCES, "mode 0400: EACCES for a writer");
        attr.hdr.mode = S_IFCHR | 0666;
    } else {
        CHECK(1, "(root: EACCES by mode checked through iofunc_check_access)");
    }

    /* No binding, no link. */
    fd = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    errno = 0;
    CHECK(raw_read(fd, buf, sizeof buf) == -1 && errno == EBADF, "I/O with no open: EBADF");
    ConnectDetach(fd);
    errno = 0;
    CHECK(raw_open(99, O_RDONLY + 1, SH_DENYNO) == -1 && errno == ENOENT, "unknown link: ENOENT");
}

/* The write that fires a notification comes from another thread: the kernel's rcvid of the
 * ionotify stays deliverable only until its client thread sends again (docs/deviations.md). */
static void *write_one(void *arg) {
    long r = raw_write(*(int *)arg, "z", 1);
    return (void *)r;
}

static long write_elsewhere(int fd) {
    pthread_t t;
    void *r = NULL;
    pthread_create(&t, NULL, write_one, &fd);
    pthread_join(t, &r);
    return (long)r;
}

static void check_notify(void) {
    int chid = ChannelCreate(0);
    int self = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    int fd = raw_open(link_id, O_RDWR + 1, SH_DENYNO);
    int writer = raw_open(link_id, O_WRONLY + 1, SH_DENYNO);
    io_notify_t m;
    struct _io_notify_reply o;
    struct _pulse p;
    char r[4];
    _Uint64t timeout = 3000000000ull;

    CHECK(chid > 0 && self > 0 && fd != -1 && writer != -1, "notify set-up");
    raw_msg(fd, 7, r, 0); /* nothing to read now */
    memset(&m, 0, sizeof m);
    m.i.type = _IO_NOTIFY;
    m.i.combine_len = sizeof m.i;
    m.i.action = _NOTIFY_ACTION_POLLARM;
    m.i.flags = _NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT;
    m.i.event.sigev_notify = SIGEV_PULSE;
    m.i.event.sigev_coid = self;
    m.i.event.sigev_priority = 10;
    m.i.event.sigev_code = 5;
    m.i.event.sigev_value.sival_int = 0x77;
    memset(&o, 0, sizeof o);
    CHECK(MsgSend(fd, &m.i, sizeof m.i, &o, sizeof o) == 0, "ionotify POLLARM");
    CHECK(o.flags == (_Uint32t)_NOTIFY_COND_OUTPUT, "output true, input armed");
    CHECK(attr.notify[IOFUNC_NOTIFY_INPUT].list != NULL &&
              attr.notify[IOFUNC_NOTIFY_INPUT].cnt == 1,
          "input list armed, threshold 1");
    CHECK(write_elsewhere(writer) == 1, "another client writes");
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &timeout, NULL);
    memset(&p, 0, sizeof p);
    CHECK(MsgReceivePulse(chid, &p, sizeof p, NULL) == 0 && p.code == 5 &&
              p.value.sival_int == 0x77,
          "iofunc_notify_trigger delivered the pulse");
    CHECK(attr.notify[IOFUNC_NOTIFY_INPUT].list == NULL, "and disarmed it");

    /* CONDARM with nothing true: armed, EAGAIN. */
    raw_msg(fd, 7, r, 0);
    m.i.action = _NOTIFY_ACTION_CONDARM;
    m.i.flags = _NOTIFY_COND_INPUT;
    errno = 0;
    CHECK(MsgSend(fd, &m.i, sizeof m.i, &o, sizeof o) == -1 && errno == EAGAIN,
          "CONDARM, nothing true: EAGAIN (armed)");
    /* POLL with input true: the conditions, nothing armed beyond what was. */
    write_elsewhere(writer);
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &timeout, NULL);
    CHECK(MsgReceivePulse(chid, &p, sizeof p, NULL) == 0 && p.code == 5, "the CONDARM fired");
    m.i.action = _NOTIFY_ACTION_POLL;
    memset(&o, 0, sizeof o);
    CHECK(MsgSend(fd, &m.i, sizeof m.i, &o, sizeof o) == 0 &&
              o.flags == (_Uint32t)_NOTIFY_COND_INPUT,
          "POLL: input true");
    raw_close(writer);
    raw_close(fd);
    ConnectDetach(self);
    ChannelDestroy(chid);
}

static void check_disconnect(void) {
    int before = close_ocbs;
    int a = raw_open(link_id, O_RDWR + 1, SH_DENYNO);
    int b = raw_open(link_id, O_RDONLY + 1, SH_DENYNO);
    CHECK(a != -1 && b != -1 && attr.hdr.count == 2, "two opens");
    /* The client goes without _IO_CLOSE: the disconnect pulse closes its OCBs. */
    ConnectDetach(a);
    ConnectDetach(b);
    CHECK(wait_until_closed(before + 2), "disconnect: close_ocb for both");
    CHECK(attr.hdr.count == 0 && attr.hdr.rcount == 0 && attr.hdr.wcount == 0,
          "disconnect: counts back to zero");
    CHECK(ocb_frees == ocb_allocs, "disconnect: OCBs freed");
}

static void check_detach(void) {
    char buf[4];
    int before = close_ocbs;
    int fd = raw_open(link2_id, O_RDWR + 1, SH_DENYNO);
    CHECK(fd != -1 && attr2.hdr.count == 1, "open of the second link");
    CHECK(resmgr_detach(dpp, link2_id, _RESMGR_DETACH_CLOSE) == 0, "resmgr_detach CLOSE");
    CHECK(close_ocbs == before + 1 && attr2.hdr.count == 0, "its OCB closed at once");
    errno = 0;
    CHECK(raw_read(fd, buf, sizeof buf) == -1 && errno == EBADF, "its fd: EBADF");
    ConnectDetach(fd);
    errno = 0;
    CHECK(raw_open(link2_id, O_RDONLY + 1, SH_DENYNO) == -1 && errno == ENOENT,
          "open of a detached link: ENOENT");
    errno = 0;
    CHECK(resmgr_detach(dpp, link2_id, 0) == -1 && errno == ENOENT, "detach again: ENOENT");
}

static void *pool_client(void *arg) {
    long ok = 1;
    int i;
    char buf[8];
    _Uint64t off;
    (void)arg;
    for (i = 0; i < 25; i++) {
        int fd = raw_open(link_id, O_RDWR + 1, SH_DENYNO);
        if (fd == -1) {
            ok = 0;
            break;
        }
        if (raw_write(fd, "abcd", 4) != 4 || raw_lseek(fd, 0, SEEK_SET, &off) != 0 ||
            off != 0 || raw_read(fd, buf, 4) != 4 || raw_close(fd) != 0) {
            ok = 0;
        }
    }
    return (void *)ok;
}

static void check_pool_clients(void) {
    pthread_t t[4];
    void *r;
    int i, good = 0;
    int before = close_ocbs;
    for (i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, pool_client, NULL);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], &r);
        good += r == (void *)1;
    }
    CHECK(good == 4, "4 clients x 25 open/write/lseek/read/close through the pool");
    CHECK(wait_until_closed(before + 100), "100 close_ocbs");
    CHECK(attr.hdr.count == 0 && ocb_frees == ocb_allocs, "nothing left open");
}

static void check_client_info(void) {
    /* iofunc_client_info of a context of ours: the pid is this program's. */
    resmgr_context_t *ctp = (resmgr_context_t *)dispatch_context_alloc(dpp);
    struct _client_info info, *ext = NULL;
    CHECK(ctp != NULL, "a context");
    if (ctp == NULL) {
        return;
    }
    ctp->info.pid = getpid();
    memset(&info, 0, sizeof info);
    CHECK(iofunc_client_info(ctp, 0, &info) == EOK && info.pid == getpid() &&
              info.cred.euid == geteuid() && info.cred.egid == getegid(),
          "iofunc_client_info: pid, euid, egid");
    CHECK(iofunc_client_info_ext(ctp, 0, &ext) == EOK && ext != NULL &&
              ext->cred.ruid == getuid(),
          "iofunc_client_info_ext");
    CHECK(iofunc_client_info_ext_free(&ext) == EOK && ext == NULL, "..._ext_free");
    dispatch_context_free((dispatch_context_t *)ctp);
}

int main(void) {
    resmgr_attr_t rattr;
    thread_pool_attr_t pool_attr;
    thread_pool_t *tpp;

    check_setup();
    check_attr_lock();
    check_access_rules();

    dpp = dispatch_create();
    CHECK(dpp != NULL, "dispatch_create");
    memset(&rattr, 0, sizeof rattr);
    rattr.nparts_max = 1;
    rattr.msg_max_size = 2048;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    connect_funcs.open = sample_open;
    io_funcs.read = sample_read;
    io_funcs.write = sample_write;
    io_funcs.devctl = sample_devctl;
    io_funcs.notify = sample_notify;
    io_funcs.msg = sample_msg;
    io_funcs.close_ocb = sample_close_ocb;

    iofunc_mount_init(&mount, sizeof mount);
    memset(&ocb_funcs, 0, sizeof ocb_funcs);
    ocb_funcs.nfuncs = _IOFUNC_NFUNCS;
    ocb_funcs.ocb_calloc = sample_ocb_calloc;
    ocb_funcs.ocb_free = sample_ocb_free;
    mount.funcs = &ocb_funcs;
    CHECK(mount.size == sizeof mount, "iofunc_mount_init");

    iofunc_attr_init(&attr.hdr, S_IFCHR | 0666, NULL, NULL);
    attr.hdr.mount = &mount;
    IOFUNC_NOTIFY_INIT(attr.notify);
    iofunc_attr_init(&attr2.hdr, S_IFCHR | 0666, NULL, NULL);
    attr2.hdr.mount = &mount;

    errno = 0;
    CHECK(resmgr_attach(dpp, &rattr, PATH, _FTYPE_ANY, 0x8000, &connect_funcs, &io_funcs,
                        &attr) == -1 &&
              errno == EINVAL,
          "resmgr_attach: bad flags EINVAL");
    link_id = resmgr_attach(dpp, &rattr, PATH, _FTYPE_ANY, _RESMGR_FLAG_SELF, &connect_funcs,
                            &io_funcs, &attr);
    CHECK(link_id >= 0, "resmgr_attach " PATH);
    link2_id = resmgr_attach(dpp, &rattr, PATH "2", _FTYPE_ANY, _RESMGR_FLAG_SELF,
                             &connect_funcs, &io_funcs, &attr2);
    CHECK(link2_id >= 0 && link2_id != link_id, "a second link");

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
    pool_attr.maximum = 8;
    tpp = thread_pool_create(&pool_attr, 0);
    CHECK(tpp != NULL && thread_pool_start(tpp) == 0, "a thread pool serves the handle");

    check_basic_io();
    check_default_errors();
    check_notify();
    check_disconnect();
    check_detach();
    check_pool_clients();
    check_client_info();

    CHECK(thread_pool_destroy(tpp) == 0, "thread_pool_destroy");
    CHECK(resmgr_detach(dpp, link_id, _RESMGR_DETACH_ALL) == 0, "resmgr_detach");
    CHECK(dispatch_destroy(dpp) == 0, "dispatch_destroy");
    return SUMMARY();
}
