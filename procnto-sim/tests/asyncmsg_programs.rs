//! asyncmsg between programs of one supervised kernel: the sender's queue is in the kernel's
//! region and its buffers in its own memory, which the kernel, in the receiver's thread,
//! reads a batch at a time. Every message arrives once, in order, with its sender's pid; every
//! put gets its callback (0 once taken, EMSGSIZE for one too long for the channel); a receiver
//! killed with messages pending leaves none of them without its callback's error; a sender
//! killed leaves the receiver running and its queue's pages free. Every process is bounded in
//! time and killed on every exit path; every socket lives in a temporary directory removed on
//! every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::*;
use procs::{child_role, child_setup, tell_parent, TempDir};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::qnx::*;

/// The receiver's channel: buffers of this many bytes.
const BUFSZ: usize = 256;
/// A message longer than the channel's buffers.
const TOO_LONG: usize = 300;

/// Message `seq`: its number, then `seq % 200` bytes of `seq as u8`.
fn message(seq: u32) -> Vec<u8> {
    let mut m = seq.to_le_bytes().to_vec();
    m.resize(4 + (seq % 200) as usize, seq as u8);
    m
}

/// Receives `n` messages (and one too long) and tells what it got: the order and contents
/// checked, the sender's pid, and the errors.
fn async_receiver(arg: &str) {
    let n = numbers(arg)[0] as u32;
    let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, 16, None, None).expect("channel");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let (mut next, mut batches, mut order_ok, mut content_ok) = (0u32, 0u32, true, true);
    let mut errors = Vec::new();
    let mut pids = std::collections::BTreeSet::new();
    while next < n || errors.is_empty() {
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
        let batch = asyncmsg_get(chid).expect("asyncmsg_get");
        batches += 1;
        for m in batch.iter() {
            pids.insert(m.info.pid);
            if m.err != 0 {
                errors.push(m.err);
                continue;
            }
            let seq = u32::from_le_bytes(m.data[..4].try_into().expect("4 bytes"));
            order_ok &= seq == next;
            content_ok &= m.data == message(seq).as_slice();
            next = seq + 1;
        }
    }
    tell_parent(&format!(
        "got {next} order-ok {order_ok} content-ok {content_ok} pids {pids:?} errors {errors:?} batched {}",
        batches < n
    ));
    asyncmsg_channel_destroy(chid).expect("destroy");
}

/// Callbacks by error code, and whether each came back with the buffer and handle it was put
/// with.
#[derive(Default)]
struct Seen {
    by_err: std::collections::BTreeMap<i32, u32>,
    intact: bool,
}

/// An asyncmsg connection to `pid`/`chid` (32 slots, count trigger `trigger`) whose callback
/// counts what comes back: the callbacks by error, and how many in all.
fn counting_connection(
    pid: i32,
    chid: i32,
    trigger: u32,
) -> (Arc<Mutex<Seen>>, Arc<AtomicU32>, i32) {
    let seen = Arc::new(Mutex::new(Seen {
        intact: true,
        ..Seen::default()
    }));
    let total = Arc::new(AtomicU32::new(0));
    let attr = AsyncConnAttr {
        call_back: Some(counting_callback(&seen, &total)),
        max_num_buffer: 32,
        trigger_num_msg: trigger,
        ..AsyncConnAttr::default()
    };
    let coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &attr).expect("attach");
    (seen, total, coid)
}

fn counting_callback(seen: &Arc<Mutex<Seen>>, total: &Arc<AtomicU32>) -> AsyncCallback {
    let (seen, total) = (seen.clone(), total.clone());
    Arc::new(move |err, buf, handle| {
        let bytes = buf.into_vec();
        let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
        *s.by_err.entry(err).or_default() += 1;
        let want = if handle == u32::MAX {
            vec![7u8; TOO_LONG]
        } else {
            message(handle)
        };
        s.intact &= bytes == want;
        total.fetch_add(1, Ordering::Release);
    })
}

