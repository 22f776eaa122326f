//! Tests of `schema.rs`: records written and read back through serde_json and csv, the
//! committed (schema version 1) figures read with the same types, and the layout's keys against
//! `docs/outputs.md`.
use super::*;
use crate::compare::report::{add_ratios, check_targets, reported};
use crate::compare::test_records::{machine, rec, with_runs};

const OUTPUTS_DOC: &str = include_str!("../../../docs/outputs.md");
const FULL_JSON: &str = include_str!("../../../docs/figures/compare-full.json");
const FULL_CSV: &str = include_str!("../../../docs/figures/compare-full.csv");
/// Written by `compare --tiny --json --csv` at schema version 2 (commit 54b2ec3, before the
/// range, pace and spin fields existed).
const V1_JSON: &str = include_str!("fixtures/compare-v1-excerpt.json");
const V1_CSV: &str = include_str!("fixtures/compare-v1-excerpt.csv");
const V2_JSON: &str = include_str!("fixtures/compare-v2-tiny.json");
const V2_CSV: &str = include_str!("fixtures/compare-v2-tiny.csv");

fn stamp() -> Stamp {
    Stamp {
        schema_version: SCHEMA_VERSION,
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        dirty: Some(false),
        commit_source: "git".into(),
        build_commit: "unknown".into(),
        build_dirty: None,
        started_utc: "2026-12-05T12:00:00Z".into(),
    }
}

/// A record with every kind of field filled: figures of at most six significant digits (the
/// precision the outputs keep), some absent, ratios, runs' rates.
fn full_record() -> Record {
    let mut r = with_runs(
        rec("asyncmsg", Workload::OneWay, 64, 64, 1, "cross-cpu", 0.0),
        &[1.05e7, 9.87654e6, 1.2e7],
    );
    r.msgs_per_run = 1_500_000;
    r.msgs_sent = 1_500_000;
    r.msgs_received = 1_500_000;
    r.p50_us = Some(3.26);
    r.p99_us = Some(8.29);
    r.p999_us = None;
    r.kernel_entries_per_msg = Some(0.0312);
    r.sender_entries_per_msg = Some(0.015625);
    r.wakeups_per_msg = Some(0.0156);
    r.spins_per_msg = Some(0.0021);
    r.spin_wakeups_per_msg = Some(0.0007);
    r.ctx_switches_per_msg = 0.0002;
    r.voluntary_csw_per_msg = 0.00015;
    r.involuntary_csw_per_msg = 0.00005;
    r.cpu_ns_per_msg = 191.0;
    r.ratios = vec![
        ("crossbeam".into(), 1.03),
        ("spsc-ring".into(), 0.419),
        ("SRR".into(), 142.0),
    ];
    r
}

/// A paced record that missed its pace.
fn paced_record() -> Record {
    let mut r = with_runs(
        rec("SRR", Workload::Paced, 64, 1, 1, "cross-cpu", 0.0),
        &[14_200.0, 19_950.0, 18_100.0],
    );
    r.set_pace(20_000.0);
    r
}

#[test]
fn new_fields_round_trip_through_json_and_csv() {
    let paced = paced_record();
    assert_eq!(paced.pace_missed, Some(true));
    for r in [full_record(), paced] {
        let back: Record =
            serde_json::from_str(&serde_json::to_string(&r).expect("JSON")).expect("read");
        assert_eq!(back, r);
        let row = CsvRow::new(&r, &stamp(), ("full", Some(20_000)), &machine(), "x");
        let rows = read_csv(&csv_text(std::slice::from_ref(&row))).expect("read");
        assert_eq!(rows[0], row);
        assert_eq!(rows[0].kernel_spin_ns, Some(20_000));
        let from_csv = rows[0].record();
        assert_eq!(
            (
                from_csv.msgs_per_s_min,
                from_csv.msgs_per_s_max,
                from_csv.nominal_msgs_per_s,
                from_csv.pace_missed,
                from_csv.spins_per_msg,
                from_csv.spin_wakeups_per_msg,
            ),
            (
                r.msgs_per_s_min,
                r.msgs_per_s_max,
                r.nominal_msgs_per_s,
                r.pace_missed,
                r.spins_per_msg,
                r.spin_wakeups_per_msg,
            )
        );
    }
}

