//! Round trips between two Linux processes: SRR on one shared kernel against a futex
//! ping-pong, a spin-then-futex ping-pong and a pipe ping-pong between the same two processes,
//! measured in the same run.
//!
//! The client is this program; the server is this program re-run as a child
//! (`--serve MODEL ...`), pinned as the placement says. Each round trip carries `--size` bytes
//! each way:
//!
//! * `SRR`: MsgSend / MsgReceive / MsgReply on a kernel shared through a memory file
//!   (`QNXSIM_KERNEL`, no supervisor); the server's pid is its Linux pid.
//! * `futex`: two mailboxes (a futex word and the message) in a shared mapping, process-shared
//!   futexes; each side sleeps at once and the poster always wakes.
//! * `spin-futex`: the same, but each side first spins on its word for up to the kernel's spin
//!   budget (`Config::spin_ns`), then announces its sleep; woken only if it announced it.
//! * `pipe`: two named pipes, blocking `write` and `read`.
//!
//! Runs are interleaved (every model once per round, the order rotated), each the median of its
//! round trips' wall time; the table shows the median over the runs, the fastest and slowest
//! run, the CPU time of both processes per round trip, and the ratios on the same placement.
//! Target (issue 13): SRR's round trip at most 1.2x the futex ping-pong's on each placement.
//!
//! ```text
//! cargo run --release -p benches --bin xproc_roundtrip [-- --runs N] [--iters N] [--size BYTES] [--quick]
//! ```

use benches::harness::{median, min_max, pin_current_thread, Placement};
use benches::machine::MachineInfo;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// SRR's round trip at most this many times the futex ping-pong's (same placement).
const TARGET_VS_FUTEX: f64 = 1.2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    Srr,
    Futex,
    SpinFutex,
    Pipe,
}

const MODELS: [Model; 4] = [Model::Srr, Model::Futex, Model::SpinFutex, Model::Pipe];

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::Srr => "SRR",
            Model::Futex => "futex",
            Model::SpinFutex => "spin-futex",
            Model::Pipe => "pipe",
        }
    }

    fn from_name(s: &str) -> Option<Model> {
        MODELS.into_iter().find(|m| m.name() == s)
    }
}

#[derive(Debug)]
struct Opts {
    runs: usize,
    iters: u64,
    size: usize,
}

fn usage(code: i32) -> ! {
    let text = "usage: xproc_roundtrip [--runs N] [--iters N] [--size BYTES] [--quick]\n\
        \x20 --runs N      runs per (model, placement), 1..=100 (default 5)\n\
        \x20 --iters N     timed round trips per run, 1..=10000000 (default 20000)\n\
        \x20 --size BYTES  bytes each way, 1..=65536 (default 64)\n\
        \x20 --quick       1 run of 300 round trips: a smoke check, not a measurement";
    if code == 0 {
        println!("{text}");
    } else {
        eprintln!("{text}");
    }
    std::process::exit(code)
}

