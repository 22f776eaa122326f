//! Unblock requests, disconnect, coid-death and thread-death pulses, and process teardown
//! (QNX: ChannelCreate's flags, ConnectDetach, `_NTO_CHF_UNBLOCK`, the kernel's pulses).

mod support;

use std::time::Duration;
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;

// ------------------------------------------------------------------ unblock

#[test]
fn reply_blocked_client_on_an_unblock_channel_stays_blocked_and_the_server_gets_one_unblock_pulse()
{
    let w = world(_NTO_CHF_UNBLOCK);
    let c = w.replier(15, SHORT);
    let (rcvid, info) = w.take();
    assert_eq!(info.flags, 0);
    assert_eq!(w.server.msg_info(rcvid).unwrap().flags, 0);
    // Give back the priority inherited from the message, to see the pulse's.
    w.server.set_priority(10).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.type_, p.subtype), (0, 0));
    assert_eq!(p.code, _PULSE_CODE_UNBLOCK);
    assert_eq!(p.value_long(), rcvid);
    assert_eq!(p.scoid, info.scoid);
    assert_eq!(
        w.server.priority().unwrap(),
        (10, 15),
        "pulse at the client's priority"
    );
    // The client is still REPLY-blocked on us, marked as wanting out.
    let ti = w.k.thread_info(w.cli.pid, c.tid).unwrap();
    assert_eq!(
        ti.state,
        ThreadState::Reply {
            pid: w.srv.pid,
            chid: w.chid,
            tid: w.server.tid()
        }
    );
    let mi = w.server.msg_info(rcvid).unwrap();
    assert_eq!(mi.flags & _NTO_MI_UNBLOCK_REQ, _NTO_MI_UNBLOCK_REQ);
    assert_eq!(mi.scoid, info.scoid);
    // Exactly one pulse per request.
    std::thread::sleep(Duration::from_nanos(3 * SHORT));
    assert_nothing_queued(&w.server, w.chid);
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    w.server.msg_error(rcvid, Errno::EINTR).unwrap();
    assert_eq!(c.join().0, Err(Errno::EINTR));
    assert_eq!(w.server.msg_info(rcvid), Err(Errno::ESRCH));
    w.finish();
}

#[test]
fn unblock_request_may_be_answered_with_a_reply() {
    let w = world(_NTO_CHF_UNBLOCK);
    let c = w.replier(10, SHORT);
    let (rcvid, _) = w.take();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_long()), (_PULSE_CODE_UNBLOCK, rcvid));
    w.server.msg_reply(rcvid, 7, b"done").unwrap();
    assert_eq!(c.join(), (Ok(7), *b"done"));
    w.finish();
}

#[test]
fn reply_before_the_unblock_pulse_is_received_removes_it() {
    let w = world(_NTO_CHF_UNBLOCK);
    let c = w.replier(10, SHORT);
    let (rcvid, _) = w.take();
    // The client's timeout expires: the unblock pulse is queued.
    wait_until("unblock pulse queued", || {
        queued(&w.k, w.srv.pid, w.chid) == 1
    });
    assert_eq!(live(&w.k)[4], 1);
    assert_eq!(
        w.server.msg_info(rcvid).unwrap().flags & _NTO_MI_UNBLOCK_REQ,
        _NTO_MI_UNBLOCK_REQ
    );
    w.server.msg_reply(rcvid, 3, b"").unwrap();
    assert_eq!(live(&w.k)[4], 0, "the reply removed the pulse");
    assert_eq!(queued(&w.k, w.srv.pid, w.chid), 0);
    assert_nothing_queued(&w.server, w.chid);
    assert_eq!(c.join().0, Ok(3));
    w.finish();
}

#[test]
fn msg_error_before_the_unblock_pulse_is_received_removes_it_too() {
    let w = world(_NTO_CHF_UNBLOCK);
    let c = w.replier(10, SHORT);
    let (rcvid, _) = w.take();
    wait_until("unblock pulse queued", || {
        queued(&w.k, w.srv.pid, w.chid) == 1
    });
    w.server.msg_error(rcvid, Errno::EINTR).unwrap();
    assert_eq!(live(&w.k)[4], 0);
    assert_nothing_queued(&w.server, w.chid);
    assert_eq!(c.join().0, Err(Errno::EINTR));
    w.finish();
}

