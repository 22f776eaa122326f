//! docs/tutorial.md followed as a student follows it: every command it shows, run from the
//! built programs, and the claims about what they print checked for structure and content
//! (never for timing: latencies, rates and how the Linux scheduler interleaves threads vary).
//! Each test names the chapter, section and lines of docs/tutorial.md it checks.
//!
//! The examples' programs come from this package (`CARGO_BIN_EXE_*`); those of procnto-sim
//! (`procnto-sim`, `pidin-sim`, `intr-sim`) and benches (`compare`) are looked for in this
//! test's target directory (`target/<profile>/`) and built there with cargo if missing (or
//! older than this test), as examples/tests/review_cli.rs does. Programs that share a kernel
//! find it by name (`QNXSIM_KERNEL=demo`, as the tutorial says) in a private runtime directory
//! (`XDG_RUNTIME_DIR`), so that no other run's kernel is touched. Every run is bounded in time and killed at its deadline; every test kills what it
//! started (a supervisor a program started included) and removes its temporary directory.

#[allow(dead_code)] // (this binary uses a part of it)
mod common;

use common::bounded::{bounded_with, cmd, Dir, Outcome};
use common::tools::tool;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const SRR_DEMO: &str = env!("CARGO_BIN_EXE_srr-demo");
const EVENT_LOOP: &str = env!("CARGO_BIN_EXE_event-loop");
const SENSORS: &str = env!("CARGO_BIN_EXE_sensors");
const ECHO_SERVER: &str = env!("CARGO_BIN_EXE_echo-server");
const ECHO_CLIENT: &str = env!("CARGO_BIN_EXE_echo-client");
const DEV_SAMPLE: &str = env!("CARGO_BIN_EXE_dev-sample");
const DEV_SAMPLE_CLIENT: &str = env!("CARGO_BIN_EXE_dev-sample-client");

/// The bound on any one run, or wait for a program to say something: far longer than any of
/// them takes, even in a debug build on a busy machine.
const WITHIN: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------------------ helpers

fn pidin_sim() -> PathBuf {
    // (procnto-sim too: the first program of a named kernel starts it from beside itself.)
    tool("procnto-sim", "procnto-sim");
    tool("procnto-sim", "pidin-sim")
}

/// A command on the tutorial's kernel `demo`, in the private runtime directory `dir`.
fn on_demo(program: impl AsRef<std::ffi::OsStr>, args: &[&str], dir: &Dir) -> Command {
    let mut c = cmd(program, args);
    c.env("QNXSIM_KERNEL", "demo")
        .env("XDG_RUNTIME_DIR", &dir.0);
    c
}

/// Runs `cmd` (stdin empty) for at most [`WITHIN`].
fn run(cmd: Command) -> Outcome {
    bounded_with(cmd, b"", WITHIN)
}

/// A program running in the background, as `prog &` in a shell, its output going to files;
/// killed (SIGKILL) when dropped, whatever happened.
struct Bg {
    child: Option<Child>,
    out: PathBuf,
    err: PathBuf,
    what: String,
}

