//! The kernel's trace events, through [`tracing`]: what a student watches, and what the
//! recorders (a Perfetto timeline, a sequence chart, the step mode) are built from. Every event
//! names the simulated pid and tid it concerns; their target says what kind it is, so that
//! `RUST_LOG` filters them as Rust users expect (`RUST_LOG=qnx::msg=trace`, `qnx=debug`, ...).
//!
//! | target | event (`what`) | fields besides `pid`, `tid` |
//! |---|---|---|
//! | `qnx::call` | `enter`, `exit` | `call` (QNX's name: `"MsgSend"`, ...); on `enter` the ids among its arguments ([`CallArgs`]: `coid`, `chid`, `rcvid`, `status`, `err`, `code`, `value`, `flags`, `prio`, `timer`, a target's `pid_arg`, `tid_arg`, `signo`); on `exit` `result` (the value, or minus the errno) |
//! | `qnx::state` | `state` | `state` (`"RUNNING"`, `"READY"`, `"SEND"`, `"RECEIVE"`, `"REPLY"`, `"INTR"`, `"DEAD"`; QNX's names), `peer_pid` (the process it waits on, 0 none), `chid` (-1 none) |
//! | `qnx::prio` | `prio` | `prio`, `base`, `why` (`"inherit"`, `"boost"`, `"restore"`, `"set"`) |
//! | `qnx::msg` | `send`, `receive`, `reply`, `withdrawn` | `exchange` (one message's id, the same in its events: the flow from send to receive to reply, or from send to withdrawn), `peer_pid`, `peer_tid`, `chid`, `rcvid`, `bytes`; on `send` `msg_type` (the message's first two bytes as a `u16`: QNX's convention that a message begins with its type, `_IO_READ` = 0x101 for a resource manager's; -1 for a message shorter than that); on `reply` `status` (MsgReply's status; -1 for an error), `error` (the errno it ended with: MsgError's, or the kernel's; 0 for a MsgReply) and `by` (`"server"`: a MsgReply or MsgError; `"kernel"`: the kernel ended the exchange, the server answered nothing); on `withdrawn` `error` (the errno the MsgSend returns) and `why` ([`why`]) |
//! | `qnx::pulse` | `queued`, `received`, `dropped` | `pulse` (the pulse's id, the same in all three), `peer_pid` (sender / receiver / the channel's owner), `chid`, `code`, `value`; on `dropped` `why` ([`why`]) |
//! | `qnx::async` | `put`, `trigger`, `get` | `coid` (put, trigger), `chid` (get), `messages`, `batch` (a trigger's id, the same in the get that takes it: the flow from the puts to the get) |
//! | `qnx::timer` | `fired` | `timer` (the timer id; -1 for a kernel timeout), `kind` (`"timeout"`, `"timer"`) |
//! | `qnx::intr` | `raised` | `level`, `delivered` (the attachments it went to now; 0: the level was masked, the request latched, or nothing is attached); `pid`, `tid` 0 (the hardware) |
//! | `qnx::teardown` | `teardown` | `step` (`"timers"`, `"interrupts"`, `"channels"`, `"threads"`, `"connections"`, `"asyncmsg"`, `"done"`) |
//! | `qnx::process` | `created` | `name` (its program's name: the last part of a shared kernel's Linux program's `argv[0]`, at most 23 bytes; `""` for a simulated process of one program); `tid` 0 |
//!
//! Each event also goes to the kernel's **trace ring** ([`Ring`], a part of the region) while a
//! recorder holds the ring on ([`Ring::start`]): in a kernel shared by several programs, a
//! `tracing` subscriber sees only its own program's events, and the ring holds every
//! program's, on one clock (`pidin-sim --trace`; module `ring`'s doc has the protocol). The
//! emitting functions take the ring as their first argument ([`Ring::none`] where there is no
//! kernel at hand); the kernel tests [`on`] (a subscriber wants events, or the ring records)
//! before working out an event's fields.
//!
//! Events are emitted where the change happens, most under the kernel lock: a subscriber must
//! not make kernel calls. The `qnx::call` events are the exception: `enter` comes before the
//! call takes the lock and `exit` after it has released it for good, so a subscriber may take
//! a listing there ([`crate::Kernel::snapshot`]: a step mode), though not make a kernel call
//! (EDEADLK): signals wait while a subscriber handles them, as in the kernel, and their
//! handlers run once it is done. With no subscriber (or `TRACE`
//! filtered out) an event costs one load ([`enabled`], which the kernel tests before working
//! out an event's fields). The level is `TRACE` for everything but the `qnx::teardown` events
//! (`DEBUG`).
//!
//! Where they come from, and what the fields hold:
//!
//! * `qnx::call`: `ThreadCtx::call` (kernel/entry.rs), for every call a thread makes (the
//!   library functions that take the lock without a kernel entry, `Kernel::snapshot`,
//!   `process_create`, `thread_attach`, ..., are not calls). Its name is QNX's
//!   (`syscalls::Call::name`): `"MsgReceivePulse"` for a pulse-only receive, `"SchedSet"` for
//!   a priority change, `"ChannelCreateExt"`/`"ConnectAttachExt"` for asyncmsg's, and for the
//!   kernel halves of what QNX's process manager serves the library function's
//!   (`"name_attach"`, `"name_open"`, `"resmgr_attach"`, ...).
//! * `qnx::state`: the thread transitions (objects/thread.rs: `block_send`, `block_receive`,
//!   `block_reply`, `ready`, `set_running`), only on a change, and `"DEAD"` when a thread's
//!   slot is freed. A new thread starts with `"RUNNING"`. SEND and REPLY name the server's
//!   process and the channel; RECEIVE the channel (peer 0).
//! * `qnx::prio`: `Tables::set_prio` when the current priority changes (`"inherit"`: a
//!   receiver takes a message's or pulse's priority; `"boost"`: a sender or pulse queued with
//!   no receiver raises the server's threads; `"restore"`: a receiver that blocks gives the
//!   inherited priority back), and SchedSet (`"set"`, also when only the base changes).
//! * `qnx::msg`: `send` when a MsgSend queues its message or hands it to a waiting receiver
//!   (`peer_tid` that receiver, else 0; `rcvid` 0), `receive` when a receiver takes it,
//!   `reply` when the exchange ends: MsgReply (`bytes` replied), MsgError, or the kernel
//!   (timeout, signal, detach, death, channel destroyed; the event then names the thread that
//!   received the message). `status` is MsgReply's status (what the client's MsgSend returns),
//!   or -1 when the exchange ends with an error; `error` is that errno (MsgError's, `ERESTART`
//!   for a MsgError(ERESTART) that makes it send again, or the kernel's reason), 0 for a
//!   MsgReply. A server's MsgReply to a client that a detach or its death doomed is traced as
//!   the MsgReply it is (the client's own call returns the error).
//!   **`exchange`** is [`flow_id`] of the client thread's slot, the slot's generation and the
//!   thread's kernel entries at the send: a MsgSend is one kernel entry for all the time the
//!   client is SEND- and REPLY-blocked, so the three events compute the same id from the
//!   client thread alone, with nothing stored; a re-send after ERESTART is a new entry, a new
//!   exchange.
//! * `qnx::pulse`: `queued` (`pid`, `tid` the sender: the thread of a MsgSendPulse or
//!   MsgDeliverEvent, 0 and 0 for the kernel's pulses: disconnect, unblock, death, timer and
//!   asyncmsg notifications, a channel's asyncmsg event; `peer_pid` the channel's owner) and
//!   `received` (`peer_pid` 0). **`pulse`** is [`flow_id`] of the pulse object's pool slot,
//!   generation and `sends` (the times it was linked into a queue: a timer's or connection's
//!   reserved pulse keeps its generation from one notification to the next); a pulse handed
//!   straight to a RECEIVE-blocked thread has no pulse object, and its id is the receiver's
//!   slot, generation and kernel entries with the top bit set. A notification merged into a
//!   reserved pulse still queued (a timer's overrun) is not queued again: no event.
//!   `dropped` (`pid`, `tid` 0: the kernel drops it; `peer_pid` the channel's owner) when a
//!   pulse that was queued is never received: its channel was destroyed (`why` `"channel"`),
//!   it was a `_PULSE_CODE_UNBLOCK` whose exchange ended before the server took it
//!   (`"answered"`), or the receiver's buffer could not take it (`"fault"`).
//! * `qnx::async`: `put` from userlib's asyncmsg puts (no kernel entry: `pid`, `tid` of the
//!   putting thread's binding; `messages` 1, `bytes`), `trigger` from MsgSendAsync when the
//!   connection has messages pending (`messages`: how many; an empty trigger starts no batch
//!   and emits nothing), `get` from MsgReceiveAsync once per connection it takes messages from
//!   (`messages` taken from it). **`batch`** is [`flow_id`] of the connection's slot,
//!   generation and triggers with messages (`AsyncConn::batches`): a get names the latest
//!   trigger of the connection (one that takes messages of several triggers names the last).
//! * `qnx::timer`: `fired` with `kind` `"timer"` when the timer service finds a timer due
//!   (`pid` its owner, `tid` the thread its event goes to, `timer` the timer id), `"timeout"`
//!   when a TimerTimeout expires (the thread's own, `timer` -1).
//! * `qnx::intr`: `raised` at each raise of an interrupt level (`Kernel::interrupt_raise`:
//!   a test, a simulated device, `intr-sim`), whoever raised it: the event it delivers shows
//!   as its own events (a pulse queued, a thread leaving INTR).
//! * `qnx::process`: `created` when a process is made (`process_create`, a program joining a
//!   shared kernel), so that a recorder names the processes that come and go while it
//!   records.
//! * `qnx::teardown`: process_destroy's steps, each before it is done, in the order
//!   `"timers"`, `"interrupts"`, `"channels"`, `"threads"`, `"connections"`, `"asyncmsg"`,
//!   then `"done"`.
//!
//! The ids are unique in one kernel (the recorders trace one kernel at a time) until a slot is
//! reused 4096 times or a count passes 2^32.

