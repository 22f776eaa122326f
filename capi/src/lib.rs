//! `libqnxsim`: QNX Neutrino's C API over the simulated kernel, for C and C++ programs.
//!
//! This crate builds `libqnxsim.so` and `libqnxsim.a`, and its `include/` directory holds
//! headers shaped as QNX 7.1's (`<sys/neutrino.h>`, `<sys/siginfo.h>`, `<sys/netmgr.h>`,
//! `<sys/iomsg.h>`, `<sys/ftype.h>`, `<sys/asyncmsg.h>`, `<sys/dispatch.h>`, `<process.h>`,
//! and `<errno.h>`, `<unistd.h>`, `<sched.h>`, `<pthread.h>` that add QNX's extras to the
//! system's own), so that a QNX program compiles and runs unchanged:
//! `cc prog.c $(pkg-config --cflags --libs qnxsim)`.
//!
//! Every function here is a C entry point over [`userlib`]: the calling OS thread is the
//! kernel thread making the call, attached to the program's process on its first call, so a
//! program needs no set-up call and threads it creates with `pthread_create` belong to its
//! process. Which kernel: the program's own (the default), or the one `QNXSIM_KERNEL` names,
//! shared by every program that names it (see `userlib::current::KERNEL_ENV`).
//!
//! Errors follow QNX: a kernel call returns -1 and sets `errno`; its `_r` twin returns the
//! negative errno and leaves `errno` alone. A Rust panic never crosses into C: it becomes
//! `EFAULT` (it would mean a bug here, not in the caller).
//!
//! The modules: [`neutrino`] (the kernel calls of `<sys/neutrino.h>`), [`sigevent`] (the C
//! `struct sigevent` and its translation), [`posix`] (`timer_create` and the other POSIX
//! pieces QNX programs lean on, `delay`, `getprio`/`setprio`, `ThreadCtl`), [`asyncmsg`]
//! (`<sys/asyncmsg.h>`), [`names`] (`<sys/dispatch.h>`'s `name_attach`, `name_detach`,
//! `name_open`, `name_close`), [`dispatch`] (`<sys/dispatch.h>`'s dispatch layer, its message
//! part: `dispatch_create`, `message_attach`, `pulse_attach`, `dispatch_block`,
//! `dispatch_handler`, ...), [`thread_pool`] (`<sys/dispatch.h>`'s thread pools:
//! `thread_pool_create`, `thread_pool_start`, `thread_pool_destroy`, `thread_pool_control`,
//! `thread_pool_limits`), [`interrupt`] (the simulated interrupts of `<sys/neutrino.h>`:
//! `InterruptAttach`, `InterruptAttachEvent`, `InterruptWait`, `InterruptLock`, ...), [`clock`]
//! (`ClockCycles`, `ClockTime`, `ClockPeriod` and `<sys/syspage.h>`'s `_syspage_ptr`),
//! [`spawn`] (`<process.h>`'s `spawn*()` family), [`sched`] (`SchedGet`, `SchedSet` and the
//! POSIX scheduling calls, on the simulated priorities).

#![allow(non_snake_case)] // QNX's names: MsgSend, ChannelCreate, ...

pub mod asyncmsg;
pub mod cancel;
pub mod clock;
pub mod devmem;
pub mod dispatch;
pub mod fdio;
pub mod interrupt;
pub mod iofunc;
pub mod names;
pub mod neutrino;
pub mod posix;
pub mod procmgr;
pub mod register_event;
pub mod resmgr;
pub mod sched;
pub mod select;
pub mod sigevent;
pub mod slog;
pub mod spawn;
pub mod thread_pool;

use kernel_sim::{Errno, KResult};
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

/// The live objects of one kind that the library `malloc`s or boxes for C and frees on the C
/// program's call (`name_attach_t`, `dispatch_t`, `thread_pool_t`), by address: the freeing
/// call reads an object only if it is here, so that a second free of the same (freed) pointer
/// fails with EINVAL instead of reading freed memory.
pub(crate) struct Live(Mutex<Option<HashSet<usize>>>);

impl Live {
    /// None yet.
    pub(crate) const fn new() -> Live {
        Live(Mutex::new(None))
    }

    /// Adds `p`.
    pub(crate) fn insert<T>(&self, p: *mut T) {
        let mut live = self.0.lock().unwrap_or_else(|e| e.into_inner());
        live.get_or_insert_with(HashSet::new).insert(p as usize);
    }

    /// Takes `p` out: whether it was there (a caller that took it is its only freer).
    pub(crate) fn take<T>(&self, p: *mut T) -> bool {
        let mut live = self.0.lock().unwrap_or_else(|e| e.into_inner());
        live.as_mut().is_some_and(|l| l.remove(&(p as usize)))
    }
}

/// Sets the calling thread's C `errno`.
pub(crate) fn set_errno(e: Errno) {
    // SAFETY: `__errno_location` returns the calling thread's errno, always valid to write.
    unsafe { *libc::__errno_location() = e.0 }
}

