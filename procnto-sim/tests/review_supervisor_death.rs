//! Review: what happens to a supervised kernel's programs when its supervisor (`procnto-sim`)
//! is killed with SIGKILL.
//!
//! The specified behaviour (docs/design.md, "The supervisor"; docs/deviations.md, "A supervisor
//! that dies"): every admitted program watches its supervisor, and when it dies the programs of
//! that kernel take over its reaping as the programs of a kernel without a supervisor do (a
//! blocked thread's timer service looks for dead programs every 200 ms; a thread waiting for
//! the lock takes it over from a dead holder). So, after the supervisor is killed:
//!
//! 1. the programs already admitted go on messaging each other (SRR, pulses, new connections);
//! 2. a server killed afterwards releases its REPLY- and SEND-blocked clients with ESRCH within
//!    [`RELEASE`] (and so does one killed just before the supervisor, which never reaped it);
//! 3. a client killed afterwards gives its server (`_NTO_CHF_DISCONNECT`) a disconnect pulse;
//! 4. a program killed afterwards holding the kernel lock (parked there by fault injection,
//!    `QNXSIM_FAULT_HOLD_US`, as `fault_injection.rs` does) leaves no one stuck;
//! 5. a new program of the same name starts a new supervisor with a new, empty kernel (it
//!    cannot join the old one: ConnectAttach to an old server's pid is ESRCH), whose socket is
//!    removed when it ends;
//! 6. supervisors killed at random moments while programs are admitted and message each other
//!    leave no program hung (each joins and works, or fails with an errno and says so), and
//!    nothing behind: no socket or `.phys` file but what a killed supervisor leaves (its
//!    socket, its `.phys`: the next supervisor of the name replaces them), no process running.
//!
//! The programs are this test binary re-run in roles (`child_entry`), with `QNXSIM_KERNEL`
//! naming a socket in the test's own temporary directory. Every process is bounded in time and
//! killed on every exit path (the children by their guards; supervisors a program started,
//! which are no children of the test, by [`Leftovers`], found by the unique socket path their
//! command line names); every wait is bounded.
//!
//! Once the supervisor is dead the test process maps no kernel: a mapping would make it one
//! of the kernel's programs, and with the new behaviour a reaper of its dead programs itself,
//! which would hide whether the programs under test do it. What happens is told by the
//! programs.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::kernel_procs::*;
use common::{env as kernel_env, socket_in, wait_until, Sup, WITHIN};
use procs::{child_role, child_setup, lines_from_parent, tell_parent, Child, NotePipe, TempDir};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use userlib::consts::*;
use userlib::qnx::*;
use userlib::{Errno, MsgInfo};

/// The bound within which, with no supervisor, a dead program's peers are released (a 200 ms
/// reaping slice, generously).
const RELEASE: Duration = Duration::from_secs(10);
/// Bound on the children's blocking calls (ns): far beyond [`RELEASE`], so that a release by
/// their own timeout is never taken for a release by the reaping.
const CHILD_NS: u64 = 60_000_000_000;
/// The descriptor a victim writes its fault notes to (`QNXSIM_FAULT_FD`), and where the pipe is.
const NOTE_FD: i32 = 100;
const NOTES_ENV: &str = "QNXSIM_SD_NOTES";
/// A file a child's stderr goes to (the random test keeps what failing programs said there).
const STDERR_ENV: &str = "QNXSIM_SD_STDERR";
/// How long a victim's every kernel call holds the lock (`QNXSIM_FAULT_HOLD_US`).
const HOLD_US: u64 = 1_000_000;

/// Pulse codes of the tests' own.
const CODE_COUNTED: i8 = 5;
const CODE_POKE: i8 = 7;
const CODE_BYE: i8 = 9;

// ================================================================== the children's side

fn nums(arg: &str) -> Vec<i32> {
    arg.split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i32>().expect("a number"))
        .collect()
}

/// CLOCK_MONOTONIC in ns, as both sides read it (std's `Instant` reads the same clock).
fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn arm(flags: u32) {
    timer_timeout(CLOCK_MONOTONIC, flags, Some(CHILD_NS)).expect("TimerTimeout");
}

/// A server for the messaging tests: echoes `p` messages, counts pulses of `CODE_COUNTED`,
/// answers `c` with that count (8 bytes), and on `k` (pid, chid, value) sends a pulse of
/// `CODE_POKE` to that channel through a connection of its own, made then. Ends after 60 s
/// idle.
fn echo_server() {
    let chid = channel_create(0).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let mut counted = 0u64;
    let mut buf = [0u8; 512];
    loop {
        arm(_NTO_TIMEOUT_RECEIVE);
        let mut info = MsgInfo::default();
        let rcvid = match msg_receive(chid, &mut buf, Some(&mut info)) {
            Ok(r) => r,
            Err(e) => return tell_parent(&format!("receive {e:?}")),
        };
        if rcvid == 0 {
            let p = userlib::Pulse::from_bytes(&buf).expect("a pulse");
            if p.code == CODE_COUNTED {
                counted += 1;
            }
            continue;
        }
        let len = (info.msglen as usize).min(buf.len());
        let r = match buf[0] {
            b'p' => msg_reply(rcvid, len as i64, &buf[..len]),
            b'c' => msg_reply(rcvid, 0, &counted.to_ne_bytes()),
            b'k' => {
                let word = |at: usize| i32::from_ne_bytes(buf[at..at + 4].try_into().unwrap());
                let (pid, chid, value) = (word(4), word(8), word(12));
                let poked = connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0).and_then(|c| {
                    let r = msg_send_pulse(c, 10, CODE_POKE, value);
                    let _ = connect_detach(c);
                    r
                });
                match poked {
                    Ok(()) => msg_reply(rcvid, 0, b"poked"),
                    Err(e) => msg_error(rcvid, e),
                }
            }
            _ => msg_error(rcvid, Errno::EINVAL),
        };
        if let Err(e) = r {
            tell_parent(&format!("reply {e:?}"));
        }
    }
}

