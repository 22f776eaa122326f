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
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
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
    /// The child's stdin, for [`Child::say`] (a child started with [`Child::spawn_talking`]).
    stdin: Option<std::process::ChildStdin>,
}

impl Child {
    /// Starts this test binary as a child in `role`, with `arg`.
    pub fn spawn(role: &str, arg: &str) -> Child {
        Child::spawn_with_env(role, arg, &[])
    }

    /// [`Child::spawn`] with these environment variables set too.
    pub fn spawn_with_env(role: &str, arg: &str, env: &[(&str, &str)]) -> Child {
        Child::start(role, arg, env, false)
    }

    /// [`Child::spawn_with_env`], with a stdin the parent writes lines to ([`Child::say`]; the
    /// child reads them with [`lines_from_parent`]).
    pub fn spawn_talking(role: &str, arg: &str, env: &[(&str, &str)]) -> Child {
        Child::start(role, arg, env, true)
    }

    fn start(role: &str, arg: &str, env: &[(&str, &str)], talking: bool) -> Child {
        // (No `pre_exec`: without one, std spawns with posix_spawn, which runs no fork
        // handlers; kernel-sim's would take the lock of every kernel this process maps.)
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut cmd = Command::new(exe);
        cmd.args(["child_entry", "--exact", "--ignored", "--nocapture"])
            .envs(env.iter().copied())
            .env(ROLE, role)
            .env(ARG, arg)
            .stdin(if talking {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("starting a child process");
        let stdin = child.stdin.take();
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
            stdin,
        }
    }

    /// Writes `text` as a line to the child's stdin (a child started with
    /// [`Child::spawn_talking`]); panics if the child cannot take it.
    pub fn say(&self, text: &str) {
        use std::io::Write;
        let mut stdin = self
            .stdin
            .as_ref()
            .expect("a child started with spawn_talking");
        stdin
            .write_all(format!("{text}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("cannot tell the child {text:?}: {e}"));
    }

    /// The child's next line, waiting at most `within`; `None` if none comes.
    pub fn line_within(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }

    /// The child's next line if one has come, without waiting.
    pub fn try_line(&self) -> Option<String> {
        self.lines.try_recv().ok()
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

    /// Kills the child (SIGKILL), reaps it, and returns what it said that was not read yet
    /// (waiting at most a second for the end of its output).
    pub fn kill_and_collect(mut self) -> (ExitStatus, Vec<String>) {
        let mut child = self.child.take().expect("a child");
        let _ = child.kill();
        let st = child.wait().expect("reaping the child");
        let until = Instant::now() + Duration::from_secs(1);
        let mut said = Vec::new();
        while let Ok(l) = self
            .lines
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            said.push(l);
        }
        (st, said)
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

/// In a child started with [`Child::spawn_talking`]: the lines its parent says, read from
/// stdin by a thread of their own (the channel ends when the parent closes stdin or dies).
pub fn lines_from_parent() -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A named pipe (in a [`TempDir`]) that children write short notes to, one line each (a
/// write of up to `PIPE_BUF` bytes is never interleaved with another), and the parent reads
/// with a bound. A child opens it with [`NotePipe::open_as`]; the parent holds a write end
/// too, so that the pipe never reads as ended between children. Closed on drop.
#[derive(Debug)]
pub struct NotePipe {
    read: OwnedFd,
    _write: OwnedFd,
    path: PathBuf,
    pending: Vec<u8>,
}

impl NotePipe {
    /// A new named pipe at `path`.
    pub fn new(path: PathBuf) -> NotePipe {
        use std::os::unix::fs::OpenOptionsExt;
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("a path");
        // SAFETY: mkfifo reads the NUL-terminated path it is given.
        let r = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        assert_eq!(r, 0, "mkfifo: {}", std::io::Error::last_os_error());
        let read = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .expect("the pipe's read end");
        let write = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("the pipe's write end");
        NotePipe {
            read: read.into(),
            _write: write.into(),
            path,
            pending: Vec::new(),
        }
    }

    /// Its path, for a child.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// In a child: opens the pipe at `path` for writing as descriptor `fd` (left open, not
    /// close-on-exec).
    pub fn open_as(path: &Path, fd: RawFd) {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .expect("the note pipe");
        // SAFETY: dup2 onto a descriptor number we choose; `f` stays valid through the call.
        let r = unsafe { libc::dup2(f.as_raw_fd(), fd) };
        assert_eq!(r, fd, "dup2: {}", std::io::Error::last_os_error());
    }

    /// The next note (a line, without its newline), waiting at most `within`; `None` if none
    /// came.
    pub fn next(&mut self, within: Duration) -> Option<String> {
        let until = Instant::now() + within;
        loop {
            if let Some(at) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=at).collect();
                return Some(String::from_utf8_lossy(&line[..at]).into_owned());
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let mut pfd = libc::pollfd {
                fd: self.read.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            // SAFETY: one pollfd, ours, for the duration of the call.
            if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
                continue;
            }
            let mut buf = [0u8; 512];
            // SAFETY: reads into our own buffer, at most its length.
            let got =
                unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if got > 0 {
                self.pending.extend_from_slice(&buf[..got as usize]);
            }
        }
    }
}
