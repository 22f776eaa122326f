//! Review: `<sys/asyncmsg.h>` between separate C programs on one supervised kernel, with kills
//! (`capi/tests/c/review_asyncmsg_programs.c`, one program in many roles). Senders killed with
//! messages untriggered, triggered, blocked on a full queue and in a blocking flush; a receiver
//! killed under a blocked put and a blocked flush; a receiver that destroys its channel and
//! makes one with the same chid, then is killed and another program takes its place (stale
//! coids refused, never delivered); many senders into one receiver with one killed; pulse and
//! signal events to a receiver in another program; another program's chid refused, and odd
//! sizes and `asyncmsg_malloc` buffers crossing intact. After each kill the kernel's pools and
//! queue pages are back where they were and `pidin-sim` shows nothing of the dead. Every
//! program is bounded in time (alarm() in the C, `finish`/`line` bounds here) and killed on
//! every exit path; the supervisor's socket lives in a temporary directory removed on every
//! exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{expect_summary, summary, Running};
use common::rig::{mentions, Rig};
use std::time::Duration;

/// Reads `r`'s lines until one starts with `prefix` (the failed checks before it fail the
/// test): that line.
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

/// Reads lines of a program that holds on after its summary until the summary: it must have
/// passed at least `min` checks and failed none.
fn summary_then_holds(r: &mut Running, who: &str, min: u32) {
    let mut seen = Vec::new();
    loop {
        let l = r.line();
        seen.push(l.clone());
        if l.contains(" passed, ") && l.ends_with(" failed") {
            let (p, f) = summary(&l);
            assert!(
                f == 0 && p >= min,
                "{who}: {p} passed, {f} failed\n{}",
                seen.join("\n")
            );
            return;
        }
    }
}

/// A program's end (as `Running::finish` gives it): it passed at least `min` checks and failed
/// none; what it said (its observations and summary) goes to stderr (`--nocapture`).
fn ok(who: &str, end: (std::process::ExitStatus, String, String), min: u32) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "{who}: {}",
        end.1.lines().collect::<Vec<_>>().join(" | ")
    );
    expect_summary(who, end, min);
}

/// Bound on a program's run.
const RUN: Duration = Duration::from_secs(60);

#[test]
fn senders_killed_at_every_stage_leave_no_trace_and_the_receiver_goes_on() {
    let rig = Rig::new("rv-async-dead-senders", "review_asyncmsg_programs");
    let base = rig.settled();
    let go = rig.path("go");
    let mut rx = rig.start(&["recv-patient", &go]);
    let ids = ready(&mut rx);
    let (rpid, chid) = (ids[0].clone(), ids[1].clone());
    let with_rx = rig.settled();
    for mode in ["untriggered", "timed", "triggered", "full", "flushing"] {
        let mut tx = rig.start(&["send-hold", &rpid, &chid, mode]);
        let spid = tx.pid();
        until_line(
            &mut tx,
            match mode {
                "full" => "blocking",
                "flushing" => "flushing",
                _ => "held",
            },
        );
        // Into its blocking call, if it makes one.
        std::thread::sleep(Duration::from_millis(200));
        let before = rig.pidin();
        assert!(
            mentions(&before, spid),
            "{mode}: pidin-sim shows the sender {spid}:\n{before}"
        );
        if !matches!(mode, "untriggered" | "timed") {
            assert!(
                before.contains(&format!("ready list: pid {spid} coid")),
                "{mode}: its connection is on the channel's ready list:\n{before}"
            );
        }
        assert!(rig.k.async_queue_pages_in_use() > 0, "{mode}: its queue");
        let _ = tx.kill();
        rig.reaped(spid);
        rig.back_to_pages(with_rx, Some(0), &format!("after the {mode} sender's kill"));
        let after = rig.pidin();
        assert!(
            !mentions(&after, spid),
            "{mode}: pidin-sim still shows the killed sender {spid}:\n{after}"
        );
        assert!(
            after.contains("ready list: empty"),
            "{mode}: the channel's ready list is empty after the kill:\n{after}"
        );
    }
    // A live sender's messages come, and none of the dead ones'.
    let tx = rig.start(&["send-n", &rpid, &chid, "40", "9"]);
    rig.word("go", &format!("{} 40\n", tx.pid()));
    ok("send-n", tx.finish(RUN), 6);
    let (st, out, err) = rx.finish(RUN);
    assert!(out.contains("strangers 0"), "recv-patient:\n{out}");
    ok("recv-patient", (st, out, err), 5);
    rig.back_to_pages(base, Some(0), "after every program");
}

