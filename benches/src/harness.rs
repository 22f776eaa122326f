//! The measuring harness every benchmark here shares (`compare`, `srr_roundtrip`,
//! `async_throughput`, `roundtrip_profile`): where threads run, how a run's threads meet, how
//! round trips are timed and how runs are summed up. The models themselves are in
//! [`crate::compare::workloads`] (the simulated kernel's) and [`crate::compare::baselines`].
//!
//! * [`Placement`]: the one description of where a run's threads go: unpinned, all on one CPU,
//!   or the consumer (server) on one CPU and every producer (client) on another.
//! * [`run_threads`] starts a consumer thread and P producer threads pinned as a [`Placement`]
//!   says. Each does its set-up and warm-up, then meets the others at [`Phases::start`]; the
//!   timed part runs until [`Phases::finish`]. Between the phases the calling thread takes the
//!   snapshots: `getrusage(RUSAGE_SELF)` ([`Usage`]) and whatever the model counts (the
//!   simulated kernel's counters).
//! * [`record_round_trips`] times every round trip into an [`hdrhistogram::Histogram`].
//! * [`median`], [`min_max`], [`RunStats`] and [`Summary`]: medians and ranges of runs.

use hdrhistogram::Histogram;
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::resource::{getrusage, UsageWho};
use nix::unistd::Pid;
use std::sync::Barrier;
use std::time::{Duration, Instant};

// ----------------------------------------------------------------------------- placements

/// Where a run's threads go. Round trips have one client (the producer side) and one server
/// (the consumer side).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Placement {
    /// No thread pinned: Linux places them (and may move them).
    Unpinned,
    /// The consumer (server) and every producer (client) pinned to this one CPU: every
    /// hand-off is a context switch on that CPU.
    SameCpu(usize),
    /// The consumer (server) pinned to one CPU, every producer (client) to another: every
    /// hand-off is a cross-CPU wake-up.
    CrossCpu {
        /// The consumer's (receiver's, server's) CPU.
        consumer: usize,
        /// The producers' (senders', clients') CPU.
        producer: usize,
    },
}

impl Placement {
    /// A short stable name: `unpinned`, `same-cpu` or `cross-cpu`.
    pub fn key(self) -> &'static str {
        match self {
            Placement::Unpinned => "unpinned",
            Placement::SameCpu(_) => "same-cpu",
            Placement::CrossCpu { .. } => "cross-cpu",
        }
    }

    /// (consumer CPU, producer CPU), if pinned.
    pub fn cpus(self) -> Option<(usize, usize)> {
        match self {
            Placement::Unpinned => None,
            Placement::SameCpu(c) => Some((c, c)),
            Placement::CrossCpu { consumer, producer } => Some((consumer, producer)),
        }
    }

    /// A human label with the CPUs, e.g. `cross CPU (c0,p1)` (c = consumer, p = producer).
    pub fn label(self) -> String {
        match self {
            Placement::Unpinned => "unpinned".into(),
            Placement::SameCpu(c) => format!("same CPU ({c})"),
            Placement::CrossCpu { consumer, producer } => {
                format!("cross CPU (c{consumer},p{producer})")
            }
        }
    }

    /// Every thread on the first allowed CPU (None if the affinity mask cannot be read).
    pub fn same_cpu() -> Option<Placement> {
        allowed_cpus().first().map(|&c| Placement::SameCpu(c))
    }

    /// The consumer on the first allowed CPU, the producers on the second (None with one CPU).
    pub fn cross_cpu() -> Option<Placement> {
        match allowed_cpus().as_slice() {
            [a, b, ..] => Some(Placement::CrossCpu {
                consumer: *a,
                producer: *b,
            }),
            _ => None,
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

/// Names the calling thread as Linux shows it (`/proc/.../comm`, top, pidin-style tools). The
/// measuring threads take their names only once pinned, so that a thread seen by its name is
/// already on the CPU its placement states (a name given at spawn would show it for a moment on
/// every allowed CPU). A name longer than Linux's 15 bytes is cut by the kernel; a failure only
/// leaves the inherited name.
pub fn name_current_thread(name: &std::ffi::CStr) {
    let _ = nix::sys::prctl::set_name(name);
}

// ----------------------------------------------------------------------------- a run's threads

/// Resource usage of the whole process (`getrusage(RUSAGE_SELF)`: every thread, finished ones
/// included), or the difference of two snapshots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Voluntary context switches (a thread blocked).
    pub voluntary: u64,
    /// Involuntary context switches (a thread was preempted).
    pub involuntary: u64,
    /// User plus system CPU time, nanoseconds.
    pub cpu_ns: u64,
}

impl Usage {
    /// The process's usage so far (zero if getrusage fails).
    pub fn now() -> Usage {
        match getrusage(UsageWho::RUSAGE_SELF) {
            Ok(u) => {
                let ns = |t: nix::sys::time::TimeVal| {
                    (t.tv_sec().max(0) as u64) * 1_000_000_000 + (t.tv_usec().max(0) as u64) * 1000
                };
                Usage {
                    voluntary: u.voluntary_context_switches().max(0) as u64,
                    involuntary: u.involuntary_context_switches().max(0) as u64,
                    cpu_ns: ns(u.user_time()) + ns(u.system_time()),
                }
            }
            Err(_) => Usage::default(),
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: Usage) -> Usage {
        Usage {
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary: self.involuntary.saturating_sub(earlier.involuntary),
            cpu_ns: self.cpu_ns.saturating_sub(earlier.cpu_ns),
        }
    }

    /// The usage of two processes together (a run between processes counts both).
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            voluntary: self.voluntary + other.voluntary,
            involuntary: self.involuntary + other.involuntary,
            cpu_ns: self.cpu_ns + other.cpu_ns,
        }
    }
}

