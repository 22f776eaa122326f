//! Signals aimed at a simulated process act on it alone: one whose default action ends a
//! process ends that simulated process (teardown, disconnect pulses), not the Linux process
//! and its other simulated processes (docs/deviations.md, "Signals"). This test binary leaves
//! SIGALRM and SIGTERM at their default dispositions; each test uses its own processes.

mod support;

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::*;
use userlib::consts::*;
use userlib::qnx::*;
use userlib::{Channel, Errno, Kernel, Process, Received, SigEvent};

/// A server process with a channel that hears of disconnects, and a victim process connected
/// to it. Returns the kernel, both processes, the server's channel.
fn world() -> (Kernel, Process, Process, Channel) {
    let k = kernel();
    let server = process(&k);
    let victim = process(&k);
    let chan = Channel::create_in(&server, _NTO_CHF_DISCONNECT).unwrap();
    (k, server, victim, chan)
}

/// Waits for the disconnect pulse of the victim's connection on `chan`.
fn expect_disconnect(chan: &Channel) {
    let mut buf = [0u8; 64];
    match chan.receive_timeout(&mut buf, LONG).unwrap() {
        Received::Pulse(p) => assert_eq!(p.code, _PULSE_CODE_DISCONNECT),
        Received::Message { .. } => panic!("expected the disconnect pulse"),
    }
}

#[test]
fn a_timer_with_its_default_sigalrm_event_ends_only_its_own_simulated_process() {
    let (k, server, victim, chan) = world();
    let (spid, chid) = (server.pid(), chan.chid());
    let (tx, rx) = mpsc::channel();
    let h = victim
        .spawn(move || {
            let coid = connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            // TimerCreate with no event: SIGALRM, whose default action ends the process.
            let id = timer_create(1, None).unwrap();
            timer_settime(id, 0, 5_000_000, 0).unwrap();
            tx.send(coid).unwrap();
            // The process ends under this thread: its next calls fail.
            let t0 = Instant::now();
            loop {
                match msg_send_pulse(coid, 10, 1, 0) {
                    Ok(()) if t0.elapsed() < DEADLINE => {
                        std::thread::sleep(Duration::from_millis(1))
                    }
                    other => return other,
                }
            }
        })
        .unwrap();
    rx.recv_timeout(DEADLINE).unwrap();
    assert_eq!(h.join().unwrap(), Err(Errno::ESRCH));
    // The victim is gone; its server heard of it; the server and this Linux process go on.
    wait_until("the victim process is gone", || {
        k.process_counters(victim.pid()).is_err()
    });
    let mut buf = [0u8; 64];
    loop {
        match chan.receive_timeout(&mut buf, LONG).unwrap() {
            Received::Pulse(p) if p.code == _PULSE_CODE_DISCONNECT => break,
            Received::Pulse(_) => continue, // the victim's own pulses
            Received::Message { .. } => panic!("no message was sent"),
        }
    }
    assert!(k.process_counters(server.pid()).is_ok());
}

#[test]
fn kill_with_sigterm_ends_the_target_process_and_its_servers_hear_of_it() {
    let (k, server, victim, chan) = world();
    let (spid, chid) = (server.pid(), chan.chid());
    let (tx, rx) = mpsc::channel();
    let (gtx, grx) = mpsc::channel::<()>();
    let h = victim
        .spawn(move || {
            let coid = connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            tx.send(coid).unwrap();
            grx.recv_timeout(DEADLINE).unwrap();
            msg_send_pulse(coid, 10, 1, 0)
        })
        .unwrap();
    rx.recv_timeout(DEADLINE).unwrap();
    let vpid = victim.pid();
    // From a thread of the server process.
    server
        .spawn(move || kill(vpid, libc::SIGTERM))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    expect_disconnect(&chan);
    gtx.send(()).unwrap();
    assert_eq!(h.join().unwrap(), Err(Errno::ESRCH));
    assert!(k.process_counters(vpid).is_err());
    assert!(k.process_counters(server.pid()).is_ok());
}

static HANDLED_BY: AtomicI32 = AtomicI32::new(0);
static HANDLED: AtomicU32 = AtomicU32::new(0);

