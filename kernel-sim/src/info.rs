//! Read-only views of the kernel for people and tools: thread states naming whom they wait on,
//! channels and their queues, connections, asyncmsg channels' ready lists and connections'
//! send queues, pool usage. Built under the kernel lock, so each picture is consistent; what
//! `pidin` shows on QNX. [`Listing`] is the whole of what `pidin-sim` prints.

use crate::abi::errno::{Errno, KResult};
use crate::objects::{CoidSlot, KState};
use crate::region::Tables;
use std::fmt;

/// A thread's state as a person reads it: QNX's state names and whom the thread waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadState {
    /// Running (outside the kernel or in a non-blocking call).
    Running,
    /// Readied, not yet back from its kernel call.
    Ready,
    /// SEND-blocked on channel `chid` of process `pid`.
    Send {
        /// Server process.
        pid: i32,
        /// Server channel.
        chid: i32,
    },
    /// RECEIVE-blocked on its own channel `chid`.
    Receive {
        /// The channel.
        chid: i32,
    },
    /// REPLY-blocked: received by thread `tid` of process `pid` on channel `chid`.
    Reply {
        /// Server process.
        pid: i32,
        /// Server channel.
        chid: i32,
        /// The server thread that received the message.
        tid: i32,
    },
    /// INTR-blocked in InterruptWait.
    Intr,
    /// NANOSLEEP-blocked: sleeping in the kernel (nanosleep(), delay(), TimerTimeout with
    /// `_NTO_TIMEOUT_NANOSLEEP`).
    Nanosleep,
}

impl ThreadState {
    /// QNX's `STATE_*` number.
    pub fn qnx_state(&self) -> u32 {
        use crate::abi::consts::*;
        match self {
            ThreadState::Running => STATE_RUNNING,
            ThreadState::Ready => STATE_READY,
            ThreadState::Send { .. } => STATE_SEND,
            ThreadState::Receive { .. } => STATE_RECEIVE,
            ThreadState::Reply { .. } => STATE_REPLY,
            ThreadState::Intr => STATE_INTR,
            ThreadState::Nanosleep => STATE_NANOSLEEP,
        }
    }
}

impl fmt::Display for ThreadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadState::Running => write!(f, "RUNNING"),
            ThreadState::Ready => write!(f, "READY"),
            ThreadState::Send { pid, chid } => write!(f, "SEND (pid {pid} chid {chid})"),
            ThreadState::Receive { chid } => write!(f, "RECEIVE (chid {chid})"),
            ThreadState::Reply { pid, chid, tid } => {
                write!(f, "REPLY (pid {pid} chid {chid}, received by tid {tid})")
            }
            ThreadState::Intr => write!(f, "INTR"),
            ThreadState::Nanosleep => write!(f, "NANOSLEEP"),
        }
    }
}

/// One thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Process id.
    pub pid: i32,
    /// Thread id.
    pub tid: i32,
    /// State.
    pub state: ThreadState,
    /// Priority the thread set (`i16`, as priorities are everywhere in the API).
    pub base_priority: i16,
    /// Current priority, after inheritance and boost.
    pub priority: i16,
    /// Kernel calls it made.
    pub kernel_entries: u64,
    /// A thread of the library's own (the asyncmsg library's, `select_attach`'s watcher), not
    /// one the program made: the listing marks it.
    pub internal: bool,
}

/// One channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Owner.
    pub pid: i32,
    /// Its chid.
    pub chid: i32,
    /// `_NTO_CHF_*` flags.
    pub flags: u32,
    /// Entries in the send queue (SEND-blocked threads and pulses).
    pub queued: u32,
    /// The send queue itself, in the order receives take it (by priority, FIFO within one;
    /// the kernel's boosted pulses first).
    pub queue: Vec<QueueEntry>,
    /// RECEIVE-blocked threads.
    pub receivers: u32,
    /// What an asyncmsg channel has besides (`None` for a synchronous channel).
    pub asyncmsg: Option<AsyncChannelInfo>,
    /// The names that lead to it (`name_attach`), in the order they were attached.
    pub names: Vec<NameInfo>,
    /// The path-manager mountpoints that lead to it (`resmgr_attach`), normalised, in the
    /// order they were attached.
    pub paths: Vec<String>,
}

/// An entry of a channel's send queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueEntry {
    /// A SEND-blocked thread, queued at `priority` (its priority when it sent).
    Thread {
        /// Its process.
        pid: i32,
        /// Its tid.
        tid: i32,
        /// The priority it is queued at.
        priority: i16,
    },
    /// A pulse.
    Pulse {
        /// Its code.
        code: i8,
        /// Its value (`sigval`).
        value: u64,
        /// The priority it is queued at.
        priority: i16,
    },
}

impl fmt::Display for QueueEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueEntry::Thread { pid, tid, priority } => {
                write!(f, "pid {pid} tid {tid} pri {priority}")
            }
            QueueEntry::Pulse {
                code,
                value,
                priority,
            } => write!(f, "pulse code {code} value {value:#x} pri {priority}"),
        }
    }
}

/// A name (`name_attach`) as the listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameInfo {
    /// The path (lossily as text, if it is not UTF-8).
    pub path: String,
    /// In the global name space (`NAME_FLAG_ATTACH_GLOBAL`).
    pub global: bool,
}

/// An asyncmsg channel's own state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsyncChannelInfo {
    /// Bytes of each receive buffer (a longer message is delivered as EMSGSIZE).
    pub buffer_size: u64,
    /// Messages one receive takes at most.
    pub max_num_buffer: u32,
    /// The ready list: the connections with messages waiting (triggered, not yet drained), in
    /// the order receives will take them.
    pub ready: Vec<ReadyConnection>,
}

