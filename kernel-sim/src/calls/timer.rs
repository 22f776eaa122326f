//! Timers: TimerCreate, TimerSettime, TimerInfo, TimerDestroy (what `timer_create` with a
//! sigevent stands on), and the firing of due timers by the kernel's timer service.

use super::{event, Caller, Effects, Step};
use crate::abi::consts::TIMER_ABSTIME;
use crate::abi::errno::{Errno, KResult};
use crate::abi::ids;
use crate::abi::types::TimerInfo;
use crate::abi::types::{sigev, SigEvent};
use crate::copy;
use crate::objects::Timer;
use crate::pool::{Id, Pooled, NIL};
use crate::region::Tables;

/// Linux's `SI_TIMER`: the code of a timer's plain signal (QNX's ker_timer_create makes a
/// `SIGEV_SIGNAL` timer event `SIGEV_SIGNAL_CODE` with it; signals here are Linux's).
const SI_TIMER: i16 = -2;

fn timer_id(t: &Tables<'_>, id: Id<Timer>) -> i32 {
    ids::timer_id_make(t.cfg.max_timers, id.index, id.gen)
}

/// The timer a timer id names (EINVAL if none, stale, or another process's). A destroyed
/// timer's id names another timer only after 2^(31 - slot bits) reuses of its slot
/// (abi::ids; the pool reuses freed slots last).
fn lookup(t: &Tables<'_>, me: Caller, timer: i32) -> KResult<Id<Timer>> {
    let max = t.cfg.max_timers;
    let (index, gen) = ids::timer_id_parts(max, timer).ok_or(Errno::EINVAL)?;
    let id = t
        .timers
        .id_at(index)
        .filter(|id| ids::timer_gen_matches(max, id.gen, gen))
        .ok_or(Errno::EINVAL)?;
    if t.timers.at(id.index).owner != me.proc {
        return Err(Errno::EINVAL);
    }
    Ok(id)
}

/// TimerCreate: a disarmed timer on `clock` that will deliver `ev` (default: SIGALRM whose
/// `si_value` is the timer's id, as POSIX `timer_create` with a NULL event) to the calling
/// thread (a `SIGEV_SIGNAL_THREAD` event: to the thread that last armed it). A plain `SIGEV_SIGNAL` event is sent with `si_code` `SI_TIMER`, as
/// QNX's kernel does. EINVAL bad clock or event, EAGAIN no timer left.
pub fn timer_create(
    t: &mut Tables<'_>,
    me: Caller,
    clock: i32,
    ev: Option<SigEvent>,
    fx: &mut Effects,
) -> KResult<Step> {
    let clock = super::timeout::clock_index(clock)?;
    let default = ev.is_none();
    let mut ev = ev.unwrap_or_else(|| SigEvent::signal(libc::SIGALRM));
    // Checked now, as TimerTimeout's: an event this kernel could not deliver is EINVAL.
    event::deliver(t, me.thread.index, &ev, true, super::pulse::KERNEL, fx)
        .map_err(|_| Errno::EINVAL)?;
    if t.timers.peek_free().is_none() {
        return Err(Errno::EAGAIN);
    }
    if ev.kind() == sigev::SIGEV_SIGNAL {
        // SIGEV_SET_TYPE(SIGEV_SIGNAL_CODE) with SI_TIMER, the flags and value kept.
        ev.sigev_notify = (ev.sigev_notify & !sigev::SIGEV_TYPE_MASK) | sigev::SIGEV_SIGNAL_CODE;
        ev.sigev_code = SI_TIMER;
    }
    let mut tm = Timer::vacant();
    tm.owner = me.proc;
    tm.thread = me.thread;
    tm.clock = clock;
    tm.event = ev;
    if ev.kind() == sigev::SIGEV_PULSE {
        tm.pulse = super::pulse::reserve(t)?;
    }
    let Some(id) = t.timers.alloc(tm) else {
        return Err(Errno::EAGAIN);
    };
    let tid = timer_id(t, id);
    if default {
        // POSIX: with a NULL event, the signal's value is the timer's id.
        t.timers.at_mut(id.index).event.sigev_value = tid as u32 as u64;
    }
    Ok(Step::Done(tid as i64))
}

