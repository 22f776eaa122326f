//! What the project shows students about QNX message passing, checked against what QNX does,
//! in the tricky cases a lab hits: a chain of servers, priority inheritance and its return,
//! several clients queued on a channel, timeouts, signals and `_NTO_CHF_UNBLOCK`, pulses
//! queued with no receiver, asyncmsg queues, the kernel-entry counters, the timeline and the
//! sequence chart, and `pidin-sim` on good and bad kernels. Views checked: the `Snapshot` /
//! `Listing` (what `pidin-sim` and the examples' `--pidin` print), `pidin-sim` itself, the
//! timeline (Chrome trace JSON) and the chart (SVG).
//!
//! Every blocking call is bounded (TimerTimeout, or a guard that tears the simulated processes
//! down, which releases their threads), every wait polls with a deadline, every process started
//! is killed and reaped on every exit path, and temporary files live in directories removed on
//! drop.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;
#[path = "../../kernel-sim/tests/support/scene.rs"]
#[allow(dead_code)]
mod scene;

use common::*;
use kernel_sim::consts::*;
use kernel_sim::{Config, Errno, Kernel, Pid, ThreadCtx, ThreadState};
use procs::{child_role, child_setup, tell_parent, TempDir};
use scene::*;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------ helpers

/// An in-process kernel big enough for the scenarios, with a trace ring.
fn kernel() -> Kernel {
    Kernel::new(Config {
        max_processes: 16,
        max_threads: 64,
        max_channels: 16,
        max_connections: 64,
        max_pulses: 32,
        trace_records: 8192,
        // (A server on an `_NTO_CHF_DISCONNECT` channel keeps each scoid until it detaches it,
        // and the scenes' servers never do: a client process whose workers detach before the
        // next one attaches takes a new scoid each time. `Config::small`'s 7 per process ran
        // out once in CI with 12 workers in 3 processes.)
        side_coids_per_process: 32,
        ..Config::small()
    })
    .expect("a kernel")
}

/// The lines of `listing` between the header of channel (pid, chid) and the next channel or
/// connection line: what it shows of that channel.
fn channel_section(listing: &str, pid: i32, chid: i32) -> String {
    let head = format!("channel pid {pid} chid {chid}:");
    let mut out = String::new();
    let mut inside = false;
    for l in listing.lines() {
        if l.starts_with(&head) {
            inside = true;
        } else if inside && (l.starts_with("channel ") || l.starts_with("coid ") || l.is_empty()) {
            break;
        }
        if inside {
            out.push_str(l);
            out.push('\n');
        }
    }
    assert!(!out.is_empty(), "no {head} in\n{listing}");
    out
}

// ------------------------------------------------------------------------------ 1. a chain

/// A SEND-blocked on B; B receives it (A turns REPLY-blocked on B's receiving thread) and sends
/// on to C, which holds it: B REPLY-blocked on C, C running with the message. Then C replies,
/// B replies, and everyone runs.
#[test]
fn chain_a_to_b_to_c_shows_each_thread_blocked_on_the_right_peer() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (pa, pb, pc) = (s.process(), s.process(), s.process());
    let (ta, tb, tc) = (s.thread(pa, 10), s.thread(pb, 10), s.thread(pc, 10));
    let (tida, tidb, tidc) = (ta.tid(), tb.tid(), tc.tid());
    let chid_c = tc.channel_create(0).expect("C's channel");
    let chid_b = tb.channel_create(0).expect("B's channel");
    let coid_bc = tb
        .connect_attach(0, pc.pid, chid_c, _NTO_SIDE_CHANNEL, 0)
        .expect("B -> C");
    let coid_ab = ta
        .connect_attach(0, pb.pid, chid_b, _NTO_SIDE_CHANNEL, 0)
        .expect("A -> B");

    // A sends before B receives: SEND-blocked on B's channel.
    let a = s.run(ta, move |t| {
        bound(t);
        let mut r = [0u8; 8];
        t.msg_send(coid_ab, b"from A", &mut r).map(|st| (st, r))
    });
    wait_in_state(
        &k,
        pa.pid,
        tida,
        ThreadState::Send {
            pid: pb.pid,
            chid: chid_b,
        },
    );
    let cb = channel(&k, pb.pid, chid_b);
    assert_eq!((cb.queued, cb.receivers), (1, 0), "{cb:?}");
    // B has not made a call: it runs.
    assert_eq!(info(&k, pb.pid, tidb).state, ThreadState::Running);

    // C waits for work: RECEIVE-blocked on its own channel.
    let (go_c, c_go) = mpsc::channel::<()>();
    let (c_got_tx, c_got) = mpsc::channel::<(i32, i32, i32)>();
    let c = s.run(tc, move |t| {
        bound(t);
        let mut buf = [0u8; 16];
        let mut mi = kernel_sim::MsgInfo::default();
        let rcvid = t.msg_receive(chid_c, &mut buf, Some(&mut mi))?;
        let _ = c_got_tx.send((mi.pid, mi.tid, mi.chid));
        let _ = c_go.recv_timeout(WITHIN);
        t.msg_reply(rcvid, 7, b"from C")
    });
    wait_in_state(&k, pc.pid, tidc, ThreadState::Receive { chid: chid_c });
    assert_eq!(channel(&k, pc.pid, chid_c).receivers, 1);

    // B receives A's message and sends on to C.
    let b = s.run(tb, move |t| {
        bound(t);
        let mut buf = [0u8; 16];
        let rcvid = t.msg_receive(chid_b, &mut buf, None)?;
        bound(t);
        let mut r = [0u8; 8];
        let st = t.msg_send(coid_bc, b"from B", &mut r)?;
        t.msg_reply(rcvid, st + 1, &r)
    });
    // C has the message (from B's thread, on C's channel).
    assert_eq!(recv(&c_got), (pb.pid, tidb, chid_c));
    wait_in_state(
        &k,
        pb.pid,
        tidb,
        ThreadState::Reply {
            pid: pc.pid,
            chid: chid_c,
            tid: tidc,
        },
    );
    wait_in_state(
        &k,
        pa.pid,
        tida,
        ThreadState::Reply {
            pid: pb.pid,
            chid: chid_b,
            tid: tidb,
        },
    );
    wait_in_state(&k, pc.pid, tidc, ThreadState::Running);
    let (cb, cc) = (channel(&k, pb.pid, chid_b), channel(&k, pc.pid, chid_c));
    assert_eq!((cb.queued, cb.receivers), (0, 0), "{cb:?}");
    assert_eq!((cc.queued, cc.receivers), (0, 0), "{cc:?}");
    let text = k.listing().to_string();
    for want in [
        format!(
            "REPLY (pid {} chid {chid_b}, received by tid {tidb})",
            pb.pid
        ),
        format!(
            "REPLY (pid {} chid {chid_c}, received by tid {tidc})",
            pc.pid
        ),
    ] {
        assert!(text.contains(&want), "no {want:?} in\n{text}");
    }

    // C replies: B readied, replies to A; all run again.
    go_c.send(()).unwrap();
    assert_eq!(recv(&c), Ok(()));
    assert_eq!(recv(&b), Ok(()));
    let (st, r) = recv(&a).expect("A's MsgSend");
    assert_eq!((st, &r[..6]), (8, &b"from C"[..]));
    let snap = k.snapshot();
    for p in [pa.pid, pb.pid, pc.pid] {
        let c = snap
            .processes
            .iter()
            .find(|x| x.pid == p)
            .expect("process")
            .counters;
        let want = if p == pa.pid {
            (1, 0, 0)
        } else if p == pb.pid {
            (1, 1, 1)
        } else {
            (0, 1, 1)
        };
        assert_eq!((c.msgs_sent, c.msgs_received, c.replies), want, "pid {p}");
    }
}

// ------------------------------------------------------------ 2. priority inheritance

