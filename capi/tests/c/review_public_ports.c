/*
 * review_public_ports.c: what public QNX programs (course exercises, training samples, Krten's
 * resource managers, the library reference's devctl sample) rely on when they are ported
 * unchanged, reproduced in code of this file's own. Run by
 * procnto-sim/tests/review_public_ports.rs.
 *
 * With no argument (compiled as C99 and C++17, on the program's own kernel), the behaviours
 * that the ported programs showed to work, checked so that they stay so:
 *   - a raw channel served by pid and chid (ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0)),
 *     the sender's pid and tid in _msg_info, the reply's status and data;
 *   - a pulse sent with priority -1 and a value above INT_MAX as unsigned (MsgSendPulse's int),
 *     received by MsgReceive into a union with the message types;
 *   - a name_attach server reading name_open's _IO_CONNECT in its own MsgReceive loop and
 *     letting it in with MsgReply(EOK, NULL, 0), then _PULSE_CODE_DISCONNECT at name_close;
 *   - MsgReceivePulse leaving a message queued (its sender stays SEND-blocked) while it takes
 *     a pulse that came later: why a server that only calls MsgReceivePulse never lets a
 *     name_open in (QNX's rule, kept here);
 *   - a periodic SIGEV_PULSE timer set up member by member (sigev_notify, sigev_coid,
 *     sigev_priority, sigev_code), stopped by timer_settime with a zero interval, restarted;
 *   - a resource manager with a mount whose iofunc_funcs_t and iofunc_mount_t are initialised
 *     positionally ({ _IOFUNC_NFUNCS, calloc, free } and { 0, 0, 0, 0, &funcs }), a read
 *     handler that replies itself with the byte count as status and returns _RESMGR_NOREPLY,
 *     a write handler that rereads the data with resmgr_msgread, and the library reference's
 *     devctl handler (iofunc_devctl_default first, _DEVCTL_DATA, _RESMGR_PTR) for __DIOF,
 *     __DIOT and __DIOTF commands; ocb_free called at close;
 *   - SchedGet(0, 0, NULL) failing with EFAULT (a metronome passes its result as a pulse's
 *     priority: -1, the caller's).
 *
 * Compiled with one of these defined, the program checks the fix of a project defect too
 * (without the fix the program did not compile or link):
 *   PORTS_DEFECT_RESMGR_LOOP: resmgr_context_alloc, resmgr_block, resmgr_handler,
 *     resmgr_unblock and resmgr_context_free (QNX's <sys/dispatch.h>; the loop of Krten's
 *     resource managers and of many drivers) serving a client; resmgr_handler serving the
 *     resource-manager layer alone (other_func, else ENOSYS, for other messages; no
 *     message_attach or pulse_attach handler called), resmgr_block's ETIMEDOUT, and the
 *     EINVALs of a NULL context, a handle with nothing attached and one without the layer;
 *   PORTS_DEFECT_MINMAX: the min() and max() macros QNX's <stdlib.h> defines for C (not for
 *     C++), which resource managers' read handlers use;
 *   PORTS_DEFECT_IFNAM: S_IFNAM (0x5000), S_ISNAM and the S_IN* subtypes from QNX's
 *     <sys/stat.h>, the mode of the library reference's sample resource managers
 *     (iofunc_attr_init(&attr, S_IFNAM | 0666, 0, 0)), and a client's fstat and stat seeing it.
 */
#include <devctl.h>
#include <fcntl.h>
#include <process.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <sys/neutrino.h>

#include "check.h"

/* Every blocking call of the program is bounded by this (ns). */
#define BOUND_NS 10000000000ULL

static void bound(unsigned flags) {
    uint64_t ns = BOUND_NS;
    TimerTimeout(CLOCK_MONOTONIC, flags, NULL, &ns, NULL);
}

static void bound_ms(unsigned flags, unsigned ms) {
    uint64_t ns = (uint64_t)ms * 1000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, flags, NULL, &ns, NULL);
}

/* ---- a raw channel by pid and chid, and a pulse ---------------------------------------- */

#define MSG_SUM (_IO_MAX + 1)

struct sum_msg {
    uint16_t type;
    char text[62];
};

union sum_recv {
    struct _pulse pulse;
    uint16_t type;
    struct sum_msg sum;
};

struct sum_client {
    pid_t pid;
    int chid;
    int coid;
    int status;
    unsigned reply;
    int tid;
};

