//! `<sys/asyncmsg.h>` from C: the suite (put, putv, get, flush, callbacks, triggers, events,
//! errors) in one threaded program on its own kernel, compiled as C99 and as C++17; and a C
//! sender and a C receiver in two processes on a shared supervised kernel, every message
//! arriving once, in order, with the sender's pid, every callback coming back. Every program
//! runs bounded in time and is killed on every exit path; the supervisor's socket lives in a
//! temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_pass, expect_summary, Lang, Link, Running};
use common::{env, socket_in, wait_until, Sup, WITHIN};
use procs::TempDir;
use std::time::Duration;

#[test]
fn the_asyncmsg_suite_passes_in_c99_and_cxx17_shared_and_static() {
    let dir = TempDir::new("c-asyncmsg");
    for (lang, link) in [
        (Lang::C99, Link::Shared),
        (Lang::Cxx17, Link::Shared),
        (Lang::C99, Link::Static),
    ] {
        let exe = dir.join(&format!("asyncmsg-suite-{lang:?}-{link:?}"));
        build(&[c_dir().join("asyncmsg_suite.c")], &exe, lang, link);
        expect_pass(&exe, &[], &[], 60, Duration::from_secs(60));
    }
}

/// Messages the sender puts.
const N: u32 = 300;

#[test]
fn a_c_sender_and_a_c_receiver_in_two_processes_share_a_supervised_kernel() {
    let dir = TempDir::new("c-asyncmsg-procs");
    let receiver = dir.join("asyncmsg-receiver");
    let sender = dir.join("asyncmsg-sender");
    build(
        &[c_dir().join("asyncmsg_receiver.c")],
        &receiver,
        Lang::C99,
        Link::Shared,
    );
    build(
        &[c_dir().join("asyncmsg_sender.c")],
        &sender,
        Lang::C99,
        Link::Shared,
    );
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let env = env(&socket);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let ready = dir.join("ready");
    let n = N.to_string();
    let ready_arg = ready.display().to_string();
    let rx = Running::start(&receiver, &[&n, &ready_arg], &env);
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

    let tx = Running::start(&sender, &[rx_pid, chid, &n], &env);
    let tx_pid = tx.pid();
    expect_summary("sender", tx.finish(WITHIN), 5);
    let (status, out, err) = rx.finish(WITHIN);
    expect_summary("receiver", (status, out.clone(), err), 8);
    assert!(
        out.lines().any(|l| l == format!("from {tx_pid}")),
        "the messages came from the sender ({tx_pid}):\n{out}"
    );
}
