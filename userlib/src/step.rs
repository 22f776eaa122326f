//! A step mode: the run pauses after each kernel call of the threads watched, shows what the
//! call did, and goes on when the student presses Enter.
//!
//! [`start`] installs it as the global [`tracing`] subscriber, reading Enter from stdin and
//! writing to stdout; the returned [`StepGuard`] stops stepping when dropped:
//!
//! ```no_run
//! # let kernel = userlib::Kernel::new(userlib::Config::default()).unwrap();
//! let _step = userlib::step::start(Some(&kernel))?;
//! // ... the run: every kernel call waits for Enter ...
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`Stepper`] sets it up otherwise (another reader and writer, a chosen set of threads) and
//! gives it as a [`tracing_subscriber::Layer`] ([`Stepper::layer`]) to compose with others.
//!
//! # What it shows
//!
//! At a call's `qnx::call` `enter` event:
//!
//! ```text
//! [3] pid 3 tid 1: MsgSend
//!     before: pid 2 tid 1 RECEIVE (chid 1) | pid 3 tid 1 READY (this thread)
//! ```
//!
//! and at its `exit` event, the result, what the kernel did meanwhile (its `qnx::msg`,
//! `qnx::pulse` and `qnx::async` events on this thread), the states after and who was woken,
//! then it waits for Enter. A message that left its queue unreceived says so and why
//! (`did: pid 3 tid 1's message (3 bytes to pid 2 chid 1) left the send queue unreceived: its
//! timeout expired; MsgSend failed: ETIMEDOUT (errno 260); the server never saw it`), as do a
//! pulse dropped and an exchange the kernel ended (`the kernel released pid 3 tid 1 ...; the
//! server answered nothing`):
//!
//! ```text
//! [5] pid 2 tid 1: MsgReply returned 0
//!     did: replied to pid 3 tid 1 (status 0, 8 bytes)
//!     pid 3 tid 1: REPLY -> READY (woken by this MsgReply)
//!     after: pid 2 tid 1 READY (this thread) | pid 3 tid 1 READY
//!     [Enter: next step, q Enter: run to the end]
//! ```
//!
//! The states are those the `qnx::state` events said (a table per (pid, tid)); given a
//! [`Kernel`], the stepper shows its snapshot's threads instead (priorities included), taken at
//! enter and exit, where the kernel lock is not held. A state change is put down to the call
//! in progress on the OS thread that emitted it (the kernel runs a call on the caller's
//! thread), so "woken by" names the call that woke a thread; changes no call made (a timer's)
//! are "by the kernel".
//!
//! Only one thread is paused at a time: a thread that enters or leaves the kernel while
//! another waits for Enter waits for the same Enter (threads not watched go on). End of input,
//! a read error, or `q`, stops stepping and lets the run finish, as does dropping the
//! [`StepGuard`]; a line that is not `q` (whatever its bytes) is an Enter. A forked child does
//! not step (its parent has the input).
//!
//! Events other than a call's enter and exit may be emitted under the kernel lock: the stepper
//! only notes them (under a lock of its own, held briefly) and never calls the kernel there.
//! The steps are written with that lock released, in the order they were taken: output that
//! blocks (stdout a full pipe) holds up the watched threads, never the others nor the kernel.
//! A thread that died (its `DEAD` state) leaves the table of states.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;

use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;

use crate::seqchart::Fields;
use crate::{Errno, Kernel};

/// One thread: (pid, tid).
type Who = (i32, i32);

/// The state of a thread whose slot was freed.
const DEAD: &str = "DEAD";

/// The states QNX calls blocked (a thread leaving one of them for READY or RUNNING was woken).
const BLOCKED: [&str; 12] = [
    "SEND",
    "RECEIVE",
    "REPLY",
    "SIGSUSPEND",
    "SIGWAITINFO",
    "NANOSLEEP",
    "MUTEX",
    "CONDVAR",
    "JOIN",
    "INTR",
    "SEM",
    "WAITPAGE",
];

/// What the stepper knows of a thread's state.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    state: String,
    peer_pid: i32,
    chid: i32,
}

