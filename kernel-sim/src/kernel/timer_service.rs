//! The timer service: a thread per kernel that stands in for the clock interrupt, delivering
//! the events of due timers (TimerCreate/TimerSettime), and in a shared kernel no supervisor
//! watches, looking every [`REAP_SLICE`] for programs of the kernel that died, to reap them
//! (once a thread of this program has blocked in it). Under loom there is no service thread.
#![cfg_attr(loom, allow(unused_imports))]

use super::{Inner, Kernel};
use crate::calls::{self, Effects};
use crate::sync::Arc;
use crate::wait::{Clock, Deadline, WaitWord};

/// The timer service's own wait word and switches. It lives outside the region (and outside
/// `Inner`) so the service thread can sleep on it without keeping the kernel alive.
#[derive(Debug, Default)]
pub(super) struct TimerService {
    word: WaitWord,
    #[cfg_attr(loom, allow(dead_code))]
    started: std::sync::atomic::AtomicBool,
    stop: std::sync::atomic::AtomicBool,
    /// Look for dead programs every [`REAP_SLICE`] (a shared kernel no supervisor watches, once
    /// a thread of this program has blocked in it: `Kernel::watch_for_dead_programs`).
    #[cfg_attr(loom, allow(dead_code))]
    reaping: std::sync::atomic::AtomicBool,
}

/// How often the timer service of a shared kernel no supervisor watches looks for dead
/// programs to reap (`Kernel::watch_for_dead_programs`).
#[cfg(not(loom))]
pub(super) const REAP_SLICE: std::time::Duration = std::time::Duration::from_millis(200);

impl TimerService {
    /// Tells the service thread to end (the kernel is being dropped).
    pub(super) fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        self.word.post();
        self.word.wake(false);
    }
}

impl Kernel {
    /// Starts the timer service thread on first use: it sleeps until the next timer is due,
    /// then enters the kernel to deliver the due timers' events (QNX's clock interrupt).
    #[cfg(not(loom))]
    pub(super) fn ensure_timer_service(&self) {
        let svc = &self.inner.timers;
        if svc.started.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let svc = svc.clone();
        let spawned = std::thread::Builder::new()
            .name("qnx-sim-timers".into())
            .spawn(move || {
                crate::signals::mark_kernel_thread();
                timer_service(weak, svc)
            });
        if spawned.is_err() {
            self.inner
                .timers
                .started
                .store(false, std::sync::atomic::Ordering::Release);
        }
    }

    /// In a shared kernel no supervisor watches (a plain memory file), makes sure this
    /// program's timer service looks for dead programs of the kernel every [`REAP_SLICE`] and
    /// reaps them (`Kernel::reap_dead_programs`: their processes torn down as QNX does), as a
    /// supervisor would on its pidfd: called as a thread blocks, so that a client REPLY-blocked
    /// on a server killed outside a kernel call is released with ESRCH. Returns false if the
    /// service could not be started (the caller then looks itself, in slices of its wait).
    #[cfg(not(loom))]
    pub(super) fn watch_for_dead_programs(&self) -> bool {
        use std::sync::atomic::Ordering::{AcqRel, Acquire};
        let svc = &self.inner.timers;
        if svc.reaping.load(Acquire) && svc.started.load(Acquire) {
            return true; // (The common case: one load each.)
        }
        if !svc.reaping.swap(true, AcqRel) {
            // (A service already sleeping until its next timer takes up the slices now.)
            self.kick_timer_service();
        }
        self.ensure_timer_service();
        svc.started.load(Acquire)
    }

    #[cfg(not(loom))]
    pub(super) fn kick_timer_service(&self) {
        self.inner.timers.word.post();
        self.inner.timers.word.wake(false);
    }
}

/// The timer service: delivers due timers' events, then sleeps until the next is due or a
/// TimerSettime changes the picture. Holds the kernel only while it works, and ends when the
/// kernel is dropped.
#[cfg(not(loom))]
fn timer_service(weak: std::sync::Weak<Inner>, svc: std::sync::Arc<TimerService>) {
    use std::sync::atomic::Ordering::Acquire;
    // Signals aimed at the process go to the program's threads, not the kernel's.
    crate::signals::block_in_this_thread();
    let slice = REAP_SLICE.as_nanos() as u64;
    let mut next_reap = 0u64;
    loop {
        if svc.stop.load(Acquire) {
            return;
        }
        let seq = svc.word.load();
        let Some(inner) = weak.upgrade() else { return };
        let k = Kernel { inner };
        let now = [
            Deadline::now_ns(Clock::Monotonic),
            Deadline::now_ns(Clock::Realtime),
        ];
        let mut fx = Effects::default();
        let next = k.locked(|t| calls::timer::fire_due(t, now, &mut fx));
        k.apply(&fx);
        let reaping = svc.reaping.load(Acquire);
        if reaping && now[0] >= next_reap {
            k.reap_dead_programs();
            k.wake_stranded();
            next_reap = now[0].saturating_add(slice);
        }
        drop(k);
        let mut deadline = next.map(|d| now[0].saturating_add(d));
        if reaping {
            deadline = Some(deadline.map_or(next_reap, |d| d.min(next_reap)));
        }
        let deadline = deadline.map(|nsec| Deadline {
            clock: Clock::Monotonic,
            nsec,
        });
        svc.word.wait(seq, deadline, false);
    }
}
