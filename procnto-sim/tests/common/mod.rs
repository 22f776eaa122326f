//! What the tests of programs on a supervised kernel share: a supervisor started by the test
//! (killed and reaped on drop), the kernel mapped to watch it, children started in a role on
//! it, and bounded waits. Each test binary includes it with `mod common;` after `mod procs;`.
// Each binary uses a part of it.
#![allow(dead_code)]

pub mod cc;
pub mod kernel_procs;
pub mod prog;
pub mod rig;

use crate::procs::{Child, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Bound on every wait of the tests.
pub const WITHIN: Duration = Duration::from_secs(20);
/// Bound on every blocking call of the children (ns).
pub const LONG_NS: u64 = 10_000_000_000;
/// The supervisor.
pub const BIN: &str = env!("CARGO_BIN_EXE_procnto-sim");
/// The inspector.
pub const PIDIN: &str = env!("CARGO_BIN_EXE_pidin-sim");

/// A supervisor started by the test, killed and reaped on drop.
pub struct Sup(pub std::process::Child);

impl Sup {
    /// Starts `procnto-sim --kernel SOCKET EXTRA...` and waits for its socket.
    pub fn start(socket: &Path, extra: &[&str]) -> Sup {
        let child = Command::new(BIN)
            .arg("--kernel")
            .arg(socket)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting procnto-sim");
        let sup = Sup(child);
        wait_until("the supervisor's socket", || socket.exists());
        sup
    }
}

impl Drop for Sup {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Maps the kernel at `socket` to watch it, once its supervisor listens (the socket's file
/// appears a moment before it accepts).
pub fn watch(socket: &Path) -> kernel_sim::Kernel {
    let until = Instant::now() + WITHIN;
    loop {
        match kernel_sim::supervisor::attach(socket) {
            Ok(k) => return k,
            Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("cannot map the kernel at {}: {e}", socket.display()),
        }
    }
}

/// Waits (at most `WITHIN`) until `cond` holds.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + WITHIN;
    while !cond() {
        assert!(Instant::now() < until, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The environment that makes a userlib program join the kernel at `socket`.
pub fn env(socket: &Path) -> Vec<(&'static str, String)> {
    vec![
        (userlib::current::KERNEL_ENV, socket.display().to_string()),
        (userlib::current::SUPERVISOR_ENV, BIN.to_string()),
    ]
}

/// This test binary, re-run in `role` with `arg`, on the kernel at `socket` (and `extra`
/// environment).
pub fn spawn_with(role: &str, arg: &str, socket: &Path, extra: &[(&str, &str)]) -> Child {
    let env = env(socket);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend_from_slice(extra);
    Child::spawn_with_env(role, arg, &env)
}

/// [`spawn_with`] with no extra environment.
pub fn spawn(role: &str, arg: &str, socket: &Path) -> Child {
    spawn_with(role, arg, socket, &[])
}

/// A child's "ready ..." line, without the word.
pub fn ready(c: &Child) -> String {
    let line = c.line(WITHIN);
    line.strip_prefix("ready ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_string()
}

/// Where a test's supervisor listens: in its temporary directory.
pub fn socket_in(dir: &TempDir) -> PathBuf {
    dir.join("k.sock")
}

/// `pidin-sim` recording the kernel at `socket`, killed and reaped on drop.
pub struct Recorder(pub std::process::Child);

impl Recorder {
    /// Starts `pidin-sim --kernel SOCKET ARGS...` (stdout to null, stderr kept).
    pub fn start(socket: &Path, args: &[&str]) -> Recorder {
        let child = Command::new(PIDIN)
            .arg("--kernel")
            .arg(socket)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting pidin-sim");
        Recorder(child)
    }

    /// Sends `sig`.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0.id() as i32), sig)
            .expect("signalling pidin-sim");
    }

    /// Sends `sig` and waits (at most `WITHIN`) for it to write its files and exit: its
    /// status and stderr.
    pub fn end_with(mut self, sig: nix::sys::signal::Signal) -> (std::process::ExitStatus, String) {
        self.signal(sig);
        self.wait()
    }

    /// Waits (at most `WITHIN`) for it to exit: its status and stderr.
    pub fn wait(&mut self) -> (std::process::ExitStatus, String) {
        let until = Instant::now() + WITHIN;
        loop {
            if let Some(st) = self.0.try_wait().expect("waiting for pidin-sim") {
                let mut err = String::new();
                if let Some(mut e) = self.0.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                return (st, err);
            }
            assert!(Instant::now() < until, "pidin-sim did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Recorder {
    /// Sends SIGINT and waits for it to write its files and exit: its status and stderr.
    pub fn interrupt(self) -> (std::process::ExitStatus, String) {
        self.end_with(nix::sys::signal::Signal::SIGINT)
    }
}

/// A child's argument of numbers separated by spaces ("pid chid n").
pub fn numbers(arg: &str) -> Vec<i64> {
    arg.split(' ')
        .map(|s| s.parse::<i64>().expect("a number"))
        .collect()
}

/// Runs pidin-sim with `args` (bounded: killed after `WITHIN`): status, stdout, stderr.
pub fn run_pidin(args: &[&str]) -> (std::process::ExitStatus, String, String) {
    let mut child = Command::new(PIDIN)
        .args(args)
        .env_remove("QNXSIM_KERNEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting pidin-sim");
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let until = Instant::now() + WITHIN;
    let status = loop {
        if let Some(st) = child.try_wait().expect("waiting for pidin-sim") {
            break st;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pidin-sim {args:?} did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}
