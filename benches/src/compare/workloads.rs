//! The simulated kernel's models on each workload, and the plan that runs every model.
//!
//! Models (each run on a fresh `Kernel`, sender and receiver in two simulated processes):
//!
//! * [`srr_round_trip`]: `MsgSend` of `msg_size` bytes with a `msg_size`-byte reply; the server
//!   `MsgReceive`s, checks and `MsgReply`s.
//! * [`srr_one_way`]: P client threads, each with its own connection, `MsgSend` `msg_size`
//!   bytes with a zero-byte reply to one server thread (`MsgReceive`, `MsgReply` of nothing).
//! * [`asyncmsg_one_way`]: P producer threads, each with its own asyncmsg connection
//!   (`trigger_num_msg` = the batch, optionally a time trigger) to one asyncmsg channel, put
//!   buffers from `asyncmsg_malloc`, then `asyncmsg_flush`; one consumer loops on
//!   `asyncmsg_get` (up to [`GET_MAX`] messages per call).
//!
//! Kernel figures are the processes' counter deltas over the timed part (`Process::counters`,
//! the asyncmsg library threads included: a library thread belongs to its process) and the
//! kernel-wide entry count's; asyncmsg runs add their connections' library counters
//! (`asyncmsg_connection_stats`) and their consumer's batch count.
//!
//! [`Model`] and [`Case`] are the one description of what a run measures, for `compare` and
//! for the focused benchmarks (`srr_roundtrip`, `async_throughput`, `roundtrip_profile`),
//! which run cases with [`Case::run`] and report their own way.
//!
//! The [`Plan`] lists [`Case`]s (model x workload x size x producers x placement);
//! [`run_plan`] runs every case `runs` times, interleaved (run 1 of every case, then run 2, ...)
//! so slow drift hits every model alike, and reports the medians as [`Record`]s. Message counts
//! are calibrated by a short pilot run of each case, so each timed run lasts about
//! [`Plan::run_s`] whatever the model's speed.

use super::baselines::{
    client_round_trips, crossbeam_one_way, fill, futex_round_trip, one_way_sample, pipe_round_trip,
    ring_batch, round_trip_sample, spin_budget, spin_futex_round_trip, spsc_batch_one_way,
    spsc_ring_one_way, summarise, unix_socket_round_trip, ConnFigures, ConsumerEnd, KernelFigures,
    LazyNow, OneWay, RoundTrip, Sample, ServerCheck, MIN_ONE_WAY_SIZE, RING_BATCH, SPIN_CHECK,
    STAMP_EVERY,
};
use super::record::{Record, Workload};
use super::xproc;
use crate::harness::{run_threads, Marks, Phases, Placement, Threads};
use crossbeam_channel::{Receiver, Sender};
use std::time::{Duration, Instant};
use userlib::asyncmsg::{self, AsyncConnAttr, AsyncConnStats};
use userlib::consts::_NTO_SIDE_CHANNEL;
use userlib::{qnx, Process};
use userlib::{Config, Kernel, MsgInfo, ProcCounters};

/// The simulated priority of every measuring thread.
pub const PRIO: i16 = 10;

/// The asyncmsg channel's `max_num_buffer`: messages an `asyncmsg_get` takes at most.
pub const GET_MAX: u32 = 256;

/// Message sizes of the full sweep.
pub const SIZES: [usize; 7] = [16, 64, 256, 1024, 4096, 16384, 65536];

