//! Send / Receive / Reply / Error conformance, thread states, and kernel timeouts
//! (QNX: MsgSend, MsgReceive, MsgReply, MsgError, TimerTimeout; the thread states).

mod support;

use std::thread;
use std::time::Duration;
use support::*;

#[test]
fn message_rcvid_is_positive_and_pulse_rcvid_is_zero() {
    let p = world(0);
    p.client.msg_send_pulse(p.coid, 10, 7, 70).unwrap();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0u8; 4];
            send(t, p.coid, b"msg", &mut r)
        });
        let mut buf = [0u8; 32];
        // The pulse was queued first (same priority): rcvid 0.
        assert_eq!(receive(&p.server, p.chid, &mut buf, None), Ok(0));
        let pulse = Pulse::from_bytes(&buf).unwrap();
        assert_eq!((pulse.code, pulse.value_int()), (7, 70));
        let rcvid = receive(&p.server, p.chid, &mut buf, None).unwrap();
        assert!(rcvid > 0, "message rcvid {rcvid} must be > 0");
        assert_eq!(&buf[..3], b"msg");
        // A reply to the pulse's rcvid 0 is ESRCH; the real rcvid works.
        assert_eq!(p.server.msg_reply(0, 1, b""), Err(Errno::ESRCH));
        assert_eq!(p.server.msg_reply(rcvid, 1, b""), Ok(()));
        assert_eq!(h.join(), Ok(1));
    });
    p.detach_and_finish();
}

#[test]
fn sender_finding_receive_blocked_server_goes_straight_to_reply_blocked() {
    let p = world(0);
    let mut r = [0u8; 4];
    // With nobody receiving, a send that may not SEND-block fails at once...
    arm(&p.client, _NTO_TIMEOUT_SEND, None);
    assert_eq!(
        p.client.msg_send(p.coid, b"x", &mut r),
        Err(Errno::ETIMEDOUT)
    );
    let mut buf = [0u8; 8];
    assert_eq!(
        poll(&p.server, p.chid, &mut buf, None),
        Err(Errno::ETIMEDOUT)
    );
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &p.k, p.srv, 10, |t| {
            let mut b = [0u8; 8];
            let rcvid = receive(t, p.chid, &mut b, None)?;
            t.msg_reply(rcvid, 5, &b[..2])?;
            Ok::<_, Errno>(b)
        });
        wait_receive_blocked(&p.k, p.srv.pid, tid);
        // ...but with a server RECEIVE-blocked it never SEND-blocks: the message is handed over
        // at once and the immediate SEND timeout does not apply to the REPLY-blocked state.
        arm(&p.client, _NTO_TIMEOUT_SEND, None);
        assert_eq!(p.client.msg_send(p.coid, b"ok", &mut r), Ok(5));
        assert_eq!(&r[..2], b"ok");
        assert_eq!(&h.join().unwrap()[..2], b"ok");
    });
    p.detach_and_finish();
}

