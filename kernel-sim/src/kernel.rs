//! The dispatcher: where a kernel call goes.
//!
//! [`ThreadCtx::call`] is the whole life of a kernel entry: take the kernel lock, count the
//! entry, move the armed TimerTimeout into force, run the call (a pure function over the
//! tables, in `calls/`), note whom it readied, release the lock, wake them, and, if the call
//! blocked the caller, sleep on the caller's wait word until a waker readies it or its
//! deadline passes. Then retake the lock once to collect the result and become RUNNING.

use crate::abi::errno::{Errno, KResult};
use crate::abi::types::{Iov, MsgInfo, RcvId, SigEvent};
use crate::calls::timer::TimerInfo;
use crate::calls::{self, Caller, Effects, Step};
use crate::copy::IovList;
use crate::objects::thread::CallResult;
use crate::objects::{KState, ProcCounters, Process, Thread};
use crate::pool::Id;
use crate::region::{Config, OsPriority, Region, Tables};
use crate::sync::Arc;
use crate::syscalls::{dispatch, Call};
use crate::wait::{Clock, Deadline, WaitResult, WaitWord};
use std::marker::PhantomData;

/// A handle to a simulated kernel. Cheap to clone; the kernel lives while a handle does.
#[derive(Clone, Debug)]
pub struct Kernel {
    inner: Arc<Inner>,
}

/// What a kernel is: its region, and the timer service that stands in for the clock interrupt.
#[derive(Debug)]
struct Inner {
    region: Region,
    timers: std::sync::Arc<TimerService>,
    /// The fork generation the kernel was made in (`fork.rs`): in a forked child the parent's
    /// kernels are not the child's, and their calls fail with ESRCH.
    fork_gen: u64,
}

/// The timer service's own wait word and switches. It lives outside the region (and outside
/// `Inner`) so the service thread can sleep on it without keeping the kernel alive.
#[derive(Debug, Default)]
struct TimerService {
    word: WaitWord,
    #[cfg_attr(loom, allow(dead_code))]
    started: std::sync::atomic::AtomicBool,
    stop: std::sync::atomic::AtomicBool,
}

impl crate::fork::ForkLock for Inner {
    fn lock_for_fork(&self) {
        self.region.lock_word().lock(false);
    }
    fn unlock_after_fork(&self) {
        self.region.lock_word().unlock(false);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.timers
            .stop
            .store(true, std::sync::atomic::Ordering::Release);
        self.timers.word.post();
        self.timers.word.wake(false);
    }
}

/// A simulated process, as the kernel names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pid {
    /// The pid programs see.
    pub pid: i32,
    id: Id<Process>,
}

impl Kernel {
    /// A new kernel in anonymous memory, with the given capacities.
    pub fn new(cfg: Config) -> KResult<Kernel> {
        crate::signals::ensure_linked();
        let region = Region::new(cfg)?;
        let k = Kernel {
            inner: Arc::new(Inner {
                region,
                timers: std::sync::Arc::new(TimerService::default()),
                fork_gen: crate::fork::generation(),
            }),
        };
        #[cfg(not(loom))]
        crate::fork::register(
            Arc::downgrade(&k.inner) as std::sync::Weak<dyn crate::fork::ForkLock>
        );
        Ok(k)
    }

    /// Whether two handles name the same kernel.
    pub fn same(&self, other: &Kernel) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The region (for inspectors: header, size, configuration).
    pub fn region(&self) -> &Region {
        &self.inner.region
    }

    fn shared(&self) -> bool {
        false
    }

    /// Whether the calling thread may enter this kernel now: EDEADLK from a signal handler
    /// that interrupted a kernel call of this thread (installed behind the C library's back:
    /// signals.rs), ESRCH for a kernel inherited through fork().
    fn may_enter(&self) -> KResult<()> {
        if crate::signals::in_kernel() {
            return Err(Errno::EDEADLK);
        }
        if self.forked_away() {
            return Err(Errno::ESRCH);
        }
        Ok(())
    }

    /// Whether this kernel was inherited through fork() from the parent process: its
    /// processes and threads are the parent's, not ours (fork.rs).
    pub fn forked_away(&self) -> bool {
        self.inner.fork_gen != crate::fork::generation()
    }

