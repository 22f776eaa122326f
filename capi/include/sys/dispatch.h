/*
 * <sys/dispatch.h>: QNX Neutrino's names (name_attach, name_detach, name_open, name_close) and
 * the message part of its dispatch layer (dispatch_create, message_attach, pulse_attach,
 * dispatch_block, dispatch_handler, ...) in QNX 7.1's signatures, over libqnxsim's simulated
 * kernel (QNX Neutrino message passing on Linux). Written for this project from QNX's public
 * documentation; not QNX's header.
 *
 * A name lives in the kernel: every program of a kernel (its own, or the one QNXSIM_KERNEL
 * names) sees it, and it goes with its process. A server name_attach'es a name and receives on
 * attach->chid; a client name_open's it and gets a side-channel coid, after the server answered
 * the struct _io_connect (<sys/iomsg.h>) the open sends it with MsgReply(rcvid, EOK, NULL, 0).
 * name_close sends nothing: the server gets _PULSE_CODE_DISCONNECT once the client's last
 * connection to it goes. Each call returns -1 (name_attach: NULL) and sets errno on failure.
 *
 * A dispatch handle (dispatch_t) owns a channel, made on the first attach (_NTO_CHF_UNBLOCK |
 * _NTO_CHF_DISCONNECT, and _NTO_CHF_COID_DISCONNECT for the process's first), and a table of
 * handlers: message_attach binds a range of message types, pulse_attach a pulse code
 * (MSG_FLAG_ALLOC_PULSE: the lowest free one, returned); the first attached match wins. A
 * server thread loops: ctp = dispatch_block(ctp); dispatch_handler(ctp); the handler replies
 * itself (MsgReply(ctp->rcvid, ...)) and dispatch_handler returns what it returned, or -1 (a
 * timeout, a message under 2 bytes: MsgError EINVAL, an unmatched message: MsgError ENOSYS,
 * an unmatched pulse: dropped). name_attach(dpp, ...) names the handle's channel; the handle
 * then answers the name's _IO_CONNECT with EOK unless a handler takes type _IO_CONNECT.
 *
 * Thread pools (thread_pool_create, thread_pool_start, ...; their section below) run the
 * dispatch loop, or any block/handler pair, in a number of threads that grows and shrinks
 * with QNX's water marks.
 *
 * The resource-manager layer (resmgr_attach, <sys/resmgr.h>, <sys/iofunc.h>) and
 * select_attach (<sys/dispatch.h>'s select section) attach to the same handle; the classic
 * resmgr_context_alloc / resmgr_block / resmgr_handler loop serves that layer alone.
 *
 * Where this library differs from QNX's: name_attach(NULL, ...) makes no dispatch handle
 * (attach->dpp stays NULL: receive on attach->chid), and name_attach does not set up the
 * resource-manager layer (docs/deviations.md).
 */
#ifndef _QNXSIM_SYS_DISPATCH_H
#define _QNXSIM_SYS_DISPATCH_H

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <sys/iomsg.h>
#include <sys/neutrino.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The dispatch handle (opaque). */
struct _dispatch;
typedef struct _dispatch dispatch_t;

/* ---------------------------------------------------------------- contexts */

/* Every message a dispatch context may receive (sizeof 256; grows with the resmgr layer). */
typedef union {
    _Uint16t type;
    struct _pulse pulse;
    struct _io_connect connect;
    char _qnxsim_reserved[256];
} resmgr_iomsgs_t;

struct _xendian_context {
    _Uint16t type;
    _Uint16t mode;
    _Uint32t hint;
};

struct _extended_context {
    size_t length;
    struct _xendian_context xendian;
    void *data;
};

/* QNX 7.1's 64-bit layout: info at 8, msg at 72, iov at 136, sizeof 152. The block
 * dispatch_context_alloc gives is bigger: iov[nparts_max], then the receive buffer ctp->msg
 * (ctp->msg_max_size bytes). */
