//! `kernel-sim`: QNX Neutrino's message-passing kernel, simulated in user space on Linux.
//!
//! Design principles (docs/design.md has the whole story):
//!
//! * **The kernel's state is one region** of fixed-capacity pools ([`region`], [`pool`]),
//!   addressed by generation-tagged ids; no heap pointers inside, so the region can later be a
//!   `memfd` shared by processes.
//! * **A kernel call runs in the caller's thread** ([`kernel::ThreadCtx`]): take the kernel lock,
//!   run the call, release, wake whom it readied, block on the caller's own wait word.
//! * **Calls are pure functions over the tables** ([`calls`]) that say whom to wake; only
//!   [`wait`] blocks and wakes, and only [`copy`] touches other threads' buffers.
//! * Thread states name whom a thread waits on ([`objects::KState`]): SEND-, RECEIVE- and
//!   REPLY-blocked, as on QNX.
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod calls;
pub mod copy;
pub mod fork;
pub mod info;
pub mod kernel;
pub mod objects;
pub mod pool;
pub mod region;
pub mod signals;
pub mod spin;
mod sync;
mod syscalls;
pub mod wait;

pub use abi::{asyncq, consts, errno, types};
pub use abi::{Errno, KResult};
pub use abi::{Iov, MsgInfo, Pulse, RcvId, PULSE_SIZE};
pub use info::{Snapshot, ThreadInfo, ThreadState};
pub use kernel::{Kernel, Pid, ThreadCtx};
pub use objects::ProcCounters;
pub use region::{Config, OsPriority};
