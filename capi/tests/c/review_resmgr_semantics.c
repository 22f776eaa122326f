/*
 * review_resmgr_semantics.c: a porter's-eye review of the resource-manager framework against
 * QNX's documented behaviour (the iofunc defaults, iofunc_open's permission checks, lseek,
 * stat, devctl's conventions, the handler return forms, _RESMGR_NOREPLY with a later reply,
 * resmgr_msgread/msgwrite with offsets, the unblock path, OCB counts, resmgr_detach). A
 * resource manager served by threads of this program (attached with _RESMGR_FLAG_SELF), its
 * clients the plain POSIX calls from the main thread. Its first run found two defects, fixed
 * since: the umask not applied to an O_CREAT open's mode, and stat(path) answered before the
 * combine's close_ocb ran. Every blocking call is bounded
 * (alarm(), and bounded waits on a blocked client). Prints "N passed, M failed".
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <devctl.h>
#include <sys/dcmd_all.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <sys/neutrino.h>

#include "check.h"

#define P_DEF "/dev/rrs-def"
#define P_CUS "/dev/rrs-cus"
#define P_DET1 "/dev/rrs-det1"
#define P_DET2 "/dev/rrs-det2"
#define P_DET3 "/dev/rrs-det3"
#define P_OTH "/dev/rrs-oth"
#define P_DET4 "/dev/rrs-det4"

#define DCMD_R_GET __DIOF(_DCMD_MISC, 1, int)
#define DCMD_R_SET __DIOT(_DCMD_MISC, 2, int)
#define DCMD_R_INC __DIOTF(_DCMD_MISC, 3, int)
#define DCMD_R_NONE __DION(_DCMD_MISC, 4)
#define DCMD_R_FAIL __DIOF(_DCMD_MISC, 5, int)
#define DCMD_R_TOBACK __DIOT(_DCMD_MISC, 6, int)

struct big24 {
    char b[24];
};

static dispatch_t *dpp;
static resmgr_connect_funcs_t def_connect, cus_connect, oth_connect;
static resmgr_io_funcs_t def_io, cus_io, oth_io;
static iofunc_attr_t def_attr, cus_attr, det_attr[3], oth_attr;
static int det_id[3], det4_id;
static iofunc_attr_t det4_attr;
static volatile int unblock_default, slow_close;

/* what the custom handlers saw / are told to do */
static volatile int use_fake_cred;
static struct _client_info fake_cred;
static volatile int open_errno;
static struct _io_connect last_conn;
static char last_path[64];
static volatile int last_open_pid;
static volatile int read_mode, write_mode;
static volatile int last_close_rcvid = -2, last_close_bits = -1, close_calls;
static volatile int held_rcvid = -1;
static volatile int unblock_calls, unblock_rcvid_ok;
static volatile int dev_value = 11;
static volatile int last_devctl_nbytes = -1, last_devctl_srclen = -1;
static char last_written[64];
static volatile int other_calls;

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ custom handlers */

static int cus_open(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *attr, void *extra) {
    size_t n = msg->connect.path_len < sizeof last_path ? msg->connect.path_len
                                                         : sizeof last_path - 1;
    last_conn = msg->connect;
    memcpy(last_path, msg->connect.path, n);
    last_path[n] = '\0';
    last_open_pid = ctp->info.pid;
    if (open_errno != 0) {
        return open_errno;
    }
    if (use_fake_cred) {
        int st = iofunc_open(ctp, msg, attr, NULL, &fake_cred);
        if (st != EOK) {
            return st;
        }
        return iofunc_ocb_attach(ctp, msg, NULL, attr, NULL);
    }
    return iofunc_open_default(ctp, msg, attr, extra);
}

enum { RD_TWO_PARTS = 1, RD_MSGWRITE, RD_ERRNO, RD_NOREPLY, RD_NOREPLY_LATER, RD_NONBLOCK };

static int cus_read(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb) {
    static char p1[] = "abc", p2[] = "defg";
    static char zz[] = "zz";
    int nb = -1;
    int st = iofunc_read_verify(ctp, msg, ocb, &nb);
    if (st != EOK) {
        return st;
    }
    switch (read_mode) {
    case RD_NONBLOCK:
        SETIOV(ctp->iov + 0, zz, (size_t)(nb + 1));
        _IO_SET_READ_NBYTES(ctp, nb + 1);
        return _RESMGR_NPARTS(1);
    case RD_TWO_PARTS:
        SETIOV(ctp->iov + 0, p1, 3);
        SETIOV(ctp->iov + 1, p2, 4);
        _IO_SET_READ_NBYTES(ctp, 7);
        return _RESMGR_NPARTS(2);
    case RD_MSGWRITE:
        /* resmgr_msgwrite's offset is the client's reply buffer's, not adjusted */
        if (resmgr_msgwrite(ctp, "XYZ", 3, 2) != 3 || resmgr_msgwrite(ctp, "AB", 2, 0) != 2) {
            return EIO;
        }
        _IO_SET_READ_NBYTES(ctp, 5);
        return EOK;
    case RD_ERRNO:
        return _RESMGR_ERRNO(EIO);
    case RD_NOREPLY:
    case RD_NOREPLY_LATER:
        held_rcvid = ctp->rcvid;
        return _RESMGR_NOREPLY;
    default:
        _IO_SET_READ_NBYTES(ctp, 0);
        return EOK;
    }
}

enum { WR_SKIP2 = 1, WR_STATUS2 };

