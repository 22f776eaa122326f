/*
 * <process.h>: QNX's process-level additions (libqnxsim, QNX Neutrino on Linux): gettid()
 * is the calling thread's QNX tid in its simulated process (1, 2, ...), not Linux's. Written
 * for this project from QNX's public documentation; not QNX's header.
 */
#ifndef _QNXSIM_PROCESS_H
#define _QNXSIM_PROCESS_H

#include <sys/types.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

int qnxsim_gettid(void);
#define gettid qnxsim_gettid

#ifdef __cplusplus
}
#endif

#endif
