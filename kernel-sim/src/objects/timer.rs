//! A timer (TimerCreate): an event to deliver at a time, once or periodically.

use crate::abi::types::SigEvent;
use crate::objects::{Process, Thread};
use crate::pool::{Id, Pooled, SlotHdr};

/// A timer.
#[repr(C)]
#[derive(Debug)]
pub struct Timer {
    /// Pool bookkeeping.
    pub hdr: SlotHdr,
    /// The process that created it.
    pub owner: Id<Process>,
    /// The event's target thread: the one that created the timer, or for a
    /// `SIGEV_SIGNAL_THREAD` timer the one that last armed it (another thread of the process
    /// if it is gone).
    pub thread: Id<Thread>,
    /// 0 = CLOCK_MONOTONIC, 1 = CLOCK_REALTIME.
    pub clock: u32,
    /// What to deliver on expiry.
    pub event: SigEvent,
    /// Next expiry, absolute ns on `clock`; 0 = disarmed.
    pub expiry: u64,
    /// Period in ns; 0 = one-shot.
    pub interval: u64,
    /// Expiries missed since the last delivery (periods that passed while the service was late).
    pub overruns: u32,
    /// Expiries delivered.
    pub fired: u64,
    /// The pulse slot a `SIGEV_PULSE` timer notifies through (reserved at TimerCreate, so an
    /// expiry never fails for want of a pulse), or `NIL`.
    pub pulse: u32,
}

impl Pooled for Timer {
    fn hdr(&self) -> &SlotHdr {
        &self.hdr
    }
    fn hdr_mut(&mut self) -> &mut SlotHdr {
        &mut self.hdr
    }
    fn vacant() -> Self {
        Timer {
            hdr: SlotHdr::fresh(),
            owner: Id::NONE,
            thread: Id::NONE,
            clock: 0,
            event: SigEvent::default(),
            expiry: 0,
            interval: 0,
            overruns: 0,
            fired: 0,
            pulse: crate::pool::NIL,
        }
    }
}