/// A connection on an asyncmsg channel's ready list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyConnection {
    /// The sending process.
    pub pid: i32,
    /// Its coid.
    pub coid: i32,
}

/// One coid of a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client process.
    pub pid: i32,
    /// The coid.
    pub coid: i32,
    /// Server process.
    pub server_pid: i32,
    /// Server channel (-1 once the channel is destroyed).
    pub chid: i32,
    /// The scoid the server sees.
    pub scoid: i32,
    /// `_NTO_COF_*` flags.
    pub flags: u32,
    /// What an asyncmsg connection has besides (`None` for a synchronous one).
    pub asyncmsg: Option<AsyncConnInfo>,
}

/// An asyncmsg connection's own state: its send queue and what the kernel did with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsyncConnInfo {
    /// The send queue's counts, or `None` when the program taking the snapshot cannot read
    /// the queue (it is in another program's memory) or the kernel has let go of it.
    pub queue: Option<QueueCounts>,
    /// Triggers that found messages to deliver (kernel entries that started a batch).
    pub batches: u64,
    /// Messages receivers took from it.
    pub msgs_taken: u64,
    /// Whether it is on its channel's ready list.
    pub ready: bool,
}

/// An asyncmsg send queue's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueCounts {
    /// Messages put and not yet taken by a receiver.
    pub pending: u32,
    /// Of those, the messages a trigger handed to the kernel (MsgSendAsync: a count or time
    /// trigger, `asyncmsg_flush`), waiting for a receiver: in flight. The others (untriggered)
    /// wait for a trigger to put the connection on the ready list; but a receive that takes
    /// the connection for its triggered messages takes the untriggered ones behind them too,
    /// as QNX's kernel reads a sender's queue up to its tail.
    pub in_flight: u32,
    /// Messages put whose slots the sender's library has not released yet (taken or not):
    /// the queue's slots in use.
    pub unreleased: u32,
}

/// A process and its counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its pid.
    pub pid: i32,
    /// Live threads.
    pub threads: u32,
    /// What its threads did in the kernel.
    pub counters: crate::abi::types::ProcCounters,
    /// Its program's name (a shared kernel's Linux program); empty for a simulated process
    /// of one program.
    pub name: String,
    /// Its Linux program has ended (exited or was killed), and the kernel has not torn the
    /// process down yet: its threads, channels and connections are what it left, until the
    /// supervisor (or, on a kernel without one, the next program that looks) reaps it.
    /// [`Kernel::listing`](crate::Kernel::listing) sets it; [`Snapshot`]s taken otherwise
    /// leave it false.
    pub ended: bool,
}

/// Everything, at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Processes.
    pub processes: Vec<ProcessInfo>,
    /// Threads.
    pub threads: Vec<ThreadInfo>,
    /// Channels.
    pub channels: Vec<ChannelInfo>,
    /// Client coids.
    pub connections: Vec<ConnectionInfo>,
    /// Interrupt attachments, by level, then in delivery order.
    pub interrupts: Vec<InterruptInfo>,
    /// Levels masked (or with a request latched) that nothing is attached to: what a driver
    /// that detached without `_NTO_INTR_FLAGS_TRK_MSK`, or died so, left behind.
    pub masked_levels: Vec<MaskedLevel>,
}

/// A level masked, or with a request latched, with no attachment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaskedLevel {
    /// The level.
    pub level: u32,
    /// Its mask count.
    pub mask: u32,
    /// A request is latched.
    pub pending: bool,
}

/// One interrupt attachment (InterruptAttach, InterruptAttachEvent) and its level's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterruptInfo {
    /// The level.
    pub level: u32,
    /// The attachment's id (what InterruptAttach* returned).
    pub id: i32,
    /// The process that attached it.
    pub pid: i32,
    /// The thread that attached it (-1 if it has ended).
    pub tid: i32,
    /// A handler (InterruptAttach), not an event.
    pub handler: bool,
    /// The event's `SIGEV_*` kind (for a handler: whatever its handler returns).
    pub event_kind: i32,
    /// `_NTO_INTR_FLAGS_*`.
    pub flags: u32,
    /// Masks of the level this attachment holds.
    pub masks: u32,
    /// Times it was delivered to.
    pub delivered: u64,
    /// The level's mask count.
    pub level_mask: u32,
    /// The level was raised while masked and waits to be delivered.
    pub level_pending: bool,
    /// Times the level was raised.
    pub level_raised: u64,
}

/// Live objects and capacity of one pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolCount {
    /// Live objects.
    pub live: u32,
    /// Capacity.
    pub capacity: u32,
}

/// Every pool's usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUsage {
    /// Processes.
    pub processes: PoolCount,
    /// Threads.
    pub threads: PoolCount,
    /// Channels.
    pub channels: PoolCount,
    /// Connections.
    pub connections: PoolCount,
    /// Queued pulses.
    pub pulses: PoolCount,
    /// Timers.
    pub timers: PoolCount,
    /// Names (`name_attach`).
    pub names: PoolCount,
    /// Interrupt attachments.
    pub interrupts: PoolCount,
}

