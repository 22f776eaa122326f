//! Helpers for the notification and event conformance tests (pulses, events, kernel timeouts, timers, unblock,
//! disconnect and death notifications): bounded blocking calls, bounded joins of simulated
//! threads, waiting for thread states, pool bookkeeping (timers included), `struct sigevent`
//! bytes, and a recorder for real Linux signals.
#![allow(dead_code)]

// The basic bounded calls and state waits are the SRR suite's (tests/common).
#[path = "../common/mod.rs"]
mod base;
pub use base::*;

use kernel_sim::consts::CLOCK_REALTIME;
use kernel_sim::types::SigEvent;
use kernel_sim::*;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bound on calls that the test expects to be ended by something that *also* yields
/// ETIMEDOUT (an event, an unblock): far beyond every join and state-wait deadline, so the
/// safety bound can never be mistaken for the behaviour under test.
pub const SAFETY: u64 = 60_000_000_000;
/// A short timeout for calls expected to time out.
pub const SHORT: u64 = 20_000_000;
/// How long a bounded join or state wait waits before failing the test.
pub const JOIN_DEADLINE: Duration = Duration::from_secs(10);

/// Polls for a pulse: `None` when nothing is queued (ETIMEDOUT); panics on a message.
pub fn poll_pulse(ctx: &ThreadCtx, chid: i32) -> Option<Pulse> {
    let mut buf = [0u8; 64];
    match poll(ctx, chid, &mut buf, None) {
        Ok(0) => Some(Pulse::from_bytes(&buf).expect("pulse bytes")),
        Ok(rcvid) => panic!("expected a pulse or nothing, got message rcvid {rcvid:#x}"),
        Err(Errno::ETIMEDOUT) => None,
        Err(e) => panic!("poll failed: {e:?}"),
    }
}

/// Asserts nothing at all is queued on `chid` (an immediate receive times out).
pub fn assert_nothing_queued(ctx: &ThreadCtx, chid: i32) {
    let mut buf = [0u8; 64];
    assert_eq!(
        poll(ctx, chid, &mut buf, None),
        Err(Errno::ETIMEDOUT),
        "nothing should be queued on chid {chid}"
    );
}

