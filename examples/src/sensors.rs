//! Sensors: a producer/consumer pipeline over asynchronous messaging, or over SRR to compare.
//!
//! A producer process samples `--sensors` simulated sensors `--rate` times a second each. Every
//! sample is a reading (sensor id, per-sensor sequence number, timestamp, a simulated value,
//! padded to `--msg-size` bytes) that it hands to a consumer process, which keeps per-sensor
//! min/max/mean and checks the sequence numbers: nothing lost, duplicated or reordered.
//!
//! * `--model asyncmsg` (default): the producer `asyncmsg_put`s each reading without entering
//!   the kernel; the library delivers them in batches, when `--trigger-num-msg` readings are
//!   pending or `--trigger-time-ms` after a batch's first reading, whichever comes first. The
//!   consumer takes whole batches with `asyncmsg_get`.
//! * `--model srr`: the same pipeline with one `MsgSend` per reading (zero-byte reply): the
//!   producer blocks until the consumer has received each one. The trigger options do not
//!   apply and are refused.
//!
//! Sampling is bounded by `--duration-ms`: a producer that cannot keep `--rate` (too many
//! sensors, too large readings) samples the ticks that were due for at most [`CATCH_UP`] more,
//! then stops, in the middle of a tick if need be; the report says how much of what was asked
//! it sent.
//!
//! After the last reading the producer sends an end-of-run message (sensor id `u32::MAX`,
//! carrying the number of whole ticks and of readings in all) and, for asyncmsg, flushes. Kernel
//! entries are counted from just before the first sample to the end of the run.
//!
//! No wait is unbounded: if either side fails, the run ends with its error (the other side is
//! not left waiting), and if neither the producer's sampling nor the consumer's receiving moves
//! for [`STALL_BASE`], the run ends with an error that names the side still blocked.
//!
//! ```text
//! cargo run --release -p examples --bin sensors -- --sensors 8 --rate 2000 --trigger-num-msg 32
//! cargo run --release -p examples --bin sensors -- --model srr --json
//! ```
//!
//! `--pidin` prints what `pidin-sim` shows (processes with their counters, threads, channels,
//! connections, asyncmsg's ready list and send queue, pools) half-way through the sampling.
//!
//! `--processes` runs the producer and the consumer as separate Linux programs on one kernel
//! (`examples::programs`): this program makes the kernel, starts the consumer program, then
//! the producer program against the consumer's pid and chid, and passes the producer's figures
//! on to the consumer, which prints the report. Timestamps are CLOCK_MONOTONIC nanoseconds,
//! which mean the same in every program.
//!
//! `--json` prints one object on one line. Its top-level fields:
//!
//! | field | what |
//! |---|---|
//! | `model` | `"asyncmsg"` or `"srr"` |
//! | `sensors`, `rate`, `msg_size`, `duration_ms` | the options |
//! | `trigger_num_msg`, `trigger_time_ms` | asyncmsg's triggers; `null` for srr |
//! | `messages_sent`, `messages_received` | readings put or sent, and readings the consumer took |
//! | `requested_per_sensor` | the samples per sensor `--rate` and `--duration-ms` ask for; `null` with `--rate 0` |
//! | `rate_kept` | whether the producer sampled all of them (it stops half a second after `--duration-ms`, however far behind); `null` with `--rate 0` |
//! | `batches` | asyncmsg: `asyncmsg_get` calls that returned readings; `null` for srr |
//! | `sender_triggers` | asyncmsg: deliveries the producer's library started; `null` for srr |
//! | `kernel_entries`, `kernel_entries_per_message` | the producer process's kernel entries |
//! | `library_kernel_entries` | asyncmsg: the part of them its library made for the connection; `null` for srr |
//! | `consumer_kernel_entries`, `consumer_kernel_entries_per_message` | the consumer process's |
//! | `msgs_per_s`, `elapsed_s` | readings per second, from the first sample to the end message |
//! | `lost`, `duplicated`, `bad` | readings missing, seen twice, or malformed |
//! | `latency_p50_us`, `latency_p99_us`, `latency_max_us` | sample to processing |
//! | `ok` | every reading arrived exactly once, in order |
//! | `per_sensor` | one object per sensor: `sensor`, `readings`, `min`, `max`, `mean` (`null` without readings), `lost`, `duplicated` |

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use examples::observe::{self, ObserveArgs};
use examples::programs::{self, role_args, tell_launcher, Commands, Peer, Program, SharedKernel};
use examples::{await_moment, join_all, pidin, Context, Failure, Named};
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use userlib::asyncmsg::{self, AsyncConnAttr};
use userlib::consts::_NTO_SIDE_CHANNEL;
use userlib::{Channel, Connection, Kernel, Process, Received};

/// Bytes of a reading's header: sensor id (u32), flags (u32), sequence (u64), timestamp in ns
/// since the run began (u64), value (f64), little-endian.
const HEADER: usize = 32;

/// The sensor id of the end-of-run message.
const END: u32 = u32::MAX;

/// Messages an `asyncmsg_get` takes at most.
const GET_MAX: u32 = 256;

/// The largest count trigger: the connection's send queue (twice the trigger, at least 1024
/// slots) must hold a whole count-triggered batch, and asyncmsg's queues have at most 65536.
const MAX_TRIGGER_NUM_MSG: u32 = 4096;

/// How long the run may go without the producer sampling or the consumer receiving anything
/// (either moves at least once a second while the run is healthy) before it is taken to hang.
const STALL_BASE: Duration = Duration::from_secs(10);

/// [`STALL_BASE`], or a day while a student steps (`observe::patience`).
fn stall() -> Duration {
    observe::patience(STALL_BASE)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModelArg {
    /// Batched asynchronous messages.
    Asyncmsg,
    /// One MsgSend per reading.
    Srr,
}

impl ModelArg {
    fn name(self) -> &'static str {
        match self {
            ModelArg::Asyncmsg => "asyncmsg",
            ModelArg::Srr => "srr",
        }
    }
}

