//! The comparison's JSON and CSV layouts as serde types: what `--json` and `--csv` write, and
//! what a script (or a test) reads back. Every field is documented in `docs/outputs.md`,
//! schema version [`SCHEMA_VERSION`].
//!
//! * [`JsonReport`]: the whole JSON document. Its stamp ([`Stamp`]) is absent from files of
//!   schema version 1, written before the stamp existed (the committed `docs/figures` ones);
//!   the fields version 3 added (each result's range, pace and spin figures, the kernel's spin
//!   budget, the reported ratios) are absent from versions 1 and 2. Every version reads with
//!   the same type, an absent field empty.
//! * [`CsvRow`]: one CSV line, flat (the `csv` crate writes no nested records): a record's own
//!   fields, its ratios as `vs_*` columns, then the stamp columns (empty in version 1 files).
//!   Columns are read by their header's name, so an older file's missing columns read empty.
//! * The `with` modules ([`figure`], [`opt_figure`], [`figures`], [`ratios`], [`text_map`])
//!   write figures with about six significant digits and `null` (JSON) or an empty field (CSV)
//!   for a figure that is absent or not finite, and keep the order of the objects that are maps
//!   in the JSON (`placements`, `ratios`).
//!
//! Nothing here measures or does I/O: [`super::report`] builds these from the records and
//! writes them to text.

use super::provenance::{Provenance, SCHEMA_VERSION};
use super::record::{Record, Workload};
use super::report::{Reported, TargetCheck};
use crate::machine::MachineInfo;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::marker::PhantomData;

// ----------------------------------------------------------------------------- figures

/// `v` with about six significant digits, trailing zeros dropped (`1.05`, `4200000`,
/// `0.015625`, `1234568`: whole digits are never dropped), as plain decimals.
pub fn six_digits(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (5 - magnitude).clamp(0, 20) as usize;
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// A figure as the outputs write it: [`six_digits`], as an integer when it has no fraction
/// (`4200000`, not `4200000.0`); nothing (`null`, an empty CSV field) when not finite.
#[derive(Clone, Copy, Debug)]
struct Fig(f64);

impl Serialize for Fig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.0.is_finite() {
            return s.serialize_none();
        }
        let text = six_digits(self.0);
        if !text.contains('.') {
            if let Ok(i) = text.parse::<i64>() {
                return s.serialize_i64(i);
            }
        }
        s.serialize_f64(text.parse().unwrap_or(self.0))
    }
}

/// A figure read back: `null` (an empty CSV field) is NaN.
fn read_fig<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A figure that is always there (`null` only if not finite; read back as NaN).
pub mod figure {
    use super::*;

    /// Writes `v` as [`six_digits`], `null` if not finite.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        Fig(*v).serialize(s)
    }

    /// Reads a figure; `null` is NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        read_fig(d)
    }
}

/// A figure that may be absent: `None` (or a value that is not finite) is `null`.
pub mod opt_figure {
    use super::*;

    /// Writes `v` as [`six_digits`], `null` if absent or not finite.
    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        v.map(Fig).serialize(s)
    }

    /// Reads a figure; `null` is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<f64>::deserialize(d)
    }
}

/// A list of figures (a JSON array; `null` for one that is not finite, read back as NaN).
pub mod figures {
    use super::*;

    /// Writes each as [`six_digits`].
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|&x| Fig(x)))
    }

    /// Reads the list; `null` is NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let v = Vec::<Option<f64>>::deserialize(d)?;
        Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }
}

/// Reads a JSON object into `(key, value)` pairs in the order written.
struct Pairs<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for Pairs<V> {
    type Value = Vec<(String, V)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(entry) = map.next_entry::<String, V>()? {
            out.push(entry);
        }
        Ok(out)
    }
}

/// A record's ratios: a JSON object, baseline model → ratio (a figure), in the order computed.
pub mod ratios {
    use super::*;

    /// Writes the pairs as an object, in order.
    pub fn serialize<S: Serializer>(v: &[(String, f64)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(v.iter().map(|(k, x)| (k, Fig(*x))))
    }

    /// Reads the object into pairs, in order; `null` is NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, f64)>, D::Error> {
        let v = d.deserialize_map(Pairs::<Option<f64>>(PhantomData))?;
        Ok(v.into_iter()
            .map(|(k, x)| (k, x.unwrap_or(f64::NAN)))
            .collect())
    }
}

/// Text keyed by text, e.g. the placements: a JSON object, in order.
pub mod text_map {
    use super::*;

