//! Send buffers in a shared kernel's region ([`SharedHeap`], [`SharedBuf`]): where a message
//! between programs waits for its receiver, so that the kernel, running in the receiver's
//! thread, copies it from the region without a system call.
//!
//! A program's heap (one per shared kernel it uses; its simulated processes share it, as they
//! share its memory) is a set of blocks of the region's queue arena that the kernel gave the
//! program (`AsyncHeapAlloc`: whole pages, owned by the Linux program until it frees them,
//! ends or is reaped; never by one simulated process, so tearing a process down frees nothing
//! a buffer still uses). Blocks of [`CHUNK`] bytes are cut into buffers of one power-of-two
//! size class each ([`MIN_CLASS`] to [`CHUNK`] bytes), kept on free lists (a chunk stays with
//! the heap once cut); a buffer of more than [`CHUNK`] bytes gets a block of its own, given
//! back to the kernel when it is freed. A program holds at most [`max_pages`] pages of a
//! kernel, and all programs together at most half the arena (the kernel's bound; the rest is
//! for queues): beyond that an allocation fails (ENOMEM) and a put falls back to the sender's
//! own memory (read with `process_vm_readv`, design.md).
//!
//! The kernel accepts a message whose descriptor names bytes of the region only if they lie
//! inside one block of the sender's program; any other offset is EFAULT. Another admitted
//! program can write the region (the trust model, design.md): it can garble a message waiting
//! here, never make the kernel read outside the region.
//!
//! After a `fork`, the child's heaps are new ones, and the buffers it inherited are its own, as
//! a forked QNX process's copy of its parent's `asyncmsg_malloc` memory is: fork hooks copy
//! each block as the last step before the fork and, in the child, move the copy over the block
//! of the inherited mapping (`forked`), so that neither side's writes after the fork reach the
//! other's buffers; nothing of the child's puts them uncopied.
//!
//! Lock order (conn.rs's list): a heap's lock comes after a connection's producer lock and
//! before the kernel's; it is never held while the program's code runs or a kernel call is
//! made. The registry's lock (`registry()`) is held only to look a heap up or add one, with
//! nothing taken under it but a heap's lock (`find`). A heap's chunks go back to the kernel
//! when its last reference goes: the connections whose queues are in the region and the
//! buffers each hold one (a buffer given up as its address, `SharedBuf::into_raw`, keeps its
//! reference until `from_raw` takes it back).

use crate::current::{cleanup_in, on_kernel, with_current};
use kernel_sim::asyncq::MsgDesc;
use kernel_sim::{Errno, KResult, Kernel, Pid, ThreadCtx};
use std::collections::{BTreeMap, HashSet};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// The smallest buffer the heap hands out (a shorter message of a connection between programs
/// goes in its slot's inline area instead).
pub const MIN_CLASS: usize = 256;
/// The blocks the heap asks the kernel for, and the largest size class.
pub const CHUNK: usize = 64 * 1024;
const CLASSES: usize = (CHUNK / MIN_CLASS).trailing_zeros() as usize + 1;
const PAGE: u64 = 4096;

/// The most pages of the region's queue arena one program's heap holds: a quarter of the
/// arena, at most 4 MiB, so that queues (which need the arena too) still find room.
pub fn max_pages(kernel: &Kernel) -> usize {
    (kernel.config().async_queue_pages as usize / 4).min(1024)
}

/// One program's send buffers in a shared kernel's region.
pub struct SharedHeap {
    kernel: Kernel,
    /// A process of the program, for the kernel calls a thread not bound to the kernel makes
    /// (a buffer dropped there: `cleanup_in`).
    pid: Pid,
    /// The fork generation the heap was made in (a forked child makes its own).
    fork_gen: u64,
    /// The largest buffer this heap hands out: a quarter of its page budget, so that one
    /// message never takes it all.
    max: usize,
    state: Mutex<HeapState>,
}

