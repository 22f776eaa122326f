//! The comparison's outputs other than plots: ratios against baselines, the table printed on
//! stdout, JSON and CSV, and the performance targets.
//!
//! Every output is a function of `&[Record]` (plus the machine and run description), with no
//! I/O: the `compare` program decides where the text goes. The JSON and CSV are the serde
//! types of [`super::schema`], whose fields and columns are documented in `docs/outputs.md`;
//! change them together with [`super::provenance::SCHEMA_VERSION`] and that page.

use super::provenance::Provenance;
use super::record::{Record, Workload};
use super::schema::{self, figure, opt_figure, CsvRow, JsonReport, Stamp};
use crate::harness::median;
use crate::machine::MachineInfo;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt::Write as _;

/// The baselines a round trip is compared with, in column order.
const ROUND_TRIP_BASELINES: [&str; 4] = ["futex", "spin-futex", "pipe", "unix-socket"];

/// Every baseline a ratio can be taken against, with its short name in the table, in the
/// order of the CSV's `vs_*` columns.
const RATIO_NAMES: [(&str, &str); 8] = [
    ("futex", "futex"),
    ("spin-futex", "spin"),
    ("pipe", "pipe"),
    ("unix-socket", "unix"),
    ("crossbeam", "xbeam"),
    ("spsc-ring", "ring"),
    ("spsc-batch", "batch"),
    ("SRR", "SRR"),
];

/// Fills every record's `ratios` (its `msgs_per_s` over a baseline's), clearing them first.
///
/// * Round trips: against `futex`, `spin-futex`, `pipe` and `unix-socket` with the same size
///   and placement and 1 producer.
/// * One-way: against `crossbeam` (same size, placement and producers), `spsc-ring` and
///   `spsc-batch` (same size and placement, 1 producer: the rings are single-producer) and, for
///   asyncmsg, one-way `SRR` (same size, placement and producers).
/// * Paced: none.
///
/// A record gets no ratio against its own model, and none against a baseline that is absent or
/// measured no messages.
pub fn add_ratios(records: &mut [Record]) {
    let mut all = Vec::with_capacity(records.len());
    for r in records.iter() {
        let mut ratios = Vec::new();
        // (baseline model, producers the baseline must have)
        let wanted: Vec<(&str, u32)> = match r.workload {
            Workload::RoundTrip => ROUND_TRIP_BASELINES.iter().map(|&b| (b, 1)).collect(),
            Workload::OneWay => {
                let mut w = vec![
                    ("crossbeam", r.producers),
                    ("spsc-ring", 1),
                    ("spsc-batch", 1),
                ];
                if r.model == "asyncmsg" {
                    w.push(("SRR", r.producers));
                }
                w
            }
            Workload::Paced => Vec::new(),
        };
        for (base, producers) in wanted {
            if base == r.model {
                continue;
            }
            let found = records.iter().find(|b| {
                b.model == base
                    && b.workload == r.workload
                    && b.msg_size == r.msg_size
                    && b.placement == r.placement
                    && b.producers == producers
            });
            if let Some(b) = found {
                if b.msgs_per_s > 0.0 && b.msgs_per_s.is_finite() {
                    ratios.push((base.to_string(), r.msgs_per_s / b.msgs_per_s));
                }
            }
        }
        all.push(ratios);
    }
    for (r, ratios) in records.iter_mut().zip(all) {
        r.ratios = ratios;
    }
}

/// The per-round ratios `a[i] / b[i]` over the rounds both slices have (their common prefix),
/// skipping a round whose `b[i]` is not positive and finite (a baseline run that measured
/// nothing says nothing about the ratio) or whose `a[i]` is not finite. `a[i] == 0` is kept: a
/// ratio of 0.
pub fn paired_ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter(|&(&x, &y)| x.is_finite() && y.is_finite() && y > 0.0)
        .map(|(&x, &y)| x / y)
        .collect()
}

/// The median of the per-round ratios of `a` to `b` ([`paired_ratios`]; an even count's median
/// is the mean of the middle two, as for every median here), or `None` if no round is left.
pub fn paired_median(a: &[f64], b: &[f64]) -> Option<f64> {
    let v = paired_ratios(a, b);
    (!v.is_empty()).then(|| median(&v))
}