static void *sum_client_main(void *arg) {
    struct sum_client *c = (struct sum_client *)arg;
    struct sum_msg m;
    c->tid = gettid();
    c->coid = ConnectAttach(0, c->pid, c->chid, _NTO_SIDE_CHANNEL, 0);
    if (c->coid == -1) {
        return NULL;
    }
    MsgSendPulse(c->coid, -1, 3, (int)0xdeadc0deU);
    memset(&m, 0, sizeof m);
    m.type = MSG_SUM;
    strcpy(m.text, "Hello World");
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    c->status = MsgSend(c->coid, &m, sizeof m.type + strlen(m.text) + 1, &c->reply,
                        sizeof c->reply);
    ConnectDetach(c->coid);
    return NULL;
}

static void check_raw_channel(void) {
    struct sum_client c;
    union sum_recv msg;
    struct _msg_info info;
    pthread_t t;
    int got_pulse = 0, got_msg = 0;
    memset(&c, 0, sizeof c);
    c.pid = getpid();
    c.chid = ChannelCreate(0);
    CHECK(c.chid != -1, "ChannelCreate(0)");
    c.status = -2;
    pthread_create(&t, NULL, sum_client_main, &c);
    while (!(got_pulse && got_msg)) {
        bound(_NTO_TIMEOUT_RECEIVE);
        rcvid_t rcvid = MsgReceive(c.chid, &msg, sizeof msg, &info);
        if (rcvid == -1) {
            CHECK(0, "MsgReceive of the client's pulse and message");
            break;
        }
        if (rcvid == 0) {
            got_pulse = 1;
            CHECK(msg.pulse.code == 3, "the pulse's code");
            CHECK(msg.pulse.value.sival_int == (int)0xdeadc0deU, "the pulse's value");
            CHECK(msg.pulse.type == 0 && msg.pulse.subtype == 0, "a pulse's type and subtype");
            CHECK(!got_msg, "the pulse, sent first, comes first");
            continue;
        }
        got_msg = 1;
        CHECK(msg.type == MSG_SUM, "the message's type");
        CHECK(info.pid == getpid(), "_msg_info.pid: the sender's process");
        CHECK(info.msglen == 2 + 12 && info.srcmsglen == 2 + 12, "msglen, srcmsglen");
        unsigned sum = 0;
        for (const char *p = msg.sum.text; *p; p++) {
            sum += (unsigned char)*p;
        }
        CHECK(MsgReply(rcvid, EOK, &sum, sizeof sum) == 0, "MsgReply with the checksum");
        CHECK(info.tid == c.tid && c.tid > 1, "_msg_info.tid: the sending thread's gettid()");
    }
    pthread_join(t, NULL);
    CHECK((c.coid & _NTO_SIDE_CHANNEL) != 0, "a side-channel coid");
    CHECK(c.status == EOK, "MsgSend returns the reply's status");
    CHECK(c.reply == 1052, "the reply's data (checksum of \"Hello World\")");
    CHECK(ChannelDestroy(c.chid) == 0, "ChannelDestroy");
}

/* ---- a name server reading _IO_CONNECT itself ------------------------------------------ */

struct name_server {
    name_attach_t *attach;
    int connects, messages, disconnects;
};

static void *name_server_main(void *arg) {
    struct name_server *s = (struct name_server *)arg;
    union {
        struct _pulse pulse;
        uint16_t type;
        struct _io_connect connect;
        struct sum_msg sum;
    } msg;
    for (;;) {
        bound(_NTO_TIMEOUT_RECEIVE);
        rcvid_t rcvid = MsgReceive(s->attach->chid, &msg, sizeof msg, NULL);
        if (rcvid == -1) {
            return NULL;
        }
        if (rcvid == 0) {
            if (msg.pulse.code == _PULSE_CODE_DISCONNECT) {
                s->disconnects++;
                ConnectDetach(msg.pulse.scoid);
                return NULL;
            }
            continue;
        }
        if (msg.type == _IO_CONNECT) {
            s->connects++;
            MsgReply(rcvid, EOK, NULL, 0);
        } else if (msg.type == MSG_SUM) {
            s->messages++;
            MsgReply(rcvid, 7, NULL, 0);
        } else {
            MsgError(rcvid, ENOSYS);
        }
    }
}

