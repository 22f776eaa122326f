//! Adversarial review of the documentation's promises (docs/deviations.md, docs/choosing.md)
//! that one process can check through the Rust API. Each test names the document and line of
//! the claim it checks. A test that shows the project differing from its docs is kept and
//! marked `#[ignore = "DEFECT: ..."]`. Every blocking call is bounded.
#![cfg(not(loom))]

mod support;

use std::time::{Duration, Instant};
use support::*;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::qnx::*;
use userlib::{Errno, ThreadState};

const SIDE: u32 = _NTO_SIDE_CHANNEL;

/// Bounds the caller's next receive.
fn bound_recv() {
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).unwrap();
}

/// Bounds the caller's next send.
fn bound_send() {
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .unwrap();
}

/// Receives the next pulse on `chid` (bounded).
fn recv_pulse(chid: i32) -> Pulse {
    let mut b = [0u8; PULSE_SIZE];
    bound_recv();
    assert_eq!(msg_receive(chid, &mut b, None), Ok(0), "expected a pulse");
    Pulse::from_bytes(&b).unwrap()
}

/// Asserts that nothing is queued on `chid` (a polling receive times out).
fn nothing_queued(chid: i32) {
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, None).unwrap();
    assert_eq!(
        msg_receive(chid, &mut [0u8; 64], None),
        Err(Errno::ETIMEDOUT)
    );
}

/// Entries queued on channel `chid` of process `pid`.
fn queued(k: &userlib::Kernel, pid: i32, chid: i32) -> u32 {
    k.snapshot()
        .channels
        .iter()
        .find(|c| c.pid == pid && c.chid == chid)
        .map_or(0, |c| c.queued)
}

fn thread_state(k: &userlib::Kernel, pid: i32, tid: i32) -> Option<ThreadState> {
    k.snapshot()
        .threads
        .iter()
        .find(|t| t.pid == pid && t.tid == tid)
        .map(|t| t.state)
}

// ------------------------------------------------------------------ Calls

// docs/deviations.md:70-72: "MsgReceive with chid -1 ... fails with ESRCH".
#[test]
fn msg_receive_on_chid_minus_one_fails_with_esrch() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = channel_create(0).unwrap();
    // A receive first, so that the thread has a channel to be dissociated from.
    let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    msg_send_pulse(coid, 10, 1, 0).unwrap();
    recv_pulse(chid);
    bound_recv();
    assert_eq!(msg_receive(-1, &mut [0u8; 16], None), Err(Errno::ESRCH));
    // The timeout armed for it is spent or still there; either way the thread is fine.
    let _ = timer_timeout(CLOCK_MONOTONIC, 0, None);
}

// docs/deviations.md:73: "MsgReply with a negative status is passed through: msg_send returns
// Ok(status)".
#[test]
fn msg_reply_with_a_negative_status_is_passed_through() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = channel_create(0).unwrap();
    let client = p
        .spawn(move || {
            let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
            bound_send();
            msg_send(coid, b"x", &mut [])
        })
        .unwrap();
    let mut buf = [0u8; 8];
    bound_recv();
    let rcvid = msg_receive(chid, &mut buf, None).unwrap();
    assert!(rcvid > 0);
    msg_reply(rcvid, -5, &[]).unwrap();
    assert_eq!(join(client), Ok(-5));
}

