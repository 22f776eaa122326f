//! Asynchronous messaging, the kernel's part: asyncmsg channels and connections, the trigger
//! (`MsgSendAsync`: once per batch, not per message) and the batch receive
//! (`MsgReceiveAsync`). The sender's half, the queue that `asyncmsg_put` fills without entering
//! the kernel, is [`crate::abi::asyncq::AsyncQueue`]; the library around both is in `userlib`.
//!
//! A trigger links the connection into its channel's FIFO of ready connections (once) and
//! either wakes a RECEIVE-blocked receiver (which takes the batch itself) or delivers the channel's event
//! (when the FIFO goes from empty to non-empty). A receive walks the ready connections in
//! order, taking each one's messages in queue order (per-connection FIFO), copying them from
//! the sender's buffers straight into the receiver's, until it has `max` messages; a connection
//! it could not drain goes to the back of the FIFO (round-robin). Each message longer than the
//! channel's buffer size is delivered as an error (EMSGSIZE) without data; those behind it
//! still arrive. No priority inheritance (asyncmsg receivers do not inherit).

use super::{connect, Caller, Effects, Step};
use crate::abi::asyncq::{AsyncQueue, AQ_PULSE_PENDING, AQ_WANT_PULSE};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::{AsyncGetHeader, MsgInfo, SigEvent};
use crate::copy::{self, IovList};
use crate::objects::thread::{CallResult, RecvDesc};
use crate::objects::{AsyncChannel, AsyncConn, Channel, ChannelKind, ConnKind};
use crate::pool::{Id, NIL};
use crate::region::Tables;

/// The channel flags an asyncmsg channel accepts.
pub const ASYNC_CHF_ACCEPTED: u32 = _NTO_CHF_ASYNC_NONBLOCK | _NTO_CHF_ASYNC | _NTO_CHF_PRIVATE;

/// asyncmsg_channel_create's kernel call (ChannelCreateExt): an asyncmsg channel whose
/// receives take up to `max_num_buffer` messages of at most `buffer_size` bytes, delivering
/// `event` (to the calling thread) when messages become available. EINVAL for a `buffer_size`
/// above [`crate::abi::asyncq::MAX_STORED_LEN`] (a clipped length must never fit a buffer).
pub fn channel_create(
    t: &mut Tables<'_>,
    me: Caller,
    flags: u32,
    buffer_size: u64,
    max_num_buffer: u32,
    event: Option<SigEvent>,
    fx: &mut Effects,
) -> KResult<Step> {
    if flags & !ASYNC_CHF_ACCEPTED != 0
        || buffer_size == 0
        || max_num_buffer == 0
        || buffer_size > crate::abi::asyncq::MAX_STORED_LEN
    {
        return Err(Errno::EINVAL);
    }
    if let Some(ev) = &event {
        super::event::deliver(t, me.thread.index, ev, true, fx)?;
    }
    let chid = match super::channel::channel_create(t, me, 0) {
        Ok(Step::Done(chid)) => chid as i32,
        other => return other,
    };
    let chan = t.chan_of(me.proc, chid).unwrap_or(Id::NONE);
    let c = t.chans.at_mut(chan.index);
    c.flags = flags | _NTO_CHF_ASYNC;
    c.kind = ChannelKind::Async(AsyncChannel::new(
        buffer_size,
        max_num_buffer,
        event,
        me.thread,
    ));
    Ok(Step::Done(chid as i64))
}

