//! A thread control block: a thread's scheduling state, what it waits on, and the buffers of
//! the kernel call it is blocked in.

use crate::objects::{Channel, Connection, Process, QRef};
use crate::pool::{Id, Pooled, SlotHdr, NIL};
use crate::region::Tables;

/// A thread's state, naming what it waits on (QNX's STATE_* for message passing).
#[repr(C, u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KState {
    /// Not a live thread.
    Dead,
    /// Outside the kernel, or inside a call that does not block.
    Running,
    /// Readied by another thread's kernel call; not yet back from its own.
    Ready,
    /// SEND-blocked: queued on `chan`, waiting for a receiver.
    Send {
        /// The channel it is queued on.
        chan: Id<Channel>,
    },
    /// RECEIVE-blocked on `chan`, waiting for a message or pulse.
    Receive {
        /// The channel it waits on.
        chan: Id<Channel>,
    },
    /// REPLY-blocked: received by `server` on `chan`, waiting for the reply.
    Reply {
        /// The channel its message was received on.
        chan: Id<Channel>,
        /// The thread that received it.
        server: Id<Thread>,
    },
    /// INTR-blocked: in InterruptWait, waiting for a `SIGEV_INTR` event.
    Intr,
    /// NANOSLEEP-blocked: in TimerTimeout with `_NTO_TIMEOUT_NANOSLEEP` (the kernel side of
    /// nanosleep() and delay()), until its timeout fires or a signal interrupts it.
    Nanosleep,
}

impl KState {
    /// QNX's name of the state, as `pidin` prints it (and the trace's `qnx::state` events).
    pub fn name(&self) -> &'static str {
        match self {
            KState::Dead => "DEAD",
            KState::Running => "RUNNING",
            KState::Ready => "READY",
            KState::Send { .. } => "SEND",
            KState::Receive { .. } => "RECEIVE",
            KState::Reply { .. } => "REPLY",
            KState::Intr => "INTR",
            KState::Nanosleep => "NANOSLEEP",
        }
    }
}

/// The buffers and bookkeeping of a message in flight (valid in SEND and REPLY states).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SendDesc {
    /// The coid the client sent on.
    pub coid: i32,
    /// The connection behind it.
    pub conn: Id<Connection>,
    /// Address of the client's send iov array.
    pub siov: u64,
    /// Parts in it.
    pub sparts: u32,
    /// Address of the client's reply iov array.
    pub riov: u64,
    /// Parts in it.
    pub rparts: u32,
    /// Total bytes sent.
    pub slen: u64,
    /// Total bytes of reply buffer.
    pub rlen: u64,
    /// Bytes copied to the receiver.
    pub msglen: u64,
    /// Priority of the client when it sent.
    pub prio: u8,
    /// The client asked to unblock (`_NTO_MI_UNBLOCK_REQ`).
    pub unblock_req: bool,
    /// Why it asked (the errno of its request: ETIMEDOUT, EINTR, EBADF, ESRCH); what
    /// `MsgError(rcvid, -1)` passes on.
    pub unblock_err: i32,
    /// 0, or the errno the client leaves with whatever the server answers: its coid was
    /// detached (EBADF) or its process is being destroyed (ESRCH) while the server held it.
    pub forced_err: i32,
    /// The exchange holds a link on `conn` (taken when a forced unblock had to wait for the
    /// server), so the connection, and its disconnect pulse, outlive the coid until the
    /// server answers, as on QNX.
    pub holds_link: bool,
}

impl SendDesc {
    /// No message in flight.
    pub const EMPTY: SendDesc = SendDesc {
        coid: -1,
        conn: Id::NONE,
        siov: 0,
        sparts: 0,
        riov: 0,
        rparts: 0,
        slen: 0,
        rlen: 0,
        msglen: 0,
        prio: 0,
        unblock_req: false,
        unblock_err: 0,
        forced_err: 0,
        holds_link: false,
    };
}

