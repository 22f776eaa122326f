//! One kernel shared by Linux processes: the region in a memory file, mapped by a second
//! program (this test binary re-run as a child, support/procs.rs), whose simulated pid is its
//! Linux pid. Messages, replies, MsgRead/MsgWrite and pulses cross between the two address
//! spaces, copied once by the thread in the kernel call; what is refused is refused with its
//! errno. Every child is bounded in time and killed on every exit path; every region file lives
//! in a temporary directory removed on every exit path.
#![cfg(not(loom))]

mod support;

use std::time::Duration;
use support::*;

const WITHIN: Duration = Duration::from_secs(20);

/// The message commands the child server understands (first byte).
mod cmd {
    /// Reply with the rest in upper case, status = its length.
    pub const UPPER: u8 = b'U';
    /// MsgRead the client's message from offset 1, MsgWrite "written" at offset 4 of its
    /// reply buffer, then reply "abcd" with status = the bytes MsgRead got.
    pub const READ_WRITE: u8 = b'R';
    /// Reply with the last pulse received: code (1 byte) and value (4 bytes LE).
    pub const LAST_PULSE: u8 = b'P';
    /// Reply with the sender's pid and tid as MsgInfo gave them (two i32 LE).
    pub const WHO: u8 = b'I';
    /// Check a 64 KiB pattern (status = bytes that matched) and reply 64 KiB of pattern.
    pub const BIG: u8 = b'B';
    /// Reply, then wait 100 ms before the next MsgReceive (the next message queues).
    pub const SLOW: u8 = b'S';
    /// Reply [`BIG_REPLY`] bytes and tell the parent what MsgReply returned
    /// ("reply-result ERRNO|ok").
    pub const REPLY_AND_TELL: u8 = b'F';
    /// Reply, then MsgReceive one message on the second channel (reply to it) before coming
    /// back to the first: meanwhile messages queue on the first.
    pub const AWAY: u8 = b'W';
    /// MsgWrite 4 bytes at offset 0 of the client's reply buffer and tell the parent what it
    /// returned ("write-result ERRNO|N"), then MsgError(EOK).
    pub const WRITE_AND_TELL: u8 = b'X';
    /// Reply 0 and end.
    pub const QUIT: u8 = b'Q';
}

/// An address no process maps (below Linux's `mmap_min_addr`): what a broken or hostile
/// program passes as a buffer.
const UNMAPPED: u64 = 0x1000;

/// Longer than a thread's message window (`kernel_sim::WINDOW`): such messages and replies are
/// copied straight between the two programs' buffers, where Linux checks the addresses. (A
/// short one goes through the region, and a program's own bad buffer then faults in that
/// program, as within one program: docs/deviations.md.)
const BIG_REPLY: usize = 4096;

fn pattern(i: usize) -> u8 {
    (i * 7 + 3) as u8
}

/// The child's side: a server in its own Linux process on the shared kernel at `path`.
fn echo_server(path: &str) {
    let k = Kernel::open_shared(std::path::Path::new(path)).expect("open_shared");
    let p = k.process_attach_self().expect("process_attach_self");
    assert_eq!(
        p.pid,
        std::process::id() as i32,
        "the simulated pid is the Linux pid"
    );
    let t = k.thread_attach(p, 10).expect("thread_attach");
    let chid = t.channel_create(0).expect("channel_create");
    let chid2 = t.channel_create(0).expect("channel_create");
    tell_parent(&format!("ready {chid} {chid2}"));
    let mut last_pulse = (0i8, 0i32);
    let mut buf = vec![0u8; 70_000];
    loop {
        let mut info = MsgInfo::default();
        let rcvid = receive(&t, chid, &mut buf, Some(&mut info)).expect("MsgReceive");
        if rcvid == 0 {
            let pl = Pulse::from_bytes(&buf).expect("a pulse");
            last_pulse = (pl.code, pl.value as u32 as i32);
            continue;
        }
        let n = info.msglen as usize;
        match buf[0] {
            cmd::UPPER => {
                let up: Vec<u8> = buf[1..n].to_ascii_uppercase();
                t.msg_reply(rcvid, up.len() as i64, &up).expect("reply");
            }
            cmd::READ_WRITE => {
                let mut r = [0u8; 100];
                let got = t.msg_read(rcvid, &mut r, 1).expect("MsgRead");
                assert_eq!(&r[..got], &buf[1..n], "MsgRead reads the client's message");
                assert_eq!(t.msg_write(rcvid, b"written", 4), Ok(7));
                t.msg_reply(rcvid, got as i64, b"abcd").expect("reply");
            }
            cmd::LAST_PULSE => {
                let mut out = vec![last_pulse.0 as u8];
                out.extend_from_slice(&last_pulse.1.to_le_bytes());
                t.msg_reply(rcvid, 0, &out).expect("reply");
            }
            cmd::WHO => {
                let mut out = info.pid.to_le_bytes().to_vec();
                out.extend_from_slice(&info.tid.to_le_bytes());
                t.msg_reply(rcvid, 0, &out).expect("reply");
            }
            cmd::BIG => {
                let ok = (1..n).filter(|&i| buf[i] == pattern(i)).count();
                let big: Vec<u8> = (0..65_536).map(pattern).collect();
                t.msg_reply(rcvid, ok as i64, &big).expect("reply");
            }
            cmd::SLOW => {
                t.msg_reply(rcvid, 0, b"").expect("reply");
                std::thread::sleep(Duration::from_millis(100));
            }
            cmd::REPLY_AND_TELL => {
                let r = t.msg_reply(rcvid, 0, &[7u8; BIG_REPLY]);
                tell_parent(&format!("reply-result {}", result_text(r.map(|()| 0))));
            }
            cmd::AWAY => {
                t.msg_reply(rcvid, 0, b"").expect("reply");
                let mut b = [0u8; 8];
                let r2 = receive(&t, chid2, &mut b, None).expect("MsgReceive on the second");
                t.msg_reply(r2, 0, b"").expect("reply on the second");
            }
            cmd::WRITE_AND_TELL => {
                let r = t.msg_write(rcvid, b"four", 0);
                tell_parent(&format!("write-result {}", result_text(r)));
                t.msg_error(rcvid, Errno::EOK).expect("MsgError");
            }
            cmd::QUIT => {
                t.msg_reply(rcvid, 0, b"").expect("reply");
                break;
            }
            other => panic!("unknown command {other}"),
        }
    }
    drop(t);
    k.process_destroy(p).expect("process_destroy");
}

