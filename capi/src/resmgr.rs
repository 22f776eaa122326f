//! `<sys/resmgr.h>`'s resource-manager layer in QNX 7.1's signatures: `resmgr_attach`,
//! `resmgr_detach`, `resmgr_open_bind`, `resmgr_unbind`, `resmgr_iofuncs`, `resmgr_msgread(v)`,
//! `resmgr_msgwrite(v)`, `resmgr_msgreply(v)`. The rules (links, bindings, OCB references,
//! combine messages, the disconnect and unblock pulses, the reply algorithm) are
//! [`userlib::resmgr::Resmgr`]'s, the engine the Rust layer uses too; this module is its C
//! front ([`CFront`]): C function tables (`resmgr_connect_funcs_t`, `resmgr_io_funcs_t`), C
//! handles and OCBs (their addresses), and the C context `resmgr_context_t`
//! ([`CContext`]), whose `rcvid`, `info`, `id`, `status`, `offset`, `size` and `iov` the
//! handlers read and write in place.
//!
//! The layer rides on the C dispatch handle: its first `resmgr_attach` attaches a handler for
//! message types `_IO_BASE..=_IO_MAX` and the `_PULSE_CODE_DISCONNECT` / `_PULSE_CODE_UNBLOCK`
//! pulses (through `message_attach`/`pulse_attach`, as QNX's does), whose trampoline hands
//! the context to the engine kept as the handle's extension. So `dispatch_handler` and thread
//! pools serve resource managers unchanged. QNX's loop of simple resource managers,
//! `resmgr_context_alloc`, `resmgr_block`, `resmgr_handler`, `resmgr_unblock` and
//! `resmgr_context_free`, runs on the same contexts and serves the layer alone: what is not
//! the layer's goes to `other_func` (or ENOSYS), never to the dispatch handlers.
//!
//! Every handler gets `msg = (char *)ctp->msg + ctp->offset` (the current part of a combine
//! message); the tables and the handle are the program's, and must outlive the attach (QNX's
//! rule: the library keeps the pointers).

use crate::dispatch::{engine, ptr_out, CContext, CDispatch, CHandler, CMessageAttr};
use crate::neutrino::{
    MsgError_r, MsgRead, MsgReadv, MsgReply, MsgReply_r, MsgReplyv, MsgReplyv_r, MsgWrite,
    MsgWritev,
};
use crate::{guard, plain, set_errno};
use kernel_sim::consts::{_PULSE_CODE_DISCONNECT, _PULSE_CODE_UNBLOCK, _RESMGR_FLAG_MASK};
use kernel_sim::{Errno, KResult, MsgInfo, RcvId};
use libc::{c_char, c_int, c_long, c_uint, c_void, iovec, size_t, ssize_t};
use std::marker::PhantomData;
use std::mem::{offset_of, size_of};
use std::ptr;
use userlib::dispatch::Engine;
use userlib::iomsg::*;
use userlib::resmgr::{
    CoreCtx, Front, Resmgr, _RESMGR_DEFAULT, _RESMGR_DETACH_CLOSE, _RESMGR_NOREPLY,
};

/// A connect handler: `int (*)(resmgr_context_t *, io_open_t *, RESMGR_HANDLE_T *, void *)`.
pub type CConnectFn =
    unsafe extern "C" fn(*mut CContext, *mut c_void, *mut c_void, *mut c_void) -> c_int;
/// An I/O handler: `int (*)(resmgr_context_t *, <msg> *, RESMGR_OCB_T *)`.
pub type CIoFn = unsafe extern "C" fn(*mut CContext, *mut c_void, *mut c_void) -> c_int;
/// `other_func`: `int (*)(resmgr_context_t *, void *msg)`.
pub type COtherFn = unsafe extern "C" fn(*mut CContext, *mut c_void) -> c_int;

/// The connect table's slots.
pub const CONNECT_NFUNCS: usize = 8;
/// The I/O table's slots (QNX 7's 33).
pub const IO_NFUNCS: usize = 33;

/// `resmgr_connect_funcs_t` (64-bit: `open` at 8, sizeof 72).
#[repr(C)]
#[derive(Debug)]
pub struct CConnectFuncs {
    /// `_RESMGR_CONNECT_NFUNCS` (or fewer: the slots past it are not there).
    pub nfuncs: c_uint,
    /// `open`, `unlink`, `rename`, `mknod`, `readlink`, `link`, `unblock`, `mount`.
    pub funcs: [Option<CConnectFn>; CONNECT_NFUNCS],
}

/// `resmgr_io_funcs_t` (64-bit: `read` at 8, sizeof 272).
#[repr(C)]
#[derive(Debug)]
pub struct CIoFuncs {
    /// `_RESMGR_IO_NFUNCS` (or fewer).
    pub nfuncs: c_uint,
    /// Slot `type - _IO_READ`: `read`, `write`, `close_ocb`, `stat`, `notify`, `devctl`,
    /// `unblock`, `pathconf`, `lseek`, ..., `read64`, `write64`, `notify64`, `utime64`.
    pub funcs: [Option<CIoFn>; IO_NFUNCS],
}

/// `resmgr_attr_t` (64-bit: `msg_max_size` at 8, `other_func` at 16, sizeof 40).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CResmgrAttr {
    /// `RESMGR_FLAG_*`.
    pub flags: c_uint,
    /// iov entries a context needs (0: 1).
    pub nparts_max: c_uint,
    /// The receive buffer a context needs (0: [`RESMGR_MSG_MAX_SIZE`]).
    pub msg_max_size: size_t,
    /// Handles what no table slot takes (with `RESMGR_FLAG_ATTACH_OTHERFUNC`).
    pub other_func: Option<COtherFn>,
    /// Zero.
    pub reserved: [c_uint; 4],
}

