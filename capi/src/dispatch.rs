//! `<sys/dispatch.h>`'s dispatch layer, its message part, in QNX 7.1's signatures:
//! `dispatch_create`, `dispatch_create_channel`, `dispatch_destroy`, `dispatch_context_alloc`,
//! `dispatch_context_free`, `dispatch_block`, `dispatch_handler`, `dispatch_unblock`,
//! `dispatch_timeout`, `message_attach`, `message_detach`, `message_connect`, `pulse_attach`,
//! `pulse_detach`. The table and its rules are [`userlib::dispatch::Engine`]'s (the same as
//! the Rust `Dispatch`'s), here with C function pointers as handlers:
//! `int func(message_context_t *ctp, int code, unsigned flags, void *handle)`.
//!
//! A context is laid out as QNX's (§2.2 of the reference): `resmgr_context_t` (`rcvid`,
//! `info`, `msg`, `dpp`, `id`, `extra`, `msg_max_size`, `status`, `offset`, `size`,
//! `iov[nparts_max]`) followed, in the same `calloc`'d block, by the receive buffer that
//! `ctp->msg` points to; `ctp->extra` is a second `calloc`'d block.
//!
//! `select_attach`, thread pools and `resmgr_attach` are not here.

use crate::neutrino::pid_out;
use crate::{guard, plain, set_errno};
use kernel_sim::consts::*;
use kernel_sim::{Errno, Iov, KResult, MsgInfo, RcvId, PULSE_SIZE};
use libc::{c_int, c_long, c_uint, c_void, iovec, size_t, timespec};
use std::mem::{offset_of, size_of};
use std::ptr;
use userlib::current::with_current;
use userlib::dispatch::{Engine, MessageAttr, Routed, MSG_FLAG_TYPE_PULSE};

/// A C handler: `int func(message_context_t *ctp, int code, unsigned flags, void *handle)`.
pub type CFunc = unsafe extern "C" fn(*mut CContext, c_int, c_uint, *mut c_void) -> c_int;

/// A C handler and its `handle`, as the table keeps them.
#[derive(Clone, Copy, Debug)]
pub struct CHandler {
    func: CFunc,
    handle: *mut c_void,
}

const MAGIC: u64 = 0x7173_6469_7370_6174; // "qsdispat"

/// `dispatch_t`: opaque to C (its first word a magic number that marks a live handle).
#[repr(C)]
#[derive(Debug)]
pub struct CDispatch {
    magic: u64,
    engine: Engine<CHandler>,
}

/// `message_attr_t`: `{ unsigned flags, nparts_max, msg_max_size; unsigned reserved[5]; }`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CMessageAttr {
    /// `MSG_FLAG_*`.
    pub flags: c_uint,
    /// iov entries a context needs.
    pub nparts_max: c_uint,
    /// Receive buffer a context needs.
    pub msg_max_size: c_uint,
    /// Zero.
    pub reserved: [c_uint; 5],
}

/// `struct _extended_context` (7.1): `{ size_t length; struct _xendian_context xendian; void
/// *data; }`.
#[repr(C)]
#[derive(Debug)]
pub struct CExtended {
    /// Its size.
    pub length: size_t,
    /// `struct _xendian_context { _Uint16t type, mode; _Uint32t hint; }`.
    pub xendian: [u16; 4],
    /// Zero.
    pub data: *mut c_void,
}

/// `resmgr_context_t` = `message_context_t` (QNX 7.1, 64-bit: sizeof 152, `iov` at 136).
#[repr(C)]
#[derive(Debug)]
pub struct CContext {
    /// What came: > 0 a message, 0 a pulse, -1 a timeout.
    pub rcvid: c_int,
    /// The message's `struct _msg_info`.
    pub info: MsgInfo,
    /// The receive buffer (inside the context's block).
    pub msg: *mut c_void,
    /// The handle.
    pub dpp: *mut CDispatch,
    /// The link id (-1 in the message layer).
    pub id: c_int,
    /// The extended context.
    pub extra: *mut CExtended,
    /// Bytes at `msg`.
    pub msg_max_size: size_t,
    /// The reply status (the resmgr layer's).
    pub status: c_long,
    /// The current message's offset in the client's (the resmgr layer's).
    pub offset: size_t,
    /// The current message's size (the resmgr layer's).
    pub size: size_t,
    /// `iov[nparts_max]`.
    pub iov: [iovec; 1],
}