mod ring;

pub use ring::{monotonic_ns, Decoded, Kind, Reader, Record, Ring, RingHeader, LEASE};

/// Whether an event is wanted now, by a `tracing` subscriber ([`enabled`]) or by a recorder of
/// the kernel's trace ring ([`Ring::recording`]): two loads. The kernel tests it before working
/// out an event's fields.
#[inline(always)]
pub fn on(ring: Ring<'_>) -> bool {
    enabled() || ring.recording()
}

/// Keeps every trace event's callsite live for the subscribers a thread installs for itself
/// (`tracing::subscriber::with_default`, a recorder in a test): called once (more calls do
/// nothing), it registers a dispatcher that lives as long as the program, is interested in
/// every callsite and records nothing. `tracing` caches each callsite's interest for the whole
/// process, worked out by the first thread that reaches it; while at most one dispatcher is
/// registered, from that thread's own subscriber. A kernel thread with no subscriber (a timer
/// service, another test's thread) reaching a callsite first would cache "never", and a
/// recorder installed by another thread would then miss that event for ever. With this
/// dispatcher registered the interest is "sometimes", and each event asks the subscribers of
/// the thread that emits it. The recorders of `userlib` (`timeline`, `seqchart`, `step`) call it
/// when made. It raises no level: with no other subscriber, [`enabled`] stays false. While a
/// subscriber is installed, events are looked at (and found unwanted) by threads without one.
pub fn keep_callsites_live() {
    static PIN: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    PIN.get_or_init(|| tracing::Dispatch::new(Interested));
}

