//! echo-server and echo-client are two programs on one kernel (`QNXSIM_KERNEL` naming a
//! memory file in a temporary directory): the client's words come back in upper case, the
//! server sees the client's pid and its disconnect, `--quit` ends the server; without the
//! shared kernel the client cannot reach the server; bad options are refused. Every program is
//! bounded in time and killed on every exit path.

#[allow(dead_code)] // (this binary uses a part of it)
mod common;

use common::assert_refused;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_echo-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_echo-client");
const WITHIN: Duration = Duration::from_secs(30);

/// A temporary directory, removed on drop.
struct Dir(std::path::PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("qnxsim-echo-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a temporary directory");
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server, killed on drop; its stdout lines arrive on `lines`.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(kernel: &std::path::Path, args: &[&str]) -> Server {
        let mut child = Command::new(SERVER)
            .args(args)
            .env("QNXSIM_KERNEL", kernel)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting echo-server");
        let out = child.stdout.take().expect("its stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Server { child, lines }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(WITHIN)
            .expect("a line from echo-server")
    }

    /// Waits for it to exit on its own.
    fn wait(&mut self) -> std::process::ExitStatus {
        let until = Instant::now() + WITHIN;
        loop {
            if let Some(st) = self.child.try_wait().expect("waiting") {
                return st;
            }
            assert!(Instant::now() < until, "echo-server did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(kernel: Option<&std::path::Path>, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(CLIENT);
    c.args(args).stdin(Stdio::null());
    match kernel {
        Some(k) => c.env("QNXSIM_KERNEL", k),
        None => c.env_remove("QNXSIM_KERNEL"),
    };
    c.output().expect("running echo-client")
}

#[test]
fn a_client_program_reaches_the_server_program_through_the_shared_kernel() {
    let dir = Dir::new("pair");
    let kernel = dir.0.join("kernel");
    let mut server = Server::start(&kernel, &["--idle", "30"]);
    let line = server.line();
    let ids: Vec<&str> = line
        .strip_prefix("echo-server: pid ")
        .map(|s| s.split(" chid ").collect())
        .unwrap_or_default();
    let [pid, chid] = ids[..] else {
        panic!("unexpected line {line:?}")
    };
    assert_eq!(
        pid,
        server.child.id().to_string(),
        "the server's pid is its Linux pid"
    );
    let out = client(Some(&kernel), &[pid, chid, "hello", "world"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HELLO WORLD\n");
    let l = server.line();
    assert!(l.starts_with("echo-server: 5 bytes from pid "), "{l}");
    let l = server.line();
    assert!(l.starts_with("echo-server: 5 bytes from pid "), "{l}");
    let out = client(Some(&kernel), &["--quit", pid, chid]);
    assert!(out.status.success(), "{out:?}");
    let mut rest = Vec::new();
    while let Ok(l) = server.lines.recv_timeout(WITHIN) {
        rest.push(l);
    }
    assert!(server.wait().success());
    assert!(
        rest.iter().any(|l| l.contains("a client disconnected")),
        "the first client's exit is a disconnect pulse: {rest:?}"
    );
    assert!(
        rest.iter()
            .any(|l| l.starts_with("echo-server: asked to quit by pid ")),
        "{rest:?}"
    );
}

#[test]
fn without_the_shared_kernel_the_client_cannot_reach_the_server() {
    let dir = Dir::new("alone");
    let kernel = dir.0.join("kernel");
    let server = Server::start(&kernel, &["--idle", "30"]);
    let line = server.line();
    let rest = line
        .strip_prefix("echo-server: pid ")
        .expect("the server's ids");
    let (pid, chid) = rest.split_once(" chid ").expect("pid and chid");
    let out = client(None, &[pid, chid, "hello"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ConnectAttach") && err.contains("ESRCH"),
        "{err}"
    );
}

#[test]
fn an_idle_server_ends_and_bad_options_are_refused() {
    let dir = Dir::new("idle");
    let kernel = dir.0.join("kernel");
    let mut server = Server::start(&kernel, &["--idle", "1"]);
    assert!(server.line().starts_with("echo-server: pid "));
    assert_eq!(server.line(), "echo-server: no message for 1 s: ending");
    assert!(server.wait().success());
    assert_refused(SERVER, &["--idle", "0"], "--idle");
    assert_refused(SERVER, &["--idle", "x"], "--idle");
    assert_refused(CLIENT, &["x", "1"], "<PID>");
    assert_refused(CLIENT, &["1", "1", "--timeout", "0"], "--timeout");
    assert_refused(CLIENT, &["1", "1", "--fill", "0"], "--fill");
    assert_refused(CLIENT, &["1", "1", "--fill", "67108865"], "--fill");
    assert_refused(CLIENT, &["1", "1", "--fill", "x"], "--fill");
}

/// A program killed on drop (and reaped).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client killed while REPLY-blocked (the server holds its reply) is torn down (here by the
/// test, which maps the kernel, as the supervisor procnto-sim does for a named kernel); the
/// server's reply then fails with ESRCH, which a QNX server ignores: it says so, takes the
/// disconnect pulse, and serves the next client. (It used to end: "MsgReply failed: ESRCH".)
#[test]
fn a_client_killed_while_reply_blocked_does_not_end_the_server() {
    let dir = Dir::new("killed");
    let path = dir.0.join("kernel");
    let kernel =
        userlib::Kernel::create_shared(&path, userlib::Config::default()).expect("the kernel");
    kernel.supervise();
    let mut server = Server::start(&path, &["--idle", "30", "--hold-ms", "2000"]);
    let line = server.line();
    let (pid, chid) = line
        .strip_prefix("echo-server: pid ")
        .and_then(|r| r.split_once(" chid "))
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let (pid, chid) = (pid.to_string(), chid.to_string());
    let client_prog = Command::new(CLIENT)
        .args([pid.as_str(), chid.as_str(), "doomed"])
        .env("QNXSIM_KERNEL", &path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting echo-client");
    let mut doomed = Killed(client_prog);
    let cpid = doomed.0.id() as i32;
    // The server has its message and holds the reply: the client is REPLY-blocked.
    assert_eq!(
        server.line(),
        format!("echo-server: 6 bytes from pid {cpid} tid 1")
    );
    doomed.0.kill().expect("killing the client");
    doomed.0.wait().expect("reaping it");
    // Torn down by us, or already by the server's program (a program's timer service looks
    // for dead programs every 200 ms once its threads have blocked in the kernel): a test
    // slowed by a loaded machine once found it gone before it looked.
    kernel.reap_os_process(cpid);
    assert!(
        !kernel
            .listing()
            .snapshot
            .processes
            .iter()
            .any(|p| p.pid == cpid),
        "the client's process is torn down"
    );
    assert_eq!(
        server.line(),
        format!("echo-server: pid {cpid} tid 1 is gone (ESRCH): no reply"),
        "the reply to the dead client failed, and the server went on"
    );
    assert_eq!(
        server.line(),
        "echo-server: a client disconnected (1 so far)"
    );
    // The server still serves.
    let out = client(Some(&path), &[&pid, &chid, "again"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "AGAIN\n");
    let out = client(Some(&path), &["--quit", &pid, &chid]);
    assert!(out.status.success(), "{out:?}");
    let mut rest = Vec::new();
    while let Ok(l) = server.lines.recv_timeout(WITHIN) {
        rest.push(l);
    }
    assert!(server.wait().success(), "{rest:?}");
}

#[test]
fn a_message_longer_than_the_server_buffer_is_read_whole_and_a_huge_one_refused() {
    // 70000 bytes: past the server's 64 KiB receive buffer, so it arrives in part and the
    // server reads the rest with MsgRead; 17 MiB: past the server's limit, refused with
    // EMSGSIZE (the client fails, the server serves on).
    let dir = Dir::new("long");
    let kernel = dir.0.join("kernel");
    let server = Server::start(&kernel, &["--idle", "30"]);
    let line = server.line();
    let ids: Vec<&str> = line
        .strip_prefix("echo-server: pid ")
        .map(|s| s.split(" chid ").collect())
        .unwrap_or_default();
    let [pid, chid] = ids[..] else {
        panic!("unexpected line {line:?}")
    };
    let word = "x".repeat(70_000);
    let out = client(Some(&kernel), &[pid, chid, &word, "--fill", "70001"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("X".repeat(70_000).as_str()),
        "the word came back cut"
    );
    assert_eq!(lines.next(), Some("echo-client: 70001 bytes echoed whole"));
    // (The server's lines about disconnects come in between, in any order.)
    let next = || loop {
        let l = server.line();
        if !l.contains("a client disconnected") {
            return l;
        }
    };
    assert!(next().starts_with("echo-server: 70000 bytes from pid "));
    assert!(next().starts_with("echo-server: 70001 bytes from pid "));
    let out = client(
        Some(&kernel),
        &[pid, chid, "--fill", &(17 << 20).to_string()],
    );
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MsgSend") && err.contains("EMSGSIZE"), "{err}");
    let l = next();
    assert!(l.contains("refused (EMSGSIZE)"), "{l}");
    // The server serves on.
    let out = client(Some(&kernel), &[pid, chid, "again"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "AGAIN\n");
}
