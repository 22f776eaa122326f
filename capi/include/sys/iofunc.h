/*
 * <sys/iofunc.h>: QNX Neutrino's POSIX layer for resource managers (libqnxsim, QNX Neutrino
 * on Linux), in QNX 7.1's signatures and 64-bit layouts: the attribute structure
 * (iofunc_attr_t, 128 bytes), the OCB (iofunc_ocb_t, 40), the mount (iofunc_mount_t, 80), and
 * the default handlers that give a resource manager POSIX's open, read, write, close, lseek,
 * fstat, devctl and ionotify rules. Written for this project from QNX's public
 * documentation; not QNX's header.
 *
 * IOFUNC_ATTR_T, IOFUNC_OCB_T and IOFUNC_MOUNT_T may be defined before the first include, to
 * structs of the program's own whose first member is iofunc_attr_t, iofunc_ocb_t,
 * iofunc_mount_t; a mount's funcs->ocb_calloc/ocb_free then allocate the bigger OCBs. This
 * header included before <sys/resmgr.h> (or <sys/dispatch.h>) makes the tables' handle and
 * OCB types (RESMGR_HANDLE_T, RESMGR_OCB_T) IOFUNC_ATTR_T and IOFUNC_OCB_T.
 *
 * Where it differs from QNX's:
 * - iofunc_attr_t's lock (at 32, 8 bytes, as QNX's pthread_mutex_t) is libqnxsim's own
 *   recursive lock (a futex word keyed by the owner's Linux tid, and a count): glibc's
 *   pthread_mutex_t is 40 bytes and would not fit QNX's layout. Lock it with
 *   iofunc_attr_lock/unlock/trylock, not pthread_mutex_*; zeroed, it is unlocked.
 * - nlink and rdev (and the mount's dev) are 32-bit, as QNX's nlink_t and dev_t (Linux's are
 *   64-bit); the stat reply (iofunc_stat) is Linux's struct stat.
 * - iofunc_notify_event_t's event is the C struct sigevent (glibc's size, 64 bytes).
 * - Credentials (struct _client_info): the kernel keeps none, so iofunc_client_info
 *   (ConnectClientInfo(ctp->info.scoid, info, NGROUPS_MAX_QNX), as QNX's) gives the client's
 *   Linux ids from /proc/<pid>; for a context not filled by a receive, those of the Linux
 *   process ctp->info.pid. ioflag's O_REALIDS is not looked at (Linux has none).
 */
#ifndef _QNXSIM_SYS_IOFUNC_H
#define _QNXSIM_SYS_IOFUNC_H

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifndef IOFUNC_ATTR_T
#define IOFUNC_ATTR_T struct _iofunc_attr
#endif
#ifndef IOFUNC_OCB_T
#define IOFUNC_OCB_T struct _iofunc_ocb
#endif
#ifndef IOFUNC_MOUNT_T
#define IOFUNC_MOUNT_T struct _iofunc_mount
#endif
#ifndef RESMGR_HANDLE_T
#define RESMGR_HANDLE_T IOFUNC_ATTR_T
#endif
#ifndef RESMGR_OCB_T
#define RESMGR_OCB_T IOFUNC_OCB_T
#endif

/* Declared before the tables' prototypes use them (a program's own IOFUNC_ATTR_T or
 * IOFUNC_OCB_T struct wants the same: "struct device; #define IOFUNC_ATTR_T struct device"). */
struct _iofunc_attr;
struct _iofunc_ocb;
struct _iofunc_mount;

#include <sys/resmgr.h>

