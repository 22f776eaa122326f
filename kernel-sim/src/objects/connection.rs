//! A connection: a client process's link to a channel, shared by its coids unless
//! `_NTO_COF_NOSHARE`, and seen by the server as one scoid.

use crate::objects::{Channel, Process};
use crate::pool::{Id, Pooled, SlotHdr};

/// A connection object.
#[repr(C)]
#[derive(Debug)]
pub struct Connection {
    /// Pool bookkeeping.
    pub hdr: SlotHdr,
    /// The process that attached.
    pub client: Id<Process>,
    /// The channel; `Id::NONE` once the channel is destroyed (sends then fail with EBADF).
    pub chan: Id<Channel>,
    /// The channel's owner.
    pub server: Id<Process>,
    /// The chid it was attached to (for sharing look-ups).
    pub chid: i32,
    /// The server's pid (for sharing look-ups).
    pub server_pid: i32,
    /// The node descriptor given to ConnectAttach.
    pub nd: u32,
    /// Client coids linked to it.
    pub links: u32,
    /// `_NTO_COF_*` flags.
    pub flags: u32,
    /// The scoid the server sees (`| _NTO_SIDE_CHANNEL`), 0 if none.
    pub scoid: i32,
    /// asyncmsg: the address of the sender's `AsyncQueue` (in the client's memory), 0 for a
    /// synchronous connection.
    pub aq: u64,
    /// asyncmsg: the pulse the kernel's notifications to the sender's library go through
    /// (reserved at attach, so they never fail for want of a pulse), or `NIL`.
    pub notify_pulse: u32,
    /// asyncmsg: the client's coid for this connection (asyncmsg connections are never shared).
    pub coid: i32,
    /// asyncmsg: the client coid on which the kernel pulses the client's library (`'P'`).
    pub notify_coid: i32,
    /// asyncmsg: next connection in the channel's ready list.
    pub ready_next: u32,
    /// asyncmsg: whether it is in the channel's ready list.
    pub in_ready: bool,
    /// asyncmsg: triggers that found messages to deliver (kernel entries that started a batch).
    pub batches: u64,
    /// asyncmsg: messages receivers took from it.
    pub msgs_taken: u64,
}

impl Pooled for Connection {
    fn hdr(&self) -> &SlotHdr {
        &self.hdr
    }
    fn hdr_mut(&mut self) -> &mut SlotHdr {
        &mut self.hdr
    }
    fn vacant() -> Self {
        Connection {
            hdr: SlotHdr::fresh(),
            client: Id::NONE,
            chan: Id::NONE,
            server: Id::NONE,
            chid: 0,
            server_pid: 0,
            nd: 0,
            links: 0,
            flags: 0,
            scoid: 0,
            aq: 0,
            notify_pulse: crate::pool::NIL,
            coid: -1,
            notify_coid: -1,
            ready_next: crate::pool::NIL,
            in_ready: false,
            batches: 0,
            msgs_taken: 0,
        }
    }
}

/// One entry of a process's coid table.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoidSlot {
    /// Unused.
    Free,
    /// A client coid: a link to a connection.
    Coid(Id<Connection>),
    /// A server connection id naming a client's connection to one of this process's channels.
    Scoid(Id<Connection>),
}