static int cus_write(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb) {
    int st = iofunc_write_verify(ctp, msg, ocb, NULL);
    size_t n;
    ssize_t got;
    if (st != EOK) {
        return st;
    }
    n = (size_t)_IO_WRITE_GET_NBYTES(msg);
    memset(last_written, 0, sizeof last_written);
    if (write_mode == WR_SKIP2) {
        /* the data starts after the header; an offset of 2 more skips two bytes */
        got = resmgr_msgread(ctp, last_written, n > 2 ? n - 2 : 0, sizeof msg->i + 2);
        if (got < 0) {
            return EIO;
        }
        _IO_SET_WRITE_NBYTES(ctp, (long)n);
        return EOK;
    }
    got = resmgr_msgread(ctp, last_written, n < sizeof last_written ? n : sizeof last_written - 1,
                         sizeof msg->i);
    if (got < 0) {
        return EIO;
    }
    ocb->offset += (off_t)n;
    if (ocb->offset > ocb->attr->nbytes) {
        ocb->attr->nbytes = ocb->offset;
    }
    ocb->attr->flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    if (write_mode == WR_STATUS2) {
        _RESMGR_STATUS(ctp, 2);
        return EOK;
    }
    _IO_SET_WRITE_NBYTES(ctp, (long)n);
    return EOK;
}

static int cus_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb) {
    int st = iofunc_devctl_default(ctp, msg, ocb), v;
    if (st != _RESMGR_DEFAULT) {
        return st;
    }
    last_devctl_nbytes = (int)msg->i.nbytes;
    last_devctl_srclen = (int)ctp->info.srcmsglen;
    switch (msg->i.dcmd) {
    case DCMD_R_GET:
        v = dev_value;
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.ret_val = 1234;
        msg->o.nbytes = sizeof v;
        memcpy(_DEVCTL_DATA(msg->o), &v, sizeof v);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof v);
    case DCMD_R_SET:
        memcpy(&v, _DEVCTL_DATA(msg->i), sizeof v);
        dev_value = v;
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.ret_val = -5;
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
    case DCMD_R_INC:
        memcpy(&v, _DEVCTL_DATA(msg->i), sizeof v);
        v *= 2;
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.nbytes = sizeof v;
        memcpy(_DEVCTL_DATA(msg->o), &v, sizeof v);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof v);
    case DCMD_R_NONE:
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.ret_val = 77;
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
    case DCMD_R_FAIL:
        return _RESMGR_ERRNO(EPERM);
    case DCMD_R_TOBACK:
        /* a DIOT command replying data anyway: the client must not copy it back */
        v = 999;
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.nbytes = sizeof v;
        memcpy(_DEVCTL_DATA(msg->o), &v, sizeof v);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof v);
    default:
        return _RESMGR_DEFAULT;
    }
}

static int cus_unblock(resmgr_context_t *ctp, io_pulse_t *msg, iofunc_ocb_t *ocb) {
    (void)msg;
    (void)ocb;
    unblock_calls++;
    if (unblock_default) {
        return _RESMGR_DEFAULT;
    }
    unblock_rcvid_ok = (ctp->rcvid == held_rcvid);
    if (ctp->rcvid == held_rcvid) {
        held_rcvid = -1;
    }
    return EINTR; /* replies EINTR to the blocked client */
}

static int cus_close_ocb(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb) {
    (void)reserved;
    if (slow_close) {
        sleep_ms(200);
    }
    last_close_rcvid = ctp->rcvid;
    iofunc_attr_lock(ocb->attr);
    last_close_bits = iofunc_ocb_detach(ctp, ocb);
    iofunc_attr_unlock(ocb->attr);
    iofunc_ocb_free(ocb);
    close_calls++;
    return EOK;
}

static int oth_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb) {
    int st = iofunc_devctl_default(ctp, msg, ocb);
    if (st != _RESMGR_DEFAULT) {
        return st;
    }
    return _RESMGR_DEFAULT;
}

static int oth_other(resmgr_context_t *ctp, void *msg) {
    (void)ctp;
    (void)msg;
    other_calls++;
    return ENOMSG;
}

/* ------------------------------------------------------------------ the server */