#ifdef __cplusplus
extern "C" {
#endif

struct _iofunc_mmap_list;
struct _iofunc_lock_list;

/* libqnxsim's attribute lock (8 bytes, in QNX's pthread_mutex_t's place): the owner's Linux
 * tid (with a waiters bit) and the recursion count. All zero: unlocked. */
typedef struct _qnxsim_attr_lock {
    volatile unsigned _owner;
    unsigned _count;
} qnxsim_attr_lock_t;

/* 64-bit layout: lock at 32, flags at 40, nbytes at 56, mode at 104, sizeof 128. */
typedef struct _iofunc_attr {
    IOFUNC_MOUNT_T *mount;                /* NULL: the defaults */
    struct _iofunc_mmap_list *mmap_list;
    struct _iofunc_lock_list *lock_list;
    void *acl;
    __extension__ union {
        void *lockobj;
        qnxsim_attr_lock_t lock;          /* QNX: pthread_mutex_t */
    };
    _Uint32t flags;                       /* IOFUNC_ATTR_* */
    _Uint16t count;                       /* OCBs open on it */
    _Uint16t rcount;                      /* ... for reading */
    _Uint16t wcount;                      /* ... for writing */
    _Uint16t rlocks;                      /* ... denying reads (SH_DENYRD, SH_DENYRW) */
    _Uint16t wlocks;                      /* ... denying writes (SH_DENYWR, SH_DENYRW) */
    _Uint16t reserved;
    off_t nbytes;                         /* the size */
    ino_t inode;
    uid_t uid;
    gid_t gid;
    time_t mtime;
    time_t atime;
    time_t ctime;
    mode_t mode;                          /* S_IF* | permissions */
    _Uint32t nlink;                       /* QNX's nlink_t (32 bits) */
    _Uint32t rdev;                        /* QNX's dev_t (32 bits) */
    unsigned mtime_ns;
    unsigned atime_ns;
    unsigned ctime_ns;
} iofunc_attr_t;

/* 64-bit layout: offset at 16, sflag at 24, sizeof 40. */
typedef struct _iofunc_ocb {
    IOFUNC_ATTR_T *attr;
    _Int32t ioflag;                       /* the open's flags, access bits as _IO_FLAG_* */
    off_t offset;                         /* the position */
    _Uint16t sflag;                       /* SH_* */
    _Uint16t flags;                       /* IOFUNC_OCB_* */
    void *reserved;
} iofunc_ocb_t;

/* A mount's optional overrides. */
typedef struct _iofunc_funcs {
    unsigned nfuncs;                      /* _IOFUNC_NFUNCS */
    IOFUNC_OCB_T *(*ocb_calloc)(resmgr_context_t *ctp, IOFUNC_ATTR_T *attr);
    void (*ocb_free)(IOFUNC_OCB_T *ocb);
    int (*attr_lock)(IOFUNC_ATTR_T *attr);
    int (*attr_unlock)(IOFUNC_ATTR_T *attr);
    int (*attr_trylock)(IOFUNC_ATTR_T *attr);
} iofunc_funcs_t;
#define _IOFUNC_NFUNCS                                                                     \
    ((unsigned)((sizeof(iofunc_funcs_t) - sizeof(unsigned)) / sizeof(void *)))

/* 64-bit layout: funcs at 16, size at 32, sizeof 80. */
typedef struct _iofunc_mount {
    _Uint32t flags;                       /* IOFUNC_MOUNT_* and _MOUNT_* */
    _Uint32t conf;                        /* IOFUNC_PC_* */
    _Uint32t dev;                         /* QNX's dev_t (32 bits) */
    _Int32t blocksize;
    iofunc_funcs_t *funcs;
    void *power;
    size_t size;                          /* set by iofunc_mount_init */
    _Uint32t ext_flags;
    _Uint32t timeres;
    _Uint64t reserved[4];
} iofunc_mount_t;

/* iofunc_attr_t's flags. */
#define IOFUNC_ATTR_MTIME 0x00000001      /* mtime to be set to now */
#define IOFUNC_ATTR_ATIME 0x00000002
#define IOFUNC_ATTR_CTIME 0x00000004
#define IOFUNC_ATTR_DIRTY_SIZE 0x00000010
#define IOFUNC_ATTR_DIRTY_OWNER 0x00000020
#define IOFUNC_ATTR_DIRTY_TIME 0x00000040
#define IOFUNC_ATTR_DIRTY_MODE 0x00000080
#define IOFUNC_ATTR_DIRTY_NLINK 0x00000100
#define IOFUNC_ATTR_DIRTY_RDEV 0x00000200
#define IOFUNC_ATTR_DIRTY_MASK 0x00000FF0
#define IOFUNC_ATTR_SYNTHETIC 0x00008000
#define IOFUNC_ATTR_RSVD 0x0000FFFF
#define IOFUNC_ATTR_PRIVATE 0xFFFF0000

/* iofunc_ocb_t's flags. */
#define IOFUNC_OCB_PRIVILEGED 0x0001
#define IOFUNC_OCB_MMAP 0x0002
#define IOFUNC_OCB_FLAGS_PRIVATE 0xF000

/* iofunc_ocb_detach's result. */
#define IOFUNC_OCB_LAST_INUSE 0x0001
#define IOFUNC_OCB_LAST_READER 0x0002
#define IOFUNC_OCB_LAST_WRITER 0x0004
#define IOFUNC_OCB_LAST_RDLOCK 0x0008
#define IOFUNC_OCB_LAST_WRLOCK 0x0010

/* iofunc_mount_t's flags and conf. */
#define IOFUNC_MOUNT_FLAGS 0x000000FF
#define IOFUNC_MOUNT_32BIT 0x00000100
#define IOFUNC_MOUNT_FLAGS_PRIVATE 0xFFFFF000
#ifndef _MOUNT_READONLY
#define _MOUNT_READONLY 0x00000001
#endif
#ifndef _MOUNT_NOATIME
#define _MOUNT_NOATIME 0x00000080
#endif
#define IOFUNC_PC_CHOWN_RESTRICTED 0x00000001
#define IOFUNC_PC_NO_TRUNC 0x00000002
#define IOFUNC_PC_SYNC_IO 0x00000004
#define IOFUNC_PC_LINK_DIR 0x00000008

/* Notify lists: a resource manager keeps iofunc_notify_t notify[3] (input, output, oband). */
typedef struct _iofunc_notify_event {
    struct _iofunc_notify_event *next;
    int rcvid;
    int scoid;
    int cnt;
    struct sigevent event;                /* glibc's struct sigevent here */
    unsigned flags;
    int coid;
} iofunc_notify_event_t;

typedef struct _iofunc_notify {
    int cnt;                              /* the lowest armed threshold (INT_MAX: none) */
    struct _iofunc_notify_event *list;
} iofunc_notify_t;

#define IOFUNC_NOTIFY_INPUT 0
#define IOFUNC_NOTIFY_OUTPUT 1
#define IOFUNC_NOTIFY_OBAND 2
#define IOFUNC_NOTIFY_RDNORM IOFUNC_NOTIFY_INPUT
#define IOFUNC_NOTIFY_WRNORM IOFUNC_NOTIFY_OUTPUT
#define IOFUNC_NOTIFY_RDBAND IOFUNC_NOTIFY_OBAND
#define IOFUNC_NOTIFY_PRI 3
#define IOFUNC_NOTIFY_WRBAND 4
#define IOFUNC_NOTIFY_ERR 5
#define IOFUNC_NOTIFY_HUP 6
#define IOFUNC_NOTIFY_NVAL 12

#define IOFUNC_NOTIFY_INIT(nop)                                                            \
    ((nop)[0].cnt = (nop)[1].cnt = (nop)[2].cnt = INT_MAX,                                 \
     (nop)[0].list = (nop)[1].list = (nop)[2].list = NULL)
#define IOFUNC_NOTIFY_DISARM(nop, index) ((nop)[index].cnt = INT_MAX)
#define IOFUNC_NOTIFY_INPUT_CHECK(nop, count, tran)                                        \
    ((nop)[IOFUNC_NOTIFY_INPUT].cnt <= (count) && ((nop)[IOFUNC_NOTIFY_INPUT].cnt || (tran)))
#define IOFUNC_NOTIFY_OUTPUT_CHECK(nop, count) ((nop)[IOFUNC_NOTIFY_OUTPUT].cnt <= (count))
#define IOFUNC_NOTIFY_OBAND_CHECK(nop, count, tran)                                        \
    ((nop)[IOFUNC_NOTIFY_OBAND].cnt <= (count) && ((nop)[IOFUNC_NOTIFY_OBAND].cnt || (tran)))

/* A client's identity: struct _client_info and struct _cred_info are <sys/neutrino.h>'s. */

/* Set-up. */
void iofunc_func_init(unsigned nconnect, resmgr_connect_funcs_t *connect, unsigned nio,
                      resmgr_io_funcs_t *io);
void iofunc_attr_init(iofunc_attr_t *attr, mode_t mode, iofunc_attr_t *dattr,
                      struct _client_info *info);
int iofunc_mount_init(iofunc_mount_t *mountp, size_t size);
int iofunc_attr_lock(iofunc_attr_t *attr);
int iofunc_attr_unlock(iofunc_attr_t *attr);
int iofunc_attr_trylock(iofunc_attr_t *attr);

/* The default handlers (iofunc_func_init puts them in the tables). */
int iofunc_open_default(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *attr,
                        void *extra);
int iofunc_read_default(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb);
int iofunc_write_default(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb);
int iofunc_close_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb);
int iofunc_close_dup_default(resmgr_context_t *ctp, io_close_t *msg, iofunc_ocb_t *ocb);
int iofunc_stat_default(resmgr_context_t *ctp, io_stat_t *msg, iofunc_ocb_t *ocb);
int iofunc_devctl_default(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb);
int iofunc_lseek_default(resmgr_context_t *ctp, io_lseek_t *msg, iofunc_ocb_t *ocb);
int iofunc_unblock_default(resmgr_context_t *ctp, io_pulse_t *msg, iofunc_ocb_t *ocb);
int iofunc_lock_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb);
int iofunc_unlock_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb);

