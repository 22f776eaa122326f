//! The kernel lock and the per-thread wait words: the only place in the kernel that blocks and
//! wakes.
//!
//! Both are 32-bit words in the kernel region, driven by Linux futexes (`FUTEX_WAIT_BITSET` /
//! `FUTEX_WAKE`), so the same code works when the region is later shared by processes (the
//! futex calls then drop `FUTEX_PRIVATE_FLAG`). Under `--cfg loom` the futex is emulated with
//! one loom `Mutex` and `Condvar` per execution (a wake wakes every emulated sleeper, which
//! re-checks its word, as after a spurious futex return), so the protocol above it can be
//! model-checked without a wake-up ever touching its word's memory; loom cannot time
//! out, so there a wait with a deadline returns `TimedOut` at once: the deadline may pass at
//! any moment, and loom explores that moment against every interleaving of the others.
//!
//! The protocol (see docs/design.md, "Lock and wait protocol"):
//! * a blocking kernel call, still holding the lock, reads its own wait word's value `s`,
//!   releases the lock and waits while the word equals `s`;
//! * a waker, holding the lock, changes the blocked thread's state and bumps its word
//!   ([`WaitWord::post`]); after releasing the lock it issues the futex wake ([`WaitWord::wake`]);
//! * a word outside the region (an asyncmsg sender queue's, in the sender's memory) is bumped
//!   under the lock too, but whether it has sleepers is read there ([`WaitWord::wake_later`])
//!   and the wake itself ([`PendingWake::wake`]) is made after the lock is released, by
//!   address only: by then the word's owner may have freed it;
//! * a waiter whose deadline passes retakes the lock and decides, under the lock, whether it
//!   was woken after all or must cancel its own block.

use crate::sync::{fence, AtomicU32, Ordering};
use std::time::Duration;

/// Which clock a deadline is measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// `CLOCK_MONOTONIC`.
    Monotonic,
    /// `CLOCK_REALTIME`.
    Realtime,
}

/// An absolute point in time on a clock, in nanoseconds since that clock's epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The clock the deadline is on.
    pub clock: Clock,
    /// Nanoseconds since the clock's epoch.
    pub nsec: u64,
}

impl Deadline {
    /// The current time on `clock`, in nanoseconds.
    pub fn now_ns(clock: Clock) -> u64 {
        let id = match clock {
            Clock::Monotonic => nix::time::ClockId::CLOCK_MONOTONIC,
            Clock::Realtime => nix::time::ClockId::CLOCK_REALTIME,
        };
        // clock_gettime on these two clocks cannot fail on Linux.
        let ts = nix::time::clock_gettime(id).unwrap_or(nix::sys::time::TimeSpec::new(0, 0));
        (ts.tv_sec() as u64).saturating_mul(1_000_000_000) + ts.tv_nsec() as u64
    }

    /// A deadline `d` from now on the monotonic clock.
    pub fn after(d: Duration) -> Deadline {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Deadline {
            clock: Clock::Monotonic,
            nsec: Self::now_ns(Clock::Monotonic).saturating_add(ns),
        }
    }

    /// Whether the deadline has passed.
    pub fn passed(&self) -> bool {
        Self::now_ns(self.clock) >= self.nsec
    }
}

/// How many times [`WaitWord::spin_for`] looks at its word between two looks at the clock.
#[cfg(not(loom))]
const SPIN_CHECK: u32 = 64;

/// What a wait ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// The word no longer holds the value waited on (or a spurious return; callers re-check).
    Changed,
    /// The deadline passed first.
    TimedOut,
    /// A signal handler ran in the waiting thread (the futex wait returned EINTR).
    Interrupted,
}

#[cfg(not(loom))]
mod futex {
    use super::{Clock, Deadline, WaitResult};
    use crate::sync::AtomicU32;

    const FUTEX_WAIT_BITSET: libc::c_int = 9;
    const FUTEX_WAKE: libc::c_int = 1;
    const FUTEX_PRIVATE_FLAG: libc::c_int = 128;
    const FUTEX_CLOCK_REALTIME: libc::c_int = 256;
    const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;

