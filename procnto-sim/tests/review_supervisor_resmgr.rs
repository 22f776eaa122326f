//! Review: resource managers, names (`name_attach`/`name_open`) and fd I/O (`open`, `read`,
//! `write`, `devctl`, `close` through the C API) on a supervised kernel whose supervisor
//! (`procnto-sim`) is killed with SIGKILL, and managers, name servers and clients that die
//! after it.
//!
//! The specified behaviour (docs/design.md, "A supervisor that dies"; docs/deviations.md, "A
//! supervisor that dies", "Programs that die", "Names"): the programs a killed supervisor
//! admitted go on in its kernel and reap each other (within about 200 ms), so
//!
//! 1. a manager (with a name of its own) killed after the supervisor (or killed just before
//!    it, unreaped, or calling `exit` after it) releases its clients blocked in `read`,
//!    `devctl` and `MsgSend` on the name with ESRCH, as QNX does when a server dies, even
//!    with the blocked client the one program left to reap it; their later calls on the old
//!    fds and connections fail (EBADF or ESRCH); `close` releases the fds (returning, as QNX's
//!    libc does, the `_IO_CLOSE`'s error) and `name_close` succeeds; its path and its name
//!    are gone (`open`, `name_open`: ENOENT) and free for a new server;
//! 2. a client killed (or calling `exit`) after the supervisor, with a read held by the
//!    manager and a message held by the name server, gives the manager its unblock and
//!    disconnect handling, with the manager the one program left to reap it: every OCB of it
//!    closed through `io_close_ocb`, its held requests answered, its name connection
//!    disconnected; the manager serves on (other clients cycle open/read/write/devctl/close
//!    and name_open/MsgSend/name_close without an error), and at its end every open met its
//!    close;
//! 3. a supervisor killed 0 to 3 ms after a manager or a client, or parked by fault injection
//!    under the kernel lock in each pass of its reaping of it and killed there, leaves the
//!    teardown whole (the programs undo its unfinished pass and reap the dead program);
//! 4. supervisors killed at random moments while a manager is admitted and attaches
//!    (`resmgr_attach`, `name_attach`), while clients join and cycle through `open` and
//!    `name_open`, and while a late program is admitted, leave no program hung: each works or
//!    fails with an errno, a manager killed afterwards releases its cycling client with
//!    ESRCH/EBADF/ENOENT, a client killed afterwards has its OCBs closed;
//! 5. a client forking after the supervisor died has a child in a new kernel (a new program
//!    cannot join the old one), which fails cleanly (ENOENT), and goes on itself;
//! 6. `pidin-sim` on a kernel whose supervisor died ends at once, saying why it cannot list
//!    it. Two defects are kept as ignored tests: `pidin-sim` cannot show such a kernel at all
//!    (and its hint misleads), and a program of the old kernel that maps device memory after a
//!    new supervisor started at the name gets the new kernel's physical memory.
//!
//! The programs are `capi/tests/c/review_supervisor_resmgr.c` in roles. Once the supervisor is
//! dead no program can join its kernel, so every program a scenario needs afterwards is
//! started before the kill and told what to do by words (files in the test's temporary
//! directory, written whole by a rename). The test process never maps the kernel: a mapping
//! would make it one of the kernel's programs, and a reaper of its dead programs itself. Every
//! program is bounded in time (alarm() in the C, the `Running` bounds here) and killed on every
//! exit path (supervisors started by programs, which are no children of the test, by
//! [`Leftovers`]); the temporary directory (sockets included) is removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_summary, Lang, Link, Running};
use common::kernel_procs::*;
use common::{env, Sup, WITHIN};
use procs::{NotePipe, TempDir};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The bound within which, with no supervisor, a dead program's peers must be released (a
/// 200 ms reaping slice, generously): a hang detector.
const RELEASE: Duration = Duration::from_secs(10);
/// Bound on a program's run to its end.
const RUN: Duration = Duration::from_secs(40);

// ================================================================== helpers

/// The review program, built into `dir`.
fn program(dir: &TempDir) -> PathBuf {
    let exe = dir.join("review-supervisor-resmgr");
    build(
        &[c_dir().join("review_supervisor_resmgr.c")],
        &exe,
        Lang::C99,
        Link::Shared,
    );
    exe
}

/// The program in a role on the kernel at `socket`.
fn start(exe: &Path, socket: &Path, args: &[&str]) -> Running {
    let env = env(socket);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Running::start(exe, args, &env)
}

/// Reads `r`'s lines until one starts with `prefix` (a failed check before it fails the test).
fn until_line(r: &mut Running, prefix: &str) -> String {
    let mut seen = Vec::new();
    loop {
        let l = r.line();
        assert!(
            !l.starts_with("FAIL") && !l.starts_with("attach failed"),
            "waiting for {prefix:?}: {l}\nbefore:\n{}",
            seen.join("\n")
        );
        if l.starts_with(prefix) {
            return l;
        }
        seen.push(l);
    }
}

/// A program's end: it passed at least `min` checks and failed none; what it said goes to
/// stderr (`--nocapture`).
fn ok(who: &str, end: (std::process::ExitStatus, String, String), min: u32) {
    let said: Vec<&str> = end
        .1
        .lines()
        .filter(|l| !l.starts_with("closed ") && !l.starts_with("names live "))
        .collect();
    eprintln!("{who}: {}", said.join(" | "));
    expect_summary(who, end, min);
}