#[test]
fn version_2_files_read_with_the_same_types() {
    let json = read_json(V2_JSON).expect("the version 2 JSON reads");
    assert_eq!(json.schema_version(), 2);
    assert_eq!((json.mode.as_str(), json.kernel_spin_ns), ("tiny", None));
    assert!(json.reported.is_empty());
    assert!(!json.results.is_empty() && !json.targets.is_empty());
    // The old target, as it was written then.
    assert!(json.targets[0].name.contains("within 1.3x of futex"));
    let csv = read_csv(V2_CSV).expect("the version 2 CSV reads");
    assert_eq!(csv.len(), json.results.len());
    for (row, r) in csv.iter().zip(&json.results) {
        assert_eq!(row.schema_version, Some(2));
        assert_eq!(
            (row.kernel_spin_ns, row.vs_spin_futex, row.vs_spsc_batch),
            (None, None, None)
        );
        // What version 3 added is absent, not zero.
        assert_eq!((r.msgs_per_s_min, r.msgs_per_s_max), (None, None));
        assert_eq!((r.nominal_msgs_per_s, r.pace_missed), (None, None));
        assert_eq!((r.spins_per_msg, r.spin_wakeups_per_msg), (None, None));
        assert_eq!(r.run_msgs_per_s.len(), r.runs as usize, "{r:?}");
        // The two files hold the same figures.
        assert_eq!(
            row.record(),
            Record {
                run_msgs_per_s: Vec::new(),
                ..r.clone()
            }
        );
    }
    // Written again as version 3, a version 2 record keeps every field and value.
    let again: Record =
        serde_json::from_str(&serde_json::to_string(&json.results[0]).expect("JSON"))
            .expect("read");
    assert_eq!(again, json.results[0]);
}

#[test]
fn six_digits_keeps_about_six_significant_digits() {
    assert_eq!(six_digits(1.05), "1.05");
    assert_eq!(six_digits(4_200_000.0), "4200000");
    assert_eq!(six_digits(1234567.891), "1234568");
    assert_eq!(six_digits(0.015625), "0.015625");
    assert_eq!(six_digits(1.0 / 3.0), "0.333333");
    assert_eq!(six_digits(-2.5), "-2.5");
    assert_eq!(six_digits(0.0), "0");
    assert_eq!(six_digits(-1e-30), "0");
}

#[test]
fn figures_are_integers_decimals_or_null() {
    #[derive(Serialize)]
    struct F {
        #[serde(with = "figure")]
        a: f64,
        #[serde(with = "figure")]
        b: f64,
        #[serde(with = "opt_figure")]
        c: Option<f64>,
        #[serde(with = "opt_figure")]
        d: Option<f64>,
        #[serde(with = "figures")]
        e: Vec<f64>,
    }
    let f = F {
        a: 4_200_000.0,
        b: 1.0 / 1.2,
        c: None,
        d: Some(f64::INFINITY),
        e: vec![3e6, f64::NAN, 2.5],
    };
    assert_eq!(
        serde_json::to_string(&f).expect("JSON"),
        r#"{"a":4200000,"b":0.833333,"c":null,"d":null,"e":[3000000,null,2.5]}"#
    );
}

#[test]
fn record_round_trips_through_serde_json() {
    let r = full_record();
    let text = serde_json::to_string(&r).expect("JSON");
    let back: Record = serde_json::from_str(&text).expect("read back");
    assert_eq!(back, r);
    // A figure that is not finite is written as null and read back as NaN (absent for an
    // optional figure).
    let mut odd = full_record();
    odd.cpu_ns_per_msg = f64::NAN;
    odd.p50_us = Some(f64::NAN);
    let back: Record =
        serde_json::from_str(&serde_json::to_string(&odd).expect("JSON")).expect("read back");
    assert!(back.cpu_ns_per_msg.is_nan());
    assert_eq!(back.p50_us, None);
}

#[test]
fn record_round_trips_through_csv() {
    let r = full_record();
    let mut m = machine();
    m.cpus_allowed = vec![0, 2, 3];
    let row = CsvRow::new(
        &r,
        &stamp(),
        ("quick", Some(20_000)),
        &m,
        "consumer/server on CPU 0, ...",
    );
    let text = csv_text(std::slice::from_ref(&row));
    let rows = read_csv(&text).expect("read back");
    assert_eq!(rows, std::slice::from_ref(&row));
    // The record comes back whole but for its runs' rates, which are in the JSON only.
    let back = rows[0].record();
    assert_eq!(
        back,
        Record {
            run_msgs_per_s: Vec::new(),
            ..r.clone()
        }
    );
    // The stamp and the machine, on the line; a comma inside a field is quoted.
    assert_eq!(rows[0].schema_version, Some(SCHEMA_VERSION));
    assert_eq!(rows[0].commit, stamp().commit);
    assert_eq!(rows[0].dirty, Some(false));
    assert_eq!(rows[0].cpus_allowed, "0,2-3");
    assert!(text.contains(",\"0,2-3\","), "{text}");
    assert_eq!(rows[0].placement_detail, "consumer/server on CPU 0, ...");
    // Unknown dirtiness is an empty field, read back as unknown.
    let unknown = CsvRow { dirty: None, ..row };
    assert_eq!(
        read_csv(&csv_text(&[unknown])).expect("read")[0].dirty,
        None
    );
}

