//! Tests of `plot.rs`.
use super::*;
use crate::compare::test_records::{machine, rec};

/// A full set: round trips at three sizes on two placements, one-way across batches and
/// producers, paced.
fn sample() -> Vec<Record> {
    use Workload::*;
    let mut v = Vec::new();
    for place in ["same-cpu", "cross-cpu"] {
        for (i, size) in [64usize, 1024, 16384].into_iter().enumerate() {
            for (j, model) in ["SRR", "futex", "spin-futex", "pipe", "unix-socket"]
                .into_iter()
                .enumerate()
            {
                let mut r = rec(model, RoundTrip, size, 1, 1, place, 5e5);
                r.p50_us = Some(1.0 + i as f64 + j as f64);
                r.p99_us = Some(5.0 + 2.0 * i as f64 + j as f64);
                v.push(r);
            }
        }
        for batch in [1u32, 4, 16, 64, 256] {
            let mut r = rec(
                "asyncmsg",
                OneWay,
                64,
                batch,
                1,
                place,
                1e6 * f64::from(batch),
            );
            r.sender_entries_per_msg = Some(1.0 / f64::from(batch) + 0.001);
            r.kernel_entries_per_msg = Some(2.0 / f64::from(batch) + 0.01);
            v.push(r);
            let mut p = rec("asyncmsg", Paced, 64, batch, 1, place, 1e4);
            p.p50_us = Some(2.0 * f64::from(batch));
            p.p99_us = Some(5.0 * f64::from(batch));
            v.push(p);
        }
        let mut srr = rec("SRR", OneWay, 64, 1, 1, place, 8e5);
        srr.kernel_entries_per_msg = Some(3.0);
        srr.sender_entries_per_msg = Some(1.0);
        v.push(srr);
        v.push(rec("crossbeam", OneWay, 64, 1, 1, place, 3e7));
        v.push(rec("spsc-ring", OneWay, 64, 1, 1, place, 8e7));
        v.push(rec("spsc-batch", OneWay, 64, 256, 1, place, 2e8));
        v.push(rec("asyncmsg", OneWay, 64, 64, 16, place, 5e7));
        v.push(rec("SRR", OneWay, 64, 1, 16, place, 6e5));
        for model in ["SRR", "crossbeam"] {
            let mut p = rec(model, Paced, 64, 1, 1, place, 1e4);
            p.p50_us = Some(3.0);
            p.p99_us = Some(9.0);
            v.push(p);
        }
    }
    v
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("compare-plot-{tag}-{}-{nanos}", std::process::id()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Text as the SVG backend escapes it.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn read_svg(dir: &Path, file: &str) -> String {
    let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(text.trim_start().starts_with("<svg"), "{file} is not SVG");
    assert!(
        text.trim_end().ends_with("</svg>"),
        "{file} is not complete"
    );
    text
}

/// Each of `texts` is a whole `<text>` element's content.
fn assert_has(svg: &str, file: &str, texts: &[&str]) {
    for t in texts {
        let node = format!(">\n{}\n</text>", escaped(t));
        assert!(svg.contains(&node), "{file}: no text element {t:?}");
    }
}

/// Each of `parts` is somewhere in a `<text>` element.
fn assert_mentions(svg: &str, file: &str, parts: &[&str]) {
    for part in parts {
        let e = escaped(part);
        let found = svg
            .split("<text")
            .skip(1)
            .any(|t| t.split("</text>").next().is_some_and(|t| t.contains(&e)));
        assert!(found, "{file}: {part:?} not in any text");
    }
}

#[test]
fn writes_every_chart_with_labels() {
    let dir = TempDir::new("all");
    let out = write_plots(&dir.0, &machine(), &sample()).expect("plots");
    assert!(out.not_drawn.is_empty(), "{:?}", out.not_drawn);
    let names: Vec<String> = out
        .written
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "throughput_vs_batch.svg",
            "latency_vs_size.svg",
            "entries_vs_batch.svg",
            "paced_latency_vs_batch.svg",
            "producers.svg"
        ]
    );
    let common = [
        "Machine: Test \"CPU\" @ 3GHz, 2 cores online (allowed CPUs 0-1); kernel Linux 6.1 #1 SMP x86_64",
        "Legend",
    ];
    let checks: [(&str, &[&str]); 5] = [
        (
            "throughput_vs_batch.svg",
            &[
                "One-way throughput against asyncmsg batch size",
                "asyncmsg batch size (messages per trigger, log2 scale)",
                "Messages per second (log scale)",
                "asyncmsg (by batch)",
                "SRR (no batching)",
                "crossbeam (no batching)",
                "spsc-ring (no batching)",
                "spsc-batch (publishes every 256, fixed)",
                "256",
            ],
        ),
        (
            "latency_vs_size.svg",
            &[
                "Round-trip latency against message size",
                "Message size (bytes each way, log2 scale; 1K = 1024)",
                "Round-trip latency (µs, log scale)",
                "SRR p50",
                "SRR p99",
                "futex p50",
                "spin-futex p50",
                "pipe p99",
                "unix-socket p50",
                "16K",
            ],
        ),
        (
            "entries_vs_batch.svg",
            &[
                "Kernel entries per message against asyncmsg batch size",
                "Simulated-kernel entries per message (log scale)",
                "asyncmsg sender entries/msg",
                "asyncmsg all entries/msg",
                "ideal sender: 1/batch",
                "SRR all entries/msg",
                "SRR sender entries/msg",
            ],
        ),
        (
            "paced_latency_vs_batch.svg",
            &[
                "Paced put-to-receipt latency against asyncmsg batch size",
                "Put-to-receipt latency (µs, log scale)",
                "asyncmsg p50",
                "asyncmsg p99",
                "SRR p50 (no batching)",
                "crossbeam p99 (no batching)",
            ],
        ),
        (
            "producers.svg",
            &[
                "One-way throughput against the number of producers",
                "Producer threads (log2 scale)",
                "Messages per second, all producers (log scale)",
                "asyncmsg/64",
                "SRR",
                "16",
            ],
        ),
    ];
    for (file, needles) in checks {
        let svg = read_svg(&dir.0, file);
        assert_has(&svg, file, needles);
        assert_has(&svg, file, &common);
        assert_mentions(
            &svg,
            file,
            &[
                "placement cross-cpu",
                "Placement: cross-cpu; each point is the median of 5 runs",
            ],
        );
        if file != "latency_vs_size.svg" {
            assert_mentions(&svg, file, &["64-byte messages"]);
        }
        assert!(
            svg.matches("<text").count() >= 10,
            "{file}: too little text"
        );
    }
    // The producers chart has no crossbeam line: crossbeam has one producer count only.
    let paced = read_svg(&dir.0, "paced_latency_vs_batch.svg");
    assert_mentions(&paced, "paced", &["at about 10k msgs/s"]);
    let svg = read_svg(&dir.0, "producers.svg");
    assert!(
        !svg.contains(">\ncrossbeam\n</text>"),
        "crossbeam plotted with one point"
    );
}

