//! Asynchronous messaging (QNX's `libasyncmsg`): the sender buffers messages in its own
//! memory and the kernel delivers them in batches, so the kernel is entered once per batch
//! instead of twice per message.
//!
//! * [`asyncmsg_put`] appends to the connection's send queue
//!   ([`AsyncQueue`], in this process's memory) without
//!   entering the kernel. Only a **trigger** enters it, once per batch: the count trigger
//!   (`trigger_num_msg` messages put since the last trigger), the time trigger (`trigger_time` after the first message of
//!   a batch, driven by a kernel timer whose pulse the library thread receives), or
//!   [`asyncmsg_flush`].
//! * The sender gives its buffer to the library with the message and gets it back through the
//!   callback, once a receiver has taken the message (`err` 0) or it failed (`EMSGSIZE`, or
//!   `EBADF` when the connection was detached first). Callbacks run on one library thread per
//!   process, in queue order.
//! * [`asyncmsg_get`] takes a batch of up to `max_num_buffer` messages in one kernel entry.
//!
//! ```
//! use std::time::Duration;
//! use userlib::asyncmsg::*;
//!
//! let chid = asyncmsg_channel_create(0, 0o600, 64, 16, None, None)?;
//! let attr = AsyncConnAttr { trigger_num_msg: 4, max_num_buffer: 32, ..AsyncConnAttr::default() };
//! let coid = asyncmsg_connect_attach(0, 0, chid, userlib::consts::_NTO_SIDE_CHANNEL, 0, &attr)?;
//! for i in 0..8u8 {
//!     asyncmsg_put(coid, vec![i; 10], i as u32, None)?; // 2 batches of 4
//! }
//! let mut got = Vec::new();
//! while got.len() < 8 {
//!     let batch = asyncmsg_get(chid)?;
//!     got.extend(batch.iter().map(|m| m.data[0]));
//! }
//! assert_eq!(got, (0..8).collect::<Vec<u8>>());
//! let stats = asyncmsg_connection_stats(coid)?;
//! assert_eq!((stats.msgs_put, stats.triggers), (8, 2));
//! asyncmsg_connect_detach(coid)?;
//! asyncmsg_channel_destroy(chid)?;
//! # Ok::<(), userlib::Errno>(())
//! ```

use crate::current::with_current;
use kernel_sim::asyncq::{AsyncQueue, MsgDesc, AQ_DEAD, AQ_PULSE_PENDING, AQ_WANT_PULSE};
use kernel_sim::consts::*;
use kernel_sim::spin::{ProducerGuard, ProducerLock};
use kernel_sim::types::{AsyncGetHeader, SigEvent};
use kernel_sim::Deadline;
use kernel_sim::{Errno, Iov, KResult, Kernel, MsgInfo, Pid, ThreadCtx};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// `ASYNCMSG_FLUSH_NONBLOCK`: trigger delivery and return without waiting.
pub const ASYNCMSG_FLUSH_NONBLOCK: i32 = 1;

const CODE_TAKEN: i8 = kernel_sim::consts::PULSE_CODE_TAKEN;
const CODE_TIMER: i8 = kernel_sim::consts::PULSE_CODE_TIMER;
const CODE_JOBS: i8 = kernel_sim::consts::PULSE_CODE_JOBS;

/// A delivery callback: `(err, buffer, handle)`. `err` is 0 once a receiver took the message;
/// otherwise the error (EMSGSIZE, EBADF). The buffer is the one given to the put, handed back.
pub type AsyncCallback = Arc<dyn Fn(i32, AsyncBuf, u32) + Send + Sync>;

/// What a put hands over and a callback hands back: one buffer, or the parts of a gathered one.
#[derive(Debug)]
pub enum AsyncBuf {
    /// A flat message (`asyncmsg_put`).
    Flat(Vec<u8>),
    /// A gathered message (`asyncmsg_putv`).
    Parts(Vec<Vec<u8>>),
}

impl AsyncBuf {
    /// The flat buffer (a gathered message's parts concatenated).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            AsyncBuf::Flat(v) => v,
            AsyncBuf::Parts(p) => p.concat(),
        }
    }
}

/// `struct _asyncmsg_connection_attr`.
#[derive(Clone)]
pub struct AsyncConnAttr {
    /// Called for messages whose put gave no callback of its own.
    pub call_back: Option<AsyncCallback>,
    /// The largest message this sender means to put (advisory: the receiver's channel
    /// `buffer_size` is what limits delivery).
    pub buffer_size: usize,
    /// Send-queue slots: at most `max_num_buffer - 1` messages outstanding (at least 2 slots).
    pub max_num_buffer: u32,
    /// Count trigger: deliver when this many are pending (0: off).
    pub trigger_num_msg: u32,
    /// Time trigger: deliver this long after a batch's first message (zero: off).
    pub trigger_time: Duration,
}

impl Default for AsyncConnAttr {
    fn default() -> Self {
        AsyncConnAttr {
            call_back: None,
            buffer_size: 1024,
            max_num_buffer: 64,
            trigger_num_msg: 1,
            trigger_time: Duration::ZERO,
        }
    }
}

impl std::fmt::Debug for AsyncConnAttr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncConnAttr")
            .field("call_back", &self.call_back.as_ref().map(|_| "fn"))
            .field("buffer_size", &self.buffer_size)
            .field("max_num_buffer", &self.max_num_buffer)
            .field("trigger_num_msg", &self.trigger_num_msg)
            .field("trigger_time", &self.trigger_time)
            .finish()
    }
}

/// A failed put: the errno, and the buffer back.
///
/// It converts into its [`Errno`], so that `?` works in a function that returns
/// `Result<_, Errno>` (the buffer is dropped then); match on it, or read `buf`, to keep the
/// buffer.
///
/// ```
/// use userlib::asyncmsg::*;
/// use userlib::Errno;
///
/// fn send(coid: i32, reading: Vec<u8>) -> Result<(), Errno> {
///     asyncmsg_put(coid, reading, 0, None)?;
///     Ok(())
/// }
///
/// // 12345 is no asyncmsg connection of ours: the put fails and the buffer comes back.
/// let e = asyncmsg_put(12345, vec![1, 2, 3], 0, None).unwrap_err();
/// assert_eq!(e.errno, Errno::EBADF);
/// assert_eq!(e.to_string(), format!("asyncmsg put failed: {}", Errno::EBADF));
/// assert_eq!(e.buf.into_vec(), vec![1, 2, 3]);
/// assert_eq!(send(12345, vec![4]), Err(Errno::EBADF));
/// ```
#[derive(Debug)]
pub struct AsyncPutError {
    /// Why (EBADF, EAGAIN, ETIMEDOUT).
    pub errno: Errno,
    /// The caller's buffer, returned.
    pub buf: AsyncBuf,
}

impl std::fmt::Display for AsyncPutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "asyncmsg put failed: {}", self.errno)
    }
}

impl std::error::Error for AsyncPutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.errno)
    }
}

impl From<AsyncPutError> for Errno {
    fn from(e: AsyncPutError) -> Errno {
        e.errno
    }
}

/// A connection's counters: what batching saved, in figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AsyncConnStats {
    /// Messages put.
    pub msgs_put: u64,
    /// Kernel entries the library made for this connection (triggers and timer arming).
    pub kernel_entries: u64,
    /// Triggers (MsgSendAsync) the library made.
    pub triggers: u64,
    /// Triggers that found messages pending: batches handed to the kernel.
    pub batches: u64,
    /// Messages receivers took.
    pub msgs_taken: u64,
    /// Callbacks run (those that panicked included).
    pub callbacks: u64,
    /// Callbacks that panicked. Each panic is caught on the library thread, which goes on with
    /// the next callback, and reported as a `tracing` error event (target
    /// `userlib::asyncmsg`, with the connection's `coid`, the message's `handle` and `err`, and
    /// the `panic` message).
    pub callback_panics: u64,
}

/// A receive-buffer allocation request (the `recvbuf_callback` of asyncmsg_channel_create).
#[derive(Debug)]
pub enum RecvBufOp {
    /// Allocate the receive arena: room for `num_bufs` messages of `bufsize` bytes. Return a
    /// buffer of at least `bufsize * num_bufs` bytes, or `None` (asyncmsg_get then fails with
    /// ENOMEM).
    Alloc {
        /// Bytes per message.
        bufsize: usize,
        /// Messages per batch.
        num_bufs: usize,
    },
    /// The channel is destroyed: these arenas come back.
    Free(Vec<Vec<u8>>),
}

/// The receive-buffer allocator a channel may be given.
pub type RecvBufCallback = Arc<dyn Fn(RecvBufOp) -> Option<Vec<u8>> + Send + Sync>;

// ---------------------------------------------------------------------------------- library

