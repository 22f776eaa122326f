/*
 * <sys/resmgr.h>: QNX Neutrino's resource-manager layer (libqnxsim, QNX Neutrino on Linux), in
 * QNX 7.1's signatures. Written for this project from QNX's public documentation; not QNX's
 * header.
 *
 * resmgr_attach(dpp, attr, path, file_type, flags, connect_funcs, io_funcs, handle) registers
 * path with the kernel's path manager and binds it to the dispatch handle: a client's open of
 * it reaches connect_funcs->open(ctp, msg, handle, extra), whose resmgr_open_bind (usually
 * through iofunc_open_default, <sys/iofunc.h>) binds the client's fd to an OCB; the client's
 * read, write, lseek, fstat, devctl, ionotify and close then reach io_funcs with that OCB,
 * between io_funcs->lock_ocb and unlock_ocb. The tables and the handle stay the program's and
 * must outlive the attach (the library keeps the pointers, as QNX's does). The server loop is
 * the dispatch layer's: dispatch_block, dispatch_handler (or a thread pool).
 *
 * A handler returns what QNX's return: EOK (a reply of ctp->status and no data), an errno
 * (MsgError), _RESMGR_NPARTS(n) (a reply of ctp->iov[0..n-1]; _RESMGR_PTR sets iov[0]),
 * _RESMGR_NOREPLY (it answered, or will answer, itself) or _RESMGR_DEFAULT (not handled:
 * other_func, else ENOSYS). A program's own lookups skip its own mountpoints unless it
 * attached them with _RESMGR_FLAG_SELF, as on QNX.
 *
 * RESMGR_HANDLE_T and RESMGR_OCB_T (the handle and OCB types of the tables) may be defined
 * before the first include; <sys/iofunc.h> included first makes them IOFUNC_ATTR_T and
 * IOFUNC_OCB_T; otherwise they are void.
 */
#ifndef _QNXSIM_SYS_RESMGR_H
#define _QNXSIM_SYS_RESMGR_H

#include <sys/types.h>

#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>

#ifndef RESMGR_HANDLE_T
#define RESMGR_HANDLE_T void
#endif
#ifndef RESMGR_OCB_T
#define RESMGR_OCB_T void
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The connect table: slot = subtype - _IO_CONNECT_OPEN; a slot >= nfuncs or NULL is
 * _RESMGR_DEFAULT. 64-bit: open at 8, sizeof 72. */
typedef struct _resmgr_connect_funcs {
    unsigned nfuncs; /* _RESMGR_CONNECT_NFUNCS */
    int (*open)(resmgr_context_t *ctp, io_open_t *msg, RESMGR_HANDLE_T *handle, void *extra);
    int (*unlink)(resmgr_context_t *ctp, io_unlink_t *msg, RESMGR_HANDLE_T *handle,
                  void *reserved);
    int (*rename)(resmgr_context_t *ctp, io_rename_t *msg, RESMGR_HANDLE_T *handle,
                  io_rename_extra_t *extra);
    int (*mknod)(resmgr_context_t *ctp, io_mknod_t *msg, RESMGR_HANDLE_T *handle,
                 void *reserved);
    int (*readlink)(resmgr_context_t *ctp, io_readlink_t *msg, RESMGR_HANDLE_T *handle,
                    void *reserved);
    int (*link)(resmgr_context_t *ctp, io_link_t *msg, RESMGR_HANDLE_T *handle,
                io_link_extra_t *extra);
    int (*unblock)(resmgr_context_t *ctp, io_pulse_t *msg, RESMGR_HANDLE_T *handle,
                   void *reserved);
    int (*mount)(resmgr_context_t *ctp, io_mount_t *msg, RESMGR_HANDLE_T *handle,
                 io_mount_extra_t *extra);
} resmgr_connect_funcs_t;

#define _RESMGR_CONNECT_NFUNCS                                                             \
    ((unsigned)((sizeof(resmgr_connect_funcs_t) - sizeof(unsigned)) / sizeof(void *)))

/* The I/O table (QNX 7's 33 slots): slot = type - _IO_READ; a slot >= nfuncs or NULL is
 * _RESMGR_DEFAULT (ENOSYS); _IO_READ64, _IO_WRITE64, _IO_NOTIFY64 and _IO_UTIME64 go to
 * their own slot if set, else to read, write, notify, utime. 64-bit: read at 8, sizeof 272.
 * The message structs the QNX library has and this one does not yet (io_pathconf_t, ...) are
 * void here: those slots take the message as the receive buffer holds it. */