/// The subscriber of [`keep_callsites_live`]: interested in everything, enabling nothing.
struct Interested;

impl tracing::Subscriber for Interested {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        // (Raising nothing: with no other subscriber events stay off, `enabled()` false.)
        Some(tracing::level_filters::LevelFilter::OFF)
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Whether any `TRACE` event may be recorded now: one relaxed load of `tracing`'s global
/// maximum level (off while no subscriber is installed, or while every subscriber filters
/// `TRACE` out). The kernel tests it before working out an event's fields (looking up a
/// thread's pid, a channel's chid), so that with no subscriber an event costs this load.
#[inline(always)]
pub fn enabled() -> bool {
    tracing::level_enabled!(tracing::Level::TRACE)
}

/// A flow id (`exchange`, `pulse`, `batch`) from a pool slot, its generation and a count that
/// is constant over the flow: `index` in the top 20 bits, the generation's low 12 bits below
/// it, the count's low 32 bits at the bottom. Unique in one kernel until a slot is reused 4096
/// times or its count wraps 2^32.
#[inline]
pub fn flow_id(index: u32, gen: u32, count: u64) -> u64 {
    (u64::from(index) & 0xF_FFFF) << 44 | (u64::from(gen) & 0xFFF) << 32 | (count & 0xFFFF_FFFF)
}

/// Held while an event emitted outside the kernel (a call's `enter` and `exit`, a `put`) is
/// handed to the subscribers: a signal that arrives meanwhile has its handler run once the
/// event is handled, as for the events emitted inside the kernel. Run at once, a handler's
/// kernel call would emit its own events into the subscriber it interrupted, which then waits
/// on a lock it holds itself (a recorder's, the step mode's).
struct OutsideEvent(#[allow(dead_code)] crate::signals::Entered);

impl OutsideEvent {
    #[inline]
    fn new() -> OutsideEvent {
        OutsideEvent(crate::signals::Entered::new())
    }
}

/// The `what` of each event, as recorders match it.
pub mod what {
    /// A kernel call begins.
    pub const ENTER: &str = "enter";
    /// A kernel call ends.
    pub const EXIT: &str = "exit";
    /// A thread's state changes.
    pub const STATE: &str = "state";
    /// A thread's priority changes.
    pub const PRIO: &str = "prio";
    /// A message is sent (queued, or taken at once).
    pub const SEND: &str = "send";
    /// A message is received.
    pub const RECEIVE: &str = "receive";
    /// A message is answered (replied to, or failed with MsgError), or its exchange ended by
    /// the kernel.
    pub const REPLY: &str = "reply";
    /// A message leaves its channel's queue without being received (the sender timed out, was
    /// interrupted, ...): the server never saw it.
    pub const WITHDRAWN: &str = "withdrawn";
    /// A pulse is queued on a channel.
    pub const QUEUED: &str = "queued";
    /// A pulse is received.
    pub const RECEIVED: &str = "received";
    /// A queued pulse is freed without being received.
    pub const DROPPED: &str = "dropped";
    /// An asyncmsg message is put on a connection's queue.
    pub const PUT: &str = "put";
    /// An asyncmsg connection's queue is handed to the kernel.
    pub const TRIGGER: &str = "trigger";
    /// A receiver takes an asyncmsg batch.
    pub const GET: &str = "get";
    /// A timer or kernel timeout expires.
    pub const FIRED: &str = "fired";
    /// A step of a process's teardown.
    pub const TEARDOWN: &str = "teardown";
    /// An interrupt level is raised.
    pub const RAISED: &str = "raised";
    /// A process is made.
    pub const CREATED: &str = "created";
}

/// The arguments a call's `enter` event shows, by QNX's names: the ids a student follows
/// (`MsgSend(coid 0x40000001)`, `MsgReply(rcvid 65538, status 0)`), not buffers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallArgs {
    /// None shown.
    #[default]
    None,
    /// `flags` (ChannelCreate).
    Flags(u32),
    /// `chid` (ChannelDestroy, MsgReceive, MsgReceiveAsync, name_attach, resmgr_attach).
    Chid(i32),
    /// `coid` (ConnectDetach, MsgSend, MsgSendAsync).
    Coid(i32),
    /// `pid`, `chid` (ConnectAttach).
    Attach {
        /// The server's pid.
        pid: i32,
        /// Its channel.
        chid: i32,
    },
    /// `rcvid` (MsgRead, MsgWrite, MsgInfo, MsgDeliverEvent, MsgVerifyEvent).
    Rcvid(i64),
    /// `rcvid`, `status` (MsgReply).
    Reply {
        /// The message answered.
        rcvid: i64,
        /// The status MsgSend returns.
        status: i64,
    },
    /// `rcvid`, `err` (MsgError).
    Error {
        /// The message answered.
        rcvid: i64,
        /// The errno MsgSend fails with.
        err: i32,
    },
    /// `coid`, `code`, `value` (MsgSendPulse).
    Pulse {
        /// The connection.
        coid: i32,
        /// The pulse's code.
        code: i32,
        /// Its value.
        value: i32,
    },
    /// `pid`, `tid`, `signo` (SignalKill).
    Signal {
        /// The target process.
        pid: i32,
        /// Its thread (0: the process).
        tid: i32,
        /// The signal.
        signo: i32,
    },
    /// `prio` (SchedSet).
    Prio(i32),
    /// `timer` (TimerSettime, TimerInfo, TimerDestroy).
    Timer(i32),
    /// The target thread `tid_arg`, of the caller's process (ThreadCancel).
    Tid(i32),
}

impl CallArgs {
    /// The tag the ring stores, and the values after it.
    fn encode(self) -> (i64, [i64; 3], usize) {
        match self {
            CallArgs::None => (0, [0; 3], 0),
            CallArgs::Flags(f) => (1, [f.into(), 0, 0], 1),
            CallArgs::Chid(c) => (2, [c.into(), 0, 0], 1),
            CallArgs::Coid(c) => (3, [c.into(), 0, 0], 1),
            CallArgs::Attach { pid, chid } => (4, [pid.into(), chid.into(), 0], 2),
            CallArgs::Rcvid(r) => (5, [r, 0, 0], 1),
            CallArgs::Reply { rcvid, status } => (6, [rcvid, status, 0], 2),
            CallArgs::Error { rcvid, err } => (7, [rcvid, err.into(), 0], 2),
            CallArgs::Pulse { coid, code, value } => {
                (8, [coid.into(), code.into(), value.into()], 3)
            }
            CallArgs::Signal { pid, tid, signo } => (9, [pid.into(), tid.into(), signo.into()], 3),
            CallArgs::Prio(p) => (10, [p.into(), 0, 0], 1),
            CallArgs::Timer(t) => (11, [t.into(), 0, 0], 1),
            CallArgs::Tid(t) => (12, [t.into(), 0, 0], 1),
        }
    }

