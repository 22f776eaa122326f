//! `<sys/asyncmsg.h>`: QNX's asynchronous messaging in C, over [`userlib::asyncmsg`]. The
//! calls keep QNX's signatures; each returns -1 and sets `errno` on failure (`asyncmsg_get` and
//! `asyncmsg_malloc` return NULL). QNX has no `_r` forms of them, and neither has this library.
//!
//! How the C calls map onto the Rust library:
//!
//! * **Puts copy.** `asyncmsg_put` and `asyncmsg_putv` copy the message into a buffer of the
//!   library's (from [`userlib::asyncmsg::asyncmsg_malloc`]'s pool) before they return, so the
//!   caller may reuse or free its buffer at once. QNX keeps the caller's buffer until the
//!   message's callback runs; this library only promises the same callback, with the caller's
//!   original pointer (the iov array's, for `asyncmsg_putv`) and handle, once a receiver took
//!   the message (`err` 0) or it failed (`EMSGSIZE`, or `EBADF` when `asyncmsg_connect_detach`
//!   discarded it). Callbacks run on the library's thread, in queue order.
//! * **Callbacks are chosen at put time.** A put without a callback of its own gets the
//!   connection attribute's `call_back` as it is when the put is made (a later
//!   `asyncmsg_connect_attr` does not change the callback of messages already queued). The C
//!   attribute's callback is kept here, per process and coid, and handed to the Rust library
//!   as each put's own callback.
//! * **`asyncmsg_get` allocates.** Each message comes back in one `malloc`'d block:
//!   `[struct _asyncmsg_get_header][iov_t][data]`, the header's `iov` pointing at the embedded
//!   iov (`parts` 1), its `info` the sender's (pid, chid, coid, scoid, `msglen`, `srcmsglen`),
//!   its `err` 0 or the message's error (EMSGSIZE: no data). The messages of one batch are
//!   linked by `next`; each is freed with `asyncmsg_free` (`free`).
//! * **No receive-buffer callback.** `asyncmsg_channel_create`'s `recvbuf_callback` must be
//!   NULL (else ENOTSUP): the Rust library's receive arena is one Rust buffer it owns, which a
//!   C allocator's buffers cannot be, and messages come back in `malloc`'d blocks anyway.
//! * `asyncmsg_connect_attach` takes a non-NULL `attr` (NULL: EFAULT). Its `trigger_time` is a
//!   `struct _itimer` of which `nsec` is the time trigger (`interval_nsec` is not used).

use crate::neutrino::{flat, iov_list, pid_in, pid_out, ITimer, MAX_PARTS};
use crate::sigevent::{event_in, CSigEvent};
use crate::{guard, plain, set_errno};
use kernel_sim::{Errno, KResult, MsgInfo};
use libc::{c_int, c_uint, c_void, iovec, mode_t, pid_t, size_t};
use std::collections::HashMap;
use std::ptr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use userlib::asyncmsg as am;
use userlib::current::with_current;

/// `ASYNCMSG_FLUSH_NONBLOCK`: `asyncmsg_flush` triggers delivery and returns without waiting.
pub const ASYNCMSG_FLUSH_NONBLOCK: c_int = 1;
/// `ASYNCMSG_RECVBUF_ALLOC`: the recvbuf callback's allocation request (not supported here).
pub const ASYNCMSG_RECVBUF_ALLOC: c_int = 1;
/// `ASYNCMSG_RECVBUF_FREE`: the recvbuf callback's free request (not supported here).
pub const ASYNCMSG_RECVBUF_FREE: c_int = 2;

/// The largest `asyncmsg_malloc`, as QNX documents it: 2 GiB.
const MALLOC_MAX: usize = 2 << 30;

/// A delivery callback: `int (*)(int err, void *buf, unsigned handle)`.
pub type CCallback = unsafe extern "C" fn(c_int, *mut c_void, c_uint) -> c_int;

/// A receive-buffer callback: `int (*)(size_t bufsize, unsigned num_bufs, void *bufs[],
/// int flags, void *handle)` (only NULL is accepted).
pub type CRecvBufCallback =
    unsafe extern "C" fn(size_t, c_uint, *mut *mut c_void, c_int, *mut c_void) -> c_int;

