//! The kernel calls of `<sys/neutrino.h>`, in QNX 7.1's signatures: channels, connections,
//! send/receive/reply, pulses, events, kernel timeouts, timers, `SignalKill`. Each has its
//! `_r` twin.
//!
//! Buffers are taken as the C caller gives them and handed to the kernel as iovs, never as
//! Rust references where two of them may overlap (a client commonly sends from and receives
//! its reply into the same struct). A NULL buffer with a non-zero length, or a length that
//! runs past the end of the address space, is EFAULT before anything is copied.

use crate::sigevent::{event_in, CSigEvent};
use crate::{kernel_call, kernel_call_cancellable};
use kernel_sim::consts::TIMER_ABSTIME;
use kernel_sim::{Errno, Iov, KResult, MsgInfo, RcvId, ThreadCtx, TimerInfo};
use libc::{c_int, c_long, c_uint, c_void, clockid_t, gid_t, iovec, pid_t, size_t, ssize_t, uid_t};
use std::mem::size_of;
use userlib::current::with_current;

/// The most iov parts a call takes (beyond: EFAULT, as a kernel reading that many would).
pub(crate) const MAX_PARTS: usize = 1 << 16;

/// A flat buffer as a one-part iov list (none for zero bytes). EFAULT: NULL with bytes, or a
/// range past the end of the address space.
pub(crate) fn flat(p: *const c_void, n: size_t) -> KResult<Option<Iov>> {
    if n == 0 {
        return Ok(None);
    }
    check_range(p, n)?;
    Ok(Some(Iov {
        base: p as u64,
        len: n as u64,
    }))
}

fn check_range(p: *const c_void, n: size_t) -> KResult<()> {
    // An empty part is never read or written: any base will do (`SETIOV(&iov[i], NULL, 0)`
    // for an optional part is common QNX code, and the kernel takes it).
    if n == 0 {
        return Ok(());
    }
    // A length past SSIZE_MAX overflows (QNX's kernel: EOVERFLOW, as for iov lengths whose
    // sum does), whatever the base.
    if n > isize::MAX as usize {
        return Err(Errno::EOVERFLOW);
    }
    if p.is_null() || (p as usize).checked_add(n).is_none() {
        return Err(Errno::EFAULT);
    }
    Ok(())
}

/// The C iov array `iov[0..parts]` as the kernel's iovs (the same layout: `iov_t` is
/// `struct iovec`).
///
/// # Safety
/// `iov` is valid for reads of `parts` entries.
pub(crate) unsafe fn iov_list<'a>(iov: *const iovec, parts: size_t) -> KResult<&'a [Iov]> {
    const _: () = assert!(std::mem::size_of::<iovec>() == std::mem::size_of::<Iov>());
    if parts == 0 {
        return Ok(&[]);
    }
    if iov.is_null() || parts > MAX_PARTS {
        return Err(Errno::EFAULT);
    }
    // SAFETY: `iov` points at `parts` `struct iovec`s (our caller's promise), whose layout is
    // `Iov`'s (two 64-bit words: base, length; asserted above).
    let list = unsafe { std::slice::from_raw_parts(iov.cast::<Iov>(), parts) };
    for part in list {
        check_range(part.base as *const c_void, part.len as usize)?;
    }
    Ok(list)
}

/// A buffer to write into, as a Rust slice (empty for zero bytes).
///
/// # Safety
/// `p` is valid for writes of `n` bytes, and nothing else accesses them during the call.
pub(crate) unsafe fn buf_mut<'a>(p: *mut c_void, n: size_t) -> KResult<&'a mut [u8]> {
    if n == 0 {
        return Ok(&mut []);
    }
    check_range(p, n)?;
    // SAFETY: our caller's promise; the range was checked for NULL and overflow.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), n) })
}

/// A buffer to read from, as a Rust slice (empty for zero bytes).
///
/// # Safety
/// `p` is valid for reads of `n` bytes during the call.
pub(crate) unsafe fn buf<'a>(p: *const c_void, n: size_t) -> KResult<&'a [u8]> {
    if n == 0 {
        return Ok(&[]);
    }
    check_range(p, n)?;
    // SAFETY: our caller's promise; the range was checked for NULL and overflow.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), n) })
}

/// The C iov array as Rust slices to write into.
///
/// # Safety
/// As [`iov_list`], and every part valid for writes, no two overlapping.
unsafe fn iov_mut<'a>(iov: *const iovec, parts: size_t) -> KResult<Vec<&'a mut [u8]>> {
    // SAFETY: forwarded.
    let list = unsafe { iov_list(iov, parts)? };
    // SAFETY: each part is writable and disjoint from the others (our caller's promise); its
    // range was checked by `iov_list`.
    list.iter()
        .map(|p| unsafe { buf_mut(p.base as *mut c_void, p.len as usize) })
        .collect()
}

