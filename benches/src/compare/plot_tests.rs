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
            for (j, model) in ["SRR", "futex", "pipe", "unix-socket"]
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
    let written = write_plots(&dir.0, &machine(), &sample()).expect("plots");
    let names: Vec<String> = written
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
    let written = write_plots(&dir.0, &machine(), &v).expect("plots");
    assert_eq!(written, vec![dir.0.join("latency_vs_size.svg")]);
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
    assert!(write_plots(&empty.0, &machine(), &[])
        .expect("plots")
        .is_empty());
    assert!(empty.0.is_dir());
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
        vec![(1.0, 0.02), (2.0, 300.0)],
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