    /// Runs `f` over the tables under the kernel lock (no blocking, no waking). A signal that
    /// arrives meanwhile has its handler run after the lock is released (signals.rs).
    pub(crate) fn locked<R>(&self, f: impl FnOnce(&mut Tables<'_>) -> R) -> R {
        let _entered = crate::signals::Entered::new();
        let lock = self.inner.region.lock_word();
        lock.lock(self.shared());
        // A panic under the kernel lock is a kernel bug that may have left the tables half
        // changed: stop the whole (simulated) system at once, as a kernel panic does, rather
        // than leave every other thread waiting forever for the lock.
        struct PanicGuard;
        impl Drop for PanicGuard {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    eprintln!("kernel-sim: kernel panic (a panic while holding the kernel lock); aborting");
                    std::process::abort();
                }
            }
        }
        let guard = PanicGuard;
        // SAFETY: we hold the kernel lock until `unlock` below.
        let r = unsafe { self.inner.region.with_tables(f) };
        std::mem::forget(guard);
        lock.unlock(self.shared());
        r
    }

    /// Runs a call that may ready threads, then wakes them after releasing the lock.
    fn locked_fx<R>(&self, f: impl FnOnce(&mut Tables<'_>, &mut Effects) -> R) -> R {
        // (Signal handlers recorded meanwhile run after the wake-ups, not before.)
        let _entered = crate::signals::Entered::new();
        let mut fx = Effects::default();
        let r = self.locked(|t| f(t, &mut fx));
        self.apply(&fx);
        r
    }

    fn apply(&self, fx: &Effects) {
        // Priorities first: a thread readied at a new priority must run at it.
        if self.inner.region.config().os_priority != OsPriority::Off {
            for &(tid, prio) in &fx.prio {
                apply_os_priority(self.inner.region.config().os_priority, tid, prio);
            }
        }
        let waits = self.inner.region.waits();
        for &w in &fx.wake {
            waits[w as usize].wake(self.shared());
        }
        for sig in &fx.signals {
            // A signal aimed at a simulated process does what it would do to a process: run
            // its handler (the Linux signal goes to the target's thread), nothing, or end the
            // process, which here is the simulated one, not the Linux process and every other
            // simulated process in it.
            match crate::signals::disposition(sig.signo) {
                // (A process with no thread to run the handler has nobody to take it.)
                crate::signals::Disposition::Handle if sig.os_tid != 0 => send_signal(sig),
                crate::signals::Disposition::Handle => {}
                crate::signals::Disposition::Ignore => {}
                crate::signals::Disposition::Terminate => {
                    // (Part of the call being made: not a new entry, so no re-entry check.)
                    let id = sig.proc;
                    let _ = self.locked_fx(|t, fx| calls::process::process_destroy(t, id, fx));
                }
            }
        }
    }

    /// Creates a simulated process.
    pub fn process_create(&self) -> KResult<Pid> {
        self.may_enter()?;
        self.locked(calls::process::process_create)
            .map(|(id, pid)| Pid { pid, id })
    }

    /// Tears a simulated process down: its channels are destroyed (blocked peers leave with
    /// ESRCH), its connections detached, its remaining threads released with ESRCH.
    pub fn process_destroy(&self, pid: Pid) -> KResult<()> {
        self.may_enter()?;
        self.locked_fx(|t, fx| calls::process::process_destroy(t, pid.id, fx))
    }

    /// Registers the calling OS thread as a kernel thread of `pid` at priority `prio` (1..=255).
    pub fn thread_attach(&self, pid: Pid, prio: i16) -> KResult<ThreadCtx> {
        self.attach(pid, prio.into(), false)
    }

    /// Registers the calling OS thread as a kernel thread of `pid` that works for a library,
    /// not for the program (the asyncmsg library's thread, the short-lived thread that cleans
    /// up a handle dropped by another process's thread): its end sends no
    /// `_PULSE_CODE_THREADDEATH`, and process-directed signals and events never pick it.
    pub fn thread_attach_internal(&self, pid: Pid, prio: i16) -> KResult<ThreadCtx> {
        self.attach(pid, prio.into(), true)
    }

    fn attach(&self, pid: Pid, prio: i32, internal: bool) -> KResult<ThreadCtx> {
        self.may_enter()?;
        let os_tid = nix::unistd::gettid().as_raw();
        let (me, tid) = self.locked(|t| {
            let r = calls::process::thread_create(t, pid.id, prio, os_tid);
            if let Ok((id, _)) = r {
                t.threads.at_mut(id.index).internal = internal;
            }
            r
        })?;
        Ok(ThreadCtx {
            k: self.clone(),
            me: Caller {
                thread: me,
                proc: pid.id,
            },
            pid: pid.pid,
            tid,
            _not_sync: PhantomData,
        })
    }

    /// Starts the timer service thread on first use: it sleeps until the next timer is due,
    /// then enters the kernel to deliver the due timers' events (QNX's clock interrupt).
    #[cfg(not(loom))]
    fn ensure_timer_service(&self) {
        let svc = &self.inner.timers;
        if svc.started.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let svc = svc.clone();
        let spawned = std::thread::Builder::new()
            .name("qnx-sim-timers".into())
            .spawn(move || timer_service(weak, svc));
        if spawned.is_err() {
            self.inner
                .timers
                .started
                .store(false, std::sync::atomic::Ordering::Release);
        }
    }

    #[cfg(not(loom))]
    fn kick_timer_service(&self) {
        self.inner.timers.word.post();
        self.inner.timers.word.wake(false);
    }

    /// The counters of process `pid`.
    pub fn process_counters(&self, pid: i32) -> KResult<ProcCounters> {
        self.locked(|t| t.proc_by_pid(pid).map(|p| t.procs.at(p.index).counters))
            .ok_or(Errno::ESRCH)
    }

    /// Kernel calls made so far, all processes together.
    pub fn kernel_entries(&self) -> u64 {
        self.locked(|t| *t.kernel_entries)
    }

    /// A consistent picture of every process, thread, channel and connection.
    pub fn snapshot(&self) -> crate::info::Snapshot {
        self.locked(crate::info::snapshot)
    }

    /// One thread's state and priorities.
    pub fn thread_info(&self, pid: i32, tid: i32) -> KResult<crate::info::ThreadInfo> {
        self.locked(|t| crate::info::thread_info(t, pid, tid))
    }

    /// Live objects and capacity of every pool.
    pub fn pool_usage(&self) -> crate::info::PoolUsage {
        self.locked(|t| crate::info::pool_usage(t))
    }
}

