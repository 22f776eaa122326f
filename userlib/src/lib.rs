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
//! * [`dispatch`]: the message part of QNX's dispatch layer (`dispatch_create`,
//!   `message_attach`, `pulse_attach`, `dispatch_block`, `dispatch_handler`, ...), with Rust
//!   closures as handlers; [`qnx::name_attach_dispatch`] names a dispatch handle's channel.
//! * [`thread_pool`]: QNX's thread pools (`thread_pool_create`, `thread_pool_start`,
//!   `thread_pool_destroy`, `thread_pool_control`, `thread_pool_limits`) with their water marks,
//!   generic over the pool functions and ready for dispatch contexts.
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
//!
//! # Message structs
//!
//! QNX programs send `#[repr(C)]` structs: a header whose `type` field the server switches on,
//! then the request's fields. Both layers take and return such structs without an `unsafe`
//! cast: [`qnx::msg_send_struct`], [`qnx::msg_receive_struct`], [`qnx::msg_reply_struct`],
//! [`qnx::msg_read_struct`], [`qnx::msg_write_struct`], and [`Connection::send_struct`],
//! [`Channel::receive_struct`] (a [`ReceivedStruct`]: the struct and its [`ReceiveId`], or a
//! pulse), [`ReceiveId::reply_struct`], [`ReceiveId::read_struct`],
//! [`ReceiveId::write_struct`]. A struct sent derives [`zerocopy`]'s `IntoBytes` and
//! `Immutable` (so it has no padding: spell padding out as fields); a struct received derives
//! `FromBytes`. `userlib::zerocopy` is the crate, re-exported: with
//! `#[zerocopy(crate = "userlib::zerocopy")]` on the type, a program needs no zerocopy
//! dependency of its own.
//!
//! **A message shorter than the struct** fills the struct's first bytes; the rest is zero.
//! Nothing is refused, as QNX refuses nothing: a C server that receives into a union of its
//! message types gets a shorter message in the union's first bytes, so a receive into the
//! largest message type serves every smaller one. The counts say what came: `info.msglen` (at
//! most the struct's size) and `info.srcmsglen` for a receive, the returned count for
//! `read_struct`; where a short message matters, check them and answer it with
//! `MsgError(EBADMSG)`, as QNX resource managers do. A longer message fills the struct and the
//! rest stays with the client, for `read_struct` at an offset. A reply cannot be measured (QNX's
//! `MsgSend` does not say how many bytes the server replied): bytes the server did not write
//! are zero.
//!
//! ```
//! use std::time::Duration;
//! use userlib::zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
//! use userlib::{Channel, Connection, Errno, ReceivedStruct};
//!
//! #[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
//! #[zerocopy(crate = "userlib::zerocopy")]
//! #[repr(C)]
//! struct Request { kind: u16, pad: u16, a: i32, b: i32 }
//!
//! let chan = Channel::create(0)?;
//! let chid = chan.chid();
//! let client = std::thread::spawn(move || -> Result<i64, Errno> {
//!     let conn = Connection::attach(0, chid)?;
//!     let req = Request { kind: 1, pad: 0, a: 2, b: 40 };
//!     let (_status, sum): (i64, i64) = conn.send_struct_timeout(&req, Duration::from_secs(5))?;
//!     Ok(sum)
//! });
//! match chan.receive_struct_timeout::<Request>(Duration::from_secs(5))? {
//!     ReceivedStruct::Message { msg, rcvid, .. } if msg.kind == 1 => {
//!         rcvid.reply_struct(0, &(i64::from(msg.a) + i64::from(msg.b)))?
//!     }
//!     ReceivedStruct::Message { rcvid, .. } => rcvid.error(Errno::ENOSYS)?,
//!     ReceivedStruct::Pulse(_) => {}
//! }
//! assert_eq!(client.join().unwrap()?, 42);
//! # Ok::<(), Errno>(())
//! ```
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod asyncmsg;
pub mod current;
pub mod device;
pub mod dispatch;
pub mod interrupt;
pub mod io;
pub mod iofunc;
pub mod iomsg;
/// Output files a tool is asked to write: checked before the work (only regular files), written
/// whole through temporary files renamed into place.
pub mod outfile;
pub mod process;
pub mod qnx;
pub mod resmgr;
pub mod select;
pub mod seqchart;
pub mod step;
mod structs;
mod sync;
mod sys;
pub mod thread_pool;
pub mod timeline;
pub mod typed;

// Every kernel-sim type that a userlib signature (or a field of a type it returns) names is
// re-exported here, so that a program names only `userlib` (tests/reexports.rs checks it).
pub use asyncmsg::{AsyncChannel, AsyncConnAttr, AsyncConnection};
pub use dispatch::{Context as DispatchContext, Dispatch, MessageAttr};
pub use kernel_sim::info::{
    AsyncChannelInfo, AsyncConnInfo, ChannelInfo, ConnectionInfo, Listing, NameInfo, PoolCount,
    PoolUsage, ProcessInfo, QueueCounts, QueueEntry, ReadyConnection,
};
/// Whether a Linux process runs, as the kernel judges a program's liveness (a process whose
/// first thread ended while others run, as a QNX server handing its work to a thread pool
/// does, counts as running).
pub use kernel_sim::program_alive;
/// The kernel's trace events (their schema, and the trace ring a recorder of a shared kernel
/// drains): what `timeline`, `seqchart` and `step` are built on.
pub use kernel_sim::trace;
pub use kernel_sim::types::{sigev, IoConnect, SigEvent};
/// How many `process_vm_readv` / `process_vm_writev` calls this thread's kernel calls made (a
/// message copied between programs without the region): read it around a call to see.
pub use kernel_sim::vm_calls_in_this_thread;
pub use kernel_sim::TimerInfo;
pub use kernel_sim::{
    consts, Config, Errno, Iov, KResult, Kernel, MsgInfo, OsPriority, Pid, ProcCounters, Pulse,
    RcvId, Snapshot, ThreadCtx, ThreadInfo, ThreadState, PULSE_SIZE,
};
/// The libc crate, re-exported: the POSIX constants `userlib::io` and `userlib::iofunc` take
/// (`O_RDWR`, `SEEK_SET`, `S_IFCHR`, ...) and the `struct stat` `fstat` gives, with no libc
/// dependency of a program's own.
pub use libc;
pub use process::{spawn, Process};
pub use typed::{Channel, Connection, Notifier, ReceiveId, Received, ReceivedStruct, Timer};
/// The zerocopy crate (0.8) that the `*_struct` helpers take types of: derive its traits with
/// `#[zerocopy(crate = "userlib::zerocopy")]` and a program needs no zerocopy of its own.
pub use zerocopy;

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
