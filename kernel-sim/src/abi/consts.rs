//! QNX constants, with QNX's names and values (`<sys/neutrino.h>`; docs/deviations.md, "Sources").
#![allow(missing_docs)]

// Channel flags (ChannelCreate).
pub const _NTO_CHF_FIXED_PRIORITY: u32 = 0x0001;
pub const _NTO_CHF_UNBLOCK: u32 = 0x0002;
pub const _NTO_CHF_THREAD_DEATH: u32 = 0x0004;
pub const _NTO_CHF_DISCONNECT: u32 = 0x0008;
pub const _NTO_CHF_NET_MSG: u32 = 0x0010;
pub const _NTO_CHF_SENDER_LEN: u32 = 0x0020;
pub const _NTO_CHF_COID_DISCONNECT: u32 = 0x0040;
pub const _NTO_CHF_REPLY_LEN: u32 = 0x0080;
pub const _NTO_CHF_ASYNC_NONBLOCK: u32 = 0x0200;
pub const _NTO_CHF_ASYNC: u32 = 0x0400;
pub const _NTO_CHF_GLOBAL: u32 = 0x0800;
pub const _NTO_CHF_PRIVATE: u32 = 0x1000;

/// The channel flags ChannelCreate accepts here; any other bit is EINVAL.
pub const CHF_ACCEPTED: u32 = _NTO_CHF_FIXED_PRIORITY
    | _NTO_CHF_UNBLOCK
    | _NTO_CHF_THREAD_DEATH
    | _NTO_CHF_DISCONNECT
    | _NTO_CHF_NET_MSG
    | _NTO_CHF_SENDER_LEN
    | _NTO_CHF_COID_DISCONNECT
    | _NTO_CHF_REPLY_LEN
    | _NTO_CHF_PRIVATE;

// Connect flags (ConnectAttach).
pub const _NTO_COF_CLOEXEC: u32 = 0x0001;
pub const _NTO_COF_DEAD: u32 = 0x0002;
pub const _NTO_COF_NOSHARE: u32 = 0x0040;
pub const _NTO_COF_NETCON: u32 = 0x0080;
pub const _NTO_COF_NONBLOCK: u32 = 0x0100;
pub const _NTO_COF_ASYNC: u32 = 0x0200;
pub const _NTO_COF_GLOBAL: u32 = 0x0400;

/// The connect flags ConnectAttach accepts here; any other bit is EINVAL.
pub const COF_ACCEPTED: u32 = _NTO_COF_CLOEXEC | _NTO_COF_NOSHARE;

pub const _NTO_SIDE_CHANNEL: u32 = 0x4000_0000;
pub const ND_LOCAL_NODE: u32 = 0;

// _msg_info flags (MsgReceive, MsgInfo): the type of `MsgInfo::flags` (C's `_Int16t flags`),
// so that `info.flags & _NTO_MI_UNBLOCK_REQ` needs no cast.
pub const _NTO_MI_ENDIAN_BIG: i16 = 0x0001;
pub const _NTO_MI_ENDIAN_DIFF: i16 = 0x0002;
pub const _NTO_MI_UNBLOCK_REQ: i16 = 0x0100;
// Set by QNX for network and confined clients; never set here (every client is local).
pub const _NTO_MI_NET_CRED_DIRTY: i16 = 0x0200;
pub const _NTO_MI_CONSTRAINED: i16 = 0x0400;
pub const _NTO_MI_CHROOT: i16 = 0x0800;
pub const _NTO_MI_BITS_64: i16 = 0x1000;
pub const _NTO_MI_BITS_DIFF: i16 = 0x2000;
pub const _NTO_MI_SANDBOX: i16 = 0x4000;

// Pulse codes (`struct _pulse`).
pub const _PULSE_TYPE: u16 = 0;
pub const _PULSE_SUBTYPE: u16 = 0;
pub const _PULSE_CODE_UNBLOCK: i8 = -32;
pub const _PULSE_CODE_DISCONNECT: i8 = -33;
pub const _PULSE_CODE_THREADDEATH: i8 = -34;
pub const _PULSE_CODE_COIDDEATH: i8 = -35;
// Codes this kernel never sends (Qnet's, and QNX 7's MsgPause and _NTO_CHF_UNBLOCK_TIMER
// ones), for servers whose pulse switch names them.
pub const _PULSE_CODE_NET_ACK: i8 = -36;
pub const _PULSE_CODE_NET_UNBLOCK: i8 = -37;
pub const _PULSE_CODE_NET_DETACH: i8 = -38;
pub const _PULSE_CODE_RESTART: i8 = -39;
pub const _PULSE_CODE_NORESTART: i8 = -40;
pub const _PULSE_CODE_UNBLOCK_RESTART: i8 = -41;
pub const _PULSE_CODE_UNBLOCK_TIMER: i8 = -42;
pub const _PULSE_CODE_MINAVAIL: i8 = 0;
pub const _PULSE_CODE_MAXAVAIL: i8 = 127;

