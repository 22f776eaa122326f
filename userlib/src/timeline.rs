//! A timeline a student can open in Perfetto (<https://ui.perfetto.dev>) or `chrome://tracing`:
//! a [`tracing_subscriber::Layer`] that records the kernel's `qnx::*` trace events
//! ([`kernel_sim::trace`]) and writes them as Chrome trace-event JSON
//! (`{"traceEvents":[...]}`) when its [`TimelineGuard`] is dropped or [finished](TimelineGuard::finish).
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let timeline = userlib::timeline::record("srr.json")?; // the global tracing subscriber
//! // ... run the scenario: every kernel call, state change, message and pulse is recorded ...
//! timeline.name_process(2, "server");
//! timeline.finish()?; // writes srr.json: drop it on ui.perfetto.dev
//! # Ok(()) }
//! ```
//!
//! [`TimelineLayer::new`] gives the layer and its guard instead, for a subscriber of the
//! program's own (next to a `fmt` layer, say); filter it with [`filter`].
//!
//! # What the file shows
//!
//! Each simulated process is a process of the trace, under its simulated pid, named
//! `process 2` (or `process 2 (server)`, with [`TimelineGuard::name_process`]); the kernel's own
//! events (a timer's pulse, pid 0) go to a process named `kernel`. Each simulated thread has
//! **two tracks** in its process, because its kernel calls and its states overlap without
//! nesting (a `MsgSend` begins RUNNING, turns SEND then REPLY, and returns READY):
//!
//! * `thread 1` (or `thread 1 (server)`): its **kernel calls** as slices (`B`/`E`), named by
//!   QNX's name (`MsgSend`), their result in the args (`result`, and `errno` for a negative
//!   one; the exchange, pulse or batch the call took part in as `send`, `receive`, ... objects).
//!   The flow arrows start and end on these slices.
//! * `thread 1 states`: its **states** as spans that tile the track (`B`/`E`, each from one
//!   `qnx::state` event to the next), named by QNX's name (`RUNNING`, `READY`, `SEND`,
//!   `RECEIVE`, `REPLY`, ...) with `peer_pid` and `chid` in the args; and its **instants**:
//!   priority changes (`priority 15 (inherit)`), asyncmsg puts, timer firings.
//!
//! Perfetto colours a slice by its name, so each state has one colour in the whole trace;
//! `chrome://tracing` takes the `cname` each state span carries (RUNNING
//! `thread_state_running`, READY `thread_state_runnable`, SEND `thread_state_iowait`, RECEIVE
//! `thread_state_sleeping`, REPLY `thread_state_uninterruptible`, ...).
//!
//! **Flows** (`s`, `t`, `f` with `bp: "e"`, each bound to the call slice it happens in): an
//! exchange's arrow runs from the `MsgSend` to the `MsgReceive` that took it to the `MsgReply`
//! (or `MsgError`) that answered it (name and category `exchange`; a `reply` the kernel made,
//! a timeout or a death ending the exchange, has `by: "kernel"` in its args); a message
//! withdrawn from its queue unreceived (its sender timed out, was interrupted, ...) has no
//! arrow beyond its `MsgSend`, whose args hold the `withdrawn` event (its `why` and `error`),
//! and an instant on the states track where its SEND span ends (`message withdrawn, never
//! received: timeout (ETIMEDOUT)`); a pulse's from where it was queued to the receive that
//! took it, or to the kernel's `pulse dropped: channel` slice if it was freed unreceived
//! (`pulse`); an asyncmsg batch's from its trigger to
//! the gets that took it (`batch`). The `id` is the event's id in hex (`"0x2a"`: ids use all
//! 64 bits, more than a JavaScript number keeps). An event outside any call (a pulse queued by
//! the kernel or by a teardown) gets a 1 ns slice of its own for the arrow to hold on to.
//!
//! **Priorities**: a counter per thread (`C`, named after the thread, series `priority`) and an
//! instant with the reason on the states track. **Teardown steps**, a process's creation (which
//! also names it, after its program, unless [`TimelineGuard::name_process`] did) and timers of
//! no thread are instants of the process (`s: "p"`).
//!
//! **Several programs**: the events of a kernel shared by several programs are read from its
//! trace ring (`kernel_sim::trace::Reader`) and given to [`TimelineLayer::record_decoded`],
//! which stamps each with the time it happened instead of the time it arrived
//! (`pidin-sim --trace`, the examples' `--trace` with `--processes`).
//!
//! Track ids: Perfetto's JSON importer names a thread by its tid alone and takes a tid equal to
//! the pid for the process's main thread, so the simulated tids (1, 2, ... in every process)
//! cannot be the trace's tids. Each track gets a tid of its own, above every pid, in the order
//! of (pid, tid); the names say which simulated thread it is.
//!
//! Timestamps are microseconds (with the nanoseconds as decimals) since the recording began,
//! taken as events arrive; two events are at least 2 ns apart, so that their order survives
//! importers that truncate to the nanosecond. Spans and calls still open when the recording
//! ends are closed there (their args say `unfinished`). The buffer is bounded
//! ([`DEFAULT_CAPACITY`] events, or [`TimelineLayer::with_capacity`]'s): past it events are
//! dropped, the trace ends where the first one was, and a global instant says how many.
//!
//! The layer is called where the kernel emits, most often under its lock: it only copies the
//! event's fields into its buffer (one mutex); the trace is built when it is written.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use kernel_sim::trace::what;
use kernel_sim::Errno;
use serde_json::{json, Map, Value};
use smallvec::SmallVec;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// How many events a recording keeps by default (about 100 MB at most).
pub const DEFAULT_CAPACITY: usize = 1 << 18;