#[test]
fn thread_states_name_whom_a_thread_waits_on() {
    let p = world(0);
    thread::scope(|s| {
        // RECEIVE-blocked names its chid.
        let (h, rtid) = spawn_scoped(s, &p.k, p.srv, 10, |t| {
            let mut b = [0u8; 32];
            receive(t, p.chid, &mut b, None)
        });
        let st = wait_receive_blocked(&p.k, p.srv.pid, rtid);
        assert_eq!(st.state, ThreadState::Receive { chid: p.chid });
        assert_eq!(st.state.qnx_state(), STATE_RECEIVE);
        p.client.msg_send_pulse(p.coid, 10, 1, 0).unwrap();
        assert_eq!(h.join(), Ok(0));

        // SEND-blocked names the server pid and chid.
        let (h, ctid) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0u8; 8];
            let st = send(t, p.coid, b"hello", &mut r);
            (st, r)
        });
        let st = wait_send_blocked(&p.k, p.cli.pid, ctid);
        assert_eq!(
            st.state,
            ThreadState::Send {
                pid: p.srv.pid,
                chid: p.chid
            }
        );
        assert_eq!(st.state.qnx_state(), STATE_SEND);
        // Received: REPLY-blocked, naming the server pid, chid and the receiving thread.
        let mut buf = [0u8; 8];
        let rcvid = receive(&p.server, p.chid, &mut buf, None).unwrap();
        let st = p.k.thread_info(p.cli.pid, ctid).unwrap();
        assert_eq!(
            st.state,
            ThreadState::Reply {
                pid: p.srv.pid,
                chid: p.chid,
                tid: p.server.tid()
            }
        );
        assert_eq!(st.state.qnx_state(), STATE_REPLY);
        // The server thread itself is running while it holds the rcvid.
        assert_eq!(
            p.k.thread_info(p.srv.pid, p.server.tid()).unwrap().state,
            ThreadState::Running
        );
        p.server.msg_reply(rcvid, 0, b"bye").unwrap();
        let (st, r) = h.join();
        assert_eq!(st, Ok(0));
        assert_eq!(&r[..3], b"bye");
    });
    // The client thread that remains is running.
    assert_eq!(
        p.k.thread_info(p.cli.pid, p.client.tid()).unwrap().state,
        ThreadState::Running
    );
    p.detach_and_finish();
}

#[test]
fn thread_returns_to_running_after_its_exchange() {
    let p = world(0);
    thread::scope(|s| {
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let (h, tid) = spawn_scoped(s, &p.k, p.cli, 10, move |t| {
            let mut r = [0u8; 4];
            let st = send(t, p.coid, b"1", &mut r);
            done_tx.send(()).unwrap();
            // Stay registered until the main thread has looked at our state.
            go_rx.recv_timeout(DEADLINE).unwrap();
            st
        });
        let mut buf = [0u8; 4];
        let rcvid = receive(&p.server, p.chid, &mut buf, None).unwrap();
        p.server.msg_reply(rcvid, 9, b"").unwrap();
        done_rx.recv_timeout(DEADLINE).unwrap();
        assert_eq!(
            p.k.thread_info(p.cli.pid, tid).unwrap().state,
            ThreadState::Running
        );
        go_tx.send(()).unwrap();
        assert_eq!(h.join(), Ok(9));
    });
    p.detach_and_finish();
}

#[test]
fn reply_status_becomes_the_msg_send_return_value() {
    let p = world(0);
    let statuses = [0i64, 1, 42, 0x7fff_ffff, 0x1_0000_0000, i64::MAX];
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0u8; 4];
            (0..statuses.len())
                .map(|_| send(t, p.coid, b"?", &mut r))
                .collect::<Vec<_>>()
        });
        let mut buf = [0u8; 4];
        for &st in &statuses {
            let rcvid = receive(&p.server, p.chid, &mut buf, None).unwrap();
            p.server.msg_reply(rcvid, st, b"").unwrap();
        }
        let got = h.join();
        let want: Vec<KResult<i64>> = statuses.iter().map(|&s| Ok(s)).collect();
        assert_eq!(got, want);
    });
    p.detach_and_finish();
}

#[test]
fn msg_error_eok_makes_msg_send_return_zero() {
    let p = world(0);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0xAAu8; 4];
            let st = send(t, p.coid, b"?", &mut r);
            (st, r)
        });
        let mut buf = [0u8; 4];
        let rcvid = receive(&p.server, p.chid, &mut buf, None).unwrap();
        assert_eq!(p.server.msg_error(rcvid, Errno::EOK), Ok(()));
        // No data is transferred.
        assert_eq!(h.join(), (Ok(0), [0xAA; 4]));
        assert_eq!(p.server.msg_error(rcvid, Errno::EOK), Err(Errno::ESRCH));
    });
    p.detach_and_finish();
}

