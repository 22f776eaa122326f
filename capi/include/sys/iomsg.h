/*
 * <sys/iomsg.h>: the I/O message type numbers and the messages of QNX's I/O protocol
 * (libqnxsim, QNX Neutrino on Linux): the connect message and its unions (io_open_t, ...),
 * and what a client's read, write, close, lseek, fstat, devctl and ionotify send on an open
 * file descriptor (io_read_t, io_write_t, io_close_t, io_lseek_t, io_stat_t, io_devctl_t,
 * io_notify_t, io_msg_t), in QNX 7's 64-bit layouts. Programs number their own messages from
 * _IO_MAX + 1 and answer _IO_CONNECT: a name_open reaches a name_attach server as a
 * struct _io_connect (subtype _IO_CONNECT_OPEN, file_type _FTYPE_NAME), answered with
 * MsgReply(rcvid, EOK, NULL, 0). A resource manager (<sys/resmgr.h>) gets them in its
 * handlers.
 *
 * One difference from QNX: io_stat_t's reply (o) is Linux's struct stat.
 * Written for this project from QNX's public documentation; not QNX's header.
 */
#ifndef _QNXSIM_SYS_IOMSG_H
#define _QNXSIM_SYS_IOMSG_H

#include <sys/ftype.h>
#include <sys/iomgr.h>
#include <sys/neutrino.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

enum _msg_bases {
    _IO_BASE = 0x100,
    _IO_MAX = 0x1FF
};

enum _io__Uint16types {
    _IO_CONNECT = _IO_BASE,
    _IO_READ,
    _IO_WRITE,
    _IO_RSVD_CLOSE_OCB,
    _IO_STAT,
    _IO_NOTIFY,
    _IO_DEVCTL,
    _IO_RSVD_UNBLOCK,
    _IO_PATHCONF,
    _IO_LSEEK,
    _IO_CHMOD,
    _IO_CHOWN,
    _IO_UTIME,
    _IO_OPENFD,
    _IO_FDINFO,
    _IO_LOCK,
    _IO_SPACE,
    _IO_SHUTDOWN,
    _IO_MMAP,
    _IO_MSG,
    _IO_RSVD,
    _IO_DUP,
    _IO_CLOSE,
    _IO_RSVD_LOCK_OCB,
    _IO_RSVD_UNLOCK_OCB,
    _IO_SYNC,
    _IO_POWER,
    _IO_ACL,
    _IO_RSVD_PAUSE,
    _IO_RSVD_UNPAUSE,
    _IO_READ64,
    _IO_WRITE64,
    _IO_NOTIFY64,
    _IO_UTIME64
};

#define _IO_COMBINE_FLAG 0x8000

/* ---------------------------------------------------------------- connect messages */

enum _io_connect_subtypes {
    _IO_CONNECT_COMBINE,
    _IO_CONNECT_COMBINE_CLOSE,
    _IO_CONNECT_OPEN,
    _IO_CONNECT_UNLINK,
    _IO_CONNECT_RENAME,
    _IO_CONNECT_MKNOD,
    _IO_CONNECT_READLINK,
    _IO_CONNECT_LINK,
    _IO_CONNECT_RSVD_UNBLOCK,
    _IO_CONNECT_MOUNT
};

enum _io_connect_extra_type {
    _IO_CONNECT_EXTRA_NONE,
    _IO_CONNECT_EXTRA_LINK,
    _IO_CONNECT_EXTRA_SYMLINK,
    _IO_CONNECT_EXTRA_MQUEUE,
    _IO_CONNECT_EXTRA_PHOTON,
    _IO_CONNECT_EXTRA_SOCKET,
    _IO_CONNECT_EXTRA_SEM,
    _IO_CONNECT_EXTRA_RESMGR_LINK,
    _IO_CONNECT_EXTRA_PROC_SYMLINK,
    _IO_CONNECT_EXTRA_RENAME,
    _IO_CONNECT_EXTRA_MOUNT,
    _IO_CONNECT_EXTRA_MOUNT_OCB,
    _IO_CONNECT_EXTRA_TYMEM
};

/* ioflag's and access's access bits: ioflag is the client's oflag + 1 in them. */
#define _IO_FLAG_RD 0x00000001
#define _IO_FLAG_WR 0x00000002
#define _IO_FLAG_MASK 0x00000003

