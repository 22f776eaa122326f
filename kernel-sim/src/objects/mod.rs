//! The kernel objects that live in the region's pools: processes, threads, channels,
//! connections, pulses, timers, names and interrupt attachments. Plain `#[repr(C)]` data, no heap pointers: links are slot indices
//! or generation-tagged [`Id`](crate::pool::Id)s. Behaviour lives in `calls/`, not here.

pub mod channel;
pub mod connection;
pub mod interrupt;
pub mod name;
pub mod process;
pub mod pulse;
pub mod thread;
pub mod timer;

pub use channel::{AsyncChannel, Channel, ChannelKind};
pub use connection::{AsyncConn, CoidSlot, ConnKind, Connection};
pub use interrupt::{Interrupt, IntrKind, IntrLevel, INTR_LEVELS};
pub use name::Name;
pub use process::Process;
pub use pulse::PulseObj;
pub use thread::{KState, Thread};
pub use timer::Timer;

/// A link in a channel's send queue: a SEND-blocked thread or a queued pulse.
/// 0 is "none"; a thread in slot `i` is `i + 1`; a pulse in slot `i` is `PULSE_BIT | (i + 1)`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct QRef(pub u32);

const PULSE_BIT: u32 = 0x8000_0000;

impl QRef {
    /// No entry.
    pub const NONE: QRef = QRef(0);
    /// The thread in slot `i`.
    pub fn thread(i: u32) -> QRef {
        QRef(i + 1)
    }
    /// The pulse in slot `i`.
    pub fn pulse(i: u32) -> QRef {
        QRef(PULSE_BIT | (i + 1))
    }
    /// Whether this is no entry.
    pub fn is_none(self) -> bool {
        self.0 == 0
    }
    /// The thread slot, if this is a thread.
    pub fn as_thread(self) -> Option<u32> {
        (self.0 != 0 && self.0 & PULSE_BIT == 0).then(|| self.0 - 1)
    }
    /// The pulse slot, if this is a pulse.
    pub fn as_pulse(self) -> Option<u32> {
        (self.0 & PULSE_BIT != 0).then(|| (self.0 & !PULSE_BIT) - 1)
    }
}
