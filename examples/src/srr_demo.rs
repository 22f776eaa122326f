//! The SRR demo: a server process and a client process with several threads.
//!
//! Part 1 stages QNX's three blocked states and prints them as `pidin` would: the server
//! RECEIVE-blocked, one client REPLY-blocked (received, not yet answered) and `--clients`
//! others SEND-blocked, queued by priority (the second of them sends "urgent" at priority 15,
//! the rest at 11). The server then serves the queue. It knows how many messages it is owed,
//! so the order they arrive in does not decide when it stops.
//!
//! Part 2 runs `--rounds` round trips from each of `--clients` threads and prints latency
//! percentiles and the kernel's counters per round trip. Each client ends with a closing
//! pulse; the server stops when it has one from every client.
//!
//! Nothing waits unbounded. Part 1's calls carry timeouts. Part 2's do not, because a
//! TimerTimeout is a kernel entry of its own and would change the figure part 2 measures.
//! Instead a client sends its closing pulse even after a failure, a failed server's channel
//! goes with it (its clients' sends then fail), and the main thread gives up when the server
//! has received nothing for [`STEP_TIMEOUT_BASE`].
//!
//! `--pidin` adds what `pidin-sim` shows (processes with their counters, threads, channels,
//! connections, pools) in the middle of part 2, once half of the round trips are done.
//!
//! `--processes` runs the same parts with the server and the clients in separate Linux
//! programs sharing one kernel (`examples::programs`): this program makes the kernel and
//! starts a server program, then a client program for part 1 (its threads queue on the server
//! as above) and another for part 2; it takes part 1's pictures itself, mapping the kernel as
//! `pidin-sim` does. The pids are then the programs' Linux pids.

use clap::{Parser, ValueEnum};
use examples::observe::{self, ObserveArgs};
use examples::programs::{
    self, print_block, role_args, tell_launcher, Commands, Peer, Program, SharedKernel,
};
use examples::{await_moment, join_all, pidin, Context, Failure, Named};
use hdrhistogram::Histogram;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use userlib::{Channel, Connection, Kernel, ProcCounters, Process, Received, ThreadState};

/// The most client threads (part 1 prints a line for each).
const MAX_CLIENTS: u32 = 64;
/// The largest message and reply, in bytes.
const MAX_SIZE: u32 = 65_536;
/// The most round trips per client.
const MAX_ROUNDS: u64 = 1_000_000_000;

#[derive(Parser, Debug)]
#[command(
    name = "srr-demo",
    version,
    about = "Send-Receive-Reply between a server and several client threads"
)]
struct Args {
    /// Client threads, 1 to 64: part 1 queues this many behind the one it holds REPLY-blocked
    /// (the second at priority 15, the others at 11); part 2 runs round trips from this many.
    #[arg(long, default_value_t = 3, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=MAX_CLIENTS as i64))]
    clients: u32,
    /// Round trips per client in part 2, 0 to 1000000000 (0: none; the clients only attach and
    /// close).
    #[arg(long, default_value_t = 20_000, allow_negative_numbers = true, value_parser = examples::u64_in(0, MAX_ROUNDS))]
    rounds: u64,
    /// Message and reply size in bytes in part 2, 0 to 65536 (0: empty messages, which QNX
    /// allows).
    #[arg(long, default_value_t = 64, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(0..=MAX_SIZE as i64))]
    size: u32,
    /// Also print what pidin-sim shows (processes with their counters, threads with their
    /// states, channels, connections, pools) once half of part 2's round trips are done
    /// (with --rounds 0: at the end of part 2).
    #[arg(long)]
    pidin: bool,
    /// Run the server and the clients as separate Linux programs sharing one kernel (this
    /// program starts them and watches the kernel) instead of simulated processes of this one.
    #[arg(long)]
    processes: bool,
    /// --trace FILE, --diagram FILE.svg, --step: watch the run (examples/src/observe.rs).
    #[command(flatten)]
    observe: ObserveArgs,
    /// The part a program of a --processes run plays (set by the example itself).
    #[arg(long, value_enum, hide = true)]
    role: Option<Role>,
    /// The server's PID:CHID, for a client program of a --processes run.
    #[arg(long, hide = true)]
    peer: Option<Peer>,
}

/// The programs of a `--processes` run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Role {
    /// The server: part 1's, then part 2's.
    Server,
    /// Part 1's client threads.
    Part1Clients,
    /// Part 2's client threads, and part 2's report.
    Part2Clients,
}