/// asyncmsg batches (`trigger_num_msg`) of the full sweep.
pub const BATCHES: [u32; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/// asyncmsg batches between processes in the full sweep.
pub const BATCHES_XPROC: [u32; 4] = [1, 8, 64, 256];

/// Producer counts of the full sweep.
pub const PRODUCERS: [u32; 5] = [1, 2, 4, 8, 16];

/// The paced workload's rate, messages per second.
pub const PACED_RATE: f64 = 20_000.0;

/// The time trigger of the `asyncmsg+1ms` model.
pub const TIME_TRIGGER: Duration = Duration::from_millis(1);

// ----------------------------------------------------------------------------- the models

/// Snapshot of the (producer, consumer) processes' counters and the kernel's entry count.
type Counters = (Option<ProcCounters>, Option<ProcCounters>, u64);

fn counters(k: &Kernel, producer: &Process, consumer: &Process) -> Counters {
    (
        producer.counters().ok(),
        consumer.counters().ok(),
        k.kernel_entries(),
    )
}

/// `b - a` for a connection's asyncmsg library counters.
pub fn conn_stats_delta(a: &AsyncConnStats, b: &AsyncConnStats) -> ConnFigures {
    let d = |x: u64, y: u64| y.saturating_sub(x);
    ConnFigures {
        msgs_put: d(a.msgs_put, b.msgs_put),
        kernel_entries: d(a.kernel_entries, b.kernel_entries),
        triggers: d(a.triggers, b.triggers),
        batches: d(a.batches, b.batches),
        msgs_taken: d(a.msgs_taken, b.msgs_taken),
        callbacks: d(a.callbacks, b.callbacks),
    }
}

/// The kernel figures of a run from its snapshots, with its connections' counters if any.
fn kernel_figures(
    before: Counters,
    after: Counters,
    conn: Option<ConnFigures>,
) -> Option<KernelFigures> {
    let ((Some(p0), Some(c0), k0), (Some(p1), Some(c1), k1)) = (before, after) else {
        return None;
    };
    Some(KernelFigures {
        producer: p1.since(&p0),
        consumer: c1.since(&c0),
        kernel_entries: k1.saturating_sub(k0),
        conn,
    })
}

/// A fresh kernel with a producer (client) and a consumer (server) process.
fn kernel_and_processes() -> (Kernel, Process, Process) {
    let k = Kernel::new(Config::default()).expect("Kernel::new");
    let consumer = Process::new_in(&k).expect("consumer process");
    let producer = Process::new_in(&k).expect("producer process");
    (k, producer, consumer)
}

/// The SRR server's start: binds the calling thread to `server`, creates a channel and hands
/// its id to each of `clients` client threads.
fn srr_channel(server: &Process, clients: u32, chid_tx: &Sender<i32>) -> i32 {
    server
        .bind_current_thread(PRIO)
        .expect("binding the server");
    let chid = qnx::channel_create(0).expect("ChannelCreate");
    for _ in 0..clients {
        chid_tx.send(chid).expect("handing the chid over");
    }
    chid
}

/// An SRR client's start: binds the calling thread to `client` and connects it to the server's
/// channel once [`srr_channel`] hands the id over.
fn srr_connect(client: &Process, server: &Process, chid_rx: &Receiver<i32>) -> i32 {
    client.bind_current_thread(PRIO).expect("binding a client");
    let chid = chid_rx.recv().expect("receiving the chid");
    qnx::connect_attach(0, server.pid(), chid, _NTO_SIDE_CHANNEL, 0).expect("ConnectAttach")
}

/// SRR round trips: `msg_size` bytes each way between a client process's thread and a server
/// process's thread.
pub fn srr_round_trip(rt: &RoundTrip) -> Sample {
    let (k, client, server) = kernel_and_processes();
    srr_round_trip_on(rt, (&k, &client, &server))
}

/// [`srr_round_trip`] between `client` and `server`, processes of the kernel `k` (the traced
/// run's: [`super::traced`]).
pub fn srr_round_trip_on(
    rt: &RoundTrip,
    (k, client, server): (&Kernel, &Process, &Process),
) -> Sample {
    let (chid_tx, chid_rx) = crossbeam_channel::bounded::<i32>(1);
    let total = rt.warmup + rt.n;
    let t = run_kernel_threads(
        rt.placement,
        1,
        (k, client, server),
        |ph| {
            let chid = srr_channel(server, 1, &chid_tx);
            let bad = srr_serve(chid, rt.msg_size, rt.warmup, total, || ph.start());
            ph.finish();
            drop(userlib::current::unbind());
            bad
        },
        |_, ph| {
            let coid = srr_connect(client, server, &chid_rx);
            let r = client_round_trips(ph, rt, |req, reply| {
                qnx::msg_send(coid, req, reply).expect("MsgSend");
            });
            drop(userlib::current::unbind());
            r
        },
    );
    let kernel = kernel_figures(t.before, t.after, None);
    round_trip_sample(rt, strip(t), kernel)
}

/// An SRR server's round trips on `chid`: `total` times MsgReceive (checking the request's
/// length and number) and MsgReply of `msg_size` bytes; `start()` is called before the
/// request numbered `warmup` is received (or after the last, if there are no more). Returns
/// the bad requests of the timed part. Between threads and between processes alike.
pub fn srr_serve(
    chid: i32,
    msg_size: usize,
    warmup: u64,
    total: u64,
    mut start: impl FnMut(),
) -> u64 {
    let mut chk = ServerCheck::new(warmup);
    let mut req = vec![0u8; msg_size];
    let mut reply = vec![0xa5u8; msg_size];
    let mut info = MsgInfo::default();
    for i in 0..total {
        if i == warmup {
            start();
        }
        let rcvid = qnx::msg_receive(chid, &mut req, Some(&mut info)).expect("MsgReceive");
        let len_ok = rcvid > 0 && info.srcmsglen == msg_size as i64;
        chk.check(&req, len_ok, &mut reply);
        qnx::msg_reply(rcvid, 0, &reply).expect("MsgReply");
    }
    if total <= warmup {
        start();
    }
    chk.bad_timed
}

/// [`run_threads`] with the kernel's and the two processes' counters as the snapshot.
fn run_kernel_threads<C: Send, P: Send>(
    placement: Placement,
    producers: u32,
    (k, producer_proc, consumer_proc): (&Kernel, &Process, &Process),
    consumer: impl FnOnce(&Phases) -> C + Send,
    producer: impl Fn(u32, &Phases) -> P + Sync,
) -> Threads<Counters, C, P> {
    run_threads(
        placement,
        producers,
        || counters(k, producer_proc, consumer_proc),
        consumer,
        producer,
    )
}

/// The threads' results without the (already used) snapshots.
fn strip<C, P>(t: Threads<Counters, C, P>) -> Threads<(), C, P> {
    Threads {
        consumer: t.consumer,
        producers: t.producers,
        start: t.start,
        usage: t.usage,
        before: (),
        after: (),
    }
}

/// SRR one-way: P client threads (one connection each) `MsgSend` `msg_size` bytes with a
/// zero-byte reply; one server thread receives, checks and replies with nothing.
pub fn srr_one_way(w: &OneWay) -> Sample {
    assert!(w.msg_size >= MIN_ONE_WAY_SIZE);
    let (k, client, server) = kernel_and_processes();
    let (chid_tx, chid_rx) = crossbeam_channel::bounded::<i32>(w.producers as usize);
    let epoch = Instant::now();
    let t = run_kernel_threads(
        w.placement,
        w.producers,
        (&k, &client, &server),
        |ph| {
            let chid = srr_channel(&server, w.producers, &chid_tx);
            let mut buf = vec![0u8; w.msg_size];
            let mut info = MsgInfo::default();
            let end = w.consume(ph, |chk| {
                let rcvid = qnx::msg_receive(chid, &mut buf, Some(&mut info)).expect("MsgReceive");
                let ok = rcvid > 0 && info.srcmsglen == w.msg_size as i64;
                chk.check(ok.then_some(&buf[..]), &mut LazyNow::new(epoch));
                qnx::msg_reply(rcvid, 0, &[]).expect("MsgReply");
            });
            drop(userlib::current::unbind());
            end
        },
        |i, ph| {
            let coid = srr_connect(&client, &server, &chid_rx);
            let mut buf = vec![0x5au8; w.msg_size];
            let send = |seq: u64| {
                fill(&mut buf, i, seq, w.stamp(seq, epoch));
                qnx::msg_send(coid, &buf, &mut []).expect("MsgSend");
            };
            w.produce(ph, send, |_| {});
            drop(userlib::current::unbind());
        },
    );
    let kernel = kernel_figures(t.before, t.after, None);
    one_way_sample(w, strip(t), kernel)
}

/// asyncmsg one-way: P producer threads of one process, each with its own connection
/// (`trigger_num_msg` = `batch`, `trigger_time` = `trigger_time`, zero for off; a send queue
/// of [`asyncmsg_queue`] slots) to one channel (`buffer_size` = `msg_size`, [`GET_MAX`]
/// messages per get) of the consumer process. Producers put `asyncmsg_malloc` buffers and
/// flush after the warm-up and after the timed part (the flush waits until the consumer has
/// taken everything); the consumer loops on `asyncmsg_get`, reading the clock once per batch,
/// and counts the gets that returned a batch in the timed part ([`Sample::receives`]). Each
/// producer reads its connection's library counters after the warm-up's flush and after the
/// timed part, outside the timed window.
pub fn asyncmsg_one_way(w: &OneWay, batch: u32, trigger_time: Duration) -> Sample {
    assert!(w.msg_size >= MIN_ONE_WAY_SIZE);
    let (k, prod, cons) = kernel_and_processes();
    asyncmsg_one_way_on(w, batch, trigger_time, (&k, &prod, &cons))
}

/// [`asyncmsg_one_way`] from `prod` to `cons`, processes of the kernel `k` (the traced run's:
/// [`super::traced`]).
pub fn asyncmsg_one_way_on(
    w: &OneWay,
    batch: u32,
    trigger_time: Duration,
    (k, prod, cons): (&Kernel, &Process, &Process),
) -> Sample {
    assert!(w.msg_size >= MIN_ONE_WAY_SIZE);
    let queue = asyncmsg_queue(w.msg_size, batch);
    let (chid_tx, chid_rx) = crossbeam_channel::bounded::<i32>(w.producers as usize);
    let epoch = Instant::now();
    let t = run_kernel_threads(
        w.placement,
        w.producers,
        (k, prod, cons),
        |ph| {
            cons.bind_current_thread(PRIO)
                .expect("binding the consumer");
            let chid = asyncmsg::asyncmsg_channel_create(0, 0o600, w.msg_size, GET_MAX, None, None)
                .expect("asyncmsg_channel_create");
            for _ in 0..w.producers {
                chid_tx.send(chid).expect("handing the chid over");
            }
            let end = asyncmsg_consume(w, chid, ph, epoch);
            drop(userlib::current::unbind());
            end
        },
        |i, ph| {
            prod.bind_current_thread(PRIO).expect("binding a producer");
            let chid = chid_rx.recv().expect("receiving the chid");
            let attr = AsyncConnAttr {
                trigger_num_msg: batch,
                trigger_time,
                max_num_buffer: queue,
                buffer_size: w.msg_size,
                ..AsyncConnAttr::default()
            };
            let coid =
                asyncmsg::asyncmsg_connect_attach(0, cons.pid(), chid, _NTO_SIDE_CHANNEL, 0, &attr)
                    .expect("asyncmsg_connect_attach");
            let conn = asyncmsg_produce(w, i, coid, ph, |seq| w.stamp(seq, epoch));
            asyncmsg::asyncmsg_connect_detach(coid).expect("asyncmsg_connect_detach");
            drop(userlib::current::unbind());
            conn
        },
    );
    let conn = t
        .producers
        .iter()
        .flatten()
        .fold(ConnFigures::default(), |a, c| ConnFigures {
            msgs_put: a.msgs_put + c.msgs_put,
            kernel_entries: a.kernel_entries + c.kernel_entries,
            triggers: a.triggers + c.triggers,
            batches: a.batches + c.batches,
            msgs_taken: a.msgs_taken + c.msgs_taken,
            callbacks: a.callbacks + c.callbacks,
        });
    let kernel = kernel_figures(t.before, t.after, Some(conn));
    one_way_sample(w, strip(t), kernel)
}

/// An asyncmsg consumer's part, the calling thread bound to the channel's process: loops on
/// `asyncmsg_get(chid)` (reading the clock once per batch, for latencies against `epoch`) until
/// every message is checked, and counts the gets that returned a batch in the timed part
/// ([`ConsumerEnd::receives`]). Between threads and between processes alike.
pub fn asyncmsg_consume(w: &OneWay, chid: i32, ph: &impl Marks, epoch: Instant) -> ConsumerEnd {
    let warm = w.warmup * u64::from(w.producers);
    let mut gets = 0u64;
    let mut end = w.consume(ph, |chk| {
        let b = asyncmsg::asyncmsg_get(chid).expect("asyncmsg_get");
        if chk.got >= warm && !b.is_empty() {
            gets += 1;
        }
        let mut now = LazyNow::new(epoch);
        for m in b.iter() {
            chk.check((m.err == 0).then_some(m.data), &mut now);
        }
    });
    end.receives = Some(gets);
    end
}

/// Producer `i`'s part on its asyncmsg connection `coid`: puts `asyncmsg_malloc` buffers
/// (message `seq` stamped `stamp(seq)`), flushing after the warm-up and after the timed part
/// (the flush waits until the consumer has taken everything); returns its connection's
/// library counters over the timed part, read outside the timed window. Between threads and
/// between processes alike.
pub fn asyncmsg_produce(
    w: &OneWay,
    i: u32,
    coid: i32,
    ph: &impl Marks,
    stamp: impl Fn(u64) -> u64,
) -> Option<ConnFigures> {
    let put = |seq: u64| {
        let mut buf = asyncmsg::asyncmsg_malloc(w.msg_size).expect("asyncmsg_malloc");
        fill(&mut buf, i, seq, stamp(seq));
        asyncmsg::asyncmsg_put(coid, buf, 0, None)
            .map_err(|e| e.errno)
            .expect("asyncmsg_put");
    };
    let stats = || asyncmsg::asyncmsg_connection_stats(coid).expect("connection stats");
    let mut before = None;
    let flush = |timed: bool| {
        let what = if timed {
            "asyncmsg_flush"
        } else {
            "asyncmsg_flush (warm-up)"
        };
        asyncmsg::asyncmsg_flush(coid, 0).expect(what);
        if !timed {
            before = Some(stats());
        }
    };
    w.produce(ph, put, flush);
    before.map(|b| conn_stats_delta(&b, &stats()))
}

/// Send-queue slots of an asyncmsg connection: [`super::baselines::queue_depth`] (the
/// crossbeam channel's and the ring's depth too), and more than the batch (a queue that fills
/// before its count trigger would wait for ever).
pub fn asyncmsg_queue(msg_size: usize, batch: u32) -> u32 {
    (super::baselines::queue_depth(msg_size) as u32).max(2 * batch.max(1))
}

// ----------------------------------------------------------------------------- cases

/// A mechanism, as the plan knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Model {
    /// MsgSend / MsgReceive / MsgReply.
    Srr,
    /// asyncmsg with this count trigger and time trigger (zero: off).
    Asyncmsg {
        /// `trigger_num_msg`.
        batch: u32,
        /// `trigger_time`.
        trigger_time: Duration,
    },
    /// Futex ping-pong.
    Futex,
    /// Spin-then-futex ping-pong (spins up to the kernel's default spin budget).
    SpinFutex,
    /// Pipe ping-pong.
    Pipe,
    /// Unix-socket ping-pong.
    UnixSocket,
    /// crossbeam-channel, bounded.
    Crossbeam,
    /// SPSC ring in shared memory, the tail published at every message.
    SpscRing,
    /// The same ring, the tail published once per batch ([`ring_batch`]).
    SpscBatch,
}