/// `struct _asyncmsg_get_header`: one received message.
#[repr(C)]
#[derive(Debug)]
pub struct CAsyncGetHeader {
    /// Who sent it, and its lengths.
    pub info: MsgInfo,
    /// 0, or the message's error (EMSGSIZE: longer than the channel's `buffer_size`).
    pub err: c_int,
    /// The message: the iov embedded in the same block.
    pub iov: *mut iovec,
    /// Parts of `iov` (1).
    pub parts: c_int,
    /// The batch's next message, or NULL.
    pub next: *mut CAsyncGetHeader,
    /// Reserved (0).
    pub reserve: [c_uint; 2],
}

const _: () = assert!(std::mem::size_of::<CAsyncGetHeader>() == 104);

/// `struct _asyncmsg_connection_attr`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CConnAttr {
    /// The callback of messages put without one of their own (NULL: none).
    pub call_back: Option<CCallback>,
    /// The largest message the sender means to put (advisory).
    pub buffer_size: size_t,
    /// Send-queue slots.
    pub max_num_buffer: c_uint,
    /// Count trigger (0: off).
    pub trigger_num_msg: c_uint,
    /// Time trigger: `nsec` after a batch's first message (0: off).
    pub trigger_time: ITimer,
    /// Reserved.
    pub reserve: c_uint,
}

const _: () = assert!(std::mem::size_of::<CConnAttr>() == 48);

impl CConnAttr {
    /// The Rust attributes (without a callback: the C one is handed to each put).
    fn to_rust(self) -> am::AsyncConnAttr {
        am::AsyncConnAttr {
            call_back: None,
            buffer_size: self.buffer_size,
            max_num_buffer: self.max_num_buffer,
            trigger_num_msg: self.trigger_num_msg,
            trigger_time: Duration::from_nanos(self.trigger_time.nsec),
        }
    }

    /// The C attributes for Rust ones, with the C callback `call_back`.
    fn from_rust(a: &am::AsyncConnAttr, call_back: Option<CCallback>) -> CConnAttr {
        CConnAttr {
            call_back,
            buffer_size: a.buffer_size,
            max_num_buffer: a.max_num_buffer,
            trigger_num_msg: a.trigger_num_msg,
            trigger_time: ITimer {
                nsec: u64::try_from(a.trigger_time.as_nanos()).unwrap_or(u64::MAX),
                interval_nsec: 0,
            },
            reserve: 0,
        }
    }
}

// ------------------------------------------------------------------ the attributes' callbacks

/// The C `call_back` of each connection's attributes, by (process, coid): the Rust library
/// holds its attributes without it (each put hands it over as its own callback).
type AttrCallbacks = HashMap<(i32, c_int), Option<CCallback>>;

fn attr_callbacks() -> MutexGuard<'static, AttrCallbacks> {
    static TABLE: OnceLock<Mutex<AttrCallbacks>> = OnceLock::new();
    TABLE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// The calling thread's process (binding the thread on its first call).
fn my_pid() -> KResult<i32> {
    with_current(|c| Ok(c.pid()))
}

/// Connection `coid`'s attribute callback (NULL for a coid not known here).
fn attr_callback(coid: c_int) -> KResult<Option<CCallback>> {
    let pid = my_pid()?;
    Ok(attr_callbacks().get(&(pid, coid)).copied().flatten())
}

/// The callback the Rust library runs for a put: C function `f` called with the put's original
/// pointer `orig` (carried as an address: the library never reads through it).
fn completion(f: CCallback, orig: *const c_void) -> am::AsyncCallback {
    let orig = orig as usize;
    Arc::new(move |err, data: am::AsyncBuf, handle| {
        // SAFETY: `f` is the C function our caller gave (to asyncmsg_put or in the connection's
        // attributes) to be called as QNX documents: (err, the put's buffer pointer, handle),
        // on the library's thread. The pointer is handed back as given, never dereferenced
        // here.
        unsafe { f(err, orig as *mut c_void, handle) };
        drop(data);
    })
}

