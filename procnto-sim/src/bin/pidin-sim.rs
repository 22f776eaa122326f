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
//! Its output paths are checked before the kernel is opened: only a regular file is written (a
//! symbolic link to one is followed and stays a link); a directory, device, FIFO or socket (or
//! a link to one, or to nothing) is refused at once with status 2, without being opened; a
//! missing directory, or one that takes no new file, fails with status 1 before anything is
//! recorded. Each file is written beside its place (a hidden temporary file) and renamed over
//! it once every file is written: a failed run leaves the files as they were, and makes none.
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
use userlib::outfile::{self, Staged};

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
    /// Seconds between refreshes with --watch [default: 1].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    interval: Option<u64>,
    /// Record the kernel's events (every program's) and write a timeline that Perfetto's UI
    /// (ui.perfetto.dev) opens (Chrome trace-event JSON). A regular file (created, or replaced
    /// whole at the end; a device, FIFO, socket or directory is refused).
    #[arg(long, value_name = "FILE.json")]
    trace: Option<PathBuf>,
    /// Record the kernel's messages, replies, pulses and batches and draw a message sequence
    /// chart (SVG). A regular file, as for --trace.
    #[arg(long, value_name = "FILE.svg")]
    diagram: Option<PathBuf>,
    /// Stop recording after this many seconds (default: at Ctrl-C, SIGTERM or SIGHUP).
    #[arg(long = "for", value_name = "SECS", value_parser = parse_secs)]
    for_secs: Option<Duration>,
    /// At most this many rows (arrows) in the --diagram chart; the rest are counted under it
    /// [default: 60].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    rows: Option<u64>,
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

/// The seconds between refreshes with `--watch`, and the rows of a chart, when not given.
const INTERVAL: u64 = 1;
const ROWS: u64 = 60;

fn main() {
    // (Through `run`, so that what it made (a recording's temporary files) is cleaned up by
    // its destructors before the process exits.)
    std::process::exit(run());
}

/// Options that mean something only with another: the usage error, if one is alone.
fn usage_error(args: &Args) -> Option<&'static str> {
    let records = args.trace.is_some() || args.diagram.is_some();
    if args.for_secs.is_some() && !records {
        Some("--for bounds a recording: give --trace or --diagram")
    } else if args.interval.is_some() && !args.watch {
        Some("--interval is the time between refreshes of --watch: give --watch")
    } else if args.rows.is_some() && args.diagram.is_none() {
        Some("--rows bounds the --diagram chart: give --diagram")
    } else {
        None
    }
}

/// The program: its exit status (0; 1 when something failed; 2 for a usage error or an
/// output path that names no file to write).
fn run() -> i32 {
    let args = Args::parse();
    if let Some(why) = usage_error(&args) {
        eprintln!("pidin-sim: {why}");
        return 2;
    }
    // The output paths are checked before the kernel is even opened: a bad one is refused at
    // once, never after a recording that cannot be written.
    let mut planned = Vec::new();
    for (option, path) in [("--trace", &args.trace), ("--diagram", &args.diagram)] {
        if let Some(path) = path {
            match Planned::check(option, path) {
                Ok(p) => planned.push(p),
                Err(r) => return r.report(),
            }
        }
    }
    if let [t, d] = &planned[..] {
        if t.target.same_file(&d.target) {
            eprintln!(
                "pidin-sim: --trace and --diagram name the same file {}",
                d.path.display()
            );
            return 2;
        }
    }
    let (kernel, name) = match supervisor::open_named(args.kernel.as_deref()) {
        Ok(opened) => opened,
        Err(why) => {
            eprintln!("pidin-sim: {why}");
            return 1;
        }
    };
    if !planned.is_empty() {
        // A kernel in a plain memory file: that file is no place for a recording.
        if !supervisor::is_supervised(&name) {
            if let Some(p) = planned.iter().find(|p| p.target.is(Path::new(&name))) {
                return Refusal::usage(p.option, &p.path, "is the kernel's memory file").report();
            }
        }
        return record(&kernel, &name, &args, planned);
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
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return 0,
            Err(e) => {
                eprintln!("pidin-sim: writing the listing failed: {e}");
                return 1;
            }
        }
        drop(out);
        if !args.watch {
            return 0;
        }
        std::thread::sleep(Duration::from_secs(args.interval.unwrap_or(INTERVAL)));
    }
}