// docs/deviations.md:93-97: "MsgError passes on errno values 1 to 4095 ... -1 ... is EINVAL for
// a client that has not asked. Any other value is EINVAL and the client stays REPLY-blocked".
#[test]
fn msg_error_outside_its_range_is_einval_and_the_client_stays_reply_blocked() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let pid = p.pid();
    let chid = channel_create(0).unwrap();
    let client = p
        .spawn(move || {
            let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
            bound_send();
            (gettid().unwrap(), msg_send(coid, b"x", &mut []))
        })
        .unwrap();
    let mut buf = [0u8; 8];
    bound_recv();
    let rcvid = msg_receive(chid, &mut buf, None).unwrap();
    assert_eq!(msg_error(rcvid, Errno(4096)), Err(Errno::EINVAL));
    assert_eq!(msg_error(rcvid, Errno(-2)), Err(Errno::EINVAL));
    assert_eq!(msg_error(rcvid, Errno(-1)), Err(Errno::EINVAL));
    // Still REPLY-blocked: some thread of the process other than us is in REPLY.
    let me = gettid().unwrap();
    assert!(
        k.snapshot()
            .threads
            .iter()
            .any(|t| t.pid == pid && t.tid != me && matches!(t.state, ThreadState::Reply { .. })),
        "the client should still be REPLY-blocked"
    );
    msg_error(rcvid, Errno(4095)).unwrap();
    let (_, r) = join(client);
    assert_eq!(r, Err(Errno(4095)));
}

// docs/deviations.md:69: "Identical consecutive pulses are not merged into one entry with a
// count."
#[test]
fn identical_consecutive_pulses_are_not_merged() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = channel_create(0).unwrap();
    let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    for _ in 0..3 {
        msg_send_pulse(coid, 10, 5, 77).unwrap();
    }
    assert_eq!(queued(&k, p.pid(), chid), 3);
    for _ in 0..3 {
        let pl = recv_pulse(chid);
        assert_eq!((pl.code, pl.value_int()), (5, 77));
    }
    nothing_queued(chid);
}

// docs/deviations.md:113: "MsgDeliverEvent with rcvid 0 targets the calling thread (7.x)."
#[test]
fn msg_deliver_event_with_rcvid_0_targets_the_caller() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = channel_create(0).unwrap();
    let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    let ev = sigev_pulse_init(coid, 10, 9, 1234);
    msg_deliver_event(0, &ev).unwrap();
    let pl = recv_pulse(chid);
    assert_eq!((pl.code, pl.value_int()), (9, 1234));
}

// docs/deviations.md:80-81: "Only the state bits of flags (below 1 << 24) count; other bits are
// ignored".
#[test]
fn timer_timeout_ignores_flag_bits_at_and_above_1_shl_24() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = channel_create(0).unwrap();
    let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    // If the timeout were not armed, a pulse from this thread after 5 s ends the receive with
    // a pulse instead of ETIMEDOUT (the test fails rather than hangs).
    let rescue = p
        .spawn(move || {
            std::thread::sleep(Duration::from_secs(5));
            let _ = msg_send_pulse(coid, 10, 3, 0);
        })
        .unwrap();
    for bit in [1u32 << 24, 1 << 27, 1 << 30] {
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE | bit, Some(1_000_000))
            .unwrap_or_else(|e| panic!("bit {bit:#x}: {e:?}"));
        assert_eq!(
            msg_receive(chid, &mut [0u8; 16], None),
            Err(Errno::ETIMEDOUT),
            "bit {bit:#x}"
        );
    }
    join(rescue);
}

// docs/deviations.md:12: "clock ids for TimerTimeout: Linux's: CLOCK_REALTIME 0, CLOCK_MONOTONIC
// 1; others EINVAL".
#[test]
fn timer_timeout_refuses_clock_ids_other_than_realtime_and_monotonic() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    for id in [2, 3, 4, 5, 6, 7, -1] {
        assert_eq!(
            timer_timeout(id, _NTO_TIMEOUT_RECEIVE, Some(1_000_000)),
            Err(Errno::EINVAL),
            "clock {id}"
        );
    }
    assert!(timer_timeout(0, _NTO_TIMEOUT_RECEIVE, Some(1_000_000)).is_ok());
    assert!(timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(1_000_000)).is_ok());
    // Spend what the last one armed.
    let _ = timer_timeout(1, 0, None);
}