/// The C iov array as Rust slices to read from.
///
/// # Safety
/// As [`iov_list`], and every part valid for reads.
unsafe fn iov_ref<'a>(iov: *const iovec, parts: size_t) -> KResult<Vec<&'a [u8]>> {
    // SAFETY: forwarded.
    let list = unsafe { iov_list(iov, parts)? };
    // SAFETY: each part is readable (our caller's promise), its range checked by `iov_list`.
    list.iter()
        .map(|p| unsafe { buf(p.base as *const c_void, p.len as usize) })
        .collect()
}

fn rcvid_in(rcvid: c_int) -> RcvId {
    RcvId::from(rcvid)
}

/// A kernel result as the C `int` QNX returns (the kernel's ids and counts all fit).
fn int(v: impl TryInto<c_int>) -> KResult<c_int> {
    v.try_into().map_err(|_| Errno::EOVERFLOW)
}

/// In a kernel of this program alone, the program's Linux pid names its own process (as it
/// does in a shared kernel, where the process's pid is the Linux pid): a QNX program passes
/// `getpid()` to its own threads' `ConnectAttach`.
pub(crate) fn pid_in(c: &ThreadCtx, pid: pid_t) -> pid_t {
    if pid != 0 && !c.kernel().is_shared() && pid == std::process::id() as pid_t {
        0
    } else {
        pid
    }
}

/// The other way: a client of this program's own process, in a kernel of this program alone,
/// is named by the program's Linux pid in what a server learns (`MsgInfo`'s `pid`), so that it
/// equals `getpid()`, as it does in a shared kernel.
pub(crate) fn pid_out(c: &ThreadCtx, pid: pid_t) -> pid_t {
    if !c.kernel().is_shared() && pid == c.process().pid {
        std::process::id() as pid_t
    } else {
        pid
    }
}

// ------------------------------------------------------------------ channels, connections

unsafe fn channel_create(flags: c_uint) -> KResult<c_int> {
    with_current(|c| c.channel_create(flags))
}

unsafe fn channel_destroy(chid: c_int) -> KResult<c_int> {
    with_current(|c| c.channel_destroy(chid)).map(|()| 0)
}

unsafe fn connect_attach(
    nd: u32,
    pid: pid_t,
    chid: c_int,
    index: c_uint,
    flags: c_int,
) -> KResult<c_int> {
    with_current(|c| c.connect_attach(nd, pid_in(c, pid), chid, index, flags as u32))
}

unsafe fn connect_detach(coid: c_int) -> KResult<c_int> {
    with_current(|c| c.connect_detach(coid)).map(|()| 0)
}

kernel_call! {
    /// `ChannelCreate(flags)`: a chid.
    ChannelCreate, ChannelCreate_r = channel_create(flags: c_uint) -> c_int;
    /// `ChannelDestroy(chid)`.
    ChannelDestroy, ChannelDestroy_r = channel_destroy(chid: c_int) -> c_int;
    /// `ConnectAttach(nd, pid, chid, index, flags)`: a coid.
    ConnectAttach, ConnectAttach_r =
        connect_attach(nd: u32, pid: pid_t, chid: c_int, index: c_uint, flags: c_int) -> c_int;
    /// `ConnectDetach(coid)`.
    ConnectDetach, ConnectDetach_r = connect_detach(coid: c_int) -> c_int;
}

// ------------------------------------------------------------------ connection info

/// `NGROUPS_MAX_QNX`: the groups `struct _cred_info` has room for.
pub const CRED_GROUPS: usize = 8;

/// `struct _cred_info` (`<sys/neutrino.h>`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CCredInfo {
    /// Real, effective, saved uid.
    pub ruid: uid_t,
    /// `euid`.
    pub euid: uid_t,
    /// `suid`.
    pub suid: uid_t,
    /// Real, effective, saved gid.
    pub rgid: gid_t,
    /// `egid`.
    pub egid: gid_t,
    /// `sgid`.
    pub sgid: gid_t,
    /// Entries of `grouplist` written (or, asked for none, the process's count).
    pub ngroups: u32,
    /// Supplementary groups (a caller may allocate room for more and say so in `ngroups`).
    pub grouplist: [gid_t; CRED_GROUPS],
}

/// `struct _client_info` (`<sys/neutrino.h>`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CClientInfo {
    /// `nd`.
    pub nd: u32,
    /// `pid`.
    pub pid: pid_t,
    /// `sid`.
    pub sid: pid_t,
    /// `flags`.
    pub flags: u32,
    /// `cred`.
    pub cred: CCredInfo,
}

const _: () = assert!(size_of::<CCredInfo>() == 60);
const _: () = assert!(size_of::<CClientInfo>() == 76);
const _: () = assert!(std::mem::offset_of!(CClientInfo, cred) == 16);
const _: () = assert!(std::mem::offset_of!(CCredInfo, grouplist) == 28);

