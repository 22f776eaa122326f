//! The SRR demo: a server process and a client process with several threads.
//!
//! Part 1 stages QNX's three blocked states and prints them as `pidin` would: the server
//! RECEIVE-blocked, one client REPLY-blocked (received, not yet answered) and the others
//! SEND-blocked (queued, by priority). Part 2 runs round trips from every client and prints
//! latency percentiles and the kernel's counters per round trip.

use clap::Parser;
use hdrhistogram::Histogram;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use userlib::{Channel, Connection, Kernel, Process, Received, ThreadState};

#[derive(Parser, Debug)]
#[command(about = "Send-Receive-Reply between a server and several client threads")]
struct Args {
    /// Client threads.
    #[arg(long, default_value_t = 3)]
    clients: usize,
    /// Round trips per client in part 2.
    #[arg(long, default_value_t = 20_000)]
    rounds: u64,
    /// Message and reply size in bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
}

/// Waits until every (pid, tid) is in a state `want` accepts.
fn wait_for(k: &Kernel, who: &[(i32, i32)], want: impl Fn(&ThreadState) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !who
        .iter()
        .all(|&(p, t)| k.thread_info(p, t).is_ok_and(|i| want(&i.state)))
    {
        assert!(
            Instant::now() < deadline,
            "threads did not reach the expected state"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn show(title: &str, k: &Kernel) {
    println!("--- {title}");
    print!("{}", k.snapshot());
    println!();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let kernel = Kernel::new(userlib::Config::default())?;
    let server_proc = Process::new_in(&kernel)?;
    let client_proc = Process::new_in(&kernel)?;
    println!(
        "server process pid {}, client process pid {} (simulated, in one Linux process)\n",
        server_proc.pid(),
        client_proc.pid()
    );

    // ---------------------------------------------------------------- part 1: the states
    let chan = Arc::new(Mutex::new(None::<Channel>));
    let (tx, rx) = std::sync::mpsc::channel::<i32>();
    let step = Arc::new(Barrier::new(2));
    let server = {
        let (chan, step) = (chan.clone(), step.clone());
        server_proc.spawn(move || -> userlib::KResult<()> {
            let c = Channel::create(0)?;
            tx.send(c.chid()).ok();
            let mut buf = [0u8; 256];
            // Receive the first message but hold the reply until the picture is taken.
            let Received::Message { rcvid: first, info } = c.receive(&mut buf)? else {
                return Ok(());
            };
            println!(
                "server: received {:?} from pid {} tid {} (priority {}); holding the reply",
                String::from_utf8_lossy(&buf[..info.msglen as usize]),
                info.pid,
                info.tid,
                info.priority
            );
            step.wait();
            step.wait();
            first.reply(0, b"done")?;
            loop {
                match c.receive(&mut buf)? {
                    Received::Message { rcvid, info } => {
                        println!(
                            "server: received {:?} from tid {} at priority {}",
                            String::from_utf8_lossy(&buf[..info.msglen as usize]),
                            info.tid,
                            info.priority
                        );
                        let last = &buf[..info.msglen as usize] == b"last";
                        rcvid.reply(0, b"done")?;
                        if last {
                            break;
                        }
                    }
                    Received::Pulse(_) => {}
                }
            }
            *chan.lock().unwrap() = Some(c);
            Ok(())
        })?
    };
    let chid = rx.recv()?;
    let spid = server_proc.pid();
    wait_for(&kernel, &[(spid, 1)], |s| {
        matches!(s, ThreadState::Receive { .. })
    });
    show(
        "the server waits for work: RECEIVE-blocked on its channel",
        &kernel,
    );

    let mut clients = Vec::new();
    let first_client = client_proc.spawn_with_priority(10, move || -> userlib::KResult<()> {
        let conn = Connection::attach(spid, chid)?;
        conn.send(b"first", &mut [0u8; 8]).map(drop)
    })?;
    let cpid = client_proc.pid();
    wait_for(&kernel, &[(cpid, 1)], |s| {
        matches!(s, ThreadState::Reply { .. })
    });
    for (i, (prio, text)) in [(11, "second"), (15, "urgent"), (11, "last")]
        .into_iter()
        .enumerate()
        .take(args.clients.max(1))
    {
        let msg = if i + 1 == args.clients.clamp(1, 3) {
            "last"
        } else {
            text
        };
        clients.push(
            client_proc.spawn_with_priority(prio, move || -> userlib::KResult<()> {
                let conn = Connection::attach(spid, chid)?;
                conn.send(msg.as_bytes(), &mut [0u8; 8]).map(drop)
            })?,
        );
        wait_for(&kernel, &[(cpid, i as i32 + 2)], |s| {
            matches!(s, ThreadState::Send { .. })
        });
    }
    step.wait();
    show("client tid 1 was received: REPLY-blocked; the others queue SEND-blocked (server boosted to the highest)", &kernel);
    step.wait();
    first_client.join().map_err(|_| "client panicked")??;
    for c in clients {
        c.join().map_err(|_| "client panicked")??;
    }
    server.join().map_err(|_| "server panicked")??;
    println!(
        "(the queue was served by priority: \"urgent\" at 15 before the 11s, FIFO among equals)\n"
    );

    // ---------------------------------------------------------------- part 2: round trips
    let n = args.clients.max(1);
    let rounds = args.rounds;
    let size = args.size;
    let ready = Arc::new(Barrier::new(n + 1));
    let server = {
        let ready = ready.clone();
        server_proc.spawn(move || -> userlib::KResult<()> {
            let c = Channel::create(0)?;
            let chid = c.chid();
            let _ = SHARED_CHID.set(chid);
            ready.wait();
            let mut buf = vec![0u8; size];
            let reply = vec![0x5au8; size];
            let mut done = 0;
            while done < n {
                if let Received::Message { rcvid, info } = c.receive(&mut buf)? {
                    if info.msglen == 0 {
                        done += 1;
                    }
                    rcvid.reply(0, &reply)?;
                }
            }
            Ok(())
        })?
    };
    let before_s = server_proc.counters()?;
    let before_c = client_proc.counters()?;
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1,
        60_000_000_000,
        3,
    )?));
    let mut hs = Vec::new();
    for _ in 0..n {
        let (ready, hist) = (ready.clone(), hist.clone());
        hs.push(client_proc.spawn(move || -> userlib::KResult<()> {
            ready.wait();
            let conn =
                Connection::attach(spid, *SHARED_CHID.get().expect("server made its channel"))?;
            let msg = vec![0xa5u8; size];
            let mut reply = vec![0u8; size];
            let mut local =
                Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds");
            for _ in 0..rounds {
                let t = Instant::now();
                conn.send(&msg, &mut reply)?;
                local.saturating_record(t.elapsed().as_nanos() as u64);
            }
            conn.send(&[], &mut [])?;
            hist.lock().unwrap().add(&local).ok();
            Ok(())
        })?);
    }
    let t0 = Instant::now();
    for h in hs {
        h.join().map_err(|_| "client panicked")??;
    }
    let elapsed = t0.elapsed();
    server.join().map_err(|_| "server panicked")??;
    let s = server_proc.counters()?;
    let c = client_proc.counters()?;
    let total = (rounds * n as u64) as f64;
    let h = hist.lock().unwrap();
    println!("--- round trips: {n} client thread(s) x {rounds}, {size}-byte message and reply, threads unpinned");
    println!(
        "round trip   p50 {:>8.2} us   p99 {:>8.2} us   p99.9 {:>8.2} us   max {:>9.2} us",
        h.value_at_quantile(0.5) as f64 / 1e3,
        h.value_at_quantile(0.99) as f64 / 1e3,
        h.value_at_quantile(0.999) as f64 / 1e3,
        h.max() as f64 / 1e3
    );
    println!(
        "throughput   {:.0} round trips/s over {:.2} s",
        total / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    let ke = (s.kernel_entries - before_s.kernel_entries + c.kernel_entries
        - before_c.kernel_entries) as f64;
    let wk = (s.wakeups - before_s.wakeups + c.wakeups - before_c.wakeups) as f64;
    let bl = (s.blocks - before_s.blocks + c.blocks - before_c.blocks) as f64;
    println!(
        "kernel       {:.2} kernel entries, {:.2} wake-ups, {:.2} blocks per round trip",
        ke / total,
        wk / total,
        bl / total
    );
    println!("             (MsgSend + MsgReceive + MsgReply = 3 calls per round trip when the server never waits)");
    println!(
        "client pid {}: {} sent, server pid {}: {} received, {} replies (part 2, including each client's closing message)",
        client_proc.pid(),
        c.msgs_sent - before_c.msgs_sent,
        server_proc.pid(),
        s.msgs_received - before_s.msgs_received,
        s.replies - before_s.replies
    );
    drop(chan);
    Ok(())
}

static SHARED_CHID: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
