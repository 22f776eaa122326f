//! QNX's thread pools (`<sys/dispatch.h>`'s `thread_pool_create`, `thread_pool_start`,
//! `thread_pool_destroy`, `thread_pool_control`, `thread_pool_limits`): a number of server
//! threads that each allocate a context, then loop blocking in it and handling what came, the
//! pool creating threads when too few are blocked and letting them go when too many are.
//!
//! A pool is generic over [`PoolFuncs`], QNX's `handle` and five functions (`context_alloc`,
//! `block_func`, `handler_func`, `unblock_func`, `context_free`); [`DispatchPool`] is the one
//! QNX programs use, over a [`Dispatch`] handle and its contexts. libqnxsim's C
//! `thread_pool_t` is one with the C function pointers of a `thread_pool_attr_t`, so that
//! both follow the same rules, which are QNX's:
//!
//! * [`thread_pool_start`] normalises the limits (`hi_water` at most `maximum`, `lo_water` at
//!   most `hi_water`) and creates the first thread, which creates the others up to `lo_water`.
//! * Each thread, after its block returns, counts itself out of the blocked ones; if fewer than
//!   `lo_water` are then blocked (or starting), the pool creates threads: up to `lo_water` while
//!   fewer exist, else `increment` more, never so many that more than `hi_water` would block,
//!   never more than `maximum` in all.
//! * After its handler returns, a thread whose fellows already block `hi_water` strong (and
//!   `lo_water`) leaves the pool: it frees its context and ends. (So is one while more than
//!   `maximum` exist, after [`thread_pool_control`] lowered it.)
//! * [`thread_pool_destroy`] sets every limit to 0, calls `unblock` once for every thread
//!   (with a context of its own) and waits for every thread to end (joined).
//!
//! The pool's threads are threads of the process that made the pool (kernel threads of it at
//! the creator's priority, as QNX's `pthread_create` gives), so they make kernel calls as the
//! program. With [`POOL_FLAG_USE_SELF`] the caller of [`thread_pool_start`] is a pool thread
//! until it leaves the pool (then the call returns; QNX's thread would `pthread_exit`); with
//! [`POOL_FLAG_EXIT_SELF`] its kernel thread ends once the pool is started (QNX's
//! `pthread_exit`) and the call returns, for the Rust thread to end.
//!
//! ```
//! use userlib::dispatch::*;
//! use userlib::thread_pool::*;
//! use userlib::qnx::{connect_attach, msg_send};
//!
//! let dpp = dispatch_create()?;
//! message_attach(&dpp, None, 0x200, 0x2ff, |ctp: &mut Context, code, _| {
//!     ctp.reply(i64::from(code), &[]).map_or(-1, |()| 0)
//! })?;
//! let mut attr = ThreadPoolAttr::new(DispatchPool::new(&dpp));
//! (attr.lo_water, attr.hi_water, attr.increment, attr.maximum) = (2, 4, 1, 50);
//! let tpp = thread_pool_create(attr, 0)?;
//! thread_pool_start(&tpp)?;
//! let coid = connect_attach(0, 0, dpp.chid(), userlib::consts::_NTO_SIDE_CHANNEL, 0)?;
//! assert_eq!(msg_send(coid, &0x210u16.to_ne_bytes(), &mut [])?, 0x210);
//! thread_pool_destroy(&tpp)?;
//! assert_eq!(tpp.created(), 0);
//! dispatch_destroy(&dpp)?;
//! # Ok::<(), userlib::Errno>(())
//! ```

use crate::current::{self, with_current};
use crate::dispatch::{self, Context, Dispatch};
use kernel_sim::{Errno, KResult, Kernel, Pid};
use std::cell::Cell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// `POOL_FLAG_EXIT_SELF`: once the pool is started, the caller of `thread_pool_start` exits.
pub const POOL_FLAG_EXIT_SELF: u32 = 0x01;
/// `POOL_FLAG_USE_SELF`: the caller of `thread_pool_start` becomes a pool thread.
pub const POOL_FLAG_USE_SELF: u32 = 0x02;
/// `POOL_FLAG_EXITING`: QNX's, internal (refused by `thread_pool_create`: EINVAL).
pub const POOL_FLAG_EXITING: u32 = 0x04;
/// `POOL_FLAG_CHANGING`: QNX's, internal (refused: EINVAL).
pub const POOL_FLAG_CHANGING: u32 = 0x08;
/// `POOL_FLAG_RESERVE`: QNX's, internal (refused: EINVAL).
pub const POOL_FLAG_RESERVE: u32 = 0x10;
/// `POOL_FLAG_ERROR`: QNX's, internal (refused: EINVAL).
pub const POOL_FLAG_ERROR: u32 = 0x20;
/// `POOL_FLAG_CALL_BLOCK_ERRF`: call the error function when a block fails.
pub const POOL_FLAG_CALL_BLOCK_ERRF: u32 = 0x40;
/// `POOL_FLAG_CALL_HANDLE_ERRF`: call the error function when a handler returns -1.
pub const POOL_FLAG_CALL_HANDLE_ERRF: u32 = 0x80;