/// Records the kernel's trace events as the global default subscriber and returns the guard
/// that writes them to `path` when dropped (or [finished](TimelineGuard::finish)). The file is
/// created now, so that a bad path fails here. Fails if a global subscriber is already set.
pub fn record(path: impl AsRef<Path>) -> io::Result<TimelineGuard> {
    record_with_capacity(path, DEFAULT_CAPACITY)
}

/// [`record`], keeping at most `capacity` events.
pub fn record_with_capacity(path: impl AsRef<Path>, capacity: usize) -> io::Result<TimelineGuard> {
    let already = || {
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a global tracing subscriber is already set",
        )
    };
    let existed = path.as_ref().exists();
    let (layer, mut guard) = TimelineLayer::with_capacity(path, capacity)?;
    let subscriber = tracing_subscriber::registry().with(layer.with_filter(filter()));
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        // Refused: nothing is written, a file that was there is left as it was (it is emptied
        // only when written), and one made just now goes.
        if let Some(shared) = guard.shared.take() {
            if !existed {
                let _ = std::fs::remove_file(&shared.path);
            }
        }
        return Err(already());
    }
    Ok(guard)
}

/// The filter a timeline needs: every `qnx::*` target, at every level.
pub fn filter() -> Targets {
    Targets::new().with_target("qnx", tracing::Level::TRACE)
}

/// The layer that records the `qnx::*` events (it ignores every other target).
#[derive(Clone)]
pub struct TimelineLayer {
    shared: Arc<Shared>,
}

impl fmt::Debug for TimelineLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimelineLayer")
            .field("path", &self.shared.path)
            .finish()
    }
}

impl TimelineLayer {
    /// A layer recording into memory and the guard that writes its events to `path` (created
    /// now) when dropped or finished.
    pub fn new(path: impl AsRef<Path>) -> io::Result<(TimelineLayer, TimelineGuard)> {
        Self::with_capacity(path, DEFAULT_CAPACITY)
    }

    /// [`TimelineLayer::new`], keeping at most `capacity` events.
    pub fn with_capacity(
        path: impl AsRef<Path>,
        capacity: usize,
    ) -> io::Result<(TimelineLayer, TimelineGuard)> {
        kernel_sim::trace::keep_callsites_live();
        let path = path.as_ref().to_path_buf();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let shared = Arc::new(Shared {
            start: Instant::now(),
            origin_ns: kernel_sim::trace::monotonic_ns(),
            path,
            state: Mutex::new(State {
                events: Vec::with_capacity(capacity.min(4096)),
                capacity,
                last_ns: None,
                dropped: 0,
                first_drop_ns: None,
                file: Some(file),
                process_names: BTreeMap::new(),
                thread_names: BTreeMap::new(),
            }),
        });
        Ok((
            TimelineLayer {
                shared: Arc::clone(&shared),
            },
            TimelineGuard {
                shared: Some(shared),
            },
        ))
    }
}

impl TimelineLayer {
    /// Records an event read from a kernel's trace ring (`kernel_sim::trace::Reader`: the
    /// events of every program of a shared kernel), at the time it happened. Events are taken
    /// in the order given, which should be the ring's.
    pub fn record_decoded(&self, d: &kernel_sim::trace::Decoded) {
        let shared = &self.shared;
        let Some(kind) = Kind::of(d.kind.target()) else {
            return;
        };
        let mut fields = Fields::new();
        for (name, v) in &d.ints {
            let val = if kernel_sim::trace::Decoded::is_unsigned(name) {
                Val::U(*v as u64)
            } else {
                Val::I(*v)
            };
            fields.push((*name, val));
        }
        if let Some((name, v)) = &d.string {
            fields.push((*name, Val::S(v.as_str().into())));
        }
        let raw = Raw {
            ns: 0,
            kind,
            what: What::of(d.what),
            pid: d.pid,
            tid: d.tid,
            fields,
        };
        // (Before the recording began: at its start. No event is later than now: a record
        // stamped in the future, which only a stray write makes, would push every event after
        // it, each stamped at least 2 ns after the one before, as far.)
        let at = d.ns.saturating_sub(shared.origin_ns).min(shared.now());
        shared.push_at(raw, at);
    }
}