#[test]
fn msg_error_makes_msg_send_fail_with_that_errno() {
    let p = world(0);
    let errs = [Errno::EINVAL, Errno::ENOSYS, Errno::EINTR, Errno(1234)];
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0u8; 4];
            (0..errs.len())
                .map(|_| send(t, p.coid, b"?", &mut r))
                .collect::<Vec<_>>()
        });
        let mut buf = [0u8; 4];
        for &e in &errs {
            let rcvid = receive(&p.server, p.chid, &mut buf, None).unwrap();
            p.server.msg_error(rcvid, e).unwrap();
        }
        let want: Vec<KResult<i64>> = errs.iter().map(|&e| Err(e)).collect();
        assert_eq!(h.join(), want);
    });
    p.detach_and_finish();
}

#[test]
fn msg_error_erestart_makes_the_client_resend_its_message() {
    let p = world(0);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0u8; 8];
            let st = send(t, p.coid, b"again!", &mut r);
            (st, r)
        });
        let mut buf = [0u8; 16];
        let mut info1 = MsgInfo::default();
        let first = receive(&p.server, p.chid, &mut buf, Some(&mut info1)).unwrap();
        assert_eq!(&buf[..6], b"again!");
        buf = [0u8; 16];
        p.server.msg_error(first, Errno::ERESTART).unwrap();
        // The client re-issues the same send: the server receives the same message again.
        let mut info2 = MsgInfo::default();
        let second = receive(&p.server, p.chid, &mut buf, Some(&mut info2)).unwrap();
        assert_eq!(&buf[..6], b"again!");
        assert_eq!((info2.pid, info2.tid, info2.coid), (p.cli.pid, tid, p.coid));
        assert_eq!((info2.msglen, info2.srcmsglen), (6, 6));
        // The first rcvid is spent.
        assert_eq!(p.server.msg_reply(first, 1, b"no"), Err(Errno::ESRCH));
        p.server.msg_reply(second, 2, b"done").unwrap();
        let (st, r) = h.join();
        assert_eq!(st, Ok(2));
        assert_eq!(&r[..4], b"done");
    });
    p.detach_and_finish();
}

#[test]
fn send_copies_the_smaller_of_message_and_receive_buffer() {
    let p = world(0);
    let msg: Vec<u8> = (0..100u8).collect();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0u8; 4];
            (
                send(t, p.coid, &msg, &mut r),
                send(t, p.coid, &msg[..10], &mut r),
            )
        });
        // A receive buffer smaller than the message: 40 bytes arrive, the rest untouched.
        let mut buf = [0xEEu8; 48];
        let mut info = MsgInfo::default();
        let rcvid = receive(&p.server, p.chid, &mut buf[..40], Some(&mut info)).unwrap();
        assert_eq!(&buf[..40], &msg[..40]);
        assert_eq!(&buf[40..], &[0xEE; 8]);
        assert_eq!((info.msglen, info.srcmsglen), (40, 100));
        p.server.msg_reply(rcvid, 0, b"").unwrap();
        // A receive buffer larger than the message: 10 bytes arrive, the rest untouched.
        let mut buf = [0xEEu8; 48];
        let rcvid = receive(&p.server, p.chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(&buf[..10], &msg[..10]);
        assert_eq!(&buf[10..], &[0xEE; 38]);
        assert_eq!((info.msglen, info.srcmsglen), (10, 10));
        p.server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), (Ok(0), Ok(0)));
    });
    p.detach_and_finish();
}

#[test]
fn reply_copies_the_smaller_of_reply_and_client_buffer() {
    let p = world(0);
    let reply: Vec<u8> = (0..64u8).map(|b| b ^ 0x55).collect();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut small = [0xEEu8; 24];
            let a = send(t, p.coid, b"small", &mut small[..16]);
            let mut big = [0xEEu8; 128];
            let b = send(t, p.coid, b"big", &mut big);
            (a, small, b, big)
        });
        let mut buf = [0u8; 8];
        let rcvid = receive(&p.server, p.chid, &mut buf, None).unwrap();
        p.server.msg_reply(rcvid, 16, &reply).unwrap();
        let rcvid = receive(&p.server, p.chid, &mut buf, None).unwrap();
        p.server.msg_reply(rcvid, 64, &reply).unwrap();
        let (a, small, b, big) = h.join();
        assert_eq!(a, Ok(16));
        assert_eq!(&small[..16], &reply[..16]);
        assert_eq!(&small[16..], &[0xEE; 8]);
        assert_eq!(b, Ok(64));
        assert_eq!(&big[..64], &reply[..]);
        assert_eq!(&big[64..], &[0xEE; 64][..]);
    });
    p.detach_and_finish();
}

