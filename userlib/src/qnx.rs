//! The QNX-named API, for porters: the calls of `<sys/neutrino.h>` with QNX's names in snake
//! case, QNX's argument order, and `Result<_, Errno>` where C returns -1 and sets `errno`.
//!
//! The caller is the calling OS thread's kernel thread (see [`crate::current`]): a thread that
//! has not been bound joins the default process on its first call.
//!
//! ```
//! use userlib::qnx::*;
//! use userlib::consts::_NTO_SIDE_CHANNEL;
//!
//! let chid = channel_create(0)?;
//! let server = std::thread::spawn(move || -> Result<(), userlib::Errno> {
//!     let mut buf = [0u8; 64];
//!     let mut info = MsgInfo::default();
//!     let rcvid = msg_receive(chid, &mut buf, Some(&mut info))?;
//!     assert_eq!(&buf[..info.msglen as usize], b"ping");
//!     msg_reply(rcvid, 7, b"pong")
//! });
//! let coid = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)?;
//! let mut reply = [0u8; 4];
//! assert_eq!(msg_send(coid, b"ping", &mut reply)?, 7);
//! assert_eq!(&reply, b"pong");
//! server.join().unwrap()?;
//! connect_detach(coid)?;
//! channel_destroy(chid)?;
//! # Ok::<(), userlib::Errno>(())
//! ```

use crate::current::with_current;
use crate::structs;
use crate::sys;
// The types these calls' signatures name, so that `use userlib::qnx::*` is enough.
pub use kernel_sim::{Errno, Iov, KResult, MsgInfo, Pulse, RcvId, PULSE_SIZE};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// `ChannelCreate(flags)`: a chid (≥ 1). EINVAL unknown flags, EPERM `_NTO_CHF_NET_MSG`,
/// EBUSY a second death channel, EAGAIN no channel left.
pub fn channel_create(flags: u32) -> KResult<i32> {
    with_current(|c| sys::channel_create(c, flags))
}

/// `ChannelDestroy(chid)`: EINVAL unknown chid. Blocked senders, receivers and REPLY-blocked
/// clients leave with ESRCH; later sends on its coids fail with EBADF.
pub fn channel_destroy(chid: i32) -> KResult<()> {
    with_current(|c| sys::channel_destroy(c, chid))
}

/// `ConnectAttach(nd, pid, chid, index, flags)`: a coid. `pid` 0 is the caller's process;
/// `index` `_NTO_SIDE_CHANNEL` gives a side-channel coid, otherwise the lowest free fd-space
/// coid ≥ `index`. ENOREMOTE nd ≠ 0, ESRCH no such pid/chid, EINVAL bad flags or index,
/// EMFILE no coid left, EAGAIN no connection object left, EPERM a private channel.
pub fn connect_attach(nd: u32, pid: i32, chid: i32, index: u32, flags: u32) -> KResult<i32> {
    with_current(|c| sys::connect_attach(c, nd, pid, chid, index, flags))
}

/// `ConnectDetach(coid)`: EINVAL unknown coid. Other threads of this process SEND- or
/// REPLY-blocked on it leave with EBADF.
pub fn connect_detach(coid: i32) -> KResult<()> {
    with_current(|c| sys::connect_detach(c, coid))
}

// ------------------------------------------------------------------------- connection info

/// `_NTO_CI_BKGND_PGRP`: the client is not in its terminal's foreground process group.
pub const _NTO_CI_BKGND_PGRP: u32 = 0x0000_0004;
/// `_NTO_CI_STOPPED`: the client process is stopped (job control, or traced).
pub const _NTO_CI_STOPPED: u32 = 0x0000_0080;

/// `struct _cred_info`: a process's ids (Linux's: the kernel keeps none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredInfo {
    /// Real user id.
    pub ruid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Saved user id.
    pub suid: u32,
    /// Real group id.
    pub rgid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved group id.
    pub sgid: u32,
    /// How many supplementary groups the process has (all of them are in `grouplist`).
    pub ngroups: u32,
    /// The supplementary groups.
    pub grouplist: Vec<u32>,
}

/// `struct _client_info`: who a client process is (named apart from
/// [`crate::iofunc::ClientInfo`], the resource-manager layer's smaller summary, so that both
/// modules can be glob-imported).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientProcessInfo {
    /// Node descriptor: `ND_LOCAL_NODE` (0).
    pub nd: u32,
    /// The client's pid, as its clients name it (`MsgInfo::pid`: in a shared kernel a
    /// program's process has its Linux pid).
    pub pid: i32,
    /// Its Linux session id.
    pub sid: i32,
    /// `_NTO_CI_*`: [`_NTO_CI_STOPPED`], [`_NTO_CI_BKGND_PGRP`].
    pub flags: u32,
    /// Its ids.
    pub cred: CredInfo,
}

