//! Conformance cases written from the reference alone (`/work/shared/reference/qnx-api.md`),
//! by someone who had not read the other conf_* files' cases: the edges of SRR, pulses,
//! channels, connections, TimerTimeout and SignalKill that the other files leave out. Each
//! test's comment cites the section of the reference (or of docs/deviations.md) it checks.
//! Every blocking call is bounded with TimerTimeout.

mod support;

use std::thread;
use std::time::Duration;
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;

// ------------------------------------------------------------------ MsgReply / MsgError

/// Ref. 2.6: "exactly once per receive"; MsgReply/MsgError on an rcvid that is not
/// REPLY-blocked is ESRCH. After a MsgError the rcvid is spent: a MsgReply, a second MsgError,
/// and MsgRead/MsgWrite/MsgInfo on it (2.7: ESRCH when not REPLY-blocked) all fail with ESRCH,
/// and the client saw only the first answer.
#[test]
fn after_msg_error_the_rcvid_is_spent_for_every_call() {
    let w = world(0);
    let c = w.sender(10, LONG);
    let (rcvid, _) = w.take();
    w.server.msg_error(rcvid, Errno::EPERM).unwrap();
    assert_eq!(c.join(), (Err(Errno::EPERM), [0u8; 4]));
    assert_eq!(w.server.msg_reply(rcvid, 3, b"late"), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_error(rcvid, Errno::EIO), Err(Errno::ESRCH));
    let mut b = [0u8; 4];
    assert_eq!(w.server.msg_read(rcvid, &mut b, 0), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_write(rcvid, b"x", 0), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_info(rcvid), Err(Errno::ESRCH));
    w.finish();
}

/// Ref. 2.6: after MsgReply the rcvid is spent in the same way; MsgError(EOK) after a reply is
/// ESRCH too (the client already returned the reply's status).
#[test]
fn after_msg_reply_msg_error_and_msg_write_are_esrch() {
    let w = world(0);
    let c = w.sender(10, LONG);
    let (rcvid, _) = w.take();
    w.server.msg_reply(rcvid, 42, b"ok").unwrap();
    let (st, r) = c.join();
    assert_eq!(st, Ok(42));
    assert_eq!(&r[..2], b"ok");
    assert_eq!(w.server.msg_error(rcvid, Errno::EOK), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_write(rcvid, b"zz", 0), Err(Errno::ESRCH));
    w.finish();
}

/// Ref. 2.6: "Target must be REPLY-blocked on a channel of the caller's process". A thread of
/// a third process holding the server's rcvid gets ESRCH from MsgError, MsgRead, MsgWrite and
/// MsgInfo, and the client stays REPLY-blocked until the real server answers.
#[test]
fn a_third_process_cannot_read_write_info_or_error_anothers_rcvid() {
    let w = world(0);
    let other = w.k.process_create().unwrap();
    let o = w.k.thread_attach(other, 10).unwrap();
    let c = w.sender(10, LONG);
    let (rcvid, _) = w.take();
    let mut b = [0u8; 4];
    assert_eq!(o.msg_read(rcvid, &mut b, 0), Err(Errno::ESRCH));
    assert_eq!(o.msg_write(rcvid, b"no", 0), Err(Errno::ESRCH));
    assert_eq!(o.msg_info(rcvid), Err(Errno::ESRCH));
    assert_eq!(o.msg_error(rcvid, Errno::EIO), Err(Errno::ESRCH));
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    w.server.msg_reply(rcvid, 1, b"").unwrap();
    assert_eq!(c.join().0, Ok(1));
    drop(o);
    let srv = w.srv;
    let cli = w.cli;
    w.finish_with(&[srv, cli, other]);
}

// ------------------------------------------------------------------ MsgRead / MsgWrite

/// Ref. 2.7: MsgRead "returns bytes copied (short count at end of message; 0 if offset beyond
/// end)", and the client's state is unchanged. A zero-length buffer reads 0 bytes; an offset
/// exactly at the end, or far past it, reads 0; and the client is still REPLY-blocked.
#[test]
fn msg_read_zero_length_and_offsets_at_or_past_the_end_read_nothing() {
    let w = world(0);
    let c = w.client_sending::<4>(10, b"0123456789");
    let mut buf = [0u8; 4];
    let rcvid = w.receive_or_release(&mut buf, None);
    assert_eq!(&buf, b"0123");
    let mut empty = [0u8; 0];
    assert_eq!(w.server.msg_read(rcvid, &mut empty, 0), Ok(0));
    let mut b = [0xAAu8; 8];
    assert_eq!(w.server.msg_read(rcvid, &mut b, 10), Ok(0));
    assert_eq!(w.server.msg_read(rcvid, &mut b, 1_000_000), Ok(0));
    assert_eq!(b, [0xAA; 8], "nothing copied");
    assert_eq!(w.server.msg_read(rcvid, &mut b, 6), Ok(4));
    assert_eq!(&b[..4], b"6789");
    assert!(matches!(
        w.k.thread_info(w.cli.pid, c.tid).unwrap().state,
        ThreadState::Reply { .. }
    ));
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(c.join().0, Ok(0));
    w.finish();
}