#[test]
fn sendv_gathers_receivev_scatters_and_replyv_gathers() {
    let p = world(0);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let (mut r1, mut r2, mut r3) = ([0u8; 3], [0u8; 0], [0u8; 5]);
            arm(t, SEND_REPLY, Some(LONG));
            let st = t.msg_sendv(
                p.coid,
                &[b"ab", b"", b"cdef", b"g"],
                &mut [&mut r1[..], &mut r2[..], &mut r3[..]],
            );
            (st, r1, r3)
        });
        let (mut a, mut b, mut c) = ([0u8; 4], [0u8; 1], [0u8; 8]);
        let mut info = MsgInfo::default();
        arm(&p.server, _NTO_TIMEOUT_RECEIVE, Some(LONG));
        let rcvid = p
            .server
            .msg_receivev(
                p.chid,
                &mut [&mut a[..], &mut b[..], &mut c[..]],
                Some(&mut info),
            )
            .unwrap();
        assert_eq!(&a, b"abcd");
        assert_eq!(&b, b"e");
        assert_eq!(&c[..2], b"fg");
        assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (7, 7, 8));
        p.server
            .msg_replyv(rcvid, 8, &[b"12", b"345", b"678", b"9"])
            .unwrap();
        let (st, r1, r3) = h.join();
        assert_eq!(st, Ok(8));
        assert_eq!(&r1, b"123");
        assert_eq!(&r3, b"45678");
    });
    p.detach_and_finish();
}

#[test]
fn zero_length_send_and_reply() {
    let p = world(0);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0xEEu8; 4];
            let st = send(t, p.coid, b"", &mut r);
            (st, r)
        });
        let mut buf = [0xEEu8; 8];
        let mut info = MsgInfo::default();
        let rcvid = receive(&p.server, p.chid, &mut buf, Some(&mut info)).unwrap();
        assert!(rcvid > 0);
        assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (0, 0, 4));
        assert_eq!(buf, [0xEE; 8]);
        p.server.msg_reply(rcvid, 3, b"").unwrap();
        assert_eq!(h.join(), (Ok(3), [0xEE; 4]));
    });
    p.detach_and_finish();
}

#[test]
fn any_server_thread_of_the_process_may_reply() {
    let p = world(0);
    let other = p.k.thread_attach(p.srv, 10).unwrap();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0u8; 5];
            let st = send(t, p.coid, b"hi", &mut r);
            (st, r)
        });
        let mut buf = [0u8; 4];
        let rcvid = receive(&p.server, p.chid, &mut buf, None).unwrap();
        let mut b2 = [0u8; 2];
        assert_eq!(other.msg_read(rcvid, &mut b2, 0), Ok(2));
        assert_eq!(other.msg_reply(rcvid, 4, b"other"), Ok(()));
        assert_eq!(h.join(), (Ok(4), *b"other"));
    });
    drop(other);
    p.detach_and_finish();
}

