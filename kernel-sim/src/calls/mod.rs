//! The kernel calls: plain functions over the kernel tables.
//!
//! Each call has the shape
//! `fn call(t: &mut Tables, me: Caller, args.., fx: &mut Effects) -> KResult<Step>`: no locks, no
//! blocking, no system calls. It changes the tables, records in `fx` which threads it readied,
//! and says whether the caller is done (with a value) or must block, or fails with an errno
//! (so `?` works). [`crate::syscalls::dispatch`] is the one `match` that picks the call; the
//! entry around it takes the lock, applies the effects after releasing the lock, and blocks
//! the caller if asked: that is the one place that blocks and wakes.
//!
//! This module holds what the families share: queues, look-ups, readying a thread.

pub mod asyncmsg;
pub(crate) mod bounce;
pub mod channel;
pub mod connect;
pub mod event;
pub mod interrupt;
pub mod name;
pub mod process;
pub mod pulse;
pub mod srr;
pub mod timeout;
pub mod timer;

#[cfg(all(test, not(loom)))]
mod tests;

use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::RcvId;
use crate::objects::{Channel, CoidSlot, Connection, KState, Process, Thread};
use crate::pool::{Id, NIL};
use crate::region::Tables;
use smallvec::SmallVec;

pub(crate) use crate::abi::ids::{rcvid_make, rcvid_next_gen, rcvid_parts};

/// Who is calling.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    /// The calling thread.
    pub thread: Id<Thread>,
    /// Its process.
    pub proc: Id<Process>,
}

/// What a call does besides its result: threads to wake once the lock is released.
#[derive(Debug, Default)]
pub struct Effects {
    /// Thread slots readied by the call (their wait words are already bumped).
    pub wake: SmallVec<[u32; 4]>,
    /// (Linux tid, priority) of threads whose current priority changed, for the OS priority mode.
    pub prio: SmallVec<[(i32, u8); 2]>,
    /// Signals to send (events of the SIGEV_SIGNAL kinds).
    pub signals: SmallVec<[event::SignalOut; 1]>,
    /// Wake-ups owed to words outside the region (asyncmsg sender queues' progress words).
    pub wake_words: SmallVec<[crate::wait::PendingWake; 1]>,
}

/// What happens next to the caller of a call that did not fail (after Hubris's `NextTask`):
/// the entry (`kernel/entry.rs`) acts on it, whether a call returned it or a waker left it
/// for a blocked caller (`CallResult`). "Run again" is a step of its own, never an errno
/// value, so no server can fake one.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Finished: the call returns this value.
    Done(i64),
    /// The caller is now SEND-, RECEIVE- or REPLY-blocked; the next step comes from a waker.
    Block,
    /// Run the same call again, as the same kernel entry with its timeout in force (what a
    /// trigger leaves an asyncmsg receiver it found waiting, which then takes the batch
    /// itself).
    Retry,
    /// Make the call again as a new kernel entry (what `MsgError(rcvid, ERESTART)` leaves the
    /// client).
    Restart,
}

