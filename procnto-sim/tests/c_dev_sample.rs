//! /dev/sample as a QNX 7.1 resource manager in C (`capi/tests/c/dev_sample.c`: iofunc
//! defaults with its own io_read, io_write, io_devctl, io_notify and close_ocb, a thread pool)
//! in a program of its own on a supervised kernel, used by clients in other programs: the C
//! client `capi/tests/c/dev_sample_client.c` with plain open, read, write, lseek, fstat,
//! devctl, ionotify and close (libqnxsim's file calls), and a Rust client through
//! `userlib::io` (this test binary re-run in a role); a client killed while it holds the
//! device open has its OCB closed by the supervisor's teardown (the disconnect pulse), which
//! the server checks before it ends; twelve clients hammering it from two threads each, killed
//! with SIGKILL at random moments of their I/O, leave every OCB closed and no notification
//! armed. Every process is bounded in time and killed on every exit path;
//! every socket and program lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build_shared, expect_summary, Running};
use common::*;
use procs::{child_role, child_setup, tell_parent, TempDir};
use userlib::consts::*;
use userlib::io;
use userlib::iomsg::*;
use userlib::qnx::*;
use userlib::Errno;

/// The server's commands (as dev_sample.c defines them).
const DCMD_SAMPLE_GET_SIZE: i32 = diof(_DCMD_MISC, 1, 4);
const DCMD_SAMPLE_CLEAR: i32 = dion(_DCMD_MISC, 2);

/// The checks dev_sample.c makes.
const SERVER_CHECKS: u32 = 7;
/// The checks dev_sample_client.c makes.
const CLIENT_CHECKS: u32 = 18;

// ------------------------------------------------------------------ the Rust roles

/// A client of dev_sample.c at `path`: every step, checked; tells "client N passed [failures]".
fn rust_client(path: &str) {
    let mut passed = 0;
    let mut failed = Vec::<String>::new();
    let mut check = |ok: bool, what: String| {
        if ok {
            passed += 1;
        } else {
            failed.push(what);
        }
    };
    let fd = match io::open(path, libc::O_RDWR, 0) {
        Ok(fd) => fd,
        Err(e) => {
            tell_parent(&format!("client 0 passed [\"open {path}: {e:?}\"]"));
            return;
        }
    };
    let r = io::write(fd, b"hello, world");
    check(r == Ok(12), format!("write: {r:?}"));
    let r = io::lseek(fd, 0, libc::SEEK_SET);
    check(r == Ok(0), format!("lseek: {r:?}"));
    let mut buf = [0u8; 64];
    let r = io::read(fd, &mut buf);
    check(
        r == Ok(12) && &buf[..12] == b"hello, world",
        format!("read: {r:?}"),
    );
    let r = io::read(fd, &mut buf);
    check(r == Ok(0), format!("read at the end: {r:?}"));
    let mut size = [0u8; 4];
    let r = io::devctl(fd, DCMD_SAMPLE_GET_SIZE, &mut size, None);
    check(
        r == Ok(()) && i32::from_ne_bytes(size) == 12,
        format!("devctl GET_SIZE: {r:?} {}", i32::from_ne_bytes(size)),
    );
    let mut flags = [0u8; 4];
    let r = io::devctl(fd, DCMD_ALL_GETFLAGS, &mut flags, None);
    check(
        r == Ok(()) && i32::from_ne_bytes(flags) & libc::O_ACCMODE == libc::O_RDWR,
        format!("devctl DCMD_ALL_GETFLAGS (the default): {r:?}"),
    );
    let r = io::devctl(fd, dion(_DCMD_MISC, 99), &mut [], None);
    check(
        r == Err(Errno(libc::ENOTTY)),
        format!("an unknown command: {r:?}"),
    );
    let r = io::devctl(fd, DCMD_SAMPLE_CLEAR, &mut [], None);
    check(r == Ok(()), format!("devctl CLEAR: {r:?}"));

    // Arm for input on the empty device, then another thread writes: the pulse comes.
    let chid = channel_create(0).expect("ChannelCreate");
    let me = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).expect("ConnectAttach");
    let ev = sigev_pulse_init(me, 10, SI_NOTIFY as i8, 0);
    let r = io::ionotify(fd, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT, Some(&ev));
    check(
        r == Ok(0),
        format!("ionotify POLLARM on an empty device: {r:?}"),
    );
    let p = path.to_string();
    let writer = std::thread::spawn(move || -> Result<(), Errno> {
        let fd2 = io::open(&p, libc::O_WRONLY, 0)?;
        io::write(fd2, b"more")?;
        io::close(fd2)
    });
    let mut pulse = [0u8; userlib::PULSE_SIZE];
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
    let r = msg_receive_pulse(chid, &mut pulse);
    let w = writer.join().expect("the writer");
    check(
        w.is_ok(),
        format!("the other thread's open, write, close: {w:?}"),
    );
    let p = userlib::Pulse::from_bytes(&pulse).unwrap_or_default();
    check(
        r.is_ok() && p.code == SI_NOTIFY as i8 && p.value as u32 as i32 & _NOTIFY_COND_INPUT != 0,
        format!(
            "the notification pulse: {r:?} code {} value {:#x}",
            p.code, p.value
        ),
    );
    let r = io::ionotify(fd, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT, None);
    check(
        r == Ok(_NOTIFY_COND_INPUT),
        format!("ionotify POLL after the write: {r:?}"),
    );

    match io::fstat(fd) {
        Ok(st) => check(
            st.st_size == 4 && st.st_mode == libc::S_IFCHR | 0o666,
            format!("fstat: size {} mode {:o}", st.st_size, st.st_mode),
        ),
        Err(e) => check(false, format!("fstat: {e:?}")),
    }
    let r = io::close(fd);
    check(r == Ok(()), format!("close: {r:?}"));
    let r = io::read(fd, &mut buf);
    check(r == Err(Errno::EBADF), format!("read after close: {r:?}"));
    let _ = connect_detach(me);
    let _ = channel_destroy(chid);
    tell_parent(&format!("client {passed} passed {failed:?}"));
}

