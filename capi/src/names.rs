//! `<sys/dispatch.h>`'s names: `name_attach`, `name_detach`, `name_open`, `name_close`, in QNX
//! 7.1's signatures, over [`userlib::qnx`]'s. Each returns -1 and sets `errno` on failure
//! (`name_attach` returns NULL). QNX has no `_r` forms of them, and neither has this library.
//!
//! A name lives in the kernel's region: every program of the kernel (the program's own, or
//! the one `QNXSIM_KERNEL` names) sees it, and it goes with its process or channel. A server
//! `name_attach`es a name and receives on `attach->chid`; a client's `name_open` finds it (local
//! names first, then global ones), attaches a side-channel coid to its channel and sends the
//! server a `struct _io_connect` (`_IO_CONNECT_OPEN`, `_FTYPE_NAME`, the empty path), which the
//! server answers with `MsgReply(rcvid, EOK, NULL, 0)` (or an error, which `name_open`
//! returns). `name_close` is `ConnectDetach`: nothing is sent; the server gets
//! `_PULSE_CODE_DISCONNECT` once the client's last connection to it goes.
//!
//! With a dispatch handle (`dispatch_create`, [`crate::dispatch`]), `name_attach` names that
//! handle's channel, and the handle's `dispatch_block`/`dispatch_handler` loop serves the name
//! (answering an `_IO_CONNECT` no handler takes with EOK itself); the `name_attach_t` keeps the
//! `dpp`, and `name_detach` destroys the handle unless `NAME_FLAG_DETACH_SAVEDPP`. With a NULL
//! `dpp` there is no handle made (QNX makes one): the server receives on `attach->chid`.

use crate::{guard, plain, set_errno};
use kernel_sim::consts::NAME_FLAG_DETACH_SAVEDPP;
use kernel_sim::{Errno, KResult};
use libc::{c_char, c_int, c_uint, c_void};
use std::ffi::CStr;
use std::ptr;
use userlib::qnx::{self, NameAttach};

/// `name_attach_t`: `{ dispatch_t *dpp; int chid; int mntid; int zero[2]; }`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CNameAttach {
    /// The dispatch handle given to `name_attach` (NULL for none).
    pub dpp: *mut c_void,
    /// The channel to receive on.
    pub chid: c_int,
    /// The name's link id.
    pub mntid: c_int,
    /// Zero.
    pub zero: [c_int; 2],
}

const _: () = assert!(std::mem::size_of::<CNameAttach>() == 24);

/// The `name_attach_t`s `name_attach` gave and `name_detach` has not freed yet, by address:
/// `name_detach` reads a struct only if it is here, so that a second `name_detach` of the same
/// (freed) pointer is EINVAL instead of a read of freed memory (whose first word, `dpp`,
/// `free` has overwritten: it would be taken for a dispatch handle).
static LIVE: crate::Live = crate::Live::new();

/// A C string argument as UTF-8 (the kernel's names are). EINVAL: NULL, or not UTF-8.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string, readable during the call.
unsafe fn name_in<'a>(p: *const c_char) -> KResult<&'a str> {
    if p.is_null() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: a NUL-terminated string (our caller's promise), not NULL (checked).
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| Errno::EINVAL)
}

unsafe fn attach(
    dpp: *mut c_void,
    path: *const c_char,
    flags: c_uint,
) -> KResult<*mut CNameAttach> {
    // SAFETY: forwarded.
    let path = unsafe { name_in(path)? };
    let a = if dpp.is_null() {
        qnx::name_attach(path, flags)?
    } else {
        // SAFETY: a live dispatch handle (our caller's promise).
        let e = unsafe { crate::dispatch::engine(dpp.cast())? };
        let (chid, mntid) = e.name_attach(path.as_bytes(), flags)?;
        NameAttach { chid, mntid }
    };
    let forget = |a: &NameAttach| {
        if dpp.is_null() {
            let _ = qnx::name_detach(a, 0);
        } else {
            let _ = qnx::name_detach(a, NAME_FLAG_DETACH_SAVEDPP);
        }
    };
    // SAFETY: malloc has no precondition; the block is checked for NULL below.
    let block = unsafe { libc::malloc(std::mem::size_of::<CNameAttach>()) }.cast::<CNameAttach>();
    if block.is_null() {
        // Not to be left attached with no struct to detach it by.
        forget(&a);
        return Err(Errno::ENOMEM);
    }
    // SAFETY: a fresh malloc'd block of the struct's size, aligned for any type (malloc's
    // promise), ours alone.
    unsafe {
        block.write(CNameAttach {
            dpp,
            chid: a.chid,
            mntid: a.mntid,
            zero: [0; 2],
        })
    };
    LIVE.insert(block);
    Ok(block)
}

