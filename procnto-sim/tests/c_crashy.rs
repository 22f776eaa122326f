//! A QNX driver's resource manager that crashes, as a porter meets it: `/dev/crashy`
//! (`capi/tests/c/crashy_dev.c`: iofunc defaults with its own read, write, devctl, unblock and
//! close_ocb, served by a thread pool or by a dispatch loop) in a program of its own on a
//! supervised kernel, hammered by C client programs (`capi/tests/c/crashy_client.c`: open,
//! read, write, lseek, devctl, close, an fd kept open, a request held REPLY-blocked), killed
//! with SIGKILL at random moments and started again at once on the same path, cycle after
//! cycle. As on QNX: every call in flight returns (ESRCH; EBADF on an fd whose server died),
//! never with garbage; an fd opened to a dead server never reaches the new one; the path is
//! free for the new server at once; nothing of the dead servers is left in the kernel, and the
//! clients' connections go back to their baseline once they close. A client killed while the
//! server holds its reply has its OCB closed (and the held request forgotten) while the server
//! serves on. C99, and the same sources as C++17. Every process is bounded in time and killed
//! on every exit path; every file lives in a temporary directory removed on every exit path.
//!
//! The behaviours it found wrong, fixed, are kept as focused tests: a long write to a server
//! killed under it failing with ESRVRFAULT (and a long reply to a killed client with EFAULT)
//! where QNX says ESRCH (the kernel took a dying peer for a bad buffer); the supervisor
//! panicking when it reaped a program it admitted more than once (threads that joined the
//! kernel together); such threads' first opens going to Linux (ENOENT). Heavier runs of the cycles by hand: `CRASHY_CYCLES`,
//! `CRASHY_CLIENTS`, `CRASHY_MAX_MS`, `CRASHY_SEED`.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, Lang, Link};
use common::prog::*;
use common::*;
use kernel_sim::info::PoolUsage;
use kernel_sim::Kernel;
use procs::TempDir;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ the kernel, watched

/// How many Linux fds `pid` has open.
fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Connections of client `pid`.
fn connections_of(k: &Kernel, pid: i32) -> usize {
    k.snapshot()
        .connections
        .iter()
        .filter(|c| c.pid == pid)
        .count()
}

/// Which programs' channels carry `path`.
fn owners_of(k: &Kernel, path: &str) -> Vec<i32> {
    k.snapshot()
        .channels
        .iter()
        .filter(|c| c.paths.iter().any(|p| p == path))
        .map(|c| c.pid)
        .collect()
}

// ------------------------------------------------------------------ the setting

struct Setting {
    dir: TempDir,
    socket: PathBuf,
    sup: Sup,
    k: Kernel,
    server_exe: PathBuf,
    client_exe: PathBuf,
    env: Vec<(&'static str, String)>,
    base: PoolUsage,
    /// Every program started, for the last look.
    pids: Vec<i32>,
}

impl Setting {
    fn new(tag: &str, lang: Lang) -> Setting {
        let dir = TempDir::new(tag);
        let socket = socket_in(&dir);
        let sup = Sup::start(&socket, &[]);
        let k = watch(&socket);
        let server_exe = dir.join("crashy_dev");
        let client_exe = dir.join("crashy_client");
        build(
            &[c_dir().join("crashy_dev.c")],
            &server_exe,
            lang,
            Link::Shared,
        );
        build(
            &[c_dir().join("crashy_client.c")],
            &client_exe,
            lang,
            Link::Shared,
        );
        let env = env(&socket);
        let base = k.pool_usage();
        Setting {
            dir,
            socket,
            sup,
            k,
            server_exe,
            client_exe,
            env,
            base,
            pids: Vec::new(),
        }
    }

    fn server(&mut self, path: &str, mode: &str) -> Prog {
        self.server_with(&[path, mode])
    }

    fn server_with(&mut self, args: &[&str]) -> Prog {
        let p = Prog::start(&self.server_exe, args, &self.env);
        self.pids.push(p.pid());
        p
    }