/// asyncmsg_connect_attach's kernel call (ConnectAttachExt): a connection (never shared) to
/// asyncmsg channel `chid` of `pid`, whose messages the kernel reads from the queue at `aq` in
/// the caller's memory, pulsing the caller's library on `notify_coid` when it takes some.
///
/// # Safety
/// `aq` must point at an [`AsyncQueue`] that stays alive until this connection is detached.
#[allow(clippy::too_many_arguments)]
pub unsafe fn connect_attach(
    t: &mut Tables<'_>,
    me: Caller,
    nd: u32,
    pid: i32,
    chid: i32,
    index: u32,
    flags: u32,
    aq: u64,
    notify_coid: i32,
) -> KResult<Step> {
    if aq == 0 {
        return Err(Errno::EINVAL);
    }
    // The kernel reads the queue at `aq` in the caller's memory from the receiver's thread:
    // both must be in one Linux process (a shared kernel's asyncmsg across processes needs
    // the queue in shared memory: not yet).
    if let Some(target) = t.proc_by_pid(pid) {
        if t.procs.at(target.index).os_pid != t.procs.at(me.proc.index).os_pid {
            return Err(Errno::ENOTSUP);
        }
    }
    // The notification pulse first: a connection that could not tell its library what the
    // kernel took would strand callbacks, so no pulse, no connection (EAGAIN).
    let pulse = if notify_coid >= 0 {
        super::pulse::reserve(t)?
    } else {
        NIL
    };
    let r = connect::attach(t, me, nd, pid, chid, index, flags | _NTO_COF_NOSHARE, true);
    let Ok(Step::Done(coid)) = r else {
        if pulse != NIL {
            super::pulse::unreserve(t, pulse);
        }
        return r;
    };
    let coid = coid as i32;
    if let Ok(conn) = t.conn_of(me.proc, coid) {
        t.conns.at_mut(conn.index).kind =
            ConnKind::Async(AsyncConn::new(aq, coid, notify_coid, pulse));
    }
    Ok(Step::Done(coid as i64))
}

/// The sender queue of live asyncmsg connection `c`. The reference is not tied to the tables'
/// borrow: callers use it only while the connection stays live, within one kernel call.
fn queue_of<'q>(c: &AsyncConn) -> &'q AsyncQueue {
    debug_assert_ne!(c.queue, 0, "a released queue is never read");
    // SAFETY: `queue` was given to `connect_attach` with the promise that the queue outlives
    // the connection; the connection is live (we reached it through the tables under the
    // lock), has not released the queue (callers check `queue != 0`), and nothing in the
    // current kernel call frees it while the reference is used.
    unsafe { &*(c.queue as *const AsyncQueue) }
}

/// The asyncmsg state of live asyncmsg connection slot `ci` (its kind never changes while it
/// lives: callers reached it as an asyncmsg connection).
fn aconn(t: &Tables<'_>, ci: u32) -> AsyncConn {
    t.conns
        .at(ci)
        .asyncmsg()
        .copied()
        .unwrap_or(AsyncConn::new(0, -1, -1, NIL))
}

/// MsgSendAsync: the trigger. Links the connection into its channel's ready list if it has
/// messages pending, hands a batch to a waiting receiver or delivers the channel's event.
/// EBADF if `coid` is not an asyncmsg connection, is not the one whose queue is at `expect_aq`
/// (when given), or its channel is gone. Returns the number of messages pending.
pub fn msg_send_async(
    t: &mut Tables<'_>,
    me: Caller,
    coid: i32,
    expect_aq: Option<u64>,
    cpu: i32,
    fx: &mut Effects,
) -> KResult<Step> {
    let conn = t.conn_of(me.proc, coid)?;
    let chan = t.conns.at(conn.index).chan;
    let Some(ac) = t.conns.at(conn.index).asyncmsg().copied() else {
        return Err(Errno::EBADF);
    };
    let Some(ach) = t.chans.get(chan).and_then(|c| c.asyncmsg()).copied() else {
        return Err(Errno::EBADF);
    };
    if ac.queue == 0 || expect_aq.is_some_and(|e| e != ac.queue) {
        return Err(Errno::EBADF);
    }
    t.counters(me.proc).async_triggers += 1;
    if let Some(a) = t.chans.at_mut(chan.index).asyncmsg_mut() {
        a.last_trigger_cpu = cpu;
    }
    let pending = queue_of(&ac).pending();
    if pending == 0 {
        return Ok(Step::Done(0));
    }
    if let Some(c) = t.conns.at_mut(conn.index).asyncmsg_mut() {
        c.batches += 1;
    }
    if ac.in_ready() {
        return Ok(Step::Done(pending as i64));
    }
    let was_empty = ach.ready() == 0;
    t.ready_list_push(chan, conn.index);
    if let Some(r) = t.receiver(chan, false) {
        // Wake a waiting receiver to take the batch itself: the copy then runs on the
        // receiver's thread, not on the sender's, which goes back to producing.
        t.ready(r, CallResult::Retry, fx);
    } else if let (true, Some(ev)) = (was_empty, ach.event) {
        let (creator, owner) = (ach.creator, t.chans.at(chan.index).owner);
        let target = if t.threads.get(creator).is_some() {
            Some(creator.index)
        } else {
            t.procs.get(owner).map(|p| p.threads).filter(|&i| i != NIL)
        };
        if let Some(target) = target {
            // A failed delivery (the event's connection gone) is the receiver's problem, as a
            // failed timer event is: the messages stay ready for the next receive.
            let _ = super::event::deliver(t, target, &ev, false, fx);
        }
    }
    Ok(Step::Done(pending as i64))
}