    /// Blocks while `*word == expected`, up to an absolute deadline.
    pub(super) fn wait(
        word: &AtomicU32,
        expected: u32,
        deadline: Option<Deadline>,
        shared: bool,
    ) -> WaitResult {
        let mut op = FUTEX_WAIT_BITSET;
        if !shared {
            op |= FUTEX_PRIVATE_FLAG;
        }
        let ts;
        let tsp = match deadline {
            None => std::ptr::null(),
            Some(d) => {
                if d.clock == Clock::Realtime {
                    op |= FUTEX_CLOCK_REALTIME;
                }
                ts = libc::timespec {
                    tv_sec: (d.nsec / 1_000_000_000) as libc::time_t,
                    tv_nsec: (d.nsec % 1_000_000_000) as libc::c_long,
                };
                &ts as *const libc::timespec
            }
        };
        // (A signal handler that runs meanwhile ends the wait: with EINTR, or, restarted after an
        // SA_RESTART handler, because the kernel's trampoline bumped the word; signals.rs.)
        // SAFETY: `word` is a live, aligned 32-bit atomic for the duration of the call; the
        // kernel only reads it. `tsp` is null or points at `ts`, alive until the call returns.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                op,
                expected,
                tsp,
                std::ptr::null::<u32>(),
                FUTEX_BITSET_MATCH_ANY,
            )
        };
        if r != -1 {
            return WaitResult::Changed;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ETIMEDOUT) if deadline.is_some() => WaitResult::TimedOut,
            Some(libc::EINTR) => WaitResult::Interrupted,
            _ => WaitResult::Changed,
        }
    }

    /// Wakes up to `n` waiters on `word`.
    pub(super) fn wake(word: &AtomicU32, n: u32, shared: bool) {
        wake_addr(word.as_ptr() as u64, n, shared);
    }

    /// Wakes up to `n` waiters on the word at `addr`, which may since have been freed: the
    /// address is only a key (a private futex's key is the address itself). Should the memory
    /// have been reused for another futex word, its waiters see a spurious return and re-check.
    pub(super) fn wake_addr(addr: u64, n: u32, shared: bool) {
        let mut op = FUTEX_WAKE;
        if !shared {
            op |= FUTEX_PRIVATE_FLAG;
        }
        // SAFETY: FUTEX_WAKE only uses the address as a key; it reads and writes no memory.
        unsafe {
            libc::syscall(libc::SYS_futex, addr as *const u32, op, n as libc::c_int);
        }
    }
}

/// A 32-bit word a thread can block on, and be woken through: a futex. It also counts the
/// threads asleep on it, so that a wake finding none skips the system call (the waiter, not yet
/// asleep, will see the changed word).
#[derive(Debug)]
pub struct WaitWord {
    value: AtomicU32,
    sleepers: AtomicU32,
}

/// A wake-up owed to the sleepers of a [`WaitWord`], made after the kernel lock is released
/// (see the module doc): it holds the word's address, never a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingWake {
    #[cfg_attr(loom, allow(dead_code))]
    addr: u64,
    #[cfg_attr(loom, allow(dead_code))]
    shared: bool,
}

impl PendingWake {
    /// Wakes every thread asleep on the word, touching none of its memory.
    pub fn wake(self) {
        #[cfg(not(loom))]
        futex::wake_addr(self.addr, i32::MAX as u32, self.shared);
        #[cfg(loom)]
        emu::notify_all();
    }
}

/// The loom emulation of the futex: one mutex and condvar per execution.
#[cfg(loom)]
mod emu {
    use crate::sync::{Condvar, Mutex};

    loom::lazy_static! {
        static ref EMU: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());
    }

    /// Sleeps until a wake while `still()` holds (checked under the emulation's mutex).
    pub(super) fn wait_while(still: impl Fn() -> bool) {
        let (m, cv) = &*EMU;
        let mut g = m.lock().unwrap();
        while still() {
            g = cv.wait(g).unwrap();
        }
    }

    /// Wakes every emulated sleeper.
    pub(super) fn notify_all() {
        let (m, cv) = &*EMU;
        let _g = m.lock().unwrap();
        cv.notify_all();
    }
}