extern "C" fn record(_: i32) {
    HANDLED_BY.store(nix::unistd::gettid().as_raw(), Ordering::SeqCst);
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn kill_with_a_handled_signal_runs_the_handler_in_the_target_process_thread() {
    let signo = libc::SIGRTMIN() + 9;
    // SAFETY: a zeroed sigaction with our handler and an empty mask is valid.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = record as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(signo, &sa, std::ptr::null_mut()), 0);
    }
    let (_k, server, victim, _chan) = world();
    let (tx, rx) = mpsc::channel();
    let h = victim
        .spawn(move || {
            tx.send(nix::unistd::gettid().as_raw()).unwrap();
            let t0 = Instant::now();
            while HANDLED.load(Ordering::SeqCst) == 0 && t0.elapsed() < DEADLINE {
                std::thread::sleep(Duration::from_millis(1));
            }
            getpid()
        })
        .unwrap();
    let os = rx.recv_timeout(DEADLINE).unwrap();
    let vpid = victim.pid();
    server
        .spawn(move || kill(vpid, signo))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    // The process lives on; the handler ran in its thread.
    assert_eq!(h.join().unwrap(), Ok(vpid));
    assert_eq!(HANDLED.load(Ordering::SeqCst), 1);
    assert_eq!(HANDLED_BY.load(Ordering::SeqCst), os);
}

#[test]
fn kill_with_an_ignored_signal_changes_nothing() {
    let (k, server, victim, _chan) = world();
    let vpid = victim.pid();
    victim
        .spawn(|| getpid().map(drop))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    // SIGCHLD is ignored by default; SIGURG too.
    for sig in [libc::SIGCHLD, libc::SIGURG] {
        server
            .spawn(move || kill(vpid, sig))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
    }
    assert!(k.process_counters(vpid).is_ok());
}

#[test]
fn signal_kill_refuses_bad_targets_and_numbers() {
    let (_k, server, victim, _chan) = world();
    let vpid = victim.pid();
    let r = server
        .spawn(move || {
            [
                signal_kill(1, vpid, 0, libc::SIGTERM, 0, 0),
                signal_kill(0, vpid, 0, 65, 0, 0),
                signal_kill(0, vpid, 0, -1, 0, 0),
                signal_kill(0, 99_999, 0, libc::SIGTERM, 0, 0),
                signal_kill(0, vpid, 777, libc::SIGTERM, 0, 0),
                // Signal 0 checks the target and sends nothing.
                signal_kill(0, vpid, 0, 0, 0, 0),
            ]
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(
        r,
        [
            Err(Errno::ENOREMOTE),
            Err(Errno::EINVAL),
            Err(Errno::EINVAL),
            Err(Errno::ESRCH),
            Err(Errno::ESRCH),
            Ok(()),
        ]
    );
    let _ = SigEvent::none();
}

static LIB_HANDLED: AtomicU32 = AtomicU32::new(0);

extern "C" fn lib_record(_: i32) {
    LIB_HANDLED.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn kill_reaches_a_program_thread_of_a_process_whose_asyncmsg_library_thread_is_newer() {
    let signo = libc::SIGRTMIN() + 10;
    // SAFETY: a zeroed sigaction with our handler and an empty mask is valid.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = lib_record as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(signo, &sa, std::ptr::null_mut()), 0);
    }
    let (_k, server, victim, _chan) = world();
    let (tx, rx) = mpsc::channel();
    let h = victim
        .spawn(move || {
            // The process's asyncmsg library starts: its thread, which blocks signals, is the
            // process's newest kernel thread.
            let chid =
                userlib::asyncmsg::asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
            tx.send(()).unwrap();
            let t0 = Instant::now();
            while LIB_HANDLED.load(Ordering::SeqCst) == 0 && t0.elapsed() < DEADLINE {
                std::thread::sleep(Duration::from_millis(1));
            }
            userlib::asyncmsg::asyncmsg_channel_destroy(chid).unwrap();
        })
        .unwrap();
    rx.recv_timeout(DEADLINE).unwrap();
    let vpid = victim.pid();
    server
        .spawn(move || kill(vpid, signo))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    h.join().unwrap();
    assert_eq!(
        LIB_HANDLED.load(Ordering::SeqCst),
        1,
        "the handler ran in a program thread"
    );
}
