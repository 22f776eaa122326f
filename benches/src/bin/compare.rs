//! SRR against asyncmsg on the same workloads, with baselines measured in the same run:
//! round trips (SRR, futex, spin-then-futex, pipe, Unix socket), one-way throughput (asyncmsg
//! at several batches, SRR, crossbeam-channel, an SPSC shared-memory ring publishing every
//! message and one publishing in batches) and paced latency; between two threads, and between
//! two Linux processes (the `xproc-*` placements: SRR on one kernel shared through a memory
//! file against futex, spin-futex and pipe ping-pongs between the same two processes, asyncmsg
//! against the rings in a shared mapping; the other process is this program, re-run).
//!
//! ```text
//! cargo run --release -p benches --bin compare                 # quick: 64 B, cross-cpu (+ round trips same-cpu; between processes too), ~17 s
//! cargo run --release -p benches --bin compare -- --full       # every size, batch, producer count, placement
//! cargo run --release -p benches --bin compare -- --json r.json --csv r.csv --plots plots/
//! cargo run --release -p benches --bin compare -- --trace t.json  # + a Perfetto timeline of a small traced run
//! cargo run --release -p benches --bin compare -- --diagram d.svg # + a sequence chart of the same traced run
//! ```
//!
//! Every option is checked before anything is measured: an output path that cannot be written
//! (a missing directory, a directory where a file is wanted, a file where `--plots` wants a
//! directory, two outputs on one file) stops the program at once with exit status 2 and a
//! message naming the option and the path. Only regular files are written: an existing path
//! that is a directory, device, FIFO or socket (or a symbolic link to one) is refused, never
//! opened or replaced, and so is the file stdout or stderr goes to; a symbolic link to a regular
//! file is followed (the file is replaced, the link kept). An empty `--only` is refused too.
//! The files are written at the end, each whole (a temporary file renamed into place): a failed
//! run leaves no half-written file and an old file of the same name as it was. The JSON and CSV
//! carry the schema version, the commit and the start time; `docs/outputs.md` describes every
//! field. `--trace FILE` adds a small traced run of the kernel's models after the measured ones
//! (their figures untouched) and writes its timeline; `--diagram FILE.svg` draws the same run
//! as a message sequence chart (with both options one traced run feeds both;
//! `benches::compare::traced`).
//!
//! Progress goes to stderr; the table, the targets and where files were written to stdout.
//! The exit status is 0 even when a target is missed (the targets say MISSED); it is 1 if a run
//! lost, duplicated or reordered a message or an output could not be written, 2 if an option
//! was refused.

use benches::compare::output::FileOptions;
use benches::compare::output::{self, Outputs};
use benches::compare::provenance::Provenance;
use benches::compare::report::{self, RunMeta};
use benches::compare::traced::{self, Traced};
use benches::compare::workloads::{self, Plan};
use benches::compare::{plot, record::Record};
use benches::harness::Placement;
use benches::machine::MachineInfo;
use clap::Parser;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

/// What `--help` says of the output files (`benches::compare::output`).
const OUTPUT_RULE: &str = "Output files (--json, --csv, --trace, --diagram and the charts of \
--plots) are checked before anything is measured and written at the end, each whole (a temporary \
file beside it, renamed into place). Only regular files are written: an existing path that is a \
directory, a device, a FIFO or pipe, a socket, or a symbolic link to one of these or to nothing, \
is refused as not a regular file (exit status 2, nothing measured) and never opened, replaced or \
removed; so is the file stdout or stderr goes to (e.g. --json /dev/stdout). A symbolic link to a \
regular file is followed: the file it names is replaced, the link kept. --plots DIR must be a \
directory (or a path to create).";

/// Most runs per figure `--runs` accepts (a full run of 100 takes about two hours here).
const MAX_RUNS: u32 = 100;