/// MsgReceiveAsync: takes up to `max` messages into `arena` (one buffer of `buffer_size` bytes
/// per message), describing each in the `AsyncGetHeader` array at `hdrs`. Returns how many;
/// blocks when none are ready unless the channel is `_NTO_CHF_ASYNC_NONBLOCK` (EAGAIN).
/// EBADF for an unknown or synchronous chid; EINVAL if the arena cannot hold one message.
pub fn msg_receive_async(
    t: &mut Tables<'_>,
    me: Caller,
    chid: i32,
    arena: IovList,
    hdrs: u64,
    max: u32,
    fx: &mut Effects,
) -> KResult<Step> {
    let alen = copy::validate(arena, Errno::EFAULT)?;
    let Some(chan) = t.chan_of(me.proc, chid) else {
        return Err(Errno::EBADF);
    };
    let flags = t.chans.at(chan.index).flags;
    let Some(&AsyncChannel {
        buffer_size: bufsz,
        max_num_buffer: maxbuf,
        ..
    }) = t.chans.at(chan.index).asyncmsg()
    else {
        return Err(Errno::EBADF);
    };
    let max = max
        .min(maxbuf)
        .min(u32::try_from(alen / bufsz).unwrap_or(u32::MAX));
    if max == 0 || hdrs == 0 {
        return Err(Errno::EINVAL);
    }
    let i = me.thread.index;
    t.threads.at_mut(i).recv = RecvDesc {
        iov: arena.addr,
        parts: arena.parts,
        len: alen,
        info: 0,
        pulse_only: false,
        async_hdrs: hdrs,
        async_max: max,
    };
    if t.chans
        .at(chan.index)
        .asyncmsg()
        .is_some_and(|a| a.ready() > 0)
    {
        let n = take_batch(t, chan, i, fx);
        if n > 0 {
            return Ok(Step::Done(n as i64));
        }
    }
    if flags & _NTO_CHF_ASYNC_NONBLOCK != 0 {
        return Err(Errno::EAGAIN);
    }
    t.block_receive(i, chan);
    Ok(Step::Block)
}

