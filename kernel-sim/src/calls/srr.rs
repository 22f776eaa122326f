//! Send, Receive, Reply: MsgSend*, MsgReceive*, MsgReply*, MsgError, MsgRead*, MsgWrite*,
//! MsgInfo, and what a kernel timeout does to a blocked thread.
//!
//! Every send form is the iov form here (QNX's own trick: flat buffers are one-part iovs).

use super::{Caller, Effects, Step};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::{Iov, MsgInfo, RcvId, PULSE_SIZE};
use crate::copy::{self, IovList};
use crate::objects::thread::{CallResult, Inbox, SendDesc};
use crate::objects::{Channel, KState};
use crate::pool::Id;
use crate::region::{Tables, WINDOW};

/// MsgSendv: sends `smsg` on `coid` and blocks until the reply lands in `rmsg`.
pub fn msg_send(
    t: &mut Tables<'_>,
    me: Caller,
    coid: i32,
    smsg: IovList,
    rmsg: IovList,
    fx: &mut Effects,
) -> KResult<Step> {
    let slen = copy::validate(smsg, Errno::EFAULT)?;
    let rlen = copy::validate(rmsg, Errno::EFAULT)?;
    let conn = t.sync_conn_of(me.proc, coid)?;
    let chan = t.conns.at(conn.index).chan;
    let Some(c) = t.chans.get(chan) else {
        return Err(Errno::EBADF);
    };
    if t.procs.at(c.owner.index).state != crate::objects::process::ProcState::Alive {
        return Err(Errno::ENXIO);
    }
    let i = me.thread.index;
    let staged =
        slen > WINDOW as u64 && super::bounce::on(t) && !t.space_of_proc(c.owner).is_local();
    if staged {
        // A long message to another program, where long copies cross through the region:
        // into a block of ours, which the server reads (bounce.rs).
        super::bounce::stage_message(t, i, smsg, rmsg, slen)?;
    }
    let prio = t.threads.at(i).prio;
    t.threads.at_mut(i).send = SendDesc {
        coid,
        conn,
        siov: smsg.addr,
        sparts: smsg.parts,
        riov: rmsg.addr,
        rparts: rmsg.parts,
        slen,
        rlen,
        msglen: 0,
        prio,
        ..SendDesc::EMPTY
    };
    t.counters(me.proc).msgs_sent += 1;
    t.chans.at_mut(chan.index).last_client = me.thread;
    if t.shared && slen <= WINDOW as u64 {
        // A short message is also put in our window, so that a server in another program
        // copies it out of the region instead of out of our memory (see `deliver`).
        let win = [window_iov(t, i, slen as usize)];
        // SAFETY: our own validated list (we are in our MsgSend call) into our own window.
        let _ = unsafe { copy::copy(smsg, 0, IovList::new(&win), 0, slen) };
    }
    let waiting = t.receiver(chan, false);
    if crate::trace::on(t.trace) {
        trace_send(t, i, chan, waiting, msg_type(smsg, slen));
    }
    if let Some(r) = waiting.filter(|&r| staged && !t.space_of(r).is_local()) {
        // Our message waits in the region for a receiver in another program: we queue, and
        // it is woken to take the message itself (its MsgReceive runs again and finds us), as
        // an asyncmsg receiver takes a batch.
        t.block_send(i, chan);
        t.boost(chan, prio, fx);
        t.ready(r, CallResult::Retry, fx);
        return Ok(Step::Block);
    }
    if let Some(r) = waiting {
        // A receiver waits: hand the message over now; we go straight to REPLY-blocked.
        let rcvid = match deliver(t, i, r, chan, fx) {
            Ok(rcvid) => rcvid,
            Err(copy::Fault::Dst) if copy::take_refused() => {
                // Linux refused our copy into the receiver's program (EPERM): from now on the
                // kernel's long messages cross through the region; this one again, so.
                super::bounce::switch_on(t);
                t.threads.at_mut(i).clear_send();
                return Ok(Step::Retry);
            }
            Err(fault) => {
                // Our own buffers faulted: EFAULT, the receiver waits on. The receiver's
                // faulted (another program's): it leaves its MsgReceive with EFAULT, and we get
                // ESRVRFAULT, as QNX reports a fault in the server's buffers.
                if fault == copy::Fault::Src {
                    if crate::trace::on(t.trace) {
                        trace_withdrawn(t, i, chan, Errno::EFAULT, crate::trace::why::FAULT);
                    }
                    t.threads.at_mut(i).clear_send();
                    return Err(Errno::EFAULT);
                }
                if peer_gone(t, r) {
                    // Unless the receiver's program has died and is not reaped yet: then it
                    // is as if it were gone already. We wait SEND-blocked, and its reaping
                    // releases us with ESRCH, as a dead QNX server's clients are released.
                    t.block_send(i, chan);
                    t.boost(chan, prio, fx);
                    return Ok(Step::Block);
                }
                if crate::trace::on(t.trace) {
                    trace_withdrawn(t, i, chan, Errno::ESRVRFAULT, crate::trace::why::FAULT);
                }
                t.threads.at_mut(i).clear_send();
                t.ready(r, CallResult::Err(Errno::EFAULT.0), fx);
                return Err(Errno::ESRVRFAULT);
            }
        };
        let owner = t.chans.at(chan.index).owner;
        t.counters(owner).msgs_received += 1;
        t.ready(r, CallResult::Ok(rcvid), fx);
    } else {
        t.block_send(i, chan);
        t.boost(chan, prio, fx);
    }
    Ok(Step::Block)
}

/// The `send` event of client `ci`'s message on `chan` (`receiver`: the thread taking it at
/// once, if one waits).
#[inline(never)]
fn trace_send(t: &Tables<'_>, ci: u32, chan: Id<Channel>, receiver: Option<u32>, msg_type: i32) {
    let (pid, tid) = t.trace_ids(ci);
    let (peer_pid, chid) = t.trace_chan(chan);
    crate::trace::msg_send(
        t.trace,
        &crate::trace::MsgEvent {
            pid,
            tid,
            peer_pid,
            peer_tid: receiver.map_or(0, |r| t.threads.at(r).tid),
            chid,
            rcvid: 0,
            exchange: t.exchange_of(ci),
            bytes: t.threads.at(ci).send.slen,
            msg_type,
        },
    );
}