#[derive(Parser, Debug, Clone)]
#[command(
    name = "sensors",
    version,
    about = "A producer samples simulated sensors and sends the readings to a consumer \
                   by asyncmsg (batched) or SRR (one MsgSend each)"
)]
struct Args {
    /// Simulated sensors, 1 to 65536.
    #[arg(long, default_value_t = 4, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    sensors: u32,
    /// Samples per second per sensor, 0 to 1000000 (0: as fast as the pipeline goes).
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    rate: u32,
    /// Bytes per reading message, 32 (the header) to 65536.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(HEADER as i64..=65_536))]
    msg_size: u32,
    /// asyncmsg only: deliver when this many readings are pending, 0 to 4096 (0: off).
    #[arg(long, default_value_t = 16, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(0..=MAX_TRIGGER_NUM_MSG as i64))]
    trigger_num_msg: u32,
    /// asyncmsg only: deliver this many ms after a batch's first reading, 0 to 60000 (0: off).
    #[arg(long, default_value_t = 10, allow_negative_numbers = true, value_parser = examples::u64_in(0, 60_000))]
    trigger_time_ms: u64,
    /// How long to sample, in ms, 1 to 3600000 (with --rate > 0: rate * duration samples per
    /// sensor). A producer that falls behind --rate stops 500 ms after it at the latest, even
    /// in the middle of a tick, and the report says the requested rate was not reached.
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true, value_parser = examples::u64_in(1, 3_600_000))]
    duration_ms: u64,
    /// The messaging model.
    #[arg(long, value_enum, default_value_t = ModelArg::Asyncmsg)]
    model: ModelArg,
    /// Print exactly one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
    /// Also print what pidin-sim shows half-way through the sampling (not with --json).
    #[arg(long)]
    pidin: bool,
    /// Run the producer and the consumer as separate Linux programs sharing one kernel (this
    /// program starts them) instead of simulated processes of this one.
    #[arg(long)]
    processes: bool,
    /// --trace FILE, --diagram FILE.svg, --step: watch the run (examples/src/observe.rs).
    #[command(flatten)]
    observe: ObserveArgs,
    /// The part a program of a --processes run plays (set by the example itself).
    #[arg(long, value_enum, hide = true)]
    role: Option<Role>,
    /// The consumer's PID:CHID, for the producer program of a --processes run.
    #[arg(long, hide = true)]
    peer: Option<Peer>,
    /// The run's start, in CLOCK_MONOTONIC ns, for the programs of a --processes run.
    #[arg(long, hide = true)]
    start_ns: Option<u64>,
}

/// The programs of a `--processes` run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Role {
    /// Takes the readings, and prints the report.
    Consumer,
    /// Samples the sensors and sends the readings.
    Producer,
}

impl Args {
    /// The options, parsed and checked: each within its range (clap), and the ones that
    /// depend on `--model` consistent with it. Exits with a usage error (status 2) otherwise.
    fn parse_checked() -> Args {
        let mut cmd = Args::command();
        let matches = cmd.get_matches_mut();
        let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        if args.pidin && args.json {
            cmd.error(
                clap::error::ErrorKind::ArgumentConflict,
                "--pidin and --json cannot be used together (--json prints exactly one JSON object)",
            )
            .exit();
        }
        match args.model {
            ModelArg::Srr => {
                let asyncmsg_only: Vec<&str> = [
                    ("trigger_num_msg", "--trigger-num-msg"),
                    ("trigger_time_ms", "--trigger-time-ms"),
                ]
                .into_iter()
                .filter(|(id, _)| given(id))
                .map(|(_, flag)| flag)
                .collect();
                if !asyncmsg_only.is_empty() {
                    cmd.error(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!(
                            "{} applies only to --model asyncmsg (--model srr sends each reading at once)",
                            asyncmsg_only.join(" and ")
                        ),
                    )
                    .exit();
                }
            }
            ModelArg::Asyncmsg => {
                if args.trigger_num_msg == 0 && args.trigger_time_ms == 0 {
                    cmd.error(
                        clap::error::ErrorKind::ArgumentConflict,
                        "--model asyncmsg needs a trigger: --trigger-num-msg or --trigger-time-ms \
                         (or both) must be above 0, or the readings are never delivered",
                    )
                    .exit();
                }
            }
        }
        args
    }
}

/// Now on CLOCK_MONOTONIC, in ns: what readings are stamped with and latencies measured
/// against. Unlike an `Instant`, it means the same in every program of a `--processes` run.
fn now_ns() -> u64 {
    use nix::time::{clock_gettime, ClockId};
    clock_gettime(ClockId::CLOCK_MONOTONIC).map_or(0, |t| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
            + u64::try_from(t.tv_nsec()).unwrap_or(0)
    })
}

/// Time since `start_ns` (a [`now_ns`] reading).
fn since(start_ns: u64) -> Duration {
    Duration::from_nanos(now_ns().saturating_sub(start_ns))
}

/// One reading, as it travels.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Reading {
    sensor: u32,
    seq: u64,
    ts_ns: u64,
    value: f64,
}

impl Reading {
    fn encode(&self, size: usize) -> Vec<u8> {
        let mut m = vec![0u8; size];
        self.encode_into(&mut m);
        m
    }

    /// Writes the reading into `m` (at least `HEADER` bytes), padding the rest with 0xab.
    fn encode_into(&self, m: &mut [u8]) {
        m[0..4].copy_from_slice(&self.sensor.to_le_bytes());
        m[4..8].copy_from_slice(&0u32.to_le_bytes());
        m[8..16].copy_from_slice(&self.seq.to_le_bytes());
        m[16..24].copy_from_slice(&self.ts_ns.to_le_bytes());
        m[24..32].copy_from_slice(&self.value.to_le_bytes());
        m[HEADER..].fill(0xab);
    }

    fn decode(m: &[u8]) -> Option<Reading> {
        let h = m.get(..HEADER)?;
        let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap_or_default());
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap_or_default());
        Some(Reading {
            sensor: u32_at(0),
            seq: u64_at(8),
            ts_ns: u64_at(16),
            value: f64::from_bits(u64_at(24)),
        })
    }
}