const _: () = assert!(size_of::<CConnectFuncs>() == 72);
const _: () = assert!(offset_of!(CConnectFuncs, funcs) == 8);
const _: () = assert!(size_of::<CIoFuncs>() == 272);
const _: () = assert!(offset_of!(CIoFuncs, funcs) == 8);
const _: () = assert!(size_of::<CResmgrAttr>() == 40);
const _: () = assert!(offset_of!(CResmgrAttr, other_func) == 16);

/// `RESMGR_FLAG_ATTACH_LOCAL`: a link with no path.
pub const RESMGR_FLAG_ATTACH_LOCAL: c_uint = 0x2;
/// `RESMGR_FLAG_ATTACH_OTHERFUNC`: `other_func` is used.
pub const RESMGR_FLAG_ATTACH_OTHERFUNC: c_uint = 0x4;
/// `sizeof(resmgr_iomsgs_t)` (`<sys/dispatch.h>`): the room a handler's `msg` has in the
/// receive buffer, where it may build its reply (`msg->o`), as QNX's handlers do.
pub const IOMSGS_SIZE: usize = 256;

/// The least receive buffer of the layer's contexts (QNX 7.1's default: room for a connect
/// message with a `PATH_MAX` path, or a link reply).
pub const RESMGR_MSG_MAX_SIZE: usize = 2088;

// ------------------------------------------------------------------ the front

/// An I/O table of the program's.
#[derive(Clone, Copy, Debug)]
pub struct IoTable(pub *const CIoFuncs);
// SAFETY: a pointer to a table the C program owns and promises (QNX's rule for resmgr_attach
// and resmgr_open_bind) to keep alive and unchanged while it is attached or bound; it is only
// read, from whichever thread handles a message.
unsafe impl Send for IoTable {}
// SAFETY: as above: shared reads of a table that outlives every use.
unsafe impl Sync for IoTable {}

/// A link: the connect table and the handle given to `resmgr_attach`.
#[derive(Clone, Copy, Debug)]
pub struct LinkRef {
    connect: *const CConnectFuncs,
    handle: *mut c_void,
}
// SAFETY: the connect table and the handle are the C program's, kept alive for the attach
// (QNX's rule); the engine only passes them to the program's own handlers, in any thread, as
// QNX's layer does.
unsafe impl Send for LinkRef {}
// SAFETY: as above.
unsafe impl Sync for LinkRef {}

/// An OCB: the program's pointer; its address is its identity.
#[derive(Clone, Copy, Debug)]
pub struct OcbPtr(pub *mut c_void);
// SAFETY: the OCB is the C program's memory, handed back to its handlers only; the engine
// never dereferences it.
unsafe impl Send for OcbPtr {}
// SAFETY: as above.
unsafe impl Sync for OcbPtr {}

/// `other_func`.
#[derive(Clone, Copy, Debug)]
pub struct OtherFn(COtherFn);

/// The C front of the resource-manager engine.
#[derive(Debug)]
pub struct CFront;

/// The engine's view of a C context (the handlers see the `resmgr_context_t` itself).
#[derive(Debug)]
pub struct CCtx<'a> {
    ctp: *mut CContext,
    _life: PhantomData<&'a mut CContext>,
}

impl CCtx<'_> {
    /// Wraps a context.
    ///
    /// # Safety
    /// `ctp` is a live context from `dispatch_context_alloc`, used by this thread alone for
    /// the wrapper's life.
    pub unsafe fn new(ctp: *mut CContext) -> Self {
        CCtx {
            ctp,
            _life: PhantomData,
        }
    }

    /// The current message: `(char *)ctp->msg + ctp->offset`.
    fn current(&self) -> *mut c_void {
        // SAFETY: a live context (`new`'s promise); the offset is inside its receive buffer
        // (the engine sets it from the message it parsed).
        unsafe { (*self.ctp).msg.cast::<u8>().add((*self.ctp).offset).cast() }
    }

    /// Whether the current message has [`IOMSGS_SIZE`] bytes of the receive buffer from its
    /// start (a combine part near the buffer's end has not).
    fn room_for_msg(&self) -> bool {
        // SAFETY: a live context (`new`'s promise), its fields read in place.
        let (offset, max) = unsafe { ((*self.ctp).offset, (*self.ctp).msg_max_size) };
        offset.saturating_add(IOMSGS_SIZE) <= max
    }

    /// The iov entries the context has (`nparts_max`): its receive buffer follows them.
    fn nparts(&self) -> usize {
        // SAFETY: a live context; only addresses are computed.
        let (iov, msg) = unsafe {
            (
                ptr::addr_of!((*self.ctp).iov) as usize,
                (*self.ctp).msg as usize,
            )
        };
        msg.saturating_sub(iov) / size_of::<iovec>()
    }
}