#[test]
fn csv_without_rows_is_the_header_alone() {
    let text = csv_text(&[]);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("model,label,workload,") && text.ends_with("placement_detail\n"));
    assert!(read_csv(&text).expect("read").is_empty());
}

#[test]
fn report_round_trips_through_json_one_line_per_result() {
    let mut records = vec![
        full_record(),
        rec("SRR", Workload::OneWay, 64, 1, 1, "cross-cpu", 73_700.0),
        rec("crossbeam", Workload::OneWay, 64, 1, 1, "cross-cpu", 1.02e7),
    ];
    add_ratios(&mut records);
    let doc = JsonReport {
        stamp: Some(stamp()),
        machine: machine(),
        mode: "quick".into(),
        runs: 5,
        kernel_spin_ns: Some(20_000),
        placements: vec![
            ("same-cpu".into(), "all on CPU 0".into()),
            ("cross-cpu".into(), "consumer CPU 0, producers CPU 1".into()),
        ],
        elapsed_s: 12.5,
        notes: vec!["one".into(), "two, \"quoted\"".into()],
        targets: check_targets(&records),
        reported: reported(&records),
        results: records,
    };
    let text = json_text(&doc);
    let back = read_json(&text).expect("read back");
    assert_eq!(back.schema_version(), SCHEMA_VERSION);
    // Ratios (of medians) carry more digits than the file keeps: compare the rest exactly.
    let strip = |d: &JsonReport| {
        let mut d = d.clone();
        for r in &mut d.results {
            r.ratios.clear();
        }
        for t in &mut d.targets {
            (t.value, t.bound, t.ratio_of_medians) = (0.0, 0.0, None);
        }
        for r in &mut d.reported {
            (r.value, r.ratio_of_medians) = (0.0, None);
        }
        d
    };
    assert_eq!(strip(&back), strip(&doc));
    // The placements keep their order (not sorted).
    assert_eq!(back.placements[0].0, "same-cpu");
    // Layout: the stamp's keys lead, one per line; one line per target, result and note.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "{");
    assert_eq!(lines[1], format!("  \"schema_version\": {SCHEMA_VERSION},"));
    let results_at = lines
        .iter()
        .position(|l| *l == "  \"results\": [")
        .expect("results array");
    assert_eq!(lines.len(), results_at + doc.results.len() + 3, "{text}");
    assert!(lines[results_at + 1].starts_with("    {\"model\":\"asyncmsg\",\"label\":"));
    assert_eq!(lines.last(), Some(&"}"));
    assert!(text.ends_with("}\n"));
    assert!(lines.contains(&"    \"two, \\\"quoted\\\"\""), "{text}");
}

/// Version 1: the first six results and four targets of the `--full` run committed on
/// 2026-11-25 (before the stamp), as that program wrote them.
#[test]
fn version_1_figures_read_with_the_same_types() {
    let json = read_json(V1_JSON).expect("the version 1 JSON reads");
    assert_eq!(json.stamp, None, "version 1 files predate the stamp");
    assert_eq!(json.schema_version(), 1);
    assert_eq!(json.mode, "full");
    assert!(!json.results.is_empty() && !json.targets.is_empty());
    assert!(json.targets.iter().all(|t| t.op == ">=" || t.op == "<="));
    let csv = read_csv(V1_CSV).expect("the version 1 CSV reads");
    assert_eq!(csv.len(), json.results.len());
    for (row, r) in csv.iter().zip(&json.results) {
        assert_eq!((row.schema_version, row.commit.as_str()), (None, ""));
        assert_eq!(r.run_msgs_per_s.len(), r.runs as usize, "{r:?}");
        // The two files hold the same figures, written alike.
        assert_eq!(
            row.record(),
            Record {
                run_msgs_per_s: Vec::new(),
                ..r.clone()
            }
        );
    }
    // Written again in today's version, a version 1 record keeps every field and value.
    let again: Record =
        serde_json::from_str(&serde_json::to_string(&json.results[0]).expect("JSON"))
            .expect("read");
    assert_eq!(again, json.results[0]);
}

