//! ConnectAttach and ConnectDetach, and what a process may learn of connections:
//! ConnectClientInfo and ConnectServerInfo.

use super::{Caller, Effects, Step};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::MsgInfo;
use crate::copy;
use crate::objects::process::ProcState;
use crate::objects::{CoidSlot, Connection, KState};
use crate::pool::{Id, Pooled};
use crate::region::Tables;

/// ConnectAttach: a coid in the caller's process naming channel `chid` of process `pid`
/// (0 = self) on node `nd` (only the local node, 0). `index` with `_NTO_SIDE_CHANNEL` takes a
/// side-channel coid; otherwise the lowest free fd-space coid at or above `index`.
pub fn connect_attach(
    t: &mut Tables<'_>,
    me: Caller,
    nd: u32,
    pid: i32,
    chid: i32,
    index: u32,
    flags: u32,
) -> KResult<Step> {
    attach(t, me, nd, pid, chid, index, flags, false)
}

/// ConnectAttach for a synchronous (`asyncmsg` false) or asyncmsg connection: a channel takes
/// only connections of its own kind (EINVAL otherwise).
#[allow(clippy::too_many_arguments)]
pub(crate) fn attach(
    t: &mut Tables<'_>,
    me: Caller,
    nd: u32,
    pid: i32,
    chid: i32,
    index: u32,
    flags: u32,
    asyncmsg: bool,
) -> KResult<Step> {
    if nd != ND_LOCAL_NODE {
        return Err(Errno::ENOREMOTE);
    }
    let accepted = if asyncmsg {
        COF_ACCEPTED | _NTO_COF_NONBLOCK
    } else {
        COF_ACCEPTED
    };
    if flags & !accepted != 0 {
        return Err(Errno::EINVAL);
    }
    let side = index & _NTO_SIDE_CHANNEL != 0;
    if !side && index >= t.cfg.fd_coids_per_process {
        return Err(Errno::EINVAL);
    }
    let server = if pid == 0 {
        Some(me.proc)
    } else {
        t.proc_by_pid(pid)
    };
    let Some(server) = server else {
        return Err(Errno::ESRCH);
    };
    if t.procs.at(server.index).state != ProcState::Alive {
        return Err(Errno::ENXIO);
    }
    let Some(chan) = t.chan_of(server, chid) else {
        return Err(Errno::ESRCH);
    };
    if t.chans.at(chan.index).flags & _NTO_CHF_PRIVATE != 0 && server != me.proc {
        return Err(Errno::EPERM);
    }
    if (t.chans.at(chan.index).flags & _NTO_CHF_ASYNC != 0) != asyncmsg {
        // asyncmsg channels take asyncmsg connections only, and the other way round.
        return Err(Errno::EINVAL);
    }
    // Find the coid slot first, so a full table costs nothing.
    let coid = if side {
        let per = t.cfg.side_coids_per_process as usize;
        let base = t.pslot(me.proc) * per;
        match (1..per).find(|&i| t.sides[base + i] == CoidSlot::Free) {
            Some(i) => (_NTO_SIDE_CHANNEL | i as u32) as i32,
            None => return Err(Errno::EAGAIN),
        }
    } else {
        let per = t.cfg.fd_coids_per_process as usize;
        let base = t.pslot(me.proc) * per;
        match (index as usize..per).find(|&i| t.fds[base + i] == CoidSlot::Free) {
            Some(i) => i as i32,
            None => return Err(Errno::EMFILE),
        }
    };
    // Share an existing connection to the same channel unless either side says NOSHARE.
    let shared = if flags & _NTO_COF_NOSHARE == 0 {
        t.conns.live_ids().find(|id| {
            let c = t.conns.at(id.index);
            c.client == me.proc && c.chan == chan && c.links > 0 && c.flags & _NTO_COF_NOSHARE == 0
        })
    } else {
        None
    };
    let conn = match shared {
        Some(id) => id,
        None => {
            let mut c = Connection::vacant();
            c.client = me.proc;
            c.chan = chan;
            c.server = server;
            c.chid = chid;
            c.server_pid = t.procs.at(server.index).pid;
            c.nd = nd;
            c.flags = flags;
            let Some(id) = t.conns.alloc(c) else {
                return Err(Errno::EAGAIN);
            };
            // Reserve the coid first: a connection to our own process takes its scoid from the
            // same side-channel table, and must not be handed the coid's slot.
            if let Some(s) = t.coid_slot(me.proc, coid) {
                *s = CoidSlot::Coid(id);
            }
            match t.alloc_side(server, CoidSlot::Scoid(id)) {
                Some(scoid) => t.conns.at_mut(id.index).scoid = scoid,
                None => {
                    if let Some(s) = t.coid_slot(me.proc, coid) {
                        *s = CoidSlot::Free;
                    }
                    t.conns.free(id);
                    return Err(Errno::EAGAIN);
                }
            }
            id
        }
    };
    t.conns.at_mut(conn.index).links += 1;
    if let Some(s) = t.coid_slot(me.proc, coid) {
        *s = CoidSlot::Coid(conn);
    }
    Ok(Step::Done(coid as i64))
}

