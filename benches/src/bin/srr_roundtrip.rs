//! SRR round trip against raw futex ping-pongs measured in the same run.
//!
//! A client thread MsgSends 64 bytes to a server thread (in another simulated process) that
//! MsgReceives and MsgReplies 64 bytes; the baselines are two threads handing the same 64
//! bytes back and forth through two futex words: `futex` sleeps at once, `spin-futex` first
//! spins for up to the simulated kernel's spin budget (the floor for a blocking round trip
//! across CPUs; measured across CPUs only, since on one CPU it burns its budget while the peer
//! cannot run). All are measured with the threads pinned to one CPU and to two CPUs, several
//! runs each, interleaved so drift hits every model alike.
//!
//! A front-end over the one measuring harness: the models are `compare`'s round-trip cases
//! (`Case::run` with `Model::Srr`, `Model::Futex` and `Model::SpinFutex`, 64 B, one client);
//! this program chooses how many runs of which, and reports them its own way. Its targets are
//! `compare`'s round-trip targets, judged here on the median round-trip times.
//!
//! ```text
//! cargo run --release -p benches --bin srr_roundtrip [-- --quick] [-- --json] [--runs N] [--iters N]
//! ```
//!
//! `--runs` takes 1 to 100, `--iters` 1 to 10,000,000; anything else (and an unknown option) is
//! refused with the usage on stderr and exit status 2, before anything is measured.

use benches::compare::baselines::{KernelFigures, Sample};
use benches::compare::record::Workload;
use benches::compare::workloads::{Between, Case, Model};
use benches::harness::{Placement, RunStats, Summary};
use benches::machine::MachineInfo;
use serde::Serialize;
use std::time::Instant;

/// Bytes in each request and each reply.
const MSG_SIZE: usize = 64;

/// On one CPU: SRR's round trip at most this many times the futex ping-pong's.
const SAME_CPU_VS_FUTEX: f64 = 1.2;
/// Across CPUs: SRR's round trip at most this many times the spin-then-futex ping-pong's...
const CROSS_CPU_VS_SPIN: f64 = 5.0;
/// ... and at least this many times faster than the futex ping-pong's.
const CROSS_CPU_FASTER_THAN_FUTEX: f64 = 10.0;

/// Measured round trips per run, by placement. Here a same-CPU round trip takes about 2.5 µs, a
/// cross-CPU one about 2 µs for SRR, 0.5 µs for spin-futex and 50-60 µs for futex (which
/// dominates: 40,000 of them take 2-2.5 s); these counts keep the default run (5 runs) under
/// about 30 s.
const ITERS_SAME: u64 = 150_000;
const ITERS_CROSS: u64 = 40_000;
const QUICK_ITERS: u64 = 300;

/// Most runs `--runs` takes (as `xproc_roundtrip` and `compare`).
const MAX_RUNS: usize = 100;
/// Most round trips per run `--iters` takes (as `xproc_roundtrip`): about 25 s per same-CPU
/// run here, and some 10 minutes per cross-CPU futex run.
const MAX_ITERS: u64 = 10_000_000;

/// Every model, SRR first.
const MODELS: [Model; 3] = [Model::Srr, Model::Futex, Model::SpinFutex];

/// The models measured on a placement: spin-futex across CPUs only.
fn models(p: Placement) -> &'static [Model] {
    match p {
        Placement::CrossCpu { .. } => &MODELS,
        _ => &MODELS[..2],
    }
}

#[derive(Debug)]
struct Opts {
    json: bool,
    quick: bool,
    runs: usize,
    iters: Option<u64>,
}

fn usage(code: i32) -> ! {
    let text = format!(
        "usage: srr_roundtrip [--json] [--quick] [--runs N] [--iters N]\n\
         \x20 --json     print one JSON object instead of the table\n\
         \x20 --quick    a tiny run ({QUICK_ITERS} round trips, 3 runs): a smoke check, not a measurement\n\
         \x20 --runs N   runs per (model, placement), 1..={MAX_RUNS} (default 5)\n\
         \x20 --iters N  measured round trips per run, both placements, 1..={MAX_ITERS} (default {ITERS_SAME} same CPU, {ITERS_CROSS} cross CPU)"
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
        iters: None,
    };
    let mut runs = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str, max: u64| -> u64 {
            match args.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(v) if (1..=max).contains(&v) => v,
                _ => {
                    eprintln!("{name} needs a number from 1 to {max}");
                    usage(2)
                }
            }
        };
        match a.as_str() {
            "--json" => o.json = true,
            "--quick" => o.quick = true,
            "--runs" => runs = Some(num("--runs", MAX_RUNS as u64) as usize),
            "--iters" => o.iters = Some(num("--iters", MAX_ITERS)),
            "-h" | "--help" => usage(0),
            other => {
                eprintln!("unknown argument {other:?}");
                usage(2)
            }
        }
    }
    o.runs = runs.unwrap_or(if o.quick { 3 } else { 5 });
    o
}