typedef struct _resmgr_context {
    int rcvid;                       /* > 0 a message, 0 a pulse, -1 a timeout */
    struct _msg_info info;
    resmgr_iomsgs_t *msg;            /* the receive buffer */
    dispatch_t *dpp;
    int id;                          /* the link id (-1 in the message layer) */
    struct _extended_context *extra;
    size_t msg_max_size;             /* bytes at msg */
    long status;
    size_t offset;
    size_t size;
    iov_t iov[1];                    /* really iov[nparts_max] */
} resmgr_context_t;
typedef struct _resmgr_context message_context_t;

/* What the dispatch calls take; select and sigwait contexts come with select_attach. */
typedef union _dispatch_context {
    resmgr_context_t resmgr_context;
    message_context_t message_context;
} dispatch_context_t;

typedef struct _message_attr {
    unsigned flags;        /* MSG_FLAG_TYPE_PULSE, MSG_FLAG_DEFAULT_FUNC, MSG_FLAG_CROSS_ENDIAN */
    unsigned nparts_max;   /* iov entries a context needs (0: 1) */
    unsigned msg_max_size; /* receive buffer a context needs (at least sizeof(resmgr_iomsgs_t)) */
    unsigned reserved[5];
} message_attr_t;

#define MSG_FLAG_TYPE_PULSE 0x00000001
#define MSG_FLAG_ALLOC_PULSE 0x00000002
#define MSG_FLAG_TYPE_SELECT 0x00000004 /* QNX's internal flag: refused (EINVAL) */
#define MSG_FLAG_TYPE_RESMGR 0x00000008 /* QNX's internal flag: refused (EINVAL) */
#define MSG_FLAG_DEFAULT_FUNC 0x00000100
#define MSG_FLAG_SIDE_CHANNEL 0x00000200
#define MSG_FLAG_CROSS_ENDIAN 0x00000400

/* dispatch_create_channel: QNX 7.1's lockless handling (accepted; nothing changes here). */
#define DISPATCH_FLAG_NOLOCK 0x00000001

enum dispatch_type {
    DISPATCH_ERROR = -1,
    DISPATCH_NONE = 0,
    DISPATCH_TIMEOUT,
    DISPATCH_RESMGR,
    DISPATCH_MESSAGE,
    DISPATCH_SELECT,
    DISPATCH_SIGWAIT,
    DISPATCH_MAX
};

dispatch_t *dispatch_create(void);
dispatch_t *dispatch_create_channel(int chid, unsigned flags);
int dispatch_destroy(dispatch_t *dpp);
dispatch_context_t *dispatch_context_alloc(dispatch_t *dpp);
void dispatch_context_free(dispatch_context_t *ctp);
dispatch_context_t *dispatch_block(dispatch_context_t *ctp);
int dispatch_handler(dispatch_context_t *ctp);
void dispatch_unblock(dispatch_context_t *ctp);
int dispatch_timeout(dispatch_t *dpp, struct timespec *reltime);
int message_attach(dispatch_t *dpp, message_attr_t *attr, int low, int high,
                   int (*func)(message_context_t *ctp, int code, unsigned flags, void *handle),
                   void *handle);
int message_detach(dispatch_t *dpp, int low, int high, int flags);
int message_connect(dispatch_t *dpp, int flags);
int pulse_attach(dispatch_t *dpp, int flags, int code,
                 int (*func)(message_context_t *ctp, int code, unsigned flags, void *handle),
                 void *handle);
int pulse_detach(dispatch_t *dpp, int code, int flags);