    /// Writes the pairs as an object, in order.
    pub fn serialize<S: Serializer>(v: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(v.iter().map(|(k, x)| (k, x)))
    }

    /// Reads the object into pairs, in order.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        d.deserialize_map(Pairs::<String>(PhantomData))
    }
}

// ----------------------------------------------------------------------------- JSON

/// Where a run's results came from, at the head of the JSON (schema version 2 on; absent from
/// version 1 files).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The layout's version, [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The commit measured: a 40-digit hash, or `unknown`.
    pub commit: String,
    /// Whether tracked files differed from `commit`; `None`: unknown.
    pub dirty: Option<bool>,
    /// How `commit` was found: `git`, `build` or `unknown`.
    pub commit_source: String,
    /// The commit the build script saw, or `unknown`.
    pub build_commit: String,
    /// Whether that build's sources were dirty; `None`: unknown.
    pub build_dirty: Option<bool>,
    /// The run's start, UTC, RFC 3339, whole seconds.
    pub started_utc: String,
}

impl Stamp {
    /// The stamp of a run with this provenance, at the current schema version.
    pub fn of(p: &Provenance) -> Stamp {
        Stamp {
            schema_version: SCHEMA_VERSION,
            commit: p.commit.clone(),
            dirty: p.dirty,
            commit_source: p.commit_source.to_string(),
            build_commit: p.build_commit.clone(),
            build_dirty: p.build_dirty,
            started_utc: p.started_utc.clone(),
        }
    }
}

/// The whole JSON document, its keys in the order written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonReport {
    /// The stamp's fields lead the document; `None` for a version 1 file.
    #[serde(flatten)]
    pub stamp: Option<Stamp>,
    /// What the figures were measured on.
    pub machine: MachineInfo,
    /// `quick`, `full` or `tiny`.
    pub mode: String,
    /// Runs per figure in the plan.
    pub runs: u32,
    /// The simulated kernel's spin budget in nanoseconds (`Config::spin_ns` of the kernels the
    /// run made, the default), also the spin-then-futex baseline's. `None` before version 3.
    #[serde(default)]
    pub kernel_spin_ns: Option<u32>,
    /// Placement key → what it means, in the plan's order.
    #[serde(with = "text_map")]
    pub placements: Vec<(String, String)>,
    /// The whole run's wall-clock time, seconds.
    #[serde(with = "figure")]
    pub elapsed_s: f64,
    /// How the figures were made, and warnings.
    pub notes: Vec<String>,
    /// The performance targets, each on one placement.
    pub targets: Vec<TargetCheck>,
    /// Ratios reported beside the targets, with no bound. Empty before version 3.
    #[serde(default)]
    pub reported: Vec<Reported>,
    /// One per measured case.
    pub results: Vec<Record>,
}

impl JsonReport {
    /// The schema version of a document read back: its stamp's, or 1 without one.
    pub fn schema_version(&self) -> u32 {
        self.stamp.as_ref().map_or(1, |s| s.schema_version)
    }
}

/// The JSON's layout: each top-level key on a line of its own, each element of a top-level
/// array (a target, a result, a note) on a line of its own, everything within them compact.
/// The file stays one line per result, for reading and for diffs.
#[derive(Debug, Default)]
pub struct LineFormatter {
    /// Open objects and arrays.
    depth: usize,
    /// For each open array: whether it has had an element yet.
    arrays: Vec<bool>,
}

impl serde_json::ser::Formatter for LineFormatter {
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.depth == 1 {
            w.write_all(b"\n")?;
        }
        self.depth -= 1;
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        match (self.depth, first) {
            (1, true) => w.write_all(b"\n  "),
            (1, false) => w.write_all(b",\n  "),
            (_, true) => Ok(()),
            (_, false) => w.write_all(b","),
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(if self.depth == 1 { b": " } else { b":" })
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.arrays.push(false);
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.arrays.pop() == Some(true) && self.depth == 2 {
            w.write_all(b"\n  ")?;
        }
        self.depth -= 1;
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if let Some(had) = self.arrays.last_mut() {
            *had = true;
        }
        match (self.depth, first) {
            (2, true) => w.write_all(b"\n    "),
            (2, false) => w.write_all(b",\n    "),
            (_, true) => Ok(()),
            (_, false) => w.write_all(b","),
        }
    }
}

