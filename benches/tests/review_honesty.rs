//! An adversarial review of what `compare` prints and writes: is it true, and is its arithmetic
//! honest? The real binary is run (`--tiny`, `--only`, few runs) and its outputs are checked
//! against each other and against figures recomputed here, from the documentation
//! (`docs/outputs.md`, README.md's comparison section), not from the program's own code:
//!
//! * every figure of the JSON recomputed from its per-run rates: the median (the mean of the
//!   middle two for an even count of runs), the min-max range, each ratio against the baseline
//!   of the same workload, size and placement (and no other), the targets' and reported ratios'
//!   median of per-round ratios and ratio of medians, whether each target is met;
//! * the CSV, the printed table and the targets' text against the JSON, at the printed
//!   precision; the rounds of the progress lines (every case once per round); the charts'
//!   footers;
//! * the kernel counters: an SRR round trip is 3 kernel entries, 1 of them the client's;
//! * a paced row that misses its rate is flagged: the run is throttled (SIGSTOP/SIGCONT) so that
//!   no paced run can keep 20 000 msgs/s;
//! * the placements stated in the header are the threads' real CPU affinity while the run goes
//!   (`/proc/PID/task/*/status`), and the `xproc-*` placements are two processes;
//! * the machine description with the affinity mask narrowed to one CPU;
//! * option values not tried elsewhere.
//!
//! No speed is compared or bounded. Every process started is bounded in time and killed (after
//! a SIGCONT) on every exit path; every scratch directory is removed.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const COMPARE: &str = env!("CARGO_BIN_EXE_compare");

/// How long a measuring run may take before it is killed and the test fails (a debug build on
/// a loaded machine is slow; this only catches a hang).
const LIMIT: Duration = Duration::from_secs(600);

/// Relative tolerance for figures written with about six significant digits.
const REL: f64 = 2e-5;

// ----------------------------------------------------------------------------- running

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("review-honesty-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch directory");
        Scratch(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A started `compare`: on drop, continued (if stopped), killed and reaped.
struct Running {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Running {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_now(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        signal(self.child.id(), libc::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with integer arguments, on a process this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// What a finished run left.
struct Done {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Starts `compare ARGS`, its output in files of `dir`; `cpu`: its affinity narrowed to that
/// one CPU before it starts.
fn start(dir: &Scratch, args: &[&str], cpu: Option<usize>) -> Running {
    let (out, err) = (dir.path("stdout.txt"), dir.path("stderr.txt"));
    let mut cmd = Command::new(COMPARE);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"));
    if let Some(c) = cpu {
        use std::os::unix::process::CommandExt as _;
        // SAFETY: only async-signal-safe calls (sched_setaffinity) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(c, &mut set);
                if libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = cmd.spawn().expect("running compare");
    Running { child, out, err }
}

/// Waits for `run` to end, calling `tick` every couple of milliseconds meanwhile; kills it
/// and fails the test after [`LIMIT`].
fn finish(mut run: Running, mut tick: impl FnMut(&Running)) -> Done {
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = run.child.try_wait().expect("waiting for compare") {
            break s;
        }
        assert!(
            t0.elapsed() < LIMIT,
            "compare still running after {LIMIT:?}: killed\n{}",
            run.stderr_now()
        );
        tick(&run);
        std::thread::sleep(Duration::from_millis(2));
    };
    Done {
        status,
        stdout: std::fs::read_to_string(&run.out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&run.err).unwrap_or_default(),
    }
}

fn run_compare(dir: &Scratch, args: &[&str]) -> Done {
    finish(start(dir, args, None), |_| {})
}

fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("the JSON parses")
}

// ----------------------------------------------------------------------------- arithmetic

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= REL * a.abs().max(b.abs())
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn runs_of(r: &Value) -> Vec<f64> {
    r["run_msgs_per_s"]
        .as_array()
        .expect("run_msgs_per_s")
        .iter()
        .map(|x| x.as_f64().expect("a run's rate"))
        .collect()
}

/// The table's three significant digits (docs: README's columns), as `report.rs` documents
/// them.
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

fn scale(v: f64) -> (f64, &'static str) {
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

fn rate_text(v: f64) -> String {
    match scale(v) {
        (_, "") => format!("{v:.0}"),
        (x, suffix) => format!("{}{suffix}", sig3(x)),
    }
}

fn range_text(lo: f64, hi: f64) -> String {
    match (scale(lo), scale(hi)) {
        ((l, a), (h, b)) if a == b && !a.is_empty() => format!("{}-{}{a}", sig3(l), sig3(h)),
        _ => format!("{}-{}", rate_text(lo), rate_text(hi)),
    }
}

/// Whether `cell` is `v` formatted by `f`, allowing for the JSON's own rounding to six digits
/// (a value on a rounding edge may print either way).
fn shows(cell: &str, v: f64, f: impl Fn(f64) -> String) -> bool {
    [v, v * (1.0 - REL), v * (1.0 + REL)]
        .into_iter()
        .any(|x| f(x) == cell)
}

// ----------------------------------------------------------------------------- what a ratio is

/// The records of `results` that `r`'s ratios are against, per docs/outputs.md ("Which
/// baseline each ratio is taken against"): same workload, size and placement; round trips
/// against futex, spin-futex, pipe, unix-socket (1 producer); one-way against crossbeam (same
/// producers), spsc-ring and spsc-batch (1 producer) and, for asyncmsg, one-way SRR (same
/// producers); paced none; never itself; none against a baseline that measured nothing.
fn expected_baselines<'a>(r: &Value, results: &'a [Value]) -> BTreeMap<String, &'a Value> {
    let producers = num(r, "producers").unwrap();
    let wanted: Vec<(&str, f64)> = match s(r, "workload") {
        "round-trip" => ["futex", "spin-futex", "pipe", "unix-socket"]
            .iter()
            .map(|&b| (b, 1.0))
            .collect(),
        "one-way" => {
            let mut w = vec![
                ("crossbeam", producers),
                ("spsc-ring", 1.0),
                ("spsc-batch", 1.0),
            ];
            if s(r, "model") == "asyncmsg" {
                w.push(("SRR", producers));
            }
            w
        }
        _ => Vec::new(),
    };
    let mut out = BTreeMap::new();
    for (base, p) in wanted {
        if base == s(r, "model") {
            continue;
        }
        let found: Vec<&Value> = results
            .iter()
            .filter(|b| {
                s(b, "model") == base
                    && s(b, "workload") == s(r, "workload")
                    && b["msg_size"] == r["msg_size"]
                    && s(b, "placement") == s(r, "placement")
                    && num(b, "producers") == Some(p)
            })
            .collect();
        assert!(found.len() <= 1, "two {base} baselines for {r}");
        if let Some(b) = found.first() {
            if num(b, "msgs_per_s").is_some_and(|v| v > 0.0) {
                out.insert(base.to_string(), *b);
            }
        }
    }
    out
}

/// The median of the per-round ratios `a[i] / b[i]` and how many rounds there were.
fn paired(a: &Value, b: &Value) -> (f64, usize) {
    let v: Vec<f64> = runs_of(a)
        .iter()
        .zip(runs_of(b))
        .filter(|&(_, y)| y > 0.0)
        .map(|(x, y)| x / y)
        .collect();
    (median(&v), v.len())
}

// ----------------------------------------------------------------------------- the shared run

/// One `--tiny --runs 4` run of the whole quick plan (threads and processes), with JSON, CSV
/// and plots, shared by the tests that read its outputs. 4 runs: an even count, so that every
/// median is the mean of the middle two.
struct Shared {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    json: Value,
    csv: Vec<BTreeMap<String, String>>,
    csv_header: Vec<String>,
    plots: BTreeMap<String, String>,
}

const SHARED_RUNS: usize = 4;

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = Scratch::new("shared");
        let (json, csv, plots) = (dir.path("r.json"), dir.path("r.csv"), dir.path("plots"));
        let runs = SHARED_RUNS.to_string();
        let done = run_compare(
            &dir,
            &[
                "--tiny",
                "--runs",
                &runs,
                "--json",
                json.to_str().unwrap(),
                "--csv",
                csv.to_str().unwrap(),
                "--plots",
                plots.to_str().unwrap(),
            ],
        );
        assert!(
            done.status.success(),
            "compare --tiny --runs 4: {}\n{}\n{}",
            done.status,
            done.stdout,
            done.stderr
        );
        let mut reader = csv::Reader::from_path(&csv).expect("the CSV");
        let header: Vec<String> = reader
            .headers()
            .expect("CSV header")
            .iter()
            .map(String::from)
            .collect();
        let rows = reader
            .records()
            .map(|r| {
                let r = r.expect("a CSV line");
                header
                    .iter()
                    .cloned()
                    .zip(r.iter().map(String::from))
                    .collect()
            })
            .collect();
        let plots = std::fs::read_dir(&plots)
            .expect("plots directory")
            .map(|e| {
                let p = e.expect("entry").path();
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).expect("a chart"),
                )
            })
            .collect();
        Shared {
            status: done.status,
            stdout: done.stdout,
            stderr: done.stderr,
            json: read_json(&json),
            csv: rows,
            csv_header: header,
            plots,
        }
    })
}

fn results(json: &Value) -> &[Value] {
    json["results"].as_array().expect("results")
}

/// A record's progress label (`Case::label` as `--only` matches it, per --help).
fn progress_label(r: &Value) -> String {
    // The JSON's label of asyncmsg+1ms has no batch; the progress line's has.
    let label = match s(r, "model") {
        "asyncmsg+1ms" => format!("asyncmsg+1ms/{}", num(r, "batch").unwrap()),
        _ => s(r, "label").to_string(),
    };
    let mut l = format!(
        "{} {} {} B {}",
        s(r, "workload"),
        label,
        num(r, "msg_size").unwrap(),
        s(r, "placement")
    );
    let p = num(r, "producers").unwrap();
    if p > 1.0 {
        l.push_str(&format!(", {p} producers"));
    }
    l
}

// ----------------------------------------------------------------------------- tests

#[test]
fn medians_ranges_and_ratios_recompute_from_the_per_run_rates() {
    let sh = shared();
    assert!(sh.status.success());
    let json = &sh.json;
    assert_eq!(num(json, "runs"), Some(SHARED_RUNS as f64));
    let res = results(json);
    assert!(res.len() > 20, "{} results", res.len());
    let mut ratios_checked = 0;
    for r in res {
        let runs = runs_of(r);
        assert_eq!(runs.len(), SHARED_RUNS, "{r}");
        assert_eq!(num(r, "runs"), Some(SHARED_RUNS as f64), "{r}");
        let m = num(r, "msgs_per_s").expect("msgs_per_s");
        assert!(
            close(m, median(&runs)),
            "msgs_per_s {m} is not the median {} of {runs:?}: {r}",
            median(&runs)
        );
        let lo = runs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(num(r, "msgs_per_s_min"), Some(lo), "min of {runs:?}: {r}");
        assert_eq!(num(r, "msgs_per_s_max"), Some(hi), "max of {runs:?}: {r}");
        // Ratios: exactly the documented baselines, each the ratio of the two medians.
        let want = expected_baselines(r, res);
        let got = r["ratios"].as_object().expect("ratios");
        assert_eq!(
            got.keys().cloned().collect::<BTreeSet<_>>(),
            want.keys().cloned().collect::<BTreeSet<_>>(),
            "the baselines of {}",
            progress_label(r)
        );
        for (base, b) in &want {
            let v = got[base].as_f64().expect("a ratio");
            let expect = m / num(b, "msgs_per_s").unwrap();
            assert!(
                close(v, expect),
                "{} vs {base}: {v}, but {m} / {} = {expect}",
                progress_label(r),
                num(b, "msgs_per_s").unwrap()
            );
            ratios_checked += 1;
        }
    }
    assert!(ratios_checked > 50, "{ratios_checked} ratios");
}

