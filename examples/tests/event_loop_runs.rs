//! The event-loop example handles every kind of event it promises.

use std::process::Command;

#[test]
fn event_loop_handles_messages_user_pulses_unblock_disconnect_and_timer_pulses() {
    let out = Command::new(env!("CARGO_BIN_EXE_event-loop"))
        .args(["--period-ms", "5"])
        .output()
        .expect("example runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "example failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
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
