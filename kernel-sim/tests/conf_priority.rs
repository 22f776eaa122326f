//! Priority ordering of the send queue, priority inheritance and server boost
//! (QNX: System Architecture, priority inheritance and server boost).

mod support;

use std::thread;
use support::*;

fn prio_of(k: &Kernel, pid: i32, tid: i32) -> (i16, i16) {
    let i = k.thread_info(pid, tid).unwrap();
    (i.base_priority, i.priority)
}

#[test]
fn send_queue_orders_senders_and_pulses_by_priority_fifo_within_a_priority() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let coid = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    // (label, priority): a message from a client at that priority, or a pulse ("p<code>").
    let arrivals: [(&str, i16); 10] = [
        ("A", 10),
        ("p1", 20),
        ("B", 20),
        ("C", 10),
        ("p2", 10),
        ("D", 30),
        ("p3", 30),
        ("E", 20),
        ("p4", 5),
        ("F", 5),
    ];
    let expected = ["D", "p3", "p1", "B", "E", "A", "C", "p2", "p4", "F"];
    thread::scope(|s| {
        let mut clients = Vec::new();
        for &(label, prio) in &arrivals {
            if let Some(code) = label.strip_prefix('p') {
                c.msg_send_pulse(coid, prio, code.parse().unwrap(), prio.into())
                    .unwrap();
            } else {
                let (h, tid) = spawn_scoped(s, &k, cli, prio, move |t| {
                    let mut r = [0u8; 0];
                    send(t, coid, label.as_bytes(), &mut r)
                });
                // Queued before the next arrival, so FIFO order within a priority is defined.
                wait_send_blocked(&k, cli.pid, tid);
                clients.push(h);
            }
        }
        let mut order = Vec::new();
        for _ in 0..arrivals.len() {
            let mut buf = [0u8; 32];
            let mut info = MsgInfo::default();
            let rcvid = receive(&server, chid, &mut buf, Some(&mut info)).unwrap();
            if rcvid == 0 {
                let p = Pulse::from_bytes(&buf).unwrap();
                order.push(format!("p{}", p.code));
            } else {
                let label = String::from_utf8(buf[..info.msglen as usize].to_vec()).unwrap();
                let prio = arrivals.iter().find(|a| a.0 == label).unwrap().1;
                assert_eq!(info.priority, prio, "priority of {label}");
                order.push(label);
                server.msg_reply(rcvid, 0, b"").unwrap();
            }
        }
        assert_eq!(order, expected);
        for h in clients {
            assert_eq!(h.join(), Ok(0));
        }
    });
    c.connect_detach(coid).unwrap();
    drop((server, c));
    teardown(&k, &[srv, cli], start);
}

#[test]
fn receiver_takes_the_senders_priority_on_receive_and_keeps_its_base() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let coid = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    // Higher and lower than the server's own: the receiver takes the sender's either way.
    for prio in [25, 3, 200] {
        thread::scope(|s| {
            let (h, _) = spawn_scoped(s, &k, cli, prio, |t| {
                let mut r = [0u8; 0];
                send(t, coid, b"p", &mut r)
            });
            let mut buf = [0u8; 4];
            let mut info = MsgInfo::default();
            let rcvid = receive(&server, chid, &mut buf, Some(&mut info)).unwrap();
            assert_eq!(info.priority, prio);
            assert_eq!(server.priority(), Ok((10, prio as u8)));
            assert_eq!(prio_of(&k, srv.pid, server.tid()), (10, prio));
            server.msg_reply(rcvid, 0, b"").unwrap();
            // It keeps the inherited priority after replying.
            assert_eq!(server.priority(), Ok((10, prio as u8)));
            assert_eq!(h.join(), Ok(0));
        });
    }
}

#[test]
fn fixed_priority_channel_receiver_keeps_its_own_priority() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(_NTO_CHF_FIXED_PRIORITY).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, srv, 50, |t| {
            let mut r = [0u8; 0];
            send(t, coid, b"hi", &mut r)
        });
        let mut buf = [0u8; 4];
        let mut info = MsgInfo::default();
        let rcvid = receive(&server, chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(info.priority, 50);
        assert_eq!(server.priority(), Ok((10, 10)));
        server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), Ok(0));
    });
    server.msg_send_pulse(coid, 60, 1, 0).unwrap();
    receive_pulse(&server, chid);
    assert_eq!(server.priority(), Ok((10, 10)));
}