/// The error function's reason: the block failed.
pub const POOL_ERROR_BLOCK: u32 = 0x1;
/// The error function's reason: the handler returned -1.
pub const POOL_ERROR_HANDLER: u32 = 0x2;
/// The error function's reason: a new thread's `context_alloc` failed (always reported).
pub const POOL_ERROR_CONTEXT: u32 = 0x4;

/// `thread_pool_control`: take `hi_water`.
pub const THREAD_POOL_CONTROL_HIWATER: u32 = 0x0001;
/// `thread_pool_control`: take `lo_water`.
pub const THREAD_POOL_CONTROL_LOWATER: u32 = 0x0002;
/// `thread_pool_control`: take `maximum`.
pub const THREAD_POOL_CONTROL_MAXIMUM: u32 = 0x0004;
/// `thread_pool_control`: take `increment`.
pub const THREAD_POOL_CONTROL_INCREMENT: u32 = 0x0008;
/// `thread_pool_control`: do not wait for the number of threads to get within the bounds.
pub const THREAD_POOL_CONTROL_NONBLOCK: u32 = 0x4000;

const CREATE_FLAGS: u32 = POOL_FLAG_EXIT_SELF
    | POOL_FLAG_USE_SELF
    | POOL_FLAG_CALL_BLOCK_ERRF
    | POOL_FLAG_CALL_HANDLE_ERRF;
const CONTROL_FLAGS: u32 = THREAD_POOL_CONTROL_HIWATER
    | THREAD_POOL_CONTROL_LOWATER
    | THREAD_POOL_CONTROL_MAXIMUM
    | THREAD_POOL_CONTROL_INCREMENT
    | THREAD_POOL_CONTROL_NONBLOCK;

/// How often a blocking [`thread_pool_control`] looks again at a pool that has not got within
/// its bounds (an unblock may have gone to a thread that then had work).
const CONTROL_RECHECK: Duration = Duration::from_millis(100);

/// A thread as the pool's spawner gets it: run it in a new OS thread.
pub type ThreadBody = Box<dyn FnOnce() + Send + 'static>;

/// QNX's `handle` and pool functions. The pool calls them from its threads, several at once.
pub trait PoolFuncs: Send + Sync + 'static {
    /// `THREAD_POOL_PARAM_T`: what a thread blocks in.
    type Context: Send + 'static;

    /// `context_alloc(handle)`: a new thread's context (an error ends the thread, reported to
    /// the error function as [`POOL_ERROR_CONTEXT`]).
    fn context_alloc(&self) -> KResult<Self::Context>;

    /// `block_func(ctp)`: waits for work. An error (QNX's NULL) is reported with
    /// [`POOL_FLAG_CALL_BLOCK_ERRF`]; the handler is called all the same, as QNX calls it.
    fn block(&self, ctp: &mut Self::Context) -> KResult<()>;

    /// `handler_func(ctp)`: does the work. `Err` is QNX's -1 (with its errno), reported with
    /// [`POOL_FLAG_CALL_HANDLE_ERRF`].
    fn handler(&self, ctp: &mut Self::Context) -> KResult<()>;

    /// `unblock_func(ctp)`: wakes one thread blocked in the pool, for `thread_pool_destroy` and
    /// `thread_pool_control`. `false`: there is none (QNX's NULL), and a blocked thread leaves
    /// only once its block returns by itself.
    fn unblock(&self, ctp: &Self::Context) -> bool;

    /// `context_free(ctp)`: a leaving thread's context.
    fn context_free(&self, ctp: Self::Context) {
        drop(ctp)
    }

    /// Runs a new pool thread's body in an OS thread of the caller's making (libqnxsim's C
    /// pools: `pthread_create` with the attributes' `pthread_attr_t`). `None`: the pool makes a
    /// `std::thread` (named `tid_name`) and joins it at `thread_pool_destroy`.
    fn spawn(&self, _name: Option<&str>, _body: &mut Option<ThreadBody>) -> Option<KResult<()>> {
        None
    }

    /// Called with the pool's `created` and `waiting` counts whenever they change (under the
    /// pool's lock); libqnxsim's C pools mirror them into the public `thread_pool_t`.
    fn publish(&self, _created: u32, _waiting: u32) {}

    /// Called with the limits in force whenever they change (under the pool's lock): the ones
    /// [`thread_pool_start`] normalised, those [`thread_pool_control`] set, the zeros of
    /// [`thread_pool_destroy`]. libqnxsim's C pools mirror them into the public
    /// `thread_pool_t`'s `pool_attr`, as QNX's pool, whose only limits those are, shows them.
    fn publish_limits(&self, _lim: PoolLimits) {}
}

