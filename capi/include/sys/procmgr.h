/*
 * <sys/procmgr.h>: QNX's procmgr_daemon (libqnxsim, QNX Neutrino on Linux). Written for this
 * project from QNX's public documentation; not QNX's header. The rest of QNX's process-manager
 * calls (procmgr_ability, procmgr_event_notify, procmgr_session, ...) are not provided.
 *
 * procmgr_daemon(status, flags) makes the caller a daemon: the program's parent sees it exit
 * with status, and the caller goes on in a new session, detached from its terminal; unless
 * the flags say otherwise its working directory becomes "/", its umask 0, its descriptors
 * other than 0, 1 and 2 are closed, and 0, 1 and 2 are redirected to /dev/null. Returns a
 * nonnegative integer (the new session's id), or -1 with errno set.
 *
 * Unlike QNX's, it forks here: the daemon is a new process with a new pid, and it is a new
 * process of the simulated kernel (QNXSIM_KERNEL's, or a new one of its own): channels,
 * connections and names made before the call stay with the parent, which ends. Call it
 * before making them (docs/c-api.md, docs/deviations.md).
 */
#ifndef _QNXSIM_SYS_PROCMGR_H
#define _QNXSIM_SYS_PROCMGR_H

#ifdef __cplusplus
extern "C" {
#endif

#define PROCMGR_DAEMON_NOCHDIR 0x00000001u
#define PROCMGR_DAEMON_NOCLOSE 0x00000002u
#define PROCMGR_DAEMON_NODEVNULL 0x00000004u
#define PROCMGR_DAEMON_KEEPUMASK 0x00000008u

int procmgr_daemon(int status, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif
