//! A review of the supervisor's reaping when Linux reuses a dead program's pid: a program is
//! killed, Linux gives its pid to a new program, which the supervisor admits and which joins
//! the kernel (its attach tears down what the dead program left: `forget_earlier_images`)
//! before the supervisor gets to reap the dead one. That late reaping must tear down only the
//! dead program's images: the new program's process and channel stay, and so does its watch,
//! which reaps it when it ends in turn. (The supervisor once reaped by pid: it tore the new
//! program's process down, and dropped its watch.)
//!
//! A real pid reuse is forced in a new pid namespace (and a mount namespace with its own
//! `/proc`, so that the supervisor's `/proc` looks see the namespace's pids), where
//! `/proc/sys/kernel/ns_last_pid` picks the next pid: this needs root (CAP_SYS_ADMIN), and the
//! test says why and passes when it cannot have them. The supervisor runs in the namespace's
//! first process (its init: when it ends, Linux kills every process of the namespace), in that
//! process, stepped by the test, so that the order of events is the test's:
//!
//! 1. programs A (a server), C and D join; D parks in its first kernel call holding the kernel
//!    lock (`QNXSIM_FAULT=locked:1:...`);
//! 2. C is killed: the supervisor's step reaping it waits for the lock D holds, and admits
//!    programs meanwhile (`Kernel::while_waiting`);
//! 3. meanwhile A is killed, and B starts with A's pid; the supervisor admits it, and B waits
//!    for the lock to attach its process; D is killed, the supervisor takes its hold over,
//!    finishes reaping C and ends its step, with B watched beside A's watch;
//! 4. B joins the kernel (tearing down A's process) and makes a channel;
//! 5. the next step sees A's pidfd ended and reaps A: nothing of B's goes; a client B serves
//!    then still gets its reply; B killed, its watch reaps its process.
//!
//! Every process is bounded in time and dies with its parent (`PR_SET_PDEATHSIG`; the
//! namespace's processes with its init); the socket lives in a temporary directory removed on
//! every exit path; the namespaces go with their last process.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::WITHIN;
use kernel_sim::supervisor::{Event, Supervisor};
use kernel_sim::Kernel;
use procs::{child_role, child_setup, tell_parent, Child, TempDir};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long D holds the lock at most (µs): longer than the test.
const HOLD_US: &str = "20000000";

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "ns-parent" => ns_parent(&arg),
        "ns-init" => ns_init(&arg),
        "server" => server(&arg),
        "joiner" => joiner(&arg),
        "client" => client(&arg),
        other => panic!("unknown role {other}"),
    }
}

/// Joins the supervised kernel at `socket` as a program does (admission, then its process).
fn join(socket: &str) -> (Kernel, kernel_sim::Pid) {
    let k = kernel_sim::supervisor::attach(Path::new(socket)).expect("admitted");
    tell_parent("mapped");
    let p = k.process_attach_self().expect("process_attach_self");
    (k, p)
}

/// Joins, makes a channel, tells "ready PID CHID", and answers every message with "ok".
fn server(socket: &str) {
    let (k, p) = join(socket);
    let t = k.thread_attach(p, 10).expect("thread_attach");
    let chid = t.channel_create(0).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", p.pid));
    let mut buf = [0u8; 16];
    let until = Instant::now() + WITHIN;
    while Instant::now() < until {
        t.timer_timeout(
            kernel_sim::consts::CLOCK_MONOTONIC,
            kernel_sim::consts::_NTO_TIMEOUT_RECEIVE,
            Some(1_000_000_000),
        )
        .expect("arm");
        match t.msg_receive(chid, &mut buf, None) {
            Ok(rcvid) if rcvid > 0 => {
                let _ = t.msg_reply(rcvid, 0, b"ok");
            }
            _ => {}
        }
    }
}

/// Joins, tells "ready PID", and waits to be killed.
fn joiner(socket: &str) {
    let (_k, p) = join(socket);
    tell_parent(&format!("ready {}", p.pid));
    std::thread::sleep(WITHIN);
}

/// `arg` = "SOCKET PID CHID": joins, sends to PID's channel CHID, tells what came back.
fn client(arg: &str) {
    let mut words = arg.split(' ');
    let socket = words.next().expect("socket");
    let pid: i32 = words.next().and_then(|w| w.parse().ok()).expect("pid");
    let chid: i32 = words.next().and_then(|w| w.parse().ok()).expect("chid");
    let (k, p) = join(socket);
    let t = k.thread_attach(p, 10).expect("thread_attach");
    let coid = t.connect_attach(0, pid, chid, kernel_sim::consts::_NTO_SIDE_CHANNEL, 0);
    let r = coid.and_then(|coid| {
        t.timer_timeout(
            kernel_sim::consts::CLOCK_MONOTONIC,
            kernel_sim::consts::_NTO_TIMEOUT_SEND | kernel_sim::consts::_NTO_TIMEOUT_REPLY,
            Some(5_000_000_000),
        )?;
        let mut reply = [0u8; 2];
        t.msg_send(coid, b"hi", &mut reply)?;
        Ok(reply)
    });
    tell_parent(&format!(
        "reply {:?}",
        r.map(|r| String::from_utf8_lossy(&r).into_owned())
    ));
}

