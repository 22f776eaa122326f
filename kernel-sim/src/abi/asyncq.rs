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

/// The queue was attached to a channel that has since been destroyed: puts and flushes fail.
pub const AQ_DEAD: u32 = 1;
/// The library wants a `'P'` pulse when the kernel consumes messages (callbacks are pending).
pub const AQ_WANT_PULSE: u32 = 2;
/// A `'P'` pulse is queued and not yet handled (the kernel sends at most one at a time).
pub const AQ_PULSE_PENDING: u32 = 4;

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
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The counters only the producer writes.
#[derive(Debug)]
struct ProducerCounters {
    tail: AtomicU32,
    done: AtomicU32,
}

/// A sender queue. See the module doc.
#[derive(Debug)]
pub struct AsyncQueue {
    /// Read-mostly: the capacity, the slots' address, the flags (rarely changed) and the
    /// waiters' word.
    capacity: u32,
    /// The storage's slot count minus one (a power of two minus one): counter → slot.
    mask: u32,
    flags: AtomicU32,
    waiters: AtomicU32,
    progress: WaitWord,
    slots: Box<[Slot]>,
    /// Each consumed message's outcome (0 or an errno), by slot: written by the kernel as it
    /// takes the message, read by the library when it reaps. A column of its own, off the
    /// producer's slot lines.
    errs: Box<[AtomicU32]>,
    /// Written by the library (the producer) alone: `tail` and `done`, on one line.
    prod: Padded<ProducerCounters>,
    /// Written by the kernel alone.
    head: Padded<AtomicU32>,
}

// SAFETY: the slots' cells are written only by the single producer for slots outside
// [done, tail) and read only for slots inside [head, tail) (module doc); the counters are
// atomics with Release/Acquire publication, so shared access from several threads is sound.
unsafe impl Sync for AsyncQueue {}
// SAFETY: as above; the queue owns plain data and atomics only.
unsafe impl Send for AsyncQueue {}

impl AsyncQueue {
    /// A queue of `capacity` slots (`capacity - 1` messages outstanding at most; at least 2,
    /// at most 2^16). The ring's storage is rounded up to a power of two, so that the
    /// free-running counters map to distinct slots even where they wrap around 2^32.
    pub fn new(capacity: u32) -> AsyncQueue {
        let capacity = capacity.clamp(2, 1 << 16);
        let storage = capacity.next_power_of_two();
        AsyncQueue {
            capacity,
            mask: storage - 1,
            head: Padded(AtomicU32::new(0)),
            prod: Padded(ProducerCounters {
                tail: AtomicU32::new(0),
                done: AtomicU32::new(0),
            }),
            flags: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            progress: WaitWord::new(),
            slots: (0..storage)
                .map(|_| Slot {
                    desc: Cell::new(Packed {
                        base: 0,
                        len: 0,
                        parts: 0,
                    }),
                })
                .collect(),
            errs: (0..storage).map(|_| AtomicU32::new(0)).collect(),
        }
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
        self.slots.len()
    }

    #[inline]
    fn slot(&self, counter: u32) -> &Slot {
        &self.slots[self.slot_index(counter)]
    }

    /// The `(done, head, tail)` counters.
    #[inline]
    pub fn counters(&self) -> (u32, u32, u32) {
        (
            self.prod.done.load(Ordering::Acquire),
            self.head.load(Ordering::Acquire),
            self.prod.tail.load(Ordering::Acquire),
        )
    }

    /// The producer's own counters `(done, tail)` (no read of the kernel's `head` line).
    #[inline]
    pub fn produced(&self) -> (u32, u32) {
        (
            self.prod.done.load(Ordering::Acquire),
            self.prod.tail.load(Ordering::Relaxed),
        )
    }

    /// Messages put and not yet taken by a receiver.
    #[inline]
    pub fn pending(&self) -> u32 {
        self.prod
            .tail
            .load(Ordering::Acquire)
            .wrapping_sub(self.head.load(Ordering::Acquire))
    }

