//! An asyncmsg connection ([`Conn`]): its send queue, the library's state behind the
//! connection's lock ([`ConnState`]: the slots that keep each queued message's buffer until a
//! receiver took it, the triggers' counts), the put path (a fast path for the common put, the
//! general one, the count and time triggers), the reaps that release taken slots, and the
//! detach. The public calls that reach these are api.rs's; the callbacks run on the library
//! thread (library.rs).
//!
//! # Lock order
//!
//! Every lock of the library, outermost first: a thread that holds one takes only locks further
//! down the list. Locks on one line are never held together.
//!
//! 1. The calling thread's put cache (`LAST_CONN`, a thread-local `RefCell`): borrowed by
//!    [`with_conn`] across a put on the connection it holds, so anything below may be taken
//!    under it. Nothing else borrows it.
//! 2. The library's helper thread (`Lib::helper`, library.rs): held while a clean-up runs as the
//!    helper (handles.rs's `clean_up`, through `Lib::as_helper`): a detach ([`detach_in`]) or a
//!    channel destroy, which take what they take below (3 included: they look the library up).
//!    `Leave` (library.rs) takes it last, on its own.
//! 3. The registry of libraries (`registry()`, library.rs): held by `lib_start` across the
//!    kernel calls that make a library and the spawn of its thread; otherwise only to look a
//!    library up (`lib_in`, `lib_of`) or forget one (`Leave`).
//! 4. A library's connection table (`Lib::conns`) | its channel table (`Lib::chans`): held
//!    only to look up, insert or remove (and by `Leave` to drain the connections, with `ended`
//!    set under it; an attach inserts only while `ended` is clear, under the same lock).
//! 5. A connection's producer lock (`Conn::state`, a [`ProducerLock`]): held by every put, by
//!    the reaps ([`Conn::reap_to_library`] on the library thread's `'P'` pulse, and in a put that
//!    found the queue full of taken slots), by [`on_timer`], `asyncmsg_connect_attr` and
//!    [`detach_in`]. Under it: the pool (6), the job queue (7), and kernel calls (9): the
//!    detach's ConnectDetach and TimerDestroy, the time trigger's TimerSettime
//!    ([`arm_timer`]). It is never held across a trigger's MsgSendAsync, a wait for room or
//!    for a flush, or the program's code. (One teardown does without it: the library thread's
//!    `Leave` detaches the connections left and destroys their timers unlocked, which
//!    [`arm_timer`]'s reasoning does not cover; a TimerSettime that comes late then names a
//!    destroyed timer, whose id the generation bits keep from naming a new one.)
//! 6. The calling thread's send-buffer pool (`BUF_POOL`, pool.rs, a thread-local `RefCell`):
//!    borrowed under the producer lock when a put releases taken slots ([`Conn::release_taken`]),
//!    and by `asyncmsg_malloc` with nothing else held.
//!    A process's send buffers in the region (`SharedHeap::state`, heap.rs) rank here too:
//!    taken under the producer lock when a put copies a long message there or a release frees
//!    one, and by `asyncmsg_malloc_shared` and a buffer's drop with nothing else held; under it
//!    only the kernel call that asks for a block. (It is taken after a heap's lock is dropped
//!    when a large buffer's block goes back to the kernel.)
//! 7. A library's job queue (`Lib::jobs`, library.rs): taken under the producer lock to queue a
//!    connection's callbacks ([`Conn::queue_callbacks`]), so that they stay in queue order
//!    whichever thread reaps. Under it only kernel calls: the wake timer's TimerSettime
//!    (`Lib::wake`, `run_jobs`). It is never held while a job runs.
//! 8. A channel's arena cache (`RecvChan::arenas`, receive.rs): held only to take or give back
//!    an arena (and by a destroy to set `destroyed` and drain it); never with another lock.
//! 9. The kernel's lock, inside every kernel call.
//!
//! No lock is held while the program's code runs (callbacks and clean-ups on the library thread,
//! the recvbuf callback, the drop of a connection's last reference: see api.rs's `Leftover`) or
//! while a thread waits on a queue's word (a put waiting for room, a flush).
//!
//! Not in this order: the calling thread's binding (current.rs), a `RefCell` that `with_current`
//! borrows shared for each call, nested calls included. And the library's calls are not
//! async-signal-safe: a signal handler runs in a thread that may hold any of the locks above (it
//! interrupted a put, or it runs as a kernel call the library made returns), so a handler that
//! puts on the connection its thread was putting on finds the producer lock held.