/// SRR vs asyncmsg, with futex, spin-then-futex, pipe, Unix-socket, crossbeam-channel and
/// SPSC-ring (per message and batched) baselines measured in the same run, between threads and
/// between two processes. Without options: the quick comparison (64-byte messages, across
/// CPUs, the round trips on one CPU too, 3 runs, well under 30 s).
#[derive(Parser, Debug)]
#[command(name = "compare", version, after_help = OUTPUT_RULE)]
struct Args {
    /// The full sweep: sizes 16 B..64 KiB, asyncmsg batches 1..256, 1..16 producers, placements
    /// same-cpu, cross-cpu and unpinned, 5 runs (several minutes).
    #[arg(long, conflicts_with = "tiny")]
    full: bool,
    /// A smoke run: the quick plan with a few hundred messages per model and 1 run (seconds;
    /// checks the program works, measures nothing worth quoting).
    #[arg(long)]
    tiny: bool,
    /// Write the results as JSON to FILE (its directory must exist; an existing regular file
    /// is replaced at the end, anything else refused: see below). Fields: docs/outputs.md.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the results as CSV to FILE (its directory must exist; an existing regular file is
    /// replaced at the end, anything else refused: see below). Columns: docs/outputs.md.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write SVG charts into DIR (created before measuring if missing; a path that exists must
    /// be a directory). A chart whose every line would be a single point (as in a quick run's
    /// latency against size) is not drawn.
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Write a timeline to FILE (Chrome trace-event JSON: open it in ui.perfetto.dev) of a
    /// small traced run made after the measured ones, so their figures are untouched: 4 SRR
    /// round trips (processes "client", "server") and 16 asyncmsg messages in batches of 4
    /// ("producer", "consumer"), 64 B, each thread's states and kernel calls and arrows from
    /// each send to its receive and reply. Not measured. Its directory must exist; an existing
    /// FILE must be a regular file.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Draw the same small traced run as a message sequence chart (SVG) to FILE: each SRR
    /// round trip a MsgSend arrow at its MsgReceive and a MsgReply arrow back (3 kernel
    /// entries), the client's REPLY-blocked and the server's RECEIVE-blocked spans shaded; the
    /// asyncmsg puts no arrow (no kernel entry), each batch one thick arrow from its trigger
    /// to the asyncmsg_get that took it, with its count. Not measured. Its directory must
    /// exist, an existing FILE must be a regular file; with --trace, one traced run feeds both.
    #[arg(long, value_name = "FILE.svg")]
    diagram: Option<PathBuf>,
    /// Runs per figure, 1 to 100 (each figure is the median), instead of the mode's 3 (quick),
    /// 5 (full) or 1 (tiny).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_RUNS)))]
    runs: Option<u32>,
    /// Only the cases whose progress label contains this text, e.g. "xproc" or "one-way
    /// asyncmsg/64 64 B" (repeatable: a case matching any is kept; empty text is refused). For
    /// checks and profiling.
    #[arg(long, value_name = "TEXT")]
    only: Vec<String>,
}

