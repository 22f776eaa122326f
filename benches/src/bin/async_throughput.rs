//! asyncmsg throughput against SRR and crossbeam-channel, measured in the same run.
//!
//! One producer thread sends 64-byte messages to one consumer thread: by asyncmsg (two
//! simulated processes of one kernel; count trigger 1, 8, 64 and 256; send queue of 1024
//! slots; up to 256 messages per `asyncmsg_get`), by SRR (`MsgSend` of 64 bytes, zero-byte
//! reply) and through a `crossbeam_channel::bounded(1024)` of `[u8; 64]`. Each is timed from
//! the first send to the consumer's receipt of the last message, several runs per placement
//! (unpinned, and consumer and producer pinned to two different CPUs), models interleaved.
//!
//! ```text
//! cargo run --release -p benches --bin async_throughput [-- --quick] [-- --json] [--runs N]
//!     [--msgs N] [--same-cpu] [--triggers 1,8,64,256] [--only MODEL] [--unpinned-only]
//! ```
//!
//! `--runs` takes 1 to 100, `--msgs` 1,000 to 100,000,000, `--triggers` distinct values from 1
//! to 1023; anything else (and an unknown option or model) is refused with the usage on stderr
//! and exit status 2, before anything is measured.
//!
//! A front-end over the one measuring harness: the models are `compare`'s one-way cases
//! (`Case::run` with `Model::asyncmsg(T)`, `Model::Srr` and `Model::Crossbeam`, 64 B, one
//! producer); this program chooses how many runs of which, and reports them its own way.
//!
//! Per-run lines go to stderr; the table (or, with `--json`, one JSON object) to stdout. The
//! exit status is 1 if any run lost, duplicated or reordered a message. For instruction counts,
//! run one model under callgrind, e.g.
//! `valgrind --tool=callgrind async_throughput --only asyncmsg/64 --unpinned-only --runs 1 --msgs 20000`.

use benches::compare::baselines::{queue_depth, Sample};
use benches::compare::record::Workload;
use benches::compare::report::paired_ratios;
use benches::compare::workloads::{asyncmsg_queue, Between, Case, Model, GET_MAX};
use benches::harness::{median, Placement};
use benches::machine::MachineInfo;
use serde::Serialize;
use std::time::Instant;

/// Bytes per message.
const MSG_SIZE: usize = 64;

/// `--triggers` takes count triggers below this (the send queue's default depth).
const SEND_QUEUE: u32 = 1024;

/// Target: asyncmsg at trigger 64 at least this fraction of crossbeam-channel's messages/s
/// (compare's target too). Its ratio to SRR is reported in the table ("vs SRR"), not judged:
/// since SRR spins across CPUs (issue 12) the ratio says how far batching helps, whatever it is.
const TARGET_VS_CROSSBEAM: f64 = 1.0;
/// Sender-side kernel entries per message at most 1/trigger_num_msg + this.
const TARGET_ENTRIES_SLACK: f64 = 0.01;
/// The trigger the throughput targets are judged at.
const TARGET_TRIGGER: u32 = 64;

/// Timed messages per asyncmsg run; crossbeam runs twice as many, SRR a fiftieth (it is
/// 15-30x slower). Here asyncmsg/64 moves about 15 M msgs/s across CPUs, SRR about 0.5 M,
/// crossbeam 7-17 M, so a run takes well under a second.
const MSGS: u64 = 1_000_000;
const QUICK_MSGS: u64 = 2_000;

/// Most runs `--runs` takes (as `compare` and `xproc_async`).
const MAX_RUNS: usize = 100;
/// The range of `--msgs` (as `xproc_async`'s): at the top, crossbeam runs 200 M messages, a
/// run of each model takes seconds to tens of seconds here.
const MIN_MSGS: u64 = 1_000;
const MAX_MSGS: u64 = 100_000_000;

#[derive(Debug)]
struct Opts {
    json: bool,
    quick: bool,
    runs: usize,
    msgs: u64,
    same_cpu: bool,
    triggers: Vec<u32>,
    only: Option<String>,
    unpinned_only: bool,
}