/// Sends an event's signal to a Linux thread of this process: with `rt_tgsigqueueinfo`, so
/// the value and code arrive in the handler's `siginfo_t`, for the negative codes Linux lets a
/// program queue; with `tgkill` otherwise (a `kill()`'s SI_USER arrives as SI_TKILL).
fn send_signal(sig: &calls::event::SignalOut) {
    if sig.code >= 0 || sig.code == calls::event::SI_TKILL {
        // SAFETY: plain integer arguments.
        unsafe {
            libc::syscall(libc::SYS_tgkill, libc::getpid(), sig.os_tid, sig.signo);
        }
        return;
    }
    // SAFETY: an all-zero siginfo_t is valid; we fill the fields of the SI_QUEUE layout.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    info.si_signo = sig.signo;
    info.si_code = sig.code;
    let raw = &mut info as *mut libc::siginfo_t as *mut u8;
    // SAFETY: on Linux the SI_QUEUE fields are si_pid (i32) at 16, si_uid (u32) at 20 and
    // si_value (8 bytes) at 24, all inside the 128-byte siginfo_t we own.
    unsafe {
        (raw.add(16) as *mut i32).write_unaligned(libc::getpid());
        (raw.add(20) as *mut u32).write_unaligned(libc::getuid());
        (raw.add(24) as *mut u64).write_unaligned(sig.value);
    }
    // SAFETY: plain syscall arguments; `info` lives across the call.
    unsafe {
        libc::syscall(
            libc::SYS_rt_tgsigqueueinfo,
            libc::getpid(),
            sig.os_tid,
            sig.signo,
            &info as *const libc::siginfo_t,
        );
    }
}

fn apply_os_priority(mode: OsPriority, tid: i32, prio: u8) {
    // Failures (no CAP_SYS_NICE, thread gone) leave the Linux thread as it was: the emulated
    // priority stays authoritative. See docs/design.md, "Priorities".
    match mode {
        OsPriority::Off => {}
        OsPriority::Nice => {
            let nice = (10 - prio as i32).clamp(-20, 19);
            // SAFETY: setpriority takes plain integers and touches no memory of ours.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice);
            }
        }
        OsPriority::Fifo => {
            let p = libc::sched_param {
                sched_priority: (prio as i32).min(99),
            };
            // SAFETY: `p` is a valid sched_param for the duration of the call.
            unsafe {
                libc::sched_setscheduler(tid, libc::SCHED_FIFO, &p);
            }
        }
    }
}

/// A kernel thread: an OS thread's identity in the kernel, through which it makes kernel calls.
/// `Send` (it may be made in one OS thread and handed to the one that will use it, which then
/// calls [`ThreadCtx::adopt_os_thread`]) but not `Sync`: one OS thread at a time makes its calls.
/// Dropping it is thread death.
#[derive(Debug)]
pub struct ThreadCtx {
    k: Kernel,
    me: Caller,
    pid: i32,
    tid: i32,
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

impl Drop for ThreadCtx {
    fn drop(&mut self) {
        if crate::signals::in_kernel() {
            // Dropped by a handler that interrupted this thread inside the kernel (behind the
            // C library's back): the kernel thread stays rather than deadlock.
            return;
        }
        let me = self.me.thread;
        self.k
            .locked_fx(|t, fx| calls::process::thread_destroy(t, me, fx));
    }
}

impl ThreadCtx {
    /// Records the calling OS thread as the one running this kernel thread (its Linux tid is
    /// what the opt-in OS priority mode adjusts).
    pub fn adopt_os_thread(&self) {
        let me = self.me.thread;
        let tid = nix::unistd::gettid().as_raw();
        self.k.locked(|t| {
            if let Some(th) = t.threads.get_mut(me) {
                th.os_tid = tid;
            }
        });
    }

    /// The kernel this thread belongs to.
    pub fn kernel(&self) -> &Kernel {
        &self.k
    }

    /// The simulated process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The process, as a [`Pid`] handle.
    pub fn process(&self) -> Pid {
        Pid {
            pid: self.pid,
            id: self.me.proc,
        }
    }

    /// The thread id within the process.
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// Enters the kernel with call `f`, blocking if it says so. See the module doc.
    fn call(&self, call: Call) -> KResult<i64> {
        self.k.may_enter()?;
        // Marks the thread as in the kernel; at the end of the call it runs the handlers of
        // the signals that arrived meanwhile, as QNX delivers signals on leaving the kernel.
        let _entered = crate::signals::Entered::new();
        let signals_seen = crate::signals::arrivals();
        let region = &self.k.inner.region;
        let shared = self.k.shared();
        let me = self.me;
        let word = &region.waits()[me.thread.index as usize];
        let mut retry = false;
        loop {
            let mut fx = Effects::default();
            // Under the lock: run the call; if it blocks, note the wait word's value and the
            // deadline in force for the state it blocked in. A retry is the same call again:
            // not a new kernel entry, and its timeout stays in force.
            let (settled, seq, deadline, spin) = self.k.locked(|t| {
                let Some(th) = t.threads.get_mut(me.thread) else {
                    return (Some(Outcome::Done(Err(Errno::ESRCH))), 0, None, None);
                };
                th.result = CallResult::Pending;
                if !retry {
                    th.kernel_entries += 1;
                    th.timeout_cur = std::mem::replace(
                        &mut th.timeout_next,
                        crate::objects::thread::TimeoutArm::NONE,
                    );
                    *t.kernel_entries += 1;
                    t.counters(me.proc).kernel_entries += 1;
                }
                // `None`: the call blocked and the thread must sleep.
                let mut settled = match dispatch(t, me, call, &mut fx) {
                    Ok(Step::Done(v)) => Some(Outcome::Done(Ok(v))),
                    Err(e) => Some(Outcome::Done(Err(e))),
                    Ok(Step::Block) => None,
                };
                let mut deadline = None;
                if settled.is_none() {
                    if let Some(d) = deadline_for(t.threads.at(me.thread.index)) {
                        if d.passed() {
                            // Already expired (or NULL ntime: a poll): time out without sleeping.
                            settled = fire(t, me.thread.index, &mut fx);
                        }
                    }
                    if settled.is_none() {
                        deadline = deadline_for(t.threads.at(me.thread.index));
                        t.counters(me.proc).blocks += 1;
                    }
                }
                t.counters(me.proc).wakeups += fx.wake.len() as u64;
                let spin = match t.threads.at(me.thread.index).state {
                    KState::Receive { chan } if settled.is_none() => {
                        calls::asyncmsg::trigger_cpu(t, chan)
                    }
                    _ => None,
                };
                (settled, word.load(), deadline, spin)
            });
            self.k.apply(&fx);
            let out = match settled {
                Some(out) => out,
                None => self.block(seq, deadline, shared, spin, signals_seen),
            };
            match out {
                Outcome::Done(r) => return r,
                Outcome::Retry => retry = true,
                Outcome::Restart => retry = false,
            }
        }
    }

