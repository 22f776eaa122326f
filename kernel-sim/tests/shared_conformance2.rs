//! More conformance across Linux processes (issue 13, point 6): extends shared_conformance.rs
//! so that at least half of the behaviours of conf_pulse.rs, conf_timeouts.rs,
//! conf_notifications.rs and conf_srr.rs also run with server and client in different
//! programs on one shared kernel: pulses' codes, values, priorities, buffers and scoids;
//! RECEIVE, SEND and REPLY timeouts (relative, absolute, immediate, one-shot); unblock
//! requests and their pulses; disconnect and coid-death pulses; rcvids, thread states and
//! which thread gets a message.
//!
//! As in shared_conformance.rs, the parent (the test) makes the kernel in a memory file; the
//! other program is this same binary re-run as a child (support/procs.rs) that maps it and
//! joins as the process whose pid is its Linux pid. Here the child is one scriptable
//! "agent": the parent tells it kernel calls on stdin, one line each (`Agent::run`, on the
//! agent's main thread; `Agent::bg`, a sequence on a new thread of its process), and it tells
//! each result back as a line (`ok:VALUE` or the errno's name), so a difference shows as the
//! two lines. Every value and errno asserted is the one the mirrored in-process test asserts
//! (named in each test's comment).
//!
//! Bounds: every blocking kernel call is armed with TimerTimeout (LONG, unless the timeout is
//! what is tested; where a test needs a call with no bound of its own, only the agent's call
//! is, and the agent is killed on every exit path), every line is awaited at most DEADLINE,
//! every child is killed and reaped on every exit path (`Child`'s drop), and a test whose own
//! threads may block on the agent without a bound tears the agent's processes down in the
//! kernel first when it fails ([`ReapOnPanic`]). Region files live in a temporary directory
//! removed on every exit path.
#![cfg(not(loom))]

mod support;

use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;

/// A number in a line: decimal (optionally after `ok:`), or hex with `0x`.
fn num(w: &str) -> i64 {
    let w = w.strip_prefix("ok:").unwrap_or(w);
    let v = match w.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).map(|v| v as i32 as i64),
        None => w.parse(),
    };
    v.unwrap_or_else(|_| panic!("{w:?} is not a number"))
}

// ================================================================== the agent (child side)

/// Maps the shared kernel at `path` and joins it as this program's process, with a thread at
/// `prio` (the calling OS thread).
fn join(path: &str, prio: i16) -> (Kernel, Pid, ThreadCtx) {
    let k = Kernel::open_shared(Path::new(path)).expect("open_shared");
    let p = k.process_attach_self().expect("process_attach_self");
    let t = k.thread_attach(p, prio).expect("thread_attach");
    (k, p, t)
}

/// Bytes shown in a line: `-` for none, NULs as `_`.
fn shown(b: &[u8]) -> String {
    if b.is_empty() {
        "-".to_string()
    } else {
        String::from_utf8_lossy(b).replace('\0', "_")
    }
}

/// Runs one command (words `w`) on `t` with `$` standing for the last rcvid received;
/// returns its result line ([`exec_one`]).
fn exec(t: &ThreadCtx, st: &mut Script, w: &[&str]) -> String {
    let w: Vec<String> = w
        .iter()
        .map(|s| match *s {
            "$" => st.last.to_string(),
            s => s.to_string(),
        })
        .collect();
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    let out = exec_one(t, &mut st.armed, &w);
    if let Some(rest) = out.strip_prefix("msg ") {
        st.last = num(rest.split(' ').next().expect("a rcvid"));
    }
    out
}

/// What a thread of the agent carries from one command to the next.
#[derive(Default)]
struct Script {
    /// When a TimerTimeout was armed by `arm` (or waived by `unbounded`) for the next
    /// blocking command, which is timed from then.
    armed: Option<Instant>,
    /// The rcvid of the last message received (`$` in a command).
    last: RcvId,
}

/// Runs one command (words `w`) on `t`; returns its result line (`ok:VALUE` or the errno's
/// name, then what the call brought back; a send or receive ends with the µs it took).
/// `armed`: a TimerTimeout was armed by `arm`/`armev` (or waived by `unbounded`) and not yet
/// consumed by a blocking command, which otherwise arms LONG itself.
///
/// Commands: `arm FLAGS CLOCK NS|none`, `armev FLAGS CLOCK NS COID PRIO CODE VALUE` (with a
/// SIGEV_PULSE timeout event), `chan FLAGS`, `chdestroy CHID`,
/// `conn PID CHID FLAGS`, `detach COID`, `pulse COID PRIO CODE VALUE`,
/// `send COID TEXT RLEN`, `recv CHID LEN`, `recvpulse CHID`, `reply RCVID STATUS TEXT`,
/// `error RCVID ERRNO`, `info RCVID`, `unblock RCVID`, `read RCVID LEN`, `write RCVID TEXT`,
/// `unbounded` (the next blocking command arms nothing), `tid`, `sleep MS` (TEXT `-`: empty).
fn exec_one(t: &ThreadCtx, armed: &mut Option<Instant>, w: &[&str]) -> String {
    let n = |i: usize| -> i64 { num(w.get(i).unwrap_or_else(|| panic!("argument {i} of {w:?}"))) };
    let text = |i: usize| -> Vec<u8> {
        match w[i] {
            "-" => Vec::new(),
            s => s.as_bytes().to_vec(),
        }
    };
    // Arms LONG unless armed already; the time the call is timed from.
    let mut bound = |flags: u32| {
        armed.take().unwrap_or_else(|| {
            let t0 = Instant::now();
            arm(t, flags, Some(LONG));
            t0
        })
    };
    match w[0] {
        "arm" => {
            let ns = match w[3] {
                "none" => None,
                s => Some(s.parse::<u64>().expect("ns")),
            };
            *armed = Some(Instant::now());
            res(t.timer_timeout(n(2) as i32, n(1) as u32, ns))
        }
        "unbounded" => {
            *armed = Some(Instant::now());
            "ok:0".to_string()
        }
        "read" => {
            let mut b = vec![0u8; n(2) as usize];
            let r = t.msg_read(n(1), &mut b, 0);
            format!("{} {}", res(r), shown(&b))
        }
        "write" => res(t.msg_write(n(1), &text(2), 0)),
        "armev" => {
            let ev = SigEvent::pulse(n(4) as i32, n(5) as i16, n(6) as i8, n(7) as i32);
            let ns = Some(n(3) as u64);
            *armed = Some(Instant::now());
            res(t.timer_timeout_event(n(2) as i32, n(1) as u32, Some(&ev), ns))
        }
        "chan" => res(t.channel_create(n(1) as u32)),
        "chdestroy" => done(t.channel_destroy(n(1) as i32)),
        "conn" => res(t.connect_attach(0, n(1) as i32, n(2) as i32, SIDE, n(3) as u32)),
        "detach" => done(t.connect_detach(n(1) as i32)),
        "pulse" => done(t.msg_send_pulse(n(1) as i32, n(2) as i16, n(3) as i8, n(4) as i32)),
        "send" => {
            let mut r = vec![0u8; n(3) as usize];
            let t0 = bound(SEND_REPLY);
            let st = t.msg_send(n(1) as i32, &text(2), &mut r);
            let us = t0.elapsed().as_micros();
            format!("{} {} {us}", res(st), shown(&r))
        }
        "recv" => {
            let len = n(2) as usize;
            let mut b = vec![0u8; len];
            let mut info = MsgInfo::default();
            let t0 = bound(_NTO_TIMEOUT_RECEIVE);
            let r = t.msg_receive(n(1) as i32, &mut b, Some(&mut info));
            let us = t0.elapsed().as_micros();
            match r {
                Ok(0) => {
                    let p = Pulse::from_bytes(&b).expect("pulse bytes");
                    format!("pulse {} {} {:#x} {us}", p.code, p.value_int(), p.scoid)
                }
                Ok(rcvid) => {
                    let m = &b[..len.min(info.msglen as usize)];
                    format!(
                        "msg {rcvid} {:#x} {} {} {us}",
                        info.scoid,
                        info.priority,
                        shown(m)
                    )
                }
                Err(e) => format!("{} {us}", res(Err::<i64, _>(e))),
            }
        }
        "recvpulse" => {
            let mut b = [0u8; 64];
            bound(_NTO_TIMEOUT_RECEIVE);
            match t.msg_receive_pulse(n(1) as i32, &mut b) {
                Ok(()) => {
                    let p = Pulse::from_bytes(&b).expect("pulse bytes");
                    format!("pulse {} {} {:#x}", p.code, p.value_int(), p.scoid)
                }
                Err(e) => res(Err::<i64, _>(e)),
            }
        }
        "reply" => done(t.msg_reply(n(1), n(2), &text(3))),
        "error" => done(t.msg_error(n(1), Errno(n(2) as i32))),
        "info" => res(t.msg_info(n(1)).map(|i| i.flags & _NTO_MI_UNBLOCK_REQ)),
        "unblock" => done(t.msg_deliver_event(n(1), &SigEvent::unblock())),
        "tid" => format!("ok:{}", t.tid()),
        "sleep" => {
            std::thread::sleep(Duration::from_millis(n(1) as u64));
            "ok:0".to_string()
        }
        other => panic!("unknown command {other:?}"),
    }
}

