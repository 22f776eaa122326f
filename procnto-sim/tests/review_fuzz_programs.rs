//! Review: a concurrent, randomised fuzzer of the C ABI across several programs on one
//! supervised kernel (`capi/tests/c/review_fuzz_programs.c`). Three or four copies of the C
//! fuzzer run at once, each with 4 to 8 threads making random calls of `<sys/neutrino.h>`
//! (channels, connections to the other programs' pids and chids, every message call with
//! random rcvids and sizes, pulses, events, kernel timeouts, timers, SignalKill with handled
//! signals, interrupts, scheduling, client and server info), names and asyncmsg, and check
//! each result against a per-call table of allowed errnos. This driver kills copies with
//! SIGKILL at random moments and starts new ones, then checks:
//! * every program not killed finished within its bound, with no FINDING (an errno outside its
//!   call's set, a contract broken) and no HANG (a thread still in a call well after the end);
//!   none crashed;
//! * the supervisor is alive and still admits programs (a last short run passes);
//! * the kernel's pools and asyncmsg queue pages are back to their baseline once every program
//!   is gone, and the kernel lists no process of theirs;
//! * `pidin-sim` on the kernel succeeds and shows no program that is gone.
//!
//! The run is seeded: `QNXSIM_FUZZ_SEED=N` replays a run's choices (the driver's kills and
//! run lengths, each program's and thread's calls; the interleaving of threads and programs
//! is Linux's). `QNXSIM_FUZZ_SECS=S` fuzzes for S seconds instead of the default 10.
//! Known defects are reported as KNOWN lines by the C program and do not fail the run:
//! asyncmsg_channel_create's errnos for a bad event (reproduced by the ignored test below) and
//! asyncmsg_connect_attach's EBADF when it races with the end of the process's asyncmsg
//! library (a race: seeds 12 and 777 with 45 s runs showed it; no fixed sequence found).
//!
//! Every program is bounded (alarm() in the C, a deadline here) and killed on every exit path;
//! the supervisor's socket and the programs' files live in a temporary directory removed on
//! every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, threads_of, Lang, Link};
use common::{env, socket_in, Sup, PIDIN, WITHIN};
use procs::TempDir;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What each program waits, after its run, for its threads once it destroyed its channels.
const GRACE_MS: u64 = 8000;

/// A small deterministic generator (xorshift64*), for the driver's choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(2685821657736338717)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One copy of the fuzzer, its output in files; killed and reaped on drop.
struct Prog {
    child: std::process::Child,
    n: usize,
    seed: u64,
    out: PathBuf,
    err: PathBuf,
    deadline: Instant,
}

impl Prog {
    fn pid(&self) -> u32 {
        self.child.id()
    }
    fn output(&self) -> String {
        let out = std::fs::read_to_string(&self.out).unwrap_or_default();
        let err = std::fs::read_to_string(&self.err).unwrap_or_default();
        format!("stdout:\n{out}\nstderr:\n{err}")
    }
}

impl Drop for Prog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A supervised kernel in a temporary directory, the fuzzer built there, and the kernel
/// mapped to watch it. Fields drop in order: the supervisor first, the directory last.
struct Rig {
    sup: Sup,
    k: kernel_sim::Kernel,
    socket: PathBuf,
    exe: PathBuf,
    env: Vec<(&'static str, String)>,
    dir: TempDir,
}

impl Rig {
    fn new(tag: &str) -> Rig {
        let dir = TempDir::new(tag);
        let exe = dir.join("review-fuzz-programs");
        build(
            &[c_dir().join("review_fuzz_programs.c")],
            &exe,
            Lang::C99,
            Link::Shared,
        );
        let socket = socket_in(&dir);
        let sup = Sup::start(&socket, &["--stay"]);
        let k = common::watch(&socket);
        let env = env(&socket);
        Rig {
            sup,
            k,
            socket,
            exe,
            env,
            dir,
        }
    }