/// Writes `ci` at `out` as ConnectClientInfo does with `ngroups`: at most `ngroups` groups
/// (`grouplist[0..n]`, past the struct's 8 if `ngroups` says there is room), `cred.ngroups`
/// the number written, or the process's count when `ngroups` is 0; nothing past
/// `grouplist[n]`.
///
/// # Safety
/// `out` is valid for writes of a `struct _client_info` whose grouplist has room for
/// `ngroups` entries.
pub(crate) unsafe fn client_info_out(
    out: *mut CClientInfo,
    ci: &userlib::qnx::ClientProcessInfo,
    ngroups: usize,
) {
    let have = ci.cred.grouplist.len();
    let n = ngroups.min(have);
    // SAFETY: our caller's promise: the header, the ids and `n <= ngroups` groups are its.
    unsafe {
        std::ptr::addr_of_mut!((*out).nd).write(ci.nd);
        std::ptr::addr_of_mut!((*out).pid).write(ci.pid);
        std::ptr::addr_of_mut!((*out).sid).write(ci.sid);
        std::ptr::addr_of_mut!((*out).flags).write(ci.flags);
        let c = std::ptr::addr_of_mut!((*out).cred);
        std::ptr::addr_of_mut!((*c).ruid).write(ci.cred.ruid);
        std::ptr::addr_of_mut!((*c).euid).write(ci.cred.euid);
        std::ptr::addr_of_mut!((*c).suid).write(ci.cred.suid);
        std::ptr::addr_of_mut!((*c).rgid).write(ci.cred.rgid);
        std::ptr::addr_of_mut!((*c).egid).write(ci.cred.egid);
        std::ptr::addr_of_mut!((*c).sgid).write(ci.cred.sgid);
        let count = if ngroups == 0 { have } else { n };
        std::ptr::addr_of_mut!((*c).ngroups).write(u32::try_from(count).unwrap_or(u32::MAX));
        let list = std::ptr::addr_of_mut!((*c).grouplist).cast::<gid_t>();
        for (i, g) in ci.cred.grouplist.iter().take(n).enumerate() {
            list.add(i).write(*g);
        }
    }
}

/// The client behind the caller's scoid (-1: the caller), its `pid` as this program's clients
/// name it ([`pid_out`]), its ids Linux's.
pub(crate) fn client_info(scoid: c_int) -> KResult<userlib::qnx::ClientProcessInfo> {
    let (pid, linux_pid) = with_current(|c| {
        let (pid, linux_pid) = c.connect_client_info(scoid)?;
        Ok((pid_out(c, pid), linux_pid))
    })?;
    userlib::qnx::client_info_linux(pid, linux_pid)
}

/// Linux's `NGROUPS_MAX` (`<limits.h>`), which a QNX program passes to ConnectClientInfo.
const LINUX_NGROUPS_MAX: usize = 65536;
/// The groups `struct _client_info` holds (`NGROUPS_MAX_QNX`, QNX's `NGROUPS_MAX`).
const NGROUPS_MAX_QNX: usize = 8;

unsafe fn connect_client_info(
    scoid: c_int,
    info: *mut CClientInfo,
    ngroups: c_int,
) -> KResult<c_int> {
    let ngroups = usize::try_from(ngroups).map_err(|_| Errno::EINVAL)?;
    // QNX code passes `NGROUPS_MAX` with a plain struct: 8 on QNX, the room the struct has,
    // and Linux's 65536 here. Taken for the struct's 8, so that the idiom cannot write past it
    // (a caller who made room for more passes the room it made, below that).
    let ngroups = if ngroups >= LINUX_NGROUPS_MAX {
        NGROUPS_MAX_QNX
    } else {
        ngroups
    };
    if info.is_null() {
        // (QNX's kernel takes NULL: the scoid is checked, nothing written.)
        with_current(|c| c.connect_client_info(scoid))?;
        return Ok(0);
    }
    let ci = client_info(scoid)?;
    // SAFETY: the C caller's struct, with room for `ngroups` groups (its promise).
    unsafe { client_info_out(info, &ci, ngroups) };
    Ok(0)
}

unsafe fn connect_server_info(pid: pid_t, coid: c_int, info: *mut MsgInfo) -> KResult<c_int> {
    // SAFETY: NULL or the C caller's `struct _server_info` (its promise).
    let Some(out) = (unsafe { info.as_mut() }) else {
        // QNX's kernel takes NULL: the first live connection's coid, dead ones skipped.
        return with_current(|c| {
            let pid = pid_in(c, pid);
            let mut at = coid;
            loop {
                let (found, si) = c.connect_server_info(pid, at)?;
                if si.flags & kernel_sim::consts::_NTO_COF_DEAD as i16 == 0 {
                    return Ok(found);
                }
                at = found.checked_add(1).ok_or(Errno::EINVAL)?;
            }
        });
    };
    let (found, si) = with_current(|c| {
        let (found, mut si) = c.connect_server_info(pid_in(c, pid), coid)?;
        si.pid = pid_out(c, si.pid);
        Ok((found, si))
    })?;
    *out = si;
    Ok(found)
}

