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
use crate::abi::asyncq::{AsyncQueue, MsgDesc, AQ_PULSE_PENDING, AQ_WANT_PULSE, IN_REGION};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::{AsyncGetHeader, Iov, MsgInfo, SigEvent};
use crate::copy::{self, IovList};
use crate::objects::thread::{CallResult, RecvDesc};
use crate::objects::{AsyncChannel, AsyncConn, Channel, ChannelKind, ConnKind};
use crate::pool::{Id, NIL};
use crate::region::{QueuePage, Tables, QUEUE_PAGE};

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
        // (An event this kernel could not deliver is an invalid argument, as for TimerCreate.)
        super::event::deliver(t, me.thread.index, ev, true, super::pulse::KERNEL, fx)
            .map_err(|_| Errno::EINVAL)?;
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
    let capacity = if aq & IN_REGION != 0 {
        // A queue in a shared kernel's region: a block this process was given.
        region_queue_capacity(t, me.proc, aq).ok_or(Errno::EINVAL)?
    } else {
        // A queue in the caller's memory, which the kernel reads from the receiver's thread:
        // the receiver must be in the same program (between programs the library puts its
        // queues in the region: `queue_alloc`).
        if let Some(target) = t.proc_by_pid(pid) {
            if t.procs.at(target.index).os_pid != t.procs.at(me.proc.index).os_pid {
                return Err(Errno::ENOTSUP);
            }
        }
        0
    };
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
        let mut ac = AsyncConn::new(aq, coid, notify_coid, pulse);
        ac.capacity = capacity;
        t.conns.at_mut(conn.index).kind = ConnKind::Async(ac);
    }
    Ok(Step::Done(coid as i64))
}

/// A sender queue as the kernel reaches it: the library's own handle (a queue in the
/// sender's memory, in this program), or a handle of the kernel's own on a block of the
/// region (a queue shared between programs).
enum QueueRef<'q> {
    Local(&'q AsyncQueue),
    Region(AsyncQueue),
}

impl std::ops::Deref for QueueRef<'_> {
    type Target = AsyncQueue;
    fn deref(&self) -> &AsyncQueue {
        match self {
            QueueRef::Local(q) => q,
            QueueRef::Region(q) => q,
        }
    }
}

/// The sender queue of live asyncmsg connection `c`. The reference is not tied to the tables'
/// borrow: callers use it only while the connection stays live, within one kernel call.
fn queue_of<'q>(t: &Tables<'_>, c: &AsyncConn) -> QueueRef<'q> {
    debug_assert_ne!(c.queue, 0, "a released queue is never read");
    if c.queue & IN_REGION != 0 {
        let off = c.queue & !IN_REGION;
        // SAFETY: `connect_attach` checked that the block at `off` is in the arena, was given
        // to the connection's process, and holds a queue of `capacity` slots (the block's
        // size, from the kernel's own table); the block is freed only after the connection
        // lets go of it (`release_queue` zeroes `queue`, checked by callers), and the region
        // stays mapped while the tables are.
        return QueueRef::Region(unsafe {
            AsyncQueue::in_block(t.queue_arena.as_ptr().add(off as usize), c.capacity, off)
        });
    }
    // SAFETY: `queue` was given to `connect_attach` with the promise that the queue outlives
    // the connection; the connection is live (we reached it through the tables under the
    // lock), has not released the queue (callers check `queue != 0`), and nothing in the
    // current kernel call frees it while the reference is used.
    QueueRef::Local(unsafe { &*(c.queue as *const AsyncQueue) })
}

/// The capacity of the queue in region block `aq` (`IN_REGION | offset`), if it is the start
/// of a block owned by process `proc` that holds a queue (its capacity read from the block and
/// checked against the block's size in the kernel's table).
fn region_queue_capacity(
    t: &Tables<'_>,
    proc: Id<crate::objects::Process>,
    aq: u64,
) -> Option<u32> {
    let off = aq & !IN_REGION;
    if !off.is_multiple_of(QUEUE_PAGE as u64) {
        return None;
    }
    let first = usize::try_from(off / QUEUE_PAGE as u64).ok()?;
    let owner = t.pslot(proc) as u32 + 1;
    let pages = block_pages(t, first).filter(|_| t.queue_pages[first].owner == owner)?;
    // SAFETY: the block lies inside the arena (its pages are in the table); the header's
    // first word is the capacity `queue_alloc` formatted (a process may have changed it since:
    // it is checked against the block's size below, never trusted beyond it).
    let cap = unsafe { AsyncQueue::capacity_in_block(t.queue_arena.as_ptr().add(off as usize)) };
    (cap == AsyncQueue::clamp_capacity(cap)
        && AsyncQueue::region_block_bytes(cap) <= pages * QUEUE_PAGE)
        .then_some(cap)
}