/// How long any one step may take: a thread reaching a state, a message arriving; in part 2,
/// the server receiving its next message.
const STEP_TIMEOUT_BASE: Duration = Duration::from_secs(10);

/// [`STEP_TIMEOUT_BASE`], or a day while a student steps (`observe::patience`).
fn step_timeout() -> Duration {
    observe::patience(STEP_TIMEOUT_BASE)
}

/// The pulse code a part-2 client sends after its last round trip.
const CLOSING: i8 = 1;

/// How long a program of a `--processes` run waits for the launcher's next word, and the
/// launcher for a program that has nothing left but to end.
const PROGRAM_WAIT: Duration = Duration::from_secs(60);

fn main() {
    examples::programs::quiet_on_broken_pipe();
    let args = Args::parse();
    if args.processes && args.observe.step {
        eprintln!(
            "error: --step pauses this program's simulated threads: not with --processes (--trace and --diagram record every program)"
        );
        std::process::exit(2);
    }
    if args.role.is_none() {
        // Before anything runs: a bad path must not cost the run.
        args.observe.refuse_bad_outputs("srr-demo");
    }
    let (who, r) = match args.role {
        Some(role) => (
            format!("srr-demo ({role:?} program)"),
            programs::role_setup().and_then(|()| run_role(role, &args)),
        ),
        None if args.processes => ("srr-demo".to_string(), run_programs(&args)),
        None => ("srr-demo".to_string(), run(&args)),
    };
    if let Err(e) = r {
        // (A launcher a signal is ending says so itself: its programs' failures are the
        // signal's doing.)
        if !programs::ending() {
            eprintln!("{who}: {e}");
        }
        programs::exit(1);
    }
    programs::exit(0);
}

fn run(args: &Args) -> Result<(), Failure> {
    let kernel = Kernel::new(userlib::Config::default()).context(|| "creating the kernel")?;
    let server_proc = Process::new_in(&kernel).context(|| "creating the server process")?;
    let client_proc = Process::new_in(&kernel).context(|| "creating the client process")?;
    println!(
        "server process pid {}, client process pid {} (simulated, in one Linux process)\n",
        server_proc.pid(),
        client_proc.pid()
    );
    let watch = observe::start(
        &args.observe,
        &kernel,
        &[
            (server_proc.pid(), "server"),
            (client_proc.pid(), "clients"),
        ],
    )?;
    part1(&kernel, &server_proc, &client_proc, args.clients as usize)?;
    part2(&kernel, &server_proc, &client_proc, args)?;
    watch.finish()
}

/// Where client threads run: a simulated process of this program's kernel, or (in a client
/// program of a `--processes` run) this program's own process on the shared kernel.
enum Home<'a> {
    Simulated(&'a Process),
    /// This program's process, by pid.
    Own(i32),
}

impl Home<'_> {
    fn pid(&self) -> i32 {
        match self {
            Home::Simulated(p) => p.pid(),
            Home::Own(pid) => *pid,
        }
    }

    /// Starts a kernel thread of this process at `priority`, running `f`. A thread of our own
    /// process joins it at its first kernel call, which sets its priority, so its tid is the
    /// next one when that call is made.
    fn spawn<T: Send + 'static>(
        &self,
        priority: i16,
        f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
    ) -> Result<JoinHandle<Result<T, Failure>>, Failure> {
        match self {
            Home::Simulated(p) => p
                .spawn_with_priority(priority, f)
                .context(|| format!("starting a thread of pid {}", p.pid())),
            Home::Own(_) => Ok(std::thread::spawn(move || {
                userlib::qnx::thread_set_priority(priority)
                    .context(|| format!("ThreadSetPriority({priority})"))?;
                f()
            })),
        }
    }
}

// ------------------------------------------------------------------------ part 1: the states

