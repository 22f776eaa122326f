//! Pulses: MsgSendPulse, and the queueing the kernel's own pulses share with it.

use super::{Caller, Effects, Step};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::Pulse;
use crate::objects::channel::sendq_key;
use crate::objects::thread::CallResult;
use crate::objects::{Channel, PulseObj};
use crate::pool::{Id, Pooled, NIL};
use crate::region::Tables;

/// Who sends a pulse, for its trace event: a thread slot, or [`KERNEL`].
pub(crate) type From = u32;

/// The kernel sends the pulse (pid 0, tid 0 in its trace event).
pub(crate) const KERNEL: From = NIL;

/// Delivers a kernel notification pulse on `chan`: straight into a RECEIVE-blocked thread if
/// one waits, otherwise queued by priority (EAGAIN when the pulse pool is exhausted). A waiting
/// receiver whose buffer cannot hold the pulse leaves with EFAULT and the pulse is lost.
pub(crate) fn queue_pulse(
    t: &mut Tables<'_>,
    chan: Id<Channel>,
    prio: u8,
    code: i8,
    value: u64,
    scoid: i32,
    fx: &mut Effects,
) -> KResult<()> {
    deliver_or_enqueue(t, chan, prio, code, value, scoid, KERNEL, fx).map(drop)
}

/// A program's pulse (MsgSendPulse, or a `SIGEV_PULSE` event delivered by MsgDeliverEvent),
/// sent by thread `from` (or the kernel: a timer's or asyncmsg channel's event): as
/// [`queue_pulse`], but a fault writing it into the waiting receiver's buffer is also the
/// sender's error, ESRVRFAULT, as on QNX.
#[allow(clippy::too_many_arguments)]
pub(crate) fn send_pulse(
    t: &mut Tables<'_>,
    chan: Id<Channel>,
    prio: u8,
    code: i8,
    value: u64,
    scoid: i32,
    from: From,
    fx: &mut Effects,
) -> KResult<()> {
    match deliver_or_enqueue(t, chan, prio, code, value, scoid, from, fx)? {
        Some(_) => Err(Errno::ESRVRFAULT),
        None => Ok(()),
    }
}

/// [`queue_pulse`]'s work; returns the waiting receiver's fault, if its buffer could not take
/// the pulse.
#[allow(clippy::too_many_arguments)]
fn deliver_or_enqueue(
    t: &mut Tables<'_>,
    chan: Id<Channel>,
    prio: u8,
    code: i8,
    value: u64,
    scoid: i32,
    from: From,
    fx: &mut Effects,
) -> KResult<Option<Errno>> {
    if let Some(r) = t.receiver(chan, true) {
        // Straight to the receiver: no pulse object. Its id is the receiver's (see
        // `direct_id`); queued and received at once.
        let id = if crate::trace::on(t.trace) {
            let id = direct_id(t, r);
            trace_queued(t, chan, code, value, from, id);
            id
        } else {
            0
        };
        let p = Pulse {
            type_: _PULSE_TYPE,
            subtype: _PULSE_SUBTYPE,
            code,
            zero: [0; 3],
            value,
            scoid,
            pad: 0,
        };
        let res = super::srr::deliver_pulse(t, r, &p, prio, chan, id, fx);
        if res.is_err() && crate::trace::on(t.trace) {
            // Queued (its event is out) and not received: lost.
            trace_lost(t, chan, code, value, id, crate::trace::why::FAULT);
        }
        t.ready(
            r,
            res.map_or_else(|e| CallResult::Err(e.0), CallResult::Ok),
            fx,
        );
        return Ok(res.err());
    }
    enqueue(t, chan, prio, code, value, scoid, false, from, fx).map(|()| None)
}

/// The `pulse` id of pool pulse `pi` (its slot, generation and times queued: a reserved pulse
/// keeps its generation across notifications).
pub(crate) fn pulse_id(t: &Tables<'_>, pi: u32) -> u64 {
    let p = t.pulses.at(pi);
    crate::trace::flow_id(pi, p.hdr.gen, u64::from(p.sends))
}

/// The `pulse` id of a pulse handed straight to RECEIVE-blocked thread `ri` (no pulse object):
/// the receiver's slot, generation and kernel entries (it takes one pulse per blocked
/// receive), with the top bit set, apart from pool pulses' ids.
fn direct_id(t: &Tables<'_>, ri: u32) -> u64 {
    let th = t.threads.at(ri);
    crate::trace::flow_id(ri, th.hdr.gen, th.kernel_entries) | 1 << 63
}

