//! Copies between the buffers of threads in kernel calls (Hubris calls this `umem`).
//!
//! A thread inside a kernel call hands the kernel the address of its iov array; the arrays and
//! the buffers they describe are borrowed by that thread's Rust caller for the whole call, and
//! the thread cannot return from the call before another thread has finished with them, because
//! every copy happens under the kernel lock and the owner retakes the lock before it returns.
//! That is the invariant every `unsafe` block below rests on; the kernel calls keep it by
//! copying only from or into threads that are in a kernel call (the caller, or a thread
//! SEND-, RECEIVE- or REPLY-blocked).
//!
//! Within one process this is the single copy QNX makes: from the sender's buffers straight
//! into the receiver's.
//!
//! **Across address spaces** (a kernel shared by several Linux processes, region.rs), each list
//! names its [`Space`]: the Linux process whose memory its addresses are in. A list in another
//! process is read or written with `process_vm_readv` / `process_vm_writev` from the thread in
//! the kernel call: still one copy, straight between the two programs' buffers, as on QNX (a
//! copy between two other processes goes through a bounce buffer). The other side's thread is
//! blocked in its kernel call for the whole copy, by the same invariant. Linux checks the
//! addresses: a run it refuses (unmapped, or the process gone) ends the copy with a [`Fault`]
//! naming the side, which the calls turn into QNX's EFAULT or ESRVRFAULT; in one process such
//! an address would have crashed the program.

use crate::abi::errno::{Errno, KResult};
use crate::abi::types::Iov;

/// Whose memory a list's addresses are in: 0 for the calling process (always so in a kernel of
/// one Linux process), otherwise a Linux pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Space(pub i32);

impl Space {
    /// The calling process.
    pub const LOCAL: Space = Space(0);

    /// Whether the addresses are the calling process's own.
    #[inline]
    pub fn is_local(self) -> bool {
        self.0 == 0 || self.0 == remote::my_pid()
    }
}

/// The calling program's Linux pid (cached; re-read in a forked child).
#[inline]
pub fn my_pid() -> i32 {
    remote::my_pid()
}

/// A thread's iov list: the address of its `Iov` array and the number of parts, in `space`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IovList {
    /// Address of the first `Iov`.
    pub addr: u64,
    /// Number of parts.
    pub parts: u32,
    /// Whose memory `addr` (and the buffers it describes) is in.
    pub space: Space,
}

impl IovList {
    /// A list over `iovs`, which the caller keeps alive for the kernel call.
    pub fn new(iovs: &[Iov]) -> IovList {
        IovList {
            addr: iovs.as_ptr() as u64,
            parts: iovs.len() as u32,
            space: Space::LOCAL,
        }
    }

    /// The list at `addr` of `parts` parts in `space`.
    pub fn at(addr: u64, parts: u32, space: Space) -> IovList {
        IovList { addr, parts, space }
    }

    /// The list's only part, if it has exactly one.
    #[inline]
    pub fn single(&self) -> Option<Iov> {
        (self.parts == 1 && self.space.is_local()).then(|| self.get(0))
    }

    fn get(&self, i: u32) -> Iov {
        debug_assert!(i < self.parts && self.space.is_local());
        // SAFETY: `addr` points at `parts` Iovs owned by a thread in a kernel call (module doc).
        unsafe { *(self.addr as *const Iov).add(i as usize) }
    }
}

/// Checks a thread's own iov list and returns its total length: EOVERFLOW if the lengths
/// overflow or exceed `isize::MAX` (SSIZE_MAX), `fault` if a part has a null base and a length.
pub fn validate(list: IovList, fault: Errno) -> KResult<u64> {
    if list.parts > 0 && list.addr == 0 {
        return Err(fault);
    }
    let mut total: u64 = 0;
    for i in 0..list.parts {
        let v = list.get(i);
        if v.len > 0 && v.base == 0 {
            return Err(fault);
        }
        total = total.checked_add(v.len).ok_or(Errno::EOVERFLOW)?;
    }
    if total > isize::MAX as u64 {
        return Err(Errno::EOVERFLOW);
    }
    Ok(total)
}