/// The callback for a put on `coid`: its own `call_back`, else the attribute's at this moment.
fn put_callback(
    coid: c_int,
    call_back: Option<CCallback>,
    orig: *const c_void,
) -> KResult<Option<am::AsyncCallback>> {
    let f = match call_back {
        Some(f) => Some(f),
        None => attr_callback(coid)?,
    };
    Ok(f.map(|f| completion(f, orig)))
}

// ------------------------------------------------------------------ helpers

/// The C caller's bytes at `p` (none for zero). EFAULT: NULL with bytes, or a range past the
/// end of the address space.
///
/// # Safety
/// `p` is valid for reads of `n` bytes during the call.
unsafe fn bytes<'a>(p: *const c_void, n: size_t) -> KResult<&'a [u8]> {
    match flat(p, n)? {
        None => Ok(&[]),
        // SAFETY: our caller's promise; `flat` checked the range for NULL and overflow.
        Some(iov) => Ok(unsafe { std::slice::from_raw_parts(iov.base as *const u8, n) }),
    }
}

/// A copy of `data` in a buffer of the library's send pool.
fn copy_of(data: &[u8]) -> KResult<Vec<u8>> {
    let mut v = am::asyncmsg_malloc(data.len())?;
    v.copy_from_slice(data);
    Ok(v)
}

/// The C form of an int call: the value, or -1 with `errno` set; no panic crosses into C.
fn c_int_call(f: impl FnOnce() -> KResult<c_int>) -> c_int {
    plain(guard(f))
}

// ------------------------------------------------------------------ channels

unsafe fn channel_create(
    flags: c_uint,
    mode: mode_t,
    buffer_size: size_t,
    max_num_buffer: c_uint,
    ev: *const CSigEvent,
    recvbuf_callback: Option<CRecvBufCallback>,
    recvbuf_callback_handle: *mut c_void,
) -> KResult<c_int> {
    let _ = recvbuf_callback_handle;
    if recvbuf_callback.is_some() {
        return Err(Errno::ENOTSUP);
    }
    // SAFETY: `ev` is NULL or the C caller's `struct sigevent` (its promise).
    let ev = unsafe { event_in(ev)? };
    am::asyncmsg_channel_create(flags, mode, buffer_size, max_num_buffer, ev.as_ref(), None)
}

/// `asyncmsg_channel_create(flags, mode, buffer_size, max_num_buffer, ev, recvbuf_callback,
/// recvbuf_callback_handle)`: an asyncmsg channel whose receives take up to `max_num_buffer`
/// messages of at most `buffer_size` bytes. `flags` may hold `_NTO_CHF_ASYNC_NONBLOCK`
/// (`asyncmsg_get` fails with EAGAIN instead of blocking); `ev` (or NULL) is delivered when
/// messages arrive on an empty channel; `mode` is accepted and unused. `recvbuf_callback` must
/// be NULL (else ENOTSUP). EINVAL bad flags or sizes; EAGAIN no channel left.
///
/// # Safety
/// `ev` is NULL or points at a readable `struct sigevent`.
#[no_mangle]
pub unsafe extern "C" fn asyncmsg_channel_create(
    flags: c_uint,
    mode: mode_t,
    buffer_size: size_t,
    max_num_buffer: c_uint,
    ev: *const CSigEvent,
    recvbuf_callback: Option<CRecvBufCallback>,
    recvbuf_callback_handle: *mut c_void,
) -> c_int {
    c_int_call(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        unsafe {
            channel_create(
                flags,
                mode,
                buffer_size,
                max_num_buffer,
                ev,
                recvbuf_callback,
                recvbuf_callback_handle,
            )
        }
    })
}

/// `asyncmsg_channel_destroy(chid)`: destroys the channel (blocked `asyncmsg_get`s fail with
/// ESRCH). EINVAL: no asyncmsg channel `chid`.
#[no_mangle]
pub extern "C" fn asyncmsg_channel_destroy(chid: c_int) -> c_int {
    c_int_call(|| am::asyncmsg_channel_destroy(chid).map(|()| 0))
}

// ------------------------------------------------------------------ connections

