//! Names: `name_attach`, `name_detach` and the lookup behind `name_open`. The kernel keeps the
//! name space, as QNX's process manager keeps `/dev/name/local` and `/dev/name/global`, so a
//! name is seen by every process of the kernel (the programs sharing it included) and goes
//! with its channel or its process, even one killed.
//!
//! The same pool holds the path manager's entries: the mountpoints of resource managers
//! (`resmgr_attach`'s kernel half, [`path_attach`]) and the resolution behind `open`
//! ([`path_resolve`]), with QNX's rules (longest mountpoint first, `_RESMGR_FLAG_BEFORE`/
//! `AFTER` order on one mountpoint, `OPAQUE`, `DIR`, `SELF`, file types). Names show there
//! too, as `/dev/name/local/<name>` and `/dev/name/global/<name>`. Entries share the names' id
//! space, `name_detach` and their lifetime (their channel's, their process's).

use super::{Caller, Step};
use crate::abi::consts::{
    _FTYPE_ALL, _FTYPE_ANY, _FTYPE_NAME, _RESMGR_FLAG_AFTER, _RESMGR_FLAG_BEFORE, _RESMGR_FLAG_DIR,
    _RESMGR_FLAG_FTYPEALL, _RESMGR_FLAG_FTYPEONLY, _RESMGR_FLAG_MASK, _RESMGR_FLAG_OPAQUE,
    _RESMGR_FLAG_SELF, NAME_FLAG_ATTACH_GLOBAL,
};
use crate::abi::errno::{Errno, KResult};
use crate::abi::ids;
use crate::objects::name::{normalize_into, PathEntry, NAME_MAX};
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

/// The live name `path` in the global or local space (names only, never a mountpoint).
fn find(t: &Tables<'_>, path: &[u8], global: bool) -> Option<Id<Name>> {
    t.names.live_ids().find(|&id| {
        let n = t.names.at(id.index);
        !n.mountpoint && n.global == global && n.path() == path
    })
}

/// Whether name `id` belongs to a process of another Linux program that has ended (no thread
/// of it runs) but that the kernel has not torn down yet.
fn left_by_an_ended_program(t: &Tables<'_>, id: Id<Name>) -> bool {
    #[cfg(not(loom))]
    {
        let owner = t.names.at(id.index).owner;
        t.procs.get(owner).is_some_and(|p| {
            p.os_pid > 0
                && p.os_pid != crate::copy::my_pid()
                && !crate::copy::program_alive(p.os_pid)
        })
    }
    #[cfg(loom)]
    {
        let _ = (t, id);
        false
    }
}

/// The attach sequence number of a new entry: after every live one.
fn next_seq(t: &Tables<'_>) -> u64 {
    t.names
        .live_ids()
        .map(|id| t.names.at(id.index).seq)
        .max()
        .map_or(1, |s| s + 1)
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
    if let Some(old) = find(t, path, global) {
        if !left_by_an_ended_program(t, old) {
            return Err(Errno::EEXIST);
        }
        // The name of a program that has ended (killed, say) and is not torn down yet (its
        // supervisor reaps it when its pidfd says so, a moment after its parent could see it
        // end): its successor takes the name now, as QNX tears a dead process's names down
        // before anyone can see it end. (Its teardown drops its names by channel: this one is
        // gone already.)
        t.names.free(old);
        t.names_gen
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }
    let mut n = Name::vacant_with(me.proc, chan, chid, global);
    n.set_path(path);
    n.file_type = _FTYPE_NAME;
    n.seq = next_seq(t);
    let id = t.names.alloc(n).ok_or(Errno::EAGAIN)?;
    t.names_gen
        .fetch_add(1, std::sync::atomic::Ordering::Release);
    Ok(Step::Done(name_id(t, id).into()))
}