/// Opens `path` and holds it: tells "holding", then waits to be killed (at most `WITHIN`).
fn rust_holder(path: &str) {
    match io::open(path, libc::O_RDONLY, 0) {
        Ok(_) => tell_parent("holding"),
        Err(e) => tell_parent(&format!("open {path}: {e:?}")),
    }
    std::thread::sleep(WITHIN);
}

/// Opens `path` and arms a notification on it, then opens, writes, reads and closes it in two
/// threads, as fast as it can, leaving every third fd open, until it is killed (at most
/// `WITHIN`): tells "hammering" once armed.
fn rust_hammer(path: &str) {
    // Armed on its first fd (for out-of-band data, which never comes, so that it stays
    // armed): the server must forget the entry when the client is killed.
    let first = io::open(path, libc::O_RDWR, 0).and_then(|fd| {
        let chid = channel_create(0)?;
        let me = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)?;
        let ev = sigev_pulse_init(me, 10, SI_NOTIFY as i8, 0);
        io::ionotify(fd, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_OBAND, Some(&ev))
    });
    tell_parent(&match first {
        Ok(_) => "hammering".to_string(),
        Err(e) => format!("open and arm {path}: {e:?}"),
    });
    let until = std::time::Instant::now() + WITHIN;
    let work = move |p: String| {
        let mut j = 0u64;
        while std::time::Instant::now() < until {
            let Ok(fd) = io::open(&p, libc::O_RDWR, 0) else {
                continue;
            };
            let _ = io::write(fd, format!("{j};").as_bytes());
            let _ = io::lseek(fd, 0, libc::SEEK_SET);
            let mut b = [0u8; 16];
            let _ = io::read(fd, &mut b);
            if !j.is_multiple_of(3) {
                let _ = io::close(fd);
            }
            j += 1;
        }
    };
    let p = path.to_string();
    let other = userlib::spawn(move || work(p)).expect("a second thread");
    work(path.to_string());
    let _ = other.join();
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
        "rust-holder" => rust_holder(&arg),
        "rust-hammer" => rust_hammer(&arg),
        other => panic!("unknown role {other}"),
    }
}

// ------------------------------------------------------------------ the tests

/// The client's "client N passed [...]" line: N, checking nothing failed.
fn client_passed(said: &str) -> u32 {
    assert!(said.ends_with(" passed []"), "{said}");
    said.split(' ')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {said:?}"))
}