impl<S: Subscriber> Layer<S> for TimelineLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(kind) = Kind::of(event.metadata().target()) else {
            return;
        };
        let mut raw = Raw {
            ns: 0,
            kind,
            what: What::Other,
            pid: 0,
            tid: 0,
            fields: Fields::new(),
        };
        event.record(&mut raw);
        self.shared.push(raw);
    }
}

/// Writes the recording when dropped (errors then go to stderr) or [finished](Self::finish).
pub struct TimelineGuard {
    shared: Option<Arc<Shared>>,
}

impl fmt::Debug for TimelineGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.shared.as_ref().map(|s| s.path.as_path());
        f.debug_struct("TimelineGuard")
            .field("path", &path)
            .finish()
    }
}

/// What [`TimelineGuard::finish`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// The kernel events recorded.
    pub recorded: usize,
    /// The kernel events dropped because the buffer was full.
    pub dropped: u64,
    /// The trace events written (metadata included).
    pub trace_events: usize,
}

impl TimelineGuard {
    /// The file the timeline is written to.
    pub fn path(&self) -> &Path {
        &self
            .shared
            .as_ref()
            .expect("a guard is finished only once")
            .path
    }

    /// Names process `pid` in the trace: `process 2 (name)`. Any time before the file is
    /// written.
    pub fn name_process(&self, pid: i32, name: impl Into<String>) {
        if let Some(shared) = &self.shared {
            shared.lock().process_names.insert(pid, name.into());
        }
    }

    /// Names thread `tid` of `pid` in the trace: `thread 1 (name)`.
    pub fn name_thread(&self, pid: i32, tid: i32, name: impl Into<String>) {
        if let Some(shared) = &self.shared {
            shared.lock().thread_names.insert((pid, tid), name.into());
        }
    }

    /// Stops recording (later events are ignored) and writes the file.
    pub fn finish(mut self) -> io::Result<Written> {
        let shared = self.shared.take().expect("a guard is finished only once");
        shared.write()
    }
}

impl Drop for TimelineGuard {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            if let Err(e) = shared.write() {
                eprintln!("timeline: cannot write {}: {e}", shared.path.display());
            }
        }
    }
}

/// What the layer and its guard share.
struct Shared {
    start: Instant,
    /// `start` on `CLOCK_MONOTONIC` (the clock of the events read from a trace ring).
    origin_ns: u64,
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    events: Vec<Raw>,
    capacity: usize,
    /// The last stamp given (`None` before the first).
    last_ns: Option<u64>,
    dropped: u64,
    first_drop_ns: Option<u64>,
    /// `None` once written: later events are ignored.
    file: Option<File>,
    process_names: BTreeMap<i32, String>,
    thread_names: BTreeMap<(i32, i32), String>,
}

