//! `--trace`, `--diagram` and `--step` on srr-demo and event-loop: the files are written and
//! hold the run (a timeline Perfetto opens, a sequence chart), stepping shows the calls and
//! whom they woke and runs on at `q`; with `--processes`, `--trace` and `--diagram` record every
//! program of the run (the shared kernel's trace ring) and `--step` is refused.

#[allow(dead_code)] // (each test binary uses a part of it)
mod common;

use common::run;
use std::io::Write;
use std::process::{Command, Stdio};

const SRR: &str = env!("CARGO_BIN_EXE_srr-demo");
const EVENT_LOOP: &str = env!("CARGO_BIN_EXE_event-loop");
const SENSORS: &str = env!("CARGO_BIN_EXE_sensors");

/// A directory of this test's, removed when dropped.
struct Dir(std::path::PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("qnxsim-observe-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("a temporary directory");
        Dir(d)
    }
    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The timeline's events, checked to be Chrome trace-event JSON.
fn trace_events(path: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("the timeline file");
    let v: serde_json::Value = serde_json::from_str(&text).expect("the timeline is JSON");
    v["traceEvents"]
        .as_array()
        .expect("a traceEvents array")
        .clone()
}

#[test]
fn srr_demo_writes_a_timeline_and_a_sequence_chart_of_its_run() {
    let d = Dir::new("srr");
    let (trace, chart) = (d.file("srr.json"), d.file("srr.svg"));
    let r = run(
        SRR,
        &[
            "--clients",
            "2",
            "--rounds",
            "2",
            "--trace",
            &trace,
            "--diagram",
            &chart,
        ],
    );
    r.assert_success("srr-demo --trace --diagram");
    assert!(r.stderr.contains("timeline: "), "{}", r.stderr);
    assert!(
        !r.stdout.contains("timeline: "),
        "stdout is the run's: {}",
        r.stdout
    );
    let events = trace_events(&trace);
    let named = |n: &str| {
        events
            .iter()
            .any(|e| e["ph"] == "M" && e["args"]["name"].as_str().is_some_and(|s| s.contains(n)))
    };
    assert!(named("process 2 (server)") && named("process 3 (clients)"));
    // Kernel calls as slices, and the flows of the messages: sends, receives and replies.
    let slices = |name: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == "B" && e["name"] == name)
            .count()
    };
    assert!(
        slices("MsgSend") >= 4 && slices("MsgReceive") >= 4,
        "{events:?}"
    );
    for ph in ["s", "t", "f"] {
        assert!(
            events.iter().any(|e| e["ph"] == ph),
            "no flow event {ph:?} in the timeline"
        );
    }
    let svg = std::fs::read_to_string(&chart).expect("the chart file");
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{svg}");
    for want in [
        "pid 2 / tid 1",
        "pid 3 / tid 1",
        "MsgSend",
        "MsgReply",
        "REPLY-blocked",
    ] {
        assert!(svg.contains(want), "the chart lacks {want:?}");
    }
}

#[test]
fn event_loop_writes_a_timeline_with_its_pulses_and_timeouts() {
    let d = Dir::new("event-loop");
    let trace = d.file("loop.json");
    let r = run(EVENT_LOOP, &["--trace", &trace]);
    r.assert_success("event-loop --trace");
    let events = trace_events(&trace);
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "M" && e["args"]["name"] == "process 2 (server)"),
        "the server's process is named"
    );
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "B" && e["name"] == "MsgReceive"),
        "the server's receives are there"
    );
}

#[test]
fn sensors_draws_its_asyncmsg_batches() {
    let d = Dir::new("sensors");
    let chart = d.file("sensors.svg");
    let r = run(
        SENSORS,
        &[
            "--sensors",
            "2",
            "--rate",
            "200",
            "--duration-ms",
            "60",
            "--diagram",
            &chart,
        ],
    );
    r.assert_success("sensors --diagram");
    let svg = std::fs::read_to_string(&chart).expect("the chart file");
    assert!(
        svg.contains("asyncmsg batch: "),
        "no batch arrow in the chart:\n{svg}"
    );
    assert!(!svg.contains("MsgSend"), "asyncmsg sends no messages");
}