/// The error function: `(reason, errno)` ([`POOL_ERROR_BLOCK`], [`POOL_ERROR_HANDLER`],
/// [`POOL_ERROR_CONTEXT`]).
pub type ErrorFn = Arc<dyn Fn(u32, Errno) + Send + Sync>;

/// `thread_pool_attr_t`: the functions and the limits.
pub struct ThreadPoolAttr<F: PoolFuncs> {
    /// The handle and the five functions.
    pub funcs: F,
    /// Create threads when fewer than this many are blocked.
    pub lo_water: u16,
    /// How many to create then (once `lo_water` exist).
    pub increment: u16,
    /// A thread leaves when this many others are blocked.
    pub hi_water: u16,
    /// Never more threads than this (0: EINVAL).
    pub maximum: u16,
    /// `tid_name` (QNX 7): the threads' name.
    pub tid_name: Option<String>,
    /// `error_func` (QNX 7.1).
    pub error_func: Option<ErrorFn>,
}

impl<F: PoolFuncs> ThreadPoolAttr<F> {
    /// The attributes with every limit 0 (QNX's `memset` of the struct) and no name or error
    /// function.
    pub fn new(funcs: F) -> ThreadPoolAttr<F> {
        ThreadPoolAttr {
            funcs,
            lo_water: 0,
            increment: 0,
            hi_water: 0,
            maximum: 0,
            tid_name: None,
            error_func: None,
        }
    }
}

impl<F: PoolFuncs> std::fmt::Debug for ThreadPoolAttr<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPoolAttr")
            .field("lo_water", &self.lo_water)
            .field("increment", &self.increment)
            .field("hi_water", &self.hi_water)
            .field("maximum", &self.maximum)
            .field("tid_name", &self.tid_name)
            .field("error_func", &self.error_func.is_some())
            .finish()
    }
}

/// The limits alone, for [`thread_pool_control`] (the fields its flags select are taken).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolLimits {
    /// `lo_water`.
    pub lo_water: u16,
    /// `increment`.
    pub increment: u16,
    /// `hi_water`.
    pub hi_water: u16,
    /// `maximum`.
    pub maximum: u16,
}

impl PoolLimits {
    /// QNX's normalisation: `hi_water` at most `maximum`, `lo_water` at most `hi_water`.
    fn normalised(mut self) -> PoolLimits {
        self.hi_water = self.hi_water.min(self.maximum);
        self.lo_water = self.lo_water.min(self.hi_water);
        self
    }
}

/// [`PoolFuncs`] over a dispatch handle: `dispatch_context_alloc`, `dispatch_block`,
/// `dispatch_handler`, `dispatch_unblock`, `dispatch_context_free` (a handler's -1 is `Err`
/// with errno 0: the dispatch layer sets none).
#[derive(Clone, Debug)]
pub struct DispatchPool {
    dpp: Dispatch,
}

impl DispatchPool {
    /// The functions for `dpp` (QNX's `pool_attr.handle = dpp`).
    pub fn new(dpp: &Dispatch) -> DispatchPool {
        DispatchPool { dpp: dpp.clone() }
    }
}

impl PoolFuncs for DispatchPool {
    type Context = Context;

    fn context_alloc(&self) -> KResult<Context> {
        dispatch::dispatch_context_alloc(&self.dpp)
    }

    fn block(&self, ctp: &mut Context) -> KResult<()> {
        dispatch::dispatch_block(ctp)
    }

    fn handler(&self, ctp: &mut Context) -> KResult<()> {
        match dispatch::dispatch_handler(ctp) {
            -1 => Err(Errno(0)),
            _ => Ok(()),
        }
    }

