//! `userlib`: the QNX Neutrino message-passing API that programs use, over the simulated
//! kernel in [`kernel_sim`]. Two layers over the same kernel calls:
//!
//! * [`qnx`]: QNX's calls under QNX's names (`msg_send`, `msg_receive`, `msg_reply`,
//!   `channel_create`, `connect_attach`, ...), QNX's argument order, `Result<_, Errno>`. For
//!   people porting QNX code.
//! * Typed handles for Rust programs: [`Channel`], [`Connection`], [`ReceiveId`] (a receive id
//!   that must be answered once), [`Timer`], [`Process`], and for asyncmsg [`AsyncChannel`] and
//!   [`AsyncConnection`], with `Drop` doing QNX's clean-up.
//! * [`asyncmsg`]: QNX's asynchronous messaging library (`asyncmsg_put`, `asyncmsg_get`, ...).
//!
//! The calling OS thread is the kernel thread making the call ([`current`]). Threads that were
//! never bound join the default process of the default kernel on their first call; use
//! [`Process::spawn`] to run threads in other simulated processes.
//!
//! # One integer type per quantity
//!
//! Each QNX quantity has one Rust type in every signature, constant and struct field of this
//! API. Where a QNX 7 (64-bit) C struct has a field for it, the type is that field's, so a value
//! read from a [`MsgInfo`], [`Pulse`] or [`SigEvent`] goes back into a call without a cast.
//!
//! | quantity | Rust type | C |
//! |---|---|---|
//! | chid, coid, scoid, pid, tid | `i32` | `int`, `pid_t`, `_Int32t` |
//! | rcvid | [`RcvId`] (`i64`) | `rcvid_t` |
//! | node descriptor, `ConnectAttach` index | `u32` | `_Uint32t`, `unsigned` |
//! | flags: `_NTO_CHF_*`, `_NTO_COF_*`, `_NTO_TIMEOUT_*`, `TIMER_ABSTIME` | `u32` | `unsigned` |
//! | message-info flags: `MsgInfo::flags`, `_NTO_MI_*` | `i16` | `_Int16t flags` |
//! | pulse code: `Pulse::code`, `_PULSE_CODE_*`, `msg_send_pulse`, `SigEvent::pulse` | `i8` | `_Int8t code` (`sigev_code` holds it widened to `i16`) |
//! | priority: `MsgInfo::priority`, `sigev_priority`, pulse and thread priorities, `PRIO_*`, `ThreadInfo` | `i16` | `_Int16t priority`, `short sigev_priority` |
//! | pulse and signal value | `i32` | `int sival_int` |
//! | signal number | `i32` | `int` |
//! | signal code: `SigEvent::signal_code`, `signal_kill` | `i16` | `short sigev_code` |
//! | reply status: `MsgReply`, `MsgSend`'s result | `i64` | `long` |
//! | byte counts and offsets of calls | `usize` | `size_t` (`MsgInfo`'s `msglen`, `srcmsglen`, `dstmsglen` are `i64`: `ssize_t` fields) |
//! | timer id | `i32` | `timer_t` |
//! | clock id: `consts::CLOCK_MONOTONIC`, `consts::CLOCK_REALTIME` (Linux's values) | `i32` | `clockid_t` |
//! | times | `u64` nanoseconds (`Duration` on the typed handles) | `_Uint64t` |
//! | errors | [`Errno`] | `errno` |
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod asyncmsg;
pub mod current;
pub mod process;
pub mod qnx;
pub mod typed;

// Every kernel-sim type that a userlib signature (or a field of a type it returns) names is
// re-exported here, so that a program names only `userlib` (tests/reexports.rs checks it).
pub use asyncmsg::{AsyncChannel, AsyncConnAttr, AsyncConnection};
pub use kernel_sim::calls::timer::TimerInfo;
pub use kernel_sim::info::{ChannelInfo, ConnectionInfo, PoolCount, PoolUsage, ProcessInfo};
pub use kernel_sim::types::{sigev, SigEvent};
pub use kernel_sim::{
    consts, Config, Errno, Iov, KResult, Kernel, MsgInfo, OsPriority, Pid, ProcCounters, Pulse,
    RcvId, Snapshot, ThreadCtx, ThreadInfo, ThreadState, PULSE_SIZE,
};
pub use process::Process;
pub use typed::{Channel, Connection, Notifier, ReceiveId, Received, Timer};

/// The Rust snippets of README.md and docs/tutorial.md, compiled and run as doc tests of this
/// crate (`cargo test --workspace` runs them), so that what a porter reads first stays true.
/// Blocks marked `sh` or `text` are not compiled.
#[cfg(doctest)]
pub mod doc_snippets {
    #[doc = include_str!("../../README.md")]
    pub struct Readme;

    #[doc = include_str!("../../docs/tutorial.md")]
    pub struct Tutorial;
}