/// ConnectDetach: EINVAL for an unknown coid or a scoid whose client is still connected.
/// Other threads of the caller's process SEND- or REPLY-blocked on `coid` leave with EBADF.
pub fn connect_detach(
    t: &mut Tables<'_>,
    me: Caller,
    coid: i32,
    fx: &mut Effects,
) -> KResult<Step> {
    let slot = match t.coid_slot(me.proc, coid) {
        Some(s) => *s,
        None => return Err(Errno::EINVAL),
    };
    match slot {
        CoidSlot::Free => Err(Errno::EINVAL),
        CoidSlot::Scoid(conn) => {
            if t.conns.get(conn).is_some_and(|c| c.links > 0) {
                return Err(Errno::EINVAL);
            }
            if let Some(s) = t.coid_slot(me.proc, coid) {
                *s = CoidSlot::Free;
            }
            t.conns.free(conn);
            Ok(Step::Done(0))
        }
        CoidSlot::Coid(conn) => {
            if let Some(s) = t.coid_slot(me.proc, coid) {
                *s = CoidSlot::Free;
            }
            release_blocked_on(t, me.proc, coid, conn, fx);
            let prio = t.threads.at(me.thread.index).prio;
            unlink(t, conn, prio, fx);
            Ok(Step::Done(0))
        }
    }
}

/// Threads of `proc` SEND- or REPLY-blocked on `coid` leave with EBADF. A REPLY-blocked one
/// on an `_NTO_CHF_UNBLOCK` channel stays until the server answers it (the server gets
/// `_PULSE_CODE_UNBLOCK`), then leaves with EBADF; its exchange holds the connection until
/// then.
pub(crate) fn release_blocked_on(
    t: &mut Tables<'_>,
    proc: Id<crate::objects::Process>,
    coid: i32,
    conn: Id<Connection>,
    fx: &mut Effects,
) {
    let mut i = t.procs.at(proc.index).threads;
    while i != crate::pool::NIL {
        let next = t.threads.at(i).pnext;
        let (state, s, zombie) = {
            let th = t.threads.at(i);
            (th.state(), th.send, th.zombie)
        };
        if s.coid == coid
            && s.conn == conn
            && !zombie
            && matches!(state, KState::Send { .. } | KState::Reply { .. })
        {
            if let Some(r) = super::srr::force_ready(t, i, super::srr::Why::Detached, fx) {
                t.ready(i, r, fx);
            }
        }
        i = next;
    }
}

/// Drops one coid's link to `conn`. The last link ends the connection: if its channel has
/// `_NTO_CHF_DISCONNECT` the server gets `_PULSE_CODE_DISCONNECT` (at the front of the queue,
/// at priority `prio`) and the scoid stays allocated until the server's ConnectDetach(scoid);
/// otherwise the connection and its scoid are freed at once.
pub(crate) fn unlink(
    t: &mut Tables<'_>,
    conn: Id<Connection>,
    prio: u8,
    fx: &mut crate::calls::Effects,
) {
    let Some(c) = t.conns.get_mut(conn) else {
        return;
    };
    c.links -= 1;
    if c.links > 0 {
        return;
    }
    let (server, scoid, chan) = (c.server, c.scoid, c.chan);
    crate::calls::asyncmsg::release_queue(t, conn.index, fx);
    let notify = t
        .chans
        .get(chan)
        .is_some_and(|ch| ch.flags & _NTO_CHF_DISCONNECT != 0);
    if notify
        && scoid != 0
        && crate::calls::pulse::queue_pulse_head(
            t,
            chan,
            prio,
            _PULSE_CODE_DISCONNECT,
            0,
            scoid,
            fx,
        )
        .is_ok()
    {
        return;
    }
    if scoid != 0 {
        if let Some(s) = t.coid_slot(server, scoid) {
            *s = CoidSlot::Free;
        }
    }
    t.conns.free(conn);
}

/// ConnectClientInfo's kernel half: the client process behind the caller's server connection
/// `scoid` (a scoid `| _NTO_SIDE_CHANNEL` of one of the caller's channels), or with `scoid` -1
/// the caller's own process (as QNX's kernel does). Returns `pid << 32 | os_pid` (the client's
/// pid and the Linux process its memory is in, 0 in a kernel of one Linux process); the
/// credentials are not the kernel's (it keeps none).
///
/// EINVAL: no such scoid of the caller's (a coid, a scoid freed by the server's
/// ConnectDetach, by the client's last detach from a channel without `_NTO_CHF_DISCONNECT`, or
/// by the channel's destruction). ESRCH: the scoid is still there (the disconnect pulse's
/// leftover) but its client process has ended.
pub fn connect_client_info(t: &mut Tables<'_>, me: Caller, scoid: i32) -> KResult<Step> {
    let proc = if scoid == -1 {
        me.proc
    } else {
        if scoid as u32 & _NTO_SIDE_CHANNEL == 0 {
            return Err(Errno::EINVAL);
        }
        let Some(CoidSlot::Scoid(conn)) = t.coid_slot_ref(me.proc, scoid) else {
            return Err(Errno::EINVAL);
        };
        let Some(c) = t.conns.get(conn) else {
            return Err(Errno::EINVAL);
        };
        let ours = t.chans.get(c.chan).is_some_and(|ch| ch.owner == me.proc);
        if !ours || c.scoid != scoid {
            return Err(Errno::EINVAL);
        }
        c.client
    };
    let Some(p) = t.procs.get(proc) else {
        return Err(Errno::ESRCH);
    };
    Ok(Step::Done(
        (i64::from(p.pid) << 32) | i64::from(p.os_pid as u32),
    ))
}