    fn unblock(&self, ctp: &Context) -> bool {
        let _ = dispatch::dispatch_unblock(ctp);
        true
    }

    fn context_free(&self, ctp: Context) {
        dispatch::dispatch_context_free(ctp)
    }
}

struct State {
    lim: PoolLimits,
    created: u32,
    /// Threads counted in `created` that decided to leave and have not counted themselves out
    /// yet (`leave`): the decision and this count change under one lock, so that no two
    /// threads leave on the strength of one surplus.
    leaving: u32,
    waiting: u32,
    starting: u32,
    /// Unblocks `thread_pool_control` sent that no block has returned for yet.
    unblocking: u32,
    started: bool,
    exiting: bool,
    handles: Vec<JoinHandle<()>>,
}

struct Inner<F: PoolFuncs> {
    funcs: F,
    flags: u32,
    name: Option<String>,
    error_func: Option<ErrorFn>,
    state: Mutex<State>,
    cond: Condvar,
    kernel: Kernel,
    pid: Pid,
    prio: i16,
}

thread_local! {
    /// The pool the calling thread is a thread of (its address), 0 for none.
    static IN_POOL: Cell<usize> = const { Cell::new(0) };
}

/// Where a pool thread is in its life, for [`Unwinding`]: which of the pool's counts include it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Counted in `starting` (allocating its context).
    Starting,
    /// Counted in `waiting` (blocking, or about to).
    Waiting,
    /// In `created` only (running its handler).
    Working,
    /// Counted in `leaving` (freeing its context, or its `context_alloc` failed).
    Leaving,
}

/// Counts a pool thread out of its pool if one of the pool's functions panics in it (the
/// handler, `block`, `context_alloc`, `context_free`, the error function): without it the
/// thread stayed in `created` and [`thread_pool_destroy`], which waits for that count to reach
/// 0, waited for ever. The panic goes on (it ends the thread, or with `POOL_FLAG_USE_SELF`
/// reaches `thread_pool_start`'s caller); the thread's kernel thread ends first (for a thread
/// the pool made), and the pool creates threads as its water marks ask, as when a thread leaves.
struct Unwinding<'a, F: PoolFuncs> {
    inner: &'a Arc<Inner<F>>,
    phase: &'a Cell<Phase>,
    /// Whether the thread's kernel thread ends with it (a thread the pool made).
    unbind: bool,
}

impl<F: PoolFuncs> Drop for Unwinding<'_, F> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        if self.unbind {
            drop(current::unbind());
        }
        let mut s = self.inner.lock();
        match self.phase.get() {
            Phase::Starting => s.starting = s.starting.saturating_sub(1),
            Phase::Waiting => s.waiting = s.waiting.saturating_sub(1),
            Phase::Working => {}
            Phase::Leaving => s.leaving = s.leaving.saturating_sub(1),
        }
        s.created = s.created.saturating_sub(1);
        self.inner.publish(&s);
        drop(s);
        self.inner.cond.notify_all();
        // (Threads to replace it, unless the pool is being destroyed: its limits are 0 then.)
        self.inner.update(0, 0);
    }
}

/// Marks the calling thread as a thread of a pool until dropped.
struct InPool(usize);

impl InPool {
    fn enter(at: usize) -> InPool {
        InPool(IN_POOL.with(|p| p.replace(at)))
    }
}

impl Drop for InPool {
    fn drop(&mut self) {
        let _ = IN_POOL.try_with(|p| p.set(self.0));
    }
}

impl<F: PoolFuncs> Inner<F> {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn at(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as *const () as usize
    }

    fn publish(&self, s: &State) {
        self.funcs.publish(s.created, s.waiting);
    }

    fn report(&self, reason: u32, e: Errno) {
        if let Some(f) = &self.error_func {
            f(reason, e);
        }
    }

    /// How many threads to create now (QNX's rule, see the module docs).
    fn to_add(s: &State) -> u32 {
        let (lo, hi, max, inc) = (
            u32::from(s.lim.lo_water),
            u32::from(s.lim.hi_water),
            u32::from(s.lim.maximum),
            u32::from(s.lim.increment),
        );
        let avail = s.waiting + s.starting;
        let live = s.created - s.leaving;
        if avail >= lo || live >= max {
            return 0;
        }
        let add = if live < lo {
            lo - live
        } else {
            inc.min(hi.saturating_sub(avail))
        };
        add.min(max - live)
    }