/// The pages of the block starting at page `first`, if a block starts there.
pub(crate) fn block_pages(t: &Tables<'_>, first: usize) -> Option<usize> {
    let tag = first as u32 + 1;
    if t.queue_pages.get(first)?.first != tag {
        return None;
    }
    Some(
        t.queue_pages[first..]
            .iter()
            .take_while(|p| p.first == tag)
            .count(),
    )
}

/// The asyncmsg library's queue for a connection to another program (a shared kernel): a
/// block of the region's queue arena big enough for a queue of `capacity` slots, formatted,
/// owned by the caller's process until it frees it (or exits). Returns the block's offset in
/// the arena. ENOTSUP in a kernel of one program (its queues live in the sender's memory),
/// ENOMEM when no run of free pages is long enough.
pub fn queue_alloc(t: &mut Tables<'_>, me: Caller, capacity: u32) -> KResult<Step> {
    if !t.shared {
        return Err(Errno::ENOTSUP);
    }
    let need = AsyncQueue::region_block_bytes(capacity).div_ceil(QUEUE_PAGE);
    let owner = t.pslot(me.proc) as u32 + 1;
    let off = alloc_pages(t, owner, need)?;
    // SAFETY: the pages of the block at `off` are in the arena and were free: nobody holds a
    // handle on them (a freed block's handles were the connection's, released before).
    unsafe { AsyncQueue::format(t.queue_arena.as_ptr().add(off), capacity, true) };
    Ok(Step::Done(off as i64))
}

/// Gives `owner` (a process's slot plus one for a queue, [`program_owner`] for send buffers)
/// the first run of `need` free pages of the queue arena (first fit, logged in the undo
/// record); returns the block's offset in the arena. ENOMEM when no run is long enough.
pub(crate) fn alloc_pages(t: &mut Tables<'_>, owner: u32, need: usize) -> KResult<usize> {
    let n = t.queue_pages.len();
    let mut at = 0;
    let first = loop {
        if need == 0 || at + need > n {
            return Err(Errno::ENOMEM);
        }
        match t.queue_pages[at..at + need]
            .iter()
            .rposition(|p| p.owner != 0)
        {
            Some(busy) => at += busy + 1,
            None => break at,
        }
    };
    for i in first..first + need {
        t.log(i, |t| &*t.queue_pages);
        t.queue_pages[i] = QueuePage {
            owner,
            first: first as u32 + 1,
        };
    }
    Ok(first * QUEUE_PAGE)
}

/// The owner a queue-arena page records for send buffers of Linux program `os_pid`: the bit
/// that no process slot has, and the program's pid. Send buffers belong to the program, not to
/// one of its simulated processes (they share its memory), so that tearing a process down
/// never frees bytes the program may still use; they go when the program frees them, ends
/// ([`free_program_blocks`]), or is reaped.
pub(crate) fn program_owner(os_pid: i32) -> u32 {
    PROGRAM_OWNER | (os_pid as u32 & !PROGRAM_OWNER)
}

pub(crate) const PROGRAM_OWNER: u32 = 1 << 31;

/// Whether a queue-arena page's `owner` is a program's send buffers (not a process's queue).
pub(crate) fn is_send_buffer(owner: u32) -> bool {
    owner & PROGRAM_OWNER != 0
}

/// The share of the queue arena that send buffers of all programs together may hold: the rest
/// is kept for queues.
const HEAP_SHARE: usize = 2;

