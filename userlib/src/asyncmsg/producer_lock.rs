//! [`ProducerLock`]: the lock an asyncmsg connection's library state sits behind.
//!
//! Every `asyncmsg_put` takes it, and nearly always the same thread takes it again and again:
//! the producer puts, and only now and then the library thread (a time trigger, a reap), a
//! detach or a second producer wants it too. A `std::sync::Mutex` pays two atomic
//! read-modify-writes per put (the compare-exchange that takes it and the swap that releases
//! it). Each is a full barrier on x86: it waits until the put's earlier stores (the message the
//! producer just wrote into a buffer the receiver's CPU last read) have reached the cache, and
//! with the receiver on another CPU that wait was most of a put's time.
//!
//! So the lock is *biased*, as the JVM's and some kernels' locks are:
//! * **The general path** takes `word` with a compare-exchange and releases it with a plain
//!   store. Waiters are never woken: they spin, yield, then nap in growing naps (up to
//!   [`MAX_NAP`]) and look again. That suits a lock held for a few hundred nanoseconds by
//!   threads that do not block while holding it, which the library never does.
//! * **The owner's path.** A thread that took the general path [`BIAS_AFTER`] times in a row,
//!   with nobody else in between, becomes the lock's owner when it releases the last of them:
//!   from then on it takes the lock with plain stores and loads only. It marks itself `busy`,
//!   and then checks that it is still the owner. Only one thread in a lock's life may own it
//!   (the first to qualify; it may own it again after a revocation). A second owner could
//!   have its `busy` flag cleared by a former owner still on its way out of a stale attempt
//!   (marked busy, then found the bias gone), and a revoker would then enter beside it.
//! * **Revocation.** Another thread that wants the lock first takes `word`. It then withdraws
//!   the bias, issues `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` and waits until the owner
//!   is not busy. That is Dekker's handshake with asymmetric fences, as in folly's
//!   `asymmetricHeavyBarrier`. The membarrier runs a full barrier on every CPU that runs one of
//!   the process's threads. So either the owner's `busy` store is visible to the revoker, or
//!   the owner's check sees the bias gone. The owner's side needs only a compiler fence.
//!
//! A revocation costs a system call and an interrupt on the other CPUs (microseconds). So a
//! lock revoked [`MAX_REVOCATIONS`] times is never biased again, which keeps a connection whose
//! library thread takes its lock every batch (callback mode) on the general path. Biasing is off
//! (every lock takes the general path) where membarrier is unavailable or refused, and on
//! other architectures than x86-64, whose ordering the argument above relies on.
//!
//! Under loom both fences are `fence(SeqCst)`: the models (`producer_lock/loom_models.rs`)
//! check the handshake's logic.

use crate::sync::{fence, AtomicU32, AtomicU64, Ordering};
#[cfg(not(loom))]
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
#[cfg(not(loom))]
const MAX_NAP: Duration = Duration::from_millis(1);
/// General-path acquisitions in a row by one thread that make it the lock's owner.
#[cfg(not(loom))]
const BIAS_AFTER: u32 = 64;
/// (Under loom: soon, so that the models reach the owner's path.)
#[cfg(loom)]
const BIAS_AFTER: u32 = 1;
/// Revocations after which a lock is never biased again.
const MAX_REVOCATIONS: u32 = 8;