/// The `withdrawn` event of client `ci`'s message on `chan`, never received: its MsgSend
/// returns `err`, for the reason `why` (`trace::why`). Emitted before the client leaves the
/// queue (its state event follows).
#[inline(never)]
pub(crate) fn trace_withdrawn(
    t: &Tables<'_>,
    ci: u32,
    chan: Id<Channel>,
    err: Errno,
    why: &'static str,
) {
    let (pid, tid) = t.trace_ids(ci);
    let (peer_pid, chid) = t.trace_chan(chan);
    crate::trace::msg_withdrawn(
        t.trace,
        &crate::trace::MsgEvent {
            pid,
            tid,
            peer_pid,
            peer_tid: 0,
            chid,
            rcvid: 0,
            exchange: t.exchange_of(ci),
            bytes: t.threads.at(ci).send.slen,
            msg_type: -1,
        },
        err.0,
        why,
    );
}

/// A message's type for its `send` event: its first two bytes as a `u16` (QNX's messages begin
/// with their type), -1 if it is shorter or they cannot be read.
#[inline(never)]
fn msg_type(smsg: IovList, slen: u64) -> i32 {
    if slen < 2 {
        return -1;
    }
    let mut ty = [0u8; 2];
    let dst = [Iov::from_mut_slice(&mut ty)];
    // SAFETY: the sender's own validated list, read by the sender in its MsgSend, into a local
    // buffer of 2 bytes.
    match unsafe { copy::copy(smsg, 0, IovList::new(&dst), 0, 2) } {
        Ok(2) => i32::from(u16::from_ne_bytes(ty)),
        _ => -1,
    }
}

/// The `receive` event of receiver `ri` taking client `ci`'s message (`n` bytes) as `rcvid`.
#[inline(never)]
fn trace_receive(t: &Tables<'_>, ri: u32, ci: u32, chan: Id<Channel>, rcvid: RcvId, n: u64) {
    let (pid, tid) = t.trace_ids(ri);
    let (peer_pid, peer_tid) = t.trace_ids(ci);
    crate::trace::msg_receive(
        t.trace,
        &crate::trace::MsgEvent {
            pid,
            tid,
            peer_pid,
            peer_tid,
            chid: t.trace_chan(chan).1,
            rcvid,
            exchange: t.exchange_of(ci),
            bytes: n,
            msg_type: -1,
        },
    );
}

/// The `reply` event of REPLY-blocked client `ci`'s exchange ending with `result`: answered by
/// thread `by` with `bytes` (`None`: ended by the kernel, a timeout, a signal, a detach, a
/// death; the event then names the thread that received the message).
#[inline(never)]
fn trace_reply(t: &Tables<'_>, ci: u32, by: Option<(u32, u64)>, result: CallResult) {
    let (chan, server) = match t.threads.at(ci).state() {
        KState::Reply { chan, server } => (chan, t.threads.get(server).map(|_| server.index)),
        _ => (Id::NONE, None),
    };
    let (pid, tid) = by
        .map(|(r, _)| r)
        .or(server)
        .map_or((0, 0), |r| t.trace_ids(r));
    let (peer_pid, peer_tid) = t.trace_ids(ci);
    let (status, error) = match result {
        CallResult::Ok(v) => (v, 0),
        CallResult::Err(e) => (-1, e),
        CallResult::Restart => (-1, Errno::ERESTART.0),
        CallResult::Retry | CallResult::Pending => (0, 0),
    };
    let e = crate::trace::MsgEvent {
        pid,
        tid,
        peer_pid,
        peer_tid,
        chid: t.trace_chan(chan).1,
        rcvid: t.rcvid_of(ci),
        exchange: t.exchange_of(ci),
        bytes: by.map_or(0, |(_, n)| n),
        msg_type: -1,
    };
    let who = if by.is_some() {
        crate::trace::by::SERVER
    } else {
        crate::trace::by::KERNEL
    };
    crate::trace::msg_reply_by(t.trace, &e, status, error, who);
}