#[test]
fn receiver_takes_the_pulse_priority() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    // Queued, then received.
    server.msg_send_pulse(coid, 44, 1, 0).unwrap();
    receive_pulse(&server, chid);
    assert_eq!(server.priority(), Ok((10, 44)));
    // Delivered straight into a RECEIVE-blocked thread.
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, srv, 10, |t| {
            receive_pulse(t, chid);
            t.priority()
        });
        wait_receive_blocked(&k, srv.pid, tid);
        server.msg_send_pulse(coid, 3, 2, 0).unwrap();
        assert_eq!(h.join(), Ok((10, 3)));
    });
}

#[test]
fn pulse_priority_minus_one_is_the_callers_priority() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let c = k.thread_attach(cli, 17).unwrap();
    let coid = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    c.msg_send_pulse(coid, PULSE_PRIO_CALLER, 1, 0).unwrap();
    c.set_priority(90).unwrap();
    c.msg_send_pulse(coid, -1, 2, 0).unwrap();
    // The priority-90 pulse is ahead of the priority-17 one.
    let p = receive_pulse(&server, chid);
    assert_eq!((p.code, server.priority().unwrap()), (2, (10, 90)));
    let p = receive_pulse(&server, chid);
    assert_eq!((p.code, server.priority().unwrap()), (1, (10, 17)));
}

#[test]
fn set_priority_returns_the_previous_priority_and_sets_the_send_priority() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, srv, 10, |t| {
            assert_eq!(t.set_priority(20), Ok(10));
            assert_eq!(t.priority(), Ok((20, 20)));
            assert_eq!(t.set_priority(255), Ok(20));
            assert_eq!(t.set_priority(1), Ok(255));
            assert_eq!(t.set_priority(63), Ok(1));
            let mut r = [0u8; 0];
            send(t, coid, b"x", &mut r)
        });
        let mut buf = [0u8; 4];
        let mut info = MsgInfo::default();
        let rcvid = receive(&server, chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(info.priority, 63);
        server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), Ok(0));
    });
}

#[test]
fn queued_client_boosts_busy_server_threads_whose_last_receive_was_on_the_channel() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let elsewhere = k.thread_attach(srv, 10).unwrap();
    let never = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let chid2 = server.channel_create(0).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let coid = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    // `elsewhere` last received on chid2.
    let mut buf = [0u8; 32];
    assert_eq!(
        poll(&elsewhere, chid2, &mut buf, None),
        Err(Errno::ETIMEDOUT)
    );
    thread::scope(|s| {
        // The server takes a message at its own priority and stays busy with it (RUNNING,
        // holding the rcvid), so nobody is RECEIVE-blocked on the channel.
        let (a, _) = spawn_scoped(s, &k, cli, 10, |t| {
            let mut r = [0u8; 0];
            send(t, coid, b"a", &mut r)
        });
        let rcvid_a = receive(&server, chid, &mut buf, None).unwrap();
        assert_eq!(prio_of(&k, srv.pid, server.tid()), (10, 10));
        // A priority-30 client queues: the busy server thread is boosted to 30.
        let (b, btid) = spawn_scoped(s, &k, cli, 30, |t| {
            let mut r = [0u8; 0];
            send(t, coid, b"b", &mut r)
        });
        wait_send_blocked(&k, cli.pid, btid);
        assert_eq!(prio_of(&k, srv.pid, server.tid()), (10, 30));
        assert_eq!(server.priority(), Ok((10, 30)));
        // Threads whose last receive was elsewhere, or that never received, are not.
        assert_eq!(prio_of(&k, srv.pid, elsewhere.tid()), (10, 10));
        assert_eq!(prio_of(&k, srv.pid, never.tid()), (10, 10));
        // A queued pulse boosts too.
        c.msg_send_pulse(coid, 40, 1, 0).unwrap();
        assert_eq!(prio_of(&k, srv.pid, server.tid()), (10, 40));
        // A lower one does not lower it.
        c.msg_send_pulse(coid, 20, 2, 0).unwrap();
        assert_eq!(prio_of(&k, srv.pid, server.tid()), (10, 40));
        server.msg_reply(rcvid_a, 0, b"").unwrap();
        // Receiving sets the priority to what is received, in queue order.
        let p = receive_pulse(&server, chid);
        assert_eq!((p.code, server.priority().unwrap()), (1, (10, 40)));
        let rcvid_b = receive(&server, chid, &mut buf, None).unwrap();
        assert_eq!(server.priority(), Ok((10, 30)));
        server.msg_reply(rcvid_b, 0, b"").unwrap();
        let p = receive_pulse(&server, chid);
        assert_eq!((p.code, server.priority().unwrap()), (2, (10, 20)));
        assert_eq!(a.join(), Ok(0));
        assert_eq!(b.join(), Ok(0));
    });
    c.connect_detach(coid).unwrap();
    drop((server, elsewhere, never, c));
    teardown(&k, &[srv, cli], start);
}