/// What the library keeps for each queued message until its slot is released, by slot index.
/// Kept by field, so that the common put (a flat buffer, no callback of its own) writes 28
/// bytes and its release reads 40: the callback and gathered-message columns stay cold.
struct Slots {
    /// The flat buffer (empty for a gathered message, or a slot not in use).
    bufs: Vec<Vec<u8>>,
    handles: Vec<u32>,
    /// The put's own callback, if it gave one.
    cbs: Vec<Option<AsyncCallback>>,
    /// A gathered message's parts and the iov array the kernel reads.
    gathered: Vec<Option<Box<Gathered>>>,
    /// Slots in use whose `cbs` or `gathered` entry is set: while there are none, releasing
    /// reads the `bufs` column alone.
    rich: usize,
}

/// A gathered message (`asyncmsg_putv`): its parts, and the iov array over them that the
/// kernel reads (kept alive with the parts).
struct Gathered {
    parts: Vec<Vec<u8>>,
    _iovs: Box<[Iov]>,
}

impl Slots {
    /// Slots for a ring of `n` (a power of two: `recycle` wraps by masking).
    fn new(n: usize) -> Slots {
        debug_assert!(n.is_power_of_two(), "{n} slots");
        Slots {
            bufs: (0..n).map(|_| Vec::new()).collect(),
            handles: vec![0; n],
            cbs: (0..n).map(|_| None).collect(),
            gathered: (0..n).map(|_| None).collect(),
            rich: 0,
        }
    }

    /// Fills slot `i` with a queued message (`iovs`: a gathered message's iov array).
    fn set(
        &mut self,
        i: usize,
        buf: AsyncBuf,
        iovs: Option<Box<[Iov]>>,
        handle: u32,
        cb: Option<AsyncCallback>,
    ) {
        let rich = matches!(buf, AsyncBuf::Parts(_)) || cb.is_some();
        match buf {
            AsyncBuf::Parts(parts) => {
                self.gathered[i] = Some(Box::new(Gathered {
                    parts,
                    _iovs: iovs.unwrap_or_default(),
                }))
            }
            AsyncBuf::Flat(v) => self.bufs[i] = v,
        }
        self.handles[i] = handle;
        self.cbs[i] = cb;
        self.rich += usize::from(rich);
    }

    /// Fills slot `i` with a flat message without a callback of its own (the fast path).
    #[inline(always)]
    fn set_flat(&mut self, i: usize, buf: Vec<u8>, handle: u32) {
        // A slot not in use holds an empty Vec (taken when it was released): replacing it
        // frees nothing.
        let old = std::mem::replace(&mut self.bufs[i], buf);
        debug_assert_eq!(old.capacity(), 0, "slot {i} was in use");
        std::mem::forget(old);
        self.handles[i] = handle;
    }

