//! The measuring harness: where threads run, how round trips are timed, how runs are summed up.
//!
//! A benchmark of a request/response mechanism is two threads, a *server* and a *client*,
//! started by [`run_pair`] on the CPUs of a [`Placement`]; the client times every round trip
//! with [`record_round_trips`]; each run gives a [`RunStats`], and [`Summary::of_runs`] reports
//! the median of the runs' medians.

use hdrhistogram::Histogram;
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::resource::{getrusage, UsageWho};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// Where the two threads of a ping-pong run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Both threads pinned to this one CPU: every hand-off is a context switch on that CPU.
    SameCpu(usize),
    /// Server pinned to the first CPU, client to the second: every hand-off is a cross-CPU
    /// wake-up.
    CrossCpu(usize, usize),
}

impl Placement {
    /// (server CPU, client CPU).
    pub fn cpus(self) -> (usize, usize) {
        match self {
            Placement::SameCpu(c) => (c, c),
            Placement::CrossCpu(s, c) => (s, c),
        }
    }

    /// A short stable name: `same-cpu` or `cross-cpu`.
    pub fn key(self) -> &'static str {
        match self {
            Placement::SameCpu(_) => "same-cpu",
            Placement::CrossCpu(..) => "cross-cpu",
        }
    }

    /// A human label with the CPUs, e.g. `same CPU (0,0)`.
    pub fn label(self) -> String {
        let (s, c) = self.cpus();
        match self {
            Placement::SameCpu(_) => format!("same CPU ({s},{c})"),
            Placement::CrossCpu(..) => format!("cross CPU ({s},{c})"),
        }
    }

    /// The placements this process can use: same CPU on the first allowed CPU and, if a
    /// second CPU is allowed, cross CPU on the first two. Empty only if the affinity mask
    /// cannot be read.
    pub fn available() -> Vec<Placement> {
        let cpus = allowed_cpus();
        match cpus.as_slice() {
            [] => Vec::new(),
            [a] => vec![Placement::SameCpu(*a)],
            [a, b, ..] => vec![Placement::SameCpu(*a), Placement::CrossCpu(*a, *b)],
        }
    }
}

/// The CPUs the calling thread may run on (its affinity mask), in increasing order.
pub fn allowed_cpus() -> Vec<usize> {
    let Ok(set) = sched_getaffinity(Pid::from_raw(0)) else {
        return Vec::new();
    };
    (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

/// Pins the calling thread to `cpu` (`sched_setaffinity` on the thread itself).
pub fn pin_current_thread(cpu: usize) -> nix::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set)
}

/// Context switches of the calling thread (`getrusage(RUSAGE_THREAD)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtxSwitches {
    /// Voluntary: the thread blocked.
    pub voluntary: u64,
    /// Involuntary: the thread was preempted.
    pub involuntary: u64,
}

impl CtxSwitches {
    /// The calling thread's counts so far (zero if getrusage fails).
    pub fn now() -> CtxSwitches {
        match getrusage(UsageWho::RUSAGE_THREAD) {
            Ok(u) => CtxSwitches {
                voluntary: u.voluntary_context_switches().max(0) as u64,
                involuntary: u.involuntary_context_switches().max(0) as u64,
            },
            Err(_) => CtxSwitches::default(),
        }
    }

    /// The switches between `earlier` and `self`.
    pub fn since(self, earlier: CtxSwitches) -> CtxSwitches {
        CtxSwitches {
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary: self.involuntary.saturating_sub(earlier.involuntary),
        }
    }
}

/// Highest latency the histograms track: 10 s, in nanoseconds (larger values are clamped).
pub const MAX_TRACKED_NS: u64 = 10_000_000_000;

/// A fresh latency histogram: 1 ns to [`MAX_TRACKED_NS`], 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    // Bounds are constants that satisfy hdrhistogram's requirements (low >= 1, high >= 2 * low,
    // sigfig <= 5), so construction cannot fail.
    Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3).expect("constant histogram bounds")
}

/// The latencies of one measured run.
#[derive(Debug)]
pub struct RoundTrips {
    /// One entry per measured round trip, in nanoseconds.
    pub hist: Histogram<u64>,
    /// Round trips made in all, warm-up included.
    pub total: u64,
    /// Wall time of the measured round trips.
    pub elapsed: Duration,
}

/// Runs `warmup` untimed round trips, then `n` timed ones, recording each one's latency.
///
/// Timestamps are chained (one clock read per round trip: the end of one is the start of the
/// next), so the recording itself, a few nanoseconds, is charged to the following round trip.
pub fn record_round_trips(warmup: u64, n: u64, mut round_trip: impl FnMut()) -> RoundTrips {
    for _ in 0..warmup {
        round_trip();
    }
    let mut hist = new_histogram();
    let start = Instant::now();
    let mut t0 = start;
    for _ in 0..n {
        round_trip();
        let t1 = Instant::now();
        hist.saturating_record(u64::try_from((t1 - t0).as_nanos()).unwrap_or(u64::MAX));
        t0 = t1;
    }
    RoundTrips {
        hist,
        total: warmup + n,
        elapsed: t0 - start,
    }
}