/// Puts `n` messages (every fifth gathered in two parts, one too long in the middle) to
/// "pid chid n", waits for every callback and tells what they said.
fn async_sender(arg: &str) {
    let a = numbers(arg);
    let (pid, chid, n) = (a[0] as i32, a[1] as i32, a[2] as u32);
    let (seen, total, coid) = counting_connection(pid, chid, 8);
    for seq in 0..n {
        let m = message(seq);
        if seq % 5 == 0 {
            let (a, b) = m.split_at(m.len() / 2);
            asyncmsg_putv(coid, vec![a.to_vec(), b.to_vec()], seq, None).expect("putv");
        } else {
            asyncmsg_put(coid, m, seq, None).expect("put");
        }
        if seq == n / 2 {
            asyncmsg_put(coid, vec![7u8; TOO_LONG], u32::MAX, None).expect("put too long");
        }
    }
    // The last messages go with the flush's trigger, or with the time trigger if this program
    // is held up after its last put: the receiver may then have taken everything and destroyed
    // its channel before the flush, which is EBADF (the channel is gone), as on QNX.
    match asyncmsg_flush(coid, 0) {
        Ok(()) | Err(Errno::EBADF) => {}
        Err(e) => panic!("flush: {e:?}"),
    }
    let until = Instant::now() + WITHIN;
    while total.load(Ordering::Acquire) < n + 1 {
        assert!(Instant::now() < until, "callbacks missing");
        std::thread::sleep(Duration::from_millis(2));
    }
    let s = seen.lock().unwrap_or_else(|p| p.into_inner());
    tell_parent(&format!("callbacks {:?} intact {}", s.by_err, s.intact));
    asyncmsg_connect_detach(coid).expect("detach");
}

/// An asyncmsg receiver that, once the file `go` appears, takes one batch of at most 5
/// messages, tells how many, then holds on (until killed).
fn taker(go: &str) {
    let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, 5, None, None).expect("channel");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let until = Instant::now() + WITHIN;
    while !Path::new(go).exists() {
        assert!(Instant::now() < until, "no word from the parent");
        std::thread::sleep(Duration::from_millis(2));
    }
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
    let batch = asyncmsg_get(chid).expect("asyncmsg_get");
    tell_parent(&format!("took {}", batch.len()));
    std::thread::sleep(Duration::from_secs(60));
}

/// Puts 20 messages to "pid chid gofile" (each its own trigger) and tells so; once the parent
/// has killed the receiver (the file `gofile` appears), puts until a put fails, detaches as a
/// QNX sender does when its channel is gone, and tells what the failed put and the callbacks
/// of every accepted message said.
fn orphaned_sender(arg: &str) {
    let mut it = arg.split(' ');
    let mut num = || it.next().expect("an argument").to_string();
    let (pid, chid, go) = (
        num().parse::<i32>().expect("pid"),
        num().parse::<i32>().expect("chid"),
        num(),
    );
    let (seen, total, coid) = counting_connection(pid, chid, 1);
    for seq in 0..20 {
        asyncmsg_put(coid, message(seq), seq, None).expect("put");
    }
    tell_parent("put 20");
    let until = Instant::now() + WITHIN;
    while !Path::new(&go).exists() {
        assert!(Instant::now() < until, "no word from the parent");
        std::thread::sleep(Duration::from_millis(2));
    }
    // Until the supervisor has reaped the receiver a put is still accepted (and owed its
    // callback like the others); then puts fail.
    let mut accepted = 20;
    let failed = loop {
        match asyncmsg_put_timeout(coid, message(20), 20, None, Duration::from_millis(5)) {
            Ok(()) => accepted += 1,
            Err(e) if e.errno == Errno::ETIMEDOUT => {}
            Err(e) => break e.errno,
        }
        assert!(Instant::now() < until, "puts never failed");
        std::thread::sleep(Duration::from_millis(1));
    };
    asyncmsg_connect_detach(coid).expect("detach");
    while total.load(Ordering::Acquire) < accepted {
        assert!(Instant::now() < until, "callbacks missing");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(20)); // (None beyond the accepted.)
    let s = seen.lock().unwrap_or_else(|p| p.into_inner());
    let ok = s.by_err.get(&0).copied().unwrap_or(0);
    let ebadf = s.by_err.get(&Errno::EBADF.0).copied().unwrap_or(0);
    tell_parent(&format!(
        "put {failed:?} taken {ok} the-rest-ebadf {} intact {} callbacks-of-accepted {}",
        ok + ebadf == accepted && s.by_err.len() == 2,
        s.intact,
        total.load(Ordering::Acquire) == accepted
    ));
}

/// Puts 10 messages to "pid chid" that nobody takes, tells so, and holds on (until killed).
fn stuck_sender(arg: &str) {
    let a = numbers(arg);
    let (pid, chid) = (a[0] as i32, a[1] as i32);
    let attr = AsyncConnAttr {
        max_num_buffer: 64,
        trigger_num_msg: 1,
        ..AsyncConnAttr::default()
    };
    let coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &attr).expect("attach");
    for seq in 0..10 {
        asyncmsg_put(coid, message(seq), seq, None).expect("put");
    }
    tell_parent("put 10");
    std::thread::sleep(Duration::from_secs(60));
}