    /// The names of the values of the arguments tagged `tag` (`None`: no such tag).
    pub(crate) fn names(tag: i64) -> Option<&'static [&'static str]> {
        Some(match tag {
            0 => &[],
            1 => &["flags"],
            2 => &["chid"],
            3 => &["coid"],
            4 => &["pid_arg", "chid"],
            5 => &["rcvid"],
            6 => &["rcvid", "status"],
            7 => &["rcvid", "err"],
            8 => &["coid", "code", "value"],
            9 => &["pid_arg", "tid_arg", "signo"],
            10 => &["prio"],
            11 => &["timer"],
            12 => &["tid_arg"],
            _ => return None,
        })
    }
}

/// A kernel call begins in thread `tid` of `pid`.
#[inline]
pub fn call_enter(ring: Ring<'_>, pid: i32, tid: i32, call: &'static str) {
    call_enter_with(ring, pid, tid, call, CallArgs::None);
}

/// A kernel call begins in thread `tid` of `pid`, with its arguments `args`. (A target's `pid`
/// and `tid` are `pid_arg` and `tid_arg`: `pid` and `tid` name the caller.)
pub fn call_enter_with(ring: Ring<'_>, pid: i32, tid: i32, call: &'static str, args: CallArgs) {
    let _outside = OutsideEvent::new();
    let w = what::ENTER;
    match args {
        CallArgs::None => tracing::trace!(target: "qnx::call", what = w, pid, tid, call),
        CallArgs::Flags(flags) => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, flags)
        }
        CallArgs::Chid(chid) => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, chid)
        }
        CallArgs::Coid(coid) => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, coid)
        }
        CallArgs::Attach { pid: p, chid } => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, pid_arg = p, chid)
        }
        CallArgs::Rcvid(rcvid) => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, rcvid)
        }
        CallArgs::Reply { rcvid, status } => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, rcvid, status)
        }
        CallArgs::Error { rcvid, err } => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, rcvid, err)
        }
        CallArgs::Pulse { coid, code, value } => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, coid, code, value)
        }
        CallArgs::Signal {
            pid: p,
            tid: t,
            signo,
        } => tracing::trace!(target: "qnx::call",
            what = w, pid, tid, call, pid_arg = p, tid_arg = t, signo),
        CallArgs::Prio(prio) => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, prio)
        }
        CallArgs::Timer(timer) => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, timer)
        }
        CallArgs::Tid(t) => {
            tracing::trace!(target: "qnx::call", what = w, pid, tid, call, tid_arg = t)
        }
    }
    if ring.recording() {
        let (tag, v, n) = args.encode();
        let ints = [tag, v[0], v[1], v[2]];
        let ints: &[i64] = if tag == 0 { &[] } else { &ints[..=n] };
        ring.put(Kind::Call, what::ENTER, pid, tid, ints, call);
    }
}

