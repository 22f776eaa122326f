//! The README's demo command works and shows what it promises.

use std::process::Command;

#[test]
fn srr_demo_shows_the_three_blocked_states_and_counts_kernel_entries() {
    let out = Command::new(env!("CARGO_BIN_EXE_srr-demo"))
        .args(["--rounds", "200", "--clients", "3"])
        .output()
        .expect("demo runs");
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "RECEIVE (chid 1)",
        "REPLY (pid 2 chid 1, received by tid 1)",
        "SEND (pid 2 chid 1)",
        "received \"urgent\" from tid 3 at priority 15",
        "kernel entries",
    ] {
        assert!(text.contains(want), "demo output lacks {want:?}:\n{text}");
    }
    // 3 clients x 200 round trips + 3 closing messages.
    assert!(
        text.contains("client pid 3: 603 sent, server pid 2: 603 received, 603 replies"),
        "counters do not add up:\n{text}"
    );
}
