/*
 * <sys/dispatch.h>: QNX Neutrino's names (name_attach, name_detach, name_open, name_close) in
 * QNX 7.1's signatures, over libqnxsim's simulated kernel (QNX Neutrino message passing on
 * Linux). Written for this project from QNX's public documentation; not QNX's header.
 *
 * A name lives in the kernel: every program of a kernel (its own, or the one QNXSIM_KERNEL
 * names) sees it, and it goes with its process. A server name_attach'es a name and receives on
 * attach->chid; a client name_open's it and gets a side-channel coid, after the server answered
 * the struct _io_connect (<sys/iomsg.h>) the open sends it with MsgReply(rcvid, EOK, NULL, 0).
 * name_close sends nothing: the server gets _PULSE_CODE_DISCONNECT once the client's last
 * connection to it goes. Each call returns -1 (name_attach: NULL) and sets errno on failure.
 *
 * Where this library differs from QNX's: the dispatch layer is not there yet, so dispatch_t is
 * only declared, name_attach's dpp must be NULL (else EINVAL) and attach->dpp is always NULL.
 */
#ifndef _QNXSIM_SYS_DISPATCH_H
#define _QNXSIM_SYS_DISPATCH_H

#include <sys/iomsg.h>
#include <sys/neutrino.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The dispatch handle (opaque; not there yet: always NULL here). */
struct _dispatch;
typedef struct _dispatch dispatch_t;

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

#ifdef __cplusplus
}
#endif

#endif