use super::api::{AsyncBuf, AsyncCallback, AsyncConnAttr, AsyncPutError, Leftover};
use super::heap::{CopyBufs, SharedBuf, SharedHeap};
use super::library::{lib_of, Job, Lib};
use super::pool::{BufPool, BUF_POOL};
use super::producer_lock::{ProducerGuard, ProducerLock};
use crate::current::with_current;
use crate::sys;
use kernel_sim::asyncq::{AsyncQueue, MsgDesc, AQ_DEAD, AQ_PULSE_PENDING, AQ_WANT_PULSE, INLINE};
use kernel_sim::{Deadline, Errno, Iov, KResult, ThreadCtx};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What the library keeps for each queued message until its slot is released, by slot index.
/// Kept by field, so that the common put (a flat buffer, no callback of its own) writes 28
/// bytes and its release reads 40: the callback and gathered-message columns stay cold.
pub(super) struct Slots {
    /// The flat buffer (empty for a gathered message, or a slot not in use).
    bufs: Vec<Vec<u8>>,
    handles: Vec<u32>,
    /// The put's own callback, if it gave one.
    cbs: Vec<Option<AsyncCallback>>,
    /// A gathered message's parts and the iov array the kernel reads.
    gathered: Vec<Option<Box<Gathered>>>,
    /// The program's own buffer in the region's send buffers (`asyncmsg_put_shared`).
    shared: Vec<Option<SharedBuf>>,
    /// The copy a put made of the message in the region's send buffers (a [`CopyBufs`] word; 0:
    /// none), for a connection whose queue is in the region (`copy_bufs`).
    copies: Vec<u64>,
    copy_bufs: Option<CopyBufs>,
    /// Slots in use whose `cbs`, `gathered` or `shared` entry is set: while there are none,
    /// releasing reads the `bufs` column alone (and `copies`, on a queue in the region).
    rich: usize,
}

/// A gathered message (`asyncmsg_putv`): its parts, and the iov array over them that the
/// kernel reads (kept alive with the parts).
struct Gathered {
    parts: Vec<Vec<u8>>,
    _iovs: Box<[Iov]>,
}

impl Slots {
    /// Slots for a ring of `n` (a power of two: `recycle` wraps by masking); `heap`: the
    /// program's send buffers, for a connection whose queue is in a shared kernel's region.
    pub(super) fn new(n: usize, heap: Option<Arc<SharedHeap>>) -> Slots {
        debug_assert!(n.is_power_of_two(), "{n} slots");
        Slots {
            bufs: (0..n).map(|_| Vec::new()).collect(),
            handles: vec![0; n],
            cbs: (0..n).map(|_| None).collect(),
            gathered: (0..n).map(|_| None).collect(),
            shared: (0..n).map(|_| None).collect(),
            copies: vec![0; n],
            copy_bufs: heap.map(|h| CopyBufs::new(h, n)),
            rich: 0,
        }
    }

    /// A copy of `parts` in the send buffers, if the connection has them and they have room:
    /// its word (for [`Slots::set`]) and the kernel's name for the message.
    #[inline]
    fn copy_in(&mut self, parts: &[&[u8]]) -> Option<(u64, MsgDesc)> {
        self.copy_bufs.as_mut()?.copy_in(parts)
    }

    /// Gives back a copy [`Slots::copy_in`] made that no slot took (the push failed).
    fn uncopy(&mut self, w: u64) {
        if let Some(c) = self.copy_bufs.as_mut() {
            c.release(w);
        }
    }

    /// Fills slot `i` with a queued message (`iovs`: a gathered message's iov array; `copy`:
    /// the word of the copy of it the put made in the region's send buffers, or 0).
    fn set(
        &mut self,
        i: usize,
        buf: AsyncBuf,
        iovs: Option<Box<[Iov]>>,
        copy: u64,
        handle: u32,
        cb: Option<AsyncCallback>,
    ) {
        let rich = !matches!(buf, AsyncBuf::Flat(_)) || cb.is_some();
        match buf {
            AsyncBuf::Parts(parts) => {
                self.gathered[i] = Some(Box::new(Gathered {
                    parts,
                    _iovs: iovs.unwrap_or_default(),
                }))
            }
            AsyncBuf::Flat(v) => self.bufs[i] = v,
            AsyncBuf::Shared(b) => self.shared[i] = Some(b),
        }
        self.copies[i] = copy;
        self.handles[i] = handle;
        self.cbs[i] = cb;
        self.rich += usize::from(rich);
    }

    /// Fills slot `i` with a flat message without a callback of its own (the fast path), and
    /// its copy in the send buffers (`copy`, or 0).
    #[inline(always)]
    fn set_flat(&mut self, i: usize, buf: Vec<u8>, copy: u64, handle: u32) {
        // A slot not in use holds an empty Vec (taken when it was released): replacing it
        // frees nothing.
        let old = std::mem::replace(&mut self.bufs[i], buf);
        debug_assert_eq!(old.capacity(), 0, "slot {i} was in use");
        std::mem::forget(old);
        self.handles[i] = handle;
        if copy != 0 {
            self.copies[i] = copy;
        }
    }

    /// Releases slot `i`'s copy in the send buffers, if it has one.
    #[inline(always)]
    fn release_copy(&mut self, i: usize) {
        let w = std::mem::take(&mut self.copies[i]);
        if w != 0 {
            self.uncopy(w);
        }
    }

    /// Empties slot `i`: the message's buffer, handle and own callback.
    fn take(&mut self, i: usize) -> (AsyncBuf, u32, Option<AsyncCallback>) {
        if self.copy_bufs.is_some() {
            self.release_copy(i);
        }
        let (buf, cb) = if self.rich == 0 {
            (AsyncBuf::Flat(std::mem::take(&mut self.bufs[i])), None)
        } else {
            let buf = match (self.gathered[i].take(), self.shared[i].take()) {
                (Some(g), _) => AsyncBuf::Parts(g.parts),
                (None, Some(b)) => AsyncBuf::Shared(b),
                (None, None) => AsyncBuf::Flat(std::mem::take(&mut self.bufs[i])),
            };
            let cb = self.cbs[i].take();
            if !matches!(buf, AsyncBuf::Flat(_)) || cb.is_some() {
                self.rich -= 1;
            }
            (buf, cb)
        };
        (buf, self.handles[i], cb)
    }

