//! A reviewer's checks of what a student SEES in one Linux process: the thread states and
//! priorities the inspection API (`Kernel::thread_info`, `snapshot`, `listing`) shows for the
//! ways a thread can block that the other tests leave out (INTR, a pulse-only receive,
//! `asyncmsg_get`, `dispatch_block`, a thread pool), and that they end when the wait ends (a
//! timeout, an interrupt, the peer's death, a queued sender that leaves); the kernel-entry
//! counters of each call the docs count; the timeline, the chart and the step mode of a run
//! with a timeout, an unblock pulse and a client killed mid-call.
//!
//! Every blocking call is bounded (TimerTimeout, a dispatch timeout, or a scene that tears its
//! simulated processes down on drop, which releases their threads); every wait polls the
//! inspection API with a deadline; temporary files are removed.

#[path = "../../kernel-sim/tests/support/scene.rs"]
#[allow(dead_code)]
mod scene;
mod support;
#[path = "support/xml.rs"]
mod xml;

use std::sync::mpsc;
use std::time::Duration;

use scene::*;
use support::views::record;
use support::*;
use userlib::consts::*;
use userlib::{Config, Errno, Kernel, SigEvent, ThreadCtx, ThreadState};

// ------------------------------------------------------------------------------ helpers

fn kernel_with_ring() -> Kernel {
    Kernel::new(Config {
        trace_records: 16384,
        ..Config::default()
    })
    .expect("a kernel")
}

/// The listing's line of thread (pid, tid).
fn listing_line(k: &Kernel, pid: i32, tid: i32) -> String {
    let text = k.listing().to_string();
    text.lines()
        .skip_while(|l| !(l.contains("PID") && l.contains("TID")))
        .find(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() >= 5 && w[0] == pid.to_string() && w[1] == tid.to_string()
        })
        .unwrap_or_else(|| panic!("no line for pid {pid} tid {tid} in\n{text}"))
        .to_string()
}

// ------------------------------------------------------------------- 1. blocked states

/// InterruptWait: the thread shows INTR (QNX's STATE_INTR, 16) while it waits, in the
/// snapshot and the listing; the raise readies it (RUNNING after). Bounded by a TimerTimeout
/// with `_NTO_TIMEOUT_INTR`, it shows INTR until the timeout, then RUNNING: nothing lingers.
#[test]
fn an_interrupt_wait_shows_intr_until_the_interrupt_or_the_timeout() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let p = s.process();
    let t = s.thread(p, 10);
    let tid = t.tid();
    const LEVEL: i32 = 9;
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (ack_tx, ack_rx) = mpsc::channel();
    let done = s.run(t, move |t| {
        let id = t
            .interrupt_attach_event(LEVEL, &SigEvent::intr(), 0)
            .expect("InterruptAttachEvent");
        let _ = ack_tx.send(());
        bound(t);
        let first = t.interrupt_wait(0);
        let _ = ack_tx.send(());
        let _ = t.interrupt_unmask(LEVEL, id);
        let _ = go_rx.recv_timeout(DEADLINE);
        t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, Some(300_000_000))
            .expect("arm");
        let second = t.interrupt_wait(0);
        (first, second)
    });
    recv(&ack_rx);
    let i = wait_in_state(&k, p.pid, tid, ThreadState::Intr);
    assert_eq!(i.state.qnx_state(), STATE_INTR);
    assert!(
        listing_line(&k, p.pid, tid).contains("INTR"),
        "{}",
        k.listing()
    );
    assert_eq!(k.interrupt_raise(LEVEL), Ok(1), "one attachment delivered");
    recv(&ack_rx);
    wait_in_state(&k, p.pid, tid, ThreadState::Running);
    go_tx.send(()).unwrap();
    wait_in_state(&k, p.pid, tid, ThreadState::Intr);
    let (first, second) = recv(&done);
    assert_eq!(first, Ok(()));
    assert_eq!(second, Err(Errno::ETIMEDOUT));
    let i = wait_in_state(&k, p.pid, tid, ThreadState::Running);
    assert_eq!(i.state.qnx_state(), STATE_RUNNING);
}

/// MsgReceivePulse: RECEIVE-blocked on its channel like MsgReceive (one receiver). A message
/// sent meanwhile is not taken: its client stays SEND-blocked and queued. A pulse ends the
/// wait; the message then waits for a MsgReceive, which makes its client REPLY-blocked.
#[test]
fn a_pulse_only_receive_shows_receive_and_leaves_the_sender_send_blocked() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let (ts, tc, tp) = (s.thread(ps, 10), s.thread(pc, 10), s.thread(pc, 10));
    let (tids, tidc) = (ts.tid(), tc.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = tc
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (next_tx, next_rx) = mpsc::channel::<()>();
    let server = s.run(ts, move |t| {
        let mut buf = [0u8; 64];
        bound(t);
        let pulse = t
            .msg_receive_pulse(chid, &mut buf)
            .map(|()| userlib::Pulse::from_bytes(&buf).map(|p| p.code));
        let _ = next_rx.recv_timeout(DEADLINE);
        bound(t);
        let rcvid = t.msg_receive(chid, &mut buf, None);
        let _ = next_rx.recv_timeout(DEADLINE);
        (pulse, rcvid.and_then(|r| t.msg_reply(r, 0, b"")))
    });
    wait_in_state(&k, ps.pid, tids, ThreadState::Receive { chid });
    assert_eq!(channel(&k, ps.pid, chid).receivers, 1);
    let client = s.run(tc, move |t| {
        bound(t);
        t.msg_send(coid, b"m", &mut [])
    });
    wait_in_state(&k, pc.pid, tidc, ThreadState::Send { pid: ps.pid, chid });
    // The server stays RECEIVE-blocked: a pulse-only receive takes no message.
    let c = channel(&k, ps.pid, chid);
    assert_eq!((c.queued, c.receivers), (1, 1), "{c:?}");
    assert_eq!(info(&k, ps.pid, tids).state, ThreadState::Receive { chid });
    tp.msg_send_pulse(coid, 10, 3, 33).expect("pulse");
    wait_in_state(&k, ps.pid, tids, ThreadState::Running);
    assert_eq!(
        info(&k, pc.pid, tidc).state,
        ThreadState::Send { pid: ps.pid, chid },
        "the message is still queued"
    );
    next_tx.send(()).unwrap();
    wait_in_state(
        &k,
        pc.pid,
        tidc,
        ThreadState::Reply {
            pid: ps.pid,
            chid,
            tid: tids,
        },
    );
    next_tx.send(()).unwrap();
    let (pulse, replied) = recv(&server);
    assert_eq!(pulse, Ok(Some(3)));
    assert_eq!(replied, Ok(()));
    assert_eq!(recv(&client), Ok(0));
    wait_in_state(&k, pc.pid, tidc, ThreadState::Running);
    drop(tp);
}

