//! The `cfg(loom)` shim: loom's atomics and `Arc` under `--cfg loom`, std's otherwise.
//!
//! Everything in the kernel that is shared between threads goes through these aliases, so the
//! loom models in `tests/loom_*.rs` check the same lock and wait/wake code that runs for real.
//! Nothing else lives here.

#[cfg(loom)]
pub(crate) type AtomicU32 = loom::sync::atomic::AtomicU32;
#[cfg(not(loom))]
pub(crate) type AtomicU32 = std::sync::atomic::AtomicU32;

#[cfg(loom)]
pub(crate) type Arc<T> = loom::sync::Arc<T>;
#[cfg(not(loom))]
pub(crate) type Arc<T> = std::sync::Arc<T>;

#[cfg(loom)]
pub(crate) type Mutex<T> = loom::sync::Mutex<T>;
#[cfg(loom)]
pub(crate) type Condvar = loom::sync::Condvar;

pub(crate) use std::sync::atomic::Ordering;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::fence;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::fence;

/// A cell for the kernel tables. Under loom it is loom's `UnsafeCell`, so every critical section
/// is checked for being ordered by the kernel lock; otherwise it is a zero-sized marker.
#[derive(Debug)]
pub(crate) struct TablesCell {
    #[cfg(loom)]
    cell: loom::cell::UnsafeCell<()>,
}

impl TablesCell {
    pub(crate) fn new() -> Self {
        TablesCell {
            #[cfg(loom)]
            cell: loom::cell::UnsafeCell::new(()),
        }
    }

    /// Runs `f` as an exclusive access to the tables (loom checks that no other access races it).
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce() -> R) -> R {
        #[cfg(loom)]
        {
            self.cell.with_mut(|_| f())
        }
        #[cfg(not(loom))]
        {
            f()
        }
    }
}

/// An `UnsafeCell` whose accesses loom checks under `--cfg loom` (std's otherwise).
#[derive(Debug)]
pub(crate) struct Cell<T> {
    #[cfg(loom)]
    c: loom::cell::UnsafeCell<T>,
    #[cfg(not(loom))]
    c: std::cell::UnsafeCell<T>,
}

impl<T> Cell<T> {
    pub(crate) fn new(v: T) -> Self {
        Cell {
            #[cfg(loom)]
            c: loom::cell::UnsafeCell::new(v),
            #[cfg(not(loom))]
            c: std::cell::UnsafeCell::new(v),
        }
    }

    /// Reads through the cell.
    ///
    /// # Safety
    /// No write may race this read.
    pub(crate) unsafe fn read(&self) -> T
    where
        T: Copy,
    {
        #[cfg(loom)]
        {
            // SAFETY: forwarded from the caller.
            self.c.with(|p| unsafe { *p })
        }
        #[cfg(not(loom))]
        {
            // SAFETY: forwarded from the caller.
            unsafe { *self.c.get() }
        }
    }

    /// Writes through the cell.
    ///
    /// # Safety
    /// No other access may race this write.
    pub(crate) unsafe fn write(&self, v: T) {
        #[cfg(loom)]
        {
            // SAFETY: forwarded from the caller.
            self.c.with_mut(|p| unsafe { *p = v })
        }
        #[cfg(not(loom))]
        {
            // SAFETY: forwarded from the caller.
            unsafe { *self.c.get() = v }
        }
    }
}