    /// Starts copy `n` of the fuzzer: `seed`, `run_ms` of calls in `threads` threads.
    fn start(&self, n: usize, seed: u64, run_ms: u64, threads: u32) -> Prog {
        let out = self.dir.join(&format!("prog-{n}.out"));
        let err = self.dir.join(&format!("prog-{n}.err"));
        let pids = self.dir.join("pids");
        let child = Command::new(&self.exe)
            .arg(seed.to_string())
            .arg(run_ms.to_string())
            .arg(threads.to_string())
            .arg(&pids)
            .arg(GRACE_MS.to_string())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("creating an output file"))
            .stderr(std::fs::File::create(&err).expect("creating an output file"))
            .spawn()
            .expect("starting the fuzzer");
        Prog {
            child,
            n,
            seed,
            out,
            err,
            deadline: Instant::now() + Duration::from_millis(run_ms + GRACE_MS + 12_000),
        }
    }

    /// Live objects of every pool (processes, threads, channels, connections, pulses, timers,
    /// names, interrupts).
    fn live(&self) -> [u32; 8] {
        let u = self.k.pool_usage();
        [
            u.processes.live,
            u.threads.live,
            u.channels.live,
            u.connections.live,
            u.pulses.live,
            u.timers.live,
            u.names.live,
            u.interrupts.live,
        ]
    }

