//! The unblock protocol where the kernel cannot release a thread at once (QNX's
//! `force_ready`), MsgError's errno range, and the place of the disconnect pulse in the queue
//! (QNX: ConnectDetach, MsgError, `_NTO_CHF_UNBLOCK`, the disconnect pulse).

mod support;

use std::time::Duration;
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;

/// A client thread of `w` that sends on the shared coid with no timeout at all (only what the
/// test does ends its call; the watchdog the test arms ends it if the kernel does not).
fn unbounded_sender(w: &World) -> Bg<Sent<4>> {
    w.sender_on_shared_coid(12, None)
}

// ------------------------------------------------------------------ MsgError's errno range

#[test]
fn msg_error_with_an_errno_out_of_range_is_einval_and_the_client_is_neither_released_nor_resent() {
    let w = world(0);
    let wd = Watchdog::new(&w.k, w.cli);
    let c = unbounded_sender(&w);
    let (rcvid, _) = w.take();
    // i32::MIN was once the dispatcher's own "run again" marker: the client resent.
    for bad in [i32::MIN, -2, -1000, 4096, 1 << 20, i32::MAX] {
        assert_eq!(
            w.server.msg_error(rcvid, Errno(bad)),
            Err(Errno::EINVAL),
            "errno {bad}"
        );
    }
    // -1 (7.0.1's "the unblock reason") without an unblock request is EINVAL too.
    assert_eq!(w.server.msg_error(rcvid, Errno(-1)), Err(Errno::EINVAL));
    // The client is still REPLY-blocked, and nothing was sent again.
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    assert_nothing_queued(&w.server, w.chid);
    // The largest errno passes through.
    w.server.msg_error(rcvid, Errno(4095)).unwrap();
    assert_eq!(c.join().0, Err(Errno(4095)));
    assert_nothing_queued(&w.server, w.chid);
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn msg_error_minus_one_passes_on_the_reason_the_client_asked_to_unblock() {
    let w = world(_NTO_CHF_UNBLOCK);
    let c = w.sender_on_shared_coid(10, Some((_NTO_TIMEOUT_REPLY, SHORT)));
    let (rcvid, _) = w.take();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_long()), (_PULSE_CODE_UNBLOCK, rcvid));
    w.server.msg_error(rcvid, Errno(-1)).unwrap();
    assert_eq!(c.join().0, Err(Errno::ETIMEDOUT));
    w.finish();
}

// ------------------------------------------------------------------ detach by a sibling

#[test]
fn a_sibling_detaching_the_coid_of_a_held_client_sends_the_unblock_pulse_and_the_client_leaves_with_ebadf_once_answered(
) {
    let w = world(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT);
    let wd = Watchdog::new(&w.k, w.cli);
    let c = unbounded_sender(&w);
    let (rcvid, _) = w.take();
    let scoid = w.server.msg_info(rcvid).unwrap().scoid;
    w.client.connect_detach(w.coid).unwrap();
    // The server hears of it; the client stays until it answers, and so does the connection:
    // no disconnect pulse yet.
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_long()), (_PULSE_CODE_UNBLOCK, rcvid));
    assert_nothing_queued(&w.server, w.chid);
    std::thread::sleep(Duration::from_millis(10));
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    let info = w.server.msg_info(rcvid).unwrap();
    assert_eq!(info.flags & _NTO_MI_UNBLOCK_REQ, _NTO_MI_UNBLOCK_REQ);
    // The coid is gone for the client process.
    assert_eq!(w.client.msg_send_pulse(w.coid, 10, 1, 1), Err(Errno::EBADF));
    // The server answers: the client leaves with EBADF, then the disconnect pulse comes.
    w.server.msg_reply(rcvid, 5, b"data").unwrap();
    assert_eq!(c.join(), (Err(Errno::EBADF), [0u8; 4]));
    let d = receive_pulse(&w.server, w.chid);
    assert_eq!((d.code, d.scoid), (_PULSE_CODE_DISCONNECT, scoid));
    w.server.connect_detach(scoid).unwrap();
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn a_sibling_detaching_the_coid_of_a_client_on_a_channel_without_unblock_releases_it_at_once() {
    let w = world(0);
    let c = unbounded_sender(&w);
    let (rcvid, _) = w.take();
    w.client.connect_detach(w.coid).unwrap();
    assert_eq!(c.join().0, Err(Errno::EBADF));
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    w.finish();
}

// ------------------------------------------------------------------ the client process dies

