//! `<sys/dispatch.h>`'s thread pools in QNX 7.1's signatures: `thread_pool_create`,
//! `thread_pool_start` (the header's `thread_pool_start` calls
//! [`qnxsim_thread_pool_start`] and `pthread_exit`s the caller where QNX's does),
//! `thread_pool_destroy`, `thread_pool_control`, `thread_pool_limits`. The rules are
//! [`userlib::thread_pool`]'s (the same as the Rust pools'), here with the C functions of a
//! `thread_pool_attr_t`, whose threads are made with `pthread_create` and the attributes'
//! `pthread_attr_t`, detached, named `tid_name`.
//!
//! `thread_pool_attr_t` and `thread_pool_t` are laid out as QNX 7.1's header has them (104 and
//! 136 bytes);
//! `thread_pool_t`'s `created` and `waiting` follow the pool's counts, `pool_attr`'s limits
//! the ones in force (normalised by `thread_pool_start`, changed by `thread_pool_control`, as
//! QNX's), `props` holds the pool and `reserved` marks a live one.

use crate::{guard, plain, set_errno};
use kernel_sim::{Errno, KResult};
use libc::{c_char, c_int, c_uint, c_void, pthread_attr_t};
use std::ffi::CStr;
use std::mem::{offset_of, size_of};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;
use userlib::thread_pool::{self as tp, PoolFuncs, PoolLimits, ThreadBody, ThreadPool};

/// `block_func`: `THREAD_POOL_PARAM_T *(*)(THREAD_POOL_PARAM_T *)`.
pub type CBlockFn = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
/// `unblock_func` and `context_free`: `void (*)(THREAD_POOL_PARAM_T *)`.
pub type CVoidFn = unsafe extern "C" fn(*mut c_void);
/// `handler_func`: `int (*)(THREAD_POOL_PARAM_T *)`.
pub type CHandlerFn = unsafe extern "C" fn(*mut c_void) -> c_int;
/// `context_alloc`: `THREAD_POOL_PARAM_T *(*)(THREAD_POOL_HANDLE_T *)`.
pub type CAllocFn = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
/// `error_func`: `void (*)(unsigned flags, int err_value)`.
pub type CErrorFn = unsafe extern "C" fn(c_uint, c_int);

/// `thread_pool_attr_t` (QNX 7.1, 64-bit: `lo_water` at 56, `tid_name` at 64, `error_func` at
/// 72, sizeof 104).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CThreadPoolAttr {
    /// `THREAD_POOL_HANDLE_T *handle`.
    pub handle: *mut c_void,
    /// `block_func`.
    pub block_func: Option<CBlockFn>,
    /// `unblock_func` (may be NULL).
    pub unblock_func: Option<CVoidFn>,
    /// `handler_func`.
    pub handler_func: Option<CHandlerFn>,
    /// `context_alloc`.
    pub context_alloc: Option<CAllocFn>,
    /// `context_free`.
    pub context_free: Option<CVoidFn>,
    /// The pool threads' `pthread_attr_t` (NULL: the defaults).
    pub attr: *mut pthread_attr_t,
    /// `lo_water`.
    pub lo_water: u16,
    /// `increment`.
    pub increment: u16,
    /// `hi_water`.
    pub hi_water: u16,
    /// `maximum`.
    pub maximum: u16,
    /// `tid_name` (7.x): the threads' name (NULL: none).
    pub tid_name: *const c_char,
    /// `error_func` (7.1, may be NULL).
    pub error_func: Option<CErrorFn>,
    /// Zero.
    pub reserved: [c_uint; 5],
}

/// `struct _thread_pool` = `thread_pool_t` (64-bit: `created` at 104, sizeof 136).
#[repr(C)]
#[derive(Debug)]
pub struct CThreadPool {
    /// A copy of the attributes given to `thread_pool_create`, with the limits in force
    /// (normalised at start, changed by `thread_pool_control`).
    pub pool_attr: CThreadPoolAttr,
    /// The pool's threads.
    pub created: c_uint,
    /// Those blocked for work.
    pub waiting: c_uint,
    /// The flags given to `thread_pool_create`.
    pub flags: c_uint,
    /// The pool (a `Box<ThreadPool<CFuncs>>`).
    pub props: *mut c_void,
    /// A live pool's mark.
    pub reserved: [c_uint; 2],
}