/// The buffers of a receive in progress (valid in RECEIVE state).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RecvDesc {
    /// Address of the receiver's iov array.
    pub iov: u64,
    /// Parts in it.
    pub parts: u32,
    /// Total bytes of receive buffer.
    pub len: u64,
    /// Address of the receiver's `MsgInfo`, or 0.
    pub info: u64,
    /// Only pulses are wanted (MsgReceivePulse).
    pub pulse_only: bool,
    /// asyncmsg receive: address of the receiver's `AsyncGetHeader` array (0: not asyncmsg).
    pub async_hdrs: u64,
    /// asyncmsg receive: messages it may take.
    pub async_max: u32,
}

/// A short message, reply or pulse another program left in this thread's message window
/// (region.rs, `WINDOW`): the thread copies it into its own buffers when it collects its
/// result (kernel/entry.rs), as QNX's receiver copies a short message out of the kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inbox {
    /// [`Inbox::NONE`], or [`Inbox::FILLED`]: `len` bytes wait in the window.
    pub kind: u8,
    /// Bytes in the window to copy.
    pub len: u32,
    /// The thread's buffers to copy them into (its iov array and parts), and its `MsgInfo`'s
    /// address (0: none), in its own memory: recorded when the window was filled, while the
    /// thread was blocked in the call that named them.
    pub iov: u64,
    /// Parts in `iov`.
    pub parts: u32,
    /// Where to write `info` (0: nowhere: a reply, a pulse, or no `MsgInfo` asked for).
    pub info_at: u64,
    /// The `MsgInfo` to write for a message received.
    pub info: crate::abi::types::MsgInfo,
}

impl Inbox {
    /// Nothing waiting.
    pub const NONE: u8 = 0;
    /// A message, pulse or reply waits in the window.
    pub const FILLED: u8 = 1;
    /// An empty inbox.
    pub const EMPTY: Inbox = Inbox {
        kind: Inbox::NONE,
        len: 0,
        iov: 0,
        parts: 0,
        info_at: 0,
        info: crate::abi::types::MsgInfo::ZERO,
    };
}

/// A thread's blocks of the region's queue arena for messages longer than the window between
/// programs, when those cross through the region (calls/bounce.rs): its own message, copied in
/// at its MsgSend, and the writes a server in another program made for it (a long reply,
/// MsgWrites), which it copies into its reply buffers as its call ends.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounce {
    /// The block holding its message in flight (first page plus one; 0: none).
    pub msg: u32,
    /// The first and last blocks of writes waiting for it (first page plus one; 0: none).
    pub head: u32,
    /// See `head`.
    pub tail: u32,
    /// Parts in `iov`.
    pub parts: u32,
    /// The buffers the writes are for (its iov array, in its own memory): the reply buffers of
    /// its MsgSend.
    pub iov: u64,
}

impl Bounce {
    /// No blocks.
    pub const EMPTY: Bounce = Bounce {
        msg: 0,
        head: 0,
        tail: 0,
        parts: 0,
        iov: 0,
    };

    /// Whether the thread holds any block.
    #[inline]
    pub fn any(&self) -> bool {
        self.msg != 0 || self.head != 0
    }
}

/// What a blocked call returns once the thread is readied.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallResult {
    /// Nothing yet.
    Pending,
    /// Success with a value (rcvid, status, ...).
    Ok(i64),
    /// Failure with an errno.
    Err(i32),
    /// `MsgError(ERESTART)`: re-issue the send.
    Restart,
    /// Woken to run its call again (an asyncmsg receiver a trigger found waiting takes the
    /// batch itself): the same kernel call, not a new entry, its timeout still in force.
    Retry,
}

/// A kernel timeout armed by TimerTimeout for the thread's next kernel call.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutArm {
    /// `_NTO_TIMEOUT_*` states it applies to; 0 = none armed.
    pub states: u32,
    /// 0 = CLOCK_MONOTONIC, 1 = CLOCK_REALTIME.
    pub clock: u32,
    /// Absolute deadline in ns on `clock` (0 = already expired: poll).
    pub deadline: u64,
    /// What to do when it expires (`SIGEV_UNBLOCK`: leave with ETIMEDOUT).
    pub event: crate::abi::types::SigEvent,
}

impl TimeoutArm {
    /// No timeout.
    pub const NONE: TimeoutArm = TimeoutArm {
        states: 0,
        clock: 0,
        deadline: 0,
        event: crate::abi::types::SigEvent::UNBLOCK,
    };
}

