//! `pidin-sim --trace/--diagram` records a shared kernel's trace ring: the events of every
//! program of the kernel (a server, its clients, a client killed with SIGKILL and the
//! supervisor's cleanup after it) land in one timeline and one sequence chart, with each
//! message's flow from the client's program to the server's. A recorder killed with SIGKILL
//! stops costing anything once its lease runs out, and a new one may record (removing the
//! temporary file the killed one left beside the same output); bad options are
//! refused. The programs are this test binary re-run in roles, on a supervisor the test starts;
//! every process is bounded in time and killed on every exit path, and the socket and files
//! live in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::*;
use procs::{child_role, child_setup, tell_parent, TempDir};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use userlib::consts::*;
use userlib::qnx::*;

/// Round trips the client makes.
const ROUNDS: usize = 5;

/// Replies to every message with its bytes, except `hold`, which it keeps unanswered; counts
/// disconnect pulses; ends at `quit` (or after `WITHIN`).
fn server() {
    let chid = channel_create(_NTO_CHF_DISCONNECT).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let until = Instant::now() + WITHIN;
    let mut buf = [0u8; 64];
    while Instant::now() < until {
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
        let Ok(rcvid) = msg_receive(chid, &mut buf, None) else {
            continue;
        };
        if rcvid == 0 {
            continue; // a pulse
        }
        if buf.starts_with(b"hold") {
            continue;
        }
        if buf.starts_with(b"quit") {
            let _ = msg_reply(rcvid, 0, b"");
            return;
        }
        let _ = msg_reply(rcvid, 0, &buf[..8]);
    }
}

/// Connects to `arg` = "pid chid", makes `ROUNDS` round trips and sends one pulse, then says
/// "done"; with `hold` in `arg`, sends a message the server keeps instead and says "holding"
/// (it is then killed).
fn client(arg: &str) {
    let mut it = arg.split(' ');
    let pid: i32 = it.next().expect("pid").parse().expect("pid");
    let chid: i32 = it.next().expect("chid").parse().expect("chid");
    let hold = it.next() == Some("hold");
    let coid = connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0).expect("ConnectAttach");
    let mut reply = [0u8; 8];
    if hold {
        tell_parent("holding");
        timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(LONG_NS),
        )
        .expect("arm");
        let _ = msg_send(coid, b"hold", &mut reply);
        std::thread::sleep(WITHIN);
        return;
    }
    for i in 0..ROUNDS {
        timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(LONG_NS),
        )
        .expect("arm");
        msg_send(coid, format!("round {i}").as_bytes(), &mut reply).expect("MsgSend");
    }
    msg_send_pulse(coid, 10, 7, 42).expect("MsgSendPulse");
    tell_parent("done");
}

/// Sends `quit` to `arg` = "pid chid".
fn quitter(arg: &str) {
    let (pid, chid) = arg.split_once(' ').expect("pid chid");
    let coid = connect_attach(
        0,
        pid.parse().expect("pid"),
        chid.parse().expect("chid"),
        _NTO_SIDE_CHANNEL,
        0,
    )
    .expect("ConnectAttach");
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .expect("arm");
    let _ = msg_send(coid, b"quit", &mut []);
    tell_parent("done");
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
        "client" => client(&arg),
        "quitter" => quitter(&arg),
        other => panic!("unknown role {other}"),
    }
}

fn args_of(e: &Value) -> &Value {
    &e["args"]
}