fn state_of(t: &Tables<'_>, s: KState) -> ThreadState {
    let chan = |c| {
        t.chans
            .get(c)
            .map(|ch| (t.procs.at(ch.owner.index).pid, ch.chid))
            .unwrap_or((-1, -1))
    };
    match s {
        KState::Dead | KState::Running => ThreadState::Running,
        KState::Ready => ThreadState::Ready,
        KState::Intr => ThreadState::Intr,
        KState::Nanosleep => ThreadState::Nanosleep,
        KState::Send { chan: c } => {
            let (pid, chid) = chan(c);
            ThreadState::Send { pid, chid }
        }
        KState::Receive { chan: c } => ThreadState::Receive { chid: chan(c).1 },
        KState::Reply { chan: c, server } => {
            let (pid, chid) = chan(c);
            ThreadState::Reply {
                pid,
                chid,
                tid: t.threads.get(server).map_or(-1, |s| s.tid),
            }
        }
    }
}

fn info_at(t: &Tables<'_>, idx: u32) -> ThreadInfo {
    let th = t.threads.at(idx);
    ThreadInfo {
        pid: t.procs.at(th.proc.index).pid,
        tid: th.tid,
        state: state_of(t, th.state()),
        base_priority: th.base_prio.into(),
        priority: th.prio.into(),
        kernel_entries: th.kernel_entries,
        internal: th.internal,
    }
}

pub(crate) fn thread_info(t: &Tables<'_>, pid: i32, tid: i32) -> KResult<ThreadInfo> {
    let p = t.proc_by_pid(pid).ok_or(Errno::ESRCH)?;
    t.threads
        .live_ids()
        .find(|id| t.threads.at(id.index).proc == p && t.threads.at(id.index).tid == tid)
        .map(|id| info_at(t, id.index))
        .ok_or(Errno::ESRCH)
}

pub(crate) fn snapshot(t: &mut Tables<'_>) -> Snapshot {
    let mut s = Snapshot::default();
    for id in t.procs.live_ids() {
        let p = t.procs.at(id.index);
        s.processes.push(ProcessInfo {
            pid: p.pid,
            threads: p.nthreads,
            counters: p.counters,
            name: p.name().to_string(),
            ended: false,
        });
    }
    let mut threads: Vec<ThreadInfo> = t
        .threads
        .live_ids()
        .map(|id| info_at(t, id.index))
        .collect();
    threads.sort_by_key(|i| (i.pid, i.tid));
    s.threads = threads;
    for id in t.chans.live_ids() {
        let c = t.chans.at(id.index);
        let asyncmsg = c.asyncmsg().map(|a| AsyncChannelInfo {
            buffer_size: a.buffer_size,
            max_num_buffer: a.max_num_buffer,
            ready: t
                .ready_list(id)
                .into_iter()
                .map(|ci| {
                    let k = t.conns.at(ci);
                    ReadyConnection {
                        pid: t.procs.get(k.client).map_or(-1, |p| p.pid),
                        coid: k.asyncmsg().map_or(-1, |a| a.coid),
                    }
                })
                .collect(),
        });
        s.channels.push(ChannelInfo {
            pid: t.procs.at(c.owner.index).pid,
            chid: c.chid,
            flags: c.flags,
            queued: c.queued(),
            queue: send_queue(t, id),
            receivers: c.receivers(),
            asyncmsg,
            names: t
                .names
                .live_ids()
                .map(|n| t.names.at(n.index))
                .filter(|n| n.chan == id && !n.mountpoint)
                .map(|n| NameInfo {
                    path: String::from_utf8_lossy(n.path()).into_owned(),
                    global: n.global,
                })
                .collect(),
            paths: {
                let mut paths: Vec<_> = t
                    .names
                    .live_ids()
                    .map(|n| t.names.at(n.index))
                    .filter(|n| n.chan == id && n.mountpoint)
                    .map(|n| (n.seq, String::from_utf8_lossy(n.path()).into_owned()))
                    .collect();
                paths.sort();
                paths.into_iter().map(|(_, p)| p).collect()
            },
        });
    }
    s.channels.sort_by_key(|c| (c.pid, c.chid));
    s.interrupts = crate::calls::interrupt::infos(t);
    s.masked_levels = crate::calls::interrupt::masked_levels(t);
    let fd_per = t.cfg.fd_coids_per_process as usize;
    let side_per = t.cfg.side_coids_per_process as usize;
    for pid_id in t.procs.live_ids().collect::<Vec<_>>() {
        let pid = t.procs.at(pid_id.index).pid;
        let slots = (0..fd_per)
            .map(|i| (i as i32, t.fds[pid_id.index as usize * fd_per + i]))
            .chain((1..side_per).map(|i| {
                (
                    (crate::abi::consts::_NTO_SIDE_CHANNEL | i as u32) as i32,
                    t.sides[pid_id.index as usize * side_per + i],
                )
            }));
        for (coid, slot) in slots {
            if let CoidSlot::Coid(c) = slot {
                if let Some(k) = t.conns.get(c) {
                    let chid = if t.chans.get(k.chan).is_some() {
                        k.chid
                    } else {
                        -1
                    };
                    let asyncmsg = k.asyncmsg().map(|a| AsyncConnInfo {
                        queue: crate::calls::asyncmsg::queue_counts(t, c.index).map(
                            |(pending, in_flight, unreleased)| QueueCounts {
                                pending,
                                in_flight,
                                unreleased,
                            },
                        ),
                        batches: a.batches,
                        msgs_taken: a.msgs_taken,
                        ready: a.in_ready(),
                    });
                    s.connections.push(ConnectionInfo {
                        pid,
                        coid,
                        server_pid: k.server_pid,
                        chid,
                        scoid: k.scoid,
                        flags: k.flags,
                        asyncmsg,
                    });
                }
            }
        }
    }
    s
}

