//! The per-process library ([`Lib`]) and its thread: started by a process's first asyncmsg
//! channel or connection, it receives the kernel's `'P'` (messages taken), the time triggers'
//! `'T'` and its own `'J'` (jobs queued) pulses, and runs the jobs: the callbacks, in queue order
//! per connection, and clean-ups left to it. Also here: the registry of libraries, and the
//! library thread's wake-up ([`Lib::wake`]). What a pulse does to a connection is conn.rs's.

use super::conn::{on_timer, CallbackCounts, Conn, Done};
use super::handles::Cleanup;
use super::receive::RecvChan;
use crate::current::with_current;
use crate::sys;
use kernel_sim::consts::*;
use kernel_sim::types::SigEvent;
use kernel_sim::{Errno, KResult, Kernel, Pid, ThreadCtx};
use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

const CODE_TAKEN: i8 = kernel_sim::consts::PULSE_CODE_TAKEN;
pub(super) const CODE_TIMER: i8 = kernel_sim::consts::PULSE_CODE_TIMER;
const CODE_JOBS: i8 = kernel_sim::consts::PULSE_CODE_JOBS;

/// The target of the library's `tracing` events (documented in `AsyncConnStats`): the module's
/// public path, whichever file the event comes from.
const TRACE_TARGET: &str = "userlib::asyncmsg";

/// A process's library: its private channel, the library thread that receives on it, and the
/// process's asyncmsg connections and channels. The library thread owns it (the registry only
/// refers to it), so the library, and the kernel handle in it, go when the thread ends.
pub(super) struct Lib {
    kernel: Kernel,
    pid: Pid,
    chid: i32,
    pub(super) notify_coid: i32,
    /// The library thread's tid: work it queues itself needs no wake-up.
    tid: i32,
    /// A SIGEV_UNBLOCK timer aimed at the library thread: its wake-up when no pulse can be had
    /// (see [`Lib::wake`]).
    wake_timer: i32,
    pub(super) conns: Mutex<HashMap<i32, Arc<Conn>>>,
    /// Set (under `conns`' lock) when the library thread leaves: no connection joins after.
    pub(super) ended: AtomicBool,
    pub(super) chans: Mutex<HashMap<i32, Arc<RecvChan>>>,
    jobs: Mutex<Jobs>,
    /// A kernel thread of the process that cleans up handles dropped by threads outside it:
    /// attached on first need and kept until the library ends, so that no thread is made and
    /// ended for each clean-up (each ending would be a thread-death pulse for the process).
    helper: Mutex<Option<ThreadCtx>>,
}

/// Work for the library thread, and whether it is at it.
#[derive(Default)]
struct Jobs {
    queue: VecDeque<Job>,
    /// The library thread is running jobs, and looks at `queue` again before it blocks: a job
    /// queued meanwhile needs no wake-up. (Set and cleared by the library thread alone.)
    busy: bool,
    /// The wake timer is armed. Only while `busy` is clear (see [`Lib::wake`]).
    wake_armed: bool,
}

/// A job for the library thread.
pub(super) enum Job {
    /// Completed messages of connection `coid`, for their callbacks, in queue order.
    Callbacks {
        coid: i32,
        counts: Arc<CallbackCounts>,
        done: Vec<Done>,
    },
    /// The clean-up of a handle dropped outside the process, when no helper thread could be
    /// had to do it at once.
    Cleanup(Cleanup),
}

/// How often the wake timer unblocks the library thread while it is armed.
const WAKE_PERIOD: Duration = Duration::from_millis(1);

