//! `<sys/iofunc.h>`: QNX's POSIX layer for C resource managers. The structures are the C
//! program's (`iofunc_attr_t`, `iofunc_ocb_t`, `iofunc_mount_t`, in QNX 7.1's 64-bit layouts,
//! mirrored here with size and offset asserts), and the default handlers read and write them
//! in place with the rules of QNX's library (reference §4.5): permissions, share modes, open
//! counts, positions, `DCMD_ALL_*`, notify lists.
//!
//! The attribute lock lives in `iofunc_attr_t` where QNX's 8-byte `pthread_mutex_t` is: a
//! recursive lock of our own (glibc's mutex is 40 bytes), a futex word holding the owner's
//! Linux tid (with a waiters bit) and a recursion count. Zeroed, it is unlocked.

use crate::dispatch::CContext;
use crate::guard;
use crate::resmgr::{CConnectFn, CConnectFuncs, CIoFn, CIoFuncs, CONNECT_NFUNCS, IO_NFUNCS};
use crate::sigevent::{CSigEvent, SIGEV_64BIT};
use kernel_sim::{Errno, KResult};
use libc::{c_int, c_uint, c_void, gid_t, mode_t, off_t, size_t, time_t, uid_t};
use std::mem::{offset_of, size_of};
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};
use userlib::iomsg::*;
use userlib::resmgr::{_RESMGR_DEFAULT, _RESMGR_NPARTS};

// ------------------------------------------------------------------ the structures

/// `iofunc_attr_t` (QNX 7.1, 64-bit: 128 bytes).
#[repr(C)]
#[derive(Debug)]
pub struct CAttr {
    /// `IOFUNC_MOUNT_T *mount`.
    pub mount: *mut CMount,
    /// `mmap_list`.
    pub mmap_list: *mut c_void,
    /// `lock_list`.
    pub lock_list: *mut c_void,
    /// `acl`.
    pub acl: *mut c_void,
    /// The lock: owner (futex word) and count.
    pub lock: [u32; 2],
    /// `IOFUNC_ATTR_*`.
    pub flags: u32,
    /// `count`.
    pub count: u16,
    /// `rcount`.
    pub rcount: u16,
    /// `wcount`.
    pub wcount: u16,
    /// `rlocks`.
    pub rlocks: u16,
    /// `wlocks`.
    pub wlocks: u16,
    /// `reserved`.
    pub reserved: u16,
    /// `nbytes`.
    pub nbytes: off_t,
    /// `inode`.
    pub inode: u64,
    /// `uid`.
    pub uid: uid_t,
    /// `gid`.
    pub gid: gid_t,
    /// `mtime`.
    pub mtime: time_t,
    /// `atime`.
    pub atime: time_t,
    /// `ctime`.
    pub ctime: time_t,
    /// `mode`.
    pub mode: mode_t,
    /// `nlink` (32 bits, QNX's).
    pub nlink: u32,
    /// `rdev` (32 bits, QNX's).
    pub rdev: u32,
    /// `mtime_ns`.
    pub mtime_ns: u32,
    /// `atime_ns`.
    pub atime_ns: u32,
    /// `ctime_ns`.
    pub ctime_ns: u32,
}

/// `iofunc_ocb_t` (40 bytes).
#[repr(C)]
#[derive(Debug)]
pub struct COcb {
    /// `IOFUNC_ATTR_T *attr`.
    pub attr: *mut CAttr,
    /// `ioflag`.
    pub ioflag: i32,
    /// `offset`.
    pub offset: off_t,
    /// `sflag`.
    pub sflag: u16,
    /// `flags`.
    pub flags: u16,
    /// `reserved`.
    pub reserved: *mut c_void,
}

/// `iofunc_funcs_t`.
#[repr(C)]
#[derive(Debug)]
pub struct CFuncs {
    /// `_IOFUNC_NFUNCS` (5).
    pub nfuncs: c_uint,
    /// `ocb_calloc`.
    pub ocb_calloc: Option<unsafe extern "C" fn(*mut CContext, *mut CAttr) -> *mut COcb>,
    /// `ocb_free`.
    pub ocb_free: Option<unsafe extern "C" fn(*mut COcb)>,
    /// `attr_lock`.
    pub attr_lock: Option<unsafe extern "C" fn(*mut CAttr) -> c_int>,
    /// `attr_unlock`.
    pub attr_unlock: Option<unsafe extern "C" fn(*mut CAttr) -> c_int>,
    /// `attr_trylock`.
    pub attr_trylock: Option<unsafe extern "C" fn(*mut CAttr) -> c_int>,
}

/// `iofunc_mount_t` (80 bytes).
#[repr(C)]
#[derive(Debug)]
pub struct CMount {
    /// `flags`.
    pub flags: u32,
    /// `conf`.
    pub conf: u32,
    /// `dev` (32 bits).
    pub dev: u32,
    /// `blocksize`.
    pub blocksize: i32,
    /// `funcs`.
    pub funcs: *const CFuncs,
    /// `power`.
    pub power: *mut c_void,
    /// `size`.
    pub size: size_t,
    /// `ext_flags`.
    pub ext_flags: u32,
    /// `timeres`.
    pub timeres: u32,
    /// `reserved`.
    pub reserved: [u64; 4],
}

pub use crate::neutrino::{CClientInfo, CCredInfo};

/// `iofunc_notify_event_t`.
#[repr(C)]
#[derive(Debug)]
pub struct CNotifyEvent {
    /// `next`.
    pub next: *mut CNotifyEvent,
    /// The client's rcvid (of its ionotify).
    pub rcvid: c_int,
    /// `scoid`.
    pub scoid: c_int,
    /// The threshold.
    pub cnt: c_int,
    /// The event (the C struct sigevent).
    pub event: CSigEvent,
    /// `flags`.
    pub flags: c_uint,
    /// `coid`.
    pub coid: c_int,
}

/// `iofunc_notify_t`.
#[repr(C)]
#[derive(Debug)]
pub struct CNotify {
    /// The lowest armed threshold (`INT_MAX`: none).
    pub cnt: c_int,
    /// The armed entries.
    pub list: *mut CNotifyEvent,
}

const _: () = assert!(size_of::<CAttr>() == 128);
const _: () = assert!(offset_of!(CAttr, lock) == 32);
const _: () = assert!(offset_of!(CAttr, flags) == 40);
const _: () = assert!(offset_of!(CAttr, count) == 44);
const _: () = assert!(offset_of!(CAttr, nbytes) == 56);
const _: () = assert!(offset_of!(CAttr, uid) == 72);
const _: () = assert!(offset_of!(CAttr, mtime) == 80);
const _: () = assert!(offset_of!(CAttr, mode) == 104);
const _: () = assert!(offset_of!(CAttr, rdev) == 112);
const _: () = assert!(offset_of!(CAttr, ctime_ns) == 124);
const _: () = assert!(size_of::<COcb>() == 40);
const _: () = assert!(offset_of!(COcb, offset) == 16);
const _: () = assert!(offset_of!(COcb, sflag) == 24);
const _: () = assert!(size_of::<CMount>() == 80);
const _: () = assert!(offset_of!(CMount, funcs) == 16);
const _: () = assert!(offset_of!(CMount, size) == 32);
const _: () = assert!(size_of::<CFuncs>() == 48);
const _: () = assert!(size_of::<CNotifyEvent>() == 96);
const _: () = assert!(offset_of!(CNotifyEvent, event) == 24);
const _: () = assert!(size_of::<CNotify>() == 16);

