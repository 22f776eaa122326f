//! The baselines, and the message protocol every model shares: one implementation of each,
//! used by `compare` and by the focused benchmarks (`srr_roundtrip`, `async_throughput`).
//!
//! Baselines (no simulated kernel):
//!
//! * [`futex_round_trip`]: the floor for a blocking hand-off: two mailboxes, each a futex word
//!   (alone on its cache lines) and `msg_size` bytes; a side copies its message in, bumps the
//!   peer's word, `FUTEX_WAKE`s it (always: no "is anyone waiting" shortcut, as kernel-sim's
//!   wake does not take one either), then `FUTEX_WAIT`s on its own word (checked once, no
//!   spinning).
//! * [`spin_futex_round_trip`]: the floor for a blocking round trip across CPUs: the same
//!   mailboxes, but a side waiting for its answer first spins on the word for up to the
//!   simulated kernel's default spin budget ([`spin_budget`], `Config::spin_ns`, checking the
//!   monotonic clock every [`SPIN_CHECK`] looks), then announces that it sleeps (a bit in the
//!   word) and `FUTEX_WAIT`s; the poster `FUTEX_WAKE`s only if that bit was set. The same rule
//!   as the kernel's waits, without its choice of when to spin: this side spins on every
//!   placement, so on one CPU it burns its budget while the peer cannot run.
//! * [`pipe_round_trip`]: two pipes, blocking `write`/`read` of `msg_size` bytes each way.
//! * [`unix_socket_round_trip`]: a `socketpair(AF_UNIX, SOCK_STREAM)`, `msg_size` bytes each
//!   way (reads loop until the whole message is in).
//! * [`crossbeam_one_way`]: `crossbeam_channel::bounded` carrying `[u8; msg_size]` arrays from
//!   P producers (cloned senders) to one consumer. Fixed arrays, not a `Box<[u8]>` per message:
//!   a box allocated by the producer and freed by the consumer measures glibc's cross-thread
//!   `free` more than the channel (here 2-4.5 M msgs/s boxed against 9-25 M msgs/s for
//!   `[u8; 64]` arrays, cross-CPU), and arrays are what the asyncmsg-against-crossbeam target
//!   has always been measured against. The price: an array is copied into the channel's slot
//!   and out again (two copies; asyncmsg makes one). Sizes are const generics:
//!   [`CROSSBEAM_SIZES`] lists those supported.
//! * [`spsc_ring_one_way`]: a single-producer single-consumer ring in shared memory
//!   (`mmap(MAP_SHARED | MAP_ANONYMOUS)`): fixed slots of `msg_size` bytes, head and tail
//!   counters on separate cache lines, each side spinning briefly then yielding when the ring is
//!   empty (full). The producer copies each message into its slot; the consumer checks it in
//!   place. No system call on the message path.
//! * [`spsc_batch_one_way`]: the same ring, but the producer publishes its tail once every
//!   [`RING_BATCH`] messages (and whenever the ring is full or a part of the run ends), and the
//!   consumer reads every published message before it publishes its head: the hardware's
//!   ceiling for one-way throughput. Every message is still checked.
//!
//! The message protocol, used by [`super::workloads`] too (the threads and their phases are
//! [`crate::harness::run_threads`]):
//!
//! * One-way messages carry `(producer << 48) | seq` in their first 8 bytes and a timestamp
//!   (nanoseconds since the run's epoch, an `Instant`) in the next 8 ([`fill`]); a [`Checker`]
//!   on the consumer side counts every message, accepts one only if it is the next of its
//!   producer (so every message exactly once, in each producer's order) and records
//!   put-to-receipt latency. Saturated runs stamp one message in [`STAMP_EVERY`] (a clock read
//!   costs about 40 ns here, as much as a whole crossbeam message); paced runs stamp every one.
//! * Round-trip requests carry their sequence number, which the reply echoes ([`ServerCheck`],
//!   [`client_round_trips`]); the client times every round trip.
//! * Each run gives a [`Sample`]; [`summarise`] turns a model's samples into a [`Record`] of
//!   medians.

use super::record::Record;
use crate::futex;
use crate::harness::{
    median, new_histogram, record_round_trips, run_threads, Marks, Placement, Threads, Usage,
};
use hdrhistogram::Histogram;
use std::cell::{Cell, UnsafeCell};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use userlib::ProcCounters;

/// Saturated one-way runs stamp the messages whose sequence number is a multiple of this (a
/// prime, so stamped messages fall at every position of an asyncmsg batch).
pub const STAMP_EVERY: u64 = 17;

/// Smallest message the one-way models carry: the tag and the timestamp.
pub const MIN_ONE_WAY_SIZE: usize = 16;

/// Smallest round-trip message: the sequence number.
pub const MIN_ROUND_TRIP_SIZE: usize = 8;

/// The message sizes [`crossbeam_one_way`] supports (its messages are `[u8; N]`).
pub const CROSSBEAM_SIZES: [usize; 13] = [
    16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
];

/// Spins of an empty (full) SPSC ring before each side starts yielding the CPU.
pub const RING_SPINS: u32 = 128;

/// Messages the batch-publishing ring's producer writes between two publications of its tail
/// (at most a quarter of the ring, for rings of big messages).
pub const RING_BATCH: u64 = 256;

/// How many times the spin-then-futex ping-pong looks at its word between two looks at the
/// clock (as the simulated kernel's spin does).
pub const SPIN_CHECK: u32 = 64;

/// The spin-then-futex ping-pong's spin budget: the simulated kernel's default
/// (`Config::default().spin_ns`), so the baseline spins as long as SRR's waits may.
pub fn spin_budget() -> Duration {
    Duration::from_nanos(u64::from(userlib::Config::default().spin_ns))
}

/// Bits of a message tag that hold the sequence number (the producer index sits above them).
const SEQ_BITS: u32 = 48;

// ----------------------------------------------------------------------------- what one run gives

/// The simulated kernel's counters over a run's timed part (see [`super::workloads`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelFigures {
    /// The producing (client) process's counters: its producer threads and its asyncmsg
    /// library thread.
    pub producer: ProcCounters,
    /// The consuming (server) process's counters.
    pub consumer: ProcCounters,
    /// `Kernel::kernel_entries`: every process of the run's kernel together (the two above,
    /// unless a model has more).
    pub kernel_entries: u64,
    /// asyncmsg: the producers' connections' library counters (`asyncmsg_connection_stats`),
    /// summed over the connections.
    pub conn: Option<ConnFigures>,
}

impl KernelFigures {
    /// Kernel entries of every process of the run (producers, consumer, asyncmsg library
    /// threads).
    pub fn entries(&self) -> u64 {
        self.producer.kernel_entries + self.consumer.kernel_entries
    }