/// `doc` as the JSON file's text, laid out by [`LineFormatter`], with a final line break.
pub fn json_text(doc: &JsonReport) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, LineFormatter::default());
    // Into memory, with string keys only: serialising cannot fail.
    doc.serialize(&mut ser)
        .expect("a JsonReport serialises to memory");
    let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
    text.push('\n');
    text
}

/// Reads a JSON document of schema version 1, 2 or 3.
pub fn read_json(text: &str) -> serde_json::Result<JsonReport> {
    serde_json::from_str(text)
}

// ----------------------------------------------------------------------------- CSV

/// Every baseline a ratio can be taken against, with its CSV column, in column order.
pub const RATIO_COLUMNS: [(&str, &str); 8] = [
    ("futex", "vs_futex"),
    ("spin-futex", "vs_spin_futex"),
    ("pipe", "vs_pipe"),
    ("unix-socket", "vs_unix_socket"),
    ("crossbeam", "vs_crossbeam"),
    ("spsc-ring", "vs_spsc_ring"),
    ("spsc-batch", "vs_spsc_batch"),
    ("SRR", "vs_srr"),
];

/// One CSV line: the record's own fields (as in the JSON, without `run_msgs_per_s`), one
/// `vs_*` column per baseline of [`RATIO_COLUMNS`] (empty where the record has no ratio), then
/// the stamp, the same on every line but `placement_detail`. The stamp columns are empty in a
/// version 1 file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsvRow {
    /// As [`Record::model`].
    pub model: String,
    /// As [`Record::label`].
    pub label: String,
    /// As [`Record::workload`].
    pub workload: Workload,
    /// As [`Record::msg_size`].
    pub msg_size: usize,
    /// As [`Record::batch`].
    pub batch: u32,
    /// As [`Record::producers`].
    pub producers: u32,
    /// As [`Record::placement`].
    pub placement: String,
    /// As [`Record::runs`].
    pub runs: u32,
    /// As [`Record::msgs_per_run`].
    pub msgs_per_run: u64,
    /// As [`Record::msgs_sent`].
    pub msgs_sent: u64,
    /// As [`Record::msgs_received`].
    pub msgs_received: u64,
    /// As [`Record::msgs_per_s`].
    #[serde(with = "figure")]
    pub msgs_per_s: f64,
    /// As [`Record::msgs_per_s_min`] (empty before version 3).
    #[serde(default, with = "opt_figure")]
    pub msgs_per_s_min: Option<f64>,
    /// As [`Record::msgs_per_s_max`].
    #[serde(default, with = "opt_figure")]
    pub msgs_per_s_max: Option<f64>,
    /// As [`Record::nominal_msgs_per_s`].
    #[serde(default, with = "opt_figure")]
    pub nominal_msgs_per_s: Option<f64>,
    /// As [`Record::pace_missed`]: `true`, `false`, or empty for a row that is not paced.
    #[serde(default)]
    pub pace_missed: Option<bool>,
    /// As [`Record::p50_us`].
    #[serde(with = "opt_figure")]
    pub p50_us: Option<f64>,
    /// As [`Record::p99_us`].
    #[serde(with = "opt_figure")]
    pub p99_us: Option<f64>,
    /// As [`Record::p999_us`].
    #[serde(with = "opt_figure")]
    pub p999_us: Option<f64>,
    /// As [`Record::kernel_entries_per_msg`].
    #[serde(with = "opt_figure")]
    pub kernel_entries_per_msg: Option<f64>,
    /// As [`Record::sender_entries_per_msg`].
    #[serde(with = "opt_figure")]
    pub sender_entries_per_msg: Option<f64>,
    /// As [`Record::wakeups_per_msg`].
    #[serde(with = "opt_figure")]
    pub wakeups_per_msg: Option<f64>,
    /// As [`Record::spins_per_msg`] (empty before version 3).
    #[serde(default, with = "opt_figure")]
    pub spins_per_msg: Option<f64>,
    /// As [`Record::spin_wakeups_per_msg`].
    #[serde(default, with = "opt_figure")]
    pub spin_wakeups_per_msg: Option<f64>,
    /// As [`Record::ctx_switches_per_msg`].
    #[serde(with = "figure")]
    pub ctx_switches_per_msg: f64,
    /// As [`Record::voluntary_csw_per_msg`].
    #[serde(with = "figure")]
    pub voluntary_csw_per_msg: f64,
    /// As [`Record::involuntary_csw_per_msg`].
    #[serde(with = "figure")]
    pub involuntary_csw_per_msg: f64,
    /// As [`Record::cpu_ns_per_msg`].
    #[serde(with = "figure")]
    pub cpu_ns_per_msg: f64,
    /// The ratio against `futex`.
    #[serde(with = "opt_figure")]
    pub vs_futex: Option<f64>,
    /// The ratio against `spin-futex` (no such column before version 3).
    #[serde(default, with = "opt_figure")]
    pub vs_spin_futex: Option<f64>,
    /// The ratio against `pipe`.
    #[serde(with = "opt_figure")]
    pub vs_pipe: Option<f64>,
    /// The ratio against `unix-socket`.
    #[serde(with = "opt_figure")]
    pub vs_unix_socket: Option<f64>,
    /// The ratio against `crossbeam`.
    #[serde(with = "opt_figure")]
    pub vs_crossbeam: Option<f64>,
    /// The ratio against `spsc-ring`.
    #[serde(with = "opt_figure")]
    pub vs_spsc_ring: Option<f64>,
    /// The ratio against `spsc-batch` (no such column before version 3).
    #[serde(default, with = "opt_figure")]
    pub vs_spsc_batch: Option<f64>,
    /// The ratio against one-way `SRR`.
    #[serde(with = "opt_figure")]
    pub vs_srr: Option<f64>,
    /// As the JSON's (empty in a version 1 file).
    #[serde(default)]
    pub schema_version: Option<u32>,
    /// As the JSON's.
    #[serde(default)]
    pub commit: String,
    /// As the JSON's; empty when unknown.
    #[serde(default)]
    pub dirty: Option<bool>,
    /// As the JSON's.
    #[serde(default)]
    pub started_utc: String,
    /// `quick`, `full` or `tiny`.
    #[serde(default)]
    pub mode: String,
    /// The JSON's `machine.cpu_model`.
    #[serde(default)]
    pub cpu_model: String,
    /// The JSON's `machine.cpus_online`.
    #[serde(default)]
    pub cpus_online: Option<usize>,
    /// The allowed CPUs as a compact list, e.g. `0-1`.
    #[serde(default)]
    pub cpus_allowed: String,
    /// The JSON's `machine.kernel`.
    #[serde(default)]
    pub kernel: String,
    /// The JSON's `kernel_spin_ns` (empty before version 3).
    #[serde(default)]
    pub kernel_spin_ns: Option<u32>,
    /// What this line's `placement` means (the JSON's `placements` entry).
    #[serde(default)]
    pub placement_detail: String,
}