// docs/deviations.md:81-87: "_NTO_TIMEOUT_NANOSLEEP makes the call sleep until ntime ... 0 once
// the time has passed (at once for a NULL or past ntime) ... It leaves nothing armed (its own call
// spends the timeout)".
#[test]
fn nanosleep_sleeps_returns_0_and_leaves_nothing_armed() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let t0 = Instant::now();
    assert_eq!(
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_NANOSLEEP, None),
        Ok(0)
    );
    assert!(t0.elapsed() < Duration::from_secs(2));
    let t0 = Instant::now();
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_NANOSLEEP | _NTO_TIMEOUT_RECEIVE,
        Some(100_000_000),
    )
    .unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(95));
    // Nothing armed now: a receive waits for the pulse another thread sends after 300 ms.
    let chid = channel_create(0).unwrap();
    let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    let sender = p
        .spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            msg_send_pulse(coid, 10, 4, 0)
        })
        .unwrap();
    let mut b = [0u8; PULSE_SIZE];
    assert_eq!(msg_receive(chid, &mut b, None), Ok(0));
    assert_eq!(join(sender), Ok(()));
}

// docs/deviations.md, TimerTimeout: "The thread sleeps in the kernel, NANOSLEEP-blocked as QNX
// shows it; an event other than SIGEV_UNBLOCK given with it is delivered when the time comes
// ... and the call then returns 0."
#[test]
fn nanosleep_shows_nanosleep_and_delivers_its_event_when_the_time_comes() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let pid = p.pid();
    let me = gettid().unwrap();
    let chid = channel_create(0).unwrap();
    let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    let k2 = k.clone();
    let watcher = std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if thread_state(&k2, pid, me) == Some(ThreadState::Nanosleep) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    });
    let ev = sigev_pulse_init(coid, 10, 6, 66);
    let r = timer_timeout_event(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_NANOSLEEP,
        Some(&ev),
        Some(600_000_000),
    );
    assert_eq!(r, Ok(0));
    assert!(join(watcher), "seen NANOSLEEP while sleeping");
    assert_eq!(queued(&k, pid, chid), 1, "the event is delivered");
    let pl = recv_pulse(chid);
    assert_eq!((pl.code, pl.value_int()), (6, 66));
}

// docs/deviations.md:129-133: "a timer whose event is SIGEV_PULSE ... if the last one is still
// queued, the expiry is merged into it and counted as an overrun".
#[test]
fn a_pulse_timer_keeps_one_pulse_queued_and_counts_overruns() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = channel_create(0).unwrap();
    let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    let ev = sigev_pulse_init(coid, 10, 7, 0);
    let id = timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
    assert!(id > 0, "timer ids are positive (deviations.md:35)");
    timer_settime(id, 0, 1_000_000, 1_000_000).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(
        queued(&k, p.pid(), chid),
        1,
        "expiries merged into one pulse"
    );
    let info = timer_info(id).unwrap();
    timer_destroy(id).unwrap();
    assert!(info.overruns > 0, "overruns counted: {info:?}");
    let pl = recv_pulse(chid);
    assert_eq!(pl.code, 7);
    nothing_queued(chid);
}

// docs/deviations.md:126-128: "A queued disconnect pulse stays ahead of every message and pulse
// queued after it, whatever their priority".
#[test]
fn a_disconnect_pulse_stays_ahead_of_a_later_higher_priority_pulse() {
    let k = kernel();
    let server = process(&k);
    let client = process(&k);
    let _b = bind(&server);
    let spid = server.pid();
    let chid = channel_create(_NTO_CHF_DISCONNECT).unwrap();
    let other = run_in(&client, move || {
        let c = connect_attach(0, spid, chid, SIDE, 0).unwrap();
        let c2 = connect_attach(0, spid, chid, SIDE, _NTO_COF_NOSHARE).unwrap();
        thread_set_priority(5).unwrap();
        connect_detach(c).unwrap();
        thread_set_priority(200).unwrap();
        msg_send_pulse(c2, 200, 11, 0).unwrap();
        c2
    });
    let first = recv_pulse(chid);
    assert_eq!(first.code, _PULSE_CODE_DISCONNECT);
    let second = recv_pulse(chid);
    assert_eq!(second.code, 11);
    let _ = other;
}

