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

use crate::abi::errno::{Errno, KResult};
use crate::abi::types::Iov;

/// A thread's iov list: the address of its `Iov` array and the number of parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IovList {
    /// Address of the first `Iov`.
    pub addr: u64,
    /// Number of parts.
    pub parts: u32,
}

impl IovList {
    /// A list over `iovs`, which the caller keeps alive for the kernel call.
    pub fn new(iovs: &[Iov]) -> IovList {
        IovList {
            addr: iovs.as_ptr() as u64,
            parts: iovs.len() as u32,
        }
    }

    /// The list's only part, if it has exactly one.
    #[inline]
    pub fn single(&self) -> Option<Iov> {
        (self.parts == 1).then(|| self.get(0))
    }

    fn get(&self, i: u32) -> Iov {
        debug_assert!(i < self.parts);
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

/// Copies up to `max` bytes from `src` (from byte `src_off`) into `dst` (from byte `dst_off`).
/// Returns the bytes copied: the smaller of what is left on either side, and `max`.
///
/// # Safety
/// Both lists must belong to threads in kernel calls, per the module invariant, and have been
/// checked with [`validate`].
pub unsafe fn copy(src: IovList, src_off: u64, dst: IovList, dst_off: u64, max: u64) -> u64 {
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
pub unsafe fn write(dst: IovList, bytes: &[u8]) -> u64 {
    let iov = [Iov::from_slice(bytes)];
    // SAFETY: the source is our own slice; the destination satisfies the caller's contract.
    unsafe { copy(IovList::new(&iov), 0, dst, 0, bytes.len() as u64) }
}

/// Writes a result structure (`MsgInfo`, `TimerInfo`, ...) at `addr` (if non-zero): a call's
/// out-parameter.
///
/// # Safety
/// `addr` must be 0 or the address of a `T` borrowed by a thread in a kernel call.
pub unsafe fn write_out<T: Copy>(addr: u64, value: &T) {
    if addr != 0 {
        // SAFETY: guaranteed by the caller.
        unsafe { (addr as *mut T).write_unaligned(*value) };
    }
}