static void *serve(void *arg) {
    dispatch_context_t *ctp = dispatch_context_alloc((dispatch_t *)arg);
    if (ctp == NULL) {
        return NULL;
    }
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

static int start_servers(void) {
    resmgr_attr_t rattr;
    dispatch_t *dpp2;
    pthread_t t;
    int i;
    static const char *det_paths[3] = {P_DET1, P_DET2, P_DET3};

    dpp = dispatch_create();
    if (dpp == NULL) {
        return -1;
    }
    memset(&rattr, 0, sizeof rattr);
    rattr.nparts_max = 4;
    rattr.msg_max_size = 4096;

    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &def_connect, _RESMGR_IO_NFUNCS, &def_io);
    iofunc_attr_init(&def_attr, S_IFREG | 0644, NULL, NULL);
    def_attr.nbytes = 100;
    def_attr.inode = 42;
    if (resmgr_attach(dpp, &rattr, P_DEF, _FTYPE_ANY, _RESMGR_FLAG_SELF, &def_connect, &def_io,
                      &def_attr) == -1) {
        return -1;
    }

    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &cus_connect, _RESMGR_IO_NFUNCS, &cus_io);
    cus_connect.open = cus_open;
    cus_io.read = cus_read;
    cus_io.write = cus_write;
    cus_io.devctl = cus_devctl;
    cus_io.unblock = cus_unblock;
    cus_io.close_ocb = cus_close_ocb;
    iofunc_attr_init(&cus_attr, S_IFREG | 0640, NULL, NULL);
    cus_attr.uid = 1000;
    cus_attr.gid = 1000;
    if (resmgr_attach(dpp, &rattr, P_CUS, _FTYPE_ANY, _RESMGR_FLAG_SELF, &cus_connect, &cus_io,
                      &cus_attr) == -1) {
        return -1;
    }
    for (i = 0; i < 3; i++) {
        iofunc_attr_init(&det_attr[i], S_IFCHR | 0666, NULL, NULL);
        det_id[i] = resmgr_attach(dpp, &rattr, det_paths[i], _FTYPE_ANY, _RESMGR_FLAG_SELF,
                                  &def_connect, &def_io, &det_attr[i]);
        if (det_id[i] == -1) {
            return -1;
        }
    }
    for (i = 0; i < 3; i++) {
        if (pthread_create(&t, NULL, serve, dpp) != 0) {
            return -1;
        }
        pthread_detach(t);
    }

    iofunc_attr_init(&det4_attr, S_IFCHR | 0666, NULL, NULL);
    det4_id = resmgr_attach(dpp, NULL, P_DET4, _FTYPE_ANY, _RESMGR_FLAG_SELF, &cus_connect,
                            &cus_io, &det4_attr);
    if (det4_id == -1) {
        return -1;
    }
    /* a second handle with an other_func */
    dpp2 = dispatch_create();
    if (dpp2 == NULL) {
        return -1;
    }
    memset(&rattr, 0, sizeof rattr);
    rattr.flags = RESMGR_FLAG_ATTACH_OTHERFUNC;
    rattr.other_func = oth_other;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &oth_connect, _RESMGR_IO_NFUNCS, &oth_io);
    oth_io.devctl = oth_devctl;
    iofunc_attr_init(&oth_attr, S_IFCHR | 0666, NULL, NULL);
    if (resmgr_attach(dpp2, &rattr, P_OTH, _FTYPE_ANY, _RESMGR_FLAG_SELF, &oth_connect, &oth_io,
                      &oth_attr) == -1) {
        return -1;
    }
    if (pthread_create(&t, NULL, serve, dpp2) != 0) {
        return -1;
    }
    pthread_detach(t);
    return 0;
}

/* ------------------------------------------------------------------ helpers */

/* A read in another thread, so that the main thread can watch it block. */
struct bg_read {
    int fd;
    volatile int done;
    volatile ssize_t ret;
    volatile int err;
    char buf[16];
    pthread_t tid;
};

static void *bg_read_main(void *arg) {
    struct bg_read *r = (struct bg_read *)arg;
    ssize_t n = read(r->fd, r->buf, sizeof r->buf);
    r->err = errno;
    r->ret = n;
    r->done = 1;
    return NULL;
}

static int wait_for(volatile int *flag, long ms) {
    long waited = 0;
    while (!*flag && waited < ms) {
        sleep_ms(5);
        waited += 5;
    }
    return *flag;
}

static int wait_held(long ms) {
    long waited = 0;
    while (held_rcvid == -1 && waited < ms) {
        sleep_ms(5);
        waited += 5;
    }
    return held_rcvid != -1;
}

static void on_usr1(int sig) {
    (void)sig;
}

/* ------------------------------------------------------------------ the checks */

static void test_dcmd_encodings(void) {
    CHECK(DCMD_ALL_GETFLAGS == 0x40040101, "DCMD_ALL_GETFLAGS = __DIOF(_DCMD_ALL,1,int)");
    CHECK(DCMD_ALL_SETFLAGS == (int)0x80040102, "DCMD_ALL_SETFLAGS = __DIOT(_DCMD_ALL,2,int)");
    CHECK(DCMD_ALL_GETMOUNTFLAGS == 0x40040103, "DCMD_ALL_GETMOUNTFLAGS");
    CHECK(DCMD_ALL_FADVISE == (int)0x80180106, "DCMD_ALL_FADVISE: 24-byte struct _fadvise");
    CHECK((unsigned)__DIOTF(_DCMD_MISC, 7, struct big24) == 0xC0180507u,
          "__DIOTF: both directions, size 24 in bits 16..29");
    CHECK((unsigned)__DION(_DCMD_CHR, 9) == 0x0309u, "__DION: class and command only");
    CHECK(get_device_command(DCMD_R_INC) == ((_DCMD_MISC << 8) + 3), "get_device_command");
    CHECK((unsigned)get_device_direction(DCMD_R_INC) == (unsigned)DEVDIR_TOFROM,
          "get_device_direction");
    CHECK((unsigned)set_device_direction(__DION(_DCMD_MISC, 4), DEVDIR_FROM) ==
              (unsigned)(0x40000000u | 0x0504u),
          "set_device_direction");
    CHECK(_RESMGR_NPARTS(3) == -3 && _RESMGR_ERRNO(EIO) == EIO, "_RESMGR_NPARTS, _RESMGR_ERRNO");
    CHECK((unsigned)_RESMGR_NOREPLY == 0x80000000u && (unsigned)_RESMGR_DEFAULT == 0x80000001u,
          "_RESMGR_NOREPLY, _RESMGR_DEFAULT");
}

static void test_attr_init(void) {
    iofunc_attr_t a;
    memset(&a, 0x5a, sizeof a);
    iofunc_attr_init(&a, S_IFCHR | 0600, NULL, NULL);
    CHECK(a.flags == (IOFUNC_ATTR_DIRTY_TIME | IOFUNC_ATTR_MTIME | IOFUNC_ATTR_ATIME |
                      IOFUNC_ATTR_CTIME),
          "iofunc_attr_init: times due, DIRTY_TIME");
    CHECK(a.nlink == 1 && a.mode == (S_IFCHR | 0600) && a.nbytes == 0 && a.count == 0,
          "iofunc_attr_init: nlink 1, mode, zeroed");
    CHECK(a.uid == getuid() && a.gid == getgid(), "iofunc_attr_init: owner the server's");
    CHECK(a.mount == NULL, "iofunc_attr_init: no mount");
    CHECK(iofunc_time_update(&a) == EOK && (a.flags & 7) == 0 && a.mtime != 0 && a.atime != 0 &&
              a.ctime != 0 && (a.flags & IOFUNC_ATTR_DIRTY_TIME),
          "iofunc_time_update: due times become now");
}

