/*
 * dev_sample.c: /dev/sample as a QNX 7.1 resource manager in C, in a program of its own on a
 * kernel shared with its clients (QNXSIM_KERNEL names it): `dev_sample [PATH [IDLE_MS]]`.
 *
 * The device holds up to 4096 bytes, like a small file. iofunc_func_init's defaults do open
 * (permissions, share modes), lseek, stat and close; the device brings its own io_read,
 * io_write (which wakes the clients armed for input with iofunc_notify_trigger), io_devctl
 * (DCMD_SAMPLE_GET_SIZE: 4 bytes back; DCMD_SAMPLE_CLEAR: no data; the default's DCMD_ALL_*
 * first), io_notify and close_ocb. A thread pool serves it (lo_water 2, hi_water 4, increment
 * 1, maximum 8). It prints "ready" once attached, and ends once it has been opened, every OCB
 * is closed again, and no message came for IDLE_MS (default 500) ms; at most after 60 s. Then
 * resmgr_detach, thread_pool_destroy, and "N passed, M failed" for its own checks (every open
 * met its close_ocb, even a killed client's; no notification left armed).
 *
 * The commands (the same definitions in dev_sample_client.c and procnto-sim/tests/c_dev_sample.rs):
 *   DCMD_SAMPLE_GET_SIZE  __DIOF(_DCMD_MISC, 1, int)
 *   DCMD_SAMPLE_CLEAR     __DION(_DCMD_MISC, 2)
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

#define DCMD_SAMPLE_GET_SIZE __DIOF(_DCMD_MISC, 1, int)
#define DCMD_SAMPLE_CLEAR __DION(_DCMD_MISC, 2)

#define CAPACITY 4096

static struct {
    iofunc_attr_t attr; /* mode, owner, size (attr.nbytes), times, open counts */
    char data[CAPACITY];
    iofunc_notify_t notify[3];
} dev;

static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static int opens, closes, armed;
static volatile long last_ms;

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void touch(void) {
    __atomic_store_n(&last_ms, now_ms(), __ATOMIC_RELAXED);
}

/* open: the default's checks, OCB and binding; counted. */
static int io_open(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *handle, void *extra) {
    int st;
    touch();
    st = iofunc_open_default(ctp, msg, handle, extra);
    if (st == EOK) {
        __sync_fetch_and_add(&opens, 1);
    }
    return st;
}

/* read: up to nbytes from the OCB's offset; the bytes are the reply, their count its status. */
static int io_read(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb) {
    size_t n;
    off_t left;
    int st;
    touch();
    st = iofunc_read_verify(ctp, msg, ocb, NULL);
    if (st != EOK) {
        return st; /* EBADF: not opened for reading */
    }
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE) {
        return ENOSYS;
    }
    left = dev.attr.nbytes - ocb->offset;
    if (left < 0) {
        left = 0;
    }
    n = (size_t)_IO_READ_GET_NBYTES(msg);
    if ((off_t)n > left) {
        n = (size_t)left;
    }
    _IO_SET_READ_NBYTES(ctp, (long)n);
    SETIOV(ctp->iov, dev.data + ocb->offset, n);
    ocb->offset += (off_t)n;
    dev.attr.flags |= IOFUNC_ATTR_ATIME;
    return _RESMGR_NPARTS(1);
}

/* write: the data follows the header in the client's message; resmgr_msgread takes it. */
static int io_write(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb) {
    size_t n;
    int st;
    touch();
    st = iofunc_write_verify(ctp, msg, ocb, NULL);
    if (st != EOK) {
        return st; /* EBADF: not opened for writing */
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
    if (ocb->offset > dev.attr.nbytes) {
        dev.attr.nbytes = ocb->offset;
    }
    dev.attr.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    _IO_SET_WRITE_NBYTES(ctp, (long)n);
    if (n > 0) {
        iofunc_notify_trigger(dev.notify, 1, IOFUNC_NOTIFY_INPUT); /* data to read now */
    }
    return EOK;
}

/* devctl: the default's DCMD_ALL_* first, then the device's own commands. */
static int io_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb) {
    int st, size;
    touch();
    st = iofunc_devctl_default(ctp, msg, ocb);
    if (st != _RESMGR_DEFAULT) {
        return st;
    }
    switch (msg->i.dcmd) {
    case DCMD_SAMPLE_GET_SIZE:
        size = (int)dev.attr.nbytes;
        memset(&msg->o, 0, sizeof msg->o);
        msg->o.nbytes = sizeof size;
        memcpy(_DEVCTL_DATA(msg->o), &size, sizeof size); /* the data after the reply header */
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof size);
    case DCMD_SAMPLE_CLEAR:
        dev.attr.nbytes = 0;
        dev.attr.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
        return EOK;
    default:
        return _RESMGR_DEFAULT; /* the client's devctl: ENOTTY */
    }
}

