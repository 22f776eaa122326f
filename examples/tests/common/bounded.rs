//! Programs run as a user runs them from a shell, each under a bound, for the tests that try
//! the workspace's commands from outside (`review_cli`, `review_tutorial`): a private
//! temporary directory, a command with none of the caller's kernel environment, and a bounded
//! run that reports a hang instead of panicking, so that a test can say what it expected.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A private temporary directory, `qnxsim-review-TAG-PID` (0700: it may serve as a runtime
/// directory for supervisors' sockets), removed on drop after the supervisors that programs
/// started in it are killed.
pub struct Dir(pub PathBuf);

impl Dir {
    /// A new, empty directory (one left by an earlier run of the same pid is removed first).
    pub fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("qnxsim-review-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("a temporary directory");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))
            .expect("making the temporary directory private");
        Dir(d)
    }

    /// A path in the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        reap_supervisors(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills every `procnto-sim` whose `XDG_RUNTIME_DIR` is `dir`: the supervisors that programs
/// of a test started (they detach, so no test holds them as children).
pub fn reap_supervisors(dir: &Path) {
    let want = format!("XDG_RUNTIME_DIR={}", dir.display());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains("procnto-sim") {
            continue;
        }
        let env = std::fs::read(p.path().join("environ")).unwrap_or_default();
        if env.split(|&b| b == 0).any(|v| v == want.as_bytes()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// How a bounded run ended.
#[derive(Debug)]
pub struct Outcome {
    /// None: still running at the bound (killed then).
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    /// How long it ran.
    pub took: Duration,
}

impl Outcome {
    /// Its exit status (None: killed by a signal, or at the bound).
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// Everything about the run, for a failure message.
    pub fn show(&self) -> String {
        format!(
            "status {:?} after {:?}\nstdout:\n{}\nstderr:\n{}",
            self.status, self.took, self.stdout, self.stderr
        )
    }

    /// Fails the test (showing the run) unless it exited 0.
    pub fn assert_ok(&self, what: &str) {
        assert_eq!(self.code(), Some(0), "{what}:\n{}", self.show());
    }
}

/// `program` with `args`, without the caller's kernel, supervisor or log filter.
pub fn cmd(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .env_remove("QNXSIM_KERNEL")
        .env_remove("QNXSIM_SUPERVISOR")
        .env_remove("RUST_LOG");
    c
}

/// Runs `cmd` with `input` on its stdin for at most `within`, killing it (SIGKILL) then.
pub fn bounded_with(mut cmd: Command, input: &[u8], within: Duration) -> Outcome {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the program");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    // (Written from a thread, then closed: a program that never reads must not block the
    // test, and one that reads to the end sees it.)
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
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
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = start.elapsed();
    // (A grandchild holding the pipes open must not hang the test: give the readers a moment.)
    let join = |h: std::thread::JoinHandle<String>| {
        let until = Instant::now() + Duration::from_secs(5);
        while !h.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        if h.is_finished() {
            h.join().unwrap_or_default()
        } else {
            String::from("(the output was still held open by another process)")
        }
    };
    Outcome {
        status,
        stdout: join(out),
        stderr: join(err),
        took,
    }
}

/// Runs `cmd`, its stdin empty, for at most `within`.
pub fn bounded(cmd: Command, within: Duration) -> Outcome {
    bounded_with(cmd, b"", within)
}