#[test]
fn one_recording_holds_every_programs_events_and_the_cleanup_of_a_killed_one() {
    let dir = TempDir::new("pidin-trace");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let server = spawn("server", "", &socket);
    let target = ready(&server);
    let spid: i32 = target.split(' ').next().unwrap().parse().unwrap();
    let json = dir.join("run.json");
    let svg = dir.join("run.svg");
    let rec = Recorder::start(
        &socket,
        &[
            "--trace",
            json.to_str().unwrap(),
            "--diagram",
            svg.to_str().unwrap(),
            "--rows",
            "200",
        ],
    );
    wait_until("the recorder to turn the ring on", || {
        k.trace_ring().recording()
    });
    let client = spawn("client", &target, &socket);
    assert_eq!(client.line(WITHIN), "done");
    let cpid = client.pid();
    let _ = client.wait(WITHIN);
    let victim = spawn("client", &format!("{target} hold"), &socket);
    assert_eq!(victim.line(WITHIN), "holding");
    let vpid = victim.pid();
    wait_until("the victim to be REPLY-blocked", || {
        k.snapshot()
            .threads
            .iter()
            .any(|t| t.pid == vpid && matches!(t.state, kernel_sim::ThreadState::Reply { .. }))
    });
    victim.kill();
    wait_until("the supervisor to reap the victim", || {
        !k.snapshot().processes.iter().any(|p| p.pid == vpid)
    });
    let quit = spawn("quitter", &target, &socket);
    assert_eq!(quit.line(WITHIN), "done");
    let _ = server.wait(WITHIN);
    let (st, err) = rec.interrupt();
    assert!(st.success(), "pidin-sim: {st:?}\n{err}");
    assert!(err.contains("wrote"), "{err}");
    if std::env::var_os("KEEP_TRACE").is_some() {
        let _ = std::fs::copy(&json, "/tmp/pidin_trace.json");
        let _ = std::fs::copy(&svg, "/tmp/pidin_trace.svg");
        eprintln!("{err}");
    }
    assert!(
        !k.trace_ring().recording(),
        "the recorder turned the ring off"
    );

    let v: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("JSON");
    let evs = v["traceEvents"].as_array().expect("traceEvents");
    // Each program is a process of the trace, named by its Linux program.
    for pid in [spid, cpid, vpid] {
        assert!(
            evs.iter().any(|e| e["ph"] == "M"
                && e["name"] == "process_name"
                && e["pid"] == pid
                && args_of(e)["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(&format!("process {pid} ("))),),
            "no named process {pid}"
        );
    }
    // The client's round trips: MsgSend slices in its process, MsgReceive and MsgReply in the
    // server's, joined by exchange flows that start in the client and end in the server.
    let slices = |pid: i32, name: &str| {
        evs.iter()
            .filter(|e| e["ph"] == "B" && e["pid"] == pid && e["name"] == name)
            .count()
    };
    assert!(slices(cpid, "MsgSend") >= ROUNDS, "client's MsgSend slices");
    assert!(
        slices(spid, "MsgReply") >= ROUNDS,
        "server's MsgReply slices"
    );
    let flows = |ph: &str, pid: i32| {
        evs.iter()
            .filter(|e| e["ph"] == ph && e["cat"] == "exchange" && e["pid"] == pid)
            .count()
    };
    assert!(
        flows("s", cpid) >= ROUNDS,
        "exchange flows start at the client"
    );
    assert!(flows("f", spid) >= ROUNDS, "and end at the server");
    // The pulse, queued by the client and received by the server.
    assert!(evs
        .iter()
        .any(|e| e["ph"] == "s" && e["cat"] == "pulse" && e["pid"] == cpid));
    assert!(evs
        .iter()
        .any(|e| e["ph"] == "f" && e["cat"] == "pulse" && e["pid"] == spid));
    // The victim REPLY-blocked, then torn down by the supervisor: its teardown steps.
    assert!(evs
        .iter()
        .any(|e| e["pid"] == vpid && e["name"] == "REPLY" && e["ph"] == "B"));
    for step in ["channels", "connections", "done"] {
        assert!(
            evs.iter().any(|e| e["pid"] == vpid
                && e["ph"] == "i"
                && e["name"].as_str().is_some_and(|n| n.contains(step))),
            "no teardown step {step} of the killed client"
        );
    }
    // Timestamps grow, and the whole run fits in the recording's span.
    let ts: Vec<f64> = evs.iter().filter_map(|e| e["ts"].as_f64()).collect();
    assert!(ts.iter().all(|t| *t >= 0.0));

    // The chart: the client's messages go to the server's lifeline, the replies come back.
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg") || chart.starts_with("<?xml"));
    let arrows = |class: &str, from: i32, to: i32| {
        chart
            .split('<')
            .filter(|el| {
                el.contains(&format!(r#"class="arrow {class}""#))
                    && el.contains(&format!(r#"data-from="{from}.1" data-to="{to}.1""#))
            })
            .count()
    };
    assert!(
        arrows("send", cpid, spid) >= ROUNDS,
        "send arrows in\n{chart}"
    );
    assert!(
        arrows("reply", spid, cpid) >= ROUNDS,
        "reply arrows in\n{chart}"
    );
}

#[test]
fn a_killed_recorder_stops_costing_once_its_lease_runs_out_and_another_may_record() {
    let dir = TempDir::new("pidin-trace-kill");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let json = dir.join("a.json");
    let rec = Recorder::start(&socket, &["--trace", json.to_str().unwrap()]);
    wait_until("the recorder to turn the ring on", || {
        k.trace_ring().recording()
    });
    // A second recorder is refused while the first lives.
    let busy = dir.join("b.json");
    let (st, err) = Recorder::start(&socket, &["--trace", busy.to_str().unwrap()]).wait();
    assert_eq!(st.code(), Some(1), "{err}");
    assert!(err.contains("another recorder"), "{err}");
    // Killed without stopping: the flag stays until the lease (2 s) runs out and an event
    // comes (a program's call).
    drop(rec);
    assert!(k.trace_ring().recording());
    // It could not remove its hidden temporary file: the next recorder writing there does.
    let temps = || {
        std::fs::read_dir(dir.join("."))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".a.json.tmp-"))
            .count()
    };
    assert_eq!(temps(), 1, "the killed recorder's temporary file");
    std::thread::sleep(kernel_sim::trace::LEASE + Duration::from_millis(200));
    let server = spawn("server", "", &socket);
    let target = ready(&server);
    wait_until(
        "the first event past the lease to turn the ring off",
        || !k.trace_ring().recording(),
    );
    // A new recorder starts, on the same file, and sees the next program's calls.
    let json2 = json.clone();
    let rec2 = Recorder::start(
        &socket,
        &["--trace", json2.to_str().unwrap(), "--for", "30"],
    );
    wait_until("the new recorder to turn the ring on", || {
        k.trace_ring().recording()
    });
    let quit = spawn("quitter", &target, &socket);
    assert_eq!(quit.line(WITHIN), "done");
    let _ = server.wait(WITHIN);
    let (st, err) = rec2.interrupt();
    assert!(st.success(), "{err}");
    assert_eq!(temps(), 0, "temporary files left beside the trace");
    let v: Value = serde_json::from_slice(&std::fs::read(&json2).unwrap()).expect("JSON");
    let spid: i32 = target.split(' ').next().unwrap().parse().unwrap();
    assert!(v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["pid"] == spid && e["name"] == "MsgReply"));
}

#[test]
fn recording_options_are_checked() {
    let dir = TempDir::new("pidin-trace-opts");
    let socket = socket_in(&dir);
    let j = dir.join("x.json");
    let j = j.to_str().unwrap();
    for (args, code) in [
        (&["--for", "3"][..], 2),
        (&["--trace", j, "--watch"], 2),
        (&["--trace", j, "--for", "0"], 2),
        (&["--trace", j, "--for", "-1"], 2),
        (&["--trace", j, "--for", "soon"], 2),
        (&["--diagram", j, "--rows", "0"], 2),
        (&["--trace", j, "--diagram", j], 2),
    ] {
        let st = Command::new(PIDIN)
            .arg("--kernel")
            .arg(&socket)
            .args(args)
            .stderr(Stdio::null())
            .status()
            .expect("running pidin-sim");
        assert_eq!(st.code(), Some(code), "{args:?}");
    }
    // A file that cannot be created: refused before recording (with a kernel running).
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let missing = dir.join("no-such-dir").join("t.json");
    let out = Command::new(PIDIN)
        .arg("--kernel")
        .arg(&socket)
        .arg("--trace")
        .arg(&missing)
        .stderr(Stdio::piped())
        .output()
        .expect("running pidin-sim");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create"));
    assert!(!k.trace_ring().recording());
    // --for ends a recording by itself, with an empty but valid timeline.
    let out = Command::new(PIDIN)
        .arg("--kernel")
        .arg(&socket)
        .args(["--trace", j, "--for", "0.2"])
        .stderr(Stdio::piped())
        .output()
        .expect("running pidin-sim");
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&std::fs::read(j).unwrap()).expect("JSON");
    assert!(v["traceEvents"].is_array());
}

/// SIGHUP (the terminal that started it closed) ends a recording as Ctrl-C does: the files
/// are written and the ring is let go.
#[test]
fn a_hangup_ends_the_recording_with_its_files_written() {
    let dir = TempDir::new("pidin-trace-hup");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let json = dir.join("h.json");
    let rec = Recorder::start(&socket, &["--trace", json.to_str().unwrap()]);
    wait_until("the recorder to turn the ring on", || {
        k.trace_ring().recording()
    });
    let (st, err) = rec.end_with(nix::sys::signal::Signal::SIGHUP);
    assert!(st.success(), "{st:?}: {err}");
    assert!(!k.trace_ring().recording());
    let v: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("JSON");
    assert!(v["traceEvents"].is_array());
}
