//! The wake hand-off (`Config::wake_handoff`) with real threads: a busy server that holds
//! several clients' messages and answers them in a burst while more clients are queued leaves
//! the wake-ups of the sleeping ones to a client it answered first, which makes them when it
//! collects its own reply. Every client gets every reply, exactly, with each blocking call
//! bounded (a lost wake-up fails the test instead of hanging it), the pools end where they
//! started, and the counters say who made the wake-ups: carried ones only with the hand-off on.
//! Client processes torn down at random moments leave no thread asleep. The carrying itself,
//! race by race, is modelled in `loom_wake_handoff.rs`; its rules (busy server, sleeping
//! client, priority, room, a carrier torn down) in the kernel's unit tests.

mod support;

use std::thread;
use support::*;

const CLIENTS: usize = 12;
const ROUNDS: usize = 150;
/// Messages the server holds before it answers them in a burst.
const BURST: usize = 6;
/// Bound on every blocking call of the clients.
const BOUND: u64 = 2 * LONG;

fn answer(client: u8, round: u16) -> [u8; 4] {
    let r = round.to_le_bytes();
    [!client, r[1], r[0], 0x5a]
}

/// Runs the workload; returns (the wake-ups carried, the wake-ups made) by the clients.
fn run(handoff: bool) -> (u64, u64) {
    let k = Kernel::new(Config {
        wake_handoff: handoff,
        ..Config::default()
    })
    .expect("kernel");
    let start = live(&k);
    let sp = k.process_create().unwrap();
    let server = k.thread_attach(sp, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let procs: Vec<Pid> = (0..CLIENTS).map(|_| k.process_create().unwrap()).collect();
    let clients: Vec<_> = procs
        .iter()
        .enumerate()
        .map(|(id, &p)| {
            let k = k.clone();
            thread::spawn(move || {
                let c = k.thread_attach(p, 10).unwrap();
                let coid = c
                    .connect_attach(0, sp.pid, chid, _NTO_SIDE_CHANNEL, 0)
                    .unwrap();
                for round in 0..ROUNDS as u16 {
                    let mut reply = [0u8; 4];
                    c.timer_timeout(
                        CLOCK_MONOTONIC,
                        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                        Some(BOUND),
                    )
                    .unwrap();
                    let msg = [id as u8, round.to_le_bytes()[0], round.to_le_bytes()[1]];
                    assert_eq!(c.msg_send(coid, &msg, &mut reply), Ok(7), "client {id}");
                    assert_eq!(reply, answer(id as u8, round), "client {id} round {round}");
                }
                c.connect_detach(coid).unwrap();
            })
        })
        .collect();

    let total = CLIENTS * ROUNDS;
    let mut held = Vec::with_capacity(BURST);
    let mut answered = 0;
    let mut bursts = 0u32;
    while answered < total {
        // Hold up to BURST messages; 2 ms with nothing more coming ends a burst early.
        let mut buf = [0u8; 8];
        server
            .timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(2_000_000))
            .unwrap();
        let quiet = match server.msg_receive(chid, &mut buf, None) {
            Ok(rcvid) => {
                assert!(rcvid > 0, "a message, not a pulse");
                let round = u16::from_le_bytes([buf[1], buf[2]]);
                held.push((rcvid, answer(buf[0], round)));
                false
            }
            Err(Errno::ETIMEDOUT) => true,
            Err(e) => panic!("server receive: {e:?}"),
        };
        let last = answered + held.len() == total;
        if held.len() == BURST || (!held.is_empty() && (quiet || last)) {
            // Every few bursts, let the held clients fall asleep first (past their spin).
            bursts += 1;
            if bursts.is_multiple_of(4) {
                thread::sleep(std::time::Duration::from_millis(1));
            }
            for (rcvid, a) in held.drain(..) {
                server.msg_reply(rcvid, 7, &a).unwrap();
                answered += 1;
            }
        }
    }
    for c in clients {
        c.join().expect("client");
    }
    let (mut carried, mut made) = (0, 0);
    for p in &procs {
        let c = k.process_counters(p.pid).unwrap();
        carried += c.wakeups_carried;
        made += c.wakeups;
        assert!(c.wakeups_carried <= c.wakeups);
    }
    let mut all = procs.clone();
    all.push(sp);
    drop(server);
    teardown(&k, &all, start);
    (carried, made)
}

#[test]
fn clients_of_a_busy_server_carry_each_others_wake_ups_and_every_reply_arrives() {
    let (carried, made) = run(true);
    eprintln!("clients made {made} wake-ups, {carried} of them carried");
    assert!(
        carried > 0,
        "with the hand-off on, clients carried some wake-ups ({made} made)"
    );
}

#[test]
fn with_the_hand_off_off_the_server_makes_every_wake_up() {
    let (carried, _) = run(false);
    assert_eq!(carried, 0, "no wake-up is carried with the hand-off off");
}

