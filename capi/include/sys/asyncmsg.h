/*
 * <sys/asyncmsg.h>: QNX Neutrino's asynchronous messaging, in QNX 7.1's signatures, over
 * libqnxsim's simulated kernel (QNX Neutrino message passing on Linux). Written for this
 * project from QNX's public documentation; not QNX's header.
 *
 * Each call returns -1 and sets errno on failure (asyncmsg_get and asyncmsg_malloc: NULL).
 * Where this library differs from QNX's:
 *
 *  - In a kernel shared by programs, asyncmsg_malloc gives memory of the kernel's shared
 *    region (malloc's once the process's send buffers are used up), and asyncmsg_put of such
 *    a buffer hands it over uncopied, as on QNX: keep it unchanged until its callback. Any
 *    other buffer, and every asyncmsg_putv, is copied before the call returns: the caller may
 *    reuse or free it at once. The callback comes, on the library's thread, with the
 *    original buffer pointer (for asyncmsg_putv, the iov pointer) and the handle, once a
 *    receiver took the message (err 0) or it failed (EMSGSIZE; EBADF when
 *    asyncmsg_connect_detach discarded it).
 *  - A put without a callback of its own gets the connection attribute's call_back as it is
 *    when the put is made.
 *  - asyncmsg_get returns each message in its own malloc'd block
 *    ([struct _asyncmsg_get_header][iov_t][data]: iov points at the embedded iov, parts is 1),
 *    the batch linked by next; free each with asyncmsg_free.
 *  - asyncmsg_channel_create's recvbuf_callback must be NULL (else ENOTSUP).
 *  - asyncmsg_connect_attach's attr must not be NULL (EFAULT); trigger_time.nsec is the time
 *    trigger, trigger_time.interval_nsec is not used.
 */
#ifndef _QNXSIM_SYS_ASYNCMSG_H
#define _QNXSIM_SYS_ASYNCMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <sys/neutrino.h>

#ifdef __cplusplus
extern "C" {
#endif

/* asyncmsg_flush: trigger delivery and return without waiting for receivers. */
#define ASYNCMSG_FLUSH_NONBLOCK 1

/* The recvbuf callback's requests (no recvbuf callback is accepted here). */
#define ASYNCMSG_RECVBUF_ALLOC 1
#define ASYNCMSG_RECVBUF_FREE 2

/* One received message (104 bytes). */
struct _asyncmsg_get_header {
    struct _msg_info info; /* pid, chid, coid, scoid, msglen, srcmsglen */
    int err;               /* 0, or the message's error (EMSGSIZE: no data) */
    iov_t *iov;            /* the message */
    int parts;             /* parts of iov (1) */
    struct _asyncmsg_get_header *next;
    unsigned reserve[2];
};

/* A connection's attributes (48 bytes). */
struct _asyncmsg_connection_attr {
    /* For messages put without a callback of their own (NULL: none). */
    int (*call_back)(int err, void *buff, unsigned handle);
    size_t buffer_size;           /* the largest message the sender means to put */
    unsigned max_num_buffer;      /* send-queue slots */
    unsigned trigger_num_msg;     /* count trigger (0: off) */
    struct _itimer trigger_time;  /* time trigger: nsec (0: off) */
    unsigned reserve;
};

int asyncmsg_channel_create(unsigned flags, mode_t mode, size_t buffer_size,
                            unsigned max_num_buffer, const struct sigevent *ev,
                            int (*recvbuf_callback)(size_t bufsize, unsigned num_bufs,
                                                    void *bufs[], int flags, void *handle),
                            void *recvbuf_callback_handle);
int asyncmsg_channel_destroy(int chid);

int asyncmsg_connect_attach(_Uint32t nd, pid_t pid, int chid, unsigned index, unsigned flags,
                            const struct _asyncmsg_connection_attr *attr);
int asyncmsg_connect_detach(int coid);
int asyncmsg_connect_attr(int coid, struct _asyncmsg_connection_attr *old_attr,
                          const struct _asyncmsg_connection_attr *new_attr);

int asyncmsg_flush(int coid, int mode);
int asyncmsg_put(int coid, const void *buff, size_t size, unsigned handle,
                 int (*call_back)(int err, void *buf, unsigned handle));
int asyncmsg_putv(int coid, const iov_t *iov, int parts, unsigned handle,
                  int (*call_back)(int err, void *buf, unsigned handle));

struct _asyncmsg_get_header *asyncmsg_get(int chid);

void *asyncmsg_malloc(size_t size);
void asyncmsg_free(void *buf);

#ifdef __cplusplus
}
#endif

#endif
