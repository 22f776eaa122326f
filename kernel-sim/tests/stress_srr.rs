//! Stress: many clients in several simulated processes, several server threads on one channel,
//! random sizes and priorities; every reply is checked against its request, and at the end the
//! counters add up and every pool is back where it started.
//!
//! The seed is printed; rerun one with `STRESS_SEED=<n> cargo test --test stress_srr`.

mod support;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use support::*;

const CLIENT_PROCS: usize = 2;
const CLIENTS_PER_PROC: usize = 6;
const ROUNDS: usize = 400;
const SERVERS: usize = 3;
const MAX_MSG: usize = 4096;
/// The servers' receive buffer: smaller than the largest messages, so they MsgRead the rest.
const RBUF: usize = 1024;
/// The pulse code that stops a server thread.
const STOP: i8 = 127;
/// Bound on every blocking call: a lost wake-up fails the test instead of hanging it (twice
/// [`LONG`]: many threads share the machine's cores here).
const BOUND: u64 = 2 * LONG;

/// What the server replies: the request reversed, each byte xor-ed with its position's low byte.
fn transform(msg: &[u8]) -> Vec<u8> {
    msg.iter()
        .rev()
        .enumerate()
        .map(|(i, b)| b ^ (i as u8) ^ 0xA5)
        .collect()
}