/// The agent: joins at priority 10, tells "= ready TID", then runs what the parent says.
/// `bg TAG PRIO CMD ; CMD ...`: a new thread of its process at PRIO tells "TAG tid TID",
/// then "TAG RESULT" for each command, then leaves. `pdestroy`: destroys the process (its
/// main thread first). `quit`: waits for its threads, leaves, tells "= bye".
fn agent(path: &str) {
    let (k, p, t) = join(path, 10);
    let said = lines_from_parent();
    tell_parent(&format!("= ready {}", t.tid()));
    let mut t = Some(t);
    let mut st = Script::default();
    let mut threads = Vec::new();
    // (Ends too when the parent says nothing for DEADLINE.)
    while let Ok(line) = said.recv_timeout(DEADLINE) {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.first().copied() {
            Some("bg") => {
                let tag = w[1].to_string();
                let prio: i16 = w[2].parse().expect("priority");
                let cmds: Vec<String> = w[3..]
                    .join(" ")
                    .split(';')
                    .map(|c| c.trim().to_string())
                    .collect();
                let k2 = k.clone();
                threads.push(std::thread::spawn(move || {
                    let c = k2.thread_attach(p, prio).expect("thread_attach");
                    tell_parent(&format!("{tag} tid {}", c.tid()));
                    let mut st = Script::default();
                    for cmd in cmds {
                        let w: Vec<&str> = cmd.split_whitespace().collect();
                        tell_parent(&format!("{tag} {}", exec(&c, &mut st, &w)));
                    }
                }));
            }
            Some("pdestroy") => {
                drop(t.take());
                tell_parent(&format!("= {}", done(k.process_destroy(p))));
            }
            Some("quit") => break,
            Some(_) => {
                let out = exec(t.as_ref().expect("a live process"), &mut st, &w);
                tell_parent(&format!("= {out}"));
            }
            None => {}
        }
    }
    for h in threads {
        h.join().expect("an agent thread");
    }
    if let Some(t) = t {
        drop(t);
        k.process_destroy(p).expect("process_destroy");
    }
    tell_parent("= bye");
}

/// Where a child starts (support/procs.rs); ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "agent" => agent(&arg),
        other => panic!("unknown role {other}"),
    }
}

// ================================================================== the parent's side

/// The agent's thread `tid` is RECEIVE-blocked on `chid` and still is three [`SHORT`]s later:
/// no timeout (a spent or another state's one) ended its receive.
fn stays_receive_blocked(k: &Kernel, pid: i32, tid: i32, chid: i32) {
    wait_for(k, pid, tid, "RECEIVE-blocked", |s| {
        *s == ThreadState::Receive { chid }
    });
    std::thread::sleep(Duration::from_nanos(3 * SHORT));
    assert_eq!(
        k.thread_info(pid, tid).unwrap().state,
        ThreadState::Receive { chid },
        "still waiting well after the timeout"
    );
}

/// The agent program, as the parent drives it.
struct Agent {
    child: Child,
    /// Lines read while looking for another tag's.
    pending: RefCell<Vec<String>>,
    /// Its main thread's tid.
    tid: i32,
}

impl Agent {
    fn start(path: &str) -> Agent {
        let child = Child::spawn_talking("agent", path, &[]);
        let mut a = Agent {
            child,
            pending: RefCell::new(Vec::new()),
            tid: 0,
        };
        let ready = a.expect("=");
        a.tid = num(ready.strip_prefix("ready ").expect("ready")) as i32;
        a
    }

    fn pid(&self) -> i32 {
        self.child.pid()
    }

    /// The next line with `tag` (without it), waiting at most DEADLINE.
    fn expect(&self, tag: &str) -> String {
        let prefix = format!("{tag} ");
        let mut pending = self.pending.borrow_mut();
        if let Some(i) = pending.iter().position(|l| l.starts_with(&prefix)) {
            return pending.remove(i)[prefix.len()..].to_string();
        }
        let until = Instant::now() + DEADLINE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let line = self.child.line(left.max(Duration::from_millis(1)));
            if let Some(rest) = line.strip_prefix(&prefix) {
                return rest.to_string();
            }
            pending.push(line);
        }
    }

    /// Runs a command on the agent's main thread; its result line.
    fn run(&self, cmd: &str) -> String {
        self.child.say(cmd);
        self.expect("=")
    }

    /// [`Agent::run`] for a command whose result is `ok:VALUE`: the value.
    fn ok(&self, cmd: &str) -> i64 {
        let out = self.run(cmd);
        assert!(out.starts_with("ok:"), "{cmd:?} gave {out:?}");
        num(&out)
    }

    /// Starts commands (`;`-separated) on a new thread of the agent at `prio`; its tid.
    fn bg(&self, tag: &str, prio: i16, cmds: &str) -> i32 {
        self.child.say(&format!("bg {tag} {prio} {cmds}"));
        let out = self.expect(tag);
        num(out.strip_prefix("tid ").expect("tid")) as i32
    }

    /// Ends the agent and checks it ended well.
    fn quit(self) {
        self.child.say("quit");
        assert_eq!(self.expect("="), "bye");
        let st = self.child.wait(DEADLINE);
        assert!(st.success(), "the agent failed: {st}");
    }
}

/// The words of a result line.
fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

/// A send or receive line's last word: how long the call took.
fn took(line: &str) -> Duration {
    Duration::from_micros(words(line).last().unwrap().parse().expect("µs"))
}

/// The line without its last word (the time taken).
fn untimed(line: &str) -> String {
    line.rsplit_once(' ').map_or(line, |(a, _)| a).to_string()
}

/// A shared kernel, this program joined with a channel of `flags`, and the agent with a coid
/// to it: (dir, kernel, our pid, our thread, our chid, agent, the agent's coid).
fn with_agent_client(tag: &str, flags: u32) -> (TempDir, Kernel, Pid, ThreadCtx, i32, Agent, i32) {
    let (dir, k, path) = shared(tag);
    let (me, t) = attach(&k);
    let chid = t.channel_create(flags).unwrap();
    let a = Agent::start(&path);
    let coid = a.ok(&format!("conn {} {chid} 0", me.pid)) as i32;
    (dir, k, me, t, chid, a, coid)
}

/// A shared kernel, this program joined, and the agent with a channel of `flags` we have a
/// coid to: (dir, kernel, our pid, our thread, agent, its chid, our coid).
fn with_agent_server(tag: &str, flags: u32) -> (TempDir, Kernel, Pid, ThreadCtx, Agent, i32, i32) {
    let (dir, k, path) = shared(tag);
    let (me, t) = attach(&k);
    let a = Agent::start(&path);
    let chid = a.ok(&format!("chan {flags}")) as i32;
    let coid = connect(&t, a.pid(), chid);
    (dir, k, me, t, a, chid, coid)
}

/// `arm FLAGS CLOCK NS|none` for the agent.
fn arm_cmd(flags: u32, clock: i32, ns: Option<u64>) -> String {
    match ns {
        Some(ns) => format!("arm {flags} {clock} {ns}"),
        None => format!("arm {flags} {clock} none"),
    }
}

// ------------------------------------------------------------------ pulses (conf_pulse.rs)

/// conf_pulse: pulse_into_an_exactly_pulse_sized_buffer_is_received: pulses from another
/// program into a buffer of exactly `struct _pulse`, and into a scattered one.
#[test]
fn a_pulse_from_another_program_fits_an_exactly_pulse_sized_buffer() {
    let (_dir, _k, _me, t, chid, a, coid) = with_agent_client("p-exact", 0);
    assert_eq!(a.run(&format!("pulse {coid} 10 1 7")), "ok:0");
    let mut buf = [0u8; PULSE_SIZE];
    assert_eq!(receive(&t, chid, &mut buf, None), Ok(0));
    assert_eq!(Pulse::from_bytes(&buf).unwrap().value_int(), 7);
    assert_eq!(a.run(&format!("pulse {coid} 10 2 8")), "ok:0");
    let (mut x, mut y) = ([0u8; 5], [0u8; 19]);
    arm(&t, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    assert_eq!(
        t.msg_receivev(chid, &mut [&mut x[..], &mut y[..]], None),
        Ok(0)
    );
    let mut whole = x.to_vec();
    whole.extend_from_slice(&y);
    let p = Pulse::from_bytes(&whole).unwrap();
    assert_eq!((p.code, p.value_int()), (2, 8));
    a.quit();
}

/// conf_pulse: pulse_to_a_receive_blocked_server_is_delivered_directly: a pulse from another
/// program to a thread of ours waiting on the channel is handed over, never queued.
#[test]
fn a_pulse_from_another_program_goes_straight_to_our_receive_blocked_thread() {
    let (_dir, k, me, _t, chid, a, coid) = with_agent_client("p-direct", 0);
    let rx = spawn(&k, me, 10, move |c| receive_pulse(c, chid)).once_receive_blocked(&k);
    assert_eq!(a.run(&format!("pulse {coid} 10 9 99")), "ok:0");
    let p = rx.join();
    assert_eq!((p.code, p.value_int()), (9, 99));
    assert_eq!(k.pool_usage().pulses.live, 0);
    a.quit();
}

/// conf_pulse: msg_send_pulse_takes_user_codes_0_to_127_only: MsgSendPulse to another
/// program's channel takes codes 0..=127; negative (kernel) codes are EINVAL.
#[test]
fn pulses_to_another_program_take_user_codes_0_to_127_only() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("p-codes", 0);
    for code in [0i8, 1, 64, 127] {
        assert_eq!(a.run(&format!("pulse {coid} 10 {code} {code}")), "ok:0");
        let p = receive_pulse(&t, chid);
        assert_eq!((p.code, p.value_int()), (code, i32::from(code)));
    }
    for code in [-1i8, -32, -128] {
        assert_eq!(
            a.run(&format!("pulse {coid} 10 {code} 0")),
            "EINVAL",
            "code {code}"
        );
    }
    assert_eq!(k.pool_usage().pulses.live, 0);
    a.quit();
}

