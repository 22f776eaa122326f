//! Review of `pidin-sim --trace/--diagram`: its output files when a recording is refused or
//! names one file twice, a recorder stopped (SIGSTOP) past its lease, and the end of the
//! kernel's supervisor while it records. The programs are this test binary re-run in roles,
//! on a supervisor the test starts; every process is bounded in time and killed on every exit
//! path, and the socket and files live in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::*;
use procs::{child_role, child_setup, tell_parent, TempDir};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use userlib::qnx::*;

/// Makes a few kernel calls (events for the ring), says "done" and ends.
fn caller() {
    let chid = channel_create(0).expect("ChannelCreate");
    channel_destroy(chid).expect("ChannelDestroy");
    tell_parent("done");
}

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, _arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "caller" => caller(),
        other => panic!("unknown role {other}"),
    }
}

fn run(socket: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(PIDIN)
        .arg("--kernel")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("running pidin-sim");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--trace x.json --diagram sub/../x.json` names one file twice, as `--trace x --diagram x`
/// does: refused (exit 2). Its names differ and it was not there yet, so it was taken as two
/// files, and both were written into the one (the chart over the timeline).
#[test]
fn two_names_of_one_file_are_refused() {
    let dir = TempDir::new("pidin-review-same");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let a = dir.join("x.json");
    std::fs::create_dir(dir.join("sub")).unwrap();
    let dotted = dir.join("sub").join("..").join("x.json");
    let (code, err) = run(
        &socket,
        &[
            "--trace",
            a.to_str().unwrap(),
            "--diagram",
            dotted.to_str().unwrap(),
            "--for",
            "0.2",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("same file"), "{err}");
    assert!(!a.exists(), "the file it made for the recording is gone");
    // A link to a file that is there.
    std::fs::write(&a, b"kept").unwrap();
    let link = dir.join("link.svg");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let (code, err) = run(
        &socket,
        &[
            "--trace",
            a.to_str().unwrap(),
            "--diagram",
            link.to_str().unwrap(),
            "--for",
            "0.2",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(std::fs::read(&a).unwrap(), b"kept");
    assert!(!k.trace_ring().recording());
}

/// A recording that is refused (another recorder holds the ring; the other output's path is
/// bad) exits 1 leaving the files as they were: one that was there keeps its contents (it was
/// emptied, then written as an empty timeline), one that was not is not made.
#[test]
fn a_refused_recording_leaves_the_files_as_they_were() {
    let dir = TempDir::new("pidin-review-refused");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let first = dir.join("first.json");
    let rec = Recorder::start(&socket, &["--trace", first.to_str().unwrap()]);
    wait_until("the first recorder to turn the ring on", || {
        k.trace_ring().recording()
    });
    let precious = dir.join("precious.json");
    std::fs::write(&precious, b"a recording of yesterday").unwrap();
    let fresh = dir.join("fresh.svg");
    let (code, err) = run(
        &socket,
        &[
            "--trace",
            precious.to_str().unwrap(),
            "--diagram",
            fresh.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("another recorder"), "{err}");
    assert_eq!(
        std::fs::read(&precious).unwrap(),
        b"a recording of yesterday"
    );
    assert!(!fresh.exists(), "{} was made", fresh.display());
    let (st, err) = rec.end_with(nix::sys::signal::Signal::SIGINT);
    assert!(st.success(), "{err}");
    // The other path bad: refused before recording, the first file as it was.
    let bad = dir.join("no-such-dir").join("x.svg");
    let (code, err) = run(
        &socket,
        &[
            "--trace",
            precious.to_str().unwrap(),
            "--diagram",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot create"), "{err}");
    assert_eq!(
        std::fs::read(&precious).unwrap(),
        b"a recording of yesterday"
    );
    assert!(!k.trace_ring().recording());
}

/// A recorder stopped (SIGSTOP, Ctrl-Z) past its lease: the first event after the lease turns
/// the ring off; when it runs again it turns it on again, and says that its recording has a
/// hole (it said nothing, and reported no event lost). If another recorder took the ring over
/// meanwhile and has stopped since, it leaves the ring off (it turned it on again with no
/// holder, and it stayed on after its end until the lease ran out).
#[test]
fn a_recorder_stopped_past_its_lease_says_so_and_leaves_another_ones_ring_alone() {
    use nix::sys::signal::Signal;
    let dir = TempDir::new("pidin-review-stopped");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let stop_past_lease = |rec: &Recorder| {
        rec.signal(Signal::SIGSTOP);
        std::thread::sleep(kernel_sim::trace::LEASE + Duration::from_millis(300));
        let c = spawn("caller", "", &socket);
        assert_eq!(c.line(WITHIN), "done");
        let _ = c.wait(WITHIN);
        wait_until("an event past the lease to turn the ring off", || {
            !k.trace_ring().recording()
        });
    };

    // Paused, then on again.
    let a = dir.join("a.json");
    let rec = Recorder::start(&socket, &["--trace", a.to_str().unwrap()]);
    wait_until("the recorder to turn the ring on", || {
        k.trace_ring().recording()
    });
    stop_past_lease(&rec);
    rec.signal(Signal::SIGCONT);
    wait_until("the recorder to turn the ring on again", || {
        k.trace_ring().recording()
    });
    let (st, err) = rec.end_with(Signal::SIGTERM);
    assert!(st.success(), "{err}");
    assert!(err.contains("paused 1 time"), "{err}");
    assert!(!k.trace_ring().recording());

    // Taken over meanwhile by a recorder that has ended since.
    let b = dir.join("b.json");
    let rec = Recorder::start(&socket, &["--trace", b.to_str().unwrap()]);
    wait_until("the recorder to turn the ring on", || {
        k.trace_ring().recording()
    });
    stop_past_lease(&rec);
    let c = dir.join("c.json");
    let (code, err) = run(&socket, &["--trace", c.to_str().unwrap(), "--for", "0.3"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!k.trace_ring().recording());
    rec.signal(Signal::SIGCONT);
    std::thread::sleep(Duration::from_millis(200)); // a few of its polls
    assert!(
        !k.trace_ring().recording(),
        "the stopped recorder turned the ring on again"
    );
    let (st, err) = rec.end_with(Signal::SIGINT);
    assert!(st.success(), "{err}");
    assert!(err.contains("another recorder took"), "{err}");
    assert!(
        !k.trace_ring().recording(),
        "the ring is on with no recorder"
    );
}

/// The supervisor ending while pidin-sim records is no reason to stop: the kernel lives on in
/// its programs (pidin-sim's mapping among them); SIGTERM ends the recording and the files are
/// written. (A guard: nothing to fix.)
#[test]
fn the_supervisor_ending_leaves_the_recording_to_end_by_sigterm() {
    let dir = TempDir::new("pidin-review-sup");
    let socket = socket_in(&dir);
    let mut sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let json = dir.join("t.json");
    let svg = dir.join("t.svg");
    let rec = Recorder::start(
        &socket,
        &[
            "--trace",
            json.to_str().unwrap(),
            "--diagram",
            svg.to_str().unwrap(),
        ],
    );
    wait_until("the recorder to turn the ring on", || {
        k.trace_ring().recording()
    });
    let c = spawn("caller", "", &socket);
    assert_eq!(c.line(WITHIN), "done");
    let _ = c.wait(WITHIN);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let until = Instant::now() + WITHIN;
    while sup.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < until, "the supervisor did not end");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    let (st, err) = rec.end_with(nix::sys::signal::Signal::SIGTERM);
    assert!(st.success(), "{err}");
    let v: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("JSON");
    assert!(v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "ChannelCreate"));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("</svg>"));
    assert!(!k.trace_ring().recording());
}