#[derive(Default)]
struct HeapState {
    /// Free buffers by size class (offsets in the queue arena).
    free: [Vec<u64>; CLASSES],
    /// Every block held, by offset: its bytes and its class (`None`: one large buffer).
    blocks: BTreeMap<u64, (u64, Option<usize>)>,
    /// The address of the arena's byte 0 in this mapping (known from the first block).
    base: usize,
    pages: usize,
    /// Buffers handed out and not freed.
    live: usize,
    /// Buffers given up as their address (`SharedBuf::into_raw`), by offset: the only ones
    /// `view_raw` and `from_raw` name.
    raw: HashSet<u64>,
    /// How many buffers each connection keeps spare ([`CopyBufs`]): handed out, not in use.
    spares: Vec<Weak<std::sync::atomic::AtomicUsize>>,
}

impl std::fmt::Debug for SharedHeap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedHeap")
            .field("kernel", &self.kernel.id())
            .finish()
    }
}

/// The blocks of this program's heaps as addresses in its mappings, for a forked child to copy
/// (see the module doc). A fixed table, changed only inside `kernel_sim::fork::excluded` (no
/// fork under way, signals blocked) and read by the fork hooks, which kernel-sim runs inside its
/// own fork handling (`kernel_sim::fork::set_hooks`: signals blocked, no `excluded` section
/// running): so a fork sees a table no thread is changing, and a block is never unmapped (its
/// heap dropped, its kernel's region unmapped) while `prepare` copies it, since the heap
/// forgets it first.
///
/// The copies are taken as the last step before the fork (`prepare`): a copy made in the child
/// would race with the parent, which returns from `fork` at once and may write its buffers
/// while the child copies them. Each copy is a new private anonymous mapping, which the child
/// inherits as it is and moves over the block (`child`: the block is never without its bytes);
/// the parent unmaps its own (`parent`). What other threads write to their buffers between the
/// copy and the fork itself (microseconds) is not in the child's copy (docs/deviations.md).
#[cfg(not(loom))]
mod forked {
    use std::cell::UnsafeCell;
    use std::sync::Once;

    /// Entries: a program holds at most 1024 pages of a kernel in blocks of 16 pages or more
    /// (`max_pages`, `CHUNK`), 64 blocks per kernel.
    const SLOTS: usize = 1024;

    /// One block: its address and length (0: a free entry), and the copy `prepare` made of it.
    #[derive(Clone, Copy)]
    struct Entry {
        addr: usize,
        len: usize,
        copy: usize,
    }

    struct Table(UnsafeCell<[Entry; SLOTS]>);

    // SAFETY: the table is touched only inside `kernel_sim::fork::excluded` (one thread at a
    // time, no fork under way) or by the fork hooks (the forking thread, while no `excluded`
    // section runs): never by two threads at once.
    unsafe impl Sync for Table {}

    static TABLE: Table = Table(UnsafeCell::new(
        [Entry {
            addr: 0,
            len: 0,
            copy: 0,
        }; SLOTS],
    ));
    static HOOKS: kernel_sim::fork::ForkHooks = kernel_sim::fork::ForkHooks {
        prepare,
        parent,
        child,
    };
    static SET: Once = Once::new();

