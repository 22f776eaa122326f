/*
 * <sys/iomsg.h>: the I/O message type numbers and the connect message (libqnxsim, QNX
 * Neutrino on Linux). Programs number their own messages from _IO_MAX + 1 and answer
 * _IO_CONNECT: a name_open reaches a name_attach server as a struct _io_connect (subtype
 * _IO_CONNECT_OPEN, file_type _FTYPE_NAME), answered with MsgReply(rcvid, EOK, NULL, 0).
 * Written for this project from QNX's public documentation; not QNX's header.
 */
#ifndef _QNXSIM_SYS_IOMSG_H
#define _QNXSIM_SYS_IOMSG_H

#include <sys/ftype.h>
#include <sys/neutrino.h>

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

#endif