/// Waits until thread `tid` of `pid` is in a state `want` accepts, for at most
/// [`STEP_TIMEOUT_BASE`].
fn wait_for(
    k: &Kernel,
    (pid, tid): (i32, i32),
    goal: &str,
    want: impl Fn(&ThreadState) -> bool,
) -> Result<(), Failure> {
    let deadline = Instant::now() + step_timeout();
    loop {
        let now = match k.thread_info(pid, tid) {
            Ok(i) if want(&i.state) => return Ok(()),
            Ok(i) => format!("pid {pid} tid {tid} is {}", i.state),
            Err(e) => format!("pid {pid} tid {tid}: {e}"),
        };
        if Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "waited {:?} for {goal}, but {now}",
                step_timeout()
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn show(title: &str, k: &Kernel) {
    println!("--- {title}");
    print!("{}", k.snapshot());
    println!();
}

/// What part 1's queued client `k` (0-based; its tid is `k + 2`) sends, and at what priority.
fn queued_client(k: usize) -> (&'static str, i16) {
    const NAMES: [&str; 9] = [
        "second", "urgent", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    ];
    let prio = if k == 1 { 15 } else { 11 };
    (NAMES.get(k).copied().unwrap_or("later"), prio)
}

/// A message the part-1 server received: its text, the sender's tid and its priority.
#[derive(Debug)]
struct Served {
    text: String,
    tid: i32,
    priority: i16,
}

/// What a part-1 thread ended with.
enum Part1 {
    Server(Vec<Served>),
    Client,
}

/// Part 1's server: announces its chid (`on_chid`), holds the first message until `go()`
/// returns (having said so: `on_first`), then serves exactly `queued` more.
fn part1_server(
    queued: usize,
    on_chid: impl FnOnce(i32),
    on_first: impl FnOnce(),
    go: impl FnOnce() -> Result<(), Failure>,
) -> Result<Vec<Served>, Failure> {
    let c = Channel::create(0).context(|| "ChannelCreate")?;
    let chid = c.chid();
    on_chid(chid);
    let mut buf = [0u8; 256];
    let receive = |buf: &mut [u8]| {
        c.receive_timeout(buf, step_timeout()).context(|| {
            format!(
                "MsgReceive on chid {chid} (waiting at most {:?})",
                step_timeout()
            )
        })
    };
    let Received::Message { rcvid: first, info } = receive(&mut buf)? else {
        return Err(Failure::new("a pulse arrived instead of the first message"));
    };
    println!(
        "server: received {:?} from pid {} tid {} (priority {}); holding the reply",
        String::from_utf8_lossy(&buf[..info.msglen as usize]),
        info.pid,
        info.tid,
        info.priority
    );
    on_first();
    go()?;
    let id = first.rcvid();
    first
        .reply(0, b"done")
        .context(|| format!("MsgReply to rcvid {id:#x}"))?;
    let mut served = Vec::new();
    while served.len() < queued {
        match receive(&mut buf)? {
            Received::Message { rcvid, info } => {
                let text = String::from_utf8_lossy(&buf[..info.msglen as usize]).into_owned();
                println!(
                    "server: received {text:?} from tid {} at priority {}",
                    info.tid, info.priority
                );
                let id = rcvid.rcvid();
                rcvid
                    .reply(0, b"done")
                    .context(|| format!("MsgReply to rcvid {id:#x}"))?;
                served.push(Served {
                    text,
                    tid: info.tid,
                    priority: info.priority,
                });
            }
            Received::Pulse(p) => println!("server: unexpected pulse code {}", p.code),
        }
    }
    Ok(served)
}

/// The second picture's title.
fn queued_title(queued: usize) -> &'static str {
    if queued == 1 {
        "client tid 1 was received: REPLY-blocked; tid 2 queues SEND-blocked (server boosted to its priority)"
    } else {
        "client tid 1 was received: REPLY-blocked; the others queue SEND-blocked (server boosted to the highest)"
    }
}

fn part1(
    kernel: &Kernel,
    server_proc: &Process,
    client_proc: &Process,
    queued: usize,
) -> Result<(), Failure> {
    let (chid_tx, chid_rx) = mpsc::channel();
    let (first_tx, first_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let server = server_proc
        .spawn(move || {
            part1_server(
                queued,
                |chid| {
                    let _ = chid_tx.send(chid);
                },
                || {
                    let _ = first_tx.send(());
                },
                || {
                    go_rx
                        .recv_timeout(step_timeout())
                        .context(|| "waiting for the picture to be taken")
                },
            )
            .map(Part1::Server)
        })
        .context(|| "starting the server thread")?;
    let mut threads = vec![("server".to_string(), server)];
    let chid = chid_rx
        .recv_timeout(step_timeout())
        .context(|| "waiting for the server's channel")?;
    let spid = server_proc.pid();
    wait_for(kernel, (spid, 1), "the server to be RECEIVE-blocked", |s| {
        matches!(s, ThreadState::Receive { .. })
    })?;
    show(
        "the server waits for work: RECEIVE-blocked on its channel",
        kernel,
    );
    threads.extend(part1_clients(
        kernel,
        &Home::Simulated(client_proc),
        Peer { pid: spid, chid },
        queued,
        || {
            first_rx
                .recv_timeout(step_timeout())
                .context(|| "waiting for the server to take the first message")
        },
    )?);
    show(queued_title(queued), kernel);
    go_tx.send(()).ok();

    let served = join_all(threads, step_timeout(), || 0)?
        .into_iter()
        .find_map(|t| match t {
            Part1::Server(s) => Some(s),
            Part1::Client => None,
        })
        .unwrap_or_default();
    explain_order(&served, queued)
}

/// Part 1's clients, in `home`: client tid 1 sends "first" and is received (REPLY-blocked);
/// once `taken()` says the server has it, `queued` more queue SEND-blocked one by one, each
/// before the next starts, so that their tids and arrival order are fixed.
fn part1_clients(
    kernel: &Kernel,
    home: &Home<'_>,
    server: Peer,
    queued: usize,
    taken: impl FnOnce() -> Result<(), Failure>,
) -> Result<Vec<Named<Part1>>, Failure> {
    let Peer { pid: spid, chid } = server;
    let client = |text: &'static str, prio: i16| {
        home.spawn(prio, move || {
            let conn = Connection::attach(spid, chid)
                .context(|| format!("ConnectAttach to pid {spid} chid {chid}"))?;
            let coid = conn.coid();
            conn.send_timeout(text.as_bytes(), &mut [0u8; 8], step_timeout())
                .context(|| {
                    format!(
                        "MsgSend({text:?}) on coid {coid:#x} (at most {:?})",
                        step_timeout()
                    )
                })?;
            Ok(Part1::Client)
        })
        .context(|| format!("starting the client thread that sends {text:?}"))
    };
    let mut threads = vec![("client tid 1".to_string(), client("first", 10)?)];
    let cpid = home.pid();
    wait_for(kernel, (cpid, 1), "client tid 1 to be REPLY-blocked", |s| {
        matches!(s, ThreadState::Reply { .. })
    })?;
    taken()?;
    for k in 0..queued {
        let (text, prio) = queued_client(k);
        let tid = k as i32 + 2;
        threads.push((format!("client tid {tid}"), client(text, prio)?));
        wait_for(
            kernel,
            (cpid, tid),
            &format!("client tid {tid} to be SEND-blocked"),
            |s| matches!(s, ThreadState::Send { .. }),
        )?;
    }
    Ok(threads)
}

/// Says in what order the queue was served, and fails if it was not by priority, then FIFO.
fn explain_order(served: &[Served], queued: usize) -> Result<(), Failure> {
    // Queued client k has tid k + 2; sort by priority, highest first, stable in arrival order.
    let mut expected: Vec<(i32, i16)> = (0..queued)
        .map(|k| (k as i32 + 2, queued_client(k).1))
        .collect();
    expected.sort_by_key(|&(_, prio)| std::cmp::Reverse(prio));
    let got: Vec<(i32, i16)> = served.iter().map(|s| (s.tid, s.priority)).collect();
    if got != expected {
        let order: Vec<String> = served
            .iter()
            .map(|s| format!("{:?} (tid {}, priority {})", s.text, s.tid, s.priority))
            .collect();
        return Err(Failure::new(format!(
            "the queue was not served by priority, then in arrival order: {}",
            order.join(", ")
        )));
    }
    match queued {
        1 => println!("(one client queued: nothing to order; --clients 3 shows priority order)\n"),
        2 => println!(
            "(the queue was served by priority: \"urgent\" at 15 before the 11 queued ahead of it)\n"
        ),
        _ => println!(
            "(the queue was served by priority: \"urgent\" at 15 before the 11s, FIFO among equals)\n"
        ),
    }
    Ok(())
}

// ------------------------------------------------------------------- part 2: round trips

/// What a part-2 thread ended with: the server nothing, a client its latencies and the span
/// of its round trips.
enum Part2 {
    Server,
    Client {
        latency: Histogram<u64>,
        span: Option<(Instant, Instant)>,
    },
}

/// Part 2's server: announces its chid (`on_chid`), then answers every message with `size`
/// bytes until each of `clients` clients has sent its closing pulse.
fn part2_server(clients: usize, size: usize, on_chid: impl FnOnce(i32)) -> Result<(), Failure> {
    let c = Channel::create(0).context(|| "ChannelCreate")?;
    let chid = c.chid();
    on_chid(chid);
    // Room for a pulse too, whatever the message size.
    let mut buf = vec![0u8; size.max(userlib::PULSE_SIZE)];
    let reply = vec![0x5au8; size];
    let mut closed = 0;
    while closed < clients {
        match c
            .receive(&mut buf)
            .context(|| format!("MsgReceive on chid {chid}"))?
        {
            Received::Message { rcvid, .. } => {
                let id = rcvid.rcvid();
                rcvid
                    .reply(0, &reply)
                    .context(|| format!("MsgReply to rcvid {id:#x}"))?;
            }
            Received::Pulse(p) if p.code == CLOSING => closed += 1,
            Received::Pulse(p) => println!("server: unexpected pulse code {}", p.code),
        }
    }
    Ok(())
}

/// Sends the closing pulse when dropped: after the last round trip, and also when a client
/// fails or panics half-way, so that the server never waits for it.
struct Closing<'a> {
    conn: &'a Connection,
    sent: bool,
}

