//! C programs across processes on one supervised kernel: the C server and C client of
//! `capi/tests/c/xproc_{server,client}.c` with a supervisor the test starts, and with one the
//! first C program starts itself; the C client against a Rust server, and a Rust client
//! against the C server (the Rust side is this test binary re-run in a role, using userlib's
//! QNX-named API and the same message layout). Every process is bounded in time and killed on
//! every exit path; every socket lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build_shared, expect_summary, Running};
use common::*;
use procs::{child_role, child_setup, tell_parent, TempDir};
use qnxsim::sigevent::CSigEvent;
use std::path::{Path, PathBuf};
use userlib::consts::*;
use userlib::qnx::*;

// ------------------------------------------------------------------ the messages

/// `_IO_MAX + 1`: the first type a program numbers its own messages from.
const XP_ECHO: u16 = 0x1FF + 1;
const XP_LONG: u16 = XP_ECHO + 1;
const XP_INFO: u16 = XP_ECHO + 2;
const XP_EVENT: u16 = XP_ECHO + 3;
const XP_ERROR: u16 = XP_ECHO + 4;
const XP_PULSES: u16 = XP_ECHO + 5;

/// `struct xp_msg`: type (u16), subtype (u16), value (i32), a `struct sigevent` (64 bytes at
/// 8), data (64 bytes at 72).
const MSG_SIZE: usize = 136;
const EVENT_AT: usize = 8;
const DATA_AT: usize = 72;
/// `struct xp_info`: pid, tid (i32), msglen, srcmsglen, dstmsglen (i64).
const INFO_SIZE: usize = 32;
/// The long message's bytes past the struct.
const LONG_LEN: usize = 5000;

fn message(ty: u16, value: i32) -> [u8; MSG_SIZE] {
    let mut m = [0u8; MSG_SIZE];
    m[0..2].copy_from_slice(&ty.to_ne_bytes());
    m[4..8].copy_from_slice(&value.to_ne_bytes());
    m
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    i64::from_ne_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The C `struct sigevent` as its 64 bytes.
fn event_bytes(e: &CSigEvent) -> [u8; 64] {
    let mut b = [0u8; 64];
    b[0..8].copy_from_slice(&e.sigev_value.to_ne_bytes());
    b[8..12].copy_from_slice(&e.sigev_signo.to_ne_bytes());
    b[12..16].copy_from_slice(&e.sigev_notify.to_ne_bytes());
    for (i, v) in e.un.iter().enumerate() {
        b[16 + 4 * i..20 + 4 * i].copy_from_slice(&v.to_ne_bytes());
    }
    b
}

/// The C `struct sigevent` from its 64 bytes.
fn event_from(b: &[u8]) -> CSigEvent {
    let mut un = [0i32; 12];
    for (i, v) in un.iter_mut().enumerate() {
        *v = i32_at(b, 16 + 4 * i);
    }
    CSigEvent {
        sigev_value: u64::from_ne_bytes(b[0..8].try_into().expect("8 bytes")),
        sigev_signo: i32_at(b, 8),
        sigev_notify: i32_at(b, 12),
        un,
    }
}

fn arm_receive() {
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
}

fn arm_send() {
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .expect("arm");
}

// ------------------------------------------------------------------ the Rust roles

/// The server of xproc_server.c, in Rust: tells "ready pid chid", serves until its client's
/// disconnect pulse, and tells what it did.
fn rust_server() {
    let chid = channel_create(_NTO_CHF_DISCONNECT).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let (mut served, mut pulses, mut problems) = (0, 0i64, Vec::<String>::new());
    let mut buf = [0u8; MSG_SIZE];
    let disconnected = loop {
        arm_receive();
        let mut info = MsgInfo::default();
        let rcvid = match msg_receive(chid, &mut buf, Some(&mut info)) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("receive {e:?}"));
                break false;
            }
        };
        if rcvid == 0 {
            let (code, scoid) = (buf[4] as i8, i32_at(&buf, 16));
            if code == _PULSE_CODE_DISCONNECT {
                if let Err(e) = connect_detach(scoid) {
                    problems.push(format!("detach scoid {e:?}"));
                }
                break true;
            }
            pulses += i64::from(code == 1);
            continue;
        }
        served += 1;
        let ty = u16::from_ne_bytes([buf[0], buf[1]]);
        let value = i32_at(&buf, 4);
        let r = match ty {
            XP_ECHO => {
                let n = usize::try_from(value).unwrap_or(0).min(64);
                msg_reply(rcvid, i64::from(value), &buf[DATA_AT..DATA_AT + n])
            }
            XP_LONG => {
                let (mut off, mut sum, mut total) = (MSG_SIZE, 0i64, 0i64);
                let mut piece = [0u8; 100];
                loop {
                    match msg_read(rcvid, &mut piece, off) {
                        Ok(0) => break,
                        Ok(n) => {
                            sum += piece[..n].iter().map(|&b| i64::from(b)).sum::<i64>();
                            total += n as i64;
                            off += n;
                        }
                        Err(e) => {
                            problems.push(format!("MsgRead {e:?}"));
                            break;
                        }
                    }
                }
                if total + MSG_SIZE as i64 != info.srcmsglen {
                    problems.push(format!("read {total} of srcmsglen {}", info.srcmsglen));
                }
                msg_reply(rcvid, sum, &total.to_ne_bytes())
            }
            XP_INFO => {
                let mut r = Vec::with_capacity(INFO_SIZE);
                r.extend_from_slice(&info.pid.to_ne_bytes());
                r.extend_from_slice(&info.tid.to_ne_bytes());
                r.extend_from_slice(&info.msglen.to_ne_bytes());
                r.extend_from_slice(&info.srcmsglen.to_ne_bytes());
                r.extend_from_slice(&info.dstmsglen.to_ne_bytes());
                msg_reply(rcvid, 0, &r)
            }
            XP_EVENT => match event_from(&buf[EVENT_AT..EVENT_AT + 64]).to_kernel() {
                Ok(ev) => {
                    let verified = msg_verify_event(rcvid, &ev);
                    let r = msg_reply(rcvid, if verified.is_ok() { 0 } else { -1 }, &[]);
                    if let Err(e) = msg_deliver_event(rcvid, &ev) {
                        problems.push(format!("MsgDeliverEvent {e:?}"));
                    }
                    r
                }
                Err(e) => msg_error(rcvid, e),
            },
            XP_ERROR => msg_error(rcvid, Errno(value)),
            XP_PULSES => msg_reply(rcvid, pulses, &[]),
            _ => msg_error(rcvid, Errno::ENOSYS),
        };
        if let Err(e) = r {
            problems.push(format!("answering type {ty}: {e:?}"));
        }
    };
    tell_parent(&format!(
        "served {served} pulses {pulses} disconnected {disconnected} problems {problems:?}"
    ));
    channel_destroy(chid).expect("ChannelDestroy");
}