#define _IO_CONNECT_EFLAG_DIR 0x01
#define _IO_CONNECT_EFLAG_DOT 0x02
#define _IO_CONNECT_EFLAG_DOTDOT 0x04

/* Every connect message (64-bit layout: path at 40, sizeof 44). */
struct _io_connect {
    _Uint16t type;       /* _IO_CONNECT */
    _Uint16t subtype;    /* _IO_CONNECT_* */
    _Uint32t file_type;  /* _FTYPE_* asked for */
    _Uint16t reply_max;  /* the client's reply buffer */
    _Uint16t entry_max;
    _Uint32t key;
    _Uint32t handle;     /* the link id (name_attach's mntid) */
    _Uint32t ioflag;     /* oflag, access bits as _IO_FLAG_* */
    _Uint32t mode;
    _Uint16t sflag;      /* SH_* share mode */
    _Uint16t access;     /* _IO_FLAG_* the client may use */
    _Uint16t zero;
    _Uint16t path_len;   /* with its NUL */
    _Uint8t eflag;       /* _IO_CONNECT_EFLAG_* */
    _Uint8t extra_type;  /* _IO_CONNECT_EXTRA_* */
    _Uint16t extra_len;
    char path[1];        /* relative to the mount point, NUL-terminated */
};

/* Connect reply status bits (a plain success has none). */
#define _IO_CONNECT_RET_FLAG 0x80000000u
#define _IO_CONNECT_RET_LINK 0x00010000u
#define _IO_CONNECT_RET_FTYPE 0x00008000u
#define _IO_CONNECT_RET_TYPE_MASK 0x0001E000u
#define _IO_CONNECT_RET_UMASK 0x00020000u
#define _IO_CONNECT_RET_NOCTTY 0x00040000u
#define _IO_CONNECT_RET_CHROOT 0x00080000u
#define _IO_CONNECT_RET_MSG 0x00100000u

/* Share modes (sflag), as <share.h> has them. */
#ifndef SH_COMPAT
#define SH_COMPAT 0x0000
#define SH_DENYRW 0x0010
#define SH_DENYWR 0x0020
#define SH_DENYRD 0x0030
#define SH_DENYNO 0x0040
#endif
#ifndef SH_MASK
#define SH_MASK 0x0070
#endif

struct _io_connect_link_reply {
    _Uint32t reserved1;
    _Uint32t file_type;
    _Uint8t eflag;
    _Uint8t reserved2[1];
    _Uint16t chroot_len;
    _Uint32t umask;
    _Uint16t nentries;
    _Uint16t path_len;
};

struct _io_connect_ftype_reply {
    _Uint16t status;
    _Uint16t reserved;
    _Uint32t file_type;
};

struct _io_connect_entry {
    _Uint32t nd;
    _Int32t pid;
    _Int32t chid;
    _Uint32t handle;
    _Uint32t key;
    _Uint32t file_type;
    _Uint16t prefix_len;
    _Uint16t zero[3];
};

/* What a connect handler gets: the same three views for every subtype. */
typedef union {
    struct _io_connect connect;
    struct _io_connect_link_reply link_reply;
    struct _io_connect_ftype_reply ftype_reply;
} io_open_t;
typedef io_open_t io_unlink_t;
typedef io_open_t io_rename_t;
typedef io_open_t io_mknod_t;
typedef io_open_t io_readlink_t;
typedef io_open_t io_link_t;
typedef io_open_t io_mount_t;

typedef union _io_rename_extra {
    char path[1];
} io_rename_extra_t;

struct _io_resmgr_link_extra {
    _Uint32t nd;
    _Int32t pid;
    _Int32t chid;
    _Uint32t handle;
    _Uint32t flags;
    _Uint32t file_type;
    _Uint32t reserved[2];
};

typedef union _io_link_extra {
    struct _msg_info info;
    void *ocb;
    char path[1];
    struct _io_resmgr_link_extra resmgr;
} io_link_extra_t;

typedef struct _io_mount_extra {
    _Uint32t flags;
    _Uint32t nbytes;
    _Uint32t datalen;
    _Uint32t zero[1];
    union {
        struct {
            struct _msg_info info;
        } cl;
        struct {
            void *ocb;
            void *data;
            char *type;
            char *special;
            void *zero[4];
        } srv;
    } extra;
} io_mount_extra_t;

