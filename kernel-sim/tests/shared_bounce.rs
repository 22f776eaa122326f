//! Long messages between programs where Linux forbids `process_vm_readv`/`writev`: they cross
//! through the kernel's region instead (calls/bounce.rs). The programs that may not make those
//! calls here really may not: each installs a seccomp filter that fails them with EPERM before
//! it joins (as a sandboxed program would be), so a single direct copy would show as EFAULT.
//! Every message kind is exercised both ways (this test program as client and as server):
//! messages longer than the window, gathered and scattered, to a waiting and to a queued
//! server, MsgRead at offsets, MsgWrite at offsets then a short reply or MsgError, replies
//! longer than the buffer, random runs of MsgWrites checked against a model; then what happens
//! without room in the arena (EAGAIN, nothing lost) and when a program is killed with a
//! message in flight (no page left behind). The same exchanges copied directly give the same
//! results.
//!
//! Every child is bounded in time and killed on every exit path; every kernel file lives in a
//! temporary directory removed on every exit path.
#![cfg(not(loom))]

mod support;

use std::time::Duration;
use support::*;

const WITHIN: Duration = Duration::from_secs(20);

/// Commands of [`serve`] (a message's first byte).
mod cmd {
    /// MsgRead the whole message (and a part from its middle), reply it with every byte plus
    /// one, status = its length.
    pub const ECHO: u8 = b'E';
    /// MsgWrite at several offsets (one past the reply buffer), then reply "ok", status 7.
    pub const WRITES: u8 = b'W';
    /// MsgWrite 5000 bytes of 9 as 100 writes of 50, then MsgError(EIO).
    pub const MANY_WRITES: u8 = b'X';
    /// Reply this thread's count of `process_vm_*` calls (8 bytes LE).
    pub const VM_CALLS: u8 = b'V';
    /// Reply, then sleep 150 ms before the next MsgReceive (the next message queues).
    pub const SLOW: u8 = b'S';
    /// MsgWrite 20 000 bytes (expected EAGAIN in a small arena), then 100 bytes of 5, then
    /// MsgReply 20 000 bytes (expected EAGAIN, which releases the client with EAGAIN).
    pub const NO_ROOM: u8 = b'L';
    /// Receive but never answer (the parent kills the client meanwhile).
    pub const HOLD: u8 = b'H';
    /// MsgWrite the writes [`super::random_writes`] makes of the seed in bytes 1..9, then
    /// reply with them too (or MsgError, as they say).
    pub const RANDOM_WRITES: u8 = b'R';
    /// Reply and stop serving.
    pub const QUIT: u8 = b'Q';
}

fn pattern(i: usize) -> u8 {
    (i * 13 + 5) as u8
}

/// The reply buffer's length in the RANDOM_WRITES exchanges.
const RANDOM_BUF: usize = 12_000;

/// What a server does for RANDOM_WRITES with `seed`: MsgWrites (offset, bytes), some past the
/// end of a [`RANDOM_BUF`]-byte reply buffer, some long, most short; then a reply (its bytes)
/// or, if `None`, MsgError(EIO).
#[allow(clippy::type_complexity)]
fn random_writes(seed: u64) -> (Vec<(usize, Vec<u8>)>, Option<Vec<u8>>) {
    let mut x = seed | 1;
    let mut next = move |below: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % below
    };
    let writes = (0..next(60) + 1)
        .map(|_| {
            let len = match next(4) {
                0 => next(5000) + 257,
                _ => next(300),
            } as usize;
            let off = next(RANDOM_BUF as u64 + 500) as usize;
            let fill = next(255) as u8 + 1;
            (off, (0..len).map(|i| fill.wrapping_add(i as u8)).collect())
        })
        .collect();
    let reply = match next(3) {
        0 => None,
        1 => Some(vec![0xab; next(200) as usize]),
        _ => Some(vec![0xcd; next(9000) as usize + 257]),
    };
    (writes, reply)
}

