//! A simulated process: a pid, its threads, and counters. Its chids and coids live in per-process
//! tables beside the pools (see `region.rs`), indexed by the process's slot.

use crate::objects::Channel;
use crate::pool::{Id, Pooled, SlotHdr, NIL};

/// Counters of what a process's threads did in the kernel, readable through the API.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcCounters {
    /// Kernel calls made by the process's threads (each one takes the kernel lock once).
    pub kernel_entries: u64,
    /// Threads woken by the process's kernel calls (futex wakes issued).
    pub wakeups: u64,
    /// Times a thread of the process blocked in the kernel.
    pub blocks: u64,
    /// Messages sent (MsgSend* that reached a channel).
    pub msgs_sent: u64,
    /// Messages received (MsgReceive* that returned an rcvid).
    pub msgs_received: u64,
    /// Replies and errors given (MsgReply*, MsgError).
    pub replies: u64,
    /// Pulses sent.
    pub pulses_sent: u64,
    /// Pulses received.
    pub pulses_received: u64,
    /// Bytes copied by the process's kernel calls.
    pub bytes_copied: u64,
    /// asyncmsg: triggers (MsgSendAsync: count, time or flush) made by the process.
    pub async_triggers: u64,
    /// asyncmsg: messages receivers took from the process's connections.
    pub async_msgs_sent: u64,
    /// asyncmsg: messages the process's receivers took.
    pub async_msgs_received: u64,
    /// asyncmsg: receives that returned at least one message.
    pub async_batches_received: u64,
}

/// A process's life.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    /// Running normally.
    Alive,
    /// Being torn down: new connections to it fail with ENXIO.
    Exiting,
}

/// A simulated process.
#[repr(C)]
#[derive(Debug)]
pub struct Process {
    /// Pool bookkeeping.
    pub hdr: SlotHdr,
    /// The process id programs see.
    pub pid: i32,
    /// Alive or exiting.
    pub state: ProcState,
    /// First thread of the process (slot index, linked through `Thread::pnext`).
    pub threads: u32,
    /// Live threads.
    pub nthreads: u32,
    /// The next thread id to hand out.
    pub next_tid: i32,
    /// The channel carrying `_NTO_CHF_THREAD_DEATH` / `_NTO_CHF_COID_DISCONNECT`, if any.
    pub death_chan: Id<Channel>,
    /// What the process's threads did in the kernel.
    pub counters: ProcCounters,
}

impl Pooled for Process {
    fn hdr(&self) -> &SlotHdr {
        &self.hdr
    }
    fn hdr_mut(&mut self) -> &mut SlotHdr {
        &mut self.hdr
    }
    fn vacant() -> Self {
        Process {
            hdr: SlotHdr::fresh(),
            pid: 0,
            state: ProcState::Alive,
            threads: NIL,
            nthreads: 0,
            next_tid: 1,
            death_chan: Id::NONE,
            counters: ProcCounters::default(),
        }
    }
}
