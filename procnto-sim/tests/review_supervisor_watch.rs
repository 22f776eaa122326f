//! Review of a program's watch on its supervisor (`Kernel::watch_supervisor`,
//! kernel-sim/src/kernel/supervisor_watch.rs) and of userlib's retried admission
//! (`attach_supervised`, userlib/src/current.rs).
//!
//! * A forked child inherits the pipe whose write end ends the parent's watch: the parent's
//!   watch must still end when the parent drops its kernel (before, its thread and its two
//!   descriptors stayed as long as the child lived), and the child must still be able to join
//!   the kernel afresh (its inherited kernel is its parent's: ESRCH).
//! * A program that attaches and drops kernels in a loop leaves no watch behind.
//! * `exec` leaves the new image none of the watch's descriptors (pidfd, pipe, memfd).
//! * A supervisor stopped (SIGSTOP), not dead, changes nothing; killed, it is seen to die.
//! * A supervisor that dies (or fails) between accepting a program and answering it closes
//!   the connection without a word, as a refusal does: the program must not take that for a
//!   refusal (EACCES, not retried) when the supervisor is of its own user (which never refuses
//!   it): it is an admission cut short, tried again (before, the program failed with EACCES).
//!   A real refusal (a supervisor of another user) is still EACCES, at once, not retried.
//! * A supervisor ending (its linger) with a program still in its listen queue: the program
//!   is reset, tries again, starts a new supervisor and joins it, and does not take the new
//!   one for dead.
//! * A supervisor program that never serves is started a bounded number of times, and the
//!   program fails within a bound.
//!
//! The programs are this test binary re-run in roles (`child_entry`); each kernel lives in a
//! temporary directory of its own; every process is bounded in time and killed on every exit
//! path (children by their guards, supervisors a program started by [`Leftovers`]).

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::{socket_in, spawn, spawn_with, wait_until, Sup, BIN, WITHIN};
use procs::{child_role, child_setup, lines_from_parent, tell_parent, Child, TempDir};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ================================================================== the children's side

/// How many supervisor watches (threads named `qnx-sim-supwatch`, as `comm` truncates it)
/// this program runs.
fn watchers() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("qnx-sim-supwat"))
        })
        .count()
}

/// This program's descriptors and what they name (the listing's own left out).
fn fds() -> Vec<(i32, String)> {
    let mut v: Vec<(i32, String)> = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.parse::<i32>().ok()?;
            let t = std::fs::read_link(e.path()).ok()?;
            Some((n, t.display().to_string()))
        })
        .filter(|(_, t)| !t.starts_with("/proc/"))
        .collect();
    v.sort();
    v
}

/// "pidfds P memfds M pipes Q": descriptors of the kinds a watch and a kernel use (pipes
/// other than the standard ones).
fn fd_kinds() -> String {
    let all = fds();
    let pidfds = all
        .iter()
        .filter(|(_, t)| t == "anon_inode:[pidfd]")
        .count();
    let memfds = all
        .iter()
        .filter(|(_, t)| t.starts_with("/memfd:qnxsim"))
        .count();
    let pipes = all
        .iter()
        .filter(|(n, t)| *n > 2 && t.starts_with("pipe:"))
        .count();
    format!("pidfds {pidfds} memfds {memfds} pipes {pipes}")
}

/// Joins the supervised kernel at `socket` as a tool does (`kernel_sim::supervisor::attach`),
/// waiting for its supervisor to answer.
fn attach(socket: &str) -> kernel_sim::Kernel {
    let until = Instant::now() + WITHIN;
    loop {
        match kernel_sim::supervisor::attach(Path::new(socket)) {
            Ok(k) => return k,
            Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("cannot attach {socket}: {e}"),
        }
    }
}

/// Waits up to 5 s until `n` watches run (a new thread takes its name as it starts): how
/// many run.
fn watchers_started(n: usize) -> usize {
    let until = Instant::now() + Duration::from_secs(5);
    while watchers() < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    watchers()
}

/// Waits up to 5 s until no watch runs: how many still run.
fn watchers_after_drop() -> usize {
    let until = Instant::now() + Duration::from_secs(5);
    while watchers() > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    watchers()
}

