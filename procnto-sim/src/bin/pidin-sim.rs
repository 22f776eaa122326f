//! `pidin-sim`: what QNX's `pidin` shows, for a running shared kernel: its processes with their
//! counters (kernel entries, SRR messages, asyncmsg triggers and messages), their threads with
//! state (RUNNING, READY, SEND / RECEIVE / REPLY blocked, on whom), base and current
//! priorities, channels with their queues and flags by name (an asyncmsg channel with its
//! buffers and its ready list), connections (an asyncmsg connection with its send queue's
//! pending, in-flight and unreleased messages, its batches and messages taken), interrupt
//! attachments with their levels' mask counts and latched requests, and the pools in use: `Kernel::listing`, which the examples' `--pidin` prints too. It joins no process and
//! changes nothing: it maps the kernel and takes snapshots. (A send queue in another program's
//! memory cannot be read from here: its counts show as `-`.)
//!
//! With `--trace FILE.json` and/or `--diagram FILE.svg` it records instead, as QNX's
//! `tracelogger` does: it turns the kernel's trace ring on and drains it (the events of every
//! program of the kernel, and of the supervisor's cleanup of those that die), until Ctrl-C,
//! SIGTERM, SIGHUP (its terminal closed) or `--for SECS`, then writes a Perfetto timeline and/or a message sequence chart.
//!
//! ```text
//! pidin-sim [--kernel NAME|PATH] [--watch] [--interval SECS]
//! pidin-sim [--kernel NAME|PATH] [--trace FILE.json] [--diagram FILE.svg] [--for SECS] [--rows N]
//! ```

