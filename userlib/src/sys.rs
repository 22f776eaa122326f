//! The system-call layer: the one place userlib enters the kernel. One function per kernel call
//! the library makes, over the calling thread's [`ThreadCtx`], with the conversions more than
//! one caller needs: a [`Duration`] to the kernel's nanoseconds, the pulse a receive wrote, the
//! widths QNX's signatures give priorities and signal codes.
//!
//! The caller passes its kernel thread in, as a trap passes the caller's registers: finding it
//! is [`crate::current`]'s job (`with_current` for the QNX-named calls, the handles' owning
//! process for the typed handles, the library thread's own for asyncmsg). What the calls mean to
//! a program (their docs, their errno) is said where they are public: [`crate::qnx`],
//! [`crate::typed`], [`crate::asyncmsg`].
//!
//! Not here: what the kernel handle does outside a thread's calls, which QNX's process manager
//! rather than its kernel calls does (creating and tearing down processes, attaching threads:
//! `current.rs`, `process.rs`, asyncmsg's library), and the asyncmsg send queue, which a
//! producer fills in its own memory without entering the kernel (`kernel_sim::asyncq`).

use kernel_sim::asyncq::AsyncQueue;
use kernel_sim::consts::{_NTO_TIMEOUT_NANOSLEEP, CLOCK_MONOTONIC, CLOCK_REALTIME};
use kernel_sim::types::{AsyncConnCounters, AsyncGetHeader, SigEvent};
use kernel_sim::{Errno, Iov, KResult, MsgInfo, Pulse, RcvId, ThreadCtx, TimerInfo};
use std::time::Duration;

// ------------------------------------------------------------------ conversions

/// `d` in the kernel's nanoseconds (a longer one than 2^64 - 1 ns is never).
fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The pulse a receive wrote into `buf` (EFAULT: `buf` is too small to hold one).
pub(crate) fn pulse_in(buf: &[u8]) -> KResult<Pulse> {
    Pulse::from_bytes(buf).ok_or(Errno::EFAULT)
}

// ------------------------------------------------------------------ channels and connections

/// `ChannelCreate`.
#[inline]
pub(crate) fn channel_create(c: &ThreadCtx, flags: u32) -> KResult<i32> {
    c.channel_create(flags)
}

/// `ChannelDestroy`.
#[inline]
pub(crate) fn channel_destroy(c: &ThreadCtx, chid: i32) -> KResult<()> {
    c.channel_destroy(chid)
}

/// `ConnectAttach`.
#[inline]
pub(crate) fn connect_attach(
    c: &ThreadCtx,
    nd: u32,
    pid: i32,
    chid: i32,
    index: u32,
    flags: u32,
) -> KResult<i32> {
    c.connect_attach(nd, pid, chid, index, flags)
}

/// `ConnectDetach`.
#[inline]
pub(crate) fn connect_detach(c: &ThreadCtx, coid: i32) -> KResult<()> {
    c.connect_detach(coid)
}

// ------------------------------------------------------------------ send, receive, reply

/// `MsgSend`.
#[inline]
pub(crate) fn msg_send(c: &ThreadCtx, coid: i32, smsg: &[u8], rmsg: &mut [u8]) -> KResult<i64> {
    c.msg_send(coid, smsg, rmsg)
}

/// `MsgSendv`.
#[inline]
pub(crate) fn msg_sendv(
    c: &ThreadCtx,
    coid: i32,
    siov: &[&[u8]],
    riov: &mut [&mut [u8]],
) -> KResult<i64> {
    c.msg_sendv(coid, siov, riov)
}

/// `MsgSendv` over raw iovs.
///
/// # Safety
/// As [`ThreadCtx::msg_sendv_raw`]: every iov must describe memory valid for reads (`siov`) or
/// writes (`riov`) for the whole call and not otherwise accessed meanwhile.
#[inline]
pub(crate) unsafe fn msg_sendv_raw(
    c: &ThreadCtx,
    coid: i32,
    siov: &[Iov],
    riov: &[Iov],
) -> KResult<i64> {
    // SAFETY: forwarded from our caller.
    unsafe { c.msg_sendv_raw(coid, siov, riov) }
}