    /// Empties slot `i`: the message's buffer, handle and own callback.
    fn take(&mut self, i: usize) -> (AsyncBuf, u32, Option<AsyncCallback>) {
        let (buf, cb) = if self.rich == 0 {
            (AsyncBuf::Flat(std::mem::take(&mut self.bufs[i])), None)
        } else {
            let buf = match self.gathered[i].take() {
                Some(g) => AsyncBuf::Parts(g.parts),
                None => AsyncBuf::Flat(std::mem::take(&mut self.bufs[i])),
            };
            let cb = self.cbs[i].take();
            if matches!(buf, AsyncBuf::Parts(_)) || cb.is_some() {
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
        if self.rich != 0 {
            let n = self.bufs.len();
            let mut i = from;
            while i != to {
                let (buf, _, _) = self.take(i);
                match buf {
                    AsyncBuf::Flat(v) => pool.give(v),
                    AsyncBuf::Parts(parts) => parts.into_iter().for_each(|v| pool.give(v)),
                }
                i = (i + 1) & (n - 1);
            }
            return;
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

struct ConnState {
    attr: AsyncConnAttr,
    slots: Slots,
    callbacks: bool,
    /// Messages put since the last trigger: what the count trigger counts.
    untriggered: u32,
    /// When the first of the `untriggered` messages was put: what the time trigger measures.
    batch_start: std::time::Instant,
}

/// How many of a connection's callbacks ran, and how many of those panicked. Shared with the
/// jobs that carry the connection's completed messages (they may outlive a detach).
#[derive(Debug, Default)]
struct CallbackCounts {
    run: AtomicU64,
    panicked: AtomicU64,
}

struct Conn {
    coid: i32,
    /// The library the connection belongs to (weak: the library owns its connections).
    lib: Weak<Lib>,
    /// Set by asyncmsg_connect_detach (per-thread caches check it).
    detached: AtomicBool,
    queue: Box<AsyncQueue>,
    state: ProducerLock<ConnState>,
    nonblock: bool,
    timer: Option<i32>,
    timer_armed: AtomicBool,
    msgs_put: AtomicU64,
    kernel_entries: AtomicU64,
    triggers: AtomicU64,
    cb_counts: Arc<CallbackCounts>,
}

/// A completed message on its way to its callback.
type Done = (Option<AsyncCallback>, i32, AsyncBuf, u32);

impl Conn {
    #[inline(always)]
    fn lock(&self) -> ProducerGuard<'_, ConnState> {
        self.state.lock()
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
    /// the calling thread's pool, for its next [`asyncmsg_malloc`]s.
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
    fn reap_to_library(&self, lib: &Lib, st: &mut ConnState) -> bool {
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

struct RecvChan {
    /// Set (under `arenas`' lock) when the channel is destroyed: arenas coming back then go
    /// straight to the recvbuf callback (or are dropped).
    destroyed: AtomicBool,
    buffer_size: usize,
    max_num_buffer: u32,
    arenas: Mutex<Vec<(Vec<u8>, Vec<AsyncGetHeader>)>>,
    recvbuf: Option<RecvBufCallback>,
}

/// A process's library: its private channel, the library thread that receives on it, and the
/// process's asyncmsg connections and channels. The library thread owns it (the registry only
/// refers to it), so the library, and the kernel handle in it, go when the thread ends.
struct Lib {
    kernel: Kernel,
    pid: Pid,
    chid: i32,
    notify_coid: i32,
    /// The library thread's tid: work it queues itself needs no wake-up.
    tid: i32,
    /// A SIGEV_UNBLOCK timer aimed at the library thread: its wake-up when no pulse can be had
    /// (see [`Lib::wake`]).
    wake_timer: i32,
    conns: Mutex<HashMap<i32, Arc<Conn>>>,
    /// Set (under `conns`' lock) when the library thread leaves: no connection joins after.
    ended: AtomicBool,
    chans: Mutex<HashMap<i32, Arc<RecvChan>>>,
    jobs: Mutex<Jobs>,
    /// A kernel thread of the process that cleans up handles dropped by threads outside it:
    /// attached on first need and kept until the library ends, so that no thread is made and
    /// ended for each clean-up (each ending would be a thread-death pulse for the process).
    helper: Mutex<Option<ThreadCtx>>,
}

/// Work for the library thread, and whether it is at it.
#[derive(Default)]
struct Jobs {
    queue: VecDeque<Job>,
    /// The library thread is running jobs, and looks at `queue` again before it blocks: a job
    /// queued meanwhile needs no wake-up. (Set and cleared by the library thread alone.)
    busy: bool,
    /// The wake timer is armed. Only while `busy` is clear (see [`Lib::wake`]).
    wake_armed: bool,
}

/// A job for the library thread.
enum Job {
    /// Completed messages of connection `coid`, for their callbacks, in queue order.
    Callbacks {
        coid: i32,
        counts: Arc<CallbackCounts>,
        done: Vec<Done>,
    },
    /// The clean-up of a handle dropped outside the process, when no helper thread could be
    /// had to do it at once.
    Cleanup(Cleanup),
}

/// How often the wake timer unblocks the library thread while it is armed.
const WAKE_PERIOD_NS: u64 = 1_000_000;

impl Lib {
    fn conn(&self, coid: i32) -> KResult<Arc<Conn>> {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&coid)
            .cloned()
            .ok_or(Errno::EBADF)
    }

    fn chan(&self, chid: i32) -> KResult<Arc<RecvChan>> {
        self.chans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&chid)
            .cloned()
            .ok_or(Errno::EBADF)
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, Jobs> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `job` for the library thread; returns whether the thread must be woken for it
    /// (it is not running jobs now).
    fn push(&self, job: Job) -> bool {
        let mut jobs = self.jobs();
        jobs.queue.push_back(job);
        !jobs.busy
    }

    /// Makes sure the library thread runs the jobs queued so far. `ctx` is the calling thread,
    /// a thread of the library's process.
    ///
    /// After every wake-up, whatever woke it, the library thread runs jobs until it finds the
    /// queue empty, clearing `busy` under the same lock, and only then blocks in its receive. A
    /// job queued while `busy` is set therefore runs without a wake-up (`push` says so); the
    /// library thread itself never needs one. Otherwise the thread is blocked in its receive,
    /// or about to be, and must be woken:
    ///
    /// * by a `'J'` pulse, one kernel entry. But MsgSendPulse fails (EAGAIN) when the pulse
    ///   pool is exhausted, by any process (the pool is shared), and a lost wake-up would
    ///   leave the job unrun until something else happened to wake the thread: for an idle
    ///   producer, never.
    /// * failing that, by the wake timer, which needs no pulse: a periodic `SIGEV_UNBLOCK`
    ///   timer aimed at the library thread. It is armed, under the jobs lock, only while
    ///   `busy` is clear, and the thread disarms it at its next wake-up before it sets `busy`.
    ///   While `busy` is clear the thread runs library code only, whose one blocking call is
    ///   its receive, so the unblock ends that receive (ETIMEDOUT) and never a blocking call a
    ///   callback makes. Periodic, because it may fire while the thread is between its last
    ///   look at the queue and its receive (an unblock finds nothing to end then).
    fn wake(&self, ctx: &ThreadCtx) {
        if ctx.pid() == self.pid.pid && ctx.tid() == self.tid {
            return;
        }
        if self.wake_pulse(ctx) {
            return;
        }
        let armed = {
            let mut jobs = self.jobs();
            if jobs.busy || jobs.queue.is_empty() || jobs.wake_armed {
                return;
            }
            jobs.wake_armed = ctx
                .timer_settime(self.wake_timer, 0, WAKE_PERIOD_NS, WAKE_PERIOD_NS)
                .is_ok();
            jobs.wake_armed
        };
        tracing::debug!(
            pid = self.pid.pid,
            armed,
            "no pulse for the asyncmsg library thread's wake-up: its wake timer wakes it"
        );
    }

    /// Sends the library thread its `'J'` pulse; false if it could not be queued.
    fn wake_pulse(&self, ctx: &ThreadCtx) -> bool {
        #[cfg(test)]
        if tests::NO_WAKE_PULSE.with(std::cell::Cell::get) {
            return false;
        }
        ctx.msg_send_pulse(self.notify_coid, PRIO_MAX, CODE_JOBS, 0)
            .is_ok()
    }

    /// Runs `f` as the library's helper thread, attaching it on first use. `None`: no thread
    /// could be attached (the thread pool is full).
    fn as_helper<R>(&self, f: impl FnOnce(&ThreadCtx) -> R) -> Option<R> {
        let mut helper = self.helper.lock().unwrap_or_else(|p| p.into_inner());
        if helper.is_none() {
            *helper = self
                .kernel
                .thread_attach_internal(self.pid, PRIO_DEFAULT)
                .ok();
        }
        helper.as_ref().map(f)
    }
}

impl Drop for Lib {
    fn drop(&mut self) {
        // A connection still here is attached: the kernel may still read its queue and
        // buffers. The library thread detaches them all before it lets go of the library
        // (`Leave`); should that ever not have happened, leak them rather than free memory the
        // kernel reads.
        let conns = self.conns.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, conn) in conns.drain() {
            std::mem::forget(conn);
        }
    }
}

/// The libraries, one per process that uses asyncmsg. Weak: each belongs to its library
/// thread, which ends with its process.
fn registry() -> &'static Mutex<Vec<Weak<Lib>>> {
    static LIBS: OnceLock<Mutex<Vec<Weak<Lib>>>> = OnceLock::new();
    LIBS.get_or_init(|| Mutex::new(Vec::new()))
}

fn find_lib(libs: &[Weak<Lib>], kernel: &Kernel, pid: i32) -> Option<Arc<Lib>> {
    libs.iter()
        .filter_map(Weak::upgrade)
        .find(|l| l.kernel.same(kernel) && l.pid.pid == pid && !l.ended.load(Ordering::Acquire))
}

/// Process `pid`'s library on `kernel`, if it has one.
fn lib_in(kernel: &Kernel, pid: i32) -> Option<Arc<Lib>> {
    let libs = registry().lock().unwrap_or_else(|p| p.into_inner());
    find_lib(&libs, kernel, pid)
}

/// The calling process's library, if it has started one.
fn lib_of(ctx: &ThreadCtx) -> KResult<Arc<Lib>> {
    lib_in(ctx.kernel(), ctx.pid()).ok_or(Errno::EBADF)
}

/// The calling process's library, started on first use: a private channel, a connection to
/// it for the kernel's and the timers' pulses, the library thread that receives them, and the
/// thread's wake timer. On failure everything made so far is given back.
fn lib_start(ctx: &ThreadCtx) -> KResult<Arc<Lib>> {
    let mut libs = registry().lock().unwrap_or_else(|p| p.into_inner());
    libs.retain(|l| l.strong_count() > 0);
    if let Some(l) = find_lib(&libs, ctx.kernel(), ctx.pid()) {
        return Ok(l);
    }
    let chid = ctx.channel_create(_NTO_CHF_PRIVATE)?;
    let notify_coid = match ctx.connect_attach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0) {
        Ok(c) => c,
        Err(e) => {
            let _ = ctx.channel_destroy(chid);
            return Err(e);
        }
    };
    // On failure below, give the private channel and its connection back.
    let undo = |e: Errno| {
        let _ = ctx.connect_detach(notify_coid);
        let _ = ctx.channel_destroy(chid);
        e
    };
    let worker = ctx
        .kernel()
        .thread_attach_internal(ctx.process(), PRIO_MAX)
        .map_err(undo)?;
    // A timer's SIGEV_UNBLOCK goes to the thread that created it: the library thread.
    let wake_timer = match worker.timer_create(
        kernel_sim::abi::consts::CLOCK_MONOTONIC,
        Some(&SigEvent::unblock()),
    ) {
        Ok(t) => t,
        Err(e) => {
            drop(worker);
            return Err(undo(e));
        }
    };
    let lib = Arc::new(Lib {
        kernel: ctx.kernel().clone(),
        pid: ctx.process(),
        chid,
        notify_coid,
        tid: worker.tid(),
        wake_timer,
        conns: Mutex::new(HashMap::new()),
        ended: AtomicBool::new(false),
        chans: Mutex::new(HashMap::new()),
        jobs: Mutex::new(Jobs::default()),
        helper: Mutex::new(None),
    });
    libs.push(Arc::downgrade(&lib));
    let l = lib.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("asyncmsg-{}", ctx.pid()))
        .spawn(move || library_main(l, worker));
    if spawned.is_err() {
        // The closure, and the library's kernel thread and its `Arc` with it, was dropped: the
        // registry's entry dies with `lib` below.
        let _ = ctx.timer_destroy(wake_timer);
        return Err(undo(Errno::EAGAIN));
    }
    Ok(lib)
}

/// The library thread's life: bound as a thread of its process (so that callbacks making
/// userlib calls act as one), it receives until its channel goes, then lets go of everything.
fn library_main(lib: Arc<Lib>, worker: ThreadCtx) {
    // Signals aimed at the process go to the program's threads, not the library's.
    kernel_sim::signals::block_in_this_thread();
    worker.adopt_os_thread();
    drop(crate::current::bind(worker));
    let _ = with_current(|ctx| {
        // Runs however the loop ends (were the library itself ever to panic, too): the kernel
        // lets go of the queues before the library, which owns them, can be freed.
        let _leave = Leave { lib: &lib, ctx };
        library_thread(&lib, ctx);
        Ok(())
    });
    drop(crate::current::unbind());
}

/// The library thread leaving (its process is exiting, or the program destroyed the library's
/// channel): every connection is detached, the library's own objects are given back, and the
/// jobs not run are dropped (the process is going: their callbacks never run).
struct Leave<'a> {
    lib: &'a Lib,
    ctx: &'a ThreadCtx,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let (lib, ctx) = (self.lib, self.ctx);
        let conns: Vec<Arc<Conn>> = {
            let mut conns = lib.conns.lock().unwrap_or_else(|p| p.into_inner());
            lib.ended.store(true, Ordering::Release);
            conns.drain().map(|(_, c)| c).collect()
        };
        for conn in conns {
            conn.detached.store(true, Ordering::Release);
            let _ = ctx.connect_detach(conn.coid);
            if let Some(t) = conn.timer {
                let _ = ctx.timer_destroy(t);
            }
        }
        // (Not the channel: a program that destroyed it may already have a new one by its chid.)
        let _ = ctx.timer_destroy(lib.wake_timer);
        let _ = ctx.connect_detach(lib.notify_coid);
        let jobs = std::mem::take(&mut lib.jobs().queue);
        drop(jobs);
        registry()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|l| l.strong_count() > 0 && !std::ptr::eq(l.as_ptr(), lib));
        drop(lib.helper.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// The library thread: receives the kernel's `'P'` (messages taken), the timers' `'T'` and the
/// library's own `'J'` (jobs queued) pulses and its wake timer's unblocks, and after every
/// wake-up runs the queued jobs: callbacks, in queue order per connection. It ends when its
/// channel goes (the process is exiting, or the program destroyed it).
fn library_thread(lib: &Lib, ctx: &ThreadCtx) {
    let mut buf = [0u8; kernel_sim::PULSE_SIZE];
    loop {
        match ctx.msg_receive(lib.chid, &mut buf, None) {
            Ok(0) => {
                if let Some(p) = kernel_sim::Pulse::from_bytes(&buf) {
                    on_pulse(lib, ctx, &p);
                }
            }
            Ok(rcvid) => {
                let _ = ctx.msg_error(rcvid, Errno::ENOSYS);
            }
            // The wake timer (or a TimerTimeout a callback armed and left unused).
            Err(Errno::ETIMEDOUT) => {}
            Err(_) => return,
        }
        run_jobs(lib, ctx);
    }
}

/// A pulse on the library's channel. One pulse may stand for several events (the kernel
/// sends one `'P'` until it is handled, and a timer's expiries may come as one `'T'`): the
/// handling looks at the state, not at the count of pulses.
fn on_pulse(lib: &Lib, ctx: &ThreadCtx, p: &kernel_sim::Pulse) {
    match p.code {
        CODE_TAKEN => {
            if let Ok(conn) = lib.conn(p.value_int()) {
                // Before reading `head`: either we see what the kernel took, or it pulses again.
                conn.queue.pulse_handled();
                // Everything taken so far; the callbacks run with the jobs, right after.
                conn.reap_to_library(lib, &mut conn.lock());
            }
        }
        CODE_TIMER => {
            if let Ok(conn) = lib.conn(p.value_int()) {
                on_timer(ctx, &conn);
            }
        }
        // 'J': the jobs, which run after every wake-up.
        _ => {}
    }
}

/// Runs the queued jobs until there are none (see [`Lib::wake`] for `busy` and the timer).
fn run_jobs(lib: &Lib, ctx: &ThreadCtx) {
    let mut jobs = lib.jobs();
    if jobs.wake_armed {
        // Awake: the timer has done its work.
        let _ = ctx.timer_settime(lib.wake_timer, 0, 0, 0);
        jobs.wake_armed = false;
    }
    loop {
        let Some(job) = jobs.queue.pop_front() else {
            jobs.busy = false;
            return;
        };
        jobs.busy = true;
        drop(jobs);
        run_job(ctx, job);
        jobs = lib.jobs();
    }
}

/// Runs one job. Callbacks are the program's code: each runs isolated, so that a panic in one
/// (reported through `tracing` and counted in the connection's `callback_panics`) neither stops
/// the callbacks after it nor ends the library thread, which the process's other callbacks, its
/// blocked puts and its time triggers all need.
fn run_job(ctx: &ThreadCtx, job: Job) {
    match job {
        Job::Callbacks { coid, counts, done } => {
            for (cb, err, buf, handle) in done {
                let Some(cb) = cb else { continue };
                // (The callback is moved in: dropping it may run the program's code too.)
                let ran = std::panic::catch_unwind(AssertUnwindSafe(move || cb(err, buf, handle)));
                counts.run.fetch_add(1, Ordering::Relaxed);
                if let Err(payload) = ran {
                    counts.panicked.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        coid,
                        handle,
                        err,
                        panic = panic_message(&*payload),
                        "an asyncmsg callback panicked; the library thread goes on"
                    );
                    drop_quietly(payload);
                }
            }
        }
        Job::Cleanup(what) => {
            // (A channel's recvbuf callback may run here.)
            if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(|| what.run(ctx))) {
                tracing::error!(
                    panic = panic_message(&*payload),
                    "an asyncmsg recvbuf callback panicked; the library thread goes on"
                );
                drop_quietly(payload);
            }
        }
    }
}

