//! Plain POSIX file calls that reach resource managers: in a program linked with libqnxsim,
//! `open`, `read`, `write`, `pread`, `pwrite`, `lseek`, `fstat`, `fcntl`, `close` (and their
//! 64-bit and fortified twins) on a path a resource manager attached, in any process of the
//! kernel, become the messages QNX's libc sends ([`userlib::io`]); every other path and fd goes
//! to Linux's libc untouched. Plus QNX's own `devctl`, `devctlv`, `_devctl` and `ionotify`.
//!
//! **How.** Symbol interposition: these definitions come before glibc's in the program's
//! symbol lookup (the program links libqnxsim), and the real functions are found with
//! `dlsym(RTLD_NEXT, ...)`, once, cached in atomics (resolved by a constructor at load, so that
//! a signal handler's `read` never resolves). The checks on the path of ordinary I/O:
//!
//! * `open`: nothing more than libc's `open` in a program that has made no kernel (it has no
//!   resource managers); otherwise the path, made absolute and normalised, is compared with
//!   the kernel's mountpoints, cached in the program until one is attached or detached (one
//!   atomic load tells), and only a path under one is asked of the path manager (one kernel
//!   call, no server contacted); no entry: libc's `open` at once. A path that resolves goes to
//!   the servers as QNX's connect engine sends it; when every server passes it on (ENOENT,
//!   ENXIO, ...), it goes to Linux, the last member of the union, as QNX's own file system
//!   would be under `/`.
//! * every fd call: one load from a table of atomics indexed by fd ([`TABLE`] entries; 0: not
//!   ours); not ours: libc's function at once.
//!
//! **The fds.** A resource manager's fd must be a number Linux hands nobody else: it is a
//! placeholder, `open("/", O_PATH | O_CLOEXEC)`, whose table entry holds the coid of the
//! connection. Closing ours sends `_IO_CLOSE`, detaches, and closes the placeholder. A copy of
//! the placeholder made behind our back (`dup` of it before we see it, `/proc/self/fd`) is an
//! `O_PATH` fd: its I/O fails with EBADF, never silently elsewhere. `dup`, `dup2`, `dup3` and
//! `F_DUPFD` of ours: ENOTSUP (QNX sends `_IO_DUP`); `dup2` onto ours closes ours first.
//!
//! **fork.** A forked child has a fresh kernel process (none of its parent's connections, as
//! `kernel_sim::fork` says): our fds in it fail with EBADF (the table entry carries the fork
//! generation it was made in), and `close` of them closes the placeholder. **exec**: the
//! placeholders are close-on-exec, whatever `O_CLOEXEC` said (`F_GETFD` reports what the
//! program asked for); a new program does not inherit a resource manager's fds.
//!
//! An `open` never makes a kernel: a program that made no QNX call has none (and so no
//! resource managers) unless `QNXSIM_KERNEL` names one, which its first `open` then joins, as
//! its first QNX call would: the path manager lives there.

use crate::neutrino::{buf, buf_mut, iov_list};
use crate::sigevent::{event_in, CSigEvent};
use crate::{plain, set_errno};
use kernel_sim::{Errno, Iov, KResult};
use libc::{c_char, c_int, c_uint, c_ulong, c_void, iovec, mode_t, off_t, size_t, ssize_t};
use std::cell::Cell;
use std::ffi::CStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use userlib::io;
use userlib::iomsg::{
    get_device_direction, IoDevctl, IoDevctlReply, _IO_DEVCTL, DCMD_ALL_GETFLAGS,
    DCMD_ALL_SETFLAGS, DEVDIR_FROM, DEVDIR_TO,
};
use userlib::zerocopy::IntoBytes;

// ------------------------------------------------------------------ the real functions

/// `dlsym(RTLD_NEXT, name)` as an address; aborts if there is none (libc without `open`).
fn resolve(name: &CStr) -> usize {
    // SAFETY: `name` is a NUL-terminated string; RTLD_NEXT is a valid pseudo-handle.
    let p = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
    if p.is_null() {
        let msg = b"libqnxsim: a libc function to forward to is missing\n";
        // SAFETY: writing a static buffer to stderr; abort never returns.
        unsafe {
            libc::syscall(libc::SYS_write, 2, msg.as_ptr(), msg.len());
            libc::abort();
        }
    }
    p as usize
}

/// Declares `fn name() -> ty`: the real (libc's) function, resolved once and cached.
macro_rules! real {
    ($($name:ident : $ty:ty = $sym:literal;)*) => {
        $(
            fn $name() -> $ty {
                static P: AtomicUsize = AtomicUsize::new(0);
                let mut p = P.load(Ordering::Relaxed);
                if p == 0 {
                    p = resolve($sym);
                    P.store(p, Ordering::Relaxed);
                }
                // SAFETY: `p` is libc's function of that name, whose C type `$ty` spells.
                unsafe { std::mem::transmute::<usize, $ty>(p) }
            }
        )*
        /// Resolves every real function (the constructor below).
        fn resolve_all() {
            $( let _ = $name(); )*
        }
    };
}

type OpenFn = unsafe extern "C" fn(*const c_char, c_int, ...) -> c_int;
type Open2Fn = unsafe extern "C" fn(*const c_char, c_int) -> c_int;
type OpenatFn = unsafe extern "C" fn(c_int, *const c_char, c_int, ...) -> c_int;
type ReadFn = unsafe extern "C" fn(c_int, *mut c_void, size_t) -> ssize_t;
type ReadChkFn = unsafe extern "C" fn(c_int, *mut c_void, size_t, size_t) -> ssize_t;
type WriteFn = unsafe extern "C" fn(c_int, *const c_void, size_t) -> ssize_t;
type PreadFn = unsafe extern "C" fn(c_int, *mut c_void, size_t, off_t) -> ssize_t;
type PwriteFn = unsafe extern "C" fn(c_int, *const c_void, size_t, off_t) -> ssize_t;
type CloseFn = unsafe extern "C" fn(c_int) -> c_int;
type LseekFn = unsafe extern "C" fn(c_int, off_t, c_int) -> off_t;
type FstatFn = unsafe extern "C" fn(c_int, *mut libc::stat) -> c_int;
type FcntlFn = unsafe extern "C" fn(c_int, c_int, ...) -> c_int;
type DupFn = unsafe extern "C" fn(c_int) -> c_int;
type Dup2Fn = unsafe extern "C" fn(c_int, c_int) -> c_int;
type Dup3Fn = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;
type StatFn = unsafe extern "C" fn(*const c_char, *mut libc::stat) -> c_int;
type FstatatFn = unsafe extern "C" fn(c_int, *const c_char, *mut libc::stat, c_int) -> c_int;