#[test]
fn srr_demo_steps_through_its_calls_and_runs_on_at_q() {
    let mut child = Command::new(SRR)
        .args(["--clients", "1", "--rounds", "1", "--step"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting srr-demo --step");
    // Three steps, then run to the end.
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"\n\n\nq\n")
        .expect("writing the steps");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("waiting").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("srr-demo --step did not finish after q");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("its output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("[Enter: next step"),
        "no step prompt:\n{text}"
    );
    assert!(
        text.contains("before:") && text.contains("after:"),
        "{text}"
    );
    // The run still completed after the student pressed q.
    assert!(text.contains("client pid 3: 1 sent"), "{text}");
}

#[test]
fn rust_log_prints_the_kernel_events_it_selects() {
    let out = Command::new(SRR)
        .args(["--clients", "1", "--rounds", "1"])
        .env("RUST_LOG", "qnx::msg=trace")
        .output()
        .expect("running srr-demo");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [r#"what="send""#, r#"what="receive""#, r#"what="reply""#] {
        assert!(err.contains(want), "no {want} in\n{err}");
    }
    assert!(
        !err.contains("qnx::call"),
        "only qnx::msg was asked for:\n{err}"
    );
    assert!(
        !err.contains('\x1b'),
        "no colours when stderr is not a terminal"
    );
}

#[test]
fn step_is_refused_with_processes() {
    for bin in [SRR, EVENT_LOOP, SENSORS] {
        let r = run(bin, &["--processes", "--step"]);
        assert_eq!(r.status.code(), Some(2), "{bin}: {}", r.stderr);
        assert!(r.stderr.contains("not with --processes"), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
}

/// With `--processes`, `--trace` and `--diagram` record the shared kernel's trace ring: one
/// timeline holds every program's events (each a process of the trace, named after its part),
/// with messages flowing from one program's process to another's; the chart draws them.
#[test]
fn trace_and_diagram_record_every_program_of_a_processes_run() {
    let d = Dir::new("programs");
    for (bin, extra, from, to) in [
        (
            SRR,
            &["--clients", "2", "--rounds", "20"][..],
            "clients",
            "server",
        ),
        (EVENT_LOOP, &[][..], "client 1 (echo)", "server"),
        (
            SENSORS,
            &[
                "--sensors",
                "2",
                "--rate",
                "500",
                "--duration-ms",
                "200",
                "--model",
                "srr",
            ][..],
            "producer",
            "consumer",
        ),
    ] {
        let name = std::path::Path::new(bin)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let (trace, chart) = (
            d.file(&format!("{name}.json")),
            d.file(&format!("{name}.svg")),
        );
        let mut args = vec!["--processes", "--trace", &trace, "--diagram", &chart];
        args.extend_from_slice(extra);
        let r = run(bin, &args);
        r.assert_success(&format!("{name} --processes --trace --diagram"));
        assert!(r.stderr.contains("timeline: "), "{}", r.stderr);
        let events = trace_events(&trace);
        // The pid of the process whose name contains `part`.
        let pid_of = |part: &str| {
            events
                .iter()
                .find(|e| {
                    e["name"] == "process_name"
                        && e["args"]["name"].as_str().is_some_and(|s| s.contains(part))
                })
                .and_then(|e| e["pid"].as_i64())
                .unwrap_or_else(|| panic!("{name}: no process named {part:?}"))
        };
        let (f, t) = (pid_of(from), pid_of(to));
        assert_ne!(f, t, "{name}: two programs");
        assert_ne!(f, i64::from(std::process::id() as i32));
        // Messages from the one program to the other: flows that start in one and end in the
        // other, by their ids.
        let ids = |ph: &str, pid: i64| -> std::collections::BTreeSet<String> {
            events
                .iter()
                .filter(|e| e["ph"] == ph && e["cat"] == "exchange" && e["pid"] == pid)
                .filter_map(|e| e["id"].as_str().map(String::from))
                .collect()
        };
        let crossing = ids("s", f).intersection(&ids("f", t)).count();
        assert!(crossing >= 1, "{name}: no message from {from} to {to}");
        let svg = std::fs::read_to_string(&chart).expect("the chart");
        assert!(
            svg.contains(&format!(r#"data-from="{f}."#)),
            "{name}: {svg}"
        );
        assert!(svg.contains(&format!(r#"data-to="{t}."#)), "{name}");
    }
}

/// A `--trace` or `--diagram` path that cannot be written is refused before anything runs
/// (nothing on stdout: no banner, no run), with exit status 2 and `PROG: --OPTION PATH: why`:
/// a missing directory, a directory, a special file, a link that leads nowhere, both options
/// naming one file; with `--processes` too (and no kernel is made then). Each example.
#[test]
fn unwritable_trace_and_diagram_paths_are_refused_before_anything_runs() {
    let d = Dir::new("badpaths");
    let fifo = d.file("fifo");
    nix::unistd::mkfifo(fifo.as_str(), nix::sys::stat::Mode::S_IRWXU).expect("a FIFO");
    let dangling = d.file("dangling.json");
    std::os::unix::fs::symlink(d.file("nowhere/x.json"), &dangling).expect("a link");
    let missing = d.file("no/such/dir/t.json");
    let dir = d.0.display().to_string();
    let same = d.file("same.json");
    let same_too = format!("{dir}/./same.json");
    for (prog, bin) in [
        ("srr-demo", SRR),
        ("event-loop", EVENT_LOOP),
        ("sensors", SENSORS),
    ] {
        for (args, want) in [
            (
                vec!["--trace", missing.as_str()],
                format!(
                    "{prog}: --trace {missing}: the directory {dir}/no/such/dir does not exist"
                ),
            ),
            (
                vec!["--trace", dir.as_str()],
                format!("{prog}: --trace {dir}: is a directory"),
            ),
            (
                vec!["--diagram", "/dev/null"],
                format!("{prog}: --diagram /dev/null: is a character device (a special file)"),
            ),
            (
                vec!["--diagram", fifo.as_str()],
                format!("{prog}: --diagram {fifo}: is a FIFO (a special file)"),
            ),
            (
                vec!["--trace", dangling.as_str()],
                format!("{prog}: --trace {dangling}: is a symbolic link to "),
            ),
            (
                vec!["--trace", same.as_str(), "--diagram", same_too.as_str()],
                format!("{prog}: --diagram {same_too}: names the same file as --trace"),
            ),
            (
                vec!["--processes", "--trace", dir.as_str()],
                format!("{prog}: --trace {dir}: is a directory"),
            ),
        ] {
            let r = run(bin, &args);
            assert_eq!(r.status.code(), Some(2), "{prog} {args:?}: {r:?}");
            assert!(r.stdout.is_empty(), "{prog} {args:?} ran:\n{}", r.stdout);
            assert!(
                r.stderr.starts_with(&want),
                "{prog} {args:?}: expected {want:?}, got:\n{}",
                r.stderr
            );
            assert!(
                !std::path::Path::new(&same).exists(),
                "{prog} {args:?} wrote {same}"
            );
            for tag in ["srr-demo", "event-loop", "sensors"] {
                common::assert_kernel_removed(tag, r.pid);
            }
        }
    }
}

/// A path that can be written, in the current directory or elsewhere, new or existing, is
/// accepted (the check refuses only what cannot be written).
#[test]
fn writable_trace_paths_are_accepted() {
    let d = Dir::new("goodpaths");
    let existing = d.file("old.json");
    std::fs::write(&existing, b"old").expect("a file");
    let r = run(
        SRR,
        &["--clients", "1", "--rounds", "1", "--trace", &existing],
    );
    r.assert_success("srr-demo --trace over an existing file");
    assert!(trace_events(&existing).len() > 1);
}
