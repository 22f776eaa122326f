/*
 * <sched.h>: the system's, plus QNX's getprio()/setprio() (libqnxsim, QNX Neutrino on Linux):
 * the calling thread's simulated priority (pid 0 or the caller's own).
 */
/* (#include_next is a GNU extension: this pragma keeps -Wpedantic quiet about it.) */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include_next <sched.h>

#ifndef _QNXSIM_SCHED_H
#define _QNXSIM_SCHED_H
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

int getprio(pid_t pid);
int setprio(pid_t pid, int prio);

#ifdef __cplusplus
}
#endif
#endif
