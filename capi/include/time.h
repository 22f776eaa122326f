/*
 * <time.h>: the system's, with nanosleep() and clock_nanosleep() renamed to libqnxsim's
 * (libqnxsim, QNX Neutrino on Linux): a thread that made a kernel call sleeps NANOSLEEP-blocked
 * in the kernel, as on QNX (pidin shows it so), on CLOCK_REALTIME or CLOCK_MONOTONIC; another
 * thread, or another clock, sleeps in Linux's. Same arguments, results and errors.
 */
/* (#include_next is a GNU extension: this pragma keeps -Wpedantic quiet about it.) */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include_next <time.h>

#ifndef _QNXSIM_TIME_H
#define _QNXSIM_TIME_H

#ifdef __cplusplus
extern "C" {
#endif

struct timespec;
int qnxsim_nanosleep(const struct timespec *req, struct timespec *rem);
int qnxsim_clock_nanosleep(__clockid_t clock, int flags, const struct timespec *req,
                           struct timespec *rem);
#define nanosleep(req, rem) qnxsim_nanosleep(req, rem)
#define clock_nanosleep(clock, flags, req, rem) qnxsim_clock_nanosleep(clock, flags, req, rem)

#ifdef __cplusplus
}
#endif
#endif