/// One round of a talker: SRR on its old connection and on a new one, pulses on both (the
/// server's count must reach them), and a pulse from the server to our channel through a
/// connection the server makes now.
fn talk_round(
    round: i32,
    old: i32,
    target: (i32, i32),
    mine: i32,
    sent: &mut u64,
) -> Result<String, String> {
    let fresh = connect_attach(0, target.0, target.1, _NTO_SIDE_CHANNEL, 0)
        .map_err(|e| format!("ConnectAttach {e:?}"))?;
    let mut exchanges = 0;
    for coid in [old, fresh] {
        for i in 0..10 {
            let m = format!("p round {round} exchange {i} on {coid:#x}");
            let mut r = [0u8; 128];
            arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
            let st = msg_send(coid, m.as_bytes(), &mut r).map_err(|e| format!("MsgSend {e:?}"))?;
            if st != m.len() as i64 || &r[..m.len()] != m.as_bytes() {
                return Err(format!("bad-echo {st} {:?}", &r[..m.len()]));
            }
            exchanges += 1;
        }
        for i in 0..5 {
            msg_send_pulse(coid, 10, CODE_COUNTED, i).map_err(|e| format!("MsgSendPulse {e:?}"))?;
            *sent += 1;
        }
    }
    // The server counts the pulses as it receives them: ask until it has them all.
    let until = Instant::now() + RELEASE;
    let counted = loop {
        let mut r = [0u8; 8];
        arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
        msg_send(fresh, b"c", &mut r).map_err(|e| format!("MsgSend count {e:?}"))?;
        let n = u64::from_ne_bytes(r);
        if n >= *sent || Instant::now() > until {
            break n;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if counted != *sent {
        return Err(format!("pulses counted {counted} of {sent}"));
    }
    let mut poke = vec![b'k', 0, 0, 0];
    for w in [getpid().expect("getpid"), mine, 1000 + round] {
        poke.extend_from_slice(&w.to_ne_bytes());
    }
    let mut r = [0u8; 8];
    arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    msg_send(fresh, &poke, &mut r).map_err(|e| format!("MsgSend poke {e:?}"))?;
    let mut buf = [0u8; 64];
    arm(_NTO_TIMEOUT_RECEIVE);
    let rcvid = msg_receive(mine, &mut buf, None).map_err(|e| format!("MsgReceive {e:?}"))?;
    let p = userlib::Pulse::from_bytes(&buf).filter(|_| rcvid == 0);
    match p {
        Some(p) if p.code == CODE_POKE && p.value as i32 == 1000 + round => {}
        other => return Err(format!("poke pulse {rcvid} {other:?}")),
    }
    connect_detach(fresh).map_err(|e| format!("ConnectDetach {e:?}"))?;
    Ok(format!("exchanges={exchanges} pulses={counted} poked"))
}

/// A client of an `echo-server` ("pid chid"), connected from the start, that runs a round
/// (`talk_round`) each time the parent says "round K", and says how it went.
fn talker(arg: &str) {
    let n = nums(arg);
    let said = lines_from_parent();
    let mine = channel_create(0).expect("ChannelCreate");
    let old = connect_attach(0, n[0], n[1], _NTO_SIDE_CHANNEL, 0).expect("ConnectAttach");
    tell_parent(&format!("ready {}", getpid().expect("getpid")));
    let mut sent = 0u64;
    while let Ok(line) = said.recv_timeout(WITHIN * 3) {
        let Some(k) = line.strip_prefix("round ") else {
            return;
        };
        let k: i32 = k.parse().expect("a round");
        match talk_round(k, old, (n[0], n[1]), mine, &mut sent) {
            Ok(s) => tell_parent(&format!("round {k} ok {s}")),
            Err(e) => tell_parent(&format!("round {k} error {e}")),
        }
    }
}

/// Receives one message and holds it, receiving no other (so a second client stays SEND-
/// blocked), until killed.
fn holder() {
    let chid = channel_create(0).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let mut buf = [0u8; 16];
    arm(_NTO_TIMEOUT_RECEIVE);
    let _rcvid = msg_receive(chid, &mut buf, None).expect("MsgReceive");
    tell_parent("holding");
    std::thread::sleep(Duration::from_secs(120));
}

/// Sends one message to "pid chid" and says what MsgSend returned (bound: `CHILD_NS`).
fn sender(arg: &str) {
    let n = nums(arg);
    let coid = connect_attach(0, n[0], n[1], _NTO_SIDE_CHANNEL, 0).expect("ConnectAttach");
    tell_parent(&format!("sending as {}", getpid().expect("getpid")));
    arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    let t0 = Instant::now();
    let r = msg_send(coid, b"hi", &mut []);
    tell_parent(&format!("send {r:?} after {} ms", t0.elapsed().as_millis()));
}

/// A server (`_NTO_CHF_DISCONNECT`) that receives one message and holds it, then waits for
/// what comes next and says it: a disconnect pulse (and what a reply to the held message
/// gives then), or its receive's error.
fn disconnect_server() {
    let chid = channel_create(_NTO_CHF_DISCONNECT).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let mut buf = [0u8; 64];
    arm(_NTO_TIMEOUT_RECEIVE);
    let mut info = MsgInfo::default();
    let held = msg_receive(chid, &mut buf, Some(&mut info)).expect("MsgReceive");
    tell_parent(&format!("received from {}", info.pid));
    arm(_NTO_TIMEOUT_RECEIVE);
    let t0 = Instant::now();
    let got = msg_receive(chid, &mut buf, None);
    let ms = t0.elapsed().as_millis();
    match got {
        Ok(0) => {
            let p = userlib::Pulse::from_bytes(&buf).expect("a pulse");
            let reply = msg_reply(held, 0, b"late");
            tell_parent(&format!(
                "pulse disconnect={} scoid-is-client={} reply {reply:?} after {ms} ms",
                p.code == _PULSE_CODE_DISCONNECT,
                p.scoid == info.scoid
            ));
        }
        other => tell_parent(&format!("receive {other:?} after {ms} ms")),
    }
}

/// Sends echoes to "pid chid" all along, saying at most every 100 ms how many came back and
/// when (CLOCK_MONOTONIC ns) the last one did: "echoes N T".
fn pinger(arg: &str) {
    let n = nums(arg);
    let coid = connect_attach(0, n[0], n[1], _NTO_SIDE_CHANNEL, 0).expect("ConnectAttach");
    let mut count = 0u64;
    let mut told = Instant::now() - Duration::from_secs(1);
    let until = Instant::now() + WITHIN * 6;
    while Instant::now() < until {
        let mut r = [0u8; 8];
        arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
        if let Err(e) = msg_send(coid, b"p-ping", &mut r) {
            return tell_parent(&format!("error {e:?}"));
        }
        let at = mono_ns();
        count += 1;
        if told.elapsed() >= Duration::from_millis(100) {
            tell_parent(&format!("echoes {count} {at}"));
            told = Instant::now();
        }
    }
}

/// Joins, then makes a kernel call each time the parent says "probe" and says how it went.
fn prober() {
    let said = lines_from_parent();
    tell_parent(&format!("ready {}", getpid().expect("getpid")));
    while let Ok(line) = said.recv_timeout(WITHIN * 3) {
        if line != "probe" {
            return;
        }
        let r = channel_create(0).and_then(channel_destroy);
        tell_parent(&format!("probed {r:?}"));
    }
}

/// Joins (every call of it holds the lock `QNXSIM_FAULT_HOLD_US`, writing a note to
/// `QNXSIM_FAULT_FD` first), then on "go" makes kernel calls until killed.
fn victim() {
    let said = lines_from_parent();
    tell_parent(&format!("joined {}", getpid().expect("getpid")));
    if said.recv_timeout(WITHIN * 3).as_deref() != Ok("go") {
        return;
    }
    tell_parent("going");
    let until = Instant::now() + WITHIN * 3;
    while Instant::now() < until {
        let _ = channel_create(0).and_then(channel_destroy);
    }
}

/// Joins, says with its pid what ConnectAttach to "pid chid" (a server of an older kernel of
/// the same name) gives, then waits for the parent's "bye".
fn newcomer(arg: &str) {
    let n = nums(arg);
    let said = lines_from_parent();
    let me = getpid();
    let attach = connect_attach(0, n[0], n[1], _NTO_SIDE_CHANNEL, 0).map(drop);
    tell_parent(&format!("pid {me:?} attach {attach:?}"));
    let _ = said.recv_timeout(WITHIN * 3);
}

/// A server of the random test: echoes until both its clients said bye (a pulse) or 8 s
/// passed; says "ready pid chid", or "error WHAT ERRNO" and ends.
fn round_server() {
    let chid = match channel_create(0) {
        Ok(c) => c,
        Err(e) => return tell_parent(&format!("error ChannelCreate {e:?}")),
    };
    let me = match getpid() {
        Ok(p) => p,
        Err(e) => return tell_parent(&format!("error getpid {e:?}")),
    };
    tell_parent(&format!("ready {me} {chid}"));
    let until = Instant::now() + Duration::from_secs(8);
    let (mut served, mut byes) = (0, 0);
    let mut buf = [0u8; 128];
    while byes < 2 && Instant::now() < until {
        if let Err(e) = timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(500_000_000)) {
            return tell_parent(&format!("error TimerTimeout {e:?}"));
        }
        let mut info = MsgInfo::default();
        match msg_receive(chid, &mut buf, Some(&mut info)) {
            Ok(0) => {
                if userlib::Pulse::from_bytes(&buf).is_some_and(|p| p.code == CODE_BYE) {
                    byes += 1;
                }
            }
            Ok(rcvid) => {
                let len = (info.msglen as usize).min(buf.len());
                if msg_reply(rcvid, len as i64, &buf[..len]).is_ok() {
                    served += 1;
                }
            }
            Err(Errno::ETIMEDOUT) => {}
            Err(e) => return tell_parent(&format!("error MsgReceive {e:?}")),
        }
    }
    tell_parent(&format!("ok served {served} byes {byes}"));
}

/// A client of the random test ("pid chid", or "none" if its server failed): joins, maps a
/// device register now and then (the kernel's `.phys` file), exchanges 10 echoes (3 s bound
/// each) and says bye; says "ok ..." or "error WHAT ERRNO".
fn round_client(arg: &str) {
    let me = match getpid() {
        Ok(p) => p,
        Err(e) => return tell_parent(&format!("error getpid {e:?}")),
    };
    if me % 3 == 0 {
        match userlib::device::DeviceMemory::map(0x1000_0000, 0x1000) {
            Ok(regs) => regs.write32(0x10, me as u32),
            Err(e) => return tell_parent(&format!("error mmap_device_memory {e:?}")),
        }
    }
    if arg == "none" {
        return tell_parent(&format!("ok joined {me}"));
    }
    let n = nums(arg);
    let coid = match connect_attach(0, n[0], n[1], _NTO_SIDE_CHANNEL, 0) {
        Ok(c) => c,
        Err(e) => return tell_parent(&format!("error ConnectAttach {e:?}")),
    };
    for i in 0..10 {
        let m = format!("echo {me} {i}");
        let mut r = [0u8; 64];
        if let Err(e) = timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(3_000_000_000),
        ) {
            return tell_parent(&format!("error TimerTimeout {e:?}"));
        }
        match msg_send(coid, m.as_bytes(), &mut r) {
            Ok(st) if st == m.len() as i64 && &r[..m.len()] == m.as_bytes() => {}
            Ok(st) => return tell_parent(&format!("wrong echo {st}")),
            Err(e) => return tell_parent(&format!("error MsgSend {e:?}")),
        }
        // (Spread over the round, so that kills land between messages too.)
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = msg_send_pulse(coid, 10, CODE_BYE, 0);
    tell_parent(&format!("ok {me}"));
}

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    if let Ok(notes) = std::env::var(NOTES_ENV) {
        NotePipe::open_as(Path::new(&notes), NOTE_FD);
    }
    if let Ok(path) = std::env::var(STDERR_ENV) {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::create(path).expect("the stderr file");
        // SAFETY: dup2 onto stderr; `f` stays valid through the call.
        unsafe { libc::dup2(f.as_raw_fd(), 2) };
    }
    match role.as_str() {
        "echo-server" => echo_server(),
        "talker" => talker(&arg),
        "holder" => holder(),
        "sender" => sender(&arg),
        "disconnect-server" => disconnect_server(),
        "pinger" => pinger(&arg),
        "prober" => prober(),
        "victim" => victim(),
        "newcomer" => newcomer(&arg),
        "round-server" => round_server(),
        "round-client" => round_client(&arg),
        other => panic!("unknown role {other}"),
    }
}