/// conf_pulse: msg_send_pulse_takes_priorities_1_to_255_or_minus_1: across programs too.
#[test]
fn pulses_to_another_program_take_priorities_1_to_255_or_minus_1() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("p-prios", 0);
    for prio in [1i16, 10, 255, -1] {
        assert_eq!(a.run(&format!("pulse {coid} {prio} 1 {prio}")), "ok:0");
        assert_eq!(receive_pulse(&t, chid).value_int(), i32::from(prio));
    }
    for prio in [0i16, 256, -2, 1000, i16::MIN] {
        assert_eq!(
            a.run(&format!("pulse {coid} {prio} 1 0")),
            "EINVAL",
            "priority {prio}"
        );
    }
    assert_eq!(k.pool_usage().pulses.live, 0);
    a.quit();
}

/// conf_pulse: identical_pulses_are_each_delivered: five identical pulses from another
/// program are five pulses here, counted on both sides.
#[test]
fn identical_pulses_from_another_program_are_each_delivered() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("p-same", 0);
    for _ in 0..5 {
        assert_eq!(a.run(&format!("pulse {coid} 10 3 3")), "ok:0");
    }
    assert_eq!(k.pool_usage().pulses.live, 5);
    for _ in 0..5 {
        let p = receive_pulse(&t, chid);
        assert_eq!((p.code, p.value_int()), (3, 3));
    }
    assert_nothing_queued(&t, chid);
    let c = k.process_counters(a.pid()).unwrap();
    let v = k.process_counters(me.pid).unwrap();
    assert_eq!((c.pulses_sent, v.pulses_received), (5, 5));
    a.quit();
}

/// conf_pulse: msg_receive_pulse_takes_pulses_and_leaves_messages_queued: MsgReceivePulse
/// takes another program's pulse and skips its higher-priority message, left SEND-blocked.
#[test]
fn msg_receive_pulse_takes_another_programs_pulse_and_leaves_its_message_queued() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("p-rpulse", 0);
    let _reap = ReapOnPanic::new(&k, a.pid());
    let ctid = a.bg("m", 20, &format!("send {coid} msg 0"));
    let st = wait_send_blocked(&k, a.pid(), ctid);
    assert_eq!(st.state, ThreadState::Send { pid: me.pid, chid });
    assert_eq!(a.run(&format!("pulse {coid} 10 5 55")), "ok:0");
    let mut buf = [0u8; 32];
    arm(&t, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    assert_eq!(t.msg_receive_pulse(chid, &mut buf), Ok(()));
    assert_eq!(Pulse::from_bytes(&buf).unwrap().value_int(), 55);
    arm(&t, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(t.msg_receive_pulse(chid, &mut buf), Err(Errno::ETIMEDOUT));
    assert!(matches!(
        k.thread_info(a.pid(), ctid).unwrap().state,
        ThreadState::Send { .. }
    ));
    let (rcvid, _, msg) = take(&t, chid);
    assert_eq!(msg, b"msg");
    t.msg_reply(rcvid, 0, b"").unwrap();
    assert!(a.expect("m").starts_with("ok:0 - "));
    a.quit();
}

/// conf_pulse: pulse_on_an_unknown_coid_is_ebadf: coids another program does not have, and
/// its coid to our channel once detached, are EBADF; nothing is counted as sent.
#[test]
fn another_programs_pulse_on_a_coid_it_does_not_have_is_ebadf() {
    let (_dir, k, _me, _t, _chid, a, coid) = with_agent_client("p-ebadf", 0);
    for bad in [-1, 0, 7, 0x4000_0000, 0x4000_0009, 0x7fff_ffff] {
        assert_ne!(bad, coid);
        assert_eq!(
            a.run(&format!("pulse {bad} 10 1 0")),
            "EBADF",
            "coid {bad:#x}"
        );
    }
    assert_eq!(a.run(&format!("detach {coid}")), "ok:0");
    assert_eq!(a.run(&format!("pulse {coid} 10 1 0")), "EBADF");
    assert_eq!(k.process_counters(a.pid()).unwrap().pulses_sent, 0);
    a.quit();
}

/// conf_pulse: pulses_from_several_coids_carry_each_connections_scoid: another program's
/// shared coid and its _NTO_COF_NOSHARE one give their own scoids.
#[test]
fn pulses_from_another_programs_coids_carry_each_connections_scoid() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("p-scoids", 0);
    let other = a.ok(&format!("conn {} {chid} {_NTO_COF_NOSHARE}", me.pid)) as i32;
    for (c, code) in [(coid, 1), (other, 2), (coid, 3)] {
        assert_eq!(a.run(&format!("pulse {c} 10 {code} 0")), "ok:0");
    }
    let x = receive_pulse(&t, chid);
    let y = receive_pulse(&t, chid);
    let z = receive_pulse(&t, chid);
    assert_eq!((x.code, y.code, z.code), (1, 2, 3));
    assert_eq!(x.scoid, z.scoid);
    assert_ne!(x.scoid, y.scoid);
    assert_eq!(x.scoid, scoid_of(&k, a.pid(), coid));
    assert_eq!(y.scoid, scoid_of(&k, a.pid(), other));
    a.quit();
}

// ------------------------------------------------------------------ timeouts (conf_timeouts.rs)

/// conf_timeouts: receive_times_out_after_a_relative_monotonic_timeout: a receive of another
/// program's thread on its channel, bounded by a relative monotonic timeout: ETIMEDOUT, not
/// early, the thread running again; then a pulse of ours still reaches it.
#[test]
fn another_programs_receive_times_out_after_a_relative_monotonic_timeout() {
    let (_dir, k, _me, t, a, chid, coid) = with_agent_server("t-rmono", 0);
    assert_eq!(
        a.run(&arm_cmd(_NTO_TIMEOUT_RECEIVE, CLOCK_MONOTONIC, Some(SHORT))),
        "ok:0"
    );
    let out = a.run(&format!("recv {chid} 32"));
    assert_eq!(untimed(&out), "ETIMEDOUT");
    about(took(&out), SHORT);
    assert_eq!(
        k.thread_info(a.pid(), a.tid).unwrap().state,
        ThreadState::Running
    );
    t.msg_send_pulse(coid, 10, 1, 11).unwrap();
    let out = a.run(&format!("recv {chid} 32"));
    let scoid = scoid_of(&k, t.pid(), coid);
    assert_eq!(untimed(&out), format!("pulse 1 11 {scoid:#x}"));
    a.quit();
}

/// conf_timeouts: receive_times_out_after_a_relative_realtime_timeout.
#[test]
fn another_programs_receive_times_out_after_a_relative_realtime_timeout() {
    let (_dir, _k, _me, _t, a, chid, _coid) = with_agent_server("t-rreal", 0);
    let t0 = now_ns(CLOCK_REALTIME);
    a.run(&arm_cmd(_NTO_TIMEOUT_RECEIVE, CLOCK_REALTIME, Some(SHORT)));
    let out = a.run(&format!("recv {chid} 32"));
    assert_eq!(untimed(&out), "ETIMEDOUT");
    assert!(now_ns(CLOCK_REALTIME) >= t0 + SHORT, "not early");
    about(took(&out), SHORT);
    a.quit();
}

/// conf_timeouts: receive_times_out_at_an_absolute_deadline_on_either_clock: the deadline is
/// taken from this program's clock and kept by the other's.
#[test]
fn another_programs_receive_times_out_at_an_absolute_deadline_on_either_clock() {
    let (_dir, _k, _me, _t, a, chid, _coid) = with_agent_server("t-abs", 0);
    for clock in [CLOCK_MONOTONIC, CLOCK_REALTIME] {
        let deadline = now_ns(clock) + SHORT;
        a.run(&arm_cmd(
            _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME,
            clock,
            Some(deadline),
        ));
        let out = a.run(&format!("recv {chid} 32"));
        assert_eq!(untimed(&out), "ETIMEDOUT", "clock {clock}");
        assert!(now_ns(clock) >= deadline, "clock {clock}: not early");
    }
    a.quit();
}