/// Makes Linux refuse this program's `process_vm_readv` and `process_vm_writev` (EPERM), in
/// every thread, as a sandbox's seccomp filter would.
fn forbid_process_vm() {
    seccomp_on_process_vm(libc::SECCOMP_RET_ERRNO | libc::EPERM as u32);
    // And it holds: a read of our own memory is refused.
    let (mut out, x) = (0u64, 1u64);
    let local = [libc::iovec {
        iov_base: (&mut out as *mut u64).cast(),
        iov_len: 8,
    }];
    let remote = [libc::iovec {
        iov_base: (&x as *const u64).cast_mut().cast(),
        iov_len: 8,
    }];
    // SAFETY: both buffers are ours.
    let n =
        unsafe { libc::process_vm_readv(libc::getpid(), local.as_ptr(), 1, remote.as_ptr(), 1, 0) };
    assert_eq!(n, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EPERM)
    );
}

/// Serves [`cmd`] messages on `chid` with a 1000-byte receive buffer until QUIT (or HOLD).
fn serve(t: &ThreadCtx, chid: i32) {
    let mut buf = vec![0u8; 1000];
    loop {
        let mut info = MsgInfo::default();
        let rcvid = receive(t, chid, &mut buf, Some(&mut info)).expect("MsgReceive");
        if rcvid == 0 {
            continue;
        }
        let got = info.msglen as usize;
        let whole = info.srcmsglen as usize;
        assert_eq!(got, whole.min(buf.len()), "msglen: what the buffer took");
        match buf[0] {
            cmd::ECHO => {
                let mut all = vec![0u8; whole];
                assert_eq!(t.msg_read(rcvid, &mut all, 0), Ok(whole), "MsgRead it all");
                assert_eq!(&all[..got], &buf[..got], "MsgRead agrees with MsgReceive");
                let mut mid = vec![0u8; 700];
                let at = whole / 2;
                let m = t
                    .msg_read(rcvid, &mut mid, at)
                    .expect("MsgRead from the middle");
                assert_eq!(m, 700.min(whole - at));
                assert_eq!(&mid[..m], &all[at..at + m]);
                assert_eq!(
                    t.msg_read(rcvid, &mut mid, whole),
                    Ok(0),
                    "MsgRead at the end"
                );
                let back: Vec<u8> = all.iter().map(|b| b.wrapping_add(1)).collect();
                t.msg_reply(rcvid, whole as i64, &back).expect("reply");
            }
            cmd::WRITES => {
                assert_eq!(t.msg_write(rcvid, &[1u8; 10], 5), Ok(10));
                assert_eq!(t.msg_write(rcvid, &[2u8; 300], 1000), Ok(300));
                assert_eq!(
                    t.msg_write(rcvid, &[3u8; 600], 4000),
                    Ok(500),
                    "to the end only"
                );
                assert_eq!(t.msg_write(rcvid, &[4u8; 8], 4500), Ok(0), "past the end");
                t.msg_reply(rcvid, 7, b"ok").expect("reply");
            }
            cmd::MANY_WRITES => {
                for i in 0..100 {
                    assert_eq!(t.msg_write(rcvid, &[9u8; 50], i * 50), Ok(50));
                }
                t.msg_error(rcvid, Errno::EIO).expect("MsgError");
            }
            cmd::VM_CALLS => {
                let n = vm_calls_in_this_thread();
                t.msg_reply(rcvid, 0, &n.to_le_bytes()).expect("reply");
            }
            cmd::SLOW => {
                t.msg_reply(rcvid, 0, b"").expect("reply");
                std::thread::sleep(Duration::from_millis(150));
            }
            cmd::NO_ROOM => {
                let big = vec![6u8; 20_000];
                assert_eq!(t.msg_write(rcvid, &big, 0), Err(Errno::EAGAIN));
                assert_eq!(t.msg_write(rcvid, &[5u8; 100], 0), Ok(100));
                assert_eq!(t.msg_reply(rcvid, 0, &big), Err(Errno::EAGAIN));
                assert_eq!(
                    t.msg_reply(rcvid, 0, b""),
                    Err(Errno::ESRCH),
                    "the failed reply released the client"
                );
            }
            cmd::RANDOM_WRITES => {
                let seed = u64::from_le_bytes(buf[1..9].try_into().unwrap());
                let (writes, reply) = random_writes(seed);
                for (off, bytes) in &writes {
                    let fits = bytes.len().min(RANDOM_BUF.saturating_sub(*off));
                    assert_eq!(t.msg_write(rcvid, bytes, *off), Ok(fits), "seed {seed}");
                }
                match reply {
                    Some(r) => t.msg_reply(rcvid, 1, &r).expect("reply"),
                    None => t.msg_error(rcvid, Errno::EIO).expect("MsgError"),
                }
            }
            cmd::HOLD => return,
            cmd::QUIT => {
                t.msg_reply(rcvid, 0, b"").expect("reply");
                return;
            }
            other => panic!("unknown command {other}"),
        }
    }
}