impl Lib {
    pub(super) fn conn(&self, coid: i32) -> KResult<Arc<Conn>> {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&coid)
            .cloned()
            .ok_or(Errno::EBADF)
    }

    pub(super) fn chan(&self, chid: i32) -> KResult<Arc<RecvChan>> {
        self.chans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&chid)
            .cloned()
            .ok_or(Errno::EBADF)
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, Jobs> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `job` for the library thread; returns whether the thread must be woken for it
    /// (it is not running jobs now).
    pub(super) fn push(&self, job: Job) -> bool {
        let mut jobs = self.jobs();
        jobs.queue.push_back(job);
        !jobs.busy
    }

    /// Makes sure the library thread runs the jobs queued so far. `ctx` is the calling thread,
    /// a thread of the library's process.
    ///
    /// After every wake-up, whatever woke it, the library thread runs jobs until it finds the
    /// queue empty, clearing `busy` under the same lock, and only then blocks in its receive. A
    /// job queued while `busy` is set therefore runs without a wake-up (`push` says so); the
    /// library thread itself never needs one. Otherwise the thread is blocked in its receive,
    /// or about to be, and must be woken:
    ///
    /// * by a `'J'` pulse, one kernel entry. But MsgSendPulse fails (EAGAIN) when the pulse
    ///   pool is exhausted, by any process (the pool is shared), and a lost wake-up would
    ///   leave the job unrun until something else happened to wake the thread: for an idle
    ///   producer, never.
    /// * failing that, by the wake timer, which needs no pulse: a periodic `SIGEV_UNBLOCK`
    ///   timer aimed at the library thread. It is armed, under the jobs lock, only while
    ///   `busy` is clear, and the thread disarms it at its next wake-up before it sets `busy`.
    ///   While `busy` is clear the thread runs library code only, whose one blocking call is
    ///   its receive, so the unblock ends that receive (ETIMEDOUT) and never a blocking call a
    ///   callback makes. Periodic, because it may fire while the thread is between its last
    ///   look at the queue and its receive (an unblock finds nothing to end then).
    pub(super) fn wake(&self, ctx: &ThreadCtx) {
        if ctx.pid() == self.pid.pid && ctx.tid() == self.tid {
            return;
        }
        if self.wake_pulse(ctx) {
            return;
        }
        let armed = {
            let mut jobs = self.jobs();
            if jobs.busy || jobs.queue.is_empty() || jobs.wake_armed {
                return;
            }
            jobs.wake_armed =
                sys::timer_start(ctx, self.wake_timer, WAKE_PERIOD, WAKE_PERIOD).is_ok();
            jobs.wake_armed
        };
        tracing::debug!(
            target: TRACE_TARGET,
            pid = self.pid.pid,
            armed,
            "no pulse for the asyncmsg library thread's wake-up: its wake timer wakes it"
        );
    }

    /// Sends the library thread its `'J'` pulse; false if it could not be queued.
    fn wake_pulse(&self, ctx: &ThreadCtx) -> bool {
        #[cfg(test)]
        if tests::NO_WAKE_PULSE.with(std::cell::Cell::get) {
            return false;
        }
        sys::msg_send_pulse(ctx, self.notify_coid, PRIO_MAX, CODE_JOBS, 0).is_ok()
    }

    /// Runs `f` as the library's helper thread, attaching it on first use. `None`: no thread
    /// could be attached (the thread pool is full).
    pub(super) fn as_helper<R>(&self, f: impl FnOnce(&ThreadCtx) -> R) -> Option<R> {
        let mut helper = self.helper.lock().unwrap_or_else(|p| p.into_inner());
        if helper.is_none() {
            *helper = self
                .kernel
                .thread_attach_internal(self.pid, PRIO_DEFAULT)
                .ok();
        }
        helper.as_ref().map(f)
    }
}

impl Drop for Lib {
    fn drop(&mut self) {
        // A connection still here is attached: the kernel may still read its queue and
        // buffers. The library thread detaches them all before it lets go of the library
        // (`Leave`); should that ever not have happened, leak them rather than free memory the
        // kernel reads.
        let conns = self.conns.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, conn) in conns.drain() {
            std::mem::forget(conn);
        }
    }
}

/// The libraries, one per process that uses asyncmsg. Weak: each belongs to its library
/// thread, which ends with its process.
fn registry() -> &'static Mutex<Vec<Weak<Lib>>> {
    static LIBS: OnceLock<Mutex<Vec<Weak<Lib>>>> = OnceLock::new();
    LIBS.get_or_init(|| Mutex::new(Vec::new()))
}