    /// The table, for a caller inside `excluded` or a fork hook (see `Table`'s `Sync`).
    ///
    /// # Safety
    /// The caller is inside `kernel_sim::fork::excluded` or is a fork hook, and holds no other
    /// reference from this function.
    #[allow(clippy::mut_from_ref)]
    unsafe fn table() -> &'static mut [Entry; SLOTS] {
        // SAFETY: the caller's promise: no other thread touches the table meanwhile.
        unsafe { &mut *TABLE.0.get() }
    }

    /// Records block `addr..addr + len` (page-aligned). With the table full the block is not
    /// copied at a fork (a child's writes to it then reach the parent's: never with fewer than
    /// 16 kernels in use).
    pub(super) fn add(addr: usize, len: usize) {
        SET.call_once(|| kernel_sim::fork::set_hooks(&HOOKS));
        kernel_sim::fork::excluded(|| {
            // SAFETY: inside `excluded`.
            let t = unsafe { table() };
            if let Some(e) = t.iter_mut().find(|e| e.len == 0) {
                *e = Entry { addr, len, copy: 0 };
            }
        });
    }

    /// Forgets block `addr` (about to be freed, or its heap and mapping to go).
    pub(super) fn remove(addr: usize) {
        kernel_sim::fork::excluded(|| {
            // SAFETY: inside `excluded`.
            let t = unsafe { table() };
            if let Some(e) = t.iter_mut().find(|e| e.len != 0 && e.addr == addr) {
                e.len = 0;
            }
        });
    }

    /// A private anonymous copy of `len` bytes at `addr`, or 0 if there is no memory for one
    /// (the block then stays shared in the child).
    ///
    /// # Safety
    /// `addr..addr + len` is mapped and readable.
    unsafe fn copy_of(addr: usize, len: usize) -> usize {
        // SAFETY: a new mapping of our own, then a copy into it from the caller's range.
        unsafe {
            let tmp = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if tmp == libc::MAP_FAILED {
                return 0;
            }
            std::ptr::copy_nonoverlapping(addr as *const u8, tmp.cast::<u8>(), len);
            tmp as usize
        }
    }

    fn prepare() {
        // SAFETY: a fork hook.
        for e in unsafe { table() }.iter_mut().filter(|e| e.len != 0) {
            // SAFETY: a recorded block is a whole-page range of a live mapping of the region:
            // its heap forgets it (in `excluded`, which cannot run now) before it is freed or
            // unmapped.
            e.copy = unsafe { copy_of(e.addr, e.len) };
        }
    }

    fn parent() {
        // SAFETY: a fork hook.
        for e in unsafe { table() }.iter_mut().filter(|e| e.copy != 0) {
            // SAFETY: our own mapping from `prepare`, of that length, used by nothing.
            unsafe { libc::munmap(e.copy as *mut libc::c_void, e.len) };
            e.copy = 0;
        }
    }

    /// In the child: each copy is moved over its block (replacing those pages of the inherited
    /// mapping and nothing else). System calls only: no allocation, no lock.
    fn child() {
        // SAFETY: a fork hook.
        for e in unsafe { table() }.iter_mut().filter(|e| e.copy != 0) {
            // SAFETY: `e.copy` is our mapping of `e.len` bytes; `e.addr..e.addr + e.len` is the
            // block, whole pages of the inherited mapping, which the move replaces; the child
            // runs no other thread.
            let moved = unsafe {
                libc::mremap(
                    e.copy as *mut libc::c_void,
                    e.len,
                    e.len,
                    libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                    e.addr as *mut libc::c_void,
                )
            };
            if moved == libc::MAP_FAILED {
                // SAFETY: as in `parent`.
                unsafe { libc::munmap(e.copy as *mut libc::c_void, e.len) };
            }
            e.copy = 0;
        }
    }
}

#[cfg(loom)]
mod forked {
    pub(super) fn add(_addr: usize, _len: usize) {}
    pub(super) fn remove(_addr: usize) {}
}

/// The kernel's view of a flat message of `len` bytes at offset `off` of the queue arena.
fn region_desc(off: u64, len: usize) -> MsgDesc {
    MsgDesc {
        iov: kernel_sim::Iov {
            base: kernel_sim::asyncq::IN_REGION | off,
            len: len as u64,
        },
        parts: 0,
    }
}

fn class_of(len: usize) -> usize {
    len.max(MIN_CLASS).next_power_of_two().trailing_zeros() as usize
        - MIN_CLASS.trailing_zeros() as usize
}

/// The heaps of this program, one per shared kernel (weak: a heap lives while something uses
/// it).
fn registry() -> &'static Mutex<Vec<Weak<SharedHeap>>> {
    static HEAPS: OnceLock<Mutex<Vec<Weak<SharedHeap>>>> = OnceLock::new();
    HEAPS.get_or_init(|| Mutex::new(Vec::new()))
}

/// The live heaps of this program (made in this fork generation), taken out of the registry so
/// that no heap is dropped under its lock.
fn live_heaps() -> Vec<Arc<SharedHeap>> {
    let gen = kernel_sim::fork::generation();
    let heaps = registry().lock().unwrap_or_else(|p| p.into_inner());
    heaps
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|h| h.fork_gen == gen)
        .collect()
}

