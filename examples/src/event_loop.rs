//! A QNX-style server event loop: one `MsgReceive` loop that handles messages, user pulses,
//! `_PULSE_CODE_UNBLOCK`, `_PULSE_CODE_DISCONNECT` and a periodic timer pulse.
//!
//! The server (pid 2) creates its channel with `_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT`, arms a
//! periodic timer that pulses its own channel, and serves three kinds of requests:
//!
//! * `E` echo: answered at once;
//! * `S` slow: held, answered a few ticks later (a deferred reply);
//! * `N` notify-me: carries a `sigevent`; answered at once, and the event is delivered later
//!   with `MsgDeliverEvent`, after the reply.
//!
//! Three clients (pids 3, 4, 5) exercise it: one echoes and sends a user pulse, one makes a
//! slow request with a timeout shorter than the server's delay (the server gets an unblock
//! pulse and answers `EINTR`), one registers for a notification and waits for the pulse. When a
//! client's connection goes, the server gets a disconnect pulse and detaches the scoid; when all
//! are gone, it stops.
//!
//! Every wait is bounded: the server's receives, the clients' sends and receives carry
//! timeouts, and the server gives up if its clients have not all left in time. A failure names
//! the call that failed and its errno.
//!
//! `--pidin` prints what `pidin-sim` shows (processes with their counters, threads with their
//! states, channels with their flags, connections, timers in use) at the moment the server
//! holds the slow request (its client REPLY-blocked) while the client waiting for its
//! notification is RECEIVE-blocked on its own channel (or, if the two never overlap, when the
//! slow client's unblock pulse arrives, its request still held).
//!
//! `--processes` runs the server and each client as a separate Linux program on one kernel
//! (`examples::programs`): this program makes the kernel, starts the server program, then the
//! three client programs, and waits for them; the pids are then the programs' Linux pids, and
//! a client's disconnect pulse comes when its program exits.

use clap::{Parser, ValueEnum};
use examples::observe::{self, ObserveArgs};
use examples::programs::{
    self, print_block, role_args, tell_launcher, Peer, Program, SharedKernel,
};
use examples::{join_all, pidin, Context, Failure};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use userlib::consts::*;
use userlib::{
    Channel, Connection, Errno, Kernel, Notifier, ProcCounters, Process, ReceiveId, Received,
    SigEvent, ThreadState, Timer,
};

#[derive(Parser, Debug)]
#[command(
    name = "event-loop",
    version,
    about = "A QNX server event loop: messages, pulses, unblock, disconnect, a periodic timer"
)]
struct Args {
    /// Timer period in milliseconds, 1 to 1000 (the server's tick).
    #[arg(long, default_value_t = 10, allow_negative_numbers = true, value_parser = examples::u64_in(1, 1000))]
    period_ms: u64,
    /// Ticks a slow request is held before the server answers it, 3 to 100. The client's
    /// timeout is a third of that, so that it expires while the server holds the request.
    #[arg(long, default_value_t = 10, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(3..=100))]
    slow_ticks: u32,
    /// Also print what pidin-sim shows while the server holds the slow request and the third
    /// client waits for its notification.
    #[arg(long)]
    pidin: bool,
    /// Run the server and each client as separate Linux programs sharing one kernel (this
    /// program starts them) instead of simulated processes of this one.
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
    /// The server's event loop.
    Server,
    /// Client 1: an echo request and a user pulse.
    Echo,
    /// Client 2: a slow request that times out.
    Slow,
    /// Client 3: asks to be notified, and waits for the pulse.
    Notified,
}

const TICK: i8 = 1;
const USER_PING: i8 = 2;
const NOTIFY_CODE: i8 = 5;

/// Ticks after which the server notifies the client that asked.
const NOTIFY_TICKS: u32 = 3;

/// Slack on every bound: how long a step may take beyond what the timeline asks of it.
const SLACK_BASE: Duration = Duration::from_secs(10);

/// [`SLACK_BASE`], or a day while a student steps (`observe::patience`).
fn slack() -> Duration {
    observe::patience(SLACK_BASE)
}

impl Args {
    /// Client 2's timeout: a third of the time the server holds its request.
    fn slow_timeout(&self) -> Duration {
        self.period() * self.slow_ticks / 3
    }

    /// How long client 3 waits for its notification.
    fn notify_wait(&self) -> Duration {
        self.period() * NOTIFY_TICKS + slack()
    }

    fn period(&self) -> Duration {
        Duration::from_millis(self.period_ms)
    }

