//! The harness and the round-trip models `srr_roundtrip` runs, run tiny: they must produce
//! figures and the SRR counters must add up. Not a speed test: nothing here compares or bounds
//! latencies.

use benches::compare::baselines::Sample;
use benches::compare::record::Workload;
use benches::compare::workloads::{Between, Case, Model};
use benches::harness::{record_round_trips, run_threads, Placement, RunStats, Summary};

const WARMUP: u64 = 20;
const N: u64 = 200;

/// The placements `srr_roundtrip` measures: same CPU and, with two CPUs, cross CPU.
fn placements() -> Vec<Placement> {
    let p: Vec<Placement> = Placement::same_cpu()
        .into_iter()
        .chain(Placement::cross_cpu())
        .collect();
    assert!(!p.is_empty(), "the affinity mask names no CPU");
    p
}

fn round_trips(model: Model, p: Placement) -> Sample {
    let case = Case {
        workload: Workload::RoundTrip,
        model,
        msg_size: 64,
        producers: 1,
        placement: p,
        between: Between::Threads,
    };
    case.run(WARMUP, N, None)
}

#[test]
fn record_round_trips_counts_and_times() {
    let mut calls = 0u64;
    let t = record_round_trips(5, 50, || {
        calls += 1;
        std::hint::black_box(calls);
    });
    assert_eq!(calls, 55);
    assert_eq!(t.total, 55);
    assert_eq!(t.hist.len(), 50);
    let s = Summary::of_runs(&[RunStats::of(&t.hist)]);
    assert_eq!(s.runs.len(), 1);
    assert!(s.median_ns >= 1.0 && s.p99_ns >= s.median_ns);
}

#[test]
fn run_threads_runs_every_side_pinned() {
    for p in placements() {
        let (consumer_cpu, producer_cpu) = p.cpus().expect("pinned");
        let out = run_threads(
            p,
            2,
            || (),
            |ph| {
                ph.start();
                ph.finish();
                (1, benches::harness::allowed_cpus())
            },
            |i, ph| {
                ph.start();
                ph.finish();
                (10 + i, benches::harness::allowed_cpus())
            },
        );
        assert_eq!(out.consumer, (1, vec![consumer_cpu]));
        assert_eq!(
            out.producers,
            [(10, vec![producer_cpu]), (11, vec![producer_cpu])]
        );
    }
}

#[test]
fn srr_model_produces_figures_and_consistent_counters() {
    for p in placements() {
        let s = round_trips(Model::Srr, p);
        assert_eq!(s.sent, N);
        assert_eq!(s.received, N, "{p:?}: a message or reply not intact");
        let st = RunStats::of(&s.latency);
        assert_eq!(st.count, N);
        assert!(
            st.median_ns > 0 && st.p99_ns >= st.median_ns,
            "{p:?}: {st:?}"
        );
        assert!(s.elapsed.as_nanos() > 0);

        // The counters cover the timed part: N round trips, warm-up and set-up excluded.
        let k = s.kernel.expect("SRR runs report kernel counters");
        let (c, sv) = (k.producer, k.consumer);
        // Messages: one send, one receive and one reply per round trip.
        assert_eq!(c.msgs_sent, N, "{p:?}: {k:?}");
        assert_eq!(sv.msgs_received, N, "{p:?}: {k:?}");
        assert_eq!(sv.replies, N, "{p:?}: {k:?}");
        // Entries: a MsgSend per round trip; a MsgReceive and a MsgReply per round trip; the
        // kernel-wide count is the two processes' sum.
        assert_eq!(c.kernel_entries, N, "{p:?}: {k:?}");
        assert_eq!(sv.kernel_entries, 2 * N, "{p:?}: {k:?}");
        assert_eq!(k.kernel_entries, c.kernel_entries + sv.kernel_entries);
        // Every reply readies the client; a send readies the server only if it was waiting.
        assert_eq!(sv.wakeups, N, "{p:?}: {k:?}");
        assert!(c.wakeups <= N, "{p:?}: {k:?}");
        // MsgSend always blocks (SEND- or REPLY-blocked); MsgReceive only when nothing waits.
        assert_eq!(c.blocks, N, "{p:?}: {k:?}");
        assert!(sv.blocks <= N, "{p:?}: {k:?}");
        assert_eq!(c.bytes_copied, 64 * N);
        assert_eq!(sv.bytes_copied, 64 * N);
    }
}

#[test]
fn futex_model_produces_figures() {
    for p in placements() {
        let s = round_trips(Model::Futex, p);
        assert_eq!((s.sent, s.received), (N, N), "{p:?}: not intact");
        assert!(s.kernel.is_none());
        let st = RunStats::of(&s.latency);
        assert_eq!(st.count, N);
        assert!(
            st.median_ns > 0 && st.p99_ns >= st.median_ns,
            "{p:?}: {st:?}"
        );
    }
}