/// Aborts the process if dropped while its thread panics: a measurement whose one thread died
/// would leave the others blocked forever (at a barrier, for a message, or in the scope joining
/// them), so fail loudly instead. The field names the thread for the message, e.g.
/// `"benches: a measuring thread"`.
pub(crate) struct AbortOnPanic(pub(crate) &'static str);

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{} panicked; aborting instead of hanging", self.0);
            std::process::abort();
        }
    }
}

/// The meeting points of a run's threads: every worker calls [`Phases::start`] after its
/// warm-up and [`Phases::finish`] after its timed part; the thread that called
/// [`run_threads`] takes its snapshots while they wait.
#[derive(Debug)]
pub struct Phases {
    ready: Barrier,
    go: Barrier,
    done: Barrier,
    release: Barrier,
}

impl Phases {
    fn new(workers: usize) -> Phases {
        Phases {
            ready: Barrier::new(workers + 1),
            go: Barrier::new(workers + 1),
            done: Barrier::new(workers + 1),
            release: Barrier::new(workers + 1),
        }
    }

    /// Warm-up done: wait until every worker is, and the start snapshots are taken.
    pub fn start(&self) {
        self.ready.wait();
        self.go.wait();
    }

    /// Timed part done: wait until every worker is, and the end snapshots are taken (only then
    /// may a worker detach, unbind or otherwise change what the snapshots count).
    pub fn finish(&self) {
        self.done.wait();
        self.release.wait();
    }
}

/// The two marks each measuring side makes in a run: its warm-up is done ([`Marks::start`]:
/// the timed part begins once every side has made it) and its timed part is done
/// ([`Marks::finish`]). The sides of a run in one process meet at barriers ([`Phases`]); the
/// two processes of a run between processes exchange lines instead
/// ([`crate::compare::xproc`]). The models' loops ([`crate::compare::baselines::OneWay`]'s
/// `consume` and `produce`, `client_round_trips`) take either.
pub trait Marks {
    /// Warm-up done: returns when the timed part begins.
    fn start(&self);
    /// Timed part done: returns when the run's end has been recorded.
    fn finish(&self);
}

impl Marks for Phases {
    fn start(&self) {
        Phases::start(self);
    }

    fn finish(&self) {
        Phases::finish(self);
    }
}

/// What [`run_threads`] gives back.
#[derive(Debug)]
pub struct Threads<K, C, P> {
    /// The consumer's result.
    pub consumer: C,
    /// The producers' results, by index.
    pub producers: Vec<P>,
    /// When the timed part began (just before the workers were released).
    pub start: Instant,
    /// The process's usage from the start to the moment every worker had finished.
    pub usage: Usage,
    /// The model's snapshot at the start...
    pub before: K,
    /// ... and at the end.
    pub after: K,
}

