//! The client side of QNX's I/O (`userlib::io`) against small hand-written servers: receive
//! loops that answer `_IO_CONNECT`, `_IO_READ`, ... by hand, so that the wire format is checked
//! field by field independently of the resource-manager library. Every test has a kernel of
//! its own, a server process and a client process (the test thread): the path manager skips
//! a process's own entries, as QNX's does.

mod support;

use std::sync::mpsc;
use support::*;
use userlib::consts::*;
use userlib::io;
use userlib::iomsg::*;
use userlib::qnx::*;
use userlib::zerocopy::{FromBytes, IntoBytes};
use userlib::{Errno, IoConnect, Process, SigEvent};

/// The handle the test servers attach with: every `_IO_CONNECT` must carry it.
const HANDLE: u32 = 0x5a17;
/// `_RESMGR_FLAG_DIR`.
const FLAG_DIR: u32 = 0x0100;
/// A command the test servers answer with data (`__DIOF(_DCMD_MISC, 1, int64)`).
const DCMD_GET: i32 = diof(_DCMD_MISC, 1, 8);
/// `__DIOT(_DCMD_MISC, 2, int64)`.
const DCMD_SET: i32 = diot(_DCMD_MISC, 2, 8);
/// `__DIOTF(_DCMD_MISC, 3, int64)`: the server adds 1 to the value and returns it.
const DCMD_INC: i32 = diotf(_DCMD_MISC, 3, 8);
/// `__DION(_DCMD_MISC, 4)`.
const DCMD_NOP: i32 = dion(_DCMD_MISC, 4);

/// Bounds the calling thread's next blocking call.
fn bound() {
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY | _NTO_TIMEOUT_RECEIVE,
        Some(LONG_NS),
    )
    .unwrap();
}

/// One message a server received: its bytes (all of them, read with MsgRead), its rcvid.
struct Msg {
    rcvid: RcvId,
    bytes: Vec<u8>,
}

impl Msg {
    fn ty(&self) -> u16 {
        u16::from_ne_bytes([self.bytes[0], self.bytes[1]])
    }
    fn get<T: FromBytes>(&self, at: usize) -> T {
        T::read_from_prefix(&self.bytes[at..])
            .expect("long enough")
            .0
    }
}

/// What a server's answer function decides.
enum Next {
    Go,
    Stop,
}

/// Starts a server in `p`: a channel with `path` attached (`flags`, `_FTYPE_ANY`, [`HANDLE`]),
/// answering each message with `answer` until it says Stop, then destroying the channel (and
/// with it the entry); the join handle gives back every message's bytes.
fn serve(
    p: &Process,
    path: &'static str,
    flags: u32,
    mut answer: impl FnMut(&Msg) -> Next + Send + 'static,
) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    let h = p
        .spawn(move || {
            let chid = channel_create(0).unwrap();
            userlib::current::with_current(|c| {
                c.path_attach(chid, path.as_bytes(), flags, _FTYPE_ANY, HANDLE)
            })
            .unwrap();
            tx.send(()).unwrap();
            let mut seen = Vec::new();
            loop {
                let mut buf = [0u8; 512];
                let mut info = MsgInfo::default();
                bound();
                let rcvid = msg_receive(chid, &mut buf, Some(&mut info)).unwrap();
                if rcvid == 0 {
                    continue;
                }
                let mut bytes = vec![0u8; info.srcmsglen as usize];
                msg_read(rcvid, &mut bytes, 0).unwrap();
                let m = Msg { rcvid, bytes };
                seen.push(m.bytes.clone());
                if let Next::Stop = answer(&m) {
                    break;
                }
            }
            // The entry goes with the channel (the process may be gone already).
            let _ = channel_destroy(chid);
            seen
        })
        .unwrap();
    rx.recv_timeout(DEADLINE).expect("the server attached");
    h
}