/// The records a ratio target or reported ratio rests on, from its name and placement.
fn target_records<'a>(t: &Value, res: &'a [Value]) -> Option<(&'a Value, &'a Value)> {
    let name = s(t, "name");
    let place = s(t, "placement");
    let find = |model: &str, workload: &str, batch: f64, producers: f64| {
        res.iter()
            .find(|r| {
                s(r, "model") == model
                    && s(r, "workload") == workload
                    && num(r, "msg_size") == Some(64.0)
                    && num(r, "batch") == Some(batch)
                    && num(r, "producers") == Some(producers)
                    && s(r, "placement") == place
            })
            .unwrap_or_else(|| panic!("no {model} {workload} record on {place} for {name}"))
    };
    let rt = |m: &str| find(m, "round-trip", 1.0, 1.0);
    let ow = |m: &str, batch: f64| find(m, "one-way", batch, 1.0);
    if name.contains("spin-futex rate / SRR rate") {
        return Some((rt("spin-futex"), rt("SRR")));
    }
    if name.contains("SRR rate / futex rate") {
        return Some((rt("SRR"), rt("futex")));
    }
    if name.contains("futex rate / SRR rate") {
        return Some((rt("futex"), rt("SRR")));
    }
    if name.contains("asyncmsg/64 vs crossbeam") {
        return Some((ow("asyncmsg", 64.0), ow("crossbeam", 1.0)));
    }
    if name.contains("asyncmsg/64 vs the batch-publishing SPSC ring") {
        return Some((ow("asyncmsg", 64.0), ow("spsc-batch", 256.0)));
    }
    if name.contains("asyncmsg/64 vs one-way SRR") {
        return Some((ow("asyncmsg", 64.0), ow("SRR", 1.0)));
    }
    if name.contains("asyncmsg/64 vs the SPSC ring publishing every message") {
        return Some((ow("asyncmsg", 64.0), ow("spsc-ring", 1.0)));
    }
    if let Some(rest) = name.split(" with ").nth(1) {
        // "... asyncmsg/64 with 4 producers vs 1" / "... one-way SRR with 64 producers vs 1"
        let n: f64 = rest.split(' ').next()?.parse().ok()?;
        let (model, batch) = if name.contains("asyncmsg/64") {
            ("asyncmsg", 64.0)
        } else {
            ("SRR", 1.0)
        };
        return Some((
            find(model, "one-way", batch, n),
            find(model, "one-way", batch, 1.0),
        ));
    }
    None
}

#[test]
fn targets_and_reported_ratios_are_the_median_of_per_round_ratios() {
    let sh = shared();
    let res = results(&sh.json);
    let targets = sh.json["targets"].as_array().expect("targets");
    let reported = sh.json["reported"].as_array().expect("reported");
    let mut paired_checked = 0;
    for t in targets.iter().chain(reported) {
        let name = s(t, "name");
        let value = num(t, "value").expect("value");
        if name.contains("sender kernel entries/msg") {
            // (e): the record's sender entries, against 1/batch + 0.01.
            let label = name.split(' ').next().unwrap();
            let r = res
                .iter()
                .find(|r| {
                    s(r, "label") == label
                        && s(r, "workload") == "one-way"
                        && num(r, "producers") == Some(1.0)
                        && s(r, "placement") == s(t, "placement")
                        && name.contains(&format!("({} B,", num(r, "msg_size").unwrap()))
                })
                .unwrap_or_else(|| panic!("no record for {t}"));
            assert_eq!(num(t, "value"), num(r, "sender_entries_per_msg"), "{t}");
            let bound = 1.0 / num(r, "batch").unwrap() + 0.01;
            assert!(close(num(t, "bound").unwrap(), bound), "{t}");
            assert_eq!(t["met"].as_bool(), Some(value <= bound), "{t}");
            assert_eq!(num(t, "paired_rounds"), Some(0.0), "{t}");
            continue;
        }
        let (a, b) =
            target_records(t, res).unwrap_or_else(|| panic!("a target not understood: {t}"));
        let (pv, rounds) = paired(a, b);
        assert_eq!(num(t, "paired_rounds"), Some(rounds as f64), "{t}");
        assert_eq!(rounds, SHARED_RUNS, "every round paired: {t}");
        assert!(
            close(value, pv),
            "{name} [{}]: value {value}, but the median of the per-round ratios of {:?} and \
             {:?} is {pv}",
            s(t, "placement"),
            runs_of(a),
            runs_of(b)
        );
        let rom = num(a, "msgs_per_s").unwrap() / num(b, "msgs_per_s").unwrap();
        assert!(
            close(num(t, "ratio_of_medians").expect("ratio_of_medians"), rom),
            "{t}: ratio of medians {rom}"
        );
        if let Some(bound) = num(t, "bound") {
            let met = match s(t, "op") {
                ">=" => value >= bound,
                "<=" => value <= bound,
                op => panic!("op {op:?}"),
            };
            assert_eq!(t["met"].as_bool(), Some(met), "{t}");
        }
        paired_checked += 1;
    }
    assert!(
        paired_checked >= 8,
        "{paired_checked} paired ratios checked"
    );
    // Every target the records allow is there: (a), (b) across CPUs, (c) on one CPU, (h)
    // between processes on both.
    let has = |place: &str, what: &str| {
        targets
            .iter()
            .any(|t| s(t, "placement") == place && s(t, "name").contains(what))
    };
    let placements: BTreeSet<&str> = res.iter().map(|r| s(r, "placement")).collect();
    if placements.contains("cross-cpu") {
        assert!(has("cross-cpu", "spin-futex rate / SRR rate"));
        assert!(has("cross-cpu", "SRR rate / futex rate"));
        assert!(has("cross-cpu", "asyncmsg/64 vs crossbeam"));
        assert!(has("xproc-cross-cpu", "futex rate / SRR rate"));
    }
    assert!(has("same-cpu", "futex rate / SRR rate"));
    assert!(has("xproc-same-cpu", "futex rate / SRR rate"));
}