/// `MsgReceive`: an rcvid, or 0 for a pulse (read it with [`pulse_in`]).
#[inline]
pub(crate) fn msg_receive(
    c: &ThreadCtx,
    chid: i32,
    msg: &mut [u8],
    info: Option<&mut MsgInfo>,
) -> KResult<RcvId> {
    c.msg_receive(chid, msg, info)
}

/// `MsgReceivev`.
#[inline]
pub(crate) fn msg_receivev(
    c: &ThreadCtx,
    chid: i32,
    iov: &mut [&mut [u8]],
    info: Option<&mut MsgInfo>,
) -> KResult<RcvId> {
    c.msg_receivev(chid, iov, info)
}

/// `MsgReceivePulse`.
#[inline]
pub(crate) fn msg_receive_pulse(c: &ThreadCtx, chid: i32, pulse: &mut [u8]) -> KResult<()> {
    c.msg_receive_pulse(chid, pulse)
}

/// `MsgReceivePulsev`.
#[inline]
pub(crate) fn msg_receive_pulsev(c: &ThreadCtx, chid: i32, iov: &mut [&mut [u8]]) -> KResult<()> {
    c.msg_receive_pulsev(chid, iov)
}

/// `MsgReply`.
#[inline]
pub(crate) fn msg_reply(c: &ThreadCtx, rcvid: RcvId, status: i64, msg: &[u8]) -> KResult<()> {
    c.msg_reply(rcvid, status, msg)
}

/// `MsgReplyv`.
#[inline]
pub(crate) fn msg_replyv(c: &ThreadCtx, rcvid: RcvId, status: i64, iov: &[&[u8]]) -> KResult<()> {
    c.msg_replyv(rcvid, status, iov)
}

/// `MsgError`.
#[inline]
pub(crate) fn msg_error(c: &ThreadCtx, rcvid: RcvId, err: Errno) -> KResult<()> {
    c.msg_error(rcvid, err)
}

/// `MsgRead`.
#[inline]
pub(crate) fn msg_read(
    c: &ThreadCtx,
    rcvid: RcvId,
    msg: &mut [u8],
    offset: usize,
) -> KResult<usize> {
    c.msg_read(rcvid, msg, offset)
}

/// `MsgReadv`.
#[inline]
pub(crate) fn msg_readv(
    c: &ThreadCtx,
    rcvid: RcvId,
    iov: &mut [&mut [u8]],
    offset: usize,
) -> KResult<usize> {
    c.msg_readv(rcvid, iov, offset)
}

/// `MsgWrite`.
#[inline]
pub(crate) fn msg_write(c: &ThreadCtx, rcvid: RcvId, msg: &[u8], offset: usize) -> KResult<usize> {
    c.msg_write(rcvid, msg, offset)
}

/// `MsgWritev`.
#[inline]
pub(crate) fn msg_writev(
    c: &ThreadCtx,
    rcvid: RcvId,
    iov: &[&[u8]],
    offset: usize,
) -> KResult<usize> {
    c.msg_writev(rcvid, iov, offset)
}

/// `MsgInfo`.
#[inline]
pub(crate) fn msg_info(c: &ThreadCtx, rcvid: RcvId) -> KResult<MsgInfo> {
    c.msg_info(rcvid)
}

// ------------------------------------------------------------------ pulses and events

/// `MsgSendPulse`.
#[inline]
pub(crate) fn msg_send_pulse(
    c: &ThreadCtx,
    coid: i32,
    priority: i16,
    code: i8,
    value: i32,
) -> KResult<()> {
    c.msg_send_pulse(coid, priority, code, value)
}

