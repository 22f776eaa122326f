//! asyncmsg send buffers in the region of a supervised kernel: long messages between programs
//! (longer than a slot's 128-byte inline area) are taken by the receiver's kernel call from the
//! region, with no `process_vm_readv`: those a put copies there from the sender's `Vec`
//! (flat and gathered), and buffers from `asyncmsg_malloc_shared`, put uncopied and handed back
//! to their callback. Every message arrives intact and in order; every send buffer goes back to
//! the sender's heap once its message is taken; a killed sender's blocks go back to the arena,
//! also when senders are killed at random moments while putting.
//! Every process is bounded in time and killed on every exit path; every socket lives in a
//! temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::*;
use procs::{child_role, child_setup, tell_parent, TempDir};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::qnx::*;

/// The receiver's channel: buffers of this many bytes.
const BUFSZ: usize = 64 * 1024;

/// The length of message `seq`: all over the range the region's send buffers take, from just
/// past the inline area to the channel's buffer size.
fn len_of(seq: u32) -> usize {
    const LENS: [usize; 7] = [129, 256, 1000, 4096, 4097, 20_000, BUFSZ];
    LENS[seq as usize % LENS.len()]
}

/// Message `seq`: its number, then bytes that depend on `seq` and the position.
fn message(seq: u32) -> Vec<u8> {
    let mut m = seq.to_le_bytes().to_vec();
    m.extend((4..len_of(seq)).map(|i| (i as u32).wrapping_mul(31).wrapping_add(seq) as u8));
    m
}

/// Receives `n` messages and tells whether they came in order and intact, and how many
/// `process_vm_readv` / `process_vm_writev` calls its gets made.
fn receiver(arg: &str) {
    let n = numbers(arg)[0] as u32;
    let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, 16, None, None).expect("channel");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let (mut next, mut order_ok, mut content_ok, mut errors) = (0u32, true, true, 0);
    let mut vm_calls = 0;
    while next < n {
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
        let before = userlib::vm_calls_in_this_thread();
        let batch = asyncmsg_get(chid).expect("asyncmsg_get");
        vm_calls += userlib::vm_calls_in_this_thread() - before;
        for m in batch.iter() {
            if m.err != 0 {
                errors += 1;
                continue;
            }
            let seq = u32::from_le_bytes(m.data[..4].try_into().expect("4 bytes"));
            order_ok &= seq == next;
            content_ok &= m.data == message(seq).as_slice();
            next = seq + 1;
        }
    }
    tell_parent(&format!(
        "got {next} order-ok {order_ok} content-ok {content_ok} errors {errors} vm-calls {vm_calls}"
    ));
    asyncmsg_channel_destroy(chid).expect("destroy");
}

/// Puts `n` messages to "pid chid n mode": mode `vec` puts `Vec`s (every fourth gathered in
/// three parts), mode `shared` puts buffers from `asyncmsg_malloc_shared`. Waits for every
/// callback and tells whether each came back with 0, its handle and its bytes (for `shared`,
/// the very buffer, in the region), and what the process's send buffers hold afterwards.
fn sender(arg: &str) {
    let mut it = arg.split(' ');
    let (pid, chid, n) = (
        it.next().and_then(|s| s.parse::<i32>().ok()).expect("pid"),
        it.next().and_then(|s| s.parse::<i32>().ok()).expect("chid"),
        it.next().and_then(|s| s.parse::<u32>().ok()).expect("n"),
    );
    let shared = it.next() == Some("shared");
    let ok = Arc::new(Mutex::new((0u32, true)));
    let o = ok.clone();
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let attr = AsyncConnAttr {
        call_back: Some(Arc::new(move |err, buf, handle| {
            let intact = match &buf {
                AsyncBuf::Shared(b) => b.in_region() && **b == message(handle)[..],
                _ => buf.into_vec() == message(handle),
            };
            let mut o = o.lock().unwrap_or_else(|p| p.into_inner());
            o.1 &= err == 0 && handle == o.0 && intact;
            o.0 += 1;
            c.fetch_add(1, Ordering::Release);
        })),
        max_num_buffer: 32,
        trigger_num_msg: 8,
        ..AsyncConnAttr::default()
    };
    let coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &attr).expect("attach");
    for seq in 0..n {
        let m = message(seq);
        if shared {
            let mut b = asyncmsg_malloc_shared(m.len()).expect("a send buffer");
            assert!(
                b.in_region(),
                "a shared kernel's send buffer is in its region"
            );
            b.copy_from_slice(&m);
            asyncmsg_put_shared(coid, b, seq, None).expect("put");
        } else if seq % 4 == 3 {
            let (a, rest) = m.split_at(m.len() / 3);
            let (b, c) = rest.split_at(rest.len() / 2);
            asyncmsg_putv(coid, vec![a.to_vec(), b.to_vec(), c.to_vec()], seq, None).expect("putv");
        } else {
            asyncmsg_put(coid, m, seq, None).expect("put");
        }
    }
    match asyncmsg_flush(coid, 0) {
        // (EBADF: the receiver took everything and destroyed its channel first.)
        Ok(()) | Err(Errno::EBADF) => {}
        Err(e) => panic!("flush: {e:?}"),
    }
    let until = Instant::now() + WITHIN;
    while calls.load(Ordering::Acquire) < n {
        assert!(Instant::now() < until, "callbacks missing");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let (count, intact) = *ok.lock().unwrap_or_else(|p| p.into_inner());
    let (live, pages) = asyncmsg_shared_usage()
        .expect("usage")
        .expect("send buffers used");
    tell_parent(&format!(
        "callbacks {count} ok {intact} live {live} pages-held {}",
        pages > 0
    ));
    asyncmsg_connect_detach(coid).expect("detach");
}

