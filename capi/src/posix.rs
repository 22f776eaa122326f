//! The POSIX and QNX library pieces QNX programs lean on, beyond the kernel calls:
//!
//! * `timer_create` and its family, which the headers rename to the functions here
//!   (`qnxsim_timer_create`, ...) in every file that includes `<sys/siginfo.h>`: a timer whose
//!   event is `SIGEV_PULSE`, `SIGEV_UNBLOCK`, `SIGEV_SIGNAL_CODE`, `SIGEV_SIGNAL_THREAD` or
//!   `SIGEV_INTR` is a timer of the simulated kernel; `SIGEV_NONE`, `SIGEV_SIGNAL`,
//!   `SIGEV_THREAD` (and Linux's `SIGEV_THREAD_ID`) go to the C library's own timers, with the
//!   event translated to glibc's numbers. The `timer_t` of a kernel timer is its id with a tag
//!   in bits 48..63 (`0x7173`) that no glibc timer carries.
//! * `pthread_create` with a NULL thread pointer (a QNX extension), through the rename in
//!   `<pthread.h>` (its scheduling attributes: [`crate::sched`]); `pthread_join` bounded by a
//!   `TimerTimeout` armed with `_NTO_TIMEOUT_JOIN` (ETIMEDOUT), as QNX's is.
//! * `delay()`, `getprio()`/`setprio()`, `ThreadCtl()`, QNX's `gettid()`.
//! * `nanosleep()`, `clock_nanosleep()`, `sleep()` and `usleep()`, renamed in `<time.h>` and
//!   `<unistd.h>`: a thread of the kernel's sleeps NANOSLEEP-blocked in the kernel, as on QNX.

use crate::sigevent::CSigEvent;
use crate::{guard, plain, r_form};
use kernel_sim::consts::{
    _NTO_TIMEOUT_JOIN, _NTO_TIMEOUT_MASK, _NTO_TIMEOUT_NANOSLEEP, CLOCK_MONOTONIC, TIMER_ABSTIME,
};
use kernel_sim::types::sigev;
use kernel_sim::{Errno, KResult};
use libc::{
    c_int, c_uint, c_void, clockid_t, itimerspec, pid_t, pthread_attr_t, pthread_t, timer_t,
    timespec,
};
use std::cell::Cell;
use userlib::current::with_current;

/// The tag a kernel timer's `timer_t` carries in bits 48..63.
const TIMER_TAG: u64 = 0x7173 << 48;
const TAG_MASK: u64 = 0xffff << 48;

/// The kernel timer id a `timer_t` names, if it names one.
fn kernel_timer(t: timer_t) -> Option<c_int> {
    let v = t as u64;
    (v & TAG_MASK == TIMER_TAG).then_some((v & 0x7fff_ffff) as c_int)
}

fn ns_of(ts: &timespec) -> KResult<u64> {
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    (ts.tv_sec as u64)
        .checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(ts.tv_nsec as u64))
        .ok_or(Errno::EINVAL)
}