/// A block of the region's queue arena for the asyncmsg library's send buffers (a shared
/// kernel's `asyncmsg_malloc`): `bytes` rounded up to whole pages, owned by the caller's Linux
/// program until it frees it, ends or is reaped. A message whose bytes lie in such a block of
/// its sender's program is taken from the region without a system call ([`region_source`]).
/// Returns the block's offset in the arena. ENOTSUP in a kernel of one program (a sender's own
/// memory is the kernel's there), EINVAL for 0 bytes, ENOMEM when no run of free pages is long
/// enough or send buffers would hold more than half the arena (the rest is for queues).
pub fn heap_alloc(t: &mut Tables<'_>, me: Caller, bytes: u64) -> KResult<Step> {
    if !t.shared {
        return Err(Errno::ENOTSUP);
    }
    if bytes == 0 {
        return Err(Errno::EINVAL);
    }
    let need = usize::try_from(bytes.div_ceil(QUEUE_PAGE as u64)).map_err(|_| Errno::ENOMEM)?;
    let held = t
        .queue_pages
        .iter()
        .filter(|p| p.owner & PROGRAM_OWNER != 0)
        .count();
    if held.saturating_add(need) > t.queue_pages.len() / HEAP_SHARE {
        return Err(Errno::ENOMEM);
    }
    let owner = program_owner(t.procs.at(me.proc.index).os_pid);
    let off = alloc_pages(t, owner, need)?;
    Ok(Step::Done(off as i64))
}

/// Frees the caller's program's send-buffer block at arena offset `off`. EINVAL if no block of
/// the program's starts there.
pub fn heap_free(t: &mut Tables<'_>, me: Caller, off: u64) -> KResult<Step> {
    if !t.shared || !off.is_multiple_of(QUEUE_PAGE as u64) {
        return Err(Errno::EINVAL);
    }
    let first = usize::try_from(off / QUEUE_PAGE as u64).map_err(|_| Errno::EINVAL)?;
    let owner = program_owner(t.procs.at(me.proc.index).os_pid);
    block_pages(t, first)
        .filter(|_| t.queue_pages[first].owner == owner)
        .ok_or(Errno::EINVAL)?;
    free_block(t, first);
    Ok(Step::Done(0))
}

/// Frees every send-buffer block of Linux program `os_pid` (it ended, or is exiting and has
/// torn its processes down). Returns how many blocks.
pub(crate) fn free_program_blocks(t: &mut Tables<'_>, os_pid: i32) -> usize {
    if !t.shared || os_pid == 0 {
        return 0;
    }
    free_blocks_of(t, program_owner(os_pid))
}

/// Frees every block of the queue arena whose owner is `owner` (a process's queues, a
/// program's send buffers, a thread's bounce blocks). Returns how many blocks.
pub(crate) fn free_blocks_of(t: &mut Tables<'_>, owner: u32) -> usize {
    let mut n = 0;
    for i in 0..t.queue_pages.len() {
        let p = t.queue_pages[i];
        if p.owner == owner && p.first == i as u32 + 1 {
            free_block(t, i);
            n += 1;
        }
    }
    n
}

/// Where flat message `desc` lies, if its base is an offset in the queue arena (`IN_REGION`)
/// rather than an address in the sender's memory: `None` for an address; `Some(Some(iov))`
/// with its address in this mapping if the queue is in the region and the message lies in its
/// inline areas or inside one send-buffer block of the sender's program (process `client`'s:
/// `heap_alloc`); `Some(None)` if it claims an offset but lies anywhere else (another
/// program's bytes are never read for it), or the queue is not in the region (no address has
/// that bit).
fn region_source(
    t: &Tables<'_>,
    q: &AsyncQueue,
    client: Id<crate::objects::Process>,
    desc: &MsgDesc,
) -> Option<Option<Iov>> {
    if !q.in_region() {
        return (desc.iov.base & IN_REGION != 0).then_some(None);
    }
    let inline = q.inline_source(desc, t.queue_arena.as_ptr())?;
    if inline.is_some() || desc.parts != 0 {
        return Some(inline);
    }
    let off = desc.iov.base & !IN_REGION;
    let len = desc.iov.len;
    let arena = t.queue_pages.len() as u64 * QUEUE_PAGE as u64;
    if off >= arena || len > arena - off {
        return Some(None);
    }
    let Some(p) = t.procs.get(client) else {
        return Some(None);
    };
    let owner = program_owner(p.os_pid);
    let first = (off / QUEUE_PAGE as u64) as usize;
    let last = ((off + len.max(1) - 1) / QUEUE_PAGE as u64) as usize;
    let tag = t.queue_pages[first].first;
    let owned = t.queue_pages[first..=last]
        .iter()
        .all(|p| p.owner == owner && p.first == tag && tag != 0);
    Some(owned.then(|| Iov {
        base: t.queue_arena.as_ptr() as u64 + off,
        len,
    }))
}

