//! An attacker's look at SchedGet/SchedSet in the kernel: a queued client's priority changed
//! under its server's boost, a boosted server's own priority set, a thread whose kernel thread
//! another thread attached (what `userlib::spawn` and libqnxsim's `pthread_create` do) set
//! before it records its Linux tid, with the opt-in OS priority mode.
//!
//! Every blocking call is bounded; every thread is joined with a bound.

mod support;

use support::*;

/// (base, current) priority of thread `tid` of `pid`.
fn prios(k: &Kernel, pid: i32, tid: i32) -> (i16, i16) {
    let i = k.thread_info(pid, tid).expect("thread info");
    (i.base_priority, i.priority)
}

/// A world whose server thread has received on its channel once (so that a sender queued with
/// no receiver waiting boosts it), and is not receiving now.
fn boostable() -> World {
    let w = world(0);
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        w.server.msg_receive(w.chid, &mut [0u8; 8], None),
        Err(Errno::ETIMEDOUT)
    );
    w
}

/// SchedSet raising a SEND-blocked client boosts the server it waits on (deviations.md:
/// "a SEND-blocked target takes its place in the queue and boosts the server it waits on"),
/// and the message carries the new priority to the receiver.
#[test]
fn raising_a_queued_client_boosts_its_server_and_its_message_carries_the_priority() {
    let w = boostable();
    let s = w.server_peer();
    let c = w.sender(20, LONG).once_send_blocked(&w.k);
    assert_eq!(prios(&w.k, s.pid, s.tid), (10, 20), "boosted by the sender");
    w.server
        .sched_set(w.cli.pid, c.tid, SCHED_NOCHANGE, 40)
        .expect("SchedSet on the queued client");
    assert_eq!(prios(&w.k, w.cli.pid, c.tid), (40, 40));
    assert_eq!(prios(&w.k, s.pid, s.tid), (10, 40), "the server follows up");
    let (rcvid, info) = w.take();
    assert_eq!(info.priority, 40, "the message carries the new priority");
    w.server.msg_reply(rcvid, 0, &[]).unwrap();
    assert_eq!(c.join().0, Ok(0));
}

/// A queued client lowered by SchedSet: the server it boosted goes back to what is still due
/// (its base, or the highest sender still queued), as QNX recomputes an inherited priority
/// when its source changes. (The boost once stayed at the old client priority until the
/// server next RECEIVE-blocked: the server ran at 40 for a client now at 5.)
#[test]
fn lowering_a_queued_client_lets_the_server_it_boosted_drop_back() {
    let w = boostable();
    let s = w.server_peer();
    let c = w.sender(40, LONG).once_send_blocked(&w.k);
    assert_eq!(prios(&w.k, s.pid, s.tid), (10, 40), "boosted by the sender");
    w.server
        .sched_set(w.cli.pid, c.tid, SCHED_NOCHANGE, 5)
        .expect("SchedSet on the queued client");
    assert_eq!(prios(&w.k, w.cli.pid, c.tid), (5, 5));
    let server_now = prios(&w.k, s.pid, s.tid);
    let (rcvid, info) = w.take();
    assert_eq!(info.priority, 5, "the message carries the new priority");
    w.server.msg_reply(rcvid, 0, &[]).unwrap();
    assert_eq!(c.join().0, Ok(0));
    assert_eq!(
        server_now,
        (10, 10),
        "the server drops back to its base (the client, at 5, is below it)"
    );
}

/// A queued client whose SEND timeout expires takes its boost with it: the server drops to
/// what the senders still queued are owed (30), then, once those are served and it waits to
/// receive, to its base.
#[test]
fn a_queued_client_that_times_out_takes_its_boost_with_it() {
    let w = boostable();
    let s = w.server_peer();
    let stays = w.sender(30, LONG).once_send_blocked(&w.k);
    let leaves = w
        .sender_with(50, _NTO_TIMEOUT_SEND, 50_000_000)
        .once_send_blocked(&w.k);
    assert_eq!(
        prios(&w.k, s.pid, s.tid),
        (10, 50),
        "boosted by the higher sender"
    );
    assert_eq!(leaves.join().0, Err(Errno::ETIMEDOUT));
    assert_eq!(
        prios(&w.k, s.pid, s.tid),
        (10, 30),
        "back to what the sender still queued is owed"
    );
    let (rcvid, info) = w.take();
    assert_eq!(info.priority, 30);
    w.server.msg_reply(rcvid, 0, &[]).unwrap();
    assert_eq!(stays.join().0, Ok(0));
}

/// SchedSet on a server thread boosted by a queued client: deviations.md says the base and the
/// current priority become the new one (the boost given up until the next receive or boost).
/// A later sender boosts it again.
#[test]
fn setting_a_boosted_servers_priority_gives_the_boost_up_as_documented() {
    let w = boostable();
    let s = w.server_peer();
    let c = w.sender(40, LONG).once_send_blocked(&w.k);
    assert_eq!(prios(&w.k, s.pid, s.tid), (10, 40));
    w.client
        .sched_set(s.pid, s.tid, SCHED_FIFO, 20)
        .expect("SchedSet on the boosted server");
    assert_eq!(prios(&w.k, s.pid, s.tid), (20, 20));
    assert_eq!(w.server.sched_get(0, 0).unwrap(), (SCHED_FIFO, 20, 20));
    let c2 = w.sender(30, LONG).once_send_blocked(&w.k);
    assert_eq!(
        prios(&w.k, s.pid, s.tid),
        (20, 30),
        "boosted again by a new sender"
    );
    for _ in 0..2 {
        let (rcvid, _) = w.take();
        w.server.msg_reply(rcvid, 0, &[]).unwrap();
    }
    assert_eq!(c.join().0, Ok(0));
    assert_eq!(c2.join().0, Ok(0));
}