/// Channel `ch`'s send queue, head first.
fn send_queue(t: &Tables<'_>, ch: crate::pool::Id<crate::objects::Channel>) -> Vec<QueueEntry> {
    let mut v = Vec::new();
    let mut q = t.sendq_head(ch);
    // (Bounded by the pools' sizes, whatever the links say.)
    let most = (t.threads.head().capacity + t.pulses.head().capacity) as usize;
    while !q.is_none() && v.len() < most {
        if let Some(i) = q.as_thread() {
            let th = t.threads.at(i);
            v.push(QueueEntry::Thread {
                pid: t.procs.get(th.proc).map_or(-1, |p| p.pid),
                tid: th.tid,
                priority: th.send.prio.into(),
            });
        } else if let Some(i) = q.as_pulse() {
            let p = t.pulses.at(i);
            v.push(QueueEntry::Pulse {
                code: p.code,
                value: p.value,
                priority: p.prio.into(),
            });
        }
        q = t.sendq_next(q);
    }
    v
}

pub(crate) fn pool_usage(t: &Tables<'_>) -> PoolUsage {
    let c = |h: crate::pool::PoolHead| PoolCount {
        live: h.live,
        capacity: h.capacity,
    };
    PoolUsage {
        processes: c(t.procs.head()),
        threads: c(t.threads.head()),
        channels: c(t.chans.head()),
        connections: c(t.conns.head()),
        pulses: c(t.pulses.head()),
        timers: c(t.timers.head()),
        names: c(t.names.head()),
        interrupts: c(t.intrs.head()),
    }
}

/// The `_NTO_CHF_*` flags by name, in bit order.
const CHANNEL_FLAGS: &[(u32, &str)] = {
    use crate::abi::consts::*;
    &[
        (_NTO_CHF_FIXED_PRIORITY, "_NTO_CHF_FIXED_PRIORITY"),
        (_NTO_CHF_UNBLOCK, "_NTO_CHF_UNBLOCK"),
        (_NTO_CHF_THREAD_DEATH, "_NTO_CHF_THREAD_DEATH"),
        (_NTO_CHF_DISCONNECT, "_NTO_CHF_DISCONNECT"),
        (_NTO_CHF_NET_MSG, "_NTO_CHF_NET_MSG"),
        (_NTO_CHF_SENDER_LEN, "_NTO_CHF_SENDER_LEN"),
        (_NTO_CHF_COID_DISCONNECT, "_NTO_CHF_COID_DISCONNECT"),
        (_NTO_CHF_REPLY_LEN, "_NTO_CHF_REPLY_LEN"),
        (_NTO_CHF_ASYNC_NONBLOCK, "_NTO_CHF_ASYNC_NONBLOCK"),
        (_NTO_CHF_ASYNC, "_NTO_CHF_ASYNC"),
        (_NTO_CHF_GLOBAL, "_NTO_CHF_GLOBAL"),
        (_NTO_CHF_PRIVATE, "_NTO_CHF_PRIVATE"),
    ]
};

/// The `_NTO_INTR_FLAGS_*` by name, in bit order.
const INTERRUPT_FLAGS: &[(u32, &str)] = {
    use crate::abi::consts::*;
    &[
        (_NTO_INTR_FLAGS_END, "_NTO_INTR_FLAGS_END"),
        (_NTO_INTR_FLAGS_NO_UNMASK, "_NTO_INTR_FLAGS_NO_UNMASK"),
        (_NTO_INTR_FLAGS_PROCESS, "_NTO_INTR_FLAGS_PROCESS"),
        (_NTO_INTR_FLAGS_TRK_MSK, "_NTO_INTR_FLAGS_TRK_MSK"),
        (_NTO_INTR_FLAGS_EXCLUSIVE, "_NTO_INTR_FLAGS_EXCLUSIVE"),
    ]
};

/// The `_NTO_COF_*` flags by name, in bit order.
const CONNECTION_FLAGS: &[(u32, &str)] = {
    use crate::abi::consts::*;
    &[
        (_NTO_COF_CLOEXEC, "_NTO_COF_CLOEXEC"),
        (_NTO_COF_DEAD, "_NTO_COF_DEAD"),
        (_NTO_COF_NOSHARE, "_NTO_COF_NOSHARE"),
        (_NTO_COF_NETCON, "_NTO_COF_NETCON"),
        (_NTO_COF_NONBLOCK, "_NTO_COF_NONBLOCK"),
        (_NTO_COF_ASYNC, "_NTO_COF_ASYNC"),
        (_NTO_COF_GLOBAL, "_NTO_COF_GLOBAL"),
    ]
};

/// `flags` as a person reads them: the value, then its bits by name (`0x408
/// (_NTO_CHF_DISCONNECT|_NTO_CHF_ASYNC)`), bits without a name in hex; `0x0` alone.
fn named_flags(flags: u32, names: &[(u32, &str)]) -> String {
    if flags == 0 {
        return "0x0".into();
    }
    let mut parts: Vec<String> = names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| (*name).to_string())
        .collect();
    let unnamed = names.iter().fold(flags, |rest, (bit, _)| rest & !bit);
    if unnamed != 0 {
        parts.push(format!("{unnamed:#x}"));
    }
    format!("{flags:#x} ({})", parts.join("|"))
}