/// A server at 10 receives from a client at 30: it runs at 30 (base 10) while it holds the
/// message, keeps it after the reply (QNX: until it changes it or receives again), and is back
/// at 10 once RECEIVE-blocked again. The message info says the client's priority.
#[test]
fn priority_inheritance_shows_current_and_base_and_goes_back_at_the_next_receive() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let (ts, tc) = (s.thread(ps, 10), s.thread(pc, 30));
    let (tids, tidc) = (ts.tid(), tc.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = tc
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (step_tx, step_rx) = mpsc::channel::<()>();
    let (got_tx, got_rx) = mpsc::channel::<i16>();
    let server = s.run(ts, move |t| -> Result<(), Errno> {
        bound(t);
        let mut buf = [0u8; 8];
        let mut mi = kernel_sim::MsgInfo::default();
        let rcvid = t.msg_receive(chid, &mut buf, Some(&mut mi))?;
        let _ = got_tx.send(mi.priority);
        let _ = step_rx.recv_timeout(WITHIN);
        t.msg_reply(rcvid, 0, b"")?;
        let _ = got_tx.send(0);
        let _ = step_rx.recv_timeout(WITHIN);
        bound(t);
        // Nothing comes: ETIMEDOUT after the bound, or ESRCH at teardown.
        let _ = t.msg_receive(chid, &mut buf, None);
        Ok(())
    });
    let i = wait_in_state(&k, ps.pid, tids, ThreadState::Receive { chid });
    assert_eq!((i.priority, i.base_priority), (10, 10));
    let client = s.run(tc, move |t| {
        bound(t);
        t.msg_send(coid, b"hi", &mut [])
    });
    assert_eq!(recv(&got_rx), 30, "MsgInfo.priority is the client's");
    let i = info(&k, ps.pid, tids);
    assert_eq!((i.priority, i.base_priority), (30, 10), "{i:?}");
    let text = k.listing().to_string();
    let row = text
        .lines()
        .skip_while(|l| !l.contains(" PRI "))
        .find(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() > 4 && w[0] == ps.pid.to_string() && w[1] == tids.to_string()
        })
        .unwrap_or_else(|| panic!("no row of the server thread in\n{text}"));
    assert!(
        row.split_whitespace().collect::<Vec<_>>()[2..4] == ["30", "10"],
        "PRI and BASE: {row:?}"
    );
    let i = info(&k, pc.pid, tidc);
    assert_eq!((i.priority, i.base_priority), (30, 30));
    // Replied: the client runs; the server keeps 30 until it receives again.
    step_tx.send(()).unwrap();
    assert_eq!(recv(&got_rx), 0);
    assert_eq!(recv(&client), Ok(0));
    let i = info(&k, ps.pid, tids);
    assert_eq!((i.priority, i.base_priority), (30, 10), "{i:?}");
    // RECEIVE-blocked again: back to its own priority.
    step_tx.send(()).unwrap();
    let i = wait_in_state(&k, ps.pid, tids, ThreadState::Receive { chid });
    assert_eq!((i.priority, i.base_priority), (10, 10), "{i:?}");
    drop(s);
    let _ = server;
}

/// Server boost: the server (base 10) holds a message from a client at 10 and is not
/// receiving; a client at 25 SEND-blocks on the channel: the server is boosted to 25, shown as
/// current 25 base 10.
#[test]
fn server_boost_shows_when_a_higher_client_queues_behind_a_busy_server() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let ts = s.thread(ps, 10);
    let tids = ts.tid();
    let (lo, hi) = (s.thread(pc, 10), s.thread(pc, 25));
    let (tid_lo, tid_hi) = (lo.tid(), hi.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = lo
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let server = s.run(ts, move |t| -> Result<(), Errno> {
        let mut buf = [0u8; 8];
        bound(t);
        let r1 = t.msg_receive(chid, &mut buf, None)?;
        let _ = go_rx.recv_timeout(WITHIN);
        t.msg_reply(r1, 0, b"")?;
        bound(t);
        let r2 = t.msg_receive(chid, &mut buf, None)?;
        t.msg_reply(r2, 0, b"")
    });
    wait_in_state(&k, ps.pid, tids, ThreadState::Receive { chid });
    let c_lo = s.run(lo, move |t| {
        bound(t);
        t.msg_send(coid, b"lo", &mut [])
    });
    wait_in_state(
        &k,
        pc.pid,
        tid_lo,
        ThreadState::Reply {
            pid: ps.pid,
            chid,
            tid: tids,
        },
    );
    let c_hi = s.run(hi, move |t| {
        bound(t);
        t.msg_send(coid, b"hi", &mut [])
    });
    wait_in_state(&k, pc.pid, tid_hi, ThreadState::Send { pid: ps.pid, chid });
    let i = wait_info(&k, ps.pid, tids, "boosted to 25", |i| i.priority == 25);
    assert_eq!(i.base_priority, 10);
    go_tx.send(()).unwrap();
    assert_eq!(recv(&c_lo), Ok(0));
    assert_eq!(recv(&c_hi), Ok(0));
    assert_eq!(recv(&server), Ok(()));
}

// ------------------------------------------------------- 3. clients queued in priority order

/// Clients queued SEND-blocked at priorities 11, 15, 11, 20 (in that order): QNX serves them
/// highest first, FIFO within a priority: 20, 15, then the two 11s in arrival order.
/// Returns the kernel, the scene, the server and the queued tids in arrival order.
fn queue_four() -> (Kernel, Scene, ThreadCtx, i32, i32, Vec<(i32, i16)>) {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let ts = s.thread(ps, 10);
    let chid = ts.channel_create(0).expect("channel");
    let mut queued = Vec::new();
    for prio in [11i16, 15, 11, 20] {
        let t = s.thread(pc, prio);
        let tid = t.tid();
        let coid = t
            .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
            .expect("connect");
        let _ = s.run(t, move |t| {
            bound(t);
            t.msg_send(coid, &tid.to_ne_bytes(), &mut [])
        });
        wait_in_state(&k, pc.pid, tid, ThreadState::Send { pid: ps.pid, chid });
        queued.push((tid, prio));
    }
    (k, s, ts, chid, pc.pid, queued)
}

#[test]
fn clients_queued_on_a_channel_are_served_highest_priority_first_fifo_within() {
    let (k, s, ts, chid, cpid, queued) = queue_four();
    let c = channel(&k, ts.pid(), chid);
    assert_eq!((c.queued, c.receivers), (4, 0));
    // No boost: QNX boosts only the threads whose last receive was on this channel, and the
    // server has not received yet.
    let i = info(&k, ts.pid(), ts.tid());
    assert_eq!((i.priority, i.base_priority), (10, 10));
    let mut order = Vec::new();
    for _ in 0..4 {
        let mut buf = [0u8; 4];
        let mut mi = kernel_sim::MsgInfo::default();
        bound(&ts);
        let rcvid = ts
            .msg_receive(chid, &mut buf, Some(&mut mi))
            .expect("receive");
        assert_eq!(mi.pid, cpid);
        order.push(mi.tid);
        ts.msg_reply(rcvid, 0, b"").expect("reply");
    }
    let t = |i: usize| queued[i].0;
    assert_eq!(order, [t(3), t(1), t(0), t(2)], "queued as {queued:?}");
    drop(ts);
    drop(s);
}

/// The listing shows a channel's send queue only as a count: which threads wait and in which
/// order the server will get them is not shown.
#[test]
fn the_listing_shows_a_channels_send_queue_in_service_order() {
    let (k, s, ts, chid, cpid, queued) = queue_four();
    let text = k.listing().to_string();
    let section = channel_section(&text, ts.pid(), chid);
    let at = |tid: i32| {
        section
            .find(&format!("pid {cpid} tid {tid}"))
            .unwrap_or_else(|| panic!("tid {tid} not among the queued in\n{section}"))
    };
    let t = |i: usize| queued[i].0;
    let pos = [at(t(3)), at(t(1)), at(t(0)), at(t(2))];
    assert!(
        pos.windows(2).all(|w| w[0] < w[1]),
        "not in service order:\n{section}"
    );
    drop(ts);
    drop(s);
}

// ------------------------------------------- 4. timeouts, signals and _NTO_CHF_UNBLOCK