/// Walks an iov list from a byte offset, yielding (address, length) runs.
struct Cursor {
    list: IovList,
    part: u32,
    off: u64,
}

impl Cursor {
    fn new(list: IovList, mut skip: u64) -> Cursor {
        let mut part = 0;
        while part < list.parts {
            let l = list.get(part).len;
            if skip < l {
                break;
            }
            skip -= l;
            part += 1;
        }
        Cursor {
            list,
            part,
            off: skip,
        }
    }

    /// The next run of at most `max` bytes.
    fn next(&mut self, max: u64) -> Option<(u64, u64)> {
        while self.part < self.list.parts {
            let v = self.list.get(self.part);
            if self.off < v.len {
                let n = (v.len - self.off).min(max);
                let at = v.base + self.off;
                self.off += n;
                return Some((at, n));
            }
            self.part += 1;
            self.off = 0;
        }
        None
    }
}

/// Where two of the calling thread's own lists share memory: up to `max` runs of (offset in
/// `b`, offset in `a`, length) whose bytes are the same bytes of both (a client that passes
/// one buffer as its message and its reply buffer, as QNX clients often do, has one, its whole
/// length). Lists of more than 4096 pairs of parts are not looked at (none found).
pub fn overlaps(a: IovList, b: IovList, max: usize) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    if !(a.space.is_local() && b.space.is_local()) || u64::from(a.parts) * u64::from(b.parts) > 4096
    {
        return out;
    }
    let mut a_off = 0u64;
    for ia in 0..a.parts {
        let x = a.get(ia);
        let mut b_off = 0u64;
        for ib in 0..b.parts {
            let y = b.get(ib);
            let from = x.base.max(y.base);
            let to = x
                .base
                .saturating_add(x.len)
                .min(y.base.saturating_add(y.len));
            if from < to {
                if out.len() == max {
                    return out;
                }
                out.push((b_off + (from - y.base), a_off + (from - x.base), to - from));
            }
            b_off += y.len;
        }
        a_off += x.len;
    }
    out
}

/// Which side of a copy faulted: only a list in another process can (Linux checks its
/// addresses); the calls map it to QNX's errno (EFAULT for the client's buffers, ESRVRFAULT
/// for the server's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The source list or its buffers.
    Src,
    /// The destination list or its buffers.
    Dst,
}

/// Copies up to `max` bytes from `src` (from byte `src_off`) into `dst` (from byte `dst_off`).
/// Returns the bytes copied: the smaller of what is left on either side, and `max`; or the
/// side whose memory Linux refused, for a list in another process.
///
/// # Safety
/// Both lists must belong to threads in kernel calls, per the module invariant, and have been
/// checked with [`validate`].
pub unsafe fn copy(
    src: IovList,
    src_off: u64,
    dst: IovList,
    dst_off: u64,
    max: u64,
) -> Result<u64, Fault> {
    if !(src.space.is_local() && dst.space.is_local()) {
        // SAFETY: as for this function (the caller's contract).
        return unsafe { remote::copy(src, src_off, dst, dst_off, max) };
    }
    // SAFETY: as for this function.
    Ok(unsafe { copy_local(src, src_off, dst, dst_off, max) })
}