/// Ref. 2.7: MsgWrite copies "into the client's reply buffer at offset without unblocking it;
/// returns bytes written". A zero-length write writes 0; an offset at or past the end of the
/// client's reply buffer writes 0; a MsgReply with no data afterwards leaves what MsgWrite put
/// there (2.6: reply bytes = min(reply length, client buffer), here 0).
#[test]
fn msg_write_zero_length_and_past_the_reply_buffer_write_nothing_and_an_empty_reply_keeps_it() {
    let w = world(0);
    let c = w.sender(10, LONG); // reply buffer of 4 bytes
    let (rcvid, info) = w.take();
    assert_eq!(info.dstmsglen, 4);
    assert_eq!(w.server.msg_write(rcvid, b"", 0), Ok(0));
    assert_eq!(w.server.msg_write(rcvid, b"xyz", 4), Ok(0));
    assert_eq!(w.server.msg_write(rcvid, b"xyz", 1 << 20), Ok(0));
    assert_eq!(w.server.msg_write(rcvid, b"abcdef", 1), Ok(3));
    w.server.msg_reply(rcvid, 7, b"").unwrap();
    assert_eq!(c.join(), (Ok(7), *b"\0abc"));
    w.finish();
}

// ------------------------------------------------------------------ MsgSendv / MsgInfo

/// Ref. 1.1 / 2.4: `srcmsglen` is the total the client sent and `dstmsglen` the total size of
/// its reply buffers, summed over the iov parts; `msglen` the bytes actually copied. An empty
/// send (no parts) arrives as a message of length 0 with an rcvid > 0.
#[test]
fn sendv_lengths_are_summed_over_parts_and_an_empty_sendv_is_a_zero_length_message() {
    let w = world(0);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &w.k, w.cli, 10, |t| {
            let (mut a, mut b) = ([0u8; 3], [0u8; 5]);
            arm(t, SEND_REPLY, Some(LONG));
            let st = t.msg_sendv(w.coid, &[b"ab", b"cde", b"f"], &mut [&mut a, &mut b]);
            (st, a, b)
        });
        let mut buf = [0u8; 4];
        let mut info = MsgInfo::default();
        let rcvid = receive(&w.server, w.chid, &mut buf, Some(&mut info)).unwrap();
        assert!(rcvid > 0);
        assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (4, 6, 8));
        assert_eq!(&buf, b"abcd");
        w.server
            .msg_replyv(rcvid, 2, &[b"12", b"345", b"678x"])
            .unwrap();
        let (st, a, b) = h.join();
        assert_eq!(st, Ok(2));
        assert_eq!((&a, &b), (b"123", b"45678"));

        let (h, _) = spawn_scoped(s, &w.k, w.cli, 10, |t| {
            arm(t, SEND_REPLY, Some(LONG));
            t.msg_sendv(w.coid, &[], &mut [])
        });
        let rcvid = receive(&w.server, w.chid, &mut buf, Some(&mut info)).unwrap();
        assert!(rcvid > 0, "an empty message is a message, not a pulse");
        assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (0, 0, 0));
        assert_eq!(w.server.msg_read(rcvid, &mut buf, 0), Ok(0));
        w.server.msg_reply(rcvid, 9, b"dropped").unwrap();
        assert_eq!(h.join(), Ok(9));
    });
    w.detach_and_finish();
}

/// Ref. 1.1: `pid` = client pid, `tid` = client's user-visible tid, `chid` = server channel,
/// `priority` = client thread priority, `nd` = 0; MsgInfo (2.7) "refills" the same structure
/// for the REPLY-blocked rcvid, so both agree field for field.
#[test]
fn msg_info_agrees_with_the_receive_info() {
    let w = world(0);
    let c = w.sender(23, LONG);
    let (rcvid, info) = w.take();
    let again = w.server.msg_info(rcvid).unwrap();
    assert_eq!(info, again);
    assert_eq!(
        (info.nd, info.pid, info.tid, info.chid, info.priority),
        (0, w.cli.pid, c.tid, w.chid, 23)
    );
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(c.join().0, Ok(0));
    w.finish();
}

// ------------------------------------------------------------------ channels

/// Ref. 2.2: ChannelDestroy: "every REPLY-blocked client is released with ESRCH (no unblock
/// pulse)". A client on an `_NTO_CHF_UNBLOCK` channel whose timeout already expired (its
/// unblock pulse is queued and it is held REPLY-blocked, 2.10) is released with ESRCH, not
/// ETIMEDOUT, when the channel goes.
#[test]
fn channel_destroy_releases_a_held_unblock_requesting_client_with_esrch() {
    let w = world(_NTO_CHF_UNBLOCK);
    let g = ReleaseOnPanic {
        owner: &w.server,
        chid: w.chid,
    };
    let c = w.replier(10, SHORT);
    let (rcvid, _) = w.take();
    // Wait for the unblock request (the pulse), then destroy the channel under the client.
    let mut b = [0u8; 64];
    w.server.set_priority(10).unwrap();
    let pr = receive(&w.server, w.chid, &mut b, None).unwrap();
    assert_eq!(pr, 0);
    assert_eq!(Pulse::from_bytes(&b).unwrap().code, _PULSE_CODE_UNBLOCK);
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    w.server.channel_destroy(w.chid).unwrap();
    assert_eq!(c.join().0, Err(Errno::ESRCH));
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    drop(g);
    w.finish();
}

