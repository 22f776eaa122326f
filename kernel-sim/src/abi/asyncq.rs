//! The asyncmsg sender queue: a ring of message descriptors in the *sender's* memory, filled by
//! the sender's library without entering the kernel and drained by the kernel when a receiver
//! takes a batch (QNX's `_asyncmsg_connection_descriptor` and its `sendq`).
//!
//! Three free-running counters order the slots: `done ≤ head ≤ tail`.
//! * `tail`: the library appends here (one producer at a time: the library holds its
//!   connection's lock), writing the slot before publishing `tail` with Release;
//! * `head`: the kernel consumes here, under the kernel lock, a batch at a time: one Acquire
//!   load of `tail`, then each message's outcome (0 or an errno, in a column of its own),
//!   then one Release store of `head` for the batch;
//! * `done`: the library has released slots below it (buffers dropped, callbacks run).
//!
//! At most `capacity - 1` messages are outstanding (`tail - done`), as in QNX, whose ring keeps
//! one slot empty. Threads waiting for room or for the receiver (a blocked put, a flush) sleep on
//! the `progress` word, which the kernel and the library bump after moving `head` or `done`
//! when `waiters` says someone sleeps. The kernel, which moves `head` under its lock, only
//! bumps the word there: the futex wake is one of the call's effects, made after unlocking.
//!
//! The kernel keeps only this queue's address in its connection object, as QNX's kernel keeps
//! the descriptor's: the library must keep the queue alive until ConnectDetach has returned.

use crate::abi::types::Iov;
use crate::sync::{fence, AtomicU32, Cell, Ordering};
use crate::wait::{Deadline, PendingWake, WaitWord};
use std::ptr::NonNull;

/// The queue was attached to a channel that has since been destroyed: puts and flushes fail.
pub const AQ_DEAD: u32 = 1;
/// The library wants a `'P'` pulse when the kernel consumes messages (callbacks are pending).
pub const AQ_WANT_PULSE: u32 = 2;
/// A `'P'` pulse is queued and not yet handled (the kernel sends at most one at a time).
pub const AQ_PULSE_PENDING: u32 = 4;

/// How many times a thread waiting on a queue (a blocked put, a flush) yields before it sleeps.
const WAIT_YIELDS: u32 = 2;

/// A message descriptor: a flat buffer (`parts` 0: `iov` is the buffer) or a gathered one
/// (`parts` > 0: `iov.base` is the address of `parts` `Iov`s, `iov.len` the total length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgDesc {
    /// The buffer, or the iov array and total length.
    pub iov: Iov,
    /// 0 for a flat buffer, else the number of parts.
    pub parts: u32,
}

/// A slot as the ring stores it: 16 bytes, four to a cache line, so that the producer's writes
/// (and the kernel's reads) touch a quarter of a line per message. A length that does not fit
/// in 32 bits is stored as `u32::MAX`, which no channel's buffer holds (see
/// [`MAX_STORED_LEN`]): the kernel fails such a message with EMSGSIZE, as it would the real
/// length.
#[derive(Clone, Copy, Debug)]
struct Packed {
    base: u64,
    len: u32,
    parts: u32,
}

/// The longest length a slot stores exactly; longer ones read back as `u32::MAX`. Channels'
/// buffers are at most this long, so a message whose length was clipped never fits one.
pub const MAX_STORED_LEN: u64 = u32::MAX as u64 - 1;

#[derive(Debug)]
struct Slot {
    desc: Cell<Packed>,
}

/// Keeps a field on cache lines of its own, so that the producer's writes (`tail`, `done`) and
/// the kernel's (`head`) do not invalidate each other's lines, nor the read-mostly fields'
/// (128 bytes: adjacent-line prefetchers pull lines in pairs).
#[derive(Debug)]
#[repr(C, align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The counters only the producer writes.
#[derive(Debug)]
#[repr(C)]
struct ProducerCounters {
    tail: AtomicU32,
    done: AtomicU32,
}

