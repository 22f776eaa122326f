/*
 * <pthread.h>: the system's, with QNX's pthread_create, which takes a NULL thread pointer
 * (libqnxsim, QNX Neutrino on Linux).
 */
/* (#include_next is a GNU extension: this pragma keeps -Wpedantic quiet about it.) */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include_next <pthread.h>

#ifndef _QNXSIM_PTHREAD_H
#define _QNXSIM_PTHREAD_H

#ifdef __cplusplus
extern "C" {
#endif

int qnxsim_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg);
#define pthread_create qnxsim_pthread_create

#ifdef __cplusplus
}
#endif
#endif
