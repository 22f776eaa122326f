//! Adversarial review of the documentation's promises about commands (docs/outputs.md):
//! `compare` run as a user runs it, from its built binary (built into this test's target
//! directory if missing, as examples/tests/review_cli.rs does). Each test names the document
//! and line of the claim it checks. Every run is bounded in time and killed at the deadline;
//! every test removes its temporary directory. (A run that writes its outputs over an old file
//! and through a link is benches/tests/compare.rs's `tiny_run_writes_complete_results`.)

#[allow(dead_code)] // (this binary uses a part of it)
mod common;

use common::bounded::{bounded, cmd, Dir};
use common::tools::tool;
use std::time::Duration;

/// The names in directory `d`.
fn names(d: &Dir) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(&d.0)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// docs/outputs.md:23-25 ("A refused option stops the program ... with exit status 2 and a
// message that names the option and the path") and 49-52 ("The check creates no file ... It
// creates a missing --plots directory, and removes it again if another option is then refused
// ... it creates and at once removes a hidden probe file (.compare-probe-PID)").
#[test]
fn a_refused_option_leaves_no_plots_directory_and_no_probe_file() {
    let d = Dir::new("refused");
    let missing = d.join("no-such-dir").join("r.json");
    let mut compare = cmd(
        tool("benches", "compare"),
        &[
            "--plots",
            "plots",
            "--csv",
            "r.csv",
            "--json",
            missing.to_str().unwrap(),
        ],
    );
    compare.current_dir(&d.0);
    let run = bounded(compare, Duration::from_secs(60));
    assert_eq!(run.code(), Some(2), "{}", run.show());
    assert!(
        run.stderr.contains("--json") && run.stderr.contains(missing.to_str().unwrap()),
        "the message names the option and the path: {}",
        run.stderr
    );
    assert_eq!(
        names(&d),
        Vec::<String>::new(),
        "the refused run left files behind"
    );
}