fn usage(code: i32) -> ! {
    let max_trigger = SEND_QUEUE - 1;
    let text = format!(
        "usage: async_throughput [--json] [--quick] [--runs N] [--msgs N] [--same-cpu] [--triggers LIST] [--only MODEL] [--unpinned-only]\n\
         \x20 --json          print one JSON object instead of the table\n\
         \x20 --quick         a tiny run ({QUICK_MSGS} messages, 1 run): a smoke check, not a measurement\n\
         \x20 --runs N        runs per (model, placement), 1..={MAX_RUNS} (default 5)\n\
         \x20 --msgs N        timed messages per asyncmsg run, {MIN_MSGS}..={MAX_MSGS} (default {MSGS}); crossbeam 2N, SRR N/50\n\
         \x20 --same-cpu      also measure with both threads pinned to the first CPU\n\
         \x20 --triggers LIST asyncmsg trigger_num_msg values, each 1..={max_trigger}, no repeats (default 1,8,64,256)\n\
         \x20 --only MODEL    measure only this model (asyncmsg/T, SRR or crossbeam; for profiling)\n\
         \x20 --unpinned-only measure only the unpinned placement (for profiling)"
    );
    if code == 0 {
        println!("{text}");
    } else {
        eprintln!("{text}");
    }
    std::process::exit(code)
}

fn parse_args() -> Opts {
    let mut o = Opts {
        json: false,
        quick: false,
        runs: 5,
        msgs: MSGS,
        same_cpu: false,
        triggers: vec![1, 8, 64, 256],
        only: None,
        unpinned_only: false,
    };
    let (mut runs, mut msgs) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str, min: u64, max: u64| -> u64 {
            match args.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(v) if (min..=max).contains(&v) => v,
                _ => {
                    eprintln!("{name} needs a number from {min} to {max}");
                    usage(2)
                }
            }
        };
        match a.as_str() {
            "--json" => o.json = true,
            "--quick" => o.quick = true,
            "--same-cpu" => o.same_cpu = true,
            "--unpinned-only" => o.unpinned_only = true,
            "--only" => match args.next() {
                Some(m) => o.only = Some(m),
                None => {
                    eprintln!("--only needs a model name (asyncmsg/64, SRR, crossbeam)");
                    usage(2)
                }
            },
            "--runs" => runs = Some(num("--runs", 1, MAX_RUNS as u64) as usize),
            "--msgs" => msgs = Some(num("--msgs", MIN_MSGS, MAX_MSGS)),
            "--triggers" => match args.next().as_deref().map(parse_triggers) {
                Some(Ok(t)) => o.triggers = t,
                Some(Err(e)) => {
                    eprintln!("--triggers: {e}");
                    usage(2)
                }
                None => {
                    eprintln!("--triggers needs a list");
                    usage(2)
                }
            },
            "-h" | "--help" => usage(0),
            other => {
                eprintln!("unknown argument {other:?}");
                usage(2)
            }
        }
    }
    o.runs = runs.unwrap_or(if o.quick { 1 } else { 5 });
    o.msgs = msgs.unwrap_or(if o.quick { QUICK_MSGS } else { MSGS });
    if !o.triggers.contains(&TARGET_TRIGGER) && !o.json {
        eprintln!("note: trigger {TARGET_TRIGGER} not measured: its targets are not judged");
    }
    o
}

/// `--triggers`' list: comma-separated count triggers, each 1 to `SEND_QUEUE - 1`, none
/// twice (a repeat would make two cells of one model).
fn parse_triggers(list: &str) -> Result<Vec<u32>, String> {
    let max = SEND_QUEUE - 1;
    let mut out: Vec<u32> = Vec::new();
    for x in list.split(',') {
        match x.trim().parse::<u32>() {
            Ok(v) if (1..=max).contains(&v) => {
                if out.contains(&v) {
                    return Err(format!("{v} is listed twice"));
                }
                out.push(v);
            }
            _ => return Err(format!("{x:?} is not a number from 1 to {max}; give a comma-separated list such as 1,8,64,256")),
        }
    }
    Ok(out)
}

