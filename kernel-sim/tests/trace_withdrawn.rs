//! The trace events that tell a message withdrawn from its queue, a pulse dropped and an
//! exchange the kernel ended apart from the ones that were received or answered: read back
//! from the kernel's trace ring (so the ring's schema and decoder carry them too).
//!
//! A message that leaves its channel's send queue before any receive took it (its sender's
//! TimerTimeout expired, a signal, a detached coid, its death, the channel destroyed) has a
//! `qnx::msg` `withdrawn` event with the errno its MsgSend returns and why; a pulse freed
//! unreceived a `qnx::pulse` `dropped`; a `reply` says `by` `"server"` or `"kernel"`.
//!
//! Every blocking call is bounded (TimerTimeout, or a scene that tears its processes down on
//! drop); every wait polls with a deadline.

#[path = "support/scene.rs"]
#[allow(dead_code)]
mod scene;

use kernel_sim::consts::*;
use kernel_sim::trace::{Decoded, Kind};
use kernel_sim::{Config, Errno, Kernel, ThreadState};
use scene::*;

fn kernel() -> Kernel {
    Kernel::new(Config {
        trace_records: 16384,
        ..Config::default()
    })
    .expect("a kernel")
}

/// The ring's records of what `scenario` does.
fn recorded(k: &Kernel, scenario: impl FnOnce()) -> Vec<Decoded> {
    let (mut reader, _) = k
        .trace_start(std::process::id() as i32)
        .expect("trace_start");
    scenario();
    let mut out = Vec::new();
    reader.finish_into(&mut out);
    assert_eq!(reader.lost(), 0, "the ring was lapped");
    out
}

fn string(d: &Decoded) -> Option<&str> {
    d.string.as_ref().map(|(_, s)| s.as_str())
}

/// The `qnx::msg` events `what` of thread (pid, tid).
fn msgs<'a>(out: &'a [Decoded], what: &str, pid: i32, tid: i32) -> Vec<&'a Decoded> {
    out.iter()
        .filter(|d| d.kind == Kind::Msg && d.what == what && (d.pid, d.tid) == (pid, tid))
        .collect()
}

/// The one `withdrawn` event of thread (pid, tid), checked against its `send`: the same
/// exchange, the server's channel, no receive of it, and before the thread left SEND.
fn withdrawn_of(out: &[Decoded], pid: i32, tid: i32, spid: i32, chid: i32) -> Decoded {
    let sends = msgs(out, "send", pid, tid);
    let w = msgs(out, "withdrawn", pid, tid);
    assert_eq!(
        w.len(),
        1,
        "one withdrawal of pid {pid} tid {tid}: {out:#?}"
    );
    let w = w[0].clone();
    let x = w.int("exchange").expect("exchange");
    assert!(
        sends.iter().any(|s| s.int("exchange") == Some(x)),
        "the withdrawal's exchange is its send's: {sends:?} {w:?}"
    );
    assert!(
        !out.iter()
            .any(|d| d.kind == Kind::Msg && d.what == "receive" && d.int("exchange") == Some(x)),
        "a withdrawn message was received"
    );
    assert_eq!(w.int("peer_pid"), Some(spid.into()));
    assert_eq!(w.int("chid"), Some(chid.into()));
    assert_eq!(w.int("rcvid"), Some(0));
    let at = out.iter().position(|d| *d == w).unwrap();
    let left = out.iter().enumerate().position(|(i, d)| {
        i > at && d.kind == Kind::State && (d.pid, d.tid) == (pid, tid) && string(d) != Some("SEND")
    });
    assert!(left.is_some(), "no state change after the withdrawal");
    let before = out[..at]
        .iter()
        .rev()
        .find(|d| d.kind == Kind::State && (d.pid, d.tid) == (pid, tid));
    assert_eq!(
        before.and_then(string),
        Some("SEND"),
        "withdrawn while SEND-blocked"
    );
    w
}

/// A SEND-blocked client whose timeout expires: `withdrawn`, ETIMEDOUT, `timeout`.
#[test]
fn a_send_that_times_out_in_the_queue_is_traced_withdrawn_etimedout() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    let tidc = tc.tid();
    let out = recorded(&k, || {
        let r = s.run(tc, move |t| {
            t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(50_000_000))
                .expect("arm");
            t.msg_send(coid, b"one", &mut [])
        });
        assert_eq!(recv(&r), Err(Errno::ETIMEDOUT));
    });
    let w = withdrawn_of(&out, pc.pid, tidc, ps.pid, chid);
    assert_eq!(w.int("error"), Some(Errno::ETIMEDOUT.0.into()));
    assert_eq!(string(&w), Some("timeout"));
    assert_eq!(w.int("bytes"), Some(3));
    drop(ts);
}