/// `IOFUNC_ATTR_MTIME`, `_ATIME`, `_CTIME`, `_DIRTY_TIME`.
pub const IOFUNC_ATTR_MTIME: u32 = 0x1;
/// `IOFUNC_ATTR_ATIME`.
pub const IOFUNC_ATTR_ATIME: u32 = 0x2;
/// `IOFUNC_ATTR_CTIME`.
pub const IOFUNC_ATTR_CTIME: u32 = 0x4;
/// `IOFUNC_ATTR_DIRTY_TIME`.
pub const IOFUNC_ATTR_DIRTY_TIME: u32 = 0x40;
/// `IOFUNC_OCB_LAST_*`.
const LAST_INUSE: c_int = 0x1;
const LAST_READER: c_int = 0x2;
const LAST_WRITER: c_int = 0x4;
const LAST_RDLOCK: c_int = 0x8;
const LAST_WRLOCK: c_int = 0x10;
/// `_MOUNT_READONLY`, `_MOUNT_NOATIME`, `IOFUNC_MOUNT_FLAGS`, `IOFUNC_PC_SYNC_IO`.
const MOUNT_READONLY: u32 = 0x1;
const MOUNT_NOATIME: u32 = 0x80;
const IOFUNC_MOUNT_FLAGS: u32 = 0xFF;
const IOFUNC_PC_SYNC_IO: u32 = 0x4;
/// The `oflag` bits `fcntl(F_SETFL)` (`DCMD_ALL_SETFLAGS`) changes (Linux's values).
const O_SETFLAG: i32 = libc::O_APPEND | libc::O_NONBLOCK | libc::O_DSYNC | libc::O_SYNC;
const O_SYNCS: i32 = libc::O_DSYNC | libc::O_SYNC | libc::O_RSYNC;

/// A handler's result: the value, or the errno as the handler returns it.
fn code(r: KResult<c_int>) -> c_int {
    match r {
        Ok(v) => v,
        Err(e) => e.0,
    }
}

/// Runs `f` with panics turned into EFAULT; the errno as a handler returns it.
fn run(f: impl FnOnce() -> KResult<c_int>) -> c_int {
    code(guard(f))
}

fn nonnull<T>(p: *mut T) -> KResult<*mut T> {
    if p.is_null() {
        Err(Errno::EINVAL)
    } else {
        Ok(p)
    }
}

// ------------------------------------------------------------------ the attribute lock

const WAITERS: u32 = 0x8000_0000;

thread_local! {
    static TID: u32 = {
        // SAFETY: gettid has no precondition.
        (unsafe { libc::gettid() }) as u32
    };
}

fn me() -> u32 {
    TID.with(|t| *t)
}

/// The lock's two words.
///
/// # Safety
/// `attr` is a live `iofunc_attr_t`.
unsafe fn lock_words<'a>(attr: *mut CAttr) -> (&'a AtomicU32, &'a AtomicU32) {
    // SAFETY: the words are inside the live attr, 4-aligned (offset 32 of an 8-aligned
    // struct); every access to them goes through these atomics.
    unsafe {
        let p = ptr::addr_of_mut!((*attr).lock).cast::<u32>();
        (AtomicU32::from_ptr(p), AtomicU32::from_ptr(p.add(1)))
    }
}

fn futex(word: &AtomicU32, op: c_int, val: u32) {
    // SAFETY: FUTEX_WAIT/FUTEX_WAKE on a live aligned word; no timeout, no second word.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            op | libc::FUTEX_PRIVATE_FLAG,
            val,
            ptr::null::<libc::timespec>(),
            ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Locks (recursively). EOK.
///
/// # Safety
/// `attr` is a live `iofunc_attr_t`.
unsafe fn lock(attr: *mut CAttr) -> c_int {
    let me = me();
    // SAFETY: our caller's promise.
    let (owner, count) = unsafe { lock_words(attr) };
    let cur = owner.load(Ordering::Relaxed);
    if cur & !WAITERS == me {
        count.fetch_add(1, Ordering::Relaxed);
        return 0;
    }
    if owner
        .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        loop {
            let cur = owner.load(Ordering::Relaxed);
            if cur == 0 {
                // Taken after contention: keep the waiters bit, others may still wait.
                if owner
                    .compare_exchange(0, me | WAITERS, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    break;
                }
                continue;
            }
            if cur & WAITERS == 0
                && owner
                    .compare_exchange(cur, cur | WAITERS, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            futex(owner, libc::FUTEX_WAIT, cur | WAITERS);
        }
    }
    count.store(1, Ordering::Relaxed);
    0
}

/// Unlocks one level. EPERM: not the owner.
///
/// # Safety
/// `attr` is a live `iofunc_attr_t`.
unsafe fn unlock(attr: *mut CAttr) -> c_int {
    // SAFETY: our caller's promise.
    let (owner, count) = unsafe { lock_words(attr) };
    if owner.load(Ordering::Relaxed) & !WAITERS != me() {
        return Errno::EPERM.0;
    }
    let n = count.load(Ordering::Relaxed);
    if n > 1 {
        count.store(n - 1, Ordering::Relaxed);
        return 0;
    }
    count.store(0, Ordering::Relaxed);
    if owner.swap(0, Ordering::Release) & WAITERS != 0 {
        futex(owner, libc::FUTEX_WAKE, 1);
    }
    0
}

/// `iofunc_attr_lock(attr)`: locks the attribute (recursive: its owner may lock it again).
/// EOK; EINVAL `attr` NULL.
///
/// # Safety
/// `attr` NULL or a live `iofunc_attr_t`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_attr_lock(attr: *mut CAttr) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| Ok(unsafe { lock(nonnull(attr)?) }))
}

/// `iofunc_attr_unlock(attr)`: unlocks one level. EOK; EPERM the caller does not hold it.
///
/// # Safety
/// `attr` NULL or a live `iofunc_attr_t`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_attr_unlock(attr: *mut CAttr) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| Ok(unsafe { unlock(nonnull(attr)?) }))
}

/// `iofunc_attr_trylock(attr)`: locks it if free or the caller's. EOK; EBUSY another thread
/// holds it.
///
/// # Safety
/// `attr` NULL or a live `iofunc_attr_t`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_attr_trylock(attr: *mut CAttr) -> c_int {
    run(|| {
        let attr = nonnull(attr)?;
        let me = me();
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let (owner, count) = unsafe { lock_words(attr) };
        if owner.load(Ordering::Relaxed) & !WAITERS == me {
            count.fetch_add(1, Ordering::Relaxed);
            return Ok(0);
        }
        owner
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .map_err(|_| Errno::EBUSY)?;
        count.store(1, Ordering::Relaxed);
        Ok(0)
    })
}

/// The mount's override `i` (1: ocb_calloc ... 5: attr_trylock) if the mount has one.
///
/// # Safety
/// `attr` is a live `iofunc_attr_t` whose mount (if any) and its funcs are live.
unsafe fn mount_funcs<'a>(attr: *const CAttr, want: u32) -> Option<&'a CFuncs> {
    // SAFETY: our caller's promise.
    unsafe {
        let m = (*attr).mount;
        if m.is_null() || (*m).funcs.is_null() || (*(*m).funcs).nfuncs < want {
            return None;
        }
        Some(&*(*m).funcs)
    }
}

/// `iofunc_lock_ocb_default(ctp, reserved, ocb)`: locks the OCB's attribute (the mount's
/// `attr_lock` if it has one). EOK.
///
/// # Safety
/// `ocb` a live OCB with a live attribute.
#[no_mangle]
pub unsafe extern "C" fn iofunc_lock_ocb_default(
    _ctp: *mut CContext,
    _reserved: *mut c_void,
    ocb: *mut COcb,
) -> c_int {
    run(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let attr = unsafe { (*nonnull(ocb)?).attr };
        let attr = nonnull(attr)?;
        // SAFETY: as above.
        match unsafe { mount_funcs(attr, 3) }.and_then(|f| f.attr_lock) {
            // SAFETY: the program's override, called as QNX calls it.
            Some(f) => Ok(unsafe { f(attr) }),
            // SAFETY: as above.
            None => Ok(unsafe { lock(attr) }),
        }
    })
}

/// `iofunc_unlock_ocb_default(ctp, reserved, ocb)`: unlocks it (the mount's `attr_unlock`).
///
/// # Safety
/// As `iofunc_lock_ocb_default`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_unlock_ocb_default(
    _ctp: *mut CContext,
    _reserved: *mut c_void,
    ocb: *mut COcb,
) -> c_int {
    run(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let attr = unsafe { (*nonnull(ocb)?).attr };
        let attr = nonnull(attr)?;
        // SAFETY: as above.
        match unsafe { mount_funcs(attr, 4) }.and_then(|f| f.attr_unlock) {
            // SAFETY: the program's override, called as QNX calls it.
            Some(f) => Ok(unsafe { f(attr) }),
            // SAFETY: as above.
            None => Ok(unsafe { unlock(attr) }),
        }
    })
}