/// conf_timeouts: absolute_deadline_already_past_times_out_when_the_call_would_block: and
/// with a pulse of ours queued, the same arm does not stop the other program's receive.
#[test]
fn a_past_deadline_ends_another_programs_receive_only_when_it_would_block() {
    let (_dir, _k, _me, t, a, chid, coid) = with_agent_server("t-past", 0);
    for clock in [CLOCK_MONOTONIC, CLOCK_REALTIME] {
        let past = now_ns(clock) - 1_000_000_000;
        let armed = arm_cmd(_NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME, clock, Some(past));
        a.run(&armed);
        assert_eq!(
            untimed(&a.run(&format!("recv {chid} 32"))),
            "ETIMEDOUT",
            "clock {clock}"
        );
        t.msg_send_pulse(coid, 10, 1, clock).unwrap();
        a.run(&armed);
        let out = a.run(&format!("recv {chid} 32"));
        assert!(
            out.starts_with(&format!("pulse 1 {clock} ")),
            "clock {clock}: {out:?}"
        );
    }
    a.quit();
}

/// conf_timeouts: reply_blocked_client_times_out_at_an_absolute_realtime_deadline: a client in
/// another program, REPLY-bounded at an absolute realtime deadline, SEND-blocked without a
/// bound until we receive it; then ETIMEDOUT and our reply is ESRCH.
#[test]
fn another_programs_client_times_out_in_reply_at_an_absolute_realtime_deadline() {
    let (_dir, _k, _me, t, chid, a, coid) = with_agent_client("t-absreply", 0);
    let deadline = now_ns(CLOCK_REALTIME) + SHORT;
    let armed = arm_cmd(
        _NTO_TIMEOUT_REPLY | TIMER_ABSTIME,
        CLOCK_REALTIME,
        Some(deadline),
    );
    a.bg("c", 10, &format!("{armed} ; send {coid} req 4"));
    assert_eq!(a.expect("c"), "ok:0");
    let (rcvid, _, msg) = take(&t, chid);
    assert_eq!(msg, b"req");
    assert_eq!(untimed(&a.expect("c")), "ETIMEDOUT ____");
    assert!(now_ns(CLOCK_REALTIME) >= deadline);
    assert_eq!(t.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    a.quit();
}

/// conf_timeouts: send_only_timeout_no_longer_bounds_a_client_once_it_is_received: a client
/// in another program with a SEND-only timeout, received before it expires, waits for our
/// reply well past it.
#[test]
fn a_send_only_timeout_no_longer_bounds_another_programs_client_once_received() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("t-sendonly", 0);
    let send_to = 300_000_000u64;
    let armed = arm_cmd(_NTO_TIMEOUT_SEND, CLOCK_MONOTONIC, Some(send_to));
    let ctid = a.bg("c", 10, &format!("{armed} ; send {coid} req 4"));
    assert_eq!(a.expect("c"), "ok:0");
    wait_send_blocked(&k, a.pid(), ctid);
    let t0 = Instant::now();
    let (rcvid, _, _) = take(&t, chid);
    std::thread::sleep(Duration::from_nanos(send_to + 200_000_000).saturating_sub(t0.elapsed()));
    wait_reply_blocked(&k, a.pid(), ctid);
    t.msg_reply(rcvid, 4, b"late").unwrap();
    assert_eq!(untimed(&a.expect("c")), "ok:4 late");
    a.quit();
}

/// conf_timeouts: send_only_immediate_timeout_does_not_stop_a_send_to_a_waiting_receiver:
/// another program's send, with an immediate SEND-only timeout, finds our receiver waiting:
/// it never SEND-blocks and its REPLY state is not bounded.
#[test]
fn an_immediate_send_only_timeout_does_not_stop_another_programs_send_to_our_waiting_receiver() {
    let (_dir, k, me, _t, chid, a, coid) = with_agent_client("t-immsend", 0);
    let rx = spawn(&k, me, 10, move |s| {
        let mut b = [0u8; 8];
        let rcvid = receive(s, chid, &mut b, None)?;
        std::thread::sleep(Duration::from_millis(30));
        s.msg_reply(rcvid, 6, b"")?;
        Ok::<_, Errno>(rcvid)
    })
    .once_receive_blocked(&k);
    a.run(&arm_cmd(_NTO_TIMEOUT_SEND, CLOCK_MONOTONIC, None));
    let out = a.run(&format!("send {coid} req 4"));
    assert!(rx.join().unwrap() > 0);
    assert_eq!(untimed(&out), "ok:6 ____");
    a.quit();
}

/// conf_timeouts: immediate_send_reply_timeout_to_a_waiting_receiver_delivers_then_times_out_in_reply:
/// the message reaches our waiting receiver, then the other program's client leaves with
/// ETIMEDOUT and our reply is ESRCH.
#[test]
fn an_immediate_send_reply_timeout_delivers_another_programs_message_then_times_out_in_reply() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("t-immboth", 0);
    let rx = spawn(&k, me, 10, move |s| {
        let mut b = [0u8; 8];
        receive(s, chid, &mut b, None).map(|rcvid| (rcvid, b))
    })
    .once_receive_blocked(&k);
    a.run(&arm_cmd(SEND_REPLY, CLOCK_MONOTONIC, None));
    let out = a.run(&format!("send {coid} req 4"));
    let (rcvid, b) = rx.join().unwrap();
    assert!(rcvid > 0);
    assert_eq!(&b[..3], b"req");
    assert_eq!(untimed(&out), "ETIMEDOUT ____");
    assert_eq!(t.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    a.quit();
}

/// conf_timeouts: timeout_is_one_shot_cleared_by_the_next_call_even_a_non_blocking_one: the
/// other program's thread spends its RECEIVE timeout on a ChannelCreate; its receive is then
/// unbounded (the agent is killed on every exit path) and still waits well after, until our
/// pulse comes.
#[test]
fn another_programs_timeout_is_spent_by_its_next_call_even_a_non_blocking_one() {
    let (_dir, k, _me, t, a, chid, coid) = with_agent_server("t-oneshot", 0);
    let armed = arm_cmd(_NTO_TIMEOUT_RECEIVE, CLOCK_MONOTONIC, Some(SHORT));
    let rtid = a.bg("r", 10, &format!("{armed} ; chan 0 ; recv {chid} 32"));
    assert_eq!(a.expect("r"), "ok:0");
    assert!(a.expect("r").starts_with("ok:"));
    stays_receive_blocked(&k, a.pid(), rtid, chid);
    t.msg_send_pulse(coid, 10, 3, 303).unwrap();
    assert!(a.expect("r").starts_with("pulse 3 303 "));
    a.quit();
}

/// conf_timeouts: timeout_is_spent_by_a_receive_that_did_not_block: our pulse is queued, so
/// the other program's first (armed) receive takes it; its second is not bounded by that arm.
#[test]
fn another_programs_timeout_is_spent_by_a_receive_that_did_not_block() {
    let (_dir, k, _me, t, a, chid, coid) = with_agent_server("t-spent", 0);
    t.msg_send_pulse(coid, 10, 1, 1).unwrap();
    let armed = arm_cmd(_NTO_TIMEOUT_RECEIVE, CLOCK_MONOTONIC, Some(SHORT));
    let rtid = a.bg(
        "r",
        10,
        &format!("{armed} ; recv {chid} 32 ; unbounded ; recv {chid} 32"),
    );
    assert_eq!(a.expect("r"), "ok:0");
    assert!(a.expect("r").starts_with("pulse 1 1 "));
    assert_eq!(a.expect("r"), "ok:0");
    stays_receive_blocked(&k, a.pid(), rtid, chid);
    t.msg_send_pulse(coid, 10, 2, 2).unwrap();
    assert!(a.expect("r").starts_with("pulse 2 2 "));
    a.quit();
}

/// conf_timeouts: timeout_for_other_states_does_not_bound_a_receive: a SEND/REPLY timeout
/// armed by the other program's thread leaves its receive unbounded.
#[test]
fn a_send_reply_timeout_does_not_bound_another_programs_receive() {
    let (_dir, k, _me, t, a, chid, coid) = with_agent_server("t-other", 0);
    let armed = arm_cmd(SEND_REPLY, CLOCK_MONOTONIC, Some(SHORT));
    let rtid = a.bg("r", 10, &format!("{armed} ; recv {chid} 32"));
    assert_eq!(a.expect("r"), "ok:0");
    stays_receive_blocked(&k, a.pid(), rtid, chid);
    t.msg_send_pulse(coid, 10, 2, 2).unwrap();
    assert!(a.expect("r").starts_with("pulse 2 2 "));
    a.quit();
}