/// What Linux says of the Linux process `linux_pid` (its ids from `/proc/<linux_pid>/status`,
/// its session, stop state and process group from `/proc/<linux_pid>/stat`), as the
/// `_client_info` of the simulated process `pid` whose memory it is. The one reader of client
/// credentials (`connect_client_info` and the C library's `ConnectClientInfo` and
/// `iofunc_client_info` use it). ESRCH no such Linux process (it ended); EPERM its status is
/// not readable (a `/proc` mounted with `hidepid`).
pub fn client_info_linux(pid: i32, linux_pid: i32) -> KResult<ClientProcessInfo> {
    if linux_pid <= 0 {
        return Err(Errno::ESRCH);
    }
    let status =
        std::fs::read_to_string(format!("/proc/{linux_pid}/status")).map_err(|e| {
            match e.kind() {
                std::io::ErrorKind::NotFound => Errno::ESRCH,
                _ => Errno::EPERM,
            }
        })?;
    let field = |name: &str| -> Vec<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|rest| {
                rest.split_whitespace()
                    .filter_map(|w| w.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (u, g, groups) = (field("Uid:"), field("Gid:"), field("Groups:"));
    if u.len() < 3 || g.len() < 3 {
        return Err(Errno::EPERM);
    }
    // `/proc/<pid>/stat`: "pid (comm) state ppid pgrp session tty_nr tpgid ...", the command
    // name in parentheses possibly holding spaces and parentheses itself.
    let (mut sid, mut flags) = (0, 0);
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{linux_pid}/stat")) {
        let after = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
        let f: Vec<&str> = after.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        if matches!(f.first(), Some(&"T") | Some(&"t")) {
            flags |= _NTO_CI_STOPPED;
        }
        let (pgrp, tpgid) = (num(2), num(5));
        if tpgid > 0 && tpgid != pgrp {
            flags |= _NTO_CI_BKGND_PGRP;
        }
        sid = i32::try_from(num(3)).unwrap_or(0);
    }
    Ok(ClientProcessInfo {
        nd: kernel_sim::consts::ND_LOCAL_NODE,
        pid,
        sid,
        flags,
        cred: CredInfo {
            ruid: u[0],
            euid: u[1],
            suid: u[2],
            rgid: g[0],
            egid: g[1],
            sgid: g[2],
            ngroups: groups.len() as u32,
            grouplist: groups,
        },
    })
}

/// `ConnectClientInfo(scoid, info, ngroups)`: who the client behind this process's server
/// connection `scoid` is (`MsgInfo::scoid` of its message, or a pulse's `scoid`), or with
/// `scoid` -1 the calling process itself: its pid, session, `_NTO_CI_*` flags and ids, with
/// every supplementary group (Rust has no `ngroups` limit to pass). The kernel names the client
/// process; its ids are Linux's, read at the call ([`client_info_linux`]). The scoid stays
/// valid after the client's last detach while the server holds it (a channel with
/// `_NTO_CHF_DISCONNECT`, until `connect_detach(scoid)`).
///
/// EINVAL no such scoid of this process's (a coid; one freed by its `connect_detach`, by the
/// client's last detach from a channel without `_NTO_CHF_DISCONNECT`, or with its channel);
/// ESRCH the client process has ended; EPERM its ids are not readable.
pub fn connect_client_info(scoid: i32) -> KResult<ClientProcessInfo> {
    let (pid, linux_pid) = with_current(|c| c.connect_client_info(scoid))?;
    client_info_linux(pid, linux_pid)
}

/// `ConnectServerInfo(pid, coid, info)`: the first connection of process `pid` (0: the
/// caller's; any process of the kernel may be inspected) whose coid is `coid` or after it,
/// fd-space coids first, then side-channel coids (`_NTO_SIDE_CHANNEL | n`; server connections
/// are skipped): its coid and its `_server_info` (`nd` the node it was attached with, `pid`
/// the server's, `chid`, `scoid` the server's scoid for it (0 once the channel is gone),
/// `coid`, `flags` `_NTO_COF_CLOEXEC` and `_NTO_COF_DEAD` (the channel is gone); the rest 0).
/// Walk a process's connections with `coid + 1` until EINVAL.
///
/// ESRCH no process `pid`; EINVAL no connection at or after `coid` (or `coid` negative).
pub fn connect_server_info(pid: i32, coid: i32) -> KResult<(i32, MsgInfo)> {
    with_current(|c| c.connect_server_info(pid, coid))
}

/// `ConnectFlags(pid, coid, mask, bits)`: sets the flags of process `pid`'s (0: the caller's)
/// connection `coid` that `mask` selects to their values in `bits`, and returns the flags as
/// they were. Only `_NTO_COF_CLOEXEC` may be changed (`mask` 0 only asks). The flags belong to
/// the connection, so a coid sharing it (a second attach to the same channel without
/// `_NTO_COF_NOSHARE`) sees the change too.
///
/// ESRCH no process `pid`; EBADF `coid` is not one of its client connections; ENOTSUP `mask`
/// names another flag.
pub fn connect_flags(pid: i32, coid: i32, mask: u32, bits: u32) -> KResult<u32> {
    with_current(|c| c.connect_flags(pid, coid, mask, bits))
}

/// `MsgSend(coid, smsg, sbytes, rmsg, rbytes)`: returns the server's reply status.
pub fn msg_send(coid: i32, smsg: &[u8], rmsg: &mut [u8]) -> KResult<i64> {
    with_current(|c| sys::msg_send(c, coid, smsg, rmsg))
}

/// `MsgSendnc`: the same call (there is no thread cancellation here to be a point of).
pub fn msg_sendnc(coid: i32, smsg: &[u8], rmsg: &mut [u8]) -> KResult<i64> {
    msg_send(coid, smsg, rmsg)
}

/// `MsgSendv(coid, siov, sparts, riov, rparts)`.
pub fn msg_sendv(coid: i32, siov: &[&[u8]], riov: &mut [&mut [u8]]) -> KResult<i64> {
    with_current(|c| sys::msg_sendv(c, coid, siov, riov))
}

/// `MsgSendvnc`: the same call as [`msg_sendv`].
pub fn msg_sendvnc(coid: i32, siov: &[&[u8]], riov: &mut [&mut [u8]]) -> KResult<i64> {
    msg_sendv(coid, siov, riov)
}

/// `MsgSendsv(coid, smsg, sbytes, riov, rparts)`: flat send, scattered reply.
pub fn msg_sendsv(coid: i32, smsg: &[u8], riov: &mut [&mut [u8]]) -> KResult<i64> {
    with_current(|c| sys::msg_sendv(c, coid, &[smsg], riov))
}

/// `MsgSendsvnc`: the same call as [`msg_sendsv`].
pub fn msg_sendsvnc(coid: i32, smsg: &[u8], riov: &mut [&mut [u8]]) -> KResult<i64> {
    msg_sendsv(coid, smsg, riov)
}

/// `MsgSendvs(coid, siov, sparts, rmsg, rbytes)`: gathered send, flat reply.
pub fn msg_sendvs(coid: i32, siov: &[&[u8]], rmsg: &mut [u8]) -> KResult<i64> {
    with_current(|c| sys::msg_sendv(c, coid, siov, &mut [rmsg]))
}

/// `MsgSendvsnc`: the same call as [`msg_sendvs`].
pub fn msg_sendvsnc(coid: i32, siov: &[&[u8]], rmsg: &mut [u8]) -> KResult<i64> {
    msg_sendvs(coid, siov, rmsg)
}

/// `MsgSendv` over raw `iov_t`s, the form the C API uses.
///
/// # Safety
/// Every iov must describe memory valid for reads (`siov`) or writes (`riov`) for the whole
/// call and not otherwise accessed meanwhile.
pub unsafe fn msg_sendv_raw(coid: i32, siov: &[Iov], riov: &[Iov]) -> KResult<i64> {
    // SAFETY: forwarded from our caller.
    with_current(|c| unsafe { sys::msg_sendv_raw(c, coid, siov, riov) })
}

/// `MsgReceive(chid, msg, bytes, info)`: an rcvid (> 0) for a message, 0 for a pulse (the
/// buffer then holds a `struct _pulse`; read it with [`Pulse::from_bytes`]). ESRCH unknown
/// chid, EFAULT a buffer smaller than a pulse when a pulse arrives.
pub fn msg_receive(chid: i32, msg: &mut [u8], info: Option<&mut MsgInfo>) -> KResult<RcvId> {
    with_current(|c| sys::msg_receive(c, chid, msg, info))
}

/// `MsgReceivev(chid, iov, parts, info)`.
pub fn msg_receivev(
    chid: i32,
    iov: &mut [&mut [u8]],
    info: Option<&mut MsgInfo>,
) -> KResult<RcvId> {
    with_current(|c| sys::msg_receivev(c, chid, iov, info))
}

/// `MsgReceivePulse(chid, pulse, bytes, info)`: only pulses; messages stay queued.
pub fn msg_receive_pulse(chid: i32, pulse: &mut [u8]) -> KResult<()> {
    with_current(|c| sys::msg_receive_pulse(c, chid, pulse))
}

/// `MsgReply(rcvid, status, msg, bytes)`: ESRCH if `rcvid` is not a REPLY-blocked client of
/// this process (stale, already replied, a pulse's 0).
pub fn msg_reply(rcvid: RcvId, status: i64, msg: &[u8]) -> KResult<()> {
    with_current(|c| sys::msg_reply(c, rcvid, status, msg))
}

/// `MsgReplyv(rcvid, status, iov, parts)`.
pub fn msg_replyv(rcvid: RcvId, status: i64, iov: &[&[u8]]) -> KResult<()> {
    with_current(|c| sys::msg_replyv(c, rcvid, status, iov))
}

/// `MsgError(rcvid, err)`: the client's send fails with `err`; `Errno::EOK` makes it return 0,
/// `Errno::ERESTART` makes it send again.
pub fn msg_error(rcvid: RcvId, err: Errno) -> KResult<()> {
    with_current(|c| sys::msg_error(c, rcvid, err))
}

/// `MsgRead(rcvid, msg, bytes, offset)`: bytes copied from the client's message at `offset`.
pub fn msg_read(rcvid: RcvId, msg: &mut [u8], offset: usize) -> KResult<usize> {
    with_current(|c| sys::msg_read(c, rcvid, msg, offset))
}

/// `MsgReadv(rcvid, iov, parts, offset)`.
pub fn msg_readv(rcvid: RcvId, iov: &mut [&mut [u8]], offset: usize) -> KResult<usize> {
    with_current(|c| sys::msg_readv(c, rcvid, iov, offset))
}

/// `MsgWrite(rcvid, msg, bytes, offset)`: bytes copied into the client's reply buffer at
/// `offset`; the client stays REPLY-blocked until MsgReply/MsgError.
pub fn msg_write(rcvid: RcvId, msg: &[u8], offset: usize) -> KResult<usize> {
    with_current(|c| sys::msg_write(c, rcvid, msg, offset))
}

/// `MsgWritev(rcvid, iov, parts, offset)`.
pub fn msg_writev(rcvid: RcvId, iov: &[&[u8]], offset: usize) -> KResult<usize> {
    with_current(|c| sys::msg_writev(c, rcvid, iov, offset))
}

/// `MsgInfo(rcvid, info)`.
pub fn msg_info(rcvid: RcvId) -> KResult<MsgInfo> {
    with_current(|c| sys::msg_info(c, rcvid))
}

/// `MsgCurrent(rcvid)`: the calling thread resumes work on client `rcvid`'s message (a reply it
/// deferred, or a message another thread of its process received) and, unless the channel is
/// `_NTO_CHF_FIXED_PRIORITY`, takes the client's priority, down as well as up: a boost a higher
/// client gave it is then lost, as on QNX. ESRCH: `rcvid` names no client REPLY-blocked on a
/// channel of this process.
pub fn msg_current(rcvid: RcvId) -> KResult<()> {
    with_current(|c| c.msg_current(rcvid))
}

/// `MsgSendPulse(coid, priority, code, value)`: `priority` -1 (`PULSE_PRIO_CALLER`) is the
/// caller's, else 1..=255; `code` 0..=127 (`_PULSE_CODE_MINAVAIL..=_PULSE_CODE_MAXAVAIL`; the
/// negative codes are the kernel's: EINVAL).
pub fn msg_send_pulse(coid: i32, priority: i16, code: i8, value: i32) -> KResult<()> {
    with_current(|c| sys::msg_send_pulse(c, coid, priority, code, value))
}

/// `TimerTimeout(id, flags, NULL, ntime, NULL)`: a one-shot timeout for the next kernel call
/// in the states `flags` names. `ntime` `None` polls (ETIMEDOUT instead of blocking). `id` is
/// Linux's clock id (`CLOCK_MONOTONIC` or `CLOCK_REALTIME`), else EINVAL. Returns the flags
/// armed before. With `_NTO_TIMEOUT_NANOSLEEP` the call itself sleeps until `ntime` and returns
/// 0 (EINTR if a signal handler runs first), leaving nothing armed, as QNX's nanosleep() uses it.
pub fn timer_timeout(id: i32, flags: u32, ntime: Option<u64>) -> KResult<u32> {
    with_current(|c| sys::timer_timeout(c, id, flags, ntime))
}

/// Sets the calling thread's priority (1..=255, else EINVAL); returns the previous one
/// (what `pthread_setschedprio` / `SchedSet` do on QNX).
pub fn thread_set_priority(prio: i16) -> KResult<i16> {
    // (The previous priority is 1..=255: it fits.)
    with_current(|c| sys::set_priority(c, prio))
}

/// The calling thread's (base, current) priority.
pub fn thread_priority() -> KResult<(i16, i16)> {
    with_current(sys::priority)
}

/// QNX's `struct sched_param`, the members kept here: what SchedGet fills and SchedSet reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedParam {
    /// The priority the thread was given (1..=255), without inheritance or boost.
    pub sched_priority: i16,
    /// Its current priority, after inheritance and boost (SchedGet only; SchedSet ignores it).
    pub sched_curpriority: i16,
}

