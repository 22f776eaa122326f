//! Unit tests of the kernel calls, one file per call family: each test builds a small region,
//! calls the call functions directly, and asserts on the step or errno they return, on the
//! tables (thread states, queues, counters, objects allocated and freed) and on the effects
//! (threads to wake, deferred wakes, priorities, signals).
//!
//! No OS threads, no sleeps, no futex waits: a blocked thread is only a state in the tables, and
//! a test plays every thread's part in turn. What the kernel entry does around a call (move the
//! armed timeout into force, collect a readied thread's result) the [`Bench`] does on request.
//! After every call the bench checks the queue invariants ([`Bench::check`]).
//!
//! The end-to-end behaviour of the same calls, with real threads, is in `kernel-sim/tests/`.

mod asyncmsg;
mod channel;
mod connect;
mod dispatch;
mod event;
mod handoff;
mod process;
mod pulse;
mod srr;
mod timeout;
mod timer;
mod transitions;

use super::{Caller, Effects, Step};
use crate::abi::consts::*;
use crate::abi::errno::KResult;
use crate::abi::types::{Iov, ProcCounters, Pulse, RcvId};
use crate::copy::IovList;
use crate::objects::channel::sendq_key;
use crate::objects::thread::CallResult;
use crate::objects::{Channel, Connection, KState, Process};
use crate::pool::Id;
use crate::region::{Config, Region, Tables};
use std::cell::Cell;

/// An empty iov list (no parts).
pub(super) const NO_IOV: IovList = IovList {
    addr: 0,
    parts: 0,
    space: crate::copy::Space::LOCAL,
};

/// A test's kernel: a region of [`Config::small`] capacities, and helpers to make processes,
/// threads, channels and connections, to run calls and to look at the tables.
#[derive(Debug)]
pub(super) struct Bench {
    region: Region,
    /// Inside [`Bench::tables`]: a nested use would wait for the kernel lock forever.
    busy: Cell<bool>,
}

/// Live objects in each pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Live {
    pub procs: u32,
    pub threads: u32,
    pub chans: u32,
    pub conns: u32,
    pub pulses: u32,
    pub timers: u32,
    pub names: u32,
}

/// An entry of a channel's send queue, as a test compares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Entry {
    /// A SEND-blocked thread (slot index).
    Thread(u32),
    /// A queued pulse.
    Pulse { code: i8, value: u64, prio: u8 },
}

impl Bench {
    pub fn new() -> Bench {
        Bench::with_config(Config::small())
    }

    pub fn with_config(cfg: Config) -> Bench {
        Bench {
            region: Region::new(cfg).expect("a region"),
            busy: Cell::new(false),
        }
    }

