//! QNX 7.1's registered events: `MsgRegisterEvent(event, coid)` and
//! `MsgUnregisterEvent(event)` of `<sys/neutrino.h>`, and the check `MsgDeliverEvent` and
//! `MsgVerifyEvent` make of a registered event (`check_delivery`).
//!
//! A client registers an event before it gives it to a server, naming the server that may
//! deliver it (the connection `coid` leads to; `_NTO_REGEVENT_ALLOW_ANY_SERVER`, -1: any;
//! `SYSMGR_COID`: the process manager, pid 1). `MsgRegisterEvent` checks the event as
//! `MsgVerifyEvent` checks one for the caller itself (its type, its pulse connection, its
//! signal number, code and priority) and marks it in place as QNX 7.1 does, with
//! `SIGEV_FLAG_HANDLE` in `sigev_notify`. QNX replaces the event's contents with a handle that
//! only the kernel can resolve; this kernel has no table of registrations, so the struct keeps
//! its contents and carries the registration in glibc's padding (`_sigev_un._pad[6..11]`,
//! which no QNX member uses): a magic word, the handle, the registering Linux program's pid,
//! the allowed server's pid and a checksum of the rest (`sigev_value` left out when the event
//! has `SIGEV_FLAG_UPDATEABLE`, which lets the server change it). The program keeps its live
//! handles in a table, so that `MsgUnregisterEvent` withdraws one.
//!
//! `MsgDeliverEvent` (and `MsgVerifyEvent`) on an event with `SIGEV_FLAG_HANDLE`: EINVAL if the
//! registration is not intact (the magic or checksum differs: the server changed it), or, when
//! the server is in the program that registered the event, if its handle has been withdrawn;
//! EACCES if the caller is not the server it was registered for. An event without the flag is
//! delivered as before (QNX 7.1 too accepts unregistered events unless told otherwise).
//! A server in another program cannot see the client's table: there a withdrawn event that the
//! server already holds is still delivered (docs/deviations.md).

use crate::kernel_call;
use crate::sigevent::CSigEvent;
use kernel_sim::{Errno, KResult, ThreadCtx};
use libc::c_int;
use std::collections::HashSet;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use userlib::current::with_current;

/// `SIGEV_FLAG_HANDLE`: the event is registered (QNX 7.1's value).
pub const SIGEV_FLAG_HANDLE: i32 = 0x2000;
/// `SIGEV_FLAG_UPDATEABLE`: the server may change the event's `sigev_value`.
pub const SIGEV_FLAG_UPDATEABLE: i32 = 0x400;
/// `_NTO_REGEVENT_ALLOW_ANY_SERVER`: any server may deliver the event.
pub const ALLOW_ANY_SERVER: c_int = -1;
/// `SYSMGR_COID`: the process manager's connection (when no connection of that number is
/// the caller's own).
const SYSMGR_COID: c_int = 0x4000_0000;
/// `SYSMGR_PID`.
const SYSMGR_PID: i32 = 1;

/// The registration's words in `CSigEvent::un` (glibc's `_pad`; QNX's members use 0..6).
const AT_MAGIC: usize = 6;
const AT_HANDLE: usize = 7;
const AT_OWNER: usize = 8;
const AT_SERVER: usize = 9;
const AT_SUM: usize = 10;
/// "QREG".
const MAGIC: i32 = 0x5152_4547;

/// This program's live handles.
static LIVE: Mutex<Option<HashSet<i32>>> = Mutex::new(None);
/// The next handle.
static NEXT: AtomicI32 = AtomicI32::new(1);

fn live<R>(f: impl FnOnce(&mut HashSet<i32>) -> R) -> R {
    let mut l = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    f(l.get_or_insert_with(HashSet::new))
}

/// This Linux program's pid.
fn my_os_pid() -> i32 {
    std::process::id() as i32
}

/// The checksum of a registered event: FNV-1a over its words but the sum's own (and but
/// `sigev_value` for an updateable event).
fn checksum(e: &CSigEvent) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut mix = |w: u32| {
        for b in w.to_ne_bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    if e.sigev_notify & SIGEV_FLAG_UPDATEABLE == 0 {
        mix(e.sigev_value as u32);
        mix((e.sigev_value >> 32) as u32);
    }
    mix(e.sigev_signo as u32);
    mix(e.sigev_notify as u32);
    for (i, w) in e.un.iter().enumerate() {
        if i != AT_SUM {
            mix(*w as u32);
        }
    }
    h as i32
}

/// The pid of the server whose channel `coid` (of the caller's process) leads to, or what
/// `coid` names besides (see the module's text). EBADF: no such connection, or its channel
/// is gone.
fn server_of(c: &ThreadCtx, coid: c_int) -> KResult<i32> {
    if coid == ALLOW_ANY_SERVER {
        return Ok(ALLOW_ANY_SERVER);
    }
    let me = c.pid();
    let snap = c.kernel().snapshot();
    match snap
        .connections
        .iter()
        .find(|k| k.pid == me && k.coid == coid)
    {
        Some(k) if k.chid >= 0 => Ok(k.server_pid),
        Some(_) => Err(Errno::EBADF),
        None if coid == SYSMGR_COID => Ok(SYSMGR_PID),
        None => Err(Errno::EBADF),
    }
}

