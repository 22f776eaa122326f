//! [`ProducerLock`]: the lock an asyncmsg connection's library state sits behind.
//!
//! Every `asyncmsg_put` takes it, and nearly always nobody else holds it: the producer thread
//! puts, and only now and then the library thread (a time trigger, a reap), a flush, a detach
//! or a second producer want it too. A `std::sync::Mutex` pays two atomic read-modify-writes
//! per put (the compare-exchange that takes it and the swap that releases it, which must learn
//! whether to wake a sleeper). Each is a full barrier on x86: it waits until the put's earlier
//! stores (the message the producer just wrote into a buffer the receiver's CPU last read)
//! have reached the cache. This lock releases with a plain store, so a put pays one.
//!
//! The price is that a waiter is never woken: it spins, then yields, then sleeps in growing
//! naps (up to [`MAX_NAP`]) and looks again. That suits a lock held for a few hundred
//! nanoseconds by threads that do not block while holding it; it would not suit a lock held
//! across a blocking call. The library never holds it across one (kernel calls made under it,
//! such as ConnectDetach's, do not block).

use crate::sync::{AtomicU32, Ordering};
use std::time::Duration;

/// Spins on a held lock before yielding.
#[cfg(not(loom))]
const SPINS: u32 = 100;
/// Yields on a held lock before napping.
#[cfg(not(loom))]
const YIELDS: u32 = 20;
/// The first nap; each one after doubles, up to [`MAX_NAP`].
#[cfg(not(loom))]
const FIRST_NAP: Duration = Duration::from_micros(20);
/// The longest nap: a waiter notices a released lock at most this late.
pub const MAX_NAP: Duration = Duration::from_millis(1);

/// A mutual-exclusion lock around `T` that releases with a plain store. See the module doc.
pub struct ProducerLock<T> {
    /// 0 free, 1 held.
    word: AtomicU32,
    value: crate::sync::UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time (the word's Acquire CAS
// and Release store order the accesses), so sharing the lock shares `T` only by moving it
// between threads: `T: Send` suffices, as for `std::sync::Mutex`.
unsafe impl<T: Send> Sync for ProducerLock<T> {}
// SAFETY: the lock owns its `T`.
unsafe impl<T: Send> Send for ProducerLock<T> {}

impl<T> std::fmt::Debug for ProducerLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerLock")
            .field("held", &(self.word.load(Ordering::Relaxed) != 0))
            .finish_non_exhaustive()
    }
}

/// Access to a [`ProducerLock`]'s value; releases the lock when dropped.
pub struct ProducerGuard<'a, T> {
    lock: &'a ProducerLock<T>,
    #[cfg(loom)]
    ptr: Option<loom::cell::MutPtr<T>>,
}

impl<T> ProducerLock<T> {
    /// An unlocked lock around `value`.
    pub fn new(value: T) -> Self {
        ProducerLock {
            word: AtomicU32::new(0),
            value: crate::sync::UnsafeCell::new(value),
        }
    }

    /// Takes the lock, waiting (spin, yield, nap) while another thread holds it.
    #[inline]
    pub fn lock(&self) -> ProducerGuard<'_, T> {
        if self
            .word
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow();
        }
        self.guard()
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<ProducerGuard<'_, T>> {
        self.word
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| self.guard())
    }

    fn guard(&self) -> ProducerGuard<'_, T> {
        ProducerGuard {
            lock: self,
            #[cfg(loom)]
            ptr: Some(self.value.get_mut()),
        }
    }

    #[cold]
    fn lock_slow(&self) {
        #[cfg(not(loom))]
        let mut nap = FIRST_NAP;
        let mut tries: u32 = 0;
        loop {
            if self.word.load(Ordering::Relaxed) == 0
                && self
                    .word
                    .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
            tries = tries.saturating_add(1);
            #[cfg(not(loom))]
            if tries < SPINS {
                std::hint::spin_loop();
            } else if tries < SPINS + YIELDS {
                std::thread::yield_now();
            } else {
                std::thread::sleep(nap);
                nap = (nap * 2).min(MAX_NAP);
            }
            #[cfg(loom)]
            loom::thread::yield_now();
        }
    }
}

impl<T> std::fmt::Debug for ProducerGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerGuard").finish_non_exhaustive()
    }
}

impl<T> std::ops::Deref for ProducerGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        #[cfg(not(loom))]
        {
            // SAFETY: the guard exists only while this thread holds the lock (module doc), so
            // no other access to the value overlaps this borrow, which the guard's own borrow
            // bounds.
            unsafe { &*self.lock.value.get() }
        }
        #[cfg(loom)]
        {
            // SAFETY: as above; loom tracks the access through the guard's pointer.
            unsafe { &*(self.ptr.as_ref().expect("held").deref() as *const T) }
        }
    }
}

impl<T> std::ops::DerefMut for ProducerGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        #[cfg(not(loom))]
        {
            // SAFETY: as in `deref`; `&mut self` makes this the only borrow through the guard.
            unsafe { &mut *self.lock.value.get() }
        }
        #[cfg(loom)]
        {
            // SAFETY: as above.
            unsafe { self.ptr.as_mut().expect("held").deref() }
        }
    }
}

impl<T> Drop for ProducerGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // (Under loom, end the tracked access before the lock can pass to another thread.)
        #[cfg(loom)]
        drop(self.ptr.take());
        // Release: the holder's accesses happen before the next holder's Acquire CAS. A plain
        // store: no waiter sleeps on the word (they nap and look again).
        self.lock.word.store(0, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn excludes_and_loses_no_update() {
        let lock = Arc::new(ProducerLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        let mut g = lock.lock();
                        // A read-then-write that a second holder would interleave with.
                        let v = *g;
                        std::hint::black_box(&mut *g);
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 80_000);
    }

    #[test]
    fn try_lock_fails_while_held_and_succeeds_after() {
        let lock = ProducerLock::new(5);
        let g = lock.lock();
        assert!(lock.try_lock().is_none());
        drop(g);
        assert_eq!(*lock.try_lock().expect("free again"), 5);
    }

    #[test]
    fn a_waiter_past_its_spins_still_gets_the_lock() {
        // The holder keeps the lock for longer than the spins and yields take, so the waiter
        // naps; it must still take the lock soon after the release.
        let lock = Arc::new(ProducerLock::new(Vec::<u32>::new()));
        let g = lock.lock();
        let waiter = {
            let lock = lock.clone();
            std::thread::spawn(move || lock.lock().push(2))
        };
        std::thread::sleep(Duration::from_millis(20));
        drop(g);
        waiter.join().unwrap();
        lock.lock().push(3);
        assert_eq!(*lock.lock(), vec![2, 3]);
    }
}