/// conf_timeouts: null_ntime_times_out_at_once_only_when_the_receive_would_block: the other
/// program's polls: nothing, our queued pulse, our SEND-blocked client's message, nothing.
#[test]
fn another_programs_poll_times_out_only_when_its_receive_would_block() {
    let (_dir, k, me, t, a, chid, coid) = with_agent_server("t-poll", 0);
    let polled = arm_cmd(_NTO_TIMEOUT_RECEIVE, CLOCK_MONOTONIC, None);
    a.run(&polled);
    assert_eq!(untimed(&a.run(&format!("recv {chid} 32"))), "ETIMEDOUT");
    t.msg_send_pulse(coid, 10, 7, 70).unwrap();
    a.run(&polled);
    assert!(a.run(&format!("recv {chid} 32")).starts_with("pulse 7 70 "));
    let bg = spawn(&k, me, 10, move |c| send(c, coid, b"queued", &mut [])).once_send_blocked(&k);
    a.run(&polled);
    let out = a.run(&format!("recv {chid} 32"));
    let w = words(&out);
    assert_eq!((w[0], w[4]), ("msg", "queued"), "{out:?}");
    assert!(num(w[1]) > 0);
    assert_eq!(a.run(&format!("reply {} 0 -", w[1])), "ok:0");
    assert_eq!(bg.join(), Ok(0));
    a.run(&polled);
    assert_eq!(untimed(&a.run(&format!("recv {chid} 32"))), "ETIMEDOUT");
    a.quit();
}

// ------------------------------------------------------------------ unblock requests (conf_notifications.rs)

/// The agent's client thread "c" REPLY-bounded by SHORT on `coid` (its arm line consumed).
fn replier(a: &Agent, coid: i32) -> i32 {
    let armed = arm_cmd(_NTO_TIMEOUT_REPLY, CLOCK_MONOTONIC, Some(SHORT));
    let tid = a.bg("c", 10, &format!("{armed} ; send {coid} req 4"));
    assert_eq!(a.expect("c"), "ok:0");
    tid
}

/// Waits until the unblock pulse of another program's client is queued on our channel.
fn unblock_queued(k: &Kernel, me: Pid, chid: i32) {
    wait_until("unblock pulse queued", || queued(k, me.pid, chid) == 1);
}

/// conf_notifications: reply_before_the_unblock_pulse_is_received_removes_it: the client in
/// another program times out on our _NTO_CHF_UNBLOCK channel: the pulse is queued, MsgInfo
/// shows the request; our reply removes the pulse and reaches the client.
#[test]
fn our_reply_before_we_receive_another_programs_unblock_pulse_removes_it() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("n-reply", _NTO_CHF_UNBLOCK);
    let _reap = ReapOnPanic::new(&k, a.pid());
    replier(&a, coid);
    let (rcvid, _, _) = take(&t, chid);
    unblock_queued(&k, me, chid);
    assert_eq!(live(&k)[4], 1);
    assert_eq!(
        t.msg_info(rcvid).unwrap().flags & _NTO_MI_UNBLOCK_REQ,
        _NTO_MI_UNBLOCK_REQ
    );
    t.msg_reply(rcvid, 3, b"").unwrap();
    assert_eq!(live(&k)[4], 0, "the reply removed the pulse");
    assert_eq!(queued(&k, me.pid, chid), 0);
    assert_nothing_queued(&t, chid);
    assert_eq!(untimed(&a.expect("c")), "ok:3 ____");
    a.quit();
}

/// conf_notifications: msg_error_before_the_unblock_pulse_is_received_removes_it_too.
#[test]
fn our_msg_error_before_we_receive_another_programs_unblock_pulse_removes_it() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("n-error", _NTO_CHF_UNBLOCK);
    let _reap = ReapOnPanic::new(&k, a.pid());
    replier(&a, coid);
    let (rcvid, _, _) = take(&t, chid);
    unblock_queued(&k, me, chid);
    t.msg_error(rcvid, Errno::EINTR).unwrap();
    assert_eq!(live(&k)[4], 0);
    assert_nothing_queued(&t, chid);
    assert_eq!(untimed(&a.expect("c")), "EINTR ____");
    a.quit();
}

/// conf_notifications:
/// a_detached_clients_pending_unblock_request_stands_until_the_server_answers_then_it_gets_ebadf:
/// another thread of the client's program detaches the coid its REPLY-blocked thread used:
/// the client stays, the one unblock pulse stands; our answer leaves it with EBADF, its reply
/// buffer untouched, and the rcvid stale.
#[test]
fn another_programs_unblock_request_stands_after_it_detaches_then_it_gets_ebadf() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("n-detached", _NTO_CHF_UNBLOCK);
    let _reap = ReapOnPanic::new(&k, a.pid());
    let ctid = replier(&a, coid);
    let (rcvid, _, _) = take(&t, chid);
    unblock_queued(&k, me, chid);
    assert_eq!(a.run(&format!("detach {coid}")), "ok:0");
    std::thread::sleep(Duration::from_millis(20));
    wait_reply_blocked(&k, a.pid(), ctid);
    assert_eq!(queued(&k, me.pid, chid), 1, "still one unblock pulse");
    let p = receive_pulse(&t, chid);
    assert_eq!((p.code, p.value_long()), (_PULSE_CODE_UNBLOCK, rcvid));
    t.msg_reply(rcvid, 7, b"late").unwrap();
    assert_eq!(untimed(&a.expect("c")), "EBADF ____");
    assert_eq!(live(&k)[4], 0, "no pulse left for the gone rcvid");
    assert_nothing_queued(&t, chid);
    assert_eq!(t.msg_info(rcvid), Err(Errno::ESRCH));
    a.quit();
}

/// conf_notifications: reply_blocked_client_without_unblock_flag_leaves_with_etimedout_and_the_reply_is_esrch:
/// on a channel without _NTO_CHF_UNBLOCK the other program's client leaves at its timeout, no
/// pulse comes, and every answer to the rcvid is ESRCH; the channel still works.
#[test]
fn another_programs_client_leaves_a_channel_without_unblock_with_etimedout() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("n-nounblock", 0);
    let ctid = replier(&a, coid);
    wait_send_blocked(&k, a.pid(), ctid);
    let (rcvid, _, _) = take(&t, chid);
    assert_eq!(untimed(&a.expect("c")), "ETIMEDOUT ____");
    std::thread::sleep(Duration::from_nanos(SHORT));
    assert_nothing_queued(&t, chid);
    assert_eq!(t.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    assert_eq!(t.msg_error(rcvid, Errno::EINTR), Err(Errno::ESRCH));
    assert_eq!(t.msg_info(rcvid), Err(Errno::ESRCH));
    assert_eq!(live(&k)[4], 0);
    // A round trip still works.
    a.bg("d", 10, &format!("send {coid} again 4"));
    let (rcvid, _, msg) = take(&t, chid);
    assert_eq!(msg, b"again");
    t.msg_reply(rcvid, 1, b"ok").unwrap();
    assert_eq!(untimed(&a.expect("d")), "ok:1 ok__");
    a.quit();
}

/// conf_notifications: send_blocked_client_on_an_unblock_channel_leaves_at_once_without_a_pulse:
/// the other program's client, never received, times out on our _NTO_CHF_UNBLOCK channel
/// with no pulse.
#[test]
fn another_programs_send_blocked_client_leaves_our_unblock_channel_without_a_pulse() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("n-sendblk", _NTO_CHF_UNBLOCK);
    a.run(&arm_cmd(SEND_REPLY, CLOCK_MONOTONIC, Some(SHORT)));
    let out = a.run(&format!("send {coid} x 4"));
    assert_eq!(untimed(&out), "ETIMEDOUT ____");
    about(took(&out), SHORT);
    assert_eq!(live(&k)[4], 0);
    assert_nothing_queued(&t, chid);
    a.quit();
}

/// conf_notifications: unblock_pulse_goes_straight_to_a_receive_blocked_server_thread: a
/// SIGEV_UNBLOCK event for the other program's REPLY-blocked client hands the unblock pulse
/// to our other waiting thread; the client stays until our MsgError.
#[test]
fn the_unblock_pulse_for_another_programs_client_goes_straight_to_our_waiting_thread() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("n-straight", _NTO_CHF_UNBLOCK);
    let _reap = ReapOnPanic::new(&k, a.pid());
    let armed = arm_cmd(SEND_REPLY, CLOCK_MONOTONIC, Some(SAFETY));
    let ctid = a.bg("c", 10, &format!("{armed} ; send {coid} req 4"));
    assert_eq!(a.expect("c"), "ok:0");
    let (rcvid, _, _) = take(&t, chid);
    let rx = spawn(&k, me, 10, move |s| receive_pulse(s, chid)).once_receive_blocked(&k);
    t.msg_deliver_event(rcvid, &SigEvent::unblock()).unwrap();
    let p = rx.join();
    assert_eq!((p.code, p.value_long()), (_PULSE_CODE_UNBLOCK, rcvid));
    assert_eq!(live(&k)[4], 0, "never queued");
    wait_reply_blocked(&k, a.pid(), ctid);
    t.msg_error(rcvid, Errno::EINTR).unwrap();
    assert_eq!(untimed(&a.expect("c")), "EINTR ____");
    a.quit();
}

