//! SVG charts of the comparison, drawn with plotters' SVG backend (text is SVG `<text>`, so no
//! system fonts are needed).
//!
//! Every chart stands on its own: a title, a subtitle saying what was held fixed and which way is
//! better, axis labels with units, a legend beside the plot, and a footer naming the machine,
//! the placement and how many runs each point is the median of.
//!
//! Lines join measured points only. A series is sampled at every x its chart has (the x values
//! of the records drawn along x); where it was not measured (no record, a figure absent, or one
//! a log axis cannot show) the line breaks, and a point with no measured neighbour is a lone
//! marker, its legend entry saying where it was measured. A chart is not drawn when none of its
//! lines would join two points (a quick run measures one message size: every line of the
//! latency-against-size chart would be a single point) nor when its records are absent;
//! [`render_plots`] says which and why. Flat lines are the exception: a model that has no batch
//! parameter is drawn across the batch axis at its one figure, dashed, and says so.

use super::record::{Record, Workload};
use crate::machine::MachineInfo;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use std::error::Error;
use std::path::{Path, PathBuf};

/// Canvas size in pixels.
const WIDTH: u32 = 1000;
const HEIGHT: u32 = 640;
/// Width of the legend panel at the right of the plot.
const LEGEND_WIDTH: u32 = 280;
/// Height of the title and subtitle band.
const HEADER_HEIGHT: u32 = 66;

/// How a point is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    None,
    Circle,
    Triangle,
    Square,
    Cross,
    Diamond,
}

/// How a line is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dash {
    Solid,
    Dashed,
    Dotted,
}

/// One line of a chart, with its legend entry.
#[derive(Clone, Debug)]
struct Series {
    label: String,
    /// In x order: `(x, Some(y))` where measured, `(x, None)` where the chart has a point but
    /// this series was not measured (or its figure cannot be drawn on a log axis): a gap.
    points: Vec<(f64, Option<f64>)>,
    color: RGBColor,
    marker: Marker,
    dash: Dash,
    /// Measured along x (one point per record); false for a flat line or a computed reference,
    /// which do not count as lines that join measured points.
    along_x: bool,
}

/// Whether `v` can be drawn on a log axis.
fn drawable(v: f64) -> bool {
    v > 0.0 && v.is_finite()
}

impl Series {
    /// A series measured along x: `points` are `(x, y)`, `y` `None` where not measured. Points
    /// whose x cannot be drawn are dropped; a y that cannot be drawn becomes a gap.
    fn new(
        label: impl Into<String>,
        points: Vec<(f64, Option<f64>)>,
        model: &str,
        dash: Dash,
    ) -> Series {
        let (color, marker) = model_style(model);
        let mut points: Vec<(f64, Option<f64>)> = points
            .into_iter()
            .filter(|&(x, _)| drawable(x))
            .map(|(x, y)| (x, y.filter(|&y| drawable(y))))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        Series {
            label: label.into(),
            points,
            color,
            marker,
            dash,
            along_x: true,
        }
    }

    /// A flat line at `y` across the x range, for a model that does not vary along x.
    fn flat(
        label: impl Into<String>,
        y: f64,
        x_range: (f64, f64),
        model: &str,
        dash: Dash,
    ) -> Series {
        let mut s = Series::new(
            label,
            vec![(x_range.0, Some(y)), (x_range.1, Some(y))],
            model,
            dash,
        );
        s.marker = Marker::None;
        s.along_x = false;
        s
    }

    /// A computed line (not a measurement), drawn through all of `points`.
    fn reference(label: impl Into<String>, points: Vec<(f64, f64)>, dash: Dash) -> Series {
        let mut s = Series::new(
            label,
            points.into_iter().map(|(x, y)| (x, Some(y))).collect(),
            "",
            dash,
        );
        s.along_x = false;
        s
    }

    fn with_style(mut self, color: RGBColor, marker: Marker) -> Series {
        self.color = color;
        self.marker = marker;
        self
    }

    /// The measured points, in x order.
    fn measured(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .filter_map(|&(x, y)| y.map(|y| (x, y)))
            .collect()
    }

    /// The runs of consecutive measured points: a line is drawn through each run of two or
    /// more, and never from one run to the next.
    fn segments(&self) -> Vec<Vec<(f64, f64)>> {
        let mut out = Vec::new();
        let mut run = Vec::new();
        for &(x, y) in &self.points {
            match y {
                Some(y) => run.push((x, y)),
                None if !run.is_empty() => out.push(std::mem::take(&mut run)),
                None => {}
            }
        }
        if !run.is_empty() {
            out.push(run);
        }
        out
    }

