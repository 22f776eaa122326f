//! What the kernel-sim tests share. Every test binary includes it with `mod support;` and
//! `use support::*;`:
//!
//! * the one set of timeouts ([`timeouts`]),
//! * bounded kernel calls: send, receive, poll, arm ([`calls`]),
//! * bounded waits for a condition or a thread state ([`waits`]),
//! * simulated threads with bounded joins, and guards that release blocked threads
//!   ([`threads`]),
//! * pool bookkeeping: live counts, the teardown check ([`pools`]),
//! * the worlds tests start from and the client fixtures ([`fixtures`]),
//! * the real-time signal recorder ([`signals`]),
//! * under `--cfg loom`, the loom harness with its coverage check ([`loom_harness`]).
//!
//! It is also the one place the tests name kernel-sim's modules: everything they use of the
//! kernel crate is re-exported at the end of this file, so that when the types, constants and
//! errno move (to an ABI crate) only that list changes.
// Each test binary includes all of it and uses a part: what one binary leaves unused (items,
// re-exports) is not dead.
#![allow(dead_code, unused_imports)]

mod calls;
mod fixtures;
mod pools;
#[cfg(not(loom))]
mod procs;
#[cfg(not(loom))]
mod programs;
mod signals;
mod threads;
mod timeouts;
mod waits;

pub use calls::*;
pub use fixtures::*;
pub use pools::*;
#[cfg(not(loom))]
pub use procs::*;
#[cfg(not(loom))]
pub use programs::*;
pub use signals::*;
pub use threads::*;
pub use timeouts::*;
pub use waits::*;

#[cfg(loom)]
mod loom_harness;
#[cfg(loom)]
pub use loom_harness::*;

// ------------------------------------------------------------------ what the tests use of kernel-sim

pub use kernel_sim::asyncq::{
    AsyncQueue, MsgDesc, AQ_DEAD, AQ_PULSE_PENDING, AQ_WANT_PULSE, IN_REGION, MAX_STORED_LEN,
};
pub use kernel_sim::consts::*;
pub use kernel_sim::info::PoolUsage;
pub use kernel_sim::types::{sigev, AsyncGetHeader, SigEvent};
pub use kernel_sim::vm_calls_in_this_thread;
pub use kernel_sim::{
    Config, Errno, Iov, KResult, Kernel, MsgInfo, OsPriority, Pid, ProcCounters, Pulse, RcvId,
    ThreadCtx, ThreadInfo, ThreadState, LAYOUT_VERSION, MAGIC, PULSE_SIZE, SHARED_FIRST_PID,
};