/// Moves up to the receiver's `async_max` messages from the ready connections into its
/// buffers; returns how many.
fn take_batch(t: &mut Tables<'_>, chan: Id<Channel>, ri: u32, fx: &mut Effects) -> u32 {
    let r = t.threads.at(ri).recv;
    let (bufsz, chid) = {
        let c = t.chans.at(chan.index);
        (c.asyncmsg().map_or(0, |a| a.buffer_size), c.chid)
    };
    // Every list here is in one Linux process: a connection to a channel of another Linux
    // process is refused (connect_attach), as its queue's addresses would be the sender's.
    let arena = IovList::at(r.iov, r.parts, crate::copy::Space::LOCAL);
    // The receive arena is one flat buffer (as asyncmsg_get passes it): flat messages then copy
    // with one bounded memmove each, without walking iov lists.
    let flat_arena = arena.single();
    let mut n: u32 = 0;
    while n < r.async_max {
        let Some(ci) = t.ready_list_pop(chan) else {
            break;
        };
        let (client, scoid) = (t.conns.at(ci).client, t.conns.at(ci).scoid);
        let ac = aconn(t, ci);
        if ac.queue == 0 {
            // (Never: a connection leaves the ready list before it lets go of its queue.)
            continue;
        }
        let (coid, notify_coid) = (ac.coid, ac.notify_coid);
        let pid = t.procs.get(client).map_or(-1, |p| p.pid);
        let q = queue_of(&ac);
        let mut took: u32 = 0;
        let mut bytes = 0;
        let (head, tail) = q.published();
        let mut ctr = head;
        while n < r.async_max && ctr != tail {
            // SAFETY: `ctr` lies in the published range [head, tail), and `head` moves only
            // below, after the loop.
            let desc = unsafe { q.desc(ctr) };
            let iov = desc.iov;
            let offset = n as u64 * bufsz;
            let (err, len) = if iov.len > bufsz {
                (Errno::EMSGSIZE.0, 0)
            } else if let (0, Some(d)) = (desc.parts, flat_arena) {
                // `offset + iov.len` lies inside the arena: `max` was cut to arena / bufsz
                // buffers, `n < max` and `iov.len <= bufsz`.
                debug_assert!(offset + iov.len <= d.len);
                if iov.len > 0 {
                    // SAFETY: the source is a published slot's flat buffer of a live sender
                    // queue, which the library keeps until the slot is released (asyncq.rs); the
                    // destination lies inside the receiver's arena (above), validated on entry
                    // to its MsgReceiveAsync call (copy.rs); both are non-empty, so non-null;
                    // `ptr::copy` tolerates overlap.
                    unsafe {
                        std::ptr::copy(
                            iov.base as *const u8,
                            (d.base + offset) as *mut u8,
                            iov.len as usize,
                        )
                    };
                }
                (0, iov.len)
            } else {
                let flat = [iov];
                let src = if desc.parts == 0 {
                    IovList::new(&flat)
                } else {
                    IovList::at(iov.base, desc.parts, crate::copy::Space::LOCAL)
                };
                // SAFETY: the source is a published slot of a live sender queue, whose buffers
                // (and iov array) the library keeps until the slot is released (asyncq.rs); the
                // destination is the receiver's arena, validated on entry to its
                // MsgReceiveAsync call (copy.rs).
                let copied = unsafe { copy::copy(src, 0, arena, offset, iov.len) };
                // (Both lists are local here, and local copies never fault.)
                (0, copied.unwrap_or(0))
            };
            q.record(ctr, err);
            ctr = ctr.wrapping_add(1);
            bytes += len;
            let h = AsyncGetHeader {
                info: MsgInfo {
                    pid,
                    chid,
                    coid,
                    scoid,
                    msglen: len as i64,
                    srcmsglen: iov.len as i64,
                    dstmsglen: 0,
                    ..MsgInfo::default()
                },
                err,
                len: len as u32,
                offset,
            };
            // SAFETY: `hdrs` is the receiver's header array of at least `async_max` entries,
            // borrowed for its call (copy.rs invariant); `n < async_max`.
            unsafe {
                (r.async_hdrs as *mut AsyncGetHeader)
                    .add(n as usize)
                    .write_unaligned(h)
            };
            n += 1;
            took += 1;
        }
        if took > 0 {
            q.consume_to(ctr);
            fx.wake_words.extend(q.consumed());
            let flags = q.flags();
            if flags & AQ_WANT_PULSE != 0 && flags & AQ_PULSE_PENDING == 0 {
                q.set_flags(AQ_PULSE_PENDING);
                if notify(t, ci, client, notify_coid, coid, fx).is_err() {
                    q.clear_flags(AQ_PULSE_PENDING);
                }
            }
            if let Some(c) = t.conns.at_mut(ci).asyncmsg_mut() {
                c.msgs_taken += took as u64;
            }
            t.counters(client).async_msgs_sent += took as u64;
            let owner = t.chans.at(chan.index).owner;
            t.counters(owner).bytes_copied += bytes;
        }
        if q.published().1 != ctr {
            // Not drained: to the back of the line (round-robin), and the batch is full.
            t.ready_list_push(chan, ci);
        }
    }
    if n > 0 {
        let owner = t.threads.at(ri).proc;
        let c = t.counters(owner);
        c.async_msgs_received += n as u64;
        c.async_batches_received += 1;
    }
    n
}