/// Copies client `ci`'s message into receiver `ri`'s buffers, fills its `MsgInfo`, makes the
/// client REPLY-blocked on `chan` and applies priority inheritance. Returns the rcvid, or the
/// side whose buffers faulted (only a buffer in another Linux process can: copy.rs), in which
/// case nothing has changed.
fn deliver(
    t: &mut Tables<'_>,
    ci: u32,
    ri: u32,
    chan: Id<Channel>,
    fx: &mut Effects,
) -> Result<RcvId, copy::Fault> {
    let s = t.threads.at(ci).send;
    let r = t.threads.at(ri).recv;
    let (cs, rs) = (t.space_of(ci), t.space_of(ri));
    // Between two programs a short message goes through the region: from the client's window
    // (filled at its MsgSend) into a local receiver's buffers, or into a remote receiver's
    // window, which it copies out itself when it wakes (its `Inbox`).
    let through_window = via_window(t, s.slen, cs, rs);
    // A long one where long copies cross through the region: from the client's block (its
    // MsgSend staged it) into the receiver's buffers: the receiver's own call (a receiver in
    // another program is woken to take it itself: `msg_send`).
    let staged = if through_window || s.slen <= WINDOW as u64 {
        None
    } else {
        super::bounce::message(t, ci, s.slen)
    };
    let mut inbox = None;
    let n = if let Some(m) = staged {
        if !rs.is_local() {
            return Err(copy::Fault::Dst);
        }
        let src = [m];
        // SAFETY: the client's block (in the region) into the receiver's validated list: we
        // are that receiver, in our MsgReceive call.
        unsafe {
            copy::copy(
                IovList::new(&src),
                0,
                IovList::at(r.iov, r.parts, rs),
                0,
                s.slen.min(r.len),
            )
        }?
    } else if through_window {
        let n = s.slen.min(r.len);
        if rs.is_local() {
            let win = [window_iov(t, ci, n as usize)];
            // SAFETY: the client's window (filled at its MsgSend, in the region) into the
            // receiver's validated list: we are that receiver, in our MsgReceive call.
            unsafe { copy::copy(IovList::new(&win), 0, IovList::at(r.iov, r.parts, rs), 0, n) }?
        } else {
            copy_window(t, ci, ri, n as usize);
            inbox = Some(n);
            n
        }
    } else {
        // SAFETY: the client is in its MsgSend call and the receiver in its MsgReceive call;
        // both lists were validated on entry (copy.rs invariant).
        unsafe {
            copy::copy(
                IovList::at(s.siov, s.sparts, cs),
                0,
                IovList::at(r.iov, r.parts, rs),
                0,
                u64::MAX,
            )
        }?
    };
    let server = t.threads.id_at(ri).unwrap_or(Id::NONE);
    {
        let c = t.threads.at_mut(ci);
        c.send.msglen = n;
        c.rcv_gen = super::rcvid_next_gen(c.rcv_gen);
    }
    t.block_reply(ci, chan, server);
    let client_proc = t.threads.at(ci).proc;
    t.counters(client_proc).bytes_copied += n;
    let rcvid = t.rcvid_of(ci);
    if crate::trace::on(t.trace) {
        trace_receive(t, ri, ci, chan, rcvid, n);
    }
    let info = info_of(t, ci, chan);
    if let Some(n) = inbox {
        t.threads.at_mut(ri).inbox = Inbox {
            kind: Inbox::FILLED,
            len: n as u32,
            iov: r.iov,
            parts: r.parts,
            info_at: r.info,
            info,
        };
    } else {
        // SAFETY: `r.info` is 0 or the receiver's MsgInfo, borrowed for its call.
        unsafe { copy::write_out(rs, r.info, &info) };
    }
    let flags = t.chans.at(chan.index).flags;
    t.threads.at_mut(ri).last_chan = chan;
    let server_proc = t.threads.at(ri).proc;
    {
        let c = t.threads.at_mut(ci);
        c.last_server = server_proc;
        c.servers |= crate::objects::Thread::server_bit(server_proc);
        c.last_conn = s.conn;
    }
    if flags & _NTO_CHF_FIXED_PRIORITY == 0 {
        t.inherit(ri, s.prio, fx);
    }
    Ok(rcvid)
}

/// The `MsgInfo` describing client `ci`'s message on `chan`.
fn info_of(t: &Tables<'_>, ci: u32, chan: Id<Channel>) -> MsgInfo {
    let c = t.threads.at(ci);
    let conn = t.conns.get(c.send.conn);
    MsgInfo {
        nd: ND_LOCAL_NODE,
        srcnd: conn.map_or(0, |k| k.nd),
        pid: t.procs.at(c.proc.index).pid,
        tid: c.tid,
        chid: t.chans.get(chan).map_or(-1, |ch| ch.chid),
        scoid: conn.map_or(-1, |k| k.scoid),
        coid: c.send.coid,
        priority: c.send.prio as i16,
        flags: if c.send.unblock_req {
            _NTO_MI_UNBLOCK_REQ
        } else {
            0
        },
        msglen: c.send.msglen as i64,
        srcmsglen: c.send.slen as i64,
        dstmsglen: c.send.rlen as i64,
        type_id: 0,
        reserved: 0,
    }
}

/// MsgReceivev / MsgReceivePulsev: takes the head of the channel's queue, or blocks.
pub fn msg_receive(
    t: &mut Tables<'_>,
    me: Caller,
    chid: i32,
    rmsg: IovList,
    info: u64,
    pulse_only: bool,
    fx: &mut Effects,
) -> KResult<Step> {
    if chid == -1 {
        // QNX: dissociates the thread from the channel it last received on, so that clients
        // queuing there no longer boost it; there is no channel -1 to receive on (ESRCH).
        t.threads.at_mut(me.thread.index).last_chan = Id::NONE;
        return Err(Errno::ESRCH);
    }
    let rlen = copy::validate(rmsg, Errno::EFAULT)?;
    let Some(chan) = t.chan_of(me.proc, chid) else {
        return Err(Errno::ESRCH);
    };
    if t.chans.at(chan.index).flags & _NTO_CHF_ASYNC != 0 {
        return Err(Errno::EINVAL);
    }
    let i = me.thread.index;
    {
        let th = t.threads.at_mut(i);
        th.recv = crate::objects::thread::RecvDesc {
            iov: rmsg.addr,
            parts: rmsg.parts,
            len: rlen,
            info,
            pulse_only,
            async_hdrs: 0,
            async_max: 0,
        };
        th.last_chan = chan;
    }
    // The first entry we may take: the head, or for a pulse-only receive the first pulse.
    let q = if pulse_only {
        t.sendq_first_pulse(chan)
    } else {
        t.sendq_head(chan)
    };
    if let Some(pi) = q.as_pulse() {
        t.sendq_remove_pulse(chan, pi);
        return take_pulse(t, i, pi, chan, fx).map(Step::Done);
    }
    if let Some(ci) = q.as_thread() {
        // (Taken off the send queue as it becomes REPLY-blocked.)
        let rcvid = match deliver(t, ci, i, chan, fx) {
            Ok(rcvid) => rcvid,
            Err(copy::Fault::Src) if copy::take_refused() => {
                // Linux refused our read of the client's program (EPERM): from now on the
                // kernel's long messages cross through the region; the client sends again (its
                // call runs again, its timeout in force), so, and we look again.
                super::bounce::switch_on(t);
                t.threads.at_mut(ci).clear_send();
                t.ready(ci, CallResult::Retry, fx);
                return Ok(Step::Retry);
            }
            Err(copy::Fault::Src) => {
                // The client's buffers (another program's) faulted: it leaves its MsgSend with
                // EFAULT and we look again, as QNX's receiver "silently keeps waiting".
                if crate::trace::on(t.trace) {
                    trace_withdrawn(t, ci, chan, Errno::EFAULT, crate::trace::why::FAULT);
                }
                t.threads.at_mut(ci).clear_send();
                t.ready(ci, CallResult::Err(Errno::EFAULT.0), fx);
                return Ok(Step::Retry);
            }
            Err(copy::Fault::Dst) => return Err(Errno::EFAULT),
        };
        // A client whose timeout covers REPLY but not SEND slept without a deadline: wake it
        // so it sleeps on with the deadline that now applies.
        if t.threads.at(ci).timeout_cur.states & (_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY)
            == _NTO_TIMEOUT_REPLY
        {
            t.nudge(ci, fx);
        }
        t.counters(me.proc).msgs_received += 1;
        return Ok(Step::Done(rcvid));
    }
    // Nothing queued: RECEIVE-block. The inherited priority is given back while we wait.
    let base = t.threads.at(i).base_prio;
    t.set_prio(i, base, "restore", fx);
    t.threads.at_mut(i).inherited = 0;
    t.block_receive(i, chan);
    Ok(Step::Block)
}

