//! The undo record of a shared kernel: what lets the supervisor undo a kernel call whose
//! program died in the middle of it, holding the kernel lock.
//!
//! While a thread of a shared kernel holds the lock, every part of the tables it is about to
//! change is first copied into this record (its "before image"): each pool slot
//! (`Pool::at_mut`, `get_mut`, `alloc`, `free`), a pool's head when `alloc` or `free` changes
//! it, the next pid when a process is made, and each chid or coid table entry, the first time
//! the call touches it. (The kernel-entry count is a statistic: not logged. Nor is the caller's
//! own thread slot in its entry's bookkeeping and the collection of its result,
//! `Pool::get_mut_unlogged`: a call is undone only when its program died, and that program's
//! threads are torn down after.) Releasing the lock first
//! commits (empties) the record. A program killed while holding the lock leaves the record
//! active: the supervisor copies the before images back, newest first, and the tables are as
//! they were before the call began, as if it had never been made; then it tears the dead
//! program down as usual (`Kernel::reap_os_process`). What a call changes outside the tables is
//! left: bytes copied into a blocked thread's buffers or window (it is still blocked, so it
//! never sees them), a wait word bumped (a waiter re-checks its state under the lock).
//!
//! A call that changes more than the record holds (a whole process torn down at once) marks it
//! overflowed: such a call cannot be undone, and the supervisor says so instead.

use std::ptr::NonNull;

/// Bytes of before images the shared record holds (calls made by no kernel thread: process
/// creation and teardown, inspection, the supervisor's reaping).
pub const UNDO_BYTES: usize = 256 << 10;

/// Bytes of before images each kernel thread's own record holds (its calls; an SRR call logs
/// about 1.5 KiB). Each thread writes its own record, so the record's cache lines stay with the
/// thread's CPU instead of moving with every call between the programs' CPUs.
pub const UNDO_THREAD_BYTES: usize = 16 << 10;

/// Which record the call holding the lock writes: a thread slot's, or [`GLOBAL`].
pub const GLOBAL: u32 = u32::MAX;

/// Places remembered to log each once per call: a direct-mapped table of offsets, each entry
/// valid for the call whose number it carries. A place whose entry was taken by another is
/// logged twice, which is harmless (the older image is restored last); an entry never answers
/// for a place it does not name, so no place goes unlogged.
const SEEN: usize = 64;

/// The entry of the table of logged places that place `off` uses.
#[inline(always)]
fn seen_slot(off: u32) -> usize {
    (off.wrapping_mul(0x9E37_79B1) >> 26) as usize % SEEN
}

/// The record's header, in the region.
#[repr(C)]
#[derive(Debug)]
pub struct UndoHeader {
    /// 1 while a call may be changing the tables (from taking the lock to committing).
    pub active: u32,
    /// 1 if a before image did not fit: the call cannot be undone.
    pub overflow: u32,
    /// Bytes of `area` in use.
    pub used: u32,
    /// Entries logged.
    pub entries: u32,
    /// This call's number (bumped by `begin`): a `seen` entry counts only with it.
    pub call: u32,
    /// Places logged, by a hash of their offset: (offset, call number).
    pub seen: [[u32; 2]; SEEN],
}

impl UndoHeader {
    /// An empty, inactive record: all zero (a fresh region's records are left as mapped).
    #[cfg(test)]
    pub const fn new() -> UndoHeader {
        UndoHeader {
            active: 0,
            overflow: 0,
            used: 0,
            entries: 0,
            call: 0,
            seen: [[0; 2]; SEEN],
        }
    }
}

/// Where a region keeps the undo handle of the call holding the lock, so that each pool of the
/// holder's view of the tables points at it ([`UndoRef`], 8 bytes) instead of carrying a copy.
#[derive(Debug, Default)]
pub struct UndoSlot(std::cell::UnsafeCell<Option<Undo>>);

// SAFETY: written and read only by the kernel lock's holder (the region's `tables_unlocked`,
// under the lock), one thread at a time.
unsafe impl Sync for UndoSlot {}
// SAFETY: as above; it holds raw pointers into the region, which is `Send`.
unsafe impl Send for UndoSlot {}

impl UndoSlot {
    /// Stores `u` and returns a reference to it (`None` if `u` is).
    ///
    /// # Safety
    /// The caller holds the kernel lock, and no [`UndoRef`] from an earlier `set` is in use.
    pub unsafe fn set(&self, u: Option<Undo>) -> Option<UndoRef> {
        // SAFETY: the caller's contract: nobody else reads or writes the slot now.
        unsafe {
            *self.0.get() = u;
            (*self.0.get()).as_ref().map(|u| UndoRef(NonNull::from(u)))
        }
    }
}

/// A reference to the undo handle in an [`UndoSlot`], valid while the view of the tables that
/// holds it lives.
#[derive(Clone, Copy, Debug)]
pub struct UndoRef(NonNull<Undo>);