    /// Sleeps until readied, then collects the outcome. Every wake-up is judged under the lock:
    /// readied (collect the result and become RUNNING), or still blocked, in which case a
    /// deadline that has passed in a state the timeout covers fires (the thread leaves with
    /// ETIMEDOUT, or stays: REPLY-blocked on an `_NTO_CHF_UNBLOCK` channel, or an event other
    /// than SIGEV_UNBLOCK), and the thread sleeps on with the deadline of the state it is now in
    /// (a SEND-blocked client that was received may have become subject to a REPLY timeout).
    /// A signal that came since the call began (`signals_seen` counts those before) interrupts
    /// the call as QNX does: EINTR, or on an `_NTO_CHF_UNBLOCK` channel a REPLY-blocked client
    /// asks the server and stays; a thread already readied keeps its result.
    ///
    /// `spin_vs`: the CPU whose thread is expected to wake us (an asyncmsg receiver's last
    /// trigger). When it is another CPU, spin briefly before sleeping: the wake-up usually comes
    /// sooner than a futex sleep and wake would take. When it is ours, a busy spin would only
    /// delay the waker: yield the CPU to it a few times instead, so that a producer sharing the
    /// CPU fills several batches while we stand aside, rather than waking us (a switch each
    /// way) at every trigger.
    fn block(
        &self,
        mut seq: u32,
        mut deadline: Option<Deadline>,
        shared: bool,
        spin_vs: Option<i32>,
        mut signals_seen: u64,
    ) -> Outcome {
        enum Next {
            Done(Outcome),
            Wait(u32, Option<Deadline>),
        }
        let me = self.me;
        let i = me.thread.index;
        let word = &self.k.inner.region.waits()[i as usize];
        // A signal that arrives while we wait bumps our word (signals.rs).
        let _blocked = crate::signals::blocked_on(word);
        // (Only an asyncmsg receive has a CPU to compare with: read ours only then.)
        // A yield may hand a busy thread on our CPU a whole time slice, so a receive bounded by
        // a deadline never yields: it would overshoot the deadline.
        let mut spin = spin_vs.and_then(|c| {
            let me_cpu = current_cpu();
            if me_cpu < 0 {
                None
            } else if c != me_cpu {
                Some(Spin::Busy)
            } else {
                deadline.is_none().then_some(Spin::Yield)
            }
        });
        loop {
            let changed = match spin.take() {
                Some(Spin::Busy) => word.spin(seq, SPIN_ITERATIONS),
                Some(Spin::Yield) => word.yield_until_changed(seq, YIELDS),
                None => false,
            };
            let woke = if changed {
                WaitResult::Changed
            } else if crate::signals::arrivals() != signals_seen {
                WaitResult::Interrupted
            } else {
                word.wait(seq, deadline, shared)
            };
            let arrived = crate::signals::arrivals();
            let signalled = woke == WaitResult::Interrupted || arrived != signals_seen;
            signals_seen = arrived;
            if woke == WaitResult::Changed && word.load() == seq && !signalled {
                continue; // spurious
            }
            let mut fx = Effects::default();
            let mut my_prio = 0u8;
            let next = self.k.locked(|t| {
                let Some(th) = t.threads.get_mut(me.thread) else {
                    return Next::Done(Outcome::Done(Err(Errno::ESRCH)));
                };
                if th.state == KState::Ready {
                    th.state = KState::Running;
                    my_prio = th.prio;
                    return Next::Done(outcome_of(std::mem::replace(
                        &mut th.result,
                        CallResult::Pending,
                    )));
                }
                if signalled {
                    if let Some(r) = calls::srr::force_ready(t, i, calls::srr::Why::Signal, &mut fx)
                    {
                        return Next::Done(outcome_of(r));
                    }
                }
                if let Some(d) = deadline_for(t.threads.at(i)) {
                    if woke == WaitResult::TimedOut || d.passed() {
                        if let Some(out) = fire(t, i, &mut fx) {
                            return Next::Done(out);
                        }
                    }
                }
                Next::Wait(word.load(), deadline_for(t.threads.at(i)))
            });
            self.k.apply(&fx);
            match next {
                Next::Done(out) => {
                    // In the OS priority mode, run on at the priority the kernel gave us (the
                    // waker applies it too, but we may have returned before it did).
                    let mode = self.k.inner.region.config().os_priority;
                    if mode != OsPriority::Off && my_prio != 0 {
                        apply_os_priority(mode, nix::unistd::gettid().as_raw(), my_prio);
                    }
                    return out;
                }
                Next::Wait(s, d) => {
                    seq = s;
                    deadline = d;
                }
            }
        }
    }

    // ---------------------------------------------------------------- channels

    /// ChannelCreate: returns a chid.
    pub fn channel_create(&self, flags: u32) -> KResult<i32> {
        self.call(Call::ChannelCreate { flags }).map(|v| v as i32)
    }

    /// ChannelDestroy.
    pub fn channel_destroy(&self, chid: i32) -> KResult<()> {
        self.call(Call::ChannelDestroy { chid }).map(drop)
    }

    // ---------------------------------------------------------------- connections

    /// ConnectAttach: returns a coid.
    pub fn connect_attach(
        &self,
        nd: u32,
        pid: i32,
        chid: i32,
        index: u32,
        flags: u32,
    ) -> KResult<i32> {
        self.call(Call::ConnectAttach {
            nd,
            pid,
            chid,
            index,
            flags,
        })
        .map(|v| v as i32)
    }