/// The paired ratio of `a`'s messages per second to `b`'s: the median over rounds of
/// `a.run_msgs_per_s[i] / b.run_msgs_per_s[i]`, the two runs of round `i` having been measured
/// close in time. Unlike the ratio of medians (`a.msgs_per_s / b.msgs_per_s`), it is not swayed
/// by the machine's speed drifting between rounds (a noisy neighbour can halve every figure for
/// a second). Rounds beyond the shorter record are ignored, and so is a round whose `b` run is
/// zero ([`paired_ratios`]); `None` when no round is left.
pub fn paired_ratio(a: &Record, b: &Record) -> Option<f64> {
    paired_median(&a.run_msgs_per_s, &b.run_msgs_per_s)
}

/// How the run was made, for the report header.
#[derive(Clone, Debug)]
pub struct RunMeta {
    /// `quick`, `full` or `tiny`.
    pub mode: String,
    /// Runs per figure (each figure is their median).
    pub runs: u32,
    /// Placement key (`same-cpu`, ...) and what it means, e.g.
    /// `consumer CPU 0, producer CPU 1`.
    pub placements: Vec<(String, String)>,
    /// Wall-clock time the whole comparison took, seconds.
    pub elapsed_s: f64,
    /// The simulated kernel's spin budget, nanoseconds (`Config::spin_ns` of the run's kernels),
    /// which the spin-then-futex baseline uses too.
    pub kernel_spin_ns: u32,
    /// Anything the reader should know (warnings, skipped models).
    pub notes: Vec<String>,
    /// The commit measured and when the run started.
    pub provenance: Provenance,
}

impl RunMeta {
    /// What a placement key means (`consumer/server on CPU 0, ...`), or "" if not described.
    fn placement_detail(&self, key: &str) -> &str {
        self.placements
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, d)| d.as_str())
    }
}

/// The placements of `records` in order of first appearance.
fn placements_in_order(records: &[Record]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for r in records {
        if !out.contains(&r.placement.as_str()) {
            out.push(&r.placement);
        }
    }
    out
}

/// Messages per second with a k/M/G suffix and three significant digits: `4.20M`, `61.3k`.
fn human_rate(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    match si_scale(v) {
        (_, "") => format!("{v:.0}"),
        (scaled, suffix) => format!("{}{suffix}", sig3(scaled)),
    }
}

/// `v` scaled to a k/M/G suffix by its magnitude (`(v, "")` below a thousand), for the table's
/// rates and the plots' axes.
pub(crate) fn si_scale(v: f64) -> (f64, &'static str) {
    let a = v.abs();
    if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    }
}

/// `v` with three significant digits for values of 1 and more, fixed decimals below.
fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

/// A range of rates, the suffix written once when both ends share it: `1.95-2.31M`,
/// `950k-1.02M`; `-` when absent.
fn human_range(range: Option<(f64, f64)>) -> String {
    let Some((lo, hi)) = range.filter(|(lo, hi)| lo.is_finite() && hi.is_finite()) else {
        return "-".into();
    };
    match (si_scale(lo), si_scale(hi)) {
        ((l, a), (h, b)) if a == b && !a.is_empty() => format!("{}-{}{a}", sig3(l), sig3(h)),
        _ => format!("{}-{}", human_rate(lo), human_rate(hi)),
    }
}

/// What a paced row says about its pace: `PACE MISSED: 14.2k/s of 20.0k/s (71%)` when its
/// median rate fell below [`super::record::PACE_TOLERANCE`] of the requested one, else
/// nothing.
fn pace_text(r: &Record) -> Option<String> {
    let nominal = r.nominal_msgs_per_s?;
    (r.pace_missed == Some(true)).then(|| {
        format!(
            "PACE MISSED: {}/s of {}/s ({:.0}%)",
            human_rate(r.msgs_per_s),
            human_rate(nominal),
            100.0 * r.msgs_per_s / nominal
        )
    })
}

/// An optional figure for the table, `-` when absent.
fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), sig3)
}

/// The table's heading for a workload: what one message is.
fn workload_heading(w: Workload) -> &'static str {
    match w {
        Workload::RoundTrip => {
            "Round trip: one message = one request and its reply between two threads, one at a \
             time; msgs/s = round trips per second; latency per round trip"
        }
        Workload::OneWay => {
            "One-way: producers send as fast as they can to one consumer; one message = one \
             message received; latency = put to receipt under that load"
        }
        Workload::Paced => {
            "Paced: one producer sends at a fixed rate below saturation; latency = put to \
             receipt (what waiting for a batch to fill costs a message)"
        }
    }
}