#[test]
fn skips_charts_without_data_and_uses_the_only_placement() {
    use Workload::*;
    let dir = TempDir::new("some");
    let mut v = Vec::new();
    for size in [64usize, 256] {
        let mut r = rec("SRR", RoundTrip, size, 1, 1, "same-cpu", 1e5);
        r.p50_us = Some(4.0);
        v.push(r);
        let mut f = rec("futex", RoundTrip, size, 1, 1, "same-cpu", 1e5);
        f.p50_us = Some(2.0);
        f.p99_us = Some(3.0);
        v.push(f);
    }
    // One-way without asyncmsg, and a single producer count: no one-way chart.
    v.push(rec("SRR", OneWay, 64, 1, 1, "same-cpu", 1e5));
    let out = write_plots(&dir.0, &machine(), &v).expect("plots");
    assert_eq!(out.written, vec![dir.0.join("latency_vs_size.svg")]);
    let not_drawn: Vec<&str> = out.not_drawn.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        not_drawn,
        [
            "throughput_vs_batch.svg",
            "entries_vs_batch.svg",
            "paced_latency_vs_batch.svg",
            "producers.svg"
        ]
    );
    let svg = read_svg(&dir.0, "latency_vs_size.svg");
    assert_has(
        &svg,
        "latency_vs_size.svg",
        &["SRR p50", "futex p50", "futex p99"],
    );
    assert_mentions(
        &svg,
        "latency_vs_size.svg",
        &["Placement: same-cpu", "placement same-cpu"],
    );
    assert!(!svg.contains("SRR p99"), "SRR had no p99");
    assert!(!svg.contains("pipe"), "pipe absent");
    for f in [
        "throughput_vs_batch.svg",
        "entries_vs_batch.svg",
        "producers.svg",
        "paced_latency_vs_batch.svg",
    ] {
        assert!(!dir.0.join(f).exists(), "{f} written without data");
    }

    // Nothing at all: the directory is still made, no file written.
    let empty = TempDir::new("none");
    let out = write_plots(&empty.0, &machine(), &[]).expect("plots");
    assert!(out.written.is_empty());
    assert_eq!(out.not_drawn.len(), CHART_FILES.len());
    assert!(empty.0.is_dir());
    assert_eq!(std::fs::read_dir(&empty.0).expect("dir").count(), 0);
}

