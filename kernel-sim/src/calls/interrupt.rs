//! Simulated interrupts: InterruptAttachEvent, InterruptAttach (its handler run by the
//! process's interrupt service thread), InterruptDetach, InterruptMask, InterruptUnmask,
//! InterruptWait, and the raising of a level by a test, a tool or a simulated device
//! (`Kernel::interrupt_raise`), which stands in for the hardware.
//!
//! Each level has a mask count. A raise of an unmasked level goes to every attachment on it,
//! in QNX's order: a new attachment is placed in front of the existing ones and delivered
//! first, one made with `_NTO_INTR_FLAGS_END` after all of them: an event attachment masks the level once and
//! has its event delivered, to be unmasked by its thread with InterruptUnmask once the device
//! is served; a handler attachment masks the level while its handler runs, and the event the
//! handler returns, if any, is delivered as if by the attaching thread. A raise of a masked
//! level is latched (one request, however many raises) and delivered when the count falls to
//! 0. `SIGEV_INTR` readies its thread from InterruptWait, or makes its next InterruptWait
//! return at once.

use super::{event, Caller, Effects, Step};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::abi::ids;
use crate::abi::types::{sigev, SigEvent};
use crate::info::{InterruptInfo, MaskedLevel};
use crate::objects::thread::CallResult;
use crate::objects::{Interrupt, IntrKind, KState, Process, INTR_LEVELS};
use crate::pool::{Id, Pooled, NIL};
use crate::region::Tables;

/// The order bit that puts `_NTO_INTR_FLAGS_END` attachments after the others.
const END_ORDER: u64 = 1 << 63;
/// Orders below this (and without [`END_ORDER`]) are `FRONT - seq`: the later an attachment
/// without `_NTO_INTR_FLAGS_END` was made, the earlier it is delivered.
const FRONT: u64 = 1 << 62;

/// The delivery order of the attachment made `seq`-th (counting every attachment): a new one is
/// placed in front of those there, an `_NTO_INTR_FLAGS_END` one after all of them.
fn order_of(seq: u64, end: bool) -> u64 {
    if end {
        END_ORDER | seq
    } else {
        FRONT - seq.min(FRONT)
    }
}

/// The attach sequence number an order was made from ([`order_of`]'s inverse).
fn seq_of(order: u64) -> u64 {
    if order & END_ORDER != 0 {
        order & !END_ORDER
    } else {
        FRONT - order.min(FRONT)
    }
}

/// The id InterruptAttach* returns for attachment `id` (positive; a detached attachment's id
/// names another only after many reuses of its slot, as timer ids: abi::ids).
fn intr_id(t: &Tables<'_>, id: Id<Interrupt>) -> i32 {
    ids::timer_id_make(t.cfg.max_interrupts, id.index, id.gen)
}

/// The attachment an interrupt id names, of the caller's process (EINVAL otherwise).
fn lookup(t: &Tables<'_>, proc: Id<Process>, iid: i32) -> KResult<Id<Interrupt>> {
    let max = t.cfg.max_interrupts;
    let (index, gen) = ids::timer_id_parts(max, iid).ok_or(Errno::EINVAL)?;
    let id = t
        .intrs
        .id_at(index)
        .filter(|id| ids::timer_gen_matches(max, id.gen, gen))
        .ok_or(Errno::EINVAL)?;
    if t.intrs.at(id.index).owner != proc {
        return Err(Errno::EINVAL);
    }
    Ok(id)
}

/// Whether `iid` names a live attachment of a process other than `proc`.
fn another_process_attached(t: &Tables<'_>, proc: Id<Process>, iid: i32) -> bool {
    let max = t.cfg.max_interrupts;
    ids::timer_id_parts(max, iid)
        .and_then(|(index, gen)| {
            t.intrs
                .id_at(index)
                .filter(|id| ids::timer_gen_matches(max, id.gen, gen))
        })
        .is_some_and(|id| t.intrs.at(id.index).owner != proc)
}

