//! QNX's scheduling calls over the simulated priorities: the kernel calls `SchedGet`,
//! `SchedSet` and `SchedYield` (with their `_r` twins), and the POSIX calls porters use, which
//! `<sched.h>` and `<pthread.h>` rename to the functions here (`qnxsim_pthread_setschedparam`,
//! ...), so that they act on the thread's simulated priority and policy, not on Linux's:
//!
//! * `pthread_setschedparam`, `pthread_getschedparam`, `pthread_setschedprio` on a thread of
//!   the calling process (a `pthread_t` the kernel does not know: ESRCH);
//! * `sched_setparam`, `sched_getparam`, `sched_setscheduler`, `sched_getscheduler` on the
//!   calling thread (pid 0) or, as QNX does, on thread 1 of process `pid`;
//! * `sched_get_priority_min`/`max`: QNX's range, 1..=255, for `SCHED_FIFO`, `SCHED_RR` and
//!   `SCHED_OTHER`;
//! * `pthread_attr_setschedparam`, which takes QNX's range whatever the attribute's policy,
//!   and `pthread_create` (`qnxsim_pthread_create`), which gives the new thread the
//!   attribute's simulated policy and priority with `PTHREAD_EXPLICIT_SCHED`, or the
//!   creator's with `PTHREAD_INHERIT_SCHED`.
//!
//! C programs here compile against Linux's policy numbers (`SCHED_OTHER` 0, `SCHED_FIFO` 1,
//! `SCHED_RR` 2; the header adds `SCHED_SPORADIC` 4 and `SCHED_NOCHANGE` -1): they are mapped
//! to QNX's (3, 1, 2, 4, 0) at this boundary. None of these calls changes the program's Linux
//! scheduling (the kernel applies priorities to Linux threads only where
//! `Config::os_priority` asks): no glibc scheduling call is made on the program's behalf.

use crate::neutrino::pid_in;
use crate::{guard, keep_errno, kernel_call, plain};
use kernel_sim::consts as q;
use kernel_sim::{Errno, KResult, ThreadCtx};
use libc::{c_int, c_void, pid_t, pthread_attr_t, pthread_t, sched_param};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use userlib::current::with_current;

/// `SCHED_SPORADIC` as `<sched.h>` defines it here (QNX's number; Linux has none).
pub const C_SCHED_SPORADIC: c_int = 4;
/// `SCHED_NOCHANGE` as `<sched.h>` defines it here: QNX's 0 is Linux's `SCHED_OTHER`.
pub const C_SCHED_NOCHANGE: c_int = -1;

/// glibc's `PTHREAD_INHERIT_SCHED` and `PTHREAD_EXPLICIT_SCHED`.
const INHERIT_SCHED: c_int = 0;
const EXPLICIT_SCHED: c_int = 1;

/// A C policy (Linux's numbers) as the kernel's (QNX's); `SCHED_NOCHANGE` only where
/// `nochange` allows it. EINVAL for anything else.
fn policy_in(policy: c_int, nochange: bool) -> KResult<i32> {
    match policy {
        libc::SCHED_OTHER => Ok(q::SCHED_OTHER),
        libc::SCHED_FIFO => Ok(q::SCHED_FIFO),
        libc::SCHED_RR => Ok(q::SCHED_RR),
        C_SCHED_SPORADIC => Ok(q::SCHED_SPORADIC),
        C_SCHED_NOCHANGE if nochange => Ok(q::SCHED_NOCHANGE),
        _ => Err(Errno::EINVAL),
    }
}

/// The kernel's policy as C's.
fn policy_out(policy: i32) -> c_int {
    match policy {
        q::SCHED_FIFO => libc::SCHED_FIFO,
        q::SCHED_RR => libc::SCHED_RR,
        q::SCHED_SPORADIC => C_SCHED_SPORADIC,
        _ => libc::SCHED_OTHER,
    }
}

/// A priority from C: 1..=255, else EINVAL.
fn prio_in(prio: c_int) -> KResult<i16> {
    i16::try_from(prio)
        .ok()
        .filter(|p| (q::PRIO_MIN..=q::PRIO_MAX).contains(p))
        .ok_or(Errno::EINVAL)
}

/// A pthread function's result: 0 or the errno, `errno` untouched.
fn pthread_ret(r: KResult<c_int>) -> c_int {
    match r {
        Ok(_) => 0,
        Err(e) => e.0,
    }
}

