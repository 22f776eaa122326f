//! The timer service: a thread per kernel that stands in for the clock interrupt, delivering
//! the events of due timers (TimerCreate/TimerSettime). Under loom there is no service thread.
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
}

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
            .spawn(move || timer_service(weak, svc));
        if spawned.is_err() {
            self.inner
                .timers
                .started
                .store(false, std::sync::atomic::Ordering::Release);
        }
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
        drop(k);
        let deadline = next.map(|d| Deadline {
            clock: Clock::Monotonic,
            nsec: now[0].saturating_add(d),
        });
        svc.word.wait(seq, deadline, false);
    }
}