const _: () = assert!(size_of::<CContext>() == 152);
const _: () = assert!(offset_of!(CContext, info) == 8);
const _: () = assert!(offset_of!(CContext, msg) == 72);
const _: () = assert!(offset_of!(CContext, msg_max_size) == 104);
const _: () = assert!(offset_of!(CContext, iov) == 136);
const _: () = assert!(size_of::<CMessageAttr>() == 32);

/// The engine behind a C handle. EINVAL NULL, or not a live handle (as far as can be told).
///
/// # Safety
/// `dpp` is NULL or a pointer from `dispatch_create*` not destroyed yet.
pub(crate) unsafe fn engine<'a>(dpp: *mut CDispatch) -> KResult<&'a Engine<CHandler>> {
    // SAFETY: NULL or a live handle (our caller's promise).
    let d = unsafe { dpp.as_ref() }.ok_or(Errno::EINVAL)?;
    if d.magic != MAGIC {
        return Err(Errno::EINVAL);
    }
    Ok(&d.engine)
}

/// The handles `dispatch_create*` made and `dispatch_destroy` has not freed yet: a second
/// `dispatch_destroy` of a pointer is EINVAL without reading the freed handle.
static LIVE: crate::Live = crate::Live::new();

fn create(chid: c_int, flags: c_uint) -> KResult<*mut CDispatch> {
    let engine = Engine::new(chid, flags)?;
    let dpp = Box::into_raw(Box::new(CDispatch {
        magic: MAGIC,
        engine,
    }));
    LIVE.insert(dpp);
    Ok(dpp)
}

/// `r`'s pointer, or NULL with `errno` set.
pub(crate) fn ptr_out<T>(r: KResult<*mut T>) -> *mut T {
    match r {
        Ok(p) => p,
        Err(e) => {
            set_errno(e);
            ptr::null_mut()
        }
    }
}

/// `dispatch_create()`: a handle with no channel yet; the first attach makes one
/// (`_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT`, and `_NTO_CHF_COID_DISCONNECT` for the process's
/// first). NULL and `errno` on failure.
#[no_mangle]
pub extern "C" fn dispatch_create() -> *mut CDispatch {
    ptr_out(guard(|| create(-1, 0)))
}

/// `dispatch_create_channel(chid, flags)`: a handle on the caller's channel `chid` (-1: as
/// `dispatch_create`). NULL and EINVAL: `chid` neither -1 nor positive, flags other than
/// `DISPATCH_FLAG_NOLOCK`.
#[no_mangle]
pub extern "C" fn dispatch_create_channel(chid: c_int, flags: c_uint) -> *mut CDispatch {
    ptr_out(guard(|| create(chid, flags)))
}

unsafe fn destroy(dpp: *mut CDispatch) -> KResult<c_int> {
    // Claimed by this call: a concurrent or later destroy of the pointer is EINVAL, unread.
    if !LIVE.take(dpp) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: forwarded; a handle of `LIVE`.
    let e = match unsafe { engine(dpp) } {
        Ok(e) => e,
        Err(err) => {
            LIVE.insert(dpp);
            return Err(err);
        }
    };
    let _ = e.destroy();
    // SAFETY: a live handle from `create`'s Box (checked above), freed once: its magic goes
    // first so that a second destroy of the stale pointer is likelier to be refused.
    unsafe {
        (*dpp).magic = 0;
        drop(Box::from_raw(dpp));
    }
    Ok(0)
}

