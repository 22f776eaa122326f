//! Kernel timeouts, all in one place: the TimerTimeout call that arms one, the deadline a
//! blocked thread sleeps against, and what expiry does.
//!
//! The life of a timeout: TimerTimeout stores a [`TimeoutArm`] in the thread's `timeout_next`;
//! the next kernel entry moves it into `timeout_cur` (`kernel/entry.rs`), where it stays in
//! force for that one call, retries included. While the thread is blocked in a state the arm
//! covers ([`state_bit`]), [`deadline_for`] gives the deadline its futex sleep is bounded by;
//! when a wake-up finds that deadline passed, [`fire`] ends the call (ETIMEDOUT through
//! [`force_ready`]) or delivers the arm's event and lets the thread wait on. The two clocks
//! are stored as an index (0 monotonic, 1 realtime), converted here and nowhere else.

use super::srr::{force_ready, Why};
use super::{Caller, Effects, Step};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::{sigev, SigEvent};
use crate::objects::thread::{CallResult, TimeoutArm};
use crate::objects::{KState, Thread};
use crate::region::Tables;
use crate::wait::{Clock, Deadline};

/// A Linux clock id as the kernel stores it (0 monotonic, 1 realtime); EINVAL for others.
pub(crate) fn clock_index(clock: i32) -> KResult<u32> {
    match clock {
        CLOCK_MONOTONIC => Ok(0),
        CLOCK_REALTIME => Ok(1),
        _ => Err(Errno::EINVAL),
    }
}

/// The Linux clock id of a stored clock index.
pub(crate) fn clock_id(index: u32) -> i32 {
    if index == 1 {
        CLOCK_REALTIME
    } else {
        CLOCK_MONOTONIC
    }
}

/// The wait module's clock for a stored clock index.
fn wait_clock(index: u32) -> Clock {
    if index == 1 {
        Clock::Realtime
    } else {
        Clock::Monotonic
    }
}

/// A TimerTimeout request.
#[derive(Clone, Copy, Debug)]
pub struct TimeoutRequest {
    /// Linux clock id.
    pub clock: i32,
    /// `_NTO_TIMEOUT_*` states, plus `TIMER_ABSTIME`.
    pub flags: u32,
    /// What expiry does (default `SIGEV_UNBLOCK`).
    pub event: Option<SigEvent>,
    /// Nanoseconds (`None`: expire at once).
    pub ntime: Option<u64>,
    /// The current time on `clock`, passed in so the call stays a pure function.
    pub now: u64,
}

/// TimerTimeout: arms a one-shot timeout for the caller's next kernel call, in the states named
/// by `req.flags` (`_NTO_TIMEOUT_*`, with `TIMER_ABSTIME` for an absolute `ntime`). The event
/// (default `SIGEV_UNBLOCK`) says what expiry does; it is checked now (EINVAL if this kernel
/// could not deliver it).
/// `ntime` `None` means "time out at once if the call would block" (QNX's poll). Returns the
/// previously armed flags.
///
/// With `_NTO_TIMEOUT_NANOSLEEP` in `flags` the call is the kernel half of nanosleep(): it
/// leaves nothing armed (QNX's call blocks in STATE_NANOSLEEP and its timeout ends with it) and
/// returns 0, as QNX's does; the sleep itself is the caller's, outside the kernel
/// (`ThreadCtx::timer_timeout_otime`), so that a signal handler ends it with EINTR.
pub fn timer_timeout(
    t: &mut Tables<'_>,
    me: Caller,
    req: TimeoutRequest,
    fx: &mut Effects,
) -> KResult<Step> {
    let TimeoutRequest {
        clock,
        flags,
        event,
        ntime,
        now,
    } = req;
    let clk = clock_index(clock)?;
    // Only the state bits count; other bits (QNX's _NTO_TIMEOUT_ACTIVE and _IMMEDIATE among
    // them) are ignored, as QNX 6.4 does.
    let states = flags & _NTO_TIMEOUT_MASK;
    let event = event.unwrap_or_else(SigEvent::unblock);
    // Checked now (QNX finds a bad event only when it fires): one this kernel could not
    // deliver is an invalid argument, EINVAL, TimerTimeout's errno for it.
    super::event::deliver(t, me.thread.index, &event, true, super::pulse::KERNEL, fx)
        .map_err(|_| Errno::EINVAL)?;
    let deadline = match ntime {
        None => 0,
        Some(ns) if flags & TIMER_ABSTIME != 0 => ns,
        Some(ns) => now.saturating_add(ns),
    };
    let th = t.threads.at_mut(me.thread.index);
    let old = th.timeout_cur.states;
    if states & _NTO_TIMEOUT_NANOSLEEP != 0 {
        // The kernel side of nanosleep(): NANOSLEEP-blocked until the deadline (this call's
        // own timeout, so nothing stays armed after it), 0 at once if there is none or it has
        // passed. `fire` ends the sleep with 0; a signal ends it with EINTR.
        th.timeout_next = TimeoutArm::NONE;
        let passed = ntime.is_none() || Deadline::now_ns(wait_clock(clk)) >= deadline;
        if passed {
            return Ok(Step::Done(0));
        }
        th.timeout_cur = TimeoutArm {
            states: _NTO_TIMEOUT_NANOSLEEP,
            clock: clk,
            deadline,
            event,
        };
        t.block_nanosleep(me.thread.index);
        return Ok(Step::Block);
    }
    th.timeout_next = if states == 0 {
        TimeoutArm::NONE
    } else {
        TimeoutArm {
            states,
            clock: clk,
            deadline,
            event,
        }
    };
    Ok(Step::Done(old as i64))
}

