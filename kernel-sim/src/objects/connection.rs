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
    /// What kind of connection: synchronous, or asyncmsg with its own state.
    pub kind: ConnKind,
}

/// A connection's kind.
#[repr(C, u8)]
#[derive(Clone, Copy, Debug)]
pub enum ConnKind {
    /// A connection for Send-Receive-Reply messages and pulses.
    Sync,
    /// An asyncmsg connection (ConnectAttachExt with a sender queue): it carries only
    /// asyncmsg traffic (a MsgSend or MsgSendPulse on it is EBADF).
    Async(AsyncConn),
}

/// The state only an asyncmsg connection has.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AsyncConn {
    /// How the kernel knows the sender's `AsyncQueue`: its address in the client's memory, or
    /// `IN_REGION | offset` for a queue in a shared kernel's region (asyncq.rs); 0 once the
    /// kernel has let go of it (channel destroyed, last link dropped).
    pub queue: u64,
    /// A queue in the region: its capacity, checked against its block when it was attached.
    pub capacity: u32,
    /// The pulse the kernel's notifications to the sender's library go through (reserved at
    /// attach, so they never fail for want of a pulse), or `NIL`.
    pub notify_pulse: u32,
    /// The client's coid for this connection (asyncmsg connections are never shared).
    pub coid: i32,
    /// The client coid on which the kernel pulses the client's library (`'P'`).
    pub notify_coid: i32,
    /// Next connection in the channel's ready list (objects/channel.rs).
    pub(in crate::objects) ready_next: u32,
    /// Whether it is in the channel's ready list.
    pub(in crate::objects) in_ready: bool,
    /// Triggers that found messages to deliver (kernel entries that started a batch).
    pub batches: u64,
    /// Messages receivers took from it.
    pub msgs_taken: u64,
    /// The send queue's put count (its tail) at the last trigger that found messages: the
    /// messages before it were handed to the kernel (in flight until a receiver takes them).
    pub triggered: u32,
}

impl AsyncConn {
    /// A new asyncmsg connection's state.
    pub fn new(queue: u64, coid: i32, notify_coid: i32, notify_pulse: u32) -> AsyncConn {
        AsyncConn {
            queue,
            capacity: 0,
            notify_pulse,
            coid,
            notify_coid,
            ready_next: crate::pool::NIL,
            in_ready: false,
            batches: 0,
            msgs_taken: 0,
            triggered: 0,
        }
    }

    /// Whether it is in its channel's ready list.
    pub fn in_ready(&self) -> bool {
        self.in_ready
    }
}

impl Connection {
    /// The asyncmsg state, if this is an asyncmsg connection.
    #[inline]
    pub fn asyncmsg(&self) -> Option<&AsyncConn> {
        match &self.kind {
            ConnKind::Async(a) => Some(a),
            ConnKind::Sync => None,
        }
    }

    /// The asyncmsg state, mutable.
    #[inline]
    pub fn asyncmsg_mut(&mut self) -> Option<&mut AsyncConn> {
        match &mut self.kind {
            ConnKind::Async(a) => Some(a),
            ConnKind::Sync => None,
        }
    }
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
            kind: ConnKind::Sync,
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
