//! Review: leaks over long lifecycles, as a long-running QNX server deployment meets them. A
//! long-lived server (one in Rust: this binary in a role; one in C:
//! `capi/tests/c/review_lifecycle_leaks.c`) serves while short-lived client programs come and
//! go, each making every kind of call several times: `name_open`/`name_close`,
//! `ConnectAttach`/`ConnectDetach` by pid and chid, plain sends, sends whose timeout expires
//! while the server holds them (the server's `_PULSE_CODE_UNBLOCK`), pulses, `MsgDeliverEvent`
//! after the reply, a timer the server creates, arms and deletes per request, a thread the
//! server creates per request that replies and exits, a short child program the server spawns
//! and waits for, asyncmsg connections attached and detached with messages in flight, a name of
//! the client's own attached and detached, and open/fstat/close on the server's resource
//! manager (a thread pool serves it). Some clients are killed with SIGKILL at random moments;
//! the others end normally, leaving some of their connections for the kernel to tear down.
//!
//! After a warm-up, and after each of two windows of N clients (once every client is gone and
//! the numbers have settled), the test samples the server's and the supervisor's Linux
//! descriptors, threads and private resident memory (`RssAnon`), the kernel's pools
//! (processes, threads, channels, connections, pulses, timers, names, interrupts), its asyncmsg
//! queue pages and its coids. Growth proportional to N is a leak; each test asserts that every
//! number grew by at most a small constant (`FDS`, `THREADS`, `RSS_KB`, `POOLS`, `PAGES`) at
//! both sample points. (The pages of the kernel's shared region a program has touched,
//! `RssShmem`, are printed, not judged: they grow towards the region's fixed size, 38 MiB by
//! default, as the pools' first-in first-out free lists hand out every slot in turn.) N is `QNXSIM_SOAK_CYCLES` (default `CI_CYCLES`); a long soak by hand:
//! `QNXSIM_SOAK_CYCLES=200 cargo test -p procnto-sim --test review_lifecycle_leaks`.
//!
//! Every program is bounded in time (a deadline in each role, PDEATHSIG, a bound on every wait
//! here) and killed on every exit path; each kernel lives in a temporary directory of its own,
//! removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, Lang, Link, Running};
use common::{socket_in, Sup, WITHIN};
use procs::{child_role, child_setup, tell_parent, Child, TempDir};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Clients per window in a CI run.
const CI_CYCLES: usize = 16;
/// Clients of the warm-up, before the first sample.
const WARM_UP: usize = 3;
/// Calls of each kind each client makes.
const ITERS: u32 = 8;
/// Clients running at once.
const AT_ONCE: usize = 2;
/// Growth allowed after the warm-up: Linux descriptors (server, supervisor).
const FDS: i64 = 3;
/// Growth allowed: Linux threads (the server's thread pool may hold one more or one fewer).
const THREADS: i64 = 3;
/// Growth allowed: the server's private resident memory (KiB; malloc's arenas, one per thread
/// that met another in malloc, up to 8 per CPU, may settle after the warm-up). A leak of
/// 32 KiB per round (`ITERS` rounds per client) passes it within the first window of a CI run.
const RSS_KB: i64 = 3 * 1024;
/// Growth allowed: each kernel pool's live objects.
const POOLS: i64 = 2;
/// Growth allowed: asyncmsg queue pages in use.
const PAGES: i64 = 2;

// The protocol (the same numbers in review_lifecycle_leaks.c): a 16-byte message, its type in
// the first two bytes, then three 32-bit arguments at 4, 8 and 12.
const M_ECHO: u16 = 0x2001;
const M_HOLD: u16 = 0x2002;
const M_EVENT: u16 = 0x2003;
const M_TIMER: u16 = 0x2004;
const M_THREAD: u16 = 0x2005;
const M_SPAWN: u16 = 0x2006;
/// The server's timer pulses.
const TIMER_CODE: i8 = 9;
/// Clients' pulses to the server.
const USER_CODE: i8 = 5;
/// The server's event to its client.
const EV_CODE: i8 = 7;

