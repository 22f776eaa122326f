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

use clap::Parser;
use std::collections::HashMap;
use std::time::Duration;
use userlib::consts::*;
use userlib::{
    Channel, Connection, Errno, Kernel, Notifier, Process, ReceiveId, Received, SigEvent, Timer,
};

#[derive(Parser, Debug)]
#[command(
    about = "A QNX server event loop: messages, pulses, unblock, disconnect, a periodic timer"
)]
struct Args {
    /// Timer period in milliseconds.
    #[arg(long, default_value_t = 10)]
    period_ms: u64,
    /// Ticks a slow request is held before the server answers it.
    #[arg(long, default_value_t = 10)]
    slow_ticks: u32,
}

const TICK: i8 = 1;
const USER_PING: i8 = 2;
const NOTIFY_CODE: i16 = 5;

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

fn server(
    args: &Args,
    chan_tx: std::sync::mpsc::Sender<i32>,
    clients: u32,
) -> userlib::KResult<Seen> {
    let chan = Channel::create(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT)?;
    chan_tx.send(chan.chid()).ok();
    // The periodic pulse to ourselves: a connection to our own channel and a timer on it.
    let me = Connection::attach(0, chan.chid())?;
    let timer = Timer::monotonic(&me.pulse_event(-1, TICK as i16, 0))?;
    timer.start(
        Duration::from_millis(args.period_ms),
        Duration::from_millis(args.period_ms),
    )?;

    let mut seen = Seen::default();
    let mut held: HashMap<userlib::RcvId, (ReceiveId, u32)> = HashMap::new(); // rcvid -> (id, tick due)
    let mut to_notify: Vec<(Notifier, SigEvent, u32)> = Vec::new();
    let mut buf = [0u8; 256];
    // A client counts as gone when its connection's disconnect pulse arrives.
    while seen.disconnects < clients {
        match chan.receive_timeout(&mut buf, Duration::from_secs(10))? {
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
                    let r = p.value_long();
                    println!("server: _PULSE_CODE_UNBLOCK for rcvid {r:#x}: the client timed out; answering EINTR");
                    if let Some((id, _)) = held.remove(&r) {
                        let flags = id.info().map(|i| i.flags).unwrap_or(0);
                        println!("server: MsgInfo flags {flags:#x} (_NTO_MI_UNBLOCK_REQ = {_NTO_MI_UNBLOCK_REQ:#x})");
                        id.error(Errno::EINTR)?;
                    }
                }
                _PULSE_CODE_DISCONNECT => {
                    seen.disconnects += 1;
                    println!(
                        "server: _PULSE_CODE_DISCONNECT for scoid {:#x}: detaching it",
                        p.scoid
                    );
                    userlib::qnx::connect_detach(p.scoid)?;
                }
                code => println!("server: unexpected pulse code {code}"),
            },
            Received::Message { rcvid, info } => {
                seen.messages += 1;
                let msg = &buf[..info.msglen as usize];
                match msg.first() {
                    Some(b'E') => {
                        println!("server: echo request from pid {}", info.pid);
                        rcvid.reply(0, &msg[1..])?;
                    }
                    Some(b'S') => {
                        println!(
                            "server: slow request {:#x} from pid {}: holding it for {} ticks",
                            rcvid.rcvid(),
                            info.pid,
                            args.slow_ticks
                        );
                        held.insert(rcvid.rcvid(), (rcvid, seen.ticks + args.slow_ticks));
                    }
                    Some(b'N') => match SigEvent::from_bytes(&msg[1..]) {
                        Some(ev) => {
                            println!("server: pid {} asks to be notified; replying now, notifying in 3 ticks", info.pid);
                            let n = rcvid.notifier();
                            n.verify(&ev)
                                .map_err(|e| println!("server: bad event: {e:?}"))
                                .ok();
                            to_notify.push((n, ev, seen.ticks + 3));
                            rcvid.reply(0, &[])?;
                        }
                        None => rcvid.error(Errno::EINVAL)?,
                    },
                    _ => rcvid.error(Errno::ENOSYS)?,
                }
            }
        }
    }
    timer.stop()?;
    Ok(seen)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let kernel = Kernel::new(userlib::Config::default())?;
    let server_proc = Process::new_in(&kernel)?;
    // One process per client: connections from one process to one channel are shared (one
    // scoid, one disconnect pulse), so separate processes show one disconnect each.
    let procs = [
        Process::new_in(&kernel)?,
        Process::new_in(&kernel)?,
        Process::new_in(&kernel)?,
    ];
    let (tx, rx) = std::sync::mpsc::channel();
    let slow_timeout = Duration::from_millis(args.period_ms * args.slow_ticks as u64 / 3)
        .max(Duration::from_millis(1));
    let s = server_proc.spawn(move || server(&args, tx, 3))?;
    let chid = rx.recv_timeout(Duration::from_secs(10))?;
    let spid = server_proc.pid();

    let echo = procs[0].spawn(move || -> userlib::KResult<()> {
        let c = Connection::attach(spid, chid)?;
        let mut r = [0u8; 16];
        let n = c.send_timeout(b"Ehello", &mut r, Duration::from_secs(10))?;
        println!(
            "client 1: echo returned {n}, {:?}",
            String::from_utf8_lossy(&r[..5])
        );
        c.send_pulse(-1, USER_PING as i32, 42)?;
        println!("client 1: sent a pulse, leaving");
        Ok(())
    })?;
    let slow = procs[1].spawn(move || -> userlib::KResult<()> {
        let c = Connection::attach(spid, chid)?;
        let r = c.send_timeout(b"S", &mut [0u8; 16], slow_timeout);
        println!("client 2: slow request with a {slow_timeout:?} timeout returned {r:?}");
        assert_eq!(
            r,
            Err(Errno::EINTR),
            "the server answers the unblocked request with EINTR"
        );
        Ok(())
    })?;
    let notified = procs[2].spawn(move || -> userlib::KResult<()> {
        // Our own channel, and an event on a connection to it, sent to the server.
        let mine = Channel::create(0)?;
        let back = Connection::attach(0, mine.chid())?;
        let ev = back.pulse_event(-1, NOTIFY_CODE, 7);
        let c = Connection::attach(spid, chid)?;
        let mut msg = vec![b'N'];
        msg.extend_from_slice(&ev.to_bytes());
        c.send_timeout(&msg, &mut [], Duration::from_secs(10))?;
        match mine.receive_timeout(&mut [0u8; 64], Duration::from_secs(10))? {
            Received::Pulse(p) => println!(
                "client 3: notified by pulse code {} value {}",
                p.code,
                p.value_int()
            ),
            Received::Message { .. } => println!("client 3: unexpected message"),
        }
        Ok(())
    })?;
    for h in [echo, slow, notified] {
        h.join().map_err(|_| "client panicked")??;
    }
    let seen = s.join().map_err(|_| "server panicked")??;
    println!(
        "summary: {} messages, {} timer ticks, {} user pulse(s), {} unblock pulse(s), {} disconnect pulse(s), {} notification(s)",
        seen.messages, seen.ticks, seen.user_pulses, seen.unblocks, seen.disconnects, seen.notifications
    );
    let c = server_proc.counters()?;
    println!(
        "server counters: {} kernel entries, {} pulses received, {} messages received",
        c.kernel_entries, c.pulses_received, c.msgs_received
    );
    Ok(())
}