fn result_text(r: KResult<usize>) -> String {
    match r {
        Ok(n) => n.to_string(),
        Err(e) => e.name().unwrap_or("?").to_string(),
    }
}

/// The child's side: a client in its own Linux process that sends `"from the child"` to the
/// parent's server (`arg` = "path pid chid") and expects the reply `"to the child"`.
fn client(arg: &str) {
    let mut it = arg.split(' ');
    let (path, pid, chid) = (
        it.next().expect("path"),
        it.next().and_then(|s| s.parse().ok()).expect("pid"),
        it.next().and_then(|s| s.parse().ok()).expect("chid"),
    );
    let k = Kernel::open_shared(std::path::Path::new(path)).expect("open_shared");
    let p = k.process_attach_self().expect("process_attach_self");
    let t = k.thread_attach(p, 10).expect("thread_attach");
    let coid = t
        .connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let mut r = [0u8; 32];
    let st = send(&t, coid, b"from the child", &mut r).expect("MsgSend");
    tell_parent(&format!(
        "reply {st} {}",
        String::from_utf8_lossy(&r[..st as usize])
    ));
    drop(t);
    k.process_destroy(p).expect("process_destroy");
}

/// Where a child starts (support/procs.rs); ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "echo-server" => echo_server(&arg),
        "client" => client(&arg),
        "async-raw-sender" => async_raw_sender(&arg),
        "lock-dier" => lock_dier(&arg),
        other => panic!("unknown role {other}"),
    }
}

/// An asyncmsg sender on the kernel at "path pid chid", with its queue in the region: queues a
/// flat message, one whose buffer is unmapped, a gathered one, and another flat one, triggers
/// once, tells the parent, and holds its buffers until killed.
fn async_raw_sender(arg: &str) {
    let mut it = arg.split(' ');
    let path = it.next().expect("path");
    let mut num = || {
        it.next()
            .expect("a number")
            .parse::<i32>()
            .expect("a number")
    };
    let (pid, chid) = (num(), num());
    let k = Kernel::open_shared(std::path::Path::new(path)).expect("open_shared");
    let p = k.process_attach_self().expect("process_attach_self");
    let t = k.thread_attach(p, 10).expect("thread_attach");
    let q = t.async_queue_alloc(8).expect("a queue in the region");
    // SAFETY: `q` and every buffer below live until this process is killed.
    let coid = unsafe { t.async_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &q, -1) }
        .expect("asyncmsg connection to another program");
    let first = b"first".to_vec();
    let (a, b) = (b"gath".to_vec(), b"ered".to_vec());
    let parts = [Iov::from_slice(&a), Iov::from_slice(&b)];
    let last = b"last".to_vec();
    let descs = [
        MsgDesc {
            iov: Iov::from_slice(&first),
            parts: 0,
        },
        MsgDesc {
            iov: Iov {
                base: UNMAPPED,
                len: 16,
            },
            parts: 0,
        },
        MsgDesc {
            iov: Iov {
                base: parts.as_ptr() as u64,
                len: 8,
            },
            parts: 2,
        },
        MsgDesc {
            iov: Iov::from_slice(&last),
            parts: 0,
        },
    ];
    for d in descs {
        // SAFETY: as above: the buffers (and the iov array) outlive the slots.
        unsafe { q.push(d) }.expect("room");
    }
    tell_parent(&format!("queued {:?}", t.msg_send_async(coid)));
    std::thread::sleep(Duration::from_secs(60));
}

/// Joins the kernel at `path`, says so, and makes a call; run with a fault hook that parks its
/// third locked pass (that call) under the lock, where the parent kills it.
fn lock_dier(path: &str) {
    let k = Kernel::open_shared(std::path::Path::new(path)).expect("open_shared");
    let p = k.process_attach_self().expect("process_attach_self");
    let t = k.thread_attach(p, 10).expect("thread_attach");
    tell_parent("attached");
    let _ = t.channel_create(0);
    std::thread::sleep(Duration::from_secs(60));
}