    /// ConnectDetach (of a coid, or of a scoid whose client is gone).
    pub fn connect_detach(&self, coid: i32) -> KResult<()> {
        self.call(Call::ConnectDetach { coid }).map(drop)
    }

    // ---------------------------------------------------------------- send / receive / reply

    /// MsgSendv over raw iovs: returns the server's reply status.
    ///
    /// # Safety
    /// Every iov must describe memory valid for reads (`siov`) or writes (`riov`) for the whole
    /// call, not otherwise accessed meanwhile. (The kernel rejects null bases with EFAULT and
    /// overflowing lengths with EOVERFLOW before touching anything.)
    pub unsafe fn msg_sendv_raw(&self, coid: i32, siov: &[Iov], riov: &[Iov]) -> KResult<i64> {
        self.call(Call::MsgSend {
            coid,
            smsg: IovList::new(siov),
            rmsg: IovList::new(riov),
        })
    }

    /// MsgSend: sends `smsg`, returns the reply status; the reply lands in `rmsg`.
    pub fn msg_send(&self, coid: i32, smsg: &[u8], rmsg: &mut [u8]) -> KResult<i64> {
        let s = [Iov::from_slice(smsg)];
        let r = [Iov::from_mut_slice(rmsg)];
        // SAFETY: the iovs describe our two borrowed slices, alive and unaliased for the call.
        unsafe { self.msg_sendv_raw(coid, &s, &r) }
    }

    /// MsgSendv over slices: gathers `smsg`, scatters the reply into `rmsg`.
    pub fn msg_sendv(&self, coid: i32, smsg: &[&[u8]], rmsg: &mut [&mut [u8]]) -> KResult<i64> {
        let s: smallvec::SmallVec<[Iov; 4]> = smsg.iter().map(|b| Iov::from_slice(b)).collect();
        let r: smallvec::SmallVec<[Iov; 4]> =
            rmsg.iter_mut().map(|b| Iov::from_mut_slice(b)).collect();
        // SAFETY: the iovs describe borrowed slices, alive and unaliased for the call.
        unsafe { self.msg_sendv_raw(coid, &s, &r) }
    }

    /// MsgReceivev over raw iovs: returns an rcvid (> 0) for a message, 0 for a pulse.
    ///
    /// # Safety
    /// The iovs must describe memory valid for writes for the whole call.
    pub unsafe fn msg_receivev_raw(
        &self,
        chid: i32,
        riov: &[Iov],
        info: Option<&mut MsgInfo>,
    ) -> KResult<RcvId> {
        self.call(Call::MsgReceive {
            chid,
            rmsg: IovList::new(riov),
            info: info.map_or(0, |i| i as *mut MsgInfo as u64),
            pulse_only: false,
        })
    }

    /// MsgReceive: returns an rcvid (> 0) for a message, 0 for a pulse (the buffer then holds a
    /// `struct _pulse`).
    pub fn msg_receive(
        &self,
        chid: i32,
        rmsg: &mut [u8],
        info: Option<&mut MsgInfo>,
    ) -> KResult<RcvId> {
        let r = [Iov::from_mut_slice(rmsg)];
        // SAFETY: the iov describes our borrowed slice.
        unsafe { self.msg_receivev_raw(chid, &r, info) }
    }

    /// MsgReceivev over slices.
    pub fn msg_receivev(
        &self,
        chid: i32,
        rmsg: &mut [&mut [u8]],
        info: Option<&mut MsgInfo>,
    ) -> KResult<RcvId> {
        let r: smallvec::SmallVec<[Iov; 4]> =
            rmsg.iter_mut().map(|b| Iov::from_mut_slice(b)).collect();
        // SAFETY: the iovs describe borrowed slices.
        unsafe { self.msg_receivev_raw(chid, &r, info) }
    }

    /// MsgReceivePulse: like MsgReceive, but takes only pulses (messages stay queued).
    pub fn msg_receive_pulse(&self, chid: i32, rmsg: &mut [u8]) -> KResult<()> {
        let r = [Iov::from_mut_slice(rmsg)];
        self.call(Call::MsgReceive {
            chid,
            rmsg: IovList::new(&r),
            info: 0,
            pulse_only: true,
        })
        .map(drop)
    }

    /// MsgReceivePulsev: only pulses, into scattered buffers.
    pub fn msg_receive_pulsev(&self, chid: i32, rmsg: &mut [&mut [u8]]) -> KResult<()> {
        let r: smallvec::SmallVec<[Iov; 4]> =
            rmsg.iter_mut().map(|b| Iov::from_mut_slice(b)).collect();
        self.call(Call::MsgReceive {
            chid,
            rmsg: IovList::new(&r),
            info: 0,
            pulse_only: true,
        })
        .map(drop)
    }

    /// MsgReplyv over raw iovs.
    ///
    /// # Safety
    /// The iovs must describe memory valid for reads for the whole call.
    pub unsafe fn msg_replyv_raw(&self, rcvid: RcvId, status: i64, iov: &[Iov]) -> KResult<()> {
        self.call(Call::MsgReply {
            rcvid,
            status,
            smsg: IovList::new(iov),
        })
        .map(drop)
    }

    /// MsgReply: the client's MsgSend returns `status`; `msg` lands in its reply buffer.
    pub fn msg_reply(&self, rcvid: RcvId, status: i64, msg: &[u8]) -> KResult<()> {
        let s = [Iov::from_slice(msg)];
        // SAFETY: the iov describes our borrowed slice.
        unsafe { self.msg_replyv_raw(rcvid, status, &s) }
    }