/// The client's side, against a [`serve`] at `coid`: every kind of long exchange, checked,
/// with no `process_vm_*` call of ours. Returns how many the server's thread made (it reports
/// them).
fn exercise(t: &ThreadCtx, coid: i32) -> u64 {
    let vm_before = vm_calls_in_this_thread();
    let server_vm = exercise_direct(t, coid);
    assert_eq!(
        vm_calls_in_this_thread(),
        vm_before,
        "the client made no process_vm call"
    );
    server_vm
}

/// [`exercise`], whatever path the copies take.
fn exercise_direct(t: &ThreadCtx, coid: i32) -> u64 {
    // Long, gathered from three parts into a scattered reply buffer of two.
    let mut msg: Vec<u8> = (0..20_000).map(pattern).collect();
    msg[0] = cmd::ECHO;
    let (a, rest) = msg.split_at(3);
    let (b, c) = rest.split_at(9_000);
    let (mut ra, mut rb) = (vec![0u8; 5_000], vec![0u8; 15_000]);
    assert_eq!(
        t.msg_sendv(coid, &[a, b, c], &mut [&mut ra, &mut rb]),
        Ok(20_000)
    );
    let back: Vec<u8> = ra.iter().chain(rb.iter()).copied().collect();
    assert!(
        back.iter().zip(&msg).all(|(r, m)| *r == m.wrapping_add(1)),
        "the echo of 20 000 bytes"
    );
    // At the window's edge: 256 bytes go through the window, 257 through a block.
    for len in [256usize, 257, 4096] {
        let mut m: Vec<u8> = (0..len).map(pattern).collect();
        m[0] = cmd::ECHO;
        let mut r = vec![0u8; len];
        assert_eq!(send(t, coid, &m, &mut r), Ok(len as i64), "echo of {len}");
        assert!(r.iter().zip(&m).all(|(r, m)| *r == m.wrapping_add(1)));
    }
    // A reply longer than the reply buffer: what fits.
    let mut m: Vec<u8> = (0..3_000).map(pattern).collect();
    m[0] = cmd::ECHO;
    let mut r = vec![0u8; 1_000];
    assert_eq!(send(t, coid, &m, &mut r), Ok(3_000));
    assert!(r.iter().zip(&m).all(|(r, m)| *r == m.wrapping_add(1)));
    // MsgWrites at offsets, then a short reply at 0: each lands where it was written.
    let mut r = vec![0xeeu8; 4_500];
    assert_eq!(send(t, coid, &[cmd::WRITES], &mut r), Ok(7));
    let want = |i: usize| match i {
        0 => b'o',
        1 => b'k',
        5..15 => 1,
        1000..1300 => 2,
        4000.. => 3,
        _ => 0xee,
    };
    assert!(
        r.iter().enumerate().all(|(i, &v)| v == want(i)),
        "writes and reply in place"
    );
    // A hundred small MsgWrites (more than one block of records), then MsgError: the writes
    // stay, as on QNX.
    let mut r = vec![0u8; 5_000];
    assert_eq!(send(t, coid, &[cmd::MANY_WRITES], &mut r), Err(Errno::EIO));
    assert!(r.iter().all(|&v| v == 9), "100 writes before MsgError");
    // A long message that queues (the server sleeps): the server copies it out of our block.
    assert_eq!(send(t, coid, &[cmd::SLOW], &mut []), Ok(0));
    let mut m: Vec<u8> = (0..9_000).map(pattern).collect();
    m[0] = cmd::ECHO;
    let mut r = vec![0u8; 9_000];
    assert_eq!(
        send(t, coid, &m, &mut r),
        Ok(9_000),
        "a queued long message"
    );
    assert!(r.iter().zip(&m).all(|(r, m)| *r == m.wrapping_add(1)));
    // Random writes and replies, against the model: each lands in order, clipped to the
    // buffer.
    for seed in 1..=40u64 {
        let (writes, reply) = random_writes(seed);
        let mut want: Vec<u8> = (0..RANDOM_BUF).map(|i| (i % 251) as u8).collect();
        let mut r = want.clone();
        for (off, bytes) in &writes {
            for (i, &b) in bytes.iter().enumerate() {
                if let Some(v) = want.get_mut(off + i) {
                    *v = b;
                }
            }
        }
        let expect = match &reply {
            Some(bytes) => {
                let n = bytes.len().min(RANDOM_BUF);
                want[..n].copy_from_slice(&bytes[..n]);
                Ok(1)
            }
            None => Err(Errno::EIO),
        };
        let mut m = vec![cmd::RANDOM_WRITES];
        m.extend_from_slice(&seed.to_le_bytes());
        assert_eq!(send(t, coid, &m, &mut r), expect, "seed {seed}");
        assert!(
            r == want,
            "seed {seed}: the buffer after its writes and reply"
        );
    }
    let mut n = [0u8; 8];
    assert_eq!(send(t, coid, &[cmd::VM_CALLS], &mut n), Ok(0));
    u64::from_le_bytes(n)
}