/// Readable fixed-width tables, one section per workload, with a header describing the machine
/// and the run and a legend of the columns at the end.
pub fn table(machine: &MachineInfo, meta: &RunMeta, records: &[Record]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "SRR vs asyncmsg, with baselines measured in the same run"
    );
    let _ = writeln!(out, "machine:    {}", machine.cpu_model);
    let _ = writeln!(
        out,
        "            {} cores online, allowed CPUs {}",
        machine.cpus_online,
        machine.allowed_list()
    );
    let _ = writeln!(out, "kernel:     {}", machine.kernel);
    let _ = writeln!(
        out,
        "commit:     {}, run started {}",
        meta.provenance.short(),
        meta.provenance.started_utc
    );
    let _ = writeln!(
        out,
        "mode:       {}, every figure is the median of {} runs, {:.1} s in all; min-max = the \
         slowest and fastest run's msgs/s (the range over the runs, not an IQR)",
        meta.mode, meta.runs, meta.elapsed_s
    );
    let _ = writeln!(
        out,
        "spin:       the simulated kernel spins up to {} before sleeping when the thread to \
         wake it runs on another CPU (Config::spin_ns); spin-futex spins as long",
        spin_text(meta.kernel_spin_ns)
    );
    let key_width = placement_width(meta.placements.iter().map(|(k, _)| k.as_str())) + 1;
    for (i, (key, desc)) in meta.placements.iter().enumerate() {
        let lead = if i == 0 { "placements:" } else { "" };
        let _ = writeln!(out, "{lead:<11} {key:<key_width$} {desc}");
    }
    for (i, note) in meta.notes.iter().enumerate() {
        let lead = if i == 0 { "notes:" } else { "" };
        let _ = writeln!(out, "{lead:<11} {note}");
    }

    let placements = placements_in_order(records);
    let place_index = |p: &str| placements.iter().position(|&q| q == p).unwrap_or(0);
    let place_width = placement_width(placements.iter().copied());
    for workload in [Workload::RoundTrip, Workload::OneWay, Workload::Paced] {
        let mut rows: Vec<&Record> = records.iter().filter(|r| r.workload == workload).collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by_key(|r| (place_index(&r.placement), r.msg_size, r.producers));
        let _ = writeln!(out);
        let _ = writeln!(out, "== {}", workload_heading(workload));
        let header = row_text(
            place_width,
            [
                "model",
                "bytes",
                "batch",
                "prod",
                "placement",
                "msgs/s",
                "min-max",
                "p50 µs",
                "p99 µs",
                "p999 µs",
                "kent/m",
                "sent/m",
                "wake/m",
                "csw/m",
                "cpuns/m",
            ],
            "vs baselines / pace",
        );
        let _ = writeln!(out, "{header}");
        let _ = writeln!(out, "{}", "-".repeat(header.chars().count()));
        for r in rows {
            let mut ratios: Vec<String> = RATIO_NAMES
                .iter()
                .filter_map(|&(base, short)| r.ratio(base).map(|v| (short, v)))
                .map(|(short, v)| format!("x {short} {}", sig3(v)))
                .collect();
            ratios.extend(pace_text(r));
            let cells = [
                r.label(),
                r.msg_size.to_string(),
                r.batch.to_string(),
                r.producers.to_string(),
                r.placement.clone(),
                human_rate(r.msgs_per_s),
                human_range(r.msgs_per_s_min.zip(r.msgs_per_s_max)),
                opt(r.p50_us),
                opt(r.p99_us),
                opt(r.p999_us),
                opt(r.kernel_entries_per_msg),
                opt(r.sender_entries_per_msg),
                opt(r.wakeups_per_msg),
                sig3(r.ctx_switches_per_msg),
                sig3(r.cpu_ns_per_msg),
            ];
            let _ = writeln!(
                out,
                "{}",
                row_text(
                    place_width,
                    cells.each_ref().map(String::as_str),
                    &ratios.join("  ")
                )
            );
        }
    }
    if records.is_empty() {
        let _ = writeln!(out, "\n(no results)");
    }
    out.push('\n');
    for line in LEGEND {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// The spin budget in words: `20 µs`, `500 ns`, `off`.
fn spin_text(ns: u32) -> String {
    match ns {
        0 => "off (0)".into(),
        n if n % 1000 == 0 => format!("{} µs", n / 1000),
        n => format!("{n} ns"),
    }
}

/// What the table's columns mean.
const LEGEND: [&str; 12] = [
    "Columns: bytes = message size (request and reply each, for round trips); batch = asyncmsg messages per trigger, spsc-batch",
    "  messages per publication of the ring's tail (1 for the rest); prod = producer threads; msgs/s = messages (round trips) per second,",
    "  min-max = the slowest and fastest run's msgs/s; p50/p99/p999 = latency percentiles in microseconds (per round trip, or put to",
    "  receipt), \"-\" = not measured; kent/m = simulated-kernel entries per message, all threads; sent/m = kernel entries made by the",
    "  sending side alone; wake/m = threads the simulated kernel readied per message (a waiter caught spinning needs no futex wake);",
    "  csw/m = context switches (voluntary + involuntary) of the whole process per message; cpuns/m = user + system CPU ns per message",
    "  (per round trip for round trips: spinning shows here).",
    "  \"x futex 1.05\" = this row's msgs/s divided by futex's at the same size and placement (above 1: faster than the baseline);",
    "  these are ratios of medians; the targets below are judged on the median of per-round ratios (a round measures every case once).",
    "  spin = spin-then-futex ping-pong, xbeam = crossbeam-channel, ring = SPSC shared-memory ring publishing every message, batch = the",
    "  same ring publishing in batches (both 1 producer), unix = Unix socket, SRR = one-way SRR. PACE MISSED: a paced row whose median",
    "  rate fell below 95% of the requested rate (its latencies are for a lighter load). Placements are listed in the header.",
];

/// The width of a placement column: the longest key, at least 9 (`cross-cpu`), so that a
/// table of the placements between threads keeps its layout and one with `xproc-cross-cpu`
/// stays aligned.
fn placement_width<'a>(keys: impl IntoIterator<Item = &'a str>) -> usize {
    keys.into_iter()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0)
        .max(9)
}