#[test]
fn helpers() {
    assert_eq!(pow2_range([3.0, 100.0]), Some((2.0, 128.0)));
    assert_eq!(pow2_range([64.0]), Some((32.0, 128.0)));
    assert_eq!(pow2_range([0.0]), None);
    assert_eq!(pow2_label(1024.0), "1K");
    assert_eq!(pow2_label(64.0), "64");
    assert_eq!(pow2_label(3.0), "");
    assert_eq!(axis_number(2e5), "200k");
    assert_eq!(axis_number(1e6), "1M");
    assert_eq!(axis_number(0.001), "0.001");
    assert_eq!(axis_number(2.5), "2.5");
    let s = [Series::new(
        "a",
        vec![(1.0, Some(0.02)), (2.0, Some(300.0)), (4.0, None)],
        "SRR",
        Dash::Solid,
    )];
    assert_eq!(pow10_range(&s), (0.01, 1000.0));
    let r = [
        rec("SRR", Workload::OneWay, 64, 1, 1, "same-cpu", 1.0),
        rec("SRR", Workload::OneWay, 32, 1, 1, "cross-cpu", 1.0),
    ];
    assert_eq!(pick_placement(&r).as_deref(), Some("cross-cpu"));
    assert_eq!(pick_placement(&r[..1]).as_deref(), Some("same-cpu"));
    assert_eq!(pick_size(&r), Some(64));
    assert_eq!(pick_size(&r[1..]), Some(32));
}

/// The polylines drawn in the plot area (left of the legend) in `color` at the series' stroke
/// width: each line segment run of a series, or each dash of a dashed one. The axes and grid
/// are drawn 1 pixel wide, the legend's samples right of the plot area.
fn plot_polylines(svg: &str, color: &str) -> Vec<Vec<(i32, i32)>> {
    let stroke = format!("stroke=\"{color}\" stroke-width=\"2\"");
    svg.split("<polyline")
        .skip(1)
        .map(|p| p.split("/>").next().unwrap_or(""))
        .filter(|p| p.contains(&stroke))
        .map(|p| {
            let pts = p
                .split("points=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("");
            pts.split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').expect("x,y");
                    (x.parse().expect("x"), y.parse().expect("y"))
                })
                .collect::<Vec<(i32, i32)>>()
        })
        .filter(|pts| pts.iter().all(|&(x, _)| x < (WIDTH - LEGEND_WIDTH) as i32))
        .collect()
}

/// How many elements of `tag` (`circle`, `polygon`, ...) are filled with `color`, in the plot
/// area and in the legend together.
fn filled(svg: &str, tag: &str, color: &str) -> usize {
    let fill = format!("fill=\"{color}\"");
    svg.split(&format!("<{tag}"))
        .skip(1)
        .filter(|e| e.split("/>").next().is_some_and(|e| e.contains(&fill)))
        .count()
}

const SRR_RED: &str = "#D62728";
const FUTEX_GREEN: &str = "#2CA02C";
const PIPE_ORANGE: &str = "#FF7F0E";
const UNIX_PURPLE: &str = "#9467BD";
const TIMED_CYAN: &str = "#17BECF";