#[test]
fn a_destroyed_processs_thread_held_on_an_unblock_channel_leaves_only_when_the_server_answers() {
    let w = world(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT);
    let wd = Watchdog::new(&w.k, w.srv);
    let c = unbounded_sender(&w);
    let (rcvid, _) = w.take();
    let scoid = w.server.msg_info(rcvid).unwrap().scoid;
    let pools_mid = live(&w.k);
    // The client process is destroyed (killed) while the server holds one of its threads.
    w.k.process_destroy(w.cli).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_long()), (_PULSE_CODE_UNBLOCK, rcvid));
    // No disconnect yet: the held thread keeps its connection until the server answers.
    assert_nothing_queued(&w.server, w.chid);
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    // The process is exiting: no new connections to it; it is destroyed only once.
    assert_eq!(
        w.server.connect_attach(0, w.cli.pid, 1, SIDE, 0),
        Err(Errno::ENXIO)
    );
    assert_eq!(w.k.process_destroy(w.cli), Err(Errno::ESRCH));
    // Its other thread (the test's `client`) is gone: its calls fail.
    assert_eq!(w.client.channel_create(0), Err(Errno::ESRCH));
    assert!(
        live(&w.k)[0] == pools_mid[0],
        "the process stays while its thread is held"
    );
    // The server answers: the held thread's call returns ESRCH (it would have died), the
    // connection goes (disconnect pulse), and the process is freed.
    w.server.msg_error(rcvid, Errno::EINTR).unwrap();
    let tid = c.tid;
    assert_eq!(c.join().0, Err(Errno::ESRCH));
    let d = receive_pulse(&w.server, w.chid);
    assert_eq!((d.code, d.scoid), (_PULSE_CODE_DISCONNECT, scoid));
    w.server.connect_detach(scoid).unwrap();
    assert_eq!(w.k.thread_info(w.cli.pid, tid).map(drop), Err(Errno::ESRCH));
    assert_eq!(live(&w.k)[0], pools_mid[0] - 1, "the process is freed");
    assert!(!wd.fired());
    drop(wd);
    let srv = w.srv;
    w.finish_with(&[srv]);
}

#[test]
fn a_held_thread_of_a_destroyed_process_is_released_when_the_server_destroys_its_channel() {
    let w = world(_NTO_CHF_UNBLOCK);
    let wd = Watchdog::new(&w.k, w.srv);
    let c = unbounded_sender(&w);
    let _ = w.take();
    w.k.process_destroy(w.cli).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!(p.code, _PULSE_CODE_UNBLOCK);
    w.server.channel_destroy(w.chid).unwrap();
    assert_eq!(c.join().0, Err(Errno::ESRCH));
    assert!(!wd.fired());
    drop(wd);
    let srv = w.srv;
    w.finish_with(&[srv]);
}

#[test]
fn a_destroyed_processs_thread_on_a_channel_without_unblock_is_released_at_once() {
    let w = world(_NTO_CHF_DISCONNECT);
    let c = unbounded_sender(&w);
    let (rcvid, _) = w.take();
    w.k.process_destroy(w.cli).unwrap();
    assert_eq!(c.join().0, Err(Errno::ESRCH));
    // The server sees the disconnect at once, and its rcvid is stale.
    let d = receive_pulse(&w.server, w.chid);
    assert_eq!(d.code, _PULSE_CODE_DISCONNECT);
    w.server.connect_detach(d.scoid).unwrap();
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    let srv = w.srv;
    w.finish_with(&[srv]);
}

// ------------------------------------------------------------------ the disconnect pulse

#[test]
fn a_disconnect_pulse_stays_ahead_of_pulses_and_messages_of_every_priority_queued_after_it() {
    let w = world(_NTO_CHF_DISCONNECT);
    let wd = Watchdog::new(&w.k, w.cli);
    // A second client connection, to detach (the first stays for the pulses and sends).
    let coid2 = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, SIDE, _NTO_COF_NOSHARE)
        .unwrap();
    w.client.msg_send_pulse(w.coid, 5, 1, 1).unwrap();
    w.client.connect_detach(coid2).unwrap();
    // Queued after the disconnect, at higher priorities: a pulse at 255 and a message at 200.
    w.client.msg_send_pulse(w.coid, 255, 2, 2).unwrap();
    let coid = w.coid;
    let c = spawn(&w.k, w.cli, 200, move |c| {
        let mut r = [0u8; 4];
        c.msg_send(coid, b"hi", &mut r)
    })
    .once_send_blocked(&w.k);
    let first = receive_pulse(&w.server, w.chid);
    assert_eq!(first.code, _PULSE_CODE_DISCONNECT);
    w.server.connect_detach(first.scoid).unwrap();
    // Then the others, by priority: the pulse at 255, the message at 200, the pulse at 5.
    assert_eq!(receive_pulse(&w.server, w.chid).code, 2);
    let mut b = [0u8; 32];
    let r = receive(&w.server, w.chid, &mut b, None).unwrap();
    assert!(r > 0, "the priority-200 message");
    w.server.msg_reply(r, 0, b"").unwrap();
    assert_eq!(c.join(), Ok(0));
    assert_eq!(receive_pulse(&w.server, w.chid).code, 1);
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn disconnect_pulses_keep_the_order_they_came_in_whatever_their_priorities() {
    let w = world(_NTO_CHF_DISCONNECT);
    let a = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE)
        .unwrap();
    let b = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE)
        .unwrap();
    let (sa, sb) = (scoid_of(&w.k, w.cli.pid, a), scoid_of(&w.k, w.cli.pid, b));
    w.client.set_priority(10).unwrap();
    w.client.connect_detach(a).unwrap();
    w.client.set_priority(20).unwrap();
    w.client.connect_detach(b).unwrap();
    w.client.set_priority(10).unwrap();
    let first = receive_pulse(&w.server, w.chid);
    let second = receive_pulse(&w.server, w.chid);
    assert_eq!(
        (first.code, first.scoid, second.code, second.scoid),
        (_PULSE_CODE_DISCONNECT, sa, _PULSE_CODE_DISCONNECT, sb)
    );
    w.server.connect_detach(sa).unwrap();
    w.server.connect_detach(sb).unwrap();
    w.finish();
}
