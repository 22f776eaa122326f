//! Adaptive waiting (`Config::spin_ns`): a blocked thread spins on its wait word before it
//! sleeps when, and only when, the thread expected to wake it runs on another CPU; the spin
//! ends at the wake-up, at a TimerTimeout deadline, at a signal and at a teardown, and never
//! changes what a call returns.
//!
//! The threads are pinned to CPUs (`sched_setaffinity`) so that "another CPU" and "the same
//! CPU" are what the test says; on a machine that lets the test use fewer than two CPUs, the
//! tests that need two say so and check nothing. Spins are read from the process counters
//! (`spins`, `spin_wakeups`). The time bounds below are generous on purpose: they tell a spin
//! that ended at its deadline (tens of milliseconds) from one that ran its whole budget (ten
//! seconds), not how fast anything is.

mod support;

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid as OsPid;
use std::time::{Duration, Instant};
use support::*;

/// A spin budget no wake-up in these tests waits out: 4 s (about the most a `u32` of
/// nanoseconds holds).
const LONG_SPIN_NS: u32 = 4_000_000_000;

/// The CPUs this process may run on.
fn cpus() -> Vec<usize> {
    let set = sched_getaffinity(OsPid::from_raw(0)).expect("sched_getaffinity");
    (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

/// The first two CPUs this process may run on, if there are two.
fn two_cpus() -> Option<(usize, usize)> {
    let c = cpus();
    (c.len() >= 2).then(|| (c[0], c[1]))
}

/// Pins the calling thread to `cpu`.
fn pin(cpu: usize) {
    let mut set = CpuSet::new();
    set.set(cpu).unwrap();
    sched_setaffinity(OsPid::from_raw(0), &set).unwrap();
}

/// A kernel with spin budget `spin_ns`, a server thread (the caller, pinned to `server_cpu`)
/// with a channel, and its pid.
fn setup(spin_ns: u32, server_cpu: usize) -> (Kernel, Pid, ThreadCtx, i32) {
    pin(server_cpu);
    let k = Kernel::new(Config {
        spin_ns,
        ..Config::default()
    })
    .unwrap();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    (k, p, server, chid)
}

/// `n` round trips between the server (the caller) and a client on `client_cpu`; returns the
/// process's counters over them.
fn round_trips(spin_ns: u32, server_cpu: usize, client_cpu: usize, n: u32) -> ProcCounters {
    let (k, p, server, chid) = setup(spin_ns, server_cpu);
    let before = k.process_counters(p.pid).unwrap();
    let client = spawn(&k, p, 10, move |c| {
        pin(client_cpu);
        let coid = c.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
        for i in 0..n {
            let mut r = [0u8; 4];
            arm(c, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, Some(LONG));
            assert_eq!(c.msg_send(coid, &i.to_le_bytes(), &mut r), Ok(i as i64));
            assert_eq!(r, (i + 1).to_le_bytes(), "the reply's bytes");
        }
    });
    for i in 0..n {
        let mut buf = [0u8; 4];
        arm(&server, _NTO_TIMEOUT_RECEIVE, Some(LONG));
        let rcvid = server.msg_receive(chid, &mut buf, None).unwrap();
        assert_eq!(buf, i.to_le_bytes(), "the message's bytes");
        server
            .msg_reply(rcvid, i as i64, &(i + 1).to_le_bytes())
            .unwrap();
    }
    client.join();
    k.process_counters(p.pid).unwrap().since(&before)
}

#[test]
fn waiters_spin_for_a_peer_on_another_cpu_and_the_wake_up_ends_the_spin() {
    let Some((a, b)) = two_cpus() else {
        eprintln!("one CPU only: nothing to check");
        return;
    };
    let c = round_trips(LONG_SPIN_NS, a, b, 200);
    assert_eq!((c.msgs_sent, c.replies), (200, 200));
    assert!(
        c.spins > 0,
        "a waiter spun for a peer on another CPU: {c:?}"
    );
    assert!(
        c.spin_wakeups > 0,
        "and a wake-up came while it spun (then no futex sleep): {c:?}"
    );
    assert!(c.spin_wakeups <= c.spins && c.spins <= c.blocks, "{c:?}");
}

#[test]
fn nobody_spins_for_a_peer_on_the_same_cpu() {
    let a = cpus()[0];
    let c = round_trips(LONG_SPIN_NS, a, a, 200);
    assert_eq!((c.msgs_sent, c.replies), (200, 200));
    assert_eq!(c.spins, 0, "a spin would only delay the waker: {c:?}");
}

#[test]
fn nobody_spins_when_the_budget_is_zero() {
    let Some((a, b)) = two_cpus() else {
        eprintln!("one CPU only: nothing to check");
        return;
    };
    let c = round_trips(0, a, b, 200);
    assert_eq!((c.msgs_sent, c.replies), (200, 200));
    assert_eq!((c.spins, c.spin_wakeups), (0, 0), "{c:?}");
}

/// A client REPLY-blocked on a server that holds its message: how its spin ends.
enum End {
    /// Its TimerTimeout (50 ms) expires.
    Timeout,
    /// A signal is sent to it (no `_NTO_CHF_UNBLOCK`: it leaves with EINTR).
    Signal,
    /// The server's process is destroyed.
    Teardown,
}

/// The server, a thread on one CPU, RECEIVE-blocks; then the client, on another, sends (spin
/// budget [`LONG_SPIN_NS`]): the server receives and keeps the message, running, so the
/// client is REPLY-blocked from its own MsgSend with its server running elsewhere, and spins.
/// Then `end` happens. Returns what the client's MsgSend returned, how long it took, and the
/// client process's spins.
fn spinning_client(end: End) -> Option<(Result<i64, Errno>, Duration, u64)> {
    let (a, b) = two_cpus()?;
    let k = Kernel::new(Config {
        spin_ns: LONG_SPIN_NS,
        ..Config::default()
    })
    .unwrap();
    let sp = k.process_create().unwrap();
    let cp = k.process_create().unwrap();
    let main = k.thread_attach(sp, 10).unwrap();
    let chid = main.channel_create(0).unwrap();
    let signo = install_rt_handler(3);
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let server = spawn(&k, sp, 10, move |s| {
        pin(a);
        let mut buf = [0u8; 4];
        arm(s, _NTO_TIMEOUT_RECEIVE, Some(LONG));
        let rcvid = s.msg_receive(chid, &mut buf, None).unwrap();
        // Hold the message, running (outside the kernel), until told.
        let _ = release_rx.recv_timeout(DEADLINE);
        s.msg_reply(rcvid, 0, b"")
    });
    wait_receive_blocked(&k, sp.pid, server.tid);
    let timed = matches!(end, End::Timeout);
    let client = spawn(&k, cp, 10, move |c| {
        pin(b);
        let coid = c
            .connect_attach(0, sp.pid, chid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();
        if timed {
            arm(c, _NTO_TIMEOUT_REPLY, Some(50_000_000));
        }
        let t0 = Instant::now();
        let r = c.msg_send(coid, b"hold", &mut []);
        (r, t0.elapsed())
    });
    wait_reply_blocked(&k, cp.pid, client.tid);
    match end {
        End::Timeout => {}
        End::Signal => {
            std::thread::sleep(Duration::from_millis(50));
            main.signal_kill(0, cp.pid, client.tid, signo, -1, 0)
                .unwrap();
        }
        End::Teardown => {
            std::thread::sleep(Duration::from_millis(50));
            drop(main);
            k.process_destroy(sp).unwrap();
        }
    }
    let (r, took) = client.join();
    release_tx.send(()).unwrap();
    let replied = server.join();
    // The exchange ended without the server: its late reply finds no client (or, its process
    // gone, no kernel thread to make it).
    assert_eq!(replied, Err(Errno::ESRCH));
    let spins = k.process_counters(cp.pid).unwrap().spins;
    Some((r, took, spins))
}

#[test]
fn a_timer_timeout_ends_a_spin_at_its_deadline() {
    let Some((r, took, spins)) = spinning_client(End::Timeout) else {
        eprintln!("one CPU only: nothing to check");
        return;
    };
    assert_eq!(r, Err(Errno::ETIMEDOUT));
    assert!(spins >= 1, "the client spun");
    assert!(took >= Duration::from_millis(50), "not early: {took:?}");
    assert!(
        took < Duration::from_secs(2),
        "the deadline, not the 4 s budget, ended the spin: {took:?}"
    );
}

#[test]
fn a_signal_ends_a_spin() {
    let Some((r, took, spins)) = spinning_client(End::Signal) else {
        eprintln!("one CPU only: nothing to check");
        return;
    };
    assert_eq!(r, Err(Errno::EINTR));
    assert!(spins >= 1, "the client spun");
    assert!(
        took < Duration::from_secs(2),
        "the signal, not the 4 s budget, ended the spin: {took:?}"
    );
}

#[test]
fn a_teardown_ends_a_spin() {
    let Some((r, took, spins)) = spinning_client(End::Teardown) else {
        eprintln!("one CPU only: nothing to check");
        return;
    };
    assert_eq!(r, Err(Errno::ESRCH));
    assert!(spins >= 1, "the client spun");
    assert!(
        took < Duration::from_secs(2),
        "the teardown, not the 4 s budget, ended the spin: {took:?}"
    );
}
