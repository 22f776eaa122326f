//! The options of `srr_roundtrip` and `async_throughput`, the real binaries: every number out
//! of its documented range (zero, negative, too large, not a number, missing) is refused with
//! a message, the usage on stderr and exit status 2, before anything is measured or printed on
//! stdout; `--help` prints the usage on stdout with status 0. Each run is bounded in time.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A refused command line takes milliseconds; this only catches a run that measures.
const LIMIT: Duration = Duration::from_secs(30);

fn run(bin: &str, args: &[&str]) -> Output {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the benchmark");
    let start = Instant::now();
    while child.try_wait().expect("waiting").is_none() {
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{bin} {args:?} still running after {LIMIT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("its output")
}

fn assert_refused(bin: &str, name: &str, args: &[&str]) {
    let out = run(bin, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {err}");
    assert!(out.stdout.is_empty(), "{name} {args:?} printed on stdout");
    assert!(!err.contains("panicked"), "{name} {args:?}: {err}");
    assert!(
        err.contains(&format!("usage: {name}")),
        "{name} {args:?}: {err}"
    );
}

fn assert_help(bin: &str, name: &str) {
    for flag in ["--help", "-h"] {
        let out = run(bin, &[flag]);
        assert_eq!(out.status.code(), Some(0), "{name} {flag}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("usage: {name}")),
            "{name} {flag}"
        );
    }
}

const HUGE: &str = "18446744073709551615";

#[test]
fn srr_roundtrip_refuses_numbers_out_of_range() {
    let bin = env!("CARGO_BIN_EXE_srr_roundtrip");
    for args in [
        &["--runs", "0"][..],
        &["--runs", "101"],
        &["--runs", "-1"],
        &["--runs", HUGE],
        &["--runs", "x"],
        &["--runs"],
        &["--iters", "0"],
        &["--iters", "10000001"],
        &["--iters", "-5"],
        &["--iters", HUGE],
        &["--iters", "1e3"],
        &["--iters"],
        &["--quick", "--iters", HUGE, "--runs", "1"],
        &["--bogus"],
    ] {
        assert_refused(bin, "srr_roundtrip", args);
    }
    assert_help(bin, "srr_roundtrip");
    let out = run(bin, &["--help"]);
    let usage = String::from_utf8_lossy(&out.stdout);
    assert!(
        usage.contains("1..=100") && usage.contains("1..=10000000"),
        "{usage}"
    );
}

#[test]
fn async_throughput_refuses_numbers_out_of_range() {
    let bin = env!("CARGO_BIN_EXE_async_throughput");
    for args in [
        &["--runs", "0"][..],
        &["--runs", "101"],
        &["--runs", HUGE],
        &["--runs"],
        &["--msgs", "999"],
        &["--msgs", "0"],
        &["--msgs", "-1"],
        &["--msgs", "100000001"],
        &["--msgs", HUGE],
        &["--msgs", "many"],
        &["--msgs"],
        &["--triggers", "0"],
        &["--triggers", "1024"],
        &["--triggers", "-8"],
        &["--triggers", ""],
        &["--triggers", "1,,64"],
        &["--triggers", "64,64"],
        &["--triggers", "4294967296"],
        &["--triggers"],
        &["--only", "bogus"],
        &["--only"],
        &["--bogus"],
    ] {
        assert_refused(bin, "async_throughput", args);
    }
    assert_help(bin, "async_throughput");
    let out = run(bin, &["--help"]);
    let usage = String::from_utf8_lossy(&out.stdout);
    assert!(
        usage.contains("1..=100") && usage.contains("1000..=100000000"),
        "{usage}"
    );
}

#[test]
fn the_smallest_allowed_numbers_run() {
    let out = run(
        env!("CARGO_BIN_EXE_srr_roundtrip"),
        &["--runs", "1", "--iters", "1"],
    );
    assert!(out.status.success(), "{out:?}");
    let out = run(
        env!("CARGO_BIN_EXE_async_throughput"),
        &[
            "--runs",
            "1",
            "--msgs",
            "1000",
            "--triggers",
            "1,1023",
            "--unpinned-only",
        ],
    );
    assert!(out.status.success(), "{out:?}");
}
