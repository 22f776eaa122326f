//! Review of the step mode (`userlib::step`): output that blocks or panics holds up no other
//! thread; the ends of input (EOF, a read error, a line that is not UTF-8, `q`); a program
//! that ends while a thread is paused; dead threads leave its table; a forked child does not
//! step; stopping lets the kernel go.

use std::io::{self, BufRead, Cursor, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt as _;
use userlib::step::{StepGuard, Stepper};

/// How long any test may take before it counts as a hang.
const LIMIT: Duration = Duration::from_secs(30);
/// How long a thread the step mode must not hold up may take (it takes microseconds).
const PROMPT: Duration = Duration::from_secs(5);

/// What the stepper wrote.
#[derive(Clone, Default)]
struct Out(Arc<Mutex<Vec<u8>>>);

impl Out {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Output that blocks, as stdout does on a full pipe nobody reads, until [`Gate::open`].
#[derive(Clone, Default)]
struct Gate {
    inner: Arc<(Mutex<(bool, bool)>, Condvar)>,
    out: Out,
}

impl Gate {
    /// Waits until a write is blocked.
    fn wait_blocked(&self) {
        let (m, cv) = &*self.inner;
        let deadline = Instant::now() + LIMIT;
        let mut g = m.lock().unwrap();
        while !g.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no write came");
            g = cv.wait_timeout(g, left).unwrap().0;
        }
    }

    fn open(&self) {
        let (m, cv) = &*self.inner;
        m.lock().unwrap().0 = true;
        cv.notify_all();
    }
}

/// Opens the gate when dropped: a test that fails leaves no thread blocked in it (a process
/// dropped then would wait for its threads).
struct OpenOnDrop(Gate);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

impl Write for Gate {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let (m, cv) = &*self.inner;
        let mut g = m.lock().unwrap();
        g.1 = true;
        cv.notify_all();
        while !g.0 {
            g = cv.wait(g).unwrap();
        }
        drop(g);
        self.out.write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `f` in a thread and fails the test if it takes longer than `limit`.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what}: held up (no end within {limit:?})"))
}

/// Runs `f` on a new thread with dispatch `d`.
fn on(d: &Dispatch, f: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    let d = d.clone();
    std::thread::spawn(move || tracing::dispatcher::with_default(&d, f))
}

/// The kernel's events (`kernel_sim::trace`), emitted as it emits them: the step mode reads
/// only these `tracing` events.
mod trace {
    pub fn call_enter(pid: i32, tid: i32, call: &'static str) {
        tracing::trace!(target: "qnx::call", what = "enter", pid, tid, call);
    }

    pub fn call_exit(pid: i32, tid: i32, call: &'static str, result: i64) {
        tracing::trace!(target: "qnx::call", what = "exit", pid, tid, call, result);
    }

    pub fn state(pid: i32, tid: i32, state: &'static str, peer_pid: i32, chid: i32) {
        tracing::trace!(target: "qnx::state", what = "state", pid, tid, state, peer_pid, chid);
    }

    /// A message sent by `pid`, `tid` to `peer_pid`'s channel `chid`.
    pub fn msg_send(pid: i32, tid: i32, peer_pid: i32, chid: i32) {
        tracing::trace!(target: "qnx::msg", what = "send", pid, tid, peer_pid, peer_tid = 0,
            chid, rcvid = 0, exchange = 1u64, bytes = 8u64);
    }
}

/// One call of thread `who`, as the kernel traces it: enter, a state change, exit.
fn call(who: (i32, i32), name: &'static str) {
    trace::call_enter(who.0, who.1, name);
    trace::state(who.0, who.1, "READY", 0, -1);
    trace::call_exit(who.0, who.1, name, 0);
}

fn dispatch(s: Stepper) -> (Dispatch, StepGuard) {
    let (layer, guard) = s.layer();
    (
        Dispatch::new(tracing_subscriber::registry().with(layer)),
        guard,
    )
}

