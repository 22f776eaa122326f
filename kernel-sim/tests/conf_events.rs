//! Pulses and events: MsgSendPulse, pulse reception, MsgDeliverEvent and MsgVerifyEvent
//! (QNX: MsgDeliverEvent, MsgVerifyEvent, `struct sigevent`, `struct _pulse`).

mod support;

use std::sync::mpsc;
use support::sigev::*;
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;

// ------------------------------------------------------------------ MsgSendPulse

#[test]
fn pulse_priority_minus_one_is_the_senders_current_priority() {
    let w = World::with(Options {
        client_prio: 17,
        ..Options::default()
    });
    w.client.msg_send_pulse(w.coid, -1, 1, 11).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_int()), (1, 11));
    let ti = w.k.thread_info(w.srv.pid, w.server.tid()).unwrap();
    assert_eq!((ti.base_priority, ti.priority), (10, 17));
    // The caller's priority at the time of the call, not the one it attached with.
    w.client.set_priority(40).unwrap();
    w.client.msg_send_pulse(w.coid, -1, 2, 22).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_int()), (2, 22));
    assert_eq!(w.server.priority().unwrap(), (10, 40));
    // An explicit priority is taken as it is.
    w.client.msg_send_pulse(w.coid, 33, 3, 33).unwrap();
    receive_pulse(&w.server, w.chid);
    assert_eq!(w.server.priority().unwrap(), (10, 33));
    w.finish();
}

#[test]
fn pulse_codes_0_to_127_are_accepted_and_others_are_einval() {
    let w = world(0);
    for code in [0i8, 1, 64, 126, 127] {
        let value = i32::from(code) * 3;
        w.client.msg_send_pulse(w.coid, 10, code, value).unwrap();
        let p = receive_pulse(&w.server, w.chid);
        assert_eq!((p.code, p.value_int()), (code, value));
    }
    // (Codes above 127 do not fit the `i8` a pulse code is.)
    for code in [-1i8, -32, -33, -128] {
        assert_eq!(
            w.client.msg_send_pulse(w.coid, 10, code, 0),
            Err(Errno::EINVAL),
            "code {code}"
        );
    }
    assert_eq!(live(&w.k)[4], 0, "a refused pulse takes no pulse object");
    assert_nothing_queued(&w.server, w.chid);
    w.round_trip();
    w.finish();
}

#[test]
fn pulse_priority_0_or_above_255_is_einval() {
    let w = world(0);
    for prio in [0i16, 256, 300, -2, i16::MIN, i16::MAX] {
        assert_eq!(
            w.client.msg_send_pulse(w.coid, prio, 1, 0),
            Err(Errno::EINVAL),
            "priority {prio}"
        );
    }
    assert_eq!(live(&w.k)[4], 0);
    assert_nothing_queued(&w.server, w.chid);
    for prio in [1i16, 255] {
        w.client
            .msg_send_pulse(w.coid, prio, 1, prio.into())
            .unwrap();
        assert_eq!(
            receive_pulse(&w.server, w.chid).value_int(),
            i32::from(prio)
        );
    }
    w.finish();
}

#[test]
fn pulse_on_a_detached_or_never_attached_coid_is_ebadf() {
    let w = world(0);
    w.client.connect_detach(w.coid).unwrap();
    assert_eq!(w.client.msg_send_pulse(w.coid, 10, 1, 0), Err(Errno::EBADF));
    for coid in [0, 5, (SIDE | 0x77) as i32, -1] {
        assert_eq!(
            w.client.msg_send_pulse(coid, 10, 1, 0),
            Err(Errno::EBADF),
            "coid {coid:#x}"
        );
    }
    assert_eq!(live(&w.k)[4], 0);
    assert_nothing_queued(&w.server, w.chid);
    w.round_trip();
    w.finish();
}

#[test]
fn pulse_after_the_channel_is_destroyed_is_ebadf_and_queued_pulses_are_freed() {
    let w = world(0);
    w.client.msg_send_pulse(w.coid, 10, 1, 1).unwrap();
    assert_eq!(live(&w.k)[4], 1);
    w.server.channel_destroy(w.chid).unwrap();
    assert_eq!(live(&w.k)[4], 0, "the queued pulse went with the channel");
    assert_eq!(w.client.msg_send_pulse(w.coid, 10, 1, 2), Err(Errno::EBADF));
    assert_eq!(live(&w.k)[4], 0);
    w.client.connect_detach(w.coid).unwrap();
    w.finish();
}