/// The queue's header: the first part of its block, followed by the slots and the error
/// column. Plain data and atomics only, so that the block can live in memory several
/// programs map (a shared kernel's region, at a different address in each).
#[derive(Debug)]
#[repr(C)]
struct QueueHdr {
    /// Read-mostly: the capacity, the storage mask, the flags (rarely changed), the waiters'
    /// word and whether waits are process-shared.
    capacity: u32,
    /// The storage's slot count minus one (a power of two minus one): counter → slot.
    mask: u32,
    flags: AtomicU32,
    waiters: AtomicU32,
    /// 1 if the queue is in memory other programs map: its futex waits are process-shared.
    shared: u32,
    progress: WaitWord,
    /// Written by the library (the producer) alone: `tail` and `done`, on one line.
    prod: Padded<ProducerCounters>,
    /// Written by the kernel alone.
    head: Padded<AtomicU32>,
}

/// Where the slots start in a queue's block (after the header, on a line of their own).
const SLOTS_AT: usize = std::mem::size_of::<QueueHdr>().next_multiple_of(128);

/// Where the error column starts in a queue block of `storage` slots (after the slots, aligned
/// for its words).
const fn errs_at(storage: usize) -> usize {
    (SLOTS_AT + storage * std::mem::size_of::<Slot>())
        .next_multiple_of(std::mem::align_of::<AtomicU32>())
}

/// Bytes of each slot's inline area in a queue in the region: a message up to this long is
/// copied there by its put, so that the kernel, in the receiver's thread, takes it from the
/// region without a system call; a longer one stays in the sender's buffer.
pub const INLINE: usize = 128;

/// Where the inline areas start in a region queue's block of `storage` slots.
const fn inline_at(storage: usize) -> usize {
    (errs_at(storage) + storage * std::mem::size_of::<AtomicU32>()).next_multiple_of(64)
}

/// The bit that marks a queue handle (what the kernel keeps in its connection object) as an
/// offset in a shared kernel's region rather than an address in the sender's memory.
pub const IN_REGION: u64 = 1 << 63;

/// A sender queue. See the module doc.
///
/// A handle on the queue's block: `[header][slots][error column]`, one allocation. The block
/// is either this handle's own (heap memory, [`AsyncQueue::new`]: a queue of one program) or
/// borrowed from a shared kernel's region ([`AsyncQueue::in_block`]), where each program (and
/// the kernel, in whichever program's thread runs it) makes a handle of its own over its own
/// mapping of the same bytes.
#[derive(Debug)]
pub struct AsyncQueue {
    hdr: NonNull<QueueHdr>,
    slots: NonNull<Slot>,
    /// Each consumed message's outcome (0 or an errno), by slot: written by the kernel as it
    /// takes the message, read by the library when it reaps. A column of its own, off the
    /// producer's slot lines.
    errs: NonNull<AtomicU32>,
    /// Storage slots minus one (the handle's own copy: the kernel never trusts the block's).
    mask: u32,
    capacity: u32,
    shared: bool,
    /// `IN_REGION | offset` for a block in a shared kernel's region; 0 for a block of our own.
    handle: u64,
    /// The kernel whose region holds the block, kept mapped while the handle lives (a handle
    /// given to a program: `ThreadCtx::async_queue_alloc`; the kernel's own short-lived views
    /// are used under its lock, while a kernel handle lives anyway).
    keep: Option<crate::Kernel>,
}

// SAFETY: the slots' cells are written only by the single producer for slots outside
// [done, tail) and read only for slots inside [head, tail) (module doc); the counters are
// atomics with Release/Acquire publication, so shared access from several threads is sound.
// The handle's pointers are to a block it owns or to a mapping that outlives it.
unsafe impl Sync for AsyncQueue {}
// SAFETY: as above; the block holds plain data and atomics only.
unsafe impl Send for AsyncQueue {}