    /// Whether another message fits (`tail - done < capacity - 1`).
    #[inline]
    pub fn has_room(&self) -> bool {
        self.prod
            .tail
            .load(Ordering::Acquire)
            .wrapping_sub(self.prod.done.load(Ordering::Acquire))
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
        let t = self.prod.tail.load(Ordering::Relaxed);
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
        self.prod.tail.store(t.wrapping_add(1), Ordering::Release);
        Some(t)
    }

    /// The outcome the kernel recorded for consumed message `counter` (0 or an errno): a
    /// counter below the `head` the caller read with [`AsyncQueue::counters`] (whose Acquire
    /// orders this read after the kernel's write).
    #[inline]
    pub fn error_of(&self, counter: u32) -> i32 {
        self.errs[self.slot_index(counter)].load(Ordering::Relaxed) as i32
    }

    /// Releases slots up to `upto` (library side, after dropping their buffers and running
    /// their callbacks) and wakes threads waiting for room.
    pub fn release_to(&self, upto: u32) {
        self.prod.done.store(upto, Ordering::Release);
        self.bump();
    }

    /// Flag bits.
    #[inline]
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Acquire)
    }

    /// Sets flag bits.
    pub fn set_flags(&self, bits: u32) {
        self.flags.fetch_or(bits, Ordering::AcqRel);
    }

    /// Clears flag bits; returns the flags before.
    pub fn clear_flags(&self, bits: u32) -> u32 {
        self.flags.fetch_and(!bits, Ordering::AcqRel)
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
        if self.waiters.load(Ordering::Acquire) > 0 {
            self.progress.post();
            return self.progress.wake_later(false);
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
        self.waiters.fetch_add(1, Ordering::AcqRel);
        fence(Ordering::SeqCst);
        let ok = loop {
            let seq = self.progress.load();
            if ready(self) {
                break true;
            }
            if self.flags() & AQ_DEAD != 0 || deadline.is_some_and(|d| d.passed()) {
                // Dead or timed out, but `ready()` may have come true since we looked (a take
                // before the destroy: our Acquire load of the flag ordered it before us).
                break ready(self);
            }
            self.progress.wait(seq, deadline, false);
        };
        self.waiters.fetch_sub(1, Ordering::AcqRel);
        ok
    }

    // ---- kernel side (under the kernel lock) ----

    /// The published, unconsumed messages: counters `[head, tail)`. The kernel takes a batch
    /// from one snapshot, so that it reads the producer's `tail` once per batch rather than once
    /// per message (while the producer writes it at every put).
    pub(crate) fn published(&self) -> (u32, u32) {
        (
            self.head.load(Ordering::Relaxed),
            self.prod.tail.load(Ordering::Acquire),
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
        self.errs[self.slot_index(counter)].store(err as u32, Ordering::Relaxed);
    }

    /// Consumes every message below `new_head` (one store per batch), publishing their errors.
    pub(crate) fn consume_to(&self, new_head: u32) {
        self.head.store(new_head, Ordering::Release);
    }

    /// Marks the queue dead (its channel is gone); returns the wake-up owed to its waiters,
    /// for the kernel's effects (made after the lock is released).
    #[must_use = "a wake-up is owed to the queue's waiters"]
    pub(crate) fn kill(&self) -> Option<PendingWake> {
        self.set_flags(AQ_DEAD);
        self.progress.post();
        self.progress.wake_later(false)
    }

    /// After consuming (kernel side): returns the wake-up owed to waiters for room or for the
    /// receiver, for the kernel's effects. The fence in `bump_later` also orders our `head`
    /// store before the caller's check of `AQ_PULSE_PENDING` (see `pulse_handled`).
    #[must_use = "a wake-up is owed to the queue's waiters"]
    pub(crate) fn consumed(&self) -> Option<PendingWake> {
        self.bump_later()
    }
}