/// The echo server's two chids, from its first line.
fn ready(server: &Child) -> (i32, i32) {
    let line = server.line(WITHIN);
    let ids: Vec<i32> = line
        .strip_prefix("ready ")
        .map(|s| s.split(' ').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    match ids[..] {
        [a, b] => (a, b),
        _ => panic!("unexpected line {line:?}"),
    }
}

fn parent_kernel(dir: &TempDir) -> (Kernel, std::path::PathBuf) {
    let path = dir.join("kernel");
    let k = Kernel::create_shared(&path, Config::default()).expect("create_shared");
    (k, path)
}

#[test]
fn messages_replies_reads_writes_and_pulses_cross_between_two_linux_processes() {
    let dir = TempDir::new("srr");
    let (k, path) = parent_kernel(&dir);
    assert!(k.is_shared());
    let me = k.process_attach_self().expect("process_attach_self");
    assert_eq!(me.pid, std::process::id() as i32);
    let t = k.thread_attach(me, 10).unwrap();

    let server = Child::spawn("echo-server", path.to_str().unwrap());
    let (chid, _) = ready(&server);
    let coid = t
        .connect_attach(0, server.pid(), chid, _NTO_SIDE_CHANNEL, 0)
        .expect("ConnectAttach to the other program's pid");

    // A message and its reply, each copied once between the two address spaces.
    let mut r = [0u8; 16];
    assert_eq!(send(&t, coid, b"Uhello", &mut r), Ok(5));
    assert_eq!(&r[..5], b"HELLO");

    // The server sees our pid and tid.
    let mut r = [0u8; 8];
    assert_eq!(send(&t, coid, &[cmd::WHO], &mut r), Ok(0));
    assert_eq!(i32::from_le_bytes(r[..4].try_into().unwrap()), me.pid);
    assert_eq!(i32::from_le_bytes(r[4..].try_into().unwrap()), t.tid());

    // A gathered message (three parts) into a scattered reply buffer (two parts).
    let (mut a, mut b) = ([0u8; 2], [0u8; 8]);
    let st = t
        .msg_sendv(coid, &[b"U", b"ab", b"cdef"], &mut [&mut a, &mut b])
        .expect("MsgSendv");
    assert_eq!(st, 6);
    assert_eq!((&a, &b[..4]), (b"AB", &b"CDEF"[..]));

    // MsgRead from our buffer and MsgWrite into our reply buffer, from the other program.
    let mut r = [0u8; 16];
    assert_eq!(send(&t, coid, b"Rread me", &mut r), Ok(7));
    assert_eq!(&r[..11], b"abcdwritten");

    // 64 KiB each way.
    let mut big: Vec<u8> = (0..65_537).map(pattern).collect();
    big[0] = cmd::BIG;
    let mut back = vec![0u8; 65_536];
    assert_eq!(send(&t, coid, &big, &mut back), Ok(65_536));
    assert!(back.iter().enumerate().all(|(i, &v)| v == pattern(i)));

    // A pulse into the other program's channel.
    t.msg_send_pulse(coid, 10, 5, 0x1234_5678)
        .expect("MsgSendPulse");
    let mut r = [0u8; 5];
    assert_eq!(send(&t, coid, &[cmd::LAST_PULSE], &mut r), Ok(0));
    assert_eq!(r[0], 5);
    assert_eq!(i32::from_le_bytes(r[1..].try_into().unwrap()), 0x1234_5678);

    // A message that queues (the server is away): the server copies it out of our memory
    // when it comes back to MsgReceive.
    assert_eq!(send(&t, coid, &[cmd::SLOW], &mut []), Ok(0));
    let mut r = [0u8; 16];
    assert_eq!(send(&t, coid, b"Uqueued", &mut r), Ok(6));
    assert_eq!(&r[..6], b"QUEUED");

    assert_eq!(send(&t, coid, &[cmd::QUIT], &mut []), Ok(0));
    let st = server.wait(WITHIN);
    assert!(st.success(), "the server program failed: {st}");
    t.connect_detach(coid).unwrap();
    drop(t);
    k.process_destroy(me).unwrap();
}

#[test]
fn a_client_in_another_linux_process_reaches_a_server_here() {
    let dir = TempDir::new("client");
    let (k, path) = parent_kernel(&dir);
    let me = k.process_attach_self().unwrap();
    let t = k.thread_attach(me, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    let client = Child::spawn("client", &format!("{} {} {chid}", path.display(), me.pid));
    let mut buf = [0u8; 64];
    let mut info = MsgInfo::default();
    let rcvid = receive(&t, chid, &mut buf, Some(&mut info)).expect("MsgReceive");
    assert_eq!(&buf[..info.msglen as usize], b"from the child");
    assert_eq!(
        info.pid,
        client.pid(),
        "the client's simulated pid is its Linux pid"
    );
    t.msg_reply(rcvid, 12, b"to the child").unwrap();
    assert_eq!(client.line(WITHIN), "reply 12 to the child");
    assert!(client.wait(WITHIN).success());
}

#[test]
fn a_shared_region_file_is_checked_before_it_is_used() {
    let dir = TempDir::new("checks");
    let path = dir.join("kernel");
    let k = Kernel::create_shared(&path, Config::small()).expect("create_shared");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the region is the user's alone");
    }
    // It appears whole: no temporary file is left beside it.
    assert_eq!(std::fs::read_dir(dir.join("")).unwrap().count(), 1);
    // Made twice: EEXIST (the first is untouched).
    assert_eq!(
        Kernel::create_shared(&path, Config::small()).err(),
        Some(Errno::EEXIST)
    );
    // Mapped again: the same kernel, seen through the file.
    let again = Kernel::open_shared(&path).expect("open_shared");
    assert_eq!(again.region_info(), k.region_info());
    assert_eq!(again.region_info().magic, MAGIC);
    let p = k.process_create().unwrap();
    assert!(
        p.pid >= SHARED_FIRST_PID,
        "simulated-only pids lie above Linux's"
    );
    assert!(again.snapshot().processes.iter().any(|q| q.pid == p.pid));

    // Not there, not a region, another layout version, a directory that does not exist.
    assert_eq!(
        Kernel::open_shared(&dir.join("none")).err(),
        Some(Errno::ENOENT)
    );
    let junk = dir.join("junk");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    assert_eq!(Kernel::open_shared(&junk).err(), Some(Errno::EINVAL));
    let short = dir.join("short");
    std::fs::write(&short, b"QNXSIMK").unwrap();
    assert_eq!(Kernel::open_shared(&short).err(), Some(Errno::EINVAL));
    let old = dir.join("old");
    std::fs::copy(&path, &old).unwrap();
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&old).unwrap();
        f.seek(SeekFrom::Start(8)).unwrap();
        f.write_all(&(LAYOUT_VERSION + 1).to_le_bytes()).unwrap();
    }
    assert_eq!(Kernel::open_shared(&old).err(), Some(Errno::ENOTSUP));
    let trunc = dir.join("trunc");
    std::fs::copy(&path, &trunc).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&trunc)
        .unwrap()
        .set_len(4096)
        .unwrap();
    assert_eq!(Kernel::open_shared(&trunc).err(), Some(Errno::EINVAL));
    assert_eq!(
        Kernel::create_shared(&dir.join("no/such/dir"), Config::small()).err(),
        Some(Errno::ENOENT)
    );
}