// Thread states (`<sys/states.h>`).
pub const STATE_DEAD: u32 = 0;
pub const STATE_RUNNING: u32 = 1;
pub const STATE_READY: u32 = 2;
pub const STATE_SEND: u32 = 4;
pub const STATE_RECEIVE: u32 = 5;
pub const STATE_REPLY: u32 = 6;
pub const STATE_NANOSLEEP: u32 = 12;
pub const STATE_INTR: u32 = 16;

// Interrupt attachment flags (InterruptAttach, InterruptAttachEvent).
pub const _NTO_INTR_FLAGS_END: u32 = 0x01;
pub const _NTO_INTR_FLAGS_NO_UNMASK: u32 = 0x02;
pub const _NTO_INTR_FLAGS_PROCESS: u32 = 0x04;
pub const _NTO_INTR_FLAGS_TRK_MSK: u32 = 0x08;
pub const _NTO_INTR_FLAGS_EXCLUSIVE: u32 = 0x20;
/// Every flag an attachment may be given here (`_NTO_INTR_FLAGS_ARRAY` and `_FPU` are not).
pub const _NTO_INTR_FLAGS_ALL: u32 = _NTO_INTR_FLAGS_END
    | _NTO_INTR_FLAGS_NO_UNMASK
    | _NTO_INTR_FLAGS_PROCESS
    | _NTO_INTR_FLAGS_TRK_MSK
    | _NTO_INTR_FLAGS_EXCLUSIVE;
// InterruptWait flags (QNX 8; 0 on QNX 7).
pub const _NTO_INTR_WAIT_FLAGS_FAST: u32 = 0x01;
pub const _NTO_INTR_WAIT_FLAGS_UNMASK: u32 = 0x02;

// Timeout flags (TimerTimeout).
pub const _NTO_TIMEOUT_SEND: u32 = 1 << 4;
pub const _NTO_TIMEOUT_RECEIVE: u32 = 1 << 5;
pub const _NTO_TIMEOUT_REPLY: u32 = 1 << 6;
pub const _NTO_TIMEOUT_SIGSUSPEND: u32 = 1 << 10;
pub const _NTO_TIMEOUT_SIGWAITINFO: u32 = 1 << 11;
pub const _NTO_TIMEOUT_NANOSLEEP: u32 = 1 << 12;
pub const _NTO_TIMEOUT_MUTEX: u32 = 1 << 13;
pub const _NTO_TIMEOUT_CONDVAR: u32 = 1 << 14;
pub const _NTO_TIMEOUT_JOIN: u32 = 1 << 15;
pub const _NTO_TIMEOUT_INTR: u32 = 1 << 16;
pub const _NTO_TIMEOUT_SEM: u32 = 1 << 17;
/// The bits of TimerTimeout's `flags` that name states (`(1 << STATE_MAX) - 1`).
pub const _NTO_TIMEOUT_MASK: u32 = (1 << 24) - 1;
pub const _NTO_TIMEOUT_ACTIVE: u32 = 1 << 24;
pub const _NTO_TIMEOUT_IMMEDIATE: u32 = 1 << 25;
pub const TIMER_ABSTIME: u32 = 0x8000_0000;

// Clock ids (TimerTimeout, TimerCreate): Linux's values, which the kernel uses (QNX's
// CLOCK_MONOTONIC is 2: docs/deviations.md).
pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;

// Priorities: `i16`, the type of the C structs' priority fields (`_msg_info`'s `priority`,
// `sigevent`'s `sigev_priority`).
pub const PRIO_MIN: i16 = 1;
pub const PRIO_MAX: i16 = 255;
/// The priority a thread gets when none is given (QNX's default for a new thread).
pub const PRIO_DEFAULT: i16 = 10;
/// `MsgSendPulse` priority meaning "the caller's".
pub const PULSE_PRIO_CALLER: i16 = -1;

// Scheduling policies, QNX's `<sched.h>` numbers (what SchedGet returns and SchedSet takes; C
// programs here compile against Linux's, which libqnxsim maps).
/// SchedSet: keep the thread's policy, set only its priority.
pub const SCHED_NOCHANGE: i32 = 0;
/// First in, first out within a priority.
pub const SCHED_FIFO: i32 = 1;
/// Round robin within a priority (QNX's default for a new thread).
pub const SCHED_RR: i32 = 2;
/// QNX's "other": currently round robin.
pub const SCHED_OTHER: i32 = 3;
/// Sporadic scheduling: not provided here (SchedSet refuses it with ENOTSUP).
pub const SCHED_SPORADIC: i32 = 4;

// asyncmsg: the pulse codes of the library's private channel (one place for all of them).
/// The kernel took messages from a connection (value: the connection's coid): release their
/// slots and run their callbacks.
pub const PULSE_CODE_TAKEN: i8 = b'P' as i8;
/// A connection's time trigger expired (value: the connection's coid).
pub const PULSE_CODE_TIMER: i8 = b'T' as i8;
/// Work for the library thread was queued by another thread (callbacks to run).
pub const PULSE_CODE_JOBS: i8 = b'J' as i8;