    /// Kernel entries of the producing (client) process alone, its library thread included.
    pub fn sender_entries(&self) -> u64 {
        self.producer.kernel_entries
    }

    /// Threads the kernel readied (its `wakeups` counter: a waiter caught while it spun is
    /// readied without a futex wake).
    pub fn wakeups(&self) -> u64 {
        self.producer.wakeups + self.consumer.wakeups
    }

    /// Blocks that spun on their wait word before sleeping, both processes.
    pub fn spins(&self) -> u64 {
        self.producer.spins + self.consumer.spins
    }

    /// Of those, the ones whose wake-up came while spinning.
    pub fn spin_wakeups(&self) -> u64 {
        self.producer.spin_wakeups + self.consumer.spin_wakeups
    }
}

/// What an asyncmsg connection's library counters (`AsyncConnStats`) moved by over a run's
/// timed part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnFigures {
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

/// One measured run of one model.
#[derive(Debug)]
pub struct Sample {
    /// Messages (round trips) the producers sent in the timed part.
    pub sent: u64,
    /// Messages the consumer received and found correct (right producer, next in sequence,
    /// intact) in the timed part; round trips whose request and reply were both correct.
    pub received: u64,
    /// The timed part: from the start (all threads released together) to the consumer's
    /// receipt of the last message (the client's last reply, for round trips).
    pub elapsed: Duration,
    /// Latency per round trip, or put to receipt (stamped messages), in nanoseconds.
    pub latency: Histogram<u64>,
    /// The process's context switches and CPU time over the timed part.
    pub usage: Usage,
    /// The simulated kernel's counters (its models only).
    pub kernel: Option<KernelFigures>,
    /// Receive calls that returned messages in the timed part, where a model counts them
    /// (asyncmsg: `asyncmsg_get`s that returned a batch); `None`: one per message.
    pub receives: Option<u64>,
}

impl Sample {
    /// Messages (round trips) received per second.
    pub fn msgs_per_s(&self) -> f64 {
        self.received as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Messages per receive call (1 where a model does not count its receives).
    pub fn msgs_per_receive(&self) -> f64 {
        self.received as f64 / self.receives.unwrap_or(self.received).max(1) as f64
    }
}

/// Fills `template`'s figures with the medians of `samples` (the identifying fields are kept):
/// rate and its range over the runs, latency percentiles (each the median of the runs'
/// percentiles), per-message counters; and each run's rate, in the order of `samples` (round
/// order, for [`super::workloads::run_plan`]).
/// `msgs_per_run` is the number of timed messages each run was asked for. `msgs_sent` and
/// `msgs_received` are the last run's, or those of a run that lost messages if there was one
/// (so a failure is never hidden by a later good run).
pub fn summarise(mut template: Record, msgs_per_run: u64, samples: &[Sample]) -> Record {
    let per = |s: &Sample, v: u64| v as f64 / s.received.max(1) as f64;
    let med = |f: &dyn Fn(&Sample) -> f64| median(&samples.iter().map(f).collect::<Vec<_>>());
    let med_opt = |f: &dyn Fn(&Sample) -> Option<f64>| {
        let v: Vec<f64> = samples.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| median(&v))
    };
    let pct = |q: f64| {
        move |s: &Sample| {
            (!s.latency.is_empty()).then(|| s.latency.value_at_quantile(q) as f64 / 1000.0)
        }
    };
    let r = &mut template;
    r.runs = samples.len() as u32;
    r.msgs_per_run = msgs_per_run;
    if let Some(s) = samples
        .iter()
        .find(|s| s.received != s.sent)
        .or(samples.last())
    {
        r.msgs_sent = s.sent;
        r.msgs_received = s.received;
    }
    r.set_run_rates(samples.iter().map(Sample::msgs_per_s).collect());
    r.p50_us = med_opt(&pct(0.5));
    r.p99_us = med_opt(&pct(0.99));
    r.p999_us = med_opt(&pct(0.999));
    r.kernel_entries_per_msg = med_opt(&|s| s.kernel.map(|k| per(s, k.entries())));
    r.sender_entries_per_msg = med_opt(&|s| s.kernel.map(|k| per(s, k.sender_entries())));
    r.wakeups_per_msg = med_opt(&|s| s.kernel.map(|k| per(s, k.wakeups())));
    r.spins_per_msg = med_opt(&|s| s.kernel.map(|k| per(s, k.spins())));
    r.spin_wakeups_per_msg = med_opt(&|s| s.kernel.map(|k| per(s, k.spin_wakeups())));
    r.voluntary_csw_per_msg = med(&|s| per(s, s.usage.voluntary));
    r.involuntary_csw_per_msg = med(&|s| per(s, s.usage.involuntary));
    // (The sum of the two medians, so that the three figures the table shows side by side add
    // up: with several runs the median of each run's total need not.)
    r.ctx_switches_per_msg = r.voluntary_csw_per_msg + r.involuntary_csw_per_msg;
    r.cpu_ns_per_msg = med(&|s| per(s, s.usage.cpu_ns));
    template
}

// ----------------------------------------------------------------------------- messages

/// What a one-way run is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneWay {
    /// Where the threads run.
    pub placement: Placement,
    /// Bytes per message (at least [`MIN_ONE_WAY_SIZE`]).
    pub msg_size: usize,
    /// Producer threads.
    pub producers: u32,
    /// Untimed messages per producer before the timed part.
    pub warmup: u64,
    /// Timed messages per producer.
    pub per_producer: u64,
    /// Paced: the interval between one producer's messages (None: as fast as it can).
    pub pace: Option<Duration>,
}

impl OneWay {
    /// Timed messages of all producers.
    pub fn timed(&self) -> u64 {
        self.per_producer * u64::from(self.producers)
    }

    /// Whether message `seq` carries a timestamp.
    pub fn stamped(&self, seq: u64) -> bool {
        self.pace.is_some() || seq.is_multiple_of(STAMP_EVERY)
    }

    /// Message `seq`'s stamp for [`fill`]: the time since `epoch` if it is
    /// [`stamped`](Self::stamped), else 0.
    pub fn stamp(&self, seq: u64, epoch: Instant) -> u64 {
        if self.stamped(seq) {
            stamp_now(epoch)
        } else {
            0
        }
    }

    /// Panics if the run cannot be measured: messages too short for their header, no
    /// producer (or more than the tag holds), too many messages for the sequence numbers.
    pub fn check(&self) {
        assert!(
            self.msg_size >= MIN_ONE_WAY_SIZE,
            "one-way messages need at least {MIN_ONE_WAY_SIZE} bytes"
        );
        assert!(self.producers >= 1 && self.producers < 1 << 15);
        assert!(self.warmup + self.per_producer < 1 << SEQ_BITS);
    }
}

