//! ChannelCreate and ChannelDestroy.

use super::{Caller, Effects, Step};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::objects::thread::CallResult;
use crate::objects::{Channel, CoidSlot, KState};
use crate::pool::{Id, Pooled};
use crate::region::Tables;

/// ChannelCreate: a new channel owned by the caller's process; returns its chid (from 1).
pub fn channel_create(t: &mut Tables<'_>, me: Caller, flags: u32) -> KResult<Step> {
    if flags & !CHF_ACCEPTED != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & _NTO_CHF_NET_MSG != 0 {
        return Err(Errno::EPERM);
    }
    let death = flags & (_NTO_CHF_THREAD_DEATH | _NTO_CHF_COID_DISCONNECT) != 0;
    if death && t.chans.get(t.procs.at(me.proc.index).death_chan).is_some() {
        return Err(Errno::EBUSY);
    }
    let per = t.cfg.chids_per_process as usize;
    let base = t.pslot(me.proc) * per;
    let Some(slot) = (0..per).find(|&i| t.chans.get(t.chids[base + i]).is_none()) else {
        return Err(Errno::EAGAIN);
    };
    let chid = slot as i32 + 1;
    let mut c = Channel::vacant();
    c.owner = me.proc;
    c.chid = chid;
    c.flags = flags;
    let Some(id) = t.chans.alloc(c) else {
        return Err(Errno::EAGAIN);
    };
    t.log(base + slot, |t| &t.chids[..]);
    t.chids[base + slot] = id;
    if death {
        t.procs.at_mut(me.proc.index).death_chan = id;
    }
    Ok(Step::Done(chid as i64))
}

/// ChannelDestroy: EINVAL for an unknown chid.
pub fn channel_destroy(
    t: &mut Tables<'_>,
    me: Caller,
    chid: i32,
    fx: &mut Effects,
) -> KResult<Step> {
    let Some(chan) = t.chan_of(me.proc, chid) else {
        return Err(Errno::EINVAL);
    };
    destroy(t, chan, fx);
    Ok(Step::Done(0))
}

/// Tears a channel down: SEND-, RECEIVE- and REPLY-blocked threads leave with ESRCH, queued
/// pulses are freed, its connections lose their channel (later sends: EBADF), its scoids go.
pub(crate) fn destroy(t: &mut Tables<'_>, chan: Id<Channel>, fx: &mut Effects) {
    super::name::drop_names_of(t, chan);
    let esrch = CallResult::Err(Errno::ESRCH.0);
    // REPLY-blocked clients (first: ending an exchange may queue a disconnect pulse, which
    // the drain below then frees).
    let blocked: smallvec::SmallVec<[u32; 8]> = t
        .threads
        .live_ids()
        .filter(
            |id| matches!(t.threads.at(id.index).state(), KState::Reply { chan: c, .. } if c == chan),
        )
        .map(|id| id.index)
        .collect();
    for i in blocked {
        super::srr::end_exchange(t, i, esrch, fx);
    }
    // The send queue: senders and pulses.
    loop {
        let q = t.sendq_head(chan);
        if let Some(i) = q.as_thread() {
            if crate::trace::on(t.trace) {
                // Never received: the server never saw it.
                super::srr::trace_withdrawn(t, i, chan, Errno::ESRCH, crate::trace::why::CHANNEL);
            }
            t.threads.at_mut(i).clear_send();
            t.ready(i, esrch, fx);
        } else if let Some(pi) = q.as_pulse() {
            if crate::trace::on(t.trace) {
                super::pulse::trace_dropped(t, chan, pi, crate::trace::why::CHANNEL);
            }
            t.sendq_remove_pulse(chan, pi);
            super::pulse::release(t, pi);
        } else {
            break;
        }
    }
    // RECEIVE-blocked threads.
    while let Some(r) = t.receiver(chan, true) {
        t.ready(r, esrch, fx);
    }
    // Connections keep their coids but lose the channel; the server's scoids go.
    let (owner, chid) = {
        let c = t.chans.at(chan.index);
        (c.owner, c.chid)
    };
    let conns: smallvec::SmallVec<[u32; 8]> = t
        .conns
        .live_ids()
        .filter(|id| t.conns.at(id.index).chan == chan)
        .map(|id| id.index)
        .collect();
    for ci in conns {
        // Every client coid linked to it: _PULSE_CODE_COIDDEATH to the client's death channel.
        if let Some(cid) = t.conns.id_at(ci) {
            coid_death(t, cid, chan, fx);
        }
        // An asyncmsg sender's queue learns its channel is gone: blocked puts and flushes fail.
        super::asyncmsg::release_queue(t, ci, fx);
        let scoid = t.conns.at(ci).scoid;
        t.conns.at_mut(ci).chan = Id::NONE;
        t.conns.at_mut(ci).scoid = 0;
        if scoid != 0 {
            if let Some(s) = t.coid_slot(owner, scoid) {
                *s = CoidSlot::Free;
            }
        }
        // A connection no coid links to any more (its scoid was only kept for the server).
        if t.conns.at(ci).links == 0 {
            if let Some(id) = t.conns.id_at(ci) {
                t.conns.free(id);
            }
        }
    }
    let per = t.cfg.chids_per_process as usize;
    let base = t.pslot(owner) * per;
    t.log(base + (chid - 1) as usize, |t| &t.chids[..]);
    t.chids[base + (chid - 1) as usize] = Id::NONE;
    if t.procs.at(owner.index).death_chan == chan {
        t.procs.at_mut(owner.index).death_chan = Id::NONE;
    }
    t.chans.free(chan);
}

/// Sends `_PULSE_CODE_COIDDEATH` (value = coid) for each of the client's coids linked to `conn`
/// to the client process's `_NTO_CHF_COID_DISCONNECT` channel, if it has one.
fn coid_death(
    t: &mut Tables<'_>,
    conn: Id<crate::objects::Connection>,
    dying: Id<Channel>,
    fx: &mut Effects,
) {
    let client = t.conns.at(conn.index).client;
    let Some(p) = t.procs.get(client) else { return };
    let dc = p.death_chan;
    // (Not onto the channel being destroyed, whose queue is already drained.)
    if dc == dying
        || t.chans
            .get(dc)
            .is_none_or(|c| c.flags & _NTO_CHF_COID_DISCONNECT == 0)
    {
        return;
    }
    let fd_per = t.cfg.fd_coids_per_process as usize;
    let side_per = t.cfg.side_coids_per_process as usize;
    let slot = t.pslot(client);
    let mut coids: smallvec::SmallVec<[i32; 4]> = smallvec::SmallVec::new();
    coids.extend(
        (0..fd_per)
            .filter(|&i| t.fds[slot * fd_per + i] == CoidSlot::Coid(conn))
            .map(|i| i as i32),
    );
    coids.extend(
        (1..side_per)
            .filter(|&i| t.sides[slot * side_per + i] == CoidSlot::Coid(conn))
            .map(|i| (_NTO_SIDE_CHANNEL | i as u32) as i32),
    );
    for coid in coids {
        super::pulse::death_pulse(
            t,
            client,
            _NTO_CHF_COID_DISCONNECT,
            PRIO_DEFAULT as u8,
            _PULSE_CODE_COIDDEATH,
            coid,
            fx,
        );
    }
}