impl Tables<'_> {
    /// The process slot's index into the per-process tables.
    pub(crate) fn pslot(&self, p: Id<Process>) -> usize {
        p.index as usize
    }

    /// The channel behind `chid` in process `p`.
    pub(crate) fn chan_of(&self, p: Id<Process>, chid: i32) -> Option<Id<Channel>> {
        let per = self.cfg.chids_per_process as i32;
        if chid < 1 || chid > per {
            return None;
        }
        let id = self.chids[self.pslot(p) * per as usize + (chid - 1) as usize];
        self.chans.get(id).map(|_| id)
    }

    /// The coid-table slot for `coid` in process `p`.
    pub(crate) fn coid_slot(&mut self, p: Id<Process>, coid: i32) -> Option<&mut CoidSlot> {
        let c = coid as u32;
        if coid < 0 {
            return None;
        }
        if c & _NTO_SIDE_CHANNEL != 0 {
            let i = (c & !_NTO_SIDE_CHANNEL) as usize;
            let per = self.cfg.side_coids_per_process as usize;
            if i == 0 || i >= per {
                return None;
            }
            let base = self.pslot(p) * per;
            self.log(base + i, |t| &t.sides[..]);
            Some(&mut self.sides[base + i])
        } else {
            let per = self.cfg.fd_coids_per_process as usize;
            if c as usize >= per {
                return None;
            }
            let base = self.pslot(p) * per;
            self.log(base + c as usize, |t| &t.fds[..]);
            Some(&mut self.fds[base + c as usize])
        }
    }

    /// The coid-table slot for `coid` in process `p`, to read (not logged: [`Tables::coid_slot`]
    /// is the one to change it through).
    pub(crate) fn coid_slot_ref(&self, p: Id<Process>, coid: i32) -> Option<CoidSlot> {
        let c = coid as u32;
        if coid < 0 {
            return None;
        }
        if c & _NTO_SIDE_CHANNEL != 0 {
            let i = (c & !_NTO_SIDE_CHANNEL) as usize;
            let per = self.cfg.side_coids_per_process as usize;
            if i == 0 || i >= per {
                return None;
            }
            Some(self.sides[self.pslot(p) * per + i])
        } else {
            let per = self.cfg.fd_coids_per_process as usize;
            if c as usize >= per {
                return None;
            }
            Some(self.fds[self.pslot(p) * per + c as usize])
        }
    }

    /// The connection a client coid names (EBADF if none).
    pub(crate) fn conn_of(&self, p: Id<Process>, coid: i32) -> KResult<Id<Connection>> {
        match self.coid_slot_ref(p, coid) {
            Some(CoidSlot::Coid(c)) => self.conns.get(c).map(|_| c).ok_or(Errno::EBADF),
            _ => Err(Errno::EBADF),
        }
    }

    /// The synchronous connection a client coid names: EBADF if none, or if it is an asyncmsg
    /// connection (those carry only asyncmsg traffic).
    pub(crate) fn sync_conn_of(&self, p: Id<Process>, coid: i32) -> KResult<Id<Connection>> {
        let c = self.conn_of(p, coid)?;
        if self.conns.at(c.index).asyncmsg().is_some() {
            return Err(Errno::EBADF);
        }
        Ok(c)
    }

    /// Takes the lowest free side-channel slot of process `p` (slot 0 is the process manager's).
    pub(crate) fn alloc_side(&mut self, p: Id<Process>, v: CoidSlot) -> Option<i32> {
        let per = self.cfg.side_coids_per_process as usize;
        let base = self.pslot(p) * per;
        let i = (1..per).find(|&i| self.sides[base + i] == CoidSlot::Free)?;
        self.log(base + i, |t| &t.sides[..]);
        self.sides[base + i] = v;
        Some((_NTO_SIDE_CHANNEL | i as u32) as i32)
    }

    /// Wakes blocked thread `idx` without readying it, so it re-judges its deadline.
    pub(crate) fn nudge(&mut self, idx: u32, fx: &mut Effects) {
        self.waits[idx as usize].post();
        fx.wake.push(idx);
    }

    /// Sets thread `idx`'s current priority, noting the change for the OS priority mode, and
    /// traces it (`why`: `"inherit"`, `"boost"`, `"restore"`, `"set"`).
    pub(crate) fn set_prio(&mut self, idx: u32, prio: u8, why: &'static str, fx: &mut Effects) {
        let th = self.threads.at_mut(idx);
        if th.prio != prio {
            // A readied thread raised above the carrier that may hold its wake-up (the wake
            // hand-off) must not wait for that one: its wake-up is made now (a second one is
            // harmless).
            if prio > th.prio && th.state() == crate::objects::KState::Ready {
                fx.wake.push(idx);
            }
            let th = self.threads.at_mut(idx);
            th.prio = prio;
            // (A thread not yet adopted by its OS thread takes its priority when it is.)
            if !th.provisional {
                fx.prio.push((th.os_tid, prio));
            }
            // A SEND-blocked thread (a server whose own client boosted it while it waits on
            // another server, say) takes its new place in that server's queue, and its message
            // carries the new priority, as QNX re-sorts it.
            if let crate::objects::KState::Send { chan } = th.state() {
                let was = th.send.prio;
                if was != prio {
                    th.send.prio = prio;
                    self.sendq_requeue_thread(chan, idx);
                    // Raised, it boosts the server it waits on, as a sender newly queued at
                    // that priority would (through a chain of servers: priorities only rise,
                    // so it ends).
                    if prio > was {
                        self.boost(chan, prio, fx);
                    } else {
                        // Lowered, it takes back what it gave beyond what is still owed
                        // (priorities only fall along the chain, so it ends too).
                        self.unboost(chan, fx);
                    }
                }
            }
            if crate::trace::on(self.trace) {
                self.trace_prio(idx, why);
            }
        }
    }

    /// The `qnx::prio` event of thread `idx`'s priorities now.
    #[inline(never)]
    pub(crate) fn trace_prio(&self, idx: u32, why: &'static str) {
        let (pid, tid) = self.trace_ids(idx);
        let th = self.threads.at(idx);
        crate::trace::prio(self.trace, pid, tid, th.prio, th.base_prio, why);
    }

    /// Thread slot `i`'s pid and tid, for a trace event (pid 0 if its process is gone).
    pub(crate) fn trace_ids(&self, i: u32) -> (i32, i32) {
        let th = self.threads.at(i);
        (self.procs.get(th.proc).map_or(0, |p| p.pid), th.tid)
    }

    /// Channel `chan`'s owner's pid and its chid, for a trace event ((0, -1) if it is gone).
    pub(crate) fn trace_chan(&self, chan: Id<Channel>) -> (i32, i32) {
        self.chans.get(chan).map_or((0, -1), |c| {
            (self.procs.get(c.owner).map_or(0, |p| p.pid), c.chid)
        })
    }

    /// The `exchange` id of client thread `ci`'s message in flight: its slot, the slot's
    /// generation and its kernel entries (which stay the same while it is SEND- and
    /// REPLY-blocked in the one MsgSend): see `crate::trace`.
    pub(crate) fn exchange_of(&self, ci: u32) -> u64 {
        let th = self.threads.at(ci);
        crate::trace::flow_id(ci, th.hdr.gen, th.kernel_entries)
    }

    /// Server boost: a client queued at `prio` with no receiver waiting raises every thread of
    /// the server process whose last receive was on `ch` to `prio`.
    pub(crate) fn boost(&mut self, ch: Id<Channel>, prio: u8, fx: &mut Effects) {
        let c = self.chans.at(ch.index);
        if c.flags & _NTO_CHF_FIXED_PRIORITY != 0 {
            return;
        }
        let owner = c.owner;
        let mut i = self.procs.at(owner.index).threads;
        while i != NIL {
            let (last, cur, next) = {
                let th = self.threads.at(i);
                (th.last_chan, th.prio, th.pnext)
            };
            if last == ch && cur < prio {
                self.set_prio(i, prio, "boost", fx);
            }
            i = next;
        }
    }

    /// Receiver `idx` takes the priority of the message or pulse it receives, and remembers it
    /// as what a withdrawn boost gives back to (`unboost`).
    pub(crate) fn inherit(&mut self, idx: u32, prio: u8, fx: &mut Effects) {
        self.set_prio(idx, prio, "inherit", fx);
        self.threads.at_mut(idx).inherited = prio;
    }

    /// A boost withdrawn: a sender queued on `ch` left unreceived, or was lowered. Every
    /// thread of the server process whose last receive was on `ch` and that runs above what it
    /// is still owed (its base priority, the priority of the message or pulse it last received,
    /// and that of the first entry still queued on `ch`) drops to that, as QNX recomputes a
    /// server's boost. (Raising is `boost`'s.)
    pub(crate) fn unboost(&mut self, ch: Id<Channel>, fx: &mut Effects) {
        let Some(c) = self.chans.get(ch) else {
            return;
        };
        if c.flags & _NTO_CHF_FIXED_PRIORITY != 0 {
            return;
        }
        let owner = c.owner;
        let queued = self.sendq_first_prio(ch);
        let Some(p) = self.procs.get(owner) else {
            return;
        };
        let mut i = p.threads;
        while i != NIL {
            let (last, cur, owed, next) = {
                let th = self.threads.at(i);
                (
                    th.last_chan,
                    th.prio,
                    th.base_prio.max(th.inherited).max(queued),
                    th.pnext,
                )
            };
            if last == ch && cur > owed {
                self.set_prio(i, owed, "restore", fx);
            }
            i = next;
        }
    }

    /// The rcvid naming thread `idx`'s current message.
    pub(crate) fn rcvid_of(&self, idx: u32) -> RcvId {
        rcvid_make(idx, self.threads.at(idx).rcv_gen)
    }

    /// The REPLY-blocked client a server's rcvid names (ESRCH if none, stale, or not ours).
    pub(crate) fn client_of(&self, me: Caller, rcvid: RcvId) -> KResult<u32> {
        let (idx, gen) = rcvid_parts(rcvid).ok_or(Errno::ESRCH)?;
        let Some(id) = self.threads.id_at(idx) else {
            return Err(Errno::ESRCH);
        };
        let th = self.threads.at(id.index);
        match th.state() {
            KState::Reply { chan, .. } if th.rcv_gen == gen => match self.chans.get(chan) {
                Some(c) if c.owner == me.proc => Ok(idx),
                _ => Err(Errno::ESRCH),
            },
            _ => Err(Errno::ESRCH),
        }
    }

    /// Counters of process `p`.
    pub(crate) fn counters(&mut self, p: Id<Process>) -> &mut crate::abi::types::ProcCounters {
        // (Counters are statistics: a call undone after its program died may stay counted.)
        &mut self.procs.at_mut_unlogged(p.index).counters
    }

    /// The thread that process-directed signals and events of process `p` go to: a thread of
    /// the program's (not a library's internal thread, which blocks signals), preferring one
    /// with a Linux thread. An event that needs no thread to run a handler (a pulse goes to a
    /// connection of the process) settles, when the program has none, for an internal thread
    /// (`any`); a signal does not. `None` if there is no such thread.
    pub(crate) fn program_thread(&self, p: Id<Process>, any: bool) -> Option<u32> {
        let (mut program, mut internal) = (None, None);
        let mut i = self.procs.get(p)?.threads;
        while i != NIL {
            let th = self.threads.at(i);
            if th.internal {
                internal = internal.or(Some(i));
            } else if th.os_tid != 0 {
                return Some(i);
            } else {
                program = program.or(Some(i));
            }
            i = th.pnext;
        }
        program.or(if any { internal } else { None })
    }

    /// Logs entry `i` of the table `table` picks (chids, fds, sides) in a shared kernel's undo
    /// record before it is changed (undo.rs).
    #[inline]
    pub(crate) fn log<T>(&self, i: usize, table: impl FnOnce(&Self) -> &[T]) {
        if let Some(u) = self.undo {
            if let Some(v) = table(self).get(i) {
                u.get().log_val(v);
            }
        }
    }

    /// Whose memory thread `i`'s buffers are in (copy.rs).
    #[inline]
    pub(crate) fn space_of(&self, i: u32) -> crate::copy::Space {
        if !self.shared {
            // (Every process of a kernel of one program is in that program's memory.)
            return crate::copy::Space::LOCAL;
        }
        let proc = self.threads.at(i).proc;
        crate::copy::Space(self.procs.get(proc).map_or(0, |p| p.os_pid))
    }

    /// Whose memory process `p`'s buffers are in (copy.rs).
    #[inline]
    pub(crate) fn space_of_proc(&self, p: Id<Process>) -> crate::copy::Space {
        if !self.shared {
            return crate::copy::Space::LOCAL;
        }
        crate::copy::Space(self.procs.get(p).map_or(0, |p| p.os_pid))
    }

    /// The process with pid `pid`.
    pub(crate) fn proc_by_pid(&self, pid: i32) -> Option<Id<Process>> {
        self.procs
            .live_ids()
            .find(|&id| self.procs.at(id.index).pid == pid)
    }

    /// The slot of thread `tid` of process `proc` (a live one): the first on its thread list.
    pub(crate) fn thread_by_tid(&self, proc: Id<Process>, tid: i32) -> Option<u32> {
        let mut i = self.procs.at(proc.index).threads;
        while i != crate::pool::NIL {
            let th = self.threads.at(i);
            if th.tid == tid {
                return Some(i);
            }
            i = th.pnext;
        }
        None
    }
}