/// A mutual-exclusion lock around `T`, biased towards the thread that takes it most. See the
/// module doc.
pub(super) struct ProducerLock<T> {
    /// The general lock: 0 free, 1 held.
    word: AtomicU32,
    /// The owner's token ([`token`]), or 0: no owner.
    bias: AtomicU64,
    /// 1 while the owner holds the lock by its own path.
    busy: AtomicU32,
    /// Written under `word` only: the one thread that may own the lock (0 until one qualifies),
    /// the token of the last general-path holder, its acquisitions in a row, and the
    /// revocations so far.
    owner_for_life: AtomicU64,
    last: AtomicU64,
    streak: AtomicU32,
    revocations: AtomicU32,
    value: crate::sync::UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time (module doc: `word`'s
// Acquire CAS and Release store order general-path holders; `busy`'s Release store and the
// revoker's Acquire load, with the handshake, order the owner's holds against them), so sharing
// the lock shares `T` only by moving it between threads: `T: Send` suffices, as for `Mutex`.
unsafe impl<T: Send> Sync for ProducerLock<T> {}

impl<T> std::fmt::Debug for ProducerLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerLock")
            .field("held", &(self.word.load(Ordering::Relaxed) != 0))
            .field("biased", &(self.bias.load(Ordering::Relaxed) != 0))
            .field("revocations", &self.revocations.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Access to a [`ProducerLock`]'s value; releases the lock when dropped. Neither `Send` nor
/// (unless `T: Sync`) `Sync`, like `std::sync::MutexGuard`: the thread that took the lock
/// releases it, and a shared guard shares `&T`.
pub(super) struct ProducerGuard<'a, T> {
    lock: &'a ProducerLock<T>,
    /// Taken by the owner's path (release `busy`), not the general one (release `word`).
    owned: bool,
    /// On release of this general-path hold, make this token the owner (0: do not).
    grant: u64,
    #[cfg(loom)]
    ptr: Option<loom::cell::MutPtr<T>>,
    _not_send: std::marker::PhantomData<*const ()>,
}

// SAFETY: a shared guard gives out `&T` only, which is safe to share when `T: Sync`.
unsafe impl<T: Sync> Sync for ProducerGuard<'_, T> {}

impl<T> std::fmt::Debug for ProducerGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerGuard")
            .field("owned", &self.owned)
            .finish_non_exhaustive()
    }
}

impl<T> ProducerLock<T> {
    /// An unlocked lock around `value`, with no owner.
    pub(super) fn new(value: T) -> Self {
        ProducerLock {
            word: AtomicU32::new(0),
            bias: AtomicU64::new(0),
            busy: AtomicU32::new(0),
            owner_for_life: AtomicU64::new(0),
            last: AtomicU64::new(0),
            streak: AtomicU32::new(0),
            revocations: AtomicU32::new(0),
            value: crate::sync::UnsafeCell::new(value),
        }
    }

    /// Takes the lock: by the owner's path if the calling thread owns it, else by the general
    /// path (waiting while another thread holds it, and withdrawing another thread's bias).
    #[inline]
    pub(super) fn lock(&self) -> ProducerGuard<'_, T> {
        let me = token();
        if self.bias.load(Ordering::Relaxed) == me {
            // Only this thread writes 1 here (the one owner for life), so a 1 means this thread
            // already holds the lock: a second lock would hand out a second `&mut T`.
            if self.busy.load(Ordering::Relaxed) != 0 {
                locked_twice();
            }
            self.busy.store(1, Ordering::Relaxed);
            light_fence();
            if self.bias.load(Ordering::Relaxed) == me {
                return self.guard(true, 0);
            }
            // Revoked meanwhile: the revoker waits for this.
            self.busy.store(0, Ordering::Release);
        }
        self.lock_general(me)
    }

    /// Whether a thread owns the lock (it takes it without read-modify-writes). (Tests only.)
    #[cfg(test)]
    pub(super) fn is_biased(&self) -> bool {
        self.bias.load(Ordering::Relaxed) != 0
    }

    /// How many times another thread withdrew an owner's bias. (Tests only.)
    #[cfg(all(test, not(loom)))]
    pub(super) fn revocations(&self) -> u32 {
        self.revocations.load(Ordering::Relaxed)
    }

    fn guard(&self, owned: bool, grant: u64) -> ProducerGuard<'_, T> {
        ProducerGuard {
            lock: self,
            owned,
            grant,
            #[cfg(loom)]
            ptr: Some(self.value.get_mut()),
            _not_send: std::marker::PhantomData,
        }
    }

    #[cold]
    #[inline(never)]
    fn lock_general(&self, me: u64) -> ProducerGuard<'_, T> {
        self.take_word();
        // Only `word` holders change `bias`, `last`, `streak` and `revocations`: Relaxed.
        let owner = self.bias.load(Ordering::Relaxed);
        if owner != 0 {
            // Withdraw the bias, then wait for the owner to leave a hold it may be in.
            self.bias.store(0, Ordering::Relaxed);
            heavy_fence();
            let mut tries: u32 = 0;
            while self.busy.load(Ordering::Acquire) != 0 {
                tries = tries.saturating_add(1);
                backoff(tries);
            }
            let r = self.revocations.load(Ordering::Relaxed);
            self.revocations.store(r + 1, Ordering::Relaxed);
        }
        let streak = if self.last.load(Ordering::Relaxed) == me {
            self.streak.load(Ordering::Relaxed).saturating_add(1)
        } else {
            self.last.store(me, Ordering::Relaxed);
            1
        };
        self.streak.store(streak, Ordering::Relaxed);
        let for_life = self.owner_for_life.load(Ordering::Relaxed);
        let grant = streak >= BIAS_AFTER
            && owner == 0
            && (for_life == 0 || for_life == me)
            && self.revocations.load(Ordering::Relaxed) < MAX_REVOCATIONS
            && biasing_available();
        if grant {
            self.owner_for_life.store(me, Ordering::Relaxed);
        }
        // The bias is granted when this hold ends (see the guard's drop), so that a thread
        // locking again while it holds the lock waits on `word`, as with a `Mutex`, instead of
        // taking the owner's path beside its own hold.
        self.guard(false, if grant { me } else { 0 })
    }

    fn take_word(&self) {
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
            backoff(tries);
        }
    }
}

