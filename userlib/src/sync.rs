//! The `cfg(loom)` shim: loom's atomics and cell under `--cfg loom`, std's otherwise.
//!
//! The asyncmsg connection's lock (`asyncmsg/producer_lock.rs`) is built on these aliases, so
//! that its loom models check the same code that runs for real. Nothing else lives here: the
//! rest of the library uses std's types directly (it is not modelled).

#[cfg(loom)]
pub(crate) type AtomicU32 = loom::sync::atomic::AtomicU32;
#[cfg(not(loom))]
pub(crate) type AtomicU32 = std::sync::atomic::AtomicU32;

#[cfg(loom)]
pub(crate) type AtomicU64 = loom::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub(crate) type AtomicU64 = std::sync::atomic::AtomicU64;

pub(crate) use std::sync::atomic::Ordering;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::fence;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::fence;

/// A plain `UnsafeCell` for a lock's protected value: loom's (which tracks each access) under
/// `--cfg loom`, std's otherwise.
#[cfg(loom)]
pub(crate) type UnsafeCell<T> = loom::cell::UnsafeCell<T>;
#[cfg(not(loom))]
pub(crate) type UnsafeCell<T> = std::cell::UnsafeCell<T>;