/// A panic's message, when it has one.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Drops a panic's payload, whose own drop may panic: that one is forgotten.
fn drop_quietly(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = std::panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

/// The time trigger's timer expired: trigger the current batch if it is `trigger_time` old;
/// if it is younger (an earlier batch went by the count trigger or a flush since the timer was
/// armed), arm the timer again for the rest of its time.
fn on_timer(ctx: &ThreadCtx, conn: &Conn) {
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
    if let Some(t) = conn.timer {
        if !conn.timer_armed.swap(true, Ordering::AcqRel)
            && !arm_timer(ctx, conn, &st, t, period - age)
        {
            conn.timer_armed.store(false, Ordering::Release);
        }
    }
}

/// A trigger: everything queued is handed to the kernel (one kernel entry).
fn trigger(ctx: &ThreadCtx, conn: &Conn) -> KResult<u32> {
    conn.lock().untriggered = 0;
    trigger_now(ctx, conn)
}

/// The kernel entry of a trigger; the caller has reset `untriggered`.
fn trigger_now(ctx: &ThreadCtx, conn: &Conn) -> KResult<u32> {
    conn.kernel_entries.fetch_add(1, Ordering::Relaxed);
    conn.triggers.fetch_add(1, Ordering::Relaxed);
    // (By queue: should a concurrent detach have freed the coid and an attach reused it, the
    // kernel refuses instead of triggering the other connection.)
    ctx.msg_send_async_on(conn.coid, &conn.queue)
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------- channels

/// `asyncmsg_channel_create(flags, mode, buffer_size, max_num_buffer, ev, recvbuf_callback)`:
/// an asyncmsg channel. Receives take up to `max_num_buffer` messages of at most `buffer_size`
/// bytes each. `flags` may hold `_NTO_CHF_ASYNC_NONBLOCK` (asyncmsg_get returns EAGAIN instead
/// of blocking). `ev` is delivered to the calling thread when messages become available on an
/// empty channel. `mode` is accepted for QNX's signature (there are no permissions here).
/// EINVAL bad flags, zero sizes, a `buffer_size` of 2^32 - 1 or more; EAGAIN no channel left.
pub fn asyncmsg_channel_create(
    flags: u32,
    mode: u32,
    buffer_size: usize,
    max_num_buffer: u32,
    ev: Option<&SigEvent>,
    recvbuf_callback: Option<RecvBufCallback>,
) -> KResult<i32> {
    let _ = mode;
    with_current(|c| {
        let lib = lib_start(c)?;
        let chid = c.async_channel_create(flags, buffer_size, max_num_buffer, ev)?;
        let rc = Arc::new(RecvChan {
            destroyed: AtomicBool::new(false),
            buffer_size,
            max_num_buffer,
            arenas: Mutex::new(Vec::new()),
            recvbuf: recvbuf_callback,
        });
        lib.chans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(chid, rc);
        Ok(chid)
    })
}

/// `asyncmsg_channel_destroy(chid)`: destroys the channel (blocked receivers get ESRCH, blocked
/// senders' puts and flushes EBADF) and frees its cached receive buffers (through the
/// recvbuf callback if it had one). EINVAL unknown chid.
pub fn asyncmsg_channel_destroy(chid: i32) -> KResult<()> {
    let mut left = Leftover::default();
    let r = with_current(|c| channel_destroy_in(c, chid, &mut left));
    left.finish();
    r
}

/// A channel destroy, but for giving the cached arenas back to the recvbuf callback: they are
/// left in `left`.
fn channel_destroy_in(c: &ThreadCtx, chid: i32, left: &mut Leftover) -> KResult<()> {
    let lib = lib_of(c).map_err(|_| Errno::EINVAL)?;
    let rc = lib
        .chans
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&chid)
        .ok_or(Errno::EINVAL)?;
    c.channel_destroy(chid)?;
    let arenas: Vec<Vec<u8>> = {
        let mut cache = rc.arenas.lock().unwrap_or_else(|p| p.into_inner());
        rc.destroyed.store(true, Ordering::Release);
        cache.drain(..).map(|(a, _)| a).collect()
    };
    left.arenas = Some((rc, arenas));
    Ok(())
}

/// What a clean-up leaves to do once no lock of the library is held, as both may run the
/// program's code: arenas to give back to a channel's recvbuf callback, and a connection whose
/// last reference may be the one to its callback.
#[derive(Default)]
struct Leftover {
    arenas: Option<(Arc<RecvChan>, Vec<Vec<u8>>)>,
    conn: Option<Arc<Conn>>,
}

impl Leftover {
    fn finish(self) {
        if let Some((rc, arenas)) = self.arenas {
            if let Some(cb) = &rc.recvbuf {
                cb(RecvBufOp::Free(arenas));
            }
        }
        drop(self.conn);
    }
}

/// A batch of messages from [`asyncmsg_get`]. Dropping it (or [`asyncmsg_free`]) gives its
/// buffers back to the channel for the next batch.
pub struct AsyncBatch {
    n: usize,
    arena: Vec<u8>,
    hdrs: Vec<AsyncGetHeader>,
    chan: Arc<RecvChan>,
}

impl std::fmt::Debug for AsyncBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncBatch")
            .field("messages", &self.n)
            .finish()
    }
}

/// One message of a batch (`struct _asyncmsg_get_header`).
#[derive(Debug, Clone, Copy)]
pub struct AsyncMsg<'a> {
    /// Who sent it (pid, chid, coid, scoid), `msglen` (bytes here), `srcmsglen` (bytes sent).
    pub info: MsgInfo,
    /// 0, or this message's error (EMSGSIZE: longer than the channel's buffer size; no data).
    pub err: i32,
    /// The message.
    pub data: &'a [u8],
}

