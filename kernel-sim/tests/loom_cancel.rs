#![cfg(loom)]
//! loom models of a thread cancellation (`ThreadCancel`, a C program's `pthread_cancel`)
//! racing the call it is meant to end (`kernel_sim::cancel`).
//!
//! * A thread receives inside a cancellation point while another thread of its process
//!   cancels it: whether the cancellation comes before the receive blocks (it is marked, and
//!   the receive ends as it blocks) or after (the receive is ended), the receive always ends
//!   with ECANCELED: never a hang, never a lost cancellation.
//! * A client sends inside a cancellation point while another thread of its process cancels it
//!   and the server receives and replies: the client gets the reply (the cancellation came
//!   after), or ECANCELED with the message withdrawn unseen (SEND-blocked) or released from
//!   the server, whose late reply gets ESRCH (REPLY-blocked, no `_NTO_CHF_UNBLOCK`). The two
//!   sides agree, nothing stays queued, and every object is freed.
//!
//! Run with `--cfg loom` (see docs/toolbox.md, "loom, as it works here").

mod support;

use loom::thread;
use support::*;

const STATUS: i64 = 42;

static COVER_RECEIVE: Coverage = Coverage::new(&[
    "cancelled before the receive blocked: it ends as it blocks",
    "cancelled while RECEIVE-blocked",
]);

#[test]
fn a_cancellation_racing_a_receive_always_ends_it() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let p = k.process_create().unwrap();
        let start = k.pool_usage();
        let canceller = k.thread_attach(p, 10).unwrap();
        let chid = canceller.channel_create(0).unwrap();
        let receiver = k.thread_attach(p, 10).unwrap();
        let tid = receiver.tid();
        let r = thread::spawn(move || {
            let mut buf = [0u8; PULSE_SIZE];
            let got = kernel_sim::cancel::point(|| receiver.msg_receive(chid, &mut buf, None));
            drop(receiver);
            got
        });
        assert_eq!(canceller.thread_cancel(tid), Ok(()));
        assert_eq!(r.join().unwrap(), Err(Errno::ECANCELED));
        // (Only the receiver blocks in this process: a receive ended as it blocked is no
        // block.)
        let blocks = k.process_counters(p.pid).unwrap().blocks;
        COVER_RECEIVE.hit(usize::from(blocks > 0));
        canceller.channel_destroy(chid).unwrap();
        drop(canceller);
        assert_freed(&k, start);
    });
    COVER_RECEIVE.check();
}

static COVER_SEND: Coverage = Coverage::new(&[
    "replied to before the cancellation",
    "cancelled SEND-blocked (or before it blocked): the server never received",
    "cancelled REPLY-blocked: the late reply got ESRCH",
]);

#[test]
fn a_cancellation_racing_a_send_agrees_on_both_sides() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let s = k.process_create().unwrap();
        let c = k.process_create().unwrap();
        let start = k.pool_usage();
        let server = k.thread_attach(s, 10).unwrap();
        let chid = server.channel_create(0).unwrap();
        let client = k.thread_attach(c, 10).unwrap();
        let canceller = k.thread_attach(c, 10).unwrap();
        let coid = client
            .connect_attach(0, s.pid, chid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();
        let tid = client.tid();
        let sender = thread::spawn(move || {
            let mut reply = [0u8; 4];
            let r = kernel_sim::cancel::point(|| client.msg_send(coid, b"ping", &mut reply));
            if r.is_ok() {
                assert_eq!(&reply, b"pong", "reply data");
            }
            (r, client)
        });
        let cancel = thread::spawn(move || {
            let r = canceller.thread_cancel(tid);
            drop(canceller);
            r
        });

        let mut buf = [0u8; PULSE_SIZE];
        let replied = match receive_any_moment(&server, chid, &mut buf, None) {
            Ok(rcvid) => {
                assert!(rcvid > 0, "only the message comes");
                assert_eq!(&buf[..4], b"ping");
                Some(server.msg_reply(rcvid, STATUS, b"pong"))
            }
            Err(e) => {
                assert_eq!(e, Errno::ETIMEDOUT);
                None
            }
        };
        let (sent, client) = sender.join().unwrap();
        assert_eq!(cancel.join().unwrap(), Ok(()));
        match (sent, replied) {
            (Ok(st), Some(Ok(()))) => {
                assert_eq!(st, STATUS);
                COVER_SEND.hit(0);
            }
            (Err(Errno::ECANCELED), None) => COVER_SEND.hit(1),
            (Err(Errno::ECANCELED), Some(Err(Errno::ESRCH))) => COVER_SEND.hit(2),
            other => panic!("the two sides disagree: {other:?}"),
        }
        // Nothing is left queued: no withdrawn message, no stale entry.
        assert_eq!(
            receive_any_moment(&server, chid, &mut buf, None),
            Err(Errno::ETIMEDOUT),
            "nothing queued once the client has left"
        );
        client.connect_detach(coid).unwrap();
        drop(client);
        server.channel_destroy(chid).unwrap();
        drop(server);
        assert_freed(&k, start);
    });
    COVER_SEND.check();
}