#[test]
fn exhausted_pulse_pool_is_eagain_until_pulses_are_received() {
    let cfg = Config {
        max_pulses: 3,
        ..Config::default()
    };
    let w = World::with(Options {
        config: cfg,
        ..Options::default()
    });
    for v in 0..3 {
        w.client.msg_send_pulse(w.coid, 10, 1, v).unwrap();
    }
    assert_eq!(w.k.pool_usage().pulses.live, 3);
    assert_eq!(
        w.client.msg_send_pulse(w.coid, 10, 1, 99),
        Err(Errno::EAGAIN)
    );
    assert_eq!(w.k.pool_usage().pulses.live, 3);
    // Receiving two makes room for two more.
    assert_eq!(receive_pulse(&w.server, w.chid).value_int(), 0);
    assert_eq!(receive_pulse(&w.server, w.chid).value_int(), 1);
    w.client.msg_send_pulse(w.coid, 10, 1, 3).unwrap();
    w.client.msg_send_pulse(w.coid, 10, 1, 4).unwrap();
    assert_eq!(
        w.client.msg_send_pulse(w.coid, 10, 1, 99),
        Err(Errno::EAGAIN)
    );
    // The refused pulses were never queued: exactly 2, 3, 4 remain, in order.
    for v in 2..5 {
        assert_eq!(receive_pulse(&w.server, w.chid).value_int(), v);
    }
    assert_nothing_queued(&w.server, w.chid);
    assert_eq!(w.k.pool_usage().pulses.live, 0);
    w.round_trip();
    w.finish();
}

#[test]
fn received_pulse_is_rcvid_0_type_0_subtype_0_with_code_value_and_the_senders_scoid() {
    let w = world(0);
    // The scoid the server sees for this connection, from a message on it.
    let bg = w.client_sending::<1>(10, b"x");
    let mut info = MsgInfo::default();
    let mut buf = [0u8; 8];
    let rcvid = receive(&w.server, w.chid, &mut buf, Some(&mut info)).unwrap();
    assert!(rcvid > 0);
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(bg.join().0, Ok(0));
    // The message came over the same (shared) connection as w.coid.
    let scoid = scoid_of(&w.k, w.cli.pid, w.coid);
    assert_eq!(info.scoid, scoid);
    assert_eq!(scoid as u32 & _NTO_SIDE_CHANNEL, _NTO_SIDE_CHANNEL);

    w.client.msg_send_pulse(w.coid, 10, 77, -5).unwrap();
    let mut pb = [0xAAu8; 32];
    assert_eq!(receive(&w.server, w.chid, &mut pb, None), Ok(0));
    let p = Pulse::from_bytes(&pb).unwrap();
    assert_eq!(p.type_, _PULSE_TYPE);
    assert_eq!(p.subtype, _PULSE_SUBTYPE);
    assert_eq!((p.type_, p.subtype), (0, 0));
    assert_eq!(p.code, 77);
    assert_eq!(p.value_int(), -5);
    assert_eq!(p.scoid, scoid);
    assert_eq!(&pb[5..8], &[0, 0, 0], "zero[3]");
    w.finish();
}

#[test]
fn msg_receive_pulse_skips_a_send_blocked_client_which_msg_receive_gets_afterwards() {
    let w = world(0);
    let bg = w.client_sending(10, b"hello").once_send_blocked(&w.k);
    // Same priority: the pulse is queued behind the message.
    w.client.msg_send_pulse(w.coid, 10, 9, 90).unwrap();
    let mut pb = [0u8; 24];
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    w.server.msg_receive_pulse(w.chid, &mut pb).unwrap();
    let p = Pulse::from_bytes(&pb).unwrap();
    assert_eq!((p.code, p.value_int()), (9, 90));
    let ti = w.k.thread_info(w.cli.pid, bg.tid).unwrap();
    assert!(
        matches!(ti.state, ThreadState::Send { pid, chid } if pid == w.srv.pid && chid == w.chid),
        "client still SEND-blocked: {:?}",
        ti.state
    );
    // A pulse-only receive with only the message queued does not take it.
    let mut pb2 = [0u8; 24];
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        w.server.msg_receive_pulse(w.chid, &mut pb2),
        Err(Errno::ETIMEDOUT)
    );
    let mut buf = [0u8; 16];
    let rcvid = receive(&w.server, w.chid, &mut buf, None).unwrap();
    assert!(rcvid > 0);
    assert_eq!(&buf[..5], b"hello");
    w.server.msg_reply(rcvid, 1, b"ok").unwrap();
    assert_eq!(bg.join(), (Ok(1), *b"ok"));
    w.finish();
}

#[test]
fn msg_receive_pulsev_scatters_a_pulse_and_skips_messages() {
    let w = world(0);
    let bg = w.client_sending::<0>(10, b"m").once_send_blocked(&w.k);
    w.client
        .msg_send_pulse(w.coid, 10, 21, 0x0102_0304)
        .unwrap();
    let (mut a, mut b) = ([0u8; 10], [0u8; 14]);
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    w.server
        .msg_receive_pulsev(w.chid, &mut [&mut a, &mut b])
        .unwrap();
    let mut all = a.to_vec();
    all.extend_from_slice(&b);
    let p = Pulse::from_bytes(&all).unwrap();
    assert_eq!((p.type_, p.subtype), (0, 0));
    assert_eq!((p.code, p.value_int()), (21, 0x0102_0304));
    assert_eq!(p.scoid, scoid_of(&w.k, w.cli.pid, w.coid));
    wait_send_blocked(&w.k, w.cli.pid, bg.tid);
    let mut buf = [0u8; 4];
    let rcvid = receive(&w.server, w.chid, &mut buf, None).unwrap();
    assert!(rcvid > 0);
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(bg.join().0, Ok(0));
    w.finish();
}