/// Gives pulse `pi` (already unlinked) to receiver `ri` and frees it: Ok(0), or EFAULT when the
/// receive buffer cannot hold a `struct _pulse` (the pulse is lost, as on QNX).
pub(crate) fn take_pulse(
    t: &mut Tables<'_>,
    ri: u32,
    pi: u32,
    chan: Id<Channel>,
    fx: &mut Effects,
) -> Result<i64, Errno> {
    // (Its trace id before `release` may free it and bump its generation.)
    let id = if crate::trace::on(t.trace) {
        super::pulse::pulse_id(t, pi)
    } else {
        0
    };
    let (p, pid) = {
        let po = t.pulses.at(pi);
        (
            crate::abi::types::Pulse {
                type_: _PULSE_TYPE,
                subtype: _PULSE_SUBTYPE,
                code: po.code,
                zero: [0; 3],
                value: po.value,
                scoid: po.scoid,
                pad: 0,
            },
            po.prio,
        )
    };
    super::pulse::release(t, pi);
    let r = deliver_pulse(t, ri, &p, pid, chan, id, fx);
    if r.is_err() && crate::trace::on(t.trace) {
        // Off the queue, and not received: lost (the receiver leaves with EFAULT).
        super::pulse::trace_lost(t, chan, p.code, p.value, id, crate::trace::why::FAULT);
    }
    r
}

/// Writes pulse `p` (priority `prio`; `id` its trace id) into receiver `ri`'s buffer.
pub(crate) fn deliver_pulse(
    t: &mut Tables<'_>,
    ri: u32,
    p: &crate::abi::types::Pulse,
    prio: u8,
    chan: Id<Channel>,
    id: u64,
    fx: &mut Effects,
) -> Result<i64, Errno> {
    let r = t.threads.at(ri).recv;
    if r.len < PULSE_SIZE as u64 {
        return Err(Errno::EFAULT);
    }
    let rs = t.space_of(ri);
    if via_window(t, PULSE_SIZE as u64, copy::Space::LOCAL, rs) {
        // Into the receiver's window; it copies the pulse out when it wakes.
        let bytes = p.to_bytes();
        window_mut(t, ri)[..bytes.len()].copy_from_slice(&bytes);
        t.threads.at_mut(ri).inbox = Inbox {
            kind: Inbox::FILLED,
            len: bytes.len() as u32,
            iov: r.iov,
            parts: r.parts,
            info_at: 0,
            info: MsgInfo::ZERO,
        };
    // SAFETY: the receiver is in its MsgReceive call; its list was validated on entry.
    } else if unsafe { copy::write(IovList::at(r.iov, r.parts, rs), &p.to_bytes()) }.is_err() {
        // Its buffer (another program's) faulted: as for one too small, EFAULT.
        return Err(Errno::EFAULT);
    }
    let owner = t.threads.at(ri).proc;
    t.counters(owner).pulses_received += 1;
    t.threads.at_mut(ri).last_chan = chan;
    if crate::trace::on(t.trace) {
        let (pid, tid) = t.trace_ids(ri);
        let chid = t.trace_chan(chan).1;
        crate::trace::pulse_received(t.trace, pid, tid, chid, p.code, p.value as i32, id);
    }
    if t.chans.at(chan.index).flags & _NTO_CHF_FIXED_PRIORITY == 0 {
        t.inherit(ri, prio, fx);
    }
    Ok(0)
}