    /// Empties the slots `from..to` of the ring (indices modulo the slot count) into `pool`:
    /// no callback is to receive their buffers.
    #[inline]
    fn recycle(&mut self, from: usize, to: usize, pool: &mut BufPool) {
        let n = self.bufs.len();
        if self.rich != 0 {
            let mut i = from;
            while i != to {
                let (buf, _, _) = self.take(i);
                match buf {
                    AsyncBuf::Flat(v) => pool.give(v),
                    AsyncBuf::Parts(parts) => parts.into_iter().for_each(|v| pool.give(v)),
                    AsyncBuf::Shared(b) => drop(b),
                }
                i = (i + 1) & (n - 1);
            }
            return;
        }
        if self.copy_bufs.is_some() {
            let mut i = from;
            while i != to {
                self.release_copy(i);
                i = (i + 1) & (n - 1);
            }
        }
        // The common case, flat buffers only: one column, contiguous runs.
        let (a, b) = if from <= to {
            (&mut self.bufs[from..to], None)
        } else {
            let (head, tail) = self.bufs.split_at_mut(from);
            (tail, Some(&mut head[..to]))
        };
        a.iter_mut().for_each(|v| pool.give(std::mem::take(v)));
        if let Some(b) = b {
            b.iter_mut().for_each(|v| pool.give(std::mem::take(v)));
        }
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        // (The connection is detached: the kernel no longer reads its copies.)
        if self.copy_bufs.is_some() {
            (0..self.copies.len()).for_each(|i| self.release_copy(i));
        }
    }
}

pub(super) struct ConnState {
    pub(super) attr: AsyncConnAttr,
    pub(super) slots: Slots,
    pub(super) callbacks: bool,
    /// Messages put since the last trigger: what the count trigger counts.
    pub(super) untriggered: u32,
    /// When the first of the `untriggered` messages was put: what the time trigger measures.
    pub(super) batch_start: std::time::Instant,
}

/// How many of a connection's callbacks ran, and how many of those panicked. Shared with the
/// jobs that carry the connection's completed messages (they may outlive a detach).
#[derive(Debug, Default)]
pub(super) struct CallbackCounts {
    pub(super) run: AtomicU64,
    pub(super) panicked: AtomicU64,
}

pub(super) struct Conn {
    pub(super) coid: i32,
    /// The library the connection belongs to (weak: the library owns its connections).
    pub(super) lib: Weak<Lib>,
    /// Set by asyncmsg_connect_detach (per-thread caches check it).
    pub(super) detached: AtomicBool,
    pub(super) queue: Box<AsyncQueue>,
    /// For a queue in a shared kernel's region: the kernel and process that own its block,
    /// freed when the last reference to the connection goes (stale per-thread caches may still
    /// look at the queue until then).
    pub(super) region_owner: Option<(kernel_sim::Kernel, kernel_sim::Pid)>,
    /// For a queue in a shared kernel's region: the process's send buffers there, where a put
    /// copies a message too long for its slot's inline area (heap.rs).
    pub(super) heap: Option<Arc<SharedHeap>>,
    pub(super) state: ProducerLock<ConnState>,
    pub(super) nonblock: bool,
    /// The time trigger's timer ([`NO_TIMER`]: none): made by the attach that asks for a time
    /// trigger, or by the first `asyncmsg_connect_attr` that does (QNX's library makes one for
    /// every connection). Whoever ends the connection takes it ([`Conn::take_timer`]) and
    /// destroys it.
    pub(super) timer: AtomicI32,
    pub(super) timer_armed: AtomicBool,
    pub(super) msgs_put: AtomicU64,
    pub(super) kernel_entries: AtomicU64,
    pub(super) triggers: AtomicU64,
    pub(super) cb_counts: Arc<CallbackCounts>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some((kernel, pid)) = &self.region_owner {
            // (Refused with EBUSY if the connection was never detached: the kernel then frees
            // the block when the process ends.)
            let q = &self.queue;
            crate::current::cleanup_in(kernel, *pid, |c| c.async_queue_free(q));
        }
    }
}

/// A completed message on its way to its callback.
pub(super) type Done = (Option<AsyncCallback>, i32, AsyncBuf, u32);

/// [`Conn::timer`]'s value for no timer (timer ids are never negative).
pub(super) const NO_TIMER: i32 = -1;

