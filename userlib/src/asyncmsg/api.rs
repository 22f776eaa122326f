//! The public calls on asyncmsg channels and connections (`asyncmsg_channel_create`,
//! `asyncmsg_connect_attach`, `asyncmsg_put`, `asyncmsg_flush`, ...) and the types they take and
//! return. Each call finds the calling process's library and connection and hands the work to
//! the file whose job it is: the put path and the detach are conn.rs's, the receive side
//! (`asyncmsg_get`) receive.rs's, the buffers pool.rs's.

use super::conn::{detach_in, put, put_fast, trigger, Conn, ConnState, Slots};
use super::library::{lib_of, lib_start, CODE_TIMER};
use super::producer_lock::ProducerLock;
use super::receive::{channel_destroy_in, RecvBufCallback, RecvBufOp, RecvChan};
use crate::current::with_current;
use crate::sys;
use kernel_sim::asyncq::{AsyncQueue, AQ_DEAD, AQ_WANT_PULSE};
use kernel_sim::consts::*;
use kernel_sim::types::SigEvent;
use kernel_sim::{Deadline, Errno, KResult};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `ASYNCMSG_FLUSH_NONBLOCK`: trigger delivery and return without waiting.
pub const ASYNCMSG_FLUSH_NONBLOCK: i32 = 1;

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
    /// A buffer from [`asyncmsg_malloc_shared`](super::asyncmsg_malloc_shared)
    /// (`asyncmsg_put_shared`).
    Shared(super::SharedBuf),
}

impl AsyncBuf {
    /// The flat buffer (a gathered message's parts concatenated).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            AsyncBuf::Flat(v) => v,
            AsyncBuf::Parts(p) => p.concat(),
            AsyncBuf::Shared(b) => b.to_vec(),
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

/// `asyncmsg_channel_create(flags, mode, buffer_size, max_num_buffer, ev, recvbuf_callback)`:
/// an asyncmsg channel. Receives take up to `max_num_buffer` messages of at most `buffer_size`
/// bytes each. `flags` may hold `_NTO_CHF_ASYNC_NONBLOCK` (asyncmsg_get returns EAGAIN instead
/// of blocking). `ev` is delivered to the calling thread when messages become available on an
/// empty channel. `mode` is accepted for QNX's signature (there are no permissions here).
/// EINVAL bad flags, zero sizes, a `buffer_size` of 2^32 - 1 or more, an `ev` this kernel could
/// not deliver (as for TimerCreate); EAGAIN no channel left.
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
        let chid = sys::async_channel_create(c, flags, buffer_size, max_num_buffer, ev)?;
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

/// What a clean-up leaves to do once no lock of the library is held, as both may run the
/// program's code: arenas to give back to a channel's recvbuf callback, and a connection whose
/// last reference may be the one to its callback.
#[derive(Default)]
pub(super) struct Leftover {
    pub(super) arenas: Option<(Arc<RecvChan>, Vec<Vec<u8>>)>,
    pub(super) conn: Option<Arc<Conn>>,
}

impl Leftover {
    pub(super) fn finish(self) {
        if let Some((rc, arenas)) = self.arenas {
            if let Some(cb) = &rc.recvbuf {
                cb(RecvBufOp::Free(arenas));
            }
        }
        drop(self.conn);
    }
}

/// `asyncmsg_connect_attach(nd, pid, chid, index, flags, attr)`: an asyncmsg connection (never
/// shared). `flags` may hold `_NTO_COF_NONBLOCK` (a full send queue fails puts with EAGAIN
/// instead of blocking). ENOREMOTE nd ≠ 0, ESRCH no such pid/chid, EINVAL not an asyncmsg
/// channel or bad flags, EAGAIN no connection or timer left. Should the process's library end
/// during the call (its channel destroyed by the program, or the process exiting), the attach
/// is made again with a new library, a few times at most (then EAGAIN).
pub fn asyncmsg_connect_attach(
    nd: u32,
    pid: i32,
    chid: i32,
    index: u32,
    flags: u32,
    attr: &AsyncConnAttr,
) -> KResult<i32> {
    for _ in 0..3 {
        if let Some(coid) = connect_attach_once(nd, pid, chid, index, flags, attr)? {
            return Ok(coid);
        }
    }
    Err(Errno::EAGAIN)
}

/// [`asyncmsg_connect_attach`] once: `None` if the library ended meanwhile (the connection is
/// undone).
fn connect_attach_once(
    nd: u32,
    pid: i32,
    chid: i32,
    index: u32,
    flags: u32,
    attr: &AsyncConnAttr,
) -> KResult<Option<i32>> {
    with_current(|c| {
        let lib = lib_start(c)?;
        if attr.max_num_buffer > 1 << 16 {
            return Err(Errno::EINVAL);
        }
        // In a kernel shared by programs the queue is in the region, where the kernel reads it
        // from whichever program receives; otherwise in our own memory.
        let (queue, region_owner) = if c.kernel().is_shared() {
            let q = c.async_queue_alloc(attr.max_num_buffer)?;
            (Box::new(q), Some((c.kernel().clone(), c.process())))
        } else {
            (Box::new(AsyncQueue::new(attr.max_num_buffer)), None)
        };
        let free_queue = |e: Errno| {
            if queue.in_region() {
                let _ = c.async_queue_free(&queue);
            }
            e
        };
        // SAFETY: the queue is boxed (it never moves) and owned by the `Conn` below, which the
        // library keeps until asyncmsg_connect_detach has detached the connection; the buffers
        // pushed on it are owned by its slots until the kernel has taken them (`reap`).
        let coid = unsafe {
            sys::async_connect_attach(
                c,
                nd,
                pid,
                chid,
                index,
                flags & !_NTO_COF_NONBLOCK,
                &queue,
                lib.notify_coid,
            )
            .map_err(free_queue)?
        };
        let timer = if attr.trigger_time.is_zero() {
            super::conn::NO_TIMER
        } else {
            match trigger_timer(c, &lib, coid) {
                Ok(t) => t,
                Err(e) => {
                    let _ = sys::connect_detach(c, coid);
                    return Err(free_queue(e));
                }
            }
        };
        let cap = queue.slot_count();
        let callbacks = attr.call_back.is_some();
        if callbacks {
            queue.set_flags(AQ_WANT_PULSE);
        }
        let heap = region_owner
            .as_ref()
            .and_then(|(k, p)| super::heap::SharedHeap::of(k, *p));
        let conn = Arc::new(Conn {
            coid,
            lib: Arc::downgrade(&lib),
            detached: AtomicBool::new(false),
            queue,
            heap: heap.clone(),
            region_owner,
            state: ProducerLock::new(ConnState {
                attr: attr.clone(),
                slots: Slots::new(cap, heap),
                callbacks,
                untriggered: 0,
                batch_start: std::time::Instant::now(),
            }),
            nonblock: flags & _NTO_COF_NONBLOCK != 0,
            timer: AtomicI32::new(timer),
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
                return Ok(Some(coid));
            }
        }
        // The library thread left meanwhile (its channel destroyed, or its process exiting):
        // it could not detach this one, so we do.
        conn.detached.store(true, Ordering::Release);
        let _ = sys::connect_detach(c, coid);
        if let Some(t) = conn.take_timer() {
            let _ = sys::timer_destroy(c, t);
        }
        Ok(None)
    })
}

/// A new timer for connection `coid`'s time trigger: it pulses `lib`'s thread.
fn trigger_timer(c: &kernel_sim::ThreadCtx, lib: &super::library::Lib, coid: i32) -> KResult<i32> {
    let ev = SigEvent::pulse(lib.notify_coid, PRIO_MAX, CODE_TIMER, coid);
    sys::timer_create(c, kernel_sim::abi::consts::CLOCK_MONOTONIC, Some(&ev))
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

/// `asyncmsg_connect_attr(coid, old_attr, new_attr)`: returns the attributes and, with
/// `new_attr`, changes them (as in QNX, `max_num_buffer` keeps the queue's original size; a
/// `trigger_time` takes effect from the next batch, on a connection attached without one too).
/// EINVAL unknown coid; EAGAIN no timer left for a time trigger asked for the first time (the
/// attributes are then left as they were).
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
            // A first time trigger: its timer is made now (under the lock a detach takes to
            // destroy it, after setting `detached`: one made here is either seen there, or not
            // made at all).
            if !a.trigger_time.is_zero()
                && conn.timer().is_none()
                && !conn.detached.load(Ordering::Acquire)
            {
                let t = trigger_timer(c, &lib, coid)?;
                conn.timer.store(t, Ordering::Release);
                // (The library thread's leaving takes timers without the lock: if it took the
                // connections meanwhile, this one is ours to destroy.)
                if lib.ended.load(Ordering::Acquire) {
                    if let Some(t) = conn.take_timer() {
                        let _ = sys::timer_destroy(c, t);
                    }
                }
            }
            st.attr = a.clone();
            if a.call_back.is_some() {
                st.callbacks = true;
                conn.queue.set_flags(AQ_WANT_PULSE);
            }
        }
        Ok(old)
    })
}