impl Seen {
    fn text(&self) -> String {
        let mut s = self.state.clone();
        match (self.peer_pid, self.chid) {
            (0, c) if c >= 0 => {
                let _ = write!(s, " (chid {c})");
            }
            (p, c) if p > 0 && c >= 0 => {
                let _ = write!(s, " (pid {p} chid {c})");
            }
            (p, _) if p > 0 => {
                let _ = write!(s, " (pid {p})");
            }
            _ => {}
        }
        s
    }
}

/// One state change, and the call that made it (`None`: no call on the emitting thread).
#[derive(Clone, Debug)]
struct Change {
    who: Who,
    from: String,
    to: String,
    by: Option<(Who, String)>,
}

/// A call in progress on an OS thread.
#[derive(Clone, Debug)]
struct Call {
    who: Who,
    name: String,
    /// The first change of the log it may show.
    start: u64,
    /// What the kernel did on this thread during the call (its msg, pulse, async events).
    did: Vec<String>,
    /// Whether this call is shown.
    shown: bool,
    /// The kernel found this call's timeout expired (a `qnx::timer` `timeout` event): the next
    /// state change made on its OS thread is the timeout's doing, not the call's.
    expiry: bool,
}

#[derive(Debug, Default)]
struct State {
    threads: BTreeMap<Who, Seen>,
    /// The call in progress on each OS thread.
    calls: HashMap<ThreadId, Call>,
    /// The state changes since the oldest call in progress began: `log[0]` is change `base`.
    log: VecDeque<Change>,
    base: u64,
    /// A thread waits for Enter.
    paused: bool,
    /// Steps shown.
    steps: u64,
    /// Keys read and not yet taken by a pause: `true` for `q` or the end of input.
    keys: VecDeque<bool>,
    /// Steps to write, in the order they were taken; written with this lock released
    /// ([`Shared::flush`]). Each thread that adds one then writes what is pending, so there
    /// are at most as many as threads writing.
    pending: VecDeque<String>,
}

impl State {
    fn next_seq(&self) -> u64 {
        self.base + self.log.len() as u64
    }

    /// Forgets thread `who` if it died (its call over: nothing more will show it).
    fn forget_if_dead(&mut self, who: Who) {
        if self.threads.get(&who).is_some_and(|s| s.state == DEAD) {
            self.threads.remove(&who);
        }
    }

    /// Drops the changes no call in progress can show.
    fn trim(&mut self) {
        let keep = self
            .calls
            .values()
            .map(|c| c.start)
            .min()
            .unwrap_or(self.next_seq());
        while self.base < keep && !self.log.is_empty() {
            self.log.pop_front();
            self.base += 1;
        }
        if self.log.is_empty() {
            self.base = keep.max(self.base);
        }
    }
}

/// Which threads the stepper pauses.
#[derive(Clone, Debug)]
enum Watch {
    All,
    Threads(HashSet<Who>),
    Pids(HashSet<i32>),
}

impl Watch {
    fn watches(&self, who: Who) -> bool {
        match self {
            Watch::All => true,
            Watch::Threads(t) => t.contains(&who),
            Watch::Pids(p) => p.contains(&who.0),
        }
    }
}

/// Lock order: `out` before `st`; the kernel lock before `st` (state events are emitted under
/// it); `st` is never held while writing, nor while taking a snapshot.
struct Shared {
    st: Mutex<State>,
    cv: Condvar,
    stopped: AtomicBool,
    /// The input, until the thread reading it starts (at the first pause).
    input: Mutex<Option<Box<dyn BufRead + Send>>>,
    out: Mutex<Box<dyn Write + Send>>,
    /// The kernel whose snapshot the steps show; let go when stepping stops (the layer lives
    /// on in a global subscriber, which is never dropped).
    kernel: Mutex<Option<Kernel>>,
    /// Whether a kernel was given (the steps show its snapshot while stepping).
    snapshots: bool,
    watch: Watch,
    /// The fork generation the stepper was made in: a forked child does not step.
    fork_gen: u64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("stopped", &self.stopped)
            .field("watch", &self.watch)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets a step mode up: where Enter comes from, where the steps go, which threads pause.
pub struct Stepper {
    input: Box<dyn BufRead + Send>,
    out: Box<dyn Write + Send>,
    kernel: Option<Kernel>,
    watch: Watch,
}

impl std::fmt::Debug for Stepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stepper")
            .field("kernel", &self.kernel.is_some())
            .field("watch", &self.watch)
            .finish_non_exhaustive()
    }
}