#[test]
fn a_linux_process_joins_a_shared_kernel_once_and_only_a_shared_one() {
    let dir = TempDir::new("attach");
    let (k, _path) = parent_kernel(&dir);
    let me = k.process_attach_self().unwrap();
    assert_eq!(k.process_attach_self().err(), Some(Errno::EEXIST));
    k.process_destroy(me).unwrap();
    let again = k
        .process_attach_self()
        .expect("after its process ended, it may join again");
    assert_eq!(again.pid, me.pid);

    let local = Kernel::new(Config::small()).unwrap();
    assert!(!local.is_shared());
    assert_eq!(local.process_attach_self().err(), Some(Errno::EINVAL));
}

/// A queue in the sender's own memory cannot be read from another program's thread: a
/// connection with one to a channel of another program is refused (ENOTSUP); the library puts
/// such queues in the region instead (the next tests).
#[test]
fn asyncmsg_to_another_program_with_a_queue_in_the_senders_memory_is_refused_with_enotsup() {
    let dir = TempDir::new("async");
    let (k, path) = parent_kernel(&dir);
    let me = k.process_attach_self().unwrap();
    let t = k.thread_attach(me, 10).unwrap();
    let server = Child::spawn("echo-server", path.to_str().unwrap());
    let (chid, _) = ready(&server);
    let q = AsyncQueue::new(8);
    // SAFETY: `q` outlives every connection made on it (none is).
    let r = unsafe { t.async_connect_attach(0, server.pid(), chid, _NTO_SIDE_CHANNEL, 0, &q, -1) };
    assert_eq!(r, Err(Errno::ENOTSUP));
    let coid = t
        .connect_attach(0, server.pid(), chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    assert_eq!(send(&t, coid, &[cmd::QUIT], &mut []), Ok(0));
    assert!(server.wait(WITHIN).success());
}

/// asyncmsg between programs puts the sender's queue in the region: the kernel gives a block of
/// its queue pages to the asking process (ENOTSUP in a kernel of one program, ENOMEM when the
/// pages are used up), accepts only the caller's own blocks for a connection (EINVAL), refuses
/// to free one a connection still reads (EBUSY) or one that is not a block of the caller's
/// (EINVAL), and frees a process's blocks when it is torn down.
#[test]
fn queue_blocks_in_the_region_are_given_checked_and_freed() {
    let local = Kernel::new(Config::small()).unwrap();
    let lp = local.process_create().unwrap();
    let lt = local.thread_attach(lp, 10).unwrap();
    assert_eq!(lt.async_queue_alloc(8).err(), Some(Errno::ENOTSUP));

    let dir = TempDir::new("queue-blocks");
    let path = dir.join("kernel");
    let cfg = Config {
        async_queue_pages: 4,
        ..Config::default()
    };
    let k = Kernel::create_shared(&path, cfg).unwrap();
    let me = k.process_attach_self().unwrap();
    let t = k.thread_attach(me, 10).unwrap();
    let q1 = t.async_queue_alloc(8).unwrap();
    assert!(q1.in_region());
    assert_eq!(k.async_queue_pages_in_use(), 1);
    // A queue of 1024 slots needs dozens of pages (its inline areas); three are left.
    assert_eq!(t.async_queue_alloc(1024).err(), Some(Errno::ENOMEM));
    assert_eq!(k.async_queue_pages_in_use(), 1);

    let chid = t.async_channel_create(0, 64, 4, None).unwrap();
    // SAFETY: `q1` outlives the connection (detached below, before `q1` is freed or dropped).
    let coid =
        unsafe { t.async_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &q1, -1) }.unwrap();
    assert_eq!(t.async_queue_free(&q1), Err(Errno::EBUSY));
    // A message through the region's queue arrives.
    let msg = *b"through the region";
    // SAFETY: `msg` outlives the slot (taken below, before it is dropped).
    unsafe {
        q1.push(MsgDesc {
            iov: Iov::from_slice(&msg),
            parts: 0,
        })
    }
    .unwrap();
    assert_eq!(t.msg_send_async(coid), Ok(1));
    let mut arena = [0u8; 256];
    let mut hdrs = [AsyncGetHeader::default(); 4];
    assert_eq!(t.msg_receive_async(chid, &mut arena, &mut hdrs), Ok(1));
    assert_eq!(&arena[..msg.len()], &msg);
    // A short message copied into its slot's inline area is taken from there; a descriptor
    // that claims the region but lies outside the inline areas (here: the queue's header) is
    // delivered as EFAULT, and the message after it still arrives.
    let inline = *b"inline";
    for desc in [
        {
            let (area, at) = q1.inline_area(inline.len()).expect("an inline area");
            // SAFETY: the next slot's inline area, free (the queue is empty), ours to fill.
            unsafe { std::ptr::copy_nonoverlapping(inline.as_ptr(), area, inline.len()) };
            MsgDesc {
                iov: Iov {
                    base: at,
                    len: inline.len() as u64,
                },
                parts: 0,
            }
        },
        MsgDesc {
            iov: Iov {
                base: q1.kernel_handle(),
                len: 8,
            },
            parts: 0,
        },
        // More parts than a gathered put can have: refused before any iov array is read.
        MsgDesc {
            iov: Iov {
                base: inline.as_ptr() as u64,
                len: 8,
            },
            parts: 5000,
        },
    ] {
        // SAFETY: the first names our inline area; the second is refused by the kernel.
        unsafe { q1.push(desc) }.unwrap();
    }
    assert_eq!(t.msg_send_async(coid), Ok(3));
    assert_eq!(t.msg_receive_async(chid, &mut arena, &mut hdrs), Ok(3));
    let at = hdrs[0].offset as usize;
    assert_eq!((hdrs[0].err, &arena[at..at + 6]), (0, &inline[..]));
    assert_eq!((hdrs[1].err, hdrs[1].len), (Errno::EFAULT.0, 0));
    assert_eq!((hdrs[2].err, hdrs[2].len), (Errno::EFAULT.0, 0));
    // A region the undo record's 32-bit offsets could not name is refused.
    let huge = Config {
        async_queue_pages: 1 << 20,
        ..Config::default()
    };
    assert_eq!(Kernel::new(huge).err(), Some(Errno::EINVAL));
    t.connect_detach(coid).unwrap();
    assert_eq!(t.async_queue_free(&q1), Ok(()));
    assert_eq!(k.async_queue_pages_in_use(), 0);
    assert_eq!(t.async_queue_free(&q1), Err(Errno::EINVAL), "freed twice");
    let heap = AsyncQueue::new(8);
    assert_eq!(t.async_queue_free(&heap), Err(Errno::EINVAL));

    // Another process's block is not the caller's to attach.
    let p2 = k.process_create().unwrap();
    let t2 = k.thread_attach(p2, 10).unwrap();
    let q3 = t2.async_queue_alloc(64).unwrap();
    // SAFETY: refused: no connection is made on `q3`.
    let r = unsafe { t.async_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &q3, -1) };
    assert_eq!(r, Err(Errno::EINVAL));
    assert_eq!(t.async_queue_free(&q3), Err(Errno::EINVAL));
    let q3_pages = AsyncQueue::region_block_bytes(64).div_ceil(4096) as u32;
    assert_eq!(k.async_queue_pages_in_use(), q3_pages);
    drop(t2);
    k.process_destroy(p2).unwrap();
    assert_eq!(
        k.async_queue_pages_in_use(),
        0,
        "torn down with its process"
    );
}

