//! QNX's names from C (`<sys/dispatch.h>`: `name_attach`, `name_detach`, `name_open`,
//! `name_close`): the threaded suite `capi/tests/c/names_suite.c` on its own kernel (C99 linked
//! shared and static, and C++17); the C name server and C name client of
//! `capi/tests/c/name_{server,client}.c` as two programs on a supervised kernel, the client
//! finding the server by its name alone; a Rust client (`userlib::qnx::name_open`, this test
//! binary re-run in a role) against the C server; and a C server killed with SIGKILL, whose
//! name the supervisor's teardown removes. Every process is bounded in time and killed on
//! every exit path; every socket lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, build_shared, c_dir, expect_pass, expect_summary, Lang, Link, Running};
use common::*;
use procs::{child_role, child_setup, tell_parent, TempDir};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use userlib::consts::*;
use userlib::qnx::*;

// ------------------------------------------------------------------ the suite

/// The checks names_suite.c makes at the least.
const SUITE_CHECKS: u32 = 30;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

fn suite(lang: Lang, link: Link) {
    let dir = TempDir::new("c-names-suite");
    let exe = dir.join(&format!("names_suite-{lang:?}-{link:?}"));
    build(&[c_dir().join("names_suite.c")], &exe, lang, link);
    expect_pass(&exe, &[], &[], SUITE_CHECKS, RUN_WITHIN);
}

#[test]
fn names_suite_c99_linked_shared() {
    suite(Lang::C99, Link::Shared);
}

#[test]
fn names_suite_c99_linked_static() {
    suite(Lang::C99, Link::Static);
}

#[test]
fn names_suite_cxx17_linked_shared() {
    suite(Lang::Cxx17, Link::Shared);
}

// ------------------------------------------------------------------ the messages

/// `_IO_MAX + 1`: the first type a program numbers its own messages from.
const NM_ECHO: u16 = 0x1FF + 1;
const NM_CONNECT: u16 = NM_ECHO + 1;
const NM_ERROR: u16 = NM_ECHO + 2;
const NM_PID: u16 = NM_ECHO + 3;

/// `struct nm_msg`: type (u16), subtype (u16), value (i32), data (32 bytes at 8).
const MSG_SIZE: usize = 40;
const DATA_AT: usize = 8;
/// `struct _io_connect` (with its one byte of path, padded): what NM_CONNECT replies.
const CONNECT_SIZE: usize = 44;

