//! A channel: where messages and pulses arrive for a process's receiving threads.

use crate::objects::{Process, QRef};
use crate::pool::{Id, Pooled, SlotHdr, NIL};
use crate::region::Tables;

/// A channel.
#[repr(C)]
#[derive(Debug)]
pub struct Channel {
    /// Pool bookkeeping.
    pub hdr: SlotHdr,
    /// The process that created it.
    pub owner: Id<Process>,
    /// Its chid in the owner's chid table.
    pub chid: i32,
    /// `_NTO_CHF_*` flags.
    pub flags: u32,
    /// The thread that last sent on it (the likely sender of the next message: a receiver
    /// spins for it if it runs on another CPU).
    pub last_client: Id<crate::objects::Thread>,
    /// The thread that last received a message on it (the likely receiver of the next one: a
    /// SEND-blocked client spins for it if it runs on another CPU).
    pub last_server: Id<crate::objects::Thread>,
    /// Head of the send queue (SEND-blocked threads and pulses, by priority, FIFO within one).
    pub(in crate::objects) sendq_head: QRef,
    /// Tail of the send queue.
    pub(in crate::objects) sendq_tail: QRef,
    /// Entries in the send queue.
    pub(in crate::objects) sendq_len: u32,
    /// Top of the stack of RECEIVE-blocked threads (slot index, linked through `qnext`).
    pub(in crate::objects) recv_top: u32,
    /// RECEIVE-blocked threads.
    pub(in crate::objects) nreceivers: u32,
    /// What kind of channel: synchronous, or asyncmsg with its own state.
    pub kind: ChannelKind,
}

/// A channel's kind.
#[repr(C, u8)]
#[derive(Clone, Copy, Debug)]
pub enum ChannelKind {
    /// A channel for Send-Receive-Reply messages and pulses.
    Sync,
    /// An asyncmsg channel (ChannelCreateExt with `_NTO_CHF_ASYNC`).
    Async(AsyncChannel),
}

/// The state only an asyncmsg channel has.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AsyncChannel {
    /// Bytes of each receive buffer (a longer message is EMSGSIZE).
    pub buffer_size: u64,
    /// Messages one receive may take.
    pub max_num_buffer: u32,
    /// The event delivered when messages become available, if any.
    pub event: Option<crate::abi::types::SigEvent>,
    /// The thread that created the channel (the event's target).
    pub creator: Id<crate::objects::Thread>,
    /// First connection with messages waiting (slot index, linked through the connections'
    /// `ready_next`), NIL if none: the ready list, in `Tables`' ready-list operations below.
    ready_head: u32,
    /// Last ready connection.
    ready_tail: u32,
    /// Ready connections.
    nready: u32,
    /// The CPU the last trigger ran on (-1: unknown), for a receiver's spin-or-sleep.
    pub last_trigger_cpu: i32,
}

impl AsyncChannel {
    /// A new asyncmsg channel's state.
    pub fn new(
        buffer_size: u64,
        max_num_buffer: u32,
        event: Option<crate::abi::types::SigEvent>,
        creator: Id<crate::objects::Thread>,
    ) -> AsyncChannel {
        AsyncChannel {
            buffer_size,
            max_num_buffer,
            event,
            creator,
            ready_head: NIL,
            ready_tail: NIL,
            nready: 0,
            last_trigger_cpu: -1,
        }
    }

    /// Connections with messages waiting.
    pub fn ready(&self) -> u32 {
        self.nready
    }
}

impl Channel {
    /// The asyncmsg state, if this is an asyncmsg channel.
    #[inline]
    pub fn asyncmsg(&self) -> Option<&AsyncChannel> {
        match &self.kind {
            ChannelKind::Async(a) => Some(a),
            ChannelKind::Sync => None,
        }
    }

    /// The asyncmsg state, mutable.
    #[inline]
    pub fn asyncmsg_mut(&mut self) -> Option<&mut AsyncChannel> {
        match &mut self.kind {
            ChannelKind::Async(a) => Some(a),
            ChannelKind::Sync => None,
        }
    }

    /// Entries (SEND-blocked threads and pulses) on its send queue.
    pub fn queued(&self) -> u32 {
        self.sendq_len
    }

    /// RECEIVE-blocked threads.
    pub fn receivers(&self) -> u32 {
        self.nreceivers
    }
}

