//! Scenes for the tests that watch what the kernel shows (`procnto-sim/tests/student_views.rs`,
//! `userlib/tests/review_student_view.rs`, which include this file): simulated processes whose
//! kernel threads run on OS threads of their own and stay in the kernel after their work, so
//! that their state can be read; bounded calls; polls of a thread's state with a deadline.
//!
//! A scene tears its processes down on drop (a thread left blocked by a failed assertion is
//! released with ESRCH), then joins its threads.

use kernel_sim::consts::*;
use kernel_sim::info::ChannelInfo;
use kernel_sim::{Kernel, Pid, ThreadCtx, ThreadInfo, ThreadState};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bound on a blocking call of a scene's threads (ns).
pub const BOUND_NS: u64 = 10_000_000_000;
/// Bound on a wait for a state, and on how long a scene's thread keeps its kernel thread.
pub const SCENE_WITHIN: Duration = Duration::from_secs(30);
/// Every blocked state a bounded call may end in.
const ALL_STATES: u32 =
    _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY | _NTO_TIMEOUT_RECEIVE | _NTO_TIMEOUT_INTR;

/// Simulated processes and the OS threads running their kernel threads.
pub struct Scene {
    k: Kernel,
    pids: Vec<Pid>,
    joins: Vec<JoinHandle<()>>,
    /// Each thread keeps its kernel thread after its work until this is dropped.
    hold: Vec<mpsc::Sender<()>>,
}

impl Scene {
    pub fn new(k: &Kernel) -> Scene {
        Scene {
            k: k.clone(),
            pids: Vec::new(),
            joins: Vec::new(),
            hold: Vec::new(),
        }
    }

    /// A new process of the scene.
    pub fn process(&mut self) -> Pid {
        let p = self.k.process_create().expect("a process");
        self.pids.push(p);
        p
    }

    /// A new kernel thread of `p` at `prio`, to [`Scene::run`].
    pub fn thread(&self, p: Pid, prio: i16) -> ThreadCtx {
        self.k.thread_attach(p, prio).expect("a thread")
    }

    /// The usual cast: a server process with a thread (priority 10) and a channel made with
    /// `chan_flags`, and a client process with a thread (priority 10) connected to it; as
    /// (server process, client process, server thread, client thread, chid, coid).
    pub fn pair(&mut self, chan_flags: u32) -> (Pid, Pid, ThreadCtx, ThreadCtx, i32, i32) {
        let (ps, pc) = (self.process(), self.process());
        let (ts, tc) = (self.thread(ps, 10), self.thread(pc, 10));
        let chid = ts.channel_create(chan_flags).expect("channel");
        let coid = tc
            .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
            .expect("connect");
        (ps, pc, ts, tc, chid, coid)
    }

    /// Runs `f` with `ctx` on an OS thread of its own; its result comes on the receiver. The
    /// kernel thread stays until the scene ends.
    pub fn run<T: Send + 'static>(
        &mut self,
        ctx: ThreadCtx,
        f: impl FnOnce(&ThreadCtx) -> T + Send + 'static,
    ) -> mpsc::Receiver<T> {
        let (tx, rx) = mpsc::channel();
        let (hold_tx, hold_rx) = mpsc::channel::<()>();
        self.hold.push(hold_tx);
        self.joins.push(std::thread::spawn(move || {
            ctx.adopt_os_thread();
            let r = f(&ctx);
            let _ = tx.send(r);
            let _ = hold_rx.recv_timeout(SCENE_WITHIN);
            drop(ctx);
        }));
        rx
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        self.hold.clear();
        for p in self.pids.drain(..) {
            let _ = self.k.process_destroy(p);
        }
        for j in self.joins.drain(..) {
            let _ = j.join();
        }
    }
}

/// Arms a bounded timeout ([`BOUND_NS`]) for the next blocking call of `t`.
pub fn bound(t: &ThreadCtx) {
    t.timer_timeout(CLOCK_MONOTONIC, ALL_STATES, Some(BOUND_NS))
        .expect("TimerTimeout");
}

/// Thread (pid, tid)'s info; it must be in the kernel.
pub fn info(k: &Kernel, pid: i32, tid: i32) -> ThreadInfo {
    k.thread_info(pid, tid).expect("the thread in the kernel")
}

/// Polls (at most [`SCENE_WITHIN`]) until thread (pid, tid) satisfies `cond`; its info then.
pub fn wait_info(
    k: &Kernel,
    pid: i32,
    tid: i32,
    what: &str,
    cond: impl Fn(&ThreadInfo) -> bool,
) -> ThreadInfo {
    let until = Instant::now() + SCENE_WITHIN;
    loop {
        if let Ok(i) = k.thread_info(pid, tid) {
            if cond(&i) {
                return i;
            }
        }
        assert!(
            Instant::now() < until,
            "never: {what}; pid {pid} tid {tid} is {:?}\n{}",
            k.thread_info(pid, tid),
            k.listing()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Polls until thread (pid, tid) is in state `want`; its info then.
pub fn wait_in_state(k: &Kernel, pid: i32, tid: i32, want: ThreadState) -> ThreadInfo {
    wait_info(k, pid, tid, &format!("{want}"), |i| i.state == want)
}

/// Channel (pid, chid) as the kernel's snapshot shows it; it must be there.
pub fn channel(k: &Kernel, pid: i32, chid: i32) -> ChannelInfo {
    k.snapshot()
        .channels
        .into_iter()
        .find(|c| (c.pid, c.chid) == (pid, chid))
        .expect("the channel in the snapshot")
}

/// The result a scene's thread sends on `rx` ([`Scene::run`]), within [`SCENE_WITHIN`].
pub fn recv<T>(rx: &mpsc::Receiver<T>) -> T {
    rx.recv_timeout(SCENE_WITHIN).expect("the thread's result")
}