impl Default for Stepper {
    fn default() -> Self {
        Self::new()
    }
}

impl Stepper {
    /// Every thread, Enter from stdin, steps to stdout, no kernel handle.
    pub fn new() -> Stepper {
        Stepper {
            input: Box::new(io::BufReader::new(io::stdin())),
            out: Box::new(io::stdout()),
            kernel: None,
            watch: Watch::All,
        }
    }

    /// Reads Enter (a line) from `input`.
    pub fn input(mut self, input: impl BufRead + Send + 'static) -> Stepper {
        self.input = Box::new(input);
        self
    }

    /// Writes the steps to `out`.
    pub fn output(mut self, out: impl Write + Send + 'static) -> Stepper {
        self.out = Box::new(out);
        self
    }

    /// Shows `kernel`'s snapshot of the threads at each step (taken at a call's enter and
    /// exit, outside the kernel lock) instead of the states seen in events.
    pub fn kernel(mut self, kernel: &Kernel) -> Stepper {
        self.kernel = Some(kernel.clone());
        self
    }

    /// Pauses only these threads (pid, tid); the others' calls run on (their state changes
    /// are still shown).
    pub fn threads(mut self, threads: impl IntoIterator<Item = (i32, i32)>) -> Stepper {
        self.watch = Watch::Threads(threads.into_iter().collect());
        self
    }

    /// Pauses only the threads of these processes.
    pub fn pids(mut self, pids: impl IntoIterator<Item = i32>) -> Stepper {
        self.watch = Watch::Pids(pids.into_iter().collect());
        self
    }

    /// The stepper as a layer, and the guard that stops it.
    pub fn layer(self) -> (StepLayer, StepGuard) {
        kernel_sim::trace::keep_callsites_live();
        let shared = Arc::new(Shared {
            st: Mutex::new(State::default()),
            cv: Condvar::new(),
            stopped: AtomicBool::new(false),
            input: Mutex::new(Some(self.input)),
            out: Mutex::new(self.out),
            snapshots: self.kernel.is_some(),
            kernel: Mutex::new(self.kernel),
            watch: self.watch,
            fork_gen: kernel_sim::fork::generation(),
        });
        (
            StepLayer {
                shared: shared.clone(),
            },
            StepGuard { shared },
        )
    }

    /// Installs the stepper as the global default subscriber. Fails if one is installed
    /// already (compose [`Stepper::layer`] with the others then).
    pub fn install(self) -> io::Result<StepGuard> {
        let (layer, guard) = self.layer();
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .map_err(|e| {
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("cannot start the step mode: {e}"),
                )
            })?;
        Ok(guard)
    }
}

/// Steps through every thread's calls, Enter from stdin, steps to stdout, with `kernel`'s
/// snapshot if given: [`Stepper::install`] with the defaults.
pub fn start(kernel: Option<&Kernel>) -> io::Result<StepGuard> {
    let mut s = Stepper::new();
    if let Some(k) = kernel {
        s = s.kernel(k);
    }
    s.install()
}

/// Stops stepping when dropped (a paused thread goes on; the run finishes unpaused).
#[derive(Debug)]
#[must_use = "stepping stops when the guard is dropped"]
pub struct StepGuard {
    shared: Arc<Shared>,
}

impl StepGuard {
    /// Steps shown so far.
    pub fn steps(&self) -> u64 {
        lock(&self.shared.st).steps
    }

    /// Whether stepping has stopped (`q`, end of input, or [`StepGuard::stop`]).
    pub fn stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::Acquire)
    }

    /// Stops stepping now.
    pub fn stop(&self) {
        self.shared.stop();
    }
}