/// The mechanisms every plan measures, as [`Model::name`] (and so each [`Record`]'s `model`)
/// names them.
pub const MODEL_NAMES: [&str; 9] = [
    "SRR",
    "asyncmsg",
    "futex",
    "spin-futex",
    "pipe",
    "unix-socket",
    "crossbeam",
    "spsc-ring",
    "spsc-batch",
];

impl Model {
    /// asyncmsg with a count trigger only.
    pub fn asyncmsg(batch: u32) -> Model {
        Model::Asyncmsg {
            batch,
            trigger_time: Duration::ZERO,
        }
    }

    /// asyncmsg with a count trigger and [`TIME_TRIGGER`].
    pub fn asyncmsg_timed(batch: u32) -> Model {
        Model::Asyncmsg {
            batch,
            trigger_time: TIME_TRIGGER,
        }
    }

    /// The record's `model`: one of [`MODEL_NAMES`], or `asyncmsg+1ms` (asyncmsg with a time
    /// trigger: a model of its own, so records stay unique per model, batch and workload).
    pub fn name(&self) -> String {
        match *self {
            Model::Srr => "SRR".into(),
            Model::Asyncmsg { trigger_time, .. } if trigger_time.is_zero() => "asyncmsg".into(),
            Model::Asyncmsg { trigger_time, .. } => {
                if trigger_time.subsec_nanos() % 1_000_000 == 0 {
                    format!("asyncmsg+{}ms", trigger_time.as_millis())
                } else {
                    format!("asyncmsg+{}us", trigger_time.as_micros())
                }
            }
            Model::Futex => "futex".into(),
            Model::SpinFutex => "spin-futex".into(),
            Model::Pipe => "pipe".into(),
            Model::UnixSocket => "unix-socket".into(),
            Model::Crossbeam => "crossbeam".into(),
            Model::SpscRing => "spsc-ring".into(),
            Model::SpscBatch => "spsc-batch".into(),
        }
    }