/// Nanoseconds from `epoch` to now, at least 1 (0 means "not stamped").
pub fn stamp_now(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Writes a one-way message's header into `buf`: the tag `(producer << 48) | seq`, then `stamp`
/// (0: not stamped). The rest of the buffer is left as it is.
pub fn fill(buf: &mut [u8], producer: u32, seq: u64, stamp: u64) {
    let tag = (u64::from(producer) << SEQ_BITS) | seq;
    buf[..8].copy_from_slice(&tag.to_le_bytes());
    buf[8..16].copy_from_slice(&stamp.to_le_bytes());
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// The clock, read at most once per batch of messages received together.
#[derive(Debug)]
pub struct LazyNow {
    epoch: Instant,
    now: Option<u64>,
}

impl LazyNow {
    /// Not read yet.
    pub fn new(epoch: Instant) -> LazyNow {
        LazyNow { epoch, now: None }
    }

    /// Nanoseconds since the epoch, read on first use.
    pub fn get(&mut self) -> u64 {
        *self.now.get_or_insert_with(|| stamp_now(self.epoch))
    }
}

/// The consumer's check of one-way messages: every message exactly once, in each producer's
/// order; put-to-receipt latency of the stamped timed ones.
#[derive(Debug)]
pub struct Checker {
    next: Vec<u64>,
    warmup: u64,
    msg_size: usize,
    /// Messages seen, good or bad, warm-up included.
    pub got: u64,
    /// Messages rejected (wrong producer, out of sequence, wrong length, error).
    pub bad: u64,
    /// Put-to-receipt latencies of stamped timed messages, nanoseconds.
    pub hist: Histogram<u64>,
}

impl Checker {
    /// A checker for `producers` producers each sending `warmup` untimed messages first.
    pub fn new(producers: u32, warmup: u64, msg_size: usize) -> Checker {
        Checker {
            next: vec![0; producers as usize],
            warmup,
            msg_size,
            got: 0,
            bad: 0,
            hist: new_histogram(),
        }
    }

    /// Checks one message (`None`: a message that arrived with an error).
    pub fn check(&mut self, data: Option<&[u8]>, now: &mut LazyNow) {
        self.got += 1;
        let Some((tag, stamp)) = data
            .filter(|d| d.len() == self.msg_size)
            .and_then(|d| Some((u64_at(d, 0)?, u64_at(d, 8)?)))
        else {
            self.bad += 1;
            return;
        };
        let (p, seq) = ((tag >> SEQ_BITS) as usize, tag & ((1 << SEQ_BITS) - 1));
        match self.next.get_mut(p) {
            Some(next) if *next == seq => {
                *next += 1;
                if seq >= self.warmup && stamp != 0 {
                    self.hist.saturating_record(now.get().saturating_sub(stamp));
                }
            }
            _ => self.bad += 1,
        }
    }

    /// Timed messages received correctly.
    pub fn timed_ok(&self) -> u64 {
        self.next
            .iter()
            .map(|&n| n.saturating_sub(self.warmup))
            .sum()
    }
}

/// Waits until each next message is due, for paced runs: the schedule is absolute (message `i`
/// is due at `start + i * interval`), and the wait yields the CPU in a loop (sleeps cannot hit
/// tens of microseconds), so a paced producer's CPU time counts the wait too.
#[derive(Debug)]
pub struct Pacer {
    interval: Option<Duration>,
    next: Option<Instant>,
}

impl Pacer {
    /// A pacer (no pacing for `None`).
    pub fn new(interval: Option<Duration>) -> Pacer {
        Pacer {
            interval,
            next: None,
        }
    }

    /// Returns when the next message is due (at once for the first, and when not paced).
    pub fn wait(&mut self) {
        let Some(iv) = self.interval else { return };
        let due = *self.next.get_or_insert_with(Instant::now);
        loop {
            let now = Instant::now();
            if now >= due {
                break;
            }
            if due - now > Duration::from_micros(300) {
                std::thread::sleep(due - now - Duration::from_micros(200));
            } else {
                std::thread::yield_now();
            }
        }
        self.next = Some(due + iv);
    }
}

/// A one-way consumer's result.
#[derive(Debug)]
pub struct ConsumerEnd {
    /// When it received the last message.
    pub end: Instant,
    /// Its checks.
    pub checker: Checker,
    /// Receive calls that returned messages in the timed part, if the model counts them
    /// ([`Sample::receives`]).
    pub receives: Option<u64>,
}

impl OneWay {
    /// The consumer's part: `receive(checker)` (which checks one or more messages) until every
    /// message has been checked, with the timed part starting when the warm-up's messages have
    /// been (or at the end, if `receive` went past that point) and ending after the last.
    pub fn consume(&self, ph: &impl Marks, mut receive: impl FnMut(&mut Checker)) -> ConsumerEnd {
        let mut chk = Checker::new(self.producers, self.warmup, self.msg_size);
        let warm = self.warmup * u64::from(self.producers);
        let total = warm + self.timed();
        let mut started = false;
        while chk.got < total {
            if chk.got == warm && !started {
                ph.start();
                started = true;
            }
            receive(&mut chk);
        }
        if !started {
            ph.start();
        }
        let end = Instant::now();
        ph.finish();
        ConsumerEnd {
            end,
            checker: chk,
            receives: None,
        }
    }

    /// One producer's part: `send(seq)` for its warm-up messages, then for its timed ones between
    /// [`Marks::start`] and [`Marks::finish`], each when its [`Pacer`] says it is due.
    /// `after_part(timed)` runs after each part's messages, before its phase mark (asyncmsg
    /// flushes there).
    pub fn produce(
        &self,
        ph: &impl Marks,
        mut send: impl FnMut(u64),
        mut after_part: impl FnMut(bool),
    ) {
        for seq in 0..self.warmup {
            send(seq);
        }
        after_part(false);
        ph.start();
        let mut pacer = Pacer::new(self.pace);
        for seq in self.warmup..self.warmup + self.per_producer {
            pacer.wait();
            send(seq);
        }
        after_part(true);
        ph.finish();
    }
}

/// The [`Sample`] of a one-way run from its threads' results.
pub fn one_way_sample<K, P>(
    w: &OneWay,
    t: Threads<K, ConsumerEnd, P>,
    kernel: Option<KernelFigures>,
) -> Sample {
    Sample {
        sent: w.timed(),
        received: t.consumer.checker.timed_ok(),
        elapsed: t.consumer.end.saturating_duration_since(t.start),
        latency: t.consumer.checker.hist,
        usage: t.usage,
        kernel,
        receives: t.consumer.receives,
    }
}

/// Queue depth (messages outstanding) for a one-way run: 1024 messages, fewer for big ones
/// (at most 2 MiB in flight), at least 64. Deeper queues of big messages measure cache misses
/// more than the mechanism: with 16 MiB in flight, 16 and 64 KiB one-way rates here were 2 to
/// 4 times lower for asyncmsg, crossbeam and the ring alike (SRR, one message in flight, did
/// not change).
pub fn queue_depth(msg_size: usize) -> usize {
    ((2 << 20) / msg_size.max(1))
        .clamp(64, 1024)
        .next_power_of_two()
}

// ----------------------------------------------------------------------------- round trips

/// What a round-trip run is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundTrip {
    /// Where the two threads run (server = consumer CPU, client = producer CPU).
    pub placement: Placement,
    /// Bytes per request and per reply (at least [`MIN_ROUND_TRIP_SIZE`]).
    pub msg_size: usize,
    /// Untimed round trips first.
    pub warmup: u64,
    /// Timed round trips.
    pub n: u64,
}

/// The server side's count of requests out of sequence.
#[derive(Debug, Default)]
pub struct ServerCheck {
    next: u64,
    /// Bad requests in the timed part.
    pub bad_timed: u64,
    warmup: u64,
}

impl ServerCheck {
    /// For `warmup` untimed round trips first.
    pub fn new(warmup: u64) -> ServerCheck {
        ServerCheck {
            next: 0,
            bad_timed: 0,
            warmup,
        }
    }

    /// Checks a request (its first 8 bytes must be the next sequence number, its length
    /// `len == expected`) and writes that number into `reply`.
    pub fn check(&mut self, req: &[u8], len_ok: bool, reply: &mut [u8]) {
        let seq = self.next;
        self.next += 1;
        if (!len_ok || u64_at(req, 0) != Some(seq)) && seq >= self.warmup {
            self.bad_timed += 1;
        }
        reply[..8].copy_from_slice(&seq.to_le_bytes());
    }
}

/// The client side of a round-trip run: `warmup` untimed round trips, the start, `n` timed
/// ones (each latency recorded), the finish. `trip(seq, request, reply)` makes one round trip
/// with `request` already numbered; the reply must echo the number. Returns the latencies,
/// the timed part's length and the timed round trips whose reply was right.
pub fn client_round_trips(
    ph: &impl Marks,
    rt: &RoundTrip,
    mut trip: impl FnMut(&[u8], &mut [u8]),
) -> (Histogram<u64>, Duration, u64) {
    let mut req = vec![0x5au8; rt.msg_size];
    let mut reply = vec![0u8; rt.msg_size];
    let mut seq = 0u64;
    let mut ok = 0u64;
    let mut one = |req: &mut [u8], reply: &mut [u8]| {
        req[..8].copy_from_slice(&seq.to_le_bytes());
        trip(req, reply);
        let good = u64_at(reply, 0) == Some(seq);
        seq += 1;
        good
    };
    for _ in 0..rt.warmup {
        one(&mut req, &mut reply);
    }
    ph.start();
    let trips = record_round_trips(0, rt.n, || {
        if one(&mut req, &mut reply) {
            ok += 1;
        }
    });
    ph.finish();
    (trips.hist, trips.elapsed, ok)
}

/// The [`Sample`] of a round-trip run.
pub fn round_trip_sample<K>(
    rt: &RoundTrip,
    t: Threads<K, u64, (Histogram<u64>, Duration, u64)>,
    kernel: Option<KernelFigures>,
) -> Sample {
    let server_bad = t.consumer;
    let (hist, elapsed, client_ok) = t.producers.into_iter().next().expect("one client");
    Sample {
        sent: rt.n,
        received: client_ok.saturating_sub(server_bad),
        elapsed,
        latency: hist,
        usage: t.usage,
        kernel,
        receives: None,
    }
}

/// How a mailbox's taker waits for the next message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    /// Check the word once, then `FUTEX_WAIT`; the poster always `FUTEX_WAKE`s. The word counts
    /// the messages posted.
    Futex,
    /// Spin on the word for up to this long (the clock read every [`SPIN_CHECK`] looks), then
    /// set [`SLEEPING`] in it and `FUTEX_WAIT`; the poster `FUTEX_WAKE`s only if it finds that
    /// bit set. The word is `(posts << 1) | SLEEPING`.
    SpinThenFutex(Duration),
}