typedef struct _resmgr_io_funcs {
    unsigned nfuncs; /* _RESMGR_IO_NFUNCS */
    int (*read)(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb);
    int (*write)(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb);
    int (*close_ocb)(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb);
    int (*stat)(resmgr_context_t *ctp, io_stat_t *msg, RESMGR_OCB_T *ocb);
    int (*notify)(resmgr_context_t *ctp, io_notify_t *msg, RESMGR_OCB_T *ocb);
    int (*devctl)(resmgr_context_t *ctp, io_devctl_t *msg, RESMGR_OCB_T *ocb);
    int (*unblock)(resmgr_context_t *ctp, io_pulse_t *msg, RESMGR_OCB_T *ocb);
    int (*pathconf)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*lseek)(resmgr_context_t *ctp, io_lseek_t *msg, RESMGR_OCB_T *ocb);
    int (*chmod)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*chown)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*utime)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*openfd)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*fdinfo)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*lock)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*space)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*shutdown)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*mmap)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*msg)(resmgr_context_t *ctp, io_msg_t *msg, RESMGR_OCB_T *ocb);
    int (*reserved)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*dup)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*close_dup)(resmgr_context_t *ctp, io_close_t *msg, RESMGR_OCB_T *ocb);
    int (*lock_ocb)(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb);
    int (*unlock_ocb)(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb);
    int (*sync)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*power)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*acl)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*pause)(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb);
    int (*unpause)(resmgr_context_t *ctp, io_pulse_t *msg, RESMGR_OCB_T *ocb);
    int (*read64)(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb);
    int (*write64)(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb);
    int (*notify64)(resmgr_context_t *ctp, io_notify_t *msg, RESMGR_OCB_T *ocb);
    int (*utime64)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
} resmgr_io_funcs_t;

#define _RESMGR_IO_NFUNCS                                                                  \
    ((unsigned)((sizeof(resmgr_io_funcs_t) - sizeof(unsigned)) / sizeof(void *)))

/* What a handler returns. */
#define _RESMGR_NOREPLY ((int)0x80000000u)
#define _RESMGR_DEFAULT ((int)0x80000001u)
#define _RESMGR_NPARTS(n) (-(n))
#define _RESMGR_ERRNO(e) (e)
#define _RESMGR_PTR(ctp, p, n) (SETIOV((ctp)->iov + 0, (p), (n)), _RESMGR_NPARTS(1))
#define _RESMGR_STATUS(ctp, s) ((ctp)->status = (s))

/* The reply status of a read, a write, a connect (the last with _IO_CONNECT_RET_FLAG). */
#define _IO_SET_READ_NBYTES(ctp, n) _RESMGR_STATUS(ctp, n)
#define _IO_SET_WRITE_NBYTES(ctp, n) _RESMGR_STATUS(ctp, n)
#define _IO_SET_PATHCONF_VALUE(ctp, v) _RESMGR_STATUS(ctp, v)
#define _IO_SET_CONNECT_RET(ctp, s) _RESMGR_STATUS(ctp, (long)(_IO_CONNECT_RET_FLAG | (s)))

/* resmgr_attach's flags (the path manager's). */
#define _RESMGR_FLAG_BEFORE 0x0001    /* before other servers on the same mountpoint */
#define _RESMGR_FLAG_AFTER 0x0002     /* after them */
#define _RESMGR_FLAG_OPAQUE 0x0004    /* no falling through to shorter mountpoints */
#define _RESMGR_FLAG_FTYPEONLY 0x0008 /* match on the file type only */
#define _RESMGR_FLAG_FTYPEALL 0x0010  /* match every file type */
#define _RESMGR_FLAG_DIR 0x0100       /* a directory: paths below it too */
#define _RESMGR_FLAG_SELF 0x0200      /* this process's own lookups may find it */
#define _RESMGR_FLAG_MASK 0x031F

/* resmgr_detach's flags. */
#define _RESMGR_DETACH_ALL 0x0000      /* the path, and the link's open bindings */
#define _RESMGR_DETACH_PATHNAME 0x0001 /* only the path: open OCBs keep working */
#define _RESMGR_DETACH_CLOSE 0x8000    /* the bindings' close handlers run */

int resmgr_attach(dispatch_t *dpp, resmgr_attr_t *attr, const char *path,
                  enum _file_type file_type, unsigned flags,
                  const resmgr_connect_funcs_t *connect_funcs,
                  const resmgr_io_funcs_t *io_funcs, RESMGR_HANDLE_T *handle);
int resmgr_detach(dispatch_t *dpp, int id, unsigned flags);
int resmgr_open_bind(resmgr_context_t *ctp, RESMGR_OCB_T *ocb,
                     const resmgr_io_funcs_t *io_funcs);
int resmgr_unbind(resmgr_context_t *ctp);
const resmgr_io_funcs_t *resmgr_iofuncs(resmgr_context_t *ctp);

/* MsgRead from the current (combine) message's offset; MsgWrite at offset as given. */
ssize_t resmgr_msgread(resmgr_context_t *ctp, void *msg, size_t size, size_t offset);
ssize_t resmgr_msgreadv(resmgr_context_t *ctp, iov_t *iov, int parts, size_t offset);
ssize_t resmgr_msgwrite(resmgr_context_t *ctp, const void *msg, size_t size, size_t offset);
ssize_t resmgr_msgwritev(resmgr_context_t *ctp, const iov_t *iov, int parts, size_t offset);
/* MsgReply(v) of ctp->rcvid with ctp->status. */
int resmgr_msgreply(resmgr_context_t *ctp, void *ptr, int len);
int resmgr_msgreplyv(resmgr_context_t *ctp, iov_t *iov, int parts);

#ifdef __cplusplus
}
#endif

#endif