/// [`copy`] within the calling process.
///
/// # Safety
/// As for [`copy`].
unsafe fn copy_local(src: IovList, src_off: u64, dst: IovList, dst_off: u64, max: u64) -> u64 {
    if src.parts == 1 && dst.parts == 1 {
        // The common case (flat buffers on both sides): one bounded memmove.
        let (s, d) = (src.get(0), dst.get(0));
        if src_off >= s.len || dst_off >= d.len {
            return 0;
        }
        let n = (s.len - src_off).min(d.len - dst_off).min(max);
        // SAFETY: both runs lie inside validated buffers of threads in kernel calls (module
        // invariant); `ptr::copy` tolerates overlap.
        unsafe {
            std::ptr::copy(
                (s.base + src_off) as *const u8,
                (d.base + dst_off) as *mut u8,
                n as usize,
            )
        };
        return n;
    }
    let mut s = Cursor::new(src, src_off);
    let mut d = Cursor::new(dst, dst_off);
    let mut done = 0;
    let mut pending: Option<(u64, u64)> = None;
    while done < max {
        let (sa, sl) = match pending.take() {
            Some(r) => r,
            None => match s.next(max - done) {
                Some(r) => r,
                None => break,
            },
        };
        let Some((da, dl)) = d.next(sl) else { break };
        // SAFETY: both runs lie inside validated buffers of threads in kernel calls (module
        // invariant); `ptr::copy` tolerates overlap should a program pass aliasing buffers.
        unsafe { std::ptr::copy(sa as *const u8, da as *mut u8, dl as usize) };
        done += dl;
        if dl < sl {
            pending = Some((sa + dl, sl - dl));
        }
    }
    done
}

/// Writes `bytes` into `dst` from byte 0; returns bytes written.
///
/// # Safety
/// As for [`copy`].
pub unsafe fn write(dst: IovList, bytes: &[u8]) -> Result<u64, Fault> {
    let iov = [Iov::from_slice(bytes)];
    // SAFETY: the source is our own slice; the destination satisfies the caller's contract.
    unsafe { copy(IovList::new(&iov), 0, dst, 0, bytes.len() as u64) }
}

/// Writes a result structure (`MsgInfo`, `TimerInfo`, ...) at `addr` (if non-zero) in `space`:
/// a call's out-parameter. `T` is plain data (`#[repr(C)]`, no pointers, no invalid bit
/// patterns for the reader).
///
/// # Safety
/// `addr` must be 0 or the address of a `T` borrowed by a thread (of `space`) in a kernel call.
pub unsafe fn write_out<T: Copy>(space: Space, addr: u64, value: &T) {
    if addr == 0 {
        return;
    }
    if space.is_local() {
        // SAFETY: guaranteed by the caller.
        unsafe { (addr as *mut T).write_unaligned(*value) };
    } else {
        // SAFETY: `value` is a live `T`, read as its bytes (plain data, per the contract).
        let bytes = unsafe {
            std::slice::from_raw_parts((value as *const T).cast::<u8>(), std::mem::size_of::<T>())
        };
        let n = remote::write_to(space, addr, bytes);
        debug_assert!(n <= bytes.len());
    }
}

/// Lets the other programs of a shared kernel read and write this program's memory with
/// `process_vm_readv`/`process_vm_writev` (long messages and replies between programs), which
/// Linux allows a process of the same user only if it may ptrace this one: under Yama's
/// `ptrace_scope` 1 (many distributions' default) only this program's ancestors may, so without
/// this a server and a client started side by side could not copy between each other.
/// `prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY)` lifts that restriction for this process; without
/// Yama it fails (EINVAL) and changes nothing, and under `ptrace_scope` 2 or 3 nothing lifts it.
#[cfg(not(loom))]
pub(crate) fn let_peers_copy() {
    // SAFETY: PR_SET_PTRACER takes integers only and changes this process's Yama exception,
    // nothing in our memory.
    let _ = unsafe { libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY, 0, 0, 0) };
}