/// A simulated sensor: a slow sine around a per-sensor base, plus a little noise.
#[derive(Debug)]
struct Sensor {
    id: u32,
    seq: u64,
    rng: u64,
}

impl Sensor {
    fn new(id: u32) -> Sensor {
        Sensor {
            id,
            seq: 0,
            rng: 0x9e37_79b9_7f4a_7c15 ^ (u64::from(id) + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9),
        }
    }

    fn sample(&mut self, t: Duration) -> Reading {
        // xorshift64: noise in [-0.5, 0.5).
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let noise = (self.rng >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let base = 20.0 + f64::from(self.id % 10);
        let phase = t.as_secs_f64() * 0.5 * std::f64::consts::TAU + f64::from(self.id);
        let r = Reading {
            sensor: self.id,
            seq: self.seq,
            ts_ns: u64::try_from(t.as_nanos()).unwrap_or(u64::MAX),
            value: base + 5.0 * phase.sin() + noise,
        };
        self.seq += 1;
        r
    }
}

/// Per-sensor figures the consumer keeps.
#[derive(Clone, Debug)]
struct Stats {
    count: u64,
    min: f64,
    max: f64,
    sum: f64,
    next_seq: u64,
    lost: u64,
    duplicated: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            next_seq: 0,
            lost: 0,
            duplicated: 0,
        }
    }
}

impl Stats {
    fn mean(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }
}

/// What the consumer found.
#[derive(Debug)]
struct Consumed {
    stats: Vec<Stats>,
    received: u64,
    /// asyncmsg: gets that returned readings (srr takes one message per receive).
    batches: u64,
    bad: u64,
    /// (readings per sensor, readings in all) from the end-of-run message.
    end: Option<(u64, u64)>,
    /// When the end-of-run message was taken ([`now_ns`]).
    end_at: u64,
    latency: Histogram<u64>,
    /// The consumer process's kernel entries then.
    end_entries: u64,
}

/// The consumer's processing: per-sensor stats and sequence checks.
struct Sink {
    stats: Vec<Stats>,
    received: u64,
    bad: u64,
    end: Option<(u64, u64)>,
    /// The run's start ([`now_ns`]), which readings' timestamps count from.
    start: u64,
    latency: Histogram<u64>,
}

impl Sink {
    fn new(sensors: u32, start: u64) -> Sink {
        Sink {
            stats: vec![Stats::default(); sensors as usize],
            received: 0,
            bad: 0,
            end: None,
            start,
            // 1 ns .. 100 s at 3 significant digits: constant, valid bounds.
            latency: Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("histogram bounds"),
        }
    }

    /// Handles one message; returns false once the end-of-run message has arrived.
    fn handle(&mut self, m: &[u8]) -> bool {
        let Some(r) = Reading::decode(m) else {
            self.bad += 1;
            return true;
        };
        if r.sensor == END {
            self.end = Some((r.seq, r.ts_ns));
            return false;
        }
        let Some(s) = self.stats.get_mut(r.sensor as usize) else {
            self.bad += 1;
            return true;
        };
        self.received += 1;
        if r.seq < s.next_seq {
            s.duplicated += 1;
            return true;
        }
        s.lost += r.seq - s.next_seq;
        s.next_seq = r.seq + 1;
        s.count += 1;
        s.min = s.min.min(r.value);
        s.max = s.max.max(r.value);
        s.sum += r.value;
        let age = since(self.start).saturating_sub(Duration::from_nanos(r.ts_ns));
        self.latency
            .saturating_record(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX).max(1));
        true
    }

    fn into_consumed(self, batches: u64, end_at: u64, end_entries: u64) -> Consumed {
        Consumed {
            stats: self.stats,
            received: self.received,
            batches,
            bad: self.bad,
            end: self.end,
            end_at,
            latency: self.latency,
            end_entries,
        }
    }
}

/// What the producer reports.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Produced {
    /// The producer process.
    pid: i32,
    sent: u64,
    per_sensor: u64,
    /// When the first sample was taken ([`now_ns`]).
    first_sample: u64,
    /// The producer process's kernel entries from just before the first sample to the end.
    kernel_entries: u64,
    /// The consumer process's kernel entries just before the first sample.
    consumer_start_entries: u64,
    /// asyncmsg: (triggers, batches the kernel started, library kernel entries).
    conn: Option<(u64, u64, u64)>,
}

impl Produced {
    /// As the producer program tells it to the launcher, which passes it on to the consumer
    /// program: `produced PID SENT PER_SENSOR FIRST_SAMPLE ENTRIES CONSUMER_START TRIGGERS
    /// BATCHES LIBRARY`, the last three `-` without asyncmsg.
    fn to_line(&self) -> String {
        let conn = self
            .conn
            .map_or("- - -".to_string(), |(t, b, l)| format!("{t} {b} {l}"));
        format!(
            "produced {} {} {} {} {} {} {conn}",
            self.pid,
            self.sent,
            self.per_sensor,
            self.first_sample,
            self.kernel_entries,
            self.consumer_start_entries
        )
    }

    /// Reads [`Produced::to_line`]'s words after `produced`.
    fn from_words(w: &[String]) -> Result<Produced, Failure> {
        let bad = || Failure::new(format!("the producer's figures are garbled: {w:?}"));
        if w.len() != 9 {
            return Err(bad());
        }
        let n = |i: usize| w[i].parse::<u64>().map_err(|_| bad());
        let conn = if w[6..] == ["-", "-", "-"] {
            None
        } else {
            Some((n(6)?, n(7)?, n(8)?))
        };
        Ok(Produced {
            pid: w[0].parse().map_err(|_| bad())?,
            sent: n(1)?,
            per_sensor: n(2)?,
            first_sample: n(3)?,
            kernel_entries: n(4)?,
            consumer_start_entries: n(5)?,
            conn,
        })
    }
}

/// What a side of the pipeline ended with.
enum Side {
    Producer(Produced),
    Consumer(Consumed),
}