impl CsvRow {
    /// The line of `r`, stamped with `stamp`, the run's `(mode, kernel_spin_ns)` and `machine`;
    /// `placement_detail` says what the record's placement means.
    pub fn new(
        r: &Record,
        stamp: &Stamp,
        run: (&str, Option<u32>),
        machine: &MachineInfo,
        placement_detail: &str,
    ) -> CsvRow {
        let (mode, kernel_spin_ns) = run;
        let vs = |i: usize| r.ratio(RATIO_COLUMNS[i].0);
        CsvRow {
            model: r.model.clone(),
            label: r.label.clone(),
            workload: r.workload,
            msg_size: r.msg_size,
            batch: r.batch,
            producers: r.producers,
            placement: r.placement.clone(),
            runs: r.runs,
            msgs_per_run: r.msgs_per_run,
            msgs_sent: r.msgs_sent,
            msgs_received: r.msgs_received,
            msgs_per_s: r.msgs_per_s,
            msgs_per_s_min: r.msgs_per_s_min,
            msgs_per_s_max: r.msgs_per_s_max,
            nominal_msgs_per_s: r.nominal_msgs_per_s,
            pace_missed: r.pace_missed,
            p50_us: r.p50_us,
            p99_us: r.p99_us,
            p999_us: r.p999_us,
            kernel_entries_per_msg: r.kernel_entries_per_msg,
            sender_entries_per_msg: r.sender_entries_per_msg,
            wakeups_per_msg: r.wakeups_per_msg,
            spins_per_msg: r.spins_per_msg,
            spin_wakeups_per_msg: r.spin_wakeups_per_msg,
            ctx_switches_per_msg: r.ctx_switches_per_msg,
            voluntary_csw_per_msg: r.voluntary_csw_per_msg,
            involuntary_csw_per_msg: r.involuntary_csw_per_msg,
            cpu_ns_per_msg: r.cpu_ns_per_msg,
            vs_futex: vs(0),
            vs_spin_futex: vs(1),
            vs_pipe: vs(2),
            vs_unix_socket: vs(3),
            vs_crossbeam: vs(4),
            vs_spsc_ring: vs(5),
            vs_spsc_batch: vs(6),
            vs_srr: vs(7),
            schema_version: Some(stamp.schema_version),
            commit: stamp.commit.clone(),
            dirty: stamp.dirty,
            started_utc: stamp.started_utc.clone(),
            mode: mode.to_string(),
            cpu_model: machine.cpu_model.clone(),
            cpus_online: Some(machine.cpus_online),
            cpus_allowed: machine.allowed_list(),
            kernel: machine.kernel.clone(),
            kernel_spin_ns,
            placement_detail: placement_detail.to_string(),
        }
    }

