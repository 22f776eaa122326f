/*
 * porter_dev.c: a typical QNX /dev/something resource manager, ported as it is written for
 * QNX 7.1, in a program of its own on a kernel shared with its clients (QNXSIM_KERNEL names
 * it): `porter_dev PATH`. The client is porter_dev_client.c.
 *
 * Two devices on one dispatch handle, served by a thread pool:
 *   PATH     S_IFCHR | 0666: a 4096-byte buffer. iofunc_func_init's defaults for stat, lseek,
 *            close_dup; its own open (iofunc_open_default, then O_TRUNC empties the device),
 *            io_read, io_write (iofunc_write_verify: O_APPEND moves the offset to the end; a
 *            write past the end fills the gap with the fill byte), io_devctl (the default's
 *            DCMD_ALL_* first, then the device's commands below) and close_ocb.
 *   PATH-ro  S_IFCHR | 0444: every I/O default (read: EOF; write: everything "written").
 *
 * It prints "ready" once attached, and ends once the OCB marked with DCMD_PORTER_MARK (by a
 * client that is then killed) met its close_ocb, every OCB is closed and no message came for
 * 300 ms; at most after 60 s. Then "N passed, M failed" for its own checks: every open met
 * its close_ocb, the killed client's included; the attributes' counts are back at zero.
 *
 * The commands (the same definitions in porter_dev_client.c):
 *   DCMD_PORTER_GET_SIZE  __DIOF(_DCMD_MISC, 1, int)    the size; EINVAL under 4 bytes
 *   DCMD_PORTER_SET_FILL  __DIOT(_DCMD_MISC, 2, int)    the gap byte; EBADF not opened to write
 *   DCMD_PORTER_ADD       __DIOTF(_DCMD_MISC, 3, struct porter_add)   sum = a + b; ret_val 7
 *   DCMD_PORTER_MARK      __DION(_DCMD_MISC, 4)         marks the caller's OCB
 */
#include <devctl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/iofunc.h>
#include <sys/dispatch.h>

#include "check.h"

struct porter_add {
    int a, b, sum;
};

#define DCMD_PORTER_GET_SIZE __DIOF(_DCMD_MISC, 1, int)
#define DCMD_PORTER_SET_FILL __DIOT(_DCMD_MISC, 2, int)
#define DCMD_PORTER_ADD __DIOTF(_DCMD_MISC, 3, struct porter_add)
#define DCMD_PORTER_MARK __DION(_DCMD_MISC, 4)

#define CAPACITY 4096
#define IDLE_MS 300

static struct {
    iofunc_attr_t attr;
    char data[CAPACITY];
    int fill;
} dev;
static iofunc_attr_t ro_attr;

static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs, ro_io_funcs;
static int opens, closes, marked_closed;
static iofunc_ocb_t *volatile marked;
static volatile long last_ms;

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
    if (st != EOK) {
        return st;
    }
    __sync_fetch_and_add(&opens, 1);
    /* iofunc_open only marks the times for O_TRUNC: the device empties itself. */
    if (handle == &dev.attr && (msg->connect.ioflag & O_TRUNC) &&
        (msg->connect.ioflag & _IO_FLAG_WR)) {
        iofunc_attr_lock(&dev.attr);
        dev.attr.nbytes = 0;
        iofunc_attr_unlock(&dev.attr);
    }
    return EOK;
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
    left = dev.attr.nbytes - ocb->offset;
    if (left < 0) {
        left = 0; /* past the end: EOF */
    }
    n = (size_t)_IO_READ_GET_NBYTES(msg);
    if ((off_t)n > left) {
        n = (size_t)left;
    }
    _IO_SET_READ_NBYTES(ctp, (long)n);
    SETIOV(ctp->iov, dev.data + ocb->offset, n);
    ocb->offset += (off_t)n;
    if (n > 0) {
        dev.attr.flags |= IOFUNC_ATTR_ATIME;
    }
    return _RESMGR_NPARTS(1);
}

static int io_write(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb) {
    size_t n;
    int st;
    touch();
    /* EBADF not opened to write; O_APPEND: the offset moves to the end first. */
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
    if (ocb->offset > dev.attr.nbytes) {
        memset(dev.data + dev.attr.nbytes, dev.fill, (size_t)(ocb->offset - dev.attr.nbytes));
    }
    ocb->offset += (off_t)n;
    if (ocb->offset > dev.attr.nbytes) {
        dev.attr.nbytes = ocb->offset;
    }
    if (n > 0) {
        dev.attr.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    }
    _IO_SET_WRITE_NBYTES(ctp, (long)n);
    return EOK;
}