/// Ref. 2.2: ChannelDestroy readies every RECEIVE-blocked thread with ESRCH, a pulse-only
/// receiver (MsgReceivePulse) included.
#[test]
fn channel_destroy_releases_a_pulse_only_receiver_with_esrch() {
    let w = world(0);
    let chid = w.chid;
    let h = spawn(&w.k, w.srv, 10, move |t| {
        let mut b = [0u8; 64];
        arm(t, _NTO_TIMEOUT_RECEIVE, Some(LONG));
        t.msg_receive_pulse(chid, &mut b)
    })
    .once_receive_blocked(&w.k);
    w.server.channel_destroy(w.chid).unwrap();
    assert_eq!(h.join(), Err(Errno::ESRCH));
    assert_eq!(w.server.channel_destroy(w.chid), Err(Errno::EINVAL));
    w.finish();
}

/// Ref. 2.2: "ChannelDestroy: EINVAL if chid invalid". chids belong to a process (2.2: "Channel
/// belongs to the process"): another process cannot destroy or receive on it (MsgReceive on a
/// chid that does not exist in the caller's process: ESRCH, 2.5), and the channel survives.
#[test]
fn another_process_cannot_destroy_or_receive_on_a_channel() {
    let w = world(0);
    let mut b = [0u8; 64];
    // The client process has no channels of its own.
    assert_eq!(w.client.channel_destroy(w.chid), Err(Errno::EINVAL));
    arm(&w.client, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        w.client.msg_receive(w.chid, &mut b, None),
        Err(Errno::ESRCH)
    );
    w.client.msg_send_pulse(w.coid, 10, 5, 55).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_int()), (5, 55));
    w.detach_and_finish();
}

// ------------------------------------------------------------------ connections

/// Ref. 2.3: with `_NTO_SIDE_CHANNEL` in `index`, "returned coid has bit 0x40000000 set and
/// other index bits are ignored". ConnectDetach twice: the second is EINVAL (coid invalid).
#[test]
fn side_channel_index_ignores_other_index_bits_and_a_second_detach_is_einval() {
    let w = world(0);
    let coid = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, SIDE | 5, 0)
        .unwrap();
    assert_eq!(coid as u32 & SIDE, SIDE);
    w.client.msg_send_pulse(coid, 10, 3, 33).unwrap();
    assert_eq!(receive_pulse(&w.server, w.chid).value_int(), 33);
    w.client.connect_detach(coid).unwrap();
    assert_eq!(w.client.connect_detach(coid), Err(Errno::EINVAL));
    w.detach_and_finish();
}

/// Ref. 2.3: ConnectAttach: "ESRCH no such process or channel" — a process that was destroyed
/// is no such process.
#[test]
fn connect_attach_to_a_destroyed_process_is_esrch() {
    let w = world(0);
    let gone = w.k.process_create().unwrap();
    let g = w.k.thread_attach(gone, 10).unwrap();
    let gchid = g.channel_create(0).unwrap();
    drop(g);
    w.k.process_destroy(gone).unwrap();
    assert_eq!(
        w.client.connect_attach(0, gone.pid, gchid, SIDE, 0),
        Err(Errno::ESRCH)
    );
    w.detach_and_finish();
}

/// Ref. 2.3 + 2.12: a coid in the fd space and a side-channel coid to the same channel from one
/// process share one connection (one scoid), so the server's `_PULSE_CODE_DISCONNECT` comes
/// only when the last of the two is detached; its value is 0 and its scoid the connection's.
#[test]
fn fd_and_side_channel_coids_share_a_connection_and_disconnect_comes_after_the_last() {
    let w = world(_NTO_CHF_DISCONNECT);
    let fd = w.client.connect_attach(0, w.srv.pid, w.chid, 0, 0).unwrap();
    assert_eq!(fd as u32 & SIDE, 0);
    w.client.msg_send_pulse(fd, 10, 1, 1).unwrap();
    let a = receive_pulse(&w.server, w.chid);
    w.client.msg_send_pulse(w.coid, 10, 1, 2).unwrap();
    let b = receive_pulse(&w.server, w.chid);
    assert_eq!(a.scoid, b.scoid);
    w.client.connect_detach(fd).unwrap();
    assert_nothing_queued(&w.server, w.chid);
    w.client.connect_detach(w.coid).unwrap();
    let d = receive_pulse(&w.server, w.chid);
    assert_eq!(d.code, _PULSE_CODE_DISCONNECT);
    assert_eq!(d.value_int(), 0);
    assert_eq!(d.scoid, a.scoid);
    w.server.connect_detach(d.scoid).unwrap();
    w.finish();
}