/// The spin-then-futex word's "the taker sleeps (or is about to): wake me" bit.
const SLEEPING: u32 = 1;

/// A one-way futex mailbox of any size: a futex word (on its own cache lines) and the message.
/// Only a strict ping-pong may use it: one side posts, the other takes, and the first posts
/// again only after the other has answered.
#[derive(Debug)]
struct Mailbox {
    word: Padded<AtomicU32>,
    data: UnsafeCell<Box<[u8]>>,
    waiting: Waiting,
}

/// A value alone on its 128-byte block (two cache lines: the adjacent-line prefetcher too).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

// SAFETY: `data` is written by `post` and read by `take` only; the ping-pong protocol (see the
// type's docs) makes them alternate, and each hand-over is ordered by the Release update of
// `word` in `post` and the Acquire load of it in `take`, so no access to `data` races another.
unsafe impl Sync for Mailbox {}

impl Mailbox {
    fn new(size: usize, waiting: Waiting) -> Mailbox {
        Mailbox {
            word: Padded(AtomicU32::new(0)),
            data: UnsafeCell::new(vec![0u8; size].into_boxed_slice()),
            waiting,
        }
    }

    /// Copies `msg` in and moves the word on. [`Waiting::Futex`]: bumps the word and
    /// `FUTEX_WAKE`s the peer (always: no "is anyone waiting" shortcut). [`Waiting::SpinThenFutex`]:
    /// stores the next post count with the sleeping bit clear, and `FUTEX_WAKE`s only if the bit
    /// was set.
    fn post(&self, msg: &[u8]) {
        // SAFETY: by the ping-pong protocol the peer is not reading `data` now (it read the
        // previous message before answering, and will not read again until the word moves).
        unsafe { (*self.data.get()).copy_from_slice(msg) };
        let word = &self.word.0;
        match self.waiting {
            Waiting::Futex => {
                word.fetch_add(1, Ordering::Release);
                futex::wake(word, 1);
            }
            Waiting::SpinThenFutex(_) => {
                // Only this side changes the count (the taker only sets SLEEPING, keeping the
                // count), so the count read here is current; the swap clears the bit and tells
                // whether it was set, in one step, so a taker that set it is always woken.
                let posts = (word.load(Ordering::Relaxed) >> 1).wrapping_add(1);
                if word.swap(posts << 1, Ordering::Release) & SLEEPING != 0 {
                    futex::wake(word, 1);
                }
            }
        }
    }