/// Without a supervisor (a kernel in a plain memory file), a program killed outside a kernel
/// call's critical section (here a server blocked in MsgReceive) is reaped by another program
/// of the kernel one of whose threads has blocked (its timer service looks every 200 ms): a
/// client that sends to it is released with ESRCH, as on QNX, well before its
/// timeout, the dead program's process is gone from the kernel, and a later send on the
/// connection is EBADF.
#[test]
fn without_a_supervisor_a_blocked_program_reaps_a_killed_one_and_its_client_gets_esrch() {
    let dir = TempDir::new("reap-dead");
    let (k, path) = parent_kernel(&dir);
    let me = k.process_attach_self().unwrap();
    let t = k.thread_attach(me, 10).unwrap();
    let server = Child::spawn("echo-server", path.to_str().unwrap());
    let (chid, _) = ready(&server);
    let spid = server.pid();
    let coid = t
        .connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let mut r = [0u8; 16];
    assert_eq!(send(&t, coid, b"Ualive", &mut r), Ok(5));
    // The server goes to wait on its second channel; our next message queues on the first,
    // and the server is killed while RECEIVE-blocked there: not holding the lock, so no one
    // takes over from it. Our program reaps it (its timer service looks every 200 ms once a
    // thread of ours blocks), and our queued send ends with ESRCH.
    assert_eq!(send(&t, coid, &[cmd::AWAY], &mut []), Ok(0));
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        server.kill()
    });
    // (`send` is bounded by LONG: ETIMEDOUT would mean nobody reaped the server.)
    assert_eq!(send(&t, coid, b"Uhello", &mut r), Err(Errno::ESRCH));
    assert!(!killer.join().unwrap().success());
    assert!(
        !k.listing().snapshot.processes.iter().any(|p| p.pid == spid),
        "the killed program's process was torn down"
    );
    assert_eq!(
        send(&t, coid, b"Uagain", &mut r),
        Err(Errno::EBADF),
        "its connection is no longer connected to a channel (QNX's EBADF)"
    );
}

