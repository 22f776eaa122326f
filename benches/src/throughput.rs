//! One-way throughput models: a producer thread sends 64-byte messages to a
//! consumer thread as fast as it can; a run reports messages per second and what each side did
//! in the kernel.
//!
//! * [`asyncmsg_throughput`]: asyncmsg through userlib and kernel-sim, producer and consumer in
//!   two simulated processes of one `Kernel`. The producer `asyncmsg_put`s 64-byte
//!   buffers from `asyncmsg_malloc` on a connection whose count trigger is `trigger_num_msg`, then `asyncmsg_flush`es;
//!   the consumer loops on `asyncmsg_get` (up to [`GET_MAX`] messages per batch).
//! * [`srr_throughput`]: the same messages by `MsgSend` (64 bytes, zero-byte reply) to a server
//!   thread that `MsgReceive`s and `MsgReply`s, in two simulated processes.
//! * [`crossbeam_throughput`]: a `crossbeam_channel::bounded(`[`CROSSBEAM_CAP`]`)` carrying
//!   `[u8; 64]` between two threads: the floor for a queue between two threads of one process.
//!
//! Every run first sends `warmup` messages (not timed), waits until the consumer has them all,
//! then times `n` more from just before the first send to the consumer's receipt of the last.
//! Each message carries its sequence number in its first 8 bytes; the consumer checks them all.

use crate::harness::{pin_current_thread, AbortOnPanic, CtxSwitches};
use std::time::{Duration, Instant};
use userlib::asyncmsg::{self, AsyncConnAttr, AsyncConnStats};
use userlib::consts::_NTO_SIDE_CHANNEL;
use userlib::Process;
use userlib::{Config, Kernel, ProcCounters};

/// Bytes per message.
pub const MSG_SIZE: usize = 64;

/// The simulated priority of the producer and consumer threads.
pub const PRIO: i16 = 10;

/// The asyncmsg channel's `max_num_buffer`: messages an `asyncmsg_get` takes at most.
pub const GET_MAX: u32 = 256;

/// The asyncmsg connection's `max_num_buffer`: send-queue slots (1023 messages outstanding).
pub const SEND_QUEUE: u32 = 1024;

/// The crossbeam baseline's channel capacity.
pub const CROSSBEAM_CAP: usize = 1024;

/// Where the two threads run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Neither thread pinned: Linux places them (and may move them).
    Unpinned,
    /// Both threads pinned to one CPU.
    SameCpu(usize),
    /// Consumer pinned to the first CPU, producer to the second.
    CrossCpu {
        /// The consumer's (receiver's, server's) CPU.
        consumer: usize,
        /// The producer's (sender's, client's) CPU.
        producer: usize,
    },
}

impl Placement {
    /// A short stable name: `unpinned`, `same-cpu` or `cross-cpu`.
    pub fn key(self) -> &'static str {
        match self {
            Placement::Unpinned => "unpinned",
            Placement::SameCpu(_) => "same-cpu",
            Placement::CrossCpu { .. } => "cross-cpu",
        }
    }

    /// A human label with the CPUs, e.g. `cross CPU (c0,p1)`.
    pub fn label(self) -> String {
        match self {
            Placement::Unpinned => "unpinned".into(),
            Placement::SameCpu(c) => format!("same CPU ({c})"),
            Placement::CrossCpu { consumer, producer } => {
                format!("cross CPU (c{consumer},p{producer})")
            }
        }
    }

    /// (consumer CPU, producer CPU), if pinned.
    pub fn cpus(self) -> Option<(usize, usize)> {
        match self {
            Placement::Unpinned => None,
            Placement::SameCpu(c) => Some((c, c)),
            Placement::CrossCpu { consumer, producer } => Some((consumer, producer)),
        }
    }

    /// Unpinned and, if two CPUs are allowed, consumer on the first and producer on the second.
    pub fn default_set() -> Vec<Placement> {
        let cpus = crate::harness::allowed_cpus();
        let mut v = vec![Placement::Unpinned];
        if let [a, b, ..] = cpus.as_slice() {
            v.push(Placement::CrossCpu {
                consumer: *a,
                producer: *b,
            });
        }
        v
    }

    /// Both threads on the first allowed CPU (None if the mask cannot be read).
    pub fn same_cpu() -> Option<Placement> {
        crate::harness::allowed_cpus()
            .first()
            .map(|&c| Placement::SameCpu(c))
    }
}

