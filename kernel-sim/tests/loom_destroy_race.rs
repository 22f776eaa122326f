#![cfg(loom)]
//! loom model of a reply racing ChannelDestroy.
//!
//! A client sends on a channel; one server thread receives and replies while another server
//! thread (the model's main thread) destroys the channel once the client has sent, so the
//! client is SEND- or REPLY-blocked when the destroy lands, or already replied to. The client
//! must leave with the reply's status or ESRCH, never hang, and the replier's view must agree.
//! Run with `--cfg loom` (see docs/toolbox.md, "loom, as it works here").

mod support;

use loom::thread;
use support::*;

const STATUS: i64 = 7;

static COVER: Coverage = Coverage::new(&[
    "client replied to",
    "client got ESRCH from the destroy",
    "client spun REPLY-blocked (its server running on another CPU), then got ESRCH",
]);

#[test]
fn reply_racing_channel_destroy_gives_reply_or_esrch_consistently() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let p = k.process_create().unwrap();
        let start = k.pool_usage();

        let destroyer = k.thread_attach(p, 10).unwrap();
        let chid = destroyer.channel_create(0).unwrap();
        let coid = destroyer
            .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();

        let kc = k.clone();
        let client = thread::spawn(move || {
            let c = kc.thread_attach(p, 10).unwrap();
            let mut reply = [0u8; 2];
            let status = c.msg_send(coid, b"hi", &mut reply);
            if status.is_ok() {
                assert_eq!(&reply, b"ok");
            }
            c.connect_detach(coid).unwrap();
            status
        });

        let ks = k.clone();
        let replier = thread::spawn(move || {
            let s = ks.thread_attach(p, 10).unwrap();
            let mut buf = [0u8; 4];
            match s.msg_receive(chid, &mut buf, None) {
                Ok(rcvid) => {
                    assert_eq!(&buf[..2], b"hi");
                    Some(s.msg_reply(rcvid, STATUS, b"ok"))
                }
                // The channel went before we received: nothing to reply to.
                Err(e) => {
                    assert_eq!(e, Errno::ESRCH);
                    None
                }
            }
        });

        // Destroy only once the client has sent (msgs_sent is bumped under the lock in the same
        // critical section that SEND- or REPLY-blocks it), so its MsgSend cannot see EBADF.
        while k.process_counters(p.pid).unwrap().msgs_sent == 0 {
            thread::yield_now();
        }
        destroyer.channel_destroy(chid).unwrap();

        let sent = client.join().unwrap();
        let replied = replier.join().unwrap();
        match sent {
            Ok(st) => {
                assert_eq!(st, STATUS);
                assert_eq!(replied, Some(Ok(())), "client got the reply: it succeeded");
                COVER.hit(0);
            }
            Err(e) => {
                assert_eq!(e, Errno::ESRCH);
                assert!(
                    matches!(replied, None | Some(Err(Errno::ESRCH))),
                    "client got ESRCH, but the reply said {replied:?}"
                );
                COVER.hit(1);
                // (Only the client can have spun: the replier never blocks with a last client.)
                if k.process_counters(p.pid).unwrap().spins > 0 {
                    COVER.hit(2);
                }
            }
        }

        drop(destroyer);
        assert_freed(&k, start);
    });
    COVER.check();
}