const _: () = assert!(size_of::<CThreadPoolAttr>() == 104);
const _: () = assert!(offset_of!(CThreadPoolAttr, error_func) == 72);
const _: () = assert!(offset_of!(CThreadPoolAttr, lo_water) == 56);
const _: () = assert!(offset_of!(CThreadPoolAttr, tid_name) == 64);
const _: () = assert!(size_of::<CThreadPool>() == 136);
const _: () = assert!(offset_of!(CThreadPool, created) == 104);

const MAGIC: [c_uint; 2] = [0x7173_7470, 0x6f6f_6c21]; // "qstp", "ool!"

fn errno() -> Errno {
    // SAFETY: `__errno_location` returns the calling thread's errno, always valid to read.
    Errno(unsafe { *libc::__errno_location() })
}

/// The C pool functions, as the pool calls them.
#[derive(Debug)]
pub struct CFuncs {
    a: CThreadPoolAttr,
    block: CBlockFn,
    handler: CHandlerFn,
    alloc: CAllocFn,
    free: CVoidFn,
    pool: *mut CThreadPool,
}

// SAFETY: the functions and handle are the C program's, which QNX calls from every pool
// thread; `pool` is written only under the pool's lock while the pool is live.
unsafe impl Send for CFuncs {}
// SAFETY: as above.
unsafe impl Sync for CFuncs {}

/// A C thread's context: what the last block returned (`cur`) and what it was given (`prev`,
/// taken back when the handler returns -1, as QNX does).
#[derive(Debug)]
pub struct CCtx {
    cur: *mut c_void,
    prev: *mut c_void,
}

// SAFETY: a context belongs to one pool thread at a time (QNX hands it from thread to thread
// only through the pool).
unsafe impl Send for CCtx {}

extern "C" {
    // (Not in the libc crate.)
    fn pthread_attr_getdetachstate(attr: *const libc::pthread_attr_t, state: *mut c_int) -> c_int;
}

/// What a new pool thread starts with: its body, and the name to give itself.
struct Start {
    body: ThreadBody,
    name: Option<Vec<u8>>,
}

extern "C" fn trampoline(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the `Box<Start>` `spawn` leaked for this thread, taken once.
    let start = unsafe { Box::from_raw(arg.cast::<Start>()) };
    // The thread names and detaches itself: its creator's handle to it may be stale by the
    // time the creator could use it (a thread made detached by the program's attr, or one
    // that ended at once), and a stale pthread_t may name another thread.
    // SAFETY: `pthread_self()` is this live thread; the name is NUL-terminated.
    unsafe {
        let me = libc::pthread_self();
        if let Some(n) = &start.name {
            libc::pthread_setname_np(me, n.as_ptr().cast());
        }
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        let mut state = libc::PTHREAD_CREATE_DETACHED;
        if libc::pthread_getattr_np(me, &mut attr) == 0 {
            pthread_attr_getdetachstate(&attr, &mut state);
            libc::pthread_attr_destroy(&mut attr);
        }
        if state == libc::PTHREAD_CREATE_JOINABLE {
            libc::pthread_detach(me);
        }
    }
    let _ = catch_unwind(AssertUnwindSafe(start.body));
    ptr::null_mut()
}

impl PoolFuncs for CFuncs {
    type Context = CCtx;

    fn context_alloc(&self) -> KResult<CCtx> {
        // SAFETY: the C program's context_alloc with its handle, as QNX calls it.
        let p = unsafe { (self.alloc)(self.a.handle) };
        if p.is_null() {
            let e = errno();
            return Err(if e.0 == 0 { Errno::ENOMEM } else { e });
        }
        Ok(CCtx { cur: p, prev: p })
    }

    fn block(&self, ctp: &mut CCtx) -> KResult<()> {
        // SAFETY: the C program's block_func with a context of its context_alloc.
        let new = unsafe { (self.block)(ctp.cur) };
        let e = errno();
        ctp.prev = ctp.cur;
        ctp.cur = new;
        if new.is_null() {
            Err(e)
        } else {
            Ok(())
        }
    }