fn timespec_of(ns: u64) -> timespec {
    timespec {
        tv_sec: (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    }
}

/// glibc's result (-1 and errno) as ours.
fn glibc(r: c_int) -> KResult<c_int> {
    if r == -1 {
        Err(crate::last_errno())
    } else {
        Ok(r)
    }
}

/// `timer_create(clock, event, timerid)`, for files that include `<sys/siginfo.h>` (see the
/// module's docs for which events make a kernel timer).
///
/// # Safety
/// `event` is NULL or a readable `struct sigevent`; `timerid` a writable `timer_t`.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_timer_create(
    clock: clockid_t,
    event: *const CSigEvent,
    timerid: *mut timer_t,
) -> c_int {
    plain(guard(|| {
        if timerid.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: NULL or the caller's event (its promise).
        let Some(ev) = (unsafe { event.as_ref() }) else {
            // SAFETY: NULL event and a writable timerid: glibc's default (SIGALRM).
            return glibc(unsafe { libc::timer_create(clock, std::ptr::null_mut(), timerid) });
        };
        let mut native = *ev;
        if ev.sigev_notify == libc::SIGEV_THREAD_ID {
            // Linux's own, which QNX has no value for: glibc's as it is.
        } else {
            match ev.kind()? {
                sigev::SIGEV_NONE => native.sigev_notify = libc::SIGEV_NONE,
                sigev::SIGEV_SIGNAL => native.sigev_notify = libc::SIGEV_SIGNAL,
                sigev::SIGEV_THREAD => native.sigev_notify = libc::SIGEV_THREAD,
                _ => {
                    let kev = ev.to_kernel()?;
                    let id = with_current(|c| c.timer_create(clock, Some(&kev)))?;
                    // SAFETY: checked non-NULL; writable (the caller's promise).
                    unsafe { *timerid = (TIMER_TAG | id as u64) as timer_t };
                    return Ok(0);
                }
            }
        }
        // SAFETY: `native` is a glibc `struct sigevent` (the same 64-byte layout, glibc's
        // numbers now), `timerid` writable.
        glibc(unsafe { libc::timer_create(clock, (&raw mut native).cast(), timerid) })
    }))
}

/// `timer_settime(timerid, flags, value, ovalue)` (`flags`: 0 or `TIMER_ABSTIME`).
///
/// # Safety
/// `value` is a readable `struct itimerspec`; `ovalue` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_timer_settime(
    timerid: timer_t,
    flags: c_int,
    value: *const itimerspec,
    ovalue: *mut itimerspec,
) -> c_int {
    plain(guard(|| {
        let Some(id) = kernel_timer(timerid) else {
            // SAFETY: forwarded to glibc as the caller gave them.
            return glibc(unsafe { libc::timer_settime(timerid, flags, value, ovalue) });
        };
        // SAFETY: NULL or the caller's itimerspec (its promise).
        let v = unsafe { value.as_ref() }.ok_or(Errno::EFAULT)?;
        if flags & !libc::TIMER_ABSTIME != 0 {
            return Err(Errno::EINVAL);
        }
        let (first, period) = (ns_of(&v.it_value)?, ns_of(&v.it_interval)?);
        let kflags = if flags & libc::TIMER_ABSTIME != 0 {
            TIMER_ABSTIME
        } else {
            0
        };
        let old = with_current(|c| c.timer_settime(id, kflags, first, period))?;
        // SAFETY: NULL or the caller's writable itimerspec (its promise).
        if let Some(o) = unsafe { ovalue.as_mut() } {
            o.it_value = timespec_of(old.remaining);
            o.it_interval = timespec_of(old.interval);
        }
        Ok(0)
    }))
}

/// `timer_gettime(timerid, value)`.
///
/// # Safety
/// `value` is a writable `struct itimerspec`.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_timer_gettime(timerid: timer_t, value: *mut itimerspec) -> c_int {
    plain(guard(|| {
        let Some(id) = kernel_timer(timerid) else {
            // SAFETY: forwarded to glibc as the caller gave them.
            return glibc(unsafe { libc::timer_gettime(timerid, value) });
        };
        // SAFETY: NULL or the caller's writable itimerspec (its promise).
        let out = unsafe { value.as_mut() }.ok_or(Errno::EFAULT)?;
        let t = with_current(|c| c.timer_info(id))?;
        out.it_value = timespec_of(t.remaining);
        out.it_interval = timespec_of(t.interval);
        Ok(0)
    }))
}

/// `timer_getoverrun(timerid)`.
///
/// # Safety
/// None beyond C's: `timerid` is any value.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_timer_getoverrun(timerid: timer_t) -> c_int {
    plain(guard(|| {
        let Some(id) = kernel_timer(timerid) else {
            // SAFETY: glibc checks the id itself.
            return glibc(unsafe { libc::timer_getoverrun(timerid) });
        };
        let t = with_current(|c| c.timer_info(id))?;
        Ok(c_int::try_from(t.overruns).unwrap_or(c_int::MAX))
    }))
}