/// In the test's child: makes new pid and mount namespaces for its children, starts the
/// namespace's init there (`ns_init`), and relays what it says. Says "skip WHY" if it cannot.
fn ns_parent(dir: &str) {
    // SAFETY: unshare with flags; it changes only this thread's namespaces for its children
    // (the pid namespace) and itself (the mount namespace, private to it from here).
    if unsafe { libc::unshare(libc::CLONE_NEWPID | libc::CLONE_NEWNS) } != 0 {
        tell_parent(&format!(
            "skip unshare(CLONE_NEWPID | CLONE_NEWNS): {}",
            std::io::Error::last_os_error()
        ));
        return;
    }
    // (No thread may be made from here on: Linux refuses a thread in another pid namespace
    // than its program's children. So the init is started and read without `Child`'s thread.)
    use std::io::BufRead;
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut init = std::process::Command::new(exe)
        .args(["child_entry", "--exact", "--ignored", "--nocapture"])
        .env("QNXSIM_TEST_ROLE", "ns-init")
        .env("QNXSIM_TEST_ARG", dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("starting the namespace's init");
    let out = init.stdout.take().expect("its stdout");
    for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
        if let Some(l) = line.strip_prefix(procs::LINE) {
            tell_parent(l);
        }
    }
    let st = init.wait().expect("waiting for the namespace's init");
    tell_parent(&format!("init ended {st}"));
}

/// `/proc` of this pid namespace, in this (private) mount namespace.
fn mount_proc() -> Result<(), String> {
    let fail = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    // SAFETY: mount with NUL-terminated strings (or null where the call allows it).
    unsafe {
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(fail("making the mounts private"));
        }
        if libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ) != 0
        {
            return Err(fail("mounting /proc"));
        }
    }
    Ok(())
}

/// Steps `sup` until `done` holds (at most `within`); returns the events meanwhile.
fn step_until(
    sup: &mut Supervisor,
    what: &str,
    within: Duration,
    mut done: impl FnMut(&[Event]) -> bool,
) -> Vec<Event> {
    let until = Instant::now() + within;
    let mut events = Vec::new();
    loop {
        events.extend(sup.step(Duration::from_millis(5)));
        if done(&events) {
            return events;
        }
        assert!(
            Instant::now() < until,
            "never happened: {what} (events: {events:?})"
        );
    }
}

/// Starts `role` on the kernel at `socket` and steps the supervisor until it says its first
/// line after "mapped" ("ready ..."), which it returns.
fn start(sup: &mut Supervisor, role: &str, socket: &str) -> (Child, String) {
    let c = Child::spawn(role, socket);
    let mut said = None;
    step_until(sup, role, WITHIN, |_| {
        while let Some(l) = c.try_line() {
            if l != "mapped" {
                said = Some(l);
            }
        }
        said.is_some()
    });
    (c, said.unwrap_or_default())
}

