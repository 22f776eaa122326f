//! Simulated interrupts: an attachment of an event or a handler to an interrupt level
//! (InterruptAttachEvent, InterruptAttach), and each level's mask count.

use crate::abi::types::SigEvent;
use crate::objects::{Process, Thread};
use crate::pool::{Id, Pooled, SlotHdr};

/// Interrupt levels (vectors) the kernel simulates: 0 to `INTR_LEVELS - 1`.
pub const INTR_LEVELS: usize = 256;

/// What an attachment does when its level is raised.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntrKind {
    /// InterruptAttachEvent: the kernel masks the level and delivers `event`.
    Event,
    /// InterruptAttach: the process's handler runs (in its interrupt service thread) with the
    /// level masked, and the event it returns, if any, is delivered.
    Handler,
}

/// An attachment.
#[repr(C)]
#[derive(Debug)]
pub struct Interrupt {
    /// Pool bookkeeping.
    pub hdr: SlotHdr,
    /// The process that attached it.
    pub owner: Id<Process>,
    /// The thread that attached it: where `SIGEV_INTR` goes, and the target of the event.
    pub thread: Id<Thread>,
    /// The level.
    pub level: u32,
    /// `_NTO_INTR_FLAGS_*` given.
    pub flags: u32,
    /// Event or handler.
    pub kind: IntrKind,
    /// The event to deliver (InterruptAttachEvent).
    pub event: SigEvent,
    /// Masks of the level this attachment holds (the kernel's on delivery, its own
    /// InterruptMask calls, less its InterruptUnmask calls): given back at detach with
    /// `_NTO_INTR_FLAGS_TRK_MSK`.
    pub masks: u32,
    /// A handler's runs the service thread has yet to start.
    pub queued: u32,
    /// A handler's runs not yet finished (queued or running): each holds a mask of the level,
    /// given back when the run ends (or at detach).
    pub running: u32,
    /// Order among the level's attachments (`calls::interrupt::order_of`): the latest attached
    /// first, then the `_NTO_INTR_FLAGS_END` ones in the order attached.
    pub order: u64,
    /// Times its level was raised with it attached and delivered to it.
    pub delivered: u64,
    /// The pulse slot a `SIGEV_PULSE` event notifies through (reserved at attach, so a
    /// delivery never fails for want of a pulse), or `NIL`.
    pub pulse: u32,
}

impl Pooled for Interrupt {
    fn hdr(&self) -> &SlotHdr {
        &self.hdr
    }
    fn hdr_mut(&mut self) -> &mut SlotHdr {
        &mut self.hdr
    }
    fn vacant() -> Self {
        Interrupt {
            hdr: SlotHdr::fresh(),
            owner: Id::NONE,
            thread: Id::NONE,
            level: 0,
            flags: 0,
            kind: IntrKind::Event,
            event: SigEvent::default(),
            masks: 0,
            queued: 0,
            running: 0,
            order: 0,
            delivered: 0,
            pulse: crate::pool::NIL,
        }
    }
}

/// One interrupt level's state.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntrLevel {
    /// Mask count: the level is masked while it is above 0.
    pub mask: u32,
    /// 1 if the level was raised while masked: it is delivered when the count falls to 0 (as
    /// an interrupt controller latches a request; several raises while masked make one).
    pub pending: u32,
    /// Times the level was raised.
    pub raised: u64,
    /// Raises delivered to at least one attachment.
    pub delivered: u64,
}