// ================================================================== the parent's side

/// This test binary in `role` on the kernel at `socket`, with `extra` environment; `talking`:
/// with a stdin the parent writes to.
fn start(role: &str, arg: &str, socket: &Path, extra: &[(&str, &str)], talking: bool) -> Child {
    let env = kernel_env(socket);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend_from_slice(extra);
    if talking {
        Child::spawn_talking(role, arg, &env)
    } else {
        Child::spawn_with_env(role, arg, &env)
    }
}

/// A child's "ready ..." line, without the word.
fn ready(c: &Child, who: &str) -> String {
    let line = c
        .line_within(WITHIN)
        .unwrap_or_else(|| panic!("{who}: no line within {WITHIN:?}"));
    line.strip_prefix("ready ")
        .unwrap_or_else(|| panic!("{who}: {line:?}"))
        .to_string()
}

/// A line from `c` within `within`, or a failure naming `what` and when.
fn line_or(c: &Child, within: Duration, what: &str) -> String {
    c.line_within(within)
        .unwrap_or_else(|| panic!("{what}: nothing within {within:?}"))
}

/// On drop, kills (by pid) every process still running of the kernel at its socket: the
/// supervisors programs started (`--daemon`: no child of the test) and anything they left.
struct Leftovers(PathBuf);

