//! Review of the kernel lock's liveness when a program dies next to it (after c6fbf38, the
//! lost wake-up of a timed try): the lock's `FUTEX_WAKE` is a single token, and a program that
//! dies while it holds that token loses it for good.
//!
//! A program admitted by a supervisor (`Kernel::open_fd`) waits for the kernel lock untimed
//! (`KernelLock::lock`): it relies on the next unlock of a contended lock to wake it. Two
//! places let a program die with that wake-up in hand, and neither the supervisor's reaping
//! (`Kernel::reap_os_process`, which finds the lock free and takes it with its first
//! compare-and-swap, without the waiters bit) nor anything else passes it on:
//!
//! * the holder is killed between `unlock`'s swap (the word is 0, the waiters bit read) and its
//!   `FUTEX_WAKE`;
//! * a waiter is killed after the `FUTEX_WAKE` of an unlock picked it and before it took the
//!   lock (in the contended state, so that its own unlock would have woken the next).
//!
//! Either way a thread of another program stays asleep on a free lock until someone contends
//! again, which in a system waiting for that thread is never. Each test plays the dying
//! program's part of the lock protocol in a child process with the same atomic operations and
//! futex calls as `wait.rs` (so that its death lands exactly in the window), and the sleeper is
//! a real kernel call of a supervised program's handle in this process; then it reaps the child
//! as a supervisor does when its pidfd says the program ended, and expects the sleeper to get
//! the lock. Bounded: a sleeper still asleep after the reaping is woken by the test (so the
//! process can end), and the test fails.
#![cfg(not(loom))]

mod support;

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::*;

/// The lock word's bits (kernel-sim/src/wait.rs).
const LOCKED: u32 = 1;
const WAITERS: u32 = 2;

/// How long each step may take, and how long the sleeper may take to get the lock after the
/// reaping (it is woken at once when it is woken at all).
const STEP: Duration = Duration::from_secs(10);
const AFTER_REAP: Duration = Duration::from_secs(5);

#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "dying-unlocker" => dying_unlocker(&arg),
        "dying-waiter" => dying_waiter(&arg),
        other => panic!("unknown role {other}"),
    }
}

// ------------------------------------------------------------------ the region, mapped raw

/// A shared mapping of the kernel file, to reach the lock's word as the kernel does.
struct Mapped {
    base: *mut u8,
    len: usize,
}

impl Mapped {
    fn new(path: &Path) -> Mapped {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .expect("the kernel file");
        let len = f.metadata().expect("its size").len() as usize;
        // SAFETY: a new shared mapping of a file we opened; checked below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED, "mmap");
        Mapped {
            base: base.cast(),
            len,
        }
    }

    fn u64_at(&self, off: usize) -> u64 {
        assert!(off + 8 <= self.len);
        // SAFETY: inside the mapping (checked), 8-aligned by the callers.
        unsafe { std::ptr::read_volatile(self.base.add(off) as *const u64) }
    }

    /// The offset of the kernel lock in the region: the header's `Offsets` start with the
    /// lock's and the wait words', which `layout` places 64 bytes apart (a 64-aligned
    /// `KernelLock`, then the 64-aligned `[WaitWord]`), just past the header. (Checked by each
    /// test against `Kernel::lock_owner` before it relies on it.)
    fn find_lock(&self) -> usize {
        (0..8192usize)
            .step_by(8)
            .find(|&p| {
                let a = self.u64_at(p);
                a.is_multiple_of(64) && a as usize > p && a < 65536 && self.u64_at(p + 8) == a + 64
            })
            .map(|p| self.u64_at(p) as usize)
            .expect("the lock's offset in the region header")
    }