#[test]
fn reply_from_another_process_is_esrch() {
    let p = world(0);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0u8; 4];
            send(t, p.coid, b"hi", &mut r)
        });
        let mut buf = [0u8; 4];
        let rcvid = receive(&p.server, p.chid, &mut buf, None).unwrap();
        // The client's own process (and its other threads) cannot answer it.
        assert_eq!(p.client.msg_reply(rcvid, 1, b""), Err(Errno::ESRCH));
        assert_eq!(p.client.msg_error(rcvid, Errno::EOK), Err(Errno::ESRCH));
        assert_eq!(p.client.msg_read(rcvid, &mut buf, 0), Err(Errno::ESRCH));
        assert_eq!(p.client.msg_write(rcvid, b"x", 0), Err(Errno::ESRCH));
        assert_eq!(p.client.msg_info(rcvid), Err(Errno::ESRCH));
        wait_reply_blocked(&p.k, p.cli.pid, tid);
        p.server.msg_reply(rcvid, 2, b"").unwrap();
        assert_eq!(h.join(), Ok(2));
    });
    p.detach_and_finish();
}

#[test]
fn reply_after_the_receiving_thread_exits_still_reaches_the_client() {
    let p = world(0);
    thread::scope(|s| {
        let (client, ctid) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0u8; 4];
            let st = send(t, p.coid, b"hey", &mut r);
            (st, r)
        });
        let (srv, _) = spawn_scoped(s, &p.k, p.srv, 10, |t| {
            let mut b = [0u8; 4];
            receive(t, p.chid, &mut b, None)
        });
        // The receiving thread exits without replying (its ThreadCtx is dropped)...
        let rcvid = srv.join().unwrap();
        // ...the client stays REPLY-blocked on the process's channel...
        wait_reply_blocked(&p.k, p.cli.pid, ctid);
        // ...and another thread of the server process answers.
        p.server.msg_reply(rcvid, 6, b"late").unwrap();
        assert_eq!(client.join(), (Ok(6), *b"late"));
    });
    p.detach_and_finish();
}

#[test]
fn newest_receive_blocked_thread_gets_the_next_message() {
    let p = world(0);
    thread::scope(|s| {
        let (first, t1) = spawn_scoped(s, &p.k, p.srv, 10, |t| {
            let mut b = [0u8; 8];
            let r = receive(t, p.chid, &mut b, None);
            if let Ok(rcvid) = r {
                t.msg_reply(rcvid, 1, b"").unwrap();
            }
            r
        });
        wait_receive_blocked(&p.k, p.srv.pid, t1);
        let (second, t2) = spawn_scoped(s, &p.k, p.srv, 10, |t| {
            let mut b = [0u8; 8];
            let r = receive(t, p.chid, &mut b, None);
            if let Ok(rcvid) = r {
                t.msg_reply(rcvid, 2, b"").unwrap();
            }
            r
        });
        wait_receive_blocked(&p.k, p.srv.pid, t2);
        let mut r = [0u8; 1];
        // QNX 6.4 keeps RECEIVE-blocked threads as a stack: the newest waiter answers.
        assert_eq!(send(&p.client, p.coid, b"a", &mut r), Ok(2));
        assert_eq!(send(&p.client, p.coid, b"b", &mut r), Ok(1));
        assert!(first.join().unwrap() > 0);
        assert!(second.join().unwrap() > 0);
    });
    p.detach_and_finish();
}

// ------------------------------------------------------------------ TimerTimeout