/// resmgr_attach's kernel half: the mountpoint `path` (absolute; stored normalised) leads to
/// the caller's channel `chid`, with `_RESMGR_FLAG_*` `flags`, file type `file_type` and the
/// handle its `_IO_CONNECT`s carry. Several entries may share a mountpoint. Returns the
/// entry's id (a name's id space). EINVAL flags beyond `_RESMGR_FLAG_MASK`, a bad path
/// ([`normalize_into`]) or a chid not ours; ENAMETOOLONG; EAGAIN no entry left.
pub fn path_attach(
    t: &mut Tables<'_>,
    me: Caller,
    chid: i32,
    flags: u32,
    file_type: u32,
    handle: u32,
    path: &[u8],
) -> KResult<Step> {
    if flags & !_RESMGR_FLAG_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; NAME_MAX];
    let len = normalize_into(path, &mut buf)?;
    let chan = t.chan_of(me.proc, chid).ok_or(Errno::EINVAL)?;
    let mut n = Name::vacant_with(me.proc, chan, chid, false);
    n.mountpoint = true;
    n.set_path(&buf[..len]);
    n.flags = flags;
    n.file_type = file_type;
    n.handle = handle;
    n.seq = next_seq(t);
    let id = t.names.alloc(n).ok_or(Errno::EAGAIN)?;
    t.names_gen
        .fetch_add(1, std::sync::atomic::Ordering::Release);
    Ok(Step::Done(name_id(t, id).into()))
}

/// Whether an entry of type `entry` with `flags` answers a request for `req`.
fn type_matches(req: u32, entry: u32, flags: u32) -> bool {
    if flags & _RESMGR_FLAG_FTYPEONLY != 0 {
        return req != _FTYPE_ANY && req == entry;
    }
    req == _FTYPE_ANY || entry == _FTYPE_ALL || flags & _RESMGR_FLAG_FTYPEALL != 0 || req == entry
}

/// How many bytes of the normalised path `p` the mountpoint `m` takes from the server's view
/// (itself and the `/` after it), if it matches: exactly, or (`dir`) on a component boundary
/// below it.
fn mount_prefix(m: &[u8], dir: bool, p: &[u8]) -> Option<usize> {
    if m == p {
        return Some(p.len());
    }
    if !dir {
        return None;
    }
    if m == b"/" {
        return Some(1);
    }
    (p.len() > m.len() && p.starts_with(m) && p[m.len()] == b'/').then_some(m.len() + 1)
}

/// A candidate of a resolution, with what orders it.
struct Candidate {
    /// The mountpoint's length: longest first.
    mount_len: usize,
    /// 0 BEFORE, 1 plain, 2 AFTER.
    class: u8,
    /// Within the class: ascending.
    order: u64,
    entry: PathEntry,
}