/// A receiver whose first batch the parent lets through after its sender was killed: tells
/// what a bounded get then says.
fn patient_receiver(go: &str) {
    let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, 16, None, None).expect("channel");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    // Wait for the parent's word (the file `go` appears) before looking.
    let until = Instant::now() + WITHIN;
    while !Path::new(go).exists() {
        assert!(Instant::now() < until, "no word from the parent");
        std::thread::sleep(Duration::from_millis(2));
    }
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(200_000_000)).expect("arm");
    let r = asyncmsg_get(chid).map(|b| b.len());
    tell_parent(&format!("get {r:?}"));
}

/// A receiver that takes batches until it is killed (run parked at `mid-batch`: its first
/// batch from the other program stops, copied, before the queue's head moves).
fn batch_taker() {
    let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, 16, None, None).expect("channel");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    loop {
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
        if asyncmsg_get(chid).is_err() {
            return;
        }
    }
}

/// Puts messages to "pid chid" until a put fails (its receiver killed), detaches, and tells
/// whether every accepted message got exactly one callback, the taken ones (0) first in queue
/// order and every other one EBADF.
fn steady_sender(arg: &str) {
    let a = numbers(arg);
    let (pid, chid) = (a[0] as i32, a[1] as i32);
    let got = Arc::new(Mutex::new(Vec::<(u32, i32)>::new()));
    let g = got.clone();
    let attr = AsyncConnAttr {
        call_back: Some(Arc::new(move |err, _buf, handle| {
            g.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((handle, err));
        })),
        max_num_buffer: 64,
        trigger_num_msg: 4,
        ..AsyncConnAttr::default()
    };
    let coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &attr).expect("attach");
    let until = Instant::now() + WITHIN;
    let mut accepted = 0u32;
    let failed = loop {
        match asyncmsg_put_timeout(
            coid,
            message(accepted),
            accepted,
            None,
            Duration::from_millis(5),
        ) {
            Ok(()) => accepted += 1,
            Err(e) if e.errno == Errno::ETIMEDOUT => {}
            Err(e) => break e.errno,
        }
        assert!(Instant::now() < until, "puts never failed");
        if accepted == 1 {
            tell_parent("putting");
        }
    };
    asyncmsg_connect_detach(coid).expect("detach");
    while (got.lock().unwrap_or_else(|p| p.into_inner()).len() as u32) < accepted {
        assert!(Instant::now() < until, "callbacks missing");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(10)); // (None beyond the accepted.)
    let mut got = got.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let once = got.len() as u32 == accepted;
    got.sort_unstable();
    let each = got.iter().enumerate().all(|(i, &(h, _))| h == i as u32);
    let taken = got.iter().take_while(|&&(_, e)| e == 0).count();
    let rest_ebadf = got[taken..].iter().all(|&(_, e)| e == Errno::EBADF.0);
    tell_parent(&format!(
        "put {failed:?} once {once} each {each} taken-first-then-ebadf {rest_ebadf} taken {taken} of {accepted}"
    ));
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
        "async-receiver" => async_receiver(&arg),
        "async-sender" => async_sender(&arg),
        "taker" => taker(&arg),
        "orphaned-sender" => orphaned_sender(&arg),
        "stuck-sender" => stuck_sender(&arg),
        "patient-receiver" => patient_receiver(&arg),
        "batch-taker" => batch_taker(),
        "steady-sender" => steady_sender(&arg),
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn asyncmsg_between_two_programs_delivers_every_message_once_in_order_with_its_callback() {
    let dir = TempDir::new("async-programs");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    const N: u32 = 500;
    let receiver = spawn("async-receiver", &N.to_string(), &socket);
    let target = ready(&receiver);
    let sender = spawn("async-sender", &format!("{target} {N}"), &socket);
    let spid = sender.pid();
    assert_eq!(
        receiver.line(WITHIN),
        format!(
            "got {N} order-ok true content-ok true pids {{{spid}}} errors [{}] batched true",
            Errno::EMSGSIZE.0
        )
    );
    assert_eq!(
        sender.line(WITHIN),
        format!("callbacks {{0: {N}, {}: 1}} intact true", Errno::EMSGSIZE.0)
    );
    assert!(sender.wait(WITHIN).success());
    assert!(receiver.wait(WITHIN).success());
    // Both ended: the sender's queue block went back to the arena.
    wait_until("the queue's pages freed", || {
        k.async_queue_pages_in_use() == 0
    });
}

