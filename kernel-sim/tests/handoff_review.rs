//! Review of f8226e1 (wake hand-off), fbcbadb (reaping from the timer service) and 276e349:
//! tests of two defects found, each of which failed on the reviewed code. Fixed since: the
//! timer service also wakes readied threads left asleep (`Kernel::wake_stranded`), and a
//! readied thread whose priority is raised has its wake-up made at once (`Tables::set_prio`).
//!
//! * `a_dead_programs_unmade_wake_up_is_made_...`: fbcbadb made a blocked wait of a shared
//!   kernel without a supervisor untimed. The 200 ms slices it replaced also made a thread
//!   whose word was posted but whose futex wake was never made look again (the slice ends,
//!   the word has changed, the thread collects). The timer service's reaping heals such a
//!   thread only through `reap_os_process`'s "wake every READY thread", which it runs only for
//!   a dead program that still has a process in the tables. A program killed between the
//!   unlock and the wake of a call that removed its last process (its own teardown at exit,
//!   or a worker's pending wake when the program exits) is never reaped, and the thread it
//!   readied sleeps until its own deadline, or for ever.
//! * `a_client_boosted_while_its_wake_up_is_carried_...`: the hand-off checks "a carrier of at
//!   least the client's priority" only when it hands off. A client whose wake-up is carried
//!   may then be boosted (server boost: a message or pulse queued on the channel it last
//!   received on) above its carrier, and waits at its new priority for a thread of lower
//!   priority to run. The carrier is held off the CPU here by a handler installed behind the
//!   library's back (glibc's own `__sigaction`): a stand-in for a carrier preempted by
//!   middle-priority work (OsPriority::Fifo) or simply not scheduled.
#![cfg(not(loom))]

mod support;

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::*;

const WITHIN: Duration = Duration::from_secs(20);

#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "exiting-server" => exiting_server(&arg),
        other => panic!("unknown role {other}"),
    }
}

/// The child: a server on the shared kernel at `path` that receives one message, then tears
/// its process down (as userlib does at exit) without answering. Run with a fault hook that
/// parks it at its first `pre-wake` (that teardown, which readied the client with ESRCH), where
/// the parent kills it.
fn exiting_server(path: &str) {
    let k = Kernel::open_shared(std::path::Path::new(path)).expect("open_shared");
    let p = k.process_attach_self().expect("process_attach_self");
    let t = k.thread_attach(p, 10).expect("thread_attach");
    let chid = t.channel_create(0).expect("channel_create");
    tell_parent(&format!("ready {chid}"));
    let mut buf = [0u8; 16];
    let rcvid = receive(&t, chid, &mut buf, None).expect("MsgReceive");
    assert!(rcvid > 0, "a message");
    tell_parent("received");
    // Its exit: its only process goes, and the client it held leaves with ESRCH.
    let _ = k.process_destroy(p);
    tell_parent("destroyed");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_dead_programs_unmade_wake_up_is_made_without_a_supervisor_even_when_it_left_no_process() {
    let dir = TempDir::new("review-unmade-wake");
    let path = dir.join("kernel");
    let k = Kernel::create_shared(&path, Config::default()).expect("create_shared");
    let me = k.process_attach_self().expect("process_attach_self");
    let server = Child::spawn_with_env(
        "exiting-server",
        path.to_str().unwrap(),
        &[("QNXSIM_FAULT", "pre-wake:1:30000000")],
    );
    let line = server.line(WITHIN);
    let chid: i32 = line
        .strip_prefix("ready ")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let spid = server.pid();

    // Our client: REPLY-blocked on the server, bounded by 4 s.
    const BOUND_NS: u64 = 4_000_000_000;
    let (tx, rx) = mpsc::channel();
    let kc = k.clone();
    let client = std::thread::spawn(move || {
        let t = kc.thread_attach(me, 10).expect("thread_attach");
        let coid = t
            .connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0)
            .expect("connect_attach");
        tx.send(t.tid()).unwrap();
        arm(&t, SEND_REPLY, Some(BOUND_NS));
        let mut r = [0u8; 8];
        let res = t.msg_send(coid, b"hello", &mut r);
        (res, Instant::now())
    });
    let tid = rx.recv_timeout(WITHIN).expect("client registered");
    assert_eq!(server.line(WITHIN), "received");

    // The server's teardown readies our client (ESRCH) under the lock; the server parks at
    // pre-wake, after the unlock, before the wake-up, and is killed there. Its process is gone
    // from the tables already. (Our client may be READY there, or already back: our program's
    // timer service wakes readied threads left asleep every 200 ms.)
    let _ = tid;
    let until = Instant::now() + WITHIN;
    while k.listing().snapshot.processes.iter().any(|p| p.pid == spid) {
        assert!(
            Instant::now() < until,
            "the server never tore its process down"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    let killed = Instant::now();
    let _ = server.kill();
    assert!(
        !k.listing().snapshot.processes.iter().any(|p| p.pid == spid),
        "(the killed program left no process to reap)"
    );

    let (res, back) = client.join().expect("client thread");
    assert_eq!(
        res,
        Err(Errno::ESRCH),
        "the client keeps the result it was readied with"
    );
    let late = back.saturating_duration_since(killed);
    assert!(
        late < Duration::from_millis(1500),
        "a client readied by a program killed before it woke it was left asleep {late:?} \
         (until its own {} s deadline): nothing looks at its word any more (before fbcbadb a \
         200 ms slice did), and the reaping never wakes it since the dead program has no \
         process left to reap",
        BOUND_NS / 1_000_000_000
    );
}

// ----------------------------------------------------------------- priority of a carried wake

/// Set by the stalling handler on entry and on exit.
static STALLED: AtomicBool = AtomicBool::new(false);
static UNSTALLED: AtomicBool = AtomicBool::new(false);
/// How long the handler holds the carrier's OS thread.
const STALL: Duration = Duration::from_millis(2500);

extern "C" fn stall(_sig: libc::c_int) {
    STALLED.store(true, Ordering::SeqCst);
    std::thread::sleep(STALL);
    UNSTALLED.store(true, Ordering::SeqCst);
}

extern "C" {
    /// glibc's own `sigaction`, behind kernel-sim's interposed one: the handler runs at once,
    /// even inside a kernel call.
    fn __sigaction(
        sig: libc::c_int,
        act: *const libc::sigaction,
        oact: *mut libc::sigaction,
    ) -> libc::c_int;
}

/// The Linux state letter of thread `tid` of this process (`S`: asleep).
fn linux_state(tid: i32) -> char {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next())
        })
        .unwrap_or('?')
}

