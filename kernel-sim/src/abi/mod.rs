//! The kernel's ABI: everything a program, the C library or another process shares with the
//! kernel, and the only part of the kernel crate's types they need to see.
//!
//! * [`types`]: the `#[repr(C)]` structures laid out as QNX 7's 64-bit ABI lays them out
//!   (`iov_t`, `_msg_info64`, `_pulse`, `sigevent`, the asyncmsg get header) and the figures
//!   the kernel reports (timer info, counters);
//! * [`consts`]: QNX's constants, with QNX's names and values, the clock ids, and the asyncmsg
//!   library's pulse codes;
//! * [`errno`]: error numbers;
//! * [`ids`]: how rcvids, coids and timer ids encode what they name;
//! * [`asyncq`]: the asyncmsg sender queue, the memory a sending process and the kernel share
//!   (its layout and the protocol of its counters and flags).

pub mod asyncq;
pub mod consts;
pub mod errno;
pub mod ids;
pub mod types;

/// The deadline a wait of the sender-queue protocol takes ([`asyncq::AsyncQueue::wait_until`])
/// and the clocks it is measured on.
pub use crate::wait::{Clock, Deadline};
pub use errno::{Errno, KResult};
pub use types::{
    AsyncConnCounters, AsyncGetHeader, Iov, MsgInfo, ProcCounters, Pulse, RcvId, SigEvent,
    TimerInfo, PULSE_SIZE,
};