#[test]
fn pulse_only_receiver_is_not_given_a_message() {
    let w = world(0);
    let chid = w.chid;
    let rx = spawn(&w.k, w.srv, 10, move |s| {
        let mut pb = [0u8; 24];
        arm(s, _NTO_TIMEOUT_RECEIVE, Some(LONG));
        s.msg_receive_pulse(chid, &mut pb).map(|_| pb)
    })
    .once_receive_blocked(&w.k);
    let cl = w.client_sending::<0>(10, b"msg");
    // The message waits in the queue: the only receiver wants pulses.
    wait_send_blocked(&w.k, w.cli.pid, cl.tid);
    let ti = w.k.thread_info(w.srv.pid, rx.tid).unwrap();
    assert_eq!(ti.state, ThreadState::Receive { chid: w.chid });
    w.client.msg_send_pulse(w.coid, 10, 4, 44).unwrap();
    let pb = rx.join().unwrap();
    let p = Pulse::from_bytes(&pb).unwrap();
    assert_eq!((p.code, p.value_int()), (4, 44));
    let mut buf = [0u8; 4];
    let rcvid = receive(&w.server, w.chid, &mut buf, None).unwrap();
    assert_eq!(&buf[..3], b"msg");
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(cl.join().0, Ok(0));
    w.finish();
}

#[test]
fn receive_buffer_smaller_than_a_pulse_is_efault_and_the_pulse_is_lost() {
    let w = world(0);
    // Queued pulse, MsgReceive with 23 bytes.
    w.client.msg_send_pulse(w.coid, 10, 1, 1).unwrap();
    let mut small = [0u8; PULSE_SIZE - 1];
    assert_eq!(
        receive(&w.server, w.chid, &mut small, None),
        Err(Errno::EFAULT)
    );
    assert_eq!(live(&w.k)[4], 0);
    assert_nothing_queued(&w.server, w.chid);
    // Queued pulse, MsgReceivePulse with 23 bytes.
    w.client.msg_send_pulse(w.coid, 10, 2, 2).unwrap();
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    assert_eq!(
        w.server.msg_receive_pulse(w.chid, &mut small),
        Err(Errno::EFAULT)
    );
    assert_eq!(live(&w.k)[4], 0);
    assert_nothing_queued(&w.server, w.chid);
    // A pulse handed straight to a waiting receiver with a short buffer.
    let chid = w.chid;
    let rx = spawn(&w.k, w.srv, 10, move |s| {
        let mut small = [0u8; PULSE_SIZE - 1];
        receive(s, chid, &mut small, None)
    })
    .once_receive_blocked(&w.k);
    // (QNX: the sender learns of the fault in the receiver's buffer.)
    assert_eq!(
        w.client.msg_send_pulse(w.coid, 10, 3, 3),
        Err(Errno::ESRVRFAULT)
    );
    assert_eq!(rx.join(), Err(Errno::EFAULT));
    assert_eq!(live(&w.k)[4], 0);
    assert_nothing_queued(&w.server, w.chid);
    // The next pulse is received normally.
    w.client.msg_send_pulse(w.coid, 10, 4, 4).unwrap();
    assert_eq!(receive_pulse(&w.server, w.chid).code, 4);
    w.finish();
}

// ------------------------------------------------------------------ MsgDeliverEvent

/// Server process with a channel; client process with its own channel and a coid to it (the
/// coid a client puts in its SIGEV_PULSE events). `cmain` is a client thread kept in the test
/// thread for receiving the event pulses.
///
/// Not a [`World`]: the client process has a channel of its own for the events, and no
/// connection to the server but its client threads' own, which the tests of an rcvid whose
/// thread or connection is gone rely on (a World's shared coid would keep the connection).
struct Ev {
    k: Kernel,
    start: [u32; 6],
    srv: Pid,
    cli: Pid,
    server: ThreadCtx,
    schid: i32,
    cmain: ThreadCtx,
    cchid: i32,
    ccoid: i32,
}

fn ev_world() -> Ev {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 20).unwrap();
    let schid = server.channel_create(0).unwrap();
    let cmain = k.thread_attach(cli, 7).unwrap();
    let cchid = cmain.channel_create(0).unwrap();
    let ccoid = cmain.connect_attach(0, 0, cchid, SIDE, 0).unwrap();
    Ev {
        k,
        start,
        srv,
        cli,
        server,
        schid,
        cmain,
        cchid,
        ccoid,
    }
}

/// A client thread that sends one message to the server (bounded by `bound`) and, once its
/// send returned, stays alive (so its rcvid stays valid) until `finish`.
struct Client {
    bg: Bg<KResult<i64>>,
    done: mpsc::Sender<()>,
}

impl Client {
    fn finish(self) -> KResult<i64> {
        let _ = self.done.send(());
        self.bg.join()
    }
}