/// `asyncmsg_put(coid, buff, size, handle, call_back)`: queues `buf` without entering the
/// kernel (unless this put reaches the count trigger, or starts a batch's time trigger).
/// The library keeps the buffer until the callback (`call_back`, else the attribute's) hands it
/// back. A full queue blocks, or fails with EAGAIN under `_NTO_COF_NONBLOCK`; EBADF unknown coid
/// or the channel is gone. On failure the buffer comes back in the error.
// Always inlined, with its fast path: called, it takes the `Vec` through the stack, written by
// the caller as three 8-byte stores and read back by the move into the slot as one 16-byte
// load, which cannot be forwarded from the store buffer and so waits for every store before it
// to reach the cache, the previous put's stores to the queue's lines (which the receiver's CPU
// reads) among them: the same stall as `asyncmsg_malloc`'s (pool.rs). Measured: asyncmsg/64
// 16.1M to 19.0M messages/s unpinned and 15.8M to 17.0-19.0M across CPUs (docs/results.md).
#[inline(always)]
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

/// `asyncmsg_put` of a buffer from [`asyncmsg_malloc_shared`](super::asyncmsg_malloc_shared),
/// as QNX programs put `asyncmsg_malloc` buffers: the library keeps it, uncopied, until a
/// receiver took the message (the kernel copies it from the region without a system call, in
/// a kernel shared by programs) and the callback hands it back. The message is the buffer's
/// `len()` bytes.
pub fn asyncmsg_put_shared(
    coid: i32,
    buf: super::SharedBuf,
    handle: u32,
    call_back: Option<AsyncCallback>,
) -> Result<(), AsyncPutError> {
    put(coid, AsyncBuf::Shared(buf), handle, call_back, None)
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
        let k = sys::async_conn_counters(c, coid).unwrap_or_default();
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