impl Drop for StepGuard {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// The stepper as a [`tracing_subscriber::Layer`] ([`Stepper::layer`]).
#[derive(Clone, Debug)]
pub struct StepLayer {
    shared: Arc<Shared>,
}

impl<S: Subscriber> Layer<S> for StepLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if self.shared.stopped.load(Ordering::Acquire) {
            return;
        }
        // In a forked child: the parent's input, its reading thread and the thread that held
        // our lock (if one did) are not here. The child does not step.
        if kernel_sim::fork::generation() != self.shared.fork_gen {
            return;
        }
        let target = event.metadata().target();
        match target {
            "qnx::call" => {
                let f = Fields::of(event);
                match f.what.as_str() {
                    "enter" => self.shared.enter(&f),
                    "exit" => self.shared.exit(&f),
                    _ => {}
                }
            }
            "qnx::state" => self.shared.state(&Fields::of(event)),
            "qnx::timer" => self.shared.timer(&Fields::of(event)),
            "qnx::msg" | "qnx::pulse" | "qnx::async" => {
                self.shared.did(target, &Fields::of(event));
            }
            _ => {}
        }
    }
}

/// A call's name with the fields its enter event has besides `pid`, `tid` and `call`:
/// `MsgSend(coid 0x40000001)`.
fn call_text(f: &Fields) -> String {
    let name = f.str("call").unwrap_or("?");
    let mut args: Vec<String> = Vec::new();
    for (n, v) in &f.ints {
        if n.contains("coid") && *v >= 0x4000_0000 || n.contains("flags") {
            args.push(format!("{n} {v:#x}"));
        } else {
            args.push(format!("{n} {v}"));
        }
    }
    for (n, v) in &f.strs {
        if *n != "call" {
            args.push(format!("{n} {v}"));
        }
    }
    if args.is_empty() {
        name.to_string()
    } else {
        format!("{name}({})", args.join(", "))
    }
}

/// A call's result: `returned 3`, `failed: ESRCH (errno 3)`.
fn result_text(result: i64) -> String {
    if result >= 0 {
        return format!("returned {result}");
    }
    // (Any status may come back: i64::MIN has no negation.)
    let errno = i32::try_from(result.unsigned_abs()).unwrap_or(i32::MAX);
    match Errno(errno).name() {
        Some(name) => format!("failed: {name} (errno {errno})"),
        None => format!("failed: errno {errno}"),
    }
}

/// What a msg, pulse or async event says, from the emitting thread's side.
fn did_text(target: &str, f: &Fields) -> Option<String> {
    let peer = (f.i32("peer_pid"), f.i32("peer_tid"));
    let peer_text = if peer.1 > 0 {
        format!("pid {} tid {}", peer.0, peer.1)
    } else {
        format!("pid {}", peer.0)
    };
    let who = format!("pid {} tid {}", f.pid, f.tid);
    Some(match (target, f.what.as_str()) {
        ("qnx::msg", "send") => format!(
            "{who} sent {} bytes to {peer_text} chid {}",
            f.u64("bytes"),
            f.i32("chid")
        ),
        ("qnx::msg", "receive") => format!(
            "{who} received {} bytes from {peer_text} (rcvid {})",
            f.u64("bytes"),
            f.i64("rcvid")
        ),
        ("qnx::msg", "reply") => {
            let status = f.i64("status");
            let error = f.i64("error");
            if f.str("by") == Some(kernel_sim::trace::by::KERNEL) {
                // Not the server's answer: the kernel released the client.
                format!(
                    "the kernel released {peer_text} from its exchange with {who} (rcvid {}): \
                     {}; the server answered nothing",
                    f.i64("rcvid"),
                    result_text(error.saturating_neg())
                )
            } else if error != 0 {
                format!(
                    "{who} failed {peer_text}'s message: {}",
                    result_text(error.saturating_neg())
                )
            } else {
                format!(
                    "{who} replied to {peer_text} (status {status}, {} bytes)",
                    f.u64("bytes")
                )
            }
        }
        ("qnx::msg", "withdrawn") => {
            use kernel_sim::trace::why as w;
            let why = match f.str("why").unwrap_or("") {
                w::TIMEOUT => "its timeout expired",
                w::SIGNAL => "a signal interrupted it",
                w::DETACHED => "its coid was detached",
                w::CANCEL => "its thread was cancelled",
                w::DEATH => "its process is being torn down",
                w::CHANNEL => "the channel was destroyed",
                w::FAULT => "a buffer faulted as it was taken",
                _ => "withdrawn",
            };
            format!(
                "{who}'s message ({} bytes to {peer_text} chid {}) left the send queue \
                 unreceived: {why}; MsgSend {}; the server never saw it",
                f.u64("bytes"),
                f.i32("chid"),
                result_text(f.i64("error").saturating_neg())
            )
        }
        ("qnx::pulse", "dropped") => {
            use kernel_sim::trace::why as w;
            let why = match f.str("why").unwrap_or("") {
                w::CHANNEL => "the channel was destroyed",
                w::ANSWERED => "its exchange ended before the server took it",
                w::FAULT => "the receiver's buffer could not take it",
                _ => "dropped",
            };
            format!(
                "the kernel dropped a pulse (code {}, value {}) queued for pid {} chid {}, \
                 never received: {why}",
                f.i64("code"),
                f.i64("value"),
                peer.0,
                f.i32("chid")
            )
        }
        ("qnx::pulse", "queued") => format!(
            "{} queued a pulse (code {}, value {}) for pid {} chid {}",
            if f.pid == 0 {
                "the kernel".to_string()
            } else {
                who
            },
            f.i64("code"),
            f.i64("value"),
            peer.0,
            f.i32("chid")
        ),
        ("qnx::pulse", "received") => format!(
            "{who} received a pulse (code {}, value {})",
            f.i64("code"),
            f.i64("value")
        ),
        ("qnx::async", "trigger") => format!(
            "{who} handed {} asyncmsg messages to the kernel",
            f.u64("messages")
        ),
        ("qnx::async", "get") => {
            format!("{who} got {} asyncmsg messages", f.u64("messages"))
        }
        _ => return None,
    })
}