    /// MsgReplyv over slices.
    pub fn msg_replyv(&self, rcvid: RcvId, status: i64, msg: &[&[u8]]) -> KResult<()> {
        let s: smallvec::SmallVec<[Iov; 4]> = msg.iter().map(|b| Iov::from_slice(b)).collect();
        // SAFETY: the iovs describe borrowed slices.
        unsafe { self.msg_replyv_raw(rcvid, status, &s) }
    }

    /// MsgError: the client's MsgSend fails with `err` (EOK: returns 0; ERESTART: re-sends).
    pub fn msg_error(&self, rcvid: RcvId, err: Errno) -> KResult<()> {
        self.call(Call::MsgError { rcvid, err: err.0 }).map(drop)
    }

    /// MsgRead: copies the client's message from `offset`; returns bytes copied.
    pub fn msg_read(&self, rcvid: RcvId, buf: &mut [u8], offset: usize) -> KResult<usize> {
        let r = [Iov::from_mut_slice(buf)];
        self.call(Call::MsgRead {
            rcvid,
            dst: IovList::new(&r),
            offset: offset as u64,
        })
        .map(|v| v as usize)
    }

    /// MsgReadv over slices.
    pub fn msg_readv(&self, rcvid: RcvId, bufs: &mut [&mut [u8]], offset: usize) -> KResult<usize> {
        let r: smallvec::SmallVec<[Iov; 4]> =
            bufs.iter_mut().map(|b| Iov::from_mut_slice(b)).collect();
        self.call(Call::MsgRead {
            rcvid,
            dst: IovList::new(&r),
            offset: offset as u64,
        })
        .map(|v| v as usize)
    }

    /// MsgWrite: copies `buf` into the client's reply buffer at `offset`; returns bytes copied.
    pub fn msg_write(&self, rcvid: RcvId, buf: &[u8], offset: usize) -> KResult<usize> {
        let s = [Iov::from_slice(buf)];
        self.call(Call::MsgWrite {
            rcvid,
            src: IovList::new(&s),
            offset: offset as u64,
        })
        .map(|v| v as usize)
    }

    /// MsgWritev over slices.
    pub fn msg_writev(&self, rcvid: RcvId, bufs: &[&[u8]], offset: usize) -> KResult<usize> {
        let s: smallvec::SmallVec<[Iov; 4]> = bufs.iter().map(|b| Iov::from_slice(b)).collect();
        self.call(Call::MsgWrite {
            rcvid,
            src: IovList::new(&s),
            offset: offset as u64,
        })
        .map(|v| v as usize)
    }

    /// MsgInfo: the `MsgInfo` of a REPLY-blocked client's message.
    pub fn msg_info(&self, rcvid: RcvId) -> KResult<MsgInfo> {
        let mut info = MsgInfo::default();
        self.call(Call::MsgInfo {
            rcvid,
            info: &mut info as *mut MsgInfo as u64,
        })?;
        Ok(info)
    }

    /// MsgSendPulse: `prio` -1 means the caller's priority; `code` 0..=127.
    pub fn msg_send_pulse(&self, coid: i32, prio: i16, code: i8, value: i32) -> KResult<()> {
        self.call(Call::MsgSendPulse {
            coid,
            prio: i32::from(prio),
            code: i32::from(code),
            value,
        })
        .map(drop)
    }

    // ---------------------------------------------------------------- threads

    /// Sets this thread's priority (1..=255); returns the previous one.
    pub fn set_priority(&self, prio: i16) -> KResult<i16> {
        self.call(Call::SetPriority {
            prio: i32::from(prio),
        })
        .map(|v| v as i16)
    }

    /// This thread's base and current priority.
    pub fn priority(&self) -> KResult<(u8, u8)> {
        let me = self.me.thread;
        self.k
            .locked(|t| t.threads.get(me).map(|th| (th.base_prio, th.prio)))
            .ok_or(Errno::ESRCH)
    }

    /// TimerTimeout: arms a one-shot kernel timeout for this thread's next kernel call.
    /// `clock` is `CLOCK_MONOTONIC` or `CLOCK_REALTIME` (Linux's ids), `flags` the
    /// `_NTO_TIMEOUT_*` states (plus `TIMER_ABSTIME`), `ntime` nanoseconds (`None`: time out at
    /// once instead of blocking). Returns the flags that were armed before.
    pub fn timer_timeout(&self, clock: i32, flags: u32, ntime: Option<u64>) -> KResult<u32> {
        self.timer_timeout_event(clock, flags, None, ntime)
    }

    /// TimerTimeout with a notification event: `None` or `SIGEV_UNBLOCK` makes expiry end the
    /// call with ETIMEDOUT; another event is delivered to this thread on expiry and the call
    /// goes on waiting.
    pub fn timer_timeout_event(
        &self,
        clock: i32,
        flags: u32,
        event: Option<&SigEvent>,
        ntime: Option<u64>,
    ) -> KResult<u32> {
        let now = match clock {
            calls::process::CLOCK_REALTIME => Deadline::now_ns(Clock::Realtime),
            _ => Deadline::now_ns(Clock::Monotonic),
        };
        let ev = event.copied();
        let req = calls::process::TimeoutRequest {
            clock,
            flags,
            event: ev,
            ntime,
            now,
        };
        self.call(Call::TimerTimeout(req)).map(|v| v as u32)
    }

    // ---------------------------------------------------------------- events

    /// MsgDeliverEvent: delivers `event` to the client `rcvid` names (it need not be
    /// REPLY-blocked; rcvid 0 is this thread).
    pub fn msg_deliver_event(&self, rcvid: RcvId, event: &SigEvent) -> KResult<()> {
        self.call(Call::MsgDeliverEvent {
            rcvid,
            event: *event,
        })
        .map(drop)
    }