/// `SchedGet(pid, tid, &param)`: the scheduling policy (`SCHED_FIFO`, `SCHED_RR`,
/// `SCHED_OTHER`: QNX's numbers, in `consts`) and parameters of thread `tid` of process `pid`
/// (0: the caller's); `tid` 0 is the calling thread, once `pid` (if not 0) is found to be a
/// live process, as QNX's SchedGet looks it up first. A new thread is `SCHED_RR`, QNX's
/// default. Errors: ESRCH no such thread, or no such process.
pub fn sched_get(pid: i32, tid: i32) -> KResult<(i32, SchedParam)> {
    with_current(|c| sys::sched_get(c, pid, tid)).map(|(policy, base, cur)| {
        (
            policy,
            SchedParam {
                sched_priority: base,
                sched_curpriority: cur,
            },
        )
    })
}

/// `SchedSet(pid, tid, policy, &param)`: sets the policy (`SCHED_FIFO`, `SCHED_RR`,
/// `SCHED_OTHER`; `SCHED_NOCHANGE` keeps it) and priority (`param.sched_priority`, 1..=255) of
/// the thread [`sched_get`] would name (but with `tid` 0 the calling thread whatever `pid`
/// says, as QNX's SchedSet), which may be a thread of another process. Its current
/// priority follows as for [`thread_set_priority`]: the new one at once (an inherited or
/// boosted one is given up until the next receive or boost), its place in the send queue it
/// waits in, if any, and the server it waits on boosted. The priority is emulated: it orders
/// message queues and drives inheritance and boost, and reaches Linux only where
/// `Config::os_priority` says. Errors: ESRCH no such thread; EINVAL a bad policy or priority;
/// ENOTSUP `SCHED_SPORADIC`, which is not provided.
pub fn sched_set(pid: i32, tid: i32, policy: i32, param: &SchedParam) -> KResult<()> {
    with_current(|c| sys::sched_set(c, pid, tid, policy, param.sched_priority)).map(drop)
}

