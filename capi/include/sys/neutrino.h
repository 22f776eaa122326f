/*
 * <sys/neutrino.h>: QNX Neutrino's kernel calls, in QNX 7.1's signatures, over libqnxsim's
 * simulated kernel (QNX Neutrino message passing on Linux). Written for this project from
 * QNX's public documentation; not QNX's header.
 *
 * Each call returns -1 and sets errno on failure; its _r twin returns the negative errno and
 * leaves errno alone. A thread's first call attaches it to the program's simulated process;
 * QNXSIM_KERNEL chooses the kernel (unset: the program's own; a name: the one shared by every
 * program naming it).
 */
#ifndef _QNXSIM_SYS_NEUTRINO_H
#define _QNXSIM_SYS_NEUTRINO_H

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <sys/netmgr.h>
#include <sys/siginfo.h>
#include <sys/states.h>
#include <sys/target_nto.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _NTO_VERSION 710

/* Receive ids: always positive and below 2^31 here, so an int holds one. */
typedef int rcvid_t;
#define __RCVID_T_SIZE 4

/* ---------------------------------------------------------------- structures */

/* What a server learns about a message (QNX 7's 64-bit layout, 64 bytes). */
struct _msg_info64 {
    _Uint32t nd;
    _Uint32t srcnd;
    pid_t pid;
    _Int32t tid;
    _Int32t chid;
    _Int32t scoid;
    _Int32t coid;
    _Int16t priority;
    _Int16t flags;
    ssize_t msglen;
    ssize_t srcmsglen;
    ssize_t dstmsglen;
    _Uint32t type_id;
    _Uint32t reserved;
};
#define _msg_info _msg_info64
#define _server_info _msg_info64

/* What MsgReceive writes for a pulse (24 bytes). */
struct _pulse {
    _Uint16t type;
    _Uint16t subtype;
    _Int8t code;
    _Uint8t zero[3];
    union sigval value;
    _Int32t scoid;
};

/* Who a client process is (ConnectClientInfo, iofunc_client_info). Its ids are the Linux
 * process's: the simulated kernel keeps no credentials. */
#define NGROUPS_MAX_QNX 8
struct _cred_info {
    uid_t ruid;
    uid_t euid;
    uid_t suid;
    gid_t rgid;
    gid_t egid;
    gid_t sgid;
    _Uint32t ngroups;
    gid_t grouplist[NGROUPS_MAX_QNX];
};
struct _client_info {
    _Uint32t nd;
    pid_t pid;
    pid_t sid;
    _Uint32t flags;
    struct _cred_info cred;
};
#define _NTO_CI_ENDIAN_BIG 0x00000001
#define _NTO_CI_BKGND_PGRP 0x00000004
#define _NTO_CI_ORPHAN_PGRP 0x00000008
#define _NTO_CI_STOPPED 0x00000080

struct _itimer {
    _Uint64t nsec;
    _Uint64t interval_nsec;
};

struct _timer_info {
    struct _itimer itime;
    struct _itimer otime;
    _Uint32t flags;
    _Int32t tid;
    _Int32t notify;
    clockid_t clockid;
    _Uint32t overruns;
    struct sigevent event;
};
#define _NTO_TI_ACTIVE 0x00000001

/* ---------------------------------------------------------------- constants */

#define _NTO_CHF_FIXED_PRIORITY 0x0001
#define _NTO_CHF_UNBLOCK 0x0002
#define _NTO_CHF_THREAD_DEATH 0x0004
#define _NTO_CHF_DISCONNECT 0x0008
#define _NTO_CHF_NET_MSG 0x0010
#define _NTO_CHF_SENDER_LEN 0x0020
#define _NTO_CHF_COID_DISCONNECT 0x0040
#define _NTO_CHF_REPLY_LEN 0x0080
#define _NTO_CHF_ASYNC_NONBLOCK 0x0200
#define _NTO_CHF_ASYNC 0x0400
#define _NTO_CHF_GLOBAL 0x0800
#define _NTO_CHF_PRIVATE 0x1000

#define _NTO_COF_CLOEXEC 0x0001
#define _NTO_COF_DEAD 0x0002
#define _NTO_COF_NOSHARE 0x0040
#define _NTO_COF_NETCON 0x0080
#define _NTO_COF_NONBLOCK 0x0100
#define _NTO_COF_ASYNC 0x0200
#define _NTO_COF_GLOBAL 0x0400