fn cycles() -> usize {
    std::env::var("QNXSIM_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(CI_CYCLES)
}

// ------------------------------------------------------------------------ the Rust programs

mod rs {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Arc;
    use userlib::asyncmsg::*;
    use userlib::consts::*;
    use userlib::qnx::*;
    use userlib::{Errno, RcvId};

    const NAME: &str = "leaks/rs";
    pub const DEV: &str = "/dev/leaks-rs";

    fn msg(ty: u16, a: i32, b: i32, c: i32) -> [u8; 16] {
        let mut m = [0u8; 16];
        m[..2].copy_from_slice(&ty.to_ne_bytes());
        m[4..8].copy_from_slice(&a.to_ne_bytes());
        m[8..12].copy_from_slice(&b.to_ne_bytes());
        m[12..16].copy_from_slice(&c.to_ne_bytes());
        m
    }

    fn word(m: &[u8], at: usize) -> i32 {
        i32::from_ne_bytes(m[at..at + 4].try_into().unwrap())
    }

    fn arm(flags: u32, ns: u64) {
        timer_timeout(CLOCK_MONOTONIC, flags, Some(ns)).expect("TimerTimeout");
    }

    /// The long-lived server: `arg` is its lifetime in seconds.
    pub fn server(arg: &str) {
        let end = Instant::now() + Duration::from_secs(arg.parse().expect("seconds"));
        let na = name_attach(NAME, 0).expect("name_attach");
        let chid = na.chid;
        let pid = getpid().expect("getpid");
        let achid =
            asyncmsg_channel_create(0, 0o600, 256, 16, None, None).expect("asyncmsg channel");
        // asyncmsg: one thread takes the batches.
        let _getter = userlib::spawn(move || loop {
            arm(_NTO_TIMEOUT_RECEIVE, 300_000_000);
            match asyncmsg_get(achid) {
                Ok(batch) => asyncmsg_free(batch),
                Err(Errno::ETIMEDOUT) => {}
                Err(e) => panic!("asyncmsg_get: {e:?}"),
            }
        })
        .expect("the asyncmsg thread");
        // The resource manager, served by a thread pool.
        let dpp = userlib::dispatch::dispatch_create().expect("dispatch_create");
        let (connect, io) = userlib::iofunc::iofunc_func_init::<userlib::iofunc::IofuncOcb>();
        userlib::resmgr::resmgr_attach(
            &dpp,
            None,
            Some(DEV),
            _FTYPE_ANY,
            _RESMGR_FLAG_SELF, // (its own opens find it too)
            &connect,
            &io,
            Arc::new(userlib::iofunc::IofuncAttr::new(libc::S_IFCHR | 0o666)),
        )
        .expect("resmgr_attach");
        let mut attr = userlib::thread_pool::ThreadPoolAttr::new(
            userlib::thread_pool::DispatchPool::new(&dpp),
        );
        (attr.lo_water, attr.increment, attr.hi_water, attr.maximum) = (1, 1, 2, 4);
        let pool = userlib::thread_pool::thread_pool_create(attr, 0).expect("thread pool");
        userlib::thread_pool::thread_pool_start(&pool).expect("thread_pool_start");
        let self_coid = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).expect("self coid");
        tell_parent(&format!("ready {pid} {chid} {achid}"));

        let mut held: Vec<RcvId> = Vec::new();
        let mut timers: HashMap<i32, i32> = HashMap::new();
        let mut workers: Vec<std::thread::JoinHandle<()>> = Vec::new();
        let mut events: Vec<(RcvId, SigEvent)> = Vec::new();
        let mut n = 0i32;
        while Instant::now() < end {
            // Events are delivered after the reply, at the next turn (the client may be gone).
            for (rcvid, ev) in events.drain(..) {
                let _ = msg_deliver_event(rcvid, &ev);
            }
            workers.retain(|w| !w.is_finished());
            arm(_NTO_TIMEOUT_RECEIVE, 200_000_000);
            let mut buf = [0u8; 64];
            let rcvid = match msg_receive(chid, &mut buf, None) {
                Err(Errno::ETIMEDOUT) => {
                    // A client killed while held leaves a stale rcvid.
                    held.retain(|&r| msg_info(r).is_ok());
                    continue;
                }
                Err(e) => panic!("MsgReceive: {e:?}"),
                Ok(r) => r,
            };
            if rcvid == 0 {
                let p = userlib::Pulse::from_bytes(&buf).expect("a pulse");
                match p.code {
                    _PULSE_CODE_DISCONNECT => {
                        let _ = connect_detach(p.scoid);
                    }
                    _PULSE_CODE_UNBLOCK => {
                        let r = p.value as u32 as RcvId;
                        if let Some(at) = held.iter().position(|&h| h == r) {
                            held.swap_remove(at);
                            let _ = msg_error(r, Errno::EINTR);
                        }
                    }
                    TIMER_CODE => {
                        if let Some(id) = timers.remove(&(p.value as i32)) {
                            timer_destroy(id).expect("timer_destroy");
                        }
                    }
                    _ => {}
                }
                continue;
            }
            let ty = u16::from_ne_bytes([buf[0], buf[1]]);
            match ty {
                _IO_CONNECT => {
                    let _ = msg_reply(rcvid, 0, &[]);
                }
                M_ECHO => {
                    let _ = msg_reply(rcvid, 0, &buf[..16]);
                }
                M_HOLD => held.push(rcvid),
                M_EVENT => {
                    let ev =
                        sigev_pulse_init(word(&buf, 4), 10, word(&buf, 8) as i8, word(&buf, 12));
                    if msg_reply(rcvid, 0, &[]).is_ok() {
                        events.push((rcvid, ev));
                    }
                }
                M_TIMER => {
                    n = n.wrapping_add(1);
                    let ev = sigev_pulse_init(self_coid, 10, TIMER_CODE, n);
                    let id = timer_create(CLOCK_MONOTONIC, Some(&ev)).expect("timer_create");
                    timer_settime(id, 0, 1_000_000, 0).expect("timer_settime");
                    timers.insert(n, id);
                    // And one created and deleted at once.
                    let id = timer_create(CLOCK_MONOTONIC, None).expect("timer_create");
                    timer_destroy(id).expect("timer_destroy");
                    let _ = msg_reply(rcvid, 0, &[]);
                }
                M_THREAD => {
                    // A thread of the process that is a client of the process itself (the
                    // client side of a long-lived program), pulses, replies and exits.
                    let w = userlib::spawn(move || {
                        be_a_client(pid, achid);
                        let c = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).expect("attach");
                        let _ = msg_send_pulse(c, 10, USER_CODE, 0);
                        connect_detach(c).expect("detach");
                        let _ = msg_reply(rcvid, 0, &[]);
                    })
                    .expect("a thread");
                    workers.push(w);
                }
                M_SPAWN => {
                    let w = userlib::spawn(move || {
                        let child = Child::spawn("rs-short", "");
                        let st = child.wait(WITHIN);
                        let _ = msg_reply(rcvid, i64::from(st.code().unwrap_or(-1)), &[]);
                    })
                    .expect("a thread");
                    workers.push(w);
                }
                _ => {
                    let _ = msg_error(rcvid, Errno::ENOSYS);
                }
            }
        }
    }

    /// The long-lived server's own client calls, in a thread of its: `name_open` of its own
    /// name (its main loop answers) and a message, `name_close`; open, fstat, close on its
    /// resource manager (its thread pool answers); an asyncmsg connection to its own channel,
    /// messages put and flushed, detached; a timer.
    fn be_a_client(pid: i32, achid: i32) {
        let coid = name_open(NAME, 0).expect("server: name_open");
        arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, common::LONG_NS);
        msg_send(coid, &msg(M_ECHO, 0, 0, 0), &mut [0u8; 16]).expect("server: echo");
        name_close(coid).expect("server: name_close");
        let fd = userlib::io::open(DEV, libc::O_RDONLY, 0).expect("server: open");
        userlib::io::fstat(fd).expect("server: fstat");
        userlib::io::close(fd).expect("server: close");
        let attr = AsyncConnAttr {
            max_num_buffer: 8,
            trigger_num_msg: 2,
            ..Default::default()
        };
        let ac = asyncmsg_connect_attach(0, pid, achid, _NTO_SIDE_CHANNEL, 0, &attr)
            .expect("server: asyncmsg_connect_attach");
        for k in 0..3u32 {
            asyncmsg_put(ac, vec![k as u8; 16 + 300 * k as usize], k, None).expect("put");
        }
        asyncmsg_flush_timeout(ac, Duration::from_secs(10)).expect("server: asyncmsg_flush");
        asyncmsg_connect_detach(ac).expect("server: asyncmsg_connect_detach");
        let t = timer_create(CLOCK_MONOTONIC, None).expect("server: timer_create");
        timer_destroy(t).expect("server: timer_destroy");
    }

    /// A short child the server spawns: joins the kernel, makes a call, exits.
    pub fn short() {
        let c = channel_create(0).expect("ChannelCreate");
        channel_destroy(c).expect("ChannelDestroy");
    }

    /// A client: `arg` is "PID CHID ACHID ITERS".
    pub fn client(arg: &str) {
        let v = common::numbers(arg);
        let (spid, schid, achid, iters) = (v[0] as i32, v[1] as i32, v[2] as i32, v[3] as u32);
        let me = getpid().expect("getpid");
        let mine = channel_create(0).expect("ChannelCreate");
        let me_coid = connect_attach(0, 0, mine, _NTO_SIDE_CHANNEL, 0).expect("attach");
        let send = |coid: i32, m: [u8; 16], ns: u64| {
            arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, ns);
            let mut r = [0u8; 16];
            msg_send(coid, &m, &mut r)
        };
        let long = common::LONG_NS;
        let attr = AsyncConnAttr {
            max_num_buffer: 8,
            trigger_num_msg: 2,
            ..Default::default()
        };
        for i in 0..iters as i32 {
            let coid = name_open(NAME, 0).expect("name_open");
            send(coid, msg(M_ECHO, i, 0, 0), long).expect("echo");
            // Held by the server until the timeout: its unblock pulse, then EINTR.
            let r = send(coid, msg(M_HOLD, i, 0, 0), 5_000_000);
            assert!(r.is_err(), "a held send returned {r:?}");
            msg_send_pulse(coid, 10, USER_CODE, i).expect("a pulse");
            send(coid, msg(M_EVENT, me_coid, i32::from(EV_CODE), i), long).expect("event");
            arm(_NTO_TIMEOUT_RECEIVE, long);
            let mut p = [0u8; 64];
            assert_eq!(msg_receive(mine, &mut p, None), Ok(0), "the event's pulse");
            send(coid, msg(M_TIMER, i, 0, 0), long).expect("timer");
            send(coid, msg(M_THREAD, i, 0, 0), long).expect("thread");
            if i % 3 == 0 {
                let st = send(coid, msg(M_SPAWN, i, 0, 0), 2 * long).expect("spawn");
                assert_eq!(st, 0, "the short child's status");
            }
            // By pid and chid.
            let c2 = connect_attach(0, spid, schid, _NTO_SIDE_CHANNEL, 0).expect("attach");
            send(c2, msg(M_ECHO, i, 0, 0), long).expect("echo by chid");
            connect_detach(c2).expect("detach");
            // asyncmsg, detached with messages in flight every other time.
            let ac = asyncmsg_connect_attach(0, spid, achid, _NTO_SIDE_CHANNEL, 0, &attr)
                .expect("asyncmsg_connect_attach");
            for k in 0..3u32 {
                let len = 16 + 200 * k as usize; // a short one inline, longer ones in buffers
                asyncmsg_put(ac, vec![k as u8; len], k, None).expect("asyncmsg_put");
            }
            if i % 2 == 0 {
                asyncmsg_flush_timeout(ac, Duration::from_secs(10)).expect("asyncmsg_flush");
            }
            asyncmsg_connect_detach(ac).expect("asyncmsg_connect_detach");
            // A short-lived server of our own.
            let na = name_attach(&format!("leaks/tmp-{me}-{i}"), 0).expect("name_attach");
            name_detach(&na, 0).expect("name_detach");
            // The resource manager.
            let fd = userlib::io::open(DEV, libc::O_RDONLY, 0).expect("open");
            userlib::io::fstat(fd).expect("fstat");
            userlib::io::close(fd).expect("close");
            // A client timer.
            let t = timer_create(CLOCK_MONOTONIC, None).expect("timer_create");
            timer_destroy(t).expect("timer_destroy");
            // Every other name_open is left for the process's end to close.
            if i % 2 == 0 {
                name_close(coid).expect("name_close");
            }
        }
        tell_parent("done");
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
        "rs-server" => rs::server(&arg),
        "rs-client" => rs::client(&arg),
        "rs-short" => rs::short(),
        other => panic!("unknown role {other}"),
    }
}