/* ---- select_attach ---- */
/*
 * select_attach(dpp, attr, fd, flags, func, handle): dispatch_handler calls
 * func(ctp, fd, met, handle) when fd -- a Linux file descriptor (pipe, socket, eventfd, ...),
 * watched by epoll in a thread of the library's -- is readable (SELECT_FLAG_READ), writable
 * (SELECT_FLAG_WRITE) or has an exception (SELECT_FLAG_EXCEPT), and returns what it returned.
 * The wake-up is QNX's: a pulse of code SI_NOTIFY on the handle's channel. The fd is armed
 * again after each call (QNX's default: SELECT_FLAG_REARM is redundant) unless
 * SELECT_FLAG_NOREARM, which arms it once, until select_rearm(ctp, fd) (which returns NULL:
 * the pulse follows when the fd is ready). func gets the dispatch context the pulse came in,
 * whose start select_context_t lays out; fd and the conditions met are its arguments (ctp->fd
 * and ctp->flags are not filled). -1 and errno: EINVAL (NULL dpp or func, attr->flags set,
 * unknown flags, no condition, fd < 0, fd not attached for select_detach), EBADF (fd not
 * open), EPERM (a regular file or directory: epoll cannot watch it), EBUSY (fd attached to
 * this handle already), ENOMEM, EAGAIN.
 */
#define SELECT_FLAG_READ 0x10000000   /* _NOTIFY_COND_INPUT */
#define SELECT_FLAG_WRITE 0x20000000  /* _NOTIFY_COND_OUTPUT */
#define SELECT_FLAG_EXCEPT 0x40000000 /* _NOTIFY_COND_OBAND */
#define SELECT_FLAG_REARM 0x00000001     /* the default (redundant) */
#define SELECT_FLAG_SRVEXCEPT 0x00000002 /* accepted; a Linux fd has no server to die */
#define SELECT_FLAG_NOREARM 0x00000004   /* wins over SELECT_FLAG_REARM */

#ifndef SI_NOTIFY
#define SI_NOTIFY (-6) /* the select pulse's code */
#endif

typedef struct _select_attr {
    unsigned flags; /* none defined: 0 */
    unsigned reserved[3];
} select_attr_t;

/* The start of resmgr_context_t (64-bit: msg at 72, dpp at 80, fd at 88, sizeof 128). The info
 * union holds the struct _msg_info alone (glibc's siginfo_t would move msg and dpp). */
typedef struct _select_context {
    int rcvid;
    union {
        struct _msg_info msginfo;
    } info;
    resmgr_iomsgs_t *msg;
    void *dpp;
    int fd;       /* not filled: func's argument */
    unsigned tid;
    unsigned reserved;
    int flags;    /* not filled: func's argument */
    int reserved2[2];
    iov_t iov[1];
} select_context_t;

int select_attach(void *dpp, select_attr_t *attr, int fd, unsigned flags,
                  int (*func)(select_context_t *ctp, int fd, unsigned flags, void *handle),
                  void *handle);
int select_detach(void *dpp, int fd);
dispatch_context_t *select_rearm(dispatch_context_t *ctp, int fd);
/* ---- end select_attach ---- */

/* ---- resmgr ---- */
/*
 * resmgr_attr_t: what resmgr_attach (<sys/resmgr.h>) asks of the handle's contexts, and
 * other_func, the handler of I/O messages no table slot takes (with
 * RESMGR_FLAG_ATTACH_OTHERFUNC). 64-bit layout: msg_max_size at 8, other_func at 16,
 * sizeof 40. msg_max_size 0: the resource-manager layer's default (2088, QNX 7.1's).
 */
typedef struct _resmgr_attr {
    unsigned flags;        /* RESMGR_FLAG_* */
    unsigned nparts_max;   /* iov entries a context needs (0: 1) */
    size_t msg_max_size;   /* receive buffer a context needs (0: 2088) */
    int (*other_func)(resmgr_context_t *ctp, void *msg);
    unsigned reserved[4];
} resmgr_attr_t;

#define RESMGR_FLAG_NO_DEFAULT_FUNC 0x00000001 /* QNX: "not implemented"; accepted, ignored */
#define RESMGR_FLAG_ATTACH_LOCAL 0x00000002    /* a link with no path (ConnectAttach to it) */
#define RESMGR_FLAG_ATTACH_OTHERFUNC 0x00000004 /* other_func is used */
#define RESMGR_FLAG_CROSS_ENDIAN 0x00000008    /* accepted, ignored (one machine) */

