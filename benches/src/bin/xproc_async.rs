//! asyncmsg between two Linux processes against a shared-memory SPSC ring between the same two
//! processes, one-way, measured in the same run.
//!
//! This program is the consumer; the producer is this program re-run as a peer process
//! (`compare`'s cases between processes, `benches::compare::xproc`), pinned as the placement
//! says. Each message is `--size` bytes (64 by default), stamped and checked as in `compare`:
//!
//! * `asyncmsg/B`: the peer puts on an asyncmsg connection (`trigger_num_msg` = `--batch`, 64 by
//!   default as in `compare`'s asyncmsg/64; the send queue in the region of a kernel shared
//!   through a memory file) to this process's channel, which takes up to 256 messages per
//!   `asyncmsg_get`; the kernel copies each batch from the region (a message up to 128 bytes
//!   from its slot's inline area, a longer one from the peer's send buffers there).
//! * `spsc-ring`: `compare`'s SPSC ring in a shared file mapping, the tail published at every
//!   message; `spsc-batch`: the same ring, the tail published every 256 messages.
//! * `asyncmsg/B (threads)`: asyncmsg between two threads of this program (two simulated
//!   processes of one kernel), for what crossing processes costs.
//!
//! Runs are interleaved (every model once per round and placement, the order rotated); each
//! figure is the median of the runs with the slowest and fastest run beside it. CPU time and
//! context switches count both processes over the timed part. The ratios of asyncmsg to the
//! rings are the medians of per-round ratios (the runs of one round are measured back to
//! back), with the ratio of medians beside them. No target: the ratio is reported as measured.
//!
//! ```text
//! cargo run --release -p benches --bin xproc_async [-- --runs N] [--msgs N] [--batch N] [--size BYTES] [--quick]
//! ```
//!
//! Progress goes to stderr, the table to stdout. Exit status 0, 1 if a run lost, duplicated or
//! reordered a message (or a peer failed), 2 if an option was refused.

use benches::compare::baselines::{queue_depth, Sample, MIN_ONE_WAY_SIZE};
use benches::compare::record::Workload;
use benches::compare::report::paired_median;
use benches::compare::workloads::{warmup_for, Between, Case, Model};
use benches::harness::{median, min_max, Placement};
use benches::machine::MachineInfo;

/// Timed messages per run, and per `--quick` run.
const MSGS: u64 = 2_000_000;
const QUICK_MSGS: u64 = 20_000;

#[derive(Debug)]
struct Opts {
    runs: usize,
    msgs: u64,
    batch: u32,
    size: usize,
}

fn usage(code: i32) -> ! {
    let text = format!(
        "usage: xproc_async [--runs N] [--msgs N] [--batch N] [--size BYTES] [--quick]\n\
         \x20 --runs N      runs per (model, placement), 1..=100 (default 5)\n\
         \x20 --msgs N      timed messages per run, 1000..=100000000 (default {MSGS})\n\
         \x20 --batch N     asyncmsg's trigger_num_msg, 1..=256 (default 64)\n\
         \x20 --size BYTES  bytes per message, {MIN_ONE_WAY_SIZE}..=65536 (default 64)\n\
         \x20 --quick       1 run of {QUICK_MSGS} messages: a smoke check, not a measurement"
    );
    if code == 0 {
        println!("{text}");
    } else {
        eprintln!("{text}");
    }
    std::process::exit(code)
}

fn parse_args(args: &[String]) -> Opts {
    let mut o = Opts {
        runs: 5,
        msgs: MSGS,
        batch: 64,
        size: 64,
    };
    let (mut runs, mut msgs, mut quick) = (None, None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str, lo: u64, hi: u64| -> u64 {
            match it.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(v) if (lo..=hi).contains(&v) => v,
                _ => {
                    eprintln!("{name} needs a number from {lo} to {hi}");
                    usage(2)
                }
            }
        };
        match a.as_str() {
            "--runs" => runs = Some(num("--runs", 1, 100) as usize),
            "--msgs" => msgs = Some(num("--msgs", 1000, 100_000_000)),
            "--batch" => o.batch = num("--batch", 1, 256) as u32,
            "--size" => o.size = num("--size", MIN_ONE_WAY_SIZE as u64, 65_536) as usize,
            "--quick" => quick = true,
            "-h" | "--help" => usage(0),
            other => {
                eprintln!("unknown argument {other:?}");
                usage(2)
            }
        }
    }
    o.runs = runs.unwrap_or(if quick { 1 } else { 5 });
    o.msgs = msgs.unwrap_or(if quick { QUICK_MSGS } else { MSGS });
    o
}