/// `dispatch_destroy(dpp)`: destroys the handle's channel (its clients' sends fail with EBADF,
/// threads blocked in it with ESRCH) and frees the handle; contexts stay the caller's to free.
/// 0, or -1 and EINVAL for NULL or a pointer that is not a live handle (one destroyed
/// already included: it is not read).
///
/// # Safety
/// `dpp` is NULL, a pointer that is no live handle (refused unread), or a handle from
/// `dispatch_create*` not destroyed yet, which no other thread uses during or after the call.
#[no_mangle]
pub unsafe extern "C" fn dispatch_destroy(dpp: *mut CDispatch) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe { destroy(dpp) }))
}

/// `dispatch_context_alloc`'s work (see it).
///
/// # Safety
/// `dpp` is NULL or a live handle.
pub(crate) unsafe fn context_alloc(dpp: *mut CDispatch) -> KResult<*mut CContext> {
    // SAFETY: forwarded.
    let e = unsafe { engine(dpp)? };
    let (nparts, msg_max) = e.context_sizes()?;
    let msg_at = offset_of!(CContext, iov) + nparts as usize * size_of::<iovec>();
    let size = size_of::<CContext>() + nparts as usize * size_of::<iovec>() + msg_max;
    // SAFETY: calloc has no precondition; both blocks are checked for NULL.
    let (block, extra) = unsafe {
        (
            libc::calloc(1, size).cast::<CContext>(),
            libc::calloc(1, size_of::<CExtended>()).cast::<CExtended>(),
        )
    };
    if block.is_null() || extra.is_null() {
        // SAFETY: free takes NULL or a calloc'd block.
        unsafe {
            libc::free(block.cast());
            libc::free(extra.cast());
        }
        return Err(Errno::ENOMEM);
    }
    // SAFETY: fresh zeroed blocks of at least the structs' sizes, aligned for any type
    // (calloc's promise), ours alone; `msg_at` is inside `block` (`size` > `msg_at`).
    unsafe {
        (*extra).length = size_of::<CExtended>();
        (*block).rcvid = -1;
        (*block).id = -1;
        (*block).dpp = dpp;
        (*block).extra = extra;
        (*block).msg = block.cast::<u8>().add(msg_at).cast();
        (*block).msg_max_size = size - msg_at;
    }
    Ok(block)
}

/// `dispatch_context_alloc(dpp)`: a context (one `calloc`'d block: the `resmgr_context_t`
/// with `iov[nparts_max]`, then the receive buffer `ctp->msg`, `ctp->msg_max_size` bytes, at
/// least `sizeof(resmgr_iomsgs_t)`). NULL and `errno`: EINVAL `dpp` NULL or nothing attached
/// to it yet; ENOMEM.
///
/// # Safety
/// `dpp` is NULL or a live handle from `dispatch_create*`.
#[no_mangle]
pub unsafe extern "C" fn dispatch_context_alloc(dpp: *mut CDispatch) -> *mut CContext {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    ptr_out(guard(|| unsafe { context_alloc(dpp) }))
}

/// `dispatch_context_free(ctp)`: frees a context (NULL: nothing).
///
/// # Safety
/// `ctp` is NULL or a context from `dispatch_context_alloc`, not freed yet and not in use.
#[no_mangle]
pub unsafe extern "C" fn dispatch_context_free(ctp: *mut CContext) {
    if ctp.is_null() {
        return;
    }
    // SAFETY: a context from `context_alloc` (our caller's promise): both blocks are calloc'd,
    // freed once.
    unsafe {
        libc::free((*ctp).extra.cast());
        libc::free(ctp.cast());
    }
}