/// `asyncmsg_get` with nothing ready blocks the receiver (RECEIVE on the asyncmsg channel,
/// as QNX's kernel blocks it in STATE_RECEIVE); a batch handed over by the producer's flush
/// ends it, and the view follows.
#[test]
fn a_blocked_asyncmsg_get_shows_receive_on_its_channel() {
    use userlib::asyncmsg::*;
    let k = kernel_with_ring();
    let consumer = process(&k);
    let producer = process(&k);
    let cpid = consumer.pid();
    let (chid_tx, chid_rx) = mpsc::channel();
    let cons = consumer
        .spawn(move || {
            let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).expect("channel");
            let _ = chid_tx.send((chid, userlib::qnx::gettid().expect("gettid")));
            let n = support::asyncmsg::get_within(chid, LONG).map(|b| b.len());
            let _ = asyncmsg_channel_destroy(chid);
            n
        })
        .expect("consumer");
    let (chid, ctid) = recv(&chid_rx);
    wait_in_state(&k, cpid, ctid, ThreadState::Receive { chid });
    let c = channel(&k, cpid, chid);
    assert_eq!(c.receivers, 1, "{c:?}");
    run_in(&producer, move || {
        let a = support::asyncmsg::attr(100, Duration::ZERO, 8);
        let coid = support::asyncmsg::connect(cpid, chid, 0, &a);
        support::asyncmsg::put(coid, b"one".to_vec(), 1);
        support::asyncmsg::put(coid, b"two".to_vec(), 2);
        asyncmsg_flush_timeout(coid, LONG).expect("flush");
        let _ = asyncmsg_connect_detach(coid);
    });
    assert_eq!(join(cons), Ok(2));
}

