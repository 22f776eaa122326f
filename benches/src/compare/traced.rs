//! `compare --trace FILE` and `compare --diagram FILE.svg`: a traced run of the simulated
//! kernel's models, made after the measured runs (so that no measured figure pays for
//! tracing), recorded as a Perfetto timeline ([`userlib::timeline`]), a message sequence chart
//! ([`userlib::seqchart`]), or both from the same run (one subscriber, both recorders).
//!
//! A measured run makes millions of kernel events, more than a timeline holds or a student
//! reads; the traced run is small instead: on one kernel of its own, [`TRACED_ROUND_TRIPS`] SRR
//! round trips of [`TRACED_SIZE`] bytes between a `client` and a `server` process, then
//! [`TRACED_MESSAGES`] asyncmsg messages of [`TRACED_SIZE`] bytes from a `producer` to a
//! `consumer` process in batches of [`TRACED_BATCH`]: the models' own code
//! ([`workloads::srr_round_trip_on`], [`workloads::asyncmsg_one_way_on`]), warm-up included,
//! with the processes named in the timeline and the chart's title. Its figures are not
//! reported.
//!
//! Each file is written to a temporary file beside its destination and renamed into place with
//! the other outputs ([`super::output::Staged`]).

use super::baselines::{OneWay, RoundTrip};
use super::output::{temp_path, Staged};
use super::workloads;
use crate::harness::Placement;
use std::path::Path;
use std::time::Duration;
use userlib::outfile;
use userlib::{seqchart, timeline, Config, Kernel, Process};

/// Bytes per message of the traced run.
pub const TRACED_SIZE: usize = 64;

/// SRR round trips of the traced run (one of them warm-up).
pub const TRACED_ROUND_TRIPS: u64 = 4;

/// asyncmsg messages of the traced run (a batch of them warm-up).
pub const TRACED_MESSAGES: u64 = 16;

/// The traced run's asyncmsg `trigger_num_msg`.
pub const TRACED_BATCH: u32 = 4;

/// The rows a `--diagram` chart shows at most, as the examples' `--diagram` (the traced run
/// needs fewer).
pub const DIAGRAM_ROWS: usize = 60;

/// Where the traced run's recordings go (paths checked already): `--trace`'s timeline,
/// `--diagram`'s chart.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dests<'a> {
    /// The timeline's file.
    pub timeline: Option<&'a Path>,
    /// The sequence chart's file.
    pub chart: Option<&'a Path>,
}

impl Dests<'_> {
    /// Whether anything is to be recorded.
    pub fn any(&self) -> bool {
        self.timeline.is_some() || self.chart.is_some()
    }
}

/// A traced run done: its files, waiting to be renamed into place, and what they hold.
#[derive(Debug)]
pub struct Traced {
    /// The timeline, written to its temporary name, and what it recorded.
    pub timeline: Option<(Staged, timeline::Written)>,
    /// The sequence chart, written to its temporary name, and how many events it saw.
    pub chart: Option<(Staged, usize)>,
    /// What was run, in words, for the report.
    pub what: String,
}

