//! Cases between two Linux processes: the `xproc-*` placements of [`super::workloads`].
//!
//! The measuring program is one side (the round trips' client, the one-way consumer); the
//! other side is the same program re-run as a *peer* (`PROGRAM --xproc-peer ROLE ...`): every
//! program that runs these cases calls [`run_peer_if_asked`] first thing in `main`. The two
//! processes share what the model shares, in files of a fresh directory (on `/dev/shm` when
//! there is one) that the measuring side makes and removes as soon as the peer has mapped or
//! opened them:
//!
//! * SRR round trips ([`srr_round_trip`]): one kernel in a memory file
//!   (`Kernel::create_shared`, `Kernel::open_shared`), each program a process whose pid is its
//!   Linux pid; MsgSend / MsgReceive / MsgReply as between threads.
//! * futex and spin-then-futex ping-pongs ([`mailbox_round_trip`]): two mailboxes in a shared
//!   file mapping, process-shared futexes; the same protocol as the baselines between threads.
//! * pipe ping-pong ([`pipe_round_trip`]): two named pipes.
//! * asyncmsg one-way ([`asyncmsg_one_way`]): a kernel in a memory file, the producer's queue
//!   in its region, the consumer taking batches that the kernel copies from the region
//!   (messages up to 128 bytes from the slots' inline areas, longer ones from the producer's
//!   send buffers there: no system call).
//! * the SPSC rings ([`ring_one_way`]): the baselines' ring in a shared file mapping.
//!
//! The two sides mark their phases by lines on the peer's stdin and stdout instead of barriers
//! ([`Marks`]): the peer says `ready` when set up, a one-way producer says `warm` after its
//! warm-up and waits for `go`, and every peer ends with a `done` line carrying its own context
//! switches and CPU time over its timed part (and a round-trip server its count of bad
//! requests, an asyncmsg producer its connection's counters), then waits for its stdin to
//! close. A run's context switches and CPU time are both processes'.
//!
//! Nothing is left behind: the peer is killed and reaped when its handle drops (a panic
//! included), dies with the thread that started it (`PR_SET_PDEATHSIG`), and a watchdog ends
//! the whole program (killing the peer, removing the files) if a run outlasts its deadline or
//! the peer dies before the run is done, so that no wait for a dead peer lasts for ever. On
//! SIGTERM, SIGINT or SIGHUP the program kills its peers, removes the run files that still have
//! names and exits with status 128 + the signal's number ([`signals`]).

mod mailboxes;
mod peer;
mod process;
mod signals;

pub use process::{Peer, RunFiles};

use super::baselines::{
    client_round_trips, queue_depth, ring_consume, ConnFigures, ConsumerEnd, KernelFigures, OneWay,
    Ring, RoundTrip, Sample,
};
use super::workloads::{asyncmsg_consume, PRIO};
use crate::harness::{pin_current_thread, Marks, Usage};
use mailboxes::{SharedMailboxes, TO_CLIENT, TO_SERVER};
use process::Report;
use std::cell::RefCell;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use userlib::asyncmsg;
use userlib::consts::_NTO_SIDE_CHANNEL;
use userlib::{qnx, Config, Kernel, Pid, ProcCounters};

/// The first argument that makes a program a peer ([`run_peer_if_asked`]).
pub const PEER_ARG: &str = "--xproc-peer";

/// How long a run may take at least before the watchdog ends the program; a run of `n`
/// messages gets [`PER_MSG_ALLOWANCE`] more per message.
pub const MIN_DEADLINE: Duration = Duration::from_secs(60);

/// What a run's deadline grows by per message: about four times the slowest hand-off measured
/// here (a futex round trip across CPUs, 58 µs).
pub const PER_MSG_ALLOWANCE: Duration = Duration::from_micros(250);

/// The deadline of a run of `msgs` messages (round trips), warm-up included.
pub fn deadline(msgs: u64) -> Duration {
    MIN_DEADLINE + PER_MSG_ALLOWANCE.saturating_mul(u32::try_from(msgs).unwrap_or(u32::MAX))
}

/// `CLOCK_MONOTONIC` in nanoseconds: `Instant`'s clock, which the two processes share, so a
/// peer stamps its messages against the measuring side's epoch.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The measuring side's marks. At the start: for a one-way run, waits for the peer's `warm`;
/// takes its snapshots (the model's, then the process's usage, then the time); for a one-way
/// run tells the peer `go`. At the finish: takes them again.
struct MainMarks<'a, K> {
    peer: RefCell<&'a mut Peer>,
    one_way: bool,
    snapshot: &'a dyn Fn() -> K,
    at_start: RefCell<Option<(K, Usage, Instant)>>,
    at_finish: RefCell<Option<(Usage, K)>>,
}