#[test]
fn csv_lines_are_the_json_results_figure_for_figure() {
    let sh = shared();
    let res = results(&sh.json);
    assert_eq!(sh.csv.len(), res.len(), "one CSV line per result");
    let vs = [
        ("vs_futex", "futex"),
        ("vs_spin_futex", "spin-futex"),
        ("vs_pipe", "pipe"),
        ("vs_unix_socket", "unix-socket"),
        ("vs_crossbeam", "crossbeam"),
        ("vs_spsc_ring", "spsc-ring"),
        ("vs_spsc_batch", "spsc-batch"),
        ("vs_srr", "SRR"),
    ];
    for (row, r) in sh.csv.iter().zip(res) {
        let obj = r.as_object().unwrap();
        for (key, v) in obj {
            if key == "run_msgs_per_s" || key == "ratios" {
                continue;
            }
            let cell = row
                .get(key)
                .unwrap_or_else(|| panic!("no CSV column {key}: {:?}", sh.csv_header));
            match v {
                Value::Null => assert_eq!(cell, "", "{key} of {}", progress_label(r)),
                Value::String(t) => assert_eq!(cell, t, "{key}"),
                Value::Bool(b) => assert_eq!(cell, &b.to_string(), "{key}"),
                Value::Number(n) => assert_eq!(
                    cell.parse::<f64>().ok(),
                    n.as_f64(),
                    "{key} of {}: CSV {cell:?}, JSON {n}",
                    progress_label(r)
                ),
                other => panic!("{key}: {other}"),
            }
        }
        for (col, base) in vs {
            let cell = &row[col];
            match r["ratios"].get(base).and_then(Value::as_f64) {
                Some(v) => assert_eq!(cell.parse::<f64>().ok(), Some(v), "{col}"),
                None => assert_eq!(cell, "", "{col} of {}", progress_label(r)),
            }
        }
        assert_eq!(
            row["placement_detail"],
            s(&sh.json["placements"], s(r, "placement")),
        );
        assert_eq!(
            row["kernel_spin_ns"].parse::<f64>().ok(),
            num(&sh.json, "kernel_spin_ns")
        );
    }
}

/// The printed table's rows: `("WORKLOAD LABEL", bytes, batch, prod, placement)` → the row's
/// cells and
/// what follows them (ratios, pace).
fn table_rows(stdout: &str) -> BTreeMap<(String, String, String, String, String), Vec<String>> {
    let mut out = BTreeMap::new();
    let mut in_rows = false;
    let mut workload = "";
    for line in stdout.lines() {
        if let Some(h) = line.strip_prefix("== ") {
            in_rows = false;
            workload = if h.starts_with("Round trip") {
                "round-trip"
            } else if h.starts_with("One-way") {
                "one-way"
            } else {
                "paced"
            };
            continue;
        }
        if line.starts_with("-----") {
            in_rows = true;
            continue;
        }
        if line.trim().is_empty() {
            in_rows = false;
            continue;
        }
        if in_rows {
            let cells: Vec<String> = line.split_whitespace().map(String::from).collect();
            let key = (
                format!("{workload} {}", cells[0]),
                cells[1].clone(),
                cells[2].clone(),
                cells[3].clone(),
                cells[4].clone(),
            );
            assert!(out.insert(key, cells).is_none(), "a row twice: {line}");
        }
    }
    out
}

#[test]
fn printed_table_shows_the_json_figures() {
    let sh = shared();
    let res = results(&sh.json);
    let rows = table_rows(&sh.stdout);
    assert_eq!(rows.len(), res.len(), "one table row per result");
    let opt = |c: &str, v: Option<f64>| match v {
        None => c == "-",
        Some(v) => shows(c, v, sig3),
    };
    for r in res {
        let key = (
            format!("{} {}", s(r, "workload"), s(r, "label")),
            num(r, "msg_size").unwrap().to_string(),
            num(r, "batch").unwrap().to_string(),
            num(r, "producers").unwrap().to_string(),
            s(r, "placement").to_string(),
        );
        let c = rows
            .get(&key)
            .unwrap_or_else(|| panic!("no table row for {key:?}"));
        let what = progress_label(r);
        let m = num(r, "msgs_per_s").unwrap();
        assert!(shows(&c[5], m, rate_text), "{what}: msgs/s {} vs {m}", c[5]);
        let (lo, hi) = (
            num(r, "msgs_per_s_min").unwrap(),
            num(r, "msgs_per_s_max").unwrap(),
        );
        assert!(
            [1.0, 1.0 - REL, 1.0 + REL]
                .iter()
                .any(|f| range_text(lo * f, hi * f) == c[6]),
            "{what}: min-max {} vs {lo}..{hi}",
            c[6]
        );
        for (i, key) in [
            (7, "p50_us"),
            (8, "p99_us"),
            (9, "p999_us"),
            (10, "kernel_entries_per_msg"),
            (11, "sender_entries_per_msg"),
            (12, "wakeups_per_msg"),
            (13, "ctx_switches_per_msg"),
            (14, "cpu_ns_per_msg"),
        ] {
            assert!(
                opt(&c[i], num(r, key)),
                "{what}: {key} {} vs {:?}",
                c[i],
                num(r, key)
            );
        }
        // The ratio columns: "x SHORT VALUE" for each ratio, nothing else.
        let tail = c[15..].join(" ");
        // "x SHORT VALUE" triples, up to a "PACE MISSED: ..." if any.
        let words = &c[15..];
        let end = words
            .iter()
            .position(|w| w.starts_with("PACE"))
            .unwrap_or(words.len());
        assert_eq!(end % 3, 0, "{what}: {tail}");
        let shown: BTreeMap<String, String> = words[..end]
            .chunks(3)
            .map(|w| {
                assert_eq!(w[0], "x", "{what}: {tail}");
                (w[1].clone(), w[2].clone())
            })
            .collect();
        fn short(b: &str) -> &str {
            match b {
                "spin-futex" => "spin",
                "unix-socket" => "unix",
                "crossbeam" => "xbeam",
                "spsc-ring" => "ring",
                "spsc-batch" => "batch",
                other => other,
            }
        }
        let ratios = r["ratios"].as_object().unwrap();
        assert_eq!(shown.len(), ratios.len(), "{what}: {tail}");
        for (base, v) in ratios {
            let cell = shown
                .get(short(base))
                .unwrap_or_else(|| panic!("{what}: no x {} in {tail}", short(base)));
            assert!(
                shows(cell, v.as_f64().unwrap(), sig3),
                "{what}: x {base} {cell} vs {v}"
            );
        }
        assert_eq!(
            tail.contains("PACE MISSED"),
            r["pace_missed"].as_bool() == Some(true),
            "{what}: {tail}"
        );
    }
    // The targets' lines: each value at the printed precision, and the count met.
    let targets = sh.json["targets"].as_array().unwrap();
    let met = targets
        .iter()
        .filter(|t| t["met"] == Value::Bool(true))
        .count();
    assert!(
        sh.stdout
            .contains(&format!("{met} of {} targets met.", targets.len())),
        "{}",
        sh.stdout
    );
    for t in targets {
        let line = sh
            .stdout
            .lines()
            .find(|l| l.ends_with(s(t, "name")) && l.contains(&format!(" {} ", s(t, "placement"))))
            .unwrap_or_else(|| panic!("no line for target {t}"));
        let w: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            w[0],
            if t["met"] == Value::Bool(true) {
                "met"
            } else {
                "MISSED"
            }
        );
        assert!(shows(w[2], num(t, "value").unwrap(), sig3), "{line} vs {t}");
    }
}