    /// The record's `batch`: asyncmsg's count trigger, the batch ring's messages per
    /// publication at 64 B and below ([`RING_BATCH`]; [`Case::record`] gives it for the case's
    /// size), 1 for the rest.
    pub fn batch(&self) -> u32 {
        match *self {
            Model::Asyncmsg { batch, .. } => batch,
            Model::SpscBatch => RING_BATCH as u32,
            _ => 1,
        }
    }

    /// The name with the batch for asyncmsg models: `asyncmsg/64`, `asyncmsg+1ms/64`.
    pub fn label(&self) -> String {
        match self {
            Model::Asyncmsg { batch, .. } => format!("{}/{batch}", self.name()),
            _ => self.name(),
        }
    }

    /// Whether it runs on the simulated kernel.
    pub fn simulated(&self) -> bool {
        matches!(self, Model::Srr | Model::Asyncmsg { .. })
    }

    /// A rough cost per message in nanoseconds on this kind of machine, to size pilot runs.
    fn guess_ns(&self, w: Workload, size: usize, p: Placement) -> f64 {
        let copy = size as f64 * 0.3;
        match (self, w) {
            // Each side burns its whole spin budget while the peer cannot run.
            (Model::SpinFutex, _) if matches!(p, Placement::SameCpu(_)) => 50_000.0,
            (Model::Srr, Workload::RoundTrip) => 5_000.0 + 2.0 * copy,
            (Model::Futex, _) => 15_000.0 + 2.0 * copy,
            (Model::SpinFutex, _) => 2_000.0 + 2.0 * copy,
            (Model::Pipe, _) => 20_000.0 + 4.0 * copy,
            (Model::UnixSocket, _) => 25_000.0 + 4.0 * copy,
            (Model::Srr, _) => 10_000.0 + copy,
            (Model::Asyncmsg { batch, .. }, _) => 300.0 + 10_000.0 / f64::from(*batch) + copy,
            (Model::Crossbeam, _) => 100.0 + 2.0 * copy,
            (Model::SpscRing, _) => 50.0 + copy,
            (Model::SpscBatch, _) => 10.0 + copy,
        }
    }
}

/// Whether a case's two sides are threads of one Linux process or two Linux processes: with
/// the CPUs ([`Placement`]), where a case runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Between {
    /// Threads of the measuring program (for the kernel's models, two simulated processes of
    /// one kernel of its own).
    Threads,
    /// The measuring program and a peer process it starts ([`super::xproc`]): the kernel
    /// shared through a memory file, the baselines' memory through shared file mappings.
    /// One producer (client) only.
    Processes,
}

/// A placement's key in records and tables: [`Placement::key`] between threads (`same-cpu`,
/// `cross-cpu`, `unpinned`), with `xproc-` before it between processes.
pub fn placement_key(p: Placement, between: Between) -> &'static str {
    match (between, p) {
        (Between::Threads, p) => p.key(),
        (Between::Processes, Placement::SameCpu(_)) => "xproc-same-cpu",
        (Between::Processes, Placement::CrossCpu { .. }) => "xproc-cross-cpu",
        (Between::Processes, Placement::Unpinned) => "xproc-unpinned",
    }
}

/// One configuration measured: a model on a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    /// What is measured.
    pub workload: Workload,
    /// The mechanism.
    pub model: Model,
    /// Bytes per message.
    pub msg_size: usize,
    /// Producer (client) threads.
    pub producers: u32,
    /// Where the threads run.
    pub placement: Placement,
    /// Whether the two sides are threads of one process or two processes.
    pub between: Between,
}

impl Case {
    /// A record for this case with no figures yet.
    pub fn record(&self) -> Record {
        let batch = match self.model {
            Model::SpscBatch => ring_batch(self.msg_size) as u32,
            m => m.batch(),
        };
        Record::new(
            &self.model.name(),
            self.workload,
            self.msg_size,
            batch,
            self.producers,
            self.placement_key(),
        )
    }