#define _NTO_SIDE_CHANNEL 0x40000000
#define _NTO_GLOBAL_CHANNEL 0x40000000

#define SYSMGR_PID 1
#define SYSMGR_CHID 1
#define SYSMGR_COID _NTO_SIDE_CHANNEL

#define _NTO_MI_ENDIAN_BIG 0x0001
#define _NTO_MI_ENDIAN_DIFF 0x0002
#define _NTO_MI_UNBLOCK_REQ 0x0100
/* Set by QNX for network and confined clients; never set here (every client is local). */
#define _NTO_MI_NET_CRED_DIRTY 0x0200
#define _NTO_MI_CONSTRAINED 0x0400
#define _NTO_MI_CHROOT 0x0800
#define _NTO_MI_BITS_64 0x1000
#define _NTO_MI_BITS_DIFF 0x2000
#define _NTO_MI_SANDBOX 0x4000

#define _PULSE_TYPE 0
#define _PULSE_SUBTYPE 0
#define _PULSE_CODE_UNBLOCK (-32)
#define _PULSE_CODE_DISCONNECT (-33)
#define _PULSE_CODE_THREADDEATH (-34)
#define _PULSE_CODE_COIDDEATH (-35)
#define _PULSE_CODE_NET_ACK (-36)
#define _PULSE_CODE_NET_UNBLOCK (-37)
#define _PULSE_CODE_NET_DETACH (-38)
/* QNX 7's; this kernel never sends them (no MsgPause, no _NTO_CHF_UNBLOCK_TIMER). */
#define _PULSE_CODE_RESTART (-39)
#define _PULSE_CODE_NORESTART (-40)
#define _PULSE_CODE_UNBLOCK_RESTART (-41)
#define _PULSE_CODE_UNBLOCK_TIMER (-42)
#define _PULSE_CODE_MINAVAIL 0
#define _PULSE_CODE_MAXAVAIL 127

#define _NTO_TIMEOUT_SEND (1 << STATE_SEND)
#define _NTO_TIMEOUT_RECEIVE (1 << STATE_RECEIVE)
#define _NTO_TIMEOUT_REPLY (1 << STATE_REPLY)
#define _NTO_TIMEOUT_SIGSUSPEND (1 << STATE_SIGSUSPEND)
#define _NTO_TIMEOUT_SIGWAITINFO (1 << STATE_SIGWAITINFO)
#define _NTO_TIMEOUT_NANOSLEEP (1 << STATE_NANOSLEEP)
#define _NTO_TIMEOUT_MUTEX (1 << STATE_MUTEX)
#define _NTO_TIMEOUT_CONDVAR (1 << STATE_CONDVAR)
#define _NTO_TIMEOUT_JOIN (1 << STATE_JOIN)
#define _NTO_TIMEOUT_INTR (1 << STATE_INTR)
#define _NTO_TIMEOUT_SEM (1 << STATE_SEM)
#define _NTO_TIMEOUT_MASK ((1 << STATE_MAX) - 1)
#define _NTO_TIMEOUT_ACTIVE (1 << STATE_MAX)
#define _NTO_TIMEOUT_IMMEDIATE (1 << (STATE_MAX + 1))

#define _NTO_TCTL_IO_PRIV 1
#define _NTO_TCTL_THREADS_HOLD 2
#define _NTO_TCTL_THREADS_CONT 3
#define _NTO_TCTL_RUNMASK 4
#define _NTO_TCTL_ALIGN_FAULT 5
#define _NTO_TCTL_RUNMASK_GET_AND_SET 6
#define _NTO_TCTL_PERFCOUNT 7
#define _NTO_TCTL_ONE_THREAD_HOLD 8
#define _NTO_TCTL_ONE_THREAD_CONT 9
#define _NTO_TCTL_RUNMASK_GET_AND_SET_INHERIT 10
#define _NTO_TCTL_NAME 11
#define _NTO_TCTL_RCM_GET_AND_SET 12
#define _NTO_TCTL_SHR_MUTEX 13
#define _NTO_TCTL_IO 14
#define _NTO_TCTL_NET_KIF_GET_AND_SET 15
#define _NTO_TCTL_LOW_LATENCY 16
#define _NTO_TCTL_ADD_EXIT_EVENT 17
#define _NTO_TCTL_DEL_EXIT_EVENT 18
#define _NTO_TCTL_IO_LEVEL 19