/// What [`run_pair`] gives back: both closures' results and both threads' context switches.
#[derive(Debug)]
pub struct PairOutcome<C, S> {
    /// The client closure's result.
    pub client: C,
    /// The server closure's result.
    pub server: S,
    /// Context switches of the client thread while its closure ran.
    pub client_csw: CtxSwitches,
    /// Context switches of the server thread while its closure ran.
    pub server_csw: CtxSwitches,
}

/// Aborts the process if dropped while its thread panics: a measurement whose one thread died
/// would leave the others blocked forever (at a barrier, for a message, or in the scope joining
/// them), so fail loudly instead. The field names the thread for the message, e.g.
/// `"benches: a ping-pong thread"`.
pub(crate) struct AbortOnPanic(pub(crate) &'static str);

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{} panicked; aborting instead of hanging", self.0);
            std::process::abort();
        }
    }
}

/// Runs `server` and `client` on two new threads pinned as `placement` says (server on the
/// first CPU, client on the second) and returns both results. The closures do their own
/// set-up and hand-shake; each is given its pinned thread before it starts. A panic in either
/// thread aborts the process (see [`AbortOnPanic`]).
pub fn run_pair<C, S>(
    placement: Placement,
    server: impl FnOnce() -> S + Send,
    client: impl FnOnce() -> C + Send,
) -> PairOutcome<C, S>
where
    C: Send,
    S: Send,
{
    let (scpu, ccpu) = placement.cpus();
    std::thread::scope(|s| {
        let sh = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn_scoped(s, move || {
                let _guard = AbortOnPanic("benches: a ping-pong thread");
                pin_current_thread(scpu).expect("pinning the server thread");
                let before = CtxSwitches::now();
                let r = server();
                (r, CtxSwitches::now().since(before))
            })
            .expect("spawning the server thread");
        let ch = std::thread::Builder::new()
            .name("bench-client".into())
            .spawn_scoped(s, move || {
                let _guard = AbortOnPanic("benches: a ping-pong thread");
                pin_current_thread(ccpu).expect("pinning the client thread");
                let before = CtxSwitches::now();
                let r = client();
                (r, CtxSwitches::now().since(before))
            })
            .expect("spawning the client thread");
        // Both threads abort the process on panic, so joins only fail if that guard is gone.
        let (client, client_csw) = ch.join().expect("client thread");
        let (server, server_csw) = sh.join().expect("server thread");
        PairOutcome {
            client,
            server,
            client_csw,
            server_csw,
        }
    })
}

/// The figures of one run, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunStats {
    /// Median round trip.
    pub median_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Mean.
    pub mean_ns: f64,
    /// Slowest.
    pub max_ns: u64,
    /// Round trips measured.
    pub count: u64,
}

impl RunStats {
    /// The figures of a latency histogram.
    pub fn of(h: &Histogram<u64>) -> RunStats {
        RunStats {
            median_ns: h.value_at_quantile(0.5),
            p99_ns: h.value_at_quantile(0.99),
            mean_ns: h.mean(),
            max_ns: h.max(),
            count: h.len(),
        }
    }
}

/// The median of `v` (mean of the middle two for an even count); NaN for an empty slice.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// Several runs of one (model, placement), summed up robustly.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Every run's figures, in the order measured.
    pub runs: Vec<RunStats>,
    /// Median of the runs' medians, in nanoseconds.
    pub median_ns: f64,
    /// Median of the runs' 99th percentiles, in nanoseconds.
    pub p99_ns: f64,
    /// Lowest of the runs' medians.
    pub min_median_ns: f64,
    /// Highest of the runs' medians.
    pub max_median_ns: f64,
}

impl Summary {
    /// The summary of `runs` (figures are NaN when there are none).
    pub fn of_runs(runs: &[RunStats]) -> Summary {
        let meds: Vec<f64> = runs.iter().map(|r| r.median_ns as f64).collect();
        let p99s: Vec<f64> = runs.iter().map(|r| r.p99_ns as f64).collect();
        Summary {
            runs: runs.to_vec(),
            median_ns: median(&meds),
            p99_ns: median(&p99s),
            min_median_ns: meds.iter().copied().fold(f64::NAN, f64::min),
            max_median_ns: meds.iter().copied().fold(f64::NAN, f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn summary_takes_median_of_medians() {
        let r = |m| RunStats {
            median_ns: m,
            p99_ns: m * 2,
            mean_ns: m as f64,
            max_ns: m * 3,
            count: 1,
        };
        let s = Summary::of_runs(&[r(10), r(30), r(20)]);
        assert_eq!(s.median_ns, 20.0);
        assert_eq!(s.p99_ns, 40.0);
        assert_eq!(s.min_median_ns, 10.0);
        assert_eq!(s.max_median_ns, 30.0);
    }
}