unsafe fn connect_attach(
    nd: u32,
    pid: pid_t,
    chid: c_int,
    index: c_uint,
    flags: c_uint,
    attr: *const CConnAttr,
) -> KResult<c_int> {
    // SAFETY: NULL or the C caller's attributes (its promise).
    let attr = unsafe { attr.as_ref() }.copied().ok_or(Errno::EFAULT)?;
    let pid = with_current(|c| Ok(pid_in(c, pid)))?;
    let coid = am::asyncmsg_connect_attach(nd, pid, chid, index, flags, &attr.to_rust())?;
    attr_callbacks().insert((my_pid()?, coid), attr.call_back);
    Ok(coid)
}

/// `asyncmsg_connect_attach(nd, pid, chid, index, flags, attr)`: an asyncmsg connection to
/// channel `chid` of process `pid` (`getpid()` or 0: this program) with the attributes `attr`
/// (not NULL). `flags` may hold `_NTO_COF_NONBLOCK` (a full send queue fails puts with EAGAIN).
/// ENOREMOTE `nd` not local; ESRCH no such process or channel; EINVAL not an asyncmsg channel,
/// bad flags or sizes; EFAULT `attr` NULL; EAGAIN no connection left.
///
/// # Safety
/// `attr` is NULL or points at a readable `struct _asyncmsg_connection_attr`.
#[no_mangle]
pub unsafe extern "C" fn asyncmsg_connect_attach(
    nd: u32,
    pid: pid_t,
    chid: c_int,
    index: c_uint,
    flags: c_uint,
    attr: *const CConnAttr,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    c_int_call(|| unsafe { connect_attach(nd, pid, chid, index, flags, attr) })
}

fn connect_detach(coid: c_int) -> KResult<c_int> {
    // Forgotten first: a new connection that reuses the coid once it is detached keeps its own.
    let pid = my_pid()?;
    attr_callbacks().remove(&(pid, coid));
    am::asyncmsg_connect_detach(coid).map(|()| 0)
}

/// `asyncmsg_connect_detach(coid)`: breaks the connection. Messages receivers took get their
/// callbacks with 0 (if not run yet); messages still queued are discarded and their callbacks
/// run with EBADF. EINVAL: no asyncmsg connection `coid`.
#[no_mangle]
pub extern "C" fn asyncmsg_connect_detach(coid: c_int) -> c_int {
    c_int_call(|| connect_detach(coid))
}

unsafe fn connect_attr(
    coid: c_int,
    old_attr: *mut CConnAttr,
    new_attr: *const CConnAttr,
) -> KResult<c_int> {
    // SAFETY: NULL or the C caller's attributes (its promise).
    let new = unsafe { new_attr.as_ref() }.copied();
    let pid = my_pid()?;
    let old_cb = attr_callback(coid)?;
    let old = am::asyncmsg_connect_attr(coid, new.map(CConnAttr::to_rust).as_ref())?;
    if let Some(n) = new {
        attr_callbacks().insert((pid, coid), n.call_back);
    }
    // SAFETY: NULL or the C caller's attributes, writable (its promise).
    if let Some(out) = unsafe { old_attr.as_mut() } {
        *out = CConnAttr::from_rust(&old, old_cb);
    }
    Ok(0)
}

/// `asyncmsg_connect_attr(coid, old_attr, new_attr)`: writes the connection's attributes to
/// `old_attr` (if not NULL) and, with `new_attr`, replaces them (`max_num_buffer` keeps the
/// queue's original size; a new `call_back` applies to later puts). EINVAL: no asyncmsg
/// connection `coid`.
///
/// # Safety
/// `old_attr` is NULL or writable, `new_attr` NULL or readable, each a
/// `struct _asyncmsg_connection_attr`.
#[no_mangle]
pub unsafe extern "C" fn asyncmsg_connect_attr(
    coid: c_int,
    old_attr: *mut CConnAttr,
    new_attr: *const CConnAttr,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    c_int_call(|| unsafe { connect_attr(coid, old_attr, new_attr) })
}