impl Pooled for Channel {
    fn hdr(&self) -> &SlotHdr {
        &self.hdr
    }
    fn hdr_mut(&mut self) -> &mut SlotHdr {
        &mut self.hdr
    }
    fn vacant() -> Self {
        Channel {
            hdr: SlotHdr::fresh(),
            owner: Id::NONE,
            chid: 0,
            flags: 0,
            last_client: Id::NONE,
            last_server: Id::NONE,
            sendq_head: QRef::NONE,
            sendq_tail: QRef::NONE,
            sendq_len: 0,
            recv_top: NIL,
            nreceivers: 0,
            kind: ChannelKind::Sync,
        }
    }
}

/// The boosted-pulse key: above every priority (see [`sendq_key`]).
const BOOSTED: u16 = 0x100;

/// A send-queue entry's position key: its priority, with boosted kernel pulses above every
/// priority.
pub(crate) fn sendq_key(prio: u8, boosted: bool) -> u16 {
    if boosted {
        BOOSTED
    } else {
        prio as u16
    }
}

/// A channel's two queues, as QNX 6.4 keeps them:
///
/// * the **send queue**: SEND-blocked threads and pulses, by priority and FIFO within a
///   priority (boosted kernel pulses first), linked through the entries' `qprev`/`qnext`;
/// * the **receivers**: RECEIVE-blocked threads, a stack (the newest receiver gets the next
///   message), linked through `qnext`/`qprev`, with `recv_top` its top.
///
/// A thread is on the send queue exactly while its state is `Send`, and on the receivers
/// exactly while it is `Receive`: the thread transitions (`objects/thread.rs`) are the only
/// callers of the thread-side operations here.
impl Tables<'_> {
    /// An entry's position key.
    /// The priority of the first message or pulse queued on `ch` (0: none): what it still
    /// boosts its server to.
    pub(crate) fn sendq_first_prio(&self, ch: Id<Channel>) -> u8 {
        let head = self.chans.at(ch.index).sendq_head;
        match (head.as_thread(), head.as_pulse()) {
            (Some(i), _) => self.threads.at(i).send.prio,
            (_, Some(i)) => self.pulses.at(i).prio,
            _ => 0,
        }
    }

    fn sendq_key_of(&self, q: QRef) -> u16 {
        match (q.as_thread(), q.as_pulse()) {
            (Some(i), _) => self.threads.at(i).send.prio as u16,
            (_, Some(i)) => {
                let p = self.pulses.at(i);
                sendq_key(p.prio, p.boost)
            }
            _ => 0,
        }
    }

    fn sendq_links(&mut self, q: QRef) -> (&mut QRef, &mut QRef) {
        if let Some(i) = q.as_thread() {
            let t = self.threads.at_mut(i);
            (&mut t.qprev, &mut t.qnext)
        } else {
            let p = self.pulses.at_mut(q.as_pulse().unwrap_or(0));
            (&mut p.qprev, &mut p.qnext)
        }
    }

    /// The first entry of `ch`'s send queue (`QRef::NONE` if empty).
    pub(crate) fn sendq_head(&self, ch: Id<Channel>) -> QRef {
        self.chans.at(ch.index).sendq_head
    }

    /// The entry after `q` on its send queue.
    pub(crate) fn sendq_next(&self, q: QRef) -> QRef {
        match (q.as_thread(), q.as_pulse()) {
            (Some(i), _) => self.threads.at(i).qnext,
            (_, Some(i)) => self.pulses.at(i).qnext,
            _ => QRef::NONE,
        }
    }

    /// The first pulse on `ch`'s send queue (`QRef::NONE` if none).
    pub(crate) fn sendq_first_pulse(&self, ch: Id<Channel>) -> QRef {
        let mut q = self.sendq_head(ch);
        while !q.is_none() && q.as_pulse().is_none() {
            q = self.sendq_next(q);
        }
        q
    }

    /// Inserts `q` (position key `key`: see [`sendq_key`]) behind every entry of an equal or
    /// higher key.
    fn sendq_insert(&mut self, ch: Id<Channel>, q: QRef, key: u16) {
        let (head, tail) = {
            let c = self.chans.at(ch.index);
            (c.sendq_head, c.sendq_tail)
        };
        // Walk back from the tail past entries of lower priority (usually none: O(1)).
        let mut after = tail;
        while !after.is_none() && self.sendq_key_of(after) < key {
            after = *self.sendq_links(after).0;
        }
        let before = if after.is_none() {
            head
        } else {
            self.sendq_next(after)
        };
        {
            let (p, n) = self.sendq_links(q);
            *p = after;
            *n = before;
        }
        if after.is_none() {
            self.chans.at_mut(ch.index).sendq_head = q;
        } else {
            *self.sendq_links(after).1 = q;
        }
        if before.is_none() {
            self.chans.at_mut(ch.index).sendq_tail = q;
        } else {
            *self.sendq_links(before).0 = q;
        }
        self.chans.at_mut(ch.index).sendq_len += 1;
    }

    /// Unlinks `q` from `ch`'s send queue.
    fn sendq_remove(&mut self, ch: Id<Channel>, q: QRef) {
        let (p, n) = {
            let (p, n) = self.sendq_links(q);
            let r = (*p, *n);
            *p = QRef::NONE;
            *n = QRef::NONE;
            r
        };
        if p.is_none() {
            self.chans.at_mut(ch.index).sendq_head = n;
        } else {
            *self.sendq_links(p).1 = n;
        }
        if n.is_none() {
            self.chans.at_mut(ch.index).sendq_tail = p;
        } else {
            *self.sendq_links(n).0 = p;
        }
        self.chans.at_mut(ch.index).sendq_len -= 1;
    }

    /// Queues pulse slot `pi` on `ch`'s send queue at `key` (it is `queued` until removed).
    pub(crate) fn sendq_push_pulse(&mut self, ch: Id<Channel>, pi: u32, key: u16) {
        self.pulses.at_mut(pi).queued = true;
        self.sendq_insert(ch, QRef::pulse(pi), key);
    }

    /// Unlinks pulse slot `pi` from `ch`'s send queue (the caller releases or keeps it).
    pub(crate) fn sendq_remove_pulse(&mut self, ch: Id<Channel>, pi: u32) {
        self.sendq_remove(ch, QRef::pulse(pi));
        self.pulses.at_mut(pi).queued = false;
    }

    /// Queues SEND-blocked thread `i` at its send priority (thread transitions only).
    pub(super) fn sendq_push_thread(&mut self, ch: Id<Channel>, i: u32) {
        let key = self.threads.at(i).send.prio as u16;
        self.sendq_insert(ch, QRef::thread(i), key);
    }

    /// Unlinks thread `i` from `ch`'s send queue (thread transitions only).
    pub(super) fn sendq_remove_thread(&mut self, ch: Id<Channel>, i: u32) {
        self.sendq_remove(ch, QRef::thread(i));
    }

    /// Moves SEND-blocked thread `i`, whose send priority changed, to its place for it in
    /// `ch`'s send queue: behind every entry of an equal or higher priority, as if it had just
    /// sent (QNX re-sorts a SEND-blocked thread whose priority changes).
    pub(crate) fn sendq_requeue_thread(&mut self, ch: Id<Channel>, i: u32) {
        self.sendq_remove(ch, QRef::thread(i));
        self.sendq_push_thread(ch, i);
    }

    /// Pushes RECEIVE-blocked thread `i` on `ch`'s receivers (thread transitions only).
    pub(super) fn receivers_push(&mut self, ch: Id<Channel>, i: u32) {
        let top = self.chans.at(ch.index).recv_top;
        let th = self.threads.at_mut(i);
        th.qnext = if top == NIL {
            QRef::NONE
        } else {
            QRef::thread(top)
        };
        th.qprev = QRef::NONE;
        if top != NIL {
            self.threads.at_mut(top).qprev = QRef::thread(i);
        }
        let c = self.chans.at_mut(ch.index);
        c.recv_top = i;
        c.nreceivers += 1;
    }

    /// Unlinks thread `i` from `ch`'s receivers (thread transitions only).
    pub(super) fn receivers_remove(&mut self, ch: Id<Channel>, i: u32) {
        let (p, n) = {
            let th = self.threads.at_mut(i);
            let r = (th.qprev, th.qnext);
            th.qprev = QRef::NONE;
            th.qnext = QRef::NONE;
            r
        };
        match p.as_thread() {
            None => self.chans.at_mut(ch.index).recv_top = n.as_thread().unwrap_or(NIL),
            Some(pi) => self.threads.at_mut(pi).qnext = n,
        }
        if let Some(ni) = n.as_thread() {
            self.threads.at_mut(ni).qprev = p;
        }
        self.chans.at_mut(ch.index).nreceivers -= 1;
    }

    /// The newest RECEIVE-blocked thread on `ch` that takes messages (pulse-only receivers
    /// are skipped, so that messages go to full receivers), or with `any`, the newest of all.
    pub(crate) fn receiver(&self, ch: Id<Channel>, any: bool) -> Option<u32> {
        let mut i = self.chans.at(ch.index).recv_top;
        while i != NIL {
            let th = self.threads.at(i);
            if any || !th.recv.pulse_only {
                return Some(i);
            }
            i = th.qnext.as_thread().unwrap_or(NIL);
        }
        None
    }
}

