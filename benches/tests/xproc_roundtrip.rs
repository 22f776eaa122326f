//! `xproc_roundtrip` run tiny: every model completes its round trips between two real
//! processes (each reply is checked by the client; a wrong one fails the run), the table and
//! the targets are printed, and bad options are refused. Not a speed test: nothing here bounds
//! a time or a ratio.

use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_xproc_roundtrip");

#[test]
fn a_quick_run_measures_every_model_on_every_placement_between_two_processes() {
    for size in ["64", "4096"] {
        let out = Command::new(BIN)
            .args(["--quick", "--size", size])
            .stderr(Stdio::null())
            .output()
            .expect("running xproc_roundtrip");
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
        &["--size", "65537"],
        &["--size"],
        &["--bogus"],
        &["--serve", "nonsense", "/tmp/x", "64", "10", "-"],
    ] {
        let st = Command::new(BIN)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("running xproc_roundtrip");
        assert_eq!(st.code(), Some(2), "{args:?}");
    }
}