/// A client SEND-blocked with a TimerTimeout that fires: SEND while it waits, then ETIMEDOUT,
/// RUNNING, and the channel's queue empty again. A server RECEIVE-blocked with one: RECEIVE,
/// then ETIMEDOUT and no receiver left on the channel.
#[test]
fn a_timer_timeout_that_fires_leaves_no_trace_in_the_states_or_the_queues() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    let (tids, tidc) = (ts.tid(), tc.tid());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let client = s.run(tc, move |t| {
        let _ = go_rx.recv_timeout(WITHIN);
        t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(400_000_000))
            .expect("arm");
        t.msg_send(coid, b"x", &mut [])
    });
    go_tx.send(()).unwrap();
    wait_in_state(&k, pc.pid, tidc, ThreadState::Send { pid: ps.pid, chid });
    assert_eq!(channel(&k, ps.pid, chid).queued, 1);
    assert_eq!(recv(&client), Err(Errno::ETIMEDOUT));
    wait_in_state(&k, pc.pid, tidc, ThreadState::Running);
    let c = channel(&k, ps.pid, chid);
    assert_eq!((c.queued, c.receivers), (0, 0), "{c:?}");

    let server = s.run(ts, move |t| {
        t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(400_000_000))
            .expect("arm");
        t.msg_receive(chid, &mut [0u8; 8], None)
    });
    wait_in_state(&k, ps.pid, tids, ThreadState::Receive { chid });
    assert_eq!(channel(&k, ps.pid, chid).receivers, 1);
    assert_eq!(recv(&server), Err(Errno::ETIMEDOUT));
    wait_in_state(&k, ps.pid, tids, ThreadState::Running);
    let c = channel(&k, ps.pid, chid);
    assert_eq!((c.queued, c.receivers), (0, 0), "{c:?}");
}

extern "C" fn on_sigusr2(_: libc::c_int) {}

fn install_sigusr2_handler() {
    // SAFETY: a handler that does nothing, installed with sigaction (which kernel-sim wraps so
    // that it runs outside the kernel).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigusr2 as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR2, &sa, std::ptr::null_mut()), 0);
    }
}

/// A thread RECEIVE-blocked and a client REPLY-blocked (channel without _NTO_CHF_UNBLOCK) are
/// unblocked by a signal: EINTR, RUNNING, and nothing left queued or receiving.
#[test]
fn a_signal_unblocks_receive_and_reply_blocked_threads_and_the_view_follows() {
    install_sigusr2_handler();
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, pk) = (s.process(), s.process(), s.process());
    let (ts, tc, killer) = (s.thread(ps, 10), s.thread(pc, 10), s.thread(pk, 10));
    let (tids, tidc) = (ts.tid(), tc.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = tc
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (rcv_tx, rcv_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let server = s.run(ts, move |t| {
        bound(t);
        let first = t.msg_receive(chid, &mut [0u8; 8], None);
        let _ = rcv_tx.send(first);
        let _ = go_rx.recv_timeout(WITHIN);
        bound(t);
        let second = t.msg_receive(chid, &mut [0u8; 8], None);
        let _ = rcv_tx.send(second);
        // Hold it until the client is gone, then reply: ESRCH.
        let _ = go_rx.recv_timeout(WITHIN);
        second.map(|r| t.msg_reply(r, 0, b""))
    });
    wait_in_state(&k, ps.pid, tids, ThreadState::Receive { chid });
    killer
        .signal_kill(0, ps.pid, tids, libc::SIGUSR2, 0, 0)
        .expect("SignalKill");
    assert_eq!(recv(&rcv_rx), Err(Errno::EINTR));
    wait_in_state(&k, ps.pid, tids, ThreadState::Running);
    assert_eq!(channel(&k, ps.pid, chid).receivers, 0);
    go_tx.send(()).unwrap();
    wait_in_state(&k, ps.pid, tids, ThreadState::Receive { chid });
    let client = s.run(tc, move |t| {
        bound(t);
        t.msg_send(coid, b"x", &mut [])
    });
    let rcvid = recv(&rcv_rx).expect("the second receive");
    assert!(rcvid > 0);
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
    killer
        .signal_kill(0, pc.pid, tidc, libc::SIGUSR2, 0, 0)
        .expect("SignalKill");
    assert_eq!(recv(&client), Err(Errno::EINTR));
    wait_in_state(&k, pc.pid, tidc, ThreadState::Running);
    go_tx.send(()).unwrap();
    assert_eq!(recv(&server), Ok(Err(Errno::ESRCH)));
    let c = channel(&k, ps.pid, chid);
    assert_eq!((c.queued, c.receivers), (0, 0), "{c:?}");
}

/// `_NTO_CHF_UNBLOCK`: the REPLY-blocked client's timeout expires; it stays REPLY-blocked, the
/// unblock pulse waits in the channel's queue (1 queued) until the server takes it
/// (`_PULSE_CODE_UNBLOCK`, value = the rcvid, `_NTO_MI_UNBLOCK_REQ` in MsgInfo), and the
/// client leaves with the server's MsgError.
#[test]
fn an_unblock_request_keeps_the_client_reply_blocked_and_shows_the_pending_pulse() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(_NTO_CHF_UNBLOCK);
    let (tids, tidc) = (ts.tid(), tc.tid());
    let client = s.run(tc, move |t| {
        t.timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(300_000_000),
        )
        .expect("arm");
        t.msg_send(coid, b"x", &mut [])
    });
    bound(&ts);
    let rcvid = ts.msg_receive(chid, &mut [0u8; 8], None).expect("receive");
    let reply = ThreadState::Reply {
        pid: ps.pid,
        chid,
        tid: tids,
    };
    wait_in_state(&k, pc.pid, tidc, reply);
    // The timeout expires: the pulse is queued, the client still waits for the server.
    let until = Instant::now() + WITHIN;
    while channel(&k, ps.pid, chid).queued == 0 {
        assert!(Instant::now() < until, "no unblock pulse queued");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(info(&k, pc.pid, tidc).state, reply);
    assert_eq!(k.pool_usage().pulses.live, 1);
    let mi = ts.msg_info(rcvid).expect("MsgInfo");
    assert!(mi.flags & _NTO_MI_UNBLOCK_REQ != 0, "{mi:?}");
    let mut buf = [0u8; 64];
    bound(&ts);
    assert_eq!(ts.msg_receive(chid, &mut buf, None), Ok(0), "a pulse");
    let p = kernel_sim::Pulse::from_bytes(&buf).expect("a pulse");
    assert_eq!((p.code, p.value as i64), (_PULSE_CODE_UNBLOCK, rcvid));
    let c = channel(&k, ps.pid, chid);
    assert_eq!(c.queued, 0);
    // Still REPLY-blocked until the server answers.
    assert_eq!(info(&k, pc.pid, tidc).state, reply);
    ts.msg_error(rcvid, Errno::EINTR).expect("MsgError");
    assert_eq!(recv(&client), Err(Errno::EINTR));
    wait_in_state(&k, pc.pid, tidc, ThreadState::Running);
    drop(ts);
}

// ------------------------------------------------------------ 5. pulses with no receiver

/// Three pulses from another process on a channel nobody receives on: "3 queued", three
/// pulses in the pool, the sender's pulse counter; then taken highest priority first (FIFO
/// within), the receiver taking each pulse's priority.
#[test]
fn pulses_queued_with_no_receiver_are_counted_and_taken_in_priority_order() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    tc.msg_send_pulse(coid, 12, 5, 100).expect("pulse 5");
    tc.msg_send_pulse(coid, 12, 6, 200).expect("pulse 6");
    tc.msg_send_pulse(coid, 20, 7, 300).expect("pulse 7");
    let c = channel(&k, ps.pid, chid);
    assert_eq!((c.queued, c.receivers), (3, 0), "{c:?}");
    assert_eq!(k.pool_usage().pulses.live, 3);
    let text = k.listing().to_string();
    assert!(
        text.contains(&format!(
            "channel pid {} chid {chid}: 3 queued, 0 receiving",
            ps.pid
        )),
        "{text}"
    );
    let sent = k.process_counters(pc.pid).expect("counters").pulses_sent;
    assert_eq!(sent, 3);
    let mut got = Vec::new();
    for _ in 0..3 {
        let mut buf = [0u8; 64];
        bound(&ts);
        assert_eq!(ts.msg_receive(chid, &mut buf, None), Ok(0));
        let p = kernel_sim::Pulse::from_bytes(&buf).expect("a pulse");
        got.push((p.code, p.value, info(&k, ps.pid, ts.tid()).priority));
    }
    assert_eq!(got, [(7, 300, 20), (5, 100, 12), (6, 200, 12)]);
    assert_eq!(channel(&k, ps.pid, chid).queued, 0);
    assert_eq!(k.pool_usage().pulses.live, 0);
    assert_eq!(
        k.process_counters(ps.pid)
            .expect("counters")
            .pulses_received,
        3
    );
    drop((ts, tc));
}