/// The `queued` event of pulse `id` on `chan`, sent by `from`.
#[inline(never)]
fn trace_queued(t: &Tables<'_>, chan: Id<Channel>, code: i8, value: u64, from: From, id: u64) {
    let (pid, tid) = if from == KERNEL {
        (0, 0)
    } else {
        t.trace_ids(from)
    };
    let (peer_pid, chid) = t.trace_chan(chan);
    crate::trace::pulse_queued(t.trace, pid, tid, peer_pid, chid, code, value as i32, id);
}

/// The `dropped` event of pool pulse `pi`, queued on `chan` and about to be freed unreceived
/// (still linked: its id is taken before `release` may bump its generation).
#[inline(never)]
pub(crate) fn trace_dropped(t: &Tables<'_>, chan: Id<Channel>, pi: u32, why: &'static str) {
    let p = t.pulses.at(pi);
    trace_lost(t, chan, p.code, p.value, pulse_id(t, pi), why);
}

/// The `dropped` event of pulse `id` (`code`, `value`) for `chan`, never received.
#[inline(never)]
pub(crate) fn trace_lost(
    t: &Tables<'_>,
    chan: Id<Channel>,
    code: i8,
    value: u64,
    id: u64,
    why: &'static str,
) {
    let (peer_pid, chid) = t.trace_chan(chan);
    crate::trace::pulse_dropped(t.trace, peer_pid, chid, code, value as i32, id, why);
}

/// Allocates a pulse and queues it on `chan` (by priority; `boost` files it ahead of every
/// priority), boosting the server as a queued sender would. EAGAIN when the pulse pool is
/// exhausted.
#[allow(clippy::too_many_arguments)]
fn enqueue(
    t: &mut Tables<'_>,
    chan: Id<Channel>,
    prio: u8,
    code: i8,
    value: u64,
    scoid: i32,
    boost: bool,
    from: From,
    fx: &mut Effects,
) -> KResult<()> {
    let mut obj = PulseObj::vacant();
    (obj.prio, obj.code, obj.value, obj.scoid, obj.boost) = (prio, code, value, scoid, boost);
    let id = t.pulses.alloc(obj).ok_or(Errno::EAGAIN)?;
    link(t, chan, id.index, from, fx);
    Ok(())
}

/// Links pulse `pi` into `chan`'s queue at its priority and boosts the server.
fn link(t: &mut Tables<'_>, chan: Id<Channel>, pi: u32, from: From, fx: &mut Effects) {
    let (prio, key) = {
        let p = t.pulses.at_mut(pi);
        p.sends = p.sends.wrapping_add(1);
        (p.prio, sendq_key(p.prio, p.boost))
    };
    t.sendq_push_pulse(chan, pi, key);
    if crate::trace::on(t.trace) {
        let p = t.pulses.at(pi);
        let (code, value) = (p.code, p.value);
        trace_queued(t, chan, code, value, from, pulse_id(t, pi));
    }
    t.boost(chan, prio, fx);
}

/// A pulse leaves its queue for good (taken by a receiver, removed, its channel destroyed):
/// freed, unless a timer or connection owns it, which keeps it for its next notification.
pub(crate) fn release(t: &mut Tables<'_>, pi: u32) {
    let p = t.pulses.at(pi);
    debug_assert!(!p.queued(), "a pulse is released off its queue");
    if !p.reserved {
        if let Some(id) = t.pulses.id_at(pi) {
            t.pulses.free(id);
        }
    }
}

/// Takes a pulse from the pool for an owner that will notify through it again and again (a
/// timer, an asyncmsg connection). EAGAIN when the pool is exhausted.
pub(crate) fn reserve(t: &mut Tables<'_>) -> KResult<u32> {
    let mut obj = PulseObj::vacant();
    obj.reserved = true;
    t.pulses.alloc(obj).map(|id| id.index).ok_or(Errno::EAGAIN)
}

/// The owner of reserved pulse `pi` goes away: the pulse is freed now, or, if it is still
/// queued, when a receiver takes it (its notification is still delivered).
pub(crate) fn unreserve(t: &mut Tables<'_>, pi: u32) {
    let p = t.pulses.at_mut(pi);
    p.reserved = false;
    if !p.queued() {
        if let Some(id) = t.pulses.id_at(pi) {
            t.pulses.free(id);
        }
    }
}