/// Whether messages longer than a thread's window must cross between this program and the
/// others of a shared kernel through the region (calls/bounce.rs), not straight between their
/// buffers: because `QNXSIM_LONG_COPIES=region` says so, or because Linux may refuse this
/// program's `process_vm_readv`/`writev` or theirs on it: a seccomp filter guards this program
/// (it may deny those calls, or kill the program at the first: no call is made to find out),
/// or Yama's `ptrace_scope` is 3 (no process may), or 2 without `CAP_SYS_PTRACE` (only such
/// processes may). Linux's other refusals (a peer of another user, or holding capabilities
/// we lack, or not dumpable) show as EPERM at the first copy, and the kernel switches then
/// ([`take_refused`]). `QNXSIM_LONG_COPIES=auto`, or unset, looks; any other value is warned
/// about and looks.
#[cfg(not(loom))]
pub(crate) fn long_copies_through_region() -> bool {
    match std::env::var("QNXSIM_LONG_COPIES").as_deref() {
        Ok("region") => return true,
        Ok("auto") | Err(std::env::VarError::NotPresent) => {}
        Ok(other) => tracing::warn!(
            value = other,
            "QNXSIM_LONG_COPIES is 'region' or 'auto'; looking whether Linux allows direct copies"
        ),
        Err(std::env::VarError::NotUnicode(_)) => tracing::warn!(
            "QNXSIM_LONG_COPIES is 'region' or 'auto'; looking whether Linux allows direct copies"
        ),
    }
    seccomp_filtered() || yama_forbids()
}

/// Whether a seccomp filter guards this program (`Seccomp: 2` in `/proc/self/status`; a
/// strict-mode program, 1, could not make our system calls at all).
#[cfg(not(loom))]
fn seccomp_filtered() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| status_field(&s, "Seccomp:").any(|m| m != "0"))
}

/// The values of field `key` (with its colon) in the text of a `/proc/.../status` file.
fn status_field<'s>(status: &'s str, key: &'s str) -> impl Iterator<Item = &'s str> {
    status
        .lines()
        .filter_map(move |l| l.strip_prefix(key))
        .map(str::trim)
}

/// Whether Yama's `ptrace_scope` refuses other programs' `process_vm_*` on us and ours on them
/// (`PR_SET_PTRACER_ANY`, which [`let_peers_copy`] sets, lifts only scope 1).
#[cfg(not(loom))]
fn yama_forbids() -> bool {
    const CAP_SYS_PTRACE: u32 = 19;
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let may_ptrace = || {
        std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            status_field(&s, "CapEff:")
                .any(|m| u64::from_str_radix(m, 16).is_ok_and(|m| m & (1 << CAP_SYS_PTRACE) != 0))
        })
    };
    scope >= 3 || (scope == 2 && !may_ptrace())
}

/// Whether Linux process `pid` runs (a zombie, or no such process, does not). The process's
/// own state is its first thread's: a program whose first thread ended (`pthread_exit` from
/// `main`, as a QNX server that hands its work to a thread pool does) shows as a zombie while
/// its other threads run, so a zombie's threads are looked at too: it runs while one of them is
/// neither a zombie nor dead.
pub fn program_alive(pid: i32) -> bool {
    match stat_state(&format!("/proc/{pid}/stat")) {
        Some('Z') => std::fs::read_dir(format!("/proc/{pid}/task")).is_ok_and(|tasks| {
            tasks.filter_map(Result::ok).any(|t| {
                stat_state(&t.path().join("stat").to_string_lossy())
                    .is_some_and(|state| state != 'Z' && state != 'X')
            })
        }),
        Some(state) => state != 'X',
        None => false,
    }
}

/// Whether Linux process `pid` has no thread left that is neither dead nor dying (exiting, or
/// with SIGKILL pending): it has died, or is dying. A SIGKILL reaches each thread as a pending
/// signal, then marks it exiting (`PF_EXITING`) before the process's memory goes, and a copy
/// into it can fail in that window while its state letters still say it runs
/// ([`program_alive`] takes it for alive until it is a zombie). For a copy that failed, to
/// tell a peer that is going from a bad buffer.
pub(crate) fn program_going(pid: i32) -> bool {
    const PF_EXITING: u64 = 0x4;
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    !tasks.filter_map(Result::ok).any(|t| {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            return false;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        // After the command: state, ppid, pgrp, session, tty_nr, tpgid, flags.
        let mut f = rest.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next());
        let flags = f.nth(5).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        !matches!(state, Some('Z' | 'X'))
            && flags & PF_EXITING == 0
            && !sigkill_pending(&t.path().join("status"))
    })
}