    /// The case's placement key ([`placement_key`]).
    pub fn placement_key(&self) -> &'static str {
        placement_key(self.placement, self.between)
    }

    /// What progress lines show: `one-way asyncmsg/64 64 B cross-cpu`, with `, 4 producers`
    /// when there are several.
    pub fn label(&self) -> String {
        let mut s = format!(
            "{} {} {} B {}",
            self.workload.key(),
            self.model.label(),
            self.msg_size,
            self.placement_key()
        );
        if self.producers > 1 {
            s.push_str(&format!(", {} producers", self.producers));
        }
        s
    }

    /// Measures one run: `warmup` untimed messages (round trips) and `n` timed ones, in all
    /// producers together (split evenly: `n` is rounded down to a multiple of the producers);
    /// paced runs send at `pace` intervals.
    ///
    /// # Panics
    /// For a model that does not do the workload (round trips: SRR, futex, spin-futex, pipe,
    /// unix-socket; one-way and paced: SRR, asyncmsg, crossbeam, spsc-ring and spsc-batch with
    /// 1 producer; between processes: the round trips but unix-socket, and one-way asyncmsg,
    /// spsc-ring and spsc-batch with 1 producer).
    pub fn run(&self, warmup: u64, n: u64, pace: Option<Duration>) -> Sample {
        if self.between == Between::Processes {
            return self.run_between_processes(warmup, n);
        }
        if self.workload == Workload::RoundTrip {
            let rt = RoundTrip {
                placement: self.placement,
                msg_size: self.msg_size,
                warmup,
                n,
            };
            return match self.model {
                Model::Srr => srr_round_trip(&rt),
                Model::Futex => futex_round_trip(&rt),
                Model::SpinFutex => spin_futex_round_trip(&rt),
                Model::Pipe => pipe_round_trip(&rt),
                Model::UnixSocket => unix_socket_round_trip(&rt),
                m => panic!("{m:?} has no round-trip model"),
            };
        }
        let p = u64::from(self.producers.max(1));
        let w = OneWay {
            placement: self.placement,
            msg_size: self.msg_size,
            producers: self.producers.max(1),
            warmup: (warmup / p).max(1),
            per_producer: (n / p).max(1),
            pace: if self.workload == Workload::Paced {
                pace
            } else {
                None
            },
        };
        match self.model {
            Model::Srr => srr_one_way(&w),
            Model::Asyncmsg {
                batch,
                trigger_time,
            } => asyncmsg_one_way(&w, batch, trigger_time),
            Model::Crossbeam => crossbeam_one_way(&w),
            Model::SpscRing => spsc_ring_one_way(&w),
            Model::SpscBatch => spsc_batch_one_way(&w),
            m => panic!("{m:?} has no one-way model"),
        }
    }
}

impl Case {
    fn run_between_processes(&self, warmup: u64, n: u64) -> Sample {
        match self.workload {
            Workload::RoundTrip => {
                let rt = RoundTrip {
                    placement: self.placement,
                    msg_size: self.msg_size,
                    warmup,
                    n,
                };
                match self.model {
                    Model::Srr => xproc::srr_round_trip(&rt),
                    Model::Futex => xproc::mailbox_round_trip(&rt, None),
                    Model::SpinFutex => xproc::mailbox_round_trip(&rt, Some(spin_budget())),
                    Model::Pipe => xproc::pipe_round_trip(&rt),
                    m => panic!("{m:?} has no round-trip model between processes"),
                }
            }
            Workload::OneWay => {
                assert_eq!(self.producers, 1, "between processes: one producer");
                let w = OneWay {
                    placement: self.placement,
                    msg_size: self.msg_size,
                    producers: 1,
                    warmup: warmup.max(1),
                    per_producer: n.max(1),
                    pace: None,
                };
                match self.model {
                    Model::Asyncmsg {
                        batch,
                        trigger_time,
                    } => xproc::asyncmsg_one_way(&w, batch, trigger_time),
                    Model::SpscRing => xproc::ring_one_way(&w, 1),
                    Model::SpscBatch => xproc::ring_one_way(&w, ring_batch(w.msg_size)),
                    m => panic!("{m:?} has no one-way model between processes"),
                }
            }
            Workload::Paced => panic!("no paced model between processes"),
        }
    }
}

// ----------------------------------------------------------------------------- placements

/// Every thread on the first allowed CPU (unpinned if the affinity mask cannot be read).
fn same_cpu() -> Placement {
    Placement::same_cpu().unwrap_or(Placement::Unpinned)
}

/// What a placement means, for the report header.
pub fn describe(p: Placement, between: Between) -> String {
    if between == Between::Processes {
        let procs = "two Linux processes, this program and a peer it starts (the one-way \
                     consumer and the round trips' client here, the producer and the server \
                     there); SRR and asyncmsg on one kernel shared through a memory file; \
                     csw/m and cpuns/m count both processes";
        return match p {
            Placement::Unpinned => format!("{procs}; neither pinned"),
            Placement::SameCpu(c) => format!("{procs}; both on CPU {c}"),
            Placement::CrossCpu { consumer, producer } => format!(
                "{procs}; consumer/server on CPU {consumer}, producer/client on CPU {producer}"
            ),
        };
    }
    let lib = "asyncmsg library threads and the coordinating main thread are not pinned";
    match p {
        Placement::Unpinned => "no thread pinned: Linux places them (and may move them)".into(),
        Placement::SameCpu(c) => {
            format!("consumer/server and every producer/client on CPU {c}; {lib}")
        }
        Placement::CrossCpu { consumer, producer } => format!(
            "consumer/server on CPU {consumer}, every producer/client on CPU {producer}; {lib}"
        ),
    }
}

// ----------------------------------------------------------------------------- the plan

/// What a comparison run measures and how long each run lasts.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// `quick`, `full` or `tiny`.
    pub mode: String,
    /// Runs per case; every figure is the median.
    pub runs: u32,
    /// The cases, in report order (the models of one configuration next to each other).
    pub cases: Vec<Case>,
    /// Target length of a saturated run's timed part, seconds (message counts are calibrated
    /// to it by a pilot run of each case).
    pub run_s: f64,
    /// Target length of a pilot run, seconds.
    pub pilot_s: f64,
    /// Fixed messages per run instead of calibration (the smoke run).
    pub fixed_msgs: Option<u64>,
    /// Fewest timed messages per calibrated run.
    pub min_msgs: u64,
    /// Most timed messages per calibrated run.
    pub max_msgs: u64,
    /// Paced runs: messages per second.
    pub paced_rate: f64,
    /// Paced runs: timed messages.
    pub paced_msgs: u64,
}

/// Builds case lists.
struct Cases(Vec<Case>);

impl Cases {
    fn add(
        &mut self,
        workload: Workload,
        models: &[Model],
        size: usize,
        producers: u32,
        p: Placement,
    ) {
        self.add_between(Between::Threads, workload, models, size, producers, p);
    }

    /// One producer (client), between two processes.
    fn add_xproc(&mut self, workload: Workload, models: &[Model], size: usize, p: Placement) {
        self.add_between(Between::Processes, workload, models, size, 1, p);
    }

    fn add_between(
        &mut self,
        between: Between,
        workload: Workload,
        models: &[Model],
        size: usize,
        producers: u32,
        p: Placement,
    ) {
        for &model in models {
            self.0.push(Case {
                workload,
                model,
                msg_size: size,
                producers,
                placement: p,
                between,
            });
        }
    }
}

/// The round trips between processes of the quick plan: SRR's target against the futex
/// ping-pong, and the pipe beside it.
const XPROC_QUICK_ROUND_TRIP_MODELS: [Model; 3] = [Model::Srr, Model::Futex, Model::Pipe];