/// Puts long messages to "pid chid" that nobody takes (so their copies stay in the region),
/// tells so, and holds on until killed.
fn stuck_sender(arg: &str) {
    let a = numbers(arg);
    let attr = AsyncConnAttr {
        max_num_buffer: 64,
        trigger_num_msg: 1,
        ..AsyncConnAttr::default()
    };
    let coid = asyncmsg_connect_attach(0, a[0] as i32, a[1] as i32, _NTO_SIDE_CHANNEL, 0, &attr)
        .expect("attach");
    for seq in 0..20 {
        asyncmsg_put(coid, message(seq), seq, None).expect("put");
    }
    let (live, _) = asyncmsg_shared_usage().expect("usage").expect("used");
    tell_parent(&format!("put 20 live {live}"));
    std::thread::sleep(std::time::Duration::from_secs(60));
}

/// A receiver that takes messages from any number of senders until the file `stop` appears,
/// checking each against [`message`] (its sender's sequence is not checked: senders are killed
/// and replaced), then tells how many it took and how many were wrong.
fn checking_receiver(stop: &str) {
    let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, 16, None, None).expect("channel");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let (mut took, mut bad) = (0u64, 0u64);
    let until = Instant::now() + WITHIN * 3;
    while !std::path::Path::new(stop).exists() {
        assert!(Instant::now() < until, "no word from the parent");
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(20_000_000)).expect("arm");
        match asyncmsg_get(chid) {
            Ok(batch) => {
                for m in batch.iter() {
                    took += 1;
                    let seq = u32::from_le_bytes(m.data[..4].try_into().expect("4 bytes"));
                    bad += u64::from(m.err != 0 || m.data != message(seq).as_slice());
                }
            }
            Err(Errno::ETIMEDOUT) => {}
            Err(e) => panic!("asyncmsg_get: {e:?}"),
        }
    }
    tell_parent(&format!("took {took} bad {bad}"));
    asyncmsg_channel_destroy(chid).expect("destroy");
}

/// Puts long messages to "pid chid" for ever (flat, gathered and from `asyncmsg_malloc_shared`,
/// in turn, each its own trigger now and then), until killed.
fn endless_sender(arg: &str) {
    let a = numbers(arg);
    let attr = AsyncConnAttr {
        max_num_buffer: 32,
        trigger_num_msg: 4,
        ..AsyncConnAttr::default()
    };
    let coid = asyncmsg_connect_attach(0, a[0] as i32, a[1] as i32, _NTO_SIDE_CHANNEL, 0, &attr)
        .expect("attach");
    tell_parent("putting");
    let until = Instant::now() + WITHIN;
    let mut seq = 0u32;
    while Instant::now() < until {
        let m = message(seq);
        let r = match seq % 3 {
            0 => asyncmsg_put_timeout(coid, m, seq, None, WITHIN).map_err(|e| e.errno),
            1 => {
                let (x, y) = m.split_at(m.len() / 2);
                asyncmsg_putv(coid, vec![x.to_vec(), y.to_vec()], seq, None).map_err(|e| e.errno)
            }
            _ => match asyncmsg_malloc_shared(m.len()) {
                Ok(mut b) => {
                    b.copy_from_slice(&m);
                    asyncmsg_put_shared(coid, b, seq, None).map_err(|e| e.errno)
                }
                Err(e) => Err(e),
            },
        };
        match r {
            Ok(()) | Err(Errno::ENOMEM) => {}
            Err(e) => panic!("put: {e:?}"),
        }
        seq = seq.wrapping_add(1);
    }
}