/// conf_notifications: unblock_event_to_a_reply_blocked_client_on_an_unblock_channel_sends_the_unblock_pulse:
/// the pulse names the rcvid and the other program's scoid.
#[test]
fn an_unblock_event_for_another_programs_client_sends_us_the_unblock_pulse() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("n-event", _NTO_CHF_UNBLOCK);
    let _reap = ReapOnPanic::new(&k, a.pid());
    let armed = arm_cmd(SEND_REPLY, CLOCK_MONOTONIC, Some(SAFETY));
    let ctid = a.bg("c", 10, &format!("{armed} ; send {coid} req 4"));
    assert_eq!(a.expect("c"), "ok:0");
    let (rcvid, info, _) = take(&t, chid);
    t.msg_deliver_event(rcvid, &SigEvent::unblock()).unwrap();
    let p = receive_pulse(&t, chid);
    assert_eq!(
        (p.code, p.value_long(), p.scoid),
        (_PULSE_CODE_UNBLOCK, rcvid, info.scoid)
    );
    assert_eq!(info.scoid, scoid_of(&k, a.pid(), coid));
    wait_reply_blocked(&k, a.pid(), ctid);
    t.msg_error(rcvid, Errno::EINTR).unwrap();
    assert_eq!(untimed(&a.expect("c")), "EINTR ____");
    a.quit();
}

// ------------------------------------------------------------------ disconnect and coid death (conf_notifications.rs)

/// conf_notifications: without_the_disconnect_flag_the_last_detach_sends_nothing_and_frees_the_connection:
/// nor does the other program's process destroy.
#[test]
fn without_the_disconnect_flag_another_programs_last_detach_sends_nothing() {
    let (_dir, k, path) = shared("n-nodisc");
    let (me, t) = attach(&k);
    let chid = t.channel_create(0).unwrap();
    let start = live(&k)[3];
    let a = Agent::start(&path);
    let coid = a.ok(&format!("conn {} {chid} 0", me.pid)) as i32;
    let scoid = scoid_of(&k, a.pid(), coid);
    assert_eq!(live(&k)[3], start + 1);
    assert_eq!(a.run(&format!("detach {coid}")), "ok:0");
    assert_eq!(live(&k)[3], start, "freed at once");
    assert_nothing_queued(&t, chid);
    assert_eq!(t.connect_detach(scoid), Err(Errno::EINVAL));
    a.ok(&format!("conn {} {chid} 0", me.pid));
    assert_eq!(live(&k)[3], start + 1);
    assert_eq!(a.run("pdestroy"), "ok:0");
    assert_nothing_queued(&t, chid);
    assert_eq!(live(&k)[3], start);
    a.quit();
}

/// conf_notifications: disconnect_pulse_is_queued_ahead_of_higher_priority_pulses: the other
/// program's disconnect pulse comes before our priority-200 pulse queued earlier.
#[test]
fn another_programs_disconnect_pulse_is_queued_ahead_of_higher_priority_pulses() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("n-ahead", _NTO_CHF_DISCONNECT);
    let own = connect(&t, me.pid, chid);
    t.msg_send_pulse(own, 200, 5, 5).unwrap();
    let scoid = scoid_of(&k, a.pid(), coid);
    assert_eq!(a.run(&format!("detach {coid}")), "ok:0");
    let p = receive_pulse(&t, chid);
    assert_eq!((p.code, p.scoid), (_PULSE_CODE_DISCONNECT, scoid));
    let p = receive_pulse(&t, chid);
    assert_eq!((p.code, p.value_int()), (5, 5));
    t.connect_detach(scoid).unwrap();
    let oscoid = scoid_of(&k, me.pid, own);
    t.connect_detach(own).unwrap();
    assert_eq!(receive_pulse(&t, chid).scoid, oscoid);
    t.connect_detach(oscoid).unwrap();
    a.quit();
}

/// conf_notifications: channel_destroy_sends_coid_death_for_each_client_coid_to_the_clients_death_channel:
/// we destroy our channel; the other program's death channel gets one _PULSE_CODE_COIDDEATH
/// per coid (value the coid, scoid -1); its coids then lead nowhere until detached.
#[test]
fn our_channel_destroy_sends_coid_death_to_another_programs_death_channel() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("n-coiddeath", 0);
    let start = live(&k)[3];
    let dchid = a.ok(&format!("chan {_NTO_CHF_COID_DISCONNECT}"));
    let coid_b = a.ok(&format!("conn {} {chid} 0", me.pid)) as i32;
    t.channel_destroy(chid).unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        let out = a.run(&format!("recv {dchid} 32"));
        let w = words(&out);
        assert_eq!(
            (w[0], num(w[1]), w[3]),
            ("pulse", i64::from(_PULSE_CODE_COIDDEATH), "0xffffffff"),
            "{out:?}"
        );
        got.push(num(w[2]) as i32);
    }
    got.sort();
    let mut want = vec![coid, coid_b];
    want.sort();
    assert_eq!(got, want, "one pulse per coid, value = the coid");
    a.run(&arm_cmd(_NTO_TIMEOUT_RECEIVE, CLOCK_MONOTONIC, None));
    assert_eq!(untimed(&a.run(&format!("recv {dchid} 32"))), "ETIMEDOUT");
    assert_eq!(a.run(&format!("pulse {coid} 10 1 1")), "EBADF");
    assert_eq!(untimed(&a.run(&format!("send {coid_b} x 0"))), "EBADF -");
    assert_eq!(a.run(&format!("detach {coid}")), "ok:0");
    assert_eq!(a.run(&format!("detach {coid_b}")), "ok:0");
    assert_eq!(live(&k)[3], start - 1);
    a.quit();
}

/// conf_notifications: server_process_destroy_sends_coid_death: the server program's process
/// ends; our death channel gets _PULSE_CODE_COIDDEATH for our coid to it.
#[test]
fn another_programs_server_process_destroy_sends_us_coid_death() {
    let (_dir, _k, _me, t, a, _chid, coid) = with_agent_server("n-srvdeath", 0);
    let dchid = t
        .channel_create(_NTO_CHF_COID_DISCONNECT | _NTO_CHF_THREAD_DEATH)
        .unwrap();
    assert_eq!(a.run("pdestroy"), "ok:0");
    let p = receive_pulse(&t, dchid);
    assert_eq!(
        (p.code, p.value_int(), p.scoid),
        (_PULSE_CODE_COIDDEATH, coid, -1)
    );
    assert_nothing_queued(&t, dchid);
    assert_eq!(t.msg_send_pulse(coid, 10, 1, 1), Err(Errno::EBADF));
    t.connect_detach(coid).unwrap();
    a.quit();
}

/// conf_notifications: no_coid_death_pulse_without_the_coid_disconnect_flag: the other
/// program destroys the channel we are connected to; our death channel without
/// _NTO_CHF_COID_DISCONNECT gets nothing.
#[test]
fn no_coid_death_pulse_from_another_program_without_the_coid_disconnect_flag() {
    let (_dir, k, _me, t, a, chid, coid) = with_agent_server("n-nocoiddeath", 0);
    let dchid = t.channel_create(_NTO_CHF_THREAD_DEATH).unwrap();
    assert_eq!(a.run(&format!("chdestroy {chid}")), "ok:0");
    std::thread::sleep(Duration::from_millis(5));
    assert_nothing_queued(&t, dchid);
    assert_eq!(live(&k)[4], 0);
    assert_eq!(t.msg_send_pulse(coid, 10, 1, 1), Err(Errno::EBADF));
    t.connect_detach(coid).unwrap();
    a.quit();
}

/// conf_notifications: thread_death_in_another_process_is_not_reported: a thread of the other
/// program ends; our _NTO_CHF_THREAD_DEATH channel gets nothing.
#[test]
fn a_thread_death_in_another_program_is_not_reported_to_us() {
    let (_dir, k, path) = shared("n-thdeath");
    let (_me, t) = attach(&k);
    let dchid = t.channel_create(_NTO_CHF_THREAD_DEATH).unwrap();
    let a = Agent::start(&path);
    let tid = a.bg("x", 12, "tid");
    assert_eq!(a.expect("x"), format!("ok:{tid}"));
    wait_gone(&k, a.pid(), tid);
    std::thread::sleep(Duration::from_millis(5));
    assert_nothing_queued(&t, dchid);
    a.quit();
}

// ------------------------------------------------------------------ SRR (conf_srr.rs)

/// conf_srr: message_rcvid_is_positive_and_pulse_rcvid_is_zero: another program's pulse
/// (queued first) is received with rcvid 0, its message with a positive rcvid; a reply to
/// rcvid 0 is ESRCH, to the real one reaches the client.
#[test]
fn another_programs_message_has_a_positive_rcvid_and_its_pulse_rcvid_0() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("s-rcvid", 0);
    assert_eq!(a.run(&format!("pulse {coid} 10 7 70")), "ok:0");
    let ctid = a.bg("c", 10, &format!("send {coid} msg 4"));
    wait_send_blocked(&k, a.pid(), ctid);
    let mut buf = [0u8; 32];
    assert_eq!(receive(&t, chid, &mut buf, None), Ok(0));
    let pulse = Pulse::from_bytes(&buf).unwrap();
    assert_eq!((pulse.code, pulse.value_int()), (7, 70));
    let rcvid = receive(&t, chid, &mut buf, None).unwrap();
    assert!(rcvid > 0, "message rcvid {rcvid} must be > 0");
    assert_eq!(&buf[..3], b"msg");
    assert_eq!(t.msg_reply(0, 1, b""), Err(Errno::ESRCH));
    assert_eq!(t.msg_reply(rcvid, 1, b""), Ok(()));
    assert_eq!(untimed(&a.expect("c")), "ok:1 ____");
    a.quit();
}