/// `name_attach(dpp, path, flags)`: registers `path` in the local namespace or, with
/// `NAME_FLAG_ATTACH_GLOBAL`, the global one, for the channel of dispatch handle `dpp` (made
/// now if it has none yet; the name counts as an attach, and the handle answers the name's
/// `_IO_CONNECT`s with EOK unless a handler takes type `_IO_CONNECT`) or, with `dpp` NULL, for a
/// new channel (`_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT`, and `_NTO_CHF_COID_DISCONNECT` if the
/// process has no death channel yet). Returns a `malloc`'d `name_attach_t` (`dpp` as given, the
/// `chid` to receive on, the `mntid`), for `name_detach`. NULL and `errno`: EINVAL `path` NULL,
/// empty, not UTF-8, starting with '/' or with a ".." component, unknown flags, or `dpp` not a
/// live dispatch handle; ENAMETOOLONG over 127 bytes; EEXIST the name is taken in its
/// namespace; EAGAIN no room; ENOMEM.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string, readable during the call; `dpp` NULL or a live
/// handle from `dispatch_create*`.
#[no_mangle]
pub unsafe extern "C" fn name_attach(
    dpp: *mut c_void,
    path: *const c_char,
    flags: c_uint,
) -> *mut CNameAttach {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    match guard(|| unsafe { attach(dpp, path, flags) }) {
        Ok(p) => p,
        Err(e) => {
            set_errno(e);
            ptr::null_mut()
        }
    }
}

unsafe fn detach(attach: *mut CNameAttach, flags: c_uint) -> KResult<c_int> {
    // Claimed by this call (a concurrent or later detach of it is EINVAL), put back on failure.
    if !LIVE.take(attach) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: forwarded.
    let r = unsafe { detach_live(attach, flags) };
    if r.is_err() {
        LIVE.insert(attach);
    }
    r
}

/// [`detach`] of a struct of [`LIVE`].
///
/// # Safety
/// `attach` is a live `name_attach_t` from `name_attach`.
unsafe fn detach_live(attach: *mut CNameAttach, flags: c_uint) -> KResult<c_int> {
    // SAFETY: a `name_attach_t` of `LIVE`, not freed yet (our caller's promise).
    let a = unsafe { attach.as_ref() }.copied().ok_or(Errno::EINVAL)?;
    let name = NameAttach {
        chid: a.chid,
        mntid: a.mntid,
    };
    if a.dpp.is_null() {
        qnx::name_detach(&name, flags)?;
    } else {
        if flags & !NAME_FLAG_DETACH_SAVEDPP != 0 {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the handle given to name_attach, live (our caller's promise).
        let e = unsafe { crate::dispatch::engine(a.dpp.cast())? };
        qnx::name_detach(&name, NAME_FLAG_DETACH_SAVEDPP)?;
        e.forget_name(a.mntid);
        if flags & NAME_FLAG_DETACH_SAVEDPP == 0 {
            // SAFETY: as above; the handle is not used after this.
            unsafe { crate::dispatch::dispatch_destroy(a.dpp.cast()) };
        }
    }
    // SAFETY: the struct came from name_attach's malloc (our caller's promise) and is freed
    // once, now that its name is gone.
    unsafe { libc::free(attach.cast()) };
    Ok(0)
}

/// `name_detach(attach, flags)`: removes the name (a later `name_open` of it: ENOENT) and,
/// unless `NAME_FLAG_DETACH_SAVEDPP`, destroys its channel (its receivers get ESRCH, its
/// clients' sends EBADF) and its dispatch handle if it has one (`dispatch_destroy`); then
/// frees `attach`. -1 and `errno` (`attach` not freed): EINVAL `attach` NULL, not a
/// `name_attach_t` of `name_attach`'s or detached already (a second `name_detach`), or not a
/// name of this process, or unknown flags.
///
/// # Safety
/// `attach` is NULL, any pointer (one that is not a live `name_attach_t` of `name_attach`'s,
/// such as one detached already, is refused unread), or a live one (it is freed on
/// success), whose dispatch handle is live and, unless `NAME_FLAG_DETACH_SAVEDPP`, used by no
/// other thread after the call; a struct that is not is rejected only if the kernel does not
/// know its ids.
#[no_mangle]
pub unsafe extern "C" fn name_detach(attach: *mut CNameAttach, flags: c_uint) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe { detach(attach, flags) }))
}