/// TimerDestroy: EINVAL for an unknown timer or one of another process.
pub fn timer_destroy(t: &mut Tables<'_>, me: Caller, timer: i32) -> KResult<Step> {
    let id = lookup(t, me, timer)?;
    free(t, id);
    Ok(Step::Done(0))
}

/// TimerSettime: arms the timer to expire after `value` ns (at `value` with `TIMER_ABSTIME`),
/// then every `interval` ns if non-zero; `value` 0 disarms. Arming a `SIGEV_SIGNAL_THREAD`
/// timer makes the caller the thread it signals (QNX's ker_timer_settime). `now` is the current time on each clock (monotonic, realtime). Writes what
/// TimerInfo said before at `old_out` (if non-zero).
#[allow(clippy::too_many_arguments)] // TimerSettime's own, the clocks' times and the out-parameter
pub fn timer_settime(
    t: &mut Tables<'_>,
    me: Caller,
    timer: i32,
    flags: u32,
    value: u64,
    interval: u64,
    now: [u64; 2],
    old_out: u64,
) -> KResult<Step> {
    if flags & !TIMER_ABSTIME != 0 {
        return Err(Errno::EINVAL);
    }
    let id = lookup(t, me, timer)?;
    let old = info(t, id, now);
    let tm = t.timers.at_mut(id.index);
    let clk_now = now[tm.clock as usize];
    tm.interval = interval;
    tm.overruns = 0;
    tm.expiry = match value {
        0 => 0,
        v if flags & TIMER_ABSTIME != 0 => v.max(1),
        v => clk_now.saturating_add(v),
    };
    // QNX's ker_timer_settime makes the arming thread the timer's (tip->thread = act), which a
    // SIGEV_SIGNAL_THREAD event signals. The other events keep their creator: the
    // process-directed ones go to the process anyway, and a SIGEV_UNBLOCK timer's creator is
    // the thread it is for (the asyncmsg library's wake timer, which other threads arm).
    if value != 0 && tm.event.kind() == sigev::SIGEV_SIGNAL_THREAD {
        tm.thread = me.thread;
    }
    // SAFETY: `old_out` is 0 or the caller's own TimerInfo, borrowed for this call.
    unsafe { copy::write_out(crate::copy::Space::LOCAL, old_out, &old) };
    Ok(Step::Done(0))
}

fn info(t: &Tables<'_>, id: Id<Timer>, now: [u64; 2]) -> TimerInfo {
    let tm = t.timers.at(id.index);
    let clk_now = now[tm.clock as usize];
    TimerInfo {
        remaining: if tm.expiry == 0 {
            0
        } else {
            tm.expiry.saturating_sub(clk_now).max(1)
        },
        expiry: tm.expiry,
        interval: tm.interval,
        overruns: tm.overruns,
        fired: tm.fired,
        clock: super::timeout::clock_id(tm.clock),
    }
}

/// TimerInfo: writes the timer's state at `out`.
pub fn timer_info(
    t: &mut Tables<'_>,
    me: Caller,
    timer: i32,
    now: [u64; 2],
    out: u64,
) -> KResult<Step> {
    let id = lookup(t, me, timer)?;
    let i = info(t, id, now);
    // SAFETY: `out` is 0 or the caller's own TimerInfo, borrowed for this call.
    unsafe { copy::write_out(crate::copy::Space::LOCAL, out, &i) };
    Ok(Step::Done(0))
}

