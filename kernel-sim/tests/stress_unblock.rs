//! Stress: the unblock protocol under a randomised schedule. Client processes send from
//! several threads to a server that holds some requests, answers others at once or with an
//! error, and obeys unblock and disconnect pulses; meanwhile sibling threads detach and
//! re-attach the clients' coid, clients time out, and client processes are destroyed. Every
//! thread must come back, every answer must be one the rules allow, and every pool must be
//! back where it started (no leaked connection link, pulse, thread or process).
//!
//! The seed is printed; set `STRESS_SEED` to replay one.

mod support;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

const PROCS: usize = 3;
const THREADS: usize = 3;
const SENDS: usize = 150;
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// One client thread: sends on its process's current coid, re-reading it after EBADF. Returns
/// how its calls ended.
fn client(
    t: &ThreadCtx,
    coid: &AtomicI32,
    mut rng: StdRng,
    stop: &AtomicBool,
) -> HashMap<&'static str, u32> {
    let mut seen = HashMap::new();
    for _ in 0..SENDS {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let c = coid.load(Ordering::Acquire);
        let mut r = [0u8; 4];
        // Sometimes a short REPLY timeout (an unblock request), otherwise a long bound.
        let short = rng.gen_bool(0.3);
        let ns = if short { 2_000_000 } else { 5_000_000_000 };
        match t.timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(ns),
        ) {
            Ok(_) => {}
            // The process was destroyed between two calls.
            Err(Errno::ESRCH) => return seen_with(seen, "ESRCH (process gone)"),
            Err(e) => panic!("TimerTimeout: {e:?}"),
        }
        let what = match t.msg_send(c, b"req", &mut r) {
            Ok(1) => "replied",
            Ok(st) => panic!("unexpected status {st}"),
            Err(Errno::EINTR) => "error EINTR (answer to an unblock)",
            Err(Errno::EIO) => "error EIO",
            Err(Errno::ETIMEDOUT) => "timed out while SEND-blocked or on a held exchange",
            Err(Errno::EBADF) => "EBADF (coid detached)",
            Err(Errno::ESRCH) => return seen_with(seen, "ESRCH (process gone)"),
            Err(e) => panic!("unexpected error {e:?}"),
        };
        *seen.entry(what).or_insert(0) += 1;
    }
    seen
}

fn seen_with(
    mut seen: HashMap<&'static str, u32>,
    what: &'static str,
) -> HashMap<&'static str, u32> {
    *seen.entry(what).or_insert(0) += 1;
    seen
}