    /// Waits until the post count moves past `seen`, copies the message out and returns the
    /// new count.
    fn take(&self, seen: u32, out: &mut [u8]) -> u32 {
        let s = match self.waiting {
            Waiting::Futex => {
                let word = &self.word.0;
                let mut s = word.load(Ordering::Acquire);
                while s == seen {
                    futex::wait(word, seen);
                    s = word.load(Ordering::Acquire);
                }
                s
            }
            Waiting::SpinThenFutex(budget) => self.spin_then_wait(seen, budget),
        };
        // SAFETY: the Acquire load saw the poster's Release update, so its write of `data` is
        // complete and visible; it will not write again until this side answers.
        out.copy_from_slice(unsafe { &*self.data.get() });
        s
    }

    /// [`Waiting::SpinThenFutex`]'s wait: spin on the word for up to `budget` (the clock read
    /// once per [`SPIN_CHECK`] looks), then set [`SLEEPING`] and `FUTEX_WAIT` until the count
    /// moves past `seen`. Returns the new count.
    fn spin_then_wait(&self, seen: u32, budget: Duration) -> u32 {
        let word = &self.word.0;
        let start = Instant::now();
        loop {
            for _ in 0..SPIN_CHECK {
                let w = word.load(Ordering::Acquire);
                if w >> 1 != seen {
                    return w >> 1;
                }
                std::hint::spin_loop();
            }
            if start.elapsed() >= budget {
                break;
            }
        }
        loop {
            let w = word.load(Ordering::Acquire);
            if w >> 1 != seen {
                return w >> 1;
            }
            // Announce the sleep; if the poster moved the word meanwhile, look again. The
            // futex wait sleeps only while the word still says "count `seen`, sleeping".
            if w & SLEEPING == 0
                && word
                    .compare_exchange(w, w | SLEEPING, Ordering::Acquire, Ordering::Acquire)
                    .is_err()
            {
                continue;
            }
            futex::wait(word, w | SLEEPING);
        }
    }
}

/// The futex baseline: `msg_size` bytes each way through two futex mailboxes, no spinning.
pub fn futex_round_trip(rt: &RoundTrip) -> Sample {
    mailbox_round_trip(rt, Waiting::Futex)
}

/// The spin-then-futex baseline: as [`futex_round_trip`], but each side spins for up to
/// [`spin_budget`] before it sleeps, and is woken only if it announced its sleep.
pub fn spin_futex_round_trip(rt: &RoundTrip) -> Sample {
    mailbox_round_trip(rt, Waiting::SpinThenFutex(spin_budget()))
}

/// `msg_size` bytes each way through two mailboxes whose takers wait as `waiting` says.
fn mailbox_round_trip(rt: &RoundTrip, waiting: Waiting) -> Sample {
    assert!(rt.msg_size >= MIN_ROUND_TRIP_SIZE);
    let to_server = Mailbox::new(rt.msg_size, waiting);
    let to_client = Mailbox::new(rt.msg_size, waiting);
    let total = rt.warmup + rt.n;
    let t = run_threads(
        rt.placement,
        1,
        || (),
        |ph| {
            let mut chk = ServerCheck::new(rt.warmup);
            let mut req = vec![0u8; rt.msg_size];
            let mut reply = vec![0xa5u8; rt.msg_size];
            let mut seen = 0;
            for i in 0..total {
                if i == rt.warmup {
                    ph.start();
                }
                seen = to_server.take(seen, &mut req);
                chk.check(&req, true, &mut reply);
                to_client.post(&reply);
            }
            if total == rt.warmup {
                ph.start();
            }
            ph.finish();
            chk.bad_timed
        },
        |_, ph| {
            let mut seen = 0;
            client_round_trips(ph, rt, |req, reply| {
                to_server.post(req);
                seen = to_client.take(seen, reply);
            })
        },
    );
    round_trip_sample(rt, t, None)
}

/// A byte-stream round trip (pipes, sockets): the server reads whole requests from `sr` and
/// writes replies to `sw`; the client writes requests to `cw` and reads replies from `cr`.
fn stream_round_trip(
    rt: &RoundTrip,
    (mut sr, mut sw): (impl Read + Send, impl Write + Send),
    (cr, cw): (impl Read + Send, impl Write + Send),
) -> Sample {
    assert!(rt.msg_size >= MIN_ROUND_TRIP_SIZE);
    let total = rt.warmup + rt.n;
    let client = std::sync::Mutex::new(Some((cr, cw)));
    let t = run_threads(
        rt.placement,
        1,
        || (),
        move |ph| {
            let mut chk = ServerCheck::new(rt.warmup);
            let mut req = vec![0u8; rt.msg_size];
            let mut reply = vec![0xa5u8; rt.msg_size];
            for i in 0..total {
                if i == rt.warmup {
                    ph.start();
                }
                sr.read_exact(&mut req).expect("server read");
                chk.check(&req, true, &mut reply);
                sw.write_all(&reply).expect("server write");
            }
            if total == rt.warmup {
                ph.start();
            }
            ph.finish();
            chk.bad_timed
        },
        |_, ph| {
            let (mut cr, mut cw) = client
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .expect("one client");
            client_round_trips(ph, rt, |req, reply| {
                cw.write_all(req).expect("client write");
                cr.read_exact(reply).expect("client read");
            })
        },
    );
    round_trip_sample(rt, t, None)
}

/// The pipe baseline: two pipes (client to server, server to client), blocking `write` and
/// `read` of `msg_size` bytes each way (reads loop until the whole message is in).
pub fn pipe_round_trip(rt: &RoundTrip) -> Sample {
    let (up_r, up_w) = nix::unistd::pipe().expect("pipe");
    let (down_r, down_w) = nix::unistd::pipe().expect("pipe");
    stream_round_trip(
        rt,
        (std::fs::File::from(up_r), std::fs::File::from(down_w)),
        (std::fs::File::from(down_r), std::fs::File::from(up_w)),
    )
}

/// The Unix-socket baseline: `socketpair(AF_UNIX, SOCK_STREAM)`, `msg_size` bytes each way.
pub fn unix_socket_round_trip(rt: &RoundTrip) -> Sample {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    use std::os::unix::net::UnixStream;
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair");
    let (server, client) = (UnixStream::from(a), UnixStream::from(b));
    let server2 = server.try_clone().expect("dup");
    let client2 = client.try_clone().expect("dup");
    stream_round_trip(rt, (server, server2), (client, client2))
}

// ----------------------------------------------------------------------------- one-way baselines

/// The crossbeam baseline: `bounded(`[`queue_depth`]`)` of `[u8; msg_size]`, P producers with
/// cloned senders, one consumer. `msg_size` must be one of [`CROSSBEAM_SIZES`].
///
/// # Panics
/// For another size.
pub fn crossbeam_one_way(w: &OneWay) -> Sample {
    macro_rules! by_size {
        ($($n:literal)*) => {
            match w.msg_size {
                $($n => crossbeam_sized::<$n>(w),)*
                other => panic!("crossbeam: unsupported message size {other} (one of {CROSSBEAM_SIZES:?})"),
            }
        };
    }
    by_size!(16 32 64 128 256 512 1024 2048 4096 8192 16384 32768 65536)
}

