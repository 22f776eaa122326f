//! A message sequence chart of a small run, as an SVG file: the picture a teacher puts on a
//! slide.
//!
//! [`record`] installs a [`tracing`] subscriber that records the kernel's `qnx::msg`,
//! `qnx::pulse`, `qnx::async` and `qnx::state` events, and the `qnx::call` exits of receives
//! that failed (see [`kernel_sim::trace`]), and writes the
//! chart when the returned [`ChartGuard`] is dropped or [finished](ChartGuard::finish):
//!
//! ```no_run
//! let chart = userlib::seqchart::record("srr.svg")?;
//! // ... the run ...
//! chart.finish()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`layer`] gives the same recorder as a [`tracing_subscriber::Layer`], to compose with
//! other layers (a timeline, the step mode) in one subscriber; [`record_in_memory`] composes
//! it with another layer for a program that has no `tracing_subscriber` of its own.
//!
//! # The chart
//!
//! * **Lifelines**: one vertical line per simulated thread, headed `pid 2 / tid 1`, grouped by
//!   process (a box `pid 2` over its threads), processes in pid order. A `kernel` lifeline is
//!   added on the left when the kernel itself sends something (a timer's pulse, a disconnect
//!   pulse) or ends an exchange.
//! * **Arrows**, one row each, in the order the kernel emitted the events (time runs downward,
//!   not to scale): a message is a solid arrow from the client to the server at the moment the
//!   server receives it (`MsgSend 64 B`); its reply a dashed arrow back (`MsgReply 0`,
//!   `MsgError errno 3`); a pulse a dotted arrow from its sender to its receiver, at the
//!   receive, with its code; an asyncmsg batch a thick arrow from the thread that triggered it
//!   to the one that got it, with its count (gets of one batch by one thread with no other row
//!   between them are one arrow with their total: the kernel reports a get per pass over a
//!   connection, and one `asyncmsg_get` may take a connection its producer keeps filling in
//!   several passes). A message, pulse or batch that waits in a queue (its receive is not the
//!   next thing that happens) also gets a row of its own where it was sent: a circle on the
//!   sender's lifeline, `MsgSend (queued)`.
//! * **Crosses**, one row each, for what ends with no arrow: a message withdrawn from its
//!   queue before any receive took it (its sender timed out, was interrupted, had its coid
//!   detached or died, or the channel was destroyed: `MsgSend 3 B to pid 2 withdrawn, never
//!   received: timed out (ETIMEDOUT)`), on the sender's lifeline, where its SEND-blocked span
//!   ends; a queued pulse dropped unreceived, on its sender's; a receive that failed
//!   (`MsgReceive failed: ETIMEDOUT (timed out)`), where its RECEIVE-blocked span ends. An
//!   exchange the kernel ended (a REPLY-blocked client's timeout on a channel without
//!   `_NTO_CHF_UNBLOCK`, its death, the channel destroyed) is a dashed arrow from the `kernel`
//!   lifeline, `released by the kernel: ETIMEDOUT (timed out)`: the server answered nothing.
//! * **Blocked states** shaded on the lifelines: SEND-, RECEIVE- and REPLY-blocked spans as
//!   bars of three colours, from the row where the thread blocked to the row where it left the
//!   state. A legend under the chart names the colours and the arrow styles.
//! * [`Options::max_rows`] caps the rows; the rest is summed up as `… N more events`.
//!
//! Elements carry classes and `data-` attributes (`class="arrow send"`, `data-from="3.1"`,
//! `class="ended withdrawn"`, `class="state reply"`, `data-pid`, `data-tid`) so that tests and
//! scripts can find them.
//!
//! The recorder never calls the kernel: the events it reads may be emitted under the kernel
//! lock.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;

// ------------------------------------------------------------------------------ event fields