static void test_check_access(void) {
    iofunc_attr_t a;
    struct _client_info ci;
    iofunc_attr_init(&a, S_IFREG | 0640, NULL, NULL);
    a.uid = 1000;
    a.gid = 1000;
    memset(&ci, 0, sizeof ci);
    ci.cred.euid = ci.cred.ruid = 1000;
    ci.cred.egid = ci.cred.rgid = 50;
    CHECK(iofunc_check_access(NULL, &a, S_IREAD | S_IWRITE, &ci) == EOK, "owner: rw");
    CHECK(iofunc_check_access(NULL, &a, S_IEXEC, &ci) == EACCES, "owner: no x: EACCES");
    ci.cred.euid = 2000;
    ci.cred.egid = 1000;
    CHECK(iofunc_check_access(NULL, &a, S_IREAD, &ci) == EOK, "group: r");
    CHECK(iofunc_check_access(NULL, &a, S_IWRITE, &ci) == EACCES, "group: no w: EACCES");
    ci.cred.egid = 3000;
    ci.cred.ngroups = 2;
    ci.cred.grouplist[0] = 7;
    ci.cred.grouplist[1] = 1000;
    CHECK(iofunc_check_access(NULL, &a, S_IREAD, &ci) == EOK, "supplementary group: r");
    ci.cred.ngroups = 0;
    CHECK(iofunc_check_access(NULL, &a, S_IREAD, &ci) == EACCES, "other: no r: EACCES");
    CHECK(iofunc_check_access(NULL, &a, S_ISUID, &ci) == EPERM, "only S_ISUID, not owner: EPERM");
    ci.cred.euid = 0;
    CHECK(iofunc_check_access(NULL, &a, S_IREAD | S_IWRITE | S_IEXEC, &ci) == EOK,
          "euid 0: everything");
    CHECK(iofunc_check_access(NULL, &a, S_IREAD, NULL) == ENOSYS, "info NULL: ENOSYS");
}

static void test_defaults(void) {
    char buf[16];
    struct stat st;
    int fd, ro, wo, v, info;

    fd = open(P_DEF, O_RDWR);
    CHECK(fd >= 0, "open the defaults' path O_RDWR");
    if (fd < 0) {
        return;
    }
    CHECK(def_attr.count == 1 && def_attr.rcount == 1 && def_attr.wcount == 1,
          "iofunc_ocb_attach counts the open");
    CHECK(read(fd, buf, sizeof buf) == 0, "iofunc_read_default: 0 bytes (EOF)");
    CHECK(lseek(fd, 0, SEEK_CUR) == 0, "read_default leaves the offset");
    def_attr.flags &= ~(IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME | IOFUNC_ATTR_ATIME);
    CHECK(write(fd, "", 0) == 0, "iofunc_write_default: 0 bytes");
    CHECK((def_attr.flags & IOFUNC_ATTR_MTIME) == 0, "a 0-byte write marks no time");
    CHECK(write(fd, "abcde", 5) == 5, "iofunc_write_default: all taken");
    CHECK((def_attr.flags & (IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME)) ==
              (IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME),
          "a write marks MTIME|CTIME");
    CHECK(lseek(fd, 0, SEEK_CUR) == 0 && def_attr.nbytes == 100,
          "write_default leaves the offset and the size");
    CHECK(pread(fd, buf, 4, 0) == -1 && errno == ENOSYS, "read_default of an xtype: ENOSYS");
    CHECK(pwrite(fd, "x", 1, 0) == -1 && errno == ENOSYS, "write_default of an xtype: ENOSYS");

    /* lseek */
    CHECK(lseek(fd, 0, SEEK_END) == 100, "SEEK_END: attr->nbytes");
    CHECK(lseek(fd, -10, SEEK_END) == 90, "SEEK_END - 10");
    CHECK(lseek(fd, 5, SEEK_CUR) == 95, "SEEK_CUR + 5");
    CHECK(lseek(fd, -200, SEEK_CUR) == -1 && errno == EINVAL, "negative result: EINVAL");
    CHECK(lseek(fd, 0, SEEK_CUR) == 95, "a failed lseek leaves the offset");
    CHECK(lseek(fd, -1, SEEK_SET) == -1 && errno == EINVAL, "SEEK_SET -1: EINVAL");
    CHECK(lseek(fd, 0, 7) == -1 && errno == EINVAL, "unknown whence: EINVAL");
    CHECK(lseek(fd, 1000, SEEK_SET) == 1000, "past the end: allowed");

    /* stat */
    memset(&st, 0, sizeof st);
    CHECK(fstat(fd, &st) == 0, "fstat");
    CHECK(st.st_size == 100 && st.st_ino == 42 && st.st_nlink == 1, "st_size, st_ino, st_nlink");
    CHECK(st.st_mode == (S_IFREG | 0644) && st.st_uid == getuid() && st.st_gid == getgid(),
          "st_mode, st_uid, st_gid");
    CHECK(st.st_mtime != 0 && (def_attr.flags & (IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME)) == 0,
          "stat_default updated the due times");
    memset(&st, 0, sizeof st);
    CHECK(stat(P_DEF, &st) == 0 && st.st_size == 100 && st.st_ino == 42, "stat(path)");

    /* devctl defaults */
    v = 0;
    info = -1;
    CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &v, sizeof v, &info) == EOK && (v & O_ACCMODE) == O_RDWR,
          "DCMD_ALL_GETFLAGS: POSIX oflag");
    CHECK(info == 0, "DCMD_ALL_GETFLAGS: ret_val 0");
    v = -1;
    CHECK(devctl(fd, DCMD_ALL_GETMOUNTFLAGS, &v, sizeof v, NULL) == EOK && v == 0,
          "DCMD_ALL_GETMOUNTFLAGS without a mount: 0");
    errno = 0;
    CHECK(devctl(fd, __DIOF(_DCMD_MISC, 50, int), &v, sizeof v, NULL) == ENOTTY && errno == 0,
          "unknown dcmd: ENOTTY returned, errno untouched");
    CHECK(close(fd) == 0 && def_attr.count == 0 && def_attr.rcount == 0 && def_attr.wcount == 0,
          "close: the counts drop");

    /* access modes */
    ro = open(P_DEF, O_RDONLY);
    wo = open(P_DEF, O_WRONLY);
    CHECK(ro >= 0 && wo >= 0, "open O_RDONLY and O_WRONLY");
    CHECK(def_attr.count == 2 && def_attr.rcount == 1 && def_attr.wcount == 1,
          "two OCBs on one attr");
    CHECK(write(ro, "x", 1) == -1 && errno == EBADF, "write on O_RDONLY: EBADF");
    CHECK(read(wo, buf, 1) == -1 && errno == EBADF, "read on O_WRONLY: EBADF");
    v = 0;
    CHECK(devctl(wo, DCMD_ALL_GETFLAGS, &v, sizeof v, NULL) == EOK && (v & O_ACCMODE) == O_WRONLY,
          "GETFLAGS on O_WRONLY");
    close(ro);
    CHECK(def_attr.count == 1 && def_attr.rcount == 0 && def_attr.wcount == 1,
          "closing one OCB leaves the other");
    close(wo);

    /* O_APPEND: write_verify moves the offset to the end */
    fd = open(P_DEF, O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "abc", 3) == 3, "O_APPEND write");
    CHECK(lseek(fd, 0, SEEK_CUR) == 100, "O_APPEND: the offset moved to attr->nbytes");
    v = 0;
    CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &v, sizeof v, NULL) == EOK && (v & O_APPEND),
          "GETFLAGS shows O_APPEND");
    close(fd);

    /* O_TRUNC with write access marks MTIME|CTIME */
    def_attr.flags &= ~(IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME);
    fd = open(P_DEF, O_RDONLY | O_TRUNC);
    CHECK(fd >= 0 && (def_attr.flags & IOFUNC_ATTR_MTIME) == 0, "O_TRUNC without write: ignored");
    close(fd);
    fd = open(P_DEF, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && (def_attr.flags & (IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME)) ==
                         (IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME),
          "O_TRUNC with write: MTIME|CTIME");
    close(fd);
    fd = open(P_DEF, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd == -1 && errno == EEXIST, "O_CREAT|O_EXCL on an existing attr: EEXIST");
    if (fd >= 0) {
        close(fd);
    }
    fd = open(P_DEF, O_RDWR | O_CREAT, 0600);
    CHECK(fd >= 0, "O_CREAT alone on an existing attr: opens");
    if (fd >= 0) {
        close(fd);
    }
    CHECK(def_attr.count == 0, "every OCB closed");
}

