//! Kernel timeouts: TimerTimeout / timer_timeout (QNX: TimerTimeout).

mod support;

use std::time::{Duration, Instant};
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;

/// A client thread of `w` that arms (clock, flags, ntime) and sends on a coid of its own;
/// returns the send's result and the time it took. (Not [`World::sender_with`]: these tests
/// choose the clock and time the call.)
fn timed_client(
    w: &World,
    clock: i32,
    flags: u32,
    ntime: Option<u64>,
) -> Bg<(KResult<i64>, Duration)> {
    let (srv_pid, chid) = (w.srv.pid, w.chid);
    spawn(&w.k, w.cli, 10, move |c| {
        let coid = c.connect_attach(0, srv_pid, chid, SIDE, 0).unwrap();
        let mut r = [0u8; 4];
        // (The deadline is taken from the clock inside the arm: start timing before.)
        let t0 = Instant::now();
        c.timer_timeout(clock, flags, ntime).unwrap();
        let st = c.msg_send(coid, b"req", &mut r);
        let el = t0.elapsed();
        c.connect_detach(coid).unwrap();
        (st, el)
    })
}

// ------------------------------------------------------------------ RECEIVE state, both clocks

#[test]
fn receive_times_out_after_a_relative_monotonic_timeout() {
    let w = one();
    let mut b = [0u8; 32];
    let t0 = Instant::now();
    w.t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(SHORT))
        .unwrap();
    assert_eq!(w.t.msg_receive(w.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    assert!(t0.elapsed() >= Duration::from_nanos(SHORT), "not early");
    assert_eq!(
        w.k.thread_info(w.p.pid, w.t.tid()).unwrap().state,
        ThreadState::Running
    );
    w.round_trip();
    w.finish();
}

#[test]
fn receive_times_out_after_a_relative_realtime_timeout() {
    let w = one();
    let mut b = [0u8; 32];
    let t0 = now_ns(CLOCK_REALTIME);
    w.t.timer_timeout(CLOCK_REALTIME, _NTO_TIMEOUT_RECEIVE, Some(SHORT))
        .unwrap();
    assert_eq!(w.t.msg_receive(w.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    assert!(now_ns(CLOCK_REALTIME) >= t0 + SHORT, "not early");
    w.finish();
}

#[test]
fn receive_times_out_at_an_absolute_deadline_on_either_clock() {
    let w = one();
    let mut b = [0u8; 32];
    for clock in [CLOCK_MONOTONIC, CLOCK_REALTIME] {
        let deadline = now_ns(clock) + SHORT;
        w.t.timer_timeout(clock, _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, Some(deadline))
            .unwrap();
        assert_eq!(
            w.t.msg_receive(w.chid, &mut b, None),
            Err(Errno::ETIMEDOUT),
            "clock {clock}"
        );
        assert!(now_ns(clock) >= deadline, "clock {clock}: not early");
    }
    w.finish();
}

#[test]
fn absolute_deadline_already_past_times_out_when_the_call_would_block() {
    let w = one();
    let mut b = [0u8; 32];
    for clock in [CLOCK_MONOTONIC, CLOCK_REALTIME] {
        let past = now_ns(clock) - 1_000_000_000;
        w.t.timer_timeout(clock, _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, Some(past))
            .unwrap();
        assert_eq!(
            w.t.msg_receive(w.chid, &mut b, None),
            Err(Errno::ETIMEDOUT),
            "clock {clock}"
        );
        // With something queued, the same arm does not stop the call.
        w.t.msg_send_pulse(w.coid, 10, 1, clock).unwrap();
        w.t.timer_timeout(clock, _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, Some(past))
            .unwrap();
        assert_eq!(w.t.msg_receive(w.chid, &mut b, None), Ok(0));
        assert_eq!(Pulse::from_bytes(&b).unwrap().value_int(), clock);
    }
    w.finish();
}

// ------------------------------------------------------------------ SEND and REPLY states

#[test]
fn send_blocked_client_times_out_and_leaves_the_queue() {
    let w = world(0);
    let c = timed_client(&w, CLOCK_MONOTONIC, SEND_REPLY, Some(SHORT));
    let (r, el) = c.join();
    assert_eq!(r, Err(Errno::ETIMEDOUT));
    assert!(el >= Duration::from_nanos(SHORT));
    assert_eq!(queued(&w.k, w.srv.pid, w.chid), 0);
    assert_nothing_queued(&w.server, w.chid);
    w.finish();
}

#[test]
fn send_only_timeout_bounds_the_send_state() {
    let w = world(0);
    let c = timed_client(&w, CLOCK_REALTIME, _NTO_TIMEOUT_SEND, Some(SHORT));
    assert_eq!(c.join().0, Err(Errno::ETIMEDOUT));
    assert_nothing_queued(&w.server, w.chid);
    w.finish();
}

#[test]
fn reply_blocked_client_times_out_and_the_late_reply_is_esrch() {
    let w = world(0);
    // REPLY only: the SEND state is ended by our receive, however late it comes.
    let c = timed_client(&w, CLOCK_MONOTONIC, _NTO_TIMEOUT_REPLY, Some(SHORT));
    let mut b = [0u8; 8];
    let rcvid = receive(&w.server, w.chid, &mut b, None).unwrap();
    assert!(rcvid > 0);
    let (r, el) = c.join();
    assert_eq!(r, Err(Errno::ETIMEDOUT));
    assert!(el >= Duration::from_nanos(SHORT));
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_info(rcvid), Err(Errno::ESRCH));
    w.finish();
}

#[test]
fn reply_blocked_client_times_out_at_an_absolute_realtime_deadline() {
    let w = world(0);
    let deadline = now_ns(CLOCK_REALTIME) + SHORT;
    let c = timed_client(
        &w,
        CLOCK_REALTIME,
        _NTO_TIMEOUT_REPLY | TIMER_ABSTIME,
        Some(deadline),
    );
    let mut b = [0u8; 8];
    // The client is SEND-blocked without a bound until we receive it.
    let rcvid = receive(&w.server, w.chid, &mut b, None).unwrap();
    assert_eq!(c.join().0, Err(Errno::ETIMEDOUT));
    assert!(now_ns(CLOCK_REALTIME) >= deadline);
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    w.finish();
}

#[test]
fn send_only_timeout_no_longer_bounds_a_client_once_it_is_received() {
    let w = world(0);
    let wd = Watchdog::new(&w.k, w.cli);
    let send_to = 300_000_000u64;
    let c =
        timed_client(&w, CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(send_to)).once_send_blocked(&w.k);
    let t0 = Instant::now();
    let mut b = [0u8; 8];
    let rcvid = receive(&w.server, w.chid, &mut b, None).unwrap();
    assert!(rcvid > 0);
    // Reply well after the SEND timeout would have expired.
    std::thread::sleep(Duration::from_nanos(send_to + 200_000_000).saturating_sub(t0.elapsed()));
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    w.server.msg_reply(rcvid, 4, b"late").unwrap();
    assert_eq!(c.join().0, Ok(4));
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn send_only_immediate_timeout_does_not_stop_a_send_to_a_waiting_receiver() {
    let w = world(0);
    let wd = Watchdog::new(&w.k, w.cli);
    let chid = w.chid;
    let rx = spawn(&w.k, w.srv, 10, move |s| {
        let mut b = [0u8; 8];
        let rcvid = receive(s, chid, &mut b, None)?;
        std::thread::sleep(Duration::from_millis(30));
        s.msg_reply(rcvid, 6, b"")?;
        Ok::<_, Errno>(rcvid)
    })
    .once_receive_blocked(&w.k);
    // The send finds a receiver: it never SEND-blocks, so the immediate SEND timeout does
    // not apply, and REPLY is not covered.
    let c = timed_client(&w, CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, None);
    assert!(rx.join().unwrap() > 0);
    assert_eq!(c.join().0, Ok(6));
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn immediate_send_reply_timeout_to_a_waiting_receiver_delivers_then_times_out_in_reply() {
    let w = world(0);
    let chid = w.chid;
    let rx = spawn(&w.k, w.srv, 10, move |s| {
        let mut b = [0u8; 8];
        receive(s, chid, &mut b, None).map(|rcvid| (rcvid, b))
    })
    .once_receive_blocked(&w.k);
    let c = timed_client(&w, CLOCK_MONOTONIC, SEND_REPLY, None);
    let (rcvid, b) = rx.join().unwrap();
    assert!(rcvid > 0);
    assert_eq!(&b[..3], b"req");
    assert_eq!(c.join().0, Err(Errno::ETIMEDOUT));
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    w.finish();
}

// ------------------------------------------------------------------ one-shot

#[test]
fn timeout_is_one_shot_cleared_by_the_next_call_even_a_non_blocking_one() {
    let w = one();
    let wd = Watchdog::new(&w.k, w.p);
    let chid = w.chid;
    let bg = spawn(&w.k, w.p, 10, move |c| {
        c.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(SHORT))
            .unwrap();
        // Spends the timeout without blocking.
        let extra = c.channel_create(0).unwrap();
        let mut b = [0u8; 32];
        let r = c.msg_receive(chid, &mut b, None);
        c.channel_destroy(extra).unwrap();
        r.map(|_| Pulse::from_bytes(&b).unwrap())
    })
    .once_receive_blocked(&w.k);
    std::thread::sleep(Duration::from_nanos(3 * SHORT));
    assert_eq!(
        w.k.thread_info(w.p.pid, bg.tid).unwrap().state,
        ThreadState::Receive { chid: w.chid },
        "still waiting well after the spent timeout"
    );
    w.t.msg_send_pulse(w.coid, 10, 3, 303).unwrap();
    let p = bg.join().unwrap();
    assert_eq!((p.code, p.value_int()), (3, 303));
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn timeout_is_spent_by_a_receive_that_did_not_block() {
    let w = one();
    let wd = Watchdog::new(&w.k, w.p);
    let (chid, coid) = (w.chid, w.coid);
    let bg = spawn(&w.k, w.p, 10, move |c| {
        c.msg_send_pulse(coid, 10, 1, 1).unwrap();
        c.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(SHORT))
            .unwrap();
        let mut b = [0u8; 32];
        let first = c.msg_receive(chid, &mut b, None);
        let second = c.msg_receive(chid, &mut b, None);
        (first, second, Pulse::from_bytes(&b).unwrap())
    })
    .once_receive_blocked(&w.k);
    std::thread::sleep(Duration::from_nanos(3 * SHORT));
    assert_eq!(
        w.k.thread_info(w.p.pid, bg.tid).unwrap().state,
        ThreadState::Receive { chid: w.chid }
    );
    w.t.msg_send_pulse(w.coid, 10, 2, 2).unwrap();
    let (first, second, p) = bg.join();
    assert_eq!((first, second), (Ok(0), Ok(0)));
    assert_eq!(p.code, 2);
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn timeout_for_other_states_does_not_bound_a_receive() {
    let w = one();
    let wd = Watchdog::new(&w.k, w.p);
    let chid = w.chid;
    let bg = spawn(&w.k, w.p, 10, move |c| {
        c.timer_timeout(CLOCK_MONOTONIC, SEND_REPLY, Some(SHORT))
            .unwrap();
        let mut b = [0u8; 32];
        c.msg_receive(chid, &mut b, None)
    })
    .once_receive_blocked(&w.k);
    std::thread::sleep(Duration::from_nanos(3 * SHORT));
    assert_eq!(
        w.k.thread_info(w.p.pid, bg.tid).unwrap().state,
        ThreadState::Receive { chid: w.chid }
    );
    w.t.msg_send_pulse(w.coid, 10, 2, 2).unwrap();
    assert_eq!(bg.join(), Ok(0));
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

// ------------------------------------------------------------------ NULL ntime: polling

#[test]
fn null_ntime_times_out_at_once_only_when_the_receive_would_block() {
    let w = one();
    let mut b = [0u8; 32];
    arm(&w.t, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(w.t.msg_receive(w.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    // A queued pulse: the poll takes it.
    w.t.msg_send_pulse(w.coid, 10, 7, 70).unwrap();
    arm(&w.t, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(w.t.msg_receive(w.chid, &mut b, None), Ok(0));
    assert_eq!(Pulse::from_bytes(&b).unwrap().code, 7);
    // A SEND-blocked client: the poll takes its message.
    let coid = w.coid;
    let bg =
        spawn(&w.k, w.p, 10, move |c| send(c, coid, b"queued", &mut [])).once_send_blocked(&w.k);
    arm(&w.t, _NTO_TIMEOUT_RECEIVE, None);
    let rcvid = w.t.msg_receive(w.chid, &mut b, None).unwrap();
    assert!(rcvid > 0);
    assert_eq!(&b[..6], b"queued");
    w.t.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(bg.join(), Ok(0));
    arm(&w.t, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(w.t.msg_receive(w.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    w.finish();
}

// ------------------------------------------------------------------ arguments

#[test]
fn timer_timeout_returns_the_previously_armed_flags() {
    let w = one();
    assert_eq!(
        w.t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG)),
        Ok(0)
    );
    assert_eq!(
        w.t.timer_timeout(CLOCK_MONOTONIC, SEND_REPLY, Some(LONG)),
        Ok(_NTO_TIMEOUT_RECEIVE)
    );
    assert_eq!(
        w.t.timer_timeout(
            CLOCK_REALTIME,
            _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME,
            Some(now_ns(CLOCK_REALTIME) + LONG)
        ),
        Ok(SEND_REPLY)
    );
    // Flags 0 arm nothing.
    assert_eq!(
        w.t.timer_timeout(CLOCK_MONOTONIC, 0, Some(1)),
        Ok(_NTO_TIMEOUT_RECEIVE)
    );
    assert_eq!(w.t.timer_timeout(CLOCK_MONOTONIC, 0, Some(1)), Ok(0));
    // Any other kernel call spends an arm.
    arm(&w.t, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    w.t.msg_send_pulse(w.coid, 10, 1, 1).unwrap();
    assert_eq!(w.t.timer_timeout(CLOCK_MONOTONIC, 0, None), Ok(0));
    assert_eq!(receive_pulse(&w.t, w.chid).code, 1);
    w.finish();
}

#[test]
fn unknown_clock_is_einval_and_arms_nothing() {
    let w = one();
    for clock in [2, 3, 4, 5, 7, 11, -1, 99] {
        assert_eq!(
            w.t.timer_timeout(clock, _NTO_TIMEOUT_RECEIVE, Some(SHORT)),
            Err(Errno::EINVAL),
            "clock {clock}"
        );
        // The refused call armed nothing: the next arm finds nothing armed before it.
        assert_eq!(
            w.t.timer_timeout(CLOCK_MONOTONIC, 0, None),
            Ok(0),
            "clock {clock}"
        );
    }
    w.round_trip();
    w.finish();
}

#[test]
fn timer_timeout_keeps_only_the_state_bits_and_ignores_unknown_high_bits() {
    let w = one();
    let mut b = [0u8; 32];
    for high in [1 << 24, 1 << 25, 1 << 28, 1 << 30] {
        // Accepted, as QNX 6.4 does; the state bits still arm the timeout...
        assert_eq!(
            w.t.timer_timeout(CLOCK_MONOTONIC, high | _NTO_TIMEOUT_RECEIVE, Some(SHORT)),
            Ok(0),
            "flags {high:#x}"
        );
        let t0 = Instant::now();
        assert_eq!(w.t.msg_receive(w.chid, &mut b, None), Err(Errno::ETIMEDOUT));
        assert!(t0.elapsed() >= Duration::from_nanos(SHORT));
        // ...and the high bits alone arm nothing: the next call is not bounded by them.
        assert_eq!(w.t.timer_timeout(CLOCK_MONOTONIC, high, Some(SHORT)), Ok(0));
        assert_eq!(w.t.timer_timeout(CLOCK_MONOTONIC, 0, None), Ok(0));
    }
    // TIMER_ABSTIME with high bits: an absolute deadline already passed times out at once.
    assert_eq!(
        w.t.timer_timeout(
            CLOCK_MONOTONIC,
            (1 << 30) | TIMER_ABSTIME | _NTO_TIMEOUT_RECEIVE,
            Some(1)
        ),
        Ok(0)
    );
    assert_eq!(w.t.msg_receive(w.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    // State bits below STATE_MAX that this kernel has no calls for are accepted.
    let sigsuspend = 1 << 10;
    assert_eq!(
        w.t.timer_timeout(CLOCK_MONOTONIC, sigsuspend, Some(SHORT)),
        Ok(0)
    );
    assert_eq!(w.t.timer_timeout(CLOCK_MONOTONIC, 0, None), Ok(sigsuspend));
    w.finish();
}

#[test]
fn timer_timeout_with_nanosleep_sleeps_returns_0_and_leaves_nothing_armed() {
    let w = one();
    let nanosleep = 1 << 12;
    // (QNX's STATE_NANOSLEEP: the call itself sleeps until ntime; nanosleep() returns its 0.)
    w.t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(SHORT))
        .unwrap();
    let t0 = Instant::now();
    assert_eq!(
        w.t.timer_timeout(CLOCK_MONOTONIC, nanosleep, Some(SHORT)),
        Ok(0),
        "0, not the flags it replaced"
    );
    assert!(t0.elapsed() >= Duration::from_nanos(SHORT));
    assert_eq!(
        w.t.timer_timeout(CLOCK_MONOTONIC, 0, None),
        Ok(0),
        "nothing left armed"
    );
    // Absolute, on the realtime clock; NULL and past times return at once.
    let now = now_ns(CLOCK_REALTIME);
    let t0 = Instant::now();
    assert_eq!(
        w.t.timer_timeout(CLOCK_REALTIME, nanosleep | TIMER_ABSTIME, Some(now + SHORT)),
        Ok(0)
    );
    assert!(t0.elapsed() + Duration::from_millis(1) >= Duration::from_nanos(SHORT));
    let t0 = Instant::now();
    assert_eq!(w.t.timer_timeout(CLOCK_MONOTONIC, nanosleep, None), Ok(0));
    assert_eq!(
        w.t.timer_timeout(CLOCK_MONOTONIC, nanosleep | TIMER_ABSTIME, Some(1)),
        Ok(0)
    );
    assert!(t0.elapsed() < Duration::from_secs(1));
    w.finish();
}

/// QNX's pidin shows a thread in nanosleep() or delay() NANOSLEEP: the sleep is one kernel
/// call, NANOSLEEP-blocked in the kernel for its whole length, RUNNING again once it returns 0;
/// a signal handler ends it early with EINTR and the time that was left.
#[test]
fn a_nanosleep_is_one_kernel_entry_nanosleep_blocked_and_a_signal_ends_it_with_eintr() {
    let signo = install_rt_handler(0);
    let w = one();
    let before = w.k.process_counters(w.p.pid).unwrap().kernel_entries;
    let bg = spawn(&w.k, w.p, 10, |c| {
        let entries = || {
            c.kernel()
                .thread_info(c.pid(), c.tid())
                .map(|i| i.kernel_entries)
        };
        let e0 = entries();
        let t0 = Instant::now();
        let short = c.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_NANOSLEEP, Some(300_000_000));
        let slept = t0.elapsed();
        let e1 = entries();
        let mut left = 0u64;
        let long = c.timer_timeout_otime(
            CLOCK_REALTIME,
            _NTO_TIMEOUT_NANOSLEEP,
            None,
            Some(60_000_000_000),
            Some(&mut left),
        );
        (short, slept, e0, e1, long, left)
    });
    // Seen NANOSLEEP-blocked during the short sleep and again during the long one.
    wait_for(&w.k, w.p.pid, bg.tid, "NANOSLEEP-blocked", |s| {
        *s == ThreadState::Nanosleep
    });
    let seen = w.k.thread_info(w.p.pid, bg.tid).unwrap();
    assert_eq!(seen.state.qnx_state(), STATE_NANOSLEEP);
    assert_eq!(seen.state.to_string(), "NANOSLEEP");
    wait_until("the second sleep to begin", || {
        w.k.thread_info(w.p.pid, bg.tid).is_ok_and(|i| {
            i.kernel_entries > seen.kernel_entries && i.state == ThreadState::Nanosleep
        })
    });
    w.t.signal_kill(0, w.p.pid, bg.tid, signo, -1, 3).unwrap();
    let os = bg.os_tid;
    let (short, slept, e0, e1, long, left) = bg.join();
    assert_eq!(short, Ok(0));
    assert!(slept >= Duration::from_millis(300), "{slept:?}");
    assert_eq!(
        e1.unwrap() - e0.unwrap(),
        1,
        "one kernel entry for the sleep"
    );
    assert_eq!(long, Err(Errno::EINTR));
    assert!(
        left > 50_000_000_000 && left < 60_000_000_000,
        "time left {left} ns"
    );
    assert_eq!(
        wait_signal(signo, 1).tid,
        os,
        "its handler ran in the sleeper"
    );
    let after = w.k.process_counters(w.p.pid).unwrap().kernel_entries;
    assert!(after >= before + 3, "{before} -> {after}");
    w.finish();
}

/// A process torn down while one of its threads sleeps in the kernel: the sleeper leaves with
/// ESRCH at once, not at the end of its sleep.
#[test]
fn a_nanosleep_ends_with_esrch_when_its_process_is_torn_down() {
    let w = one();
    let p2 = w.k.process_create().unwrap();
    let bg = spawn(&w.k, p2, 10, |c| {
        c.timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_NANOSLEEP,
            Some(60_000_000_000),
        )
    });
    wait_for(&w.k, p2.pid, bg.tid, "NANOSLEEP-blocked", |s| {
        *s == ThreadState::Nanosleep
    });
    let t0 = Instant::now();
    w.k.process_destroy(p2).unwrap();
    assert_eq!(bg.join(), Err(Errno::ESRCH));
    assert!(t0.elapsed() < Duration::from_secs(30));
    w.finish();
}

// ------------------------------------------------------------------ timeout events

#[test]
fn timeout_pulse_event_on_the_receive_channel_is_received_by_the_waiting_thread() {
    let w = one();
    let wd = Watchdog::new(&w.k, w.p);
    let (chid, coid) = (w.chid, w.coid);
    let bg = spawn(&w.k, w.p, 10, move |c| {
        let ev = SigEvent::pulse(coid, 15, 9, 4242);
        c.timer_timeout_event(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_RECEIVE,
            Some(&ev),
            Some(SHORT),
        )
        .unwrap();
        let mut b = [0u8; 32];
        let r = c.msg_receive(chid, &mut b, None);
        (r, Pulse::from_bytes(&b).unwrap(), c.priority().unwrap())
    });
    let (r, p, prio) = bg.join();
    assert_eq!(r, Ok(0));
    assert_eq!((p.code, p.value_int()), (9, 4242));
    assert_eq!(p.scoid, scoid_of(&w.k, w.p.pid, w.coid));
    assert_eq!(prio, (10, 15), "took the pulse's priority");
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn immediate_timeout_pulse_event_on_the_receive_channel_is_received_at_once() {
    let w = one();
    let wd = Watchdog::new(&w.k, w.p);
    let (chid, coid) = (w.chid, w.coid);
    let bg = spawn(&w.k, w.p, 10, move |c| {
        let ev = SigEvent::pulse(coid, 10, 8, 88);
        c.timer_timeout_event(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(&ev), None)
            .unwrap();
        let mut b = [0u8; 32];
        let r = c.msg_receive(chid, &mut b, None);
        (r, Pulse::from_bytes(&b).unwrap())
    });
    let (r, p) = bg.join();
    assert_eq!(r, Ok(0));
    assert_eq!((p.code, p.value_int()), (8, 88));
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn timeout_pulse_event_to_another_channel_is_delivered_and_the_call_keeps_waiting() {
    let w = one();
    let wd = Watchdog::new(&w.k, w.p);
    let chid2 = w.t.channel_create(0).unwrap();
    let coid2 = w.t.connect_attach(0, 0, chid2, SIDE, 0).unwrap();
    let chid = w.chid;
    let bg = spawn(&w.k, w.p, 10, move |c| {
        let ev = SigEvent::pulse(coid2, 10, 11, 1111);
        c.timer_timeout_event(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_RECEIVE,
            Some(&ev),
            Some(SHORT),
        )
        .unwrap();
        let mut b = [0u8; 32];
        let r = c.msg_receive(chid, &mut b, None);
        (r, Pulse::from_bytes(&b).unwrap())
    });
    // The timeout expires: its pulse lands on chid2, the thread stays RECEIVE-blocked.
    wait_until("timeout pulse queued", || queued(&w.k, w.p.pid, chid2) > 0);
    assert_eq!(
        w.k.thread_info(w.p.pid, bg.tid).unwrap().state,
        ThreadState::Receive { chid: w.chid }
    );
    std::thread::sleep(Duration::from_nanos(2 * SHORT));
    assert_eq!(queued(&w.k, w.p.pid, chid2), 1, "one expiry, one pulse");
    w.t.msg_send_pulse(w.coid, 10, 12, 1212).unwrap();
    let (r, p) = bg.join();
    assert_eq!(r, Ok(0));
    assert_eq!((p.code, p.value_int()), (12, 1212));
    let tp = receive_pulse(&w.t, chid2);
    assert_eq!((tp.code, tp.value_int()), (11, 1111));
    assert_eq!(tp.scoid, scoid_of(&w.k, w.p.pid, coid2));
    assert!(!wd.fired());
    drop(wd);
    w.t.connect_detach(coid2).unwrap();
    w.t.channel_destroy(chid2).unwrap();
    w.finish();
}

#[test]
fn timeout_signal_event_signals_the_thread_whose_handler_interrupts_the_call_with_eintr() {
    let signo = install_rt_handler(6);
    let w = one();
    let wd = Watchdog::new(&w.k, w.p);
    let chid = w.chid;
    let bg = spawn(&w.k, w.p, 10, move |c| {
        let ev = SigEvent::signal_thread(signo, 606, -66);
        c.timer_timeout_event(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_RECEIVE,
            Some(&ev),
            Some(SHORT),
        )
        .unwrap();
        let mut b = [0u8; 32];
        c.msg_receive(chid, &mut b, None)
    });
    // As on QNX, the signal's handler runs and the receive it interrupted returns EINTR.
    let os_tid = bg.os_tid;
    assert_eq!(bg.join(), Err(Errno::EINTR));
    let r = wait_signal(signo, 1);
    assert_eq!((r.code, r.value, r.tid), (-66, 606, os_tid));
    assert_eq!(sig_record(signo).count, 1);
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn timeout_event_is_checked_when_armed() {
    let w = one();
    let thread_ev = SigEvent {
        sigev_notify: sigev::SIGEV_THREAD,
        ..SigEvent::default()
    };
    let cases = [
        (
            SigEvent::pulse((SIDE | 0x99) as i32, 10, 1, 1),
            Errno::EINVAL,
        ),
        (SigEvent::pulse(w.coid, 0, 1, 1), Errno::EINVAL),
        (SigEvent::pulse(w.coid, 256, 1, 1), Errno::EINVAL),
        (SigEvent::signal(0), Errno::EINVAL),
        (SigEvent::signal_thread(65, 0, -1), Errno::EINVAL),
        (thread_ev, Errno::EINVAL),
        (
            SigEvent {
                sigev_notify: 77,
                ..SigEvent::default()
            },
            Errno::EINVAL,
        ),
    ];
    for (ev, e) in cases {
        assert_eq!(
            w.t.timer_timeout_event(
                CLOCK_MONOTONIC,
                _NTO_TIMEOUT_RECEIVE,
                Some(&ev),
                Some(SHORT)
            ),
            Err(e),
            "{ev:?}"
        );
        assert_eq!(w.t.timer_timeout(CLOCK_MONOTONIC, 0, None), Ok(0), "{ev:?}");
    }
    // The pulse event's channel gone: an event it could not deliver, EINVAL (deviations.md).
    let chid2 = w.t.channel_create(0).unwrap();
    let coid2 = w.t.connect_attach(0, 0, chid2, SIDE, 0).unwrap();
    w.t.channel_destroy(chid2).unwrap();
    assert_eq!(
        w.t.timer_timeout_event(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_RECEIVE,
            Some(&SigEvent::pulse(coid2, 10, 1, 1)),
            Some(SHORT)
        ),
        Err(Errno::EINVAL)
    );
    w.t.connect_detach(coid2).unwrap();
    // SIGEV_UNBLOCK is the default behaviour, given explicitly.
    w.t.timer_timeout_event(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_RECEIVE,
        Some(&SigEvent::unblock()),
        Some(SHORT),
    )
    .unwrap();
    let mut b = [0u8; 32];
    assert_eq!(w.t.msg_receive(w.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    assert_eq!(live(&w.k)[4], 0);
    w.finish();
}

#[test]
fn bad_timeout_arms_keep_their_errno_and_the_kernel_still_works() {
    let w = one();
    let before = live(&w.k);
    for _ in 0..3 {
        assert_eq!(
            w.t.timer_timeout(5, _NTO_TIMEOUT_RECEIVE, Some(SHORT)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            w.t.timer_timeout_event(
                CLOCK_MONOTONIC,
                _NTO_TIMEOUT_RECEIVE,
                Some(&SigEvent::pulse(w.coid, 0, 1, 1)),
                Some(SHORT)
            ),
            Err(Errno::EINVAL)
        );
        assert_eq!(live(&w.k), before);
    }
    w.round_trip();
    let mut b = [0u8; 32];
    arm(&w.t, _NTO_TIMEOUT_RECEIVE, Some(SHORT));
    assert_eq!(w.t.msg_receive(w.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    assert_eq!(live(&w.k), before);
    w.finish();
}