#[test]
fn clients_in_other_programs_use_the_c_device_and_a_killed_ones_ocb_is_closed() {
    let dir = TempDir::new("c-dev-sample");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let server_exe = build_shared(&dir, "dev_sample");
    let path = "/dev/qnxsim-test-sample";
    let mut server = Running::start(&server_exe, &[path, "300"], &env(&socket));
    server.ready();

    // The run recorded by pidin-sim: the C server's events are in the kernel's trace ring as a
    // Rust program's are, its messages named by their I/O types.
    let k = watch(&socket);
    let chart = dir.join("c-dev-sample.svg");
    let rec = Recorder::start(
        &socket,
        &["--diagram", chart.to_str().unwrap(), "--rows", "400"],
    );
    wait_until("the recorder to turn the ring on", || {
        k.trace_ring().recording()
    });
    let client = spawn("rust-client", path, &socket);
    let said = client.line(WITHIN);
    assert!(client_passed(&said) >= 14, "{said}");
    let cpid = client.pid();
    assert!(client.wait(WITHIN).success());
    let (st, err) = rec.interrupt();
    assert!(st.success(), "{err}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    let spid = server.pid();
    for want in [
        "dev_sample, pid ".to_string(),
        format!(r#"data-from="{cpid}.1" data-to="{spid}."#),
        ">_IO_CONNECT ".into(),
        ">_IO_READ ".into(),
        ">_IO_WRITE ".into(),
        ">_IO_CLOSE ".into(),
    ] {
        assert!(svg.contains(&want), "no {want:?} in the chart:\n{svg}");
    }

    // A client killed with the device open: the supervisor tears its process down, the
    // server's channel gets the disconnect pulse, and the layer closes the OCB. (The server
    // ends only once every open met its close_ocb.)
    let holder = spawn("rust-holder", path, &socket);
    assert_eq!(holder.line(WITHIN), "holding");
    let status = holder.kill();
    assert!(!status.success(), "{status}");

    expect_summary("dev_sample", server.finish(WITHIN), SERVER_CHECKS);
}

#[test]
fn clients_killed_at_random_moments_of_their_io_leave_every_ocb_closed() {
    let dir = TempDir::new("c-dev-sample-kills");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let server_exe = build_shared(&dir, "dev_sample");
    let path = "/dev/qnxsim-test-sample-kills";
    let mut server = Running::start(&server_exe, &[path, "300"], &env(&socket));
    server.ready();
    let mut seed = std::process::id() | 1;
    let mut rand = move |n: u32| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed % n
    };
    // The whole run is recorded through the kernel's trace ring (the hammers write records
    // in every call, so some are killed in the middle of one): the recording must end cleanly,
    // its timeline whole, whatever the kills left half-written.
    let k = watch(&socket);
    let json = dir.join("kills.json");
    let rec = Recorder::start(&socket, &["--trace", json.to_str().unwrap()]);
    wait_until("the recorder to turn the ring on", || {
        k.trace_ring().recording()
    });
    // Three waves of four programs, each killed with SIGKILL a random while after it began:
    // in the middle of an open, a write, a read, a close, or between them.
    let mut kills = 0;
    for _ in 0..3 {
        let hammers: Vec<_> = (0..4)
            .map(|_| spawn("rust-hammer", path, &socket))
            .collect();
        for h in &hammers {
            assert_eq!(h.line(WITHIN), "hammering");
        }
        for h in hammers {
            std::thread::sleep(std::time::Duration::from_millis(u64::from(1 + rand(40))));
            let status = h.kill();
            assert!(!status.success(), "{status}");
            kills += 1;
        }
    }
    assert_eq!(kills, 12);
    // The server ends only once every OCB it opened met its close_ocb (and checks it).
    expect_summary("dev_sample", server.finish(WITHIN), SERVER_CHECKS);
    let (st, err) = rec.interrupt();
    assert!(st.success(), "pidin-sim: {st:?}\n{err}");
    assert!(!k.trace_ring().recording(), "the recording let the ring go");
    let text = std::fs::read_to_string(&json).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).expect("the timeline is JSON");
    let evs = v["traceEvents"].as_array().expect("traceEvents");
    // Each killed program's teardown by the supervisor is in it, unless the hammers lapped the
    // ring (an optimised build writes records faster than the recorder drains them, and says
    // how many it lost): then some are (the teardowns themselves are shown above, by the
    // server's every OCB closed).
    let teardowns = evs
        .iter()
        .filter(|e| e["ph"] == "i" && e["name"] == "teardown: done")
        .count();
    let lapped = err.contains(" lost (the ring of");
    let want = if lapped { 1 } else { 12 };
    assert!(teardowns >= want, "{teardowns} teardowns recorded\n{err}");
}

#[test]
fn a_c_client_uses_the_c_device_with_plain_posix_calls() {
    let dir = TempDir::new("c-dev-sample-c");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let server_exe = build_shared(&dir, "dev_sample");
    let client_exe = build_shared(&dir, "dev_sample_client");
    let path = "/dev/qnxsim-test-sample-c";
    let env = env(&socket);
    let mut server = Running::start(&server_exe, &[path, "300"], &env);
    server.ready();
    let client = Running::start(&client_exe, &[path], &env);
    expect_summary("dev_sample_client", client.finish(WITHIN), CLIENT_CHECKS);
    expect_summary("dev_sample", server.finish(WITHIN), SERVER_CHECKS);
}

#[test]
fn bad_arguments_are_refused_with_status_2() {
    let dir = TempDir::new("c-dev-sample-usage");
    for (name, args) in [
        ("dev_sample", &["/dev/x", "100", "extra"][..]),
        ("dev_sample_client", &["/dev/x", "extra"][..]),
    ] {
        let exe = build_shared(&dir, name);
        let out = std::process::Command::new(&exe)
            .args(args)
            .env_remove(userlib::current::KERNEL_ENV)
            .output()
            .unwrap_or_else(|e| panic!("running {name}: {e}"));
        assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("usage: {name}")),
            "{name}: {out:?}"
        );
    }
}