impl Default for WaitWord {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitWord {
    /// A word holding 0.
    pub fn new() -> Self {
        WaitWord {
            value: AtomicU32::new(0),
            sleepers: AtomicU32::new(0),
        }
    }

    /// The current value.
    #[inline]
    pub fn load(&self) -> u32 {
        self.value.load(Ordering::Acquire)
    }

    /// Bumps the word so a waiter on its old value no longer sleeps. Called under the kernel lock.
    #[inline]
    pub fn post(&self) {
        self.value.fetch_add(1, Ordering::Release);
    }

    /// Blocks while the word holds `expected`, until `deadline` if one is given.
    ///
    /// The waiter counts itself in `sleepers`, then looks at the word; a waker changes the word,
    /// then looks at `sleepers`. Each side has a SeqCst fence between its two steps, so either
    /// the waiter sees the change (and does not sleep) or the waker sees the sleeper (and wakes it).
    pub fn wait(&self, expected: u32, deadline: Option<Deadline>, shared: bool) -> WaitResult {
        self.sleepers.fetch_add(1, Ordering::AcqRel);
        fence(Ordering::SeqCst);
        let r = self.wait_counted(expected, deadline, shared);
        self.sleepers.fetch_sub(1, Ordering::AcqRel);
        r
    }

    fn wait_counted(&self, expected: u32, deadline: Option<Deadline>, shared: bool) -> WaitResult {
        #[cfg(not(loom))]
        {
            if self.value.load(Ordering::Acquire) != expected {
                return WaitResult::Changed;
            }
            futex::wait(&self.value, expected, deadline, shared)
        }
        #[cfg(loom)]
        {
            let _ = shared;
            // A deadline may pass at any moment: loom explores the timeout firing before and
            // after whatever the other threads do, through the caller's real timeout path.
            if deadline.is_some() {
                return if self.value.load(Ordering::Acquire) == expected {
                    WaitResult::TimedOut
                } else {
                    WaitResult::Changed
                };
            }
            emu::wait_while(|| self.value.load(Ordering::Acquire) == expected);
            WaitResult::Changed
        }
    }

    /// Spins while the word holds `expected`, for up to `budget_ns` nanoseconds and never past
    /// `deadline` (for a waiter whose waker runs on another CPU: the change usually comes
    /// before a futex sleep would pay off). Returns whether the word changed. The budget is
    /// kept in time, not in iterations: the monotonic clock (a vDSO read) is looked at every
    /// `SPIN_CHECK` iterations, so the spin lasts as long whatever a `pause` costs on this
    /// CPU. Under loom, which has no clock, it looks at the word twice.
    pub fn spin_for(&self, expected: u32, budget_ns: u32, deadline: Option<Deadline>) -> bool {
        #[cfg(not(loom))]
        {
            let start = Deadline::now_ns(Clock::Monotonic);
            let end = start.saturating_add(u64::from(budget_ns));
            loop {
                for _ in 0..SPIN_CHECK {
                    if self.value.load(Ordering::Acquire) != expected {
                        return true;
                    }
                    std::hint::spin_loop();
                }
                if Deadline::now_ns(Clock::Monotonic) >= end || deadline.is_some_and(|d| d.passed())
                {
                    return self.value.load(Ordering::Acquire) != expected;
                }
            }
        }
        #[cfg(loom)]
        {
            // (Each load is a point where loom may run the other threads; a yield would make
            // it run them until they block, hiding a deadline that passes first.)
            let _ = (budget_ns, deadline);
            (0..2).any(|_| self.value.load(Ordering::Acquire) != expected)
        }
    }

    /// Yields the CPU up to `yields` times while the word still holds `expected`; returns
    /// whether it changed. For a waiter whose waker shares its CPU: each yield lets the waker
    /// run (a no-op when nothing else is runnable). Under loom, looks once.
    pub fn yield_until_changed(&self, expected: u32, yields: u32) -> bool {
        #[cfg(not(loom))]
        for _ in 0..yields {
            if self.value.load(Ordering::Acquire) != expected {
                return true;
            }
            std::thread::yield_now();
        }
        #[cfg(loom)]
        let _ = yields;
        self.value.load(Ordering::Acquire) != expected
    }

