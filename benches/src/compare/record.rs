//! One figure of the comparison: what a model did on a workload, and how it was measured.
//!
//! This is the contract between the measuring code ([`super::workloads`], [`super::baselines`])
//! and the outputs ([`super::report`], [`super::plot`]): every table row, JSON object, CSV line
//! and plotted point is one [`Record`].
//!
//! A [`Record`] serialises (serde) as one object of the JSON's `results`, its fields in the
//! order `docs/outputs.md` documents; the CSV line is [`super::schema::CsvRow`].

use super::schema::{figure, figures, opt_figure, ratios};
use crate::harness::min_max;
use serde::{Deserialize, Serialize};

/// A paced row whose achieved rate (its median) is below this fraction of the requested pace
/// missed its pace ([`pace_missed`]): its latencies were measured at a lower load than the row
/// says.
pub const PACE_TOLERANCE: f64 = 0.95;

/// Whether a paced run that `achieved` messages per second missed its `nominal` pace: it
/// achieved less than [`PACE_TOLERANCE`] of it (or nothing measurable: NaN counts as missed).
pub fn pace_missed(achieved: f64, nominal: f64) -> bool {
    achieved.is_nan() || achieved < PACE_TOLERANCE * nominal
}

/// What was measured. Serialised as its [`Workload::key`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// A request and its reply between two threads, one at a time: latency per round trip
    /// (p50/p99/p999) and round trips per second. A "message" is one round trip.
    RoundTrip,
    /// Producers send as fast as they can to one consumer: messages per second, and the
    /// put-to-receipt latency under that load.
    OneWay,
    /// One producer sends at a fixed rate well below saturation: put-to-receipt latency, which
    /// shows what batching costs a message that waits for its batch to fill.
    Paced,
}

impl Workload {
    /// The stable name used in JSON, CSV and tables.
    pub fn key(self) -> &'static str {
        match self {
            Workload::RoundTrip => "round-trip",
            Workload::OneWay => "one-way",
            Workload::Paced => "paced",
        }
    }
}