/// `dispatch_block`'s work (see it): `ctp`, with `rcvid` -1 after a timeout.
///
/// # Safety
/// `ctp` is NULL or a live context of a live handle, used by this thread alone meanwhile.
pub(crate) unsafe fn block(ctp: *mut CContext) -> KResult<*mut CContext> {
    if ctp.is_null() {
        return Err(Errno::EINVAL);
    }
    // The context's fields are read and written through the raw pointer, one at a time: no
    // reference to the whole context lives across the receive, during which other threads may
    // use it too (`dispatch_unblock(ctp)` from any thread, as QNX allows).
    // SAFETY: a live context (our caller's promise).
    let (dpp, msg, max) = unsafe {
        (
            ptr::addr_of!((*ctp).dpp).read(),
            ptr::addr_of!((*ctp).msg).read(),
            ptr::addr_of!((*ctp).msg_max_size).read(),
        )
    };
    // SAFETY: the context's handle is live (our caller's promise).
    let e = unsafe { engine(dpp)? };
    let (chid, timeout) = e.receive_setup()?;
    // (The handle may be destroyed and freed while we wait: its flag outlives it.)
    let gone = e.gone_flag();
    // SAFETY: as above.
    let mut info = unsafe {
        ptr::addr_of_mut!((*ctp).id).write(-1);
        ptr::addr_of_mut!((*ctp).rcvid).write(-1);
        ptr::addr_of_mut!((*ctp).info.msglen).write(0);
        ptr::addr_of!((*ctp).info).read()
    };
    let buf = [Iov {
        base: msg as u64,
        len: max as u64,
    }];
    let r = with_current(|c| {
        if let Some(ns) = timeout {
            c.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(ns))?;
        }
        // SAFETY: the receive buffer lies inside the context's block, ours during the call.
        let rcvid = unsafe { c.msg_receivev_raw(chid, &buf, Some(&mut info)) }?;
        if rcvid > 0 {
            info.pid = pid_out(c, info.pid);
        }
        Ok(rcvid)
    });
    match r {
        // A pulse of the handle's own teardown (Engine::gone_flag): ESRCH, as the channel's
        // destroy gives the other blocked threads.
        Ok(0) if gone.load(std::sync::atomic::Ordering::Acquire) => Err(Errno::ESRCH),
        Ok(rcvid) => {
            let rcvid = c_int::try_from(rcvid).map_err(|_| Errno::EOVERFLOW)?;
            // SAFETY: as above.
            unsafe {
                ptr::addr_of_mut!((*ctp).info).write(info);
                ptr::addr_of_mut!((*ctp).rcvid).write(rcvid);
            }
            Ok(ctp)
        }
        Err(Errno::ETIMEDOUT) => Ok(ctp),
        Err(e) => Err(e),
    }
}

/// `dispatch_block(ctp)`: `MsgReceive` on the handle's channel into `ctp->msg` (`ctp->rcvid`,
/// `ctp->info`), bounded by `dispatch_timeout` if set (else by a `TimerTimeout` armed
/// before). Returns `ctp`; on a timeout `ctp` with `rcvid` -1. NULL and `errno`: EINVAL `ctp`
/// NULL or its handle destroyed; ESRCH the channel destroyed; EINTR.
///
/// # Safety
/// `ctp` is NULL or a live context of a live handle, used by this thread alone meanwhile.
#[no_mangle]
pub unsafe extern "C-unwind" fn dispatch_block(ctp: *mut CContext) -> *mut CContext {
    // (A cancellation point, as its MsgReceive is: capi/src/cancel.rs.)
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    ptr_out(crate::cancel::point(|| guard(|| unsafe { block(ctp) })))
}

unsafe fn handler(ctp: *mut CContext) -> KResult<c_int> {
    // SAFETY: NULL or a live context (our caller's promise).
    let Some(cx) = (unsafe { ctp.as_ref() }) else {
        return Ok(-1);
    };
    if cx.rcvid == -1 {
        return Ok(-1);
    }
    // SAFETY: the context's handle is live (our caller's promise).
    let e = unsafe { engine(cx.dpp) }?;
    let n = if cx.rcvid == 0 {
        PULSE_SIZE
    } else {
        usize::try_from(cx.info.msglen).unwrap_or(0)
    }
    .min(cx.msg_max_size);
    // SAFETY: `msg` has `msg_max_size` bytes (the context's layout), `n` of them received.
    let msg = unsafe { std::slice::from_raw_parts(cx.msg.cast::<u8>(), n) };
    match e.route(RcvId::from(cx.rcvid), msg) {
        Routed::Done(r) => Ok(r),
        Routed::Call { handler, code } => {
            // SAFETY: a C handler attached with its handle, called as QNX calls it.
            Ok(unsafe { (handler.func)(ctp, code, 0, handler.handle) })
        }
    }
}