/// Ref. 2.3: ConnectDetach readies other threads of the process REPLY-blocked on that coid
/// with EBADF (on a channel without `_NTO_CHF_UNBLOCK`); the server's rcvid is then gone
/// (2.6/2.7: ESRCH for MsgReply, MsgRead, MsgInfo).
#[test]
fn server_calls_on_the_rcvid_of_a_client_released_by_detach_are_esrch() {
    let w = world(0);
    let _wd = Watchdog::new(&w.k, w.cli);
    let c = w.sender_on_shared_coid(10, Some((SEND_REPLY, LONG)));
    let (rcvid, _) = w.take();
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    w.client.connect_detach(w.coid).unwrap();
    assert_eq!(c.join().0, Err(Errno::EBADF));
    let mut b = [0u8; 4];
    assert_eq!(w.server.msg_read(rcvid, &mut b, 0), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_info(rcvid), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    w.finish();
}

// ------------------------------------------------------------------ kernel pulses

/// Ref. 2.12: `_PULSE_CODE_COIDDEATH` carries the coid (with `_NTO_SIDE_CHANNEL` if side
/// channel) in its value and scoid -1; `_PULSE_CODE_THREADDEATH` the tid and scoid -1; both
/// have type and subtype 0 (1.3).
#[test]
fn death_pulses_carry_scoid_minus_one_and_type_0() {
    let k = Kernel::new(Config::default()).unwrap();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let s = k.thread_attach(srv, 10).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let schid = s.channel_create(0).unwrap();
    let death = c
        .channel_create(_NTO_CHF_COID_DISCONNECT | _NTO_CHF_THREAD_DEATH)
        .unwrap();
    let coid = c.connect_attach(0, srv.pid, schid, SIDE, 0).unwrap();
    s.channel_destroy(schid).unwrap();
    let p = receive_pulse(&c, death);
    assert_eq!((p.type_, p.subtype, p.zero), (0, 0, [0; 3]));
    assert_eq!(p.code, _PULSE_CODE_COIDDEATH);
    assert_eq!(p.value_int(), coid);
    assert_eq!(p.scoid, -1);
    let t = spawn(&k, cli, 10, |_| ());
    let tid = t.tid;
    t.join();
    let p = receive_pulse(&c, death);
    assert_eq!(p.code, _PULSE_CODE_THREADDEATH);
    assert_eq!(p.value_int(), tid);
    assert_eq!(p.scoid, -1);
    c.connect_detach(coid).unwrap();
    drop(c);
    drop(s);
    teardown(&k, &[srv, cli], start);
}

/// Ref. 2.3: the disconnect pulse has "priority of the detaching thread". Received by a server
/// thread of lower priority on a channel without `_NTO_CHF_FIXED_PRIORITY`, it lends that
/// priority (2.11: "pulse priority on pulse receive").
#[test]
fn disconnect_pulse_has_the_detaching_threads_priority() {
    let w = world(_NTO_CHF_DISCONNECT);
    let (srv_pid, chid) = (w.srv.pid, w.chid);
    let h = spawn(&w.k, w.cli, 37, move |t| {
        let coid = t.connect_attach(0, srv_pid, chid, SIDE, 0).unwrap();
        t.connect_detach(coid)
    });
    assert_eq!(h.join(), Ok(()));
    // That attach shared the world's connection: its detach was not the last link.
    assert_nothing_queued(&w.server, w.chid);
    w.client.set_priority(41).unwrap();
    w.client.connect_detach(w.coid).unwrap();
    w.server.set_priority(5).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!(p.code, _PULSE_CODE_DISCONNECT);
    assert_eq!(w.server.priority().unwrap(), (5, 41));
    w.server.connect_detach(p.scoid).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ MsgReceivePulse

/// Ref. 2.5 / 2.13: `MsgReceivePulse` "skips messages and returns only pulses"; with a NULL
/// ntime timeout it is a poll: with only a message queued it fails at once with ETIMEDOUT and
/// the message stays queued for MsgReceive.
#[test]
fn msg_receive_pulse_poll_with_only_a_message_queued_times_out_and_leaves_it() {
    let w = world(0);
    let c = w.sender(10, LONG).once_send_blocked(&w.k);
    let mut b = [0u8; 64];
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        w.server.msg_receive_pulse(w.chid, &mut b),
        Err(Errno::ETIMEDOUT)
    );
    wait_send_blocked(&w.k, w.cli.pid, c.tid);
    let (rcvid, _) = w.take();
    w.server.msg_reply(rcvid, 4, b"").unwrap();
    assert_eq!(c.join().0, Ok(4));
    w.finish();
}

// ------------------------------------------------------------------ TimerTimeout

/// Ref. 2.13: `notify == NULL → SIGEV_UNBLOCK`: an explicit SIGEV_UNBLOCK event behaves as
/// NULL (the blocked call ends with ETIMEDOUT), both with a time and with a NULL ntime.
#[test]
fn timer_timeout_with_an_explicit_sigev_unblock_is_like_a_null_event() {
    let o = one();
    let mut b = [0u8; 64];
    let ev = SigEvent::unblock();
    o.t.timer_timeout_event(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_RECEIVE,
        Some(&ev),
        Some(SHORT),
    )
    .unwrap();
    assert_eq!(o.t.msg_receive(o.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    o.t.timer_timeout_event(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(&ev), None)
        .unwrap();
    assert_eq!(o.t.msg_receive(o.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    o.finish();
}

/// Ref. 1.7 / 2.13: the timeout "becomes active when the thread enters one of the states in
/// flags". Flags 0 name no state: even with a NULL ntime nothing times out, and the receive
/// blocks until a pulse comes. TimerTimeout returns the previously armed flags (0 here, and 0
/// again since the call spent the arming).
#[test]
fn timer_timeout_with_no_state_flags_bounds_nothing() {
    let o = one();
    assert_eq!(o.t.timer_timeout(CLOCK_MONOTONIC, 0, None), Ok(0));
    let coid = o.coid;
    let h = spawn(&o.k, o.p, 10, move |t| {
        thread::sleep(Duration::from_nanos(2 * SHORT));
        t.msg_send_pulse(coid, 10, 9, 99)
    });
    let mut b = [0u8; 64];
    // Only the pulse ends this receive (h sends it), so it cannot hang.
    assert_eq!(o.t.msg_receive(o.chid, &mut b, None), Ok(0));
    assert_eq!(Pulse::from_bytes(&b).unwrap().value_int(), 99);
    assert_eq!(h.join(), Ok(()));
    assert_eq!(
        o.t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, None),
        Ok(0)
    );
    // Re-arming before the call returns the flags armed before.
    assert_eq!(
        o.t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG)),
        Ok(_NTO_TIMEOUT_RECEIVE)
    );
    o.round_trip();
    o.finish();
}

/// Ref. 1.7 / 2.13: the flags for states other than SEND/RECEIVE/REPLY (NANOSLEEP, MUTEX,
/// CONDVAR, JOIN, SEM, SIGSUSPEND, SIGWAITINFO, INTR) are valid flags: TimerTimeout accepts
/// them, and they do not bound a MsgReceive (which blocks in STATE_RECEIVE only).
#[test]
fn timer_timeout_accepts_the_other_state_flags_and_they_do_not_bound_a_receive() {
    let o = one();
    let others = _NTO_TIMEOUT_SIGSUSPEND
        | _NTO_TIMEOUT_SIGWAITINFO
        | _NTO_TIMEOUT_NANOSLEEP
        | _NTO_TIMEOUT_MUTEX
        | _NTO_TIMEOUT_CONDVAR
        | _NTO_TIMEOUT_JOIN
        | _NTO_TIMEOUT_INTR
        | _NTO_TIMEOUT_SEM;
    assert_eq!(o.t.timer_timeout(CLOCK_MONOTONIC, others, None), Ok(0));
    let coid = o.coid;
    let h = spawn(&o.k, o.p, 10, move |t| {
        thread::sleep(Duration::from_nanos(2 * SHORT));
        t.msg_send_pulse(coid, 10, 2, 22)
    });
    let mut b = [0u8; 64];
    assert_eq!(o.t.msg_receive(o.chid, &mut b, None), Ok(0));
    assert_eq!(h.join(), Ok(()));
    o.finish();
}

/// Ref. 2.13: "TIMER_ABSTIME for absolute time"; ntime "already past → immediate timeout". An
/// absolute deadline of 0 (the epoch) on the realtime clock times a blocking receive out at
/// once, and does not stop a receive that finds a pulse queued.
#[test]
fn absolute_timeout_at_time_zero_times_out_only_a_call_that_would_block() {
    let o = one();
    let mut b = [0u8; 64];
    o.t.timer_timeout(
        CLOCK_REALTIME,
        _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME,
        Some(0),
    )
    .unwrap();
    assert_eq!(o.t.msg_receive(o.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    o.t.msg_send_pulse(o.coid, 10, 1, 11).unwrap();
    o.t.timer_timeout(
        CLOCK_REALTIME,
        _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME,
        Some(0),
    )
    .unwrap();
    assert_eq!(o.t.msg_receive(o.chid, &mut b, None), Ok(0));
    assert_eq!(Pulse::from_bytes(&b).unwrap().value_int(), 11);
    o.finish();
}

// ------------------------------------------------------------------ SignalKill

/// SignalKill (deviations.md, "Calls"/"Signals", and the kernel's documented errors; the
/// reference lists it among the calls it read): a remote `nd` is ENOREMOTE, a signal number
/// outside 0..=64 is EINVAL, an unknown pid or tid is ESRCH, and signal 0 to a live process or
/// thread only checks that it exists.
#[test]
fn signal_kill_checks_its_arguments() {
    let w = world(0);
    let c = &w.client;
    assert_eq!(
        c.signal_kill(1, w.srv.pid, 0, 0, 0, 0),
        Err(Errno::ENOREMOTE)
    );
    assert_eq!(c.signal_kill(0, w.srv.pid, 0, -1, 0, 0), Err(Errno::EINVAL));
    assert_eq!(c.signal_kill(0, w.srv.pid, 0, 65, 0, 0), Err(Errno::EINVAL));
    assert_eq!(c.signal_kill(0, 999_999, 0, 0, 0, 0), Err(Errno::ESRCH));
    assert_eq!(
        c.signal_kill(0, w.srv.pid, 9_999, 0, 0, 0),
        Err(Errno::ESRCH)
    );
    assert_eq!(c.signal_kill(0, w.srv.pid, 0, 0, 0, 0), Ok(()));
    assert_eq!(c.signal_kill(0, w.srv.pid, w.server.tid(), 0, 0, 0), Ok(()));
    assert_eq!(c.signal_kill(0, 0, 0, 0, 0, 0), Ok(()));
    w.round_trip();
    w.detach_and_finish();
}

// ------------------------------------------------------------------ priorities

/// Ref. 2.11: "Receiving thread takes the sender's priority ... It keeps it until it changes it
/// or receives again." After replying to a priority-30 client, the priority-10 server still
/// runs at 30; its next receive of a priority-12 client takes 12 (deviations.md, "Scheduling":
/// it drops to its base while RECEIVE-blocked, which shows only in between).
#[test]
fn inherited_priority_lasts_past_the_reply_until_the_next_receive() {
    let w = world(0);
    let c = w.sender(30, LONG);
    let (rcvid, _) = w.take();
    assert_eq!(w.server.priority().unwrap(), (10, 30));
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(c.join().0, Ok(0));
    assert_eq!(w.server.priority().unwrap(), (10, 30));
    let c = w.sender(12, LONG);
    let (rcvid, _) = w.take();
    assert_eq!(w.server.priority().unwrap(), (10, 12));
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(c.join().0, Ok(0));
    w.finish();
}

/// Ref. 2.8: a pulse is "Delivered directly if a receiver is waiting (receiver takes the
/// pulse's priority unless FIXED_PRIORITY)". On a `_NTO_CHF_FIXED_PRIORITY` channel a pulse of
/// priority 50 leaves the receiver at its own priority.
#[test]
fn fixed_priority_channel_receiver_keeps_its_priority_for_a_pulse() {
    let w = world(_NTO_CHF_FIXED_PRIORITY);
    w.client.msg_send_pulse(w.coid, 50, 1, 1).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!(p.value_int(), 1);
    assert_eq!(w.server.priority().unwrap(), (10, 10));
    w.detach_and_finish();
}

// ------------------------------------------------------------------ more edges

/// Ref. 2.2: only one channel per process may carry THREAD_DEATH/COID_DISCONNECT ("else
/// EBUSY"); once that channel is destroyed the process may make another.
#[test]
fn a_destroyed_death_channel_frees_the_place_for_a_new_one() {
    let o = one();
    let d = o.t.channel_create(_NTO_CHF_THREAD_DEATH).unwrap();
    assert_eq!(
        o.t.channel_create(_NTO_CHF_COID_DISCONNECT),
        Err(Errno::EBUSY)
    );
    o.t.channel_destroy(d).unwrap();
    let d2 = o.t.channel_create(_NTO_CHF_COID_DISCONNECT).unwrap();
    // Plain _NTO_CHF_DISCONNECT is not a death channel: any number of them.
    let a = o.t.channel_create(_NTO_CHF_DISCONNECT).unwrap();
    let b = o.t.channel_create(_NTO_CHF_DISCONNECT).unwrap();
    for c in [d2, a, b] {
        o.t.channel_destroy(c).unwrap();
    }
    o.finish();
}

/// Ref. 2.12: `_PULSE_CODE_COIDDEATH`'s value is the coid, "with `_NTO_SIDE_CHANNEL` if side
/// channel": for a coid in the fd space it is that small number, without the bit.
#[test]
fn coid_death_for_an_fd_space_coid_carries_the_plain_coid() {
    let k = Kernel::new(Config::default()).unwrap();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let s = k.thread_attach(srv, 10).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let schid = s.channel_create(0).unwrap();
    let death = c.channel_create(_NTO_CHF_COID_DISCONNECT).unwrap();
    let coid = c.connect_attach(0, srv.pid, schid, 3, 0).unwrap();
    assert!((3..256).contains(&coid), "fd-space coid {coid}");
    s.channel_destroy(schid).unwrap();
    let p = receive_pulse(&c, death);
    assert_eq!(p.code, _PULSE_CODE_COIDDEATH);
    assert_eq!(p.value_int(), coid);
    assert_eq!(p.scoid, -1);
    // The coid stays allocated (sends EBADF) until the client detaches it.
    assert_eq!(c.msg_send_pulse(coid, 10, 1, 1), Err(Errno::EBADF));
    c.connect_detach(coid).unwrap();
    assert_eq!(c.connect_detach(coid), Err(Errno::EINVAL));
    drop(c);
    drop(s);
    teardown(&k, &[srv, cli], start);
}

/// Ref. 2.3 / 2.10: ConnectDetach readies other threads of the process SEND-blocked on that
/// coid with EBADF, and a SEND-blocked client "always unblocks immediately": on a channel with
/// `_NTO_CHF_UNBLOCK` too, with no unblock pulse, and the server never sees the message.
#[test]
fn detach_releases_a_send_blocked_client_on_an_unblock_channel_at_once_without_a_pulse() {
    let w = world(_NTO_CHF_UNBLOCK);
    let _wd = Watchdog::new(&w.k, w.cli);
    let c = w
        .sender_on_shared_coid(10, Some((SEND_REPLY, LONG)))
        .once_send_blocked(&w.k);
    w.client.connect_detach(w.coid).unwrap();
    assert_eq!(c.join(), (Err(Errno::EBADF), [0u8; 4]));
    assert_nothing_queued(&w.server, w.chid);
    w.finish();
}

/// Ref. 2.10: on an `_NTO_CHF_UNBLOCK` channel the unblock pulse goes to the channel, not to the
/// thread that received the message: if that thread has exited, another server thread gets the
/// pulse and may answer the client (any server thread may reply, 2.6).
#[test]
fn unblock_pulse_reaches_the_channel_after_the_receiving_thread_exited() {
    let w = world(_NTO_CHF_UNBLOCK);
    let g = ReleaseOnPanic {
        owner: &w.server,
        chid: w.chid,
    };
    let c = w.replier(10, SHORT);
    let chid = w.chid;
    let r = spawn(&w.k, w.srv, 10, move |t| {
        let mut b = [0u8; 8];
        receive(t, chid, &mut b, None)
    });
    let rcvid = r.join().unwrap();
    assert!(rcvid > 0);
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!(p.code, _PULSE_CODE_UNBLOCK);
    assert_eq!(p.value_long(), rcvid);
    assert_ne!(
        w.server.msg_info(rcvid).unwrap().flags & _NTO_MI_UNBLOCK_REQ,
        0
    );
    w.server.msg_error(rcvid, Errno::EINTR).unwrap();
    assert_eq!(c.join().0, Err(Errno::EINTR));
    drop(g);
    w.finish();
}

/// Ref. 2.9: MsgDeliverEvent's rcvid "need not be REPLY-blocked" (deviations.md, "Identifiers":
/// an earlier rcvid of a live client thread stays valid for it). A SIGEV_UNBLOCK event
/// delivered through the rcvid of an earlier, answered message releases the same client thread
/// from its next send while it is SEND-blocked, with ETIMEDOUT (2.13: SIGEV_UNBLOCK ends the
/// blocking call as a timeout does), and the server never sees that message.
#[test]
fn unblock_event_through_an_earlier_rcvid_releases_a_send_blocked_client() {
    let w = world(0);
    let (srv_pid, chid) = (w.srv.pid, w.chid);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let c = spawn(&w.k, w.cli, 10, move |t| {
        let coid = t.connect_attach(0, srv_pid, chid, SIDE, 0).unwrap();
        let mut r = [0u8; 4];
        let first = send(t, coid, b"one", &mut r);
        rx.recv_timeout(DEADLINE).unwrap();
        let second = send(t, coid, b"two", &mut r);
        t.connect_detach(coid).unwrap();
        (first, second)
    });
    let (rcvid, _) = w.take();
    w.server.msg_reply(rcvid, 1, b"").unwrap();
    tx.send(()).unwrap();
    wait_send_blocked(&w.k, w.cli.pid, c.tid);
    w.server
        .msg_deliver_event(rcvid, &SigEvent::unblock())
        .unwrap();
    assert_eq!(c.join(), (Ok(1), Err(Errno::ETIMEDOUT)));
    assert_nothing_queued(&w.server, w.chid);
    w.finish();
}

/// Ref. 2.2: after ChannelDestroy "client coids remain allocated but their channel pointer is
/// NULL so later MsgSend*/MsgSendPulse on them fail with EBADF until the client calls
/// ConnectDetach". A new channel that takes the same chid (deviations.md, "Identifiers": chids
/// are reused lowest-first) does not revive the old coid; a fresh attach reaches it.
#[test]
fn a_coid_of_a_destroyed_channel_stays_ebadf_when_its_chid_is_reused() {
    let w = world(0);
    w.server.channel_destroy(w.chid).unwrap();
    let chid2 = w.server.channel_create(0).unwrap();
    assert_eq!(chid2, w.chid, "the lowest free chid is reused");
    assert_eq!(w.client.msg_send_pulse(w.coid, 10, 1, 1), Err(Errno::EBADF));
    let mut r = [0u8; 4];
    arm(&w.client, SEND_REPLY, Some(LONG));
    assert_eq!(w.client.msg_send(w.coid, b"x", &mut r), Err(Errno::EBADF));
    assert_nothing_queued(&w.server, chid2);
    let fresh = w
        .client
        .connect_attach(0, w.srv.pid, chid2, SIDE, 0)
        .unwrap();
    w.client.msg_send_pulse(fresh, 10, 4, 44).unwrap();
    assert_eq!(receive_pulse(&w.server, chid2).value_int(), 44);
    w.client.connect_detach(fresh).unwrap();
    w.detach_and_finish();
}

/// Ref. 2.3 / 2.12: with `_NTO_COF_NOSHARE` each attach is its own connection, so a client
/// process that ends with two such connections (and its shared one) gives the server one
/// `_PULSE_CODE_DISCONNECT` per connection, each naming its own scoid, value 0; each scoid is
/// then the server's to ConnectDetach once.
#[test]
fn process_end_sends_one_disconnect_per_connection_with_its_own_scoid() {
    let w = world(_NTO_CHF_DISCONNECT);
    let a = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, SIDE, _NTO_COF_NOSHARE)
        .unwrap();
    let b = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, SIDE, _NTO_COF_NOSHARE)
        .unwrap();
    let mut scoids = Vec::new();
    for coid in [w.coid, a, b] {
        w.client.msg_send_pulse(coid, 10, 1, coid).unwrap();
        let p = receive_pulse(&w.server, w.chid);
        assert_eq!(p.value_int(), coid);
        scoids.push(p.scoid);
    }
    scoids.sort_unstable();
    scoids.dedup();
    assert_eq!(scoids.len(), 3, "three connections, three scoids");
    let World {
        k,
        start,
        srv,
        cli,
        server,
        client,
        chid,
        ..
    } = w;
    drop(client);
    k.process_destroy(cli).unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        let p = receive_pulse(&server, chid);
        assert_eq!(p.code, _PULSE_CODE_DISCONNECT);
        assert_eq!(p.value_int(), 0);
        got.push(p.scoid);
    }
    assert_nothing_queued(&server, chid);
    got.sort_unstable();
    assert_eq!(got, scoids);
    for s in got {
        server.connect_detach(s).unwrap();
        assert_eq!(server.connect_detach(s), Err(Errno::EINVAL));
    }
    drop(server);
    teardown(&k, &[srv], start);
}

/// Ref. 2.13: "`ntime == NULL` (or already past) → immediate timeout". A relative ntime of 0
/// is already past: a receive that would block fails at once with ETIMEDOUT, and one that
/// finds a pulse queued (2.5: "returns immediately if a message/pulse is queued") takes it.
#[test]
fn relative_zero_ntime_is_an_immediate_timeout_like_null() {
    let o = one();
    let mut b = [0u8; 64];
    o.t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(0))
        .unwrap();
    assert_eq!(o.t.msg_receive(o.chid, &mut b, None), Err(Errno::ETIMEDOUT));
    o.t.msg_send_pulse(o.coid, 10, 1, 7).unwrap();
    o.t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(0))
        .unwrap();
    assert_eq!(o.t.msg_receive(o.chid, &mut b, None), Ok(0));
    o.finish();
}