/// How many wake-ups one readied thread takes over at most (`Thread::owed`).
pub const OWED_WAKES: usize = 16;

/// A thread control block.
#[repr(C)]
#[derive(Debug)]
pub struct Thread {
    /// Pool bookkeeping.
    pub hdr: SlotHdr,
    /// Owning process.
    pub proc: Id<Process>,
    /// Thread id within the process (from 1).
    pub tid: i32,
    /// Next thread of the same process (slot index).
    pub pnext: u32,
    /// State, naming what it waits on: changed only by the transitions below.
    state: KState,
    /// Priority set by the thread (1..=255).
    pub base_prio: u8,
    /// Current priority, after inheritance and boost.
    pub prio: u8,
    /// The priority it took from the message or pulse it last received (0: none since it last
    /// waited to receive): what a boost that is withdrawn gives back to, beside its base.
    pub inherited: u8,
    /// Scheduling policy, QNX's number (`SCHED_FIFO`, `SCHED_RR`, `SCHED_OTHER`): recorded
    /// for SchedGet, scheduling nothing (priorities are emulated).
    pub policy: u8,
    /// The channel it last received on (server boost applies to it).
    pub last_chan: Id<Channel>,
    /// Links in a channel's send queue or receive stack.
    pub(in crate::objects) qnext: QRef,
    /// Links in a channel's send queue or receive stack.
    pub(in crate::objects) qprev: QRef,
    /// Bumped every time the thread is received: rcvids carry it, so a stale rcvid is ESRCH.
    /// Carried over to the slot's next thread, so its rcvids differ from its predecessor's.
    /// 16 bits are used (see `RCVID_GEN_BITS`): rcvids fit in a C `int`.
    pub rcv_gen: u64,
    /// `rcv_gen` when this thread took its slot: rcvids with a generation after it and up to
    /// `rcv_gen` name this thread (MsgDeliverEvent takes any of them, as QNX's rcvids stay
    /// valid for events after the reply).
    pub first_gen: u64,
    /// The process that last received a message from this thread (MsgDeliverEvent's check).
    pub last_server: Id<Process>,
    /// The processes that have received a message from this thread since it took its slot,
    /// one bit per process slot modulo 64 ([`Thread::server_bit`]): an earlier rcvid of the
    /// thread is good for MsgDeliverEvent only with a server among them.
    pub servers: u64,
    /// The connection its last received message came through (MsgDeliverEvent to a client
    /// whose thread has exited goes to its process while that connection lives).
    pub last_conn: Id<Connection>,
    /// Kept in a freed slot until its next tenant: the process of the thread that exited, so
    /// that its rcvids can still reach its process (see `last_conn`).
    pub exited_proc: Id<Process>,
    /// The message in flight.
    pub send: SendDesc,
    /// The receive in progress.
    pub recv: RecvDesc,
    /// Result for the blocked call.
    pub result: CallResult,
    /// What another program left in this thread's window for it to copy in (see [`Inbox`]).
    pub inbox: Inbox,
    /// Its blocks for long messages between programs that cross through the region.
    pub bounce: Bounce,
    /// Timeout armed for the next kernel call.
    pub timeout_next: TimeoutArm,
    /// Timeout in force for the current call.
    pub timeout_cur: TimeoutArm,
    /// Linux thread id of the thread that registered, for the opt-in OS priority mode.
    pub os_tid: i32,
    /// The CPU the thread ran on when it last entered the kernel or collected a result (-1:
    /// unknown): a waiter spins only for a waker on another CPU.
    pub cpu: i32,
    /// Wake-ups this thread took over while readied (`Config::wake_handoff`): threads readied
    /// asleep after it, which it wakes when it collects its own result (or, freed first, its
    /// end does). Slot indices, NIL = empty; a stale one costs a spurious wake-up, nothing more.
    pub owed: [u32; OWED_WAKES],
    /// Kernel calls made by this thread.
    pub kernel_entries: u64,
    /// A `SIGEV_INTR` event came while the thread was not INTR-blocked: its next InterruptWait
    /// returns at once (several make one, as on QNX).
    pub intr_pending: bool,
    /// The process's interrupt service thread: the library's thread that runs the handlers
    /// attached with InterruptAttach (it waits INTR-blocked for the next one to run).
    pub isr_service: bool,
    /// Its INTR-blocked wait is the service thread's wait for a handler to run, not an
    /// InterruptWait (set by each of the two as it blocks).
    pub isr_waiting: bool,
    /// Its process is being destroyed, and it stays only because a server holds its message
    /// on an `_NTO_CHF_UNBLOCK` channel: it ends when the server answers.
    pub zombie: bool,
    /// A thread the library attaches to act for the process briefly (the clean-up of a handle
    /// dropped by another process's thread): its end is not the program's, so it sends no
    /// `_PULSE_CODE_THREADDEATH`.
    pub internal: bool,
    /// Attached by one OS thread for another that has not yet adopted it
    /// (`Kernel::thread_attach_for_another`): `os_tid` is still its maker's, so the opt-in OS
    /// priority mode leaves Linux alone until the thread adopts it and takes its priority then.
    pub provisional: bool,
    /// The call it is blocked in is a cancellation point of a C program's thread with
    /// cancellation enabled (`kernel_sim::cancel::point`): a `ThreadCancel` ends it.
    pub cancellable: bool,
    /// A `ThreadCancel` came while the thread was not blocked in a cancellation point: its next
    /// blocking call that is one ends at once (ECANCELED).
    pub cancel_pending: bool,
}