/// A plain device's answers: opens EOK, reads "abcdef", writes all, lseek to offset + 1000,
/// a stat of size 1234, the test's devctls, ionotify with input ready; stops at `_IO_CLOSE`.
fn device(m: &Msg) -> Next {
    let r = m.rcvid;
    match m.ty() {
        _IO_CONNECT => msg_reply(r, 0, &[]).unwrap(),
        _IO_READ => {
            let hdr: IoRead = m.get(0);
            let n = (hdr.nbytes as usize).min(6);
            msg_reply(r, n as i64, &b"abcdef"[..n]).unwrap();
        }
        _IO_WRITE => {
            let hdr: IoRead = m.get(0);
            msg_reply(r, i64::from(hdr.nbytes), &[]).unwrap();
        }
        _IO_LSEEK => {
            let l: IoLseek = m.get(0);
            msg_reply(r, 0, &(l.offset as i64 + 1000).to_ne_bytes()).unwrap();
        }
        _IO_STAT => {
            // SAFETY: libc::stat is plain integers; all-zero is a valid value.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            st.st_size = 1234;
            st.st_mode = libc::S_IFCHR | 0o666;
            // SAFETY: `st` is a live, initialised struct; viewing its bytes reads no padding
            // that matters to the client (it receives the same layout).
            let b = unsafe {
                std::slice::from_raw_parts(
                    (&st as *const libc::stat).cast::<u8>(),
                    size_of::<libc::stat>(),
                )
            };
            msg_reply(r, 3, b).unwrap();
        }
        _IO_DEVCTL => {
            let d: IoDevctl = m.get(0);
            let mut out = IoDevctlReply::default();
            match d.dcmd {
                DCMD_GET => {
                    out.ret_val = 5;
                    out.nbytes = 8;
                    msg_replyv(r, 0, &[out.as_bytes(), &42i64.to_ne_bytes()]).unwrap();
                }
                DCMD_SET => {
                    out.ret_val = 7;
                    msg_reply(r, 0, out.as_bytes()).unwrap();
                }
                DCMD_INC => {
                    let v: i64 = m.get(16);
                    out.ret_val = 9;
                    msg_replyv(r, 0, &[out.as_bytes(), &(v + 1).to_ne_bytes()]).unwrap();
                }
                DCMD_NOP => msg_reply(r, 0, out.as_bytes()).unwrap(),
                _ => msg_error(r, Errno::ENOSYS).unwrap(),
            }
        }
        _IO_NOTIFY => {
            let reply = IoNotifyReply {
                flags: _NOTIFY_COND_INPUT as u32,
                ..Default::default()
            };
            msg_reply(r, 0, reply.as_bytes()).unwrap();
        }
        _IO_CLOSE => {
            msg_reply(r, 0, &[]).unwrap();
            return Next::Stop;
        }
        _ => msg_error(r, Errno::ENOSYS).unwrap(),
    }
    Next::Go
}

/// A kernel with a server process and a client process, the test thread bound to the client.
struct World {
    server: Process,
    _bound: Bound,
    _client: Process,
    _k: userlib::Kernel,
}

fn world() -> World {
    let k = kernel();
    let server = process(&k);
    let client = process(&k);
    let b = bind(&client);
    World {
        server,
        _bound: b,
        _client: client,
        _k: k,
    }
}

fn connect_of(bytes: &[u8]) -> (IoConnect, Vec<u8>) {
    let c = IoConnect::from_bytes(bytes).unwrap();
    let path = bytes[40..40 + c.path_len as usize].to_vec();
    (c, path)
}

