//! Raw Linux futexes on an [`AtomicU32`], process-private (`FUTEX_PRIVATE_FLAG`) or, for words
//! in memory shared between processes, process-shared ([`wait_shared`], [`wake_shared`]); no
//! timeout.
//!
//! Baselines use these directly: no spinning, no user-space fast path beyond what the caller
//! writes around them.

use std::sync::atomic::AtomicU32;

const FUTEX_WAIT_PRIVATE: libc::c_int = libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG;
const FUTEX_WAKE_PRIVATE: libc::c_int = libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG;

/// Sleeps while `*word == expected` (`FUTEX_WAIT`). Returns at once if the word already differs;
/// may also return spuriously (signals), so callers re-check the word in a loop.
pub fn wait(word: &AtomicU32, expected: u32) {
    // SAFETY: `word` is a live, aligned 32-bit atomic borrowed for the whole call; FUTEX_WAIT
    // only reads it. The timeout pointer is null (no timeout); the remaining arguments are
    // ignored by FUTEX_WAIT.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            FUTEX_WAIT_PRIVATE,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

/// Wakes up to `n` threads sleeping on `word` (`FUTEX_WAKE`). Returns how many were woken.
pub fn wake(word: &AtomicU32, n: u32) -> u32 {
    let n = n.min(i32::MAX as u32) as libc::c_int;
    // SAFETY: FUTEX_WAKE uses the address of `word` only as a key (it reads no memory); the
    // address stays valid for the call because `word` is borrowed.
    let r = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), FUTEX_WAKE_PRIVATE, n) };
    u32::try_from(r).unwrap_or(0)
}

/// [`wait`] on a word in memory shared with other processes (no `FUTEX_PRIVATE_FLAG`).
pub fn wait_shared(word: &AtomicU32, expected: u32) {
    // SAFETY: as in `wait`.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

/// [`wake`] on a word in memory shared with other processes.
pub fn wake_shared(word: &AtomicU32, n: u32) -> u32 {
    let n = n.min(i32::MAX as u32) as libc::c_int;
    // SAFETY: as in `wake`.
    let r = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n) };
    u32::try_from(r).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn wait_on_a_changed_word_returns_at_once() {
        let w = AtomicU32::new(1);
        wait(&w, 0);
        assert_eq!(wake(&w, 1), 0);
        w.store(2, Ordering::Release);
        assert_eq!(w.load(Ordering::Acquire), 2);
    }
}