/// `dir` as the programs take it (where their words are).
fn words(dir: &TempDir) -> String {
    dir.join("")
        .display()
        .to_string()
        .trim_end_matches('/')
        .to_string()
}

/// A word for the programs: `dir/name` holding `text`, written whole (a rename).
fn word(dir: &TempDir, name: &str, text: &str) {
    let path = dir.join(name);
    let tmp = dir.join(&format!("{name}.tmp"));
    std::fs::write(&tmp, text).expect("writing a word");
    std::fs::rename(&tmp, &path).expect("placing a word");
}

/// A checker's commands, numbered as it reads them.
struct Checker {
    run: Running,
    next: u32,
}

impl Checker {
    /// Starts a checker and waits until it joined: false if the path or name is not in its
    /// kernel (it says "missing"; it then ends by itself).
    fn start(exe: &Path, socket: &Path, dev: &str, name: &str, dir: &TempDir) -> (Checker, bool) {
        let d = dir.join("").display().to_string();
        let mut run = start(
            exe,
            socket,
            &["checker", dev, name, d.trim_end_matches('/')],
        );
        let l = run.line();
        let joined = match l.as_str() {
            "joined" => true,
            l if l.strip_prefix("missing ").is_some_and(is_errno) => false,
            other => panic!("checker: {other}"),
        };
        (Checker { run, next: 1 }, joined)
    }

    /// Says `what` and waits until it did it (its checks' failures fail the test).
    fn does(&mut self, dir: &TempDir, what: &str) {
        word(dir, &format!("cmd{}", self.next), what);
        self.next += 1;
        until_line(&mut self.run, &format!("did {what}"));
    }

    /// Says "end" and checks its summary.
    fn end(self, dir: &TempDir, min: u32) {
        word(dir, &format!("cmd{}", self.next), "end");
        ok("checker", self.run.finish(RUN), min);
    }
}

/// Sends `sig` to `pid` (a program of the test's).
fn signal(pid: u32, sig: i32) {
    // SAFETY: kill with integer arguments, on a child of the test.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Stops (SIGSTOP) the programs `pids` and waits until they are.
fn stop(pids: &[u32]) {
    for &p in pids {
        signal(p, libc::SIGSTOP);
    }
    common::wait_until("the programs stopped", || {
        pids.iter().all(|&p| proc_state(p as i32) == Some('T'))
    });
}

/// Whether a socket listens at `socket` (`/proc/net/unix`: `__SO_ACCEPTCON` in its flags).
/// A supervisor's socket file appears a moment before it listens; a program connecting then
/// is refused and starts a supervisor of its own, which finds the socket served, connects to
/// it (an admission, to the first) and exits: a program the first supervisor then reaps.
fn listening(socket: &Path) -> bool {
    let want = socket.display().to_string();
    std::fs::read_to_string("/proc/net/unix").is_ok_and(|t| {
        t.lines().skip(1).any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() >= 8
                && w[7] == want
                && u32::from_str_radix(w[3], 16).is_ok_and(|f| f & 0x1_0000 != 0)
        })
    })
}

/// Kills every supervisor of the kernel at `socket` (the test's own and any a program
/// started), and waits until none runs.
fn kill_supervisors_of(socket: &Path) {
    for pid in supervisors_of(socket) {
        sigkill(pid);
    }
    common::wait_until("no supervisor of the kernel runs", || {
        supervisors_of(socket).is_empty()
    });
}

/// On drop, kills (by pid) every process still running of the kernel at each of its sockets.
struct Leftovers(Vec<PathBuf>);

impl Drop for Leftovers {
    fn drop(&mut self) {
        for s in &self.0 {
            for pid in processes_of(s) {
                sigkill(pid);
            }
        }
    }
}

/// A supervised kernel in a temporary directory, the program built there, a manager on a
/// path and a name unique to the test, and the kernel's processes killed on drop.
struct Rig {
    _left: Leftovers,
    sup: Sup,
    exe: PathBuf,
    socket: PathBuf,
    dev: String,
    name: String,
    dir: TempDir,
}

impl Rig {
    fn new(tag: &str) -> Rig {
        Rig::with(tag, None)
    }

    /// [`Rig::new`] with the program built already (`exe`), or built now.
    fn with(tag: &str, exe: Option<&Path>) -> Rig {
        let dir = TempDir::new(tag);
        let exe = exe.map_or_else(|| program(&dir), Path::to_path_buf);
        let socket = common::socket_in(&dir);
        let left = Leftovers(vec![socket.clone()]);
        let sup = Sup::start(&socket, &["--stay"]);
        common::wait_until("the supervisor listening", || listening(&socket));
        let tag = format!("{tag}-{}", std::process::id());
        Rig {
            _left: left,
            sup,
            exe,
            socket,
            dev: format!("/dev/{tag}"),
            name: format!("{tag}-name"),
            dir,
        }
    }

    fn start(&self, args: &[&str]) -> Running {
        start(&self.exe, &self.socket, args)
    }

    /// The manager (with `tell`, writing each close_ocb and name disconnect to its log, and
    /// ending at the word `mgr-exit`): its program and pid.
    fn manager(&self, tell: bool) -> (Running, u32) {
        let d = words(&self.dir);
        let tell = if tell { d.as_str() } else { "-" };
        let mut m = self.start(&["mgr", &self.dev, &self.name, tell]);
        let l = until_line(&mut m, "ready ");
        let pid = m.pid();
        assert_eq!(l, format!("ready {pid}"));
        (m, pid)
    }