#[test]
fn receive_with_null_ntime_and_nothing_queued_times_out_at_once() {
    let p = world(0);
    let mut buf = [0u8; 32];
    arm(&p.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        p.server.msg_receive(p.chid, &mut buf, None),
        Err(Errno::ETIMEDOUT)
    );
    // The thread is not left RECEIVE-blocked.
    assert_eq!(
        p.k.thread_info(p.srv.pid, p.server.tid()).unwrap().state,
        ThreadState::Running
    );
    // A poll with something queued takes it.
    p.client.msg_send_pulse(p.coid, 10, 3, 33).unwrap();
    arm(&p.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(p.server.msg_receive(p.chid, &mut buf, None), Ok(0));
    assert_eq!(Pulse::from_bytes(&buf).unwrap().value_int(), 33);
    // The poll also served as a MsgReceivePulse poll.
    arm(&p.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        p.server.msg_receive_pulse(p.chid, &mut buf),
        Err(Errno::ETIMEDOUT)
    );
    p.detach_and_finish();
}

#[test]
fn send_blocked_client_times_out_and_leaves_the_queue() {
    let p = world(0);
    let mut r = [0u8; 4];
    arm(&p.client, SEND_REPLY, Some(SHORT));
    assert_eq!(
        p.client.msg_send(p.coid, b"late", &mut r),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(
        p.k.thread_info(p.cli.pid, p.client.tid()).unwrap().state,
        ThreadState::Running
    );
    let snap = p.k.snapshot();
    let ch = snap
        .channels
        .iter()
        .find(|c| c.pid == p.srv.pid && c.chid == p.chid)
        .unwrap();
    assert_eq!((ch.queued, ch.receivers), (0, 0));
    let mut buf = [0u8; 8];
    assert_eq!(
        poll(&p.server, p.chid, &mut buf, None),
        Err(Errno::ETIMEDOUT)
    );
    p.detach_and_finish();
}

#[test]
fn reply_blocked_client_without_unblock_flag_times_out_and_a_later_reply_is_esrch() {
    let p = world(0);
    thread::scope(|s| {
        let (h, _) = p.spawn_sender_when_receiving::<4>(s, 10, SHORT, b"wait");
        let mut buf = [0u8; 8];
        let rcvid = p.receive_or_release(&mut buf, None);
        // The client gives up while REPLY-blocked.
        assert_eq!(h.join().0, Err(Errno::ETIMEDOUT));
        assert_eq!(p.server.msg_reply(rcvid, 0, b"late"), Err(Errno::ESRCH));
        assert_eq!(p.server.msg_read(rcvid, &mut buf, 0), Err(Errno::ESRCH));
        assert_eq!(p.server.msg_info(rcvid), Err(Errno::ESRCH));
        // No unblock pulse either.
        assert_eq!(
            poll(&p.server, p.chid, &mut buf, None),
            Err(Errno::ETIMEDOUT)
        );
    });
    p.detach_and_finish();
}

#[test]

fn reply_timeout_bounds_a_client_that_was_send_blocked_first() {
    // TimerTimeout: the timeout is active in every state named in the flags. A client that arms
    // _NTO_TIMEOUT_REPLY alone, SEND-blocks (no receiver yet) and is then received must leave
    // its REPLY-blocked state with ETIMEDOUT. The kernel arms the deadline only when the call
    // first blocks, in a state the flags name; SEND is not named, so no deadline is set and the
    // SEND->REPLY transition does not set one either: the client stays REPLY-blocked forever.
    let p = world(0);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            let mut r = [0u8; 4];
            arm(t, _NTO_TIMEOUT_REPLY, Some(SHORT));
            t.msg_send(p.coid, b"x", &mut r)
        });
        wait_send_blocked(&p.k, p.cli.pid, tid);
        let mut buf = [0u8; 4];
        let rcvid = p.receive_or_release(&mut buf, None);
        let left = eventually(|| {
            let st = p.k.thread_info(p.cli.pid, tid).map(|i| i.state);
            !matches!(st, Ok(ThreadState::Reply { .. }))
        });
        if !left {
            // Release the client so the test fails instead of hanging.
            p.server.msg_reply(rcvid, 0, b"").unwrap();
        }
        assert!(left, "the REPLY-blocked client never timed out");
        assert_eq!(h.join(), Err(Errno::ETIMEDOUT));
        assert_eq!(p.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    });
    p.detach_and_finish();
}

