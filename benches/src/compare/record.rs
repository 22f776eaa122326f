//! One figure of the comparison: what a model did on a workload, and how it was measured.
//!
//! This is the contract between the measuring code ([`super::workloads`], [`super::baselines`])
//! and the outputs ([`super::report`], [`super::plot`]): every table row, JSON object, CSV line
//! and plotted point is one [`Record`].
//!
//! A [`Record`] serialises (serde) as one object of the JSON's `results`, its fields in the
//! order `docs/outputs.md` documents; the CSV line is [`super::schema::CsvRow`].

use super::schema::{figure, figures, opt_figure, ratios};
use serde::{Deserialize, Serialize};

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
    /// The mechanism: `SRR`, `asyncmsg`, `asyncmsg+1ms`, `futex`, `pipe`, `unix-socket`,
    /// `crossbeam`, `spsc-ring`.
    pub model: String,
    /// What a table or plot legend shows: `asyncmsg/64` for asyncmsg, else the model (set by
    /// [`Record::new`]).
    pub label: String,
    /// What was measured.
    pub workload: Workload,
    /// Bytes per message (per request for round trips; replies are the same size).
    pub msg_size: usize,
    /// asyncmsg's `trigger_num_msg`; 1 for every other model.
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
    /// Threads the simulated kernel woke, per message. `None` for baselines.
    #[serde(with = "opt_figure")]
    pub wakeups_per_msg: Option<f64>,
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
            p50_us: None,
            p99_us: None,
            p999_us: None,
            kernel_entries_per_msg: None,
            sender_entries_per_msg: None,
            wakeups_per_msg: None,
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

    /// The ratio against `baseline`, if computed.
    pub fn ratio(&self, baseline: &str) -> Option<f64> {
        self.ratios
            .iter()
            .find(|(b, _)| b == baseline)
            .map(|&(_, r)| r)
    }
}