impl Closing<'_> {
    fn send(mut self) -> Result<(), Failure> {
        self.sent = true;
        let coid = self.conn.coid();
        self.conn
            .send_pulse(-1, CLOSING, 0)
            .context(|| format!("MsgSendPulse (closing) on coid {coid:#x}"))
    }
}

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        if !self.sent {
            let _ = self.conn.send_pulse(-1, CLOSING, 0);
        }
    }
}

/// Part 2's client: `rounds` round trips of `size` bytes each way, once every client is
/// attached (`ready`), then the closing pulse.
fn part2_client(
    spid: i32,
    chid: i32,
    rounds: u64,
    size: usize,
    ready: &Barrier,
) -> Result<Part2, Failure> {
    let conn = Connection::attach(spid, chid)
        .context(|| format!("ConnectAttach to pid {spid} chid {chid}"));
    // Every client reaches the barrier, attached or not, so none waits here for one that failed.
    ready.wait();
    let conn = conn?;
    let closing = Closing {
        conn: &conn,
        sent: false,
    };
    let coid = conn.coid();
    let msg = vec![0xa5u8; size];
    let mut reply = vec![0u8; size];
    // 1 ns .. 60 s at 3 significant digits: constant, valid bounds.
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    let start = Instant::now();
    for _ in 0..rounds {
        let t = Instant::now();
        conn.send(&msg, &mut reply)
            .context(|| format!("MsgSend on coid {coid:#x}"))?;
        latency.saturating_record(t.elapsed().as_nanos() as u64);
    }
    let span = (rounds > 0).then(|| (start, Instant::now()));
    closing.send()?;
    Ok(Part2::Client { latency, span })
}