impl CoreCtx for CCtx<'_> {
    fn rcvid(&self) -> RcvId {
        // SAFETY: a live context (`new`'s promise), its fields read in place.
        RcvId::from(unsafe { (*self.ctp).rcvid })
    }
    fn set_rcvid(&mut self, rcvid: RcvId) {
        // SAFETY: as above.
        unsafe { (*self.ctp).rcvid = rcvid as c_int }
    }
    fn info(&self) -> MsgInfo {
        // SAFETY: as above.
        unsafe { (*self.ctp).info }
    }
    fn set_info(&mut self, mut info: MsgInfo) {
        if info.pid != 0 {
            info.pid =
                userlib::current::with_current(|c| Ok(crate::neutrino::pid_out(c, info.pid)))
                    .unwrap_or(info.pid);
        }
        // SAFETY: as above.
        unsafe { (*self.ctp).info = info }
    }
    fn msg(&self) -> &[u8] {
        // SAFETY: `msg` has `msg_max_size` bytes (the context's layout); no handler runs while
        // the engine holds this borrow.
        unsafe {
            std::slice::from_raw_parts((*self.ctp).msg.cast::<u8>(), (*self.ctp).msg_max_size)
        }
    }
    fn set_msg(&mut self, bytes: &[u8]) {
        // SAFETY: as above; at most `msg_max_size` bytes are written.
        unsafe {
            let n = bytes.len().min((*self.ctp).msg_max_size);
            ptr::copy_nonoverlapping(bytes.as_ptr(), (*self.ctp).msg.cast::<u8>(), n);
        }
    }
    fn set_id(&mut self, id: i32) {
        // SAFETY: a live context.
        unsafe { (*self.ctp).id = id }
    }
    fn status(&self) -> i64 {
        // SAFETY: a live context.
        unsafe { (*self.ctp).status }
    }
    fn set_status(&mut self, status: i64) {
        // SAFETY: a live context.
        unsafe { (*self.ctp).status = status as c_long }
    }
    fn set_part(&mut self, offset: usize, size: usize) {
        // SAFETY: a live context.
        unsafe {
            (*self.ctp).offset = offset;
            (*self.ctp).size = size;
        }
    }
    fn clear_iov(&mut self) {
        // QNX's layer leaves ctp->iov to the handlers.
    }
    fn copy_reply(&self, nparts: usize) -> Vec<u8> {
        let n = nparts.min(self.nparts());
        let mut out = Vec::new();
        for i in 0..n {
            // SAFETY: a live context; `iov[i]` (i below nparts_max) is an entry the handler
            // filled with memory valid for reads, as it would be for MsgReplyv now (QNX's
            // contract for _RESMGR_NPARTS).
            unsafe {
                let v = ptr::addr_of!((*self.ctp).iov).cast::<iovec>().add(i).read();
                if !v.iov_base.is_null() && v.iov_len > 0 {
                    out.extend_from_slice(std::slice::from_raw_parts(
                        v.iov_base.cast::<u8>(),
                        v.iov_len,
                    ));
                }
            }
        }
        out
    }
    fn reply_copied(&mut self, status: i64, bytes: &[u8]) -> KResult<()> {
        // SAFETY: a live context; `bytes` is ours for the call.
        let r = unsafe {
            MsgReply_r(
                (*self.ctp).rcvid,
                status as c_long,
                bytes.as_ptr().cast(),
                bytes.len(),
            )
        };
        if r < 0 {
            Err(Errno(-r))
        } else {
            Ok(())
        }
    }
    fn reply(&mut self, nparts: usize) -> KResult<()> {
        let n = nparts.min(self.nparts());
        // SAFETY: a live context; `iov[0..n]` are entries of it (n is at most nparts_max),
        // which the handler filled (QNX's contract for _RESMGR_NPARTS).
        let r = unsafe {
            let c = &*self.ctp;
            MsgReplyv_r(c.rcvid, c.status, ptr::addr_of!((*self.ctp).iov).cast(), n)
        };
        if r < 0 {
            Err(Errno(-r))
        } else {
            Ok(())
        }
    }
}

/// Reads slot `i` of a C table of `nfuncs` + function pointers, in place (the program may
/// fill its table after the attach, as QNX's allows).
///
/// # Safety
/// `nfuncs` and `funcs` point into a live table of `n` slots.
unsafe fn slot<T: Copy>(
    nfuncs: *const c_uint,
    funcs: *const Option<T>,
    i: usize,
    n: usize,
) -> Option<T> {
    // SAFETY: our caller's promise; `i < n` (the table's slots) is checked first.
    unsafe {
        let have = (nfuncs.read() as usize).min(n);
        if i >= have {
            return None;
        }
        funcs.add(i).read()
    }
}

/// The I/O slot for message type `ty`: `ty - _IO_READ`; the 7.x 64-bit forms go to their own
/// slot if it is set, else to the base one.
fn io_call(io: *const CIoFuncs, ty: u16) -> Option<CIoFn> {
    if io.is_null() || !(_IO_READ..=_IO_UTIME64).contains(&ty) {
        return None;
    }
    // SAFETY: a live table (the attach's promise).
    let get = |t: u16| unsafe {
        slot(
            ptr::addr_of!((*io).nfuncs),
            ptr::addr_of!((*io).funcs).cast(),
            usize::from(t - _IO_READ),
            IO_NFUNCS,
        )
    };
    let base = match ty {
        _IO_READ64 => Some(_IO_READ),
        _IO_WRITE64 => Some(_IO_WRITE),
        _IO_NOTIFY64 => Some(_IO_NOTIFY),
        _IO_UTIME64 => Some(_IO_UTIME),
        _ => None,
    };
    get(ty).or_else(|| base.and_then(get))
}

impl Front for CFront {
    type Ctx<'a> = CCtx<'a>;
    type Ocb = OcbPtr;
    type Io = IoTable;
    type Link = LinkRef;
    type Other = OtherFn;

    fn ocb_key(ocb: &OcbPtr) -> usize {
        ocb.0 as usize
    }

    fn connect(link: &LinkRef, ctx: &mut CCtx<'_>, subtype: u16) -> i32 {
        let t = link.connect;
        if t.is_null() || !(_IO_CONNECT_OPEN..=_IO_CONNECT_MOUNT).contains(&subtype) {
            return _RESMGR_DEFAULT;
        }
        // SAFETY: a live table (the attach's promise).
        let f: Option<CConnectFn> = unsafe {
            slot(
                ptr::addr_of!((*t).nfuncs),
                ptr::addr_of!((*t).funcs).cast(),
                usize::from(subtype - _IO_CONNECT_OPEN),
                CONNECT_NFUNCS,
            )
        };
        let Some(f) = f else {
            return _RESMGR_DEFAULT;
        };
        let msg = ctx.current();
        // The extra bytes follow the path, aligned to 8.
        // SAFETY: the connect message's header is in the receive buffer (the engine parsed it).
        let path_len = unsafe { msg.cast::<u8>().add(34).cast::<u16>().read_unaligned() };
        let at = (40 + usize::from(path_len)).next_multiple_of(8);
        // Only an address (the handler reads extra_len bytes there, as on QNX); `path_len` is
        // the client's, so it may lie past the buffer: no `add`, whose result must be in it.
        let extra = msg.cast::<u8>().wrapping_add(at).cast::<c_void>();
        // SAFETY: the program's handler, called as QNX calls it.
        unsafe { f(ctx.ctp, msg, link.handle, extra) }
    }