// ------------------------------------------------------------------ set-up

/// `iofunc_func_init(nconnect, connect, nio, io)`: fills the first `nconnect` (at most 8)
/// connect slots and `nio` (at most 33) I/O slots with the defaults (`open`:
/// `iofunc_open_default`; `read`, `write`, `close_ocb`, `stat`, `devctl`, `unblock`, `lseek`,
/// `close_dup`, `lock_ocb`, `unlock_ocb`: theirs; the others NULL) and sets `nfuncs`.
///
/// # Safety
/// `connect` NULL or a table of at least `nconnect` slots; `io` likewise of `nio`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_func_init(
    nconnect: c_uint,
    connect: *mut CConnectFuncs,
    nio: c_uint,
    io: *mut CIoFuncs,
) {
    let nc = (nconnect as usize).min(CONNECT_NFUNCS);
    if !connect.is_null() {
        let open: CConnectFn = iofunc_open_default_erased;
        // SAFETY: a table of `nconnect` slots (our caller's promise); `nc` of them written.
        unsafe {
            (*connect).nfuncs = nc as c_uint;
            let f = ptr::addr_of_mut!((*connect).funcs).cast::<Option<CConnectFn>>();
            for i in 0..nc {
                f.add(i).write(if i == 0 { Some(open) } else { None });
            }
        }
    }
    let ni = (nio as usize).min(IO_NFUNCS);
    if !io.is_null() {
        let mut d: [Option<CIoFn>; IO_NFUNCS] = [None; IO_NFUNCS];
        let at = |t: u16| usize::from(t - _IO_READ);
        d[at(_IO_READ)] = Some(erased::read);
        d[at(_IO_WRITE)] = Some(erased::write);
        d[at(_IO_RSVD_CLOSE_OCB)] = Some(erased::close_ocb);
        d[at(_IO_STAT)] = Some(erased::stat);
        d[at(_IO_DEVCTL)] = Some(erased::devctl);
        d[at(_IO_RSVD_UNBLOCK)] = Some(erased::unblock);
        d[at(_IO_LSEEK)] = Some(erased::lseek);
        d[at(_IO_CLOSE)] = Some(erased::close_dup);
        d[at(_IO_RSVD_LOCK_OCB)] = Some(erased::lock_ocb);
        d[at(_IO_RSVD_UNLOCK_OCB)] = Some(erased::unlock_ocb);
        // SAFETY: a table of `nio` slots (our caller's promise); `ni` of them written.
        unsafe {
            (*io).nfuncs = ni as c_uint;
            let f = ptr::addr_of_mut!((*io).funcs).cast::<Option<CIoFn>>();
            for (i, v) in d.iter().enumerate().take(ni) {
                f.add(i).write(*v);
            }
        }
    }
}

/// The default I/O handlers with the table slots' erased signature (`void *` message and OCB).
mod erased {
    use super::*;

    macro_rules! erase {
        ($($name:ident = $f:ident;)*) => {$(
            /// The default handler of this slot, taking the slot's `void *` arguments.
            pub(super) unsafe extern "C" fn $name(
                ctp: *mut CContext,
                msg: *mut c_void,
                ocb: *mut c_void,
            ) -> c_int {
                // SAFETY: the slot's arguments as the engine passes them: the context, the
                // message this handler takes (or NULL), the OCB bound (an iofunc_ocb_t first).
                unsafe { $f(ctp, msg.cast(), ocb.cast()) }
            }
        )*};
    }

    erase! {
        read = iofunc_read_default;
        write = iofunc_write_default;
        close_ocb = iofunc_close_ocb_default;
        stat = iofunc_stat_default;
        devctl = iofunc_devctl_default;
        unblock = iofunc_unblock_default;
        lseek = iofunc_lseek_default;
        close_dup = iofunc_close_dup_default;
        lock_ocb = iofunc_lock_ocb_default;
        unlock_ocb = iofunc_unlock_ocb_default;
    }
}

/// `iofunc_open_default` with the connect slot's erased signature.
unsafe extern "C" fn iofunc_open_default_erased(
    ctp: *mut CContext,
    msg: *mut c_void,
    attr: *mut c_void,
    extra: *mut c_void,
) -> c_int {
    // SAFETY: the slot's arguments, as the engine passes them to `open`.
    unsafe { iofunc_open_default(ctp, msg.cast(), attr.cast(), extra) }
}

fn now() -> (time_t, u32) {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec, ts.tv_nsec as u32)
}

/// `iofunc_attr_init(attr, mode, dattr, info)`: zeroes `*attr`; the mount is `dattr`'s; the
/// times are due (`IOFUNC_ATTR_MTIME | ATIME | CTIME | DIRTY_TIME`); the owner is `info`'s
/// effective uid (else the server's), the group `dattr`'s if it is set-gid, else `info`'s
/// effective gid (else the server's); `nlink` 1.
///
/// # Safety
/// `attr` NULL or a writable `iofunc_attr_t`; `dattr`, `info` NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn iofunc_attr_init(
    attr: *mut CAttr,
    mode: mode_t,
    dattr: *mut CAttr,
    info: *mut CClientInfo,
) {
    let _ = guard(|| {
        let attr = nonnull(attr)?;
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        unsafe {
            ptr::write_bytes(attr, 0, 1);
            let info = info.as_ref();
            let dattr = dattr.as_ref();
            (*attr).mount = dattr.map_or(ptr::null_mut(), |d| d.mount);
            (*attr).flags =
                IOFUNC_ATTR_DIRTY_TIME | IOFUNC_ATTR_MTIME | IOFUNC_ATTR_ATIME | IOFUNC_ATTR_CTIME;
            (*attr).uid = info.map_or_else(|| libc::getuid(), |i| i.cred.euid);
            (*attr).gid = match dattr {
                Some(d) if d.mode & libc::S_ISGID != 0 => d.gid,
                _ => info.map_or_else(|| libc::getgid(), |i| i.cred.egid),
            };
            (*attr).mode = mode;
            (*attr).nlink = 1;
        }
        Ok(0)
    });
}

/// `iofunc_mount_init(mountp, size)`: zeroes `size` bytes of the mount and records `size`.
/// EOK; EINVAL NULL or a size under `sizeof(iofunc_mount_t)`.
///
/// # Safety
/// `mountp` NULL or writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn iofunc_mount_init(mountp: *mut CMount, size: size_t) -> c_int {
    run(|| {
        let m = nonnull(mountp)?;
        if size < size_of::<CMount>() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        unsafe {
            ptr::write_bytes(m.cast::<u8>(), 0, size);
            (*m).size = size;
        }
        Ok(0)
    })
}

/// `iofunc_time_update(attr)`: each due time (`IOFUNC_ATTR_MTIME`, `ATIME`, `CTIME`) becomes
/// now, and `IOFUNC_ATTR_DIRTY_TIME` is set (not on a read-only mount; `ATIME` not on a
/// `_MOUNT_NOATIME` one). EOK.
///
/// # Safety
/// `attr` NULL or a live `iofunc_attr_t`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_time_update(attr: *mut CAttr) -> c_int {
    run(|| {
        let a = nonnull(attr)?;
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        unsafe {
            let mflags = (*a).mount.as_ref().map_or(0, |m| m.flags);
            let due = (*a).flags & (IOFUNC_ATTR_MTIME | IOFUNC_ATTR_ATIME | IOFUNC_ATTR_CTIME);
            if due == 0 {
                return Ok(0);
            }
            (*a).flags &= !due;
            if mflags & MOUNT_READONLY != 0 {
                return Ok(0);
            }
            let (s, ns) = now();
            if due & IOFUNC_ATTR_MTIME != 0 {
                (*a).mtime = s;
                (*a).mtime_ns = ns;
            }
            if due & IOFUNC_ATTR_ATIME != 0 && mflags & MOUNT_NOATIME == 0 {
                (*a).atime = s;
                (*a).atime_ns = ns;
            }
            if due & IOFUNC_ATTR_CTIME != 0 {
                (*a).ctime = s;
                (*a).ctime_ns = ns;
            }
            (*a).flags |= IOFUNC_ATTR_DIRTY_TIME;
        }
        Ok(0)
    })
}

// ------------------------------------------------------------------ credentials

