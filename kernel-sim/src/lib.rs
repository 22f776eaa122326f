//! `kernel-sim`: QNX Neutrino's message-passing kernel, simulated in user space on Linux.
//!
//! Design principles (docs/design.md has the whole story):
//!
//! * **The kernel's state is one region** of fixed-capacity pools (`region.rs`, `pool.rs`),
//!   addressed by generation-tagged ids; no heap pointers inside, so the region can later be a
//!   `memfd` shared by processes.
//! * **A kernel call runs in the caller's thread** ([`ThreadCtx`]): it builds one `Call`
//!   (`syscalls.rs`), takes the kernel lock, runs the one `dispatch` match, releases, wakes
//!   whom the call readied, and blocks on the caller's own wait word (`kernel/entry.rs`).
//! * **Calls are pure functions over the tables** (`calls/`) that return
//!   `Result<Step, Errno>` and record whom to wake; only `wait.rs` blocks and wakes, and only
//!   `copy.rs` touches other threads' buffers.
//! * **Objects keep their invariants** (`objects/`): a thread's state (SEND-, RECEIVE-,
//!   REPLY-blocked, as on QNX) changes only through transitions that keep it in step with its
//!   channel's queues.
//!
//! Public: [`abi`] (what programs, the C library and other processes share with the kernel:
//! structures, constants, errno, id encodings, the asyncmsg sender queue), [`Kernel`] and
//! [`ThreadCtx`] (the handles), [`info`] (inspection), and the process-wide pieces [`fork`] and
//! [`signals`].
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod abi;
mod calls;
pub mod cancel;
mod copy;
pub mod fork;
pub mod info;
pub mod kernel;
mod objects;
mod pool;
mod region;
pub mod signals;
#[cfg(not(loom))]
pub mod supervisor;
mod sync;
mod syscalls;
pub mod trace;
mod undo;
mod wait;

pub use abi::{asyncq, consts, errno, types};
pub use abi::{Clock, Deadline, Errno, KResult};
pub use abi::{Iov, MsgInfo, ProcCounters, Pulse, RcvId, TimerInfo, PULSE_SIZE};
pub use copy::{program_alive, vm_calls_in_this_thread};
pub use info::{Snapshot, ThreadInfo, ThreadState};
pub use kernel::{Kernel, Pid, Recovery, ThreadCtx};
pub use objects::name::{normalize_path, PathEntry};
pub use region::{Config, OsPriority, RegionInfo, LAYOUT_VERSION, MAGIC, SHARED_FIRST_PID, WINDOW};