/// Send-buffer blocks (`AsyncHeapAlloc`): whole pages of the queue arena given to the caller's
/// Linux program (ENOTSUP in a kernel of one program, EINVAL for 0 bytes, ENOMEM beyond half
/// the arena). A message whose descriptor names bytes inside a block of its sender's program
/// (whichever of its processes asked for it) is taken from the region; one that names a queue's
/// block, runs past the end of a block, or lies outside the arena is EFAULT, and the messages
/// after it still arrive. A block is freed by its program only (EINVAL otherwise); tearing a
/// process down frees none (the program may still use them), reaping the program frees all.
#[test]
fn send_buffer_blocks_are_read_only_inside_the_senders_own_blocks() {
    let local = Kernel::new(Config::small()).unwrap();
    let lp = local.process_create().unwrap();
    let lt = local.thread_attach(lp, 10).unwrap();
    assert_eq!(lt.async_heap_alloc(4096).err(), Some(Errno::ENOTSUP));

    let dir = TempDir::new("heap-blocks");
    let cfg = Config {
        async_queue_pages: 16,
        ..Config::default()
    };
    let k = Kernel::create_shared(&dir.join("kernel"), cfg).unwrap();
    let me = k.process_attach_self().unwrap();
    let t = k.thread_attach(me, 10).unwrap();
    assert_eq!(t.async_heap_alloc(0).err(), Some(Errno::EINVAL));
    assert_eq!(t.async_heap_alloc(17 * 4096).err(), Some(Errno::ENOMEM));
    assert_eq!(
        t.async_heap_alloc(9 * 4096).err(),
        Some(Errno::ENOMEM),
        "send buffers take at most half the arena"
    );
    let (b1, p1) = t.async_heap_alloc(5000).unwrap();
    assert_eq!(k.async_queue_pages_in_use(), 2, "5000 bytes: two pages");
    let other = k.process_create().unwrap();
    let t2 = k.thread_attach(other, 10).unwrap();
    let (b2, p2) = t2.async_heap_alloc(4096).unwrap();
    assert_ne!(b1, b2);
    // The inspector's listing counts them.
    let pages = k
        .listing()
        .queue_pages
        .expect("a shared kernel's queue pages");
    assert_eq!(
        (pages.in_use, pages.send_buffers, pages.capacity),
        (3, 3, 16)
    );
    assert!(k
        .listing()
        .to_string()
        .contains("asyncmsg queue pages: 3 of 16 in use, 3 of them send buffers"));
    assert_eq!(local.listing().queue_pages, None, "a kernel of one program");

    let q = t.async_queue_alloc(8).unwrap();
    let q2 = t2.async_queue_alloc(2).unwrap();
    let q2off = q2.kernel_handle() & !IN_REGION;
    let chid = t.async_channel_create(0, 8192, 8, None).unwrap();
    // SAFETY: `q` outlives the connection (detached below, before `q` is dropped).
    let coid = unsafe { t.async_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &q, -1) }.unwrap();
    let mine: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    // SAFETY: the blocks are ours and the other process's, 8192 and 4096 bytes, mapped while
    // the kernel handle lives; nothing else uses them.
    unsafe {
        std::ptr::copy_nonoverlapping(mine.as_ptr(), p1, mine.len());
        std::ptr::write_bytes(p2, 0xEE, 4096);
    }
    let region = |off: u64, len: u64| MsgDesc {
        iov: Iov {
            base: IN_REGION | off,
            len,
        },
        parts: 0,
    };
    let arena_end = 16 * 4096u64;
    for desc in [
        region(b1, 5000),          // inside the sender's block: taken
        region(q2off, 16),         // another process's queue: EFAULT
        region(b1 + 4096, 4097),   // runs past the end of the sender's block: EFAULT
        region(arena_end - 8, 16), // past the arena: EFAULT
        region(u64::MAX >> 2, 16), // far outside: EFAULT
        region(b1 + 100, 200),     // inside again: taken
        region(b2 + 8, 16),        // another process's of the program: taken
    ] {
        // SAFETY: descriptors of region offsets only: the kernel checks each (nothing of ours
        // is read through an address).
        unsafe { q.push(desc) }.unwrap();
    }
    assert_eq!(t.msg_send_async(coid), Ok(7));
    let mut arena = vec![0u8; 8192 * 8];
    let mut hdrs = [AsyncGetHeader::default(); 8];
    let vm = vm_calls_in_this_thread();
    assert_eq!(t.msg_receive_async(chid, &mut arena, &mut hdrs), Ok(7));
    assert_eq!(
        vm_calls_in_this_thread(),
        vm,
        "taken from the region without a system call"
    );
    let got = |h: &AsyncGetHeader| &arena[h.offset as usize..h.offset as usize + h.len as usize];
    assert_eq!((hdrs[0].err, got(&hdrs[0])), (0, &mine[..]));
    for h in &hdrs[1..5] {
        assert_eq!((h.err, h.len), (Errno::EFAULT.0, 0));
    }
    assert_eq!((hdrs[5].err, got(&hdrs[5])), (0, &mine[100..300]));
    assert_eq!((hdrs[6].err, got(&hdrs[6])), (0, &[0xEE; 16][..]));

    // Only a block's start is freed, once; a queue is not a send-buffer block.
    assert_eq!(
        t.async_heap_free(b1 + 4096),
        Err(Errno::EINVAL),
        "not a block's start"
    );
    assert_eq!(t.async_heap_free(q2off), Err(Errno::EINVAL));
    t.connect_detach(coid).unwrap();
    assert_eq!(t.async_heap_free(b1), Ok(()));
    assert_eq!(t.async_heap_free(b1), Err(Errno::EINVAL), "freed twice");
    assert_eq!(t.async_queue_free(&q), Ok(()));
    let q2_pages = AsyncQueue::region_block_bytes(2).div_ceil(4096) as u32;
    assert_eq!(k.async_queue_pages_in_use(), 1 + q2_pages);
    drop(t2);
    k.process_destroy(other).unwrap();
    assert_eq!(
        k.async_queue_pages_in_use(),
        1,
        "the process's queue goes with it; the program's send buffers stay"
    );
    drop(t);
    k.reap_os_process(std::process::id() as i32);
    assert_eq!(k.async_queue_pages_in_use(), 0, "freed with the program");
}