fn parse_args(args: &[String]) -> Opts {
    let mut o = Opts {
        runs: 5,
        iters: 20_000,
        size: 64,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str, max: u64| -> u64 {
            match it.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(v) if (1..=max).contains(&v) => v,
                _ => {
                    eprintln!("{name} needs a number from 1 to {max}");
                    usage(2)
                }
            }
        };
        match a.as_str() {
            "--runs" => o.runs = num("--runs", 100) as usize,
            "--iters" => o.iters = num("--iters", 10_000_000),
            "--size" => o.size = num("--size", 65_536) as usize,
            "--quick" => {
                o.runs = 1;
                o.iters = 300;
            }
            "-h" | "--help" => usage(0),
            other => {
                eprintln!("unknown argument {other:?}");
                usage(2)
            }
        }
    }
    o
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        serve(&args[1..]);
        return;
    }
    let o = parse_args(&args);
    let dir = TempDir::new();
    let machine = MachineInfo::current();
    let placements: Vec<Placement> = Placement::same_cpu()
        .into_iter()
        .chain(Placement::cross_cpu())
        .chain([Placement::Unpinned])
        .collect();
    println!(
        "round trips between two Linux processes, {} bytes each way",
        o.size
    );
    println!("CPU:        {}", machine.cpu_model);
    println!(
        "cores:      {} online, allowed CPUs {}",
        machine.cpus_online,
        machine.allowed_list()
    );
    println!("kernel:     {}", machine.kernel);
    println!(
        "runs:       {} per (model, placement), interleaved; {} timed round trips per run after {} of warm-up",
        o.runs,
        o.iters,
        warmup(o.iters)
    );
    println!("placements: same-cpu = client and server on the first CPU; cross-cpu = server on the first, client on the second; unpinned = Linux places them");
    println!("spin:       SRR's kernel and spin-futex spin up to {} µs before sleeping when the peer runs on another CPU", userlib::Config::default().spin_ns / 1000);
    let mut cells: Vec<(Placement, Model, Vec<Run>)> = Vec::new();
    for &p in &placements {
        for m in MODELS {
            cells.push((p, m, Vec::new()));
        }
    }
    for run in 0..o.runs {
        for &p in &placements {
            let mut order = MODELS.to_vec();
            order.rotate_left(run % MODELS.len());
            for m in order {
                let r = measure(&dir, m, p, &o, run);
                eprintln!(
                    "run {}/{} {:10} {:9} {:8.3} µs/rt",
                    run + 1,
                    o.runs,
                    m.name(),
                    p.key(),
                    r.us_per_rt
                );
                if let Some(c) = cells.iter_mut().find(|c| c.0 == p && c.1 == m) {
                    c.2.push(r);
                }
            }
        }
    }
    println!();
    println!(
        "{:<11} {:<10} {:>10} {:>17} {:>12}  {:>9} {:>9} {:>9}",
        "model", "placement", "µs/rt", "min-max", "cpu µs/rt", "x futex", "x spin", "x pipe"
    );
    let med = |p: Placement, m: Model| {
        cells
            .iter()
            .find(|c| c.0 == p && c.1 == m)
            .map_or(f64::NAN, |c| {
                median(&c.2.iter().map(|r| r.us_per_rt).collect::<Vec<_>>())
            })
    };
    let mut verdicts = Vec::new();
    for &p in &placements {
        for m in MODELS {
            let Some(c) = cells.iter().find(|c| c.0 == p && c.1 == m) else {
                continue;
            };
            let times: Vec<f64> = c.2.iter().map(|r| r.us_per_rt).collect();
            let cpu: Vec<f64> = c.2.iter().map(|r| r.cpu_us_per_rt).collect();
            let t = median(&times);
            let (lo, hi) = min_max(&times).unwrap_or((f64::NAN, f64::NAN));
            // Ratios of times: above 1 means slower than the baseline.
            let ratio = |b: Model| {
                if b == m {
                    "-".to_string()
                } else {
                    format!("{:.3}", t / med(p, b))
                }
            };
            println!(
                "{:<11} {:<10} {:>10.3} {:>8.3}-{:<8.3} {:>12.3}  {:>9} {:>9} {:>9}",
                m.name(),
                p.key(),
                t,
                lo,
                hi,
                median(&cpu),
                ratio(Model::Futex),
                ratio(Model::SpinFutex),
                ratio(Model::Pipe)
            );
        }
        let v = med(p, Model::Srr) / med(p, Model::Futex);
        verdicts.push((p, v));
    }
    println!();
    println!("x futex = this row's round-trip time / the futex ping-pong's (above 1: slower), ratios of medians; cpu = user + system time of both processes per round trip (spinning shows here)");
    println!();
    println!("targets:");
    for (p, v) in verdicts {
        println!(
            "  SRR round trip between processes <= {TARGET_VS_FUTEX}x the futex ping-pong's  {:<10} {:>7.3}   {}",
            p.key(),
            v,
            if v <= TARGET_VS_FUTEX { "met" } else { "MISSED" }
        );
    }
}