impl SharedHeap {
    /// This program's heap on `kernel`, made on first use (`pid`: a process of the program on
    /// it). None for a kernel of one program (its senders' memory is the kernel's too: nothing
    /// to gain).
    pub(super) fn of(kernel: &Kernel, pid: Pid) -> Option<Arc<SharedHeap>> {
        if !kernel.is_shared() {
            return None;
        }
        let gen = kernel_sim::fork::generation();
        let mut dead = Vec::new();
        let heap = {
            let mut heaps = registry().lock().unwrap_or_else(|p| p.into_inner());
            heaps.retain(|h| h.strong_count() > 0);
            let found = heaps.iter().find_map(|w| {
                let h = w.upgrade()?;
                if h.kernel.same(kernel) && h.fork_gen == gen {
                    Some(h)
                } else {
                    dead.push(h);
                    None
                }
            });
            found.unwrap_or_else(|| {
                let h = Arc::new(SharedHeap {
                    kernel: kernel.clone(),
                    pid,
                    fork_gen: gen,
                    max: max_pages(kernel) * PAGE as usize / 4,
                    state: Mutex::new(HeapState::default()),
                });
                heaps.push(Arc::downgrade(&h));
                h
            })
        };
        // (The references taken while looking go after the registry's lock.)
        drop(dead);
        Some(heap)
    }