/// Waits until the thread is gone from the kernel (its ThreadCtx was dropped).
pub fn wait_gone(k: &Kernel, pid: i32, tid: i32) {
    let deadline = Instant::now() + JOIN_DEADLINE;
    while k.thread_info(pid, tid).is_ok() {
        assert!(
            Instant::now() < deadline,
            "thread {pid}/{tid} never left the kernel"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A simulated thread running on its own OS thread, joined with a deadline.
#[derive(Debug)]
pub struct Bg<T> {
    h: Option<JoinHandle<T>>,
    /// The kernel thread id.
    pub tid: i32,
    /// The Linux thread id of the OS thread.
    pub os_tid: i32,
}

impl<T> Bg<T> {
    /// Whether the thread has finished.
    pub fn is_finished(&self) -> bool {
        self.h.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Joins, polling `is_finished` for at most [`JOIN_DEADLINE`]; re-raises its panic.
    pub fn join(mut self) -> T {
        let h = self.h.take().expect("joined once");
        let deadline = Instant::now() + JOIN_DEADLINE;
        while !h.is_finished() {
            if Instant::now() > deadline {
                panic!("thread tid {} did not finish in time", self.tid);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        match h.join() {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e),
        }
    }
}

/// Spawns an OS thread that registers as a kernel thread of `pid` at `prio` (in that thread),
/// runs `f`, then drops its ThreadCtx (thread death). Returns once the thread has registered.
pub fn spawn<T, F>(k: &Kernel, pid: Pid, prio: i16, f: F) -> Bg<T>
where
    T: Send + 'static,
    F: FnOnce(&ThreadCtx) -> T + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let k = k.clone();
    let h = std::thread::spawn(move || {
        let ctx = k.thread_attach(pid, prio).expect("thread_attach");
        tx.send((ctx.tid(), os_tid())).expect("report tid");
        let r = f(&ctx);
        drop(ctx);
        r
    });
    let (tid, os) = rx
        .recv_timeout(JOIN_DEADLINE)
        .expect("spawned thread registered");
    Bg {
        h: Some(h),
        tid,
        os_tid: os,
    }
}

/// The calling OS thread's Linux tid.
pub fn os_tid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// Destroys simulated process `pid` after [`JOIN_DEADLINE`] minus a bit unless dropped first:
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
            let deadline = Instant::now() + JOIN_DEADLINE - Duration::from_secs(2);
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

/// Live timers.
pub fn timers_live(k: &Kernel) -> u32 {
    k.pool_usage().timers.live
}

/// Live objects in every pool, timers last.
pub fn live_all(k: &Kernel) -> [u32; 6] {
    let l = live(k);
    [l[0], l[1], l[2], l[3], l[4], timers_live(k)]
}

/// Destroys the processes and checks every pool (timers included) is back to `start`.
pub fn teardown(k: &Kernel, procs: &[Pid], start: [u32; 6]) {
    for &p in procs {
        k.process_destroy(p).expect("process_destroy");
    }
    assert_eq!(
        live_all(k),
        start,
        "pools (processes, threads, channels, connections, pulses, timers) back to their start"
    );
}

/// The scoid the server sees for client `pid`'s `coid` (from the kernel's snapshot).
pub fn scoid_of(k: &Kernel, pid: i32, coid: i32) -> i32 {
    k.snapshot()
        .connections
        .iter()
        .find(|c| c.pid == pid && c.coid == coid)
        .map(|c| c.scoid)
        .unwrap_or_else(|| panic!("no coid {coid:#x} in pid {pid}"))
}

/// Entries queued on channel `chid` of process `pid` (SEND-blocked threads and pulses).
pub fn queued(k: &Kernel, pid: i32, chid: i32) -> u32 {
    k.snapshot()
        .channels
        .iter()
        .find(|c| c.pid == pid && c.chid == chid)
        .map(|c| c.queued)
        .unwrap_or_else(|| panic!("no chid {chid} in pid {pid}"))
}

/// The current time on `clock` in ns.
pub fn now_ns(clock: i32) -> u64 {
    let id = if clock == CLOCK_REALTIME {
        nix::time::ClockId::CLOCK_REALTIME
    } else {
        nix::time::ClockId::CLOCK_MONOTONIC
    };
    let ts = nix::time::clock_gettime(id).expect("clock_gettime");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// `struct sigevent` as the 32 bytes a client puts in a message.
pub fn event_bytes(ev: &SigEvent) -> [u8; 32] {
    ev.to_bytes()
}

/// The `struct sigevent` a server reads back out of a message.
pub fn event_from_bytes(b: &[u8]) -> SigEvent {
    SigEvent::from_bytes(b).expect("32 bytes of sigevent")
}

// ------------------------------------------------------------------ a server and a client

/// A server process (thread in the test thread, one channel) and a client process (thread in
/// the test thread, one coid to the server's channel).
pub struct Two {
    pub k: Kernel,
    pub start: [u32; 6],
    pub srv: Pid,
    pub cli: Pid,
    pub server: ThreadCtx,
    pub client: ThreadCtx,
    pub chid: i32,
    pub coid: i32,
}

pub fn two_with(cfg: Config, chflags: u32) -> Two {
    let k = Kernel::new(cfg).unwrap();
    let start = live_all(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let client = k.thread_attach(cli, 10).unwrap();
    let chid = server.channel_create(chflags).unwrap();
    let coid = client
        .connect_attach(0, srv.pid, chid, kernel_sim::consts::_NTO_SIDE_CHANNEL, 0)
        .unwrap();
    Two {
        k,
        start,
        srv,
        cli,
        server,
        client,
        chid,
        coid,
    }
}

pub fn two(chflags: u32) -> Two {
    two_with(Config::default(), chflags)
}

impl Two {
    /// A client thread at `prio` that arms `flags` for `ns` and sends on its own coid.
    pub fn sender_with(&self, prio: i16, flags: u32, ns: u64) -> Bg<(KResult<i64>, [u8; 4])> {
        let (srv_pid, chid) = (self.srv.pid, self.chid);
        spawn(&self.k, self.cli, prio, move |c| {
            let coid = c
                .connect_attach(0, srv_pid, chid, kernel_sim::consts::_NTO_SIDE_CHANNEL, 0)
                .unwrap();
            let mut r = [0u8; 4];
            arm(c, flags, Some(ns));
            let st = c.msg_send(coid, b"req", &mut r);
            c.connect_detach(coid).unwrap();
            (st, r)
        })
    }

    /// A client bounded in SEND and REPLY states.
    pub fn sender(&self, prio: i16, ns: u64) -> Bg<(KResult<i64>, [u8; 4])> {
        self.sender_with(prio, SEND_REPLY, ns)
    }

    /// A client whose timeout covers the REPLY state only: its SEND state ends when the
    /// server receives it, however late, so a short timeout cannot expire before that.
    pub fn replier(&self, prio: i16, ns: u64) -> Bg<(KResult<i64>, [u8; 4])> {
        self.sender_with(prio, kernel_sim::consts::_NTO_TIMEOUT_REPLY, ns)
    }

    /// Receives a message: (rcvid, its MsgInfo).
    pub fn take(&self) -> (RcvId, MsgInfo) {
        let mut b = [0u8; 8];
        let mut info = MsgInfo::default();
        let rcvid = receive(&self.server, self.chid, &mut b, Some(&mut info)).unwrap();
        assert!(rcvid > 0, "expected a message");
        (rcvid, info)
    }

    pub fn round_trip(&self) {
        let c = self.sender(10, LONG);
        let (rcvid, _) = self.take();
        self.server.msg_reply(rcvid, 1, b"ok").unwrap();
        assert_eq!(c.join().0, Ok(1));
    }

    /// Ends the world: its threads leave, and `procs` (those not already destroyed) go.
    pub fn finish_with(self, procs: &[Pid]) {
        let Two {
            k,
            start,
            server,
            client,
            ..
        } = self;
        drop(client);
        drop(server);
        teardown(&k, procs, start);
    }

    pub fn finish(self) {
        let Two {
            k,
            start,
            srv,
            cli,
            server,
            client,
            ..
        } = self;
        drop(client);
        drop(server);
        teardown(&k, &[srv, cli], start);
    }
}

// ------------------------------------------------------------------ real Linux signals

/// Per real-time signal (index = signo - SIGRTMIN): deliveries, and the last si_code,
/// si_value.sival_int and handling Linux tid.
const SLOTS: usize = 16;
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_U32: AtomicU32 = AtomicU32::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_I32: AtomicI32 = AtomicI32::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_U64: AtomicU64 = AtomicU64::new(0);
static SIG_COUNT: [AtomicU32; SLOTS] = [ZERO_U32; SLOTS];
static SIG_CODE: [AtomicI32; SLOTS] = [ZERO_I32; SLOTS];
static SIG_VALUE: [AtomicU64; SLOTS] = [ZERO_U64; SLOTS];
static SIG_TID: [AtomicI32; SLOTS] = [ZERO_I32; SLOTS];

/// What the handler recorded for one signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigRecord {
    /// Deliveries so far.
    pub count: u32,
    /// Last `si_code`.
    pub code: i32,
    /// Last `si_value.sival_int`.
    pub value: i32,
    /// Linux tid of the thread that ran the handler last.
    pub tid: i32,
}

extern "C" fn record_signal(signo: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let slot = (signo - libc::SIGRTMIN()) as usize;
    if slot >= SLOTS || info.is_null() {
        return;
    }
    // SAFETY: the kernel hands an SA_SIGINFO handler a valid siginfo_t (128 bytes); on Linux
    // si_code is at offset 8 and the SI_QUEUE si_value at offset 24.
    let (code, value) = unsafe {
        let raw = info as *const u8;
        (
            (raw.add(8) as *const i32).read_unaligned(),
            (raw.add(24) as *const u64).read_unaligned(),
        )
    };
    // SAFETY: gettid is async-signal-safe and takes no arguments.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as i32;
    SIG_CODE[slot].store(code, Ordering::SeqCst);
    SIG_VALUE[slot].store(value, Ordering::SeqCst);
    SIG_TID[slot].store(tid, Ordering::SeqCst);
    SIG_COUNT[slot].fetch_add(1, Ordering::SeqCst);
}

/// Installs the recording SA_SIGINFO handler for real-time signal `SIGRTMIN + n` and returns
/// its number. Each test uses its own `n`, so tests running in parallel do not mix.
pub fn install_rt_handler(n: i32) -> i32 {
    assert!((0..SLOTS as i32).contains(&n));
    let signo = libc::SIGRTMIN() + n;
    assert!(signo <= libc::SIGRTMAX());
    // SAFETY: an all-zero sigaction is a valid starting point; we set the handler, flags and
    // an empty mask before passing it to sigaction, which only reads it.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = record_signal as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(signo, &sa, std::ptr::null_mut()), 0);
    }
    signo
}

/// What the handler recorded for `signo`.
pub fn sig_record(signo: i32) -> SigRecord {
    let slot = (signo - libc::SIGRTMIN()) as usize;
    SigRecord {
        count: SIG_COUNT[slot].load(Ordering::SeqCst),
        code: SIG_CODE[slot].load(Ordering::SeqCst),
        value: SIG_VALUE[slot].load(Ordering::SeqCst) as u32 as i32,
        tid: SIG_TID[slot].load(Ordering::SeqCst),
    }
}

/// Waits (bounded) until `signo` has been delivered at least `n` times.
pub fn wait_signal(signo: i32, n: u32) -> SigRecord {
    let deadline = Instant::now() + JOIN_DEADLINE;
    loop {
        let r = sig_record(signo);
        if r.count >= n {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "signal {signo} not delivered: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