fn client_with(w: &Ev, prio: i16, msg: Vec<u8>, bound: u64) -> Client {
    let (tx, rx) = mpsc::channel::<()>();
    let (srv_pid, schid) = (w.srv.pid, w.schid);
    let bg = spawn(&w.k, w.cli, prio, move |c| {
        let coid = c.connect_attach(0, srv_pid, schid, SIDE, 0).unwrap();
        let mut r = [0u8; 8];
        arm(c, SEND_REPLY, Some(bound));
        let st = c.msg_send(coid, &msg, &mut r);
        let _ = rx.recv_timeout(DEADLINE);
        c.connect_detach(coid).unwrap();
        st
    });
    Client { bg, done: tx }
}

fn client(w: &Ev, prio: i16, msg: Vec<u8>) -> Client {
    client_with(w, prio, msg, LONG)
}

impl Ev {
    /// Receives the client's message: its rcvid and bytes.
    fn take(&self) -> (RcvId, Vec<u8>) {
        let mut buf = [0u8; 64];
        let mut info = MsgInfo::default();
        let rcvid = receive(&self.server, self.schid, &mut buf, Some(&mut info)).unwrap();
        assert!(rcvid > 0);
        (rcvid, buf[..info.msglen as usize].to_vec())
    }

    /// A client that sent a message, was received and replied to: its rcvid.
    fn replied_client(&self, prio: i16) -> (Client, RcvId) {
        let c = client(self, prio, b"hi".to_vec());
        let (rcvid, _) = self.take();
        self.server.msg_reply(rcvid, 0, b"").unwrap();
        wait_running(&self.k, self.cli.pid, c.bg.tid);
        (c, rcvid)
    }

    fn finish(self) {
        let Ev {
            k,
            start,
            srv,
            cli,
            server,
            cmain,
            ..
        } = self;
        drop(cmain);
        drop(server);
        teardown(&k, &[srv, cli], start);
    }
}

#[test]
fn deliver_event_pulse_goes_to_the_clients_own_channel_with_its_code_value_and_base_priority() {
    let w = ev_world();
    // The server has a coid with the same number as the client's event coid, on its own
    // channel: the event's coid must be looked up in the client's process, not the server's.
    let server_coid = w.server.connect_attach(0, 0, w.schid, SIDE, 0).unwrap();
    assert_eq!(server_coid, w.ccoid, "precondition: same coid number");
    let ev = SigEvent::pulse(w.ccoid, SIGEV_PULSE_PRIO_INHERIT, 5, 777);
    let c = client(&w, 13, event_bytes(&ev).to_vec());
    let (rcvid, msg) = w.take();
    let got = event_from_bytes(&msg);
    assert_eq!(got, ev);
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    // The client is no longer REPLY-blocked: MsgDeliverEvent does not need it to be.
    wait_running(&w.k, w.cli.pid, c.bg.tid);
    w.server.msg_deliver_event(rcvid, &got).unwrap();
    let p = receive_pulse(&w.cmain, w.cchid);
    assert_eq!((p.type_, p.subtype), (0, 0));
    assert_eq!((p.code, p.value_int()), (5, 777));
    assert_eq!(p.scoid, scoid_of(&w.k, w.cli.pid, w.ccoid));
    // Priority -1: the client thread's base priority (13), not the server's (20) nor the
    // receiving thread's own (7).
    let ti = w.k.thread_info(w.cli.pid, w.cmain.tid()).unwrap();
    assert_eq!((ti.base_priority, ti.priority), (7, 13));
    assert_nothing_queued(&w.server, w.schid);
    // An explicit priority is used as it is; events may be delivered again and again.
    w.server
        .msg_deliver_event(rcvid, &SigEvent::pulse(w.ccoid, 50, 6, 8))
        .unwrap();
    let p = receive_pulse(&w.cmain, w.cchid);
    assert_eq!((p.code, p.value_int()), (6, 8));
    assert_eq!(w.cmain.priority().unwrap(), (7, 50));
    assert_eq!(c.finish(), Ok(0));
    w.server.connect_detach(server_coid).unwrap();
    w.finish();
}

#[test]
fn deliver_event_to_a_reply_blocked_client_delivers_the_pulse() {
    let w = ev_world();
    let c = client(&w, 10, b"hi".to_vec());
    let (rcvid, _) = w.take();
    wait_reply_blocked(&w.k, w.cli.pid, c.bg.tid);
    w.server
        .msg_deliver_event(rcvid, &SigEvent::pulse(w.ccoid, 10, 1, 2))
        .unwrap();
    let p = receive_pulse(&w.cmain, w.cchid);
    assert_eq!((p.code, p.value_int()), (1, 2));
    // Delivery left the client REPLY-blocked.
    wait_reply_blocked(&w.k, w.cli.pid, c.bg.tid);
    w.server.msg_reply(rcvid, 3, b"").unwrap();
    assert_eq!(c.finish(), Ok(3));
    w.finish();
}