// ------------------------------------------------------------------------ measuring

/// A Linux process's descriptors, threads and private resident memory (KiB: `RssAnon`; the
/// kernel's shared region is left out, since the pages of it a program has touched grow towards
/// the region's fixed size as the pools' first-in first-out free lists hand out every slot in
/// turn).
/// Also its shared resident memory (`RssShmem`, KiB), reported but not judged.
fn linux_of(pid: u32) -> [i64; 4] {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as i64)
        .unwrap_or(-1);
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count() as i64)
        .unwrap_or(-1);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |field: &str| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    [fds, threads, kb("RssAnon:"), kb("RssShmem:")]
}

/// What a sample holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sample {
    /// The server's descriptors, threads, private RSS and (not judged) shared RSS (KiB).
    server: [i64; 4],
    /// The supervisor's descriptors, threads, private RSS and (not judged) shared RSS (KiB).
    sup: [i64; 4],
    /// The kernel's pools: processes, threads, channels, connections, pulses, timers, names,
    /// interrupts.
    pools: [i64; 8],
    /// asyncmsg queue pages in use.
    pages: i64,
    /// Coids (the kernel's connections count each channel a process connects to once; its
    /// coids to it are entries of the process's tables).
    coids: i64,
}

/// A supervised kernel in a temporary directory, mapped to watch it. Fields drop in order:
/// the supervisor first, the directory last.
struct Rig {
    sup: Sup,
    k: kernel_sim::Kernel,
    socket: PathBuf,
    env: Vec<(&'static str, String)>,
    dir: TempDir,
}

impl Rig {
    fn new(tag: &str) -> Rig {
        let dir = TempDir::new(tag);
        let socket = socket_in(&dir);
        let sup = Sup::start(&socket, &["--stay"]);
        let k = common::watch(&socket);
        let env = common::env(&socket);
        Rig {
            sup,
            k,
            socket,
            env,
            dir,
        }
    }