impl Conn {
    #[inline(always)]
    pub(super) fn lock(&self) -> ProducerGuard<'_, ConnState> {
        self.state.lock()
    }

    /// The time trigger's timer, if the connection has one.
    #[inline(always)]
    pub(super) fn timer(&self) -> Option<i32> {
        let t = self.timer.load(Ordering::Acquire);
        (t != NO_TIMER).then_some(t)
    }

    /// Takes the timer to destroy it (once: a racing taker gets `None`).
    pub(super) fn take_timer(&self) -> Option<i32> {
        let t = self.timer.swap(NO_TIMER, Ordering::AcqRel);
        (t != NO_TIMER).then_some(t)
    }

    /// Without callbacks the producer releases taken slots itself, a half queue at a time
    /// (recycling the buffers), so most puts do no reaping at all. (`tail` and `done` are ours;
    /// `head`, on the kernel's cache line, is read only when there may be something to release.)
    #[inline(always)]
    fn release_if_half_full(&self, st: &mut ConnState) {
        let (done, tail) = self.queue.produced();
        if tail.wrapping_sub(done) >= self.queue.capacity() / 2 && self.queue.counters().1 != done {
            self.release_taken(st);
        }
    }

    /// Releases the slots receivers have taken (no callbacks to run): their buffers go back to
    /// the calling thread's pool, for its next [`asyncmsg_malloc`](super::asyncmsg_malloc)s.
    #[inline(never)]
    fn release_taken(&self, st: &mut ConnState) {
        let (done, head, _) = self.queue.counters();
        let epoch = crate::current::epoch();
        let (from, to) = (self.queue.slot_index(done), self.queue.slot_index(head));
        // (During thread-local teardown the pool is gone: the buffers are simply dropped.)
        let pooled = BUF_POOL.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            pool.enter(epoch);
            st.slots.recycle(from, to, &mut pool);
        });
        if pooled.is_err() {
            let mut c = done;
            while c != head {
                drop(st.slots.take(self.queue.slot_index(c)));
                c = c.wrapping_add(1);
            }
        }
        self.queue.release_to(head);
    }

    /// Releases the slots receivers have taken: returns them with their errors, in order.
    fn reap(&self, st: &mut ConnState) -> Vec<Done> {
        let (done, head, _) = self.queue.counters();
        let mut out = Vec::with_capacity(head.wrapping_sub(done) as usize);
        let mut c = done;
        while c != head {
            let (buf, handle, cb) = st.slots.take(self.queue.slot_index(c));
            let cb = cb.or_else(|| st.attr.call_back.clone());
            out.push((cb, self.queue.error_of(c), buf, handle));
            c = c.wrapping_add(1);
        }
        self.queue.release_to(head);
        out
    }

    /// Releases the slots receivers have taken and queues their callbacks for `lib`'s thread.
    /// The caller holds the connection's lock (`st`): reaping and queueing in one critical
    /// section keeps each connection's callbacks in queue order whichever thread reaps (the
    /// library thread on a 'P' pulse, a put that found the queue full, a detach). Returns
    /// whether the library thread must be woken to run them ([`Lib::wake`]).
    pub(super) fn reap_to_library(&self, lib: &Lib, st: &mut ConnState) -> bool {
        let done = self.reap(st);
        self.queue_callbacks(lib, done)
    }

    /// Queues completed messages for their callbacks (messages without one are dropped here).
    /// Returns whether the library thread must be woken.
    fn queue_callbacks(&self, lib: &Lib, done: Vec<Done>) -> bool {
        if !done.iter().any(|d| d.0.is_some()) {
            return false;
        }
        lib.push(Job::Callbacks {
            coid: self.coid,
            counts: self.cb_counts.clone(),
            done,
        })
    }
}

/// The time trigger's timer expired: trigger the current batch if it is `trigger_time` old;
/// if it is younger (an earlier batch went by the count trigger or a flush since the timer was
/// armed), arm the timer again for the rest of its time.
pub(super) fn on_timer(ctx: &ThreadCtx, conn: &Conn) {
    // An RMW, so that a put that saw the timer armed (and did not arm it) happens before our
    // look at the batch below (both sides swap: no store-load race).
    conn.timer_armed.swap(false, Ordering::AcqRel);
    let mut st = conn.lock();
    if st.untriggered == 0 {
        return;
    }
    let (age, period) = (st.batch_start.elapsed(), st.attr.trigger_time);
    if age >= period {
        st.untriggered = 0;
        drop(st);
        let _ = trigger_now(ctx, conn);
        return;
    }
    if let Some(t) = conn.timer() {
        if !conn.timer_armed.swap(true, Ordering::AcqRel)
            && !arm_timer(ctx, conn, &st, t, period - age)
        {
            conn.timer_armed.store(false, Ordering::Release);
        }
    }
}

/// A trigger: everything queued is handed to the kernel (one kernel entry).
pub(super) fn trigger(ctx: &ThreadCtx, conn: &Conn) -> KResult<u32> {
    conn.lock().untriggered = 0;
    trigger_now(ctx, conn)
}

/// The kernel entry of a trigger; the caller has reset `untriggered`.
fn trigger_now(ctx: &ThreadCtx, conn: &Conn) -> KResult<u32> {
    conn.kernel_entries.fetch_add(1, Ordering::Relaxed);
    conn.triggers.fetch_add(1, Ordering::Relaxed);
    // (By queue: should a concurrent detach have freed the coid and an attach reused it, the
    // kernel refuses instead of triggering the other connection.)
    sys::msg_send_async(ctx, conn.coid, &conn.queue)
}

