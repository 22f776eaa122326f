/*
 * porter_dev_client.c: the client of porter_dev.c, with plain POSIX and QNX calls, in a
 * program of its own (QNXSIM_KERNEL names the shared kernel).
 *
 *   porter_dev_client PATH        every check below; prints "N passed, M failed"
 *   porter_dev_client PATH hold   opens PATH, marks its OCB (DCMD_PORTER_MARK), prints
 *                                 "holding" and waits (at most 60 s) to be killed
 *
 * Each result is compared with what QNX's iofunc defaults do (docs/deviations.md for where
 * this project differs): open modes against the access mode and the device's mode (EACCES,
 * after giving up root), EBADF reading a write-only OCB and writing a read-only one, O_TRUNC,
 * O_APPEND (open and fcntl F_SETFL), lseek SEEK_SET/CUR/END (EINVAL for a bad whence and a
 * negative result), reads past the end, writes extending the size, opens with offsets of
 * their own, devctl in/out/both/none (ENOTTY unknown, the device's own errnos, ret_val),
 * dup, fstat, stat, close.
 */
#include <devctl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/iomgr.h>
#include <sys/iomsg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

struct porter_add {
    int a, b, sum;
};

#define DCMD_PORTER_GET_SIZE __DIOF(_DCMD_MISC, 1, int)
#define DCMD_PORTER_SET_FILL __DIOT(_DCMD_MISC, 2, int)
#define DCMD_PORTER_ADD __DIOTF(_DCMD_MISC, 3, struct porter_add)
#define DCMD_PORTER_MARK __DION(_DCMD_MISC, 4)

/* The device's size, through fstat; -1 if that fails. */
static long size_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (long)st.st_size : -1;
}

static int hold(const char *path) {
    int fd = open(path, O_RDWR);
    if (fd == -1 || devctl(fd, DCMD_PORTER_MARK, NULL, 0, NULL) != EOK) {
        printf("open and mark %s: errno %d\n", path, errno);
        return 1;
    }
    printf("holding\n");
    fflush(stdout);
    sleep(60);
    return 1;
}

