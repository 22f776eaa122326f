/*
 * <sys/procmgr.h>: QNX's procmgr_daemon and procmgr_ability (libqnxsim, QNX Neutrino on
 * Linux). Written for this project from QNX's public documentation; not QNX's header. The
 * rest of QNX's process-manager calls (procmgr_ability_create, procmgr_ability_lookup,
 * procmgr_event_notify, procmgr_session, ...) are not provided.
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

#include <errno.h>
#include <stdarg.h>
#include <sys/types.h>

#include <sys/target_nto.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROCMGR_DAEMON_NOCHDIR 0x00000001u
#define PROCMGR_DAEMON_NOCLOSE 0x00000002u
#define PROCMGR_DAEMON_NODEVNULL 0x00000004u
#define PROCMGR_DAEMON_KEEPUMASK 0x00000008u

int procmgr_daemon(int status, unsigned flags);

/*
 * procmgr_ability(pid, ability, ..., PROCMGR_AID_EOL): each word of the list is an ability
 * identifier (PROCMGR_AID_*) ORed with one or more operations (PROCMGR_AOP_*) and one or more
 * domains (PROCMGR_ADN_*); a word with PROCMGR_AOP_SUBRANGE is followed by two uint64_t, the
 * lower and upper limits. PROCMGR_AID_EOL ends the list, alone or with domains and any of
 * PROCMGR_AOP_DENY, _ALLOW, _LOCK, _INHERIT_YES, _INHERIT_NO (for the abilities not listed).
 * Returns EOK or an errno
 * value (errno is not set), as QNX's does.
 *
 * Here every ability is granted already (the simulation asks for none), so nothing changes: a
 * well-formed list for pid 0 or getpid() is EOK. EPERM: another process's pid; ESRCH: no such
 * process. EINVAL: a word with bits outside these fields (PROCMGR_AID_UNCREATED among them),
 * an identifier not defined below, an ability without an operation or a domain, DENY with
 * ALLOW, INHERIT_YES with INHERIT_NO, EOL with SUBRANGE, a subrange whose lower limit is
 * above its upper one, or no PROCMGR_AID_EOL
 * within _QNXSIM_PROCMGR_ABILITY_MAX words (the walk stops there). The first bad word ends
 * the walk.
 */