impl State {
    /// A stamp at least 2 ns after the previous one.
    fn stamp(&mut self, now: u64) -> u64 {
        let ns = match self.last_ns {
            Some(last) => now.max(last + 2),
            None => now,
        };
        self.last_ns = Some(ns);
        ns
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn push(&self, raw: Raw) {
        self.push_at(raw, self.now());
    }

    /// Records `raw` as of `now` (nanoseconds since the recording began).
    fn push_at(&self, mut raw: Raw, now: u64) {
        let mut st = self.lock();
        if st.file.is_none() {
            return;
        }
        let ns = st.stamp(now);
        if st.events.len() >= st.capacity {
            st.dropped += 1;
            st.first_drop_ns.get_or_insert(ns);
            return;
        }
        raw.ns = ns;
        st.events.push(raw);
    }

    fn write(&self) -> io::Result<Written> {
        let now = self.now();
        let (file, events, names, dropped, end_ns, capacity) = {
            let mut st = self.lock();
            let Some(file) = st.file.take() else {
                return Err(io::Error::other("the timeline was already written"));
            };
            let end = st.stamp(now);
            let end_ns = st.first_drop_ns.unwrap_or(end);
            let names = Names {
                processes: std::mem::take(&mut st.process_names),
                threads: std::mem::take(&mut st.thread_names),
            };
            (
                file,
                std::mem::take(&mut st.events),
                names,
                st.dropped,
                end_ns,
                st.capacity,
            )
        };
        let trace = build(&events, &names, end_ns, dropped, capacity);
        // (Emptied now, not when opened: a recorder refused before it recorded leaves a file
        // that was there as it was.)
        file.set_len(0)?;
        let mut out = BufWriter::new(file);
        out.write_all(b"{\"traceEvents\":[\n")?;
        for (i, ev) in trace.iter().enumerate() {
            if i > 0 {
                out.write_all(b",\n")?;
            }
            serde_json::to_writer(&mut out, ev)?;
        }
        out.write_all(b"\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":")?;
        let other = json!({
            "generator": "qnx-sim userlib::timeline",
            "events_recorded": events.len(),
            "events_dropped": dropped,
        });
        serde_json::to_writer(&mut out, &other)?;
        out.write_all(b"}\n")?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(Written {
            path: self.path.clone(),
            recorded: events.len(),
            dropped,
            trace_events: trace.len(),
        })
    }
}

/// The kind of event, from its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Call,
    State,
    Prio,
    Msg,
    Pulse,
    Async,
    Timer,
    Teardown,
    Process,
    Intr,
}

impl Kind {
    fn of(target: &str) -> Option<Kind> {
        Some(match target.strip_prefix("qnx::")? {
            "call" => Kind::Call,
            "state" => Kind::State,
            "prio" => Kind::Prio,
            "msg" => Kind::Msg,
            "pulse" => Kind::Pulse,
            "async" => Kind::Async,
            "timer" => Kind::Timer,
            "teardown" => Kind::Teardown,
            "process" => Kind::Process,
            "intr" => Kind::Intr,
            _ => return None,
        })
    }
}

/// An event's `what`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum What {
    Enter,
    Exit,
    State,
    Prio,
    Send,
    Receive,
    Reply,
    Withdrawn,
    Queued,
    Received,
    Dropped,
    Put,
    Trigger,
    Get,
    Fired,
    Teardown,
    Created,
    Other,
}

impl What {
    fn of(s: &str) -> What {
        match s {
            what::ENTER => What::Enter,
            what::EXIT => What::Exit,
            what::STATE => What::State,
            what::PRIO => What::Prio,
            what::SEND => What::Send,
            what::RECEIVE => What::Receive,
            what::REPLY => What::Reply,
            what::WITHDRAWN => What::Withdrawn,
            what::QUEUED => What::Queued,
            what::RECEIVED => What::Received,
            what::DROPPED => What::Dropped,
            what::PUT => What::Put,
            what::TRIGGER => What::Trigger,
            what::GET => What::Get,
            what::FIRED => What::Fired,
            what::TEARDOWN => What::Teardown,
            what::CREATED => What::Created,
            _ => What::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            What::Enter => what::ENTER,
            What::Exit => what::EXIT,
            What::State => what::STATE,
            What::Prio => what::PRIO,
            What::Send => what::SEND,
            What::Receive => what::RECEIVE,
            What::Reply => what::REPLY,
            What::Withdrawn => what::WITHDRAWN,
            What::Queued => what::QUEUED,
            What::Received => what::RECEIVED,
            What::Dropped => what::DROPPED,
            What::Put => what::PUT,
            What::Trigger => what::TRIGGER,
            What::Get => what::GET,
            What::Fired => what::FIRED,
            What::Teardown => what::TEARDOWN,
            What::Created => what::CREATED,
            What::Other => "event",
        }
    }
}

/// A field's value.
#[derive(Clone, Debug)]
enum Val {
    I(i64),
    U(u64),
    S(Box<str>),
    B(bool),
    F(f64),
}

