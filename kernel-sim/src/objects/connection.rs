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