    fn io(io: &IoTable, ctx: &mut CCtx<'_>, ty: u16, ocb: &OcbPtr) -> i32 {
        let Some(f) = io_call(io.0, ty) else {
            return _RESMGR_DEFAULT;
        };
        let msg = match ty {
            _IO_RSVD_CLOSE_OCB | _IO_RSVD_LOCK_OCB | _IO_RSVD_UNLOCK_OCB | _IO_RSVD_PAUSE => {
                ptr::null_mut()
            }
            // The pulse, in the receive buffer.
            // SAFETY: a live context.
            _IO_RSVD_UNBLOCK | _IO_RSVD_UNPAUSE => unsafe { (*ctx.ctp).msg },
            // A handler answers in place (`msg->o`: iofunc_stat_default writes a struct stat
            // there): a part without a resmgr_iomsgs_t's room is refused, not overrun.
            _ if !ctx.room_for_msg() => return Errno::EBADMSG.0,
            _ => ctx.current(),
        };
        // SAFETY: the program's handler, called as QNX calls it.
        unsafe { f(ctx.ctp, msg, ocb.0) }
    }

    fn other(other: &OtherFn, ctx: &mut CCtx<'_>) -> i32 {
        // SAFETY: the program's other_func, with the receive buffer, as QNX calls it.
        unsafe { (other.0)(ctx.ctp, (*ctx.ctp).msg) }
    }
}

/// Hands what a context received (a message of type `_IO_BASE..=_IO_MAX`, a disconnect or
/// unblock pulse) to the engine of the context's handle: what `dispatch_handler` and
/// `resmgr_handler` return.
///
/// # Safety
/// `ctp` is a live context of `e`'s handle, filled by a block, this thread's alone.
unsafe fn serve(ctp: *mut CContext, e: &Engine<CHandler>, core: &Resmgr<CFront>) -> c_int {
    // A message shorter than the headers handlers read in place: the rest is zero, not a
    // previous client's bytes.
    // SAFETY: a live context (our caller's promise); `msg` has `msg_max_size` bytes (the
    // context's layout).
    unsafe {
        if (*ctp).rcvid > 0 {
            let len = usize::try_from((*ctp).info.msglen).unwrap_or(0);
            let end = (*ctp).msg_max_size.min(IOMSGS_SIZE);
            if len < end {
                ptr::write_bytes((*ctp).msg.cast::<u8>().add(len), 0, end - len);
            }
        }
    }
    // SAFETY: as above.
    let mut cx = unsafe { CCtx::new(ctp) };
    core.handle(&mut cx, |h| e.has_name(h))
}

/// The layer's handler on the dispatch handle: hands the context to the engine.
unsafe extern "C" fn trampoline(
    ctp: *mut CContext,
    _code: c_int,
    _flags: c_uint,
    _handle: *mut c_void,
) -> c_int {
    let r = guard(|| {
        // SAFETY: dispatch_handler calls us with its live context, this thread's alone.
        let dpp = unsafe { ptr::addr_of!((*ctp).dpp).read() };
        // SAFETY: the context's handle is live (dispatch_handler's caller's promise).
        let e = unsafe { engine(dpp) }?;
        let core = e.extension_if::<Resmgr<CFront>>().ok_or(Errno::EINVAL)?;
        // SAFETY: as above.
        Ok(unsafe { serve(ctp, e, &core) })
    });
    r.unwrap_or(-1)
}

fn last_errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL),
    )
}

/// Attaches the trampoline: message types `_IO_BASE..=_IO_MAX`, the disconnect and unblock
/// pulses, with the contexts' sizes.
fn install(dpp: *mut CDispatch, nparts: c_uint, msg_max: usize) -> KResult<()> {
    let attr = CMessageAttr {
        flags: 0,
        nparts_max: nparts,
        msg_max_size: c_uint::try_from(msg_max).map_err(|_| Errno::EINVAL)?,
        reserved: [0; 5],
    };
    let (lo, hi) = (c_int::from(_IO_BASE), c_int::from(_IO_MAX));
    // SAFETY: a live handle (checked by our caller); the trampoline is a handler of the
    // dispatch layer's signature.
    if unsafe {
        crate::dispatch::message_attach(dpp, &attr, lo, hi, Some(trampoline), ptr::null_mut())
    } == -1
    {
        return Err(last_errno());
    }
    for code in [_PULSE_CODE_DISCONNECT, _PULSE_CODE_UNBLOCK] {
        // SAFETY: as above.
        let r = unsafe {
            crate::dispatch::pulse_attach(
                dpp,
                0,
                c_int::from(code),
                Some(trampoline),
                ptr::null_mut(),
            )
        };
        if r == -1 {
            let e = last_errno();
            // SAFETY: as above; undoes what was attached so that the next attach starts over.
            unsafe {
                crate::dispatch::message_detach(dpp, lo, hi, 0);
                crate::dispatch::pulse_detach(dpp, c_int::from(_PULSE_CODE_DISCONNECT), 0);
            }
            return Err(e);
        }
    }
    Ok(())
}

/// The layer of a handle (made and installed on first use).
fn layer(dpp: *mut CDispatch, attr: &CResmgrAttr) -> KResult<std::sync::Arc<Resmgr<CFront>>> {
    // SAFETY: NULL or a live handle (our caller's promise).
    let e = unsafe { engine(dpp) }?;
    let core = e.extension::<Resmgr<CFront>>(|_| Ok(Resmgr::default()))?;
    let msg_max = attr.msg_max_size.max(RESMGR_MSG_MAX_SIZE);
    core.install_once(|| install(dpp, attr.nparts_max.max(1), msg_max))?;
    Ok(core)
}

