/*
 * <unistd.h>: the system's, plus QNX's iov_t, SETIOV/GETIOV macros and delay() (libqnxsim,
 * QNX Neutrino on Linux).
 */
/* (#include_next is a GNU extension: this pragma keeps -Wpedantic quiet about it.) */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include_next <unistd.h>

#ifndef _QNXSIM_UNISTD_H
#define _QNXSIM_UNISTD_H
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iovec iov_t;

#define SETIOV(_iov, _addr, _len) \
    ((_iov)->iov_base = (void *)(_addr), (_iov)->iov_len = (_len))
#define SETIOV_CONST(_iov, _addr, _len) SETIOV(_iov, _addr, _len)
#define GETIOVBASE(_iov) ((_iov)->iov_base)
#define GETIOVLEN(_iov) ((_iov)->iov_len)

/* Sleeps msec milliseconds; returns 0, or the milliseconds left if a signal interrupted it. */
unsigned int delay(unsigned int msec);

#ifdef __cplusplus
}
#endif
#endif