static void check_name_server(void) {
    struct name_server s;
    struct sum_msg m;
    pthread_t t;
    memset(&s, 0, sizeof s);
    s.attach = name_attach(NULL, "review-ports/server", 0);
    CHECK(s.attach != NULL, "name_attach");
    if (s.attach == NULL) {
        return;
    }
    pthread_create(&t, NULL, name_server_main, &s);
    int coid = name_open("review-ports/server", 0);
    CHECK(coid != -1, "name_open let in by MsgReply(EOK) to _IO_CONNECT");
    memset(&m, 0, sizeof m);
    m.type = MSG_SUM;
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    CHECK(MsgSend(coid, &m, sizeof m, NULL, 0) == 7, "a message after name_open");
    CHECK(name_close(coid) == 0, "name_close");
    pthread_join(t, NULL);
    CHECK(s.connects == 1 && s.messages == 1, "the server saw one connect and one message");
    CHECK(s.disconnects == 1, "_PULSE_CODE_DISCONNECT at name_close");
    CHECK(name_detach(s.attach, 0) == 0, "name_detach");
}

/* ---- MsgReceivePulse with a message queued --------------------------------------------- */

struct sender {
    int chid;
    int status;
    int err;
};

static void *sender_main(void *arg) {
    struct sender *s = (struct sender *)arg;
    uint16_t type = MSG_SUM;
    int coid = ConnectAttach(0, 0, s->chid, _NTO_SIDE_CHANNEL, 0);
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    s->status = MsgSend(coid, &type, sizeof type, NULL, 0);
    s->err = errno;
    ConnectDetach(coid);
    return NULL;
}

static void check_receive_pulse_leaves_messages(void) {
    struct sender s;
    union sum_recv msg;
    pthread_t t;
    memset(&s, 0, sizeof s);
    s.chid = ChannelCreate(0);
    int self = ConnectAttach(0, 0, s.chid, _NTO_SIDE_CHANNEL, 0);
    pthread_create(&t, NULL, sender_main, &s);
    delay(50); /* the message is queued (the sender SEND-blocked) */
    MsgSendPulse(self, -1, 5, 55);
    bound(_NTO_TIMEOUT_RECEIVE);
    rcvid_t r = MsgReceivePulse(s.chid, &msg, sizeof msg, NULL);
    CHECK(r == 0 && msg.pulse.code == 5 && msg.pulse.value.sival_int == 55,
          "MsgReceivePulse takes the pulse that came after a message");
    bound_ms(_NTO_TIMEOUT_RECEIVE, 100);
    errno = 0;
    r = MsgReceivePulse(s.chid, &msg, sizeof msg, NULL);
    CHECK(r == -1 && errno == ETIMEDOUT, "MsgReceivePulse never takes the message");
    bound(_NTO_TIMEOUT_RECEIVE);
    r = MsgReceive(s.chid, &msg, sizeof msg, NULL);
    CHECK(r > 0 && msg.type == MSG_SUM, "MsgReceive takes it");
    if (r > 0) {
        MsgReply(r, 0, NULL, 0);
    }
    pthread_join(t, NULL);
    CHECK(s.status == 0, "its sender was blocked until then");
    ConnectDetach(self);
    ChannelDestroy(s.chid);
}

/* ---- a periodic pulse timer, stopped and restarted ------------------------------------- */

#define CODE_TICK (_PULSE_CODE_MINAVAIL + 2)

static int ticks_within(int chid, int ms) {
    struct _pulse p;
    int n = 0;
    for (;;) {
        bound_ms(_NTO_TIMEOUT_RECEIVE, (unsigned)ms);
        if (MsgReceivePulse(chid, &p, sizeof p, NULL) == -1) {
            return n;
        }
        if (p.code == CODE_TICK) {
            n++;
        }
    }
}

static void check_pulse_timer(void) {
    struct sigevent event;
    struct itimerspec itime;
    timer_t id;
    int chid = ChannelCreate(0);
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_PULSE;
    event.sigev_coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    event.sigev_priority = 10;
    event.sigev_code = CODE_TICK;
    CHECK(timer_create(CLOCK_MONOTONIC, &event, &id) == 0, "timer_create with a pulse event");
    itime.it_value.tv_sec = 0;
    itime.it_value.tv_nsec = 20000000;
    itime.it_interval.tv_sec = 0;
    itime.it_interval.tv_nsec = 20000000;
    CHECK(timer_settime(id, 0, &itime, NULL) == 0, "timer_settime, 20 ms period");
    struct _pulse p;
    int n = 0;
    for (int i = 0; i < 3; i++) {
        bound(_NTO_TIMEOUT_RECEIVE);
        if (MsgReceivePulse(chid, &p, sizeof p, NULL) == 0 && p.code == CODE_TICK) {
            n++;
        }
    }
    CHECK(n == 3, "three ticks");
    itime.it_interval.tv_nsec = 0; /* the metronome's "stop": one more expiry, then none */
    CHECK(timer_settime(id, 0, &itime, NULL) == 0, "timer_settime, no interval");
    n = ticks_within(chid, 150);
    CHECK(n >= 1 && n <= 2, "at most the queued tick and the one last expiry after a stop");
    CHECK(ticks_within(chid, 150) == 0, "then nothing");
    itime.it_interval.tv_nsec = 20000000;
    CHECK(timer_settime(id, 0, &itime, NULL) == 0, "timer_settime again (start)");
    n = 0;
    for (int i = 0; i < 2; i++) {
        bound(_NTO_TIMEOUT_RECEIVE);
        if (MsgReceivePulse(chid, &p, sizeof p, NULL) == 0 && p.code == CODE_TICK) {
            n++;
        }
    }
    CHECK(n == 2, "ticks again");
    CHECK(timer_delete(id) == 0, "timer_delete");
    CHECK(ticks_within(chid, 100) <= 1, "none after timer_delete (but one queued already)");
    ConnectDetach(event.sigev_coid);
    ChannelDestroy(chid);
}