fn seed() -> u64 {
    match std::env::var("STRESS_SEED") {
        Ok(s) => s.parse().expect("STRESS_SEED must be a u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

/// One server thread: receive, fetch the rest with MsgRead, answer with MsgWrite + MsgReply,
/// until a STOP pulse. Returns the messages it answered.
fn serve(t: &ThreadCtx, chid: i32, mut rng: StdRng) -> u64 {
    let mut handled = 0;
    let mut buf = vec![0u8; RBUF];
    loop {
        let mut info = MsgInfo::default();
        t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(BOUND))
            .unwrap();
        let rcvid = t
            .msg_receive(chid, &mut buf, Some(&mut info))
            .expect("server receive");
        if rcvid == 0 {
            let p = Pulse::from_bytes(&buf).unwrap();
            assert_eq!(p.code, STOP, "unexpected pulse");
            return handled;
        }
        assert!(rcvid > 0);
        let total = info.srcmsglen as usize;
        let got = info.msglen as usize;
        assert_eq!(got, total.min(RBUF), "msglen = min(sent, receive buffer)");
        // Inherited on receive; a client queuing since may have boosted it further.
        assert!(
            i16::from(t.priority().unwrap().1) >= info.priority,
            "inherited"
        );
        let mut msg = buf[..got].to_vec();
        if total > got {
            let mut rest = vec![0u8; total - got];
            assert_eq!(t.msg_read(rcvid, &mut rest, got), Ok(total - got));
            msg.extend_from_slice(&rest);
        }
        let reply = transform(&msg);
        let room = info.dstmsglen as usize;
        if rng.gen_bool(0.5) && reply.len() > 1 {
            // The second half by MsgWrite at its offset, the first half by MsgReply.
            let half = reply.len() / 2;
            let wrote = t.msg_write(rcvid, &reply[half..], half).unwrap();
            assert_eq!(wrote, room.saturating_sub(half).min(reply.len() - half));
            t.msg_reply(rcvid, total as i64, &reply[..half]).unwrap();
        } else {
            t.msg_reply(rcvid, total as i64, &reply).unwrap();
        }
        handled += 1;
    }
}

/// One client thread: ROUNDS random requests on its own connection, each reply checked.
fn client(t: &ThreadCtx, srv: i32, chid: i32, mut rng: StdRng, bytes: &AtomicU64) {
    let index = if rng.gen_bool(0.5) {
        _NTO_SIDE_CHANNEL
    } else {
        rng.gen_range(0..8)
    };
    let coid = t.connect_attach(0, srv, chid, index, 0).unwrap();
    for _ in 0..ROUNDS {
        let prio = rng.gen_range(1..=63);
        t.set_priority(prio).unwrap();
        let len = rng.gen_range(0..=MAX_MSG);
        let rlen = rng.gen_range(0..=MAX_MSG);
        let mut msg = vec![0u8; len];
        rng.fill_bytes(&mut msg);
        let mut r = vec![0xEEu8; rlen + 16];
        t.timer_timeout(CLOCK_MONOTONIC, SEND_REPLY, Some(BOUND))
            .unwrap();
        let st = if rng.gen_bool(0.3) && len > 2 {
            // Gathered from three parts, scattered into two.
            let (a, b) = (rng.gen_range(0..len), rng.gen_range(0..len));
            let (a, b) = (a.min(b), a.max(b));
            let split = rlen / 3;
            let (r1, r2) = r[..rlen].split_at_mut(split);
            t.msg_sendv(coid, &[&msg[..a], &msg[a..b], &msg[b..]], &mut [r1, r2])
        } else {
            t.msg_send(coid, &msg, &mut r[..rlen])
        };
        assert_eq!(st, Ok(len as i64), "status is the request length");
        let n = len.min(rlen);
        let want = transform(&msg);
        assert!(r[..n] == want[..n], "reply bytes match the request");
        assert!(r[n..].iter().all(|&b| b == 0xEE), "nothing past the reply");
        bytes.fetch_add(len as u64, Ordering::Relaxed);
    }
    t.connect_detach(coid).unwrap();
}

#[test]
fn many_clients_and_servers_exchange_random_messages_and_the_books_balance() {
    let seed = seed();
    println!("stress_srr seed: {seed} (rerun with STRESS_SEED={seed})");
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let clients: Vec<Pid> = (0..CLIENT_PROCS)
        .map(|_| k.process_create().unwrap())
        .collect();
    let main = k.thread_attach(srv, 10).unwrap();
    let chid = main.channel_create(0).unwrap();
    let stop = main
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let bytes = AtomicU64::new(0);
    let t0 = std::time::Instant::now();

    let handled: u64 = thread::scope(|s| {
        let servers: Vec<_> = (0..SERVERS)
            .map(|i| {
                let rng = StdRng::seed_from_u64(seed ^ (0x5e5e_0000 + i as u64));
                spawn_scoped(s, &k, srv, 10, move |t| serve(t, chid, rng)).0
            })
            .collect();
        let mut cs = Vec::new();
        for (pi, &p) in clients.iter().enumerate() {
            for ci in 0..CLIENTS_PER_PROC {
                let rng = StdRng::seed_from_u64(seed.wrapping_add((pi * 100 + ci) as u64));
                let bytes = &bytes;
                let prio = 1 + (pi * CLIENTS_PER_PROC + ci) as i16;
                cs.push(
                    spawn_scoped(s, &k, p, prio, move |t| {
                        client(t, srv.pid, chid, rng, bytes)
                    })
                    .0,
                );
            }
        }
        for c in cs {
            c.join();
        }
        for _ in 0..SERVERS {
            main.msg_send_pulse(stop, 1, STOP, 0).unwrap();
        }
        servers.into_iter().map(|h| h.join()).sum()
    });

    let total = (CLIENT_PROCS * CLIENTS_PER_PROC * ROUNDS) as u64;
    println!(
        "{total} round trips, {} request bytes, in {:?}",
        bytes.load(Ordering::Relaxed),
        t0.elapsed()
    );
    assert_eq!(handled, total);
    let sent: u64 = clients
        .iter()
        .map(|p| k.process_counters(p.pid).unwrap().msgs_sent)
        .sum();
    let sc = k.process_counters(srv.pid).unwrap();
    assert_eq!(sent, total, "msgs_sent over the client processes");
    assert_eq!(sc.msgs_received, total, "msgs_received at the server");
    assert_eq!(sc.replies, total, "replies at the server");
    assert_eq!(
        (sc.pulses_sent, sc.pulses_received),
        (SERVERS as u64, SERVERS as u64)
    );
    // Nothing is left queued or blocked.
    let snap = k.snapshot();
    let ch = snap.channels.iter().find(|c| c.pid == srv.pid).unwrap();
    assert_eq!((ch.queued, ch.receivers), (0, 0));
    main.connect_detach(stop).unwrap();
    drop(main);
    let mut procs = clients;
    procs.push(srv);
    teardown(&k, &procs, start);
}
