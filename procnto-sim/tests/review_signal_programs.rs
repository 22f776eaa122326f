//! Review: signal storms and signal events between separate C programs on one supervised
//! kernel (`capi/tests/c/review_signal_programs.c`, one program in many roles). A storm program
//! floods the threads of a server and its clients in other programs (tgkill of SIGUSR1 and
//! SIGRTMIN, kill(), SignalKill process- and thread-directed) while they are SEND-, RECEIVE-
//! and REPLY-blocked on an `_NTO_CHF_UNBLOCK` channel, and every handler makes a kernel call
//! (MsgSendPulse); every request, reply, cancel and pulse is counted end to end, and a client
//! is killed mid-storm. A sleeper's threads blocked INTR, NANOSLEEP (TimerTimeout and delay()),
//! RECEIVE, SEND and REPLY (with and without `_NTO_CHF_UNBLOCK`), and one making non-blocking
//! calls, are stormed with an `SA_RESTART` handler: each call ends with EINTR or its result,
//! never restarted, never wrong, and runs its course once the storm is over. Queued real-time
//! signals to a thread in kernel calls are counted; SIGEV_SIGNAL_THREAD events from
//! MsgDeliverEvent in another program are counted (handled, and taken by sigtimedwait while
//! masked); a process-directed SignalKill must reach a thread that does not mask it. After each
//! test the kernel's pools are back where they were. Every program is bounded in time (alarm()
//! in the C, `finish`/`line` bounds here) and killed on every exit path; the supervisor's socket
//! lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{expect_summary, Running};
use common::rig::Rig;
use std::time::Duration;

/// Bound on a program's run.
const RUN: Duration = Duration::from_secs(45);

/// Reads `r`'s lines until one starts with `prefix` (a failed check before it fails the test):
/// that line.
fn until_line(r: &mut Running, prefix: &str) -> String {
    let mut seen = Vec::new();
    loop {
        let l = r.line();
        assert!(
            !l.starts_with("FAIL"),
            "waiting for {prefix:?}: {l}\nbefore:\n{}",
            seen.join("\n")
        );
        if l.starts_with(prefix) {
            return l;
        }
        seen.push(l);
    }
}

/// The words after "ready ".
fn ready(r: &mut Running) -> Vec<String> {
    until_line(r, "ready ")
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect()
}

/// A program's end: it passed at least `min` checks and failed none; what it said goes to
/// stderr (`--nocapture`).
fn ok(who: &str, end: (std::process::ExitStatus, String, String), min: u32) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "{who}: {}",
        end.1.lines().collect::<Vec<_>>().join(" | ")
    );
    expect_summary(who, end, min);
}

/// The server's threads each arm a 300 ms receive bound before `MsgReceive`; a storm signal
/// whose handler (a `MsgSendPulse`) runs between the two spends it (QNX clears an arming on
/// return from the next kernel call), so the server's quit wakes its other threads with a
/// pulse rather than relying on their bounds.
#[test]
fn a_storm_from_another_program_loses_no_request_reply_cancel_or_pulse() {
    let rig = Rig::new("rv-sig-srr", "review_signal_programs");
    let base = rig.settled();
    let dir = rig.dir_arg();
    let mut server = rig.start(&["server"]);
    let s = ready(&mut server);
    let (spid, chid, s_targets) = (s[0].clone(), s[1].clone(), s[2].clone());
    let mut c1 = rig.start(&["client", &spid, &chid, "1", "3", "400", &dir]);
    let mut c2 = rig.start(&["client", &spid, &chid, "2", "3", "400", &dir]);
    let mut victim = rig.start(&["client", &spid, &chid, "3", "3", "1000000", &dir]);
    let t1 = ready(&mut c1).remove(0);
    let t2 = ready(&mut c2).remove(0);
    let tv = ready(&mut victim).remove(0);
    let vpid = victim.pid();
    let storm = rig.start(&["storm", "3000", "all", &s_targets, &t1, &t2, &tv]);
    std::thread::sleep(Duration::from_millis(100));
    rig.word("go", "");
    // The victim dies mid-storm, with requests sent, held and REPLY-blocked.
    std::thread::sleep(Duration::from_millis(500));
    let _ = victim.kill();
    rig.reaped(vpid);
    ok("client 1", c1.finish(RUN), 4);
    ok("client 2", c2.finish(RUN), 4);
    ok("storm", storm.finish(RUN), 1);
    let spid_n: u32 = spid.parse().expect("the server's pid");
    ok("quit", rig.start(&["quit", &spid, &chid]).finish(RUN), 1);
    let (st, out, err) = server.finish(RUN);
    assert!(
        out.contains("tag 1 ") && out.contains("tag 2 "),
        "the server counted both clients:\n{out}"
    );
    ok("server", (st, out, err), 14);
    rig.reaped(spid_n);
    rig.back_to(base, "after every program");
}