/// (timed, warm-up) messages per run of a model.
fn counts(o: &Opts, m: Model) -> (u64, u64) {
    let n = match m {
        Model::Srr => (o.msgs / 50).max(100),
        Model::Crossbeam => o.msgs * 2,
        _ => o.msgs,
    };
    (n, (n / 10).clamp(10, 20_000))
}

fn models(o: &Opts) -> Vec<Model> {
    let mut v: Vec<Model> = o.triggers.iter().map(|&t| Model::asyncmsg(t)).collect();
    v.push(Model::Srr);
    v.push(Model::Crossbeam);
    if let Some(only) = &o.only {
        v.retain(|m| m.label().eq_ignore_ascii_case(only));
        if v.is_empty() {
            eprintln!("--only {only:?} names no measured model");
            usage(2)
        }
    }
    v
}

/// Everything measured for one (model, placement).
#[derive(Debug)]
struct Cell {
    model: Model,
    placement: Placement,
    runs: Vec<Sample>,
}

/// The producing process's kernel entries per message sent.
fn sender_entries_per_msg(s: &Sample) -> Option<f64> {
    s.kernel
        .map(|k| k.sender_entries() as f64 / s.sent.max(1) as f64)
}

/// The asyncmsg library's kernel entries for its connection per message put.
fn library_entries_per_msg(s: &Sample) -> Option<f64> {
    s.kernel
        .and_then(|k| k.conn)
        .map(|c| c.kernel_entries as f64 / c.msgs_put.max(1) as f64)
}

/// The consuming process's kernel entries per message received.
fn receiver_entries_per_msg(s: &Sample) -> Option<f64> {
    s.kernel
        .map(|k| k.consumer.kernel_entries as f64 / s.received.max(1) as f64)
}

/// Whether every message arrived once, in order.
fn intact(s: &Sample) -> bool {
    s.received == s.sent
}

impl Cell {
    fn rates(&self) -> Vec<f64> {
        self.runs.iter().map(Sample::msgs_per_s).collect()
    }

    fn median_rate(&self) -> f64 {
        median(&self.rates())
    }

    /// Median over runs of a per-run figure (NaN if no run has it).
    fn med(&self, f: impl Fn(&Sample) -> Option<f64>) -> f64 {
        let v: Vec<f64> = self.runs.iter().filter_map(f).collect();
        median(&v)
    }

    /// Highest over runs of a per-run figure.
    fn max(&self, f: impl Fn(&Sample) -> Option<f64>) -> f64 {
        self.runs.iter().filter_map(f).fold(f64::NAN, f64::max)
    }

    fn all_intact(&self) -> bool {
        self.runs.iter().all(intact)
    }

    /// (voluntary, involuntary) context switches per message, the whole process over the
    /// timed parts.
    fn csw_per_msg(&self) -> (f64, f64) {
        let msgs: u64 = self.runs.iter().map(|r| r.received).sum::<u64>().max(1);
        let v: u64 = self.runs.iter().map(|r| r.usage.voluntary).sum();
        let i: u64 = self.runs.iter().map(|r| r.usage.involuntary).sum();
        (v as f64 / msgs as f64, i as f64 / msgs as f64)
    }
}

fn cell(cells: &[Cell], m: Model, p: Placement) -> Option<&Cell> {
    cells.iter().find(|c| c.model == m && c.placement == p)
}

/// One target verdict.
#[derive(Debug)]
struct Verdict {
    name: String,
    placement: Placement,
    /// The value judged. For a ratio of rates: the median of the per-round ratios (the two
    /// models' runs of one round are measured back to back), or the ratio of medians if no
    /// round pairs up (`paired_rounds` 0).
    value: f64,
    /// For a ratio: the rounds `value` is the median of (0: not paired).
    paired_rounds: usize,
    /// For a ratio: the ratio of the two models' median rates (the table's "vs" columns).
    ratio_of_medians: Option<f64>,
    bound: f64,
    at_least: bool,
}

/// A ratio of rates, `a` over `b`, each slice one rate per round in round order: the median
/// of the per-round ratios and the rounds it rests on (or the ratio of medians and 0 if no
/// round pairs up: see [`paired_ratios`]), and the ratio of medians.
fn paired_value(a: &[f64], b: &[f64]) -> (f64, usize, f64) {
    let of_medians = median(a) / median(b);
    let rounds = paired_ratios(a, b);
    if rounds.is_empty() {
        (of_medians, 0, of_medians)
    } else {
        (median(&rounds), rounds.len(), of_medians)
    }
}