/// `dispatch_block` is a MsgReceive on the dispatch's channel: the thread shows RECEIVE
/// (chid), and RUNNING again when its dispatch timeout ends the wait.
#[test]
fn dispatch_block_shows_receive_on_the_dispatch_channel_until_its_timeout() {
    use userlib::dispatch::*;
    let k = kernel_with_ring();
    let server = process(&k);
    let spid = server.pid();
    let (tx, rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let h = server
        .spawn(move || {
            let dpp = dispatch_create().expect("dispatch_create");
            message_attach(&dpp, None, 0x100, 0x1ff, |_, _, _| 0).expect("message_attach");
            dispatch_timeout(&dpp, Some(Duration::from_millis(400))).expect("timeout");
            let mut ctp = dispatch_context_alloc(&dpp).expect("context");
            let _ = tx.send((dpp.chid(), userlib::qnx::gettid().expect("gettid")));
            let r = dispatch_block(&mut ctp).map(|()| ctp.rcvid());
            let _ = tx.send((-1, -1));
            // (Kept alive until the test has looked.)
            std::thread::sleep(Duration::from_millis(1));
            let _ = done_rx.recv_timeout(DEADLINE);
            let _ = dispatch_destroy(&dpp);
            r
        })
        .expect("server");
    let (chid, tid) = recv(&rx);
    wait_in_state(&k, spid, tid, ThreadState::Receive { chid });
    assert_eq!(channel(&k, spid, chid).receivers, 1);
    // The dispatch timeout ends the wait (QNX's dispatch_block returns a context with no
    // message: rcvid -1 here); the view no longer shows it RECEIVE-blocked.
    assert_eq!(recv(&rx), (-1, -1));
    wait_in_state(&k, spid, tid, ThreadState::Running);
    assert_eq!(channel(&k, spid, chid).receivers, 0);
    done_tx.send(()).unwrap();
    let r = join(h);
    assert!(matches!(r, Ok(-1) | Err(Errno::ETIMEDOUT)), "{r:?}");
}

/// A thread pool over a dispatch handle: its waiting threads (at least `lo_water`) are shown
/// RECEIVE-blocked on the dispatch's channel, as `pidin` shows a resource manager's pool.
#[test]
fn a_thread_pools_waiting_threads_show_receive_on_its_channel() {
    use userlib::dispatch::*;
    use userlib::thread_pool::*;
    let k = kernel_with_ring();
    let server = process(&k);
    let spid = server.pid();
    let _b = bind(&server);
    let dpp = dispatch_create().expect("dispatch_create");
    message_attach(&dpp, None, 0x100, 0x1ff, |_, _, _| 0).expect("message_attach");
    let chid = dpp.chid();
    let mut attr = ThreadPoolAttr::new(DispatchPool::new(&dpp));
    attr.lo_water = 2;
    attr.increment = 1;
    attr.hi_water = 3;
    attr.maximum = 4;
    let pool = thread_pool_create(attr, 0).expect("thread_pool_create");
    thread_pool_start(&pool).expect("thread_pool_start");
    wait_until(
        "two pool threads RECEIVE-blocked on the dispatch channel",
        || {
            k.snapshot()
                .threads
                .iter()
                .filter(|t| t.pid == spid && t.state == ThreadState::Receive { chid })
                .count()
                >= 2
        },
    );
    let c = channel(&k, spid, chid);
    assert!(c.receivers >= 2, "{c:?}");
    let _ = thread_pool_destroy(&pool);
    let _ = dispatch_destroy(&dpp);
}

// ------------------------------------------------------------------- 2. the peer dies

/// A server process torn down while one client is REPLY-blocked on it and another
/// SEND-blocked: both leave with ESRCH and show RUNNING; the server's threads and channel are
/// gone from the view; nothing is left queued anywhere.
#[test]
fn a_server_that_dies_leaves_no_client_blocked_in_the_view() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let (ts, t1, t2) = (s.thread(ps, 10), s.thread(pc, 10), s.thread(pc, 10));
    let (tids, tid1, tid2) = (ts.tid(), t1.tid(), t2.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = t1
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (took_tx, took_rx) = mpsc::channel();
    let _server = s.run(ts, move |t| {
        bound(t);
        let r = t.msg_receive(chid, &mut [0u8; 8], None);
        let _ = took_tx.send(r.is_ok());
        // Holds the message until its process is torn down.
        std::thread::sleep(Duration::from_millis(1));
    });
    let c1 = s.run(t1, move |t| {
        bound(t);
        t.msg_send(coid, b"first", &mut [])
    });
    assert!(recv(&took_rx));
    wait_in_state(
        &k,
        pc.pid,
        tid1,
        ThreadState::Reply {
            pid: ps.pid,
            chid,
            tid: tids,
        },
    );
    let c2 = s.run(t2, move |t| {
        bound(t);
        t.msg_send(coid, b"second", &mut [])
    });
    wait_in_state(&k, pc.pid, tid2, ThreadState::Send { pid: ps.pid, chid });
    k.process_destroy(ps).expect("the server's teardown");
    assert_eq!(recv(&c1), Err(Errno::ESRCH));
    assert_eq!(recv(&c2), Err(Errno::ESRCH));
    wait_in_state(&k, pc.pid, tid1, ThreadState::Running);
    wait_in_state(&k, pc.pid, tid2, ThreadState::Running);
    let snap = k.snapshot();
    assert!(
        !snap.threads.iter().any(|t| t.pid == ps.pid),
        "{}",
        k.listing()
    );
    assert!(
        !snap.channels.iter().any(|c| c.pid == ps.pid),
        "{}",
        k.listing()
    );
    assert!(
        snap.threads.iter().all(|t| t.state == ThreadState::Running),
        "{}",
        k.listing()
    );
}

/// A client process torn down while its thread is REPLY-blocked: the thread leaves the view,
/// the server's priority it had inherited from the client stays until the server receives
/// again (as QNX's), and the server's late MsgReply says ESRCH.
#[test]
fn a_client_killed_mid_call_leaves_the_view_and_its_rcvid_goes_stale() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let (ts, tc) = (s.thread(ps, 10), s.thread(pc, 20));
    let (tids, tidc) = (ts.tid(), tc.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = tc
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let server = s.run(ts, move |t| {
        bound(t);
        let r = t.msg_receive(chid, &mut [0u8; 8], None).expect("receive");
        let _ = go_rx.recv_timeout(DEADLINE);
        t.msg_reply(r, 0, b"late")
    });
    let _client = s.run(tc, move |t| {
        bound(t);
        t.msg_send(coid, b"x", &mut [0u8; 4])
    });
    wait_in_state(
        &k,
        pc.pid,
        tidc,
        ThreadState::Reply {
            pid: ps.pid,
            chid,
            tid: tids,
        },
    );
    let i = wait_info(
        &k,
        ps.pid,
        tids,
        "the server at its client's priority",
        |i| i.priority == 20,
    );
    assert_eq!(i.base_priority, 10);
    k.process_destroy(pc).expect("the client's teardown");
    wait_until("the client's thread gone from the view", || {
        k.thread_info(pc.pid, tidc).is_err()
    });
    assert!(!k.snapshot().threads.iter().any(|t| t.pid == pc.pid));
    go_tx.send(()).unwrap();
    assert_eq!(recv(&server), Err(Errno::ESRCH));
}

// ------------------------------------------------------------------- 3. priorities

/// Server boost: a busy server (base 10, holding a message from a priority-10 client) is
/// boosted to 25 by a client that queues SEND-blocked behind it; when that client leaves the
/// queue unreceived (its SEND timeout), the boost goes with it: the server's priority shows
/// 10 again (docs/design.md, "Priorities").
#[test]
fn a_boost_ends_when_the_queued_sender_times_out() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let (ts, tlo, thi) = (s.thread(ps, 10), s.thread(pc, 10), s.thread(pc, 25));
    let (tids, tidhi) = (ts.tid(), thi.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = tlo
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (took_tx, took_rx) = mpsc::channel();
    let server = s.run(ts, move |t| {
        bound(t);
        let r = t.msg_receive(chid, &mut [0u8; 8], None).expect("receive");
        let _ = took_tx.send(());
        let _ = go_rx.recv_timeout(DEADLINE);
        t.msg_reply(r, 0, b"")
    });
    let lo = s.run(tlo, move |t| {
        bound(t);
        t.msg_send(coid, b"lo", &mut [])
    });
    recv(&took_rx);
    let i = wait_info(&k, ps.pid, tids, "the server at 10", |i| i.priority == 10);
    assert_eq!(i.base_priority, 10);
    let hi = s.run(thi, move |t| {
        t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(400_000_000))
            .expect("arm");
        t.msg_send(coid, b"hi", &mut [])
    });
    wait_in_state(&k, pc.pid, tidhi, ThreadState::Send { pid: ps.pid, chid });
    let i = wait_info(&k, ps.pid, tids, "the server boosted to 25", |i| {
        i.priority == 25
    });
    assert_eq!(i.base_priority, 10);
    assert_eq!(recv(&hi), Err(Errno::ETIMEDOUT));
    let i = wait_info(&k, ps.pid, tids, "the boost gone with the sender", |i| {
        i.priority == 10
    });
    assert_eq!(i.base_priority, 10);
    let line = listing_line(&k, ps.pid, tids);
    let w: Vec<&str> = line.split_whitespace().collect();
    assert_eq!((w[2], w[3]), ("10", "10"), "PRI and BASE: {line}");
    assert_eq!(channel(&k, ps.pid, chid).queued, 0);
    go_tx.send(()).unwrap();
    assert_eq!(recv(&server), Ok(()));
    assert_eq!(recv(&lo), Ok(0));
}

/// The same boost, ended by the queued sender's process dying instead of a timeout.
#[test]
fn a_boost_ends_when_the_queued_senders_process_dies() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc, pk) = (s.process(), s.process(), s.process());
    let (ts, tlo, thi) = (s.thread(ps, 10), s.thread(pc, 10), s.thread(pk, 30));
    let (tids, tidhi) = (ts.tid(), thi.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = tlo
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let coid_hi = thi
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (took_tx, took_rx) = mpsc::channel();
    let server = s.run(ts, move |t| {
        bound(t);
        let r = t.msg_receive(chid, &mut [0u8; 8], None).expect("receive");
        let _ = took_tx.send(());
        let _ = go_rx.recv_timeout(DEADLINE);
        t.msg_reply(r, 0, b"")
    });
    let lo = s.run(tlo, move |t| {
        bound(t);
        t.msg_send(coid, b"lo", &mut [])
    });
    recv(&took_rx);
    let hi = s.run(thi, move |t| {
        bound(t);
        t.msg_send(coid_hi, b"hi", &mut [])
    });
    wait_in_state(&k, pk.pid, tidhi, ThreadState::Send { pid: ps.pid, chid });
    wait_info(&k, ps.pid, tids, "the server boosted to 30", |i| {
        i.priority == 30
    });
    k.process_destroy(pk).expect("teardown");
    assert_eq!(recv(&hi), Err(Errno::ESRCH));
    let i = wait_info(
        &k,
        ps.pid,
        tids,
        "the boost gone with the dead sender",
        |i| i.priority == 10,
    );
    assert_eq!(i.base_priority, 10);
    assert_eq!(channel(&k, ps.pid, chid).queued, 0);
    go_tx.send(()).unwrap();
    assert_eq!(recv(&server), Ok(()));
    assert_eq!(recv(&lo), Ok(0));
}

