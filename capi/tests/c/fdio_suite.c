/*
 * fdio_suite.c: plain POSIX file calls in a program linked with libqnxsim. First ordinary
 * files, a pipe and /dev/null, which must behave exactly as without libqnxsim; then a path a
 * resource manager attached, served by a thread of this program (the C resource-manager layer,
 * attached with _RESMGR_FLAG_SELF so that the program's own opens find it), which open, read,
 * write, pread, pwrite, lseek, fstat, fcntl, devctl, _devctl, devctlv, ionotify and close
 * reach as QNX messages. Prints "N passed, M failed".
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <devctl.h>
#include <sys/dcmd_all.h>
#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <sys/iomgr.h>

#include "check.h"

#define DEV_PATH "/dev/qnxsim-fdio-test"
#define DCMD_FDIO_GET __DIOF(_DCMD_MISC, 1, int)
#define DCMD_FDIO_INC __DIOTF(_DCMD_MISC, 2, int)
#define DCMD_FDIO_SET __DIOT(_DCMD_MISC, 3, int)
#define CAPACITY 256

static struct {
    iofunc_attr_t attr;
    char data[CAPACITY];
    int value;
    iofunc_notify_t notify[3];
} dev;
static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static volatile int last_xtype = -1;
static volatile long long last_offset = -1;

static off_t xtype_offset(void *msg_header_end, unsigned xtype, off_t ocb_offset) {
    if ((xtype & _IO_XTYPE_MASK) == _IO_XTYPE_OFFSET) {
        struct _xtype_offset *x = (struct _xtype_offset *)msg_header_end;
        last_offset = (long long)x->offset;
        return (off_t)x->offset;
    }
    return ocb_offset;
}

static int io_read(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb) {
    int st = iofunc_read_verify(ctp, msg, ocb, NULL);
    off_t at;
    size_t n;
    if (st != EOK) {
        return st;
    }
    last_xtype = (int)(msg->i.xtype & _IO_XTYPE_MASK);
    at = xtype_offset(&msg->i + 1, msg->i.xtype, ocb->offset);
    n = (size_t)_IO_READ_GET_NBYTES(msg);
    if (at >= dev.attr.nbytes) {
        n = 0;
    } else if ((off_t)n > dev.attr.nbytes - at) {
        n = (size_t)(dev.attr.nbytes - at);
    }
    _IO_SET_READ_NBYTES(ctp, (long)n);
    SETIOV(ctp->iov, dev.data + at, n);
    if ((msg->i.xtype & _IO_XTYPE_MASK) == _IO_XTYPE_NONE) {
        ocb->offset += (off_t)n;
    }
    return _RESMGR_NPARTS(1);
}

static int io_write(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb) {
    int st = iofunc_write_verify(ctp, msg, ocb, NULL);
    size_t n, skip = sizeof msg->i;
    off_t at;
    if (st != EOK) {
        return st;
    }
    last_xtype = (int)(msg->i.xtype & _IO_XTYPE_MASK);
    if ((msg->i.xtype & _IO_XTYPE_MASK) == _IO_XTYPE_OFFSET) {
        struct _xtype_offset x;
        if (resmgr_msgread(ctp, &x, sizeof x, sizeof msg->i) != (ssize_t)sizeof x) {
            return EIO;
        }
        last_offset = (long long)x.offset;
        at = (off_t)x.offset;
        skip += sizeof x;
    } else {
        at = ocb->offset;
    }
    n = (size_t)_IO_WRITE_GET_NBYTES(msg);
    if (at < 0 || at + (off_t)n > CAPACITY) {
        return ENOSPC;
    }
    if (resmgr_msgread(ctp, dev.data + at, n, skip) != (ssize_t)n) {
        return EIO;
    }
    if ((msg->i.xtype & _IO_XTYPE_MASK) == _IO_XTYPE_NONE) {
        ocb->offset += (off_t)n;
    }
    if (at + (off_t)n > dev.attr.nbytes) {
        dev.attr.nbytes = at + (off_t)n;
    }
    _IO_SET_WRITE_NBYTES(ctp, (long)n);
    return EOK;
}

static int io_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb) {
    int st = iofunc_devctl_default(ctp, msg, ocb), v;
    if (st != _RESMGR_DEFAULT) {
        return st;
    }
    switch (msg->i.dcmd) {
    case DCMD_FDIO_GET:
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.ret_val = 5;
        msg->o.nbytes = sizeof dev.value;
        memcpy(_DEVCTL_DATA(msg->o), &dev.value, sizeof dev.value);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof dev.value);
    case DCMD_FDIO_INC:
        memcpy(&v, _DEVCTL_DATA(msg->i), sizeof v);
        v += 1;
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.ret_val = 9;
        msg->o.nbytes = sizeof v;
        memcpy(_DEVCTL_DATA(msg->o), &v, sizeof v);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof v);
    case DCMD_FDIO_SET:
        memcpy(&dev.value, _DEVCTL_DATA(msg->i), sizeof dev.value);
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.ret_val = 7;
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
    default:
        return _RESMGR_DEFAULT;
    }
}

static int io_notify(resmgr_context_t *ctp, io_notify_t *msg, iofunc_ocb_t *ocb) {
    int trig = _NOTIFY_COND_OUTPUT | (dev.attr.nbytes > 0 ? _NOTIFY_COND_INPUT : 0);
    (void)ocb;
    return iofunc_notify(ctp, msg, dev.notify, trig, NULL, NULL);
}

static void *serve(void *arg) {
    dispatch_t *dpp = (dispatch_t *)arg;
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
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

static int start_server(void) {
    dispatch_t *dpp = dispatch_create();
    pthread_t t;
    int id;
    if (dpp == NULL) {
        return -1;
    }
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    io_funcs.read = io_read;
    io_funcs.write = io_write;
    io_funcs.devctl = io_devctl;
    io_funcs.notify = io_notify;
    iofunc_attr_init(&dev.attr, S_IFCHR | 0666, NULL, NULL);
    IOFUNC_NOTIFY_INIT(dev.notify);
    memcpy(dev.data, "hello fdio", 10);
    dev.attr.nbytes = 10;
    dev.value = 41;
    id = resmgr_attach(dpp, NULL, DEV_PATH, _FTYPE_ANY, _RESMGR_FLAG_SELF, &connect_funcs,
                       &io_funcs, &dev.attr);
    if (id == -1) {
        return -1;
    }
    if (pthread_create(&t, NULL, serve, dpp) != 0) {
        return -1;
    }
    pthread_detach(t);
    return 0;
}

/* ------------------------------------------------------------ Linux's files, untouched */

