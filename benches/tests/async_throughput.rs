//! The throughput models, run tiny: every message must arrive intact and the kernel counters
//! must add up. Not a speed test: nothing here compares or bounds rates.

use benches::throughput::{
    asyncmsg_throughput, crossbeam_throughput, srr_throughput, Model, Placement, ThroughputRun,
};

const WARMUP: u64 = 50;
const N: u64 = 1_000;

fn placements() -> Vec<Placement> {
    let mut p = Placement::default_set();
    p.extend(Placement::same_cpu());
    p
}

fn check_common(r: &ThroughputRun, p: Placement) {
    assert_eq!(r.placement, p);
    assert_eq!(r.sent, N, "{r:?}");
    assert_eq!(r.received, r.sent, "{r:?}");
    assert!(r.intact, "lost, duplicated or reordered: {r:?}");
    assert!(r.elapsed.as_nanos() > 0, "{r:?}");
    assert!(r.msgs_per_s().is_finite() && r.msgs_per_s() > 0.0, "{r:?}");
    assert!(r.receives >= 1 && r.receives <= r.received, "{r:?}");
}

#[test]
fn asyncmsg_counters_add_up() {
    for p in placements() {
        for trigger in [1u32, 8, 64, 256] {
            let r = asyncmsg_throughput(p, trigger, WARMUP, N);
            assert_eq!(r.model, Model::Async(trigger));
            check_common(&r, p);
            let c = r.conn.expect("asyncmsg runs report connection stats");
            let (prod, cons) = (
                r.producer.expect("producer counters"),
                r.consumer.expect("consumer counters"),
            );
            // Every message put was taken; the library's kernel entries are its triggers
            // (count triggers plus the final flush; no timer here).
            assert_eq!(c.msgs_put, N, "{c:?}");
            assert_eq!(c.msgs_taken, N, "{c:?}");
            assert_eq!(c.kernel_entries, c.triggers, "{c:?}");
            assert_eq!(c.triggers, N / trigger as u64 + 1, "{p:?}/{trigger}: {c:?}");
            assert!(c.batches >= 1 && c.batches <= c.triggers, "{c:?}");
            assert_eq!(c.callbacks, 0, "{c:?}");
            // The producer process's entries are the library's, plus at most one: the library
            // thread's first MsgReceive (it starts with the library and may reach the kernel
            // after the timed part began; it then stays blocked, as there are no callbacks).
            assert!(prod.kernel_entries > 0, "{prod:?}");
            assert!(
                (c.kernel_entries..=c.kernel_entries + 1).contains(&prod.kernel_entries),
                "{p:?}/{trigger}: {prod:?} vs {c:?}"
            );
            assert!(prod.blocks <= 1, "{p:?}/{trigger}: {prod:?}");
            assert_eq!(prod.async_triggers, c.triggers, "{prod:?}");
            assert_eq!(prod.async_msgs_sent, N, "{prod:?}");
            let bound = 1.0 / trigger as f64 + 0.01;
            let e = r.producer_entries_per_msg().unwrap();
            assert!(e <= bound, "{p:?}/{trigger}: {e} > {bound}");
            // The consumer: one entry per asyncmsg_get (give or take the one in flight when
            // the timed part began), receiving every message and every byte.
            assert!(cons.kernel_entries > 0, "{cons:?}");
            assert_eq!(cons.async_msgs_received, N, "{cons:?}");
            assert_eq!(cons.bytes_copied, 64 * N, "{cons:?}");
            assert!(
                cons.async_batches_received.abs_diff(r.receives) <= 1,
                "{cons:?} vs {} receives",
                r.receives
            );
            assert!(
                cons.kernel_entries.abs_diff(r.receives) <= 1,
                "{cons:?} vs {} receives",
                r.receives
            );
            assert!(r.msgs_per_receive() <= 256.0);
        }
    }
}

#[test]
fn srr_counters_add_up() {
    for p in placements() {
        let r = srr_throughput(p, WARMUP, N);
        assert_eq!(r.model, Model::Srr);
        check_common(&r, p);
        assert_eq!(r.receives, N);
        assert!(r.conn.is_none());
        let (c, s) = (r.producer.unwrap(), r.consumer.unwrap());
        // One MsgSend per message; a MsgReceive and a MsgReply per message.
        assert_eq!(c.kernel_entries, N, "{c:?}");
        assert_eq!(c.msgs_sent, N, "{c:?}");
        assert_eq!(s.msgs_received, N, "{s:?}");
        assert_eq!(s.replies, N, "{s:?}");
        assert!(s.kernel_entries.abs_diff(2 * N) <= 1, "{s:?}");
        assert_eq!(r.producer_entries_per_msg(), Some(1.0));
    }
}

#[test]
fn crossbeam_delivers_everything() {
    for p in placements() {
        let r = crossbeam_throughput(p, WARMUP, N);
        assert_eq!(r.model, Model::Crossbeam);
        check_common(&r, p);
        assert!(r.producer.is_none() && r.consumer.is_none() && r.conn.is_none());
    }
}