/// Pulses the sender's library (`'P'`, value = the connection's coid) on its notify coid,
/// through the connection's reserved pulse (a notification that finds the last one still
/// queued is merged into it: the library reaps everything taken on each pulse).
fn notify(
    t: &mut Tables<'_>,
    ci: u32,
    client: Id<crate::objects::Process>,
    notify_coid: i32,
    coid: i32,
    fx: &mut Effects,
) -> crate::abi::errno::KResult<()> {
    let nc = t.sync_conn_of(client, notify_coid)?;
    let chan = t.conns.at(nc.index).chan;
    if t.chans.get(chan).is_none() {
        return Err(Errno::EBADF);
    }
    let scoid = t.conns.at(nc.index).scoid;
    let pi = aconn(t, ci).notify_pulse;
    let value = coid as u32 as u64;
    if pi == NIL {
        return super::pulse::queue_pulse(
            t,
            chan,
            PRIO_MAX as u8,
            PULSE_CODE_TAKEN,
            value,
            scoid,
            fx,
        );
    }
    super::pulse::queue_reserved(
        t,
        pi,
        chan,
        PRIO_MAX as u8,
        PULSE_CODE_TAKEN,
        value,
        scoid,
        fx,
    );
    Ok(())
}

/// An asyncmsg connection lets go of its sender queue (its last link is dropped, or its
/// channel destroyed): threads waiting on the queue (a put on a full queue, a flush) leave
/// with EBADF, the connection leaves its channel's ready list, and its notification pulse is
/// given back. The library frees the queue after ConnectDetach returns, so the kernel must not
/// read it again.
pub(crate) fn release_queue(t: &mut Tables<'_>, ci: u32, fx: &mut Effects) {
    let chan = t.conns.at(ci).chan;
    let Some(ac) = t.conns.at(ci).asyncmsg().copied() else {
        return;
    };
    if ac.queue == 0 {
        return;
    }
    // The queue is in its sender's memory: only a thread of that program may touch it. A
    // teardown run from another program (the sender's program died, and the supervisor reaps
    // it) lets go of it unread: nobody is left to wait on it.
    let client = t.conns.at(ci).client;
    let owner = crate::copy::Space(t.procs.get(client).map_or(0, |p| p.os_pid));
    if owner.is_local() {
        fx.wake_words.extend(queue_of(&ac).kill());
    }
    t.ready_list_remove(chan, ci);
    if ac.notify_pulse != NIL {
        super::pulse::unreserve(t, ac.notify_pulse);
    }
    if let Some(c) = t.conns.at_mut(ci).asyncmsg_mut() {
        c.queue = 0;
        c.notify_pulse = NIL;
    }
}

use crate::abi::types::AsyncConnCounters;

/// The kernel's counters of asyncmsg connection `coid` of the caller's process.
pub fn conn_counters(
    t: &mut Tables<'_>,
    me: Caller,
    coid: i32,
) -> crate::abi::errno::KResult<AsyncConnCounters> {
    let conn = t.conn_of(me.proc, coid)?;
    match t.conns.at(conn.index).asyncmsg() {
        Some(c) if c.queue != 0 => Ok(AsyncConnCounters {
            batches: c.batches,
            msgs_taken: c.msgs_taken,
        }),
        _ => Err(Errno::EBADF),
    }
}