#[test]
fn every_round_measures_every_case_once() {
    let sh = shared();
    let labels: Vec<&str> = sh
        .stderr
        .lines()
        .filter(|l| l.starts_with('['))
        .filter_map(|l| {
            let (_, rest) = l.split_once("] ")?;
            Some(rest.split(" ... (").next().unwrap_or(rest))
        })
        .collect();
    let cases: BTreeSet<String> = results(&sh.json).iter().map(progress_label).collect();
    assert_eq!(labels.len(), cases.len() * SHARED_RUNS, "{}", sh.stderr);
    let mut firsts = BTreeSet::new();
    for round in labels.chunks(cases.len()) {
        let seen: BTreeSet<String> = round.iter().map(|l| l.to_string()).collect();
        assert_eq!(seen, cases, "a round that is not every case once");
        firsts.insert(round[0]);
    }
    assert_eq!(
        firsts.len(),
        SHARED_RUNS,
        "each round starts at another case"
    );
}

#[test]
fn tiny_runs_measure_the_documented_message_counts() {
    // --help: "the quick plan with a few hundred messages per model"; the notes: 400 per run,
    // 100 when paced; n is split evenly over the producers (rounded down to a multiple).
    let sh = shared();
    for r in results(&sh.json) {
        let p = num(r, "producers").unwrap() as u64;
        let n = if s(r, "workload") == "paced" {
            100
        } else {
            400
        };
        let per_run = (n / p).max(1) * p;
        assert_eq!(
            num(r, "msgs_per_run"),
            Some(per_run as f64),
            "{}",
            progress_label(r)
        );
        assert_eq!(
            num(r, "msgs_sent"),
            Some(per_run as f64),
            "sent in the timed part: {}",
            progress_label(r)
        );
        assert_eq!(num(r, "msgs_received"), num(r, "msgs_sent"));
    }
}

#[test]
fn kernel_counters_agree_with_the_models() {
    let sh = shared();
    for r in results(&sh.json) {
        let what = progress_label(r);
        let model = s(r, "model");
        let simulated = model == "SRR" || model.starts_with("asyncmsg");
        for key in [
            "kernel_entries_per_msg",
            "sender_entries_per_msg",
            "wakeups_per_msg",
            "spins_per_msg",
            "spin_wakeups_per_msg",
        ] {
            assert_eq!(num(r, key).is_some(), simulated, "{what}: {key}");
        }
        assert!(num(r, "cpu_ns_per_msg").unwrap() > 0.0, "{what}");
        if !simulated {
            continue;
        }
        let all = num(r, "kernel_entries_per_msg").unwrap();
        let sent = num(r, "sender_entries_per_msg").unwrap();
        let wake = num(r, "wakeups_per_msg").unwrap();
        let (spins, spin_wakes) = (
            num(r, "spins_per_msg").unwrap(),
            num(r, "spin_wakeups_per_msg").unwrap(),
        );
        assert!(sent <= all, "{what}: sender {sent} > all {all}");
        assert!(spin_wakes <= spins + 1e-9, "{what}: {spin_wakes} > {spins}");
        assert!(spin_wakes <= wake + 1e-9, "{what}: {spin_wakes} > {wake}");
        if model == "SRR" && s(r, "workload") == "round-trip" {
            // MsgSend, MsgReceive, MsgReply: 3 entries per round trip, 1 the client's; at
            // most the server and the client readied.
            assert!(
                (all - 3.0).abs() < 0.01,
                "{what}: {all} entries per round trip"
            );
            assert!((sent - 1.0).abs() < 0.01, "{what}: {sent} client entries");
            assert!(wake <= 2.0 + 1e-9, "{what}: {wake} wake-ups per round trip");
        }
        if model == "SRR" && s(r, "workload") == "one-way" {
            assert!((sent - 1.0).abs() < 0.01, "{what}: {sent} client entries");
        }
        if model == "asyncmsg" && s(r, "workload") == "one-way" {
            let batch = num(r, "batch").unwrap();
            if batch >= 8.0 {
                assert!(all < 1.0, "{what}: {all} entries per message with batching");
            }
        }
    }
}

#[test]
fn paced_rows_are_flagged_exactly_when_below_95_percent() {
    let sh = shared();
    let mut paced = 0;
    for r in results(&sh.json) {
        if s(r, "workload") != "paced" {
            assert_eq!(r["nominal_msgs_per_s"], Value::Null);
            assert_eq!(r["pace_missed"], Value::Null);
            continue;
        }
        paced += 1;
        assert_eq!(num(r, "nominal_msgs_per_s"), Some(20_000.0));
        let m = num(r, "msgs_per_s").unwrap();
        assert_eq!(
            r["pace_missed"].as_bool(),
            Some(m < 0.95 * 20_000.0),
            "{}: {m} msgs/s",
            progress_label(r)
        );
    }
    assert!(paced >= 5);
}

#[test]
fn charts_say_how_many_runs_and_which_placement() {
    let sh = shared();
    assert!(!sh.plots.is_empty());
    let m = &sh.json["machine"];
    for (name, svg) in &sh.plots {
        assert!(
            svg.contains(&format!("each point is the median of {SHARED_RUNS} runs")),
            "{name}"
        );
        let machine = format!("{} cores online", num(m, "cpus_online").unwrap() as u64);
        assert!(svg.contains(&machine), "{name}: {machine}");
        let places = results(&sh.json)
            .iter()
            .map(|r| s(r, "placement"))
            .collect::<BTreeSet<_>>();
        let shown = places
            .iter()
            .filter(|p| svg.contains(&format!("Placement: {p};")))
            .count();
        assert_eq!(shown, 1, "{name}: one placement named in the footer");
    }
}

// ----------------------------------------------------------------------------- forced pace miss