real! {
    real_open: OpenFn = c"open";
    real_open64: OpenFn = c"open64";
    real_open_2: Open2Fn = c"__open_2";
    real_open64_2: Open2Fn = c"__open64_2";
    real_openat: OpenatFn = c"openat";
    real_openat64: OpenatFn = c"openat64";
    real_read: ReadFn = c"read";
    real_read_chk: ReadChkFn = c"__read_chk";
    real_write: WriteFn = c"write";
    real_pread: PreadFn = c"pread";
    real_pread64: PreadFn = c"pread64";
    real_pwrite: PwriteFn = c"pwrite";
    real_pwrite64: PwriteFn = c"pwrite64";
    real_close: CloseFn = c"close";
    real_lseek: LseekFn = c"lseek";
    real_lseek64: LseekFn = c"lseek64";
    real_fstat: FstatFn = c"fstat";
    real_fstat64: FstatFn = c"fstat64";
    real_fcntl: FcntlFn = c"fcntl";
    real_fcntl64: FcntlFn = c"fcntl64";
    real_dup: DupFn = c"dup";
    real_dup2: Dup2Fn = c"dup2";
    real_dup3: Dup3Fn = c"dup3";
    real_stat: StatFn = c"stat";
    real_stat64: StatFn = c"stat64";
    real_lstat: StatFn = c"lstat";
    real_lstat64: StatFn = c"lstat64";
    real_fstatat: FstatatFn = c"fstatat";
    real_fstatat64: FstatatFn = c"fstatat64";
}

/// Resolves the real functions when the library is loaded, so that the first `read` (perhaps
/// in a signal handler) does not call `dlsym`; and registers the device memory's fork handler.
#[used]
#[link_section = ".init_array"]
static RESOLVE_AT_LOAD: extern "C" fn() = {
    extern "C" fn at_load() {
        resolve_all();
        // A child forked before the program's first device call shares its physical memory.
        userlib::device::share_with_forked_children();
    }
    at_load
};

// ------------------------------------------------------------------ the fd table

/// How many fds the table covers: a placeholder numbered beyond it is refused (EMFILE).
pub const TABLE: usize = 4096;

/// fd → its connection: 0 not ours; else [`VALID`], [`CLOEXEC`], the fork generation (bits
/// 32..48) and the coid (low 32 bits).
static FDS: [AtomicU64; TABLE] = [const { AtomicU64::new(0) }; TABLE];

const VALID: u64 = 1 << 63;
const CLOEXEC: u64 = 1 << 62;

fn generation_bits() -> u64 {
    (kernel_sim::fork::generation() & 0xffff) << 32
}

/// The table entry of `fd`, if it is ours. The only check on the path of ordinary I/O.
#[inline(always)]
fn entry(fd: c_int) -> Option<u64> {
    let v = FDS.get(usize::try_from(fd).ok()?)?.load(Ordering::Acquire);
    (v != 0).then_some(v)
}

/// The table entry of `fd` if it is ours and still our placeholder. A placeholder closed
/// behind our back (glibc's `fclose` of an `fdopen`ed fd closes with its own internal call, as
/// `close_range` and a raw syscall do) leaves its entry, and Linux gives the number to the
/// next file: calls on that file must reach it, not the resource manager. So an entry is
/// trusted only while its fd is an `O_PATH` one (the placeholder's kind; one `fcntl`, on our
/// fds only); a stale one is dropped and its connection closed.
fn ours(fd: c_int) -> Option<u64> {
    let v = entry(fd)?;
    // SAFETY: F_GETFL takes no argument; libc's fcntl.
    let fl = unsafe { real_fcntl()(fd, libc::F_GETFL) };
    if fl >= 0 && fl & libc::O_PATH != 0 {
        return Some(v);
    }
    if FDS[fd as usize]
        .compare_exchange(v, 0, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        let _ = inside(|| match coid_of(v) {
            Ok(coid) => io::close(coid),
            Err(_) => Ok(()),
        });
    }
    None
}

/// The coid of our entry `v`: EBADF if it was made before a fork (its connection is the
/// parent's).
fn coid_of(v: u64) -> KResult<i32> {
    if v & (0xffff << 32) != generation_bits() {
        return Err(Errno::EBADF);
    }
    Ok(v as u32 as i32)
}