unsafe fn connect_flags(pid: pid_t, coid: c_int, mask: c_uint, bits: c_uint) -> KResult<c_int> {
    with_current(|c| c.connect_flags(pid_in(c, pid), coid, mask, bits)).map(|f| f as c_int)
}

kernel_call! {
    /// `ConnectClientInfo(scoid, info, ngroups)`: who the client behind the caller's server
    /// connection `scoid` is (-1: the caller): `pid` (a program's Linux pid), `sid`,
    /// `_NTO_CI_*` flags and its Linux ids, at most `ngroups` groups (`cred.ngroups`: how many
    /// were written; with `ngroups` 0 how many the process has). EINVAL no such scoid or a
    /// negative `ngroups`; ESRCH the client has ended. A NULL `info` (as QNX's kernel takes
    /// it) only checks the scoid.
    ConnectClientInfo, ConnectClientInfo_r =
        connect_client_info(scoid: c_int, info: *mut CClientInfo, ngroups: c_int) -> c_int;
    /// `ConnectServerInfo(pid, coid, info)`: the first connection of process `pid` (0: the
    /// caller's) at or after `coid` (fd-space coids, then side-channel ones): its coid, with its
    /// `_server_info` written. ESRCH no such process; EINVAL none left (or `coid` negative).
    /// With a NULL `info` (as QNX's kernel takes it): the first live one's, dead ones skipped.
    ConnectServerInfo, ConnectServerInfo_r =
        connect_server_info(pid: pid_t, coid: c_int, info: *mut MsgInfo) -> c_int;
    /// `ConnectFlags(pid, coid, mask, bits)`: sets the flags of process `pid`'s (0: the
    /// caller's) connection `coid` that `mask` selects to their values in `bits`; returns the
    /// flags as they were. Only `_NTO_COF_CLOEXEC` may be changed (`mask` 0 only asks). ESRCH
    /// no such process; EBADF not one of its client connections; ENOTSUP another flag.
    ConnectFlags, ConnectFlags_r =
        connect_flags(pid: pid_t, coid: c_int, mask: c_uint, bits: c_uint) -> c_int;
}

// ------------------------------------------------------------------ send

unsafe fn send_raw(coid: c_int, s: &[Iov], r: &[Iov]) -> KResult<c_long> {
    // SAFETY: the iovs describe the C caller's buffers, valid for the call (its promise).
    with_current(|c| unsafe { c.msg_sendv_raw(coid, s, r) })
}

unsafe fn send(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
) -> KResult<c_long> {
    let s = flat(smsg, sbytes)?;
    let r = flat(rmsg, rbytes)?;
    // SAFETY: forwarded.
    unsafe { send_raw(coid, s.as_slice(), r.as_slice()) }
}

unsafe fn sendv(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    riov: *const iovec,
    rparts: size_t,
) -> KResult<c_long> {
    // SAFETY: forwarded.
    unsafe { send_raw(coid, iov_list(siov, sparts)?, iov_list(riov, rparts)?) }
}

unsafe fn sendsv(
    coid: c_int,
    smsg: *const c_void,
    sbytes: size_t,
    riov: *const iovec,
    rparts: size_t,
) -> KResult<c_long> {
    let s = flat(smsg, sbytes)?;
    // SAFETY: forwarded.
    unsafe { send_raw(coid, s.as_slice(), iov_list(riov, rparts)?) }
}

unsafe fn sendvs(
    coid: c_int,
    siov: *const iovec,
    sparts: size_t,
    rmsg: *mut c_void,
    rbytes: size_t,
) -> KResult<c_long> {
    let r = flat(rmsg, rbytes)?;
    // SAFETY: forwarded.
    unsafe { send_raw(coid, iov_list(siov, sparts)?, r.as_slice()) }
}

kernel_call_cancellable! {
    /// `MsgSend(coid, smsg, sbytes, rmsg, rbytes)`: the server's reply status.
    MsgSend, MsgSend_r = send(coid: c_int, smsg: *const c_void, sbytes: size_t,
                              rmsg: *mut c_void, rbytes: size_t) -> c_long;
    /// `MsgSendv(coid, siov, sparts, riov, rparts)`.
    MsgSendv, MsgSendv_r = sendv(coid: c_int, siov: *const iovec, sparts: size_t,
                                 riov: *const iovec, rparts: size_t) -> c_long;
    /// `MsgSendsv(coid, smsg, sbytes, riov, rparts)`: a flat send, a scattered reply.
    MsgSendsv, MsgSendsv_r = sendsv(coid: c_int, smsg: *const c_void, sbytes: size_t,
                                    riov: *const iovec, rparts: size_t) -> c_long;
    /// `MsgSendvs(coid, siov, sparts, rmsg, rbytes)`: a gathered send, a flat reply.
    MsgSendvs, MsgSendvs_r = sendvs(coid: c_int, siov: *const iovec, sparts: size_t,
                                    rmsg: *mut c_void, rbytes: size_t) -> c_long;
}