/// The fields of one kernel trace event, as recorders read them (shared with [`crate::step`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields {
    /// `what`.
    pub what: String,
    /// `pid` (0 if absent).
    pub pid: i32,
    /// `tid` (0 if absent).
    pub tid: i32,
    /// Integer fields besides `pid` and `tid`, in the order they came.
    pub ints: Vec<(&'static str, i128)>,
    /// String fields besides `what` (and anything recorded by `Debug`), in order.
    pub strs: Vec<(&'static str, String)>,
}

impl Fields {
    /// The fields of `event`.
    pub fn of(event: &Event<'_>) -> Fields {
        let mut f = Fields::default();
        event.record(&mut f);
        f
    }

    /// Integer field `name`.
    pub fn int(&self, name: &str) -> Option<i128> {
        self.ints.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// Integer field `name` as an `i32` (0 if absent or out of range).
    pub fn i32(&self, name: &str) -> i32 {
        self.int(name)
            .and_then(|v| i32::try_from(v).ok())
            .unwrap_or(0)
    }

    /// Integer field `name` as an `i64` (0 if absent or out of range).
    pub fn i64(&self, name: &str) -> i64 {
        self.int(name)
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(0)
    }

    /// Integer field `name` as a `u64` (0 if absent or out of range).
    pub fn u64(&self, name: &str) -> u64 {
        self.int(name)
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0)
    }

    /// String field `name`.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.strs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn int_field(&mut self, field: &Field, v: i128) {
        match field.name() {
            "pid" => self.pid = i32::try_from(v).unwrap_or(0),
            "tid" => self.tid = i32::try_from(v).unwrap_or(0),
            name => self.ints.push((name, v)),
        }
    }
}

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.int_field(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.int_field(field, value.into());
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.int_field(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.int_field(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "what" {
            self.what = value.to_string();
        } else {
            self.strs.push((field.name(), value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let s = format!("{value:?}");
        if field.name() == "what" {
            self.what = s;
        } else {
            self.strs.push((field.name(), s));
        }
    }
}

// ----------------------------------------------------------------------------- the recording

/// One thread: (pid, tid). pid 0 is the kernel.
type Who = (i32, i32);

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    State {
        who: Who,
        state: String,
    },
    Send {
        who: Who,
        peer_pid: i32,
        exchange: u64,
        bytes: u64,
        /// The message's first two bytes (its type), -1 if unknown.
        msg_type: i64,
    },
    Receive {
        who: Who,
        peer: Who,
        exchange: u64,
        bytes: u64,
    },
    Reply {
        who: Who,
        peer: Who,
        exchange: u64,
        status: i64,
        error: i64,
        /// The kernel ended the exchange (a timeout, a signal, a detach, a death): the server
        /// answered nothing.
        by_kernel: bool,
    },
    /// A message left its queue unreceived.
    Withdrawn {
        who: Who,
        peer_pid: i32,
        exchange: u64,
        bytes: u64,
        error: i64,
        why: String,
    },
    PulseQueued {
        who: Who,
        code: i64,
        pulse: u64,
    },
    PulseReceived {
        who: Who,
        code: i64,
        value: i64,
        pulse: u64,
    },
    /// A queued pulse freed unreceived.
    PulseDropped {
        code: i64,
        pulse: u64,
        why: String,
    },
    /// A receive that failed (timed out, interrupted, its channel destroyed, ...).
    ReceiveFailed {
        who: Who,
        call: String,
        error: i64,
    },
    Trigger {
        who: Who,
        messages: u64,
        batch: u64,
    },
    Get {
        who: Who,
        messages: u64,
        batch: u64,
    },
}

impl Ev {
    /// The event of `f` (target `target`), if the chart draws it.
    fn from_fields(target: &str, f: &Fields) -> Option<Ev> {
        let who = (f.pid, f.tid);
        let peer = (f.i32("peer_pid"), f.i32("peer_tid"));
        Some(match (target, f.what.as_str()) {
            ("qnx::state", "state") => Ev::State {
                who,
                state: f.str("state").unwrap_or("?").to_string(),
            },
            ("qnx::msg", "send") => Ev::Send {
                who,
                peer_pid: peer.0,
                exchange: f.u64("exchange"),
                bytes: f.u64("bytes"),
                msg_type: f.int("msg_type").map_or(-1, |t| t as i64),
            },
            ("qnx::msg", "receive") => Ev::Receive {
                who,
                peer,
                exchange: f.u64("exchange"),
                bytes: f.u64("bytes"),
            },
            ("qnx::msg", "reply") => Ev::Reply {
                who,
                peer,
                exchange: f.u64("exchange"),
                status: f.i64("status"),
                error: f.i64("error"),
                by_kernel: f.str("by") == Some(kernel_sim::trace::by::KERNEL),
            },
            ("qnx::msg", "withdrawn") => Ev::Withdrawn {
                who,
                peer_pid: peer.0,
                exchange: f.u64("exchange"),
                bytes: f.u64("bytes"),
                error: f.i64("error"),
                why: f.str("why").unwrap_or("").to_string(),
            },
            ("qnx::pulse", "dropped") => Ev::PulseDropped {
                code: f.i64("code"),
                pulse: f.u64("pulse"),
                why: f.str("why").unwrap_or("").to_string(),
            },
            ("qnx::call", "exit") => {
                // Only a receive that failed: its blocked span ends with no arrow, and the
                // chart says why.
                let call = f.str("call")?;
                let result = f.i64("result");
                if !call.starts_with("MsgReceive") || result >= 0 {
                    return None;
                }
                Ev::ReceiveFailed {
                    who,
                    call: call.to_string(),
                    error: result.saturating_neg(),
                }
            }
            ("qnx::pulse", "queued") => Ev::PulseQueued {
                who,
                code: f.i64("code"),
                pulse: f.u64("pulse"),
            },
            ("qnx::pulse", "received") => Ev::PulseReceived {
                who,
                code: f.i64("code"),
                value: f.i64("value"),
                pulse: f.u64("pulse"),
            },
            ("qnx::async", "trigger") => Ev::Trigger {
                who,
                messages: f.u64("messages"),
                batch: f.u64("batch"),
            },
            ("qnx::async", "get") => Ev::Get {
                who,
                messages: f.u64("messages"),
                batch: f.u64("batch"),
            },
            _ => return None,
        })
    }
}

/// What the chart looks like.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// At most this many rows (arrows and queue markers); the events after them are counted
    /// under the chart (`… 12 more events`). `None`: no cap.
    pub max_rows: Option<usize>,
    /// A title over the chart.
    pub title: Option<String>,
}

/// The events recorded so far, shared by the layer and its guard.
#[derive(Debug, Default)]
struct Recording {
    events: Vec<Ev>,
    /// The processes' names: given ([`SeqChartLayer::name_process`]) or from their
    /// `qnx::process` events (their programs').
    names: BTreeMap<i32, String>,
    /// Set when the chart is written: later events are not recorded.
    closed: bool,
    /// With a row cap, the events other than state changes kept at most: enough to fill the
    /// rows (each makes a row, or is a queued send folded into the next one). Past it they are
    /// only counted, and a thread's state changes only its latest kept, so that a long run
    /// keeps a bounded recording. `None`: everything is kept.
    keep: Option<usize>,
    /// Events other than state changes kept.
    kept: usize,
    /// Where the events past `keep` begin in `events` (their state changes).
    late: usize,
    /// Rows past `keep`, drawn as "more events": the events other than state changes, less
    /// the queued ones drawn at their completion (-1: the last kept was, and is counted by the
    /// drawing as a row).
    dropped: isize,
    /// The last queued event (past `keep`, or the last kept), until the next row event.
    pending: Option<Ev>,
    /// Events not kept: past `keep`, or joined to the get before them.
    past: usize,
    /// The last row event if it was a get: its thread, its batch and where it is in `events`
    /// (`None`: past `keep`), so that the next get of that batch by that thread joins its row.
    last_get: Option<(Who, u64, Option<usize>)>,
}

/// Whether `ev` is a queued send, pulse or trigger (drawn at its completion if that comes
/// next).
fn is_queued(ev: &Ev) -> bool {
    matches!(
        ev,
        Ev::Send { .. } | Ev::PulseQueued { .. } | Ev::Trigger { .. }
    )
}

impl Recording {
    fn push(&mut self, ev: Ev) {
        if self.closed {
            return;
        }
        if let Ev::Get {
            who,
            messages,
            batch,
        } = &ev
        {
            if self
                .last_get
                .is_some_and(|(w, b, _)| (w, b) == (*who, *batch))
            {
                // One batch, one row: the kernel reports a get per pass over a connection.
                let at = self.last_get.and_then(|(_, _, at)| at);
                if let Some(Ev::Get { messages: m, .. }) = at.and_then(|i| self.events.get_mut(i)) {
                    *m += messages;
                }
                self.past += 1;
                return;
            }
        }
        let full = self.keep.is_some_and(|k| self.kept >= k);
        if !matches!(ev, Ev::State { .. }) {
            self.last_get = match &ev {
                Ev::Get { who, batch, .. } => {
                    Some((*who, *batch, (!full).then_some(self.events.len())))
                }
                _ => None,
            };
        }
        if !full {
            if !matches!(ev, Ev::State { .. }) {
                self.kept += 1;
                self.pending = is_queued(&ev).then(|| ev.clone());
            }
            self.events.push(ev);
            self.late = self.events.len();
            return;
        }
        match ev {
            Ev::State { who, .. } => {
                // Past the rows every state change is at the last row: the latest counts.
                let late = &mut self.events[self.late..];
                match late
                    .iter_mut()
                    .find(|e| matches!(e, Ev::State { who: w, .. } if *w == who))
                {
                    Some(e) => {
                        *e = ev;
                        self.past += 1;
                    }
                    None => self.events.push(ev),
                }
            }
            ev => {
                self.past += 1;
                self.dropped += 1;
                if self
                    .pending
                    .take()
                    .is_some_and(|q| completes(&q, Some(&ev)))
                {
                    self.dropped -= 1; // drawn at this one
                }
                self.pending = is_queued(&ev).then_some(ev);
            }
        }
    }
}

fn lock(r: &Mutex<Recording>) -> MutexGuard<'_, Recording> {
    // A panic elsewhere while recording leaves a usable recording.
    r.lock().unwrap_or_else(|e| e.into_inner())
}

/// The recorder as a [`tracing_subscriber::Layer`]: records the chart's events into the
/// [`ChartGuard`] made with it ([`layer`], [`memory`]). It never makes a kernel call.
#[derive(Clone, Debug)]
pub struct SeqChartLayer {
    rec: Arc<Mutex<Recording>>,
}

impl SeqChartLayer {
    /// Records an event read from a kernel's trace ring (`kernel_sim::trace::Reader`: the
    /// events of every program of a shared kernel), in the order given.
    pub fn record_decoded(&self, d: &kernel_sim::trace::Decoded) {
        let target = d.kind.target();
        if d.kind == kernel_sim::trace::Kind::Process {
            if let Some((_, name)) = &d.string {
                self.program_named(d.pid, name);
            }
            return;
        }
        if !matches!(
            target,
            "qnx::msg" | "qnx::pulse" | "qnx::async" | "qnx::state" | "qnx::call"
        ) || (d.kind == kernel_sim::trace::Kind::Call && d.what != kernel_sim::trace::what::EXIT)
        {
            return;
        }
        let fields = Fields {
            what: d.what.to_string(),
            pid: d.pid,
            tid: d.tid,
            ints: d
                .ints
                .iter()
                .map(|(n, v)| {
                    let v = if kernel_sim::trace::Decoded::is_unsigned(n) {
                        i128::from(*v as u64)
                    } else {
                        i128::from(*v)
                    };
                    (*n, v)
                })
                .collect(),
            strs: d.string.iter().map(|(n, v)| (*n, v.clone())).collect(),
        };
        if let Some(ev) = Ev::from_fields(target, &fields) {
            lock(&self.rec).push(ev);
        }
    }
}

impl SeqChartLayer {
    /// Names process `pid` on the chart (`echo-server, pid 4611`), whatever its program's
    /// name.
    pub fn name_process(&self, pid: i32, name: impl Into<String>) {
        lock(&self.rec).names.insert(pid, xml_chars(name.into()));
    }

    /// A process's program name, from its `created` event (a name given first wins).
    fn program_named(&self, pid: i32, name: &str) {
        if !name.is_empty() {
            lock(&self.rec)
                .names
                .entry(pid)
                .or_insert_with(|| xml_chars(name.to_string()));
        }
    }
}

/// `name` with the characters XML 1.0 does not allow, even escaped (control characters, which
/// a program's argv[0] may hold, and U+FFFE, U+FFFF), as U+FFFD.
fn xml_chars(name: String) -> String {
    let bad = |c: char| c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}');
    if name.chars().any(bad) {
        name.chars()
            .map(|c| if bad(c) { '\u{fffd}' } else { c })
            .collect()
    } else {
        name
    }
}

