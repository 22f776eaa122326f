//! The examples' `--trace FILE`, `--diagram FILE.svg` and `--step`: watching a run through the
//! kernel's trace events (`kernel_sim::trace`) with userlib's recorders, which share one
//! subscriber.
//!
//! * `--trace FILE`: a timeline (`userlib::timeline`): Chrome trace-event JSON that
//!   <https://ui.perfetto.dev> opens as it is: a track per simulated thread with its states and
//!   kernel calls, arrows from each MsgSend to its MsgReceive and MsgReply.
//! * `--diagram FILE.svg`: a message sequence chart (`userlib::seqchart`): lifelines, messages,
//!   replies and pulses as arrows, blocked states shaded (the first rows of a run).
//! * `--step`: pauses at the end of each kernel call of the example's processes
//!   (`userlib::step`) and shows the call, the states before and after, and whom it woke;
//!   Enter goes on, `q` Enter runs to the end.
//!
//! * `RUST_LOG` (as Rust programs read it: `RUST_LOG=qnx::msg=trace`, `RUST_LOG=qnx=trace`):
//!   the kernel's events printed to stderr as they happen.
//!
//! They watch the simulated processes of this program. In a `--processes` run, whose events
//! happen in the programs' own Linux processes, `--trace` and `--diagram` record the shared
//! kernel's trace ring instead ([`start_programs`], as `pidin-sim --trace` does): every
//! program's events, on one clock. `--step` is for one program's threads only.
//!
//! The files are written whole at the end: each recorder writes a hidden temporary file beside
//! its destination (`userlib::outfile`), renamed into place once both are written. A run that
//! fails still writes them (what it recorded, the supervisor-like cleanup of a killed program
//! included); a run a signal ends removes them and leaves an older file as it was
//! (`programs`' end on a signal); one killed outright leaves its temporary files, which the
//! next run writing the same destination removes.

use crate::{Context, Failure};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;
use userlib::{outfile, seqchart, step, timeline, Kernel};

/// Whether this run steps (`--step`): the examples' bounded waits then allow a student a day
/// at each pause ([`patience`]).
static STEPPING: AtomicBool = AtomicBool::new(false);

/// How long a wait the examples bound may last: `d`, or a day while a student steps (a pause
/// at a kernel call holds up everything that waits on that thread).
pub fn patience(d: std::time::Duration) -> std::time::Duration {
    if STEPPING.load(Ordering::Relaxed) {
        d.max(std::time::Duration::from_secs(24 * 3600))
    } else {
        d
    }
}

/// The rows a `--diagram` chart shows at most (a slide stays readable).
pub const DIAGRAM_ROWS: usize = 60;

/// The observation flags, for an example's `Args` (`#[command(flatten)]`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ObserveArgs {
    /// Write a timeline of the run to FILE (Chrome trace-event JSON: open it in
    /// ui.perfetto.dev): each simulated thread's states and kernel calls, and arrows from each
    /// message's send to its receive and reply.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Draw a message sequence chart of the run's first events to FILE (SVG): threads as
    /// lifelines, messages, replies and pulses as arrows, blocked states shaded.
    #[arg(long, value_name = "FILE")]
    pub diagram: Option<PathBuf>,
    /// Pause at the end of each kernel call of the example's processes and show the call, the
    /// threads' states before and after, and whom it woke: Enter goes on, q Enter runs on.
    #[arg(long)]
    pub step: bool,
}

impl ObserveArgs {
    /// Whether any of them was asked for.
    pub fn any(&self) -> bool {
        self.trace.is_some() || self.diagram.is_some() || self.step
    }

    /// Checks the files `--trace` and `--diagram` name, before anything runs (the files are
    /// written at the end of the run, which a bad path would otherwise waste): see
    /// [`check_output`]; and the two must not name one file. The error names the option and
    /// the path: `--trace /tmp: is a directory`.
    pub fn check_outputs(&self) -> Result<(), String> {
        let trace = self
            .trace
            .as_ref()
            .map(|t| check_output("--trace", t))
            .transpose()?;
        let diagram = self
            .diagram
            .as_ref()
            .map(|d| check_output("--diagram", d))
            .transpose()?;
        if let (Some(t), Some(d), Some(path)) = (trace, diagram, &self.diagram) {
            if t.same_file(&d) {
                return Err(format!(
                    "--diagram {}: names the same file as --trace",
                    path.display()
                ));
            }
        }
        Ok(())
    }