/// ConnectServerInfo: the first connection (client coid) of process `pid` (0: the caller's)
/// at or after `coid`, in the order fd-space coids 0, 1, ..., then side-channel coids
/// `_NTO_SIDE_CHANNEL | 1`, `| 2`, ... (server connections, scoids, are skipped). Writes its
/// `_server_info` at `info` (the `MsgInfo` layout: `nd` the node the client attached with,
/// `pid` the server's, `chid`, `scoid` the server's scoid for it, 0 once the channel is gone,
/// `coid` the coid found, `flags` `_NTO_COF_CLOEXEC` if attached with it and `_NTO_COF_DEAD`
/// if the channel is gone; the rest 0) and returns the coid. Any process may be inspected (QNX
/// checks permissions; here every process of the kernel is one user's).
///
/// ESRCH: no process `pid`. EINVAL: no connection at or after `coid` (or `coid` negative).
pub fn connect_server_info(
    t: &mut Tables<'_>,
    me: Caller,
    pid: i32,
    coid: i32,
    info: u64,
) -> KResult<Step> {
    let proc = named(t, me, pid)?;
    if coid < 0 {
        return Err(Errno::EINVAL);
    }
    let fd_per = t.cfg.fd_coids_per_process;
    let side_per = t.cfg.side_coids_per_process;
    let c = coid as u32;
    let (fd_from, side_from) = if c & _NTO_SIDE_CHANNEL != 0 {
        (fd_per, (c & !_NTO_SIDE_CHANNEL).max(1))
    } else {
        (c.min(fd_per), 1)
    };
    let found = (fd_from..fd_per)
        .map(|i| i as i32)
        .chain((side_from..side_per).map(|i| (_NTO_SIDE_CHANNEL | i) as i32))
        .find_map(|coid| match t.coid_slot_ref(proc, coid) {
            Some(CoidSlot::Coid(conn)) => t.conns.get(conn).map(|k| (coid, k)),
            _ => None,
        });
    let Some((found, k)) = found else {
        return Err(Errno::EINVAL);
    };
    let alive = t.chans.get(k.chan).is_some();
    let mut flags = k.flags & _NTO_COF_CLOEXEC;
    if !alive {
        flags |= _NTO_COF_DEAD;
    }
    let si = MsgInfo {
        nd: k.nd,
        pid: k.server_pid,
        chid: k.chid,
        scoid: if alive { k.scoid } else { 0 },
        coid: found,
        flags: flags as i16,
        ..MsgInfo::ZERO
    };
    // SAFETY: `info` is 0 or the caller's own MsgInfo, borrowed for this call.
    unsafe { copy::write_out(copy::Space::LOCAL, info, &si) };
    Ok(Step::Done(i64::from(found)))
}

/// ConnectFlags: changes the flags of process `pid`'s (0: the caller's) client connection
/// `coid` that `mask` selects to their values in `bits`, and returns the flags as they were.
/// Only `_NTO_COF_CLOEXEC` may be changed (QNX 8's rule; `mask` 0 only asks). The flags belong
/// to the connection, so a coid sharing it with another (a second ConnectAttach to the same
/// channel without `_NTO_COF_NOSHARE`) sees the change too, as on QNX. Any process of the
/// kernel may be named (QNX checks permissions; here every process is one user's).
///
/// ESRCH: no process `pid`. EBADF: `coid` is not a client connection of that process (a
/// server's scoid is not). ENOTSUP: `mask` names another flag.
pub fn connect_flags(
    t: &mut Tables<'_>,
    me: Caller,
    pid: i32,
    coid: i32,
    mask: u32,
    bits: u32,
) -> KResult<Step> {
    let proc = named(t, me, pid)?;
    let conn = t.conn_of(proc, coid)?;
    if mask & !_NTO_COF_CLOEXEC != 0 {
        return Err(Errno::ENOTSUP);
    }
    let was = t.conns.at(conn.index).flags;
    if mask != 0 {
        let now = (was & !mask) | (bits & mask);
        if now != was {
            t.conns.at_mut(conn.index).flags = now;
        }
    }
    Ok(Step::Done(i64::from(was & _NTO_COF_CLOEXEC)))
}

/// The process `pid` names for ConnectServerInfo and ConnectFlags: the caller's for 0, else any
/// live process of the kernel (ESRCH if none).
fn named(t: &Tables<'_>, me: Caller, pid: i32) -> KResult<Id<crate::objects::Process>> {
    if pid == 0 {
        return Ok(me.proc);
    }
    t.proc_by_pid(pid).ok_or(Errno::ESRCH)
}
