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
        if t.is_same_file(d) {
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
            if let Some(p) = planned.iter().find(|p| p.is_file(Path::new(&name))) {
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
    for p in planned {
        match Staged::create(p) {
            Ok(s) => staged.push(s),
            Err(r) => return r.report(),
        }
    }
    let trace_temp = staged
        .iter()
        .find(|s| s.planned.option == "--trace")
        .map(|s| s.temp.clone());
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
    for s in staged.iter_mut() {
        let written = if s.planned.option == "--trace" {
            match timeline.take() {
                Some((_, t)) => t
                    .finish()
                    .map(|w| format!(" ({} trace events)", w.trace_events)),
                None => Ok(String::new()),
            }
        } else {
            match chart.take() {
                Some((_, c)) => s.write(c.svg().as_bytes()).map(|()| String::new()),
                None => Ok(String::new()),
            }
        };
        match written.and_then(|more| s.keep_mode().map(|()| more)) {
            Ok(more) => said.push(format!(
                "pidin-sim: wrote {}{more}",
                s.planned.path.display()
            )),
            Err(e) => {
                eprintln!(
                    "pidin-sim: {} {}: cannot write it: {e}",
                    s.planned.option,
                    s.planned.path.display()
                );
                status = 1;
                break;
            }
        }
    }
    if status == 0 {
        status = Staged::commit(&mut staged);
        for line in said.iter().filter(|_| status == 0) {
            eprintln!("{line}");
        }
    } else {
        let named: Vec<String> = staged
            .iter()
            .map(|s| s.planned.path.display().to_string())
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

/// "a directory", "a FIFO (a special file)", ... (what an existing path that is not a regular
/// file is).
fn kind_of(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (a special file)"
    } else if t.is_socket() {
        "a socket (a special file)"
    } else if t.is_char_device() {
        "a character device (a special file)"
    } else if t.is_block_device() {
        "a block device (a special file)"
    } else {
        "not a regular file"
    }
}

/// Why an existing path of type `t` (reached through a symbolic link if `link`) is refused.
fn not_regular(t: std::fs::FileType, link: bool) -> String {
    format!(
        "{} {}, not a regular file: only a regular file is written (a device, FIFO, socket or \
         directory is never opened)",
        if link { "leads to" } else { "is" },
        kind_of(t)
    )
}

/// Whether `m` is the file this program's standard error goes to (its messages).
fn is_standard_error(m: &std::fs::Metadata) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .and_then(|fd| std::fs::File::from(fd).metadata())
        .is_ok_and(|e| (e.dev(), e.ino()) == (m.dev(), m.ino()))
}

/// An output path, checked before anything is recorded (nothing made or changed yet).
struct Planned {
    /// `--trace` or `--diagram`.
    option: &'static str,
    /// The path as given.
    path: PathBuf,
    /// Where the file goes: the existing file (a symbolic link followed, so that it stays a
    /// link), else the path in its directory's canonical form.
    dest: PathBuf,
    /// What was there: a regular file, which this user can open for writing.
    existing: Option<std::fs::Metadata>,
}

impl Planned {
    /// Checks that a file can be written at `path` (given to `option`): an existing path must
    /// be a regular file (a symbolic link to one is followed) that can be opened for writing
    /// and is not where this program's messages go; a new one needs an existing directory. A
    /// device, FIFO, socket or directory (or a link to one) is refused without being opened,
    /// and so is a link to nothing.
    fn check(option: &'static str, path: &Path) -> Result<Planned, Refusal> {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        if path.as_os_str().is_empty() {
            return Err(Refusal::usage(option, path, "the path is empty"));
        }
        let planned = |dest: PathBuf, existing| Planned {
            option,
            path: path.to_path_buf(),
            dest,
            existing,
        };
        let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        // (stat: opens nothing, never blocks.)
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {
                // Opened to see that it can be written: not emptied, and not blocking should
                // it have become a FIFO since (then what was opened is refused).
                let opened = std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
                    .open(path)
                    .and_then(|f| f.metadata());
                let opened = match opened {
                    Ok(o) if o.is_file() => o,
                    Ok(o) => {
                        return Err(Refusal::usage(
                            option,
                            path,
                            not_regular(o.file_type(), link),
                        ))
                    }
                    Err(e) => {
                        return Err(Refusal::failed(
                            option,
                            path,
                            format!("cannot write it: {e}"),
                        ))
                    }
                };
                if is_standard_error(&opened) {
                    return Err(Refusal::usage(
                        option,
                        path,
                        "is the file pidin-sim's messages (its standard error) go to: give \
                         another file",
                    ));
                }
                let dest =
                    std::fs::canonicalize(path).map_err(|e| Refusal::failed(option, path, e))?;
                // A file reached through /proc/PID/fd may have no name (deleted) or another.
                let named = std::fs::metadata(&dest)
                    .is_ok_and(|m| (m.dev(), m.ino()) == (opened.dev(), opened.ino()));
                if !named {
                    return Err(Refusal::usage(
                        option,
                        path,
                        format!(
                            "resolves to {}, which is not the same file (a deleted file, a \
                             descriptor's link?): give the file's own path",
                            dest.display()
                        ),
                    ));
                }
                Ok(planned(dest, Some(opened)))
            }
            Ok(m) => Err(Refusal::usage(
                option,
                path,
                not_regular(m.file_type(), link),
            )),
            Err(_) if link => {
                let to = std::fs::read_link(path)
                    .map_or_else(|_| "?".into(), |t| t.display().to_string());
                Err(Refusal::usage(
                    option,
                    path,
                    format!("is a symbolic link to {to}, which does not exist: not followed"),
                ))
            }
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Refusal::failed(
                option,
                path,
                format!("cannot create it: {e}"),
            )),
            Err(_) => {
                let name = match path.file_name() {
                    Some(n) if !path.as_os_str().as_encoded_bytes().ends_with(b"/") => n,
                    _ => {
                        return Err(Refusal::usage(
                            option,
                            path,
                            "names a directory, not a file",
                        ))
                    }
                };
                let parent = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                match std::fs::metadata(parent) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(Refusal::usage(
                            option,
                            path,
                            format!("{} is not a directory", parent.display()),
                        ))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(Refusal::failed(
                            option,
                            path,
                            format!(
                                "cannot create it: the directory {} does not exist",
                                parent.display()
                            ),
                        ))
                    }
                    Err(e) => {
                        return Err(Refusal::failed(
                            option,
                            path,
                            format!("cannot create it: {}: {e}", parent.display()),
                        ))
                    }
                }
                let dir = std::fs::canonicalize(parent).map_err(|e| {
                    Refusal::failed(
                        option,
                        path,
                        format!("cannot create it: {}: {e}", parent.display()),
                    )
                })?;
                Ok(planned(dir.join(name), None))
            }
        }
    }

    /// Whether `self` and `other` name one file (`x.json` and `sub/../x.json`, a link to it,
    /// another hard link).
    fn is_same_file(&self, other: &Planned) -> bool {
        use std::os::unix::fs::MetadataExt;
        self.dest == other.dest
            || matches!((&self.existing, &other.existing),
                (Some(a), Some(b)) if (a.dev(), a.ino()) == (b.dev(), b.ino()))
    }

    /// Whether `self` is the existing file at `path`.
    fn is_file(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (&self.existing, std::fs::metadata(path)) {
            (Some(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
}

/// An output being made: its temporary file beside its place (removed when dropped unless it
/// was renamed into place).
struct Staged {
    planned: Planned,
    temp: PathBuf,
    file: Option<std::fs::File>,
    /// Renamed into place.
    placed: bool,
}

impl Staged {
    /// Makes the temporary file (hidden, named after the file and this process) in the file's
    /// directory.
    fn create(planned: Planned) -> Result<Staged, Refusal> {
        let dir = planned
            .dest
            .parent()
            .unwrap_or(Path::new("/"))
            .to_path_buf();
        let name = planned
            .dest
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        let pid = std::process::id();
        let mut last = None;
        for n in 0..16 {
            let more = if n == 0 {
                String::new()
            } else {
                format!(".{n}")
            };
            let temp = dir.join(format!(".{name}.pidin-sim-{pid}{more}.tmp"));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
            {
                Ok(file) => {
                    return Ok(Staged {
                        planned,
                        temp,
                        file: Some(file),
                        placed: false,
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
        let e = last.map_or_else(|| "?".into(), |e| e.to_string());
        Err(Refusal::failed(
            planned.option,
            &planned.path,
            format!(
                "cannot create a file in {} (where it is written, then renamed into place): {e}",
                dir.display()
            ),
        ))
    }

    /// Writes `bytes` into the temporary file.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = match self.file.take() {
            Some(f) => f,
            None => std::fs::OpenOptions::new().write(true).open(&self.temp)?,
        };
        f.set_len(0)?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    /// Gives the temporary file the permissions of the file it replaces.
    fn keep_mode(&self) -> std::io::Result<()> {
        match &self.planned.existing {
            Some(m) => std::fs::set_permissions(&self.temp, m.permissions()),
            None => Ok(()),
        }
    }

    /// Renames every written temporary file into place; the exit status. Should one rename
    /// fail, the files placed before it that this run made are removed again.
    fn commit(staged: &mut [Staged]) -> i32 {
        for i in 0..staged.len() {
            let s = &staged[i];
            if let Err(e) = std::fs::rename(&s.temp, &s.planned.dest) {
                eprintln!(
                    "pidin-sim: {} {}: cannot put it in place: {e}",
                    s.planned.option,
                    s.planned.path.display()
                );
                for p in staged[..i].iter().filter(|p| p.planned.existing.is_none()) {
                    let _ = std::fs::remove_file(&p.planned.dest);
                }
                return 1;
            }
            staged[i].placed = true;
        }
        0
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
