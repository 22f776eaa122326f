/*
 * resmgr_review.c: review checks of libqnxsim's C resource-manager layer and of its
 * interposed file calls. A resource manager on DEV_PATH (iofunc defaults, _RESMGR_FLAG_SELF)
 * is served by a thread of this program; raw clients speak the I/O protocol on a connection to
 * its channel, plain ones use open/read/close. Prints "N passed, M failed".
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <sys/iomsg.h>

#include "check.h"

#define DEV_PATH "/dev/qnxsim-resmgr-review"

static dispatch_t *dpp;
static int link_id;
static iofunc_attr_t attr;
static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
/* Stat handlers called with less room after their message than a struct stat (the reply
 * iofunc_stat_default writes in place, at msg). */
static volatile int cramped_stats;
static volatile int stats;

static int io_stat(resmgr_context_t *ctp, io_stat_t *msg, iofunc_ocb_t *ocb) {
    size_t room = (size_t)((char *)ctp->msg + ctp->msg_max_size - (char *)msg);
    __sync_fetch_and_add(&stats, 1);
    if (room < sizeof(struct stat)) {
        /* iofunc_stat_default would write past the context's receive buffer here. */
        __sync_fetch_and_add(&cramped_stats, 1);
        return EBADMSG;
    }
    return iofunc_stat_default(ctp, msg, ocb);
}

/* The byte count the last _IO_WRITE handler saw. */
static volatile unsigned last_write_nbytes;

static int io_write(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb) {
    last_write_nbytes = msg->i.nbytes;
    return iofunc_write_default(ctp, msg, ocb);
}

static void *serve(void *arg) {
    dispatch_context_t *ctp = dispatch_context_alloc((dispatch_t *)arg);
    for (;;) {
        dispatch_context_t *got = dispatch_block(ctp);
        if (got != NULL) {
            ctp = got;
            dispatch_handler(ctp);
        }
    }
    return NULL;
}

static int start_server(void) {
    pthread_t t;
    dpp = dispatch_create();
    if (dpp == NULL) {
        return -1;
    }
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    io_funcs.stat = io_stat;
    io_funcs.write = io_write;
    iofunc_attr_init(&attr, S_IFCHR | 0666, NULL, NULL);
    link_id = resmgr_attach(dpp, NULL, DEV_PATH, _FTYPE_ANY, _RESMGR_FLAG_SELF, &connect_funcs,
                            &io_funcs, &attr);
    if (link_id == -1 || pthread_create(&t, NULL, serve, dpp) != 0) {
        return -1;
    }
    pthread_detach(t);
    return 0;
}

/* A connection to the server's channel and an _IO_CONNECT for the link (path ""). */
static int raw_open(void) {
    struct {
        struct _io_connect c;
        char pad[8];
    } m;
    int coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    if (coid == -1) {
        return -1;
    }
    memset(&m, 0, sizeof m);
    m.c.type = _IO_CONNECT;
    m.c.subtype = _IO_CONNECT_OPEN;
    m.c.file_type = _FTYPE_ANY;
    m.c.handle = (_Uint32t)link_id;
    m.c.ioflag = O_RDWR + 1;
    m.c.sflag = SH_DENYNO;
    m.c.access = _IO_FLAG_RD | _IO_FLAG_WR;
    m.c.path_len = 1;
    if (MsgSend(coid, &m, 48, NULL, 0) == -1) {
        ConnectDetach(coid);
        return -1;
    }
    return coid;
}

/*
 * A combine message whose last part, an _IO_STAT, sits near the end of the server's receive
 * buffer (an lseek part before it says how long it is). The stat handler answers in place, in
 * the message (msg->o, a struct stat): the layer must not hand it a message with less room
 * than that; it refuses the part instead (or gives the handler room).
 */
static void check_cramped_combine_part(void) {
    enum { BIG = 4096 };
    static char m[BIG];
    struct _io_lseek *l = (struct _io_lseek *)m;
    struct _io_stat *s;
    struct stat st;
    size_t at = 2048; /* the least receive buffer is 2088 bytes: 40 left after the stat */
    long r;
    int coid = raw_open();
    CHECK(coid != -1, "a raw open");
    memset(m, 0, sizeof m);
    l->type = _IO_LSEEK;
    l->combine_len = (_Uint16t)(at | _IO_COMBINE_FLAG);
    l->whence = SEEK_SET;
    s = (struct _io_stat *)(m + at);
    s->type = _IO_STAT;
    s->combine_len = sizeof *s;
    s->format = _STAT_FORM_PREFERRED;
    errno = 0;
    r = MsgSend(coid, m, at + sizeof *s, &st, sizeof st);
    CHECK(stats >= 0 && cramped_stats == 0,
          "no stat handler was given less room than a struct stat after its message");
    CHECK(r != -1 || errno == EBADMSG, "the combine message answered or refused (EBADMSG)");
    /* A plain fstat still works. */
    {
        struct _io_stat one;
        memset(&one, 0, sizeof one);
        one.type = _IO_STAT;
        one.combine_len = sizeof one;
        CHECK(MsgSend(coid, &one, sizeof one, &st, sizeof st) != -1 &&
                  S_ISCHR(st.st_mode),
              "a plain _IO_STAT answers a struct stat");
    }
    ConnectDetach(coid);
}