impl<'a, K> MainMarks<'a, K> {
    fn new(peer: &'a mut Peer, one_way: bool, snapshot: &'a dyn Fn() -> K) -> Self {
        MainMarks {
            peer: RefCell::new(peer),
            one_way,
            snapshot,
            at_start: RefCell::new(None),
            at_finish: RefCell::new(None),
        }
    }

    /// (snapshot at the start, at the finish, this process's usage in between, the start).
    fn taken(self) -> (K, K, Usage, Instant) {
        let (k0, u0, start) = self.at_start.into_inner().expect("the start mark");
        let (u1, k1) = self.at_finish.into_inner().expect("the finish mark");
        (k0, k1, u1.since(u0), start)
    }
}

impl<K> Marks for MainMarks<'_, K> {
    fn start(&self) {
        let mut peer = self.peer.borrow_mut();
        if self.one_way {
            peer.expect("warm");
        }
        let k = (self.snapshot)();
        let u = Usage::now();
        let t = Instant::now();
        *self.at_start.borrow_mut() = Some((k, u, t));
        if self.one_way {
            peer.tell("go");
        }
    }

    fn finish(&self) {
        let u = Usage::now();
        let k = (self.snapshot)();
        *self.at_finish.borrow_mut() = Some((u, k));
    }
}

/// Runs `f` on a thread of its own (so that pinning it leaves the caller's affinity alone);
/// a panic in it is the caller's.
fn on_own_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

fn pin(cpu: Option<usize>) {
    if let Some(c) = cpu {
        pin_current_thread(c).expect("pinning the measuring thread");
    }
}

/// A kernel shared through a memory file in `files`, with this program's own process in it
/// and the calling thread bound to it.
fn shared_kernel(files: &RunFiles) -> (Kernel, Pid, PathBuf) {
    let path = files.path("kernel");
    let k = Kernel::create_shared(&path, Config::default())
        .unwrap_or_else(|e| panic!("a shared kernel at {}: {e}", path.display()));
    let me = k.process_attach_self().expect("joining the shared kernel");
    bind(&k, me);
    (k, me, path)
}

pub(super) fn bind(k: &Kernel, me: Pid) {
    let ctx = k.thread_attach(me, PRIO).expect("a kernel thread");
    drop(userlib::current::bind(ctx));
}

/// Unbinds the calling thread and ends this program's process in `k`.
pub(super) fn leave(k: &Kernel, me: Pid) {
    drop(userlib::current::unbind());
    let _ = k.process_destroy(me);
}

/// Both processes' counters and the kernel's entries.
type Counters = (Option<ProcCounters>, Option<ProcCounters>, u64);

fn counters(k: &Kernel, producer: i32, consumer: i32) -> Counters {
    (
        k.process_counters(producer).ok(),
        k.process_counters(consumer).ok(),
        k.kernel_entries(),
    )
}

fn kernel_figures(a: Counters, b: Counters, conn: Option<ConnFigures>) -> Option<KernelFigures> {
    let ((Some(p0), Some(c0), k0), (Some(p1), Some(c1), k1)) = (a, b) else {
        return None;
    };
    Some(KernelFigures {
        producer: p1.since(&p0),
        consumer: c1.since(&c0),
        kernel_entries: k1.saturating_sub(k0),
        conn,
    })
}

// ----------------------------------------------------------------------------- round trips

/// A round trip's client, on this side: the warm-up, then the timed round trips (each
/// recorded) between the marks; then the peer's report. `trip` makes one round trip.
fn client_side<K>(
    rt: &RoundTrip,
    peer: &mut Peer,
    snapshot: &dyn Fn() -> K,
    trip: impl FnMut(&[u8], &mut [u8]),
) -> (Sample, K, K, Report) {
    let marks = MainMarks::new(peer, false, snapshot);
    let (hist, elapsed, ok) = client_round_trips(&marks, rt, trip);
    let (k0, k1, usage, _) = marks.taken();
    let report = Report::read(peer);
    let sample = Sample {
        sent: rt.n,
        received: ok.saturating_sub(report.bad),
        elapsed,
        latency: hist,
        usage: usage.plus(report.usage),
        kernel: None,
        receives: None,
    };
    (sample, k0, k1, report)
}

fn rt_args(rt: &RoundTrip) -> Vec<String> {
    vec![
        rt.msg_size.to_string(),
        rt.warmup.to_string(),
        rt.n.to_string(),
    ]
}