/// One file of a traced run for the report: what it is (`timeline`, `diagram`), the file,
/// and the report's words after its path.
pub type TracedFile = (&'static str, Staged, String);

impl Traced {
    /// The files, each with its kind and the report's line after its path.
    pub fn files(self) -> Vec<TracedFile> {
        let mut files = Vec::new();
        if let Some((staged, w)) = self.timeline {
            let summary = format!(
                "{}; {} kernel events, {} trace events{}; not measured: open it in https://ui.perfetto.dev",
                self.what,
                w.recorded,
                w.trace_events,
                if w.dropped > 0 {
                    format!(", {} dropped: the buffer was full", w.dropped)
                } else {
                    String::new()
                }
            );
            files.push(("timeline", staged, summary));
        }
        if let Some((staged, events)) = self.chart {
            let summary = format!(
                "{}; a message sequence chart of {events} kernel events (the first \
                 {DIAGRAM_ROWS} rows at most); not measured: open it in a browser",
                self.what
            );
            files.push(("diagram", staged, summary));
        }
        files
    }
}

/// Runs the traced models (threads across two CPUs if there are two, else unpinned),
/// recording the kernel's events into a timeline for `dests.timeline` and a sequence chart for
/// `dests.chart` (either or both, checked already), and writes them to temporary files beside
/// their destinations. Installs the global tracing subscriber: once per program.
pub fn run(dests: Dests<'_>) -> Result<Traced, String> {
    let placement = Placement::cross_cpu().unwrap_or(Placement::Unpinned);
    let k = Kernel::new(Config::default()).map_err(|e| format!("Kernel::new: {e:?}"))?;
    let new_process =
        |name: &str| Process::new_in(&k).map_err(|e| format!("the {name} process: {e:?}"));
    let (server, client) = (new_process("server")?, new_process("client")?);
    let (consumer, producer) = (new_process("consumer")?, new_process("producer")?);
    let named = [
        (&server, "server"),
        (&client, "client"),
        (&consumer, "consumer"),
        (&producer, "producer"),
    ];
    // The recorders, once the processes are there to be named.
    let mut timeline_layer = None;
    let mut timeline_guard = None;
    let mut staged_timeline = None;
    if let Some(dest) = dests.timeline {
        outfile::remove_stale_temps(dest);
        let temp = temp_path(dest);
        let (layer, guard) = if dests.chart.is_some() {
            timeline::TimelineLayer::new(&temp).map(|(l, g)| (Some(l), g))
        } else {
            timeline::record(&temp).map(|g| (None, g))
        }
        .map_err(|e| format!("recording the timeline in {}: {e}", temp.display()))?;
        // From here on the temporary file is ours: dropping `staged` removes it.
        staged_timeline = Some(Staged::adopt(temp, dest));
        for (p, name) in named {
            guard.name_process(p.pid(), name);
        }
        timeline_layer = layer;
        timeline_guard = Some(guard);
    }
    let chart = match dests.chart {
        Some(_) => Some(
            seqchart::record_in_memory(
                seqchart::Options {
                    max_rows: Some(DIAGRAM_ROWS),
                    title: Some(format!(
                        "compare's traced run: SRR client pid {} → server pid {}, then \
                         asyncmsg producer pid {} → consumer pid {} ({TRACED_SIZE} B)",
                        client.pid(),
                        server.pid(),
                        producer.pid(),
                        consumer.pid()
                    )),
                },
                timeline_layer,
            )
            .map_err(|e| format!("recording the sequence chart: {e}"))?,
        ),
        None => None,
    };
    let rt = RoundTrip {
        placement,
        msg_size: TRACED_SIZE,
        warmup: 1,
        n: TRACED_ROUND_TRIPS - 1,
    };
    workloads::srr_round_trip_on(&rt, (&k, &client, &server));
    let w = OneWay {
        placement,
        msg_size: TRACED_SIZE,
        producers: 1,
        warmup: u64::from(TRACED_BATCH),
        per_producer: TRACED_MESSAGES - u64::from(TRACED_BATCH),
        pace: None,
    };
    workloads::asyncmsg_one_way_on(&w, TRACED_BATCH, Duration::ZERO, (&k, &producer, &consumer));
    let what = format!(
        "a traced run after the measured ones, {} ({TRACED_ROUND_TRIPS} SRR round trips \
         client-server, {TRACED_MESSAGES} asyncmsg messages producer-consumer in batches \
         of {TRACED_BATCH}, {TRACED_SIZE} B)",
        placement.key()
    );
    let chart = match (chart, dests.chart) {
        (Some(guard), Some(dest)) => {
            let events = guard.events();
            let svg = guard.svg();
            guard
                .finish()
                .map_err(|e| format!("the sequence chart: {e}"))?;
            let staged = Staged::write(dest, svg.as_bytes())
                .map_err(|e| format!("writing the sequence chart: {e}"))?;
            Some((staged, events))
        }
        _ => None,
    };
    let timeline = match (timeline_guard, staged_timeline) {
        (Some(guard), Some(staged)) => {
            let written = guard
                .finish()
                .map_err(|e| format!("writing the timeline: {e}"))?;
            Some((staged, written))
        }
        _ => None,
    };
    Ok(Traced {
        timeline,
        chart,
        what,
    })
}