    fn handler(&self, ctp: &mut CCtx) -> KResult<()> {
        // SAFETY: the C program's handler_func with what its block_func returned (NULL too,
        // as QNX passes it).
        let r = unsafe { (self.handler)(ctp.cur) };
        let e = errno();
        if r == -1 || ctp.cur.is_null() {
            // (QNX takes the old context back on -1; a NULL one is never blocked in again.)
            ctp.cur = ctp.prev;
        }
        if r == -1 {
            Err(e)
        } else {
            Ok(())
        }
    }

    fn unblock(&self, ctp: &CCtx) -> bool {
        match self.a.unblock_func {
            Some(f) => {
                // SAFETY: the C program's unblock_func with a context of its context_alloc.
                unsafe { f(ctp.cur) };
                true
            }
            None => false,
        }
    }

    fn context_free(&self, ctp: CCtx) {
        // SAFETY: the C program's context_free with its context, once.
        unsafe { (self.free)(ctp.cur) }
    }

    fn spawn(&self, name: Option<&str>, body: &mut Option<ThreadBody>) -> Option<KResult<()>> {
        let b = body.take()?;
        let name = name.map(|n| {
            let mut bytes: Vec<u8> = n.bytes().filter(|&c| c != 0).take(15).collect();
            bytes.push(0);
            bytes
        });
        let arg = Box::into_raw(Box::new(Start { body: b, name }));
        // SAFETY: a zeroed pthread_t is a plain integer to be written.
        let mut tid: libc::pthread_t = unsafe { std::mem::zeroed() };
        // SAFETY: `attr` is NULL or the program's initialised pthread_attr_t (QNX's contract);
        // `trampoline` takes `arg` back exactly once.
        let r = unsafe { libc::pthread_create(&mut tid, self.a.attr, trampoline, arg.cast()) };
        if r != 0 {
            // SAFETY: the thread was not made: `arg` is still ours, freed once.
            drop(unsafe { Box::from_raw(arg) });
            return Some(Err(Errno::EAGAIN));
        }
        Some(Ok(()))
    }

    fn publish(&self, created: u32, waiting: u32) {
        // SAFETY: the pool's C struct lives until `thread_pool_destroy` frees it, which it does
        // only after the last thread counted itself out (and published) under this same lock.
        unsafe {
            ptr::addr_of_mut!((*self.pool).created).write_volatile(created);
            ptr::addr_of_mut!((*self.pool).waiting).write_volatile(waiting);
        }
    }

    fn publish_limits(&self, lim: PoolLimits) {
        // SAFETY: as in `publish`: called under the pool's lock while its C struct lives (by
        // `thread_pool_start`, `thread_pool_control` and `thread_pool_destroy` before it frees
        // the struct).
        unsafe {
            let a = ptr::addr_of_mut!((*self.pool).pool_attr);
            ptr::addr_of_mut!((*a).lo_water).write_volatile(lim.lo_water);
            ptr::addr_of_mut!((*a).increment).write_volatile(lim.increment);
            ptr::addr_of_mut!((*a).hi_water).write_volatile(lim.hi_water);
            ptr::addr_of_mut!((*a).maximum).write_volatile(lim.maximum);
        }
    }
}

/// The pool behind a C handle (a clone). EINVAL NULL or not a live pool.
///
/// # Safety
/// `pool` is NULL or a pointer from `thread_pool_create` not destroyed yet.
unsafe fn pool_of(pool: *mut CThreadPool) -> KResult<ThreadPool<CFuncs>> {
    // SAFETY: NULL or a live pool (our caller's promise).
    let p = unsafe { pool.as_ref() }.ok_or(Errno::EINVAL)?;
    if p.reserved != MAGIC || p.props.is_null() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: `props` of a live pool is its `Box<ThreadPool<CFuncs>>`.
    Ok(unsafe { &*p.props.cast::<ThreadPool<CFuncs>>() }.clone())
}