/// A level number as an index (EINVAL out of range).
fn level_index(level: i32) -> KResult<usize> {
    usize::try_from(level)
        .ok()
        .filter(|&l| l < INTR_LEVELS)
        .ok_or(Errno::EINVAL)
}

/// Logs level `l` in the undo record (a shared kernel) before it changes.
fn log_level(t: &Tables<'_>, l: usize) {
    if let Some(u) = &t.undo {
        u.get().log_val(&t.intr_levels[l]);
    }
}

/// The live attachments on level `l`, in delivery order.
fn on_level(t: &Tables<'_>, l: usize) -> smallvec::SmallVec<[Id<Interrupt>; 8]> {
    let mut v: smallvec::SmallVec<[Id<Interrupt>; 8]> = t
        .intrs
        .live_ids()
        .filter(|id| t.intrs.at(id.index).level as usize == l)
        .collect();
    v.sort_by_key(|id| t.intrs.at(id.index).order);
    v
}

/// InterruptAttachEvent (`kind` `Event`, with `ev`) or InterruptAttach's kernel half (`kind`
/// `Handler`: the handler itself stays in the process, run by its service thread): attaches
/// to level `level` for the calling thread. Returns the attachment's id. EINVAL bad level,
/// unknown flags or an event this kernel could not deliver; EBUSY the level has an exclusive
/// attachment, or this one asks to be exclusive and the level has others; EAGAIN no
/// attachment (or pulse, for a `SIGEV_PULSE` event) left.
pub fn attach(
    t: &mut Tables<'_>,
    me: Caller,
    level: i32,
    kind: IntrKind,
    ev: Option<SigEvent>,
    flags: u32,
    fx: &mut Effects,
) -> KResult<Step> {
    let l = level_index(level)?;
    if flags & !_NTO_INTR_FLAGS_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let ev = match kind {
        IntrKind::Event => {
            let ev = ev.ok_or(Errno::EINVAL)?;
            // Checked now: an event this kernel could not deliver is EINVAL.
            event::deliver(t, me.thread.index, &ev, true, super::pulse::KERNEL, fx)
                .map_err(|_| Errno::EINVAL)?;
            ev
        }
        IntrKind::Handler => SigEvent::default(),
    };
    let others = on_level(t, l);
    let exclusive =
        |id: &Id<Interrupt>| t.intrs.at(id.index).flags & _NTO_INTR_FLAGS_EXCLUSIVE != 0;
    if others.iter().any(exclusive)
        || (flags & _NTO_INTR_FLAGS_EXCLUSIVE != 0 && !others.is_empty())
    {
        return Err(Errno::EBUSY);
    }
    if t.intrs.peek_free().is_none() {
        return Err(Errno::EAGAIN);
    }
    let next = t
        .intrs
        .live_ids()
        .map(|id| seq_of(t.intrs.at(id.index).order))
        .max()
        .map_or(1, |o| o + 1);
    let mut a = Interrupt::vacant();
    a.owner = me.proc;
    a.thread = me.thread;
    a.level = l as u32;
    a.flags = flags;
    a.kind = kind;
    a.event = ev;
    a.order = order_of(next, flags & _NTO_INTR_FLAGS_END != 0);
    if ev.kind() == sigev::SIGEV_PULSE {
        a.pulse = super::pulse::reserve(t)?;
    }
    // (Levels start unmasked here; `_NTO_INTR_FLAGS_NO_UNMASK` keeps the first attachment's
    // level masked until its driver unmasks it, as QNX leaves a level it has not enabled yet.
    // A level already in use stays as it is.)
    let no_unmask = flags & _NTO_INTR_FLAGS_NO_UNMASK != 0 && others.is_empty();
    if no_unmask {
        a.masks = 1;
    }
    let Some(id) = t.intrs.alloc(a) else {
        return Err(Errno::EAGAIN);
    };
    if no_unmask {
        log_level(t, l);
        t.intr_levels[l].mask += 1;
    }
    Ok(Step::Done(intr_id(t, id) as i64))
}

