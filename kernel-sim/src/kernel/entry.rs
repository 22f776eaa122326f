//! The kernel entry: the whole life of a kernel call.
//!
//! [`ThreadCtx::call`] takes the kernel lock, counts the entry, moves the armed TimerTimeout
//! into force, runs the call through [`dispatch`] (a pure function over the tables, in
//! `calls/`), notes whom it readied, releases the lock, wakes them ([`Kernel::apply`]), and,
//! if the call blocked the caller, sleeps on the caller's wait word until a waker readies it or
//! its deadline passes ([`ThreadCtx::block`]). Then it retakes the lock once to collect the
//! result and become RUNNING. This is the one place that blocks and wakes: calls only record
//! wake-ups in their [`Effects`].

use super::os::{apply_os_priority, current_cpu, send_signal};
use super::{Kernel, ThreadCtx};
use crate::abi::errno::{Errno, KResult};
use crate::calls::timeout::{deadline_for, fire};
use crate::calls::{self, Effects, Step};
use crate::objects::thread::CallResult;
use crate::objects::KState;
use crate::region::{OsPriority, Tables};
use crate::syscalls::{dispatch, Call};
use crate::wait::{Deadline, WaitResult};

impl Kernel {
    /// Runs `f` over the tables under the kernel lock (no blocking, no waking). A signal that
    /// arrives meanwhile has its handler run after the lock is released (signals.rs).
    pub(crate) fn locked<R>(&self, f: impl FnOnce(&mut Tables<'_>) -> R) -> R {
        self.locked_as(crate::undo::GLOBAL, f)
    }

    /// [`Kernel::locked`] for a call of kernel thread slot `slot` (`undo::GLOBAL`: none), whose
    /// undo record it writes in a shared kernel (undo.rs).
    pub(crate) fn locked_as<R>(&self, slot: u32, f: impl FnOnce(&mut Tables<'_>) -> R) -> R {
        let _entered = crate::signals::Entered::new();
        let lock = self.inner.region.lock_word();
        let shared = self.shared();
        // In a shared kernel the lock's word names the holder's program, for a supervisor that
        // finds it dead; and what the call changes is logged, so that it can be undone then
        // (undo.rs).
        let tag = if shared {
            crate::copy::my_pid() as u32
        } else {
            0
        };
        #[cfg(not(loom))]
        if shared {
            exit::stop_if_closed();
        }
        #[cfg(not(loom))]
        if shared && (self.supervising() || self.reaps_dead()) {
            // (A free lock at once; the watching wait, out of line, only when it is held.)
            if !lock.try_lock(tag) {
                self.lock_supervising(tag);
            }
        } else {
            lock.lock(shared, tag);
        }
        #[cfg(loom)]
        lock.lock(shared, tag);
        #[cfg(not(loom))]
        if shared && exit::closed() {
            // The program closed its kernels for exit after we looked (`close_for_exit`).
            lock.unlock(shared);
            exit::stop_if_closed();
        }
        if shared {
            self.inner.region.undo_begin(slot);
        }
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
        if shared {
            Kernel::fault_point(Kernel::FAULT_LOCKED);
            self.inner.region.undo_commit();
            Kernel::fault_point(Kernel::FAULT_PRE_UNLOCK);
        }
        lock.unlock(shared);
        r
    }

    /// Runs a call that may ready threads, then wakes them after releasing the lock.
    pub(super) fn locked_fx<R>(&self, f: impl FnOnce(&mut Tables<'_>, &mut Effects) -> R) -> R {
        // (Signal handlers recorded meanwhile run after the wake-ups, not before.)
        let _entered = crate::signals::Entered::new();
        let mut fx = Effects::default();
        let r = self.locked(|t| f(t, &mut fx));
        self.apply(&fx);
        r
    }

    pub(super) fn apply(&self, fx: &Effects) {
        if self.shared() && !(fx.wake.is_empty() && fx.wake_words.is_empty()) {
            Kernel::fault_point(Kernel::FAULT_PRE_WAKE);
        }
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
        for w in &fx.wake_words {
            w.wake();
        }
        for sig in &fx.signals {
            // A signal aimed at a thread of another Linux process (a shared kernel) goes there
            // as it is: that process's dispositions decide, as they would on QNX. One aimed at
            // the process goes even before its first thread has attached (a program exec'ing:
            // the new image's process exists, its thread not yet), as Linux takes it anyway.
            if !crate::copy::Space(sig.os_pid).is_local() {
                if sig.os_tid != 0 || sig.to_process {
                    send_signal(sig, false);
                }
                continue;
            }
            // So does one aimed at this program's own process in a shared kernel (its pid is
            // the Linux pid): the program is that process, and Linux's dispositions and masks
            // are its own (blocked, it stays pending; a default action ends the program).
            if self.shared() && sig.pid == crate::copy::my_pid() {
                if sig.os_tid != 0 || sig.to_process {
                    send_signal(sig, true);
                }
                continue;
            }
            // A signal aimed at a simulated process does what it would do to a process: run
            // its handler (the Linux signal goes to the target's thread), nothing, or end the
            // process, which here is the simulated one, not the Linux process and every other
            // simulated process in it.
            match crate::signals::disposition(sig.signo) {
                // (A process with no thread to run the handler has nobody to take it.)
                crate::signals::Disposition::Handle if sig.os_tid != 0 => send_signal(sig, false),
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
}

impl ThreadCtx {
    /// Enters the kernel with call `f`, blocking if it says so. See the module doc.
    ///
    /// Traced: `qnx::call` `enter` before the kernel lock is taken, `exit` once the call is
    /// over and the lock released (a subscriber may block in either, or take a listing).
    /// Inlined into the calls' user-side functions, so that untraced it adds one load and a
    /// branch to the entry that was: [`ThreadCtx::run`].
    #[inline(always)]
    pub(super) fn call(&self, call: Call) -> KResult<i64> {
        self.k.may_enter()?;
        // (Read once: a call traced on entry is traced on exit.)
        if crate::trace::on(self.k.inner.region.trace_ring()) {
            return self.traced(call);
        }
        self.run(call)
    }

    /// [`ThreadCtx::call`] with its `qnx::call` events.
    #[cold]
    #[inline(never)]
    fn traced(&self, call: Call) -> KResult<i64> {
        let ring = self.k.inner.region.trace_ring();
        crate::trace::call_enter_with(ring, self.pid, self.tid, call.name(), call.trace_args());
        let r = self.run(call);
        let result = r.unwrap_or_else(|e| -i64::from(e.0));
        crate::trace::call_exit(ring, self.pid, self.tid, call.name(), result);
        r
    }

    /// The kernel entry itself: lock, dispatch, wake, block, collect.
    #[inline(never)]
    fn run(&self, call: Call) -> KResult<i64> {
        // Marks the thread as in the kernel; at the end of the call it runs the handlers of
        // the signals that arrived meanwhile, as QNX delivers signals on leaving the kernel.
        let _entered = crate::signals::Entered::new();
        let signals_seen = crate::signals::arrivals();
        let cpu = current_cpu();
        let region = &self.k.inner.region;
        let shared = self.k.shared();
        let me = self.me;
        let word = &region.waits()[me.thread.index as usize];
        let spin_ns = region.config().spin_ns;
        let mut retry = false;
        loop {
            let mut fx = Effects::default();
            // Under the lock: run the call; if it blocks, note the wait word's value and the
            // deadline in force for the state it blocked in. A retry is the same call again:
            // not a new kernel entry, and its timeout stays in force.
            let (settled, seq, deadline, spin) = self.k.locked_as(me.thread.index, |t| {
                // (The caller's own slot, unlogged: see `Pool::get_mut_unlogged`.)
                let Some(th) = t.threads.get_mut_unlogged(me.thread) else {
                    return (Some(Err(Errno::ESRCH)), 0, None, None);
                };
                th.result = CallResult::Pending;
                th.inbox.kind = crate::objects::thread::Inbox::NONE;
                th.cpu = cpu;
                if !retry && th.bounce.any() {
                    // (Blocks left from a call that ended without collecting them.)
                    calls::bounce::free_all(t, me.thread.index);
                }
                let th = t.threads.at_mut_unlogged(me.thread.index);
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
                    Ok(Step::Block) => None,
                    next => Some(next),
                };
                let mut deadline = None;
                if settled.is_none() {
                    // A cancellation point ends at once for a thread cancelled meanwhile.
                    let point = crate::cancel::in_point();
                    let th = t.threads.at_mut(me.thread.index);
                    th.cancellable = point;
                    if point && th.cancel_pending {
                        th.cancel_pending = false;
                        let why = calls::srr::Why::Cancel;
                        settled =
                            calls::srr::force_ready(t, me.thread.index, why, &mut fx).map(step_of);
                    }
                }
                if settled.is_none() {
                    if let Some(d) = deadline_for(t.threads.at(me.thread.index)) {
                        if d.passed() {
                            // Already expired (or NULL ntime: a poll): time out without sleeping.
                            settled = fire(t, me.thread.index, &mut fx).map(step_of);
                        }
                    }
                    if settled.is_none() {
                        deadline = deadline_for(t.threads.at(me.thread.index));
                        t.counters(me.proc).blocks += 1;
                    }
                }
                t.counters(me.proc).wakeups += fx.wake.len() as u64;
                let spin = if settled.is_none() {
                    spin_plan(t, me.thread.index, deadline.is_some(), spin_ns)
                } else {
                    None
                };
                if spin == Some(Spin::Busy) {
                    t.counters(me.proc).spins += 1;
                }
                if settled.is_some() {
                    end_of_call(t, me.thread);
                }
                (settled, word.load(), deadline, spin)
            });
            self.k.apply(&fx);
            let next = match settled {
                Some(next) => next,
                None => self.block(seq, deadline, shared, spin, signals_seen),
            };
            match next? {
                Step::Done(v) => return Ok(v),
                // (A waker never leaves `Block`; were one to, running the call again in the
                // same entry is the safe reading: it blocks again if it must.)
                Step::Retry | Step::Block => retry = true,
                Step::Restart => retry = false,
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
    /// `spin` ([`spin_plan`]): when the thread expected to wake us runs on another CPU, spin on
    /// the word for up to `Config::spin_ns` (ending early at the wake-up, a signal's bump or
    /// the deadline) before sleeping: the wake-up then usually comes sooner than a futex sleep
    /// and wake would take, and the waker finds no sleeper to wake. When an asyncmsg producer
    /// shares our CPU, yield the CPU to it a few times instead, so that it fills several
    /// batches while we stand aside, rather than waking us (a switch each way) at every
    /// trigger.
    fn block(
        &self,
        mut seq: u32,
        mut deadline: Option<Deadline>,
        shared: bool,
        spin: Option<Spin>,
        mut signals_seen: u64,
    ) -> KResult<Step> {
        enum Next {
            Done(KResult<Step>),
            Wait(u32, Option<Deadline>),
        }
        let me = self.me;
        let i = me.thread.index;
        if shared {
            Kernel::fault_point(Kernel::FAULT_BLOCKED);
        }
        let word = &self.k.inner.region.waits()[i as usize];
        // A signal that arrives while we wait bumps our word (signals.rs).
        let _blocked = crate::signals::blocked_on(word);
        let spin_ns = self.k.inner.region.config().spin_ns;
        let mut spin = spin;
        // Whether the wake-up came while we spun (counted when we collect it).
        let mut spin_hit = false;
        loop {
            let changed = match spin.take() {
                Some(Spin::Busy) => {
                    spin_hit = word.spin_for(seq, spin_ns, deadline);
                    spin_hit
                }
                Some(Spin::Yield) => word.yield_until_changed(seq, YIELDS),
                None => false,
            };
            let woke = if changed {
                WaitResult::Changed
            } else if crate::signals::arrivals() != signals_seen {
                WaitResult::Interrupted
            } else {
                self.wait_watching(word, seq, deadline, shared)
            };
            let arrived = crate::signals::arrivals();
            let signalled = woke == WaitResult::Interrupted || arrived != signals_seen;
            signals_seen = arrived;
            if woke == WaitResult::Changed && word.load() == seq && !signalled {
                continue; // spurious
            }
            let mut fx = Effects::default();
            let mut my_prio = 0u8;
            let cpu = current_cpu();
            let next = self.k.locked_as(i, |t| {
                #[allow(clippy::redundant_closure_call)] // (Its returns end the judging only.)
                let next = (|| {
                    // (The caller's own slot, unlogged: see `Pool::get_mut_unlogged`.)
                    let Some(th) = t.threads.get_mut_unlogged(me.thread) else {
                        return Next::Done(Err(Errno::ESRCH));
                    };
                    th.cpu = cpu;
                    if th.state() == KState::Ready {
                        my_prio = th.prio;
                        let r = std::mem::replace(&mut th.result, CallResult::Pending);
                        if th.inbox.kind != crate::objects::thread::Inbox::NONE {
                            // Another program left our message, pulse or reply in our window.
                            // (After the writes it recorded for us: see `end_of_call`.)
                            if th.bounce.head != 0 {
                                calls::bounce::collect(t, i);
                            }
                            calls::srr::collect_inbox(t, i);
                        }
                        let carried = u64::from(t.pay_owed_wakes(i, &mut fx));
                        if carried > 0 {
                            let c = t.counters(me.proc);
                            c.wakeups += carried;
                            c.wakeups_carried += carried;
                        }
                        t.collected(i);
                        if spin_hit {
                            t.counters(me.proc).spin_wakeups += 1;
                        }
                        return Next::Done(step_of(r));
                    }
                    if signalled {
                        if let Some(r) =
                            calls::srr::force_ready(t, i, calls::srr::Why::Signal, &mut fx)
                        {
                            return Next::Done(step_of(r));
                        }
                    }
                    if let Some(d) = deadline_for(t.threads.at(i)) {
                        if woke == WaitResult::TimedOut || d.passed() {
                            if let Some(r) = fire(t, i, &mut fx) {
                                return Next::Done(step_of(r));
                            }
                        }
                    }
                    Next::Wait(word.load(), deadline_for(t.threads.at(i)))
                })();
                if matches!(next, Next::Done(_)) {
                    end_of_call(t, me.thread);
                }
                next
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
}

/// The caller's call ends (with a result, readied or not): it writes what threads of other
/// programs recorded for it and frees its blocks for long messages (calls/bounce.rs), if any.
fn end_of_call(t: &mut crate::region::Tables<'_>, me: crate::pool::Id<crate::objects::Thread>) {
    if t.threads.get(me).is_some_and(|th| th.bounce.any()) {
        calls::bounce::collect(t, me.index);
    }
}

impl ThreadCtx {
    /// `word.wait(seq, deadline)`. In a shared kernel no supervisor watches (a plain memory
    /// file), dead programs of the kernel must be reaped by its programs
    /// (`Kernel::reap_dead_programs`): a blocking thread makes sure its program's timer service
    /// looks for them every `REAP_SLICE` (`Kernel::watch_for_dead_programs`), so that a client
    /// REPLY-blocked on a server killed outside a kernel call is released with ESRCH, and a
    /// server learns of a killed client; the wait itself is an ordinary one. Only if the
    /// service could not be started does the thread look itself, sleeping in slices of
    /// `REAP_SLICE` (a slice's end is returned as a wake-up, `Changed`, which the caller judges
    /// under the lock like any other).
    fn wait_watching(
        &self,
        word: &crate::wait::WaitWord,
        seq: u32,
        deadline: Option<Deadline>,
        shared: bool,
    ) -> WaitResult {
        #[cfg(not(loom))]
        if shared && self.k.reaps_dead() && !self.k.watch_for_dead_programs() {
            let slice_ns = REAP_SLICE.as_nanos() as u64;
            let sooner = deadline
                .is_some_and(|d| d.nsec.saturating_sub(Deadline::now_ns(d.clock)) <= slice_ns);
            if !sooner {
                let r = word.wait(seq, Some(Deadline::after(REAP_SLICE)), shared);
                if r != WaitResult::TimedOut {
                    return r;
                }
                self.k.reap_dead_programs();
                return WaitResult::Changed;
            }
        }
        word.wait(seq, deadline, shared)
    }
}

#[cfg(not(loom))]
use super::timer_service::REAP_SLICE;

impl Kernel {
    /// Reaps every program of this shared kernel, other than the caller's, that has died: what
    /// a supervisor does when its pidfd says so, for a kernel in a plain memory file that none
    /// watches. Returns how many processes it tore down.
    #[cfg(not(loom))]
    pub(crate) fn reap_dead_programs(&self) -> usize {
        let me = crate::copy::my_pid();
        let programs: std::collections::BTreeSet<i32> = self.locked(|t| {
            t.procs
                .live_ids()
                .map(|id| t.procs.at(id.index).os_pid)
                .filter(|&p| p > 0 && p != me)
                .collect()
        });
        programs
            .into_iter()
            .filter(|&p| !program_alive(p))
            .map(|p| self.reap_os_process(p))
            .sum()
    }

    /// Wakes every readied thread still asleep on its word: a program that readied it and
    /// died between releasing the lock and waking it, in a call that left it no process (its
    /// own teardown at exit, or a worker's wake-up cut short by the exit), is never reaped, so
    /// no reaping wakes it (`reap_os_process` wakes every readied thread). The timer service of
    /// a kernel no supervisor watches calls this with each look for dead programs: a thread
    /// whose wake-up was lost collects its result within `REAP_SLICE`; one woken twice looks
    /// at its state and goes on. (Every reaping ends with it too.)
    pub(crate) fn wake_stranded(&self) {
        let waits = self.inner.region.waits();
        let stranded: Vec<u32> = self.locked(|t| {
            t.threads
                .live_ids()
                .filter(|id| t.threads.at(id.index).state() == crate::objects::KState::Ready)
                .map(|id| id.index)
                .filter(|&i| waits[i as usize].asleep())
                .collect()
        });
        for i in stranded {
            waits[i as usize].wake(self.shared());
        }
    }

    /// A supervisor's way of taking the lock: in tries of a few milliseconds, between which it
    /// looks whether the holder's program is still alive, and takes over from a dead one.
    #[cfg(not(loom))]
    fn lock_supervising(&self, tag: u32) {
        let lock = self.inner.region.lock_word();
        // (The caller tried the lock once already, without reading the clock for a deadline.)
        loop {
            let deadline = Deadline::after(std::time::Duration::from_millis(5));
            if lock.lock_until(true, tag, deadline) {
                return;
            }
            let hook = self
                .inner
                .while_waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(hook) = hook {
                (hook.0)();
            }
            if let Some(holder) = lock.holder() {
                if !self.alive(holder as i32) {
                    let r = self.recover_dead_lock_holder(holder as i32);
                    let found = matches!(
                        r,
                        super::Recovery::Undone { .. } | super::Recovery::Committed
                    );
                    if found && self.supervising() {
                        let mut rec = self
                            .inner
                            .recovered
                            .lock()
                            .unwrap_or_else(|p| p.into_inner());
                        // (Bounded: a supervisor takes each when it reaps its program.)
                        if rec.len() < 1024 {
                            rec.push((holder as i32, r));
                        }
                    }
                    // Without a supervisor, the program that took over also reaps the dead one
                    // (its processes torn down as QNX does); a supervisor reaps through its
                    // pidfd.
                    if self.reaps_dead() && found {
                        self.reap_os_process(holder as i32);
                    }
                }
            }
        }
    }
}

/// Closes the program's shared kernels to every thread but the caller (its exit).
#[cfg(not(loom))]
pub(super) fn exit_close() {
    exit::close();
}

/// Closing a program's shared kernels for its exit (`Kernel::close_for_exit`).
#[cfg(not(loom))]
mod exit {
    use std::sync::atomic::{AtomicI32, Ordering};

    /// The Linux tid of the thread that closed the program's shared kernels (0: open).
    static CLOSED_BY: AtomicI32 = AtomicI32::new(0);

    /// Closes them: from now on only the calling thread enters a shared kernel.
    pub(super) fn close() {
        CLOSED_BY.store(nix::unistd::gettid().as_raw(), Ordering::SeqCst);
    }

    /// Whether they are closed to the calling thread.
    #[inline]
    pub(super) fn closed() -> bool {
        let by = CLOSED_BY.load(Ordering::Acquire);
        by != 0 && by != nix::unistd::gettid().as_raw()
    }

    /// Stops the calling thread for good if the program closed its shared kernels: it is
    /// exiting, and a thread that entered a kernel now could be ended by the exit in the middle
    /// of a call, holding the lock of a kernel other programs use.
    #[inline]
    pub(super) fn stop_if_closed() {
        if CLOSED_BY.load(Ordering::Acquire) == 0 {
            return;
        }
        if closed() {
            loop {
                std::thread::park();
            }
        }
    }
}

/// Whether Linux process `pid` runs (copy.rs).
#[cfg(not(loom))]
pub(super) fn program_alive(pid: i32) -> bool {
    crate::copy::program_alive(pid)
}

// ------------------------------------------------------------------------- fault injection

/// The fault-injection points: places in the kernel calls of a shared kernel where a test
/// parks a thread, so that it kills the program there and knows where the kill landed. Each
/// is a name in `QNXSIM_FAULT`, and what the supervisor finds when the program dies there is
/// fixed by the point:
///
/// * `locked`: under the lock, after the call changed the tables, before its undo record is
///   committed. The record is active: the call is undone (`Recovery::Undone`).
/// * `mid-copy`: under the lock, in a copy between two programs' memory (copy.rs's
///   `remote::copy`, a message too long for the windows), after its first run and before the
///   next, so part of the message has been copied. Undone, as `locked`.
/// * `pre-unlock`: under the lock, the record committed, before the lock is released. The call
///   stands and the lock is released (`Recovery::Committed`); the threads it readied are
///   woken by the reaping (`Kernel::reap_os_process`).
/// * `pre-wake`: the lock released, before the threads the call readied are woken (only a
///   call that readied some passes it). The lock is free; the reaping wakes them.
/// * `blocked`: the call blocked its caller (SEND-, RECEIVE- or REPLY-blocked); the lock
///   released, before it sleeps. The reaping releases its peers as for any dead process.
/// * `mid-change`: under the lock, in the middle of a call's changes: just after the undo
///   record took a before image (undo.rs, `Undo::log`), before the change it was taken for.
///   The tables are torn (some changes made, others not): undone.
/// * `mid-batch`: under the lock, in an asyncmsg receive taking a batch from a sender in
///   another program, after the sender's messages were copied into the receiver's arena and
///   before the queue's `head` moves past them (calls/asyncmsg.rs). Undone: the messages are
///   still the sender's, not taken.
///
/// The first five lie between two steps of a call, where the tables are whole; `mid-change`
/// inside one, where only the undo record can put them right. A new point is a constant
/// below, its name in this list, and a `Kernel::fault_point` where it is.
const FAULT_POINTS: [&str; 7] = [
    Kernel::FAULT_LOCKED,
    Kernel::FAULT_MID_COPY,
    Kernel::FAULT_PRE_UNLOCK,
    Kernel::FAULT_PRE_WAKE,
    Kernel::FAULT_BLOCKED,
    Kernel::FAULT_MID_CHANGE,
    Kernel::FAULT_MID_BATCH,
];

/// How long a thread parks at a point by default: long enough for a test to kill it, and
/// bounded, so that a program nobody kills goes on.
const FAULT_PARK_US: u64 = 10_000_000;

impl Kernel {
    /// Under the lock, after the call changed the tables, before its undo record is committed.
    pub(crate) const FAULT_LOCKED: &'static str = "locked";
    /// Under the lock, inside a copy between two programs' memory (copy.rs, `remote::copy`).
    pub(crate) const FAULT_MID_COPY: &'static str = "mid-copy";
    /// Under the lock, the undo record committed, before the lock is released.
    pub(crate) const FAULT_PRE_UNLOCK: &'static str = "pre-unlock";
    /// The lock released, before the threads the call readied are woken.
    pub(crate) const FAULT_PRE_WAKE: &'static str = "pre-wake";
    /// The call blocked its caller; the lock released, before the caller sleeps.
    pub(crate) const FAULT_BLOCKED: &'static str = "blocked";
    /// Under the lock, just after a before image was logged, before its change is made.
    pub(crate) const FAULT_MID_CHANGE: &'static str = "mid-change";
    /// Under the lock, a batch from another program copied, before the queue's head moves.
    pub(crate) const FAULT_MID_BATCH: &'static str = "mid-batch";

    /// Fault injection for the tests of programs that die inside kernel calls: the calling
    /// thread passes point `point` (one of [`FAULT_POINTS`]). Configured once, from the
    /// environment, when the first point is passed:
    ///
    /// * `QNXSIM_FAULT=POINT[:NTH[:US]][,...]`: at the NTH pass of the program (all its
    ///   threads together) through POINT (default 1; 0: at every pass), the passing thread
    ///   parks there US microseconds (default 10 s) before going on;
    /// * `QNXSIM_FAULT_FD=FD`: as it parks, it first writes the line `PID POINT PASS` to that
    ///   file descriptor (one write, atomic on a pipe): a test reading it kills the program
    ///   while it is parked, so that the kill lands at the point;
    /// * `QNXSIM_FAULT_HOLD_US=US` is `locked:0:US`: every call holds the lock that long after
    ///   its changes, so that kills at random moments land under the lock most of the time.
    ///
    /// Unset, a point is one load of a cached value and a branch.
    #[inline]
    pub(crate) fn fault_point(point: &'static str) {
        // 0: not read yet, 1: no faults asked for, 2: some (one relaxed load on the way).
        static STATE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
        match STATE.load(std::sync::atomic::Ordering::Relaxed) {
            1 => {}
            _ => {
                let plan = fault_plan();
                let on = !plan.rules.is_empty();
                STATE.store(1 + u8::from(on), std::sync::atomic::Ordering::Relaxed);
                if on {
                    plan.pass(point);
                }
            }
        }
    }
}

/// What `QNXSIM_FAULT`, `QNXSIM_FAULT_FD` and `QNXSIM_FAULT_HOLD_US` asked for.
#[derive(Debug)]
struct FaultPlan {
    rules: Vec<FaultRule>,
    note_fd: Option<i32>,
}

/// Park at the `nth` pass through `point` (0: every pass) for `hold`.
#[derive(Debug)]
struct FaultRule {
    point: &'static str,
    nth: u64,
    hold: std::time::Duration,
    passes: std::sync::atomic::AtomicU64,
}

fn fault_plan() -> &'static FaultPlan {
    static PLAN: std::sync::OnceLock<FaultPlan> = std::sync::OnceLock::new();
    PLAN.get_or_init(FaultPlan::from_env)
}

impl FaultPlan {
    fn from_env() -> FaultPlan {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut rules = Vec::new();
        if let Some(us) = var("QNXSIM_FAULT_HOLD_US")
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&us| us > 0)
        {
            rules.push(FaultRule::new(Kernel::FAULT_LOCKED, 0, us));
        }
        for item in var("QNXSIM_FAULT").iter().flat_map(|v| v.split(',')) {
            match FaultRule::parse(item) {
                Some(r) => rules.push(r),
                None => eprintln!(
                    "kernel-sim: QNXSIM_FAULT: {item:?} is not POINT[:NTH[:US]] with POINT one of {FAULT_POINTS:?}; ignored"
                ),
            }
        }
        let note_fd = var("QNXSIM_FAULT_FD")
            .and_then(|v| v.parse::<i32>().ok())
            .filter(|&fd| fd >= 0);
        FaultPlan { rules, note_fd }
    }

    fn pass(&self, point: &'static str) {
        debug_assert!(FAULT_POINTS.contains(&point), "no fault point {point}");
        for r in self.rules.iter().filter(|r| r.point == point) {
            let pass = r.passes.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if r.nth != 0 && pass != r.nth {
                continue;
            }
            if let Some(fd) = self.note_fd {
                let note = format!("{} {point} {pass}\n", crate::copy::my_pid());
                // SAFETY: writes our own bytes to a descriptor; a bad one fails with EBADF.
                let _ = unsafe { libc::write(fd, note.as_ptr().cast(), note.len()) };
            }
            std::thread::sleep(r.hold);
        }
    }
}

impl FaultRule {
    fn new(point: &'static str, nth: u64, us: u64) -> FaultRule {
        FaultRule {
            point,
            nth,
            hold: std::time::Duration::from_micros(us),
            passes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `POINT[:NTH[:US]]`.
    fn parse(item: &str) -> Option<FaultRule> {
        let mut it = item.trim().split(':');
        let name = it.next()?;
        let point = FAULT_POINTS.iter().copied().find(|&p| p == name)?;
        let nth = it.next().map_or(Some(1), |v| v.parse().ok())?;
        let us = it.next().map_or(Some(FAULT_PARK_US), |v| v.parse().ok())?;
        it.next().is_none().then(|| FaultRule::new(point, nth, us))
    }
}

/// How many times a waiter yields its CPU to a waker on the same CPU before sleeping.
const YIELDS: u32 = 4;

/// How a waiter waits before it sleeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Spin {
    /// Spin on the word (up to `Config::spin_ns`): the waker runs on another CPU.
    Busy,
    /// Yield the CPU a few times: the waker (an asyncmsg producer) runs on ours.
    Yield,
}

/// How blocked thread `i` should wait before it sleeps, judged under the lock from the thread
/// expected to wake it:
/// * REPLY-blocked: the server that received it; a server on another CPU that is running (or
///   readied, so about to run) answers soon: spin;
/// * SEND-blocked (the server is busy): the thread that last received on the channel, likely
///   the next to receive; running on another CPU, it receives and answers soon: spin. Without
///   it, a client that found its server busy slept, so each reply paid a futex wake-up, and
///   with many clients on one CPU most of them slept so (issue 12: 16 clients across CPUs
///   ran 0.7x one client's rate, with 0.75 context switches per message);
/// * RECEIVE-blocked on a channel: its last client, the likely sender of the next message,
///   likewise (after its reply it is readied, and usually sends again at once);
/// * RECEIVE-blocked on an asyncmsg channel: the CPU of the last trigger; another CPU: spin;
///   ours: yield to the producer a few times (not when a deadline bounds the receive: a yield
///   may hand a busy thread a whole time slice and overshoot it).
///
/// Never a busy spin for a waker on our CPU (it would only delay it), for one that is blocked
/// itself, when either CPU is unknown, or when `spin_ns` is 0. Spinning changes no queue and
/// no priority: who is received or replied to first is decided under the lock as before.
fn spin_plan(t: &Tables<'_>, i: u32, bounded: bool, spin_ns: u32) -> Option<Spin> {
    let th = t.threads.at(i);
    let mine = th.cpu;
    if mine < 0 {
        return None;
    }
    let busy = spin_ns > 0;
    let other_cpu_running = |w: crate::pool::Id<crate::objects::Thread>| {
        t.threads.get(w).is_some_and(|w| {
            matches!(w.state(), KState::Running | KState::Ready) && w.cpu >= 0 && w.cpu != mine
        })
    };
    match th.state() {
        KState::Reply { server, .. } => (busy && other_cpu_running(server)).then_some(Spin::Busy),
        KState::Send { chan } => {
            let c = t.chans.get(chan)?;
            (busy && other_cpu_running(c.last_server)).then_some(Spin::Busy)
        }
        KState::Receive { chan } => {
            let c = t.chans.get(chan)?;
            match c.asyncmsg() {
                Some(a) if a.last_trigger_cpu < 0 => None,
                Some(a) if a.last_trigger_cpu != mine => busy.then_some(Spin::Busy),
                Some(_) => (!bounded).then_some(Spin::Yield),
                None => (busy && other_cpu_running(c.last_client)).then_some(Spin::Busy),
            }
        }
        _ => None,
    }
}

/// The next step a waker left a blocked caller (stored in its thread as a `CallResult`).
fn step_of(r: CallResult) -> KResult<Step> {
    match r {
        CallResult::Retry => Ok(Step::Retry),
        CallResult::Restart => Ok(Step::Restart),
        CallResult::Ok(v) => Ok(Step::Done(v)),
        CallResult::Err(e) => Err(Errno(e)),
        // A readied thread always carries a result; should one not, the call was interrupted.
        CallResult::Pending => Err(Errno::EINTR),
    }
}