/* ---------------------------------------------------------------- channels, connections */

int ChannelCreate(unsigned flags);
int ChannelCreate_r(unsigned flags);
int ChannelDestroy(int chid);
int ChannelDestroy_r(int chid);
int ConnectAttach(_Uint32t nd, pid_t pid, int chid, unsigned index, int flags);
int ConnectAttach_r(_Uint32t nd, pid_t pid, int chid, unsigned index, int flags);
int ConnectDetach(int coid);
int ConnectDetach_r(int coid);

/* ConnectClientInfo: who the client behind the caller's server connection scoid is (from
 * MsgReceive's info->scoid or a pulse's scoid; -1: the caller's own process): pid (a
 * program's Linux pid), sid, _NTO_CI_STOPPED / _NTO_CI_BKGND_PGRP, and its Linux ids. At most
 * ngroups groups are written (past grouplist's 8 if the caller made room); cred.ngroups is how
 * many were, or with ngroups 0 how many the process has. A scoid stays valid after the
 * client's last detach while the server holds it (_NTO_CHF_DISCONNECT, until its
 * ConnectDetach). EINVAL no such scoid of the caller's, or ngroups negative; ESRCH the client
 * process has ended; EFAULT info NULL. */
int ConnectClientInfo(int scoid, struct _client_info *info, int ngroups);
int ConnectClientInfo_r(int scoid, struct _client_info *info, int ngroups);
/* ConnectServerInfo: the first connection of process pid (0: the caller's; any process may be
 * inspected) whose coid is coid or after it, fd-space coids first, then side-channel coids
 * (server connections skipped); returns that coid and fills info: nd, pid (the server's), chid,
 * scoid (0 once the channel is gone), coid, flags (_NTO_COF_CLOEXEC, _NTO_COF_DEAD: the channel
 * is gone), the rest 0. Walk a process's connections with coid + 1. ESRCH no such process;
 * EINVAL no connection at or after coid (or coid negative); EFAULT info NULL. */
int ConnectServerInfo(pid_t pid, int coid, struct _server_info *info);
int ConnectServerInfo_r(pid_t pid, int coid, struct _server_info *info);
/* ConnectFlags: sets the flags of process pid's (0: the caller's) connection coid that mask
 * selects to their values in bits, and returns the flags as they were. Only _NTO_COF_CLOEXEC may
 * be changed (mask 0 only asks); the flags belong to the connection, so a coid sharing it (a
 * second ConnectAttach to the same channel without _NTO_COF_NOSHARE) sees the change too.
 * ESRCH no such process; EBADF coid is not one of its client connections; ENOTSUP mask names
 * another flag. */
int ConnectFlags(pid_t pid, int coid, unsigned mask, unsigned bits);
int ConnectFlags_r(pid_t pid, int coid, unsigned mask, unsigned bits);

/* ---------------------------------------------------------------- send, receive, reply */

long MsgSend(int coid, const void *smsg, size_t sbytes, void *rmsg, size_t rbytes);
long MsgSend_r(int coid, const void *smsg, size_t sbytes, void *rmsg, size_t rbytes);
long MsgSendnc(int coid, const void *smsg, size_t sbytes, void *rmsg, size_t rbytes);
long MsgSendnc_r(int coid, const void *smsg, size_t sbytes, void *rmsg, size_t rbytes);
long MsgSendv(int coid, const iov_t *siov, size_t sparts, const iov_t *riov, size_t rparts);
long MsgSendv_r(int coid, const iov_t *siov, size_t sparts, const iov_t *riov, size_t rparts);
long MsgSendvnc(int coid, const iov_t *siov, size_t sparts, const iov_t *riov, size_t rparts);
long MsgSendvnc_r(int coid, const iov_t *siov, size_t sparts, const iov_t *riov,
                  size_t rparts);
long MsgSendsv(int coid, const void *smsg, size_t sbytes, const iov_t *riov, size_t rparts);
long MsgSendsv_r(int coid, const void *smsg, size_t sbytes, const iov_t *riov, size_t rparts);
long MsgSendsvnc(int coid, const void *smsg, size_t sbytes, const iov_t *riov, size_t rparts);
long MsgSendsvnc_r(int coid, const void *smsg, size_t sbytes, const iov_t *riov,
                   size_t rparts);