/// A kernel call ends: `result` its value, or minus its errno.
#[inline]
pub fn call_exit(ring: Ring<'_>, pid: i32, tid: i32, call: &'static str, result: i64) {
    let _outside = OutsideEvent::new();
    tracing::trace!(target: "qnx::call", what = what::EXIT, pid, tid, call, result);
    ring.put(Kind::Call, what::EXIT, pid, tid, &[result], call);
}

/// Thread `tid` of `pid` is now in `state` (QNX's name), waiting on `peer_pid` (0: none) and
/// channel `chid` (-1: none).
#[inline]
pub fn state(ring: Ring<'_>, pid: i32, tid: i32, state: &'static str, peer_pid: i32, chid: i32) {
    tracing::trace!(target: "qnx::state", what = what::STATE, pid, tid, state, peer_pid, chid);
    ring.put(
        Kind::State,
        what::STATE,
        pid,
        tid,
        &[peer_pid.into(), chid.into()],
        state,
    );
}

/// Thread `tid` of `pid` now runs at `prio` (its base `base`), because of `why`.
#[inline]
pub fn prio(ring: Ring<'_>, pid: i32, tid: i32, prio: u8, base: u8, why: &'static str) {
    tracing::trace!(target: "qnx::prio", what = what::PRIO, pid, tid, prio, base, why);
    ring.put(
        Kind::Prio,
        what::PRIO,
        pid,
        tid,
        &[prio.into(), base.into()],
        why,
    );
}

