//! dev-sample and dev-sample-client are two programs on one kernel (`QNXSIM_KERNEL` naming a
//! memory file in a temporary directory): the client opens /dev/sample, writes, seeks, reads
//! back, asks the size, is notified of another thread's write, stats and closes, and the
//! server logs each step; a killed client's OCBs are closed once its process is torn down (as
//! the supervisor does, here by the test, which maps the kernel); an idle server ends; bad
//! options are refused with exit status 2. Every program is bounded in time and killed on
//! every exit path; the temporary directory goes with the test.

#[allow(dead_code)] // (this binary uses a part of it)
mod common;

use common::{assert_refused, run};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_dev-sample");
const CLIENT: &str = env!("CARGO_BIN_EXE_dev-sample-client");
const WITHIN: Duration = Duration::from_secs(30);

/// A temporary directory, removed on drop (the kernel's memory file is in it).
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("qnxsim-devsample-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a temporary directory");
        Dir(d)
    }

    fn kernel(&self) -> PathBuf {
        self.0.join("kernel")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A program whose stdout lines arrive on `lines`; killed and reaped on drop.
struct Program {
    child: Child,
    lines: mpsc::Receiver<String>,
    name: &'static str,
}

impl Program {
    fn start(bin: &'static str, kernel: &Path, args: &[&str]) -> Program {
        let mut child = Command::new(bin)
            .args(args)
            .env("QNXSIM_KERNEL", kernel)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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
        let name = if bin == SERVER {
            "dev-sample"
        } else {
            "dev-sample-client"
        };
        Program { child, lines, name }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(WITHIN)
            .unwrap_or_else(|_| panic!("no line from {} within {WITHIN:?}", self.name))
    }

    /// Lines until one contains `text` (that one included).
    fn until(&self, text: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let l = self.lines.recv_timeout(WITHIN).unwrap_or_else(|_| {
                panic!("{} never printed {text:?}; it printed {seen:#?}", self.name)
            });
            let done = l.contains(text);
            seen.push(l);
            if done {
                return seen;
            }
        }
    }

    /// Waits for it to exit on its own.
    fn wait(&mut self) -> std::process::ExitStatus {
        let until = Instant::now() + WITHIN;
        loop {
            if let Some(st) = self.child.try_wait().expect("waiting") {
                return st;
            }
            assert!(Instant::now() < until, "{} did not end", self.name);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The client, run to its end (at most [`common::DEADLINE`]) on `kernel`. (`common::run`
/// takes no environment: the client runs through `env`, which execs it, so its pid is the
/// client's.)
fn client(kernel: &Path, args: &[&str]) -> common::Run {
    let mut a = vec![
        format!("QNXSIM_KERNEL={}", kernel.display()),
        CLIENT.to_string(),
    ];
    a.extend(args.iter().map(|s| s.to_string()));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    run("/usr/bin/env", &a)
}

/// The server's "serving" line: its pid.
fn started(server: &Program) -> i32 {
    let l = server.line();
    let pid = l
        .strip_prefix("dev-sample: pid ")
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {l:?}"));
    assert!(
        l.ends_with("serving /dev/sample (a pool of 2 to 4 threads)"),
        "{l}"
    );
    assert_eq!(
        pid,
        server.child.id() as i32,
        "the server's pid is its Linux pid"
    );
    pid
}

#[test]
fn the_client_program_uses_the_device_of_the_server_program() {
    let dir = Dir::new("pair");
    let kernel = dir.kernel();
    let server = Program::start(SERVER, &kernel, &["--idle", "30"]);
    started(&server);
    let r = client(&kernel, &[]);
    r.assert_success("dev-sample-client");
    let expected = [
        "open(\"/dev/sample\", O_RDWR) = fd 0x",
        "write(fd, \"hello, world\") = 12",
        "lseek(fd, 0, SEEK_SET) = 0",
        "read(fd, buf, 76) = 12: \"hello, world\"",
        "devctl(fd, DCMD_SAMPLE_GET_SIZE) = EOK: size 12",
        "devctl(fd, DCMD_SAMPLE_CLEAR) = EOK: the device is empty",
        "ionotify(fd, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT) = 0x0: nothing to read, armed",
        "  another thread: open, write(fd2, \"more\") = 4, close",
        "pulse: code -6 (SI_NOTIFY), value 0x10000000 (_NOTIFY_COND_INPUT): something to read",
        "ionotify(fd, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT) = 0x10000000",
        "fstat(fd): size 4, mode 0o20666 (a character device), owner uid ",
        "close(fd) = EOK",
        "dev-sample-client: every step did what it should",
    ];
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{}", r.stdout);
    for (l, e) in lines.iter().zip(expected) {
        assert!(l.starts_with(e), "expected {e:?}, got {l:?}\n{}", r.stdout);
    }
    let pid = r.pid;
    let log = server.until("closed (0 open)");
    let want = [
        format!("dev-sample: pid {pid} opened it (1 open)"),
        format!("dev-sample: pid {pid} wrote 12 bytes at offset 0; the device holds 12"),
        format!("dev-sample: pid {pid} asked the size: 12"),
        format!("dev-sample: pid {pid} cleared the device"),
        format!("dev-sample: pid {pid} armed for notification"),
        format!("dev-sample: pid {pid} opened it (2 open)"),
        format!("dev-sample: pid {pid} wrote 4 bytes at offset 0; the device holds 4"),
        format!("dev-sample: an OCB of pid {pid} closed (1 open)"),
        format!("dev-sample: an OCB of pid {pid} closed (0 open)"),
    ];
    assert_eq!(log, want);

    // Another client, with its own text, finds the 4 bytes the last one left and writes over
    // them from the start.
    let r = client(&kernel, &["a longer line of text"]);
    r.assert_success("the second dev-sample-client");
    assert!(
        r.stdout
            .contains("read(fd, buf, 85) = 21: \"a longer line of text\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("DCMD_SAMPLE_GET_SIZE) = EOK: size 21"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_killed_client_has_its_ocb_closed_by_the_disconnect() {
    let dir = Dir::new("kill");
    let path = dir.kernel();
    // The test maps the kernel and tears a dead program down, as the supervisor does
    // (procnto-sim, for a named kernel; a plain memory file has none).
    let kernel =
        userlib::Kernel::create_shared(&path, userlib::Config::default()).expect("the kernel");
    kernel.supervise();
    let server = Program::start(SERVER, &path, &["--idle", "30"]);
    started(&server);
    let mut c = Program::start(CLIENT, &path, &["--hold", "60"]);
    let out = c.until("holding fd ");
    assert!(out.iter().any(|l| l == "close(fd) = EOK"), "{out:#?}");
    let cpid = c.child.id() as i32;
    // The client's steps end with its fd closed (0 open); then it opens the one it holds.
    server.until(&format!("an OCB of pid {cpid} closed (0 open)"));
    assert_eq!(
        server.line(),
        format!("dev-sample: pid {cpid} opened it (1 open)")
    );
    c.child.kill().expect("killing the client");
    c.child.wait().expect("reaping it");
    assert!(
        kernel.reap_os_process(cpid) > 0,
        "the client's process was in the kernel"
    );
    assert_eq!(
        server.line(),
        format!("dev-sample: an OCB of pid {cpid} closed (0 open)"),
        "the disconnect pulse closed the held OCB"
    );
    // The device still serves.
    client(&path, &["again"]).assert_success("a client after the kill");
}

#[test]
fn an_idle_server_ends_and_bad_options_are_refused() {
    let dir = Dir::new("idle");
    let kernel = dir.kernel();
    let mut server = Program::start(SERVER, &kernel, &["--idle", "1", "--threads", "1"]);
    let l = server.line();
    assert!(
        l.ends_with("serving /dev/sample (a pool of 1 to 1 threads)"),
        "{l}"
    );
    assert_eq!(server.line(), "dev-sample: no message for 1 s: ending");
    assert!(server.wait().success());

    // No server: the open fails with ENOENT, exit status 1.
    let r = client(&kernel, &[]);
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains("open(\"/dev/sample\", O_RDWR) failed: ENOENT"),
        "{}",
        r.stderr
    );

    for (bin, args, option) in [
        (SERVER, &["--idle", "0"][..], "--idle"),
        (SERVER, &["--idle", "x"][..], "--idle"),
        (SERVER, &["--threads", "0"][..], "--threads"),
        (SERVER, &["--path", "dev/sample"][..], "--path"),
        // (--idle 1: were it accepted, the server would end soon.)
        (
            SERVER,
            &["--path", "/dev/../etc", "--idle", "1"][..],
            "'..'",
        ),
        (
            SERVER,
            &["--path", "/dev/sample/..", "--idle", "1"][..],
            "'..'",
        ),
        (SERVER, &["--bogus"][..], "--bogus"),
        (CLIENT, &["--timeout", "0"][..], "--timeout"),
        (CLIENT, &["--hold", "3601"][..], "--hold"),
        (CLIENT, &["a", "b"][..], "unexpected argument"),
    ] {
        assert_refused(bin, args, option);
        assert_eq!(run(bin, args).status.code(), Some(2), "{bin} {args:?}");
    }
    let help = run(SERVER, &["--help"]);
    help.assert_success("dev-sample --help");
    assert!(help.stdout.contains("--idle") && help.stdout.contains("--threads"));
    let help = run(CLIENT, &["--help"]);
    help.assert_success("dev-sample-client --help");
    assert!(help.stdout.contains("--hold"));
}