/// One model on one workload configuration: the medians of `runs` runs. The fields are in the
/// order of the JSON's keys; a figure that is absent or not finite is written as `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The mechanism: `SRR`, `asyncmsg`, `asyncmsg+1ms`, `futex`, `spin-futex`, `pipe`,
    /// `unix-socket`, `crossbeam`, `spsc-ring`, `spsc-batch`.
    pub model: String,
    /// What a table or plot legend shows: `asyncmsg/64` for asyncmsg, else the model (set by
    /// [`Record::new`]).
    pub label: String,
    /// What was measured.
    pub workload: Workload,
    /// Bytes per message (per request for round trips; replies are the same size).
    pub msg_size: usize,
    /// asyncmsg's `trigger_num_msg`; for `spsc-batch`, the messages the producer writes
    /// between two publications of the ring's tail; 1 for every other model.
    pub batch: u32,
    /// Producer (client) threads; each asyncmsg producer has its own connection to the one
    /// channel, each SRR client its own connection.
    pub producers: u32,
    /// Where the threads ran: `same-cpu`, `cross-cpu` or `unpinned` (see the report header for
    /// the CPU numbers).
    pub placement: String,
    /// Runs measured; the figures below are medians over them.
    pub runs: u32,
    /// Messages (round trips) measured per run, warm-up excluded.
    pub msgs_per_run: u64,
    /// Messages the producers sent in the timed part of the last run.
    pub msgs_sent: u64,
    /// Messages the consumer received (and checked) in the timed part of the last run.
    pub msgs_received: u64,
    /// Messages (round trips) per second: the median of [`Record::run_msgs_per_s`].
    #[serde(with = "figure")]
    pub msgs_per_s: f64,
    /// The slowest run's rate ([`min_max`] of [`Record::run_msgs_per_s`]): with
    /// [`Record::msgs_per_s_max`], the spread of the rate over the runs. `None` without runs.
    /// Absent from files before schema version 3.
    #[serde(default, with = "opt_figure")]
    pub msgs_per_s_min: Option<f64>,
    /// The fastest run's rate.
    #[serde(default, with = "opt_figure")]
    pub msgs_per_s_max: Option<f64>,
    /// Paced runs: the rate the producer was asked to send at; `None` for other workloads.
    #[serde(default, with = "opt_figure")]
    pub nominal_msgs_per_s: Option<f64>,
    /// Paced runs: whether the median rate achieved fell below [`PACE_TOLERANCE`] of
    /// [`Record::nominal_msgs_per_s`] ([`pace_missed`]); `None` for other workloads.
    #[serde(default)]
    pub pace_missed: Option<bool>,
    /// Latency percentiles in microseconds: per round trip, or put-to-receipt for one-way and
    /// paced runs. `None` where not measured.
    #[serde(with = "opt_figure")]
    pub p50_us: Option<f64>,
    /// 99th percentile, microseconds.
    #[serde(with = "opt_figure")]
    pub p99_us: Option<f64>,
    /// 99.9th percentile, microseconds.
    #[serde(with = "opt_figure")]
    pub p999_us: Option<f64>,
    /// Simulated-kernel entries per message, all processes (producers, consumer, asyncmsg
    /// library thread). `None` for baselines that do not use the simulated kernel.
    #[serde(with = "opt_figure")]
    pub kernel_entries_per_msg: Option<f64>,
    /// Simulated-kernel entries per message made by the producing side alone (for asyncmsg:
    /// its triggers; the target "≤ 1/batch + 0.01" is about this one).
    #[serde(with = "opt_figure")]
    pub sender_entries_per_msg: Option<f64>,
    /// Threads the simulated kernel readied, per message (the kernel's `wakeups` counter: a
    /// waiter caught while spinning is readied without a futex wake). `None` for baselines.
    #[serde(with = "opt_figure")]
    pub wakeups_per_msg: Option<f64>,
    /// Blocks that spun on their wait word before sleeping, per message (the kernel's `spins`
    /// counter: the waker ran on another CPU). `None` for baselines and for files before schema
    /// version 3.
    #[serde(default, with = "opt_figure")]
    pub spins_per_msg: Option<f64>,
    /// Of those, the ones whose wake-up came while spinning (no futex sleep), per message.
    #[serde(default, with = "opt_figure")]
    pub spin_wakeups_per_msg: Option<f64>,
    /// Voluntary plus involuntary context switches of the whole process per message
    /// (`getrusage(RUSAGE_SELF)` over the timed part).
    #[serde(with = "figure")]
    pub ctx_switches_per_msg: f64,
    /// Voluntary context switches per message (a thread blocked).
    #[serde(with = "figure")]
    pub voluntary_csw_per_msg: f64,
    /// Involuntary context switches per message (a thread was preempted).
    #[serde(with = "figure")]
    pub involuntary_csw_per_msg: f64,
    /// User plus system CPU time of the whole process per message, nanoseconds.
    #[serde(with = "figure")]
    pub cpu_ns_per_msg: f64,
    /// Messages (round trips) per second of each run, in round order: entry `i` was measured in
    /// round `i`, in which every case of the plan ran once, back to back (see
    /// [`super::workloads::run_plan`]). Runs of the same round are close in time, so the ratio
    /// of two records' round-`i` figures is little affected by the machine's drift between
    /// rounds ([`super::report::paired_ratio`]). Empty for a record not made from runs. In the
    /// JSON only.
    #[serde(with = "figures", default)]
    pub run_msgs_per_s: Vec<f64>,
    /// Ratios of `msgs_per_s` against baselines of the same workload, size and placement, as
    /// `(baseline model, ratio)`: ratios of medians, filled in by
    /// [`super::report::add_ratios`]. A JSON object, baseline → ratio, in this order.
    #[serde(with = "ratios")]
    pub ratios: Vec<(String, f64)>,
}