/// Delivers a notification through reserved pulse `pi`: straight to a waiting receiver, or
/// queued. Returns false if the pulse was still queued from the last notification: this one
/// is merged into it (its code and value are those of the newest).
#[allow(clippy::too_many_arguments)]
pub(crate) fn queue_reserved(
    t: &mut Tables<'_>,
    pi: u32,
    chan: Id<Channel>,
    prio: u8,
    code: i8,
    value: u64,
    scoid: i32,
    fx: &mut Effects,
) -> bool {
    if t.pulses.at(pi).queued() {
        let p = t.pulses.at_mut(pi);
        p.code = code;
        p.value = value;
        return false;
    }
    if t.receiver(chan, true).is_some() {
        // A receiver waits: the pulse goes straight to it (no queue entry, nothing to allocate).
        let _ = queue_pulse(t, chan, prio, code, value, scoid, fx);
        return true;
    }
    {
        let p = t.pulses.at_mut(pi);
        p.prio = prio;
        p.code = code;
        p.value = value;
        p.scoid = scoid;
        p.boost = false;
    }
    link(t, chan, pi, KERNEL, fx);
    true
}

/// Queues a kernel notification pulse ahead of every priority on `chan` (or hands it to a
/// waiting receiver), as QNX boosts its disconnect pulses: it stays ahead of messages and
/// pulses of any priority queued later, behind boosted pulses queued earlier.
pub(crate) fn queue_pulse_head(
    t: &mut Tables<'_>,
    chan: Id<Channel>,
    prio: u8,
    code: i8,
    value: u64,
    scoid: i32,
    fx: &mut Effects,
) -> KResult<()> {
    if t.chans.at(chan.index).receivers() > 0 {
        return queue_pulse(t, chan, prio, code, value, scoid, fx);
    }
    enqueue(t, chan, prio, code, value, scoid, true, KERNEL, fx)
}

/// Sends a kernel death pulse (`code`, `value`, scoid -1) on process `proc`'s death channel if
/// it has one with `flag`. A full pulse pool loses the notification (counted nowhere else).
pub(crate) fn death_pulse(
    t: &mut Tables<'_>,
    proc: Id<crate::objects::Process>,
    flag: u32,
    prio: u8,
    code: i8,
    value: i32,
    fx: &mut Effects,
) {
    let Some(p) = t.procs.get(proc) else { return };
    if p.state != crate::objects::process::ProcState::Alive {
        return;
    }
    let chan = p.death_chan;
    if t.chans.get(chan).is_some_and(|c| c.flags & flag != 0) {
        let _ = queue_pulse(t, chan, prio, code, value as u32 as u64, -1, fx);
    }
}

/// MsgSendPulse: a non-blocking notification on `coid`. `prio` -1 is the caller's priority;
/// `code` must be a user code (0..=127).
pub fn msg_send_pulse(
    t: &mut Tables<'_>,
    me: Caller,
    coid: i32,
    prio: i32,
    code: i32,
    value: i32,
    fx: &mut Effects,
) -> KResult<Step> {
    // The connection first, then the arguments, as QNX 6.4's kernel does (ker_msg_sendpulse):
    // a bad coid is EBADF whatever the priority and code.
    let conn = t.sync_conn_of(me.proc, coid)?;
    let (chan, scoid) = {
        let c = t.conns.at(conn.index);
        (c.chan, c.scoid)
    };
    if t.chans.get(chan).is_none() {
        return Err(Errno::EBADF);
    }
    let prio = match prio {
        p if p == i32::from(PULSE_PRIO_CALLER) => t.threads.at(me.thread.index).prio,
        p if (i32::from(PRIO_MIN)..=i32::from(PRIO_MAX)).contains(&p) => p as u8,
        _ => return Err(Errno::EINVAL),
    };
    if !(_PULSE_CODE_MINAVAIL as i32..=_PULSE_CODE_MAXAVAIL as i32).contains(&code) {
        return Err(Errno::EINVAL);
    }
    send_pulse(
        t,
        chan,
        prio,
        code as i8,
        value as u32 as u64,
        scoid,
        me.thread.index,
        fx,
    )?;
    t.counters(me.proc).pulses_sent += 1;
    Ok(Step::Done(0))
}