/// What the queued pulses are (their codes, values, priorities) is not shown: only how many
/// entries the send queue holds, pulses and SEND-blocked threads alike.
#[test]
fn the_listing_shows_the_codes_of_pulses_queued_on_a_channel() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, _, ts, tc, chid, coid) = s.pair(0);
    tc.msg_send_pulse(coid, 12, 5, 100).expect("pulse 5");
    tc.msg_send_pulse(coid, 20, 7, 300).expect("pulse 7");
    let text = k.listing().to_string();
    let section = channel_section(&text, ps.pid, chid);
    let (p7, p5) = (section.find("code 7"), section.find("code 5"));
    assert!(
        matches!((p7, p5), (Some(a), Some(b)) if a < b),
        "the pulses (code 7 then code 5) are not shown in\n{section}"
    );
    drop((ts, tc));
}

// ------------------------------------------------------------------- 6. asyncmsg queues

/// Producer and consumer as simulated processes using userlib's asyncmsg: puts under the count
/// trigger are pending, untriggered, and cost no kernel entry; the put that reaches it costs
/// one (the trigger), hands the batch to the kernel (in flight, on the ready list); later puts
/// wait untriggered; a get takes the in-flight ones (and the listing's counters follow).
#[test]
fn asyncmsg_pending_in_flight_and_ready_follow_puts_triggers_and_gets() {
    use userlib::asyncmsg::*;
    let k = kernel();
    let consumer = userlib::Process::new_in(&k).expect("consumer");
    let producer = userlib::Process::new_in(&k).expect("producer");
    let cpid = consumer.pid();
    let (chid_tx, chid_rx) = mpsc::channel();
    let (get_tx, get_rx) = mpsc::channel::<()>();
    let (got_tx, got_rx) = mpsc::channel();
    let cons = consumer
        .spawn(move || {
            let chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 8, None, None)
                .expect("asyncmsg channel");
            let _ = chid_tx.send(chid);
            while get_rx.recv_timeout(WITHIN).is_ok() {
                let n = asyncmsg_get(chid).map(|b| b.len());
                let _ = got_tx.send(n);
            }
            let _ = asyncmsg_channel_destroy(chid);
        })
        .expect("consumer thread");
    let chid = recv(&chid_rx);
    let (put_tx, put_rx) = mpsc::channel::<u32>();
    let (coid_tx, coid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let prod = producer
        .spawn(move || {
            let attr = AsyncConnAttr {
                buffer_size: 64,
                max_num_buffer: 16,
                trigger_num_msg: 3,
                trigger_time: Duration::ZERO,
                ..AsyncConnAttr::default()
            };
            let coid = asyncmsg_connect_attach(0, cpid, chid, _NTO_SIDE_CHANNEL, 0, &attr)
                .expect("asyncmsg_connect_attach");
            let _ = coid_tx.send((coid, userlib::qnx::gettid().expect("gettid")));
            while let Ok(n) = put_rx.recv_timeout(WITHIN) {
                for i in 0..n {
                    asyncmsg_put(coid, format!("m{i}").into_bytes(), i, None).expect("put");
                }
                let _ = done_tx.send(());
            }
            let _ = asyncmsg_connect_detach(coid);
        })
        .expect("producer thread");
    let (coid, ptid) = recv(&coid_rx);
    let ppid = producer.pid();
    let conn = |k: &Kernel| {
        k.snapshot()
            .connections
            .into_iter()
            .find(|c| (c.pid, c.coid) == (ppid, coid))
            .and_then(|c| c.asyncmsg)
            .expect("the asyncmsg connection")
    };
    let ready = |k: &Kernel| {
        channel(k, cpid, chid)
            .asyncmsg
            .expect("asyncmsg channel")
            .ready
    };
    // The putting thread's entries (the library's own thread, which the connection started,
    // makes entries of its own in the process at times of its choosing).
    let entries = |k: &Kernel| info(k, ppid, ptid).kernel_entries;
    let e0 = entries(&k);
    put_tx.send(2).unwrap();
    recv(&done_rx);
    let a = conn(&k);
    let q = a.queue.expect("queue counts");
    assert_eq!(
        (q.pending, q.in_flight, a.batches, a.ready),
        (2, 0, 0, false),
        "{a:?}"
    );
    assert!(ready(&k).is_empty());
    assert_eq!(
        entries(&k),
        e0,
        "puts under the trigger make no kernel entry"
    );
    put_tx.send(1).unwrap();
    recv(&done_rx);
    let a = conn(&k);
    let q = a.queue.expect("queue counts");
    assert_eq!(
        (q.pending, q.in_flight, a.batches, a.ready),
        (3, 3, 1, true),
        "{a:?}"
    );
    assert_eq!(entries(&k), e0 + 1, "the trigger is one kernel entry");
    assert_eq!(ready(&k).len(), 1);
    put_tx.send(2).unwrap();
    recv(&done_rx);
    let q = conn(&k).queue.expect("queue counts");
    assert_eq!((q.pending, q.in_flight), (5, 3), "{q:?}");
    assert_eq!(entries(&k), e0 + 1);
    let text = k.listing().to_string();
    assert!(
        text.contains("5 pending (3 in flight, 2 untriggered)"),
        "{text}"
    );
    // The get takes everything queued when it copies, the untriggered two included (as QNX's
    // kernel reads the sender's queue up to its tail: docs/outputs.md says so too).
    get_tx.send(()).unwrap();
    assert_eq!(recv(&got_rx), Ok(5));
    let a = conn(&k);
    let q = a.queue.expect("queue counts");
    assert_eq!(
        (q.pending, q.in_flight, a.msgs_taken, a.ready),
        (0, 0, 5, false),
        "{a:?}"
    );
    assert!(ready(&k).is_empty());
    let c = k.process_counters(cpid).expect("counters");
    assert_eq!(c.async_msgs_received, 5);
    let p = k.process_counters(ppid).expect("counters");
    assert_eq!((p.async_triggers, p.async_msgs_sent), (1, 5));
    assert_eq!(
        entries(&k),
        e0 + 1,
        "the get is the consumer's entry, not the producer's"
    );
    drop(put_tx);
    drop(get_tx);
    let _ = prod.join();
    let _ = cons.join();
    drop(producer);
    drop(consumer);
}

// ------------------------------------------------------------- 7. kernel-entry counters

/// One SRR round trip is 3 kernel entries (docs/design.md "Counters", README): MsgSend in the
/// client, MsgReceive and MsgReply in the server; per thread, per process and for the kernel.
/// Both orders: the server waiting first (its MsgReceive blocks), and the client first.
#[test]
fn an_srr_round_trip_is_three_kernel_entries_wherever_they_are_counted() {
    for server_first in [true, false] {
        let k = kernel();
        let mut s = Scene::new(&k);
        let (ps, pc, ts, tc, chid, coid) = s.pair(0);
        let (tids, tidc) = (ts.tid(), tc.tid());
        let (go_s, s_go) = mpsc::channel::<()>();
        let (go_c, c_go) = mpsc::channel::<()>();
        let before = (
            k.kernel_entries(),
            info(&k, ps.pid, tids).kernel_entries,
            info(&k, pc.pid, tidc).kernel_entries,
            k.process_counters(ps.pid).unwrap().kernel_entries,
            k.process_counters(pc.pid).unwrap().kernel_entries,
        );
        // No TimerTimeout (it is a kernel entry of its own): the scene's teardown bounds them.
        let server = s.run(ts, move |t| {
            let _ = s_go.recv_timeout(WITHIN);
            let rcvid = t.msg_receive(chid, &mut [0u8; 8], None)?;
            t.msg_reply(rcvid, 0, b"ok")
        });
        let client = s.run(tc, move |t| {
            let _ = c_go.recv_timeout(WITHIN);
            t.msg_send(coid, b"hello", &mut [0u8; 2])
        });
        if server_first {
            go_s.send(()).unwrap();
            wait_in_state(&k, ps.pid, tids, ThreadState::Receive { chid });
            go_c.send(()).unwrap();
        } else {
            go_c.send(()).unwrap();
            wait_in_state(&k, pc.pid, tidc, ThreadState::Send { pid: ps.pid, chid });
            go_s.send(()).unwrap();
        }
        assert_eq!(recv(&client), Ok(0));
        assert_eq!(recv(&server), Ok(()));
        let after = (
            k.kernel_entries(),
            info(&k, ps.pid, tids).kernel_entries,
            info(&k, pc.pid, tidc).kernel_entries,
            k.process_counters(ps.pid).unwrap().kernel_entries,
            k.process_counters(pc.pid).unwrap().kernel_entries,
        );
        assert_eq!(
            (
                after.0 - before.0,
                after.1 - before.1,
                after.2 - before.2,
                after.3 - before.3,
                after.4 - before.4
            ),
            (3, 2, 1, 2, 1),
            "server first: {server_first}"
        );
        // The listing's total and its rows agree with the counters.
        let l = k.listing();
        assert_eq!(l.kernel_entries, k.kernel_entries());
        let sum: u64 = l
            .snapshot
            .processes
            .iter()
            .map(|p| p.counters.kernel_entries)
            .sum();
        assert_eq!(
            sum, l.kernel_entries,
            "every entry was made by a live process\n{l}"
        );
    }
}