kernel_call! {
    /// `MsgSendnc`: the same call (not a cancellation point).
    MsgSendnc, MsgSendnc_r = send(coid: c_int, smsg: *const c_void, sbytes: size_t,
                                  rmsg: *mut c_void, rbytes: size_t) -> c_long;
    /// `MsgSendvnc`: as `MsgSendv`, not a cancellation point.
    MsgSendvnc, MsgSendvnc_r = sendv(coid: c_int, siov: *const iovec, sparts: size_t,
                                     riov: *const iovec, rparts: size_t) -> c_long;
    /// `MsgSendsvnc`: as `MsgSendsv`, not a cancellation point.
    MsgSendsvnc, MsgSendsvnc_r = sendsv(coid: c_int, smsg: *const c_void, sbytes: size_t,
                                        riov: *const iovec, rparts: size_t) -> c_long;
    /// `MsgSendvsnc`: as `MsgSendvs`, not a cancellation point.
    MsgSendvsnc, MsgSendvsnc_r = sendvs(coid: c_int, siov: *const iovec, sparts: size_t,
                                        rmsg: *mut c_void, rbytes: size_t) -> c_long;
}

// ------------------------------------------------------------------ receive

unsafe fn receive_raw(chid: c_int, r: &[Iov], info: *mut MsgInfo) -> KResult<c_int> {
    // SAFETY: `info` is NULL or the C caller's `struct _msg_info` (its promise).
    let mut info = unsafe { info.as_mut() };
    with_current(|c| {
        // SAFETY: the iovs describe the C caller's buffers, valid for writes (its promise).
        let rcvid = unsafe { c.msg_receivev_raw(chid, r, info.as_deref_mut()) }?;
        let rcvid = int(rcvid)?;
        // A pulse leaves `info` alone; a message's names its client.
        if let Some(i) = info.filter(|_| rcvid > 0) {
            i.pid = pid_out(c, i.pid);
        }
        Ok(rcvid)
    })
}

unsafe fn receive(
    chid: c_int,
    msg: *mut c_void,
    bytes: size_t,
    info: *mut MsgInfo,
) -> KResult<c_int> {
    let r = flat(msg, bytes)?;
    // SAFETY: forwarded.
    unsafe { receive_raw(chid, r.as_slice(), info) }
}

unsafe fn receivev(
    chid: c_int,
    iov: *const iovec,
    parts: size_t,
    info: *mut MsgInfo,
) -> KResult<c_int> {
    // SAFETY: forwarded.
    unsafe { receive_raw(chid, iov_list(iov, parts)?, info) }
}

unsafe fn receive_pulse(
    chid: c_int,
    pulse: *mut c_void,
    bytes: size_t,
    info: *mut MsgInfo,
) -> KResult<c_int> {
    // QNX: `info` is not written for a pulse.
    let _ = info;
    // SAFETY: forwarded.
    let buf = unsafe { buf_mut(pulse, bytes)? };
    with_current(|c| c.msg_receive_pulse(chid, buf)).map(|()| 0)
}

unsafe fn receive_pulsev(
    chid: c_int,
    iov: *const iovec,
    parts: size_t,
    info: *mut MsgInfo,
) -> KResult<c_int> {
    let _ = info;
    // SAFETY: forwarded.
    let mut bufs = unsafe { iov_mut(iov, parts)? };
    with_current(|c| c.msg_receive_pulsev(chid, &mut bufs)).map(|()| 0)
}

kernel_call_cancellable! {
    /// `MsgReceive(chid, msg, bytes, info)`: an rcvid for a message, 0 for a pulse (the buffer
    /// then holds a `struct _pulse`).
    MsgReceive, MsgReceive_r =
        receive(chid: c_int, msg: *mut c_void, bytes: size_t, info: *mut MsgInfo) -> c_int;
    /// `MsgReceivev(chid, iov, parts, info)`.
    MsgReceivev, MsgReceivev_r =
        receivev(chid: c_int, iov: *const iovec, parts: size_t, info: *mut MsgInfo) -> c_int;
    /// `MsgReceivePulse(chid, pulse, bytes, info)`: only pulses (messages stay queued); 0.
    MsgReceivePulse, MsgReceivePulse_r =
        receive_pulse(chid: c_int, pulse: *mut c_void, bytes: size_t, info: *mut MsgInfo) -> c_int;
    /// `MsgReceivePulsev(chid, iov, parts, info)`.
    MsgReceivePulsev, MsgReceivePulsev_r =
        receive_pulsev(chid: c_int, iov: *const iovec, parts: size_t, info: *mut MsgInfo) -> c_int;
}

// ------------------------------------------------------------------ reply, read, write

unsafe fn reply_raw(rcvid: c_int, status: c_long, s: &[Iov]) -> KResult<c_int> {
    // SAFETY: the iovs describe the C caller's buffers, valid for reads (its promise).
    with_current(|c| unsafe { c.msg_replyv_raw(rcvid_in(rcvid), status, s) }).map(|()| 0)
}

