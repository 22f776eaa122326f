//! `<sys/dispatch.h>`'s `select_attach`, `select_detach` and `select_rearm` in QNX 7.1's
//! signatures, over [`userlib::select::Selector`] (the machinery of the Rust
//! `select_attach`): the fds are Linux fds watched by epoll through a watcher thread, which
//! sends the handle's channel QNX's `SI_NOTIFY` pulse; `dispatch_handler` calls
//! `int func(select_context_t *ctp, int fd, unsigned flags, void *handle)` with the
//! conditions met and returns what it returned.
//!
//! `select_context_t` overlays the start of `resmgr_context_t` (`rcvid`, `info`, `msg`,
//! `dpp`), as QNX's does: the function gets the dispatch context the pulse came in, cast. Its
//! `info` union holds the `struct _msg_info` alone (glibc's `siginfo_t` is 128 bytes and
//! would move `msg` and `dpp` off the overlay); its `fd` and `flags` are not filled (they
//! overlay `resmgr_context_t`'s `id` and `extra`): the function's arguments carry them.

use crate::dispatch::{engine, pulse_attach, CContext, CDispatch};
use crate::{guard, plain, set_errno};
use kernel_sim::{Errno, KResult, MsgInfo, Pulse, PULSE_SIZE};
use libc::{c_int, c_uint, c_void, iovec};
use std::mem::{offset_of, size_of};
use std::ptr;
use userlib::select::{check, selector, Selector, SI_NOTIFY};

/// A C select function: `int func(select_context_t *ctp, int fd, unsigned flags, void
/// *handle)`.
pub type CSelectFn = unsafe extern "C" fn(*mut CSelectContext, c_int, c_uint, *mut c_void) -> c_int;

/// A C select function and its `handle`, as the select state keeps them.
#[derive(Clone, Copy, Debug)]
pub struct CSelect {
    func: CSelectFn,
    handle: *mut c_void,
}

// SAFETY: `handle` is the C caller's, passed back to its function as QNX passes it; which
// thread calls the function is the dispatch loop's choice, as on QNX (a thread pool's threads
// may call it), and making the handle safe for that is the caller's part, as there.
unsafe impl Send for CSelect {}
// SAFETY: as above; the pointer is only copied, never dereferenced here.
unsafe impl Sync for CSelect {}

/// The select state of a C handle.
type CSelector = Selector<CSelect>;

/// `select_attr_t`: `{ unsigned flags; unsigned reserved[3]; }` (no flags defined).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CSelectAttr {
    /// Zero.
    pub flags: c_uint,
    /// Zero.
    pub reserved: [c_uint; 3],
}

/// `select_context_t` (64-bit: `msg` at 72, `dpp` at 80, `fd` at 88, `iov` at 112, sizeof
/// 128): the start of `resmgr_context_t`, as QNX lays it out.
#[repr(C)]
#[derive(Debug)]
pub struct CSelectContext {
    /// 0: a pulse.
    pub rcvid: c_int,
    /// `union { struct _msg_info msginfo; }`.
    pub info: MsgInfo,
    /// The receive buffer (the `struct _pulse`).
    pub msg: *mut c_void,
    /// The handle.
    pub dpp: *mut c_void,
    /// Not filled (the function's argument).
    pub fd: c_int,
    /// Not filled.
    pub tid: c_uint,
    /// Zero.
    pub reserved: c_uint,
    /// Not filled (the function's argument).
    pub flags: c_int,
    /// Zero.
    pub reserved2: [c_int; 2],
    /// `iov[]`.
    pub iov: [iovec; 1],
}

const _: () = assert!(offset_of!(CSelectContext, info) == offset_of!(CContext, info));
const _: () = assert!(offset_of!(CSelectContext, msg) == offset_of!(CContext, msg));
const _: () = assert!(offset_of!(CSelectContext, dpp) == offset_of!(CContext, dpp));
const _: () = assert!(offset_of!(CSelectContext, fd) == 88);
const _: () = assert!(offset_of!(CSelectContext, iov) == 112);
const _: () = assert!(size_of::<CSelectContext>() == 128);
const _: () = assert!(size_of::<CSelectAttr>() == 16);

/// The `SI_NOTIFY` pulse handler of a C handle: decodes the pulse and calls the fd's function.
unsafe extern "C" fn on_notify(
    ctp: *mut CContext,
    _code: c_int,
    _flags: c_uint,
    _handle: *mut c_void,
) -> c_int {
    let r = guard(|| {
        if ctp.is_null() {
            return Ok(0);
        }
        // Read through the raw pointer, field by field: the function gets `ctp` itself.
        // SAFETY: a live context of a live handle, handed over by dispatch_handler.
        let (dpp, msg, max) = unsafe {
            (
                ptr::addr_of!((*ctp).dpp).read(),
                ptr::addr_of!((*ctp).msg).read(),
                ptr::addr_of!((*ctp).msg_max_size).read(),
            )
        };
        // SAFETY: as above.
        let e = unsafe { engine(dpp) }?;
        let Some(sel) = e.extension_if::<CSelector>() else {
            return Ok(0);
        };
        if msg.is_null() || max < PULSE_SIZE {
            return Ok(0);
        }
        // SAFETY: `msg` has `msg_max_size` (>= PULSE_SIZE) bytes, holding the pulse received.
        let bytes = unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), PULSE_SIZE) };
        let Some(p) = Pulse::from_bytes(bytes) else {
            return Ok(0);
        };
        let Some(fired) = sel.take(p.value as u32 as i32) else {
            return Ok(0);
        };
        // SAFETY: the C function attached with its handle, called as QNX calls it, with the
        // context the pulse came in (laid out as select_context_t's start).
        let r = unsafe { (fired.func.func)(ctp.cast(), fired.fd, fired.flags, fired.func.handle) };
        sel.done(&fired);
        Ok(r)
    });
    r.unwrap_or(-1)
}

