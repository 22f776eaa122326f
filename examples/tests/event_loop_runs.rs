//! The event-loop example handles every kind of event it promises, and refuses the option
//! values it cannot work with.

#[allow(dead_code)] // (each test binary uses a part of it)
mod common;

use common::{assert_kernel_removed, assert_refused, number_after, run};

const BIN: &str = env!("CARGO_BIN_EXE_event-loop");

#[test]
fn event_loop_handles_messages_user_pulses_unblock_disconnect_and_timer_pulses() {
    let r = run(BIN, &["--period-ms", "5"]);
    r.assert_success("event-loop --period-ms 5");
    let text = &r.stdout;
    for want in [
        "client 1: echo returned 0, \"hello\"",
        "server: user pulse, code 2 value 42",
        "server: _PULSE_CODE_UNBLOCK for rcvid",
        "MsgInfo flags 0x100",
        "client 2: slow request with a",
        "returned Err(EINTR)",
        "client 3: notified by pulse code 5 value 7",
        "1 user pulse(s), 1 unblock pulse(s), 3 disconnect pulse(s), 1 notification(s)",
    ] {
        assert!(text.contains(want), "output lacks {want:?}:\n{text}");
    }
    let ticks: u32 = text
        .split("messages, ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("summary has a tick count");
    assert!(
        ticks >= 3,
        "the periodic timer pulse drove the notification: {ticks} ticks\n{text}"
    );
}

#[test]
fn event_loop_refuses_a_zero_period_and_other_out_of_range_options() {
    for (args, option) in [
        (&["--period-ms", "0"][..], "--period-ms"),
        (&["--period-ms", "1001"], "--period-ms"),
        (&["--period-ms", "fast"], "--period-ms"),
        (&["--slow-ticks", "2"], "--slow-ticks"),
        (&["--slow-ticks", "101"], "--slow-ticks"),
        (&["--slow-ticks", "-3"], "--slow-ticks"),
    ] {
        assert_refused(BIN, args, option);
    }
}

/// What every run of the event loop prints, in-process or as separate programs.
const EVERY_EVENT: [&str; 8] = [
    "client 1: echo returned 0, \"hello\"",
    "server: user pulse, code 2 value 42",
    "server: _PULSE_CODE_UNBLOCK for rcvid",
    "MsgInfo flags 0x100",
    "client 2: slow request with a",
    "returned Err(EINTR)",
    "client 3: notified by pulse code 5 value 7",
    "1 user pulse(s), 1 unblock pulse(s), 3 disconnect pulse(s), 1 notification(s)",
];

/// The listing's title when client 3 waits for its notification while the slow request is
/// held; the other title is for a run whose clients did not overlap.
const BOTH: &str = "--- pidin: the server holds the slow request (its client REPLY-blocked); client 3 waits for its notification (RECEIVE-blocked)";
const HELD: &str = "--- pidin: the slow request's client timed out; the server still holds it (the client REPLY-blocked until answered)";

/// The `--pidin` listing in `text`, from its title to the pools' line, and whether it shows
/// client 3 waiting too.
fn listing(text: &str) -> (&str, bool) {
    let (at, both) = match (text.find(BOTH), text.find(HELD)) {
        (Some(at), None) => (at, true),
        (None, Some(at)) => (at, false),
        other => panic!("not exactly one listing ({other:?}) in\n{text}"),
    };
    let end = text[at..]
        .find(" interrupt attachments\n")
        .expect("the pools' line")
        + at
        + " interrupt attachments".len();
    (&text[at..end], both)
}

#[test]
fn event_loop_pidin_shows_the_held_slow_request_and_the_waiting_client() {
    let r = run(BIN, &["--pidin"]);
    r.assert_success("event-loop --pidin");
    let text = &r.stdout;
    for want in EVERY_EVENT {
        assert!(text.contains(want), "output lacks {want:?}:\n{text}");
    }
    let (l, both) = listing(text);
    for want in [
        // The slow client (pid 4) held.
        "     4    1    10    10  REPLY (pid 2 chid 1, received by tid 1)",
        // (Pulses may be queued on the server's channel: it is busy taking the picture.)
        " receiving, flags 0xa (_NTO_CHF_UNBLOCK|_NTO_CHF_DISCONNECT)\n",
        "channel pid 2 chid 1: ",
        "coid 0x40000001 of pid 4 -> pid 2 chid 1",
        // The server's periodic timer.
        "1 of 256 timers",
    ] {
        assert!(l.contains(want), "no {want:?} in\n{l}");
    }
    if both {
        // The notified client (pid 5) on its own channel.
        for want in [
            "     5    1    10    10  RECEIVE (chid 1)",
            "channel pid 5 chid 1: 0 queued, 1 receiving, flags 0x0",
        ] {
            assert!(l.contains(want), "no {want:?} in\n{l}");
        }
    }
}

#[test]
fn event_loop_with_processes_runs_the_server_and_each_client_as_a_program() {
    let r = run(BIN, &["--processes", "--pidin"]);
    r.assert_success("event-loop --processes");
    let text = &r.stdout;
    for want in EVERY_EVENT {
        assert!(text.contains(want), "output lacks {want:?}:\n{text}");
    }
    let spid = number_after(text, "server program pid ");
    let echo = number_after(text, "client 1 (echo): program pid ");
    let slow = number_after(text, "client 2 (slow request): program pid ");
    let notified = number_after(text, "client 3 (notification): program pid ");
    // Each client's messages carry its program's pid.
    for want in [
        format!("server: echo request from pid {echo}"),
        format!("from pid {slow}: holding it for 10 ticks"),
        format!("server: pid {notified} asks to be notified"),
    ] {
        assert!(text.contains(&want), "no {want:?} in\n{text}");
    }
    let (l, both) = listing(text);
    for want in [
        format!("{slow:>6}    1    10    10  REPLY (pid {spid} chid 1, received by tid 1)"),
        format!("channel pid {spid} chid 1: "),
        " receiving, flags 0xa (_NTO_CHF_UNBLOCK|_NTO_CHF_DISCONNECT)\n".to_string(),
        format!("coid 0x40000001 of pid {slow} -> pid {spid} chid 1"),
    ] {
        assert!(l.contains(&want), "no {want:?} in\n{l}");
    }
    if both {
        let want = format!("{notified:>6}    1    10    10  RECEIVE (chid 1)");
        assert!(l.contains(&want), "no {want:?} in\n{l}");
    }
    assert_kernel_removed("event-loop", r.pid);
}

#[test]
fn event_loop_refuses_a_bad_peer_and_a_role_without_its_launcher() {
    assert_refused(BIN, &["--role", "slow", "--peer", "1:x"], "--peer");
    assert_refused(BIN, &["--role", "watcher"], "--role");
    assert_refused(BIN, &["--processes", "--period-ms", "0"], "--period-ms");
    let r = run(BIN, &["--role", "echo", "--peer", "1:1"]);
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains("--role is for the programs of a --processes run"),
        "{}",
        r.stderr
    );
}