impl Pooled for Thread {
    fn hdr(&self) -> &SlotHdr {
        &self.hdr
    }
    fn hdr_mut(&mut self) -> &mut SlotHdr {
        &mut self.hdr
    }
    fn reset(&mut self) {
        let (g, server, conn, proc) = (self.rcv_gen, self.last_server, self.last_conn, self.proc);
        *self = Self::vacant();
        self.rcv_gen = g;
        self.last_server = server;
        self.last_conn = conn;
        self.exited_proc = proc;
    }
    fn vacant() -> Self {
        Thread {
            hdr: SlotHdr::fresh(),
            proc: Id::NONE,
            tid: 0,
            pnext: NIL,
            state: KState::Dead,
            base_prio: 0,
            prio: 0,
            inherited: 0,
            policy: 0,
            last_chan: Id::NONE,
            qnext: QRef::NONE,
            qprev: QRef::NONE,
            rcv_gen: 0,
            first_gen: 0,
            last_server: Id::NONE,
            servers: 0,
            last_conn: Id::NONE,
            exited_proc: Id::NONE,
            send: SendDesc::EMPTY,
            recv: RecvDesc {
                iov: 0,
                parts: 0,
                len: 0,
                info: 0,
                pulse_only: false,
                async_hdrs: 0,
                async_max: 0,
            },
            result: CallResult::Pending,
            inbox: Inbox::EMPTY,
            bounce: Bounce::EMPTY,
            timeout_next: TimeoutArm::NONE,
            timeout_cur: TimeoutArm::NONE,
            os_tid: 0,
            cpu: -1,
            owed: [NIL; OWED_WAKES],
            kernel_entries: 0,
            intr_pending: false,
            isr_service: false,
            isr_waiting: false,
            zombie: false,
            internal: false,
            provisional: false,
            cancellable: false,
            cancel_pending: false,
        }
    }
}

impl Thread {
    /// The bit of [`Thread::servers`] that stands for server process `p`.
    #[inline]
    pub fn server_bit(p: Id<Process>) -> u64 {
        1 << (p.index % 64)
    }

    /// Its state, naming what it waits on.
    #[inline]
    pub fn state(&self) -> KState {
        self.state
    }

    /// Clears the message-in-flight bookkeeping.
    pub fn clear_send(&mut self) {
        self.send = SendDesc::EMPTY;
    }
}