/// The two sides' threads, named, the consumer first (its failure fails the producer).
type Threads = Vec<Named<Side>>;

/// An atomic counter on a cache line of its own (the two sides run on different CPUs).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Counter(AtomicU64);

/// What the main thread watches to tell a slow run from a hung one.
#[derive(Debug, Default)]
struct Progress {
    /// Readings the producer has sampled (counted at the end of each tick, and every few
    /// readings within one).
    sampled: Counter,
    /// Readings the consumer has taken.
    taken: Counter,
}

impl Progress {
    fn total(&self) -> u64 {
        self.sampled.0.load(Ordering::Relaxed) + self.taken.0.load(Ordering::Relaxed)
    }
}

/// How long past the end of `--duration-ms` the producer may go on sampling: a producer behind
/// its `--rate` samples the ticks that were due (catching up after a pause) for at most this
/// long, then stops, in the middle of a tick if need be (a tick of many sensors can take
/// long); unpaced, a tick under way is finished within it. Sampling never lasts longer than
/// `--duration-ms` plus this, however many sensors, whatever the rate and the message size.
const CATCH_UP: Duration = Duration::from_millis(500);

/// How often (in readings) the producer looks at the clock in the middle of a tick.
const CLOCK_EVERY: usize = 16;

/// The ticks `--rate` and `--duration-ms` ask for (each samples every sensor once); `None`
/// unpaced (`--rate 0`).
fn requested_ticks(args: &Args) -> Option<u64> {
    (args.rate > 0).then(|| (args.duration_ms.saturating_mul(u64::from(args.rate)) / 1000).max(1))
}

/// Samples every sensor once per tick, `rate` ticks a second, for `duration` (unpaced when
/// `rate` is 0), handing each reading to `send`; stops at [`CATCH_UP`] past `duration`
/// whatever is left, even mid-tick. Returns (whole ticks, readings in all): a tick cut short
/// sampled the sensors from 0 up, so sensor `i` has one reading more than the whole ticks
/// for `i` below `readings - ticks * sensors`.
fn sample_loop(
    args: &Args,
    start: u64,
    sampled: &AtomicU64,
    mut send: impl FnMut(&Reading) -> Result<(), Failure>,
) -> Result<(u64, u64), Failure> {
    let mut sensors: Vec<Sensor> = (0..args.sensors).map(Sensor::new).collect();
    let duration = Duration::from_millis(args.duration_ms);
    let ticks = requested_ticks(args).unwrap_or(u64::MAX);
    let period = if args.rate == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs(1) / args.rate
    };
    let t0 = Instant::now();
    let (end, stop) = (t0 + duration, t0 + duration + CATCH_UP);
    let mut tick = 0u64;
    let mut sent = 0u64;
    'ticks: while tick < ticks {
        if args.rate == 0 {
            if Instant::now() >= end {
                break;
            }
        } else {
            // Absolute schedule: a late tick is sampled at once (catching up), never skipped;
            // but not past `stop`.
            let due = t0 + period * u32::try_from(tick).unwrap_or(u32::MAX);
            let now = Instant::now();
            if now >= stop {
                break;
            }
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let t = since(start);
        for (i, s) in sensors.iter_mut().enumerate() {
            if i % CLOCK_EVERY == CLOCK_EVERY - 1 {
                if Instant::now() >= stop {
                    break 'ticks;
                }
                sampled.store(sent, Ordering::Relaxed);
            }
            send(&s.sample(t))?;
            sent += 1;
        }
        tick += 1;
        sampled.store(sent, Ordering::Relaxed);
    }
    Ok((tick, sent))
}

fn end_message(size: usize, per_sensor: u64, total: u64) -> Vec<u8> {
    Reading {
        sensor: END,
        seq: per_sensor,
        ts_ns: total,
        value: 0.0,
    }
    .encode(size)
}

/// An asyncmsg connection that is detached when dropped, so that a producer failing half-way
/// leaves none behind.
struct AsyncCoid {
    coid: i32,
    attached: bool,
}

impl AsyncCoid {
    fn detach(mut self) -> Result<(), Failure> {
        self.attached = false;
        let coid = self.coid;
        asyncmsg::asyncmsg_connect_detach(coid)
            .context(|| format!("asyncmsg_connect_detach(coid {coid:#x})"))
    }
}

impl Drop for AsyncCoid {
    fn drop(&mut self) {
        if self.attached {
            let _ = asyncmsg::asyncmsg_connect_detach(self.coid);
        }
    }
}

/// Reads a process's kernel entries, saying whose on failure.
fn entries(k: &Kernel, pid: i32, whose: &str) -> Result<u64, Failure> {
    k.process_counters(pid)
        .map(|c| c.kernel_entries)
        .context(|| format!("reading the {whose}'s counters (pid {pid})"))
}

/// The asyncmsg consumer: makes the channel, announces it (`on_chid`), and takes batches until
/// the end-of-run message. `me` is its own pid.
fn consume_asyncmsg(
    args: &Args,
    kernel: &Kernel,
    me: i32,
    start: u64,
    pr: &Progress,
    on_chid: impl FnOnce(i32),
) -> Result<Consumed, Failure> {
    let size = args.msg_size as usize;
    let chid = asyncmsg::asyncmsg_channel_create(0, 0o600, size, GET_MAX, None, None)
        .context(|| format!("asyncmsg_channel_create({size}-byte buffers x {GET_MAX})"))?;
    on_chid(chid);
    let mut sink = Sink::new(args.sensors, start);
    let mut batches = 0u64;
    let mut take_all = || -> Result<(), Failure> {
        loop {
            let batch =
                asyncmsg::asyncmsg_get(chid).context(|| format!("asyncmsg_get(chid {chid})"))?;
            if batch.is_empty() {
                continue;
            }
            batches += 1;
            for m in batch.iter() {
                if m.err != 0 {
                    sink.bad += 1;
                } else if !sink.handle(m.data) {
                    // The end-of-run message comes last.
                    return Ok(());
                }
            }
            pr.taken.0.store(sink.received, Ordering::Relaxed);
        }
    };
    if let Err(e) = take_all() {
        // Destroying the channel fails the producer's blocked puts and flush (EBADF)
        // instead of leaving it waiting for a consumer that is gone.
        let _ = asyncmsg::asyncmsg_channel_destroy(chid);
        return Err(e);
    }
    let end_at = now_ns();
    let end = entries(kernel, me, "consumer")?;
    Ok(sink.into_consumed(batches, end_at, end))
}