    /// Runs `f` over the tables, under the kernel lock.
    pub fn tables<R>(&self, f: impl FnOnce(&mut Tables<'_>) -> R) -> R {
        assert!(!self.busy.replace(true), "Bench::tables nested in itself");
        let lock = self.region.lock_word();
        lock.lock(false, 0);
        // SAFETY: we hold the kernel lock from just above until just below, and no `Tables`
        // outlives the closure; the bench is the region's only user.
        let r = unsafe { self.region.with_tables(f) };
        lock.unlock(false);
        self.busy.set(false);
        r
    }

    /// Runs one kernel call (or any change over the tables that returns a step), and checks the
    /// queue invariants after it. Returns the call's result and its effects.
    pub fn run(
        &self,
        f: impl FnOnce(&mut Tables<'_>, &mut Effects) -> KResult<Step>,
    ) -> (KResult<Step>, Effects) {
        let mut fx = Effects::default();
        let r = self.tables(|t| f(t, &mut fx));
        self.check();
        (r, fx)
    }

    // ---- making things ----

    /// A new process: its id and pid.
    pub fn process(&self) -> (Id<Process>, i32) {
        self.tables(|t| super::process::process_create(t, 0))
            .expect("a process")
    }

    /// A new thread of `proc` at priority `prio`.
    pub fn thread(&self, proc: Id<Process>, prio: i32) -> Caller {
        let (thread, _) = self
            .tables(|t| super::process::thread_create(t, proc, prio, 0))
            .expect("a thread");
        Caller { thread, proc }
    }

    /// A new process with one thread at priority `prio`.
    pub fn spawn(&self, prio: i32) -> Caller {
        let (p, _) = self.process();
        self.thread(p, prio)
    }

    /// A new channel of `c`'s process: its chid.
    pub fn channel(&self, c: Caller, flags: u32) -> i32 {
        done(
            self.run(|t, _| super::channel::channel_create(t, c, flags))
                .0,
        ) as i32
    }

    /// A side-channel coid of `c`'s process to channel `chid` of `server`'s process.
    pub fn attach(&self, c: Caller, server: Caller, chid: i32) -> i32 {
        self.attach_flags(c, server, chid, 0)
    }

    /// As [`Bench::attach`], with connect flags.
    pub fn attach_flags(&self, c: Caller, server: Caller, chid: i32, flags: u32) -> i32 {
        let pid = self.pid(server);
        done(
            self.run(|t, _| {
                super::connect::connect_attach(
                    t,
                    c,
                    ND_LOCAL_NODE,
                    pid,
                    chid,
                    _NTO_SIDE_CHANNEL,
                    flags,
                )
            })
            .0,
        ) as i32
    }

    // ---- the calls most tests make ----

    pub fn send(&self, c: Caller, coid: i32, smsg: &Buf, rmsg: &Buf) -> (KResult<Step>, Effects) {
        self.assert_runs(c);
        self.run(|t, fx| super::srr::msg_send(t, c, coid, smsg.list(), rmsg.list(), fx))
    }

    /// MsgReceive into `rmsg`, with the `MsgInfo` at `info` (0: none).
    pub fn receive(&self, c: Caller, chid: i32, rmsg: &Buf, info: u64) -> (KResult<Step>, Effects) {
        self.assert_runs(c);
        self.run(|t, fx| super::srr::msg_receive(t, c, chid, rmsg.list(), info, false, fx))
    }

    /// MsgReceivePulse into `rmsg`.
    pub fn receive_pulse(&self, c: Caller, chid: i32, rmsg: &Buf) -> (KResult<Step>, Effects) {
        self.assert_runs(c);
        self.run(|t, fx| super::srr::msg_receive(t, c, chid, rmsg.list(), 0, true, fx))
    }

    pub fn reply(
        &self,
        c: Caller,
        rcvid: RcvId,
        status: i64,
        smsg: &Buf,
    ) -> (KResult<Step>, Effects) {
        self.assert_runs(c);
        self.run(|t, fx| super::srr::msg_reply(t, c, rcvid, status, smsg.list(), fx))
    }

    pub fn error(&self, c: Caller, rcvid: RcvId, err: i32) -> (KResult<Step>, Effects) {
        self.assert_runs(c);
        self.run(|t, fx| super::srr::msg_error(t, c, rcvid, err, fx))
    }

    pub fn pulse(
        &self,
        c: Caller,
        coid: i32,
        prio: i32,
        code: i32,
        value: i32,
    ) -> (KResult<Step>, Effects) {
        self.assert_runs(c);
        self.run(|t, fx| super::pulse::msg_send_pulse(t, c, coid, prio, code, value, fx))
    }

    /// A client `c` that sent on `coid` and was received by `server` on `chid`: REPLY-blocked.
    /// Returns the rcvid.
    pub fn exchange(
        &self,
        server: Caller,
        chid: i32,
        c: Caller,
        coid: i32,
        smsg: &Buf,
        rmsg: &Buf,
    ) -> RcvId {
        assert_eq!(self.send(c, coid, smsg, rmsg).0, Ok(Step::Block));
        let rbuf = Buf::zeroed(64);
        let rcvid = done(self.receive(server, chid, rbuf, 0).0);
        assert!(matches!(self.state(c), KState::Reply { .. }));
        rcvid
    }

    /// Only a running thread makes a call (a test slip otherwise: a blocked thread is in its
    /// call, a readied one has not collected its result yet).
    pub fn assert_runs(&self, c: Caller) {
        assert_eq!(self.state(c), KState::Running, "the caller must be running");
    }

    // ---- what the kernel entry does around a call ----

    /// The thread enters the kernel: the armed TimerTimeout goes into force for this call.
    pub fn enter(&self, c: Caller) {
        self.tables(|t| {
            let th = t.threads.at_mut(c.thread.index);
            th.timeout_cur = std::mem::replace(
                &mut th.timeout_next,
                crate::objects::thread::TimeoutArm::NONE,
            );
            th.result = CallResult::Pending;
        });
    }

    /// A readied thread takes its result and runs again (the end of its blocked call).
    pub fn collect(&self, c: Caller) -> CallResult {
        self.tables(|t| {
            assert_eq!(
                t.threads.at(c.thread.index).state(),
                KState::Ready,
                "only a readied thread collects"
            );
            let r = std::mem::replace(
                &mut t.threads.at_mut(c.thread.index).result,
                CallResult::Pending,
            );
            t.set_running(c.thread.index);
            r
        })
    }

    // ---- looking ----

    pub fn pid(&self, c: Caller) -> i32 {
        self.tables(|t| t.procs.at(c.proc.index).pid)
    }

    pub fn state(&self, c: Caller) -> KState {
        self.tables(|t| t.threads.at(c.thread.index).state())
    }

    /// The result a readied (or released) thread will collect.
    pub fn result(&self, c: Caller) -> CallResult {
        self.tables(|t| t.threads.at(c.thread.index).result)
    }

    /// Current priority.
    pub fn prio(&self, c: Caller) -> u8 {
        self.tables(|t| t.threads.at(c.thread.index).prio)
    }

    /// The value of the thread's wait word (bumped by every ready-up and nudge).
    pub fn word(&self, c: Caller) -> u32 {
        self.region.waits()[c.thread.index as usize].load()
    }

    /// The rcvid naming the thread's current (or last) message.
    pub fn rcvid(&self, c: Caller) -> RcvId {
        self.tables(|t| t.rcvid_of(c.thread.index))
    }

    /// The channel behind chid `chid` of `c`'s process.
    pub fn chan(&self, c: Caller, chid: i32) -> Id<Channel> {
        self.tables(|t| t.chan_of(c.proc, chid))
            .expect("a live chid")
    }

    /// The connection behind coid `coid` of `c`'s process.
    pub fn conn(&self, c: Caller, coid: i32) -> Id<Connection> {
        self.tables(|t| t.conn_of(c.proc, coid))
            .expect("a live coid")
    }

    /// The scoid the server sees for `c`'s coid.
    pub fn scoid(&self, c: Caller, coid: i32) -> i32 {
        let conn = self.conn(c, coid);
        self.tables(|t| t.conns.at(conn.index).scoid)
    }

    /// Entries on the channel's send queue.
    pub fn queued(&self, ch: Id<Channel>) -> u32 {
        self.tables(|t| t.chans.at(ch.index).queued())
    }

    /// RECEIVE-blocked threads on the channel.
    pub fn receivers(&self, ch: Id<Channel>) -> u32 {
        self.tables(|t| t.chans.at(ch.index).receivers())
    }

    /// The channel's send queue, head first.
    pub fn sendq(&self, ch: Id<Channel>) -> Vec<Entry> {
        self.tables(|t| {
            let mut v = Vec::new();
            let mut q = t.sendq_head(ch);
            while !q.is_none() {
                if let Some(i) = q.as_thread() {
                    v.push(Entry::Thread(i));
                } else if let Some(pi) = q.as_pulse() {
                    let p = t.pulses.at(pi);
                    v.push(Entry::Pulse {
                        code: p.code,
                        value: p.value,
                        prio: p.prio,
                    });
                }
                q = t.sendq_next(q);
            }
            v
        })
    }

    pub fn live(&self) -> Live {
        self.tables(|t| Live {
            procs: t.procs.head().live,
            threads: t.threads.head().live,
            chans: t.chans.head().live,
            conns: t.conns.head().live,
            pulses: t.pulses.head().live,
            timers: t.timers.head().live,
            names: t.names.head().live,
        })
    }

    pub fn counters(&self, c: Caller) -> ProcCounters {
        self.tables(|t| t.procs.at(c.proc.index).counters)
    }

    /// Checks the invariants the thread transitions keep: every live channel's send queue is
    /// ordered by key (FIFO within one), its length is what the channel says, it holds exactly
    /// the threads SEND-blocked on it (and only queued pulses); the channel's receiver count is
    /// the number of threads RECEIVE-blocked on it; no thread waits on a dead channel.
    pub fn check(&self) {
        self.tables(|t| {
            for ch in t.chans.live_ids().collect::<Vec<_>>() {
                let (mut n, mut queued_threads) = (0, 0);
                let mut last = u16::MAX;
                let mut q = t.sendq_head(ch);
                while !q.is_none() {
                    let key = if let Some(i) = q.as_thread() {
                        let th = t.threads.at(i);
                        assert_eq!(
                            th.state(),
                            KState::Send { chan: ch },
                            "a queued thread is SEND-blocked on its channel"
                        );
                        queued_threads += 1;
                        th.send.prio as u16
                    } else {
                        let pi = q.as_pulse().expect("a thread or a pulse");
                        let p = t.pulses.at(pi);
                        assert!(p.queued(), "a pulse on a queue is marked queued");
                        sendq_key(p.prio, p.boost)
                    };
                    assert!(key <= last, "the send queue is in priority order");
                    last = key;
                    n += 1;
                    assert!(n <= t.chans.at(ch.index).queued(), "the send queue ends");
                    q = t.sendq_next(q);
                }
                let c = t.chans.at(ch.index);
                assert_eq!(n, c.queued(), "the queue length is the channel's count");
                let senders = t
                    .threads
                    .live_ids()
                    .filter(|id| t.threads.at(id.index).state() == KState::Send { chan: ch })
                    .count() as u32;
                assert_eq!(
                    senders, queued_threads,
                    "every SEND-blocked thread is on its queue"
                );
                let receivers = t
                    .threads
                    .live_ids()
                    .filter(|id| t.threads.at(id.index).state() == KState::Receive { chan: ch })
                    .count() as u32;
                assert_eq!(
                    receivers,
                    c.receivers(),
                    "the receiver count is the RECEIVE-blocked threads"
                );
            }
            for id in t.threads.live_ids() {
                if let KState::Send { chan } | KState::Receive { chan } =
                    t.threads.at(id.index).state()
                {
                    assert!(
                        t.chans.get(chan).is_some(),
                        "no thread waits on a dead channel"
                    );
                }
            }
        });
    }
}

/// The value of a call that finished: panics on a block or an error.
pub(super) fn done(r: KResult<Step>) -> i64 {
    match r {
        Ok(Step::Done(v)) => v,
        other => panic!("expected Done, got {other:?}"),
    }
}

/// A test-owned buffer and its one-part iov list. The kernel keeps their addresses while a
/// thread is in a call (a SEND- or RECEIVE-blocked thread's buffers are read or written by
/// another thread's call later), so buffers are leaked: they outlive every call of the test,
/// whatever the test does with its references (a few bytes a test). Its bytes are cells: the
/// kernel writes them through the address.
#[derive(Debug)]
pub(super) struct Buf {
    data: Box<[Cell<u8>]>,
    iov: Box<[Iov]>,
}

impl Buf {
    /// A buffer holding `bytes`.
    pub fn new(bytes: &[u8]) -> &'static Buf {
        let data: Box<[Cell<u8>]> = bytes.iter().map(|&b| Cell::new(b)).collect();
        let iov = Box::new([Iov {
            base: data.as_ptr() as u64,
            len: data.len() as u64,
        }]);
        Box::leak(Box::new(Buf { data, iov }))
    }

    /// A buffer of `n` zero bytes.
    pub fn zeroed(n: usize) -> &'static Buf {
        Buf::new(&vec![0; n])
    }

    /// A list of no parts.
    pub fn empty() -> &'static Buf {
        Box::leak(Box::new(Buf {
            data: Box::new([]),
            iov: Box::new([]),
        }))
    }

    /// The iov list over it.
    pub fn list(&self) -> IovList {
        if self.iov.is_empty() {
            return NO_IOV;
        }
        IovList::new(&self.iov)
    }

    /// Its bytes now.
    pub fn bytes(&self) -> Vec<u8> {
        self.data.iter().map(Cell::get).collect()
    }

    /// The pulse the kernel wrote into it.
    pub fn pulse(&self) -> Pulse {
        Pulse::from_bytes(&self.bytes()).expect("a pulse")
    }
}

/// A test-owned out-parameter (`MsgInfo`, `TimerInfo`, an array of `AsyncGetHeader`) that the
/// kernel writes through its address.
#[derive(Debug, Default)]
pub(super) struct Out<T: Copy + Default>(Box<Cell<T>>);

impl<T: Copy + Default> Out<T> {
    pub fn addr(&self) -> u64 {
        self.0.as_ptr() as u64
    }

    pub fn get(&self) -> T {
        self.0.get()
    }
}