    /// [`ObserveArgs::check_outputs`], or ends the program with exit status 2 (a usage error)
    /// and `PROG: --trace PATH: why` on stderr.
    pub fn refuse_bad_outputs(&self, prog: &str) {
        if let Err(e) = self.check_outputs() {
            eprintln!("{prog}: {e}");
            std::process::exit(2);
        }
    }
}

/// Checks that a file can be written at `path` (given to `option`), as
/// [`userlib::outfile::check`] does: an existing file must be a regular file (a directory,
/// device, FIFO or socket, or a link to one, is refused unopened) that can be opened for
/// writing; a new one needs an existing directory in which a file can be created. A link that
/// leads nowhere is refused, not followed. The error says why, after the option and the path;
/// the target says where the file is.
pub fn check_output(option: &str, path: &Path) -> Result<outfile::Target, String> {
    let refuse = |p: outfile::Problem| {
        format!(
            "{option} {}: {}",
            path.display(),
            p.describe(outfile::Words::Special)
        )
    };
    let target = outfile::check(path, &[]).map_err(refuse)?;
    // (The file is written beside its place and renamed there: the directory must take one.)
    target.probe_dir().map_err(refuse)?;
    Ok(target)
}

/// The recorders of a run; [`Observers::finish`] writes their files (and so does dropping them
/// unfinished, a failed run's path, unless a signal is ending the program).
#[derive(Debug, Default)]
pub struct Observers {
    timeline: Option<timeline::TimelineGuard>,
    /// The timeline's temporary file, to be renamed to its destination.
    timeline_file: Option<outfile::Staged>,
    chart: Option<seqchart::ChartGuard>,
    /// The chart's temporary file.
    chart_file: Option<outfile::Staged>,
    /// The chart's recorder, to name processes on it.
    chart_names: Option<seqchart::SeqChartLayer>,
    step: Option<step::StepGuard>,
    ring: Option<RingDrain>,
}