/// Same CPU on the first allowed CPU and, if a second CPU is allowed, the server on the first
/// and the client on the second.
fn placements() -> Vec<Placement> {
    Placement::same_cpu()
        .into_iter()
        .chain(Placement::cross_cpu())
        .collect()
}

/// A placement as this program's reports name it, CPUs as (server,client): `same CPU (0,0)`.
fn label(p: Placement) -> String {
    match (p, p.cpus()) {
        (Placement::SameCpu(_), Some((s, c))) => format!("same CPU ({s},{c})"),
        (Placement::CrossCpu { .. }, Some((s, c))) => format!("cross CPU ({s},{c})"),
        _ => p.label(),
    }
}

/// Measured and warm-up round trips per run for a placement.
fn counts(o: &Opts, p: Placement) -> (u64, u64) {
    let n = match (o.iters, o.quick, p) {
        (Some(n), _, _) => n,
        (None, true, _) => QUICK_ITERS,
        (None, false, Placement::CrossCpu { .. }) => ITERS_CROSS,
        (None, false, _) => ITERS_SAME,
    };
    // Warm-up: a tenth of the measured count, at least 50 and at most 2000 round trips.
    (n, (n / 10).clamp(50, 2000))
}

/// Everything measured for one (model, placement).
#[derive(Debug)]
struct Cell {
    model: Model,
    placement: Placement,
    runs: Vec<RunStats>,
    /// Timed round trips of all runs.
    round_trips: u64,
    /// Context switches of the whole process over the runs' timed parts.
    voluntary: u64,
    involuntary: u64,
    /// User plus system CPU time of the whole process over the runs' timed parts (ns).
    cpu_ns: u64,
    kernel: Vec<KernelFigures>,
    all_replies_ok: bool,
}

impl Cell {
    fn new(model: Model, placement: Placement) -> Cell {
        Cell {
            model,
            placement,
            runs: Vec::new(),
            round_trips: 0,
            voluntary: 0,
            involuntary: 0,
            cpu_ns: 0,
            kernel: Vec::new(),
            all_replies_ok: true,
        }
    }

    fn add(&mut self, s: &Sample) {
        self.runs.push(RunStats::of(&s.latency));
        self.round_trips += s.sent;
        self.voluntary += s.usage.voluntary;
        self.involuntary += s.usage.involuntary;
        self.cpu_ns += s.usage.cpu_ns;
        self.kernel.extend(s.kernel);
        self.all_replies_ok &= s.received == s.sent;
    }

    fn summary(&self) -> Summary {
        Summary::of_runs(&self.runs)
    }

    /// (voluntary, involuntary) context switches per round trip, the whole process.
    fn csw_per_rt(&self) -> (f64, f64) {
        let rt = self.round_trips.max(1) as f64;
        (self.voluntary as f64 / rt, self.involuntary as f64 / rt)
    }

    /// CPU time (user + system, the whole process: both sides) per round trip, µs. Spinning
    /// shows here: a round trip that spins may be quick and still cost more CPU.
    fn cpu_us_per_rt(&self) -> f64 {
        self.cpu_ns as f64 / 1000.0 / self.round_trips.max(1) as f64
    }
}

/// SRR kernel counters summed over a placement's runs (timed parts), per round trip.
#[derive(Debug)]
struct PerRt {
    round_trips: u64,
    client_entries: f64,
    server_entries: f64,
    /// Threads readied (the kernel's `wakeups` counter: a waiter caught while it spun is
    /// readied without a futex wake).
    wakeups: f64,
    /// Blocks that spun before sleeping, and those woken while still spinning.
    spins: f64,
    spin_wakeups: f64,
    blocks: f64,
    msgs_sent: u64,
    msgs_received: u64,
    replies: u64,
    bytes_copied: f64,
    all_kernel_entries_match: bool,
}