fn find_lib(libs: &[Weak<Lib>], kernel: &Kernel, pid: i32) -> Option<Arc<Lib>> {
    libs.iter()
        .filter_map(Weak::upgrade)
        .find(|l| l.kernel.same(kernel) && l.pid.pid == pid && !l.ended.load(Ordering::Acquire))
}

/// Process `pid`'s library on `kernel`, if it has one.
pub(super) fn lib_in(kernel: &Kernel, pid: i32) -> Option<Arc<Lib>> {
    let libs = registry().lock().unwrap_or_else(|p| p.into_inner());
    find_lib(&libs, kernel, pid)
}

/// The calling process's library, if it has started one.
pub(super) fn lib_of(ctx: &ThreadCtx) -> KResult<Arc<Lib>> {
    lib_in(ctx.kernel(), ctx.pid()).ok_or(Errno::EBADF)
}

/// The calling process's library, started on first use: a private channel, a connection to
/// it for the kernel's and the timers' pulses, the library thread that receives them, and the
/// thread's wake timer. On failure everything made so far is given back.
pub(super) fn lib_start(ctx: &ThreadCtx) -> KResult<Arc<Lib>> {
    let mut libs = registry().lock().unwrap_or_else(|p| p.into_inner());
    libs.retain(|l| l.strong_count() > 0);
    if let Some(l) = find_lib(&libs, ctx.kernel(), ctx.pid()) {
        return Ok(l);
    }
    let chid = sys::channel_create(ctx, _NTO_CHF_PRIVATE)?;
    let notify_coid = match sys::connect_attach(ctx, ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0) {
        Ok(c) => c,
        Err(e) => {
            let _ = sys::channel_destroy(ctx, chid);
            return Err(e);
        }
    };
    // On failure below, give the private channel and its connection back.
    let undo = |e: Errno| {
        let _ = sys::connect_detach(ctx, notify_coid);
        let _ = sys::channel_destroy(ctx, chid);
        e
    };
    let worker = ctx
        .kernel()
        .thread_attach_internal_for_another(ctx.process(), PRIO_MAX)
        .map_err(undo)?;
    // A timer's SIGEV_UNBLOCK goes to the thread that created it: the library thread.
    let wake_timer = match sys::timer_create(
        &worker,
        kernel_sim::abi::consts::CLOCK_MONOTONIC,
        Some(&SigEvent::unblock()),
    ) {
        Ok(t) => t,
        Err(e) => {
            drop(worker);
            return Err(undo(e));
        }
    };
    let lib = Arc::new(Lib {
        kernel: ctx.kernel().clone(),
        pid: ctx.process(),
        chid,
        notify_coid,
        tid: worker.tid(),
        wake_timer,
        conns: Mutex::new(HashMap::new()),
        ended: AtomicBool::new(false),
        chans: Mutex::new(HashMap::new()),
        jobs: Mutex::new(Jobs::default()),
        helper: Mutex::new(None),
    });
    libs.push(Arc::downgrade(&lib));
    let l = lib.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("asyncmsg-{}", ctx.pid()))
        .spawn(move || library_main(l, worker));
    if spawned.is_err() {
        // The closure, and the library's kernel thread and its `Arc` with it, was dropped: the
        // registry's entry dies with `lib` below.
        let _ = sys::timer_destroy(ctx, wake_timer);
        return Err(undo(Errno::EAGAIN));
    }
    Ok(lib)
}

/// The library thread's life: bound as a thread of its process (so that callbacks making
/// userlib calls act as one), it receives until its channel goes, then lets go of everything.
fn library_main(lib: Arc<Lib>, worker: ThreadCtx) {
    // Signals aimed at the process go to the program's threads, not the library's.
    kernel_sim::signals::block_in_this_thread();
    worker.adopt_os_thread();
    drop(crate::current::bind(worker));
    let _ = with_current(|ctx| {
        // Runs however the loop ends (were the library itself ever to panic, too): the kernel
        // lets go of the queues before the library, which owns them, can be freed.
        let _leave = Leave { lib: &lib, ctx };
        library_thread(&lib, ctx);
        Ok(())
    });
    drop(crate::current::unbind());
}