#[test]
fn a_receiver_killed_under_a_blocked_put_and_flush_fails_them_and_calls_back_every_message() {
    let rig = Rig::new("rv-async-dead-receiver", "review_asyncmsg_programs");
    let base = rig.settled();
    let mut rx = rig.start(&["recv-idle"]);
    let ids = ready(&mut rx);
    let rpid = rx.pid();
    let killed = rig.path("killed");
    let mut tx = rig.start(&["send-orphan", &ids[0], &ids[1], &killed]);
    until_line(&mut tx, "blocked");
    let _ = rx.kill();
    rig.reaped(rpid);
    rig.word("killed", "");
    let spid = tx.pid();
    ok("send-orphan", tx.finish(RUN), 14);
    rig.back_to_pages(base, Some(0), "after both programs");
    let text = rig.pidin();
    assert!(
        !mentions(&text, rpid) && !mentions(&text, spid),
        "pidin-sim shows nothing of the two:\n{text}"
    );
}

#[test]
fn a_receiver_destroying_its_channel_under_a_blocked_put_and_flush_of_another_program() {
    let rig = Rig::new("rv-async-destroy", "review_asyncmsg_programs");
    let base = rig.settled();
    let dir = rig.dir.join("").display().to_string();
    let dir = dir.trim_end_matches('/');
    let mut rx = rig.start(&["recv-destroy", dir]);
    let ids = ready(&mut rx);
    let killed = rig.path("killed");
    let mut tx = rig.start(&["send-orphan", &ids[0], &ids[1], &killed]);
    until_line(&mut tx, "blocked");
    rig.word("destroy", "");
    until_line(&mut rx, "destroyed");
    rig.word("killed", "");
    ok("send-orphan", tx.finish(RUN), 14);
    rig.word("end", "");
    ok("recv-destroy", rx.finish(RUN), 3);
    rig.back_to_pages(base, Some(0), "after both programs");
}

#[test]
fn a_sender_reconnects_after_its_receiver_restarts_and_stale_ids_are_refused() {
    let rig = Rig::new("rv-async-restart", "review_asyncmsg_programs");
    let base = rig.settled();
    let dir = rig.dir.join("").display().to_string();
    let dir = dir.trim_end_matches('/');
    let mut r1 = rig.start(&["recv-reuse", dir]);
    let ids = ready(&mut r1);
    let r1pid = r1.pid();
    let mut tx = rig.start(&["send-reuse", &ids[0], &ids[1], dir]);
    let reopened = until_line(&mut r1, "reopened ");
    let words: Vec<&str> = reopened.split_whitespace().collect();
    rig.word("chid2", &format!("{}\n", words[1]));
    until_line(&mut tx, "stale done");
    rig.word("stale-done", "");
    until_line(&mut r1, "window over");
    rig.word("attach", "");
    until_line(&mut tx, "phase1 done");
    summary_then_holds(&mut r1, "recv-reuse", 4);
    let _ = r1.kill();
    rig.reaped(r1pid);
    let mut r2 = rig.start(&["recv-count", "20", "3"]);
    let ids2 = ready(&mut r2);
    rig.word("r2", &format!("{} {}\n", ids2[0], ids2[1]));
    ok("send-reuse", tx.finish(RUN), 20);
    ok("recv-count", r2.finish(RUN), 4);
    rig.back_to_pages(base, Some(0), "after every program");
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "review_asyncmsg_programs: the new channel reused the chid: {}",
        words[2] == "1"
    );
}