unsafe fn open(name: *const c_char, flags: c_int) -> KResult<c_int> {
    // SAFETY: forwarded.
    let name = unsafe { name_in(name)? };
    qnx::name_open(name, flags as u32)
}

/// `name_open(name, flags)`: finds the name (local names first, then global ones), connects a
/// side-channel coid to its server (`_NTO_COF_CLOEXEC`), whose answer to the `_IO_CONNECT` it
/// sends decides: EOK gives the coid. -1 and `errno`: ENOENT no such name; EINVAL `name` NULL,
/// empty, not UTF-8 or starting with '/'; the server's error (the coid is detached again).
/// Blocks in SEND and REPLY while the server answers (as on QNX, several kernel calls are
/// made: a `TimerTimeout` armed before it does not bound that send).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string, readable during the call.
#[no_mangle]
pub unsafe extern "C-unwind" fn name_open(name: *const c_char, flags: c_int) -> c_int {
    // A cancellation point, as QNX's (an open), which never loses the connection it made
    // (capi/src/cancel.rs).
    plain(crate::cancel::point_keeping(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        guard(|| unsafe { open(name, flags) })
    }))
}

/// `name_close(fd)`: `ConnectDetach(fd)`. Nothing is sent: the server gets
/// `_PULSE_CODE_DISCONNECT` when the process's last connection to it goes. -1 and EINVAL: no
/// such coid.
#[no_mangle]
pub extern "C" fn name_close(fd: c_int) -> c_int {
    plain(guard(|| qnx::name_close(fd).map(|()| 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno() -> i32 {
        // SAFETY: the calling thread's errno, always valid to read.
        unsafe { *libc::__errno_location() }
    }

    #[test]
    fn a_pointer_that_is_no_dispatch_handle_and_null_pointers_are_einval() {
        let mut not_a_handle = [0u64; 64];
        let dpp = not_a_handle.as_mut_ptr().cast::<c_void>();
        // SAFETY: a NUL-terminated path; `dpp` is readable memory that is not a handle.
        let a = unsafe { name_attach(dpp, c"qnxsim/unit".as_ptr(), 0) };
        assert!(a.is_null());
        assert_eq!(errno(), libc::EINVAL);
        // SAFETY: NULL pointers, which the calls reject.
        unsafe {
            assert!(name_attach(ptr::null_mut(), ptr::null(), 0).is_null());
            assert_eq!(errno(), libc::EINVAL);
            assert_eq!(name_detach(ptr::null_mut(), 0), -1);
            assert_eq!(errno(), libc::EINVAL);
            assert_eq!(name_open(ptr::null(), 0), -1);
            assert_eq!(errno(), libc::EINVAL);
        }
    }

    #[test]
    fn a_path_that_is_not_utf8_is_einval() {
        // SAFETY: a NUL-terminated path.
        let a = unsafe { name_attach(ptr::null_mut(), c"bad/\xff".as_ptr(), 0) };
        assert!(a.is_null());
        assert_eq!(errno(), libc::EINVAL);
    }
}
