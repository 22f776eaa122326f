//! Adversarial review of the documentation's promises about commands (docs/outputs.md):
//! `compare` run as a user runs it, from its built binary (built into this test's target
//! directory if missing, as examples/tests/review_cli.rs does). Each test names the document
//! and line of the claim it checks. Every run is bounded in time and killed at the deadline;
//! every test removes its temporary directory. (A run that writes its outputs over an old file
//! and through a link is benches/tests/compare.rs's `tiny_run_writes_complete_results`.)

#[allow(dead_code)] // (this binary uses a part of it)
mod common;

use common::tools::tool;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A temporary directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d =
            std::env::temp_dir().join(format!("qnxsim-review-docs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("a temporary directory");
        Dir(d)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names in it.
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .expect("read_dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `compare ARGS` in `cwd` for at most `within` (killed then): (status, stdout, stderr).
fn run(args: &[&str], cwd: &Path, within: Duration) -> (Option<ExitStatus>, String, String) {
    let out = cwd.join(".review-out");
    let err = cwd.join(".review-err");
    let mut child = Command::new(tool("benches", "compare"))
        .args(args)
        .current_dir(cwd)
        .env_remove("QNXSIM_KERNEL")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("starting compare");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting") {
            break Some(s);
        }
        if start.elapsed() >= within {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let o = std::fs::read_to_string(&out).unwrap_or_default();
    let e = std::fs::read_to_string(&err).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&err);
    (status, o, e)
}

// docs/outputs.md:23-25 ("A refused option stops the program ... with exit status 2 and a
// message that names the option and the path") and 49-52 ("The check creates no file ... It
// creates a missing --plots directory, and removes it again if another option is then refused
// ... it creates and at once removes a hidden probe file (.compare-probe-PID)").
#[test]
fn a_refused_option_leaves_no_plots_directory_and_no_probe_file() {
    let d = Dir::new("refused");
    let missing = d.join("no-such-dir").join("r.json");
    let (status, out, err) = run(
        &[
            "--plots",
            "plots",
            "--csv",
            "r.csv",
            "--json",
            missing.to_str().unwrap(),
        ],
        &d.0,
        Duration::from_secs(60),
    );
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(2),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        err.contains("--json") && err.contains(missing.to_str().unwrap()),
        "the message names the option and the path: {err}"
    );
    assert_eq!(
        d.names(),
        Vec::<String>::new(),
        "the refused run left files behind"
    );
}
