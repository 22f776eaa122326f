#![cfg(loom)]
//! loom models of a kernel timeout racing a reply.
//!
//! A client arms `TimerTimeout(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY)` with a long deadline and
//! sends; the server (the model's main thread) receives with its own `_NTO_TIMEOUT_RECEIVE` and
//! replies. Under `--cfg loom` a wait with a deadline times out as soon as its word is found
//! unchanged (wait.rs), so both timeouts go through `ThreadCtx::block`'s real timeout path at a
//! point loom chooses: the client's while SEND-blocked, while REPLY-blocked, or racing the
//! reply; the server's before or after the message arrives.
//!
//! * Without `_NTO_CHF_UNBLOCK` a REPLY-blocked client leaves with ETIMEDOUT and the late reply
//!   gets ESRCH; the two sides must agree.
//! * With `_NTO_CHF_UNBLOCK` a REPLY-blocked client stays until the server answers; the server
//!   gets at most one `_PULSE_CODE_UNBLOCK` (value = rcvid), and a pulse it has not taken is
//!   removed by the reply.
//!
//! Run with `--cfg loom` (see docs/toolbox.md, "loom, as it works here").

mod support;

use loom::thread;
use support::*;

const STATUS: i64 = 42;

/// Spawns the client: one MsgSend on `coid` armed with a timeout in the states `flags`. It
/// returns the MsgSend's result, having checked the reply data when there was a reply.
fn spawn_client(
    k: &Kernel,
    p: Pid,
    coid: i32,
    flags: u32,
) -> loom::thread::JoinHandle<Result<i64, Errno>> {
    let kc = k.clone();
    thread::spawn(move || {
        let c = kc.thread_attach(p, 10).unwrap();
        arm_any_moment(&c, flags);
        let mut reply = [0u8; 4];
        let status = c.msg_send(coid, b"ping", &mut reply);
        if status.is_ok() {
            assert_eq!(&reply, b"pong", "reply data");
        }
        status
    })
}

/// After the client is gone nothing may be left for the server: no stale SEND-blocked entry
/// of a client that timed out, no pulse. Then the model's objects are freed and every pool is
/// back where it started.
fn finish(k: &Kernel, server: ThreadCtx, chid: i32, coid: i32, start: PoolUsage) {
    let mut buf = [0u8; PULSE_SIZE];
    assert_eq!(
        receive_any_moment(&server, chid, &mut buf, None),
        Err(Errno::ETIMEDOUT),
        "nothing queued once the client has left"
    );
    server.connect_detach(coid).unwrap();
    server.channel_destroy(chid).unwrap();
    drop(server);
    assert_freed(k, start);
}

static COVER_A: Coverage = Coverage::new(&[
    "client replied to",
    "client timed out SEND-blocked, server never received",
    "client timed out REPLY-blocked, late reply got ESRCH",
    "client spun REPLY-blocked (its server running on another CPU), then timed out",
]);

#[test]
fn timeout_racing_reply_without_unblock_flag_agrees_on_both_sides() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let p = k.process_create().unwrap();
        let start = k.pool_usage();

        let server = k.thread_attach(p, 10).unwrap();
        let chid = server.channel_create(0).unwrap();
        let coid = server
            .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();
        let client = spawn_client(&k, p, coid, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);

        let mut buf = [0u8; PULSE_SIZE];
        let replied = match receive_any_moment(&server, chid, &mut buf, None) {
            Ok(rcvid) => {
                assert!(rcvid > 0, "a message, not a pulse");
                assert_eq!(&buf[..4], b"ping");
                Some(server.msg_reply(rcvid, STATUS, b"pong"))
            }
            Err(e) => {
                assert_eq!(e, Errno::ETIMEDOUT, "the receive can only time out");
                None
            }
        };

        let sent = client.join().unwrap();
        match sent {
            Ok(st) => {
                assert_eq!(st, STATUS);
                assert_eq!(replied, Some(Ok(())), "client got the reply: it succeeded");
                COVER_A.hit(0);
            }
            Err(e) => {
                assert_eq!(e, Errno::ETIMEDOUT, "the send can only time out");
                assert!(
                    matches!(replied, None | Some(Err(Errno::ESRCH))),
                    "client timed out, but the reply said {replied:?}"
                );
                COVER_A.hit(if replied.is_none() { 1 } else { 2 });
                // (Only the client can have spun: the server never blocks with a last client.)
                if replied.is_some() && k.process_counters(p.pid).unwrap().spins > 0 {
                    COVER_A.hit(3);
                }
            }
        }
        finish(&k, server, chid, coid, start);
    });
    COVER_A.check();
}

static COVER_B: Coverage = Coverage::new(&[
    "client timed out SEND-blocked, server never received",
    "client replied to, no unblock request",
    "client replied to, server received its unblock pulse",
    "client replied to, its queued unblock pulse removed by the reply",
]);