/// A target `a`'s msgs/s over `b`'s >= `bound`, judged on the paired per-round median. The
/// cells' runs pair up by index: the main loop runs every model once per round (per
/// placement), so run `i` of every cell is round `i`.
fn ratio_verdict(name: String, p: Placement, a: &Cell, b: &Cell, bound: f64) -> Verdict {
    let (value, paired_rounds, of_medians) = paired_value(&a.rates(), &b.rates());
    Verdict {
        name,
        placement: p,
        value,
        paired_rounds,
        ratio_of_medians: Some(of_medians),
        bound,
        at_least: true,
    }
}

/// How a ratio verdict's value was obtained: `(paired, per-round median of 5 rounds; ratio of
/// medians 0.4700)`; empty for a verdict that is not a ratio.
fn value_note(t: &Verdict) -> String {
    match (t.ratio_of_medians, t.paired_rounds) {
        (None, _) => String::new(),
        (Some(_), 0) => "(ratio of medians; no paired rounds)".into(),
        (Some(m), n) => format!(
            "(paired, per-round median of {n} round{}; ratio of medians {m:.4})",
            if n == 1 { "" } else { "s" }
        ),
    }
}

impl Verdict {
    fn met(&self) -> bool {
        if self.at_least {
            self.value >= self.bound
        } else {
            self.value <= self.bound
        }
    }
}

fn verdicts(o: &Opts, placements: &[Placement], cells: &[Cell]) -> Vec<Verdict> {
    let mut v = Vec::new();
    for &p in placements {
        if let (Some(a), Some(x)) = (
            cell(cells, Model::asyncmsg(TARGET_TRIGGER), p),
            cell(cells, Model::Crossbeam, p),
        ) {
            v.push(ratio_verdict(
                format!("asyncmsg/{TARGET_TRIGGER} msgs/s over crossbeam"),
                p,
                a,
                x,
                TARGET_VS_CROSSBEAM,
            ));
        }
        for &t in &o.triggers {
            if let Some(a) = cell(cells, Model::asyncmsg(t), p) {
                v.push(Verdict {
                    name: format!("asyncmsg/{t} sender kernel entries per msg (worst run)"),
                    placement: p,
                    value: a.max(sender_entries_per_msg),
                    paired_rounds: 0,
                    ratio_of_medians: None,
                    bound: 1.0 / t as f64 + TARGET_ENTRIES_SLACK,
                    at_least: false,
                });
            }
        }
    }
    v
}