/// `asyncmsg_flush(coid, mode)`: hands everything queued to the kernel and, unless `mode` is
/// `ASYNCMSG_FLUSH_NONBLOCK`, waits until receivers have taken every message. EBADF: no
/// asyncmsg connection `coid`, or its channel went away while waiting.
#[no_mangle]
pub extern "C" fn asyncmsg_flush(coid: c_int, mode: c_int) -> c_int {
    c_int_call(|| am::asyncmsg_flush(coid, mode).map(|()| 0))
}

// ------------------------------------------------------------------ puts

unsafe fn put(
    coid: c_int,
    buff: *const c_void,
    size: size_t,
    handle: c_uint,
    call_back: Option<CCallback>,
) -> KResult<c_int> {
    // A buffer from `asyncmsg_malloc` in a shared kernel's region is put as it is, as on QNX
    // (the caller keeps it unchanged until the callback); the kernel copies it from there.
    // SAFETY: the view is read by the kernel only; the caller keeps the buffer unchanged and
    // does not free it until the callback (QNX's rule for a put buffer, our `# Safety`).
    if let Some(mut view) = unsafe { am::SharedBuf::view_raw(buff.cast_mut().cast()) } {
        if view.set_len(size).is_ok() {
            let cb = put_callback(coid, call_back, buff)?;
            am::asyncmsg_put_shared(coid, view, handle, cb).map_err(|e| e.errno)?;
            return Ok(0);
        }
    }
    // SAFETY: forwarded.
    let data = unsafe { bytes(buff, size)? };
    let cb = put_callback(coid, call_back, buff)?;
    // Any other buffer is copied: a long message into the process's send buffers in a shared
    // kernel's region (no system call when a receiver takes it), else into our own memory.
    if data.len() > kernel_sim::asyncq::INLINE {
        if let Ok(mut b) = am::asyncmsg_malloc_shared(data.len()) {
            if b.in_region() {
                b.copy_from_slice(data);
                am::asyncmsg_put_shared(coid, b, handle, cb).map_err(|e| e.errno)?;
                return Ok(0);
            }
        }
    }
    let copy = copy_of(data)?;
    am::asyncmsg_put(coid, copy, handle, cb).map_err(|e| e.errno)?;
    Ok(0)
}

/// `asyncmsg_put(coid, buff, size, handle, call_back)`: queues the `size` bytes at `buff`: a
/// buffer from `asyncmsg_malloc` in a shared kernel's region as it is (keep it unchanged, and
/// do not free it, until the callback: QNX's rule), any other as a copy (the caller may reuse
/// its buffer as soon as this returns). Its callback (`call_back`,
/// else the connection attribute's at this moment; neither: none) runs on the library's thread
/// with `buff` and `handle` once a receiver took it (0) or it failed (EMSGSIZE, EBADF). A full
/// queue blocks, or fails with EAGAIN under `_NTO_COF_NONBLOCK`. EBADF: no asyncmsg connection
/// `coid`, or its channel is gone; EFAULT `buff` NULL with a size; ENOMEM over 2 GiB.
///
/// # Safety
/// `buff` is valid for reads of `size` bytes during the call; an `asyncmsg_malloc` buffer
/// stays unchanged and unfreed until its callback.
#[no_mangle]
pub unsafe extern "C" fn asyncmsg_put(
    coid: c_int,
    buff: *const c_void,
    size: size_t,
    handle: c_uint,
    call_back: Option<CCallback>,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    c_int_call(|| unsafe { put(coid, buff, size, handle, call_back) })
}

unsafe fn putv(
    coid: c_int,
    iov: *const iovec,
    parts: c_int,
    handle: c_uint,
    call_back: Option<CCallback>,
) -> KResult<c_int> {
    let n = usize::try_from(parts).map_err(|_| Errno::EINVAL)?;
    if n > MAX_PARTS {
        return Err(Errno::EINVAL);
    }
    // SAFETY: forwarded: `iov` holds `parts` readable entries.
    let list = unsafe { iov_list(iov, n)? };
    let copies = list
        .iter()
        // SAFETY: each part is readable (our caller's promise); `iov_list` checked its range.
        .map(|p| copy_of(unsafe { bytes(p.base as *const c_void, p.len as usize)? }))
        .collect::<KResult<Vec<_>>>()?;
    let cb = put_callback(coid, call_back, iov.cast())?;
    am::asyncmsg_putv(coid, copies, handle, cb).map_err(|e| e.errno)?;
    Ok(0)
}