/// A detach; the connection is left in `left`, to be dropped once no lock is held.
pub(super) fn detach_in(c: &ThreadCtx, coid: i32, left: &mut Leftover) -> KResult<()> {
    let lib = lib_of(c).map_err(|_| Errno::EINVAL)?;
    let conn = lib
        .conns
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&coid)
        .ok_or(Errno::EINVAL)?;
    conn.detached.store(true, Ordering::Release);
    let mut st = conn.lock();
    // After this the kernel no longer reads the queue.
    let detached = sys::connect_detach(c, coid);
    if let Some(t) = conn.take_timer() {
        let _ = sys::timer_destroy(c, t);
    }
    let mut done = conn.reap(&mut st);
    let (_, head, tail) = conn.queue.counters();
    let mut ctr = head;
    while ctr != tail {
        let (buf, handle, cb) = st.slots.take(conn.queue.slot_index(ctr));
        let cb = cb.or_else(|| st.attr.call_back.clone());
        done.push((cb, Errno::EBADF.0, buf, handle));
        ctr = ctr.wrapping_add(1);
    }
    // (Queued under the connection's lock: after any callbacks of this connection a reap
    // queued before.)
    let wake = conn.queue_callbacks(&lib, done);
    drop(st);
    if wake {
        lib.wake(c);
    }
    left.conn = Some(conn);
    detached
}

/// A connection a thread last put on: the thread's binding epoch ([`crate::current::epoch`])
/// when it was looked up, its coid and the connection.
type CachedConn = (u64, i32, Arc<Conn>);

/// [`LAST_CONN`]'s key and connection address, mirrored in a thread-local without a destructor,
/// which the common put reads with plain loads (a thread-local with a destructor is read through
/// a closure that kept the put from inlining into its caller).
#[derive(Clone, Copy)]
struct Hot {
    epoch: u64,
    coid: i32,
    /// `Arc::as_ptr` of [`LAST_CONN`]'s connection, or null.
    conn: *const Conn,
}

const NO_HOT: Hot = Hot {
    epoch: 0,
    coid: -1,
    conn: std::ptr::null(),
};

/// [`LAST_CONN`]'s value; leaving it (thread exit) clears [`HOT`] first.
struct LastConn(Option<CachedConn>);

impl Drop for LastConn {
    fn drop(&mut self) {
        HOT.with(|h| h.set(NO_HOT));
    }
}

thread_local! {
    /// The connection this thread last put on: a put on the same coid under the same binding
    /// skips the binding, the registry and the connection map (three look-ups, two locks).
    static LAST_CONN: RefCell<LastConn> = const { RefCell::new(LastConn(None)) };
    /// Invariant: `conn` is null, or `LAST_CONN` holds `(epoch, coid, arc)` with
    /// `Arc::as_ptr(arc) == conn` (both are changed together, by `with_conn` alone).
    static HOT: std::cell::Cell<Hot> = const { std::cell::Cell::new(NO_HOT) };
}

/// Runs `f` on the calling process's connection `coid` (EBADF if none), from the thread's
/// cache when it last put on the same one under the same binding. `f` runs while the cache is
/// borrowed: it must not put (nothing in a put does; callbacks run on the library thread).
fn with_conn<R>(coid: i32, f: impl FnOnce(&Conn) -> KResult<R>) -> KResult<R> {
    let epoch = crate::current::epoch();
    LAST_CONN.with(|l| {
        let hit = l.borrow().0.as_ref().is_some_and(|(e, co, conn)| {
            // A detached connection's coid may be reused: `detached` is set before its slot is.
            *e == epoch && *co == coid && !conn.detached.load(Ordering::Acquire)
        });
        if !hit {
            let conn = with_current(|c| lib_of(c)?.conn(coid))?;
            // Looking up may have bound the thread (to the default process): a new epoch.
            let epoch = crate::current::epoch();
            // (HOT first: it never names a connection LAST_CONN no longer holds.)
            HOT.with(|h| h.set(NO_HOT));
            l.borrow_mut().0 = Some((epoch, coid, conn.clone()));
            HOT.with(|h| {
                h.set(Hot {
                    epoch,
                    coid,
                    conn: Arc::as_ptr(&conn),
                })
            });
        }
        let cached = l.borrow();
        let (_, _, conn) = cached.0.as_ref().ok_or(Errno::EBADF)?;
        f(conn)
    })
}

pub(super) fn put(
    coid: i32,
    buf: AsyncBuf,
    handle: u32,
    cb: Option<AsyncCallback>,
    timeout: Option<Duration>,
) -> Result<(), AsyncPutError> {
    let mut buf = Some(buf);
    match with_conn(coid, |conn| put_on(conn, &mut buf, handle, cb, timeout)) {
        Ok(()) => Ok(()),
        Err(errno) => Err(AsyncPutError {
            errno,
            buf: buf.take().unwrap_or(AsyncBuf::Flat(Vec::new())),
        }),
    }
}