impl AsyncQueue {
    /// The capacity a request for `capacity` slots gets (at least 2, at most 2^16).
    pub fn clamp_capacity(capacity: u32) -> u32 {
        capacity.clamp(2, 1 << 16)
    }

    /// Bytes of a queue block of `capacity` slots (clamped as [`AsyncQueue::new`] does).
    pub fn block_bytes(capacity: u32) -> usize {
        let storage = Self::clamp_capacity(capacity).next_power_of_two() as usize;
        errs_at(storage) + storage * std::mem::size_of::<AtomicU32>()
    }

    /// Bytes of a queue block in a shared kernel's region: [`AsyncQueue::block_bytes`] and an
    /// inline area of [`INLINE`] bytes per slot.
    pub fn region_block_bytes(capacity: u32) -> usize {
        let storage = Self::clamp_capacity(capacity).next_power_of_two() as usize;
        inline_at(storage) + storage * INLINE
    }

    fn block_layout(capacity: u32) -> std::alloc::Layout {
        // (128-byte alignment for the header's padded lines; the size is never zero.)
        std::alloc::Layout::from_size_align(Self::block_bytes(capacity), 128)
            .expect("a queue block's layout is valid")
    }

    /// A queue of `capacity` slots (`capacity - 1` messages outstanding at most; at least 2,
    /// at most 2^16), in a block of its own. The ring's storage is rounded up to a power of
    /// two, so that the free-running counters map to distinct slots even where they wrap
    /// around 2^32.
    pub fn new(capacity: u32) -> AsyncQueue {
        let l = Self::block_layout(capacity);
        // SAFETY: `l` has a non-zero size.
        let p = unsafe { std::alloc::alloc(l) };
        let Some(p) = NonNull::new(p) else {
            std::alloc::handle_alloc_error(l)
        };
        // SAFETY: `p` is a fresh block of `block_bytes(capacity)` bytes, aligned to 128.
        unsafe {
            Self::format(p.as_ptr(), capacity, false);
            Self::handle_at(p.as_ptr(), capacity, false, 0)
        }
    }

    /// Formats a queue of `capacity` slots in the block at `p` (of
    /// [`AsyncQueue::block_bytes`]`(capacity)` bytes, aligned to 128), its waits
    /// process-shared if `shared`.
    ///
    /// # Safety
    /// `p` is such a block, which no handle is in use on.
    pub unsafe fn format(p: *mut u8, capacity: u32, shared: bool) {
        let capacity = Self::clamp_capacity(capacity);
        let storage = capacity.next_power_of_two() as usize;
        // SAFETY: the caller's contract: the block has room for the header, `storage` slots
        // and `storage` error words at these offsets, each aligned for its type.
        unsafe {
            (p as *mut QueueHdr).write(QueueHdr {
                capacity,
                mask: storage as u32 - 1,
                flags: AtomicU32::new(0),
                waiters: AtomicU32::new(0),
                shared: u32::from(shared),
                progress: WaitWord::new(),
                prod: Padded(ProducerCounters {
                    tail: AtomicU32::new(0),
                    done: AtomicU32::new(0),
                }),
                head: Padded(AtomicU32::new(0)),
            });
            let slots = p.add(SLOTS_AT) as *mut Slot;
            for i in 0..storage {
                slots.add(i).write(Slot {
                    desc: Cell::new(Packed {
                        base: 0,
                        len: 0,
                        parts: 0,
                    }),
                });
            }
            let errs = p.add(errs_at(storage)) as *mut AtomicU32;
            for i in 0..storage {
                errs.add(i).write(AtomicU32::new(0));
            }
        }
    }