/// The round trips between processes of the full plan.
const XPROC_ROUND_TRIP_MODELS: [Model; 4] =
    [Model::Srr, Model::Futex, Model::SpinFutex, Model::Pipe];

/// Round-trip sizes between processes in the full plan: one that goes through the kernel's
/// per-thread windows in the region, one copied straight between the two address spaces.
pub const XPROC_SIZES: [usize; 2] = [64, 4096];

const ROUND_TRIP_MODELS: [Model; 5] = [
    Model::Srr,
    Model::Futex,
    Model::SpinFutex,
    Model::Pipe,
    Model::UnixSocket,
];

/// The round trips the quick plan also measures on one CPU (when it has two): the one-CPU
/// target's, and the spinning baseline to show what spinning costs when the peer shares the CPU.
const SAME_CPU_ROUND_TRIP_MODELS: [Model; 3] = [Model::Srr, Model::Futex, Model::SpinFutex];

/// The client count of the "many clients on one server" case (SRR one-way, 64 B).
pub const MANY_CLIENTS: u32 = super::report::MANY_CLIENTS;

fn a(batch: u32) -> Model {
    Model::asyncmsg(batch)
}

impl Plan {
    /// The default: 64-byte messages, consumer and producers on two CPUs (one CPU if only one
    /// is allowed), 3 runs. Round trip: SRR, futex, spin-futex, pipe, unix-socket; and SRR,
    /// futex, spin-futex on one CPU too (with two CPUs). One-way: asyncmsg at batches 1, 8, 64,
    /// 256, SRR, crossbeam, spsc-ring, spsc-batch with 1 producer; asyncmsg/64, SRR and
    /// crossbeam with 4; SRR with [`MANY_CLIENTS`]. Paced (20k msgs/s): asyncmsg/1,
    /// asyncmsg/64, asyncmsg+1ms/64, SRR, crossbeam. Between two processes: round trips SRR,
    /// futex, pipe on the same placement and (with two CPUs) on one CPU; one-way asyncmsg/64,
    /// spsc-ring, spsc-batch. 34 cases with two CPUs, 16-18 s here.
    pub fn quick() -> Plan {
        let cross = Placement::cross_cpu();
        let p = cross.unwrap_or_else(same_cpu);
        let mut c = Cases(Vec::new());
        c.add(Workload::RoundTrip, &ROUND_TRIP_MODELS, 64, 1, p);
        if cross.is_some() {
            c.add(
                Workload::RoundTrip,
                &SAME_CPU_ROUND_TRIP_MODELS,
                64,
                1,
                same_cpu(),
            );
        }
        c.add(
            Workload::OneWay,
            &[
                a(1),
                a(8),
                a(64),
                a(256),
                Model::Srr,
                Model::Crossbeam,
                Model::SpscRing,
                Model::SpscBatch,
            ],
            64,
            1,
            p,
        );
        c.add(
            Workload::OneWay,
            &[a(64), Model::Srr, Model::Crossbeam],
            64,
            4,
            p,
        );
        c.add(Workload::OneWay, &[Model::Srr], 64, MANY_CLIENTS, p);
        c.add(
            Workload::Paced,
            &[
                a(1),
                a(64),
                Model::asyncmsg_timed(64),
                Model::Srr,
                Model::Crossbeam,
            ],
            64,
            1,
            p,
        );
        // Between processes: the round trips across CPUs and on one CPU (the target's), and
        // asyncmsg/64 against the rings.
        c.add_xproc(Workload::RoundTrip, &XPROC_QUICK_ROUND_TRIP_MODELS, 64, p);
        if cross.is_some() {
            c.add_xproc(
                Workload::RoundTrip,
                &XPROC_QUICK_ROUND_TRIP_MODELS,
                64,
                same_cpu(),
            );
        }
        c.add_xproc(
            Workload::OneWay,
            &[a(64), Model::SpscRing, Model::SpscBatch],
            64,
            p,
        );
        Plan {
            mode: "quick".into(),
            runs: 3,
            cases: c.0,
            run_s: 0.15,
            pilot_s: 0.02,
            fixed_msgs: None,
            min_msgs: 200,
            max_msgs: 20_000_000,
            paced_rate: PACED_RATE,
            paced_msgs: 2_000,
        }
    }

    /// The full sweep, on every placement (same-cpu, cross-cpu if two CPUs are allowed,
    /// unpinned), 5 runs:
    ///
    /// * round trip: SRR, futex, spin-futex, pipe, unix-socket at every size of [`SIZES`];
    /// * one-way, 64 B, 1 producer: asyncmsg at every batch of [`BATCHES`], SRR, crossbeam,
    ///   spsc-ring, spsc-batch;
    /// * one-way, the other sizes, 1 producer: asyncmsg/1, asyncmsg/64, SRR, crossbeam,
    ///   spsc-ring, spsc-batch;
    /// * one-way, 64 B, 2 to 16 producers ([`PRODUCERS`]): asyncmsg/1, asyncmsg/64, SRR,
    ///   crossbeam; and SRR with [`MANY_CLIENTS`] clients;
    /// * paced, 64 B: asyncmsg/1, /8, /64, /256, asyncmsg+1ms/64 and /256, SRR, crossbeam;
    /// * between two processes, on every placement: round trips SRR, futex, spin-futex, pipe
    ///   at [`XPROC_SIZES`]; one-way, 64 B: asyncmsg at [`BATCHES_XPROC`], spsc-ring,
    ///   spsc-batch.
    ///
    /// 369 cases with two CPUs (42 between processes, about a minute); about 9 minutes here.
    pub fn full() -> Plan {
        let mut placements = vec![same_cpu()];
        placements.extend(Placement::cross_cpu());
        placements.push(Placement::Unpinned);
        let mut c = Cases(Vec::new());
        for &p in &placements {
            for size in SIZES {
                c.add(Workload::RoundTrip, &ROUND_TRIP_MODELS, size, 1, p);
            }
            for size in SIZES {
                let mut models: Vec<Model> = if size == 64 {
                    BATCHES.iter().map(|&b| a(b)).collect()
                } else {
                    vec![a(1), a(64)]
                };
                models.extend([
                    Model::Srr,
                    Model::Crossbeam,
                    Model::SpscRing,
                    Model::SpscBatch,
                ]);
                c.add(Workload::OneWay, &models, size, 1, p);
            }
            for producers in PRODUCERS.into_iter().filter(|&n| n > 1) {
                c.add(
                    Workload::OneWay,
                    &[a(1), a(64), Model::Srr, Model::Crossbeam],
                    64,
                    producers,
                    p,
                );
            }
            c.add(Workload::OneWay, &[Model::Srr], 64, MANY_CLIENTS, p);
            c.add(
                Workload::Paced,
                &[
                    a(1),
                    a(8),
                    a(64),
                    a(256),
                    Model::asyncmsg_timed(64),
                    Model::asyncmsg_timed(256),
                    Model::Srr,
                    Model::Crossbeam,
                ],
                64,
                1,
                p,
            );
        }
        for &p in &placements {
            for size in XPROC_SIZES {
                c.add_xproc(Workload::RoundTrip, &XPROC_ROUND_TRIP_MODELS, size, p);
            }
            let mut models: Vec<Model> = BATCHES_XPROC.iter().map(|&b| a(b)).collect();
            models.extend([Model::SpscRing, Model::SpscBatch]);
            c.add_xproc(Workload::OneWay, &models, 64, p);
        }
        Plan {
            mode: "full".into(),
            runs: 5,
            cases: c.0,
            run_s: 0.25,
            pilot_s: 0.02,
            fixed_msgs: None,
            min_msgs: 200,
            max_msgs: 50_000_000,
            paced_rate: PACED_RATE,
            paced_msgs: 4_000,
        }
    }