static void test_open_semantics(void) {
    int fd;
    mode_t old;

    /* what the open handler sees */
    old = umask(022);
    fd = open(P_CUS, O_RDWR | O_CREAT, 0666);
    umask(old);
    CHECK(fd >= 0, "open the custom path");
    CHECK(last_conn.type == _IO_CONNECT && last_conn.subtype == _IO_CONNECT_OPEN,
          "connect: type, subtype OPEN");
    CHECK(last_conn.file_type == _FTYPE_ANY && last_conn.access == (_IO_FLAG_RD | _IO_FLAG_WR),
          "connect: file_type ANY, access RD|WR");
    CHECK((last_conn.ioflag & O_ACCMODE) == 3 && (last_conn.ioflag & O_CREAT),
          "connect: ioflag O_RDWR+1, O_CREAT kept");
    CHECK(last_path[0] == '\0' && last_conn.path_len == 1, "connect: path \"\" at the mountpoint");
    CHECK(last_conn.sflag == 0x40, "connect: sflag SH_DENYNO");
    /* QNX: the path manager returns the caller's umask (_IO_CONNECT_RET_UMASK) and the connect
     * engine applies it to the mode the server sees. */
    CHECK((last_conn.mode & 0777) == 0644, "connect: mode with the umask applied");
    CHECK(last_open_pid == getpid(), "ctp->info.pid is the client's pid");
    if (fd >= 0) {
        close(fd);
    }
    fd = open(P_CUS, O_WRONLY);
    CHECK(fd >= 0 && (last_conn.ioflag & O_ACCMODE) == _IO_FLAG_WR, "ioflag O_WRONLY -> 2");
    if (fd >= 0) {
        close(fd);
    }
    fd = open(P_CUS, O_RDONLY);
    CHECK(fd >= 0 && (last_conn.ioflag & O_ACCMODE) == _IO_FLAG_RD, "ioflag O_RDONLY -> 1");
    if (fd >= 0) {
        close(fd);
    }

    /* an open handler's errno */
    open_errno = EPERM;
    CHECK(open(P_CUS, O_RDONLY) == -1 && errno == EPERM, "open handler's EPERM reaches open()");
    open_errno = 0;

    /* iofunc_open's mode checks against a client's credentials (attr 0640, 1000:1000) */
    use_fake_cred = 1;
    memset(&fake_cred, 0, sizeof fake_cred);
    fake_cred.pid = getpid();
    fake_cred.cred.euid = fake_cred.cred.ruid = 1000;
    fake_cred.cred.egid = fake_cred.cred.rgid = 1000;
    fd = open(P_CUS, O_RDWR);
    CHECK(fd >= 0, "owner: O_RDWR");
    if (fd >= 0) {
        close(fd);
    }
    fake_cred.cred.euid = 2000;
    fd = open(P_CUS, O_RDONLY);
    CHECK(fd >= 0, "group: O_RDONLY");
    if (fd >= 0) {
        close(fd);
    }
    CHECK(open(P_CUS, O_WRONLY) == -1 && errno == EACCES, "group: O_WRONLY: EACCES");
    CHECK(open(P_CUS, O_RDWR) == -1 && errno == EACCES, "group: O_RDWR: EACCES");
    fake_cred.cred.egid = 3000;
    CHECK(open(P_CUS, O_RDONLY) == -1 && errno == EACCES, "other: O_RDONLY: EACCES");
    fake_cred.cred.euid = 0;
    fd = open(P_CUS, O_RDWR);
    CHECK(fd >= 0, "root: O_RDWR");
    if (fd >= 0) {
        close(fd);
    }
    use_fake_cred = 0;
    CHECK(cus_attr.count == 0, "custom attr: every OCB closed");
}

