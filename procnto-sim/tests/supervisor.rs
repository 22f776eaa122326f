//! The supervisor across real programs: programs (this test binary re-run in roles, with
//! userlib and `QNXSIM_KERNEL` naming the supervisor's socket) join its kernel; when one is
//! killed with SIGKILL, the supervisor tears its processes down and its peers are released as
//! on QNX; a program starts the supervisor when none runs, and the supervisor ends after the
//! last program. Every process is bounded in time and killed on every exit path; every socket
//! lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::*;
use procs::{child_role, child_setup, tell_parent, Child, TempDir};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use userlib::consts::*;
use userlib::qnx::*;

/// Receives one message and holds it, never replying (until killed).
fn holder() {
    let chid = channel_create(_NTO_CHF_DISCONNECT).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let mut buf = [0u8; 16];
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
    let _rcvid = msg_receive(chid, &mut buf, None).expect("MsgReceive");
    tell_parent("holding");
    std::thread::sleep(Duration::from_secs(60));
}

/// Sends one message to `arg` = "pid chid" and tells what MsgSend returned.
fn sender(arg: &str) {
    let mut it = arg.split(' ').map(|s| s.parse::<i32>().expect("a number"));
    let (pid, chid) = (it.next().expect("pid"), it.next().expect("chid"));
    let coid = connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0).expect("ConnectAttach");
    tell_parent(&format!("sending as {}", getpid().expect("getpid")));
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .expect("arm");
    let r = msg_send(coid, b"hi", &mut []);
    tell_parent(&format!("send {r:?}"));
}

/// A server that receives one message, waits for its client to be killed (the parent says
/// so by the kernel: a disconnect pulse), then tries to reply.
fn reaped_client_server() {
    let chid = channel_create(_NTO_CHF_DISCONNECT).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let mut buf = [0u8; 64];
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
    let rcvid = msg_receive(chid, &mut buf, None).expect("MsgReceive");
    tell_parent("received");
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
    let pulse = msg_receive(chid, &mut buf, None);
    let code = userlib::Pulse::from_bytes(&buf).map(|p| p.code);
    tell_parent(&format!(
        "pulse {pulse:?} code-is-disconnect {} reply {:?}",
        code == Some(_PULSE_CODE_DISCONNECT),
        msg_reply(rcvid, 0, b"late")
    ));
}

/// Joins the kernel, tells its pid, and exits normally.
fn joiner() {
    tell_parent(&format!("pid {:?}", getpid()));
}

/// A server that answers every message with an empty reply, until idle for 10 s.
fn echo_loop() {
    let chid = channel_create(0).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", getpid().expect("getpid")));
    let mut buf = [0u8; 64];
    loop {
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
        match msg_receive(chid, &mut buf, None) {
            Ok(0) => {}
            Ok(rcvid) => {
                let _ = msg_reply(rcvid, 0, b"ok");
            }
            Err(_) => return,
        }
    }
}

/// Sends to `arg` = "pid chid" in a loop (each send bounded), telling the parent once the first
/// reply came; ends only when killed (or after 20 s).
fn hammer(arg: &str) {
    let mut it = arg.split(' ').map(|s| s.parse::<i32>().expect("a number"));
    let (pid, chid) = (it.next().expect("pid"), it.next().expect("chid"));
    let Ok(coid) = connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0) else {
        return; // (Its server was killed before it connected.)
    };
    let until = Instant::now() + WITHIN;
    let mut told = false;
    while Instant::now() < until {
        timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(LONG_NS),
        )
        .expect("arm");
        let mut r = [0u8; 2];
        if msg_send(coid, b"x", &mut r).is_err() {
            return; // (Its server was killed: it leaves quietly.)
        }
        if !told {
            tell_parent("hammering");
            told = true;
        }
    }
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
        "holder" => holder(),
        "sender" => sender(&arg),
        "reaped-client-server" => reaped_client_server(),
        "joiner" => joiner(),
        "echo-loop" => echo_loop(),
        "hammer" => hammer(&arg),
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_server_killed_while_its_client_waits_for_the_reply_releases_the_client_with_esrch() {
    let dir = TempDir::new("sup-kill-server");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let server = spawn("holder", "", &socket);
    let target = ready(&server);
    let client = spawn("sender", &target, &socket);
    assert!(client.line(WITHIN).starts_with("sending as "));
    assert_eq!(server.line(WITHIN), "holding");
    let started = Instant::now();
    assert!(!server.kill().success());
    // The supervisor sees the server's end and tears its process down: the client, REPLY-
    // blocked on it, leaves with ESRCH, long before its 10 s timeout.
    assert_eq!(client.line(WITHIN), "send Err(ESRCH)");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(client.wait(WITHIN).success());
}