/*
 * The loop of a simple resource manager (QNX's special case of the dispatch calls):
 *   ctp = resmgr_context_alloc(dpp);
 *   for (;;) { if ((ctp = resmgr_block(ctp)) == NULL) break; resmgr_handler(ctp); }
 * resmgr_context_alloc needs a resmgr_attach on dpp first (NULL and EINVAL otherwise, as
 * for a NULL or destroyed dpp). resmgr_block returns ctp, or NULL and errno: EINVAL (ctp
 * NULL, its handle destroyed or without the resource-manager layer), ETIMEDOUT (the
 * handle's dispatch_timeout ran out), ESRCH (the channel destroyed), EINTR. resmgr_handler
 * serves the layer's messages (_IO_BASE.._IO_MAX) and its disconnect and unblock pulses;
 * other messages and pulses go to other_func (RESMGR_FLAG_ATTACH_OTHERFUNC), else a message
 * is answered ENOSYS and a pulse dropped: message_attach, pulse_attach and select_attach
 * handlers are dispatch_handler's only. It returns 0, or -1 (a timeout's context, a pulse
 * nothing took, a failed reply; EINVAL as resmgr_block's). resmgr_unblock wakes one blocked
 * thread with a _PULSE_CODE_UNBLOCK pulse of value 0 (errno EINVAL as above);
 * resmgr_context_free frees a context (NULL: nothing).
 */
resmgr_context_t *resmgr_context_alloc(dispatch_t *dpp);
resmgr_context_t *resmgr_block(resmgr_context_t *ctp);
void resmgr_unblock(resmgr_context_t *ctp);
int resmgr_handler(resmgr_context_t *ctp);
void resmgr_context_free(resmgr_context_t *ctp);
/* ---- end resmgr ---- */

/* ---------------------------------------------------------------- names */

/* What name_attach returns (64-bit layout: dpp at 0, chid at 8, mntid at 12, sizeof 24). */
typedef struct _name_attach {
    dispatch_t *dpp;
    int chid;
    int mntid;
    int zero[2];
} name_attach_t;

/* name_attach: in the global namespace (else the process's kernel's local one). */
#define NAME_FLAG_ATTACH_GLOBAL 0x00000002
/* name_detach: keep the channel (else it is destroyed with the name). */
#define NAME_FLAG_DETACH_SAVEDPP 0x00000001

name_attach_t *name_attach(dispatch_t *dpp, const char *path, unsigned flags);
int name_detach(name_attach_t *attach, unsigned flags);
int name_open(const char *name, int flags);
int name_close(int fd);


/* ---------------------------------------------------------------- thread pools */

/*
 * A thread pool runs block_func/handler_func loops in threads of the program: each thread
 * allocates a context (context_alloc(handle)), then loops ctp = block_func(ctp);
 * handler_func(ctp). thread_pool_start creates the first thread, which creates the others up to
 * lo_water; when fewer than lo_water are blocked, increment more are created (never more than
 * hi_water blocked, never more than maximum in all); a thread whose fellows already block
 * hi_water strong leaves after its handler (context_free). thread_pool_destroy calls
 * unblock_func once per thread and waits for all of them to leave. hi_water above maximum and
 * lo_water above hi_water are lowered at start, as QNX does.
 *
 * THREAD_POOL_PARAM_T (the context type, default dispatch_context_t) and THREAD_POOL_HANDLE_T
 * (the handle type, default dispatch_t) may be defined before the first include of this
 * header, for pools over contexts of the program's own.
 *
 * thread_pool_start is a macro over qnxsim_thread_pool_start: with POOL_FLAG_EXIT_SELF the
 * caller pthread_exit's once the pool is started; with POOL_FLAG_USE_SELF it serves in the pool
 * and pthread_exit's when it leaves it; without either it returns 0 (EOK), or -1 and errno.
 */