/// `MsgDeliverEvent`.
#[inline]
pub(crate) fn msg_deliver_event(c: &ThreadCtx, rcvid: RcvId, event: &SigEvent) -> KResult<()> {
    c.msg_deliver_event(rcvid, event)
}

/// `MsgVerifyEvent`.
#[inline]
pub(crate) fn msg_verify_event(c: &ThreadCtx, rcvid: RcvId, event: &SigEvent) -> KResult<()> {
    c.msg_verify_event(rcvid, event)
}

/// `SignalKill`, with the signal's code as `sigevent`'s `sigev_code` carries it (`i16`).
#[inline]
pub(crate) fn signal_kill(
    c: &ThreadCtx,
    nd: u32,
    pid: i32,
    tid: i32,
    signo: i32,
    code: i16,
    value: i32,
) -> KResult<()> {
    c.signal_kill(nd, pid, tid, signo, code.into(), value)
}

// ------------------------------------------------------------------ priorities

/// Sets the calling thread's priority; returns the previous one.
#[inline]
pub(crate) fn set_priority(c: &ThreadCtx, prio: i16) -> KResult<i16> {
    c.set_priority(prio)
}

/// The calling thread's (base, current) priority, as the `i16`s priorities are everywhere else.
#[inline]
pub(crate) fn priority(c: &ThreadCtx) -> KResult<(i16, i16)> {
    c.priority().map(|(base, cur)| (base.into(), cur.into()))
}

/// `SchedGet`: (policy, base priority, current priority).
#[inline]
pub(crate) fn sched_get(c: &ThreadCtx, pid: i32, tid: i32) -> KResult<(i32, i16, i16)> {
    c.sched_get(pid, tid)
}

/// `SchedSet`: returns the previous current priority.
#[inline]
pub(crate) fn sched_set(c: &ThreadCtx, pid: i32, tid: i32, policy: i32, prio: i16) -> KResult<i16> {
    c.sched_set(pid, tid, policy, prio)
}

// ------------------------------------------------------------------ timeouts and timers

/// `TimerTimeout`.
#[inline]
pub(crate) fn timer_timeout(
    c: &ThreadCtx,
    id: i32,
    flags: u32,
    ntime: Option<u64>,
) -> KResult<u32> {
    c.timer_timeout(id, flags, ntime)
}

/// `TimerTimeout` with a notification event.
#[inline]
pub(crate) fn timer_timeout_event(
    c: &ThreadCtx,
    id: i32,
    flags: u32,
    notify: Option<&SigEvent>,
    ntime: Option<u64>,
) -> KResult<u32> {
    c.timer_timeout_event(id, flags, notify, ntime)
}

/// `delay(msec)`: TimerTimeout's `_NTO_TIMEOUT_NANOSLEEP` on `CLOCK_REALTIME`, as QNX's
/// delay() sleeps (NANOSLEEP-blocked in the kernel); the milliseconds left, rounded up, when a
/// signal (or a `SIGEV_UNBLOCK` event) ends the sleep first, else 0.
pub(crate) fn delay(c: &ThreadCtx, msec: u32) -> KResult<u32> {
    let mut left = 0u64;
    let slept = c.timer_timeout_otime(
        CLOCK_REALTIME,
        _NTO_TIMEOUT_NANOSLEEP,
        None,
        Some(u64::from(msec) * 1_000_000),
        Some(&mut left),
    );
    match slept {
        Ok(_) => Ok(0),
        Err(Errno::EINTR | Errno::ETIMEDOUT) => {
            Ok(u32::try_from(left.div_ceil(1_000_000)).map_or(msec, |ms| ms.min(msec)))
        }
        Err(e) => Err(e),
    }
}

/// A one-shot timeout of `after` on `CLOCK_MONOTONIC` for the calling thread's next kernel call
/// in the states `states` names (what every bounded call of the handles arms).
#[inline]
pub(crate) fn timeout(c: &ThreadCtx, states: u32, after: Duration) -> KResult<()> {
    c.timer_timeout(CLOCK_MONOTONIC, states, Some(ns(after)))
        .map(drop)
}