// ------------------------------------------------------------------- 4. counters

/// Thread, process and kernel entries of one thread (pid, tid).
fn entries(k: &Kernel, pid: i32, tid: i32) -> (u64, u64, u64) {
    (
        info(k, pid, tid).kernel_entries,
        k.process_counters(pid).expect("counters").kernel_entries,
        k.kernel_entries(),
    )
}

/// Each kernel call is one entry, counted for the thread, its process and the kernel, whether
/// it succeeds or fails in the kernel: ChannelCreate, ConnectAttach, TimerTimeout,
/// MsgSendPulse, MsgRead, MsgWrite, MsgInfo, MsgDeliverEvent, ConnectDetach, a MsgSend on a bad
/// coid. Reading the view (thread_info, snapshot, listing, counters, pools) is no entry.
#[test]
fn every_kernel_call_is_one_entry_and_looking_is_none() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let (ts, tc) = (s.thread(ps, 10), s.thread(pc, 10));
    let (tids, tidc) = (ts.tid(), tc.tid());
    let one = |t: &ThreadCtx, what: &str, f: &dyn Fn(&ThreadCtx)| {
        let before = entries(&k, t.pid(), t.tid());
        f(t);
        let after = entries(&k, t.pid(), t.tid());
        assert_eq!(
            (after.0 - before.0, after.1 - before.1, after.2 - before.2),
            (1, 1, 1),
            "{what}: (thread, process, kernel) entries"
        );
    };
    let chid = std::cell::Cell::new(0);
    one(&ts, "ChannelCreate", &|t| {
        chid.set(t.channel_create(0).expect("channel"))
    });
    let chid = chid.get();
    let coid = std::cell::Cell::new(0);
    one(&tc, "ConnectAttach", &|t| {
        coid.set(
            t.connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
                .expect("connect"),
        )
    });
    let coid = coid.get();
    one(&tc, "MsgSendPulse", &|t| {
        t.msg_send_pulse(coid, 10, 1, 2).expect("pulse")
    });
    one(&tc, "TimerTimeout", &|t| {
        t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(BOUND_NS))
            .expect("arm");
    });
    one(&tc, "TimerTimeout with flags 0", &|t| {
        t.timer_timeout(CLOCK_MONOTONIC, 0, None).expect("disarm");
    });
    one(&tc, "a failing MsgSend (EBADF)", &|t| {
        assert_eq!(t.msg_send(0x4000_0f00, b"x", &mut []), Err(Errno::EBADF))
    });
    // Looking costs nothing.
    let before = (entries(&k, pc.pid, tidc), entries(&k, ps.pid, tids));
    for _ in 0..3 {
        let _ = k.snapshot();
        let _ = k.listing().to_string();
        let _ = k.thread_info(ps.pid, tids);
        let _ = k.process_counters(ps.pid);
        let _ = k.pool_usage();
    }
    assert_eq!(
        (entries(&k, pc.pid, tidc), entries(&k, ps.pid, tids)),
        before,
        "inspection made kernel entries"
    );
    // A held message: MsgRead, MsgWrite, MsgInfo, MsgDeliverEvent from the server.
    let client = s.run(tc, move |t| {
        bound(t);
        let mut reply = [0u8; 8];
        t.msg_send(coid, b"0123456789", &mut reply)
            .map(|st| (st, reply))
    });
    let mut buf = [0u8; 64];
    bound(&ts);
    assert_eq!(
        ts.msg_receive(chid, &mut buf, None),
        Ok(0),
        "the pulse first"
    );
    bound(&ts);
    let rcvid = ts.msg_receive(chid, &mut buf[..4], None).expect("receive");
    one(&ts, "MsgRead", &|t| {
        let mut rest = [0u8; 6];
        assert_eq!(t.msg_read(rcvid, &mut rest, 4), Ok(6));
    });
    one(&ts, "MsgWrite", &|t| {
        assert_eq!(t.msg_write(rcvid, b"ab", 0), Ok(2));
    });
    one(&ts, "MsgInfo", &|t| {
        t.msg_info(rcvid).expect("MsgInfo");
    });
    one(&ts, "MsgDeliverEvent", &|t| {
        t.msg_deliver_event(rcvid, &SigEvent::none())
            .expect("MsgDeliverEvent")
    });
    one(&ts, "MsgReply", &|t| {
        t.msg_reply(rcvid, 3, b"").expect("reply")
    });
    let (st, reply) = recv(&client).expect("the client's MsgSend");
    assert_eq!((st, &reply[..2]), (3, &b"ab"[..]));
    let tc2 = s.thread(pc, 10);
    one(&tc2, "ConnectDetach", &|t| {
        // (A coid of the process: connections are per process.)
        t.connect_detach(coid).expect("detach")
    });
}

/// A call that blocks and times out is one entry (besides its TimerTimeout); a REPLY-blocked
/// client on an `_NTO_CHF_UNBLOCK` channel whose timeout sends the unblock pulse and keeps it
/// waiting is still one MsgSend entry; the server's receive of the pulse and its MsgError are
/// one each. Per thread, per process and in total.
#[test]
fn a_timed_out_call_and_an_unblock_request_are_one_entry_each() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(_NTO_CHF_UNBLOCK);
    let (tids, tidc) = (ts.tid(), tc.tid());
    // A receive that times out: TimerTimeout + MsgReceive.
    let b = entries(&k, ps.pid, tids);
    let blocks = k.process_counters(ps.pid).unwrap().blocks;
    ts.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(100_000_000))
        .expect("arm");
    assert_eq!(
        ts.msg_receive(chid, &mut [0u8; 8], None),
        Err(Errno::ETIMEDOUT)
    );
    let a = entries(&k, ps.pid, tids);
    assert_eq!((a.0 - b.0, a.1 - b.1, a.2 - b.2), (2, 2, 2));
    assert_eq!(k.process_counters(ps.pid).unwrap().blocks - blocks, 1);

    // The unblock protocol.
    let bc = entries(&k, pc.pid, tidc);
    let client = s.run(tc, move |t| {
        t.timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(200_000_000),
        )
        .expect("arm");
        t.msg_send(coid, b"x", &mut [])
    });
    let bs = entries(&k, ps.pid, tids);
    bound(&ts);
    let rcvid = ts.msg_receive(chid, &mut [0u8; 8], None).expect("receive");
    wait_until("the unblock pulse queued", || {
        channel(&k, ps.pid, chid).queued == 1
    });
    let mut buf = [0u8; 64];
    bound(&ts);
    assert_eq!(ts.msg_receive(chid, &mut buf, None), Ok(0));
    ts.msg_error(rcvid, Errno::ETIMEDOUT).expect("MsgError");
    assert_eq!(recv(&client), Err(Errno::ETIMEDOUT));
    let ac = entries(&k, pc.pid, tidc);
    let as_ = entries(&k, ps.pid, tids);
    assert_eq!(
        (ac.0 - bc.0, ac.1 - bc.1),
        (2, 2),
        "the client: TimerTimeout and one MsgSend"
    );
    assert_eq!(
        (as_.0 - bs.0, as_.1 - bs.1),
        (5, 5),
        "the server: two TimerTimeouts, two MsgReceives, one MsgError"
    );
    assert_eq!(as_.2 - bc.2, 7, "the kernel's total");
    let pc_counters = k.process_counters(ps.pid).unwrap();
    assert_eq!(pc_counters.pulses_received, 1);
    assert_eq!(pc_counters.msgs_received, 1);
    assert_eq!(pc_counters.replies, 1, "MsgError counts as a reply");
}