// docs/deviations.md:135-136: "Disconnect pulse priority: the detaching thread's priority".
// The receiver of a pulse runs at the pulse's priority (QNX), so the server's current
// priority after receiving the disconnect pulse shows it.
#[test]
fn a_disconnect_pulse_carries_the_detaching_threads_priority() {
    let k = kernel();
    let server = process(&k);
    let client = process(&k);
    let _b = bind(&server);
    thread_set_priority(10).unwrap();
    let spid = server.pid();
    let chid = channel_create(_NTO_CHF_DISCONNECT).unwrap();
    run_in(&client, move || {
        thread_set_priority(37).unwrap();
        let c = connect_attach(0, spid, chid, SIDE, 0).unwrap();
        connect_detach(c).unwrap();
    });
    let pl = recv_pulse(chid);
    assert_eq!(pl.code, _PULSE_CODE_DISCONNECT);
    assert_eq!(thread_priority().unwrap().1, 37);
}

// docs/deviations.md:353-354: "A userlib::ReceiveId dropped without an answer answers
// MsgError(ENOSYS)".
#[test]
fn a_dropped_receive_id_answers_enosys() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chan = userlib::Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = p
        .spawn(move || {
            let conn = userlib::Connection::attach(0, chid).unwrap();
            conn.send_timeout(b"hi", &mut [], LONG)
        })
        .unwrap();
    match chan.receive_timeout(&mut [0u8; 8], LONG).unwrap() {
        userlib::Received::Message { rcvid, .. } => drop(rcvid),
        other => panic!("expected a message: {other:?}"),
    }
    assert_eq!(join(client), Err(Errno::ENOSYS));
}

// docs/deviations.md:167-171: "ConnectFlags changes only _NTO_COF_CLOEXEC; any other bit in mask
// is ENOTSUP ... It returns the connection's _NTO_COF_CLOEXEC as it was, and changes the
// connection's flags, which a second coid attached to the same channel without
// _NTO_COF_NOSHARE shares."
#[test]
fn connect_flags_changes_cloexec_only_and_shared_coids_share_it() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = channel_create(0).unwrap();
    let a = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    let b = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    assert_eq!(
        connect_flags(0, a, _NTO_COF_NOSHARE, _NTO_COF_NOSHARE),
        Err(Errno::ENOTSUP)
    );
    assert_eq!(connect_flags(0, a, 0x100, 0x100), Err(Errno::ENOTSUP));
    assert_eq!(
        connect_flags(0, a, _NTO_COF_CLOEXEC, _NTO_COF_CLOEXEC),
        Ok(0)
    );
    // b shares a's connection: it reports the bit set.
    assert_eq!(connect_flags(0, b, 0, 0), Ok(_NTO_COF_CLOEXEC));
    // A NOSHARE coid has its own flags.
    let c = connect_attach(0, 0, chid, SIDE, _NTO_COF_NOSHARE).unwrap();
    assert_eq!(connect_flags(0, c, 0, 0), Ok(0));
}