/// The client of a context, as `ConnectClientInfo(ctp->info.scoid, info, NGROUPS_MAX_QNX)`
/// gives it (QNX's `iofunc_client_info`); for a context whose `info` names no scoid of ours
/// (one not filled by a receive), the Linux process `ctp->info.pid` names (this program's
/// clients' pids are their Linux pids). Either way the ids are Linux's, read by the one reader
/// (`userlib::qnx::client_info_linux`).
///
/// # Safety
/// `ctp` a live context.
unsafe fn client_of(ctp: *const CContext) -> KResult<CClientInfo> {
    // SAFETY: our caller's promise.
    let info = unsafe { ctp.as_ref() }.ok_or(Errno::EINVAL)?.info;
    // (-1 would name the caller itself: a kernel pulse's scoid, not a client.)
    let by_scoid = if info.scoid == -1 {
        Err(Errno::EINVAL)
    } else {
        crate::neutrino::client_info(info.scoid)
    };
    let ci = match by_scoid {
        Err(Errno::EINVAL) => userlib::qnx::client_info_linux(info.pid, info.pid)?,
        r => r?,
    };
    let mut out = CClientInfo::default();
    // SAFETY: a whole `struct _client_info` of ours, room for its 8 groups.
    unsafe { crate::neutrino::client_info_out(&mut out, &ci, crate::neutrino::CRED_GROUPS) };
    Ok(out)
}

/// `iofunc_client_info(ctp, ioflag, info)`: the client of the context's message, as
/// `ConnectClientInfo(ctp->info.scoid, info, NGROUPS_MAX_QNX)` gives it (for a context not
/// filled by a receive: the Linux process `ctp->info.pid`): its pid (a program's Linux pid),
/// session, `_NTO_CI_*` flags, and its Linux uids and gids (from `/proc/<pid>`: the kernel
/// keeps no credentials). EOK; EINVAL NULL; ESRCH the client has ended; EPERM its ids are not
/// readable.
///
/// # Safety
/// `ctp` NULL or a live context; `info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn iofunc_client_info(
    ctp: *mut CContext,
    _ioflag: c_int,
    info: *mut CClientInfo,
) -> c_int {
    run(|| {
        let out = nonnull(info)?;
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        unsafe { out.write(client_of(ctp)?) };
        Ok(0)
    })
}

/// `iofunc_client_info_ext(ctp, ioflag, &info)`: as `iofunc_client_info`, into a `malloc`'d
/// struct (`iofunc_client_info_ext_free` frees it). EOK; EINVAL; ENOMEM.
///
/// # Safety
/// `ctp` NULL or a live context; `info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn iofunc_client_info_ext(
    ctp: *mut CContext,
    _ioflag: c_int,
    info: *mut *mut CClientInfo,
) -> c_int {
    run(|| {
        let out = nonnull(info)?;
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let c = unsafe { client_of(ctp)? };
        // SAFETY: malloc has no precondition; the block is checked and written whole.
        unsafe {
            let p = libc::malloc(size_of::<CClientInfo>()).cast::<CClientInfo>();
            if p.is_null() {
                return Err(Errno::ENOMEM);
            }
            p.write(c);
            out.write(p);
        }
        Ok(0)
    })
}

/// `iofunc_client_info_ext_free(&info)`: frees it and sets `info` NULL. EOK.
///
/// # Safety
/// `info` NULL or points at NULL or at a struct from `iofunc_client_info_ext`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_client_info_ext_free(info: *mut *mut CClientInfo) -> c_int {
    run(|| {
        let p = nonnull(info)?;
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        unsafe {
            libc::free(p.read().cast());
            p.write(ptr::null_mut());
        }
        Ok(0)
    })
}

/// `iofunc_check_access(ctp, attr, checkmode, info)`: EOK when `info`'s client may
/// `checkmode` (`S_IREAD`, `S_IWRITE`, `S_IEXEC`, `S_ISUID`, `S_ISGID`) the attribute: root
/// always; the owner by the owner bits, a member of the group by the group bits, others by
/// the others' bits. EACCES denied; EPERM only set-id asked and not granted; ENOSYS `info`
/// NULL.
///
/// # Safety
/// `attr` NULL or a live attribute; `info` NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn iofunc_check_access(
    _ctp: *mut CContext,
    attr: *const CAttr,
    checkmode: mode_t,
    info: *const CClientInfo,
) -> c_int {
    run(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let info = unsafe { info.as_ref() }.ok_or(Errno::ENOSYS)?;
        // SAFETY: as above.
        let attr = unsafe { attr.as_ref() }.ok_or(Errno::EINVAL)?;
        Ok(code(check_access(attr, checkmode, &info.cred)))
    })
}

fn in_group(c: &CCredInfo, gid: gid_t) -> bool {
    c.egid == gid || c.grouplist[..(c.ngroups as usize).min(8)].contains(&gid)
}

fn check_access(attr: &CAttr, checkmode: mode_t, c: &CCredInfo) -> KResult<c_int> {
    if c.euid == 0 {
        return Ok(0);
    }
    if checkmode & libc::S_ISUID != 0 && c.euid == attr.uid {
        return Ok(0);
    }
    if checkmode & libc::S_ISGID != 0 && in_group(c, attr.gid) {
        return Ok(0);
    }
    let want = checkmode & libc::S_IRWXU;
    if want == 0 {
        return if checkmode & (libc::S_ISUID | libc::S_ISGID) != 0 {
            Err(Errno::EPERM)
        } else {
            Ok(0)
        };
    }
    let have = if c.euid == attr.uid {
        attr.mode & libc::S_IRWXU
    } else if in_group(c, attr.gid) {
        (attr.mode & libc::S_IRWXG) << 3
    } else {
        (attr.mode & libc::S_IRWXO) << 6
    };
    if have & want == want {
        Ok(0)
    } else {
        Err(Errno::EACCES)
    }
}

// ------------------------------------------------------------------ open, OCBs, close

fn effective_ioflag(c: &IoConnect) -> i32 {
    (c.ioflag & (!_IO_FLAG_MASK | u32::from(c.access))) as i32
}

/// Reads the connect header at `msg`.
///
/// # Safety
/// `msg` points at a received connect message.
unsafe fn connect_of(msg: *const c_void) -> KResult<IoConnect> {
    if msg.is_null() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: our caller's promise: the header's 40 bytes are there.
    Ok(unsafe { msg.cast::<IoConnect>().read_unaligned() })
}

/// `iofunc_open(ctp, msg, attr, dattr, info)`: may this client open `attr` so? (`info` NULL:
/// `iofunc_client_info`'s.) EOK, or: EINVAL sync flags on a mount without
/// `IOFUNC_PC_SYNC_IO`; with `dattr` (a create): ENOENT without `O_CREAT`, `dattr`'s write
/// permission, then `attr` initialised; else EEXIST `O_CREAT | O_EXCL`, EBUSY a share-mode
/// conflict, EISDIR writing a directory, EROFS writing on a read-only mount, EACCES by mode.
///
/// # Safety
/// `ctp` a live context; `msg` its connect message; `attr` NULL or a live attribute; `dattr`,
/// `info` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn iofunc_open(
    ctp: *mut CContext,
    msg: *mut c_void,
    attr: *mut CAttr,
    dattr: *mut CAttr,
    info: *mut CClientInfo,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe { open(ctp, msg, attr, dattr, info) })
}