fn warmup(iters: u64) -> u64 {
    (iters / 10).clamp(10, 2_000)
}

/// One run's figures.
#[derive(Clone, Copy, Debug)]
struct Run {
    us_per_rt: f64,
    cpu_us_per_rt: f64,
}

/// A directory for the run's files, removed on every exit path (and its children killed
/// first: [`Server`]'s drop).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let d = std::env::temp_dir().join(format!("qnxsim-xproc-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a temporary directory");
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server process: killed and reaped on drop unless it ended.
struct Server {
    child: Option<Child>,
    lines: BufReader<std::process::ChildStdout>,
}

impl Server {
    fn start(model: Model, path: &Path, size: usize, total: u64, cpu: Option<usize>) -> Server {
        let exe = std::env::current_exe().expect("this program's path");
        let mut child = Command::new(exe)
            .arg("--serve")
            .arg(model.name())
            .arg(path)
            .arg(size.to_string())
            .arg(total.to_string())
            .arg(cpu.map_or("-".into(), |c| c.to_string()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the server process");
        let lines = BufReader::new(child.stdout.take().expect("its stdout"));
        Server {
            child: Some(child),
            lines,
        }
    }

    /// The server's next line ("ready ..."); panics if it ends first.
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.lines.read_line(&mut l).expect("reading the server");
        assert!(!l.is_empty(), "the server ended before it was ready");
        l.trim_end().to_string()
    }

    /// Waits for the server to end (it serves a known number of round trips); returns its CPU
    /// time, from `wait4`.
    fn finish(mut self) -> Duration {
        let child = self.child.take().expect("a server");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: plain arguments; `status` and `ru` live across the call.
        let r = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, &mut ru) };
        assert!(
            r == pid.as_raw() && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the server failed"
        );
        std::mem::forget(child); // Reaped by wait4 above.
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn tv(t: libc::timeval) -> Duration {
    Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000)
}

fn self_cpu() -> Duration {
    let u = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .expect("getrusage");
    let d =
        |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    d(u.user_time()) + d(u.system_time())
}

/// One run of `model` on placement `p`: starts a server process, makes the warm-up and the
/// timed round trips, and returns the timed part's figures.
fn measure(dir: &TempDir, model: Model, p: Placement, o: &Opts, run: usize) -> Run {
    let (server_cpu, client_cpu) = match p {
        Placement::SameCpu(c) => (Some(c), Some(c)),
        Placement::CrossCpu { consumer, producer } => (Some(consumer), Some(producer)),
        Placement::Unpinned => (None, None),
    };
    unpin();
    if let Some(c) = client_cpu {
        pin_current_thread(c).expect("pinning the client");
    }
    let path = dir.0.join(format!("{}-{}-{run}", model.name(), p.key()));
    let total = warmup(o.iters) + o.iters;
    let size = o.size;
    let (elapsed, cpu) = match model {
        Model::Srr => srr_client(&path, size, total, o.iters, server_cpu),
        Model::Futex | Model::SpinFutex => {
            mailbox_client(model, &path, size, total, o.iters, server_cpu)
        }
        Model::Pipe => pipe_client(&path, size, total, o.iters, server_cpu),
    };
    let _ = std::fs::remove_file(&path);
    Run {
        us_per_rt: elapsed.as_secs_f64() * 1e6 / o.iters as f64,
        cpu_us_per_rt: cpu.as_secs_f64() * 1e6 / o.iters as f64,
    }
}

fn unpin() {
    let mut set = nix::sched::CpuSet::new();
    for c in benches::harness::allowed_cpus() {
        let _ = set.set(c);
    }
    let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
}

