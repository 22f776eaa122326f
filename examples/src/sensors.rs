//! Sensors: the asynchronous-messaging example of the seed (issue 4 item 5).
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
//!   producer blocks until the consumer has received each one.
//!
//! After the last reading the producer sends an end-of-run message (sensor id `u32::MAX`,
//! carrying the number of readings per sensor and in all) and, for asyncmsg, flushes. Kernel
//! entries are counted from just before the first sample to the end of the run.
//!
//! ```text
//! cargo run --release -p examples --bin sensors -- --sensors 8 --rate 2000 --trigger-num-msg 32
//! cargo run --release -p examples --bin sensors -- --model srr --json
//! ```

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use userlib::asyncmsg::{self, AsyncConnAttr};
use userlib::consts::_NTO_SIDE_CHANNEL;
use userlib::{Channel, Connection, Kernel, ProcCounters, Process, Received};

/// Bytes of a reading's header: sensor id (u32), flags (u32), sequence (u64), timestamp in ns
/// since the run began (u64), value (f64), little-endian.
const HEADER: usize = 32;

/// The sensor id of the end-of-run message.
const END: u32 = u32::MAX;

/// Messages an `asyncmsg_get` takes at most.
const GET_MAX: u32 = 256;

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
    about = "A producer samples simulated sensors and sends the readings to a consumer \
                   by asyncmsg (batched) or SRR (one MsgSend each)"
)]
struct Args {
    /// Simulated sensors.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    sensors: u32,
    /// Samples per second per sensor (0: as fast as the pipeline goes).
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Bytes per reading message (at least the 32-byte header).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(HEADER as i64..=65_536))]
    msg_size: u32,
    /// asyncmsg: deliver when this many readings are pending (0: off).
    #[arg(long, default_value_t = 16)]
    trigger_num_msg: u32,
    /// asyncmsg: deliver this many ms after a batch's first reading (0: off).
    #[arg(long, default_value_t = 10)]
    trigger_time_ms: u64,
    /// How long to sample, in ms (with --rate > 0: rate * duration samples per sensor).
    #[arg(long, default_value_t = 1000)]
    duration_ms: u64,
    /// The messaging model.
    #[arg(long, value_enum, default_value_t = ModelArg::Asyncmsg)]
    model: ModelArg,
    /// Print exactly one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
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
    batches: u64,
    bad: u64,
    /// (readings per sensor, readings in all) from the end-of-run message.
    end: Option<(u64, u64)>,
    end_at: Instant,
    latency: Histogram<u64>,
    counters_end: ProcCounters,
}

/// The consumer's processing: per-sensor stats and sequence checks.
struct Sink {
    stats: Vec<Stats>,
    received: u64,
    bad: u64,
    end: Option<(u64, u64)>,
    start: Instant,
    latency: Histogram<u64>,
}

impl Sink {
    fn new(sensors: u32, start: Instant) -> Sink {
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
        let age = self
            .start
            .elapsed()
            .saturating_sub(Duration::from_nanos(r.ts_ns));
        self.latency
            .saturating_record(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX).max(1));
        true
    }
}

/// What the producer reports.
#[derive(Debug)]
struct Produced {
    sent: u64,
    per_sensor: u64,
    first_sample: Instant,
    counters: ProcCounters,
    consumer_start: ProcCounters,
    /// asyncmsg: (triggers, batches the kernel started, library kernel entries).
    conn: Option<(u64, u64, u64)>,
}