/* notify: what holds now; iofunc_notify answers it and arms the client if nothing it asked
 * for holds. */
static int io_notify(resmgr_context_t *ctp, io_notify_t *msg, iofunc_ocb_t *ocb) {
    int trig = _NOTIFY_COND_OUTPUT | (dev.attr.nbytes > 0 ? _NOTIFY_COND_INPUT : 0);
    int did = 0, st;
    (void)ocb;
    touch();
    st = iofunc_notify(ctp, msg, dev.notify, trig, NULL, &did);
    if (did) {
        __sync_fetch_and_add(&armed, 1);
    }
    return st;
}

/* close_ocb: the OCB's last connection went (a close, or the client's disconnect). */
static int io_close_ocb(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb) {
    int st;
    touch();
    iofunc_notify_remove(ctp, dev.notify);
    st = iofunc_close_ocb_default(ctp, reserved, ocb);
    __sync_fetch_and_add(&closes, 1);
    return st;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/dev/sample";
    long idle_ms = argc > 2 ? atol(argv[2]) : 500;
    thread_pool_attr_t pool_attr;
    thread_pool_t *tpp;
    dispatch_t *dpp;
    long start = now_ms();
    int id, i;

    if (argc > 3 || idle_ms <= 0) {
        fprintf(stderr, "usage: dev_sample [PATH [IDLE_MS]]\n");
        return 2;
    }
    dpp = dispatch_create();
    CHECK(dpp != NULL, "dispatch_create");
    if (dpp == NULL) {
        return SUMMARY();
    }
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    connect_funcs.open = io_open;
    io_funcs.read = io_read;
    io_funcs.write = io_write;
    io_funcs.devctl = io_devctl;
    io_funcs.notify = io_notify;
    io_funcs.close_ocb = io_close_ocb;
    iofunc_attr_init(&dev.attr, S_IFCHR | 0666, NULL, NULL);
    IOFUNC_NOTIFY_INIT(dev.notify);
    id = resmgr_attach(dpp, NULL, path, _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &dev.attr);
    CHECK(id != -1, "resmgr_attach");
    if (id == -1) {
        return SUMMARY();
    }

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
    CHECK(tpp != NULL && thread_pool_start(tpp) == 0, "a thread pool serves /dev/sample");
    if (tpp == NULL) {
        return SUMMARY();
    }
    touch();
    printf("ready\n");
    fflush(stdout);

    /* The pool does the work; main watches: opened, all closed again, then quiet. */
    for (i = 0;; i++) {
        int o = __sync_fetch_and_add(&opens, 0), c = __sync_fetch_and_add(&closes, 0);
        if (o > 0 && o == c && now_ms() - __atomic_load_n(&last_ms, __ATOMIC_RELAXED) >= idle_ms) {
            break;
        }
        if (now_ms() - start > 60000) {
            CHECK(0, "every OCB closed within 60 s");
            break;
        }
        delay(10);
    }
    printf("dev_sample: %d opens, %d closes, %d armed\n", opens, closes, armed);
    CHECK(opens > 0 && opens == closes, "every open met its close_ocb");
    CHECK(armed > 0, "a client armed for notification");
    CHECK(dev.notify[0].list == NULL, "no notification left armed");
    CHECK(resmgr_detach(dpp, id, _RESMGR_DETACH_ALL) == 0, "resmgr_detach");
    CHECK(thread_pool_destroy(tpp) == 0, "thread_pool_destroy");
    return SUMMARY();
}