use clap::Parser;
use kernel_sim::{supervisor, Kernel};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Shows a running shared kernel's processes, threads, channels and connections (asyncmsg
/// queues among them), as pidin; or records its trace, as tracelogger.
#[derive(Parser, Debug)]
#[command(name = "pidin-sim", version)]
struct Args {
    /// The kernel: a supervised kernel's name or socket, or a memory file's path. Default:
    /// $QNXSIM_KERNEL, else "default".
    #[arg(long, value_name = "NAME|PATH")]
    kernel: Option<String>,
    /// Refresh the listing until interrupted.
    #[arg(long, conflicts_with_all = ["trace", "diagram"])]
    watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, value_name = "SECS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=3600))]
    interval: u64,
    /// Record the kernel's events (every program's) and write a timeline that Perfetto's UI
    /// (ui.perfetto.dev) opens (Chrome trace-event JSON).
    #[arg(long, value_name = "FILE.json")]
    trace: Option<PathBuf>,
    /// Record the kernel's messages, replies, pulses and batches and draw a message sequence
    /// chart (SVG).
    #[arg(long, value_name = "FILE.svg")]
    diagram: Option<PathBuf>,
    /// Stop recording after this many seconds (default: at Ctrl-C, SIGTERM or SIGHUP).
    #[arg(long = "for", value_name = "SECS", value_parser = parse_secs)]
    for_secs: Option<Duration>,
    /// At most this many rows (arrows) in the --diagram chart; the rest are counted under it.
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    rows: u64,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(v > 0.0 && v <= 86_400.0) {
        return Err(format!("{s} is not between 0 (excluded) and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

fn main() {
    let args = Args::parse();
    if args.for_secs.is_some() && args.trace.is_none() && args.diagram.is_none() {
        eprintln!("pidin-sim: --for bounds a recording: give --trace or --diagram");
        std::process::exit(2);
    }
    if let (Some(t), Some(d)) = (&args.trace, &args.diagram) {
        if same_file(t, d) {
            eprintln!(
                "pidin-sim: --trace and --diagram name the same file {}",
                d.display()
            );
            std::process::exit(2);
        }
    }
    let (kernel, name) = match supervisor::open_named(args.kernel.as_deref()) {
        Ok(opened) => opened,
        Err(why) => {
            eprintln!("pidin-sim: {why}");
            std::process::exit(1);
        }
    };
    if args.trace.is_some() || args.diagram.is_some() {
        std::process::exit(record(&kernel, &name, &args));
    }
    loop {
        let text = format!(
            "{}{}",
            if args.watch { "\x1b[H\x1b[2J" } else { "" },
            kernel.listing()
        );
        // A reader that went away (`pidin-sim --watch | head`) ends the listing quietly, as it
        // ends `ps` or `pidin`: status 0, no message. Another write error is reported.
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
            Err(e) => {
                eprintln!("pidin-sim: writing the listing failed: {e}");
                std::process::exit(1);
            }
        }
        drop(out);
        if !args.watch {
            break;
        }
        std::thread::sleep(Duration::from_secs(args.interval));
    }
}

/// Whether two output paths are the same file (by name, or by identity if both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if a == b {
        return true;
    }
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Records the kernel's trace ring into the files `args` names; the exit status.
fn record(kernel: &Kernel, name: &str, args: &Args) -> i32 {
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    // Ctrl-C, SIGTERM and SIGHUP end the recording (read from a signalfd between polls).
    let mut stop = SigSet::empty();
    stop.add(Signal::SIGINT);
    stop.add(Signal::SIGTERM);
    stop.add(Signal::SIGHUP);
    let sfd = stop
        .thread_block()
        .map_err(|e| e.to_string())
        .and_then(|()| {
            SignalFd::with_flags(&stop, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
                .map_err(|e| e.to_string())
        });
    let sfd = match sfd {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pidin-sim: cannot watch for Ctrl-C: {e}");
            return 1;
        }
    };
    // The files are opened before anything is recorded, so that a bad path fails now; but not
    // emptied until the recording has begun, so that a recording refused (another recorder,
    // the other path bad) leaves a file that was there as it was, and none that was not.
    let mut outputs = Vec::new();
    for p in [&args.trace, &args.diagram].into_iter().flatten() {
        match Output::open(p) {
            Ok(o) => outputs.push(o),
            Err(e) => {
                eprintln!("pidin-sim: cannot create {}: {e}", p.display());
                Output::discard(&outputs);
                return 1;
            }
        }
    }
    if let [a, b] = &outputs[..] {
        // (Two names of one file: `x.json` and `./x.json`, a link.)
        if a.id == b.id {
            eprintln!(
                "pidin-sim: --trace and --diagram name the same file {}",
                b.path.display()
            );
            Output::discard(&outputs);
            return 2;
        }
    }
    let me = std::process::id() as i32;
    // Where every thread is as the recording begins: taken with the ring's start, under one
    // hold of the kernel lock, so that the ring's events follow it exactly.
    let (mut reader, before) = match kernel.trace_start(me) {
        Ok(r) => r,
        Err(e) => {
            let why = if e == kernel_sim::Errno::EBUSY {
                "another recorder is recording it"
            } else {
                "it has no trace ring (Config::trace_records is 0)"
            };
            eprintln!("pidin-sim: cannot record the kernel {name:?}: {why} ({e})");
            Output::discard(&outputs);
            return 1;
        }
    };
    let timeline = match &args.trace {
        Some(p) => match userlib::timeline::TimelineLayer::new(p) {
            Ok(pair) => Some(pair),
            Err(e) => {
                eprintln!("pidin-sim: cannot create {}: {e}", p.display());
                return 1;
            }
        },
        None => None,
    };
    let chart = match &args.diagram {
        Some(p) => {
            let options = userlib::seqchart::Options {
                max_rows: Some(args.rows as usize),
                title: Some(format!("kernel {name}")),
            };
            match userlib::seqchart::layer(p, options) {
                Ok(pair) => Some(pair),
                Err(e) => {
                    eprintln!("pidin-sim: {e}");
                    return 1;
                }
            }
        }
        None => None,
    };
    match args.for_secs {
        Some(d) => eprintln!(
            "pidin-sim: recording the kernel {name:?} for {} s (Ctrl-C ends it sooner)",
            d.as_secs_f64()
        ),
        None => eprintln!("pidin-sim: recording the kernel {name:?}; Ctrl-C ends it"),
    }
    // The programs running now are named from the kernel's table; those that start while it
    // records, by their `created` events.
    for p in &before.processes {
        if !p.name.is_empty() {
            if let Some((_, t)) = &timeline {
                t.name_process(p.pid, p.name.clone());
            }
            if let Some((c, _)) = &chart {
                c.name_process(p.pid, p.name.clone());
            }
        }
    }
    let start = Instant::now();
    let mut batch =
        kernel_sim::trace::Decoded::states_of(&before, kernel_sim::trace::monotonic_ns());
    let mut events = 0u64;
    let mut pids = std::collections::BTreeSet::new();
    loop {
        let interrupted = matches!(sfd.read_signal(), Ok(Some(_)));
        let done = interrupted || args.for_secs.is_some_and(|d| start.elapsed() >= d);
        if !done {
            std::thread::sleep(Duration::from_millis(10));
        }
        // (At the end, the recording is turned off and everything claimed before is read.)
        if done {
            reader.finish_into(&mut batch);
        } else {
            reader.poll(&mut batch);
        }
        for d in batch.drain(..) {
            events += 1;
            if d.pid > 0 {
                pids.insert(d.pid);
            }
            if let Some((t, _)) = &timeline {
                t.record_decoded(&d);
            }
            if let Some((c, _)) = &chart {
                c.record_decoded(&d);
            }
        }
        if done {
            break;
        }
    }
    let (lost, paused, superseded) = (reader.lost(), reader.paused(), reader.superseded());
    drop(reader);
    let mut status = 0;
    if let Some((_, t)) = timeline {
        match t.finish() {
            Ok(w) => eprintln!(
                "pidin-sim: wrote {} ({} trace events)",
                w.path.display(),
                w.trace_events
            ),
            Err(e) => {
                eprintln!("pidin-sim: {e}");
                status = 1;
            }
        }
    }
    if let (Some((_, c)), Some(p)) = (chart, &args.diagram) {
        match c.finish() {
            Ok(()) => eprintln!("pidin-sim: wrote {}", p.display()),
            Err(e) => {
                eprintln!("pidin-sim: {e}");
                status = 1;
            }
        }
    }
    eprintln!(
        "pidin-sim: {events} kernel events from {} processes in {:.1} s{}",
        pids.len(),
        start.elapsed().as_secs_f64(),
        if lost > 0 {
            format!(
                "; {lost} lost (the ring of {} records was lapped: record a shorter run, or \
                 make the kernel with a larger Config::trace_records)",
                kernel.trace_ring().capacity()
            )
        } else {
            String::new()
        }
    );
    if paused > 0 {
        eprintln!(
            "pidin-sim: the recording was paused {paused} time(s): pidin-sim was stopped \
             longer than its lease ({} s) and the kernel stopped recording; what happened \
             meanwhile is missing",
            kernel_sim::trace::LEASE.as_secs()
        );
    }
    if superseded {
        eprintln!(
            "pidin-sim: another recorder took the kernel's trace ring over while pidin-sim was \
             stopped longer than its lease ({} s): the recording was that one's from then on",
            kernel_sim::trace::LEASE.as_secs()
        );
    }
    status
}

/// An output file, opened before the recording begins (created if missing, not emptied).
struct Output {
    path: PathBuf,
    /// Nothing was at the path before.
    created: bool,
    /// Its device and inode.
    id: (u64, u64),
}

impl Output {
    fn open(path: &Path) -> std::io::Result<Output> {
        use std::os::unix::fs::MetadataExt;
        let created = std::fs::symlink_metadata(path).is_err();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let m = f.metadata()?;
        Ok(Output {
            path: path.to_path_buf(),
            created,
            id: (m.dev(), m.ino()),
        })
    }

    /// The recording did not begin: removes the files it created.
    fn discard(outputs: &[Output]) {
        for o in outputs.iter().filter(|o| o.created) {
            let _ = std::fs::remove_file(&o.path);
        }
    }
}