fn part2(
    kernel: &Kernel,
    server_proc: &Process,
    client_proc: &Process,
    args: &Args,
) -> Result<(), Failure> {
    let (n, size) = (args.clients as usize, args.size as usize);
    let (chid_tx, chid_rx) = mpsc::channel();
    let server = server_proc
        .spawn(move || {
            part2_server(n, size, |chid| {
                let _ = chid_tx.send(chid);
            })
            .map(|()| Part2::Server)
        })
        .context(|| "starting the server thread")?;
    let threads = vec![("server".to_string(), server)];
    let chid = chid_rx
        .recv_timeout(step_timeout())
        .context(|| "waiting for the server's channel")?;
    let server = Peer {
        pid: server_proc.pid(),
        chid,
    };
    part2_clients(
        kernel,
        &Home::Simulated(client_proc),
        server,
        args,
        threads,
        &|text| print!("{text}"),
    )
}

/// Part 2's clients, in `home`: each makes its round trips to `server`; then the report. The
/// server's and the clients' counters are read from the kernel, by pid, before and after.
/// `threads` holds the server's thread when it runs in this program; `emit` prints the
/// `--pidin` listing.
fn part2_clients(
    kernel: &Kernel,
    home: &Home<'_>,
    server: Peer,
    args: &Args,
    mut threads: Vec<Named<Part2>>,
    emit: &dyn Fn(&str),
) -> Result<(), Failure> {
    let n = args.clients as usize;
    let (rounds, size) = (args.rounds, args.size as usize);
    let Peer { pid: spid, chid } = server;
    let cpid = home.pid();
    let counters = |pid: i32, whose: &str| {
        kernel
            .process_counters(pid)
            .context(|| format!("reading the {whose}'s counters (pid {pid})"))
    };
    let before_s = counters(spid, "server")?;
    let before_c = counters(cpid, "clients")?;
    let ready = Arc::new(Barrier::new(n));
    for i in 0..n {
        let ready = ready.clone();
        let h = home
            .spawn(userlib::consts::PRIO_DEFAULT, move || {
                part2_client(spid, chid, rounds, size, &ready)
            })
            .context(|| format!("starting client thread {}", i + 1))?;
        threads.push((format!("client {}", i + 1), h));
    }
    // Every message and pulse the server takes is progress; none for step_timeout() is a hang.
    let received = || {
        kernel
            .process_counters(spid)
            .map_or(0, |c| c.msgs_received + c.pulses_received)
    };
    let total = rounds * n as u64;
    if args.pidin && total > 0 {
        let half = before_s.msgs_received + total / 2;
        let mid = await_moment(
            step_timeout(),
            || {
                kernel
                    .process_counters(spid)
                    .is_ok_and(|c| c.msgs_received >= half)
            },
            || threads.iter().any(|(_, h)| h.is_finished()),
        );
        if mid {
            emit(&pidin(
                &format!("part 2, half of the {total} round trips done"),
                kernel,
            ));
        }
    }
    let done = join_all(threads, step_timeout(), received)
        .map_err(|e| Failure::new(format!("{e}\nthe kernel's state:\n{}", kernel.snapshot())))?;
    let s = counters(spid, "server")?.since(&before_s);
    let c = counters(cpid, "clients")?.since(&before_c);
    if args.pidin && total == 0 {
        emit(&pidin("part 2 over (--rounds 0: no round trips)", kernel));
    }

    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    let (mut first, mut last) = (None::<Instant>, None::<Instant>);
    for d in done {
        if let Part2::Client { latency: l, span } = d {
            latency.add(&l).ok();
            if let Some((a, b)) = span {
                first = Some(first.map_or(a, |f| f.min(a)));
                last = Some(last.map_or(b, |l| l.max(b)));
            }
        }
    }
    report_part2(args, (first, last), &latency, (spid, &s), (cpid, &c));
    Ok(())
}