// ------------------------------------------------------- 8. the timeline and the chart

/// Records the events of `scenario` from the kernel's trace ring (as `pidin-sim --trace`
/// does) into a timeline written in `dir` and a chart in memory: the JSON and the SVG.
fn record(
    k: &Kernel,
    dir: &TempDir,
    names: &[(i32, &str)],
    max_rows: Option<usize>,
    scenario: impl FnOnce(),
) -> (serde_json::Value, String) {
    let path = dir.join("trace.json");
    let (tl, tl_guard) = userlib::timeline::TimelineLayer::new(&path).expect("timeline");
    let (chart, chart_guard) = userlib::seqchart::memory(userlib::seqchart::Options {
        max_rows,
        title: Some("srr <lab> & \"views\"".into()),
    });
    for (pid, name) in names {
        tl_guard.name_process(*pid, *name);
        chart.name_process(*pid, *name);
    }
    let (mut reader, before) = k
        .trace_start(std::process::id() as i32)
        .expect("trace_start");
    let mut batch =
        kernel_sim::trace::Decoded::states_of(&before, kernel_sim::trace::monotonic_ns());
    scenario();
    reader.finish_into(&mut batch);
    assert_eq!(reader.lost(), 0, "the ring was lapped");
    drop(reader);
    for d in &batch {
        tl.record_decoded(d);
        chart.record_decoded(d);
    }
    tl_guard.finish().expect("writing the timeline");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("the timeline file"))
            .expect("the timeline is valid JSON");
    (json, chart_guard.svg())
}

/// A minimal XML well-formedness check: tags balanced and properly nested, attributes quoted,
/// no bare `<` or `&` in text or attribute values.
fn check_xml(svg: &str) -> Result<(), String> {
    let b = svg.as_bytes();
    let mut stack: Vec<String> = Vec::new();
    let mut i = 0;
    let entity_ok = |at: usize| {
        let rest = &svg[at..];
        let end = rest.find(';').filter(|&e| e < 12);
        match end {
            Some(e) => {
                let name = &rest[1..e];
                ["lt", "gt", "amp", "quot", "apos"].contains(&name)
                    || (name.starts_with('#') && name.len() > 1)
            }
            None => false,
        }
    };
    while i < b.len() {
        match b[i] {
            b'<' => {
                let rest = &svg[i..];
                if rest.starts_with("<?") {
                    i += rest.find("?>").ok_or("unclosed <?")? + 2;
                    continue;
                }
                if rest.starts_with("<!--") {
                    i += rest.find("-->").ok_or("unclosed comment")? + 3;
                    continue;
                }
                if rest.starts_with("<!") {
                    i += rest.find('>').ok_or("unclosed <!")? + 1;
                    continue;
                }
                // Find the tag's end outside quotes.
                let mut j = i + 1;
                let mut quote = None;
                while j < b.len() {
                    match (quote, b[j]) {
                        (None, b'"') | (None, b'\'') => quote = Some(b[j]),
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), b'<') => return Err(format!("'<' in an attribute at {j}")),
                        (Some(_), b'&') if !entity_ok(j) => {
                            return Err(format!("bare '&' in an attribute at {j}"))
                        }
                        (None, b'>') => break,
                        _ => {}
                    }
                    j += 1;
                }
                if j >= b.len() {
                    return Err(format!("unclosed tag at {i}"));
                }
                let tag = &svg[i + 1..j];
                if let Some(name) = tag.strip_prefix('/') {
                    let name = name.trim();
                    match stack.pop() {
                        Some(open) if open == name => {}
                        other => return Err(format!("</{name}> closes {other:?} at {i}")),
                    }
                } else if !tag.ends_with('/') {
                    let name = tag.split_whitespace().next().unwrap_or("").to_string();
                    if name.is_empty() {
                        return Err(format!("empty tag at {i}"));
                    }
                    stack.push(name);
                }
                i = j + 1;
            }
            b'&' if !entity_ok(i) => return Err(format!("bare '&' in text at {i}")),
            _ => i += 1,
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed elements {stack:?}"))
    }
}

/// The trace's events.
fn events(json: &serde_json::Value) -> &Vec<serde_json::Value> {
    json["traceEvents"].as_array().expect("traceEvents")
}

/// The track (trace tid) named `name` in trace process `pid`.
fn track(json: &serde_json::Value, pid: i32, name: &str) -> i64 {
    events(json)
        .iter()
        .find(|e| {
            e["ph"] == "M"
                && e["name"] == "thread_name"
                && e["pid"] == pid
                && e["args"]["name"]
                    .as_str()
                    .is_some_and(|n| n == name || n.starts_with(&format!("{name} (")))
        })
        .and_then(|e| e["tid"].as_i64())
        .unwrap_or_else(|| panic!("no track {name:?} of pid {pid}"))
}

/// Every track's B/E pairs balance, each E at or after its B, every X's duration is not
/// negative, and timestamps are not negative.
fn check_spans(json: &serde_json::Value) {
    use std::collections::HashMap;
    let mut open: HashMap<(i64, i64), Vec<(f64, String)>> = HashMap::new();
    for e in events(json) {
        let ph = e["ph"].as_str().unwrap_or("");
        if ph == "M" {
            continue;
        }
        let ts = e["ts"].as_f64().unwrap_or_else(|| panic!("no ts: {e}"));
        assert!(ts >= 0.0, "negative ts: {e}");
        let key = (
            e["pid"].as_i64().unwrap_or(-1),
            e["tid"].as_i64().unwrap_or(-1),
        );
        match ph {
            "B" => open
                .entry(key)
                .or_default()
                .push((ts, e["name"].as_str().unwrap_or("").into())),
            "E" => {
                let (b, name) = open
                    .get_mut(&key)
                    .and_then(Vec::pop)
                    .unwrap_or_else(|| panic!("E with no B: {e}"));
                assert!(ts >= b, "span {name} ends before it begins: {b} > {ts}");
            }
            "X" => assert!(e["dur"].as_f64().unwrap_or(0.0) >= 0.0, "negative dur: {e}"),
            _ => {}
        }
    }
    for (k, v) in open {
        assert!(v.is_empty(), "track {k:?} left open: {v:?}");
    }
}