/// The `_NTO_TIMEOUT_*` bit for a blocked state.
pub fn state_bit(s: KState) -> u32 {
    match s {
        KState::Send { .. } => _NTO_TIMEOUT_SEND,
        KState::Receive { .. } => _NTO_TIMEOUT_RECEIVE,
        KState::Reply { .. } => _NTO_TIMEOUT_REPLY,
        KState::Intr => _NTO_TIMEOUT_INTR,
        KState::Nanosleep => _NTO_TIMEOUT_NANOSLEEP,
        _ => 0,
    }
}

/// The deadline of the timeout in force, if it covers the state the thread is blocked in.
pub(crate) fn deadline_for(th: &Thread) -> Option<Deadline> {
    let tmo = th.timeout_cur;
    (tmo.states & state_bit(th.state()) != 0).then_some(Deadline {
        clock: wait_clock(tmo.clock),
        nsec: tmo.deadline,
    })
}

/// Fires blocked thread `i`'s expired timeout, from its own kernel entry. Returns the call's
/// result if the thread leaves now: it timed out, or the timeout's event readied it (a pulse
/// to the very channel it receives on), in which case the ready-up is undone (its wake-up is
/// not needed: it is the thread running this).
pub(crate) fn fire(t: &mut Tables<'_>, i: u32, fx: &mut Effects) -> Option<CallResult> {
    if crate::trace::on(t.trace) {
        let (pid, tid) = t.trace_ids(i);
        crate::trace::timer_fired(t.trace, pid, tid, -1, "timeout");
    }
    let r = match expire(t, i, fx) {
        Some(r) => r,
        None if t.threads.at(i).state() == KState::Ready => {
            fx.wake.retain(|&mut w| w != i);
            std::mem::replace(&mut t.threads.at_mut(i).result, CallResult::Pending)
        }
        None => return None,
    };
    t.set_running(i);
    Some(r)
}

/// The TimerTimeout armed for blocked thread `i` expired: with `SIGEV_UNBLOCK` (the default)
/// it leaves as [`force_ready`] says; with another event, the event is delivered to the
/// thread and it stays blocked (the timeout is spent).
fn expire(t: &mut Tables<'_>, i: u32, fx: &mut Effects) -> Option<CallResult> {
    let ev = t.threads.at(i).timeout_cur.event;
    if t.threads.at(i).state() == KState::Nanosleep {
        // The sleep is over: 0, after the event (if it is not SIGEV_UNBLOCK) is delivered.
        t.threads.at_mut(i).timeout_cur.states = 0;
        if ev.kind() != sigev::SIGEV_UNBLOCK {
            let _ = super::event::deliver(t, i, &ev, false, super::pulse::KERNEL, fx);
        }
        if t.threads.at(i).state() == KState::Nanosleep {
            t.set_running(i);
            return Some(CallResult::Ok(0));
        }
        return None;
    }
    if ev.kind() == sigev::SIGEV_UNBLOCK {
        let r = force_ready(t, i, Why::Timeout, fx);
        if r.is_none() {
            // Staying blocked for the server's answer: the timeout is spent.
            t.threads.at_mut(i).timeout_cur.states = 0;
        }
        return r;
    }
    t.threads.at_mut(i).timeout_cur.states = 0;
    let _ = super::event::deliver(t, i, &ev, false, super::pulse::KERNEL, fx);
    None
}
