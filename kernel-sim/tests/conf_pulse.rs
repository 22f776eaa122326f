//! MsgSendPulse and pulse reception (QNX: MsgSendPulse, MsgReceive, `struct _pulse`).

mod support;

use std::thread;
use support::*;

#[test]
fn pulse_is_received_with_rcvid_0_and_all_its_fields() {
    let s = world(0);
    s.client.msg_send_pulse(s.coid, 10, 42, -123_456).unwrap();
    let mut buf = [0xEEu8; 40];
    assert_eq!(receive(&s.server, s.chid, &mut buf, None), Ok(0));
    let p = Pulse::from_bytes(&buf).unwrap();
    assert_eq!(p.type_, _PULSE_TYPE);
    assert_eq!(p.subtype, _PULSE_SUBTYPE);
    assert_eq!(p.code, 42);
    assert_eq!(p.value_int(), -123_456);
    assert_eq!(p.scoid as u32 & _NTO_SIDE_CHANNEL, _NTO_SIDE_CHANNEL);
    // The raw layout of struct _pulse: type, subtype, code, zero[3], value, scoid.
    assert_eq!(&buf[0..4], &[0, 0, 0, 0]);
    assert_eq!(buf[4], 42);
    assert_eq!(&buf[5..8], &[0, 0, 0]);
    assert_eq!(&buf[8..12], &(-123_456i32).to_ne_bytes());
    assert_eq!(&buf[16..20], &p.scoid.to_ne_bytes());
    // Exactly sizeof(struct _pulse) is written.
    assert_eq!(&buf[PULSE_SIZE..], &[0xEE; 16]);
    // The scoid is the one messages on the same coid report.
    thread::scope(|sc| {
        let (h, _) = spawn_scoped(sc, &s.k, s.cli, 10, |t| {
            let mut r = [0u8; 0];
            send(t, s.coid, b"m", &mut r)
        });
        let mut info = MsgInfo::default();
        let rcvid = receive(&s.server, s.chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(info.scoid, p.scoid);
        s.server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), Ok(0));
    });
}

#[test]
fn pulse_into_an_exactly_pulse_sized_buffer_is_received() {
    let s = world(0);
    s.client.msg_send_pulse(s.coid, 10, 1, 7).unwrap();
    let mut buf = [0u8; PULSE_SIZE];
    assert_eq!(receive(&s.server, s.chid, &mut buf, None), Ok(0));
    assert_eq!(Pulse::from_bytes(&buf).unwrap().value_int(), 7);
    // Also through a scattered receive buffer.
    s.client.msg_send_pulse(s.coid, 10, 2, 8).unwrap();
    let (mut a, mut b) = ([0u8; 5], [0u8; 19]);
    arm(&s.server, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    assert_eq!(
        s.server
            .msg_receivev(s.chid, &mut [&mut a[..], &mut b[..]], None),
        Ok(0)
    );
    let mut whole = a.to_vec();
    whole.extend_from_slice(&b);
    let p = Pulse::from_bytes(&whole).unwrap();
    assert_eq!((p.code, p.value_int()), (2, 8));
}

#[test]
fn pulse_to_a_receive_blocked_server_is_delivered_directly() {
    let s = world(0);
    thread::scope(|sc| {
        let (h, tid) = spawn_scoped(sc, &s.k, s.srv, 10, |t| receive_pulse(t, s.chid));
        wait_receive_blocked(&s.k, s.srv.pid, tid);
        s.client.msg_send_pulse(s.coid, 10, 9, 99).unwrap();
        let p = h.join();
        assert_eq!((p.code, p.value_int()), (9, 99));
    });
    assert_eq!(s.k.pool_usage().pulses.live, 0);
}

#[test]
fn msg_send_pulse_takes_user_codes_0_to_127_only() {
    let s = world(0);
    for code in [0i8, 1, 64, 127] {
        assert_eq!(
            s.client.msg_send_pulse(s.coid, 10, code, code.into()),
            Ok(())
        );
        let p = receive_pulse(&s.server, s.chid);
        assert_eq!((p.code, p.value_int()), (code, i32::from(code)));
    }
    for code in [-1i8, -32, -128] {
        assert_eq!(
            s.client.msg_send_pulse(s.coid, 10, code, 0),
            Err(Errno::EINVAL),
            "code {code}"
        );
    }
    assert_eq!(s.k.pool_usage().pulses.live, 0);
}

#[test]
fn msg_send_pulse_takes_priorities_1_to_255_or_minus_1() {
    let s = world(0);
    for prio in [1i16, 10, 255, -1] {
        assert_eq!(
            s.client.msg_send_pulse(s.coid, prio, 1, prio.into()),
            Ok(())
        );
        assert_eq!(
            receive_pulse(&s.server, s.chid).value_int(),
            i32::from(prio)
        );
    }
    for prio in [0i16, 256, -2, 1000, i16::MIN] {
        assert_eq!(
            s.client.msg_send_pulse(s.coid, prio, 1, 0),
            Err(Errno::EINVAL),
            "priority {prio}"
        );
    }
    assert_eq!(s.k.pool_usage().pulses.live, 0);
}

#[test]
fn identical_pulses_are_each_delivered() {
    let s = world(0);
    for _ in 0..5 {
        s.client.msg_send_pulse(s.coid, 10, 3, 3).unwrap();
    }
    assert_eq!(s.k.pool_usage().pulses.live, 5);
    for _ in 0..5 {
        let p = receive_pulse(&s.server, s.chid);
        assert_eq!((p.code, p.value_int()), (3, 3));
    }
    let mut buf = [0u8; 32];
    assert_eq!(
        poll(&s.server, s.chid, &mut buf, None),
        Err(Errno::ETIMEDOUT)
    );
    let c = s.k.process_counters(s.cli.pid).unwrap();
    let v = s.k.process_counters(s.srv.pid).unwrap();
    assert_eq!((c.pulses_sent, v.pulses_received), (5, 5));
}

#[test]
fn msg_receive_pulse_takes_pulses_and_leaves_messages_queued() {
    let s = world(0);
    thread::scope(|sc| {
        let (h, tid) = spawn_scoped(sc, &s.k, s.cli, 20, |t| {
            let mut r = [0u8; 0];
            send(t, s.coid, b"msg", &mut r)
        });
        wait_send_blocked(&s.k, s.cli.pid, tid);
        // The message is ahead of the pulse (higher priority), but MsgReceivePulse skips it.
        s.client.msg_send_pulse(s.coid, 10, 5, 55).unwrap();
        let mut buf = [0u8; 32];
        arm(&s.server, _NTO_TIMEOUT_RECEIVE, Some(LONG));
        assert_eq!(s.server.msg_receive_pulse(s.chid, &mut buf), Ok(()));
        assert_eq!(Pulse::from_bytes(&buf).unwrap().value_int(), 55);
        // With only the message left, MsgReceivePulse would block.
        arm(&s.server, _NTO_TIMEOUT_RECEIVE, None);
        assert_eq!(
            s.server.msg_receive_pulse(s.chid, &mut buf),
            Err(Errno::ETIMEDOUT)
        );
        assert!(matches!(
            s.k.thread_info(s.cli.pid, tid).unwrap().state,
            ThreadState::Send { .. }
        ));
        let rcvid = receive(&s.server, s.chid, &mut buf, None).unwrap();
        assert!(rcvid > 0);
        assert_eq!(&buf[..3], b"msg");
        s.server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), Ok(0));
    });
}