/// The mechanism a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// asyncmsg with this count trigger (`trigger_num_msg`).
    Async(u32),
    /// MsgSend of 64 bytes, zero-byte reply.
    Srr,
    /// crossbeam-channel bounded.
    Crossbeam,
}

impl Model {
    /// The name shown in tables and JSON, e.g. `asyncmsg/64`.
    pub fn name(self) -> String {
        match self {
            Model::Async(t) => format!("asyncmsg/{t}"),
            Model::Srr => "SRR".into(),
            Model::Crossbeam => "crossbeam".into(),
        }
    }
}

/// `b - a`, field by field (saturating).
pub fn counters_delta(a: &ProcCounters, b: &ProcCounters) -> ProcCounters {
    let d = |x: u64, y: u64| y.saturating_sub(x);
    ProcCounters {
        kernel_entries: d(a.kernel_entries, b.kernel_entries),
        wakeups: d(a.wakeups, b.wakeups),
        blocks: d(a.blocks, b.blocks),
        msgs_sent: d(a.msgs_sent, b.msgs_sent),
        msgs_received: d(a.msgs_received, b.msgs_received),
        replies: d(a.replies, b.replies),
        pulses_sent: d(a.pulses_sent, b.pulses_sent),
        pulses_received: d(a.pulses_received, b.pulses_received),
        bytes_copied: d(a.bytes_copied, b.bytes_copied),
        async_triggers: d(a.async_triggers, b.async_triggers),
        async_msgs_sent: d(a.async_msgs_sent, b.async_msgs_sent),
        async_msgs_received: d(a.async_msgs_received, b.async_msgs_received),
        async_batches_received: d(a.async_batches_received, b.async_batches_received),
    }
}

/// What a connection's asyncmsg counters ([`AsyncConnStats`]) moved by over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnDelta {
    /// Messages put.
    pub msgs_put: u64,
    /// Kernel entries the library made for the connection (triggers, timer arming).
    pub kernel_entries: u64,
    /// Triggers (MsgSendAsync) the library made.
    pub triggers: u64,
    /// Triggers that found messages pending.
    pub batches: u64,
    /// Messages receivers took.
    pub msgs_taken: u64,
    /// Callbacks run.
    pub callbacks: u64,
}

/// `b - a` for a connection's asyncmsg counters.
pub fn conn_stats_delta(a: &AsyncConnStats, b: &AsyncConnStats) -> ConnDelta {
    let d = |x: u64, y: u64| y.saturating_sub(x);
    ConnDelta {
        msgs_put: d(a.msgs_put, b.msgs_put),
        kernel_entries: d(a.kernel_entries, b.kernel_entries),
        triggers: d(a.triggers, b.triggers),
        batches: d(a.batches, b.batches),
        msgs_taken: d(a.msgs_taken, b.msgs_taken),
        callbacks: d(a.callbacks, b.callbacks),
    }
}

/// One measured run. Counters cover the timed part only (warm-up and set-up excluded).
#[derive(Clone, Debug)]
pub struct ThroughputRun {
    /// The model measured.
    pub model: Model,
    /// Where its threads ran.
    pub placement: Placement,
    /// Messages the producer sent in the timed part.
    pub sent: u64,
    /// Messages the consumer received in the timed part.
    pub received: u64,
    /// From just before the first timed send to the consumer's receipt of the last message.
    pub elapsed: Duration,
    /// Receive calls that returned messages in the timed part (asyncmsg: batches got; SRR and
    /// crossbeam: one per message).
    pub receives: u64,
    /// Whether every message arrived intact and in order.
    pub intact: bool,
    /// The producer process's kernel counters over the timed part (asyncmsg, SRR).
    pub producer: Option<ProcCounters>,
    /// The consumer process's kernel counters over the timed part (asyncmsg, SRR).
    pub consumer: Option<ProcCounters>,
    /// The asyncmsg connection's counters over the timed part.
    pub conn: Option<ConnDelta>,
    /// Context switches of the producer thread over the timed part.
    pub producer_csw: CtxSwitches,
    /// Context switches of the consumer thread over the whole run (warm-up included).
    pub consumer_csw: CtxSwitches,
}