static void test_return_forms(void) {
    char buf[16];
    int fd, v, info;
    struct bg_read r;
    struct sigaction sa;

    fd = open(P_CUS, O_RDWR);
    CHECK(fd >= 0, "open the custom path O_RDWR");
    if (fd < 0) {
        return;
    }
    /* _RESMGR_NPARTS(2) */
    read_mode = RD_TWO_PARTS;
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == 7 && memcmp(buf, "abcdefg", 7) == 0,
          "_RESMGR_NPARTS(2): two iovs replied");
    /* resmgr_msgwrite at offsets, then EOK with the status */
    read_mode = RD_MSGWRITE;
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == 5 && memcmp(buf, "ABXYZ", 5) == 0,
          "resmgr_msgwrite at offsets 2 and 0, EOK with the status");
    read_mode = RD_ERRNO;
    CHECK(read(fd, buf, sizeof buf) == -1 && errno == EIO, "_RESMGR_ERRNO(EIO): -1, EIO");

    /* resmgr_msgread with an offset past the header */
    write_mode = WR_SKIP2;
    CHECK(write(fd, "0123456", 7) == 7 && strcmp(last_written, "23456") == 0,
          "resmgr_msgread(sizeof msg->i + 2) skips two bytes");
    write_mode = WR_STATUS2;
    CHECK(write(fd, "hello", 5) == 2 && strcmp(last_written, "hello") == 0,
          "_RESMGR_STATUS(ctp, 2): write returns 2");
    write_mode = 0;
    CHECK(write(fd, "wxyz", 4) == 4 && cus_attr.nbytes == 9,
          "a handler's write grows attr->nbytes");

    /* devctl conventions */
    v = 0;
    info = 0;
    CHECK(devctl(fd, DCMD_R_GET, &v, sizeof v, &info) == EOK && v == 11 && info == 1234,
          "__DIOF: data back, ret_val in dev_info");
    CHECK(last_devctl_nbytes == (int)sizeof v, "devctl: msg->i.nbytes = n_bytes");
    CHECK(last_devctl_srclen == (int)sizeof(struct _io_devctl), "__DIOF: no data sent");
    v = 21;
    CHECK(devctl(fd, DCMD_R_SET, &v, sizeof v, &info) == EOK && dev_value == 21 && info == -5,
          "__DIOT: data sent, negative ret_val");
    CHECK(last_devctl_srclen == (int)(sizeof(struct _io_devctl) + sizeof v), "__DIOT: 16+4 sent");
    v = 8;
    CHECK(devctl(fd, DCMD_R_INC, &v, sizeof v, NULL) == EOK && v == 16, "__DIOTF: both ways");
    v = 3;
    info = 0;
    CHECK(devctl(fd, DCMD_R_NONE, &v, sizeof v, &info) == EOK && info == 77 && v == 3,
          "__DION: ret_val, no data either way");
    CHECK(last_devctl_srclen == (int)sizeof(struct _io_devctl), "__DION: no data sent");
    v = 5;
    CHECK(devctl(fd, DCMD_R_TOBACK, &v, sizeof v, NULL) == EOK && v == 5,
          "__DIOT: a reply's data is not copied back");
    errno = 0;
    info = 42;
    CHECK(devctl(fd, DCMD_R_FAIL, &v, sizeof v, &info) == EPERM && errno == 0,
          "_RESMGR_ERRNO(EPERM): devctl returns EPERM, errno untouched");
    CHECK(info == 42, "a failed devctl leaves dev_info");
    CHECK(_devctl(fd, DCMD_R_GET, &v, sizeof v, 0) == 1234, "_devctl: ret_val");
    CHECK(_devctl(fd, DCMD_R_FAIL, &v, sizeof v, 0) == -1 && errno == EPERM, "_devctl: -1/EPERM");

    /* _RESMGR_NOREPLY, replied later by another thread */
    read_mode = RD_NOREPLY_LATER;
    held_rcvid = -1;
    memset(&r, 0, sizeof r);
    r.fd = fd;
    CHECK(pthread_create(&r.tid, NULL, bg_read_main, &r) == 0, "a client thread reads");
    CHECK(wait_held(5000), "the handler held the rcvid");
    sleep_ms(50);
    CHECK(!r.done, "the client waits for the reply");
    if (held_rcvid != -1) {
        int rcvid = held_rcvid;
        held_rcvid = -1;
        CHECK(MsgReply(rcvid, 5, "later", 5) != -1, "MsgReply from another thread");
    }
    CHECK(wait_for(&r.done, 5000) && r.ret == 5 && memcmp(r.buf, "later", 5) == 0,
          "the client got the later reply");
    if (r.done) {
        pthread_join(r.tid, NULL);
    }

    /* the unblock path: a signal to the REPLY-blocked client */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    read_mode = RD_NOREPLY;
    held_rcvid = -1;
    unblock_calls = 0;
    memset(&r, 0, sizeof r);
    r.fd = fd;
    CHECK(pthread_create(&r.tid, NULL, bg_read_main, &r) == 0, "a client thread reads again");
    CHECK(wait_held(5000), "the handler held it");
    sleep_ms(50);
    pthread_kill(r.tid, SIGUSR1);
    CHECK(wait_for(&unblock_calls, 5000), "io_unblock called for the signalled client");
    CHECK(unblock_rcvid_ok, "io_unblock's ctp->rcvid is the blocked client's");
    CHECK(wait_for(&r.done, 5000) && r.ret == -1 && r.err == EINTR,
          "the unblock handler's EINTR reaches the client");
    if (!r.done && held_rcvid != -1) {
        MsgError(held_rcvid, EINTR);
        wait_for(&r.done, 5000);
    }
    if (r.done) {
        pthread_join(r.tid, NULL);
    }
    read_mode = 0;

    /* close_ocb: rcvid 0, the LAST bits */
    close_calls = 0;
    CHECK(close(fd) == 0, "close");
    CHECK(close_calls == 1 && last_close_rcvid == 0, "close_ocb runs with ctp->rcvid 0");
    CHECK(last_close_bits == (IOFUNC_OCB_LAST_INUSE | IOFUNC_OCB_LAST_READER |
                              IOFUNC_OCB_LAST_WRITER),
          "iofunc_ocb_detach: LAST_INUSE|READER|WRITER");

    /* stat(path): _IO_CONNECT_COMBINE_CLOSE. QNX's layer runs the open, the _IO_STAT and the
     * faked _IO_CLOSE (close_ocb) before the reply is sent (qnx-resmgr.md 2.10, 2.8). */
    {
        struct stat st;
        close_calls = 0;
        slow_close = 1;
        CHECK(stat(P_CUS, &st) == 0 && st.st_size == cus_attr.nbytes, "stat(path) of the custom");
        CHECK(close_calls == 1 && cus_attr.count == 0,
              "stat(path) returns after the combine's close_ocb ran");
        wait_for(&close_calls, 5000);
        slow_close = 0;
        CHECK(close_calls == 1 && last_close_rcvid == 0 && cus_attr.count == 0,
              "the combine's close_ocb ran (rcvid 0)");
    }
}