#[test]
fn a_detached_clients_pending_unblock_request_stands_until_the_server_answers_then_it_gets_ebadf() {
    let w = world(_NTO_CHF_UNBLOCK);
    // A client thread REPLY-blocked on the process's shared coid, with an unblock request.
    let c = w.sender_on_shared_coid(10, Some((_NTO_TIMEOUT_REPLY, SHORT)));
    let (rcvid, _) = w.take();
    wait_until("unblock pulse queued", || {
        queued(&w.k, w.srv.pid, w.chid) == 1
    });
    // Another thread of the client process detaches the coid: the server holds the client, so
    // it stays REPLY-blocked (QNX's unblock protocol) and the one unblock pulse stands.
    w.client.connect_detach(w.coid).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    assert_eq!(
        queued(&w.k, w.srv.pid, w.chid),
        1,
        "still one unblock pulse"
    );
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_long()), (_PULSE_CODE_UNBLOCK, rcvid));
    // The server answers: the client leaves with EBADF (its coid is gone), its reply buffer
    // untouched; the rcvid is then stale and nothing is left behind.
    w.server.msg_reply(rcvid, 7, b"late").unwrap();
    assert_eq!(c.join(), (Err(Errno::EBADF), [0u8; 4]));
    assert_eq!(live(&w.k)[4], 0, "no pulse left for the gone rcvid");
    assert_nothing_queued(&w.server, w.chid);
    assert_eq!(w.server.msg_info(rcvid), Err(Errno::ESRCH));
    w.finish();
}

#[test]
fn reply_blocked_client_without_unblock_flag_leaves_with_etimedout_and_the_reply_is_esrch() {
    let w = world(0);
    let c = w.replier(10, SHORT).once_send_blocked(&w.k);
    let (rcvid, _) = w.take();
    assert_eq!(c.join().0, Err(Errno::ETIMEDOUT));
    std::thread::sleep(Duration::from_nanos(SHORT));
    assert_nothing_queued(&w.server, w.chid);
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_error(rcvid, Errno::EINTR), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_info(rcvid), Err(Errno::ESRCH));
    assert_eq!(live(&w.k)[4], 0);
    w.round_trip();
    w.finish();
}

#[test]
fn send_blocked_client_on_an_unblock_channel_leaves_at_once_without_a_pulse() {
    let w = world(_NTO_CHF_UNBLOCK);
    let c = w.sender(10, SHORT);
    assert_eq!(c.join().0, Err(Errno::ETIMEDOUT));
    assert_eq!(live(&w.k)[4], 0);
    assert_nothing_queued(&w.server, w.chid);
    w.round_trip();
    w.finish();
}

#[test]
fn unblock_pulse_goes_straight_to_a_receive_blocked_server_thread() {
    let w = world(_NTO_CHF_UNBLOCK);
    let c = w.sender(10, SAFETY);
    let (rcvid, _) = w.take();
    let chid = w.chid;
    let rx = spawn(&w.k, w.srv, 10, move |s| receive_pulse(s, chid)).once_receive_blocked(&w.k);
    // The unblock request (here forced by a SIGEV_UNBLOCK event, deterministically after the
    // other server thread blocked) hands the pulse straight to that thread.
    w.server
        .msg_deliver_event(rcvid, &SigEvent::unblock())
        .unwrap();
    let p = rx.join();
    assert_eq!((p.code, p.value_long()), (_PULSE_CODE_UNBLOCK, rcvid));
    assert_eq!(live(&w.k)[4], 0, "never queued");
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    w.server.msg_error(rcvid, Errno::EINTR).unwrap();
    assert_eq!(c.join().0, Err(Errno::EINTR));
    w.finish();
}

#[test]
fn unblock_event_to_a_reply_blocked_client_on_an_unblock_channel_sends_the_unblock_pulse() {
    let w = world(_NTO_CHF_UNBLOCK);
    let c = w.sender(10, SAFETY);
    let (rcvid, info) = w.take();
    w.server
        .msg_deliver_event(rcvid, &SigEvent::unblock())
        .unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!(
        (p.code, p.value_long(), p.scoid),
        (_PULSE_CODE_UNBLOCK, rcvid, info.scoid)
    );
    wait_reply_blocked(&w.k, w.cli.pid, c.tid);
    w.server.msg_error(rcvid, Errno::EINTR).unwrap();
    assert_eq!(c.join().0, Err(Errno::EINTR));
    w.finish();
}