// ------------------------------------------------------------------ the kernel calls

/// `SchedGet(pid, tid, param)`: see [`SchedGet`].
unsafe fn sched_get(pid: pid_t, tid: c_int, param: *mut sched_param) -> KResult<c_int> {
    if param.is_null() {
        return Err(Errno::EFAULT);
    }
    let (policy, base, _) = with_current(|c| c.sched_get(pid_in(c, pid), tid))?;
    // SAFETY: checked non-NULL; the caller's writable `struct sched_param` (its promise).
    unsafe { (*param).sched_priority = c_int::from(base) };
    Ok(policy_out(policy))
}

/// `SchedSet(pid, tid, policy, param)`: see [`SchedSet`].
unsafe fn sched_set(
    pid: pid_t,
    tid: c_int,
    policy: c_int,
    param: *const sched_param,
) -> KResult<c_int> {
    // SAFETY: NULL or the caller's readable `struct sched_param` (its promise).
    let param = unsafe { param.as_ref() }.ok_or(Errno::EFAULT)?;
    let policy = policy_in(policy, true)?;
    let prio = prio_in(param.sched_priority)?;
    with_current(|c| c.sched_set(pid_in(c, pid), tid, policy, prio)).map(|_| 0)
}

/// `SchedYield()`.
unsafe fn sched_yield_now() -> KResult<c_int> {
    // SAFETY: sched_yield has no preconditions.
    unsafe { libc::sched_yield() };
    Ok(0)
}

kernel_call! {
    /// `SchedGet(pid, tid, param)`: the scheduling policy (`SCHED_FIFO`, `SCHED_RR`,
    /// `SCHED_OTHER`: the numbers C programs compile against here) of thread `tid` of process
    /// `pid` (0 or `getpid()`: the caller's; `tid` 0: the calling thread, `pid` ignored), with
    /// `param->sched_priority` its priority as set (without inheritance or boost; `getprio`
    /// gives the current one). A new thread is `SCHED_RR`, as on QNX. ESRCH no such thread;
    /// EFAULT `param` NULL.
    SchedGet, SchedGet_r = sched_get(pid: pid_t, tid: c_int, param: *mut sched_param) -> c_int;
    /// `SchedSet(pid, tid, policy, param)`: sets the policy (`SCHED_FIFO`, `SCHED_RR`,
    /// `SCHED_OTHER`; `SCHED_NOCHANGE` keeps it) and priority (`param->sched_priority`,
    /// 1..=255) of the thread `SchedGet` names, which may be another process's: the simulated
    /// priority, which orders message queues and drives inheritance and boost. 0 on success.
    /// ESRCH no such thread; EINVAL a bad policy or priority; ENOTSUP `SCHED_SPORADIC`;
    /// EFAULT `param` NULL.
    SchedSet, SchedSet_r =
        sched_set(pid: pid_t, tid: c_int, policy: c_int, param: *const sched_param) -> c_int;
    /// `SchedYield()`: Linux's `sched_yield` (the simulated priorities decide no run queue).
    /// Returns 0.
    SchedYield, SchedYield_r = sched_yield_now() -> c_int;
}

// ------------------------------------------------------------------ pthread_t to a thread

/// Threads `pthread_create` made whose Linux thread has not yet recorded its Linux tid in
/// the kernel: their `pthread_t` and tid (see [`create`]), with the fork generation the table
/// was filled in (a forked child's copy names its parent's threads: it starts afresh).
static PENDING: Mutex<Option<(u64, HashMap<usize, i32>)>> = Mutex::new(None);