/// What one message event says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgEvent {
    /// The thread the event is of (the sender for `send`, the receiver for `receive`, the
    /// replier for `reply`).
    pub pid: i32,
    /// Its tid.
    pub tid: i32,
    /// The other side (the server for `send`, the client otherwise; 0 when not known yet).
    pub peer_pid: i32,
    /// The other side's tid (0 when not known).
    pub peer_tid: i32,
    /// The channel.
    pub chid: i32,
    /// The rcvid (0 before it is received).
    pub rcvid: i64,
    /// The exchange's id: the same in its send, receive and reply.
    pub exchange: u64,
    /// Bytes sent (send), taken (receive) or replied (reply).
    pub bytes: u64,
    /// On `send`: the message's first two bytes as a `u16` (its type, by QNX's convention), or
    /// -1 if it is shorter. Not in the other events.
    pub msg_type: i32,
}

impl MsgEvent {
    /// The integer fields in the ring's order.
    fn ints(&self) -> [i64; 6] {
        [
            self.peer_pid.into(),
            self.peer_tid.into(),
            self.chid.into(),
            self.rcvid,
            self.exchange as i64,
            self.bytes as i64,
        ]
    }
}

/// A message is sent.
#[inline]
pub fn msg_send(ring: Ring<'_>, e: &MsgEvent) {
    tracing::trace!(target: "qnx::msg", what = what::SEND, pid = e.pid, tid = e.tid,
        peer_pid = e.peer_pid, peer_tid = e.peer_tid, chid = e.chid, rcvid = e.rcvid,
        exchange = e.exchange, bytes = e.bytes, msg_type = e.msg_type);
    if ring.recording() {
        let i = e.ints();
        let ints = [i[0], i[1], i[2], i[3], i[4], i[5], e.msg_type.into()];
        ring.put(Kind::Msg, what::SEND, e.pid, e.tid, &ints, "");
    }
}

/// A message is received.
#[inline]
pub fn msg_receive(ring: Ring<'_>, e: &MsgEvent) {
    tracing::trace!(target: "qnx::msg", what = what::RECEIVE, pid = e.pid, tid = e.tid,
        peer_pid = e.peer_pid, peer_tid = e.peer_tid, chid = e.chid, rcvid = e.rcvid,
        exchange = e.exchange, bytes = e.bytes);
    ring.put(Kind::Msg, what::RECEIVE, e.pid, e.tid, &e.ints(), "");
}

/// Who ended an exchange, as a `reply` event's `by` says.
pub mod by {
    /// The server: MsgReply or MsgError.
    pub const SERVER: &str = "server";
    /// The kernel: a timeout, a signal, a detach, a death, a destroyed channel (the server
    /// answered nothing; its later reply fails with ESRCH).
    pub const KERNEL: &str = "kernel";
}

/// A message's exchange ends, answered by the server: MsgReply with `status` (`error` 0), or
/// MsgError with the errno `error` (`status` -1). [`msg_reply_by`] with [`by::SERVER`].
#[inline]
pub fn msg_reply(ring: Ring<'_>, e: &MsgEvent, status: i64, error: i32) {
    msg_reply_by(ring, e, status, error, by::SERVER);
}