#[test]
fn client_is_released_when_no_unblock_pulse_can_be_queued() {
    let w = World::with(Options {
        config: Config {
            max_pulses: 1,
            ..Config::default()
        },
        chflags: _NTO_CHF_UNBLOCK,
        ..Options::default()
    });
    // The only pulse object is taken (at priority 1: the message is received first).
    w.client.msg_send_pulse(w.coid, 1, 1, 1).unwrap();
    let c = w.replier(10, SHORT).once_send_blocked(&w.k);
    let (rcvid, _) = w.take();
    assert_eq!(c.join().0, Err(Errno::ETIMEDOUT));
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!(p.code, 1);
    assert_nothing_queued(&w.server, w.chid);
    w.finish();
}

// ------------------------------------------------------------------ disconnect

#[test]
fn disconnect_pulse_comes_when_the_clients_last_shared_coid_is_detached() {
    let w = world(_NTO_CHF_DISCONNECT);
    let coid_b = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, SIDE, 0)
        .unwrap();
    let scoid = scoid_of(&w.k, w.cli.pid, w.coid);
    assert_eq!(
        scoid_of(&w.k, w.cli.pid, coid_b),
        scoid,
        "one shared connection"
    );
    assert_eq!(live(&w.k)[3], w.start[3] + 1);
    // The scoid the server sees in MsgInfo (the sender thread's coid shares it too).
    let c = w.sender(10, LONG);
    let (rcvid, info) = w.take();
    assert_eq!(info.scoid, scoid);
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(c.join().0, Ok(0));
    assert_nothing_queued(&w.server, w.chid);
    // First link gone: nothing.
    w.client.connect_detach(w.coid).unwrap();
    assert_nothing_queued(&w.server, w.chid);
    // Last link gone: DISCONNECT naming the scoid.
    w.client.connect_detach(coid_b).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.type_, p.subtype), (0, 0));
    assert_eq!(p.code, _PULSE_CODE_DISCONNECT);
    assert_eq!(p.value_int(), 0);
    assert_eq!(p.scoid, info.scoid);
    assert_nothing_queued(&w.server, w.chid);
    // The scoid stays allocated until the server detaches it.
    assert_eq!(live(&w.k)[3], w.start[3] + 1);
    w.server.connect_detach(p.scoid).unwrap();
    assert_eq!(live(&w.k)[3], w.start[3]);
    assert_eq!(w.server.connect_detach(p.scoid), Err(Errno::EINVAL));
    w.round_trip();
    w.finish();
}

#[test]
fn server_connect_detach_of_a_scoid_is_einval_while_the_client_is_linked() {
    let w = world(_NTO_CHF_DISCONNECT);
    let scoid = scoid_of(&w.k, w.cli.pid, w.coid);
    assert_eq!(w.server.connect_detach(scoid), Err(Errno::EINVAL));
    // Nothing changed: the client's pulses still arrive through that scoid.
    w.client.msg_send_pulse(w.coid, 10, 2, 22).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_long(), p.scoid), (2, 22, scoid));
    assert_eq!(live(&w.k)[3], w.start[3] + 1);
    w.client.connect_detach(w.coid).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.scoid), (_PULSE_CODE_DISCONNECT, scoid));
    w.server.connect_detach(scoid).unwrap();
    assert_eq!(live(&w.k)[3], w.start[3]);
    w.finish();
}

#[test]
fn client_process_destroy_sends_disconnect() {
    let w = world(_NTO_CHF_DISCONNECT);
    let scoid = scoid_of(&w.k, w.cli.pid, w.coid);
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
    let p = receive_pulse(&server, chid);
    assert_eq!(
        (p.code, p.value_int(), p.scoid),
        (_PULSE_CODE_DISCONNECT, 0, scoid)
    );
    assert_nothing_queued(&server, chid);
    assert_eq!(live(&k)[3], start[3] + 1, "scoid kept for the server");
    server.connect_detach(scoid).unwrap();
    assert_eq!(live(&k)[3], start[3]);
    drop(server);
    teardown(&k, &[srv], start);
}