static int io_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb) {
    int st, v;
    struct porter_add add;
    void *data;
    touch();
    if ((st = iofunc_devctl_default(ctp, msg, ocb)) != _RESMGR_DEFAULT) {
        return st;
    }
    data = _DEVCTL_DATA(msg->i);
    switch (msg->i.dcmd) {
    case DCMD_PORTER_GET_SIZE:
        if (msg->i.nbytes < sizeof v) {
            return EINVAL;
        }
        v = (int)dev.attr.nbytes;
        memset(&msg->o, 0, sizeof msg->o);
        memcpy(_DEVCTL_DATA(msg->o), &v, sizeof v);
        msg->o.nbytes = sizeof v;
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof v);
    case DCMD_PORTER_SET_FILL:
        if (!(ocb->ioflag & _IO_FLAG_WR)) {
            return EBADF;
        }
        if (msg->i.nbytes < sizeof v) {
            return EINVAL;
        }
        memcpy(&v, data, sizeof v);
        dev.fill = v;
        return EOK;
    case DCMD_PORTER_ADD:
        if (msg->i.nbytes < sizeof add) {
            return EINVAL;
        }
        memcpy(&add, data, sizeof add);
        add.sum = add.a + add.b;
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.ret_val = 7;
        msg->o.nbytes = sizeof add;
        memcpy(_DEVCTL_DATA(msg->o), &add, sizeof add);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof add);
    case DCMD_PORTER_MARK:
        marked = ocb;
        return EOK;
    default:
        return _RESMGR_DEFAULT;
    }
}

static int io_close_ocb(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb) {
    touch();
    if (ocb == marked) {
        marked = NULL;
        __sync_fetch_and_add(&marked_closed, 1);
    }
    __sync_fetch_and_add(&closes, 1);
    return iofunc_close_ocb_default(ctp, reserved, ocb);
}

int main(int argc, char **argv) {
    char ro_path[256];
    thread_pool_attr_t pool_attr;
    thread_pool_t *tpp;
    dispatch_t *dpp;
    long start = now_ms();
    int id, ro_id;

    if (argc != 2 || strlen(argv[1]) > 200) {
        fprintf(stderr, "usage: porter_dev PATH\n");
        return 2;
    }
    snprintf(ro_path, sizeof ro_path, "%s-ro", argv[1]);
    dpp = dispatch_create();
    CHECK(dpp != NULL, "dispatch_create");
    if (dpp == NULL) {
        return SUMMARY();
    }
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &ro_io_funcs);
    connect_funcs.open = io_open;
    io_funcs.read = io_read;
    io_funcs.write = io_write;
    io_funcs.devctl = io_devctl;
    io_funcs.close_ocb = io_close_ocb;
    ro_io_funcs.close_ocb = io_close_ocb;
    iofunc_attr_init(&dev.attr, S_IFCHR | 0666, NULL, NULL);
    iofunc_attr_init(&ro_attr, S_IFCHR | 0444, NULL, NULL);
    CHECK(dev.attr.nlink == 1 && dev.attr.nbytes == 0 && dev.attr.mode == (S_IFCHR | 0666),
          "iofunc_attr_init");
    id = resmgr_attach(dpp, NULL, argv[1], _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &dev.attr);
    ro_id = resmgr_attach(dpp, NULL, ro_path, _FTYPE_ANY, 0, &connect_funcs, &ro_io_funcs,
                          &ro_attr);
    CHECK(id != -1 && ro_id != -1, "resmgr_attach of both paths");
    if (id == -1 || ro_id == -1) {
        return SUMMARY();
    }

    memset(&pool_attr, 0, sizeof pool_attr);
    pool_attr.handle = dpp;
    pool_attr.context_alloc = dispatch_context_alloc;
    pool_attr.block_func = dispatch_block;
    pool_attr.unblock_func = dispatch_unblock;
    pool_attr.handler_func = dispatch_handler;
    pool_attr.context_free = dispatch_context_free;
    pool_attr.lo_water = 1;
    pool_attr.hi_water = 2;
    pool_attr.increment = 1;
    pool_attr.maximum = 4;
    tpp = thread_pool_create(&pool_attr, 0);
    CHECK(tpp != NULL && thread_pool_start(tpp) == 0, "a thread pool serves the devices");
    if (tpp == NULL) {
        return SUMMARY();
    }
    touch();
    printf("ready\n");
    fflush(stdout);

    for (;;) {
        int o = __sync_fetch_and_add(&opens, 0), c = __sync_fetch_and_add(&closes, 0);
        if (__sync_fetch_and_add(&marked_closed, 0) > 0 && o == c &&
            now_ms() - __atomic_load_n(&last_ms, __ATOMIC_RELAXED) >= IDLE_MS) {
            break;
        }
        if (now_ms() - start > 60000) {
            CHECK(0, "the marked OCB and every other closed within 60 s");
            break;
        }
        delay(10);
    }
    printf("porter_dev: %d opens, %d closes\n", opens, closes);
    CHECK(opens > 0 && opens == closes, "every open met its close_ocb");
    CHECK(marked_closed == 1, "the killed client's OCB met its close_ocb");
    iofunc_attr_lock(&dev.attr);
    CHECK(dev.attr.count == 0 && dev.attr.rcount == 0 && dev.attr.wcount == 0,
          "the device's open counts are back at zero");
    iofunc_attr_unlock(&dev.attr);
    CHECK(ro_attr.count == 0 && ro_attr.rcount == 0 && ro_attr.wcount == 0,
          "PATH-ro's open counts are back at zero");
    CHECK(resmgr_detach(dpp, id, _RESMGR_DETACH_ALL) == 0, "resmgr_detach");
    CHECK(resmgr_detach(dpp, ro_id, _RESMGR_DETACH_ALL) == 0, "resmgr_detach PATH-ro");
    CHECK(thread_pool_destroy(tpp) == 0, "thread_pool_destroy");
    return SUMMARY();
}