    fn checker(&self) -> Checker {
        let (c, joined) = Checker::start(&self.exe, &self.socket, &self.dev, &self.name, &self.dir);
        assert!(joined, "the checker did not find the manager");
        c
    }
}

// ================================================================== (1) the manager dies

/// How the manager of [`manager_dies`] ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum MgrEnd {
    /// Killed after the supervisor.
    Killed,
    /// Killed while the supervisor is stopped, then the supervisor killed: no one reaped it.
    KilledFirst,
    /// Calls exit(0) after the supervisor died (at the word `mgr-exit`), its pool's threads
    /// blocked in the kernel and its clients' requests held.
    Exits,
}

/// A manager with a client blocked in read, devctl and MsgSend on its name, and a checker;
/// the supervisor killed, and the manager ends (`how`). The checker is stopped (SIGSTOP)
/// first, while the supervisor lives (idle then, it takes no kernel lock: a stopped holder
/// would stop everyone), so that the blocked client, the one program left, must find the dead
/// manager and reap it itself (or the manager take itself out at its exit). The client must be
/// released within [`RELEASE`] with ESRCH, and the path and the name be gone.
fn manager_dies(tag: &str, how: MgrEnd) {
    let mut rig = Rig::new(tag);
    let (mut mgr, mpid) = rig.manager(how == MgrEnd::Exits);
    let mut blocked = rig.start(&["blocked", &rig.dev, &rig.name]);
    assert_eq!(
        until_line(&mut blocked, "blocked "),
        format!("blocked {mpid}")
    );
    let mut checker = rig.checker();
    let cpid = checker.run.pid();
    let ended;
    match how {
        MgrEnd::KilledFirst => {
            let spid = rig.sup.0.id();
            stop(&[cpid]);
            signal(spid, libc::SIGSTOP);
            common::wait_until("the supervisor stopped", || {
                proc_state(spid as i32) == Some('T')
            });
            ended = Instant::now();
            assert!(!mgr.kill().success());
            std::thread::sleep(Duration::from_millis(100));
            kill_supervisor(&mut rig.sup);
        }
        MgrEnd::Killed => {
            stop(&[cpid]);
            kill_supervisor(&mut rig.sup);
            std::thread::sleep(Duration::from_millis(300));
            // pidin-sim on the kernel now: it must end (not hang), and say why if it cannot
            // list the kernel (see `pidin_sim_shows_a_kernel_whose_supervisor_died`).
            let s = rig.socket.display().to_string();
            let (st, out, err) = common::run_pidin(&["--kernel", &s]);
            eprintln!("pidin-sim after the supervisor's death: {st}\n{out}\n{err}");
            if st.success() {
                assert!(
                    out.contains(&mpid.to_string()),
                    "pidin-sim listed the kernel without the manager:\n{out}"
                );
            } else {
                assert!(
                    err.contains("cannot open the kernel"),
                    "pidin-sim failed without saying why: {err}"
                );
            }
            ended = Instant::now();
            assert!(!mgr.kill().success());
        }
        MgrEnd::Exits => {
            stop(&[cpid]);
            kill_supervisor(&mut rig.sup);
            std::thread::sleep(Duration::from_millis(300));
            word(&rig.dir, "mgr-exit", "exit");
            assert_eq!(until_line(&mut mgr, "exiting"), "exiting");
            ended = Instant::now();
            let (st, out, err) = mgr.finish(RUN);
            assert!(st.success(), "the manager's exit: {st}\n{out}\n{err}");
        }
    }
    let l = until_line(&mut blocked, "released");
    let took = ended.elapsed();
    eprintln!("{tag}: the blocked client {l} {took:?} after the manager's end");
    assert!(
        took < RELEASE,
        "the client blocked on the manager ended ({how:?}) with no supervisor was released only \
         after {took:?}"
    );
    signal(cpid, libc::SIGCONT);
    ok("blocked", blocked.finish(RUN), 20);
    checker.does(&rig.dir, "gone");
    checker.end(&rig.dir, 5);
}

#[test]
fn a_manager_killed_after_the_supervisor_releases_its_blocked_clients_and_its_path_and_name_go() {
    manager_dies("rv-srm-mgr", MgrEnd::Killed);
}

#[test]
fn a_manager_killed_just_before_the_supervisor_releases_its_blocked_clients_and_its_path_and_name_go(
) {
    manager_dies("rv-srm-mgr-first", MgrEnd::KilledFirst);
}

#[test]
fn a_manager_exiting_after_the_supervisor_releases_its_blocked_clients_and_its_path_and_name_go() {
    manager_dies("rv-srm-mgr-exit", MgrEnd::Exits);
}

/// pidin-sim on a kernel whose supervisor died, its programs running: it reaches a kernel only
/// through its supervisor (docs/deviations.md, "A supervisor that dies"), so it must either
/// list the kernel or say that its supervisor has ended, at once (no hang). It once said
/// "Connection refused (is a program of it running? ...)", a hint that was wrong: programs of
/// it run, its supervisor is what is gone.
#[test]
fn pidin_sim_shows_a_kernel_whose_supervisor_died() {
    let mut rig = Rig::new("rv-srm-pidin");
    let (_mgr, mpid) = rig.manager(false);
    let s = rig.socket.display().to_string();
    let (st, out, err) = common::run_pidin(&["--kernel", &s]);
    assert!(
        st.success() && out.contains(&mpid.to_string()),
        "{out}\n{err}"
    );
    kill_supervisor(&mut rig.sup);
    std::thread::sleep(Duration::from_millis(300));
    let (st, out, err) = common::run_pidin(&["--kernel", &s]);
    eprintln!("pidin-sim after the supervisor's death: {st}\n{out}\n{err}");
    assert!(
        (st.success() && out.contains(&mpid.to_string())) || err.contains("supervisor"),
        "pidin-sim neither lists the kernel whose supervisor died (its manager, pid {mpid}, \
         runs) nor says that its supervisor died: {st}\n{out}\n{err}"
    );
}