/// `asyncmsg_putv(coid, iov, parts, handle, call_back)`: as `asyncmsg_put`, for a message
/// gathered from `parts` iov parts (copied before it returns); the callback gets `iov`.
/// EINVAL `parts` negative or over 65536.
///
/// # Safety
/// `iov` is valid for reads of `parts` entries, each part for reads of its bytes, during the
/// call.
#[no_mangle]
pub unsafe extern "C" fn asyncmsg_putv(
    coid: c_int,
    iov: *const iovec,
    parts: c_int,
    handle: c_uint,
    call_back: Option<CCallback>,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    c_int_call(|| unsafe { putv(coid, iov, parts, handle, call_back) })
}

// ------------------------------------------------------------------ receiving

/// One message as a `malloc`'d `[header][iov][data]` block (`next` NULL), or None (no memory).
fn message_block(m: &am::AsyncMsg<'_>) -> Option<*mut CAsyncGetHeader> {
    const HDR: usize = std::mem::size_of::<CAsyncGetHeader>();
    const IOV: usize = std::mem::size_of::<iovec>();
    const _: () = assert!(HDR.is_multiple_of(std::mem::align_of::<iovec>()));
    let size = HDR.checked_add(IOV)?.checked_add(m.data.len())?;
    // SAFETY: malloc has no precondition; the block is checked for NULL below.
    let block = unsafe { libc::malloc(size) }.cast::<u8>();
    if block.is_null() {
        return None;
    }
    let hdr = block.cast::<CAsyncGetHeader>();
    // SAFETY: `block` is `size` bytes, aligned for any type (malloc's promise): the header
    // at its start, the iov right after it (HDR is a multiple of the iov's alignment), the data
    // after that, `m.data.len()` bytes, all within the block; nothing else refers to it yet.
    unsafe {
        let iov = block.add(HDR).cast::<iovec>();
        let data = block.add(HDR + IOV);
        ptr::copy_nonoverlapping(m.data.as_ptr(), data, m.data.len());
        iov.write(iovec {
            iov_base: data.cast(),
            iov_len: m.data.len(),
        });
        hdr.write(CAsyncGetHeader {
            info: m.info,
            err: m.err,
            iov,
            parts: 1,
            next: ptr::null_mut(),
            reserve: [0; 2],
        });
    }
    Some(hdr)
}

/// Frees a list of message blocks.
///
/// # Safety
/// `head` is NULL or the first of a list of blocks from [`message_block`] no one else uses.
unsafe fn free_list(mut head: *mut CAsyncGetHeader) {
    while !head.is_null() {
        // SAFETY: a block of ours (the caller's promise), read before it is freed.
        let next = unsafe { (*head).next };
        // SAFETY: it came from malloc and is freed once.
        unsafe { libc::free(head.cast()) };
        head = next;
    }
}

fn get(chid: c_int) -> KResult<*mut CAsyncGetHeader> {
    let batch = am::asyncmsg_get(chid)?;
    let mut head: *mut CAsyncGetHeader = ptr::null_mut();
    let mut tail: *mut CAsyncGetHeader = ptr::null_mut();
    for mut m in batch.iter() {
        // A sender of this program's own process is its Linux pid, as in `MsgInfo`.
        m.info.pid = with_current(|c| Ok(pid_out(c, m.info.pid)))?;
        let Some(block) = message_block(&m) else {
            // SAFETY: the blocks made so far, not handed out.
            unsafe { free_list(head) };
            return Err(Errno::ENOMEM);
        };
        if tail.is_null() {
            head = block;
        } else {
            // SAFETY: `tail` is the last block made, ours alone.
            unsafe { (*tail).next = block };
        }
        tail = block;
    }
    if head.is_null() {
        return Err(Errno::EAGAIN);
    }
    Ok(head)
}