/// `getpid()` of the simulated process the calling thread belongs to.
pub fn getpid() -> KResult<i32> {
    with_current(|c| Ok(c.pid()))
}

/// `gettid()` within the simulated process.
pub fn gettid() -> KResult<i32> {
    with_current(|c| Ok(c.tid()))
}

pub use kernel_sim::types::{sigev, SigEvent};
pub use kernel_sim::TimerInfo;

/// `MsgReceivePulsev(chid, iov, parts, info)`: only pulses, into scattered buffers.
pub fn msg_receive_pulsev(chid: i32, iov: &mut [&mut [u8]]) -> KResult<()> {
    with_current(|c| sys::msg_receive_pulsev(c, chid, iov))
}

/// `MsgDeliverEvent(rcvid, event)`: delivers `event` to the client `rcvid` names; it need not
/// be REPLY-blocked any more. rcvid 0 is the calling thread.
pub fn msg_deliver_event(rcvid: RcvId, event: &SigEvent) -> KResult<()> {
    with_current(|c| sys::msg_deliver_event(c, rcvid, event))
}

/// `MsgVerifyEvent(rcvid, event)`: checks `event` as MsgDeliverEvent would, delivering nothing.
pub fn msg_verify_event(rcvid: RcvId, event: &SigEvent) -> KResult<()> {
    with_current(|c| sys::msg_verify_event(c, rcvid, event))
}

