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
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod asyncmsg;
pub mod current;
pub mod process;
pub mod qnx;
pub mod typed;

pub use asyncmsg::{AsyncChannel, AsyncConnAttr, AsyncConnection};
pub use kernel_sim::calls::timer::TimerInfo;
pub use kernel_sim::types::{sigev, SigEvent};
pub use kernel_sim::{
    consts, Config, Errno, KResult, Kernel, MsgInfo, ProcCounters, Pulse, RcvId, Snapshot,
    ThreadInfo, ThreadState,
};
pub use process::Process;
pub use typed::{Channel, Connection, Notifier, ReceiveId, Received, Timer};