#[allow(clippy::too_many_arguments)]
unsafe fn attach(
    dpp: *mut CDispatch,
    attr: *const CResmgrAttr,
    path: *const c_char,
    file_type: c_int,
    flags: c_uint,
    connect_funcs: *const CConnectFuncs,
    io_funcs: *const CIoFuncs,
    handle: *mut c_void,
) -> KResult<c_int> {
    // SAFETY: NULL or the caller's resmgr_attr_t.
    let a = unsafe { attr.as_ref() }.copied().unwrap_or_default();
    let core = layer(dpp, &a)?;
    if path.is_null() && a.flags & RESMGR_FLAG_ATTACH_LOCAL == 0 {
        return Ok(0);
    }
    let path = if path.is_null() {
        None
    } else {
        // SAFETY: a NUL-terminated string (the caller's promise).
        let p = unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes();
        Some(if p.starts_with(b"/") {
            p.to_vec()
        } else {
            use std::os::unix::ffi::OsStrExt;
            let cwd = std::env::current_dir().map_err(|_| Errno::EINVAL)?;
            let mut v = cwd.as_os_str().as_bytes().to_vec();
            v.push(b'/');
            v.extend_from_slice(p);
            v
        })
    };
    let other = match a.other_func {
        Some(f) if a.flags & RESMGR_FLAG_ATTACH_OTHERFUNC != 0 => Some(OtherFn(f)),
        _ => None,
    };
    // SAFETY: checked live by `layer`.
    let e = unsafe { engine(dpp) }?;
    if let Some(o) = other {
        // (resmgr_handler's copy, by the engine's rule: the first attach with valid flags
        // that gives one.)
        if flags & !_RESMGR_FLAG_MASK == 0 {
            e.extension::<LoopOther>(|_| Ok(LoopOther::default()))?
                .first(o);
        }
    }
    core.attach(
        e.chid(),
        path.as_deref(),
        file_type as u32,
        flags,
        LinkRef {
            connect: connect_funcs,
            handle,
        },
        IoTable(io_funcs),
        other,
    )
}

/// `resmgr_attach(dpp, attr, path, file_type, flags, connect_funcs, io_funcs, handle)`:
/// registers `path` (absolute; a relative one is taken from the working directory) with the
/// kernel's path manager for the handle's channel and returns the link id (`ctp->id` in its
/// handlers). `path` NULL without `RESMGR_FLAG_ATTACH_LOCAL` only sets the layer up (returns
/// 0); with it, a link no path leads to. `flags`: `_RESMGR_FLAG_*` (`_RESMGR_FLAG_SELF`: this
/// program's own opens may reach it). -1 and `errno`: EINVAL `dpp` NULL or destroyed, bad
/// flags, a path with `..`, bigger context sizes than contexts already allocated have;
/// ENAMETOOLONG; EAGAIN the kernel's path table is full.
///
/// # Safety
/// `dpp` NULL or a live handle; `attr` NULL or a readable `resmgr_attr_t`; `path` NULL or a
/// string; the tables and `handle` live (and the tables unchanged) while attached.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn resmgr_attach(
    dpp: *mut CDispatch,
    attr: *const CResmgrAttr,
    path: *const c_char,
    file_type: c_int,
    flags: c_uint,
    connect_funcs: *const CConnectFuncs,
    io_funcs: *const CIoFuncs,
    handle: *mut c_void,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe {
        attach(
            dpp,
            attr,
            path,
            file_type,
            flags,
            connect_funcs,
            io_funcs,
            handle,
        )
    }))
}

unsafe fn detach(dpp: *mut CDispatch, id: c_int, flags: c_uint) -> KResult<c_int> {
    // SAFETY: forwarded.
    let e = unsafe { engine(dpp) }?;
    let core = e.extension_if::<Resmgr<CFront>>().ok_or(Errno::ENOENT)?;
    if flags & _RESMGR_DETACH_CLOSE == 0 {
        return core.detach(None, id, flags).map(|()| 0);
    }
    // The close handlers run in this thread, on a context of their own (rcvid 0).
    // SAFETY: a live handle.
    let ctp = unsafe { crate::dispatch::dispatch_context_alloc(dpp) };
    if ctp.is_null() {
        return Err(last_errno());
    }
    // SAFETY: a fresh context, this thread's alone.
    let r = unsafe {
        (*ctp).rcvid = 0;
        (*ctp).id = id;
        let mut cx = CCtx::new(ctp);
        core.detach(Some(&mut cx), id, flags)
    };
    // SAFETY: the context from above, no longer used.
    unsafe { crate::dispatch::dispatch_context_free(ctp) };
    r.map(|()| 0)
}

/// `resmgr_detach(dpp, id, flags)`: the path goes first (new opens fail), then, once no other
/// thread runs a connect handler of the link, unless `_RESMGR_DETACH_PATHNAME`, the link's
/// bindings (their clients' later calls fail with EBADF; with `_RESMGR_DETACH_CLOSE` their
/// `close_dup` and `close_ocb` run first, in this thread, with rcvid 0). 0, or -1 and ENOENT
/// (unknown id, no layer, `dpp` NULL: EINVAL).
///
/// # Safety
/// `dpp` NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn resmgr_detach(dpp: *mut CDispatch, id: c_int, flags: c_uint) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe { detach(dpp, id, flags) }))
}

