#![cfg(loom)]
//! loom model of one Send/Receive/Reply exchange between a client and a server thread.
//!
//! The server (the model's main thread) attaches and creates the channel before the client is
//! spawned; whether it RECEIVE-blocks first or finds the client already SEND-blocked is left to
//! loom's interleavings. Under loom every thread counts as running on a CPU of its own, so a
//! REPLY-blocked client whose server runs spins on its wait word before it sleeps, and a
//! RECEIVE-blocked server whose last client runs does the same (`Config::spin_ns`): the model
//! covers the wake-up arriving during the spin and after it, when the waiter sleeps on the
//! futex. Run with `--cfg loom` (see docs/toolbox.md, "loom, as it works here").

mod support;

use loom::thread;
use support::*;

static COVER: Coverage = Coverage::new(&[
    "a waiter spun and its wake-up came while it spun",
    "a waiter spun, then slept on the futex and was woken",
]);

#[test]
fn client_gets_exactly_the_reply_and_server_gets_the_message() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let p = k.process_create().unwrap();
        let server = k.thread_attach(p, 10).unwrap();
        let chid = server.channel_create(0).unwrap();

        let kc = k.clone();
        let client = thread::spawn(move || {
            let c = kc.thread_attach(p, 10).unwrap();
            let coid = c.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            let mut reply = [0u8; 4];
            let status = c.msg_send(coid, b"ping", &mut reply);
            (status, reply)
        });

        let mut buf = [0u8; 8];
        let mut info = MsgInfo::default();
        let rcvid = server.msg_receive(chid, &mut buf, Some(&mut info)).unwrap();
        assert!(rcvid > 0, "a message, not a pulse");
        assert_eq!(&buf[..4], b"ping");
        assert_eq!(info.msglen, 4);
        server.msg_reply(rcvid, 42, b"pong").unwrap();

        let (status, reply) = client.join().unwrap();
        assert_eq!(status, Ok(42));
        assert_eq!(&reply, b"pong");

        let c = k.process_counters(p.pid).unwrap();
        assert!(c.spin_wakeups <= c.spins && c.spins <= c.blocks);
        if c.spin_wakeups > 0 {
            COVER.hit(0);
        }
        if c.spins > c.spin_wakeups {
            COVER.hit(1);
        }
    });
    COVER.check();
}
