//! A name (`name_attach`): a path in the kernel's name space that leads to a channel, as QNX's
//! process manager keeps `/dev/name/local/...` and `/dev/name/global/...`; and, in the same
//! pool, a resource manager's mountpoint (`resmgr_attach`), the entries of QNX's path manager.

use crate::abi::errno::{Errno, KResult};
use crate::objects::{Channel, Process};
use crate::pool::{Id, Pooled, SlotHdr};

/// The longest name, and the longest normalised mountpoint or path the path manager takes, in
/// bytes (longer: ENAMETOOLONG).
pub const NAME_MAX: usize = 127;

/// A name, or a path-manager entry (a mountpoint).
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
    /// Whether it is in the global name space (`NAME_FLAG_ATTACH_GLOBAL`; names only).
    pub global: bool,
    /// Whether it is a path-manager entry (`resmgr_attach`'s mountpoint, `path` absolute and
    /// normalised) rather than a name (`name_attach`'s, `path` relative). `name_lookup` sees
    /// only names; `path_resolve` sees both (names under `/dev/name/...`).
    pub mountpoint: bool,
    /// Bytes of `path` in use.
    pub len: u8,
    /// The path (no NUL).
    pub path: [u8; NAME_MAX],
    /// A mountpoint's `_RESMGR_FLAG_*` (0 for a name).
    pub flags: u32,
    /// A mountpoint's `_FTYPE_*` (`_FTYPE_NAME` for a name).
    pub file_type: u32,
    /// What the server's `_IO_CONNECT` carries as its handle (a name: its id).
    pub handle: u32,
    /// Attach order: greater than that of every entry live when it was attached.
    pub seq: u64,
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

    /// Sets the path (at most [`NAME_MAX`] bytes).
    pub fn set_path(&mut self, path: &[u8]) {
        self.len = path.len() as u8;
        self.path[..path.len()].copy_from_slice(path);
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
            mountpoint: false,
            len: 0,
            path: [0; NAME_MAX],
            flags: 0,
            file_type: 0,
            handle: 0,
            seq: 0,
        }
    }
}

/// A path-manager entry that matched, in resolution order (`ThreadCtx::path_resolve`): what
/// QNX's path manager returns to a client as an `_io_connect_entry`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathEntry {
    /// The entry's id (`resmgr_attach`'s mountpoint or `name_attach`'s name: one id space).
    pub id: i32,
    /// The server's pid.
    pub pid: i32,
    /// The server's chid (a client connects to `pid`, `chid`).
    pub chid: i32,
    /// What the `_IO_CONNECT` to the server carries as its handle.
    pub handle: u32,
    /// The entry's `_FTYPE_*` (`_FTYPE_NAME` for a name under `/dev/name/...`).
    pub file_type: u32,
    /// The entry's `_RESMGR_FLAG_*` (0 for a name).
    pub flags: u32,
    /// Bytes of the **normalised** client path ([`normalize_path`]) the server does not see:
    /// the mountpoint and the `/` after it. The server's path is `normalised[prefix_len..]`:
    /// `""` for an exact match, `"etc/passwd"` for `/nfs/etc/passwd` on a `_RESMGR_FLAG_DIR`
    /// mountpoint `/nfs`, `"dev/x"` for `/dev/x` on a DIR mountpoint `/`.
    pub prefix_len: u32,
}

/// Normalises the absolute path `path` into `out` as the path manager does before storing a
/// mountpoint and before resolving a client's path: repeated `/` collapsed, `.` components
/// removed, a trailing `/` dropped (the root stays `/`). Returns the normalised length.
/// EINVAL empty, relative (not starting with `/`), with a NUL or a `..` component;
/// ENAMETOOLONG longer than [`NAME_MAX`] bytes once normalised.
pub fn normalize_into(path: &[u8], out: &mut [u8; NAME_MAX]) -> KResult<usize> {
    if path.first() != Some(&b'/') || path.contains(&0) {
        return Err(Errno::EINVAL);
    }
    let mut len = 0;
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => continue,
            b".." => return Err(Errno::EINVAL),
            _ => {}
        }
        if len + 1 + c.len() > NAME_MAX {
            // Keep looking for what is EINVAL: a `..` or a NUL anywhere is that, whatever the length.
            if path.split(|&b| b == b'/').any(|c| c == b"..") {
                return Err(Errno::EINVAL);
            }
            return Err(Errno::ENAMETOOLONG);
        }
        out[len] = b'/';
        out[len + 1..len + 1 + c.len()].copy_from_slice(c);
        len += 1 + c.len();
    }
    if len == 0 {
        out[0] = b'/';
        len = 1;
    }
    Ok(len)
}

/// `normalize_into`, as a vector: what a client computes to find the server's part of its
/// path (`normalised[prefix_len..]`, [`PathEntry::prefix_len`]). `normalize_path(b"//a/./b/")`
/// is `/a/b`.
pub fn normalize_path(path: &[u8]) -> KResult<Vec<u8>> {
    let mut out = [0u8; NAME_MAX];
    let n = normalize_into(path, &mut out)?;
    Ok(out[..n].to_vec())
}