/// path_resolve: the `skip`-th entry (0-based), in resolution order, that a client of the
/// caller's process asking for `path` with file type `file_type` would try; the entry is
/// written at `out` (a [`PathEntry`] of the caller's). Its `prefix_len` counts bytes of the
/// normalised path. EINVAL, ENAMETOOLONG as [`normalize_into`]; ENOENT no more entries.
///
/// Order: longest mountpoint first; on one mountpoint `_RESMGR_FLAG_BEFORE` entries in attach
/// order, then plain ones newest first, then `_RESMGR_FLAG_AFTER` ones newest first. An entry
/// with `_RESMGR_FLAG_OPAQUE` whose mountpoint matches (of a live process) hides the shorter
/// mountpoints, even where this caller skips it. Skipped: entries of the caller's own process
/// (unless `_RESMGR_FLAG_SELF`), of a process not alive, and of another file type. The name
/// `n` shows as `/dev/name/local/n` (or `/dev/name/global/n`): exact match only, its id as
/// the handle, `_FTYPE_NAME`, flags 0.
pub fn path_resolve(
    t: &mut Tables<'_>,
    me: Caller,
    path: &[u8],
    file_type: u32,
    skip: u32,
    out: u64,
) -> KResult<Step> {
    let mut buf = [0u8; NAME_MAX];
    let len = normalize_into(path, &mut buf)?;
    let p = &buf[..len];
    let named = |prefix: &[u8]| {
        p.strip_prefix(prefix)
            .filter(|rest| check_path(rest).is_ok())
    };
    let local = named(b"/dev/name/local/");
    let global = named(b"/dev/name/global/");
    let mut cands: smallvec::SmallVec<[Candidate; 8]> = smallvec::SmallVec::new();
    let mut opaque_len = 0;
    for id in t.names.live_ids() {
        let n = t.names.at(id.index);
        let prefix = if n.mountpoint {
            match mount_prefix(n.path(), n.flags & _RESMGR_FLAG_DIR != 0, p) {
                Some(l) => l,
                None => continue,
            }
        } else {
            let wanted = if n.global { global } else { local };
            if wanted != Some(n.path()) {
                continue;
            }
            len
        };
        let Some(owner) = t.procs.get(n.owner) else {
            continue;
        };
        if owner.state != ProcState::Alive {
            continue;
        }
        let mount_len = if n.mountpoint { n.len as usize } else { len };
        if n.flags & _RESMGR_FLAG_OPAQUE != 0 {
            opaque_len = opaque_len.max(mount_len);
        }
        if n.owner == me.proc && n.flags & _RESMGR_FLAG_SELF == 0 {
            continue;
        }
        if !type_matches(file_type, n.file_type, n.flags) {
            continue;
        }
        let (class, order) = if n.flags & _RESMGR_FLAG_BEFORE != 0 {
            (0, n.seq)
        } else if n.flags & _RESMGR_FLAG_AFTER != 0 {
            (2, u64::MAX - n.seq)
        } else {
            (1, u64::MAX - n.seq)
        };
        cands.push(Candidate {
            mount_len,
            class,
            order,
            entry: PathEntry {
                id: name_id(t, id),
                pid: owner.pid,
                chid: n.chid,
                handle: if n.mountpoint {
                    n.handle
                } else {
                    name_id(t, id) as u32
                },
                file_type: n.file_type,
                flags: n.flags,
                prefix_len: prefix as u32,
            },
        });
    }
    cands.retain(|c| c.mount_len >= opaque_len);
    cands.sort_unstable_by_key(|c| (std::cmp::Reverse(c.mount_len), c.class, c.order));
    let found = cands.get(skip as usize).ok_or(Errno::ENOENT)?.entry;
    // SAFETY: `out` is a `PathEntry` the calling thread lent to its `ThreadCtx` function for
    // the call, in this address space (syscalls.rs's invariant).
    unsafe { (out as *mut PathEntry).write(found) };
    Ok(Step::Done(0))
}

/// name_detach's kernel half: the caller's name (or path-manager entry) `id`, of its channel
/// `chid`, goes (the channel stays). EINVAL none such, stale, another process's, or not `chid`'s.
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
    t.names_gen
        .fetch_add(1, std::sync::atomic::Ordering::Release);
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