/// Device memory (`mmap_device_memory`) of a kernel whose supervisor died, once a new program
/// of the same name started a new supervisor (docs/deviations.md: a new, empty kernel; the
/// old one goes on with its programs): a program of the old kernel that maps a register for
/// the first time then must see its own kernel's physical memory (what another program of the
/// old kernel wrote there), as on QNX, where physical memory is the machine's. The new
/// supervisor removes the old kernel's `NAME.sock.phys` as it starts (docs/design.md, "Device
/// memory"), and the old program opens the file by that path at its first mapping
/// (userlib/src/device.rs, `open_phys`), so it maps the new kernel's physical memory instead:
/// it reads what the new kernel's program wrote, and the old kernel's device memory is split
/// between its programs that mapped before and after.
#[test]
#[ignore = "DEFECT: after the supervisor died and a new one started at the same name, a \
            program of the old kernel mapping device memory for the first time gets the new \
            kernel's physical memory (NAME.sock.phys replaced), not its own kernel's"]
fn device_memory_of_a_kernel_whose_supervisor_died_stays_its_own() {
    let mut rig = Rig::new("rv-srm-phys");
    let d = rig.dir.join("").display().to_string();
    let d = d.trim_end_matches('/');
    let mut first = rig.start(&["phys", "-", "a1a1a1a1"]);
    assert_eq!(first.line(), "joined");
    assert_eq!(first.line(), "read 0x00000000");
    assert_eq!(first.line(), "wrote 0xa1a1a1a1");
    let mut second = rig.start(&["phys", d, "-"]);
    assert_eq!(second.line(), "joined");
    kill_supervisor(&mut rig.sup);
    std::thread::sleep(Duration::from_millis(300));
    // A new program of the name: a new supervisor and kernel, its own physical memory.
    let mut newcomer = rig.start(&["phys", "-", "b2b2b2b2"]);
    assert_eq!(newcomer.line(), "joined");
    let fresh = newcomer.line();
    assert_eq!(newcomer.line(), "wrote 0xb2b2b2b2");
    // The old kernel's second program maps the register now.
    word(&rig.dir, "map", "map");
    let seen = second.line();
    eprintln!("the new kernel's program first {fresh}; the old kernel's second program {seen}");
    assert_eq!(
        seen, "read 0xa1a1a1a1",
        "the old kernel's program does not see what its kernel's other program wrote"
    );
}

/// A client forking after the supervisor died: the child is a new program (as on QNX a new
/// process, with none of its parent's connections: its copy of the fd fails with EBADF,
/// docs/deviations.md, "Files"), and a new program cannot join the kernel of a dead supervisor
/// (docs/deviations.md, "A supervisor that dies"): it starts a new supervisor with a new,
/// empty kernel, where the manager's path is not (its open goes to Linux: ENOENT). On QNX the
/// child's open would reach the manager. What must hold: no hang, an errno, and the parent's
/// fd still served.
#[test]
fn a_client_forking_after_the_supervisor_died_has_a_child_in_a_new_kernel_and_goes_on() {
    let mut rig = Rig::new("rv-srm-fork");
    let (_mgr, _) = rig.manager(false);
    let d = rig.dir.join("").display().to_string();
    let mut forker = rig.start(&["forker", &rig.dev, d.trim_end_matches('/')]);
    assert_eq!(forker.line(), "joined");
    kill_supervisor(&mut rig.sup);
    std::thread::sleep(Duration::from_millis(300));
    word(&rig.dir, "fork", "fork");
    let said: Vec<String> = (0..4).map(|_| forker.line()).collect();
    eprintln!("the forker after the supervisor's death: {said:?}");
    assert_eq!(
        said,
        [
            "child read -1 EBADF",
            "child open ENOENT",
            "child status 0",
            "parent devctl EOK"
        ],
    );
    // (The child started a supervisor of its own, which ends 2 s after it: not asserted.)
    eprintln!(
        "supervisors of the name now: {:?}",
        supervisors_of(&rig.socket)
    );
}

// ================================================================== (2) a client dies

/// Waits (at most [`RELEASE`]) until the manager's log (`mgr ... DIR`) says `closed C of O`
/// with `C == O - 1` and `names live 1`: every OCB and name connection closed but the
/// checker's. If not, continues the programs `stopped` and waits
/// again, to tell a teardown that needed them from one that never comes, and fails.
fn all_closed_but_one(dir: &TempDir, mgr: u32, stopped: &[u32]) {
    let log = dir.join("mgr.log");
    let done = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let last = |word: &str| text.lines().rev().find_map(|l| l.strip_prefix(word));
        let closed = last("closed ")
            .and_then(|l| l.split_once(" of "))
            .and_then(|(c, o)| Some((c.parse::<u32>().ok()?, o.parse::<u32>().ok()?)));
        matches!(closed, Some((c, o)) if c + 1 == o) && last("names live ") == Some("1")
    };
    let waited = |within: Duration| {
        let until = Instant::now() + within;
        while !done() {
            if Instant::now() > until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    };
    if waited(RELEASE) {
        return;
    }
    let threads = common::cc::threads_of(mgr);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    for &p in stopped {
        signal(p, libc::SIGCONT);
    }
    let after = waited(RELEASE);
    panic!(
        "the dead client's OCBs and name connection were not all closed within {RELEASE:?} \
         (done once the stopped programs {stopped:?} were continued: {after}); the manager's \
         log:\n{text}\nits threads:\n{threads}"
    );
}

