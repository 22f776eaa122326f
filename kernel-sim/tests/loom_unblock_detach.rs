#![cfg(loom)]
//! loom model of ConnectDetach racing a MsgSend on the same coid, on an `_NTO_CHF_UNBLOCK` channel
//! (QNX's `force_ready`: the kernel cannot release a client the server holds).
//!
//! Process A has an `_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT` channel served by the model's main
//! thread, which replies to a message as soon as it receives it; process B has one side-channel
//! connection to it. B's first thread sends on the coid while its second detaches it. The
//! sender leaves with the reply, or with EBADF, and never hangs. Unlike a channel without the
//! flag, a client the server has received is held until the server answers: the server's reply
//! always succeeds (never ESRCH), the client then leaves with EBADF, and the connection, with its
//! disconnect pulse, outlives the coid until that answer: the server sees the disconnect after
//! the message, exactly once. Everything is freed at the end.
//!
//! Receives are bounded by `_NTO_TIMEOUT_RECEIVE` (under loom such a deadline "may pass at any
//! moment", so loom takes the timeout path too). Run with `--cfg loom`.

mod support;

use loom::thread;
use support::*;

/// The outcomes the model must reach.
static COVER: Coverage = Coverage::new(&[
    "sender replied to before the detach",
    "coid already gone at send time: EBADF",
    "detached while SEND-blocked: EBADF, message never received",
    "detached while held by the server: the reply succeeded, the sender got EBADF",
]);

const STATUS: i64 = 7;

/// What the server saw, in order.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    /// A message, and what the reply returned.
    Message(Result<(), Errno>),
    /// A disconnect pulse naming this scoid.
    Disconnect(i32),
}

fn serve_one(s: &ThreadCtx, chid: i32, scoid: i32, log: &mut Vec<Event>) -> bool {
    let mut buf = [0u8; PULSE_SIZE];
    let mut info = MsgInfo::default();
    match receive_any_moment(s, chid, &mut buf, Some(&mut info)) {
        Ok(0) => {
            let pulse = Pulse::from_bytes(&buf).unwrap();
            // The server answers every message at once, so an unblock pulse for it is gone by
            // the time it could be received.
            assert_ne!(
                pulse.code, _PULSE_CODE_UNBLOCK,
                "an unblock pulse outlived its reply"
            );
            assert_eq!(pulse.code, _PULSE_CODE_DISCONNECT);
            log.push(Event::Disconnect(pulse.scoid));
            true
        }
        Ok(rcvid) => {
            assert!(rcvid > 0);
            assert_eq!(&buf[..4], b"ping");
            assert_eq!(info.scoid, scoid);
            log.push(Event::Message(s.msg_reply(rcvid, STATUS, b"pong")));
            true
        }
        Err(e) => {
            assert_eq!(e, Errno::ETIMEDOUT, "the receive can only time out");
            false
        }
    }
}

#[test]
fn detach_racing_send_on_an_unblock_channel_holds_the_client_until_the_reply() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let a = k.process_create().unwrap();
        let b = k.process_create().unwrap();
        let start = k.pool_usage();

        let server = k.thread_attach(a, 10).unwrap();
        let chid = server
            .channel_create(_NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK)
            .unwrap();
        let coid = {
            let setup = k.thread_attach(b, 10).unwrap();
            setup
                .connect_attach(0, a.pid, chid, _NTO_SIDE_CHANNEL, 0)
                .unwrap()
        };
        let scoid = scoid_of(&k, b.pid, coid);

        let ks = k.clone();
        let sender = thread::spawn(move || {
            let c = ks.thread_attach(b, 10).unwrap();
            let mut reply = [0u8; 4];
            let status = c.msg_send(coid, b"ping", &mut reply);
            (status, reply)
        });
        let kd = k.clone();
        let detacher = thread::spawn(move || {
            let d = kd.thread_attach(b, 10).unwrap();
            d.connect_detach(coid)
        });

        let mut log = Vec::new();
        for _ in 0..2 {
            serve_one(&server, chid, scoid, &mut log);
        }
        let (sent, reply) = sender.join().unwrap();
        assert_eq!(detacher.join().unwrap(), Ok(()));
        for _ in 0..3 {
            if !serve_one(&server, chid, scoid, &mut log) {
                break;
            }
        }

        let messages: Vec<_> = log
            .iter()
            .filter_map(|e| match e {
                Event::Message(r) => Some(*r),
                _ => None,
            })
            .collect();
        assert!(messages.len() <= 1, "the message is received at most once");
        // A held client cannot be released behind the server's back: its reply never fails.
        assert!(messages.iter().all(|r| r.is_ok()), "{log:?}");
        assert_eq!(
            log.iter()
                .filter(|e| matches!(e, Event::Disconnect(_)))
                .collect::<Vec<_>>(),
            [&Event::Disconnect(scoid)],
            "exactly one disconnect pulse, naming the connection's scoid"
        );
        // The connection outlives the coid while the server holds the client: the disconnect
        // comes after the message.
        if !messages.is_empty() {
            assert!(matches!(log.last(), Some(Event::Disconnect(_))), "{log:?}");
        }
        let sent_msgs = k.process_counters(b.pid).unwrap().msgs_sent;
        match sent {
            Ok(st) => {
                assert_eq!((st, &reply), (STATUS, b"pong"));
                COVER.hit(0);
            }
            Err(e) => {
                assert_eq!(e, Errno::EBADF, "the send can only fail with EBADF");
                assert_eq!(
                    reply, [0; 4],
                    "no reply data for a client that left with EBADF"
                );
                let i = match (sent_msgs, messages.len()) {
                    (0, _) => 1,
                    (_, 0) => 2,
                    _ => 3,
                };
                COVER.hit(i);
            }
        }

        server.connect_detach(scoid).unwrap();
        server.channel_destroy(chid).unwrap();
        drop(server);
        assert_freed(&k, start);
    });
    COVER.check();
}