/// Round trips at five sizes, 64 B to 16 KiB, each missing something at 1 KiB but unix-socket:
/// * futex: p50 everywhere; no p99 at 1 KiB (a dashed line with a gap);
/// * SRR: no p50 at 1 KiB (its record there has no latency), no p99 at all;
/// * pipe: no record at 1 KiB at all, no p99;
/// * unix-socket: p50 and p99 everywhere.
fn sizes_with_gaps() -> Vec<Record> {
    let mut v = Vec::new();
    for (i, size) in [64usize, 256, 1024, 4096, 16384].into_iter().enumerate() {
        let at_1k = size == 1024;
        for model in ["SRR", "futex", "pipe", "unix-socket"] {
            if model == "pipe" && at_1k {
                continue;
            }
            let mut r = rec(model, Workload::RoundTrip, size, 1, 1, "cross-cpu", 1e5);
            r.p50_us = (!(model == "SRR" && at_1k)).then_some(2.0 + i as f64);
            r.p99_us = match model {
                "futex" if !at_1k => Some(8.0 + i as f64),
                "unix-socket" => Some(9.0 + i as f64),
                _ => None,
            };
            v.push(r);
        }
    }
    v
}

#[test]
fn lines_do_not_bridge_a_missing_measurement() {
    let dir = TempDir::new("gaps");
    write_plots(&dir.0, &machine(), &sizes_with_gaps()).expect("plots");
    let svg = read_svg(&dir.0, "latency_vs_size.svg");
    // futex's p50, measured everywhere: one unbroken line through the five sizes. Its points
    // give the sizes' pixel columns.
    let futex = plot_polylines(&svg, FUTEX_GREEN);
    let p50 = futex
        .iter()
        .find(|p| p.len() == 5)
        .expect("futex's p50 line through all five sizes")
        .clone();
    let x: Vec<i32> = p50.iter().map(|p| p.0).collect();
    let inside_gap = |pts: &Vec<(i32, i32)>| pts.iter().any(|&(px, _)| x[1] < px && px < x[3]);
    // SRR (a record without the figure) and pipe (no record): their p50 lines run 64-256 and
    // 4K-16K, two pieces, nothing between 256 and 4K.
    for (model, color) in [("SRR", SRR_RED), ("pipe", PIPE_ORANGE)] {
        let lines = plot_polylines(&svg, color);
        let spans: Vec<(i32, i32)> = lines.iter().map(|p| (p[0].0, p[p.len() - 1].0)).collect();
        assert_eq!(spans, [(x[0], x[1]), (x[3], x[4])], "{model}: {lines:?}");
    }
    // futex's p99 (dashed) has no dash between 256 and 4K...
    let dashes: Vec<&Vec<(i32, i32)>> = futex.iter().filter(|p| **p != p50).collect();
    assert!(!dashes.is_empty(), "futex p99 drawn");
    assert!(
        !dashes.iter().any(|d| inside_gap(d)),
        "futex p99 bridges the missing 1 KiB point"
    );
    // ... while unix-socket's, measured there, has (the check can see a bridging line).
    let unix = plot_polylines(&svg, UNIX_PURPLE);
    assert!(unix.iter().filter(|p| p.len() < 5).any(inside_gap));
    // Markers stand only where a figure was measured: SRR's triangles are its 4 p50 points
    // and its legend's.
    assert_eq!(filled(&svg, "polygon", SRR_RED), 4 + 1);
    assert_mentions(
        &svg,
        "latency_vs_size.svg",
        &["a break = not measured there"],
    );
}

#[test]
fn gaps_split_a_series_into_runs_of_measured_points() {
    let s = Series::new(
        "s",
        vec![
            (16.0, None),
            (1.0, Some(2.0)),
            (2.0, None),
            (4.0, Some(3.0)),
            (8.0, Some(0.0)),
            (32.0, Some(5.0)),
            (64.0, Some(6.0)),
            (128.0, Some(f64::NAN)),
        ],
        "SRR",
        Dash::Solid,
    );
    // Sorted by x; a zero or NaN figure cannot be drawn on a log axis: a gap.
    assert_eq!(
        s.segments(),
        vec![
            vec![(1.0, 2.0)],
            vec![(4.0, 3.0)],
            vec![(32.0, 5.0), (64.0, 6.0)]
        ]
    );
    assert_eq!(s.lone_points(), vec![(1.0, 2.0), (4.0, 3.0)]);
    assert!(s.has_line() && s.has_gap());
    let one = Series::new(
        "one",
        vec![(1.0, None), (64.0, Some(9.0))],
        "SRR",
        Dash::Solid,
    );
    assert!(!one.has_line() && !one.has_gap());
    assert_eq!(one.lone_points(), vec![(64.0, 9.0)]);
}