#define POOL_FLAG_EXIT_SELF 0x00000001
#define POOL_FLAG_USE_SELF 0x00000002
#define POOL_FLAG_EXITING 0x00000004  /* QNX's internal flag: refused (EINVAL) */
#define POOL_FLAG_CHANGING 0x00000008 /* QNX's internal flag: refused (EINVAL) */
#define POOL_FLAG_RESERVE 0x00000010  /* QNX's internal flag: refused (EINVAL) */
#define POOL_FLAG_ERROR 0x00000020    /* QNX's internal flag: refused (EINVAL) */
#define POOL_FLAG_CALL_BLOCK_ERRF 0x00000040  /* error_func when block_func returns NULL */
#define POOL_FLAG_CALL_HANDLE_ERRF 0x00000080 /* error_func when handler_func returns -1 */

/* error_func's reasons (a failed context_alloc is always reported). */
#define POOL_ERROR_BLOCK 0x00000001u
#define POOL_ERROR_HANDLER 0x00000002u
#define POOL_ERROR_CONTEXT 0x00000004u

typedef struct _thread_pool thread_pool_t;

#ifndef THREAD_POOL_PARAM_T
#define THREAD_POOL_PARAM_T dispatch_context_t
#endif
#ifndef THREAD_POOL_HANDLE_T
#define THREAD_POOL_HANDLE_T dispatch_t
#endif

/* QNX 7.1's 64-bit layout: lo_water at 56, tid_name at 64, error_func at 72, sizeof 104. */
typedef struct _thread_pool_attr {
    THREAD_POOL_HANDLE_T *handle;
    THREAD_POOL_PARAM_T *(*block_func)(THREAD_POOL_PARAM_T *ctp);
    void (*unblock_func)(THREAD_POOL_PARAM_T *ctp);   /* may be NULL */
    int (*handler_func)(THREAD_POOL_PARAM_T *ctp);
    THREAD_POOL_PARAM_T *(*context_alloc)(THREAD_POOL_HANDLE_T *handle);
    void (*context_free)(THREAD_POOL_PARAM_T *ctp);
    pthread_attr_t *attr;                             /* the threads' attributes (NULL) */
    unsigned short lo_water;
    unsigned short increment;
    unsigned short hi_water;
    unsigned short maximum;                           /* 0: EINVAL */
    const char *tid_name;                             /* the threads' name (NULL) */
    void (*error_func)(unsigned flags, int err_value); /* may be NULL */
    unsigned reserved[5];
} thread_pool_attr_t;

/* created at 104, sizeof 136; created and waiting follow the pool (read, do not write). */
struct _thread_pool {
    thread_pool_attr_t pool_attr;
    unsigned created;
    unsigned waiting;
    unsigned flags;
    void *props;
    unsigned reserved[2];
};

#define THREAD_POOL_CONTROL_HIWATER 0x0001
#define THREAD_POOL_CONTROL_LOWATER 0x0002
#define THREAD_POOL_CONTROL_MAXIMUM 0x0004
#define THREAD_POOL_CONTROL_INCREMENT 0x0008
#define THREAD_POOL_CONTROL_NONBLOCK 0x4000

thread_pool_t *thread_pool_create(thread_pool_attr_t *attr, unsigned flags);
int qnxsim_thread_pool_start(void *pool);
int thread_pool_destroy(thread_pool_t *pool);
int thread_pool_control(thread_pool_t *pool, thread_pool_attr_t *attr, _Uint16t lower,
                        _Uint16t upper, unsigned flags);
int thread_pool_limits(thread_pool_t *pool, int lowater, int hiwater, int maximum, int increment,
                       unsigned flags);

/* thread_pool_start(pool): QNX's, with the caller's pthread_exit where QNX's does it. */
static inline int qnxsim_thread_pool_start_or_exit(void *pool) {
    int r = qnxsim_thread_pool_start(pool);
    if (r == 1) {
        pthread_exit(NULL);
    }
    return r;
}
#define thread_pool_start qnxsim_thread_pool_start_or_exit

#ifdef __cplusplus
}
#endif

#endif
