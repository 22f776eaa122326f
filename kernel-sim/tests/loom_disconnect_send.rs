#![cfg(loom)]
//! loom model of ConnectDetach racing a MsgSend on the same coid.
//!
//! Process A has an `_NTO_CHF_DISCONNECT` channel served by the model's main thread; process B
//! has one side-channel connection to it. B's first thread sends on the coid while its second
//! detaches it, so the send finds the coid gone, or is SEND- or REPLY-blocked when the detach
//! lands, or is replied to first. The sender leaves with the reply or EBADF and never hangs;
//! the server sees the message at most once, its late reply gets ESRCH, and it gets exactly
//! one `_PULSE_CODE_DISCONNECT` naming the connection's scoid, whose ConnectDetach frees
//! what is left of the connection.
//!
//! The server's receives are bounded by `_NTO_TIMEOUT_RECEIVE`: under `--cfg loom` such a
//! deadline "may pass at any moment" (wait.rs), so loom takes the timeout path too, and the
//! server loops a bounded number of times. Run with `--cfg loom` (see docs/toolbox.md, "loom,
//! as it works here").

mod support;

use loom::thread;
use support::*;

/// The outcomes the model must reach.
static COVER: Coverage = Coverage::new(&[
    "sender replied to before the detach",
    "coid already gone at send time: EBADF",
    "detached while SEND-blocked: EBADF, message never received",
    "detached while REPLY-blocked: EBADF, late reply got ESRCH",
    "disconnect pulse taken by a receive racing the detach",
]);

const STATUS: i64 = 7;

/// What the server saw.
#[derive(Debug, Default)]
struct Served {
    /// Messages received, and what each reply returned.
    replies: Vec<Result<(), Errno>>,
    /// The scoids of the disconnect pulses received.
    disconnects: Vec<i32>,
}

/// One receive bounded by a RECEIVE timeout: a message is checked and replied to at once, a
/// pulse must be a disconnect. Returns false if it timed out.
fn serve_one(s: &ThreadCtx, chid: i32, scoid: i32, seen: &mut Served) -> bool {
    let mut buf = [0u8; PULSE_SIZE];
    let mut info = MsgInfo::default();
    match receive_any_moment(s, chid, &mut buf, Some(&mut info)) {
        Ok(0) => {
            let pulse = Pulse::from_bytes(&buf).unwrap();
            assert_eq!(
                pulse.code, _PULSE_CODE_DISCONNECT,
                "only a disconnect pulse"
            );
            seen.disconnects.push(pulse.scoid);
            true
        }
        Ok(rcvid) => {
            assert!(rcvid > 0);
            assert_eq!(&buf[..4], b"ping");
            assert_eq!(info.scoid, scoid, "the message came through the connection");
            seen.replies.push(s.msg_reply(rcvid, STATUS, b"pong"));
            true
        }
        Err(e) => {
            assert_eq!(e, Errno::ETIMEDOUT, "the receive can only time out");
            false
        }
    }
}

#[test]
fn detach_racing_send_gives_reply_or_ebadf_and_one_disconnect_pulse() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let a = k.process_create().unwrap();
        let b = k.process_create().unwrap();
        let start = k.pool_usage();

        let server = k.thread_attach(a, 10).unwrap();
        let chid = server.channel_create(_NTO_CHF_DISCONNECT).unwrap();
        // B's connection, made by a short-lived thread of B (coids belong to the process).
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
            if status.is_ok() {
                assert_eq!(&reply, b"pong", "reply data");
            }
            status
        });
        let kd = k.clone();
        let detacher = thread::spawn(move || {
            let d = kd.thread_attach(b, 10).unwrap();
            d.connect_detach(coid)
        });

        // While B races: two bounded receives.
        let mut seen = Served::default();
        for _ in 0..2 {
            serve_one(&server, chid, scoid, &mut seen);
        }
        let early_disconnect = !seen.disconnects.is_empty();

        let sent = sender.join().unwrap();
        assert_eq!(
            detacher.join().unwrap(),
            Ok(()),
            "ConnectDetach of the coid"
        );
        // B is done: whatever is still queued is taken without blocking; then the queue is
        // empty and the receive times out (bounded: at most message + pulse + timeout).
        for _ in 0..3 {
            if !serve_one(&server, chid, scoid, &mut seen) {
                break;
            }
        }

        assert!(
            seen.replies.len() <= 1,
            "the message is received at most once"
        );
        let replied = seen.replies.first().copied();
        let sent_msgs = k.process_counters(b.pid).unwrap().msgs_sent;
        match sent {
            Ok(st) => {
                assert_eq!(st, STATUS);
                assert_eq!(replied, Some(Ok(())), "sender got the reply: it succeeded");
                COVER.hit(0);
            }
            Err(e) => {
                assert_eq!(e, Errno::EBADF, "the send can only fail with EBADF");
                assert!(
                    matches!(replied, None | Some(Err(Errno::ESRCH))),
                    "sender got EBADF, but the reply said {replied:?}"
                );
                let i = match (sent_msgs, replied) {
                    (0, _) => 1,
                    (_, None) => 2,
                    _ => 3,
                };
                COVER.hit(i);
            }
        }
        assert_eq!(
            seen.disconnects,
            [scoid],
            "exactly one disconnect pulse, naming the connection's scoid"
        );
        if early_disconnect {
            COVER.hit(4);
        }

        // The scoid stays allocated until the server detaches it.
        let before = k.pool_usage();
        assert_eq!(before.connections.live, start.connections.live + 1);
        assert_eq!(before.pulses.live, start.pulses.live);
        server.connect_detach(scoid).unwrap();
        let after = k.pool_usage();
        assert_eq!(after.connections, start.connections, "connection freed");
        assert_eq!(after.pulses, start.pulses, "no pulse left");

        server.channel_destroy(chid).unwrap();
        drop(server);
        assert_freed(&k, start);
    });
    COVER.check();
}