/// The committed `--full` run (docs/figures) is today's version, stamped with what it measured,
/// and its JSON and CSV hold the same figures.
#[test]
fn committed_figures_are_the_current_version_and_stamped() {
    let json = read_json(FULL_JSON).expect("docs/figures/compare-full.json reads");
    assert_eq!(json.schema_version(), SCHEMA_VERSION);
    let stamp = json.stamp.as_ref().expect("a stamp");
    assert_eq!(stamp.commit.len(), 40, "{stamp:?}");
    assert_eq!(json.mode, "full");
    assert!(json.kernel_spin_ns.is_some());
    assert!(!json.results.is_empty() && !json.targets.is_empty() && !json.reported.is_empty());
    let csv = read_csv(FULL_CSV).expect("docs/figures/compare-full.csv reads");
    assert_eq!(csv.len(), json.results.len());
    for (row, r) in csv.iter().zip(&json.results) {
        assert_eq!(row.schema_version, Some(SCHEMA_VERSION));
        assert_eq!(row.commit, stamp.commit);
        assert_eq!(r.run_msgs_per_s.len(), r.runs as usize, "{r:?}");
        assert_eq!(
            row.record(),
            Record {
                run_msgs_per_s: Vec::new(),
                ..r.clone()
            }
        );
    }
}

/// The names in backquotes in the first column of the first table after `heading` in
/// `docs/outputs.md` (indented or not), in order.
fn documented_keys(heading: &str) -> Vec<String> {
    let at = OUTPUTS_DOC
        .find(heading)
        .unwrap_or_else(|| panic!("{heading} in docs/outputs.md"));
    let mut keys = Vec::new();
    let mut in_table = false;
    for line in OUTPUTS_DOC[at..].lines().skip(1).map(str::trim_start) {
        if line.starts_with('|') {
            in_table = true;
            let first = line.split('|').nth(1).unwrap_or("");
            keys.extend(first.split('`').skip(1).step_by(2).map(str::to_string));
        } else if in_table {
            break;
        }
    }
    keys
}

/// The keys of a JSON object, in the order written.
fn written_keys<T: Serialize>(v: &T) -> Vec<String> {
    let text = serde_json::to_string(v).expect("JSON");
    let mut keys = Vec::new();
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let serde_json::Value::Object(map) = doc else {
        panic!("not an object: {text}")
    };
    // serde_json's map is sorted: recover the written order from the text.
    let mut names: Vec<(usize, String)> = map
        .keys()
        .map(|k| {
            let at = text
                .find(&format!("\"{k}\":"))
                .expect("every key in the text");
            (at, k.clone())
        })
        .collect();
    names.sort();
    keys.extend(names.into_iter().map(|(_, k)| k));
    keys
}

#[test]
fn outputs_doc_lists_every_key_in_the_order_written() {
    let mut records = vec![
        full_record(),
        rec("SRR", Workload::OneWay, 64, 1, 1, "cross-cpu", 73_700.0),
    ];
    add_ratios(&mut records);
    let targets = check_targets(&records);
    let doc = JsonReport {
        stamp: Some(stamp()),
        machine: machine(),
        mode: "quick".into(),
        runs: 5,
        kernel_spin_ns: Some(20_000),
        placements: Vec::new(),
        elapsed_s: 1.0,
        notes: Vec::new(),
        targets: targets.clone(),
        reported: reported(&records),
        results: records.clone(),
    };
    assert_eq!(written_keys(&doc), documented_keys("## JSON"));
    assert_eq!(
        written_keys(&records[0]),
        documented_keys("### `results[]`")
    );
    assert_eq!(
        written_keys(&targets[0]),
        documented_keys("### `targets[]`")
    );
    let rep = reported(&records);
    assert!(!rep.is_empty(), "the fixtures report asyncmsg/64 vs SRR");
    assert_eq!(written_keys(&rep[0]), documented_keys("### `reported[]`"));
    // The stamp columns of the CSV, as documented (the record's columns and the ratios' are
    // checked by the report's tests).
    let header = csv_text(&[]);
    let columns: Vec<&str> = header.trim_end().split(',').collect();
    let stamp_cols = documented_keys("3. **The stamp.**");
    assert_eq!(columns[columns.len() - stamp_cols.len()..], stamp_cols);
    let vs_cols = documented_keys("2. **The ratios");
    let ratio_cols: Vec<&str> = RATIO_COLUMNS.iter().map(|&(_, column)| column).collect();
    assert_eq!(vs_cols, ratio_cols);
    assert_eq!(columns[28..36], ratio_cols);
}
