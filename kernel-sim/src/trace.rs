//! The kernel's trace events, through [`tracing`]: what a student watches, and what the
//! recorders (a Perfetto timeline, a sequence chart, the step mode) are built from. Every event
//! names the simulated pid and tid it concerns; their target says what kind it is, so that
//! `RUST_LOG` filters them as Rust users expect (`RUST_LOG=qnx::msg=trace`, `qnx=debug`, ...).
//!
//! | target | event (`what`) | fields besides `pid`, `tid` |
//! |---|---|---|
//! | `qnx::call` | `enter`, `exit` | `call` (QNX's name: `"MsgSend"`, ...); on `exit` `result` (the value, or minus the errno) |
//! | `qnx::state` | `state` | `state` (`"RUNNING"`, `"READY"`, `"SEND"`, `"RECEIVE"`, `"REPLY"`, ...; QNX's names), `peer_pid` (the process it waits on, 0 none), `chid` (-1 none) |
//! | `qnx::prio` | `prio` | `prio`, `base`, `why` (`"inherit"`, `"boost"`, `"restore"`, `"set"`) |
//! | `qnx::msg` | `send`, `receive`, `reply` | `exchange` (one message's id, the same in its three events: the flow from send to receive to reply), `peer_pid`, `peer_tid`, `chid`, `rcvid`, `bytes`; on `reply` `status` (the status, or minus the errno of an error) |
//! | `qnx::pulse` | `queued`, `received` | `pulse` (the pulse's id, the same in both), `peer_pid` (sender / receiver), `chid`, `code`, `value` |
//! | `qnx::async` | `put`, `trigger`, `get` | `coid` (put, trigger), `chid` (get), `messages`, `batch` (a trigger's id, the same in the get that takes it: the flow from the puts to the get) |
//! | `qnx::timer` | `fired` | `timer` (the timer id), `kind` (`"timeout"`, `"timer"`) |
//! | `qnx::teardown` | `teardown` | `step` (`"channels"`, `"connections"`, `"threads"`, `"timers"`, `"asyncmsg"`, `"done"`) |
//!
//! Events are emitted where the change happens, most under the kernel lock: a subscriber must
//! not make kernel calls. With no subscriber (or the level filtered out) an event costs one
//! load of its callsite's interest, cached by `tracing`. The level is `TRACE` for everything
//! but the `qnx::teardown` events (`DEBUG`).

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
    /// A message is answered (replied to, or failed with MsgError).
    pub const REPLY: &str = "reply";
    /// A pulse is queued on a channel.
    pub const QUEUED: &str = "queued";
    /// A pulse is received.
    pub const RECEIVED: &str = "received";
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
}

/// A kernel call begins in thread `tid` of `pid`.
#[inline]
pub fn call_enter(pid: i32, tid: i32, call: &'static str) {
    tracing::trace!(target: "qnx::call", what = what::ENTER, pid, tid, call);
}

/// A kernel call ends: `result` its value, or minus its errno.
#[inline]
pub fn call_exit(pid: i32, tid: i32, call: &'static str, result: i64) {
    tracing::trace!(target: "qnx::call", what = what::EXIT, pid, tid, call, result);
}

/// Thread `tid` of `pid` is now in `state` (QNX's name), waiting on `peer_pid` (0: none) and
/// channel `chid` (-1: none).
#[inline]
pub fn state(pid: i32, tid: i32, state: &'static str, peer_pid: i32, chid: i32) {
    tracing::trace!(target: "qnx::state", what = what::STATE, pid, tid, state, peer_pid, chid);
}

/// Thread `tid` of `pid` now runs at `prio` (its base `base`), because of `why`.
#[inline]
pub fn prio(pid: i32, tid: i32, prio: u8, base: u8, why: &'static str) {
    tracing::trace!(target: "qnx::prio", what = what::PRIO, pid, tid, prio, base, why);
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
}

/// A message is sent.
#[inline]
pub fn msg_send(e: &MsgEvent) {
    tracing::trace!(target: "qnx::msg", what = what::SEND, pid = e.pid, tid = e.tid,
        peer_pid = e.peer_pid, peer_tid = e.peer_tid, chid = e.chid, rcvid = e.rcvid,
        exchange = e.exchange, bytes = e.bytes);
}

/// A message is received.
#[inline]
pub fn msg_receive(e: &MsgEvent) {
    tracing::trace!(target: "qnx::msg", what = what::RECEIVE, pid = e.pid, tid = e.tid,
        peer_pid = e.peer_pid, peer_tid = e.peer_tid, chid = e.chid, rcvid = e.rcvid,
        exchange = e.exchange, bytes = e.bytes);
}

/// A message is answered with `status` (minus the errno of a MsgError).
#[inline]
pub fn msg_reply(e: &MsgEvent, status: i64) {
    tracing::trace!(target: "qnx::msg", what = what::REPLY, pid = e.pid, tid = e.tid,
        peer_pid = e.peer_pid, peer_tid = e.peer_tid, chid = e.chid, rcvid = e.rcvid,
        exchange = e.exchange, bytes = e.bytes, status);
}

/// A pulse `pulse` (its id) is queued by `pid` (0: the kernel) for `peer_pid`'s channel `chid`.
#[inline]
pub fn pulse_queued(
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
}

/// Pulse `pulse` is received by thread `tid` of `pid` on `chid`.
#[inline]
pub fn pulse_received(pid: i32, tid: i32, chid: i32, code: i8, value: i32, pulse: u64) {
    tracing::trace!(target: "qnx::pulse", what = what::RECEIVED, pid, tid, peer_pid = 0, chid,
        code, value, pulse);
}

/// An asyncmsg message is put on `coid`'s queue (by the library, without a kernel entry).
#[inline]
pub fn async_put(pid: i32, tid: i32, coid: i32, bytes: u64) {
    tracing::trace!(target: "qnx::async", what = what::PUT, pid, tid, coid, messages = 1u32,
        bytes);
}

/// `coid`'s queue is handed to the kernel with `messages` pending: batch `batch`.
#[inline]
pub fn async_trigger(pid: i32, tid: i32, coid: i32, messages: u32, batch: u64) {
    tracing::trace!(target: "qnx::async", what = what::TRIGGER, pid, tid, coid, messages, batch);
}

/// A receiver takes `messages` of batch `batch` on `chid`.
#[inline]
pub fn async_get(pid: i32, tid: i32, chid: i32, messages: u32, batch: u64) {
    tracing::trace!(target: "qnx::async", what = what::GET, pid, tid, chid, messages, batch);
}

/// Timer `timer` of `pid` (a timer id, or the thread's kernel timeout: `kind`) expired.
#[inline]
pub fn timer_fired(pid: i32, tid: i32, timer: i32, kind: &'static str) {
    tracing::trace!(target: "qnx::timer", what = what::FIRED, pid, tid, timer, kind);
}

/// A step of process `pid`'s teardown.
#[inline]
pub fn teardown(pid: i32, step: &'static str) {
    tracing::debug!(target: "qnx::teardown", what = what::TEARDOWN, pid, tid = 0, step);
}
