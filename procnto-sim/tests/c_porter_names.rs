//! A QNX name server killed and restarted under its clients, as a porter meets it: the server
//! of `capi/tests/c/porter_names_server.c` is written in the common QNX shape
//! (`name_attach(NULL, name, 0)`, a `MsgReceive` loop on `attach->chid` switching on the
//! message type, `_IO_CONNECT` answered EOK, `_PULSE_CODE_DISCONNECT` → `ConnectDetach`,
//! `_PULSE_CODE_UNBLOCK` → `MsgError(EINTR)` of a held request, a `timer_create(SIGEV_PULSE)`
//! tick, `MsgDeliverEvent` to clients that registered a pulse event, requests held and
//! answered later); its clients (`porter_names_client.c`) `name_open` it, send with
//! `TimerTimeout` on SEND|REPLY, wait for its events on a channel of their own (one with
//! `_NTO_CHF_COID_DISCONNECT`, one without) and `name_close`. The server is killed with
//! SIGKILL at random moments (clients SEND- and REPLY-blocked on it, events registered) and
//! started again at once on the same name, cycle after cycle. As on QNX: the name is free for
//! the new server at once and a new `name_open` reaches it; every call in flight returns
//! (ESRCH), the old coid then fails with EBADF and `name_close` releases it; the clients'
//! own channels get no bogus pulse (COIDDEATH only where asked for); nothing is left in the
//! kernel, the supervisor stays up, no program or temporary file is left. And a client killed
//! while the server holds its request: the server hears of it, and serves on.
//!
//! C99, and the same sources as C++17. Every process is bounded in time and killed on every
//! exit path; every file lives in a temporary directory removed on every exit path. Heavier
//! runs by hand: `PORTER_CYCLES`, `PORTER_SEED`.

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

/// The entries of the system's temporary directory.
fn tmp_entries() -> Vec<String> {
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
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
    tmp_before: Vec<String>,
    /// Every program started, for the last look.
    pids: Vec<i32>,
}

impl Setting {
    fn new(tag: &str, lang: Lang) -> Setting {
        let tmp_before = tmp_entries();
        let dir = TempDir::new(tag);
        let socket = socket_in(&dir);
        let sup = Sup::start(&socket, &[]);
        let k = watch(&socket);
        let server_exe = dir.join("porter_names_server");
        let client_exe = dir.join("porter_names_client");
        build(
            &[c_dir().join("porter_names_server.c")],
            &server_exe,
            lang,
            Link::Shared,
        );
        build(
            &[c_dir().join("porter_names_client.c")],
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
            tmp_before,
            pids: Vec::new(),
        }
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

    /// A server of `name` that said "ready PID CHID".
    fn ready_server(&mut self, name: &str) -> Prog {
        let mut s = self.server_with(&[name]);
        let l = s.line();
        assert!(
            l.starts_with("ready "),
            "the server's name_attach of {name}: {l}"
        );
        s
    }

    /// The server's counters (`struct pn_stats`, in order).
    fn stats(&mut self, name: &str) -> Stats {
        let c = self.client(&[name, "stats"]);
        let out = expect_ok("stats", c.finish(WITHIN), 3);
        let line = out
            .lines()
            .find(|l| l.starts_with("stats "))
            .unwrap_or_else(|| panic!("no stats in {out}"));
        Stats(numbers(line.trim_start_matches("stats ")))
    }

    fn probe(&mut self, name: &str, pid: i32, what: &str) {
        let p = self.client(&[name, "probe", &pid.to_string()]);
        expect_ok(what, p.finish(WITHIN), 6);
    }

    /// The end: the supervisor is still up, the pools are back at their baseline (the kernel's
    /// own count and pidin-sim's listing), none of our programs is alive, and no temporary
    /// file is left.
    fn end(mut self) {
        assert!(
            matches!(self.sup.0.try_wait(), Ok(None)),
            "the supervisor ended"
        );
        let base = live(&self.base);
        let k = &self.k;
        let ok = within(WITHIN, || live(&k.pool_usage()) == base);
        assert!(
            ok.is_some(),
            "the kernel's pools are not back at their baseline {base:?} (processes, threads, \
             channels, connections, pulses, timers, names): {:?}\n{}",
            live(&k.pool_usage()),
            k.listing()
        );
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
        assert_eq!(in_use.len(), names.len(), "{line}");
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
                !cmd.contains("porter_names_"),
                "program {pid} ({cmd:?}) was left behind"
            );
        }
        assert!(
            matches!(self.sup.0.try_wait(), Ok(None)),
            "the supervisor ended"
        );
        let dir = self.dir.join("");
        let mut pids: Vec<String> = self.pids.iter().map(|p| p.to_string()).collect();
        pids.push(self.sup.0.id().to_string());
        let before = self.tmp_before.clone();
        drop(self);
        assert!(!dir.exists(), "{} was left behind", dir.display());
        // Nothing new in /tmp that names one of our programs or the supervisor (this test
        // binary's own directories are its parallel tests').
        let left: Vec<String> = tmp_entries()
            .into_iter()
            .filter(|e| !before.contains(e))
            .filter(|e| {
                e.split(|c: char| !c.is_ascii_digit())
                    .any(|w| pids.iter().any(|p| p == w))
            })
            .collect();
        assert!(left.is_empty(), "left in the temporary directory: {left:?}");
    }
}

