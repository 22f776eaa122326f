//! Cancellation points: the blocking kernel calls that a C program's `pthread_cancel` ends, as
//! QNX's kernel calls are cancellation points (`MsgSend*` but the `*nc` forms, `MsgReceive*`,
//! `InterruptWait`, the sleeps).
//!
//! glibc acts on a cancellation only in its own cancellation points; a thread asleep on its
//! wait word in one of this kernel's calls would never see it. So libqnxsim's `pthread_cancel`
//! marks the thread in glibc first, then makes a `ThreadCancel` kernel call: a thread blocked
//! in a call made inside [`point`] leaves it with ECANCELED (as a signal would make it leave:
//! `calls::srr::Why::Cancel`), and the library, back in its C entry point, calls glibc's
//! `pthread_testcancel`, which acts. A thread not so blocked is marked, and its next blocking
//! call inside [`point`] ends at once. Calls made outside [`point`] (the Rust API's, the
//! `*nc` forms, any call while the C thread has cancellation disabled) are never ended.

use std::cell::Cell;

#[cfg(not(loom))]
thread_local! {
    static POINT: Cell<bool> = const { Cell::new(false) };
}

// (Under loom each model thread has its own.)
#[cfg(loom)]
loom::thread_local! {
    static POINT: Cell<bool> = Cell::new(false);
}

/// Sets the calling thread's mark, returning the one it had.
fn swap(v: bool) -> bool {
    #[cfg(not(loom))]
    return POINT.try_with(|p| p.replace(v)).unwrap_or(false);
    #[cfg(loom)]
    return POINT.with(|p| p.replace(v));
}

/// Runs `f` with the calling thread's blocking kernel calls as cancellation points: a
/// `ThreadCancel` of the thread ends the one it is blocked in with ECANCELED (or the next one
/// it blocks in).
pub fn point<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            swap(self.0);
        }
    }
    let _restore = Restore(swap(true));
    f()
}

/// Whether the calling thread's call is made inside [`point`].
pub(crate) fn in_point() -> bool {
    #[cfg(not(loom))]
    return POINT.try_with(Cell::get).unwrap_or(false);
    #[cfg(loom)]
    return POINT.with(Cell::get);
}