#[test]
fn without_the_disconnect_flag_the_last_detach_sends_nothing_and_frees_the_connection() {
    let w = world(0);
    let scoid = scoid_of(&w.k, w.cli.pid, w.coid);
    assert_eq!(live(&w.k)[3], w.start[3] + 1);
    w.client.connect_detach(w.coid).unwrap();
    assert_eq!(live(&w.k)[3], w.start[3], "freed at once");
    assert_nothing_queued(&w.server, w.chid);
    assert_eq!(w.server.connect_detach(scoid), Err(Errno::EINVAL));
    // Nor on client process death.
    w.client
        .connect_attach(0, w.srv.pid, w.chid, SIDE, 0)
        .unwrap();
    assert_eq!(live(&w.k)[3], w.start[3] + 1);
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
    assert_nothing_queued(&server, chid);
    assert_eq!(live(&k)[3], start[3]);
    drop(server);
    teardown(&k, &[srv], start);
}

#[test]
fn disconnect_pulse_is_queued_ahead_of_higher_priority_pulses() {
    let w = world(_NTO_CHF_DISCONNECT);
    let other = w.k.process_create().unwrap();
    let o = w.k.thread_attach(other, 10).unwrap();
    let ocoid = o.connect_attach(0, w.srv.pid, w.chid, SIDE, 0).unwrap();
    o.msg_send_pulse(ocoid, 200, 5, 5).unwrap();
    let scoid = scoid_of(&w.k, w.cli.pid, w.coid);
    w.client.connect_detach(w.coid).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.scoid), (_PULSE_CODE_DISCONNECT, scoid));
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_int()), (5, 5));
    w.server.connect_detach(scoid).unwrap();
    let oscoid = scoid_of(&w.k, other.pid, ocoid);
    o.connect_detach(ocoid).unwrap();
    assert_eq!(receive_pulse(&w.server, w.chid).scoid, oscoid);
    w.server.connect_detach(oscoid).unwrap();
    drop(o);
    w.k.process_destroy(other).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ coid death

#[test]
fn channel_destroy_sends_coid_death_for_each_client_coid_to_the_clients_death_channel() {
    let w = world(0);
    let dchid = w.client.channel_create(_NTO_CHF_COID_DISCONNECT).unwrap();
    let coid_b = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, SIDE, 0)
        .unwrap();
    w.server.channel_destroy(w.chid).unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        let p = receive_pulse(&w.client, dchid);
        assert_eq!((p.type_, p.subtype), (0, 0));
        assert_eq!(p.code, _PULSE_CODE_COIDDEATH);
        assert_eq!(p.scoid, -1);
        got.push(p.value_int());
    }
    got.sort();
    let mut want = vec![w.coid, coid_b];
    want.sort();
    assert_eq!(got, want, "one pulse per coid, value = the coid");
    assert_nothing_queued(&w.client, dchid);
    // The coids stay until detached, but lead nowhere.
    assert_eq!(w.client.msg_send_pulse(w.coid, 10, 1, 1), Err(Errno::EBADF));
    assert_eq!(send(&w.client, coid_b, b"x", &mut []), Err(Errno::EBADF));
    w.client.connect_detach(w.coid).unwrap();
    w.client.connect_detach(coid_b).unwrap();
    assert_eq!(live(&w.k)[3], w.start[3]);
    w.client.channel_destroy(dchid).unwrap();
    w.finish();
}

#[test]
fn server_process_destroy_sends_coid_death() {
    let w = world(0);
    let dchid = w
        .client
        .channel_create(_NTO_CHF_COID_DISCONNECT | _NTO_CHF_THREAD_DEATH)
        .unwrap();
    let World {
        k,
        start,
        srv,
        cli,
        server,
        client,
        coid,
        ..
    } = w;
    drop(server);
    k.process_destroy(srv).unwrap();
    let p = receive_pulse(&client, dchid);
    assert_eq!(
        (p.code, p.value_int(), p.scoid),
        (_PULSE_CODE_COIDDEATH, coid, -1)
    );
    assert_nothing_queued(&client, dchid);
    assert_eq!(client.msg_send_pulse(coid, 10, 1, 1), Err(Errno::EBADF));
    client.connect_detach(coid).unwrap();
    drop(client);
    teardown(&k, &[cli], start);
}