#[test]
fn a_session_sends_what_qnx_libc_sends() {
    let w = world();
    let srv = serve(&w.server, "/dev/io/basic", 0, device);

    bound();
    let fd = io::open(
        "/dev/io/basic",
        libc::O_RDWR | libc::O_CREAT | libc::O_CLOEXEC,
        0o100644,
    )
    .unwrap();
    assert_ne!(fd as u32 & _NTO_SIDE_CHANNEL, 0, "a side-channel coid");

    let mut buf = [0u8; 4];
    bound();
    assert_eq!(io::read(fd, &mut buf), Ok(4));
    assert_eq!(&buf, b"abcd");
    bound();
    assert_eq!(io::write(fd, b"hello"), Ok(5));
    let mut three = [0u8; 3];
    bound();
    assert_eq!(io::pread(fd, &mut three, 42), Ok(3));
    bound();
    assert_eq!(io::pwrite(fd, b"xy", -7), Ok(2));
    bound();
    assert_eq!(io::lseek(fd, -5, libc::SEEK_END), Ok(995));
    bound();
    let st = io::fstat(fd).unwrap();
    assert_eq!((st.st_size, st.st_mode), (1234, libc::S_IFCHR | 0o666));

    let mut v = [0u8; 8];
    let mut info = -1;
    bound();
    assert_eq!(io::devctl(fd, DCMD_GET, &mut v, Some(&mut info)), Ok(()));
    assert_eq!((i64::from_ne_bytes(v), info), (42, 5));
    let mut v = 11i64.to_ne_bytes();
    bound();
    assert_eq!(io::devctl(fd, DCMD_SET, &mut v, Some(&mut info)), Ok(()));
    assert_eq!(
        (i64::from_ne_bytes(v), info),
        (11, 7),
        "TO: nothing received"
    );
    let mut v = 20i64.to_ne_bytes();
    bound();
    assert_eq!(io::devctl(fd, DCMD_INC, &mut v, Some(&mut info)), Ok(()));
    assert_eq!((i64::from_ne_bytes(v), info), (21, 9));
    bound();
    assert_eq!(io::devctl(fd, DCMD_NOP, &mut [], None), Ok(()));
    bound();
    assert_eq!(
        io::devctl(fd, diof(_DCMD_MISC, 99, 4), &mut [0; 4], None),
        Err(Errno(libc::ENOTTY)),
        "ENOSYS from the server is ENOTTY"
    );
    bound();
    assert_eq!(
        io::devctl_flags(fd, diof(_DCMD_MISC, 99, 4), &mut [0; 4], 0),
        Err(Errno::ENOSYS),
        "_devctl without _DEVCTL_FLAG_NOTTY keeps ENOSYS"
    );
    bound();
    assert_eq!(io::devctl_flags(fd, DCMD_NOP, &mut [], 0x1), Ok(0));

    let ev = SigEvent::pulse(3, 10, 5, 77);
    bound();
    assert_eq!(
        io::ionotify(
            fd,
            _NOTIFY_ACTION_POLLARM,
            _NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT,
            Some(&ev)
        ),
        Ok(_NOTIFY_COND_INPUT)
    );
    bound();
    assert_eq!(io::close(fd), Ok(()));
    assert_eq!(io::read(fd, &mut buf), Err(Errno::EBADF), "closed");

    let seen = join(srv);
    let mut it = seen.iter();

    // open
    let m = it.next().unwrap();
    let (c, path) = connect_of(m);
    assert_eq!(m.len(), 48, "header, NUL, padded to 8");
    assert_eq!(
        (c.type_, c.subtype, c.file_type),
        (_IO_CONNECT, _IO_CONNECT_OPEN, 0)
    );
    assert_eq!(
        (c.reply_max, c.entry_max, c.key, c.handle),
        (128, 16, 0, HANDLE)
    );
    assert_eq!(
        c.ioflag,
        u32::from(_IO_FLAG_RD | _IO_FLAG_WR) | libc::O_CREAT as u32,
        "access bits as _IO_FLAG_*, O_CLOEXEC dropped"
    );
    assert_eq!((c.mode, c.sflag, c.access), (0o644, SH_DENYNO, 3));
    assert_eq!(
        (c.path_len, c.eflag, c.extra_type, c.extra_len),
        (1, 0, 0, 0)
    );
    assert_eq!(path, b"\0");

    // read
    let m = it.next().unwrap();
    let r = IoRead::read_from_bytes(&m[..16]).unwrap();
    assert_eq!(m.len(), 16);
    assert_eq!(
        (r.type_, r.combine_len, r.nbytes, r.xtype, r.zero),
        (_IO_READ, 16, 4, 0, 0)
    );
    // write
    let m = it.next().unwrap();
    let r = IoRead::read_from_bytes(&m[..16]).unwrap();
    assert_eq!(
        (r.type_, r.combine_len, r.nbytes, r.xtype, r.zero),
        (_IO_WRITE, 16, 5, 0, 0)
    );
    assert_eq!(&m[16..], b"hello");
    // pread
    let m = it.next().unwrap();
    let r = IoRead::read_from_bytes(&m[..16]).unwrap();
    assert_eq!(m.len(), 24);
    assert_eq!(
        (r.type_, r.combine_len, r.nbytes, r.xtype),
        (_IO_READ, 16, 3, _IO_XTYPE_OFFSET)
    );
    assert_eq!(i64::from_ne_bytes(m[16..24].try_into().unwrap()), 42);
    // pwrite
    let m = it.next().unwrap();
    let r = IoRead::read_from_bytes(&m[..16]).unwrap();
    assert_eq!(
        (r.type_, r.combine_len, r.nbytes, r.xtype),
        (_IO_WRITE, 16, 2, _IO_XTYPE_OFFSET)
    );
    assert_eq!(i64::from_ne_bytes(m[16..24].try_into().unwrap()), -7);
    assert_eq!(&m[24..], b"xy");
    // lseek
    let m = it.next().unwrap();
    let l = IoLseek::read_from_bytes(&m[..]).unwrap();
    assert_eq!(
        (l.type_, l.combine_len, l.whence, l.zero),
        (_IO_LSEEK, 16, libc::SEEK_END as i16, 0)
    );
    assert_eq!(l.offset as i64, -5);
    // fstat
    let m = it.next().unwrap();
    let s = IoStat::read_from_bytes(&m[..]).unwrap();
    assert_eq!(
        (s.type_, s.combine_len, s.format),
        (_IO_STAT, 8, _STAT_FORM_PREFERRED)
    );
    // devctl GET: no data sent
    let m = it.next().unwrap();
    let d = IoDevctl::read_from_bytes(&m[..16]).unwrap();
    assert_eq!(
        (d.type_, d.combine_len, d.dcmd, d.nbytes, d.zero),
        (_IO_DEVCTL, 16, DCMD_GET, 8, 0)
    );
    assert_eq!(m.len(), 16, "DEVDIR_FROM sends no data");
    // devctl SET: data sent
    let m = it.next().unwrap();
    let d = IoDevctl::read_from_bytes(&m[..16]).unwrap();
    assert_eq!((d.dcmd, d.nbytes), (DCMD_SET, 8));
    assert_eq!(&m[16..], &11i64.to_ne_bytes());
    // devctl INC: data sent
    let m = it.next().unwrap();
    assert_eq!(&m[16..], &20i64.to_ne_bytes());
    // devctl NOP
    let m = it.next().unwrap();
    let d = IoDevctl::read_from_bytes(&m[..16]).unwrap();
    assert_eq!((m.len(), d.dcmd, d.nbytes), (16, DCMD_NOP, 0));
    // the two unknown devctls, and the NORETVAL one
    for _ in 0..3 {
        assert_eq!(u16::from_ne_bytes([it.next().unwrap()[0], 1]) & 0xff, 0x06);
    }
    // ionotify
    let m = it.next().unwrap();
    let n = IoNotify::read_from_bytes(&m[..]).unwrap();
    assert_eq!(
        (n.type_, n.combine_len, n.action),
        (_IO_NOTIFY, 64, _NOTIFY_ACTION_POLLARM)
    );
    assert_eq!(n.flags, _NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT);
    assert_eq!(n.event, SigEvent32::from(&ev));
    assert_eq!((n.nfds, n.timo), (0, 0));
    // close
    let m = it.next().unwrap();
    let cl = IoClose::read_from_bytes(&m[..]).unwrap();
    assert_eq!((cl.type_, cl.combine_len), (_IO_CLOSE, 4));
    assert!(it.next().is_none());
}