/* ---- a resource manager in the ported programs' shapes --------------------------------- */

#define DEV_PATH "/dev/review-ports-dev"
#define DCMD_GETVAL __DIOF(_DCMD_MISC, 1, int)
#define DCMD_SETVAL __DIOT(_DCMD_MISC, 2, int)
#define DCMD_SETGET __DIOTF(_DCMD_MISC, 3, int)

struct dev_ocb {
    iofunc_ocb_t ocb; /* first, as the library's OCB */
    char buffer[64];
    int magic;
};

static int dev_value;
static int dev_ocbs_freed;
static char dev_written[64];

static iofunc_ocb_t *dev_ocb_calloc(resmgr_context_t *ctp, iofunc_attr_t *attr) {
    struct dev_ocb *o = (struct dev_ocb *)calloc(1, sizeof *o);
    (void)ctp;
    (void)attr;
    if (o != NULL) {
        o->magic = 0x5eed;
    }
    return (iofunc_ocb_t *)o;
}

static void dev_ocb_free(iofunc_ocb_t *ocb) {
    if (((struct dev_ocb *)ocb)->magic == 0x5eed) {
        dev_ocbs_freed++;
    }
    free(ocb);
}

static int dev_read(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb) {
    struct dev_ocb *o = (struct dev_ocb *)ocb;
    int status = iofunc_read_verify(ctp, msg, ocb, NULL);
    if (status != EOK) {
        return status;
    }
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE) {
        return ENOSYS;
    }
    if (o->buffer[0] == 0) {
        snprintf(o->buffer, sizeof o->buffer, "value %d\n", dev_value);
    }
    int left = (int)strlen(o->buffer) - (int)ocb->offset;
    int n = left < (int)msg->i.nbytes ? left : (int)msg->i.nbytes;
    if (n > 0) {
        /* the reply's status is the byte count (Krten's handlers) */
        MsgReply(ctp->rcvid, n, o->buffer + ocb->offset, (size_t)n);
        ocb->offset += n;
    } else {
        MsgReply(ctp->rcvid, EOK, NULL, 0);
    }
    return _RESMGR_NOREPLY;
}

static int dev_write(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb) {
    int status = iofunc_write_verify(ctp, msg, ocb, NULL);
    if (status != EOK) {
        return status;
    }
    size_t n = _IO_WRITE_GET_NBYTES(msg);
    if (n > (size_t)ctp->info.srcmsglen - (size_t)ctp->offset - sizeof(io_write_t)) {
        return EBADMSG;
    }
    if (n >= sizeof dev_written) {
        return EFBIG;
    }
    _IO_SET_WRITE_NBYTES(ctp, n);
    resmgr_msgread(ctp, dev_written, n, sizeof msg->i);
    dev_written[n] = 0;
    return _RESMGR_NPARTS(0);
}

static int dev_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb) {
    int status = iofunc_devctl_default(ctp, msg, ocb);
    if (status != _RESMGR_DEFAULT) {
        return status;
    }
    int *data = (int *)_DEVCTL_DATA(msg->i);
    int nbytes = 0, previous;
    switch (msg->i.dcmd) {
    case DCMD_SETVAL:
        dev_value = *data;
        break;
    case DCMD_GETVAL:
        *data = dev_value;
        nbytes = sizeof *data;
        break;
    case DCMD_SETGET:
        previous = dev_value;
        dev_value = *data;
        *data = previous;
        nbytes = sizeof *data;
        break;
    default:
        return ENOSYS;
    }
    memset(&msg->o, 0, sizeof msg->o);
    msg->o.ret_val = 42;
    msg->o.nbytes = nbytes;
    return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + nbytes);
}