    /// Measured points with no measured neighbour: drawn as markers with no line.
    fn lone_points(&self) -> Vec<(f64, f64)> {
        self.segments()
            .into_iter()
            .filter(|s| s.len() == 1)
            .map(|s| s[0])
            .collect()
    }

    /// Whether a line joins two measured points somewhere.
    fn has_line(&self) -> bool {
        self.segments().iter().any(|s| s.len() >= 2)
    }

    /// Whether the line breaks between two measured points (a measurement missing between).
    fn has_gap(&self) -> bool {
        self.segments().len() > 1
    }
}

/// Each model's colour and marker, the same in every chart.
fn model_style(model: &str) -> (RGBColor, Marker) {
    match model {
        "asyncmsg" => (RGBColor(31, 119, 180), Marker::Circle),
        "SRR" => (RGBColor(214, 39, 40), Marker::Triangle),
        "futex" => (RGBColor(44, 160, 44), Marker::Square),
        "pipe" => (RGBColor(255, 127, 14), Marker::Cross),
        "unix-socket" => (RGBColor(148, 103, 189), Marker::Diamond),
        "crossbeam" => (RGBColor(140, 86, 75), Marker::Square),
        "spsc-ring" => (RGBColor(227, 119, 194), Marker::Diamond),
        "spsc-batch" => (RGBColor(188, 189, 34), Marker::Diamond),
        "spin-futex" => (RGBColor(127, 127, 127), Marker::Square),
        "asyncmsg+1ms" => (RGBColor(23, 190, 207), Marker::Circle),
        _ => (RGBColor(60, 60, 60), Marker::None),
    }
}

/// One chart, ready to draw.
#[derive(Debug)]
struct Chart {
    file: &'static str,
    title: String,
    subtitle: String,
    x_desc: &'static str,
    /// What varies along x, for the reason a chart is not drawn: `message size`.
    x_name: &'static str,
    /// One x value in words, for a lone point's legend entry: `64 B`, `batch 64`.
    x_point: fn(f64) -> String,
    y_desc: &'static str,
    /// Powers of two.
    x_range: (f64, f64),
    series: Vec<Series>,
    footer: Vec<String>,
}

impl Chart {
    /// Why the chart is not worth drawing, or `None` if it is: it is not when no series
    /// measured along x joins two points (every line would be a single point or nothing).
    fn not_drawn_because(&self) -> Option<String> {
        let along: Vec<&Series> = self.series.iter().filter(|s| s.along_x).collect();
        if along.iter().any(|s| s.has_line()) {
            return None;
        }
        if along.iter().all(|s| s.measured().is_empty()) {
            return Some(format!(
                "no figure measured along its x axis ({})",
                self.x_name
            ));
        }
        Some(format!(
            "every line would be a single point: one {} measured (`compare --full` sweeps it; \
             the table has the figures)",
            self.x_name
        ))
    }

    /// A series' legend note: where it was measured, if at one point only (its legend entry
    /// then shows the marker without a line).
    fn legend_note(&self, s: &Series) -> Option<String> {
        let measured = s.measured();
        (s.along_x && measured.len() == 1)
            .then(|| format!("({} only, no line)", (self.x_point)(measured[0].0)))
    }

    /// The footer, with a line explaining breaks and lone markers when the chart has any.
    fn footer_lines(&self) -> Vec<String> {
        let mut lines = self.footer.clone();
        let along = || self.series.iter().filter(|s| s.along_x);
        let gap = along().any(Series::has_gap);
        let lone = along().any(|s| !s.lone_points().is_empty());
        if gap || lone {
            lines.push(
                "Lines join adjacent measured points only: a break = not measured there; a marker \
                 alone = measured at that point only."
                    .into(),
            );
        }
        lines
    }
}

fn batch_point(x: f64) -> String {
    format!("batch {x}")
}

fn size_point(x: f64) -> String {
    format!("{} B", pow2_label(x))
}

fn producers_point(x: f64) -> String {
    format!("{x} producers")
}

/// The placement a chart shows: `cross-cpu` if its records have it, else the first one's.
fn pick_placement<'a, I: IntoIterator<Item = &'a Record>>(records: I) -> Option<String> {
    let mut first = None;
    for r in records {
        if r.placement == "cross-cpu" {
            return Some(r.placement.clone());
        }
        first.get_or_insert_with(|| r.placement.clone());
    }
    first
}

/// The message size a chart shows: 64 bytes if present, else the smallest.
fn pick_size<'a, I: IntoIterator<Item = &'a Record>>(records: I) -> Option<usize> {
    let sizes: Vec<usize> = records.into_iter().map(|r| r.msg_size).collect();
    if sizes.contains(&64) {
        Some(64)
    } else {
        sizes.into_iter().min()
    }
}

