//! pidin-sim shows asyncmsg on a running shared kernel: a consumer program's asyncmsg channel
//! with its buffers and its ready list, a producer program's connection to it with its send
//! queue (messages pending: in flight and untriggered; unreleased), its batches and the messages taken, and the
//! processes' asyncmsg counters. The programs are this test binary re-run in roles, on a
//! supervisor the test starts; every process is bounded in time and killed on every exit path,
//! and the socket lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::*;
use procs::{child_role, child_setup, tell_parent, TempDir};
use std::process::{Command, Stdio};
use std::time::Duration;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::qnx::getpid;

/// The consumer's channel: receives of at most 4 messages of 64 bytes.
const BUFSZ: usize = 64;
const MAX_GET: u32 = 4;
/// The producer's count trigger, and the messages it puts: one trigger, then two more puts
/// that stay behind it, untriggered.
const TRIGGER: u32 = 3;
const PUTS: u32 = 5;

/// Makes the asyncmsg channel, tells its pid and chid, and takes nothing until killed (or
/// `WITHIN` has passed).
fn consumer() {
    let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, MAX_GET, None, None).expect("channel");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    std::thread::sleep(WITHIN);
}

/// Attaches to `arg` = "pid chid" with a count trigger of `TRIGGER` and no time trigger, puts
/// `PUTS` messages, tells its pid and coid, and stays until killed (or `WITHIN` has passed).
fn producer(arg: &str) {
    let (pid, chid) = arg.split_once(' ').expect("pid chid");
    let (pid, chid) = (pid.parse().expect("pid"), chid.parse().expect("chid"));
    let attr = AsyncConnAttr {
        buffer_size: BUFSZ,
        max_num_buffer: 8,
        trigger_num_msg: TRIGGER,
        trigger_time: Duration::ZERO,
        ..AsyncConnAttr::default()
    };
    let coid = asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &attr)
        .expect("asyncmsg_connect_attach");
    for i in 0..PUTS {
        asyncmsg_put(coid, format!("reading {i}").into_bytes(), i, None).expect("put");
    }
    tell_parent(&format!("put {} {coid}", getpid().expect("getpid")));
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
        "consumer" => consumer(),
        "producer" => producer(&arg),
        other => panic!("unknown role {other}"),
    }
}

/// The words of `line` after `word`, which must come first.
fn after<'a>(line: &'a str, word: &str) -> Vec<&'a str> {
    let rest = line
        .strip_prefix(word)
        .unwrap_or_else(|| panic!("{line:?} does not start with {word:?}"));
    rest.split_whitespace().collect()
}

#[test]
fn pidin_shows_an_asyncmsg_channels_ready_list_and_a_producers_send_queue() {
    let dir = TempDir::new("pidin-async");
    let socket = dir.join("kernel.sock");
    let _sup = Sup::start(&socket, &["--stay"]);
    let consumer = spawn("consumer", "", &socket);
    let ready = consumer.line(WITHIN);
    let ids = after(&ready, "ready ");
    let (cpid, chid) = (ids[0], ids[1]);
    let producer = spawn("producer", &format!("{cpid} {chid}"), &socket);
    let put = producer.line(WITHIN);
    let ids = after(&put, "put ");
    let (ppid, coid) = (ids[0], ids[1].parse::<i32>().expect("coid"));

    let out = Command::new(PIDIN)
        .arg("--kernel")
        .arg(&socket)
        .stderr(Stdio::inherit())
        .output()
        .expect("running pidin-sim");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        format!("channel pid {cpid} chid {chid}: 0 queued, 0 receiving, flags 0x400 (_NTO_CHF_ASYNC)"),
        // One trigger put the connection on the ready list; nobody has taken anything.
        format!("  asyncmsg: {MAX_GET} buffers of {BUFSZ} bytes per receive; ready list: pid {ppid} coid {coid:#x}\n"),
        format!("coid {coid:#x} of pid {ppid} -> pid {cpid} chid {chid} (scoid "),
        // The trigger handed the first TRIGGER to the kernel; the last two wait for the next.
        format!("  asyncmsg: {PUTS} pending ({TRIGGER} in flight, {} untriggered), {PUTS} unreleased, 1 batches, 0 taken, on the ready list\n", PUTS - TRIGGER),
    ] {
        assert!(text.contains(&want), "no {want:?} in\n{text}");
    }
    // The producer's row: one trigger, nothing taken yet; the consumer's: nothing received.
    let row = |pid: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(pid))
            .unwrap_or_else(|| panic!("no row for pid {pid} in\n{text}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert_eq!(row(ppid)[6..9], ["1", "0", "0"], "{text}");
    assert_eq!(row(cpid)[6..9], ["0", "0", "0"], "{text}");
    // The last column: each program's name (this test binary's file name, cut to 23 bytes).
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_name().unwrap().to_str().unwrap();
    assert_eq!(row(ppid)[9], &name[..name.len().min(23)], "{text}");
    // The producer's asyncmsg library thread is marked as the library's; its own thread not.
    let threads: Vec<&str> = text
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(ppid) && l.contains("  "))
        .filter(|l| {
            [
                "RUNNING",
                "READY",
                "RECEIVE",
                "SEND",
                "REPLY",
                "CONDVAR",
                "NANOSLEEP",
            ]
            .iter()
            .any(|s| l.contains(s))
        })
        .collect();
    assert!(
        threads.iter().any(|l| l.ends_with("(library thread)")),
        "no library thread of pid {ppid} in\n{text}"
    );
    assert!(
        threads.iter().any(|l| !l.ends_with("(library thread)")),
        "the producer's own thread is not the library's:\n{text}"
    );
    drop(producer);
    drop(consumer);
}