/// The client of xproc_client.c, in Rust, against "pid chid": tells "client N passed
/// [failures]".
fn rust_client(arg: &str) {
    let mut it = arg.split(' ').map(|s| s.parse::<i32>().expect("a number"));
    let (pid, chid) = (it.next().expect("pid"), it.next().expect("chid"));
    let mut passed = 0;
    let mut failed = Vec::<String>::new();
    let mut check = |ok: bool, what: String| {
        if ok {
            passed += 1;
        } else {
            failed.push(what);
        }
    };

    let coid = connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0).expect("ConnectAttach");
    check(
        coid as u32 & _NTO_SIDE_CHANNEL != 0,
        format!("side-channel coid {coid:#x}"),
    );

    // An echo.
    let mut m = message(XP_ECHO, 5);
    m[DATA_AT..DATA_AT + 5].copy_from_slice(b"hello");
    let mut reply = [0u8; 64];
    arm_send();
    let r = msg_send(coid, &m, &mut reply);
    check(
        r == Ok(5) && &reply[..5] == b"hello",
        format!("echo {r:?} {:?}", &reply[..5]),
    );

    // What the server learns about us.
    let mut info = [0u8; INFO_SIZE];
    arm_send();
    let r = msg_send(coid, &message(XP_INFO, 0), &mut info);
    let (me, tid) = (getpid().expect("getpid"), gettid().expect("gettid"));
    check(
        r == Ok(0) && i32_at(&info, 0) == me && i32_at(&info, 4) == tid,
        format!(
            "info {r:?} pid {} tid {}",
            i32_at(&info, 0),
            i32_at(&info, 4)
        ),
    );
    check(
        i64_at(&info, 8) == MSG_SIZE as i64
            && i64_at(&info, 16) == MSG_SIZE as i64
            && i64_at(&info, 24) == INFO_SIZE as i64,
        format!(
            "lengths {} {} {}",
            i64_at(&info, 8),
            i64_at(&info, 16),
            i64_at(&info, 24)
        ),
    );

    // A long message, read by the server in pieces.
    let mut big = message(XP_LONG, 0).to_vec();
    big.extend((0..LONG_LEN).map(|i| (i * 13 + 1) as u8));
    let sum: i64 = big[MSG_SIZE..].iter().map(|&b| i64::from(b)).sum();
    let mut count = [0u8; 8];
    arm_send();
    let r = msg_send(coid, &big, &mut count);
    check(
        r == Ok(sum) && i64_at(&count, 0) == LONG_LEN as i64,
        format!("long {r:?} (sum {sum}) count {}", i64_at(&count, 0)),
    );

    // An event: a pulse to our own channel, delivered by the server.
    let evch = channel_create(0).expect("ChannelCreate");
    let evcoid = connect_attach(0, me, evch, _NTO_SIDE_CHANNEL, 0).expect("ConnectAttach");
    let mut m = message(XP_EVENT, 0);
    let ev = CSigEvent::from_kernel(&sigev_pulse_init(evcoid, -1, 12, 0x5150));
    m[EVENT_AT..EVENT_AT + 64].copy_from_slice(&event_bytes(&ev));
    arm_send();
    let r = msg_send(coid, &m, &mut []);
    check(r == Ok(0), format!("event sent {r:?}"));
    let mut p = [0u8; PULSE_SIZE];
    arm_receive();
    let r = msg_receive_pulse(evch, &mut p);
    check(
        r.is_ok() && p[4] as i8 == 12 && i32_at(&p, 8) == 0x5150,
        format!("event's pulse {r:?} {p:?}"),
    );
    connect_detach(evcoid).expect("ConnectDetach");
    channel_destroy(evch).expect("ChannelDestroy");

    // Errors from the server.
    arm_send();
    let r = msg_send(coid, &message(XP_ERROR, libc::EPERM), &mut []);
    check(r == Err(Errno::EPERM), format!("MsgError(EPERM): {r:?}"));
    arm_send();
    let r = msg_send(coid, &message(XP_ERROR, 0), &mut []);
    check(r == Ok(0), format!("MsgError(EOK): {r:?}"));
    arm_send();
    let r = msg_send(coid, &message(0x1FF + 100, 0), &mut []);
    check(r == Err(Errno::ENOSYS), format!("unknown type: {r:?}"));

    // Pulses to the server, queued ahead of our next message.
    for i in 0..3 {
        let r = msg_send_pulse(coid, -1, 1, i);
        check(r.is_ok(), format!("MsgSendPulse {r:?}"));
    }
    arm_send();
    let r = msg_send(coid, &message(XP_PULSES, 0), &mut []);
    check(r == Ok(3), format!("pulses counted {r:?}"));

    // Detach: the server gets its disconnect pulse and ends.
    check(connect_detach(coid).is_ok(), "ConnectDetach".into());
    arm_send();
    let r = msg_send(coid, b"x", &mut []);
    check(r == Err(Errno::EBADF), format!("send after detach {r:?}"));
    tell_parent(&format!("client {passed} passed {failed:?}"));
}

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "rust-server" => rust_server(),
        "rust-client" => rust_client(&arg),
        other => panic!("unknown role {other}"),
    }
}