    /// Whether a thread is asleep on the word (or about to look at it and sleep), after the
    /// caller's change to it (`post`): the fence pairs with the waiter's, as in
    /// [`WaitWord::wake_later`], so `false` means every waiter will see the change.
    #[inline]
    pub fn asleep(&self) -> bool {
        fence(Ordering::SeqCst);
        self.sleepers.load(Ordering::Acquire) != 0
    }

    /// Counts (or uncounts) a sleeper without sleeping: the kernel's unit tests play a thread
    /// asleep on its word this way, without an OS thread.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn pretend_asleep(&self, asleep: bool) {
        if asleep {
            self.sleepers.fetch_add(1, Ordering::AcqRel);
        } else {
            self.sleepers.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Wakes the thread (or threads) waiting on this word, if any is asleep on it.
    pub fn wake(&self, shared: bool) {
        if let Some(w) = self.wake_later(shared) {
            w.wake();
        }
    }

    /// The first half of [`WaitWord::wake`], for a word that may be freed once the kernel lock
    /// is released: after the caller's change to the word (`post`), whether a thread is asleep
    /// on it, and if so the wake to make after unlocking. The fence pairs with the waiter's, as
    /// in `wake`.
    #[must_use = "a wake-up is owed to the sleepers"]
    pub fn wake_later(&self, shared: bool) -> Option<PendingWake> {
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::Acquire) == 0 {
            return None;
        }
        Some(PendingWake {
            addr: &self.value as *const AtomicU32 as u64,
            shared,
        })
    }

    #[cfg(not(loom))]
    fn cas(&self, current: u32, new: u32) -> Result<u32, u32> {
        self.value
            .compare_exchange(current, new, Ordering::Acquire, Ordering::Relaxed)
    }
    #[cfg(loom)]
    fn cas(&self, current: u32, new: u32) -> Result<u32, u32> {
        self.value
            .compare_exchange(current, new, Ordering::Acquire, Ordering::Relaxed)
    }
}

/// The kernel lock: a futex mutex after Drepper's "Futexes Are Tricky" (free, locked, locked
/// with waiters), on a [`WaitWord`] in the region, whose word also names its holder: bit 0
/// [`LOCKED`], bit 1 [`WAITERS`], the rest the holder's tag (in a shared kernel its program's
/// Linux pid, so that a supervisor finding a program dead sees whether it died holding the lock;
/// 0 otherwise). Waiters set the waiters bit with a compare-and-swap, keeping the tag, where
/// Drepper's exchange would overwrite it.
#[derive(Debug, Default)]
pub struct KernelLock {
    word: WaitWord,
}

/// The kernel lock's word: held.
pub const LOCKED: u32 = 1;
/// The kernel lock's word: someone may sleep on it (the releaser wakes one).
pub const WAITERS: u32 = 2;

/// Spins on a held kernel lock before yielding (see `KernelLock::lock_slow`).
#[cfg(not(loom))]
const LOCK_SPINS: u32 = 200;
/// Yields on a held kernel lock before sleeping.
#[cfg(not(loom))]
const LOCK_YIELDS: u32 = 2;

impl KernelLock {
    /// An unlocked lock.
    pub fn new() -> Self {
        KernelLock {
            word: WaitWord::new(),
        }
    }

    /// Takes the lock, blocking on the futex while another thread holds it; `tag` (below 2^30)
    /// names the holder in the word while it holds it ([`KernelLock::holder`]).
    #[inline]
    pub fn lock(&self, shared: bool, tag: u32) {
        let mine = (tag << 2) | LOCKED;
        if self.word.cas(0, mine).is_ok() {
            return;
        }
        self.lock_slow(shared, mine);
    }