    fn client(&mut self, args: &[&str]) -> Prog {
        let p = Prog::start(&self.client_exe, args, &self.env);
        self.pids.push(p.pid());
        p
    }

    /// A server on `path` that said "ready" (its attach succeeded).
    fn ready_server(&mut self, path: &str, mode: &str) -> Prog {
        let mut s = self.server(path, mode);
        let l = s.line();
        assert_eq!(l, "ready", "the server's attach of {path}: {l}");
        s
    }

    /// The end: the supervisor is still up, the pools are back at their baseline, no path is
    /// left, none of our programs is alive, and the temporary directory goes.
    fn end(mut self, path: &str) {
        assert!(
            matches!(self.sup.0.try_wait(), Ok(None)),
            "the supervisor ended"
        );
        let base = live(&self.base);
        let k = &self.k;
        let ok = within(WITHIN, || {
            live(&k.pool_usage()) == base && !mounted(k, path)
        });
        assert!(
            ok.is_some(),
            "the kernel's pools are not back at their baseline {base:?} (processes, threads, \
             channels, connections, pulses, timers, names): {:?}; {path} mounted: {}\n{}",
            live(&k.pool_usage()),
            mounted(k, path),
            k.listing()
        );
        // The supervisor's listing says the same.
        let out = Command::new(PIDIN)
            .arg("--kernel")
            .arg(&self.socket)
            .output()
            .expect("running pidin-sim");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "pidin-sim: {out:?}");
        let line = text
            .lines()
            .find(|l| l.contains("in use: "))
            .unwrap_or_else(|| panic!("no pools in pidin-sim's listing:\n{text}"));
        let in_use: Vec<(String, u32)> = line
            .split("in use: ")
            .nth(1)
            .unwrap_or_default()
            .split(", ")
            .filter_map(|p| {
                let w: Vec<&str> = p.split_whitespace().collect();
                Some((w.get(3)?.to_string(), w.first()?.parse().ok()?))
            })
            .collect();
        assert_eq!(in_use.len(), 8, "{line}");
        let names = [
            "processes",
            "threads",
            "channels",
            "connections",
            "pulses",
            "timers",
            "names",
            "interrupt",
        ];
        for (i, (pool, n)) in in_use.iter().enumerate() {
            assert_eq!(pool, names[i], "{line}");
            assert_eq!(
                *n, base[i],
                "pidin-sim: {pool} left over the baseline:\n{text}"
            );
        }
        for &pid in &self.pids {
            let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            assert!(
                !cmd.contains("crashy_"),
                "program {pid} ({cmd:?}) was left behind"
            );
        }
        assert!(
            matches!(self.sup.0.try_wait(), Ok(None)),
            "the supervisor ended"
        );
        let dir = self.dir.join("");
        drop(self);
        assert!(!dir.exists(), "{} was left behind", dir.display());
    }
}

/// A xorshift seeded from the pid and the clock (printed, to replay a run).
struct Rand(u64);