unsafe fn open(
    ctp: *mut CContext,
    msg: *mut c_void,
    attr: *mut CAttr,
    dattr: *mut CAttr,
    info: *mut CClientInfo,
) -> KResult<c_int> {
    // SAFETY: our caller's promises (as `iofunc_open`'s).
    unsafe {
        let c = connect_of(msg)?;
        let client = match info.as_ref() {
            Some(i) => *i,
            None => client_of(ctp)?,
        };
        let ioflag = effective_ioflag(&c);
        let rd = ioflag & i32::from(_IO_FLAG_RD) != 0;
        let wr = ioflag & i32::from(_IO_FLAG_WR) != 0;
        let mount_of = |a: *const CAttr| a.as_ref().and_then(|a| a.mount.as_ref());
        if ioflag & O_SYNCS != 0 {
            let m = mount_of(if attr.is_null() { dattr } else { attr });
            if m.is_none_or(|m| m.conf & IOFUNC_PC_SYNC_IO == 0) {
                return Err(Errno::EINVAL);
            }
        }
        if let Some(d) = dattr.as_ref() {
            if ioflag & libc::O_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            check_access(d, libc::S_IWUSR, &client.cred)?;
            let a = nonnull(attr)?;
            iofunc_attr_init(a, c.mode as mode_t, dattr, ptr::addr_of!(client).cast_mut());
            return Ok(0);
        }
        let a = attr.as_mut().ok_or(Errno::ENOENT)?;
        if ioflag & libc::O_CREAT != 0 && ioflag & libc::O_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        let sflag = c.sflag & SH_MASK;
        let deny_rd = sflag == SH_DENYRD || sflag == SH_DENYRW;
        let deny_wr = sflag == SH_DENYWR || sflag == SH_DENYRW;
        if (rd && a.rlocks != 0)
            || (wr && a.wlocks != 0)
            || (deny_rd && a.rcount != 0)
            || (deny_wr && a.wcount != 0)
        {
            return Err(Errno::EBUSY);
        }
        if wr && a.mode & libc::S_IFMT == libc::S_IFDIR {
            return Err(Errno::EISDIR);
        }
        if wr && mount_of(a).is_some_and(|m| m.flags & MOUNT_READONLY != 0) {
            return Err(Errno::EROFS);
        }
        let mut want = 0;
        if rd {
            want |= libc::S_IRUSR;
        }
        if wr {
            want |= libc::S_IWUSR;
        }
        if want != 0 {
            check_access(a, want, &client.cred)?;
        }
        if ioflag & libc::O_TRUNC != 0 && wr {
            a.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
        }
        Ok(0)
    }
}

/// `iofunc_ocb_calloc(ctp, attr)`: a zeroed `iofunc_ocb_t` (`calloc`); NULL when out of
/// memory.
///
/// # Safety
/// None beyond C's: the result is the caller's to `iofunc_ocb_free`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_ocb_calloc(_ctp: *mut CContext, _attr: *mut CAttr) -> *mut COcb {
    // SAFETY: calloc has no precondition.
    unsafe { libc::calloc(1, size_of::<COcb>()).cast() }
}

/// `iofunc_ocb_free(ocb)`: `free`s it.
///
/// # Safety
/// `ocb` NULL or from `iofunc_ocb_calloc`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_ocb_free(ocb: *mut COcb) {
    // SAFETY: our caller's promise.
    unsafe { libc::free(ocb.cast()) }
}

/// Frees an OCB the way it was allocated (the mount's `ocb_free`, else `free`).
///
/// # Safety
/// `ocb` live, `attr` its live attribute.
unsafe fn free_ocb(attr: *const CAttr, ocb: *mut COcb) {
    // SAFETY: our caller's promise.
    unsafe {
        match mount_funcs(attr, 2).and_then(|f| f.ocb_free) {
            Some(f) => f(ocb),
            None => iofunc_ocb_free(ocb),
        }
    }
}

/// `iofunc_ocb_attach(ctp, msg, ocb, attr, io_funcs)`: allocates the OCB if `ocb` is NULL (the
/// mount's `ocb_calloc`, else `iofunc_ocb_calloc`; ENFILE out of memory), fills it (`attr`,
/// the effective `ioflag`, `sflag`, offset 0), binds the client's connection to it
/// (`resmgr_open_bind`; on failure the OCB it allocated is freed and the errno returned) and
/// counts it in `attr` (`count`, `rcount`, `wcount`, `rlocks`, `wlocks`). EOK.
///
/// # Safety
/// `ctp` a live context of an open; `msg` its connect message; `ocb` NULL or a writable OCB;
/// `attr` a live attribute; `io_funcs` NULL or a table that lives while bound.
#[no_mangle]
pub unsafe extern "C" fn iofunc_ocb_attach(
    ctp: *mut CContext,
    msg: *mut c_void,
    ocb: *mut COcb,
    attr: *mut CAttr,
    io_funcs: *const CIoFuncs,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let c = connect_of(msg)?;
        let attr = nonnull(attr)?;
        let mine = ocb.is_null();
        let ocb = if mine {
            let p = match mount_funcs(attr, 1).and_then(|f| f.ocb_calloc) {
                Some(f) => f(ctp, attr),
                None => iofunc_ocb_calloc(ctp, attr),
            };
            if p.is_null() {
                return Err(Errno::ENFILE);
            }
            p
        } else {
            ocb
        };
        let ioflag = effective_ioflag(&c);
        (*ocb).attr = attr;
        (*ocb).ioflag = ioflag;
        (*ocb).offset = 0;
        (*ocb).sflag = c.sflag;
        (*ocb).flags = 0;
        if crate::resmgr::resmgr_open_bind(ctp, ocb.cast(), io_funcs) == -1 {
            let e = Errno(*libc::__errno_location());
            if mine {
                free_ocb(attr, ocb);
            }
            return Err(e);
        }
        let a = &mut *attr;
        let sflag = c.sflag & SH_MASK;
        if ioflag & i32::from(_IO_FLAG_RD) != 0 {
            a.rcount += 1;
        }
        if ioflag & i32::from(_IO_FLAG_WR) != 0 {
            a.wcount += 1;
        }
        if sflag == SH_DENYRD || sflag == SH_DENYRW {
            a.rlocks += 1;
        }
        if sflag == SH_DENYWR || sflag == SH_DENYRW {
            a.wlocks += 1;
        }
        a.count += 1;
        Ok(0)
    })
}

/// `iofunc_ocb_detach(ctp, ocb)`: takes the OCB out of its attribute's counts (a writer marks
/// the times due) and returns the `IOFUNC_OCB_LAST_*` bits of the counts that reached zero.
///
/// # Safety
/// `ocb` a live OCB with a live attribute.
#[no_mangle]
pub unsafe extern "C" fn iofunc_ocb_detach(_ctp: *mut CContext, ocb: *mut COcb) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let o = &*nonnull(ocb)?;
        let a = &mut *nonnull(o.attr)?;
        let mut bits = 0;
        let sflag = o.sflag & SH_MASK;
        if o.ioflag & i32::from(_IO_FLAG_RD) != 0 && a.rcount > 0 {
            a.rcount -= 1;
            if a.rcount == 0 {
                bits |= LAST_READER;
            }
        }
        if o.ioflag & i32::from(_IO_FLAG_WR) != 0 && a.wcount > 0 {
            a.wcount -= 1;
            if a.wcount == 0 {
                bits |= LAST_WRITER;
            }
        }
        if (sflag == SH_DENYRD || sflag == SH_DENYRW) && a.rlocks > 0 {
            a.rlocks -= 1;
            if a.rlocks == 0 {
                bits |= LAST_RDLOCK;
            }
        }
        if (sflag == SH_DENYWR || sflag == SH_DENYRW) && a.wlocks > 0 {
            a.wlocks -= 1;
            if a.wlocks == 0 {
                bits |= LAST_WRLOCK;
            }
        }
        if a.count > 0 {
            a.count -= 1;
            if a.count == 0 {
                bits |= LAST_INUSE;
            }
        }
        Ok(bits)
    })
}

/// `iofunc_close_ocb(ctp, ocb, attr)`: under the attribute's lock, `iofunc_ocb_detach`, then
/// the OCB is freed (the mount's `ocb_free`, else `free`). EOK.
///
/// # Safety
/// `ocb` a live OCB (freed here), `attr` its live attribute.
#[no_mangle]
pub unsafe extern "C" fn iofunc_close_ocb(
    ctp: *mut CContext,
    ocb: *mut COcb,
    attr: *mut CAttr,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let ocb = nonnull(ocb)?;
        let attr = nonnull(attr)?;
        lock(attr);
        iofunc_ocb_detach(ctp, ocb);
        free_ocb(attr, ocb);
        unlock(attr);
        Ok(0)
    })
}

/// `iofunc_close_ocb_default(ctp, reserved, ocb)`: `iofunc_close_ocb(ctp, ocb, ocb->attr)`.
///
/// # Safety
/// As `iofunc_close_ocb`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_close_ocb_default(
    ctp: *mut CContext,
    _reserved: *mut c_void,
    ocb: *mut COcb,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe { Ok(iofunc_close_ocb(ctp, ocb, (*nonnull(ocb)?).attr)) })
}

