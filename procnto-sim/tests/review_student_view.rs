//! A reviewer's checks of what a student sees of separate programs on one supervised kernel:
//! `pidin-sim`'s thread rows (state, PRI and BASE) and channel lines for an INTR-blocked
//! program, a program in `delay()` (NANOSLEEP), and a server boosted by a queued client that
//! is then killed, and that reading
//! the kernel with `pidin-sim` is no kernel entry.
//!
//! Every blocking call of a child is bounded (TimerTimeout); every child and supervisor is
//! killed and reaped on every exit path (their guards' drops); temporary directories are
//! removed on drop.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::prog::gone;
use common::*;
use kernel_sim::consts::*;
use kernel_sim::{Kernel, ThreadState};
use procs::{child_role, child_setup, tell_parent, TempDir};
use std::time::{Duration, Instant};

const LEVEL: i32 = 7;

// ------------------------------------------------------------------------------ children

/// A server: a channel, one pulse received on it from itself (so that a client queuing there
/// boosts this thread, as its last receive was on the channel), then it idles, never
/// receiving again, until killed.
fn server() {
    use userlib::qnx::*;
    let chid = channel_create(0).expect("ChannelCreate");
    let coid = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).expect("connect");
    msg_send_pulse(coid, 10, 1, 0).expect("pulse");
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
    let mut buf = [0u8; 64];
    assert_eq!(msg_receive(chid, &mut buf, None), Ok(0));
    tell_parent(&format!(
        "ready {} {chid} {}",
        getpid().expect("getpid"),
        gettid().expect("gettid")
    ));
    std::thread::sleep(WITHIN);
}

/// A client at priority `arg` = "pid chid prio": sends and waits (bounded).
fn sender(arg: &str) {
    use userlib::qnx::*;
    let n = numbers(arg);
    thread_set_priority(n[2] as i16).expect("priority");
    let coid = connect_attach(0, n[0] as i32, n[1] as i32, _NTO_SIDE_CHANNEL, 0).expect("connect");
    tell_parent(&format!(
        "ready {} {}",
        getpid().expect("getpid"),
        gettid().expect("gettid")
    ));
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .expect("arm");
    let r = msg_send(coid, b"hi", &mut []);
    tell_parent(&format!("send {r:?}"));
    std::thread::sleep(WITHIN);
}

/// A driver thread waiting for interrupt level [`LEVEL`] (bounded), then idling.
fn intr_waiter() {
    use userlib::interrupt::*;
    use userlib::qnx::*;
    let id = interrupt_attach_event(LEVEL, &userlib::SigEvent::intr(), 0).expect("attach");
    tell_parent(&format!(
        "ready {} {}",
        getpid().expect("getpid"),
        gettid().expect("gettid")
    ));
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, Some(LONG_NS)).expect("arm");
    let r = interrupt_wait(0);
    let _ = interrupt_unmask(LEVEL, id);
    tell_parent(&format!("woke {r:?}"));
    std::thread::sleep(WITHIN);
}

/// A program's thread in `delay()` (QNX's: a kernel call, NANOSLEEP-blocked) of `arg` ms, which
/// a SIGUSR1 (handled) to its thread may end early: it tells what delay() returned.
fn sleeper(arg: &str) {
    use userlib::qnx::*;
    extern "C" fn on_usr1(_: i32) {}
    let ms: u32 = arg.parse().expect("ms");
    // SAFETY: an empty handler for SIGUSR1, installed before any thread of ours uses it.
    unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGUSR1,
            nix::sys::signal::SigHandler::Handler(on_usr1),
        )
    }
    .expect("a SIGUSR1 handler");
    tell_parent(&format!(
        "ready {} {} {}",
        getpid().expect("getpid"),
        gettid().expect("gettid"),
        nix::unistd::gettid()
    ));
    let r = delay(ms);
    tell_parent(&format!("slept {r:?}"));
    std::thread::sleep(WITHIN);
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
        "server" => server(),
        "sender" => sender(&arg),
        "intr" => intr_waiter(),
        "sleeper" => sleeper(&arg),
        other => panic!("unknown role {other}"),
    }
}

// ------------------------------------------------------------------------------ helpers

/// `pidin-sim --kernel SOCKET` once (bounded): its stdout; fails the test on a bad status.
fn pidin(socket: &std::path::Path) -> String {
    let (status, out, err) = run_pidin(&["--kernel", socket.to_str().expect("a UTF-8 path")]);
    assert!(status.success(), "pidin-sim: {status:?}\n{out}\n{err}");
    out
}