/// Suspicion 1: the step mode wrote each step while holding the lock every traced thread
/// takes (to note a state change, under the kernel lock; to decide whether to pause). With
/// its output blocked (stdout a full pipe), a thread it does not watch then waited for that
/// output: its calls, and the kernel's state changes, stopped. The output is now written
/// without that lock held.
#[test]
fn blocked_output_holds_up_no_thread_the_step_mode_does_not_pause() {
    let gate = Gate::default();
    let (d, guard) = dispatch(
        Stepper::new()
            .pids([2])
            .input(Cursor::new(b"\n\n\n\n".to_vec()))
            .output(gate.clone()),
    );
    let _open = OpenOnDrop(gate.clone());
    // A watched thread's step is written, and the write blocks.
    let watched = on(&d, || call((2, 1), "MsgSend"));
    gate.wait_blocked();
    // Meanwhile a thread of another process makes calls, and the kernel changes states (as it
    // does under its lock): none of it waits for the output.
    let dd = d.clone();
    within(PROMPT, "an unwatched thread's calls", move || {
        tracing::dispatcher::with_default(&dd, || {
            for _ in 0..100 {
                call((3, 1), "MsgReceive");
                trace::state(2, 2, "RECEIVE", 0, 1);
                trace::msg_send(3, 1, 2, 1);
            }
        });
    });
    // Another watched thread notes its call (and then waits for the output, as the steps are
    // written in order).
    let second = on(&d, || call((2, 2), "MsgReceive"));
    gate.open();
    within(LIMIT, "the watched threads", move || {
        watched.join().unwrap();
        second.join().unwrap();
    });
    let text = gate.out.text();
    assert!(text.starts_with("[1] pid 2 tid 1: MsgSend\n"), "{text}");
    assert_eq!(text.matches("[Enter:").count(), 2, "{text}");
    assert!(!text.contains("pid 3 tid 1: MsgReceive"), "{text}");
    assert_eq!(guard.steps(), 4);
}

/// The same through real kernel calls: a watched process's step output blocks; another
/// process's server and client make an exchange meanwhile.
#[test]
fn blocked_output_does_not_stop_the_kernel() {
    use userlib::{Channel, Config, Connection, Kernel, Process, Received};

    let kernel = Kernel::new(Config::default()).unwrap();
    let watched = Process::new_in(&kernel).unwrap();
    let other = Process::new_in(&kernel).unwrap();
    let gate = Gate::default();
    let (d, guard) = dispatch(
        Stepper::new()
            .pids([watched.pid()])
            .input(Cursor::new(b"\n\n\n\n".to_vec()))
            .output(gate.clone())
            .kernel(&kernel),
    );
    let _open = OpenOnDrop(gate.clone());
    // (Every thread that emits events needs the dispatcher: `tracing` caches a callsite's
    // interest from the first thread that hits it.)
    let _main = tracing::dispatcher::set_default(&d);
    let ds = d.clone();
    let w = watched
        .spawn(move || {
            let _g = tracing::dispatcher::set_default(&ds);
            Channel::create(0).map(|c| c.chid())
        })
        .unwrap();
    gate.wait_blocked();
    // All of it in a bounded thread: before, even starting a thread of `other` waited for the
    // output (the kernel notes the new thread's state under its lock).
    let ds = d.clone();
    let opid = other.pid();
    let status = within(PROMPT, "another process's exchange", move || {
        let _g = tracing::dispatcher::set_default(&ds);
        let (tx, rx) = mpsc::channel();
        let dd = ds.clone();
        let server = other
            .spawn(move || {
                let _g = tracing::dispatcher::set_default(&dd);
                let chan = Channel::create(0).unwrap();
                tx.send(chan.chid()).unwrap();
                let mut buf = [0u8; 16];
                match chan.receive(&mut buf).unwrap() {
                    Received::Message { rcvid, .. } => rcvid.reply(7, b"ok").unwrap(),
                    Received::Pulse(p) => panic!("a pulse: {p:?}"),
                }
            })
            .unwrap();
        let chid = rx.recv().unwrap();
        let dd = ds.clone();
        let client = other
            .spawn(move || {
                let _g = tracing::dispatcher::set_default(&dd);
                let conn = Connection::attach(opid, chid).unwrap();
                let mut reply = [0u8; 2];
                conn.send(b"hello", &mut reply).unwrap()
            })
            .unwrap();
        server.join().unwrap();
        client.join().unwrap()
    });
    assert_eq!(status, 7);
    gate.open();
    within(LIMIT, "the watched thread", move || {
        w.join().unwrap().unwrap()
    });
    let text = gate.out.text();
    assert!(
        text.contains(&format!(
            "pid {} tid 1: ChannelCreate returned",
            watched.pid()
        )),
        "{text}"
    );
    drop(guard);
}