    /// # Safety
    /// `p` holds a queue of `capacity` slots formatted with [`AsyncQueue::format`].
    unsafe fn handle_at(p: *mut u8, capacity: u32, shared: bool, handle: u64) -> AsyncQueue {
        let capacity = Self::clamp_capacity(capacity);
        let storage = capacity.next_power_of_two() as usize;
        // SAFETY: per the contract, the parts lie at these offsets inside the block.
        unsafe {
            let slots = p.add(SLOTS_AT) as *mut Slot;
            AsyncQueue {
                hdr: NonNull::new_unchecked(p as *mut QueueHdr),
                slots: NonNull::new_unchecked(slots),
                errs: NonNull::new_unchecked(p.add(errs_at(storage)) as *mut AtomicU32),
                mask: storage as u32 - 1,
                capacity,
                shared,
                handle,
                keep: None,
            }
        }
    }

    /// A handle on the queue of `capacity` slots formatted (shared) in a shared kernel's
    /// region at `p`, which is the region's offset `offset`: the kernel knows the queue by
    /// [`AsyncQueue::kernel_handle`], `IN_REGION | offset`.
    ///
    /// # Safety
    /// `p` holds such a queue and stays mapped while the handle is used; the block was sized
    /// for `capacity` (the kernel checks this against its own record of the block).
    pub unsafe fn in_block(p: *mut u8, capacity: u32, offset: u64) -> AsyncQueue {
        // SAFETY: forwarded from the caller.
        unsafe { Self::handle_at(p, capacity, true, IN_REGION | offset) }
    }

    /// This handle keeps kernel `k` (whose region holds its block) alive.
    pub(crate) fn keeping(mut self, k: crate::Kernel) -> AsyncQueue {
        self.keep = Some(k);
        self
    }

    /// How the kernel knows this queue: `IN_REGION | offset` for a queue in a shared kernel's
    /// region, else the handle's own address (the handle must then not move while the
    /// kernel may read it).
    pub fn kernel_handle(&self) -> u64 {
        if self.handle != 0 {
            self.handle
        } else {
            self as *const AsyncQueue as u64
        }
    }

    /// Whether the queue is in a shared kernel's region (rather than a block of our own).
    pub fn in_region(&self) -> bool {
        self.handle != 0
    }

    /// The capacity recorded in the header of the queue block at `p` (to be checked against
    /// the block's size before use: another program may have written it).
    ///
    /// # Safety
    /// `p` is a block of at least a header's bytes, aligned to 128.
    pub unsafe fn capacity_in_block(p: *const u8) -> u32 {
        // SAFETY: the caller's contract; a plain read of the first field (written once, at
        // formatting).
        unsafe { std::ptr::addr_of!((*(p as *const QueueHdr)).capacity).read_volatile() }
    }

    /// For a queue in the region: where a put of `len` bytes may copy its message (the inline
    /// area of the slot the next push fills), and the address the kernel knows that area by
    /// (`IN_REGION |` its offset in the queue arena). `None` for a queue of our own, or a message
    /// longer than [`INLINE`]. The caller is the producer (one at a time), and the slot is free
    /// while [`AsyncQueue::has_room`] says so.
    #[inline]
    pub fn inline_area(&self, len: usize) -> Option<(*mut u8, u64)> {
        if self.handle == 0 || len > INLINE {
            return None;
        }
        let storage = self.mask as usize + 1;
        let tail = self.hdr().prod.tail.load(Ordering::Relaxed);
        let at = inline_at(storage) + self.slot_index(tail) * INLINE;
        // SAFETY: a region queue's block holds `region_block_bytes` bytes (checked by the
        // kernel when it gave the block); `at + INLINE` lies inside it.
        let p = unsafe { self.hdr.as_ptr().cast::<u8>().add(at) };
        Some((p, self.handle + at as u64))
    }