/// conf_srr: sender_finding_receive_blocked_server_goes_straight_to_reply_blocked: another
/// program's send with an immediate SEND timeout fails with nobody receiving, but with our
/// thread waiting it is handed over and its REPLY state is not bounded.
#[test]
fn another_programs_send_finding_our_receiver_goes_straight_to_reply_blocked() {
    let (_dir, k, me, t, chid, a, coid) = with_agent_client("s-straight", 0);
    let now = arm_cmd(_NTO_TIMEOUT_SEND, CLOCK_MONOTONIC, None);
    a.run(&now);
    assert_eq!(
        untimed(&a.run(&format!("send {coid} x 4"))),
        "ETIMEDOUT ____"
    );
    assert_nothing_queued(&t, chid);
    let h = spawn(&k, me, 10, move |s| {
        let mut b = [0u8; 8];
        let rcvid = receive(s, chid, &mut b, None)?;
        s.msg_reply(rcvid, 5, &b[..2])?;
        Ok::<_, Errno>(b)
    })
    .once_receive_blocked(&k);
    a.run(&now);
    assert_eq!(untimed(&a.run(&format!("send {coid} ok 4"))), "ok:5 ok__");
    assert_eq!(&h.join().unwrap()[..2], b"ok");
    a.quit();
}

/// conf_srr: thread_states_name_whom_a_thread_waits_on: the other program's receiving thread
/// is RECEIVE-blocked naming its chid; its client thread SEND-blocked naming our pid and
/// chid, then REPLY-blocked naming our receiving thread, which runs meanwhile.
#[test]
fn thread_states_across_programs_name_whom_a_thread_waits_on() {
    let (_dir, k, path) = shared("s-states");
    let (me, t) = attach(&k);
    let chid = t.channel_create(0).unwrap();
    let a = Agent::start(&path);
    // The other program RECEIVE-blocked on its own channel.
    let achid = a.ok("chan 0") as i32;
    let acoid = connect(&t, a.pid(), achid);
    let rtid = a.bg("r", 10, &format!("recv {achid} 32"));
    let st = wait_receive_blocked(&k, a.pid(), rtid);
    assert_eq!(st.state, ThreadState::Receive { chid: achid });
    assert_eq!(st.state.qnx_state(), STATE_RECEIVE);
    t.msg_send_pulse(acoid, 10, 1, 0).unwrap();
    assert!(a.expect("r").starts_with("pulse 1 0 "));
    // Its client SEND-blocked on our channel, then REPLY-blocked.
    let coid = a.ok(&format!("conn {} {chid} 0", me.pid));
    let ctid = a.bg("c", 10, &format!("send {coid} hello 8"));
    let st = wait_send_blocked(&k, a.pid(), ctid);
    assert_eq!(st.state, ThreadState::Send { pid: me.pid, chid });
    assert_eq!(st.state.qnx_state(), STATE_SEND);
    let (rcvid, _, _) = take(&t, chid);
    let st = k.thread_info(a.pid(), ctid).unwrap();
    assert_eq!(
        st.state,
        ThreadState::Reply {
            pid: me.pid,
            chid,
            tid: t.tid()
        }
    );
    assert_eq!(st.state.qnx_state(), STATE_REPLY);
    assert_eq!(
        k.thread_info(me.pid, t.tid()).unwrap().state,
        ThreadState::Running
    );
    t.msg_reply(rcvid, 0, b"bye").unwrap();
    assert_eq!(untimed(&a.expect("c")), "ok:0 bye_____");
    assert_eq!(
        k.thread_info(a.pid(), a.tid).unwrap().state,
        ThreadState::Running
    );
    a.quit();
}

/// conf_srr: thread_returns_to_running_after_its_exchange: the other program's client thread,
/// answered, is running again (while it stays, sleeping outside the kernel).
#[test]
fn another_programs_client_thread_returns_to_running_after_its_exchange() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("s-running", 0);
    let ctid = a.bg("c", 10, &format!("send {coid} 1 4 ; sleep 1000"));
    let (rcvid, _, _) = take(&t, chid);
    t.msg_reply(rcvid, 9, b"").unwrap();
    assert_eq!(untimed(&a.expect("c")), "ok:9 ____");
    assert_eq!(
        k.thread_info(a.pid(), ctid).unwrap().state,
        ThreadState::Running
    );
    assert_eq!(a.expect("c"), "ok:0");
    a.quit();
}

/// conf_srr: zero_length_send_and_reply: another program's empty message: msglen and
/// srcmsglen 0, dstmsglen its reply buffer's 4, our receive buffer untouched; the empty
/// reply's status reaches it.
#[test]
fn zero_length_send_and_reply_across_programs() {
    let (_dir, _k, _me, t, chid, a, coid) = with_agent_client("s-zero", 0);
    a.bg("c", 10, &format!("send {coid} - 4"));
    let mut buf = [0xEEu8; 8];
    let mut info = MsgInfo::default();
    let rcvid = receive(&t, chid, &mut buf, Some(&mut info)).unwrap();
    assert!(rcvid > 0);
    assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (0, 0, 4));
    assert_eq!(buf, [0xEE; 8]);
    t.msg_reply(rcvid, 3, b"").unwrap();
    assert_eq!(untimed(&a.expect("c")), "ok:3 ____");
    a.quit();
}

/// conf_srr: any_server_thread_of_the_process_may_reply: in the server program, a thread
/// other than the receiving one reads and answers our message.
#[test]
fn any_thread_of_another_programs_server_may_read_and_reply() {
    let (_dir, k, me, _t, a, chid, coid) = with_agent_server("s-anythread", 0);
    let _reap = ReapOnPanic::new(&k, a.pid());
    let h = spawn(&k, me, 10, move |c| {
        let mut r = [0u8; 5];
        let st = send(c, coid, b"hi", &mut r);
        (st, r)
    });
    let out = a.run(&format!("recv {chid} 4"));
    let w = words(&out);
    assert_eq!((w[0], w[4]), ("msg", "hi"), "{out:?}");
    let rcvid = w[1];
    a.bg("o", 10, &format!("read {rcvid} 2 ; reply {rcvid} 4 other"));
    assert_eq!(a.expect("o"), "ok:2 hi");
    assert_eq!(a.expect("o"), "ok:0");
    assert_eq!(h.join(), (Ok(4), *b"other"));
    a.quit();
}

/// conf_srr: reply_from_another_process_is_esrch: the client's own program (another thread of
/// its process) cannot answer, read, write or inspect the rcvid of its message to us.
#[test]
fn the_clients_own_program_cannot_answer_our_rcvid() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("s-notyours", 0);
    let ctid = a.bg("c", 10, &format!("send {coid} hi 4"));
    let (rcvid, _, _) = take(&t, chid);
    assert_eq!(a.run(&format!("reply {rcvid} 1 -")), "ESRCH");
    assert_eq!(a.run(&format!("error {rcvid} 0")), "ESRCH");
    assert_eq!(a.run(&format!("read {rcvid} 4")), "ESRCH ____");
    assert_eq!(a.run(&format!("write {rcvid} x")), "ESRCH");
    assert_eq!(a.run(&format!("info {rcvid}")), "ESRCH");
    wait_reply_blocked(&k, a.pid(), ctid);
    t.msg_reply(rcvid, 2, b"").unwrap();
    assert_eq!(untimed(&a.expect("c")), "ok:2 ____");
    a.quit();
}

/// conf_srr: reply_after_the_receiving_thread_exits_still_reaches_the_client: in the server
/// program, the receiving thread ends without replying; another thread answers us later.
#[test]
fn another_programs_reply_after_its_receiving_thread_ends_still_reaches_us() {
    let (_dir, k, me, _t, a, chid, coid) = with_agent_server("s-exited", 0);
    let _reap = ReapOnPanic::new(&k, a.pid());
    let client = spawn(&k, me, 10, move |c| {
        let mut r = [0u8; 4];
        let st = send(c, coid, b"hey", &mut r);
        (st, r)
    });
    let rtid = a.bg("r", 10, &format!("recv {chid} 4"));
    let out = a.expect("r");
    let w = words(&out);
    assert_eq!((w[0], w[4]), ("msg", "hey"), "{out:?}");
    wait_gone(&k, a.pid(), rtid);
    wait_reply_blocked(&k, me.pid, client.tid);
    assert_eq!(a.run(&format!("reply {} 6 late", w[1])), "ok:0");
    assert_eq!(client.join(), (Ok(6), *b"late"));
    a.quit();
}