/// `delay(msec)`: sleeps `msec` milliseconds, NANOSLEEP-blocked in the kernel as on QNX
/// (`TimerTimeout` with `_NTO_TIMEOUT_NANOSLEEP` on `CLOCK_REALTIME`, one kernel entry).
/// Returns 0, or the milliseconds that were left (rounded up) when a signal handler ended
/// the sleep first, as QNX's delay() does. Err only if the thread cannot enter the kernel.
pub fn delay(msec: u32) -> KResult<u32> {
    with_current(|c| sys::delay(c, msec))
}

/// `TimerTimeout(id, flags, notify, ntime, NULL)` with a notification event (`None`:
/// `SIGEV_UNBLOCK`).
pub fn timer_timeout_event(
    id: i32,
    flags: u32,
    notify: Option<&SigEvent>,
    ntime: Option<u64>,
) -> KResult<u32> {
    with_current(|c| sys::timer_timeout_event(c, id, flags, notify, ntime))
}

/// `TimerCreate(id, event)`: a timer delivering `event` (default SIGALRM, with the timer's id as
/// its value) to the calling thread (`SIGEV_SIGNAL_THREAD`: to the thread that last armed it).
pub fn timer_create(id: i32, event: Option<&SigEvent>) -> KResult<i32> {
    with_current(|c| sys::timer_create(c, id, event))
}