/// asyncmsg: puts under the count trigger make no kernel entry anywhere (not the process's,
/// not the kernel's); the flush is one entry; a get of the whole batch is one entry of the
/// consumer's.
#[test]
fn asyncmsg_puts_are_free_and_a_flush_and_a_get_are_one_entry_each() {
    use userlib::asyncmsg::*;
    let k = kernel_with_ring();
    let consumer = process(&k);
    let producer = process(&k);
    let (cpid, ppid) = (consumer.pid(), producer.pid());
    let cb = bind(&consumer);
    let chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 16, None, None)
        .expect("channel");
    let ctid = userlib::qnx::gettid().expect("gettid");
    let (step_tx, step_rx) = mpsc::channel::<()>();
    let (ack_tx, ack_rx) = mpsc::channel();
    let h = producer
        .spawn(move || {
            let a = support::asyncmsg::attr(100, Duration::ZERO, 16);
            let coid = support::asyncmsg::connect(cpid, chid, 0, &a);
            let tid = userlib::qnx::gettid().expect("gettid");
            let _ = ack_tx.send(tid);
            let _ = step_rx.recv_timeout(DEADLINE);
            for i in 0..5 {
                support::asyncmsg::put(coid, vec![b'a' + i as u8; 4], i);
            }
            let _ = ack_tx.send(tid);
            let _ = step_rx.recv_timeout(DEADLINE);
            asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).expect("flush");
            let _ = ack_tx.send(tid);
            let _ = step_rx.recv_timeout(DEADLINE);
            let _ = asyncmsg_connect_detach(coid);
        })
        .expect("producer");
    let ptid = recv(&ack_rx);
    // The connection's library thread starts on its own: wait until it waits quietly
    // (RECEIVE-blocked on its private channel), so that only the puts could move the counts.
    wait_until("the producer's library thread waiting", || {
        let snap = k.snapshot();
        let lib: Vec<_> = snap
            .threads
            .iter()
            .filter(|t| t.pid == ppid && t.tid != ptid)
            .collect();
        !lib.is_empty()
            && lib
                .iter()
                .all(|t| matches!(t.state, ThreadState::Receive { .. }))
    });
    let e0 = (
        info(&k, ppid, ptid).kernel_entries,
        k.process_counters(ppid).unwrap().kernel_entries,
        k.kernel_entries(),
    );
    step_tx.send(()).unwrap();
    recv(&ack_rx);
    let e1 = (
        info(&k, ppid, ptid).kernel_entries,
        k.process_counters(ppid).unwrap().kernel_entries,
        k.kernel_entries(),
    );
    assert_eq!(e1, e0, "five puts under the trigger entered the kernel");
    step_tx.send(()).unwrap();
    recv(&ack_rx);
    let e2 = info(&k, ppid, ptid).kernel_entries;
    assert_eq!(e2 - e1.0, 1, "the flush: one trigger");
    let g0 = info(&k, cpid, ctid).kernel_entries;
    let (got, sizes) = support::asyncmsg::take(chid, 5);
    assert_eq!(got.len(), 5);
    let g1 = info(&k, cpid, ctid).kernel_entries;
    assert_eq!(
        g1 - g0,
        2 * sizes.len() as u64,
        "a TimerTimeout and one get per batch ({sizes:?})"
    );
    let cc = k.process_counters(cpid).unwrap();
    assert_eq!(cc.async_msgs_received, 5);
    assert_eq!(cc.async_batches_received, sizes.len() as u64);
    step_tx.send(()).unwrap();
    join(h);
    let _ = asyncmsg_channel_destroy(chid);
    drop(cb);
}

// ------------------------------------------------------------------- 5. the recordings

fn events(json: &serde_json::Value) -> &Vec<serde_json::Value> {
    json["traceEvents"].as_array().expect("traceEvents")
}

fn ts_ns(e: &serde_json::Value) -> u64 {
    (e["ts"].as_f64().expect("ts") * 1000.0).round() as u64
}

/// The call slices (name, begin, end) of trace track (pid, tid).
fn call_slices(json: &serde_json::Value, pid: i64, tid: i64) -> Vec<(String, u64, u64)> {
    let mut open: Vec<(String, u64)> = Vec::new();
    let mut out = Vec::new();
    for e in events(json) {
        if e["pid"].as_i64() != Some(pid) || e["tid"].as_i64() != Some(tid) {
            continue;
        }
        match e["ph"].as_str() {
            Some("B") => open.push((e["name"].as_str().unwrap_or("").into(), ts_ns(e))),
            Some("E") => {
                let (n, b) = open.pop().expect("E without B");
                out.push((n, b, ts_ns(e)));
            }
            Some("X") => {
                let d = (e["dur"].as_f64().unwrap_or(0.0) * 1000.0).round() as u64;
                out.push((
                    e["name"].as_str().unwrap_or("").into(),
                    ts_ns(e),
                    ts_ns(e) + d,
                ));
            }
            _ => {}
        }
    }
    assert!(open.is_empty(), "open slices on {pid}/{tid}: {open:?}");
    out
}

/// The innermost slice name around `t` on track (pid, tid).
fn around(json: &serde_json::Value, pid: i64, tid: i64, t: u64) -> Option<String> {
    call_slices(json, pid, tid)
        .into_iter()
        .filter(|s| s.1 <= t && t <= s.2)
        .min_by_key(|s| s.2 - s.1)
        .map(|s| s.0)
}

/// Flows by (cat, id): their points (ph, pid, tid, ns) in file order.
type Flows = std::collections::BTreeMap<(String, String), Vec<(String, i64, i64, u64)>>;

