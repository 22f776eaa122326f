//! Tests across Linux processes: a temporary directory that is removed on every exit path, and
//! child processes that are this same test binary re-run in a role, bounded in time and killed
//! on every exit path.
//!
//! A child is started as `<this test binary> child_entry --exact --ignored --nocapture` with
//! the role and its arguments in the environment: each multi-process test binary has an
//! `#[ignore]`d test named `child_entry` that dispatches on [`child_role`]. It dies with its
//! parent (`PR_SET_PDEATHSIG`), so a parent killed mid-test leaves no child behind. It talks
//! to the parent by lines on stdout starting with [`LINE`] (the test harness's own lines are
//! skipped).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// How a child marks its lines for the parent.
pub const LINE: &str = "@@ ";

const ROLE: &str = "QNXSIM_TEST_ROLE";
const ARG: &str = "QNXSIM_TEST_ARG";

/// A directory under the system's temporary directory, removed (with what is in it) on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty, private (0700) directory.
    pub fn new(tag: &str) -> TempDir {
        use std::os::unix::fs::DirBuilderExt;
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "qnxsim-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .expect("creating a temporary directory");
        TempDir(dir)
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The role this process was started in, and its argument, if it is a child.
pub fn child_role() -> Option<(String, String)> {
    let role = std::env::var(ROLE).ok()?;
    Some((role, std::env::var(ARG).unwrap_or_default()))
}

/// Called first by a child: it dies when its parent does.
pub fn child_setup() {
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
}

/// Prints a line for the parent.
pub fn tell_parent(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{LINE}{text}");
    let _ = out.flush();
}

/// A child process: killed and reaped on drop unless it was waited for.
#[derive(Debug)]
pub struct Child {
    child: Option<std::process::Child>,
    lines: Receiver<String>,
}

impl Child {
    /// Starts this test binary as a child in `role`, with `arg`.
    pub fn spawn(role: &str, arg: &str) -> Child {
        Child::spawn_with_env(role, arg, &[])
    }

    /// [`Child::spawn`] with these environment variables set too.
    pub fn spawn_with_env(role: &str, arg: &str, env: &[(&str, &str)]) -> Child {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut child = Command::new(exe)
            .args(["child_entry", "--exact", "--ignored", "--nocapture"])
            .envs(env.iter().copied())
            .env(ROLE, role)
            .env(ARG, arg)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting a child process");
        let out = child.stdout.take().expect("the child's stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(l) = line.strip_prefix(LINE) {
                    if tx.send(l.to_string()).is_err() {
                        return;
                    }
                }
            }
        });
        Child {
            child: Some(child),
            lines,
        }
    }

    /// The child's Linux pid.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// The child's next line, waiting at most `within`; panics if none comes.
    pub fn line(&self, within: Duration) -> String {
        self.lines
            .recv_timeout(within)
            .unwrap_or_else(|e| panic!("no line from the child within {within:?}: {e}"))
    }

    /// Waits at most `within` for the child to exit; panics (after killing it) if it does not.
    pub fn wait(mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("a child");
        let until = Instant::now() + within;
        loop {
            if let Some(st) = child.try_wait().expect("waiting for the child") {
                return st;
            }
            if Instant::now() > until {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the child did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Kills the child (SIGKILL) and reaps it.
    pub fn kill(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("a child");
        let _ = child.kill();
        child.wait().expect("reaping the child")
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