#[test]
fn no_coid_death_pulse_without_the_coid_disconnect_flag() {
    let w = world(0);
    let dchid = w.client.channel_create(_NTO_CHF_THREAD_DEATH).unwrap();
    w.server.channel_destroy(w.chid).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert_nothing_queued(&w.client, dchid);
    assert_eq!(live(&w.k)[4], 0);
    w.client.connect_detach(w.coid).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ thread death

#[test]
fn thread_death_pulse_carries_the_tid_of_each_exiting_thread() {
    let k = kernel();
    let start = live(&k);
    let p = k.process_create().unwrap();
    let m = k.thread_attach(p, 10).unwrap();
    let dchid = m.channel_create(_NTO_CHF_THREAD_DEATH).unwrap();
    let a = spawn(&k, p, 12, |_| ());
    let ta = a.tid;
    a.join();
    let b = spawn(&k, p, 20, |_| ());
    let tb = b.tid;
    b.join();
    assert_ne!(ta, tb);
    let mut got = Vec::new();
    for _ in 0..2 {
        let pl = receive_pulse(&m, dchid);
        assert_eq!((pl.type_, pl.subtype), (0, 0));
        assert_eq!(pl.code, _PULSE_CODE_THREADDEATH);
        assert_eq!(pl.scoid, -1);
        got.push(pl.value_int());
    }
    got.sort();
    let mut want = vec![ta, tb];
    want.sort();
    assert_eq!(got, want, "one pulse per thread, value = its tid");
    assert_nothing_queued(&m, dchid);
    drop(m);
    teardown(&k, &[p], start);
}

#[test]
fn thread_death_in_another_process_is_not_reported() {
    let k = kernel();
    let start = live(&k);
    let p = k.process_create().unwrap();
    let q = k.process_create().unwrap();
    let m = k.thread_attach(p, 10).unwrap();
    let dchid = m.channel_create(_NTO_CHF_THREAD_DEATH).unwrap();
    spawn(&k, q, 10, |_| ()).join();
    assert_nothing_queued(&m, dchid);
    drop(m);
    teardown(&k, &[p, q], start);
}

#[test]
fn second_death_channel_in_a_process_is_ebusy() {
    let k = kernel();
    let start = live(&k);
    let p = k.process_create().unwrap();
    let m = k.thread_attach(p, 10).unwrap();
    let d = m.channel_create(_NTO_CHF_THREAD_DEATH).unwrap();
    let chans = live(&k)[2];
    for flags in [
        _NTO_CHF_THREAD_DEATH,
        _NTO_CHF_COID_DISCONNECT,
        _NTO_CHF_THREAD_DEATH | _NTO_CHF_COID_DISCONNECT,
        _NTO_CHF_COID_DISCONNECT | _NTO_CHF_UNBLOCK,
    ] {
        assert_eq!(
            m.channel_create(flags),
            Err(Errno::EBUSY),
            "flags {flags:#x}"
        );
    }
    assert_eq!(live(&k)[2], chans, "nothing allocated");
    // Other channels are fine; another process has its own death channel.
    let plain = m
        .channel_create(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK)
        .unwrap();
    let q = k.process_create().unwrap();
    let n = k.thread_attach(q, 10).unwrap();
    let qd = n.channel_create(_NTO_CHF_COID_DISCONNECT).unwrap();
    // Once the first is gone, the process may have a new one.
    m.channel_destroy(d).unwrap();
    let d2 = m.channel_create(_NTO_CHF_COID_DISCONNECT).unwrap();
    m.channel_destroy(d2).unwrap();
    m.channel_destroy(plain).unwrap();
    n.channel_destroy(qd).unwrap();
    drop(m);
    drop(n);
    teardown(&k, &[p, q], start);
}

// ------------------------------------------------------------------ process teardown

#[test]
fn process_destroy_releases_every_peer_frees_its_timers_and_leaks_nothing() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let chid2 = server.channel_create(0).unwrap();
    let self_coid = server.connect_attach(0, 0, chid, SIDE, 0).unwrap();
    // Timers of the dying process, armed.
    for v in 0..2 {
        let id = server
            .timer_create(CLOCK_MONOTONIC, Some(&SigEvent::pulse(self_coid, 10, 1, v)))
            .unwrap();
        server.timer_settime(id, 0, 1_000_000, 1_000_000).unwrap();
    }
    assert_eq!(timers_live(&k), 2);
    // Its own thread RECEIVE-blocked on its second channel.
    let t1 = spawn(&k, srv, 10, move |s| {
        let mut b = [0u8; 32];
        receive(s, chid2, &mut b, None)
    })
    .once_receive_blocked(&k);
    let client_send = move |c: &ThreadCtx| {
        let coid = c.connect_attach(0, srv.pid, chid, SIDE, 0).unwrap();
        let r = send(c, coid, b"req", &mut []);
        c.connect_detach(coid).unwrap();
        r
    };
    // A client REPLY-blocked on it...
    let c1 = spawn(&k, cli, 10, client_send);
    // (Timer pulses arrive on the same channel.)
    let mut b = [0u8; 64];
    let mut rcvid;
    loop {
        rcvid = receive(&server, chid, &mut b, None).unwrap();
        if rcvid > 0 {
            break;
        }
    }
    wait_reply_blocked(&k, cli.pid, c1.tid);
    // ...and one SEND-blocked.
    let c2 = spawn(&k, cli, 10, client_send).once_send_blocked(&k);

    k.process_destroy(srv).unwrap();
    assert_eq!(c1.join(), Err(Errno::ESRCH));
    assert_eq!(c2.join(), Err(Errno::ESRCH));
    assert_eq!(t1.join(), Err(Errno::ESRCH));
    assert_eq!(timers_live(&k), 0);
    // What is left of the dying process answers ESRCH.
    assert_eq!(server.channel_create(0), Err(Errno::ESRCH));
    assert_eq!(server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    drop(server);
    assert_eq!(k.process_destroy(srv), Err(Errno::ESRCH));
    teardown(&k, &[cli], start);
}

#[test]
fn process_destroy_releases_its_own_thread_send_blocked_on_another_process_with_esrch() {
    let k = kernel();
    let start = live(&k);
    let x = k.process_create().unwrap();
    let s = k.process_create().unwrap();
    let xt = k.thread_attach(x, 10).unwrap();
    let xchid = xt.channel_create(_NTO_CHF_DISCONNECT).unwrap();
    let t2 = spawn(&k, s, 10, move |c| {
        let coid = c.connect_attach(0, x.pid, xchid, SIDE, 0).unwrap();
        send(c, coid, b"req", &mut [])
    })
    .once_send_blocked(&k);
    k.process_destroy(s).unwrap();
    let r = t2.join();
    // X never saw the message, only the connection going away.
    let p = receive_pulse(&xt, xchid);
    assert_eq!(p.code, _PULSE_CODE_DISCONNECT);
    xt.connect_detach(p.scoid).unwrap();
    assert_nothing_queued(&xt, xchid);
    assert_eq!(r, Err(Errno::ESRCH));
    drop(xt);
    teardown(&k, &[x], start);
}

#[test]
fn process_destroy_releases_its_own_thread_reply_blocked_on_another_process_with_esrch() {
    let k = kernel();
    let start = live(&k);
    let x = k.process_create().unwrap();
    let s = k.process_create().unwrap();
    let xt = k.thread_attach(x, 10).unwrap();
    let xchid = xt.channel_create(0).unwrap();
    let t2 = spawn(&k, s, 10, move |c| {
        let coid = c.connect_attach(0, x.pid, xchid, SIDE, 0).unwrap();
        send(c, coid, b"req", &mut [])
    });
    let mut b = [0u8; 8];
    let rcvid = receive(&xt, xchid, &mut b, None).unwrap();
    wait_reply_blocked(&k, s.pid, t2.tid);
    k.process_destroy(s).unwrap();
    let r = t2.join();
    assert_eq!(xt.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    assert_eq!(r, Err(Errno::ESRCH));
    drop(xt);
    teardown(&k, &[x], start);
}

#[test]
fn notification_misuse_keeps_its_errno_and_leaks_nothing() {
    let w = world(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK);
    let before = live(&w.k);
    let scoid = scoid_of(&w.k, w.cli.pid, w.coid);
    for _ in 0..3 {
        assert_eq!(w.server.connect_detach(scoid), Err(Errno::EINVAL));
        assert_eq!(
            w.server.channel_create(_NTO_CHF_THREAD_DEATH).map(|_| ()),
            Ok(())
        );
        assert_eq!(
            w.server.channel_create(_NTO_CHF_COID_DISCONNECT),
            Err(Errno::EBUSY)
        );
        // Destroy the death channel again (it took chid 2).
        w.server.channel_destroy(2).unwrap();
        assert_eq!(w.client.msg_send_pulse(w.coid, 0, 1, 1), Err(Errno::EINVAL));
        assert_eq!(
            w.client.msg_send_pulse(w.coid, 10, -33, 1),
            Err(Errno::EINVAL)
        );
        assert_eq!(live(&w.k), before);
    }
    assert_nothing_queued(&w.server, w.chid);
    w.round_trip();
    assert_eq!(live(&w.k), before);
    w.finish();
}