/// `timer_delete(timerid)`.
///
/// # Safety
/// None beyond C's: `timerid` is any value.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_timer_delete(timerid: timer_t) -> c_int {
    plain(guard(|| {
        let Some(id) = kernel_timer(timerid) else {
            // SAFETY: glibc checks the id itself.
            return glibc(unsafe { libc::timer_delete(timerid) });
        };
        with_current(|c| c.timer_destroy(id)).map(|()| 0)
    }))
}

/// `pthread_create(thread, attr, start, arg)` where `thread` may be NULL (a QNX extension;
/// glibc's would write through it). The new thread is a thread of the program's simulated
/// process, at the simulated priority and policy `attr` gives with `PTHREAD_EXPLICIT_SCHED`
/// or the creator's (see [`crate::sched`]; glibc never applies an explicit attribute's
/// scheduling to the Linux thread).
///
/// # Safety
/// As glibc's `pthread_create`, but `thread` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_pthread_create(
    thread: *mut pthread_t,
    attr: *const pthread_attr_t,
    start: extern "C" fn(*mut c_void) -> *mut c_void,
    arg: *mut c_void,
) -> c_int {
    let mut ignored: pthread_t = 0;
    let out = if thread.is_null() {
        &raw mut ignored
    } else {
        thread
    };
    // SAFETY: `out` is writable (the caller's pointer, or ours); the rest is the caller's.
    unsafe { crate::sched::create(out, attr, start, arg) }
}

/// What the calling thread last armed with `TimerTimeout` from C, while the arming may not be
/// spent yet (the kernel spends it at the thread's next call; this only tells `pthread_join`
/// whether to ask).
#[derive(Clone, Copy)]
struct Armed {
    /// Its clock (Linux's id, as TimerTimeout's).
    clock: clockid_t,
    /// The absolute deadline on `clock` of its `_NTO_TIMEOUT_JOIN` (`None`: not armed for
    /// joins, or with an event other than `SIGEV_UNBLOCK`).
    join: Option<u64>,
}

thread_local! {
    static ARMED: Cell<Option<Armed>> = const { Cell::new(None) };
}

/// Notes a successful `TimerTimeout(clock, flags, event, ntime)` of the calling thread (flags
/// with Linux's `TIMER_ABSTIME` already turned into QNX's).
pub(crate) fn note_timeout_armed(
    clock: clockid_t,
    flags: u32,
    event: Option<&kernel_sim::types::SigEvent>,
    ntime: Option<u64>,
) {
    let states = flags & _NTO_TIMEOUT_MASK;
    let armed = (states != 0 && states & _NTO_TIMEOUT_NANOSLEEP == 0).then(|| {
        let unblock = event.is_none_or(|e| e.kind() == sigev::SIGEV_UNBLOCK);
        let join = (states & _NTO_TIMEOUT_JOIN != 0 && unblock).then(|| match ntime {
            // At once: any time already past.
            None => 0,
            Some(ns) if flags & TIMER_ABSTIME != 0 => ns,
            Some(ns) => now_ns(clock).saturating_add(ns),
        });
        Armed { clock, join }
    });
    ARMED.with(|a| a.set(armed));
}