    /// The kernel's side of [`AsyncQueue::inline_area`]: whether `desc` (a flat message) names
    /// bytes in this region queue's inline areas, and where they are in `arena` (the queue
    /// arena's base in this mapping). `None`: not an inline message. `Some(None)`: it claims to
    /// be one but lies outside the areas (another program's bytes are never trusted).
    pub(crate) fn inline_source(&self, desc: &MsgDesc, arena: *const u8) -> Option<Option<Iov>> {
        if self.handle == 0 || desc.parts != 0 || desc.iov.base & IN_REGION == 0 {
            return None;
        }
        let storage = self.mask as u64 + 1;
        let block = self.handle & !IN_REGION;
        let (lo, hi) = (
            block + inline_at(storage as usize) as u64,
            block + inline_at(storage as usize) as u64 + storage * INLINE as u64,
        );
        let off = desc.iov.base & !IN_REGION;
        let inside = off >= lo && desc.iov.len <= hi - lo && off <= hi - desc.iov.len;
        Some(inside.then(|| Iov {
            base: arena as u64 + off,
            len: desc.iov.len,
        }))
    }

    /// The flags word's address (for a shared kernel's undo record).
    pub(crate) fn flags_word(&self) -> *const u8 {
        (&self.hdr().flags as *const AtomicU32).cast()
    }

    #[inline(always)]
    fn hdr(&self) -> &QueueHdr {
        // SAFETY: the block is formatted and alive while the handle is (constructors' contracts).
        unsafe { self.hdr.as_ref() }
    }

    /// Slots in the ring (`capacity - 1` messages outstanding at most).
    #[inline]
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The slot counter `counter` uses, in `0..slot_count()`.
    #[inline]
    pub fn slot_index(&self, counter: u32) -> usize {
        (counter & self.mask) as usize
    }

    /// Slots of storage (the capacity rounded up to a power of two).
    #[inline]
    pub fn slot_count(&self) -> usize {
        self.mask as usize + 1
    }

    #[inline]
    fn slot(&self, counter: u32) -> &Slot {
        // SAFETY: the index is masked into the block's `mask + 1` slots.
        unsafe { &*self.slots.as_ptr().add(self.slot_index(counter)) }
    }

    #[inline]
    fn err_word(&self, counter: u32) -> &AtomicU32 {
        // SAFETY: the index is masked into the block's `mask + 1` error words.
        unsafe { &*self.errs.as_ptr().add(self.slot_index(counter)) }
    }

    /// The `(done, head, tail)` counters.
    #[inline]
    pub fn counters(&self) -> (u32, u32, u32) {
        (
            self.hdr().prod.done.load(Ordering::Acquire),
            self.hdr().head.load(Ordering::Acquire),
            self.hdr().prod.tail.load(Ordering::Acquire),
        )
    }

    /// The producer's own counters `(done, tail)` (no read of the kernel's `head` line).
    #[inline]
    pub fn produced(&self) -> (u32, u32) {
        (
            self.hdr().prod.done.load(Ordering::Acquire),
            self.hdr().prod.tail.load(Ordering::Relaxed),
        )
    }

    /// Messages put and not yet taken by a receiver.
    #[inline]
    pub fn pending(&self) -> u32 {
        self.hdr()
            .prod
            .tail
            .load(Ordering::Acquire)
            .wrapping_sub(self.hdr().head.load(Ordering::Acquire))
    }

    /// Whether another message fits (`tail - done < capacity - 1`).
    #[inline]
    pub fn has_room(&self) -> bool {
        self.hdr()
            .prod
            .tail
            .load(Ordering::Acquire)
            .wrapping_sub(self.hdr().prod.done.load(Ordering::Acquire))
            < self.capacity() - 1
    }