int main(int argc, char **argv) {
    char ro[256], buf[64];
    const char *path;
    int a, b, c, d, r, fill, size, flags, info;
    struct porter_add add;
    struct stat st;

    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "hold") != 0) ||
        strlen(argv[1]) > 200) {
        fprintf(stderr, "usage: porter_dev_client PATH [hold]\n");
        return 2;
    }
    path = argv[1];
    if (argc == 3) {
        return hold(path);
    }
    snprintf(ro, sizeof ro, "%s-ro", path);

    /* O_TRUNC on a fresh device, then writes that extend the size. */
    a = open(path, O_RDWR | O_TRUNC);
    CHECK(a != -1, "open O_RDWR|O_TRUNC");
    if (a == -1) {
        return SUMMARY();
    }
    CHECK(size_of(a) == 0, "fstat: size 0");
    CHECK(write(a, "0123456789", 10) == 10, "write 10 bytes");
    CHECK(size_of(a) == 10, "the write extended the size to 10");
    CHECK(lseek(a, 0, SEEK_CUR) == 10, "lseek SEEK_CUR 0: the offset moved with the write");

    /* lseek SET/CUR/END and reads at and past the end. */
    CHECK(lseek(a, 2, SEEK_SET) == 2, "lseek SEEK_SET 2");
    memset(buf, 0, sizeof buf);
    CHECK(read(a, buf, 3) == 3 && memcmp(buf, "234", 3) == 0, "read 3 at 2");
    CHECK(lseek(a, 1, SEEK_CUR) == 6, "lseek SEEK_CUR +1");
    CHECK(lseek(a, -2, SEEK_END) == 8, "lseek SEEK_END -2");
    memset(buf, 0, sizeof buf);
    CHECK(read(a, buf, sizeof buf) == 2 && memcmp(buf, "89", 2) == 0,
          "read asks 64 at 8: the 2 left");
    CHECK(read(a, buf, sizeof buf) == 0, "read at the end: 0");
    CHECK(lseek(a, 100, SEEK_SET) == 100, "lseek past the end is allowed");
    CHECK(read(a, buf, sizeof buf) == 0, "read past the end: 0");
    CHECK(lseek(a, 5, SEEK_END) == 15, "lseek SEEK_END +5");
    errno = 0;
    CHECK(lseek(a, 0, 42) == -1 && errno == EINVAL, "lseek whence 42: EINVAL");
    errno = 0;
    CHECK(lseek(a, -1, SEEK_SET) == -1 && errno == EINVAL, "lseek to -1: EINVAL");
    errno = 0;
    CHECK(lseek(a, -11, SEEK_END) == -1 && errno == EINVAL, "lseek SEEK_END before 0: EINVAL");
    CHECK(lseek(a, 0, SEEK_CUR) == 15, "the failed lseeks left the offset");

    /* A write past the end: the gap gets the fill byte set by devctl (in: __DIOT). */
    fill = 'z';
    CHECK(devctl(a, DCMD_PORTER_SET_FILL, &fill, sizeof fill, NULL) == EOK,
          "devctl DCMD_PORTER_SET_FILL (data in)");
    CHECK(lseek(a, 12, SEEK_SET) == 12 && write(a, "xy", 2) == 2, "write 2 at 12");
    CHECK(size_of(a) == 14, "size 14");

    /* A second open has an offset of its own. */
    b = open(path, O_RDONLY);
    CHECK(b != -1, "open O_RDONLY");
    memset(buf, 0, sizeof buf);
    CHECK(read(b, buf, sizeof buf) == 14 && memcmp(buf, "0123456789zzxy", 14) == 0,
          "the second open reads from 0: the gap filled");
    CHECK(lseek(a, 0, SEEK_CUR) == 14 && lseek(b, 0, SEEK_CUR) == 14,
          "each open's offset its own");
    CHECK(lseek(b, 3, SEEK_SET) == 3 && lseek(a, 0, SEEK_CUR) == 14,
          "moving one offset leaves the other");
    errno = 0;
    CHECK(write(b, "no", 2) == -1 && errno == EBADF,
          "write on an O_RDONLY open: EBADF (iofunc_write_verify)");
    errno = 0;
    CHECK(devctl(b, DCMD_PORTER_SET_FILL, &fill, sizeof fill, NULL) == EBADF,
          "the device's own devctl error: returned, not -1");

    /* O_WRONLY: reads refused. */
    c = open(path, O_WRONLY);
    CHECK(c != -1, "open O_WRONLY");
    errno = 0;
    CHECK(read(c, buf, sizeof buf) == -1 && errno == EBADF,
          "read on an O_WRONLY open: EBADF (iofunc_read_verify)");

    /* O_APPEND: every write at the end, wherever the offset was. */
    d = open(path, O_WRONLY | O_APPEND);
    CHECK(d != -1, "open O_WRONLY|O_APPEND");
    CHECK(write(d, "END", 3) == 3 && size_of(d) == 17, "an O_APPEND write at the end");
    CHECK(lseek(d, 0, SEEK_SET) == 0 && write(d, "!", 1) == 1 && size_of(d) == 18,
          "after lseek to 0, an O_APPEND write still at the end");
    CHECK(lseek(d, 0, SEEK_CUR) == 18, "the O_APPEND open's offset: the end");
    memset(buf, 0, sizeof buf);
    CHECK(lseek(b, 14, SEEK_SET) == 14 && read(b, buf, sizeof buf) == 4 &&
              memcmp(buf, "END!", 4) == 0,
          "the appended bytes read back through the other open");

    /* The default's devctls and fcntl through them. */
    flags = -1;
    CHECK(devctl(d, DCMD_ALL_GETFLAGS, &flags, sizeof flags, NULL) == EOK &&
              (flags & O_ACCMODE) == O_WRONLY && (flags & O_APPEND) != 0,
          "DCMD_ALL_GETFLAGS: O_WRONLY|O_APPEND");
    flags = fcntl(a, F_GETFL);
    CHECK(flags != -1 && (flags & O_ACCMODE) == O_RDWR && (flags & O_APPEND) == 0,
          "fcntl F_GETFL: O_RDWR");
    CHECK(fcntl(a, F_SETFL, O_APPEND) == 0, "fcntl F_SETFL O_APPEND");
    flags = fcntl(a, F_GETFL);
    CHECK(flags != -1 && (flags & O_ACCMODE) == O_RDWR && (flags & O_APPEND) != 0,
          "fcntl F_GETFL after: O_RDWR|O_APPEND");
    CHECK(lseek(a, 0, SEEK_SET) == 0 && write(a, "+", 1) == 1 && size_of(a) == 19 &&
              lseek(a, 0, SEEK_CUR) == 19,
          "the F_SETFL O_APPEND write at the end");
    CHECK(fcntl(a, F_SETFL, 0) == 0 && lseek(a, 0, SEEK_SET) == 0 && write(a, "#", 1) == 1 &&
              size_of(a) == 19,
          "O_APPEND cleared: the write at 0");

    /* The device's devctls: out, in and out, none; the size check; an unknown command. */
    size = -1;
    CHECK(devctl(a, DCMD_PORTER_GET_SIZE, &size, sizeof size, NULL) == EOK && size == 19,
          "devctl DCMD_PORTER_GET_SIZE (data out)");
    CHECK(devctl(a, DCMD_PORTER_GET_SIZE, &size, 2, NULL) == EINVAL,
          "devctl with too little room: the device's EINVAL");
    add.a = 40;
    add.b = 2;
    add.sum = 0;
    info = -1;
    CHECK(devctl(b, DCMD_PORTER_ADD, &add, sizeof add, &info) == EOK && add.sum == 42 &&
              add.a == 40 && info == 7,
          "devctl DCMD_PORTER_ADD (data in and out, ret_val in dev_info)");
    errno = 0;
    CHECK(_devctl(a, DCMD_PORTER_GET_SIZE, &size, 2, 0) == -1 && errno == EINVAL,
          "_devctl with too little room: -1, the device's EINVAL");
    CHECK(devctl(a, __DION(_DCMD_MISC, 77), NULL, 0, NULL) == ENOTTY,
          "an unknown command: ENOTTY (the server's ENOSYS)");
    CHECK(devctl(a, __DIOF(_DCMD_ALL, 77, int), &size, sizeof size, NULL) == ENOTTY,
          "an unknown _DCMD_ALL command: ENOTTY");

    /* What the device does not do, and the defaults it left NULL. */
    errno = 0;
    CHECK(pread(a, buf, 4, 0) == -1 && errno == ENOSYS,
          "pread (_IO_XTYPE_OFFSET): the device's ENOSYS");
    errno = 0;
    CHECK(ionotify(a, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT, NULL) == -1 && errno == ENOSYS,
          "ionotify with no notify handler (iofunc_func_init's NULL): ENOSYS");
    CHECK(write(a, "", 0) == 0 && size_of(a) == 19, "a write of 0 bytes: 0, no change");
    errno = 0;
    CHECK(open(path, O_RDWR | O_CREAT | O_EXCL, 0666) == -1 && errno == EEXIST,
          "open O_CREAT|O_EXCL of the device: EEXIST (iofunc_open)");
    r = open(path, O_RDWR | O_CREAT, 0666);
    CHECK(r != -1 && size_of(r) == 19 && close(r) == 0, "open O_CREAT of the device: opened");

    /* fstat, stat. */
    CHECK(fstat(b, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0666 &&
              st.st_size == 19 && st.st_nlink == 1,
          "fstat: S_IFCHR|0666, size 19, nlink 1");
    CHECK(stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_size == 19, "stat of the path");
    CHECK(stat(ro, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0444,
          "stat of PATH-ro: 0444");

    /* dup: docs/deviations.md, "Files": dup of a resource manager's fd is -1, ENOTSUP (QNX
     * sends _IO_DUP and binds the new fd to the same OCB). */
    errno = 0;
    r = dup(a);
    CHECK(r == -1 && errno == ENOTSUP, "dup: ENOTSUP (docs/deviations.md, Files)");
    if (r != -1) {
        close(r);
    }

    /* close, and the fd after. */
    CHECK(close(a) == 0, "close");
    errno = 0;
    CHECK(close(a) == -1 && errno == EBADF, "close again: EBADF");
    errno = 0;
    CHECK(read(a, buf, sizeof buf) == -1 && errno == EBADF, "read after close: EBADF");
    errno = 0;
    CHECK(lseek(a, 0, SEEK_SET) == -1 && errno == EBADF, "lseek after close: EBADF");
    CHECK(devctl(a, DCMD_PORTER_GET_SIZE, &size, sizeof size, NULL) == EBADF,
          "devctl after close: EBADF");
    CHECK(read(b, buf, 1) == 1, "the other opens live on");
    CHECK(close(b) == 0 && close(c) == 0 && close(d) == 0, "close the others");

    /* PATH-ro: every default. */
    a = open(ro, O_RDONLY);
    CHECK(a != -1, "open PATH-ro O_RDONLY");
    CHECK(read(a, buf, sizeof buf) == 0, "iofunc_read_default: EOF");
    errno = 0;
    CHECK(write(a, "x", 1) == -1 && errno == EBADF, "write on O_RDONLY (the default): EBADF");
    CHECK(lseek(a, 7, SEEK_SET) == 7 && lseek(a, 0, SEEK_END) == 0,
          "iofunc_lseek_default: SET 7, END 0");
    CHECK(devctl(a, DCMD_PORTER_GET_SIZE, &size, sizeof size, NULL) == ENOTTY,
          "iofunc_devctl_default with no device handler: ENOTTY");
    flags = -1;
    CHECK(devctl(a, DCMD_ALL_GETFLAGS, &flags, sizeof flags, NULL) == EOK &&
              (flags & O_ACCMODE) == O_RDONLY,
          "DCMD_ALL_GETFLAGS on PATH-ro: O_RDONLY");
    CHECK(close(a) == 0, "close PATH-ro");
    /* Root passes every permission check (iofunc_check_access: euid 0). */
    if (geteuid() == 0) {
        a = open(ro, O_WRONLY);
        CHECK(a != -1, "open PATH-ro O_WRONLY as root");
        CHECK(write(a, "abc", 3) == 3, "iofunc_write_default: everything written");
        CHECK(close(a) == 0, "close");
        /* Give up root: the device's mode decides (the server reads our credentials). */
        CHECK(setgid(65534) == 0 && setuid(65534) == 0, "setuid nobody");
    }
    errno = 0;
    CHECK(open(ro, O_WRONLY) == -1 && errno == EACCES, "open 0444 O_WRONLY: EACCES");
    errno = 0;
    CHECK(open(ro, O_RDWR) == -1 && errno == EACCES, "open 0444 O_RDWR: EACCES");
    errno = 0;
    CHECK(open(ro, O_WRONLY | O_TRUNC) == -1 && errno == EACCES,
          "open 0444 O_WRONLY|O_TRUNC: EACCES");
    a = open(ro, O_RDONLY);
    CHECK(a != -1 && close(a) == 0, "open 0444 O_RDONLY as nobody");
    a = open(path, O_RDWR);
    CHECK(a != -1, "open 0666 O_RDWR as nobody");
    CHECK(a != -1 && read(a, buf, 3) == 3 && memcmp(buf, "#12", 3) == 0,
          "read as nobody");
    CHECK(a != -1 && close(a) == 0, "close");
    return SUMMARY();
}