/// The asyncmsg producer (pid `me`): attaches to the consumer's channel, samples, puts, sends
/// the end-of-run message and flushes.
fn produce_asyncmsg(
    args: &Args,
    kernel: &Kernel,
    me: i32,
    consumer: Peer,
    start: u64,
    pr: &Progress,
) -> Result<Produced, Failure> {
    let size = args.msg_size as usize;
    let Peer {
        pid: cons_pid,
        chid,
    } = consumer;
    let trigger = args.trigger_num_msg;
    let attr = AsyncConnAttr {
        trigger_num_msg: trigger,
        trigger_time: Duration::from_millis(args.trigger_time_ms),
        // Room for several batches: a full queue only blocks the producer until the
        // consumer catches up (and must hold a whole count-triggered batch).
        max_num_buffer: 1024u32.max(trigger.saturating_mul(2).saturating_add(2)),
        buffer_size: size,
        ..AsyncConnAttr::default()
    };
    let coid = asyncmsg::asyncmsg_connect_attach(0, cons_pid, chid, _NTO_SIDE_CHANNEL, 0, &attr)
        .context(|| format!("asyncmsg_connect_attach(pid {cons_pid}, chid {chid})"))?;
    let conn = AsyncCoid {
        coid,
        attached: true,
    };
    let stats = || {
        asyncmsg::asyncmsg_connection_stats(coid)
            .context(|| format!("asyncmsg_connection_stats(coid {coid:#x})"))
    };
    let before = entries(kernel, me, "producer")?;
    let consumer_start_entries = entries(kernel, cons_pid, "consumer")?;
    let s0 = stats()?;
    let first_sample = now_ns();
    let put = |m: Vec<u8>| {
        asyncmsg::asyncmsg_put(coid, m, 0, None)
            .map_err(|e| e.errno)
            .context(|| format!("asyncmsg_put(coid {coid:#x})"))
    };
    // Buffers from asyncmsg_malloc, as QNX's docs ask: the library recycles them once
    // the consumer has taken their messages.
    let (per_sensor, sent) = sample_loop(args, start, &pr.sampled.0, |r| {
        let mut buf =
            asyncmsg::asyncmsg_malloc(size).context(|| format!("asyncmsg_malloc({size})"))?;
        r.encode_into(&mut buf);
        put(buf)
    })?;
    put(end_message(size, per_sensor, sent))?;
    asyncmsg::asyncmsg_flush(coid, 0).context(|| format!("asyncmsg_flush(coid {coid:#x})"))?;
    let after = entries(kernel, me, "producer")?;
    let s1 = stats()?;
    conn.detach()?;
    Ok(Produced {
        pid: me,
        sent,
        per_sensor,
        first_sample,
        kernel_entries: after - before,
        consumer_start_entries,
        conn: Some((
            s1.triggers - s0.triggers,
            s1.batches - s0.batches,
            s1.kernel_entries - s0.kernel_entries,
        )),
    })
}

/// The SRR consumer: makes its channel, announces it (`on_chid`), and receives and replies
/// to each reading until the end-of-run message. `me` is its own pid.
fn consume_srr(
    args: &Args,
    kernel: &Kernel,
    me: i32,
    start: u64,
    pr: &Progress,
    on_chid: impl FnOnce(i32),
) -> Result<Consumed, Failure> {
    let size = args.msg_size as usize;
    let chan = Channel::create(0).context(|| "ChannelCreate")?;
    let chid = chan.chid();
    on_chid(chid);
    let mut sink = Sink::new(args.sensors, start);
    let mut buf = vec![0u8; size];
    loop {
        let got = chan
            .receive(&mut buf)
            .context(|| format!("MsgReceive on chid {chid}"))?;
        match got {
            Received::Message { rcvid, info } => {
                let n = (info.msglen as usize).min(size);
                let going = sink.handle(&buf[..n]);
                let id = rcvid.rcvid();
                rcvid
                    .reply(0, &[])
                    .context(|| format!("MsgReply to rcvid {id:#x}"))?;
                pr.taken.0.store(sink.received, Ordering::Relaxed);
                if !going {
                    break;
                }
            }
            Received::Pulse(_) => {}
        }
    }
    let end_at = now_ns();
    let end = entries(kernel, me, "consumer")?;
    // One reading per receive: there are no batches.
    Ok(sink.into_consumed(0, end_at, end))
}

/// The SRR producer (pid `me`): one MsgSend per reading to the consumer's channel, then the
/// end-of-run message.
fn produce_srr(
    args: &Args,
    kernel: &Kernel,
    me: i32,
    consumer: Peer,
    start: u64,
    pr: &Progress,
) -> Result<Produced, Failure> {
    let size = args.msg_size as usize;
    let Peer {
        pid: cons_pid,
        chid,
    } = consumer;
    let conn = Connection::attach(cons_pid, chid)
        .context(|| format!("ConnectAttach to pid {cons_pid} chid {chid}"))?;
    let coid = conn.coid();
    let before = entries(kernel, me, "producer")?;
    let consumer_start_entries = entries(kernel, cons_pid, "consumer")?;
    let first_sample = now_ns();
    let send = |m: &[u8]| {
        conn.send(m, &mut [])
            .map(drop)
            .context(|| format!("MsgSend on coid {coid:#x}"))
    };
    let (per_sensor, sent) = sample_loop(args, start, &pr.sampled.0, |r| send(&r.encode(size)))?;
    send(&end_message(size, per_sensor, sent))?;
    let after = entries(kernel, me, "producer")?;
    Ok(Produced {
        pid: me,
        sent,
        per_sensor,
        first_sample,
        kernel_entries: after - before,
        consumer_start_entries,
        conn: None,
    })
}