/// The layer of a context's handle. ENOENT none; EINVAL `ctp` NULL.
///
/// # Safety
/// `ctp` NULL or a live context of a live handle.
unsafe fn core_of(ctp: *const CContext) -> KResult<std::sync::Arc<Resmgr<CFront>>> {
    if ctp.is_null() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: a live context (our caller's promise).
    let dpp = unsafe { ptr::addr_of!((*ctp).dpp).read() };
    // SAFETY: its handle is live.
    unsafe { engine(dpp) }?
        .extension_if::<Resmgr<CFront>>()
        .ok_or(Errno::ENOENT)
}

/// `resmgr_open_bind(ctp, ocb, io_funcs)`: binds the connection the context's open came on to
/// `ocb`, handled by `io_funcs` (NULL: the link's table). Call it from an open handler (as
/// `iofunc_ocb_attach` does). 0, or -1 and `errno`: ENOENT the link is gone; EBUSY the
/// connection is bound already; EINVAL `ctp` or `ocb` NULL.
///
/// # Safety
/// `ctp` NULL or a live context of a live handle; `io_funcs` NULL or a table that lives while
/// bound.
#[no_mangle]
pub unsafe extern "C" fn resmgr_open_bind(
    ctp: *mut CContext,
    ocb: *mut c_void,
    io_funcs: *const CIoFuncs,
) -> c_int {
    plain(guard(|| {
        if ocb.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let core = unsafe { core_of(ctp) }?;
        // SAFETY: a live context.
        let (info, id) = unsafe { ((*ctp).info, (*ctp).id) };
        let io = (!io_funcs.is_null()).then_some(IoTable(io_funcs));
        core.open_bind(&info, id, OcbPtr(ocb), io).map(|()| 0)
    }))
}

/// `resmgr_unbind(ctp)`: removes the binding of the context's connection (the OCB stays for
/// its other bindings; `close_ocb` does not run). 0, or -1 and ENOENT (none).
///
/// # Safety
/// `ctp` NULL or a live context of a live handle.
#[no_mangle]
pub unsafe extern "C" fn resmgr_unbind(ctp: *mut CContext) -> c_int {
    plain(guard(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let core = unsafe { core_of(ctp) }?;
        // SAFETY: a live context.
        let info = unsafe { (*ctp).info };
        core.unbind(&info).map(|()| 0)
    }))
}

/// `resmgr_iofuncs(ctp)`: the I/O table the context's connection is bound with (NULL: none).
///
/// # Safety
/// `ctp` NULL or a live context of a live handle.
#[no_mangle]
pub unsafe extern "C" fn resmgr_iofuncs(ctp: *mut CContext) -> *const CIoFuncs {
    let r = guard(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let core = unsafe { core_of(ctp) }?;
        // SAFETY: a live context.
        let info = unsafe { (*ctp).info };
        core.binding(info.scoid, info.coid)
            .map(|(_, _, io)| io.0)
            .ok_or(Errno::ENOENT)
    });
    r.unwrap_or(ptr::null())
}

// ------------------------------------------------------------------ the resmgr_* loop

/// A handle's `other_func` for `resmgr_handler`, which gives it what the engine never gets
/// (messages of other types, pulses of other codes): a copy of the engine's, taken by the
/// engine's rule (the first attach with valid flags that gives one).
#[derive(Debug, Default)]
struct LoopOther(std::sync::Mutex<Option<OtherFn>>);

impl LoopOther {
    /// Keeps `f` unless a function was kept before.
    fn first(&self, f: OtherFn) {
        let mut o = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if o.is_none() {
            *o = Some(f);
        }
    }

    /// The handle's `other_func`, if it has one.
    fn get(e: &Engine<CHandler>) -> Option<OtherFn> {
        let o = e.extension_if::<LoopOther>()?;
        let f = *o.0.lock().unwrap_or_else(|p| p.into_inner());
        f
    }
}

/// The engine and the layer of a handle for the `resmgr_*` loop. EINVAL: `dpp` NULL or not a
/// live handle, or no `resmgr_attach` made the layer on it (QNX's `resmgr_context_alloc`
/// error for "no resource manager events attached").
///
/// # Safety
/// `dpp` is NULL or a live handle.
unsafe fn loop_layer<'a>(
    dpp: *mut CDispatch,
) -> KResult<(&'a Engine<CHandler>, std::sync::Arc<Resmgr<CFront>>)> {
    // SAFETY: our caller's promise.
    let e = unsafe { engine(dpp) }?;
    let core = e.extension_if::<Resmgr<CFront>>().ok_or(Errno::EINVAL)?;
    Ok((e, core))
}

/// The handle of a context. EINVAL `ctp` NULL.
///
/// # Safety
/// `ctp` is NULL or a live context. Only the handle is read, through the raw pointer:
/// another thread may be blocked in the context (`resmgr_unblock`).
unsafe fn dpp_of(ctp: *const CContext) -> KResult<*mut CDispatch> {
    if ctp.is_null() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: a live context (our caller's promise).
    Ok(unsafe { ptr::addr_of!((*ctp).dpp).read() })
}

/// `resmgr_context_alloc(dpp)`: a context for `resmgr_block`/`resmgr_handler`, as
/// `dispatch_context_alloc` makes one (the same block; free it with `resmgr_context_free` or
/// `dispatch_context_free`). NULL and `errno`: EINVAL `dpp` NULL, destroyed, or with no
/// resource-manager layer (no `resmgr_attach` on it); ENOMEM.
///
/// # Safety
/// `dpp` is NULL or a live handle from `dispatch_create*`.
#[no_mangle]
pub unsafe extern "C" fn resmgr_context_alloc(dpp: *mut CDispatch) -> *mut CContext {
    ptr_out(guard(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        unsafe {
            loop_layer(dpp)?;
            crate::dispatch::context_alloc(dpp)
        }
    }))
}

/// `resmgr_context_free(ctp)`: frees a context (NULL: nothing), as `dispatch_context_free`.
///
/// # Safety
/// `ctp` is NULL or a context from `resmgr_context_alloc` or `dispatch_context_alloc`, not
/// freed yet and not in use.
#[no_mangle]
pub unsafe extern "C" fn resmgr_context_free(ctp: *mut CContext) {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    unsafe { crate::dispatch::dispatch_context_free(ctp) }
}