    /// The longest a receive may wait: the next tick is at most a period away.
    fn receive_limit(&self) -> Duration {
        self.period() + slack()
    }

    /// The longest the whole exchange may take: the slow request is answered within
    /// `slow_ticks` ticks, the notification within `NOTIFY_TICKS`.
    fn run_limit(&self) -> Duration {
        self.period() * (self.slow_ticks + NOTIFY_TICKS) + slack()
    }
}

/// What the server's loop saw, for the summary line.
#[derive(Debug, Default)]
struct Seen {
    messages: u32,
    ticks: u32,
    user_pulses: u32,
    unblocks: u32,
    disconnects: u32,
    notifications: u32,
}

/// What a thread of the example ended with.
enum Ended {
    Server(Seen),
    Client,
}

/// The server: announces its chid (`on_chid`) and serves until `clients` clients have left.
/// With `pidin_to`, prints the kernel's listing through it once the slow request is held while
/// the client that asked to be notified waits for it; if that moment has not come by the time
/// the slow client's unblock pulse arrives (the clients did not overlap: programs started
/// late), then, with the slow request still held.
fn server(
    args: &Args,
    kernel: &Kernel,
    on_chid: impl FnOnce(i32),
    clients: u32,
    pidin_to: Option<&dyn Fn(&str)>,
) -> Result<Seen, Failure> {
    let chan = Channel::create(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT)
        .context(|| "ChannelCreate(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT)")?;
    let chid = chan.chid();
    on_chid(chid);
    // The periodic pulse to ourselves: a connection to our own channel and a timer on it.
    let me = Connection::attach(0, chid).context(|| format!("ConnectAttach to own chid {chid}"))?;
    let timer = Timer::monotonic(&me.pulse_event(-1, TICK, 0))
        .context(|| "TimerCreate(CLOCK_MONOTONIC, pulse)")?;
    timer
        .start(args.period(), args.period())
        .context(|| format!("TimerSettime(every {} ms)", args.period_ms))?;

    let mut seen = Seen::default();
    let mut held: HashMap<userlib::RcvId, (ReceiveId, u32)> = HashMap::new(); // rcvid -> (request, tick due)
    let mut to_notify: Vec<(Notifier, SigEvent, u32)> = Vec::new();
    // The thread that asked to be notified (pid, tid), and whether the listing was printed.
    let mut notify_waiter: Option<(i32, i32)> = None;
    let mut shown = pidin_to.is_none();
    let mut buf = [0u8; 256];
    let wait = args.receive_limit();
    let deadline = Instant::now() + args.run_limit();
    // A client counts as gone when its connection's disconnect pulse arrives.
    while seen.disconnects < clients {
        if let (false, Some(emit), Some((pid, tid))) = (shown, pidin_to, notify_waiter) {
            let waiting = kernel
                .thread_info(pid, tid)
                .is_ok_and(|i| matches!(i.state, ThreadState::Receive { .. }));
            if waiting && !held.is_empty() && !to_notify.is_empty() {
                emit(&pidin(
                    "the server holds the slow request (its client REPLY-blocked); client 3 waits for its notification (RECEIVE-blocked)",
                    kernel,
                ));
                shown = true;
            }
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "{} of {clients} clients left within {:?}; the others are still connected",
                seen.disconnects,
                args.run_limit()
            )));
        }
        let got = chan
            .receive_timeout(&mut buf, wait)
            .context(|| format!("MsgReceive on chid {chid} (waiting at most {wait:?})"))?;
        match got {
            Received::Pulse(p) => match p.code {
                TICK => {
                    seen.ticks += 1;
                    let now = seen.ticks;
                    let due: Vec<userlib::RcvId> = held
                        .iter()
                        .filter(|(_, (_, at))| *at <= now)
                        .map(|(r, _)| *r)
                        .collect();
                    for r in due {
                        if let Some((id, _)) = held.remove(&r) {
                            println!("server: tick {now}: answering held request {r:#x}");
                            // The client may have left (it timed out): then the reply is ESRCH.
                            if let Err(e) = id.reply(0, b"slow done") {
                                println!("server: reply to {r:#x} failed: {e:?}");
                            }
                        }
                    }
                    to_notify.retain(|(n, ev, at)| {
                        if *at > now {
                            return true;
                        }
                        println!("server: tick {now}: delivering the event a client registered");
                        seen.notifications += 1;
                        n.deliver(ev)
                            .map_err(|e| println!("server: MsgDeliverEvent failed: {e:?}"))
                            .ok();
                        false
                    });
                }
                USER_PING => {
                    seen.user_pulses += 1;
                    println!(
                        "server: user pulse, code {} value {} from scoid {:#x}",
                        p.code,
                        p.value_int(),
                        p.scoid
                    );
                }
                _PULSE_CODE_UNBLOCK => {
                    seen.unblocks += 1;
                    // The pulse's value is the rcvid (all 64 bits: sival_long).
                    let r = p.value_long();
                    println!("server: _PULSE_CODE_UNBLOCK for rcvid {r:#x}: the client timed out; answering EINTR");
                    if let Some((id, _)) = held.remove(&r) {
                        if let (false, Some(emit)) = (shown, pidin_to) {
                            // The other moment never came (client 3 came late): show this one.
                            emit(&pidin(
                                "the slow request's client timed out; the server still holds it (the client REPLY-blocked until answered)",
                                kernel,
                            ));
                            shown = true;
                        }
                        let flags = id.info().map(|i| i.flags).unwrap_or(0);
                        println!("server: MsgInfo flags {flags:#x} (_NTO_MI_UNBLOCK_REQ = {_NTO_MI_UNBLOCK_REQ:#x})");
                        id.error(Errno::EINTR)
                            .context(|| format!("MsgError(EINTR) to rcvid {r:#x}"))?;
                    }
                }
                _PULSE_CODE_DISCONNECT => {
                    seen.disconnects += 1;
                    println!(
                        "server: _PULSE_CODE_DISCONNECT for scoid {:#x}: detaching it",
                        p.scoid
                    );
                    userlib::qnx::connect_detach(p.scoid)
                        .context(|| format!("ConnectDetach(scoid {:#x})", p.scoid))?;
                }
                code => println!("server: unexpected pulse code {code}"),
            },
            Received::Message { rcvid, info } => {
                seen.messages += 1;
                let msg = &buf[..info.msglen as usize];
                let id = rcvid.rcvid();
                match msg.first() {
                    Some(b'E') => {
                        println!("server: echo request from pid {}", info.pid);
                        rcvid
                            .reply(0, &msg[1..])
                            .context(|| format!("MsgReply to rcvid {id:#x}"))?;
                    }
                    Some(b'S') => {
                        println!(
                            "server: slow request {id:#x} from pid {}: holding it for {} ticks",
                            info.pid, args.slow_ticks
                        );
                        held.insert(id, (rcvid, seen.ticks + args.slow_ticks));
                    }
                    Some(b'N') => match SigEvent::from_bytes(&msg[1..]) {
                        Some(ev) => {
                            println!("server: pid {} asks to be notified; replying now, notifying in {NOTIFY_TICKS} ticks", info.pid);
                            let n = rcvid.notifier();
                            n.verify(&ev)
                                .map_err(|e| println!("server: bad event: {e:?}"))
                                .ok();
                            to_notify.push((n, ev, seen.ticks + NOTIFY_TICKS));
                            notify_waiter = Some((info.pid, info.tid));
                            rcvid
                                .reply(0, &[])
                                .context(|| format!("MsgReply to rcvid {id:#x}"))?;
                        }
                        None => rcvid
                            .error(Errno::EINVAL)
                            .context(|| format!("MsgError(EINVAL) to rcvid {id:#x}"))?,
                    },
                    _ => rcvid
                        .error(Errno::ENOSYS)
                        .context(|| format!("MsgError(ENOSYS) to rcvid {id:#x}"))?,
                }
            }
        }
    }
    timer.stop().context(|| "TimerSettime(stop)")?;
    Ok(seen)
}