/// The registration a marked event carries, if intact: (handle, owner's Linux pid, server).
/// EINVAL: not marked, or not intact.
fn registration(e: &CSigEvent) -> KResult<(i32, i32, i32)> {
    if e.sigev_notify & SIGEV_FLAG_HANDLE == 0
        || e.un[AT_MAGIC] != MAGIC
        || e.un[AT_SUM] != checksum(e)
    {
        return Err(Errno::EINVAL);
    }
    Ok((e.un[AT_HANDLE], e.un[AT_OWNER], e.un[AT_SERVER]))
}

unsafe fn register(event: *mut CSigEvent, coid: c_int) -> KResult<c_int> {
    // SAFETY: NULL or the caller's writable `struct sigevent` (its promise).
    let ev = unsafe { event.as_mut() }.ok_or(Errno::EFAULT)?;
    // An event registered before (a struct used again) is registered anew, its earlier
    // registration by this program withdrawn (a copy of it a server holds is refused from now
    // on, and its handle does not stay in the table for ever).
    let earlier = registration(ev)
        .ok()
        .filter(|&(_, owner, _)| owner == my_os_pid())
        .map(|(handle, _, _)| handle);
    let mut reg = *ev;
    reg.sigev_notify &= !SIGEV_FLAG_HANDLE;
    for w in &mut reg.un[AT_MAGIC..=AT_SUM] {
        *w = 0;
    }
    let kev = reg.to_kernel()?;
    let server = with_current(|c| {
        // As MsgVerifyEvent checks an event for the caller itself (rcvid 0).
        c.msg_verify_event(0, &kev)?;
        server_of(c, coid)
    })?;
    let handle = NEXT
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| h.checked_add(1))
        .map_err(|_| Errno::EAGAIN)?;
    reg.sigev_notify |= SIGEV_FLAG_HANDLE;
    reg.un[AT_MAGIC] = MAGIC;
    reg.un[AT_HANDLE] = handle;
    reg.un[AT_OWNER] = my_os_pid();
    reg.un[AT_SERVER] = server;
    reg.un[AT_SUM] = checksum(&reg);
    live(|l| {
        if let Some(h) = earlier {
            l.remove(&h);
        }
        l.insert(handle)
    });
    *ev = reg;
    Ok(0)
}

unsafe fn unregister(event: *const CSigEvent) -> KResult<c_int> {
    // SAFETY: NULL or the caller's readable `struct sigevent` (its promise).
    let ev = unsafe { event.as_ref() }.ok_or(Errno::EFAULT)?;
    let (handle, owner, _) = registration(ev)?;
    if owner != my_os_pid() || !live(|l| l.remove(&handle)) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// The check `MsgDeliverEvent` and `MsgVerifyEvent` make of `event` before delivering it (see
/// the module's text): Ok for an unregistered event and for a registered one the caller may
/// deliver; EINVAL (not intact, or withdrawn), EACCES (not the caller's to deliver).
///
/// # Safety
/// `event` is NULL or points at a readable `struct sigevent`.
pub(crate) unsafe fn check_delivery(event: *const CSigEvent) -> KResult<()> {
    // SAFETY: our caller's promise.
    let Some(ev) = (unsafe { event.as_ref() }) else {
        return Ok(());
    };
    if ev.sigev_notify & SIGEV_FLAG_HANDLE == 0 {
        return Ok(());
    }
    let (handle, owner, server) = registration(ev)?;
    if owner == my_os_pid() && !live(|l| l.contains(&handle)) {
        return Err(Errno::EINVAL);
    }
    if server != ALLOW_ANY_SERVER && with_current(|c| Ok(c.pid()))? != server {
        return Err(Errno::EACCES);
    }
    Ok(())
}

kernel_call! {
    /// `MsgRegisterEvent(event, coid)`: checks `event` and marks it registered for the server
    /// `coid` leads to (`_NTO_REGEVENT_ALLOW_ANY_SERVER`: any). EFAULT NULL `event`, EINVAL
    /// (and MsgVerifyEvent's other errors) a bad event, EBADF `coid` no connection of the
    /// caller's.
    MsgRegisterEvent, MsgRegisterEvent_r = register(event: *mut CSigEvent, coid: c_int) -> c_int;
    /// `MsgUnregisterEvent(event)`: withdraws a registration of this program's. EFAULT NULL
    /// `event`, EINVAL not registered here (or withdrawn already).
    MsgUnregisterEvent, MsgUnregisterEvent_r = unregister(event: *const CSigEvent) -> c_int;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_registration_is_not_intact() {
        let mut e = CSigEvent {
            sigev_value: 7,
            sigev_signo: 3,
            sigev_notify: 0x84 | SIGEV_FLAG_HANDLE,
            un: [0; 12],
        };
        e.un[AT_MAGIC] = MAGIC;
        e.un[AT_HANDLE] = 5;
        e.un[AT_SUM] = checksum(&e);
        assert_eq!(registration(&e), Ok((5, 0, 0)));
        e.sigev_value = 8;
        assert_eq!(registration(&e), Err(Errno::EINVAL));
        // Updateable: the value may change, nothing else.
        e.sigev_notify |= SIGEV_FLAG_UPDATEABLE;
        e.un[AT_SUM] = checksum(&e);
        e.sigev_value = 9;
        assert_eq!(registration(&e), Ok((5, 0, 0)));
        e.un[4] = 2;
        assert_eq!(registration(&e), Err(Errno::EINVAL));
    }
}