/// conf_srr: newest_receive_blocked_thread_gets_the_next_message: of the server program's two
/// RECEIVE-blocked threads, the newest gets our next message.
#[test]
fn the_newest_receive_blocked_thread_of_another_program_gets_our_next_message() {
    let (_dir, k, _me, t, a, chid, coid) = with_agent_server("s-newest", 0);
    let t1 = a.bg("one", 10, &format!("recv {chid} 8 ; reply $ 1 -"));
    wait_receive_blocked(&k, a.pid(), t1);
    let t2 = a.bg("two", 10, &format!("recv {chid} 8 ; reply $ 2 -"));
    wait_receive_blocked(&k, a.pid(), t2);
    let mut r = [0u8; 1];
    assert_eq!(send(&t, coid, b"a", &mut r), Ok(2));
    assert_eq!(send(&t, coid, b"b", &mut r), Ok(1));
    assert!(a.expect("two").starts_with("msg "));
    assert!(a.expect("one").starts_with("msg "));
    assert_eq!(a.expect("one"), "ok:0");
    assert_eq!(a.expect("two"), "ok:0");
    a.quit();
}

/// conf_srr: receive_with_null_ntime_and_nothing_queued_times_out_at_once: the other
/// program's poll of its empty channel, then of our queued pulse; MsgReceivePulse polls too.
#[test]
fn another_programs_receive_with_null_ntime_times_out_at_once() {
    let (_dir, k, _me, t, a, chid, coid) = with_agent_server("s-null", 0);
    let now = arm_cmd(_NTO_TIMEOUT_RECEIVE, CLOCK_MONOTONIC, None);
    a.run(&now);
    assert_eq!(untimed(&a.run(&format!("recv {chid} 32"))), "ETIMEDOUT");
    assert_eq!(
        k.thread_info(a.pid(), a.tid).unwrap().state,
        ThreadState::Running
    );
    t.msg_send_pulse(coid, 10, 3, 33).unwrap();
    a.run(&now);
    assert!(a.run(&format!("recv {chid} 32")).starts_with("pulse 3 33 "));
    a.run(&now);
    assert_eq!(a.run(&format!("recvpulse {chid}")), "ETIMEDOUT");
    a.quit();
}

// ------------------------------------------------------------------ more (conf_pulse.rs, conf_notifications.rs, conf_timeouts.rs)

/// conf_pulse: messages_go_to_full_receivers_and_pulses_to_any_receiver: in the server
/// program, our message skips the newer pulse-only receiver for the full one; our pulse goes
/// to the pulse-only receiver.
#[test]
fn our_message_skips_another_programs_pulse_only_receiver_and_our_pulse_reaches_it() {
    let (_dir, k, _me, t, a, chid, coid) = with_agent_server("p-full", 0);
    let ftid = a.bg("full", 10, &format!("recv {chid} 32 ; reply $ 11 -"));
    wait_receive_blocked(&k, a.pid(), ftid);
    let ptid = a.bg("po", 10, &format!("recvpulse {chid}"));
    wait_receive_blocked(&k, a.pid(), ptid);
    assert_eq!(send(&t, coid, b"m", &mut []), Ok(11));
    let out = a.expect("full");
    assert!(
        out.starts_with("msg ") && num(words(&out)[1]) > 0,
        "{out:?}"
    );
    assert_eq!(a.expect("full"), "ok:0");
    assert!(matches!(
        k.thread_info(a.pid(), ptid).unwrap().state,
        ThreadState::Receive { .. }
    ));
    t.msg_send_pulse(coid, 10, 4, 44).unwrap();
    assert!(a.expect("po").starts_with("pulse 4 44 "));
    a.quit();
}

/// conf_notifications: client_is_released_when_no_unblock_pulse_can_be_queued: with the only
/// pulse object taken (the other program's own pulse, at priority 1), its REPLY-blocked
/// client on our _NTO_CHF_UNBLOCK channel leaves with ETIMEDOUT; our reply is ESRCH.
#[test]
fn another_programs_client_is_released_when_no_unblock_pulse_can_be_queued() {
    let (_dir, k, path) = shared_with(
        "n-nopulse",
        Config {
            max_pulses: 1,
            ..Config::default()
        },
    );
    let (me, t) = attach(&k);
    let chid = t.channel_create(_NTO_CHF_UNBLOCK).unwrap();
    let a = Agent::start(&path);
    let coid = a.ok(&format!("conn {} {chid} 0", me.pid)) as i32;
    assert_eq!(a.run(&format!("pulse {coid} 1 1 1")), "ok:0");
    let ctid = replier(&a, coid);
    wait_send_blocked(&k, a.pid(), ctid);
    let (rcvid, _, _) = take(&t, chid);
    assert_eq!(untimed(&a.expect("c")), "ETIMEDOUT ____");
    assert_eq!(t.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    let p = receive_pulse(&t, chid);
    assert_eq!(p.code, 1);
    assert_nothing_queued(&t, chid);
    a.quit();
}

/// conf_notifications: process_destroy_releases_its_own_thread_send_blocked_on_another_process_with_esrch:
/// the client program destroys its process while a thread of it is SEND-blocked on our
/// channel: it leaves with ESRCH; we never see the message, only the disconnect pulse.
#[test]
fn another_programs_process_destroy_releases_its_thread_send_blocked_on_us() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("n-destroysend", _NTO_CHF_DISCONNECT);
    let ctid = a.bg("c", 10, &format!("send {coid} req 0"));
    wait_send_blocked(&k, a.pid(), ctid);
    assert_eq!(a.run("pdestroy"), "ok:0");
    assert_eq!(untimed(&a.expect("c")), "ESRCH -");
    let p = receive_pulse(&t, chid);
    assert_eq!(p.code, _PULSE_CODE_DISCONNECT);
    t.connect_detach(p.scoid).unwrap();
    assert_nothing_queued(&t, chid);
    a.quit();
}

/// conf_notifications: process_destroy_releases_its_own_thread_reply_blocked_on_another_process_with_esrch:
/// the same with the thread REPLY-blocked on us: it leaves with ESRCH, our reply is ESRCH.
#[test]
fn another_programs_process_destroy_releases_its_thread_reply_blocked_on_us() {
    let (_dir, k, _me, t, chid, a, coid) = with_agent_client("n-destroyreply", 0);
    let ctid = a.bg("c", 10, &format!("send {coid} req 0"));
    let (rcvid, _, _) = take(&t, chid);
    wait_reply_blocked(&k, a.pid(), ctid);
    assert_eq!(a.run("pdestroy"), "ok:0");
    assert_eq!(untimed(&a.expect("c")), "ESRCH -");
    assert_eq!(t.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    a.quit();
}

/// conf_timeouts: a_nanosleep_ends_with_esrch_when_its_process_is_torn_down: a thread of the
/// other program in a 60 s TimerTimeout nanosleep leaves with ESRCH, at once, when another
/// thread destroys its process.
#[test]
fn another_programs_nanosleep_ends_with_esrch_when_its_process_is_torn_down() {
    let (_dir, k, path) = shared("t-nanosleep");
    let a = Agent::start(&path);
    let armed = arm_cmd(
        _NTO_TIMEOUT_NANOSLEEP,
        CLOCK_MONOTONIC,
        Some(60_000_000_000),
    );
    let stid = a.bg("s", 10, &armed);
    wait_for(&k, a.pid(), stid, "NANOSLEEP-blocked", |s| {
        *s == ThreadState::Nanosleep
    });
    let t0 = Instant::now();
    assert_eq!(a.run("pdestroy"), "ok:0");
    assert_eq!(a.expect("s"), "ESRCH");
    assert!(t0.elapsed() < Duration::from_secs(30));
    a.quit();
}

/// conf_timeouts: timeout_pulse_event_to_another_channel_is_delivered_and_the_call_keeps_waiting:
/// the other program's RECEIVE timeout carries a SIGEV_PULSE to our channel (through its
/// coid): at expiry the pulse comes to us, once, and its receive keeps waiting for ours.
#[test]
fn another_programs_timeout_pulse_event_comes_to_our_channel_and_its_receive_keeps_waiting() {
    let (_dir, k, path) = shared("t-event");
    let (me, t) = attach(&k);
    let pchid = t.channel_create(0).unwrap();
    let a = Agent::start(&path);
    let achid = a.ok("chan 0") as i32;
    let acoid = connect(&t, a.pid(), achid);
    let coid2 = a.ok(&format!("conn {} {pchid} 0", me.pid)) as i32;
    let rtid = a.bg(
        "r",
        10,
        &format!(
            "armev {_NTO_TIMEOUT_RECEIVE} {CLOCK_MONOTONIC} {SHORT} {coid2} 10 11 1111 ; \
             recv {achid} 32"
        ),
    );
    assert_eq!(a.expect("r"), "ok:0");
    wait_until("timeout pulse queued", || queued(&k, me.pid, pchid) > 0);
    assert_eq!(
        k.thread_info(a.pid(), rtid).unwrap().state,
        ThreadState::Receive { chid: achid }
    );
    std::thread::sleep(Duration::from_nanos(2 * SHORT));
    assert_eq!(queued(&k, me.pid, pchid), 1, "one expiry, one pulse");
    t.msg_send_pulse(acoid, 10, 12, 1212).unwrap();
    assert!(a.expect("r").starts_with("pulse 12 1212 "));
    let tp = receive_pulse(&t, pchid);
    assert_eq!((tp.code, tp.value_int()), (11, 1111));
    assert_eq!(tp.scoid, scoid_of(&k, a.pid(), coid2));
    a.quit();
}