/// Times `timed` round trips after `total - timed` of warm-up; returns (wall, CPU of both
/// processes during the whole exchange, warm-up included, scaled to the timed part).
fn time_round_trips(
    server: Server,
    total: u64,
    timed: u64,
    mut round_trip: impl FnMut(u64),
) -> (Duration, Duration) {
    let cpu0 = self_cpu();
    let warm = total - timed;
    for i in 0..warm {
        round_trip(i);
    }
    let start = Instant::now();
    for i in warm..total {
        round_trip(i);
    }
    let elapsed = start.elapsed();
    let client_cpu = self_cpu().saturating_sub(cpu0);
    let server_cpu = server.finish();
    let scale = timed as f64 / total as f64;
    (elapsed, (client_cpu + server_cpu).mul_f64(scale))
}

// ------------------------------------------------------------------------------------ SRR

fn srr_client(
    path: &Path,
    size: usize,
    total: u64,
    timed: u64,
    server_cpu: Option<usize>,
) -> (Duration, Duration) {
    use userlib::consts::*;
    let k =
        userlib::Kernel::create_shared(path, userlib::Config::default()).expect("a shared kernel");
    let me = k.process_attach_self().expect("joining it");
    let t = k.thread_attach(me, 10).expect("a kernel thread");
    let mut server = Server::start(Model::Srr, path, size, total, server_cpu);
    let line = server.line();
    let mut w = line
        .split(' ')
        .skip(1)
        .map(|s| s.parse::<i32>().expect("pid chid"));
    let (pid, chid) = (w.next().expect("pid"), w.next().expect("chid"));
    let coid = t
        .connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("ConnectAttach to the server process");
    let mut req = vec![0u8; size];
    let mut reply = vec![0u8; size];
    let r = time_round_trips(server, total, timed, |i| {
        req[0] = i as u8;
        let st = t.msg_send(coid, &req, &mut reply).expect("MsgSend");
        assert_eq!(
            (st, reply[0]),
            (size as i64, i as u8 ^ 0xff),
            "a wrong reply"
        );
    });
    drop(t);
    let _ = k.process_destroy(me);
    r
}

fn srr_server(path: &Path, size: usize, total: u64) {
    let k = userlib::Kernel::open_shared(path).expect("the shared kernel");
    let me = k.process_attach_self().expect("joining it");
    let t = k.thread_attach(me, 10).expect("a kernel thread");
    let chid = t.channel_create(0).expect("ChannelCreate");
    println!("ready {} {chid}", me.pid);
    let _ = std::io::stdout().flush();
    let mut req = vec![0u8; size];
    let mut reply = vec![0u8; size];
    for _ in 0..total {
        let rcvid = t.msg_receive(chid, &mut req, None).expect("MsgReceive");
        reply[0] = req[0] ^ 0xff;
        t.msg_reply(rcvid, size as i64, &reply).expect("MsgReply");
    }
    drop(t);
    let _ = k.process_destroy(me);
}

// ------------------------------------------------------------------------ futex mailboxes

/// The shared mapping: two mailboxes (to the server, to the client), each a word on its own
/// 128-byte block and the message after it.
struct Shared {
    base: *mut u8,
    len: usize,
    size: usize,
}

const WORD_BLOCK: usize = 128;
const SLEEPING: u32 = 1;

impl Shared {
    fn map(path: &Path, size: usize, create: bool) -> Shared {
        use std::os::fd::AsFd;
        let len = 2 * (WORD_BLOCK + size.div_ceil(WORD_BLOCK) * WORD_BLOCK);
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
            .expect("the shared mapping's file");
        if create {
            f.set_len(len as u64).expect("sizing it");
        }
        // SAFETY: a shared mapping of a file we hold open; both processes touch it only through
        // atomics (the words) and the ping-pong protocol (the messages).
        let p = unsafe {
            nix::sys::mman::mmap(
                None,
                std::num::NonZeroUsize::new(len).expect("non-zero"),
                nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE,
                nix::sys::mman::MapFlags::MAP_SHARED,
                f.as_fd(),
                0,
            )
        }
        .expect("mmap");
        Shared {
            base: p.as_ptr().cast(),
            len,
            size,
        }
    }

