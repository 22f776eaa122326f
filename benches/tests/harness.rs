//! The harness and both models, run tiny: they must produce figures and the SRR counters must
//! add up. Not a speed test: nothing here compares or bounds latencies.

use benches::harness::{record_round_trips, run_pair, Placement, RunStats, Summary};
use benches::models::{futex_round_trips, srr_round_trips, Model};

const WARMUP: u64 = 20;
const N: u64 = 200;

fn placements() -> Vec<Placement> {
    let p = Placement::available();
    assert!(!p.is_empty(), "the affinity mask names no CPU");
    p
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
fn run_pair_runs_both_sides_pinned() {
    for p in placements() {
        let out = run_pair(p, || 1, || 2);
        assert_eq!((out.client, out.server), (2, 1));
    }
}

#[test]
fn srr_model_produces_figures_and_consistent_counters() {
    for p in placements() {
        let r = srr_round_trips(p, WARMUP, N);
        assert_eq!(r.model, Model::Srr);
        assert!(r.reply_ok, "{p:?}: message or reply not intact");
        let st = RunStats::of(&r.trips.hist);
        assert_eq!(st.count, N);
        assert!(
            st.median_ns > 0 && st.p99_ns >= st.median_ns,
            "{p:?}: {st:?}"
        );
        assert!(r.trips.elapsed.as_nanos() > 0);

        let total = WARMUP + N;
        assert_eq!(r.trips.total, total);
        let k = r.kernel.expect("SRR runs report kernel counters");
        let (c, s) = (k.client, k.server);
        assert!(c.kernel_entries > 0 && s.kernel_entries > 0);
        // Messages: one send, one receive and one reply per round trip.
        assert_eq!(c.msgs_sent, total, "{p:?}: {k:?}");
        assert_eq!(s.msgs_received, total, "{p:?}: {k:?}");
        assert_eq!(s.replies, total, "{p:?}: {k:?}");
        // Entries: ConnectAttach + a MsgSend per round trip; ChannelCreate + MsgReceive and
        // MsgReply per round trip; the kernel-wide count is the two processes' sum.
        assert_eq!(c.kernel_entries, 1 + total, "{p:?}: {k:?}");
        assert_eq!(s.kernel_entries, 1 + 2 * total, "{p:?}: {k:?}");
        assert_eq!(k.kernel_entries, c.kernel_entries + s.kernel_entries);
        // Every reply readies the client; a send readies the server only if it was waiting.
        assert_eq!(s.wakeups, total, "{p:?}: {k:?}");
        assert!(c.wakeups <= total, "{p:?}: {k:?}");
        // MsgSend always blocks (SEND- or REPLY-blocked); MsgReceive only when nothing waits.
        assert_eq!(c.blocks, total, "{p:?}: {k:?}");
        assert!(s.blocks <= total, "{p:?}: {k:?}");
        assert_eq!(c.bytes_copied, 64 * total);
        assert_eq!(s.bytes_copied, 64 * total);
    }
}

#[test]
fn futex_model_produces_figures() {
    for p in placements() {
        let r = futex_round_trips(p, WARMUP, N);
        assert_eq!(r.model, Model::Futex);
        assert!(r.reply_ok, "{p:?}: message or reply not intact");
        assert!(r.kernel.is_none());
        assert_eq!(r.trips.total, WARMUP + N);
        let st = RunStats::of(&r.trips.hist);
        assert_eq!(st.count, N);
        assert!(
            st.median_ns > 0 && st.p99_ns >= st.median_ns,
            "{p:?}: {st:?}"
        );
    }
}