/// The power-of-two range covering `values`, at least one doubling wide.
fn pow2_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    let v: Vec<f64> = values
        .into_iter()
        .filter(|x| *x > 0.0 && x.is_finite())
        .collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(0.0, f64::max);
    if v.is_empty() {
        return None;
    }
    let mut lo = lo.log2().floor().exp2();
    let mut hi = hi.log2().ceil().exp2();
    if hi <= lo {
        lo /= 2.0;
        hi *= 2.0;
    }
    Some((lo, hi))
}

/// The power-of-ten range covering every series' measured y values.
fn pow10_range(series: &[Series]) -> (f64, f64) {
    let ys = series
        .iter()
        .flat_map(|s| s.measured().into_iter().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    if !(lo.is_finite() && hi > 0.0) {
        return (1.0, 10.0);
    }
    let lo = 10f64.powf(lo.log10().floor());
    let mut hi = 10f64.powf(hi.log10().ceil());
    if hi <= lo {
        hi = lo * 10.0;
    }
    (lo, hi)
}

/// `v` with about three significant digits and a k/M/G suffix, trailing zeros dropped.
fn axis_number(v: f64) -> String {
    let (s, suffix) = super::report::si_scale(v);
    let decimals = if s == 0.0 {
        0
    } else {
        (2 - s.abs().log10().floor() as i32).clamp(0, 12) as usize
    };
    let mut text = format!("{s:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    text + suffix
}

/// Labels for a log2 axis: powers of two only (`1K` = 1024), blank between them.
fn pow2_label(v: f64) -> String {
    let l = v.log2();
    if (l - l.round()).abs() > 1e-6 {
        return String::new();
    }
    let n = v.round() as u64;
    if n >= 1024 && n.is_multiple_of(1024) {
        format!("{}K", n / 1024)
    } else {
        n.to_string()
    }
}

/// "median of 5 runs" (or "3 to 5" when the records differ).
fn runs_text<'a, I: IntoIterator<Item = &'a Record>>(records: I) -> String {
    let runs: Vec<u32> = records.into_iter().map(|r| r.runs).collect();
    let lo = runs.iter().copied().min().unwrap_or(0);
    let hi = runs.iter().copied().max().unwrap_or(0);
    if lo == hi {
        format!("each point is the median of {lo} runs")
    } else {
        format!("each point is the median of {lo} to {hi} runs")
    }
}

/// The footer: the machine, then the placement and the runs of the records drawn.
fn footer<'a, I: IntoIterator<Item = &'a Record>>(
    machine: &MachineInfo,
    placement: &str,
    records: I,
) -> Vec<String> {
    let runs = runs_text(records);
    vec![
        format!(
            "Machine: {}, {} cores online (allowed CPUs {}); kernel {}",
            machine.cpu_model,
            machine.cpus_online,
            machine.allowed_list(),
            machine.kernel
        ),
        format!("Placement: {placement}; {runs}. Generated by the qnx-sim compare program."),
    ]
}

/// The file each chart is written to, in the order they are drawn.
pub const CHART_FILES: [&str; 5] = [
    "throughput_vs_batch.svg",
    "latency_vs_size.svg",
    "entries_vs_batch.svg",
    "paced_latency_vs_batch.svg",
    "producers.svg",
];

/// The charts of a run, drawn, and those not drawn with the reason.
#[derive(Debug, Default)]
pub struct Plots {
    /// `(file name, SVG text)` of each chart drawn, in [`CHART_FILES`] order.
    pub drawn: Vec<(&'static str, String)>,
    /// `(file name, why)` of each chart not drawn.
    pub not_drawn: Vec<(&'static str, String)>,
}

/// Draws every chart the records allow, in memory (no I/O).
pub fn render_plots(
    machine: &MachineInfo,
    records: &[Record],
) -> Result<Plots, Box<dyn Error + Send + Sync>> {
    let charts = [
        throughput_vs_batch(machine, records),
        latency_vs_size(machine, records),
        entries_vs_batch(machine, records),
        paced_latency_vs_batch(machine, records),
        producers(machine, records),
    ];
    let mut plots = Plots::default();
    for (file, chart) in CHART_FILES.into_iter().zip(charts) {
        let Some(chart) = chart else {
            plots
                .not_drawn
                .push((file, "its records were not measured in this run".into()));
            continue;
        };
        debug_assert_eq!(chart.file, file);
        if let Some(why) = chart.not_drawn_because() {
            plots.not_drawn.push((file, why));
            continue;
        }
        let svg = draw(&chart).map_err(|e| format!("drawing {file}: {e}"))?;
        plots.drawn.push((file, svg));
    }
    Ok(plots)
}

/// What [`write_plots`] did.
#[derive(Debug)]
pub struct PlotsWritten {
    /// The files written.
    pub written: Vec<PathBuf>,
    /// `(file name, why)` of each chart not drawn (an older file of that name is left as it is).
    pub not_drawn: Vec<(&'static str, String)>,
}

/// Draws the charts and writes them into `dir` (created if needed), each file whole
/// ([`super::output::write_all_atomically`]).
pub fn write_plots(
    dir: &Path,
    machine: &MachineInfo,
    records: &[Record],
) -> std::io::Result<PlotsWritten> {
    std::fs::create_dir_all(dir)?;
    let plots = render_plots(machine, records).map_err(std::io::Error::other)?;
    let files = plots
        .drawn
        .into_iter()
        .map(|(f, svg)| (dir.join(f), svg.into_bytes()))
        .collect();
    Ok(PlotsWritten {
        written: super::output::write_all_atomically(files)?,
        not_drawn: plots.not_drawn,
    })
}

fn one_way(r: &Record) -> bool {
    r.workload == Workload::OneWay
}

/// The placement and message size a chart shows, of the records `pick` selects: see
/// [`pick_placement`] and [`pick_size`].
fn pick_place_and_size(
    records: &[Record],
    pick: impl Fn(&&Record) -> bool,
) -> Option<(String, usize)> {
    let place = pick_placement(records.iter().filter(&pick))?;
    let size = pick_size(
        records
            .iter()
            .filter(&pick)
            .filter(|r| r.placement == place),
    )?;
    Some((place, size))
}

/// The records `keep` selects, in batch order.
fn by_batch(records: &[Record], keep: impl Fn(&&Record) -> bool) -> Vec<&Record> {
    let mut rs: Vec<&Record> = records.iter().filter(keep).collect();
    rs.sort_by_key(|r| r.batch);
    rs
}

/// The batch axis: the batches of `asyncs`, and at least 1 to 256.
fn batch_range(asyncs: &[&Record]) -> Option<(f64, f64)> {
    pow2_range(asyncs.iter().map(|r| batch_x(r)).chain([1.0, 256.0]))
}

/// The batch axis's description.
const BATCH_AXIS: &str = "asyncmsg batch size (messages per trigger, log2 scale)";

fn batch_x(r: &Record) -> f64 {
    f64::from(r.batch)
}

/// One of a record's figures, `None` where it was not measured.
type Figure = fn(&Record) -> Option<f64>;

/// The x values a chart has: those of every record it draws along x, in order, once each.
fn grid(rs: &[&Record], x: fn(&Record) -> f64) -> Vec<f64> {
    let mut g: Vec<f64> = rs.iter().map(|r| x(r)).collect();
    g.sort_by(f64::total_cmp);
    g.dedup();
    g
}

/// A figure of `rs` at every x of `grid`: `None` where no record of `rs` is at that x or its
/// figure is absent (a gap in the line).
fn points(
    rs: &[&Record],
    grid: &[f64],
    x: fn(&Record) -> f64,
    y: Figure,
) -> Vec<(f64, Option<f64>)> {
    grid.iter()
        .map(|&gx| (gx, rs.iter().find(|r| x(r) == gx).and_then(|r| y(r))))
        .collect()
}

/// The latency percentiles the paced chart draws of each model: name, figure, line.
const PERCENTILES: [(&str, Figure, Dash); 2] = [
    ("p50", |r| r.p50_us, Dash::Solid),
    ("p99", |r| r.p99_us, Dash::Dashed),
];

/// A chart's lines as they are put together, and the records they are drawn from (whose runs
/// the footer counts).
struct Lines<'a> {
    x_range: (f64, f64),
    series: Vec<Series>,
    used: Vec<&'a Record>,
}

impl<'a> Lines<'a> {
    /// No lines yet; `drawn` are the records the chart's lines along x will be drawn from.
    fn new(x_range: (f64, f64), drawn: &[&'a Record]) -> Lines<'a> {
        Lines {
            x_range,
            series: Vec::new(),
            used: drawn.to_vec(),
        }
    }

    /// Flat lines of `r`, a model that does not vary along x: one per `(label, y, dash)` whose
    /// `y` was measured.
    fn flat(
        &mut self,
        r: &'a Record,
        lines: impl IntoIterator<Item = (String, Option<f64>, Dash)>,
    ) {
        for (label, y, dash) in lines {
            if let Some(y) = y {
                self.series
                    .push(Series::flat(label, y, self.x_range, &r.model, dash));
            }
        }
        self.used.push(r);
    }
}

/// One-way msgs/s against asyncmsg's batch, with the models that do not batch as flat lines.
fn throughput_vs_batch(machine: &MachineInfo, records: &[Record]) -> Option<Chart> {
    let is_async = |r: &&Record| one_way(r) && r.model == "asyncmsg" && r.producers == 1;
    let (place, size) = pick_place_and_size(records, is_async)?;
    let here =
        |r: &&Record| one_way(r) && r.producers == 1 && r.placement == place && r.msg_size == size;
    let asyncs = by_batch(records, |r| here(r) && r.model == "asyncmsg");
    let x_range = batch_range(&asyncs)?;
    let mut lines = Lines::new(x_range, &asyncs);
    lines.series.push(Series::new(
        "asyncmsg (by batch)",
        points(&asyncs, &grid(&asyncs, batch_x), batch_x, |r| {
            Some(r.msgs_per_s)
        }),
        "asyncmsg",
        Dash::Solid,
    ));
    for model in ["SRR", "crossbeam", "spsc-ring", "spsc-batch"] {
        if let Some(r) = records.iter().filter(here).find(|r| r.model == model) {
            let label = if model == "spsc-batch" {
                format!("{model} (publishes every {}, fixed)", r.batch)
            } else {
                format!("{model} (no batching)")
            };
            lines.flat(r, [(label, Some(r.msgs_per_s), Dash::Dashed)]);
        }
    }
    Some(Chart {
        file: "throughput_vs_batch.svg",
        title: "One-way throughput against asyncmsg batch size".into(),
        subtitle: format!(
            "{size}-byte messages, 1 producer, 1 consumer, placement {place}. Higher is better. \
             Models without an asyncmsg batch are flat dashed lines."
        ),
        x_desc: BATCH_AXIS,
        x_name: "batch size",
        x_point: batch_point,
        y_desc: "Messages per second (log scale)",
        x_range,
        series: lines.series,
        footer: footer(machine, &place, lines.used),
    })
}

/// Round-trip latency (p50 solid, p99 dashed) against message size.
fn latency_vs_size(machine: &MachineInfo, records: &[Record]) -> Option<Chart> {
    const MODELS: [&str; 5] = ["SRR", "futex", "spin-futex", "pipe", "unix-socket"];
    let usable = |r: &&Record| {
        r.workload == Workload::RoundTrip
            && r.producers == 1
            && r.msg_size > 0
            && MODELS.contains(&r.model.as_str())
            && r.p50_us.is_some_and(|v| v > 0.0)
    };
    let place = pick_placement(records.iter().filter(usable))?;
    let here: Vec<&Record> = records
        .iter()
        .filter(usable)
        .filter(|r| r.placement == place)
        .collect();
    let x_range = pow2_range(here.iter().map(|r| r.msg_size as f64))?;
    let size_x = |r: &Record| r.msg_size as f64;
    let sizes = grid(&here, size_x);
    let mut series = Vec::new();
    for model in MODELS {
        let mut rs: Vec<&Record> = here.iter().copied().filter(|r| r.model == model).collect();
        if rs.is_empty() {
            continue;
        }
        rs.sort_by_key(|r| r.msg_size);
        series.push(Series::new(
            format!("{model} p50"),
            points(&rs, &sizes, size_x, |r| r.p50_us),
            model,
            Dash::Solid,
        ));
        let p99 = Series::new(
            format!("{model} p99"),
            points(&rs, &sizes, size_x, |r| r.p99_us),
            model,
            Dash::Dashed,
        );
        if !p99.measured().is_empty() {
            series.push(p99);
        }
    }
    Some(Chart {
        file: "latency_vs_size.svg",
        title: "Round-trip latency against message size".into(),
        subtitle: format!(
            "Request and reply of the same size, 1 client, placement {place}. Lower is better. \
             Solid: p50 (median); dashed: p99."
        ),
        x_desc: "Message size (bytes each way, log2 scale; 1K = 1024)",
        x_name: "message size",
        x_point: size_point,
        y_desc: "Round-trip latency (µs, log scale)",
        x_range,
        series,
        footer: footer(machine, &place, here.iter().copied()),
    })
}

/// Kernel entries per message against asyncmsg's batch, with the 1/batch ideal and SRR's.
fn entries_vs_batch(machine: &MachineInfo, records: &[Record]) -> Option<Chart> {
    let is_async = |r: &&Record| {
        one_way(r)
            && r.model == "asyncmsg"
            && r.producers == 1
            && (r.sender_entries_per_msg.is_some() || r.kernel_entries_per_msg.is_some())
    };
    let (place, size) = pick_place_and_size(records, is_async)?;
    let asyncs = by_batch(records, |r| {
        is_async(r) && r.placement == place && r.msg_size == size
    });
    let (x0, x1) = batch_range(&asyncs)?;
    let mut lines = Lines::new((x0, x1), &asyncs);
    let batches = grid(&asyncs, batch_x);
    lines.series.extend([
        Series::new(
            "asyncmsg sender entries/msg",
            points(&asyncs, &batches, batch_x, |r| r.sender_entries_per_msg),
            "asyncmsg",
            Dash::Solid,
        ),
        Series::new(
            "asyncmsg all entries/msg",
            points(&asyncs, &batches, batch_x, |r| r.kernel_entries_per_msg),
            "asyncmsg",
            Dash::Solid,
        )
        .with_style(RGBColor(23, 190, 207), Marker::Square),
    ]);
    let mut ideal = Vec::new();
    let mut b = x0;
    while b <= x1 {
        ideal.push((b, 1.0 / b));
        b *= 2.0;
    }
    lines.series.push(
        Series::reference("ideal sender: 1/batch", ideal, Dash::Dotted)
            .with_style(BLACK, Marker::None),
    );
    if let Some(srr) = records.iter().find(|r| {
        one_way(r)
            && r.model == "SRR"
            && r.producers == 1
            && r.placement == place
            && r.msg_size == size
    }) {
        lines.flat(
            srr,
            [
                (
                    "SRR all entries/msg".into(),
                    srr.kernel_entries_per_msg,
                    Dash::Dashed,
                ),
                (
                    "SRR sender entries/msg".into(),
                    srr.sender_entries_per_msg,
                    Dash::Dotted,
                ),
            ],
        );
    }
    lines.series.retain(|s| !s.measured().is_empty());
    Some(Chart {
        file: "entries_vs_batch.svg",
        title: "Kernel entries per message against asyncmsg batch size".into(),
        subtitle: format!(
            "One-way, {size}-byte messages, 1 producer, placement {place}. Lower is better. \
             Ideal: one sender trigger per batch."
        ),
        x_desc: BATCH_AXIS,
        x_name: "batch size",
        x_point: batch_point,
        y_desc: "Simulated-kernel entries per message (log scale)",
        x_range: (x0, x1),
        series: lines.series,
        footer: footer(machine, &place, lines.used),
    })
}

/// Paced put-to-receipt latency against asyncmsg's batch, SRR and crossbeam as flat lines.
fn paced_latency_vs_batch(machine: &MachineInfo, records: &[Record]) -> Option<Chart> {
    let paced = |r: &&Record| r.workload == Workload::Paced && r.p50_us.is_some_and(|v| v > 0.0);
    let is_async = |r: &&Record| paced(r) && r.model == "asyncmsg";
    let (place, size) = pick_place_and_size(records, is_async)?;
    let here = |r: &&Record| paced(r) && r.placement == place && r.msg_size == size;
    let asyncs = by_batch(records, |r| here(r) && r.model == "asyncmsg");
    let x_range = batch_range(&asyncs)?;
    // The same batches with a 1 ms time trigger beside the count trigger: what bounds the wait.
    let timed = by_batch(records, |r| here(r) && r.model == "asyncmsg+1ms");
    let drawn = [asyncs.as_slice(), &timed].concat();
    let batches = grid(&drawn, batch_x);
    let mut lines = Lines::new(x_range, &drawn);
    for (model, label, rs) in [
        ("asyncmsg", "asyncmsg", &asyncs),
        ("asyncmsg+1ms", "asyncmsg+1ms timer", &timed),
    ] {
        for (name, y, dash) in PERCENTILES {
            lines.series.push(Series::new(
                format!("{label} {name}"),
                points(rs, &batches, batch_x, y),
                model,
                dash,
            ));
        }
    }
    for model in ["SRR", "crossbeam"] {
        if let Some(r) = records.iter().filter(here).find(|r| r.model == model) {
            lines.flat(
                r,
                PERCENTILES
                    .map(|(name, y, dash)| (format!("{model} {name} (no batching)"), y(r), dash)),
            );
        }
    }
    lines.series.retain(|s| !s.measured().is_empty());
    let rate = asyncs
        .first()
        .map(|r| format!(" at about {} msgs/s", axis_number(r.msgs_per_s)))
        .unwrap_or_default();
    Some(Chart {
        file: "paced_latency_vs_batch.svg",
        title: "Paced put-to-receipt latency against asyncmsg batch size".into(),
        subtitle: format!(
            "One producer, {size}-byte messages{rate}, placement {place}. Lower is better; \
             p50 solid, p99 dashed."
        ),
        x_desc: BATCH_AXIS,
        x_name: "batch size",
        x_point: batch_point,
        y_desc: "Put-to-receipt latency (µs, log scale)",
        x_range,
        series: lines.series,
        footer: footer(machine, &place, lines.used),
    })
}

/// One-way msgs/s against the number of producers.
fn producers(machine: &MachineInfo, records: &[Record]) -> Option<Chart> {
    let models =
        |r: &&Record| one_way(r) && ["asyncmsg", "SRR", "crossbeam"].contains(&r.model.as_str());
    let (place, size) = pick_place_and_size(records, models)?;
    let here: Vec<&Record> = records
        .iter()
        .filter(models)
        .filter(|r| r.placement == place && r.msg_size == size)
        .collect();
    let async_batches: Vec<u32> = here
        .iter()
        .filter(|r| r.model == "asyncmsg")
        .map(|r| r.batch)
        .collect();
    let batch = if async_batches.contains(&64) {
        64
    } else {
        async_batches.iter().copied().max().unwrap_or(64)
    };
    // A model measured with one producer count only is left out: it has no line to draw here.
    let mut kept = Vec::new();
    for (model, b, label) in [
        ("asyncmsg", batch, format!("asyncmsg/{batch}")),
        ("SRR", 1, "SRR".to_string()),
        ("crossbeam", 1, "crossbeam".to_string()),
    ] {
        let mut rs: Vec<&Record> = here
            .iter()
            .copied()
            .filter(|r| r.model == model && r.batch == b)
            .collect();
        rs.sort_by_key(|r| r.producers);
        rs.dedup_by_key(|r| r.producers);
        if rs.len() >= 2 {
            kept.push((model, label, rs));
        }
    }
    if kept.is_empty() {
        return None;
    }
    let used: Vec<&Record> = kept
        .iter()
        .flat_map(|(_, _, rs)| rs.iter().copied())
        .collect();
    let producers_x = |r: &Record| f64::from(r.producers);
    let counts = grid(&used, producers_x);
    let series = kept
        .iter()
        .map(|(model, label, rs)| {
            Series::new(
                label.clone(),
                points(rs, &counts, producers_x, |r| Some(r.msgs_per_s)),
                model,
                Dash::Solid,
            )
        })
        .collect();
    let x_range = pow2_range(counts.iter().copied())?;
    Some(Chart {
        file: "producers.svg",
        title: "One-way throughput against the number of producers".into(),
        subtitle: format!(
            "{size}-byte messages, one consumer, placement {place}. Higher is better; a flat line \
             means the consumer keeps up."
        ),
        x_desc: "Producer threads (log2 scale)",
        x_name: "producer count",
        x_point: producers_point,
        y_desc: "Messages per second, all producers (log scale)",
        x_range,
        series,
        footer: footer(machine, &place, used),
    })
}

type DrawResult = Result<(), Box<dyn Error + Send + Sync>>;

/// Draws `chart` as SVG text.
fn draw(chart: &Chart) -> Result<String, Box<dyn Error + Send + Sync>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw_on(chart, &root)?;
        root.present()?;
    }
    Ok(svg)
}

/// Draws `chart` on `root`.
fn draw_on<DB: DrawingBackend>(chart: &Chart, root: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (header, rest) = root.split_vertically(HEADER_HEIGHT);
    let title_style = ("sans-serif", 26)
        .into_font()
        .style(FontStyle::Bold)
        .color(&BLACK);
    header.draw_text(&chart.title, &title_style, (16, 10))?;
    let sub_style = ("sans-serif", 17).into_font().color(&BLACK);
    header.draw_text(&chart.subtitle, &sub_style, (16, 42))?;

    let footer = chart.footer_lines();
    let footer_height = 20 * footer.len() as u32 + 10;
    let (body, foot) = rest.split_vertically(HEIGHT - HEADER_HEIGHT - footer_height);
    let grey = RGBColor(80, 80, 80);
    let foot_style = ("sans-serif", 15).into_font().color(&grey);
    for (i, line) in footer.iter().enumerate() {
        foot.draw_text(line, &foot_style, (16, 4 + 20 * i as i32))?;
    }

    let (plot_area, legend_area) = body.split_horizontally(WIDTH - LEGEND_WIDTH);
    let (y0, y1) = pow10_range(&chart.series);
    let (x0, x1) = chart.x_range;
    let mut cc = ChartBuilder::on(&plot_area)
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(76)
        .build_cartesian_2d((x0..x1).log_scale().base(2.0), (y0..y1).log_scale())?;
    cc.configure_mesh()
        .x_desc(chart.x_desc)
        .y_desc(chart.y_desc)
        .x_label_formatter(&|v| pow2_label(*v))
        .y_label_formatter(&|v| axis_number(*v))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(205, 205, 205))
        .draw()?;

    for s in &chart.series {
        let line = ShapeStyle::from(&s.color).stroke_width(2);
        // One line per run of consecutive measured points: never across a gap.
        for pts in s.segments().into_iter().filter(|p| p.len() >= 2) {
            match s.dash {
                Dash::Solid => {
                    cc.draw_series(LineSeries::new(pts, line))?;
                }
                Dash::Dashed => {
                    cc.draw_series(DashedLineSeries::new(pts, 10, 6, line))?;
                }
                Dash::Dotted => {
                    cc.draw_series(DashedLineSeries::new(pts, 3, 5, line))?;
                }
            }
        }
        let fill = ShapeStyle::from(&s.color).filled();
        // A series drawn without markers still shows a lone point, as a circle.
        let (marker, p) = match s.marker {
            Marker::None => (Marker::Circle, s.lone_points()),
            m => (m, s.measured()),
        };
        let p = p.into_iter();
        match marker {
            Marker::None => {}
            Marker::Circle => {
                cc.draw_series(p.map(|c| Circle::new(c, 5, fill)))?;
            }
            Marker::Triangle => {
                cc.draw_series(p.map(|c| TriangleMarker::new(c, 7, fill)))?;
            }
            Marker::Square => {
                cc.draw_series(
                    p.map(|c| EmptyElement::at(c) + Rectangle::new([(-4, -4), (4, 4)], fill)),
                )?;
            }
            Marker::Cross => {
                cc.draw_series(p.map(|c| Cross::new(c, 5, line)))?;
            }
            Marker::Diamond => {
                cc.draw_series(p.map(|c| {
                    EmptyElement::at(c) + Polygon::new(vec![(0, -6), (6, 0), (0, 6), (-6, 0)], fill)
                }))?;
            }
        }
    }
    draw_legend(&legend_area, chart)?;
    Ok(())
}

/// The legend, one entry per series: a sample of its line (none for a series measured at one
/// point only) and marker, its label, and under it a note where the chart has one for it.
fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (x, top, row, note_row) = (8, 24, 26, 20);
    let text = ("sans-serif", 17).into_font().color(&BLACK);
    let note_style = ("sans-serif", 14).into_font().color(&RGBColor(80, 80, 80));
    area.draw_text(
        "Legend",
        &("sans-serif", 17)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK),
        (x, 4),
    )?;
    let entries: Vec<(&Series, Option<String>)> = chart
        .series
        .iter()
        .map(|s| (s, chart.legend_note(s)))
        .collect();
    let height: i32 = entries
        .iter()
        .map(|(_, n)| row + if n.is_some() { note_row } else { 0 })
        .sum();
    area.draw(&Rectangle::new(
        [(x - 4, top - 6), (LEGEND_WIDTH as i32 - 10, top + height)],
        ShapeStyle::from(&RGBColor(190, 190, 190)).stroke_width(1),
    ))?;
    let mut y = top + 8;
    for (s, note) in entries {
        let line = ShapeStyle::from(&s.color).stroke_width(2);
        let fill = ShapeStyle::from(&s.color).filled();
        let ends = vec![(x + 2, y), (x + 38, y)];
        if !s.along_x || s.has_line() {
            match s.dash {
                Dash::Solid => area.draw(&PathElement::new(ends, line))?,
                Dash::Dashed => area.draw(&DashedPathElement::new(ends, 8, 5, line))?,
                Dash::Dotted => area.draw(&DashedPathElement::new(ends, 3, 4, line))?,
            }
        }
        let c = (x + 20, y);
        let marker = match s.marker {
            Marker::None if !s.lone_points().is_empty() => Marker::Circle,
            m => m,
        };
        match marker {
            Marker::None => {}
            Marker::Circle => area.draw(&Circle::new(c, 5, fill))?,
            Marker::Triangle => area.draw(&TriangleMarker::new(c, 7, fill))?,
            Marker::Square => {
                area.draw(&Rectangle::new([(c.0 - 4, y - 4), (c.0 + 4, y + 4)], fill))?
            }
            Marker::Cross => area.draw(&Cross::new(c, 5, line))?,
            Marker::Diamond => area.draw(&Polygon::new(
                vec![(c.0, y - 6), (c.0 + 6, y), (c.0, y + 6), (c.0 - 6, y)],
                fill,
            ))?,
        }
        area.draw_text(&s.label, &text, (x + 46, y - 8))?;
        y += row;
        if let Some(note) = note {
            area.draw_text(&note, &note_style, (x + 46, y - 10))?;
            y += note_row;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "plot_tests.rs"]
mod tests;