/// A put on `conn`: takes the buffer out of `slot` on success, leaves it there on failure.
/// The kernel is entered (through the calling thread's binding) only to trigger, to arm the
/// time trigger, or to ask the library thread for room.
fn put_on(
    conn: &Conn,
    slot: &mut Option<AsyncBuf>,
    handle: u32,
    cb: Option<AsyncCallback>,
    timeout: Option<Duration>,
) -> KResult<()> {
    let deadline = timeout.map(Deadline::after);
    let mut st = conn.lock();
    loop {
        if !st.callbacks {
            conn.release_if_half_full(&mut st);
        }
        if conn.queue.flags() & AQ_DEAD != 0 {
            return Err(Errno::EBADF);
        }
        if conn.queue.has_room() {
            break;
        }
        if st.callbacks && conn.queue.counters().1 != conn.queue.counters().0 {
            // Full, but receivers took messages whose slots the library thread has not
            // released yet (it is running callbacks, or its pulse is on the way): release them
            // here, and leave their callbacks to the library thread, in order.
            let Some(lib) = conn.lib.upgrade() else {
                return Err(Errno::EBADF);
            };
            let wake = conn.reap_to_library(&lib, &mut st);
            drop(st);
            // A 'P' not yet handled wakes the library thread anyway, and it runs the jobs
            // after handling it (it clears the flag first): no wake-up of ours is needed.
            if wake && conn.queue.flags() & AQ_PULSE_PENDING == 0 {
                let _ = with_current(|c| {
                    lib.wake(c);
                    Ok(())
                });
            }
            st = conn.lock();
            continue;
        }
        if conn.nonblock {
            return Err(Errno::EAGAIN);
        }
        // One look at the counters for both questions below. A receiver may have taken
        // messages since the release above looked at `head`: the queue is then not full, and
        // the next round releases them. Judged on a later `head` than the release's, the taken
        // messages would make `pending` look small enough to fire the trigger below for a
        // queue that has room: a trigger the count did not call for, which resets the count
        // and shifts every later count trigger, stranding the last messages of a stream whose
        // length the count divides.
        let (done, head, tail) = conn.queue.counters();
        if head != done {
            continue;
        }
        if st.untriggered > 0 && tail.wrapping_sub(head) <= st.untriggered {
            // Full, and every message a receiver could take is one no trigger has sent yet:
            // send them before waiting, or nobody would ever make room. (While triggered
            // messages are pending, the receiver taking them makes room.)
            st.untriggered = 0;
            drop(st);
            with_current(|c| trigger_now(c, conn))?;
            st = conn.lock();
            continue;
        }
        drop(st);
        // Until a receiver takes messages (the kernel bumps the queue's word when it does:
        // we then release their slots ourselves, above) or the library thread releases some.
        let room = conn.queue.wait_until(
            |q| {
                let (done, head, _) = q.counters();
                q.has_room() || head != done
            },
            deadline,
        );
        st = conn.lock();
        if !room && conn.queue.flags() & AQ_DEAD == 0 && deadline.is_some_and(|d| d.passed()) {
            return Err(Errno::ETIMEDOUT);
        }
    }
    // Ask for the kernel's 'P' pulse before the message is visible, so that a receiver taking
    // it at once already sees that a callback waits for it.
    if cb.is_some() && !st.callbacks {
        st.callbacks = true;
        conn.queue.set_flags(AQ_WANT_PULSE);
    }
    let Some(buf) = slot.take() else {
        return Err(Errno::EINVAL);
    };
    // Build the kernel's view of the message: the flat buffer, a copy of it in the region, or
    // an iov array over the parts.
    let copy = region_copy(conn, &mut st.slots, &buf);
    let (desc, iovs) = match (&buf, copy) {
        (_, Some((_, desc))) => (desc, None),
        // The program's buffer, uncopied, where it lies in the connection's kernel's region;
        // any other (short, or not copied above) as any flat message.
        (AsyncBuf::Shared(b), None) => (
            conn.heap
                .as_ref()
                .and_then(|h| b.region_desc(h))
                .unwrap_or_else(|| flat_desc(&conn.queue, b)),
            None,
        ),
        (AsyncBuf::Flat(v), None) => (flat_desc(&conn.queue, v), None),
        (AsyncBuf::Parts(p), None) => {
            let iovs: Box<[Iov]> = p.iter().map(|v| Iov::from_slice(v)).collect();
            let total = p.iter().map(|v| v.len() as u64).sum();
            (
                MsgDesc {
                    iov: Iov {
                        base: iovs.as_ptr() as u64,
                        len: total,
                    },
                    parts: iovs.len() as u32,
                },
                Some(iovs),
            )
        }
    };
    let bytes = desc.iov.len;
    // SAFETY: we hold the connection's lock (one producer); the buffer (and iov array) are
    // moved into the slot below and stay there, their heap data unmoved, until a reap
    // releases the slot.
    let Some(ctr) = (unsafe { conn.queue.push(desc) }) else {
        if let Some((w, _)) = copy {
            st.slots.uncopy(w);
        }
        *slot = Some(buf);
        return Err(Errno::EAGAIN);
    };
    if put_traced(conn) {
        trace_put(conn, conn.coid, bytes);
    }
    let copy = copy.map_or(0, |(w, _)| w);
    st.slots
        .set(conn.queue.slot_index(ctr), buf, iovs, copy, handle, cb);
    queued(conn, st);
    Ok(())
}

/// The `qnx::async` `put` event of a message of `bytes` on `coid` (tracing on): named by the
/// calling thread's binding (no kernel entry: the put made none; the thread is bound, since it
/// found the connection through its binding).
#[cold]
#[inline(never)]
fn trace_put(conn: &Conn, coid: i32, bytes: u64) {
    let (pid, tid) = crate::current::with_current(|c| Ok((c.pid(), c.tid()))).unwrap_or((0, 0));
    let ring = conn
        .region_owner
        .as_ref()
        .map_or(kernel_sim::trace::Ring::none(), |(k, _)| k.trace_ring());
    kernel_sim::trace::async_put(ring, pid, tid, coid, bytes);
}