#[test]
fn a_server_killed_mid_storm_releases_every_client_thread_with_esrch() {
    let rig = Rig::new("rv-sig-kill-server", "review_signal_programs");
    let base = rig.settled();
    let dir = rig.dir_arg();
    let mut server = rig.start(&["server"]);
    let s = ready(&mut server);
    let (spid, chid) = (s[0].clone(), s[1].clone());
    let mut c5 = rig.start(&["client", &spid, &chid, "5", "4", "1000000", &dir]);
    let mut c6 = rig.start(&["client", &spid, &chid, "6", "4", "1000000", &dir]);
    let t5 = ready(&mut c5).remove(0);
    let t6 = ready(&mut c6).remove(0);
    let storm = rig.start(&["storm", "1500", "all", &s[2], &t5, &t6]);
    std::thread::sleep(Duration::from_millis(100));
    rig.word("go", "");
    std::thread::sleep(Duration::from_millis(600));
    let spid_n = server.pid();
    let _ = server.kill();
    rig.reaped(spid_n);
    ok("client 5", c5.finish(RUN), 4);
    ok("client 6", c6.finish(RUN), 4);
    ok("storm", storm.finish(RUN), 1);
    rig.back_to(base, "after every program");
}

#[test]
fn every_blocked_state_ends_with_eintr_or_its_result_under_an_sa_restart_storm() {
    let rig = Rig::new("rv-sig-states", "review_signal_programs");
    let base = rig.settled();
    let dir = rig.dir_arg();
    let mut mute = rig.start(&["mute", &dir]);
    let m = ready(&mut mute);
    let mut sleeper = rig.start(&["sleeper", &dir, &m[0], &m[1], &m[2], &m[3]]);
    let targets = ready(&mut sleeper).remove(0);
    ok(
        "storm",
        rig.start(&["storm", "1500", "usr1", &targets]).finish(RUN),
        1,
    );
    rig.word("calm", "");
    ok("sleeper", sleeper.finish(RUN), 29);
    rig.word("end", "");
    ok("mute", mute.finish(RUN), 4);
    rig.back_to(base, "after every program");
}

/// Its first run found real-time signals beyond 32 arriving inside one kernel call dropped by
/// the library's per-thread record (kernel-sim/src/signals.rs): they are held back pending now.
#[test]
fn every_queued_real_time_signal_runs_its_handler_in_a_thread_in_kernel_calls() {
    let rig = Rig::new("rv-sig-rt", "review_signal_programs");
    let base = rig.settled();
    let dir = rig.dir_arg();
    let mut counter = rig.start(&["counter", &dir]);
    let c = ready(&mut counter);
    let sent = rig.dir.join("sent").display().to_string();
    ok(
        "rtq",
        rig.start(&["rtq", &c[0], &c[1], "3000", &sent]).finish(RUN),
        1,
    );
    ok("counter", counter.finish(RUN), 3);
    rig.back_to(base, "after every program");
}

#[test]
fn signal_thread_events_from_another_program_run_in_the_named_thread_or_wait_in_sigtimedwait() {
    let rig = Rig::new("rv-sig-events", "review_signal_programs");
    let base = rig.settled();
    let mut server = rig.start(&["evserver"]);
    let s = ready(&mut server);
    let client = rig.start(&["evclient", &s[0], &s[1], "200", "events"]);
    ok("evclient", client.finish(RUN), 6);
    ok("evserver", server.finish(RUN), 2);
    rig.back_to(base, "after every program");
}

/// Its first run found a process-directed SignalKill to another program sent to the one thread
/// the kernel picked, even one masking the signal (never handled while another let it in):
/// it goes to the Linux process now, which gives it to a thread that does not block it.
#[test]
fn a_process_directed_signal_kill_reaches_a_thread_that_does_not_mask_it() {
    let rig = Rig::new("rv-sig-kill-mask", "review_signal_programs");
    let base = rig.settled();
    let mut server = rig.start(&["evserver"]);
    let s = ready(&mut server);
    let client = rig.start(&["evclient", &s[0], &s[1], "4", "kill"]);
    ok("evclient", client.finish(RUN), 5);
    ok("evserver", server.finish(RUN), 2);
    rig.back_to(base, "after every program");
}