/// The states' names on a thread's states track, in time order.
fn states(json: &serde_json::Value, pid: i32, track_tid: i64) -> Vec<String> {
    let mut v: Vec<(f64, String)> = events(json)
        .iter()
        .filter(|e| e["ph"] == "B" && e["pid"] == pid && e["tid"] == track_tid)
        .map(|e| {
            (
                e["ts"].as_f64().unwrap(),
                e["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v.into_iter().map(|(_, n)| n).collect()
}

/// A small SRR exchange: the server waits first; the client makes two round trips. The
/// timeline's exchange flows go from the client's MsgSend to the server's MsgReceive and
/// MsgReply, the states come in QNX's order, spans balance; the chart is well-formed XML.
#[test]
fn the_timeline_and_chart_of_a_small_srr_exchange_connect_the_right_threads() {
    let dir = TempDir::new("views-srr");
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    let (tids, tidc) = (ts.tid(), tc.tid());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let kk = k.clone();
    let (json, svg) = record(
        &k,
        &dir,
        &[(ps.pid, "server"), (pc.pid, "client")],
        None,
        || {
            let server = s.run(ts, move |t| -> Result<(), Errno> {
                for _ in 0..2 {
                    bound(t);
                    let r = t.msg_receive(chid, &mut [0u8; 8], None)?;
                    t.msg_reply(r, 0, b"ok")?;
                }
                Ok(())
            });
            wait_in_state(&kk, ps.pid, tids, ThreadState::Receive { chid });
            let client = s.run(tc, move |t| -> Result<(), Errno> {
                let _ = go_rx.recv_timeout(WITHIN);
                for _ in 0..2 {
                    bound(t);
                    t.msg_send(coid, b"hello", &mut [0u8; 2])?;
                }
                Ok(())
            });
            go_tx.send(()).unwrap();
            assert_eq!(recv(&client), Ok(()));
            assert_eq!(recv(&server), Ok(()));
        },
    );
    check_spans(&json);
    let calls_c = track(&json, pc.pid, &format!("thread {tidc}"));
    let calls_s = track(&json, ps.pid, &format!("thread {tids}"));
    // Each exchange: s on the client's calls track, t and f on the server's.
    let flows: Vec<&serde_json::Value> = events(&json)
        .iter()
        .filter(|e| e["cat"] == "exchange")
        .collect();
    let by = |ph: &str| flows.iter().filter(|e| e["ph"] == ph).collect::<Vec<_>>();
    let (starts, steps, ends) = (by("s"), by("t"), by("f"));
    assert_eq!(
        (starts.len(), steps.len(), ends.len()),
        (2, 2, 2),
        "{flows:#?}"
    );
    for e in &starts {
        assert_eq!(
            (e["pid"].as_i64(), e["tid"].as_i64()),
            (Some(pc.pid.into()), Some(calls_c)),
            "{e}"
        );
    }
    for e in steps.iter().chain(ends.iter()) {
        assert_eq!(
            (e["pid"].as_i64(), e["tid"].as_i64()),
            (Some(ps.pid.into()), Some(calls_s)),
            "{e}"
        );
    }
    for s_ev in &starts {
        let id = &s_ev["id"];
        let t = steps.iter().find(|e| e["id"] == *id).expect("its step");
        let f = ends.iter().find(|e| e["id"] == *id).expect("its end");
        let (a, b, c) = (
            s_ev["ts"].as_f64().unwrap(),
            t["ts"].as_f64().unwrap(),
            f["ts"].as_f64().unwrap(),
        );
        assert!(a <= b && b <= c, "flow {id} out of order: {a} {b} {c}");
    }
    // The client: straight to REPLY the first time (the server was waiting), REPLY-blocked
    // twice. (Its second send may find the server not yet back in its receive: SEND first.)
    let st_c = states(
        &json,
        pc.pid,
        track(&json, pc.pid, &format!("thread {tidc} states")),
    );
    assert_eq!(st_c.iter().filter(|s| *s == "REPLY").count(), 2, "{st_c:?}");
    assert_eq!(
        st_c.iter().find(|s| *s != "RUNNING").map(String::as_str),
        Some("REPLY"),
        "{st_c:?}"
    );
    let st_s = states(
        &json,
        ps.pid,
        track(&json, ps.pid, &format!("thread {tids} states")),
    );
    assert_eq!(
        st_s.iter().find(|s| *s != "RUNNING").map(String::as_str),
        Some("RECEIVE"),
        "{st_s:?}"
    );
    assert!(
        !st_s.iter().any(|s| s == "SEND" || s == "REPLY"),
        "{st_s:?}"
    );
    // The chart: well-formed, naming both lifelines and both messages.
    check_xml(&svg).unwrap_or_else(|e| panic!("the chart is not well-formed XML: {e}\n{svg}"));
    let (c, sv) = (format!("{}.{tidc}", pc.pid), format!("{}.{tids}", ps.pid));
    let send = ("send".to_string(), c.clone(), sv.clone());
    let reply = ("reply".to_string(), sv, c);
    assert_eq!(
        arrows(&svg),
        [send.clone(), reply.clone(), send, reply],
        "{svg}"
    );
}

/// The chart's arrows in row order: (kind, from "pid.tid", to "pid.tid").
fn arrows(svg: &str) -> Vec<(String, String, String)> {
    let attr = |el: &str, name: &str| -> String {
        let at = el
            .find(&format!(" {name}=\""))
            .unwrap_or_else(|| panic!("no {name} in {el}"));
        let rest = &el[at + name.len() + 3..];
        rest[..rest.find('"').unwrap()].to_string()
    };
    svg.split("<line class=\"arrow ")
        .skip(1)
        .map(|el| {
            let el = &el[..el.find('>').unwrap()];
            let kind = el[..el.find('"').unwrap()].to_string();
            (kind, attr(el, "data-from"), attr(el, "data-to"))
        })
        .collect()
}

/// The chain of case 1 in the chart: A's message (sent before B received: A SEND-blocked
/// first) drawn from A to B, B's to C, C's reply to B, B's to A, in that order.
#[test]
fn the_chart_of_a_chain_draws_each_arrow_between_the_right_threads() {
    let dir = TempDir::new("views-chain");
    let k = kernel();
    let mut s = Scene::new(&k);
    let (pa, pb, pc) = (s.process(), s.process(), s.process());
    let (ta, tb, tc) = (s.thread(pa, 10), s.thread(pb, 10), s.thread(pc, 10));
    let (a, b, c) = (
        format!("{}.{}", pa.pid, ta.tid()),
        format!("{}.{}", pb.pid, tb.tid()),
        format!("{}.{}", pc.pid, tc.tid()),
    );
    let tida = ta.tid();
    let chid_c = tc.channel_create(0).expect("C's channel");
    let chid_b = tb.channel_create(0).expect("B's channel");
    let coid_bc = tb
        .connect_attach(0, pc.pid, chid_c, _NTO_SIDE_CHANNEL, 0)
        .expect("B -> C");
    let coid_ab = ta
        .connect_attach(0, pb.pid, chid_b, _NTO_SIDE_CHANNEL, 0)
        .expect("A -> B");
    let kk = k.clone();
    let (json, svg) = record(&k, &dir, &[], Some(60), || {
        let ra = s.run(ta, move |t| {
            bound(t);
            t.msg_send(coid_ab, b"A", &mut [0u8; 1])
        });
        wait_in_state(
            &kk,
            pa.pid,
            tida,
            ThreadState::Send {
                pid: pb.pid,
                chid: chid_b,
            },
        );
        let rc = s.run(tc, move |t| -> Result<(), Errno> {
            bound(t);
            let r = t.msg_receive(chid_c, &mut [0u8; 4], None)?;
            t.msg_reply(r, 0, b"C")
        });
        let rb = s.run(tb, move |t| -> Result<(), Errno> {
            bound(t);
            let r = t.msg_receive(chid_b, &mut [0u8; 4], None)?;
            bound(t);
            t.msg_send(coid_bc, b"B", &mut [0u8; 1])?;
            t.msg_reply(r, 0, b"B")
        });
        assert_eq!(recv(&ra), Ok(0));
        assert_eq!(recv(&rb), Ok(()));
        assert_eq!(recv(&rc), Ok(()));
    });
    check_spans(&json);
    check_xml(&svg).unwrap_or_else(|e| panic!("the chart is not well-formed XML: {e}\n{svg}"));
    let arrow = |k: &str, f: &str, t: &str| (k.to_string(), f.to_string(), t.to_string());
    assert_eq!(
        arrows(&svg),
        [
            arrow("send", &a, &b),
            arrow("send", &b, &c),
            arrow("reply", &c, &b),
            arrow("reply", &b, &a),
        ],
        "{svg}"
    );
    // A was SEND-blocked, then REPLY-blocked: both spans on A's lifeline, SEND first.
    let st_a = states(
        &json,
        pa.pid,
        track(&json, pa.pid, &format!("thread {tida} states")),
    );
    let (send_at, reply_at) = (
        st_a.iter().position(|s| s == "SEND"),
        st_a.iter().position(|s| s == "REPLY"),
    );
    assert!(
        matches!((send_at, reply_at), (Some(x), Some(y)) if x < y),
        "{st_a:?}"
    );
    assert!(
        svg.contains("class=\"state send\""),
        "no SEND-blocked span drawn:\n{svg}"
    );
}

/// Many threads in several processes, names with characters XML and JSON must escape, and a
/// row cap: a valid JSON file and a well-formed SVG, every span balanced.
#[test]
fn a_run_with_many_threads_gives_a_valid_timeline_and_a_well_formed_chart() {
    let dir = TempDir::new("views-many");
    let k = kernel();
    let mut s = Scene::new(&k);
    let server = s.process();
    let clients: Vec<Pid> = (0..3).map(|_| s.process()).collect();
    let mut servers = Vec::new();
    let chid = {
        let t = s.thread(server, 10);
        let chid = t.channel_create(_NTO_CHF_DISCONNECT).expect("channel");
        servers.push(t);
        chid
    };
    for _ in 0..3 {
        servers.push(s.thread(server, 10));
    }
    let names = [
        (server.pid, "srv <\"&'>\u{1b}[31m"),
        (clients[0].pid, "c&1"),
        (clients[1].pid, "c</text>2"),
        (clients[2].pid, "c\\3\n"),
    ];
    let mut workers = Vec::new();
    for (i, p) in clients.iter().enumerate() {
        for j in 0..4 {
            workers.push((s.thread(*p, 8 + (i * 4 + j) as i16), *p));
        }
    }
    let per = 5;
    let total = workers.len() * per;
    let (json, svg) = record(&k, &dir, &names, Some(25), || {
        let mut done = Vec::new();
        for t in servers.drain(..) {
            done.push(s.run(t, move |t| {
                let mut n = 0;
                loop {
                    t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(300_000_000))
                        .expect("arm");
                    match t.msg_receive(chid, &mut [0u8; 64], None) {
                        Ok(0) => {}
                        Ok(r) => {
                            let _ = t.msg_reply(r, 0, b"ok");
                            n += 1;
                        }
                        Err(_) => return n,
                    }
                }
            }));
        }
        let mut sent = Vec::new();
        for (t, p) in workers.drain(..) {
            let pid = server.pid;
            let _ = p;
            sent.push(s.run(t, move |t| {
                let coid = t
                    .connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0)
                    .expect("connect");
                for i in 0..per {
                    bound(t);
                    t.msg_send(coid, format!("m{i}").as_bytes(), &mut [0u8; 2])
                        .expect("MsgSend");
                    if i == 2 {
                        let _ = t.msg_send_pulse(coid, 5, 3, 42);
                    }
                }
                let _ = t.connect_detach(coid);
            }));
        }
        for r in &sent {
            recv(r);
        }
        let served: usize = done.iter().map(recv).sum();
        assert_eq!(served, total);
    });
    check_spans(&json);
    assert!(
        events(&json)
            .iter()
            .any(|e| e["ph"] == "s" && e["cat"] == "exchange"),
        "no exchange flows"
    );
    check_xml(&svg).unwrap_or_else(|e| panic!("the chart is not well-formed XML: {e}\n{svg}"));
    assert!(!svg.contains('\u{1b}'), "an escape character in the chart");
    assert!(
        !serde_json::to_string(&json).unwrap().contains('\u{1b}'),
        "an escape character in the timeline"
    );
}

// ------------------------------------------------------------------------ 9. pidin-sim

/// A program on a plain memory-file kernel at `arg`: makes the kernel, joins it, makes a
/// channel, says so, and waits to be killed.
fn file_kernel_owner(arg: &str) {
    let k = Kernel::create_shared(std::path::Path::new(arg), Config::small()).expect("kernel");
    let me = k.process_attach_self().expect("join");
    let t = k.thread_attach(me, 10).expect("thread");
    let chid = t.channel_create(0).expect("channel");
    tell_parent(&format!("ready {} {chid}", me.pid));
    std::thread::sleep(WITHIN);
}

/// A program on a supervised kernel: a server that receives one message and holds it.
fn holder() {
    use userlib::qnx::*;
    let chid = channel_create(0).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
    let mut buf = [0u8; 16];
    let r = msg_receive(chid, &mut buf, None);
    tell_parent(&format!("received {}", r.is_ok()));
    std::thread::sleep(WITHIN);
}

/// A client of the holder at `arg` = "pid chid": sends and waits (REPLY-blocked).
fn sender(arg: &str) {
    use userlib::qnx::*;
    let n = numbers(arg);
    let coid = connect_attach(0, n[0] as i32, n[1] as i32, _NTO_SIDE_CHANNEL, 0).expect("connect");
    tell_parent(&format!(
        "sending {} {}",
        getpid().expect("getpid"),
        gettid().expect("gettid")
    ));
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .expect("arm");
    let r = msg_send(coid, b"hi", &mut []);
    tell_parent(&format!("send {r:?}"));
}

/// The step mode over an in-process SRR exchange, its output told to the parent line by line.
fn stepper() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    #[derive(Clone)]
    struct Out(Arc<Mutex<Vec<u8>>>);
    impl Write for Out {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Out(Arc::new(Mutex::new(Vec::new())));
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    let tids = ts.tid();
    let guard = userlib::step::Stepper::new()
        .input(std::io::Cursor::new("\n".repeat(1000).into_bytes()))
        .output(out.clone())
        .kernel(&k)
        .pids([ps.pid, pc.pid])
        .install()
        .expect("the step mode");
    let server = s.run(ts, move |t| -> Result<(), Errno> {
        let r = t.msg_receive(chid, &mut [0u8; 8], None)?;
        t.msg_reply(r, 0, b"ok")
    });
    wait_in_state(&k, ps.pid, tids, ThreadState::Receive { chid });
    let client = s.run(tc, move |t| t.msg_send(coid, b"hello", &mut [0u8; 2]));
    assert_eq!(recv(&client), Ok(0));
    assert_eq!(recv(&server), Ok(()));
    drop(s);
    drop(guard);
    let text = String::from_utf8_lossy(&out.0.lock().unwrap()).into_owned();
    tell_parent(&format!("pids {} {}", ps.pid, pc.pid));
    for l in text.lines() {
        tell_parent(&format!("| {l}"));
    }
    tell_parent("end");
}

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "file-kernel-owner" => file_kernel_owner(&arg),
        "holder" => holder(),
        "sender" => sender(&arg),
        "stepper" => stepper(),
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn pidin_refuses_bad_options_and_bad_kernels_with_a_message_not_a_panic() {
    let dir = TempDir::new("views-pidin-bad");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a kernel\n").unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let zeros = dir.join("zeros");
    std::fs::write(&zeros, vec![0u8; 1 << 20]).unwrap();
    let missing = dir.join("no-such-kernel");
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, i32)> = vec![
        (vec!["--bogus".into()], 2),
        (vec!["--interval".into(), "0".into()], 2),
        (vec!["--interval".into(), "x".into()], 2),
        (vec!["--for".into(), "3".into()], 2),
        (vec!["--watch".into(), "--trace".into(), "t.json".into()], 2),
        (vec!["--kernel".into(), p(&missing)], 1),
        (vec!["--kernel".into(), p(&text)], 1),
        (vec!["--kernel".into(), p(&empty)], 1),
        (vec!["--kernel".into(), p(&zeros)], 1),
        (vec!["--kernel".into(), p(&sub)], 1),
        (vec!["--kernel".into(), p(&dir.join("k.sock"))], 1),
    ];
    for (args, want) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (st, out, err) = run_pidin(&a);
        assert_eq!(
            st.code(),
            Some(want),
            "pidin-sim {a:?}: {st:?}\n{out}\n{err}"
        );
        assert!(
            !err.contains("panicked"),
            "pidin-sim {a:?} panicked:\n{err}"
        );
        assert!(!err.trim().is_empty(), "pidin-sim {a:?} said nothing");
        assert!(out.is_empty(), "pidin-sim {a:?} printed a listing:\n{out}");
    }
}