type Fields = SmallVec<[(&'static str, Val); 8]>;

/// One recorded event: its stamp and its fields.
#[derive(Debug)]
struct Raw {
    ns: u64,
    kind: Kind,
    what: What,
    pid: i32,
    tid: i32,
    fields: Fields,
}

impl Visit for Raw {
    fn record_i64(&mut self, field: &Field, value: i64) {
        match field.name() {
            "pid" => self.pid = i32::try_from(value).unwrap_or(-1),
            "tid" => self.tid = i32::try_from(value).unwrap_or(-1),
            name => self.fields.push((name, Val::I(value))),
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) if matches!(field.name(), "pid" | "tid") => self.record_i64(field, v),
            _ => self.fields.push((field.name(), Val::U(value))),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.push((field.name(), Val::B(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields.push((field.name(), Val::F(value)));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "what" => self.what = What::of(value),
            name => self.fields.push((name, Val::S(value.into()))),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() != "message" {
            self.fields
                .push((field.name(), Val::S(format!("{value:?}").into())));
        }
    }
}

impl Raw {
    fn get(&self, name: &str) -> Option<&Val> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Val::I(v) => Some(*v),
            Val::U(v) => i64::try_from(*v).ok(),
            _ => None,
        }
    }

    fn id(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            Val::U(v) => Some(*v),
            Val::I(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    fn str(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Val::S(s) => Some(s),
            _ => None,
        }
    }

    /// The fields as trace args; ids (`exchange`, `pulse`, `batch`) in hex as the flows
    /// carry them.
    fn args(&self) -> Map<String, Value> {
        let mut args = Map::new();
        for (name, val) in &self.fields {
            let v = match (val, FlowKind::of_field(name)) {
                (Val::U(v), Some(_)) => Value::String(hex(*v)),
                (Val::I(v), Some(_)) => Value::String(hex(*v as u64)),
                (Val::I(v), None) => json!(v),
                (Val::U(v), None) => json!(v),
                (Val::S(s), _) => json!(s),
                (Val::B(b), _) => json!(b),
                (Val::F(f), _) => json!(f),
            };
            args.insert((*name).to_string(), v);
        }
        args
    }

    /// The flow this event is a point of, if any.
    fn flow(&self) -> Option<(FlowKind, u64)> {
        let kind = match (self.kind, self.what) {
            (Kind::Msg, What::Send | What::Receive | What::Reply) => FlowKind::Exchange,
            (Kind::Pulse, What::Queued | What::Received | What::Dropped) => FlowKind::Pulse,
            (Kind::Async, What::Trigger | What::Get) => FlowKind::Batch,
            _ => return None,
        };
        Some((kind, self.id(kind.name())?))
    }
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum FlowKind {
    Exchange,
    Pulse,
    Batch,
}

impl FlowKind {
    fn name(self) -> &'static str {
        match self {
            FlowKind::Exchange => "exchange",
            FlowKind::Pulse => "pulse",
            FlowKind::Batch => "batch",
        }
    }

    fn of_field(name: &str) -> Option<FlowKind> {
        match name {
            "exchange" => Some(FlowKind::Exchange),
            "pulse" => Some(FlowKind::Pulse),
            "batch" => Some(FlowKind::Batch),
            _ => None,
        }
    }
}

/// The names given through the guard.
struct Names {
    processes: BTreeMap<i32, String>,
    threads: BTreeMap<(i32, i32), String>,
}

/// The colour `chrome://tracing` gives a state (Perfetto colours by name).
fn state_colour(state: &str) -> &'static str {
    match state {
        "RUNNING" => "thread_state_running",
        "READY" => "thread_state_runnable",
        "SEND" => "thread_state_iowait",
        "RECEIVE" => "thread_state_sleeping",
        "REPLY" => "thread_state_uninterruptible",
        "STOPPED" | "DEAD" => "black",
        "NANOSLEEP" | "SIGSUSPEND" | "SIGWAITINFO" => "grey",
        "CONDVAR" | "MUTEX" | "SEM" | "JOIN" | "INTR" => "yellow",
        _ => "thread_state_unknown",
    }
}

/// A thread's key: its simulated pid and tid (pid 0: the kernel, tid 0).
type ThreadKey = (i32, i32);

/// A simulated thread's two tracks and what is open on them.
struct Track {
    pid: u32,
    calls_tid: u32,
    states_tid: u32,
    label: String,
    open_calls: Vec<OpenCall>,
    open_state: Option<String>,
}

struct OpenCall {
    name: String,
    /// What happened inside it (exchanges, pulses, batches), for the `E`'s args.
    inside: Map<String, Value>,
}

/// The trace events of a recording, metadata first, the rest in time order.
fn build(events: &[Raw], names: &Names, end_ns: u64, dropped: u64, capacity: usize) -> Vec<Value> {
    // Processes and threads seen; the kernel (pid 0) becomes a process of its own.
    let mut pids = BTreeSet::new();
    let mut threads = BTreeSet::new();
    // The names the processes' `created` events give (a name given by the program wins).
    let mut created: BTreeMap<i32, &str> = BTreeMap::new();
    for ev in events {
        if ev.kind == Kind::Process {
            if let Some(n) = ev.str("name").filter(|n| !n.is_empty()) {
                created.insert(ev.pid, n);
            }
        }
        pids.insert(ev.pid.max(0));
        if ev.pid <= 0 {
            threads.insert((0, 0));
        } else if ev.tid > 0 {
            threads.insert((ev.pid, ev.tid));
        }
    }
    let max_pid = pids.iter().copied().max().unwrap_or(0).max(0) as u32;
    let kernel_pid = max_pid + 1;
    let trace_pid = |pid: i32| if pid <= 0 { kernel_pid } else { pid as u32 };
    let base = (kernel_pid / 1000 + 1) * 1000;

    let mut meta = Vec::new();
    for &pid in &pids {
        let given = names.processes.get(&pid).map(String::as_str);
        let name = match (pid, given.or_else(|| created.get(&pid).copied())) {
            (0, _) => "kernel".to_string(),
            (_, Some(n)) => format!("process {pid} ({n})"),
            (_, None) => format!("process {pid}"),
        };
        let tp = trace_pid(pid);
        meta.push(
            json!({"name": "process_name", "ph": "M", "pid": tp, "tid": tp,
            "args": {"name": name}}),
        );
        meta.push(
            json!({"name": "process_sort_index", "ph": "M", "pid": tp, "tid": tp,
            "args": {"sort_index": tp}}),
        );
    }
    let mut tracks: HashMap<ThreadKey, Track> = HashMap::new();
    for (i, &(pid, tid)) in threads.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX / 2);
        let label = match (pid, names.threads.get(&(pid, tid))) {
            (0, _) => "kernel".to_string(),
            (_, Some(n)) => format!("thread {tid} ({n})"),
            (_, None) => format!("thread {tid}"),
        };
        let track = Track {
            pid: trace_pid(pid),
            calls_tid: base + 2 * i,
            states_tid: base + 2 * i + 1,
            label,
            open_calls: Vec::new(),
            open_state: None,
        };
        for (tid, name) in [
            (track.calls_tid, track.label.clone()),
            (track.states_tid, format!("{} states", track.label)),
        ] {
            meta.push(
                json!({"name": "thread_name", "ph": "M", "pid": track.pid, "tid": tid,
                "args": {"name": name}}),
            );
            meta.push(
                json!({"name": "thread_sort_index", "ph": "M", "pid": track.pid,
                "tid": tid, "args": {"sort_index": tid - base}}),
            );
        }
        tracks.insert((pid, tid), track);
    }

    // A thread whose first call event is an exit was in that call when the recording began:
    // the call begins with the recording.
    let mut out: Vec<(u64, Value)> = Vec::new();
    let mut first_call: HashMap<ThreadKey, &Raw> = HashMap::new();
    for ev in events
        .iter()
        .filter(|ev| ev.kind == Kind::Call && ev.pid > 0)
    {
        first_call.entry((ev.pid, ev.tid)).or_insert(ev);
    }
    let mut pending: Vec<(&ThreadKey, &&Raw)> = first_call.iter().collect();
    pending.sort_unstable_by_key(|(key, _)| **key);
    for (key, ev) in pending {
        let Some(track) = tracks.get_mut(key).filter(|_| ev.what == What::Exit) else {
            continue;
        };
        let name = ev.str("call").unwrap_or("call").to_string();
        out.push((
            0,
            json!({"name": name, "cat": "call", "ph": "B", "ts": 0.0,
            "pid": track.pid, "tid": track.calls_tid, "cname": "generic_work",
            "args": {"entered before the recording": true}}),
        ));
        track.open_calls.push(OpenCall {
            name,
            inside: Map::new(),
        });
    }

    // Each flow's points, in order: the first starts it, the last ends it.
    let mut flows: HashMap<(FlowKind, u64), Vec<usize>> = HashMap::new();
    for (i, ev) in events.iter().enumerate() {
        if let Some(key) = ev.flow() {
            flows.entry(key).or_default().push(i);
        }
    }
    let mut phase: HashMap<usize, &'static str> = HashMap::new();
    for points in flows.values().filter(|p| p.len() >= 2) {
        for (n, &i) in points.iter().enumerate() {
            let ph = match n {
                0 => "s",
                n if n + 1 == points.len() => "f",
                _ => "t",
            };
            phase.insert(i, ph);
        }
    }

    // `out` holds (ns, event), sorted by time at the end (stably: the order of writing breaks
    // ties).
    let ts = |ns: u64| json!(ns as f64 / 1000.0);
    for (i, ev) in events.iter().enumerate() {
        let key = if ev.pid <= 0 {
            (0, 0)
        } else {
            (ev.pid, ev.tid)
        };
        let ns = ev.ns;
        match (ev.kind, ev.what) {
            (Kind::Process, _) => {
                let name = ev.str("name").unwrap_or("");
                out.push((
                    ns,
                    json!({"name": format!("process created: {name}"), "cat": "process",
                    "ph": "i", "s": "p", "ts": ts(ns), "pid": trace_pid(ev.pid),
                    "tid": trace_pid(ev.pid), "args": ev.args()}),
                ));
                continue;
            }
            (Kind::Teardown, _) => {
                let step = ev.str("step").unwrap_or("?");
                out.push((
                    ns,
                    json!({"name": format!("teardown: {step}"), "cat": "teardown",
                    "ph": "i", "s": "p", "ts": ts(ns), "pid": trace_pid(ev.pid),
                    "tid": trace_pid(ev.pid), "args": ev.args()}),
                ));
                continue;
            }
            (Kind::Intr, _) => {
                // The hardware's: a global instant, above every process's track.
                let level = ev.int("level").unwrap_or(-1);
                let n = ev.int("delivered").unwrap_or(0);
                let name = if n == 0 {
                    format!("interrupt {level} raised (not delivered now)")
                } else {
                    format!("interrupt {level} raised (to {n} attachment(s))")
                };
                out.push((
                    ns,
                    json!({"name": name, "cat": "interrupt", "ph": "i", "s": "g",
                    "ts": ts(ns), "pid": 0, "tid": 0, "args": ev.args()}),
                ));
                continue;
            }
            (Kind::Timer, _) if key.1 == 0 && key.0 != 0 => {
                let kind = ev.str("kind").unwrap_or("timer");
                out.push((
                    ns,
                    json!({"name": format!("{kind} fired"), "cat": "timer",
                    "ph": "i", "s": "p", "ts": ts(ns), "pid": trace_pid(ev.pid),
                    "tid": trace_pid(ev.pid), "args": ev.args()}),
                ));
                continue;
            }
            _ => {}
        }
        let Some(track) = tracks.get_mut(&key) else {
            continue;
        };
        match (ev.kind, ev.what) {
            (Kind::Call, What::Enter) => {
                let name = ev.str("call").unwrap_or("call").to_string();
                // The ids among its arguments (coid, chid, rcvid, ...), shown with the slice.
                let mut args = ev.args();
                args.remove("call");
                // (Side-channel coids and rcvids read better in hex: 0x40000001.)
                for key in ["coid", "rcvid"] {
                    if let Some(v) = args.get(key).and_then(Value::as_i64) {
                        args.insert(key.into(), json!(format!("{v:#x}")));
                    }
                }
                let mut b = json!({"name": name, "cat": "call", "ph": "B", "ts": ts(ns),
                    "pid": track.pid, "tid": track.calls_tid, "cname": "generic_work"});
                if !args.is_empty() {
                    b["args"] = Value::Object(args);
                }
                out.push((ns, b));
                track.open_calls.push(OpenCall {
                    name,
                    inside: Map::new(),
                });
            }
            (Kind::Call, What::Exit) => {
                let name = ev.str("call").unwrap_or("call");
                let mut args = Map::new();
                if let Some(result) = ev.int("result") {
                    args.insert("result".into(), json!(result));
                    if let Some(errno) = i32::try_from(result)
                        .ok()
                        .filter(|r| *r < 0)
                        .and_then(|r| r.checked_neg())
                        .and_then(|e| Errno(e).name())
                    {
                        args.insert("errno".into(), json!(errno));
                    }
                }
                // An exit of no open call (after a gap in the recording) is left out.
                if let Some(at) = track.open_calls.iter().rposition(|c| c.name == name) {
                    // Calls left open above it (not expected: calls do not nest).
                    while track.open_calls.len() > at + 1 {
                        let c = track.open_calls.pop().expect("above `at`");
                        out.push((ns, end_call(track, c, ns, true)));
                    }
                    let mut c = track.open_calls.pop().expect("at `at`");
                    c.inside.extend(args);
                    out.push((ns, end_call(track, c, ns, false)));
                }
            }
            (Kind::State, _) => {
                let state = ev.str("state").unwrap_or("?").to_string();
                if let Some(prev) = track.open_state.take() {
                    out.push((ns, end_state(track, &prev, ns)));
                }
                let mut args = Map::new();
                args.insert("state".into(), json!(state));
                if let Some(p) = ev.int("peer_pid").filter(|p| *p != 0) {
                    args.insert("peer_pid".into(), json!(p));
                }
                if let Some(c) = ev.int("chid").filter(|c| *c != -1) {
                    args.insert("chid".into(), json!(c));
                }
                out.push((
                    ns,
                    json!({"name": state, "cat": "state", "ph": "B", "ts": ts(ns),
                    "pid": track.pid, "tid": track.states_tid,
                    "cname": state_colour(&state), "args": args}),
                ));
                track.open_state = Some(state);
            }
            (Kind::Prio, _) => {
                let prio = ev.int("prio").unwrap_or(0);
                let why = ev.str("why").unwrap_or("?");
                out.push((
                    ns,
                    json!({"name": track.label, "cat": "priority", "ph": "C",
                    "ts": ts(ns), "pid": track.pid, "tid": track.calls_tid,
                    "args": {"priority": prio}}),
                ));
                out.push((
                    ns,
                    json!({"name": format!("priority {prio} ({why})"),
                    "cat": "priority", "ph": "i", "s": "t", "ts": ts(ns), "pid": track.pid,
                    "tid": track.states_tid, "args": ev.args()}),
                ));
            }
            (Kind::Async, What::Put) | (Kind::Timer, _) | (_, What::Other) => {
                let name = match ev.kind {
                    Kind::Timer => format!("{} fired", ev.str("kind").unwrap_or("timer")),
                    Kind::Async => "asyncmsg put".to_string(),
                    _ => ev.what.name().to_string(),
                };
                out.push((
                    ns,
                    json!({"name": name, "cat": kind_name(ev.kind), "ph": "i",
                    "s": "t", "ts": ts(ns), "pid": track.pid, "tid": track.states_tid,
                    "args": ev.args()}),
                ));
            }
            (Kind::Msg, What::Withdrawn) => {
                // The message left its queue unreceived: said inside the MsgSend (its args)
                // and as an instant on the states track, where its SEND span ends.
                let error = ev.int("error").unwrap_or(0);
                let errno = i32::try_from(error)
                    .ok()
                    .and_then(|e| Errno(e).name())
                    .map_or_else(|| format!("errno {error}"), str::to_string);
                let why = ev.str("why").unwrap_or("?");
                let args = ev.args();
                if let Some(call) = track.open_calls.last_mut() {
                    call.inside
                        .insert(what::WITHDRAWN.into(), Value::Object(args.clone()));
                }
                out.push((
                    ns,
                    json!({"name": format!("message withdrawn, never received: {why} ({errno})"),
                    "cat": "msg", "ph": "i", "s": "t", "ts": ts(ns), "pid": track.pid,
                    "tid": track.states_tid, "args": args}),
                ));
            }
            _ => {
                // A point of an exchange, a pulse or a batch, inside the call it happens in
                // (or a slice of its own).
                let args = ev.args();
                match track.open_calls.last_mut() {
                    Some(call) => {
                        call.inside
                            .insert(ev.what.name().into(), Value::Object(args));
                    }
                    None => {
                        let name = match ev.what {
                            What::Dropped => {
                                format!("pulse dropped: {}", ev.str("why").unwrap_or("?"))
                            }
                            w => w.name().to_string(),
                        };
                        out.push((
                            ns,
                            json!({"name": name, "cat": kind_name(ev.kind),
                            "ph": "X", "ts": ts(ns), "dur": 0.001, "pid": track.pid,
                            "tid": track.calls_tid, "args": args}),
                        ));
                    }
                }
                if let (Some((kind, id)), Some(ph)) = (ev.flow(), phase.get(&i)) {
                    let mut flow = json!({"name": kind.name(), "cat": kind.name(), "ph": ph,
                        "id": hex(id), "ts": ts(ns), "pid": track.pid,
                        "tid": track.calls_tid});
                    if *ph == "f" {
                        flow["bp"] = json!("e");
                    }
                    out.push((ns, flow));
                }
            }
        }
    }

    // Close what is still open where the recording ends.
    let mut keys: Vec<ThreadKey> = tracks.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        let track = tracks.get_mut(&key).expect("a key of tracks");
        while let Some(c) = track.open_calls.pop() {
            out.push((end_ns, end_call(track, c, end_ns, true)));
        }
        if let Some(state) = track.open_state.take() {
            out.push((end_ns, end_state(track, &state, end_ns)));
        }
    }
    if dropped > 0 {
        out.push((
            end_ns,
            json!({"name": format!(
                "dropped {dropped} events: the buffer of {capacity} was full; the trace ends here"),
            "cat": "timeline", "ph": "i", "s": "g", "ts": ts(end_ns), "pid": kernel_pid,
            "tid": kernel_pid}),
        ));
    }
    out.sort_by_key(|(ns, _)| *ns);
    meta.extend(out.into_iter().map(|(_, v)| v));
    meta
}

fn end_call(track: &Track, call: OpenCall, ns: u64, unfinished: bool) -> Value {
    let mut args = call.inside;
    if unfinished {
        args.insert("unfinished".into(), json!(true));
    }
    json!({"name": call.name, "cat": "call", "ph": "E", "ts": ns as f64 / 1000.0,
        "pid": track.pid, "tid": track.calls_tid, "args": args})
}

fn end_state(track: &Track, state: &str, ns: u64) -> Value {
    json!({"name": state, "cat": "state", "ph": "E", "ts": ns as f64 / 1000.0,
        "pid": track.pid, "tid": track.states_tid})
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Call => "call",
        Kind::State => "state",
        Kind::Prio => "priority",
        Kind::Msg => "msg",
        Kind::Pulse => "pulse",
        Kind::Async => "async",
        Kind::Timer => "timer",
        Kind::Teardown => "teardown",
        Kind::Process => "process",
        Kind::Intr => "interrupt",
    }
}
