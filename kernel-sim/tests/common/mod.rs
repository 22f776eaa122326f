//! Helpers shared by the conformance tests: bounded blocking calls, waiting for a thread to reach
//! a blocked state, spawning simulated threads, and pool bookkeeping.
#![allow(dead_code)]

use kernel_sim::consts::*;
use kernel_sim::info::PoolUsage;
use kernel_sim::*;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

/// The bound put on calls that are expected to complete: generous, only there so that a kernel
/// bug fails the test instead of hanging it.
pub const LONG: u64 = 5_000_000_000;
/// A short timeout for calls that are expected to time out.
pub const SHORT: u64 = 30_000_000;
/// The states a MsgSend blocks in.
pub const SEND_REPLY: u32 = _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY;

/// Arms a one-shot kernel timeout (`None`: time out at once instead of blocking).
pub fn arm(ctx: &ThreadCtx, flags: u32, ns: Option<u64>) {
    ctx.timer_timeout(CLOCK_MONOTONIC, flags, ns)
        .expect("TimerTimeout");
}

/// MsgSend bounded by [`LONG`].
pub fn send(ctx: &ThreadCtx, coid: i32, smsg: &[u8], rmsg: &mut [u8]) -> KResult<i64> {
    arm(ctx, SEND_REPLY, Some(LONG));
    ctx.msg_send(coid, smsg, rmsg)
}

/// MsgReceive bounded by [`LONG`].
pub fn receive(
    ctx: &ThreadCtx,
    chid: i32,
    buf: &mut [u8],
    info: Option<&mut MsgInfo>,
) -> KResult<RcvId> {
    arm(ctx, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    ctx.msg_receive(chid, buf, info)
}

/// MsgReceive that never blocks: ETIMEDOUT when nothing is queued.
pub fn poll(
    ctx: &ThreadCtx,
    chid: i32,
    buf: &mut [u8],
    info: Option<&mut MsgInfo>,
) -> KResult<RcvId> {
    arm(ctx, _NTO_TIMEOUT_RECEIVE, None);
    ctx.msg_receive(chid, buf, info)
}

/// Receives a pulse (bounded) and decodes it; panics if a message arrives instead.
pub fn receive_pulse(ctx: &ThreadCtx, chid: i32) -> Pulse {
    let mut buf = [0u8; 64];
    let rcvid = receive(ctx, chid, &mut buf, None).expect("receive a pulse");
    assert_eq!(rcvid, 0, "expected a pulse, got a message");
    Pulse::from_bytes(&buf).expect("pulse bytes")
}

/// Polls `thread_info(pid, tid)` until `pred` holds; panics after 5 s with the last state seen.
pub fn wait_for(
    k: &Kernel,
    pid: i32,
    tid: i32,
    what: &str,
    pred: impl Fn(&ThreadState) -> bool,
) -> ThreadInfo {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = k.thread_info(pid, tid);
        if let Ok(i) = info {
            if pred(&i.state) {
                return i;
            }
        }
        if Instant::now() > deadline {
            panic!("thread {pid}/{tid} never became {what}: last seen {info:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until thread `pid`/`tid` is SEND-blocked.
pub fn wait_send_blocked(k: &Kernel, pid: i32, tid: i32) -> ThreadInfo {
    wait_for(k, pid, tid, "SEND-blocked", |s| {
        matches!(s, ThreadState::Send { .. })
    })
}

/// Waits until thread `pid`/`tid` is RECEIVE-blocked.
pub fn wait_receive_blocked(k: &Kernel, pid: i32, tid: i32) -> ThreadInfo {
    wait_for(k, pid, tid, "RECEIVE-blocked", |s| {
        matches!(s, ThreadState::Receive { .. })
    })
}

/// Waits until thread `pid`/`tid` is REPLY-blocked.
pub fn wait_reply_blocked(k: &Kernel, pid: i32, tid: i32) -> ThreadInfo {
    wait_for(k, pid, tid, "REPLY-blocked", |s| {
        matches!(s, ThreadState::Reply { .. })
    })
}

/// Waits until thread `pid`/`tid` is back out of the kernel.
pub fn wait_running(k: &Kernel, pid: i32, tid: i32) -> ThreadInfo {
    wait_for(k, pid, tid, "RUNNING", |s| {
        matches!(s, ThreadState::Running)
    })
}

/// Spawns an OS thread that registers as a kernel thread of `pid` at `prio` and runs `f`.
/// Returns the join handle and the new thread's tid (known once it has registered).
pub fn spawn<'scope, 'env, T, F>(
    s: &'scope Scope<'scope, 'env>,
    k: &Kernel,
    pid: Pid,
    prio: i16,
    f: F,
) -> (ScopedJoinHandle<'scope, T>, i32)
where
    T: Send + 'scope,
    F: FnOnce(&ThreadCtx) -> T + Send + 'scope,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let k = k.clone();
    let h = s.spawn(move || {
        let ctx = k.thread_attach(pid, prio).expect("thread_attach");
        tx.send(ctx.tid()).expect("report tid");
        let r = f(&ctx);
        drop(ctx);
        r
    });
    let tid = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("spawned thread registered");
    (h, tid)
}

/// Live objects in every pool: processes, threads, channels, connections, pulses.
pub fn live(k: &Kernel) -> [u32; 5] {
    let u: PoolUsage = k.pool_usage();
    [
        u.processes.live,
        u.threads.live,
        u.channels.live,
        u.connections.live,
        u.pulses.live,
    ]
}

/// Destroys the processes and checks every pool is back to `start`.
pub fn teardown(k: &Kernel, procs: &[Pid], start: [u32; 5]) {
    for &p in procs {
        k.process_destroy(p).expect("process_destroy");
    }
    assert_eq!(
        live(k),
        start,
        "pools (processes, threads, channels, connections, pulses) back to their start"
    );
}

/// A fresh kernel with the default configuration.
pub fn kernel() -> Kernel {
    Kernel::new(Config::default()).expect("kernel")
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
