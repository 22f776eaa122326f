//! A channel: where messages and pulses arrive for a process's receiving threads.

use crate::objects::{Process, QRef};
use crate::pool::{Id, Pooled, SlotHdr, NIL};

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
    /// Head of the send queue (SEND-blocked threads and pulses, by priority, FIFO within one).
    pub sendq_head: QRef,
    /// Tail of the send queue.
    pub sendq_tail: QRef,
    /// Entries in the send queue.
    pub sendq_len: u32,
    /// Top of the stack of RECEIVE-blocked threads (slot index, linked through `qnext`).
    pub recv_top: u32,
    /// RECEIVE-blocked threads.
    pub nreceivers: u32,
    /// asyncmsg: bytes of each receive buffer (a longer message is EMSGSIZE).
    pub buffer_size: u64,
    /// asyncmsg: messages one receive may take.
    pub max_num_buffer: u32,
    /// asyncmsg: the event delivered when messages become available, if `has_event`.
    pub event: crate::abi::types::SigEvent,
    /// asyncmsg: whether `event` is set.
    pub has_event: bool,
    /// asyncmsg: the thread that created the channel (the event's target).
    pub creator: Id<crate::objects::Thread>,
    /// asyncmsg: first connection with messages waiting (slot index, linked through
    /// `Connection::ready_next`), NIL if none.
    pub ready_head: u32,
    /// asyncmsg: last ready connection.
    pub ready_tail: u32,
    /// asyncmsg: ready connections.
    pub nready: u32,
    /// asyncmsg: the CPU the last trigger ran on (-1: unknown), for a receiver's spin-or-sleep.
    pub last_trigger_cpu: i32,
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
            sendq_head: QRef::NONE,
            sendq_tail: QRef::NONE,
            sendq_len: 0,
            recv_top: NIL,
            nreceivers: 0,
            buffer_size: 0,
            max_num_buffer: 0,
            event: crate::abi::types::SigEvent::NONE,
            has_event: false,
            creator: Id::NONE,
            ready_head: NIL,
            ready_tail: NIL,
            nready: 0,
            last_trigger_cpu: -1,
        }
    }
}