#[test]
fn the_unblock_protocol_survives_detaches_timeouts_and_process_deaths_in_any_order() {
    let seed: u64 = std::env::var("STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("STRESS_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server
        .channel_create(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT)
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();

    // Client processes: each has a coid its threads share and a sibling that detaches it.
    let mut procs = Vec::new();
    let mut siblings = Vec::new();
    let mut bgs = Vec::new();
    for p in 0..PROCS {
        let pid = k.process_create().unwrap();
        let setup = k.thread_attach(pid, 10).unwrap();
        let coid = Arc::new(AtomicI32::new(
            setup
                .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
                .unwrap(),
        ));
        drop(setup);
        for th in 0..THREADS {
            let (coid, stop) = (coid.clone(), stop.clone());
            let r = StdRng::seed_from_u64(seed ^ ((p * 16 + th) as u64 + 1));
            let prio = 5 + rng.gen_range(0..10);
            bgs.push(spawn(&k, pid, prio, move |t| client(t, &coid, r, &stop)));
        }
        // The sibling: now and then detaches the shared coid and attaches a new one.
        let (c2, stop2) = (coid.clone(), stop.clone());
        let mut r = StdRng::seed_from_u64(seed ^ (p as u64 + 100));
        let srv_pid = srv.pid;
        let sibling = spawn(&k, pid, 10, move |t| {
            while !stop2.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_micros(r.gen_range(200..3000)));
                let new = match t.connect_attach(0, srv_pid, chid, _NTO_SIDE_CHANNEL, 0) {
                    Ok(c) => c,
                    Err(Errno::ESRCH) => return, // the process is gone
                    Err(e) => panic!("re-attach: {e:?}"),
                };
                let old = c2.swap(new, Ordering::AcqRel);
                match t.connect_detach(old) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => panic!("detach: {e:?}"),
                }
            }
        });
        procs.push(pid);
        siblings.push(sibling);
    }

    // The server: holds some requests, answers others at once, obeys unblock pulses.
    let mut held: Vec<RcvId> = Vec::new();
    let mut destroyed = 0;
    let mut buf = [0u8; 64];
    let mut alive: Vec<usize> = (0..PROCS).collect();
    loop {
        assert!(
            t0.elapsed() < RUN_LIMIT,
            "the run did not finish (seed {seed})"
        );
        let all_done = bgs.iter().all(|b| b.is_finished());
        if all_done && held.is_empty() {
            break;
        }
        // Kill a client process now and then.
        if destroyed < PROCS - 1 && !alive.is_empty() && rng.gen_bool(0.002) {
            let i = alive.swap_remove(rng.gen_range(0..alive.len()));
            k.process_destroy(procs[i]).unwrap();
            destroyed += 1;
        }
        server
            .timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(2_000_000))
            .unwrap();
        match server.msg_receive(chid, &mut buf, None) {
            Ok(0) => {
                let p = Pulse::from_bytes(&buf).unwrap();
                match p.code {
                    _PULSE_CODE_UNBLOCK => {
                        let r = p.value_long();
                        if let Some(i) = held.iter().position(|&h| h == r) {
                            held.swap_remove(i);
                            let _ = server.msg_error(r, Errno::EINTR);
                        }
                    }
                    _PULSE_CODE_DISCONNECT => server.connect_detach(p.scoid).unwrap(),
                    c => panic!("unexpected pulse {c}"),
                }
            }
            Ok(rcvid) => match rng.gen_range(0..10) {
                0..=3 => held.push(rcvid),
                4 => server.msg_error(rcvid, Errno::EIO).unwrap(),
                _ => server.msg_reply(rcvid, 1, b"ok").unwrap(),
            },
            Err(Errno::ETIMEDOUT) => {}
            Err(e) => panic!("server receive: {e:?}"),
        }
        // Answer some held requests (a held client whose process died or whose coid was
        // detached still gets its answer from the server's side; the reply succeeds).
        if !held.is_empty() && (rng.gen_bool(0.2) || all_done) {
            let r = held.swap_remove(rng.gen_range(0..held.len()));
            // On an unblock channel nothing releases a held client behind the server's back:
            // timeouts, detaches and deaths all wait for this answer.
            server.msg_reply(r, 1, b"ok").unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut totals: HashMap<&'static str, u32> = HashMap::new();
    for b in bgs {
        for (k, v) in b.join() {
            *totals.entry(k).or_insert(0) += v;
        }
    }
    for sibling in siblings {
        sibling.join();
    }
    println!("seed {seed}: {totals:?}, {destroyed} processes destroyed");
    assert!(totals.values().sum::<u32>() > 0);
    // Drain: disconnect pulses of the connections that went last.
    loop {
        server
            .timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, None)
            .unwrap();
        match server.msg_receive(chid, &mut buf, None) {
            Ok(0) => {
                let p = Pulse::from_bytes(&buf).unwrap();
                if p.code == _PULSE_CODE_DISCONNECT {
                    server.connect_detach(p.scoid).unwrap();
                }
            }
            Ok(r) => server.msg_reply(r, 1, b"").unwrap(),
            Err(Errno::ETIMEDOUT) => break,
            Err(e) => panic!("drain: {e:?}"),
        }
    }
    drop(server);
    let remaining: Vec<Pid> = procs
        .iter()
        .copied()
        .filter(|p| k.process_counters(p.pid).is_ok())
        .chain(std::iter::once(srv))
        .collect();
    teardown(&k, &remaining, start);
}