/// Paced records: asyncmsg at batches 1 and 64, asyncmsg+1ms at batch 64 only.
fn paced_with_a_single_point() -> Vec<Record> {
    let mut v = Vec::new();
    for (model, batch) in [("asyncmsg", 1u32), ("asyncmsg", 64), ("asyncmsg+1ms", 64)] {
        let mut p = rec(model, Workload::Paced, 64, batch, 1, "cross-cpu", 2e4);
        p.p50_us = Some(10.0 * f64::from(batch));
        p.p99_us = Some(30.0 * f64::from(batch));
        v.push(p);
    }
    v
}

#[test]
fn single_point_series_has_a_marker_and_no_line() {
    let dir = TempDir::new("single");
    let out = write_plots(&dir.0, &machine(), &paced_with_a_single_point()).expect("plots");
    assert!(out
        .written
        .contains(&dir.0.join("paced_latency_vs_batch.svg")));
    let svg = read_svg(&dir.0, "paced_latency_vs_batch.svg");
    // asyncmsg+1ms: no line anywhere, not even in its legend sample...
    assert!(
        !svg.contains(&format!("stroke=\"{TIMED_CYAN}\"")),
        "a line drawn for a single point"
    );
    // ... but its two points (p50, p99) as markers, and two legend markers.
    assert_eq!(filled(&svg, "circle", TIMED_CYAN), 4);
    assert_has(
        &svg,
        "paced",
        &[
            "asyncmsg+1ms timer p50",
            "(batch 64 only, no line)",
            "asyncmsg p50",
        ],
    );
    assert_mentions(
        &svg,
        "paced",
        &["a marker alone = measured at that point only"],
    );
    // asyncmsg, measured at two batches, has its lines.
    let blue = plot_polylines(&svg, "#1F77B4");
    assert!(blue.iter().any(|p| p.len() == 2), "{blue:?}");
}

#[test]
fn chart_whose_every_line_is_one_point_is_not_drawn() {
    // A quick run's round trips: one message size, so every line of latency against size
    // would be a single point.
    let dir = TempDir::new("quick");
    let v: Vec<Record> = ["SRR", "futex", "pipe", "unix-socket"]
        .into_iter()
        .map(|m| {
            let mut r = rec(m, Workload::RoundTrip, 64, 1, 1, "cross-cpu", 1e5);
            r.p50_us = Some(20.0);
            r.p99_us = Some(40.0);
            r
        })
        .collect();
    let out = write_plots(&dir.0, &machine(), &v).expect("plots");
    assert!(out.written.is_empty(), "{:?}", out.written);
    let (_, why) = out
        .not_drawn
        .iter()
        .find(|(f, _)| *f == "latency_vs_size.svg")
        .expect("latency_vs_size.svg reported as not drawn");
    assert!(
        why.contains("single point") && why.contains("message size"),
        "{why}"
    );
    assert!(!dir.0.join("latency_vs_size.svg").exists());

    // asyncmsg measured at one batch only (one-way and paced): the batch charts have flat
    // lines but nothing measured along their x axis that a line could join.
    let mut one = vec![
        rec("asyncmsg", Workload::OneWay, 64, 64, 1, "cross-cpu", 1e7),
        rec("SRR", Workload::OneWay, 64, 1, 1, "cross-cpu", 1e5),
    ];
    one[0].sender_entries_per_msg = Some(1.0 / 64.0);
    let plots = render_plots(&machine(), &one).expect("rendered");
    assert!(
        plots.drawn.is_empty(),
        "{:?}",
        plots.drawn.iter().map(|d| d.0).collect::<Vec<_>>()
    );
    for file in ["throughput_vs_batch.svg", "entries_vs_batch.svg"] {
        let why = &plots
            .not_drawn
            .iter()
            .find(|(f, _)| *f == file)
            .expect(file)
            .1;
        assert!(
            why.contains("single point") && why.contains("batch size"),
            "{file}: {why}"
        );
    }
}