impl fmt::Display for Snapshot {
    /// A `pidin`-like listing: threads with their states, then channels (an asyncmsg channel
    /// with its buffers and its ready list), then connections (an asyncmsg connection with its
    /// send queue; `-` where this program cannot read the queue).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>6} {:>4} {:>5} {:>5}  STATE",
            "PID", "TID", "PRI", "BASE"
        )?;
        for t in &self.threads {
            let ended = self.processes.iter().any(|p| p.pid == t.pid && p.ended);
            writeln!(
                f,
                "{:>6} {:>4} {:>5} {:>5}  {}{}{}",
                t.pid,
                t.tid,
                t.priority,
                t.base_priority,
                t.state,
                if t.internal { "  (library thread)" } else { "" },
                if ended {
                    "  (its program ended: not torn down yet)"
                } else {
                    ""
                }
            )?;
        }
        for c in &self.channels {
            writeln!(
                f,
                "channel pid {} chid {}: {} queued, {} receiving, flags {}",
                c.pid,
                c.chid,
                c.queued,
                c.receivers,
                named_flags(c.flags, CHANNEL_FLAGS)
            )?;
            if !c.queue.is_empty() {
                // (Head first: the order receives take them. A long queue is cut short.)
                const SHOWN: usize = 16;
                let mut q: Vec<String> =
                    c.queue.iter().take(SHOWN).map(|e| e.to_string()).collect();
                if c.queue.len() > SHOWN {
                    q.push(format!("and {} more", c.queue.len() - SHOWN));
                }
                writeln!(f, "  send queue: {}", q.join(", "))?;
            }
            if !c.names.is_empty() {
                let names: Vec<String> = c
                    .names
                    .iter()
                    .map(|n| {
                        if n.global {
                            format!("{} (global)", n.path)
                        } else {
                            n.path.clone()
                        }
                    })
                    .collect();
                writeln!(f, "  names: {}", names.join(", "))?;
            }
            if !c.paths.is_empty() {
                writeln!(f, "  paths: {}", c.paths.join(", "))?;
            }
            if let Some(a) = &c.asyncmsg {
                let ready: Vec<String> = a
                    .ready
                    .iter()
                    .map(|r| format!("pid {} coid {:#x}", r.pid, r.coid))
                    .collect();
                writeln!(
                    f,
                    "  asyncmsg: {} buffers of {} bytes per receive; ready list: {}",
                    a.max_num_buffer,
                    a.buffer_size,
                    if ready.is_empty() {
                        "empty".to_string()
                    } else {
                        ready.join(", ")
                    }
                )?;
            }
        }
        for i in &self.interrupts {
            writeln!(
                f,
                "interrupt {} id {} of pid {} tid {}: {}, flags {}, holds {} mask{}, delivered {}; level mask {}{}, raised {}",
                i.level,
                i.id,
                i.pid,
                i.tid,
                if i.handler {
                    "handler".to_string()
                } else {
                    format!("event {}", crate::abi::types::sigev::name(i.event_kind))
                },
                named_flags(i.flags, INTERRUPT_FLAGS),
                i.masks,
                if i.masks == 1 { "" } else { "s" },
                i.delivered,
                i.level_mask,
                if i.level_pending { " (a request pending)" } else { "" },
                i.level_raised,
            )?;
        }
        for m in &self.masked_levels {
            writeln!(
                f,
                "interrupt {}: no attachment; level mask {}{}",
                m.level,
                m.mask,
                if m.pending {
                    " (a request pending)"
                } else {
                    ""
                },
            )?;
        }
        for c in &self.connections {
            write!(
                f,
                "coid {:#x} of pid {} -> pid {} chid {} (scoid {:#x})",
                c.coid, c.pid, c.server_pid, c.chid, c.scoid
            )?;
            if c.flags != 0 {
                write!(f, ", flags {}", named_flags(c.flags, CONNECTION_FLAGS))?;
            }
            writeln!(f)?;
            if let Some(a) = &c.asyncmsg {
                let (pending, unreleased) = a.queue.map_or(("- pending".into(), "-".into()), |q| {
                    (
                        format!(
                            "{} pending ({} in flight, {} untriggered)",
                            q.pending,
                            q.in_flight,
                            q.pending - q.in_flight
                        ),
                        q.unreleased.to_string(),
                    )
                });
                writeln!(
                    f,
                    "  asyncmsg: {pending}, {unreleased} unreleased, {} batches, {} taken{}",
                    a.batches,
                    a.msgs_taken,
                    if a.ready { ", on the ready list" } else { "" }
                )?;
            }
        }
        Ok(())
    }
}

/// What `pidin-sim` prints, taken at one instant: the processes with their counters, the
/// [`Snapshot`], the kernel's entries and its pools' use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// Processes, threads, channels and connections.
    pub snapshot: Snapshot,
    /// Every pool's use.
    pub pools: PoolUsage,
    /// Kernel calls made, by every thread.
    pub kernel_entries: u64,
    /// In a kernel shared by programs, its asyncmsg queue arena's pages (None otherwise).
    pub queue_pages: Option<QueuePages>,
}

/// The use of a shared kernel's asyncmsg queue arena (`Config::async_queue_pages`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueuePages {
    /// Pages given out: send queues of connections between programs, and send buffers.
    pub in_use: u32,
    /// Of those, the programs' send buffers (where long messages wait for their receivers).
    pub send_buffers: u32,
    /// Whether SRR messages longer than a thread's window cross between programs through the
    /// region (Linux forbids the direct copy to a program of the kernel: calls/bounce.rs).
    pub long_copies_through_region: bool,
    /// Of the pages in use, those holding such messages, replies and writes in flight.
    pub long_messages: u32,
    /// Pages in all.
    pub capacity: u32,
}