thread_local! {
    /// Set while this thread is inside libqnxsim's own work: the files the kernel's code opens
    /// (making a kernel, joining a supervisor) go straight to libc.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

thread_local! {
    /// 1 + the fork generation in which this thread was bound by [`own_work`] (0: not yet).
    static BOUND_IN: Cell<u64> = const { Cell::new(0) };
}

/// Makes sure the calling thread is bound to its kernel (making the program's kernel, or
/// joining a supervisor's, on a program's first QNX call) as libqnxsim's own work: the files
/// that opens (`/dev/null` for a supervisor it starts, the kernel's memory file) go to libc.
/// Otherwise an interposed `open` in the middle of it would ask the path manager, and so make a
/// second default kernel (or attach the program's process twice: EEXIST). Every C entry point
/// calls it first (`crate::guard`); the callbacks a C entry point runs (a resource manager's
/// handlers in `dispatch_handler`) then open through the path manager as any code does.
pub(crate) fn own_work<T>(f: impl FnOnce() -> T) -> T {
    let generation = kernel_sim::fork::generation() + 1;
    if BOUND_IN.with(Cell::get) != generation {
        let was = INSIDE.with(|i| i.replace(true));
        if userlib::current::with_current(|_| Ok(())).is_ok() {
            BOUND_IN.with(|b| b.set(generation));
        }
        INSIDE.with(|i| i.set(was));
    }
    f()
}

/// Runs `f` as libqnxsim's own work (see [`INSIDE`]), a panic becoming EFAULT. Unlike
/// [`guard`] it does not bind the thread first: an interposed call binds it only if it turns
/// out to need the kernel (an `open` in a program without one never does); the files a first
/// binding opens go to libc, as `INSIDE` is set.
fn inside<T>(f: impl FnOnce() -> KResult<T>) -> KResult<T> {
    let was = INSIDE.with(|i| i.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(Err(Errno::EFAULT));
    INSIDE.with(|i| i.set(was));
    r
}

// ------------------------------------------------------------------ open

/// Whether the path manager may have an entry for `path`: false when it certainly has none,
/// so that such an open goes to libc at once. Decided without a kernel call in the common
/// case: a program that reaches no kernel has no resource managers (and none is made for
/// asking); otherwise the path, made absolute and normalised, is compared with the kernel's
/// mountpoints, cached until something is attached or detached ([`io::path_may_be_managed`]);
/// only a path under a mountpoint is asked of the path manager.
fn maybe_managed(path: &[u8]) -> bool {
    if !userlib::current::kernel_reachable() {
        return false;
    }
    let norm = if path.first() == Some(&b'/') {
        kernel_sim::normalize_path(path)
    } else {
        io::absolute_path(path).and_then(|(abs, _)| kernel_sim::normalize_path(&abs))
    };
    let Ok(norm) = norm else {
        // (Let the connect engine give the error.)
        return true;
    };
    io::path_may_be_managed(&norm) && io::path_is_managed(&norm)
}

/// What an interposed open does with `path`: `None` to forward it to libc, else the fd (or
/// -1 with errno set).
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
unsafe fn open_managed(path: *const c_char, oflag: c_int, mode: mode_t) -> Option<c_int> {
    // (Also an open the kernel's own code makes, in a call of this thread's: the lock is held.)
    if path.is_null() || INSIDE.with(Cell::get) || kernel_sim::signals::in_kernel_call() {
        return None;
    }
    // SAFETY: a non-NULL path is a C string (our caller's promise).
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    if !inside(|| Ok(maybe_managed(bytes))).unwrap_or(false) {
        return None;
    }
    // A cancellation point, as open(2) is (libc's open is one for every other path), which
    // never loses the descriptor it opened (capi/src/cancel.rs).
    let r = crate::cancel::point_keeping(|| {
        inside(|| match io::open_if_managed(bytes, oflag, mode) {
            None => Ok(None),
            Some(Ok(coid)) => install(coid, oflag).map(Some),
            Some(Err(e)) => Err(e),
        })
    });
    match r {
        Ok(None) => None,
        Ok(Some(fd)) => Some(fd),
        Err(e) => {
            set_errno(e);
            Some(-1)
        }
    }
}

/// A placeholder fd for the connection `coid`, entered in the table; on failure the
/// connection is closed.
fn install(coid: i32, oflag: c_int) -> KResult<c_int> {
    let flags = libc::O_PATH | libc::O_CLOEXEC;
    // SAFETY: a C string literal; O_PATH needs no mode.
    let fd = unsafe { real_open()(c"/".as_ptr(), flags) };
    let err = if fd < 0 {
        // SAFETY: errno of this thread, just set by the failed open.
        Some(Errno(unsafe { *libc::__errno_location() }))
    } else if fd as usize >= TABLE {
        // SAFETY: our own placeholder.
        unsafe { real_close()(fd) };
        Some(Errno(libc::EMFILE))
    } else {
        None
    };
    if let Some(e) = err {
        let _ = io::close(coid);
        return Err(e);
    }
    let cloexec = if oflag & libc::O_CLOEXEC != 0 {
        CLOEXEC
    } else {
        0
    };
    FDS[fd as usize].store(
        VALID | cloexec | generation_bits() | u64::from(coid as u32),
        Ordering::Release,
    );
    Ok(fd)
}

/// `open(path, oflag, ...)`: a resource manager's path becomes QNX's `_IO_CONNECT`; every
/// other path goes to libc's `open`.
///
/// # Safety
/// As `open(2)`. `open` is variadic in C; on x86-64 and aarch64 Linux a variadic call passes
/// its arguments as a non-variadic one does (in the same registers), so the mode is read as a
/// third argument (garbage, and unused, when the caller passed none without `O_CREAT`).
#[no_mangle]
pub unsafe extern "C-unwind" fn open(path: *const c_char, oflag: c_int, mode: mode_t) -> c_int {
    // SAFETY: forwarded from our caller.
    match unsafe { open_managed(path, oflag, mode) } {
        Some(fd) => fd,
        // SAFETY: libc's open, with our caller's arguments.
        None => unsafe { real_open()(path, oflag, mode) },
    }
}

/// `open64`: the same as [`open`] (off_t is 64-bit here).
///
/// # Safety
/// As [`open`].
#[no_mangle]
pub unsafe extern "C-unwind" fn open64(path: *const c_char, oflag: c_int, mode: mode_t) -> c_int {
    // SAFETY: forwarded from our caller.
    match unsafe { open_managed(path, oflag, mode) } {
        Some(fd) => fd,
        // SAFETY: libc's open64, with our caller's arguments.
        None => unsafe { real_open64()(path, oflag, mode) },
    }
}

/// `__open_2`: glibc's fortified open without a mode.
///
/// # Safety
/// As `open(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn __open_2(path: *const c_char, oflag: c_int) -> c_int {
    // SAFETY: forwarded from our caller.
    match unsafe { open_managed(path, oflag, 0) } {
        Some(fd) => fd,
        // SAFETY: libc's __open_2, with our caller's arguments.
        None => unsafe { real_open_2()(path, oflag) },
    }
}

/// `__open64_2`.
///
/// # Safety
/// As `open(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn __open64_2(path: *const c_char, oflag: c_int) -> c_int {
    // SAFETY: forwarded from our caller.
    match unsafe { open_managed(path, oflag, 0) } {
        Some(fd) => fd,
        // SAFETY: libc's __open64_2, with our caller's arguments.
        None => unsafe { real_open64_2()(path, oflag) },
    }
}