/// An asyncmsg channel's ready list: its connections with messages waiting, FIFO, each at most
/// once (a connection's `in_ready`), linked through the connections' `ready_next`. A receive
/// takes batches round-robin: a connection not drained goes to the back.
impl Tables<'_> {
    fn ready_ends(&mut self, ch: Id<Channel>) -> Option<&mut AsyncChannel> {
        self.chans.get_mut(ch)?.asyncmsg_mut()
    }

    /// Appends asyncmsg connection slot `ci` to `ch`'s ready list (no-op on a synchronous one).
    pub(crate) fn ready_list_push(&mut self, ch: Id<Channel>, ci: u32) {
        let Some(tail) = self.ready_ends(ch).map(|a| a.ready_tail) else {
            return;
        };
        if let Some(c) = self.conns.at_mut(ci).asyncmsg_mut() {
            c.ready_next = NIL;
            c.in_ready = true;
        }
        if tail != NIL {
            if let Some(t) = self.conns.at_mut(tail).asyncmsg_mut() {
                t.ready_next = ci;
            }
        }
        if let Some(a) = self.ready_ends(ch) {
            if tail == NIL {
                a.ready_head = ci;
            }
            a.ready_tail = ci;
            a.nready += 1;
        }
    }

    /// Takes the first connection slot off `ch`'s ready list.
    pub(crate) fn ready_list_pop(&mut self, ch: Id<Channel>) -> Option<u32> {
        let head = self.ready_ends(ch)?.ready_head;
        if head == NIL {
            return None;
        }
        let next = match self.conns.at_mut(head).asyncmsg_mut() {
            Some(c) => {
                c.in_ready = false;
                std::mem::replace(&mut c.ready_next, NIL)
            }
            None => NIL,
        };
        let a = self.ready_ends(ch)?;
        a.ready_head = next;
        if next == NIL {
            a.ready_tail = NIL;
        }
        a.nready -= 1;
        Some(head)
    }

    /// `ch`'s ready list as receives will take it, first first (connection slot indices), for
    /// the inspector; empty for a synchronous channel. Read-only, and bounded by the list's
    /// count and by live slots, so that a damaged link (a kernel mapped by another program)
    /// never loops or reads outside the pool.
    pub(crate) fn ready_list(&self, ch: Id<Channel>) -> Vec<u32> {
        let Some(a) = self.chans.get(ch).and_then(Channel::asyncmsg) else {
            return Vec::new();
        };
        let n = a.nready as usize;
        let mut out = Vec::with_capacity(n.min(64));
        let mut i = a.ready_head;
        while i != NIL && out.len() < n {
            let Some(c) = self
                .conns
                .id_at(i)
                .and_then(|id| self.conns.get(id))
                .and_then(|c| c.asyncmsg())
            else {
                break;
            };
            out.push(i);
            i = c.ready_next;
        }
        out
    }

    /// Unlinks connection slot `ci` from `ch`'s ready list, if it is there (it is going away).
    pub(crate) fn ready_list_remove(&mut self, ch: Id<Channel>, ci: u32) {
        let listed = self.conns.at(ci).asyncmsg().is_some_and(|c| c.in_ready);
        if self.chans.get(ch).is_none() || !listed {
            return;
        }
        let mut kept = smallvec::SmallVec::<[u32; 8]>::new();
        while let Some(c) = self.ready_list_pop(ch) {
            if c != ci {
                kept.push(c);
            }
        }
        for c in kept {
            self.ready_list_push(ch, c);
        }
    }
}