/* A pulse, as the unblock handlers get it. */
typedef struct _pulse io_pulse_t;

/* ---------------------------------------------------------------- messages on an fd */

/* Every one starts so; _IO_COMBINE_FLAG in combine_len: another message follows this one. */
struct _io_combine {
    _Uint16t type;
    _Uint16t combine_len;
};

/* close(): 4 bytes, no reply data. */
struct _io_close {
    _Uint16t type;
    _Uint16t combine_len;
};
typedef union {
    struct _io_close i;
} io_close_t;

/* read(): 16 bytes; the reply is the data, its status the count. */
struct _io_read {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t nbytes;
    _Uint32t xtype;
    _Uint32t zero;
};
struct _io_read64 {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t nbytes;
    _Uint32t xtype;
    _Uint32t nbytes_hi;
};
typedef union {
    struct _io_read i;
    struct _io_read64 i64;
} io_read_t;

/* write(): 16 bytes, then the data; the reply's status is the count written. */
struct _io_write {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t nbytes;
    _Uint32t xtype;
    _Uint32t zero;
};
struct _io_write64 {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t nbytes;
    _Uint32t xtype;
    _Uint32t nbytes_hi;
};
typedef union {
    struct _io_write i;
    struct _io_write64 i64;
} io_write_t;

/* The byte count of a read or write, nbytes_hi included for _IO_READ64/_IO_WRITE64. */
#define _IO_READ_GET_NBYTES(msg)                                                          \
    ((msg)->i.type == _IO_READ64                                                          \
         ? (((_Uint64t)(msg)->i64.nbytes_hi << 32) | (_Uint64t)(msg)->i64.nbytes)          \
         : (_Uint64t)(msg)->i.nbytes)
#define _IO_WRITE_GET_NBYTES(msg)                                                         \
    ((msg)->i.type == _IO_WRITE64                                                         \
         ? (((_Uint64t)(msg)->i64.nbytes_hi << 32) | (_Uint64t)(msg)->i64.nbytes)          \
         : (_Uint64t)(msg)->i.nbytes)

/* xtype: what follows the read/write header (_IO_XTYPE_OFFSET: a struct _xtype_offset). */
enum _io_msg_xtypes {
    _IO_XTYPE_NONE,
    _IO_XTYPE_READCOND,
    _IO_XTYPE_MQUEUE,
    _IO_XTYPE_TCPIP,
    _IO_XTYPE_TCPIP_MSG,
    _IO_XTYPE_OFFSET,
    _IO_XTYPE_REGISTRY,
    _IO_XTYPE_TCPIP_MSG2,
    _IO_XTYPE_TCPIP_MMSG,
    _IO_XTYPE_READDIR
};
#define _IO_XTYPE_MASK 0x000000ff
#define _IO_XFLAG_DIR_EXTRA_HINT 0x00000100
#define _IO_XFLAG_NONBLOCK 0x00004000
#define _IO_XFLAG_BLOCK 0x00008000

struct _xtype_offset {
    _Int64t offset;        /* off64_t on QNX */
};
struct _xtype_readcond {
    _Int32t min;
    _Int32t time;
    _Int32t timeout;
};

/* fstat(): 8 bytes; the reply (o) is Linux's struct stat here (QNX's own differs). */
struct _io_stat {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t format;       /* _STAT_FORM_* asked for (QNX 6: zero) */
};
typedef union {
    struct _io_stat i;
    struct stat o;
} io_stat_t;
#define _STAT_FORM_UNSET 0
#define _STAT_FORM_T32_2001 1
#define _STAT_FORM_T32_2008 2
#define _STAT_FORM_T64_2008 3
#define _STAT_FORM_SYS_2008 _STAT_FORM_T64_2008
#define _STAT_FORM_PREFERRED _STAT_FORM_T64_2008

/* devctl(): 16 bytes, then nbytes of data if the command sends some (DEVDIR_TO); the reply
 * is the 16-byte o, then the data if the command returns some (DEVDIR_FROM). */