/// Whether an `openat` goes to the path manager: relative to the working directory, or
/// absolute.
///
/// # Safety
/// `path` is NULL or a C string.
unsafe fn at_cwd(dirfd: c_int, path: *const c_char) -> bool {
    // SAFETY: a non-NULL path points at its first byte at least.
    dirfd == libc::AT_FDCWD || (!path.is_null() && unsafe { *path } == b'/' as c_char)
}

/// `openat(dirfd, path, oflag, ...)`: `AT_FDCWD` or an absolute path as [`open`]; others to
/// libc.
///
/// # Safety
/// As `openat(2)`; the mode as [`open`]'s.
#[no_mangle]
pub unsafe extern "C-unwind" fn openat(
    dirfd: c_int,
    path: *const c_char,
    oflag: c_int,
    mode: mode_t,
) -> c_int {
    // SAFETY: forwarded from our caller.
    if unsafe { at_cwd(dirfd, path) } {
        // SAFETY: forwarded from our caller.
        if let Some(fd) = unsafe { open_managed(path, oflag, mode) } {
            return fd;
        }
    }
    // SAFETY: libc's openat, with our caller's arguments.
    unsafe { real_openat()(dirfd, path, oflag, mode) }
}

/// `openat64`.
///
/// # Safety
/// As [`openat`].
#[no_mangle]
pub unsafe extern "C-unwind" fn openat64(
    dirfd: c_int,
    path: *const c_char,
    oflag: c_int,
    mode: mode_t,
) -> c_int {
    // SAFETY: forwarded from our caller.
    if unsafe { at_cwd(dirfd, path) } {
        // SAFETY: forwarded from our caller.
        if let Some(fd) = unsafe { open_managed(path, oflag, mode) } {
            return fd;
        }
    }
    // SAFETY: libc's openat64, with our caller's arguments.
    unsafe { real_openat64()(dirfd, path, oflag, mode) }
}

// ------------------------------------------------------------------ fd calls

/// -1 (as `T`) with errno set, or the value.
fn ret<T: crate::CRet>(r: KResult<T>) -> T {
    plain(r)
}

fn isize_of(n: usize) -> KResult<isize> {
    isize::try_from(n).map_err(|_| Errno::EOVERFLOW)
}

/// `read(fd, buf, nbytes)`: `_IO_READ` on ours, libc's `read` otherwise.
///
/// # Safety
/// As `read(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn read(fd: c_int, b: *mut c_void, n: size_t) -> ssize_t {
    let Some(v) = ours(fd) else {
        // SAFETY: libc's read, with our caller's arguments.
        return unsafe { real_read()(fd, b, n) };
    };
    // (A cancellation point, as read(2) is: capi/src/cancel.rs.)
    ret(crate::cancel::point(|| {
        inside(|| {
            // SAFETY: `b` is valid for `n` bytes of writes (our caller's promise).
            let s = unsafe { buf_mut(b, n)? };
            isize_of(io::read(coid_of(v)?, s)?)
        })
    }))
}

extern "C" {
    fn __chk_fail() -> !;
}

/// `__read_chk`: glibc's fortified read (`buflen` the object's size).
///
/// # Safety
/// As `read(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn __read_chk(
    fd: c_int,
    b: *mut c_void,
    n: size_t,
    buflen: size_t,
) -> ssize_t {
    if ours(fd).is_none() {
        // SAFETY: libc's __read_chk, with our caller's arguments.
        return unsafe { real_read_chk()(fd, b, n, buflen) };
    }
    if n > buflen {
        // SAFETY: glibc's overflow report; it never returns.
        unsafe { __chk_fail() }
    }
    // SAFETY: forwarded from our caller.
    unsafe { read(fd, b, n) }
}

/// `write(fd, buf, nbytes)`: `_IO_WRITE` on ours.
///
/// # Safety
/// As `write(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn write(fd: c_int, b: *const c_void, n: size_t) -> ssize_t {
    let Some(v) = ours(fd) else {
        // SAFETY: libc's write, with our caller's arguments.
        return unsafe { real_write()(fd, b, n) };
    };
    // (A cancellation point, as write(2) is.)
    ret(crate::cancel::point(|| {
        inside(|| {
            // SAFETY: `b` is valid for `n` bytes of reads (our caller's promise).
            let s = unsafe { buf(b, n)? };
            isize_of(io::write(coid_of(v)?, s)?)
        })
    }))
}

/// pread on ours.
///
/// # Safety
/// As `pread(2)`.
unsafe fn pread_ours(v: u64, b: *mut c_void, n: size_t, off: off_t) -> ssize_t {
    // (A cancellation point, as pread(2) is.)
    ret(crate::cancel::point(|| {
        inside(|| {
            // SAFETY: `b` is valid for `n` bytes of writes (our caller's promise).
            let s = unsafe { buf_mut(b, n)? };
            isize_of(io::pread(coid_of(v)?, s, off)?)
        })
    }))
}

/// pwrite on ours.
///
/// # Safety
/// As `pwrite(2)`.
unsafe fn pwrite_ours(v: u64, b: *const c_void, n: size_t, off: off_t) -> ssize_t {
    // (A cancellation point, as pwrite(2) is.)
    ret(crate::cancel::point(|| {
        inside(|| {
            // SAFETY: `b` is valid for `n` bytes of reads (our caller's promise).
            let s = unsafe { buf(b, n)? };
            isize_of(io::pwrite(coid_of(v)?, s, off)?)
        })
    }))
}