unsafe fn attach(
    dpp: *mut c_void,
    attr: *const CSelectAttr,
    fd: c_int,
    flags: c_uint,
    func: Option<CSelectFn>,
    handle: *mut c_void,
) -> KResult<c_int> {
    let dpp = dpp.cast::<CDispatch>();
    // SAFETY: NULL or a live handle (our caller's promise).
    let e = unsafe { engine(dpp) }?;
    let func = func.ok_or(Errno::EINVAL)?;
    // SAFETY: NULL or the caller's select_attr_t.
    let attr_flags = unsafe { attr.as_ref() }.map_or(0, |a| a.flags);
    check(attr_flags, fd, flags)?;
    let sel = selector::<_, CSelect>(e, || {
        let code = c_int::from(SI_NOTIFY);
        // SAFETY: `dpp` is a live handle (checked above).
        let r = unsafe { pulse_attach(dpp, 0, code, Some(on_notify), ptr::null_mut()) };
        if r == -1 {
            // SAFETY: the calling thread's errno, which pulse_attach just set.
            Err(Errno(unsafe { *libc::__errno_location() }))
        } else {
            Ok(())
        }
    })?;
    sel.attach(fd, flags, CSelect { func, handle })?;
    Ok(0)
}

/// `select_attach(dpp, attr, fd, flags, func, handle)`: `func(ctp, fd, met, handle)` is called
/// from `dispatch_handler` when the Linux fd `fd` meets a condition of `flags`
/// (`SELECT_FLAG_READ`, `_WRITE`, `_EXCEPT`), `met` those met; `dispatch_handler` returns
/// what it returned. Armed again after each call (QNX's default) unless
/// `SELECT_FLAG_NOREARM` (then `select_rearm`). `attr` may be NULL. The first select attach
/// makes the channel if there is none. 0, or -1 and `errno`: EINVAL `dpp` or `func` NULL,
/// `attr->flags` set, unknown flags, no condition, `fd` negative, a destroyed handle; EBADF
/// `fd` not open; EPERM a file epoll cannot watch (a regular file, a directory); EBUSY `fd`
/// attached to this handle already; ENOMEM 65536 fds attached; EAGAIN no watcher thread.
///
/// # Safety
/// `dpp` NULL or a live handle, `attr` NULL or a readable `select_attr_t`; `func` is called
/// with `handle` from `dispatch_handler`, in the calling thread of it.
#[no_mangle]
pub unsafe extern "C" fn select_attach(
    dpp: *mut c_void,
    attr: *const CSelectAttr,
    fd: c_int,
    flags: c_uint,
    func: Option<CSelectFn>,
    handle: *mut c_void,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe {
        attach(dpp, attr, fd, flags, func, handle)
    }))
}

/// `select_detach(dpp, fd)`: `fd`'s function is not called again (the last detach stops the
/// watcher thread). 0, or -1 and EINVAL: `dpp` NULL, `fd` not attached.
///
/// # Safety
/// `dpp` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn select_detach(dpp: *mut c_void, fd: c_int) -> c_int {
    plain(guard(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let e = unsafe { engine(dpp.cast()) }?;
        e.extension_if::<CSelector>()
            .ok_or(Errno::EINVAL)?
            .detach(fd)
            .map(|()| 0)
    }))
}

/// `select_rearm(ctp, fd)`: arms `fd` once more (one attached with `SELECT_FLAG_NOREARM`).
/// Returns NULL: the watcher thread sends the pulse when `fd` is ready, at once if it is
/// (QNX's may instead return `ctp` holding a faked pulse). On failure NULL with `errno` set:
/// EINVAL `ctp` NULL or `fd` not attached; ENOENT or EBADF `fd` closed since.
///
/// # Safety
/// `ctp` is NULL or a live context of a live handle.
#[no_mangle]
pub unsafe extern "C" fn select_rearm(ctp: *mut CContext, fd: c_int) -> *mut CContext {
    let r = guard(|| {
        if ctp.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: a live context (our caller's promise); only its handle is read.
        let dpp = unsafe { ptr::addr_of!((*ctp).dpp).read() };
        // SAFETY: its handle is live (our caller's promise).
        let e = unsafe { engine(dpp) }?;
        e.extension_if::<CSelector>()
            .ok_or(Errno::EINVAL)?
            .rearm(fd)
    });
    if let Err(e) = r {
        set_errno(e);
    }
    ptr::null_mut()
}