/// `asyncmsg_get(chid)`: the next batch of messages (up to the channel's `max_num_buffer`),
/// each in its own `malloc`'d block linked by `next`, to be freed with `asyncmsg_free`. Blocks
/// (RECEIVE-blocked: `TimerTimeout` with `_NTO_TIMEOUT_RECEIVE` bounds it, ETIMEDOUT) while
/// none is ready, unless the channel is `_NTO_CHF_ASYNC_NONBLOCK` (EAGAIN). NULL and `errno`
/// on failure: EBADF no asyncmsg channel `chid`; ESRCH it was destroyed while waiting; ENOMEM.
#[no_mangle]
pub extern "C" fn asyncmsg_get(chid: c_int) -> *mut CAsyncGetHeader {
    match guard(|| get(chid)) {
        Ok(p) => p,
        Err(e) => {
            set_errno(e);
            ptr::null_mut()
        }
    }
}

// ------------------------------------------------------------------ buffers

/// `asyncmsg_malloc(size)`: a buffer of `size` bytes. In a kernel shared by programs it lies
/// in the region (the process's send buffers, up to a quarter of their budget; userlib's
/// `asyncmsg_malloc_shared`): `asyncmsg_put` then hands it to the kernel uncopied, as on QNX,
/// and a receiver takes it without a system call. Otherwise, or when those are used up, it is
/// `malloc`'s. NULL and ENOMEM beyond 2 GiB or when memory is short.
#[no_mangle]
pub extern "C" fn asyncmsg_malloc(size: size_t) -> *mut c_void {
    if size > MALLOC_MAX {
        set_errno(Errno::ENOMEM);
        return ptr::null_mut();
    }
    let shared = guard(|| {
        am::asyncmsg_malloc_shared(size.max(1))
            .and_then(|b| b.into_raw().map_err(|_| Errno::ENOTSUP))
    });
    if let Ok(p) = shared {
        return p.cast();
    }
    // SAFETY: malloc has no precondition (at least one byte: a unique pointer for size 0).
    let p = unsafe { libc::malloc(size.max(1)) };
    if p.is_null() {
        set_errno(Errno::ENOMEM);
    }
    p
}

/// `asyncmsg_free(buf)`: frees a buffer from `asyncmsg_malloc`, or a message from
/// `asyncmsg_get` (its header). NULL: nothing.
///
/// # Safety
/// `buf` is NULL, or a buffer from `asyncmsg_malloc` or a header from `asyncmsg_get`, not
/// freed before.
#[no_mangle]
pub unsafe extern "C" fn asyncmsg_free(buf: *mut c_void) {
    if buf.is_null() {
        return;
    }
    // SAFETY: `buf` came from `asyncmsg_malloc` (a region buffer's `into_raw`, if it is one)
    // and is not freed before, nor in a put whose callback has not come (the caller's promise).
    if let Some(b) = unsafe { am::SharedBuf::from_raw(buf.cast()) } {
        drop(b);
        return;
    }
    if am::SharedBuf::lies_in_region(buf.cast()) {
        // (Freed twice, or not a buffer's start: nothing of malloc's to free.)
        return;
    }
    // SAFETY: NULL or a malloc'd block not freed before (the caller's promise).
    unsafe { libc::free(buf) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_come_back_as_they_went() {
        let a = CConnAttr {
            call_back: None,
            buffer_size: 256,
            max_num_buffer: 8,
            trigger_num_msg: 3,
            trigger_time: ITimer {
                nsec: 5_000_000,
                interval_nsec: 0,
            },
            reserve: 0,
        };
        let b = CConnAttr::from_rust(&a.to_rust(), None);
        assert_eq!(
            (
                b.buffer_size,
                b.max_num_buffer,
                b.trigger_num_msg,
                b.trigger_time.nsec
            ),
            (256, 8, 3, 5_000_000)
        );
    }

    #[test]
    fn malloc_refuses_more_than_two_gib() {
        assert!(asyncmsg_malloc(MALLOC_MAX + 1).is_null());
        let p = asyncmsg_malloc(0);
        assert!(!p.is_null());
        // SAFETY: ours, from asyncmsg_malloc, freed once.
        unsafe { asyncmsg_free(p) };
    }
}