/// A receiver that takes nothing: tells its channel and holds on until killed.
fn idle_receiver() {
    let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, 16, None, None).expect("channel");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    std::thread::sleep(std::time::Duration::from_secs(60));
}

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "receiver" => receiver(&arg),
        "sender" => sender(&arg),
        "stuck-sender" => stuck_sender(&arg),
        "idle-receiver" => idle_receiver(),
        "checking-receiver" => checking_receiver(&arg),
        "endless-sender" => endless_sender(&arg),
        other => panic!("unknown role {other}"),
    }
}

fn between_programs(mode: &str) {
    let dir = TempDir::new(&format!("async-bufs-{mode}"));
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    const N: u32 = 140;
    let receiver = spawn("receiver", &N.to_string(), &socket);
    let target = ready(&receiver);
    let sender = spawn("sender", &format!("{target} {N} {mode}"), &socket);
    assert_eq!(
        receiver.line(WITHIN),
        format!("got {N} order-ok true content-ok true errors 0 vm-calls 0")
    );
    assert_eq!(
        sender.line(WITHIN),
        format!("callbacks {N} ok true live 0 pages-held true")
    );
    assert!(sender.wait(WITHIN).success());
    assert!(receiver.wait(WITHIN).success());
    wait_until("the sender's pages freed", || {
        k.async_queue_pages_in_use() == 0
    });
}

#[test]
fn long_messages_put_as_vecs_are_taken_from_the_region_without_a_system_call() {
    between_programs("vec");
}

#[test]
fn shared_buffers_are_put_uncopied_and_handed_back_to_their_callback() {
    between_programs("shared");
}

#[test]
fn a_sender_killed_with_messages_in_its_send_buffers_leaves_no_pages_behind() {
    let dir = TempDir::new("async-bufs-killed");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let receiver = spawn("idle-receiver", "", &socket);
    let target = ready(&receiver);
    let before = k.async_queue_pages_in_use();
    let sender = spawn("stuck-sender", &target, &socket);
    assert_eq!(sender.line(WITHIN), "put 20 live 20");
    assert!(
        k.async_queue_pages_in_use() > before + 2,
        "queue and send buffers"
    );
    sender.kill();
    wait_until("the sender's pages freed", || {
        k.async_queue_pages_in_use() == before
    });
    receiver.kill();
}

/// A small xorshift generator (the kill times), seeded from the clock.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn senders_killed_at_random_moments_leave_every_message_taken_intact_and_no_pages_behind() {
    let dir = TempDir::new("async-bufs-random-kills");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let stop = dir.join("stop");
    let receiver = spawn(
        "checking-receiver",
        stop.to_str().expect("a UTF-8 path"),
        &socket,
    );
    let target = ready(&receiver);
    let baseline = k.async_queue_pages_in_use();
    let mut rng = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
        | 1;
    const KILLS: u32 = 12;
    for _ in 0..KILLS {
        let sender = spawn("endless-sender", &target, &socket);
        assert_eq!(sender.line(WITHIN), "putting");
        std::thread::sleep(std::time::Duration::from_micros(
            1_000 + next_random(&mut rng) % 40_000,
        ));
        sender.kill();
    }
    wait_until("every killed sender's pages freed", || {
        k.async_queue_pages_in_use() == baseline
    });
    std::fs::write(&stop, b"").expect("the word");
    let line = receiver.line(WITHIN);
    let took: u64 = line
        .split(' ')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(took > 0, "{line}");
    assert!(line.ends_with(" bad 0"), "{line}");
    assert!(receiver.wait(WITHIN).success());
    wait_until("the receiver's pages freed", || {
        k.async_queue_pages_in_use() == 0
    });
}
