//! `compare --trace FILE`: a traced run of the simulated kernel's models, made after the
//! measured runs (so that no measured figure pays for tracing), recorded as a Perfetto timeline
//! ([`userlib::timeline`]).
//!
//! A measured run makes millions of kernel events, more than a timeline holds or a student
//! reads; the traced run is small instead: on one kernel of its own, [`TRACED_ROUND_TRIPS`] SRR
//! round trips of [`TRACED_SIZE`] bytes between a `client` and a `server` process, then
//! [`TRACED_MESSAGES`] asyncmsg messages of [`TRACED_SIZE`] bytes from a `producer` to a
//! `consumer` process in batches of [`TRACED_BATCH`]: the models' own code
//! ([`workloads::srr_round_trip_on`], [`workloads::asyncmsg_one_way_on`]), warm-up included,
//! with the processes named in the timeline. Its figures are not reported.
//!
//! The timeline is written to a temporary file beside the destination and renamed into place
//! with the other outputs ([`super::output::Staged`]).

use super::baselines::{OneWay, RoundTrip};
use super::output::{temp_path, Staged};
use super::workloads;
use crate::harness::Placement;
use std::path::Path;
use std::time::Duration;
use userlib::{timeline, Config, Kernel, Process};

/// Bytes per message of the traced run.
pub const TRACED_SIZE: usize = 64;

/// SRR round trips of the traced run (a few of them warm-up).
pub const TRACED_ROUND_TRIPS: u64 = 16;

/// asyncmsg messages of the traced run (a batch of them warm-up).
pub const TRACED_MESSAGES: u64 = 32;

/// The traced run's asyncmsg `trigger_num_msg`.
pub const TRACED_BATCH: u32 = 8;

/// A traced run done: the timeline, waiting to be renamed into place, and what it holds.
#[derive(Debug)]
pub struct Traced {
    /// The timeline file, written to its temporary name.
    pub staged: Staged,
    /// What the timeline recorded.
    pub written: timeline::Written,
    /// What was run, in words, for the report.
    pub what: String,
}

impl Traced {
    /// The report's line for the timeline, after its path.
    pub fn summary(&self) -> String {
        format!(
            "{}; {} kernel events, {} trace events{}; not measured: open it in https://ui.perfetto.dev",
            self.what,
            self.written.recorded,
            self.written.trace_events,
            if self.written.dropped > 0 {
                format!(", {} dropped: the buffer was full", self.written.dropped)
            } else {
                String::new()
            }
        )
    }
}

/// Runs the traced models (threads across two CPUs if there are two, else unpinned), recording
/// the kernel's events into a timeline for `dest` (checked already), and writes it to a
/// temporary file beside `dest`. Installs the global tracing subscriber: once per program.
pub fn run(dest: &Path) -> Result<Traced, String> {
    let temp = temp_path(dest);
    let guard = timeline::record(&temp)
        .map_err(|e| format!("recording the timeline in {}: {e}", temp.display()))?;
    // From here on the temporary file is ours: dropping `staged` removes it.
    let staged = Staged::adopt(temp, dest);
    let placement = Placement::cross_cpu().unwrap_or(Placement::Unpinned);
    let k = Kernel::new(Config::default()).map_err(|e| format!("Kernel::new: {e:?}"))?;
    let proc_named = |name: &str| {
        let p = Process::new_in(&k).map_err(|e| format!("the {name} process: {e:?}"))?;
        guard.name_process(p.pid(), name);
        Ok::<Process, String>(p)
    };
    let (server, client) = (proc_named("server")?, proc_named("client")?);
    let rt = RoundTrip {
        placement,
        msg_size: TRACED_SIZE,
        warmup: 2,
        n: TRACED_ROUND_TRIPS - 2,
    };
    workloads::srr_round_trip_on(&rt, (&k, &client, &server));
    let (consumer, producer) = (proc_named("consumer")?, proc_named("producer")?);
    let w = OneWay {
        placement,
        msg_size: TRACED_SIZE,
        producers: 1,
        warmup: u64::from(TRACED_BATCH),
        per_producer: TRACED_MESSAGES - u64::from(TRACED_BATCH),
        pace: None,
    };
    workloads::asyncmsg_one_way_on(&w, TRACED_BATCH, Duration::ZERO, (&k, &producer, &consumer));
    let written = guard
        .finish()
        .map_err(|e| format!("writing the timeline: {e}"))?;
    Ok(Traced {
        staged,
        written,
        what: format!(
            "a traced run after the measured ones, {} ({TRACED_ROUND_TRIPS} SRR round trips \
             client-server, {TRACED_MESSAGES} asyncmsg messages producer-consumer in batches \
             of {TRACED_BATCH}, {TRACED_SIZE} B)",
            placement.key()
        ),
    })
}