/// Where a child starts (support/procs.rs); ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    let args: Vec<&str> = arg.split(' ').collect();
    let (path, forbid) = (args[0], args[1] == "forbid");
    if forbid {
        forbid_process_vm();
    }
    let k = Kernel::open_shared(std::path::Path::new(path)).expect("open_shared");
    let (p, t) = attach(&k);
    match role.as_str() {
        "server" => {
            let chid = t.channel_create(0).expect("channel_create");
            tell_parent(&format!("ready {chid} {}", k.long_copies_through_region()));
            serve(&t, chid);
        }
        "client" => {
            let (pid, chid) = (args[2].parse().unwrap(), args[3].parse().unwrap());
            let coid = connect(&t, pid, chid);
            let vm = exercise(&t, coid);
            tell_parent(&format!("exercised {vm}"));
            assert_eq!(send(&t, coid, &[cmd::QUIT], &mut []), Ok(0));
        }
        "holder" => {
            // Sends a long message and waits for a reply that never comes.
            let (pid, chid) = (args[2].parse().unwrap(), args[3].parse().unwrap());
            let coid = connect(&t, pid, chid);
            let mut m = vec![7u8; 20_000];
            m[0] = cmd::HOLD;
            let mut r = vec![0u8; 8_000];
            tell_parent("sending");
            let _ = send(&t, coid, &m, &mut r);
            std::thread::sleep(Duration::from_secs(60));
        }
        other => panic!("unknown role {other}"),
    }
    drop(t);
    let _ = k.process_destroy(p);
}

/// The server child's chid, and whether it found long copies going through the region.
fn ready(server: &Child) -> (i32, bool) {
    let line = server.line(WITHIN);
    let mut it = line
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .split(' ');
    let chid = it.next().and_then(|s| s.parse().ok()).expect("a chid");
    (chid, it.next() == Some("true"))
}

#[test]
fn a_program_that_may_not_use_process_vm_gets_long_messages_through_the_region() {
    let (_dir, k, path) = shared("bounce");
    let (_me, t) = attach(&k);
    // (Linux allows the direct copy here unless Yama says otherwise: see the last test.)
    let yama_allows = !yama_forbids();
    if yama_allows {
        assert!(
            !k.long_copies_through_region(),
            "not until a program needs it"
        );
    }

    // A server that may not use process_vm_*: its joining switches the kernel.
    let server = Child::spawn("server", &format!("{path} forbid"));
    let _guard = ReapOnPanic::new(&k, server.pid());
    let (chid, switched) = ready(&server);
    assert!(
        switched,
        "the program that cannot copy directly switched the kernel"
    );
    assert!(k.long_copies_through_region(), "for every program of it");
    let listing = k.listing().to_string();
    assert!(
        listing.contains("long messages between programs cross through the region (0 pages"),
        "pidin says so: {listing}"
    );
    let coid = connect(&t, server.pid(), chid);
    // (Waiting: our first message goes into its writes; SLOW's makes one queue.)
    wait_receive_blocked(&k, server.pid(), 1);
    assert_eq!(exercise(&t, coid), 0, "nor did the server");
    assert_eq!(send(&t, coid, &[cmd::QUIT], &mut []), Ok(0));
    assert!(server.wait(WITHIN).success());
    assert_eq!(arena_use(&k), (0, 0), "every block freed");

    // And the other way: a client that may not, this program serving.
    let chid = t.channel_create(0).unwrap();
    let client = Child::spawn(
        "client",
        &format!("{path} forbid {} {chid}", std::process::id()),
    );
    let _guard = ReapOnPanic::new(&k, client.pid());
    let vm_before = vm_calls_in_this_thread();
    serve(&t, chid);
    assert_eq!(client.line(WITHIN), "exercised 0");
    assert!(client.wait(WITHIN).success());
    assert_eq!(
        vm_calls_in_this_thread(),
        vm_before,
        "the server made no process_vm call"
    );
    assert_eq!(arena_use(&k), (0, 0), "every block freed");
}