/// `pread(fd, buf, nbytes, offset)`: `_IO_READ` with `_IO_XTYPE_OFFSET` on ours.
///
/// # Safety
/// As `pread(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn pread(fd: c_int, b: *mut c_void, n: size_t, off: off_t) -> ssize_t {
    match ours(fd) {
        // SAFETY: forwarded from our caller.
        Some(v) => unsafe { pread_ours(v, b, n, off) },
        // SAFETY: libc's pread, with our caller's arguments.
        None => unsafe { real_pread()(fd, b, n, off) },
    }
}

/// `pread64`.
///
/// # Safety
/// As `pread(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn pread64(
    fd: c_int,
    b: *mut c_void,
    n: size_t,
    off: off_t,
) -> ssize_t {
    match ours(fd) {
        // SAFETY: forwarded from our caller.
        Some(v) => unsafe { pread_ours(v, b, n, off) },
        // SAFETY: libc's pread64, with our caller's arguments.
        None => unsafe { real_pread64()(fd, b, n, off) },
    }
}

/// `pwrite(fd, buf, nbytes, offset)`: `_IO_WRITE` with `_IO_XTYPE_OFFSET` on ours.
///
/// # Safety
/// As `pwrite(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn pwrite(
    fd: c_int,
    b: *const c_void,
    n: size_t,
    off: off_t,
) -> ssize_t {
    match ours(fd) {
        // SAFETY: forwarded from our caller.
        Some(v) => unsafe { pwrite_ours(v, b, n, off) },
        // SAFETY: libc's pwrite, with our caller's arguments.
        None => unsafe { real_pwrite()(fd, b, n, off) },
    }
}

/// `pwrite64`.
///
/// # Safety
/// As `pwrite(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn pwrite64(
    fd: c_int,
    b: *const c_void,
    n: size_t,
    off: off_t,
) -> ssize_t {
    match ours(fd) {
        // SAFETY: forwarded from our caller.
        Some(v) => unsafe { pwrite_ours(v, b, n, off) },
        // SAFETY: libc's pwrite64, with our caller's arguments.
        None => unsafe { real_pwrite64()(fd, b, n, off) },
    }
}

/// `lseek(fd, offset, whence)`: `_IO_LSEEK` on ours.
///
/// # Safety
/// As `lseek(2)` (no pointers).
#[no_mangle]
pub unsafe extern "C" fn lseek(fd: c_int, off: off_t, whence: c_int) -> off_t {
    match ours(fd) {
        Some(v) => ret(inside(|| io::lseek(coid_of(v)?, off, whence))),
        // SAFETY: libc's lseek, with our caller's arguments.
        None => unsafe { real_lseek()(fd, off, whence) },
    }
}

/// `lseek64`.
///
/// # Safety
/// As `lseek(2)`.
#[no_mangle]
pub unsafe extern "C" fn lseek64(fd: c_int, off: off_t, whence: c_int) -> off_t {
    match ours(fd) {
        Some(v) => ret(inside(|| io::lseek(coid_of(v)?, off, whence))),
        // SAFETY: libc's lseek64, with our caller's arguments.
        None => unsafe { real_lseek64()(fd, off, whence) },
    }
}

/// fstat on ours: `_IO_STAT`; the server's reply is Linux's `struct stat`.
///
/// # Safety
/// `st` is NULL or valid for writes of a `struct stat`.
unsafe fn fstat_ours(v: u64, st: *mut libc::stat) -> c_int {
    ret(inside(|| {
        if st.is_null() {
            return Err(Errno::EFAULT);
        }
        let s = io::fstat(coid_of(v)?)?;
        // SAFETY: `st` is valid for writes (our caller's promise), checked non-NULL.
        unsafe { st.write_unaligned(s) };
        Ok(0)
    }))
}

/// `fstat(fd, &st)`.
///
/// # Safety
/// As `fstat(2)`.
#[no_mangle]
pub unsafe extern "C" fn fstat(fd: c_int, st: *mut libc::stat) -> c_int {
    match ours(fd) {
        // SAFETY: forwarded from our caller.
        Some(v) => unsafe { fstat_ours(v, st) },
        // SAFETY: libc's fstat, with our caller's arguments.
        None => unsafe { real_fstat()(fd, st) },
    }
}

/// `fstat64` (`struct stat64` is `struct stat` on 64-bit Linux).
///
/// # Safety
/// As `fstat(2)`.
#[no_mangle]
pub unsafe extern "C" fn fstat64(fd: c_int, st: *mut libc::stat) -> c_int {
    match ours(fd) {
        // SAFETY: forwarded from our caller.
        Some(v) => unsafe { fstat_ours(v, st) },
        // SAFETY: libc's fstat64, with our caller's arguments.
        None => unsafe { real_fstat64()(fd, st) },
    }
}

/// What an interposed `stat` does with `path`: `None` to forward it to libc, else 0 with
/// `*st` filled or -1 with errno set. A path a resource manager takes is asked of it with
/// QNX's combine message ([`io::stat_if_managed`]): no access is needed, as with a file.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `st` is NULL or valid for a write.
unsafe fn stat_managed(path: *const c_char, st: *mut libc::stat) -> Option<c_int> {
    if path.is_null() || INSIDE.with(Cell::get) || kernel_sim::signals::in_kernel_call() {
        return None;
    }
    // SAFETY: a non-NULL path is a C string (our caller's promise).
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    let r = inside(|| {
        if !maybe_managed(bytes) {
            return Ok(None);
        }
        match io::stat_if_managed(bytes) {
            None => Ok(None),
            Some(Ok(s)) => {
                if st.is_null() {
                    return Err(Errno::EFAULT);
                }
                // SAFETY: `st` is valid for a write (our caller's promise), checked non-NULL.
                unsafe { st.write_unaligned(s) };
                Ok(Some(0))
            }
            Some(Err(e)) => Err(e),
        }
    });
    match r {
        Ok(None) => None,
        Ok(Some(v)) => Some(v),
        Err(e) => {
            set_errno(e);
            Some(-1)
        }
    }
}