/// Client 1: an echo request, then a user pulse.
fn client_echo(spid: i32, chid: i32) -> Result<(), Failure> {
    let c = Connection::attach(spid, chid)
        .context(|| format!("ConnectAttach to pid {spid} chid {chid}"))?;
    let coid = c.coid();
    let mut r = [0u8; 16];
    let n = c.send_timeout(b"Ehello", &mut r, slack()).context(|| {
        format!(
            "MsgSend(\"Ehello\") on coid {coid:#x} (at most {:?})",
            slack()
        )
    })?;
    println!(
        "client 1: echo returned {n}, {:?}",
        String::from_utf8_lossy(&r[..5])
    );
    c.send_pulse(-1, USER_PING, 42)
        .context(|| format!("MsgSendPulse on coid {coid:#x}"))?;
    println!("client 1: sent a pulse, leaving");
    Ok(())
}

/// Client 2: a slow request with a timeout shorter than the server holds it.
fn client_slow(spid: i32, chid: i32, slow_timeout: Duration) -> Result<(), Failure> {
    let c = Connection::attach(spid, chid)
        .context(|| format!("ConnectAttach to pid {spid} chid {chid}"))?;
    let r = c.send_timeout(b"S", &mut [0u8; 16], slow_timeout);
    println!("client 2: slow request with a {slow_timeout:?} timeout returned {r:?}");
    // The server holds the request past our timeout, gets the unblock pulse and answers.
    match r {
        Err(Errno::EINTR) => Ok(()),
        other => Err(Failure::new(format!(
            "the server should have answered the timed-out request with EINTR; MsgSend returned {other:?}"
        ))),
    }
}

