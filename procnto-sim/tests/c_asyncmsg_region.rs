//! `<sys/asyncmsg.h>` from C between two programs on a shared supervised kernel:
//! `asyncmsg_malloc` gives memory of the kernel's region (the process's send buffers), and
//! `asyncmsg_put` hands such a buffer to the kernel uncopied, as on QNX (bytes rewritten after
//! the put, before a receiver takes the message, are what it gets; the callback brings the same
//! pointer back), while any other buffer is copied at the put; past the send buffers' budget
//! `asyncmsg_malloc` falls back to `malloc` and puts still arrive intact; `asyncmsg_free` frees
//! both kinds, the received headers, and NULL. The scenario is `capi/tests/c/asyncmsg_region.c`
//! (one program, a sender and a receiver role), compiled as C99 and as C++17. Every program
//! runs bounded in time and is killed on every exit path; the supervisor's socket lives in a
//! temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_summary, Lang, Link, Running};
use common::{env, wait_until, Sup, WITHIN};
use procs::TempDir;

/// Runs the receiver and the sender role of `exe` on a new supervised kernel and checks both
/// passed every check.
fn run_pair(dir: &TempDir, exe: &std::path::Path, tag: &str) {
    let socket = dir.join(&format!("{tag}.sock"));
    let _sup = Sup::start(&socket, &[]);
    let env = env(&socket);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let ready = dir.join(&format!("{tag}.ready"));
    let ready_arg = ready.display().to_string();
    let rx = Running::start(exe, &["receive", &ready_arg], &env);
    wait_until("the receiver's ready file", || {
        std::fs::read_to_string(&ready).is_ok_and(|s| s.ends_with('\n'))
    });
    let line = std::fs::read_to_string(&ready).expect("the ready file");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert!(
        words.len() == 3 && words[0] == "ready",
        "unexpected ready line {line:?}"
    );
    let (rx_pid, chid) = (words[1], words[2]);
    assert_eq!(
        rx_pid,
        rx.pid().to_string(),
        "the receiver's pid is its Linux pid"
    );

    let tx = Running::start(exe, &["send", rx_pid, chid], &env);
    let tx_pid = tx.pid();
    // (The sender makes 39 checks; the receiver 52 or more, one per batch among them.)
    expect_summary(&format!("{tag} sender"), tx.finish(WITHIN), 39);
    let (status, out, err) = rx.finish(WITHIN);
    expect_summary(&format!("{tag} receiver"), (status, out.clone(), err), 52);
    assert!(
        out.lines().any(|l| l == format!("from {tx_pid}")),
        "{tag}: the messages came from the sender ({tx_pid}):\n{out}"
    );
}

/// The sender's phases (a) to (e) and the receiver's checks of every message are described at
/// the top of `asyncmsg_region.c`.
#[test]
fn c_asyncmsg_malloc_buffers_are_put_uncopied_others_copied_malloc_past_the_budget() {
    let dir = TempDir::new("c-asyncmsg-region");
    for lang in [Lang::C99, Lang::Cxx17] {
        let exe = dir.join(&format!("asyncmsg-region-{lang:?}"));
        build(
            &[c_dir().join("asyncmsg_region.c")],
            &exe,
            lang,
            Link::Shared,
        );
        run_pair(&dir, &exe, &format!("{lang:?}"));
    }
}