static resmgr_connect_funcs_t dev_connect;
static resmgr_io_funcs_t dev_io;
static iofunc_attr_t dev_attr;
static iofunc_funcs_t dev_ocb_funcs = {_IOFUNC_NFUNCS, dev_ocb_calloc, dev_ocb_free, NULL, NULL,
                                       NULL};
static iofunc_mount_t dev_mount = {0, 0, 0, 0, &dev_ocb_funcs, NULL, 0, 0, 0, {0, 0, 0, 0}};

struct dev_server {
    dispatch_t *dpp;
    volatile int stop;
};

static void *dev_server_main(void *arg) {
    struct dev_server *s = (struct dev_server *)arg;
    dispatch_context_t *ctp = dispatch_context_alloc(s->dpp);
    while (ctp != NULL && !s->stop) {
        dispatch_context_t *got = dispatch_block(ctp);
        if (got == NULL) {
            break;
        }
        ctp = got;
        dispatch_handler(ctp);
    }
    if (ctp != NULL) {
        dispatch_context_free(ctp);
    }
    return NULL;
}

static void check_resource_manager(void) {
    struct dev_server s;
    struct timespec tick = {0, 100000000};
    pthread_t t;
    char buf[64];
    int val, ret = -1;
    memset(&s, 0, sizeof s);
    s.dpp = dispatch_create();
    CHECK(s.dpp != NULL, "dispatch_create");
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &dev_connect, _RESMGR_IO_NFUNCS, &dev_io);
    dev_io.read = dev_read;
    dev_io.write = dev_write;
    dev_io.devctl = dev_devctl;
    iofunc_attr_init(&dev_attr, S_IFCHR | 0666, NULL, NULL);
    dev_attr.mount = &dev_mount;
    int id = resmgr_attach(s.dpp, NULL, DEV_PATH, _FTYPE_ANY, _RESMGR_FLAG_SELF, &dev_connect,
                           &dev_io, &dev_attr);
    CHECK(id != -1, "resmgr_attach with a NULL resmgr_attr_t");
    dispatch_timeout(s.dpp, &tick);
    pthread_create(&t, NULL, dev_server_main, &s);

    int fd = open(DEV_PATH, O_RDWR);
    CHECK(fd != -1, "open");
    dev_value = 3;
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == 8 && strcmp(buf, "value 3\n") == 0,
          "read: the handler's own MsgReply with the byte count as status");
    CHECK(read(fd, buf, sizeof buf) == 0, "read at the end: 0");
    CHECK(write(fd, "Hello World", 11) == 11, "write");
    CHECK(strcmp(dev_written, "Hello World") == 0, "resmgr_msgread of the written data");
    val = -1;
    CHECK(devctl(fd, DCMD_GETVAL, &val, sizeof val, &ret) == EOK && val == 3 && ret == 42,
          "devctl __DIOF: the value and ret_val");
    val = 25;
    CHECK(devctl(fd, DCMD_SETVAL, &val, sizeof val, NULL) == EOK && dev_value == 25,
          "devctl __DIOT");
    val = 50;
    CHECK(devctl(fd, DCMD_SETGET, &val, sizeof val, NULL) == EOK && val == 25 &&
              dev_value == 50,
          "devctl __DIOTF: the old value back, the new one set");
    CHECK(devctl(fd, __DION(_DCMD_MISC, 9), NULL, 0, NULL) == ENOTTY,
          "devctl of a command the handler refuses with ENOSYS: ENOTTY");
    CHECK(close(fd) == 0, "close");
    for (int i = 0; i < 100 && dev_ocbs_freed == 0; i++) {
        delay(10);
    }
    CHECK(dev_ocbs_freed == 1, "the mount's ocb_free freed the mount's ocb_calloc's OCB");
    s.stop = 1;
    pthread_join(t, NULL);
    CHECK(resmgr_detach(s.dpp, id, 0) == 0, "resmgr_detach");
    dispatch_destroy(s.dpp);
}

/* ---- SchedGet with a NULL param -------------------------------------------------------- */

static void check_schedget_null(void) {
    struct sched_param p;
    errno = 0;
    CHECK(SchedGet(0, 0, NULL) == -1 && errno == EFAULT, "SchedGet(0, 0, NULL): EFAULT");
    CHECK(SchedGet(0, 0, &p) != -1 && p.sched_priority == getprio(0), "SchedGet(0, 0, &p)");
}