// docs/deviations.md:56-58: "ConnectAttach: only _NTO_COF_CLOEXEC ... and _NTO_COF_NOSHARE are
// accepted, other bits EINVAL. index at or beyond the fd table (256 by default ...) is EINVAL".
// docs/deviations.md:62: "A _NTO_CHF_PRIVATE channel refuses other processes with EPERM".
#[test]
fn connect_attach_checks_flags_index_and_private_channels() {
    let k = kernel();
    let p = process(&k);
    let q = process(&k);
    let _b = bind(&p);
    let chid = channel_create(0).unwrap();
    assert_eq!(connect_attach(0, 0, chid, 256, 0), Err(Errno::EINVAL));
    assert!(connect_attach(0, 0, chid, 255, 0).is_ok());
    assert_eq!(connect_attach(0, 0, chid, SIDE, 0x2), Err(Errno::EINVAL));
    let private = channel_create(_NTO_CHF_PRIVATE).unwrap();
    let ppid = p.pid();
    assert!(connect_attach(0, 0, private, SIDE, 0).is_ok());
    let r = run_in(&q, move || connect_attach(0, ppid, private, SIDE, 0));
    assert_eq!(r, Err(Errno::EPERM));
}

// docs/deviations.md:46: "tids increase from 1 within a process and are not reused. pids
// increase from 2." docs/deviations.md:18: "rcvids are positive and below 2^31".
#[test]
fn pids_start_at_2_and_tids_are_not_reused() {
    let k = kernel();
    let p = process(&k);
    let q = process(&k);
    assert_eq!(p.pid(), 2);
    assert_eq!(q.pid(), 3);
    let _b = bind(&p);
    assert_eq!(gettid(), Ok(1));
    let t2 = join(p.spawn(|| gettid().unwrap()).unwrap());
    let t3 = join(p.spawn(|| gettid().unwrap()).unwrap());
    assert_eq!((t2, t3), (2, 3));
    let chid = channel_create(0).unwrap();
    let client = p
        .spawn(move || {
            let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
            bound_send();
            msg_send(coid, b"x", &mut [])
        })
        .unwrap();
    bound_recv();
    let rcvid = msg_receive(chid, &mut [0u8; 4], None).unwrap();
    assert!(rcvid > 0 && rcvid < (1 << 31), "rcvid {rcvid}");
    msg_reply(rcvid, 0, &[]).unwrap();
    assert_eq!(join(client), Ok(0));
}

// ------------------------------------------------------------------ Scheduling

// docs/deviations.md:296-303, 312-313: "a new thread is SCHED_RR ... tid 0 is the caller with
// pid ignored, as QNX's SchedSet says; SCHED_NOCHANGE keeps the policy ... Only the priorities
// in 1..255 exist".
#[test]
fn sched_set_and_get_follow_the_documented_rules() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let (policy, _) = sched_get(0, 0).unwrap();
    assert_eq!(policy, SCHED_RR);
    let param = |prio| SchedParam {
        sched_priority: prio,
        sched_curpriority: 0,
    };
    // pid ignored with tid 0 (SchedSet).
    sched_set(987_654, 0, SCHED_FIFO, &param(20)).unwrap();
    sched_set(0, 0, SCHED_NOCHANGE, &param(21)).unwrap();
    let (policy, got) = sched_get(0, 0).unwrap();
    assert_eq!((policy, got.sched_priority), (SCHED_FIFO, 21));
    assert_eq!(sched_set(0, 0, SCHED_RR, &param(0)), Err(Errno::EINVAL));
    assert_eq!(sched_set(0, 0, SCHED_RR, &param(256)), Err(Errno::EINVAL));
    assert_eq!(
        sched_set(0, 0, SCHED_SPORADIC, &param(10)),
        Err(Errno::ENOTSUP)
    );
    assert!(sched_set(0, 0, SCHED_RR, &param(255)).is_ok());
    assert!(sched_set(0, 0, SCHED_RR, &param(1)).is_ok());
}

// docs/deviations.md, SchedGet / SchedSet: "tid 0 is the caller with pid ignored, as QNX's
// SchedSet says (SchedGet still looks the pid up first: ESRCH for one no live process has)";
// userlib's `sched_get` rustdoc says the same.
#[test]
fn sched_get_with_tid_0_looks_the_pid_up_and_sched_set_ignores_it() {
    let k = kernel();
    let p = process(&k);
    let other = process(&k);
    let _b = bind(&p);
    assert_eq!(sched_get(987_654, 0).map(|r| r.0), Err(Errno::ESRCH));
    let (_, mine) = sched_get(0, 0).unwrap();
    let (policy, got) = sched_get(other.pid(), 0).unwrap();
    assert_eq!(
        (policy, got.sched_priority),
        (SCHED_RR, mine.sched_priority),
        "tid 0 with a live pid: the caller"
    );
    assert!(sched_set(987_654, 0, SCHED_NOCHANGE, &mine).is_ok());
}