/// MsgReplyv: copies `smsg` into the client's reply buffers and readies it with `status`.
/// (A client whose coid was detached, or whose process was destroyed, while the server held it
/// takes no data: it leaves with EBADF or ESRCH, and the reply succeeds for the server.)
pub fn msg_reply(
    t: &mut Tables<'_>,
    me: Caller,
    rcvid: RcvId,
    status: i64,
    smsg: IovList,
    fx: &mut Effects,
) -> KResult<Step> {
    let ci = t.client_of(me, rcvid)?;
    let total = match copy::validate(smsg, Errno::ESRVRFAULT) {
        Ok(n) => n,
        Err(e) => {
            // A fault in the replier's buffer: the client is released with the same error.
            if e == Errno::ESRVRFAULT {
                finish(t, me, ci, CallResult::Err(e.0), 0, fx);
            }
            return Err(e);
        }
    };
    let s = t.threads.at(ci).send;
    let mut replied = 0;
    let cs = t.space_of(ci);
    let long_remote = s.forced_err == 0 && total > WINDOW as u64 && !cs.is_local();
    if long_remote && super::bounce::on(t) {
        replied = reply_through_region(t, me, ci, smsg, total, fx)?;
    } else if s.forced_err == 0 && via_window(t, total, copy::Space::LOCAL, cs) {
        // A short reply to another program goes through the client's window; it copies it
        // into its reply buffers when it wakes.
        let n = total.min(s.rlen);
        let win = [window_iov(t, ci, n as usize)];
        // SAFETY: our own validated list (we are in our MsgReply call) into the client's
        // window in the region.
        let _ = unsafe { copy::copy(smsg, 0, IovList::new(&win), 0, n) };
        t.threads.at_mut(ci).inbox = Inbox {
            kind: Inbox::FILLED,
            len: n as u32,
            iov: s.riov,
            parts: s.rparts,
            info_at: 0,
            info: MsgInfo::ZERO,
        };
        t.counters(me.proc).bytes_copied += n;
        replied = n;
    } else if s.forced_err == 0 {
        // SAFETY: the client is REPLY-blocked in its MsgSend call; we are in our MsgReply call.
        let n = unsafe { copy::copy(smsg, 0, IovList::at(s.riov, s.rparts, cs), 0, u64::MAX) };
        match n {
            Ok(n) => {
                t.counters(me.proc).bytes_copied += n;
                replied = n;
            }
            Err(copy::Fault::Dst) if copy::take_refused() => {
                // Linux refused our copy into the client's program (EPERM): from now on the
                // kernel's long messages cross through the region; this reply so.
                super::bounce::switch_on(t);
                replied = reply_through_region(t, me, ci, smsg, total, fx)?;
            }
            Err(fault) => {
                // A fault in the client's reply buffer (another program's) is EFAULT, in ours
                // ESRVRFAULT; either way the client is released with the same error.
                // (A client whose program died, not yet reaped, is as if reaped: ESRCH.)
                let e = match fault {
                    copy::Fault::Dst if peer_gone(t, ci) => Errno::ESRCH,
                    copy::Fault::Dst => Errno::EFAULT,
                    copy::Fault::Src => Errno::ESRVRFAULT,
                };
                finish(t, me, ci, CallResult::Err(e.0), 0, fx);
                return Err(e);
            }
        }
    }
    finish(t, me, ci, CallResult::Ok(status), replied, fx);
    Ok(Step::Done(0))
}

/// A long reply (`smsg`, `total` bytes) to REPLY-blocked client `ci` of another program,
/// where long copies cross through the region: recorded for the client, which writes it into
/// its reply buffers as its call ends (bounce.rs). Returns the bytes replied. No block to be
/// had: the client is released with EAGAIN, and so is the reply.
fn reply_through_region(
    t: &mut Tables<'_>,
    me: Caller,
    ci: u32,
    smsg: IovList,
    total: u64,
    fx: &mut Effects,
) -> KResult<u64> {
    let s = t.threads.at(ci).send;
    let n = total.min(s.rlen);
    if let Err(e) = super::bounce::reply(t, ci, (s.riov, s.rparts), smsg, n) {
        finish(t, me, ci, CallResult::Err(e.0), 0, fx);
        return Err(e);
    }
    t.counters(me.proc).bytes_copied += n;
    Ok(n)
}

/// Whether thread `i` is in another program that has died or is dying (killed, not yet
/// reaped): a copy to or from it failed because it is going, not because of a bad buffer.
fn peer_gone(t: &Tables<'_>, i: u32) -> bool {
    let space = t.space_of(i);
    !space.is_local() && copy::program_going(space.0)
}

/// A server answers client `ci` (reply or error, `bytes` replied): its exchange ends with
/// `result`.
fn finish(
    t: &mut Tables<'_>,
    me: Caller,
    ci: u32,
    result: CallResult,
    bytes: u64,
    fx: &mut Effects,
) {
    t.counters(me.proc).replies += 1;
    if crate::trace::on(t.trace) {
        // (What the server answered: a doomed client's own call returns its error.)
        trace_reply(t, ci, Some((me.thread.index, bytes)), result);
    }
    end(t, ci, result, fx);
}

/// Ends REPLY-blocked client `ci`'s exchange and readies it with `result` (or with the error a
/// forced unblock fixed: EBADF, ESRCH). Every way an exchange ends comes through here: a reply
/// or MsgError, a timeout or signal on a channel without `_NTO_CHF_UNBLOCK`, a detached coid,
/// a destroyed channel, the client's death. It drops the `_PULSE_CODE_UNBLOCK` still queued for
/// it, gives back the connection link a deferred unblock held (which may now send the
/// disconnect pulse), and ends a thread whose process was destroyed meanwhile.
pub(crate) fn end_exchange(t: &mut Tables<'_>, ci: u32, result: CallResult, fx: &mut Effects) {
    if crate::trace::on(t.trace) {
        trace_reply(t, ci, None, doomed(t, ci, result));
    }
    end(t, ci, result, fx);
}

/// What client `ci` leaves with when its exchange ends with `result`: the error a detach or
/// its death fixed, whatever the answer (as [`end`] decides).
fn doomed(t: &Tables<'_>, ci: u32, result: CallResult) -> CallResult {
    match t.threads.at(ci).send.forced_err {
        0 => result,
        e => CallResult::Err(e),
    }
}

/// [`end_exchange`]'s work (traced by its callers).
fn end(t: &mut Tables<'_>, ci: u32, result: CallResult, fx: &mut Effects) {
    settle_unblock_request(t, ci);
    let (s, prio) = {
        let th = t.threads.at(ci);
        (th.send, th.prio)
    };
    t.threads.at_mut(ci).clear_send();
    if s.holds_link {
        super::connect::unlink(t, s.conn, prio, fx);
    }
    let result = if s.forced_err != 0 {
        CallResult::Err(s.forced_err)
    } else {
        result
    };
    if t.threads.at(ci).zombie {
        // Its process is gone: the thread ends now (its OS thread's call returns ESRCH).
        t.ready(ci, CallResult::Err(Errno::ESRCH.0), fx);
        super::process::reap_zombie(t, ci, fx);
        return;
    }
    t.ready(ci, result, fx);
}