    /// Takes the lock if it is free; returns whether it did.
    #[cfg(not(loom))]
    #[inline]
    pub fn try_lock(&self, tag: u32) -> bool {
        self.word.cas(0, (tag << 2) | LOCKED).is_ok()
    }

    /// Takes the lock as [`KernelLock::lock`] does, but waits at most until `deadline`;
    /// returns whether it took it. (For a supervisor, which must not wait for ever on a
    /// holder that died: it looks, and takes over, between tries.)
    #[cfg(not(loom))]
    pub fn lock_until(&self, shared: bool, tag: u32, deadline: Deadline) -> bool {
        let mine = (tag << 2) | LOCKED;
        if self.word.cas(0, mine).is_ok() || self.spin_for_it(mine) {
            return true;
        }
        loop {
            let v = self.word.load();
            if v == 0 {
                if self.word.cas(0, mine | WAITERS).is_ok() {
                    return true;
                }
                continue;
            }
            if v & WAITERS == 0 && self.word.cas(v, v | WAITERS).is_err() {
                continue;
            }
            // Give up only with the word marked contended. A wait of ours that an unlock ended
            // took the one `FUTEX_WAKE` it made: should another thread have taken the lock
            // since, without the waiters bit (its first try, or its spin), leaving now without
            // the bit would leave a thread still asleep on the word unwoken by that holder's
            // unlock, and by every unlock after it until someone contends again: for ever, in a
            // system waiting for that thread. With the bit, the holder's unlock wakes it.
            if deadline.passed() {
                return false;
            }
            let _ = self.word.wait(v | WAITERS, Some(deadline), shared);
        }
    }

    /// Takes the lock over from holder `from` (a thread of a program that died holding it),
    /// as holder `to`: one compare-and-swap, so that of several programs that find the holder
    /// dead exactly one takes over. Returns whether it did (false: `from` no longer holds it).
    pub fn take_over(&self, from: u32, to: u32) -> bool {
        loop {
            let v = self.word.load();
            if v & LOCKED == 0 || v >> 2 != from {
                return false;
            }
            // (Contended from here: whoever waited on the dead holder is woken by our unlock.)
            if self.word.cas(v, (to << 2) | LOCKED | WAITERS).is_ok() {
                return true;
            }
        }
    }

    /// The holder's tag, while the lock is held.
    pub fn holder(&self) -> Option<u32> {
        let v = self.word.load();
        (v & LOCKED != 0).then_some(v >> 2)
    }