fn delta(a: &ProcCounters, b: &ProcCounters) -> ProcCounters {
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

/// Samples every sensor once per tick, `rate` ticks a second, for `duration` (unpaced when
/// `rate` is 0), handing each reading to `send`. Returns (readings per sensor, in all).
fn sample_loop(
    args: &Args,
    start: Instant,
    mut send: impl FnMut(&Reading) -> Result<(), String>,
) -> Result<(u64, u64), String> {
    let mut sensors: Vec<Sensor> = (0..args.sensors).map(Sensor::new).collect();
    let duration = Duration::from_millis(args.duration_ms);
    let ticks = if args.rate == 0 {
        u64::MAX
    } else {
        (args.duration_ms.saturating_mul(u64::from(args.rate)) / 1000).max(1)
    };
    let period = if args.rate == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs(1) / args.rate
    };
    let t0 = Instant::now();
    let mut tick = 0u64;
    while tick < ticks {
        if args.rate == 0 {
            if t0.elapsed() >= duration {
                break;
            }
        } else {
            // Absolute schedule: a late tick is sampled at once (catching up), never skipped.
            let due = t0 + period * u32::try_from(tick).unwrap_or(u32::MAX);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let t = start.elapsed();
        for s in &mut sensors {
            send(&s.sample(t))?;
        }
        tick += 1;
    }
    Ok((tick, tick * u64::from(args.sensors)))
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

type Outcome = Result<(Produced, Consumed), String>;

fn run_asyncmsg(
    args: &Args,
    kernel: &Kernel,
    producer: &Process,
    consumer: &Process,
    start: Instant,
) -> Outcome {
    let size = args.msg_size as usize;
    let (chid_tx, chid_rx) = mpsc::channel::<i32>();
    let sensors = args.sensors;
    let cons_pid = consumer.pid();
    let k = kernel.clone();
    let cons = consumer
        .spawn(move || -> Result<Consumed, String> {
            let chid = asyncmsg::asyncmsg_channel_create(0, 0o600, size, GET_MAX, None, None)
                .map_err(|e| format!("asyncmsg_channel_create: {e:?}"))?;
            chid_tx.send(chid).map_err(|e| e.to_string())?;
            let mut sink = Sink::new(sensors, start);
            let mut batches = 0u64;
            let mut take_all = || -> Result<(), String> {
                loop {
                    let batch =
                        asyncmsg::asyncmsg_get(chid).map_err(|e| format!("asyncmsg_get: {e:?}"))?;
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
                }
            };
            if let Err(e) = take_all() {
                // Destroying the channel fails the producer's blocked puts and flush (EBADF)
                // instead of leaving it waiting for a consumer that is gone.
                let _ = asyncmsg::asyncmsg_channel_destroy(chid);
                return Err(e);
            }
            let end_at = Instant::now();
            let counters_end = k.process_counters(cons_pid).map_err(|e| format!("{e:?}"))?;
            Ok(Consumed {
                stats: sink.stats,
                received: sink.received,
                batches,
                bad: sink.bad,
                end: sink.end,
                end_at,
                latency: sink.latency,
                counters_end,
            })
        })
        .map_err(|e| format!("spawning the consumer: {e:?}"))?;

    let a = args.clone();
    let k = kernel.clone();
    let prod_pid = producer.pid();
    let prod = producer
        .spawn(move || -> Result<Produced, String> {
            let chid = chid_rx.recv().map_err(|e| e.to_string())?;
            let trigger = a.trigger_num_msg;
            let attr = AsyncConnAttr {
                trigger_num_msg: trigger,
                trigger_time: Duration::from_millis(a.trigger_time_ms),
                // Room for several batches: a full queue only blocks the producer until the
                // consumer catches up (and must hold a whole count-triggered batch).
                max_num_buffer: 1024u32.max(trigger.saturating_mul(2).saturating_add(2)),
                buffer_size: size,
                ..AsyncConnAttr::default()
            };
            let coid =
                asyncmsg::asyncmsg_connect_attach(0, cons_pid, chid, _NTO_SIDE_CHANNEL, 0, &attr)
                    .map_err(|e| format!("asyncmsg_connect_attach: {e:?}"))?;
            let before = k.process_counters(prod_pid).map_err(|e| format!("{e:?}"))?;
            let consumer_start = k.process_counters(cons_pid).map_err(|e| format!("{e:?}"))?;
            let s0 = asyncmsg::asyncmsg_connection_stats(coid).map_err(|e| format!("{e:?}"))?;
            let first_sample = Instant::now();
            let put = |m: Vec<u8>| {
                asyncmsg::asyncmsg_put(coid, m, 0, None)
                    .map_err(|e| format!("asyncmsg_put: {:?}", e.errno))
            };
            // Buffers from asyncmsg_malloc, as QNX's docs ask: the library recycles them once
            // the consumer has taken their messages.
            let (per_sensor, sent) = sample_loop(&a, start, |r| {
                let mut buf = asyncmsg::asyncmsg_malloc(size)
                    .map_err(|e| format!("asyncmsg_malloc: {e:?}"))?;
                r.encode_into(&mut buf);
                put(buf)
            })?;
            put(end_message(size, per_sensor, sent))?;
            asyncmsg::asyncmsg_flush(coid, 0).map_err(|e| format!("asyncmsg_flush: {e:?}"))?;
            let after = k.process_counters(prod_pid).map_err(|e| format!("{e:?}"))?;
            let s1 = asyncmsg::asyncmsg_connection_stats(coid).map_err(|e| format!("{e:?}"))?;
            asyncmsg::asyncmsg_connect_detach(coid).map_err(|e| format!("{e:?}"))?;
            Ok(Produced {
                sent,
                per_sensor,
                first_sample,
                counters: delta(&before, &after),
                consumer_start,
                conn: Some((
                    s1.triggers - s0.triggers,
                    s1.batches - s0.batches,
                    s1.kernel_entries - s0.kernel_entries,
                )),
            })
        })
        .map_err(|e| format!("spawning the producer: {e:?}"))?;
    let p = prod.join().map_err(|_| "producer panicked".to_string())??;
    let c = cons.join().map_err(|_| "consumer panicked".to_string())??;
    Ok((p, c))
}

fn run_srr(
    args: &Args,
    kernel: &Kernel,
    producer: &Process,
    consumer: &Process,
    start: Instant,
) -> Outcome {
    let size = args.msg_size as usize;
    let (chid_tx, chid_rx) = mpsc::channel::<i32>();
    let sensors = args.sensors;
    let cons_pid = consumer.pid();
    let k = kernel.clone();
    let cons = consumer
        .spawn(move || -> Result<Consumed, String> {
            let chan = Channel::create(0).map_err(|e| format!("ChannelCreate: {e:?}"))?;
            chid_tx.send(chan.chid()).map_err(|e| e.to_string())?;
            let mut sink = Sink::new(sensors, start);
            let mut buf = vec![0u8; size];
            let mut messages = 0u64;
            loop {
                match chan
                    .receive(&mut buf)
                    .map_err(|e| format!("MsgReceive: {e:?}"))?
                {
                    Received::Message { rcvid, info } => {
                        messages += 1;
                        let n = (info.msglen as usize).min(size);
                        let going = sink.handle(&buf[..n]);
                        rcvid
                            .reply(0, &[])
                            .map_err(|e| format!("MsgReply: {e:?}"))?;
                        if !going {
                            break;
                        }
                    }
                    Received::Pulse(_) => {}
                }
            }
            let end_at = Instant::now();
            let counters_end = k.process_counters(cons_pid).map_err(|e| format!("{e:?}"))?;
            Ok(Consumed {
                stats: sink.stats,
                received: sink.received,
                // One message per "batch": the end-of-run message is not a reading.
                batches: messages - 1,
                bad: sink.bad,
                end: sink.end,
                end_at,
                latency: sink.latency,
                counters_end,
            })
        })
        .map_err(|e| format!("spawning the consumer: {e:?}"))?;

    let a = args.clone();
    let k = kernel.clone();
    let prod_pid = producer.pid();
    let prod = producer
        .spawn(move || -> Result<Produced, String> {
            let chid = chid_rx.recv().map_err(|e| e.to_string())?;
            let conn =
                Connection::attach(cons_pid, chid).map_err(|e| format!("ConnectAttach: {e:?}"))?;
            let before = k.process_counters(prod_pid).map_err(|e| format!("{e:?}"))?;
            let consumer_start = k.process_counters(cons_pid).map_err(|e| format!("{e:?}"))?;
            let first_sample = Instant::now();
            let send = |m: &[u8]| {
                conn.send(m, &mut [])
                    .map(drop)
                    .map_err(|e| format!("MsgSend: {e:?}"))
            };
            let (per_sensor, sent) = sample_loop(&a, start, |r| send(&r.encode(size)))?;
            send(&end_message(size, per_sensor, sent))?;
            let after = k.process_counters(prod_pid).map_err(|e| format!("{e:?}"))?;
            Ok(Produced {
                sent,
                per_sensor,
                first_sample,
                counters: delta(&before, &after),
                consumer_start,
                conn: None,
            })
        })
        .map_err(|e| format!("spawning the producer: {e:?}"))?;
    let p = prod.join().map_err(|_| "producer panicked".to_string())??;
    let c = cons.join().map_err(|_| "consumer panicked".to_string())??;
    Ok((p, c))
}

fn main() {
    let args = Args::parse();
    if args.model == ModelArg::Asyncmsg && args.trigger_num_msg == 0 && args.trigger_time_ms == 0 {
        eprintln!("asyncmsg needs a trigger: --trigger-num-msg or --trigger-time-ms (or both)");
        std::process::exit(2);
    }
    match run(&args) {
        Ok(ok) => std::process::exit(if ok { 0 } else { 1 }),
        Err(e) => {
            eprintln!("sensors: {e}");
            std::process::exit(1);
        }
    }
}

/// Runs the pipeline and prints the report; returns whether every reading arrived once.
fn run(args: &Args) -> Result<bool, String> {
    let kernel = Kernel::new(userlib::Config::default()).map_err(|e| format!("{e:?}"))?;
    let producer = Process::new_in(&kernel).map_err(|e| format!("{e:?}"))?;
    let consumer = Process::new_in(&kernel).map_err(|e| format!("{e:?}"))?;
    let start = Instant::now();
    let (p, c) = match args.model {
        ModelArg::Asyncmsg => run_asyncmsg(args, &kernel, &producer, &consumer, start)?,
        ModelArg::Srr => run_srr(args, &kernel, &producer, &consumer, start)?,
    };
    let consumer_entries = delta(&p.consumer_start, &c.counters_end).kernel_entries;
    let elapsed = c.end_at.saturating_duration_since(p.first_sample);
    let lost: u64 = c.stats.iter().map(|s| s.lost).sum::<u64>()
        + c.stats
            .iter()
            .map(|s| p.per_sensor.saturating_sub(s.next_seq))
            .sum::<u64>();
    let duplicated: u64 = c.stats.iter().map(|s| s.duplicated).sum();
    let ok = c.received == p.sent
        && lost == 0
        && duplicated == 0
        && c.bad == 0
        && c.end == Some((p.per_sensor, p.sent))
        && c.stats.iter().all(|s| s.count == p.per_sensor);
    let per_msg = |e: u64| e as f64 / p.sent.max(1) as f64;
    let msgs_per_s = c.received as f64 / elapsed.as_secs_f64().max(1e-9);
    let (triggers, lib_entries) = match p.conn {
        Some((t, _, e)) => (t, e),
        None => (p.sent + 1, p.sent + 1),
    };
    let lat = |q: f64| c.latency.value_at_quantile(q) as f64 / 1000.0;
    if args.json {
        let num = |v: f64, d: usize| {
            if v.is_finite() {
                format!("{v:.d$}")
            } else {
                "null".into()
            }
        };
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
                    s.lost + p.per_sensor.saturating_sub(s.next_seq),
                    s.duplicated
                )
            })
            .collect();
        println!(
            "{{\"model\":\"{}\",\"sensors\":{},\"rate\":{},\"msg_size\":{},\"trigger_num_msg\":{},\
             \"trigger_time_ms\":{},\"duration_ms\":{},\"messages_sent\":{},\"messages_received\":{},\
             \"batches\":{},\"sender_triggers\":{},\"kernel_entries\":{},\"library_kernel_entries\":{},\
             \"consumer_kernel_entries\":{},\"kernel_entries_per_message\":{},\
             \"consumer_kernel_entries_per_message\":{},\"msgs_per_s\":{},\"elapsed_s\":{},\
             \"lost\":{lost},\"duplicated\":{duplicated},\"bad\":{},\"latency_p50_us\":{},\
             \"latency_p99_us\":{},\"latency_max_us\":{},\"ok\":{ok},\"per_sensor\":[{}]}}",
            args.model.name(),
            args.sensors,
            args.rate,
            args.msg_size,
            args.trigger_num_msg,
            args.trigger_time_ms,
            args.duration_ms,
            p.sent,
            c.received,
            c.batches,
            triggers,
            p.counters.kernel_entries,
            lib_entries,
            consumer_entries,
            num(per_msg(p.counters.kernel_entries), 5),
            num(per_msg(consumer_entries), 5),
            num(msgs_per_s, 1),
            num(elapsed.as_secs_f64(), 6),
            c.bad,
            num(lat(0.5), 1),
            num(lat(0.99), 1),
            num(c.latency.max() as f64 / 1000.0, 1),
            stats.join(",")
        );
        return Ok(ok);
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
        "producer pid {}, consumer pid {} (simulated processes of one kernel)",
        producer.pid(),
        consumer.pid()
    );
    println!();
    println!(
        "messages sent {} / received {} ({} per sensor) in {:.3} s: {:.0} msgs/s",
        p.sent,
        c.received,
        p.per_sensor,
        elapsed.as_secs_f64(),
        msgs_per_s
    );
    println!(
        "batches received {} ({:.1} readings per batch); sender triggers {}",
        c.batches,
        c.received as f64 / c.batches.max(1) as f64,
        triggers
    );
    println!(
        "kernel entries: producer {} ({:.4} per message; library {}), consumer {} ({:.4} per message)",
        p.counters.kernel_entries,
        per_msg(p.counters.kernel_entries),
        lib_entries,
        consumer_entries,
        per_msg(consumer_entries)
    );
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
    for (i, s) in c.stats.iter().enumerate() {
        println!(
            "{:>6} {:>9} {:>9.3} {:>9.3} {:>9.3} {:>6} {:>6}",
            i,
            s.count,
            s.min,
            s.max,
            s.mean(),
            s.lost + p.per_sensor.saturating_sub(s.next_seq),
            s.duplicated
        );
    }
    println!();
    println!(
        "{}",
        if ok {
            "every reading arrived exactly once, in order".to_string()
        } else {
            format!(
                "MISMATCH: {lost} lost, {duplicated} duplicated, {} malformed, end message {:?}",
                c.bad, c.end
            )
        }
    );
    Ok(ok)
}
