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

// ------------------------------------------------------------ SEND-blocked on a busy server

/// A server process with a channel and a server thread on CPU `a` that, if `held`, receives
/// one message first; then stays busy, running outside the kernel, until `release` says;
/// then replies to the held message with status 1 and receives and answers `more` messages,
/// the i-th with status `2 + i` (the first byte of each message received is returned, in
/// order). Returns the kernel (spin budget `spin_ns`), the server process, the client
/// process, the channel, the release and the server.
#[allow(clippy::type_complexity)]
fn busy_server(
    spin_ns: u32,
    a: usize,
    held: bool,
    more: u32,
) -> (
    Kernel,
    Pid,
    Pid,
    i32,
    std::sync::mpsc::Sender<()>,
    Bg<Vec<u8>>,
) {
    let k = Kernel::new(Config {
        spin_ns,
        ..Config::default()
    })
    .unwrap();
    let sp = k.process_create().unwrap();
    let cp = k.process_create().unwrap();
    let (chid_tx, chid_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let server = spawn(&k, sp, 10, move |s| {
        pin(a);
        let chid = s.channel_create(0).unwrap();
        chid_tx.send(chid).unwrap();
        let mut buf = [0u8; 4];
        let first = held.then(|| {
            arm(s, _NTO_TIMEOUT_RECEIVE, Some(LONG));
            s.msg_receive(chid, &mut buf, None).unwrap()
        });
        // Busy: running, outside the kernel, until told.
        let _ = release_rx.recv_timeout(DEADLINE);
        if let Some(first) = first {
            s.msg_reply(first, 1, b"").unwrap();
        }
        let mut order = Vec::new();
        for i in 0..more {
            arm(s, _NTO_TIMEOUT_RECEIVE, Some(LONG));
            let r = s.msg_receive(chid, &mut buf, None).unwrap();
            order.push(buf[0]);
            s.msg_reply(r, 2 + i64::from(i), b"").unwrap();
        }
        order
    });
    let chid = chid_rx.recv_timeout(DEADLINE).unwrap();
    (k, sp, cp, chid, release_tx, server)
}

/// A client of `cp` on CPU `cpu` at `prio` sending `[byte]` on `chid` of `sp` (bounded by
/// [`LONG`]).
fn client_on(
    k: &Kernel,
    sp: Pid,
    cp: Pid,
    chid: i32,
    cpu: usize,
    prio: i16,
    byte: u8,
) -> Bg<KResult<i64>> {
    spawn(k, cp, prio, move |c| {
        pin(cpu);
        let coid = c
            .connect_attach(0, sp.pid, chid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();
        arm(c, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, Some(LONG));
        c.msg_send(coid, &[byte], &mut [])
    })
}

#[test]
fn a_client_that_finds_its_server_busy_on_another_cpu_spins_until_received_and_answered() {
    let Some((a, b)) = two_cpus() else {
        eprintln!("one CPU only: nothing to check");
        return;
    };
    let (k, sp, cp, chid, release, server) = busy_server(LONG_SPIN_NS, a, true, 1);
    // The first client shares the server's CPU (so it does not spin): received and held.
    let first = client_on(&k, sp, cp, chid, a, 10, 1);
    wait_reply_blocked(&k, cp.pid, first.tid);
    let before = k.process_counters(cp.pid).unwrap();
    let second = client_on(&k, sp, cp, chid, b, 10, 2);
    wait_send_blocked(&k, cp.pid, second.tid);
    let spun = k.process_counters(cp.pid).unwrap().since(&before);
    assert_eq!(
        spun.spins, 1,
        "the SEND-blocked client spun for the server that last received, running elsewhere: {spun:?}"
    );
    release.send(()).unwrap();
    assert_eq!(first.join(), Ok(1));
    assert_eq!(
        second.join(),
        Ok(2),
        "received, then answered, while it spun"
    );
    assert_eq!(server.join(), vec![2]);
    let c = k.process_counters(cp.pid).unwrap().since(&before);
    assert_eq!(
        c.spin_wakeups, 1,
        "its reply came within the 4 s budget: no futex sleep: {c:?}"
    );
}

#[test]
fn a_client_of_a_channel_nobody_has_received_on_does_not_spin() {
    let Some((a, b)) = two_cpus() else {
        eprintln!("one CPU only: nothing to check");
        return;
    };
    // The server thread is busy on another CPU but has never received: the kernel does not
    // know who will, so the client sleeps.
    let (k, sp, cp, chid, release, server) = busy_server(LONG_SPIN_NS, a, false, 1);
    let before = k.process_counters(cp.pid).unwrap();
    let client = client_on(&k, sp, cp, chid, b, 10, 1);
    wait_send_blocked(&k, cp.pid, client.tid);
    release.send(()).unwrap();
    assert_eq!(client.join(), Ok(2));
    assert_eq!(server.join(), vec![1]);
    let c = k.process_counters(cp.pid).unwrap().since(&before);
    assert_eq!(c.spins, 0, "{c:?}");
}

#[test]
fn spinning_send_blocked_clients_are_still_received_in_priority_order() {
    let Some((a, b)) = two_cpus() else {
        eprintln!("one CPU only: nothing to check");
        return;
    };
    // A budget of 20 ms: the low-priority client, first on CPU b, spins a while (the
    // high-priority one waits for the CPU or is sent meanwhile), then sleeps.
    let (k, sp, cp, chid, release, server) = busy_server(20_000_000, a, true, 2);
    let first = client_on(&k, sp, cp, chid, a, 10, 1);
    wait_reply_blocked(&k, cp.pid, first.tid);
    let low = client_on(&k, sp, cp, chid, b, 10, 10);
    wait_send_blocked(&k, cp.pid, low.tid);
    let high = client_on(&k, sp, cp, chid, b, 20, 20);
    wait_send_blocked(&k, cp.pid, high.tid);
    release.send(()).unwrap();
    assert_eq!(first.join(), Ok(1));
    assert_eq!(
        server.join(),
        vec![20, 10],
        "the higher priority first, as QNX queues"
    );
    assert_eq!(high.join(), Ok(2));
    assert_eq!(low.join(), Ok(3));
    let c = k.process_counters(cp.pid).unwrap();
    assert!(c.spins >= 1, "a SEND-blocked client spun: {c:?}");
}