/// The time on `clock` (monotonic or realtime) in ns.
fn now_ns(clock: clockid_t) -> u64 {
    let mut ts = timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is ours; the clock is one TimerTimeout accepted.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

extern "C" {
    /// glibc's (2.31): `pthread_join` until an absolute time on `clock`, ETIMEDOUT after it.
    fn pthread_clockjoin_np(
        thread: pthread_t,
        retval: *mut *mut c_void,
        clock: clockid_t,
        abstime: *const timespec,
    ) -> c_int;
}

/// `pthread_join(thread, retval)`, renamed in `<pthread.h>`: glibc's, but bounded as QNX's
/// ThreadJoin is by a `TimerTimeout` armed with `_NTO_TIMEOUT_JOIN` (and `SIGEV_UNBLOCK`):
/// ETIMEDOUT once its time has passed (at once for an immediate one) and the thread has not
/// ended. Like any kernel call it spends the arming, whatever its states: when the thread has
/// armed one from C that no kernel call has spent yet, it makes one (`TimerTimeout` with flags
/// 0, which says what was still armed); otherwise it enters no kernel.
///
/// # Safety
/// As glibc's `pthread_join`.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_pthread_join(thread: pthread_t, retval: *mut *mut c_void) -> c_int {
    let Some(armed) = ARMED.with(|a| a.take()) else {
        // SAFETY: the caller's arguments, as glibc takes them.
        return unsafe { libc::pthread_join(thread, retval) };
    };
    let left = guard(|| with_current(|c| c.timer_timeout(CLOCK_MONOTONIC, 0, None)));
    match armed.join {
        Some(deadline) if matches!(left, Ok(f) if f & _NTO_TIMEOUT_JOIN != 0) => {
            let at = timespec {
                tv_sec: (deadline / 1_000_000_000).min(i64::MAX as u64) as libc::time_t,
                tv_nsec: (deadline % 1_000_000_000) as libc::c_long,
            };
            // SAFETY: the caller's arguments, as glibc takes them; `at` is ours.
            unsafe { pthread_clockjoin_np(thread, retval, armed.clock, &at) }
        }
        // SAFETY: the caller's arguments, as glibc takes them.
        _ => unsafe { libc::pthread_join(thread, retval) },
    }
}

/// `delay(msec)`: sleeps `msec` milliseconds on `CLOCK_REALTIME`, NANOSLEEP-blocked in the
/// kernel as QNX's delay() (`userlib::qnx::delay`); returns 0, or the milliseconds left
/// (rounded up) when a signal handler interrupted the sleep. A cancellation point. A thread
/// that cannot enter the kernel (its program could not join one) sleeps in Linux's
/// clock_nanosleep instead.
#[no_mangle]
pub extern "C-unwind" fn delay(msec: c_uint) -> c_uint {
    // (A cancellation point, as QNX's delay() is.)
    if let Ok(left) = crate::cancel::point(|| userlib::qnx::delay(msec)) {
        return left;
    }
    let req = timespec {
        tv_sec: libc::time_t::from(msec / 1000),
        tv_nsec: libc::c_long::from(msec % 1000) * 1_000_000,
    };
    let mut rem = timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: both timespecs are ours and valid.
    let r = unsafe { libc::clock_nanosleep(libc::CLOCK_REALTIME, 0, &req, &mut rem) };
    if r == libc::EINTR {
        let ms = rem.tv_sec as u64 * 1000 + (rem.tv_nsec as u64).div_ceil(1_000_000);
        c_uint::try_from(ms).unwrap_or(msec)
    } else {
        0
    }
}

/// How a sleep in the kernel ended.
enum Slept {
    /// Its time came (or had passed).
    Through,
    /// A signal handler ran in the thread first: the time that was left (ns).
    Interrupted(u64),
}

/// Sleeps NANOSLEEP-blocked in the kernel, as QNX's `nanosleep()` does (`TimerTimeout` with
/// `_NTO_TIMEOUT_NANOSLEEP`), `ns` on `clock` (until `ns`, `abs`), if the calling thread is the
/// kernel's already; None if it is not (a thread of a program that made no kernel call, which
/// should not join a kernel by sleeping) or the kernel could not take the sleep (the thread's
/// process is gone, say): the caller sleeps in Linux then.
fn kernel_sleep(clock: clockid_t, abs: bool, ns: u64) -> Option<Slept> {
    let flags = _NTO_TIMEOUT_NANOSLEEP | if abs { TIMER_ABSTIME } else { 0 };
    let mut left = 0u64;
    // (A cancellation point, as QNX's nanosleep is.)
    let r = crate::cancel::point(|| {
        userlib::current::with_bound(|c| {
            c.timer_timeout_otime(clock, flags, None, Some(ns), Some(&mut left))
        })
        .transpose()
    });
    match r {
        Ok(Some(_)) | Err(Errno::ETIMEDOUT) => Some(Slept::Through),
        Err(Errno::EINTR) => Some(Slept::Interrupted(left)),
        Ok(None) | Err(_) => None,
    }
}

