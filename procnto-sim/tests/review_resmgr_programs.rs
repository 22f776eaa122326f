//! Review: a C resource manager in one program against hostile and dying clients in others,
//! and the manager dying under its clients, on one supervised kernel
//! (`capi/tests/c/review_resmgr_programs.c`, one program in many roles). Raw malformed I/O
//! messages on connections to the manager's channel (QNX's errnos, no crash, no leaked OCB);
//! clients killed with SIGKILL in a held read, write and devctl, with an armed ionotify, with
//! many fds (every OCB closed, nothing held, the notify lists emptied, the manager serves on);
//! the manager killed under blocked clients (ESRCH, COIDDEATH, its path free for a new manager,
//! old fds never reaching it); a client that forks after open; many clients against the thread
//! pool with some killed. After each kill the kernel's pools are back where they were. Every
//! program is bounded in time (alarm() in the C, `finish`/`line` bounds here) and killed on
//! every exit path; the supervisor's socket lives in a temporary directory removed on every
//! exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_summary, summary, Lang, Link, Running};
use common::{env, socket_in, wait_until, Sup, WITHIN};
use procs::TempDir;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A supervised kernel in a temporary directory, the review program built there, and the
/// kernel mapped to watch it. Fields drop in order: the supervisor first, the directory last.
struct Rig {
    _sup: Sup,
    k: kernel_sim::Kernel,
    exe: PathBuf,
    env: Vec<(&'static str, String)>,
    dir: TempDir,
    tag: String,
}

impl Rig {
    fn new(tag: &str) -> Rig {
        let dir = TempDir::new(tag);
        let exe = dir.join("review-resmgr-programs");
        build(
            &[c_dir().join("review_resmgr_programs.c")],
            &exe,
            Lang::C99,
            Link::Shared,
        );
        let socket = socket_in(&dir);
        let sup = Sup::start(&socket, &["--stay"]);
        let k = common::watch(&socket);
        let env = env(&socket);
        Rig {
            _sup: sup,
            k,
            exe,
            env,
            dir,
            tag: format!("{tag}-{}", std::process::id()),
        }
    }

    /// The program in a role.
    fn start(&self, args: &[&str]) -> Running {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Running::start(&self.exe, args, &env)
    }

    /// The manager's path (unique to this test run).
    fn dev(&self) -> String {
        format!("/dev/{}", self.tag)
    }

    /// A manager on the path: its program and the words of its ready line.
    fn manager(&self) -> (Running, Vec<String>) {
        let name = format!("{}-name", self.tag);
        let mut m = self.start(&["mgr", &self.dev(), &name]);
        let w = ready(&mut m);
        assert_eq!(w.len(), 4, "ready PID CHID ID DEFID: {w:?}");
        (m, w)
    }

    /// Live objects of the pools but threads (a thread pool's size varies): processes,
    /// channels, connections, pulses, timers, names.
    fn live(&self) -> [u32; 6] {
        let u = self.k.pool_usage();
        [
            u.processes.live,
            u.channels.live,
            u.connections.live,
            u.pulses.live,
            u.timers.live,
            u.names.live,
        ]
    }

    /// The pools' use once it has not changed for 300 ms.
    fn settled(&self) -> [u32; 6] {
        let mut last = self.live();
        let until = Instant::now() + WITHIN;
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let now = self.live();
            if now == last || Instant::now() > until {
                return now;
            }
            last = now;
        }
    }