/// `iofunc_close_dup_default(ctp, msg, ocb)`: EOK (no record locks to release here).
///
/// # Safety
/// None.
#[no_mangle]
pub unsafe extern "C" fn iofunc_close_dup_default(
    _ctp: *mut CContext,
    _msg: *mut c_void,
    _ocb: *mut COcb,
) -> c_int {
    0
}

/// `iofunc_open_default(ctp, msg, attr, extra)`: under the attribute's lock, `iofunc_open`
/// then `iofunc_ocb_attach` with a new OCB. EOK or their errno.
///
/// # Safety
/// As `iofunc_open` and `iofunc_ocb_attach`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_open_default(
    ctp: *mut CContext,
    msg: *mut c_void,
    attr: *mut CAttr,
    _extra: *mut c_void,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let attr = nonnull(attr)?;
        lock(attr);
        let mut r = iofunc_open(ctp, msg, attr, ptr::null_mut(), ptr::null_mut());
        if r == 0 {
            r = iofunc_ocb_attach(ctp, msg, ptr::null_mut(), attr, ptr::null());
        }
        unlock(attr);
        Ok(r)
    })
}

// ------------------------------------------------------------------ read, write

/// Sets `*nonblock` from the OCB's `O_NONBLOCK` and the message's `_IO_XFLAG_*`.
///
/// # Safety
/// `nonblock` NULL or writable.
unsafe fn set_nonblock(nonblock: *mut c_int, ioflag: i32, xtype: u32) {
    // SAFETY: our caller's promise.
    if let Some(n) = unsafe { nonblock.as_mut() } {
        let mut v = ioflag & libc::O_NONBLOCK != 0;
        if xtype & _IO_XFLAG_NONBLOCK != 0 {
            v = true;
        }
        if xtype & _IO_XFLAG_BLOCK != 0 {
            v = false;
        }
        *n = c_int::from(v);
    }
}

/// `iofunc_read_verify(ctp, msg, ocb, nonblock)`: EBADF the OCB is not open for reading;
/// else EOK and `*nonblock` (if given): whether the read must not block.
///
/// # Safety
/// `msg` the received `io_read_t`; `ocb` a live OCB; `nonblock` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn iofunc_read_verify(
    _ctp: *mut CContext,
    msg: *mut IoRead,
    ocb: *mut COcb,
    nonblock: *mut c_int,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let o = &*nonnull(ocb)?;
        let m = nonnull(msg)?.read_unaligned();
        if o.ioflag & i32::from(_IO_FLAG_RD) == 0 {
            return Err(Errno::EBADF);
        }
        set_nonblock(nonblock, o.ioflag, m.xtype);
        Ok(0)
    })
}

/// `iofunc_write_verify(ctp, msg, ocb, nonblock)`: EBADF not open for writing; EROFS a
/// read-only mount; EISDIR a directory; with `O_APPEND` (and no `_IO_XTYPE_OFFSET`) the
/// offset moves to the end; EOK and `*nonblock`.
///
/// # Safety
/// As `iofunc_read_verify`, with the OCB's attribute live.
#[no_mangle]
pub unsafe extern "C" fn iofunc_write_verify(
    _ctp: *mut CContext,
    msg: *mut IoRead,
    ocb: *mut COcb,
    nonblock: *mut c_int,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let o = &mut *nonnull(ocb)?;
        let m = nonnull(msg)?.read_unaligned();
        if o.ioflag & i32::from(_IO_FLAG_WR) == 0 {
            return Err(Errno::EBADF);
        }
        if let Some(a) = o.attr.as_ref() {
            if a.mount
                .as_ref()
                .is_some_and(|mt| mt.flags & MOUNT_READONLY != 0)
            {
                return Err(Errno::EROFS);
            }
            if a.mode & libc::S_IFMT == libc::S_IFDIR {
                return Err(Errno::EISDIR);
            }
            if o.ioflag & libc::O_APPEND != 0 && m.xtype & _IO_XTYPE_MASK != _IO_XTYPE_OFFSET {
                o.offset = a.nbytes;
            }
        }
        set_nonblock(nonblock, o.ioflag, m.xtype);
        Ok(0)
    })
}

/// `iofunc_read_default(ctp, msg, ocb)`: `iofunc_read_verify`; ENOSYS an xtype; else a
/// reply of no data (end of file: the client's read returns 0). The offset stays.
///
/// # Safety
/// As `iofunc_read_verify`; `ctp` live.
#[no_mangle]
pub unsafe extern "C" fn iofunc_read_default(
    ctp: *mut CContext,
    msg: *mut IoRead,
    ocb: *mut COcb,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let r = iofunc_read_verify(ctp, msg, ocb, ptr::null_mut());
        if r != 0 {
            return Ok(r);
        }
        if msg.read_unaligned().xtype & _IO_XTYPE_MASK != _IO_XTYPE_NONE {
            return Err(Errno::ENOSYS);
        }
        (*nonnull(ctp)?).status = 0;
        Ok(0)
    })
}

/// `iofunc_write_default(ctp, msg, ocb)`: `iofunc_write_verify`; ENOSYS an xtype; else every
/// byte is taken (the status is the count, the data dropped: /dev/null) and, if any, the
/// modification times are due. The offset stays.
///
/// # Safety
/// As `iofunc_write_verify`; `ctp` live.
#[no_mangle]
pub unsafe extern "C" fn iofunc_write_default(
    ctp: *mut CContext,
    msg: *mut IoRead,
    ocb: *mut COcb,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let r = iofunc_write_verify(ctp, msg, ocb, ptr::null_mut());
        if r != 0 {
            return Ok(r);
        }
        let m = msg.read_unaligned();
        if m.xtype & _IO_XTYPE_MASK != _IO_XTYPE_NONE {
            return Err(Errno::ENOSYS);
        }
        let n = m.get_nbytes();
        (*nonnull(ctp)?).status = n as libc::c_long;
        if n > 0 {
            if let Some(a) = (*ocb).attr.as_mut() {
                a.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
            }
        }
        Ok(0)
    })
}

// ------------------------------------------------------------------ stat, lseek, devctl

/// `iofunc_stat(ctp, attr, pstat)`: fills Linux's `struct stat` from the attribute (`st_ino`,
/// `st_size`, `st_dev` the mount's dev else `rdev`, `st_rdev`, owner, times, mode, `st_nlink`,
/// `st_blksize` the mount's block size, at least 512, `st_blocks` in 512-byte units). EOK.
///
/// # Safety
/// `attr` a live attribute; `pstat` writable.
#[no_mangle]
pub unsafe extern "C" fn iofunc_stat(
    _ctp: *mut CContext,
    attr: *mut CAttr,
    pstat: *mut libc::stat,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let a = &*nonnull(attr)?;
        let out = nonnull(pstat)?;
        // SAFETY: struct stat is plain integers: all-zero is a valid value.
        let mut st: libc::stat = std::mem::zeroed();
        let mount = a.mount.as_ref();
        st.st_ino = a.inode;
        st.st_size = a.nbytes;
        st.st_dev = u64::from(mount.map_or(a.rdev, |m| m.dev));
        st.st_rdev = u64::from(a.rdev);
        st.st_uid = a.uid;
        st.st_gid = a.gid;
        st.st_mtime = a.mtime;
        st.st_mtime_nsec = i64::from(a.mtime_ns);
        st.st_atime = a.atime;
        st.st_atime_nsec = i64::from(a.atime_ns);
        st.st_ctime = a.ctime;
        st.st_ctime_nsec = i64::from(a.ctime_ns);
        st.st_mode = a.mode;
        st.st_nlink = u64::from(a.nlink) as libc::nlink_t;
        let bs = mount.map_or(1, |m| m.blocksize.max(1));
        st.st_blksize = libc::blksize_t::from(bs.max(512));
        st.st_blocks = (a.nbytes.max(0) + 511) / 512;
        out.write_unaligned(st);
        Ok(0)
    })
}