unsafe fn create(attr: *const CThreadPoolAttr, flags: c_uint) -> KResult<*mut CThreadPool> {
    // SAFETY: NULL or the program's thread_pool_attr_t.
    let a = *unsafe { attr.as_ref() }.ok_or(Errno::EINVAL)?;
    let (Some(block), Some(handler), Some(alloc), Some(free)) = (
        a.block_func,
        a.handler_func,
        a.context_alloc,
        a.context_free,
    ) else {
        return Err(Errno::EINVAL);
    };
    let tid_name = if a.tid_name.is_null() {
        None
    } else {
        // SAFETY: a non-NULL tid_name is a NUL-terminated string (QNX's contract).
        Some(
            unsafe { CStr::from_ptr(a.tid_name) }
                .to_string_lossy()
                .into_owned(),
        )
    };
    let c = Box::into_raw(Box::new(CThreadPool {
        pool_attr: a,
        created: 0,
        waiting: 0,
        flags,
        props: ptr::null_mut(),
        reserved: [0; 2],
    }));
    let mut rattr = tp::ThreadPoolAttr::new(CFuncs {
        a,
        block,
        handler,
        alloc,
        free,
        pool: c,
    });
    (
        rattr.lo_water,
        rattr.increment,
        rattr.hi_water,
        rattr.maximum,
    ) = (a.lo_water, a.increment, a.hi_water, a.maximum);
    rattr.tid_name = tid_name;
    rattr.error_func = a.error_func.map(|f| {
        Arc::new(move |reason: u32, e: Errno| {
            // SAFETY: the C program's error_func, as QNX calls it.
            unsafe { f(reason, e.0) }
        }) as tp::ErrorFn
    });
    match tp::thread_pool_create(rattr, flags) {
        Ok(pool) => {
            // SAFETY: `c` is the block made above, ours alone until returned.
            unsafe {
                (*c).props = Box::into_raw(Box::new(pool)).cast();
                (*c).reserved = MAGIC;
            }
            LIVE.insert(c);
            Ok(c)
        }
        Err(e) => {
            // SAFETY: made above, never shared.
            drop(unsafe { Box::from_raw(c) });
            Err(e)
        }
    }
}

/// `thread_pool_create(attr, flags)`: a pool (not started) with a copy of `*attr`. NULL and
/// `errno`: EINVAL `attr` NULL, `block_func`, `handler_func`, `context_alloc` or
/// `context_free` NULL, `maximum` 0, flags other than `POOL_FLAG_EXIT_SELF`,
/// `POOL_FLAG_USE_SELF` (not both), `POOL_FLAG_CALL_BLOCK_ERRF`, `POOL_FLAG_CALL_HANDLE_ERRF`,
/// or one of the last two with no `error_func` (QNX's would `abort()` at the first error).
///
/// # Safety
/// `attr` is NULL or a readable `thread_pool_attr_t` whose functions are as QNX documents them
/// (called from the pool's threads with `handle` and the contexts `context_alloc` returns).
#[no_mangle]
pub unsafe extern "C" fn thread_pool_create(
    attr: *const CThreadPoolAttr,
    flags: c_uint,
) -> *mut CThreadPool {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    match guard(|| unsafe { create(attr, flags) }) {
        Ok(p) => p,
        Err(e) => {
            set_errno(e);
            ptr::null_mut()
        }
    }
}

/// What `<sys/dispatch.h>`'s `thread_pool_start(pool)` calls: starts the pool (its first
/// thread, which makes the others up to `lo_water`). Returns 0; 1 when the caller is to
/// `pthread_exit` now (the header's `thread_pool_start` does it): with `POOL_FLAG_EXIT_SELF`
/// at once, with `POOL_FLAG_USE_SELF` once the caller, a pool thread meanwhile, left the pool;
/// -1 and `errno`: EINVAL `pool` NULL or destroyed, EBUSY started already, EAGAIN no thread.
///
/// # Safety
/// `pool` is NULL or a pool from `thread_pool_create` not destroyed yet.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_thread_pool_start(pool: *mut c_void) -> c_int {
    plain(guard(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let tpp = unsafe { pool_of(pool.cast()) }?;
        let leave = tpp.flags() & (tp::POOL_FLAG_EXIT_SELF | tp::POOL_FLAG_USE_SELF) != 0;
        // (`tpp` is a clone: the pool stays, even if destroyed while this thread serves it.)
        tp::thread_pool_start(&tpp)?;
        Ok(c_int::from(leave))
    }))
}

/// The pools `thread_pool_create` made and `thread_pool_destroy` has not freed yet: a second
/// `thread_pool_destroy` of a pointer is EINVAL without reading the freed pool.
static LIVE: crate::Live = crate::Live::new();