    fn box_at(&self, which: usize) -> *mut u8 {
        // SAFETY: within the mapping (`len` covers two boxes).
        unsafe { self.base.add(which * self.len / 2) }
    }

    fn word(&self, which: usize) -> &AtomicU32 {
        // SAFETY: the box starts with an aligned u32 that both processes use only atomically.
        unsafe { &*(self.box_at(which) as *const AtomicU32) }
    }

    fn data(&self, which: usize) -> *mut u8 {
        // SAFETY: the message follows the word's block, within the box.
        unsafe { self.box_at(which).add(WORD_BLOCK) }
    }

    /// Posts `msg` into box `which` (see compare's mailbox baseline for the protocol).
    fn post(&self, which: usize, msg: &[u8], spin: bool) {
        // SAFETY: by the ping-pong protocol the peer is not reading this box's message now.
        unsafe { std::ptr::copy_nonoverlapping(msg.as_ptr(), self.data(which), self.size) };
        let word = self.word(which);
        if spin {
            let posts = (word.load(Ordering::Relaxed) >> 1).wrapping_add(1);
            if word.swap(posts << 1, Ordering::Release) & SLEEPING != 0 {
                benches::futex::wake_shared(word, 1);
            }
        } else {
            word.fetch_add(1, Ordering::Release);
            benches::futex::wake_shared(word, 1);
        }
    }

    /// Waits for box `which` to move past `seen`, copies its message out; returns the count.
    fn take(&self, which: usize, seen: u32, out: &mut [u8], spin: Option<Duration>) -> u32 {
        let word = self.word(which);
        let s = match spin {
            None => {
                let mut s = word.load(Ordering::Acquire);
                while s == seen {
                    benches::futex::wait_shared(word, seen);
                    s = word.load(Ordering::Acquire);
                }
                s
            }
            Some(budget) => {
                let start = Instant::now();
                let mut got = None;
                'spin: while start.elapsed() < budget {
                    for _ in 0..64 {
                        let w = word.load(Ordering::Acquire);
                        if w >> 1 != seen {
                            got = Some(w >> 1);
                            break 'spin;
                        }
                        std::hint::spin_loop();
                    }
                }
                match got {
                    Some(s) => s,
                    None => loop {
                        let w = word.load(Ordering::Acquire);
                        if w >> 1 != seen {
                            break w >> 1;
                        }
                        if w & SLEEPING == 0
                            && word
                                .compare_exchange(
                                    w,
                                    w | SLEEPING,
                                    Ordering::Acquire,
                                    Ordering::Acquire,
                                )
                                .is_err()
                        {
                            continue;
                        }
                        benches::futex::wait_shared(word, w | SLEEPING);
                    },
                }
            }
        };
        // SAFETY: the Acquire load saw the poster's Release update: its message is complete.
        unsafe { std::ptr::copy_nonoverlapping(self.data(which), out.as_mut_ptr(), self.size) };
        s
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: the mapping `map` made; nothing uses it any more.
        unsafe {
            let _ = nix::sys::mman::munmap(
                std::ptr::NonNull::new_unchecked(self.base.cast()),
                self.len,
            );
        }
    }
}

fn spin_budget(model: Model) -> Option<Duration> {
    (model == Model::SpinFutex)
        .then(|| Duration::from_nanos(u64::from(userlib::Config::default().spin_ns)))
}

