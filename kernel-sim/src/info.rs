//! Read-only views of the kernel for people and tools: thread states naming whom they wait on,
//! channels and their queues, connections, pool usage. Built under the kernel lock, so each
//! picture is consistent; what `pidin` shows on QNX.

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
    /// RECEIVE-blocked threads.
    pub receivers: u32,
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
        s.channels.push(ChannelInfo {
            pid: t.procs.at(c.owner.index).pid,
            chid: c.chid,
            flags: c.flags,
            queued: c.queued(),
            receivers: c.receivers(),
        });
    }
    s.channels.sort_by_key(|c| (c.pid, c.chid));
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
                    s.connections.push(ConnectionInfo {
                        pid,
                        coid,
                        server_pid: k.server_pid,
                        chid,
                        scoid: k.scoid,
                    });
                }
            }
        }
    }
    s
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
    }
}

impl fmt::Display for Snapshot {
    /// A `pidin`-like listing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>6} {:>4} {:>5} {:>5}  STATE",
            "PID", "TID", "PRI", "BASE"
        )?;
        for t in &self.threads {
            writeln!(
                f,
                "{:>6} {:>4} {:>5} {:>5}  {}",
                t.pid, t.tid, t.priority, t.base_priority, t.state
            )?;
        }
        for c in &self.channels {
            writeln!(
                f,
                "channel pid {} chid {}: {} queued, {} receiving, flags {:#x}",
                c.pid, c.chid, c.queued, c.receivers, c.flags
            )?;
        }
        for c in &self.connections {
            writeln!(
                f,
                "coid {:#x} of pid {} -> pid {} chid {} (scoid {:#x})",
                c.coid, c.pid, c.server_pid, c.chid, c.scoid
            )?;
        }
        Ok(())
    }
}
