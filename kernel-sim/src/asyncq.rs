//! The asyncmsg sender queue: a ring of message descriptors in the *sender's* memory, filled by
//! the sender's library without entering the kernel and drained by the kernel when a receiver
//! takes a batch (QNX's `_asyncmsg_connection_descriptor` and its `sendq`).
//!
//! Three free-running counters order the slots: `done ≤ head ≤ tail`.
//! * `tail`: the library appends here (one producer at a time: the library holds its
//!   connection's lock), writing the slot before publishing `tail` with Release;
//! * `head`: the kernel consumes here, under the kernel lock, after an Acquire load of `tail`,
//!   writing each consumed slot's error before publishing `head` with Release;
//! * `done`: the library has released slots below it (buffers dropped, callbacks run).
//!
//! At most `capacity - 1` messages are outstanding (`tail - done`), as in QNX, whose ring keeps
//! one slot empty. Threads waiting for room or for the receiver (a blocked put, a flush) sleep on
//! the `progress` word, which the kernel and the library bump after moving `head` or `done`
//! when `waiters` says someone sleeps.
//!
//! The kernel keeps only this queue's address in its connection object, as QNX's kernel keeps
//! the descriptor's: the library must keep the queue alive until ConnectDetach has returned.

use crate::sync::{AtomicU32, Cell, Ordering};
use crate::types::Iov;
use crate::wait::{Deadline, WaitWord};

/// The queue was attached to a channel that has since been destroyed: puts and flushes fail.
pub const AQ_DEAD: u32 = 1;
/// The library wants a `'P'` pulse when the kernel consumes messages (callbacks are pending).
pub const AQ_WANT_PULSE: u32 = 2;
/// A `'P'` pulse is queued and not yet handled (the kernel sends at most one at a time).
pub const AQ_PULSE_PENDING: u32 = 4;

#[derive(Debug)]
struct Slot {
    iov: Cell<Iov>,
    err: AtomicU32,
}

/// A sender queue. See the module doc.
#[derive(Debug)]
pub struct AsyncQueue {
    head: AtomicU32,
    tail: AtomicU32,
    done: AtomicU32,
    flags: AtomicU32,
    waiters: AtomicU32,
    progress: WaitWord,
    slots: Box<[Slot]>,
}

impl AsyncQueue {
    /// A queue of `capacity` slots (`capacity - 1` messages outstanding at most; at least 2).
    pub fn new(capacity: u32) -> AsyncQueue {
        let capacity = capacity.max(2);
        AsyncQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            done: AtomicU32::new(0),
            flags: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            progress: WaitWord::new(),
            slots: (0..capacity)
                .map(|_| Slot {
                    iov: Cell::new(Iov { base: 0, len: 0 }),
                    err: AtomicU32::new(0),
                })
                .collect(),
        }
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> u32 {
        self.slots.len() as u32
    }

    fn slot(&self, counter: u32) -> &Slot {
        &self.slots[(counter % self.capacity()) as usize]
    }

    /// The `(done, head, tail)` counters.
    pub fn counters(&self) -> (u32, u32, u32) {
        (
            self.done.load(Ordering::Acquire),
            self.head.load(Ordering::Acquire),
            self.tail.load(Ordering::Acquire),
        )
    }

    /// Messages put and not yet taken by a receiver.
    pub fn pending(&self) -> u32 {
        self.tail
            .load(Ordering::Acquire)
            .wrapping_sub(self.head.load(Ordering::Acquire))
    }

    /// Whether another message fits (`tail - done < capacity - 1`).
    pub fn has_room(&self) -> bool {
        self.tail
            .load(Ordering::Acquire)
            .wrapping_sub(self.done.load(Ordering::Acquire))
            < self.capacity() - 1
    }

    /// Appends a message descriptor (library side). Returns its counter, or `None` when full.
    ///
    /// # Safety
    /// One producer at a time (the caller holds its connection's lock); `iov` must describe
    /// memory that stays valid and unchanged until the slot is released (`done` passes it).
    pub unsafe fn push(&self, iov: Iov) -> Option<u32> {
        if !self.has_room() {
            return None;
        }
        let t = self.tail.load(Ordering::Relaxed);
        let s = self.slot(t);
        // SAFETY: slot `t` is outside [done, tail): neither the kernel nor the reaper reads it
        // until we publish `tail` below; we are the only producer.
        unsafe { s.iov.write(iov) };
        s.err.store(0, Ordering::Relaxed);
        self.tail.store(t.wrapping_add(1), Ordering::Release);
        Some(t)
    }

    /// The error the kernel recorded for consumed message `counter` (0 or an errno).
    pub fn error_of(&self, counter: u32) -> i32 {
        self.slot(counter).err.load(Ordering::Acquire) as i32
    }

    /// Releases slots up to `upto` (library side, after dropping their buffers and running
    /// their callbacks) and wakes threads waiting for room.
    pub fn release_to(&self, upto: u32) {
        self.done.store(upto, Ordering::Release);
        self.bump();
    }

    /// Flag bits.
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

    /// Wakes waiters if there are any.
    fn bump(&self) {
        if self.waiters.load(Ordering::Acquire) > 0 {
            self.progress.post();
            self.progress.wake(false);
        }
    }

    /// Waits until `ready()` holds or the queue is dead, up to `deadline`. Returns whether
    /// `ready()` held (false: dead or timed out; check [`AsyncQueue::flags`]).
    pub fn wait_until(
        &self,
        ready: impl Fn(&AsyncQueue) -> bool,
        deadline: Option<Deadline>,
    ) -> bool {
        self.waiters.fetch_add(1, Ordering::AcqRel);
        let ok = loop {
            let seq = self.progress.load();
            if ready(self) {
                break true;
            }
            if self.flags() & AQ_DEAD != 0 || deadline.is_some_and(|d| d.passed()) {
                break false;
            }
            self.progress.wait(seq, deadline, false);
        };
        self.waiters.fetch_sub(1, Ordering::AcqRel);
        ok
    }

    // ---- kernel side (under the kernel lock) ----

    /// The next unconsumed message's descriptor and counter, if any.
    pub(crate) fn peek(&self) -> Option<(u32, Iov)> {
        let h = self.head.load(Ordering::Relaxed);
        if h == self.tail.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: slot `h` is in [head, tail): published by the producer (Acquire above) and
        // not rewritten until `done` passes it, which needs `head` to pass it first.
        Some((h, unsafe { self.slot(h).iov.read() }))
    }

    /// Consumes the message at `head` with `err` recorded for it.
    pub(crate) fn consume(&self, err: i32) {
        let h = self.head.load(Ordering::Relaxed);
        self.slot(h).err.store(err as u32, Ordering::Relaxed);
        self.head.store(h.wrapping_add(1), Ordering::Release);
    }

    /// Marks the queue dead (its channel is gone) and wakes its waiters.
    pub(crate) fn kill(&self) {
        self.set_flags(AQ_DEAD);
        self.progress.post();
        self.progress.wake(false);
    }

    /// Wakes waiters after consuming (kernel side).
    pub(crate) fn consumed(&self) {
        self.bump();
    }
}
