//! Review of 7879a7b (a forked child's asyncmsg send buffers are private copies: the fork
//! handlers of userlib/src/asyncmsg/heap.rs, `mod forked`), fixed since: a signal whose handler
//! forks, arriving at the end of a fork or inside the heap's part of it, no longer hangs the
//! program (kernel-sim's registry is released before the signal mask is restored, and the
//! heap's copies run as hooks inside kernel-sim's fork handling); a fork while another thread
//! drops a shared kernel no longer copies unmapped memory (the heap's table changes only where
//! no fork is under way). (Its first finding, that the child's copy of a buffer is taken just
//! before the fork rather than at it, stays: docs/deviations.md.)
//!
//! Each scenario that may hang or crash runs in a child process (this binary re-run in a role,
//! bounded and killed on every exit path; kernel-sim's tests/support/procs.rs); every forked
//! child only reads or writes memory and leaves with `_exit`; every wait is bounded.
#![cfg(not(loom))]

#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;
mod support;

use procs::{child_role, child_setup, tell_parent, Child};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;

/// A region send buffer of `len` bytes of the bound process's heap.
fn region_buffer(len: usize) -> SharedBuf {
    let b = asyncmsg_malloc_shared(len).expect("asyncmsg_malloc_shared");
    assert!(
        b.in_region(),
        "a shared kernel's send buffer is in its region"
    );
    b
}

// ------------------------------------------------------------------ finding 2

/// Set to have the test's own fork handler raise SIGUSR1 once (the next fork only).
static ARM: AtomicBool = AtomicBool::new(false);

/// SIGUSR1's handler: a fork (its child leaves at once), then a wait for it.
extern "C" fn fork_in_handler(_sig: libc::c_int) {
    // SAFETY: fork and waitpid are system calls; the child only leaves with _exit.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            libc::_exit(0);
        }
        if pid > 0 {
            while libc::waitpid(pid, std::ptr::null_mut(), 0) < 0
                && *libc::__errno_location() == libc::EINTR
            {}
        }
    }
}

/// A fork handler of the test's: raises SIGUSR1 at the calling thread, once, when armed: a
/// signal that arrives at this point of a fork.
extern "C" fn raise_once() {
    if ARM.swap(false, Ordering::AcqRel) {
        // SAFETY: a signal to the calling thread.
        unsafe {
            libc::syscall(
                libc::SYS_tgkill,
                libc::getpid(),
                libc::gettid(),
                libc::SIGUSR1,
            );
        }
    }
}