/* Identifiers (QNX 7.1's; the comment: what a subrange limits). */
#define PROCMGR_AID_SPAWN_SETUID 0u           /* uid */
#define PROCMGR_AID_SPAWN_SETGID 1u           /* gid */
#define PROCMGR_AID_SETUID 2u                 /* uid */
#define PROCMGR_AID_SETGID 3u                 /* gid */
#define PROCMGR_AID_GETID 4u
#define PROCMGR_AID_PATHSPACE 5u
#define PROCMGR_AID_REBOOT 6u
#define PROCMGR_AID_CPUMODE 7u                /* mode */
#define PROCMGR_AID_RUNSTATE 8u               /* cpu */
#define PROCMGR_AID_CONFSET 9u                /* name */
#define PROCMGR_AID_RSRCDBMGR 10u
#define PROCMGR_AID_SESSION 11u               /* sid */
#define PROCMGR_AID_UMASK 12u
#define PROCMGR_AID_EVENT 13u                 /* trigger bits */
#define PROCMGR_AID_RLIMIT 14u                /* limit */
#define PROCMGR_AID_MEM_ADD 15u               /* paddr */
#define PROCMGR_AID_MEM_PHYS 16u              /* paddr */
#define PROCMGR_AID_MEM_SPECIAL 17u
#define PROCMGR_AID_MEM_GLOBAL 18u
#define PROCMGR_AID_MEM_PEER 19u              /* pid */
#define PROCMGR_AID_MEM_LOCK 20u              /* vaddr */
#define PROCMGR_AID_SPAWN 21u
#define PROCMGR_AID_FORK 22u
#define PROCMGR_AID_PROT_EXEC 23u             /* vaddr */
#define PROCMGR_AID_WAIT 24u                  /* pid */
#define PROCMGR_AID_V86 25u
#define PROCMGR_AID_QNET 26u
#define PROCMGR_AID_CLOCKSET 27u              /* time */
#define PROCMGR_AID_CLOCKPERIOD 28u           /* period */
#define PROCMGR_AID_INTERRUPT 29u             /* interrupt */
#define PROCMGR_AID_KEYDATA 30u
#define PROCMGR_AID_IO 31u                    /* level */
#define PROCMGR_AID_TRACE 32u
#define PROCMGR_AID_PRIORITY 33u              /* priority */
#define PROCMGR_AID_CONNECTION 34u
#define PROCMGR_AID_SCHEDULE 35u
#define PROCMGR_AID_SIGNAL 36u                /* signal */
#define PROCMGR_AID_TIMER 37u                 /* timer id */
#define PROCMGR_AID_PGRP 38u                  /* pgid */
#define PROCMGR_AID_MAP_FIXED 39u             /* vaddr */
#define PROCMGR_AID_PATH_TRUST 40u
#define PROCMGR_AID_SWAP 41u
#define PROCMGR_AID_RCONSTRAINT 42u
#define PROCMGR_AID_CHILD_NEWAPP 43u
#define PROCMGR_AID_PUBLIC_CHANNEL 44u
#define PROCMGR_AID_APS_ROOT 45u
#define PROCMGR_AID_ABLE_CREATE 46u
#define PROCMGR_AID_RUNSTATE_BURST 47u        /* length */
#define PROCMGR_AID_DEFAULT_TIMER_TOLERANCE 48u
#define PROCMGR_AID_XTHREAD_THREADCTL 49u     /* subcommand */
#define PROCMGR_AID_XPROCESS_QUERY 50u        /* euid */
#define PROCMGR_AID_CHROOT 51u
#define PROCMGR_AID_POWER 52u
#define PROCMGR_AID_PROT_WRITE_AND_EXEC 53u   /* vaddr */
#define PROCMGR_AID_SRANDOM 54u
#define PROCMGR_AID_SANDBOX 55u
#define PROCMGR_AID_QVM 56u
#define PROCMGR_AID_RLIMIT_PEER 57u           /* uid */
#define PROCMGR_AID_CHANNEL_CONNECT 58u       /* type id */
#define PROCMGR_AID_MAC_POLICY 59u
#define PROCMGR_AID_SETTYPEID 60u             /* type id */
#define PROCMGR_AID_ABLE_PRIV 61u
#define PROCMGR_AID_XPROCESS_ABLE 62u
#define PROCMGR_AID_INTERRUPTEVENT 63u        /* interrupt */
#define PROCMGR_AID_XPROCESS_DEBUG 64u        /* uid */
#define PROCMGR_AID_XPROCESS_MEM_READ 65u     /* uid */
#define PROCMGR_AID_HIGH_RESOLUTION_TIMER 66u
#define PROCMGR_AID_SERVER_MONITOR 68u
#define PROCMGR_AID_SIGEV_THREAD 69u
#define PROCMGR_AID_PRIVREG 70u
#define PROCMGR_AID_MAX PROCMGR_AID_PRIVREG

#define PROCMGR_AID_MASK 0xffffu
#define PROCMGR_AID_EOL PROCMGR_AID_MASK
#define PROCMGR_AID_UNCREATED 0x00100000u

/* Operations. */
#define PROCMGR_AOP_DENY 0x00010000u
#define PROCMGR_AOP_ALLOW 0x00020000u
#define PROCMGR_AOP_SUBRANGE 0x00040000u
#define PROCMGR_AOP_LOCK 0x00080000u
#define PROCMGR_AOP_INHERIT_YES 0x00400000u
#define PROCMGR_AOP_INHERIT_NO 0x00800000u

/* Domains. */
#define PROCMGR_ADN_ROOT 0x10000000u
#define PROCMGR_ADN_NONROOT 0x20000000u

/* Not QNX's: the longest list procmgr_ability walks, its PROCMGR_AID_EOL word included. */
#define _QNXSIM_PROCMGR_ABILITY_MAX 1024u

/* libqnxsim's checks, which the walk below calls (errno values; errno is not touched). */
int qnxsim_procmgr_ability_pid(pid_t pid);
int qnxsim_procmgr_ability_word(unsigned word);

static inline int procmgr_ability(pid_t pid, unsigned ability, ...) {
    va_list ap;
    unsigned n;
    int r = qnxsim_procmgr_ability_pid(pid);
    if (r != 0) {
        return r;
    }
    va_start(ap, ability);
    for (n = 1;; n++) {
        r = qnxsim_procmgr_ability_word(ability);
        if (r != 0) {
            break;
        }
        if ((ability & PROCMGR_AOP_SUBRANGE) != 0) {
            _Uint64t lower = va_arg(ap, _Uint64t);
            _Uint64t upper = va_arg(ap, _Uint64t);
            if (lower > upper) {
                r = EINVAL;
                break;
            }
        }
        if ((ability & PROCMGR_AID_MASK) == PROCMGR_AID_EOL) {
            break;
        }
        if (n == _QNXSIM_PROCMGR_ABILITY_MAX) {
            r = EINVAL;
            break;
        }
        ability = va_arg(ap, unsigned);
    }
    va_end(ap);
    return r;
}

#ifdef __cplusplus
}
#endif

#endif