fn flows(json: &serde_json::Value) -> Flows {
    let mut m = Flows::new();
    for e in events(json) {
        if let Some(ph @ ("s" | "t" | "f")) = e["ph"].as_str() {
            m.entry((
                e["cat"].as_str().unwrap_or("").to_string(),
                e["id"].to_string(),
            ))
            .or_default()
            .push((
                ph.to_string(),
                e["pid"].as_i64().unwrap(),
                e["tid"].as_i64().unwrap(),
                ts_ns(e),
            ));
        }
    }
    m
}

/// Every B/E balances per track and no timestamp goes backwards within a B/E pair.
fn check_balanced(json: &serde_json::Value) {
    use std::collections::HashMap;
    let mut open: HashMap<(i64, i64), Vec<(u64, String)>> = HashMap::new();
    for e in events(json) {
        let key = (
            e["pid"].as_i64().unwrap_or(-1),
            e["tid"].as_i64().unwrap_or(-1),
        );
        match e["ph"].as_str() {
            Some("B") => open
                .entry(key)
                .or_default()
                .push((ts_ns(e), e["name"].as_str().unwrap_or("").into())),
            Some("E") => {
                let (b, n) = open
                    .get_mut(&key)
                    .and_then(Vec::pop)
                    .unwrap_or_else(|| panic!("E without B: {e}"));
                assert!(ts_ns(e) >= b, "{n} ends before it begins");
            }
            _ => {}
        }
    }
    for (k, v) in open {
        assert!(v.is_empty(), "track {k:?} left open: {v:?}");
    }
}

/// The state spans (name, begin) of every states track of simulated thread (pid, tid): the
/// timeline's states tracks are B/E pairs named by QNX's state names, tagged with the thread.
fn state_names_of(json: &serde_json::Value, pid: i64) -> Vec<(i64, String, u64)> {
    const STATES: [&str; 7] = [
        "RUNNING", "READY", "SEND", "RECEIVE", "REPLY", "INTR", "DEAD",
    ];
    let mut v: Vec<(i64, String, u64)> = events(json)
        .iter()
        .filter(|e| {
            e["ph"] == "B"
                && e["pid"].as_i64() == Some(pid)
                && e["name"].as_str().is_some_and(|n| STATES.contains(&n))
        })
        .map(|e| {
            (
                e["tid"].as_i64().unwrap(),
                e["name"].as_str().unwrap().to_string(),
                ts_ns(e),
            )
        })
        .collect();
    v.sort_by_key(|x| x.2);
    v
}

/// A run with the hard cases a lab hits: (1) a client whose SEND timeout fires before any
/// receive; (2) a client REPLY-blocked on an `_NTO_CHF_UNBLOCK` channel whose timeout makes
/// the kernel send the unblock pulse, answered with MsgError; (3) a client whose process is
/// torn down while REPLY-blocked, its rcvid then replied to (ESRCH). In the timeline: spans
/// balance; every exchange flow starts at a MsgSend and its points come in causal order
/// (send, then receive, then reply), each inside the right call; the timed-out send's flow
/// reaches no receive; the unblock pulse flows from the client's side to the server's
/// MsgReceive; the client's state spans end in RUNNING after its timeouts. The chart is
/// well-formed XML.
#[test]
fn the_timeline_and_chart_of_a_run_with_a_timeout_an_unblock_and_a_kill_are_whole() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc, pk) = (s.process(), s.process(), s.process());
    let (ts, tc, tk) = (s.thread(ps, 10), s.thread(pc, 10), s.thread(pk, 10));
    let (tids, tidc, tidk) = (ts.tid(), tc.tid(), tk.tid());
    let chid = ts.channel_create(_NTO_CHF_UNBLOCK).expect("channel");
    let coid = tc
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let coid_k = tk
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (json, svg) = record(&k, || {
        let (go_tx, go_rx) = mpsc::channel::<u32>();
        let client = s.run(tc, move |t| {
            // (1) SEND timeout.
            t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(100_000_000))
                .expect("arm");
            let first = t.msg_send(coid, b"one", &mut []);
            let _ = go_rx.recv_timeout(DEADLINE);
            // (2) REPLY timeout on an _NTO_CHF_UNBLOCK channel.
            t.timer_timeout(
                CLOCK_MONOTONIC,
                _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                Some(150_000_000),
            )
            .expect("arm");
            let second = t.msg_send(coid, b"two", &mut []);
            (first, second)
        });
        wait_in_state(&k, pc.pid, tidc, ThreadState::Running);
        wait_until("the first send to time out", || {
            k.thread_info(pc.pid, tidc)
                .is_ok_and(|i| i.state == ThreadState::Running)
                && channel(&k, ps.pid, chid).queued == 0
                && k.thread_info(pc.pid, tidc).unwrap().kernel_entries >= 3
        });
        go_tx.send(1).unwrap();
        wait_in_state(&k, pc.pid, tidc, ThreadState::Send { pid: ps.pid, chid });
        let mut buf = [0u8; 64];
        bound(&ts);
        let rcvid = ts.msg_receive(chid, &mut buf, None).expect("receive two");
        bound(&ts);
        assert_eq!(
            ts.msg_receive(chid, &mut buf, None),
            Ok(0),
            "the unblock pulse"
        );
        let p = userlib::Pulse::from_bytes(&buf).expect("pulse");
        assert_eq!(p.code, _PULSE_CODE_UNBLOCK);
        ts.msg_error(rcvid, Errno::ETIMEDOUT).expect("MsgError");
        let (first, second) = recv(&client);
        assert_eq!(first, Err(Errno::ETIMEDOUT));
        assert_eq!(second, Err(Errno::ETIMEDOUT));
        // (3) A client killed mid-call.
        let _killed = s.run(tk, move |t| {
            bound(t);
            t.msg_send(coid_k, b"three", &mut [])
        });
        bound(&ts);
        let rcvid = ts.msg_receive(chid, &mut buf, None).expect("receive three");
        wait_in_state(
            &k,
            pk.pid,
            tidk,
            ThreadState::Reply {
                pid: ps.pid,
                chid,
                tid: tids,
            },
        );
        k.process_destroy(pk).expect("teardown");
        // On an _NTO_CHF_UNBLOCK channel the killed client stays REPLY-blocked until the
        // server answers the unblock pulse (docs/deviations.md, "Processes and threads").
        bound(&ts);
        assert_eq!(
            ts.msg_receive(chid, &mut buf, None),
            Ok(0),
            "the unblock pulse"
        );
        let p = userlib::Pulse::from_bytes(&buf).expect("pulse");
        assert_eq!(p.code, _PULSE_CODE_UNBLOCK);
        let r = ts.msg_reply(rcvid, 0, b"");
        assert!(matches!(r, Ok(()) | Err(Errno::ESRCH)), "{r:?}");
        wait_until("the killed client gone", || {
            k.thread_info(pk.pid, tidk).is_err()
        });
    });
    check_balanced(&json);
    let fl = flows(&json);
    let exchanges: Vec<_> = fl.iter().filter(|((c, _), _)| c == "exchange").collect();
    assert!(!exchanges.is_empty(), "no exchange flows: {fl:?}");
    let (spid, cpid, kpid) = (ps.pid as i64, pc.pid as i64, pk.pid as i64);
    let mut reached = 0;
    for ((_, id), pts) in &exchanges {
        let first = &pts[0];
        assert_eq!(
            first.0, "s",
            "flow {id} does not start with its send: {pts:?}"
        );
        assert!(
            first.1 == cpid || first.1 == kpid,
            "flow {id} starts in pid {}",
            first.1
        );
        assert_eq!(
            around(&json, first.1, first.2, first.3).as_deref(),
            Some("MsgSend"),
            "flow {id}'s start is not inside the MsgSend: {pts:?}"
        );
        for w in pts.windows(2) {
            assert!(w[1].3 >= w[0].3, "flow {id} goes back in time: {pts:?}");
        }
        for p in &pts[1..] {
            assert_eq!(p.1, spid, "flow {id} reaches another process: {pts:?}");
            let name = around(&json, p.1, p.2, p.3);
            assert!(
                matches!(
                    name.as_deref(),
                    Some("MsgReceive" | "MsgReply" | "MsgError")
                ),
                "flow {id} point {p:?} inside {name:?}"
            );
        }
        if pts.len() > 1 {
            reached += 1;
        }
    }
    assert_eq!(reached, 2, "the two received messages: {exchanges:?}");
    // Both of the client's MsgSends are on its call track, the timed-out one included.
    let ctrack = exchanges
        .iter()
        .map(|(_, pts)| &pts[0])
        .find(|p| p.1 == cpid)
        .map(|p| p.2)
        .expect("a flow from the client");
    let sends = call_slices(&json, cpid, ctrack)
        .into_iter()
        .filter(|s| s.0 == "MsgSend")
        .count();
    assert_eq!(sends, 2, "the client's MsgSend slices");
    // The unblock pulse: from the client's side to the server's MsgReceive.
    let pulses: Vec<_> = fl.iter().filter(|((c, _), _)| c == "pulse").collect();
    assert_eq!(pulses.len(), 2, "two unblock pulses: {fl:?}");
    for (_, pts) in pulses {
        assert_eq!(pts[0].0, "s", "{pts:?}");
        let last = pts.last().unwrap();
        assert_eq!(last.0, "f", "{pts:?}");
        assert_eq!(last.1, spid);
        assert_eq!(
            around(&json, last.1, last.2, last.3).as_deref(),
            Some("MsgReceive")
        );
        assert!(pts.windows(2).all(|w| w[1].3 >= w[0].3), "{pts:?}");
    }
    // The client's states: SEND then RUNNING (timeout), SEND then REPLY then RUNNING.
    let st: Vec<String> = state_names_of(&json, cpid)
        .into_iter()
        .map(|x| x.1)
        .collect();
    let want = ["SEND", "RUNNING", "SEND", "REPLY", "RUNNING"];
    let mut at = 0;
    for w in want {
        match st[at..].iter().position(|s| s == w) {
            Some(i) => at += i + 1,
            None => panic!("the client's states {st:?} lack {want:?} in order"),
        }
    }
    let last_state = st.last().cloned();
    assert!(
        matches!(last_state.as_deref(), Some("RUNNING" | "READY")),
        "the client's last state {last_state:?} (of {st:?})"
    );
    // The killed client's last state is no blocked state.
    let kst = state_names_of(&json, kpid);
    let klast = kst.last().map(|x| x.1.as_str());
    assert!(
        !matches!(klast, Some("SEND" | "REPLY" | "RECEIVE")),
        "the killed client's track ends {klast:?}: {kst:?}"
    );
    // The chart parses as XML.
    xml::parse_xml(&svg).unwrap_or_else(|e| panic!("the chart is not XML: {e}"));
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"));
}