/// Runs `f`, turning a panic into EFAULT so that none unwinds into C, and leaves the caller's
/// `errno` as it found it: the system calls the kernel makes on the way (a futex wait that
/// times out or is interrupted, a `/proc` read) set it, and a call sets it only by failing
/// (`plain`), as QNX's do; an `_r` form never.
pub(crate) fn guard<T>(f: impl FnOnce() -> KResult<T>) -> KResult<T> {
    keep_errno(|| fdio::own_work(f))
}

/// Runs `f`, a panic becoming EFAULT, leaving `errno` as it found it: [`guard`] without the
/// binding of the thread to a kernel (for calls that need none: the clocks).
pub(crate) fn keep_errno<T>(f: impl FnOnce() -> KResult<T>) -> KResult<T> {
    // SAFETY: `__errno_location` returns the calling thread's errno, always valid to read.
    let saved = unsafe { *libc::__errno_location() };
    let r = catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(Errno::EFAULT));
    set_errno(Errno(saved));
    r
}

/// The C library's errno after one of its calls failed.
pub(crate) fn last_errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// A C integer result: the value, or -1 with `errno` set.
pub(crate) trait CRet: Copy {
    /// -1, the failure value.
    const FAIL: Self;
    /// `-errno`, the `_r` forms' failure value.
    fn neg(e: Errno) -> Self;
}

macro_rules! c_ret {
    ($($t:ty),*) => {$(
        impl CRet for $t {
            const FAIL: Self = -1;
            fn neg(e: Errno) -> Self {
                -(e.0 as $t)
            }
        }
    )*};
}
c_ret!(i32, i64, isize);

/// The plain form's result: the value, or -1 with `errno` set.
pub(crate) fn plain<T: CRet>(r: KResult<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => {
            set_errno(e);
            T::FAIL
        }
    }
}

/// The `_r` form's result: the value, or the negative errno (`errno` untouched).
pub(crate) fn r_form<T: CRet>(r: KResult<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => T::neg(e),
    }
}

/// Declares a QNX kernel call's two C entry points, `Name` (-1 and `errno`) and `Name_r`
/// (`-errno`), over one implementation `imp(args) -> KResult<ret>`.
macro_rules! kernel_call {
    ($(
        $(#[$doc:meta])*
        $name:ident, $name_r:ident = $imp:ident ( $($a:ident : $t:ty),* $(,)? ) -> $ret:ty;
    )*) => {$(
        $(#[$doc])*
        ///
        /// # Safety
        /// The pointers are as QNX documents them for this call: each valid for the bytes (or
        /// iov parts) it is given with, for the whole call; NULL only where QNX allows it.
        #[no_mangle]
        pub unsafe extern "C" fn $name($($a: $t),*) -> $ret {
            // SAFETY: forwarded from our C caller (see the `# Safety` section).
            $crate::plain($crate::guard(|| unsafe { $imp($($a),*) }))
        }

        #[doc = concat!("`", stringify!($name), "` returning the negative errno instead of ",
                        "setting `errno`.")]
        ///
        /// # Safety
        #[doc = concat!("As `", stringify!($name), "`.")]
        #[no_mangle]
        pub unsafe extern "C" fn $name_r($($a: $t),*) -> $ret {
            // SAFETY: forwarded from our C caller (see the `# Safety` section).
            $crate::r_form($crate::guard(|| unsafe { $imp($($a),*) }))
        }
    )*};
}
pub(crate) use kernel_call;

/// [`kernel_call!`] for a call that is a cancellation point, as QNX's is
/// ([`cancel::point`]): a `pthread_cancel` of the thread ends it, and the thread acts on the
/// cancellation in the entry point (which may therefore unwind: `extern "C-unwind"`).
macro_rules! kernel_call_cancellable {
    ($(
        $(#[$doc:meta])*
        $name:ident, $name_r:ident = $imp:ident ( $($a:ident : $t:ty),* $(,)? ) -> $ret:ty;
    )*) => {$(
        $(#[$doc])*
        ///
        /// A cancellation point.
        ///
        /// # Safety
        /// The pointers are as QNX documents them for this call: each valid for the bytes (or
        /// iov parts) it is given with, for the whole call; NULL only where QNX allows it.
        #[no_mangle]
        pub unsafe extern "C-unwind" fn $name($($a: $t),*) -> $ret {
            // SAFETY: forwarded from our C caller (see the `# Safety` section).
            $crate::plain($crate::cancel::point(|| $crate::guard(|| unsafe { $imp($($a),*) })))
        }

        #[doc = concat!("`", stringify!($name), "` returning the negative errno instead of ",
                        "setting `errno`.")]
        ///
        /// # Safety
        #[doc = concat!("As `", stringify!($name), "`.")]
        #[no_mangle]
        pub unsafe extern "C-unwind" fn $name_r($($a: $t),*) -> $ret {
            // SAFETY: forwarded from our C caller (see the `# Safety` section).
            $crate::r_form($crate::cancel::point(|| $crate::guard(|| unsafe { $imp($($a),*) })))
        }
    )*};
}
pub(crate) use kernel_call_cancellable;