/// The consumer and the producer as threads of the simulated processes `consumer` and
/// `producer`, the consumer first (its failure fails the producer).
fn spawn_sides(
    args: &Args,
    kernel: &Kernel,
    producer: &Process,
    consumer: &Process,
    start: u64,
    progress: &Arc<Progress>,
) -> Result<Threads, Failure> {
    let (chid_tx, chid_rx) = mpsc::channel::<i32>();
    let cons_pid = consumer.pid();
    let (a, k, pr) = (args.clone(), kernel.clone(), progress.clone());
    let cons = consumer
        .spawn(move || {
            let on_chid = |chid| {
                let _ = chid_tx.send(chid);
            };
            match a.model {
                ModelArg::Asyncmsg => consume_asyncmsg(&a, &k, cons_pid, start, &pr, on_chid),
                ModelArg::Srr => consume_srr(&a, &k, cons_pid, start, &pr, on_chid),
            }
            .map(Side::Consumer)
        })
        .context(|| "starting the consumer thread")?;
    let mut threads = vec![("consumer".to_string(), cons)];

    let prod_pid = producer.pid();
    let (a, k, pr) = (args.clone(), kernel.clone(), progress.clone());
    let prod = producer
        .spawn(move || {
            let chid = chid_rx
                .recv_timeout(stall())
                .context(|| "waiting for the consumer's channel")?;
            let consumer = Peer {
                pid: cons_pid,
                chid,
            };
            match a.model {
                ModelArg::Asyncmsg => produce_asyncmsg(&a, &k, prod_pid, consumer, start, &pr),
                ModelArg::Srr => produce_srr(&a, &k, prod_pid, consumer, start, &pr),
            }
            .map(Side::Producer)
        })
        .context(|| "starting the producer thread")?;
    threads.push(("producer".to_string(), prod));
    Ok(threads)
}

fn main() {
    examples::programs::quiet_on_broken_pipe();
    let args = Args::parse_checked();
    if args.processes && args.observe.step {
        eprintln!(
            "error: --step pauses this program's simulated threads: not with --processes (--trace and --diagram record every program)"
        );
        std::process::exit(2);
    }
    if args.role.is_none() {
        // Before anything runs: a bad path must not cost the run.
        args.observe.refuse_bad_outputs("sensors");
    }
    let (who, r) = match args.role {
        Some(role) => (
            format!("sensors ({role:?} program)"),
            programs::role_setup().and_then(|()| run_role(role, &args)),
        ),
        None if args.processes => ("sensors".to_string(), run_programs(&args)),
        None => ("sensors".to_string(), run(&args)),
    };
    match r {
        Ok(ok) => programs::exit(if ok { 0 } else { 1 }),
        Err(e) => {
            // (A launcher a signal is ending says so itself.)
            if !programs::ending() {
                eprintln!("{who}: {e}");
            }
            programs::exit(1);
        }
    }
}

/// Whether the moment `--pidin` shows has come: half the sampling time gone, and the consumer
/// has taken some readings (a quarter of the run's, at most 16), so that the listing shows the
/// pipeline at work even when a loaded machine started a side late.
fn half_way(args: &Args, elapsed: Duration, taken: u64) -> bool {
    let expected = if args.rate == 0 {
        16
    } else {
        (args.duration_ms.saturating_mul(u64::from(args.rate)) / 1000).max(1)
            * u64::from(args.sensors)
    };
    elapsed >= Duration::from_millis(args.duration_ms / 2) && taken >= (expected / 4).clamp(1, 16)
}

/// The moment `--pidin` shows: half-way through the sampling ([`half_way`]).
fn pidin_title(args: &Args) -> String {
    format!(
        "half-way through the sampling ({} ms of {} ms, model {})",
        args.duration_ms / 2,
        args.duration_ms,
        args.model.name()
    )
}

/// Runs the pipeline and prints the report; returns whether every reading arrived once.
fn run(args: &Args) -> Result<bool, Failure> {
    let kernel = Kernel::new(userlib::Config::default()).context(|| "creating the kernel")?;
    let producer = Process::new_in(&kernel).context(|| "creating the producer process")?;
    let consumer = Process::new_in(&kernel).context(|| "creating the consumer process")?;
    let watch = observe::start(
        &args.observe,
        &kernel,
        &[(producer.pid(), "producer"), (consumer.pid(), "consumer")],
    )?;
    let start = now_ns();
    let progress = Arc::new(Progress::default());
    let threads = spawn_sides(args, &kernel, &producer, &consumer, start, &progress)?;
    if args.pidin {
        let half = Duration::from_millis(args.duration_ms / 2);
        let mid = await_moment(
            half + stall(),
            || half_way(args, since(start), progress.taken.0.load(Ordering::Relaxed)),
            || threads.iter().any(|(_, h)| h.is_finished()),
        );
        if mid {
            print!("{}", pidin(&pidin_title(args), &kernel));
        }
    }
    let (mut p, mut c) = (None, None);
    let sides = join_all(threads, stall(), || progress.total())
        .map_err(|e| Failure::new(format!("{e}\nthe kernel's state:\n{}", kernel.snapshot())))?;
    for side in sides {
        match side {
            Side::Producer(x) => p = Some(x),
            Side::Consumer(x) => c = Some(x),
        }
    }
    let (Some(p), Some(c)) = (p, c) else {
        return Err(Failure::new(
            "a side of the pipeline ended without its report",
        ));
    };
    let ok = report(args, consumer.pid(), &p, &c);
    watch.finish()?;
    Ok(ok)
}

// ------------------------------------------------------- --processes: separate programs

