//! fork(): a child never hangs on its parent's kernel, and gets a fresh process of its own
//! (docs/deviations.md, "Signals" and "Processes and threads").

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use userlib::consts::*;
use userlib::qnx::*;
use userlib::{Errno, Kernel};

/// What the child checks; its exit status says which check failed (0: all held).
fn child(old: &Kernel, old_chid: i32) -> i32 {
    // The parent's kernel is not the child's: calls on it fail at once, never hang.
    if old.process_create().map(drop) != Err(Errno::ESRCH) {
        return 10;
    }
    child_fresh(old_chid)
}

fn child_fresh(old_chid: i32) -> i32 {
    // The QNX-named API gives the child a fresh default process: none of the parent's
    // channels, a working kernel.
    let mut buf = [0u8; 64];
    if timer_timeout(1, _NTO_TIMEOUT_RECEIVE, None).is_err() {
        return 11;
    }
    match msg_receive(old_chid, &mut buf, None) {
        // The parent's chid names nothing here (or a channel of the child's own, never the
        // parent's queue).
        Err(Errno::ESRCH) | Err(Errno::ETIMEDOUT) => {}
        _ => return 12,
    }
    let Ok(chid) = channel_create(0) else {
        return 13;
    };
    let Ok(coid) = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0) else {
        return 14;
    };
    if msg_send_pulse(coid, 10, 3, 33).is_err() {
        return 15;
    }
    if timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).is_err() {
        return 16;
    }
    match msg_receive(chid, &mut buf, None) {
        Ok(0) if Pulse::from_bytes(&buf).is_some_and(|p| p.code == 3) => 0,
        _ => 17,
    }
}

/// Waits for `pid` with a deadline; kills it (SIGKILL) if it overstays. Returns its exit code,
/// or None if it had to be killed.
fn wait_child(pid: libc::pid_t, deadline: Duration) -> Option<i32> {
    let t0 = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        }
        if t0.elapsed() > deadline {
            // SAFETY: plain integers; then reap it.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_child_forked_while_other_threads_are_in_the_kernel_never_hangs_and_gets_a_fresh_process() {
    // The parent's kernel, busy in other threads: kernel calls back to back, so that most
    // forks happen while one of them holds the kernel lock.
    let k = userlib::current::default_kernel().unwrap().clone();
    let chid = channel_create(0).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let coid = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
                let mut buf = [0u8; 64];
                while !stop.load(Ordering::Relaxed) {
                    msg_send_pulse(coid, 10, 1, 0).unwrap();
                    let _ = msg_receive(chid, &mut buf, None);
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for attempt in 0..40 {
        // SAFETY: the child only runs the checks above and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = child(&k, chid);
            // SAFETY: leave the child at once, without running the parent's destructors.
            unsafe { libc::_exit(code) };
        }
        match wait_child(pid, DEADLINE) {
            Some(0) => {}
            other => failures.push((attempt, other)),
        }
    }
    stop.store(true, Ordering::Relaxed);
    for b in busy {
        b.join().unwrap();
    }
    assert!(
        failures.is_empty(),
        "children that failed (None: hung and killed): {failures:?}"
    );
    // The parent's kernel is untouched by it all.
    assert!(!k.forked_away());
    let coid = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
    msg_send_pulse(coid, 10, 4, 0).unwrap();
}

/// A forked child's first QNX call lets go of the binding it inherited from the forking
/// thread: a kernel thread of its parent's. On a kernel shared by programs the child's tables
/// are the parent's own, so letting go must leave that thread alone; it ended it, and the
/// parent's next call failed with ESRCH (found by a helper writing `procmgr_daemon`).
#[cfg(not(loom))]
#[test]
fn a_forked_childs_first_call_leaves_its_parents_thread_on_a_shared_kernel() {
    let dir = std::env::temp_dir().join(format!("qnxsim-userlib-fork-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _remove = Remove(dir.clone());
    let k = Kernel::create_shared(&dir.join("kernel"), userlib::Config::default()).unwrap();
    let p = process(&k);
    let b = bind(&p);
    let chid = channel_create(0).unwrap();
    let threads = |k: &Kernel| k.snapshot().threads.len();
    let before = threads(&k);
    // SAFETY: the child makes one QNX call (on a kernel of its own: its binding is new) and
    // leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = match channel_create(0) {
            Ok(_) => 0,
            Err(_) => 20,
        };
        // SAFETY: leave the child at once, without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    assert_eq!(wait_child(pid, DEADLINE), Some(0), "the child's call");
    assert_eq!(
        threads(&k),
        before,
        "the parent's kernel thread is still there"
    );
    let again = channel_create(0).expect("the parent's next call");
    channel_destroy(again).unwrap();
    channel_destroy(chid).unwrap();
    drop(b);
    drop(p);
}