#[test]
fn a_paced_run_that_cannot_keep_its_rate_is_flagged_pace_missed() {
    // Throttle the whole program: stopped 20 ms, running 3 ms, over and over. A paced run's
    // timed part lasts at least 100 messages / 20 000 per s = 5 ms of wall-clock time, so it
    // cannot fit in a 3 ms window: each spans a 20 ms stop and achieves under 5 ms / 23 ms of
    // its pace, far below 95%.
    let dir = Scratch::new("pace");
    let json = dir.path("r.json");
    let run = start(
        &dir,
        &[
            "--tiny",
            "--only",
            "paced",
            "--json",
            json.to_str().unwrap(),
        ],
        None,
    );
    let pid = run.pid();
    let stop = AtomicBool::new(false);
    let done = std::thread::scope(|sc| {
        sc.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                signal(pid, libc::SIGSTOP);
                std::thread::sleep(Duration::from_millis(20));
                signal(pid, libc::SIGCONT);
                std::thread::sleep(Duration::from_millis(3));
            }
            signal(pid, libc::SIGCONT);
        });
        // Stop the throttle before `finish` returns or unwinds.
        struct Halt<'a>(&'a AtomicBool);
        impl Drop for Halt<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _halt = Halt(&stop);
        finish(run, |_| {})
    });
    assert_eq!(
        done.status.code(),
        Some(0),
        "a missed pace is no failure: {}",
        done.stderr
    );
    let json = read_json(&json);
    let res = results(&json);
    assert!(res.len() >= 5);
    let rows = table_rows(&done.stdout);
    for r in res {
        assert_eq!(s(r, "workload"), "paced");
        let m = num(r, "msgs_per_s").unwrap();
        assert!(m < 0.95 * 20_000.0, "throttled, yet {m} msgs/s: {r}");
        assert_eq!(r["pace_missed"], Value::Bool(true), "{r}");
        let key = (
            format!("{} {}", s(r, "workload"), s(r, "label")),
            "64".to_string(),
            num(r, "batch").unwrap().to_string(),
            "1".to_string(),
            s(r, "placement").to_string(),
        );
        let tail = rows[&key][15..].join(" ");
        let pct = format!("({:.0}%)", 100.0 * m / 20_000.0);
        assert!(
            tail.contains("PACE MISSED:") && tail.contains("of 20.0k/s") && tail.contains(&pct),
            "{key:?}: {tail} (expected {pct})"
        );
    }
}

// ----------------------------------------------------------------------------- placements

/// `Cpus_allowed_list` of a thread (or process) directory in /proc.
fn allowed_list(task: &Path) -> Option<String> {
    let st = std::fs::read_to_string(task.join("status")).ok()?;
    st.lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
}