impl UndoRef {
    /// The handle.
    #[inline]
    pub fn get(&self) -> &Undo {
        // SAFETY: points into the region's `UndoSlot`, set under the lock for the view that
        // holds this reference, and not set again while that view lives.
        unsafe { self.0.as_ref() }
    }
}

/// One entry's header in the area; its bytes follow, padded to 8.
#[repr(C)]
#[derive(Clone, Copy)]
struct Entry {
    offset: u32,
    len: u32,
}

/// A handle to a region's undo record: raw pointers into the region, valid while the region is
/// mapped, used only by the holder of the kernel lock (or the supervisor that took over a dead
/// holder's lock).
#[derive(Clone, Copy, Debug)]
pub struct Undo {
    base: NonNull<u8>,
    region_len: usize,
    hdr: NonNull<UndoHeader>,
    area: NonNull<u8>,
    bytes: usize,
}

impl Undo {
    /// The record at `hdr` (with `bytes` of area at `area`) of the region at `base`.
    ///
    /// # Safety
    /// The pointers must point into one live region of `region_len` bytes at `base`, at a
    /// formatted record; only the kernel lock's holder may use the handle.
    pub unsafe fn new(
        base: NonNull<u8>,
        region_len: usize,
        hdr: NonNull<UndoHeader>,
        area: NonNull<u8>,
        bytes: usize,
    ) -> Undo {
        Undo {
            base,
            region_len,
            hdr,
            area,
            bytes,
        }
    }

    fn hdr(&self) -> *mut UndoHeader {
        self.hdr.as_ptr()
    }

    /// Starts a call's record (the lock was just taken).
    pub fn begin(&self) {
        // SAFETY: the lock's holder alone touches the record (type doc).
        unsafe {
            let h = self.hdr();
            (*h).used = 0;
            (*h).entries = 0;
            (*h).overflow = 0;
            // (A new number forgets every place the last call logged, without clearing them;
            // 0 is never a call's, so a fresh record's zeroed table remembers nothing.)
            (*h).call = (*h).call.wrapping_add(1).max(1);
            if (*h).call == 1 {
                // (The first call, or the numbers wrapped: entries of an earlier call 1 must not
                // answer for this one.)
                (*h).seen = [[0; 2]; SEEN];
            }
            // (The record is emptied before it says "active": a supervisor reading it after a
            // kill sees a consistent one. Stores of a killed thread are not reordered by the
            // CPU here; the fences keep the compiler from reordering them.)
            std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
            (*h).active = 1;
        }
    }

    /// Ends a call's record: its changes stand (the lock is about to be released).
    pub fn commit(&self) {
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: as in `begin`.
        unsafe {
            (*self.hdr()).active = 0;
        }
    }

    /// Whether a call was under way (begun, not committed), and whether it can be undone.
    pub fn pending(&self) -> (bool, bool) {
        // SAFETY: as in `begin`.
        unsafe {
            let h = self.hdr();
            ((*h).active != 0, (*h).overflow == 0)
        }
    }

    /// Logs the before image of the `len` bytes at `p` (inside the region), once per call: a
    /// place this call logged already is told at once (most logs of a call are such), the rest
    /// out of line (`log_new`).
    #[inline(always)]
    pub fn log(&self, p: *const u8, len: usize) {
        let off = (p as usize).wrapping_sub(self.base.as_ptr() as usize);
        if off < self.region_len {
            let off = off as u32;
            // SAFETY: as in `begin`.
            let seen = unsafe {
                let h = self.hdr();
                (*h).seen[seen_slot(off)] == [off, (*h).call]
            };
            if seen {
                return;
            }
        }
        self.log_new(p, len);
    }

    /// [`Undo::log`] of a place not yet logged in this call. (Out of line: every mutable access
    /// to the tables has a call to `log` behind its "is there a record" test, and a kernel of
    /// one program never makes it.)
    #[inline(never)]
    fn log_new(&self, p: *const u8, len: usize) {
        let off = (p as usize).wrapping_sub(self.base.as_ptr() as usize);
        if off >= self.region_len || len > self.region_len - off {
            return; // (Not region memory: nothing to undo.)
        }
        let off = off as u32;
        // SAFETY: as in `begin`; `p..p + len` lies in the region (checked above).
        unsafe {
            let h = self.hdr();
            if (*h).active == 0 || (*h).overflow != 0 {
                return;
            }
            let slot = seen_slot(off);
            let call = (*h).call;
            if (*h).seen[slot] == [off, call] {
                return;
            }
            let need = std::mem::size_of::<Entry>() + len.next_multiple_of(8);
            let used = (*h).used as usize;
            if used + need > self.bytes {
                (*h).overflow = 1;
                return;
            }
            let at = self.area.as_ptr().add(used);
            (at as *mut Entry).write_unaligned(Entry {
                offset: off,
                len: len as u32,
            });
            std::ptr::copy_nonoverlapping(p, at.add(std::mem::size_of::<Entry>()), len);
            (*h).seen[slot] = [off, call];
            (*h).entries += 1;
            (*h).used = (used + need) as u32;
        }
        // The image is in the record before the caller changes the place it copied.
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        // (Fault injection: a program killed here dies with its call's changes half made.)
        #[cfg(not(loom))]
        crate::Kernel::fault_point(crate::Kernel::FAULT_MID_CHANGE);
    }