impl Bg {
    fn start(mut cmd: Command, dir: &Dir, name: &str) -> Bg {
        let out = dir.join(&format!("{name}.out"));
        let err = dir.join(&format!("{name}.err"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Bg {
            child: Some(child),
            out,
            err,
            what: name.to_string(),
        }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn show(&self) -> String {
        format!(
            "{}: stdout:\n{}\nstderr:\n{}",
            self.what,
            self.stdout(),
            self.stderr()
        )
    }

    /// Waits (at most [`WITHIN`]) until its stdout (or, with `err`, its stderr) satisfies
    /// `ok`, and returns it; fails the test, showing the output, if it does not.
    fn wait_for(&mut self, err: bool, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + WITHIN;
        loop {
            let text = if err { self.stderr() } else { self.stdout() };
            if ok(&text) {
                return text;
            }
            let ended = self.child.as_mut().unwrap().try_wait().unwrap();
            if ended.is_some() || Instant::now() > until {
                // (One more look: it may have written it as it ended.)
                let text = if err { self.stderr() } else { self.stdout() };
                if ok(&text) {
                    return text;
                }
                panic!("{what}: not seen (ended: {ended:?})\n{}", self.show());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `sig` and waits (at most [`WITHIN`]) for the end: its status, None if it had to
    /// be killed.
    fn signal_and_wait(&mut self, sig: Signal) -> Option<ExitStatus> {
        let _ = kill(Pid::from_raw(self.pid()), sig);
        self.wait()
    }

    /// Waits (at most [`WITHIN`]) for the end: its status, None if it had to be killed.
    fn wait(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut().unwrap();
        let until = Instant::now() + WITHIN;
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() > until {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The first number after `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> Option<i64> {
    let at = text.find(prefix)? + prefix.len();
    let digits: String = text[at..]
        .chars()
        .skip_while(|c| *c == ' ')
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// The labels (`<text>` contents) of an SVG chart, in document order.
fn svg_labels(svg: &str) -> Vec<String> {
    let mut v = Vec::new();
    let mut rest = svg;
    while let Some(at) = rest.find("<text") {
        rest = &rest[at..];
        let Some(gt) = rest.find('>') else { break };
        let Some(end) = rest.find("</text>") else {
            break;
        };
        if gt < end {
            v.push(
                rest[gt + 1..end]
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            );
        }
        rest = &rest[end + 7..];
    }
    v
}

// --------------------------------------------------------------- chapter 1: srr-demo

// docs/tutorial.md, chapter 1, lines 17-134 ("Run the demo", "The server waits", "A client
// sends; others queue"), 104-116 ("The queue is served by priority") and 179-189 (part 2's
// report): what `srr-demo` prints, line for line where the tutorial shows it.
#[test]
fn ch1_srr_demo_prints_the_three_blocked_states_as_shown() {
    let r = run(cmd(SRR_DEMO, &[]));
    r.assert_ok("srr-demo");
    let o = &r.stdout;
    for block in [
        // lines 48-53
        "--- the server waits for work: RECEIVE-blocked on its channel\n   PID  TID   PRI  BASE  STATE\n     2    1    10    10  RECEIVE (chid 1)\nchannel pid 2 chid 1: 0 queued, 1 receiving, flags 0x0\n",
        // lines 90-105 (the tutorial's "..." stands for the last two coids)
        "server: received \"first\" from pid 3 tid 1 (priority 10); holding the reply\n--- client tid 1 was received: REPLY-blocked; the others queue SEND-blocked (server boosted to the highest)\n   PID  TID   PRI  BASE  STATE\n     2    1    15    10  RUNNING\n     3    1    10    10  REPLY (pid 2 chid 1, received by tid 1)\n     3    2    11    11  SEND (pid 2 chid 1)\n     3    3    15    15  SEND (pid 2 chid 1)\n     3    4    11    11  SEND (pid 2 chid 1)\nchannel pid 2 chid 1: 3 queued, 0 receiving, flags 0x0\n  send queue: pid 3 tid 3 pri 15, pid 3 tid 2 pri 11, pid 3 tid 4 pri 11\ncoid 0x40000001 of pid 3 -> pid 2 chid 1 (scoid 0x40000001)\ncoid 0x40000002 of pid 3 -> pid 2 chid 1 (scoid 0x40000001)\ncoid 0x40000003 of pid 3 -> pid 2 chid 1 (scoid 0x40000001)\ncoid 0x40000004 of pid 3 -> pid 2 chid 1 (scoid 0x40000001)\n",
        // lines 125-130
        "server: received \"urgent\" from tid 3 at priority 15\nserver: received \"second\" from tid 2 at priority 11\nserver: received \"fourth\" from tid 4 at priority 11\n(the queue was served by priority: \"urgent\" at 15 before the 11s, FIFO among equals)\n",
        // lines 195-202 (the figures vary; these words do not)
        "--- round trips: 3 client thread(s) x 20000, 64-byte message and reply, threads unpinned\n",
        "(MsgSend + MsgReceive + MsgReply = 3 calls per round trip when the server never waits;",
        "client pid 3: 60000 sent, server pid 2: 60000 received, 60000 replies, 3 closing pulse(s)\n",
    ] {
        assert!(o.contains(block), "missing:\n{block}\nin:\n{}", r.show());
    }
    // line 208: "Each round trip is three kernel entries" (a few more in all, spread over
    // 60000 round trips: 3.00).
    assert!(
        o.contains("kernel       3.00 kernel entries, "),
        "{}",
        r.show()
    );
    // line 199: wake-ups and blocks per round trip, and the hand-off's share of them.
    for part in [
        "wake-ups (",
        " of them by clients for each other), ",
        "blocks per round trip",
    ] {
        assert!(o.contains(part), "{part}: {}", r.show());
    }
}

// docs/tutorial.md, chapter 1, lines 232-240 ("The demo's options"): each option's range, and
// --rounds 0 "says there were none to time"; lines 242-245: "A value out of range is refused
// before anything runs, with an error that names the option and its range (exit status 2);
// so is a --trace or --diagram path that cannot be written".
#[test]
fn ch1_srr_demo_options_and_refusals() {
    for (args, option, range) in [
        (&["--clients", "0"][..], "--clients", "1..=64"),
        (&["--clients", "65"], "--clients", "1..=64"),
        (&["--rounds", "1000000001"], "--rounds", "0..=1000000000"),
        (&["--size", "65537"], "--size", "0..=65536"),
        (&["--size", "-1"], "--size", "0..=65536"),
    ] {
        let r = run(cmd(SRR_DEMO, args));
        assert_eq!(r.code(), Some(2), "{args:?}:\n{}", r.show());
        assert!(
            r.stderr.contains(option) && r.stderr.contains(range),
            "{args:?}: the error names the option and its range:\n{}",
            r.show()
        );
        assert_eq!(r.stdout, "", "{args:?}: refused before anything runs");
    }
    // A student's typo: clap suggests the right name.
    let r = run(cmd(SRR_DEMO, &["--client", "3"]));
    assert_eq!(r.code(), Some(2), "{}", r.show());
    assert!(r.stderr.contains("--clients"), "{}", r.show());
    // lines 243-245: the tutorial's example of an unwritable --trace path.
    let r = run(cmd(SRR_DEMO, &["--trace", "/tmp"]));
    assert_eq!(r.code(), Some(2), "{}", r.show());
    assert!(
        r.stderr
            .starts_with("srr-demo: --trace /tmp: is a directory, not a regular file"),
        "{}",
        r.show()
    );
    let r = run(cmd(SRR_DEMO, &["--diagram", "/tmp"]));
    assert_eq!(r.code(), Some(2), "{}", r.show());
    assert!(r.stderr.contains("--diagram /tmp"), "{}", r.show());
    // line 237: --rounds 0 says there were none to time; line 230: any --size works, 0 too.
    let r = run(cmd(SRR_DEMO, &["--rounds", "0", "--clients", "64"]));
    r.assert_ok("--rounds 0 --clients 64");
    assert!(
        r.stdout
            .contains("no round trips (--rounds 0): nothing to time")
            && r.stdout.contains("64 closing pulse(s)"),
        "{}",
        r.show()
    );
    let r = run(cmd(SRR_DEMO, &["--size", "0", "--rounds", "10"]));
    r.assert_ok("--size 0");
    assert!(
        r.stdout.contains("0-byte message and reply"),
        "{}",
        r.show()
    );
}

// docs/tutorial.md, chapter 1, line 242: "A value out of range is refused ... with an error
// that names the option and its range": a negative --rounds too (it was once refused with only
// "invalid digit found in string", parsed as an unsigned number before its range was checked).
#[test]
fn ch1_srr_demo_names_the_range_of_a_negative_rounds() {
    let r = run(cmd(SRR_DEMO, &["--rounds", "-1"]));
    assert_eq!(r.code(), Some(2), "{}", r.show());
    assert!(r.stderr.contains("0..=1000000000"), "{}", r.show());
}

// docs/tutorial.md, chapter 1, lines 173-175 ("--step pauses at the end of each kernel call
// and shows it, the threads' states before and after, and whom it woke (`pid 2 tid 1: RECEIVE
// -> READY (woken by this MsgSend)`); Enter goes on, `q` Enter runs to the end. Try `--clients
// 1 --rounds 1 --step`").
#[test]
fn ch1_srr_demo_step_mode_as_described() {
    // Enter at every step.
    let enters = vec![b'\n'; 400];
    let r = bounded_with(
        cmd(SRR_DEMO, &["--clients", "1", "--rounds", "1", "--step"]),
        &enters,
        WITHIN,
    );
    r.assert_ok("--step with Enter at every step");
    let o = &r.stdout;
    for part in [
        "[Enter: next step, q Enter: run to the end]",
        "    before: ",
        "    after: ",
        "pid 2 tid 1: RECEIVE -> READY (woken by this MsgSend)",
    ] {
        assert!(o.contains(part), "{part}:\n{}", r.show());
    }
    // q Enter at the second step: the run goes on to its end without asking again.
    let r = bounded_with(
        cmd(SRR_DEMO, &["--clients", "1", "--rounds", "1", "--step"]),
        b"\nq\n",
        WITHIN,
    );
    r.assert_ok("--step, then q");
    assert_eq!(
        r.stdout.matches("[Enter: next step").count(),
        2,
        "{}",
        r.show()
    );
    assert!(
        r.stdout.contains("1 closing pulse(s)"),
        "the run went on to its end:\n{}",
        r.show()
    );
}

// docs/tutorial.md, chapter 1, lines 137-171 ("Seeing it happen"): --diagram draws the
// queued clients and the closing pulses; --trace writes a Perfetto timeline whose processes
// are groups named after their pid, each thread with a calls row and a states row, the
// calls linked by arrows, and priority changes as markers (`priority 15 (boost)` when the
// priority-15 client queues, `priority 11 (inherit)` when the server takes "second").
#[test]
fn ch1_srr_demo_diagram_and_trace_hold_what_the_tutorial_says() {
    let d = Dir::new("tut-ch1-views");
    let svg = d.join("ch1.svg");
    let trace = d.join("t.json");
    let r = run(cmd(
        SRR_DEMO,
        &[
            "--clients",
            "3",
            "--rounds",
            "0",
            "--diagram",
            svg.to_str().unwrap(),
            "--trace",
            trace.to_str().unwrap(),
        ],
    ));
    r.assert_ok("srr-demo --diagram --trace");
    let labels = svg_labels(&std::fs::read_to_string(&svg).expect("the chart"));
    let count = |what: &str| labels.iter().filter(|l| l.starts_with(what)).count();
    assert_eq!(count("MsgSend 5 B"), 1, "\"first\": {labels:?}");
    assert_eq!(
        count("MsgSend 6 B to pid 2 (queued)"),
        3,
        "three clients queue SEND-blocked: {labels:?}"
    );
    assert_eq!(count("MsgReply"), 4, "{labels:?}");
    assert_eq!(
        count("pulse code 1, value 0"),
        3,
        "the three closing pulses, each drawn at its receive (and a queued one also where it was \
         sent): {labels:?}"
    );
    for legend in [
        "SEND-blocked (sent, not yet received)",
        "RECEIVE-blocked (waiting for a message)",
        "REPLY-blocked (received, not yet answered)",
    ] {
        assert!(labels.iter().any(|l| l == legend), "{legend}: {labels:?}");
    }

    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).expect("the timeline")).unwrap();
    let events = t
        .get("traceEvents")
        .and_then(|e| e.as_array())
        .cloned()
        .or_else(|| t.as_array().cloned())
        .expect("trace events");
    let named = |ph: &str, name: &str| {
        events
            .iter()
            .any(|e| e["ph"] == ph && (e["name"] == name || e["args"]["name"] == name))
    };
    // processes: "process 2 (server)", "process 3 (clients)"
    assert!(named("M", "process 2 (server)"), "process group names");
    assert!(named("M", "process 3 (clients)"), "process group names");
    assert!(named("M", "thread 1") && named("M", "thread 1 states"));
    for call in ["MsgSend", "MsgReceive", "MsgReply"] {
        assert!(named("B", call), "the {call} slices");
    }
    for state in ["RUNNING", "READY", "SEND", "RECEIVE", "REPLY"] {
        assert!(named("B", state), "the {state} spans");
    }
    for flow in ["s", "f"] {
        assert!(named(flow, "exchange"), "the arrows from a MsgSend on");
    }
    assert!(named("i", "priority 15 (boost)"), "the boost marker");
    assert!(named("i", "priority 11 (inherit)"), "the inherit marker");
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "C" && e["args"]["priority"].is_number()),
        "the priority counter"
    );
}

// docs/tutorial.md, chapter 1, lines 254-262 ("Errors you will meet"): the errno of each
// mistake the table lists (running out of objects aside).
#[test]
fn ch1_errors_you_will_meet() {
    use userlib::qnx::*;
    use userlib::{Config, Errno, Kernel, Process};
    let kernel = Kernel::new(Config::default()).unwrap();
    let server = Process::new_in(&kernel).unwrap();
    let client = Process::new_in(&kernel).unwrap();
    let spid = server.pid();
    let k = kernel.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let srv = server
        .spawn(move || -> Result<(), Errno> {
            let chid = channel_create(0)?;
            // MsgReceive on a chid that does not exist: ESRCH
            let mut buf = [0u8; 64];
            assert_eq!(
                msg_receive(chid + 7, &mut buf, None).err(),
                Some(Errno::ESRCH)
            );
            tx.send(chid).unwrap();
            // reply twice to one rcvid: ESRCH
            timer_timeout(
                userlib::consts::CLOCK_MONOTONIC,
                userlib::consts::_NTO_TIMEOUT_RECEIVE,
                Some(10_000_000_000),
            )?;
            let rcvid = msg_receive(chid, &mut buf, None)?;
            msg_reply(rcvid, 0, b"")?;
            assert_eq!(msg_reply(rcvid, 0, b"").err(), Some(Errno::ESRCH));
            // destroy the channel while a client waits on it (SEND-blocked): the client's
            // MsgSend fails with ESRCH
            tx.send(chid).unwrap();
            let queued = format!("SEND (pid {spid} chid {chid})");
            let until = Instant::now() + WITHIN;
            while !k.listing().to_string().contains(&queued) {
                assert!(Instant::now() < until, "the client never queued");
                std::thread::sleep(Duration::from_millis(2));
            }
            channel_destroy(chid)?;
            tx.send(-1).unwrap();
            Ok(())
        })
        .unwrap();
    let cli = client
        .spawn(move || -> Result<(), Errno> {
            let chid = rx.recv().unwrap();
            let coid = connect_attach(0, spid, chid, userlib::consts::_NTO_SIDE_CHANNEL, 0)?;
            msg_send(coid, b"one", &mut [])?;
            rx.recv().unwrap();
            timer_timeout(
                userlib::consts::CLOCK_MONOTONIC,
                userlib::consts::_NTO_TIMEOUT_SEND | userlib::consts::_NTO_TIMEOUT_REPLY,
                Some(10_000_000_000),
            )?;
            assert_eq!(msg_send(coid, b"two", &mut []).err(), Some(Errno::ESRCH));
            rx.recv().unwrap();
            // send on a coid whose channel was destroyed: EBADF
            assert_eq!(msg_send(coid, b"three", &mut []).err(), Some(Errno::EBADF));
            Ok(())
        })
        .unwrap();
    srv.join().unwrap().unwrap();
    cli.join().unwrap().unwrap();
}

// docs/tutorial.md, chapter 2, lines 427-430 ("Pulses"): "A receive buffer must hold a
// `struct _pulse` (24 bytes) or a pulse arriving fails the receive with `EFAULT`, and is lost
// (a `MsgSendPulse` ... that handed it to that waiting receiver fails with `ESRVRFAULT`)".
#[test]
fn ch2_a_pulse_into_a_short_buffer() {
    use userlib::qnx::*;
    use userlib::{Config, Errno, Kernel, Process};
    assert_eq!(userlib::PULSE_SIZE, 24);
    let kernel = Kernel::new(Config::default()).unwrap();
    let server = Process::new_in(&kernel).unwrap();
    let client = Process::new_in(&kernel).unwrap();
    let spid = server.pid();
    let (tx, rx) = std::sync::mpsc::channel();
    let srv = server
        .spawn(move || -> Result<(), Errno> {
            let chid = channel_create(0)?;
            tx.send(chid).unwrap();
            let mut short = [0u8; 16];
            timer_timeout(
                userlib::consts::CLOCK_MONOTONIC,
                userlib::consts::_NTO_TIMEOUT_RECEIVE,
                Some(10_000_000_000),
            )?;
            assert_eq!(
                msg_receive(chid, &mut short, None).err(),
                Some(Errno::EFAULT)
            );
            // ... and the pulse is lost: nothing is queued.
            let mut buf = [0u8; 64];
            timer_timeout(
                userlib::consts::CLOCK_MONOTONIC,
                userlib::consts::_NTO_TIMEOUT_RECEIVE,
                None,
            )?;
            assert_eq!(
                msg_receive(chid, &mut buf, None).err(),
                Some(Errno::ETIMEDOUT)
            );
            Ok(())
        })
        .unwrap();
    let k = kernel.clone();
    let cli = client
        .spawn(move || -> Result<(), Errno> {
            let chid = rx.recv().unwrap();
            let coid = connect_attach(0, spid, chid, userlib::consts::_NTO_SIDE_CHANNEL, 0)?;
            let waiting = format!("RECEIVE (chid {chid})");
            let until = Instant::now() + WITHIN;
            while !k.listing().to_string().contains(&waiting) {
                assert!(Instant::now() < until, "the server never waited");
                std::thread::sleep(Duration::from_millis(2));
            }
            assert_eq!(
                msg_send_pulse(coid, -1, 2, 42).err(),
                Some(Errno::ESRVRFAULT)
            );
            Ok(())
        })
        .unwrap();
    cli.join().unwrap().unwrap();
    srv.join().unwrap().unwrap();
}

// ---------------------------------------------------------- chapter 2: event-loop

// docs/tutorial.md, chapter 2, lines 357-402: what `event-loop` prints (in some order), its
// options' ranges, and what `--pidin` shows while the server holds the slow request.
#[test]
fn ch2_event_loop_runs_as_shown() {
    let r = run(cmd(EVENT_LOOP, &[]));
    r.assert_ok("event-loop");
    for line in [
        "client 1: echo returned 0, \"hello\"",
        "client 1: sent a pulse, leaving",
        "server: user pulse, code 2 value 42 from scoid 0x",
        ": delivering the event a client registered",
        "client 3: notified by pulse code 5 value 7",
        "the client timed out; answering EINTR",
        "server: MsgInfo flags 0x100 (_NTO_MI_UNBLOCK_REQ = 0x100)",
        "client 2: slow request with a 33.333333ms timeout returned Err(EINTR)",
        "summary: 3 messages, ",
        " timer ticks, 1 user pulse(s), 1 unblock pulse(s), 3 disconnect pulse(s), 1 notification(s)",
    ] {
        assert!(r.stdout.contains(line), "{line}:\n{}", r.show());
    }
    assert_eq!(
        r.stdout.matches("_PULSE_CODE_DISCONNECT for scoid").count(),
        3,
        "{}",
        r.show()
    );
    for (args, option) in [
        (&["--period-ms", "0"][..], "1..=1000"),
        (&["--period-ms", "1001"], "1..=1000"),
        (&["--slow-ticks", "2"], "3..=100"),
        (&["--slow-ticks", "101"], "3..=100"),
    ] {
        let r = run(cmd(EVENT_LOOP, args));
        assert_eq!(r.code(), Some(2), "{args:?}: {}", r.show());
        assert!(
            r.stderr.contains(args[0]) && r.stderr.contains(option),
            "{args:?}: {}",
            r.show()
        );
    }
    // lines 398-401: --pidin
    let r = run(cmd(EVENT_LOOP, &["--pidin"]));
    r.assert_ok("event-loop --pidin");
    for part in [
        "     4    1    10    10  REPLY (pid 2 chid 1, received by tid 1)",
        "     5    1    10    10  RECEIVE (chid 1)",
        "channel pid 2 chid 1: ",
        "flags 0xa (_NTO_CHF_UNBLOCK|_NTO_CHF_DISCONNECT)",
        "1 of 256 timers",
    ] {
        assert!(r.stdout.contains(part), "{part}:\n{}", r.show());
    }
}

// ------------------------------------------------------------- chapter 3: sensors

// docs/tutorial.md, chapter 3, lines 533-604: the two models' reports (the srr one with no
// batch, trigger or library figures), the options' ranges and refusals, and the --json fields
// with their nulls.
#[test]
fn ch3_sensors_reports_options_and_json() {
    let r = run(cmd(SENSORS, &["--duration-ms", "100"]));
    r.assert_ok("sensors");
    for part in [
        "model asyncmsg (trigger_num_msg 16, trigger_time 10 ms)",
        "messages sent ",
        "batches received ",
        "; sender triggers ",
        "kernel entries: producer ",
        "; library ",
        "sample-to-processing latency: p50 ",
        "every reading arrived exactly once, in order",
    ] {
        assert!(r.stdout.contains(part), "{part}:\n{}", r.show());
    }
    let r = run(cmd(SENSORS, &["--duration-ms", "100", "--model", "srr"]));
    r.assert_ok("sensors --model srr");
    assert!(
        r.stdout
            .contains("model srr (one MsgSend per reading, zero-byte reply)"),
        "{}",
        r.show()
    );
    // line 556: "The srr run has no batches, triggers or library"
    for absent in ["batches", "triggers", "library"] {
        assert!(!r.stdout.contains(absent), "{absent}:\n{}", r.show());
    }
    // lines 565-578: each option refused with a message that names it when out of range
    for (args, named) in [
        (&["--sensors", "0"][..], "--sensors"),
        (&["--sensors", "65537"], "--sensors"),
        (&["--rate", "1000001"], "--rate"),
        (&["--msg-size", "31"], "--msg-size"),
        (&["--msg-size", "65537"], "--msg-size"),
        (&["--duration-ms", "0"], "--duration-ms"),
        (&["--duration-ms", "3600001"], "--duration-ms"),
        (&["--model", "rpc"], "--model"),
        (&["--trigger-num-msg", "4097"], "--trigger-num-msg"),
        (&["--trigger-time-ms", "60001"], "--trigger-time-ms"),
        // line 580: asyncmsg needs at least one trigger
        (
            &["--trigger-num-msg", "0", "--trigger-time-ms", "0"],
            "--trigger-num-msg",
        ),
        // lines 580-581: --model srr refuses the trigger options
        (
            &["--model", "srr", "--trigger-num-msg", "8"],
            "--trigger-num-msg",
        ),
        (
            &["--model", "srr", "--trigger-time-ms", "5"],
            "--trigger-time-ms",
        ),
        // line 577: --pidin not with --json
        (&["--pidin", "--json"], "--json"),
    ] {
        let r = run(cmd(SENSORS, args));
        assert_eq!(r.code(), Some(2), "{args:?}: {}", r.show());
        assert!(r.stderr.contains(named), "{args:?}: {}", r.show());
    }
    // lines 595-604: the JSON fields
    let json = |args: &[&str]| -> serde_json::Value {
        let r = run(cmd(SENSORS, args));
        r.assert_ok("sensors --json");
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.show()))
    };
    let v = json(&["--json", "--duration-ms", "50"]);
    for field in [
        "model",
        "sensors",
        "rate",
        "msg_size",
        "trigger_num_msg",
        "trigger_time_ms",
        "duration_ms",
        "messages_sent",
        "messages_received",
        "requested_per_sensor",
        "rate_kept",
        "batches",
        "sender_triggers",
        "kernel_entries",
        "kernel_entries_per_message",
        "library_kernel_entries",
        "consumer_kernel_entries",
        "consumer_kernel_entries_per_message",
        "msgs_per_s",
        "elapsed_s",
        "lost",
        "duplicated",
        "bad",
        "latency_p50_us",
        "latency_p99_us",
        "latency_max_us",
        "ok",
        "per_sensor",
    ] {
        assert!(v.get(field).is_some(), "--json has no {field}: {v}");
    }
    for field in [
        "sensor",
        "readings",
        "min",
        "max",
        "mean",
        "lost",
        "duplicated",
    ] {
        assert!(
            v["per_sensor"][0].get(field).is_some(),
            "per_sensor {field}"
        );
    }
    let v = json(&["--json", "--duration-ms", "50", "--model", "srr"]);
    for field in [
        "trigger_num_msg",
        "trigger_time_ms",
        "batches",
        "sender_triggers",
        "library_kernel_entries",
    ] {
        assert!(v[field].is_null(), "{field} is null under srr: {v}");
    }
    assert!(v["kernel_entries"].is_number(), "{v}");
    let v = json(&["--json", "--duration-ms", "50", "--rate", "0"]);
    assert!(
        v["requested_per_sensor"].is_null() && v["rate_kept"].is_null(),
        "{v}"
    );
}

// docs/tutorial.md, chapter 3, lines 670-687 ("Seeing the batches"): the run the tutorial
// charts. Its batches carry the 24 readings (2 sensors x 200 per second x 60 ms) and the
// producer's end-of-run message: 25 messages in all, in thick batch arrows and no arrow per
// reading. (How they split into batches depends on timing.)
#[test]
fn ch3_sensors_chart_counts_the_readings_and_the_end_message() {
    let d = Dir::new("tut-ch3");
    let svg = d.join("ch3.svg");
    let r = run(cmd(
        SENSORS,
        &[
            "--sensors",
            "2",
            "--rate",
            "200",
            "--duration-ms",
            "60",
            "--trigger-num-msg",
            "8",
            "--diagram",
            svg.to_str().unwrap(),
        ],
    ));
    r.assert_ok("sensors --diagram");
    assert!(
        r.stdout
            .contains("messages sent 24 / received 24 (12 per sensor)"),
        "{}",
        r.show()
    );
    let labels = svg_labels(&std::fs::read_to_string(&svg).unwrap());
    let batched: i64 = labels
        .iter()
        .filter_map(|l| number_after(l, "asyncmsg batch: "))
        .sum();
    assert_eq!(
        batched, 25,
        "24 readings and the end-of-run message: {labels:?}"
    );
    assert!(
        !labels.iter().any(|l| l.starts_with("MsgSend")),
        "no arrow per reading: {labels:?}"
    );
}

// ------------------------------------------------------------- chapter 4: compare

// docs/tutorial.md, chapter 4, lines 739-772 ("Seeing it happen"): `compare --tiny --diagram
// ch4.svg` (and `--trace t.json`) draws a small traced run: four SRR round trips from the
// client (pid 3) to the server (pid 2), each a MsgSend and a MsgReply arrow, then sixteen
// asyncmsg messages from the producer (pid 5) to the consumer (pid 4) in batch arrows with
// their counts, and no arrow per message. (How the sixteen split into batches depends on
// timing.)
#[test]
fn ch4_compare_tiny_draws_the_traced_run() {
    let d = Dir::new("tut-ch4");
    let compare = tool("benches", "compare");
    let svg = d.join("ch4.svg");
    let json = d.join("t.json");
    let mut c = cmd(
        &compare,
        &[
            "--tiny",
            "--diagram",
            svg.to_str().unwrap(),
            "--trace",
            json.to_str().unwrap(),
        ],
    );
    c.current_dir(&d.0);
    let r = bounded_with(c, b"", Duration::from_secs(120));
    r.assert_ok("compare --tiny --diagram --trace");
    let labels = svg_labels(&std::fs::read_to_string(&svg).expect("ch4.svg"));
    assert!(
        labels[0].contains("SRR client pid 3 \u{2192} server pid 2, then asyncmsg producer pid 5 \u{2192} consumer pid 4"),
        "{labels:?}"
    );
    assert_eq!(
        labels.iter().filter(|l| *l == "MsgSend 64 B").count(),
        4,
        "{labels:?}"
    );
    assert_eq!(
        labels.iter().filter(|l| l.starts_with("MsgReply")).count(),
        4,
        "{labels:?}"
    );
    let batched: i64 = labels
        .iter()
        .filter_map(|l| number_after(l, "asyncmsg batch: "))
        .sum();
    assert_eq!(batched, 16, "sixteen messages in batch arrows: {labels:?}");
    for p in [
        "pid 4 / tid 1",
        "pid 4 / tid 2",
        "pid 5 / tid 1",
        "pid 5 / tid 2",
    ] {
        assert!(labels.iter().any(|l| l == p), "{p}: {labels:?}");
    }
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("t.json")).unwrap();
    assert!(
        t.to_string().contains("MsgSend"),
        "the timeline holds the calls"
    );
}

// ----------------------------------------------- chapter 5: several programs, one kernel

// docs/tutorial.md, chapter 5, lines 797-862: echo-server and echo-client on the kernel
// `demo` (the first program starts its supervisor), pidin-sim's listing once the client has
// gone, --fill 70000 and a message over 16 MiB; lines 864-878: pidin-sim recording with
// --diagram and --trace until SIGINT.
#[test]
fn ch5_echo_programs_pidin_and_recording() {
    let d = Dir::new("tut-ch5");
    let pidin = pidin_sim();
    let mut server = Bg::start(on_demo(ECHO_SERVER, &[], &d), &d, "echo-server");
    let first = server.wait_for(false, "echo-server: pid N chid 1", |o| {
        o.contains(" chid 1\n")
    });
    let pid = number_after(&first, "echo-server: pid ").expect("the server's pid");
    assert_eq!(first, format!("echo-server: pid {pid} chid 1\n"));
    let pid_s = pid.to_string();

    // lines 820-826
    let r = run(on_demo(ECHO_CLIENT, &[&pid_s, "1", "hello", "world"], &d));
    r.assert_ok("echo-client");
    assert_eq!(r.stdout, "HELLO WORLD\n", "{}", r.show());
    server.wait_for(false, "the disconnect", |o| {
        o.contains("echo-server: a client disconnected (1 so far)\n")
    });
    // lines 857-862: the server's log
    let log = server.stdout();
    let client_pid = number_after(&log, "5 bytes from pid ").unwrap();
    assert!(
        log.contains(&format!(
            "echo-server: 5 bytes from pid {client_pid} tid 1\necho-server: 5 bytes from pid {client_pid} tid 1\necho-server: a client disconnected (1 so far)\n"
        )),
        "{}",
        server.show()
    );

    // lines 836-856: pidin-sim, once the server is back in MsgReceive
    let until = Instant::now() + WITHIN;
    let listing = loop {
        let r = run(on_demo(&pidin, &[], &d));
        r.assert_ok("pidin-sim");
        if r.stdout.contains("0 queued, 1 receiving") || Instant::now() > until {
            break r.stdout;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for part in [
        "     PID THREADS   KENTRIES      SENT  RECEIVED  REPLIES TRIGGERS    A-SENT A-RECEIVED NAME\n",
        &format!("{pid:>8}       1         12         0         2        2        0         0          0 echo-server\n"),
        "   PID  TID   PRI  BASE  STATE\n",
        &format!("{pid:>6}    1    10    10  RECEIVE (chid 1)\n"),
        &format!("channel pid {pid} chid 1: 0 queued, 1 receiving, flags 0x8 (_NTO_CHF_DISCONNECT)\n"),
        "kernel entries 18 | in use: 1 of 64 processes, 1 of 1024 threads, 1 of 512 channels, 0 of 4096 connections, 0 of 4096 pulses, 0 of 256 timers, 0 of 256 names, 0 of 64 interrupt attachments\n",
        "asyncmsg queue pages: 0 of 4096 in use, 0 of them send buffers\n",
    ] {
        assert!(listing.contains(part), "missing:\n{part}\nin:\n{listing}");
    }

    // lines 831-835: --fill 70000 arrives in part and is read whole; over 16 MiB is refused
    // with EMSGSIZE, and the server serves on.
    let r = run(on_demo(ECHO_CLIENT, &[&pid_s, "1", "--fill", "70000"], &d));
    r.assert_ok("echo-client --fill 70000");
    assert!(
        r.stdout.contains("70000 bytes echoed whole"),
        "{}",
        r.show()
    );
    let r = run(on_demo(
        ECHO_CLIENT,
        &[&pid_s, "1", "--fill", "16777217"],
        &d,
    ));
    assert_eq!(r.code(), Some(1), "{}", r.show());
    assert!(r.stderr.contains("EMSGSIZE"), "{}", r.show());
    let r = run(on_demo(ECHO_CLIENT, &[&pid_s, "1", "still"], &d));
    r.assert_ok("echo-client after the refusal");
    assert_eq!(r.stdout, "STILL\n");

    // lines 873-877: record until SIGINT, both files written
    let svg = d.join("ch5.svg");
    let json = d.join("ch5.json");
    let mut rec = Bg::start(
        on_demo(
            &pidin,
            &[
                "--diagram",
                svg.to_str().unwrap(),
                "--trace",
                json.to_str().unwrap(),
            ],
            &d,
        ),
        &d,
        "pidin-sim-record",
    );
    rec.wait_for(true, "recording", |e| e.contains("recording the kernel"));
    let r = run(on_demo(ECHO_CLIENT, &[&pid_s, "1", "hello", "world"], &d));
    r.assert_ok("echo-client while recording");
    server.wait_for(false, "the disconnect", |o| {
        o.contains("a client disconnected (5 so far)")
    });
    let status = rec.signal_and_wait(Signal::SIGINT);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", rec.show());
    let labels = svg_labels(&std::fs::read_to_string(&svg).expect("ch5.svg"));
    assert!(
        labels.contains(&format!("echo-server, pid {pid}")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.starts_with("echo-client, pid ")),
        "{labels:?}"
    );
    assert_eq!(labels.iter().filter(|l| *l == "MsgSend 5 B").count(), 2);
    assert!(
        labels.contains(&"pulse _PULSE_CODE_DISCONNECT, value 0".to_string()),
        "{labels:?}"
    );
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("ch5.json")).unwrap();
    assert!(
        t.to_string().contains("MsgSend"),
        "the timeline holds the calls"
    );

    // line 903: --quit ends the server
    let r = run(on_demo(ECHO_CLIENT, &["--quit", &pid_s, "1"], &d));
    r.assert_ok("echo-client --quit");
    assert_eq!(
        server.wait().and_then(|s| s.code()),
        Some(0),
        "{}",
        server.show()
    );
    assert!(server
        .stdout()
        .contains("echo-server: asked to quit by pid "));
}

// docs/tutorial.md, chapter 5, lines 894-910 (the experiments): the supervisor run by hand
// with its log, a client killed while REPLY-blocked (the server's MsgReply fails with ESRCH,
// logged, and it serves on), and a server killed under a REPLY-blocked client (its MsgSend
// fails with ESRCH).
#[test]
fn ch5_experiments_supervisor_kill_client_kill_server() {
    let d = Dir::new("tut-ch5x");
    let pidin = pidin_sim();
    let procnto = tool("procnto-sim", "procnto-sim");
    // line 902: RUST_LOG=debug ./procnto-sim --kernel demo --stay
    let mut sup = Bg::start(
        {
            let mut c = on_demo(&procnto, &["--kernel", "demo", "--stay"], &d);
            c.env("RUST_LOG", "debug");
            c
        },
        &d,
        "procnto-sim",
    );
    sup.wait_for(true, "serving", |e| e.contains("serving the kernel"));

    // experiment 3 (lines 905-910), with a shorter hold
    let mut server = Bg::start(
        on_demo(ECHO_SERVER, &["--hold-ms", "3000"], &d),
        &d,
        "echo-server",
    );
    let first = server.wait_for(false, "the pid", |o| o.contains(" chid 1\n"));
    let pid = number_after(&first, "echo-server: pid ").unwrap();
    let pid_s = pid.to_string();
    let mut client = Bg::start(
        on_demo(ECHO_CLIENT, &[&pid_s, "1", "hello"], &d),
        &d,
        "client",
    );
    let cpid = client.pid();
    let reply_blocked =
        format!("{cpid:>6}    1    10    10  REPLY (pid {pid} chid 1, received by tid 1)");
    let until = Instant::now() + WITHIN;
    loop {
        let r = run(on_demo(&pidin, &[], &d));
        if r.stdout.contains(&reply_blocked) {
            break;
        }
        assert!(Instant::now() < until, "never REPLY-blocked:\n{}", r.show());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(client.signal_and_wait(Signal::SIGKILL).is_some());
    server.wait_for(false, "the ESRCH and the disconnect", |o| {
        o.contains(&format!(
            "echo-server: pid {cpid} tid 1 is gone (ESRCH): no reply\n"
        )) && o.contains("a client disconnected (1 so far)")
    });
    let r = run(on_demo(ECHO_CLIENT, &[&pid_s, "1", "next"], &d));
    r.assert_ok("the next client");
    assert_eq!(r.stdout, "NEXT\n");

    // experiment 1 (lines 896-900): kill -9 the server under a REPLY-blocked client
    let mut client = Bg::start(
        on_demo(ECHO_CLIENT, &[&pid_s, "1", "hang"], &d),
        &d,
        "client2",
    );
    let cpid = client.pid();
    let reply_blocked = format!("{cpid:>6}    1    10    10  REPLY (pid {pid} chid 1");
    let until = Instant::now() + WITHIN;
    loop {
        let r = run(on_demo(&pidin, &[], &d));
        if r.stdout.contains(&reply_blocked) {
            break;
        }
        assert!(Instant::now() < until, "never REPLY-blocked:\n{}", r.show());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.signal_and_wait(Signal::SIGKILL).is_some());
    let status = client.wait();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{}", client.show());
    assert!(
        client.stderr().contains("MsgSend failed: ESRCH"),
        "{}",
        client.show()
    );

    // lines 902-903: each program's admission and end appears in the supervisor's log
    let status = sup.signal_and_wait(Signal::SIGINT);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", sup.show());
    let log = sup.stderr() + &sup.stdout();
    for p in [pid, cpid as i64] {
        assert!(log.contains(&format!("admitted pid={p}")), "{log}");
        assert!(
            log.contains(&format!("program ended: its processes torn down pid={p}")),
            "{log}"
        );
    }
}

// docs/tutorial.md, chapter 5, lines 959-967: a --processes run ended by Ctrl-C exits with
// 130, saying so, and removes its kernel's directory; a killed server is named first, then
// the program that failed because of it.
#[test]
fn ch5_srr_demo_processes_ends_as_described() {
    let d = Dir::new("tut-ch5-processes");
    let mut demo = Bg::start(
        cmd(SRR_DEMO, &["--processes", "--rounds", "1000000000"]),
        &d,
        "srr-demo-int",
    );
    demo.wait_for(false, "part 2", |o| {
        o.contains("(part 2: client program pid")
    });
    let status = demo.signal_and_wait(Signal::SIGINT);
    assert_eq!(status.and_then(|s| s.code()), Some(130), "{}", demo.show());
    let said = demo.stderr();
    let prefix = "srr-demo: SIGINT: ended the run's 2 program(s) and removed its kernel (";
    let at = said
        .find(prefix)
        .unwrap_or_else(|| panic!("{}", demo.show()));
    let dir = said[at + prefix.len()..]
        .split(')')
        .next()
        .unwrap()
        .to_string();
    assert!(
        dir.ends_with(&format!("qnxsim-srr-demo-{}", demo.pid())),
        "{}",
        demo.show()
    );
    assert!(!Path::new(&dir).exists(), "{dir} left behind");

    let mut demo = Bg::start(
        cmd(SRR_DEMO, &["--processes", "--rounds", "1000000000"]),
        &d,
        "srr-demo-kill",
    );
    let out = demo.wait_for(false, "part 2", |o| {
        o.contains("(part 2: client program pid")
    });
    let server = number_after(&out, "server program pid ").unwrap();
    let client = number_after(&out, "(part 2: client program pid ").unwrap();
    let _ = kill(Pid::from_raw(server as i32), Signal::SIGKILL);
    let status = demo.wait();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{}", demo.show());
    assert!(
        demo.stderr().contains(&format!(
            "srr-demo: the server program (pid {server}) was killed by SIGKILL; then the part-2 client program (pid {client}) exited with status 1"
        )),
        "{}",
        demo.show()
    );
}

// docs/tutorial.md, chapter 5, lines 923-958: `sensors --processes --pidin` shows the
// asyncmsg channel and connection, and the region's queue pages.
#[test]
fn ch5_sensors_processes_pidin_shows_the_asyncmsg_queue() {
    let r = run(cmd(
        SENSORS,
        &["--processes", "--pidin", "--duration-ms", "400"],
    ));
    r.assert_ok("sensors --processes --pidin");
    for part in [
        // (whether the consumer is receiving at that moment depends on timing)
        " receiving, flags 0x400 (_NTO_CHF_ASYNC)\n  asyncmsg: 256 buffers of 64 bytes per receive; ready list: ",
        " chid 2 (scoid 0x",
        "), flags 0x40 (_NTO_COF_NOSHARE)\n  asyncmsg: ",
        " pending (",
        " in flight, ",
        " untriggered), ",
        " unreleased, ",
        " batches, ",
        // (", on the ready list" follows when the connection is on it at that moment)
        " taken",
        "asyncmsg queue pages: 38 of 4096 in use, 0 of them send buffers\n",
    ] {
        assert!(r.stdout.contains(part), "missing {part:?}:\n{}", r.show());
    }
}

// ---------------------------------------------- chapter 6: a resource manager

/// The lines of dev-sample-client's run, as the tutorial shows them (lines 1167-1181), for
/// the uid the server runs as.
fn dev_sample_client_lines(uid: u32) -> String {
    format!(
        "open(\"/dev/sample\", O_RDWR) = fd 0x40000001
write(fd, \"hello, world\") = 12
lseek(fd, 0, SEEK_SET) = 0
read(fd, buf, 76) = 12: \"hello, world\"
devctl(fd, DCMD_SAMPLE_GET_SIZE) = EOK: size 12
devctl(fd, DCMD_SAMPLE_CLEAR) = EOK: the device is empty
ionotify(fd, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT) = 0x0: nothing to read, armed
  another thread: open, write(fd2, \"more\") = 4, close
pulse: code -6 (SI_NOTIFY), value 0x10000000 (_NOTIFY_COND_INPUT): something to read
ionotify(fd, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT) = 0x10000000
fstat(fd): size 4, mode 0o20666 (a character device), owner uid {uid}
close(fd) = EOK
dev-sample-client: every step did what it should
"
    )
}

// docs/tutorial.md, chapter 6, lines 1147-1250: dev-sample and dev-sample-client on the
// kernel `demo`: the client's steps, the server's log, pidin-sim's listing, --path and
// --help, and a --hold client killed (its open closed by the disconnect pulse); lines
// 1251-1282: pidin-sim --diagram of it, each call one I/O message.
#[test]
fn ch6_dev_sample_runs_as_shown() {
    let d = Dir::new("tut-ch6");
    let pidin = pidin_sim();
    let mut server = Bg::start(on_demo(DEV_SAMPLE, &[], &d), &d, "dev-sample");
    let first = server.wait_for(false, "serving", |o| o.contains("serving /dev/sample"));
    let pid = number_after(&first, "dev-sample: pid ").unwrap();
    assert_eq!(
        first,
        format!("dev-sample: pid {pid} serving /dev/sample (a pool of 2 to 4 threads)\n")
    );

    let r = run(on_demo(DEV_SAMPLE_CLIENT, &[], &d));
    r.assert_ok("dev-sample-client");
    let uid = nix::unistd::getuid().as_raw();
    assert_eq!(r.stdout, dev_sample_client_lines(uid), "{}", r.show());
    let log = server.wait_for(false, "the closes", |o| o.contains("closed (0 open)"));
    let cpid = log
        .lines()
        .nth(1)
        .and_then(|l| number_after(l, "dev-sample: pid "))
        .expect("the client's pid");
    // lines 1192-1202: the server's log
    let expected = format!(
        "dev-sample: pid {cpid} opened it (1 open)
dev-sample: pid {cpid} wrote 12 bytes at offset 0; the device holds 12
dev-sample: pid {cpid} asked the size: 12
dev-sample: pid {cpid} cleared the device
dev-sample: pid {cpid} armed for notification
dev-sample: pid {cpid} opened it (2 open)
dev-sample: pid {cpid} wrote 4 bytes at offset 0; the device holds 4
dev-sample: an OCB of pid {cpid} closed (1 open)
dev-sample: an OCB of pid {cpid} closed (0 open)
"
    );
    assert!(
        log.contains(&expected),
        "expected:\n{expected}\n{}",
        server.show()
    );

    // lines 1204-1220: pidin-sim shows the pool RECEIVE-blocked and the path
    let listing = run(on_demo(&pidin, &[], &d));
    listing.assert_ok("pidin-sim");
    let l = &listing.stdout;
    assert!(
        l.contains(&format!(
            "channel pid {pid} chid 1: 0 queued, "
        )) && l.contains(" receiving, flags 0x4a (_NTO_CHF_UNBLOCK|_NTO_CHF_DISCONNECT|_NTO_CHF_COID_DISCONNECT)\n  paths: /dev/sample\n"),
        "{l}"
    );
    let threads: Vec<&str> = l
        .lines()
        .filter(|line| line.starts_with(&format!("{pid:>6}    ")))
        .collect();
    // main, and the pool's waiting threads: between lo_water (2) and hi_water (4)
    assert!((3..=5).contains(&threads.len()), "main and the pool: {l}");
    // Thread 1 is main, in delay() between its looks at the clock: NANOSLEEP (lines 1217-1218).
    assert_eq!(
        threads[0],
        format!("{pid:>6}    1    10    10  NANOSLEEP"),
        "{l}"
    );
    for t in &threads[1..] {
        assert!(t.ends_with("  RECEIVE (chid 1)"), "a pool thread: {t}\n{l}");
    }

    // lines 1257-1262: record while a --hold client runs every step, holds a second open
    // and is killed
    let svg = d.join("ch6.svg");
    let mut rec = Bg::start(
        on_demo(
            &pidin,
            &["--diagram", svg.to_str().unwrap(), "--rows", "40"],
            &d,
        ),
        &d,
        "pidin-sim-record",
    );
    rec.wait_for(true, "recording", |e| e.contains("recording the kernel"));

    // lines 1225-1244: --hold, then kill -9
    let mut held = Bg::start(
        on_demo(DEV_SAMPLE_CLIENT, &["--hold", "60"], &d),
        &d,
        "held",
    );
    let hpid = held.pid();
    let out = held.wait_for(false, "holding", |o| o.contains("holding fd"));
    assert!(
        out.ends_with(&format!(
            "holding fd 0x40000001 open for 60 s (pid {hpid})\n"
        )),
        "{}",
        held.show()
    );
    assert!(held.signal_and_wait(Signal::SIGKILL).is_some());
    let log = server.wait_for(false, "the held open closed", |o| {
        o.ends_with(&format!(
            "dev-sample: pid {hpid} opened it (1 open)\ndev-sample: an OCB of pid {hpid} closed (0 open)\n"
        ))
    });
    assert!(log.contains("closed (0 open)"));

    // the chart (lines 1268-1282)
    let status = rec.signal_and_wait(Signal::SIGINT);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", rec.show());
    let labels = svg_labels(&std::fs::read_to_string(&svg).expect("ch6.svg"));
    let messages: Vec<&str> = labels
        .iter()
        .filter(|l| l.starts_with("_IO_") || l.starts_with("pulse "))
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    // (The notification pulse's row depends on when the client's first thread takes it.)
    let messages: Vec<&str> = messages.into_iter().filter(|m| *m != "pulse").collect();
    let first_client = [
        "_IO_CONNECT",
        "_IO_WRITE",
        "_IO_LSEEK",
        "_IO_READ",
        "_IO_DEVCTL",
        "_IO_DEVCTL",
        "_IO_NOTIFY",
        "_IO_CONNECT",
        "_IO_LSEEK",
        "_IO_WRITE",
        "_IO_CLOSE",
        "_IO_NOTIFY",
        "_IO_STAT",
        "_IO_CLOSE",
        "_IO_CONNECT",
    ];
    assert!(
        messages.len() >= first_client.len() && messages[..first_client.len()] == first_client,
        "{messages:?}\n{labels:?}"
    );
    assert!(
        labels.contains(&"pulse SI_NOTIFY, value 0x10000000".to_string()),
        "{labels:?}"
    );
    assert!(
        labels
            .iter()
            .filter(|l| l.starts_with("pulse _PULSE_CODE_DISCONNECT"))
            .count()
            >= 2,
        "the client's last close and the killed client: {labels:?}"
    );

    // line 1221: other text
    let r = run(on_demo(DEV_SAMPLE_CLIENT, &["other text"], &d));
    r.assert_ok("dev-sample-client \"other text\"");
    assert!(
        r.stdout.contains("write(fd, \"other text\") = 10"),
        "{}",
        r.show()
    );

    // lines 1222-1223: --path must be absolute, at most 127 bytes, no `..`; --help
    let long = format!("/dev/{}", "a".repeat(130));
    for bad in ["dev/sample", "/dev/../sample", long.as_str()] {
        let r = run(cmd(DEV_SAMPLE, &["--path", bad]));
        assert_eq!(r.code(), Some(2), "--path {bad}: {}", r.show());
        assert!(r.stderr.contains("--path"), "{}", r.show());
    }
    for prog in [DEV_SAMPLE, DEV_SAMPLE_CLIENT] {
        let r = run(cmd(prog, &["--help"]));
        r.assert_ok("--help");
        assert!(r.stdout.contains("--path"), "{}", r.show());
    }
    let r = run(cmd(DEV_SAMPLE_CLIENT, &["--help"]));
    assert!(r.stdout.contains("--hold"), "{}", r.show());
}

// ------------------------------------------------------ chapter 7: interrupts

// docs/tutorial.md, chapter 7, lines 1437-1453 ("Seeing it happen"): intr-sim raises a level
// once or --count N times and says whether each raise was delivered or found the level masked
// (or unattached); pidin-sim lists the attachment with its level's mask count, and the
// waiting thread as INTR.
#[test]
fn ch7_intr_sim_and_pidin_sim_on_an_attached_level() {
    use userlib::{Config, Kernel, Process, SigEvent};
    let d = Dir::new("tut-ch7");
    let pidin = pidin_sim();
    let intr = tool("procnto-sim", "intr-sim");
    let path = d.join("kernel");
    let kernel = Kernel::create_shared(&path, Config::default()).expect("a kernel file");
    let k = path.to_str().unwrap();

    // No driver yet: the raise finds nothing attached.
    let r = run(cmd(&intr, &["--kernel", k, "5"]));
    r.assert_ok("intr-sim, no attachment");
    assert_eq!(
        r.stdout,
        "raise 1: level 5 masked or unattached: no delivery now\n",
        "{}",
        r.show()
    );

    // A driver: attach SIGEV_INTR to level 5, and wait in InterruptWait (bounded).
    let driver = Process::new_in(&kernel).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let waiter = driver
        .spawn(move || {
            let id = userlib::interrupt::interrupt_attach_event(5, &SigEvent::intr(), 0)?;
            tx.send(id).unwrap();
            let mut served = 0;
            for _ in 0..2 {
                userlib::qnx::timer_timeout(
                    userlib::consts::CLOCK_MONOTONIC,
                    userlib::consts::_NTO_TIMEOUT_INTR,
                    Some(20_000_000_000),
                )?;
                userlib::interrupt::interrupt_wait(0)?;
                served += 1;
                // (The level stays masked until the test has raised it again.)
                let _ = go_rx.recv_timeout(WITHIN);
                userlib::interrupt::interrupt_unmask(5, id)?;
            }
            userlib::interrupt::interrupt_detach(id)?;
            Ok::<_, userlib::Errno>(served)
        })
        .unwrap();
    let id = rx.recv_timeout(WITHIN).expect("attached");

    // pidin-sim: the attachment, the thread INTR-blocked
    let until = Instant::now() + WITHIN;
    let listing = loop {
        let r = run(cmd(&pidin, &["--kernel", k]));
        r.assert_ok("pidin-sim --kernel FILE");
        if r.stdout.contains("  INTR") || Instant::now() > until {
            break r.stdout;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let pid = driver.pid();
    assert!(
        listing.contains(&format!("interrupt 5 id {id} of pid {pid} tid 1: ")),
        "{listing}"
    );
    assert!(listing.contains("  INTR"), "{listing}");

    // --count 3: the first delivered, the level then masked
    let r = run(cmd(&intr, &["--kernel", k, "5", "--count", "3"]));
    r.assert_ok("intr-sim --count 3");
    assert!(
        r.stdout
            .starts_with("raise 1: level 5 delivered to 1 attachment\n")
            && r.stdout
                .contains("raise 2: level 5 masked or unattached: no delivery now\n")
            && r.stdout
                .contains("3 raises of level 5: 1 delivered at once, 2 not"),
        "{}",
        r.show()
    );
    go_tx.send(()).unwrap();
    go_tx.send(()).unwrap();
    assert_eq!(
        waiter.join().unwrap(),
        Ok(2),
        "the latched request delivered on unmask"
    );

    // options
    for (args, says) in [
        (&["--kernel", k, "256"][..], "0..=255"),
        (&["--kernel", k, "5", "--count", "0"], "--count"),
        (&["--kernel", k, "5", "--every", "0"], "--every"),
    ] {
        let r = run(cmd(&intr, args));
        assert_eq!(r.code(), Some(2), "{args:?}: {}", r.show());
        assert!(r.stderr.contains(says), "{args:?}: {}", r.show());
    }
    let r = run(on_demo(&intr, &["5"], &d));
    assert_eq!(r.code(), Some(1), "no kernel demo running: {}", r.show());
    assert!(
        r.stderr.contains("cannot open the kernel \"demo\""),
        "{}",
        r.show()
    );
    drop(driver);
}
