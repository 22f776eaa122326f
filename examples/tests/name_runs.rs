//! name-server and name-client are two programs on one kernel (`QNXSIM_KERNEL` naming a
//! memory file in a temporary directory): the client finds the server by its name, its words
//! come back in upper case, the server sees its `name_open` and its disconnect, `--quit` ends
//! the server and its name goes with it; a name nobody attached is ENOENT; bad options are
//! refused with exit status 2. Every program is bounded in time and killed on every exit path.

#[allow(dead_code)] // (this binary uses a part of it)
mod common;

use common::{assert_refused, run};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_name-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_name-client");
const WITHIN: Duration = Duration::from_secs(30);

/// A temporary directory, removed on drop (the kernel's memory file is in it).
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("qnxsim-names-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a temporary directory");
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server, killed and reaped on drop; its stdout lines arrive on `lines`.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(kernel: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(SERVER)
            .args(args)
            .env("QNXSIM_KERNEL", kernel)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting name-server");
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
            .expect("a line from name-server")
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        let until = Instant::now() + WITHIN;
        loop {
            if let Some(st) = self.child.try_wait().expect("waiting") {
                return st;
            }
            assert!(Instant::now() < until, "name-server did not end");
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

/// The client on `kernel`, run to its end under [`common::DEADLINE`] (through `env`, which
/// execs it: its pid is the client's).
fn client(kernel: &Path, args: &[&str]) -> common::Run {
    let mut a = vec![
        format!("QNXSIM_KERNEL={}", kernel.display()),
        CLIENT.to_string(),
    ];
    a.extend(args.iter().map(|s| s.to_string()));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    run("/usr/bin/env", &a)
}

#[test]
fn a_client_program_finds_the_server_program_by_its_name() {
    let dir = Dir::new("pair");
    let kernel = dir.0.join("kernel");
    let mut server = Server::start(&kernel, &["--idle", "30", "--name", "test/upper"]);
    let l = server.line();
    assert_eq!(
        l,
        format!(
            "name-server: pid {} attached \"test/upper\"",
            server.child.id()
        )
    );
    let r = client(&kernel, &["--name", "test/upper", "hello", "world"]);
    r.assert_success("name-client");
    assert_eq!(r.stdout, "HELLO WORLD\n");
    let pid = r.pid;
    assert_eq!(
        server.line(),
        format!("name-server: pid {pid} opened the name")
    );
    assert!(server
        .line()
        .starts_with(&format!("name-server: 5 bytes from pid {pid} tid ")));
    assert!(server
        .line()
        .starts_with(&format!("name-server: 5 bytes from pid {pid} tid ")));
    assert_eq!(server.line(), "name-server: a client disconnected");

    // Another name is nobody's.
    let r = client(&kernel, &["--name", "test/other", "x"]);
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains("name_open(\"test/other\") failed: ENOENT"),
        "{}",
        r.stderr
    );

    let r = client(&kernel, &["--name", "test/upper", "--quit"]);
    r.assert_success("name-client --quit");
    assert_eq!(r.stdout, "name-client: the server was asked to end\n");
    let mut rest = Vec::new();
    while let Ok(l) = server.lines.recv_timeout(WITHIN) {
        rest.push(l);
    }
    assert!(server.wait().success());
    assert!(
        rest.contains(&format!("name-server: asked to quit by pid {}", r.pid)),
        "{rest:?}"
    );
    // The name went with the server.
    let r = client(&kernel, &["--name", "test/upper", "x"]);
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    assert!(r.stderr.contains("ENOENT"), "{}", r.stderr);
}

#[test]
fn an_idle_server_ends_and_bad_options_are_refused() {
    let dir = Dir::new("idle");
    let kernel = dir.0.join("kernel");
    let mut server = Server::start(&kernel, &["--idle", "1"]);
    assert!(server.line().ends_with("attached \"sample/upper\""));
    assert_eq!(server.line(), "name-server: no message for 1 s: ending");
    assert!(server.wait().success());
    for (bin, args, option) in [
        (SERVER, &["--idle", "0"][..], "--idle"),
        (SERVER, &["--name", "/abs"][..], "--name"),
        (SERVER, &["--name", "a/../b"][..], "--name"),
        (SERVER, &["extra"][..], "unexpected argument"),
        (CLIENT, &["--timeout", "0"][..], "--timeout"),
        (CLIENT, &["--bogus"][..], "--bogus"),
    ] {
        assert_refused(bin, args, option);
        assert_eq!(run(bin, args).status.code(), Some(2), "{bin} {args:?}");
    }
    let help = run(SERVER, &["--help"]);
    help.assert_success("name-server --help");
    assert!(help.stdout.contains("--name") && help.stdout.contains("--idle"));
}

/// A program killed on drop (and reaped).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client killed while REPLY-blocked (the server holds its answer) does not end the server:
/// it takes the disconnect pulse and serves the next client. (A name's channel has
/// `_NTO_CHF_UNBLOCK`: a client torn down while REPLY-blocked is kept until the server
/// answers, and the answer succeeds. Its reply fails with ESRCH only when the client's program
/// is dead but not yet torn down and the reply is longer than the kernel's per-thread window,
/// as here; the server then says so, as QNX servers ignore such an ESRCH, where it used to
/// end: "MsgReply failed: ESRCH". Which of the two happens depends on when the kernel notices
/// the death: both are accepted.)
#[test]
fn a_client_killed_while_reply_blocked_does_not_end_the_server() {
    let dir = Dir::new("killed");
    let path = dir.0.join("kernel");
    let mut server = Server::start(
        &path,
        &["--idle", "30", "--name", "test/held", "--hold-ms", "1000"],
    );
    assert!(server.line().ends_with("attached \"test/held\""));
    // 300 bytes: the answer is copied straight into the client's buffer, not through its
    // window in the kernel's region.
    let word = "doomed".repeat(50);
    let doomed = Command::new(CLIENT)
        .args(["--name", "test/held", &word])
        .env("QNXSIM_KERNEL", &path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting name-client");
    let mut doomed = Killed(doomed);
    let cpid = doomed.0.id() as i32;
    assert_eq!(
        server.line(),
        format!("name-server: pid {cpid} opened the name")
    );
    // The server has its request and holds the answer: the client is REPLY-blocked.
    assert!(server
        .line()
        .starts_with(&format!("name-server: 300 bytes from pid {cpid} tid ")));
    doomed.0.kill().expect("killing the client");
    doomed.0.wait().expect("reaping it");
    // (No supervisor: the server's kernel library notices the death and tears the client
    // down, which sends the disconnect pulse.)
    let mut seen = Vec::new();
    loop {
        let l = server.line();
        let done = l == "name-server: a client disconnected";
        seen.push(l);
        if done {
            break;
        }
    }
    let gone = format!("name-server: pid {cpid} tid 1 is gone (ESRCH): no reply");
    assert!(
        seen.iter()
            .all(|l| *l == gone || l.ends_with("disconnected")),
        "{seen:?}"
    );
    // The server still serves.
    let r = client(&path, &["--name", "test/held", "again"]);
    r.assert_success("a name-client after the kill");
    assert_eq!(r.stdout, "AGAIN\n");
    let r = client(&path, &["--name", "test/held", "--quit"]);
    r.assert_success("name-client --quit");
    let mut rest = Vec::new();
    while let Ok(l) = server.lines.recv_timeout(WITHIN) {
        rest.push(l);
    }
    assert!(server.wait().success(), "{rest:?}");
}