/// The launcher of a `--processes` run: makes the kernel, starts the consumer program, then
/// the producer program, passes the producer's figures on to the consumer (which prints the
/// report), and ends every program on every exit path. Returns the consumer's verdict.
fn run_programs(args: &Args) -> Result<bool, Failure> {
    let shared = SharedKernel::create("sensors")?;
    let k = shared.kernel();
    let watch = observe::start_programs(&args.observe, k)?;
    let start = now_ns().to_string();
    let with_start = |mut extra: Vec<String>| {
        extra.extend(["--start-ns".to_string(), start.clone()]);
        extra
    };
    let mut consumer = Program::start(
        &shared,
        "consumer",
        &role_args("consumer", &with_start(vec![])),
    )?;
    let cpid = consumer.pid();
    watch.name_process(cpid, "consumer");
    let chid = consumer
        .expect("chid", stall())?
        .first()
        .and_then(|w| w.parse::<i32>().ok())
        .ok_or_else(|| Failure::new("the consumer program said no chid"))?;
    let peer = Peer { pid: cpid, chid };
    let mut producer = Program::start(
        &shared,
        "producer",
        &role_args(
            "producer",
            &with_start(vec!["--peer".into(), peer.to_string()]),
        ),
    )?;
    let ppid = producer.pid();
    watch.name_process(ppid, "producer");
    if !args.json {
        println!(
            "consumer program pid {cpid} (chid {chid}), producer program pid {ppid} (the kernel: {})",
            shared.path().display()
        );
    }
    // Progress: kernel entries of either side (a consumer that takes readings enters the
    // kernel, and so does a producer that triggers or sends).
    let moving = || {
        [cpid, ppid]
            .iter()
            .map(|&pid| k.process_counters(pid).map_or(0, |c| c.kernel_entries))
            .sum::<u64>()
    };
    if args.pidin {
        let half = Duration::from_millis(args.duration_ms / 2);
        let start_ns: u64 = start.parse().unwrap_or(0);
        let taken = || {
            k.process_counters(cpid)
                .map_or(0, |c| c.msgs_received + c.async_msgs_received)
        };
        let mid = await_moment(
            half + stall(),
            || half_way(args, since(start_ns), taken()),
            || !producer.running() || !consumer.running(),
        );
        if mid {
            print!("{}", pidin(&pidin_title(args), k));
        }
    }
    let produced = producer.expect_progressing("produced", stall(), moving)?;
    consumer.tell(&format!("produced {}", produced.join(" ")))?;
    producer.finish(stall(), || 0)?;
    let verdict = consumer.expect("ok", stall())?;
    consumer.finish(stall(), || 0)?;
    watch.finish()?;
    Ok(verdict.first().map(String::as_str) == Some("true"))
}

/// A program of a `--processes` run, on the kernel `QNXSIM_KERNEL` names. The consumer
/// prints the report (with the producer's figures, passed on by the launcher) and tells the
/// launcher whether every reading arrived once.
fn run_role(role: Role, args: &Args) -> Result<bool, Failure> {
    let kernel = userlib::current::default_kernel().context(|| "joining the shared kernel")?;
    let me = userlib::current::default_pid().context(|| "joining the shared kernel")?;
    let start = args
        .start_ns
        .ok_or_else(|| Failure::new(format!("--role {role:?} needs --start-ns")))?;
    let progress = Progress::default();
    match role {
        Role::Consumer => {
            let commands = Commands::listen();
            let on_chid = |chid| tell_launcher(&format!("chid {chid}"));
            let c = match args.model {
                ModelArg::Asyncmsg => consume_asyncmsg(args, kernel, me, start, &progress, on_chid),
                ModelArg::Srr => consume_srr(args, kernel, me, start, &progress, on_chid),
            }?;
            let p = Produced::from_words(&commands.expect("produced", stall())?)?;
            let ok = report(args, me, &p, &c);
            tell_launcher(&format!("ok {ok}"));
            Ok(true)
        }
        Role::Producer => {
            let consumer = args
                .peer
                .ok_or_else(|| Failure::new("--role producer needs --peer PID:CHID"))?;
            let p = match args.model {
                ModelArg::Asyncmsg => {
                    produce_asyncmsg(args, kernel, me, consumer, start, &progress)
                }
                ModelArg::Srr => produce_srr(args, kernel, me, consumer, start, &progress),
            }?;
            tell_launcher(&p.to_line());
            Ok(true)
        }
    }
}