// Signal codes (`si_code`), Linux's values: what a signal's handler finds in its `siginfo_t`.
/// A signal queued by a program (`SI_QUEUE`): SignalKill and events with a negative code.
pub const SI_QUEUE: i32 = -1;
/// Linux's `SI_TKILL`, which only `tgkill` may use.
pub const SI_TKILL: i32 = -6;
/// A signal sent by `kill()` (`SI_USER`).
pub const SI_USER: i32 = 0;

// ---------------------------------------------------------------- names (<sys/dispatch.h>)

/// `name_attach`: the name goes in the global name space (one machine: beside the local one).
pub const NAME_FLAG_ATTACH_GLOBAL: u32 = 0x2;
/// `name_detach`: keep the channel (QNX: the dispatch handle).
pub const NAME_FLAG_DETACH_SAVEDPP: u32 = 0x1;

// ---------------------------------------------------------------- <sys/iomsg.h>

/// `_IO_BASE`: the first I/O message type.
pub const _IO_BASE: u16 = 0x100;
/// `_IO_CONNECT`: the message `name_open` (and `open`) sends first.
pub const _IO_CONNECT: u16 = 0x100;
/// `_IO_MAX`: the last I/O message type; programs number theirs from `_IO_MAX + 1`.
pub const _IO_MAX: u16 = 0x1FF;
/// `_IO_CONNECT_OPEN`: the connect subtype of an open.
pub const _IO_CONNECT_OPEN: u16 = 2;
/// `_FTYPE_NAME`: the file type `name_open` asks for.
pub const _FTYPE_NAME: u32 = 12;
/// `_IO_FLAG_RD`, `_IO_FLAG_WR`: access in an `_IO_CONNECT`.
pub const _IO_FLAG_RD: u16 = 0x1;
/// See [`_IO_FLAG_RD`].
pub const _IO_FLAG_WR: u16 = 0x2;
/// `SH_DENYNO`: the share mode `name_open` asks for.
pub const SH_DENYNO: u16 = 0x40;

// ---------------------------------------------------------------- the path manager (<sys/resmgr.h>, <sys/ftype.h>)

/// `_RESMGR_FLAG_BEFORE`: resolve before the other servers on the same mountpoint.
pub const _RESMGR_FLAG_BEFORE: u32 = 0x0001;
/// `_RESMGR_FLAG_AFTER`: resolve after the other servers on the same mountpoint.
pub const _RESMGR_FLAG_AFTER: u32 = 0x0002;
/// `_RESMGR_FLAG_OPAQUE`: hide the servers of shorter mountpoints.
pub const _RESMGR_FLAG_OPAQUE: u32 = 0x0004;
/// `_RESMGR_FLAG_FTYPEONLY`: match only requests for exactly the entry's file type.
pub const _RESMGR_FLAG_FTYPEONLY: u32 = 0x0008;
/// `_RESMGR_FLAG_FTYPEALL`: match requests of every file type.
pub const _RESMGR_FLAG_FTYPEALL: u32 = 0x0010;
/// `_RESMGR_FLAG_DIR`: a directory mountpoint: also the paths below it.
pub const _RESMGR_FLAG_DIR: u32 = 0x0100;
/// `_RESMGR_FLAG_SELF`: the owning process's own lookups may resolve to it.
pub const _RESMGR_FLAG_SELF: u32 = 0x0200;
/// `_RESMGR_FLAG_MASK`: the flags the path manager accepts.
pub const _RESMGR_FLAG_MASK: u32 = 0x031F;

/// `_FTYPE_ANY`: a request that matches entries of every file type.
pub const _FTYPE_ANY: u32 = 0;
/// `_FTYPE_ALL` (-1): an entry that matches requests of every file type.
pub const _FTYPE_ALL: u32 = u32::MAX;
/// `_FTYPE_MATCHED` (-1): same value as [`_FTYPE_ALL`].
pub const _FTYPE_MATCHED: u32 = u32::MAX;
/// `_FTYPE_FILE`.
pub const _FTYPE_FILE: u32 = 1;
/// `_FTYPE_LINK`.
pub const _FTYPE_LINK: u32 = 2;
/// `_FTYPE_SYMLINK`.
pub const _FTYPE_SYMLINK: u32 = 3;
/// `_FTYPE_PIPE`.
pub const _FTYPE_PIPE: u32 = 4;
/// `_FTYPE_SHMEM`.
pub const _FTYPE_SHMEM: u32 = 5;
/// `_FTYPE_MQUEUE`.
pub const _FTYPE_MQUEUE: u32 = 6;
/// `_FTYPE_SOCKET`.
pub const _FTYPE_SOCKET: u32 = 7;
/// `_FTYPE_SEM`.
pub const _FTYPE_SEM: u32 = 8;
/// `_FTYPE_PHOTON`.
pub const _FTYPE_PHOTON: u32 = 9;
/// `_FTYPE_DUMPER`.
pub const _FTYPE_DUMPER: u32 = 10;
/// `_FTYPE_MOUNT`.
pub const _FTYPE_MOUNT: u32 = 11;
/// `_FTYPE_TYMEM`.
pub const _FTYPE_TYMEM: u32 = 13;
