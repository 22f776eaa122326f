//! Runs an example binary under a deadline, so that a hang fails the test instead of hanging
//! the test run.

pub mod bounded;
pub mod launcher;
pub mod tools;

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Far longer than any run these tests ask for takes, even in a debug build on a busy machine.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// What a run printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    /// The program's Linux pid.
    pub pid: u32,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics, showing the output, unless the run exited 0.
    pub fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what} failed ({}):\nstderr:\n{}\nstdout:\n{}",
            self.status,
            self.stderr,
            self.stdout
        );
    }
}

/// Runs `bin` with `args`; kills it and fails the test if it has not finished by [`DEADLINE`].
pub fn run(bin: &str, args: &[&str]) -> Run {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    // Drain both pipes as the child writes, so that a full pipe never blocks it.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let pid = child.id();
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{bin} {args:?} was still running after {DEADLINE:?}: it hangs\nstdout:\n{}\nstderr:\n{}",
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        pid,
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Asserts that a `--processes` run of `bin` (the launcher, pid `pid`) left no kernel behind:
/// its private directory, `qnxsim-TAG-PID` under the temporary directory, is gone.
pub fn assert_kernel_removed(tag: &str, pid: u32) {
    let dir = std::env::temp_dir().join(format!("qnxsim-{tag}-{pid}"));
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

/// The number after `prefix` in `text` (`"server program pid 4211"`, `"server program pid "`).
pub fn number_after(text: &str, prefix: &str) -> i64 {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix:?} in\n{text}"))
        + prefix.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {prefix:?} in\n{text}"))
}

/// Asserts that `bin` refuses `args` before doing anything: a non-zero exit, nothing on
/// stdout, and an error on stderr that names `option`.
pub fn assert_refused(bin: &str, args: &[&str], option: &str) {
    let r = run(bin, args);
    assert!(!r.status.success(), "{args:?} was accepted:\n{}", r.stdout);
    assert!(
        r.stdout.is_empty(),
        "{args:?} ran before it was refused:\n{}",
        r.stdout
    );
    assert!(
        r.stderr.contains(option),
        "the error for {args:?} does not name {option}:\n{}",
        r.stderr
    );
}
