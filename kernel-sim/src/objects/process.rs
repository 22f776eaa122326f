//! A simulated process: a pid, its threads, and counters. Its chids and coids live in per-process
//! tables beside the pools (see `region.rs`), indexed by the process's slot.

use crate::objects::Channel;
use crate::pool::{Id, Pooled, SlotHdr, NIL};

use crate::abi::types::ProcCounters;

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
    /// The Linux process whose memory the process's buffers are in: 0 in a kernel of one Linux
    /// process (every simulated process shares its memory), its Linux pid in a shared kernel.
    pub os_pid: i32,
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
    /// Its program's name (a shared kernel's Linux program: the last part of its `argv[0]`,
    /// cut to 23 bytes), NUL padded; empty for a simulated process of one program.
    pub name: [u8; 24],
    /// Which program image of Linux process `os_pid` made it (`exec` starts a new image with
    /// the same pid; 0 in a kernel of one Linux process): a process of an earlier image is
    /// what that image left behind (`Kernel::forget_earlier_images`).
    pub os_image: u64,
    /// The base priority the first thread of the next program this process starts (`spawn*()`,
    /// or `exec` of its own Linux process) joins at: that of the thread that last started one,
    /// recorded by `Kernel::record_spawn_sched` just before; 0 for none (priority 10).
    pub spawn_prio: u8,
    /// That thread's scheduling policy (QNX's number, `SCHED_FIFO`, ...); 0 for none.
    pub spawn_policy: u8,
}

impl Process {
    /// Its program's name ("" if none).
    pub fn name(&self) -> &str {
        let n = self
            .name
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(self.name.len());
        std::str::from_utf8(&self.name[..n]).unwrap_or("")
    }
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
            os_pid: 0,
            state: ProcState::Alive,
            threads: NIL,
            nthreads: 0,
            next_tid: 1,
            death_chan: Id::NONE,
            counters: ProcCounters::default(),
            name: [0; 24],
            os_image: 0,
            spawn_prio: 0,
            spawn_policy: 0,
        }
    }
}