static void ordinary_files(void) {
    char path[64], buf[32];
    struct stat st;
    int fd, fd2, p[2], dirfd;

    snprintf(path, sizeof path, "/tmp/qnxsim-fdio-%d", (int)getpid());
    fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0, "open creates an ordinary file");
    CHECK(write(fd, "0123456789", 10) == 10, "write to it");
    CHECK(lseek(fd, 2, SEEK_SET) == 2, "lseek in it");
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, 3) == 3 && memcmp(buf, "234", 3) == 0, "read from it");
    CHECK(pread(fd, buf, 2, 8) == 2 && memcmp(buf, "89", 2) == 0, "pread");
    CHECK(pwrite(fd, "ab", 2, 0) == 2, "pwrite");
    CHECK(fstat(fd, &st) == 0 && st.st_size == 10 && S_ISREG(st.st_mode), "fstat");
    CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "fcntl F_GETFL");
    CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC,
          "fcntl F_SETFD/F_GETFD");
    fd2 = dup(fd);
    CHECK(fd2 >= 0 && lseek(fd2, 0, SEEK_CUR) == 5, "dup shares the offset");
    CHECK(dup2(fd, fd2) == fd2, "dup2");
    CHECK(close(fd2) == 0, "close the dup");
    CHECK(close(fd) == 0, "close");
    CHECK(read(fd, buf, 1) == -1 && errno == EBADF, "read after close: EBADF");
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, 2) == 2 && memcmp(buf, "ab", 2) == 0, "reopen and read");
    close(fd);
    /* openat, relative to the working directory and to a directory fd */
    CHECK(chdir("/tmp") == 0, "chdir /tmp");
    fd = openat(AT_FDCWD, path + 5, O_RDONLY);
    CHECK(fd >= 0, "openat(AT_FDCWD, relative)");
    close(fd);
    fd = open(path + 5, O_RDONLY);
    CHECK(fd >= 0, "open(relative)");
    close(fd);
    dirfd = open("/tmp", O_RDONLY | O_DIRECTORY);
    fd = openat(dirfd, path + 5, O_RDONLY);
    CHECK(dirfd >= 0 && fd >= 0, "openat(dirfd, relative)");
    close(fd);
    close(dirfd);
    CHECK(unlink(path) == 0, "unlink");
    CHECK(open(path, O_RDONLY) == -1 && errno == ENOENT, "open a missing file: ENOENT");
    CHECK(open("/no/such/dir/../file", O_RDONLY) == -1 && errno == ENOENT, "with ..: ENOENT");

    CHECK(pipe(p) == 0, "pipe");
    CHECK(write(p[1], "xyz", 3) == 3 && read(p[0], buf, 3) == 3 && memcmp(buf, "xyz", 3) == 0,
          "a pipe carries bytes");
    close(p[0]);
    close(p[1]);

    fd = open("/dev/null", O_RDWR);
    CHECK(fd >= 0 && read(fd, buf, 4) == 0 && write(fd, "q", 1) == 1, "/dev/null");
    {
        int r = devctl(fd, DCMD_ALL_GETFLAGS, buf, 4, NULL);
        CHECK(r == ENOTTY, "devctl on a Linux fd: ENOTTY");
    }
    CHECK(ionotify(fd, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT, NULL) == -1 && errno == ENOSYS,
          "ionotify on a Linux fd: ENOSYS");
    close(fd);
    CHECK(devctl(-1, DCMD_ALL_GETFLAGS, buf, 4, NULL) == EBADF, "devctl on no fd: EBADF");
}