/// Ref. 2.8: MsgSendPulse "Errors: EBADF bad coid / channel gone, ... EINVAL bad priority".
/// A pulse on a coid of the *server's* own scoid (a server connection id is not a connection
/// of the process) is EBADF.
#[test]
fn a_scoid_is_not_a_coid_for_msg_send_pulse_or_msg_send() {
    let w = world(0);
    w.client.msg_send_pulse(w.coid, 10, 1, 1).unwrap();
    let scoid = receive_pulse(&w.server, w.chid).scoid;
    assert_eq!(w.server.msg_send_pulse(scoid, 10, 1, 1), Err(Errno::EBADF));
    let mut r = [0u8; 4];
    arm(&w.server, SEND_REPLY, None);
    assert_eq!(w.server.msg_send(scoid, b"x", &mut r), Err(Errno::EBADF));
    w.detach_and_finish();
}

/// Ref. 2.7: MsgWrite copies into the client's reply buffer "without unblocking it"; MsgError
/// transfers no data (2.6) and with EOK makes MsgSend return 0. What MsgWrite put there stays:
/// the client returns 0 with the written bytes in its buffer.
#[test]
fn msg_write_then_msg_error_eok_leaves_the_written_bytes_and_returns_0() {
    let w = world(0);
    let c = w.sender(10, LONG);
    let (rcvid, _) = w.take();
    assert_eq!(w.server.msg_write(rcvid, b"wr", 1), Ok(2));
    w.server.msg_error(rcvid, Errno::EOK).unwrap();
    assert_eq!(c.join(), (Ok(0), *b"\0wr\0"));
    w.finish();
}