unsafe fn reply(rcvid: c_int, status: c_long, msg: *const c_void, bytes: size_t) -> KResult<c_int> {
    let s = flat(msg, bytes)?;
    // SAFETY: forwarded.
    unsafe { reply_raw(rcvid, status, s.as_slice()) }
}

unsafe fn replyv(rcvid: c_int, status: c_long, iov: *const iovec, parts: size_t) -> KResult<c_int> {
    // SAFETY: forwarded.
    unsafe { reply_raw(rcvid, status, iov_list(iov, parts)?) }
}

unsafe fn error(rcvid: c_int, err: c_int) -> KResult<c_int> {
    with_current(|c| c.msg_error(rcvid_in(rcvid), Errno(err))).map(|()| 0)
}

unsafe fn read(rcvid: c_int, msg: *mut c_void, bytes: size_t, offset: size_t) -> KResult<ssize_t> {
    // SAFETY: forwarded.
    let buf = unsafe { buf_mut(msg, bytes)? };
    with_current(|c| c.msg_read(rcvid_in(rcvid), buf, offset)).map(|n| n as ssize_t)
}

unsafe fn readv(
    rcvid: c_int,
    iov: *const iovec,
    parts: size_t,
    offset: size_t,
) -> KResult<ssize_t> {
    // SAFETY: forwarded.
    let mut bufs = unsafe { iov_mut(iov, parts)? };
    with_current(|c| c.msg_readv(rcvid_in(rcvid), &mut bufs, offset)).map(|n| n as ssize_t)
}

unsafe fn write(
    rcvid: c_int,
    msg: *const c_void,
    bytes: size_t,
    offset: size_t,
) -> KResult<ssize_t> {
    // SAFETY: forwarded.
    let buf = unsafe { buf(msg, bytes)? };
    with_current(|c| c.msg_write(rcvid_in(rcvid), buf, offset)).map(|n| n as ssize_t)
}

unsafe fn writev(
    rcvid: c_int,
    iov: *const iovec,
    parts: size_t,
    offset: size_t,
) -> KResult<ssize_t> {
    // SAFETY: forwarded.
    let bufs = unsafe { iov_ref(iov, parts)? };
    with_current(|c| c.msg_writev(rcvid_in(rcvid), &bufs, offset)).map(|n| n as ssize_t)
}

unsafe fn msg_current(rcvid: c_int) -> KResult<c_int> {
    with_current(|c| c.msg_current(rcvid_in(rcvid))).map(|()| 0)
}

unsafe fn msg_info(rcvid: c_int, info: *mut MsgInfo) -> KResult<c_int> {
    // SAFETY: NULL or the C caller's `struct _msg_info` (its promise).
    let out = unsafe { info.as_mut() }.ok_or(Errno::EFAULT)?;
    *out = with_current(|c| {
        let mut i = c.msg_info(rcvid_in(rcvid))?;
        i.pid = pid_out(c, i.pid);
        Ok(i)
    })?;
    Ok(0)
}

kernel_call! {
    /// `MsgReply(rcvid, status, msg, bytes)`.
    MsgReply, MsgReply_r =
        reply(rcvid: c_int, status: c_long, msg: *const c_void, bytes: size_t) -> c_int;
    /// `MsgReplyv(rcvid, status, iov, parts)`.
    MsgReplyv, MsgReplyv_r =
        replyv(rcvid: c_int, status: c_long, iov: *const iovec, parts: size_t) -> c_int;
    /// `MsgError(rcvid, err)`: the client's MsgSend fails with `err` (`EOK`: returns 0).
    MsgError, MsgError_r = error(rcvid: c_int, err: c_int) -> c_int;
    /// `MsgRead(rcvid, msg, bytes, offset)`: bytes read from the client's message.
    MsgRead, MsgRead_r =
        read(rcvid: c_int, msg: *mut c_void, bytes: size_t, offset: size_t) -> ssize_t;
    /// `MsgReadv(rcvid, iov, parts, offset)`.
    MsgReadv, MsgReadv_r =
        readv(rcvid: c_int, iov: *const iovec, parts: size_t, offset: size_t) -> ssize_t;
    /// `MsgWrite(rcvid, msg, bytes, offset)`: bytes written into the client's reply buffer.
    MsgWrite, MsgWrite_r =
        write(rcvid: c_int, msg: *const c_void, bytes: size_t, offset: size_t) -> ssize_t;
    /// `MsgWritev(rcvid, iov, parts, offset)`.
    MsgWritev, MsgWritev_r =
        writev(rcvid: c_int, iov: *const iovec, parts: size_t, offset: size_t) -> ssize_t;
    /// `MsgInfo(rcvid, info)`.
    MsgInfo, MsgInfo_r = msg_info(rcvid: c_int, info: *mut MsgInfo) -> c_int;
    /// `MsgCurrent(rcvid)`: the caller resumes work on client `rcvid`'s message and, unless
    /// the channel is `_NTO_CHF_FIXED_PRIORITY`, takes the client's priority. ESRCH `rcvid`
    /// names no client REPLY-blocked on a channel of the caller's process.
    MsgCurrent, MsgCurrent_r = msg_current(rcvid: c_int) -> c_int;
}