#[test]
fn reply_blocked_client_on_unblock_channel_stays_blocked_and_server_gets_an_unblock_pulse() {
    let p = world(_NTO_CHF_UNBLOCK);
    thread::scope(|s| {
        let _guard = ReleaseOnPanic {
            owner: &p.server,
            chid: p.chid,
        };
        let (h, tid) = p.spawn_sender_when_receiving::<8>(s, 33, SHORT, b"unblock me");
        let mut buf = [0u8; 16];
        let mut info = MsgInfo::default();
        let rcvid = p.receive_or_release(&mut buf, Some(&mut info));
        assert_eq!(info.flags, 0);
        // Back to our own priority, to see the unblock pulse's.
        p.server.set_priority(10).unwrap();
        // The timeout fires: the kernel queues _PULSE_CODE_UNBLOCK carrying the rcvid, at the
        // client's priority.
        let pulse = receive_pulse(&p.server, p.chid);
        assert_eq!(p.server.priority(), Ok((10, 33)));
        assert_eq!(pulse.code, _PULSE_CODE_UNBLOCK);
        assert_eq!(pulse.code, -32);
        assert_eq!(pulse.value_long(), rcvid);
        assert_eq!(pulse.scoid, info.scoid);
        // The client is still REPLY-blocked, and MsgInfo shows the unblock request.
        let st = p.k.thread_info(p.cli.pid, tid).unwrap();
        assert_eq!(
            st.state,
            ThreadState::Reply {
                pid: p.srv.pid,
                chid: p.chid,
                tid: p.server.tid()
            }
        );
        let mi = p.server.msg_info(rcvid).unwrap();
        assert_eq!(mi.flags & _NTO_MI_UNBLOCK_REQ, 0x100);
        assert_eq!((mi.pid, mi.tid), (p.cli.pid, tid));
        // The server decides: the client gets the later reply.
        p.server.msg_reply(rcvid, 77, b"answer").unwrap();
        let (st, r) = h.join();
        assert_eq!(st, Ok(77));
        assert_eq!(&r[..6], b"answer");
        // Only one unblock pulse was queued.
        assert_eq!(
            poll(&p.server, p.chid, &mut buf, None),
            Err(Errno::ETIMEDOUT)
        );
    });
    p.detach_and_finish();
}

#[test]
fn reply_removes_a_still_queued_unblock_pulse() {
    let p = world(_NTO_CHF_UNBLOCK);
    thread::scope(|s| {
        let _guard = ReleaseOnPanic {
            owner: &p.server,
            chid: p.chid,
        };
        let (h, _) = p.spawn_sender_when_receiving::<8>(s, 10, SHORT, b"x");
        let mut buf = [0u8; 16];
        let rcvid = p.receive_or_release(&mut buf, None);
        // Wait for the unblock request to be queued, without receiving it.
        wait_until("an unblock pulse", || p.k.pool_usage().pulses.live > 0);
        assert_eq!(
            p.server.msg_info(rcvid).unwrap().flags & _NTO_MI_UNBLOCK_REQ,
            _NTO_MI_UNBLOCK_REQ
        );
        p.server.msg_error(rcvid, Errno::EINTR).unwrap();
        assert_eq!(h.join().0, Err(Errno::EINTR));
        assert_eq!(p.k.pool_usage().pulses.live, 0);
        assert_eq!(
            poll(&p.server, p.chid, &mut buf, None),
            Err(Errno::ETIMEDOUT)
        );
    });
    p.detach_and_finish();
}

#[test]
fn send_blocked_client_on_unblock_channel_leaves_at_once_without_a_pulse() {
    let p = world(_NTO_CHF_UNBLOCK);
    let mut r = [0u8; 4];
    arm(&p.client, SEND_REPLY, Some(SHORT));
    assert_eq!(
        p.client.msg_send(p.coid, b"x", &mut r),
        Err(Errno::ETIMEDOUT)
    );
    let mut buf = [0u8; 32];
    assert_eq!(
        poll(&p.server, p.chid, &mut buf, None),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(p.k.pool_usage().pulses.live, 0);
    p.detach_and_finish();
}

#[test]
fn timer_timeout_is_one_shot() {
    let p = world(0);
    let mut buf = [0u8; 32];
    arm(&p.server, _NTO_TIMEOUT_RECEIVE, Some(SHORT));
    assert_eq!(
        p.server.msg_receive(p.chid, &mut buf, None),
        Err(Errno::ETIMEDOUT)
    );
    let server = p.server_peer();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            // Longer than the earlier timeout: an unbounded receive still gets the pulse.
            pulse_when_receive_blocked(t, &p.k, server, Duration::from_nanos(SHORT * 4), p.coid, 11)
        });
        // Not re-armed: this receive is unbounded and completes when the pulse comes.
        assert_eq!(p.server.msg_receive(p.chid, &mut buf, None), Ok(0));
        assert_eq!(Pulse::from_bytes(&buf).unwrap().value_int(), 11);
        assert_eq!(h.join(), Ok(()));
    });
    p.detach_and_finish();
}