/// One table line: the 15 fixed columns (the placement `place_width` wide), then the ratios.
fn row_text(place_width: usize, c: [&str; 15], ratios: &str) -> String {
    let mut line = format!(
        "{:<13} {:>5} {:>5} {:>4} {:<place_width$} {:>7} {:>11} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}  {}",
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        c[5],
        c[6],
        c[7],
        c[8],
        c[9],
        c[10],
        c[11],
        c[12],
        c[13],
        c[14],
        ratios
    );
    let trimmed = line.trim_end().len();
    line.truncate(trimmed);
    line
}

/// The whole comparison as one JSON object ([`JsonReport`]): the schema version and
/// provenance (commit, start time), machine, run description, targets and one object per
/// record (`null` where a figure was not measured). Every field is described in
/// `docs/outputs.md`.
pub fn to_json(
    machine: &MachineInfo,
    meta: &RunMeta,
    records: &[Record],
    (targets, reported): (&[TargetCheck], &[Reported]),
) -> String {
    schema::json_text(&JsonReport {
        stamp: Some(Stamp::of(&meta.provenance)),
        machine: machine.clone(),
        mode: meta.mode.clone(),
        runs: meta.runs,
        kernel_spin_ns: Some(meta.kernel_spin_ns),
        placements: meta.placements.clone(),
        elapsed_s: meta.elapsed_s,
        notes: meta.notes.clone(),
        targets: targets.to_vec(),
        reported: reported.to_vec(),
        results: records.to_vec(),
    })
}

/// The records as CSV ([`CsvRow`]): a header line, then one line per record: the JSON results'
/// fields, the ratios as `vs_*` columns, then the stamp; an absent figure is an empty field.
/// Every column is described in `docs/outputs.md`.
pub fn to_csv(machine: &MachineInfo, meta: &RunMeta, records: &[Record]) -> String {
    let stamp = Stamp::of(&meta.provenance);
    let rows: Vec<CsvRow> = records
        .iter()
        .map(|r| {
            CsvRow::new(
                r,
                &stamp,
                (&meta.mode, Some(meta.kernel_spin_ns)),
                machine,
                meta.placement_detail(&r.placement),
            )
        })
        .collect();
    schema::csv_text(&rows)
}

/// One performance target, checked against one placement's records. Serialised as one object
/// of the JSON's `targets`, its fields in this order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetCheck {
    /// What is required, in words.
    pub name: String,
    /// The placement whose records were used.
    pub placement: String,
    /// The measured value. For a ratio of two records' rates: the paired ratio, i.e. the median
    /// of the per-round ratios ([`paired_ratio`]) when the records have runs in common, else
    /// (`paired_rounds` 0) the ratio of their medians.
    #[serde(with = "figure")]
    pub value: f64,
    /// For a ratio: the rounds whose ratios `value` is the median of; 0 when `value` is not
    /// paired (not a ratio, or no round in common).
    pub paired_rounds: usize,
    /// For a ratio: the ratio of the two records' medians (`msgs_per_s`), as the table's ratio
    /// columns show it. `None` for a target that is not a ratio.
    #[serde(with = "opt_figure")]
    pub ratio_of_medians: Option<f64>,
    /// The bound it is held to.
    #[serde(with = "figure")]
    pub bound: f64,
    /// `>=` or `<=`: `value op bound` must hold.
    #[serde(deserialize_with = "read_op")]
    pub op: String,
    /// Whether it held.
    pub met: bool,
    /// Which records (and figures) the value rests on.
    pub basis: String,
}