#[test]
fn timeout_racing_reply_with_unblock_flag_keeps_reply_blocked_client() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let p = k.process_create().unwrap();
        let start = k.pool_usage();

        let server = k.thread_attach(p, 10).unwrap();
        let chid = server.channel_create(_NTO_CHF_UNBLOCK).unwrap();
        let coid = server
            .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();
        let client = spawn_client(&k, p, coid, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);

        // Two bounded receives: the message (at most once) and, after it, possibly the client's
        // unblock pulse. Then exactly one reply to the message, if it came.
        let mut rcvid = None;
        let mut unblocks = 0;
        for _ in 0..2 {
            let mut buf = [0u8; PULSE_SIZE];
            match receive_any_moment(&server, chid, &mut buf, None) {
                Ok(0) => {
                    let pulse = Pulse::from_bytes(&buf).unwrap();
                    assert_eq!(pulse.code, _PULSE_CODE_UNBLOCK, "only an unblock pulse");
                    assert!(rcvid.is_some(), "an unblock pulse before the message");
                    assert_eq!(Some(pulse.value_long()), rcvid, "pulse value is the rcvid");
                    unblocks += 1;
                }
                Ok(r) => {
                    assert!(r > 0);
                    assert!(rcvid.is_none(), "the message is received once");
                    assert_eq!(&buf[..4], b"ping");
                    rcvid = Some(r);
                }
                Err(e) => assert_eq!(e, Errno::ETIMEDOUT, "the receive can only time out"),
            }
        }
        assert!(unblocks <= 1, "one unblock pulse per request");
        // An unblock pulse still queued now (the client's timeout fired after our last
        // receive, or loom timed that receive out first) must go with the reply.
        let queued = k.pool_usage().pulses.live - start.pulses.live;
        assert!(
            queued <= 1 && unblocks + queued <= 1,
            "one unblock pulse per request"
        );
        let replied = rcvid.map(|r| server.msg_reply(r, STATUS, b"pong"));

        let sent = client.join().unwrap();
        match sent {
            Ok(st) => {
                assert_eq!(st, STATUS);
                assert!(rcvid.is_some(), "a reply without a receive");
            }
            Err(e) => {
                assert_eq!(e, Errno::ETIMEDOUT, "the send can only time out");
                assert!(
                    rcvid.is_none(),
                    "REPLY-blocked client left an _NTO_CHF_UNBLOCK channel with ETIMEDOUT"
                );
            }
        }
        if rcvid.is_some() {
            assert_eq!(replied, Some(Ok(())), "the client waited for the reply");
        }
        COVER_B.hit(match (rcvid, unblocks, queued) {
            (None, ..) => 0,
            (Some(_), 0, 0) => 1,
            (Some(_), 1, _) => 2,
            _ => 3,
        });
        assert_eq!(
            k.pool_usage().pulses.live,
            start.pulses.live,
            "an unblock pulse not received is removed by the reply"
        );
        finish(&k, server, chid, coid, start);
    });
    COVER_B.check();
}

static COVER_C: Coverage = Coverage::new(&[
    "client replied to",
    "client received while SEND-blocked, then timed out REPLY-blocked; late reply got ESRCH",
]);

/// A REPLY-only timeout: the client SEND-blocks without a deadline; once the server receives
/// it, the REPLY deadline applies (the receive wakes the client so it sleeps on with it).
#[test]
fn reply_only_timeout_applies_once_a_send_blocked_client_is_received() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let p = k.process_create().unwrap();
        let start = k.pool_usage();

        let server = k.thread_attach(p, 10).unwrap();
        let chid = server.channel_create(0).unwrap();
        let coid = server
            .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();
        let client = spawn_client(&k, p, coid, _NTO_TIMEOUT_REPLY);

        // Receive only once the client is SEND-blocked (msgs_sent is bumped in the critical
        // section that blocks it, and no receiver waits yet), so it reaches REPLY-blocked
        // through this receive. No timeout: the client cannot leave while SEND-blocked.
        while k.process_counters(p.pid).unwrap().msgs_sent == 0 {
            thread::yield_now();
        }
        let mut buf = [0u8; PULSE_SIZE];
        let rcvid = server.msg_receive(chid, &mut buf, None).unwrap();
        assert!(rcvid > 0, "a message, not a pulse");
        assert_eq!(&buf[..4], b"ping");
        let replied = server.msg_reply(rcvid, STATUS, b"pong");

        match client.join().unwrap() {
            Ok(st) => {
                assert_eq!(st, STATUS);
                assert_eq!(replied, Ok(()), "client got the reply: it succeeded");
                COVER_C.hit(0);
            }
            Err(e) => {
                assert_eq!(e, Errno::ETIMEDOUT, "the send can only time out");
                assert_eq!(replied, Err(Errno::ESRCH), "client timed out: late reply");
                COVER_C.hit(1);
            }
        }
        finish(&k, server, chid, coid, start);
    });
    COVER_C.check();
}