impl PerRt {
    fn of(cell: &Cell) -> PerRt {
        let sum = |f: &dyn Fn(&KernelFigures) -> u64| cell.kernel.iter().map(f).sum::<u64>();
        let rt = cell.round_trips.max(1) as f64;
        PerRt {
            round_trips: cell.round_trips,
            client_entries: sum(&|k| k.producer.kernel_entries) as f64 / rt,
            server_entries: sum(&|k| k.consumer.kernel_entries) as f64 / rt,
            wakeups: sum(&|k| k.wakeups()) as f64 / rt,
            spins: sum(&|k| k.spins()) as f64 / rt,
            spin_wakeups: sum(&|k| k.spin_wakeups()) as f64 / rt,
            blocks: sum(&|k| k.producer.blocks + k.consumer.blocks) as f64 / rt,
            msgs_sent: sum(&|k| k.producer.msgs_sent),
            msgs_received: sum(&|k| k.consumer.msgs_received),
            replies: sum(&|k| k.consumer.replies),
            bytes_copied: sum(&|k| k.producer.bytes_copied + k.consumer.bytes_copied) as f64 / rt,
            all_kernel_entries_match: cell.kernel.iter().all(|k| k.kernel_entries == k.entries()),
        }
    }

    fn entries(&self) -> f64 {
        self.client_entries + self.server_entries
    }
}

fn us(ns: f64) -> f64 {
    ns / 1000.0
}