/// Removes the names and path-manager entries of channel `chan` (it is being destroyed: with it, or with its process).
pub(crate) fn drop_names_of(t: &mut Tables<'_>, chan: Id<Channel>) {
    let gone: smallvec::SmallVec<[Id<Name>; 4]> = t
        .names
        .live_ids()
        .filter(|id| t.names.at(id.index).chan == chan)
        .collect();
    for id in gone {
        t.names.free(id);
        t.names_gen
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::calls::tests::{done, Bench};
    use crate::region::{Config, Region};

    /// The entry path_resolve gives `c` for `path` (any file type), or its errno.
    fn resolve(t: &mut Tables<'_>, c: Caller, path: &[u8], skip: u32) -> KResult<PathEntry> {
        let mut out = PathEntry::default();
        path_resolve(
            t,
            c,
            path,
            _FTYPE_ANY,
            skip,
            &mut out as *mut PathEntry as u64,
        )?;
        Ok(out)
    }

    /// An entry of a process that is exiting (still in the pool: its teardown has not reached
    /// its channels) is not resolved; names and mountpoints alike.
    #[test]
    fn entries_of_an_exiting_process_are_skipped() {
        let b = Bench::new();
        let (server, client) = (b.spawn(10), b.spawn(10));
        let chid = b.channel(server, 0);
        let id = done(
            b.run(|t, _| path_attach(t, server, chid, 0, 0, 5, b"/dev/x"))
                .0,
        ) as i32;
        done(b.run(|t, _| name_attach(t, server, chid, 0, b"n")).0);
        b.tables(|t| {
            let e = resolve(t, client, b"/dev/x", 0).unwrap();
            assert_eq!((e.id, e.handle, e.chid, e.prefix_len), (id, 5, chid, 6));
            assert!(resolve(t, client, b"/dev/name/local/n", 0).is_ok());
            t.procs.at_mut(server.proc.index).state = ProcState::Exiting;
            assert_eq!(resolve(t, client, b"/dev/x", 0), Err(Errno::ENOENT));
            assert_eq!(
                resolve(t, client, b"/dev/name/local/n", 0),
                Err(Errno::ENOENT)
            );
            t.procs.at_mut(server.proc.index).state = ProcState::Alive;
        });
    }

    /// A path_attach and a name_detach of a mountpoint, made by a program that died holding the
    /// lock, are undone from the undo record: the whole entry comes back, its flags, file type,
    /// handle and attach order included, and the new one is gone.
    #[test]
    fn path_attach_and_detach_are_undone_with_every_field() {
        let fd =
            nix::sys::memfd::memfd_create(c"paths-undo", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
                .unwrap();
        let r = Region::create_shared(&std::fs::File::from(fd), Config::small()).unwrap();
        let lock = r.lock_word();
        let with = |slot: u32, f: &mut dyn FnMut(&mut Tables<'_>)| {
            lock.lock(true, 1);
            r.undo_begin(slot);
            // SAFETY: we hold the kernel lock; the only user of the region.
            unsafe { r.with_tables(|t| f(t)) };
        };
        let commit = || {
            r.undo_commit();
            lock.unlock(true);
        };
        let mut parts = None;
        with(crate::undo::GLOBAL, &mut |t| {
            let (server, _) = crate::calls::process::process_create(t, 0).unwrap();
            let (client, _) = crate::calls::process::process_create(t, 0).unwrap();
            let (th, _) = crate::calls::process::thread_create(t, server, 10, 0).unwrap();
            let (cth, _) = crate::calls::process::thread_create(t, client, 10, 0).unwrap();
            let s = Caller {
                thread: th,
                proc: server,
            };
            let c = Caller {
                thread: cth,
                proc: client,
            };
            let chid = done(crate::calls::channel::channel_create(t, s, 0)) as i32;
            let old = done(path_attach(
                t,
                s,
                chid,
                _RESMGR_FLAG_DIR | _RESMGR_FLAG_AFTER,
                _FTYPE_ALL,
                77,
                b"/mnt",
            )) as i32;
            parts = Some((s, c, chid, old));
        });
        commit();
        let (s, c, chid, old) = parts.unwrap();
        let mut before = None;
        with(crate::undo::GLOBAL, &mut |t| {
            before = Some((resolve(t, c, b"/mnt/a", 0).unwrap(), t.names.head().live));
        });
        commit();
        // The call that dies: detaches the old entry, attaches a new one.
        with(crate::undo::GLOBAL, &mut |t| {
            done(name_detach(t, s, old, chid));
            done(path_attach(t, s, chid, _RESMGR_FLAG_DIR, 0, 9, b"/mnt"));
            assert_eq!(resolve(t, c, b"/mnt/a", 0).unwrap().handle, 9);
        });
        let u = r.undo().unwrap();
        assert_eq!(u.pending(), (true, true));
        // SAFETY: we still hold the lock (taken over from the "dead" caller); no view is alive.
        unsafe { u.roll_back() };
        commit();
        with(crate::undo::GLOBAL, &mut |t| {
            let now = (resolve(t, c, b"/mnt/a", 0).unwrap(), t.names.head().live);
            assert_eq!(Some(now), before);
            assert_eq!(resolve(t, c, b"/mnt/a", 1), Err(Errno::ENOENT));
            let e = now.0;
            assert_eq!(
                (e.id, e.handle, e.file_type, e.flags, e.prefix_len),
                (
                    old,
                    77,
                    _FTYPE_ALL,
                    _RESMGR_FLAG_DIR | _RESMGR_FLAG_AFTER,
                    5
                )
            );
        });
        commit();
    }
}