/* Their parts, for handlers of the program's own. */
int iofunc_open(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *attr,
                iofunc_attr_t *dattr, struct _client_info *info);
int iofunc_ocb_attach(resmgr_context_t *ctp, io_open_t *msg, iofunc_ocb_t *ocb,
                      iofunc_attr_t *attr, const resmgr_io_funcs_t *io_funcs);
int iofunc_ocb_detach(resmgr_context_t *ctp, iofunc_ocb_t *ocb);
IOFUNC_OCB_T *iofunc_ocb_calloc(resmgr_context_t *ctp, IOFUNC_ATTR_T *attr);
void iofunc_ocb_free(IOFUNC_OCB_T *ocb);
int iofunc_close_ocb(resmgr_context_t *ctp, iofunc_ocb_t *ocb, iofunc_attr_t *attr);
int iofunc_read_verify(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb,
                       int *nonblock);
int iofunc_write_verify(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb,
                        int *nonblock);
int iofunc_stat(resmgr_context_t *ctp, iofunc_attr_t *attr, struct stat *pstat);
int iofunc_lseek(resmgr_context_t *ctp, io_lseek_t *msg, iofunc_ocb_t *ocb,
                 iofunc_attr_t *attr);
int iofunc_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb,
                  iofunc_attr_t *attr);
int iofunc_time_update(iofunc_attr_t *attr);
int iofunc_check_access(resmgr_context_t *ctp, const iofunc_attr_t *attr, mode_t checkmode,
                        const struct _client_info *info);
int iofunc_client_info(resmgr_context_t *ctp, int ioflag, struct _client_info *info);
int iofunc_client_info_ext(resmgr_context_t *ctp, int ioflag, struct _client_info **info);
int iofunc_client_info_ext_free(struct _client_info **info);

/* ionotify: arm, trigger, remove. */
int iofunc_notify(resmgr_context_t *ctp, io_notify_t *msg, iofunc_notify_t *nop, int trig,
                  const int *notifycounts, int *armed);
void iofunc_notify_trigger(iofunc_notify_t *nop, int count, int index);
void iofunc_notify_trigger_strict(resmgr_context_t *ctp, iofunc_notify_t *nop, int count,
                                  int index);
void iofunc_notify_remove(resmgr_context_t *ctp, iofunc_notify_t *nop);
void iofunc_notify_remove_strict(resmgr_context_t *ctp, iofunc_notify_t *nop, int lim);

#ifdef __cplusplus
}
#endif

#endif