/// Client 3: sends the server an event to deliver later, and waits for its pulse.
fn client_notified(spid: i32, chid: i32, notify_wait: Duration) -> Result<(), Failure> {
    // Our own channel, and an event on a connection to it, sent to the server.
    let mine = Channel::create(0).context(|| "ChannelCreate")?;
    let back = Connection::attach(0, mine.chid())
        .context(|| format!("ConnectAttach to own chid {}", mine.chid()))?;
    let ev = back.pulse_event(-1, NOTIFY_CODE, 7);
    let c = Connection::attach(spid, chid)
        .context(|| format!("ConnectAttach to pid {spid} chid {chid}"))?;
    let mut msg = vec![b'N'];
    msg.extend_from_slice(&ev.to_bytes());
    c.send_timeout(&msg, &mut [], slack()).context(|| {
        format!(
            "MsgSend(notify me) on coid {:#x} (at most {:?})",
            c.coid(),
            slack()
        )
    })?;
    let got = mine
        .receive_timeout(&mut [0u8; 64], notify_wait)
        .context(|| {
            format!(
                "MsgReceive on chid {} for the notification (waiting at most {notify_wait:?})",
                mine.chid()
            )
        })?;
    match got {
        Received::Pulse(p) => println!(
            "client 3: notified by pulse code {} value {}",
            p.code,
            p.value_int()
        ),
        Received::Message { .. } => println!("client 3: unexpected message"),
    }
    Ok(())
}

/// The summary lines: what the server's loop saw, and its counters (`c`).
fn print_summary(seen: &Seen, c: &ProcCounters) {
    println!(
        "summary: {} messages, {} timer ticks, {} user pulse(s), {} unblock pulse(s), {} disconnect pulse(s), {} notification(s)",
        seen.messages, seen.ticks, seen.user_pulses, seen.unblocks, seen.disconnects, seen.notifications
    );
    println!(
        "server counters: {} kernel entries, {} pulses received, {} messages received",
        c.kernel_entries, c.pulses_received, c.msgs_received
    );
}

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
        args.observe.refuse_bad_outputs("event-loop");
    }
    let (who, r) = match args.role {
        Some(role) => (
            format!("event-loop ({role:?} program)"),
            programs::role_setup().and_then(|()| run_role(role, &args)),
        ),
        None if args.processes => ("event-loop".to_string(), run_programs(&args)),
        None => ("event-loop".to_string(), run(args)),
    };
    if let Err(e) = r {
        // (A launcher a signal is ending says so itself.)
        if !programs::ending() {
            eprintln!("{who}: {e}");
        }
        programs::exit(1);
    }
    programs::exit(0);
}

