//! The event-loop example handles every kind of event it promises, and refuses the option
//! values it cannot work with.

mod common;

use common::{assert_refused, run};

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
