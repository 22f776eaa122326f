//! What the userlib tests share. Every test binary includes it with `mod support;` and
//! `use support::*;`: the timeouts (the same names and values as kernel-sim's tests), a fresh
//! kernel and processes, binding the test thread, bounded joins and waits. The asyncmsg tests'
//! own helpers are in [`asyncmsg`] (`use support::asyncmsg::*;`), the student-view tests' recorder in
//! [`views`].
//!
//! Every wait has a deadline, so a regression fails a test instead of hanging it. It names only
//! `userlib`, as a program does.
// Each test binary includes all of it and uses a part: what one binary leaves unused is not
// dead.
#![allow(dead_code, unused_imports)]

pub mod asyncmsg;
pub mod views;

use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use userlib::consts::PRIO_DEFAULT;
use userlib::{Config, Kernel, Process, ThreadState};

// ------------------------------------------------------------------ timeouts

/// Bound on calls expected to complete: generous, only there so that a bug fails the test
/// instead of hanging it (never a speed assertion).
pub const LONG: Duration = Duration::from_secs(10);

/// [`LONG`] in ns, for the calls that take ns (TimerTimeout).
pub const LONG_NS: u64 = 10_000_000_000;

/// A timeout the test expects to expire; also how long a test waits to see that something
/// does *not* happen.
pub const SHORT: Duration = Duration::from_millis(50);

/// How long a bounded join, state wait or condition wait waits before failing the test (longer
/// than [`LONG`], so a call that never completes fails on its own result first).
pub const DEADLINE: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------ kernels and processes

/// A fresh kernel: tests never share kernel state.
pub fn kernel() -> Kernel {
    Kernel::new(Config::default()).expect("default config")
}

/// A fresh process on `k`.
pub fn process(k: &Kernel) -> Process {
    Process::new_in(k).expect("process")
}

/// Ends the calling thread's binding when dropped (declare it after the processes, so it is
/// dropped before them, also when the test panics).
#[derive(Debug)]
pub struct Bound(());

impl Drop for Bound {
    fn drop(&mut self) {
        drop(userlib::current::unbind());
    }
}

/// Binds the calling (test) thread to `p`.
pub fn bind(p: &Process) -> Bound {
    p.bind_current_thread(PRIO_DEFAULT).expect("bind");
    Bound(())
}

// ------------------------------------------------------------------ threads and waits

/// Joins `h`, failing the test if it has not finished within [`DEADLINE`]; a panic in the
/// thread is re-raised here.
pub fn join<T>(h: JoinHandle<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    while !h.is_finished() {
        assert!(
            Instant::now() < deadline,
            "thread did not finish within {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    match h.join() {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Runs `f` in a new thread of `p` and returns its result (a bounded [`join`]).
pub fn run_in<T: Send + 'static>(p: &Process, f: impl FnOnce() -> T + Send + 'static) -> T {
    join(p.spawn(f).expect("spawn"))
}

/// Polls `cond` until it holds; fails the test after [`DEADLINE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until thread `tid` of `pid` is in a state `pred` accepts; fails the test after
/// [`DEADLINE`].
pub fn wait_state(k: &Kernel, pid: i32, tid: i32, pred: impl Fn(&ThreadState) -> bool) {
    wait_until(&format!("thread {pid}/{tid} to reach the state"), || {
        k.thread_info(pid, tid).is_ok_and(|i| pred(&i.state))
    });
}

/// Waits until thread `tid` of `pid` is RECEIVE-blocked on `chid`.
pub fn wait_receive_blocked(k: &Kernel, pid: i32, tid: i32, chid: i32) {
    wait_state(k, pid, tid, |s| *s == ThreadState::Receive { chid });
}

/// The calling OS thread's Linux tid.
pub fn os_tid() -> i32 {
    nix::unistd::gettid().as_raw()
}