#[test]
fn a_client_killed_while_its_server_holds_its_message_is_reaped_with_a_disconnect_pulse() {
    let dir = TempDir::new("sup-kill-client");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let server = spawn("reaped-client-server", "", &socket);
    let target = ready(&server);
    let client = spawn("sender", &target, &socket);
    assert!(client.line(WITHIN).starts_with("sending as "));
    assert_eq!(server.line(WITHIN), "received");
    assert!(!client.kill().success());
    // The server's channel has _NTO_CHF_DISCONNECT: the reaped client's connection goes with
    // a disconnect pulse, and the reply to a client that is gone is ESRCH.
    assert_eq!(
        server.line(WITHIN),
        "pulse Ok(0) code-is-disconnect true reply Err(ESRCH)"
    );
    assert!(server.wait(WITHIN).success());
}

/// Kills the supervisor with SIGKILL, as a user or a crash would (it removes nothing).
fn kill_supervisor(sup: &mut Sup) {
    let _ = sup.0.kill();
    let _ = sup.0.wait();
}

#[test]
fn after_the_supervisor_is_killed_a_server_killed_releases_its_client_with_esrch() {
    let dir = TempDir::new("sup-dead-server");
    let socket = socket_in(&dir);
    let mut sup = Sup::start(&socket, &["--stay"]);
    let server = spawn("holder", "", &socket);
    let target = ready(&server);
    let client = spawn("sender", &target, &socket);
    assert!(client.line(WITHIN).starts_with("sending as "));
    assert_eq!(server.line(WITHIN), "holding");
    kill_supervisor(&mut sup);
    let started = Instant::now();
    assert!(!server.kill().success());
    // No supervisor reaps the server now: the client's program does, having seen its
    // supervisor die, within a look or two (200 ms each), long before its 10 s timeout.
    assert_eq!(client.line(WITHIN), "send Err(ESRCH)");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(client.wait(WITHIN).success());
}

#[test]
fn after_the_supervisor_is_killed_a_client_killed_gives_its_server_a_disconnect_pulse() {
    let dir = TempDir::new("sup-dead-client");
    let socket = socket_in(&dir);
    let mut sup = Sup::start(&socket, &["--stay"]);
    let server = spawn("reaped-client-server", "", &socket);
    let target = ready(&server);
    let client = spawn("sender", &target, &socket);
    assert!(client.line(WITHIN).starts_with("sending as "));
    assert_eq!(server.line(WITHIN), "received");
    kill_supervisor(&mut sup);
    assert!(!client.kill().success());
    assert_eq!(
        server.line(WITHIN),
        "pulse Ok(0) code-is-disconnect true reply Err(ESRCH)"
    );
    assert!(server.wait(WITHIN).success());
}

#[test]
fn a_program_starts_the_supervisor_when_none_runs_and_it_ends_after_the_last_program() {
    let dir = TempDir::new("sup-auto");
    let socket = socket_in(&dir);
    assert!(!socket.exists());
    let p = spawn("joiner", "", &socket);
    let line = p.line(WITHIN);
    assert_eq!(line, format!("pid Ok({})", p.pid()));
    assert!(socket.exists(), "the program started a supervisor");
    assert!(p.wait(WITHIN).success());
    // Its linger (2 s) after the last program, the supervisor ends and removes its socket.
    wait_until("the supervisor ends", || !socket.exists());
}

#[test]
fn a_second_supervisor_for_the_same_kernel_refuses_to_start() {
    let dir = TempDir::new("sup-twice");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let st = Command::new(BIN)
        .arg("--kernel")
        .arg(&socket)
        .stderr(Stdio::null())
        .status()
        .expect("running procnto-sim");
    assert_eq!(st.code(), Some(1));
    assert!(socket.exists(), "the first one still serves");
}