/// Whether the task whose `/proc/.../status` file is `status` has SIGKILL pending (a kill
/// delivered to its group, not yet acted on: it is about to exit).
fn sigkill_pending(status: &std::path::Path) -> bool {
    const SIGKILL_BIT: u64 = 1 << (libc::SIGKILL - 1);
    std::fs::read_to_string(status).is_ok_and(|s| {
        status_field(&s, "SigPnd:")
            .chain(status_field(&s, "ShdPnd:"))
            .any(|m| u64::from_str_radix(m, 16).is_ok_and(|m| m & SIGKILL_BIT != 0))
    })
}

/// The state letter of a `/proc/.../stat` file (`None`: no such file).
fn stat_state(path: &str) -> Option<char> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The state follows the command's closing parenthesis.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
}

/// The most runs one [`read_many`] system call takes (Linux's `IOV_MAX`).
pub const MAX_IOV: usize = 1024;

/// Reads many runs of another process's memory (`space`) at once, each `(source, destination)`
/// pair of equal length, with one `process_vm_readv` for up to [`MAX_IOV`] of them (the
/// asyncmsg batch of a sender in another program). Returns how many pairs, from the first,
/// were read whole: Linux stops at the first run it refuses.
///
/// # Safety
/// Each destination is a local run borrowed mutably by a thread in a kernel call (module
/// invariant), or the caller's own buffer.
pub unsafe fn read_many(space: Space, pairs: &[(Iov, Iov)]) -> usize {
    let pairs = &pairs[..pairs.len().min(MAX_IOV)];
    let iov = |v: &Iov| libc::iovec {
        iov_base: v.base as *mut libc::c_void,
        iov_len: v.len as usize,
    };
    let local: Vec<libc::iovec> = pairs.iter().map(|(_, d)| iov(d)).collect();
    let remote: Vec<libc::iovec> = pairs.iter().map(|(s, _)| iov(s)).collect();
    count_vm_call();
    // SAFETY: `local` describes destinations the caller guarantees writable; Linux checks
    // `remote` against the other process's mappings and stops instead of faulting.
    let n = remote::on_program(space.0, |pid| {
        // SAFETY: as above.
        unsafe {
            libc::process_vm_readv(
                pid,
                local.as_ptr(),
                local.len() as libc::c_ulong,
                remote.as_ptr(),
                remote.len() as libc::c_ulong,
                0,
            )
        }
    });
    let mut left = usize::try_from(n).unwrap_or(0);
    let mut whole = 0;
    for (s, _) in pairs {
        if (s.len as usize) > left {
            break;
        }
        left -= s.len as usize;
        whole += 1;
    }
    whole
}

/// Writes `bytes` into `dst` from byte `off`; returns bytes written.
///
/// # Safety
/// As for [`copy`].
pub unsafe fn write_at(dst: IovList, off: u64, bytes: &[u8]) -> Result<u64, Fault> {
    let iov = [Iov::from_slice(bytes)];
    // SAFETY: the source is our own slice; the destination satisfies the caller's contract.
    unsafe { copy(IovList::new(&iov), 0, dst, off, bytes.len() as u64) }
}