    /// Counts `waiting` and `starting` by `w` and `n`, and creates the threads QNX's rule asks.
    fn update(self: &Arc<Self>, w: i32, n: i32) {
        let mut s = self.lock();
        s.waiting = s.waiting.saturating_add_signed(w);
        s.starting = s.starting.saturating_add_signed(n);
        if w < 0 {
            s.unblocking = s.unblocking.saturating_sub(1);
        }
        let add = Self::to_add(&s);
        s.created += add;
        s.starting += add;
        self.publish(&s);
        drop(s);
        for _ in 0..add {
            let _ = self.spawn_one();
        }
    }

    /// Starts one thread counted already in `created` and `starting` (uncounted if it cannot).
    fn spawn_one(self: &Arc<Self>) -> KResult<()> {
        let r = self.try_spawn();
        let mut s = self.lock();
        if r.is_err() {
            s.created -= 1;
            s.starting -= 1;
            self.publish(&s);
        }
        drop(s);
        self.cond.notify_all();
        r
    }

    fn try_spawn(self: &Arc<Self>) -> KResult<()> {
        let ctx = self.kernel.thread_attach_for_another(self.pid, self.prio)?;
        let me = self.clone();
        let body: ThreadBody = Box::new(move || {
            ctx.adopt_os_thread();
            drop(current::bind(ctx));
            let guard = InPool::enter(me.at());
            let phase = Cell::new(Phase::Starting);
            let unwinding = Unwinding {
                inner: &me,
                phase: &phase,
                unbind: true,
            };
            me.run_new(&phase);
            drop(unwinding);
            drop(guard);
            // The kernel thread ends before the pool counts the thread out, so that after
            // `thread_pool_destroy` none is left.
            drop(current::unbind());
            me.leave();
        });
        let mut body = Some(body);
        if let Some(r) = self.funcs.spawn(self.name.as_deref(), &mut body) {
            return r;
        }
        let Some(body) = body.take() else {
            return Err(Errno::EAGAIN);
        };
        let mut b = std::thread::Builder::new();
        if let Some(name) = &self.name {
            b = b.name(name.clone());
        }
        // The lock is held from before the spawn until the handle is listed: the new thread
        // cannot count itself out before then, so `thread_pool_destroy`, which waits for the
        // count to reach 0 before it takes the handles, never misses this one.
        let mut s = self.lock();
        let h = b.spawn(body).map_err(|_| Errno::EAGAIN)?;
        // (Threads that left already are joined now, so that the list stays short.)
        let (done, live): (Vec<_>, Vec<_>) = s.handles.drain(..).partition(|h| h.is_finished());
        s.handles = live;
        s.handles.push(h);
        drop(s);
        for h in done {
            let _ = h.join();
        }
        Ok(())
    }

    /// A new thread: its context, then the loop.
    /// `phase` follows it (for [`Unwinding`]).
    fn run_new(self: &Arc<Self>, phase: &Cell<Phase>) {
        match self.funcs.context_alloc() {
            Err(e) => {
                let mut s = self.lock();
                s.starting -= 1;
                s.leaving += 1;
                phase.set(Phase::Leaving);
                drop(s);
                self.report(POOL_ERROR_CONTEXT, e);
            }
            Ok(ctp) => {
                // (Set first: `update` counts the thread over before it runs the pool's code.)
                phase.set(Phase::Waiting);
                self.update(1, -1);
                self.serve(ctp, phase);
            }
        }
    }

    /// The thread's loop (it counts among the waiting on entry); returns once it left.
    fn serve(self: &Arc<Self>, mut ctp: F::Context, phase: &Cell<Phase>) {
        loop {
            let mut s = self.lock();
            if s.exiting {
                s.waiting -= 1;
                s.leaving += 1;
                phase.set(Phase::Leaving);
                self.publish(&s);
                break;
            }
            drop(s);
            let blocked = self.funcs.block(&mut ctp);
            phase.set(Phase::Working);
            self.update(-1, 0);
            if let Err(e) = blocked {
                if self.flags & POOL_FLAG_CALL_BLOCK_ERRF != 0 {
                    self.report(POOL_ERROR_BLOCK, e);
                }
                // A thread whose process is gone has nothing to block in (QNX's would not run).
                if self.kernel.process_counters(self.pid.pid).is_err() {
                    self.lock().leaving += 1;
                    phase.set(Phase::Leaving);
                    break;
                }
            }
            if let Err(e) = self.funcs.handler(&mut ctp) {
                if self.flags & POOL_FLAG_CALL_HANDLE_ERRF != 0 {
                    self.report(POOL_ERROR_HANDLER, e);
                }
            }
            let mut s = self.lock();
            let (lo, hi) = (u32::from(s.lim.lo_water), u32::from(s.lim.hi_water));
            if (s.waiting >= hi && s.waiting >= lo)
                || s.created - s.leaving > u32::from(s.lim.maximum)
            {
                s.leaving += 1;
                phase.set(Phase::Leaving);
                break;
            }
            s.waiting += 1;
            phase.set(Phase::Waiting);
            self.publish(&s);
        }
        self.funcs.context_free(ctp);
    }

