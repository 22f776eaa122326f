//! Bounded waits: for a condition, and for a simulated thread to reach a state (as
//! `thread_info` reports it) or to leave the kernel. Each polls every millisecond and gives up
//! after [`DEADLINE`] with what it last saw.

use super::{Kernel, ThreadInfo, ThreadState, DEADLINE};
use std::time::{Duration, Instant};

/// Polls `cond` until it holds or [`DEADLINE`] passes; returns whether it held. For a test
/// that must undo something before it fails.
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// Polls `cond` until it holds; fails the test after [`DEADLINE`].
pub fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    assert!(eventually(cond), "never happened: {what}");
}

/// Polls `thread_info(pid, tid)` until `pred` holds; fails the test after [`DEADLINE`] with
/// the last state seen.
pub fn wait_for(
    k: &Kernel,
    pid: i32,
    tid: i32,
    what: &str,
    pred: impl Fn(&ThreadState) -> bool,
) -> ThreadInfo {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let info = k.thread_info(pid, tid);
        if let Ok(i) = info {
            if pred(&i.state) {
                return i;
            }
        }
        if Instant::now() > deadline {
            panic!("thread {pid}/{tid} never became {what}: last seen {info:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until thread `pid`/`tid` is SEND-blocked.
pub fn wait_send_blocked(k: &Kernel, pid: i32, tid: i32) -> ThreadInfo {
    wait_for(k, pid, tid, "SEND-blocked", |s| {
        matches!(s, ThreadState::Send { .. })
    })
}

/// Waits until thread `pid`/`tid` is RECEIVE-blocked.
pub fn wait_receive_blocked(k: &Kernel, pid: i32, tid: i32) -> ThreadInfo {
    wait_for(k, pid, tid, "RECEIVE-blocked", |s| {
        matches!(s, ThreadState::Receive { .. })
    })
}

/// Waits until thread `pid`/`tid` is REPLY-blocked.
pub fn wait_reply_blocked(k: &Kernel, pid: i32, tid: i32) -> ThreadInfo {
    wait_for(k, pid, tid, "REPLY-blocked", |s| {
        matches!(s, ThreadState::Reply { .. })
    })
}

/// Waits until thread `pid`/`tid` is back out of the kernel.
pub fn wait_running(k: &Kernel, pid: i32, tid: i32) -> ThreadInfo {
    wait_for(k, pid, tid, "RUNNING", |s| {
        matches!(s, ThreadState::Running)
    })
}

/// Waits until thread `pid`/`tid` is gone from the kernel (its ThreadCtx was dropped).
pub fn wait_gone(k: &Kernel, pid: i32, tid: i32) {
    let deadline = Instant::now() + DEADLINE;
    while k.thread_info(pid, tid).is_ok() {
        assert!(
            Instant::now() < deadline,
            "thread {pid}/{tid} never left the kernel"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
