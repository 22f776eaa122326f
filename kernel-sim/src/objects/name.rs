//! A name (`name_attach`): a path in the kernel's name space that leads to a channel, as QNX's
//! process manager keeps `/dev/name/local/...` and `/dev/name/global/...`.

use crate::objects::{Channel, Process};
use crate::pool::{Id, Pooled, SlotHdr};

/// The longest name, in bytes (longer: ENAMETOOLONG).
pub const NAME_MAX: usize = 127;

/// A name.
#[repr(C)]
#[derive(Debug)]
pub struct Name {
    /// Pool bookkeeping.
    pub hdr: SlotHdr,
    /// The process that attached it.
    pub owner: Id<Process>,
    /// The channel it leads to.
    pub chan: Id<Channel>,
    /// That channel's chid in its process.
    pub chid: i32,
    /// Whether it is in the global name space (`NAME_FLAG_ATTACH_GLOBAL`).
    pub global: bool,
    /// Bytes of `path` in use.
    pub len: u8,
    /// The path (no NUL).
    pub path: [u8; NAME_MAX],
}

impl Name {
    /// A name of `owner`'s channel `chan` (`chid`), with no path yet.
    pub fn vacant_with(owner: Id<Process>, chan: Id<Channel>, chid: i32, global: bool) -> Name {
        Name {
            owner,
            chan,
            chid,
            global,
            ..Name::vacant()
        }
    }

    /// The path.
    pub fn path(&self) -> &[u8] {
        &self.path[..self.len as usize]
    }
}

impl Pooled for Name {
    fn hdr(&self) -> &SlotHdr {
        &self.hdr
    }
    fn hdr_mut(&mut self) -> &mut SlotHdr {
        &mut self.hdr
    }
    fn vacant() -> Self {
        Name {
            hdr: SlotHdr::fresh(),
            owner: Id::NONE,
            chan: Id::NONE,
            chid: 0,
            global: false,
            len: 0,
            path: [0; NAME_MAX],
        }
    }
}