/// Output that panics at the first prompt it is given.
#[derive(Clone, Default)]
struct Panicky {
    out: Out,
    panicked: Arc<AtomicBool>,
}

impl Write for Panicky {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if String::from_utf8_lossy(b).contains("[Enter:")
            && !self.panicked.swap(true, Ordering::SeqCst)
        {
            panic!("the output failed (a test's)");
        }
        self.out.write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Suspicion 1, the panic: a step was written after the stepper had marked a thread paused
/// and under its lock; output that panicked left it marked paused, and every other watched
/// thread then waited for a pause that would never end. A panic now ends the pause.
#[test]
fn output_that_panics_leaves_no_thread_waiting() {
    let out = Panicky::default();
    let (d, guard) = dispatch(
        Stepper::new()
            .input(Cursor::new(b"\n\n\n\n".to_vec()))
            .output(out.clone()),
    );
    let first = on(&d, || call((2, 1), "MsgSend"));
    assert!(
        first.join().is_err(),
        "the output's panic reaches its thread"
    );
    assert!(out.panicked.load(Ordering::SeqCst));
    let second = on(&d, || call((2, 2), "MsgReceive"));
    within(LIMIT, "a thread after the panic", move || {
        second.join().unwrap()
    });
    let text = out.out.text();
    assert!(
        text.contains("pid 2 tid 2: MsgReceive returned 0\n"),
        "{text}"
    );
    assert!(!guard.stopped());
}

/// Input that fails (a read error that is not EOF).
struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("the input failed (a test's)"))
    }
}

impl BufRead for Failing {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Err(io::Error::other("the input failed (a test's)"))
    }
    fn consume(&mut self, _: usize) {}
}

/// Suspicion 2: the ends of input stop stepping (the run goes on), never hang: the end of
/// input, a read error; `q` (any case, spaces around it).
#[test]
fn the_end_of_input_or_a_read_error_or_q_runs_on() {
    let inputs: Vec<(&str, Box<dyn BufRead + Send>)> = vec![
        ("EOF", Box::new(Cursor::new(Vec::new()))),
        ("a read error", Box::new(Failing)),
        ("q", Box::new(Cursor::new(b"  Q \n\n\n".to_vec()))),
    ];
    for (what, input) in inputs {
        let out = Out::default();
        let (layer, guard) = Stepper::new().input(input).output(out.clone()).layer();
        let d = Dispatch::new(tracing_subscriber::registry().with(layer));
        within(LIMIT, what, move || {
            tracing::dispatcher::with_default(&d, || {
                for i in 0..5 {
                    call((2, 1), "MsgSendPulse");
                    call((3, i), "MsgReceive");
                }
            });
        });
        let text = out.text();
        assert_eq!(text.matches("[Enter:").count(), 1, "{what}: {text}");
        assert!(
            text.ends_with("stepping stopped; the run goes on\n"),
            "{what}: {text}"
        );
        assert!(guard.stopped(), "{what}");
    }
}

/// A line that is not UTF-8 was a read error, which stopped stepping; it is now an Enter like
/// any line but `q`.
#[test]
fn a_line_that_is_not_utf8_is_an_enter() {
    let out = Out::default();
    let (d, guard) = dispatch(
        Stepper::new()
            .input(Cursor::new(b"\xff\xfe\n\xc3\n".to_vec()))
            .output(out.clone()),
    );
    within(LIMIT, "stepping", move || {
        tracing::dispatcher::with_default(&d, || {
            for _ in 0..3 {
                call((2, 1), "MsgSendPulse");
            }
        });
    });
    let text = out.text();
    // Two lines, two steps; then the end of input.
    assert_eq!(text.matches("[Enter:").count(), 3, "{text}");
    assert_eq!(
        text.matches("stepping stopped").count(),
        1,
        "only at the end of input: {text}"
    );
    assert!(
        text.ends_with("stepping stopped; the run goes on\n"),
        "{text}"
    );
    assert!(guard.stopped());
}