/// Frees the caller's queue block at arena offset `off` (after its connection was detached).
/// EINVAL if no block of the caller's starts there, EBUSY while a connection still reads it.
pub fn queue_free(t: &mut Tables<'_>, me: Caller, off: u64) -> KResult<Step> {
    region_queue_capacity(t, me.proc, IN_REGION | off).ok_or(Errno::EINVAL)?;
    let handle = IN_REGION | off;
    let busy = t.conns.live_ids().any(|c| {
        t.conns
            .at(c.index)
            .asyncmsg()
            .is_some_and(|a| a.queue == handle)
    });
    if busy {
        return Err(Errno::EBUSY);
    }
    free_block(t, (off / QUEUE_PAGE as u64) as usize);
    Ok(Step::Done(0))
}

pub(crate) fn free_block(t: &mut Tables<'_>, first: usize) {
    let pages = block_pages(t, first).unwrap_or(0);
    for i in first..first + pages {
        t.log(i, |t| &*t.queue_pages);
        t.queue_pages[i] = QueuePage::default();
    }
}

/// Frees every queue block of process `proc`. It is being torn down: its connections have
/// let go of their queues (`release_queue` marked each dead and woke its waiters), and its
/// threads are gone.
pub(crate) fn free_queues_of(t: &mut Tables<'_>, proc: Id<crate::objects::Process>) {
    if !t.shared {
        return;
    }
    let owner = t.pslot(proc) as u32 + 1;
    free_blocks_of(t, owner);
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

/// The `batch` id of asyncmsg connection slot `ci`'s latest trigger: its slot, generation and
/// triggers with messages (`AsyncConn::batches`). A receive names the latest trigger of each
/// connection it takes from (one that takes messages of several triggers names the last).
fn batch_id(t: &Tables<'_>, ci: u32) -> u64 {
    let c = t.conns.at(ci);
    let n = c.asyncmsg().map_or(0, |a| a.batches);
    crate::trace::flow_id(ci, c.hdr.gen, n)
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
    let q = queue_of(t, &ac);
    let (_, head, tail) = q.counters();
    let pending = tail.wrapping_sub(head);
    if pending == 0 {
        return Ok(Step::Done(0));
    }
    if let Some(c) = t.conns.at_mut(conn.index).asyncmsg_mut() {
        c.batches += 1;
        c.triggered = tail;
    }
    if crate::trace::on(t.trace) {
        let (pid, tid) = t.trace_ids(me.thread.index);
        crate::trace::async_trigger(t.trace, pid, tid, coid, pending, batch_id(t, conn.index));
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
            let _ = super::event::deliver(t, target, &ev, false, super::pulse::KERNEL, fx);
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
    // The receiver is the calling thread (a receive, or a retry after a trigger woke it): its
    // arena is local. A sender in another program has its queue in the region and its buffers
    // in its own memory, read with one system call per connection and batch (`read_batch`).
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
        let (pid, space) = t
            .procs
            .get(client)
            .map_or((-1, crate::copy::Space::LOCAL), |p| {
                (p.pid, crate::copy::Space(p.os_pid))
            });
        let remote = !space.is_local();
        let q = queue_of(t, &ac);
        let mut deferred: Vec<Deferred> = Vec::new();
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
            let inline = region_source(t, &q, client, &desc);
            let (err, len) = if iov.len > bufsz {
                (Errno::EMSGSIZE.0, 0)
            } else if q.in_region() && desc.parts as usize > crate::copy::MAX_IOV {
                // A descriptor in the region is any program's to write: more parts than a
                // gathered put can have (Linux's IOV_MAX) is refused before the kernel reads an
                // iov array that long.
                (Errno::EFAULT.0, 0)
            } else if let Some(src) = inline {
                // A message the put copied into the region (a short one into its slot's inline
                // area, a longer one into a send buffer of the sender's), or a buffer from
                // `asyncmsg_malloc` in the region: no system call.
                match src {
                    // SAFETY: the source lies in the queue's inline areas or in a block of the
                    // sender's program in the arena (checked), mapped while the tables are (a
                    // block is freed only under the lock we hold); the bytes are plain data (a
                    // sender that rewrites them garbles only its own message); `offset +
                    // src.len` lies inside the receiver's arena (`max` was cut to arena / bufsz
                    // buffers, `n < max` and `src.len <= bufsz`).
                    Some(src) => (0, unsafe { copy_flat(src, arena, flat_arena, offset) }),
                    None => (Errno::EFAULT.0, 0),
                }
            } else if remote {
                // Read below, with the connection's other messages, in one system call.
                deferred.push(Deferred {
                    ctr,
                    n,
                    src: iov,
                    parts: desc.parts,
                    offset,
                });
                (0, iov.len)
            } else if desc.parts == 0 {
                // SAFETY: the source is a published slot's flat buffer of a live sender queue,
                // which the library keeps until the slot is released (asyncq.rs); `offset +
                // iov.len` lies inside the receiver's arena (as above).
                (0, unsafe { copy_flat(iov, arena, flat_arena, offset) })
            } else {
                let src = IovList::at(iov.base, desc.parts, crate::copy::Space::LOCAL);
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
        if !deferred.is_empty() {
            // SAFETY: the deferred messages are published slots of a live sender queue (as
            // above); their destinations lie inside the receiver's arena, validated on entry.
            let failed = unsafe { read_batch(space, &deferred, arena, flat_arena) };
            if !failed.is_empty() && copy::take_refused() {
                // Linux refused our read of the sender's program (EPERM): these messages
                // arrive as EFAULT (docs/deviations.md), and the kernel's long SRR messages
                // cross through the region from now on.
                super::bounce::switch_on(t);
            }
            for d in deferred.iter().filter(|d| failed.contains(&d.ctr)) {
                q.record(d.ctr, Errno::EFAULT.0);
                bytes -= d.src.len;
                // SAFETY: as for the header written above for message `d.n`.
                unsafe {
                    let h = (r.async_hdrs as *mut AsyncGetHeader).add(d.n as usize);
                    let mut v = h.read_unaligned();
                    v.err = Errno::EFAULT.0;
                    v.len = 0;
                    v.info.msglen = 0;
                    h.write_unaligned(v);
                }
            }
        }
        if took > 0 {
            if remote {
                crate::Kernel::fault_point(crate::Kernel::FAULT_MID_BATCH);
            }
            q.consume_to(ctr);
            fx.wake_words.extend(q.consumed());
            let flags = q.flags();
            if flags & AQ_WANT_PULSE != 0 && flags & AQ_PULSE_PENDING == 0 {
                // (In a shared kernel the flag's before image is logged: a receiver dying
                // before its call ends has its queued pulse undone, and the flag with it.)
                if let (QueueRef::Region(_), Some(u)) = (&q, t.undo) {
                    u.get().log(q.flags_word(), 4);
                }
                q.set_flags(AQ_PULSE_PENDING);
                if notify(t, ci, client, notify_coid, coid, fx).is_err() {
                    q.clear_flags(AQ_PULSE_PENDING);
                }
            }
            if let Some(c) = t.conns.at_mut(ci).asyncmsg_mut() {
                c.msgs_taken += took as u64;
            }
            if crate::trace::on(t.trace) {
                let (pid, tid) = t.trace_ids(ri);
                crate::trace::async_get(t.trace, pid, tid, chid, took, batch_id(t, ci));
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

/// Copies flat message `src`, bytes in this program's memory, into the receive `arena` at
/// `offset`: with one memmove into a flat arena (as asyncmsg_get passes it), else through the
/// arena's parts. Returns the bytes copied.
///
/// # Safety
/// `src` is readable for its length during the call; `arena` was validated on entry to the
/// receive (copy.rs), and `offset + src.len` lies inside it.
unsafe fn copy_flat(src: Iov, arena: IovList, flat_arena: Option<Iov>, offset: u64) -> u64 {
    match flat_arena {
        Some(d) => {
            debug_assert!(offset + src.len <= d.len);
            if src.len > 0 {
                // SAFETY: the caller's contract; both runs are non-empty, so non-null, and
                // `ptr::copy` tolerates overlap.
                unsafe {
                    std::ptr::copy(
                        src.base as *const u8,
                        (d.base + offset) as *mut u8,
                        src.len as usize,
                    )
                };
            }
            src.len
        }
        None => {
            let one = [src];
            // SAFETY: the caller's contract (local copies never fault).
            unsafe { copy::copy(IovList::new(&one), 0, arena, offset, src.len) }.unwrap_or(0)
        }
    }
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
    // A queue in its sender's memory may be touched only by a thread of that program; a
    // teardown run from another program (the sender's program died, and the supervisor reaps
    // it) lets go of it unread: nobody is left to wait on it. A queue in the region is marked
    // dead from any program.
    let client = t.conns.at(ci).client;
    let owner = crate::copy::Space(t.procs.get(client).map_or(0, |p| p.os_pid));
    if owner.is_local() || ac.queue & IN_REGION != 0 {
        fx.wake_words.extend(queue_of(t, &ac).kill());
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

/// The sender queue of asyncmsg connection slot `ci` as the inspector shows it:
/// `(pending, unreleased)`: messages put and not yet taken by a receiver, and messages put whose
/// slots the sender's library has not yet released (taken or not). `None` for a synchronous
/// connection, one whose queue the kernel let go of, or one whose queue this thread cannot
/// read (in another program's memory).
pub(crate) fn queue_counts(t: &Tables<'_>, ci: u32) -> Option<(u32, u32, u32)> {
    let id = t.conns.id_at(ci)?;
    let ac = t.conns.get(id)?.asyncmsg().copied()?;
    if ac.queue == 0 {
        return None;
    }
    let client = t.conns.at(ci).client;
    let owner = crate::copy::Space(t.procs.get(client).map_or(0, |p| p.os_pid));
    if !owner.is_local() && ac.queue & IN_REGION == 0 {
        return None;
    }
    let (done, head, tail) = queue_of(t, &ac).counters();
    // In flight: triggered and not taken (none once a receiver has taken past the trigger's
    // count: the difference is then "negative").
    let in_flight = (ac.triggered.wrapping_sub(head) as i32).max(0) as u32;
    let pending = tail.wrapping_sub(head);
    Some((pending, in_flight.min(pending), tail.wrapping_sub(done)))
}

/// A message of a sender in another program, read after the connection's batch is collected.
struct Deferred {
    ctr: u32,
    n: u32,
    src: crate::abi::types::Iov,
    parts: u32,
    offset: u64,
}

/// Reads the deferred messages from the sender's memory (`space`) into the receiver's arena:
/// the flat ones with one `process_vm_readv` per [`crate::copy::MAX_IOV`] messages, a gathered
/// one through its iov array. Returns the counters of the messages Linux refused to read (a
/// bad address, or the sender gone): they are delivered as EFAULT.
///
/// # Safety
/// As for `copy::copy`: the sources are published slots of a live queue, the arena the
/// receiver's, validated.
unsafe fn read_batch(
    space: crate::copy::Space,
    msgs: &[Deferred],
    arena: IovList,
    flat_arena: Option<crate::abi::types::Iov>,
) -> Vec<u32> {
    use crate::abi::types::Iov;
    let mut failed = Vec::new();
    let mut flat: Vec<(u32, Iov, Iov)> = Vec::new();
    for d in msgs {
        match (d.parts, flat_arena) {
            (0, Some(a)) => flat.push((
                d.ctr,
                d.src,
                Iov {
                    base: a.base + d.offset,
                    len: d.src.len,
                },
            )),
            (0, None) => {
                // (An arena of several parts: through a bounce buffer.)
                let mut bounce = vec![0u8; d.src.len as usize];
                let pair = [(d.src, Iov::from_mut_slice(&mut bounce))];
                // SAFETY: the destination is our own buffer; the source the caller's contract.
                let ok = unsafe { copy::read_many(space, &pair) } == 1;
                // SAFETY: the caller's contract (the arena), and our own bounce buffer.
                if !ok || unsafe { copy::write_at(arena, d.offset, &bounce) }.is_err() {
                    failed.push(d.ctr);
                }
            }
            _ => {
                let src = IovList::at(d.src.base, d.parts, space);
                // SAFETY: the caller's contract.
                if unsafe { copy::copy(src, 0, arena, d.offset, d.src.len) }.is_err() {
                    failed.push(d.ctr);
                }
            }
        }
    }
    let mut rest = &flat[..];
    while !rest.is_empty() {
        let n = rest.len().min(crate::copy::MAX_IOV);
        let pairs: Vec<(Iov, Iov)> = rest[..n].iter().map(|&(_, s, d)| (s, d)).collect();
        // SAFETY: the caller's contract: each destination run lies in the receiver's arena.
        let ok = unsafe { copy::read_many(space, &pairs) };
        if ok < n {
            // Linux stopped at message `ok`: it fails, and the read goes on after it.
            failed.push(rest[ok].0);
            rest = &rest[ok + 1..];
        } else {
            rest = &rest[n..];
        }
    }
    failed
}
