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