// ------------------------------------------------------------------ C programs

/// The C server and client, built (C99, libqnxsim shared) into `dir`.
fn build_programs(dir: &TempDir) -> (PathBuf, PathBuf) {
    (
        build_shared(dir, "xproc_server"),
        build_shared(dir, "xproc_client"),
    )
}

/// "ready PID CHID" from the C server: "PID CHID".
fn c_ready(server: &mut Running) -> String {
    let line = server.line();
    let target = line
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_string();
    assert_eq!(target.split(' ').count(), 2, "{line:?}");
    target
}

/// The checks xproc_client.c makes at the least, and xproc_server.c.
const CLIENT_CHECKS: u32 = 25;
const SERVER_CHECKS: u32 = 5;

/// The C server and the C client on the kernel at `socket`.
fn c_server_and_c_client(dir: &TempDir, socket: &Path, auto: Option<&AutoStarted>) {
    let (server_exe, client_exe) = build_programs(dir);
    let env = env(socket);
    let mut server = Running::start(&server_exe, &[], &env);
    let target = c_ready(&mut server);
    assert!(socket.exists(), "the kernel's socket");
    if let Some(auto) = auto {
        assert_eq!(auto.pids().len(), 1, "the server started one supervisor");
    }
    let (pid, chid) = target.split_once(' ').expect("pid chid");
    let client = Running::start(&client_exe, &[pid, chid], &env);
    expect_summary("xproc_client", client.finish(WITHIN), CLIENT_CHECKS);
    expect_summary("xproc_server", server.finish(WITHIN), SERVER_CHECKS);
}