/// Prints the summary (or the JSON object); returns whether every reading arrived once.
fn report(args: &Args, consumer: i32, p: &Produced, c: &Consumed) -> bool {
    let consumer_entries = c.end_entries.saturating_sub(p.consumer_start_entries);
    let elapsed = Duration::from_nanos(c.end_at.saturating_sub(p.first_sample));
    // The readings each sensor was sampled: the whole ticks, and one more for the first
    // `extra` sensors if the time ran out in the middle of a tick.
    let extra = p
        .sent
        .saturating_sub(p.per_sensor.saturating_mul(u64::from(args.sensors)));
    let expected = |i: usize| p.per_sensor + u64::from((i as u64) < extra);
    let missing = |i: usize, s: &Stats| s.lost + expected(i).saturating_sub(s.next_seq);
    let lost: u64 = c.stats.iter().enumerate().map(|(i, s)| missing(i, s)).sum();
    let duplicated: u64 = c.stats.iter().map(|s| s.duplicated).sum();
    let ok = c.received == p.sent
        && lost == 0
        && duplicated == 0
        && c.bad == 0
        && c.end == Some((p.per_sensor, p.sent))
        && c.stats
            .iter()
            .enumerate()
            .all(|(i, s)| s.count == expected(i));
    // Whether every tick `--rate` and `--duration-ms` ask for was sampled (unpaced: none asked).
    let requested = requested_ticks(args);
    let rate_kept = requested.map(|ticks| p.per_sensor >= ticks);
    let per_msg = |e: u64| e as f64 / p.sent.max(1) as f64;
    let msgs_per_s = c.received as f64 / elapsed.as_secs_f64().max(1e-9);
    // asyncmsg only: (sender triggers, the library's kernel entries, batches received).
    let batching = p
        .conn
        .map(|(triggers, _, lib_entries)| (triggers, lib_entries, c.batches));
    let lat = |q: f64| c.latency.value_at_quantile(q) as f64 / 1000.0;
    if args.json {
        let num = |v: f64, d: usize| {
            if v.is_finite() {
                format!("{v:.d$}")
            } else {
                "null".into()
            }
        };
        let opt = |v: Option<u64>| v.map_or_else(|| "null".to_string(), |v| v.to_string());
        let asyncmsg = args.model == ModelArg::Asyncmsg;
        let stats: Vec<String> = c
            .stats
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "{{\"sensor\":{i},\"readings\":{},\"min\":{},\"max\":{},\"mean\":{},\"lost\":{},\"duplicated\":{}}}",
                    s.count,
                    num(s.min, 4),
                    num(s.max, 4),
                    num(s.mean(), 4),
                    missing(i, s),
                    s.duplicated
                )
            })
            .collect();
        println!(
            "{{\"model\":\"{}\",\"sensors\":{},\"rate\":{},\"msg_size\":{},\"trigger_num_msg\":{},\
             \"trigger_time_ms\":{},\"duration_ms\":{},\"messages_sent\":{},\"messages_received\":{},\
             \"requested_per_sensor\":{},\"rate_kept\":{},\"batches\":{},\"sender_triggers\":{},\"kernel_entries\":{},\"library_kernel_entries\":{},\
             \"consumer_kernel_entries\":{},\"kernel_entries_per_message\":{},\
             \"consumer_kernel_entries_per_message\":{},\"msgs_per_s\":{},\"elapsed_s\":{},\
             \"lost\":{lost},\"duplicated\":{duplicated},\"bad\":{},\"latency_p50_us\":{},\
             \"latency_p99_us\":{},\"latency_max_us\":{},\"ok\":{ok},\"per_sensor\":[{}]}}",
            args.model.name(),
            args.sensors,
            args.rate,
            args.msg_size,
            opt(asyncmsg.then_some(u64::from(args.trigger_num_msg))),
            opt(asyncmsg.then_some(args.trigger_time_ms)),
            args.duration_ms,
            p.sent,
            c.received,
            opt(requested),
            rate_kept.map_or_else(|| "null".to_string(), |k| k.to_string()),
            opt(batching.map(|b| b.2)),
            opt(batching.map(|b| b.0)),
            p.kernel_entries,
            opt(batching.map(|b| b.1)),
            consumer_entries,
            num(per_msg(p.kernel_entries), 5),
            num(per_msg(consumer_entries), 5),
            num(msgs_per_s, 1),
            num(elapsed.as_secs_f64(), 6),
            c.bad,
            num(lat(0.5), 1),
            num(lat(0.99), 1),
            num(c.latency.max() as f64 / 1000.0, 1),
            stats.join(",")
        );
        return ok;
    }
    println!(
        "sensors: {} sensors x {} samples/s{}, {}-byte readings, model {}{}",
        args.sensors,
        args.rate,
        if args.rate == 0 { " (unpaced)" } else { "" },
        args.msg_size,
        args.model.name(),
        match args.model {
            ModelArg::Asyncmsg => format!(
                " (trigger_num_msg {}, trigger_time {} ms)",
                args.trigger_num_msg, args.trigger_time_ms
            ),
            ModelArg::Srr => " (one MsgSend per reading, zero-byte reply)".into(),
        }
    );
    println!(
        "producer pid {}, consumer pid {consumer} ({})",
        p.pid,
        if args.processes {
            "Linux programs sharing one kernel"
        } else {
            "simulated processes of one kernel"
        }
    );
    println!();
    println!(
        "messages sent {} / received {} ({} per sensor) in {:.3} s: {:.0} msgs/s",
        p.sent,
        c.received,
        if extra > 0 {
            format!("{} or {}", p.per_sensor, p.per_sensor + 1)
        } else {
            p.per_sensor.to_string()
        },
        elapsed.as_secs_f64(),
        msgs_per_s
    );
    if let (Some(ticks), Some(false)) = (requested, rate_kept) {
        let asked = ticks.saturating_mul(u64::from(args.sensors));
        println!(
            "note: the requested rate was not reached: the producer fell behind --rate {} and \
             sampled {} of the {asked} readings asked ({} whole ticks of the {ticks}) before it \
             stopped, {} ms after the end of --duration-ms",
            args.rate,
            p.sent,
            p.per_sensor,
            CATCH_UP.as_millis()
        );
    }
    match batching {
        Some((triggers, lib_entries, batches)) => {
            println!(
                "batches received {batches} ({:.1} readings per batch); sender triggers {triggers}",
                c.received as f64 / batches.max(1) as f64,
            );
            println!(
                "kernel entries: producer {} ({:.4} per message; library {lib_entries}), consumer {} ({:.4} per message)",
                p.kernel_entries,
                per_msg(p.kernel_entries),
                consumer_entries,
                per_msg(consumer_entries)
            );
        }
        None => println!(
            "kernel entries: producer {} ({:.4} per message), consumer {} ({:.4} per message)",
            p.kernel_entries,
            per_msg(p.kernel_entries),
            consumer_entries,
            per_msg(consumer_entries)
        ),
    }
    println!(
        "sample-to-processing latency: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        lat(0.5),
        lat(0.99),
        c.latency.max() as f64 / 1000.0
    );
    println!();
    println!(
        "{:>6} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6}",
        "sensor", "readings", "min", "max", "mean", "lost", "dup"
    );
    let fixed = |v: f64| {
        if v.is_finite() {
            format!("{v:.3}")
        } else {
            "-".into()
        }
    };
    for (i, s) in c.stats.iter().enumerate() {
        println!(
            "{:>6} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6}",
            i,
            s.count,
            fixed(s.min),
            fixed(s.max),
            fixed(s.mean()),
            missing(i, s),
            s.duplicated
        );
    }
    println!();
    if ok {
        println!("every reading arrived exactly once, in order");
    } else {
        println!(
            "MISMATCH: {lost} lost, {duplicated} duplicated, {} malformed, end message {:?}",
            c.bad, c.end
        );
    }
    ok
}
