//! An example's `--processes` launcher under test, and what the tests read of Linux processes
//! from /proc. Shared by the suites that start launchers and watch their programs
//! (launcher_ends, review_processes_views, review_processes_kills).

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a launcher may take to print what a test waits for (a debug build, a busy machine).
pub const WITHIN: Duration = Duration::from_secs(60);

/// How long processes may take to be gone once they should be, and a launcher to end once it
/// should.
pub const GONE_WITHIN: Duration = Duration::from_secs(30);

/// `/proc/PID/stat`: (state, parent pid), if the process exists.
pub fn stat(pid: i32) -> Option<(char, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = s.rsplit_once(')')?;
    let mut w = rest.split_whitespace();
    let state = w.next()?.chars().next()?;
    let ppid = w.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether Linux process `pid` runs (exists and is not a zombie).
pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|(s, _)| s != 'Z' && s != 'X')
}

/// Waits until none of `pids` runs; false if one still does after [`GONE_WITHIN`].
pub fn all_gone(pids: &[i32]) -> bool {
    let until = Instant::now() + GONE_WITHIN;
    while pids.iter().any(|&p| alive(p)) {
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// The command line of `pid`, its arguments joined by spaces.
pub fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// The running children of `parent`.
pub fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|(s, pp)| pp == parent && s != 'Z' && s != 'X'))
        .collect()
}

/// The running processes (other than this test) whose command line or environment names
/// `mark` (a run's directory).
pub fn processes_naming(mark: &Path) -> Vec<i32> {
    let mark = mark.as_os_str().as_encoded_bytes();
    let me = std::process::id() as i32;
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me || !alive(pid) {
            continue;
        }
        let names = ["cmdline", "environ"].iter().any(|f| {
            std::fs::read(format!("/proc/{pid}/{f}"))
                .is_ok_and(|b| b.windows(mark.len()).any(|w| w == mark))
        });
        if names {
            v.push(pid);
        }
    }
    v
}

/// The kernel directory of launcher `pid` of example `tag`.
pub fn kernel_dir(tag: &str, pid: impl std::fmt::Display) -> PathBuf {
    std::env::temp_dir().join(format!("qnxsim-{tag}-{pid}"))
}

/// A pid that ran and has ended (a child of ours, reaped).
pub fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().expect("running true");
    let pid = c.id();
    c.wait().expect("reaping it");
    pid
}

/// A `--processes` launcher under test: its stdout lines arrive on `lines`, its stderr is
/// collected. On drop it is killed, and so is every program of its that still runs: its
/// children, the programs noted, and (started [`in_dir`](Launcher::in_dir)) its process group
/// and every process that names its directory.
pub struct Launcher {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
    /// Pids of its programs, killed on drop if they still run.
    pub programs: Vec<i32>,
    dir: Option<PathBuf>,
}

impl Launcher {
    /// Starts `bin` with `args`, in this test's environment.
    pub fn start(bin: &str, args: &[&str]) -> Launcher {
        Launcher::spawn(bin, args, Command::new(bin), None)
    }

    /// Starts `bin` with `args` and `TMPDIR` set to `dir` (no `QNXSIM_KERNEL` or `RUST_LOG`
    /// from this test, `env` added), in a process group of its own.
    pub fn in_dir(bin: &str, args: &[&str], dir: &Path, env: &[(&str, String)]) -> Launcher {
        let mut cmd = Command::new(bin);
        cmd.env("TMPDIR", dir)
            .env_remove("QNXSIM_KERNEL")
            .env_remove("RUST_LOG")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .process_group(0);
        Launcher::spawn(bin, args, cmd, Some(dir.to_path_buf()))
    }

    fn spawn(bin: &str, args: &[&str], mut cmd: Command, dir: Option<PathBuf>) -> Launcher {
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: between fork and exec, only signal(2) calls, which are async-signal-safe.
        // (A test run started with SIGINT or SIGHUP ignored, as a shell without job control
        // starts background jobs, would pass that on: the launcher keeps an ignored signal
        // ignored.)
        unsafe {
            cmd.pre_exec(|| {
                for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
                    nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigDfl)?;
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
        let out = child.stdout.take().expect("its stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        let mut err = child.stderr.take().expect("its stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Launcher {
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
            programs: Vec::new(),
            dir,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The first line from now on that contains `text`; None if the output ends first.
    pub fn next_with(&mut self, text: &str) -> Option<String> {
        let until = Instant::now() + WITHIN;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(text) {
                        return Some(l);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "no line with {text:?} within {WITHIN:?}; the launcher printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The first line from now on that contains `text`.
    pub fn until(&mut self, text: &str) -> String {
        self.next_with(text).unwrap_or_else(|| {
            panic!(
                "the launcher's output ended before a line with {text:?}; it printed:\n{}",
                self.seen.join("\n")
            )
        })
    }

    /// The first line, seen already or from now on, that contains `text` (the launcher relays
    /// each program's output as it comes: one program's line may come before another's that
    /// caused it).
    pub fn seen_or_until(&mut self, text: &str) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(text)) {
            return l.clone();
        }
        self.until(text)
    }

    /// The pid after `prefix` on the first line (seen already or from now on) that has it: a
    /// program of the launcher's, noted.
    pub fn program_pid(&mut self, prefix: &str) -> i32 {
        let line = self.seen_or_until(prefix);
        let pid = super::number_after(&line, prefix) as i32;
        self.programs.push(pid);
        pid
    }

    pub fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.pid()), sig).expect("signalling the launcher");
    }

    /// Stops reading its stdout: the pipe closes, as when `| head` has read enough.
    pub fn close_output(&mut self) {
        self.lines = mpsc::channel().1;
    }

    /// Waits for the launcher to end, at most [`GONE_WITHIN`] from now: its status, its stdout
    /// (all of it, what was not read yet too) and its stderr.
    pub fn wait(&mut self) -> (ExitStatus, String, String) {
        self.end(Instant::now(), GONE_WITHIN, "the launcher")
    }

    /// Waits for the launcher to end, at most `bound` from `from` (a panic naming `what`
    /// otherwise): its status, its stdout (all of it) and its stderr.
    pub fn end(
        &mut self,
        from: Instant,
        bound: Duration,
        what: &str,
    ) -> (ExitStatus, String, String) {
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("waiting for the launcher") {
                break st;
            }
            assert!(
                from.elapsed() < bound,
                "{what}: the run did not end within {bound:?}; it printed:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        // (The reader ends with the pipe, once the launcher's programs, which share it, are
        // gone: what came, bounded.)
        let until = Instant::now() + Duration::from_secs(5);
        while let Ok(l) = self
            .lines
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            self.seen.push(l);
        }
        (status, self.seen.join("\n"), stderr)
    }
}

impl Drop for Launcher {
    fn drop(&mut self) {
        let launcher = self.pid();
        let mut programs = children_of(launcher);
        programs.extend(&self.programs);
        if self.dir.is_some() {
            let _ = killpg(Pid::from_raw(launcher), Signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in programs {
            if alive(pid) && cmdline(pid).contains("--role") {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        if let Some(dir) = &self.dir {
            for pid in processes_naming(dir) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}