/// A plain memory-file kernel whose only program was killed: pidin-sim, which changes nothing
/// (it cannot tear the dead program down: that is the next program's or a supervisor's job),
/// must not list the dead program's process and thread as alive as if nothing happened: each
/// of its rows says that its program ended.
#[test]
fn pidin_on_a_file_kernel_whose_programs_all_died_marks_them_ended() {
    let dir = TempDir::new("views-pidin-dead");
    let path = dir.join("kernel.mem");
    let owner = procs::Child::spawn("file-kernel-owner", path.to_str().unwrap());
    let ready = ready(&owner);
    let pid = ready.split(' ').next().unwrap().to_string();
    let (st, out, err) = run_pidin(&["--kernel", path.to_str().unwrap()]);
    assert!(st.success(), "{err}");
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().next() == Some(pid.as_str())),
        "the live program is listed:\n{out}"
    );
    assert!(
        !out.contains("ended"),
        "a live program marked ended:\n{out}"
    );
    assert!(!owner.kill().success());
    let (st, out, err) = run_pidin(&["--kernel", path.to_str().unwrap()]);
    assert!(st.success(), "{st:?} {err}");
    assert!(!err.contains("panicked"), "{err}");
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(pid.as_str()))
        .collect();
    assert!(
        rows.len() >= 2,
        "the process row and its thread's row:\n{out}"
    );
    for r in &rows {
        assert!(
            r.contains("(ended: not torn down yet)")
                || r.contains("(its program ended: not torn down yet)"),
            "pid {pid} of a killed program is listed as alive: {r:?}\n{out}"
        );
    }
}