impl AsyncBatch {
    /// Messages in the batch.
    #[inline]
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Message `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<AsyncMsg<'_>> {
        let h = self.hdrs[..self.n].get(i)?;
        let o = h.offset as usize;
        Some(AsyncMsg {
            info: h.info,
            err: h.err,
            data: &self.arena[o..o + h.len as usize],
        })
    }

    /// The messages, in the order they were taken.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = AsyncMsg<'_>> + '_ {
        (0..self.n).filter_map(|i| self.get(i))
    }
}

impl Drop for AsyncBatch {
    fn drop(&mut self) {
        let arena = std::mem::take(&mut self.arena);
        let hdrs = std::mem::take(&mut self.hdrs);
        let mut cache = self.chan.arenas.lock().unwrap_or_else(|p| p.into_inner());
        if !self.chan.destroyed.load(Ordering::Acquire) {
            cache.push((arena, hdrs));
            return;
        }
        drop(cache);
        // The channel is gone: the arena goes back to whoever allocated it.
        if let Some(cb) = &self.chan.recvbuf {
            cb(RecvBufOp::Free(vec![arena]));
        }
    }
}

/// `asyncmsg_get(chid)`: up to `max_num_buffer` messages in one kernel entry, per-connection
/// FIFO, round-robin across connections. Blocks (RECEIVE-blocked; TimerTimeout applies) while
/// none are ready, unless the channel is `_NTO_CHF_ASYNC_NONBLOCK` (EAGAIN). EBADF unknown
/// channel; ENOMEM the recvbuf callback gave no buffer.
pub fn asyncmsg_get(chid: i32) -> KResult<AsyncBatch> {
    with_current(|c| {
        let lib = lib_of(c)?;
        let chan = lib.chan(chid)?;
        let cached = chan.arenas.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let (mut arena, mut hdrs) = match cached {
            Some(a) => a,
            None => {
                let (bufsize, num) = (chan.buffer_size, chan.max_num_buffer as usize);
                let total = bufsize.checked_mul(num).ok_or(Errno::ENOMEM)?;
                let arena = match &chan.recvbuf {
                    Some(cb) => cb(RecvBufOp::Alloc {
                        bufsize,
                        num_bufs: num,
                    })
                    .filter(|a| a.len() >= total)
                    .ok_or(Errno::ENOMEM)?,
                    None => zeroed(total, 0u8)?,
                };
                (arena, zeroed(num, AsyncGetHeader::default())?)
            }
        };
        match c.msg_receive_async(chid, &mut arena, &mut hdrs) {
            Ok(n) => Ok(AsyncBatch {
                n,
                arena,
                hdrs,
                chan,
            }),
            Err(e) => {
                chan.arenas
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((arena, hdrs));
                Err(e)
            }
        }
    })
}

/// `n` copies of `v`, or ENOMEM when the memory cannot be had (instead of aborting).
fn zeroed<T: Clone>(n: usize, v: T) -> KResult<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
    out.resize(n, v);
    Ok(out)
}

/// `asyncmsg_free(batch)`: gives a batch's buffers back (what dropping it does).
pub fn asyncmsg_free(batch: AsyncBatch) {
    drop(batch);
}

/// `asyncmsg_malloc(size)`: a buffer of `size` bytes to put. ENOMEM beyond 2 GiB, as QNX
/// documents.
///
/// Like QNX's (a plain `malloc`), it does not promise what the bytes hold: a new buffer is
/// zeroed, a recycled one may still hold an earlier message of this process. Buffers of up to
/// 64 KiB come from the calling thread's pool when it has one: the library gives a buffer back
/// to the pool of the thread that releases its slot, once a receiver took the message and no
/// callback is to receive it, so a producer that puts without callbacks allocates nothing in its
/// steady state. Any `Vec<u8>` may be put; buffers from here merely avoid the allocator.
#[inline]
pub fn asyncmsg_malloc(size: usize) -> KResult<Vec<u8>> {
    match malloc_pooled(size) {
        Some(v) => Ok(v),
        None => malloc_slow(size),
    }
}

/// [`asyncmsg_malloc`]'s common case: a buffer of the right class in the calling thread's pool,
/// filled under its current binding.
#[inline(always)]
fn malloc_pooled(size: usize) -> Option<Vec<u8>> {
    let k = BufPool::class_for(size)?;
    let epoch = crate::current::epoch();
    BUF_POOL
        .try_with(|pool| {
            let mut pool = pool.try_borrow_mut().ok()?;
            if pool.epoch != epoch {
                return None;
            }
            let mut v = pool.classes[k].pop()?;
            pool.bytes -= v.capacity();
            if v.len() >= size {
                v.truncate(size);
            } else {
                v.resize(size, 0);
            }
            Some(v)
        })
        .ok()
        .flatten()
}

/// [`asyncmsg_malloc`] when the pool cannot serve: a new buffer (or ENOMEM), after emptying a
/// pool filled under another binding.
#[inline(never)]
fn malloc_slow(size: usize) -> KResult<Vec<u8>> {
    if size > (2usize << 30) {
        return Err(Errno::ENOMEM);
    }
    if BufPool::class_for(size).is_none() {
        // Too big to pool: calloc's lazily zeroed pages, as before the pool.
        return Ok(vec![0u8; size]);
    }
    let epoch = crate::current::epoch();
    let pooled = BUF_POOL
        .try_with(|pool| {
            let mut pool = pool.try_borrow_mut().ok()?;
            pool.enter(epoch);
            pool.take(size)
        })
        .ok()
        .flatten();
    let mut v = match pooled {
        Some(v) => v,
        None => BufPool::fresh(size)?,
    };
    if v.len() >= size {
        v.truncate(size);
    } else {
        v.resize(size, 0);
    }
    Ok(v)
}

/// Recycled send buffers, by size class: class `k` holds buffers of capacity `2^k` up to
/// `2^(k+1) - 1` (`MIN_SHIFT ≤ k ≤ MAX_SHIFT`), each class at most `PER_CLASS` of them and the
/// pool at most `MAX_BYTES` in all. One per thread (no locking), and per binding: a thread
/// that binds to another process starts with an empty pool, so that a recycled buffer never
/// holds another process's message.
#[derive(Debug)]
struct BufPool {
    classes: [Vec<Vec<u8>>; (BufPool::MAX_SHIFT - BufPool::MIN_SHIFT + 1) as usize],
    bytes: usize,
    /// The binding epoch ([`crate::current::epoch`]) the buffers were filled under.
    epoch: u64,
}

impl BufPool {
    const fn new() -> BufPool {
        BufPool {
            classes: [const { Vec::new() }; (BufPool::MAX_SHIFT - BufPool::MIN_SHIFT + 1) as usize],
            bytes: 0,
            epoch: 0,
        }
    }

    /// Empties the pool if the thread's binding changed since it was filled.
    #[inline]
    fn enter(&mut self, epoch: u64) {
        if self.epoch != epoch {
            self.classes.iter_mut().for_each(Vec::clear);
            self.bytes = 0;
            self.epoch = epoch;
        }
    }

    const MIN_SHIFT: u32 = 4;
    const MAX_SHIFT: u32 = 16;
    const PER_CLASS: usize = 4096;
    const MAX_BYTES: usize = 8 << 20;

    /// The class that serves a request of `size` bytes (`None`: too big to pool).
    #[inline]
    fn class_for(size: usize) -> Option<usize> {
        // ceil(log2(size)), at least MIN_SHIFT.
        let shift = (usize::BITS - size.saturating_sub(1).leading_zeros()).max(Self::MIN_SHIFT);
        (shift <= Self::MAX_SHIFT).then(|| (shift - Self::MIN_SHIFT) as usize)
    }

    /// A new empty buffer for `size` bytes: capacity rounded up to its class, so that it can
    /// come back to the pool. ENOMEM when the memory cannot be had.
    fn fresh(size: usize) -> KResult<Vec<u8>> {
        let cap = Self::class_for(size).map_or(size, |k| 1usize << (k as u32 + Self::MIN_SHIFT));
        let mut v = Vec::new();
        v.try_reserve_exact(cap).map_err(|_| Errno::ENOMEM)?;
        Ok(v)
    }

    /// A pooled buffer able to hold `size` bytes (with its old contents).
    #[inline]
    fn take(&mut self, size: usize) -> Option<Vec<u8>> {
        let k = Self::class_for(size)?;
        let v = self.classes[k].pop()?;
        self.bytes -= v.capacity();
        Some(v)
    }

    /// Keeps `v` for a later [`BufPool::take`], or drops it (too small or too big to pool, its
    /// class full). When the byte budget is spent, buffers of larger classes make room for it
    /// (a producer that moved to smaller messages does not find its pool full of old ones).
    #[inline(always)]
    fn give(&mut self, v: Vec<u8>) {
        let cap = v.capacity();
        if !((1 << Self::MIN_SHIFT)..(2 << Self::MAX_SHIFT)).contains(&cap) {
            return;
        }
        // The largest class whose size the capacity covers.
        let k = (usize::BITS - 1 - cap.leading_zeros() - Self::MIN_SHIFT) as usize;
        if self.classes[k].len() >= Self::PER_CLASS {
            return;
        }
        let mut big = self.classes.len();
        while self.bytes + cap > Self::MAX_BYTES {
            // Evict from the largest non-empty class above ours; none: drop `v` instead.
            while big > k + 1 && self.classes[big - 1].is_empty() {
                big -= 1;
            }
            if big <= k + 1 {
                return;
            }
            if let Some(old) = self.classes[big - 1].pop() {
                self.bytes -= old.capacity();
            }
        }
        self.bytes += cap;
        self.classes[k].push(v);
    }
}

thread_local! {
    /// This thread's recycled send buffers (see [`asyncmsg_malloc`]).
    static BUF_POOL: RefCell<BufPool> = const { RefCell::new(BufPool::new()) };
}

// ---------------------------------------------------------------------------------- connections

/// `asyncmsg_connect_attach(nd, pid, chid, index, flags, attr)`: an asyncmsg connection (never
/// shared). `flags` may hold `_NTO_COF_NONBLOCK` (a full send queue fails puts with EAGAIN
/// instead of blocking). ENOREMOTE nd ≠ 0, ESRCH no such pid/chid, EINVAL not an asyncmsg
/// channel or bad flags, EAGAIN no connection or timer left.
pub fn asyncmsg_connect_attach(
    nd: u32,
    pid: i32,
    chid: i32,
    index: u32,
    flags: u32,
    attr: &AsyncConnAttr,
) -> KResult<i32> {
    with_current(|c| {
        let lib = lib_start(c)?;
        if attr.max_num_buffer > 1 << 16 {
            return Err(Errno::EINVAL);
        }
        let queue = Box::new(AsyncQueue::new(attr.max_num_buffer));
        // SAFETY: the queue is boxed (it never moves) and owned by the `Conn` below, which the
        // library keeps until asyncmsg_connect_detach has detached the connection; the buffers
        // pushed on it are owned by its slots until the kernel has taken them (`reap`).
        let coid = unsafe {
            c.async_connect_attach(
                nd,
                pid,
                chid,
                index,
                flags & !_NTO_COF_NONBLOCK,
                &queue,
                lib.notify_coid,
            )?
        };
        let timer = if attr.trigger_time.is_zero() {
            None
        } else {
            let ev = SigEvent::pulse(lib.notify_coid, PRIO_MAX, CODE_TIMER, coid);
            match c.timer_create(kernel_sim::abi::consts::CLOCK_MONOTONIC, Some(&ev)) {
                Ok(t) => Some(t),
                Err(e) => {
                    let _ = c.connect_detach(coid);
                    return Err(e);
                }
            }
        };
        let cap = queue.slot_count();
        let callbacks = attr.call_back.is_some();
        if callbacks {
            queue.set_flags(AQ_WANT_PULSE);
        }
        let conn = Arc::new(Conn {
            coid,
            lib: Arc::downgrade(&lib),
            detached: AtomicBool::new(false),
            queue,
            state: ProducerLock::new(ConnState {
                attr: attr.clone(),
                slots: Slots::new(cap),
                callbacks,
                untriggered: 0,
                batch_start: std::time::Instant::now(),
            }),
            nonblock: flags & _NTO_COF_NONBLOCK != 0,
            timer,
            timer_armed: AtomicBool::new(false),
            msgs_put: AtomicU64::new(0),
            kernel_entries: AtomicU64::new(0),
            triggers: AtomicU64::new(0),
            cb_counts: Arc::default(),
        });
        {
            let mut conns = lib.conns.lock().unwrap_or_else(|p| p.into_inner());
            if !lib.ended.load(Ordering::Acquire) {
                conns.insert(coid, conn);
                return Ok(coid);
            }
        }
        // The library thread left meanwhile (its process is exiting): it could not detach
        // this one, so we do.
        conn.detached.store(true, Ordering::Release);
        let _ = c.connect_detach(coid);
        if let Some(t) = conn.timer {
            let _ = c.timer_destroy(t);
        }
        Err(Errno::EBADF)
    })
}

/// `asyncmsg_connect_detach(coid)`: breaks the connection. Messages receivers have taken get
/// their callbacks with 0 (if not run yet); messages still queued are discarded and their
/// callbacks run with EBADF, on the library thread, after them. EINVAL unknown coid.
pub fn asyncmsg_connect_detach(coid: i32) -> KResult<()> {
    let mut left = Leftover::default();
    let r = with_current(|c| detach_in(c, coid, &mut left));
    left.finish();
    r
}

/// A detach; the connection is left in `left`, to be dropped once no lock is held.
fn detach_in(c: &ThreadCtx, coid: i32, left: &mut Leftover) -> KResult<()> {
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
    let detached = c.connect_detach(coid);
    if let Some(t) = conn.timer {
        let _ = c.timer_destroy(t);
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

/// `asyncmsg_connect_attr(coid, old_attr, new_attr)`: returns the attributes and, with
/// `new_attr`, changes them (as in QNX, `max_num_buffer` keeps the queue's original size;
/// a new `trigger_time` applies if the connection was attached with one). EINVAL unknown coid.
pub fn asyncmsg_connect_attr(
    coid: i32,
    new_attr: Option<&AsyncConnAttr>,
) -> KResult<AsyncConnAttr> {
    with_current(|c| {
        let lib = lib_of(c).map_err(|_| Errno::EINVAL)?;
        let conn = lib.conn(coid).map_err(|_| Errno::EINVAL)?;
        let mut st = conn.lock();
        let old = st.attr.clone();
        if let Some(a) = new_attr {
            st.attr = a.clone();
            if a.call_back.is_some() {
                st.callbacks = true;
                conn.queue.set_flags(AQ_WANT_PULSE);
            }
        }
        Ok(old)
    })
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

fn put(
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
        if st.untriggered > 0 && conn.queue.pending() <= st.untriggered {
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
    // Build the kernel's view of the message: the flat buffer, or an iov array over the parts.
    let (desc, iovs) = match &buf {
        AsyncBuf::Flat(v) => (
            MsgDesc {
                iov: Iov::from_slice(v),
                parts: 0,
            },
            None,
        ),
        AsyncBuf::Parts(p) => {
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
    // SAFETY: we hold the connection's lock (one producer); the buffer (and iov array) are
    // moved into the slot below and stay there, their heap data unmoved, until a reap
    // releases the slot.
    let Some(ctr) = (unsafe { conn.queue.push(desc) }) else {
        *slot = Some(buf);
        return Err(Errno::EAGAIN);
    };
    st.slots
        .set(conn.queue.slot_index(ctr), buf, iovs, handle, cb);
    queued(conn, st);
    Ok(())
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
    if (count == 0 || st.untriggered < count) && conn.timer.is_none() {
        return;
    }
    triggers_due(conn, st);
}

/// The rarer half of [`queued`] (kept out of line so that the common put stays small): fires
/// the count trigger, or starts the batch's clock and arms the time trigger.
#[inline(never)]
fn triggers_due(conn: &Conn, mut st: ProducerGuard<'_, ConnState>) {
    // (Only the time trigger measures a batch's age.)
    if st.untriggered == 1 && conn.timer.is_some() {
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
    } else if let Some(t) = conn.timer.filter(|_| !time.is_zero()) {
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
    ctx.timer_settime(t, 0, ns(after).max(1), 0).is_ok()
}

/// The common put, tried first: a flat buffer without a callback, on the connection this thread
/// last put on, with room, and no callbacks pending. Anything else (a cache miss, a full or dead
/// queue, callbacks) hands the buffer back for the general path, which also reports errors.
#[inline(always)]
fn put_fast(coid: i32, buf: Vec<u8>, handle: u32) -> Result<(), Vec<u8>> {
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
        let desc = MsgDesc {
            iov: Iov::from_slice(&buf),
            parts: 0,
        };
        // SAFETY: as in `put_on`: we hold the connection's lock (one producer); the buffer is
        // moved into the slot below, its heap data unmoved, until a reap releases the slot.
        let Some(ctr) = (unsafe { conn.queue.push(desc) }) else {
            return Err(buf);
        };
        st.slots.set_flat(conn.queue.slot_index(ctr), buf, handle);
        queued(conn, st);
        Ok(())
    }
}

/// `asyncmsg_put(coid, buff, size, handle, call_back)`: queues `buf` without entering the
/// kernel (unless this put reaches the count trigger, or starts a batch's time trigger).
/// The library keeps the buffer until the callback (`call_back`, else the attribute's) hands it
/// back. A full queue blocks, or fails with EAGAIN under `_NTO_COF_NONBLOCK`; EBADF unknown coid
/// or the channel is gone. On failure the buffer comes back in the error.
#[inline]
pub fn asyncmsg_put(
    coid: i32,
    buf: Vec<u8>,
    handle: u32,
    call_back: Option<AsyncCallback>,
) -> Result<(), AsyncPutError> {
    let buf = match call_back {
        None => match put_fast(coid, buf, handle) {
            Ok(()) => return Ok(()),
            Err(buf) => buf,
        },
        Some(_) => buf,
    };
    put(coid, AsyncBuf::Flat(buf), handle, call_back, None)
}

/// `asyncmsg_putv(coid, iov, parts, handle, call_back)`: a gathered message; the kernel copies
/// the parts straight into the receiver's buffer.
pub fn asyncmsg_putv(
    coid: i32,
    parts: Vec<Vec<u8>>,
    handle: u32,
    call_back: Option<AsyncCallback>,
) -> Result<(), AsyncPutError> {
    put(coid, AsyncBuf::Parts(parts), handle, call_back, None)
}

/// [`asyncmsg_put`] that waits at most `timeout` for room in a full queue (then ETIMEDOUT).
pub fn asyncmsg_put_timeout(
    coid: i32,
    buf: Vec<u8>,
    handle: u32,
    call_back: Option<AsyncCallback>,
    timeout: Duration,
) -> Result<(), AsyncPutError> {
    put(coid, AsyncBuf::Flat(buf), handle, call_back, Some(timeout))
}

fn flush(coid: i32, mode: i32, timeout: Option<Duration>) -> KResult<()> {
    with_current(|c| {
        let lib = lib_of(c)?;
        let conn = lib.conn(coid)?;
        trigger(c, &conn)?;
        if mode & ASYNCMSG_FLUSH_NONBLOCK != 0 {
            return Ok(());
        }
        let deadline = timeout.map(Deadline::after);
        if conn.queue.wait_until(|q| q.pending() == 0, deadline) {
            Ok(())
        } else if conn.queue.flags() & AQ_DEAD != 0 {
            Err(Errno::EBADF)
        } else {
            Err(Errno::ETIMEDOUT)
        }
    })
}

/// `asyncmsg_flush(coid, mode)`: triggers delivery of everything queued (one kernel entry) and,
/// unless `mode` is [`ASYNCMSG_FLUSH_NONBLOCK`], waits until a receiver has taken every
/// message. EBADF unknown coid, or the channel went away while waiting.
pub fn asyncmsg_flush(coid: i32, mode: i32) -> KResult<()> {
    flush(coid, mode, None)
}

/// [`asyncmsg_flush`] that waits at most `timeout` (then ETIMEDOUT; the messages stay queued).
pub fn asyncmsg_flush_timeout(coid: i32, timeout: Duration) -> KResult<()> {
    flush(coid, 0, Some(timeout))
}

/// A connection's counters, from the library and the kernel together.
pub fn asyncmsg_connection_stats(coid: i32) -> KResult<AsyncConnStats> {
    with_current(|c| {
        let lib = lib_of(c)?;
        let conn = lib.conn(coid)?;
        let k = c.async_conn_counters(coid).unwrap_or_default();
        Ok(AsyncConnStats {
            msgs_put: conn.msgs_put.load(Ordering::Relaxed),
            kernel_entries: conn.kernel_entries.load(Ordering::Relaxed),
            triggers: conn.triggers.load(Ordering::Relaxed),
            batches: k.batches,
            msgs_taken: k.msgs_taken,
            callbacks: conn.cb_counts.run.load(Ordering::Relaxed),
            callback_panics: conn.cb_counts.panicked.load(Ordering::Relaxed),
        })
    })
}

// ---------------------------------------------------------------------------------- typed handles

/// An asyncmsg channel owned by a simulated process; destroyed on drop.
#[derive(Debug)]
pub struct AsyncChannel {
    chid: i32,
    kernel: Kernel,
    pid: Pid,
}

impl AsyncChannel {
    /// `asyncmsg_channel_create` in the calling thread's process.
    pub fn create(
        flags: u32,
        buffer_size: usize,
        max_num_buffer: u32,
        ev: Option<&SigEvent>,
    ) -> KResult<AsyncChannel> {
        let chid = asyncmsg_channel_create(flags, 0o600, buffer_size, max_num_buffer, ev, None)?;
        with_current(|c| {
            Ok(AsyncChannel {
                chid,
                kernel: c.kernel().clone(),
                pid: c.process(),
            })
        })
    }

    /// Its chid.
    pub fn chid(&self) -> i32 {
        self.chid
    }

    /// `asyncmsg_get`: the next batch (blocks unless the channel is non-blocking).
    pub fn get(&self) -> KResult<AsyncBatch> {
        asyncmsg_get(self.chid)
    }

    /// `asyncmsg_get` bounded by `timeout` (ETIMEDOUT).
    pub fn get_timeout(&self, timeout: Duration) -> KResult<AsyncBatch> {
        with_current(|c| {
            c.timer_timeout(
                kernel_sim::abi::consts::CLOCK_MONOTONIC,
                _NTO_TIMEOUT_RECEIVE,
                Some(ns(timeout)),
            )
        })
        .map(drop)?;
        asyncmsg_get(self.chid)
    }
}

impl Drop for AsyncChannel {
    fn drop(&mut self) {
        clean_up(&self.kernel, self.pid, Cleanup::Destroy(self.chid));
    }
}

/// An asyncmsg connection owned by a simulated process; detached on drop (queued messages are
/// discarded and reported to their callbacks with EBADF: flush first to deliver them).
#[derive(Debug)]
pub struct AsyncConnection {
    coid: i32,
    kernel: Kernel,
    pid: Pid,
}

impl AsyncConnection {
    /// A side-channel asyncmsg connection from the calling thread's process to `chid` of `pid`.
    pub fn attach(pid: i32, chid: i32, attr: &AsyncConnAttr) -> KResult<AsyncConnection> {
        Self::attach_with(pid, chid, 0, attr)
    }

    /// As [`AsyncConnection::attach`], with connect flags (`_NTO_COF_NONBLOCK`).
    pub fn attach_with(
        pid: i32,
        chid: i32,
        flags: u32,
        attr: &AsyncConnAttr,
    ) -> KResult<AsyncConnection> {
        let coid =
            asyncmsg_connect_attach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, flags, attr)?;
        with_current(|c| {
            Ok(AsyncConnection {
                coid,
                kernel: c.kernel().clone(),
                pid: c.process(),
            })
        })
    }

    /// Its coid.
    pub fn coid(&self) -> i32 {
        self.coid
    }

    /// `asyncmsg_put`.
    pub fn put(
        &self,
        buf: Vec<u8>,
        handle: u32,
        call_back: Option<AsyncCallback>,
    ) -> Result<(), AsyncPutError> {
        asyncmsg_put(self.coid, buf, handle, call_back)
    }

    /// `asyncmsg_putv`.
    pub fn putv(
        &self,
        parts: Vec<Vec<u8>>,
        handle: u32,
        call_back: Option<AsyncCallback>,
    ) -> Result<(), AsyncPutError> {
        asyncmsg_putv(self.coid, parts, handle, call_back)
    }

    /// `asyncmsg_put` waiting at most `timeout` for room.
    pub fn put_timeout(
        &self,
        buf: Vec<u8>,
        handle: u32,
        call_back: Option<AsyncCallback>,
        timeout: Duration,
    ) -> Result<(), AsyncPutError> {
        asyncmsg_put_timeout(self.coid, buf, handle, call_back, timeout)
    }

    /// `asyncmsg_flush(coid, 0)`: deliver and wait until the receiver has taken everything.
    pub fn flush(&self) -> KResult<()> {
        asyncmsg_flush(self.coid, 0)
    }

    /// Flush, waiting at most `timeout`.
    pub fn flush_timeout(&self, timeout: Duration) -> KResult<()> {
        asyncmsg_flush_timeout(self.coid, timeout)
    }

    /// The connection's counters.
    pub fn stats(&self) -> KResult<AsyncConnStats> {
        asyncmsg_connection_stats(self.coid)
    }

    /// `asyncmsg_connect_attr`: the attributes, optionally replaced.
    pub fn attr(&self, new_attr: Option<&AsyncConnAttr>) -> KResult<AsyncConnAttr> {
        asyncmsg_connect_attr(self.coid, new_attr)
    }
}

impl Drop for AsyncConnection {
    fn drop(&mut self) {
        clean_up(&self.kernel, self.pid, Cleanup::Detach(self.coid));
    }
}

/// A handle's clean-up.
#[derive(Clone, Copy, Debug)]
enum Cleanup {
    /// `asyncmsg_connect_detach(coid)`.
    Detach(i32),
    /// `asyncmsg_channel_destroy(chid)`.
    Destroy(i32),
}

impl Cleanup {
    /// Runs it as thread `c`, but for what it leaves to do outside any lock (`left`).
    fn run_in(self, c: &ThreadCtx, left: &mut Leftover) {
        let _ = match self {
            Cleanup::Detach(coid) => detach_in(c, coid, left),
            Cleanup::Destroy(chid) => channel_destroy_in(c, chid, left),
        };
    }

    /// Runs it all as thread `c`.
    fn run(self, c: &ThreadCtx) {
        let mut left = Leftover::default();
        self.run_in(c, &mut left);
        left.finish();
    }
}

/// Cleans up a handle of process `pid` on `kernel`, as a thread of that process (its objects
/// are named in its tables): the calling thread if it is one; otherwise, for a thread of
/// another process or of none, the library's helper thread, one kernel thread per process that
/// stays until the library ends. (A kernel thread attached for the clean-up alone would end
/// right after, and its end would send the process a thread-death pulse for a thread it never
/// made.) The clean-up is done when this returns, unless no helper could be attached (the
/// thread pool is full): the library thread then does it at its next wake-up.
fn clean_up(kernel: &Kernel, pid: Pid, what: Cleanup) {
    if crate::current::as_member(kernel, pid, |c| what.run(c)).is_ok() {
        return;
    }
    let Some(lib) = lib_in(kernel, pid.pid) else {
        // No library (the program ended it by destroying its channel; its connections went
        // with it, an asyncmsg channel may remain): a thread attached for the purpose.
        crate::current::cleanup_in(kernel, pid, |c| {
            what.run(c);
            Ok(())
        });
        return;
    };
    let mut left = Leftover::default();
    if lib.as_helper(|c| what.run_in(c, &mut left)).is_none() {
        // (It cannot be woken from here: that takes a thread of the process.)
        lib.push(Job::Cleanup(what));
    }
    drop(lib);
    left.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// The library's wake-up pulses this thread sends fail, as when the pulse pool is
        /// exhausted (which a pulse to a RECEIVE-blocked thread never finds: the kernel hands
        /// it over without taking one from the pool).
        pub(super) static NO_WAKE_PULSE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    #[test]
    fn the_wake_timer_wakes_the_library_thread_when_its_pulse_cannot_be_sent() {
        use crate::Process;
        use std::sync::mpsc;
        let k = Kernel::new(kernel_sim::Config::default()).unwrap();
        let (recv, send) = (Process::new_in(&k).unwrap(), Process::new_in(&k).unwrap());
        let chid = recv
            .spawn(|| asyncmsg_channel_create(0, 0o600, 64, 8, None, None))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        send.bind_current_thread(10).unwrap();
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let a = AsyncConnAttr {
            call_back: Some(Arc::new(move |err, _, handle| {
                let _ = tx.lock().unwrap().send((err, handle));
            })),
            trigger_num_msg: 0,
            ..AsyncConnAttr::default()
        };
        let coid = asyncmsg_connect_attach(0, recv.pid(), chid, _NTO_SIDE_CHANNEL, 0, &a).unwrap();
        for i in 0..3 {
            asyncmsg_put(coid, vec![i as u8; 8], i, None).unwrap();
        }
        let lib = with_current(lib_of).unwrap();
        let (pid, tid, lib_chid) = (send.pid(), lib.tid, lib.chid);
        let blocked = || {
            k.thread_info(pid, tid).map(|i| i.state)
                == Ok(crate::ThreadState::Receive { chid: lib_chid })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !blocked() {
            assert!(
                std::time::Instant::now() < deadline,
                "the library thread never blocked"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        // The detach queues three EBADF callbacks and cannot pulse the library thread.
        NO_WAKE_PULSE.with(|n| n.set(true));
        asyncmsg_connect_detach(coid).unwrap();
        NO_WAKE_PULSE.with(|n| n.set(false));
        let got: Vec<(i32, u32)> = (0..3)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(10))
                    .expect("a callback")
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Errno::EBADF.0, 0),
                (Errno::EBADF.0, 1),
                (Errno::EBADF.0, 2)
            ]
        );
        // Awake, the library thread disarmed its timer and blocks again.
        while !blocked() {
            assert!(
                std::time::Instant::now() < deadline,
                "the library thread never blocked again"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            with_current(|c| c.timer_info(lib.wake_timer))
                .unwrap()
                .remaining,
            0
        );
        assert!(!lib.jobs().wake_armed);
        drop(lib);
        drop(crate::current::unbind());
    }

    #[test]
    fn size_classes_round_up_to_powers_of_two() {
        assert_eq!(BufPool::class_for(0), Some(0));
        assert_eq!(BufPool::class_for(1), Some(0));
        assert_eq!(BufPool::class_for(16), Some(0));
        assert_eq!(BufPool::class_for(17), Some(1));
        assert_eq!(BufPool::class_for(64), Some(2));
        assert_eq!(BufPool::class_for(65), Some(3));
        assert_eq!(BufPool::class_for(64 << 10), Some(12));
        assert_eq!(BufPool::class_for((64 << 10) + 1), None);
        // A fresh buffer's capacity is its class's size, so it can come back to the pool.
        assert_eq!(BufPool::fresh(65).unwrap().capacity(), 128);
        assert_eq!(BufPool::fresh(100_000).unwrap().capacity(), 100_000);
        // Up to twice the largest class's size, a buffer serves that class; beyond, it is
        // dropped.
        let mut pool = BufPool::new();
        pool.give(Vec::with_capacity(1 << 20));
        assert_eq!(pool.bytes, 0);
        pool.give(BufPool::fresh(100_000).unwrap());
        assert_eq!(pool.bytes, 100_000);
        assert_eq!(pool.take(64 << 10).map(|v| v.capacity()), Some(100_000));
    }

    #[test]
    fn pool_gives_back_what_it_took_and_stays_bounded() {
        let mut pool = BufPool::new();
        let mut v = BufPool::fresh(64).unwrap();
        v.resize(64, 7);
        let addr = v.as_ptr();
        pool.give(v);
        assert_eq!(pool.bytes, 64);
        assert!(
            pool.take(128).is_none(),
            "a 64-byte buffer cannot serve 128 bytes"
        );
        let again = pool
            .take(33)
            .expect("the 64-byte buffer serves 33..=64 bytes");
        assert_eq!(again.as_ptr(), addr);
        assert_eq!(pool.bytes, 0);
        // Too small to pool: dropped.
        pool.give(Vec::with_capacity(8));
        assert_eq!(pool.bytes, 0);
        // At most PER_CLASS per class.
        for _ in 0..BufPool::PER_CLASS + 10 {
            pool.give(BufPool::fresh(16).unwrap());
        }
        assert_eq!(pool.classes[0].len(), BufPool::PER_CLASS);
        // At most MAX_BYTES in all.
        let big = (64 << 10) as usize;
        for _ in 0..(BufPool::MAX_BYTES / big) + 10 {
            pool.give(BufPool::fresh(big).unwrap());
        }
        assert!(pool.bytes <= BufPool::MAX_BYTES);
        assert!(pool.classes[12].len() < BufPool::MAX_BYTES / big + 10);
        // The budget is spent: small buffers still come in, evicting big ones.
        let before = pool.classes[12].len();
        let mut small = BufPool::fresh(64).unwrap();
        small.resize(64, 1);
        pool.give(small);
        assert_eq!(pool.classes[2].len(), 1);
        assert_eq!(pool.classes[12].len(), before - 1);
        assert!(pool.bytes <= BufPool::MAX_BYTES);
        assert!(pool.take(64).is_some());
    }

    #[test]
    fn a_new_binding_empties_the_pool() {
        let mut pool = BufPool::new();
        pool.enter(1);
        pool.give(BufPool::fresh(64).unwrap());
        pool.enter(1);
        assert!(pool.take(64).is_some(), "same binding: kept");
        pool.give(BufPool::fresh(64).unwrap());
        pool.enter(2);
        assert_eq!(pool.bytes, 0);
        assert!(pool.take(64).is_none(), "another binding: emptied");
    }

    #[test]
    fn recycling_empties_every_column_of_mixed_slots_and_wraps_around_the_ring() {
        // Slots 6, 7, 0, 1 (a range that wraps a ring of 8): flat, gathered, flat with its own
        // callback, flat. Recycling 6..2 must empty all four, count no rich slot afterwards,
        // and give the pool every buffer (the gathered message's two parts included); slots
        // outside the range stay as they were.
        let mut slots = Slots::new(8);
        let mut pool = BufPool::new();
        let cb: AsyncCallback = Arc::new(|_, _, _| {});
        slots.set_flat(6, Vec::with_capacity(16), 6);
        slots.set(
            7,
            AsyncBuf::Parts(vec![Vec::with_capacity(16), Vec::with_capacity(32)]),
            None,
            7,
            None,
        );
        slots.set(0, AsyncBuf::Flat(Vec::with_capacity(16)), None, 0, Some(cb));
        slots.set_flat(1, Vec::with_capacity(64), 1);
        slots.set_flat(2, Vec::with_capacity(16), 2);
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
        slots.set_flat(7, Vec::with_capacity(16), 7);
        slots.set_flat(0, Vec::with_capacity(16), 0);
        slots.recycle(7, 1, &mut pool);
        assert_eq!(pool.classes.iter().map(Vec::len).sum::<usize>(), 7);
        assert_eq!((slots.bufs[7].capacity(), slots.bufs[0].capacity()), (0, 0));
    }

    #[test]
    fn malloc_reuses_a_recycled_buffer_at_the_asked_length() {
        let mut v = asyncmsg_malloc(40).unwrap();
        assert_eq!(v, vec![0u8; 40]);
        v.iter_mut().for_each(|b| *b = 9);
        let addr = v.as_ptr();
        BUF_POOL.with(|p| p.borrow_mut().give(v));
        // The 64-byte class serves 33..=64 bytes.
        let w = asyncmsg_malloc(33).unwrap();
        assert_eq!((w.as_ptr(), w.len()), (addr, 33));
        BUF_POOL.with(|p| p.borrow_mut().give(w));
        // Longer than the old contents: the new bytes are zeroed.
        let x = asyncmsg_malloc(64).unwrap();
        assert_eq!(x.len(), 64);
        assert_eq!(x.as_ptr(), addr);
        assert!(x[..33].iter().all(|&b| b == 9) && x[33..].iter().all(|&b| b == 0));
    }
}