/// Joins, forks a child that stays (at most 10 s), drops its kernel, and says whether its
/// watch ended. The child says what its inherited kernel is and whether it can join afresh.
fn fork_dropper(socket: &str) {
    let base = fd_kinds();
    let k = attach(socket);
    let before = watchers_started(1);
    // SAFETY: fork; the child runs only what a forked child of this program may (it is the
    // design's case: userlib's child joins afresh), and ends with `_exit`.
    let child = unsafe { libc::fork() };
    if child == 0 {
        let away = k.forked_away();
        let inherited = k.process_attach_self().map(drop);
        let fresh = kernel_sim::supervisor::attach(Path::new(socket))
            .and_then(|k2| k2.process_attach_self().map(|_| k2));
        tell_parent(&format!(
            "child away {away} inherited {inherited:?} fresh {:?} watchers {}",
            fresh.as_ref().map(drop),
            watchers_started(1)
        ));
        std::thread::sleep(Duration::from_secs(10));
        // SAFETY: ends the forked child at once.
        unsafe { libc::_exit(0) };
    }
    assert!(child > 0, "fork: {}", std::io::Error::last_os_error());
    std::thread::sleep(Duration::from_millis(300));
    drop(k);
    let left = watchers_after_drop();
    tell_parent(&format!(
        "parent watchers {before} then {left} ({base}, then {})",
        fd_kinds()
    ));
    // SAFETY: kill and waitpid of our own child.
    unsafe {
        libc::kill(child, libc::SIGKILL);
        libc::waitpid(child, std::ptr::null_mut(), 0);
    }
    tell_parent("done");
}

/// Attaches and drops the kernel `arg` times, then says how many watches and descriptors are
/// left.
fn attach_loop(socket: &str, times: usize) {
    let base = (watchers(), fds());
    for _ in 0..times {
        drop(attach(socket));
    }
    // (A watch's thread may not have run yet, unnamed, holding its descriptors: it ends
    // when it does.)
    let until = Instant::now() + Duration::from_secs(5);
    while fds() != base.1 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left = watchers_after_drop();
    let now = fds();
    let new: Vec<&(i32, String)> = now.iter().filter(|f| !base.1.contains(f)).collect();
    tell_parent(&format!(
        "watchers {} then {left}, fds {} then {} {new:?}",
        base.0,
        base.1.len(),
        now.len()
    ));
}

/// Joins (userlib), then execs this binary in role `fds` (which lists its descriptors);
/// `join` false: execs without joining (the baseline).
fn exec_after(join: bool) {
    use std::os::unix::process::CommandExt;
    if join {
        let pid = userlib::qnx::getpid().expect("getpid");
        let k = userlib::current::default_kernel().expect("the default kernel");
        tell_parent(&format!(
            "joined {pid} watchers {} {}",
            watchers_started(1),
            fd_kinds()
        ));
        // (userlib keeps it: exec replaces the image with the watch running.)
        let _ = k;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let e = std::process::Command::new(exe)
        .args(["child_entry", "--exact", "--ignored", "--nocapture"])
        .env("QNXSIM_TEST_ROLE", "fds")
        .exec();
    tell_parent(&format!("exec failed {e}"));
}

/// Joins (userlib), says "ready PID", then answers each "status" from the parent with
/// whether its supervisor died and how many watches it runs.
fn status_prober() {
    let said = lines_from_parent();
    let pid = userlib::qnx::getpid().expect("getpid");
    tell_parent(&format!("ready {pid}"));
    while let Ok(line) = said.recv_timeout(WITHIN * 3) {
        if line != "status" {
            return;
        }
        let k = userlib::current::default_kernel().expect("the default kernel");
        let died = k.supervisor_died();
        let n = if died {
            watchers()
        } else {
            watchers_started(1)
        };
        tell_parent(&format!("died {died} watchers {n}"));
    }
}

/// Joins (userlib): says "joined PID" with whether its supervisor died, or the error.
fn joiner() {
    let t0 = Instant::now();
    match userlib::qnx::getpid() {
        Ok(pid) => {
            let died = userlib::current::default_kernel().map(|k| k.supervisor_died());
            tell_parent(&format!("joined {pid} died {died:?}"));
        }
        Err(e) => tell_parent(&format!(
            "error {e:?} after {} ms",
            t0.elapsed().as_millis()
        )),
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
        "fork-dropper" => fork_dropper(&arg),
        "attach-loop" => attach_loop(&arg, 100),
        "exec-join" => exec_after(true),
        "exec-nojoin" => exec_after(false),
        "fds" => tell_parent(&format!("after exec {}", fd_kinds())),
        "status" => status_prober(),
        "joiner" => joiner(),
        other => panic!("unknown role {other}"),
    }
}

// ================================================================== the parent's side

/// A process's state letter (`/proc/PID/stat`), if it exists.
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The supervisors of the kernel at `socket` that run: `... --kernel SOCKET ...` processes
/// whose first argument ends in `procnto-sim` (or is the counting wrapper of a test).
fn supervisors_of(socket: &Path) -> Vec<i32> {
    let s = socket.display().to_string();
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && proc_state(pid).is_some_and(|st| st != 'Z' && st != 'X'))
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|b| {
                let args: Vec<&[u8]> = b.split(|&c| c == 0).collect();
                args.windows(2)
                    .any(|w| w[0] == b"--kernel" && w[1] == s.as_bytes())
            })
        })
        .collect()
}