/// `stat(path, &st)`: on a resource manager's path, QNX's stat message; else libc's.
///
/// # Safety
/// As `stat(2)`.
#[no_mangle]
pub unsafe extern "C" fn stat(path: *const c_char, st: *mut libc::stat) -> c_int {
    // SAFETY: our caller's arguments, forwarded.
    unsafe { stat_managed(path, st).unwrap_or_else(|| real_stat()(path, st)) }
}

/// `stat64` (`struct stat64` is `struct stat` on 64-bit Linux).
///
/// # Safety
/// As `stat(2)`.
#[no_mangle]
pub unsafe extern "C" fn stat64(path: *const c_char, st: *mut libc::stat) -> c_int {
    // SAFETY: our caller's arguments, forwarded.
    unsafe { stat_managed(path, st).unwrap_or_else(|| real_stat64()(path, st)) }
}

/// `lstat(path, &st)`: as [`stat`] (a resource manager's paths are no symbolic links here).
///
/// # Safety
/// As `lstat(2)`.
#[no_mangle]
pub unsafe extern "C" fn lstat(path: *const c_char, st: *mut libc::stat) -> c_int {
    // SAFETY: our caller's arguments, forwarded.
    unsafe { stat_managed(path, st).unwrap_or_else(|| real_lstat()(path, st)) }
}

/// `lstat64`.
///
/// # Safety
/// As `lstat(2)`.
#[no_mangle]
pub unsafe extern "C" fn lstat64(path: *const c_char, st: *mut libc::stat) -> c_int {
    // SAFETY: our caller's arguments, forwarded.
    unsafe { stat_managed(path, st).unwrap_or_else(|| real_lstat64()(path, st)) }
}

/// An interposed `fstatat`: a path from the working directory or the root (and not
/// `AT_EMPTY_PATH`) as [`stat`], else `real`'s.
///
/// # Safety
/// As `fstatat(2)`.
unsafe fn fstatat_or(
    real: FstatatFn,
    dirfd: c_int,
    path: *const c_char,
    st: *mut libc::stat,
    flags: c_int,
) -> c_int {
    // SAFETY: our caller's arguments, forwarded.
    unsafe {
        if flags & libc::AT_EMPTY_PATH == 0 && at_cwd(dirfd, path) {
            if let Some(r) = stat_managed(path, st) {
                return r;
            }
        }
        real(dirfd, path, st, flags)
    }
}

/// `fstatat(dirfd, path, &st, flags)`: as [`stat`] for a path from the working directory or
/// the root (`AT_EMPTY_PATH` and other directory fds: libc's).
///
/// # Safety
/// As `fstatat(2)`.
#[no_mangle]
pub unsafe extern "C" fn fstatat(
    dirfd: c_int,
    path: *const c_char,
    st: *mut libc::stat,
    flags: c_int,
) -> c_int {
    // SAFETY: our caller's arguments, forwarded.
    unsafe { fstatat_or(real_fstatat(), dirfd, path, st, flags) }
}

/// `fstatat64`.
///
/// # Safety
/// As `fstatat(2)`.
#[no_mangle]
pub unsafe extern "C" fn fstatat64(
    dirfd: c_int,
    path: *const c_char,
    st: *mut libc::stat,
    flags: c_int,
) -> c_int {
    // SAFETY: our caller's arguments, forwarded.
    unsafe { fstatat_or(real_fstatat64(), dirfd, path, st, flags) }
}

/// `close(fd)`: on ours, `_IO_CLOSE`, `ConnectDetach`, and the placeholder closed (unless
/// the send was interrupted: EINTR and the fd stays, as QNX's close leaves it). The send's
/// error is returned, the fd gone all the same.
///
/// # Safety
/// As `close(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn close(fd: c_int) -> c_int {
    if ours(fd).is_none() {
        // SAFETY: libc's close, with our caller's argument.
        return unsafe { real_close()(fd) };
    }
    // A cancellation point, as close(2) is, acting before anything is closed: a cancelled
    // close leaves the descriptor open, as glibc's does (capi/src/cancel.rs).
    crate::cancel::test_here();
    // Take the entry: a second close racing this one finds it gone.
    let v = FDS[fd as usize].swap(0, Ordering::AcqRel);
    if v == 0 {
        // SAFETY: libc's close, with our caller's argument.
        return unsafe { real_close()(fd) };
    }
    let sent = inside(|| match coid_of(v) {
        Ok(coid) => io::close(coid),
        // A connection of the parent's (a forked child): nothing to send.
        Err(_) => Ok(()),
    });
    if sent == Err(Errno::EINTR) {
        FDS[fd as usize].store(v, Ordering::Release);
        return ret(sent.map(|()| 0));
    }
    // SAFETY: our own placeholder.
    unsafe { real_close()(fd) };
    ret(sent.map(|()| 0))
}

/// fcntl on ours: `F_GETFD`/`F_SETFD` kept here, `F_GETFL`/`F_SETFL` as devctl
/// `DCMD_ALL_GETFLAGS`/`SETFLAGS` (QNX's libc), the dups ENOTSUP, everything else EINVAL.
fn fcntl_ours(fd: c_int, v: u64, cmd: c_int, arg: c_ulong) -> KResult<c_int> {
    let coid = coid_of(v)?;
    match cmd {
        libc::F_GETFD => Ok(if v & CLOEXEC != 0 {
            libc::FD_CLOEXEC
        } else {
            0
        }),
        libc::F_SETFD => {
            let new = if arg as c_int & libc::FD_CLOEXEC != 0 {
                v | CLOEXEC
            } else {
                v & !CLOEXEC
            };
            FDS[fd as usize]
                .compare_exchange(v, new, Ordering::AcqRel, Ordering::Acquire)
                .map_err(|_| Errno::EBADF)?;
            Ok(0)
        }
        libc::F_GETFL => {
            let mut flags = [0u8; 4];
            devctl_iov(
                coid,
                DCMD_ALL_GETFLAGS,
                4,
                &[],
                &[iov_of(&mut flags)],
                false,
            )?;
            Ok(c_int::from_ne_bytes(flags))
        }
        libc::F_SETFL => {
            let mut flags = (arg as c_int).to_ne_bytes();
            devctl_iov(
                coid,
                DCMD_ALL_SETFLAGS,
                4,
                &[iov_of(&mut flags)],
                &[],
                false,
            )?;
            Ok(0)
        }
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => Err(Errno::ENOTSUP),
        _ => Err(Errno::EINVAL),
    }
}