fn crossbeam_sized<const N: usize>(w: &OneWay) -> Sample {
    w.check();
    let (tx, rx) = crossbeam_channel::bounded::<[u8; N]>(queue_depth(N));
    let epoch = Instant::now();
    let t = run_threads(
        w.placement,
        w.producers,
        || (),
        move |ph| {
            w.consume(ph, |chk| {
                let m = rx.recv().expect("recv");
                chk.check(Some(&m), &mut LazyNow::new(epoch));
            })
        },
        move |i, ph| {
            let tx = tx.clone();
            let send = |seq: u64| {
                let mut m = [0x5au8; N];
                fill(&mut m, i, seq, w.stamp(seq, epoch));
                tx.send(m).expect("send");
            };
            w.produce(ph, send, |_| {});
        },
    );
    one_way_sample(w, t, None)
}

/// The SPSC ring's shared memory: a header page (head on its own 128 bytes at offset 0, tail at
/// offset 128) and `slots` slots of `slot_size` bytes after it, addressed by offsets only. An
/// anonymous `MAP_SHARED` mapping for two threads ([`Ring::new`]), or a file mapped
/// `MAP_SHARED` by two processes, each at its own address ([`Ring::create_file`],
/// [`Ring::open_file`]): the same ring either way.
#[derive(Debug)]
pub struct Ring {
    base: std::ptr::NonNull<std::ffi::c_void>,
    len: usize,
    slots: u64,
    slot_size: usize,
}

const RING_HEAD: usize = 0;
const RING_TAIL: usize = 128;
const RING_DATA: usize = 4096;

// SAFETY: the mapping is plain shared memory owned by the Ring; its counters are accessed only
// as atomics, and its slots under the single-producer single-consumer protocol (a slot is
// written only while outside [head, tail) and read only while inside, the hand-over ordered by
// the tail's and head's Release stores and Acquire loads).
unsafe impl Send for Ring {}
// SAFETY: as for Send: all shared access goes through the atomics and that protocol.
unsafe impl Sync for Ring {}

impl Ring {
    /// Bytes of a ring of `slots` slots of `slot_size` bytes.
    fn bytes(slots: u64, slot_size: usize) -> usize {
        assert!(slots.is_power_of_two());
        RING_DATA + slots as usize * slot_size
    }