/// A REPLY-blocked client's exchange ends: drop the `_PULSE_CODE_UNBLOCK` still queued for it,
/// which would otherwise reach the server for an rcvid that no longer exists.
fn settle_unblock_request(t: &mut Tables<'_>, ci: u32) {
    if let KState::Reply { chan, .. } = t.threads.at(ci).state() {
        let rcvid = t.rcvid_of(ci);
        remove_unblock_pulse(t, chan, rcvid);
    }
}

/// Removes the `_PULSE_CODE_UNBLOCK` queued on `chan` for `rcvid`, if any.
fn remove_unblock_pulse(t: &mut Tables<'_>, chan: Id<Channel>, rcvid: RcvId) {
    if t.chans.get(chan).is_none() {
        return;
    }
    let mut q = t.sendq_head(chan);
    while !q.is_none() {
        let next = t.sendq_next(q);
        if let Some(pi) = q.as_pulse() {
            let p = t.pulses.at(pi);
            if p.code == _PULSE_CODE_UNBLOCK && p.value as RcvId == rcvid {
                if crate::trace::on(t.trace) {
                    super::pulse::trace_dropped(t, chan, pi, crate::trace::why::ANSWERED);
                }
                t.sendq_remove_pulse(chan, pi);
                super::pulse::release(t, pi);
                return;
            }
        }
        q = next;
    }
}

/// The largest errno MsgError passes on (Linux's `MAX_ERRNO`): larger values, and negative
/// ones other than -1, are refused with EINVAL.
pub const ERRNO_MAX: i32 = 4095;

/// MsgError: readies the client with `err` (EOK: MsgSend returns 0; ERESTART: it re-sends;
/// -1: the reason the client asked to unblock, as QNX 7.0.1 does). An errno outside 1..=4095
/// (other than -1) is EINVAL and the client stays REPLY-blocked; so is -1 for a client that
/// has not asked to unblock.
pub fn msg_error(
    t: &mut Tables<'_>,
    me: Caller,
    rcvid: RcvId,
    err: i32,
    fx: &mut Effects,
) -> KResult<Step> {
    let ci = t.client_of(me, rcvid)?;
    let result = match err {
        0 => CallResult::Ok(0),
        e if e == Errno::ERESTART.0 => CallResult::Restart,
        -1 => {
            let s = t.threads.at(ci).send;
            if !s.unblock_req || s.unblock_err == 0 {
                return Err(Errno::EINVAL);
            }
            CallResult::Err(s.unblock_err)
        }
        e if (1..=ERRNO_MAX).contains(&e) => CallResult::Err(e),
        _ => return Err(Errno::EINVAL),
    };
    finish(t, me, ci, result, 0, fx);
    Ok(Step::Done(0))
}

/// MsgReadv: copies from the client's send buffers, from `offset`, into ours.
pub fn msg_read(
    t: &mut Tables<'_>,
    me: Caller,
    rcvid: RcvId,
    dst: IovList,
    offset: u64,
) -> KResult<Step> {
    let ci = t.client_of(me, rcvid)?;
    copy::validate(dst, Errno::ESRVRFAULT)?;
    let s = t.threads.at(ci).send;
    if offset >= s.slen {
        return Ok(Step::Done(0));
    }
    let cs = t.space_of(ci);
    // A short message from another program is in its window too (filled at its MsgSend):
    // read it from the region.
    // A long one, where long copies cross through the region, in its block (bounce.rs).
    let win = if via_window(t, s.slen, cs, copy::Space::LOCAL) {
        Some([window_iov(t, ci, s.slen as usize)])
    } else if s.slen > WINDOW as u64 && !cs.is_local() {
        super::bounce::message(t, ci, s.slen).map(|m| [m])
    } else {
        None
    };
    let src = match &win {
        Some(w) => IovList::new(w),
        None => IovList::at(s.siov, s.sparts, cs),
    };
    // SAFETY: the client is REPLY-blocked in its MsgSend call (its list, or its window, holds
    // its message); we are in our MsgRead call.
    let n = unsafe { copy::copy(src, offset, dst, 0, u64::MAX) }.map_err(|f| {
        if copy::take_refused() {
            // Linux refused our read of the client's program (EPERM): its message, sent
            // before, is out of reach (EFAULT); from now on long messages cross through the
            // region.
            super::bounce::switch_on(t);
        }
        match f {
            // (A client whose program is dying: as if gone already, ESRCH.)
            copy::Fault::Src if peer_gone(t, ci) => Errno::ESRCH,
            f => fault_errno(f),
        }
    })?;
    t.counters(me.proc).bytes_copied += n;
    Ok(Step::Done(n as i64))
}

/// MsgWritev: copies ours into the client's reply buffers at `offset`, leaving it blocked.
pub fn msg_write(
    t: &mut Tables<'_>,
    me: Caller,
    rcvid: RcvId,
    src: IovList,
    offset: u64,
) -> KResult<Step> {
    let ci = t.client_of(me, rcvid)?;
    let total = copy::validate(src, Errno::ESRVRFAULT)?;
    let s = t.threads.at(ci).send;
    if offset >= s.rlen {
        return Ok(Step::Done(0));
    }
    let cs = t.space_of(ci);
    // To another program, where long copies cross through the region: into the client's
    // writes, which it copies into its reply buffers when its call ends (bounce.rs). No block
    // to be had: EAGAIN, nothing written.
    let through_region = |t: &mut Tables<'_>| -> KResult<Step> {
        let n = total.min(s.rlen - offset);
        super::bounce::write(t, ci, (s.riov, s.rparts), offset, src, n)?;
        t.counters(me.proc).bytes_copied += n;
        Ok(Step::Done(n as i64))
    };
    if !cs.is_local() && super::bounce::on(t) {
        return through_region(t);
    }
    // SAFETY: the client is REPLY-blocked in its MsgSend call; we are in our MsgWrite call.
    let n = match unsafe { copy::copy(src, 0, IovList::at(s.riov, s.rparts, cs), offset, u64::MAX) }
    {
        Ok(n) => n,
        Err(copy::Fault::Dst) if copy::take_refused() => {
            // Linux refused our copy into the client's program (EPERM): from now on the
            // kernel's long messages cross through the region; this write so.
            super::bounce::switch_on(t);
            return through_region(t);
        }
        Err(f) => {
            return Err(match f {
                // (A client whose program is dying: as if gone already, ESRCH.)
                copy::Fault::Dst if peer_gone(t, ci) => Errno::ESRCH,
                copy::Fault::Src => fault_errno(copy::Fault::Dst),
                copy::Fault::Dst => fault_errno(copy::Fault::Src),
            });
        }
    };
    t.counters(me.proc).bytes_copied += n;
    Ok(Step::Done(n as i64))
}