/// Ref. 2.13 + deviations.md ("Calls", TimerTimeout): with a notification event other than
/// SIGEV_UNBLOCK, expiry delivers the event and the call goes on waiting. A client REPLY-blocked
/// on an `_NTO_CHF_UNBLOCK` channel whose REPLY timeout carries a SIGEV_PULSE to its own
/// channel gets that pulse; the server gets no `_PULSE_CODE_UNBLOCK` (the client did not ask to
/// unblock), and its reply still completes the send.
#[test]
fn a_reply_timeout_with_a_pulse_event_does_not_ask_the_server_to_unblock() {
    let w = world(_NTO_CHF_UNBLOCK);
    let g = ReleaseOnPanic {
        owner: &w.server,
        chid: w.chid,
    };
    let own = w.client.channel_create(0).unwrap();
    let own_coid = w.client.connect_attach(0, 0, own, SIDE, 0).unwrap();
    let (srv_pid, chid) = (w.srv.pid, w.chid);
    let c = spawn(&w.k, w.cli, 10, move |t| {
        let coid = t.connect_attach(0, srv_pid, chid, SIDE, 0).unwrap();
        let ev = SigEvent::pulse(own_coid, 10, 12, 1212);
        let mut r = [0u8; 4];
        t.timer_timeout_event(CLOCK_MONOTONIC, _NTO_TIMEOUT_REPLY, Some(&ev), Some(SHORT))
            .unwrap();
        let st = t.msg_send(coid, b"req", &mut r);
        t.connect_detach(coid).unwrap();
        (st, r)
    });
    let (rcvid, _) = w.take();
    let p = receive_pulse(&w.client, own);
    assert_eq!((p.code, p.value_int()), (12, 1212));
    thread::sleep(Duration::from_nanos(SHORT));
    assert_nothing_queued(&w.server, w.chid);
    assert_eq!(
        w.server.msg_info(rcvid).unwrap().flags & _NTO_MI_UNBLOCK_REQ,
        0
    );
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    w.server.msg_reply(rcvid, 6, b"done").unwrap();
    assert_eq!(c.join(), (Ok(6), *b"done"));
    drop(g);
    w.client.connect_detach(own_coid).unwrap();
    w.client.channel_destroy(own).unwrap();
    w.detach_and_finish();
}