/// A manager (logging each close), a checker, a cycling client waiting for its go, and
/// `victims` victims each with two fds (a read held on one) and a name connection (a message
/// held); the checker and the cycler stopped (SIGSTOP: the manager is the one program left to
/// reap, when the victims die), the supervisor killed, then the victims killed at once
/// (`exits`: each calls `exit(0)` with all of it open and blocked). Their held requests must
/// be answered at their unblock pulses, their OCBs closed through `io_close_ocb` and their
/// name connections disconnected within [`RELEASE`]; then the manager serves the others on,
/// and at its end every open met its close.
fn client_dies(tag: &str, exits: bool, victims: usize) {
    let mut rig = Rig::new(tag);
    let (mgr, mpid) = rig.manager(true);
    let mut checker = rig.checker();
    let d = words(&rig.dir);
    let mut cycler = rig.start(&["cycler", &rig.dev, &rig.name, "500", &d]);
    assert_eq!(cycler.line(), "joined");
    // (One after the other: each checks its own requests are held by the counts.)
    let victims: Vec<Running> = (0..victims)
        .map(|_| {
            let mut v = if exits {
                rig.start(&["victim", &rig.dev, &rig.name, &d])
            } else {
                rig.start(&["victim", &rig.dev, &rig.name])
            };
            until_line(&mut v, "armed");
            v
        })
        .collect();
    // The checker and the cycler stopped while the supervisor lives (idle, waiting for their
    // words: they take no kernel lock then, and a stopped holder would stop everyone), so that
    // the manager is the one program left to reap the victim.
    let others = [checker.run.pid(), cycler.pid()];
    stop(&others);
    kill_supervisor(&mut rig.sup);
    std::thread::sleep(Duration::from_millis(300));
    let killed = Instant::now();
    if exits {
        word(&rig.dir, "leave", "leave");
        for mut v in victims {
            assert_eq!(v.line(), "leaving");
            let (st, out, err) = v.finish(RUN);
            assert!(st.success(), "a victim's exit: {st}\n{out}\n{err}");
        }
    } else {
        for v in &victims {
            sigkill(v.pid() as i32);
        }
        for v in victims {
            assert!(!v.kill().success());
        }
    }
    all_closed_but_one(&rig.dir, mpid, &others);
    let took = killed.elapsed();
    eprintln!(
        "{tag}: the victims' OCBs closed and their name connections disconnected {took:?} \
         after their end"
    );
    assert!(took < RELEASE, "the victims' teardown took {took:?}");
    for p in others {
        signal(p, libc::SIGCONT);
    }
    checker.does(&rig.dir, "clean");
    // The manager serves others on.
    word(&rig.dir, "go", "go");
    assert_eq!(cycler.line(), "running");
    let l = cycler.line();
    assert!(
        l.strip_prefix("ok ")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n > 0),
        "the cycler after the victim's death: {l}"
    );
    let _ = cycler.finish(RUN);
    checker.does(&rig.dir, "clean");
    checker.does(&rig.dir, "quit");
    ok("mgr", mgr.finish(RUN), 3);
    checker.end(&rig.dir, 10);
}

#[test]
fn a_client_killed_after_the_supervisor_has_its_ocbs_closed_and_the_manager_serves_on() {
    client_dies("rv-srm-client", false, 1);
}

#[test]
fn a_client_exiting_after_the_supervisor_with_fds_open_has_its_ocbs_closed() {
    client_dies("rv-srm-client-exit", true, 1);
}

#[test]
fn many_clients_killed_at_once_after_the_supervisor_have_their_ocbs_closed() {
    client_dies("rv-srm-clients", false, 6);
}

/// How long each of the parked supervisor's passes under the kernel lock holds it
/// (`QNXSIM_FAULT_HOLD_US`).
const SUP_HOLD_US: u64 = 400_000;
/// The descriptor the parked supervisor writes its fault notes to (`QNXSIM_FAULT_FD`).
const SUP_NOTE_FD: i32 = 100;

/// A supervisor whose every pass under the kernel lock (its reapings: it takes the lock for
/// nothing else) holds it [`SUP_HOLD_US`] after its changes, before its undo record is
/// committed, writing a note `PID locked PASS` to `notes` first (fault injection, as
/// fault_injection.rs parks programs). Killed and reaped on drop.
struct ParkedSup(std::process::Child);