    /// This program's heap on the calling thread's kernel, if it is shared.
    pub(super) fn current() -> KResult<Option<Arc<SharedHeap>>> {
        with_current(|c| Ok(SharedHeap::of(c.kernel(), c.process())))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HeapState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs kernel call `f` as a thread of the program on the heap's kernel: the calling
    /// thread if it is bound there, else an internal thread of the heap's process (`None`:
    /// none could be had).
    fn call<R>(&self, f: impl FnOnce(&ThreadCtx) -> KResult<R>) -> Option<KResult<R>> {
        match on_kernel(&self.kernel, f) {
            Ok(r) => Some(r),
            Err(f) => {
                let mut out = None;
                cleanup_in(&self.kernel, self.pid, |c| {
                    out = Some(f(c));
                    Ok(())
                });
                out
            }
        }
    }

    /// A buffer of `len` bytes (contents unspecified), or ENOMEM when the heap is at its page
    /// budget, the arena is full, or `len` is over the heap's largest buffer.
    pub(super) fn alloc(self: &Arc<Self>, len: usize) -> KResult<SharedBuf> {
        let (off, cap, base) = self.alloc_raw(len)?;
        let ptr = NonNull::new((base + off as usize) as *mut u8).ok_or(Errno::EFAULT)?;
        Ok(SharedBuf {
            inner: Inner::Region {
                heap: self.clone(),
                off,
                ptr,
                cap,
                owned: true,
            },
            len,
        })
    }

    /// [`SharedHeap::alloc`]'s buffer as its offset, capacity and the arena's address in this
    /// mapping; the caller frees it (`free`).
    fn alloc_raw(&self, len: usize) -> KResult<(u64, usize, usize)> {
        if len > self.max {
            return Err(Errno::ENOMEM);
        }
        let (off, cap, base) = if len > CHUNK {
            let bytes = (len as u64).next_multiple_of(PAGE);
            let off = self.new_block(bytes, None)?;
            (off, bytes as usize, self.state().base)
        } else {
            let c = class_of(len);
            let size = MIN_CLASS << c;
            let mut st = self.state();
            let off = match st.free[c].pop() {
                Some(off) => off,
                None => {
                    drop(st);
                    let chunk = self.new_block(CHUNK as u64, Some(c))?;
                    st = self.state();
                    // The chunk's first buffer is ours; the rest go on the free list.
                    st.free[c].extend((1..CHUNK / size).rev().map(|i| chunk + (i * size) as u64));
                    chunk
                }
            };
            st.live += 1;
            (off, size, st.base)
        };
        if base == 0 {
            return Err(Errno::EFAULT);
        }
        Ok((off, cap, base))
    }

    /// Asks the kernel for a block of `bytes` for class `class` (None: one large buffer).
    fn new_block(&self, bytes: u64, class: Option<usize>) -> KResult<u64> {
        let pages = (bytes / PAGE) as usize;
        if self.state().pages + pages > max_pages(&self.kernel) {
            return Err(Errno::ENOMEM);
        }
        let (off, addr) = self
            .call(|c| c.async_heap_alloc(bytes))
            .unwrap_or(Err(Errno::ENOMEM))?;
        // SAFETY: the kernel gave this program the `bytes` bytes at `addr`, mapped while the
        // heap's kernel handle lives; nothing of ours uses them yet. (Zeroed: a block's pages
        // may hold what another program left in them.)
        unsafe { std::ptr::write_bytes(addr, 0, bytes as usize) };
        forked::add(addr as usize, bytes as usize);
        let mut st = self.state();
        st.base = addr as usize - off as usize;
        st.pages += pages;
        st.blocks.insert(off, (bytes, class));
        if class.is_none() {
            st.live += 1;
        }
        Ok(off)
    }

    /// Frees the buffer at `off`. A large buffer's block goes back to the kernel; should no
    /// thread be had for that, the heap keeps it (freed with the heap, or when the program
    /// ends).
    fn free(&self, off: u64, cap: usize) {
        let mut st = self.state();
        st.live = st.live.saturating_sub(1);
        if !st.raw.is_empty() {
            st.raw.remove(&off);
        }
        if cap <= CHUNK {
            // (A buffer of a size class: its chunk is the heap's while the heap lives.)
            st.free[class_of(cap)].push(off);
            return;
        }
        let Some((&block, &(bytes, class))) = st.blocks.range(..=off).next_back() else {
            return;
        };
        match class {
            Some(c) => st.free[c].push(off),
            None if block == off => {
                let base = st.base;
                drop(st);
                // (Forgotten first: the kernel may give the pages to another program at once.)
                forked::remove(base + off as usize);
                if self.call(|c| c.async_heap_free(off)) == Some(Ok(())) {
                    let mut st = self.state();
                    st.blocks.remove(&off);
                    st.pages -= (bytes / PAGE) as usize;
                }
            }
            None => {}
        }
    }

    /// The buffer given up as its address (`raw`) that starts at address `p` of this mapping,
    /// as its offset and capacity; with `take`, no longer given up (taken back, under the same
    /// hold of the lock, so that only one caller takes it).
    fn raw_at(&self, p: usize, take: bool) -> Option<(u64, usize)> {
        let mut st = self.state();
        let off = p.checked_sub(st.base)? as u64;
        if st.blocks.is_empty() || !st.raw.contains(&off) {
            return None;
        }
        let (_, &(bytes, class)) = st.blocks.range(..=off).next_back()?;
        if take {
            st.raw.remove(&off);
        }
        let cap = match class {
            Some(c) => MIN_CLASS << c,
            None => bytes as usize,
        };
        Some((off, cap))
    }

    /// Whether address `p` lies in one of the heap's blocks.
    fn holds(&self, p: usize) -> bool {
        let st = self.state();
        let Some(off) = p.checked_sub(st.base).map(|o| o as u64) else {
            return false;
        };
        st.blocks
            .range(..=off)
            .next_back()
            .is_some_and(|(&b, &(bytes, _))| off < b + bytes)
    }

    /// Buffers in use (handed out, not freed, not kept spare by a connection), and pages held.
    fn usage(&self) -> (usize, usize) {
        let mut st = self.state();
        st.spares.retain(|w| w.strong_count() > 0);
        let spare: usize = st
            .spares
            .iter()
            .filter_map(Weak::upgrade)
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .sum();
        (st.live.saturating_sub(spare), st.pages)
    }
}

impl Drop for SharedHeap {
    fn drop(&mut self) {
        let (blocks, base) = {
            let mut st = self.state();
            let blocks: Vec<u64> = std::mem::take(&mut st.blocks).into_keys().collect();
            (blocks, st.base)
        };
        blocks
            .iter()
            .for_each(|&off| forked::remove(base + off as usize));
        if blocks.is_empty() || self.kernel.forked_away() {
            return;
        }
        // (If the program's processes are all gone, the kernel frees the blocks when the
        // program ends.)
        let _ = self.call(|c| {
            blocks.iter().for_each(|&off| {
                let _ = c.async_heap_free(off);
            });
            Ok(())
        });
    }
}

/// A connection's copies in its program's send buffers: a put copies a long message into one
/// (`copy_in`), the slot keeps it while the message waits, and once a receiver took the message
/// the buffer is kept spare for the connection's next copies (`release`), up to `max` per size
/// class; the rest, and every spare one when the connection goes, go back to the heap. A copy
/// is named by a packed word ([`CopyBufs::packed`]), never 0, so that a slot's column of them is
/// plain integers and a put and a release take no lock and make no atomic read-modify-write.
pub(super) struct CopyBufs {
    heap: Arc<SharedHeap>,
    /// The arena's address in this mapping (0 until the first copy).
    base: usize,
    /// Spare buffers by size class (packed words).
    spare: Vec<Vec<u64>>,
    max: usize,
    /// How many are spare, mirrored for [`asyncmsg_shared_usage`] (a plain store per change).
    spare_count: Arc<std::sync::atomic::AtomicUsize>,
}

impl CopyBufs {
    /// Copies for a connection of `slots` slots whose send buffers are `heap`.
    pub(super) fn new(heap: Arc<SharedHeap>, slots: usize) -> CopyBufs {
        let spare_count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        {
            let mut st = heap.state();
            st.spares.retain(|w| w.strong_count() > 0);
            st.spares.push(Arc::downgrade(&spare_count));
        }
        CopyBufs {
            heap,
            base: 0,
            spare: (0..CLASSES).map(|_| Vec::new()).collect(),
            max: slots,
            spare_count,
        }
    }