fn main() {
    // A run between processes starts this program again as its peer.
    benches::compare::xproc::run_peer_if_asked();
    let args = Args::parse();
    let started_at = SystemTime::now();
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
    // Empty text (or blanks) is in every label: it would select the whole plan unasked.
    if let Some(blank) = args.only.iter().find(|t| t.trim().is_empty()) {
        eprintln!(
            "compare: --only {blank:?}: empty text would match every case; give part of a case's \
             progress label, e.g. \"xproc\"; nothing was measured"
        );
        std::process::exit(2);
    }
    if !args.only.is_empty() {
        plan.retain_matching(&args.only);
        if plan.cases.is_empty() {
            eprintln!(
                "compare: --only {:?} matches no case of the {} plan; nothing was measured",
                args.only, plan.mode
            );
            std::process::exit(2);
        }
    }
    // Before anything is measured: a bad path must not cost a whole run.
    let outputs = match Outputs::check(
        FileOptions {
            json: args.json.as_deref(),
            csv: args.csv.as_deref(),
            trace: args.trace.as_deref(),
            diagram: args.diagram.as_deref(),
        },
        args.plots.as_deref(),
        &plot::CHART_FILES,
    ) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("compare: {e}; nothing was measured");
            std::process::exit(2);
        }
    };
    let provenance = Provenance::current(started_at);
    let machine = MachineInfo::current();
    let mut notes = plan.notes();
    notes.push(if userlib::Config::default().wake_handoff {
        "wake hand-off on (Config::wake_handoff): a busy server's reply to a sleeping client may \
         leave its futex wake-up to another client readied just before (docs/design.md)"
            .into()
    } else {
        "wake hand-off off (Config::wake_handoff): every server wakes its clients itself".into()
    });
    notes.extend(provenance.mismatch_note());
    if Placement::cross_cpu().is_none() {
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
    // After the measured runs, so that tracing costs none of them anything.
    let dests = traced::Dests {
        timeline: outputs.trace.as_deref(),
        chart: outputs.diagram.as_deref(),
    };
    let traced = dests.any().then(|| {
        let what = match (dests.timeline, dests.chart) {
            (Some(_), Some(_)) => "the timeline and the diagram",
            (Some(_), None) => "the timeline",
            _ => "the diagram",
        };
        eprintln!("[traced] SRR and asyncmsg for {what} ... (not measured)");
        traced::run(dests)
    });
    report::add_ratios(&mut records);
    let meta = RunMeta {
        mode: plan.mode.clone(),
        runs: plan.runs,
        placements: plan
            .placements()
            .into_iter()
            .map(|(p, between)| {
                (
                    workloads::placement_key(p, between).to_string(),
                    workloads::describe(p, between),
                )
            })
            .collect(),
        elapsed_s,
        kernel_spin_ns: userlib::Config::default().spin_ns,
        notes,
        provenance,
    };
    print!("{}", report::table(&machine, &meta, &records));
    let targets = report::check_targets(&records);
    let reported = report::reported(&records);
    println!();
    print!("{}", report::targets_text(&targets));
    if !reported.is_empty() {
        println!();
        print!("{}", report::reported_text(&reported));
    }
    if plan.mode != "full" {
        println!(
            "(targets from a {} run are indicative: `compare --full` is the measurement)",
            plan.mode
        );
    }
    let mut failed = write_outputs(
        &outputs,
        traced,
        (&machine, &meta, &records),
        (&targets, &reported),
    );
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

/// Writes the JSON, CSV, plots, timeline and diagram asked for, each whole (the plots as one
/// set); says where, and which charts were not drawn and why. Returns whether any write failed.
/// A failure of one output does not stop the others.
fn write_outputs(
    outputs: &Outputs,
    traced: Option<Result<Traced, String>>,
    (machine, meta, records): (&MachineInfo, &RunMeta, &[Record]),
    checks: (&[report::TargetCheck], &[report::Reported]),
) -> bool {
    let mut failed = false;
    let mut wrote = Vec::new();
    let mut notes = Vec::new();
    let mut write =
        |files: Vec<(PathBuf, Vec<u8>)>, what: &str| match output::write_all_atomically(files) {
            Ok(paths) => wrote.extend(paths.iter().map(|p| format!("{what}: {}", p.display()))),
            Err(e) => {
                eprintln!("compare: {what} not written: {e}");
                failed = true;
            }
        };
    if let Some(p) = &outputs.json {
        let text = report::to_json(machine, meta, records, checks);
        write(vec![(p.clone(), text.into_bytes())], "JSON");
    }
    if let Some(p) = &outputs.csv {
        let text = report::to_csv(machine, meta, records);
        write(vec![(p.clone(), text.into_bytes())], "CSV");
    }
    if let Some(dir) = &outputs.plots {
        match plot::render_plots(machine, records) {
            Ok(plots) => {
                let files = plots
                    .drawn
                    .into_iter()
                    .map(|(f, svg)| {
                        let dest = outputs.chart_dest(f).unwrap_or_else(|| dir.join(f));
                        (dest, svg.into_bytes())
                    })
                    .collect();
                write(files, "plot");
                for (file, why) in plots.not_drawn {
                    notes.push(format!("not drawn: {file}: {why}"));
                    if dir.join(file).exists() {
                        notes.push(format!(
                            "  (the {file} in {} is an older one, not from this run)",
                            dir.display()
                        ));
                    }
                }
            }
            Err(e) => {
                eprintln!("compare: plots not drawn: {e}");
                failed = true;
            }
        }
    }
    match traced {
        Some(Ok(t)) => {
            for (what, staged, summary) in t.files() {
                match staged.commit() {
                    Ok(p) => wrote.push(format!("{what}: {} ({summary})", p.display())),
                    Err(e) => {
                        eprintln!("compare: {what} not written: {e}");
                        failed = true;
                    }
                }
            }
        }
        Some(Err(e)) => {
            let what = match (&outputs.trace, &outputs.diagram) {
                (Some(_), Some(_)) => "timeline and diagram",
                (Some(_), None) => "timeline",
                _ => "diagram",
            };
            eprintln!("compare: {what} not written: {e}");
            failed = true;
        }
        None => {}
    }
    if !wrote.is_empty() || !notes.is_empty() {
        println!();
        println!("Written:");
        for w in wrote {
            println!("  {w}");
        }
        for n in notes {
            println!("  {n}");
        }
    }
    failed
}
