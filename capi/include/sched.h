/*
 * <sched.h>: the system's, plus QNX's getprio()/setprio() (libqnxsim, QNX Neutrino on Linux):
 * the calling thread's simulated priority (pid 0 or the caller's own).
 *
 * The POSIX scheduling calls are renamed to libqnxsim's, which act on the simulated policy
 * and priority (QNX's range, 1..255, for SCHED_FIFO, SCHED_RR and SCHED_OTHER), never on
 * Linux's: sched_get_priority_min/max, and sched_setparam, sched_getparam, sched_setscheduler,
 * sched_getscheduler on the calling thread (pid 0) or, as on QNX, on thread 1 of process pid
 * (getpid(): this process; a process the kernel does not know: ESRCH). sched_setscheduler
 * returns the previous policy. struct sched_param is the system's: sched_priority only (QNX's
 * sched_curpriority and sporadic members are not there; getprio() gives the current priority).
 */
/* (#include_next is a GNU extension: this pragma keeps -Wpedantic quiet about it.) */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include_next <sched.h>

#ifndef _QNXSIM_SCHED_H
#define _QNXSIM_SCHED_H
#include <sys/types.h>

/* QNX's policies beside Linux's SCHED_OTHER (0), SCHED_FIFO (1) and SCHED_RR (2), which
 * libqnxsim maps to QNX's. SCHED_SPORADIC is refused (ENOTSUP); SCHED_NOCHANGE (QNX's 0,
 * which is Linux's SCHED_OTHER) is -1 here: SchedSet and pthread_setschedparam keep the
 * policy. */
#ifndef SCHED_SPORADIC
#define SCHED_SPORADIC 4
#endif
#ifndef SCHED_NOCHANGE
#define SCHED_NOCHANGE (-1)
#endif

#ifdef __cplusplus
extern "C" {
#endif

int getprio(pid_t pid);
int setprio(pid_t pid, int prio);

int qnxsim_sched_get_priority_min(int policy);
int qnxsim_sched_get_priority_max(int policy);
int qnxsim_sched_setparam(pid_t pid, const struct sched_param *param);
int qnxsim_sched_getparam(pid_t pid, struct sched_param *param);
int qnxsim_sched_setscheduler(pid_t pid, int policy, const struct sched_param *param);
int qnxsim_sched_getscheduler(pid_t pid);
#define sched_get_priority_min qnxsim_sched_get_priority_min
#define sched_get_priority_max qnxsim_sched_get_priority_max
#define sched_setparam qnxsim_sched_setparam
#define sched_getparam qnxsim_sched_getparam
#define sched_setscheduler qnxsim_sched_setscheduler
#define sched_getscheduler qnxsim_sched_getscheduler

#ifdef __cplusplus
}
#endif
#endif