/// `TimerSettime(id, flags, itime, oitime)`: first expiry after `value` ns (or at `value` with
/// `TIMER_ABSTIME`), then every `interval` ns; `value` 0 disarms. Returns the old setting.
pub fn timer_settime(id: i32, flags: u32, value: u64, interval: u64) -> KResult<TimerInfo> {
    with_current(|c| sys::timer_settime(c, id, flags, value, interval))
}

/// `TimerInfo(pid, id, flags, info)` for a timer of the calling process: the time left
/// (QNX's `otime`), the expiry time on the timer's clock and the period (QNX's `itime`), ....
pub fn timer_info(id: i32) -> KResult<TimerInfo> {
    with_current(|c| sys::timer_info(c, id))
}

/// `TimerDestroy(id)`.
pub fn timer_destroy(id: i32) -> KResult<()> {
    with_current(|c| sys::timer_destroy(c, id))
}

/// `SIGEV_NONE_INIT(&event)`.
pub fn sigev_none_init() -> SigEvent {
    SigEvent::none()
}

/// `SIGEV_UNBLOCK_INIT(&event)`.
pub fn sigev_unblock_init() -> SigEvent {
    SigEvent::unblock()
}

/// `SIGEV_PULSE_INIT(&event, coid, priority, code, value)`; `priority` -1
/// (`SIGEV_PULSE_PRIO_INHERIT`) uses the receiving thread's priority; `code` is the pulse's
/// (`i8`, as in `struct _pulse`).
pub fn sigev_pulse_init(coid: i32, priority: i16, code: i8, value: i32) -> SigEvent {
    SigEvent::pulse(coid, priority, code, value)
}

/// `SIGEV_SIGNAL_INIT(&event, signo)`.
pub fn sigev_signal_init(signo: i32) -> SigEvent {
    SigEvent::signal(signo)
}

/// `SIGEV_SIGNAL_VALUE_INIT(&event, signo, value)`.
pub fn sigev_signal_value_init(signo: i32, value: i32) -> SigEvent {
    SigEvent::signal_value(signo, value)
}

/// `SIGEV_SIGNAL_CODE_INIT(&event, signo, value, code)`.
pub fn sigev_signal_code_init(signo: i32, value: i32, code: i16) -> SigEvent {
    SigEvent::signal_code(signo, value, code)
}

/// `SIGEV_SIGNAL_THREAD_INIT(&event, signo, value, code)`.
pub fn sigev_signal_thread_init(signo: i32, value: i32, code: i16) -> SigEvent {
    SigEvent::signal_thread(signo, value, code)
}

/// `SIGEV_INTR_INIT(&event)` (delivering it fails with ENOSYS: there are no interrupts here).
pub fn sigev_intr_init() -> SigEvent {
    SigEvent::intr()
}

/// `SignalKill(nd, pid, tid, signo, code, value)`: sends `signo` to simulated process `pid`
/// (0: the caller's) or, with `tid` non-zero, to that thread of it; `signo` 0 only checks that
/// the target exists. The signal does what the program's disposition of it says: its handler
/// runs in the target's thread, or nothing happens (ignored), or, when its default action ends
/// a process, the simulated process is torn down (only it; docs/deviations.md, "Signals").
/// ENOREMOTE `nd` not local, EINVAL `signo` outside 0..=64 or `code` above `SI_USER` (0), ESRCH
/// no such process or thread. `code` is the signal's `si_code` (`SI_USER`, or a negative one),
/// `i16` as `sigevent`'s `sigev_code` carries it.
pub fn signal_kill(nd: u32, pid: i32, tid: i32, signo: i32, code: i16, value: i32) -> KResult<()> {
    with_current(|c| sys::signal_kill(c, nd, pid, tid, signo, code, value))
}

/// `kill(pid, signo)` aimed at a simulated process: [`signal_kill`] with `SI_USER`.
pub fn kill(pid: i32, signo: i32) -> KResult<()> {
    signal_kill(
        kernel_sim::consts::ND_LOCAL_NODE,
        pid,
        0,
        signo,
        kernel_sim::consts::SI_USER as i16,
        0,
    )
}

// ------------------------------------------------------------------------- names

/// What `name_attach` gives back: `name_attach_t`'s channel and name id (its `mntid`). There
/// is no dispatch handle in it: the server receives on `chid` itself, as most QNX name servers
/// do, or names a [`crate::dispatch::Dispatch`]'s channel with [`name_attach_dispatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameAttach {
    /// The channel the name leads to: receive on it.
    pub chid: i32,
    /// The name's id in the kernel's name space.
    pub mntid: i32,
}