/// `dispatch_handler(ctp)`: calls the handler matching what `dispatch_block` received and
/// returns its result; -1 for `ctp` NULL, a timeout's context, a message shorter than 2 bytes
/// (answered `MsgError(EINVAL)`), an unmatched message (`MsgError(ENOSYS)`) or pulse
/// (dropped). Matching: message types against the message ranges, pulse codes against the
/// pulse ranges, in attach order (the first wins); then the `MSG_FLAG_DEFAULT_FUNC` handler;
/// a handle with a name answers an unmatched `_IO_CONNECT` for it with EOK and detaches the
/// server connection of an unmatched `_PULSE_CODE_DISCONNECT` (0).
///
/// # Safety
/// `ctp` is NULL or a live context of a live handle, filled by `dispatch_block`.
#[no_mangle]
pub unsafe extern "C" fn dispatch_handler(ctp: *mut CContext) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe { handler(ctp) }))
}

/// `dispatch_unblock(ctp)`: wakes one thread blocked in `ctp`'s handle with a
/// `_PULSE_CODE_UNBLOCK` pulse of value 0. Sets `errno` (EINVAL) if `ctp` is NULL or its handle
/// has no channel.
///
/// # Safety
/// `ctp` is NULL or a live context of a live handle.
#[no_mangle]
pub unsafe extern "C" fn dispatch_unblock(ctp: *mut CContext) {
    let r = guard(|| {
        if ctp.is_null() {
            return Err(Errno::EINVAL);
        }
        // Only the handle is read, through the raw pointer: another thread may be blocked in
        // this context (no reference to it is made here).
        // SAFETY: a live context of a live handle (our caller's promise).
        let dpp = unsafe { ptr::addr_of!((*ctp).dpp).read() };
        // SAFETY: as above.
        unsafe { engine(dpp) }?.unblock()
    });
    if let Err(e) = r {
        set_errno(e);
    }
}

unsafe fn timeout(dpp: *mut CDispatch, reltime: *const timespec) -> KResult<c_int> {
    // SAFETY: forwarded.
    let e = unsafe { engine(dpp)? };
    // SAFETY: NULL or the caller's timespec.
    let Some(t) = (unsafe { reltime.as_ref() }) else {
        return Ok(0);
    };
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    let ns = (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64);
    e.set_timeout(Some(ns))?;
    Ok(0)
}

/// `dispatch_timeout(dpp, reltime)`: every later `dispatch_block` of the handle waits at most
/// `*reltime` (NULL: no change, as QNX's). 0, or -1 and EINVAL: `dpp` NULL, a `reltime` with a
/// negative or out-of-range field.
///
/// # Safety
/// `dpp` is NULL or a live handle; `reltime` NULL or a readable `struct timespec`.
#[no_mangle]
pub unsafe extern "C" fn dispatch_timeout(dpp: *mut CDispatch, reltime: *const timespec) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe { timeout(dpp, reltime) }))
}

unsafe fn attach(
    dpp: *mut CDispatch,
    attr: *const CMessageAttr,
    flags: c_uint,
    low: c_int,
    high: c_int,
    func: Option<CFunc>,
    handle: *mut c_void,
) -> KResult<c_int> {
    // SAFETY: forwarded.
    let e = unsafe { engine(dpp)? };
    let func = func.ok_or(Errno::EINVAL)?;
    // SAFETY: NULL or the caller's message_attr_t.
    let a = unsafe { attr.as_ref() }.copied().unwrap_or_default();
    let a = MessageAttr {
        flags: a.flags,
        nparts_max: a.nparts_max,
        msg_max_size: a.msg_max_size as usize,
    };
    e.attach(Some(&a), flags, low, high, CHandler { func, handle })
}