#[test]
fn a_directory_mountpoint_gets_the_rest_of_the_path() {
    let w = world();
    let srv = serve(&w.server, "/dev/io/dir", FLAG_DIR, device);
    bound();
    let fd = io::open("//dev/io/./dir/a/../b//c/", libc::O_WRONLY, 0o777).unwrap();
    bound();
    io::close(fd).unwrap();
    let seen = join(srv);
    let (c, path) = connect_of(&seen[0]);
    assert_eq!(path, b"b/c\0");
    assert_eq!(seen[0].len(), 48);
    assert_eq!((c.path_len, c.eflag), (4, _IO_CONNECT_EFLAG_DIR));
    assert_eq!(
        (c.ioflag, c.mode),
        (u32::from(_IO_FLAG_WR), 0),
        "mode only with O_CREAT"
    );
}

#[test]
fn stat_is_one_combine_close_message_with_an_io_stat() {
    let w = world();
    // The server answers the combine message with the stat, as QNX's layer does (it opens
    // with no access asked, runs the embedded _IO_STAT, closes), and stops.
    let srv = serve(&w.server, "/dev/io/stat", 0, |m: &Msg| {
        let mut st: libc::stat = device_stat();
        st.st_size = 1234;
        // SAFETY: `st` is a live, initialised struct; its bytes are what the client reads.
        let b = unsafe {
            std::slice::from_raw_parts(
                (&st as *const libc::stat).cast::<u8>(),
                size_of::<libc::stat>(),
            )
        };
        msg_reply(m.rcvid, 3, b).unwrap();
        Next::Stop
    });
    bound();
    let st = io::stat("/dev/io/stat").unwrap();
    assert_eq!(st.st_size, 1234);
    let seen = join(srv);
    assert_eq!(seen.len(), 1, "one message");
    let (c, path) = connect_of(&seen[0]);
    assert_eq!(
        (c.type_, c.subtype, c.ioflag, c.extra_len, path),
        (_IO_CONNECT, _IO_CONNECT_COMBINE_CLOSE, 0, 8, vec![0])
    );
    let at = (40 + usize::from(c.path_len)).next_multiple_of(8);
    let extra: IoStat = zerocopy::FromBytes::read_from_bytes(&seen[0][at..at + 8]).unwrap();
    assert_eq!(
        (extra.type_, extra.combine_len, extra.format),
        (_IO_STAT, 8, _STAT_FORM_PREFERRED)
    );
}