/// Whether a put is traced: a `tracing` subscriber wants it, or (a queue in a shared kernel's
/// region) a recorder drains the kernel's trace ring.
#[inline(always)]
fn put_traced(conn: &Conn) -> bool {
    kernel_sim::trace::enabled()
        || conn
            .region_owner
            .as_ref()
            .is_some_and(|(k, _)| k.trace_ring().recording())
}

/// After a message is queued (its slot filled, the lock held): counts it, and fires the count
/// trigger or arms the time trigger. The message is queued whatever the trigger says (a dead
/// channel shows at the next put).
#[inline(always)]
fn queued(conn: &Conn, mut st: ProducerGuard<'_, ConnState>) {
    // Only puts write the count, and they hold the lock: a plain increment, not an RMW.
    let put = conn.msgs_put.load(Ordering::Relaxed);
    conn.msgs_put.store(put + 1, Ordering::Relaxed);
    st.untriggered += 1;
    let count = st.attr.trigger_num_msg;
    // The common put ends here: no count trigger reached, and no time trigger to tend.
    if (count == 0 || st.untriggered < count) && conn.timer().is_none() {
        return;
    }
    triggers_due(conn, st);
}

/// The rarer half of [`queued`] (kept out of line so that the common put stays small): fires
/// the count trigger, or starts the batch's clock and arms the time trigger.
#[inline(never)]
fn triggers_due(conn: &Conn, mut st: ProducerGuard<'_, ConnState>) {
    // (Only the time trigger measures a batch's age.)
    if st.untriggered == 1 && conn.timer().is_some() {
        st.batch_start = std::time::Instant::now();
    }
    let (count, time) = (st.attr.trigger_num_msg, st.attr.trigger_time);
    let fire = count != 0 && st.untriggered >= count;
    if fire {
        st.untriggered = 0;
        drop(st);
        // Not for a connection a concurrent detach has taken away (its coid may already name
        // another connection: the kernel refuses such a trigger too, by queue; this check only
        // saves the kernel entry).
        if !conn.detached.load(Ordering::Acquire) {
            let _ = with_current(|c| trigger_now(c, conn));
        }
    } else if let Some(t) = conn.timer().filter(|_| !time.is_zero()) {
        if !conn.timer_armed.swap(true, Ordering::AcqRel) {
            let armed = with_current(|c| Ok(arm_timer(c, conn, &st, t, time)));
            if armed != Ok(true) {
                conn.timer_armed.store(false, Ordering::Release);
            }
        }
    }
}

/// Arms connection `conn`'s time-trigger timer `t` to expire `after` from now. The caller holds
/// the connection's lock (`_held`): a detach destroys the timer under that lock after setting
/// `detached`, so while we hold it and `detached` is clear, the timer id is still ours (not
/// destroyed, and so not reused by another TimerCreate). Returns false if the timer could not
/// be armed: the caller then clears `timer_armed`, or no put would ever arm it again (each
/// leaves it to the expiry it thinks is coming).
fn arm_timer(ctx: &ThreadCtx, conn: &Conn, _held: &ConnState, t: i32, after: Duration) -> bool {
    if conn.detached.load(Ordering::Acquire) {
        return true;
    }
    conn.kernel_entries.fetch_add(1, Ordering::Relaxed);
    sys::timer_start(ctx, t, after, Duration::ZERO).is_ok()
}

/// For a connection whose queue is in a shared kernel's region: a copy of message `buf` in the
/// process's send buffers there, if it is too long for its slot's inline area and the heap has
/// room (else the kernel reads it from this program's memory, with a system call). A buffer
/// from `asyncmsg_malloc_shared` that lies in those send buffers is not copied (one of another
/// kernel's, or of a kernel of one program, is).
fn region_copy(conn: &Conn, slots: &mut Slots, buf: &AsyncBuf) -> Option<(u64, MsgDesc)> {
    let heap = conn.heap.as_ref()?;
    match buf {
        AsyncBuf::Flat(v) if v.len() > INLINE => slots.copy_in(&[v]),
        AsyncBuf::Shared(b) if b.len() > INLINE && !b.in_heap(heap) => slots.copy_in(&[b]),
        AsyncBuf::Parts(p) => {
            let parts: Vec<&[u8]> = p.iter().map(Vec::as_slice).collect();
            let len: usize = parts.iter().map(|p| p.len()).sum();
            (len > INLINE).then(|| slots.copy_in(&parts)).flatten()
        }
        _ => None,
    }
}