impl<S: Subscriber> Layer<S> for SeqChartLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let target = event.metadata().target();
        if target == "qnx::process" {
            let f = Fields::of(event);
            if let Some(name) = f.str("name") {
                self.program_named(f.pid, name);
            }
            return;
        }
        if !matches!(
            target,
            "qnx::msg" | "qnx::pulse" | "qnx::async" | "qnx::state" | "qnx::call"
        ) {
            return;
        }
        let Some(ev) = Ev::from_fields(target, &Fields::of(event)) else {
            return;
        };
        lock(&self.rec).push(ev);
    }
}

/// The recording of a chart: writes it to its file when dropped or [finished](Self::finish).
#[derive(Debug)]
pub struct ChartGuard {
    rec: Arc<Mutex<Recording>>,
    options: Options,
    /// Where the chart goes (`None` for [`memory`]); taken when written.
    out: Option<(PathBuf, File)>,
}

impl ChartGuard {
    /// The chart of the events recorded so far, as SVG.
    pub fn svg(&self) -> String {
        let (events, dropped, names) = {
            let r = lock(&self.rec);
            (r.events.clone(), r.dropped, r.names.clone())
        };
        render(&events, dropped, &self.options, &names)
    }

    /// How many events were recorded so far.
    pub fn events(&self) -> usize {
        let r = lock(&self.rec);
        r.events.len() + r.past
    }

    /// Stops recording and writes the chart to its file (nothing for [`memory`]).
    pub fn finish(mut self) -> io::Result<()> {
        self.write()
    }

    fn write(&mut self) -> io::Result<()> {
        let (events, dropped, names) = {
            let mut r = lock(&self.rec);
            r.closed = true;
            (
                std::mem::take(&mut r.events),
                r.dropped,
                std::mem::take(&mut r.names),
            )
        };
        let Some((path, mut file)) = self.out.take() else {
            return Ok(());
        };
        let svg = render(&events, dropped, &self.options, &names);
        // (Emptied now, not when opened: a recorder refused before it recorded leaves a file
        // that was there as it was.)
        file.set_len(0)
            .and_then(|()| file.write_all(svg.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
    }
}

impl Drop for ChartGuard {
    fn drop(&mut self) {
        if self.out.is_some() {
            if let Err(e) = self.write() {
                eprintln!("seqchart: {e}");
            }
        }
    }
}

/// Records a sequence chart of the run into `path` (created now, written when the guard is
/// dropped or finished), installing a subscriber as the global default. Fails if the file
/// cannot be created, or if a global subscriber is already installed (compose [`layer`] with
/// the others then).
pub fn record(path: impl AsRef<Path>) -> io::Result<ChartGuard> {
    record_with(path, Options::default())
}

/// [`record`] with [`Options`].
pub fn record_with(path: impl AsRef<Path>, options: Options) -> io::Result<ChartGuard> {
    let existed = path.as_ref().exists();
    let (layer, mut guard) = layer(path, options)?;
    if let Err(e) =
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
    {
        // Refused: nothing is written, a file that was there is left as it was (it is emptied
        // only when written), and one made just now goes.
        if let Some((path, _)) = guard.out.take() {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
        }
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("cannot record a sequence chart: {e}"),
        ));
    }
    Ok(guard)
}

