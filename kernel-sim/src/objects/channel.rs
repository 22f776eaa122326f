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
        }
    }
}