// ------------------------------------------------------------------ Interrupts

// docs/deviations.md:184-188: "Levels 0 to 255 exist ... Other levels ... are EINVAL, as are
// _NTO_INTR_FLAGS_ARRAY and _NTO_INTR_FLAGS_FPU." docs/deviations.md:197-198: "An unmask of a
// level whose count is already 0 leaves it 0."
#[test]
fn interrupt_levels_and_flags_are_checked_and_unmask_stops_at_zero() {
    use userlib::interrupt::*;
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let ev = sigev_intr_init();
    for level in [-1, 256, 1000] {
        assert_eq!(
            interrupt_attach_event(level, &ev, 0),
            Err(Errno::EINVAL),
            "level {level}"
        );
    }
    // QNX's _NTO_INTR_FLAGS_ARRAY is 0x40 and _NTO_INTR_FLAGS_FPU 0x10.
    for flag in [0x40u32, 0x10] {
        assert_eq!(
            interrupt_attach_event(3, &ev, flag),
            Err(Errno::EINVAL),
            "flag {flag:#x}"
        );
    }
    let id = interrupt_attach_event(255, &ev, _NTO_INTR_FLAGS_TRK_MSK).unwrap();
    assert_eq!(interrupt_unmask(255, id), Ok(0));
    assert_eq!(interrupt_unmask(255, id), Ok(0));
    assert_eq!(interrupt_mask(255, id), Ok(1));
    assert_eq!(interrupt_unmask(255, id), Ok(0));
    interrupt_detach(id).unwrap();
}

// ------------------------------------------------------------------ Asynchronous messaging

fn async_attr(max_num_buffer: u32, trigger: u32) -> AsyncConnAttr {
    AsyncConnAttr {
        call_back: None,
        buffer_size: 64,
        max_num_buffer,
        trigger_num_msg: trigger,
        trigger_time: Duration::ZERO,
    }
}

// docs/deviations.md:469-471: "a put blocks, or fails with EAGAIN under _NTO_COF_NONBLOCK. At
// most max_num_buffer - 1 messages are outstanding ...; a queue has at least 2 slots."
// docs/choosing.md:286: "the producer runs ahead by up to max_num_buffer - 1 messages".
#[test]
fn an_asyncmsg_queue_holds_max_num_buffer_minus_one_messages() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = asyncmsg_channel_create(0, 0, 64, 16, None, None).unwrap();
    for (slots, room) in [(4u32, 3usize), (2, 1), (1, 1)] {
        let coid = asyncmsg_connect_attach(0, 0, chid, 0, _NTO_COF_NONBLOCK, &async_attr(slots, 0))
            .unwrap();
        for i in 0..room {
            asyncmsg_put(coid, vec![i as u8; 8], 0, None)
                .unwrap_or_else(|e| panic!("slots {slots}: put {i}: {:?}", e.errno));
        }
        let e = asyncmsg_put(coid, vec![9; 8], 0, None).expect_err("queue full");
        assert_eq!(e.errno, Errno::EAGAIN, "slots {slots}");
        asyncmsg_connect_detach(coid).unwrap();
    }
}