    /// MsgVerifyEvent: checks that `event` could be delivered to the client `rcvid` names.
    pub fn msg_verify_event(&self, rcvid: RcvId, event: &SigEvent) -> KResult<()> {
        self.call(Call::MsgVerifyEvent {
            rcvid,
            event: *event,
        })
        .map(drop)
    }

    /// SignalKill(nd, pid, tid, signo, code, value): sends `signo` to process `pid` (0: ours)
    /// or, with `tid` non-zero, to that thread of it; `signo` 0 only checks that the target
    /// exists. A handled signal runs its handler in the target's thread; an ignored one does
    /// nothing; one whose default action ends a process ends the simulated process only.
    #[allow(clippy::too_many_arguments)] // SignalKill's own arguments
    pub fn signal_kill(
        &self,
        nd: u32,
        pid: i32,
        tid: i32,
        signo: i32,
        code: i32,
        value: i32,
    ) -> KResult<()> {
        self.call(Call::SignalKill {
            nd,
            pid,
            tid,
            signo,
            code,
            value,
        })
        .map(drop)
    }

    // ---------------------------------------------------------------- asyncmsg

    /// asyncmsg_channel_create's kernel call: an asyncmsg channel whose receives take up to
    /// `max_num_buffer` messages of at most `buffer_size` bytes; `event` (delivered to this
    /// thread) announces messages to a receiver that waits elsewhere.
    pub fn async_channel_create(
        &self,
        flags: u32,
        buffer_size: usize,
        max_num_buffer: u32,
        event: Option<&SigEvent>,
    ) -> KResult<i32> {
        self.call(Call::AsyncChannelCreate {
            flags,
            buffer_size: buffer_size as u64,
            max_num_buffer,
            event: event.copied(),
        })
        .map(|v| v as i32)
    }

    /// asyncmsg_connect_attach's kernel call: a connection whose messages the kernel takes
    /// from `queue`, pulsing this process's asyncmsg library on `notify_coid` (-1: never)
    /// when it takes some.
    ///
    /// # Safety
    /// `queue` must stay alive (not moved, not dropped) until the connection is detached, and
    /// every message descriptor pushed on it must stay valid until its slot is released.
    #[allow(clippy::too_many_arguments)] // ConnectAttachExt's own arguments
    pub unsafe fn async_connect_attach(
        &self,
        nd: u32,
        pid: i32,
        chid: i32,
        index: u32,
        flags: u32,
        queue: &crate::abi::asyncq::AsyncQueue,
        notify_coid: i32,
    ) -> KResult<i32> {
        // Our caller's promise about `queue` is the one the call's dispatch relies on.
        self.call(Call::AsyncConnectAttach {
            nd,
            pid,
            chid,
            index,
            flags,
            queue: queue as *const crate::abi::asyncq::AsyncQueue as u64,
            notify_coid,
        })
        .map(|v| v as i32)
    }

    /// MsgSendAsync: the asyncmsg trigger (one kernel entry per batch). Returns the messages
    /// pending on the connection.
    pub fn msg_send_async(&self, coid: i32) -> KResult<u32> {
        self.call(Call::MsgSendAsync {
            coid,
            queue: None,
            cpu: current_cpu(),
        })
        .map(|v| v as u32)
    }

    /// [`ThreadCtx::msg_send_async`] for the connection whose queue is `queue`: EBADF if `coid`
    /// names another connection now (the one a caller looked up was detached and its coid
    /// reused), so that a trigger never reaches a connection it was not meant for.
    pub fn msg_send_async_on(
        &self,
        coid: i32,
        queue: &crate::abi::asyncq::AsyncQueue,
    ) -> KResult<u32> {
        self.call(Call::MsgSendAsync {
            coid,
            queue: Some(queue as *const crate::abi::asyncq::AsyncQueue as u64),
            cpu: current_cpu(),
        })
        .map(|v| v as u32)
    }

    /// MsgReceiveAsync: takes up to `hdrs.len()` messages, message `i` in `arena` at
    /// `hdrs[i].offset` (each message gets one buffer of the channel's buffer size). Blocks
    /// until messages are ready, unless the channel is `_NTO_CHF_ASYNC_NONBLOCK` (EAGAIN).
    pub fn msg_receive_async(
        &self,
        chid: i32,
        arena: &mut [u8],
        hdrs: &mut [crate::abi::types::AsyncGetHeader],
    ) -> KResult<usize> {
        let a = [Iov::from_mut_slice(arena)];
        self.call(Call::MsgReceiveAsync {
            chid,
            arena: IovList::new(&a),
            hdrs: hdrs.as_mut_ptr() as u64,
            max: u32::try_from(hdrs.len()).unwrap_or(u32::MAX),
        })
        .map(|v| v as usize)
    }

    /// The kernel's counters of asyncmsg connection `coid`.
    pub fn async_conn_counters(&self, coid: i32) -> KResult<calls::asyncmsg::AsyncConnCounters> {
        let me = self.me;
        self.k
            .locked(|t| calls::asyncmsg::conn_counters(t, me, coid))
    }

    // ---------------------------------------------------------------- timers

    /// TimerCreate: a disarmed timer on `clock` (Linux's ids) delivering `event` to this
    /// thread (default: SIGALRM). Returns the timer id. (Not available under loom: ENOSYS.)
    pub fn timer_create(&self, clock: i32, event: Option<&SigEvent>) -> KResult<i32> {
        #[cfg(loom)]
        {
            let _ = (clock, event);
            Err(Errno::ENOSYS)
        }
        #[cfg(not(loom))]
        {
            let id = self.call(Call::TimerCreate {
                clock,
                event: event.copied(),
            })?;
            self.k.ensure_timer_service();
            Ok(id as i32)
        }
    }

