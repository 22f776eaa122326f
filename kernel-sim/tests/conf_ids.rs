//! Ids that are never reused by accident: a stale rcvid or timer id names nothing, however
//! many receives or timers came after it (docs/deviations.md, "Identifiers").

mod support;

use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;

/// 2^16 + 1: past the point where the 16-bit generation comes round again.
const WRAP16: u32 = (1 << 16) + 1;

/// rcvids fit in a C `int` (QNX 7's `MsgReceive` returns one), so the generation they carry
/// is 16 bits: it comes round after 65,536 receives of the same slot, and a stale rcvid is
/// refused at every other count (docs/deviations.md).
#[test]
fn a_stale_rcvid_stays_esrch_across_the_generation_wrap_and_every_rcvid_fits_an_int() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let c = spawn(&k, cli, 10, move |c| {
        let coid = c.connect_attach(0, srv.pid, chid, SIDE, 0).unwrap();
        let mut r = [0u8; 4];
        // The first request times out REPLY-blocked: the server keeps a stale rcvid.
        arm(c, _NTO_TIMEOUT_REPLY, Some(SHORT));
        let first = c.msg_send(coid, b"old", &mut r);
        tx.send(()).unwrap();
        // Then round trip after round trip from the same thread (the same slot).
        for _ in 0..WRAP16 {
            send(c, coid, b"n", &mut r).unwrap();
        }
        // The last request waits for the answer that matters.
        let last = send(c, coid, b"new", &mut r);
        c.connect_detach(coid).unwrap();
        (first, last, r)
    });
    let mut buf = [0u8; 8];
    let stale = receive(&server, chid, &mut buf, None).unwrap();
    rx.recv_timeout(DEADLINE).unwrap();
    let mut seen = stale;
    let mut wrapped = false;
    for _ in 0..WRAP16 {
        let r = receive(&server, chid, &mut buf, None).unwrap();
        assert!(
            r > 0 && r <= i64::from(i32::MAX),
            "rcvid {r:#x} does not fit an int"
        );
        wrapped |= r < seen;
        seen = r;
        server.msg_reply(r, 0, b"").unwrap();
    }
    assert!(wrapped, "the generation came round");
    let new = receive(&server, chid, &mut buf, None).unwrap();
    assert_ne!(new, stale);
    assert_eq!(&buf[..3], b"new");
    // The stale rcvid answers nothing: the new request is not replied by mistake.
    assert_eq!(server.msg_reply(stale, 66, b"bad!"), Err(Errno::ESRCH));
    assert_eq!(server.msg_error(stale, Errno::EIO), Err(Errno::ESRCH));
    assert_eq!(server.msg_read(stale, &mut buf, 0), Err(Errno::ESRCH));
    assert_eq!(server.msg_info(stale), Err(Errno::ESRCH));
    server.msg_reply(new, 7, b"good").unwrap();
    let (first, last, r) = c.join();
    assert_eq!(first, Err(Errno::ETIMEDOUT));
    assert_eq!((last, &r), (Ok(7), b"good"));
    drop(server);
    teardown(&k, &[srv, cli], start);
}

/// Creates and destroys `n` timers, checking that none gets `stale`'s id.
fn churn(t: &ThreadCtx, ev: &SigEvent, stale: i32, n: u32) {
    for _ in 0..n {
        let id = t.timer_create(CLOCK_MONOTONIC, Some(ev)).unwrap();
        assert_ne!(id, stale, "a timer id repeated");
        t.timer_destroy(id).unwrap();
    }
}

fn stale_timer_id_check(cfg: Config) {
    let k = Kernel::new(cfg).unwrap();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let ev = SigEvent::none();
    let stale = t.timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
    t.timer_destroy(stale).unwrap();
    churn(&t, &ev, stale, WRAP16);
    // A live timer, then the stale id: TimerDestroy, TimerSettime and TimerInfo refuse it and
    // the live timer is untouched.
    let live = t.timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
    assert_ne!(live, stale);
    assert_eq!(t.timer_destroy(stale), Err(Errno::EINVAL));
    assert_eq!(t.timer_settime(stale, 0, 1, 0), Err(Errno::EINVAL));
    assert_eq!(t.timer_info(stale), Err(Errno::EINVAL));
    t.timer_settime(live, 0, 60_000_000_000, 0).unwrap();
    assert!(t.timer_info(live).unwrap().remaining > 0);
    t.timer_destroy(live).unwrap();
    assert_eq!(k.pool_usage().timers.live, 0);
    drop(t);
    k.process_destroy(p).unwrap();
}

#[test]
fn a_stale_timer_id_stays_einval_after_65537_create_destroy_cycles() {
    stale_timer_id_check(Config::default());
}

#[test]
fn a_stale_timer_id_stays_einval_when_one_timer_slot_is_reused_65537_times() {
    // One slot: every create reuses it, so only the id's generation tells them apart.
    stale_timer_id_check(Config {
        max_timers: 1,
        ..Config::default()
    });
}