/// A SEND-blocked client interrupted by a signal: `withdrawn`, EINTR, `signal`.
#[test]
fn a_send_interrupted_by_a_signal_in_the_queue_is_traced_withdrawn_eintr() {
    extern "C" fn on_sigusr1(_: libc::c_int) {}
    // SAFETY: a handler that does nothing (kernel-sim runs handlers outside the kernel).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigusr1 as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, pk) = (s.process(), s.process(), s.process());
    let (ts, tc, killer) = (s.thread(ps, 10), s.thread(pc, 10), s.thread(pk, 10));
    let tidc = tc.tid();
    let chid = ts.channel_create(0).expect("channel");
    let coid = tc
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let out = recorded(&k, || {
        let r = s.run(tc, move |t| {
            bound(t);
            t.msg_send(coid, b"four", &mut [])
        });
        wait_in_state(&k, pc.pid, tidc, ThreadState::Send { pid: ps.pid, chid });
        killer
            .signal_kill(0, pc.pid, tidc, libc::SIGUSR1, 0, 0)
            .expect("SignalKill");
        assert_eq!(recv(&r), Err(Errno::EINTR));
    });
    let w = withdrawn_of(&out, pc.pid, tidc, ps.pid, chid);
    assert_eq!(w.int("error"), Some(Errno::EINTR.0.into()));
    assert_eq!(string(&w), Some("signal"));
    drop(ts);
}

/// A queued client whose server's channel is destroyed (its process dies): `withdrawn`,
/// ESRCH, `channel`; a pulse queued there: `dropped`, `channel`, with the id of its `queued`.
#[test]
fn a_send_and_a_pulse_queued_on_a_destroyed_channel_are_traced_withdrawn_and_dropped() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let (ts, tc, tp) = (s.thread(ps, 10), s.thread(pc, 10), s.thread(pc, 10));
    let (tidc, tidp) = (tc.tid(), tp.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = tc
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let out = recorded(&k, || {
        tp.msg_send_pulse(coid, 10, 5, 77).expect("pulse");
        let r = s.run(tc, move |t| {
            bound(t);
            t.msg_send(coid, b"to nobody", &mut [])
        });
        wait_in_state(&k, pc.pid, tidc, ThreadState::Send { pid: ps.pid, chid });
        k.process_destroy(ps).expect("the server dies");
        assert_eq!(recv(&r), Err(Errno::ESRCH));
    });
    let w = withdrawn_of(&out, pc.pid, tidc, ps.pid, chid);
    assert_eq!(w.int("error"), Some(Errno::ESRCH.0.into()));
    assert_eq!(string(&w), Some("channel"));
    let queued = out
        .iter()
        .find(|d| d.kind == Kind::Pulse && d.what == "queued" && (d.pid, d.tid) == (pc.pid, tidp))
        .expect("the pulse's queued event");
    let dropped: Vec<&Decoded> = out
        .iter()
        .filter(|d| d.kind == Kind::Pulse && d.what == "dropped")
        .collect();
    assert_eq!(dropped.len(), 1, "{out:#?}");
    let d = dropped[0];
    assert_eq!(d.int("pulse"), queued.int("pulse"));
    assert_eq!((d.int("code"), d.int("value")), (Some(5), Some(77)));
    assert_eq!((d.pid, d.tid), (0, 0), "the kernel drops it");
    assert_eq!(string(d), Some("channel"));
    assert!(!out
        .iter()
        .any(|e| e.kind == Kind::Pulse && e.what == "received"));
}

/// A queued client whose coid another thread detaches (EBADF, `detached`), and one whose own
/// process is torn down (ESRCH, `death`).
#[test]
fn a_send_whose_coid_is_detached_or_whose_process_dies_in_the_queue_is_traced_withdrawn() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, pd) = (s.process(), s.process(), s.process());
    let (ts, tc, tc2, td) = (
        s.thread(ps, 10),
        s.thread(pc, 10),
        s.thread(pc, 10),
        s.thread(pd, 10),
    );
    let (tidc, tidd) = (tc.tid(), td.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = tc
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let coid_d = td
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let out = recorded(&k, || {
        let r = s.run(tc, move |t| {
            bound(t);
            t.msg_send(coid, b"x", &mut [])
        });
        wait_in_state(&k, pc.pid, tidc, ThreadState::Send { pid: ps.pid, chid });
        tc2.connect_detach(coid).expect("ConnectDetach");
        assert_eq!(recv(&r), Err(Errno::EBADF));
        let _r = s.run(td, move |t| {
            bound(t);
            t.msg_send(coid_d, b"y", &mut [])
        });
        wait_in_state(&k, pd.pid, tidd, ThreadState::Send { pid: ps.pid, chid });
        k.process_destroy(pd).expect("the client dies");
        wait_until_gone(&k, pd.pid, tidd);
    });
    let w = withdrawn_of(&out, pc.pid, tidc, ps.pid, chid);
    assert_eq!(w.int("error"), Some(Errno::EBADF.0.into()));
    assert_eq!(string(&w), Some("detached"));
    let w = withdrawn_of(&out, pd.pid, tidd, ps.pid, chid);
    assert_eq!(w.int("error"), Some(Errno::ESRCH.0.into()));
    assert_eq!(string(&w), Some("death"));
    drop(ts);
}

