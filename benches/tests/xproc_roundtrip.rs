//! `xproc_roundtrip` run tiny: every model completes its round trips between two real
//! processes (each reply is checked by the client; a wrong one fails the run), the table and
//! the targets are printed, and bad options are refused. Every run is bounded in time and
//! killed if it outlasts its bound. Not a speed test: nothing here bounds a time or a ratio.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_xproc_roundtrip");

/// A quick run takes under a second here; this bound only catches a hang.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Runs the program with `args`, killing it and failing the test if it has not exited within
/// [`RUN_LIMIT`].
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running xproc_roundtrip");
    // Drain stdout on a thread, so that a full pipe cannot stall the program.
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for xproc_roundtrip") {
            break s;
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("xproc_roundtrip {args:?} still running after {RUN_LIMIT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: reader.join().expect("the reader"),
        stderr: Vec::new(),
    }
}

#[test]
fn a_quick_run_measures_every_model_on_every_placement_between_two_processes() {
    for size in ["64", "4096"] {
        let out = run(&["--quick", "--size", size]);
        assert!(out.status.success(), "size {size}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        for model in ["SRR", "futex", "spin-futex", "pipe"] {
            let rows = text
                .lines()
                .filter(|l| l.split_whitespace().next() == Some(model))
                .count();
            assert!(rows >= 2, "size {size}: {model} rows: {text}");
        }
        assert!(
            text.contains("SRR round trip between processes <= 1.2x the futex ping-pong's"),
            "{text}"
        );
    }
}

#[test]
fn bad_options_are_refused_with_status_2() {
    for args in [
        &["--runs", "0"][..],
        &["--runs", "101"],
        &["--iters", "x"],
        &["--size", "7"],
        &["--size", "65537"],
        &["--size"],
        &["--bogus"],
        &["--xproc-peer", "nonsense", "1", "-"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("µs/rt"),
            "{args:?} measured"
        );
    }
}