/// `fcntl(fd, cmd, ...)`; the argument, when there is one, is read as a third register
/// argument (an `int` or a pointer: as [`open`]'s mode).
///
/// # Safety
/// As `fcntl(2)`.
#[no_mangle]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    match ours(fd) {
        Some(v) => ret(inside(|| fcntl_ours(fd, v, cmd, arg))),
        // SAFETY: libc's fcntl, with our caller's arguments.
        None => unsafe { real_fcntl()(fd, cmd, arg) },
    }
}

/// `fcntl64`.
///
/// # Safety
/// As `fcntl(2)`.
#[no_mangle]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    match ours(fd) {
        Some(v) => ret(inside(|| fcntl_ours(fd, v, cmd, arg))),
        // SAFETY: libc's fcntl64, with our caller's arguments.
        None => unsafe { real_fcntl64()(fd, cmd, arg) },
    }
}

/// `dup(fd)`: ENOTSUP on ours (QNX's `_IO_DUP` is not sent: docs/deviations.md).
///
/// # Safety
/// As `dup(2)`.
#[no_mangle]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    if ours(fd).is_some() {
        set_errno(Errno::ENOTSUP);
        return -1;
    }
    // SAFETY: libc's dup.
    unsafe { real_dup()(fd) }
}

/// `dup2(old, new)`: ENOTSUP if `old` is ours; a `new` of ours is closed first (as dup2
/// closes its target).
///
/// # Safety
/// As `dup2(2)`.
#[no_mangle]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    if ours(old).is_some() && old == new {
        // POSIX: a valid fd duplicated onto itself is returned as it is.
        return new;
    }
    if ours(old).is_some() {
        set_errno(Errno::ENOTSUP);
        return -1;
    }
    if old != new && ours(new).is_some() {
        // SAFETY: our fd; its placeholder is closed and libc's dup2 reuses the number.
        unsafe { close(new) };
    }
    // SAFETY: libc's dup2.
    unsafe { real_dup2()(old, new) }
}

/// `dup3(old, new, flags)`: as [`dup2`].
///
/// # Safety
/// As `dup3(2)`.
#[no_mangle]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    if ours(old).is_some() {
        set_errno(Errno::ENOTSUP);
        return -1;
    }
    if old != new && ours(new).is_some() {
        // SAFETY: our fd; its placeholder is closed and libc's dup3 reuses the number.
        unsafe { close(new) };
    }
    // SAFETY: libc's dup3.
    unsafe { real_dup3()(old, new, flags) }
}

// ------------------------------------------------------------------ devctl, ionotify

fn iov_of(b: &mut [u8]) -> Iov {
    Iov {
        base: b.as_mut_ptr() as u64,
        len: b.len() as u64,
    }
}

/// The coid of `fd` for QNX's own calls: EBADF an fd that is no fd at all; ENOSYS an fd of
/// Linux's (no resource manager answers it: what a QNX server without the handler answers).
fn coid_for_qnx_call(fd: c_int) -> KResult<i32> {
    if let Some(v) = ours(fd) {
        return coid_of(v);
    }
    // SAFETY: F_GETFD takes no argument; libc's fcntl.
    if unsafe { real_fcntl()(fd, libc::F_GETFD) } < 0 {
        return Err(Errno::EBADF);
    }
    Err(Errno::ENOSYS)
}

/// `_IO_DEVCTL` with `nbytes`, the parts of `siov` sent only with `DEVDIR_TO`, the reply's data
/// into `riov` only with `DEVDIR_FROM`: the reply's `ret_val`. ENOSYS from the server becomes
/// ENOTTY when `notty`.
fn devctl_iov(
    coid: i32,
    dcmd: c_int,
    nbytes: usize,
    siov: &[Iov],
    riov: &[Iov],
    notty: bool,
) -> KResult<c_int> {
    let msg = IoDevctl {
        type_: _IO_DEVCTL,
        combine_len: size_of::<IoDevctl>() as u16,
        dcmd,
        nbytes: u32::try_from(nbytes).map_err(|_| Errno::EINVAL)?,
        zero: 0,
    };
    let mut reply = IoDevctlReply::default();
    let dir = get_device_direction(dcmd);
    let mut s = vec![Iov {
        base: msg.as_bytes().as_ptr() as u64,
        len: size_of::<IoDevctl>() as u64,
    }];
    if dir & DEVDIR_TO != 0 {
        s.extend_from_slice(siov);
    }
    let mut r = vec![iov_of(reply.as_mut_bytes())];
    if dir & DEVDIR_FROM != 0 {
        r.extend_from_slice(riov);
    }
    // SAFETY: `msg` and `reply` are locals alive for the call; the caller's parts are valid
    // for reads (`siov`) and writes (`riov`) for the call (their callers' promise). One
    // buffer may be in both, as QNX's devctl uses it: the message is copied out before the
    // server can answer into it.
    match unsafe { userlib::qnx::msg_sendv_raw(coid, &s, &r) } {
        Ok(_) => Ok(reply.ret_val),
        Err(Errno::ENOSYS) if notty => Err(Errno(libc::ENOTTY)),
        // The kernel's answer for a coid it does not know is EBADF already; any other error
        // is the server's (or the kernel's) as it came: a server's EINVAL stays EINVAL.
        Err(e) => Err(e),
    }
}