/// A character device's `struct stat`, zero but for its mode.
fn device_stat() -> libc::stat {
    // SAFETY: libc::stat is plain integers; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    st.st_mode = libc::S_IFCHR | 0o666;
    st
}

/// A server that answers every `_IO_CONNECT` with `err` (`EOK`: lets it in) and stops after
/// `stop_after` messages.
fn refuser(err: Errno, stop_after: usize) -> impl FnMut(&Msg) -> Next + Send + 'static {
    let mut n = 0;
    move |m| {
        n += 1;
        if m.ty() == _IO_CONNECT && err != Errno::EOK {
            msg_error(m.rcvid, err).unwrap();
        } else {
            msg_reply(m.rcvid, 0, &[]).unwrap();
        }
        if n >= stop_after {
            Next::Stop
        } else {
            Next::Go
        }
    }
}

#[test]
fn an_open_falls_through_to_the_next_server_on_keep_looking_errors() {
    for err in [
        Errno::ENOENT,
        Errno::ENXIO,
        Errno::ESRCH,
        Errno::ENOSYS,
        Errno(libc::EROFS),
    ] {
        let w = world();
        // Attached first: tried second (plain entries newest first).
        let older = serve(&w.server, "/dev/io/union", 0, refuser(Errno::EOK, 2));
        let newer = serve(&w.server, "/dev/io/union", 0, refuser(err, 1));
        bound();
        let fd = io::open("/dev/io/union", libc::O_RDONLY, 0).unwrap();
        bound();
        io::close(fd).unwrap();
        assert_eq!(join(newer).len(), 1, "{err:?}");
        let seen = join(older);
        let types: Vec<u16> = seen
            .iter()
            .map(|m| u16::from_ne_bytes([m[0], m[1]]))
            .collect();
        assert_eq!(types, [_IO_CONNECT, _IO_CLOSE], "{err:?}");
    }
}