/// The thread a timer's event goes to: its creator (for `SIGEV_SIGNAL_THREAD`, the thread that
/// last armed it), or while that one is gone, a thread of its process (not a library's
/// internal one).
#[cfg_attr(loom, allow(dead_code))] // (no timer service under loom)
fn target(t: &Tables<'_>, tm: &Timer) -> Option<u32> {
    if t.threads.get(tm.thread).is_some() {
        return Some(tm.thread.index);
    }
    let pulse = tm.event.kind() == crate::abi::types::sigev::SIGEV_PULSE;
    t.program_thread(tm.owner, pulse)
}

/// Delivers the events of every due timer, re-arms the periodic ones, and returns the time in
/// ns until the next expiry (`None`: no timer armed). Called by the timer service.
#[cfg_attr(loom, allow(dead_code))] // (no timer service under loom)
pub fn fire_due(t: &mut Tables<'_>, now: [u64; 2], fx: &mut Effects) -> Option<u64> {
    let mut next: Option<u64> = None;
    let ids: smallvec::SmallVec<[Id<Timer>; 16]> = t
        .timers
        .live_ids()
        .filter(|id| t.timers.at(id.index).expiry != 0)
        .collect();
    for id in ids {
        let (expiry, clock, interval) = {
            let tm = t.timers.at(id.index);
            (tm.expiry, tm.clock as usize, tm.interval)
        };
        let clk_now = now[clock];
        if expiry <= clk_now {
            let (ev, pi) = {
                let tm = t.timers.at(id.index);
                (tm.event, tm.pulse)
            };
            let mut merged = false;
            let th = target(t, t.timers.at(id.index));
            if crate::trace::on(t.trace) {
                let owner = t.timers.at(id.index).owner;
                let pid = t.procs.get(owner).map_or(0, |p| p.pid);
                let tid = th.map_or(0, |i| t.threads.at(i).tid);
                crate::trace::timer_fired(t.trace, pid, tid, timer_id(t, id), "timer");
            }
            if let Some(th) = th {
                // A failed delivery (the pulse's connection gone) is the program's problem, as
                // on QNX: the timer keeps running.
                if pi != NIL {
                    // A pulse timer notifies through its own pulse: if the last one is still
                    // queued, this expiry is merged into it and counted as an overrun.
                    if let Ok(r) = event::pulse_route(t, th, &ev) {
                        merged = !super::pulse::queue_reserved(
                            t, pi, r.chan, r.prio, r.code, r.value, r.scoid, fx,
                        );
                    }
                } else {
                    let _ = event::deliver(t, th, &ev, false, super::pulse::KERNEL, fx);
                }
            }
            let missed = (clk_now - expiry).checked_div(interval).unwrap_or(0);
            let missed32 = u32::try_from(missed).unwrap_or(u32::MAX);
            let tm = t.timers.at_mut(id.index);
            if merged {
                tm.overruns = tm.overruns.saturating_add(missed32).saturating_add(1);
            } else {
                tm.fired += 1;
                tm.overruns = missed32;
            }
            if interval == 0 {
                tm.expiry = 0;
                continue;
            }
            // Saturating: a period too long to represent means "never again".
            tm.expiry = expiry.saturating_add(missed.saturating_add(1).saturating_mul(interval));
        }
        let tm = t.timers.at(id.index);
        let left = tm.expiry.saturating_sub(now[tm.clock as usize]);
        next = Some(next.map_or(left, |n| n.min(left)));
    }
    next
}

/// Frees every timer of process `proc` (process exit).
pub(crate) fn destroy_all(t: &mut Tables<'_>, proc: Id<crate::objects::Process>) {
    let ids: smallvec::SmallVec<[Id<Timer>; 8]> = t
        .timers
        .live_ids()
        .filter(|id| t.timers.at(id.index).owner == proc)
        .collect();
    for id in ids {
        free(t, id);
    }
}

/// Frees timer `id` and gives back its pulse (a pulse still queued is delivered first).
fn free(t: &mut Tables<'_>, id: Id<Timer>) {
    let pi = t.timers.at(id.index).pulse;
    if pi != NIL {
        super::pulse::unreserve(t, pi);
    }
    t.timers.free(id);
}