    /// Buffer `off` of class `class` as one word: the offset (a multiple of [`MIN_CLASS`]) in
    /// the high bits, the class below, and bit 0 set.
    fn packed(off: u64, class: usize) -> u64 {
        (off << 8) | ((class as u64) << 1) | 1
    }

    fn unpack(w: u64) -> (u64, usize) {
        (w >> 8, ((w >> 1) & 0x7f) as usize)
    }

    /// The class of a copy longer than [`CHUNK`]: a block of its own, never kept spare.
    const LARGE: usize = 0x7f;

    fn publish(&self) {
        let n = self.spare.iter().map(Vec::len).sum();
        self.spare_count
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// A copy of `parts` in a send buffer: a spare one of its size class, else a new one (a
    /// block of its own beyond [`CHUNK`] bytes, up to the heap's largest buffer). Returns its
    /// packed word and the kernel's view of the message (`IN_REGION |` its offset). None when
    /// the heap has no room.
    pub(super) fn copy_in(&mut self, parts: &[&[u8]]) -> Option<(u64, MsgDesc)> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let class = if len > CHUNK {
            Self::LARGE
        } else {
            class_of(len)
        };
        let spare = self.spare.get_mut(class).and_then(Vec::pop);
        let off = match spare {
            Some(w) => {
                self.publish();
                Self::unpack(w).0
            }
            None => {
                // (The buffer is the connection's now, named by its word: freed by `release` or
                // the drop.)
                let (off, _, base) = self.heap.alloc_raw(len).ok()?;
                self.base = base;
                off
            }
        };
        let mut at = self.base + off as usize;
        for p in parts {
            // SAFETY: the buffer at `off` is this connection's alone (from the heap or its spare
            // list), `MIN_CLASS << class >= len` bytes of the mapped arena; no message names it
            // until the caller pushes the descriptor returned.
            unsafe { std::ptr::copy_nonoverlapping(p.as_ptr(), at as *mut u8, p.len()) };
            at += p.len();
        }
        Some((Self::packed(off, class), region_desc(off, len)))
    }

    /// Takes back copy `w` (its message was taken or discarded): spare, or freed.
    pub(super) fn release(&mut self, w: u64) {
        let (off, class) = Self::unpack(w);
        match self.spare.get_mut(class) {
            Some(list) if list.len() < self.max => {
                list.push(w);
                self.publish();
            }
            _ => self.heap.free(off, Self::capacity(class)),
        }
    }