/* ---- the defects ----------------------------------------------------------------------- */

#ifdef PORTS_DEFECT_RESMGR_LOOP
/* Krten's loop: resmgr_context_alloc, then resmgr_block/resmgr_handler for ever. */
struct loop_server {
    dispatch_t *dpp;
    resmgr_context_t *ctp;
    int served;
    int woken;
};

static void *loop_server_main(void *arg) {
    struct loop_server *s = (struct loop_server *)arg;
    resmgr_context_t *ctp = s->ctp;
    for (;;) {
        resmgr_context_t *got = resmgr_block(ctp);
        if (got == NULL) {
            break;
        }
        ctp = got;
        if (ctp->rcvid == 0 && ctp->msg->pulse.code == _PULSE_CODE_UNBLOCK) {
            s->woken = 1; /* resmgr_unblock's pulse */
            break;
        }
        resmgr_handler(ctp);
        s->served++;
    }
    s->ctp = ctp;
    return NULL;
}

static void check_resmgr_loop(void) {
    struct loop_server s;
    pthread_t t;
    char buf[64];
    memset(&s, 0, sizeof s);
    s.dpp = dispatch_create();
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &dev_connect, _RESMGR_IO_NFUNCS, &dev_io);
    dev_io.read = dev_read; /* dev_read's OCB is the mount's */
    iofunc_attr_init(&dev_attr, S_IFCHR | 0666, NULL, NULL);
    dev_attr.mount = &dev_mount;
    int id = resmgr_attach(s.dpp, NULL, DEV_PATH "-loop", _FTYPE_ANY, _RESMGR_FLAG_SELF,
                           &dev_connect, &dev_io, &dev_attr);
    CHECK(id != -1, "resmgr_attach");
    s.ctp = resmgr_context_alloc(s.dpp);
    CHECK(s.ctp != NULL, "resmgr_context_alloc");
    if (s.ctp == NULL) {
        return;
    }
    pthread_create(&t, NULL, loop_server_main, &s);
    dev_value = 7;
    int fd = open(DEV_PATH "-loop", O_RDONLY);
    CHECK(fd != -1, "open, served by resmgr_block/resmgr_handler");
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == 8 && strcmp(buf, "value 7\n") == 0, "read");
    CHECK(close(fd) == 0, "close");
    delay(50);
    resmgr_unblock(s.ctp);
    pthread_join(t, NULL);
    CHECK(s.served >= 3, "open, read and close went through resmgr_handler");
    CHECK(s.woken == 1, "resmgr_unblock woke the blocked thread with _PULSE_CODE_UNBLOCK");
    resmgr_context_free(s.ctp);
    CHECK(resmgr_detach(s.dpp, id, 0) == 0, "resmgr_detach");
    dispatch_destroy(s.dpp);
}

/* What only the dispatch layer serves, and other_func, under resmgr_handler. */
static int loop_attached_calls;
static int loop_other_messages;
static int loop_other_pulses;

static int loop_attached(message_context_t *ctp, int code, unsigned flags, void *handle) {
    (void)code;
    (void)flags;
    (void)handle;
    loop_attached_calls++;
    if (ctp->rcvid > 0) {
        MsgReply(ctp->rcvid, 77, NULL, 0);
    }
    return 0;
}

static int loop_other(resmgr_context_t *ctp, void *msg) {
    (void)msg;
    if (ctp->rcvid == 0) {
        loop_other_pulses++;
        return _RESMGR_NOREPLY;
    }
    loop_other_messages++;
    _RESMGR_STATUS(ctp, 9);
    return EOK;
}

struct loop_client {
    int coid;
    int status;
    int err;
};

static void *loop_client_main(void *arg) {
    struct loop_client *c = (struct loop_client *)arg;
    uint16_t type = MSG_SUM;
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    errno = 0;
    c->status = MsgSend(c->coid, &type, sizeof type, NULL, 0);
    c->err = errno;
    return NULL;
}

/* One message of type MSG_SUM and one pulse of code 5 through resmgr_block/resmgr_handler on
 * a handle whose message_attach and pulse_attach take both; with_other: the layer has an
 * other_func. */
