//! The step mode (`userlib::step`): a scripted reader steps through an SRR exchange between two
//! simulated processes, driven through the kernel's trace functions and through real calls;
//! `q` and the end of input stop stepping; two threads calling at once wait for the same Enter
//! and never deadlock.

use std::io::{self, BufRead, Cursor, Read, Write};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use kernel_sim::trace::{self, MsgEvent};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt as _;
use userlib::step::{StepGuard, Stepper};

/// How long any test may take before it counts as a deadlock.
const LIMIT: Duration = Duration::from_secs(30);

/// What the stepper wrote, shared with the test; counts the prompts not yet answered.
#[derive(Clone, Default)]
struct Out {
    buf: Arc<Mutex<Vec<u8>>>,
    /// Prompts written and not yet answered by a line read (see [`Keys`]).
    outstanding: Arc<AtomicI32>,
    /// The most prompts ever outstanding at once.
    most: Arc<AtomicI32>,
}

impl Out {
    fn text(&self) -> String {
        String::from_utf8(self.buf.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let prompts = String::from_utf8_lossy(b).matches("[Enter:").count() as i32;
        if prompts > 0 {
            let now = self.outstanding.fetch_add(prompts, Ordering::SeqCst) + prompts;
            self.most.fetch_max(now, Ordering::SeqCst);
        }
        self.buf.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `left` presses of Enter, each only once a prompt of `out` is outstanding (a student presses
/// Enter when asked), and slowly (so that other threads have time to call in meanwhile).
struct Keys {
    left: usize,
    out: Out,
}

impl Read for Keys {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let b = self.fill_buf()?;
            let n = b.len().min(buf.len());
            buf[..n].copy_from_slice(&b[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Keys {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.left == 0 {
            return Ok(&[]);
        }
        while self.out.outstanding.load(Ordering::SeqCst) < 1 {
            std::thread::sleep(Duration::from_micros(100));
        }
        std::thread::sleep(Duration::from_micros(300));
        Ok(b"\n")
    }

    fn consume(&mut self, n: usize) {
        if n > 0 {
            self.left -= 1;
            self.out.outstanding.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A stepper reading `input`, writing to the returned [`Out`], as a dispatch to set on each
/// thread of the test.
fn stepper(input: impl BufRead + Send + 'static, s: Stepper) -> (Dispatch, StepGuard, Out) {
    let out = Out::default();
    let (layer, guard) = s.input(input).output(out.clone()).layer();
    let d = Dispatch::new(tracing_subscriber::registry().with(layer));
    (d, guard, out)
}

/// Runs steps in a fixed order across threads: step `k` runs once steps `0..k` have.
#[derive(Default)]
struct Baton {
    turn: Mutex<u32>,
    cv: Condvar,
}

impl Baton {
    fn at(&self, k: u32, f: impl FnOnce()) {
        let deadline = Instant::now() + LIMIT;
        let mut t = self.turn.lock().unwrap();
        while *t != k {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "step {k} never came (at {})", *t);
            t = self.cv.wait_timeout(t, left).unwrap().0;
        }
        drop(t);
        f();
        *self.turn.lock().unwrap() += 1;
        self.cv.notify_all();
    }
}

/// Runs `f` in a thread and fails the test if it takes longer than [`LIMIT`].
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("{what}: deadlocked (no end within {LIMIT:?})"))
}

const SERVER: (i32, i32) = (2, 1);
const CLIENT: (i32, i32) = (3, 1);

fn msg(who: (i32, i32), peer: (i32, i32), bytes: u64) -> MsgEvent {
    MsgEvent {
        pid: who.0,
        tid: who.1,
        peer_pid: peer.0,
        peer_tid: peer.1,
        chid: 1,
        rcvid: 7,
        exchange: 1,
        bytes,
        msg_type: -1,
    }
}

/// An SRR exchange as the kernel emits it, each event on the thread that makes the call: the
/// server's MsgReceive blocks; the client's MsgSend hands it the message (the server READY,
/// the client REPLY-blocked); the server's MsgReceive returns; its MsgReply wakes the client;
/// the client's MsgSend returns.
fn srr_exchange(d: &Dispatch) {
    let baton = Arc::new(Baton::default());
    let (b, ds) = (baton.clone(), d.clone());
    let server = std::thread::spawn(move || {
        let _g = tracing::dispatcher::set_default(&ds);
        b.at(0, || {
            trace::state(trace::Ring::none(), SERVER.0, SERVER.1, "RUNNING", 0, -1);
            trace::call_enter(trace::Ring::none(), SERVER.0, SERVER.1, "MsgReceive");
            trace::state(trace::Ring::none(), SERVER.0, SERVER.1, "RECEIVE", 0, 1);
        });
        b.at(2, || {
            trace::call_exit(trace::Ring::none(), SERVER.0, SERVER.1, "MsgReceive", 7)
        });
        b.at(3, || {
            trace::call_enter(trace::Ring::none(), SERVER.0, SERVER.1, "MsgReply");
            trace::msg_reply(trace::Ring::none(), &msg(SERVER, CLIENT, 8), 0, 0);
            trace::state(trace::Ring::none(), CLIENT.0, CLIENT.1, "READY", 0, -1);
            trace::call_exit(trace::Ring::none(), SERVER.0, SERVER.1, "MsgReply", 0);
        });
    });
    let (b, ds) = (baton, d.clone());
    let client = std::thread::spawn(move || {
        let _g = tracing::dispatcher::set_default(&ds);
        b.at(1, || {
            trace::call_enter(trace::Ring::none(), CLIENT.0, CLIENT.1, "MsgSend");
            trace::msg_send(trace::Ring::none(), &msg(CLIENT, (SERVER.0, 0), 16));
            trace::msg_receive(trace::Ring::none(), &msg(SERVER, CLIENT, 16));
            trace::state(trace::Ring::none(), SERVER.0, SERVER.1, "READY", 0, -1);
            trace::state(
                trace::Ring::none(),
                CLIENT.0,
                CLIENT.1,
                "REPLY",
                SERVER.0,
                1,
            );
        });
        b.at(4, || {
            trace::call_exit(trace::Ring::none(), CLIENT.0, CLIENT.1, "MsgSend", 0)
        });
    });
    server.join().unwrap();
    client.join().unwrap();
}

/// The lines of `text` in order: each of `want` is found after the previous one.
fn assert_in_order(text: &str, want: &[&str]) {
    let mut at = 0;
    for w in want {
        match text[at..].find(w) {
            Some(i) => at += i + w.len(),
            None => panic!("{w:?} not found after byte {at} of:\n{text}"),
        }
    }
}

#[test]
fn steps_through_an_srr_exchange() {
    let (d, guard, out) = stepper(Cursor::new(b"\n\n\n".to_vec()), Stepper::new());
    bounded("stepping", move || srr_exchange(&d));
    let text = out.text();
    assert_in_order(
        &text,
        &[
            "[1] pid 2 tid 1: MsgReceive\n",
            "    before: pid 2 tid 1 RUNNING (this thread)\n",
            "[2] pid 3 tid 1: MsgSend\n",
            "    before: pid 2 tid 1 RECEIVE (chid 1) | pid 3 tid 1 RUNNING (this thread)\n",
            "[3] pid 2 tid 1: MsgReceive returned 7\n",
            "    did: pid 2 tid 1 received 16 bytes from pid 3 tid 1 (rcvid 7)\n",
            "    pid 2 tid 1 (this thread): RUNNING -> RECEIVE (by this MsgReceive)\n",
            "    pid 2 tid 1 (this thread): RECEIVE -> READY (woken by pid 3 tid 1's MsgSend)\n",
            "    after: pid 2 tid 1 READY (this thread) | pid 3 tid 1 REPLY (pid 2 chid 1)\n",
            "[Enter: next step, q Enter: run to the end]",
            "[4] pid 2 tid 1: MsgReply\n",
            "[5] pid 2 tid 1: MsgReply returned 0\n",
            "    did: pid 2 tid 1 replied to pid 3 tid 1 (status 0, 8 bytes)\n",
            "    pid 3 tid 1: REPLY -> READY (woken by this MsgReply)\n",
            "    after: pid 2 tid 1 READY",
            "[Enter:",
            "[6] pid 3 tid 1: MsgSend returned 0\n",
            "    did: pid 3 tid 1 sent 16 bytes to pid 2 chid 1\n",
            "    did: pid 2 tid 1 received 16 bytes from pid 3 tid 1 (rcvid 7)\n",
            "    pid 2 tid 1: RECEIVE -> READY (woken by this MsgSend)\n",
        ],
    );
    // The client's own changes during its MsgSend, with who made them.
    assert!(
        text.contains(
            "    pid 3 tid 1 (this thread): RUNNING -> REPLY (by this MsgSend)\n    \
         pid 3 tid 1 (this thread): REPLY -> READY (woken by pid 2 tid 1's MsgReply)\n"
        ),
        "{text}"
    );
    assert_eq!(
        text.matches("[Enter:").count(),
        3,
        "a pause at each exit: {text}"
    );
    assert!(!guard.stopped(), "three Enters for three pauses");
    assert_eq!(guard.steps(), 6);
}

#[test]
fn watching_one_process_pauses_only_its_threads() {
    let (d, guard, out) = stepper(Cursor::new(b"\n\n".to_vec()), Stepper::new().pids([2]));
    bounded("stepping", move || srr_exchange(&d));
    let text = out.text();
    assert!(!text.contains("pid 3 tid 1: MsgSend"), "{text}");
    assert_eq!(text.matches("[Enter:").count(), 2, "{text}");
    // The client's state still shows, and whom the server woke.
    assert!(text.contains("    pid 3 tid 1: REPLY -> READY (woken by this MsgReply)\n"));
    assert!(!guard.stopped());
}

#[test]
fn q_stops_stepping_and_the_run_finishes() {
    let (d, guard, out) = stepper(Cursor::new(b"q\n\n\n".to_vec()), Stepper::new());
    bounded("stepping", move || srr_exchange(&d));
    let text = out.text();
    assert_in_order(
        &text,
        &[
            "[3] pid 2 tid 1: MsgReceive returned 7\n",
            "[Enter:",
            "stepping stopped; the run goes on\n",
        ],
    );
    assert!(!text.contains("MsgReply"), "nothing after q: {text}");
    assert!(guard.stopped());

    // The end of input stops it as well.
    let (d, guard, out) = stepper(Cursor::new(Vec::new()), Stepper::new());
    bounded("stepping", move || srr_exchange(&d));
    assert_eq!(out.text().matches("[Enter:").count(), 1);
    assert!(guard.stopped());

    // So does dropping the guard: a thread paused then goes on.
    let (r, mut w) = io::pipe().unwrap();
    let (d, guard, out) = stepper(io::BufReader::new(r), Stepper::new());
    let run = std::thread::spawn(move || srr_exchange(&d));
    let deadline = Instant::now() + LIMIT;
    while !out.text().contains("[Enter:") {
        assert!(Instant::now() < deadline, "no pause");
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(guard);
    bounded("stopping", move || run.join().unwrap());
    drop(w.flush());
}

#[test]
fn two_threads_calling_at_once_wait_for_the_same_enter() {
    const CALLS: i32 = 40;
    let out = Out::default();
    let keys = Keys {
        left: 2 * CALLS as usize,
        out: out.clone(),
    };
    let (layer, guard) = Stepper::new().input(keys).output(out.clone()).layer();
    let d = Dispatch::new(tracing_subscriber::registry().with(layer));
    bounded("two threads stepping", move || {
        let threads: Vec<_> = [SERVER, CLIENT]
            .into_iter()
            .map(|(pid, tid)| {
                let d = d.clone();
                std::thread::spawn(move || {
                    let _g = tracing::dispatcher::set_default(&d);
                    for i in 0..CALLS {
                        trace::call_enter(trace::Ring::none(), pid, tid, "MsgSendPulse");
                        trace::state(trace::Ring::none(), pid, tid, "READY", 0, -1);
                        trace::call_exit(
                            trace::Ring::none(),
                            pid,
                            tid,
                            "MsgSendPulse",
                            i64::from(i),
                        );
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
    let text = out.text();
    assert_eq!(
        out.most.load(Ordering::SeqCst),
        1,
        "never two threads paused at once"
    );
    assert_eq!(text.matches("[Enter:").count(), 2 * CALLS as usize);
    assert_eq!(guard.steps(), 4 * CALLS as u64);
    // Each pause shows one call's end, whole.
    for seg in text.split("[Enter: next step, q Enter: run to the end]") {
        assert!(seg.matches(" returned ").count() <= 1, "{seg}");
    }
    assert!(!guard.stopped());
}

/// Through real kernel calls: a server process and a client process make one exchange. The
/// kernel emits the events; the stepper sees the calls in order, with the wake-ups.
#[test]
fn steps_through_real_calls() {
    use userlib::{Channel, Config, Connection, Kernel, Process, Received};

    let kernel = Kernel::new(Config::default()).unwrap();
    let server_proc = Process::new_in(&kernel).unwrap();
    let client_proc = Process::new_in(&kernel).unwrap();
    let (sp, cp) = (server_proc.pid(), client_proc.pid());
    let out = Out::default();
    let keys = Keys {
        left: 1000,
        out: out.clone(),
    };
    let (layer, guard) = Stepper::new()
        .input(keys)
        .output(out.clone())
        .kernel(&kernel)
        .layer();
    let d = Dispatch::new(tracing_subscriber::registry().with(layer));
    // Every thread that may emit an event first needs the dispatcher: with one dispatcher
    // alive, `tracing` caches a callsite's interest from the first thread that hits it (here
    // the main thread, attaching the processes' threads).
    let _main = tracing::dispatcher::set_default(&d);
    let (tx, rx) = mpsc::channel();
    let ds = d.clone();
    let server = server_proc
        .spawn(move || {
            let _g = tracing::dispatcher::set_default(&ds);
            let chan = Channel::create(0).unwrap();
            tx.send(chan.chid()).unwrap();
            let mut buf = [0u8; 16];
            match chan.receive(&mut buf).unwrap() {
                Received::Message { rcvid, .. } => rcvid.reply(5, b"ok").unwrap(),
                Received::Pulse(p) => panic!("a pulse: {p:?}"),
            }
        })
        .unwrap();
    let chid = rx.recv_timeout(LIMIT).unwrap();
    // Let the server block in MsgReceive first, so the send wakes it.
    let deadline = Instant::now() + LIMIT;
    while !matches!(
        kernel.thread_info(sp, 1).map(|t| t.state),
        Ok(userlib::ThreadState::Receive { .. })
    ) {
        assert!(Instant::now() < deadline, "the server never blocked");
        std::thread::sleep(Duration::from_millis(1));
    }
    let ds = d.clone();
    let client = client_proc
        .spawn(move || {
            let _g = tracing::dispatcher::set_default(&ds);
            let conn = Connection::attach(sp, chid).unwrap();
            let mut reply = [0u8; 2];
            conn.send(b"hello", &mut reply).unwrap()
        })
        .unwrap();
    let status = bounded("real calls stepping", move || {
        server.join().unwrap();
        client.join().unwrap()
    });
    assert_eq!(status, 5);
    assert!(guard.steps() > 0, "the kernel emitted no call events");
    let text = out.text();
    assert_in_order(
        &text,
        &[
            // A real call's step names the ids among its arguments.
            &format!("pid {sp} tid 1: MsgReceive(chid "),
            &format!("pid {cp} tid 1: MsgSend(coid 0x"),
            &format!("pid {sp} tid 1: MsgReceive returned"),
            &format!("did: pid {sp} tid 1 received 5 bytes from pid {cp} tid 1"),
            &format!("woken by pid {cp} tid 1's MsgSend"),
            &format!("pid {sp} tid 1: MsgReply(rcvid "),
            &format!("pid {sp} tid 1: MsgReply returned 0\n"),
        ],
    );
    assert!(
        text.contains(&format!(
            "pid {cp} tid 1: REPLY -> READY (woken by this MsgReply)"
        )) || text.contains(&format!(
            "pid {cp} tid 1: REPLY -> RUNNING (woken by this MsgReply)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {cp} tid 1: MsgSend returned 5\n")),
        "{text}"
    );
    assert!(text.contains("pri 10/10"), "the kernel's snapshot: {text}");
    if std::env::var_os("STEP_SHOW").is_some() {
        println!("{text}");
    }
    drop(guard);
}