/// The library thread leaving (its process is exiting, or the program destroyed the library's
/// channel): every connection is detached, the library's own objects are given back, and the
/// jobs not run are dropped (the process is going: their callbacks never run).
struct Leave<'a> {
    lib: &'a Lib,
    ctx: &'a ThreadCtx,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let (lib, ctx) = (self.lib, self.ctx);
        let conns: Vec<Arc<Conn>> = {
            let mut conns = lib.conns.lock().unwrap_or_else(|p| p.into_inner());
            lib.ended.store(true, Ordering::Release);
            conns.drain().map(|(_, c)| c).collect()
        };
        for conn in conns {
            conn.detached.store(true, Ordering::Release);
            let _ = sys::connect_detach(ctx, conn.coid);
            if let Some(t) = conn.take_timer() {
                let _ = sys::timer_destroy(ctx, t);
            }
        }
        // (Not the channel: a program that destroyed it may already have a new one by its chid.)
        let _ = sys::timer_destroy(ctx, lib.wake_timer);
        let _ = sys::connect_detach(ctx, lib.notify_coid);
        let jobs = std::mem::take(&mut lib.jobs().queue);
        drop(jobs);
        registry()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|l| l.strong_count() > 0 && !std::ptr::eq(l.as_ptr(), lib));
        drop(lib.helper.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// The library thread: receives the kernel's `'P'` (messages taken), the timers' `'T'` and the
/// library's own `'J'` (jobs queued) pulses and its wake timer's unblocks, and after every
/// wake-up runs the queued jobs: callbacks, in queue order per connection. It ends when its
/// channel goes (the process is exiting, or the program destroyed it).
fn library_thread(lib: &Lib, ctx: &ThreadCtx) {
    let mut buf = [0u8; kernel_sim::PULSE_SIZE];
    loop {
        match sys::msg_receive(ctx, lib.chid, &mut buf, None) {
            Ok(0) => {
                if let Ok(p) = sys::pulse_in(&buf) {
                    on_pulse(lib, ctx, &p);
                }
            }
            Ok(rcvid) => {
                let _ = sys::msg_error(ctx, rcvid, Errno::ENOSYS);
            }
            // The wake timer (or a TimerTimeout a callback armed and left unused).
            Err(Errno::ETIMEDOUT) => {}
            Err(_) => return,
        }
        run_jobs(lib, ctx);
    }
}

/// A pulse on the library's channel. One pulse may stand for several events (the kernel
/// sends one `'P'` until it is handled, and a timer's expiries may come as one `'T'`): the
/// handling looks at the state, not at the count of pulses.
fn on_pulse(lib: &Lib, ctx: &ThreadCtx, p: &kernel_sim::Pulse) {
    match p.code {
        CODE_TAKEN => {
            if let Ok(conn) = lib.conn(p.value_int()) {
                // Before reading `head`: either we see what the kernel took, or it pulses again.
                conn.queue.pulse_handled();
                // Everything taken so far; the callbacks run with the jobs, right after.
                conn.reap_to_library(lib, &mut conn.lock());
            }
        }
        CODE_TIMER => {
            if let Ok(conn) = lib.conn(p.value_int()) {
                on_timer(ctx, &conn);
            }
        }
        // 'J': the jobs, which run after every wake-up.
        _ => {}
    }
}

/// Runs the queued jobs until there are none (see [`Lib::wake`] for `busy` and the timer).
fn run_jobs(lib: &Lib, ctx: &ThreadCtx) {
    let mut jobs = lib.jobs();
    if jobs.wake_armed {
        // Awake: the timer has done its work.
        let _ = sys::timer_stop(ctx, lib.wake_timer);
        jobs.wake_armed = false;
    }
    loop {
        let Some(job) = jobs.queue.pop_front() else {
            jobs.busy = false;
            return;
        };
        jobs.busy = true;
        drop(jobs);
        run_job(ctx, job);
        jobs = lib.jobs();
    }
}

/// Runs one job. Callbacks are the program's code: each runs isolated, so that a panic in one
/// (reported through `tracing` and counted in the connection's `callback_panics`) neither stops
/// the callbacks after it nor ends the library thread, which the process's other callbacks, its
/// blocked puts and its time triggers all need.
fn run_job(ctx: &ThreadCtx, job: Job) {
    match job {
        Job::Callbacks { coid, counts, done } => {
            for (cb, err, buf, handle) in done {
                let Some(cb) = cb else { continue };
                // (The callback is moved in: dropping it may run the program's code too.)
                let ran = std::panic::catch_unwind(AssertUnwindSafe(move || cb(err, buf, handle)));
                counts.run.fetch_add(1, Ordering::Relaxed);
                if let Err(payload) = ran {
                    counts.panicked.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        target: TRACE_TARGET,
                        coid,
                        handle,
                        err,
                        panic = panic_message(&*payload),
                        "an asyncmsg callback panicked; the library thread goes on"
                    );
                    drop_quietly(payload);
                }
            }
        }
        Job::Cleanup(what) => {
            // (A channel's recvbuf callback may run here.)
            if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(|| what.run(ctx))) {
                tracing::error!(
                    target: TRACE_TARGET,
                    panic = panic_message(&*payload),
                    "an asyncmsg recvbuf callback panicked; the library thread goes on"
                );
                drop_quietly(payload);
            }
        }
    }
}