    /// The lock's futex word and its sleepers' count (a `WaitWord`), at `off`.
    fn lock(&self, off: usize) -> (&AtomicU32, &AtomicU32) {
        assert!(off + 8 <= self.len && off.is_multiple_of(8));
        // SAFETY: an aligned, in-bounds pair of 32-bit atomics in the shared mapping, which
        // lives as long as `self`.
        unsafe {
            (
                &*(self.base.add(off) as *const AtomicU32),
                &*(self.base.add(off + 4) as *const AtomicU32),
            )
        }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: our own mapping, no longer used.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// `FUTEX_WAIT` (process-shared, as a shared kernel's lock waits) while `*w == v`.
fn futex_wait(w: &AtomicU32, v: u32) {
    // SAFETY: a live aligned word; no timeout.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            w.as_ptr(),
            libc::FUTEX_WAIT,
            v,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

/// `FUTEX_WAKE` (process-shared) of up to `n` sleepers on `w`.
fn futex_wake(w: &AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key.
    unsafe {
        libc::syscall(libc::SYS_futex, w.as_ptr(), libc::FUTEX_WAKE, n);
    }
}

fn gettid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Whether Linux thread `tid` of process `pid` is asleep in a futex call, on address `addr`
/// if given (`None`: its `/proc` entry cannot be read here, so the caller waits a while
/// instead).
fn in_futex(pid: i32, tid: i32, addr: Option<usize>) -> Option<bool> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok()?;
    let mut it = s.split_whitespace();
    let nr = it.next()?;
    let a0 = it.next()?;
    Some(nr == libc::SYS_futex.to_string() && addr.is_none_or(|a| a0 == format!("{a:#x}")))
}

/// Waits until `tid` of `pid` sleeps in a futex call (on `addr`, if given), and `sleepers`
/// counts at least `asleep` (or, `/proc` unreadable, 300 ms).
fn until_in_futex(
    pid: i32,
    tid: i32,
    addr: Option<usize>,
    sleepers: &AtomicU32,
    asleep: u32,
    what: &str,
) {
    let until = Instant::now() + STEP;
    loop {
        match in_futex(pid, tid, addr) {
            None => {
                std::thread::sleep(Duration::from_millis(300));
                return;
            }
            Some(true) if sleepers.load(Ordering::SeqCst) >= asleep => return,
            Some(_) => {}
        }
        assert!(Instant::now() < until, "{what} never slept on the lock");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A kernel handle as a program admitted by a supervisor has it (`supervisor::attach` ends in
/// `Kernel::open_fd`): its waits for the lock are untimed.
fn supervised_handle(path: &Path) -> Kernel {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("the kernel file");
    Kernel::open_fd(OwnedFd::from(f)).expect("open_fd")
}

/// A thread of this program making a kernel call (a snapshot) through `ku`: it sends its Linux
/// tid, then whether the call returned.
fn sleeper(ku: &Kernel) -> (std::thread::JoinHandle<()>, i32, mpsc::Receiver<()>) {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let ku = ku.clone();
    let h = std::thread::spawn(move || {
        tid_tx.send(gettid()).unwrap();
        let _ = ku.snapshot();
        let _ = done_tx.send(());
    });
    let tid = tid_rx.recv_timeout(STEP).expect("the sleeper's tid");
    (h, tid, done_rx)
}

/// Reaps `pid` as `Supervisor::reap` does, then gives the sleeper [`AFTER_REAP`] to get the
/// lock; if it does not, wakes everyone asleep on the word (so that the process can end) and
/// fails.
fn reap_then_expect_the_sleeper(
    k: &Kernel,
    pid: i32,
    word: &AtomicU32,
    sleepers: &AtomicU32,
    sleeper: std::thread::JoinHandle<()>,
    done: mpsc::Receiver<()>,
    window: &str,
) {
    let recovery = k.recover_dead_lock_holder(pid);
    assert_eq!(
        recovery,
        kernel_sim::Recovery::NotHeld,
        "(the lock was left free)"
    );
    assert_eq!(k.reap_os_process(pid), 1, "the dead program's process");
    if done.recv_timeout(AFTER_REAP).is_ok() {
        sleeper.join().unwrap();
        return;
    }
    let (w, s) = (word.load(Ordering::SeqCst), sleepers.load(Ordering::SeqCst));
    futex_wake(word, i32::MAX);
    let freed = done.recv_timeout(STEP).is_ok();
    if freed {
        sleeper.join().unwrap();
    }
    panic!(
        "a program killed {window} left a thread of another program asleep on the free kernel \
         lock, and the reaping did not wake it: word {w:#x}, {s} counted asleep (a dead \
         waiter stays counted), {AFTER_REAP:?} after the reaping (woken by the test: {freed})"
    );
}

// ------------------------------------------------------------------ the holder dies

/// The child: a program on the kernel at "PATH|OFFSET" that takes the kernel lock (as
/// `KernelLock::lock`'s first compare-and-swap does, with its pid as the tag), says so, and on
/// the parent's word releases it as `KernelLock::unlock` does, the swap first, and dies before
/// the `FUTEX_WAKE` that the waiters bit it read asks for.
fn dying_unlocker(arg: &str) {
    let (path, off) = arg.split_once('|').expect("PATH|OFFSET");
    let path = Path::new(path);
    let off: usize = off.parse().expect("the offset");
    let k = Kernel::open_shared(path).expect("open_shared");
    let _p = k.process_attach_self().expect("process_attach_self");
    let from_parent = lines_from_parent();
    let m = Mapped::new(path);
    let (word, _) = m.lock(off);
    let mine = ((std::process::id()) << 2) | LOCKED;
    while word
        .compare_exchange(0, mine, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    tell_parent("holding");
    let said = from_parent
        .recv_timeout(STEP * 3)
        .expect("the parent's word");
    assert_eq!(said, "release");
    let was = word.swap(0, Ordering::Release);
    // (Killed here: `was` has the waiters bit, and the wake-up it asks for is never made.)
    let code = if was & WAITERS != 0 { 0 } else { 3 };
    // SAFETY: ends the program at once, as SIGKILL would, with nothing run after it.
    unsafe { libc::_exit(code) };
}

/// A program killed between releasing the kernel lock (the swap that frees the word) and the
/// `FUTEX_WAKE` its waiters bit asks for strands no sleeper: once the supervisor has reaped it,
/// a thread of another (supervised) program asleep on the lock gets it.
#[test]
fn a_holder_killed_between_its_unlock_and_its_wake_up_strands_no_sleeper_on_the_lock() {
    let dir = TempDir::new("review-dying-unlocker");
    let path = dir.join("kernel");
    // (The reaper's handle, as the supervisor's; and a supervised program's, for the sleeper.)
    let k = Kernel::create_shared(&path, Config::default()).expect("create_shared");
    let ku = supervised_handle(&path);
    let m = Mapped::new(&path);
    let off = m.find_lock();
    let (word, sleepers) = m.lock(off);

    let child = Child::spawn_talking("dying-unlocker", &format!("{}|{off}", path.display()), &[]);
    assert_eq!(child.line(STEP), "holding");
    let cpid = child.pid();
    assert_eq!(
        ku.lock_owner(),
        Some(cpid),
        "the word at {off:#x} is the kernel lock's"
    );

    // Our thread waits for the lock (untimed, as a supervised program's): it marks the lock
    // contended and sleeps.
    let (sleeper, tid, done) = sleeper(&ku);
    // (Its futex address is in its own handle's mapping of the region, not ours.)
    until_in_futex(
        std::process::id() as i32,
        tid,
        None,
        sleepers,
        1,
        "our thread",
    );
    assert_ne!(word.load(Ordering::SeqCst) & WAITERS, 0, "marked contended");
    assert_eq!(
        sleepers.load(Ordering::SeqCst),
        1,
        "one thread asleep on the lock"
    );

    child.say("release");
    let st = child.wait(STEP);
    assert_eq!(
        st.code(),
        Some(0),
        "the child saw the waiters bit as it released"
    );
    assert!(done.try_recv().is_err(), "(nobody woke our thread)");
    reap_then_expect_the_sleeper(
        &k,
        cpid,
        word,
        sleepers,
        sleeper,
        done,
        "between its unlock and its wake-up",
    );
}

// ------------------------------------------------------------------ a woken waiter dies

/// The child: a program on the kernel at "PATH|OFFSET" that, on the parent's word, waits for
/// the held kernel lock as `KernelLock::lock_slow` does (the waiters bit set keeping the
/// holder's tag, counted in the word's sleepers, a futex wait on the contended value), and dies
/// as soon as its wait ends: killed after the `FUTEX_WAKE` of an unlock picked it, before it
/// took the lock.
fn dying_waiter(arg: &str) {
    let (path, off) = arg.split_once('|').expect("PATH|OFFSET");
    let path = Path::new(path);
    let off: usize = off.parse().expect("the offset");
    let k = Kernel::open_shared(path).expect("open_shared");
    let _p = k.process_attach_self().expect("process_attach_self");
    let from_parent = lines_from_parent();
    let m = Mapped::new(path);
    let (word, sleepers) = m.lock(off);
    tell_parent(&format!(
        "attached {} {:#x}",
        gettid(),
        word.as_ptr() as usize
    ));
    let said = from_parent
        .recv_timeout(STEP * 3)
        .expect("the parent's word");
    assert_eq!(said, "wait");
    let v = loop {
        let v = word.load(Ordering::Relaxed);
        assert_ne!(v, 0, "the parent holds the lock");
        if v & WAITERS != 0
            || word
                .compare_exchange(v, v | WAITERS, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            break v | WAITERS;
        }
    };
    sleepers.fetch_add(1, Ordering::AcqRel);
    std::sync::atomic::fence(Ordering::SeqCst);
    futex_wait(word, v);
    // (Killed here: the unlock's one wake-up was ours.)
    // SAFETY: ends the program at once, as SIGKILL would, with nothing run after it.
    unsafe { libc::_exit(0) };
}

/// A program killed after an unlock's `FUTEX_WAKE` picked its thread, before that thread took
/// the kernel lock, strands no other sleeper: once the supervisor has reaped it, a thread of
/// another (supervised) program that slept on the lock behind it gets it.
#[test]
fn a_waiter_killed_between_its_wake_up_and_taking_the_lock_strands_no_sleeper_behind_it() {
    let dir = TempDir::new("review-dying-waiter");
    let path = dir.join("kernel");
    let k = Kernel::create_shared(&path, Config::default()).expect("create_shared");
    let ku = supervised_handle(&path);
    let m = Mapped::new(&path);
    let off = m.find_lock();
    let (word, sleepers) = m.lock(off);

    let child = Child::spawn_talking("dying-waiter", &format!("{}|{off}", path.display()), &[]);
    let line = child.line(STEP);
    let (ctid, caddr) = line
        .strip_prefix("attached ")
        .and_then(|s| s.split_once(' '))
        .and_then(|(t, a)| {
            Some((
                t.parse::<i32>().ok()?,
                usize::from_str_radix(a.trim_start_matches("0x"), 16).ok()?,
            ))
        })
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let cpid = child.pid();

    // We hold the lock, as `KernelLock::lock` takes it, with our pid as the tag.
    let me = std::process::id();
    let mine = (me << 2) | LOCKED;
    let until = Instant::now() + STEP;
    while word
        .compare_exchange(0, mine, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        assert!(Instant::now() < until, "the lock stays held");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        k.lock_owner(),
        Some(me as i32),
        "the word at {off:#x} is the kernel lock's"
    );

    // The child's thread sleeps on it first, then ours (futex waiters of one priority are
    // woken first come, first served).
    child.say("wait");
    until_in_futex(cpid, ctid, Some(caddr), sleepers, 1, "the child's thread");
    let (sleeper, tid, done) = sleeper(&ku);
    until_in_futex(me as i32, tid, None, sleepers, 2, "our thread");
    assert_eq!(
        sleepers.load(Ordering::SeqCst),
        2,
        "two threads asleep on the lock"
    );

    // Our unlock, as `KernelLock::unlock` makes it: its one wake-up goes to the child's
    // thread, which dies with it.
    let was = word.swap(0, Ordering::Release);
    assert_ne!(was & WAITERS, 0, "contended");
    futex_wake(word, 1);
    let st = child.wait(STEP);
    assert_eq!(st.code(), Some(0), "the child's thread was the one woken");
    assert!(done.try_recv().is_err(), "(nobody woke our thread)");
    reap_then_expect_the_sleeper(
        &k,
        cpid,
        word,
        sleepers,
        sleeper,
        done,
        "between its wake-up and taking the lock",
    );
}