const INDENT: &str = "    ";

/// A thread's pause: ends it when dropped (after Enter, or when the thread unwinds).
struct Pause<'a>(&'a Shared);

impl Drop for Pause<'_> {
    fn drop(&mut self) {
        lock(&self.0.st).paused = false;
        self.0.cv.notify_all();
    }
}

/// The state changes the stepper keeps at most (the latest), for the calls in progress.
const LOG_CAP: usize = 4096;

impl Shared {
    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let mut st = lock(&self.st);
        st.paused = false;
        st.calls.clear();
        st.log.clear();
        drop(st);
        self.cv.notify_all();
        // (Dropped here, with no lock of ours held: it may be the kernel's last handle.)
        let kernel = lock(&self.kernel).take();
        drop(kernel);
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Waits while another thread is paused (never under the kernel lock: enter and exit
    /// events are emitted outside it).
    fn wait_turn<'a>(&'a self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        while st.paused && !self.stopped() {
            st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st
    }

    /// The threads' states as one line each: the kernel's snapshot if we have a kernel, else
    /// the table. Called with no lock held (it may take the kernel lock).
    fn kernel_states(&self) -> Option<Vec<(Who, String)>> {
        let k = lock(&self.kernel).clone()?;
        Some(
            k.snapshot()
                .threads
                .iter()
                .map(|t| {
                    (
                        (t.pid, t.tid),
                        format!("{} pri {}/{}", t.state, t.priority, t.base_priority),
                    )
                })
                .collect(),
        )
    }

    fn states_line(label: &str, me: Who, states: &[(Who, String)]) -> String {
        let mut s = format!("{INDENT}{label}:");
        if states.is_empty() {
            s.push_str(" (no thread seen yet)");
        }
        for (i, ((pid, tid), text)) in states.iter().enumerate() {
            let sep = if i == 0 { " " } else { " | " };
            let _ = write!(s, "{sep}pid {pid} tid {tid} {text}");
            if (*pid, *tid) == me {
                s.push_str(" (this thread)");
            }
        }
        s.push('\n');
        s
    }

    fn table_states(st: &State, me: Who) -> Vec<(Who, String)> {
        let mut v: Vec<(Who, String)> = st.threads.iter().map(|(w, s)| (*w, s.text())).collect();
        if !st.threads.contains_key(&me) {
            v.push((me, "RUNNING".into()));
            v.sort();
        }
        v
    }

    /// Writes the pending steps, in order, with `st` released (only the `out` lock held, which
    /// only threads writing take). Called by each thread after it adds a step, so that none is
    /// left pending: one that finds another writing waits for it, then writes what is left.
    fn flush(&self) {
        let mut out = lock(&self.out);
        loop {
            let next = lock(&self.st).pending.pop_front();
            let Some(text) = next else { break };
            let _ = out.write_all(text.as_bytes());
        }
        let _ = out.flush();
    }

    /// Our lock, once no other thread is paused, and (for a thread shown, with a kernel) the
    /// kernel's states taken after that wait. The snapshot is taken with no lock of ours held
    /// (it takes the kernel lock, under which state events take ours).
    fn turn(&self, shown: bool) -> (MutexGuard<'_, State>, Option<Vec<(Who, String)>>) {
        if !shown {
            return (lock(&self.st), None);
        }
        loop {
            let st = self.wait_turn(lock(&self.st));
            if !self.snapshots || self.stopped() {
                return (st, None);
            }
            drop(st);
            let snap = self.kernel_states();
            let st = lock(&self.st);
            if !st.paused || self.stopped() {
                return (st, snap);
            }
        }
    }

    fn enter(&self, f: &Fields) {
        let me = (f.pid, f.tid);
        let shown = self.watch.watches(me);
        let (mut st, snap) = self.turn(shown);
        if self.stopped() {
            return;
        }
        let start = st.next_seq();
        st.calls.insert(
            std::thread::current().id(),
            Call {
                who: me,
                name: f.str("call").unwrap_or("?").to_string(),
                start,
                did: Vec::new(),
                shown,
                expiry: false,
            },
        );
        if !shown {
            return;
        }
        st.steps += 1;
        let mut text = format!(
            "[{}] pid {} tid {}: {}\n",
            st.steps,
            me.0,
            me.1,
            call_text(f)
        );
        let states = snap.unwrap_or_else(|| Self::table_states(&st, me));
        text.push_str(&Self::states_line("before", me, &states));
        // Queued under our lock, so that the steps come out in the order they were taken;
        // written without it.
        st.pending.push_back(text);
        drop(st);
        self.flush();
    }

    fn exit(self: &Arc<Self>, f: &Fields) {
        let me = (f.pid, f.tid);
        let shown = self.watch.watches(me);
        let (mut st, snap) = self.turn(shown);
        if self.stopped() {
            return;
        }
        let call = st.calls.remove(&std::thread::current().id());
        if !shown {
            st.forget_if_dead(me);
            st.trim();
            return;
        }
        let name = call.as_ref().map_or_else(
            || f.str("call").unwrap_or("?").to_string(),
            |c| c.name.clone(),
        );
        st.steps += 1;
        let mut text = format!(
            "[{}] pid {} tid {}: {name} {}\n",
            st.steps,
            me.0,
            me.1,
            result_text(f.i64("result"))
        );
        if let Some(c) = &call {
            for d in &c.did {
                let _ = writeln!(text, "{INDENT}did: {d}");
            }
            let from = usize::try_from(c.start.saturating_sub(st.base)).unwrap_or(usize::MAX);
            for ch in st.log.iter().skip(from) {
                let mine = ch.by.as_ref().is_some_and(|(w, _)| *w == me);
                if ch.who != me && !mine {
                    continue; // another call's doing, to another thread
                }
                let woke = BLOCKED.contains(&ch.from.as_str())
                    && matches!(ch.to.as_str(), "READY" | "RUNNING");
                let cause = match &ch.by {
                    Some((w, n)) if *w == me => {
                        if woke {
                            format!("woken by this {n}")
                        } else {
                            format!("by this {n}")
                        }
                    }
                    Some((w, n)) => {
                        let verb = if woke { "woken by" } else { "by" };
                        format!("{verb} pid {} tid {}'s {n}", w.0, w.1)
                    }
                    None if woke => "woken by the kernel".into(),
                    None => "by the kernel".into(),
                };
                let this = if ch.who == me { " (this thread)" } else { "" };
                let _ = writeln!(
                    text,
                    "{INDENT}pid {} tid {}{this}: {} -> {} ({cause})",
                    ch.who.0, ch.who.1, ch.from, ch.to
                );
            }
        }
        st.trim();
        let states = snap.unwrap_or_else(|| Self::table_states(&st, me));
        // (A thread that died in this call is shown DEAD here, and then forgotten.)
        st.forget_if_dead(me);
        text.push_str(&Self::states_line("after", me, &states));
        let _ = writeln!(text, "{INDENT}[Enter: next step, q Enter: run to the end]");
        st.pending.push_back(text);
        st.paused = true;
        drop(st);
        // Ends the pause however this thread leaves it (output that panics too).
        let pause = Pause(self);

        // Wait for Enter. The input is read by a thread of its own, so that stopping (the
        // guard dropped) lets a paused thread go on even while the read blocks.
        self.start_reader();
        self.flush();
        let mut st = lock(&self.st);
        while st.keys.is_empty() && !self.stopped() {
            st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        let quit = st.keys.pop_front().unwrap_or(false) && !self.stopped();
        if quit {
            st.pending
                .push_back("stepping stopped; the run goes on\n".to_string());
        }
        drop(st);
        if quit {
            // (Stopped while still paused: no other thread's step comes before the message.)
            self.stop();
        }
        drop(pause);
        if quit {
            self.flush();
        }
    }

    /// Starts the thread that reads the input into [`State::keys`], once.
    fn start_reader(self: &Arc<Self>) {
        let Some(mut input) = lock(&self.input).take() else {
            return;
        };
        let shared = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("qnx-step-input".into())
            .spawn(move || loop {
                // (Bytes: a line that is not UTF-8 is an Enter, not a read error.)
                let mut line = Vec::new();
                let quit = match input.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => true,
                    Ok(_) => line.trim_ascii().eq_ignore_ascii_case(b"q"),
                };
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                lock(&shared.st).keys.push_back(quit);
                shared.cv.notify_all();
                if quit || shared.stopped() {
                    return;
                }
            });
        if spawned.is_err() {
            // No thread: no stepping.
            self.stop();
        }
    }

    /// A `qnx::timer` event: `timeout` (a TimerTimeout expiring in the waiting thread's own
    /// kernel entry) marks the call in progress on this OS thread, so that the state change it
    /// makes next is shown as the kernel's.
    fn timer(&self, f: &Fields) {
        if f.str("kind") != Some("timeout") {
            return;
        }
        let mut st = lock(&self.st);
        if let Some(c) = st.calls.get_mut(&std::thread::current().id()) {
            c.expiry = true;
        }
    }

    fn state(&self, f: &Fields) {
        let who = (f.pid, f.tid);
        let seen = Seen {
            state: f.str("state").unwrap_or("?").to_string(),
            peer_pid: f.i32("peer_pid"),
            chid: f
                .int("chid")
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(-1),
        };
        let mut st = lock(&self.st);
        // A thread that died leaves the table, unless it is in a call (one that dies in its own
        // call is shown DEAD at its end, and forgotten then).
        let before = if seen.state == DEAD && !st.calls.values().any(|c| c.who == who) {
            st.threads.remove(&who)
        } else {
            st.threads.insert(who, seen.clone())
        };
        let from = match before {
            Some(s) => s.state,
            // A thread no event named before: one in a call of its own was RUNNING when it
            // entered the kernel (from then on every change is an event); any other has been
            // blocked since before stepping began, in a state no event told.
            None if st.calls.values().any(|c| c.who == who) => "RUNNING".to_string(),
            None => "?".to_string(),
        };
        if st.calls.is_empty() {
            return; // no call could show it
        }
        // (A change that an expired timeout makes, in the waiting thread's own kernel entry, is
        // the kernel's: "woken by the kernel", not by the call that waited.)
        let by = match st.calls.get_mut(&std::thread::current().id()) {
            Some(c) if c.expiry => {
                c.expiry = false;
                None
            }
            Some(c) => Some((c.who, c.name.clone())),
            None => None,
        };
        st.log.push_back(Change {
            who,
            from,
            to: seen.state,
            by,
        });
        // A call in progress for the whole run (a server's MsgReceive) would keep every change
        // from its start: only the latest are kept (such a call shows those).
        if st.log.len() > LOG_CAP {
            st.log.pop_front();
            st.base += 1;
        }
    }

    /// Notes a msg, pulse or async event in the call in progress on this OS thread, and in
    /// that of the thread it is of (a receive the sender's MsgSend made is the receiver's too).
    fn did(&self, target: &str, f: &Fields) {
        let Some(d) = did_text(target, f) else {
            return;
        };
        let mut st = lock(&self.st);
        let me = std::thread::current().id();
        let of = (f.pid, f.tid);
        for (id, call) in st.calls.iter_mut() {
            if call.shown && (*id == me || call.who == of) {
                call.did.push(d.clone());
            }
        }
    }
}