/// InterruptDetach: EINVAL for an id that names no attachment; EPERM for one another process
/// made (QNX 7's InterruptDetach errors).
pub fn detach(t: &mut Tables<'_>, me: Caller, iid: i32, fx: &mut Effects) -> KResult<Step> {
    let id = lookup(t, me.proc, iid).map_err(|e| {
        // (QNX's InterruptDetach: EPERM for a live attachment another process made.)
        if another_process_attached(t, me.proc, iid) {
            Errno::EPERM
        } else {
            e
        }
    })?;
    free(t, id, fx);
    Ok(Step::Done(0))
}

/// Frees the attachments thread `th` made without `_NTO_INTR_FLAGS_PROCESS` (it is ending):
/// as on QNX, such an attachment is the thread's, not the process's.
pub(crate) fn detach_thread(t: &mut Tables<'_>, th: Id<crate::objects::Thread>, fx: &mut Effects) {
    free_where(
        t,
        |a| a.thread == th && a.flags & _NTO_INTR_FLAGS_PROCESS == 0,
        fx,
    );
}

/// Frees every attachment of process `proc` (its teardown).
pub(crate) fn detach_all(t: &mut Tables<'_>, proc: Id<Process>, fx: &mut Effects) {
    free_where(t, |a| a.owner == proc, fx);
}

/// Frees every attachment `which` picks.
fn free_where(t: &mut Tables<'_>, which: impl Fn(&Interrupt) -> bool, fx: &mut Effects) {
    let ids: smallvec::SmallVec<[Id<Interrupt>; 8]> = t
        .intrs
        .live_ids()
        .filter(|id| which(t.intrs.at(id.index)))
        .collect();
    for id in ids {
        free(t, id, fx);
    }
}

/// Frees attachment `id`: the masks of its handler runs not finished are given back, and with
/// `_NTO_INTR_FLAGS_TRK_MSK` those it holds; a request latched meanwhile is delivered if that
/// unmasks the level.
fn free(t: &mut Tables<'_>, id: Id<Interrupt>, fx: &mut Effects) {
    let (l, give_back, pi) = {
        let a = t.intrs.at(id.index);
        let tracked = if a.flags & _NTO_INTR_FLAGS_TRK_MSK != 0 {
            a.masks
        } else {
            0
        };
        (a.level as usize, a.running.saturating_add(tracked), a.pulse)
    };
    if pi != NIL {
        super::pulse::unreserve(t, pi);
    }
    t.intrs.free(id);
    if give_back > 0 {
        log_level(t, l);
        let lv = &mut t.intr_levels[l];
        lv.mask = lv.mask.saturating_sub(give_back);
        if lv.mask == 0 {
            deliver_latched(t, l, fx);
        }
    }
}

/// InterruptMask: masks level `level` once more (for attachment `iid` of the caller's process
/// on that level, or -1 for none); returns the level's mask count. EINVAL bad level or id.
pub fn mask(t: &mut Tables<'_>, me: Caller, level: i32, iid: i32) -> KResult<Step> {
    let l = level_index(level)?;
    let a = attachment_on(t, me.proc, l, iid)?;
    log_level(t, l);
    let lv = &mut t.intr_levels[l];
    lv.mask = lv.mask.saturating_add(1);
    let count = lv.mask;
    if let Some(a) = a {
        let a = t.intrs.at_mut(a.index);
        a.masks = a.masks.saturating_add(1);
    }
    Ok(Step::Done(count.into()))
}