    /// The capacity `free` is told for a copy of `class` (beyond [`CHUNK`] for a block of its
    /// own: `free` finds its size by its offset).
    fn capacity(class: usize) -> usize {
        if class == Self::LARGE {
            CHUNK + 1
        } else {
            MIN_CLASS << class
        }
    }
}

impl Drop for CopyBufs {
    fn drop(&mut self) {
        for w in std::mem::take(&mut self.spare).into_iter().flatten() {
            let (off, class) = Self::unpack(w);
            self.heap.free(off, Self::capacity(class));
        }
        self.spare_count
            .store(0, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A send buffer from [`asyncmsg_malloc_shared`]: in a shared kernel, memory of the region
/// that the kernel copies from without a system call when a receiver takes the message (as
/// QNX's `asyncmsg_malloc` buffers are meant to be used); in a kernel of one program, memory of
/// the program's own. Put it with [`asyncmsg_put_shared`](super::asyncmsg_put_shared): the
/// library keeps it until a receiver took the message and hands it back to the callback.
///
/// Its bytes are shared memory: another program admitted to the same kernel can write them
/// (design.md, the trust model), so read them as data, not as invariants.
pub struct SharedBuf {
    inner: Inner,
    len: usize,
}

enum Inner {
    Region {
        heap: Arc<SharedHeap>,
        off: u64,
        ptr: NonNull<u8>,
        cap: usize,
        /// Freed into the heap when dropped (false: a view of a buffer someone else frees).
        owned: bool,
    },
    Local(Vec<u8>),
}

// SAFETY: a region buffer is plain bytes of a mapping that outlives it (its heap holds the
// kernel handle); the handle owns its range exclusively within this program (the heap hands a
// range to one buffer at a time), so moving or sharing it between threads is as for a `Vec`.
unsafe impl Send for SharedBuf {}
// SAFETY: as above: `&SharedBuf` gives only shared reads of the bytes.
unsafe impl Sync for SharedBuf {}

impl std::fmt::Debug for SharedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBuf")
            .field("len", &self.len)
            .field("in_region", &self.in_region())
            .finish()
    }
}

impl SharedBuf {
    /// Whether the buffer lies in a shared kernel's region.
    pub fn in_region(&self) -> bool {
        matches!(self.inner, Inner::Region { .. })
    }

    /// The bytes the buffer can hold.
    pub fn capacity(&self) -> usize {
        match &self.inner {
            Inner::Region { cap, .. } => *cap,
            Inner::Local(v) => v.len(),
        }
    }

    /// Sets the message's length (the bytes a put sends). EINVAL beyond the capacity.
    pub fn set_len(&mut self, len: usize) -> KResult<()> {
        if len > self.capacity() {
            return Err(Errno::EINVAL);
        }
        self.len = len;
        Ok(())
    }

    /// Whether the buffer lies in `heap` (the program's send buffers on a connection's kernel).
    pub(super) fn in_heap(&self, heap: &Arc<SharedHeap>) -> bool {
        matches!(&self.inner, Inner::Region { heap: h, .. } if Arc::ptr_eq(h, heap))
    }

    /// The kernel's view of the buffer's message if it lies in `heap` (the send buffers of
    /// the connection's kernel): `IN_REGION |` its offset in the queue arena, uncopied. None for
    /// any other buffer (of another kernel's region, or of our own memory), which a put copies
    /// or names by its address like any flat message.
    pub(super) fn region_desc(&self, heap: &Arc<SharedHeap>) -> Option<MsgDesc> {
        match &self.inner {
            Inner::Region { off, .. } if self.in_heap(heap) => Some(region_desc(*off, self.len)),
            _ => None,
        }
    }

    /// A buffer of `len` bytes in this program's memory (a kernel of one program).
    fn local(len: usize) -> SharedBuf {
        SharedBuf {
            inner: Inner::Local(vec![0; len]),
            len,
        }
    }

    /// Gives the buffer up as its address (for the C API's `asyncmsg_malloc`); take it back
    /// with [`SharedBuf::from_raw`]. Only region buffers: a local one is returned in `Err`.
    /// The buffer's reference to its heap goes with it (the heap, and the memory, stay while
    /// the address is out).
    pub fn into_raw(self) -> Result<*mut u8, SharedBuf> {
        match &self.inner {
            Inner::Region { ptr, heap, off, .. } => {
                heap.state().raw.insert(*off);
                let p = ptr.as_ptr();
                std::mem::forget(self);
                Ok(p)
            }
            Inner::Local(_) => Err(self),
        }
    }

    /// Takes back the buffer [`SharedBuf::into_raw`] gave as `p` (its length is its
    /// capacity). None if `p` is not the address of a buffer given up that way and not taken
    /// back since (a second `from_raw` of one address finds nothing).
    ///
    /// # Safety
    /// No view of the buffer ([`SharedBuf::view_raw`]) is alive, nor any reference into its
    /// bytes made from `p`.
    pub unsafe fn from_raw(p: *mut u8) -> Option<SharedBuf> {
        let ptr = NonNull::new(p)?;
        let (heap, (off, cap)) = live_heaps()
            .into_iter()
            .find_map(|h| h.raw_at(p as usize, true).map(|f| (h, f)))?;
        // SAFETY: `into_raw` forgot the buffer with its counted reference to this heap (the
        // heap's `raw` said `off` was out, and `raw_at` took it out under the heap's lock, so
        // no one else does this for it); `heap` is a reference of our own, so the count stays
        // at least one.
        unsafe { Arc::decrement_strong_count(Arc::as_ptr(&heap)) };
        Some(SharedBuf {
            inner: Inner::Region {
                heap,
                off,
                ptr,
                cap,
                owned: true,
            },
            len: cap,
        })
    }