#[test]
fn deliver_event_with_a_coid_unknown_to_the_client_is_esrch() {
    let w = ev_world();
    // A coid the server has but the client does not.
    let server_fd_coid = w.server.connect_attach(0, 0, w.schid, 0, 0).unwrap();
    let (c, rcvid) = w.replied_client(10);
    for coid in [server_fd_coid, 3, (SIDE | 0x77) as i32, -1] {
        let ev = SigEvent::pulse(coid, 10, 1, 1);
        assert_eq!(
            w.server.msg_deliver_event(rcvid, &ev),
            Err(Errno::ESRCH),
            "coid {coid:#x}"
        );
        assert_eq!(
            w.server.msg_verify_event(rcvid, &ev),
            Err(Errno::ESRCH),
            "verify, coid {coid:#x}"
        );
    }
    assert_eq!(live(&w.k)[4], 0);
    assert_nothing_queued(&w.server, w.schid);
    assert_nothing_queued(&w.cmain, w.cchid);
    assert_eq!(c.finish(), Ok(0));
    w.server.connect_detach(server_fd_coid).unwrap();
    w.finish();
}

#[test]
fn deliver_event_on_a_coid_whose_channel_is_destroyed_is_ebadf_and_after_detach_esrch() {
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    let ev = SigEvent::pulse(w.ccoid, 10, 1, 1);
    w.cmain.channel_destroy(w.cchid).unwrap();
    assert_eq!(w.server.msg_deliver_event(rcvid, &ev), Err(Errno::EBADF));
    assert_eq!(w.server.msg_verify_event(rcvid, &ev), Err(Errno::EBADF));
    w.cmain.connect_detach(w.ccoid).unwrap();
    assert_eq!(w.server.msg_deliver_event(rcvid, &ev), Err(Errno::ESRCH));
    assert_eq!(live(&w.k)[4], 0);
    assert_eq!(c.finish(), Ok(0));
    w.finish();
}

#[test]
fn deliver_event_pulse_priority_0_or_above_255_is_einval() {
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    for prio in [0i16, 256, 300, -2, i16::MIN] {
        let ev = SigEvent::pulse(w.ccoid, prio, 1, 1);
        assert_eq!(
            w.server.msg_deliver_event(rcvid, &ev),
            Err(Errno::EINVAL),
            "priority {prio}"
        );
        assert_eq!(
            w.server.msg_verify_event(rcvid, &ev),
            Err(Errno::EINVAL),
            "verify, priority {prio}"
        );
    }
    assert_eq!(live(&w.k)[4], 0);
    assert_nothing_queued(&w.cmain, w.cchid);
    for prio in [1i16, 255] {
        w.server
            .msg_deliver_event(rcvid, &SigEvent::pulse(w.ccoid, prio, 2, prio as i32))
            .unwrap();
        assert_eq!(receive_pulse(&w.cmain, w.cchid).value_int(), prio as i32);
    }
    assert_eq!(c.finish(), Ok(0));
    w.finish();
}

#[test]
fn deliver_event_unblock_releases_a_reply_blocked_client_with_etimedout() {
    let w = ev_world();
    // Bounded far beyond the join deadline: only the event can release it in time.
    let c = client_with(&w, 10, b"hi".to_vec(), SAFETY);
    let (rcvid, _) = w.take();
    wait_reply_blocked(&w.k, w.cli.pid, c.bg.tid);
    w.server
        .msg_deliver_event(rcvid, &SigEvent::unblock())
        .unwrap();
    wait_running(&w.k, w.cli.pid, c.bg.tid);
    // The server's reply comes too late.
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    assert_eq!(c.finish(), Err(Errno::ETIMEDOUT));
    w.finish();
}

#[test]
fn deliver_event_unblock_releases_a_receive_blocked_client_with_etimedout() {
    let w = ev_world();
    let (tx, rx) = mpsc::channel::<()>();
    let (srv_pid, schid, cchid) = (w.srv.pid, w.schid, w.cchid);
    let bg = spawn(&w.k, w.cli, 10, move |c| {
        let coid = c.connect_attach(0, srv_pid, schid, SIDE, 0).unwrap();
        let st = send(c, coid, b"hi", &mut []);
        // Now wait on our own channel, bounded only by SAFETY (still connected: the server's
        // rcvid names our connection, and an event to a detached one is EBADF).
        let mut buf = [0u8; 32];
        arm(c, _NTO_TIMEOUT_RECEIVE, Some(SAFETY));
        let r = c.msg_receive(cchid, &mut buf, None);
        let _ = rx.recv_timeout(DEADLINE);
        c.connect_detach(coid).unwrap();
        (st, r)
    });
    let (rcvid, _) = w.take();
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    wait_receive_blocked(&w.k, w.cli.pid, bg.tid);
    w.server
        .msg_deliver_event(rcvid, &SigEvent::unblock())
        .unwrap();
    wait_running(&w.k, w.cli.pid, bg.tid);
    let _ = tx.send(());
    assert_eq!(bg.join(), (Ok(0), Err(Errno::ETIMEDOUT)));
    // An unblock event to a thread that is not blocked does nothing.
    w.server.msg_deliver_event(0, &SigEvent::unblock()).unwrap();
    w.finish();
}