    /// Counts a thread out of the pool.
    fn leave(&self) {
        let mut s = self.lock();
        s.created -= 1;
        s.leaving -= 1;
        self.publish(&s);
        drop(s);
        self.cond.notify_all();
    }
}

/// `thread_pool_t`: a pool (clones share it). It lives until [`thread_pool_destroy`], as
/// QNX's: dropping the handles leaves its threads running.
pub struct ThreadPool<F: PoolFuncs> {
    inner: Arc<Inner<F>>,
}

impl<F: PoolFuncs> Clone for ThreadPool<F> {
    fn clone(&self) -> Self {
        ThreadPool {
            inner: self.inner.clone(),
        }
    }
}

impl<F: PoolFuncs> std::fmt::Debug for ThreadPool<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.inner.lock();
        f.debug_struct("ThreadPool")
            .field("limits", &s.lim)
            .field("created", &s.created)
            .field("waiting", &s.waiting)
            .field("exiting", &s.exiting)
            .finish()
    }
}

impl<F: PoolFuncs> ThreadPool<F> {
    /// `pool->created`: the pool's threads (starting ones included).
    pub fn created(&self) -> u32 {
        self.inner.lock().created
    }

    /// `pool->waiting`: the threads blocked (or about to block) for work.
    pub fn waiting(&self) -> u32 {
        self.inner.lock().waiting
    }

    /// The limits in force (normalised once started).
    pub fn limits(&self) -> PoolLimits {
        self.inner.lock().lim
    }

    /// The flags it was created with.
    pub fn flags(&self) -> u32 {
        self.inner.flags
    }

    /// The functions.
    pub fn funcs(&self) -> &F {
        &self.inner.funcs
    }
}

/// `thread_pool_create(attr, flags)`: a pool, not started; its threads will be threads of the
/// calling thread's process at its priority. EINVAL: `maximum` 0, flags other than
/// `POOL_FLAG_EXIT_SELF`, `POOL_FLAG_USE_SELF` (not both), `POOL_FLAG_CALL_BLOCK_ERRF`,
/// `POOL_FLAG_CALL_HANDLE_ERRF`, or one of the last two without an error function (QNX would
/// `abort()` at the first error). `lo_water` above `hi_water` or `hi_water` above `maximum` are
/// normalised at start, as QNX does.
pub fn thread_pool_create<F: PoolFuncs>(
    attr: ThreadPoolAttr<F>,
    flags: u32,
) -> KResult<ThreadPool<F>> {
    let both = POOL_FLAG_EXIT_SELF | POOL_FLAG_USE_SELF;
    let errf = POOL_FLAG_CALL_BLOCK_ERRF | POOL_FLAG_CALL_HANDLE_ERRF;
    if flags & !CREATE_FLAGS != 0
        || flags & both == both
        || (flags & errf != 0 && attr.error_func.is_none())
        || attr.maximum == 0
    {
        return Err(Errno::EINVAL);
    }
    let (kernel, pid, prio) = with_current(|c| {
        let (base, _) = c.priority()?;
        Ok((c.kernel().clone(), c.process(), i16::from(base)))
    })?;
    Ok(ThreadPool {
        inner: Arc::new(Inner {
            funcs: attr.funcs,
            flags,
            name: attr.tid_name,
            error_func: attr.error_func,
            state: Mutex::new(State {
                lim: PoolLimits {
                    lo_water: attr.lo_water,
                    increment: attr.increment,
                    hi_water: attr.hi_water,
                    maximum: attr.maximum,
                },
                created: 0,
                leaving: 0,
                waiting: 0,
                starting: 0,
                unblocking: 0,
                started: false,
                exiting: false,
                handles: Vec::new(),
            }),
            cond: Condvar::new(),
            kernel,
            pid,
            prio,
        }),
    })
}

