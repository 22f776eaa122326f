//! The one-way models `async_throughput` runs, run tiny: every message must arrive intact and
//! the kernel counters must add up. Not a speed test: nothing here compares or bounds rates.

use benches::compare::baselines::Sample;
use benches::compare::record::Workload;
use benches::compare::workloads::{Between, Case, Model};
use benches::harness::Placement;

const WARMUP: u64 = 50;
const N: u64 = 1_000;

/// The placements `async_throughput --same-cpu` measures.
fn placements() -> Vec<Placement> {
    let mut p = vec![Placement::Unpinned];
    p.extend(Placement::cross_cpu());
    p.extend(Placement::same_cpu());
    p
}

fn one_way(model: Model, p: Placement) -> Sample {
    let case = Case {
        workload: Workload::OneWay,
        model,
        msg_size: 64,
        producers: 1,
        placement: p,
        between: Between::Threads,
    };
    case.run(WARMUP, N, None)
}

fn check_common(r: &Sample) {
    assert_eq!(r.sent, N, "{r:?}");
    assert_eq!(r.received, r.sent, "lost, duplicated or reordered: {r:?}");
    assert!(r.elapsed.as_nanos() > 0, "{r:?}");
    assert!(r.msgs_per_s().is_finite() && r.msgs_per_s() > 0.0, "{r:?}");
    let receives = r.receives.unwrap_or(r.received);
    assert!(receives >= 1 && receives <= r.received, "{r:?}");
}

#[test]
fn asyncmsg_counters_add_up() {
    for p in placements() {
        for trigger in [1u32, 8, 64, 256] {
            let r = one_way(Model::asyncmsg(trigger), p);
            check_common(&r);
            let receives = r.receives.expect("asyncmsg counts its gets");
            let k = r.kernel.expect("asyncmsg runs report kernel counters");
            let c = k.conn.expect("asyncmsg runs report connection stats");
            let (prod, cons) = (k.producer, k.consumer);
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
            let e = k.sender_entries() as f64 / r.sent as f64;
            assert!(e <= bound, "{p:?}/{trigger}: {e} > {bound}");
            // The consumer: one entry per asyncmsg_get (give or take the one in flight when
            // the timed part began), receiving every message and every byte.
            assert!(cons.kernel_entries > 0, "{cons:?}");
            assert_eq!(cons.async_msgs_received, N, "{cons:?}");
            assert_eq!(cons.bytes_copied, 64 * N, "{cons:?}");
            assert!(
                cons.async_batches_received.abs_diff(receives) <= 1,
                "{cons:?} vs {receives} receives"
            );
            assert!(
                cons.kernel_entries.abs_diff(receives) <= 1,
                "{cons:?} vs {receives} receives"
            );
            assert!(r.msgs_per_receive() <= 256.0);
        }
    }
}

#[test]
fn srr_counters_add_up() {
    for p in placements() {
        let r = one_way(Model::Srr, p);
        check_common(&r);
        assert_eq!(r.msgs_per_receive(), 1.0);
        let k = r.kernel.expect("SRR runs report kernel counters");
        assert!(k.conn.is_none());
        let (c, s) = (k.producer, k.consumer);
        // One MsgSend per message; a MsgReceive and a MsgReply per message.
        assert_eq!(c.kernel_entries, N, "{c:?}");
        assert_eq!(c.msgs_sent, N, "{c:?}");
        assert_eq!(s.msgs_received, N, "{s:?}");
        assert_eq!(s.replies, N, "{s:?}");
        assert!(s.kernel_entries.abs_diff(2 * N) <= 1, "{s:?}");
        assert_eq!(k.sender_entries() as f64 / r.sent as f64, 1.0);
    }
}

#[test]
fn crossbeam_delivers_everything() {
    for p in placements() {
        let r = one_way(Model::Crossbeam, p);
        check_common(&r);
        assert!(r.kernel.is_none());
    }
}