/// InterruptUnmask: unmasks level `level` once (a count already 0 stays 0); a request latched
/// while it was masked is delivered when the count falls to 0. Returns the level's mask count
/// after the call. EINVAL bad level or id.
pub fn unmask(
    t: &mut Tables<'_>,
    me: Caller,
    level: i32,
    iid: i32,
    fx: &mut Effects,
) -> KResult<Step> {
    let l = level_index(level)?;
    let a = attachment_on(t, me.proc, l, iid)?;
    unmask_level(t, l, a, fx);
    Ok(Step::Done(t.intr_levels[l].mask.into()))
}

/// One unmask of level `l`, on behalf of attachment `a` (if any).
fn unmask_level(t: &mut Tables<'_>, l: usize, a: Option<Id<Interrupt>>, fx: &mut Effects) {
    if t.intr_levels[l].mask == 0 {
        return;
    }
    log_level(t, l);
    t.intr_levels[l].mask -= 1;
    if let Some(a) = a {
        let a = t.intrs.at_mut(a.index);
        a.masks = a.masks.saturating_sub(1);
    }
    if t.intr_levels[l].mask == 0 {
        deliver_latched(t, l, fx);
    }
}

/// The attachment `iid` names for InterruptMask/Unmask on level `l`: none for -1, else one of
/// `proc`'s on that level (EINVAL otherwise).
fn attachment_on(
    t: &Tables<'_>,
    proc: Id<Process>,
    l: usize,
    iid: i32,
) -> KResult<Option<Id<Interrupt>>> {
    if iid == -1 {
        return Ok(None);
    }
    let id = lookup(t, proc, iid)?;
    if t.intrs.at(id.index).level as usize != l {
        return Err(Errno::EINVAL);
    }
    Ok(Some(id))
}

/// A request latched on level `l` (now unmasked) is delivered.
fn deliver_latched(t: &mut Tables<'_>, l: usize, fx: &mut Effects) {
    if t.intr_levels[l].pending != 0 {
        log_level(t, l);
        t.intr_levels[l].pending = 0;
        deliver_level(t, l, fx);
    }
}

/// InterruptWait: returns at once if a `SIGEV_INTR` came since the last one, else
/// INTR-blocks the caller until one comes (a TimerTimeout with `_NTO_TIMEOUT_INTR` bounds
/// it). With `_NTO_INTR_WAIT_FLAGS_UNMASK` (QNX 8) the levels of the caller's own event
/// attachments that it holds masked are unmasked once first. EINVAL unknown flags.
pub fn wait(t: &mut Tables<'_>, me: Caller, flags: u32, fx: &mut Effects) -> KResult<Step> {
    if flags & !(_NTO_INTR_WAIT_FLAGS_FAST | _NTO_INTR_WAIT_FLAGS_UNMASK) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & _NTO_INTR_WAIT_FLAGS_UNMASK != 0 {
        let mine: smallvec::SmallVec<[Id<Interrupt>; 4]> = t
            .intrs
            .live_ids()
            .filter(|id| {
                let a = t.intrs.at(id.index);
                a.thread == me.thread && a.kind == IntrKind::Event && a.masks > 0
            })
            .collect();
        for id in mine {
            let l = t.intrs.at(id.index).level as usize;
            unmask_level(t, l, Some(id), fx);
        }
    }
    let th = t.threads.at_mut(me.thread.index);
    if th.intr_pending {
        th.intr_pending = false;
        return Ok(Step::Done(0));
    }
    th.isr_waiting = false;
    t.block_intr(me.thread.index);
    Ok(Step::Block)
}

/// A `SIGEV_INTR` event for thread `i`: readies it from InterruptWait, or leaves it pending.
pub(crate) fn intr_event(t: &mut Tables<'_>, i: u32, fx: &mut Effects) {
    let th = t.threads.at(i);
    if th.state() == KState::Intr && !th.isr_waiting {
        t.ready(i, CallResult::Ok(0), fx);
    } else if !th.intr_pending {
        t.threads.at_mut(i).intr_pending = true;
    }
}