// (Here rather than in kernel/: the listing is the inspector's, and only reads the tables.)
impl crate::kernel::Kernel {
    /// Everything `pidin-sim` shows, under one hold of the kernel lock (so the counters, the
    /// states and the pools agree). Its `Display` is `pidin-sim`'s output.
    pub fn listing(&self) -> Listing {
        let mut os_pids = Vec::new();
        #[cfg_attr(loom, allow(unused_mut))]
        let mut l = self.locked(|t| {
            if t.shared {
                os_pids = t
                    .procs
                    .live_ids()
                    .map(|id| (t.procs.at(id.index).pid, t.procs.at(id.index).os_pid))
                    .collect();
            }
            listing_of(t)
        });
        // A program of a shared kernel that has ended and is not reaped yet (looked at after
        // the lock is released: reading /proc under it would hold every program up).
        #[cfg(not(loom))]
        for p in &mut l.snapshot.processes {
            p.ended = os_pids
                .iter()
                .any(|&(pid, os)| pid == p.pid && os > 0 && !crate::copy::program_alive(os));
        }
        l
    }
}

/// [`Kernel::listing`]'s view of the tables (under the lock).
fn listing_of(t: &mut Tables<'_>) -> Listing {
    Listing {
        snapshot: snapshot(t),
        pools: pool_usage(t),
        kernel_entries: *t.kernel_entries,
        queue_pages: t.shared.then(|| {
            t.queue_pages.iter().filter(|p| p.owner != 0).fold(
                QueuePages {
                    capacity: t.queue_pages.len() as u32,
                    long_copies_through_region: crate::calls::bounce::on(t),
                    ..QueuePages::default()
                },
                |mut q, p| {
                    q.in_use += 1;
                    q.send_buffers += u32::from(crate::calls::asyncmsg::is_send_buffer(p.owner));
                    q.long_messages += u32::from(crate::calls::bounce::is_bounce(p.owner));
                    q
                },
            )
        }),
    }
}

impl crate::kernel::Kernel {
    /// The path manager's mountpoints (normalised, as `resmgr_attach` registered them, each
    /// once) and the [`Kernel::names_generation`](crate::Kernel::names_generation) they are
    /// current for (read before them: a later change makes the count differ). A client that
    /// keeps this knows, without a kernel call, that a path under none of them (and not under
    /// `/dev/name/`) resolves to nothing.
    pub fn mountpoints(&self) -> (u64, Vec<Vec<u8>>) {
        let gen = self.names_generation();
        let mut v = self.locked(|t| {
            t.names
                .live_ids()
                .map(|id| t.names.at(id.index))
                .filter(|n| n.mountpoint)
                .map(|n| n.path().to_vec())
                .collect::<Vec<_>>()
        });
        v.sort();
        v.dedup();
        (gen, v)
    }
}