/// A target's `op` read back: `>=` or `<=`.
fn read_op<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let op = String::deserialize(d)?;
    if op == ">=" || op == "<=" {
        Ok(op)
    } else {
        Err(serde::de::Error::invalid_value(
            serde::de::Unexpected::Str(&op),
            &"\">=\" or \"<=\"",
        ))
    }
}

impl TargetCheck {
    fn new(name: String, placement: &str, value: f64, op: &'static str, bound: f64) -> Self {
        let met = match op {
            ">=" => value >= bound,
            _ => value <= bound,
        };
        TargetCheck {
            name,
            placement: placement.to_string(),
            value,
            paired_rounds: 0,
            ratio_of_medians: None,
            bound,
            op: op.to_string(),
            met,
            basis: String::new(),
        }
    }

    /// A target on the ratio of `a`'s rate to `b`'s, judged on the paired ratio (the median of
    /// per-round ratios), or on the ratio of medians if the records have no round in common.
    fn rate_ratio(
        name: String,
        placement: &str,
        a: &Record,
        b: &Record,
        op: &'static str,
        bound: f64,
    ) -> Self {
        let of_medians = ratio(a.msgs_per_s, b.msgs_per_s);
        let rounds = paired_ratios(&a.run_msgs_per_s, &b.run_msgs_per_s);
        let value = if rounds.is_empty() {
            of_medians
        } else {
            median(&rounds)
        };
        let mut t = TargetCheck::new(name, placement, value, op, bound);
        t.paired_rounds = rounds.len();
        t.ratio_of_medians = Some(of_medians);
        t
    }

    /// How `value` was obtained, for a ratio: `0.530 (paired, per-round median of 5 rounds;
    /// ratio of medians 0.470)`. `None` for a target that is not a ratio.
    fn value_text(&self) -> Option<String> {
        let of_medians = self.ratio_of_medians?;
        Some(match self.paired_rounds {
            0 => format!("{} (ratio of medians; no paired rounds)", sig3(self.value)),
            n => format!(
                "{} (paired, per-round median of {n} round{}; ratio of medians {})",
                sig3(self.value),
                if n == 1 { "" } else { "s" },
                sig3(of_medians)
            ),
        })
    }

    fn basis(mut self, basis: String) -> Self {
        self.basis = basis;
        self
    }
}

/// A ratio reported beside the targets, with no bound: what a reader should see next to them
/// (asyncmsg against the batch-publishing ring, the hardware's one-way ceiling; asyncmsg
/// against SRR). Serialised as one object of the JSON's `reported`, its fields in this order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reported {
    /// What is reported, in words.
    pub name: String,
    /// The placement whose records were used.
    pub placement: String,
    /// The median of the per-round ratios (as a ratio target's `value`), or the ratio of
    /// medians when the records have no round in common.
    #[serde(with = "figure")]
    pub value: f64,
    /// The rounds `value` is the median of; 0 when it is the ratio of medians.
    pub paired_rounds: usize,
    /// The ratio of the two records' medians.
    #[serde(with = "opt_figure")]
    pub ratio_of_medians: Option<f64>,
    /// Which records (and figures) the value rests on.
    pub basis: String,
}

impl Reported {
    /// `a`'s rate over `b`'s, paired as [`TargetCheck::rate_ratio`] pairs them.
    fn rate_ratio(name: String, placement: &str, a: &Record, b: &Record, basis: String) -> Self {
        let t = TargetCheck::rate_ratio(name, placement, a, b, ">=", 0.0);
        Reported {
            name: t.name,
            placement: t.placement,
            value: t.value,
            paired_rounds: t.paired_rounds,
            ratio_of_medians: t.ratio_of_medians,
            basis,
        }
    }
}

/// `a / b`, infinite when `b` is not positive (so a `>=` target on it is met only if `a` is
/// positive, and a `<=` target missed).
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else if a > 0.0 {
        f64::INFINITY
    } else {
        f64::NAN
    }
}