/// `iofunc_stat_default(ctp, msg, ocb)`: `iofunc_time_update`, then `iofunc_stat` into
/// `msg->o`, replied (`_RESMGR_PTR`) with status `_STAT_FORM_PREFERRED`.
///
/// # Safety
/// `ctp` live; `msg` its received `io_stat_t` (room for a `struct stat`); `ocb` live.
#[no_mangle]
pub unsafe extern "C" fn iofunc_stat_default(
    ctp: *mut CContext,
    msg: *mut c_void,
    ocb: *mut COcb,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let attr = (*nonnull(ocb)?).attr;
        let c = &mut *nonnull(ctp)?;
        let msg = nonnull(msg)?;
        iofunc_time_update(attr);
        let r = iofunc_stat(ctp, attr, msg.cast());
        if r != 0 {
            return Ok(r);
        }
        c.status = _STAT_FORM_PREFERRED as libc::c_long;
        c.iov[0] = libc::iovec {
            iov_base: msg,
            iov_len: size_of::<libc::stat>(),
        };
        Ok(_RESMGR_NPARTS(1))
    })
}

/// `iofunc_lseek(ctp, msg, ocb, attr)`: the new offset (`SEEK_SET`, `SEEK_CUR`, `SEEK_END`
/// from `attr->nbytes`) becomes the OCB's. EOK; EINVAL another whence, or a negative result;
/// EOVERFLOW past the largest offset.
///
/// # Safety
/// `msg` the received `io_lseek_t`; `ocb`, `attr` live.
#[no_mangle]
pub unsafe extern "C" fn iofunc_lseek(
    _ctp: *mut CContext,
    msg: *mut IoLseek,
    ocb: *mut COcb,
    attr: *mut CAttr,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let m = nonnull(msg)?.read_unaligned();
        let o = &mut *nonnull(ocb)?;
        let a = &*nonnull(attr)?;
        let off = m.offset as i64;
        let base = match i32::from(m.whence) {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => o.offset,
            libc::SEEK_END => a.nbytes,
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(off).ok_or(Errno::EOVERFLOW)?;
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        o.offset = new;
        Ok(0)
    })
}

/// `iofunc_lseek_default(ctp, msg, ocb)`: `iofunc_lseek`; inside a combine message (another
/// part follows) EOK with no data, else the 8-byte new offset is the reply.
///
/// # Safety
/// `ctp` live; as `iofunc_lseek`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_lseek_default(
    ctp: *mut CContext,
    msg: *mut IoLseek,
    ocb: *mut COcb,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let o = nonnull(ocb)?;
        let r = iofunc_lseek(ctp, msg, o, (*o).attr);
        if r != 0 {
            return Ok(r);
        }
        if msg.read_unaligned().combine_len & _IO_COMBINE_FLAG != 0 {
            return Ok(0);
        }
        let c = &mut *nonnull(ctp)?;
        msg.cast::<u64>().write_unaligned((*o).offset as u64);
        c.iov[0] = libc::iovec {
            iov_base: msg.cast(),
            iov_len: 8,
        };
        Ok(_RESMGR_NPARTS(1))
    })
}

/// Replies `value` as a devctl's 4 bytes of data (`ret_val` 0).
///
/// # Safety
/// `ctp` live; `msg` its devctl message with room for 20 bytes.
unsafe fn devctl_reply_int(ctp: *mut CContext, msg: *mut IoDevctl, value: i32) -> c_int {
    // SAFETY: our caller's promise.
    unsafe {
        let reply = IoDevctlReply {
            zero: 0,
            ret_val: 0,
            nbytes: 4,
            zero2: 0,
        };
        msg.cast::<IoDevctlReply>().write_unaligned(reply);
        msg.cast::<u8>()
            .add(16)
            .cast::<i32>()
            .write_unaligned(value);
        (*ctp).iov[0] = libc::iovec {
            iov_base: msg.cast(),
            iov_len: 20,
        };
    }
    _RESMGR_NPARTS(1)
}

/// `iofunc_devctl(ctp, msg, ocb, attr)`: the commands every resource manager answers:
/// `DCMD_ALL_GETFLAGS` (the open's flags, POSIX's `oflag`), `DCMD_ALL_SETFLAGS` (the
/// `O_APPEND`, `O_NONBLOCK` and sync bits; EINVAL sync bits without `IOFUNC_PC_SYNC_IO`),
/// `DCMD_ALL_GETMOUNTFLAGS` (the mount's flags), `DCMD_ALL_FADVISE` (ESPIPE on a FIFO); any
/// other: `_RESMGR_DEFAULT` (the client's devctl then fails with ENOTTY).
///
/// # Safety
/// `ctp` live; `msg` its received `io_devctl_t` (with its data); `ocb`, `attr` live.
#[no_mangle]
pub unsafe extern "C" fn iofunc_devctl(
    ctp: *mut CContext,
    msg: *mut IoDevctl,
    ocb: *mut COcb,
    attr: *mut CAttr,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let m = nonnull(msg)?.read_unaligned();
        let o = &mut *nonnull(ocb)?;
        let a = &*nonnull(attr)?;
        match m.dcmd {
            DCMD_ALL_GETFLAGS => {
                let io = o.ioflag;
                let flags = (io & O_SETFLAG) | ((io - 1) & libc::O_ACCMODE);
                Ok(devctl_reply_int(ctp, msg, flags))
            }
            DCMD_ALL_SETFLAGS => {
                let new = msg.cast::<u8>().add(16).cast::<i32>().read_unaligned();
                let sync_ok = a
                    .mount
                    .as_ref()
                    .is_some_and(|mt| mt.conf & IOFUNC_PC_SYNC_IO != 0);
                if new & O_SYNCS != 0 && !sync_ok {
                    return Err(Errno::EINVAL);
                }
                o.ioflag = (o.ioflag & !O_SETFLAG) | (new & O_SETFLAG);
                Ok(0)
            }
            DCMD_ALL_GETMOUNTFLAGS => {
                let f = a
                    .mount
                    .as_ref()
                    .map_or(0, |mt| mt.flags & IOFUNC_MOUNT_FLAGS);
                Ok(devctl_reply_int(ctp, msg, f as i32))
            }
            DCMD_ALL_FADVISE if a.mode & libc::S_IFMT == libc::S_IFIFO => Err(Errno::ESPIPE),
            _ => Ok(_RESMGR_DEFAULT),
        }
    })
}

/// `iofunc_devctl_default(ctp, msg, ocb)`: `iofunc_devctl(ctp, msg, ocb, ocb->attr)`.
///
/// # Safety
/// As `iofunc_devctl`.
#[no_mangle]
pub unsafe extern "C" fn iofunc_devctl_default(
    ctp: *mut CContext,
    msg: *mut IoDevctl,
    ocb: *mut COcb,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe { Ok(iofunc_devctl(ctp, msg, ocb, (*nonnull(ocb)?).attr)) })
}

/// `iofunc_unblock_default(ctp, msg, ocb)`: `_RESMGR_DEFAULT` (no client waits on a record
/// lock here; a resource manager holding blocked clients answers their unblock itself).
///
/// # Safety
/// None.
#[no_mangle]
pub unsafe extern "C" fn iofunc_unblock_default(
    _ctp: *mut CContext,
    _msg: *mut c_void,
    _ocb: *mut COcb,
) -> c_int {
    _RESMGR_DEFAULT
}

// ------------------------------------------------------------------ notify

/// The C event for an `_io_notify`'s 32-bit one (its type with or without the 64-bit flag).
fn event_in(e: &SigEvent32) -> CSigEvent {
    let kind = e.notify & 0x7f;
    let mut un = [0i32; 12];
    un[4] = i32::from(e.code);
    un[5] = i32::from(e.priority);
    CSigEvent {
        sigev_value: u64::from(e.value as u32),
        sigev_signo: e.signo,
        sigev_notify: if kind == 0 {
            0
        } else {
            (e.notify & !0xff) | kind | SIGEV_64BIT
        },
        un,
    }
}

/// Recomputes a list's lowest threshold.
///
/// # Safety
/// `n` a live notify list.
unsafe fn recount(n: *mut CNotify) {
    // SAFETY: our caller's promise: the entries are ours (calloc'd) and live.
    unsafe {
        let mut low = c_int::MAX;
        let mut e = (*n).list;
        while !e.is_null() {
            low = low.min((*e).cnt);
            e = (*e).next;
        }
        (*n).cnt = low;
    }
}