/// `name_attach(NULL, path, flags)`: a new channel (`_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT`,
/// and `_NTO_CHF_COID_DISCONNECT` if the process has no death channel yet, as QNX's dispatch
/// layer makes it) that `path` names, for every process of the kernel; in the global name
/// space with `NAME_FLAG_ATTACH_GLOBAL` (one machine: it sits beside the local one, and
/// `name_open` looks there second). The server gets an `_IO_CONNECT` message from each
/// `name_open` (answer it with `msg_reply(rcvid, EOK, ...)`), `_PULSE_CODE_DISCONNECT` when a
/// client's last connection goes (then `connect_detach(scoid)`), and its clients' messages.
/// EINVAL bad flags, an empty path, one starting with `/`, with a `..` component or a NUL;
/// ENAMETOOLONG longer than 127 bytes; EEXIST the name is taken in its space; EAGAIN no channel
/// or name left.
pub fn name_attach(path: &str, flags: u32) -> KResult<NameAttach> {
    use kernel_sim::consts::*;
    if flags & !NAME_FLAG_ATTACH_GLOBAL != 0 {
        return Err(Errno::EINVAL);
    }
    with_current(|c| {
        let base = _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT;
        let chid = match sys::channel_create(c, base | _NTO_CHF_COID_DISCONNECT) {
            Err(Errno::EBUSY) => sys::channel_create(c, base)?,
            r => r?,
        };
        match c.name_attach(chid, path.as_bytes(), flags) {
            Ok(mntid) => Ok(NameAttach { chid, mntid }),
            Err(e) => {
                let _ = sys::channel_destroy(c, chid);
                Err(e)
            }
        }
    })
}

/// `name_attach(dpp, path, flags)` with a dispatch handle: names `dpp`'s channel (made now if
/// the handle has none yet; it counts as an attach, so contexts can be allocated), so that
/// the handle's `dispatch_block`/`dispatch_handler` loop serves the name's clients. With no
/// handler attached for `_IO_CONNECT`, the dispatch layer answers each `name_open`'s
/// `_IO_CONNECT` on this name with EOK itself, and detaches the server connection of an
/// unhandled `_PULSE_CODE_DISCONNECT` ([`crate::dispatch`]; QNX's resource-manager layer does
/// this for a name link, and its docs recommend the EOK answer). [`name_detach`] of it destroys
/// the channel unless `NAME_FLAG_DETACH_SAVEDPP` (then the handle keeps serving). Errors as
/// [`name_attach`], and EINVAL a destroyed handle.
pub fn name_attach_dispatch(
    dpp: &crate::dispatch::Dispatch,
    path: &str,
    flags: u32,
) -> KResult<NameAttach> {
    let (chid, mntid) = dpp.engine().name_attach(path.as_bytes(), flags)?;
    Ok(NameAttach { chid, mntid })
}

/// `name_detach(attach, flags)`: removes the name (a later `name_open` of it: ENOENT) and,
/// unless `NAME_FLAG_DETACH_SAVEDPP`, destroys its channel (connected clients' sends: EBADF).
/// EINVAL bad flags, or not a name of this process and channel.
pub fn name_detach(attach: &NameAttach, flags: u32) -> KResult<()> {
    use kernel_sim::consts::NAME_FLAG_DETACH_SAVEDPP;
    if flags & !NAME_FLAG_DETACH_SAVEDPP != 0 {
        return Err(Errno::EINVAL);
    }
    with_current(|c| {
        c.name_detach(attach.mntid, attach.chid)?;
        if flags & NAME_FLAG_DETACH_SAVEDPP == 0 {
            sys::channel_destroy(c, attach.chid)?;
        }
        Ok(())
    })
}

/// `name_open(name, flags)`: a side-channel coid to the server that attached `name` (a local
/// name first, else a global one), after the server let it in: `name_open` sends it an
/// `_IO_CONNECT` message ([`kernel_sim::types::IoConnect`]: subtype `_IO_CONNECT_OPEN`, file
/// type `_FTYPE_NAME`, `handle` the name's `mntid`, an empty path) and returns once it is
/// answered with EOK. `flags`: 0.
/// EINVAL bad name or flags; ENAMETOOLONG; ENOENT no such name (or its server is exiting);
/// the server's error if it answered one (then no coid is left).
pub fn name_open(name: &str, flags: u32) -> KResult<i32> {
    use kernel_sim::consts::*;
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    with_current(|c| {
        let (pid, chid, id) = c.name_lookup(name.as_bytes())?;
        let coid = match c.connect_attach(
            ND_LOCAL_NODE,
            pid,
            chid,
            _NTO_SIDE_CHANNEL,
            _NTO_COF_CLOEXEC,
        ) {
            // Gone (or going) between the lookup and the attach: as if it had not been found.
            Err(Errno::ESRCH | Errno::ENXIO) => return Err(Errno::ENOENT),
            r => r?,
        };
        let hdr = kernel_sim::types::IoConnect {
            type_: _IO_CONNECT,
            subtype: _IO_CONNECT_OPEN,
            file_type: _FTYPE_NAME,
            ioflag: 3,
            sflag: SH_DENYNO,
            access: _IO_FLAG_RD | _IO_FLAG_WR,
            handle: id as u32,
            path_len: 1,
            ..Default::default()
        };
        let mut msg = [0u8; 41];
        msg[..40].copy_from_slice(&hdr.to_bytes());
        match sys::msg_send(c, coid, &msg, &mut []) {
            Ok(_) => Ok(coid),
            Err(e) => {
                let _ = sys::connect_detach(c, coid);
                Err(e)
            }
        }
    })
}