fn wait_until_gone(k: &Kernel, pid: i32, tid: i32) {
    let until = std::time::Instant::now() + SCENE_WITHIN;
    while k.thread_info(pid, tid).is_ok() {
        assert!(
            std::time::Instant::now() < until,
            "pid {pid} tid {tid} stays"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// A `reply` says who ended the exchange: `"server"` for a MsgReply, `"kernel"` for a
/// REPLY-blocked client's timeout on a channel without `_NTO_CHF_UNBLOCK` (the server answered
/// nothing; its later reply is ESRCH). A received message is never `withdrawn`.
#[test]
fn a_reply_says_whether_the_server_or_the_kernel_ended_the_exchange() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    let (tids, tidc) = (ts.tid(), tc.tid());
    let out = recorded(&k, || {
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let r = s.run(tc, move |t| {
            bound(t);
            let first = t.msg_send(coid, b"a", &mut []);
            let _ = go_rx.recv_timeout(SCENE_WITHIN);
            t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_REPLY, Some(50_000_000))
                .expect("arm");
            (first, t.msg_send(coid, b"b", &mut []))
        });
        let mut buf = [0u8; 16];
        bound(&ts);
        let rcvid = ts.msg_receive(chid, &mut buf, None).expect("receive a");
        ts.msg_reply(rcvid, 7, b"").expect("reply");
        go_tx.send(()).unwrap();
        bound(&ts);
        let rcvid = ts.msg_receive(chid, &mut buf, None).expect("receive b");
        let (first, second) = recv(&r);
        assert_eq!(first, Ok(7));
        assert_eq!(second, Err(Errno::ETIMEDOUT));
        assert_eq!(ts.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    });
    let replies = msgs(&out, "reply", ps.pid, tids);
    assert_eq!(replies.len(), 2, "{out:#?}");
    assert_eq!(string(replies[0]), Some("server"));
    assert_eq!(replies[0].int("status"), Some(7));
    assert_eq!(string(replies[1]), Some("kernel"));
    assert_eq!(replies[1].int("error"), Some(Errno::ETIMEDOUT.0.into()));
    assert!(msgs(&out, "withdrawn", pc.pid, tidc).is_empty());
}

/// A REPLY-blocked client's timeout on an `_NTO_CHF_UNBLOCK` channel queues
/// `_PULSE_CODE_UNBLOCK`; the server answers before receiving it, and the kernel removes it:
/// `dropped`, `answered`, with the id of its `queued`.
#[test]
fn an_unblock_pulse_removed_by_the_answer_is_traced_dropped() {
    let k = kernel();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(_NTO_CHF_UNBLOCK);
    let tidc = tc.tid();
    let out = recorded(&k, || {
        let r = s.run(tc, move |t| {
            t.timer_timeout(
                CLOCK_MONOTONIC,
                _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                Some(50_000_000),
            )
            .expect("arm");
            t.msg_send(coid, b"slow", &mut [])
        });
        let mut buf = [0u8; 16];
        bound(&ts);
        let rcvid = ts.msg_receive(chid, &mut buf, None).expect("receive");
        wait_info(&k, ps.pid, ts.tid(), "the unblock pulse queued", |_| {
            channel(&k, ps.pid, chid).queued == 1
        });
        ts.msg_error(rcvid, Errno::EINTR).expect("MsgError");
        assert_eq!(recv(&r), Err(Errno::EINTR));
        assert_eq!(channel(&k, ps.pid, chid).queued, 0);
    });
    let queued = out
        .iter()
        .find(|d| {
            d.kind == Kind::Pulse
                && d.what == "queued"
                && d.int("code") == Some(_PULSE_CODE_UNBLOCK.into())
        })
        .expect("the unblock pulse queued");
    let dropped: Vec<&Decoded> = out
        .iter()
        .filter(|d| d.kind == Kind::Pulse && d.what == "dropped")
        .collect();
    assert_eq!(dropped.len(), 1, "{out:#?}");
    assert_eq!(dropped[0].int("pulse"), queued.int("pulse"));
    assert_eq!(string(dropped[0]), Some("answered"));
    assert!(msgs(&out, "withdrawn", pc.pid, tidc).is_empty());
}