impl Rand {
    fn new() -> Rand {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        let seed = (t ^ u64::from(std::process::id()) << 32) | 1;
        let seed = std::env::var("CRASHY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(seed);
        println!("CRASHY_SEED={seed}");
        Rand(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

// ------------------------------------------------------------------ the cycles

/// What a run of cycles saw.
#[derive(Debug, Default)]
struct Seen {
    cycles: u32,
    killed_send_blocked: usize,
    killed_reply_blocked: usize,
    cycles_with_blocked: u32,
    max_teardown: Duration,
    max_restart: Duration,
    stale_owner_at_restart: u32,
    startup_kills: u32,
}

/// `clients` hammering clients while the server is killed and restarted `cycles` times
/// (alternately a dispatch loop and a thread pool).
fn crash_cycles(lang: Lang, cycles: u32, clients: usize) {
    // Heavier runs by hand: CRASHY_CYCLES, CRASHY_CLIENTS (at most 6), CRASHY_MAX_MS (the
    // longest while between kills, 200 by default).
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let cycles = var("CRASHY_CYCLES", u64::from(cycles)) as u32;
    let clients = (var("CRASHY_CLIENTS", clients as u64) as usize).min(6);
    let max_ms = var("CRASHY_MAX_MS", 200).max(2);
    let t_start = Instant::now();
    let mut set = Setting::new("c-crashy", lang);
    let path = format!("/dev/qnxsim-test-crashy-{lang:?}").to_lowercase();
    let mut rng = Rand::new();
    let mut server = set.ready_server(&path, "loop");
    let mut hammers: Vec<Prog> = (0..clients)
        .map(|i| set.client(&[&path, "hammer", &i.to_string()]))
        .collect();
    let mut baseline = Vec::new();
    let mut fds = Vec::new();
    for h in &mut hammers {
        assert_eq!(h.line(), "joined");
        baseline.push(connections_of(&set.k, h.pid()));
        fds.push(open_fds(h.pid()));
    }
    let mut seen = Seen::default();
    let mut dead = Vec::new();
    for cycle in 0..cycles {
        // The next server and a probe are started ahead, joined to the kernel, waiting for
        // the word: the server attaches (and the probe opens) right after the kill, while the
        // supervisor may still be tearing the dead one down.
        let mode = if cycle % 2 == 0 { "pool" } else { "loop" };
        let mut next = set.server_with(&[&path, mode, "wait"]);
        assert_eq!(next.line(), "waiting");
        // One cycle in four, the new server is killed too, a moment after its word: before
        // its attach, in its middle, or just after; the one after must attach all the same.
        let startup_kill = rng.below(4) == 0;
        let mut probe = None;
        if !startup_kill {
            let mut p = set.client(&[&path, "probe", &next.pid().to_string(), "wait"]);
            assert_eq!(p.line(), "waiting");
            probe = Some(p);
        }
        std::thread::sleep(Duration::from_millis(1 + rng.below(max_ms)));
        let old = server.pid();
        // Caught with clients blocked on it, when we can (a few looks).
        let mut b = blocked_on(&set.k, None, old);
        for _ in 0..20 {
            if b.0 + b.1 > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
            b = blocked_on(&set.k, None, old);
        }
        seen.killed_send_blocked += b.0;
        seen.killed_reply_blocked += b.1;
        seen.cycles_with_blocked += u32::from(b.0 + b.1 > 0);
        let status = server.kill();
        assert!(!status.success(), "{status}");
        dead.push(old);
        // At once: the path must be free for the new server.
        let t0 = Instant::now();
        next.say("go");
        if startup_kill {
            std::thread::sleep(Duration::from_micros(rng.below(3000)));
            let early = next.pid();
            assert!(!next.kill().success());
            dead.push(early);
            seen.startup_kills += 1;
            next = set.server(&path, mode);
        }
        server = next;
        let l = server.line();
        assert_eq!(
            l, "ready",
            "cycle {cycle}: the new server's resmgr_attach of {path} right after the old one \
             (pid {old}) was killed: {l}"
        );
        seen.max_restart = seen.max_restart.max(t0.elapsed());
        if owners_of(&set.k, &path).contains(&old) {
            seen.stale_owner_at_restart += 1;
        }
        // A new open reaches the new server and works.
        let new = server.pid().to_string();
        let probe = match probe {
            Some(mut p) => {
                p.say("go");
                p
            }
            None => set.client(&[&path, "probe", &new]),
        };
        expect_ok(
            &format!("cycle {cycle}: the probe of pid {new}"),
            probe.finish(WITHIN),
            7,
        );
        // Nothing of the dead server is left (its teardown is the supervisor's: bounded).
        let k = &set.k;
        let took = within(WITHIN, || gone(k, old));
        assert!(
            took.is_some(),
            "cycle {cycle}: the killed server {old} is still in the kernel:\n{}",
            remains_of(k, old)
        );
        seen.max_teardown = seen.max_teardown.max(t0.elapsed());
        assert_eq!(owners_of(k, &path), vec![server.pid()], "cycle {cycle}");
        // The clients are alive and nothing of theirs hangs.
        for h in &mut hammers {
            assert!(h.alive(), "cycle {cycle}: a client ended: {:?}", h.out);
            for l in h.drain_now() {
                assert!(!l.starts_with("HANG"), "cycle {cycle}: {}: {l}", h.what);
            }
        }
        seen.cycles += 1;
        assert!(
            matches!(set.sup.0.try_wait(), Ok(None)),
            "the supervisor ended"
        );
    }

    // The clients stop and close everything: their connections go back to the baseline, and
    // none is left to a dead server.
    for h in &mut hammers {
        h.say("stop");
    }
    for h in &mut hammers {
        h.line_starting("closed");
    }
    let k = &set.k;
    for (i, h) in hammers.iter().enumerate() {
        let pid = h.pid();
        let ok = within(WITHIN, || connections_of(k, pid) == baseline[i]);
        assert!(
            ok.is_some(),
            "client {i} (pid {pid}) has {} connections once it closed everything, {} before\n{}",
            connections_of(k, pid),
            baseline[i],
            k.listing()
        );
    }
    for (i, h) in hammers.iter().enumerate() {
        // Its Linux fds too (a resource manager's fd is a placeholder fd): as at the start.
        assert_eq!(
            open_fds(h.pid()),
            fds[i],
            "client {i}: Linux fds open once it closed everything, and at the start"
        );
    }
    for &d in &dead {
        assert!(gone(k, d), "dead server {d}:\n{}", remains_of(k, d));
    }
    let mut report = Vec::new();
    for (i, mut h) in hammers.into_iter().enumerate() {
        h.say("exit");
        let out = expect_ok(&format!("client {i}"), h.finish(WITHIN), 6);
        report.extend(
            out.lines()
                .filter(|l| l.starts_with("client ") || l.starts_with("NOTE"))
                .map(str::to_string),
        );
    }
    let quit = set.client(&[&path, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    let out = expect_ok("the last server", server.finish(WITHIN), 4);
    report.extend(
        out.lines()
            .filter(|l| l.starts_with("crashy_dev:"))
            .map(str::to_string),
    );
    println!("{lang:?}: {seen:?}");
    println!("{}", report.join("\n"));
    // The killed servers were caught with clients blocked on them (the point of the test).
    assert!(
        seen.cycles_with_blocked >= cycles / 2,
        "too few kills caught clients blocked: {seen:?}"
    );
    set.end(&path);
    println!("{lang:?}: {cycles} cycles in {:?}", t_start.elapsed());
}

#[test]
fn servers_killed_and_restarted_under_hammering_clients_in_c99() {
    crash_cycles(Lang::C99, 30, 4);
}

#[test]
fn servers_killed_and_restarted_under_hammering_clients_in_cxx17() {
    crash_cycles(Lang::Cxx17, 8, 3);
}

// ------------------------------------------------------------------ calls in flight

/// A client with a held request, a slow one and one behind it (SEND-blocked under a dispatch
/// loop; REPLY-blocked under a pool), when the server is killed: each returns ESRCH, as QNX's
/// MsgSend does for a server that died under it; then its old fds fail with EBADF (QNX: the
/// connection lost its channel) and never reach the new server, close releases them, and a new
/// open reaches the new server.
fn in_flight(mode: &str) {
    let mut set = Setting::new(&format!("c-crashy-inflight-{mode}"), Lang::C99);
    let path = format!("/dev/qnxsim-test-crashy-inflight-{mode}");
    let server = set.ready_server(&path, mode);
    let old = server.pid();
    let mut c = set.client(&[&path, "inflight", mode]);
    let l = c.line();
    assert_eq!(l, format!("blocked {old}"));
    let k = &set.k;
    let cpid = c.pid();
    let want = if mode == "loop" { (1, 2) } else { (0, 3) };
    let ok = within(WITHIN, || blocked_on(k, Some(cpid), old) == want);
    assert!(
        ok.is_some(),
        "the client's threads are not (SEND, REPLY) = {want:?} on the server: {:?}\n{}",
        blocked_on(k, Some(cpid), old),
        k.listing()
    );
    assert!(!server.kill().success());
    c.say("killed");
    let mut results = Vec::new();
    for _ in 0..3 {
        results.push(c.line_starting("inflight "));
    }
    let new = set.ready_server(&path, mode);
    c.say(&format!("check {}", new.pid()));
    let out = expect_ok("the in-flight client", c.finish(WITHIN), 20);
    println!("{mode}:\n{out}");
    for r in &results {
        assert!(
            r.contains(": ESRCH after"),
            "QNX gives ESRCH to a call in flight: {r}"
        );
    }
    for l in out
        .lines()
        .filter(|l| l.starts_with("old fd after the restart: "))
    {
        if l.contains("close") {
            continue;
        }
        assert!(
            l.ends_with("EBADF"),
            "QNX gives EBADF on a dead connection: {l}"
        );
    }
    let k = &set.k;
    assert!(
        within(WITHIN, || gone(k, old)).is_some(),
        "{}",
        remains_of(k, old)
    );
    let quit = set.client(&[&path, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    expect_ok("the new server", new.finish(WITHIN), 4);
    set.end(&path);
}

#[test]
fn calls_in_flight_when_a_dispatch_loop_server_dies_return_esrch() {
    in_flight("loop");
}

#[test]
fn calls_in_flight_when_a_thread_pool_server_dies_return_esrch() {
    in_flight("pool");
}

// ------------------------------------------------------------------ a client killed

/// The server's counters, from a `stats` client.
fn stats(set: &mut Setting, path: &str) -> Vec<i64> {
    let c = set.client(&[path, "stats"]);
    let (st, out, err) = c.finish(WITHIN);
    assert!(st.success(), "stats: {out}\n{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("stats "))
        .unwrap_or_else(|| panic!("no stats in {out}"));
    numbers(line.trim_start_matches("stats "))
}

/// A client killed with SIGKILL while REPLY-blocked in a request the server holds: the server
/// learns it (the unblock pulse, or the disconnect pulse: its close_ocb), forgets the held
/// request, and serves the others on.
fn killed_while_held(mode: &str) {
    let mut set = Setting::new(&format!("c-crashy-held-{mode}"), Lang::C99);
    let path = format!("/dev/qnxsim-test-crashy-held-{mode}");
    let server = set.ready_server(&path, mode);
    let spid = server.pid();
    let mut holder = set.client(&[&path, "hold"]);
    assert_eq!(holder.line(), format!("holding {spid}"));
    let hpid = holder.pid();
    let k = &set.k;
    assert!(
        within(WITHIN, || blocked_on(k, Some(hpid), spid) == (0, 1)).is_some(),
        "the holder is not REPLY-blocked on the server\n{}",
        k.listing()
    );
    let s = stats(&mut set, &path);
    assert_eq!(s[3], 1, "one request held: {s:?}");
    assert!(!holder.kill().success());
    let k = &set.k;
    assert!(
        within(WITHIN, || gone(k, hpid)).is_some(),
        "the killed holder is still in the kernel:\n{}",
        remains_of(k, hpid)
    );
    // [pid, opens, closes, held, held_closed, unblocks, held_gone, released, unblock_gone,
    //  busy_closed, busy_bad]
    let mut s = stats(&mut set, &path);
    let t0 = Instant::now();
    while s[3] != 0 && t0.elapsed() < WITHIN {
        std::thread::sleep(Duration::from_millis(20));
        s = stats(&mut set, &path);
    }
    println!(
        "{mode}: after the holder's kill: {s:?} (pid opens closes held held_closed unblocks \
         held_gone released unblock_gone busy_closed busy_bad)"
    );
    assert_eq!(
        s[3], 0,
        "the killed client's held request is forgotten: {s:?}"
    );
    assert!(
        s[4] + s[5] >= 1,
        "the server's close_ocb or unblock handler ran for it: {s:?}"
    );
    let probe = set.client(&[&path, "probe", &spid.to_string()]);
    expect_ok("a probe after the kill", probe.finish(WITHIN), 7);
    let quit = set.client(&[&path, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    let out = expect_ok("the server", server.finish(WITHIN), 4);
    println!("{out}");
    set.end(&path);
}

#[test]
fn a_client_killed_while_a_thread_pool_holds_its_reply_is_forgotten() {
    killed_while_held("pool");
}

#[test]
fn a_client_killed_while_a_dispatch_loop_holds_its_reply_is_forgotten() {
    killed_while_held("loop");
}

/// A client killed with SIGKILL while a pool thread works on its request: its OCB is closed
/// (the disconnect pulse) only once the handler using it returned, as QNX's layer counts the
/// OCB's references; the server serves on.
#[test]
fn a_client_killed_in_the_middle_of_a_slow_request_has_its_ocb_closed_after_the_handler() {
    let mut set = Setting::new("c-crashy-slow", Lang::C99);
    let path = "/dev/qnxsim-test-crashy-slow";
    let server = set.ready_server(path, "pool");
    let spid = server.pid();
    let mut slow = set.client(&[path, "slow"]);
    assert_eq!(slow.line(), format!("slow {spid}"));
    let cpid = slow.pid();
    let k = &set.k;
    assert!(
        within(WITHIN, || blocked_on(k, Some(cpid), spid) == (0, 1)).is_some(),
        "the client is not REPLY-blocked on the server\n{}",
        k.listing()
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(!slow.kill().success());
    let k = &set.k;
    assert!(
        within(WITHIN, || gone(k, cpid)).is_some(),
        "the killed client is still in the kernel:\n{}",
        remains_of(k, cpid)
    );
    // While the handler sleeps (2 s from the request), others are served.
    let probe = set.client(&[path, "probe", &spid.to_string()]);
    expect_ok("a probe while the handler sleeps", probe.finish(WITHIN), 7);
    let early = stats(&mut set, path);
    // Then the handler returns (its reply to nobody), and the OCB is closed.
    let t0 = Instant::now();
    let mut s = stats(&mut set, path);
    while s[2] < s[1] - 1 && t0.elapsed() < WITHIN {
        std::thread::sleep(Duration::from_millis(50));
        s = stats(&mut set, path);
    }
    println!("while the handler slept: {early:?}; after: {s:?}");
    assert_eq!(
        s[2],
        s[1] - 1,
        "every OCB but the stats client's closed: {s:?}"
    );
    assert_eq!(
        (s[9], s[10]),
        (0, 0),
        "no OCB closed under its running handler: {s:?}"
    );
    let quit = set.client(&[path, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    let out = expect_ok("the server", server.finish(WITHIN), 5);
    println!("{out}");
    set.end(path);
}

// ------------------------------------------------------------------ a write to a dying server

/// Clients writing 4000 bytes at a time (longer than a message window, so the kernel copies
/// each straight into the receiving server's buffer, in the server's address space) while the
/// server is killed again and again: a write whose server dies under it must fail with ESRCH
/// (QNX: "server died"), or EBADF on a connection already dead; never ESRVRFAULT, which says
/// the server's own buffers were bad.
fn writes_to_dying_servers(kills: u32) -> String {
    let mut set = Setting::new("c-crashy-writes", Lang::C99);
    let path = "/dev/qnxsim-test-crashy-writes";
    let mut rng = Rand::new();
    let mut server = set.ready_server(path, "pool");
    let mut writers: Vec<Prog> = (0..3).map(|_| set.client(&[path, "writer", "3"])).collect();
    for w in &mut writers {
        assert_eq!(w.line(), "writing");
    }
    for cycle in 0..kills {
        std::thread::sleep(Duration::from_millis(2 + rng.below(12)));
        let old = server.pid();
        assert!(!server.kill().success());
        server = set.ready_server(path, if cycle % 2 == 0 { "loop" } else { "pool" });
        let k = &set.k;
        assert!(
            within(WITHIN, || gone(k, old)).is_some(),
            "{}",
            remains_of(k, old)
        );
    }
    for w in &mut writers {
        w.say("stop");
    }
    let mut report = String::new();
    let mut failures = Vec::new();
    for w in writers {
        let (st, out, err) = w.finish(WITHIN);
        let line = out
            .lines()
            .find(|l| l.starts_with("writers: "))
            .unwrap_or("(no line)")
            .to_string();
        report.push_str(&line);
        report.push('\n');
        if !st.success() {
            failures.push(format!("{line}\n{out}\n{err}"));
        }
    }
    println!("{report}");
    let quit = set.client(&[path, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    expect_ok("the last server", server.finish(WITHIN), 4);
    set.end(path);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    report
}

#[test]
fn a_write_to_a_server_killed_under_it_fails_with_esrch_not_esrvrfault() {
    writes_to_dying_servers(150);
}

// ------------------------------------------------------------------ both ends die

/// A client REPLY-blocked in a held request and its server killed together, in either order,
/// a moment apart, again and again: both are torn down whole, and the next server attaches
/// the path and serves.
#[test]
fn a_held_client_and_its_server_killed_together_leave_nothing() {
    let mut set = Setting::new("c-crashy-both", Lang::C99);
    let path = "/dev/qnxsim-test-crashy-both";
    let mut rng = Rand::new();
    let mut server = set.ready_server(path, "pool");
    for round in 0..12 {
        let spid = server.pid();
        let mut holder = set.client(&[path, "hold"]);
        assert_eq!(holder.line(), format!("holding {spid}"), "round {round}");
        let hpid = holder.pid();
        let k = &set.k;
        assert!(
            within(WITHIN, || blocked_on(k, Some(hpid), spid) == (0, 1)).is_some(),
            "round {round}: the holder is not REPLY-blocked\n{}",
            k.listing()
        );
        let gap = Duration::from_micros(rng.below(2000));
        if round % 2 == 0 {
            assert!(!holder.kill().success());
            std::thread::sleep(gap);
            assert!(!server.kill().success());
        } else {
            assert!(!server.kill().success());
            std::thread::sleep(gap);
            assert!(!holder.kill().success());
        }
        server = set.ready_server(path, if round % 4 < 2 { "pool" } else { "loop" });
        let k = &set.k;
        for pid in [spid, hpid] {
            assert!(
                within(WITHIN, || gone(k, pid)).is_some(),
                "round {round}: {pid} is still in the kernel:\n{}",
                remains_of(k, pid)
            );
        }
        let probe = set.client(&[path, "probe", &server.pid().to_string()]);
        expect_ok(&format!("round {round}: probe"), probe.finish(WITHIN), 7);
    }
    let quit = set.client(&[path, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    expect_ok("the last server", server.finish(WITHIN), 4);
    set.end(path);
}

// ------------------------------------------------------------------ a reply to a dying client

/// Clients with held requests answered with 4000 bytes (copied straight into the client's
/// buffer, in its address space), killed again and again while the server answers them: the
/// server's MsgReplyv to a client that died must fail with ESRCH (QNX: the client is gone),
/// never EFAULT, which says the reply buffer was bad; the server serves on.
fn big_replies_to_dying_clients(kills: u32) -> Vec<i64> {
    let mut set = Setting::new("c-crashy-replies", Lang::C99);
    let path = "/dev/qnxsim-test-crashy-replies";
    let mut rng = Rand::new();
    let mut server = set.ready_server(path, "pool");
    for round in 0..kills {
        let mut c = set.client(&[path, "bigholder", "3"]);
        assert_eq!(c.line(), "holding");
        std::thread::sleep(Duration::from_millis(2 + rng.below(15)));
        let pid = c.pid();
        assert!(!c.kill().success());
        let k = &set.k;
        assert!(
            within(WITHIN, || gone(k, pid)).is_some(),
            "{}",
            remains_of(k, pid)
        );
        assert!(
            server.alive(),
            "round {round}: the server died: {:?}",
            server.child.try_wait()
        );
    }
    let probe = set.client(&[path, "probe", &server.pid().to_string()]);
    expect_ok("a probe after the kills", probe.finish(WITHIN), 7);
    let s = stats(&mut set, path);
    println!(
        "big replies: {} replied, {} ESRCH, {} EFAULT, {} other",
        s[11], s[12], s[13], s[14]
    );
    let quit = set.client(&[path, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    expect_ok("the server", server.finish(WITHIN), 4);
    set.end(path);
    s
}

#[test]
fn a_big_reply_to_a_client_killed_under_it_fails_with_esrch_not_efault() {
    let s = big_replies_to_dying_clients(40);
    assert!(s[11] > 0, "replies were made: {s:?}");
    assert_eq!(
        (s[13], s[14]),
        (0, 0),
        "MsgReplyv to a killed client: EFAULT or another errno where QNX gives ESRCH: {s:?}"
    );
}

// ------------------------------------------------------------------ threads joining together

/// A client whose threads joined the kernel together (each one's first `open` at the same
/// moment, as a multi-threaded C program's may: the supervisor admits the program more than
/// once), killed with SIGKILL: the supervisor tears it down and stays up, and the server serves
/// the next client.
#[test]
fn a_client_whose_threads_joined_together_killed_leaves_the_supervisor_up() {
    let mut set = Setting::new("c-crashy-together", Lang::C99);
    let path = "/dev/qnxsim-test-crashy-together";
    let server = set.ready_server(path, "pool");
    for round in 0..10 {
        let mut c = set.client(&[path, "bigholder", "4", "together"]);
        assert_eq!(c.line(), "holding", "round {round}");
        std::thread::sleep(Duration::from_millis(20));
        let pid = c.pid();
        assert!(!c.kill().success());
        let k = &set.k;
        assert!(
            within(WITHIN, || gone(k, pid)).is_some(),
            "round {round}: {}",
            remains_of(k, pid)
        );
        let probe = set.client(&[path, "probe", &server.pid().to_string()]);
        let end = probe.finish(WITHIN);
        // (A supervisor that panicked takes a moment to exit: a grace of 300 ms.)
        let sup = &mut set.sup.0;
        let ended = within(Duration::from_millis(300), || {
            !matches!(sup.try_wait(), Ok(None))
        });
        assert!(
            ended.is_none(),
            "round {round}: the supervisor ended ({:?}, socket there: {}); the probe after \
             it: {end:?}",
            set.sup.0.try_wait(),
            set.socket.exists()
        );
        expect_ok(&format!("round {round}: probe"), end, 7);
    }
    let quit = set.client(&[path, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    expect_ok("the server", server.finish(WITHIN), 4);
    set.end(path);
}

/// The same, a client whose threads joined together that ends normally (exit status 0).
#[test]
fn a_client_whose_threads_joined_together_exiting_leaves_the_supervisor_up() {
    let mut set = Setting::new("c-crashy-together-exit", Lang::C99);
    let path = "/dev/qnxsim-test-crashy-together-exit";
    let server = set.ready_server(path, "pool");
    for round in 0..10 {
        let c = set.client(&[path, "together", "8"]);
        let end = c.finish(WITHIN);
        let sup = &mut set.sup.0;
        let ended = within(Duration::from_millis(300), || {
            !matches!(sup.try_wait(), Ok(None))
        });
        assert!(
            ended.is_none(),
            "round {round}: the supervisor ended ({:?}) after a client exited: {end:?}",
            set.sup.0.try_wait()
        );
        // (Whether its threads' opens all succeeded is the next test's business.)
        assert!(end.0.code().is_some(), "round {round}: the client: {end:?}");
    }
    let quit = set.client(&[path, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    expect_ok("the server", server.finish(WITHIN), 4);
    set.end(path);
}

/// Threads of a client opening the device together at its start (each thread's first call,
/// joining the kernel at once): every open reaches the server, as on QNX.
#[test]
fn threads_opening_together_at_a_clients_start_all_reach_the_server() {
    let mut set = Setting::new("c-crashy-together-open", Lang::C99);
    let path = "/dev/qnxsim-test-crashy-together-open";
    let server = set.ready_server(path, "pool");
    // One client only: its end may take the supervisor down (the defect above).
    let c = set.client(&[path, "together", "8"]);
    let end = c.finish(WITHIN);
    expect_ok("the client whose 8 threads opened together", end, 1);
    let quit = set.client(&[path, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    expect_ok("the server", server.finish(WITHIN), 4);
    set.end(path);
}