    /// TimerSettime: expire after `value` ns (at `value` with `TIMER_ABSTIME` in `flags`), then
    /// every `interval` ns if non-zero; `value` 0 disarms. Returns the timer's previous state.
    pub fn timer_settime(
        &self,
        id: i32,
        flags: u32,
        value: u64,
        interval: u64,
    ) -> KResult<TimerInfo> {
        let now = [
            Deadline::now_ns(Clock::Monotonic),
            Deadline::now_ns(Clock::Realtime),
        ];
        let mut old = TimerInfo::default();
        self.call(Call::TimerSettime {
            id,
            flags,
            value,
            interval,
            now,
            old: &mut old as *mut TimerInfo as u64,
        })?;
        #[cfg(not(loom))]
        self.k.kick_timer_service();
        Ok(old)
    }

    /// TimerInfo: the timer's remaining time, period, overruns and deliveries.
    pub fn timer_info(&self, id: i32) -> KResult<TimerInfo> {
        let now = [
            Deadline::now_ns(Clock::Monotonic),
            Deadline::now_ns(Clock::Realtime),
        ];
        let mut out = TimerInfo::default();
        self.call(Call::TimerInfo {
            id,
            now,
            info: &mut out as *mut TimerInfo as u64,
        })?;
        Ok(out)
    }

    /// TimerDestroy.
    pub fn timer_destroy(&self, id: i32) -> KResult<()> {
        self.call(Call::TimerDestroy { id }).map(drop)
    }

    /// This thread's id in the kernel (for inspectors).
    pub fn thread_id(&self) -> Id<Thread> {
        self.me.thread
    }
}

/// Fires blocked thread `i`'s expired timeout. Returns the call's outcome if the thread leaves
/// now: it timed out, or the timeout's event readied it (a pulse to the very channel it
/// receives on), in which case the ready-up is undone (its wake-up is not needed: we are it).
fn fire(t: &mut Tables<'_>, i: u32, fx: &mut Effects) -> Option<Outcome> {
    let r = match calls::srr::timeout_fire(t, i, fx) {
        Some(r) => r,
        None if t.threads.at(i).state == KState::Ready => {
            fx.wake.retain(|&mut w| w != i);
            std::mem::replace(&mut t.threads.at_mut(i).result, CallResult::Pending)
        }
        None => return None,
    };
    t.threads.at_mut(i).state = KState::Running;
    Some(outcome_of(r))
}

/// The deadline of the timeout in force, if it covers the state the thread is blocked in.
fn deadline_for(th: &Thread) -> Option<Deadline> {
    let tmo = th.timeout_cur;
    (tmo.states & calls::process::state_bit(th.state) != 0).then_some(Deadline {
        clock: if tmo.clock == 1 {
            Clock::Realtime
        } else {
            Clock::Monotonic
        },
        nsec: tmo.deadline,
    })
}

/// How long a waiter spins before sleeping when its waker runs on another CPU (about 10-50 µs).
const SPIN_ITERATIONS: u32 = 2000;

/// How many times a waiter yields its CPU to a waker on the same CPU before sleeping.
const YIELDS: u32 = 4;

/// How a waiter waits before it sleeps.
#[derive(Clone, Copy, Debug)]
enum Spin {
    /// Spin on the word: the waker runs on another CPU.
    Busy,
    /// Yield the CPU: the waker runs on ours.
    Yield,
}

/// The CPU the calling thread runs on (-1 if unknown; always -1 under loom, which cannot model
/// spinning usefully).
fn current_cpu() -> i32 {
    #[cfg(loom)]
    {
        -1
    }
    #[cfg(not(loom))]
    {
        // SAFETY: sched_getcpu has no preconditions.
        unsafe { libc::sched_getcpu() }
    }
}

/// How a kernel call ends, as the dispatcher sees it: with a result for the caller, or by
/// running again (kept apart from results, so that no errno value can mean "again").
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The call returns this.
    Done(KResult<i64>),
    /// The same call runs again, as the same kernel entry with its timeout in force (an
    /// asyncmsg receiver that a trigger found waiting takes the batch itself).
    Retry,
    /// The call is made again as a new kernel entry (`MsgError(rcvid, ERESTART)`).
    Restart,
}

fn outcome_of(r: CallResult) -> Outcome {
    match r {
        CallResult::Retry => Outcome::Retry,
        CallResult::Restart => Outcome::Restart,
        CallResult::Ok(v) => Outcome::Done(Ok(v)),
        CallResult::Err(e) => Outcome::Done(Err(Errno(e))),
        // A readied thread always carries a result; should one not, the call was interrupted.
        CallResult::Pending => Outcome::Done(Err(Errno::EINTR)),
    }
}

/// The timer service: delivers due timers' events, then sleeps until the next is due or a
/// TimerSettime changes the picture. Holds the kernel only while it works, and ends when the
/// kernel is dropped.
#[cfg(not(loom))]
fn timer_service(weak: std::sync::Weak<Inner>, svc: std::sync::Arc<TimerService>) {
    use std::sync::atomic::Ordering::Acquire;
    // Signals aimed at the process go to the program's threads, not the kernel's.
    crate::signals::block_in_this_thread();
    loop {
        if svc.stop.load(Acquire) {
            return;
        }
        let seq = svc.word.load();
        let Some(inner) = weak.upgrade() else { return };
        let k = Kernel { inner };
        let now = [
            Deadline::now_ns(Clock::Monotonic),
            Deadline::now_ns(Clock::Realtime),
        ];
        let mut fx = Effects::default();
        let next = k.locked(|t| calls::timer::fire_due(t, now, &mut fx));
        k.apply(&fx);
        drop(k);
        let deadline = next.map(|d| Deadline {
            clock: Clock::Monotonic,
            nsec: now[0].saturating_add(d),
        });
        svc.word.wait(seq, deadline, false);
    }
}