impl ThroughputRun {
    /// Messages received per second.
    pub fn msgs_per_s(&self) -> f64 {
        self.received as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The producer process's kernel entries per message.
    pub fn producer_entries_per_msg(&self) -> Option<f64> {
        self.producer
            .map(|p| p.kernel_entries as f64 / self.sent.max(1) as f64)
    }

    /// The consumer process's kernel entries per message.
    pub fn consumer_entries_per_msg(&self) -> Option<f64> {
        self.consumer
            .map(|p| p.kernel_entries as f64 / self.received.max(1) as f64)
    }

    /// The asyncmsg library's kernel entries for the connection per message put.
    pub fn library_entries_per_msg(&self) -> Option<f64> {
        self.conn
            .map(|c| c.kernel_entries as f64 / c.msgs_put.max(1) as f64)
    }

    /// Messages per receive call.
    pub fn msgs_per_receive(&self) -> f64 {
        self.received as f64 / self.receives.max(1) as f64
    }
}

/// Runs `model` once: `warmup` untimed messages, then `n` timed ones.
pub fn run(model: Model, placement: Placement, warmup: u64, n: u64) -> ThroughputRun {
    match model {
        Model::Async(t) => asyncmsg_throughput(placement, t, warmup, n),
        Model::Srr => srr_throughput(placement, warmup, n),
        Model::Crossbeam => crossbeam_throughput(placement, warmup, n),
    }
}

/// Runs `consumer` and `producer` on two new threads placed as `placement` says; returns
/// both results and the consumer thread's context switches (the producer measures its own).
fn run_two<C: Send, P: Send>(
    placement: Placement,
    consumer: impl FnOnce() -> C + Send,
    producer: impl FnOnce() -> P + Send,
) -> (C, P, CtxSwitches) {
    let cpus = placement.cpus();
    std::thread::scope(|s| {
        let ch = std::thread::Builder::new()
            .name("tput-consumer".into())
            .spawn_scoped(s, move || {
                let _g = AbortOnPanic("benches: a throughput thread");
                if let Some((c, _)) = cpus {
                    pin_current_thread(c).expect("pinning the consumer thread");
                }
                let before = CtxSwitches::now();
                let r = consumer();
                (r, CtxSwitches::now().since(before))
            })
            .expect("spawning the consumer thread");
        let ph = std::thread::Builder::new()
            .name("tput-producer".into())
            .spawn_scoped(s, move || {
                let _g = AbortOnPanic("benches: a throughput thread");
                if let Some((_, p)) = cpus {
                    pin_current_thread(p).expect("pinning the producer thread");
                }
                producer()
            })
            .expect("spawning the producer thread");
        let p = ph.join().expect("producer thread");
        let (c, csw) = ch.join().expect("consumer thread");
        (c, p, csw)
    })
}

/// A 64-byte message carrying `seq` in its first 8 bytes (the rest a fixed pattern).
pub fn message(seq: u64) -> [u8; MSG_SIZE] {
    let mut m = [0x5au8; MSG_SIZE];
    m[..8].copy_from_slice(&seq.to_le_bytes());
    m
}

/// The sequence number of a message (None if shorter than 8 bytes).
pub fn seq_of(data: &[u8]) -> Option<u64> {
    let b: [u8; 8] = data.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// What the consumer side of a run reports.
struct ConsumerOut {
    received: u64,
    receives: u64,
    end: Instant,
    intact: bool,
    counters_end: Option<ProcCounters>,
}

/// What the producer side of a run reports.
struct ProducerOut {
    start: Instant,
    csw: CtxSwitches,
    counters_start: Option<(ProcCounters, ProcCounters)>,
    counters_end: Option<ProcCounters>,
    conn: Option<ConnDelta>,
}

fn assemble(
    model: Model,
    placement: Placement,
    n: u64,
    c: ConsumerOut,
    p: ProducerOut,
    consumer_csw: CtxSwitches,
) -> ThroughputRun {
    let (producer, consumer) = match (p.counters_start, p.counters_end, c.counters_end) {
        (Some((p0, c0)), Some(p1), Some(c1)) => (
            Some(counters_delta(&p0, &p1)),
            Some(counters_delta(&c0, &c1)),
        ),
        _ => (None, None),
    };
    ThroughputRun {
        model,
        placement,
        sent: n,
        received: c.received,
        elapsed: c.end.saturating_duration_since(p.start),
        receives: c.receives,
        intact: c.intact,
        producer,
        consumer,
        conn: p.conn,
        producer_csw: p.csw,
        consumer_csw,
    }
}

/// The asyncmsg model: a fresh kernel; the consumer process's thread creates an asyncmsg
/// channel (buffer size 64, [`GET_MAX`] messages per get) and loops on `asyncmsg_get`; the
/// producer process's thread attaches with `trigger_num_msg` = `trigger` and
/// `max_num_buffer` = [`SEND_QUEUE`], puts `warmup` messages, flushes (waiting until they are
/// taken), then puts `n` timed messages and flushes again.
///
/// # Panics
/// If a call fails (the process aborts: a thread panicked), or `trigger` is 0 or does not fit
/// the send queue (the producer would block forever on a full, untriggered queue).
pub fn asyncmsg_throughput(
    placement: Placement,
    trigger: u32,
    warmup: u64,
    n: u64,
) -> ThroughputRun {
    assert!(
        (1..SEND_QUEUE).contains(&trigger),
        "trigger_num_msg must be 1..{SEND_QUEUE}"
    );
    let k = Kernel::new(Config::default()).expect("Kernel::new");
    let cons = Process::new_in(&k).expect("consumer process");
    let prod = Process::new_in(&k).expect("producer process");
    let total = warmup + n;
    let (chid_tx, chid_rx) = crossbeam_channel::bounded::<i32>(1);
    let (c, p, ccsw) = run_two(
        placement,
        || {
            cons.bind_current_thread(PRIO)
                .expect("binding the consumer");
            let chid = asyncmsg::asyncmsg_channel_create(0, 0o600, MSG_SIZE, GET_MAX, None, None)
                .expect("asyncmsg_channel_create");
            chid_tx.send(chid).expect("handing the chid over");
            let mut got = 0u64;
            let mut receives = 0u64;
            let mut intact = true;
            while got < total {
                let batch = asyncmsg::asyncmsg_get(chid).expect("asyncmsg_get");
                if batch.is_empty() {
                    continue;
                }
                if got >= warmup {
                    receives += 1;
                }
                for m in batch.iter() {
                    intact &= m.err == 0 && m.data.len() == MSG_SIZE && seq_of(m.data) == Some(got);
                    got += 1;
                }
            }
            let end = Instant::now();
            let counters_end = cons.counters().ok();
            drop(userlib::current::unbind());
            ConsumerOut {
                received: got - warmup,
                receives,
                end,
                intact,
                counters_end,
            }
        },
        || {
            prod.bind_current_thread(PRIO)
                .expect("binding the producer");
            let chid = chid_rx.recv().expect("receiving the chid");
            let attr = AsyncConnAttr {
                trigger_num_msg: trigger,
                max_num_buffer: SEND_QUEUE,
                buffer_size: MSG_SIZE,
                ..AsyncConnAttr::default()
            };
            let coid =
                asyncmsg::asyncmsg_connect_attach(0, cons.pid(), chid, _NTO_SIDE_CHANNEL, 0, &attr)
                    .expect("asyncmsg_connect_attach");
            let put = |seq: u64| {
                // asyncmsg_malloc, as QNX's docs ask of send buffers: here it recycles the
                // buffers of messages the consumer has taken.
                let mut buf = asyncmsg::asyncmsg_malloc(MSG_SIZE).expect("asyncmsg_malloc");
                buf.copy_from_slice(&message(seq));
                asyncmsg::asyncmsg_put(coid, buf, 0, None)
                    .map_err(|e| e.errno)
                    .expect("asyncmsg_put");
            };
            for seq in 0..warmup {
                put(seq);
            }
            asyncmsg::asyncmsg_flush(coid, 0).expect("asyncmsg_flush (warm-up)");
            let counters_start = Some((
                prod.counters().expect("producer counters"),
                cons.counters().expect("consumer counters"),
            ));
            let s0 = asyncmsg::asyncmsg_connection_stats(coid).expect("connection stats");
            let csw0 = CtxSwitches::now();
            let start = Instant::now();
            for seq in warmup..total {
                put(seq);
            }
            asyncmsg::asyncmsg_flush(coid, 0).expect("asyncmsg_flush");
            let csw = CtxSwitches::now().since(csw0);
            let counters_end = prod.counters().ok();
            let s1 = asyncmsg::asyncmsg_connection_stats(coid).expect("connection stats");
            asyncmsg::asyncmsg_connect_detach(coid).expect("asyncmsg_connect_detach");
            drop(userlib::current::unbind());
            ProducerOut {
                start,
                csw,
                counters_start,
                counters_end,
                conn: Some(conn_stats_delta(&s0, &s1)),
            }
        },
    );
    let run = assemble(Model::Async(trigger), placement, n, c, p, ccsw);
    drop(prod);
    drop(cons);
    run
}

/// The SRR model: a fresh kernel; the server process's thread creates a channel and loops on
/// `MsgReceive` (64-byte buffer) and `MsgReply` (zero bytes); the client process's thread
/// `MsgSend`s each 64-byte message with a zero-byte reply buffer.
///
/// # Panics
/// If a kernel call fails (the process aborts: a thread panicked).
pub fn srr_throughput(placement: Placement, warmup: u64, n: u64) -> ThroughputRun {
    use userlib::qnx;
    let k = Kernel::new(Config::default()).expect("Kernel::new");
    let server = Process::new_in(&k).expect("server process");
    let client = Process::new_in(&k).expect("client process");
    let total = warmup + n;
    let (chid_tx, chid_rx) = crossbeam_channel::bounded::<i32>(1);
    let (c, p, ccsw) = run_two(
        placement,
        || {
            server
                .bind_current_thread(PRIO)
                .expect("binding the server");
            let chid = qnx::channel_create(0).expect("ChannelCreate");
            chid_tx.send(chid).expect("handing the chid over");
            let mut buf = [0u8; MSG_SIZE];
            let mut intact = true;
            let mut end = Instant::now();
            for seq in 0..total {
                let rcvid = qnx::msg_receive(chid, &mut buf, None).expect("MsgReceive");
                intact &= rcvid > 0 && seq_of(&buf) == Some(seq);
                if seq + 1 == total {
                    end = Instant::now();
                }
                qnx::msg_reply(rcvid, 0, &[]).expect("MsgReply");
            }
            let counters_end = server.counters().ok();
            drop(userlib::current::unbind());
            ConsumerOut {
                received: n,
                receives: n,
                end,
                intact,
                counters_end,
            }
        },
        || {
            client
                .bind_current_thread(PRIO)
                .expect("binding the client");
            let chid = chid_rx.recv().expect("receiving the chid");
            let coid = qnx::connect_attach(0, server.pid(), chid, _NTO_SIDE_CHANNEL, 0)
                .expect("ConnectAttach");
            for seq in 0..warmup {
                qnx::msg_send(coid, &message(seq), &mut []).expect("MsgSend");
            }
            let counters_start = Some((
                client.counters().expect("client counters"),
                server.counters().expect("server counters"),
            ));
            let csw0 = CtxSwitches::now();
            let start = Instant::now();
            for seq in warmup..total {
                qnx::msg_send(coid, &message(seq), &mut []).expect("MsgSend");
            }
            let csw = CtxSwitches::now().since(csw0);
            let counters_end = client.counters().ok();
            drop(userlib::current::unbind());
            ProducerOut {
                start,
                csw,
                counters_start,
                counters_end,
                conn: None,
            }
        },
    );
    let run = assemble(Model::Srr, placement, n, c, p, ccsw);
    drop(client);
    drop(server);
    run
}

/// The crossbeam baseline: `bounded(`[`CROSSBEAM_CAP`]`)` of `[u8; 64]`, one `send` and one
/// `recv` per message. After the warm-up messages the consumer acknowledges on a second
/// channel before the producer starts the clock.
pub fn crossbeam_throughput(placement: Placement, warmup: u64, n: u64) -> ThroughputRun {
    let (tx, rx) = crossbeam_channel::bounded::<[u8; MSG_SIZE]>(CROSSBEAM_CAP);
    let (ack_tx, ack_rx) = crossbeam_channel::bounded::<()>(1);
    let total = warmup + n;
    let (c, p, ccsw) = run_two(
        placement,
        move || {
            let mut intact = true;
            for seq in 0..total {
                if seq == warmup {
                    ack_tx.send(()).expect("acknowledging the warm-up");
                }
                let m = rx.recv().expect("recv");
                intact &= seq_of(&m) == Some(seq);
            }
            if warmup == total {
                ack_tx.send(()).expect("acknowledging the warm-up");
            }
            ConsumerOut {
                received: n,
                receives: n,
                end: Instant::now(),
                intact,
                counters_end: None,
            }
        },
        move || {
            for seq in 0..warmup {
                tx.send(message(seq)).expect("send");
            }
            ack_rx.recv().expect("waiting for the warm-up");
            let csw0 = CtxSwitches::now();
            let start = Instant::now();
            for seq in warmup..total {
                tx.send(message(seq)).expect("send");
            }
            ProducerOut {
                start,
                csw: CtxSwitches::now().since(csw0),
                counters_start: None,
                counters_end: None,
                conn: None,
            }
        },
    );
    assemble(Model::Crossbeam, placement, n, c, p, ccsw)
}