/// The placements between two processes whose round trips are held to target (h): not
/// `xproc-unpinned`, which lands on either side by chance.
pub const XPROC_PINNED: [&str; 2] = ["xproc-same-cpu", "xproc-cross-cpu"];

/// The client count of the "many clients on one server" target.
pub const MANY_CLIENTS: u32 = 64;

/// A round-trip record for a target's basis: `SRR 480k/s (2.08 µs), 4,100 CPU ns/rt`.
fn round_trip_basis(r: &Record) -> String {
    format!(
        "{} {}/s ({} µs/rt), {} CPU ns/rt",
        r.label(),
        human_rate(r.msgs_per_s),
        sig3(1e6 / r.msgs_per_s),
        sig3(r.cpu_ns_per_msg)
    )
}

/// The targets the comparison is held to, checked per placement; a target whose records are
/// absent is left out. The ratios of rates are judged on the paired ratio: the median over
/// rounds of the ratio of the two runs measured in that round ([`paired_ratio`]), which the
/// machine's drift between rounds sways far less than the ratio of medians (kept in
/// [`TargetCheck::ratio_of_medians`] and printed beside it). The round-trip targets compare
/// round-trip rates (`msgs_per_s`), not latency percentiles; their basis gives each side's CPU
/// time per round trip (spinning costs CPU).
///
/// * (a) across CPUs (`cross-cpu`), 64 B: SRR's round trip at most 5x the spin-then-futex
///   ping-pong's: spin-futex rate / SRR rate <= 5;
/// * (b) across CPUs, 64 B: SRR at least 10x faster than the futex ping-pong: SRR rate / futex
///   rate >= 10;
/// * (c) on one CPU (`same-cpu`), 64 B: SRR within 1.2x of the futex ping-pong: futex rate /
///   SRR rate <= 1.2;
/// * (d) one-way asyncmsg (batch 64, 64 B, 1 producer) >= 1x crossbeam (64 B, 1 producer);
/// * (e) every one-way asyncmsg record with 1 producer: sender entries/msg <= 1/batch + 0.01;
/// * (f) one-way asyncmsg (batch 64) and SRR, each size: msgs/s with the most producers
///   measured below [`MANY_CLIENTS`] (16 in a full run, 4 in a quick one) >= 0.8x msgs/s with 1
///   producer;
/// * (g) one-way SRR, each size: [`MANY_CLIENTS`] clients on one server >= 0.8x one client.
/// * (h) between two processes, on one CPU and across CPUs ([`XPROC_PINNED`]), 64 B: SRR
///   within 1.2x of the futex ping-pong between the same two processes: futex rate / SRR rate
///   <= 1.2.
///
/// The round-trip targets hold on their placement only: an unpinned run lands on either side
/// by chance. What is reported beside them with no bound is [`reported`].
pub fn check_targets(records: &[Record]) -> Vec<TargetCheck> {
    let mut out = Vec::new();
    for place in placements_in_order(records) {
        let find = |model: &str, w: Workload, size: usize, batch: u32, producers: u32| {
            records.iter().find(|r| {
                r.model == model
                    && r.workload == w
                    && r.msg_size == size
                    && r.batch == batch
                    && r.producers == producers
                    && r.placement == place
            })
        };
        let round_trip = |model: &str| find(model, Workload::RoundTrip, 64, 1, 1);
        let basis = |a: &Record, b: &Record| {
            format!(
                "round-trip 64 B: {}; {}",
                round_trip_basis(a),
                round_trip_basis(b)
            )
        };
        // (a), (b)
        if let (Some(srr), "cross-cpu") = (round_trip("SRR"), place) {
            if let Some(spin) = round_trip("spin-futex") {
                out.push(
                    TargetCheck::rate_ratio(
                        "SRR round trip across CPUs within 5x of the spin-then-futex ping-pong: \
                         spin-futex rate / SRR rate (64 B)"
                            .into(),
                        place,
                        spin,
                        srr,
                        "<=",
                        5.0,
                    )
                    .basis(basis(srr, spin)),
                );
            }
            if let Some(futex) = round_trip("futex") {
                out.push(
                    TargetCheck::rate_ratio(
                        "SRR round trip across CPUs at least 10x faster than the futex \
                         ping-pong: SRR rate / futex rate (64 B)"
                            .into(),
                        place,
                        srr,
                        futex,
                        ">=",
                        10.0,
                    )
                    .basis(basis(srr, futex)),
                );
            }
        }
        // (c)
        if let (Some(srr), Some(futex), "same-cpu") =
            (round_trip("SRR"), round_trip("futex"), place)
        {
            out.push(
                TargetCheck::rate_ratio(
                    "SRR round trip on one CPU within 1.2x of the futex ping-pong: futex rate / \
                     SRR rate (64 B)"
                        .into(),
                    place,
                    futex,
                    srr,
                    "<=",
                    1.2,
                )
                .basis(basis(srr, futex)),
            );
        }
        // (h)
        if let (Some(srr), Some(futex), true) = (
            round_trip("SRR"),
            round_trip("futex"),
            XPROC_PINNED.contains(&place),
        ) {
            out.push(
                TargetCheck::rate_ratio(
                    "SRR round trip between two processes within 1.2x of the futex ping-pong \
                     between them: futex rate / SRR rate (64 B)"
                        .into(),
                    place,
                    futex,
                    srr,
                    "<=",
                    1.2,
                )
                .basis(basis(srr, futex)),
            );
        }
        // (d)
        if let (Some(a), Some(b)) = (
            find("asyncmsg", Workload::OneWay, 64, 64, 1),
            find("crossbeam", Workload::OneWay, 64, 1, 1),
        ) {
            out.push(
                TargetCheck::rate_ratio(
                    "one-way asyncmsg/64 vs crossbeam: rate ratio (64 B, 1 producer)".into(),
                    place,
                    a,
                    b,
                    ">=",
                    1.0,
                )
                .basis(format!(
                    "one-way 64 B, 1 producer: asyncmsg/64 {}/s, crossbeam {}/s",
                    human_rate(a.msgs_per_s),
                    human_rate(b.msgs_per_s)
                )),
            );
        }
        // (e)
        for r in records.iter().filter(|r| {
            r.model == "asyncmsg"
                && r.workload == Workload::OneWay
                && r.producers == 1
                && r.placement == place
        }) {
            if let Some(sent) = r.sender_entries_per_msg {
                let bound = 1.0 / f64::from(r.batch.max(1)) + 0.01;
                out.push(
                    TargetCheck::new(
                        format!(
                            "{} sender kernel entries/msg <= 1/batch + 0.01 ({} B, 1 producer)",
                            r.label(),
                            r.msg_size
                        ),
                        place,
                        sent,
                        "<=",
                        bound,
                    )
                    .basis(format!(
                        "one-way {} {} B, 1 producer: {} sender entries/msg",
                        r.label(),
                        r.msg_size,
                        sig3(sent)
                    )),
                );
            }
        }
        // (f), (g)
        for (model, batch) in [("asyncmsg", 64), ("SRR", 1)] {
            let mut sizes: Vec<usize> = records
                .iter()
                .filter(|r| {
                    r.model == model
                        && r.workload == Workload::OneWay
                        && r.batch == batch
                        && r.placement == place
                })
                .map(|r| r.msg_size)
                .collect();
            sizes.sort_unstable();
            sizes.dedup();
            for size in sizes {
                let Some(one) = find(model, Workload::OneWay, size, batch, 1) else {
                    continue;
                };
                let several = records
                    .iter()
                    .filter(|r| {
                        r.model == model
                            && r.workload == Workload::OneWay
                            && r.msg_size == size
                            && r.batch == batch
                            && r.placement == place
                            && r.producers > 1
                            && r.producers < MANY_CLIENTS
                    })
                    .max_by_key(|r| r.producers);
                let many = find(model, Workload::OneWay, size, batch, MANY_CLIENTS)
                    .filter(|_| model == "SRR");
                for (many, name) in [
                    (several, format!("one-way {} with", one.label())),
                    (
                        many,
                        format!("{MANY_CLIENTS} clients on one server: one-way SRR with"),
                    ),
                ] {
                    let Some(many) = many else { continue };
                    out.push(
                        TargetCheck::rate_ratio(
                            format!(
                                "{name} {} producers vs 1: rate ratio ({size} B)",
                                many.producers
                            ),
                            place,
                            many,
                            one,
                            ">=",
                            0.8,
                        )
                        .basis(format!(
                            "one-way {} {size} B: {} producers {}/s, 1 producer {}/s",
                            one.label(),
                            many.producers,
                            human_rate(many.msgs_per_s),
                            human_rate(one.msgs_per_s)
                        )),
                    );
                }
            }
        }
    }
    out
}