/// The interrupt service thread's wait (the library's thread that runs InterruptAttach
/// handlers): returns the id of an attachment of its process whose handler is to run, at once
/// if one is queued, else when one is. The caller becomes its process's service thread.
pub fn service_wait(t: &mut Tables<'_>, me: Caller) -> KResult<Step> {
    let th = t.threads.at_mut(me.thread.index);
    th.isr_service = true;
    th.isr_waiting = true;
    if let Some(id) = next_queued(t, me.proc) {
        t.intrs.at_mut(id.index).queued -= 1;
        return Ok(Step::Done(intr_id(t, id) as i64));
    }
    t.block_intr(me.thread.index);
    Ok(Step::Block)
}

/// The first handler attachment of `proc` with a run queued, in delivery order.
fn next_queued(t: &Tables<'_>, proc: Id<Process>) -> Option<Id<Interrupt>> {
    t.intrs
        .live_ids()
        .filter(|id| {
            let a = t.intrs.at(id.index);
            a.owner == proc && a.queued > 0
        })
        .min_by_key(|id| (t.intrs.at(id.index).level, t.intrs.at(id.index).order))
}

/// The service thread ran the handler of attachment `iid`: the event it returned (if any) is
/// delivered as if by the attaching thread, and the level's mask for the run is given back.
/// EINVAL if `iid` names no handler attachment of the caller's process with a run under way
/// (it was detached meanwhile: its mask was given back then).
pub fn service_done(
    t: &mut Tables<'_>,
    me: Caller,
    iid: i32,
    ev: Option<SigEvent>,
    fx: &mut Effects,
) -> KResult<Step> {
    let id = lookup(t, me.proc, iid)?;
    let (l, thread, owner, running, kind) = {
        let a = t.intrs.at(id.index);
        (a.level as usize, a.thread, a.owner, a.running, a.kind)
    };
    if kind != IntrKind::Handler || running == t.intrs.at(id.index).queued {
        return Err(Errno::EINVAL);
    }
    t.intrs.at_mut(id.index).running -= 1;
    if let Some(ev) = ev {
        deliver_event(t, id, thread, owner, &ev, fx);
    }
    unmask_level(t, l, None, fx);
    Ok(Step::Done(0))
}

/// Delivers `ev` for attachment `id` to its thread (or, that thread gone, a thread of its
/// process; `SIGEV_INTR` only to its own thread). A failed delivery (a pulse's connection
/// gone) is the program's problem, as on QNX.
fn deliver_event(
    t: &mut Tables<'_>,
    id: Id<Interrupt>,
    thread: Id<crate::objects::Thread>,
    owner: Id<Process>,
    ev: &SigEvent,
    fx: &mut Effects,
) {
    let target = if t.threads.get(thread).is_some() {
        Some(thread.index)
    } else if ev.kind() == sigev::SIGEV_INTR {
        None
    } else {
        t.program_thread(owner, ev.kind() == sigev::SIGEV_PULSE)
    };
    let Some(th) = target else { return };
    let pi = t.intrs.at(id.index).pulse;
    if pi != NIL && ev.kind() == sigev::SIGEV_PULSE {
        // Through the attachment's own pulse: if the last one is still queued, this delivery
        // is merged into it.
        if let Ok(r) = event::pulse_route(t, th, ev) {
            super::pulse::queue_reserved(t, pi, r.chan, r.prio, r.code, r.value, r.scoid, fx);
        }
    } else {
        let _ = event::deliver(t, th, ev, false, super::pulse::KERNEL, fx);
    }
}

/// Raises level `level` (what a device's interrupt request is here): delivered to its
/// attachments now if it is unmasked, else latched. Returns how many attachments it went to
/// now. EINVAL bad level.
pub fn raise(t: &mut Tables<'_>, level: i32, fx: &mut Effects) -> KResult<u32> {
    let l = level_index(level)?;
    log_level(t, l);
    let lv = &mut t.intr_levels[l];
    lv.raised += 1;
    let masked = lv.mask > 0;
    if masked {
        lv.pending = 1;
    }
    // (Traced before the delivery, whose own events follow it.)
    if crate::trace::on(t.trace) {
        let n = if masked {
            0
        } else {
            on_level(t, l).len() as u32
        };
        crate::trace::interrupt_raised(t.trace, level, n);
    }
    Ok(if masked { 0 } else { deliver_level(t, l, fx) })
}