/// A receiver takes a batch from a sender in another program: flat and gathered messages read
/// from the sender's memory, one whose buffer Linux refuses delivered as EFAULT without
/// stopping the others, each with the sender's pid; the sender's queue records each outcome.
#[test]
fn an_asyncmsg_batch_from_another_program_is_read_from_its_memory_and_a_bad_buffer_is_efault() {
    let dir = TempDir::new("async-remote");
    let (k, path) = parent_kernel(&dir);
    let me = k.process_attach_self().unwrap();
    let t = k.thread_attach(me, 10).unwrap();
    let chid = t.async_channel_create(0, 64, 8, None).unwrap();
    let sender = Child::spawn(
        "async-raw-sender",
        &format!("{} {} {chid}", path.display(), me.pid),
    );
    assert_eq!(sender.line(WITHIN), "queued Ok(4)");
    let mut arena = [0u8; 64 * 8];
    let mut hdrs = [AsyncGetHeader::default(); 8];
    arm(&t, _NTO_TIMEOUT_RECEIVE, Some(10_000_000_000));
    assert_eq!(t.msg_receive_async(chid, &mut arena, &mut hdrs), Ok(4));
    let got: Vec<(i32, Vec<u8>, i32)> = hdrs[..4]
        .iter()
        .map(|h| {
            let at = h.offset as usize;
            (h.err, arena[at..at + h.len as usize].to_vec(), h.info.pid)
        })
        .collect();
    let spid = sender.pid();
    assert_eq!(
        got,
        vec![
            (0, b"first".to_vec(), spid),
            (Errno::EFAULT.0, vec![], spid),
            (0, b"gathered".to_vec(), spid),
            (0, b"last".to_vec(), spid),
        ]
    );
    drop(sender);
}