// ------------------------------------------------------------------- 6. the step mode

/// The stepper's output, shared with the test.
#[derive(Clone, Default)]
struct Out(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Out {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Out {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Runs `f` on a new OS thread with the dispatch `d` as its default subscriber.
fn on<T: Send + 'static>(
    d: &tracing::Dispatch,
    f: impl FnOnce() -> T + Send + 'static,
) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    let d = d.clone();
    std::thread::spawn(move || {
        let _g = tracing::dispatcher::set_default(&d);
        let _ = tx.send(f());
    });
    rx
}

/// The step mode: a pulse sent to a RECEIVE-blocked server wakes it, and the sender's step
/// says so (woken by this MsgSendPulse); a client whose SEND timeout fires is shown leaving
/// SEND for RUNNING or READY; its state after the step is no longer SEND.
#[test]
fn the_step_mode_names_who_a_pulse_woke_and_shows_a_timeout_leaving_send() {
    step_pulse_and_timeout(false);
}

/// The step mode puts a kernel timeout's end of a SEND-blocked wait down to the waiting call
/// itself: "SEND -> RUNNING (woken by this MsgSend)", as if the call had woken its own thread.
#[test]
fn the_step_mode_does_not_say_a_timeout_was_the_call_waking_itself() {
    step_pulse_and_timeout(true);
}

fn step_pulse_and_timeout(strict: bool) {
    use tracing_subscriber::layer::SubscriberExt as _;
    let k = kernel_with_ring();
    let out = Out::default();
    let (layer, guard) = userlib::step::Stepper::new()
        .input(std::io::Cursor::new("\n".repeat(1000).into_bytes()))
        .output(out.clone())
        .kernel(&k)
        .layer();
    let d = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let _main = tracing::dispatcher::set_default(&d);
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    let (tids, tidc) = (ts.tid(), tc.tid());
    let server = on(&d, move || {
        ts.adopt_os_thread();
        bound(&ts);
        let r = ts.msg_receive(chid, &mut [0u8; 64], None);
        drop(ts);
        r
    });
    wait_in_state(&k, ps.pid, tids, ThreadState::Receive { chid });
    let client = on(&d, move || {
        tc.adopt_os_thread();
        tc.msg_send_pulse(coid, 10, 4, 44).expect("pulse");
        tc.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(150_000_000))
            .expect("arm");
        let r = tc.msg_send(coid, b"nobody receives", &mut []);
        drop(tc);
        r
    });
    assert_eq!(recv(&server), Ok(0));
    assert_eq!(recv(&client), Err(Errno::ETIMEDOUT));
    drop(s);
    drop(guard);
    let text = out.text();
    let pulse_exit = text
        .find(&format!("pid {} tid {tidc}: MsgSendPulse returned", pc.pid))
        .unwrap_or_else(|| panic!("no MsgSendPulse exit step:\n{text}"));
    let step = &text[pulse_exit..];
    let step = &step[..step.find("[Enter").unwrap_or(step.len())];
    assert!(
        step.contains(&format!(
            "pid {} tid {tids}: RECEIVE -> READY (woken by this MsgSendPulse)",
            ps.pid
        )) || step.contains(&format!(
            "pid {} tid {tids}: RECEIVE -> RUNNING (woken by this MsgSendPulse)",
            ps.pid
        )),
        "the pulse's step does not say whom it woke:\n{step}\n---\n{text}"
    );
    let send_exit = text
        .find(&format!(
            "pid {} tid {tidc}: MsgSend failed: ETIMEDOUT",
            pc.pid
        ))
        .unwrap_or_else(|| panic!("no MsgSend exit step:\n{text}"));
    let step = &text[send_exit..];
    let step = &step[..step.find("[Enter").unwrap_or(step.len())];
    assert!(
        step.contains(&format!(
            "pid {} tid {tidc} (this thread): RUNNING -> SEND",
            pc.pid
        )),
        "{step}"
    );
    assert!(
        step.contains(&format!(
            "pid {} tid {tidc} (this thread): SEND -> RUNNING",
            pc.pid
        )) || step.contains(&format!(
            "pid {} tid {tidc} (this thread): SEND -> READY",
            pc.pid
        )),
        "the timeout's end of SEND is not shown:\n{step}"
    );
    let after = step
        .lines()
        .find(|l| l.trim_start().starts_with("after:"))
        .unwrap_or("");
    assert!(
        !after.contains(&format!("pid {} tid {tidc} SEND", pc.pid)),
        "the client still shown SEND-blocked after its timeout: {after}"
    );
    if !strict {
        return;
    }
    // A timeout is the kernel's doing, not the call's (step.rs: "changes no call made (a
    // timer's) are 'by the kernel'"): it must not be put down as the thread being "woken by
    // this MsgSend".
    assert!(
        !step.contains("SEND -> RUNNING (woken by this MsgSend)")
            && !step.contains("SEND -> READY (woken by this MsgSend)"),
        "a timeout shown as the MsgSend waking its own thread:\n{step}"
    );
}