long MsgSendvs(int coid, const iov_t *siov, size_t sparts, void *rmsg, size_t rbytes);
long MsgSendvs_r(int coid, const iov_t *siov, size_t sparts, void *rmsg, size_t rbytes);
long MsgSendvsnc(int coid, const iov_t *siov, size_t sparts, void *rmsg, size_t rbytes);
long MsgSendvsnc_r(int coid, const iov_t *siov, size_t sparts, void *rmsg, size_t rbytes);

rcvid_t MsgReceive(int chid, void *msg, size_t bytes, struct _msg_info *info);
rcvid_t MsgReceive_r(int chid, void *msg, size_t bytes, struct _msg_info *info);
rcvid_t MsgReceivev(int chid, const iov_t *iov, size_t parts, struct _msg_info *info);
rcvid_t MsgReceivev_r(int chid, const iov_t *iov, size_t parts, struct _msg_info *info);
int MsgReceivePulse(int chid, void *pulse, size_t bytes, struct _msg_info *info);
int MsgReceivePulse_r(int chid, void *pulse, size_t bytes, struct _msg_info *info);
int MsgReceivePulsev(int chid, const iov_t *iov, size_t parts, struct _msg_info *info);
int MsgReceivePulsev_r(int chid, const iov_t *iov, size_t parts, struct _msg_info *info);

int MsgReply(rcvid_t rcvid, long status, const void *msg, size_t bytes);
int MsgReply_r(rcvid_t rcvid, long status, const void *msg, size_t bytes);
int MsgReplyv(rcvid_t rcvid, long status, const iov_t *iov, size_t parts);
int MsgReplyv_r(rcvid_t rcvid, long status, const iov_t *iov, size_t parts);
int MsgError(rcvid_t rcvid, int err);
int MsgError_r(rcvid_t rcvid, int err);

ssize_t MsgRead(rcvid_t rcvid, void *msg, size_t bytes, size_t offset);
ssize_t MsgRead_r(rcvid_t rcvid, void *msg, size_t bytes, size_t offset);
ssize_t MsgReadv(rcvid_t rcvid, const iov_t *iov, size_t parts, size_t offset);
ssize_t MsgReadv_r(rcvid_t rcvid, const iov_t *iov, size_t parts, size_t offset);
ssize_t MsgWrite(rcvid_t rcvid, const void *msg, size_t bytes, size_t offset);
ssize_t MsgWrite_r(rcvid_t rcvid, const void *msg, size_t bytes, size_t offset);
ssize_t MsgWritev(rcvid_t rcvid, const iov_t *iov, size_t parts, size_t offset);
ssize_t MsgWritev_r(rcvid_t rcvid, const iov_t *iov, size_t parts, size_t offset);
int MsgInfo(rcvid_t rcvid, struct _msg_info *info);
int MsgInfo_r(rcvid_t rcvid, struct _msg_info *info);
/* MsgCurrent: the caller resumes work on client rcvid's message (a deferred reply, or one
 * another thread of its process received) and, unless the channel is _NTO_CHF_FIXED_PRIORITY,
 * takes the client's priority, down as well as up. ESRCH rcvid names no client REPLY-blocked
 * on a channel of the caller's process. */
int MsgCurrent(rcvid_t rcvid);
int MsgCurrent_r(rcvid_t rcvid);

/* ---------------------------------------------------------------- pulses and events */

int MsgSendPulse(int coid, int priority, int code, int value);
int MsgSendPulse_r(int coid, int priority, int code, int value);
int MsgDeliverEvent(rcvid_t rcvid, const struct sigevent *event);
int MsgDeliverEvent_r(rcvid_t rcvid, const struct sigevent *event);
int MsgVerifyEvent(rcvid_t rcvid, const struct sigevent *event);
int MsgVerifyEvent_r(rcvid_t rcvid, const struct sigevent *event);

/* QNX 7.1's registered events: a client registers an event for the server its connection coid
 * leads to (_NTO_REGEVENT_ALLOW_ANY_SERVER: any) before giving it to that server; the event is
 * marked in place (SIGEV_FLAG_HANDLE in sigev_notify), and MsgDeliverEvent then accepts it
 * only from that server, until MsgUnregisterEvent. Unregistered events are still accepted. */