/// Without a supervisor, a program that dies holding the kernel lock does not stop the others:
/// the next program that waits for the lock finds its holder dead, takes over (undoing the
/// call it was in) and reaps it, as a supervisor would.
#[test]
fn without_a_supervisor_the_next_program_recovers_the_lock_of_one_that_died_holding_it() {
    let dir = TempDir::new("lock-dier");
    let (k, path) = parent_kernel(&dir);
    let dier = Child::spawn_with_env(
        "lock-dier",
        path.to_str().unwrap(),
        &[("QNXSIM_FAULT", "locked:3:20000000")],
    );
    let pid = dier.pid();
    // Its process and thread exist, and it holds the lock (parked in its next call).
    assert_eq!(dier.line(WITHIN), "attached");
    let until = std::time::Instant::now() + WITHIN;
    while k.lock_owner() != Some(pid) {
        assert!(
            std::time::Instant::now() < until,
            "the child never held the lock"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    dier.kill();
    // Our next call waits for the lock, finds its holder dead, and goes on.
    let started = std::time::Instant::now();
    let p = k.process_create().expect("a call after the holder died");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(k.lock_owner(), None);
    let procs: Vec<i32> = k.snapshot().processes.iter().map(|p| p.pid).collect();
    assert!(
        !procs.contains(&pid),
        "the dead program was reaped: {procs:?}"
    );
    k.process_destroy(p).unwrap();
}

/// Buffers in another program that Linux refuses get QNX's errno, on both sides, instead of a
/// crash: MsgReply into a client's unmapped reply buffer is EFAULT for both; a queued client
/// whose message cannot be read leaves with EFAULT while the server waits on; MsgWrite into an
/// unmapped reply buffer is EFAULT for the server, and the exchange goes on.
#[test]
fn faults_in_another_programs_buffers_are_efault_not_a_crash() {
    let dir = TempDir::new("faults");
    let (k, path) = parent_kernel(&dir);
    let me = k.process_attach_self().unwrap();
    let t = k.thread_attach(me, 10).unwrap();
    let server = Child::spawn("echo-server", path.to_str().unwrap());
    let (chid, chid2) = ready(&server);
    let coid = t
        .connect_attach(0, server.pid(), chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let coid2 = t
        .connect_attach(0, server.pid(), chid2, _NTO_SIDE_CHANNEL, 0)
        .unwrap();

    // MsgReply into our unmapped reply buffer.
    let smsg = [cmd::REPLY_AND_TELL];
    let siov = [Iov::from_slice(&smsg)];
    let riov = [Iov {
        base: UNMAPPED,
        len: BIG_REPLY as u64,
    }];
    arm(&t, SEND_REPLY, Some(LONG));
    // SAFETY: the send buffer is ours; the reply buffer is unmapped on purpose, and only the
    // other program's thread (through process_vm_writev, which checks it) writes there.
    let r = unsafe { t.msg_sendv_raw(coid, &siov, &riov) };
    let line = server.line(WITHIN);
    assert_eq!(
        (r, line.as_str()),
        (Err(Errno::EFAULT), "reply-result EFAULT"),
        "the client is released with the server's error"
    );

    // MsgWrite into it: EFAULT for the server, which then answers with MsgError(EOK).
    let smsg = [cmd::WRITE_AND_TELL];
    let siov = [Iov::from_slice(&smsg)];
    arm(&t, SEND_REPLY, Some(LONG));
    // SAFETY: as above.
    let r = unsafe { t.msg_sendv_raw(coid, &siov, &riov) };
    assert_eq!(r, Ok(0));
    assert_eq!(server.line(WITHIN), "write-result EFAULT");

    // A message the server cannot read: queued while the server is away on its second
    // channel, so that the server's MsgReceive copies it out of our memory.
    assert_eq!(send(&t, coid, &[cmd::AWAY], &mut []), Ok(0));
    let k2 = k.clone();
    let bad = std::thread::spawn(move || {
        let t2 = k2.thread_attach(me, 10).unwrap();
        let coid = t2
            .connect_attach(0, server_pid_of(&k2, me.pid), chid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();
        let siov = [Iov {
            base: UNMAPPED,
            len: BIG_REPLY as u64,
        }];
        arm(&t2, SEND_REPLY, Some(LONG));
        // SAFETY: the send buffer is unmapped on purpose: the server reads it from its own
        // program with process_vm_readv, which checks it; nothing here touches it.
        let r = unsafe { t2.msg_sendv_raw(coid, &siov, &[]) };
        (r, t2.tid())
    });
    // Until the bad message is queued, the server must stay away.
    wait_until("the bad message is queued", || {
        k.snapshot().threads.iter().any(|th| {
            th.pid == me.pid && th.tid != t.tid() && matches!(th.state, ThreadState::Send { .. })
        })
    });
    assert_eq!(send(&t, coid2, b"back", &mut []), Ok(0));
    let (r, _) = bad.join().unwrap();
    assert_eq!(
        r,
        Err(Errno::EFAULT),
        "the client whose buffer faulted leaves with EFAULT"
    );
    // The server waited on: it still answers.
    let mut out = [0u8; 8];
    assert_eq!(send(&t, coid, b"Ustill", &mut out), Ok(5));
    assert_eq!(&out[..5], b"STILL");
    assert_eq!(send(&t, coid, &[cmd::QUIT], &mut []), Ok(0));
    assert!(server.wait(WITHIN).success());
}

/// The pid of the one other process in the kernel (the echo server), seen from a thread.
fn server_pid_of(k: &Kernel, me: i32) -> i32 {
    k.snapshot()
        .processes
        .iter()
        .map(|p| p.pid)
        .find(|&p| p != me)
        .expect("the server's process")
}

/// A kernel file whose configuration says something no `Config` can (here the wake hand-off's
/// switch, a `bool`, holding 2) is refused with EINVAL, not read as a `Config`: found as the one
/// byte of the header's first 512 (magic, version, size, configuration) in which two kernels
/// differing only in that switch differ.
#[test]
fn a_forged_wake_handoff_switch_in_a_kernel_file_is_einval() {
    let dir = TempDir::new("forged-handoff");
    let (on, off) = (dir.join("on"), dir.join("off"));
    let make = |path: &std::path::Path, wake_handoff| {
        Kernel::create_shared(
            path,
            Config {
                wake_handoff,
                ..Config::small()
            },
        )
        .unwrap()
    };
    drop((make(&on, true), make(&off, false)));
    let (a, b) = (std::fs::read(&on).unwrap(), std::fs::read(&off).unwrap());
    let differ: Vec<usize> = (0..512).filter(|&i| a[i] != b[i]).collect();
    assert_eq!(differ.len(), 1, "one byte says the switch: {differ:?}");
    assert_eq!((a[differ[0]], b[differ[0]]), (1, 0));
    let mut forged = a;
    forged[differ[0]] = 2;
    std::fs::write(&on, &forged).unwrap();
    assert_eq!(Kernel::open_shared(&on).err(), Some(Errno::EINVAL));
    assert!(Kernel::open_shared(&off).is_ok(), "the untouched one opens");
}
