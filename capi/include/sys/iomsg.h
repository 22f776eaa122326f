/*
 * <sys/iomsg.h>: the I/O message type numbers (libqnxsim, QNX Neutrino on Linux). Programs
 * number their own messages from _IO_MAX + 1 and answer _IO_CONNECT. Written for this
 * project from QNX's public documentation; not QNX's header.
 */
#ifndef _QNXSIM_SYS_IOMSG_H
#define _QNXSIM_SYS_IOMSG_H

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

#endif