fn install_forking_handler() {
    // SAFETY: installs a handler (through the kernel crate's `sigaction`, as a program's would).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = fork_in_handler as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

/// One armed fork of the calling thread (its child leaves at once), watched: tells the parent
/// `done`, or `stuck STATE` (the thread's state letter: R is spinning or yielding) if the fork
/// has not returned within 8 s, and leaves.
fn armed_fork() {
    let tid = os_tid();
    let done = Arc::new(AtomicBool::new(false));
    {
        let done = done.clone();
        std::thread::spawn(move || {
            let since = Instant::now();
            while !done.load(Ordering::Acquire) {
                if since.elapsed() > Duration::from_secs(8) {
                    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
                        .unwrap_or_default();
                    let state = stat
                        .rsplit_once(')')
                        .and_then(|(_, r)| r.trim_start().chars().next())
                        .unwrap_or('?');
                    tell_parent(&format!("stuck {state}"));
                    // SAFETY: leaving a process whose forking thread cannot go on.
                    unsafe { libc::_exit(0) };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }
    ARM.store(true, Ordering::Release);
    // SAFETY: the child leaves with _exit at once.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: as above.
        unsafe { libc::_exit(0) };
    }
    assert!(pid > 0, "fork failed");
    // SAFETY: waits for our own child.
    while unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) } < 0 {}
    done.store(true, Ordering::Release);
    tell_parent("done");
}

/// Role `pending-signal`: a signal arrives while kernel-sim's `prepare` has every signal
/// blocked (the test's handler, registered before the first kernel, runs after kernel-sim's
/// `prepare` and raises it there), so it is delivered when kernel-sim's `parent` restores the
/// mask.
fn pending_signal() {
    // SAFETY: registers plain functions that live for the whole program.
    unsafe { libc::pthread_atfork(Some(raise_once), None, None) };
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    install_forking_handler();
    armed_fork();
}

/// Role `heap-window` (`with-heap` or `without-heap`): a signal arrives after kernel-sim's
/// `parent` (its registry released, the mask restored) and before the heap's `parent` (the
/// test's handler, registered between the two, raises it there).
fn heap_window(arg: &str) {
    let sk = shared_kernel(1024);
    let p = process(&sk.k);
    let _b = bind(&p);
    // SAFETY: registers plain functions that live for the whole program.
    unsafe { libc::pthread_atfork(None, Some(raise_once), None) };
    // (The first block registers the heap's handlers, after the test's.)
    let _buf = (arg == "with-heap").then(|| region_buffer(4096));
    install_forking_handler();
    armed_fork();
}

fn run_role(role: &str, arg: &str) -> String {
    let child = Child::spawn(role, arg);
    match child.line_within(DEADLINE) {
        // (One that answered ends by itself, removing its kernel's directory on the way.)
        Some(line) if line == "done" => {
            child.wait(DEADLINE);
            line
        }
        line => {
            let _ = child.kill();
            line.unwrap_or_else(|| "no answer".into())
        }
    }
}

/// Finding 2 (kernel-sim/src/fork.rs, before these commits): kernel-sim's `parent` and `child`
/// (`unlock_all`) restore the forking thread's signal mask *before* releasing the registry's
/// spin flag. A signal that arrived during the fork (blocked by `prepare`) is delivered at
/// that restore; a handler that forks (async-signal-safe up to POSIX.1-2017) then spins for
/// ever in `prepare`'s `acquire`, on the flag its own thread holds. Deterministic: any signal
/// that arrives while a fork is under way.
#[test]
fn a_signal_pending_at_the_end_of_a_fork_whose_handler_forks_does_not_hang() {
    let got = run_role("pending-signal", "");
    assert_eq!(
        got, "done",
        "the handler's fork spun for ever on kernel-sim's fork registry flag (R: spinning)"
    );
}

/// Finding 3: the heap's `prepare` and `parent` run with signals unblocked (before kernel-sim's
/// `prepare` blocks them, after its `parent` restores them) and hold `BUSY`, a spin flag,
/// from one to the other: a signal whose handler forks, arriving in that window, spins for
/// ever on `BUSY`, held by the very thread it interrupted. The same program without send
/// buffers (no heap handlers) gets through, so the hang is the heap's.
#[test]
fn a_fork_from_a_signal_handler_during_the_heaps_fork_window_does_not_hang() {
    let baseline = run_role("heap-window", "without-heap");
    assert_eq!(
        baseline, "done",
        "without send buffers the scenario itself hangs"
    );
    let got = run_role("heap-window", "with-heap");
    assert_eq!(
        got, "done",
        "with send buffers, a fork from a signal handler hung the program (R: spinning on the \
         heap's BUSY flag, which the interrupted fork holds until the heap's `parent`)"
    );
}

// ------------------------------------------------------------------ finding 4

/// Role `unmap-race`: one thread makes a shared kernel, fills four 1 MiB send buffers and lets
/// everything go (the heap forgets its blocks, the kernel's mapping is unmapped), over and
/// over; the main thread forks meanwhile (its children leave at once). Tells the parent how
/// many forks and kernels it got through in 4 s.
fn unmap_race() {
    let stop = Arc::new(AtomicBool::new(false));
    let kernels = Arc::new(AtomicU64::new(0));
    let churn = {
        let (stop, kernels) = (stop.clone(), kernels.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let sk = shared_kernel(4096);
                let p = process(&sk.k);
                let b = bind(&p);
                let bufs: Vec<SharedBuf> = (0..4)
                    .map(|_| {
                        let mut x = region_buffer(1024 * 1024);
                        x.fill(1);
                        x
                    })
                    .collect();
                drop(bufs);
                drop(b);
                drop(p);
                drop(sk);
                kernels.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let start = Instant::now();
    let mut forks = 0;
    while start.elapsed() < Duration::from_secs(4) {
        // SAFETY: the child leaves with _exit at once.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: as above.
            unsafe { libc::_exit(0) };
        }
        assert!(pid > 0, "fork failed");
        // SAFETY: waits for our own child.
        while unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) } < 0 {}
        forks += 1;
    }
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    tell_parent(&format!(
        "survived {forks} forks, {} kernels",
        kernels.load(Ordering::Relaxed)
    ));
}

/// Finding 4: `prepare` reads a block's entry and then copies the block, with nothing keeping
/// the block's mapping alive meanwhile: `forked::remove` only clears the entry, so a thread
/// that drops a heap and its kernel (the region unmapped) while another thread's `prepare` is
/// copying one of its blocks makes that copy read unmapped memory: the program dies of SIGSEGV
/// in `fork()`. (Its SAFETY comment, "held by the heap until it is forgotten here first",
/// covers a `prepare` that reads the entry after the removal, not one already copying.)
#[test]
fn a_fork_while_another_thread_drops_a_shared_kernel_does_not_crash() {
    use std::os::unix::process::ExitStatusExt;
    let child = Child::spawn("unmap-race", "");
    let line = child.line_within(DEADLINE);
    let st = child.wait(DEADLINE);
    assert_eq!(
        st.signal(),
        None,
        "the program died of signal {:?} (11 is SIGSEGV) forking while a kernel was dropped",
        st.signal()
    );
    assert!(line.is_some_and(|l| l.starts_with("survived")));
}

// ------------------------------------------------------------------ children

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, _arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "pending-signal" => pending_signal(),
        "heap-window" => heap_window(&_arg),
        "unmap-race" => unmap_race(),
        other => panic!("unknown role {other}"),
    }
}