/// `thread_pool_start(pool)`: normalises the limits and starts the first thread (which starts
/// the others up to `lo_water`). With `POOL_FLAG_USE_SELF` the caller is that thread, and the
/// call returns once it left the pool (a surplus thread, or the pool destroyed); with
/// `POOL_FLAG_EXIT_SELF` the caller's kernel thread ends after the start (QNX's
/// `pthread_exit`). EBUSY started already; EINVAL destroyed; EAGAIN no thread could be made.
pub fn thread_pool_start<F: PoolFuncs>(pool: &ThreadPool<F>) -> KResult<()> {
    let inner = &pool.inner;
    let mut s = inner.lock();
    if s.exiting {
        return Err(Errno::EINVAL);
    }
    if s.started {
        return Err(Errno::EBUSY);
    }
    s.started = true;
    s.lim = s.lim.normalised();
    inner.funcs.publish_limits(s.lim);
    s.created += 1;
    s.starting += 1;
    inner.publish(&s);
    drop(s);
    if inner.flags & POOL_FLAG_USE_SELF != 0 {
        let guard = InPool::enter(inner.at());
        let phase = Cell::new(Phase::Starting);
        let unwinding = Unwinding {
            inner,
            phase: &phase,
            unbind: false,
        };
        inner.run_new(&phase);
        drop(unwinding);
        drop(guard);
        inner.leave();
        return Ok(());
    }
    inner.spawn_one()?;
    if inner.flags & POOL_FLAG_EXIT_SELF != 0 {
        drop(current::unbind());
    }
    Ok(())
}

/// `thread_pool_destroy(pool)`: sets every limit to 0, calls `unblock` once per thread with a
/// context of its own, and waits until every thread has left (each leaves once its handler
/// returns) and joins them. EINVAL destroyed already; EDEADLK called from one of the pool's own
/// threads (it would wait for itself).
pub fn thread_pool_destroy<F: PoolFuncs>(pool: &ThreadPool<F>) -> KResult<()> {
    let inner = &pool.inner;
    if IN_POOL.with(Cell::get) == inner.at() {
        return Err(Errno::EDEADLK);
    }
    let mut s = inner.lock();
    if s.exiting {
        return Err(Errno::EINVAL);
    }
    s.exiting = true;
    s.lim = PoolLimits::default();
    inner.funcs.publish_limits(s.lim);
    let n = s.created;
    drop(s);
    if n > 0 {
        if let Ok(ctp) = inner.funcs.context_alloc() {
            for _ in 0..n {
                if !inner.funcs.unblock(&ctp) {
                    break;
                }
            }
            inner.funcs.context_free(ctp);
        }
    }
    let mut s = inner.lock();
    while s.created > 0 {
        s = inner.cond.wait(s).unwrap_or_else(|p| p.into_inner());
    }
    let handles = std::mem::take(&mut s.handles);
    drop(s);
    for h in handles {
        let _ = h.join();
    }
    Ok(())
}