fn main() {
    let o = parse_args();
    // Before anything is printed: `--only` must name a model measured.
    let models = models(&o);
    let machine = MachineInfo::current();
    // Unpinned and, if two CPUs are allowed, consumer on the first and producer on the second.
    let mut placements = vec![Placement::Unpinned];
    if !o.unpinned_only {
        placements.extend(Placement::cross_cpu());
    }
    if o.same_cpu {
        placements.extend(Placement::same_cpu());
    }
    if placements.len() < 2 && !o.json {
        println!("only one CPU available: the cross-CPU placement is skipped");
    }
    let started = Instant::now();
    let mut cells: Vec<Cell> = Vec::new();
    for &p in &placements {
        for &m in &models {
            cells.push(Cell {
                model: m,
                placement: p,
                runs: Vec::new(),
            });
        }
    }
    for run in 0..o.runs {
        for &p in &placements {
            // Rotate the order each run, so slow drift does not favour any model.
            let mut order = models.clone();
            order.rotate_left(run % models.len());
            for m in order {
                let (n, warmup) = counts(&o, m);
                let case = Case {
                    workload: Workload::OneWay,
                    model: m,
                    msg_size: MSG_SIZE,
                    producers: 1,
                    placement: p,
                    between: Between::Threads,
                };
                let r = case.run(warmup, n, None);
                eprintln!(
                    "run {}/{} {:14} {:20} {:>12.0} msgs/s  ({} msgs in {:.3} s, {:.1} msgs/receive, \
                     sleeps per 1000 msgs (whole process) {:.2}{}{})",
                    run + 1,
                    o.runs,
                    m.label(),
                    p.label(),
                    r.msgs_per_s(),
                    r.received,
                    r.elapsed.as_secs_f64(),
                    r.msgs_per_receive(),
                    1000.0 * r.usage.voluntary as f64 / r.received.max(1) as f64,
                    sender_entries_per_msg(&r)
                        .map(|e| format!(", sender {e:.4} entries/msg"))
                        .unwrap_or_default(),
                    if intact(&r) { "" } else { ", NOT INTACT" }
                );
                if let Some(c) = cells.iter_mut().find(|c| c.model == m && c.placement == p) {
                    c.runs.push(r);
                }
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let v = verdicts(&o, &placements, &cells);
    if o.json {
        print_json(&o, &machine, &placements, &cells, &v, wall);
    } else {
        print_table(&o, &machine, &placements, &cells, &v, wall);
    }
    if cells.iter().any(|c| !c.all_intact()) {
        std::process::exit(1);
    }
}

fn fmt_opt(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "-".into()
    }
}

fn print_table(
    o: &Opts,
    m: &MachineInfo,
    placements: &[Placement],
    cells: &[Cell],
    v: &[Verdict],
    wall: f64,
) {
    println!(
        "one-way throughput, {MSG_SIZE}-byte messages, one producer thread -> one consumer thread"
    );
    println!("CPU:     {}", m.cpu_model);
    println!(
        "cores:   {} online, allowed CPUs {}",
        m.cpus_online,
        m.allowed_list()
    );
    println!("kernel:  {}", m.kernel);
    let per: Vec<String> = [Model::asyncmsg(1), Model::Srr, Model::Crossbeam]
        .iter()
        .map(|&md| {
            let (n, w) = counts(o, md);
            format!("{} {w}+{n}", md.name())
        })
        .collect();
    println!(
        "runs:    {} per (model, placement), models interleaved; warm-up+timed msgs per run: {}{}",
        o.runs,
        per.join(", "),
        if o.quick {
            "  [--quick: smoke check only]"
        } else {
            ""
        }
    );
    println!(
        "asyncmsg: channel buffer_size {MSG_SIZE}, max_num_buffer {GET_MAX} per get; connection \
         max_num_buffer {}; puts asyncmsg_malloc buffers; no callbacks; flush at the end",
        send_queue(o)
    );
    println!(
        "crossbeam: bounded({}) of [u8; {MSG_SIZE}]; SRR: MsgSend {MSG_SIZE} bytes, reply 0 bytes",
        queue_depth(MSG_SIZE)
    );
    println!(
        "placements: {}  (c = consumer/server CPU, p = producer/client CPU)",
        placements
            .iter()
            .map(|p| p.label())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "figures: median of the runs; entries = kernel entries per message over the timed part"
    );
    println!();
    println!(
        "{:<14} {:<18} {:>12} {:>8} {:>9} {:>8} {:>10} {:>9} {:>9} {:>11}  run msgs/s (M)",
        "model",
        "placement",
        "msgs/s",
        "vs SRR",
        "vs xbeam",
        "msgs/rcv",
        "send ent.",
        "lib ent.",
        "recv ent.",
        "csw/msg v/i",
    );
    for &p in placements {
        let srr = cell(cells, Model::Srr, p).map_or(f64::NAN, Cell::median_rate);
        let xb = cell(cells, Model::Crossbeam, p).map_or(f64::NAN, Cell::median_rate);
        for c in cells.iter().filter(|c| c.placement == p) {
            let r = c.median_rate();
            let (cv, ci) = c.csw_per_msg();
            let runs: Vec<String> = c
                .rates()
                .iter()
                .map(|x| format!("{:.3}", x / 1e6))
                .collect();
            println!(
                "{:<14} {:<18} {:>12.0} {:>8.2} {:>9.3} {:>8.1} {:>10} {:>9} {:>9} {:>11}  {}{}",
                c.model.label(),
                p.label(),
                r,
                r / srr,
                r / xb,
                c.med(|r| Some(r.msgs_per_receive())),
                fmt_opt(c.med(sender_entries_per_msg), 4),
                fmt_opt(c.med(library_entries_per_msg), 4),
                fmt_opt(c.med(receiver_entries_per_msg), 4),
                format!("{cv:.3}/{ci:.3}"),
                runs.join(" "),
                if c.all_intact() { "" } else { "  NOT INTACT" }
            );
        }
    }
    println!();
    println!("send ent. = producer process's kernel entries (Process::counters) / msgs sent;");
    println!("lib ent. = asyncmsg_connection_stats kernel_entries / msgs_put; recv ent. = consumer process's / msgs");
    println!("vs SRR, vs xbeam = ratio of median msgs/s; the ratio targets below are judged on the median of");
    println!("  per-round ratios (the models' runs of one round are measured back to back), the ratio of medians beside it");
    println!();
    println!("targets:");
    for t in v {
        let line = format!(
            "  {:<54} {:<18} {:>10.4} {} {:<8.4} {:<6} {}",
            t.name,
            t.placement.label(),
            t.value,
            if t.at_least { ">=" } else { "<=" },
            t.bound,
            if t.met() { "met" } else { "MISSED" },
            value_note(t)
        );
        println!("{}", line.trim_end());
    }
    if cells.iter().any(|c| !c.all_intact()) {
        println!("WARNING: some run lost, duplicated or reordered messages");
    }
    println!();
    println!("wall time {wall:.1} s");
}

/// The connection's send queue for the largest trigger measured (1024 for the defaults).
fn send_queue(o: &Opts) -> u32 {
    asyncmsg_queue(MSG_SIZE, o.triggers.iter().copied().max().unwrap_or(1))
}

/// `v` rounded to `decimals` decimals (NaN and infinities stay, and are written as `null`).
fn dec(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    if v.is_finite() {
        (v * f).round() / f
    } else {
        v
    }
}

/// The JSON object `--json` prints.
#[derive(Serialize)]
struct Report<'a> {
    benchmark: &'static str,
    machine: &'a MachineInfo,
    config: Config,
    results: Vec<ModelResult>,
    targets: Vec<TargetResult>,
    wall_s: f64,
}

#[derive(Serialize)]
struct Config {
    quick: bool,
    runs: usize,
    msg_size: usize,
    triggers: Vec<u32>,
    get_max: u32,
    send_queue: u32,
    crossbeam_capacity: usize,
    async_msgs: u64,
    srr_msgs: u64,
    crossbeam_msgs: u64,
    placements: Vec<PlacementConfig>,
}

#[derive(Serialize)]
struct PlacementConfig {
    placement: &'static str,
    label: String,
    consumer_cpu: Option<usize>,
    producer_cpu: Option<usize>,
}

#[derive(Serialize)]
struct ModelResult {
    model: String,
    trigger_num_msg: Option<u32>,
    placement: &'static str,
    msgs_per_s: f64,
    run_msgs_per_s: Vec<f64>,
    ratio_vs_srr: f64,
    ratio_vs_crossbeam: f64,
    msgs_per_receive: f64,
    sender_entries_per_msg: f64,
    library_entries_per_msg: f64,
    receiver_entries_per_msg: f64,
    csw_voluntary_per_msg: f64,
    csw_involuntary_per_msg: f64,
    intact: bool,
}

#[derive(Serialize)]
struct TargetResult {
    target: String,
    placement: &'static str,
    value: f64,
    paired_rounds: usize,
    ratio_of_medians: Option<f64>,
    bound: f64,
    at_least: bool,
    met: bool,
}

fn print_json(
    o: &Opts,
    m: &MachineInfo,
    placements: &[Placement],
    cells: &[Cell],
    v: &[Verdict],
    wall: f64,
) {
    let config = Config {
        quick: o.quick,
        runs: o.runs,
        msg_size: MSG_SIZE,
        triggers: o.triggers.clone(),
        get_max: GET_MAX,
        send_queue: send_queue(o),
        crossbeam_capacity: queue_depth(MSG_SIZE),
        async_msgs: counts(o, Model::asyncmsg(1)).0,
        srr_msgs: counts(o, Model::Srr).0,
        crossbeam_msgs: counts(o, Model::Crossbeam).0,
        placements: placements
            .iter()
            .map(|&p| PlacementConfig {
                placement: p.key(),
                label: p.label(),
                consumer_cpu: p.cpus().map(|c| c.0),
                producer_cpu: p.cpus().map(|c| c.1),
            })
            .collect(),
    };
    let mut results = Vec::new();
    for &p in placements {
        let srr = cell(cells, Model::Srr, p).map_or(f64::NAN, Cell::median_rate);
        let xb = cell(cells, Model::Crossbeam, p).map_or(f64::NAN, Cell::median_rate);
        for c in cells.iter().filter(|c| c.placement == p) {
            let r = c.median_rate();
            let (cv, ci) = c.csw_per_msg();
            results.push(ModelResult {
                model: c.model.label(),
                trigger_num_msg: matches!(c.model, Model::Asyncmsg { .. }).then(|| c.model.batch()),
                placement: p.key(),
                msgs_per_s: dec(r, 0),
                run_msgs_per_s: c.rates().iter().map(|&x| dec(x, 0)).collect(),
                ratio_vs_srr: dec(r / srr, 3),
                ratio_vs_crossbeam: dec(r / xb, 4),
                msgs_per_receive: dec(c.med(|r| Some(r.msgs_per_receive())), 2),
                sender_entries_per_msg: dec(c.med(sender_entries_per_msg), 5),
                library_entries_per_msg: dec(c.med(library_entries_per_msg), 5),
                receiver_entries_per_msg: dec(c.med(receiver_entries_per_msg), 5),
                csw_voluntary_per_msg: dec(cv, 4),
                csw_involuntary_per_msg: dec(ci, 4),
                intact: c.all_intact(),
            });
        }
    }
    let targets = v
        .iter()
        .map(|t| TargetResult {
            target: t.name.clone(),
            placement: t.placement.key(),
            value: dec(t.value, 5),
            paired_rounds: t.paired_rounds,
            ratio_of_medians: t.ratio_of_medians.map(|m| dec(m, 5)),
            bound: dec(t.bound, 5),
            at_least: t.at_least,
            met: t.met(),
        })
        .collect();
    let report = Report {
        benchmark: "async_throughput",
        machine: m,
        config,
        results,
        targets,
        wall_s: dec(wall, 2),
    };
    match serde_json::to_string(&report) {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("async_throughput: JSON not written: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_value_is_the_median_of_per_round_ratios() {
        // Round 2: a neighbour slowed asyncmsg's run only. Medians 6 and 20: 0.3; per round
        // 0.6, 0.275, 0.571: 0.571.
        let (v, n, m) = paired_value(&[6.0, 5.5, 12.0], &[10.0, 20.0, 21.0]);
        assert!((v - 12.0 / 21.0).abs() < 1e-12 && n == 3 && (m - 0.3).abs() < 1e-12);
        // Even count: the mean of the middle two; the common prefix only.
        let (v, n, _) = paired_value(&[1.0, 4.0, 9.0, 20.0, 7.0], &[1.0, 2.0, 3.0, 4.0]);
        assert!((v - 2.5).abs() < 1e-12 && n == 4);
        // No usable round: the ratio of medians, 0 rounds.
        let (v, n, m) = paired_value(&[6.0], &[0.0]);
        assert!(v.is_infinite() && n == 0 && m.is_infinite());
    }

    #[test]
    fn ratio_verdict_text() {
        let t = Verdict {
            name: "x".into(),
            placement: Placement::Unpinned,
            value: 0.45,
            paired_rounds: 3,
            ratio_of_medians: Some(0.6),
            bound: 0.5,
            at_least: true,
        };
        assert!(!t.met());
        assert_eq!(
            value_note(&t),
            "(paired, per-round median of 3 rounds; ratio of medians 0.6000)"
        );
        let one = Verdict {
            paired_rounds: 1,
            ..t
        };
        assert_eq!(
            value_note(&one),
            "(paired, per-round median of 1 round; ratio of medians 0.6000)"
        );
    }
}