impl Record {
    /// A record with the identifying fields set and every figure empty (zero or `None`).
    pub fn new(
        model: &str,
        workload: Workload,
        msg_size: usize,
        batch: u32,
        producers: u32,
        placement: &str,
    ) -> Record {
        let label = if model == "asyncmsg" {
            format!("asyncmsg/{batch}")
        } else {
            model.to_string()
        };
        Record {
            model: model.to_string(),
            label,
            workload,
            msg_size,
            batch,
            producers,
            placement: placement.to_string(),
            runs: 0,
            msgs_per_run: 0,
            msgs_sent: 0,
            msgs_received: 0,
            msgs_per_s: 0.0,
            msgs_per_s_min: None,
            msgs_per_s_max: None,
            nominal_msgs_per_s: None,
            pace_missed: None,
            p50_us: None,
            p99_us: None,
            p999_us: None,
            kernel_entries_per_msg: None,
            sender_entries_per_msg: None,
            wakeups_per_msg: None,
            spins_per_msg: None,
            spin_wakeups_per_msg: None,
            ctx_switches_per_msg: 0.0,
            voluntary_csw_per_msg: 0.0,
            involuntary_csw_per_msg: 0.0,
            cpu_ns_per_msg: 0.0,
            run_msgs_per_s: Vec::new(),
            ratios: Vec::new(),
        }
    }

    /// The name a table or plot legend shows: `asyncmsg/64` for asyncmsg, else the model.
    pub fn label(&self) -> String {
        self.label.clone()
    }

    /// Sets the runs' rates, in round order, with their median and range.
    pub fn set_run_rates(&mut self, rates: Vec<f64>) {
        self.msgs_per_s = crate::harness::median(&rates);
        let range = min_max(&rates);
        self.msgs_per_s_min = range.map(|r| r.0);
        self.msgs_per_s_max = range.map(|r| r.1);
        self.run_msgs_per_s = rates;
    }

    /// For a paced record: the pace it was asked for, and whether its median rate missed it.
    pub fn set_pace(&mut self, nominal: f64) {
        self.nominal_msgs_per_s = Some(nominal);
        self.pace_missed = Some(pace_missed(self.msgs_per_s, nominal));
    }

    /// The ratio against `baseline`, if computed.
    pub fn ratio(&self, baseline: &str) -> Option<f64> {
        self.ratios
            .iter()
            .find(|(b, _)| b == baseline)
            .map(|&(_, r)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_missed_below_95_percent_of_nominal() {
        assert!(!pace_missed(20_000.0, 20_000.0));
        assert!(!pace_missed(19_000.0, 20_000.0), "95% exactly is kept");
        assert!(pace_missed(18_999.0, 20_000.0));
        assert!(
            !pace_missed(25_000.0, 20_000.0),
            "faster than asked is no miss"
        );
        assert!(pace_missed(0.0, 20_000.0));
        assert!(
            pace_missed(f64::NAN, 20_000.0),
            "nothing measured is a miss"
        );
    }

    #[test]
    fn run_rates_set_median_and_range_and_pace_its_flag() {
        let mut r = Record::new("SRR", Workload::Paced, 64, 1, 1, "cross-cpu");
        assert_eq!((r.msgs_per_s_min, r.msgs_per_s_max), (None, None));
        assert_eq!((r.nominal_msgs_per_s, r.pace_missed), (None, None));
        r.set_run_rates(vec![19_800.0, 14_000.0, 18_500.0]);
        assert_eq!(r.run_msgs_per_s, [19_800.0, 14_000.0, 18_500.0]);
        assert_eq!(r.msgs_per_s, 18_500.0);
        assert_eq!(
            (r.msgs_per_s_min, r.msgs_per_s_max),
            (Some(14_000.0), Some(19_800.0))
        );
        // The median (18.5k) is 92.5% of 20k: missed, though the best run kept the pace.
        r.set_pace(20_000.0);
        assert_eq!(
            (r.nominal_msgs_per_s, r.pace_missed),
            (Some(20_000.0), Some(true))
        );
        r.set_pace(19_000.0);
        assert_eq!(r.pace_missed, Some(false));
        // No runs: no range.
        r.set_run_rates(Vec::new());
        assert_eq!((r.msgs_per_s_min, r.msgs_per_s_max), (None, None));
        assert!(r.msgs_per_s.is_nan());
    }
}
