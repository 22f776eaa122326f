#![cfg(loom)]
//! loom model of the wake hand-off (`Config::wake_handoff`): a server with more queued than it
//! has answered replies to two clients; the second reply's wake-up may be left to the first
//! client (readied, not yet back from its MsgSend), which makes it when it collects its own
//! reply. Whatever the interleaving, each client gets its own reply, no wake-up is lost (a lost
//! one would leave a client asleep for ever: loom reports the deadlock), and the model reaches
//! both outcomes: the wake-up carried by the other client, and made by the server.
//!
//! The server is the model's main thread; a pulse it sends itself keeps its channel's queue
//! non-empty while it replies (a server with nothing queued wakes its clients itself). Run with
//! `--cfg loom` (see docs/toolbox.md, "loom, as it works here").

mod support;

use loom::thread;
use support::*;

static COVER: Coverage = Coverage::new(&[
    "a client's wake-up was carried by the other client",
    "the server woke both clients itself",
]);

#[test]
fn each_client_gets_its_reply_whoever_makes_its_wake_up() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let p = k.process_create().unwrap();
        let server = k.thread_attach(p, 10).unwrap();
        let chid = server.channel_create(0).unwrap();
        let coid = server
            .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();

        let clients: Vec<_> = [1u8, 2u8]
            .into_iter()
            .map(|id| {
                let kc = k.clone();
                thread::spawn(move || {
                    let c = kc.thread_attach(p, 10).unwrap();
                    let mut reply = [0u8; 1];
                    let status = c.msg_send(coid, &[id], &mut reply);
                    assert_eq!(status, Ok(i64::from(id)), "client {id}: status");
                    assert_eq!(reply, [!id], "client {id}: reply data");
                })
            })
            .collect();

        let mut got = [(0, 0u8); 2];
        for g in &mut got {
            let mut buf = [0u8; 4];
            let rcvid = server.msg_receive(chid, &mut buf, None).unwrap();
            assert!(rcvid > 0, "a message, not a pulse");
            *g = (rcvid, buf[0]);
        }
        // More work queued: the replies may hand their wake-ups off.
        server.msg_send_pulse(coid, 10, 1, 0).unwrap();
        let before = k.process_counters(p.pid).unwrap();
        for (rcvid, id) in got {
            server.msg_reply(rcvid, i64::from(id), &[!id]).unwrap();
        }
        let mut buf = [0u8; 64];
        assert_eq!(server.msg_receive(chid, &mut buf, None), Ok(0), "the pulse");

        for c in clients {
            c.join().unwrap();
        }
        let c = k.process_counters(p.pid).unwrap().since(&before);
        assert!(c.wakeups_carried <= 1, "one reply at most is carried");
        if c.wakeups_carried == 1 {
            COVER.hit(0);
        } else {
            COVER.hit(1);
        }
    });
    COVER.check();
}