/// What is reported beside the targets, per placement, with no bound: one-way asyncmsg/64
/// (64 B, 1 producer) against the batch-publishing ring (the hardware's one-way ceiling) and
/// against one-way SRR (whatever SRR's speed does to that ratio is shown as it is); between
/// processes (`xproc-*`) also against the ring publishing every message. No target is set
/// between processes: asyncmsg there copies each message into the region at the put and out of
/// it at the get, which no ring does, and there is no earlier measurement to set a bound from.
pub fn reported(records: &[Record]) -> Vec<Reported> {
    let mut out = Vec::new();
    for place in placements_in_order(records) {
        // asyncmsg at batch 64; the baselines at their one batch each.
        let one_way = |model: &str| {
            records.iter().find(|r| {
                r.model == model
                    && r.workload == Workload::OneWay
                    && r.msg_size == 64
                    && (model != "asyncmsg" || r.batch == 64)
                    && r.producers == 1
                    && r.placement == place
            })
        };
        let Some(a) = one_way("asyncmsg") else {
            continue;
        };
        let mut against = vec![
            (
                "spsc-batch",
                "the batch-publishing SPSC ring (the one-way ceiling)",
            ),
            ("SRR", "one-way SRR"),
        ];
        if place.starts_with("xproc-") {
            // Between processes the ring publishing every message is reported too: the
            // shared-memory queue a program would write instead of asyncmsg.
            against.insert(0, ("spsc-ring", "the SPSC ring publishing every message"));
        }
        for (base, what) in against {
            if let Some(b) = one_way(base) {
                out.push(Reported::rate_ratio(
                    format!("one-way asyncmsg/64 vs {what}: rate ratio (64 B, 1 producer)"),
                    place,
                    a,
                    b,
                    format!(
                        "one-way 64 B, 1 producer: asyncmsg/64 {}/s, {} {}/s",
                        human_rate(a.msgs_per_s),
                        b.label(),
                        human_rate(b.msgs_per_s)
                    ),
                ));
            }
        }
    }
    out
}

