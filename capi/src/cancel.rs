//! `pthread_cancel` and the kernel calls that are cancellation points, as on QNX: `MsgSend*`
//! (not the `*nc` forms), `MsgReceive*`, `InterruptWait`, `delay()`, the sleeps,
//! `dispatch_block`, `resmgr_block`, `open` (and `name_open`) of a resource manager's path,
//! and `read`, `write`, `pread`, `pwrite`, `devctl` and `close` on a resource manager's file
//! descriptor (an `open` acts after its call only if it failed, and a `close` only before it
//! closes, so that a cancellation never loses a descriptor it opened or leaves one half
//! closed).
//!
//! A C entry point that is a cancellation point runs its call through [`point`]: if the
//! calling thread has cancellation enabled, it acts on a pending cancellation first (glibc's
//! `pthread_testcancel`), makes the call inside `kernel_sim::cancel::point` (so that a
//! `ThreadCancel` ends it with ECANCELED) and acts on a cancellation again as the call
//! returns, as QNX does (a cancellation that came as the call completed wins over its
//! result). `pthread_cancel` (renamed in `<pthread.h>`, [`qnxsim_pthread_cancel`])
//! marks the thread in glibc, then in the kernel.
//!
//! Acting on a cancellation unwinds the thread's stack (glibc's forced unwinding, which runs
//! the C cleanup handlers and C++ destructors) through the entry point's Rust frames: those
//! are `extern "C-unwind"`, and [`point`] calls `pthread_testcancel` only where no Rust value
//! with a destructor is alive in them (the call's result is a plain integer or errno).

use kernel_sim::KResult;
use libc::{c_int, pthread_t};
use userlib::current::with_current;

/// glibc's `PTHREAD_CANCEL_ENABLE` and `PTHREAD_CANCEL_DISABLE` (`<pthread.h>`).
const PTHREAD_CANCEL_ENABLE: c_int = 0;
const PTHREAD_CANCEL_DISABLE: c_int = 1;

extern "C-unwind" {
    fn pthread_setcancelstate(state: c_int, old: *mut c_int) -> c_int;
    fn pthread_testcancel();
    #[link_name = "pthread_cancel"]
    fn glibc_pthread_cancel(thread: pthread_t) -> c_int;
}

/// Whether the calling thread has cancellation enabled (its state, left as it was).
fn enabled() -> bool {
    let mut old: c_int = 0;
    // SAFETY: `old` is ours; setting the state back to what it was is a no-op for glibc (it
    // acts on a pending cancellation only in the asynchronous mode, where a program may be
    // cancelled anywhere anyway).
    unsafe {
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut old);
        if old == PTHREAD_CANCEL_ENABLE {
            pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &mut old);
            return true;
        }
    }
    false
}

/// glibc's `pthread_testcancel`: acts on a pending cancellation (does not return then).
#[inline]
fn testcancel() {
    // SAFETY: no arguments; it may unwind the thread (forced unwinding), which the callers
    // allow: no Rust value with a destructor is alive in their frames when they call this.
    unsafe { pthread_testcancel() }
}

/// Runs `f` inside `kernel_sim::cancel::point` with glibc's cancellation disabled meanwhile:
/// a `ThreadCancel` ends its blocking kernel call (ECANCELED), but glibc does not act on the
/// cancellation in one of its own cancellation points that `f` reaches (an `open` the library
/// makes for a placeholder descriptor, a read of `/proc`): that would unwind the Rust frames
/// of the call, which must not be unwound (a `catch_unwind` aborts on it, and their values'
/// destructors would be skipped). The caller acts on it once `f` has returned.
fn in_kernel_point<T>(f: impl FnOnce() -> KResult<T>) -> KResult<T> {
    let mut old: c_int = 0;
    // SAFETY: `old` is ours; disabling acts on nothing, and the state is put back below.
    unsafe { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut old) };
    let r = kernel_sim::cancel::point(f);
    // SAFETY: as above; putting back the deferred, enabled state does not act either.
    unsafe { pthread_setcancelstate(old, &mut old) };
    r
}

/// Acts on a pending cancellation, if the calling thread has cancellation enabled: a
/// cancellation point that ends nothing (`close` of a manager's descriptor, which acts before
/// it closes, so that a cancelled close leaves the descriptor open, as glibc's does).
#[inline]
pub(crate) fn test_here() {
    if enabled() {
        testcancel();
    }
}

/// [`point`] for a call whose completion a cancellation must not lose (an `open` that
/// opened: POSIX lets a cancellation act in it only with the side effects of an EINTR, so no
/// descriptor): acts on a cancellation before the call, during it (a `ThreadCancel` ends its
/// blocking kernel call), and as it returns only if it failed.
#[inline]
pub(crate) fn point_keeping<T: Copy>(f: impl FnOnce() -> KResult<T>) -> KResult<T> {
    if !enabled() {
        return f();
    }
    testcancel();
    let r = in_kernel_point(f);
    if r.is_err() {
        testcancel();
    }
    r
}

/// Runs `f`, a blocking kernel call of a C entry point, as a cancellation point (module doc).
/// `f` must capture nothing with a destructor (plain integers and pointers).
#[inline]
pub(crate) fn point<T: Copy>(f: impl FnOnce() -> KResult<T>) -> KResult<T> {
    if !enabled() {
        return f();
    }
    testcancel();
    let r = in_kernel_point(f);
    // (As QNX's kernel does as the call returns: whatever ended it, an ECANCELED from the
    // kernel or a server's answer to a client it kept on an `_NTO_CHF_UNBLOCK` channel.)
    testcancel();
    r
}

/// `pthread_cancel(thread)`, renamed in `<pthread.h>`: glibc's (which marks the thread, and
/// acts at once in the asynchronous mode), then, for another thread of this program that the
/// kernel knows, the kernel's `ThreadCancel`: the cancellation point it is blocked in ends and
/// it acts on the cancellation, or its next cancellation point does. Returns glibc's result
/// (0, or ESRCH for an ended thread).
///
/// # Safety
/// As glibc's `pthread_cancel`: `thread` names a thread of this program.
#[no_mangle]
pub unsafe extern "C-unwind" fn qnxsim_pthread_cancel(thread: pthread_t) -> c_int {
    // SAFETY: the caller's argument, as glibc takes it.
    let r = unsafe { glibc_pthread_cancel(thread) };
    if r == 0 && userlib::current::kernel_reachable() {
        // (A thread the kernel does not know was never in one of its calls: glibc's mark is
        // all it needs. The caller itself acts at its next cancellation point.)
        let _ = crate::guard(|| {
            with_current(|c| match crate::sched::tid_of(c, thread)? {
                0 => Ok(()),
                tid => c.thread_cancel(tid),
            })
        });
    }
    r
}