    fn pools(&self) -> [i64; 8] {
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
        .map(i64::from)
    }

    fn sample(&self, server: u32) -> Sample {
        Sample {
            server: linux_of(server),
            sup: linux_of(self.sup.0.id()),
            pools: self.pools(),
            pages: i64::from(self.k.async_queue_pages_in_use()),
            coids: self.k.snapshot().connections.len() as i64,
        }
    }

    /// Once the kernel holds no process but the server's and the numbers have not changed for
    /// 300 ms (at most `WITHIN`): the sample.
    fn settled(&self, server: u32) -> Sample {
        let until = Instant::now() + WITHIN;
        common::wait_until("only the server's process left", || {
            self.k
                .snapshot()
                .processes
                .iter()
                .all(|p| p.pid == server as i32)
        });
        let mut last = self.sample(server);
        let mut same = 0;
        while same < 3 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100));
            let now = self.sample(server);
            // RSS moves by a page here and there: not waited for.
            let key = |s: &Sample| {
                (
                    s.server[..2].to_vec(),
                    s.sup[..2].to_vec(),
                    s.pools,
                    s.pages,
                )
            };
            same = if key(&now) == key(&last) { same + 1 } else { 0 };
            last = now;
        }
        last
    }

    fn pidin(&self) -> String {
        let (_, out, err) = common::run_pidin(&["--kernel", &self.socket.display().to_string()]);
        format!("{out}{err}")
    }
}