/// The recorder as a layer to compose into a subscriber of one's own, and the guard that
/// writes its chart into `path` (created now).
pub fn layer(path: impl AsRef<Path>, options: Options) -> io::Result<(SeqChartLayer, ChartGuard)> {
    let path = path.as_ref().to_path_buf();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("creating {}: {e}", path.display())))?;
    let (layer, mut guard) = memory(options);
    guard.out = Some((path, file));
    Ok((layer, guard))
}

/// The recorder with no file: [`ChartGuard::svg`] gives the chart.
pub fn memory(options: Options) -> (SeqChartLayer, ChartGuard) {
    kernel_sim::trace::keep_callsites_live();
    let rec = Arc::new(Mutex::new(Recording {
        keep: options
            .max_rows
            .map(|m| m.saturating_mul(2).saturating_add(2)),
        ..Recording::default()
    }));
    (
        SeqChartLayer { rec: rec.clone() },
        ChartGuard {
            rec,
            options,
            out: None,
        },
    )
}

/// [`memory`]'s recorder installed as the global default subscriber, with `beside` (another
/// recorder's layer, such as a [`crate::timeline::TimelineLayer`]) in the same subscriber if
/// given, so that one run feeds both: for a program without a `tracing_subscriber` of its own
/// (`compare --diagram`). Fails if a global subscriber is already installed.
pub fn record_in_memory<L>(options: Options, beside: Option<L>) -> io::Result<ChartGuard>
where
    L: Layer<tracing_subscriber::layer::Layered<SeqChartLayer, tracing_subscriber::Registry>>
        + Send
        + Sync
        + 'static,
{
    let (layer, guard) = memory(options);
    let subscriber = tracing_subscriber::registry().with(layer).with(beside);
    tracing::subscriber::set_global_default(subscriber).map_err(|e| {
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("cannot record a sequence chart: {e}"),
        )
    })?;
    Ok(guard)
}

/// Whether `next`, the row event after queued event `queued`, is its completion (the queued
/// event is then drawn at it, not as a row of its own).
fn completes(queued: &Ev, next: Option<&Ev>) -> bool {
    match (queued, next) {
        (Ev::Send { exchange: a, .. }, Some(Ev::Receive { exchange: b, .. })) => a == b,
        (Ev::PulseQueued { pulse: a, .. }, Some(Ev::PulseReceived { pulse: b, .. })) => a == b,
        (Ev::Trigger { batch: a, .. }, Some(Ev::Get { batch: b, .. })) => a == b,
        _ => false,
    }
}

// ------------------------------------------------------------------------------- the drawing

/// Horizontal room per lifeline.
const COL: f64 = 160.0;
/// Extra room between processes.
const PROC_GAP: f64 = 24.0;
/// Left margin.
const LEFT: f64 = 20.0;
/// The process boxes' top.
const PROC_TOP: f64 = 44.0;
/// The thread headers' top.
const HEAD_TOP: f64 = 72.0;
/// A thread header's height.
const HEAD_H: f64 = 34.0;
/// The first row's y.
const TOP: f64 = HEAD_TOP + HEAD_H + 30.0;
/// A row's height.
const ROW_H: f64 = 32.0;
/// A state bar's width.
const BAR_W: f64 = 12.0;

/// The blocked states the chart shades: (state, class, colour, legend).
const SHADED: [(&str, &str, &str, &str); 3] = [
    (
        "SEND",
        "send",
        "#f4a261",
        "SEND-blocked (sent, not yet received)",
    ),
    (
        "RECEIVE",
        "receive",
        "#8ecae6",
        "RECEIVE-blocked (waiting for a message)",
    ),
    (
        "REPLY",
        "reply",
        "#e76f51",
        "REPLY-blocked (received, not yet answered)",
    ),
];

/// How an arrow is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Send,
    Reply,
    Pulse,
    Batch,
}

impl Style {
    fn class(self) -> &'static str {
        match self {
            Style::Send => "send",
            Style::Reply => "reply",
            Style::Pulse => "pulse",
            Style::Batch => "batch",
        }
    }

    /// (stroke, width, dash array).
    fn stroke(self) -> (&'static str, f64, &'static str) {
        match self {
            Style::Send => ("#1d3557", 1.6, ""),
            Style::Reply => ("#1d3557", 1.4, "7,4"),
            Style::Pulse => ("#7b2cbf", 1.6, "2,3"),
            Style::Batch => ("#2a9d8f", 3.2, ""),
        }
    }
}

/// One row of the chart.
#[derive(Debug)]
enum Row {
    Arrow {
        from: Who,
        to: Who,
        style: Style,
        label: String,
    },
    /// Something sent that waits in a queue.
    Queued { who: Who, label: String },
    /// Something that ends with no arrow: a message withdrawn from its queue, a pulse dropped,
    /// a receive that failed (a cross on the lifeline, and why).
    Ended { who: Who, mark: Mark, label: String },
}

/// What a [`Row::Ended`] says ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// A message left its queue unreceived: its sender leaves SEND.
    Withdrawn,
    /// A queued pulse was freed unreceived.
    Dropped,
    /// A receive failed: its thread leaves RECEIVE.
    Failed,
}

impl Mark {
    fn class(self) -> &'static str {
        match self {
            Mark::Withdrawn => "withdrawn",
            Mark::Dropped => "dropped",
            Mark::Failed => "failed",
        }
    }
}

/// An errno's name (`ETIMEDOUT`), or `errno N`.
fn errno_name(errno: i64) -> String {
    i32::try_from(errno)
        .ok()
        .and_then(|e| crate::Errno(e).name())
        .map_or_else(|| format!("errno {errno}"), str::to_string)
}

/// An errno as the chart says it: `ETIMEDOUT (timed out)`, `EINTR (interrupted)`, `ESRCH`.
fn errno_text(errno: i64) -> String {
    let name = errno_name(errno);
    match name.as_str() {
        "ETIMEDOUT" => format!("{name} (timed out)"),
        "EINTR" => format!("{name} (interrupted)"),
        "ECANCELED" => format!("{name} (cancelled)"),
        _ => name,
    }
}

/// Why a message left its queue unreceived (a `withdrawn` event's `why`), in words.
fn withdrawn_text(why: &str) -> &'static str {
    use kernel_sim::trace::why as w;
    match why {
        w::TIMEOUT => "timed out",
        w::SIGNAL => "interrupted by a signal",
        w::DETACHED => "its coid was detached",
        w::CANCEL => "its thread was cancelled",
        w::DEATH => "its sender's process died",
        w::CHANNEL => "the channel was destroyed",
        w::FAULT => "a buffer faulted",
        _ => "withdrawn",
    }
}