/// The table of pending threads (locked), emptied first in a forked child.
struct Pending(std::sync::MutexGuard<'static, Option<(u64, HashMap<usize, i32>)>>);

impl Pending {
    fn get(&self, thread: usize) -> Option<i32> {
        self.0.as_ref().and_then(|(_, p)| p.get(&thread).copied())
    }

    fn insert(&mut self, thread: usize, tid: i32) {
        let generation = kernel_sim::fork::generation();
        self.0
            .get_or_insert_with(|| (generation, HashMap::new()))
            .1
            .insert(thread, tid);
    }

    fn remove(&mut self, thread: usize) {
        if let Some((_, p)) = self.0.as_mut() {
            p.remove(&thread);
        }
    }
}

fn pending() -> Pending {
    let mut guard = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    if guard
        .as_ref()
        .is_some_and(|(g, _)| *g != kernel_sim::fork::generation())
    {
        *guard = None;
    }
    Pending(guard)
}

/// The Linux tid of a live thread of this program: glibc's `pthread_getcpuclockid` names
/// the thread's CPU clock, which Linux's ABI makes of the tid (`MAKE_THREAD_CPUCLOCK`:
/// `~tid << 3 | CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_SCHED`). ESRCH: the thread has ended.
fn os_tid_of(thread: pthread_t) -> KResult<i32> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: `thread` is a pthread_t of this program (the C caller's promise, as for any
    // pthread call); `clock` is ours.
    if unsafe { libc::pthread_getcpuclockid(thread, &mut clock) } != 0 || clock & 7 != 6 {
        return Err(Errno::ESRCH);
    }
    let tid = !(clock >> 3);
    if tid > 0 {
        Ok(tid)
    } else {
        Err(Errno::ESRCH)
    }
}

/// The tid in the caller's process of the thread `thread` is (0: the caller itself).
///
/// The table of pending threads is looked at first: a thread `pthread_create` made is either
/// there or has recorded its Linux tid in the kernel (it leaves the table only after that), so
/// a miss there means the kernel knows it by its Linux tid. (Looked at the other way round, a
/// new thread that records its tid and leaves the table between the two looks would be found
/// in neither: ESRCH for a live thread.)
pub(crate) fn tid_of(c: &ThreadCtx, thread: pthread_t) -> KResult<i32> {
    // SAFETY: pthread_self and pthread_equal take and return plain values.
    if unsafe { libc::pthread_equal(thread, libc::pthread_self()) } != 0 {
        return Ok(0);
    }
    if let Some(tid) = pending().get(thread as usize) {
        return Ok(tid);
    }
    os_tid_of(thread).and_then(|os| c.tid_of_os_thread(os))
}

// ------------------------------------------------------------------ pthread calls

/// `pthread_setschedparam(thread, policy, param)`.
///
/// # Safety
/// `param` is NULL or a readable `struct sched_param`; `thread` a thread of this program.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_pthread_setschedparam(
    thread: pthread_t,
    policy: c_int,
    param: *const sched_param,
) -> c_int {
    pthread_ret(guard(|| {
        // SAFETY: NULL or the caller's `struct sched_param` (its promise).
        let param = unsafe { param.as_ref() }.ok_or(Errno::EINVAL)?;
        let policy = policy_in(policy, true)?;
        let prio = prio_in(param.sched_priority)?;
        with_current(|c| c.sched_set(0, tid_of(c, thread)?, policy, prio)).map(|_| 0)
    }))
}

/// `pthread_getschedparam(thread, policy, param)`: `policy` may be NULL (a QNX extension).
///
/// # Safety
/// `policy` is NULL or a writable `int`; `param` NULL or a writable `struct sched_param`.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_pthread_getschedparam(
    thread: pthread_t,
    policy: *mut c_int,
    param: *mut sched_param,
) -> c_int {
    pthread_ret(guard(|| {
        if param.is_null() {
            return Err(Errno::EFAULT);
        }
        let (pol, base, _) = with_current(|c| c.sched_get(0, tid_of(c, thread)?))?;
        // SAFETY: NULL or the caller's writable int (its promise).
        if let Some(p) = unsafe { policy.as_mut() } {
            *p = policy_out(pol);
        }
        // SAFETY: checked non-NULL; writable (the caller's promise).
        unsafe { (*param).sched_priority = c_int::from(base) };
        Ok(0)
    }))
}

/// `pthread_setschedprio(thread, prio)`: the priority, the policy kept.
///
/// # Safety
/// `thread` is a thread of this program.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_pthread_setschedprio(thread: pthread_t, prio: c_int) -> c_int {
    pthread_ret(guard(|| {
        let prio = prio_in(prio)?;
        with_current(|c| c.sched_set(0, tid_of(c, thread)?, q::SCHED_NOCHANGE, prio)).map(|_| 0)
    }))
}