/// Delivers a request of unmasked level `l` to each of its attachments, in order; returns how
/// many. A level with no attachment drops the request (a spurious interrupt).
fn deliver_level(t: &mut Tables<'_>, l: usize, fx: &mut Effects) -> u32 {
    let ids = on_level(t, l);
    if ids.is_empty() {
        return 0;
    }
    log_level(t, l);
    t.intr_levels[l].delivered += 1;
    for &id in &ids {
        t.intr_levels[l].mask += 1;
        let (kind, thread, owner, ev) = {
            let a = t.intrs.at_mut(id.index);
            a.delivered += 1;
            match a.kind {
                IntrKind::Event => a.masks += 1,
                IntrKind::Handler => {
                    a.running += 1;
                    a.queued += 1;
                }
            }
            (a.kind, a.thread, a.owner, a.event)
        };
        match kind {
            IntrKind::Event => deliver_event(t, id, thread, owner, &ev, fx),
            IntrKind::Handler => start_service(t, owner, fx),
        }
    }
    ids.len() as u32
}

/// Readies `proc`'s service thread, if it waits, with the next handler to run.
fn start_service(t: &mut Tables<'_>, proc: Id<Process>, fx: &mut Effects) {
    let Some(p) = t.procs.get(proc) else { return };
    let mut i = p.threads;
    while i != NIL {
        let th = t.threads.at(i);
        if th.isr_service && th.isr_waiting && th.state() == KState::Intr {
            if let Some(id) = next_queued(t, proc) {
                t.intrs.at_mut(id.index).queued -= 1;
                let iid = intr_id(t, id);
                t.ready(i, CallResult::Ok(iid.into()), fx);
            }
            return;
        }
        i = th.pnext;
    }
}

/// Every attachment with its level's state, by level then in delivery order (the listing).
pub(crate) fn infos(t: &Tables<'_>) -> Vec<InterruptInfo> {
    let mut v: Vec<(u32, u64, InterruptInfo)> = t
        .intrs
        .live_ids()
        .map(|id| {
            let a = t.intrs.at(id.index);
            let lv = t.intr_levels[a.level as usize];
            (
                a.level,
                a.order,
                InterruptInfo {
                    level: a.level,
                    id: intr_id(t, id),
                    pid: t.procs.get(a.owner).map_or(-1, |p| p.pid),
                    tid: t.threads.get(a.thread).map_or(-1, |th| th.tid),
                    handler: a.kind == IntrKind::Handler,
                    event_kind: a.event.kind(),
                    flags: a.flags,
                    masks: a.masks,
                    delivered: a.delivered,
                    level_mask: lv.mask,
                    level_pending: lv.pending != 0,
                    level_raised: lv.raised,
                },
            )
        })
        .collect();
    v.sort_by_key(|(l, o, _)| (*l, *o));
    v.into_iter().map(|(_, _, i)| i).collect()
}

/// The levels masked, or with a request latched, that nothing is attached to (the listing).
pub(crate) fn masked_levels(t: &Tables<'_>) -> Vec<MaskedLevel> {
    let mut attached = [false; INTR_LEVELS];
    for id in t.intrs.live_ids() {
        attached[t.intrs.at(id.index).level as usize] = true;
    }
    t.intr_levels
        .iter()
        .enumerate()
        .filter(|&(l, lv)| !attached[l] && (lv.mask > 0 || lv.pending != 0))
        .map(|(l, lv)| MaskedLevel {
            level: l as u32,
            mask: lv.mask,
            pending: lv.pending != 0,
        })
        .collect()
}