/// A message's exchange ends: answered by MsgReply with `status` (`error` 0), or with the
/// errno `error` (MsgError's, or the kernel's: timeout, signal, detach, death; `status` -1);
/// `by` says who ended it ([`by`]).
#[inline]
pub fn msg_reply_by(ring: Ring<'_>, e: &MsgEvent, status: i64, error: i32, by: &'static str) {
    tracing::trace!(target: "qnx::msg", what = what::REPLY, pid = e.pid, tid = e.tid,
        peer_pid = e.peer_pid, peer_tid = e.peer_tid, chid = e.chid, rcvid = e.rcvid,
        exchange = e.exchange, bytes = e.bytes, status, error, by);
    if ring.recording() {
        let i = e.ints();
        let ints = [i[0], i[1], i[2], i[3], i[4], i[5], status, error.into()];
        ring.put(Kind::Msg, what::REPLY, e.pid, e.tid, &ints, by);
    }
}

/// Why a message was withdrawn, or a pulse dropped: a `withdrawn` or `dropped` event's `why`.
pub mod why {
    /// The sender's TimerTimeout expired (or a `SIGEV_UNBLOCK` event came) while it was
    /// SEND-blocked: ETIMEDOUT.
    pub const TIMEOUT: &str = "timeout";
    /// A signal interrupted the SEND-blocked sender: EINTR.
    pub const SIGNAL: &str = "signal";
    /// Another thread detached the coid it sent on: EBADF.
    pub const DETACHED: &str = "detached";
    /// The sender's process was torn down: ESRCH.
    pub const DEATH: &str = "death";
    /// The sender's thread was cancelled (`pthread_cancel`): ECANCELED.
    pub const CANCEL: &str = "cancel";
    /// The channel was destroyed (ChannelDestroy, or its server's process died): ESRCH for a
    /// sender; a pulse is freed.
    pub const CHANNEL: &str = "channel";
    /// A buffer faulted as the message or pulse was taken (another program's memory): the
    /// sender's EFAULT or ESRVRFAULT; a pulse is lost.
    pub const FAULT: &str = "fault";
    /// A `_PULSE_CODE_UNBLOCK` whose exchange ended (answered, or released) before the server
    /// took it: removed from the queue.
    pub const ANSWERED: &str = "answered";
}

/// A message leaves its channel's queue unreceived: the sender's MsgSend returns `error`, for
/// the reason `why` ([`why`]). `e` is the sender's event (as its `send`'s, `rcvid` 0).
#[inline]
pub fn msg_withdrawn(ring: Ring<'_>, e: &MsgEvent, error: i32, why: &'static str) {
    tracing::trace!(target: "qnx::msg", what = what::WITHDRAWN, pid = e.pid, tid = e.tid,
        peer_pid = e.peer_pid, peer_tid = e.peer_tid, chid = e.chid, rcvid = e.rcvid,
        exchange = e.exchange, bytes = e.bytes, error, why);
    if ring.recording() {
        let i = e.ints();
        let ints = [i[0], i[1], i[2], i[3], i[4], i[5], error.into()];
        ring.put(Kind::Msg, what::WITHDRAWN, e.pid, e.tid, &ints, why);
    }
}

/// A pulse `pulse` (its id) is queued by `pid` (0: the kernel) for `peer_pid`'s channel `chid`.
#[inline]
#[allow(clippy::too_many_arguments)] // (the event's fields, as the schema lists them)
pub fn pulse_queued(
    ring: Ring<'_>,
    pid: i32,
    tid: i32,
    peer_pid: i32,
    chid: i32,
    code: i8,
    value: i32,
    pulse: u64,
) {
    tracing::trace!(target: "qnx::pulse", what = what::QUEUED, pid, tid, peer_pid, chid,
        code, value, pulse);
    let ints = [
        peer_pid.into(),
        chid.into(),
        code.into(),
        value.into(),
        pulse as i64,
    ];
    ring.put(Kind::Pulse, what::QUEUED, pid, tid, &ints, "");
}