impl ParkedSup {
    fn start(socket: &Path, notes: &NotePipe) -> ParkedSup {
        use std::os::unix::process::CommandExt;
        let fifo = std::ffi::CString::new(notes.path().as_os_str().as_encoded_bytes())
            .expect("the notes' path");
        let mut cmd = std::process::Command::new(common::BIN);
        cmd.arg("--kernel")
            .arg(socket)
            .arg("--stay")
            .env("QNXSIM_FAULT_HOLD_US", SUP_HOLD_US.to_string())
            .env("QNXSIM_FAULT_FD", SUP_NOTE_FD.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        // SAFETY: between fork and exec the closure calls only open, dup2 and close
        // (async-signal-safe) on a path made before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let fd = libc::open(fifo.as_ptr(), libc::O_WRONLY);
                if fd < 0 || libc::dup2(fd, SUP_NOTE_FD) != SUP_NOTE_FD {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(fd);
                Ok(())
            });
        }
        let sup = ParkedSup(cmd.spawn().expect("starting procnto-sim"));
        common::wait_until("the supervisor listening", || listening(socket));
        sup
    }
}

impl Drop for ParkedSup {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The supervisor killed while it holds the kernel lock in the middle of reaping a program:
/// its pass PASS (1 to 4) under the lock in the reaping (1: listing the dead program's
/// processes; 2: `process_destroy`, its changes made and its undo record not committed, so the
/// programs that take the lock over must undo them; 3 and 4: the program's asyncmsg blocks
/// and the stranded wake-ups). The programs must take the lock over from the dead supervisor,
/// undo its unfinished pass, and reap the dead program themselves: for a client (a victim with
/// a held read and a held name message), the manager gets every close and disconnect, with
/// the checker's fd and connection the only ones left; for the manager, the blocked client is
/// released with ESRCH and the path and the name are gone.
#[test]
fn a_supervisor_killed_holding_the_lock_in_the_middle_of_a_reaping_leaves_the_teardown_whole() {
    let built = TempDir::new("rv-srm-parked");
    let exe = program(&built);
    for round in 0..8u32 {
        let pass = round / 2 + 1;
        let kill_mgr = round % 2 == 1;
        let tag = format!("rv-srm-parked{round}");
        let dir = TempDir::new(&tag);

        let socket = common::socket_in(&dir);
        let _left = Leftovers(vec![socket.clone()]);
        let mut notes = NotePipe::new(dir.join("notes"));
        let mut sup = ParkedSup::start(&socket, &notes);
        let dev = format!("/dev/{tag}-{}", std::process::id());
        let name = format!("{tag}-{}-name", std::process::id());
        let d = words(&dir);
        let tell = if kill_mgr { "-" } else { d.as_str() };
        let mut mgr = start(&exe, &socket, &["mgr", &dev, &name, tell]);
        let mpid = mgr.pid();
        assert_eq!(until_line(&mut mgr, "ready "), format!("ready {mpid}"));
        let (mut checker, joined) = Checker::start(&exe, &socket, &dev, &name, &dir);
        assert!(joined, "round {round}: the checker");
        let mut other = if kill_mgr {
            let mut b = start(&exe, &socket, &["blocked", &dev, &name]);
            assert_eq!(until_line(&mut b, "blocked "), format!("blocked {mpid}"));
            b
        } else {
            let mut v = start(&exe, &socket, &["victim", &dev, &name]);
            until_line(&mut v, "armed");
            v
        };
        // (No pass of the supervisor's before: it takes the lock only to reap, and no program
        // ended. One came once, in a loaded run before the wait for `listening`: most likely
        // the reaping of a supervisor a program started, refused before ours listened, which
        // connected to ours and exited.)
        assert_eq!(notes.next(Duration::from_millis(10)), None, "round {round}");
        let spid = sup.0.id();
        let killed = Instant::now();
        sigkill(if kill_mgr { mpid } else { other.pid() } as i32);
        let want = format!("{spid} locked {pass}");
        let parked = loop {
            let note = notes
                .next(WITHIN)
                .unwrap_or_else(|| panic!("round {round}: no note {want:?} from the supervisor"));
            if note == want {
                break Instant::now();
            }
        };
        let _ = sup.0.kill();
        let late = parked.elapsed();
        let _ = sup.0.wait();
        assert!(
            late < Duration::from_micros(SUP_HOLD_US) / 2,
            "round {round}: the supervisor's kill came {late:?} after it parked: not known to \
             have landed under the lock"
        );
        if kill_mgr {
            let l = until_line(&mut other, "released");
            let took = killed.elapsed();
            assert!(
                took < RELEASE,
                "round {round}: the blocked client said {l} {took:?} after the manager's kill"
            );
            ok(&format!("round {round}: blocked"), other.finish(RUN), 20);
            checker.does(&dir, "gone");
            checker.end(&dir, 5);
        } else {
            all_closed_but_one(&dir, mpid, &[]);
            let took = killed.elapsed();
            assert!(
                took < RELEASE,
                "round {round}: the victim's teardown took {took:?}"
            );
            drop(other);
            checker.does(&dir, "clean");
            checker.does(&dir, "quit");
            ok(&format!("round {round}: mgr"), mgr.finish(RUN), 3);
            checker.end(&dir, 10);
        }
        eprintln!(
            "round {round}: the supervisor killed in its pass {pass} under the lock reaping the \
             {}: whole, {:?} after that program's kill",
            if kill_mgr { "manager" } else { "client" },
            killed.elapsed()
        );
    }
}

// ================================================================== (3) random kills

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

/// Whether `e` names an errno the way the program prints them.
fn is_errno(e: &str) -> bool {
    (e.starts_with('E') && e.len() > 1 && e.chars().all(|c| c.is_ascii_uppercase()))
        || e.strip_prefix("Errno(")
            .and_then(|n| n.strip_suffix(')'))
            .is_some_and(|n| n.parse::<i32>().is_ok())
}

/// Busy-waits `us` microseconds (a sleep's granularity would blur the moment of a kill).
fn spin(us: u64) {
    let until = Instant::now() + Duration::from_micros(us);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// The supervisor killed 0 to 3 ms after a program of its kernel: in the middle of reaping it
/// (holding the kernel lock, or between its steps), or just before or after. Rounds alternate
/// between a client (a victim with a held read and a held name message: the manager must get
/// every close, with the checker's fd and connection the only ones left) and the manager
/// (with a blocked client, which must be released with ESRCH, and the path and the name be
/// gone). Whatever the supervisor had done of the reaping, the programs finish it.
#[test]
fn a_supervisor_killed_while_it_reaps_a_manager_or_a_client_leaves_the_teardown_whole() {
    const ROUNDS: u64 = 12;
    let seed = 0x243f_6a88_85a3_08d3_u64 ^ u64::from(std::process::id());
    eprintln!("seed {seed:#x}");
    let mut rng = Rng(seed | 1);
    let built = TempDir::new("rv-srm-reap");
    let exe = program(&built);
    for round in 0..ROUNDS {
        let mut rig = Rig::with(&format!("rv-srm-reap{round}"), Some(&exe));
        let delay = rng.below(3000);
        let kill_mgr = round % 2 == 1;
        let (mgr, mpid) = rig.manager(!kill_mgr);
        let mut checker = rig.checker();
        let mut other = if kill_mgr {
            let mut b = rig.start(&["blocked", &rig.dev, &rig.name]);
            assert_eq!(until_line(&mut b, "blocked "), format!("blocked {mpid}"));
            b
        } else {
            let mut v = rig.start(&["victim", &rig.dev, &rig.name]);
            until_line(&mut v, "armed");
            v
        };
        let spid = rig.sup.0.id() as i32;
        let killed = Instant::now();
        sigkill(if kill_mgr { mpid } else { other.pid() } as i32);
        spin(delay);
        sigkill(spid);
        kill_supervisor(&mut rig.sup);
        if kill_mgr {
            let l = until_line(&mut other, "released");
            let took = killed.elapsed();
            assert!(
                took < RELEASE,
                "round {round}: the blocked client said {l} {took:?} after the manager's kill"
            );
            ok(&format!("round {round}: blocked"), other.finish(RUN), 20);
            checker.does(&rig.dir, "gone");
            checker.end(&rig.dir, 5);
            drop(mgr);
        } else {
            all_closed_but_one(&rig.dir, mpid, &[]);
            let took = killed.elapsed();
            assert!(
                took < RELEASE,
                "round {round}: the victim's teardown took {took:?}"
            );
            drop(other);
            checker.does(&rig.dir, "clean");
            checker.does(&rig.dir, "quit");
            ok(&format!("round {round}: mgr"), mgr.finish(RUN), 3);
            checker.end(&rig.dir, 10);
        }
        eprintln!(
            "round {round}: the supervisor killed {delay} us after the {}: whole",
            if kill_mgr { "manager" } else { "client" }
        );
    }
}

#[test]
fn supervisors_killed_at_random_during_attach_open_and_name_open_leave_nothing_hung() {
    const ROUNDS: u64 = 16;
    let dir = TempDir::new("rv-srm-random");
    let exe = program(&dir);
    let sockets: Vec<PathBuf> = (0..ROUNDS)
        .map(|r| dir.join(&format!("r{r}.sock")))
        .collect();
    let _left = Leftovers(sockets.clone());
    let seed = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(std::process::id());
    eprintln!("seed {seed:#x}");
    let mut rng = Rng(seed | 1);
    let tag = format!("rv-srm-random-{}", std::process::id());
    let (mut same, mut mgr_killed, mut client_killed, mut readmissions) = (0, 0, 0, 0);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for (round, socket) in sockets.iter().enumerate() {
        let dev = format!("/dev/{tag}-{round}");
        let name = format!("{tag}-{round}-name");
        let words = TempDir::new("rv-srm-random-words");
        let mut sup = Sup::start(socket, &["--stay"]);
        common::wait_until("the supervisor listening", || listening(socket));
        // (A third of the kills early: in the manager's admission and attaching.)
        let kill_at = Duration::from_millis(if rng.below(3) == 0 {
            rng.below(15)
        } else {
            rng.below(400)
        });
        let late_at = Duration::from_millis(rng.below(400));
        let kill_mgr = rng.below(2) == 0;
        let t0 = Instant::now();
        let mut mgr = start(&exe, socket, &["mgr", &dev, &name]);
        let (mut killed_sup, mut late) = (false, None);
        // Kills the supervisor and starts the late program when due.
        let mut due = |killed_sup: &mut bool, late: &mut Option<Running>| {
            if !*killed_sup && t0.elapsed() >= kill_at {
                kill_supervisor(&mut sup);
                *killed_sup = true;
            }
            if late.is_none() && t0.elapsed() >= late_at {
                *late = Some(start(&exe, socket, &["late", &dev, &name]));
            }
        };
        // The manager's first line (it may be admitted by a new supervisor if the kill cut its
        // admission short, or fail with an errno).
        let first = {
            let (tx, rx) = std::sync::mpsc::channel();
            // (Running::line blocks: read it on a thread, killing and starting meanwhile.)
            let h = std::thread::spawn(move || {
                let l = mgr.line();
                let _ = tx.send(());
                (mgr, l)
            });
            while rx.try_recv().is_err() && !h.is_finished() {
                due(&mut killed_sup, &mut late);
                std::thread::sleep(Duration::from_millis(1));
            }
            let (m, l) = h.join().expect("the manager's line");
            mgr = m;
            l
        };
        let mpid = mgr.pid();
        if let Some(e) = first.strip_prefix("attach failed ") {
            assert!(
                is_errno(e.split(' ').next().unwrap_or("")),
                "round {round}: the manager: {first}"
            );
            while !killed_sup || late.is_none() {
                due(&mut killed_sup, &mut late);
                std::thread::sleep(Duration::from_millis(1));
            }
            *outcomes.entry(format!("mgr {first}")).or_default() += 1;
            let _ = mgr.finish(RUN);
            let _ = late.map(|l| l.finish(RUN));
            continue;
        }
        assert_eq!(first, format!("ready {mpid}"), "round {round}: the manager");
        // Whether the manager was admitted by a supervisor it started, the test's killed in its
        // admission (before the late program could start one).
        let readmitted = killed_sup && late.is_none() && !supervisors_of(socket).is_empty();
        // A checker and a cycling client, started now (each joins the manager's kernel, or a
        // new one if the supervisor died before it was admitted).
        let (mut checker, joined) = Checker::start(&exe, socket, &dev, &name, &words);
        let mut cycler = start(&exe, socket, &["cycler", &dev, &name, "1200", "-"]);
        assert_eq!(cycler.line(), "running", "round {round}: the cycler");
        let cycling = Instant::now();
        while !killed_sup || late.is_none() {
            due(&mut killed_sup, &mut late);
            std::thread::sleep(Duration::from_millis(1));
        }
        // The late program: worked in the manager's kernel, or joined a new one where the
        // path and the name are not, or failed to join with an errno.
        // (It ends after its line: its whole output, status and stderr.)
        let (st, out, err) = late.expect("the late program").finish(RUN);
        let l = out.lines().next().unwrap_or_default().to_string();
        assert!(
            st.success()
                && (l == "ok found"
                    || l == "ok not-found ENOENT ENOENT"
                    // (Between the manager's resmgr_attach and its name_attach.)
                    || l == "error mixed EOK ENOENT"
                    || l.strip_prefix("error join ").is_some_and(is_errno)),
            "round {round}: the late program, started {late_at:?} after the manager, the \
             supervisor killed at {kill_at:?}: {st}, said {out:?}; stderr:\n{err}"
        );
        *outcomes.entry(format!("late {l}")).or_default() += 1;
        // Now no supervisor at all (a program may have started one since).
        kill_supervisors_of(socket);
        std::thread::sleep(Duration::from_millis(50 + rng.below(150)));
        let kill_at_ms = cycling.elapsed().as_millis();
        let second = Instant::now();
        // (By pid: each is reaped, a zombie until then, when its `Running` drops.)
        sigkill(if kill_mgr { mpid } else { cycler.pid() } as i32);
        let mut said = String::from("-");
        if kill_mgr {
            // The cycler: its cycles stopped by the manager's death with a dead server's errno
            // (at once: not its 5 s send bound's ETIMEDOUT), or done before it, or never begun
            // (a kernel of its own: ENOENT at its first open).
            let l = cycler.line();
            let took = second.elapsed();
            let w: Vec<&str> = l.split(' ').collect();
            let good = match w.as_slice() {
                ["ok", n] => n.parse::<u32>().is_ok(),
                ["error", "open" | "name_open", "ENOENT", "after", _] => true,
                ["error", _, "ESRCH" | "EBADF", "after", _] => true,
                _ => false,
            };
            assert!(
                good,
                "round {round}: the cycler, its manager killed {kill_at_ms} ms into its \
                 cycles: {l}"
            );
            assert!(
                took < RELEASE,
                "round {round}: the cycler said {l} {took:?} after its manager's kill"
            );
            *outcomes
                .entry(format!("cycler {}", w[..w.len().min(3)].join(" ")))
                .or_default() += 1;
            said = format!("the cycler said {l}");
            let _ = cycler.finish(RUN);
            drop(mgr);
            if joined {
                same += 1;
                mgr_killed += 1;
                checker.does(&words, "gone");
                checker.end(&words, 5);
            } else {
                let _ = checker.run.finish(RUN);
            }
        } else {
            if joined {
                same += 1;
                client_killed += 1;
                checker.does(&words, "clean");
                checker.does(&words, "quit");
                ok(&format!("round {round}: mgr"), mgr.finish(RUN), 3);
                checker.end(&words, 10);
            } else {
                let _ = checker.run.finish(RUN);
                drop(mgr);
            }
            drop(cycler);
        }
        eprintln!(
            "round {round}: supervisor killed at {kill_at:?}, late at {late_at:?}, {} killed \
             {kill_at_ms} ms into the cycles ({said}), manager admitted by a new supervisor: \
             {readmitted}, checker joined the manager: {joined}",
            if kill_mgr { "manager" } else { "cycler" }
        );
        readmissions += usize::from(readmitted);
        for pid in processes_of(socket) {
            sigkill(pid);
        }
    }
    eprintln!(
        "{same} rounds with the manager's kernel shared ({mgr_killed} managers killed, \
         {client_killed} clients killed); {readmissions} managers admitted by a new supervisor; \
         outcomes {outcomes:?}"
    );
    assert!(
        mgr_killed > 0 && client_killed > 0,
        "too few rounds in one kernel to judge: {same}"
    );
}