/// The kernel's view of flat message `v`, about to be pushed by the producer (its lock held).
/// On a queue in a shared kernel's region, a message short enough is first copied into the
/// inline area of the slot the push fills, so that the kernel, in the receiver's program, takes
/// it from the region without a system call (asyncq.rs, `INLINE`); otherwise the kernel reads
/// the buffer itself. (The buffer stays in the slot either way, for its callback or the pool.)
#[inline(always)]
fn flat_desc(queue: &AsyncQueue, v: &[u8]) -> MsgDesc {
    if let Some((area, at)) = queue.inline_area(v.len()) {
        if queue.has_room() {
            // SAFETY: the area is the inline area of the slot the next push fills, `INLINE`
            // bytes (`inline_area` checked the length); the slot is free (`has_room`), and we
            // are its only producer (the connection's lock): nobody reads it until the push.
            unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), area, v.len()) };
            return MsgDesc {
                iov: Iov {
                    base: at,
                    len: v.len() as u64,
                },
                parts: 0,
            };
        }
    }
    MsgDesc {
        iov: Iov::from_slice(v),
        parts: 0,
    }
}

/// The common put, tried first: a flat buffer without a callback, on the connection this thread
/// last put on, with room, and no callbacks pending. Anything else (a cache miss, a full or dead
/// queue, callbacks) hands the buffer back for the general path, which also reports errors.
#[inline(always)]
pub(super) fn put_fast(coid: i32, buf: Vec<u8>, handle: u32) -> Result<(), Vec<u8>> {
    let epoch = crate::current::epoch();
    let hot = HOT.with(std::cell::Cell::get);
    if hot.conn.is_null() || hot.epoch != epoch || hot.coid != coid {
        return Err(buf);
    }
    // SAFETY: by HOT's invariant LAST_CONN holds an Arc of this connection, which keeps it
    // alive until LAST_CONN changes; only `with_conn` on this thread changes it, and nothing
    // below calls it (the lock, the queue, the pool and the kernel calls of a trigger).
    let conn: &Conn = unsafe { &*hot.conn };
    {
        if conn.detached.load(Ordering::Acquire) {
            return Err(buf);
        }
        let mut st = conn.lock();
        if st.callbacks {
            return Err(buf);
        }
        conn.release_if_half_full(&mut st);
        if conn.queue.flags() & AQ_DEAD != 0 {
            return Err(buf);
        }
        // A long message on a queue in the region is copied to the program's send buffers
        // there (if they have room).
        let copy = if buf.len() > INLINE && st.slots.copy_bufs.is_some() && conn.queue.has_room() {
            st.slots.copy_in(&[&buf])
        } else {
            None
        };
        let desc = match copy {
            Some((_, desc)) => desc,
            None => flat_desc(&conn.queue, &buf),
        };
        // SAFETY: as in `put_on`: we hold the connection's lock (one producer); the buffer is
        // moved into the slot below, its data unmoved, until a reap releases the slot (and the
        // copy is the connection's until then).
        let Some(ctr) = (unsafe { conn.queue.push(desc) }) else {
            if let Some((w, _)) = copy {
                st.slots.uncopy(w);
            }
            return Err(buf);
        };
        if put_traced(conn) {
            trace_put(conn, coid, buf.len() as u64);
        }
        let copy = copy.map_or(0, |(w, _)| w);
        st.slots
            .set_flat(conn.queue.slot_index(ctr), buf, copy, handle);
        queued(conn, st);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycling_empties_every_column_of_mixed_slots_and_wraps_around_the_ring() {
        // Slots 6, 7, 0, 1 (a range that wraps a ring of 8): flat, gathered, flat with its own
        // callback, flat. Recycling 6..2 must empty all four, count no rich slot afterwards,
        // and give the pool every buffer (the gathered message's two parts included); slots
        // outside the range stay as they were.
        let mut slots = Slots::new(8, None);
        let mut pool = BufPool::new();
        let cb: AsyncCallback = Arc::new(|_, _, _| {});
        slots.set_flat(6, Vec::with_capacity(16), 0, 6);
        slots.set(
            7,
            AsyncBuf::Parts(vec![Vec::with_capacity(16), Vec::with_capacity(32)]),
            None,
            0,
            7,
            None,
        );
        slots.set(
            0,
            AsyncBuf::Flat(Vec::with_capacity(16)),
            None,
            0,
            0,
            Some(cb),
        );
        slots.set_flat(1, Vec::with_capacity(64), 0, 1);
        slots.set_flat(2, Vec::with_capacity(16), 0, 2);
        assert_eq!(slots.rich, 2);
        slots.recycle(6, 2, &mut pool);
        assert_eq!(slots.rich, 0);
        for i in [6, 7, 0, 1] {
            assert_eq!(slots.bufs[i].capacity(), 0, "slot {i}'s buffer");
            assert!(
                slots.gathered[i].is_none() && slots.cbs[i].is_none(),
                "slot {i}"
            );
        }
        assert_eq!(slots.bufs[2].capacity(), 16, "slot 2 is outside the range");
        let pooled: usize = pool.classes.iter().map(Vec::len).sum();
        assert_eq!(pooled, 5, "every buffer went to the pool");
        // With no rich slot left, the flat fast path recycles a range that wraps, too.
        slots.set_flat(7, Vec::with_capacity(16), 0, 7);
        slots.set_flat(0, Vec::with_capacity(16), 0, 0);
        slots.recycle(7, 1, &mut pool);
        assert_eq!(pool.classes.iter().map(Vec::len).sum::<usize>(), 7);
        assert_eq!((slots.bufs[7].capacity(), slots.bufs[0].capacity()), (0, 0));
    }
}