/// MsgRead's errno for a fault: in the client's buffers (the source) EFAULT, in the server's
/// own ESRVRFAULT (MsgWrite swaps the sides before asking).
fn fault_errno(f: copy::Fault) -> Errno {
    match f {
        copy::Fault::Src => Errno::EFAULT,
        copy::Fault::Dst => Errno::ESRVRFAULT,
    }
}

/// MsgInfo: refills the `MsgInfo` of a REPLY-blocked client's message.
pub fn msg_info(t: &mut Tables<'_>, me: Caller, rcvid: RcvId, info: u64) -> KResult<Step> {
    let ci = t.client_of(me, rcvid)?;
    let KState::Reply { chan, .. } = t.threads.at(ci).state() else {
        return Err(Errno::ESRCH);
    };
    let mi = info_of(t, ci, chan);
    // SAFETY: `info` is the caller's own MsgInfo, borrowed for this call.
    unsafe { copy::write_out(copy::Space::LOCAL, info, &mi) };
    Ok(Step::Done(0))
}

/// MsgCurrent: the caller resumes work on client `rcvid`'s message (a reply deferred, or
/// handed to another thread of the server): unless the channel is `_NTO_CHF_FIXED_PRIORITY`,
/// the caller takes the client's priority, as a receive of that message would have given it,
/// down as well as up (a boost a higher client gave the caller is then lost, as QNX documents).
/// Any thread of the server's process may call it.
///
/// ESRCH: `rcvid` names no client REPLY-blocked on a channel of the caller's process.
pub fn msg_current(
    t: &mut Tables<'_>,
    me: Caller,
    rcvid: RcvId,
    fx: &mut Effects,
) -> KResult<Step> {
    let ci = t.client_of(me, rcvid)?;
    let KState::Reply { chan, .. } = t.threads.at(ci).state() else {
        return Err(Errno::ESRCH);
    };
    let prio = t.threads.at(ci).prio;
    let me_idx = me.thread.index;
    t.threads.at_mut(me_idx).last_chan = chan;
    if t.chans.at(chan.index).flags & _NTO_CHF_FIXED_PRIORITY == 0 {
        t.inherit(me_idx, prio, fx);
    }
    Ok(Step::Done(0))
}

/// Why a blocked thread is made to leave its kernel call (QNX's `force_ready`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Its TimerTimeout expired (or a `SIGEV_UNBLOCK` event came): ETIMEDOUT.
    Timeout,
    /// A signal handler ran in its thread: EINTR.
    Signal,
    /// Another thread of its process detached the coid it sent on: EBADF.
    Detached,
    /// Its process is being destroyed: ESRCH, and the thread ends.
    Death,
    /// Its thread was cancelled (`ThreadCancel`, a C program's `pthread_cancel`) in a
    /// cancellation point: ECANCELED, and the library acts on the cancellation.
    Cancel,
}

impl Why {
    /// The errno the thread leaves with.
    pub fn errno(self) -> Errno {
        match self {
            Why::Timeout => Errno::ETIMEDOUT,
            Why::Signal => Errno::EINTR,
            Why::Detached => Errno::EBADF,
            Why::Death => Errno::ESRCH,
            Why::Cancel => Errno::ECANCELED,
        }
    }

    /// The `why` of a `withdrawn` event (`trace::why`).
    fn trace_why(self) -> &'static str {
        match self {
            Why::Timeout => crate::trace::why::TIMEOUT,
            Why::Signal => crate::trace::why::SIGNAL,
            Why::Detached => crate::trace::why::DETACHED,
            Why::Death => crate::trace::why::DEATH,
            Why::Cancel => crate::trace::why::CANCEL,
        }
    }

    /// Whether the thread leaves with this error whatever the server answers (a timeout or a
    /// signal only asks, and the server's answer stands).
    fn forced(self) -> bool {
        matches!(self, Why::Detached | Why::Death)
    }
}