#[test]
fn deliver_event_signal_thread_sends_a_real_signal_with_its_code_and_value_to_the_client_thread() {
    let signo = install_rt_handler(3);
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    let ev = SigEvent::signal_thread(signo, 0x1234_5678, -100);
    w.server.msg_deliver_event(rcvid, &ev).unwrap();
    let r = wait_signal(signo, 1);
    assert_eq!(r.code, -100);
    assert_eq!(r.value, 0x1234_5678);
    assert_eq!(
        r.tid, c.bg.os_tid,
        "the client's own thread took the signal"
    );
    assert_eq!(c.finish(), Ok(0));
    w.finish();
}

#[test]
fn signal_code_and_signal_thread_events_with_a_non_negative_code_are_einval() {
    // QNX's codes for programs are negative (SI_MINAVAIL..SI_MAXAVAIL); Linux would refuse
    // to queue a non-negative code to another thread, so the kernel refuses it up front
    // rather than lose the signal.
    let signo = install_rt_handler(8);
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    for code in [0i16, 1, 42, i16::MAX] {
        for ev in [
            SigEvent::signal_code(signo, 99, code),
            SigEvent::signal_thread(signo, 99, code),
        ] {
            for target in [rcvid, 0] {
                assert_eq!(
                    w.server.msg_deliver_event(target, &ev),
                    Err(Errno::EINVAL),
                    "code {code}, notify {}, rcvid {target:#x}",
                    ev.sigev_notify
                );
                assert_eq!(
                    w.server.msg_verify_event(target, &ev),
                    Err(Errno::EINVAL),
                    "verify code {code}, notify {}, rcvid {target:#x}",
                    ev.sigev_notify
                );
            }
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(sig_record(signo).count, 0, "nothing was sent");
    assert_eq!(c.finish(), Ok(0));
    w.finish();
}

#[test]
fn deliver_event_signal_code_sends_the_signal_with_its_code_and_value() {
    let signo = install_rt_handler(4);
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    let ev = SigEvent::signal_code(signo, -77, -77);
    w.server.msg_deliver_event(rcvid, &ev).unwrap();
    let r = wait_signal(signo, 1);
    assert_eq!((r.code, r.value), (-77, -77));
    assert_eq!(r.tid, c.bg.os_tid);
    // To the caller itself (rcvid 0).
    w.server
        .msg_deliver_event(0, &SigEvent::signal_code(signo, 5, -128))
        .unwrap();
    let r = wait_signal(signo, 2);
    assert_eq!((r.code, r.value, r.tid), (-128, 5, os_tid()));
    assert_eq!(c.finish(), Ok(0));
    w.finish();
}

#[test]
fn deliver_event_signal_sends_the_signal_with_si_queue_and_its_value() {
    let signo = install_rt_handler(5);
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    w.server
        .msg_deliver_event(rcvid, &SigEvent::signal_value(signo, 4321))
        .unwrap();
    let r = wait_signal(signo, 1);
    assert_eq!(r.code, libc::SI_QUEUE);
    assert_eq!(r.value, 4321);
    assert_eq!(c.finish(), Ok(0));
    w.finish();
}

#[test]
fn deliver_event_signal_number_0_or_above_64_is_einval() {
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    for signo in [0, 65, -1, 1000] {
        for ev in [
            SigEvent::signal(signo),
            SigEvent::signal_code(signo, 1, -1),
            SigEvent::signal_thread(signo, 1, -1),
        ] {
            assert_eq!(
                w.server.msg_deliver_event(rcvid, &ev),
                Err(Errno::EINVAL),
                "signo {signo}, notify {}",
                ev.sigev_notify
            );
            assert_eq!(
                w.server.msg_verify_event(rcvid, &ev),
                Err(Errno::EINVAL),
                "verify signo {signo}, notify {}",
                ev.sigev_notify
            );
        }
    }
    assert_eq!(c.finish(), Ok(0));
    w.finish();
}

#[test]
fn deliver_event_thread_is_ebusy_and_unknown_types_are_einval_and_intr_is_delivered() {
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    let thread_ev = SigEvent {
        sigev_notify: SIGEV_THREAD,
        ..SigEvent::default()
    };
    // SIGEV_INTR goes to the client's thread (its next InterruptWait returns at once).
    assert_eq!(w.server.msg_verify_event(rcvid, &SigEvent::intr()), Ok(()));
    assert_eq!(w.server.msg_deliver_event(rcvid, &SigEvent::intr()), Ok(()));
    let cases = [
        (thread_ev, Errno::EBUSY),
        (
            SigEvent {
                sigev_notify: 8,
                ..SigEvent::default()
            },
            Errno::EINVAL,
        ),
        (
            SigEvent {
                sigev_notify: 0x55,
                ..SigEvent::default()
            },
            Errno::EINVAL,
        ),
        (
            SigEvent {
                sigev_notify: 0xff,
                ..SigEvent::default()
            },
            Errno::EINVAL,
        ),
    ];
    for (ev, e) in cases {
        assert_eq!(
            w.server.msg_deliver_event(rcvid, &ev),
            Err(e),
            "notify {}",
            ev.sigev_notify
        );
        assert_eq!(
            w.server.msg_verify_event(rcvid, &ev),
            Err(e),
            "verify notify {}",
            ev.sigev_notify
        );
    }
    // SIGEV_NONE is fine and does nothing.
    w.server
        .msg_deliver_event(rcvid, &SigEvent::none())
        .unwrap();
    assert_nothing_queued(&w.cmain, w.cchid);
    assert_eq!(live(&w.k)[4], 0);
    assert_eq!(c.finish(), Ok(0));
    w.finish();
}

#[test]
fn verify_event_accepts_a_good_pulse_event_without_queueing_anything() {
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    let ev = SigEvent::pulse(w.ccoid, 10, 3, 33);
    w.server.msg_verify_event(rcvid, &ev).unwrap();
    w.server
        .msg_verify_event(rcvid, &SigEvent::pulse(w.ccoid, -1, 3, 33))
        .unwrap();
    assert_eq!(live(&w.k)[4], 0, "verify queues no pulse");
    assert_nothing_queued(&w.cmain, w.cchid);
    // rcvid 0 checks against the caller: the client's coid means nothing in the server.
    let server_only = SigEvent::pulse((SIDE | 0x55) as i32, 10, 3, 33);
    assert_eq!(
        w.server.msg_verify_event(0, &server_only),
        Err(Errno::ESRCH)
    );
    assert_eq!(c.finish(), Ok(0));
    w.finish();
}

#[test]
fn deliver_event_to_a_stale_rcvid_is_esrch() {
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    let tid = c.bg.tid;
    assert_eq!(c.finish(), Ok(0));
    wait_gone(&w.k, w.cli.pid, tid);
    let ev = SigEvent::pulse(w.ccoid, 10, 1, 1);
    assert_eq!(w.server.msg_deliver_event(rcvid, &ev), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_verify_event(rcvid, &ev), Err(Errno::ESRCH));
    // A new thread in the freed slot does not inherit the old rcvid.
    let (c2, rcvid2) = w.replied_client(10);
    assert_ne!(rcvid2, rcvid);
    assert_eq!(w.server.msg_deliver_event(rcvid, &ev), Err(Errno::ESRCH));
    w.server.msg_deliver_event(rcvid2, &ev).unwrap();
    assert_eq!(receive_pulse(&w.cmain, w.cchid).code, 1);
    assert_eq!(c2.finish(), Ok(0));
    assert_eq!(live(&w.k)[4], 0);
    w.finish();
}

#[test]
fn deliver_event_with_a_garbage_rcvid_or_another_servers_rcvid_is_esrch() {
    let w = ev_world();
    let (c, rcvid) = w.replied_client(10);
    let ev = SigEvent::pulse(w.ccoid, 10, 1, 1);
    for bad in [-1, i32::MIN as RcvId, 0x7fff_0001, rcvid ^ 0x8000, i64::MIN] {
        assert_eq!(
            w.server.msg_deliver_event(bad, &ev),
            Err(Errno::ESRCH),
            "rcvid {bad:#x}"
        );
    }
    // Another process never received from this client: the rcvid is not its to use.
    let other = w.k.process_create().unwrap();
    let o = w.k.thread_attach(other, 10).unwrap();
    assert_eq!(o.msg_deliver_event(rcvid, &ev), Err(Errno::ESRCH));
    assert_eq!(o.msg_verify_event(rcvid, &ev), Err(Errno::ESRCH));
    drop(o);
    w.k.process_destroy(other).unwrap();
    assert_nothing_queued(&w.cmain, w.cchid);
    assert_eq!(c.finish(), Ok(0));
    w.finish();
}

#[test]
fn deliver_event_with_rcvid_0_delivers_to_the_caller_itself() {
    let w = ev_world();
    w.cmain.set_priority(9).unwrap();
    // cmain delivers to itself a pulse on its own coid, inheriting its base priority.
    let ev = SigEvent::pulse(w.ccoid, SIGEV_PULSE_PRIO_INHERIT, 12, 1212);
    w.cmain.msg_deliver_event(0, &ev).unwrap();
    assert_eq!(live(&w.k)[4], 1);
    // Another thread of the client process, at priority 30, receives it at priority 9.
    let cchid = w.cchid;
    let rx = spawn(&w.k, w.cli, 30, move |c| {
        let p = receive_pulse(c, cchid);
        (p, c.priority().unwrap())
    });
    let (p, prio) = rx.join();
    assert_eq!((p.code, p.value_int()), (12, 1212));
    assert_eq!(p.scoid, scoid_of(&w.k, w.cli.pid, w.ccoid));
    assert_eq!(prio, (30, 9));
    // The server has no such coid: rcvid 0 from the server looks in the server.
    assert_eq!(
        w.server
            .msg_deliver_event(0, &SigEvent::pulse(w.ccoid, 10, 1, 1)),
        Err(Errno::ESRCH)
    );
    w.finish();
}

#[test]
fn bad_pulses_and_events_keep_their_errno_and_leak_nothing() {
    let w = ev_world();
    let before = live(&w.k);
    let (c, rcvid) = w.replied_client(10);
    let cases: [(SigEvent, Errno); 5] = [
        (
            SigEvent::pulse((SIDE | 0x66) as i32, 10, 1, 1),
            Errno::ESRCH,
        ),
        (SigEvent::pulse(w.ccoid, 0, 1, 1), Errno::EINVAL),
        (SigEvent::pulse(w.ccoid, 400, 1, 1), Errno::EINVAL),
        (SigEvent::signal(0), Errno::EINVAL),
        (
            SigEvent {
                sigev_notify: 42,
                ..SigEvent::default()
            },
            Errno::EINVAL,
        ),
    ];
    for _ in 0..3 {
        for (ev, e) in cases {
            assert_eq!(w.server.msg_deliver_event(rcvid, &ev), Err(e), "{ev:?}");
        }
    }
    assert_eq!(c.finish(), Ok(0));
    // Pulses on a detached coid.
    let coid = w
        .cmain
        .connect_attach(0, w.srv.pid, w.schid, SIDE, 0)
        .unwrap();
    w.cmain.connect_detach(coid).unwrap();
    for _ in 0..3 {
        assert_eq!(w.cmain.msg_send_pulse(coid, 10, 1, 1), Err(Errno::EBADF));
        // (The coid is looked at first, as QNX 6.4 does: EBADF whatever the priority.)
        assert_eq!(w.cmain.msg_send_pulse(coid, 0, 1, 1), Err(Errno::EBADF));
    }
    // The kernel still works: a pulse and a round trip.
    w.cmain.msg_send_pulse(w.ccoid, 10, 2, 2).unwrap();
    assert_eq!(receive_pulse(&w.cmain, w.cchid).code, 2);
    let (c, rcvid) = w.replied_client(10);
    w.server
        .msg_deliver_event(rcvid, &SigEvent::pulse(w.ccoid, 10, 3, 3))
        .unwrap();
    assert_eq!(receive_pulse(&w.cmain, w.cchid).code, 3);
    assert_eq!(c.finish(), Ok(0));
    // The client threads are gone once joined: every pool is where it was.
    assert_eq!(live(&w.k), before);
    w.finish();
}

#[test]
fn deliver_event_to_an_rcvid_whose_thread_exited_goes_to_another_thread_of_its_process() {
    let w = ev_world();
    // The client process keeps its connection to the server (the exiting thread's coid shares
    // it), so the rcvid's connection lives on after the thread.
    let keep = w
        .cmain
        .connect_attach(0, w.srv.pid, w.schid, SIDE, 0)
        .unwrap();
    let (c, rcvid) = w.replied_client(10);
    let tid = c.bg.tid;
    assert_eq!(c.finish(), Ok(0));
    wait_gone(&w.k, w.cli.pid, tid);
    // A process-directed event (a pulse on the client process's connection) still arrives.
    let ev = SigEvent::pulse(w.ccoid, 10, 5, 55);
    w.server.msg_verify_event(rcvid, &ev).unwrap();
    w.server.msg_deliver_event(rcvid, &ev).unwrap();
    let p = receive_pulse(&w.cmain, w.cchid);
    assert_eq!((p.code, p.value_int()), (5, 55));
    // A thread-directed one has nobody to go to.
    assert_eq!(
        w.server.msg_deliver_event(rcvid, &SigEvent::unblock()),
        Err(Errno::ESRCH)
    );
    // Once the connection is gone, the rcvid names nothing.
    w.cmain.connect_detach(keep).unwrap();
    assert_eq!(w.server.msg_deliver_event(rcvid, &ev), Err(Errno::ESRCH));
    assert_nothing_queued(&w.cmain, w.cchid);
    w.finish();
}

#[test]
fn deliver_event_to_an_exited_threads_rcvid_is_esrch_once_a_new_thread_takes_its_slot() {
    let w = ev_world();
    let keep = w
        .cmain
        .connect_attach(0, w.srv.pid, w.schid, SIDE, 0)
        .unwrap();
    let (c, rcvid) = w.replied_client(10);
    let tid = c.bg.tid;
    assert_eq!(c.finish(), Ok(0));
    wait_gone(&w.k, w.cli.pid, tid);
    // Threads come and go until one has taken the exited thread's slot (every slot is
    // reused in turn, so at most one pool's worth).
    let ev = SigEvent::pulse(w.ccoid, 10, 5, 55);
    let mut taken = false;
    for _ in 0..Config::default().max_threads {
        let t = w.k.thread_attach(w.cli, 10).unwrap();
        drop(t);
        if w.server.msg_verify_event(rcvid, &ev) == Err(Errno::ESRCH) {
            taken = true;
            break;
        }
    }
    assert!(taken, "the slot was never reused");
    assert_eq!(w.server.msg_deliver_event(rcvid, &ev), Err(Errno::ESRCH));
    w.cmain.connect_detach(keep).unwrap();
    w.finish();
}