/// Records the kernel's trace ring into the files `planned` (those `args` names, checked);
/// the exit status.
fn record(kernel: &Kernel, name: &str, args: &Args, planned: Vec<Planned>) -> i32 {
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
    // Each file is written beside its place (a temporary file, made now: a directory that
    // takes no new file fails before anything is recorded), then renamed over it once every
    // file is written: a failed run leaves the files as they were, and none that was not.
    let mut staged = Vec::new();
    for p in &planned {
        match Staged::create(&p.target.dest) {
            Ok(s) => staged.push(s),
            Err(e) => {
                let dir = p.target.dest.parent().unwrap_or(Path::new("/"));
                return Refusal::failed(
                    p.option,
                    &p.path,
                    format!(
                        "cannot create a file in {} (where it is written, then renamed into \
                         place): {e}",
                        dir.display()
                    ),
                )
                .report();
            }
        }
    }
    let trace_temp = planned
        .iter()
        .zip(&staged)
        .find(|(p, _)| p.option == "--trace")
        .map(|(_, s)| s.temp().to_path_buf());
    let mut timeline = match &trace_temp {
        Some(temp) => match userlib::timeline::TimelineLayer::new(temp) {
            Ok(pair) => Some(pair),
            Err(e) => {
                let path = args.trace.as_deref().unwrap_or(temp);
                eprintln!(
                    "pidin-sim: --trace {}: cannot create it: {e}",
                    path.display()
                );
                return 1;
            }
        },
        None => None,
    };
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
            return 1;
        }
    };
    let mut chart = args.diagram.as_ref().map(|_| {
        userlib::seqchart::memory(userlib::seqchart::Options {
            max_rows: Some(args.rows.unwrap_or(ROWS) as usize),
            title: Some(format!("kernel {name}")),
        })
    });
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
    // Every file is written to its temporary file, then (all written) renamed into place.
    let mut status = 0;
    let mut said = Vec::new();
    for (p, s) in planned.iter().zip(staged.iter_mut()) {
        let written = if p.option == "--trace" {
            match timeline.take() {
                Some((_, t)) => t
                    .finish()
                    .map(|w| format!(" ({} trace events)", w.trace_events)),
                None => Ok(String::new()),
            }
        } else {
            match chart.take() {
                Some((_, c)) => s.fill(c.svg().as_bytes()).map(|()| String::new()),
                None => Ok(String::new()),
            }
        };
        match written {
            Ok(more) => said.push(format!("pidin-sim: wrote {}{more}", p.path.display())),
            Err(e) => {
                eprintln!(
                    "pidin-sim: {} {}: cannot write it: {e}",
                    p.option,
                    p.path.display()
                );
                status = 1;
                break;
            }
        }
    }
    if status == 0 {
        // Every file renamed into place, or (a rename failing) none that was not there before.
        match outfile::commit_all(std::mem::take(&mut staged)) {
            Ok(_) => said.iter().for_each(|line| eprintln!("{line}")),
            Err(e) => {
                let p = &planned[e.index];
                eprintln!(
                    "pidin-sim: {} {}: cannot put it in place: {e}",
                    p.option,
                    p.path.display()
                );
                status = 1;
            }
        }
    } else {
        let named: Vec<String> = planned
            .iter()
            .map(|p| p.path.display().to_string())
            .collect();
        eprintln!(
            "pidin-sim: nothing written: {} as before the recording",
            named.join(" and ")
        );
    }
    drop(staged);
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

/// Why an output path is refused, and the exit status that says so: 2 when the path names no
/// file to write (a device, FIFO, socket, directory, a link to nothing, two names of one
/// file), 1 when the system refused (no such directory, no permission).
struct Refusal {
    status: i32,
    text: String,
}

impl Refusal {
    /// A path that names no file to write (a usage error, exit 2).
    fn usage(option: &str, path: &Path, why: impl std::fmt::Display) -> Refusal {
        Refusal {
            status: 2,
            text: format!("{option} {}: {why}", path.display()),
        }
    }

    /// A file that cannot be made or written (exit 1).
    fn failed(option: &str, path: &Path, why: impl std::fmt::Display) -> Refusal {
        Refusal {
            status: 1,
            text: format!("{option} {}: {why}", path.display()),
        }
    }

    /// Says why on stderr; the exit status.
    fn report(&self) -> i32 {
        eprintln!("pidin-sim: {}", self.text);
        self.status
    }
}

/// An output path, checked before anything is recorded (nothing made or changed yet).
struct Planned {
    /// `--trace` or `--diagram`.
    option: &'static str,
    /// The path as given.
    path: PathBuf,
    /// Where the file goes, and what was there (a regular file, which can be opened for
    /// writing).
    target: outfile::Target,
}

impl Planned {
    /// Checks that a file can be written at `path` (given to `option`), as
    /// [`outfile::check`] does: an existing path must be a regular file (a symbolic link to one
    /// is followed) that can be opened for writing and is not where this program's messages
    /// (its standard error) go; a new one needs an existing directory. A device, FIFO, socket
    /// or directory (or a link to one) is refused without being opened, and so is a link to
    /// nothing: a usage error (2). What the system refuses (no such directory, no permission)
    /// fails (1).
    fn check(option: &'static str, path: &Path) -> Result<Planned, Refusal> {
        use outfile::Problem;
        match outfile::check(path, &[outfile::Stream::Error]) {
            Ok(target) => Ok(Planned {
                option,
                path: path.to_path_buf(),
                target,
            }),
            Err(Problem::StandardStream(_)) => Err(Refusal::usage(
                option,
                path,
                "is the file pidin-sim's messages (its standard error) go to: give another file",
            )),
            Err(p) if p.names_no_file() => Err(Refusal::usage(
                option,
                path,
                p.describe(outfile::Words::Special),
            )),
            Err(
                p @ (Problem::ParentMissing(_)
                | Problem::ParentUnreachable(..)
                | Problem::Unreachable(_)),
            ) => Err(Refusal::failed(
                option,
                path,
                format!("cannot create it: {}", p.describe(outfile::Words::Special)),
            )),
            Err(p) => Err(Refusal::failed(
                option,
                path,
                p.describe(outfile::Words::Special),
            )),
        }
    }
}