/// Prints part 2's figures: latency, throughput, the kernel's counters per round trip
/// (`s` and `c`: the server's and the clients' counters over part 2).
fn report_part2(
    args: &Args,
    span: (Option<Instant>, Option<Instant>),
    latency: &Histogram<u64>,
    (spid, s): (i32, &ProcCounters),
    (cpid, c): (i32, &ProcCounters),
) {
    let n = args.clients as usize;
    let (rounds, size) = (args.rounds, args.size);
    println!(
        "--- round trips: {n} client thread(s) x {rounds}, {size}-byte message and reply, threads unpinned"
    );
    let total = rounds * n as u64;
    if let (Some(first), Some(last), true) = (span.0, span.1, total > 0) {
        let us = |v: u64| v as f64 / 1e3;
        println!(
            "round trip   p50 {:>8.2} us   p99 {:>8.2} us   p99.9 {:>8.2} us   max {:>9.2} us",
            us(latency.value_at_quantile(0.5)),
            us(latency.value_at_quantile(0.99)),
            us(latency.value_at_quantile(0.999)),
            us(latency.max())
        );
        let secs = last.duration_since(first).as_secs_f64().max(1e-9);
        println!(
            "throughput   {:.0} round trips/s over {secs:.2} s",
            total as f64 / secs
        );
        let sum = |f: fn(&ProcCounters) -> u64| (f(s) + f(c)) as f64 / total as f64;
        println!(
            "kernel       {:.2} kernel entries, {:.2} wake-ups ({:.2} of them by clients for each other), \
             {:.2} blocks per round trip",
            sum(|c| c.kernel_entries),
            sum(|c| c.wakeups),
            sum(|c| c.wakeups_carried),
            sum(|c| c.blocks)
        );
        println!("             (MsgSend + MsgReceive + MsgReply = 3 calls per round trip when the server never waits;");
        println!("             each client's ConnectAttach, closing pulse and ConnectDetach add a few in all)");
    } else {
        println!("no round trips (--rounds 0): nothing to time; each client only attached, sent its closing pulse and left");
    }
    println!(
        "client pid {cpid}: {} sent, server pid {spid}: {} received, {} replies, {} closing pulse(s)",
        c.msgs_sent, s.msgs_received, s.replies, s.pulses_received,
    );
}