/// `struct pn_stats` as the stats client prints it.
#[derive(Debug, Clone)]
struct Stats(Vec<i64>);

impl Stats {
    const FIELDS: [&'static str; 21] = [
        "pid",
        "opens",
        "disconnects",
        "detach_failed",
        "unblocks",
        "unblock_unknown",
        "held",
        "held_now",
        "held_unblocked_esrch",
        "held_unblocked_ok",
        "held_unblocked_other",
        "held_at_disconnect",
        "released",
        "release_failed",
        "registered",
        "delivered",
        "deliver_failed",
        "ticks",
        "bad_pulses",
        "enosys",
        "second_reply_esrch",
    ];

    fn get(&self, field: &str) -> i64 {
        let i = Self::FIELDS
            .iter()
            .position(|f| *f == field)
            .unwrap_or_else(|| panic!("no field {field}"));
        self.0[i]
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
        let seed = std::env::var("PORTER_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(seed);
        println!("PORTER_SEED={seed}");
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
    cycles_with_send_blocked: u32,
    cycles_with_reply_blocked: u32,
    max_restart: Duration,
    max_teardown: Duration,
    /// Restarts whose name_attach met EEXIST (the dead server's name) before it succeeded.
    eexist_at_restart: u32,
    eexist_retries: u64,
}

/// A worker's "client ..." line, as (key, value) pairs.
fn client_counts(out: &str) -> Vec<(String, i64)> {
    let line = out
        .lines()
        .find(|l| l.starts_with("client "))
        .unwrap_or_else(|| panic!("no 'client' line in:\n{out}"));
    let w: Vec<&str> = line.split_whitespace().collect();
    w[2..]
        .chunks(2)
        .filter_map(|c| Some((c[0].to_string(), c.get(1)?.parse().ok()?)))
        .collect()
}

fn count(counts: &[(String, i64)], key: &str) -> i64 {
    counts
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no {key} in {counts:?}"))
}

/// `workers` clients (half with `_NTO_CHF_COID_DISCONNECT` on their own channel) while the
/// server is killed and restarted `cycles` times. With `strict`, the new server's first
/// name_attach must succeed; else it retries an EEXIST (counted and reported).
fn kill_cycles(lang: Lang, cycles: u32, workers: usize, strict: bool) {
    let cycles = std::env::var("PORTER_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cycles);
    let t_start = Instant::now();
    let mut set = Setting::new("c-porter-names", lang);
    let name = format!("porter/svc-{lang:?}").to_lowercase();
    let mut rng = Rand::new();
    let mut server = set.ready_server(&name);
    let mut clients: Vec<Prog> = (0..workers)
        .map(|i| {
            let id = i.to_string();
            let mut args = vec![name.as_str(), "worker", id.as_str()];
            if i % 2 == 1 {
                args.push("coiddeath");
            }
            set.client(&args)
        })
        .collect();
    for c in &mut clients {
        assert_eq!(c.line(), "joined", "{}", c.what);
    }
    // They are served before the first kill.
    std::thread::sleep(Duration::from_millis(100));
    let mut seen = Seen::default();
    let mut dead = Vec::new();
    for cycle in 0..cycles {
        // The next server is started ahead, joined to the kernel, waiting for the word: it
        // attaches right after the kill, while the supervisor may still tear the dead one down.
        let mut next = if strict {
            set.server_with(&[&name, "wait"])
        } else {
            set.server_with(&[&name, "wait", "retry"])
        };
        assert_eq!(next.line(), "waiting");
        std::thread::sleep(Duration::from_millis(5 + rng.below(120)));
        let old = server.pid();
        // Caught with clients blocked on it, when we can (a few looks).
        let mut b = blocked_on(&set.k, None, old);
        for _ in 0..30 {
            if b.0 > 0 && b.1 > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
            b = blocked_on(&set.k, None, old);
        }
        seen.killed_send_blocked += b.0;
        seen.killed_reply_blocked += b.1;
        seen.cycles_with_send_blocked += u32::from(b.0 > 0);
        seen.cycles_with_reply_blocked += u32::from(b.1 > 0);
        let status = server.kill();
        assert!(!status.success(), "{status}");
        dead.push(old);
        // At once: the name must be free for the new server (no EEXIST).
        let t0 = Instant::now();
        next.say("go");
        server = next;
        let l = server.line();
        assert!(
            l.starts_with("ready "),
            "cycle {cycle}: the new server's name_attach of {name} right after the old one \
             (pid {old}) was killed: {l} (17 is EEXIST)"
        );
        seen.max_restart = seen.max_restart.max(t0.elapsed());
        let eexist: u64 = l
            .split(' ')
            .nth(3)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no EEXIST count in {l:?}"));
        seen.eexist_at_restart += u32::from(eexist > 0);
        seen.eexist_retries += eexist;
        // A new name_open reaches the new server and works.
        let new = server.pid();
        set.probe(
            &name,
            new,
            &format!("cycle {cycle}: the probe of pid {new}"),
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
        // The clients are alive and nothing of theirs hangs or fails.
        for c in &mut clients {
            assert!(c.alive(), "cycle {cycle}: a client ended: {:?}", c.out);
            for l in c.drain_now() {
                assert!(
                    !l.starts_with("HANG") && !l.starts_with("FAIL") && !l.starts_with("NOTE"),
                    "cycle {cycle}: {}: {l}",
                    c.what
                );
            }
        }
        assert!(
            matches!(set.sup.0.try_wait(), Ok(None)),
            "cycle {cycle}: the supervisor ended"
        );
        seen.cycles += 1;
    }
    // A last while of service by the last server, then the clients stop.
    std::thread::sleep(Duration::from_millis(100));
    let mut report = Vec::new();
    let mut totals: Vec<(String, i64)> = Vec::new();
    for c in &mut clients {
        c.say("stop");
    }
    for (i, c) in clients.into_iter().enumerate() {
        let out = expect_ok(&format!("client {i}"), c.finish(WITHIN), 14);
        let counts = client_counts(&out);
        for (k, v) in &counts {
            match totals.iter_mut().find(|(t, _)| t == k) {
                Some(t) => t.1 += v,
                None => totals.push((k.clone(), *v)),
            }
        }
        report.extend(
            out.lines()
                .filter(|l| l.starts_with("client "))
                .map(str::to_string),
        );
    }
    let last = set.stats(&name);
    let quit = set.client(&[&name, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    let out = expect_ok("the last server", server.finish(WITHIN), 5);
    report.extend(
        out.lines()
            .filter(|l| l.starts_with("stats "))
            .map(str::to_string),
    );
    let k = &set.k;
    for &d in &dead {
        assert!(gone(k, d), "dead server {d}:\n{}", remains_of(k, d));
    }
    println!("{lang:?}: {seen:?}");
    println!("{lang:?}: the clients' totals {totals:?}");
    println!("{}", report.join("\n"));
    // The last server served the clients' requests and their registered events, and saw each
    // of them go (their disconnect pulses: one per client, and one per probe or stats).
    assert!(
        last.get("registered") >= 1 && last.get("delivered") >= 1,
        "{last:?}"
    );
    assert_eq!(last.get("bad_pulses"), 0, "{last:?}");
    assert_eq!(last.get("detach_failed"), 0, "{last:?}");
    // The calls in flight when servers died: most kills caught clients blocked.
    assert!(
        count(&totals, "esrch") >= i64::from(cycles / 2),
        "{totals:?}"
    );
    assert!(
        seen.cycles_with_send_blocked + seen.cycles_with_reply_blocked >= cycles / 2,
        "too few kills caught clients blocked: {seen:?}"
    );
    set.end();
    println!("{lang:?}: {cycles} cycles in {:?}", t_start.elapsed());
}

#[test]
fn a_name_server_killed_and_restarted_under_its_clients_in_c99() {
    kill_cycles(Lang::C99, 30, 4, false);
}

#[test]
fn a_name_server_killed_and_restarted_under_its_clients_in_cxx17() {
    kill_cycles(Lang::Cxx17, 10, 2, false);
}

/// As on QNX, where a process's names go in its teardown, before its parent can reap it: the
/// successor's first name_attach, made once the killed server was reaped, succeeds.
#[test]
fn the_name_of_a_killed_server_is_free_for_its_successor_at_once() {
    kill_cycles(Lang::C99, 30, 4, true);
}

// ------------------------------------------------------------------ a client killed while held

/// A client killed with SIGKILL while REPLY-blocked in a request the server holds: what the
/// server's counters say before and after, once the client is gone from the kernel.
fn killed_while_held() -> (Setting, Prog, String, Stats, Stats) {
    let mut set = Setting::new("c-porter-names-held", Lang::C99);
    let name = "porter/held".to_string();
    let server = set.ready_server(&name);
    let spid = server.pid();
    let mut holder = set.client(&[&name, "hold"]);
    assert_eq!(holder.line(), format!("holding {spid}"));
    let hpid = holder.pid();
    let k = &set.k;
    assert!(
        within(WITHIN, || blocked_on(k, Some(hpid), spid) == (0, 1)).is_some(),
        "the holder is not REPLY-blocked on the server\n{}",
        k.listing()
    );
    let before = set.stats(&name);
    assert_eq!(before.get("held_now"), 1, "one request held: {before:?}");
    assert!(!holder.kill().success());
    // The server hears of it: its disconnect pulse (its held request answered first, if an
    // unblock pulse came), and nothing of the client is left.
    let mut after = set.stats(&name);
    let t0 = Instant::now();
    while (after.get("disconnects") < before.get("disconnects") + 2 || after.get("held_now") != 0)
        && t0.elapsed() < WITHIN
    {
        std::thread::sleep(Duration::from_millis(20));
        after = set.stats(&name);
    }
    let k = &set.k;
    assert!(
        within(WITHIN, || gone(k, hpid)).is_some(),
        "the killed holder is still in the kernel:\n{}",
        remains_of(k, hpid)
    );
    println!(
        "before the kill: {before:?}\nafter it: {after:?}\n{:?}",
        Stats::FIELDS
    );
    (set, server, name, before, after)
}

/// The server's end and the kernel's.
fn end_held(mut set: Setting, server: Prog, name: &str) {
    let spid = server.pid();
    set.probe(name, spid, "a probe after the kill");
    let quit = set.client(&[name, "quit"]);
    expect_ok("quit", quit.finish(WITHIN), 3);
    expect_ok("the server", server.finish(WITHIN), 5);
    set.end();
}

#[test]
fn a_client_killed_while_its_request_is_held_is_forgotten_and_the_server_serves_on() {
    let (set, server, name, before, after) = killed_while_held();
    // The disconnect pulse of the killed client (and of the stats client before it).
    assert!(
        after.get("disconnects") >= before.get("disconnects") + 2,
        "the server got the killed client's disconnect pulse: {after:?}"
    );
    assert_eq!(
        after.get("held_now"),
        0,
        "the held request is forgotten: {after:?}"
    );
    assert_eq!(after.get("detach_failed"), 0, "{after:?}");
    assert_eq!(after.get("bad_pulses"), 0, "{after:?}");
    end_held(set, server, &name);
}

/// With `_NTO_CHF_UNBLOCK` (name_attach's channel has it), the kernel tells the server of the
/// killed client with `_PULSE_CODE_UNBLOCK` carrying the held rcvid; once the server answered
/// it, the rcvid names nobody: a later reply fails with ESRCH.
#[test]
fn a_client_killed_while_held_brings_the_unblock_pulse_and_a_later_reply_fails_with_esrch() {
    let (set, server, name, before, after) = killed_while_held();
    assert_eq!(
        after.get("unblocks"),
        before.get("unblocks") + 1,
        "one unblock pulse for the killed client's held request: {after:?}"
    );
    assert_eq!(
        after.get("unblock_unknown"),
        0,
        "it names the held rcvid: {after:?}"
    );
    assert_eq!(
        after.get("held_unblocked_esrch") + after.get("held_unblocked_ok"),
        1,
        "the server's MsgError(EINTR) of it: accepted (the kernel held the dying thread for it) \
         or ESRCH: {after:?}"
    );
    assert_eq!(after.get("held_unblocked_other"), 0, "{after:?}");
    assert_eq!(
        after.get("second_reply_esrch"),
        1,
        "a reply to the dead client's rcvid after that: ESRCH: {after:?}"
    );
    assert_eq!(
        after.get("held_at_disconnect"),
        0,
        "answered before the disconnect: {after:?}"
    );
    end_held(set, server, &name);
}
