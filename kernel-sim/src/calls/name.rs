//! Names: `name_attach`, `name_detach` and the lookup behind `name_open`. The kernel keeps the
//! name space, as QNX's process manager keeps `/dev/name/local` and `/dev/name/global`, so a
//! name is seen by every process of the kernel (the programs sharing it included) and goes
//! with its channel or its process, even one killed.

use super::{Caller, Step};
use crate::abi::consts::NAME_FLAG_ATTACH_GLOBAL;
use crate::abi::errno::{Errno, KResult};
use crate::abi::ids;
use crate::objects::name::NAME_MAX;
use crate::objects::process::ProcState;
use crate::objects::{Channel, Name};
use crate::pool::Id;
use crate::region::Tables;

/// A name's id (`name_attach_t`'s `mntid`): positive, the slot and its generation as a timer
/// id carries them (`abi::ids`).
fn name_id(t: &Tables<'_>, id: Id<Name>) -> i32 {
    ids::timer_id_make(t.cfg.max_names, id.index, id.gen)
}

/// Checks a name as QNX's `name_attach` and `name_open` do: EINVAL empty, starting with `/`,
/// with a `..` component or a NUL; ENAMETOOLONG beyond [`NAME_MAX`] bytes.
pub fn check_path(path: &[u8]) -> KResult<()> {
    if path.is_empty() || path[0] == b'/' || path.contains(&0) {
        return Err(Errno::EINVAL);
    }
    if path.split(|&b| b == b'/').any(|c| c == b"..") {
        return Err(Errno::EINVAL);
    }
    if path.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// The live name `path` in the global or local space.
fn find(t: &Tables<'_>, path: &[u8], global: bool) -> Option<Id<Name>> {
    t.names.live_ids().find(|&id| {
        let n = t.names.at(id.index);
        n.global == global && n.path() == path
    })
}

/// name_attach's kernel half: `path` names the caller's channel `chid`, in the global space
/// with `NAME_FLAG_ATTACH_GLOBAL`. Returns the name's id. EINVAL bad flags, path or chid;
/// ENAMETOOLONG; EEXIST the name is taken in that space; EAGAIN no name left.
pub fn name_attach(
    t: &mut Tables<'_>,
    me: Caller,
    chid: i32,
    flags: u32,
    path: &[u8],
) -> KResult<Step> {
    if flags & !NAME_FLAG_ATTACH_GLOBAL != 0 {
        return Err(Errno::EINVAL);
    }
    check_path(path)?;
    let chan = t.chan_of(me.proc, chid).ok_or(Errno::EINVAL)?;
    let global = flags & NAME_FLAG_ATTACH_GLOBAL != 0;
    if find(t, path, global).is_some() {
        return Err(Errno::EEXIST);
    }
    let mut n = Name::vacant_with(me.proc, chan, chid, global);
    n.len = path.len() as u8;
    n.path[..path.len()].copy_from_slice(path);
    let id = t.names.alloc(n).ok_or(Errno::EAGAIN)?;
    Ok(Step::Done(name_id(t, id).into()))
}

/// name_detach's kernel half: the caller's name `id`, of its channel `chid`, goes (the channel
/// stays). EINVAL none such, stale, another process's, or not `chid`'s.
pub fn name_detach(t: &mut Tables<'_>, me: Caller, id: i32, chid: i32) -> KResult<Step> {
    let max = t.cfg.max_names;
    let (index, gen) = ids::timer_id_parts(max, id).ok_or(Errno::EINVAL)?;
    let name = t
        .names
        .id_at(index)
        .filter(|n| ids::timer_gen_matches(max, n.gen, gen))
        .filter(|n| t.names.at(n.index).owner == me.proc && t.names.at(n.index).chid == chid)
        .ok_or(Errno::EINVAL)?;
    t.names.free(name);
    Ok(Step::Done(0))
}

/// name_open's lookup: the local name `path`, else the global one. Returns the server's pid in
/// the high 32 bits and its chid in the low 32, and writes the name's id at `id_out` (an
/// `i32` of the caller's, or 0 for none). EINVAL, ENAMETOOLONG as [`check_path`]; ENOENT no
/// such name (or its process is exiting).
pub fn name_lookup(t: &mut Tables<'_>, path: &[u8], id_out: u64) -> KResult<Step> {
    check_path(path)?;
    let id = find(t, path, false)
        .or_else(|| find(t, path, true))
        .ok_or(Errno::ENOENT)?;
    let n = t.names.at(id.index);
    let p = t.procs.get(n.owner).ok_or(Errno::ENOENT)?;
    if p.state != ProcState::Alive {
        return Err(Errno::ENOENT);
    }
    let found = (i64::from(p.pid) << 32) | i64::from(n.chid as u32);
    let name = name_id(t, id);
    if id_out != 0 {
        // SAFETY: `id_out` is an `i32` the calling thread lent to its `ThreadCtx` function for
        // the call, in this address space (syscalls.rs's invariant).
        unsafe { (id_out as *mut i32).write(name) };
    }
    Ok(Step::Done(found))
}

/// Removes the names of channel `chan` (it is being destroyed: with it, or with its process).
pub(crate) fn drop_names_of(t: &mut Tables<'_>, chan: Id<Channel>) {
    let gone: smallvec::SmallVec<[Id<Name>; 4]> = t
        .names
        .live_ids()
        .filter(|id| t.names.at(id.index).chan == chan)
        .collect();
    for id in gone {
        t.names.free(id);
    }
}