/*
 * An fd of a resource manager closed behind libqnxsim's back (glibc's fclose closes with its
 * own internal call, as close_range and a raw syscall do): Linux gives the number to the next
 * file, and calls on that file must reach that file, never the resource manager.
 */
static void check_fd_closed_elsewhere(void) {
    char buf[8];
    int p[2];
    FILE *f;
    int fd = open(DEV_PATH, O_RDWR);
    CHECK(fd >= 0, "open the resource manager's path");
    f = fdopen(fd, "r+");
    if (f != NULL) {
        fclose(f);
    } else {
        syscall(SYS_close, fd);
    }
    CHECK(pipe(p) == 0, "pipe");
    CHECK(p[0] == fd || p[1] == fd, "Linux reused the number");
    CHECK(write(p[1], "xy", 2) == 2, "write into the pipe");
    memset(buf, 0, sizeof buf);
    CHECK(read(p[0], buf, sizeof buf) == 2 && memcmp(buf, "xy", 2) == 0,
          "read from the pipe reads the pipe");
    CHECK(close(p[0]) == 0 && close(p[1]) == 0, "close the pipe");
}

/*
 * A message shorter than its header (a 4-byte _IO_WRITE after a full one, received into the
 * same buffer): the handler reads zero past what came, never the previous client's bytes.
 */
static void check_short_message_reads_no_stale_bytes(void) {
    struct {
        struct _io_write w;
        char data[40];
    } full;
    struct _io_write shortw;
    int coid = raw_open();
    CHECK(coid != -1, "a raw open");
    memset(&full, 0, sizeof full);
    full.w.type = _IO_WRITE;
    full.w.combine_len = sizeof full.w;
    full.w.nbytes = sizeof full.data;
    CHECK(MsgSend(coid, &full, sizeof full, NULL, 0) == (long)sizeof full.data &&
              last_write_nbytes == sizeof full.data,
          "a full _IO_WRITE of 40 bytes");
    memset(&shortw, 0, sizeof shortw);
    shortw.type = _IO_WRITE;
    shortw.combine_len = 4;
    CHECK(MsgSend(coid, &shortw, 4, NULL, 0) == 0 && last_write_nbytes == 0,
          "a 4-byte _IO_WRITE: its handler sees nbytes 0, not the last message's 40");
    ConnectDetach(coid);
}

/*
 * stat(), lstat() and fstatat() of a resource manager's path go to it as QNX's combine message
 * (open with no access, _IO_STAT, close); other paths stay Linux's.
 */
static void check_stat_of_a_path(void) {
    struct stat st;
    int before = stats;
    memset(&st, 0, sizeof st);
    CHECK(stat(DEV_PATH, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 0777) == 0666,
          "stat of the resource manager's path: its character device");
    CHECK(stats == before + 1, "the server's stat handler answered it");
    memset(&st, 0, sizeof st);
    CHECK(lstat(DEV_PATH, &st) == 0 && S_ISCHR(st.st_mode), "lstat too");
    memset(&st, 0, sizeof st);
    CHECK(fstatat(AT_FDCWD, DEV_PATH, &st, 0) == 0 && S_ISCHR(st.st_mode), "fstatat too");
    {
        /* (The layer closes a stat's OCB just after it answers.) */
        int i;
        for (i = 0; i < 1000 && __atomic_load_n(&attr.count, __ATOMIC_ACQUIRE) != 0; i++) {
            usleep(1000);
        }
    }
    CHECK(__atomic_load_n(&attr.count, __ATOMIC_ACQUIRE) == 0, "each stat's OCB closed again");
    errno = 0;
    CHECK(stat(DEV_PATH "-none", &st) == -1 && errno == ENOENT, "no such path: ENOENT");
    CHECK(stat("/tmp", &st) == 0 && S_ISDIR(st.st_mode), "stat of an ordinary path: Linux's");
}

int main(void) {
    CHECK(start_server() == 0, "the resource manager is up");
    check_stat_of_a_path();
    check_short_message_reads_no_stale_bytes();
    check_cramped_combine_part();
    check_fd_closed_elsewhere();
    return SUMMARY();
}