/// A panic's message, when it has one.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Drops a panic's payload, whose own drop may panic: that one is forgotten.
fn drop_quietly(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = std::panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asyncmsg::*;

    thread_local! {
        /// The library's wake-up pulses this thread sends fail, as when the pulse pool is
        /// exhausted (which a pulse to a RECEIVE-blocked thread never finds: the kernel hands
        /// it over without taking one from the pool).
        pub(super) static NO_WAKE_PULSE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    #[test]
    fn the_wake_timer_wakes_the_library_thread_when_its_pulse_cannot_be_sent() {
        use crate::Process;
        use std::sync::mpsc;
        let k = Kernel::new(kernel_sim::Config::default()).unwrap();
        let (recv, send) = (Process::new_in(&k).unwrap(), Process::new_in(&k).unwrap());
        let chid = recv
            .spawn(|| asyncmsg_channel_create(0, 0o600, 64, 8, None, None))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        send.bind_current_thread(10).unwrap();
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let a = AsyncConnAttr {
            call_back: Some(Arc::new(move |err, _, handle| {
                let _ = tx.lock().unwrap().send((err, handle));
            })),
            trigger_num_msg: 0,
            ..AsyncConnAttr::default()
        };
        let coid = asyncmsg_connect_attach(0, recv.pid(), chid, _NTO_SIDE_CHANNEL, 0, &a).unwrap();
        for i in 0..3 {
            asyncmsg_put(coid, vec![i as u8; 8], i, None).unwrap();
        }
        let lib = with_current(lib_of).unwrap();
        let (pid, tid, lib_chid) = (send.pid(), lib.tid, lib.chid);
        let blocked = || {
            k.thread_info(pid, tid).map(|i| i.state)
                == Ok(crate::ThreadState::Receive { chid: lib_chid })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !blocked() {
            assert!(
                std::time::Instant::now() < deadline,
                "the library thread never blocked"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        // The detach queues three EBADF callbacks and cannot pulse the library thread.
        NO_WAKE_PULSE.with(|n| n.set(true));
        asyncmsg_connect_detach(coid).unwrap();
        NO_WAKE_PULSE.with(|n| n.set(false));
        let got: Vec<(i32, u32)> = (0..3)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(10))
                    .expect("a callback")
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Errno::EBADF.0, 0),
                (Errno::EBADF.0, 1),
                (Errno::EBADF.0, 2)
            ]
        );
        // Awake, the library thread disarmed its timer and blocks again.
        while !blocked() {
            assert!(
                std::time::Instant::now() < deadline,
                "the library thread never blocked again"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            with_current(|c| sys::timer_info(c, lib.wake_timer))
                .unwrap()
                .remaining,
            0
        );
        assert!(!lib.jobs().wake_armed);
        drop(lib);
        drop(crate::current::unbind());
    }
}