/// `TimerCreate`.
#[inline]
pub(crate) fn timer_create(c: &ThreadCtx, clock: i32, event: Option<&SigEvent>) -> KResult<i32> {
    c.timer_create(clock, event)
}

/// `TimerSettime`.
#[inline]
pub(crate) fn timer_settime(
    c: &ThreadCtx,
    id: i32,
    flags: u32,
    value: u64,
    interval: u64,
) -> KResult<TimerInfo> {
    c.timer_settime(id, flags, value, interval)
}

/// Arms timer `id` to expire `first` from now, then every `period` (zero: once). A zero `first`
/// still arms it, for the shortest time (a zero value would disarm it).
#[inline]
pub(crate) fn timer_start(
    c: &ThreadCtx,
    id: i32,
    first: Duration,
    period: Duration,
) -> KResult<()> {
    let period = if period.is_zero() {
        0
    } else {
        ns(period).max(1)
    };
    c.timer_settime(id, 0, ns(first).max(1), period).map(drop)
}

/// Disarms timer `id`.
#[inline]
pub(crate) fn timer_stop(c: &ThreadCtx, id: i32) -> KResult<()> {
    c.timer_settime(id, 0, 0, 0).map(drop)
}

/// `TimerInfo`.
#[inline]
pub(crate) fn timer_info(c: &ThreadCtx, id: i32) -> KResult<TimerInfo> {
    c.timer_info(id)
}

/// `TimerDestroy`.
#[inline]
pub(crate) fn timer_destroy(c: &ThreadCtx, id: i32) -> KResult<()> {
    c.timer_destroy(id)
}

// ------------------------------------------------------------------ asyncmsg

/// asyncmsg_channel_create's kernel call.
#[inline]
pub(crate) fn async_channel_create(
    c: &ThreadCtx,
    flags: u32,
    buffer_size: usize,
    max_num_buffer: u32,
    event: Option<&SigEvent>,
) -> KResult<i32> {
    c.async_channel_create(flags, buffer_size, max_num_buffer, event)
}

/// asyncmsg_connect_attach's kernel call: a connection whose messages the kernel takes from
/// `queue`, pulsing the library on `notify_coid`.
///
/// # Safety
/// As [`ThreadCtx::async_connect_attach`]: `queue` must stay alive (not moved, not dropped)
/// until the connection is detached, and every message descriptor pushed on it must stay valid
/// until its slot is released.
#[allow(clippy::too_many_arguments)] // ConnectAttachExt's own arguments
#[inline]
pub(crate) unsafe fn async_connect_attach(
    c: &ThreadCtx,
    nd: u32,
    pid: i32,
    chid: i32,
    index: u32,
    flags: u32,
    queue: &AsyncQueue,
    notify_coid: i32,
) -> KResult<i32> {
    // SAFETY: forwarded from our caller.
    unsafe { c.async_connect_attach(nd, pid, chid, index, flags, queue, notify_coid) }
}

/// `MsgSendAsync`, the asyncmsg trigger, for the connection whose queue is `queue` (EBADF if
/// `coid` names another connection now).
#[inline]
pub(crate) fn msg_send_async(c: &ThreadCtx, coid: i32, queue: &AsyncQueue) -> KResult<u32> {
    c.msg_send_async_on(coid, queue)
}

/// `MsgReceiveAsync`: up to `hdrs.len()` messages into `arena`.
#[inline]
pub(crate) fn msg_receive_async(
    c: &ThreadCtx,
    chid: i32,
    arena: &mut [u8],
    hdrs: &mut [AsyncGetHeader],
) -> KResult<usize> {
    c.msg_receive_async(chid, arena, hdrs)
}

/// The kernel's counters of asyncmsg connection `coid`.
#[inline]
pub(crate) fn async_conn_counters(c: &ThreadCtx, coid: i32) -> KResult<AsyncConnCounters> {
    c.async_conn_counters(coid)
}