    /// What `pidin-sim` shows of the kernel (it must succeed).
    fn pidin(&self) -> String {
        let out = Command::new(PIDIN)
            .arg("--kernel")
            .arg(&self.socket)
            .stdin(Stdio::null())
            .output()
            .expect("running pidin-sim");
        assert!(
            out.status.success(),
            "pidin-sim failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// What the run found.
#[derive(Default)]
struct Report {
    findings: Vec<String>,
    known: Vec<String>,
    pids: Vec<u32>,
    started: usize,
    killed: usize,
    finished: usize,
    ops: u64,
    sample: String,
}

/// Judges a program that ended by itself (not killed by the driver).
fn judge_end(p: &mut Prog, status: std::process::ExitStatus, rep: &mut Report) {
    use std::os::unix::process::ExitStatusExt;
    let text = std::fs::read_to_string(&p.out).unwrap_or_default();
    for l in text.lines() {
        if l.starts_with("FINDING") || l.starts_with("HANG") {
            rep.findings.push(l.to_string());
        } else if l.starts_with("KNOWN") {
            // One line per call and errno (the first seen).
            let key = |s: &str| {
                let call = s.split(" call=").nth(1).and_then(|c| c.split(' ').next());
                let errno = s.rsplit(" errno=").next();
                format!("{call:?} {errno:?}")
            };
            if !rep.known.iter().any(|k| key(k) == key(l)) {
                rep.known.push(l.to_string());
            }
        } else if let Some(rest) = l.strip_prefix("done ops ") {
            if rep.sample.is_empty() {
                rep.sample = l.to_string();
            }
            rep.ops += rest
                .split_whitespace()
                .next()
                .and_then(|w| w.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    rep.finished += 1;
    if !status.success() {
        let why = match (status.code(), status.signal()) {
            (Some(1), _) => "it reported findings".to_string(),
            (Some(3), _) => "it hung (a thread still in a call after its grace)".to_string(),
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(s)) => format!("killed by signal {s} (a crash, or its alarm: a hang)"),
            _ => format!("{status}"),
        };
        rep.findings.push(format!(
            "program {} (pid {}, seed {}) ended badly: {why}\n{}",
            p.n,
            p.pid(),
            p.seed,
            p.output()
        ));
    }
}

/// Runs copies of the fuzzer on `rig` for `secs`, `concurrent` at a time, killing some at
/// random: what they found.
fn fuzz(rig: &Rig, seed: u64, secs: u64, concurrent: usize) -> Report {
    let mut rng = Rng(seed | 1);
    let mut rep = Report::default();
    let mut running: Vec<Prog> = Vec::new();
    let end = Instant::now() + Duration::from_secs(secs);
    let mut n = 0usize;
    loop {
        let now = Instant::now();
        // Reap those that ended; a program past its deadline is a hang.
        let mut i = 0;
        while i < running.len() {
            let p = &mut running[i];
            if let Some(st) = p.child.try_wait().expect("waiting for a program") {
                let mut p = running.swap_remove(i);
                judge_end(&mut p, st, &mut rep);
                continue;
            }
            if now > p.deadline {
                let threads = threads_of(p.pid());
                let mut p = running.swap_remove(i);
                let _ = p.child.kill();
                let _ = p.child.wait();
                rep.findings.push(format!(
                    "program {} (pid {}, seed {}) did not finish by its deadline; its threads:\n{threads}\n{}",
                    p.n,
                    p.pid(),
                    p.seed,
                    p.output()
                ));
                continue;
            }
            i += 1;
        }
        if now >= end {
            if running.is_empty() {
                break;
            }
        } else {
            while running.len() < concurrent {
                let run_ms = 1500 + rng.below(2000);
                let threads = 4 + rng.below(5) as u32;
                let pseed = seed.wrapping_mul(1000).wrapping_add(n as u64);
                let p = rig.start(n, pseed, run_ms, threads);
                rep.pids.push(p.pid());
                rep.started += 1;
                n += 1;
                running.push(p);
            }
            // A kill now and then, at a random moment of a random program's life (starting
            // up, joining the kernel, mid-call, in its end phase).
            if rng.below(100) < 12 {
                let i = rng.below(running.len() as u64) as usize;
                let mut p = running.swap_remove(i);
                let _ = p.child.kill();
                let _ = p.child.wait();
                rep.killed += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(50 + rng.below(200)));
    }
    rep
}

/// The seed of the run: `QNXSIM_FUZZ_SEED`, else the clock's.
fn seed() -> u64 {
    match std::env::var("QNXSIM_FUZZ_SEED") {
        Ok(s) => s.trim().parse().expect("QNXSIM_FUZZ_SEED: a number"),
        Err(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("the clock")
                .as_nanos() as u64
                % 1_000_000_007
        }
    }
}

fn fuzz_secs() -> u64 {
    std::env::var("QNXSIM_FUZZ_SECS")
        .ok()
        .map(|s| s.trim().parse().expect("QNXSIM_FUZZ_SECS: a number"))
        .unwrap_or(10)
}

/// Waits until the pools are at `want` and no queue page is in use but `pages`.
fn back_to(rig: &Rig, want: [u32; 8], pages: u32, seed: u64) {
    let until = Instant::now() + WITHIN;
    loop {
        let (now, p) = (rig.live(), rig.k.async_queue_pages_in_use());
        if now == want && p == pages {
            return;
        }
        assert!(
            Instant::now() < until,
            "seed {seed}: the pools [processes, threads, channels, connections, pulses, timers, \
             names, interrupts] are {now:?} (baseline {want:?}), queue pages {p} (baseline \
             {pages}) with every program gone\n{}",
            rig.pidin()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fuzzing_programs_killed_at_random_leave_a_serving_clean_kernel() {
    let seed = seed();
    let secs = fuzz_secs();
    eprintln!("review_fuzz_programs: seed {seed}, {secs} s (replay: QNXSIM_FUZZ_SEED={seed})");
    let mut rig = Rig::new("review-fuzz-programs");
    let baseline = rig.live();
    let pages = rig.k.async_queue_pages_in_use();
    let concurrent = 3 + (seed % 2) as usize;

    let rep = fuzz(&rig, seed, secs, concurrent);
    eprintln!(
        "review_fuzz_programs: seed {seed}: {} programs started, {} killed, {} finished, {} calls \
         by those that finished",
        rep.started, rep.killed, rep.finished, rep.ops
    );
    eprintln!("review_fuzz_programs: one program's tally: {}", rep.sample);
    for k in &rep.known {
        eprintln!("review_fuzz_programs: known defect seen: {k}");
    }
    assert!(
        rep.findings.is_empty(),
        "seed {seed} (replay: QNXSIM_FUZZ_SEED={seed}): {} findings:\n{}",
        rep.findings.len(),
        rep.findings.join("\n")
    );
    // Calls were made: a run where every program died at once proves nothing.
    assert!(
        rep.finished >= 1 && rep.ops > 1000,
        "seed {seed}: too little ran ({} finished, {} calls)",
        rep.finished,
        rep.ops
    );

    // The supervisor is alive and serving: it admits a new program, which runs clean.
    assert!(
        rig.sup
            .0
            .try_wait()
            .expect("waiting for the supervisor")
            .is_none(),
        "seed {seed}: the supervisor died during the run"
    );
    let mut last = rig.start(usize::MAX, seed ^ 0x5eed, 500, 2);
    let until = Instant::now() + Duration::from_millis(500 + GRACE_MS + 12_000);
    let st = loop {
        if let Some(st) = last.child.try_wait().expect("waiting") {
            break st;
        }
        assert!(
            Instant::now() < until,
            "seed {seed}: the last program did not finish; its threads:\n{}\n{}",
            threads_of(last.pid()),
            last.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(&last.out).unwrap_or_default();
    assert!(
        st.success() && text.lines().any(|l| l.starts_with("done ops ")),
        "seed {seed}: a program started after the run failed: {st}\n{}",
        last.output()
    );
    let last_pid = last.pid();
    drop(last);

    // Every program gone: the pools are back, no process of theirs is listed.
    back_to(&rig, baseline, pages, seed);
    let snap = rig.k.snapshot();
    let all: Vec<u32> = rep.pids.iter().copied().chain([last_pid]).collect();
    for p in &snap.processes {
        assert!(
            !all.contains(&(p.pid as u32)),
            "seed {seed}: the kernel still lists gone program {}",
            p.pid
        );
    }
    let listing = rig.pidin();
    for line in listing.lines() {
        if let Some(first) = line.split_whitespace().next() {
            if let Ok(pid) = first.parse::<u32>() {
                assert!(
                    !all.contains(&pid),
                    "seed {seed}: pidin-sim shows gone program {pid}:\n{listing}"
                );
            }
        }
    }
    if !snap.masked_levels.is_empty() {
        // Documented: masks taken without _NTO_INTR_FLAGS_TRK_MSK (or with id -1) outlive
        // their taker (docs/design.md, "Interrupts", "Teardown").
        eprintln!(
            "review_fuzz_programs: levels left masked (documented): {:?}",
            snap.masked_levels
        );
    }
}

/// Runs `exe ARGS` on its own kernel, bounded: its status and output.
fn run_alone(exe: &Path, args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(exe)
        .args(args)
        .env_remove(userlib::current::KERNEL_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the program");
    let until = Instant::now() + WITHIN;
    let st = loop {
        if let Some(st) = child.try_wait().expect("waiting") {
            break st;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} {args:?} did not finish", exe.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        use std::io::Read;
        let _ = o.read_to_string(&mut out);
    }
    (st, out)
}

/// Found by the fuzzer (its asyncmsg_channel_create calls with random events): an event the
/// kernel could not deliver makes `asyncmsg_channel_create` fail with ESRCH (a pulse on a
/// coid that is no connection), EBUSY (`SIGEV_THREAD`) or EBADF (a pulse on a coid whose
/// channel is gone): MsgVerifyEvent's errnos. QNX documents EAGAIN and EINVAL for it
/// (qnx-api.md 3.4), and the same events given to TimerCreate and TimerTimeout are EINVAL
/// here (docs/deviations.md, "Calls", TimerTimeout). The cause:
/// `kernel-sim/src/calls/asyncmsg.rs`, `channel_create`, checks the event with
/// `event::deliver(.., true, ..)?` without the `.map_err(|_| Errno::EINVAL)` that `timer.rs`,
/// `timeout.rs` and `interrupt.rs` put on the same check.
#[test]
fn asyncmsg_channel_create_refuses_an_undeliverable_event_with_einval() {
    let dir = TempDir::new("review-fuzz-repro");
    let exe = dir.join("review-fuzz-programs");
    build(
        &[c_dir().join("review_fuzz_programs.c")],
        &exe,
        Lang::C99,
        Link::Shared,
    );
    let (st, out) = run_alone(&exe, &["repro-async-event"]);
    assert!(st.success() && out.contains("REPRO ok"), "{st}\n{out}");
}