/// `thread_pool_control(pool, attr, lower, upper, flags)`: takes the limits `flags` selects
/// (`THREAD_POOL_CONTROL_HIWATER`, `_LOWATER`, `_MAXIMUM`, `_INCREMENT`) from `attr`,
/// normalises them, creates threads while fewer than `lo_water` are blocked and unblocks
/// surplus ones (more than `maximum` exist, more than `hi_water` blocked); having done either,
/// unless `THREAD_POOL_CONTROL_NONBLOCK`, it waits until `lower <= created <= upper` or the
/// pool is at rest (no thread on its way in or out). A pool not started
/// yet only takes the limits. EINVAL: `lower > upper`, unknown flags, a destroyed pool, a
/// `maximum` of 0, and for a waiting call bounds the limits can never meet (`lower` above
/// `maximum`, `upper` below `lo_water`); EAGAIN no thread could be made; the `context_alloc`
/// errors.
pub fn thread_pool_control<F: PoolFuncs>(
    pool: &ThreadPool<F>,
    attr: &PoolLimits,
    lower: u16,
    upper: u16,
    flags: u32,
) -> KResult<()> {
    if lower > upper || flags & !CONTROL_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let inner = &pool.inner;
    let mut s = inner.lock();
    if s.exiting {
        return Err(Errno::EINVAL);
    }
    let mut lim = s.lim;
    if flags & THREAD_POOL_CONTROL_MAXIMUM != 0 {
        lim.maximum = attr.maximum;
    }
    if flags & THREAD_POOL_CONTROL_LOWATER != 0 {
        lim.lo_water = attr.lo_water;
    }
    if flags & THREAD_POOL_CONTROL_HIWATER != 0 {
        lim.hi_water = attr.hi_water;
    }
    if flags & THREAD_POOL_CONTROL_INCREMENT != 0 {
        lim.increment = attr.increment;
    }
    if lim.maximum == 0 {
        return Err(Errno::EINVAL);
    }
    let nonblock = flags & THREAD_POOL_CONTROL_NONBLOCK != 0;
    if !s.started {
        s.lim = lim;
        inner.funcs.publish_limits(lim);
        return Ok(());
    }
    lim = lim.normalised();
    if !nonblock && (lower > lim.maximum || upper < lim.lo_water) {
        return Err(Errno::EINVAL);
    }
    s.lim = lim;
    inner.funcs.publish_limits(lim);
    let within = |s: &State| u16::try_from(s.created).is_ok_and(|c| (lower..=upper).contains(&c));
    let mut acted = false;
    loop {
        let lo = u32::from(s.lim.lo_water);
        let max = u32::from(s.lim.maximum);
        let hi = u32::from(s.lim.hi_water);
        if s.exiting {
            return Err(Errno::EINVAL);
        }
        if s.waiting + s.starting < lo && s.created - s.leaving < max {
            s.created += 1;
            s.starting += 1;
            inner.publish(&s);
            drop(s);
            inner.spawn_one()?;
        } else if (s.created - s.leaving).saturating_sub(s.unblocking) > max
            || s.waiting.saturating_sub(s.unblocking) > hi
        {
            // (Less the unblocks on their way already, so that a thread slow to wake does not
            // get a second one: a spurious wake-up would grow the pool again.)
            let count = ((s.created - s.leaving)
                .saturating_sub(s.unblocking)
                .saturating_sub(max))
            .max(s.waiting.saturating_sub(s.unblocking).saturating_sub(hi));
            s.unblocking += count;
            drop(s);
            let ctp = inner.funcs.context_alloc()?;
            for _ in 0..count {
                if !inner.funcs.unblock(&ctp) {
                    break;
                }
            }
            inner.funcs.context_free(ctp);
        } else if nonblock || !acted || within(&s) {
            // (Nothing to do: QNX's returns here, whether or not within the bounds.)
            return Ok(());
        } else {
            // Threads on their way in or out: wait for them, until the pool is at rest.
            let before = s.created;
            s = inner
                .cond
                .wait_timeout(s, CONTROL_RECHECK)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            if !within(&s) && s.created == before && s.starting == 0 {
                return Ok(());
            }
            continue;
        }
        acted = true;
        s = inner.lock();
        if !nonblock && !within(&s) {
            s = inner
                .cond
                .wait_timeout(s, CONTROL_RECHECK)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// `thread_pool_limits(pool, lowater, hiwater, maximum, increment, flags)`:
/// [`thread_pool_control`] with the limits given (a negative one is left as it is), waiting
/// (unless `THREAD_POOL_CONTROL_NONBLOCK` in `flags`; other flags are ignored, as QNX's) until
/// the threads number between the new `lowater` (else 0) and `maximum` (else 65535). EINVAL a
/// limit above 65535; [`thread_pool_control`]'s errors.
pub fn thread_pool_limits<F: PoolFuncs>(
    pool: &ThreadPool<F>,
    lowater: i32,
    hiwater: i32,
    maximum: i32,
    increment: i32,
    flags: u32,
) -> KResult<()> {
    let take = |v: i32, bit: u32, f: &mut u32| -> KResult<Option<u16>> {
        if v < 0 {
            return Ok(None);
        }
        *f |= bit;
        u16::try_from(v).map(Some).map_err(|_| Errno::EINVAL)
    };
    let mut f = flags & THREAD_POOL_CONTROL_NONBLOCK;
    let mut lim = PoolLimits::default();
    let (mut lower, mut upper) = (0, u16::MAX);
    if let Some(v) = take(hiwater, THREAD_POOL_CONTROL_HIWATER, &mut f)? {
        lim.hi_water = v;
    }
    if let Some(v) = take(lowater, THREAD_POOL_CONTROL_LOWATER, &mut f)? {
        lim.lo_water = v;
        lower = v;
    }
    if let Some(v) = take(increment, THREAD_POOL_CONTROL_INCREMENT, &mut f)? {
        lim.increment = v;
    }
    if let Some(v) = take(maximum, THREAD_POOL_CONTROL_MAXIMUM, &mut f)? {
        lim.maximum = v;
        upper = v;
    }
    thread_pool_control(pool, &lim, lower, upper, f)
}