/// A `timespec` to sleep, as Linux takes it: EFAULT none, EINVAL nanoseconds outside
/// 0..1e9 or negative seconds; its nanoseconds, saturated (a sleep of centuries is one of
/// 584 years).
///
/// # Safety
/// `req` is NULL or points at a readable `timespec`.
unsafe fn sleep_request(req: *const timespec) -> Result<u64, c_int> {
    // SAFETY: as the caller promises; NULL is EFAULT.
    let Some(ts) = (unsafe { req.as_ref() }) else {
        return Err(libc::EFAULT);
    };
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(libc::EINVAL);
    }
    Ok((ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64))
}

/// `clock_nanosleep(clock, flags, req, rem)`, renamed in `<time.h>`: on `CLOCK_REALTIME` or
/// `CLOCK_MONOTONIC`, from a thread of the kernel's, it sleeps NANOSLEEP-blocked in the kernel,
/// as QNX's does (so `pidin` shows it so); otherwise it is Linux's. Returns 0, or the error:
/// EINTR when a signal handler ran first (the time left in `rem` unless `TIMER_ABSTIME`),
/// EINVAL a bad `req` or clock, EFAULT no `req`.
///
/// # Safety
/// As glibc's `clock_nanosleep`: `req` readable, `rem` NULL or writable.
#[no_mangle]
pub unsafe extern "C-unwind" fn qnxsim_clock_nanosleep(
    clock: clockid_t,
    flags: c_int,
    req: *const timespec,
    rem: *mut timespec,
) -> c_int {
    let abs = flags & libc::TIMER_ABSTIME != 0;
    let kernel_clock = clock == libc::CLOCK_REALTIME || clock == libc::CLOCK_MONOTONIC;
    // SAFETY: the caller's pointer, as glibc takes it.
    let slept = match unsafe { sleep_request(req) } {
        Ok(ns) if kernel_clock => kernel_sleep(clock, abs, ns),
        Ok(_) => None,
        Err(e) => return e,
    };
    match slept {
        Some(Slept::Through) => 0,
        Some(Slept::Interrupted(left)) => {
            if !abs {
                // SAFETY: the caller's pointer: NULL or writable.
                if let Some(r) = unsafe { rem.as_mut() } {
                    *r = timespec_of(left);
                }
            }
            libc::EINTR
        }
        // SAFETY: the caller's arguments, as glibc takes them.
        None => unsafe { libc::clock_nanosleep(clock, flags, req, rem) },
    }
}

/// `nanosleep(req, rem)`, renamed in `<time.h>`: [`qnxsim_clock_nanosleep`] on
/// `CLOCK_MONOTONIC` (a relative sleep, which setting the realtime clock does not change, as
/// POSIX requires), with its error in `errno` and -1.
///
/// # Safety
/// As glibc's `nanosleep`: `req` readable, `rem` NULL or writable.
#[no_mangle]
pub unsafe extern "C-unwind" fn qnxsim_nanosleep(
    req: *const timespec,
    rem: *mut timespec,
) -> c_int {
    // SAFETY: the caller's pointers, as glibc's nanosleep takes them.
    match unsafe { qnxsim_clock_nanosleep(libc::CLOCK_MONOTONIC, 0, req, rem) } {
        0 => 0,
        e => {
            crate::set_errno(Errno(e));
            -1
        }
    }
}