// docs/deviations.md:461-462: "asyncmsg_get takes up to the channel's max_num_buffer messages".
#[test]
fn asyncmsg_get_takes_up_to_the_channels_max_num_buffer() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = asyncmsg_channel_create(0, 0, 64, 3, None, None).unwrap();
    let coid = asyncmsg_connect_attach(0, 0, chid, 0, 0, &async_attr(32, 0)).unwrap();
    for i in 0..8u8 {
        asyncmsg_put(coid, vec![i; 4], 0, None).unwrap();
    }
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
    let mut got = Vec::new();
    while got.len() < 8 {
        let b = support::asyncmsg::get_within(chid, LONG).unwrap();
        assert!(b.len() <= 3, "a batch of {}", b.len());
        got.extend(b.iter().map(|m| m.data[0]));
    }
    assert_eq!(got, (0..8).collect::<Vec<u8>>());
    asyncmsg_connect_detach(coid).unwrap();
}

// docs/deviations.md:505-507: "asyncmsg channels take only asyncmsg connections and vice versa
// (EINVAL); MsgReceive on an asyncmsg channel and MsgSend/MsgSendPulse on an asyncmsg connection
// are refused (EINVAL / EBADF)."
#[test]
fn asyncmsg_and_srr_objects_do_not_mix() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let achid = asyncmsg_channel_create(0, 0, 64, 8, None, None).unwrap();
    let chid = channel_create(0).unwrap();
    assert_eq!(connect_attach(0, 0, achid, SIDE, 0), Err(Errno::EINVAL));
    assert_eq!(
        asyncmsg_connect_attach(0, 0, chid, 0, 0, &async_attr(8, 1)),
        Err(Errno::EINVAL)
    );
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, None).unwrap();
    assert_eq!(msg_receive(achid, &mut [0u8; 16], None), Err(Errno::EINVAL));
    let _ = timer_timeout(CLOCK_MONOTONIC, 0, None);
    let acoid = asyncmsg_connect_attach(0, 0, achid, 0, 0, &async_attr(8, 1)).unwrap();
    assert_eq!(msg_send_pulse(acoid, 10, 1, 0), Err(Errno::EBADF));
    assert_eq!(msg_send(acoid, b"x", &mut []), Err(Errno::EBADF));
    asyncmsg_connect_detach(acoid).unwrap();
}

// docs/deviations.md:486-490: "asyncmsg_malloc hands out buffers ... (16 B to 64 KiB, capacity
// rounded up to a power of two) ... a fresh buffer is zeroed ... ENOMEM beyond 2 GiB".
// docs/deviations.md:546: "a channel's buffer_size must be below 2^32 - 1 (EINVAL otherwise)".
#[test]
fn asyncmsg_malloc_and_buffer_size_limits() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    assert_eq!(
        asyncmsg_malloc((2usize << 30) + 1).map(|v| v.len()),
        Err(Errno::ENOMEM)
    );
    let b = asyncmsg_malloc(100).unwrap();
    assert_eq!(b.len(), 100);
    assert!(b.iter().all(|&x| x == 0), "a fresh buffer is zeroed");
    assert!(b.capacity().is_power_of_two(), "capacity {}", b.capacity());
    assert_eq!(
        asyncmsg_channel_create(0, 0, (1usize << 32) - 1, 1, None, None),
        Err(Errno::EINVAL)
    );
}