#[test]
fn a_client_boosted_while_its_wake_up_is_carried_is_not_left_waiting_on_a_lower_priority_carrier() {
    // No spinning: a blocked thread goes to sleep at once (the hand-off is for sleepers).
    let k = Kernel::new(Config {
        spin_ns: 0,
        ..Config::default()
    })
    .expect("kernel");
    let sp = k.process_create().unwrap();
    let server = k.thread_attach(sp, 10).unwrap();
    let chid_s = server.channel_create(0).unwrap();
    let mut buf = [0u8; 8];

    // A: a client at 10; the server receives it.
    let pa = k.process_create().unwrap();
    let a_tid = std::sync::Arc::new(AtomicI32::new(0));
    let at = a_tid.clone();
    let a = spawn(&k, pa, 10, move |c| {
        at.store(os_tid(), Ordering::SeqCst);
        let coid = c.connect_attach(0, sp.pid, chid_s, _NTO_SIDE_CHANNEL, 0)?;
        let mut r = [0u8; 4];
        send(c, coid, b"a", &mut r)
    });
    let rcvid_a = receive(&server, chid_s, &mut buf, None).unwrap();

    // B: a server thread at 10 of its own channel chB, holding X's message (it last received
    // on chB), which sends to our server in turn; the server receives it.
    let pb = k.process_create().unwrap();
    let (chb_tx, chb_rx) = mpsc::channel();
    let b_done = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    let bd = b_done.clone();
    let b = spawn(&k, pb, 10, move |c| {
        let chid_b = c.channel_create(0).unwrap();
        chb_tx.send(chid_b).unwrap();
        let mut m = [0u8; 8];
        let rcvid_x = receive(c, chid_b, &mut m, None).expect("X's message");
        let coid = c.connect_attach(0, sp.pid, chid_s, _NTO_SIDE_CHANNEL, 0)?;
        let mut r = [0u8; 4];
        let got = send(c, coid, b"b", &mut r);
        *bd.lock().unwrap() = Some(Instant::now());
        // Then H's message (it boosted us), and X's.
        let rcvid_h = receive(c, chid_b, &mut m, None).expect("H's message");
        c.msg_reply(rcvid_h, 0, b"").unwrap();
        c.msg_reply(rcvid_x, 0, b"").unwrap();
        got
    });
    let chid_b = chb_rx.recv_timeout(WITHIN).unwrap();
    wait_receive_blocked(&k, b.pid, b.tid);
    let px = k.process_create().unwrap();
    let x = spawn(&k, px, 10, move |c| {
        let coid = c.connect_attach(0, pb.pid, chid_b, _NTO_SIDE_CHANNEL, 0)?;
        send(c, coid, b"x", &mut [])
    });
    let rcvid_b = receive(&server, chid_s, &mut buf, None).unwrap();
    assert_eq!(&buf[..1], b"b");

    // C: queued on the server's channel: the server is busy.
    let pc = k.process_create().unwrap();
    let cl = spawn(&k, pc, 10, move |c| {
        let coid = c.connect_attach(0, sp.pid, chid_s, _NTO_SIDE_CHANNEL, 0)?;
        send(c, coid, b"c", &mut [])
    })
    .once_send_blocked(&k);

    // A and B asleep on their words.
    let a_os = a_tid.load(Ordering::SeqCst);
    wait_until("A and B asleep", || {
        std::thread::sleep(Duration::from_millis(20));
        linux_state(a_os) == 'S' && linux_state(b.os_tid) == 'S'
    });

    // A's OS thread is held off the CPU (in a handler) from here for STALL.
    let sig = libc::SIGRTMIN() + 7;
    // SAFETY: a zeroed sigaction with a plain handler, no flags and an empty mask.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = stall as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(__sigaction(sig, &sa, std::ptr::null_mut()), 0);
        libc::syscall(libc::SYS_tgkill, libc::getpid(), a_os, sig);
    }
    wait_until("A stalled", || STALLED.load(Ordering::SeqCst));

    // The replies: A is readied (its wake-up made by the server, but A cannot run yet); B,
    // asleep, is readied with its wake-up left to A (same priority: allowed).
    server.msg_reply(rcvid_a, 1, b"A").unwrap();
    server.msg_reply(rcvid_b, 2, b"B").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let carried = matches!(
        k.thread_info(b.pid, b.tid).unwrap().state,
        ThreadState::Ready
    );

    // H at 50 sends to chB while B is not receiving: server boost raises B to 50.
    let ph = k.process_create().unwrap();
    let h_sending = std::sync::Arc::new(AtomicBool::new(false));
    let hs = h_sending.clone();
    let h = spawn(&k, ph, 50, move |c| {
        let coid = c.connect_attach(0, pb.pid, chid_b, _NTO_SIDE_CHANNEL, 0)?;
        hs.store(true, Ordering::SeqCst);
        send(c, coid, b"h", &mut [])
    });
    wait_until("H sending", || h_sending.load(Ordering::SeqCst));
    std::thread::sleep(Duration::from_millis(20));
    let boosted = Instant::now();
    let info = k.thread_info(b.pid, b.tid);
    eprintln!("B after the boost: {info:?} (its wake-up carried: {carried})");

    // B, READY at 50, must get going: its carrier A (10) cannot run.
    let ran = eventually_within(Duration::from_millis(800), || {
        b_done.lock().unwrap().is_some()
    });
    let waited = boosted.elapsed();
    let a_still_stalled = !UNSTALLED.load(Ordering::SeqCst);

    // Let everything finish before judging.
    assert_eq!(a.join(), Ok(1));
    assert_eq!(b.join(), Ok(2));
    let rcvid_c = receive(&server, chid_s, &mut buf, None).unwrap();
    server.msg_reply(rcvid_c, 0, b"").unwrap();
    assert_eq!(cl.join(), Ok(0));
    assert_eq!(h.join(), Ok(0));
    assert_eq!(x.join(), Ok(0));
    let carried_by_a = k.process_counters(pa.pid).unwrap().wakeups_carried;
    eprintln!("wake-ups A carried: {carried_by_a}");

    assert!(
        ran || !a_still_stalled,
        "B, boosted to priority {} while its wake-up was carried by A (priority 10), stayed \
         READY and asleep {:?} after the boost, until A ran: a priority-50 thread waiting on a \
         priority-10 one",
        info.map_or(-1, |i| i.priority),
        waited
    );
}

/// Polls `cond` every millisecond for at most `within`; returns whether it held.
fn eventually_within(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + within;
    while !cond() {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}