/// `name_close(coid)`: `connect_detach(coid)`; nothing is sent (the server learns of it from
/// `_PULSE_CODE_DISCONNECT` when this was the client's last connection to it).
pub fn name_close(coid: i32) -> KResult<()> {
    connect_detach(coid)
}

// ------------------------------------------------------------------------- message structs

/// What [`msg_receive_struct`] took: a message, or a pulse.
#[derive(Debug)]
pub enum MsgOrPulse<T> {
    /// A message: its rcvid (answer it with [`msg_reply_struct`] or [`msg_error`]) and the
    /// struct, zero past the bytes that came (the crate docs, "Message structs").
    Msg(RcvId, T),
    /// A pulse (`MsgReceive` returned 0).
    Pulse(Pulse),
}

/// `MsgSend(coid, &smsg, sizeof smsg, &rmsg, sizeof rmsg)` with structs: returns the reply
/// status and the reply. A reply shorter than `R` leaves the rest of it zero.
///
/// `S` is any `IntoBytes + Immutable` type (a `#[repr(C)]` struct without padding, or a slice
/// of them), `R` any `FromBytes` type: derive them with `userlib::zerocopy`.
pub fn msg_send_struct<S, R>(coid: i32, smsg: &S) -> KResult<(i64, R)>
where
    S: IntoBytes + Immutable + ?Sized,
    R: FromBytes,
{
    let mut reply = structs::zeroed(size_of::<R>());
    let status = msg_send(coid, smsg.as_bytes(), &mut reply)?;
    Ok((status, structs::read(&reply)))
}

/// `MsgReceive(chid, &msg, sizeof msg, info)` into a struct: a message, or a pulse (the
/// buffer has room for one even when `T` is smaller than a `struct _pulse`). A message shorter
/// than `T` leaves the rest zero; `info.msglen` says how many of `T`'s bytes came (at most
/// `size_of::<T>()`), `info.srcmsglen` how many the client sent.
pub fn msg_receive_struct<T: FromBytes>(
    chid: i32,
    info: Option<&mut MsgInfo>,
) -> KResult<MsgOrPulse<T>> {
    let mut buf = structs::receive_buf::<T>();
    let mut got = MsgInfo::default();
    let rcvid = msg_receive(chid, &mut buf, Some(&mut got))?;
    if rcvid != 0 {
        structs::cap_msglen::<T>(&mut got);
    }
    if let Some(info) = info {
        *info = got;
    }
    if rcvid == 0 {
        return sys::pulse_in(&buf).map(MsgOrPulse::Pulse);
    }
    Ok(MsgOrPulse::Msg(rcvid, structs::read(&buf)))
}

/// `MsgReply(rcvid, status, &msg, sizeof msg)` with a struct (or a slice of them).
pub fn msg_reply_struct<T>(rcvid: RcvId, status: i64, msg: &T) -> KResult<()>
where
    T: IntoBytes + Immutable + ?Sized,
{
    msg_reply(rcvid, status, msg.as_bytes())
}

/// `MsgRead(rcvid, &msg, sizeof msg, offset)` into a struct: the struct and the bytes read.
/// Past the end of the client's message the struct is zero and the count short of
/// `size_of::<T>()`: check it where that matters (QNX's answer to a short message is
/// `MsgError(rcvid, EBADMSG)`).
pub fn msg_read_struct<T: FromBytes>(rcvid: RcvId, offset: usize) -> KResult<(T, usize)> {
    let mut buf = structs::zeroed(size_of::<T>());
    let n = msg_read(rcvid, &mut buf, offset)?;
    Ok((structs::read(&buf), n))
}

/// `MsgWrite(rcvid, &msg, sizeof msg, offset)` from a struct: bytes written into the client's
/// reply buffer at `offset` (fewer where the buffer ends).
pub fn msg_write_struct<T>(rcvid: RcvId, msg: &T, offset: usize) -> KResult<usize>
where
    T: IntoBytes + Immutable + ?Sized,
{
    msg_write(rcvid, msg.as_bytes(), offset)
}