/// The same exchanges where Linux allows the direct copy and nothing switches: the same
/// results, with `process_vm_*` calls on the server's side (the two paths agree).
#[test]
fn the_same_exchanges_copied_directly_give_the_same_results() {
    if yama_forbids() {
        return; // (Every kernel switches here.)
    }
    let (_dir, k, path) = shared("bounce-direct");
    let (_me, t) = attach(&k);
    let server = Child::spawn("server", &format!("{path} allow"));
    let _guard = ReapOnPanic::new(&k, server.pid());
    let (chid, switched) = ready(&server);
    assert!(!switched);
    let coid = connect(&t, server.pid(), chid);
    let vm_before = vm_calls_in_this_thread();
    wait_receive_blocked(&k, server.pid(), 1);
    assert!(exercise_direct(&t, coid) > 0, "the server copied directly");
    assert!(vm_calls_in_this_thread() > vm_before, "and so did we");
    assert_eq!(send(&t, coid, &[cmd::QUIT], &mut []), Ok(0));
    assert!(server.wait(WITHIN).success());
    assert!(!k.long_copies_through_region());
}

#[test]
fn qnxsim_long_copies_region_switches_a_kernel_and_a_bad_value_is_only_warned_about() {
    let (_dir, k, path) = shared("bounce-env");
    let (_me, t) = attach(&k);
    let yama_allows = !yama_forbids();
    // A bad value: looked at as `auto` (Linux allows the copy here: no switch).
    let server = Child::spawn_with_env(
        "server",
        &format!("{path} allow"),
        &[("QNXSIM_LONG_COPIES", "bounce")],
    );
    let _guard = ReapOnPanic::new(&k, server.pid());
    let (chid, switched) = ready(&server);
    if yama_allows {
        assert!(!switched, "a bad value is `auto`");
    }
    let coid = connect(&t, server.pid(), chid);
    assert_eq!(send(&t, coid, &[cmd::QUIT], &mut []), Ok(0));
    assert!(server.wait(WITHIN).success());

    // Told to: the same exchanges, through the region, with Linux allowing the direct copy.
    let server = Child::spawn_with_env(
        "server",
        &format!("{path} allow"),
        &[("QNXSIM_LONG_COPIES", "region")],
    );
    let _guard = ReapOnPanic::new(&k, server.pid());
    let (chid, switched) = ready(&server);
    assert!(switched);
    let coid = connect(&t, server.pid(), chid);
    assert_eq!(exercise(&t, coid), 0, "no direct copy on either side");
    assert_eq!(send(&t, coid, &[cmd::QUIT], &mut []), Ok(0));
    assert!(server.wait(WITHIN).success());
    assert_eq!(arena_use(&k), (0, 0));
}