struct _io_devctl {
    _Uint16t type;
    _Uint16t combine_len;
    _Int32t dcmd;
    _Uint32t nbytes;
    _Int32t zero;
};
struct _io_devctl_reply {
    _Uint32t zero;
    _Int32t ret_val;       /* what devctl's dev_info_ptr gets */
    _Uint32t nbytes;
    _Int32t zero2;
};
typedef union {
    struct _io_devctl i;
    struct _io_devctl_reply o;
} io_devctl_t;
/* The first byte after a devctl header: _DEVCTL_DATA(msg->i), _DEVCTL_DATA(msg->o). */
#define _DEVCTL_DATA(msg) ((void *)(sizeof(msg) + (char *)(&(msg))))

/* lseek(): 16 bytes; the reply is the new offset (8 bytes). */
struct _io_lseek {
    _Uint16t type;
    _Uint16t combine_len;
    short whence;
    _Uint16t zero;
    _Uint64t offset;
};
typedef union {
    struct _io_lseek i;
    _Uint64t o;
} io_lseek_t;

/* QNX's 32-bit event (16 bytes), what ionotify sends. Its members have struct sigevent's
 * names: sigev_notify, sigev_signo (sigev_coid), sigev_value.sival_int, sigev_code,
 * sigev_priority. */
union __sigval32 {
    _Int32t sival_int;
    _Uint32t sival_ptr;
};
struct __sigevent32 {
    _Int32t sigev_notify;
    __extension__ union {
        struct {
            _Int16t _pad[6];            /* sigev_code is _pad[4], sigev_priority _pad[5] */
        } _sigev_un;
        __extension__ struct {
            _Int32t sigev_signo;        /* sigev_coid for a pulse */
            union __sigval32 sigev_value;
            _Int16t _qnxsim_code;
            _Int16t _qnxsim_priority;
        };
    };
};

/* ionotify(): 64 bytes (the fields after event are poll()'s, with _NOTIFY_COND_EXTEN). */
struct _io_notify {
    _Uint16t type;
    _Uint16t combine_len;
    _Int32t action;        /* _NOTIFY_ACTION_* */
    _Int32t flags;         /* _NOTIFY_COND_* asked for */
    struct __sigevent32 event;
    _Int32t mgr[2];
    _Int32t flags_extra_mask;
    _Int32t flags_exten;
    _Int32t nfds;
    _Int32t fd_first;
    _Int32t nfds_ready;
    _Int64t timo;
};
struct _io_notify_reply {
    _Uint32t zero;
    _Uint32t flags;        /* _NOTIFY_COND_* met */
    _Int32t flags2;
    struct __sigevent32 event;
    _Int32t mgr[2];
    _Int32t flags_extra_mask;
    _Int32t flags_exten;
    _Int32t nfds;
    _Int32t fd_first;
    _Int32t nfds_ready;
    _Int64t timo;
};
typedef union {
    struct _io_notify i;
    struct _io_notify_reply o;
} io_notify_t;

/* The notify constants (_NOTIFY_ACTION_*, _NOTIFY_COND_*) are <sys/iomgr.h>'s, included above. */

/* A private message on a resource manager's fd (_IO_MSG): 8 bytes, then the manager's own. */
struct _io_msg {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint16t mgrid;        /* _IOMGR_* (yours: _IOMGR_PRIVATE_BASE and up) */
    _Uint16t subtype;
};
typedef union {
    struct _io_msg i;
} io_msg_t;

enum _mgr_types {
    _IOMGR_FSYS = 0x02,
    _IOMGR_TCPIP = 0x06,
    _IOMGR_PHOTON = 0x0B,
    _IOMGR_CAM = 0x0C,
    _IOMGR_PCI = 0x0D,
    _IOMGR_NETMGR = 0x0E,
    _IOMGR_REGISTRY = 0x10,
    _IOMGR_PCCARD = 0x11,
    _IOMGR_USB = 0x12,
    _IOMGR_MEDIA = 0x13,
    _IOMGR_PMM = 0x14,
    _IOMGR_DISPLAY = 0x15,
    _IOMGR_INPUT = 0x16,
    _IOMGR_PRIVATE_BASE = 0xF000,
    _IOMGR_PRIVATE_MAX = 0xFFFF
};

#ifdef __cplusplus
}
#endif

#endif