fn main() {
    let o = parse_args();
    let machine = MachineInfo::current();
    let placements = placements();
    if placements.is_empty() {
        eprintln!("cannot read this process's CPU affinity; nothing to measure");
        std::process::exit(1);
    }
    let skipped_cross = placements.len() < 2;
    if skipped_cross && !o.json {
        println!("only one CPU available: the cross-CPU placement is skipped");
    }

    let started = Instant::now();
    let mut cells: Vec<Cell> = Vec::new();
    for &p in &placements {
        for &m in models(p) {
            cells.push(Cell::new(m, p));
        }
    }
    for run in 0..o.runs {
        for &p in &placements {
            let (n, warmup) = counts(&o, p);
            // Rotate which model goes first, so slow drift does not favour any.
            let mut order = models(p).to_vec();
            let first = run % order.len();
            order.rotate_left(first);
            for m in order {
                let case = Case {
                    workload: Workload::RoundTrip,
                    model: m,
                    msg_size: MSG_SIZE,
                    producers: 1,
                    placement: p,
                    between: Between::Threads,
                };
                let s = case.run(warmup, n, None);
                let st = RunStats::of(&s.latency);
                eprintln!(
                    "run {}/{} {:10} {:16} median {:8.2} µs  p99 {:8.2} µs  ({} round trips in {:.2} s)",
                    run + 1,
                    o.runs,
                    m.label(),
                    label(p),
                    us(st.median_ns as f64),
                    us(st.p99_ns as f64),
                    st.count,
                    s.elapsed.as_secs_f64()
                );
                if let Some(c) = cells.iter_mut().find(|c| c.model == m && c.placement == p) {
                    c.add(&s);
                }
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();

    if o.json {
        print_json(&o, &machine, &placements, &cells, skipped_cross, wall);
    } else {
        print_table(&o, &machine, &placements, &cells, wall);
    }
}

fn cell(cells: &[Cell], m: Model, p: Placement) -> &Cell {
    cells
        .iter()
        .find(|c| c.model == m && c.placement == p)
        .expect("every model of a placement has a cell")
}

/// SRR median / `base` median for a placement.
fn ratio(cells: &[Cell], base: Model, p: Placement) -> f64 {
    cell(cells, Model::Srr, p).summary().median_ns / cell(cells, base, p).summary().median_ns
}

fn p99_ratio(cells: &[Cell], base: Model, p: Placement) -> f64 {
    cell(cells, Model::Srr, p).summary().p99_ns / cell(cells, base, p).summary().p99_ns
}

/// One target, judged on the median round-trip times of a placement.
#[derive(Serialize)]
struct TargetResult {
    placement: &'static str,
    /// What is required, in words.
    name: String,
    /// The measured value.
    value: f64,
    /// `<=` or `>=`.
    op: &'static str,
    bound: f64,
    met: bool,
}

/// The targets of a placement: on one CPU SRR <= 1.2x futex; across CPUs SRR <= 5x spin-futex
/// and futex >= 10x SRR (round-trip times).
fn targets(cells: &[Cell], p: Placement) -> Vec<TargetResult> {
    let t = |name: &str, value: f64, op: &'static str, bound: f64| TargetResult {
        placement: p.key(),
        name: name.to_string(),
        value,
        op,
        bound,
        met: if op == "<=" {
            value <= bound
        } else {
            value >= bound
        },
    };
    match p {
        Placement::CrossCpu { .. } => vec![
            t(
                "SRR / spin-futex round-trip time",
                ratio(cells, Model::SpinFutex, p),
                "<=",
                CROSS_CPU_VS_SPIN,
            ),
            t(
                "futex / SRR round-trip time",
                1.0 / ratio(cells, Model::Futex, p),
                ">=",
                CROSS_CPU_FASTER_THAN_FUTEX,
            ),
        ],
        _ => vec![t(
            "SRR / futex round-trip time",
            ratio(cells, Model::Futex, p),
            "<=",
            SAME_CPU_VS_FUTEX,
        )],
    }
}

fn print_table(o: &Opts, m: &MachineInfo, placements: &[Placement], cells: &[Cell], wall: f64) {
    println!(
        "SRR round trip vs raw futex ping-pongs: {MSG_SIZE}-byte message, {MSG_SIZE}-byte reply"
    );
    println!("CPU:     {}", m.cpu_model);
    println!(
        "cores:   {} online, allowed CPUs {}",
        m.cpus_online,
        m.allowed_list()
    );
    println!("kernel:  {}", m.kernel);
    println!(
        "spin:    the simulated kernel spins up to {} µs (Config::default().spin_ns) before sleeping \
         when the thread to wake it runs on another CPU; spin-futex spins as long, futex not at all",
        f64::from(userlib::Config::default().spin_ns) / 1000.0
    );
    let per: Vec<String> = placements
        .iter()
        .map(|&p| {
            let (n, w) = counts(o, p);
            format!("{}: {w} warm-up + {n} measured", p.key())
        })
        .collect();
    println!(
        "runs:    {} per (model, placement), models interleaved (spin-futex across CPUs only); round trips per run: {}{}",
        o.runs,
        per.join(", "),
        if o.quick {
            "  [--quick: smoke check only]"
        } else {
            ""
        }
    );
    println!("figures: median of the runs' medians; p99 = median of the runs' p99s; CPUs are (server,client)");
    println!();
    println!(
        "{:<10} {:<16} {:>17} {:>10} {:>15} {:>24}",
        "model", "placement", "median RT (µs)", "p99 (µs)", "ratio vs futex", "run medians (µs)"
    );
    for &p in placements {
        let fut = cell(cells, Model::Futex, p).summary();
        for &mdl in models(p) {
            let s = cell(cells, mdl, p).summary();
            let meds: Vec<String> = s
                .runs
                .iter()
                .map(|r| format!("{:.1}", us(r.median_ns as f64)))
                .collect();
            println!(
                "{:<10} {:<16} {:>17.2} {:>10.2} {:>15.2} {:>24}",
                mdl.label(),
                label(p),
                us(s.median_ns),
                us(s.p99_ns),
                s.median_ns / fut.median_ns,
                meds.join(" ")
            );
        }
    }
    println!();
    for &p in placements {
        println!(
            "ratio SRR/futex, {:<16} median {:.3} (p99 {:.3})",
            label(p),
            ratio(cells, Model::Futex, p),
            p99_ratio(cells, Model::Futex, p)
        );
        if models(p).contains(&Model::SpinFutex) {
            println!(
                "ratio SRR/spin-futex, {:<11} median {:.3} (p99 {:.3})",
                label(p),
                ratio(cells, Model::SpinFutex, p),
                p99_ratio(cells, Model::SpinFutex, p)
            );
        }
    }
    println!();
    println!("targets (on the median round-trip times):");
    for &p in placements {
        for t in targets(cells, p) {
            println!(
                "  {:<6} {:<16} {:<34} {:8.3} {} {}",
                if t.met { "met" } else { "MISSED" },
                label(p),
                t.name,
                t.value,
                t.op,
                t.bound
            );
        }
    }
    println!();
    println!("SRR kernel counters per round trip (all runs of a placement, timed part: warm-up and set-up excluded):");
    for &p in placements {
        let c = PerRt::of(cell(cells, Model::Srr, p));
        println!(
            "  {:<16} kernel entries {:.2} (client MsgSend {:.2}, server MsgReceive+MsgReply {:.2}); \
             blocks {:.2} (each ends in one wake collection: lock taken again); \
             kernel lock acquisitions {:.2}; threads readied {:.2}; spins {:.2} (woken while \
             spinning {:.2}); bytes copied {:.0}",
            label(p),
            c.entries(),
            c.client_entries,
            c.server_entries,
            c.blocks,
            c.entries() + c.blocks,
            c.wakeups,
            c.spins,
            c.spin_wakeups,
            c.bytes_copied
        );
        println!(
            "  {:<16} messages sent {} / received {} / replied {} for {} round trips: {}{}",
            "",
            c.msgs_sent,
            c.msgs_received,
            c.replies,
            c.round_trips,
            if c.msgs_sent == c.round_trips && c.replies == c.round_trips {
                "consistent"
            } else {
                "INCONSISTENT"
            },
            if c.all_kernel_entries_match {
                ""
            } else {
                " (kernel-wide entries differ from the processes' sum)"
            }
        );
    }
    println!();
    println!(
        "context switches per round trip (getrusage, the whole process over the timed part, voluntary / involuntary):"
    );
    for &p in placements {
        for &mdl in models(p) {
            let c = cell(cells, mdl, p);
            let (v, i) = c.csw_per_rt();
            println!("  {:<10} {:<16} {v:.2} / {i:.2}", mdl.label(), label(p));
        }
    }
    println!();
    println!(
        "CPU time per round trip (getrusage, user + system of the whole process, both sides, over the timed part; spinning shows here):"
    );
    for &p in placements {
        for &mdl in models(p) {
            let c = cell(cells, mdl, p);
            println!(
                "  {:<10} {:<16} {:.3} µs",
                mdl.label(),
                label(p),
                c.cpu_us_per_rt()
            );
        }
    }
    if cells.iter().any(|c| !c.all_replies_ok) {
        println!("WARNING: some run's message or reply did not arrive intact");
    }
    println!();
    println!("wall time {wall:.1} s");
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
    skipped: Vec<String>,
    results: Vec<ModelResult>,
    ratios: Vec<RatioResult>,
    targets: Vec<TargetResult>,
    srr_counters: Vec<CountersResult>,
    wall_s: f64,
}

#[derive(Serialize)]
struct Config {
    quick: bool,
    /// The simulated kernel's spin budget, ns (`Config::default().spin_ns`), which spin-futex
    /// uses too.
    kernel_spin_ns: u32,
    runs: usize,
    msg_size: usize,
    reply_size: usize,
    placements: Vec<PlacementConfig>,
}

#[derive(Serialize)]
struct PlacementConfig {
    placement: &'static str,
    server_cpu: Option<usize>,
    client_cpu: Option<usize>,
    warmup: u64,
    iterations: u64,
}

#[derive(Serialize)]
struct ModelResult {
    model: String,
    placement: &'static str,
    median_us: f64,
    p99_us: f64,
    ratio_vs_futex: f64,
    p99_ratio_vs_futex: f64,
    run_medians_us: Vec<f64>,
    run_p99s_us: Vec<f64>,
    csw_voluntary_per_rt: f64,
    csw_involuntary_per_rt: f64,
    /// User + system CPU time of the whole process per round trip, µs.
    cpu_us_per_rt: f64,
    replies_intact: bool,
}

#[derive(Serialize)]
struct RatioResult {
    placement: &'static str,
    srr_over_futex: f64,
    p99_srr_over_futex: f64,
    /// Across CPUs only.
    srr_over_spin_futex: Option<f64>,
    p99_srr_over_spin_futex: Option<f64>,
}

#[derive(Serialize)]
struct CountersResult {
    placement: &'static str,
    round_trips: u64,
    kernel_entries_per_rt: f64,
    client_entries_per_rt: f64,
    server_entries_per_rt: f64,
    blocks_per_rt: f64,
    lock_acquisitions_per_rt: f64,
    /// Threads readied per round trip (the kernel's `wakeups` counter).
    wakeups_per_rt: f64,
    spins_per_rt: f64,
    spin_wakeups_per_rt: f64,
    bytes_copied_per_rt: f64,
    msgs_sent: u64,
    msgs_received: u64,
    replies: u64,
    msgs_sent_equals_round_trips: bool,
}

fn print_json(
    o: &Opts,
    m: &MachineInfo,
    placements: &[Placement],
    cells: &[Cell],
    skipped_cross: bool,
    wall: f64,
) {
    let config = Config {
        quick: o.quick,
        kernel_spin_ns: userlib::Config::default().spin_ns,
        runs: o.runs,
        msg_size: MSG_SIZE,
        reply_size: MSG_SIZE,
        placements: placements
            .iter()
            .map(|&p| {
                let (n, w) = counts(o, p);
                PlacementConfig {
                    placement: p.key(),
                    server_cpu: p.cpus().map(|c| c.0),
                    client_cpu: p.cpus().map(|c| c.1),
                    warmup: w,
                    iterations: n,
                }
            })
            .collect(),
    };
    let mut results = Vec::new();
    for &p in placements {
        let fut = cell(cells, Model::Futex, p).summary();
        for &mdl in models(p) {
            let c = cell(cells, mdl, p);
            let s = c.summary();
            let (v, i) = c.csw_per_rt();
            results.push(ModelResult {
                model: mdl.label(),
                placement: p.key(),
                median_us: dec(us(s.median_ns), 3),
                p99_us: dec(us(s.p99_ns), 3),
                ratio_vs_futex: dec(s.median_ns / fut.median_ns, 3),
                p99_ratio_vs_futex: dec(s.p99_ns / fut.p99_ns, 3),
                run_medians_us: s
                    .runs
                    .iter()
                    .map(|r| dec(us(r.median_ns as f64), 3))
                    .collect(),
                run_p99s_us: s.runs.iter().map(|r| dec(us(r.p99_ns as f64), 3)).collect(),
                csw_voluntary_per_rt: dec(v, 3),
                csw_involuntary_per_rt: dec(i, 3),
                cpu_us_per_rt: dec(c.cpu_us_per_rt(), 3),
                replies_intact: c.all_replies_ok,
            });
        }
    }
    let ratios = placements
        .iter()
        .map(|&p| {
            let spin = models(p).contains(&Model::SpinFutex);
            RatioResult {
                placement: p.key(),
                srr_over_futex: dec(ratio(cells, Model::Futex, p), 3),
                p99_srr_over_futex: dec(p99_ratio(cells, Model::Futex, p), 3),
                srr_over_spin_futex: spin.then(|| dec(ratio(cells, Model::SpinFutex, p), 3)),
                p99_srr_over_spin_futex: spin
                    .then(|| dec(p99_ratio(cells, Model::SpinFutex, p), 3)),
            }
        })
        .collect();
    let targets = placements
        .iter()
        .flat_map(|&p| targets(cells, p))
        .map(|t| TargetResult {
            value: dec(t.value, 3),
            ..t
        })
        .collect();
    let srr_counters = placements
        .iter()
        .map(|&p| {
            let c = PerRt::of(cell(cells, Model::Srr, p));
            CountersResult {
                placement: p.key(),
                round_trips: c.round_trips,
                kernel_entries_per_rt: dec(c.entries(), 3),
                client_entries_per_rt: dec(c.client_entries, 3),
                server_entries_per_rt: dec(c.server_entries, 3),
                blocks_per_rt: dec(c.blocks, 3),
                lock_acquisitions_per_rt: dec(c.entries() + c.blocks, 3),
                wakeups_per_rt: dec(c.wakeups, 3),
                spins_per_rt: dec(c.spins, 3),
                spin_wakeups_per_rt: dec(c.spin_wakeups, 3),
                bytes_copied_per_rt: dec(c.bytes_copied, 1),
                msgs_sent: c.msgs_sent,
                msgs_received: c.msgs_received,
                replies: c.replies,
                msgs_sent_equals_round_trips: c.msgs_sent == c.round_trips,
            }
        })
        .collect();
    let report = Report {
        benchmark: "srr_roundtrip",
        machine: m,
        config,
        skipped: if skipped_cross {
            vec!["cross-cpu: only one CPU available".into()]
        } else {
            Vec::new()
        },
        results,
        ratios,
        targets,
        srr_counters,
        wall_s: dec(wall, 2),
    };
    match serde_json::to_string(&report) {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("srr_roundtrip: JSON not written: {e}");
            std::process::exit(1);
        }
    }
}