#ifndef SIGEV_FLAG_HANDLE
#define SIGEV_FLAG_HANDLE 0x00002000
#endif
#define _NTO_REGEVENT_ALLOW_ANY_SERVER (-1)
int MsgRegisterEvent(struct sigevent *event, int coid);
int MsgRegisterEvent_r(struct sigevent *event, int coid);
int MsgUnregisterEvent(const struct sigevent *event);
int MsgUnregisterEvent_r(const struct sigevent *event);

/* ---------------------------------------------------------------- timeouts, timers, signals */

/* flags may hold TIMER_ABSTIME (QNX's 0x80000000 or <time.h>'s). Returns the flags armed
 * before. otime is written only by _NTO_TIMEOUT_NANOSLEEP ended by a signal (EINTR): the time
 * that was left. */
int TimerTimeout(clockid_t id, int flags, const struct sigevent *notify,
                 const _Uint64t *ntime, _Uint64t *otime);
int TimerTimeout_r(clockid_t id, int flags, const struct sigevent *notify,
                   const _Uint64t *ntime, _Uint64t *otime);
int TimerCreate(clockid_t id, const struct sigevent *notify);
int TimerCreate_r(clockid_t id, const struct sigevent *notify);
int TimerDestroy(int id);
int TimerDestroy_r(int id);
int TimerSettime(int id, int flags, const struct _itimer *itime, struct _itimer *oitime);
int TimerSettime_r(int id, int flags, const struct _itimer *itime, struct _itimer *oitime);
int TimerInfo(pid_t pid, int id, int flags, struct _timer_info *info);
int TimerInfo_r(pid_t pid, int id, int flags, struct _timer_info *info);

int SignalKill(_Uint32t nd, pid_t pid, int tid, int signo, int code, int value);
int SignalKill_r(_Uint32t nd, pid_t pid, int tid, int signo, int code, int value);

/* ---------------------------------------------------------------- clocks */

/* A free-running 64-bit counter: here CLOCK_MONOTONIC_RAW in nanoseconds (a 1 GHz counter,
 * SYSPAGE_ENTRY(qtime)->cycles_per_sec in <sys/syspage.h>), the same in every program of the
 * machine. Never fails. */
_Uint64t ClockCycles(void);

/* ClockTime: otime (NULL: not wanted) gets the clock's time in ns, read before ntime (NULL:
 * no change) is set. CLOCK_REALTIME and CLOCK_MONOTONIC; other clocks EINVAL. Setting
 * CLOCK_REALTIME is clock_settime's (EPERM for an unprivileged user, as QNX's without
 * PROCMGR_AID_CLOCKSET); setting CLOCK_MONOTONIC is EINVAL. Nothing is written on failure. */
int ClockTime(clockid_t id, const _Uint64t *ntime, _Uint64t *otime);
int ClockTime_r(clockid_t id, const _Uint64t *ntime, _Uint64t *otime);

/* ClockPeriod: operiod (NULL: not wanted) gets the clock's resolution (clock_getres: nsec,
 * fract 0), for CLOCK_REALTIME and CLOCK_MONOTONIC (others EINVAL). Linux has no tick to
 * change: a new period (nperiod not NULL) is EPERM, as for a QNX process without
 * PROCMGR_AID_CLOCKPERIOD, and nothing is written. reserved is not used. */
struct _clockperiod {
    _Uint32t nsec;
    _Int32t fract;
};
int ClockPeriod(clockid_t id, const struct _clockperiod *nperiod, struct _clockperiod *operiod,
                int reserved);
int ClockPeriod_r(clockid_t id, const struct _clockperiod *nperiod,
                  struct _clockperiod *operiod, int reserved);

/* ---------------------------------------------------------------- threads */

int ThreadCtl(int cmd, void *data);
int ThreadCtl_r(int cmd, void *data);

/* Scheduling, on the simulated priorities (1..255), which order message queues and drive
 * priority inheritance and server boost; Linux's scheduling of the program is not changed
 * (unless the kernel's Config::os_priority asks). The policy numbers are <sched.h>'s: Linux's
 * SCHED_OTHER, SCHED_FIFO, SCHED_RR, and SCHED_NOCHANGE (-1 here; QNX's is 0). tid 0 is the
 * calling thread (pid then ignored); otherwise thread tid of process pid (0 or getpid(): the
 * caller's; another process's too). A new thread is SCHED_RR, as on QNX.
 *
 * SchedGet returns the policy, param->sched_priority the priority as set (getprio() gives the
 * current one, after inheritance and boost). SchedSet sets policy and priority (0 on
 * success): ESRCH no such thread; EINVAL a bad policy or priority; ENOTSUP SCHED_SPORADIC
 * (not provided); EFAULT param NULL. SchedYield is Linux's sched_yield. SchedInfo is not
 * provided (no time slice is simulated): sched_get_priority_min/max give the range. */