/// Client processes torn down at random moments while their threads send, wait for replies,
/// or carry others' wake-ups: the threads of a torn-down process leave with ESRCH, every other
/// client gets every reply, no call reaches its bound (a wake-up lost with a carrier would),
/// and the pools end where they started. The seed is printed; rerun one with
/// `STRESS_SEED=<n>`.
#[test]
fn clients_torn_down_at_random_while_carrying_leave_no_one_asleep() {
    use rand::{Rng, SeedableRng};
    const PROCS: usize = 4;
    const PER_PROC: usize = 3;
    const STOP: i8 = 99;
    let seed = std::env::var("STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("STRESS_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let k = Kernel::new(Config::default()).expect("kernel");
    let start = live(&k);
    let sp = k.process_create().unwrap();
    let server = k.thread_attach(sp, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let stop_coid = server
        .connect_attach(0, sp.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let procs: Vec<Pid> = (0..PROCS).map(|_| k.process_create().unwrap()).collect();
    // The teardowns start once every client is connected (a client thread a loaded machine
    // starts late would otherwise find its process gone before it attached).
    let connected = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<_> = (0..PROCS * PER_PROC)
        .map(|id| {
            let (k, p, connected) = (k.clone(), procs[id / PER_PROC], connected.clone());
            thread::spawn(move || {
                let c = k.thread_attach(p, 10).unwrap();
                let coid = c.connect_attach(0, sp.pid, chid, _NTO_SIDE_CHANNEL, 0);
                connected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let coid = match coid {
                    Ok(coid) => coid,
                    Err(e) => return (0, Some(e)),
                };
                // (The clients of a process to be torn down send until it is.)
                let rounds = if id / PER_PROC == PROCS - 1 {
                    ROUNDS as u16
                } else {
                    u16::MAX
                };
                for round in 0..rounds {
                    let mut reply = [0u8; 4];
                    let armed = c.timer_timeout(
                        CLOCK_MONOTONIC,
                        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                        Some(BOUND),
                    );
                    let msg = [id as u8, round.to_le_bytes()[0], round.to_le_bytes()[1]];
                    match armed.and_then(|_| c.msg_send(coid, &msg, &mut reply)) {
                        Ok(7) => assert_eq!(reply, answer(id as u8, round), "client {id}"),
                        Ok(other) => panic!("client {id}: status {other}"),
                        Err(e) => return (round, Some(e)),
                    }
                }
                let _ = c.connect_detach(coid);
                (rounds, None)
            })
        })
        .collect();

    // The server answers in bursts, as in `run`, until the STOP pulse; a reply to a client
    // whose process was torn down meanwhile is ESRCH.
    let serve = {
        thread::spawn(move || {
            let mut held: Vec<(RcvId, [u8; 4])> = Vec::with_capacity(BURST);
            loop {
                let mut buf = [0u8; 64];
                server
                    .timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(2_000_000))
                    .unwrap();
                let quiet = match server.msg_receive(chid, &mut buf, None) {
                    Ok(0) => {
                        let p = Pulse::from_bytes(&buf).unwrap();
                        if p.code == STOP {
                            // (Held messages now are torn-down clients': ESRCH.)
                            for (rcvid, a) in held.drain(..) {
                                assert_eq!(server.msg_reply(rcvid, 7, &a), Err(Errno::ESRCH));
                            }
                            return server;
                        }
                        false // (A client's disconnect.)
                    }
                    Ok(rcvid) => {
                        let round = u16::from_le_bytes([buf[1], buf[2]]);
                        held.push((rcvid, answer(buf[0], round)));
                        false
                    }
                    Err(Errno::ETIMEDOUT) => true,
                    Err(e) => panic!("server receive: {e:?}"),
                };
                if held.len() == BURST || (!held.is_empty() && quiet) {
                    for (rcvid, a) in held.drain(..) {
                        match server.msg_reply(rcvid, 7, &a) {
                            Ok(()) | Err(Errno::ESRCH) => {}
                            Err(e) => panic!("server reply: {e:?}"),
                        }
                    }
                }
            }
        })
    };

    // Tear down all but the last client process, each at a random moment once all are sending.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while connected.load(std::sync::atomic::Ordering::SeqCst) < PROCS * PER_PROC {
        assert!(std::time::Instant::now() < until, "clients never connected");
        thread::sleep(std::time::Duration::from_millis(1));
    }
    for &p in &procs[..PROCS - 1] {
        thread::sleep(std::time::Duration::from_millis(rng.gen_range(1..30)));
        k.process_destroy(p).unwrap();
    }
    let mut torn = 0;
    for (id, c) in clients.into_iter().enumerate() {
        let (rounds, err) = c.join().expect("client");
        let last = id / PER_PROC == PROCS - 1;
        match err {
            None if last => assert_eq!(rounds as usize, ROUNDS),
            Some(Errno::ESRCH) if !last => torn += 1,
            other => panic!("client {id} (round {rounds}): {other:?}, seed {seed}"),
        }
    }
    assert_eq!(
        torn,
        (PROCS - 1) * PER_PROC,
        "every client of a torn-down process"
    );
    // (A pulse from a thread of the server's process: no new process needed.)
    let t = k.thread_attach(sp, 10).unwrap();
    let coid = t
        .connect_attach(0, sp.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    t.msg_send_pulse(coid, 10, STOP, 0).unwrap();
    let server = serve.join().expect("server");
    let _ = (stop_coid, server);
    drop(t);
    let mut all = vec![procs[PROCS - 1]];
    all.push(sp);
    teardown(&k, &all, start);
}