/// Why a queued pulse was dropped (a `dropped` event's `why`), in words.
fn dropped_text(why: &str) -> &'static str {
    use kernel_sim::trace::why as w;
    match why {
        w::CHANNEL => "the channel was destroyed",
        w::ANSWERED => "its exchange had ended",
        w::FAULT => "the receive buffer faulted",
        _ => "dropped",
    }
}

impl Row {
    /// Whether this row is what puts thread `w` in `state`: a message's receive makes its
    /// client REPLY-blocked and its receiver leave RECEIVE; a reply makes its client leave
    /// REPLY; a pulse or batch makes its receiver leave RECEIVE; a queued send makes its
    /// sender SEND-blocked.
    fn causes(&self, w: Who, state: &str) -> bool {
        match self {
            Row::Arrow {
                from, to, style, ..
            } => match style {
                Style::Send => (*from == w && state == "REPLY") || (*to == w && state != "RECEIVE"),
                Style::Reply => *to == w && state != "REPLY",
                Style::Pulse | Style::Batch => *to == w && state != "RECEIVE",
            },
            Row::Queued { who, .. } => *who == w && state == "SEND",
            Row::Ended { who, mark, .. } => match mark {
                Mark::Withdrawn => *who == w && state != "SEND",
                Mark::Failed => *who == w && state != "RECEIVE",
                Mark::Dropped => false,
            },
        }
    }
}

/// The rows, the state changes (row index they happen at, -1: before the first row) and the
/// events left out by the cap.
struct Plan {
    rows: Vec<Row>,
    states: Vec<(Who, isize, String)>,
    more: usize,
}

/// The kernel's lifeline: pulses the kernel sends, and sends recorded without a sender.
const KERNEL: Who = (0, 0);

fn plan(events: &[Ev], max_rows: Option<usize>) -> Plan {
    // Who sent each exchange, pulse and batch (for arrows whose event does not say).
    let mut senders: HashMap<(u8, u64), Who> = HashMap::new();
    // What each exchange's message is called on its arrow: its I/O type's name when its first
    // bytes are one (`_IO_READ`), else `MsgSend`.
    let mut names: HashMap<u64, &'static str> = HashMap::new();
    for e in events {
        match e {
            Ev::Send {
                who,
                exchange,
                msg_type,
                ..
            } => {
                senders.entry((0, *exchange)).or_insert(*who);
                if let Some(n) = u16::try_from(*msg_type)
                    .ok()
                    .and_then(crate::iomsg::io_message_name)
                {
                    names.insert(*exchange, n);
                }
            }
            Ev::PulseQueued { who, pulse, .. } => {
                senders.entry((1, *pulse)).or_insert(*who);
            }
            Ev::Trigger { who, batch, .. } => {
                senders.entry((2, *batch)).or_insert(*who);
            }
            _ => {}
        }
    }
    let sender = |kind: u8, id: u64| -> Who {
        match senders.get(&(kind, id)) {
            Some(&(pid, tid)) if pid > 0 => (pid, tid),
            _ => KERNEL,
        }
    };
    // The events that make rows, and whether each queue marker is needed (its completion is
    // not the next row event).
    let row_events: Vec<usize> = (0..events.len())
        .filter(|&i| !matches!(events[i], Ev::State { .. }))
        .collect();
    let mut p = Plan {
        rows: Vec::new(),
        states: Vec::new(),
        more: 0,
    };
    let mut next_row = 0usize;
    // The row each event made, and the queued sends drawn only at their receive.
    let mut row_of: Vec<Option<usize>> = vec![None; events.len()];
    let mut folded: Vec<bool> = vec![false; events.len()];
    // The state changes: (event index, thread, state, the last row before it).
    let mut states: Vec<(usize, Who, &str, isize)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let full = max_rows.is_some_and(|m| p.rows.len() >= m);
        let row = match e {
            Ev::State { who, state } => {
                states.push((i, *who, state, p.rows.len() as isize - 1));
                continue;
            }
            Ev::Send { .. } | Ev::PulseQueued { .. } | Ev::Trigger { .. } => {
                next_row += 1;
                let next = row_events.get(next_row).map(|&j| &events[j]);
                if completes(e, next) {
                    folded[i] = true;
                    continue;
                }
                let (who, label) = match e {
                    Ev::Send {
                        who,
                        peer_pid,
                        bytes,
                        exchange,
                        ..
                    } => (
                        *who,
                        format!(
                            "{} {bytes} B to pid {peer_pid} (queued)",
                            names.get(exchange).unwrap_or(&"MsgSend")
                        ),
                    ),
                    Ev::PulseQueued { who, code, .. } => {
                        (*who, format!("pulse {} (queued)", pulse_code(*code)))
                    }
                    Ev::Trigger { who, messages, .. } => {
                        (*who, format!("asyncmsg trigger: {messages} (queued)"))
                    }
                    _ => unreachable!(),
                };
                let who = if who.0 > 0 { who } else { KERNEL };
                Row::Queued { who, label }
            }
            Ev::Receive {
                who,
                peer,
                exchange,
                bytes,
            } => {
                next_row += 1;
                let from = if peer.0 > 0 && peer.1 > 0 {
                    *peer
                } else {
                    sender(0, *exchange)
                };
                Row::Arrow {
                    from,
                    to: *who,
                    style: Style::Send,
                    label: format!("{} {bytes} B", names.get(exchange).unwrap_or(&"MsgSend")),
                }
            }
            Ev::Reply {
                who,
                peer,
                exchange,
                status,
                error,
                by_kernel,
            } => {
                next_row += 1;
                let to = if peer.0 > 0 && peer.1 > 0 {
                    *peer
                } else {
                    sender(0, *exchange)
                };
                // The kernel's end of an exchange (a timeout, a signal, a death) is not the
                // server's answer: drawn from the kernel, saying so.
                let (from, label) = if *by_kernel {
                    (
                        KERNEL,
                        format!("released by the kernel: {}", errno_text(*error)),
                    )
                } else if *error != 0 {
                    (*who, format!("MsgError errno {error}"))
                } else {
                    (*who, format!("MsgReply {status}"))
                };
                Row::Arrow {
                    from,
                    to,
                    style: Style::Reply,
                    label,
                }
            }
            Ev::Withdrawn {
                who,
                peer_pid,
                exchange,
                bytes,
                error,
                why,
            } => {
                next_row += 1;
                let who = if who.0 > 0 {
                    *who
                } else {
                    sender(0, *exchange)
                };
                Row::Ended {
                    who,
                    mark: Mark::Withdrawn,
                    label: format!(
                        "{} {bytes} B to pid {peer_pid} withdrawn, never received: {} ({})",
                        names.get(exchange).unwrap_or(&"MsgSend"),
                        withdrawn_text(why),
                        errno_name(*error)
                    ),
                }
            }
            Ev::PulseDropped { code, pulse, why } => {
                next_row += 1;
                Row::Ended {
                    who: sender(1, *pulse),
                    mark: Mark::Dropped,
                    label: format!(
                        "pulse {} dropped, never received: {}",
                        pulse_code(*code),
                        dropped_text(why)
                    ),
                }
            }
            Ev::ReceiveFailed { who, call, error } => {
                next_row += 1;
                Row::Ended {
                    who: *who,
                    mark: Mark::Failed,
                    label: format!("{call} failed: {}", errno_text(*error)),
                }
            }
            Ev::PulseReceived {
                who,
                code,
                value,
                pulse,
            } => {
                next_row += 1;
                Row::Arrow {
                    from: sender(1, *pulse),
                    to: *who,
                    style: Style::Pulse,
                    label: format!("pulse {}, value {}", pulse_code(*code), pulse_value(*value)),
                }
            }
            Ev::Get {
                who,
                messages,
                batch,
            } => {
                next_row += 1;
                let s = if *messages == 1 { "" } else { "s" };
                Row::Arrow {
                    from: sender(2, *batch),
                    to: *who,
                    style: Style::Batch,
                    label: format!("asyncmsg batch: {messages} message{s}"),
                }
            }
        };
        if full {
            p.more += 1;
        } else {
            row_of[i] = Some(p.rows.len());
            p.rows.push(row);
        }
    }
    // A state change takes effect at the last row before it, or, when the next thing that
    // happens is the row that caused it (the kernel may note a thread's new state before the
    // message that caused it: REPLY-blocked before the receive), at that row.
    let mut next_event: Vec<Option<usize>> = vec![None; events.len() + 1];
    for i in (0..events.len()).rev() {
        next_event[i] = if matches!(events[i], Ev::State { .. }) {
            next_event[i + 1]
        } else {
            Some(i)
        };
    }
    for (i, who, state, before) in states {
        let mut j = next_event[i + 1];
        while let Some(k) = j.filter(|&k| folded[k]) {
            j = next_event[k + 1];
        }
        let at = match j.and_then(|k| row_of[k]) {
            Some(r) if p.rows[r].causes(who, state) => r as isize,
            _ => before,
        };
        if max_rows.is_none_or(|m| at < m as isize) {
            p.states.push((who, at, state.to_string()));
        }
    }
    p
}