int SchedGet(pid_t pid, int tid, struct sched_param *param);
int SchedGet_r(pid_t pid, int tid, struct sched_param *param);
int SchedSet(pid_t pid, int tid, int policy, const struct sched_param *param);
int SchedSet_r(pid_t pid, int tid, int policy, const struct sched_param *param);
int SchedYield(void);
int SchedYield_r(void);

/* ---------------------------------------------------------------- interrupts */

/* Simulated interrupt levels 0 to 255, raised by a simulated device, a test or a tool with
 * qnxsim_interrupt_raise (<qnxsim/interrupt.h>), which stands in for the hardware.
 *
 * InterruptAttach's handler runs in the process's interrupt service thread (a thread of the
 * library, priority 255), with the level masked until it returns; the event it returns (NULL:
 * none) goes to the attaching thread. Unlike a QNX ISR it is ordinary code in a thread. A NULL
 * handler is EINVAL (QNX takes the area as an event then: use InterruptAttachEvent), a NULL
 * event EFAULT; size is not used. InterruptWait's timeout is ignored (QNX documents it as not
 * implemented): bound the wait with TimerTimeout(_NTO_TIMEOUT_INTR), ETIMEDOUT. I/O
 * privileges (ThreadCtl(_NTO_TCTL_IO)) are not required, unlike QNX.
 *
 * "Interrupts", for InterruptDisable and InterruptLock, are this program's handler runs:
 * InterruptDisable keeps every handler from starting (waiting for one under way to end) until
 * InterruptEnable (not nested: one InterruptEnable undoes any number); InterruptLock disables
 * them, then takes the spinlock; InterruptUnlock releases it and enables them. Inside a
 * handler InterruptLock only takes the spinlock, and InterruptDisable/Enable do nothing. */

typedef struct intrspin {
    volatile unsigned value;
} intrspin_t;

#define _NTO_INTR_FLAGS_END 0x01u
#define _NTO_INTR_FLAGS_NO_UNMASK 0x02u
#define _NTO_INTR_FLAGS_PROCESS 0x04u
#define _NTO_INTR_FLAGS_TRK_MSK 0x08u
#define _NTO_INTR_FLAGS_ARRAY 0x10u     /* not accepted here: EINVAL */
#define _NTO_INTR_FLAGS_EXCLUSIVE 0x20u
#define _NTO_INTR_FLAGS_FPU 0x40u       /* not accepted here: EINVAL */

#define _NTO_INTR_WAIT_FLAGS_FAST 0x01u
#define _NTO_INTR_WAIT_FLAGS_UNMASK 0x02u

#define _NTO_INTR_CLASS_EXTERNAL 0x00000000u
#define _NTO_INTR_CLASS_SYNTHETIC 0x7fff0000u
#define _NTO_INTR_SPARE (_NTO_INTR_CLASS_SYNTHETIC | 0xffffu)

int InterruptAttach(int intr, const struct sigevent *(*handler)(void *area, int id),
                    const void *area, int size, unsigned flags);
int InterruptAttach_r(int intr, const struct sigevent *(*handler)(void *area, int id),
                      const void *area, int size, unsigned flags);
int InterruptAttachEvent(int intr, const struct sigevent *event, unsigned flags);
int InterruptAttachEvent_r(int intr, const struct sigevent *event, unsigned flags);
int InterruptAttachThread(int intr, unsigned flags); /* QNX 8 */
int InterruptAttachThread_r(int intr, unsigned flags);
int InterruptDetach(int id);
int InterruptDetach_r(int id);
int InterruptMask(int intr, int id);
int InterruptMask_r(int intr, int id);
int InterruptUnmask(int intr, int id);
int InterruptUnmask_r(int intr, int id);
int InterruptWait(int flags, const _Uint64t *timeout);
int InterruptWait_r(int flags, const _Uint64t *timeout);
void InterruptLock(intrspin_t *spin);
void InterruptUnlock(intrspin_t *spin);
void InterruptDisable(void);
void InterruptEnable(void);

#ifdef __cplusplus
}
#endif

#endif