static void check_resmgr_loop_only(int with_other) {
    struct loop_client c;
    resmgr_attr_t rattr;
    struct timespec tick = {0, 50000000};
    pthread_t t;
    dispatch_t *dpp = dispatch_create();
    loop_attached_calls = loop_other_messages = loop_other_pulses = 0;
    CHECK(message_attach(dpp, NULL, MSG_SUM, MSG_SUM, loop_attached, NULL) == 0,
          "message_attach beside the resmgr loop");
    CHECK(pulse_attach(dpp, 0, 5, loop_attached, NULL) == 5, "pulse_attach beside it");
    errno = 0;
    CHECK(resmgr_context_alloc(dpp) == NULL && errno == EINVAL,
          "resmgr_context_alloc before any resmgr_attach: EINVAL");
    memset(&rattr, 0, sizeof rattr);
    rattr.flags = RESMGR_FLAG_ATTACH_LOCAL | (with_other ? RESMGR_FLAG_ATTACH_OTHERFUNC : 0);
    rattr.other_func = loop_other;
    CHECK(resmgr_attach(dpp, &rattr, NULL, _FTYPE_ANY, 0, &dev_connect, &dev_io, &dev_attr) >=
              0,
          "resmgr_attach of a local link");
    resmgr_context_t *ctp = resmgr_context_alloc(dpp);
    CHECK(ctp != NULL && ctp->dpp == dpp, "resmgr_context_alloc");
    if (ctp == NULL) {
        dispatch_destroy(dpp);
        return;
    }
    memset(&c, 0, sizeof c);
    c.coid = message_connect(dpp, MSG_FLAG_SIDE_CHANNEL);
    c.status = -2;
    pthread_create(&t, NULL, loop_client_main, &c);
    resmgr_context_t *got = resmgr_block(ctp);
    CHECK(got == ctp && ctp->rcvid > 0 && ctp->msg->type == MSG_SUM,
          "resmgr_block: a message of a type the layer does not have");
    if (got != NULL) {
        CHECK(resmgr_handler(ctp) == 0, "resmgr_handler of it");
    }
    pthread_join(t, NULL);
    if (with_other) {
        CHECK(c.status == 9 && loop_other_messages == 1,
              "resmgr_handler: other_func's reply (status 9)");
    } else {
        CHECK(c.status == -1 && c.err == ENOSYS, "resmgr_handler: ENOSYS without other_func");
    }
    MsgSendPulse(c.coid, -1, 5, 55);
    got = resmgr_block(ctp);
    CHECK(got == ctp && ctp->rcvid == 0 && ctp->msg->pulse.code == 5, "resmgr_block: a pulse");
    if (got != NULL) {
        int r = resmgr_handler(ctp);
        if (with_other) {
            CHECK(r == 0 && loop_other_pulses == 1, "resmgr_handler: the pulse to other_func");
        } else {
            CHECK(r == -1, "resmgr_handler: a pulse nothing takes is dropped (-1)");
        }
    }
    CHECK(loop_attached_calls == 0,
          "resmgr_handler calls no message_attach/pulse_attach handler");
    CHECK(dispatch_timeout(dpp, &tick) == 0, "dispatch_timeout");
    errno = 0;
    got = resmgr_block(ctp);
    CHECK(got == NULL && errno == ETIMEDOUT && ctp->rcvid == -1,
          "resmgr_block after the handle's timeout: NULL, ETIMEDOUT (rcvid -1)");
    CHECK(resmgr_handler(ctp) == -1, "resmgr_handler of a timeout's context: -1");
    ConnectDetach(c.coid);
    resmgr_context_free(ctp);
    dispatch_destroy(dpp);
}

static void check_resmgr_loop_errors(void) {
    dispatch_t *dpp = dispatch_create();
    errno = 0;
    CHECK(resmgr_context_alloc(NULL) == NULL && errno == EINVAL,
          "resmgr_context_alloc(NULL): EINVAL");
    errno = 0;
    CHECK(resmgr_context_alloc(dpp) == NULL && errno == EINVAL,
          "resmgr_context_alloc of a handle with nothing attached: EINVAL");
    errno = 0;
    CHECK(resmgr_block(NULL) == NULL && errno == EINVAL, "resmgr_block(NULL): EINVAL");
    errno = 0;
    CHECK(resmgr_handler(NULL) == -1 && errno == EINVAL, "resmgr_handler(NULL): -1, EINVAL");
    errno = 0;
    resmgr_unblock(NULL);
    CHECK(errno == EINVAL, "resmgr_unblock(NULL): EINVAL");
    resmgr_context_free(NULL);
    CHECK(1, "resmgr_context_free(NULL): nothing");
    /* a context of a handle with no resource-manager layer */
    message_attach(dpp, NULL, MSG_SUM, MSG_SUM, loop_attached, NULL);
    dispatch_context_t *dctp = dispatch_context_alloc(dpp);
    CHECK(dctp != NULL, "dispatch_context_alloc of a message-only handle");
    if (dctp != NULL) {
        resmgr_context_t *ctp = &dctp->resmgr_context;
        errno = 0;
        CHECK(resmgr_block(ctp) == NULL && errno == EINVAL,
              "resmgr_block of a handle with no resource-manager layer: EINVAL");
        errno = 0;
        CHECK(resmgr_handler(ctp) == -1 && errno == EINVAL,
              "resmgr_handler of it: -1, EINVAL");
        errno = 0;
        resmgr_unblock(ctp);
        CHECK(errno == EINVAL, "resmgr_unblock of it: EINVAL");
        dispatch_context_free(dctp);
    }
    dispatch_destroy(dpp);
}
#endif