impl Drop for Leftovers {
    fn drop(&mut self) {
        for pid in processes_of(&self.0) {
            sigkill(pid);
        }
    }
}

/// Waits (at most `within`) until `cond` holds: how long it took, or None.
fn within(within: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    loop {
        if cond() {
            return Some(t0.elapsed());
        }
        if t0.elapsed() > within {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The names in `dir`, sorted.
fn entries(dir: &TempDir) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join(""))
        .expect("the kernel's directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ------------------------------------------------------------------ (1) messaging goes on

#[test]
fn after_the_supervisor_is_killed_its_programs_go_on_messaging_with_srr_and_pulses() {
    let dir = TempDir::new("supdeath-msg");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    let mut sup = Sup::start(&socket, &["--stay"]);
    let server = start("echo-server", "", &socket, &[], false);
    let target = ready(&server, "server");
    let talker = start("talker", &target, &socket, &[], true);
    ready(&talker, "talker");
    talker.say("round 0");
    let l = line_or(&talker, WITHIN, "round 0, the supervisor alive");
    assert!(l.starts_with("round 0 ok"), "{l}");

    kill_supervisor(&mut sup);
    // The programs it admitted go on: SRR on an old connection and on new ones, pulses both
    // ways (one through a connection the server makes now), several rounds.
    for k in 1..=4 {
        talker.say(&format!("round {k}"));
        let t0 = Instant::now();
        let l = line_or(&talker, WITHIN, &format!("round {k}, the supervisor dead"));
        assert!(l.starts_with(&format!("round {k} ok")), "{l}");
        assert!(t0.elapsed() < RELEASE, "round {k} took {:?}", t0.elapsed());
    }
    assert!(server.try_line().is_none(), "the server said something");
    assert!(socket.exists(), "a killed supervisor leaves its socket");
}

// ------------------------------------------------------------------ (2) a server killed after

/// A holder with one client REPLY-blocked on it and one SEND-blocked, checked in the kernel
/// (mapped only for that, and unmapped before the test goes on).
fn holder_with_two_blocked_clients(socket: &Path) -> (Child, Child, Child) {
    let server = start("holder", "", socket, &[], false);
    let target = ready(&server, "holder");
    let spid = nums(&target)[0];
    let replying = start("sender", &target, socket, &[], false);
    assert!(line_or(&replying, WITHIN, "first client").starts_with("sending as "));
    assert_eq!(line_or(&server, WITHIN, "holder"), "holding");
    let sending = start("sender", &target, socket, &[], false);
    assert!(line_or(&sending, WITHIN, "second client").starts_with("sending as "));
    {
        let k = common::watch(socket);
        wait_until("one client REPLY-blocked, the other SEND-blocked", || {
            common::prog::blocked_on(&k, Some(replying.pid()), spid) == (0, 1)
                && common::prog::blocked_on(&k, Some(sending.pid()), spid) == (1, 0)
        });
    }
    (server, replying, sending)
}

/// Waits for both clients' answers after the server's kill at `killed`; each must be ESRCH
/// within [`RELEASE`].
fn both_released_with_esrch(replying: Child, sending: Child, killed: Instant) {
    for (who, c) in [("REPLY-blocked", replying), ("SEND-blocked", sending)] {
        let got = c.line_within(RELEASE.saturating_sub(killed.elapsed()));
        let took = killed.elapsed();
        eprintln!("the {who} client: {got:?}, {took:?} after the server's kill");
        let line = got.unwrap_or_else(|| {
            panic!(
                "the {who} client of the server killed with no supervisor is not released \
                 within {RELEASE:?} (its MsgSend still blocked; its own timeout is {} s)",
                CHILD_NS / 1_000_000_000
            )
        });
        assert!(
            line.starts_with("send Err(ESRCH)"),
            "the {who} client: {line}"
        );
        assert!(c.wait(WITHIN).success());
    }
}

#[test]
fn a_server_killed_after_the_supervisor_releases_its_reply_and_send_blocked_clients_with_esrch() {
    let dir = TempDir::new("supdeath-server");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    let mut sup = Sup::start(&socket, &["--stay"]);
    let (server, replying, sending) = holder_with_two_blocked_clients(&socket);
    kill_supervisor(&mut sup);
    std::thread::sleep(Duration::from_millis(200));
    let killed = Instant::now();
    assert!(!server.kill().success());
    both_released_with_esrch(replying, sending, killed);
}

/// The server dies first, the supervisor a moment later, before it could reap it: the
/// programs find a dead program no one reaped when they take over.
#[test]
fn a_server_killed_just_before_the_supervisor_releases_its_clients_with_esrch() {
    let dir = TempDir::new("supdeath-server-first");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    let mut sup = Sup::start(&socket, &["--stay"]);
    let (server, replying, sending) = holder_with_two_blocked_clients(&socket);
    // Stopped, the supervisor cannot reap the server, which dies now; then it is killed.
    // SAFETY: kill with integer arguments, on the test's own child.
    unsafe { libc::kill(sup.0.id() as i32, libc::SIGSTOP) };
    wait_until("the supervisor stopped", || {
        proc_state(sup.0.id() as i32) == Some('T')
    });
    let killed = Instant::now();
    assert!(!server.kill().success());
    std::thread::sleep(Duration::from_millis(100));
    kill_supervisor(&mut sup);
    both_released_with_esrch(replying, sending, killed);
}

// ------------------------------------------------------------------ (3) a client killed after

#[test]
fn a_client_killed_after_the_supervisor_gives_its_server_a_disconnect_pulse() {
    let dir = TempDir::new("supdeath-client");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    let mut sup = Sup::start(&socket, &["--stay"]);
    let server = start("disconnect-server", "", &socket, &[], false);
    let target = ready(&server, "server");
    let client = start("sender", &target, &socket, &[], false);
    assert!(line_or(&client, WITHIN, "client").starts_with("sending as "));
    assert_eq!(
        line_or(&server, WITHIN, "server"),
        format!("received from {}", client.pid())
    );
    kill_supervisor(&mut sup);
    std::thread::sleep(Duration::from_millis(200));
    let killed = Instant::now();
    assert!(!client.kill().success());
    let got = server.line_within(RELEASE);
    eprintln!(
        "the server: {got:?}, {:?} after its client's kill",
        killed.elapsed()
    );
    let line = got.unwrap_or_else(|| {
        panic!(
            "the server of a client killed with no supervisor got no disconnect pulse within \
             {RELEASE:?} (its MsgReceive still blocked)"
        )
    });
    assert!(
        line.starts_with("pulse disconnect=true scoid-is-client=true reply Err(ESRCH)"),
        "{line}"
    );
    assert!(server.wait(WITHIN).success());
}

// ------------------------------------------------------------------ (4) killed holding the lock

/// An echo server, a pinger keeping it busy, and an idle prober.
struct Busy {
    server: Child,
    pinger: Child,
    prober: Child,
}

impl Busy {
    fn start(socket: &Path) -> Busy {
        let server = start("echo-server", "", socket, &[], false);
        let target = ready(&server, "server");
        let pinger = start("pinger", &target, socket, &[], false);
        assert!(line_or(&pinger, WITHIN, "pinger").starts_with("echoes "));
        let prober = start("prober", "", socket, &[], true);
        ready(&prober, "prober");
        Busy {
            server,
            pinger,
            prober,
        }
    }

    /// Fails unless the pinger reports an echo that came back after `after_ns`
    /// (CLOCK_MONOTONIC) and the prober's kernel call returns, both within [`RELEASE`] of
    /// `since`.
    fn going_on(&self, after_ns: u64, since: Instant, what: &str) {
        let mut last = String::new();
        let progressed = within(RELEASE.saturating_sub(since.elapsed()), || {
            while let Some(l) = self.pinger.try_line() {
                last = l;
            }
            let at = last.split(' ').nth(2).and_then(|t| t.parse::<u64>().ok());
            at.is_some_and(|t| t > after_ns)
        });
        eprintln!(
            "{what}: pinger {last:?}, {:?} after the kill ({progressed:?})",
            since.elapsed()
        );
        assert!(
            progressed.is_some(),
            "{what}: no echo came back within {RELEASE:?} of the kill (last: {last:?}): the \
             survivors are stuck on the kernel lock the dead program held"
        );
        self.prober.say("probe");
        let got = self.prober.line_within(
            RELEASE
                .saturating_sub(since.elapsed())
                .max(Duration::from_secs(1)),
        );
        eprintln!(
            "{what}: prober {got:?}, {:?} after the kill",
            since.elapsed()
        );
        assert_eq!(got.as_deref(), Some("probed Ok(())"), "{what}: the prober");
        assert!(
            self.server.try_line().is_none(),
            "the server said something"
        );
    }
}

/// A victim that joined with every call holding the lock [`HOLD_US`] and writing a note.
fn start_victim(socket: &Path, notes: &NotePipe) -> (Child, i32) {
    let hold = HOLD_US.to_string();
    let fd = NOTE_FD.to_string();
    let path = notes.path().display().to_string();
    let victim = start(
        "victim",
        "",
        socket,
        &[
            ("QNXSIM_FAULT_HOLD_US", &hold),
            ("QNXSIM_FAULT_FD", &fd),
            (NOTES_ENV, &path),
        ],
        true,
    );
    let l = line_or(&victim, WITHIN * 2, "victim joining");
    let vpid: i32 = l
        .strip_prefix("joined ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("victim: {l:?}"));
    (victim, vpid)
}

/// Says "go" to the victim and waits for the note of its next call, parked under the lock:
/// when the note was read.
fn park(victim: &Child, vpid: i32, notes: &mut NotePipe) -> Instant {
    while notes.next(Duration::from_millis(50)).is_some() {} // (Its joining's notes.)
    victim.say("go");
    assert_eq!(line_or(victim, WITHIN, "victim"), "going");
    loop {
        let note = notes
            .next(WITHIN)
            .expect("the victim's note as it parks under the lock");
        if note.starts_with(&format!("{vpid} locked ")) {
            return Instant::now();
        }
    }
}

fn kill_parked(victim: Child, parked: Instant) {
    let late = parked.elapsed();
    assert!(!victim.kill().success());
    assert!(
        late < Duration::from_micros(HOLD_US) / 2,
        "the kill came {late:?} after the victim parked (it holds the lock {HOLD_US} us): \
         not known to have landed under the lock"
    );
}

#[test]
fn a_program_killed_holding_the_kernel_lock_after_the_supervisor_died_does_not_stop_the_others() {
    let dir = TempDir::new("supdeath-lock");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    let mut notes = NotePipe::new(dir.join("notes"));
    let mut sup = Sup::start(&socket, &["--stay"]);
    let busy = Busy::start(&socket);
    let (victim, vpid) = start_victim(&socket, &notes);
    kill_supervisor(&mut sup);
    std::thread::sleep(Duration::from_millis(200));
    let parked = park(&victim, vpid, &mut notes);
    kill_parked(victim, parked);
    let (at, since) = (mono_ns(), Instant::now());
    busy.going_on(at, since, "killed under the lock after the supervisor");
}

/// The victim holds the lock as the supervisor dies (the others' threads already asleep on
/// it the ordinary way), and is killed a moment later.
#[test]
fn a_program_holding_the_lock_as_the_supervisor_dies_and_killed_after_does_not_stop_the_others() {
    let dir = TempDir::new("supdeath-lock-first");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    let mut notes = NotePipe::new(dir.join("notes"));
    let mut sup = Sup::start(&socket, &["--stay"]);
    let busy = Busy::start(&socket);
    let (victim, vpid) = start_victim(&socket, &notes);
    let parked = park(&victim, vpid, &mut notes);
    kill_supervisor(&mut sup);
    std::thread::sleep(Duration::from_millis(50));
    kill_parked(victim, parked);
    let (at, since) = (mono_ns(), Instant::now());
    busy.going_on(at, since, "holding the lock as the supervisor died");
}

// ------------------------------------------------------------------ (5) a new kernel

/// The pids of the thread rows of pidin-sim's output, sorted and deduplicated.
fn thread_pids(text: &str) -> Vec<i32> {
    let mut v: Vec<i32> = text
        .lines()
        .skip_while(|l| !(l.contains("PID") && l.contains("TID") && l.contains("STATE")))
        .skip(1)
        .map_while(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match (w.first(), w.get(1)) {
                (Some(p), Some(t)) if t.parse::<i32>().is_ok() => p.parse::<i32>().ok(),
                _ => None,
            }
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn a_new_program_after_the_supervisor_is_killed_starts_a_new_empty_kernel_whose_socket_goes_with_it(
) {
    let dir = TempDir::new("supdeath-new");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    // The first program starts the supervisor itself (`--daemon`).
    let old = start("echo-server", "", &socket, &[], false);
    let target = ready(&old, "old server");
    let first = supervisors_of(&socket);
    assert_eq!(
        first.len(),
        1,
        "one supervisor started by the program: {first:?}"
    );
    let first = first[0];
    sigkill(first);
    assert!(
        within(WITHIN, || !running(first)).is_some(),
        "the supervisor {first} still runs after SIGKILL"
    );
    assert!(socket.exists(), "a killed supervisor leaves its socket");

    let newcomer = start("newcomer", &target, &socket, &[], true);
    let l = line_or(&newcomer, WITHIN, "newcomer");
    assert_eq!(
        l,
        format!("pid Ok({}) attach Err(ESRCH)", newcomer.pid()),
        "the new program joins a new kernel where the old server is not"
    );
    let second = supervisors_of(&socket);
    assert_eq!(second.len(), 1, "{second:?}");
    let second = second[0];
    assert_ne!(second, first);
    // The new kernel holds the newcomer alone (seen by pidin-sim, which ends: a mapping of
    // the test's own would keep the supervisor from ending after its last program).
    let (st, out, err) = common::run_pidin(&["--kernel", &socket.display().to_string()]);
    assert!(st.success(), "pidin-sim: {st}\n{out}\n{err}");
    let pids = thread_pids(&out);
    assert_eq!(pids, vec![newcomer.pid()], "{out}");
    // The old server lives on in the old kernel, untouched.
    assert!(old.try_line().is_none());
    newcomer.say("bye");
    assert!(newcomer.wait(WITHIN).success());
    // The new supervisor ends after its last program (its linger, 2 s) and removes its socket.
    let gone = within(WITHIN, || !running(second) && !socket.exists());
    assert!(
        gone.is_some(),
        "the new supervisor (pid {second}, running {}) or its socket (exists {}) is left",
        running(second),
        socket.exists()
    );
    drop(old);
    assert_eq!(
        entries(&dir),
        Vec::<String>::new(),
        "left in the kernel's directory"
    );
}

// ------------------------------------------------------------------ (6) random kills

/// xorshift, seeded from the test's pid (printed, to replay a failure's order of events).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A program's end in the random test: its last line, which must say "ok" or name an errno
/// (`EXXX`, or `Errno(N)` for one userlib has no name for), and a successful exit, within the
/// bound; and what it wrote on stderr (its file, `err`).
fn outcome(c: Child, who: &str, bound: Duration, err: &Path) -> (String, String) {
    let until = Instant::now() + bound;
    let mut said = Vec::new();
    while let Some(l) = c.line_within(until.saturating_duration_since(Instant::now())) {
        said.push(l);
    }
    assert!(
        Instant::now() < until,
        "{who} (pid {}) hangs: still running after {bound:?}, having said {said:?}",
        c.pid()
    );
    // (Its output ended: it exits.)
    let st = c.wait(WITHIN);
    let stderr = std::fs::read_to_string(err).unwrap_or_default();
    let last = said.last().cloned().unwrap_or_default();
    assert!(
        st.success() && (last.starts_with("ok") || names_an_errno(&last)),
        "{who}: {st}, said {said:?} (neither worked nor failed with an errno); stderr:\n{stderr}"
    );
    (last, stderr)
}

/// Whether `line` is "error WHAT ERRNO" (`EXXX`, or `Errno(N)` for one userlib has no name
/// for).
fn names_an_errno(line: &str) -> bool {
    line.starts_with("error ")
        && line.split(' ').nth(2).is_some_and(|e| {
            (e.starts_with('E') && e.chars().all(|c| c.is_ascii_uppercase()))
                || e.strip_prefix("Errno(")
                    .and_then(|n| n.strip_suffix(')'))
                    .is_some_and(|n| n.parse::<i32>().is_ok())
        })
}

/// Kills (SIGKILL) every supervisor of the kernel at `socket` whose moment in `due` (ms after
/// `t0`) has come: how many.
fn kill_when_due(due: &mut Vec<u64>, t0: Instant, socket: &Path) -> usize {
    let mut n = 0;
    while due
        .first()
        .is_some_and(|&ms| t0.elapsed() >= Duration::from_millis(ms))
    {
        due.remove(0);
        for pid in supervisors_of(socket) {
            sigkill(pid);
            n += 1;
        }
    }
    n
}

#[test]
fn supervisors_killed_at_random_during_admission_and_messaging_leave_nothing_hung_or_behind() {
    const ROUNDS: usize = 20;
    /// A program of a round ends within this (its calls are bounded by 3 s each; its server
    /// by 8 s in all).
    const END: Duration = Duration::from_secs(40);
    let dir = TempDir::new("supdeath-random");
    let socket = socket_in(&dir);
    let left = Leftovers(socket.clone());
    let logs = TempDir::new("supdeath-random-stderr");
    let mut n_prog = 0;
    let log = |n: &mut usize| {
        *n += 1;
        logs.join(&format!("{n}.err")).display().to_string()
    };
    let mut errnos = std::collections::BTreeMap::<String, (usize, usize)>::new();
    let seed = 0x2545_f491_4f6c_dd1d_u64 ^ u64::from(std::process::id());
    eprintln!("seed {seed:#x}");
    let mut rng = Rng(seed | 1);
    let (mut kills, mut worked, mut failed) = (0, 0, 0);
    let allowed = ["k.sock", "k.sock.phys"];
    for round in 0..ROUNDS {
        let server_err = log(&mut n_prog);
        let server = start(
            "round-server",
            "",
            &socket,
            &[(STDERR_ENV, server_err.as_str())],
            false,
        );
        // The kill: at a random moment of the round (or none), once or twice.
        let kill_at: Vec<u64> = match rng.below(4) {
            0 => vec![],
            1 => vec![rng.below(100), 100 + rng.below(500)],
            _ => vec![rng.below(600)],
        };
        let t0 = Instant::now();
        let mut due = kill_at.clone();
        // The server's first line, killing meanwhile when due.
        let mut first = None;
        let until = Instant::now() + END;
        while first.is_none() && Instant::now() < until {
            kills += kill_when_due(&mut due, t0, &socket);
            first = server.line_within(Duration::from_millis(5));
        }
        let first = first.unwrap_or_else(|| panic!("round {round}: the server said nothing"));
        let target = first
            .strip_prefix("ready ")
            .map_or("none".to_string(), str::to_string);
        let stagger = rng.below(300);
        let clients: Vec<(Child, String)> = (0..2)
            .map(|i| {
                if i == 1 {
                    // (The second client comes later: some admissions after a kill.)
                    let t = Instant::now() + Duration::from_millis(stagger);
                    while Instant::now() < t {
                        kills += kill_when_due(&mut due, t0, &socket);
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                let err = log(&mut n_prog);
                let c = start(
                    "round-client",
                    &target,
                    &socket,
                    &[(STDERR_ENV, err.as_str())],
                    false,
                );
                (c, err)
            })
            .collect();
        while !due.is_empty() {
            kills += kill_when_due(&mut due, t0, &socket);
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut ends = Vec::new();
        for (i, (c, err)) in clients.into_iter().enumerate() {
            let who = format!("round {round} client {i}");
            ends.push(outcome(c, &who, END, Path::new(&err)));
        }
        if first.starts_with("ready ") {
            let who = format!("round {round} server");
            ends.push(outcome(server, &who, END, Path::new(&server_err)));
        } else {
            let st = server.wait(END);
            let stderr = std::fs::read_to_string(&server_err).unwrap_or_default();
            assert!(
                st.success() && names_an_errno(&first),
                "round {round} server: {st}, {first}; stderr:\n{stderr}"
            );
            ends.push((first.clone(), stderr));
        }
        for (l, stderr) in &ends {
            if let Some(e) = l.strip_prefix("error ") {
                let e = e.split(' ').skip(1).collect::<Vec<_>>().join(" ");
                let said = errnos.entry(e).or_default();
                said.0 += 1;
                said.1 += usize::from(stderr.contains("qnxsim:"));
            }
        }
        let said: Vec<String> = ends.into_iter().map(|(l, _)| l).collect();
        let ok = said.iter().filter(|l| l.starts_with("ok")).count();
        worked += ok;
        failed += said.len() - ok;
        eprintln!("round {round}: kills at {kill_at:?} ms: {said:?}");
        let extra: Vec<String> = entries(&dir)
            .into_iter()
            .filter(|e| !allowed.contains(&e.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "round {round}: left in the directory: {extra:?}"
        );
    }
    eprintln!(
        "{kills} supervisors killed; {worked} programs worked, {failed} failed with an errno \
         (by errno: programs, and of them those that said why on stderr, a `qnxsim:` line): \
         {errnos:?}"
    );
    assert!(worked > 0, "no program ever worked");

    // A last program: a killed supervisor's socket is replaced by a new supervisor, which ends
    // after it and removes its socket and the kernel's `.phys`.
    let err = log(&mut n_prog);
    let last = start(
        "round-client",
        "none",
        &socket,
        &[(STDERR_ENV, err.as_str())],
        false,
    );
    let (l, _) = outcome(last, "the last program", END, Path::new(&err));
    assert!(l.starts_with("ok joined"), "the last program: {l}");
    let clean = within(WITHIN, || {
        supervisors_of(&socket).is_empty() && entries(&dir).is_empty()
    });
    assert!(
        clean.is_some(),
        "left: supervisors {:?}, in the directory {:?}",
        supervisors_of(&socket),
        entries(&dir)
    );
    let running = processes_of(&socket);
    assert!(
        running.is_empty(),
        "processes of the kernel left running: {running:?}"
    );
    drop(left);
}