/// The thread transitions: every change of a thread's [`KState`] goes through one of these,
/// which keep the state and the thread's place in its channel's queues in step (a thread is
/// on a send queue exactly while `Send`, on a channel's receivers exactly while `Receive`).
impl Tables<'_> {
    /// Takes thread `i` off the queue its state puts it on, if any (its state is left as is:
    /// every caller sets the next one).
    fn unqueue(&mut self, i: u32) {
        match self.threads.at(i).state {
            KState::Send { chan } => self.sendq_remove_thread(chan, i),
            KState::Receive { chan } => self.receivers_remove(chan, i),
            _ => {}
        }
    }

    /// SEND-blocks thread `i` on `chan`: queued by the priority in its `send`, which the caller
    /// has filled.
    pub(crate) fn block_send(&mut self, i: u32, chan: Id<Channel>) {
        self.unqueue(i);
        self.threads.at_mut(i).state = KState::Send { chan };
        self.sendq_push_thread(chan, i);
        self.traced_state(i);
    }

    /// RECEIVE-blocks thread `i` on `chan`, on top of its receivers (its `recv` is filled).
    pub(crate) fn block_receive(&mut self, i: u32, chan: Id<Channel>) {
        self.unqueue(i);
        self.threads.at_mut(i).state = KState::Receive { chan };
        self.receivers_push(chan, i);
        self.traced_state(i);
    }

    /// REPLY-blocks client `i` (off the send queue if it was there): received by `server`
    /// on `chan`.
    #[inline(always)]
    pub(crate) fn block_reply(&mut self, i: u32, chan: Id<Channel>, server: Id<Thread>) {
        self.unqueue(i);
        self.threads.at_mut(i).state = KState::Reply { chan, server };
        // (Written only when it changes: the channel's slot is then logged for the undo
        // record once, not at every round trip.)
        if self
            .chans
            .get(chan)
            .is_some_and(|c| c.last_server != server)
        {
            if let Some(c) = self.chans.get_mut(chan) {
                c.last_server = server;
            }
        }
        self.traced_state(i);
    }

    /// INTR-blocks thread `i` (InterruptWait).
    pub(crate) fn block_intr(&mut self, i: u32) {
        self.unqueue(i);
        self.threads.at_mut(i).state = KState::Intr;
        self.traced_state(i);
    }

    /// NANOSLEEP-blocks thread `i` (TimerTimeout with `_NTO_TIMEOUT_NANOSLEEP`).
    pub(crate) fn block_nanosleep(&mut self, i: u32) {
        self.unqueue(i);
        self.threads.at_mut(i).state = KState::Nanosleep;
        self.traced_state(i);
    }

    /// Readies blocked thread `i` with `result` (off any queue) and schedules its wake-up: its
    /// wait word is bumped now and the futex wake made after the lock is released.
    pub(crate) fn ready(&mut self, i: u32, result: CallResult, fx: &mut crate::calls::Effects) {
        self.unqueue(i);
        let th = self.threads.at_mut(i);
        let was = std::mem::replace(&mut th.state, KState::Ready);
        th.result = result;
        th.qnext = QRef::NONE;
        th.qprev = QRef::NONE;
        if let KState::Send { chan } = was {
            // A sender leaving the queue unreceived (timed out, interrupted, released) takes
            // the boost it gave the server with it.
            self.unboost(chan, fx);
        }
        self.waits[i as usize].post();
        if !self.hand_off_wake(i, was) {
            fx.wake.push(i);
            // (Its wake-up is made by this call: it may carry others'.)
            *self.carrier = i;
        }
        if !matches!(was, KState::Ready) {
            self.traced_state(i);
        }
    }

    /// The wake hand-off (`Config::wake_handoff`; docs/design.md, "Wake hand-off"): whether
    /// the wake-up of thread `i`, just readied out of `was` (its word posted), was taken over
    /// by the carrier. Only for a client leaving REPLY-blocked while its server has more
    /// messages queued (a busy server; an idle one may as well wake it itself, at no cost to
    /// its next message), asleep (one spinning or about to look at its word needs no
    /// wake-up), and a carrier still readied, of at least its priority, in the same Linux
    /// program (a stopped program holds up no other's wake-ups), with room. The
    /// carrier wakes it when it collects its own result ([`Tables::pay_owed_wakes`]), or is
    /// freed: either comes soon, and nothing else it does in the kernel comes first. No cycle
    /// can form (a thread carries only wake-ups of threads readied after it, while it is still
    /// readied) and a chain cannot grow (a handed-off wake-up never makes its thread a carrier
    /// before it is made).
    #[inline]
    fn hand_off_wake(&mut self, i: u32, was: KState) -> bool {
        let r = *self.carrier;
        if !self.cfg.wake_handoff || r == i || r == NIL {
            return false;
        }
        let KState::Reply { chan, .. } = was else {
            return false;
        };
        if self.chans.get(chan).is_none_or(|c| c.queued() == 0) {
            return false;
        }
        let prio = self.threads.at(i).prio;
        let Some(c) = self.threads.id_at(r).map(|id| self.threads.at(id.index)) else {
            return false;
        };
        if c.state != KState::Ready || c.prio < prio {
            return false;
        }
        // Only within one Linux program: a program stopped (SIGSTOP, a debugger) must not hold
        // up another's wake-ups (its own threads are stopped with it anyway).
        let program =
            |p: crate::pool::Id<crate::objects::Process>| self.procs.get(p).map(|p| p.os_pid);
        if program(c.proc) != program(self.threads.at(i).proc) {
            return false;
        }
        let Some(k) = c.owed.iter().position(|&o| o == NIL) else {
            return false;
        };
        if !self.waits[i as usize].asleep() {
            return false;
        }
        self.threads.at_mut(r).owed[k] = i;
        true
    }

    /// Thread `i` collects its result, or is freed: the wake-ups it carries are made after the
    /// lock is released (their threads may carry others' in turn), and it is no longer the
    /// carrier. Returns how many.
    pub(crate) fn pay_owed_wakes(&mut self, i: u32, fx: &mut crate::calls::Effects) -> u32 {
        if *self.carrier == i {
            *self.carrier = NIL;
        }
        if self.threads.at(i).owed[0] == NIL {
            return 0; // (Filled in order: empty.)
        }
        let owed = std::mem::replace(&mut self.threads.at_mut(i).owed, [NIL; OWED_WAKES]);
        let mut n = 0;
        for o in owed.into_iter().take_while(|&o| o != NIL) {
            fx.wake.push(o);
            n += 1;
            if self.threads.id_at(o).is_some() && self.threads.at(o).state == KState::Ready {
                *self.carrier = o;
            }
        }
        n
    }

    /// Thread `i` runs: a new thread, one that collects its result, or one leaving its call
    /// from its own kernel entry (off any queue).
    #[inline(always)]
    pub(crate) fn set_running(&mut self, i: u32) {
        self.unqueue(i);
        let was = std::mem::replace(&mut self.threads.at_mut(i).state, KState::Running);
        if !matches!(was, KState::Running) {
            self.traced_state(i);
        }
    }

    /// Thread `i`, readied, collects its result in its own kernel entry and runs: as
    /// [`Tables::set_running`], its own slot unlogged (`Pool::get_mut_unlogged`: a readied
    /// thread is on no queue, nor is a running one).
    #[inline(always)]
    pub(crate) fn collected(&mut self, i: u32) {
        debug_assert_eq!(self.threads.at(i).state, KState::Ready);
        self.threads.at_mut_unlogged(i).state = KState::Running;
        self.traced_state(i);
    }

    /// Thread `i` is about to be freed: its `DEAD` trace event (the state itself is reset with
    /// the slot).
    pub(crate) fn trace_dead(&self, i: u32) {
        if crate::trace::on(self.trace) {
            let (pid, tid) = self.trace_ids(i);
            crate::trace::state(self.trace, pid, tid, KState::Dead.name(), 0, -1);
        }
    }

    /// The `qnx::state` event of thread `i`'s new state (when tracing is on: one load
    /// otherwise). For SEND and REPLY the peer is the server's process and the channel, for
    /// RECEIVE the channel.
    #[inline(always)]
    fn traced_state(&self, i: u32) {
        if crate::trace::on(self.trace) {
            self.trace_state(i);
        }
    }

    #[inline(never)]
    fn trace_state(&self, i: u32) {
        let state = self.threads.at(i).state;
        let (pid, tid) = self.trace_ids(i);
        let (peer_pid, chid) = match state {
            KState::Send { chan } | KState::Reply { chan, .. } => self.trace_chan(chan),
            KState::Receive { chan } => (0, self.trace_chan(chan).1),
            _ => (0, -1),
        };
        crate::trace::state(self.trace, pid, tid, state.name(), peer_pid, chid);
    }
}