/// SRR round trips between two processes on one kernel shared through a memory file: this
/// process's thread MsgSends `msg_size` bytes to the peer's server thread, which receives,
/// checks and replies as many.
pub fn srr_round_trip(rt: &RoundTrip) -> Sample {
    let (server_cpu, client_cpu) = cpus(rt.placement);
    on_own_thread(|| {
        let files = RunFiles::new();
        let (k, me, path) = shared_kernel(&files);
        let mut args = vec![path.display().to_string()];
        args.extend(rt_args(rt));
        let mut peer = Peer::start(
            "srr-server",
            &args,
            server_cpu,
            deadline(rt.warmup + rt.n),
            &files,
        );
        pin(client_cpu);
        let w = peer.expect("ready");
        files.remove();
        let (pid, chid) = (num::<i32>(&w, 0), num::<i32>(&w, 1));
        let coid = qnx::connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0)
            .expect("ConnectAttach to the peer's channel");
        let snap = || counters(&k, me.pid, pid);
        let (mut s, k0, k1, _) = client_side(rt, &mut peer, &snap, |req, reply| {
            qnx::msg_send(coid, req, reply).expect("MsgSend");
        });
        s.kernel = kernel_figures(k0, k1, None);
        peer.finish();
        let _ = qnx::connect_detach(coid);
        leave(&k, me);
        s
    })
}

/// The futex ping-pong between two processes (`spin`: the spin-then-futex one, spinning up to
/// `spin`): two mailboxes in a shared file mapping, the peer serving.
pub fn mailbox_round_trip(rt: &RoundTrip, spin: Option<Duration>) -> Sample {
    let (server_cpu, client_cpu) = cpus(rt.placement);
    on_own_thread(|| {
        let files = RunFiles::new();
        let path = files.path("mailboxes");
        let sh = SharedMailboxes::map(&path, rt.msg_size, spin, true);
        let mut args = vec![
            path.display().to_string(),
            spin.map_or(0, |d| d.as_nanos() as u64).to_string(),
        ];
        args.extend(rt_args(rt));
        let mut peer = Peer::start(
            "mailbox-server",
            &args,
            server_cpu,
            deadline(rt.warmup + rt.n),
            &files,
        );
        pin(client_cpu);
        peer.expect("ready");
        files.remove();
        let mut seen = 0u32;
        let (s, ..) = client_side(rt, &mut peer, &|| (), |req, reply| {
            sh.post(TO_SERVER, req);
            seen = sh.take(TO_CLIENT, seen, reply);
        });
        peer.finish();
        s
    })
}