// ------------------------------------------------------- --processes: separate programs

/// The launcher of a `--processes` run: makes the kernel, starts the server program and a
/// client program per part, takes part 1's pictures (mapping the kernel, as `pidin-sim`
/// does), tells the server when to go on, and ends every program on every exit path.
fn run_programs(args: &Args) -> Result<(), Failure> {
    let shared = SharedKernel::create("srr-demo")?;
    let k = shared.kernel();
    let watch = observe::start_programs(&args.observe, k)?;
    let queued = args.clients as usize;
    let mut server = Program::start(&shared, "server", &role_args("server", &[]))?;
    let spid = server.pid();
    watch.name_process(spid, "server");
    let chid = chid_of(&server.expect("chid", step_timeout())?)?;
    println!(
        "server program pid {spid} (a Linux process of its own; the kernel: {})\n",
        shared.path().display()
    );
    wait_for(k, (spid, 1), "the server to be RECEIVE-blocked", |s| {
        matches!(s, ThreadState::Receive { .. })
    })?;
    show(
        "the server waits for work: RECEIVE-blocked on its channel",
        k,
    );

    let peer = |chid| vec!["--peer".to_string(), Peer { pid: spid, chid }.to_string()];
    let part1 = Program::start(
        &shared,
        "part-1 client",
        &role_args("part1-clients", &peer(chid)),
    )?;
    watch.name_process(part1.pid(), "part-1 clients");
    server.expect("holding", step_timeout())?;
    // The client program queues its threads one at a time, each within step_timeout().
    part1.expect("queued", step_timeout() * (queued as u32 + 2))?;
    println!(
        "(client program pid {}: its threads are the clients)\n",
        part1.pid()
    );
    show(queued_title(queued), k);
    server.tell("go")?;
    part1.finish(step_timeout() * 2, || 0)?;

    let chid = chid_of(&server.expect("chid", step_timeout())?)?;
    let part2 = Program::start(
        &shared,
        "part-2 client",
        &role_args("part2-clients", &peer(chid)),
    )?;
    println!("(part 2: client program pid {})", part2.pid());
    watch.name_process(part2.pid(), "part-2 clients");
    // Every message and pulse the server takes is progress.
    part2.finish(step_timeout() * 2, || {
        k.process_counters(spid)
            .map_or(0, |c| c.msgs_received + c.pulses_received)
    })?;
    server.tell("quit")?;
    server.finish(PROGRAM_WAIT, || 0)?;
    watch.finish()
}

/// The chid in a program's `chid N` line.
fn chid_of(words: &[String]) -> Result<i32, Failure> {
    words
        .first()
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| Failure::new(format!("no chid in {words:?}")))
}

/// A program of a `--processes` run, on the kernel `QNXSIM_KERNEL` names.
fn run_role(role: Role, args: &Args) -> Result<(), Failure> {
    let kernel = userlib::current::default_kernel().context(|| "joining the shared kernel")?;
    let me = userlib::current::default_pid().context(|| "joining the shared kernel")?;
    let peer = || {
        args.peer
            .ok_or_else(|| Failure::new(format!("--role {role:?} needs --peer PID:CHID")))
    };
    match role {
        Role::Server => {
            let commands = Commands::listen();
            let queued = args.clients as usize;
            let served = part1_server(
                queued,
                |chid| tell_launcher(&format!("chid {chid}")),
                || tell_launcher("holding"),
                || commands.expect("go", step_timeout() * 2).map(drop),
            )?;
            explain_order(&served, queued)?;
            part2_server(args.clients as usize, args.size as usize, |chid| {
                tell_launcher(&format!("chid {chid}"))
            })?;
            // Stay until the part-2 client program has read our counters from the kernel,
            // which forgets a process when its program ends.
            commands.expect("quit", PROGRAM_WAIT).map(drop)
        }
        Role::Part1Clients => {
            let threads = part1_clients(
                kernel,
                &Home::Own(me),
                peer()?,
                args.clients as usize,
                || Ok(()),
            )?;
            tell_launcher("queued");
            join_all(threads, step_timeout(), || 0).map(drop)
        }
        Role::Part2Clients => part2_clients(
            kernel,
            &Home::Own(me),
            peer()?,
            args,
            Vec::new(),
            &print_block,
        ),
    }
}
