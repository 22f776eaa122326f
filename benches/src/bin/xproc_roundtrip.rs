//! Round trips between two Linux processes: SRR on one shared kernel against a futex
//! ping-pong, a spin-then-futex ping-pong and a pipe ping-pong between the same two processes,
//! measured in the same run.
//!
//! A front-end over `compare`'s cases between processes (`benches::compare::xproc`, the
//! `xproc-*` placements): the client is this program; the server is this program re-run as a
//! peer process, pinned as the placement says. Each round trip carries `--size` bytes each way
//! and the client checks every reply:
//!
//! * `SRR`: MsgSend / MsgReceive / MsgReply on a kernel shared through a memory file (no
//!   supervisor); the server's pid is its Linux pid.
//! * `futex`: two mailboxes (a futex word and the message) in a shared file mapping,
//!   process-shared futexes; each side sleeps at once and the poster always wakes.
//! * `spin-futex`: the same, but each side first spins on its word for up to the kernel's spin
//!   budget (`Config::spin_ns`), then announces its sleep; woken only if it announced it.
//! * `pipe`: two named pipes, blocking `write` and `read`.
//!
//! Runs are interleaved (every model once per round, the order rotated); a run's figure is its
//! timed round trips' wall time over their number; the table shows the median over the runs,
//! the fastest and slowest run, the CPU time of both processes per round trip over the timed
//! part, and the ratios on the same placement. Target (issue 13): SRR's round trip at most
//! 1.2x the futex ping-pong's on each placement.
//!
//! ```text
//! cargo run --release -p benches --bin xproc_roundtrip [-- --runs N] [--iters N] [--size BYTES] [--quick]
//! ```

use benches::compare::record::Workload;
use benches::compare::workloads::{self, Between, Case};
use benches::harness::{median, min_max, Placement};
use benches::machine::MachineInfo;

/// SRR's round trip at most this many times the futex ping-pong's (same placement).
const TARGET_VS_FUTEX: f64 = 1.2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    Srr,
    Futex,
    SpinFutex,
    Pipe,
}

const MODELS: [Model; 4] = [Model::Srr, Model::Futex, Model::SpinFutex, Model::Pipe];

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::Srr => "SRR",
            Model::Futex => "futex",
            Model::SpinFutex => "spin-futex",
            Model::Pipe => "pipe",
        }
    }

    /// The model of `compare`'s cases.
    fn case_model(self) -> workloads::Model {
        match self {
            Model::Srr => workloads::Model::Srr,
            Model::Futex => workloads::Model::Futex,
            Model::SpinFutex => workloads::Model::SpinFutex,
            Model::Pipe => workloads::Model::Pipe,
        }
    }
}

#[derive(Debug)]
struct Opts {
    runs: usize,
    iters: u64,
    size: usize,
}

fn usage(code: i32) -> ! {
    let text = "usage: xproc_roundtrip [--runs N] [--iters N] [--size BYTES] [--quick]\n\
        \x20 --runs N      runs per (model, placement), 1..=100 (default 5)\n\
        \x20 --iters N     timed round trips per run, 1..=10000000 (default 20000)\n\
        \x20 --size BYTES  bytes each way, 8..=65536 (default 64; the first 8 carry the round trip's number)\n\
        \x20 --quick       1 run of 300 round trips: a smoke check, not a measurement";
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
        iters: 20_000,
        size: 64,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str, min: u64, max: u64| -> u64 {
            match it.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(v) if (min..=max).contains(&v) => v,
                _ => {
                    eprintln!("{name} needs a number from {min} to {max}");
                    usage(2)
                }
            }
        };
        match a.as_str() {
            "--runs" => o.runs = num("--runs", 1, 100) as usize,
            "--iters" => o.iters = num("--iters", 1, 10_000_000),
            "--size" => o.size = num("--size", 8, 65_536) as usize,
            "--quick" => {
                o.runs = 1;
                o.iters = 300;
            }
            "-h" | "--help" => usage(0),
            other => {
                eprintln!("unknown argument {other:?}");
                usage(2)
            }
        }
    }
    o
}