/// A pulse code as a label: `code 5`, or the kernel's pulses by name.
fn pulse_code(code: i64) -> String {
    use crate::consts::*;
    let named = [
        (_PULSE_CODE_UNBLOCK, "_PULSE_CODE_UNBLOCK"),
        (_PULSE_CODE_DISCONNECT, "_PULSE_CODE_DISCONNECT"),
        (_PULSE_CODE_THREADDEATH, "_PULSE_CODE_THREADDEATH"),
        (_PULSE_CODE_COIDDEATH, "_PULSE_CODE_COIDDEATH"),
        (crate::select::SI_NOTIFY, "SI_NOTIFY"),
    ];
    match named.iter().find(|(c, _)| i64::from(*c) == code) {
        Some((_, name)) => (*name).to_string(),
        None => format!("code {code}"),
    }
}

/// A pulse's value as a person reads it: small ones in decimal, bit patterns
/// (`_NOTIFY_COND_INPUT`, a timer's cookie) in hex.
fn pulse_value(value: i64) -> String {
    if (-4096..=4096).contains(&value) {
        value.to_string()
    } else {
        format!("{:#x}", value as u32)
    }
}

/// `s` with XML's special characters escaped.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// The y of row `i` (-1: above the first row, where the states a thread had before it start).
fn row_y(i: isize) -> f64 {
    TOP + i as f64 * ROW_H
}