#[test]
fn a_c_server_and_a_c_client_talk_on_a_supervised_kernel() {
    let dir = TempDir::new("c-xproc");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    c_server_and_c_client(&dir, &socket, None);
}

/// Where long messages cross through the region (as where Linux forbids `process_vm_*`:
/// docs/design.md, "Copies"; here because the server's environment asks), the C programs'
/// exchanges pass as before, XP_LONG's 5 000 bytes read by the server in 100-byte pieces
/// among them.
#[test]
fn a_c_server_and_a_c_client_talk_with_long_messages_through_the_region() {
    let dir = TempDir::new("c-xproc-region");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let (server_exe, client_exe) = build_programs(&dir);
    let mut env = env(&socket);
    env.push(("QNXSIM_LONG_COPIES", "region".to_string()));
    let mut server = Running::start(&server_exe, &[], &env);
    let target = c_ready(&mut server);
    let k = watch(&socket);
    assert!(
        k.long_copies_through_region(),
        "the C server's joining switched the kernel"
    );
    let (pid, chid) = target.split_once(' ').expect("pid chid");
    let client = Running::start(&client_exe, &[pid, chid], &env);
    expect_summary("xproc_client", client.finish(WITHIN), CLIENT_CHECKS);
    expect_summary("xproc_server", server.finish(WITHIN), SERVER_CHECKS);
    let q = k.listing().queue_pages.expect("a shared kernel's arena");
    assert_eq!(q.long_messages, 0, "no block left behind");
}

/// The supervisors serving the kernel at `socket` (by their command line), killed on drop:
/// the one a C program started is not the test's child.
struct AutoStarted(PathBuf);

impl AutoStarted {
    fn pids(&self) -> Vec<i32> {
        let want = self.0.display().to_string();
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        procs
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                    return false;
                };
                let args: Vec<&[u8]> = cmd.split(|&b| b == 0).collect();
                args.first().is_some_and(|a| a.ends_with(b"procnto-sim"))
                    && args
                        .windows(2)
                        .any(|w| w[0] == b"--kernel" && w[1] == want.as_bytes())
            })
            .collect()
    }
}

impl Drop for AutoStarted {
    fn drop(&mut self) {
        for pid in self.pids() {
            // SAFETY: kill(2) with a pid read just now from /proc, whose command line names
            // this test's own socket: a supervisor this test caused to start.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

#[test]
fn the_first_c_program_starts_the_supervisor_and_it_ends_after_the_last() {
    let dir = TempDir::new("c-xproc-auto");
    let socket = socket_in(&dir);
    assert!(!socket.exists());
    let auto = AutoStarted(socket.clone());
    c_server_and_c_client(&dir, &socket, Some(&auto));
    // Its linger (2 s) after the last program, the supervisor ends and removes its socket.
    wait_until("the auto-started supervisor ends", || {
        !socket.exists() && auto.pids().is_empty()
    });
}

#[test]
fn a_c_client_talks_to_a_rust_server() {
    let dir = TempDir::new("c-xproc-rs-server");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let (_, client_exe) = build_programs(&dir);
    let server = spawn("rust-server", "", &socket);
    let target = ready(&server);
    let (pid, chid) = target.split_once(' ').expect("pid chid");
    let client = Running::start(&client_exe, &[pid, chid], &env(&socket));
    expect_summary("xproc_client", client.finish(WITHIN), CLIENT_CHECKS);
    let said = server.line(WITHIN);
    assert!(
        said.starts_with("served ") && said.ends_with(" pulses 3 disconnected true problems []"),
        "{said}"
    );
    assert!(server.wait(WITHIN).success());
}

#[test]
fn a_rust_client_talks_to_a_c_server() {
    let dir = TempDir::new("c-xproc-rs-client");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let (server_exe, _) = build_programs(&dir);
    let mut server = Running::start(&server_exe, &[], &env(&socket));
    let target = c_ready(&mut server);
    let client = spawn("rust-client", &target, &socket);
    let said = client.line(WITHIN);
    assert!(said.ends_with(" passed []"), "{said}");
    let passed: u32 = said
        .split(' ')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(passed >= 10, "{said}");
    assert!(client.wait(WITHIN).success());
    expect_summary("xproc_server", server.finish(WITHIN), SERVER_CHECKS);
}