fn main() {
    // Each run starts this program again as its server.
    benches::compare::xproc::run_peer_if_asked();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = parse_args(&args);
    let machine = MachineInfo::current();
    let placements: Vec<Placement> = Placement::same_cpu()
        .into_iter()
        .chain(Placement::cross_cpu())
        .chain([Placement::Unpinned])
        .collect();
    println!(
        "round trips between two Linux processes, {} bytes each way",
        o.size
    );
    println!("CPU:        {}", machine.cpu_model);
    println!(
        "cores:      {} online, allowed CPUs {}",
        machine.cpus_online,
        machine.allowed_list()
    );
    println!("kernel:     {}", machine.kernel);
    println!(
        "runs:       {} per (model, placement), interleaved; {} timed round trips per run after {} of warm-up",
        o.runs,
        o.iters,
        warmup(o.iters)
    );
    println!("placements: same-cpu = client and server on the first CPU; cross-cpu = server on the first, client on the second; unpinned = Linux places them");
    println!("spin:       SRR's kernel and spin-futex spin up to {} µs before sleeping when the peer runs on another CPU", userlib::Config::default().spin_ns / 1000);
    let mut cells: Vec<(Placement, Model, Vec<Run>)> = Vec::new();
    for &p in &placements {
        for m in MODELS {
            cells.push((p, m, Vec::new()));
        }
    }
    for run in 0..o.runs {
        for &p in &placements {
            let mut order = MODELS.to_vec();
            order.rotate_left(run % MODELS.len());
            for m in order {
                let r = measure(m, p, &o);
                eprintln!(
                    "run {}/{} {:10} {:9} {:8.3} µs/rt",
                    run + 1,
                    o.runs,
                    m.name(),
                    p.key(),
                    r.us_per_rt
                );
                if let Some(c) = cells.iter_mut().find(|c| c.0 == p && c.1 == m) {
                    c.2.push(r);
                }
            }
        }
    }
    println!();
    println!(
        "{:<11} {:<10} {:>10} {:>17} {:>12}  {:>9} {:>9} {:>9}",
        "model", "placement", "µs/rt", "min-max", "cpu µs/rt", "x futex", "x spin", "x pipe"
    );
    let med = |p: Placement, m: Model| {
        cells
            .iter()
            .find(|c| c.0 == p && c.1 == m)
            .map_or(f64::NAN, |c| {
                median(&c.2.iter().map(|r| r.us_per_rt).collect::<Vec<_>>())
            })
    };
    let mut verdicts = Vec::new();
    for &p in &placements {
        for m in MODELS {
            let Some(c) = cells.iter().find(|c| c.0 == p && c.1 == m) else {
                continue;
            };
            let times: Vec<f64> = c.2.iter().map(|r| r.us_per_rt).collect();
            let cpu: Vec<f64> = c.2.iter().map(|r| r.cpu_us_per_rt).collect();
            let t = median(&times);
            let (lo, hi) = min_max(&times).unwrap_or((f64::NAN, f64::NAN));
            // Ratios of times: above 1 means slower than the baseline.
            let ratio = |b: Model| {
                if b == m {
                    "-".to_string()
                } else {
                    format!("{:.3}", t / med(p, b))
                }
            };
            println!(
                "{:<11} {:<10} {:>10.3} {:>8.3}-{:<8.3} {:>12.3}  {:>9} {:>9} {:>9}",
                m.name(),
                p.key(),
                t,
                lo,
                hi,
                median(&cpu),
                ratio(Model::Futex),
                ratio(Model::SpinFutex),
                ratio(Model::Pipe)
            );
        }
        let v = med(p, Model::Srr) / med(p, Model::Futex);
        verdicts.push((p, v));
    }
    println!();
    println!("x futex = this row's round-trip time / the futex ping-pong's (above 1: slower), ratios of medians; cpu = user + system time of both processes per round trip over the timed part (spinning shows here)");
    println!();
    println!("targets:");
    for (p, v) in verdicts {
        println!(
            "  SRR round trip between processes <= {TARGET_VS_FUTEX}x the futex ping-pong's  {:<10} {:>7.3}   {}",
            p.key(),
            v,
            if v <= TARGET_VS_FUTEX { "met" } else { "MISSED" }
        );
    }
}

fn warmup(iters: u64) -> u64 {
    (iters / 10).clamp(10, 2_000)
}

/// One run's figures.
#[derive(Clone, Copy, Debug)]
struct Run {
    us_per_rt: f64,
    cpu_us_per_rt: f64,
}

/// One run of `model` on placement `p` between two processes: `compare`'s case, which starts
/// the server process, makes the warm-up and the timed round trips and checks every reply.
/// Exits with status 1 if a round trip went wrong.
fn measure(model: Model, p: Placement, o: &Opts) -> Run {
    let case = Case {
        workload: Workload::RoundTrip,
        model: model.case_model(),
        msg_size: o.size,
        producers: 1,
        placement: p,
        between: Between::Processes,
    };
    let s = case.run(warmup(o.iters), o.iters, None);
    if s.received != s.sent {
        eprintln!(
            "{} {}: {} of {} round trips came back wrong",
            model.name(),
            p.key(),
            s.sent - s.received.min(s.sent),
            s.sent
        );
        std::process::exit(1);
    }
    let n = s.sent.max(1) as f64;
    Run {
        us_per_rt: s.elapsed.as_secs_f64() * 1e6 / n,
        cpu_us_per_rt: s.usage.cpu_ns as f64 / 1e3 / n,
    }
}
