//! Regressions: behaviours that were once wrong.

mod common_async;

use common_async::*;
use std::time::{Duration, Instant};
use userlib::asyncmsg::*;

#[test]
fn a_full_queue_of_untriggered_messages_is_sent_instead_of_blocking_the_put_forever() {
    // Count trigger 8 can never be reached with 3 outstanding messages at most: the 4th put
    // must send what the queue holds rather than wait for room nobody would make.
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 8, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(8, Duration::ZERO, 4));
        for i in 0..3 {
            put(coid, encode(0, i), i);
        }
        coid
    });
    let h = send.spawn(move || {
        asyncmsg_put_timeout(coid, encode(0, 3), 3, None, LONG).map_err(|e| e.errno)?;
        asyncmsg_flush_timeout(coid, LONG)?;
        asyncmsg_connection_stats(coid)
    });
    let (got, _) = take(chid, 4);
    let seqs: Vec<_> = got.iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3]);
    let s = join(h.unwrap(), LONG).unwrap();
    assert_eq!((s.msgs_put, s.msgs_taken), (4, 4));
    assert!(
        s.triggers >= 2,
        "the full queue triggered, then the flush: {s:?}"
    );
}

#[test]
fn a_time_trigger_left_armed_by_an_earlier_batch_does_not_cut_the_next_batch_short() {
    // A batch that went by the count trigger leaves the timer armed; the next batch's first
    // message must still wait its full trigger_time (measured from its own put: a lower bound,
    // which load can only lengthen). (A receiver slower than the sender would take queued
    // messages along with an earlier batch: the kernel drains a queue up to its tail.)
    let period = Duration::from_millis(60);
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 8, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(4, period, 16));
        for i in 0..4 {
            put(coid, encode(0, i), i); // the 1st arms the timer; the 4th triggers the batch
        }
        coid
    });
    // Take the first batch, so that the next message travels on its own.
    let (first, _) = take(chid, 4);
    assert_eq!(first.len(), 4);
    let put_at = run_in(&send, move || {
        std::thread::sleep(period / 2);
        let at = Instant::now();
        put(coid, encode(0, 4), 4); // a new batch, younger than the timer still armed
        at
    });
    let (last, _) = take(chid, 1);
    let waited = put_at.elapsed();
    assert_eq!(decode(&last[0].data), (0, 4));
    assert!(
        waited >= period,
        "delivered {waited:?} after its put, before trigger_time {period:?}"
    );
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
}