thread_local! {
    static VM_CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static REFUSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread's last `process_vm_readv`/`writev` was refused by Linux (EPERM: a Yama
/// setting, a capability or dumpability check, a seccomp filter): a copy that failed for that
/// reason, not for a bad buffer. Clears the mark.
pub fn take_refused() -> bool {
    REFUSED.try_with(|r| r.replace(false)).unwrap_or(false)
}

/// Counts one `process_vm_readv` / `process_vm_writev` call of this thread.
fn count_vm_call() {
    let _ = VM_CALLS.try_with(|c| c.set(c.get() + 1));
}

/// How many `process_vm_readv` / `process_vm_writev` calls this thread's kernel calls have
/// made: the system calls that copy between programs' memory (a test or benchmark reads it
/// around a call to see whether the copy needed one).
pub fn vm_calls_in_this_thread() -> u64 {
    VM_CALLS.try_with(std::cell::Cell::get).unwrap_or(0)
}

/// Copies to and from other processes' memory (`process_vm_readv` / `process_vm_writev`).
mod remote {
    use super::{Fault, IovList, Space};
    use crate::abi::types::Iov;
    use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

    /// The calling process's pid, cached (and re-read in a forked child: the fork generation
    /// it was read in is kept beside it).
    static PID: AtomicI32 = AtomicI32::new(0);
    static PID_GEN: AtomicU64 = AtomicU64::new(u64::MAX);

    pub(super) fn my_pid() -> i32 {
        let gen = crate::fork::generation();
        if PID_GEN.load(Ordering::Acquire) == gen {
            return PID.load(Ordering::Relaxed);
        }
        let pid = std::process::id() as i32;
        PID.store(pid, Ordering::Relaxed);
        PID_GEN.store(gen, Ordering::Release);
        pid
    }

    /// Runs `call` (a `process_vm_readv`/`_writev` on a pid) on the program `pid`; if Linux
    /// says ESRCH there (the program's first thread has no memory any more: it ended with
    /// `pthread_exit` while the others run, as a QNX server that hands its work to a thread
    /// pool does, or it is dying), again on each of its other threads, whose memory is the
    /// same, until one answers. Its result (-1 when none did).
    pub(super) fn on_program(pid: i32, call: impl Fn(i32) -> isize) -> isize {
        let n = on_program_tasks(pid, call);
        // (The mark says whether this call, the thread's last, was refused.)
        let refused = n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        let _ = super::REFUSED.try_with(|r| r.set(refused));
        n
    }

    /// [`on_program`]'s tries.
    fn on_program_tasks(pid: i32, call: impl Fn(i32) -> isize) -> isize {
        let n = call(pid);
        if n >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH) {
            return n;
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return n;
        };
        for tid in tasks
            .filter_map(Result::ok)
            .filter_map(|t| t.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
            .filter(|&tid| tid != pid)
        {
            let m = call(tid);
            if m >= 0 {
                return m;
            }
        }
        n
    }

    /// Reads `len` bytes at `addr` of `space` into `out` (at most `out.len()`); bytes read.
    fn read_from(space: Space, addr: u64, out: &mut [u8]) -> usize {
        if out.is_empty() {
            return 0;
        }
        let local = [libc::iovec {
            iov_base: out.as_mut_ptr().cast(),
            iov_len: out.len(),
        }];
        let remote = [libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: out.len(),
        }];
        super::count_vm_call();
        // SAFETY: `local` describes `out`, which we own mutably; Linux checks `remote` against
        // the other process's mappings and fails (or stops short) instead of faulting.
        let n = on_program(space.0, |pid| {
            // SAFETY: as above.
            unsafe { libc::process_vm_readv(pid, local.as_ptr(), 1, remote.as_ptr(), 1, 0) }
        });
        usize::try_from(n).unwrap_or(0)
    }

    /// Writes `bytes` at `addr` of `space`; bytes written.
    pub(super) fn write_to(space: Space, addr: u64, bytes: &[u8]) -> usize {
        if bytes.is_empty() {
            return 0;
        }
        let local = [libc::iovec {
            iov_base: bytes.as_ptr() as *mut libc::c_void,
            iov_len: bytes.len(),
        }];
        let remote = [libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: bytes.len(),
        }];
        super::count_vm_call();
        // SAFETY: `local` describes `bytes`, which Linux only reads; `remote` is checked by
        // Linux against the other process's mappings.
        let n = on_program(space.0, |pid| {
            // SAFETY: as above.
            unsafe { libc::process_vm_writev(pid, local.as_ptr(), 1, remote.as_ptr(), 1, 0) }
        });
        usize::try_from(n).unwrap_or(0)
    }

    /// A list's parts as (base, len) pairs: read through its own space when it is remote
    /// (`None`: Linux refused to read its iov array).
    fn parts_of(list: IovList) -> Option<Vec<(u64, u64)>> {
        if list.space.is_local() {
            return Some(
                (0..list.parts)
                    .map(|i| {
                        let v = list.get(i);
                        (v.base, v.len)
                    })
                    .collect(),
            );
        }
        let mut raw = vec![0u8; list.parts as usize * std::mem::size_of::<Iov>()];
        if read_from(list.space, list.addr, &mut raw) < raw.len() {
            return None;
        }
        Some(
            raw.chunks_exact(std::mem::size_of::<Iov>())
                .map(|c| {
                    let word = |at: usize| {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&c[at..at + 8]);
                        u64::from_ne_bytes(b)
                    };
                    (word(0), word(8))
                })
                .collect(),
        )
    }

    /// Runs of at most `max` bytes through a list's parts, from byte `skip`.
    fn runs(parts: &[(u64, u64)], mut skip: u64, mut max: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for &(base, len) in parts {
            if max == 0 {
                break;
            }
            if skip >= len {
                skip -= len;
                continue;
            }
            let n = (len - skip).min(max);
            out.push((base + skip, n));
            max -= n;
            skip = 0;
        }
        out
    }

    /// [`super::copy`] when either side is in another process.
    ///
    /// # Safety
    /// As for [`super::copy`]: local runs lie in buffers borrowed by threads in kernel calls.
    pub(super) unsafe fn copy(
        src: IovList,
        src_off: u64,
        dst: IovList,
        dst_off: u64,
        max: u64,
    ) -> Result<u64, Fault> {
        let s = runs(&parts_of(src).ok_or(Fault::Src)?, src_off, max);
        let d = runs(&parts_of(dst).ok_or(Fault::Dst)?, dst_off, max);
        let (mut si, mut di) = (0, 0);
        let (mut so, mut doff) = (0u64, 0u64);
        let mut done = 0u64;
        let mut bounce = Vec::new();
        while si < s.len() && di < d.len() {
            let (sa, sl) = s[si];
            let (da, dl) = d[di];
            let n = (sl - so).min(dl - doff);
            let (from, to) = (sa + so, da + doff);
            let n_us = n as usize;
            match (src.space.is_local(), dst.space.is_local()) {
                (true, false) => {
                    // SAFETY: a local run of a validated buffer (caller's contract).
                    let bytes = unsafe { std::slice::from_raw_parts(from as *const u8, n_us) };
                    if write_to(dst.space, to, bytes) < n_us {
                        return Err(Fault::Dst);
                    }
                }
                (false, true) => {
                    // SAFETY: a local run of a validated buffer (caller's contract), borrowed
                    // mutably by its blocked owner's call, which nothing else touches.
                    let out = unsafe { std::slice::from_raw_parts_mut(to as *mut u8, n_us) };
                    if read_from(src.space, from, out) < n_us {
                        return Err(Fault::Src);
                    }
                }
                _ => {
                    bounce.resize(n_us, 0u8);
                    if read_from(src.space, from, &mut bounce) < n_us {
                        return Err(Fault::Src);
                    }
                    if write_to(dst.space, to, &bounce) < n_us {
                        return Err(Fault::Dst);
                    }
                }
            }
            done += n;
            so += n;
            doff += n;
            if so == sl {
                si += 1;
                so = 0;
            }
            if doff == dl {
                di += 1;
                doff = 0;
            }
            if done == n && si < s.len() && di < d.len() {
                // Fault injection (kernel/entry.rs, `mid-copy`): the first run copied, more
                // to come, so that a program killed here dies with part of a message copied.
                crate::Kernel::fault_point(crate::Kernel::FAULT_MID_COPY);
            }
        }
        Ok(done)
    }
}
