//! The wake hand-off (`Config::wake_handoff`) with real threads: a busy server that holds
//! several clients' messages and answers them in a burst while more clients are queued leaves
//! the wake-ups of the sleeping ones to a client it answered first, which makes them when it
//! collects its own reply. Every client gets every reply, exactly, with each blocking call
//! bounded (a lost wake-up fails the test instead of hanging it), the pools end where they
//! started, and the counters say who made the wake-ups: carried ones only with the hand-off on.
//! The carrying itself, race by race, is modelled in `loom_wake_handoff.rs`; its rules (busy
//! server, sleeping client, priority, room, a carrier torn down) in the kernel's unit tests.

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