fn mailbox_client(
    model: Model,
    path: &Path,
    size: usize,
    total: u64,
    timed: u64,
    server_cpu: Option<usize>,
) -> (Duration, Duration) {
    let sh = Shared::map(path, size, true);
    let mut server = Server::start(model, path, size, total, server_cpu);
    let _ = server.line();
    let spin = spin_budget(model);
    let mut req = vec![0u8; size];
    let mut reply = vec![0u8; size];
    let mut seen = 0u32;
    time_round_trips(server, total, timed, |i| {
        req[0] = i as u8;
        sh.post(0, &req, spin.is_some());
        seen = sh.take(1, seen, &mut reply, spin);
        assert_eq!(reply[0], i as u8 ^ 0xff, "a wrong reply");
    })
}

fn mailbox_server(model: Model, path: &Path, size: usize, total: u64) {
    let sh = Shared::map(path, size, false);
    println!("ready");
    let _ = std::io::stdout().flush();
    let spin = spin_budget(model);
    let mut req = vec![0u8; size];
    let mut reply = vec![0u8; size];
    let mut seen = 0u32;
    for _ in 0..total {
        seen = sh.take(0, seen, &mut req, spin);
        reply[0] = req[0] ^ 0xff;
        sh.post(1, &reply, spin.is_some());
    }
}

// ------------------------------------------------------------------------------- pipes

fn fifo_paths(path: &Path) -> (PathBuf, PathBuf) {
    (
        path.with_extension("to-server"),
        path.with_extension("to-client"),
    )
}

fn pipe_client(
    path: &Path,
    size: usize,
    total: u64,
    timed: u64,
    server_cpu: Option<usize>,
) -> (Duration, Duration) {
    let (up, down) = fifo_paths(path);
    for p in [&up, &down] {
        nix::unistd::mkfifo(p.as_path(), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    }
    let mut server = Server::start(Model::Pipe, path, size, total, server_cpu);
    // (Opening a FIFO waits for its other end: the server opens them in the same order.)
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(&up)
        .expect("to-server");
    let mut r = std::fs::File::open(&down).expect("to-client");
    let _ = server.line();
    let mut req = vec![0u8; size];
    let mut reply = vec![0u8; size];
    let out = time_round_trips(server, total, timed, |i| {
        req[0] = i as u8;
        w.write_all(&req).expect("write");
        r.read_exact(&mut reply).expect("read");
        assert_eq!(reply[0], i as u8 ^ 0xff, "a wrong reply");
    });
    for p in [&up, &down] {
        let _ = std::fs::remove_file(p);
    }
    out
}

fn pipe_server(path: &Path, size: usize, total: u64) {
    let (up, down) = fifo_paths(path);
    let mut r = std::fs::File::open(&up).expect("to-server");
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(&down)
        .expect("to-client");
    println!("ready");
    let _ = std::io::stdout().flush();
    let mut req = vec![0u8; size];
    let mut reply = vec![0u8; size];
    for _ in 0..total {
        r.read_exact(&mut req).expect("read");
        reply[0] = req[0] ^ 0xff;
        w.write_all(&reply).expect("write");
    }
}

// ------------------------------------------------------------------------------ the server

/// `--serve MODEL PATH SIZE TOTAL CPU|-`: serves TOTAL round trips, then exits 0. Dies with its
/// parent.
fn serve(args: &[String]) {
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let [model, path, size, total, cpu] = args else {
        eprintln!("xproc_roundtrip --serve: MODEL PATH SIZE TOTAL CPU|-");
        std::process::exit(2)
    };
    let (Some(model), Ok(size), Ok(total)) = (
        Model::from_name(model),
        size.parse::<usize>(),
        total.parse::<u64>(),
    ) else {
        eprintln!("xproc_roundtrip --serve: bad arguments {args:?}");
        std::process::exit(2)
    };
    if let Ok(c) = cpu.parse::<usize>() {
        pin_current_thread(c).expect("pinning the server");
    }
    let path = Path::new(path);
    match model {
        Model::Srr => srr_server(path, size, total),
        Model::Futex | Model::SpinFutex => mailbox_server(model, path, size, total),
        Model::Pipe => pipe_server(path, size, total),
    }
}