/// Pulse `pulse` is received by thread `tid` of `pid` on `chid`.
#[inline]
pub fn pulse_received(
    ring: Ring<'_>,
    pid: i32,
    tid: i32,
    chid: i32,
    code: i8,
    value: i32,
    pulse: u64,
) {
    tracing::trace!(target: "qnx::pulse", what = what::RECEIVED, pid, tid, peer_pid = 0, chid,
        code, value, pulse);
    let ints = [0, chid.into(), code.into(), value.into(), pulse as i64];
    ring.put(Kind::Pulse, what::RECEIVED, pid, tid, &ints, "");
}

/// Pulse `pulse`, queued on `peer_pid`'s channel `chid`, is freed unreceived, for the reason
/// `why` ([`why`]); the kernel drops it (`pid`, `tid` 0).
#[inline]
pub fn pulse_dropped(
    ring: Ring<'_>,
    peer_pid: i32,
    chid: i32,
    code: i8,
    value: i32,
    pulse: u64,
    why: &'static str,
) {
    tracing::trace!(target: "qnx::pulse", what = what::DROPPED, pid = 0, tid = 0, peer_pid,
        chid, code, value, pulse, why);
    let ints = [
        peer_pid.into(),
        chid.into(),
        code.into(),
        value.into(),
        pulse as i64,
    ];
    ring.put(Kind::Pulse, what::DROPPED, 0, 0, &ints, why);
}

/// An asyncmsg message is put on `coid`'s queue (by the library, without a kernel entry).
#[inline]
pub fn async_put(ring: Ring<'_>, pid: i32, tid: i32, coid: i32, bytes: u64) {
    let _outside = OutsideEvent::new();
    tracing::trace!(target: "qnx::async", what = what::PUT, pid, tid, coid, messages = 1u32,
        bytes);
    ring.put(
        Kind::Async,
        what::PUT,
        pid,
        tid,
        &[coid.into(), 1, bytes as i64],
        "",
    );
}

/// `coid`'s queue is handed to the kernel with `messages` pending: batch `batch`.
#[inline]
pub fn async_trigger(ring: Ring<'_>, pid: i32, tid: i32, coid: i32, messages: u32, batch: u64) {
    tracing::trace!(target: "qnx::async", what = what::TRIGGER, pid, tid, coid, messages, batch);
    let ints = [coid.into(), messages.into(), batch as i64];
    ring.put(Kind::Async, what::TRIGGER, pid, tid, &ints, "");
}

/// A receiver takes `messages` of batch `batch` on `chid`.
#[inline]
pub fn async_get(ring: Ring<'_>, pid: i32, tid: i32, chid: i32, messages: u32, batch: u64) {
    tracing::trace!(target: "qnx::async", what = what::GET, pid, tid, chid, messages, batch);
    let ints = [chid.into(), messages.into(), batch as i64];
    ring.put(Kind::Async, what::GET, pid, tid, &ints, "");
}

/// Timer `timer` of `pid` (a timer id, or the thread's kernel timeout: `kind`) expired.
#[inline]
pub fn timer_fired(ring: Ring<'_>, pid: i32, tid: i32, timer: i32, kind: &'static str) {
    tracing::trace!(target: "qnx::timer", what = what::FIRED, pid, tid, timer, kind);
    ring.put(Kind::Timer, what::FIRED, pid, tid, &[timer.into()], kind);
}

/// Interrupt level `level` was raised; it went to `delivered` attachments now.
#[inline]
pub fn interrupt_raised(ring: Ring<'_>, level: i32, delivered: u32) {
    tracing::trace!(target: "qnx::intr", what = what::RAISED, pid = 0, tid = 0, level, delivered);
    ring.put(
        Kind::Intr,
        what::RAISED,
        0,
        0,
        &[level.into(), delivered.into()],
        "",
    );
}

/// A step of process `pid`'s teardown.
#[inline]
pub fn teardown(ring: Ring<'_>, pid: i32, step: &'static str) {
    tracing::debug!(target: "qnx::teardown", what = what::TEARDOWN, pid, tid = 0, step);
    ring.put(Kind::Teardown, what::TEARDOWN, pid, 0, &[], step);
}

/// Process `pid` is made, for the program `name`.
#[inline]
pub fn process(ring: Ring<'_>, pid: i32, name: &str) {
    tracing::trace!(target: "qnx::process", what = what::CREATED, pid, tid = 0, name);
    ring.put(Kind::Process, what::CREATED, pid, 0, &[], name);
}
