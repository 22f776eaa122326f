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
const ROUND_TRIP_BASELINES: [&str; 3] = ["futex", "pipe", "unix-socket"];

/// Every baseline a ratio can be taken against, with its short name in the table, in the
/// order of the CSV's `vs_*` columns.
const RATIO_NAMES: [(&str, &str); 6] = [
    ("futex", "futex"),
    ("pipe", "pipe"),
    ("unix-socket", "unix"),
    ("crossbeam", "xbeam"),
    ("spsc-ring", "ring"),
    ("SRR", "SRR"),
];

/// Fills every record's `ratios` (its `msgs_per_s` over a baseline's), clearing them first.
///
/// * Round trips: against `futex`, `pipe` and `unix-socket` with the same size and placement
///   and 1 producer.
/// * One-way: against `crossbeam` (same size, placement and producers), `spsc-ring` (same size
///   and placement, 1 producer: the ring is single-producer) and, for asyncmsg, one-way `SRR`
///   (same size, placement and producers).
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
                let mut w = vec![("crossbeam", r.producers), ("spsc-ring", 1)];
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
        "mode:       {}, every figure is the median of {} runs, {:.1} s in all",
        meta.mode, meta.runs, meta.elapsed_s
    );
    for (i, (key, desc)) in meta.placements.iter().enumerate() {
        let lead = if i == 0 { "placements:" } else { "" };
        let _ = writeln!(out, "{lead:<11} {key:<10} {desc}");
    }
    for (i, note) in meta.notes.iter().enumerate() {
        let lead = if i == 0 { "notes:" } else { "" };
        let _ = writeln!(out, "{lead:<11} {note}");
    }

    let placements = placements_in_order(records);
    let place_index = |p: &str| placements.iter().position(|&q| q == p).unwrap_or(0);
    for workload in [Workload::RoundTrip, Workload::OneWay, Workload::Paced] {
        let mut rows: Vec<&Record> = records.iter().filter(|r| r.workload == workload).collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by_key(|r| (place_index(&r.placement), r.msg_size, r.producers));
        let _ = writeln!(out);
        let _ = writeln!(out, "== {}", workload_heading(workload));
        let header = row_text(
            [
                "model",
                "bytes",
                "batch",
                "prod",
                "placement",
                "msgs/s",
                "p50 µs",
                "p99 µs",
                "p999 µs",
                "kent/m",
                "sent/m",
                "wake/m",
                "csw/m",
                "cpuns/m",
            ],
            "vs baselines",
        );
        let _ = writeln!(out, "{header}");
        let _ = writeln!(out, "{}", "-".repeat(header.chars().count()));
        for r in rows {
            let ratios: Vec<String> = RATIO_NAMES
                .iter()
                .filter_map(|&(base, short)| r.ratio(base).map(|v| (short, v)))
                .map(|(short, v)| format!("x {short} {}", sig3(v)))
                .collect();
            let cells = [
                r.label(),
                r.msg_size.to_string(),
                r.batch.to_string(),
                r.producers.to_string(),
                r.placement.clone(),
                human_rate(r.msgs_per_s),
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
                row_text(cells.each_ref().map(String::as_str), &ratios.join("  "))
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

/// What the table's columns mean.
const LEGEND: [&str; 9] = [
    "Columns: bytes = message size (request and reply each, for round trips); batch = asyncmsg messages per trigger (1 for the rest);",
    "  prod = producer threads; msgs/s = messages (round trips) per second; p50/p99/p999 = latency percentiles in microseconds",
    "  (per round trip, or put to receipt), \"-\" = not measured; kent/m = simulated-kernel entries per message, all threads;",
    "  sent/m = kernel entries made by the sending side alone; wake/m = threads the simulated kernel woke per message;",
    "  csw/m = context switches (voluntary + involuntary) of the whole process per message; cpuns/m = user + system CPU ns per message.",
    "  \"x futex 1.05\" = this row's msgs/s divided by futex's at the same size and placement (above 1: faster than the baseline);",
    "  these are ratios of medians; the targets below are judged on the median of per-round ratios (a round measures every case once).",
    "  xbeam = crossbeam-channel, ring = SPSC shared-memory ring (1 producer), unix = Unix socket, SRR = one-way SRR.",
    "  Every figure is the median of the runs; placements are listed in the header.",
];

/// One table line: the 14 fixed columns, then the ratios.
fn row_text(c: [&str; 14], ratios: &str) -> String {
    let mut line = format!(
        "{:<13} {:>5} {:>5} {:>4} {:<9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}  {}",
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
    targets: &[TargetCheck],
) -> String {
    schema::json_text(&JsonReport {
        stamp: Some(Stamp::of(&meta.provenance)),
        machine: machine.clone(),
        mode: meta.mode.clone(),
        runs: meta.runs,
        placements: meta.placements.clone(),
        elapsed_s: meta.elapsed_s,
        notes: meta.notes.clone(),
        targets: targets.to_vec(),
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
                &meta.mode,
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

/// The targets the comparison is held to, checked per placement; a target whose records are
/// absent is left out. The ratios of rates, (a), (b), (c) and (e), are judged on the paired
/// ratio: the median over rounds of the ratio of the two runs measured in that round
/// ([`paired_ratio`]), which the machine's drift between rounds sways far less than the ratio
/// of medians (kept in [`TargetCheck::ratio_of_medians`] and printed beside it). (a) is such a
/// ratio too: it compares round-trip rates (`msgs_per_s`), not latency percentiles.
///
/// * (a) SRR round trip at 64 B within 1.3x of futex's: futex rate / SRR rate <= 1.3;
/// * (b) one-way asyncmsg (batch 64, 64 B, 1 producer) >= 20x one-way SRR (64 B, 1 producer);
/// * (c) the same asyncmsg >= 0.5x crossbeam (64 B, 1 producer);
/// * (d) every one-way asyncmsg record with 1 producer: sender entries/msg <= 1/batch + 0.01;
/// * (e) one-way asyncmsg (batch 64) and SRR, each size: msgs/s with the most producers
///   measured (16 in a full run) >= 0.8x msgs/s with 1 producer.
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
        // (a)
        if let (Some(srr), Some(futex)) = (
            find("SRR", Workload::RoundTrip, 64, 1, 1),
            find("futex", Workload::RoundTrip, 64, 1, 1),
        ) {
            out.push(
                TargetCheck::rate_ratio(
                    "SRR round trip within 1.3x of futex: futex rate / SRR rate (64 B)".into(),
                    place,
                    futex,
                    srr,
                    "<=",
                    1.3,
                )
                .basis(format!(
                    "round-trip 64 B: futex {}/s, SRR {}/s",
                    human_rate(futex.msgs_per_s),
                    human_rate(srr.msgs_per_s)
                )),
            );
        }
        // (b), (c)
        if let Some(a) = find("asyncmsg", Workload::OneWay, 64, 64, 1) {
            for (base, bound) in [("SRR", 20.0), ("crossbeam", 0.5)] {
                if let Some(b) = find(base, Workload::OneWay, 64, 1, 1) {
                    out.push(
                        TargetCheck::rate_ratio(
                            format!("one-way asyncmsg/64 vs {base}: rate ratio (64 B, 1 producer)"),
                            place,
                            a,
                            b,
                            ">=",
                            bound,
                        )
                        .basis(format!(
                            "one-way 64 B, 1 producer: asyncmsg/64 {}/s, {base} {}/s",
                            human_rate(a.msgs_per_s),
                            human_rate(b.msgs_per_s)
                        )),
                    );
                }
            }
        }
        // (d)
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
        // (e)
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
                let Some(many) = records
                    .iter()
                    .filter(|r| {
                        r.model == model
                            && r.workload == Workload::OneWay
                            && r.msg_size == size
                            && r.batch == batch
                            && r.placement == place
                            && r.producers > 1
                    })
                    .max_by_key(|r| r.producers)
                else {
                    continue;
                };
                out.push(
                    TargetCheck::rate_ratio(
                        format!(
                            "one-way {} with {} producers vs 1: rate ratio ({size} B)",
                            one.label(),
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
    let _ = writeln!(
        out,
        "  {:<6}  {:<9}  {:>9}  {:<2} {:<7}  target",
        "result", "placement", "value", "", "bound"
    );
    for t in targets {
        let _ = writeln!(
            out,
            "  {:<6}  {:<9}  {:>9}  {:<2} {:<7}  {}",
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