#ifdef PORTS_DEFECT_MINMAX
static void check_minmax(void) {
#ifdef __cplusplus
#if defined(min) || defined(max)
    CHECK(0, "QNX's <stdlib.h> defines min and max for C only: not in C++");
#else
    CHECK(1, "no min or max macro in C++");
#endif
#else
    int a = 3;
    unsigned n = 9;
    CHECK(min(a, 5) == 3 && max(a, 5) == 5, "min and max of ints (QNX's <stdlib.h>)");
    CHECK(min(n, 4u) == 4u && max(2.5, 1.0) == 2.5, "of other types");
    CHECK(min(a + 1, a - 1) == 2, "of expressions");
#endif
}
#endif

#ifdef PORTS_DEFECT_IFNAM
static void check_ifnam(void) {
    struct dev_server s;
    struct timespec tick = {0, 100000000};
    struct stat st;
    pthread_t t;
    CHECK(S_IFNAM == 0x5000, "S_IFNAM is QNX's 0x5000 (050000)");
    CHECK(S_ISNAM(S_IFNAM | 0666) && !S_ISNAM(S_IFCHR | 0666) && !S_ISNAM(S_IFREG),
          "S_ISNAM");
    memset(&s, 0, sizeof s);
    s.dpp = dispatch_create();
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &dev_connect, _RESMGR_IO_NFUNCS, &dev_io);
    iofunc_attr_init(&dev_attr, S_IFNAM | 0666, NULL, NULL);
    int id = resmgr_attach(s.dpp, NULL, DEV_PATH "-nam", _FTYPE_ANY, _RESMGR_FLAG_SELF,
                           &dev_connect, &dev_io, &dev_attr);
    CHECK(id != -1, "resmgr_attach of an S_IFNAM attribute");
    dispatch_timeout(s.dpp, &tick);
    pthread_create(&t, NULL, dev_server_main, &s);
    int fd = open(DEV_PATH "-nam", O_RDWR);
    CHECK(fd != -1, "open of an S_IFNAM device (the library reference's sample)");
    CHECK(S_INSEM == 1 && S_INSHD == 2 && S_INMQ == 3 && S_INTMO == 4 && S_IPERMS == 0777,
          "the subtypes of a special named file (QNX's values)");
    CHECK(fd != -1 && fstat(fd, &st) == 0 && S_ISNAM(st.st_mode) &&
              (st.st_mode & 0777) == 0666,
          "fstat: st_mode S_IFNAM | 0666");
    memset(&st, 0, sizeof st);
    CHECK(stat(DEV_PATH "-nam", &st) == 0 && (st.st_mode & S_IFMT) == S_IFNAM &&
              (st.st_mode & S_IPERMS) == 0666,
          "stat of the path: st_mode S_IFNAM | 0666");
    if (fd != -1) {
        close(fd);
    }
    s.stop = 1;
    pthread_join(t, NULL);
    resmgr_detach(s.dpp, id, 0);
    dispatch_destroy(s.dpp);
}
#endif

int main(int argc, char **argv) {
    (void)argv;
    alarm(120);
    if (argc > 1) {
        printf("usage: review_public_ports (no arguments)\n");
        return 2;
    }
    /* the defect builds run these too: they share the resource manager's handlers */
    check_raw_channel();
    check_name_server();
    check_receive_pulse_leaves_messages();
    check_pulse_timer();
    check_resource_manager();
    check_schedget_null();
#if defined(PORTS_DEFECT_RESMGR_LOOP)
    check_resmgr_loop();
    check_resmgr_loop_only(0);
    check_resmgr_loop_only(1);
    check_resmgr_loop_errors();
#elif defined(PORTS_DEFECT_MINMAX)
    check_minmax();
#elif defined(PORTS_DEFECT_IFNAM)
    check_ifnam();
#endif
    return SUMMARY();
}