#[test]
fn messages_go_to_full_receivers_and_pulses_to_any_receiver() {
    let s = world(0);
    thread::scope(|sc| {
        // A full receiver first, then a pulse-only receiver (the newer one).
        let (full, ftid) = spawn_scoped(sc, &s.k, s.srv, 10, |t| {
            let mut b = [0u8; 32];
            let r = receive(t, s.chid, &mut b, None);
            if let Ok(rcvid) = r {
                if rcvid > 0 {
                    t.msg_reply(rcvid, 11, b"").unwrap();
                }
            }
            r
        });
        wait_receive_blocked(&s.k, s.srv.pid, ftid);
        let (pulse_only, ptid) = spawn_scoped(sc, &s.k, s.srv, 10, |t| {
            let mut b = [0u8; 32];
            arm(t, _NTO_TIMEOUT_RECEIVE, Some(LONG));
            t.msg_receive_pulse(s.chid, &mut b)
                .map(|()| Pulse::from_bytes(&b).unwrap())
        });
        wait_receive_blocked(&s.k, s.srv.pid, ptid);
        // A message skips the newer, pulse-only receiver.
        let mut r = [0u8; 0];
        assert_eq!(send(&s.client, s.coid, b"m", &mut r), Ok(11));
        assert!(full.join().unwrap() > 0);
        assert!(matches!(
            s.k.thread_info(s.srv.pid, ptid).unwrap().state,
            ThreadState::Receive { .. }
        ));
        // A pulse goes to the pulse-only receiver.
        s.client.msg_send_pulse(s.coid, 10, 4, 44).unwrap();
        let p = pulse_only.join().unwrap();
        assert_eq!(p.value_int(), 44);
    });
}

#[test]
fn pulse_on_an_unknown_coid_is_ebadf() {
    let s = world(0);
    for coid in [-1, 0, 7, 0x4000_0000, 0x4000_0009, 0x7fff_ffff] {
        assert_eq!(
            s.client.msg_send_pulse(coid, 10, 1, 0),
            Err(Errno::EBADF),
            "coid {coid:#x}"
        );
    }
    s.client.connect_detach(s.coid).unwrap();
    assert_eq!(s.client.msg_send_pulse(s.coid, 10, 1, 0), Err(Errno::EBADF));
    assert_eq!(s.k.process_counters(s.cli.pid).unwrap().pulses_sent, 0);
}

#[test]
fn pulses_from_several_coids_carry_each_connections_scoid() {
    let s = world(0);
    let other = s
        .client
        .connect_attach(0, s.srv.pid, s.chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE)
        .unwrap();
    s.client.msg_send_pulse(s.coid, 10, 1, 0).unwrap();
    s.client.msg_send_pulse(other, 10, 2, 0).unwrap();
    s.client.msg_send_pulse(s.coid, 10, 3, 0).unwrap();
    let a = receive_pulse(&s.server, s.chid);
    let b = receive_pulse(&s.server, s.chid);
    let c = receive_pulse(&s.server, s.chid);
    assert_eq!((a.code, b.code, c.code), (1, 2, 3));
    assert_eq!(a.scoid, c.scoid);
    assert_ne!(a.scoid, b.scoid);
}