#[test]
fn many_senders_into_one_receiver_one_killed_the_others_lose_nothing() {
    const N: &str = "1500";
    let rig = Rig::new("rv-async-many", "review_asyncmsg_programs");
    let base = rig.settled();
    let mut rx = rig.start(&["recv-many", N]);
    let ids = ready(&mut rx);
    let mut victim = rig.start(&["send-forever", &ids[0], &ids[1], "0"]);
    let vpid = victim.pid();
    until_line(&mut victim, "putting");
    let mut s1 = rig.start(&["send-n", &ids[0], &ids[1], N, "1"]);
    let mut s2 = rig.start(&["send-n", &ids[0], &ids[1], N, "2"]);
    until_line(&mut s1, "attached");
    until_line(&mut s2, "attached");
    // More victims, killed one after another while the two good senders run.
    let mut others: Vec<Running> = ["3", "4", "5", "6"]
        .iter()
        .map(|tag| rig.start(&["send-forever", &ids[0], &ids[1], tag]))
        .collect();
    std::thread::sleep(Duration::from_millis(30));
    let _ = victim.kill();
    rig.reaped(vpid);
    for v in others.iter_mut() {
        until_line(v, "putting");
    }
    for v in others {
        let pid = v.pid();
        let _ = v.kill();
        rig.reaped(pid);
        std::thread::sleep(Duration::from_millis(10));
    }
    ok("send-n 1", s1.finish(RUN), 6);
    ok("send-n 2", s2.finish(RUN), 6);
    let (st, out, err) = rx.finish(RUN);
    let got: u32 = out
        .lines()
        .find_map(|l| l.strip_prefix("victim "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(got >= 50, "the victim's first messages arrived:\n{out}");
    ok("recv-many", (st, out, err), 6);
    rig.back_to_pages(base, Some(0), "after every program");
}

#[test]
fn senders_of_messages_read_from_their_memory_killed_while_the_receiver_takes() {
    let rig = Rig::new("rv-async-big", "review_asyncmsg_programs");
    let base = rig.settled();
    let mut rx = rig.start(&["recv-big", "20"]);
    let ids = ready(&mut rx);
    for round in 0..4 {
        let mut victims: Vec<Running> = (0..2)
            .map(|_| rig.start(&["send-big", &ids[0], &ids[1]]))
            .collect();
        for v in victims.iter_mut() {
            until_line(v, "putting");
        }
        std::thread::sleep(Duration::from_millis(20 + 15 * round));
        for v in victims {
            let pid = v.pid();
            let _ = v.kill();
            rig.reaped(pid);
        }
    }
    let tx = rig.start(&["send-n", &ids[0], &ids[1], "20", "1"]);
    ok("send-n", tx.finish(RUN), 6);
    ok("recv-big", rx.finish(RUN), 5);
    rig.back_to_pages(base, Some(0), "after every program");
}

#[test]
fn notification_events_reach_a_receiver_in_another_program() {
    let rig = Rig::new("rv-async-events", "review_asyncmsg_programs");
    let base = rig.settled();
    let mut rx = rig.start(&["recv-event", "60", "6"]);
    let ids = ready(&mut rx);
    let s1 = rig.start(&["send-rounds", &ids[0], &ids[1], "6", "10", "4"]);
    ok("send-rounds (pulse)", s1.finish(RUN), 3);
    let s2 = rig.start(&["send-rounds", &ids[0], &ids[2], "6", "10", "5"]);
    ok("send-rounds (signal)", s2.finish(RUN), 3);
    ok("recv-event", rx.finish(RUN), 8);
    rig.back_to_pages(base, Some(0), "after every program");
}

#[test]
fn another_programs_channel_is_refused_and_odd_sizes_and_malloc_buffers_cross_intact() {
    let rig = Rig::new("rv-async-guard", "review_asyncmsg_programs");
    let base = rig.settled();
    let go = rig.path("go");
    let mut rx = rig.start(&["recv-guard", &go]);
    let ids = ready(&mut rx);
    let mut tx = rig.start(&["send-intruder", &ids[0], &ids[1], &ids[2]]);
    let sent = until_line(&mut tx, "sent ");
    let n = sent.split_whitespace().nth(1).expect("a count").to_string();
    rig.word("go", &format!("{} {n}\n", tx.pid()));
    ok("send-intruder", tx.finish(RUN), 25);
    ok("recv-guard", rx.finish(RUN), 5);
    rig.back_to_pages(base, Some(0), "after both programs");
}