    /// A kernel call holds the lock for microseconds. Before sleeping (a futex wait, and a
    /// futex wake for the holder), spin a little in case the holder runs on another CPU, then
    /// yield a few times in case it was preempted on ours and needs the CPU to finish. Returns
    /// whether it took the lock meanwhile.
    #[cfg(not(loom))]
    fn spin_for_it(&self, mine: u32) -> bool {
        for i in 0..LOCK_SPINS + LOCK_YIELDS {
            if self.word.load() == 0 && self.word.cas(0, mine).is_ok() {
                return true;
            }
            if i < LOCK_SPINS {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        false
    }

    #[cold]
    fn lock_slow(&self, shared: bool, mine: u32) {
        #[cfg(not(loom))]
        if self.spin_for_it(mine) {
            return;
        }
        // Mark the lock contended (keeping the holder's tag), then sleep until it is free and
        // take it in the contended state: others may sleep on it too (a signal's interruption is
        // only another look at the word).
        loop {
            let v = self.word.load();
            if v == 0 {
                if self.word.cas(0, mine | WAITERS).is_ok() {
                    return;
                }
                continue;
            }
            if v & WAITERS == 0 && self.word.cas(v, v | WAITERS).is_err() {
                continue;
            }
            let _ = self.word.wait(v | WAITERS, None, shared);
        }
    }

    /// Wakes every thread asleep on the lock's word (each looks at the word again: takes the
    /// lock if it is free, else marks it contended and sleeps again). For a reaping, which
    /// passes on a wake-up a dead program took or owed.
    #[cfg(not(loom))]
    pub fn wake_sleepers(&self, shared: bool) {
        futex::wake(&self.word.value, i32::MAX as u32, shared);
    }

    /// Releases the lock, waking one waiter if the lock was contended.
    #[inline]
    pub fn unlock(&self, shared: bool) {
        if self.word.value.swap(0, Ordering::Release) & WAITERS != 0 {
            #[cfg(not(loom))]
            futex::wake(&self.word.value, 1, shared);
            #[cfg(loom)]
            {
                let _ = shared;
                emu::notify_all();
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// A supervisor's wait for the lock that gives up at its deadline leaves the word marked
    /// contended: a `FUTEX_WAKE` it may have taken from an unlock is then passed on by the
    /// holder's next unlock, not lost with it (a lost one leaves a sleeper asleep for ever).
    #[test]
    fn a_wait_for_the_lock_that_gives_up_leaves_it_marked_contended() {
        let lock = KernelLock::new();
        lock.lock(false, 7);
        assert_eq!(lock.word.load(), (7 << 2) | LOCKED);
        assert!(!lock.lock_until(false, 9, Deadline::after(Duration::ZERO)));
        assert_eq!(lock.word.load(), (7 << 2) | LOCKED | WAITERS);
        assert_eq!(lock.holder(), Some(7));
        lock.unlock(false);
        assert!(lock.lock_until(false, 9, Deadline::after(Duration::ZERO)));
        assert_eq!(lock.holder(), Some(9));
        lock.unlock(false);
        assert_eq!(lock.word.load(), 0);
    }

    /// Threads taking the lock with untimed waits, and one taking it in short timed tries (as a
    /// supervisor does), all get every turn they ask for: no sleeper is left asleep on a lock
    /// nobody holds. The untimed threads take their turns in rounds, meeting at a barrier after
    /// each, so that a lost wake-up is not hidden by a later unlock that wakes the sleeper
    /// anyway: it stops the round. Bounded: a lost wake-up fails the test instead of hanging it.
    #[test]
    fn timed_and_untimed_waiters_all_get_the_lock_with_no_wake_up_lost() {
        const THREADS: u64 = 5;
        const TURNS: u64 = 10_000;
        let lock = Arc::new(KernelLock::new());
        let count = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(std::sync::Barrier::new(THREADS as usize));
        let mut hs = Vec::new();
        for tag in 1..=THREADS {
            let (lock, count, rounds) = (lock.clone(), count.clone(), rounds.clone());
            hs.push(std::thread::spawn(move || {
                for _ in 0..TURNS {
                    lock.lock(false, tag as u32);
                    count.fetch_add(1, Ordering::Relaxed);
                    // (Held a little while, so that others sleep on it.)
                    let held = Instant::now();
                    while held.elapsed() < Duration::from_micros(20) {
                        std::hint::spin_loop();
                    }
                    lock.unlock(false);
                    rounds.wait();
                }
            }));
        }
        let timed = {
            let (lock, stop) = (lock.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut got = 0u64;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let d = Deadline::after(Duration::from_micros(10 + i % 30));
                    if lock.lock_until(false, 99, d) {
                        got += 1;
                        lock.unlock(false);
                    }
                }
                got
            })
        };
        // (Stalled: no turn taken for 10 s, where a round takes microseconds.)
        let (mut last, mut since) = (u32::MAX, Instant::now());
        while hs.iter().any(|h| !h.is_finished()) {
            let now = count.load(Ordering::Relaxed);
            if now != last {
                (last, since) = (now, Instant::now());
            }
            if since.elapsed() > Duration::from_secs(10) {
                stop.store(true, Ordering::Relaxed);
                let word = lock.word.load();
                // Free whoever sleeps, so that the process can end, then fail.
                futex::wake(&lock.word.value, u32::MAX, false);
                panic!(
                    "a thread slept on the lock for ever: word {word:#x}, {} of {} turns",
                    count.load(Ordering::Relaxed),
                    THREADS * TURNS
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
        for h in hs {
            h.join().unwrap();
        }
        timed.join().unwrap();
        assert_eq!(u64::from(count.load(Ordering::Relaxed)), THREADS * TURNS);
        assert_eq!(lock.word.load(), 0);
    }
}