impl fmt::Display for Listing {
    /// Processes with their counters (SRR's, then asyncmsg's: triggers made, messages taken
    /// from its connections, messages its receivers took), then the snapshot, then the pools.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>8} {:>7} {:>10} {:>9} {:>9} {:>8} {:>8} {:>9} {:>10} NAME",
            "PID",
            "THREADS",
            "KENTRIES",
            "SENT",
            "RECEIVED",
            "REPLIES",
            "TRIGGERS",
            "A-SENT",
            "A-RECEIVED"
        )?;
        for p in &self.snapshot.processes {
            let c = &p.counters;
            writeln!(
                f,
                "{:>8} {:>7} {:>10} {:>9} {:>9} {:>8} {:>8} {:>9} {:>10} {}",
                p.pid,
                p.threads,
                c.kernel_entries,
                c.msgs_sent,
                c.msgs_received,
                c.replies,
                c.async_triggers,
                c.async_msgs_sent,
                c.async_msgs_received,
                match (p.name.is_empty(), p.ended) {
                    (true, false) => "-".to_string(),
                    (false, false) => p.name.clone(),
                    (true, true) => "- (ended: not torn down yet)".to_string(),
                    (false, true) => format!("{} (ended: not torn down yet)", p.name),
                }
            )?;
        }
        writeln!(f)?;
        write!(f, "{}", self.snapshot)?;
        let p = &self.pools;
        writeln!(
            f,
            "\nkernel entries {} | in use: {} of {} processes, {} of {} threads, {} of {} channels, {} of {} connections, {} of {} pulses, {} of {} timers, {} of {} names, {} of {} interrupt attachments",
            self.kernel_entries,
            p.processes.live,
            p.processes.capacity,
            p.threads.live,
            p.threads.capacity,
            p.channels.live,
            p.channels.capacity,
            p.connections.live,
            p.connections.capacity,
            p.pulses.live,
            p.pulses.capacity,
            p.timers.live,
            p.timers.capacity,
            p.names.live,
            p.names.capacity,
            p.interrupts.live,
            p.interrupts.capacity,
        )?;
        if let Some(q) = self.queue_pages {
            write!(
                f,
                "asyncmsg queue pages: {} of {} in use, {} of them send buffers",
                q.in_use, q.capacity, q.send_buffers
            )?;
            if q.long_copies_through_region {
                write!(
                    f,
                    "; long messages between programs cross through the region ({} pages in \
                     flight)",
                    q.long_messages
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The snapshot's asyncmsg fields and their text, on a kernel driven through its public
    //! calls: two sender queues, triggers, a receive that drains one of them, a release, and a
    //! channel destroyed under a connection.

    use super::*;
    use crate::abi::asyncq::{AsyncQueue, MsgDesc};
    use crate::abi::consts::*;
    use crate::abi::types::{AsyncGetHeader, Iov};
    use crate::{Config, Kernel};

    static MSG: [u8; 8] = *b"reading!";

    /// Puts `n` copies of `MSG` on `q`, as `asyncmsg_put` does (no kernel entry).
    fn put(q: &AsyncQueue, n: usize) {
        for _ in 0..n {
            // SAFETY: this test is the queue's only producer, and `MSG` is static: valid and
            // unchanged for as long as any slot is outstanding.
            let r = unsafe {
                q.push(MsgDesc {
                    iov: Iov::from_slice(&MSG),
                    parts: 0,
                })
            };
            assert!(r.is_some(), "room in the queue");
        }
    }

    fn chan(s: &Snapshot, pid: i32, chid: i32) -> ChannelInfo {
        s.channels
            .iter()
            .find(|c| (c.pid, c.chid) == (pid, chid))
            .cloned()
            .expect("the channel in the snapshot")
    }

    fn conn(s: &Snapshot, pid: i32, coid: i32) -> ConnectionInfo {
        s.connections
            .iter()
            .find(|c| (c.pid, c.coid) == (pid, coid))
            .cloned()
            .expect("the connection in the snapshot")
    }

    #[test]
    fn snapshot_shows_ready_lists_send_queues_and_asyncmsg_counters() {
        let k = Kernel::new(Config::small()).expect("a kernel");
        let (server, a, b) = (
            k.process_create().expect("server"),
            k.process_create().expect("sender a"),
            k.process_create().expect("sender b"),
        );
        let st = k.thread_attach(server, 10).expect("server thread");
        let (ta, tb) = (
            k.thread_attach(a, 10).expect("a's thread"),
            k.thread_attach(b, 10).expect("b's thread"),
        );
        // A synchronous channel beside the asyncmsg one, and a connection to it.
        let sync_chid = st
            .channel_create(_NTO_CHF_DISCONNECT)
            .expect("ChannelCreate");
        let sync_coid = ta
            .connect_attach(0, server.pid, sync_chid, _NTO_SIDE_CHANNEL, 0)
            .expect("ConnectAttach");
        // Receives of at most 2 messages of 16 bytes.
        let chid = st
            .async_channel_create(0, 16, 2, None)
            .expect("async channel");
        let (qa, qb) = (AsyncQueue::new(8), AsyncQueue::new(8));
        // SAFETY: both queues outlive their connections (the channel is destroyed, and the
        // kernel lets go of the queues, before the end of the test), and only static messages
        // are pushed on them.
        let (ca, cb) = unsafe {
            (
                ta.async_connect_attach(0, server.pid, chid, _NTO_SIDE_CHANNEL, 0, &qa, -1)
                    .expect("a attaches"),
                tb.async_connect_attach(0, server.pid, chid, _NTO_SIDE_CHANNEL, 0, &qb, -1)
                    .expect("b attaches"),
            )
        };
        put(&qa, 3);
        put(&qb, 2);
        // Puts alone: pending, but nothing is ready until a trigger.
        let s = k.snapshot();
        assert_eq!(
            conn(&s, a.pid, ca).asyncmsg,
            Some(AsyncConnInfo {
                queue: Some(QueueCounts {
                    pending: 3,
                    in_flight: 0,
                    unreleased: 3
                }),
                batches: 0,
                msgs_taken: 0,
                ready: false,
            })
        );
        assert_eq!(chan(&s, server.pid, chid).asyncmsg.unwrap().ready, []);

        // b triggers first, then a: the ready list is in trigger order.
        assert_eq!(tb.msg_send_async(cb), Ok(2));
        assert_eq!(ta.msg_send_async(ca), Ok(3));
        let s = k.snapshot();
        let c = chan(&s, server.pid, chid);
        assert_eq!(c.flags, _NTO_CHF_ASYNC);
        assert_eq!(
            c.asyncmsg,
            Some(AsyncChannelInfo {
                buffer_size: 16,
                max_num_buffer: 2,
                ready: vec![
                    ReadyConnection {
                        pid: b.pid,
                        coid: cb
                    },
                    ReadyConnection {
                        pid: a.pid,
                        coid: ca
                    },
                ],
            })
        );
        let ia = conn(&s, a.pid, ca);
        assert_eq!((ia.chid, ia.flags), (chid, _NTO_COF_NOSHARE));
        assert_eq!(
            ia.asyncmsg,
            Some(AsyncConnInfo {
                queue: Some(QueueCounts {
                    pending: 3,
                    in_flight: 3,
                    unreleased: 3
                }),
                batches: 1,
                msgs_taken: 0,
                ready: true,
            })
        );
        // The synchronous objects have no asyncmsg part.
        assert_eq!(chan(&s, server.pid, sync_chid).asyncmsg, None);
        assert_eq!(conn(&s, a.pid, sync_coid).asyncmsg, None);

        // A receive of 2 drains b, the first on the list; a stays ready, now first.
        let mut arena = [0u8; 32];
        let mut hdrs = [AsyncGetHeader::default(); 2];
        assert_eq!(st.msg_receive_async(chid, &mut arena, &mut hdrs), Ok(2));
        let s = k.snapshot();
        assert_eq!(
            chan(&s, server.pid, chid).asyncmsg.unwrap().ready,
            [ReadyConnection {
                pid: a.pid,
                coid: ca
            }]
        );
        let ib = conn(&s, b.pid, cb).asyncmsg.unwrap();
        assert_eq!(
            (ib.queue, ib.batches, ib.msgs_taken, ib.ready),
            (
                Some(QueueCounts {
                    pending: 0,
                    in_flight: 0,
                    unreleased: 2
                }),
                1,
                2,
                false
            )
        );

        // The text: flags by name, the ready list in order, each queue's counts.
        let text = s.to_string();
        for want in [
            format!(
                "channel pid {} chid {sync_chid}: 0 queued, 0 receiving, flags 0x8 (_NTO_CHF_DISCONNECT)",
                server.pid
            ),
            format!(
                "channel pid {} chid {chid}: 0 queued, 0 receiving, flags 0x400 (_NTO_CHF_ASYNC)",
                server.pid
            ),
            format!(
                "  asyncmsg: 2 buffers of 16 bytes per receive; ready list: pid {} coid {ca:#x}",
                a.pid
            ),
            format!(
                "coid {ca:#x} of pid {} -> pid {} chid {chid} (scoid {:#x}), flags 0x40 (_NTO_COF_NOSHARE)",
                a.pid, server.pid, ia.scoid
            ),
            "  asyncmsg: 3 pending (3 in flight, 0 untriggered), 3 unreleased, 1 batches, 0 taken, on the ready list".into(),
            "  asyncmsg: 0 pending (0 in flight, 0 untriggered), 2 unreleased, 1 batches, 2 taken\n".into(),
        ] {
            assert!(text.contains(&want), "no {want:?} in\n{text}");
        }

        // The library releases b's taken slots: nothing left in its queue.
        qb.release_to(2);
        let ib = conn(&k.snapshot(), b.pid, cb).asyncmsg.unwrap();
        assert_eq!(
            ib.queue,
            Some(QueueCounts {
                pending: 0,
                in_flight: 0,
                unreleased: 0
            })
        );

        // The channel destroyed: the kernel lets go of the queues, whose counts are then
        // unknown ("-"); the coids stay until detached, on no channel.
        st.channel_destroy(chid).expect("ChannelDestroy");
        let s = k.snapshot();
        let ia = conn(&s, a.pid, ca);
        assert_eq!((ia.chid, ia.asyncmsg.unwrap().queue), (-1, None));
        let text = s.to_string();
        assert!(
            text.contains("  asyncmsg: - pending, - unreleased, 1 batches, 0 taken\n"),
            "{text}"
        );
        ta.connect_detach(ca).expect("detach a");
        tb.connect_detach(cb).expect("detach b");
    }

    #[test]
    fn listing_shows_processes_counters_the_snapshot_and_the_pools() {
        let k = Kernel::new(Config::small()).expect("a kernel");
        let p = k.process_create().expect("a process");
        let t = k.thread_attach(p, 10).expect("a thread");
        let chid = t
            .async_channel_create(0, 16, 2, None)
            .expect("async channel");
        let q = AsyncQueue::new(4);
        // SAFETY: the queue outlives the connection (detached below); only static messages.
        let coid = unsafe { t.async_connect_attach(0, p.pid, chid, _NTO_SIDE_CHANNEL, 0, &q, -1) }
            .expect("attach");
        put(&q, 1);
        assert_eq!(t.msg_send_async(coid), Ok(1));
        // One more put after the trigger: it waits for the next trigger.
        put(&q, 1);
        let l = k.listing();
        assert_eq!(l.snapshot.processes.len(), 1);
        assert_eq!(l.pools.connections.live, 1);
        let text = l.to_string();
        let mut lines = text.lines();
        assert_eq!(
            lines
                .next()
                .map(str::split_whitespace)
                .map(Iterator::collect::<Vec<_>>),
            Some(vec![
                "PID",
                "THREADS",
                "KENTRIES",
                "SENT",
                "RECEIVED",
                "REPLIES",
                "TRIGGERS",
                "A-SENT",
                "A-RECEIVED",
                "NAME"
            ])
        );
        let row: Vec<String> = lines
            .next()
            .expect("the process's row")
            .split_whitespace()
            .map(String::from)
            .collect();
        // pid, 1 thread, its 3 kernel entries, no SRR traffic, 1 trigger, nothing taken yet;
        // a simulated process of this program has no program name of its own.
        let mut want = [p.pid, 1, 3, 0, 0, 0, 1, 0, 0]
            .map(|v| v.to_string())
            .to_vec();
        want.push("-".into());
        assert_eq!(row, want, "{text}");
        assert!(
            text.contains(
                "  asyncmsg: 2 pending (1 in flight, 1 untriggered), 2 unreleased, 1 batches, 0 taken, on the ready list"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "in use: 1 of 4 processes, 1 of 8 threads, 1 of 4 channels, 1 of 8 connections"
            ),
            "{text}"
        );
        t.connect_detach(coid).expect("detach");
    }

    /// A program's name is kept as the listing and the trace show it: control characters
    /// (an argv[0] may hold any byte but NUL) as '?', cut at a character boundary to fit.
    #[test]
    fn program_names_are_kept_without_control_characters_and_cut_whole() {
        let k = Kernel::new(Config::small()).expect("a kernel");
        let name = |n: &str, pid: i32| {
            k.locked(|t| crate::calls::process::process_create_as(t, pid, 0, n))
                .expect("a process");
            let s = k.snapshot();
            s.processes
                .iter()
                .find(|p| p.pid == pid)
                .expect("listed")
                .name
                .clone()
        };
        assert_eq!(name("evil\x1b[31mRED\x01", 100), "evil?[31mRED?");
        // 22 bytes of 'a' and a 2-byte character: it does not fit in 23 bytes, and goes whole.
        assert_eq!(name(&format!("{}é", "a".repeat(22)), 101), "a".repeat(22));
        assert!(!k.listing().to_string().contains('\x1b'));
    }
}