/// A queued client moved by SchedSet is received in its new place, in both directions.
#[test]
fn queued_clients_are_received_in_the_order_their_set_priorities_give() {
    let w = boostable();
    let a = w.client_sending::<4>(20, b"a").once_send_blocked(&w.k);
    let b = w.client_sending::<4>(30, b"b").once_send_blocked(&w.k);
    let c = w.client_sending::<4>(25, b"c").once_send_blocked(&w.k);
    // a: 20 -> 50 (first), b: 30 -> 10 (last).
    w.client
        .sched_set(w.cli.pid, a.tid, SCHED_NOCHANGE, 50)
        .unwrap();
    w.client
        .sched_set(w.cli.pid, b.tid, SCHED_NOCHANGE, 10)
        .unwrap();
    let mut order = Vec::new();
    for _ in 0..3 {
        let mut buf = [0u8; 8];
        let mut info = MsgInfo::default();
        let rcvid = receive(&w.server, w.chid, &mut buf, Some(&mut info)).unwrap();
        order.push((buf[0], info.priority));
        w.server.msg_reply(rcvid, 0, &[]).unwrap();
    }
    assert_eq!(order, vec![(b'a', 50), (b'c', 25), (b'b', 10)]);
    for t in [a, b, c] {
        assert_eq!(t.join().0, Ok(0));
    }
}

/// Linux's nice value of thread `tid`.
fn nice_of(tid: i32) -> i32 {
    // SAFETY: getpriority takes plain integers; errno is reset first to tell -1 from an error.
    unsafe {
        *libc::__errno_location() = 0;
        libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t)
    }
}

/// With `Config::os_priority` (Nice), SchedSet adjusts the target's Linux thread (deviations:
/// "the target's Linux thread (by its Linux tid ...) is adjusted"). A thread attached for
/// another (as `userlib::spawn` and libqnxsim's `pthread_create` make one, through
/// `Kernel::thread_attach_for_another`) carries its maker's Linux tid until it adopts its own.
/// A SchedSet in that window once reniced the *maker*, and the new thread, once it ran, never
/// got the priority it was set to: now the maker is left alone, and the new thread takes its
/// priority as it adopts it. (Priority 5 is nice 5, which needs no privilege; each party is a
/// thread of its own that ends after.)
#[test]
fn sched_set_before_a_new_thread_adopts_its_linux_tid_reaches_the_new_thread_not_the_maker() {
    let k = Kernel::new(Config {
        os_priority: OsPriority::Nice,
        ..Config::default()
    })
    .unwrap();
    let p = k.process_create().unwrap();
    let k2 = k.clone();
    let maker = std::thread::spawn(move || {
        let me = k2.thread_attach(p, 10).unwrap();
        let maker_os = os_tid();
        // The new thread's kernel thread, made here for it.
        let child = k2.thread_attach_for_another(p, 10).unwrap();
        me.sched_set(0, child.tid(), SCHED_NOCHANGE, 5).unwrap();
        let maker_nice = nice_of(maker_os);
        let h = std::thread::spawn(move || {
            child.adopt_os_thread();
            let r = (child.sched_get(0, 0).unwrap(), nice_of(os_tid()));
            drop(child);
            r
        });
        let (child_sched, child_nice) = h.join().unwrap();
        drop(me);
        (maker_nice, child_sched, child_nice)
    });
    let (maker_nice, child_sched, child_nice) = maker.join().unwrap();
    assert_eq!(
        child_sched,
        (SCHED_RR, 5, 5),
        "the kernel's record is right"
    );
    assert_eq!(
        maker_nice, 0,
        "the maker was reniced for its new thread's priority"
    );
    assert_eq!(
        child_nice, 5,
        "the new thread never got its priority's nice"
    );
}

/// SchedGet/SchedSet of another process's thread: a live one is reached, one that ended is
/// ESRCH, bad ids are ESRCH, bad policies and priorities are refused and change nothing.
#[test]
fn sched_calls_reach_every_live_thread_and_refuse_gone_ones() {
    let w = world(0);
    let t = spawn(&w.k, w.srv, 12, |c| {
        arm(c, _NTO_TIMEOUT_RECEIVE, Some(LONG));
        let _ = c.msg_receive(0, &mut [0u8; 8], None);
    });
    // (The spawned thread's receive on a channel it does not own ends with an error at once:
    // it ends; its tid is then refused.)
    let tid = t.tid;
    t.join();
    assert_eq!(w.client.sched_get(w.srv.pid, tid), Err(Errno::ESRCH));
    assert_eq!(
        w.client.sched_set(w.srv.pid, tid, SCHED_RR, 20),
        Err(Errno::ESRCH)
    );
    assert_eq!(
        w.client.sched_get(w.srv.pid, w.server.tid()).unwrap(),
        (SCHED_RR, 10, 10)
    );
    assert_eq!(w.client.sched_get(-1, 1), Err(Errno::ESRCH));
    assert_eq!(w.client.sched_get(0, -1), Err(Errno::ESRCH));
    assert_eq!(w.client.sched_get(999_999, 1), Err(Errno::ESRCH));
    assert_eq!(
        w.client
            .sched_set(w.srv.pid, w.server.tid(), SCHED_SPORADIC, 20),
        Err(Errno::ENOTSUP)
    );
    assert_eq!(
        w.client.sched_set(w.srv.pid, w.server.tid(), 77, 20),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.client.sched_set(w.srv.pid, w.server.tid(), SCHED_RR, 256),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.client.sched_set(w.srv.pid, w.server.tid(), SCHED_RR, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.client.sched_get(w.srv.pid, w.server.tid()).unwrap(),
        (SCHED_RR, 10, 10),
        "refused calls changed nothing"
    );
}