/// Whether glibc keeps an attribute's `struct sched_param` at its start (checked once, with
/// glibc's own setter): where it does, an attribute takes QNX's priorities, which glibc's
/// setter refuses outside Linux's range for the attribute's policy (0 for `SCHED_OTHER`).
fn param_at_start() -> bool {
    static AT_START: OnceLock<bool> = OnceLock::new();
    *AT_START.get_or_init(|| {
        // SAFETY: an attribute object of ours, initialised before use and destroyed after;
        // reading its first int reads initialised bytes of it.
        unsafe {
            let mut a: pthread_attr_t = std::mem::zeroed();
            if libc::pthread_attr_init(&mut a) != 0 {
                return false;
            }
            let ok = libc::pthread_attr_setschedpolicy(&mut a, libc::SCHED_RR) == 0
                && [7, 9].iter().all(|&p| {
                    let sp = sched_param { sched_priority: p };
                    libc::pthread_attr_setschedparam(&mut a, &sp) == 0
                        && (&raw const a).cast::<c_int>().read() == p
                });
            libc::pthread_attr_destroy(&mut a);
            ok
        }
    })
}

/// `pthread_attr_setschedparam(attr, param)`: QNX's priorities (1..=255, else EINVAL),
/// whatever the attribute's policy; `pthread_attr_getschedparam` (glibc's) reads it back.
///
/// # Safety
/// `attr` is NULL or an initialised attribute object; `param` NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_pthread_attr_setschedparam(
    attr: *mut pthread_attr_t,
    param: *const sched_param,
) -> c_int {
    pthread_ret(keep_errno(|| {
        // SAFETY: NULL or the caller's `struct sched_param` (its promise).
        let param = unsafe { param.as_ref() }.ok_or(Errno::EINVAL)?;
        if attr.is_null() {
            return Err(Errno::EINVAL);
        }
        prio_in(param.sched_priority)?;
        if param_at_start() {
            // SAFETY: an initialised attribute object (the caller's promise), whose first
            // bytes glibc keeps its `struct sched_param` in (checked above).
            unsafe { attr.cast::<sched_param>().write(*param) };
            Ok(0)
        } else {
            // SAFETY: as the caller gave them.
            match unsafe { libc::pthread_attr_setschedparam(attr, param) } {
                0 => Ok(0),
                e => Err(Errno(e)),
            }
        }
    }))
}

/// What a new thread starts with: its kernel thread (attached by its creator), and its C
/// start routine.
struct Start {
    start: extern "C" fn(*mut c_void) -> *mut c_void,
    arg: *mut c_void,
    ctx: ThreadCtx,
    /// Set (under [`PENDING`]'s lock) once the new thread has recorded its Linux tid.
    adopted: Arc<AtomicBool>,
}

/// The new thread's first code: it records its Linux tid in its kernel thread, binds to it
/// and runs the C start routine (its binding ends with the thread, as every thread's does).
extern "C" fn trampoline(p: *mut c_void) -> *mut c_void {
    let (start, arg) = {
        // SAFETY: `p` is the `Start` `create` leaked for this thread, taken here once.
        let s = unsafe { Box::from_raw(p.cast::<Start>()) };
        let Start {
            start,
            arg,
            ctx,
            adopted,
        } = *s;
        ctx.adopt_os_thread();
        {
            let mut pending = pending();
            adopted.store(true, Ordering::Relaxed);
            // SAFETY: pthread_self has no preconditions.
            let me = unsafe { libc::pthread_self() } as usize;
            pending.remove(me);
        }
        drop(userlib::current::bind(ctx));
        (start, arg)
    };
    // (Nothing of ours with a destructor is alive across this call: a `pthread_exit` in it
    // unwinds through this frame, which has nothing to run.)
    start(arg)
}

/// The simulated scheduling `attr` asks for: `Some((policy, prio))` (QNX's policy) with
/// `PTHREAD_EXPLICIT_SCHED`, `None` to inherit the creator's. EINVAL a policy or priority
/// the kernel does not take.
///
/// # Safety
/// `attr` is NULL or an initialised attribute object.
unsafe fn explicit_sched(attr: *const pthread_attr_t) -> KResult<Option<(i32, i16)>> {
    if attr.is_null() {
        return Ok(None);
    }
    let (mut inherit, mut policy) = (INHERIT_SCHED, libc::SCHED_OTHER);
    let mut param = sched_param { sched_priority: 0 };
    // SAFETY: an initialised attribute object (the caller's promise); the outputs are ours.
    let r = unsafe {
        libc::pthread_attr_getinheritsched(attr, &mut inherit)
            | libc::pthread_attr_getschedpolicy(attr, &mut policy)
            | libc::pthread_attr_getschedparam(attr, &mut param)
    };
    if r != 0 {
        return Err(Errno::EINVAL);
    }
    if inherit != EXPLICIT_SCHED {
        return Ok(None);
    }
    let policy = policy_in(policy, false)?;
    if policy == q::SCHED_SPORADIC {
        return Err(Errno::ENOTSUP);
    }
    Ok(Some((policy, prio_in(param.sched_priority)?)))
}