/// The chart of `events` (and `dropped` more past the row cap) as SVG.
fn render(
    events: &[Ev],
    dropped: isize,
    options: &Options,
    names: &BTreeMap<i32, String>,
) -> String {
    let mut p = plan(events, options.max_rows);
    p.more = p.more.saturating_add_signed(dropped);

    // The lifelines, by process.
    let mut procs: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    let mut add = |w: Who| {
        if w.0 > 0 && w.1 > 0 {
            let t = procs.entry(w.0).or_default();
            if !t.contains(&w.1) {
                t.push(w.1);
            }
        }
    };
    let mut kernel_line = false;
    for r in &p.rows {
        match r {
            Row::Arrow { from, to, .. } => {
                add(*from);
                add(*to);
                kernel_line |= *from == KERNEL || *to == KERNEL;
            }
            Row::Queued { who, .. } | Row::Ended { who, .. } => {
                add(*who);
                kernel_line |= *who == KERNEL;
            }
        }
    }
    for (w, _, _) in &p.states {
        add(*w);
    }
    for t in procs.values_mut() {
        t.sort_unstable();
    }
    let mut x_of: HashMap<Who, f64> = HashMap::new();
    let mut x = LEFT + COL / 2.0;
    // (pid, first x, last x) of each process box.
    let mut boxes: Vec<(i32, f64, f64)> = Vec::new();
    if kernel_line {
        x_of.insert(KERNEL, x);
        x += COL + PROC_GAP;
    }
    for (&pid, tids) in &procs {
        let first = x;
        for &tid in tids {
            x_of.insert((pid, tid), x);
            x += COL;
        }
        boxes.push((pid, first, x - COL));
        x += PROC_GAP;
    }
    // The right edge of the last lifeline's column.
    let lines_right = x - PROC_GAP;
    let bottom = row_y(p.rows.len() as isize) - ROW_H / 2.0 + 8.0;
    let more_h = if p.more > 0 { 30.0 } else { 0.0 };
    let legend_top = bottom + more_h + 24.0;
    let legend_w = 640.0;
    // Room on the right for a queue marker's label on the last lifeline.
    let label_room = if p.rows.iter().any(|r| matches!(r, Row::Queued { .. })) {
        200.0
    } else {
        0.0
    };
    // (A cross's label is longer: "MsgSend 3 B to pid 2 withdrawn, never received: ...".)
    let label_room = if p.rows.iter().any(|r| matches!(r, Row::Ended { .. })) {
        480.0
    } else {
        label_room
    };
    let width = (lines_right + label_room).max(LEFT + legend_w) + LEFT;
    let height = legend_top + 4.0 * 22.0 + 10.0;

    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        w,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        w,
        r##"<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker>{}</defs>"##,
        [Style::Send, Style::Reply, Style::Pulse, Style::Batch]
            .iter()
            .map(|st| {
                let (c, _, _) = st.stroke();
                format!(
                    r#"<marker id="head-{}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>"#,
                    st.class()
                )
            })
            .collect::<String>()
    );
    let _ = writeln!(
        w,
        r#"<rect class="background" x="0" y="0" width="{width:.0}" height="{height:.0}" fill="white"/>"#
    );
    let title = options
        .title
        .clone()
        .unwrap_or_else(|| "Message sequence chart (time runs downward, one row per event)".into());
    let _ = writeln!(
        w,
        r#"<text class="title" x="{LEFT}" y="24" font-size="15" font-weight="bold">{}</text>"#,
        esc(&title)
    );

    // Process boxes and thread headers.
    for &(pid, first, last) in &boxes {
        let x0 = first - COL / 2.0 + 6.0;
        let x1 = last + COL / 2.0 - 6.0;
        let _ = writeln!(
            w,
            r##"<rect class="process" data-pid="{pid}" x="{x0:.1}" y="{PROC_TOP}" width="{:.1}" height="{:.1}" rx="6" fill="#f1f3f5" stroke="#868e96"/>"##,
            x1 - x0,
            HEAD_TOP + HEAD_H + 6.0 - PROC_TOP
        );
        let label = match names.get(&pid) {
            Some(name) => format!("{}, pid {pid}", esc(name)),
            None => format!("process pid {pid}"),
        };
        // (A long name in a box of one thread gets a smaller font, to stay inside it.)
        let fits = (x1 - x0) / 8.5;
        let size = if label.chars().count() as f64 > fits {
            r#" font-size="11""#
        } else {
            ""
        };
        let _ = writeln!(
            w,
            r#"<text class="process-label" x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="bold"{size}>{label}</text>"#,
            (x0 + x1) / 2.0,
            PROC_TOP + 18.0
        );
    }
    let mut lines: Vec<(Who, f64)> = x_of.iter().map(|(k, v)| (*k, *v)).collect();
    lines.sort_by(|a, b| a.1.total_cmp(&b.1));
    let line_bottom = bottom.max(TOP);
    for &((pid, tid), lx) in &lines {
        let head = if (pid, tid) == KERNEL {
            "kernel".to_string()
        } else {
            format!("pid {pid} / tid {tid}")
        };
        let _ = writeln!(
            w,
            r##"<rect class="thread-head" data-pid="{pid}" data-tid="{tid}" x="{:.1}" y="{HEAD_TOP}" width="{:.1}" height="{HEAD_H}" rx="4" fill="white" stroke="#495057"/>"##,
            lx - COL / 2.0 + 14.0,
            COL - 28.0
        );
        let _ = writeln!(
            w,
            r#"<text class="thread-label" x="{lx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            HEAD_TOP + HEAD_H / 2.0 + 4.0,
            esc(&head)
        );
        let _ = writeln!(
            w,
            r##"<line class="lifeline" data-pid="{pid}" data-tid="{tid}" x1="{lx:.1}" y1="{:.1}" x2="{lx:.1}" y2="{line_bottom:.1}" stroke="#adb5bd" stroke-width="1.2" stroke-dasharray="4,3"/>"##,
            HEAD_TOP + HEAD_H
        );
    }

    // State bars: each thread's changes, in order; a shaded state lasts to the next change
    // (or the last row).
    let end = row_y(p.rows.len() as isize - 1) + ROW_H / 2.0;
    let mut by_thread: BTreeMap<Who, Vec<(isize, &str)>> = BTreeMap::new();
    for (who, at, st) in &p.states {
        by_thread.entry(*who).or_default().push((*at, st.as_str()));
    }
    for (who, changes) in &by_thread {
        let Some(&lx) = x_of.get(who) else { continue };
        for (k, &(at, st)) in changes.iter().enumerate() {
            let Some(&(_, class, colour, _)) = SHADED.iter().find(|(n, ..)| *n == st) else {
                continue;
            };
            let y0 = row_y(at).max(TOP - ROW_H / 2.0);
            let y1 = changes.get(k + 1).map_or(end, |&(a, _)| row_y(a));
            if y1 <= y0 {
                continue;
            }
            let _ = writeln!(
                w,
                r##"<rect class="state {class}" data-pid="{}" data-tid="{}" x="{:.1}" y="{y0:.1}" width="{BAR_W}" height="{:.1}" fill="{colour}" stroke="#495057" stroke-width="0.6"><title>{st}-blocked</title></rect>"##,
                who.0,
                who.1,
                lx - BAR_W / 2.0,
                y1 - y0
            );
        }
    }

    // Rows.
    for (i, r) in p.rows.iter().enumerate() {
        let y = row_y(i as isize);
        match r {
            Row::Arrow {
                from,
                to,
                style,
                label,
            } => {
                let (Some(&x1), Some(&x2)) = (x_of.get(from), x_of.get(to)) else {
                    continue;
                };
                let (colour, width, dash) = style.stroke();
                let dash = if dash.is_empty() {
                    String::new()
                } else {
                    format!(r#" stroke-dasharray="{dash}""#)
                };
                let class = style.class();
                let data = format!(
                    r#"data-row="{i}" data-from="{}.{}" data-to="{}.{}""#,
                    from.0, from.1, to.0, to.1
                );
                if x1 == x2 {
                    // To itself: a loop to the right.
                    let _ = writeln!(
                        w,
                        r#"<path class="arrow {class}" {data} d="M{x1:.1},{:.1} h40 v12 h-40" fill="none" stroke="{colour}" stroke-width="{width}"{dash} marker-end="url(#head-{class})"/>"#,
                        y - 6.0
                    );
                    let _ = writeln!(
                        w,
                        r#"<text class="arrow-label" x="{:.1}" y="{:.1}">{}</text>"#,
                        x1 + 46.0,
                        y + 4.0,
                        esc(label)
                    );
                } else {
                    // From the edge of one lifeline's bar to the edge of the other's.
                    let dir = if x2 > x1 { 1.0 } else { -1.0 };
                    let (a, b) = (x1 + dir * BAR_W / 2.0, x2 - dir * BAR_W / 2.0);
                    let _ = writeln!(
                        w,
                        r#"<line class="arrow {class}" {data} x1="{a:.1}" y1="{y:.1}" x2="{b:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="{width}"{dash} marker-end="url(#head-{class})"/>"#
                    );
                    let _ = writeln!(
                        w,
                        r#"<text class="arrow-label" x="{:.1}" y="{:.1}" text-anchor="middle" fill="{colour}">{}</text>"#,
                        (x1 + x2) / 2.0,
                        y - 5.0,
                        esc(label)
                    );
                }
            }
            Row::Queued { who, label } => {
                let Some(&lx) = x_of.get(who) else { continue };
                let _ = writeln!(
                    w,
                    r##"<circle class="queued" data-row="{i}" data-pid="{}" data-tid="{}" cx="{lx:.1}" cy="{y:.1}" r="4" fill="white" stroke="#1d3557" stroke-width="1.4"/>"##,
                    who.0, who.1
                );
                let _ = writeln!(
                    w,
                    r##"<text class="queued-label" x="{:.1}" y="{:.1}" fill="#495057" font-style="italic">{}</text>"##,
                    lx + 10.0,
                    y + 4.0,
                    esc(label)
                );
            }
            Row::Ended { .. } => {} // (drawn below)
        }
    }
    // Crosses: what ended with no arrow.
    for (i, r) in p.rows.iter().enumerate() {
        let Row::Ended { who, mark, label } = r else {
            continue;
        };
        let Some(&lx) = x_of.get(who) else { continue };
        let y = row_y(i as isize);
        let class = mark.class();
        let _ = writeln!(
            w,
            r##"<path class="ended {class}" data-row="{i}" data-pid="{}" data-tid="{}" d="M{:.1},{:.1} l10,10 M{:.1},{:.1} l-10,10" stroke="#c1121f" stroke-width="2.2" fill="none"/>"##,
            who.0,
            who.1,
            lx - 5.0,
            y - 5.0,
            lx + 5.0,
            y - 5.0
        );
        let _ = writeln!(
            w,
            r##"<text class="ended-label {class}" x="{:.1}" y="{:.1}" fill="#c1121f" font-style="italic">{}</text>"##,
            lx + 10.0,
            y + 4.0,
            esc(label)
        );
    }
    if p.more > 0 {
        let s = if p.more == 1 { "" } else { "s" };
        let _ = writeln!(
            w,
            r##"<text class="more" x="{LEFT}" y="{:.1}" fill="#495057" font-style="italic">… {} more event{s}</text>"##,
            bottom + 20.0,
            p.more
        );
    }

    // The legend.
    let _ = writeln!(w, r#"<g class="legend">"#);
    let _ = writeln!(
        w,
        r##"<rect class="legend-box" x="{:.1}" y="{:.1}" width="{legend_w}" height="{:.1}" fill="#f8f9fa" stroke="#ced4da"/>"##,
        LEFT - 6.0,
        legend_top - 18.0,
        4.0 * 22.0 + 4.0
    );
    for (k, (state, class, colour, text)) in SHADED.iter().enumerate() {
        let y = legend_top + k as f64 * 22.0;
        let _ = writeln!(
            w,
            r##"<rect class="legend-state {class}" x="{LEFT}" y="{:.1}" width="{BAR_W}" height="16" fill="{colour}" stroke="#495057" stroke-width="0.6"><title>{state}</title></rect>"##,
            y - 12.0
        );
        let _ = writeln!(
            w,
            r#"<text x="{:.1}" y="{y:.1}">{}</text>"#,
            LEFT + BAR_W + 8.0,
            esc(text)
        );
    }
    if p.rows.iter().any(|r| matches!(r, Row::Ended { .. })) {
        // (The first column's fourth line, under the states.)
        let y = legend_top + 3.0 * 22.0;
        let _ = writeln!(
            w,
            r##"<path class="legend-ended" d="M{:.1},{:.1} l10,10 M{:.1},{:.1} l-10,10" stroke="#c1121f" stroke-width="2.2" fill="none"/>"##,
            LEFT + 1.0,
            y - 9.0,
            LEFT + 11.0,
            y - 9.0
        );
        let _ = writeln!(
            w,
            r#"<text x="{:.1}" y="{y:.1}">withdrawn, dropped or failed: never received</text>"#,
            LEFT + BAR_W + 8.0
        );
    }
    let arrows = [
        (Style::Send, "message (at the receive)"),
        (Style::Reply, "reply"),
        (Style::Pulse, "pulse"),
        (Style::Batch, "asyncmsg batch"),
    ];
    let lx = LEFT + 330.0;
    for (k, (style, text)) in arrows.iter().enumerate() {
        let y = legend_top - 4.0 + k as f64 * 22.0;
        let (colour, width, dash) = style.stroke();
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let class = style.class();
        let _ = writeln!(
            w,
            r#"<line class="legend-arrow {class}" x1="{lx:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="{width}"{dash} marker-end="url(#head-{class})"/>"#,
            lx + 60.0
        );
        let _ = writeln!(
            w,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 70.0,
            y + 4.0,
            esc(text)
        );
    }
    let _ = writeln!(w, "</g>");
    let _ = writeln!(w, "</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chart of `events`, pushed as the layer records them.
    fn chart_of(events: &[Ev], max_rows: Option<usize>) -> String {
        let (layer, guard) = memory(Options {
            max_rows,
            title: None,
        });
        for e in events {
            lock(&layer.rec).push(e.clone());
        }
        guard.svg()
    }

    #[test]
    fn gets_of_one_batch_in_a_row_are_one_arrow_with_their_total() {
        let (producer, consumer) = ((3, 1), (2, 1));
        let trigger = |batch| Ev::Trigger {
            who: producer,
            messages: 4,
            batch,
        };
        let get = |messages, batch| Ev::Get {
            who: consumer,
            messages,
            batch,
        };
        // One asyncmsg_get taking its connection in three passes (4 + 2 + 1), then a batch in
        // one; twice over, the second time past a cap of one row.
        let run: Vec<Ev> = [
            trigger(7),
            get(4, 7),
            get(2, 7),
            get(1, 7),
            trigger(8),
            get(4, 8),
        ]
        .iter()
        .chain(&[trigger(9), get(3, 9), get(3, 9), trigger(10), get(4, 10)])
        .cloned()
        .collect();
        let svg = chart_of(&run, None);
        let labels: Vec<&str> = svg
            .match_indices("asyncmsg batch: ")
            .map(|(i, _)| &svg[i..i + svg[i..].find('<').unwrap_or(0)])
            .filter(|l| l.ends_with("messages"))
            .collect();
        assert_eq!(
            labels,
            [
                "asyncmsg batch: 7 messages",
                "asyncmsg batch: 4 messages",
                "asyncmsg batch: 6 messages",
                "asyncmsg batch: 4 messages"
            ]
        );
        assert_eq!(svg.matches(r#"class="arrow batch""#).count(), 4);
        // Capped at one row: the other three are counted, the joined gets past the cap not.
        let capped = chart_of(&run, Some(1));
        assert_eq!(capped.matches(r#"class="arrow batch""#).count(), 1);
        assert!(capped.contains("… 3 more events"), "{capped}");
    }
}