    /// Logs the before image of `*v`.
    #[inline]
    pub fn log_val<T>(&self, v: &T) {
        self.log((v as *const T).cast(), std::mem::size_of::<T>());
    }

    /// Copies every before image back, newest first, and ends the record. Returns how many.
    ///
    /// # Safety
    /// The caller holds (or took over) the kernel lock, and no `Tables` view is alive.
    pub unsafe fn roll_back(&self) -> u32 {
        // SAFETY: the caller's contract; every entry was written by `log` within the area,
        // naming bytes inside the region.
        unsafe {
            let h = self.hdr();
            let mut at = Vec::with_capacity((*h).entries as usize);
            let mut used = 0usize;
            while used < (*h).used as usize {
                let e = (self.area.as_ptr().add(used) as *const Entry).read_unaligned();
                at.push((used, e));
                used += std::mem::size_of::<Entry>() + (e.len as usize).next_multiple_of(8);
            }
            for &(pos, e) in at.iter().rev() {
                std::ptr::copy_nonoverlapping(
                    self.area.as_ptr().add(pos + std::mem::size_of::<Entry>()),
                    self.base.as_ptr().add(e.offset as usize),
                    e.len as usize,
                );
            }
            (*h).active = 0;
            at.len() as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake region: a header, an area of `bytes`, then 256 bytes of "tables".
    struct Fake {
        mem: Vec<u64>,
        bytes: usize,
    }

    impl Fake {
        fn new(bytes: usize) -> Fake {
            let words = (std::mem::size_of::<UndoHeader>() + bytes + 256).div_ceil(8);
            let mut f = Fake {
                mem: vec![0; words],
                bytes,
            };
            // SAFETY: the header fits at the start of the zeroed, aligned buffer.
            unsafe { (f.mem.as_mut_ptr() as *mut UndoHeader).write(UndoHeader::new()) };
            f
        }

        fn undo(&mut self) -> Undo {
            let base = self.mem.as_mut_ptr() as *mut u8;
            let len = self.mem.len() * 8;
            // SAFETY: all three pointers lie in `mem`, which outlives the handle in each test.
            unsafe {
                Undo::new(
                    NonNull::new(base).unwrap(),
                    len,
                    NonNull::new(base.cast()).unwrap(),
                    NonNull::new(base.add(std::mem::size_of::<UndoHeader>())).unwrap(),
                    self.bytes,
                )
            }
        }

        fn tables(&mut self) -> &mut [u8] {
            let at = std::mem::size_of::<UndoHeader>() + self.bytes;
            // SAFETY: the last 256 bytes of `mem`, within it.
            unsafe {
                std::slice::from_raw_parts_mut((self.mem.as_mut_ptr() as *mut u8).add(at), 256)
            }
        }
    }

    #[test]
    fn a_call_is_undone_newest_image_last_and_a_committed_one_is_not() {
        let mut f = Fake::new(4096);
        let u = f.undo();
        f.tables()
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = i as u8);
        u.begin();
        let t = f.tables();
        u.log(t[10..].as_ptr(), 20);
        t[10..30].fill(0xaa);
        // Logged twice: the first (older) image is what comes back.
        u.log(t[10..].as_ptr(), 20);
        t[10..30].fill(0xbb);
        u.log(t[100..].as_ptr(), 5);
        t[100..105].fill(0xcc);
        assert_eq!(u.pending(), (true, true));
        // SAFETY: single-threaded test; no other view of the fake tables is alive.
        let n = unsafe { u.roll_back() };
        assert_eq!(n, 2, "the second image of the same place is not logged");
        assert!(f.tables().iter().enumerate().all(|(i, &b)| b == i as u8));
        assert_eq!(u.pending(), (false, true));
        // A committed call is not undone.
        u.begin();
        let t = f.tables();
        u.log(t.as_ptr(), 4);
        t[..4].fill(9);
        u.commit();
        assert!(!u.pending().0);
        assert_eq!(f.tables()[..4], [9, 9, 9, 9]);
    }

    #[test]
    fn a_call_too_large_for_the_record_is_marked_and_nothing_outside_the_region_is_logged() {
        let mut f = Fake::new(64);
        let u = f.undo();
        u.begin();
        let outside = [0u8; 8];
        u.log(outside.as_ptr(), 8);
        assert_eq!(u.pending(), (true, true), "not region memory: ignored");
        let t = f.tables();
        u.log(t.as_ptr(), 40);
        assert_eq!(u.pending(), (true, true));
        u.log(t[50..].as_ptr(), 40);
        assert_eq!(u.pending(), (true, false), "did not fit: cannot be undone");
    }
}