/// A model of the table: what it measures and between what.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Row {
    model: Model,
    between: Between,
}

impl Row {
    fn label(&self) -> String {
        match self.between {
            Between::Processes => self.model.label(),
            Between::Threads => format!("{} (threads)", self.model.label()),
        }
    }
}

/// Everything measured for one (row, placement), in round order.
#[derive(Debug)]
struct Cell {
    row: Row,
    placement: Placement,
    runs: Vec<Sample>,
}

impl Cell {
    fn rates(&self) -> Vec<f64> {
        self.runs.iter().map(Sample::msgs_per_s).collect()
    }

    /// Median over runs of a figure per message.
    fn per_msg(&self, f: impl Fn(&Sample) -> Option<u64>) -> Option<f64> {
        let v: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|s| f(s).map(|x| x as f64 / s.received.max(1) as f64))
            .collect();
        (!v.is_empty()).then(|| median(&v))
    }

    fn p50_us(&self) -> Option<f64> {
        let v: Vec<f64> = self
            .runs
            .iter()
            .filter(|s| !s.latency.is_empty())
            .map(|s| s.latency.value_at_quantile(0.5) as f64 / 1000.0)
            .collect();
        (!v.is_empty()).then(|| median(&v))
    }
}

fn main() {
    benches::compare::xproc::run_peer_if_asked();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = parse_args(&args);
    let machine = MachineInfo::current();
    let placements: Vec<Placement> = Placement::same_cpu()
        .into_iter()
        .chain(Placement::cross_cpu())
        .chain([Placement::Unpinned])
        .collect();
    let asyncmsg = Model::asyncmsg(o.batch);
    let rows = [
        Row {
            model: asyncmsg,
            between: Between::Processes,
        },
        Row {
            model: Model::SpscRing,
            between: Between::Processes,
        },
        Row {
            model: Model::SpscBatch,
            between: Between::Processes,
        },
        Row {
            model: asyncmsg,
            between: Between::Threads,
        },
    ];
    println!(
        "one-way between two Linux processes: asyncmsg/{} against a shared-memory SPSC ring, {} bytes per message",
        o.batch, o.size
    );
    println!("CPU:        {}", machine.cpu_model);
    println!(
        "cores:      {} online, allowed CPUs {}",
        machine.cpus_online,
        machine.allowed_list()
    );
    println!("kernel:     {}", machine.kernel);
    println!(
        "runs:       {} per (model, placement), interleaved; {} timed messages per run after {} of warm-up",
        o.runs,
        o.msgs,
        warmup_for(o.msgs)
    );
    println!("placements: same-cpu = consumer and producer on the first CPU; cross-cpu = consumer on the first, producer on the second; unpinned = Linux places them");
    println!(
        "queues:     asyncmsg's send queue and the rings {} messages deep; asyncmsg takes up to 256 messages per get; spsc-batch publishes every {} messages",
        queue_depth(o.size),
        benches::compare::baselines::ring_batch(o.size)
    );
    let mut cells: Vec<Cell> = Vec::new();
    for &p in &placements {
        for row in rows {
            cells.push(Cell {
                row,
                placement: p,
                runs: Vec::new(),
            });
        }
    }
    let mut broken = false;
    for run in 0..o.runs {
        for &p in &placements {
            let mut order = rows.to_vec();
            order.rotate_left(run % rows.len());
            for row in order {
                let case = Case {
                    workload: Workload::OneWay,
                    model: row.model,
                    msg_size: o.size,
                    producers: 1,
                    placement: p,
                    between: row.between,
                };
                let s = case.run(warmup_for(o.msgs), o.msgs, None);
                broken |= s.received != s.sent;
                eprintln!(
                    "run {}/{} {:24} {:9} {:>12.0} msgs/s{}",
                    run + 1,
                    o.runs,
                    row.label(),
                    p.key(),
                    s.msgs_per_s(),
                    if s.received == s.sent {
                        ""
                    } else {
                        "  NOT INTACT"
                    }
                );
                if let Some(c) = cells.iter_mut().find(|c| c.row == row && c.placement == p) {
                    c.runs.push(s);
                }
            }
        }
    }
    print_table(&cells, &placements, &rows);
    if broken {
        println!("ERROR: a run lost, duplicated or reordered messages");
        std::process::exit(1);
    }
}

fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(|| "-".into(), |x| format!("{x:.decimals$}"))
}

fn print_table(cells: &[Cell], placements: &[Placement], rows: &[Row]) {
    let find = |row: Row, p: Placement| cells.iter().find(|c| c.row == row && c.placement == p);
    println!();
    println!(
        "{:<24} {:<10} {:>12} {:>23} {:>10} {:>9} {:>9} {:>8}  {:>9} {:>9}",
        "model",
        "placement",
        "msgs/s",
        "min-max",
        "cpu ns/m",
        "csw/m",
        "sent/m",
        "p50 µs",
        "x ring",
        "x batch"
    );
    for &p in placements {
        for &row in rows {
            let Some(c) = find(row, p) else { continue };
            let rates = c.rates();
            let (lo, hi) = min_max(&rates).unwrap_or((f64::NAN, f64::NAN));
            let ratio = |base: Model| -> String {
                if base == row.model && row.between == Between::Processes {
                    return "-".into();
                }
                let b = find(
                    Row {
                        model: base,
                        between: Between::Processes,
                    },
                    p,
                );
                fmt(b.and_then(|b| paired_median(&rates, &b.rates())), 3)
            };
            println!(
                "{:<24} {:<10} {:>12.0} {:>11.0}-{:<11.0} {:>10} {:>9} {:>9} {:>8}  {:>9} {:>9}",
                row.label(),
                p.key(),
                median(&rates),
                lo,
                hi,
                fmt(c.per_msg(|s| Some(s.usage.cpu_ns)), 0),
                fmt(
                    c.per_msg(|s| Some(s.usage.voluntary + s.usage.involuntary)),
                    4
                ),
                fmt(c.per_msg(|s| s.kernel.map(|k| k.sender_entries())), 4),
                fmt(c.p50_us(), 2),
                ratio(Model::SpscRing),
                ratio(Model::SpscBatch)
            );
        }
    }
    println!();
    println!("msgs/s = median of the runs, min-max = the slowest and fastest run; cpu ns/m = user + system CPU of both processes per message; csw/m = their context switches per message; sent/m = the producer's kernel entries per message; p50 = put to receipt of 1 message in 17");
    println!("x ring, x batch = this row's msgs/s over spsc-ring's / spsc-batch's between processes on the same placement: the median of per-round ratios (runs of one round measured back to back)");
    println!();
    println!("asyncmsg between processes against the rings between the same processes (no bound):");
    for &p in placements {
        let a = find(rows[0], p);
        for base in [Model::SpscRing, Model::SpscBatch] {
            let b = find(
                Row {
                    model: base,
                    between: Between::Processes,
                },
                p,
            );
            if let (Some(a), Some(b)) = (a, b) {
                let (ra, rb) = (a.rates(), b.rates());
                println!(
                    "  {:<9}  {} / {}  {} (per-round median; ratio of medians {})",
                    p.key(),
                    rows[0].label(),
                    base.label(),
                    fmt(paired_median(&ra, &rb), 3),
                    fmt(Some(median(&ra) / median(&rb)), 3)
                );
            }
        }
        if let (Some(a), Some(t)) = (a, find(rows[3], p)) {
            println!(
                "  {:<9}  {} between processes / between threads  {} (per-round median)",
                p.key(),
                rows[0].label(),
                fmt(paired_median(&a.rates(), &t.rates()), 3)
            );
        }
    }
}