// docs/choosing.md:287: asyncmsg ordering is "FIFO per connection; round-robin across
// connections". Two connections with their messages ready: the gets alternate between them
// rather than draining one first.
#[test]
fn asyncmsg_serves_ready_connections_round_robin() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = asyncmsg_channel_create(0, 0, 64, 2, None, None).unwrap();
    let a = asyncmsg_connect_attach(0, 0, chid, 0, 0, &async_attr(16, 0)).unwrap();
    let b = asyncmsg_connect_attach(0, 0, chid, 0, 0, &async_attr(16, 0)).unwrap();
    for i in 0..6u8 {
        asyncmsg_put(a, vec![b'a', i], 0, None).unwrap();
        asyncmsg_put(b, vec![b'b', i], 0, None).unwrap();
    }
    asyncmsg_flush(a, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
    asyncmsg_flush(b, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
    let mut order = Vec::new();
    let mut per = [Vec::new(), Vec::new()];
    while per[0].len() + per[1].len() < 12 {
        let batch = support::asyncmsg::get_within(chid, LONG).unwrap();
        for m in batch.iter() {
            let which = usize::from(m.data[0] == b'b');
            per[which].push(m.data[1]);
            order.push(m.data[0]);
        }
    }
    // FIFO per connection.
    assert_eq!(per[0], (0..6).collect::<Vec<u8>>());
    assert_eq!(per[1], (0..6).collect::<Vec<u8>>());
    // Round-robin: neither connection is drained while the other waits with messages.
    let first_b = order.iter().position(|&c| c == b'b').unwrap();
    let first_a = order.iter().position(|&c| c == b'a').unwrap();
    assert!(
        first_a < 6 && first_b < 6,
        "one connection was drained before the other was served: {:?}",
        String::from_utf8_lossy(&order)
    );
    asyncmsg_connect_detach(a).unwrap();
    asyncmsg_connect_detach(b).unwrap();
}

// ------------------------------------------------------------------ Names

// docs/deviations.md:563-569: "A name taken in its space is EEXIST ... A name is at most 127
// bytes (ENAMETOOLONG) ... ChannelDestroy of a name's channel ... removes it ... name_open's
// flags must be 0 (EINVAL otherwise) ... Its connection is _NTO_COF_CLOEXEC".
// docs/deviations.md:561-562: "name_open looks for a local name first, then a global one".
#[test]
fn names_follow_the_documented_rules() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let ok127 = "n".repeat(127);
    let long = "n".repeat(128);
    let a = name_attach(&ok127, 0).unwrap();
    assert_eq!(
        name_attach(&long, 0).map(|a| a.chid),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(name_attach(&ok127, 0).map(|a| a.chid), Err(Errno::EEXIST));
    // The same name in the global space is another name.
    let g = name_attach(&ok127, NAME_FLAG_ATTACH_GLOBAL).unwrap();
    assert_eq!(name_open(&ok127, 1), Err(Errno::EINVAL));
    // name_open sends an _IO_CONNECT: serve it on a thread, which says which channel it came to.
    let (achid, gchid) = (a.chid, g.chid);
    let server = p
        .spawn(move || {
            let mut buf = [0u8; 256];
            let mut info = MsgInfo::default();
            timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).unwrap();
            // Receive on either: poll both.
            let deadline = Instant::now() + LONG;
            loop {
                for chid in [achid, gchid] {
                    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, None).unwrap();
                    if let Ok(r) = msg_receive(chid, &mut buf, Some(&mut info)) {
                        if r > 0 {
                            msg_reply(r, 0, &[]).unwrap();
                            return chid;
                        }
                    }
                }
                assert!(Instant::now() < deadline, "no _IO_CONNECT came");
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .unwrap();
    bound_send();
    let coid = name_open(&ok127, 0).unwrap();
    assert_eq!(join(server), achid, "the local name is found first");
    assert_eq!(
        connect_flags(0, coid, 0, 0).map(|f| f & _NTO_COF_CLOEXEC),
        Ok(_NTO_COF_CLOEXEC)
    );
    name_close(coid).unwrap();
    // Destroying the channel removes the local name: the global one is what is left.
    channel_destroy(a.chid).unwrap();
    let server = p
        .spawn(move || {
            let mut buf = [0u8; 256];
            timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).unwrap();
            let r = msg_receive(gchid, &mut buf, None).unwrap();
            msg_reply(r, 0, &[]).unwrap();
        })
        .unwrap();
    let coid = name_open(&ok127, 0).unwrap();
    join(server);
    name_close(coid).unwrap();
    name_detach(&g, 0).unwrap();
    assert_eq!(name_open(&ok127, 0), Err(Errno::ENOENT));
}