unsafe fn loop_block(ctp: *mut CContext) -> KResult<*mut CContext> {
    // SAFETY: forwarded.
    let dpp = unsafe { dpp_of(ctp) }?;
    // SAFETY: forwarded: the context's handle is live.
    unsafe { loop_layer(dpp) }?;
    // SAFETY: forwarded.
    let got = unsafe { crate::dispatch::block(ctp) }?;
    // (rcvid -1 after a block that succeeded: its timeout.)
    // SAFETY: the context, this thread's.
    if unsafe { ptr::addr_of!((*got).rcvid).read() } == -1 {
        return Err(Errno::ETIMEDOUT);
    }
    Ok(got)
}

/// `resmgr_block(ctp)`: waits for a message or pulse on the context's handle, as
/// `dispatch_block`, and returns `ctp` (`ctp->rcvid`, `ctp->info`, `ctp->msg` filled):
/// `resmgr_handler` then serves it. NULL and `errno`: EINVAL `ctp` NULL, its handle destroyed
/// or with no resource-manager layer; ETIMEDOUT the `dispatch_timeout` of the handle (or a
/// `TimerTimeout` armed before) ran out (`ctp->rcvid` is -1); ESRCH the channel was
/// destroyed; EINTR.
///
/// # Safety
/// `ctp` is NULL or a live context of a live handle, used by this thread alone meanwhile.
#[no_mangle]
pub unsafe extern "C-unwind" fn resmgr_block(ctp: *mut CContext) -> *mut CContext {
    // (A cancellation point, as its MsgReceive is: capi/src/cancel.rs.)
    ptr_out(crate::cancel::point(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        guard(|| unsafe { loop_block(ctp) })
    }))
}

/// QNX's reply to what `other_func` (or, without one, `_RESMGR_DEFAULT`) answered a message:
/// 0, or -1 when the reply failed.
fn loop_answer(cx: &mut CCtx<'_>, n: c_int) -> c_int {
    let rcvid = cx.rcvid();
    let r = match n {
        _RESMGR_NOREPLY => return 0,
        _RESMGR_DEFAULT => Errno::ENOSYS.0,
        n => n,
    };
    let ok = if r <= 0 {
        cx.reply(r.unsigned_abs() as usize).is_ok()
    } else {
        // SAFETY: MsgError_r has no memory to trust.
        unsafe { MsgError_r(rcvid as c_int, r) == 0 }
    };
    if ok {
        0
    } else {
        -1
    }
}

unsafe fn loop_handler(ctp: *mut CContext) -> KResult<c_int> {
    // SAFETY: forwarded.
    let dpp = unsafe { dpp_of(ctp) }?;
    // SAFETY: forwarded: the context's handle is live.
    let (e, core) = unsafe { loop_layer(dpp) }?;
    // SAFETY: a live context, this thread's alone (our caller's promise).
    let (rcvid, msglen, msg, max) = unsafe {
        (
            (*ctp).rcvid,
            usize::try_from((*ctp).info.msglen).unwrap_or(0),
            (*ctp).msg.cast::<u8>(),
            (*ctp).msg_max_size,
        )
    };
    if rcvid < 0 {
        // A timeout's context (or one that received nothing).
        return Ok(-1);
    }
    if rcvid > 0 {
        if msglen < 2 || max < 2 {
            // As the dispatch layer answers a message with no type.
            // SAFETY: MsgError_r has no memory to trust.
            unsafe { MsgError_r(rcvid, libc::EINVAL) };
            return Ok(-1);
        }
        // SAFETY: the receive buffer holds the message's first `msglen` (>= 2) bytes.
        let ty = unsafe { msg.cast::<u16>().read_unaligned() };
        if (_IO_BASE..=_IO_MAX).contains(&ty) {
            // SAFETY: forwarded.
            return Ok(unsafe { serve(ctp, e, &core) });
        }
        // Not the layer's type: other_func's, else ENOSYS (QNX's _resmgr_handler).
        // SAFETY: as above.
        let mut cx = unsafe { CCtx::new(ctp) };
        cx.set_status(0);
        cx.set_part(0, msglen.min(max));
        let n = match LoopOther::get(e) {
            Some(o) => CFront::other(&o, &mut cx),
            None => _RESMGR_DEFAULT,
        };
        return Ok(loop_answer(&mut cx, n));
    }
    // A pulse.
    // SAFETY: the receive buffer has `max` bytes (the context's layout).
    let bytes = unsafe { std::slice::from_raw_parts(msg, max) };
    let Some(p) = kernel_sim::Pulse::from_bytes(bytes) else {
        return Ok(-1);
    };
    if p.code == _PULSE_CODE_DISCONNECT || p.code == _PULSE_CODE_UNBLOCK {
        // SAFETY: forwarded.
        return Ok(unsafe { serve(ctp, e, &core) });
    }
    // Another pulse: other_func's (its result unused, as QNX's), else dropped.
    match LoopOther::get(e) {
        Some(o) => {
            // SAFETY: as above.
            let mut cx = unsafe { CCtx::new(ctp) };
            cx.set_status(0);
            CFront::other(&o, &mut cx);
            Ok(0)
        }
        None => Ok(-1),
    }
}

/// `resmgr_handler(ctp)`: serves what `resmgr_block` received through the resource-manager
/// layer alone, as `dispatch_handler` serves the layer's messages: `_IO_*` messages (types
/// `_IO_BASE`..`_IO_MAX`) and the `_PULSE_CODE_DISCONNECT`/`_PULSE_CODE_UNBLOCK` pulses, by
/// the connect and I/O tables. Other messages go to the handle's `other_func`
/// (`RESMGR_FLAG_ATTACH_OTHERFUNC`), whose result is replied as a handler's, else are
/// answered ENOSYS; other pulses go to `other_func`, else are dropped. The handle's
/// `message_attach`, `pulse_attach` and `select_attach` handlers are never called (QNX's rule:
/// use `dispatch_handler` for them). 0, or -1: a timeout's context, a message shorter than 2
/// bytes (answered EINVAL), a pulse nothing took, a reply that failed; -1 and EINVAL for `ctp`
/// NULL, its handle destroyed or with no resource-manager layer.
///
/// # Safety
/// `ctp` is NULL or a live context of a live handle, filled by `resmgr_block` (or
/// `dispatch_block`), this thread's alone meanwhile.
#[no_mangle]
pub unsafe extern "C" fn resmgr_handler(ctp: *mut CContext) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe { loop_handler(ctp) }))
}

