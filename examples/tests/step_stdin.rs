//! `--step` and its standard input: at its end (EOF: `/dev/null`, a closed stdin, a pipe closed
//! with nothing written) stepping stops after the first pause and the run goes to its end;
//! open and silent (a terminal nobody presses, a pipe nobody writes) the run waits at the pause,
//! as stepping asks, and goes on when it ends.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SRR: &str = env!("CARGO_BIN_EXE_srr-demo");
const ARGS: [&str; 5] = ["--clients", "1", "--rounds", "1", "--step"];
const DEADLINE: Duration = Duration::from_secs(60);
const PROMPT: &str = "[Enter: next step, q Enter: run to the end]";

/// A child's stdout and stderr, read as it writes them.
struct Output {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Output {
    fn of(child: &mut Child) -> Output {
        let drain = |mut pipe: Box<dyn Read + Send>| {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let b = buf.clone();
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    b.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            });
            buf
        };
        Output {
            out: drain(Box::new(child.stdout.take().expect("piped stdout"))),
            err: drain(Box::new(child.stderr.take().expect("piped stderr"))),
        }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }
}

/// Waits for `child` to end; kills it and fails if it has not by [`DEADLINE`].
fn wait(child: &mut Child, out: &Output, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(s) = child.try_wait().expect("waiting") {
            // (What it wrote last reaches the readers once it has ended.)
            std::thread::sleep(Duration::from_millis(100));
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what}: srr-demo --step still running after {DEADLINE:?}\nstdout:\n{}\nstderr:\n{}",
                out.stdout(),
                out.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The run went to its end after one pause, at which the end of input stopped stepping.
fn assert_ran_on(what: &str, status: std::process::ExitStatus, out: &Output) {
    let text = out.stdout();
    assert!(
        status.success(),
        "{what}: {status}\n{text}\n{}",
        out.stderr()
    );
    assert_eq!(
        text.matches(PROMPT).count(),
        1,
        "{what}: one pause:\n{text}"
    );
    assert!(
        text.contains("stepping stopped; the run goes on\n"),
        "{what}:\n{text}"
    );
    assert!(text.contains("client pid 3: 1 sent"), "{what}:\n{text}");
}

#[test]
fn stepping_ends_at_the_end_of_stdin_and_the_run_finishes() {
    // /dev/null.
    let mut child = Command::new(SRR)
        .args(ARGS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting srr-demo");
    let out = Output::of(&mut child);
    let status = wait(&mut child, &out, "/dev/null");
    assert_ran_on("/dev/null", status, &out);

    // A closed stdin (fd 0 not open at all).
    let mut child = Command::new("/bin/sh")
        .args(["-c", "exec \"$0\" \"$@\" 0<&-", SRR])
        .args(ARGS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting srr-demo through sh");
    let out = Output::of(&mut child);
    let status = wait(&mut child, &out, "closed stdin");
    assert_ran_on("closed stdin", status, &out);

    // A pipe closed with nothing written.
    let mut child = Command::new(SRR)
        .args(ARGS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting srr-demo");
    drop(child.stdin.take());
    let out = Output::of(&mut child);
    let status = wait(&mut child, &out, "an empty pipe");
    assert_ran_on("an empty pipe", status, &out);
}

#[test]
fn stepping_waits_on_a_silent_stdin_and_runs_on_when_it_ends() {
    let mut child = Command::new(SRR)
        .args(ARGS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting srr-demo");
    let stdin = child.stdin.take();
    let out = Output::of(&mut child);
    let deadline = Instant::now() + DEADLINE;
    while !out.stdout().contains(PROMPT) {
        if Instant::now() > deadline || child.try_wait().expect("waiting").is_some() {
            let _ = child.kill();
            panic!("no pause:\n{}\n{}", out.stdout(), out.stderr());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Paused: waiting for Enter, as long as the input is open (a second, well within the
    // demo's own patience).
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().expect("waiting").is_none(),
        "it ran on with its input open:\n{}",
        out.stdout()
    );
    assert_eq!(out.stdout().matches(PROMPT).count(), 1, "{}", out.stdout());
    // The input ends: the run goes on to its end.
    drop(stdin);
    let status = wait(&mut child, &out, "a silent pipe, then closed");
    assert_ran_on("a silent pipe, then closed", status, &out);
}
