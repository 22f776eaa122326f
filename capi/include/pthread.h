/*
 * <pthread.h>: the system's, with QNX's pthread_create, which takes a NULL thread pointer
 * (libqnxsim, QNX Neutrino on Linux), and the scheduling calls renamed to libqnxsim's, which
 * act on the simulated policy and priority (QNX's range, 1..255), never on Linux's:
 *
 * - pthread_setschedparam, pthread_getschedparam (policy may be NULL, as on QNX),
 *   pthread_setschedprio, on a thread of the calling process (ESRCH for a pthread_t whose
 *   thread the kernel does not know);
 * - pthread_attr_setschedparam takes QNX's priorities whatever the attribute's policy;
 * - pthread_create with PTHREAD_EXPLICIT_SCHED starts the thread at the attribute's simulated
 *   policy and priority, with PTHREAD_INHERIT_SCHED (the default) at the creator's; the Linux
 *   thread always inherits the creator's Linux scheduling;
 * - pthread_join is bounded, as QNX's, by a TimerTimeout armed with _NTO_TIMEOUT_JOIN: ETIMEDOUT
 *   once its time has passed, the thread not joined (and it spends the arming, as a kernel call);
 * - pthread_cancel also ends the kernel call the thread is blocked in, when that call is a
 *   cancellation point, as QNX's are (MsgSend* but the *nc forms, MsgReceive*, InterruptWait,
 *   delay() and the sleeps).
 */
/* (#include_next is a GNU extension: this pragma keeps -Wpedantic quiet about it.) */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include_next <pthread.h>

#ifndef _QNXSIM_PTHREAD_H
#define _QNXSIM_PTHREAD_H
#include <sched.h>

#ifdef __cplusplus
extern "C" {
#endif

int qnxsim_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg);
#define pthread_create qnxsim_pthread_create

int qnxsim_pthread_join(pthread_t thread, void **retval);
#define pthread_join qnxsim_pthread_join

int qnxsim_pthread_cancel(pthread_t thread);
#define pthread_cancel qnxsim_pthread_cancel

int qnxsim_pthread_setschedparam(pthread_t thread, int policy, const struct sched_param *param);
int qnxsim_pthread_getschedparam(pthread_t thread, int *policy, struct sched_param *param);
int qnxsim_pthread_setschedprio(pthread_t thread, int prio);
int qnxsim_pthread_attr_setschedparam(pthread_attr_t *attr, const struct sched_param *param);
#define pthread_setschedparam qnxsim_pthread_setschedparam
#define pthread_getschedparam qnxsim_pthread_getschedparam
#define pthread_setschedprio qnxsim_pthread_setschedprio
#define pthread_attr_setschedparam qnxsim_pthread_attr_setschedparam

#ifdef __cplusplus
}
#endif
#endif
