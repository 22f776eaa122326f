/*
 * <sys/iomgr.h>: ionotify() and its _NOTIFY_* constants. ionotify(fd, action, flags, event)
 * sends an _IO_NOTIFY to the resource manager behind fd: action _NOTIFY_ACTION_*, flags the
 * _NOTIFY_COND_* wanted, event what to deliver when one is met (NULL: none). It returns the
 * conditions met now, or -1 and errno. Written for this project from QNX's documented
 * interface. <sys/iomsg.h> includes it, as QNX's does.
 */
#ifndef QNXSIM_SYS_IOMGR_H
#define QNXSIM_SYS_IOMGR_H

#include <signal.h>
#include <sys/siginfo.h>
#include <sys/target_nto.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _NOTIFY_ACTION_TRANARM 0x0
#define _NOTIFY_ACTION_CONDARM 0x1
#define _NOTIFY_ACTION_POLL 0x2
#define _NOTIFY_ACTION_POLLARM 0x3
#define _NOTIFY_ACTION_MASK 0x3
#define _NOTIFY_COND_INPUT 0x10000000
#define _NOTIFY_COND_OUTPUT 0x20000000
#define _NOTIFY_COND_OBAND 0x40000000
#define _NOTIFY_COND_EXTEN ((_Int32t)0x80000000u)
#define _NOTIFY_COND_MASK ((_Int32t)0xF0000000u)
#define _NOTIFY_DATA_MASK (~_NOTIFY_COND_MASK)
#define _NOTIFY_CONDE_RDNORM 0x00000001
#define _NOTIFY_CONDE_WRNORM 0x00000002
#define _NOTIFY_CONDE_RDBAND 0x00000004
#define _NOTIFY_CONDE_PRI 0x00000008
#define _NOTIFY_CONDE_WRBAND 0x00000010
#define _NOTIFY_CONDE_ERR 0x00000020
#define _NOTIFY_CONDE_HUP 0x00000040
#define _NOTIFY_CONDE_NVAL 0x00001000
#define _NOTIFY_MAXCOND 15

int ionotify(int fd, int action, int flags, const struct sigevent *event);

#ifdef __cplusplus
}
#endif

#endif