/// The namespace's init (pid 1): the supervisor, and the story of the module's comment.
fn ns_init(dir: &str) {
    if std::process::id() != 1 {
        tell_parent(&format!(
            "skip not the init of a new pid namespace (pid {})",
            std::process::id()
        ));
        return;
    }
    if let Err(why) = mount_proc() {
        tell_parent(&format!("skip {why}"));
        return;
    }
    let socket = Path::new(dir).join("k.sock");
    let mut sup = Supervisor::bind(&socket, kernel_sim::Config::default()).expect("bind");
    let k = sup.kernel().clone();
    let sock = socket.display().to_string();

    // 1. A, C and D join; D parks holding the lock.
    let (a, line) = start(&mut sup, "server", &sock);
    let x = a.pid();
    assert_eq!(
        line,
        format!("ready {x} 1"),
        "A's process has its Linux pid"
    );
    let (c, _) = start(&mut sup, "joiner", &sock);
    let d = Child::spawn_with_env(
        "joiner",
        &sock,
        &[("QNXSIM_FAULT", &format!("locked:1:{HOLD_US}"))],
    );
    let dpid = d.pid();
    let mut held_since = None;
    step_until(&mut sup, "D holding the lock", WITHIN, |_| {
        if k.lock_owner() != Some(dpid) {
            held_since = None;
            return false;
        }
        held_since.get_or_insert_with(Instant::now).elapsed() > Duration::from_millis(100)
    });

    // 2., 3. C killed; while the supervisor's step waits to reap it, A dies and B takes its
    // pid; D killed last.
    let cpid = c.pid();
    c.kill();
    let b_sock = sock.clone();
    // (B dies with the thread that starts it, `PR_SET_PDEATHSIG`: that thread lives until the
    // end of the test.)
    let (gave, b_here) = std::sync::mpsc::channel();
    let (end, ended) = std::sync::mpsc::channel::<()>();
    let meanwhile = std::thread::spawn(move || {
        // (The step's poll has seen C's end by then, and not A's.)
        std::thread::sleep(Duration::from_millis(300));
        a.kill();
        let mut b = None;
        for _ in 0..5 {
            std::fs::write("/proc/sys/kernel/ns_last_pid", format!("{}", x - 1))
                .expect("writing ns_last_pid");
            let child = Child::spawn("server", &b_sock);
            if child.pid() == x {
                b = Some(child);
                break;
            }
            child.kill();
        }
        let b = b.expect("a new program with A's pid");
        // Admitted by the waiting supervisor: it maps the kernel, then waits for the lock.
        assert_eq!(b.line(WITHIN), "mapped");
        std::thread::sleep(Duration::from_millis(100));
        d.kill();
        let _ = gave.send(b);
        let _ = ended.recv_timeout(WITHIN * 2);
    });
    let events = sup.step(Duration::from_millis(5));
    let b = b_here.recv_timeout(WITHIN).expect("the pid reused");
    tell_parent(&format!("step reaping C: {events:?}"));
    assert!(
        events.contains(&Event::Reaped {
            pid: cpid,
            processes: 1
        }),
        "C reaped: {events:?}"
    );
    assert!(
        events.contains(&Event::Admitted { pid: x }),
        "B admitted while the supervisor waited: {events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Reaped { pid, .. } if *pid == x)),
        "A not reaped yet: {events:?}"
    );

    // 4. B joins (A's process goes as it attaches) and makes its channel.
    let line = b.line(WITHIN);
    assert_eq!(
        line,
        format!("ready {x} 1"),
        "B's process and first channel"
    );

    // 5. The supervisor sees A's end: the late reaping.
    let events = step_until(&mut sup, "A reaped", WITHIN, |e| {
        e.iter()
            .any(|e| matches!(e, Event::Reaped { pid, .. } if *pid == x))
    });
    tell_parent(&format!("step reaping A: {events:?}"));
    assert!(
        events.contains(&Event::Reaped {
            pid: x,
            processes: 0
        }),
        "nothing of B's torn down with A: {events:?}"
    );
    let snap = k.snapshot();
    assert!(
        snap.processes.iter().any(|p| p.pid == x),
        "B's process stays: {:?}",
        snap.processes
    );
    assert!(
        snap.channels.iter().any(|ch| ch.pid == x && ch.chid == 1),
        "and its channel"
    );
    let (e, line) = start(&mut sup, "client", &format!("{sock} {x} 1"));
    assert_eq!(line, "reply Ok(\"ok\")", "B serves");
    drop(e);
    // B's watch stayed: its end is reaped.
    assert!(
        sup.programs() >= 1,
        "B still watched ({} programs)",
        sup.programs()
    );
    // SAFETY: kill with integer arguments.
    unsafe { libc::kill(x, libc::SIGKILL) };
    let events = step_until(&mut sup, "B reaped", Duration::from_secs(5), |e| {
        e.iter()
            .any(|e| matches!(e, Event::Reaped { pid, .. } if *pid == x))
    });
    assert!(
        events.contains(&Event::Reaped {
            pid: x,
            processes: 1
        }),
        "B's process reaped at its end: {events:?}"
    );
    let _ = end.send(());
    meanwhile.join().expect("the thread that started B");
    drop(b);
    tell_parent("pass");
}

#[test]
fn a_late_reaping_spares_the_program_that_reused_the_dead_program_s_pid() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: forcing a pid's reuse needs root (a pid namespace, ns_last_pid)");
        return;
    }
    let dir = TempDir::new("pid-reuse");
    let parent = Child::spawn("ns-parent", &dir.join("").display().to_string());
    let mut said = Vec::new();
    loop {
        let line = parent
            .line_within(WITHIN * 3)
            .unwrap_or_else(|| panic!("the namespace's init stopped talking; it said: {said:#?}"));
        if let Some(why) = line.strip_prefix("skip ") {
            println!("skipped: {why}");
            return;
        }
        if line == "pass" {
            println!("the namespace's init said: {said:#?}");
            break;
        }
        assert!(
            !line.starts_with("init ended"),
            "the namespace's init failed (its panic is on stderr); it said: {said:#?} {line}"
        );
        said.push(line);
    }
    let st = parent.wait(WITHIN);
    assert!(st.success(), "{st}");
}