    /// The record this line holds: everything but `run_msgs_per_s` (JSON only), with the ratios
    /// in [`RATIO_COLUMNS`] order.
    pub fn record(&self) -> Record {
        let vs = [
            self.vs_futex,
            self.vs_spin_futex,
            self.vs_pipe,
            self.vs_unix_socket,
            self.vs_crossbeam,
            self.vs_spsc_ring,
            self.vs_spsc_batch,
            self.vs_srr,
        ];
        Record {
            model: self.model.clone(),
            label: self.label.clone(),
            workload: self.workload,
            msg_size: self.msg_size,
            batch: self.batch,
            producers: self.producers,
            placement: self.placement.clone(),
            runs: self.runs,
            msgs_per_run: self.msgs_per_run,
            msgs_sent: self.msgs_sent,
            msgs_received: self.msgs_received,
            msgs_per_s: self.msgs_per_s,
            msgs_per_s_min: self.msgs_per_s_min,
            msgs_per_s_max: self.msgs_per_s_max,
            nominal_msgs_per_s: self.nominal_msgs_per_s,
            pace_missed: self.pace_missed,
            p50_us: self.p50_us,
            p99_us: self.p99_us,
            p999_us: self.p999_us,
            kernel_entries_per_msg: self.kernel_entries_per_msg,
            sender_entries_per_msg: self.sender_entries_per_msg,
            wakeups_per_msg: self.wakeups_per_msg,
            spins_per_msg: self.spins_per_msg,
            spin_wakeups_per_msg: self.spin_wakeups_per_msg,
            ctx_switches_per_msg: self.ctx_switches_per_msg,
            voluntary_csw_per_msg: self.voluntary_csw_per_msg,
            involuntary_csw_per_msg: self.involuntary_csw_per_msg,
            cpu_ns_per_msg: self.cpu_ns_per_msg,
            run_msgs_per_s: Vec::new(),
            ratios: RATIO_COLUMNS
                .iter()
                .zip(vs)
                .filter_map(|(&(base, _), v)| v.map(|v| (base.to_string(), v)))
                .collect(),
        }
    }
}

/// `rows` as CSV text: a header line (always, even with no rows), then one line per row, `\n`
/// line ends, fields quoted only when they hold a comma, a quote or a line break (RFC 4180).
pub fn csv_text(rows: &[CsvRow]) -> String {
    // csv writes the header with the first row: with no rows, write a placeholder and keep
    // only the header.
    let placeholder;
    let (write, header_only) = if rows.is_empty() {
        placeholder = [CsvRow::new(
            &Record::new("", Workload::RoundTrip, 0, 0, 0, ""),
            &Stamp {
                schema_version: SCHEMA_VERSION,
                commit: String::new(),
                dirty: None,
                commit_source: String::new(),
                build_commit: String::new(),
                build_dirty: None,
                started_utc: String::new(),
            },
            ("", None),
            &MachineInfo {
                cpu_model: String::new(),
                cpus_online: 0,
                cpus_allowed: Vec::new(),
                kernel: String::new(),
            },
            "",
        )];
        (&placeholder[..], true)
    } else {
        (rows, false)
    };
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for row in write {
        // Into memory, one flat struct per line: serialising cannot fail.
        w.serialize(row).expect("a CsvRow serialises to memory");
    }
    let bytes = w.into_inner().expect("flushing into memory");
    let mut text = String::from_utf8(bytes).expect("csv writes UTF-8 from UTF-8 fields");
    if header_only {
        let end = text.find('\n').map_or(text.len(), |i| i + 1);
        text.truncate(end);
    }
    text
}

/// Reads a CSV file of schema version 1, 2 or 3.
pub fn read_csv(text: &str) -> csv::Result<Vec<CsvRow>> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect()
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
