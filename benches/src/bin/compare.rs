//! SRR against asyncmsg on the same workloads, with baselines measured in the same run
//! (issue 5): round trips (SRR, futex, pipe, Unix socket), one-way throughput (asyncmsg at
//! several batches, SRR, crossbeam-channel, an SPSC shared-memory ring) and paced latency.
//!
//! ```text
//! cargo run --release -p benches --bin compare                 # quick: 64 B, one placement, ~15 s
//! cargo run --release -p benches --bin compare -- --full       # every size, batch, producer count, placement
//! cargo run --release -p benches --bin compare -- --json r.json --csv r.csv --plots plots/
//! ```
//!
//! Progress goes to stderr; the table, the targets and where files were written to stdout.
//! The exit status is 0 even when a target is missed (the targets say MISSED); it is 1 only if
//! a run lost, duplicated or reordered a message.

use benches::compare::report::{self, RunMeta};
use benches::compare::workloads::{self, Plan};
use benches::compare::{plot, record::Record};
use benches::machine::MachineInfo;
use clap::Parser;
use std::path::PathBuf;
use std::time::Instant;

/// SRR vs asyncmsg, with futex, pipe, Unix-socket, crossbeam-channel and SPSC-ring baselines
/// measured in the same run. Without options: the quick comparison (64-byte messages, one
/// placement, 3 runs, well under 30 s).
#[derive(Parser, Debug)]
#[command(name = "compare", version)]
struct Args {
    /// The full sweep: sizes 16 B..64 KiB, asyncmsg batches 1..256, 1..16 producers, placements
    /// same-cpu, cross-cpu and unpinned, 5 runs (several minutes).
    #[arg(long, conflicts_with = "tiny")]
    full: bool,
    /// A smoke run: the quick plan with a few hundred messages per model and 1 run (seconds;
    /// checks the program works, measures nothing worth quoting).
    #[arg(long)]
    tiny: bool,
    /// Write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the results as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write SVG charts into DIR (created if needed).
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Runs per figure (each figure is the median), instead of the mode's 3 (quick), 5 (full)
    /// or 1 (tiny).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    runs: Option<u32>,
    /// Only the cases whose progress label contains this text, e.g. "one-way asyncmsg/64 64 B"
    /// (repeatable: a case matching any is kept). For checks and profiling.
    #[arg(long, value_name = "TEXT", hide = true)]
    only: Vec<String>,
}

fn main() {
    let args = Args::parse();
    let mut plan = if args.full {
        Plan::full()
    } else if args.tiny {
        Plan::tiny()
    } else {
        Plan::quick()
    };
    if let Some(n) = args.runs {
        plan.runs = n;
    }
    if !args.only.is_empty() {
        plan.retain_matching(&args.only);
        if plan.cases.is_empty() {
            eprintln!("compare: --only matches no case of the {} plan", plan.mode);
            std::process::exit(2);
        }
    }
    let machine = MachineInfo::current();
    let mut notes = plan.notes();
    if workloads::cross_cpu().is_none() {
        notes.push("only one CPU allowed: no cross-CPU placement".into());
    }
    if !args.only.is_empty() {
        notes.push(format!("only cases matching {:?}", args.only));
    }
    eprintln!(
        "compare: {} mode, {} cases x {} runs",
        plan.mode,
        plan.cases.len(),
        plan.runs
    );
    let started = Instant::now();
    let mut records = workloads::run_plan(&plan, &mut |i, total, label| {
        eprintln!(
            "[{i}/{total}] {label} ... ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    });
    let elapsed_s = started.elapsed().as_secs_f64();
    report::add_ratios(&mut records);
    let meta = RunMeta {
        mode: plan.mode.clone(),
        runs: plan.runs,
        placements: plan
            .placements()
            .into_iter()
            .map(|p| (p.key().to_string(), workloads::describe(p)))
            .collect(),
        elapsed_s,
        notes,
    };
    print!("{}", report::table(&machine, &meta, &records));
    let targets = report::check_targets(&records);
    println!();
    print!("{}", report::targets_text(&targets));
    if plan.mode != "full" {
        println!(
            "(targets from a {} run are indicative: `compare --full` is the measurement)",
            plan.mode
        );
    }
    let mut failed = write_outputs(&args, &machine, &meta, &records, &targets);
    let broken: Vec<&Record> = records
        .iter()
        .filter(|r| r.msgs_received != r.msgs_sent)
        .collect();
    for r in &broken {
        println!(
            "ERROR: {} {} {} B {} lost, duplicated or reordered messages: {} sent, {} received",
            r.workload.key(),
            r.label(),
            r.msg_size,
            r.placement,
            r.msgs_sent,
            r.msgs_received
        );
    }
    failed |= !broken.is_empty();
    if failed {
        std::process::exit(1);
    }
}

/// Writes the JSON, CSV and plots asked for; says where. Returns whether any write failed.
fn write_outputs(
    args: &Args,
    machine: &MachineInfo,
    meta: &RunMeta,
    records: &[Record],
    targets: &[report::TargetCheck],
) -> bool {
    let mut failed = false;
    let mut wrote = Vec::new();
    let mut write = |path: &PathBuf, text: String, what: &str| match std::fs::write(path, text) {
        Ok(()) => wrote.push(format!("{what}: {}", path.display())),
        Err(e) => {
            eprintln!("compare: writing {}: {e}", path.display());
            failed = true;
        }
    };
    if let Some(p) = &args.json {
        write(p, report::to_json(machine, meta, records, targets), "JSON");
    }
    if let Some(p) = &args.csv {
        write(p, report::to_csv(records), "CSV");
    }
    if let Some(dir) = &args.plots {
        match plot::write_plots(dir, machine, records) {
            Ok(paths) => {
                for p in paths {
                    wrote.push(format!("plot: {}", p.display()));
                }
            }
            Err(e) => {
                eprintln!("compare: writing plots into {}: {e}", dir.display());
                failed = true;
            }
        }
    }
    if !wrote.is_empty() {
        println!();
        println!("Written:");
        for w in wrote {
            println!("  {w}");
        }
    }
    failed
}