unsafe fn destroy(pool: *mut CThreadPool) -> KResult<c_int> {
    // Claimed by this call (a concurrent or later destroy is EINVAL, unread), put back on
    // failure.
    if !LIVE.take(pool) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: forwarded; a pool of `LIVE`.
    let tpp = match unsafe { pool_of(pool) } {
        Ok(t) => t,
        Err(e) => {
            LIVE.insert(pool);
            return Err(e);
        }
    };
    if let Err(e) = tp::thread_pool_destroy(&tpp) {
        LIVE.insert(pool);
        return Err(e);
    }
    // SAFETY: a live pool from `create` (checked), its threads gone: both blocks freed once,
    // the mark cleared first so that a second destroy of the stale pointer is likelier refused.
    unsafe {
        (*pool).reserved = [0; 2];
        drop(Box::from_raw((*pool).props.cast::<ThreadPool<CFuncs>>()));
        drop(Box::from_raw(pool));
    }
    Ok(0)
}

/// `thread_pool_destroy(pool)`: sets the limits to 0, calls `unblock_func` once per thread
/// (with a context of `context_alloc`'s), waits until every thread has left, and frees the
/// pool. 0, or -1 and `errno`: EINVAL `pool` NULL or destroyed (a destroyed pool is not
/// read); EDEADLK called from one of its own threads.
///
/// # Safety
/// `pool` is NULL, a pointer that is no live pool (refused unread), or a pool from
/// `thread_pool_create` not destroyed yet, which no other thread uses after the call.
#[no_mangle]
pub unsafe extern "C" fn thread_pool_destroy(pool: *mut CThreadPool) -> c_int {
    // SAFETY: forwarded from our C caller (see the `# Safety` section).
    plain(guard(|| unsafe { destroy(pool) }))
}

/// `thread_pool_control(pool, attr, lower, upper, flags)`: takes the limits `flags` selects
/// (`THREAD_POOL_CONTROL_HIWATER`, `_LOWATER`, `_MAXIMUM`, `_INCREMENT`) from `attr`, creates
/// or unblocks threads to meet them and, unless `THREAD_POOL_CONTROL_NONBLOCK`, waits until
/// `lower <= created <= upper` (or the pool is at rest). 0, or -1 and `errno`: EINVAL `pool`
/// NULL or destroyed, `attr` NULL with a limit selected, `lower > upper`, unknown flags, a
/// `maximum` of 0, bounds the limits can never meet; EAGAIN no thread could be made.
///
/// # Safety
/// `pool` is NULL or a live pool; `attr` NULL or a readable `thread_pool_attr_t`.
#[no_mangle]
pub unsafe extern "C" fn thread_pool_control(
    pool: *mut CThreadPool,
    attr: *const CThreadPoolAttr,
    lower: u16,
    upper: u16,
    flags: c_uint,
) -> c_int {
    plain(guard(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let tpp = unsafe { pool_of(pool) }?;
        // SAFETY: as above.
        let lim = match unsafe { attr.as_ref() } {
            Some(a) => PoolLimits {
                lo_water: a.lo_water,
                increment: a.increment,
                hi_water: a.hi_water,
                maximum: a.maximum,
            },
            None if flags & !tp::THREAD_POOL_CONTROL_NONBLOCK & 0xf != 0 => {
                return Err(Errno::EINVAL)
            }
            None => PoolLimits::default(),
        };
        tp::thread_pool_control(&tpp, &lim, lower, upper, flags).map(|()| 0)
    }))
}

/// `thread_pool_limits(pool, lowater, hiwater, maximum, increment, flags)`:
/// `thread_pool_control` with the limits given (a negative one unchanged), waiting (unless
/// `THREAD_POOL_CONTROL_NONBLOCK`) until the threads number between the new `lowater` and
/// `maximum`. 0, or -1 and `errno`: EINVAL a limit above 65535, and `thread_pool_control`'s.
///
/// # Safety
/// `pool` is NULL or a live pool.
#[no_mangle]
pub unsafe extern "C" fn thread_pool_limits(
    pool: *mut CThreadPool,
    lowater: c_int,
    hiwater: c_int,
    maximum: c_int,
    increment: c_int,
    flags: c_uint,
) -> c_int {
    plain(guard(|| {
        // SAFETY: forwarded from our C caller (see the `# Safety` section).
        let tpp = unsafe { pool_of(pool) }?;
        tp::thread_pool_limits(&tpp, lowater, hiwater, maximum, increment, flags).map(|()| 0)
    }))
}