// ------------------------------------------------------------------ pulses and events

unsafe fn send_pulse(coid: c_int, priority: c_int, code: c_int, value: c_int) -> KResult<c_int> {
    let priority = i16::try_from(priority).map_err(|_| Errno::EINVAL)?;
    let code = i8::try_from(code).map_err(|_| Errno::EINVAL)?;
    with_current(|c| c.msg_send_pulse(coid, priority, code, value)).map(|()| 0)
}

unsafe fn deliver_event(rcvid: c_int, event: *const CSigEvent) -> KResult<c_int> {
    // SAFETY: forwarded.
    let ev = unsafe { event_in(event)? }.ok_or(Errno::EFAULT)?;
    // SAFETY: forwarded (a registered event: MsgRegisterEvent's check).
    unsafe { crate::register_event::check_delivery(event)? };
    with_current(|c| c.msg_deliver_event(rcvid_in(rcvid), &ev)).map(|()| 0)
}

unsafe fn verify_event(rcvid: c_int, event: *const CSigEvent) -> KResult<c_int> {
    // SAFETY: forwarded.
    let ev = unsafe { event_in(event)? }.ok_or(Errno::EFAULT)?;
    // SAFETY: forwarded (a registered event: MsgRegisterEvent's check).
    unsafe { crate::register_event::check_delivery(event)? };
    with_current(|c| c.msg_verify_event(rcvid_in(rcvid), &ev)).map(|()| 0)
}

kernel_call! {
    /// `MsgSendPulse(coid, priority, code, value)`: priority -1 is the sender's.
    MsgSendPulse, MsgSendPulse_r =
        send_pulse(coid: c_int, priority: c_int, code: c_int, value: c_int) -> c_int;
    /// `MsgDeliverEvent(rcvid, event)`.
    MsgDeliverEvent, MsgDeliverEvent_r =
        deliver_event(rcvid: c_int, event: *const CSigEvent) -> c_int;
    /// `MsgVerifyEvent(rcvid, event)`.
    MsgVerifyEvent, MsgVerifyEvent_r =
        verify_event(rcvid: c_int, event: *const CSigEvent) -> c_int;
}

// ------------------------------------------------------------------ timeouts and timers

/// Linux's `TIMER_ABSTIME` (1), which a program that includes `<time.h>` passes: the same
/// request as QNX's `0x80000000`.
const LINUX_TIMER_ABSTIME: u32 = 1;

fn abstime_in(flags: c_int) -> u32 {
    let f = flags as u32;
    if f & LINUX_TIMER_ABSTIME != 0 {
        (f & !LINUX_TIMER_ABSTIME) | TIMER_ABSTIME
    } else {
        f
    }
}

unsafe fn timer_timeout(
    id: clockid_t,
    flags: c_int,
    notify: *const CSigEvent,
    ntime: *const u64,
    otime: *mut u64,
) -> KResult<c_int> {
    // SAFETY: forwarded.
    let ev = unsafe { event_in(notify)? };
    // SAFETY: NULL or the C caller's `uint64_t` (its promise).
    let ntime = unsafe { ntime.as_ref() }.copied();
    let flags = abstime_in(flags);
    // (Only _NTO_TIMEOUT_NANOSLEEP writes otime: the time left when a signal ends the sleep.)
    let mut left = 0u64;
    let r = with_current(|c| c.timer_timeout_otime(id, flags, ev.as_ref(), ntime, Some(&mut left)));
    match r {
        Err(Errno::EINTR) => {
            // SAFETY: NULL or the C caller's `uint64_t` (its promise).
            if let Some(o) = unsafe { otime.as_mut() } {
                *o = left;
            }
        }
        // What the next pthread_join needs to know (libqnxsim's, which QNX's ThreadJoin is).
        Ok(_) => crate::posix::note_timeout_armed(id, flags, ev.as_ref(), ntime),
        Err(_) => {}
    }
    Ok(r? as c_int)
}

/// QNX's `struct _itimer`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ITimer {
    /// First expiry (ns).
    pub nsec: u64,
    /// Period (ns; 0: one-shot).
    pub interval_nsec: u64,
}

/// QNX 7's `struct _timer_info` (with the C `struct sigevent`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CTimerInfo {
    /// The time of the next expiry on the timer's clock (absolute ns), and the period, as
    /// QNX's ker_timer_info reports them (0 and 0 disarmed).
    pub itime: ITimer,
    /// The time left to the next expiry, and the period (0 and 0 disarmed).
    pub otime: ITimer,
    /// `_NTO_TI_*` flags: `_NTO_TI_ACTIVE` (1) when armed.
    pub flags: u32,
    /// Unused here (0).
    pub tid: i32,
    /// The event's type.
    pub notify: i32,
    /// The timer's clock.
    pub clockid: clockid_t,
    /// Expiries missed before the last delivery.
    pub overruns: u32,
    /// The event it delivers (not reported here: zero).
    pub event: CSigEvent,
}