/// `message_attach(dpp, attr, low, high, func, handle)`: messages of types `[low, high]` (or,
/// with `MSG_FLAG_TYPE_PULSE` in `attr->flags`, pulses of codes in it) go to `func(ctp, code,
/// 0, handle)`; `MSG_FLAG_DEFAULT_FUNC`: what nothing matched. `attr` may be NULL. The first
/// attach makes the channel. 0 (a pulse range: its low code), or -1 and `errno`: EINVAL `dpp`
/// or `func` NULL, unknown flags, a pulse range beyond -128..127, `low` above `high`, a bigger
/// `msg_max_size`/`nparts_max` than allocated contexts have; EBUSY `_PULSE_CODE_COIDDEATH` on a
/// channel without `_NTO_CHF_COID_DISCONNECT`; EAGAIN no free pulse code.
///
/// # Safety
/// `dpp` NULL or a live handle, `attr` NULL or a readable `message_attr_t`; `func` is called
/// with `handle` from `dispatch_handler`, in the calling thread of it.
#[no_mangle]
pub unsafe extern "C" fn message_attach(
    dpp: *mut CDispatch,
    attr: *const CMessageAttr,
    low: c_int,
    high: c_int,
    func: Option<CFunc>,
    handle: *mut c_void,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe {
        attach(dpp, attr, 0, low, high, func, handle)
    }))
}

/// `message_detach(dpp, low, high, flags)`: removes the range attached as exactly
/// `[low, high]` (`MSG_FLAG_TYPE_PULSE`: a pulse range). -1 and EINVAL: none, or `dpp` NULL.
///
/// # Safety
/// `dpp` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn message_detach(
    dpp: *mut CDispatch,
    low: c_int,
    high: c_int,
    flags: c_int,
) -> c_int {
    plain(guard(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        unsafe { engine(dpp) }?
            .detach(low, high, flags as u32)
            .map(|()| 0)
    }))
}

/// `pulse_attach(dpp, flags, code, func, handle)`: pulses of `code` go to `func`;
/// `MSG_FLAG_ALLOC_PULSE`: the lowest free code 0..127 instead (`MSG_FLAG_TYPE_PULSE` may be
/// given too). Returns the code, or -1 and `errno`: EAGAIN no free code; EINVAL `dpp`/`func`
/// NULL, `code` beyond -128..127, unknown flags; EBUSY `_PULSE_CODE_COIDDEATH` on a channel without `_NTO_CHF_COID_DISCONNECT`.
///
/// # Safety
/// As `message_attach`.
#[no_mangle]
pub unsafe extern "C" fn pulse_attach(
    dpp: *mut CDispatch,
    flags: c_int,
    code: c_int,
    func: Option<CFunc>,
    handle: *mut c_void,
) -> c_int {
    let flags = flags as u32;
    plain(guard(|| {
        // (MSG_FLAG_TYPE_PULSE, which a pulse attach is anyway, is taken as QNX's takes it.)
        let pulse = flags | MSG_FLAG_TYPE_PULSE;
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        unsafe { attach(dpp, ptr::null(), pulse, code, code, func, handle) }
    }))
}

/// `pulse_detach(dpp, code, flags)`: removes the handler of pulse `code`. -1 and EINVAL: none,
/// or `dpp` NULL.
///
/// # Safety
/// `dpp` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pulse_detach(dpp: *mut CDispatch, code: c_int, flags: c_int) -> c_int {
    plain(guard(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let e = unsafe { engine(dpp) }?;
        e.detach(code, code, flags as u32 | MSG_FLAG_TYPE_PULSE)
            .map(|()| 0)
    }))
}

/// `message_connect(dpp, flags)`: a coid to the handle's own channel (`MSG_FLAG_SIDE_CHANNEL`:
/// a side-channel one), for self-pulses and timers' `SIGEV_PULSE`. -1 and EINVAL: `dpp` NULL,
/// other flags, no channel yet.
///
/// # Safety
/// `dpp` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn message_connect(dpp: *mut CDispatch, flags: c_int) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe { engine(dpp) }?.connect(flags as u32)))
}