// ------------------------------------------------------------------- 7. more transitions

extern "C" fn on_sigusr2(_: libc::c_int) {}

/// A signal with a handler interrupts InterruptWait (QNX: EINTR): the thread shows INTR while
/// it waits, RUNNING after, and its attachment is still listed.
#[test]
fn a_signal_ends_an_intr_wait_and_the_view_follows() {
    // SAFETY: a handler that does nothing, installed with sigaction (which kernel-sim wraps so
    // that it runs outside the kernel).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigusr2 as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR2, &sa, std::ptr::null_mut()), 0);
    }
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (p, pk) = (s.process(), s.process());
    let (t, killer) = (s.thread(p, 10), s.thread(pk, 10));
    let tid = t.tid();
    const LEVEL: i32 = 11;
    let done = s.run(t, move |t| {
        t.interrupt_attach_event(LEVEL, &SigEvent::intr(), 0)
            .expect("InterruptAttachEvent");
        bound(t);
        t.interrupt_wait(0)
    });
    wait_in_state(&k, p.pid, tid, ThreadState::Intr);
    killer
        .signal_kill(0, p.pid, tid, libc::SIGUSR2, 0, 0)
        .expect("SignalKill");
    assert_eq!(recv(&done), Err(Errno::EINTR));
    wait_in_state(&k, p.pid, tid, ThreadState::Running);
    assert!(
        k.snapshot()
            .interrupts
            .iter()
            .any(|i| i.pid == p.pid && i.level == LEVEL as u32),
        "{}",
        k.listing()
    );
}

/// The `blocks` counter counts a thread's waits, not its states: a client that queues
/// SEND-blocked and then turns REPLY-blocked within one MsgSend blocked once; a server whose
/// MsgReceive finds the message queued did not block at all. One round trip: 3 entries.
#[test]
fn a_send_then_reply_wait_is_one_block_and_a_ready_receive_none() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    let tidc = tc.tid();
    let (s0, c0) = (
        k.process_counters(ps.pid).unwrap(),
        k.process_counters(pc.pid).unwrap(),
    );
    let client = s.run(tc, move |t| t.msg_send(coid, b"q", &mut [0u8; 2]));
    wait_in_state(&k, pc.pid, tidc, ThreadState::Send { pid: ps.pid, chid });
    let rcvid = ts
        .msg_receive(chid, &mut [0u8; 8], None)
        .expect("a queued message: no wait");
    ts.msg_reply(rcvid, 0, b"ok").expect("reply");
    assert_eq!(recv(&client), Ok(0));
    let (s1, c1) = (
        k.process_counters(ps.pid).unwrap(),
        k.process_counters(pc.pid).unwrap(),
    );
    let (ds, dc) = (s1.since(&s0), c1.since(&c0));
    assert_eq!((dc.kernel_entries, ds.kernel_entries), (1, 2));
    assert_eq!(
        dc.blocks, 1,
        "the client's one wait (SEND then REPLY): {dc:?}"
    );
    assert_eq!(ds.blocks, 0, "the server never waited: {ds:?}");
    assert_eq!((dc.msgs_sent, ds.msgs_received, ds.replies), (1, 1, 1));
}

/// A MsgReply with a negative status is passed through to the client as a status
/// (docs/deviations.md: `msg_send` returns `Ok(status)`), but the chart labels that reply
/// "MsgError errno 5", a call the server never made: the kernel's reply event carries a
/// `-errno` for an error and the negative status alike (kernel-sim calls/srr.rs
/// `trace_reply`), and the chart reads every negative status as an errno.
#[test]
fn the_chart_labels_a_negative_reply_status_as_a_reply_not_an_error() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (_, _, ts, tc, chid, coid) = s.pair(0);
    let (_json, svg) = record(&k, || {
        let client = s.run(tc, move |t| {
            bound(t);
            t.msg_send(coid, b"q", &mut [])
        });
        bound(&ts);
        let rcvid = ts.msg_receive(chid, &mut [0u8; 8], None).expect("receive");
        ts.msg_reply(rcvid, -5, b"")
            .expect("MsgReply with status -5");
        assert_eq!(recv(&client), Ok(-5), "a status, not an error");
    });
    assert!(
        !svg.contains("MsgError errno 5"),
        "the chart shows the server's MsgReply(-5) as a MsgError"
    );
    assert!(
        svg.contains("MsgReply -5"),
        "no MsgReply -5 label in the chart"
    );
}