/// Ref. 2.8 lists EBADF (bad coid) and EINVAL (bad priority) for MsgSendPulse; QNX 6.4's kernel
/// ([OQ] `ker_msg_sendpulse`) looks the coid up first, and so does the kernel here: on a
/// detached coid every call is EBADF, whatever its priority and code; on a good one a bad
/// priority or code is EINVAL.
#[test]
fn msg_send_pulse_checks_the_coid_before_priority_and_code() {
    let w = world(0);
    let coid = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, SIDE, 0)
        .unwrap();
    w.client.connect_detach(coid).unwrap();
    assert_eq!(w.client.msg_send_pulse(coid, 10, 1, 1), Err(Errno::EBADF));
    assert_eq!(w.client.msg_send_pulse(coid, 0, 1, 1), Err(Errno::EBADF));
    assert_eq!(w.client.msg_send_pulse(coid, 10, -1, 1), Err(Errno::EBADF));
    let good = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, SIDE, 0)
        .unwrap();
    assert_eq!(w.client.msg_send_pulse(good, 0, 1, 1), Err(Errno::EINVAL));
    assert_eq!(w.client.msg_send_pulse(good, 10, -1, 1), Err(Errno::EINVAL));
    w.client.connect_detach(good).unwrap();
    assert_nothing_queued(&w.server, w.chid);
    w.detach_and_finish();
}
