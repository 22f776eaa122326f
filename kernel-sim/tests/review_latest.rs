//! Review of 6fc6b44..HEAD (kernel side). Each `#[ignore = "DEFECT: ..."]` test fails on the
//! code as reviewed; the others pin behaviour found sound.
#![cfg(not(loom))]

mod support;

use std::thread;
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;

/// (base, current) priority of a thread, from the kernel's thread info.
fn prio_of(k: &Kernel, pid: i32, tid: i32) -> (i16, i16) {
    let i = k.thread_info(pid, tid).unwrap();
    (i.base_priority, i.priority)
}

/// A server thread of B, SEND-blocked (at 10) on a busy server C, is boosted to 50 by its own
/// client A. `Tables::set_prio` moves it up C's send queue at 50 (`sendq_requeue_thread`: "as
/// if it had just sent"), but C's busy thread, whose last receive was on that channel, stays
/// at 20: a SEND-blocked client of priority 50 with no receiver waiting boosts the server's
/// threads to 50 when it queues (ref. 2.11), and does not when it is re-queued at 50. The
/// chain A(50) -> B -> C runs at 20 in C: the inversion server boost exists to prevent.
#[test]
fn a_send_blocked_thread_requeued_higher_boosts_the_busy_server_it_waits_on() {
    let k = kernel();
    let start = live(&k);
    let pa = k.process_create().unwrap();
    let pb = k.process_create().unwrap();
    let pc = k.process_create().unwrap();
    let c = k.thread_attach(pc, 10).unwrap();
    let ctid = c.tid();
    let cchid = c.channel_create(0).unwrap();
    let bmain = k.thread_attach(pb, 10).unwrap();
    let bchid = bmain.channel_create(0).unwrap();
    let bself = bmain.connect_attach(0, 0, bchid, SIDE, 0).unwrap();
    let bcoid = bmain.connect_attach(0, pc.pid, cchid, SIDE, 0).unwrap();
    let a_side = k.thread_attach(pa, 10).unwrap();
    let acoid = a_side.connect_attach(0, pb.pid, bchid, SIDE, 0).unwrap();
    let ccoid = a_side.connect_attach(0, pc.pid, cchid, SIDE, 0).unwrap();
    let mut seen = (0, 0);
    thread::scope(|s| {
        // C busy with X's message (C's last receive: cchid).
        let (x, _) = spawn_scoped(s, &k, pa, 10, |t| {
            let mut r = [0u8; 0];
            send(t, ccoid, b"x", &mut r)
        });
        let mut buf = [0u8; 8];
        let rx = receive(&c, cchid, &mut buf, None).unwrap();
        // B's thread: last receive on bchid, then SEND-blocked on C at 10.
        let (b, btid) = spawn_scoped(s, &k, pb, 10, |t| {
            receive_pulse(t, bchid);
            let mut r = [0u8; 0];
            let st = send(t, bcoid, b"B", &mut r);
            let mut buf = [0u8; 8];
            let ra = receive(t, bchid, &mut buf, None).unwrap();
            t.msg_reply(ra, 0, b"").unwrap();
            st
        });
        bmain.msg_send_pulse(bself, 10, 1, 0).unwrap();
        wait_send_blocked(&k, pb.pid, btid);
        // Y queues on C at 20: C is boosted to 20.
        let (y, ytid) = spawn_scoped(s, &k, pa, 20, |t| {
            let mut r = [0u8; 0];
            send(t, ccoid, b"Y", &mut r)
        });
        wait_send_blocked(&k, pa.pid, ytid);
        // A queues on B at 50: B's thread is boosted to 50 and re-queued on C at 50.
        let (a, atid) = spawn_scoped(s, &k, pa, 50, |t| {
            let mut r = [0u8; 0];
            send(t, acoid, b"A", &mut r)
        });
        wait_send_blocked(&k, pa.pid, atid);
        assert_eq!(prio_of(&k, pb.pid, btid), (10, 50));
        seen = prio_of(&k, pc.pid, ctid);
        c.msg_reply(rx, 0, b"").unwrap();
        for _ in 0..2 {
            let r = receive(&c, cchid, &mut buf, None).unwrap();
            c.msg_reply(r, 0, b"").unwrap();
        }
        assert_eq!(x.join(), Ok(0));
        assert_eq!(b.join(), Ok(0));
        assert_eq!(y.join(), Ok(0));
        assert_eq!(a.join(), Ok(0));
    });
    drop((c, bmain, a_side));
    teardown(&k, &[pa, pb, pc], start);
    assert_eq!(
        seen.1, 50,
        "C's busy thread (last receive on the channel B's 50 waits on) runs at {} while a \
         priority-50 client waits SEND-blocked on it",
        seen.1
    );
}
