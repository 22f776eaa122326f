//! Review of d35a197..HEAD (session 10), in-process findings: what a forked child of a Rust
//! program still does to its parent's objects in a kernel shared by programs (the fork fix of
//! c80f69f covers the binding's drop, not the caches keyed by the binding).
//!
//! Each test makes its own shared kernel in a private temporary directory (removed on every
//! exit path); every forked child only makes the call under test and leaves with `_exit`; every
//! wait is bounded, and a child that overstays is killed.
#![cfg(not(loom))]

mod support;

use std::time::{Duration, Instant};
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;
use userlib::Errno;

/// Waits for `pid` at most `within`; kills it (SIGKILL) if it overstays. Its exit code, or
/// None if it had to be killed (or did not exit normally).
fn wait_child(pid: libc::pid_t, within: Duration) -> Option<i32> {
    let t0 = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child, writing only `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        }
        if r < 0 || t0.elapsed() > within {
            // SAFETY: our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every message that arrives on `chid` until nothing more comes for a short while (each get
/// bounded).
fn drain(chid: i32) -> Vec<(u32, u32)> {
    let mut got = Vec::new();
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        match get_within(chid, Duration::from_millis(500)) {
            Ok(b) => got.extend(messages(&b).iter().map(|m| decode(&m.data))),
            Err(Errno::ETIMEDOUT) => break,
            Err(e) => panic!("asyncmsg_get: {e:?}"),
        }
    }
    got
}

/// userlib/src/asyncmsg/conn.rs `put_fast`/`with_conn`: the thread's cache of the connection
/// it last put on (`HOT`, `LAST_CONN`) is keyed by the binding's epoch, which a fork does not
/// change (`forget_forked_binding` bumps it only when the child's first call goes through
/// `with_current`, and a put on a cached connection never does). So a forked child's first
/// `asyncmsg_put` on a coid its parent's thread last put on takes the parent's connection from
/// the cache and pushes into its queue: in a shared kernel that queue is in the region, the
/// parent's own, and the message is delivered to the parent's server as the parent's. On QNX
/// a forked child has none of its parent's connections (EBADF). (A Rust program's child; in C
/// every libqnxsim entry point binds the thread first, `capi` `own_work`, which bumps the
/// epoch in a child: a `procmgr_daemon` daemon's `asyncmsg_put` is not affected.)
#[test]
fn a_forked_childs_asyncmsg_put_does_not_reach_its_parents_connection() {
    let sk = shared_kernel(256);
    let p = process(&sk.k);
    let _b = bind(&p);
    let a = attr(2, Duration::from_secs(3600), 16);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 16, None, None).expect("channel");
    let coid = connect(0, chid, 0, &a);
    // The parent's thread puts once: its cache now names this connection.
    asyncmsg_put(coid, encode(1, 1), 1, None).expect("the parent's first put");
    let child_msg = encode(2, 1);
    // SAFETY: the child makes one put and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = match asyncmsg_put(coid, child_msg, 2, None) {
            Ok(()) => 0,
            Err(e) => e.errno.0.clamp(1, 200),
        };
        // SAFETY: leaves the child at once, running none of the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let child = wait_child(pid, Duration::from_secs(20));
    // The parent's second put reaches the count trigger (2): the kernel takes the queue.
    asyncmsg_put(coid, encode(1, 2), 3, None).expect("the parent's second put");
    let got = drain(chid);
    let _ = asyncmsg_connect_detach(coid);
    let _ = asyncmsg_channel_destroy(chid);
    assert!(
        child != Some(0) && !got.contains(&(2, 1)),
        "the child's put on its parent's coid returned {} (0: success), and the parent's \
         server received {got:?} ((2, 1) is the child's message)",
        child.map_or("nothing (killed)".to_string(), |c| c.to_string())
    );
}