fn comm(task: &Path) -> String {
    std::fs::read_to_string(task.join("comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The live peers of `parent` (`compare --xproc-peer ROLE PARENT CPU ...`): (pid, ppid, CPU
/// argument).
fn peers(parent: u32) -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmd
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(i) = args.iter().position(|a| a == "--xproc-peer") else {
            continue;
        };
        if args.get(i + 2).map(String::as_str) != Some(&parent.to_string()) {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        out.push((pid, ppid, args.get(i + 3).cloned().unwrap_or_default()));
    }
    out
}

/// What was seen of one case's threads while it ran.
#[derive(Default, Debug)]
struct Seen {
    /// thread name → the CPU lists it had.
    threads: BTreeMap<String, BTreeSet<String>>,
    /// The program's threads pinned to a single CPU (by CPU list).
    pinned_here: BTreeSet<String>,
    /// Peer processes started during the case, by pid: (is a child of the program, its
    /// threads' CPU lists when last seen: a peer pins itself once started).
    peers: BTreeMap<u32, (bool, BTreeSet<String>)>,
}

/// The current case from the progress lines on stderr.
fn current_case(stderr: &str) -> Option<String> {
    let l = stderr.lines().rev().find(|l| l.starts_with('['))?;
    let rest = l.split_once("] ")?.1;
    Some(rest.split(" ... (").next()?.to_string())
}

fn is_single_cpu(list: &str) -> bool {
    !list.contains(',') && !list.contains('-')
}

#[test]
fn placements_stated_are_the_threads_cpu_affinity_and_xproc_is_two_processes() {
    // The full plan has every placement; one SRR round trip per placement, 1 run each (about
    // 0.3 s each, calibrated): long enough to look at its threads many times.
    let dir = Scratch::new("place");
    let json = dir.path("r.json");
    let run = start(
        &dir,
        &[
            "--full",
            "--runs",
            "1",
            "--only",
            "round-trip SRR 16 B",
            "--only",
            "round-trip SRR 4096 B xproc",
            "--json",
            json.to_str().unwrap(),
        ],
        None,
    );
    let pid = run.pid();
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut peer_case: BTreeMap<u32, String> = BTreeMap::new();
    let done = finish(run, |run| {
        let Some(before) = current_case(&run.stderr_now()) else {
            return;
        };
        let mut now = Seen::default();
        for t in std::fs::read_dir(proc_dir.join("task"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let (name, list) = (comm(&t.path()), allowed_list(&t.path()));
            let Some(list) = list else { continue };
            if is_single_cpu(&list) {
                now.pinned_here.insert(list.clone());
            }
            now.threads.entry(name).or_default().insert(list);
        }
        for (peer, ppid, _) in peers(pid) {
            let lists: BTreeSet<String> = std::fs::read_dir(format!("/proc/{peer}/task"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|t| allowed_list(&t.path()))
                .collect();
            if !lists.is_empty() {
                now.peers.insert(peer, (ppid == pid, lists));
            }
        }
        // Only what surely belongs to the case: the same case before and after the look.
        if current_case(&run.stderr_now()).as_deref() != Some(before.as_str()) {
            return;
        }
        let e = seen.entry(before.clone()).or_default();
        for (k, v) in now.threads {
            e.threads.entry(k).or_default().extend(v);
        }
        e.pinned_here.extend(now.pinned_here);
        // A peer belongs to the case it was first seen in (a peer of the case before may
        // still be ending); its last look counts.
        for (peer, v) in now.peers {
            let case = peer_case
                .entry(peer)
                .or_insert_with(|| before.clone())
                .clone();
            seen.entry(case).or_default().peers.insert(peer, v);
        }
    });
    assert!(done.status.success(), "{}\n{}", done.stdout, done.stderr);
    let json = read_json(&json);
    let placements = json["placements"].as_object().expect("placements");
    let all_allowed = {
        let a: Vec<u64> = json["machine"]["cpus_allowed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .collect();
        a
    };
    let cpus_after = |desc: &str, what: &str| -> Option<String> {
        let i = desc.find(what)? + what.len();
        Some(
            desc[i..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .to_string(),
        )
    };
    let mut checked = BTreeSet::new();
    for r in results(&json) {
        let place = s(r, "placement");
        let label = progress_label(r);
        let desc = placements[place].as_str().unwrap();
        let sn = seen
            .get(&label)
            .unwrap_or_else(|| panic!("{label}: never seen running; seen {seen:?}"));
        let consumer = sn.threads.get("cmp-consumer");
        let producer = sn.threads.get("cmp-producer-0");
        let one = |v: &str| BTreeSet::from([v.to_string()]);
        match place {
            "same-cpu" | "cross-cpu" => {
                let (c, p) = if place == "same-cpu" {
                    let c = cpus_after(desc, "every producer/client on CPU ").unwrap();
                    (c.clone(), c)
                } else {
                    (
                        cpus_after(desc, "consumer/server on CPU ").unwrap(),
                        cpus_after(desc, "every producer/client on CPU ").unwrap(),
                    )
                };
                assert_eq!(consumer, Some(&one(&c)), "{label}: {desc}; {sn:?}");
                assert_eq!(producer, Some(&one(&p)), "{label}: {desc}; {sn:?}");
                if place == "cross-cpu" {
                    assert_ne!(c, p, "{desc}");
                }
                assert!(
                    sn.peers.is_empty(),
                    "{label}: a peer process between threads"
                );
            }
            "unpinned" => {
                let (c, p) = (consumer.expect("consumer"), producer.expect("producer"));
                for l in c.iter().chain(p) {
                    assert!(!is_single_cpu(l) || all_allowed.len() == 1, "{label}: {l}");
                }
            }
            _ => {
                // Two processes: a peer, child of the program, and no measuring thread of the
                // program's own named as between threads.
                assert!(!sn.peers.is_empty(), "{label}: no peer process seen");
                assert!(sn.peers.values().all(|(child, _)| *child), "{label}");
                assert!(consumer.is_none() && producer.is_none(), "{label}: {sn:?}");
                let peer_lists: BTreeSet<String> =
                    sn.peers.values().flat_map(|(_, l)| l.clone()).collect();
                match place {
                    "xproc-same-cpu" => {
                        let c = cpus_after(desc, "both on CPU ").unwrap();
                        assert_eq!(peer_lists, one(&c), "{label}: the server peer; {desc}");
                        assert_eq!(sn.pinned_here, one(&c), "{label}: the client; {desc}");
                    }
                    "xproc-cross-cpu" => {
                        let c = cpus_after(desc, "consumer/server on CPU ").unwrap();
                        let p = cpus_after(desc, "producer/client on CPU ").unwrap();
                        assert_eq!(peer_lists, one(&c), "{label}: the server peer; {desc}");
                        assert_eq!(sn.pinned_here, one(&p), "{label}: the client; {desc}");
                    }
                    _ => {
                        assert!(desc.contains("neither pinned"), "{desc}");
                        assert!(
                            peer_lists.iter().all(|l| !is_single_cpu(l)) || all_allowed.len() == 1,
                            "{label}: {peer_lists:?}"
                        );
                    }
                }
            }
        }
        checked.insert(place.to_string());
    }
    let want = if all_allowed.len() >= 2 { 6 } else { 4 };
    assert_eq!(checked.len(), want, "placements checked: {checked:?}");
}

// ----------------------------------------------------------------------------- machine

fn uname_srvm() -> String {
    let out = Command::new("uname")
        .arg("-srvm")
        .output()
        .expect("uname -srvm");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn online_cpus() -> u64 {
    // SAFETY: sysconf with a constant name.
    unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) as u64 }
}

fn last_allowed_cpu() -> Option<usize> {
    // SAFETY: a zeroed cpu_set_t filled by sched_getaffinity on this process.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) != 0 {
            return None;
        }
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect();
        (cpus.len() >= 2).then(|| *cpus.last().unwrap())
    }
}

#[test]
fn one_cpu_allowed_puts_every_placement_on_that_cpu_and_says_so() {
    let Some(cpu) = last_allowed_cpu() else {
        eprintln!("fewer than two CPUs allowed: nothing to narrow");
        return;
    };
    let dir = Scratch::new("onecpu");
    let json_path = dir.path("r.json");
    let done = finish(
        start(
            &dir,
            &[
                "--tiny",
                "--only",
                "ROUND-TRIP srr",
                "--json",
                json_path.to_str().unwrap(),
            ],
            Some(cpu),
        ),
        |_| {},
    );
    assert!(done.status.success(), "{}", done.stderr);
    let json = read_json(&json_path);
    let m = &json["machine"];
    assert_eq!(m["cpus_allowed"], serde_json::json!([cpu]));
    assert_eq!(s(m, "kernel"), uname_srvm());
    assert!(
        json["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("only one CPU allowed")),
        "{}",
        json["notes"]
    );
    // --only is case-insensitive: both SRR round trips of the plan, and nothing else.
    let places: Vec<&str> = results(&json).iter().map(|r| s(r, "placement")).collect();
    assert_eq!(places, ["same-cpu", "xproc-same-cpu"]);
    for r in results(&json) {
        assert_eq!((s(r, "model"), s(r, "workload")), ("SRR", "round-trip"));
    }
    for (k, d) in json["placements"].as_object().unwrap() {
        let d = d.as_str().unwrap();
        assert!(d.contains(&format!("on CPU {cpu}")), "{k}: {d}");
    }
    assert!(
        done.stdout.contains(&format!("allowed CPUs {cpu}\n")),
        "{}",
        done.stdout
    );
}

#[test]
fn machine_cpus_online_counts_the_cpus_online_not_the_affinity_mask() {
    // docs/outputs.md: `machine` holds `cpus_online` and, apart, `cpus_allowed` ("the
    // affinity mask"); the table's header says "N cores online, allowed CPUs L". With the
    // mask narrowed to one CPU, the CPUs online are still those of the machine.
    let Some(cpu) = last_allowed_cpu() else {
        eprintln!("fewer than two CPUs allowed: nothing to narrow");
        return;
    };
    let dir = Scratch::new("online");
    let json_path = dir.path("r.json");
    let done = finish(
        start(
            &dir,
            &[
                "--tiny",
                "--only",
                "round-trip futex 64 B same-cpu",
                "--json",
                json_path.to_str().unwrap(),
            ],
            Some(cpu),
        ),
        |_| {},
    );
    assert!(done.status.success(), "{}", done.stderr);
    let json = read_json(&json_path);
    let online = online_cpus();
    assert_eq!(
        num(&json["machine"], "cpus_online"),
        Some(online as f64),
        "sysconf(_SC_NPROCESSORS_ONLN) = {online}; {}",
        json["machine"]
    );
    assert!(
        done.stdout.contains(&format!("{online} cores online")),
        "{}",
        done.stdout.lines().take(4).collect::<Vec<_>>().join("\n")
    );
}

// ----------------------------------------------------------------------------- options

#[test]
fn more_bad_option_values_are_refused_before_measuring() {
    let dir = Scratch::new("opts");
    for args in [
        &["--tiny", "--runs", "-1"][..],
        &["--tiny", "--runs", "1.5"],
        &["--tiny", "--runs", ""],
        &["--tiny", "--runs", "4294967297"],
        &["--tiny", "--runs", "2", "--runs", "3"],
        &["--tiny", "--only"],
        &["--tiny", "--only", "\t"],
        // A case of the full plan only: the tiny plan has no unpinned placement.
        &["--tiny", "--only", "unpinned"],
        &["--tiny", "--full"],
    ] {
        let t0 = Instant::now();
        let done = run_compare(&dir, args);
        assert_eq!(done.status.code(), Some(2), "{args:?}: {}", done.stderr);
        assert!(
            !done.stderr.contains("[1/") && done.stdout.is_empty(),
            "{args:?} measured: {}",
            done.stderr
        );
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{args:?} slow to refuse"
        );
    }
}

// ----------------------------------------------------------------------------- srr_roundtrip

/// The JSON of `srr_roundtrip --quick --runs 3 --json` (which must exit 0), run once.
fn srr_roundtrip_json() -> &'static Value {
    static OUT: OnceLock<Value> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = Scratch::new("srr");
        let out = dir.path("out.json");
        let mut child = Command::new(env!("CARGO_BIN_EXE_srr_roundtrip"))
            .args(["--quick", "--runs", "3", "--json"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(Stdio::null())
            .spawn()
            .expect("running srr_roundtrip");
        let t0 = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().expect("waiting") {
                break st;
            }
            if t0.elapsed() > LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("srr_roundtrip still running after {LIMIT:?}: killed");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "srr_roundtrip: {status}");
        read_json(&out)
    })
}

/// Within the rounding of figures written with 3 decimals.
fn close3(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.002 + 0.002 * a.abs().max(b.abs())
}

#[test]
fn srr_roundtrip_medians_ratios_and_counters_recompute() {
    let j = srr_roundtrip_json();
    let res = j["results"].as_array().expect("results");
    let find = |model: &str, place: &str| {
        res.iter()
            .find(|r| s(r, "model") == model && s(r, "placement") == place)
    };
    for r in res {
        let runs: Vec<f64> = r["run_medians_us"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(runs.len(), 3, "{r}");
        let m = num(r, "median_us").unwrap();
        assert!(
            close3(m, median(&runs)),
            "median of {runs:?} is not {m}: {r}"
        );
        let futex = find("futex", s(r, "placement")).expect("futex in the same placement");
        let ratio = m / num(futex, "median_us").unwrap();
        assert!(
            close3(num(r, "ratio_vs_futex").unwrap(), ratio),
            "{r}: {ratio}"
        );
    }
    for t in j["targets"].as_array().unwrap() {
        let place = s(t, "placement");
        let srr = num(find("SRR", place).unwrap(), "median_us").unwrap();
        let v = num(t, "value").unwrap();
        let expect = match s(t, "name") {
            "SRR / futex round-trip time" => {
                srr / num(find("futex", place).unwrap(), "median_us").unwrap()
            }
            "futex / SRR round-trip time" => {
                num(find("futex", place).unwrap(), "median_us").unwrap() / srr
            }
            "SRR / spin-futex round-trip time" => {
                srr / num(find("spin-futex", place).unwrap(), "median_us").unwrap()
            }
            other => panic!("a target not understood: {other}"),
        };
        assert!(close3(v, expect), "{t}: {expect}");
        let met = if s(t, "op") == "<=" {
            v <= num(t, "bound").unwrap()
        } else {
            v >= num(t, "bound").unwrap()
        };
        assert_eq!(t["met"].as_bool(), Some(met), "{t}");
    }
    for c in j["srr_counters"].as_array().unwrap() {
        assert_eq!(num(c, "kernel_entries_per_rt"), Some(3.0), "{c}");
        assert_eq!(num(c, "client_entries_per_rt"), Some(1.0), "{c}");
        assert_eq!(num(c, "server_entries_per_rt"), Some(2.0), "{c}");
        assert_eq!(num(c, "msgs_sent"), num(c, "round_trips"), "{c}");
    }
}

#[test]
fn srr_roundtrip_reports_cpu_time_per_round_trip() {
    // The project's standard: every benchmark reports CPU time per message or round trip
    // (compare has cpu_ns_per_msg; spinning costs CPU, so a round trip's time alone flatters
    // a spinning model).
    let j = srr_roundtrip_json();
    for r in j["results"].as_array().unwrap() {
        let cpu = r["cpu_us_per_rt"].as_f64();
        assert!(
            cpu.is_some_and(|c| c.is_finite() && c > 0.0),
            "no CPU time per round trip in {}: {r}",
            s(r, "model")
        );
    }
}

#[test]
fn context_switches_are_voluntary_plus_involuntary() {
    // docs/outputs.md: ctx_switches_per_msg is "voluntary plus involuntary"; the table's csw/m
    // and the CSV's three columns should add up. Each is the median of its own over the runs,
    // so with several runs they need not.
    let sh = shared();
    for r in results(&sh.json) {
        let (c, v, i) = (
            num(r, "ctx_switches_per_msg").unwrap(),
            num(r, "voluntary_csw_per_msg").unwrap(),
            num(r, "involuntary_csw_per_msg").unwrap(),
        );
        assert!(
            (c - (v + i)).abs() <= REL * c.max(1e-3) + 1e-6,
            "{}: csw/m {c} but voluntary {v} + involuntary {i} = {}",
            progress_label(r),
            v + i
        );
    }
}