/* Starts a read of fd in a thread that the handler holds (RD_NOREPLY). */
static int start_held_read(struct bg_read *r, int fd) {
    held_rcvid = -1;
    memset(r, 0, sizeof *r);
    r->fd = fd;
    if (pthread_create(&r->tid, NULL, bg_read_main, r) != 0) {
        return 0;
    }
    return wait_held(5000);
}

/* Bounded end of a held read: reply EINTR if still held, join if done. */
static void end_held_read(struct bg_read *r) {
    if (!r->done && held_rcvid != -1) {
        MsgError(held_rcvid, EINTR);
        held_rcvid = -1;
    }
    wait_for(&r->done, 5000);
    if (r->done) {
        pthread_join(r->tid, NULL);
    }
}

static void *bg_timed_read_main(void *arg) {
    struct bg_read *r = (struct bg_read *)arg;
    uint64_t ns = 100000000ULL;
    ssize_t n;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    n = read(r->fd, r->buf, sizeof r->buf);
    r->err = errno;
    r->ret = n;
    r->done = 1;
    return NULL;
}

static void test_more(void) {
    char buf[8];
    int fd, fl;
    struct bg_read r;

    /* O_APPEND does not move the offset for a pwrite (_IO_XTYPE_OFFSET) */
    fd = open(P_DEF, O_RDWR | O_APPEND);
    CHECK(fd >= 0 && lseek(fd, 5, SEEK_SET) == 5, "O_APPEND open, lseek 5");
    CHECK(pwrite(fd, "x", 1, 0) == -1 && errno == ENOSYS, "pwrite on the default: ENOSYS");
    CHECK(lseek(fd, 0, SEEK_CUR) == 5, "O_APPEND + pwrite: offset unmoved");
    /* DCMD_ALL_SETFLAGS keeps the access mode */
    CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0, "F_SETFL O_NONBLOCK");
    fl = fcntl(fd, F_GETFL);
    CHECK(fl != -1 && (fl & O_ACCMODE) == O_RDWR && (fl & O_NONBLOCK) && !(fl & O_APPEND),
          "F_SETFL replaced O_APPEND by O_NONBLOCK, access mode kept");
    close(fd);

    /* iofunc_read_verify's nonblock */
    fd = open(P_CUS, O_RDONLY | O_NONBLOCK);
    read_mode = RD_NONBLOCK;
    CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 2, "read_verify: O_NONBLOCK -> *nonblock 1");
    CHECK(fcntl(fd, F_SETFL, 0) == 0 && read(fd, buf, sizeof buf) == 1,
          "read_verify: after F_SETFL 0 -> *nonblock 0");
    read_mode = 0;
    close(fd);

    fd = open(P_CUS, O_RDONLY);
    CHECK(fd >= 0, "open the custom path again");
    /* a kernel timeout on the REPLY-blocked read: the unblock pulse, the handler's EINTR */
    read_mode = RD_NOREPLY;
    unblock_calls = 0;
    unblock_default = 0;
    held_rcvid = -1;
    memset(&r, 0, sizeof r);
    r.fd = fd;
    CHECK(pthread_create(&r.tid, NULL, bg_timed_read_main, &r) == 0, "a timed read");
    CHECK(wait_held(5000), "held");
    CHECK(wait_for(&unblock_calls, 5000), "the timeout sends io_unblock");
    CHECK(wait_for(&r.done, 5000) && r.ret == -1 && r.err == EINTR,
          "the timed-out read gets the handler's EINTR");
    end_held_read(&r);

    /* unblock answered _RESMGR_DEFAULT (no other_func): the client stays blocked */
    unblock_calls = 0;
    unblock_default = 1;
    CHECK(start_held_read(&r, fd), "held again");
    sleep_ms(30);
    pthread_kill(r.tid, SIGUSR1);
    CHECK(wait_for(&unblock_calls, 5000), "io_unblock called");
    sleep_ms(100);
    CHECK(!r.done, "_RESMGR_DEFAULT: the client stays REPLY-blocked");
    if (held_rcvid != -1) {
        int rcvid = held_rcvid;
        held_rcvid = -1;
        MsgReply(rcvid, 3, "abc", 3);
    }
    CHECK(wait_for(&r.done, 5000) && r.ret == 3 && memcmp(r.buf, "abc", 3) == 0,
          "and gets the later reply");
    end_held_read(&r);
    unblock_default = 0;
    close(fd);

    /* resmgr_detach while a client is blocked in the handler */
    fd = open(P_DET4, O_RDONLY);
    CHECK(fd >= 0, "open " P_DET4);
    CHECK(start_held_read(&r, fd), "a read held on it");
    CHECK(resmgr_detach(dpp, det4_id, _RESMGR_DETACH_ALL) == 0, "detach with a client blocked");
    sleep_ms(50);
    CHECK(!r.done, "the blocked client still waits");
    if (held_rcvid != -1) {
        int rcvid = held_rcvid;
        held_rcvid = -1;
        CHECK(MsgReply(rcvid, 2, "ok", 2) != -1, "the server still replies to it");
    }
    CHECK(wait_for(&r.done, 5000) && r.ret == 2, "the client gets that reply");
    end_held_read(&r);
    read_mode = 0;
    CHECK(read(fd, buf, 1) == -1 && errno == EBADF, "then its fd is EBADF");
    close(fd);
}