/// `sleep(seconds)`, renamed in `<unistd.h>`: NANOSLEEP-blocked in the kernel from a thread of
/// the kernel's, as [`qnxsim_nanosleep`]; Linux's otherwise. Returns 0, or the seconds that
/// were left (rounded to the nearest, as glibc does) when a signal handler ended it first.
#[no_mangle]
pub extern "C-unwind" fn qnxsim_sleep(seconds: c_uint) -> c_uint {
    let ns = u64::from(seconds) * 1_000_000_000;
    match kernel_sleep(libc::CLOCK_MONOTONIC, false, ns) {
        Some(Slept::Through) => 0,
        Some(Slept::Interrupted(left)) => {
            let s = left / 1_000_000_000 + u64::from(left % 1_000_000_000 >= 500_000_000);
            c_uint::try_from(s).map_or(seconds, |s| s.min(seconds))
        }
        // SAFETY: a plain integer argument.
        None => unsafe { libc::sleep(seconds) },
    }
}

/// `usleep(usec)`, renamed in `<unistd.h>`: NANOSLEEP-blocked in the kernel from a thread of
/// the kernel's, as [`qnxsim_nanosleep`]; Linux's otherwise. 0, or -1 with EINTR when a
/// signal handler ended it first.
#[no_mangle]
pub extern "C-unwind" fn qnxsim_usleep(usec: libc::useconds_t) -> c_int {
    match kernel_sleep(libc::CLOCK_MONOTONIC, false, u64::from(usec) * 1000) {
        Some(Slept::Through) => 0,
        Some(Slept::Interrupted(_)) => {
            crate::set_errno(Errno::EINTR);
            -1
        }
        // SAFETY: a plain integer argument.
        None => unsafe { libc::usleep(usec) },
    }
}

/// The thread `getprio`/`setprio` act on: `None` for the calling thread (pid 0 or the
/// caller's own pid), else thread 1 of process `pid` (QNX's rule), as SchedGet/SchedSet name
/// it. ESRCH a negative pid.
fn prio_target(pid: pid_t) -> KResult<Option<(i32, i32)>> {
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    if pid == 0 || pid == std::process::id() as pid_t {
        return Ok(None);
    }
    with_current(|c| Ok((pid != c.process().pid).then(|| (crate::neutrino::pid_in(c, pid), 1))))
}

/// `getprio(pid)`: the current priority (after inheritance and boost) of the calling thread
/// (`pid` 0 or the caller's own), or of thread 1 of process `pid`. ESRCH no such process (or
/// its thread 1 is gone).
#[no_mangle]
pub extern "C" fn getprio(pid: pid_t) -> c_int {
    plain(guard(|| {
        let current = match prio_target(pid)? {
            None => userlib::qnx::thread_priority()?.1,
            Some((pid, tid)) => with_current(|c| c.sched_get(pid, tid))?.2,
        };
        Ok(c_int::from(current))
    }))
}

/// `setprio(pid, prio)`: sets the priority of the calling thread (`pid` 0 or the caller's own)
/// or of thread 1 of process `pid`, keeping its policy; returns the previous (current)
/// priority. EINVAL a priority outside 1..=255; ESRCH no such process.
#[no_mangle]
pub extern "C" fn setprio(pid: pid_t, prio: c_int) -> c_int {
    plain(guard(|| {
        let prio = i16::try_from(prio).map_err(|_| Errno::EINVAL)?;
        match prio_target(pid)? {
            None => userlib::qnx::thread_set_priority(prio).map(c_int::from),
            Some((pid, tid)) => with_current(|c| {
                c.sched_set(pid, tid, kernel_sim::consts::SCHED_NOCHANGE, prio)
                    .map(c_int::from)
            }),
        }
    }))
}

/// QNX's `gettid()` (`<process.h>` renames it to this): the calling thread's tid in its
/// simulated process (1 for the first thread that made a call).
#[no_mangle]
pub extern "C" fn qnxsim_gettid() -> c_int {
    plain(guard(userlib::qnx::gettid))
}