fn message(ty: u16, value: i32) -> [u8; MSG_SIZE] {
    let mut m = [0u8; MSG_SIZE];
    m[0..2].copy_from_slice(&ty.to_ne_bytes());
    m[4..8].copy_from_slice(&value.to_ne_bytes());
    m
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn arm_send() {
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .expect("arm");
}

fn open(name: &str) -> Result<i32, Errno> {
    arm_send();
    name_open(name, 0)
}

fn send(coid: i32, m: &[u8], reply: &mut [u8]) -> Result<i64, Errno> {
    arm_send();
    msg_send(coid, m, reply)
}

// ------------------------------------------------------------------ the Rust roles

/// A client of name_server.c, in Rust, finding it by `name`: tells "client N passed
/// [failures]".
fn rust_client(name: &str) {
    let mut passed = 0;
    let mut failed = Vec::<String>::new();
    let mut check = |ok: bool, what: String| {
        if ok {
            passed += 1;
        } else {
            failed.push(what);
        }
    };

    let r = open("");
    check(r == Err(Errno::EINVAL), format!("name_open(\"\"): {r:?}"));
    let r = open("qnxsim/nobody/here");
    check(r == Err(Errno::ENOENT), format!("unknown name: {r:?}"));

    let coid = match open(name) {
        Ok(c) => c,
        Err(e) => {
            tell_parent(&format!("client 0 passed [\"name_open {name}: {e:?}\"]"));
            return;
        }
    };
    check(
        coid as u32 & _NTO_SIDE_CHANNEL != 0,
        format!("side-channel coid {coid:#x}"),
    );

    let mut m = message(NM_ECHO, 5);
    m[DATA_AT..DATA_AT + 5].copy_from_slice(b"hello");
    let mut reply = [0u8; 32];
    let r = send(coid, &m, &mut reply);
    check(
        r == Ok(5) && &reply[..5] == b"hello",
        format!("echo {r:?} {:?}", &reply[..5]),
    );

    let mut c = [0u8; CONNECT_SIZE];
    let r = send(coid, &message(NM_CONNECT, 0), &mut c);
    check(r == Ok(1), format!("opens seen {r:?}"));
    check(
        u16_at(&c, 0) == 0x100 && u16_at(&c, 2) == 2 && u32_at(&c, 4) == 12 && u16_at(&c, 34) == 1,
        format!(
            "_IO_CONNECT type {:#x} subtype {} file_type {} path_len {}",
            u16_at(&c, 0),
            u16_at(&c, 2),
            u32_at(&c, 4),
            u16_at(&c, 34)
        ),
    );
    check(
        u32_at(&c, 20) == 3 && u16_at(&c, 28) == 0x40 && u16_at(&c, 30) == 3,
        format!(
            "ioflag {} sflag {:#x} access {}",
            u32_at(&c, 20),
            u16_at(&c, 28),
            u16_at(&c, 30)
        ),
    );

    let r = send(coid, &message(NM_PID, 0), &mut []);
    check(
        r == Ok(i64::from(std::process::id())),
        format!("pid {r:?}, mine {}", std::process::id()),
    );
    let r = send(coid, &message(NM_ERROR, libc::EPERM), &mut []);
    check(r == Err(Errno::EPERM), format!("MsgError(EPERM): {r:?}"));
    let r = send(coid, &message(0x1FF + 100, 0), &mut []);
    check(r == Err(Errno::ENOSYS), format!("unknown type: {r:?}"));

    let r = name_close(coid);
    check(r.is_ok(), format!("name_close {r:?}"));
    let r = send(coid, &message(NM_ECHO, 0), &mut []);
    check(
        r == Err(Errno::EBADF),
        format!("send after name_close {r:?}"),
    );
    tell_parent(&format!("client {passed} passed {failed:?}"));
}

/// One open, echo and close of `name`: tells "probe ok" or what went wrong.
fn rust_probe(name: &str) {
    let said = match open(name) {
        Ok(coid) => {
            let mut reply = [0u8; 32];
            let mut m = message(NM_ECHO, 2);
            m[DATA_AT..DATA_AT + 2].copy_from_slice(b"hi");
            let r = send(coid, &m, &mut reply);
            let c = name_close(coid);
            if r == Ok(2) && &reply[..2] == b"hi" && c.is_ok() {
                "probe ok".to_string()
            } else {
                format!("probe echo {r:?} close {c:?}")
            }
        }
        Err(e) => format!("probe name_open {e:?}"),
    };
    tell_parent(&said);
}

/// Waits (at most `WITHIN`) for `name` to be gone: tells "gone" once name_open is ENOENT, or
/// "still there: <last result>".
fn rust_gone(name: &str) {
    let until = Instant::now() + WITHIN;
    let last = loop {
        let r = open(name);
        match r {
            Err(Errno::ENOENT) => {
                tell_parent("gone");
                return;
            }
            Ok(coid) => {
                let _ = name_close(coid);
            }
            Err(_) => {}
        }
        if Instant::now() > until {
            break r;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    tell_parent(&format!("still there: {last:?}"));
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
        "rust-client" => rust_client(&arg),
        "rust-probe" => rust_probe(&arg),
        "rust-gone" => rust_gone(&arg),
        other => panic!("unknown role {other}"),
    }
}

// ------------------------------------------------------------------ C programs

/// The C server and client, built (C99, libqnxsim shared) into `dir`.
fn build_programs(dir: &TempDir) -> (PathBuf, PathBuf) {
    (
        build_shared(dir, "name_server"),
        build_shared(dir, "name_client"),
    )
}

/// The checks name_client.c makes at the least, and name_server.c with one client.
const CLIENT_CHECKS: u32 = 18;
const SERVER_CHECKS: u32 = 6;

#[test]
fn a_c_client_finds_a_c_server_by_its_name_on_a_supervised_kernel() {
    let dir = TempDir::new("c-names-xproc");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let (server_exe, client_exe) = build_programs(&dir);
    let env = env(&socket);
    let name = "qnxsim/test/echo";
    let mut server = Running::start(&server_exe, &[name], &env);
    server.ready();
    let client = Running::start(&client_exe, &[name], &env);
    expect_summary("name_client", client.finish(WITHIN), CLIENT_CHECKS);
    expect_summary("name_server", server.finish(WITHIN), SERVER_CHECKS);
}

#[test]
fn a_rust_client_finds_a_c_server_by_its_global_name() {
    let dir = TempDir::new("c-names-rs-client");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let (server_exe, _) = build_programs(&dir);
    let name = "qnxsim/test/global-echo";
    let mut server = Running::start(&server_exe, &[name, "global"], &env(&socket));
    server.ready();
    let client = spawn("rust-client", name, &socket);
    let said = client.line(WITHIN);
    assert!(said.ends_with(" passed []"), "{said}");
    let passed: u32 = said
        .split(' ')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(passed >= 10, "{said}");
    assert!(client.wait(WITHIN).success());
    expect_summary("name_server", server.finish(WITHIN), SERVER_CHECKS);
}

#[test]
fn a_killed_servers_name_goes_with_it() {
    let dir = TempDir::new("c-names-killed");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let (server_exe, _) = build_programs(&dir);
    let name = "qnxsim/test/doomed";
    // Two clients to serve: it is still there after the probe.
    let mut server = Running::start(&server_exe, &[name, "2"], &env(&socket));
    server.ready();
    let probe = spawn("rust-probe", name, &socket);
    assert_eq!(probe.line(WITHIN), "probe ok");
    assert!(probe.wait(WITHIN).success());

    let status = server.kill();
    assert!(!status.success(), "{status}");
    let gone = spawn("rust-gone", name, &socket);
    assert_eq!(gone.line(WITHIN + WITHIN), "gone");
    assert!(gone.wait(WITHIN).success());
}
