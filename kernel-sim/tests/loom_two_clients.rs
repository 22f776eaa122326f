#![cfg(loom)]
//! loom model of two clients sending to one server: each client gets the reply to its own
//! message (no cross-talk) and the server receives each message exactly once.
//!
//! The server is the model's main thread; the clients share one side-channel connection of
//! their process. Run with `--cfg loom` (see docs/toolbox.md, "loom, as it works here").

mod support;

use loom::thread;
use support::*;

/// The status the server replies with to message `id`.
fn status_for(id: u8) -> i64 {
    100 + i64::from(id)
}

#[test]
fn each_client_gets_its_own_reply_and_each_message_is_received_once() {
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
                    let mut reply = [0u8; 2];
                    let status = c.msg_send(coid, &[id], &mut reply);
                    assert_eq!(status, Ok(status_for(id)), "client {id}: status");
                    assert_eq!(reply, [id, !id], "client {id}: reply data");
                })
            })
            .collect();

        let mut seen = [0u32; 3];
        for _ in 0..2 {
            let mut buf = [0u8; 4];
            let rcvid = server.msg_receive(chid, &mut buf, None).unwrap();
            assert!(rcvid > 0, "a message, not a pulse");
            let id = buf[0];
            assert!(id == 1 || id == 2, "unexpected message {id}");
            seen[id as usize] += 1;
            server.msg_reply(rcvid, status_for(id), &[id, !id]).unwrap();
        }
        assert_eq!(seen, [0, 1, 1], "each message received exactly once");

        for c in clients {
            c.join().unwrap();
        }
    });
}