/// On drop, kills (by pid) every supervisor of the kernel at its socket still running (those
/// programs started: `--daemon`, no children of the test).
struct Leftovers(PathBuf);

impl Drop for Leftovers {
    fn drop(&mut self) {
        for pid in supervisors_of(&self.0) {
            // SAFETY: kill with integer arguments; a supervisor of this test's own socket.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill with integer arguments; a process this test started.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

/// The lines `c` says within `within`, until one starts with `last`.
fn lines_until(c: &Child, last: &str, within: Duration) -> Vec<String> {
    let until = Instant::now() + within;
    let mut said = Vec::new();
    loop {
        let l = c
            .line_within(until.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|| panic!("no {last:?} within {within:?}; said {said:?}"));
        let end = l.starts_with(last);
        said.push(l);
        if end {
            return said;
        }
    }
}

// ------------------------------------------------------------------ fork

/// The parent's watch ends when it drops its kernel though a forked child still holds a copy
/// of the pipe's write end; the child's inherited kernel is its parent's (ESRCH), and it
/// joins afresh with a watch of its own.
#[test]
fn a_forked_child_does_not_keep_its_parent_s_supervisor_watch_running() {
    let dir = TempDir::new("supwatch-fork");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let p = spawn("fork-dropper", &socket.display().to_string(), &socket);
    let mut said = lines_until(&p, "done", WITHIN);
    // The child's line may come before the parent's or after.
    while !said.iter().any(|l| l.starts_with("child ")) {
        said.push(p.line(WITHIN));
    }
    let child = said.iter().find(|l| l.starts_with("child ")).unwrap();
    assert_eq!(
        child, "child away true inherited Err(ESRCH) fresh Ok(()) watchers 1",
        "the forked child: {said:?}"
    );
    let parent = said.iter().find(|l| l.starts_with("parent ")).unwrap();
    assert!(
        parent.starts_with("parent watchers 1 then 0 "),
        "the parent's watch still runs after it dropped its kernel, while its forked child \
         lives: {parent:?}"
    );
    // (What the watch held goes with it: the pidfd and the pipe's read end.)
    let (base, after) = parent
        .split_once("(")
        .and_then(|(_, r)| r.trim_end_matches(')').split_once(", then "))
        .expect("the parent's descriptors");
    assert_eq!(after, base, "descriptors left: {parent}");
    assert!(p.wait(WITHIN).success());
}

// ------------------------------------------------------------------ attach / drop loop

#[test]
fn attaching_and_dropping_kernels_in_a_loop_leaves_no_watch_or_descriptor_behind() {
    let dir = TempDir::new("supwatch-loop");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let p = spawn("attach-loop", &socket.display().to_string(), &socket);
    let l = p.line(WITHIN * 3);
    let n: Vec<usize> = l
        .split_once(" [")
        .map_or(l.as_str(), |(counts, _)| counts)
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(n.len(), 4, "{l}");
    assert_eq!((n[0], n[1]), (0, 0), "watches left: {l}");
    assert_eq!(n[2], n[3], "descriptors left: {l}");
    assert!(p.wait(WITHIN).success());
}

// ------------------------------------------------------------------ exec

#[test]
fn exec_leaves_the_new_image_none_of_the_watch_s_descriptors() {
    let dir = TempDir::new("supwatch-exec");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &["--stay"]);
    let base = spawn("exec-nojoin", "", &socket);
    let baseline = base.line(WITHIN);
    assert!(base.wait(WITHIN).success());
    let p = spawn("exec-join", "", &socket);
    let joined = p.line(WITHIN);
    assert!(
        joined.contains(" watchers 1 pidfds 1 "),
        "joined: a watch, and its pidfd: {joined}"
    );
    let after = p.line(WITHIN);
    assert_eq!(after, baseline, "after exec (joined first: {joined})");
    assert!(p.wait(WITHIN).success());
}

// ------------------------------------------------------------------ a stopped supervisor

#[test]
fn a_stopped_supervisor_is_not_taken_for_dead_a_killed_one_is() {
    let dir = TempDir::new("supwatch-stop");
    let socket = socket_in(&dir);
    let mut sup = Sup::start(&socket, &["--stay"]);
    let sup_pid = sup.0.id() as i32;
    let env = common::env(&socket);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = Child::spawn_talking("status", "", &env);
    assert!(p.line(WITHIN).starts_with("ready "));
    p.say("status");
    assert_eq!(p.line(WITHIN), "died false watchers 1");
    signal(sup_pid, libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(700));
    p.say("status");
    let stopped = p.line(WITHIN);
    signal(sup_pid, libc::SIGCONT);
    assert_eq!(stopped, "died false watchers 1", "while stopped");
    let _ = sup.0.kill();
    let _ = sup.0.wait();
    wait_until("the program sees its supervisor die", || {
        p.say("status");
        p.line(WITHIN) == "died true watchers 0"
    });
}

// ------------------------------------------------------------------ admissions cut short

/// A Unix socket listening at `socket`, standing in for a supervisor.
fn fake_supervisor(socket: &Path) -> std::os::unix::net::UnixListener {
    let l = std::os::unix::net::UnixListener::bind(socket).expect("binding the socket");
    l.set_nonblocking(true).expect("nonblocking");
    l
}

/// Whether a connection waits in `l`'s queue (within `within`).
fn pending(l: &std::os::unix::net::UnixListener, within: Duration) -> bool {
    use std::os::fd::AsFd;
    let until = Instant::now() + within;
    while Instant::now() < until {
        let mut fds = [nix::poll::PollFd::new(
            l.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        if nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(10u16)).unwrap_or(0) > 0 {
            return true;
        }
    }
    false
}

/// A supervisor of the program's own user that dies (here: closes) after accepting it and
/// before answering: the program tries again, starts a new supervisor over the dead one's
/// socket, and joins. (It failed with EACCES, taken for a refusal.)
#[test]
fn a_supervisor_dying_between_accepting_and_answering_a_program_is_not_a_refusal() {
    let dir = TempDir::new("supwatch-cut");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    let fake = fake_supervisor(&socket);
    let p = spawn("joiner", "", &socket);
    assert!(pending(&fake, WITHIN), "the program never connected");
    let (accepted, _) = {
        let until = Instant::now() + WITHIN;
        loop {
            match fake.accept() {
                Ok(a) => break a,
                Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => panic!("accept: {e}"),
            }
        }
    };
    // Killed: its connections close, its socket stays.
    drop(accepted);
    drop(fake);
    let l = p.line(WITHIN);
    assert!(
        l.starts_with(&format!("joined {} died Ok(false)", p.pid())),
        "a supervisor of the program's user closing without a word is not a refusal: {l}"
    );
    assert_eq!(supervisors_of(&socket).len(), 1, "the new supervisor");
    assert!(p.wait(WITHIN).success());
}

/// A supervisor that ends (its linger) with a program in its listen queue: the program is
/// reset, tries again, starts a new supervisor and joins it, which it does not take for dead.
#[test]
fn a_program_queued_as_its_supervisor_ends_joins_a_new_one_not_taken_for_dead() {
    let dir = TempDir::new("supwatch-linger");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    let fake = fake_supervisor(&socket);
    let p = spawn("joiner", "", &socket);
    assert!(pending(&fake, WITHIN), "the program never connected");
    // Its normal end: the listener closes with the program queued, the socket removed.
    drop(fake);
    let _ = std::fs::remove_file(&socket);
    let l = p.line(WITHIN);
    assert!(
        l.starts_with(&format!("joined {} died Ok(false)", p.pid())),
        "{l}"
    );
    assert_eq!(supervisors_of(&socket).len(), 1, "the new supervisor");
    assert!(p.wait(WITHIN).success());
}

/// A real refusal (a supervisor of another user) is EACCES at once: not tried again, no
/// supervisor started. Needs root (to run the supervisor as another user).
#[test]
fn a_refusal_by_a_supervisor_of_another_user_is_eacces_at_once() {
    use std::os::unix::process::CommandExt;
    if nix::unistd::geteuid().as_raw() != 0 {
        println!("skipped: running a supervisor as another user needs root");
        return;
    }
    const NOBODY: u32 = 65534;
    let dir = TempDir::new("supwatch-refused");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    std::os::unix::fs::chown(dir.join(""), Some(NOBODY), Some(NOBODY)).expect("chown");
    let sup = std::process::Command::new(BIN)
        .arg("--kernel")
        .arg(&socket)
        .arg("--stay")
        .uid(NOBODY)
        .gid(NOBODY)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let sup = match sup {
        Ok(sup) => sup,
        // (The build lives where that user may not go: a checkout in a private directory.)
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            println!("skipped: user nobody cannot run {BIN}: {e}");
            return;
        }
        Err(e) => panic!("starting procnto-sim as nobody: {e}"),
    };
    let _sup = Sup(sup);
    wait_until("the supervisor's socket", || socket.exists());
    std::thread::sleep(Duration::from_millis(200));
    let p = spawn("joiner", "", &socket);
    let l = p.line(WITHIN);
    let ms: u64 = l
        .strip_prefix("error EACCES after ")
        .and_then(|r| r.strip_suffix(" ms"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("refused: {l}"));
    assert!(ms < 3000, "refused after {ms} ms");
    assert_eq!(
        supervisors_of(&socket).len(),
        1,
        "a refusal starts no supervisor"
    );
    assert!(p.wait(WITHIN).success());
}

/// A supervisor program that never serves, with a dead supervisor's socket in place: the
/// program fails within a bound, having started it a bounded number of times.
#[test]
fn a_supervisor_program_that_never_serves_is_tried_a_bounded_number_of_times() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("supwatch-noserve");
    let socket = socket_in(&dir);
    let _left = Leftovers(socket.clone());
    drop(fake_supervisor(&socket)); // (A dead supervisor's socket.)
    let count = dir.join("starts");
    let script = dir.join("never-serves");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho x >> '{}'\nexit 1\n", count.display()),
    )
    .expect("the script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let script = script.display().to_string();
    let t0 = Instant::now();
    let p = spawn_with(
        "joiner",
        "",
        &socket,
        &[(userlib::current::SUPERVISOR_ENV, &script)],
    );
    let l = p.line(WITHIN);
    let took = t0.elapsed();
    let starts = std::fs::read_to_string(&count)
        .unwrap_or_default()
        .lines()
        .count();
    assert!(
        l.starts_with("error ECONNREFUSED") || l.starts_with("error Errno(111)"),
        "{l}"
    );
    assert!(
        (1..=4).contains(&starts),
        "the supervisor program was started {starts} times"
    );
    assert!(took < Duration::from_secs(10), "failed after {took:?}");
    eprintln!("never serving: {l}; started {starts} times, {took:?}");
    assert!(p.wait(WITHIN).success());
}