    /// Appends a message descriptor (library side). Returns its counter, or `None` when full.
    ///
    /// # Safety
    /// One producer at a time (the caller holds its connection's lock); `desc` must describe
    /// memory (and, for a gathered message, an iov array) that stays valid and unchanged until
    /// the slot is released (`done` passes it).
    #[inline(always)]
    pub unsafe fn push(&self, desc: MsgDesc) -> Option<u32> {
        if !self.has_room() {
            return None;
        }
        let t = self.hdr().prod.tail.load(Ordering::Relaxed);
        let s = self.slot(t);
        let packed = Packed {
            base: desc.iov.base,
            len: if desc.iov.len <= MAX_STORED_LEN {
                desc.iov.len as u32
            } else {
                u32::MAX
            },
            parts: desc.parts,
        };
        // SAFETY: slot `t` is outside [done, tail): neither the kernel nor the reaper reads it
        // until we publish `tail` below; we are the only producer.
        unsafe { s.desc.write(packed) };
        self.hdr()
            .prod
            .tail
            .store(t.wrapping_add(1), Ordering::Release);
        Some(t)
    }

    /// The outcome the kernel recorded for consumed message `counter` (0 or an errno): a
    /// counter below the `head` the caller read with [`AsyncQueue::counters`] (whose Acquire
    /// orders this read after the kernel's write).
    #[inline]
    pub fn error_of(&self, counter: u32) -> i32 {
        self.err_word(counter).load(Ordering::Relaxed) as i32
    }

    /// Releases slots up to `upto` (library side, after dropping their buffers and running
    /// their callbacks) and wakes threads waiting for room.
    pub fn release_to(&self, upto: u32) {
        self.hdr().prod.done.store(upto, Ordering::Release);
        self.bump();
    }

    /// Flag bits.
    #[inline]
    pub fn flags(&self) -> u32 {
        self.hdr().flags.load(Ordering::Acquire)
    }

    /// Sets flag bits.
    pub fn set_flags(&self, bits: u32) {
        self.hdr().flags.fetch_or(bits, Ordering::AcqRel);
    }

    /// Clears flag bits; returns the flags before.
    pub fn clear_flags(&self, bits: u32) -> u32 {
        self.hdr().flags.fetch_and(!bits, Ordering::AcqRel)
    }

    /// Library side, on a `'P'` pulse: clears `AQ_PULSE_PENDING` so the kernel pulses again for
    /// the next messages it takes. Call it *before* reading `head` to reap: the fence pairs with
    /// the kernel's (in `consumed`), so either we see what it took or it sees the flag clear.
    pub fn pulse_handled(&self) {
        self.clear_flags(AQ_PULSE_PENDING);
        fence(Ordering::SeqCst);
    }

    /// Wakes waiters if there are any (library side).
    fn bump(&self) {
        if let Some(w) = self.bump_later() {
            w.wake();
        }
    }

    /// Bumps the progress word if anyone waits, and returns the wake-up owed to its sleepers,
    /// to be made after the kernel lock is released (by then the queue may be freed: the wake
    /// goes by address). The fence pairs with the one in `wait_until`: a waiter either sees our
    /// counter move or is counted in `waiters` here (store-load both sides).
    fn bump_later(&self) -> Option<PendingWake> {
        fence(Ordering::SeqCst);
        if self.hdr().waiters.load(Ordering::Acquire) > 0 {
            self.hdr().progress.post();
            return self.hdr().progress.wake_later(self.shared);
        }
        None
    }

    /// Waits until `ready()` holds or the queue is dead, up to `deadline`. Returns whether
    /// `ready()` held (false: it still did not when the queue was found dead or the deadline
    /// passed; check [`AsyncQueue::flags`]).
    pub fn wait_until(
        &self,
        ready: impl Fn(&AsyncQueue) -> bool,
        deadline: Option<Deadline>,
    ) -> bool {
        self.hdr().waiters.fetch_add(1, Ordering::AcqRel);
        fence(Ordering::SeqCst);
        let ok = loop {
            let seq = self.hdr().progress.load();
            if ready(self) {
                break true;
            }
            if self.flags() & AQ_DEAD != 0 || deadline.is_some_and(|d| d.passed()) {
                // Dead or timed out, but `ready()` may have come true since we looked (a take
                // before the destroy: our Acquire load of the flag ordered it before us).
                break ready(self);
            }
            // The receiver may share our CPU (then it needs it to take messages): yield a few
            // times before sleeping, as the kernel lock does and a receiver does for its
            // producer; with nothing else to run here, a yield returns at once.
            if self.hdr().progress.yield_until_changed(seq, WAIT_YIELDS) {
                continue;
            }
            self.hdr().progress.wait(seq, deadline, self.shared);
        };
        self.hdr().waiters.fetch_sub(1, Ordering::AcqRel);
        ok
    }