/// A client program, killed on drop.
enum Client {
    Rust(Child),
    C(Running),
}

impl Client {
    /// Waits for its "done" and its normal end.
    fn finish(self) {
        match self {
            Client::Rust(c) => {
                assert_eq!(c.line(WITHIN), "done", "a Rust client");
                assert!(c.wait(WITHIN).success(), "a Rust client failed");
            }
            Client::C(c) => {
                let (st, out, err) = c.finish(WITHIN);
                assert!(
                    st.success() && out.lines().any(|l| l == "done"),
                    "a C client: {st}\nstdout:\n{out}\nstderr:\n{err}"
                );
            }
        }
    }

    fn kill(self) {
        match self {
            Client::Rust(c) => drop(c.kill()),
            Client::C(c) => drop(c.kill()),
        }
    }
}

/// A small deterministic generator (xorshift64*), for the kills.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(2685821657736338717) % n
    }
}

/// Runs `count` clients, `AT_ONCE` at a time; about one in three is killed (SIGKILL) at a
/// random moment of its run, the others must end normally.
fn run_clients(count: usize, rng: &mut Rng, start: &dyn Fn() -> Client) -> usize {
    let mut killed = 0;
    let mut left = count;
    while left > 0 {
        let n = left.min(AT_ONCE);
        let batch: Vec<(Client, Option<u64>)> = (0..n)
            .map(|_| {
                let kill_at = (rng.below(3) == 0).then(|| 20 + rng.below(600));
                (start(), kill_at)
            })
            .collect();
        let t0 = Instant::now();
        for (c, kill_at) in batch {
            match kill_at {
                Some(ms) => {
                    let at = t0 + Duration::from_millis(ms);
                    std::thread::sleep(at.saturating_duration_since(Instant::now()));
                    c.kill();
                    killed += 1;
                }
                None => c.finish(),
            }
        }
        left -= n;
    }
    killed
}

