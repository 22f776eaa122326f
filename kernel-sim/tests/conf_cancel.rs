//! ThreadCancel, the kernel's half of a C program's `pthread_cancel` (`kernel_sim::cancel`):
//! a thread blocked in a cancellation point leaves it as a signal makes it leave (QNX: SEND-
//! and RECEIVE-blocked at once, REPLY-blocked at once, or on an `_NTO_CHF_UNBLOCK` channel
//! once the server answers its unblock pulse) with ECANCELED; a thread blocked outside a point,
//! or not blocked, is only marked, and its next blocking call in a point ends as it blocks;
//! a tid the caller's process does not have is ESRCH. Each blocking call is bounded by [`LONG`]
//! so that a cancellation the kernel misses fails the test instead of hanging it.

mod support;

use kernel_sim::cancel::point;
use support::*;

/// A RECEIVE on `chid` by `c` bounded by [`LONG`], inside a cancellation point.
fn receive_in_point(c: &ThreadCtx, chid: i32) -> KResult<RcvId> {
    let mut buf = [0u8; 64];
    arm(c, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    point(|| c.msg_receive(chid, &mut buf, None))
}

/// A MsgSend on `coid` by `c` bounded by [`LONG`], inside a cancellation point.
fn send_in_point(c: &ThreadCtx, coid: i32) -> KResult<i64> {
    let mut r = [0u8; 4];
    arm(c, SEND_REPLY, Some(LONG));
    point(|| c.msg_send(coid, b"ping", &mut r))
}

#[test]
fn a_tid_the_callers_process_does_not_have_is_esrch_and_marks_nobody() {
    let w = world(0);
    // A second server thread: tid 2 exists in the server's process only.
    let other = w.k.thread_attach(w.srv, 10).unwrap();
    assert_eq!(other.tid(), 2);
    // A thread of the client's that has left the kernel.
    let gone = spawn(&w.k, w.cli, 10, |c| c.tid());
    let gone_tid = gone.join();
    wait_gone(&w.k, w.cli.pid, gone_tid);
    for tid in [2, gone_tid, 999, 0, -1, i32::MIN] {
        assert_eq!(
            w.client.thread_cancel(tid),
            Err(Errno::ESRCH),
            "ThreadCancel({tid}) from the client's process"
        );
    }
    // Nobody was marked: the caller's own cancellation point and the other process's thread
    // block and time out as usual.
    let own = w.client.channel_create(0).unwrap();
    arm(&w.client, _NTO_TIMEOUT_RECEIVE, Some(SHORT));
    let mut buf = [0u8; 16];
    assert_eq!(
        point(|| w.client.msg_receive(own, &mut buf, None)),
        Err(Errno::ETIMEDOUT)
    );
    arm(&other, _NTO_TIMEOUT_RECEIVE, Some(SHORT));
    assert_eq!(
        point(|| other.msg_receive(w.chid, &mut buf, None)),
        Err(Errno::ETIMEDOUT)
    );
    w.client.channel_destroy(own).unwrap();
    drop(other);
    w.finish();
}

#[test]
fn a_receive_blocked_thread_in_a_point_leaves_with_ecanceled() {
    let w = world(0);
    let own = w.client.channel_create(0).unwrap();
    let r = spawn(&w.k, w.cli, 10, move |c| receive_in_point(c, own)).once_receive_blocked(&w.k);
    assert_eq!(w.client.thread_cancel(r.tid), Ok(()));
    assert_eq!(r.join(), Err(Errno::ECANCELED));
    w.client.channel_destroy(own).unwrap();
    w.finish();
}

#[test]
fn a_send_blocked_client_in_a_point_leaves_with_ecanceled_and_its_message_is_withdrawn() {
    let w = world(0);
    let coid = w.coid;
    let s = spawn(&w.k, w.cli, 10, move |c| send_in_point(c, coid)).once_send_blocked(&w.k);
    assert_eq!(w.client.thread_cancel(s.tid), Ok(()));
    assert_eq!(s.join(), Err(Errno::ECANCELED));
    // The server never sees it.
    assert_nothing_queued(&w.server, w.chid);
    w.finish();
}

#[test]
fn a_reply_blocked_client_in_a_point_leaves_at_once_and_the_late_reply_is_esrch() {
    let w = world(0);
    let coid = w.coid;
    let s = spawn(&w.k, w.cli, 10, move |c| send_in_point(c, coid));
    let (rcvid, _) = w.take();
    wait_reply_blocked(&w.k, w.cli.pid, s.tid);
    assert_eq!(w.client.thread_cancel(s.tid), Ok(()));
    assert_eq!(s.join(), Err(Errno::ECANCELED));
    assert_eq!(w.server.msg_reply(rcvid, 0, b"late"), Err(Errno::ESRCH));
    w.finish();
}

#[test]
fn a_reply_blocked_client_on_an_unblock_channel_waits_for_the_servers_answer() {
    let w = world(_NTO_CHF_UNBLOCK);
    let coid = w.coid;
    let s = spawn(&w.k, w.cli, 10, move |c| send_in_point(c, coid));
    let (rcvid, _) = w.take();
    wait_reply_blocked(&w.k, w.cli.pid, s.tid);
    assert_eq!(w.client.thread_cancel(s.tid), Ok(()));
    // The server is asked, as for a signal (the pulse is queued by the time ThreadCancel
    // returns: a poll finds it, where the client's own timeout would only send it after
    // LONG), and the client stays until it answers.
    let p = poll_pulse(&w.server, w.chid).expect("the unblock pulse, at once");
    assert_eq!(p.code, _PULSE_CODE_UNBLOCK);
    assert_eq!(
        p.value as u32 as i32, rcvid as i32,
        "the pulse names the request"
    );
    wait_reply_blocked(&w.k, w.cli.pid, s.tid);
    assert!(!s.is_finished());
    w.server.msg_error(rcvid, Errno::EINTR).unwrap();
    assert_eq!(s.join(), Err(Errno::EINTR));
    w.finish();
}

#[test]
fn a_thread_blocked_outside_a_point_is_only_marked_and_its_next_point_ends_as_it_blocks() {
    let w = world(0);
    let own = w.client.channel_create(0).unwrap();
    let self_coid = w
        .client
        .connect_attach(0, w.cli.pid, own, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let t = spawn(&w.k, w.cli, 10, move |c| {
        // Outside a point (the Rust API's calls, C's *nc forms): not ended.
        let mut buf = [0u8; 64];
        let first = receive(c, own, &mut buf, None);
        // Then inside one: ends as it blocks, though a pulse would come within LONG.
        let second = receive_in_point(c, own);
        // The mark was consumed: the next one blocks as usual.
        let third = receive_in_point(c, own);
        (first, second, third)
    })
    .once_receive_blocked(&w.k);
    assert_eq!(w.client.thread_cancel(t.tid), Ok(()));
    // Still RECEIVE-blocked: released by a pulse, not by the cancellation.
    std::thread::sleep(std::time::Duration::from_millis(20));
    wait_receive_blocked(&w.k, w.cli.pid, t.tid);
    assert!(!t.is_finished());
    w.client.msg_send_pulse(self_coid, 10, 5, 1).unwrap();
    // The third receive blocks; a second pulse ends it.
    wait_until("the third receive blocked", || {
        matches!(
            w.k.thread_info(w.cli.pid, t.tid).map(|i| i.state),
            Ok(ThreadState::Receive { .. })
        ) && w.k.process_counters(w.cli.pid).is_ok_and(|c| c.blocks >= 2)
    });
    w.client.msg_send_pulse(self_coid, 10, 6, 2).unwrap();
    let (first, second, third) = t.join();
    assert_eq!(first, Ok(0), "the first receive got the pulse");
    assert_eq!(second, Err(Errno::ECANCELED));
    assert_eq!(third, Ok(0), "the third receive got the second pulse");
    w.client.connect_detach(self_coid).unwrap();
    w.client.channel_destroy(own).unwrap();
    w.finish();
}

#[test]
fn a_thread_that_cancels_itself_ends_its_next_point_and_only_that_one() {
    let w = world(0);
    let own = w.client.channel_create(0).unwrap();
    assert_eq!(w.client.thread_cancel(w.client.tid()), Ok(()));
    // A call that does not block is not a cancellation point's end.
    assert_eq!(w.client.msg_send_pulse(w.coid, 10, 1, 0), Ok(()));
    assert_eq!(receive_in_point(&w.client, own), Err(Errno::ECANCELED));
    arm(&w.client, _NTO_TIMEOUT_RECEIVE, Some(SHORT));
    let mut buf = [0u8; 16];
    assert_eq!(
        point(|| w.client.msg_receive(own, &mut buf, None)),
        Err(Errno::ETIMEDOUT),
        "the mark was consumed"
    );
    assert_eq!(drain_pulses(&w.server, w.chid), 1);
    w.client.channel_destroy(own).unwrap();
    w.finish();
}