    /// A view of the buffer given up as `p` ([`SharedBuf::into_raw`]) that does not free it
    /// when dropped: for a put of a buffer its owner keeps (the C API's `asyncmsg_put` of an
    /// `asyncmsg_malloc` buffer). None if `p` is not the address of a buffer given up that way
    /// (and not taken back). Its length is its capacity (set it with `set_len`).
    ///
    /// # Safety
    /// While the view lives, the buffer is not taken back ([`SharedBuf::from_raw`]), and
    /// nothing writes its bytes through another view or `p` while this view is borrowed
    /// mutably.
    pub unsafe fn view_raw(p: *mut u8) -> Option<SharedBuf> {
        let ptr = NonNull::new(p)?;
        let (heap, (off, cap)) = live_heaps()
            .into_iter()
            .find_map(|h| h.raw_at(p as usize, false).map(|f| (h, f)))?;
        Some(SharedBuf {
            inner: Inner::Region {
                heap,
                off,
                ptr,
                cap,
                owned: false,
            },
            len: cap,
        })
    }

    /// Whether address `p` lies in this program's send buffers in a shared kernel's region (a
    /// buffer given up as its address, taken back or not: the C API frees nothing there with
    /// `free`).
    pub fn lies_in_region(p: *const u8) -> bool {
        live_heaps().iter().any(|h| h.holds(p as usize))
    }
}

impl std::ops::Deref for SharedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.inner {
            // SAFETY: `ptr..ptr + cap` is a buffer of the heap's mapped blocks, this handle's
            // while it lives (module doc), and `len <= cap`.
            Inner::Region { ptr, .. } => unsafe {
                std::slice::from_raw_parts(ptr.as_ptr(), self.len)
            },
            Inner::Local(v) => &v[..self.len],
        }
    }
}

impl std::ops::DerefMut for SharedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.inner {
            // SAFETY: as for `deref`; `&mut self` makes this the only view in this program.
            Inner::Region { ptr, .. } => unsafe {
                std::slice::from_raw_parts_mut(ptr.as_ptr(), self.len)
            },
            Inner::Local(v) => &mut v[..self.len],
        }
    }
}

impl Drop for SharedBuf {
    fn drop(&mut self) {
        if let Inner::Region {
            heap,
            off,
            cap,
            owned: true,
            ..
        } = &self.inner
        {
            heap.free(*off, *cap);
        }
    }
}

/// `asyncmsg_malloc` as QNX means it: a send buffer of `size` bytes (zeroed or holding an
/// earlier message of this program's) that the kernel copies from without a system call. In a
/// kernel shared by programs it lies in the region (the calling program's heap, up to a
/// quarter of its budget: `CHUNK` classes and whole-page blocks); in a kernel of one program,
/// in this program's memory. ENOMEM when the heap is full or `size` over its largest buffer
/// (the plain [`asyncmsg_malloc`](super::asyncmsg_malloc) has no such bound).
pub fn asyncmsg_malloc_shared(size: usize) -> KResult<SharedBuf> {
    match SharedHeap::current()? {
        Some(heap) => heap.alloc(size),
        None => Ok(SharedBuf::local(size)),
    }
}

/// This program's send buffers in the calling thread's kernel's region (if it is shared):
/// buffers handed out and not freed (by `asyncmsg_malloc_shared`, and copies of messages not
/// yet taken), and pages of the region held. None in a kernel of one program, or while nothing
/// uses them.
pub fn asyncmsg_shared_usage() -> KResult<Option<(usize, usize)>> {
    with_current(|c| {
        Ok(live_heaps()
            .into_iter()
            .find(|h| h.kernel.same(c.kernel()))
            .map(|h| h.usage()))
    })
}