    /// The smoke run: the quick plan's cases, a few hundred messages each, 1 run.
    pub fn tiny() -> Plan {
        Plan {
            mode: "tiny".into(),
            runs: 1,
            fixed_msgs: Some(400),
            paced_msgs: 100,
            ..Plan::quick()
        }
    }

    /// Keeps only the cases whose [`Case::label`] contains one of `patterns`
    /// (case-insensitive).
    pub fn retain_matching(&mut self, patterns: &[String]) {
        let p: Vec<String> = patterns.iter().map(|s| s.to_lowercase()).collect();
        self.cases.retain(|c| {
            let label = c.label().to_lowercase();
            p.iter().any(|x| label.contains(x.as_str()))
        });
    }

    /// The placements the plan uses (CPUs, and threads or processes), in order of first
    /// appearance.
    pub fn placements(&self) -> Vec<(Placement, Between)> {
        let mut out: Vec<(Placement, Between)> = Vec::new();
        for c in &self.cases {
            if !out.contains(&(c.placement, c.between)) {
                out.push((c.placement, c.between));
            }
        }
        out
    }

    /// What a reader of the report should know about how the figures were made.
    pub fn notes(&self) -> Vec<String> {
        let mut n = vec![
            format!(
                "one-way latency is put to receipt of 1 message in {STAMP_EVERY} (every message \
                 when paced): the producer stamps it, the consumer reads the clock once per \
                 receive (per batch for asyncmsg and the ring)"
            ),
            "asyncmsg rows have the time trigger off; asyncmsg+1ms = the same with a 1 ms \
             trigger_time beside the count trigger (batch column)"
                .into(),
            format!(
                "paced: one producer at {:.0} msgs/s; its CPU time and context switches include \
                 the pacing wait (it yields in a loop)",
                self.paced_rate
            ),
            "crossbeam carries [u8; N] arrays (copied into the channel and out); spsc-ring and \
             spsc-batch have one producer; queue depth 1024 messages (fewer above 2 KiB: at most 2 MiB in flight, at least 64 messages)"
                .into(),
            format!(
                "spsc-ring publishes its tail at every message; spsc-batch every {RING_BATCH} \
                 messages (a quarter of the ring if less: batch column), when full and at the end"
            ),
            format!(
                "spin-futex: each side spins on its word up to the kernel's spin budget (the clock \
                 read every {SPIN_CHECK} looks), then FUTEX_WAITs; the peer FUTEX_WAKEs only if it \
                 announced its sleep. futex: no spinning, always FUTEX_WAKE"
            ),
            format!(
                "paced rows whose median rate fell below {:.0}% of the requested rate are flagged \
                 PACE MISSED",
                super::record::PACE_TOLERANCE * 100.0
            ),
        ];
        if self.cases.iter().any(|c| c.between == Between::Processes) {
            n.push(
                "xproc-* placements: two Linux processes, this program and a peer process it \
                 starts for each run, one producer (client); SRR and asyncmsg on one kernel \
                 shared through a memory file, futex, spin-futex and the rings in a shared file \
                 mapping (process-shared futexes), pipes named; csw/m and cpuns/m count both \
                 processes"
                    .into(),
            );
        }
        match self.fixed_msgs {
            Some(m) => n.push(format!(
                "{m} messages per run, {} when paced: a smoke run, not a measurement",
                self.paced_msgs
            )),
            None => n.push(format!(
                "messages per run calibrated by a pilot run to about {:.2} s (paced: {} \
                 messages)",
                self.run_s, self.paced_msgs
            )),
        }
        n
    }

    /// Timed messages for a case: fixed, or calibrated by a pilot run.
    fn msgs_for(&self, case: &Case) -> u64 {
        let p = u64::from(case.producers.max(1));
        let round = |n: u64| (n / p).max(1) * p;
        if case.workload == Workload::Paced {
            return round(self.paced_msgs);
        }
        if let Some(n) = self.fixed_msgs {
            return round(n);
        }
        let guess = case
            .model
            .guess_ns(case.workload, case.msg_size, case.placement);
        let pilot = ((self.pilot_s * 1e9 / guess) as u64).clamp(20 * p, self.max_msgs);
        let s = case.run(warmup_for(pilot), pilot, None);
        let rate = s.msgs_per_s();
        let n = if rate.is_finite() && rate > 0.0 {
            (rate * self.run_s) as u64
        } else {
            self.min_msgs
        };
        round(n.clamp(self.min_msgs, self.max_msgs))
    }
}

/// Untimed messages before `n` timed ones: a tenth, 10 to 5000.
pub fn warmup_for(n: u64) -> u64 {
    (n / 10).clamp(10, 5_000)
}

