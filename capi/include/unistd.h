/*
 * <unistd.h>: the system's, plus QNX's iov_t, SETIOV/GETIOV macros and delay() (libqnxsim,
 * QNX Neutrino on Linux). sleep() and usleep() are renamed to libqnxsim's: a thread that
 * made a kernel call sleeps NANOSLEEP-blocked in the kernel, as on QNX (pidin shows it so);
 * another sleeps in Linux's.
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

unsigned int qnxsim_sleep(unsigned int seconds);
int qnxsim_usleep(__useconds_t usec);
#define sleep(seconds) qnxsim_sleep(seconds)
#define usleep(usec) qnxsim_usleep(usec)

#ifdef __cplusplus
}
#endif
#endif