    /// A ring in anonymous shared memory, for two threads.
    pub fn new(slots: u64, slot_size: usize) -> Ring {
        use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
        let len = Ring::bytes(slots, slot_size);
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing: it aliases
        // no Rust object. It is unmapped only by Drop.
        let base = unsafe {
            mmap_anonymous(
                None,
                std::num::NonZeroUsize::new(len).expect("non-empty ring"),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .expect("mmap of the SPSC ring");
        Ring {
            base,
            len,
            slots,
            slot_size,
        }
    }

    /// A new, empty ring in a new file at `path` (mode 0600), mapped shared: another process
    /// maps the same ring with [`Ring::open_file`].
    pub fn create_file(path: &std::path::Path, slots: u64, slot_size: usize) -> Ring {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .unwrap_or_else(|e| panic!("creating the ring's file {}: {e}", path.display()));
        // A new file's bytes read as zeros: an empty ring (head = tail = 0).
        f.set_len(Ring::bytes(slots, slot_size) as u64)
            .expect("sizing the ring's file");
        Ring::map(&f, slots, slot_size)
    }

    /// The ring another process made at `path` with [`Ring::create_file`] with the same
    /// `slots` and `slot_size`.
    pub fn open_file(path: &std::path::Path, slots: u64, slot_size: usize) -> Ring {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("opening the ring's file {}: {e}", path.display()));
        let len = f.metadata().expect("the ring file's size").len();
        assert_eq!(
            len,
            Ring::bytes(slots, slot_size) as u64,
            "a ring file of another shape"
        );
        Ring::map(&f, slots, slot_size)
    }

    fn map(f: &std::fs::File, slots: u64, slot_size: usize) -> Ring {
        use nix::sys::mman::{mmap, MapFlags, ProtFlags};
        use std::os::fd::AsFd;
        let len = Ring::bytes(slots, slot_size);
        // SAFETY: a new shared mapping of a file as long as `len`, at an address of the kernel's
        // choosing: it aliases no Rust object. Other processes reach the same bytes only
        // through their own mappings and the ring's protocol. It is unmapped only by Drop.
        let base = unsafe {
            mmap(
                None,
                std::num::NonZeroUsize::new(len).expect("non-empty ring"),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                f.as_fd(),
                0,
            )
        }
        .expect("mmap of the SPSC ring's file");
        Ring {
            base,
            len,
            slots,
            slot_size,
        }
    }

    fn counter(&self, off: usize) -> &AtomicU64 {
        // SAFETY: the mapping is page-aligned and starts zero-filled, so `off` (0 or 128) is an
        // aligned, initialised AtomicU64 inside it; it lives as long as `self`, and is only
        // accessed atomically (by every process that maps it).
        unsafe { &*self.base.as_ptr().cast::<u8>().add(off).cast::<AtomicU64>() }
    }

    fn head(&self) -> &AtomicU64 {
        self.counter(RING_HEAD)
    }

    fn tail(&self) -> &AtomicU64 {
        self.counter(RING_TAIL)
    }

    fn slot(&self, i: u64) -> *mut u8 {
        let at = RING_DATA + (i & (self.slots - 1)) as usize * self.slot_size;
        // SAFETY: `at + slot_size <= len`: the offset stays inside the mapping.
        unsafe { self.base.as_ptr().cast::<u8>().add(at) }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new` or `map`, unmapped once; no reference into it
        // outlives `self` (counters and slices borrow `self`).
        unsafe {
            let _ = nix::sys::mman::munmap(self.base, self.len);
        }
    }
}

/// Spins [`RING_SPINS`] times, then yields the CPU at each call.
#[derive(Debug, Default)]
struct Backoff(u32);

impl Backoff {
    fn snooze(&mut self) {
        if self.0 < RING_SPINS {
            self.0 += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }

    fn reset(&mut self) {
        self.0 = 0;
    }
}

/// The SPSC-ring baseline: one producer, one consumer, [`queue_depth`] slots of `msg_size`
/// bytes in shared memory. The producer builds each message in its own buffer and copies it
/// into the next free slot, then publishes the tail; the consumer checks every message between
/// its head and the tail in place, then publishes the head (once per run of messages: one
/// clock read and one head store per run).
///
/// # Panics
/// If `producers` is not 1.
pub fn spsc_ring_one_way(w: &OneWay) -> Sample {
    ring_one_way(w, 1)
}

/// The batch-publishing SPSC ring: as [`spsc_ring_one_way`], but the producer publishes its
/// tail once every [`ring_batch`] messages (and when the ring is full or a part of the run
/// ends), so the consumer finds whole batches: one tail store, one head store and one clock
/// read per batch instead of per message. Every message is still copied in and checked.
///
/// # Panics
/// If `producers` is not 1.
pub fn spsc_batch_one_way(w: &OneWay) -> Sample {
    ring_one_way(w, ring_batch(w.msg_size))
}

/// Messages between two tail publications of the batch-publishing ring for `msg_size`:
/// [`RING_BATCH`], or a quarter of the ring if that is less (rings of big messages are short).
pub fn ring_batch(msg_size: usize) -> u64 {
    RING_BATCH.min(queue_depth(msg_size) as u64 / 4).max(1)
}

/// The ring's run between two threads: see [`ring_consume`] and [`ring_produce`].
fn ring_one_way(w: &OneWay, publish_every: u64) -> Sample {
    w.check();
    assert_eq!(w.producers, 1, "the SPSC ring has one producer");
    let ring = Ring::new(queue_depth(w.msg_size) as u64, w.msg_size);
    let epoch = Instant::now();
    let ring = &ring;
    let t = run_threads(
        w.placement,
        1,
        || (),
        move |ph| ring_consume(ring, w, ph, epoch),
        move |_, ph| ring_produce(ring, w, ph, publish_every, |seq| w.stamp(seq, epoch)),
    );
    one_way_sample(w, t, None)
}

/// The ring's consumer: checks everything published (its latencies against `epoch`), then
/// publishes its head; spins, then yields, while the ring is empty.
pub fn ring_consume(ring: &Ring, w: &OneWay, ph: &impl Marks, epoch: Instant) -> ConsumerEnd {
    w.check();
    let total = w.warmup + w.timed();
    let mut head = 0u64;
    let mut backoff = Backoff::default();
    w.consume(ph, |chk| {
        let limit = if head < w.warmup { w.warmup } else { total };
        let tail = ring.tail().load(Ordering::Acquire).min(limit);
        if tail == head {
            backoff.snooze();
            return;
        }
        backoff.reset();
        let mut now = LazyNow::new(epoch);
        for i in head..tail {
            // SAFETY: slot `i` is in [head, tail): the producer wrote it before its Release
            // store of the tail that our Acquire load saw, and will not write it again until
            // our head store passes it.
            let m = unsafe { std::slice::from_raw_parts(ring.slot(i), ring.slot_size) };
            chk.check(Some(m), &mut now);
        }
        head = tail;
        ring.head().store(head, Ordering::Release);
    })
}

/// The ring's one producer: publishes its tail every `publish_every` messages, when the ring
/// is full, and at the end of each part (warm-up, timed); spins, then yields, while the ring
/// is full. `stamp(seq)` is message `seq`'s timestamp for [`fill`] (0: none).
pub fn ring_produce(
    ring: &Ring,
    w: &OneWay,
    ph: &impl Marks,
    publish_every: u64,
    stamp: impl Fn(u64) -> u64,
) {
    let mut buf = vec![0x5au8; w.msg_size];
    // Shared by `put` and the end-of-part publication (Cells: no borrow flags on the message
    // path).
    let (tail, published) = (Cell::new(0u64), Cell::new(0u64));
    let publish = || {
        if published.get() != tail.get() {
            ring.tail().store(tail.get(), Ordering::Release);
            published.set(tail.get());
        }
    };
    let mut head_seen = 0u64;
    let mut backoff = Backoff::default();
    let put = |seq: u64| {
        let t = tail.get();
        while t - head_seen == ring.slots {
            // Full: whatever is unpublished must go out, or the consumer never frees a slot.
            publish();
            head_seen = ring.head().load(Ordering::Acquire);
            if t - head_seen == ring.slots {
                backoff.snooze();
            }
        }
        backoff.reset();
        fill(&mut buf, 0, seq, stamp(seq));
        // SAFETY: slot `t` is outside [head, tail) (the ring is not full): the consumer
        // finished reading it before its Release store of a head past it, which our Acquire
        // load saw, and will not read it before our tail store.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), ring.slot(t), ring.slot_size) };
        tail.set(t + 1);
        if t + 1 - published.get() >= publish_every {
            publish();
        }
    };
    w.produce(ph, put, |_| publish());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_way(producers: u32) -> OneWay {
        OneWay {
            placement: Placement::Unpinned,
            msg_size: 64,
            producers,
            warmup: 10,
            per_producer: 500,
            pace: None,
        }
    }

    /// A run of `received` of `sent` messages in `ms` milliseconds, with latencies `lat_ns`.
    fn sample(sent: u64, received: u64, ms: u64, lat_ns: &[u64], kernel: bool) -> Sample {
        let mut latency = crate::harness::new_histogram();
        for &v in lat_ns {
            latency.record(v).expect("in range");
        }
        Sample {
            sent,
            received,
            elapsed: Duration::from_millis(ms),
            latency,
            usage: Usage {
                voluntary: received / 10,
                involuntary: received / 100,
                cpu_ns: received * 200,
            },
            // Entries: 1 per message by the producer, 2 by the consumer (3 in all); wake-ups:
            // 2 per message.
            kernel: kernel.then_some(KernelFigures {
                producer: ProcCounters {
                    kernel_entries: received,
                    ..ProcCounters::default()
                },
                consumer: ProcCounters {
                    kernel_entries: received * 2,
                    wakeups: received * 2,
                    spins: received,
                    spin_wakeups: received / 2,
                    ..ProcCounters::default()
                },
                kernel_entries: received * 3,
                conn: None,
            }),
            receives: None,
        }
    }

    #[test]
    fn summarise_takes_medians_of_runs_and_per_message_figures() {
        let t = Record::new(
            "SRR",
            crate::compare::record::Workload::OneWay,
            64,
            1,
            1,
            "cross-cpu",
        );
        // Rates 2000, 1000 and 4000 msgs/s: the median is 2000.
        let runs = [
            sample(1000, 1000, 500, &[5_000, 5_000, 5_000], true),
            sample(1000, 1000, 1000, &[1_000, 2_000, 3_000], true),
            sample(1000, 1000, 250, &[9_000, 9_000, 9_000], true),
        ];
        let r = summarise(t.clone(), 1000, &runs);
        assert_eq!((r.runs, r.msgs_per_run), (3, 1000));
        assert!((r.msgs_per_s - 2000.0).abs() < 1e-6, "{}", r.msgs_per_s);
        // Each run's rate, in the order of the runs (not sorted).
        let rates: Vec<f64> = r.run_msgs_per_s.iter().map(|v| v.round()).collect();
        assert_eq!(rates, [2000.0, 1000.0, 4000.0]);
        // The range over the runs.
        let (lo, hi) = (
            r.msgs_per_s_min.expect("min"),
            r.msgs_per_s_max.expect("max"),
        );
        assert!(
            (lo - 1000.0).abs() < 1e-6 && (hi - 4000.0).abs() < 1e-6,
            "{lo} {hi}"
        );
        // Spins and spin wake-ups per message; no pace outside paced runs.
        assert_eq!(r.spins_per_msg, Some(1.0));
        assert_eq!(r.spin_wakeups_per_msg, Some(0.5));
        assert_eq!(r.pace_missed, None);
        // p50 of each run: 2, 5, 9 µs; the median of those is 5.
        let p50 = r.p50_us.expect("latencies recorded");
        assert!((p50 - 5.0).abs() < 0.01, "{p50}");
        assert!(r.p99_us.unwrap() >= p50 && r.p999_us.unwrap() >= r.p99_us.unwrap());
        assert_eq!(r.kernel_entries_per_msg, Some(3.0));
        assert_eq!(r.sender_entries_per_msg, Some(1.0));
        assert_eq!(r.wakeups_per_msg, Some(2.0));
        assert!((r.voluntary_csw_per_msg - 0.1).abs() < 1e-9);
        assert!((r.involuntary_csw_per_msg - 0.01).abs() < 1e-9);
        assert!((r.ctx_switches_per_msg - 0.11).abs() < 1e-9);
        assert!((r.cpu_ns_per_msg - 200.0).abs() < 1e-9);
        assert_eq!((r.msgs_sent, r.msgs_received), (1000, 1000));

        // A baseline: no kernel figures, no latencies.
        let b = summarise(t.clone(), 10, &[sample(10, 10, 1, &[], false)]);
        assert_eq!(
            (b.kernel_entries_per_msg, b.wakeups_per_msg, b.p50_us),
            (None, None, None)
        );
        assert_eq!((b.spins_per_msg, b.spin_wakeups_per_msg), (None, None));
        assert_eq!(
            (b.msgs_per_s_min, b.msgs_per_s_max),
            (Some(10_000.0), Some(10_000.0))
        );

        // A run that lost messages is the one reported, even if a later run was whole.
        let lossy = [
            sample(100, 100, 10, &[1_000], true),
            sample(100, 97, 10, &[1_000], true),
            sample(100, 100, 10, &[1_000], true),
        ];
        let l = summarise(t, 100, &lossy);
        assert_eq!((l.msgs_sent, l.msgs_received), (100, 97));
    }

    #[test]
    fn checker_accepts_each_message_once_in_order() {
        let mut c = Checker::new(2, 1, 16);
        let epoch = Instant::now();
        let mut m = [0u8; 16];
        for (p, seq) in [(0, 0), (1, 0), (0, 1), (1, 1), (1, 1), (0, 3), (1, 2)] {
            fill(&mut m, p, seq, 1);
            c.check(Some(&m), &mut LazyNow::new(epoch));
        }
        c.check(None, &mut LazyNow::new(epoch));
        assert_eq!((c.got, c.bad), (8, 3));
        // Timed (seq >= 1) and accepted: (0,1), (1,1), (1,2).
        assert_eq!(c.timed_ok(), 3);
        assert_eq!(c.hist.len(), 3);
    }

    #[test]
    fn baselines_deliver_every_message() {
        for s in [
            crossbeam_one_way(&one_way(3)),
            spsc_ring_one_way(&one_way(1)),
            spsc_batch_one_way(&one_way(1)),
        ] {
            assert_eq!(s.received, s.sent, "{s:?}");
            assert!(s.msgs_per_s() > 0.0);
        }
        let rt = RoundTrip {
            placement: Placement::Unpinned,
            msg_size: 100,
            warmup: 5,
            n: 200,
        };
        for s in [
            futex_round_trip(&rt),
            spin_futex_round_trip(&rt),
            pipe_round_trip(&rt),
            unix_socket_round_trip(&rt),
        ] {
            assert_eq!((s.sent, s.received), (200, 200), "{s:?}");
            assert_eq!(s.latency.len(), 200);
        }
    }

    #[test]
    fn spin_then_futex_sleeps_and_is_woken_on_every_placement() {
        // No spin budget: every take announces its sleep and waits on the futex, so every post
        // must see the bit and wake (a lost wake-up hangs the test). Then the real budget on
        // one CPU, where a side spins while its peer cannot run and must sleep in the end.
        for (placement, budget) in [
            (Placement::Unpinned, Duration::ZERO),
            (
                Placement::same_cpu().unwrap_or(Placement::Unpinned),
                Duration::ZERO,
            ),
            (
                Placement::same_cpu().unwrap_or(Placement::Unpinned),
                spin_budget(),
            ),
        ] {
            let rt = RoundTrip {
                placement,
                msg_size: 64,
                warmup: 5,
                n: 300,
            };
            let s = mailbox_round_trip(&rt, Waiting::SpinThenFutex(budget));
            assert_eq!((s.sent, s.received), (300, 300), "{placement:?} {budget:?}");
        }
        assert_eq!(
            spin_budget(),
            Duration::from_nanos(u64::from(userlib::Config::default().spin_ns))
        );
    }

    #[test]
    fn batch_ring_publishes_when_full_and_at_each_part_end() {
        // 64 KiB messages: a ring of 64 slots, published every 16; 150 messages per part is
        // no multiple of 16, so the last ones go out only with the end-of-part publication.
        assert_eq!(ring_batch(65536), 16);
        assert_eq!(ring_batch(64), RING_BATCH);
        let w = OneWay {
            placement: Placement::Unpinned,
            msg_size: 65536,
            producers: 1,
            warmup: 150,
            per_producer: 150,
            pace: None,
        };
        let s = spsc_batch_one_way(&w);
        assert_eq!((s.sent, s.received), (150, 150), "{s:?}");
        // 64 B messages: 1024 slots, published every 256; 5000 messages lap the ring, so the
        // producer also waits on a full ring.
        let w = OneWay {
            msg_size: 64,
            warmup: 10,
            per_producer: 5000,
            ..w
        };
        let s = spsc_batch_one_way(&w);
        assert_eq!((s.sent, s.received), (5000, 5000), "{s:?}");
    }

    #[test]
    fn queue_depth_bounds() {
        assert_eq!(queue_depth(64), 1024);
        assert_eq!(queue_depth(2048), 1024);
        assert_eq!(queue_depth(4096), 512);
        assert_eq!(queue_depth(65536), 64);
        assert!(queue_depth(1 << 30) >= 64);
    }
}