/// Removes (and frees) the entries of list `n` that `keep` refuses.
///
/// # Safety
/// `n` a live notify list.
unsafe fn retain(n: *mut CNotify, mut keep: impl FnMut(&CNotifyEvent) -> bool) {
    // SAFETY: our caller's promise; each entry is unlinked before it is freed.
    unsafe {
        let mut link = ptr::addr_of_mut!((*n).list);
        while !(*link).is_null() {
            let e = *link;
            if keep(&*e) {
                link = ptr::addr_of_mut!((*e).next);
            } else {
                *link = (*e).next;
                libc::free(e.cast());
            }
        }
        recount(n);
    }
}

/// `iofunc_notify(ctp, msg, nop, trig, notifycounts, armed)`: an ionotify on lists `nop[0..3]`
/// (input, output, out-of-band) where `trig` are the conditions true now (`_NOTIFY_COND_*`)
/// and `notifycounts` (NULL: all 1) each list's threshold. For each condition asked: armed
/// (the client's event kept, one entry per connection) unless it is true already or the
/// action only polls; `_NOTIFY_ACTION_TRANARM` always arms (threshold 0) and EBUSY when
/// another client holds the input list. Reply: the conditions true (`o.flags`); but a
/// `_NOTIFY_ACTION_CONDARM` that armed returns EAGAIN. `*armed` (if given): 1 if it armed.
///
/// # Safety
/// `ctp` live; `msg` its received `io_notify_t`; `nop` three live lists; `notifycounts` NULL
/// or three ints; `armed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn iofunc_notify(
    ctp: *mut CContext,
    msg: *mut IoNotify,
    nop: *mut CNotify,
    trig: c_int,
    notifycounts: *const c_int,
    armed: *mut c_int,
) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    run(|| unsafe {
        let c = &mut *nonnull(ctp)?;
        let m = nonnull(msg)?.read_unaligned();
        let nop = nonnull(nop)?;
        let (scoid, coid, rcvid) = (c.info.scoid, c.info.coid, c.rcvid);
        let action = m.action & _NOTIFY_ACTION_MASK;
        let mine = |e: &CNotifyEvent| e.scoid == scoid && e.coid == coid;
        if action == _NOTIFY_ACTION_TRANARM && m.flags & _NOTIFY_COND_INPUT != 0 {
            let mut e = (*nop).list;
            while !e.is_null() {
                if !mine(&*e) {
                    return Err(Errno::EBUSY);
                }
                e = (*e).next;
            }
        }
        let mut did_arm = false;
        for i in 0..3 {
            let cond = _NOTIFY_COND_INPUT << i;
            if m.flags & cond == 0 {
                continue;
            }
            let list = nop.add(i);
            let now_true = trig & cond != 0;
            let arm =
                action == _NOTIFY_ACTION_TRANARM || (action != _NOTIFY_ACTION_POLL && !now_true);
            retain(list, |e| !mine(e));
            if !arm {
                continue;
            }
            let cnt = if action == _NOTIFY_ACTION_TRANARM {
                0
            } else {
                notifycounts.as_ref().map_or(1, |_| *notifycounts.add(i))
            };
            let e = libc::calloc(1, size_of::<CNotifyEvent>()).cast::<CNotifyEvent>();
            if e.is_null() {
                return Err(Errno::ENOMEM);
            }
            e.write(CNotifyEvent {
                next: (*list).list,
                rcvid,
                scoid,
                cnt,
                event: event_in(&m.event),
                flags: cond as c_uint,
                coid,
            });
            (*list).list = e;
            recount(list);
            did_arm = true;
        }
        if let Some(a) = armed.as_mut() {
            *a = c_int::from(did_arm);
        }
        if action == _NOTIFY_ACTION_CONDARM && did_arm {
            return Err(Errno::EAGAIN);
        }
        let reply = IoNotifyReply {
            flags: (trig & _NOTIFY_COND_MASK & m.flags) as u32,
            event: m.event,
            ..Default::default()
        };
        msg.cast::<IoNotifyReply>().write_unaligned(reply);
        c.iov[0] = libc::iovec {
            iov_base: msg.cast(),
            iov_len: size_of::<IoNotifyReply>(),
        };
        Ok(_RESMGR_NPARTS(1))
    })
}

/// Delivers and disarms the entries of `nop[index]` whose threshold `count` meets (and
/// `which` accepts).
///
/// # Safety
/// `nop` live lists; `index` 0..=2.
unsafe fn trigger(
    nop: *mut CNotify,
    count: c_int,
    index: usize,
    which: impl Fn(&CNotifyEvent) -> bool,
) {
    // SAFETY: our caller's promise.
    unsafe {
        let list = nop.add(index);
        retain(list, |e| {
            if e.cnt > count || !which(e) {
                return true;
            }
            let mut ev = e.event;
            let kind = ev.sigev_notify & 0x7f;
            // SI_NOTIFY events say which condition fired in their value.
            if (1..=4).contains(&kind) && ev.un[4] == i32::from(SI_NOTIFY) {
                ev.sigev_value |= u64::from((_NOTIFY_COND_INPUT << index) as u32);
            }
            let _ = crate::neutrino::MsgDeliverEvent_r(e.rcvid, &ev);
            false
        });
    }
}

/// `iofunc_notify_trigger(nop, count, index)`: delivers the event of every client armed on
/// list `index` (`IOFUNC_NOTIFY_INPUT`, `_OUTPUT`, `_OBAND`) whose threshold `count` meets
/// (an `SI_NOTIFY` event gets `_NOTIFY_COND_INPUT << index` in its value), and disarms them.
///
/// # Safety
/// `nop` NULL or three live lists.
#[no_mangle]
pub unsafe extern "C" fn iofunc_notify_trigger(nop: *mut CNotify, count: c_int, index: c_int) {
    if nop.is_null() || !(0..3).contains(&index) {
        return;
    }
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    let _ = guard(|| unsafe {
        trigger(nop, count, index as usize, |_| true);
        Ok(())
    });
}

/// `iofunc_notify_trigger_strict(ctp, nop, count, index)`: as `iofunc_notify_trigger`, for the
/// context's client (its connection) only.
///
/// # Safety
/// `ctp` NULL or live; `nop` NULL or three live lists.
#[no_mangle]
pub unsafe extern "C" fn iofunc_notify_trigger_strict(
    ctp: *mut CContext,
    nop: *mut CNotify,
    count: c_int,
    index: c_int,
) {
    if nop.is_null() || !(0..3).contains(&index) {
        return;
    }
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    let Some(c) = (unsafe { ctp.as_ref() }) else {
        return;
    };
    let (scoid, coid) = (c.info.scoid, c.info.coid);
    // SAFETY: as above.
    let _ = guard(|| unsafe {
        trigger(nop, count, index as usize, |e| {
            e.scoid == scoid && e.coid == coid
        });
        Ok(())
    });
}

/// `iofunc_notify_remove_strict(ctp, nop, lim)`: removes the context's client's entries from
/// lists `0..lim` (`ctp` NULL: every entry). Call it from `close_ocb` or `close_dup`.
///
/// # Safety
/// `ctp` NULL or live; `nop` NULL or `lim` live lists.
#[no_mangle]
pub unsafe extern "C" fn iofunc_notify_remove_strict(
    ctp: *mut CContext,
    nop: *mut CNotify,
    lim: c_int,
) {
    if nop.is_null() {
        return;
    }
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    let who = unsafe { ctp.as_ref() }.map(|c| (c.info.scoid, c.info.coid));
    for i in 0..lim.max(0) as usize {
        // SAFETY: as above.
        unsafe {
            retain(nop.add(i), |e| who.is_some_and(|w| w != (e.scoid, e.coid)));
        }
    }
}

/// `iofunc_notify_remove(ctp, nop)`: `iofunc_notify_remove_strict(ctp, nop, 3)`.
///
/// # Safety
/// As `iofunc_notify_remove_strict`, three lists.
#[no_mangle]
pub unsafe extern "C" fn iofunc_notify_remove(ctp: *mut CContext, nop: *mut CNotify) {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    unsafe { iofunc_notify_remove_strict(ctp, nop, 3) }
}