/// The soak: warm-up, then two windows of `cycles()` clients, sampled after each; every number
/// grew by at most its bound at both points.
fn soak(rig: &Rig, what: &str, server: u32, start: &dyn Fn() -> Client) {
    let n = cycles();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(server));
    let t = Instant::now();
    run_clients(WARM_UP, &mut rng, start);
    let s0 = rig.settled(server);
    let k1 = run_clients(n, &mut rng, start);
    let s1 = rig.settled(server);
    let k2 = run_clients(n, &mut rng, start);
    let s2 = rig.settled(server);
    eprintln!(
        "{what}: {} clients ({} killed) in {:?}, {ITERS} rounds each\n  warm: {s0:?}\n  +{n}:   {s1:?}\n  +{}:  {s2:?}",
        WARM_UP + 2 * n,
        k1 + k2,
        t.elapsed(),
        2 * n
    );
    let names = [
        "the server's descriptors",
        "the server's threads",
        "the server's private RSS (KiB)",
        "the supervisor's descriptors",
        "the supervisor's threads",
        "the supervisor's private RSS (KiB)",
        "processes",
        "threads",
        "channels",
        "connections",
        "pulses",
        "timers",
        "names",
        "interrupts",
        "asyncmsg queue pages",
        "coids",
    ];
    let flat = |s: &Sample| -> Vec<i64> {
        let mut v = vec![
            s.server[0],
            s.server[1],
            s.server[2],
            s.sup[0],
            s.sup[1],
            s.sup[2],
        ];
        v.extend_from_slice(&s.pools);
        v.push(s.pages);
        v.push(s.coids);
        v
    };
    let mut pools = [POOLS; 8];
    pools[1] = THREADS; // (the server's thread pool)
    let bounds: Vec<i64> = [FDS, THREADS, RSS_KB, FDS, THREADS, RSS_KB]
        .into_iter()
        .chain(pools)
        .chain([PAGES, POOLS])
        .collect();
    let (v0, v1, v2) = (flat(&s0), flat(&s1), flat(&s2));
    let mut grew = Vec::new();
    for i in 0..names.len() {
        assert!(v0[i] >= 0, "{what}: {} could not be read", names[i]);
        for (after, v) in [(n, &v1), (2 * n, &v2)] {
            if v[i] - v0[i] > bounds[i] {
                grew.push(format!(
                    "{} grew from {} to {} after {after} clients (bound +{})",
                    names[i], v0[i], v[i], bounds[i]
                ));
            }
        }
    }
    assert!(
        grew.is_empty(),
        "{what}: leaks:\n  {}\n{}",
        grew.join("\n  "),
        rig.pidin()
    );
}

/// Lifetime of a server (s): long enough for the soak.
fn server_secs() -> u64 {
    60 + 3 * (WARM_UP + 2 * cycles()) as u64
}

#[test]
fn a_rust_server_its_supervisor_and_the_kernel_do_not_grow_as_clients_come_and_go() {
    let rig = Rig::new("leaks-rs");
    let env: Vec<(&str, &str)> = rig.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Child::spawn_with_env("rs-server", &server_secs().to_string(), &env);
    let ready = common::ready(&server);
    let v = common::numbers(&ready);
    let spid = v[0] as u32;
    assert_eq!(
        spid as i32,
        server.pid(),
        "the server's pid is its Linux pid"
    );
    let arg = format!("{} {} {} {ITERS}", v[0], v[1], v[2]);
    let start = || Client::Rust(Child::spawn_with_env("rs-client", &arg, &env));
    soak(&rig, "Rust server", spid, &start);
    drop(server);
}

#[test]
fn a_c_server_its_supervisor_and_the_kernel_do_not_grow_as_clients_come_and_go() {
    let rig = Rig::new("leaks-c");
    let exe = rig.dir.join("review-lifecycle-leaks");
    build(
        &[c_dir().join("review_lifecycle_leaks.c")],
        &exe,
        Lang::C99,
        Link::Shared,
    );
    let env: Vec<(&str, &str)> = rig.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = Running::start(&exe, &["server", &server_secs().to_string()], &env);
    let ready = server.line();
    let v = common::numbers(ready.strip_prefix("ready ").expect("ready PID CHID ACHID"));
    let spid = v[0] as u32;
    assert_eq!(spid, server.pid(), "the server's pid is its Linux pid");
    let (p, c, a, it) = (
        v[0].to_string(),
        v[1].to_string(),
        v[2].to_string(),
        ITERS.to_string(),
    );
    let start = || Client::C(Running::start(&exe, &["client", &p, &c, &a, &it], &env));
    soak(&rig, "C server", spid, &start);
    drop(server);
}