/// The states a step's `before:` line lists.
fn before_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("    before:"))
        .collect()
}

/// Suspicion 3: a thread that died stayed in the step mode's table of states (listed in every
/// step as DEAD), so a long run of short-lived threads grew it without bound. A dead thread
/// now leaves it; a thread that dies in its own call is shown DEAD at that call's end.
#[test]
fn dead_threads_leave_the_table() {
    let out = Out::default();
    let (d, guard) = dispatch(
        Stepper::new()
            .threads([(2, 1), (4, 1)])
            .input(Cursor::new(b"\n\n\n\n".to_vec()))
            .output(out.clone()),
    );
    within(LIMIT, "stepping", move || {
        tracing::dispatcher::with_default(&d, || {
            trace::state(2, 1, "RUNNING", 0, -1);
            // Many short-lived threads, one at a time, and their calls (unwatched).
            for tid in 1..=10_000 {
                trace::state(3, tid, "RUNNING", 0, -1);
                call((3, tid), "MsgSendPulse");
                trace::state(3, tid, "DEAD", 0, -1);
            }
            // One thread of them still alive, and a watched call.
            trace::state(3, 20_000, "RUNNING", 0, -1);
            call((2, 1), "MsgReceive");
            // A thread that dies in its own call: DEAD at that call's end, then gone.
            trace::state(4, 1, "RUNNING", 0, -1);
            trace::call_enter(4, 1, "ThreadDestroy");
            trace::state(4, 1, "DEAD", 0, -1);
            trace::call_exit(4, 1, "ThreadDestroy", 0);
            call((2, 1), "MsgReceive");
        });
    });
    let text = out.text();
    let before = before_lines(&text);
    assert_eq!(before.len(), 3, "{text}");
    assert!(
        before[0] == "    before: pid 2 tid 1 RUNNING (this thread) | pid 3 tid 20000 RUNNING",
        "only the live threads: {:.2000}",
        text
    );
    assert!(
        text.contains("    pid 4 tid 1 (this thread): RUNNING -> DEAD (by this ThreadDestroy)\n"),
        "{text}"
    );
    assert!(
        text.contains("    after: pid 2 tid 1 READY | pid 3 tid 20000 RUNNING | pid 4 tid 1 DEAD (this thread)\n"),
        "{text}"
    );
    assert_eq!(
        before[2], "    before: pid 2 tid 1 READY (this thread) | pid 3 tid 20000 RUNNING",
        "{text}"
    );
    assert!(text.len() < 10_000, "{} bytes for four steps", text.len());
    drop(guard);
}

/// The same with real kernel threads: a process's short-lived threads, each attached, making a
/// call and ended (its `DEAD` event); a watched thread's step lists the live threads only.
#[test]
fn real_threads_that_ended_leave_the_table() {
    use userlib::{Config, Kernel, Process};

    let kernel = Kernel::new(Config::default()).unwrap();
    let watched = Process::new_in(&kernel).unwrap();
    let out = Out::default();
    let (d, guard) = dispatch(
        Stepper::new()
            .pids([watched.pid()])
            .input(Cursor::new(b"\n\n\n\n".to_vec()))
            .output(out.clone()),
    );
    let _main = tracing::dispatcher::set_default(&d);
    let busy = kernel.process_create().unwrap();
    for _ in 0..50 {
        let (k, ds) = (kernel.clone(), d.clone());
        // (The thread's whole life under the dispatcher: a thread of `Process::spawn` ends
        // after its closure, where a dispatcher set inside it is gone.)
        std::thread::spawn(move || {
            tracing::dispatcher::with_default(&ds, || {
                let ctx = k.thread_attach(busy, 10).unwrap();
                ctx.channel_create(0).unwrap();
                drop(ctx);
            });
        })
        .join()
        .unwrap();
    }
    let ds = d.clone();
    let w = watched
        .spawn(move || {
            let _g = tracing::dispatcher::set_default(&ds);
            userlib::Channel::create(0).map(drop)
        })
        .unwrap();
    within(LIMIT, "the watched thread", move || {
        w.join().unwrap().unwrap()
    });
    let text = out.text();
    let before = before_lines(&text);
    // ChannelCreate, and ChannelDestroy as the channel is dropped.
    assert_eq!(before.len(), 2, "{text}");
    let want = format!(
        "    before: pid {} tid 1 RUNNING (this thread)",
        watched.pid()
    );
    for b in before {
        assert!(b == want, "only the live threads: {:.2000}", text);
    }
    drop(guard);
}