unsafe fn timer_create_k(id: clockid_t, notify: *const CSigEvent) -> KResult<c_int> {
    // SAFETY: forwarded.
    let ev = unsafe { event_in(notify)? };
    with_current(|c| c.timer_create(id, ev.as_ref()))
}

unsafe fn timer_destroy_k(id: c_int) -> KResult<c_int> {
    with_current(|c| c.timer_destroy(id)).map(|()| 0)
}

unsafe fn timer_settime_k(
    id: c_int,
    flags: c_int,
    itime: *const ITimer,
    oitime: *mut ITimer,
) -> KResult<c_int> {
    // SAFETY: NULL or the C caller's `struct _itimer` (its promise).
    let new = unsafe { itime.as_ref() }.ok_or(Errno::EFAULT)?;
    let old =
        with_current(|c| c.timer_settime(id, abstime_in(flags), new.nsec, new.interval_nsec))?;
    // SAFETY: NULL or the C caller's `struct _itimer` (its promise).
    if let Some(o) = unsafe { oitime.as_mut() } {
        *o = ITimer {
            nsec: old.remaining,
            interval_nsec: old.interval,
        };
    }
    Ok(0)
}

unsafe fn timer_info_k(
    pid: pid_t,
    id: c_int,
    flags: c_int,
    info: *mut CTimerInfo,
) -> KResult<c_int> {
    let _ = flags;
    // SAFETY: NULL or the C caller's `struct _timer_info` (its promise).
    let out = unsafe { info.as_mut() }.ok_or(Errno::EFAULT)?;
    let t: TimerInfo = with_current(|c| {
        let pid = pid_in(c, pid);
        if pid != 0 && pid != c.process().pid {
            return Err(Errno::ESRCH);
        }
        c.timer_info(id)
    })?;
    let armed = t.remaining != 0;
    *out = CTimerInfo {
        itime: ITimer {
            nsec: t.expiry,
            interval_nsec: t.interval,
        },
        // QNX's timer_remaining(): 0 and 0 for a disarmed timer.
        otime: ITimer {
            nsec: t.remaining,
            interval_nsec: if armed { t.interval } else { 0 },
        },
        flags: u32::from(armed),
        tid: 0,
        notify: 0,
        clockid: t.clock,
        overruns: t.overruns,
        event: CSigEvent::from_kernel(&kernel_sim::types::SigEvent::none()),
    };
    Ok(id)
}

unsafe fn signal_kill(
    nd: u32,
    pid: pid_t,
    tid: c_int,
    signo: c_int,
    code: c_int,
    value: c_int,
) -> KResult<c_int> {
    let code = i16::try_from(code).map_err(|_| Errno::EINVAL)?;
    with_current(|c| c.signal_kill(nd, pid_in(c, pid), tid, signo, code.into(), value)).map(|()| 0)
}

kernel_call! {
    /// `TimerTimeout(id, flags, notify, ntime, otime)`: arms a timeout for the thread's next
    /// blocking kernel call in the `_NTO_TIMEOUT_*` states of `flags`; returns the flags armed
    /// before. `ntime` NULL: time out at once. With `_NTO_TIMEOUT_NANOSLEEP` the call sleeps
    /// until `ntime` and returns 0; a signal handler ends it with EINTR and the time left in
    /// `otime` (if not NULL). `_NTO_TIMEOUT_JOIN` bounds the next `pthread_join`.
    TimerTimeout, TimerTimeout_r = timer_timeout(id: clockid_t, flags: c_int,
        notify: *const CSigEvent, ntime: *const u64, otime: *mut u64) -> c_int;
    /// `TimerCreate(id, notify)`: a kernel timer's id.
    TimerCreate, TimerCreate_r = timer_create_k(id: clockid_t, notify: *const CSigEvent) -> c_int;
    /// `TimerDestroy(id)`.
    TimerDestroy, TimerDestroy_r = timer_destroy_k(id: c_int) -> c_int;
    /// `TimerSettime(id, flags, itime, oitime)`.
    TimerSettime, TimerSettime_r = timer_settime_k(id: c_int, flags: c_int,
        itime: *const ITimer, oitime: *mut ITimer) -> c_int;
    /// `TimerInfo(pid, id, flags, info)` for a timer of the calling process: the id.
    TimerInfo, TimerInfo_r =
        timer_info_k(pid: pid_t, id: c_int, flags: c_int, info: *mut CTimerInfo) -> c_int;
    /// `SignalKill(nd, pid, tid, signo, code, value)`.
    SignalKill, SignalKill_r = signal_kill(nd: u32, pid: pid_t, tid: c_int, signo: c_int,
        code: c_int, value: c_int) -> c_int;
}