/// The pipe ping-pong between two processes: two named pipes, blocking `write` and `read` of
/// `msg_size` bytes each way.
pub fn pipe_round_trip(rt: &RoundTrip) -> Sample {
    let (server_cpu, client_cpu) = cpus(rt.placement);
    on_own_thread(|| {
        let files = RunFiles::new();
        let (up, down) = (files.path("to-server"), files.path("to-client"));
        for p in [&up, &down] {
            nix::unistd::mkfifo(p.as_path(), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        }
        let mut args = vec![up.display().to_string(), down.display().to_string()];
        args.extend(rt_args(rt));
        let mut peer = Peer::start(
            "pipe-server",
            &args,
            server_cpu,
            deadline(rt.warmup + rt.n),
            &files,
        );
        // Opening a FIFO waits for its other end: the peer opens them in the same order.
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(&up)
            .expect("the pipe to the server");
        let mut r = std::fs::File::open(&down).expect("the pipe to the client");
        pin(client_cpu);
        peer.expect("ready");
        files.remove();
        let (s, ..) = client_side(rt, &mut peer, &|| (), |req, reply| {
            w.write_all(req).expect("write");
            r.read_exact(reply).expect("read");
        });
        peer.finish();
        s
    })
}

/// (the consumer's or server's CPU, the producer's or client's), if pinned.
fn cpus(p: crate::harness::Placement) -> (Option<usize>, Option<usize>) {
    match p.cpus() {
        Some((c, p)) => (Some(c), Some(p)),
        None => (None, None),
    }
}

fn num<T: std::str::FromStr>(w: &[String], i: usize) -> T {
    w.get(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("word {i} of {w:?} is not a number"))
}

// ----------------------------------------------------------------------------- one-way

/// What a one-way peer needs of the run: its shape, and the consumer's epoch on the shared
/// clock ([`mono_ns`]) for its stamps.
fn one_way_args(w: &OneWay, epoch_mono: u64) -> Vec<String> {
    vec![
        w.msg_size.to_string(),
        w.warmup.to_string(),
        w.per_producer.to_string(),
        epoch_mono.to_string(),
    ]
}

/// The consuming side of a one-way run: `consume(marks)` until every message is checked, then
/// the peer's report.
fn consumer_side<K>(
    w: &OneWay,
    peer: &mut Peer,
    snapshot: &dyn Fn() -> K,
    consume: impl FnOnce(&MainMarks<'_, K>) -> ConsumerEnd,
) -> (Sample, K, K, Report) {
    let marks = MainMarks::new(peer, true, snapshot);
    let end = consume(&marks);
    let (k0, k1, usage, start) = marks.taken();
    let report = Report::read(peer);
    let sample = Sample {
        sent: w.timed(),
        received: end.checker.timed_ok(),
        elapsed: end.end.saturating_duration_since(start),
        latency: end.checker.hist,
        usage: usage.plus(report.usage),
        kernel: None,
        receives: end.receives,
    };
    (sample, k0, k1, report)
}

fn check_one_way(w: &OneWay) {
    w.check();
    assert_eq!(w.producers, 1, "between processes: one producer");
    assert!(w.pace.is_none(), "between processes: not paced");
}

/// asyncmsg one-way between two processes on one kernel shared through a memory file: the
/// peer's producer thread puts `msg_size`-byte messages on a connection (`trigger_num_msg` =
/// `batch`, `trigger_time`, the send queue in the kernel's region) to this process's asyncmsg
/// channel, and this side takes them with `asyncmsg_get`, as between threads
/// ([`super::workloads::asyncmsg_one_way`]).
pub fn asyncmsg_one_way(w: &OneWay, batch: u32, trigger_time: Duration) -> Sample {
    check_one_way(w);
    let (consumer_cpu, producer_cpu) = cpus(w.placement);
    on_own_thread(|| {
        let files = RunFiles::new();
        let (k, me, path) = shared_kernel(&files);
        let chid = asyncmsg::asyncmsg_channel_create(
            0,
            0o600,
            w.msg_size,
            super::workloads::GET_MAX,
            None,
            None,
        )
        .expect("asyncmsg_channel_create");
        let epoch = Instant::now();
        let epoch_mono = mono_ns();
        let mut args = vec![
            path.display().to_string(),
            me.pid.to_string(),
            chid.to_string(),
            batch.to_string(),
            trigger_time.as_nanos().to_string(),
        ];
        args.extend(one_way_args(w, epoch_mono));
        let mut peer = Peer::start(
            "asyncmsg-producer",
            &args,
            producer_cpu,
            deadline(w.warmup + w.per_producer),
            &files,
        );
        pin(consumer_cpu);
        peer.expect("ready");
        files.remove();
        let producer = peer.pid();
        let snap = || counters(&k, producer, me.pid);
        let (mut s, k0, k1, report) =
            consumer_side(w, &mut peer, &snap, |m| asyncmsg_consume(w, chid, m, epoch));
        s.kernel = kernel_figures(k0, k1, report.conn);
        peer.finish();
        let _ = asyncmsg::asyncmsg_channel_destroy(chid);
        leave(&k, me);
        s
    })
}

/// The SPSC ring between two processes: the baselines' ring ([`Ring`], [`queue_depth`] slots)
/// in a shared file mapping, the peer producing and publishing its tail every `publish_every`
/// messages (1: `spsc-ring`; `ring_batch`: `spsc-batch`), this side consuming.
pub fn ring_one_way(w: &OneWay, publish_every: u64) -> Sample {
    check_one_way(w);
    let (consumer_cpu, producer_cpu) = cpus(w.placement);
    on_own_thread(|| {
        let files = RunFiles::new();
        let path = files.path("ring");
        let slots = queue_depth(w.msg_size) as u64;
        let ring = Ring::create_file(&path, slots, w.msg_size);
        let epoch = Instant::now();
        let epoch_mono = mono_ns();
        let mut args = vec![
            path.display().to_string(),
            slots.to_string(),
            publish_every.to_string(),
        ];
        args.extend(one_way_args(w, epoch_mono));
        let mut peer = Peer::start(
            "ring-producer",
            &args,
            producer_cpu,
            deadline(w.warmup + w.per_producer),
            &files,
        );
        pin(consumer_cpu);
        peer.expect("ready");
        files.remove();
        let (s, ..) = consumer_side(w, &mut peer, &|| (), |m| ring_consume(&ring, w, m, epoch));
        peer.finish();
        s
    })
}

// ----------------------------------------------------------------------------- the peer side

/// If this program was started as a peer ([`PEER_ARG`] first), plays its part and exits: 0
/// when done, 2 on arguments it cannot use (with a message on stderr); a failure inside the
/// part panics (status 101). Otherwise returns at once. Call it first thing in `main`.
pub fn run_peer_if_asked() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some(PEER_ARG) {
        return;
    }
    let code = match peer::peer_main(&args[1..]) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{PEER_ARG}: {e}");
            2
        }
    };
    std::process::exit(code)
}