/// Suspicion 2, a program that ends while a thread is paused: the step mode on this test
/// binary's real stdin (a pipe nobody writes), a thread paused; the program exits.
#[test]
fn a_program_ends_while_a_thread_is_paused() {
    const CHILD: &str = "STEP_REVIEW_CHILD";
    if let Ok(how) = std::env::var(CHILD) {
        let guard = userlib::step::start(None).unwrap();
        std::thread::spawn(|| call((2, 1), "MsgSend"));
        let deadline = Instant::now() + LIMIT;
        while guard.steps() < 2 {
            assert!(Instant::now() < deadline, "no pause");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(50));
        match how.as_str() {
            // The guard alive: the program ends with the thread still paused.
            "exit" => std::process::exit(3),
            // The guard dropped, the end of main as the examples have it.
            _ => {
                drop(guard);
                return;
            }
        }
    }
    for how in ["exit", "return"] {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "a_program_ends_while_a_thread_is_paused",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, how)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Its stdin stays open and silent until it has ended.
        let stdin = child.stdin.take();
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{how}: the program did not end with a thread paused");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("[Enter: next step"), "{how}: {text}");
        let want = if how == "exit" { Some(3) } else { Some(0) };
        assert_eq!(
            status.code(),
            want,
            "{how}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A forked child inherited the parent's step mode: its input already taken by the parent's
/// reading thread, which the child does not have, its first step waited for an Enter that
/// could never come (and its lock might be held by a thread that does not exist in it). A
/// forked child now does not step.
#[test]
fn a_forked_child_does_not_step() {
    let (r, mut w) = io::pipe().unwrap();
    let out = Out::default();
    let (d, guard) = dispatch(
        Stepper::new()
            .input(io::BufReader::new(r))
            .output(out.clone()),
    );
    // A step in the parent, answered: the input's reader has started.
    let first = on(&d, || call((2, 1), "MsgSend"));
    let deadline = Instant::now() + LIMIT;
    while !out.text().contains("[Enter:") {
        assert!(Instant::now() < deadline, "no pause");
        std::thread::sleep(Duration::from_millis(1));
    }
    w.write_all(b"\n").unwrap();
    within(LIMIT, "the parent's step", move || first.join().unwrap());
    // (A kernel, as a program that steps has: its fork handlers tell a child it is one.)
    let _kernel = userlib::Kernel::new(userlib::Config::default()).unwrap();

    // SAFETY: the child runs the calls below and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        tracing::dispatcher::with_default(&d, || call((5, 1), "MsgSend"));
        // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(0) };
    }
    let t0 = Instant::now();
    let code = loop {
        let mut status = 0;
        // SAFETY: waitpid writes only `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        }
        if t0.elapsed() > LIMIT {
            // SAFETY: plain integers; then reap it.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert_eq!(code, Some(0), "the forked child hung in its first step");
    drop(w);
    drop(guard);
}

/// The step mode held its kernel handle for good (it lives in the global subscriber, which is
/// never dropped): the kernel outlived every other handle, its memory mapped for the rest of
/// the program. Stopping now lets the kernel go.
#[test]
#[cfg(not(loom))] // (a kernel in a file: not under loom)
fn stopping_lets_the_kernel_go() {
    use userlib::{Config, Kernel};

    let path = std::env::temp_dir().join(format!("qnxsim-step-kernel-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let kernel = Kernel::create_shared(&path, Config::default()).unwrap();
    let mapped = || {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .contains(path.to_str().unwrap())
    };
    assert!(mapped(), "the kernel's file is mapped");
    let (d, guard) = dispatch(Stepper::new().kernel(&kernel).output(Out::default()));
    guard.stop();
    drop(kernel);
    let gone = !mapped();
    let _ = std::fs::remove_file(&path);
    assert!(gone, "the stopped step mode still holds the kernel");
    // (The layer lives on, as a global subscriber does.)
    drop(d);
}