/// `resmgr_unblock(ctp)`: wakes one thread blocked in `resmgr_block` (or `dispatch_block`) on
/// the context's handle with a `_PULSE_CODE_UNBLOCK` pulse of value 0, as `dispatch_unblock`
/// (`resmgr_handler` of that pulse calls `other_func`, if any, and does nothing else). Sets
/// `errno` to EINVAL if `ctp` is NULL or its handle is destroyed or has no resource-manager
/// layer.
///
/// # Safety
/// `ctp` is NULL or a live context of a live handle (another thread may be blocked in it).
#[no_mangle]
pub unsafe extern "C" fn resmgr_unblock(ctp: *mut CContext) {
    let r = guard(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let dpp = unsafe { dpp_of(ctp) }?;
        // SAFETY: as above: the context's handle is live.
        let (e, _) = unsafe { loop_layer(dpp) }?;
        e.unblock()
    });
    if let Err(e) = r {
        set_errno(e);
    }
}

/// (rcvid, offset) of a context, or EINVAL for NULL.
///
/// # Safety
/// `ctp` NULL or a live context.
unsafe fn where_(ctp: *const CContext) -> Option<(c_int, size_t, c_long)> {
    // SAFETY: our caller's promise.
    unsafe { ctp.as_ref() }.map(|c| (c.rcvid, c.offset, c.status))
}

fn einval<T: crate::CRet>() -> T {
    set_errno(Errno::EINVAL);
    T::FAIL
}

/// `resmgr_msgread(ctp, msg, size, offset)`: `MsgRead(ctp->rcvid, msg, size, ctp->offset +
/// offset)`: from the current (combine) message. The bytes read, or -1 and `errno`.
///
/// # Safety
/// `ctp` NULL or a live context; `msg` writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn resmgr_msgread(
    ctp: *mut CContext,
    msg: *mut c_void,
    size: size_t,
    offset: size_t,
) -> ssize_t {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    match unsafe { where_(ctp) } {
        // SAFETY: as above.
        Some((rcvid, at, _)) => unsafe { MsgRead(rcvid, msg, size, at + offset) },
        None => einval(),
    }
}

/// `resmgr_msgreadv(ctp, iov, parts, offset)`: `MsgReadv` from `ctp->offset + offset`.
///
/// # Safety
/// As `resmgr_msgread`, for each part.
#[no_mangle]
pub unsafe extern "C" fn resmgr_msgreadv(
    ctp: *mut CContext,
    iov: *const iovec,
    parts: c_int,
    offset: size_t,
) -> ssize_t {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    match unsafe { where_(ctp) } {
        Some((rcvid, at, _)) if parts >= 0 => {
            // SAFETY: as above.
            unsafe { MsgReadv(rcvid, iov, parts as size_t, at + offset) }
        }
        _ => einval(),
    }
}

/// `resmgr_msgwrite(ctp, msg, size, offset)`: `MsgWrite(ctp->rcvid, msg, size, offset)` into
/// the client's reply buffer (`offset` as given).
///
/// # Safety
/// `ctp` NULL or a live context; `msg` readable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn resmgr_msgwrite(
    ctp: *mut CContext,
    msg: *const c_void,
    size: size_t,
    offset: size_t,
) -> ssize_t {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    match unsafe { where_(ctp) } {
        // SAFETY: as above.
        Some((rcvid, _, _)) => unsafe { MsgWrite(rcvid, msg, size, offset) },
        None => einval(),
    }
}

/// `resmgr_msgwritev(ctp, iov, parts, offset)`: `MsgWritev` at `offset`.
///
/// # Safety
/// As `resmgr_msgwrite`, for each part.
#[no_mangle]
pub unsafe extern "C" fn resmgr_msgwritev(
    ctp: *mut CContext,
    iov: *const iovec,
    parts: c_int,
    offset: size_t,
) -> ssize_t {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    match unsafe { where_(ctp) } {
        Some((rcvid, _, _)) if parts >= 0 => {
            // SAFETY: as above.
            unsafe { MsgWritev(rcvid, iov, parts as size_t, offset) }
        }
        _ => einval(),
    }
}

/// `resmgr_msgreply(ctp, ptr, len)`: `MsgReply(ctp->rcvid, ctp->status, ptr, len)`.
///
/// # Safety
/// `ctp` NULL or a live context; `ptr` readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn resmgr_msgreply(
    ctp: *mut CContext,
    ptr: *mut c_void,
    len: c_int,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    match unsafe { where_(ctp) } {
        Some((rcvid, _, status)) if len >= 0 => {
            // SAFETY: as above.
            unsafe { MsgReply(rcvid, status, ptr, len as size_t) }
        }
        _ => einval(),
    }
}

/// `resmgr_msgreplyv(ctp, iov, parts)`: `MsgReplyv(ctp->rcvid, ctp->status, iov, parts)`.
///
/// # Safety
/// `ctp` NULL or a live context; `iov` readable for `parts` entries, each readable.
#[no_mangle]
pub unsafe extern "C" fn resmgr_msgreplyv(
    ctp: *mut CContext,
    iov: *const iovec,
    parts: c_int,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    match unsafe { where_(ctp) } {
        Some((rcvid, _, status)) if parts >= 0 => {
            // SAFETY: as above.
            unsafe { MsgReplyv(rcvid, status, iov, parts as size_t) }
        }
        _ => einval(),
    }
}