#[test]
fn timer_timeout_is_spent_by_the_next_kernel_call_even_one_that_does_not_block() {
    let p = world(0);
    let mut buf = [0u8; 32];
    arm(&p.server, _NTO_TIMEOUT_RECEIVE, Some(SHORT));
    // A kernel call that does not block takes the armed timeout with it.
    let chid2 = p.server.channel_create(0).unwrap();
    let server = p.server_peer();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            pulse_when_receive_blocked(t, &p.k, server, Duration::from_nanos(SHORT * 4), p.coid, 12)
        });
        assert_eq!(p.server.msg_receive(p.chid, &mut buf, None), Ok(0));
        assert_eq!(Pulse::from_bytes(&buf).unwrap().value_int(), 12);
        assert_eq!(h.join(), Ok(()));
    });
    p.server.channel_destroy(chid2).unwrap();
    p.detach_and_finish();
}

#[test]
fn timeout_for_other_states_does_not_bound_the_call() {
    let p = world(0);
    let mut buf = [0u8; 32];
    // An immediate timeout for SEND and REPLY does not apply to a RECEIVE.
    arm(&p.server, SEND_REPLY, None);
    let server = p.server_peer();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &p.k, p.cli, 10, |t| {
            pulse_when_receive_blocked(t, &p.k, server, Duration::from_nanos(SHORT), p.coid, 13)
        });
        assert_eq!(p.server.msg_receive(p.chid, &mut buf, None), Ok(0));
        assert_eq!(Pulse::from_bytes(&buf).unwrap().value_int(), 13);
        assert_eq!(h.join(), Ok(()));
    });
    p.detach_and_finish();
}

#[test]
fn absolute_timeouts_expire_at_the_given_time() {
    let p = world(0);
    let mut buf = [0u8; 32];
    // Already past: immediate.
    p.server
        .timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME,
            Some(1),
        )
        .unwrap();
    assert_eq!(
        p.server.msg_receive(p.chid, &mut buf, None),
        Err(Errno::ETIMEDOUT)
    );
    // In the near future, on either clock.
    for clock in [CLOCK_MONOTONIC, CLOCK_REALTIME] {
        let at = now_ns(clock) + SHORT;
        p.server
            .timer_timeout(clock, _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, Some(at))
            .unwrap();
        assert_eq!(
            p.server.msg_receive(p.chid, &mut buf, None),
            Err(Errno::ETIMEDOUT)
        );
    }
    p.detach_and_finish();
}

#[test]
fn relative_timeout_on_the_realtime_clock_expires() {
    let p = world(0);
    let mut buf = [0u8; 32];
    p.server
        .timer_timeout(CLOCK_REALTIME, _NTO_TIMEOUT_RECEIVE, Some(SHORT))
        .unwrap();
    assert_eq!(
        p.server.msg_receive(p.chid, &mut buf, None),
        Err(Errno::ETIMEDOUT)
    );
    p.detach_and_finish();
}

#[test]
fn timer_timeout_with_an_unknown_clock_is_einval() {
    let p = world(0);
    for clock in [99, -1, 2, 3] {
        assert_eq!(
            p.server
                .timer_timeout(clock, _NTO_TIMEOUT_RECEIVE, Some(SHORT)),
            Err(Errno::EINVAL),
            "clock {clock}"
        );
    }
    p.detach_and_finish();
}