/// The supervised kernel whose programs all died (the supervisor stays): pidin-sim lists no
/// process, no channel and no connection, and the pools are empty.
#[test]
fn pidin_on_a_supervised_kernel_whose_programs_all_died_shows_them_gone() {
    let dir = TempDir::new("views-pidin-sup-dead");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let server = spawn("holder", "", &socket);
    let target = ready(&server);
    let spid = target.split(' ').next().unwrap().to_string();
    let client = spawn("sender", &target, &socket);
    let sending = client.line(WITHIN);
    let cpid = sending.split(' ').nth(1).unwrap().to_string();
    assert_eq!(server.line(WITHIN), "received true");
    let sock = socket.to_str().unwrap();
    // Alive: the client REPLY-blocked on the server's thread, as pidin shows it.
    let until = Instant::now() + WITHIN;
    loop {
        let (st, out, err) = run_pidin(&["--kernel", sock]);
        assert!(st.success(), "{err}");
        let want = format!("REPLY (pid {spid} chid ");
        if out
            .lines()
            .any(|l| l.split_whitespace().next() == Some(cpid.as_str()) && l.contains(&want))
        {
            break;
        }
        assert!(
            Instant::now() < until,
            "the client is not REPLY-blocked:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!client.kill().success());
    assert!(!server.kill().success());
    let until = Instant::now() + WITHIN;
    loop {
        let (st, out, err) = run_pidin(&["--kernel", sock]);
        assert!(st.success(), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let gone = ![&spid, &cpid].iter().any(|p| {
            out.lines()
                .any(|l| l.split_whitespace().next() == Some(p.as_str()))
        });
        if gone {
            assert!(!out.contains("channel pid"), "{out}");
            assert!(!out.contains("coid "), "{out}");
            assert!(out.contains("in use: 0 of "), "{out}");
            break;
        }
        assert!(
            Instant::now() < until,
            "the dead programs stay listed:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `pidin-sim --kernel SOCKET --watch --interval 1` with its output piped; killed and
/// reaped on drop (through `Recorder`).
fn watch_pidin(socket: &std::path::Path) -> Recorder {
    let child = Command::new(PIDIN)
        .arg("--kernel")
        .arg(socket)
        .args(["--watch", "--interval", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting pidin-sim --watch");
    Recorder(child)
}

/// Reads from `r` until `want` has come (at most `WITHIN`); what came.
fn read_until(r: &mut std::process::ChildStdout, want: &str) -> String {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let fd = r.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, setting O_NONBLOCK.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let until = Instant::now() + WITHIN;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("reading pidin-sim: {e}"),
        }
        let text = String::from_utf8_lossy(&got);
        if text.contains(want) {
            return text.into_owned();
        }
        assert!(
            Instant::now() < until,
            "no {want:?} from pidin-sim:\n{text}"
        );
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// `--watch` refreshes (clearing the screen, no mode the terminal must be restored from), and
/// Ctrl-C ends it as a signal ends a program: no panic, no message.
#[test]
fn pidin_watch_refreshes_and_ends_cleanly_at_ctrl_c() {
    let dir = TempDir::new("views-watch");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let server = spawn("holder", "", &socket);
    let _ = ready(&server);
    let mut w = watch_pidin(&socket);
    let mut out = w.0.stdout.take().unwrap();
    // Two listings: it refreshes.
    let first = read_until(&mut out, "kernel entries");
    let both = first.clone() + &read_until(&mut out, "kernel entries");
    assert!(both.matches("\x1b[H\x1b[2J").count() >= 2, "{both:?}");
    for mode in ["\x1b[?1049h", "\x1b[?25l", "\x1b[?1h"] {
        assert!(
            !both.contains(mode),
            "a terminal mode left to restore: {mode:?}"
        );
    }
    w.signal(nix::sys::signal::Signal::SIGINT);
    let (st, err) = w.wait();
    assert!(!err.contains("panicked"), "{err}");
    use std::os::unix::process::ExitStatusExt;
    assert!(
        st.signal() == Some(libc::SIGINT) || st.code() == Some(130) || st.success(),
        "{st:?}"
    );
    drop(server);
}

/// `pidin-sim --watch | head`: when its reader goes away, it ends quietly (as `ps`, `top`
/// and QNX's pidin do), not with a Rust panic about a broken pipe.
#[test]
fn pidin_watch_into_a_closed_pipe_ends_without_a_panic() {
    let dir = TempDir::new("views-watch-pipe");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let server = spawn("holder", "", &socket);
    let _ = ready(&server);
    let mut w = watch_pidin(&socket);
    let mut out = w.0.stdout.take().unwrap();
    let _ = read_until(&mut out, "kernel entries");
    drop(out);
    let (st, err) = w.wait();
    assert!(!err.contains("panicked"), "pidin-sim panicked: {err}");
    assert_ne!(st.code(), Some(101), "{st:?} {err}");
    drop(server);
}

/// The step mode over an SRR exchange (in a child: the step mode is the global subscriber):
/// the client's MsgSend step shows the server RECEIVE-blocked before and the client
/// REPLY-blocked or READY after; the server's MsgReply wakes the client.
/// The step mode's output of the `stepper` child: the server's and client's pids and the text.
fn step_output() -> (i64, i64, String) {
    let child = procs::Child::spawn("stepper", "");
    let pids = child.line(WITHIN);
    let n = numbers(pids.strip_prefix("pids ").expect("pids"));
    let (ps, pc) = (n[0], n[1]);
    let mut lines = Vec::new();
    loop {
        let l = child.line(WITHIN);
        if l == "end" {
            break;
        }
        lines.push(l.strip_prefix("| ").unwrap_or(&l).to_string());
    }
    assert!(child.wait(WITHIN).success());
    (ps, pc, lines.join("\n"))
}

#[test]
fn the_step_mode_shows_an_srr_exchange_call_by_call() {
    let (ps, pc, text) = step_output();
    let send = text
        .find(&format!("pid {pc} tid 1: MsgSend"))
        .unwrap_or_else(|| panic!("no MsgSend step:\n{text}"));
    let before = &text[send..];
    let before_line = before
        .lines()
        .find(|l| l.trim_start().starts_with("before:"))
        .unwrap();
    assert!(
        before_line.contains(&format!("pid {ps} tid 1 RECEIVE")),
        "the server is RECEIVE-blocked before the send: {before_line}\n{text}"
    );
    // The calling thread is running its call, not READY, as it enters.
    assert!(
        !before_line.contains(&format!("pid {pc} tid 1 READY")),
        "the calling thread shown READY as it makes its call: {before_line}\n{text}"
    );
    assert!(
        text.contains(&format!(
            "pid {pc} tid 1: REPLY -> READY (woken by this MsgReply)"
        )),
        "{text}"
    );
}

/// A thread's first state change in the step mode, made in a call of its own, is shown from
/// RUNNING (it was shown from "?", `? -> RECEIVE`, though the stepper, given the kernel,
/// showed the thread RUNNING on the line before).
#[test]
fn the_step_mode_names_the_state_a_thread_left() {
    let (ps, pc, text) = step_output();
    assert!(
        !text.contains(": ? -> "),
        "an unknown previous state shown:\n{text}"
    );
    assert!(
        text.contains(&format!("pid {ps} tid 1 (this thread): RUNNING -> RECEIVE")),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {pc} tid 1 (this thread): RUNNING -> REPLY")),
        "{text}"
    );
}