fn run(args: Args) -> Result<(), Failure> {
    let kernel = Kernel::new(userlib::Config::default()).context(|| "creating the kernel")?;
    let server_proc = Process::new_in(&kernel).context(|| "creating the server process")?;
    // One process per client: connections from one process to one channel are shared (one
    // scoid, one disconnect pulse), so separate processes show one disconnect each.
    let mut procs = Vec::new();
    for i in 1..=3 {
        procs.push(Process::new_in(&kernel).context(|| format!("creating client process {i}"))?);
    }
    let mut names = vec![(server_proc.pid(), "server")];
    for (p, n) in procs
        .iter()
        .zip(["client 1 (echo)", "client 2 (slow)", "client 3 (notified)"])
    {
        names.push((p.pid(), n));
    }
    let watch = observe::start(&args.observe, &kernel, &names)?;
    // A student stepping takes their time: no backstop then.
    let stepping = args.observe.step;
    let (tx, rx) = std::sync::mpsc::channel();
    let slow_timeout = args.slow_timeout();
    let notify_wait = args.notify_wait();
    let run_limit = args.run_limit();
    let k = kernel.clone();
    let s = server_proc
        .spawn(move || {
            let emit = |text: &str| print!("{text}");
            let pidin_to = args.pidin.then_some(&emit as &dyn Fn(&str));
            let on_chid = |chid| {
                let _ = tx.send(chid);
            };
            server(&args, &k, on_chid, 3, pidin_to).map(Ended::Server)
        })
        .context(|| "starting the server thread")?;
    let mut threads = vec![("server".to_string(), s)];
    let chid = rx
        .recv_timeout(slack())
        .context(|| "waiting for the server's channel")?;
    let spid = server_proc.pid();

    let echo = procs[0].spawn(move || client_echo(spid, chid).map(|()| Ended::Client));
    threads.push((
        "client 1 (echo)".to_string(),
        echo.context(|| "starting client 1")?,
    ));
    let slow =
        procs[1].spawn(move || client_slow(spid, chid, slow_timeout).map(|()| Ended::Client));
    threads.push((
        "client 2 (slow request)".to_string(),
        slow.context(|| "starting client 2")?,
    ));
    let notified =
        procs[2].spawn(move || client_notified(spid, chid, notify_wait).map(|()| Ended::Client));
    threads.push((
        "client 3 (notification)".to_string(),
        notified.context(|| "starting client 3")?,
    ));

    // Every thread is bounded by its own timeouts; this is the backstop.
    let limit = if stepping {
        Duration::from_secs(24 * 3600)
    } else {
        run_limit + slack()
    };
    let ended = join_all(threads, limit, || 0)?;
    let Some(seen) = ended.into_iter().find_map(|e| match e {
        Ended::Server(s) => Some(s),
        Ended::Client => None,
    }) else {
        return Err(Failure::new("the server ended without its summary"));
    };
    let c = server_proc
        .counters()
        .context(|| "reading the server's counters")?;
    print_summary(&seen, &c);
    watch.finish()
}

// ------------------------------------------------------- --processes: separate programs

/// The launcher of a `--processes` run: makes the kernel, starts the server program and the
/// three client programs, and waits for them all (each bounded; all ended on every exit path).
fn run_programs(args: &Args) -> Result<(), Failure> {
    let shared = SharedKernel::create("event-loop")?;
    let watch = observe::start_programs(&args.observe, shared.kernel())?;
    let server = Program::start(&shared, "server", &role_args("server", &[]))?;
    let spid = server.pid();
    watch.name_process(spid, "server");
    let chid = server
        .expect("chid", slack())?
        .first()
        .and_then(|w| w.parse::<i32>().ok())
        .ok_or_else(|| Failure::new("the server program said no chid"))?;
    println!(
        "server program pid {spid}, chid {chid} (the kernel: {})",
        shared.path().display()
    );
    let peer = vec!["--peer".to_string(), Peer { pid: spid, chid }.to_string()];
    let mut clients = Vec::new();
    for (role, name) in [
        ("echo", "client 1 (echo)"),
        ("slow", "client 2 (slow request)"),
        ("notified", "client 3 (notification)"),
    ] {
        let p = Program::start(&shared, name, &role_args(role, &peer))?;
        println!("{name}: program pid {}", p.pid());
        watch.name_process(p.pid(), name);
        clients.push(p);
    }
    let limit = args.run_limit() + slack();
    for c in clients {
        c.finish(limit, || 0)?;
    }
    server.finish(limit, || 0)?;
    watch.finish()
}

/// A program of a `--processes` run, on the kernel `QNXSIM_KERNEL` names.
fn run_role(role: Role, args: &Args) -> Result<(), Failure> {
    let kernel = userlib::current::default_kernel().context(|| "joining the shared kernel")?;
    let peer = || {
        args.peer
            .ok_or_else(|| Failure::new(format!("--role {role:?} needs --peer PID:CHID")))
    };
    match role {
        Role::Server => {
            let me = userlib::current::default_pid().context(|| "joining the shared kernel")?;
            let emit = |text: &str| print_block(text);
            let pidin_to = args.pidin.then_some(&emit as &dyn Fn(&str));
            let on_chid = |chid| tell_launcher(&format!("chid {chid}"));
            let seen = server(args, kernel, on_chid, 3, pidin_to)?;
            let c = kernel
                .process_counters(me)
                .context(|| "reading the server's counters")?;
            print_summary(&seen, &c);
            Ok(())
        }
        Role::Echo => peer().and_then(|p| client_echo(p.pid, p.chid)),
        Role::Slow => peer().and_then(|p| client_slow(p.pid, p.chid, args.slow_timeout())),
        Role::Notified => peer().and_then(|p| client_notified(p.pid, p.chid, args.notify_wait())),
    }
}