static void test_other_func(void) {
    int fd = open(P_OTH, O_RDWR), v = 0;
    CHECK(fd >= 0, "open the other_func path");
    if (fd < 0) {
        return;
    }
    CHECK(devctl(fd, __DIOF(_DCMD_MISC, 60, int), &v, sizeof v, NULL) == ENOMSG && other_calls == 1,
          "_RESMGR_DEFAULT goes to other_func");
    close(fd);
}

static void test_detach(void) {
    char buf[4];
    int fd1, fd2, fd3;

    fd1 = open(P_DET1, O_RDONLY);
    fd2 = open(P_DET2, O_RDONLY);
    fd3 = open(P_DET3, O_RDONLY);
    CHECK(fd1 >= 0 && fd2 >= 0 && fd3 >= 0, "open the detach paths");
    CHECK(resmgr_detach(dpp, det_id[0], _RESMGR_DETACH_PATHNAME) == 0, "detach PATHNAME");
    CHECK(open(P_DET1, O_RDONLY) == -1 && errno == ENOENT, "the name is gone: ENOENT");
    CHECK(read(fd1, buf, sizeof buf) == 0, "PATHNAME: the open OCB keeps working");
    CHECK(close(fd1) == 0 && det_attr[0].count == 0, "and closes");

    CHECK(resmgr_detach(dpp, det_id[1], _RESMGR_DETACH_ALL) == 0, "detach ALL");
    CHECK(open(P_DET2, O_RDONLY) == -1 && errno == ENOENT, "ALL: the name is gone");
    CHECK(read(fd2, buf, sizeof buf) == -1 && errno == EBADF, "ALL: the binding is invalid: EBADF");
    close(fd2);

    CHECK(resmgr_detach(dpp, det_id[2], _RESMGR_DETACH_ALL | _RESMGR_DETACH_CLOSE) == 0,
          "detach ALL|CLOSE");
    CHECK(det_attr[2].count == 0, "DETACH_CLOSE ran close_ocb");
    close(fd3);
    CHECK(resmgr_detach(dpp, det_id[2], 0) == -1 && errno == ENOENT, "detach again: ENOENT");
}

static int pulse_unused(message_context_t *ctp, int code, unsigned flags, void *handle) {
    (void)ctp;
    (void)code;
    (void)flags;
    (void)handle;
    return 0;
}

static void test_dispatch_ranges(void) {
    message_attr_t ma;
    dispatch_t *d = dispatch_create();
    CHECK(d != NULL, "dispatch_create");
    if (d == NULL) {
        return;
    }
    memset(&ma, 0, sizeof ma);
    ma.flags = MSG_FLAG_TYPE_PULSE;
    CHECK(message_attach(d, &ma, -200, 5, pulse_unused, NULL) == -1 && errno == EINVAL,
          "a pulse range wider than -128..127: EINVAL");
    dispatch_destroy(d);
}

int main(void) {
    alarm(120);
    test_dcmd_encodings();
    test_attr_init();
    test_check_access();
    CHECK(start_servers() == 0, "the resource managers attached");
    test_defaults();
    test_open_semantics();
    test_return_forms();
    test_more();
    test_other_func();
    test_detach();
    test_dispatch_ranges();
    return SUMMARY();
}