/// `pthread_create(out, attr, start, arg)` (`qnxsim_pthread_create`'s work; `out` writable).
///
/// While the program has a kernel (or names one to join), and whenever `attr` asks for
/// `PTHREAD_EXPLICIT_SCHED`, the new thread is a kernel thread of the creator's process from
/// its first instruction, as on QNX: attached here, by its creator, at the attribute's
/// simulated policy and priority or, inheriting, at the creator's (a kernel full of threads
/// is EAGAIN, as QNX's `pthread_create` says). Otherwise it joins on its first call, as any
/// thread does. glibc always makes it inheriting the creator's Linux scheduling: an explicit
/// attribute's policy and priority are the simulated ones, never Linux's.
///
/// # Safety
/// `out` is writable; `attr` NULL or an initialised attribute object.
pub(crate) unsafe fn create(
    out: *mut pthread_t,
    attr: *const pthread_attr_t,
    start: extern "C" fn(*mut c_void) -> *mut c_void,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: forwarded (the caller's promise).
    let explicit = match keep_errno(|| unsafe { explicit_sched(attr) }) {
        Ok(e) => e,
        Err(e) => return e.0,
    };
    // glibc's copy of the attribute: the caller's, inheriting Linux's scheduling. (A bitwise
    // copy that glibc only reads during the call; the caller's object keeps what it owns.)
    let copy: Option<pthread_attr_t> = explicit.map(|_| {
        // SAFETY: `attr` is non-NULL here (explicit) and initialised (the caller's promise);
        // the copy is ours.
        unsafe {
            let mut copy = attr.read();
            libc::pthread_attr_setinheritsched(&mut copy, INHERIT_SCHED);
            copy
        }
    });
    let glibc_attr = copy.as_ref().map_or(attr, |c| c as *const pthread_attr_t);
    if explicit.is_none() && !userlib::current::kernel_reachable() {
        // SAFETY: as the caller gave them.
        return unsafe { libc::pthread_create(out, glibc_attr, start, arg) };
    }
    let made = guard(|| {
        with_current(|c| {
            let (policy, prio) = match explicit {
                Some(e) => e,
                None => {
                    let (policy, base, _) = c.sched_get(0, 0)?;
                    (policy, base)
                }
            };
            let ctx = c.kernel().thread_attach_for_another(c.process(), prio)?;
            if policy != q::SCHED_RR {
                c.sched_set(0, ctx.tid(), policy, prio)?;
            }
            Ok(ctx)
        })
    });
    let ctx = match made {
        Ok(ctx) => ctx,
        // (A thread of the default scheduling is made all the same when its kernel thread
        // cannot be, the kernel unreachable or full: it joins on its first QNX call, which
        // then reports why, as every thread did before threads were attached here.)
        Err(_) if explicit.is_none() => {
            // SAFETY: as the caller gave them.
            return unsafe { libc::pthread_create(out, glibc_attr, start, arg) };
        }
        Err(e) => return e.0,
    };
    let tid = ctx.tid();
    let adopted = Arc::new(AtomicBool::new(false));
    let start = Box::into_raw(Box::new(Start {
        start,
        arg,
        ctx,
        adopted: adopted.clone(),
    }));
    // SAFETY: `out` is writable (the caller's promise), `glibc_attr` NULL or initialised, the
    // trampoline takes the `Start` it is given once.
    let r = unsafe { libc::pthread_create(out, glibc_attr, trampoline, start.cast()) };
    if r != 0 {
        // SAFETY: no thread took it: ours to free (its kernel thread ends with it).
        drop(unsafe { Box::from_raw(start) });
        return r;
    }
    // Until the new thread records its Linux tid, its `pthread_t` names it here.
    let mut pending = pending();
    if !adopted.load(Ordering::Relaxed) {
        // SAFETY: written by pthread_create just above.
        let thread = unsafe { out.read() } as usize;
        pending.insert(thread, tid);
    }
    0
}

// ------------------------------------------------------------------ process-level calls

/// The thread a process-level call names: the calling thread for `pid` 0, else thread 1 of
/// process `pid` (QNX's rule; `getpid()` is this process).
fn process_thread(c: &ThreadCtx, pid: pid_t) -> KResult<(i32, i32)> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(if pid == 0 {
        (0, 0)
    } else {
        (pid_in(c, pid), 1)
    })
}