/// The owner took its lock again while holding it.
#[cold]
#[inline(never)]
fn locked_twice() -> ! {
    panic!("ProducerLock locked twice by one thread")
}

/// One step of waiting for another thread: spin, then yield, then nap longer each time.
fn backoff(tries: u32) {
    #[cfg(not(loom))]
    if tries < SPINS {
        std::hint::spin_loop();
    } else if tries < SPINS + YIELDS {
        std::thread::yield_now();
    } else {
        let naps = (tries - SPINS - YIELDS).min(6);
        std::thread::sleep((FIRST_NAP * (1 << naps)).min(MAX_NAP));
    }
    #[cfg(loom)]
    {
        let _ = tries;
        loom::thread::yield_now();
    }
}

/// The owner's side of the handshake: orders its `busy` store before its `bias` load. A
/// compiler fence suffices on x86-64 given the revoker's membarrier (module doc).
#[inline(always)]
fn light_fence() {
    #[cfg(not(loom))]
    std::sync::atomic::compiler_fence(Ordering::SeqCst);
    #[cfg(loom)]
    fence(Ordering::SeqCst);
}

/// The revoker's side: a full barrier on every CPU running one of the process's threads.
fn heavy_fence() {
    fence(Ordering::SeqCst);
    #[cfg(not(loom))]
    membarrier::expedited();
}

/// Whether threads may own locks: membarrier is there and registered (once per process).
fn biasing_available() -> bool {
    #[cfg(not(loom))]
    {
        static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVAILABLE.get_or_init(membarrier::register)
    }
    #[cfg(loom)]
    true
}

