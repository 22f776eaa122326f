//! A queued pulse: a fixed-size notification waiting in a channel's send queue.

use crate::objects::QRef;
use crate::pool::{Pooled, SlotHdr};

/// A pulse waiting in a channel's queue.
#[repr(C)]
#[derive(Debug)]
pub struct PulseObj {
    /// Pool bookkeeping.
    pub hdr: SlotHdr,
    /// Priority it is queued at.
    pub prio: u8,
    /// Pulse code.
    pub code: i8,
    /// `sigval` value.
    pub value: u64,
    /// Times it was linked into a queue: with its slot and generation, the `pulse` id of its
    /// trace events (a reserved pulse keeps its generation from one notification to the next).
    pub sends: u32,
    /// scoid it arrived through, or -1.
    pub scoid: i32,
    /// Filed ahead of every priority (the kernel's `_PULSE_CODE_DISCONNECT`, as QNX boosts it).
    pub boost: bool,
    /// Owned by a timer or an asyncmsg connection, which re-uses it for each notification:
    /// taking it from a queue does not free it, and a notification that finds it still
    /// queued is merged into it (a timer counts an overrun), so such notifications never
    /// fail for want of a pulse.
    pub reserved: bool,
    /// Linked in a channel's queue (kept by the queue's operations: see `queued()`).
    pub(in crate::objects) queued: bool,
    /// Queue links.
    pub(in crate::objects) qnext: QRef,
    /// Queue links.
    pub(in crate::objects) qprev: QRef,
}

impl PulseObj {
    /// Whether it is linked in a channel's send queue.
    #[inline]
    pub fn queued(&self) -> bool {
        self.queued
    }
}

impl Pooled for PulseObj {
    fn hdr(&self) -> &SlotHdr {
        &self.hdr
    }
    fn hdr_mut(&mut self) -> &mut SlotHdr {
        &mut self.hdr
    }
    fn vacant() -> Self {
        PulseObj {
            hdr: SlotHdr::fresh(),
            prio: 0,
            code: 0,
            value: 0,
            sends: 0,
            scoid: -1,
            boost: false,
            reserved: false,
            queued: false,
            qnext: QRef::NONE,
            qprev: QRef::NONE,
        }
    }
}
