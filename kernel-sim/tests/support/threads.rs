//! Simulated threads on OS threads of their own, joined with a deadline; and the guards that
//! release threads a test blocked without a bound, so that a kernel bug fails the test instead
//! of hanging it.

use super::{wait_receive_blocked, wait_send_blocked, Kernel, Pid, ThreadCtx, DEADLINE};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{JoinHandle, Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

/// A simulated thread running on its own OS thread (registered with the kernel by the time
/// the spawn returns), joined with a deadline. [`Bg`] is one spawned with [`spawn`];
/// [`spawn_scoped`] gives one that lives in a [`std::thread::scope`] and may borrow.
#[derive(Debug)]
pub struct SimThread<'scope, T> {
    h: Option<Handle<'scope, T>>,
    /// Its process.
    pub pid: i32,
    /// The kernel thread id.
    pub tid: i32,
    /// The Linux thread id of the OS thread.
    pub os_tid: i32,
}

/// A simulated thread spawned with [`spawn`] (owns what it uses).
pub type Bg<T> = SimThread<'static, T>;

#[derive(Debug)]
enum Handle<'scope, T> {
    Owned(JoinHandle<T>),
    Scoped(ScopedJoinHandle<'scope, T>),
}

impl<T> Handle<'_, T> {
    fn is_finished(&self) -> bool {
        match self {
            Handle::Owned(h) => h.is_finished(),
            Handle::Scoped(h) => h.is_finished(),
        }
    }

    fn join(self) -> std::thread::Result<T> {
        match self {
            Handle::Owned(h) => h.join(),
            Handle::Scoped(h) => h.join(),
        }
    }
}

impl<T> SimThread<'_, T> {
    /// Whether the thread has finished.
    pub fn is_finished(&self) -> bool {
        self.h.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Waits until the thread is SEND-blocked, and returns it: for a client the test wants
    /// queued on the channel before it goes on.
    pub fn once_send_blocked(self, k: &Kernel) -> Self {
        wait_send_blocked(k, self.pid, self.tid);
        self
    }

    /// Waits until the thread is RECEIVE-blocked, and returns it: for a receiver the test wants
    /// waiting before it sends.
    pub fn once_receive_blocked(self, k: &Kernel) -> Self {
        wait_receive_blocked(k, self.pid, self.tid);
        self
    }

    /// Joins, failing the test if the thread has not finished within [`DEADLINE`]; re-raises
    /// its panic. (A scoped thread that never finishes still holds up the end of its scope:
    /// the failure is reported first.)
    pub fn join(mut self) -> T {
        let h = self.h.take().expect("joined once");
        let deadline = Instant::now() + DEADLINE;
        while !h.is_finished() {
            if Instant::now() > deadline {
                panic!("thread {}/{} did not finish in time", self.pid, self.tid);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        match h.join() {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e),
        }
    }
}

/// The body of a spawned simulated thread: registers as a kernel thread of `pid` at `prio` (in
/// the new OS thread), reports its ids, runs `f`, then drops its ThreadCtx (thread death).
fn body<T>(
    k: Kernel,
    pid: Pid,
    prio: i16,
    f: impl FnOnce(&ThreadCtx) -> T,
    ids: std::sync::mpsc::Sender<(i32, i32)>,
) -> T {
    let ctx = k.thread_attach(pid, prio).expect("thread_attach");
    ids.send((ctx.tid(), os_tid())).expect("report tid");
    let r = f(&ctx);
    drop(ctx);
    r
}

/// Waits (bounded) for a spawned thread's ids.
fn registered(ids: std::sync::mpsc::Receiver<(i32, i32)>) -> (i32, i32) {
    ids.recv_timeout(DEADLINE)
        .expect("spawned thread registered")
}

/// Spawns an OS thread that registers as a kernel thread of `pid` at `prio`, runs `f`, then
/// drops its ThreadCtx (thread death). Returns once the thread has registered.
pub fn spawn<T, F>(k: &Kernel, pid: Pid, prio: i16, f: F) -> Bg<T>
where
    T: Send + 'static,
    F: FnOnce(&ThreadCtx) -> T + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let k = k.clone();
    let h = std::thread::spawn(move || body(k, pid, prio, f, tx));
    let (tid, os_tid) = registered(rx);
    SimThread {
        h: Some(Handle::Owned(h)),
        pid: pid.pid,
        tid,
        os_tid,
    }
}

/// [`spawn`] in the scope `s` (the thread may borrow from the test). Returns the thread and
/// its tid.
pub fn spawn_scoped<'scope, 'env, T, F>(
    s: &'scope Scope<'scope, 'env>,
    k: &Kernel,
    pid: Pid,
    prio: i16,
    f: F,
) -> (SimThread<'scope, T>, i32)
where
    T: Send + 'scope,
    F: FnOnce(&ThreadCtx) -> T + Send + 'scope,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let k = k.clone();
    let h = s.spawn(move || body(k, pid, prio, f, tx));
    let (tid, os_tid) = registered(rx);
    let t = SimThread {
        h: Some(Handle::Scoped(h)),
        pid: pid.pid,
        tid,
        os_tid,
    };
    (t, tid)
}

/// The calling OS thread's Linux tid.
pub fn os_tid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// Destroys simulated process `pid` after [`DEADLINE`] minus a bit unless dropped first:
/// releases threads left blocked in calls a test could not bound with TimerTimeout (because
/// the behaviour under test is that no timeout applies), so a kernel bug fails the test
/// instead of hanging it.
#[derive(Debug)]
pub struct Watchdog {
    cancel: Arc<AtomicBool>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    /// Arms the watchdog for process `pid`.
    pub fn new(k: &Kernel, pid: Pid) -> Watchdog {
        let cancel = Arc::new(AtomicBool::new(false));
        let fired = Arc::new(AtomicBool::new(false));
        let (c, f, k) = (cancel.clone(), fired.clone(), k.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + DEADLINE - Duration::from_secs(2);
            while Instant::now() < deadline {
                if c.load(Ordering::Acquire) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            if !c.load(Ordering::Acquire) {
                f.store(true, Ordering::Release);
                let _ = k.process_destroy(pid);
            }
        });
        Watchdog { cancel, fired }
    }

    /// Whether the watchdog had to destroy the process.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Release);
    }
}

/// Destroys channel `chid` if the test panics while this guard is alive, so that clients blocked
/// without a bound (REPLY-blocked on an `_NTO_CHF_UNBLOCK` channel) are released with ESRCH and
/// the scope's join does not hang.
pub struct ReleaseOnPanic<'a> {
    /// A thread of the channel's owner.
    pub owner: &'a ThreadCtx,
    /// The channel.
    pub chid: i32,
}

impl Drop for ReleaseOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.owner.channel_destroy(self.chid);
        }
    }
}