/// The calling thread's token: a number no other thread of the process has or had (never 0).
#[inline(always)]
fn token() -> u64 {
    #[cfg(not(loom))]
    {
        use std::cell::Cell;
        use std::sync::atomic::AtomicU64 as StdU64;
        static NEXT: StdU64 = StdU64::new(1);
        thread_local! {
            static TOKEN: Cell<u64> = const { Cell::new(0) };
        }
        TOKEN.with(|t| {
            let v = t.get();
            if v != 0 {
                return v;
            }
            let v = NEXT.fetch_add(1, Ordering::Relaxed);
            t.set(v);
            v
        })
    }
    #[cfg(loom)]
    {
        loom::thread_local! {
            static TOKEN: std::cell::Cell<u64> = std::cell::Cell::new(0);
        }
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        TOKEN.with(|t| {
            if t.get() == 0 {
                t.set(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            }
            t.get()
        })
    }
}

/// `membarrier(2)`, the revoker's heavy fence.
#[cfg(not(loom))]
mod membarrier {
    const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    /// Registers the process for expedited private barriers; false where membarrier is
    /// missing or refused (old kernels, seccomp), or the architecture is not x86-64.
    pub(super) fn register() -> bool {
        if !cfg!(target_arch = "x86_64") {
            return false;
        }
        // SAFETY: membarrier takes no pointers; a refused or unknown command returns -1.
        let r = unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                CMD_REGISTER_PRIVATE_EXPEDITED,
                0 as libc::c_uint,
                0 as libc::c_int,
            )
        };
        r == 0
    }

    /// A full barrier on every CPU running a thread of this process. Called only after
    /// [`register`] succeeded (a lock is biased only then).
    pub(super) fn expedited() {
        // SAFETY: as above.
        let r = unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                CMD_PRIVATE_EXPEDITED,
                0 as libc::c_uint,
                0 as libc::c_int,
            )
        };
        if r != 0 {
            // Registered, yet refused: without the barrier the revoker could enter beside the
            // owner. Nothing safe is left to do.
            eprintln!(
                "ProducerLock: membarrier failed after registration: {}",
                std::io::Error::last_os_error()
            );
            std::process::abort();
        }
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
        // Release: this hold's accesses happen before the next holder's Acquire (of `word`, or
        // of `busy` by a revoker). Plain stores: nobody sleeps on either word.
        if self.owned {
            self.lock.busy.store(0, Ordering::Release);
        } else {
            if self.grant != 0 {
                // Still under `word`: from our next lock on, we take the owner's path.
                self.lock.bias.store(self.grant, Ordering::Relaxed);
            }
            self.lock.word.store(0, Ordering::Release);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_models;

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
                    for i in 0..20_000 {
                        let mut g = lock.lock();
                        // A read-then-write that a second holder would interleave with.
                        let v = *g;
                        std::hint::black_box(&mut *g);
                        *g = v + 1;
                        drop(g);
                        if i % 1000 == 0 {
                            std::thread::yield_now();
                        }
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
    fn a_thread_that_takes_it_often_owns_it_until_another_takes_it() {
        let lock = Arc::new(ProducerLock::new(0u64));
        for _ in 0..BIAS_AFTER {
            *lock.lock() += 1;
        }
        if !biasing_available() {
            // (No membarrier here: every lock stays on the general path, which the other
            // tests check.)
            assert!(!lock.is_biased());
            return;
        }
        assert!(lock.is_biased(), "owned after {BIAS_AFTER} in a row");
        {
            let g = lock.lock();
            assert!(g.owned, "the owner's path");
        }
        // Another thread takes it: the bias goes, and it sees every update the owner made.
        let seen = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                let mut g = lock.lock();
                *g += 1;
                *g
            })
            .join()
            .unwrap()
        };
        assert_eq!(seen, BIAS_AFTER as u64 + 1);
        assert!(!lock.is_biased());
        assert_eq!(lock.revocations(), 1);
        assert!(!lock.lock().owned, "back on the general path");
    }

    #[test]
    fn only_the_first_owner_ever_owns_it() {
        if !biasing_available() {
            return;
        }
        let lock = Arc::new(ProducerLock::new(0u64));
        for _ in 0..BIAS_AFTER {
            *lock.lock() += 1;
        }
        assert!(lock.is_biased());
        // Another thread revokes the bias and then takes the lock many times in a row: it
        // must stay on the general path (it would otherwise become a second owner).
        let other_owned = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                (0..3 * BIAS_AFTER).any(|_| {
                    let g = lock.lock();
                    g.owned
                })
            })
            .join()
            .unwrap()
        };
        assert!(!other_owned);
        assert!(!lock.is_biased());
        // The first owner may own it again.
        for _ in 0..BIAS_AFTER {
            *lock.lock() += 1;
        }
        assert!(lock.is_biased());
        assert!(lock.lock().owned);
    }

    #[test]
    fn the_owner_locking_twice_panics_instead_of_sharing_the_value() {
        if !biasing_available() {
            // (Without biasing a second lock waits forever, as a Mutex's does: not tested.)
            return;
        }
        let lock = ProducerLock::new(0u64);
        for _ in 0..BIAS_AFTER {
            *lock.lock() += 1;
        }
        let g = lock.lock();
        assert!(g.owned);
        let second = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(lock.lock())));
        let msg = second.expect_err("a second guard was handed out");
        assert_eq!(
            msg.downcast_ref::<&str>().copied(),
            Some("ProducerLock locked twice by one thread")
        );
        drop(g);
        *lock.lock() += 1;
        assert_eq!(*lock.lock(), BIAS_AFTER as u64 + 1);
    }

    #[test]
    fn an_owner_and_another_thread_racing_lose_no_update() {
        // One thread becomes the owner and keeps taking the lock; another takes it now and
        // then, revoking the bias each time the owner has regained it (up to the limit).
        let lock = Arc::new(ProducerLock::new((0u64, 0u64)));
        let owner = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                for _ in 0..200_000 {
                    let mut g = lock.lock();
                    let v = g.0;
                    std::hint::black_box(&mut *g);
                    g.0 = v + 1;
                }
            })
        };
        for _ in 0..200 {
            let mut g = lock.lock();
            let v = g.1;
            std::hint::black_box(&mut *g);
            g.1 = v + 1;
            drop(g);
            std::thread::sleep(Duration::from_micros(50));
        }
        owner.join().unwrap();
        assert_eq!(*lock.lock(), (200_000, 200));
        assert!(lock.revocations() <= MAX_REVOCATIONS);
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