/// The thread row of (pid, tid) in pidin-sim's output: (PRI, BASE, STATE text).
fn thread_row(text: &str, pid: i32, tid: i32) -> Option<(i32, i32, String)> {
    text.lines()
        .skip_while(|l| !(l.contains("PID") && l.contains("TID") && l.contains("STATE")))
        .skip(1)
        .find_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() >= 5 && w[0] == pid.to_string() && w[1] == tid.to_string() {
                Some((w[2].parse().ok()?, w[3].parse().ok()?, w[4..].join(" ")))
            } else {
                None
            }
        })
}

/// The "channel pid P chid C: ..." line.
fn channel_line(text: &str, pid: i32, chid: i32) -> String {
    let head = format!("channel pid {pid} chid {chid}:");
    text.lines()
        .find(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no {head} in\n{text}"))
        .to_string()
}

/// pidin-sim's "kernel entries N" total.
fn total_entries(text: &str) -> u64 {
    let at = text
        .find("kernel entries ")
        .unwrap_or_else(|| panic!("no kernel entries total in\n{text}"));
    text[at + "kernel entries ".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

/// Polls pidin-sim until `cond` holds on its output (at most `WITHIN`).
fn pidin_until(socket: &std::path::Path, what: &str, cond: impl Fn(&str) -> bool) -> String {
    let until = Instant::now() + WITHIN;
    loop {
        let text = pidin(socket);
        if cond(&text) {
            return text;
        }
        assert!(
            Instant::now() < until,
            "pidin-sim never showed {what}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_thread(k: &Kernel, pid: i32, tid: i32, what: &str, cond: impl Fn(&ThreadState) -> bool) {
    wait_until(what, || {
        k.thread_info(pid, tid).is_ok_and(|i| cond(&i.state))
    });
}

// ------------------------------------------------------------------------------ tests

/// A program in InterruptWait: pidin-sim shows its thread INTR; the raise readies it and
/// pidin-sim no longer does.
#[test]
fn pidin_shows_a_program_intr_blocked_until_its_interrupt() {
    let dir = TempDir::new("review-view-intr");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let k = watch(&socket);
    let c = spawn("intr", "", &socket);
    let n = numbers(&ready(&c));
    let (pid, tid) = (n[0] as i32, n[1] as i32);
    wait_thread(&k, pid, tid, "the driver INTR-blocked", |s| {
        *s == ThreadState::Intr
    });
    let text = pidin(&socket);
    let row = thread_row(&text, pid, tid).unwrap_or_else(|| panic!("no row:\n{text}"));
    assert_eq!(row.2, "INTR", "{text}");
    assert!(
        text.contains(&format!("interrupt {LEVEL} id ")),
        "the attachment is listed:\n{text}"
    );
    assert_eq!(k.interrupt_raise(LEVEL), Ok(1));
    let woke = c.line(WITHIN);
    assert_eq!(woke, "woke Ok(())");
    let text = pidin_until(&socket, "the driver RUNNING", |t| {
        thread_row(t, pid, tid).is_some_and(|r| r.2 == "RUNNING")
    });
    assert!(!text.contains("INTR\n"), "{text}");
    drop(c);
}

/// A program in `delay()`: pidin-sim shows its thread NANOSLEEP, as QNX's pidin does, and
/// RUNNING once a signal has ended the delay early (it returns the milliseconds left).
#[test]
fn pidin_shows_a_program_in_delay_nanosleep_until_a_signal_ends_it() {
    let dir = TempDir::new("review-view-sleep");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let k = watch(&socket);
    let c = spawn("sleeper", "60000", &socket);
    let n = numbers(&ready(&c));
    let (pid, tid) = (n[0] as i32, n[1] as i32);
    wait_thread(&k, pid, tid, "the program NANOSLEEP-blocked", |s| {
        *s == ThreadState::Nanosleep
    });
    let text = pidin(&socket);
    let row = thread_row(&text, pid, tid).unwrap_or_else(|| panic!("no row:\n{text}"));
    assert_eq!(row.2, "NANOSLEEP", "{text}");
    // (To the sleeping thread: a signal to the process may go to another of its threads.)
    // SAFETY: tgkill takes plain integers; the thread is the child's, alive until killed.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, pid, n[2], libc::SIGUSR1) };
    assert_eq!(r, 0, "tgkill SIGUSR1");
    let slept = c.line(WITHIN);
    let left: u32 = slept
        .strip_prefix("slept Ok(")
        .and_then(|s| s.strip_suffix(')'))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{slept}"));
    assert!(left > 0 && left <= 60000, "{slept}");
    let text = pidin_until(&socket, "the program RUNNING", |t| {
        thread_row(t, pid, tid).is_some_and(|r| r.2 == "RUNNING")
    });
    assert!(!text.contains("NANOSLEEP"), "{text}");
    drop(c);
}

/// A high-priority client queued SEND-blocked on a busy server boosts it: pidin-sim shows the
/// client SEND (pid chid), the server at the client's PRI over its BASE, and one queued entry.
/// The client's program is killed (SIGKILL): once the supervisor has torn it down, pidin-sim
/// shows nothing of it, the queue empty, and the server back at its base priority.
#[test]
fn pidin_shows_a_boost_and_its_end_when_the_queued_client_is_killed() {
    let dir = TempDir::new("review-view-boost");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let k = watch(&socket);
    let s = spawn("server", "", &socket);
    let n = numbers(&ready(&s));
    let (spid, chid, stid) = (n[0] as i32, n[1] as i32, n[2] as i32);
    let c = spawn("sender", &format!("{spid} {chid} 33"), &socket);
    let n = numbers(&ready(&c));
    let (cpid, ctid) = (n[0] as i32, n[1] as i32);
    wait_thread(&k, cpid, ctid, "the client SEND-blocked", |st| {
        *st == ThreadState::Send { pid: spid, chid }
    });
    let text = pidin_until(&socket, "the server boosted", |t| {
        thread_row(t, spid, stid).is_some_and(|r| r.0 == 33)
    });
    let (pri, base, state) = thread_row(&text, spid, stid).unwrap();
    assert_eq!((pri, base, state.as_str()), (33, 10, "RUNNING"), "{text}");
    let (cpri, cbase, cstate) =
        thread_row(&text, cpid, ctid).unwrap_or_else(|| panic!("no client row:\n{text}"));
    assert_eq!((cpri, cbase), (33, 33), "{text}");
    assert_eq!(cstate, format!("SEND (pid {spid} chid {chid})"), "{text}");
    assert!(
        channel_line(&text, spid, chid).contains("1 queued"),
        "{text}"
    );
    let pid_of_c = c.pid();
    assert_eq!(pid_of_c, cpid, "the simulated pid is the Linux pid");
    c.kill();
    wait_until("the killed client torn down", || gone(&k, cpid));
    let text = pidin_until(&socket, "the server back at its base", |t| {
        thread_row(t, spid, stid).is_some_and(|r| r.0 == 10)
    });
    assert!(thread_row(&text, cpid, ctid).is_none(), "{text}");
    assert!(
        channel_line(&text, spid, chid).contains("0 queued"),
        "{text}"
    );
    drop(s);
}

/// Reading the kernel with pidin-sim is no kernel entry: on a quiet kernel (a server that
/// idles, a client SEND-blocked on it), three runs of pidin-sim show the same total and
/// per-process KENTRIES, and the kernel's own counter does not move.
#[test]
fn reading_the_kernel_with_pidin_is_no_kernel_entry() {
    let dir = TempDir::new("review-view-entries");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let k = watch(&socket);
    let s = spawn("server", "", &socket);
    let n = numbers(&ready(&s));
    let (spid, chid) = (n[0] as i32, n[1] as i32);
    let c = spawn("sender", &format!("{spid} {chid} 12"), &socket);
    let n = numbers(&ready(&c));
    let (cpid, ctid) = (n[0] as i32, n[1] as i32);
    wait_thread(&k, cpid, ctid, "the client SEND-blocked", |st| {
        matches!(st, ThreadState::Send { .. })
    });
    let before = k.kernel_entries();
    let texts: Vec<String> = (0..3).map(|_| pidin(&socket)).collect();
    let after = k.kernel_entries();
    assert_eq!(after, before, "pidin-sim's reads entered the kernel");
    for t in &texts {
        assert_eq!(total_entries(t), before, "{t}");
    }
    // The per-process KENTRIES column agrees with the counters.
    let row = |t: &str, pid: i32| -> u64 {
        t.lines()
            .find_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w.len() > 3 && w[0] == pid.to_string() && w[1].parse::<u32>().is_ok())
                    .then(|| w[2].parse().ok())
                    .flatten()
            })
            .unwrap_or_else(|| panic!("no process row for {pid}:\n{t}"))
    };
    for pid in [spid, cpid] {
        let want = k.process_counters(pid).expect("counters").kernel_entries;
        for t in &texts {
            assert_eq!(row(t, pid), want, "pid {pid}:\n{t}");
        }
    }
    drop(c);
    drop(s);
}