#[test]
fn a_receiver_killed_with_messages_pending_leaves_none_without_its_callbacks_error() {
    let dir = TempDir::new("async-orphan");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let take = dir.join("take");
    let receiver = spawn("taker", take.to_str().expect("a UTF-8 path"), &socket);
    let target = ready(&receiver);
    let go = dir.join("go");
    let sender = spawn(
        "orphaned-sender",
        &format!("{target} {}", go.display()),
        &socket,
    );
    assert_eq!(sender.line(WITHIN), "put 20");
    std::fs::write(&take, b"").expect("the word");
    assert_eq!(receiver.line(WITHIN), "took 5");
    assert!(k.async_queue_pages_in_use() > 0);
    receiver.kill();
    std::fs::write(&go, b"").expect("the word");
    // Puts fail once the channel is gone; after the detach, the 5 taken said 0 and every
    // other accepted message EBADF.
    assert_eq!(
        sender.line(WITHIN),
        "put EBADF taken 5 the-rest-ebadf true intact true callbacks-of-accepted true"
    );
    assert!(sender.wait(WITHIN).success());
    wait_until("the queue's pages freed", || {
        k.async_queue_pages_in_use() == 0
    });
}

#[test]
fn a_sender_killed_with_messages_queued_frees_its_queue_and_the_receiver_goes_on() {
    let dir = TempDir::new("async-dead-sender");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let baseline = k.pool_usage();
    let go = dir.join("go");
    let receiver = spawn(
        "patient-receiver",
        go.to_str().expect("a UTF-8 path"),
        &socket,
    );
    let target = ready(&receiver);
    let sender = spawn("stuck-sender", &target, &socket);
    assert_eq!(sender.line(WITHIN), "put 10");
    assert!(k.async_queue_pages_in_use() > 0);
    let spid = sender.pid();
    sender.kill();
    wait_until("the sender reaped", || {
        k.snapshot().processes.iter().all(|p| p.pid != spid)
    });
    assert_eq!(
        k.async_queue_pages_in_use(),
        0,
        "the dead sender's queue is freed"
    );
    // The receiver, told to look now, finds nothing of the dead sender: its get times out
    // instead of reading a freed queue.
    std::fs::write(&go, b"").expect("the word");
    assert_eq!(receiver.line(WITHIN), "get Err(ETIMEDOUT)");
    assert!(receiver.wait(WITHIN).success());
    wait_until("the pools back to their baseline", || {
        k.pool_usage().connections.live == baseline.connections.live
            && k.pool_usage().channels.live == baseline.channels.live
    });
}

use userlib::Errno;

/// Receivers killed in the middle of taking a batch from another program (parked at the
/// kernel's `mid-batch` fault point, under the lock, the messages copied and the queue's head
/// not yet moved): the supervisor undoes the receive, and the sender loses no accepted message
/// without its callback's error: the taken ones say 0, in queue order, the rest EBADF.
#[test]
fn receivers_killed_mid_batch_leave_every_accepted_message_with_its_callback() {
    const KILLS: usize = 25;
    let dir = TempDir::new("async-mid-batch");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let baseline = k.pool_usage();
    let mut taken_before_kill = 0;
    for round in 0..KILLS {
        let fault = format!("mid-batch:{}", 1 + round % 3);
        let receiver = spawn_with(
            "batch-taker",
            "",
            &socket,
            &[("QNXSIM_FAULT", fault.as_str())],
        );
        let target = ready(&receiver);
        let rpid = receiver.pid();
        let sender = spawn("steady-sender", &target, &socket);
        assert_eq!(sender.line(WITHIN), "putting");
        // Parked under the lock, in its batch.
        wait_until("the receiver parked in its batch", || {
            k.lock_owner() == Some(rpid)
        });
        receiver.kill();
        let said = sender.line(WITHIN);
        assert!(
            said.starts_with("put EBADF once true each true taken-first-then-ebadf true taken "),
            "round {round}: {said}"
        );
        taken_before_kill += said
            .split(' ')
            .nth(9)
            .and_then(|n| n.parse::<usize>().ok())
            .expect("the taken count");
        assert!(sender.wait(WITHIN).success());
        wait_until("the queue pages freed", || {
            k.async_queue_pages_in_use() == 0
        });
        wait_until("the pools back to their baseline", || {
            let u = k.pool_usage();
            (
                u.processes.live,
                u.threads.live,
                u.channels.live,
                u.connections.live,
            ) == (
                baseline.processes.live,
                baseline.threads.live,
                baseline.channels.live,
                baseline.connections.live,
            )
        });
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "asyncmsg_programs: {KILLS} receivers killed mid-batch; {taken_before_kill} messages \
         taken before the kills, every other accepted one called back with EBADF"
    );
}