/// `ThreadCtl` commands (QNX 7.1's numbers).
pub mod tctl {
    /// `_NTO_TCTL_IO_PRIV`.
    pub const IO_PRIV: i32 = 1;
    /// `_NTO_TCTL_THREADS_HOLD`.
    pub const THREADS_HOLD: i32 = 2;
    /// `_NTO_TCTL_RUNMASK`.
    pub const RUNMASK: i32 = 4;
    /// `_NTO_TCTL_RUNMASK_GET_AND_SET`.
    pub const RUNMASK_GET_AND_SET: i32 = 6;
    /// `_NTO_TCTL_IO`.
    pub const IO: i32 = 14;
    /// `_NTO_TCTL_IO_LEVEL`.
    pub const IO_LEVEL: i32 = 19;
}

/// The calling thread's CPU mask (CPUs 0..31), or sets it.
fn runmask(set: Option<u32>) -> KResult<u32> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut cpus: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `cpus` is ours, `size` its size.
    if unsafe { libc::sched_getaffinity(0, size, &mut cpus) } != 0 {
        return Err(crate::last_errno());
    }
    let old = (0..32)
        // SAFETY: `cpus` is initialised and `i` within its bits.
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &cpus) })
        .fold(0u32, |m, i| m | 1 << i);
    if let Some(mask) = set {
        // SAFETY: as above.
        let mut new: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for i in (0..32).filter(|i| mask & (1 << i) != 0) {
            // SAFETY: `new` is ours and `i` within its bits.
            unsafe { libc::CPU_SET(i, &mut new) };
        }
        // SAFETY: `new` is ours, `size` its size.
        if unsafe { libc::sched_setaffinity(0, size, &new) } != 0 {
            return Err(crate::last_errno());
        }
    }
    Ok(old)
}

unsafe fn thread_ctl(cmd: c_int, data: *mut c_void) -> KResult<c_int> {
    match cmd {
        // I/O privilege: Linux programs here need none for what they can do (there are no
        // simulated port I/O calls); accepted as QNX accepts it for a privileged process.
        tctl::IO_PRIV | tctl::IO | tctl::IO_LEVEL => Ok(0),
        tctl::RUNMASK => runmask(Some(data as usize as u32)).map(|_| 0),
        tctl::RUNMASK_GET_AND_SET => {
            let p = data.cast::<c_uint>();
            if p.is_null() {
                return Err(Errno::EFAULT);
            }
            // SAFETY: the caller's `unsigned` (QNX's contract for this command).
            let new = unsafe { p.read() };
            let old = runmask(Some(new))?;
            // SAFETY: as above.
            unsafe { p.write(old) };
            Ok(0)
        }
        // QNX's other commands (holding threads, alignment faults, counters, names, ...):
        // not provided here (docs/deviations.md).
        2 | 3 | 5 | 7..=13 | 15..=18 => Err(Errno::ENOSYS),
        _ => Err(Errno::EINVAL),
    }
}

/// `ThreadCtl(cmd, data)`: `_NTO_TCTL_IO`, `_NTO_TCTL_IO_PRIV` and `_NTO_TCTL_IO_LEVEL`
/// succeed and change nothing; `_NTO_TCTL_RUNMASK` and `_NTO_TCTL_RUNMASK_GET_AND_SET` set
/// the thread's CPUs; QNX's other commands are ENOSYS; unknown ones EINVAL.
///
/// # Safety
/// `data` is what QNX documents for `cmd`.
#[no_mangle]
pub unsafe extern "C" fn ThreadCtl(cmd: c_int, data: *mut c_void) -> c_int {
    // SAFETY: forwarded.
    plain(guard(|| unsafe { thread_ctl(cmd, data) }))
}

/// `ThreadCtl` returning the negative errno.
///
/// # Safety
/// As `ThreadCtl`.
#[no_mangle]
pub unsafe extern "C" fn ThreadCtl_r(cmd: c_int, data: *mut c_void) -> c_int {
    // SAFETY: forwarded.
    r_form(guard(|| unsafe { thread_ctl(cmd, data) }))
}