/// The reported ratios, one per line with its basis; nothing when there are none.
pub fn reported_text(reported: &[Reported]) -> String {
    let mut out = String::new();
    if reported.is_empty() {
        return out;
    }
    out.push_str("Reported beside the targets (no bound)\n");
    let w = placement_width(reported.iter().map(|r| r.placement.as_str()));
    for r in reported {
        let how = match r.paired_rounds {
            0 => "ratio of medians; no paired rounds".to_string(),
            n => format!(
                "paired, per-round median of {n} round{}; ratio of medians {}",
                if n == 1 { "" } else { "s" },
                opt(r.ratio_of_medians)
            ),
        };
        let _ = writeln!(
            out,
            "  {:<w$}  {:>9}  {} ({how})",
            r.placement,
            sig3(r.value),
            r.name
        );
        let _ = writeln!(out, "  {:<w$}  basis: {}", "", r.basis);
    }
    out
}

/// The targets as a table that says `met` or `MISSED` on every line, with a summary. Under a
/// ratio target, a `value:` line says how its value was obtained (paired, and the ratio of
/// medians beside it).
pub fn targets_text(targets: &[TargetCheck]) -> String {
    let mut out = String::from("Targets\n");
    if targets.is_empty() {
        out.push_str("  none checked: the records they rest on were not measured\n");
        return out;
    }
    let w = placement_width(targets.iter().map(|t| t.placement.as_str()));
    let _ = writeln!(
        out,
        "  {:<6}  {:<w$}  {:>9}  {:<2} {:<7}  target",
        "result", "placement", "value", "", "bound"
    );
    for t in targets {
        let _ = writeln!(
            out,
            "  {:<6}  {:<w$}  {:>9}  {:<2} {:<7}  {}",
            if t.met { "met" } else { "MISSED" },
            t.placement,
            sig3(t.value),
            t.op,
            sig3(t.bound),
            t.name
        );
        if let Some(v) = t.value_text() {
            let _ = writeln!(out, "  {:<6}  value: {v}", "");
        }
        let _ = writeln!(out, "  {:<6}  basis: {}", "", t.basis);
    }
    let met = targets.iter().filter(|t| t.met).count();
    let _ = writeln!(out, "{met} of {} targets met.", targets.len());
    let missed: Vec<String> = targets
        .iter()
        .filter(|t| !t.met)
        .map(|t| format!("{} [{}]", t.name, t.placement))
        .collect();
    if !missed.is_empty() {
        let _ = writeln!(out, "MISSED:");
        for m in missed {
            let _ = writeln!(out, "  {m}");
        }
    }
    out
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