/// A kernel of 4 arena pages (16 KiB): a message or write that needs more is EAGAIN for the
/// call that needed it, and nothing else changes (the receiver waits on, the client stays
/// REPLY-blocked); a reply that needs more is EAGAIN and releases the client with EAGAIN, the
/// writes before it in its buffer. A message that fills the arena still reaches a waiting
/// server in another program (it takes the message from the client's block itself).
#[test]
fn without_room_in_the_arena_a_long_copy_is_eagain_and_nothing_is_lost() {
    let cfg = Config {
        async_queue_pages: 4,
        ..Config::default()
    };
    let (_dir, k, path) = shared_with("bounce-room", cfg);
    k.copy_long_messages_through_region().unwrap();
    let (_me, t) = attach(&k);
    let server = Child::spawn("server", &format!("{path} forbid"));
    let _guard = ReapOnPanic::new(&k, server.pid());
    let (chid, _) = ready(&server);
    let coid = connect(&t, server.pid(), chid);

    // 20 000 bytes need 5 pages for our copy: EAGAIN at once.
    let mut m = vec![0u8; 20_000];
    m[0] = cmd::ECHO;
    assert_eq!(send(&t, coid, &m, &mut []), Err(Errno::EAGAIN));
    assert_eq!(arena_use(&k), (0, 0), "nothing held after it");
    // 16 000 bytes fill the 4 pages; the waiting server takes them from our block.
    wait_receive_blocked(&k, server.pid(), 1);
    let mut m = vec![0u8; 16_000];
    m[0] = cmd::ECHO;
    assert_eq!(send(&t, coid, &m, &mut []), Ok(16_000));
    // A server's write that does not fit is EAGAIN, one that fits lands; a reply that does not
    // fit is EAGAIN and releases us with EAGAIN, the write in our buffer.
    let mut r = vec![0u8; 20_000];
    assert_eq!(send(&t, coid, &[cmd::NO_ROOM], &mut r), Err(Errno::EAGAIN));
    assert!(r[..100].iter().all(|&v| v == 5) && r[100..].iter().all(|&v| v == 0));
    // What fits still crosses: 4 000 bytes each way (one page each).
    let mut m: Vec<u8> = (0..4_000).map(pattern).collect();
    m[0] = cmd::ECHO;
    let mut r = vec![0u8; 4_000];
    assert_eq!(send(&t, coid, &m, &mut r), Ok(4_000));
    assert!(r.iter().zip(&m).all(|(r, m)| *r == m.wrapping_add(1)));
    assert_eq!(send(&t, coid, &[cmd::QUIT], &mut []), Ok(0));
    assert!(server.wait(WITHIN).success());
    assert_eq!(arena_use(&k), (0, 0));
}

/// A client killed with its long message staged and writes recorded for it: reaping it frees
/// its blocks, and its rcvid is gone.
#[test]
fn a_program_killed_with_long_messages_in_flight_leaves_no_page_behind() {
    let (_dir, k, path) = shared("bounce-kill");
    k.copy_long_messages_through_region().unwrap();
    let (_me, t) = attach(&k);
    let chid = t.channel_create(0).unwrap();
    let holder = Child::spawn(
        "holder",
        &format!("{path} forbid {} {chid}", std::process::id()),
    );
    let _guard = ReapOnPanic::new(&k, holder.pid());
    assert_eq!(holder.line(WITHIN), "sending");
    let mut buf = vec![0u8; 100];
    let mut info = MsgInfo::default();
    let rcvid = receive(&t, chid, &mut buf, Some(&mut info)).expect("MsgReceive");
    assert_eq!(info.srcmsglen, 20_000);
    let mut all = vec![0u8; 20_000];
    assert_eq!(t.msg_read(rcvid, &mut all, 0), Ok(20_000));
    assert!(all[1..].iter().all(|&v| v == 7));
    assert_eq!(t.msg_write(rcvid, &[1u8; 3_000], 10), Ok(3_000));
    let (in_use, long) = arena_use(&k);
    assert!(
        long >= 6 && in_use == long,
        "its message and our write: {long} pages"
    );
    let pid = holder.pid();
    assert!(!holder.kill().success());
    k.reap_os_process(pid);
    assert_eq!(arena_use(&k), (0, 0), "its blocks went with it");
    assert_eq!(t.msg_read(rcvid, &mut all, 0), Err(Errno::ESRCH));
    assert_eq!(t.msg_write(rcvid, b"x", 0), Err(Errno::ESRCH));
}

#[test]
fn a_kernel_of_one_program_has_no_region_path() {
    let k = Kernel::new(Config::small()).unwrap();
    assert!(!k.long_copies_through_region());
    assert_eq!(k.copy_long_messages_through_region(), Err(Errno::ENOTSUP));
}

/// Whether Yama forbids the direct copy on this machine (then every kernel switches at once).
fn yama_forbids() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .is_some_and(|s| s >= 2)
}