#[test]
fn server_thread_blocked_elsewhere_is_boosted_too() {
    // The server thread's last receive was on the channel; it is now REPLY-blocked on another
    // server. A client queuing on its channel raises it all the same.
    let k = kernel();
    let srv = k.process_create().unwrap();
    let other = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let o = k.thread_attach(other, 10).unwrap();
    let ochid = o.channel_create(0).unwrap();
    let mid = k.thread_attach(srv, 10).unwrap();
    let chid = mid.channel_create(0).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let coid = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    drop(mid);
    thread::scope(|s| {
        let (m, mtid) = spawn_scoped(s, &k, srv, 10, |t| {
            // Receive (and answer) one pulse on our channel, then call the other server.
            receive_pulse(t, chid);
            let ocoid = t
                .connect_attach(0, other.pid, ochid, _NTO_SIDE_CHANNEL, 0)
                .unwrap();
            let mut r = [0u8; 0];
            let st = send(t, ocoid, b"nested", &mut r);
            let mut buf = [0u8; 8];
            let rcvid = receive(t, chid, &mut buf, None).unwrap();
            t.msg_reply(rcvid, 0, b"").unwrap();
            st
        });
        c.msg_send_pulse(coid, 10, 1, 0).unwrap();
        let mut buf = [0u8; 8];
        let orcvid = receive(&o, ochid, &mut buf, None).unwrap();
        wait_reply_blocked(&k, srv.pid, mtid);
        assert_eq!(prio_of(&k, srv.pid, mtid), (10, 10));
        let (h, htid) = spawn_scoped(s, &k, cli, 66, |t| {
            let mut r = [0u8; 0];
            send(t, coid, b"hurry", &mut r)
        });
        wait_send_blocked(&k, cli.pid, htid);
        assert_eq!(prio_of(&k, srv.pid, mtid), (10, 66));
        o.msg_reply(orcvid, 0, b"").unwrap();
        assert_eq!(m.join(), Ok(0));
        assert_eq!(h.join(), Ok(0));
    });
}

#[test]
fn fixed_priority_channel_disables_server_boost() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(_NTO_CHF_FIXED_PRIORITY).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let coid = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let mut buf = [0u8; 32];
    // Last receive on the channel.
    assert_eq!(poll(&server, chid, &mut buf, None), Err(Errno::ETIMEDOUT));
    c.msg_send_pulse(coid, 80, 1, 0).unwrap();
    assert_eq!(prio_of(&k, srv.pid, server.tid()), (10, 10));
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, cli, 70, |t| {
            let mut r = [0u8; 0];
            send(t, coid, b"x", &mut r)
        });
        wait_send_blocked(&k, cli.pid, tid);
        assert_eq!(prio_of(&k, srv.pid, server.tid()), (10, 10));
        receive_pulse(&server, chid);
        let rcvid = receive(&server, chid, &mut buf, None).unwrap();
        assert_eq!(server.priority(), Ok((10, 10)));
        server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), Ok(0));
    });
}

#[test]
fn inherited_priority_carries_into_a_nested_send() {
    let k = kernel();
    let front = k.process_create().unwrap();
    let back = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let b = k.thread_attach(back, 10).unwrap();
    let bchid = b.channel_create(0).unwrap();
    let f = k.thread_attach(front, 10).unwrap();
    let fchid = f.channel_create(0).unwrap();
    let bcoid = f
        .connect_attach(0, back.pid, bchid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, cli, 45, |t| {
            let coid = t
                .connect_attach(0, front.pid, fchid, _NTO_SIDE_CHANNEL, 0)
                .unwrap();
            let mut r = [0u8; 0];
            send(t, coid, b"outer", &mut r)
        });
        let (fw, _) = spawn_scoped(s, &k, front, 10, |t| {
            let mut buf = [0u8; 8];
            let rcvid = receive(t, fchid, &mut buf, None).unwrap();
            let inherited = t.priority().unwrap();
            let mut r = [0u8; 0];
            let st = send(t, bcoid, b"inner", &mut r);
            t.msg_reply(rcvid, 0, b"").unwrap();
            (inherited, st)
        });
        let mut buf = [0u8; 8];
        let mut info = MsgInfo::default();
        let rcvid = receive(&b, bchid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(info.priority, 45);
        assert_eq!(b.priority(), Ok((10, 45)));
        b.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(fw.join(), ((10, 45), Ok(0)));
        assert_eq!(h.join(), Ok(0));
    });
    drop(f);
}