    // ---- kernel side (under the kernel lock) ----

    /// The published, unconsumed messages: counters `[head, tail)`. The kernel takes a batch
    /// from one snapshot, so that it reads the producer's `tail` once per batch rather than once
    /// per message (while the producer writes it at every put).
    pub(crate) fn published(&self) -> (u32, u32) {
        (
            self.hdr().head.load(Ordering::Relaxed),
            self.hdr().prod.tail.load(Ordering::Acquire),
        )
    }

    /// The descriptor of message `counter`.
    ///
    /// # Safety
    /// `counter` lies in a `[head, tail)` range [`AsyncQueue::published`] returned, and `head`
    /// has not been moved past it since (by [`AsyncQueue::consume_to`]).
    pub(crate) unsafe fn desc(&self, counter: u32) -> MsgDesc {
        // SAFETY: per the contract, the slot is published (Acquire on `tail` in `published`)
        // and not rewritten until `done` passes it, which needs `head` to pass it first.
        let p = unsafe { self.slot(counter).desc.read() };
        MsgDesc {
            iov: Iov {
                base: p.base,
                len: if p.len == u32::MAX {
                    u64::MAX
                } else {
                    u64::from(p.len)
                },
            },
            parts: p.parts,
        }
    }

    /// Records the outcome of taking message `counter` (0, or an errno): the kernel writes one
    /// for every message it takes, in the error column (not on the producer's slot lines).
    #[inline]
    pub(crate) fn record(&self, counter: u32, err: i32) {
        self.err_word(counter).store(err as u32, Ordering::Relaxed);
    }

    /// Consumes every message below `new_head` (one store per batch), publishing their errors.
    pub(crate) fn consume_to(&self, new_head: u32) {
        self.hdr().head.store(new_head, Ordering::Release);
    }

    /// Marks the queue dead (its channel is gone); returns the wake-up owed to its waiters,
    /// for the kernel's effects (made after the lock is released).
    #[must_use = "a wake-up is owed to the queue's waiters"]
    pub(crate) fn kill(&self) -> Option<PendingWake> {
        self.set_flags(AQ_DEAD);
        self.hdr().progress.post();
        self.hdr().progress.wake_later(self.shared)
    }

    /// After consuming (kernel side): returns the wake-up owed to waiters for room or for the
    /// receiver, for the kernel's effects. The fence in `bump_later` also orders our `head`
    /// store before the caller's check of `AQ_PULSE_PENDING` (see `pulse_handled`).
    #[must_use = "a wake-up is owed to the queue's waiters"]
    pub(crate) fn consumed(&self) -> Option<PendingWake> {
        self.bump_later()
    }
}

impl Drop for AsyncQueue {
    fn drop(&mut self) {
        if self.handle != 0 {
            return; // (A region's block: the kernel frees it.)
        }
        let storage = self.mask as usize + 1;
        // SAFETY: our own block, formatted in `new` with this capacity; nothing uses it after
        // the handle (the kernel's promise: the handle outlives the connection). The atomics are
        // dropped in place first (loom's hold state).
        unsafe {
            std::ptr::drop_in_place(self.hdr.as_ptr());
            for i in 0..storage {
                std::ptr::drop_in_place(self.slots.as_ptr().add(i));
                std::ptr::drop_in_place(self.errs.as_ptr().add(i));
            }
            std::alloc::dealloc(self.hdr.as_ptr().cast(), Self::block_layout(self.capacity));
        }
    }
}