    /// Waits until the pools are at `want`.
    fn back_to(&self, want: [u32; 6], what: &str) {
        let until = Instant::now() + WITHIN;
        loop {
            let now = self.live();
            if now == want {
                return;
            }
            assert!(
                Instant::now() < until,
                "{what}: the pools [processes, channels, connections, pulses, timers, names] \
                 are {now:?}, want {want:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the kernel has no process of Linux pid `pid`.
    fn reaped(&self, pid: u32) {
        let pid = pid as i32;
        wait_until("the killed program reaped", || {
            self.k.snapshot().processes.iter().all(|p| p.pid != pid)
        });
    }

    /// A file the programs wait for, written whole (a rename).
    fn word(&self, name: &str, text: &str) {
        let path = self.dir.join(name);
        let tmp = self.dir.join(&format!("{name}.tmp"));
        std::fs::write(&tmp, text).expect("writing a word");
        std::fs::rename(&tmp, &path).expect("placing a word");
    }

    /// `expect PATH [quit]`: the manager has no OCB left, nothing held, empty notify lists,
    /// and serves.
    fn expect_clean(&self, what: &str, quit: bool) {
        let dev = self.dev();
        let mut args = vec!["expect", dev.as_str()];
        if quit {
            args.push("quit");
        }
        ok(what, self.start(&args).finish(RUN), 5);
    }
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

/// The words after "ready ".
fn ready(r: &mut Running) -> Vec<String> {
    until_line(r, "ready ")
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect()
}

/// A program's end: it passed at least `min` checks and failed none; what it said goes to
/// stderr (`--nocapture`).
fn ok(who: &str, end: (std::process::ExitStatus, String, String), min: u32) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "{who}: {}",
        end.1.lines().collect::<Vec<_>>().join(" | ")
    );
    expect_summary(who, end, min);
}

/// Bound on a program's run.
const RUN: Duration = Duration::from_secs(40);

#[test]
fn hostile_raw_messages_get_qnx_errnos_and_leak_no_ocb() {
    let rig = Rig::new("rv-rmp-hostile");
    let base = rig.settled();
    let (mgr, w) = rig.manager();
    let with_mgr = rig.settled();
    let name = format!("{}-name", rig.tag);
    let dev = rig.dev();
    let h = rig.start(&["hostile", &dev, &name, &w[0], &w[1], &w[2], &w[3]]);
    ok("hostile", h.finish(RUN), 60);
    rig.back_to(with_mgr, "after the hostile client");
    rig.expect_clean("expect after hostile", true);
    ok("mgr", mgr.finish(RUN), 5);
    rig.back_to(base, "after the manager ended");
}

#[test]
fn clients_killed_mid_request_have_their_ocbs_closed_and_notify_lists_emptied() {
    let rig = Rig::new("rv-rmp-victims");
    let base = rig.settled();
    let (mgr, _) = rig.manager();
    let with_mgr = rig.settled();
    let dev = rig.dev();
    for mode in ["read", "write", "devctl", "notify", "fds"] {
        let mut v = rig.start(&["victim", &dev, mode]);
        let pid = v.pid();
        until_line(&mut v, "armed");
        // Into its blocking call (the manager holds it).
        std::thread::sleep(Duration::from_millis(250));
        let st = v.kill();
        assert!(!st.success(), "{mode}: the victim was killed ({st})");
        rig.reaped(pid);
        rig.expect_clean(&format!("expect after a victim killed in {mode}"), false);
        rig.back_to(with_mgr, &format!("after the victim killed in {mode}"));
    }
    rig.expect_clean("expect at the end", true);
    ok("mgr", mgr.finish(RUN), 5);
    rig.back_to(base, "after the manager ended");
}

#[test]
fn manager_killed_under_blocked_clients_frees_its_path_for_a_new_one() {
    let rig = Rig::new("rv-rmp-orphan");
    let base = rig.settled();
    let (mgr, w) = rig.manager();
    let dir = rig.dir.join("").display().to_string();
    let dev = rig.dev();
    let mut o = rig.start(&["orphan", &dev, dir.trim_end_matches('/')]);
    let line = until_line(&mut o, "blocked ");
    assert_eq!(line, format!("blocked {}", w[0]), "the orphan's manager");
    std::thread::sleep(Duration::from_millis(200));
    let mpid = mgr.pid();
    let st = mgr.kill();
    assert!(!st.success(), "the manager was killed ({st})");
    rig.reaped(mpid);
    until_line(&mut o, "done-old");
    // A new manager takes the same path at once.
    let (mgr2, w2) = rig.manager();
    assert_ne!(w2[0], w[0], "a new manager");
    rig.word("new", &w2[0]);
    ok("orphan", o.finish(RUN), 15);
    rig.expect_clean("expect on the new manager", true);
    ok("mgr2", mgr2.finish(RUN), 5);
    rig.back_to(base, "after everything ended");
}

#[test]
fn a_client_that_forks_after_open_keeps_its_ocb() {
    let rig = Rig::new("rv-rmp-fork");
    let base = rig.settled();
    let (mgr, _) = rig.manager();
    let with_mgr = rig.settled();
    let dev = rig.dev();
    ok("forker", rig.start(&["forker", &dev]).finish(RUN), 7);
    rig.back_to(with_mgr, "after the forker and its children");
    rig.expect_clean("expect after the forker", true);
    ok("mgr", mgr.finish(RUN), 5);
    rig.back_to(base, "after the manager ended");
}

#[test]
fn many_clients_against_the_thread_pool_with_some_killed() {
    let rig = Rig::new("rv-rmp-many");
    let base = rig.settled();
    let (mgr, _) = rig.manager();
    let with_mgr = rig.settled();
    let dev = rig.dev();
    let mut runs: Vec<Running> = (0..5)
        .map(|i| rig.start(&["many", &dev, "2500", &i.to_string()]))
        .collect();
    for r in runs.iter_mut() {
        until_line(r, "running");
    }
    std::thread::sleep(Duration::from_millis(900));
    // Kill two in the middle of their rounds.
    let killed: Vec<Running> = runs.drain(0..2).collect();
    for k in killed {
        let pid = k.pid();
        let _ = k.kill();
        rig.reaped(pid);
    }
    for (i, r) in runs.into_iter().enumerate() {
        let end = r.finish(RUN);
        let (p, _) = summary(&end.1);
        assert!(p >= 1, "survivor {i}: {}", end.1);
        ok(&format!("many survivor {i}"), end, 1);
    }
    rig.expect_clean("expect after the many clients", false);
    rig.back_to(with_mgr, "after the many clients");
    rig.expect_clean("expect at the end", true);
    ok("mgr", mgr.finish(RUN), 5);
    rig.back_to(base, "after the manager ended");
}