/// Runs every case of `plan` `plan.runs` times, interleaved (each round runs every case once,
/// starting at a different case each round), and returns one [`Record`] per case (medians over
/// the runs, and each run's rate in round order: `run_msgs_per_s[k]` of every record was
/// measured in round `k`), in the plan's order. `progress(i, total, label)` is called before each run
/// (1-based `i`). A case's first run is preceded by its calibration pilot (not counted).
pub fn run_plan(plan: &Plan, progress: &mut dyn FnMut(usize, usize, &str)) -> Vec<Record> {
    let cases = &plan.cases;
    let total = cases.len() * plan.runs as usize;
    let mut counts: Vec<Option<u64>> = vec![None; cases.len()];
    let mut samples: Vec<Vec<Sample>> = cases.iter().map(|_| Vec::new()).collect();
    let pace = Duration::from_secs_f64(1.0 / plan.paced_rate.max(1.0));
    let mut done = 0;
    for run in 0..plan.runs as usize {
        let offset = if cases.is_empty() {
            0
        } else {
            run * cases.len() / plan.runs as usize
        };
        for j in 0..cases.len() {
            let i = (j + offset) % cases.len();
            let case = &cases[i];
            done += 1;
            progress(done, total, &case.label());
            let n = match counts[i] {
                Some(n) => n,
                None => *counts[i].insert(plan.msgs_for(case)),
            };
            let warmup = if case.workload == Workload::Paced {
                20 * u64::from(case.producers)
            } else {
                warmup_for(n)
            };
            samples[i].push(case.run(warmup, n, Some(pace)));
        }
    }
    cases
        .iter()
        .zip(samples)
        .zip(counts)
        .map(|((c, s), n)| {
            let mut r = summarise(c.record(), n.unwrap_or(0), &s);
            if c.workload == Workload::Paced {
                r.set_pace(plan.paced_rate);
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_and_labels() {
        assert_eq!(Model::asyncmsg(64).name(), "asyncmsg");
        assert_eq!(Model::asyncmsg(64).label(), "asyncmsg/64");
        assert_eq!(Model::asyncmsg_timed(64).name(), "asyncmsg+1ms");
        assert_eq!(Model::asyncmsg_timed(64).batch(), 64);
        assert_eq!(Model::UnixSocket.name(), "unix-socket");
        assert_eq!(Model::SpscRing.batch(), 1);
    }

    #[test]
    fn plans_are_unique_and_cover_every_model() {
        for plan in [Plan::quick(), Plan::full(), Plan::tiny()] {
            let keys: Vec<_> = plan
                .cases
                .iter()
                .map(|c| {
                    let r = c.record();
                    (
                        r.model,
                        r.workload,
                        r.msg_size,
                        r.batch,
                        r.producers,
                        r.placement,
                    )
                })
                .collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(!keys[..i].contains(k), "{} twice: {k:?}", plan.mode);
            }
            for m in MODEL_NAMES {
                assert!(plan.cases.iter().any(|c| c.model.name() == m), "{m}");
            }
        }
    }

    #[test]
    fn placements_between_processes_have_keys_of_their_own() {
        let cross = Placement::CrossCpu {
            consumer: 0,
            producer: 1,
        };
        for (p, threads, procs) in [
            (Placement::SameCpu(0), "same-cpu", "xproc-same-cpu"),
            (cross, "cross-cpu", "xproc-cross-cpu"),
            (Placement::Unpinned, "unpinned", "xproc-unpinned"),
        ] {
            assert_eq!(placement_key(p, Between::Threads), threads);
            assert_eq!(placement_key(p, Between::Processes), procs);
            assert!(describe(p, Between::Processes).contains("two Linux processes"));
            assert!(!describe(p, Between::Threads).contains("two Linux processes"));
        }
        let c = Case {
            workload: Workload::OneWay,
            model: Model::asyncmsg(64),
            msg_size: 64,
            producers: 1,
            placement: cross,
            between: Between::Processes,
        };
        assert_eq!(c.label(), "one-way asyncmsg/64 64 B xproc-cross-cpu");
        assert_eq!(c.record().placement, "xproc-cross-cpu");
    }

    #[test]
    fn plans_measure_round_trips_and_asyncmsg_between_processes() {
        let has = |plan: &Plan, w: Workload, model: Model, p: Placement| {
            plan.cases.iter().any(|c| {
                c.between == Between::Processes
                    && c.workload == w
                    && c.model == model
                    && c.placement == p
                    && c.msg_size == 64
            })
        };
        let one = same_cpu();
        let p = Placement::cross_cpu().unwrap_or(one);
        for plan in [Plan::quick(), Plan::tiny(), Plan::full()] {
            // The round-trip target's records, on one CPU and across CPUs; the pipe beside.
            for place in [one, p] {
                for m in [Model::Srr, Model::Futex, Model::Pipe] {
                    assert!(has(&plan, Workload::RoundTrip, m, place), "{m:?} {place:?}");
                }
            }
            // asyncmsg/64 against both rings, one-way.
            for m in [Model::asyncmsg(64), Model::SpscRing, Model::SpscBatch] {
                assert!(has(&plan, Workload::OneWay, m, p), "{}: {m:?}", plan.mode);
            }
            // Only what the peer can do: one producer, no pace, no unix socket or crossbeam.
            for c in plan
                .cases
                .iter()
                .filter(|c| c.between == Between::Processes)
            {
                assert_eq!(c.producers, 1, "{c:?}");
                assert_ne!(c.workload, Workload::Paced, "{c:?}");
                assert!(
                    !matches!(c.model, Model::UnixSocket | Model::Crossbeam),
                    "{c:?}"
                );
            }
            let keys: Vec<String> = plan
                .placements()
                .into_iter()
                .map(|(p, b)| placement_key(p, b).to_string())
                .collect();
            assert!(keys.iter().any(|k| k.starts_with("xproc-")), "{keys:?}");
        }
        // The full sweep: every placement, spin-futex, a size beyond the message windows, and
        // several batches.
        let full = Plan::full();
        assert!(has(
            &full,
            Workload::RoundTrip,
            Model::SpinFutex,
            Placement::Unpinned
        ));
        assert!(full.cases.iter().any(|c| c.between == Between::Processes
            && c.workload == Workload::RoundTrip
            && c.msg_size == 4096));
        for b in BATCHES_XPROC {
            assert!(has(&full, Workload::OneWay, Model::asyncmsg(b), p), "{b}");
        }
    }

    #[test]
    fn kernel_models_count_entries() {
        let w = OneWay {
            placement: Placement::Unpinned,
            msg_size: 64,
            producers: 2,
            warmup: 10,
            per_producer: 300,
            pace: None,
        };
        for s in [srr_one_way(&w), asyncmsg_one_way(&w, 8, Duration::ZERO)] {
            assert_eq!((s.sent, s.received), (600, 600), "{s:?}");
            let k = s.kernel.expect("kernel figures");
            assert!(k.entries() > 0 && k.sender_entries() > 0 && k.sender_entries() <= k.entries());
        }
        let rt = RoundTrip {
            placement: Placement::Unpinned,
            msg_size: 64,
            warmup: 10,
            n: 200,
        };
        let s = srr_round_trip(&rt);
        assert_eq!((s.sent, s.received), (200, 200));
        // MsgSend, MsgReceive, MsgReply per round trip.
        let k = s.kernel.expect("kernel figures");
        assert!((599..=601).contains(&k.entries()), "{k:?}");
    }
}