/// Makes blocked thread `i` leave its call for `why`. Returns the result it leaves with now
/// (the caller readies it), or `None` if it stays REPLY-blocked: on a channel with
/// `_NTO_CHF_UNBLOCK` whose server lives, the server gets one `_PULSE_CODE_UNBLOCK` (value: the
/// rcvid) and the client leaves only when the server answers: with the answer after a timeout
/// or a signal, with EBADF or ESRCH after a detach or its process's death (QNX's unblock
/// protocol; if no pulse can be queued, the client leaves at once, as on QNX).
///
/// A SEND-blocked thread is unlinked (the server never saw it); a RECEIVE- or INTR-blocked one
/// too.
pub fn force_ready(t: &mut Tables<'_>, i: u32, why: Why, fx: &mut Effects) -> Option<CallResult> {
    let err = CallResult::Err(why.errno().0);
    match t.threads.at(i).state() {
        KState::Send { chan } => {
            if crate::trace::on(t.trace) {
                // (Before the state event: the chart puts the change at this withdrawal.)
                trace_withdrawn(t, i, chan, why.errno(), why.trace_why());
            }
            t.set_running(i);
            // (Off the queue unreceived: the boost it gave the server goes with it.)
            t.unboost(chan, fx);
            let s = t.threads.at(i).send;
            t.threads.at_mut(i).clear_send();
            if s.holds_link {
                let prio = t.threads.at(i).prio;
                super::connect::unlink(t, s.conn, prio, fx);
            }
        }
        KState::Receive { .. } | KState::Intr | KState::Nanosleep => t.set_running(i),
        KState::Reply { chan, .. } => {
            let (flags, server_alive) = t.chans.get(chan).map_or((0, false), |c| {
                let alive = t
                    .procs
                    .get(c.owner)
                    .is_some_and(|p| p.state == crate::objects::process::ProcState::Alive);
                (c.flags, alive)
            });
            if flags & _NTO_CHF_UNBLOCK != 0 && server_alive && request_unblock(t, i, chan, why, fx)
            {
                return None;
            }
            // Released now: the exchange ends (the caller readies the thread with `err`).
            let (s, prio) = {
                let th = t.threads.at(i);
                (th.send, th.prio)
            };
            let result = if s.forced_err != 0 && !why.forced() {
                // Already doomed by a detach or death: that error, not this one.
                CallResult::Err(s.forced_err)
            } else {
                err
            };
            if crate::trace::on(t.trace) {
                trace_reply(t, i, None, result);
            }
            settle_unblock_request(t, i);
            t.threads.at_mut(i).clear_send();
            if s.holds_link {
                super::connect::unlink(t, s.conn, prio, fx);
            }
            t.set_running(i);
            return Some(result);
        }
        KState::Ready | KState::Running | KState::Dead => return Some(t.threads.at(i).result),
    }
    Some(err)
}

/// Client `i`, REPLY-blocked on an `_NTO_CHF_UNBLOCK` channel, asks to leave: the first
/// request queues `_PULSE_CODE_UNBLOCK` and sets `_NTO_MI_UNBLOCK_REQ`; a forced one (detach,
/// death) also fixes the client's result and holds the connection until the server answers.
/// Returns false if the client must be released at once (no pulse could be queued).
fn request_unblock(
    t: &mut Tables<'_>,
    i: u32,
    chan: Id<Channel>,
    why: Why,
    fx: &mut Effects,
) -> bool {
    if !t.threads.at(i).send.unblock_req {
        let (prio, scoid) = {
            let th = t.threads.at(i);
            (
                th.send.prio,
                t.conns.get(th.send.conn).map_or(-1, |c| c.scoid),
            )
        };
        let rcvid = t.rcvid_of(i);
        if super::pulse::queue_pulse(t, chan, prio, _PULSE_CODE_UNBLOCK, rcvid as u64, scoid, fx)
            .is_err()
        {
            return false;
        }
        let s = &mut t.threads.at_mut(i).send;
        s.unblock_req = true;
        s.unblock_err = why.errno().0;
    }
    if why.forced() {
        let conn = t.threads.at(i).send.conn;
        let hold = !t.threads.at(i).send.holds_link && t.conns.get(conn).is_some();
        if hold {
            t.conns.at_mut(conn.index).links += 1;
        }
        let s = &mut t.threads.at_mut(i).send;
        s.holds_link |= hold;
        // Death outranks a detach: the thread will not come back at all.
        if s.forced_err == 0 || why == Why::Death {
            s.forced_err = why.errno().0;
        }
    }
    true
}

/// Whether `len` bytes between buffers in spaces `a` and `b` go through a thread's message
/// window: in a shared kernel, when they are short and the two are not both this program's.
#[inline]
fn via_window(t: &Tables<'_>, len: u64, a: copy::Space, b: copy::Space) -> bool {
    t.shared && len <= WINDOW as u64 && !(a.is_local() && b.is_local())
}

/// Thread `i`'s message window, mutably.
fn window_mut<'w>(t: &'w mut Tables<'_>, i: u32) -> &'w mut [u8] {
    let at = i as usize * WINDOW;
    &mut t.windows[at..at + WINDOW]
}

/// The first `len` bytes (at most [`WINDOW`]) of thread `i`'s message window, as an iov in
/// this program (the region is mapped here too).
fn window_iov(t: &mut Tables<'_>, i: u32, len: usize) -> Iov {
    let w = &mut window_mut(t, i)[..len.min(WINDOW)];
    Iov::from_mut_slice(w)
}

/// Copies the first `n` bytes of thread `from`'s window into thread `to`'s.
fn copy_window(t: &mut Tables<'_>, from: u32, to: u32, n: usize) {
    let (a, b) = (from as usize * WINDOW, to as usize * WINDOW);
    t.windows.copy_within(a..a + n.min(WINDOW), b);
}

/// Thread `i` (the caller, readied) copies what another program left in its window into its
/// own buffers, and writes the `MsgInfo` of a message received (see `Inbox`).
pub(crate) fn collect_inbox(t: &mut Tables<'_>, i: u32) {
    // (Our own slot, consumed as we collect: unlogged, see `Pool::get_mut_unlogged`.)
    let inbox = std::mem::replace(&mut t.threads.at_mut_unlogged(i).inbox, Inbox::EMPTY);
    if inbox.kind == Inbox::NONE {
        return;
    }
    let win = [window_iov(t, i, inbox.len as usize)];
    let dst = IovList::at(inbox.iov, inbox.parts, copy::Space::LOCAL);
    // SAFETY: our window (in the region) into our own buffers, which our blocked call named
    // and still borrows (we are collecting its result); validated when the call was made.
    let _ = unsafe { copy::copy(IovList::new(&win), 0, dst, 0, u64::from(inbox.len)) };
    // SAFETY: 0 or our own `MsgInfo`, borrowed by the same call.
    unsafe { copy::write_out(copy::Space::LOCAL, inbox.info_at, &inbox.info) };
}
