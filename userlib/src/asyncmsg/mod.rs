//! Asynchronous messaging (QNX's `libasyncmsg`): the sender buffers messages in its own
//! memory and the kernel delivers them in batches, so the kernel is entered once per batch
//! instead of twice per message.
//!
//! * [`asyncmsg_put`] appends to the connection's send queue
//!   ([`AsyncQueue`](kernel_sim::asyncq::AsyncQueue), in this process's memory) without
//!   entering the kernel. Only a **trigger** enters it, once per batch: the count trigger
//!   (`trigger_num_msg` messages put since the last trigger), the time trigger (`trigger_time` after the first message of
//!   a batch, driven by a kernel timer whose pulse the library thread receives), or
//!   [`asyncmsg_flush`].
//! * The sender gives its buffer to the library with the message and gets it back through the
//!   callback, once a receiver has taken the message (`err` 0) or it failed (`EMSGSIZE`, or
//!   `EBADF` when the connection was detached first). Callbacks run on one library thread per
//!   process, in queue order.
//! * [`asyncmsg_get`] takes a batch of up to `max_num_buffer` messages in one kernel entry.
//!
//! ```
//! use std::time::Duration;
//! use userlib::asyncmsg::*;
//!
//! let chid = asyncmsg_channel_create(0, 0o600, 64, 16, None, None)?;
//! let attr = AsyncConnAttr { trigger_num_msg: 4, max_num_buffer: 32, ..AsyncConnAttr::default() };
//! let coid = asyncmsg_connect_attach(0, 0, chid, userlib::consts::_NTO_SIDE_CHANNEL, 0, &attr)?;
//! for i in 0..8u8 {
//!     asyncmsg_put(coid, vec![i; 10], i as u32, None)?; // 2 batches of 4
//! }
//! let mut got = Vec::new();
//! while got.len() < 8 {
//!     let batch = asyncmsg_get(chid)?;
//!     got.extend(batch.iter().map(|m| m.data[0]));
//! }
//! assert_eq!(got, (0..8).collect::<Vec<u8>>());
//! let stats = asyncmsg_connection_stats(coid)?;
//! assert_eq!((stats.msgs_put, stats.triggers), (8, 2));
//! asyncmsg_connect_detach(coid)?;
//! asyncmsg_channel_destroy(chid)?;
//! # Ok::<(), userlib::Errno>(())
//! ```

// The library's files, one job each:
//
// * api.rs: the calls on channels and connections (`asyncmsg_channel_create`, `asyncmsg_put`,
//   `asyncmsg_flush`, ...) and the types they take and return.
// * conn.rs: a connection, its lock (the lock order of the whole library is written there) and
//   its put path: the slots, the count and time triggers, the reaps, the detach.
// * producer_lock.rs: that lock, biased towards the thread that puts, with its loom models
//   (producer_lock/loom_models.rs).
// * library.rs: the per-process library and its thread, which receives the kernel's and the
//   timers' pulses and runs the callbacks.
// * pool.rs: the per-thread pool of send buffers behind `asyncmsg_malloc`.
// * heap.rs: send buffers in a shared kernel's region (`asyncmsg_malloc_shared`, and the copies
//   a put makes of long messages to a queue there), which the kernel reads without a system
//   call.
// * receive.rs: the receiving side: a channel's cached arenas, `asyncmsg_get` and its batches.
// * handles.rs: the typed handles `AsyncChannel` and `AsyncConnection`, and the clean-up of a
//   dropped one.

mod api;
mod conn;
mod handles;
mod heap;
mod library;
mod pool;
mod producer_lock;
mod receive;

pub use api::{
    asyncmsg_channel_create, asyncmsg_channel_destroy, asyncmsg_connect_attach,
    asyncmsg_connect_attr, asyncmsg_connect_detach, asyncmsg_connection_stats, asyncmsg_flush,
    asyncmsg_flush_timeout, asyncmsg_put, asyncmsg_put_shared, asyncmsg_put_timeout, asyncmsg_putv,
    AsyncBuf, AsyncCallback, AsyncConnAttr, AsyncConnStats, AsyncPutError, ASYNCMSG_FLUSH_NONBLOCK,
};
pub use handles::{AsyncChannel, AsyncConnection};
pub use heap::{asyncmsg_malloc_shared, asyncmsg_shared_usage, SharedBuf};
pub use pool::asyncmsg_malloc;
pub use receive::{asyncmsg_free, asyncmsg_get, AsyncBatch, AsyncMsg, RecvBufCallback, RecvBufOp};