/// The errno `devctl` returns (`EOK` 0 on success).
fn errno_value(r: KResult<()>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.0,
    }
}

/// `devctl(fd, dcmd, data, nbytes, dev_info)`: QNX's rules (`data` sent only with
/// `DEVDIR_TO`, received only with `DEVDIR_FROM`; ENOSYS becomes ENOTTY; `*dev_info` the
/// reply's `ret_val` on success). Returns `EOK` or the errno value (never -1; errno untouched).
/// On a Linux fd: ENOTTY; on no fd: EBADF.
///
/// # Safety
/// `data` is valid for `nbytes` bytes (reads and writes as the direction says); `dev_info`
/// NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C-unwind" fn devctl(
    fd: c_int,
    dcmd: c_int,
    data: *mut c_void,
    nbytes: size_t,
    dev_info: *mut c_int,
) -> c_int {
    // (A cancellation point, as QNX's devctl is.)
    errno_value(crate::cancel::point(|| {
        inside(|| {
            let coid = match coid_for_qnx_call(fd) {
                Err(Errno::ENOSYS) => return Err(Errno(libc::ENOTTY)),
                r => r?,
            };
            // SAFETY: `data` is valid for `nbytes` bytes (our caller's promise).
            let part = unsafe { buf_mut(data, nbytes)? };
            let parts = if part.is_empty() {
                vec![]
            } else {
                vec![iov_of(part)]
            };
            let ret = devctl_iov(coid, dcmd, nbytes, &parts, &parts, true)?;
            // SAFETY: NULL or valid for a write (our caller's promise).
            if let Some(info) = unsafe { dev_info.as_mut() } {
                *info = ret;
            }
            Ok(())
        })
    }))
}

/// `devctlv(fd, dcmd, sparts, rparts, sv, rv, dev_info)`: [`devctl`] with iov lists;
/// `nbytes` is the larger of the two lists' sizes.
///
/// # Safety
/// `sv` and `rv` are valid for `sparts`/`rparts` entries, each part valid as its list's
/// direction says; `dev_info` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C-unwind" fn devctlv(
    fd: c_int,
    dcmd: c_int,
    sparts: c_int,
    rparts: c_int,
    sv: *const iovec,
    rv: *const iovec,
    dev_info: *mut c_int,
) -> c_int {
    // (A cancellation point, as QNX's devctl is.)
    errno_value(crate::cancel::point(|| {
        inside(|| {
            let coid = match coid_for_qnx_call(fd) {
                Err(Errno::ENOSYS) => return Err(Errno(libc::ENOTTY)),
                r => r?,
            };
            let sp = usize::try_from(sparts).map_err(|_| Errno::EINVAL)?;
            let rp = usize::try_from(rparts).map_err(|_| Errno::EINVAL)?;
            // SAFETY: the lists as our caller promised.
            let (s, r) = unsafe { (iov_list(sv, sp)?, iov_list(rv, rp)?) };
            let total = |l: &[Iov]| l.iter().map(|p| p.len as usize).sum::<usize>();
            let ret = devctl_iov(coid, dcmd, total(s).max(total(r)), s, r, true)?;
            // SAFETY: NULL or valid for a write (our caller's promise).
            if let Some(info) = unsafe { dev_info.as_mut() } {
                *info = ret;
            }
            Ok(())
        })
    }))
}

/// `_devctl(fd, dcmd, data, nbytes, flags)`: -1 and errno on failure, else the reply's
/// `ret_val` (0 with `_DEVCTL_FLAG_NORETVAL`); ENOSYS becomes ENOTTY only with
/// `_DEVCTL_FLAG_NOTTY`.
///
/// # Safety
/// As [`devctl`].
#[no_mangle]
pub unsafe extern "C-unwind" fn _devctl(
    fd: c_int,
    dcmd: c_int,
    data: *mut c_void,
    nbytes: size_t,
    flags: c_uint,
) -> c_int {
    const NORETVAL: c_uint = 0x1;
    const NOTTY: c_uint = 0x2;
    const NOCANCEL: c_uint = 0x4;
    let call = || {
        inside(|| {
            if flags & !(NORETVAL | NOTTY | NOCANCEL) != 0 {
                return Err(Errno::EINVAL);
            }
            let notty = flags & NOTTY != 0;
            let coid = match coid_for_qnx_call(fd) {
                Err(Errno::ENOSYS) if notty => return Err(Errno(libc::ENOTTY)),
                r => r?,
            };
            // SAFETY: `data` is valid for `nbytes` bytes (our caller's promise).
            let part = unsafe { buf_mut(data, nbytes)? };
            let parts = if part.is_empty() {
                vec![]
            } else {
                vec![iov_of(part)]
            };
            let v = devctl_iov(coid, dcmd, nbytes, &parts, &parts, notty)?;
            Ok(if flags & NORETVAL != 0 { 0 } else { v })
        })
    };
    // (A cancellation point, as QNX's is, unless `_DEVCTL_FLAG_NOCANCEL`.)
    if flags & NOCANCEL != 0 {
        ret(call())
    } else {
        ret(crate::cancel::point(call))
    }
}

/// `ionotify(fd, action, flags, event)`: `_IO_NOTIFY` (the event in QNX's 32-bit form, zero
/// if NULL); the conditions met, or -1 and errno (EBADF no fd; ENOSYS a Linux fd).
///
/// # Safety
/// `event` is NULL or a readable `struct sigevent`.
#[no_mangle]
pub unsafe extern "C" fn ionotify(
    fd: c_int,
    action: c_int,
    flags: c_int,
    event: *const CSigEvent,
) -> c_int {
    ret(inside(|| {
        let coid = coid_for_qnx_call(fd)?;
        // SAFETY: NULL or a readable event (our caller's promise).
        let ev = unsafe { event_in(event)? };
        io::ionotify(coid, action, flags, ev.as_ref())
    }))
}