/// The thread draining a shared kernel's trace ring into the recorders.
#[derive(Debug)]
struct RingDrain {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl RingDrain {
    /// Stops the thread after a last drain: the records it lost.
    fn finish(&mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map_or(0, |t| t.join().unwrap_or_default())
    }
}

impl Drop for RingDrain {
    fn drop(&mut self) {
        self.finish();
    }
}

/// For a `--processes` run: `--trace` and `--diagram` record the trace ring of the shared
/// `kernel` (every program's events) from a thread of this program until
/// [`Observers::finish`]; name the programs with [`Observers::name_process`] as they start.
/// `--step` is refused before this is called (it pauses this program's threads only).
pub fn start_programs(args: &ObserveArgs, kernel: &Kernel) -> Result<Observers, Failure> {
    let mut o = Observers::default();
    if args.trace.is_none() && args.diagram.is_none() {
        return Ok(o);
    }
    let timeline = match &args.trace {
        Some(p) => {
            let temp = staged_temp(p);
            let (layer, guard) = timeline::TimelineLayer::new(&temp)
                .context(|| format!("creating the timeline {}", p.display()))?;
            o.timeline_file = Some(outfile::Staged::adopt(temp, p));
            o.timeline = Some(guard);
            Some(layer)
        }
        None => None,
    };
    distinct_outputs(args)?;
    let chart = match &args.diagram {
        Some(p) => {
            let options = seqchart::Options {
                max_rows: Some(DIAGRAM_ROWS),
                title: None,
            };
            let temp = staged_temp(p);
            let (layer, guard) = seqchart::layer(&temp, options)
                .context(|| format!("creating the diagram {}", p.display()))?;
            o.chart_file = Some(outfile::Staged::adopt(temp, p));
            o.chart = Some(guard);
            o.chart_names = Some(layer.clone());
            Some(layer)
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, started) = std::sync::mpsc::channel();
    let k = kernel.clone();
    let stop2 = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("trace-ring".into())
        .spawn(move || {
            // (The snapshot and the ring's start under one hold of the kernel lock: the ring's
            // events follow the snapshot exactly.)
            let (mut reader, before) = match k.trace_start(std::process::id() as i32) {
                Ok(r) => {
                    let _ = started_tx.send(Ok(()));
                    r
                }
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                    return 0;
                }
            };
            let mut batch =
                userlib::trace::Decoded::states_of(&before, userlib::trace::monotonic_ns());
            loop {
                let done = stop2.load(Ordering::Relaxed);
                if done {
                    reader.finish_into(&mut batch);
                } else {
                    reader.poll(&mut batch);
                }
                for d in batch.drain(..) {
                    if let Some(t) = &timeline {
                        t.record_decoded(&d);
                    }
                    if let Some(c) = &chart {
                        c.record_decoded(&d);
                    }
                }
                if done {
                    return reader.lost();
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
        .context(|| "starting the trace ring's reader")?;
    o.ring = Some(RingDrain {
        stop,
        thread: Some(thread),
    });
    match started.recv() {
        Ok(Ok(())) => Ok(o),
        Ok(Err(e)) => Err(Failure::new(format!(
            "cannot record the kernel's trace ring: {e}"
        ))),
        Err(_) => Err(Failure::new("the trace ring's reader ended")),
    }
}

/// Starts what `args` asks for, watching `kernel` and (for `--step`) the processes `pids`; the
/// names name the processes in the timeline; with `RUST_LOG` set, the events it selects are
/// printed to stderr too. Nothing asked: nothing installed. Errors: a file that cannot be
/// created, or a subscriber installed already.
pub fn start(
    args: &ObserveArgs,
    kernel: &Kernel,
    processes: &[(i32, &str)],
) -> Result<Observers, Failure> {
    let mut o = Observers::default();
    let log = std::env::var_os("RUST_LOG").is_some().then(|| {
        use std::io::IsTerminal;
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(tracing_subscriber::EnvFilter::from_default_env())
    });
    if !args.any() && log.is_none() {
        return Ok(o);
    }
    let timeline = match &args.trace {
        Some(p) => {
            let temp = staged_temp(p);
            let (layer, guard) = timeline::TimelineLayer::new(&temp)
                .context(|| format!("creating the timeline {}", p.display()))?;
            o.timeline_file = Some(outfile::Staged::adopt(temp, p));
            for (pid, name) in processes {
                guard.name_process(*pid, *name);
            }
            o.timeline = Some(guard);
            Some(layer.with_filter(timeline::filter()))
        }
        None => None,
    };
    distinct_outputs(args)?;
    let chart = match &args.diagram {
        Some(p) => {
            let options = seqchart::Options {
                max_rows: Some(DIAGRAM_ROWS),
                title: None,
            };
            let temp = staged_temp(p);
            let (layer, guard) = seqchart::layer(&temp, options)
                .context(|| format!("creating the diagram {}", p.display()))?;
            o.chart_file = Some(outfile::Staged::adopt(temp, p));
            for (pid, name) in processes {
                layer.name_process(*pid, *name);
            }
            o.chart = Some(guard);
            o.chart_names = Some(layer.clone());
            Some(layer)
        }
        None => None,
    };
    STEPPING.store(args.step, Ordering::Relaxed);
    let stepper = if args.step {
        let (layer, guard) = step::Stepper::new()
            .kernel(kernel)
            .pids(processes.iter().map(|(pid, _)| *pid))
            .layer();
        o.step = Some(guard);
        Some(layer)
    } else {
        None
    };
    let subscriber = tracing_subscriber::registry()
        .with(log)
        .with(timeline)
        .with(chart)
        .with(stepper);
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| Failure::new(format!("installing the recorders: {e}")))?;
    Ok(o)
}

/// Refuses `--trace` and `--diagram` naming one file (`x`, `./x`, a link to it), which both
/// would write, the chart over the timeline.
fn distinct_outputs(args: &ObserveArgs) -> Result<(), Failure> {
    let (Some(t), Some(d)) = (&args.trace, &args.diagram) else {
        return Ok(());
    };
    if outfile::same_file(t, d) {
        return Err(Failure::new(format!(
            "--trace and --diagram name the same file {}",
            d.display()
        )));
    }
    Ok(())
}

impl Observers {
    /// Names process `pid` in the timeline and on the chart (a program of a `--processes`
    /// run: its role, where its `created` event would name it after the one program every
    /// role runs).
    pub fn name_process(&self, pid: i32, name: &str) {
        if let Some(t) = &self.timeline {
            t.name_process(pid, name);
        }
        if let Some(c) = &self.chart_names {
            c.name_process(pid, name);
        }
    }

    /// Stops stepping and writes the files, saying where (on stderr: stdout is the run's,
    /// which `sensors --json` keeps to one JSON object): the ring's last events first, then each
    /// recorder's temporary file, then both renamed into place (neither if one failed).
    pub fn finish(mut self) -> Result<(), Failure> {
        self.write(true)
    }

    /// [`Observers::finish`]'s work; `report` says what was written.
    fn write(&mut self, report: bool) -> Result<(), Failure> {
        if let Some(s) = self.step.take() {
            s.stop();
        }
        if let Some(mut r) = self.ring.take() {
            let lost = r.finish();
            if lost > 0 && report {
                eprintln!("trace: {lost} kernel events lost (the kernel's trace ring was lapped)");
            }
        }
        let mut staged = Vec::new();
        let mut said = Vec::new();
        if let Some(t) = self.timeline.take() {
            let file = self.timeline_file.take();
            let path = file
                .as_ref()
                .map_or_else(|| t.path().to_path_buf(), |f| f.dest().to_path_buf());
            let w = t
                .finish()
                .context(|| format!("writing the timeline {}", path.display()))?;
            staged.extend(file);
            said.push(format!(
                "timeline: {} ({} kernel events, {} trace events{}; open it in https://ui.perfetto.dev)",
                path.display(),
                w.recorded,
                w.trace_events,
                if w.dropped > 0 {
                    format!(", {} dropped: the buffer was full", w.dropped)
                } else {
                    String::new()
                }
            ));
        }
        if let Some(c) = self.chart.take() {
            let events = c.events();
            c.finish().context(|| "writing the diagram")?;
            staged.extend(self.chart_file.take());
            said.push(format!(
                "diagram: {events} events drawn (the first {DIAGRAM_ROWS} rows at most)"
            ));
        }
        let temps: Vec<PathBuf> = staged.iter().map(|s| s.temp().to_path_buf()).collect();
        let committed = outfile::commit_all(staged);
        for t in &temps {
            crate::programs::forget_output_temp(t);
        }
        committed.map_err(|e| Failure::new(format!("putting the outputs in place: {e}")))?;
        if report {
            for s in said {
                eprintln!("{s}");
            }
        }
        Ok(())
    }
}

impl Drop for Observers {
    /// A run that failed still writes what it recorded (after the ring's last events, the
    /// cleanup of a killed program among them); one a signal is ending leaves that to the
    /// signal's end, which removes the temporary files.
    fn drop(&mut self) {
        if crate::programs::ending() {
            return;
        }
        if let Err(e) = self.write(true) {
            if !crate::programs::ending() {
                eprintln!("{e}");
            }
        }
    }
}

/// The temporary file beside `dest` that a recorder writes (after removing those a killed run
/// left there), tracked so that a signal's end removes it.
fn staged_temp(dest: &Path) -> PathBuf {
    outfile::remove_stale_temps(dest);
    let temp = outfile::temp_path(dest);
    crate::programs::track_output_temp(&temp);
    temp
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            let d = std::env::temp_dir().join(format!("observe-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(d.join("sub")).unwrap();
            Dir(d)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A `--processes` run names its programs by their roles on the chart too: they are all
    /// the one example program, so their `created` events named every lifeline after it
    /// (`srr-demo, pid N` three times) while the timeline said `server`, `part-1 clients`.
    #[test]
    fn the_programs_of_a_run_are_named_by_their_roles_on_the_chart() {
        let dir = Dir::new("names");
        let k = Kernel::new(userlib::Config::default()).unwrap();
        let p = k.process_create().unwrap();
        let _t = k.thread_attach(p, 10).unwrap();
        let svg = dir.0.join("run.svg");
        let args = ObserveArgs {
            trace: Some(dir.0.join("run.json")),
            diagram: Some(svg.clone()),
            step: false,
        };
        let o = start_programs(&args, &k).unwrap();
        o.name_process(p.pid, "server");
        o.finish().unwrap();
        let chart = std::fs::read_to_string(&svg).unwrap();
        assert!(chart.contains(&format!("server, pid {}", p.pid)), "{chart}");
        assert!(!k.trace_ring().recording());
    }

    /// `--trace x.json --diagram sub/../x.json` names one file: refused, where both were
    /// written into it (the chart over the timeline); and no recording is left running.
    #[test]
    fn one_file_named_twice_is_refused() {
        let dir = Dir::new("same");
        let k = Kernel::new(userlib::Config::default()).unwrap();
        let args = ObserveArgs {
            trace: Some(dir.0.join("x.json")),
            diagram: Some(dir.0.join("sub").join("..").join("x.json")),
            step: false,
        };
        let e = start_programs(&args, &k).unwrap_err();
        assert!(e.to_string().contains("same file"), "{e}");
        assert!(!k.trace_ring().recording());
        // (`start`, for one program's run: refused before it installs anything.)
        let _ = std::fs::remove_file(dir.0.join("x.json"));
        let e = start(&args, &k, &[]).unwrap_err();
        assert!(e.to_string().contains("same file"), "{e}");
    }
}