/* ------------------------------------------------------------ a resource manager's path */

static void managed(void) {
    char buf[32];
    struct stat st;
    int fd, fd2, v, info, flags;
    struct iovec sv, rv;

    fd = open(DEV_PATH, O_RDWR);
    CHECK(fd > 2, "open a resource manager's path");
    if (fd < 0) {
        return;
    }
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0, "read");
    CHECK(last_xtype == _IO_XTYPE_NONE, "read: _IO_XTYPE_NONE");
    CHECK(write(fd, "!!", 2) == 2, "write");
    CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
    CHECK(read(fd, buf, 10) == 10 && memcmp(buf, "hello!!dio", 10) == 0, "read what was written");
    CHECK(lseek(fd, 0, SEEK_CUR) == 10, "lseek SEEK_CUR");
    CHECK(pread(fd, buf, 3, 1) == 3 && memcmp(buf, "ell", 3) == 0, "pread");
    CHECK(last_xtype == _IO_XTYPE_OFFSET && last_offset == 1, "pread: _IO_XTYPE_OFFSET, 1");
    CHECK(pwrite(fd, "HE", 2, 0) == 2, "pwrite");
    CHECK(last_xtype == _IO_XTYPE_OFFSET && last_offset == 0, "pwrite: _IO_XTYPE_OFFSET, 0");
    CHECK(lseek(fd, 0, SEEK_CUR) == 10, "pread/pwrite leave the offset");
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_size == 10, "fstat");

    flags = fcntl(fd, F_GETFL);
    CHECK(flags >= 0 && (flags & O_ACCMODE) == O_RDWR, "fcntl F_GETFL (DCMD_ALL_GETFLAGS)");
    CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0, "fcntl F_SETFL (DCMD_ALL_SETFLAGS)");
    CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, "the flag stuck");
    CHECK(fcntl(fd, F_GETFD) == 0, "F_GETFD: not close-on-exec as asked");
    CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "F_SETFD");
    CHECK(fcntl(fd, F_GETLK, NULL) == -1 && errno == EINVAL, "other fcntls: EINVAL");

    info = -1;
    v = 0;
    CHECK(devctl(fd, DCMD_FDIO_GET, &v, sizeof v, &info) == EOK && v == 41 && info == 5,
          "devctl DIOF: data back, ret_val");
    v = 100;
    CHECK(devctl(fd, DCMD_FDIO_SET, &v, sizeof v, &info) == EOK && info == 7, "devctl DIOT");
    v = 0;
    CHECK(devctl(fd, DCMD_FDIO_GET, &v, sizeof v, NULL) == EOK && v == 100, "it was sent");
    v = 20;
    CHECK(devctl(fd, DCMD_FDIO_INC, &v, sizeof v, &info) == EOK && v == 21 && info == 9,
          "devctl DIOTF");
    CHECK(devctl(fd, __DIOF(_DCMD_MISC, 99, int), &v, sizeof v, NULL) == ENOTTY,
          "an unknown command: ENOTTY");
    errno = 0;
    CHECK(_devctl(fd, __DIOF(_DCMD_MISC, 99, int), &v, sizeof v, 0) == -1 && errno == ENOSYS,
          "_devctl without NOTTY: -1, ENOSYS");
    CHECK(_devctl(fd, __DIOF(_DCMD_MISC, 99, int), &v, sizeof v, _DEVCTL_FLAG_NOTTY) == -1 &&
              errno == ENOTTY,
          "_devctl with NOTTY: ENOTTY");
    CHECK(_devctl(fd, DCMD_FDIO_GET, &v, sizeof v, 0) == 5, "_devctl: ret_val");
    CHECK(_devctl(fd, DCMD_FDIO_GET, &v, sizeof v, _DEVCTL_FLAG_NORETVAL) == 0, "NORETVAL");
    v = 1;
    sv.iov_base = &v;
    sv.iov_len = sizeof v;
    rv.iov_base = &info;
    rv.iov_len = sizeof info;
    CHECK(devctlv(fd, DCMD_FDIO_INC, 1, 1, &sv, &rv, NULL) == EOK && info == 2, "devctlv");

    CHECK(ionotify(fd, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT, NULL) ==
              (_NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT),
          "ionotify POLL: the conditions met");

    CHECK(dup(fd) == -1 && errno == ENOTSUP, "dup of ours: ENOTSUP");
    fd2 = (int)syscall(SYS_dup, fd); /* behind libqnxsim's back: the O_PATH placeholder */
    CHECK(fd2 >= 0 && read(fd2, buf, 1) == -1 && errno == EBADF,
          "a copy of the placeholder fails I/O with EBADF");
    close(fd2);

    CHECK(close(fd) == 0, "close");
    CHECK(read(fd, buf, 1) == -1 && errno == EBADF, "read after close: EBADF");
    CHECK(close(fd) == -1 && errno == EBADF, "close twice: EBADF");

    /* A second open gets a different fd; dup2 onto it closes it. */
    fd = open(DEV_PATH, O_RDONLY | O_CLOEXEC);
    CHECK(fd > 2 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "open O_CLOEXEC");
    CHECK(write(fd, "x", 1) == -1 && errno == EBADF, "write on a read-only open: EBADF");
    fd2 = open("/dev/null", O_RDONLY);
    CHECK(dup2(fd2, fd) == fd && read(fd, buf, 1) == 0, "dup2 onto ours: now /dev/null");
    close(fd);
    close(fd2);

    CHECK(open(DEV_PATH "/below", O_RDONLY) == -1 && errno == ENOENT,
          "below a non-directory mountpoint: Linux's ENOENT");
}

int main(void) {
    ordinary_files();
    CHECK(start_server() == 0, "a resource manager attached " DEV_PATH);
    managed();
    ordinary_files();
    return SUMMARY();
}