/// Runs procnto-sim with `args` (bounded: killed after `WITHIN`): its exit code and stderr.
fn supervisor_run(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running procnto-sim");
    let until = std::time::Instant::now() + WITHIN;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if std::time::Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("procnto-sim {args:?} did not end within {WITHIN:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut err = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err);
    (status.code(), err)
}

/// `--kernel` naming something that is not a socket (a memory-file kernel's path given by
/// mistake, any file, a directory) is refused with status 1 and a message saying so, and the
/// file is left as it was: only a stale socket is ever replaced.
#[test]
fn a_supervisor_refuses_a_path_that_is_not_a_socket_and_leaves_it_alone() {
    let dir = TempDir::new("sup-not-socket");
    let file = dir.join("my-kernel");
    std::fs::write(&file, b"precious").unwrap();
    let sub = dir.join("a-dir");
    std::fs::create_dir(&sub).unwrap();
    for path in [&file, &sub] {
        let (code, err) = supervisor_run(&["--kernel".as_ref(), path.as_os_str()]);
        assert_eq!(code, Some(1), "{path:?}: {err}");
        assert!(
            err.contains("other than a socket") || err.contains("Is a directory"),
            "{path:?}: {err}"
        );
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");
    assert!(sub.is_dir());
}

/// A socket nobody answers (a killed supervisor's) is replaced, with a warning that programs of
/// the old kernel cannot be joined (deviations.md, "A supervisor that dies").
#[test]
fn a_stale_socket_is_replaced_with_a_warning() {
    let dir = TempDir::new("sup-stale");
    let socket = socket_in(&dir);
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists(), "a socket file nobody answers");
    let (code, err) = supervisor_run(&[
        "--kernel".as_ref(),
        socket.as_os_str(),
        "--linger".as_ref(),
        "0".as_ref(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("replaced a socket left by a supervisor"),
        "{err}"
    );
    assert!(!socket.exists(), "removed when it ended");
}

/// A kernel whose socket path would not fit a Unix socket's address is refused with a message
/// that says so, by the supervisor (status 1) and by a program joining it (ENAMETOOLONG).
#[test]
fn a_kernel_name_too_long_for_a_socket_is_refused_with_a_message() {
    let long = "k".repeat(300);
    let (code, err) = supervisor_run(&["--kernel".as_ref(), long.as_ref()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("107 bytes"), "{err}");
    let dir = TempDir::new("sup-long");
    let socket = dir.join(&format!("{}.sock", "s".repeat(120)));
    let p = spawn("joiner", "", &socket);
    assert_eq!(p.line(WITHIN), "pid Err(ENAMETOOLONG)");
    assert!(p.wait(WITHIN).success());
    assert!(!socket.exists());
}

/// A `QNXSIM_KERNEL` that is not UTF-8 is refused by both tools (status 1, a message), not
/// taken for unset (which would serve or show the "default" kernel instead).
#[test]
fn a_kernel_variable_that_is_not_utf8_is_refused() {
    use std::os::unix::ffi::OsStrExt;
    for bin in [BIN, PIDIN] {
        let out = Command::new(bin)
            .env("QNXSIM_KERNEL", std::ffi::OsStr::from_bytes(b"k\xff"))
            .args(["--linger", "0"].iter().filter(|_| bin == BIN))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("running the tool");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bin}: {err}");
        assert!(err.contains("not UTF-8"), "{bin}: {err}");
    }
}

#[test]
fn bad_options_are_refused_with_status_2() {
    for args in [
        &["--linger", "-1"][..],
        &["--linger", "x"],
        &["--linger", "100000"],
        &["--nonsense"],
    ] {
        let st = Command::new(BIN)
            .args(args)
            .stderr(Stdio::null())
            .status()
            .expect("running procnto-sim");
        assert_eq!(st.code(), Some(2), "{args:?}");
    }
}

#[test]
fn pidin_shows_a_running_kernels_blocked_threads_and_channels() {
    let dir = TempDir::new("pidin");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let server = spawn("holder", "", &socket);
    let target = ready(&server);
    let (spid, chid) = target.split_once(' ').expect("pid chid");
    let client = spawn("sender", &target, &socket);
    assert!(client.line(WITHIN).starts_with("sending as "));
    assert_eq!(server.line(WITHIN), "holding");
    let out = Command::new(PIDIN)
        .arg("--kernel")
        .arg(&socket)
        .stderr(Stdio::inherit())
        .output()
        .expect("running pidin-sim");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let cpid = client.pid();
    // The client REPLY-blocked on the server, which holds its message.
    assert!(
        text.contains(&format!(
            "REPLY (pid {spid} chid {chid}, received by tid 1)"
        )),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with(&format!("{cpid} ")) && l.contains("REPLY")),
        "{text}"
    );
    assert!(
        text.contains(&format!("channel pid {spid} chid {chid}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("-> pid {spid} chid {chid}")),
        "{text}"
    );
    assert!(text.contains("kernel entries"), "{text}");
}

#[test]
fn pidin_without_a_kernel_says_so_and_bad_options_are_refused() {
    let dir = TempDir::new("pidin-none");
    let st = Command::new(PIDIN)
        .arg("--kernel")
        .arg(socket_in(&dir))
        .stderr(Stdio::null())
        .status()
        .expect("running pidin-sim");
    assert_eq!(
        st.code(),
        Some(1),
        "no supervisor serves it: nothing is started"
    );
    assert!(!socket_in(&dir).exists());
    for args in [
        &["--interval", "0"][..],
        &["--watch", "--interval", "x"],
        &["--bogus"],
    ] {
        let st = Command::new(PIDIN)
            .args(args)
            .stderr(Stdio::null())
            .status()
            .expect("running pidin-sim");
        assert_eq!(st.code(), Some(2), "{args:?}");
    }
}

/// Fault injection: clients are killed with SIGKILL at random moments while each of their
/// kernel calls holds the lock for 2 ms after changing the tables (`QNXSIM_FAULT_HOLD_US`), so
/// most kills land inside a call, under the lock. Each time the supervisor undoes the call,
/// releases the lock and reaps the client; the server and the kernel go on: no lock left held,
/// no process, thread or connection of a dead client left, and a new client is served.
#[test]
fn clients_killed_inside_kernel_calls_are_undone_and_reaped_and_the_kernel_goes_on() {
    const KILLS: usize = 40;
    let dir = TempDir::new("sup-faults");
    let socket = socket_in(&dir);
    let log = dir.join("supervisor.log");
    let log_file = std::fs::File::create(&log).expect("the supervisor's log");
    let child = Command::new(BIN)
        .arg("--kernel")
        .arg(&socket)
        .arg("--stay")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("starting procnto-sim");
    let _sup = Sup(child);
    wait_until("the supervisor's socket", || socket.exists());
    let k = watch(&socket);
    let server = spawn("echo-loop", "", &socket);
    let target = ready(&server);
    let server_pid: i32 = target.split(' ').next().unwrap().parse().unwrap();
    let env = env(&socket);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("QNXSIM_FAULT_HOLD_US", "2000"));
    let mut seed = 0x9e37_79b9_u64 ^ u64::from(std::process::id());
    for _ in 0..KILLS {
        let c = Child::spawn_with_env("hammer", &target, &env);
        assert_eq!(c.line(WITHIN), "hammering");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_micros(seed % 15_000));
        let pid = c.pid();
        assert!(!c.kill().success());
        // The supervisor recovers the lock if the client held it, then reaps the client.
        wait_until("the dead client's lock released", || {
            k.lock_owner() != Some(pid)
        });
        wait_until("the dead client reaped", || {
            !k.snapshot().processes.iter().any(|p| p.pid == pid)
        });
    }
    // Nothing of the dead clients is left: the server's process and thread, no connection.
    let snap = k.snapshot();
    assert_eq!(
        snap.processes.iter().map(|p| p.pid).collect::<Vec<_>>(),
        vec![server_pid],
        "{snap}"
    );
    assert_eq!(k.pool_usage().connections.live, 0, "{snap}");
    assert_eq!(snap.threads.len(), 1, "{snap}");
    // The server still serves a new client.
    let client = spawn("sender", &target, &socket);
    assert!(client.line(WITHIN).starts_with("sending as "));
    assert_eq!(client.line(WITHIN), "send Ok(0)");
    assert!(client.wait(WITHIN).success());
    // Most kills landed inside a call: the supervisor undid them.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let undone = text.matches("its call undone").count();
    assert!(
        undone >= 1,
        "no kill landed under the lock in {KILLS}: {text}"
    );
    assert!(!text.contains("too large to undo"), "{text}");
    eprintln!("{undone} of {KILLS} kills landed inside a kernel call, under the lock");
    drop(server);
}

/// A stress test across programs: three servers, up to ten clients, 200 rounds
/// (`QNXSIM_STRESS_SERVERS`, `QNXSIM_STRESS_CLIENTS` and `QNXSIM_STRESS_ROUNDS` for a soak),
/// started and killed with SIGKILL at random (clients mostly, servers now and then, some clients holding the lock 1 ms
/// after each call's changes so that kills land inside calls too). After every kill the
/// supervisor releases the lock and reaps the program; at the end nothing of the dead is left
/// and every server still serves.
#[test]
fn several_servers_many_clients_and_random_kills_leave_a_consistent_kernel() {
    let knob = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(default)
    };
    let servers_n = knob("QNXSIM_STRESS_SERVERS", 3);
    let max_clients = knob("QNXSIM_STRESS_CLIENTS", 10);
    let rounds = knob("QNXSIM_STRESS_ROUNDS", 200);
    let dir = TempDir::new("sup-stress");
    let socket = socket_in(&dir);
    let log = dir.join("supervisor.log");
    let child = Command::new(BIN)
        .arg("--kernel")
        .arg(&socket)
        .arg("--stay")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("the supervisor's log"))
        .spawn()
        .expect("starting procnto-sim");
    let _sup = Sup(child);
    wait_until("the supervisor's socket", || socket.exists());
    let k = watch(&socket);
    let show_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let base = env(&socket);
    let base: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut faulty = base.clone();
    faulty.push(("QNXSIM_FAULT_HOLD_US", "1000"));
    let start_server = || {
        let s = spawn("echo-loop", "", &socket);
        let t = ready(&s);
        (s, t)
    };
    let mut servers: Vec<_> = (0..servers_n).map(|_| start_server()).collect();
    let mut clients: Vec<Child> = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64 ^ u64::from(std::process::id());
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let reaped = |pid: i32| {
        let until = Instant::now() + WITHIN;
        while k.lock_owner() == Some(pid) {
            assert!(
                Instant::now() < until,
                "the lock stays held by killed pid {pid}; supervisor log:\n{}",
                show_log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        wait_until("a killed program reaped", || {
            !k.snapshot().processes.iter().any(|p| p.pid == pid)
        });
    };
    let mut kills = 0;
    for _ in 0..rounds {
        match next() % 10 {
            0 => {
                // Kill a server and start another in its place; its clients leave on their own.
                let i = (next() % servers_n as u64) as usize;
                let (old, _) = std::mem::replace(&mut servers[i], start_server());
                let pid = old.pid();
                assert!(!old.kill().success());
                reaped(pid);
                kills += 1;
            }
            1..=4 if clients.len() < max_clients => {
                let target = servers[(next() % servers_n as u64) as usize].1.clone();
                let env = if next() % 2 == 0 { &faulty } else { &base };
                clients.push(Child::spawn_with_env("hammer", &target, env));
            }
            _ if !clients.is_empty() => {
                let c = clients.swap_remove((next() % clients.len() as u64) as usize);
                std::thread::sleep(Duration::from_micros(next() % 5_000));
                let pid = c.pid();
                let _ = c.kill();
                reaped(pid);
                kills += 1;
            }
            _ => {}
        }
    }
    for c in clients.drain(..) {
        let pid = c.pid();
        let _ = c.kill();
        reaped(pid);
        kills += 1;
    }
    let snap = k.snapshot();
    let mut live: Vec<i32> = snap.processes.iter().map(|p| p.pid).collect();
    live.sort_unstable();
    let mut want: Vec<i32> = servers.iter().map(|(s, _)| s.pid()).collect();
    want.sort_unstable();
    assert_eq!(live, want, "only the servers are left: {snap}");
    assert_eq!(k.pool_usage().connections.live, 0, "{snap}");
    assert_eq!(k.pool_usage().threads.live, servers_n as u32, "{snap}");
    for (_, target) in &servers {
        let c = spawn("sender", target, &socket);
        assert!(c.line(WITHIN).starts_with("sending as "));
        let l = c.line(WITHIN);
        assert_eq!(
            l,
            "send Ok(0)",
            "server {target}: {}\nsupervisor log:\n{}",
            k.snapshot(),
            show_log()
        );
        assert!(c.wait(WITHIN).success());
    }
    eprintln!("{kills} programs killed and reaped");
    assert!(kills >= rounds / 4, "{kills}");
}