/// `sched_get_priority_min(policy)`: 1 for `SCHED_FIFO`, `SCHED_RR`, `SCHED_OTHER`; EINVAL
/// otherwise.
#[no_mangle]
pub extern "C" fn qnxsim_sched_get_priority_min(policy: c_int) -> c_int {
    plain(keep_errno(|| match policy_in(policy, false)? {
        q::SCHED_SPORADIC => Err(Errno::EINVAL),
        _ => Ok(c_int::from(q::PRIO_MIN)),
    }))
}

/// `sched_get_priority_max(policy)`: 255 for `SCHED_FIFO`, `SCHED_RR`, `SCHED_OTHER`; EINVAL
/// otherwise.
#[no_mangle]
pub extern "C" fn qnxsim_sched_get_priority_max(policy: c_int) -> c_int {
    plain(keep_errno(|| match policy_in(policy, false)? {
        q::SCHED_SPORADIC => Err(Errno::EINVAL),
        _ => Ok(c_int::from(q::PRIO_MAX)),
    }))
}

/// `sched_getparam(pid, param)`: the priority (as set) of the calling thread (`pid` 0) or of
/// thread 1 of process `pid`. ESRCH none; EINVAL `param` NULL or `pid` negative.
///
/// # Safety
/// `param` is NULL or a writable `struct sched_param`.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_sched_getparam(pid: pid_t, param: *mut sched_param) -> c_int {
    plain(guard(|| {
        if param.is_null() {
            return Err(Errno::EINVAL);
        }
        let (_, base, _) = with_current(|c| {
            let (pid, tid) = process_thread(c, pid)?;
            c.sched_get(pid, tid)
        })?;
        // SAFETY: checked non-NULL; writable (the caller's promise).
        unsafe { (*param).sched_priority = c_int::from(base) };
        Ok(0)
    }))
}

/// `sched_setparam(pid, param)`: sets that thread's priority, its policy kept.
///
/// # Safety
/// `param` is NULL or a readable `struct sched_param`.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_sched_setparam(pid: pid_t, param: *const sched_param) -> c_int {
    plain(guard(|| {
        // SAFETY: NULL or the caller's `struct sched_param` (its promise).
        let param = unsafe { param.as_ref() }.ok_or(Errno::EINVAL)?;
        let prio = prio_in(param.sched_priority)?;
        with_current(|c| {
            let (pid, tid) = process_thread(c, pid)?;
            c.sched_set(pid, tid, q::SCHED_NOCHANGE, prio)
        })
        .map(|_| 0)
    }))
}

/// `sched_getscheduler(pid)`: that thread's policy.
#[no_mangle]
pub extern "C" fn qnxsim_sched_getscheduler(pid: pid_t) -> c_int {
    plain(guard(|| {
        with_current(|c| {
            let (pid, tid) = process_thread(c, pid)?;
            c.sched_get(pid, tid)
        })
        .map(|(policy, _, _)| policy_out(policy))
    }))
}

/// `sched_setscheduler(pid, policy, param)`: sets that thread's policy and priority; returns
/// the previous policy (POSIX's return; glibc's returns 0).
///
/// # Safety
/// `param` is NULL or a readable `struct sched_param`.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_sched_setscheduler(
    pid: pid_t,
    policy: c_int,
    param: *const sched_param,
) -> c_int {
    plain(guard(|| {
        // SAFETY: NULL or the caller's `struct sched_param` (its promise).
        let param = unsafe { param.as_ref() }.ok_or(Errno::EINVAL)?;
        let policy = policy_in(policy, false)?;
        let prio = prio_in(param.sched_priority)?;
        with_current(|c| {
            let (pid, tid) = process_thread(c, pid)?;
            let (old, _, _) = c.sched_get(pid, tid)?;
            c.sched_set(pid, tid, policy, prio)?;
            Ok(policy_out(old))
        })
    }))
}