#[test]
fn other_errors_end_the_open_and_the_last_keep_looking_error_is_returned() {
    let w = world();
    let older = serve(&w.server, "/dev/io/refuse", 0, refuser(Errno::EOK, 1));
    let newer = serve(&w.server, "/dev/io/refuse", 0, refuser(Errno::EPERM, 1));
    bound();
    assert_eq!(
        io::open("/dev/io/refuse", libc::O_RDONLY, 0),
        Err(Errno::EPERM)
    );
    join(newer);
    assert!(!older.is_finished(), "the older server saw nothing");
    // It still serves: its open works.
    bound();
    let fd = io::open("/dev/io/refuse", libc::O_RDONLY, 0).unwrap();
    join(older);
    let _ = connect_detach(fd);

    let a = serve(&w.server, "/dev/io/none", 0, refuser(Errno::ENOENT, 1));
    let b = serve(&w.server, "/dev/io/none", 0, refuser(Errno::ENXIO, 1));
    bound();
    assert_eq!(
        io::open("/dev/io/none", libc::O_RDONLY, 0),
        Err(Errno::ENOENT),
        "the last one's"
    );
    join(a);
    join(b);
}

#[test]
fn no_server_is_enoent_and_a_bad_fd_is_ebadf() {
    let _w = world();
    assert_eq!(
        io::open("/dev/io/nobody", libc::O_RDONLY, 0),
        Err(Errno::ENOENT)
    );
    assert_eq!(io::open("", libc::O_RDONLY, 0), Err(Errno::ENOENT));
    let mut b = [0u8; 1];
    for fd in [-1, 0, 7, 12345, 0x4000_0123] {
        assert_eq!(io::read(fd, &mut b), Err(Errno::EBADF), "read {fd}");
        assert_eq!(io::write(fd, b"x"), Err(Errno::EBADF), "write {fd}");
        assert_eq!(io::lseek(fd, 0, 0), Err(Errno::EBADF), "lseek {fd}");
        assert_eq!(io::fstat(fd).err(), Some(Errno::EBADF), "fstat {fd}");
        assert_eq!(io::devctl(fd, DCMD_NOP, &mut [], None), Err(Errno::EBADF));
        assert_eq!(io::ionotify(fd, 0, 0, None), Err(Errno::EBADF));
        assert_eq!(io::close(fd), Err(Errno::EBADF), "close {fd}");
    }
}

#[test]
fn a_link_reply_is_not_followed() {
    let w = world();
    let srv = serve(&w.server, "/dev/io/link", 0, |m| {
        let status = (_IO_CONNECT_RET_FLAG | _IO_CONNECT_RET_LINK) as i64;
        msg_reply(m.rcvid, status, &[0u8; 20]).unwrap();
        Next::Stop
    });
    bound();
    assert_eq!(
        io::open("/dev/io/link", libc::O_RDONLY, 0),
        Err(Errno::ENOSYS)
    );
    join(srv);
}

#[test]
fn a_server_dying_while_a_read_is_blocked_fails_it_and_takes_its_entry() {
    let k = kernel();
    let client = process(&k);
    let _b = bind(&client);
    let server = process(&k);
    let (tx, rx) = mpsc::channel::<()>();
    let (gone_tx, gone_rx) = mpsc::channel::<()>();
    // Opens are let in; a read is received and never answered: the server holds it until its
    // process is gone.
    let srv = serve(&server, "/dev/io/gone", 0, move |m| {
        if m.ty() == _IO_CONNECT {
            msg_reply(m.rcvid, 0, &[]).unwrap();
            return Next::Go;
        }
        tx.send(()).unwrap();
        let _ = gone_rx.recv_timeout(DEADLINE);
        Next::Stop
    });
    bound();
    let fd = io::open("/dev/io/gone", libc::O_RDONLY, 0).unwrap();
    let killer = std::thread::spawn(move || {
        rx.recv_timeout(DEADLINE).expect("the read arrived");
        server.exit();
        gone_tx.send(()).unwrap();
        join(srv);
    });
    let mut buf = [0u8; 4];
    bound();
    let r = io::read(fd, &mut buf);
    killer.join().unwrap();
    assert!(matches!(r, Err(Errno::ESRCH) | Err(Errno::EBADF)), "{r:?}");
    // The fd stays the client's to close; its entry went with the server.
    bound();
    assert_eq!(
        io::open("/dev/io/gone", libc::O_RDONLY, 0),
        Err(Errno::ENOENT)
    );
    assert!(io::close(fd).is_err());
    assert_eq!(io::read(fd, &mut buf), Err(Errno::EBADF), "closed");
}