/// Runs `consumer` on one new thread and `producer(0..producers)` on `producers` more, pinned
/// as `placement` says (consumer on its CPU, every producer on the producer CPU; none pinned
/// when unpinned). Each worker must call [`Phases::start`] and then [`Phases::finish`] exactly
/// once. `snapshot` is called at the start and at the end of the timed part, while every worker
/// waits. A panic in a worker aborts the process.
pub fn run_threads<K, C, P>(
    placement: Placement,
    producers: u32,
    snapshot: impl Fn() -> K,
    consumer: impl FnOnce(&Phases) -> C + Send,
    producer: impl Fn(u32, &Phases) -> P + Sync,
) -> Threads<K, C, P>
where
    C: Send,
    P: Send,
{
    let ph = Phases::new(producers as usize + 1);
    let cpus = placement.cpus();
    let (ph, producer) = (&ph, &producer);
    std::thread::scope(|s| {
        let ch = std::thread::Builder::new()
            .spawn_scoped(s, move || {
                let _g = AbortOnPanic("benches: a measuring thread");
                if let Some((c, _)) = cpus {
                    pin_current_thread(c).expect("pinning the consumer thread");
                }
                name_current_thread(c"cmp-consumer");
                consumer(ph)
            })
            .expect("spawning the consumer thread");
        let phs: Vec<_> = (0..producers)
            .map(|i| {
                std::thread::Builder::new()
                    .spawn_scoped(s, move || {
                        let _g = AbortOnPanic("benches: a measuring thread");
                        if let Some((_, p)) = cpus {
                            pin_current_thread(p).expect("pinning a producer thread");
                        }
                        let name = std::ffi::CString::new(format!("cmp-producer-{i}"))
                            .expect("a thread name has no NUL");
                        name_current_thread(&name);
                        producer(i, ph)
                    })
                    .expect("spawning a producer thread")
            })
            .collect();
        ph.ready.wait();
        let before = snapshot();
        let u0 = Usage::now();
        let start = Instant::now();
        ph.go.wait();
        ph.done.wait();
        let usage = Usage::now().since(u0);
        let after = snapshot();
        ph.release.wait();
        // Workers abort the process on panic, so joins fail only if that guard is gone.
        let producers = phs
            .into_iter()
            .map(|h| h.join().expect("producer thread"))
            .collect();
        let consumer = ch.join().expect("consumer thread");
        Threads {
            consumer,
            producers,
            start,
            usage,
            before,
            after,
        }
    })
}

// ----------------------------------------------------------------------------- round trips

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

// ----------------------------------------------------------------------------- summaries

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

/// The lowest and highest finite values of `v` (the spread of a figure over runs); `None` when
/// no value is finite. A value that is NaN or infinite (a run that measured nothing) is left
/// out rather than stretching the range to infinity.
pub fn min_max(v: &[f64]) -> Option<(f64, f64)> {
    v.iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(None, |acc, x| match acc {
            None => Some((x, x)),
            Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
        })
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
    fn min_max_spans_the_finite_values() {
        assert_eq!(min_max(&[3.0, 1.0, 2.0]), Some((1.0, 3.0)));
        assert_eq!(min_max(&[5.0]), Some((5.0, 5.0)));
        assert_eq!(
            min_max(&[f64::NAN, 4.0, f64::INFINITY, 2.0]),
            Some((2.0, 4.0))
        );
        assert_eq!(min_max(&[]), None);
        assert_eq!(min_max(&[f64::NAN]), None);
        // A run that measured zero messages is a finite value: it belongs in the range.
        assert_eq!(min_max(&[0.0, 7.0]), Some((0.0, 7.0)));
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

    #[test]
    fn placements_name_their_cpus() {
        let cross = Placement::CrossCpu {
            consumer: 0,
            producer: 1,
        };
        assert_eq!((cross.key(), cross.cpus()), ("cross-cpu", Some((0, 1))));
        assert_eq!(cross.label(), "cross CPU (c0,p1)");
        assert_eq!(Placement::SameCpu(3).cpus(), Some((3, 3)));
        assert_eq!(Placement::Unpinned.cpus(), None);
        // Pinned placements exist for the CPUs this process may use, and only for them.
        let allowed = allowed_cpus();
        assert_eq!(
            Placement::same_cpu().and_then(Placement::cpus),
            allowed.first().map(|&c| (c, c))
        );
        assert_eq!(Placement::cross_cpu().is_some(), allowed.len() >= 2);
    }
}
