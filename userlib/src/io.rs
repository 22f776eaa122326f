//! The client side of QNX's I/O: `open`, `read`, `write`, `pread`, `pwrite`, `lseek`, `fstat`,
//! `close`, `devctl`, `ionotify` (and `stat` as open + fstat + close) on paths that resource
//! managers attached, each sending the message QNX's libc sends ([`crate::iomsg`]).
//!
//! An fd here is the coid of the connection, as QNX's fds are coids (a side-channel coid:
//! these fds never collide with the program's Linux fds). Errors: the server's `MsgError`
//! value; EBADF for an fd that is no connection (or whose server is gone).
//!
//! ```no_run
//! use userlib::io;
//! let fd = io::open("/dev/sample", libc::O_RDWR, 0)?;
//! io::write(fd, b"hello")?;
//! let mut buf = [0u8; 16];
//! let n = io::read(fd, &mut buf)?;
//! io::close(fd)?;
//! # let _ = n;
//! # Ok::<(), userlib::Errno>(())
//! ```
//!
//! **How `open` finds its server** (QNX's connect engine, reference §5.1): the path is made
//! absolute with the working directory, `.` and `..` components and repeated `/` removed
//! lexically (as QNX's path manager resolves them: textually), then each entry the kernel's
//! path manager gives for it (`path_resolve`, longest mountpoint first) is tried in turn: a
//! side-channel connection to the server, an `_IO_CONNECT` (`_IO_CONNECT_OPEN`) carrying the
//! entry's handle and the rest of the path after the mountpoint. The first server to answer
//! without an error owns the fd. A server that answers ENOENT, ENXIO, ESRCH, ENOSYS or EROFS,
//! or is gone, passes the open to the next entry; any other error ends it. A reply with
//! `_IO_CONNECT_RET_FLAG` (a link or redirect) is not followed: ENOSYS (docs/deviations.md).

use crate::current::with_current;
use crate::iomsg::*;
use crate::qnx;
use kernel_sim::consts::{_FTYPE_ANY, _NTO_SIDE_CHANNEL, ND_LOCAL_NODE};
use kernel_sim::types::SigEvent;
use kernel_sim::{Errno, Iov, KResult};
use zerocopy::IntoBytes;

/// `SYMLOOP_MAX`: the `entry_max` an open sends.
const ENTRY_MAX: u16 = 16;
/// The size of the reply buffer an open gives its servers (`reply_max`): room for an
/// `_io_connect_link_reply` and a few entries, which are refused anyway (ENOSYS).
const CONNECT_REPLY_MAX: usize = 128;

// ------------------------------------------------------------------------- paths

/// `path` made absolute with the working directory, with `.`, `..` (lexically: `/..` is `/`)
/// and repeated `/` removed, a trailing `/` dropped; and whether `path` ended with `/` (the
/// `_IO_CONNECT_EFLAG_DIR` of the open). ENOENT an empty path (as POSIX); the working
/// directory's error if it cannot be read.
pub fn absolute_path(path: &[u8]) -> KResult<(Vec<u8>, bool)> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let dir = path.len() > 1 && path.ends_with(b"/");
    let cwd;
    let joined: Vec<&[u8]> = if path[0] == b'/' {
        vec![path]
    } else {
        use std::os::unix::ffi::OsStrExt;
        cwd = std::env::current_dir().map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
        vec![cwd.as_os_str().as_bytes(), path]
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in joined.iter().flat_map(|p| p.split(|&b| b == b'/')) {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(c),
        }
    }
    let mut out = Vec::with_capacity(path.len() + 1);
    for c in &parts {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    Ok((out, dir))
}

/// How a connect ended.
enum Connect {
    /// A server took it: the coid.
    Opened(i32),
    /// No entry took it: none resolved (`None`), or every one passed it on (the last
    /// "keep looking" errno).
    NoServer(Option<Errno>),
    /// A server refused it (or the connection failed) with an error that ends the search.
    Failed(Errno),
    /// The path manager refused the path itself (EINVAL, ENAMETOOLONG), or the kernel could
    /// not be reached.
    Unresolvable(Errno),
}

/// Errors that pass an open on to the next entry (QNX's connect engine).
fn keep_looking(e: Errno) -> bool {
    matches!(
        e,
        Errno::ENOENT | Errno::ENXIO | Errno::ESRCH | Errno::ENOSYS | Errno(libc::EROFS)
    )
}

/// The `_IO_CONNECT` message of an open: the header, then `rest` and its NUL, padded to 8.
/// What a connect asks of a server.
#[derive(Clone, Copy, Debug)]
enum Request {
    /// `open(path, oflag, mode)`: `_IO_CONNECT_OPEN`; the connection stays.
    Open { oflag: i32, mode: u32 },
    /// `stat(path)`: `_IO_CONNECT_COMBINE_CLOSE` carrying an `_io_stat`, as QNX's libc sends it:
    /// the server opens (with no access asked), answers the stat and closes, in one message.
    Stat,
}

fn connect_message(entry_handle: u32, rest: &[u8], req: Request, dir: bool) -> Vec<u8> {
    let (subtype, ioflag, mode, extra) = match req {
        Request::Open { oflag, mode } => (
            _IO_CONNECT_OPEN,
            ioflag_from_oflag(oflag),
            if oflag & libc::O_CREAT != 0 {
                mode & !libc::S_IFMT
            } else {
                0
            },
            Vec::new(),
        ),
        Request::Stat => {
            let st = IoStat {
                type_: _IO_STAT,
                combine_len: size_of::<IoStat>() as u16,
                format: _STAT_FORM_PREFERRED,
            };
            (_IO_CONNECT_COMBINE_CLOSE, 0, 0, st.as_bytes().to_vec())
        }
    };
    let hdr = IoConnect {
        type_: _IO_CONNECT,
        subtype,
        file_type: _FTYPE_ANY,
        reply_max: CONNECT_REPLY_MAX as u16,
        entry_max: ENTRY_MAX,
        key: 0,
        handle: entry_handle,
        ioflag,
        mode,
        sflag: SH_DENYNO,
        access: _IO_FLAG_RD | _IO_FLAG_WR,
        zero: 0,
        path_len: (rest.len() + 1) as u16,
        eflag: if dir { _IO_CONNECT_EFLAG_DIR } else { 0 },
        extra_type: 0,
        extra_len: extra.len() as u16,
    };
    let mut msg = Vec::with_capacity(40 + rest.len() + 8 + extra.len());
    msg.extend_from_slice(&hdr.to_bytes());
    msg.extend_from_slice(rest);
    msg.push(0);
    msg.resize(msg.len().next_multiple_of(8), 0);
    msg.extend_from_slice(&extra);
    msg
}

/// QNX's connect engine for an open of the absolute, normalised `norm`.
fn connect(norm: &[u8], dir: bool, req: Request, reply: &mut [u8]) -> Connect {
    let norm = match kernel_sim::normalize_path(norm) {
        Ok(n) => n,
        Err(e) => return Connect::Unresolvable(e),
    };
    if norm.len() + 1 > usize::from(u16::MAX) {
        return Connect::Unresolvable(Errno::ENAMETOOLONG);
    }
    let mut remembered = None;
    // The entries tried, by id: the path manager is asked again from the first entry after
    // each refusal, and those already tried are passed over, so that an entry that goes
    // meanwhile (its server refused and left) does not make the next one be skipped.
    let mut tried: Vec<i32> = Vec::new();
    let mut skip = 0;
    loop {
        let entry = match with_current(|c| c.path_resolve(&norm, _FTYPE_ANY, skip)) {
            Ok(e) => e,
            Err(Errno::ENOENT) => return Connect::NoServer(remembered),
            Err(e) if skip == 0 && tried.is_empty() => return Connect::Unresolvable(e),
            Err(_) => return Connect::NoServer(remembered),
        };
        if tried.contains(&entry.id) {
            skip += 1;
            continue;
        }
        tried.push(entry.id);
        skip = 0;
        let rest = &norm[(entry.prefix_len as usize).min(norm.len())..];
        let coid =
            match qnx::connect_attach(ND_LOCAL_NODE, entry.pid, entry.chid, _NTO_SIDE_CHANNEL, 0) {
                Ok(c) => c,
                // Gone (or going) since it was resolved: as if it had not been there.
                Err(Errno::ESRCH | Errno::ENXIO | Errno::EBADF) => {
                    remembered = Some(Errno::ENOENT);
                    continue;
                }
                Err(e) => return Connect::Failed(e),
            };
        let msg = connect_message(entry.handle, rest, req, dir);
        match qnx::msg_send(coid, &msg, reply) {
            Ok(status) if status < 0 || (status as u64) & u64::from(_IO_CONNECT_RET_FLAG) != 0 => {
                // A link or redirect (or a retyped reply): not followed here.
                let _ = qnx::connect_detach(coid);
                return Connect::Failed(Errno::ENOSYS);
            }
            Ok(_) => return Connect::Opened(coid),
            Err(e) => {
                let _ = qnx::connect_detach(coid);
                match e {
                    // The server went while we waited: the next entry.
                    Errno::EBADF => remembered = Some(Errno::ENOENT),
                    e if keep_looking(e) => remembered = Some(e),
                    e => return Connect::Failed(e),
                }
            }
        }
    }
}

/// `open(path, oflag, mode)`: an fd (a coid) on the resource manager that takes `path`; see
/// the module docs for how it is found. `mode` is sent (without its `S_IFMT` bits, and with the
/// process's umask applied) only with `O_CREAT`; `O_CLOEXEC` is accepted (and not sent). ENOENT an empty path, or no server takes
/// it (or the last "keep looking" error servers answered); EINVAL a path the path manager
/// refuses (a NUL); ENAMETOOLONG a path longer than it takes (127 bytes once normalised);
/// ENOSYS a link or redirect reply; otherwise the server's error.
pub fn open(path: &str, oflag: i32, mode: u32) -> KResult<i32> {
    open_bytes(path.as_bytes(), oflag, mode)
}

/// [`open`] of a path given as bytes (a C path need not be UTF-8).
pub fn open_bytes(path: &[u8], oflag: i32, mode: u32) -> KResult<i32> {
    let (norm, dir) = absolute_path(path)?;
    let mode = masked(oflag, mode);
    let mut reply = [0u8; CONNECT_REPLY_MAX];
    match connect(&norm, dir, Request::Open { oflag, mode }, &mut reply) {
        Connect::Opened(coid) => Ok(coid),
        Connect::NoServer(e) => Err(e.unwrap_or(Errno::ENOENT)),
        Connect::Failed(e) | Connect::Unresolvable(e) => Err(e),
    }
}

/// What libqnxsim's interposed `open` asks: `None` when no resource manager takes `path` (no
/// entry for it, a path the path manager refuses, the kernel not reachable, or every entry
/// passed it on: the open then goes to Linux, the last member of the union), else [`open`]'s
/// result.
pub fn open_if_managed(path: &[u8], oflag: i32, mode: u32) -> Option<KResult<i32>> {
    let (norm, dir) = absolute_path(path).ok()?;
    let mode = masked(oflag, mode);
    let mut reply = [0u8; CONNECT_REPLY_MAX];
    match connect(&norm, dir, Request::Open { oflag, mode }, &mut reply) {
        Connect::Opened(coid) => Some(Ok(coid)),
        Connect::Failed(e) => Some(Err(e)),
        Connect::NoServer(_) | Connect::Unresolvable(_) => None,
    }
}

/// An `O_CREAT` open's `mode` with the process's umask applied, as QNX's connect engine
/// applies the umask the path manager's reply carries (`_IO_CONNECT_RET_UMASK`): the server
/// sees the mode a file it creates should get.
fn masked(oflag: i32, mode: u32) -> u32 {
    if oflag & libc::O_CREAT == 0 {
        return mode;
    }
    mode & !(process_umask() & 0o7777)
}

/// The process's umask, read without changing it: `/proc/self/status`'s `Umask:` line (Linux
/// 4.7 and later). Without it, `umask(2)` is set and set back, which a thread creating a file
/// at that moment could see.
fn process_umask() -> u32 {
    let from_proc = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        });
    from_proc.unwrap_or_else(|| {
        // SAFETY: umask takes and returns plain integers.
        unsafe {
            let old = libc::umask(0o022);
            libc::umask(old);
            old
        }
    })
}

/// Whether some resource manager's entry matches `path` (absolute), asked of the path
/// manager only: no server is contacted. False for a path it refuses, or when the kernel
/// cannot be reached.
pub fn path_is_managed(path: &[u8]) -> bool {
    with_current(|c| c.path_resolve(path, _FTYPE_ANY, 0)).is_ok()
}

/// The mountpoints of the kernel last asked, and the names generation they are current for.
struct Mounts {
    kernel: u64,
    gen: u64,
    paths: Vec<Vec<u8>>,
}

static MOUNTS: std::sync::RwLock<Option<Mounts>> = std::sync::RwLock::new(None);

/// Whether `path` (absolute, normalised) is under a mountpoint of `paths`, on a component
/// boundary, or under `/dev/name/` (where names are): false means no entry can match it.
fn under(paths: &[Vec<u8>], path: &[u8]) -> bool {
    let below = |m: &[u8]| {
        m == b"/"
            || path == m
            || (path.len() > m.len() && path.starts_with(m) && path[m.len()] == b'/')
    };
    below(b"/dev/name") || paths.iter().any(|m| below(m))
}

/// Whether the path manager may have an entry for `path` (absolute, normalised), decided
/// without a kernel call whenever nothing was attached or detached since the last time: the
/// mountpoints are cached per kernel and refreshed when the kernel's names generation moves
/// (one atomic load). False too when the calling thread reaches no kernel (a program that made
/// none has no resource managers; none is made by asking). True means "ask
/// [`path_is_managed`]": an entry on a mountpoint may still not match (its file type, or its
/// own process).
pub fn path_may_be_managed(path: &[u8]) -> bool {
    if !crate::current::kernel_reachable() {
        return false;
    }
    // (The kernel is only looked at, not cloned: an ordinary open costs no reference count.)
    with_current(|c| {
        let k = c.kernel();
        let (key, gen) = (k.id(), k.names_generation());
        {
            let m = MOUNTS.read().unwrap_or_else(|p| p.into_inner());
            if let Some(m) = m.as_ref().filter(|m| m.kernel == key && m.gen == gen) {
                return Ok(under(&m.paths, path));
            }
        }
        let (gen, paths) = k.mountpoints();
        let answer = under(&paths, path);
        *MOUNTS.write().unwrap_or_else(|p| p.into_inner()) = Some(Mounts {
            kernel: key,
            gen,
            paths,
        });
        Ok(answer)
    })
    .unwrap_or(false)
}

// ------------------------------------------------------------------------- fd calls

/// A reply status as a byte count (at most `max`: a server cannot make a caller read past
/// its buffer). A negative status: EIO.
fn count(status: i64, max: usize) -> KResult<usize> {
    usize::try_from(status)
        .map(|n| n.min(max))
        .map_err(|_| Errno::EIO)
}

/// Sends on `fd`: EBADF for an fd that is no connection (the kernel's answer for a coid it
/// does not know, and for a negative one). Every other error is the server's or the kernel's,
/// as it came: a server's EINVAL stays EINVAL.
fn sendv(fd: i32, siov: &[&[u8]], riov: &mut [&mut [u8]]) -> KResult<i64> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    qnx::msg_sendv(fd, siov, riov)
}

/// EINVAL from `ConnectDetach` (a coid it does not know) is EBADF to a file caller.
fn bad_fd(e: Errno) -> Errno {
    if e == Errno::EINVAL {
        Errno::EBADF
    } else {
        e
    }
}

/// `read(fd, buf, nbytes)`: `_IO_READ` (`_IO_READ64` from 4 GiB); the server's data lands in
/// `buf`, the count is its reply status.
pub fn read(fd: i32, buf: &mut [u8]) -> KResult<usize> {
    let hdr = IoRead::new(_IO_READ, buf.len() as u64);
    let n = buf.len();
    count(sendv(fd, &[hdr.as_bytes()], &mut [buf])?, n)
}

/// `write(fd, buf, nbytes)`: `_IO_WRITE` with the data after the header; the count written
/// is the reply status.
pub fn write(fd: i32, buf: &[u8]) -> KResult<usize> {
    let hdr = IoRead::new(_IO_WRITE, buf.len() as u64);
    count(sendv(fd, &[hdr.as_bytes(), buf], &mut [])?, buf.len())
}

/// `pread(fd, buf, nbytes, offset)`: `_IO_READ` with `_IO_XTYPE_OFFSET` and a
/// `struct _xtype_offset` after the header (`combine_len` the header's 16, as QNX's libc).
pub fn pread(fd: i32, buf: &mut [u8], offset: i64) -> KResult<usize> {
    let mut hdr = IoRead::new(_IO_READ, buf.len() as u64);
    hdr.xtype = _IO_XTYPE_OFFSET;
    let off = XtypeOffset { offset };
    let n = buf.len();
    count(sendv(fd, &[hdr.as_bytes(), off.as_bytes()], &mut [buf])?, n)
}

/// `pwrite(fd, buf, nbytes, offset)`: `_IO_WRITE` with `_IO_XTYPE_OFFSET`, the offset, then
/// the data.
pub fn pwrite(fd: i32, buf: &[u8], offset: i64) -> KResult<usize> {
    let mut hdr = IoRead::new(_IO_WRITE, buf.len() as u64);
    hdr.xtype = _IO_XTYPE_OFFSET;
    let off = XtypeOffset { offset };
    count(
        sendv(fd, &[hdr.as_bytes(), off.as_bytes(), buf], &mut [])?,
        buf.len(),
    )
}

/// `lseek(fd, offset, whence)`: `_IO_LSEEK`; the new offset is the 8-byte reply.
pub fn lseek(fd: i32, offset: i64, whence: i32) -> KResult<i64> {
    let whence = i16::try_from(whence).map_err(|_| Errno::EINVAL)?;
    let msg = IoLseek {
        type_: _IO_LSEEK,
        combine_len: size_of::<IoLseek>() as u16,
        whence,
        zero: 0,
        offset: offset as u64,
    };
    let mut reply = [0u8; 8];
    sendv(fd, &[msg.as_bytes()], &mut [&mut reply])?;
    Ok(i64::from_ne_bytes(reply))
}

/// `fstat(fd, &st)`: `_IO_STAT` asking for `_STAT_FORM_PREFERRED`; the reply is Linux's
/// `struct stat` here (QNX's layout differs: docs/deviations.md).
pub fn fstat(fd: i32) -> KResult<libc::stat> {
    let msg = IoStat {
        type_: _IO_STAT,
        combine_len: size_of::<IoStat>() as u16,
        format: _STAT_FORM_PREFERRED,
    };
    let mut reply = [0u8; size_of::<libc::stat>()];
    sendv(fd, &[msg.as_bytes()], &mut [&mut reply])?;
    // SAFETY: `libc::stat` is a plain C struct of integers, valid for every bit pattern, and
    // `reply` holds exactly its size; read_unaligned needs no alignment of the bytes.
    Ok(unsafe { std::ptr::read_unaligned(reply.as_ptr().cast::<libc::stat>()) })
}

/// `close(fd)`: `_IO_CLOSE`, then `ConnectDetach(fd)` unless the send was interrupted
/// (EINTR: the fd stays open, as QNX's libc leaves it). The send's error is returned (the fd
/// is gone all the same): EBADF an fd that is no connection.
pub fn close(fd: i32) -> KResult<()> {
    let msg = IoClose {
        type_: _IO_CLOSE,
        combine_len: size_of::<IoClose>() as u16,
    };
    let sent = sendv(fd, &[msg.as_bytes()], &mut []);
    if sent == Err(Errno::EINTR) {
        return Err(Errno::EINTR);
    }
    let detached = qnx::connect_detach(fd).map_err(bad_fd);
    sent?;
    detached
}

/// `devctl(fd, dcmd, data, nbytes, dev_info)`: `_IO_DEVCTL` with `nbytes` = `data.len()`;
/// `data` is sent only if `dcmd` has `DEVDIR_TO`, and receives the server's data only if it
/// has `DEVDIR_FROM` (the direction bits decide, not the size). On success `dev_info` gets
/// the reply's `ret_val`. ENOSYS from the server is ENOTTY (QNX's rule). Returns the errno
/// (QNX's `devctl` returns it rather than setting `errno`).
pub fn devctl(
    fd: i32,
    dcmd: i32,
    data: &mut [u8],
    dev_info: Option<&mut i32>,
) -> Result<(), Errno> {
    let ret = devctl_raw(fd, dcmd, data, true)?;
    if let Some(info) = dev_info {
        *info = ret;
    }
    Ok(())
}

/// [`devctl`]'s message: the reply's `ret_val`; ENOSYS becomes ENOTTY when `notty`.
pub(crate) fn devctl_raw(fd: i32, dcmd: i32, data: &mut [u8], notty: bool) -> KResult<i32> {
    let len = u32::try_from(data.len()).map_err(|_| Errno::EINVAL)?;
    let msg = IoDevctl {
        type_: _IO_DEVCTL,
        combine_len: size_of::<IoDevctl>() as u16,
        dcmd,
        nbytes: len,
        zero: 0,
    };
    let mut reply = IoDevctlReply::default();
    let dir = get_device_direction(dcmd);
    let data_iov = Iov {
        base: data.as_mut_ptr() as u64,
        len: data.len() as u64,
    };
    let mut siov = vec![Iov {
        base: msg.as_bytes().as_ptr() as u64,
        len: size_of::<IoDevctl>() as u64,
    }];
    if dir & DEVDIR_TO != 0 && !data.is_empty() {
        siov.push(data_iov);
    }
    let mut riov = vec![Iov {
        base: reply.as_mut_bytes().as_mut_ptr() as u64,
        len: size_of::<IoDevctlReply>() as u64,
    }];
    if dir & DEVDIR_FROM != 0 && !data.is_empty() {
        riov.push(data_iov);
    }
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    // SAFETY: every iov describes memory we hold for the whole call: `msg` and `reply` (locals)
    // and `data` (borrowed mutably). With DEVDIR_TOFROM `data` is both sent and received into,
    // as QNX's devctl does with one buffer: the kernel copies the message out before the
    // server can answer into it.
    let r = unsafe { qnx::msg_sendv_raw(fd, &siov, &riov) };
    match r {
        Ok(_) => Ok(reply.ret_val),
        Err(Errno::ENOSYS) if notty => Err(Errno(libc::ENOTTY)),
        Err(e) => Err(e),
    }
}

/// `_devctl(fd, dcmd, data, nbytes, flags)` as QNX 7's: the reply's `ret_val` on success (0
/// with `_DEVCTL_FLAG_NORETVAL`), ENOSYS turned into ENOTTY only with `_DEVCTL_FLAG_NOTTY`.
pub fn devctl_flags(fd: i32, dcmd: i32, data: &mut [u8], flags: u32) -> KResult<i32> {
    const NORETVAL: u32 = 0x1;
    const NOTTY: u32 = 0x2;
    const NOCANCEL: u32 = 0x4;
    if flags & !(NORETVAL | NOTTY | NOCANCEL) != 0 {
        return Err(Errno::EINVAL);
    }
    let ret = devctl_raw(fd, dcmd, data, flags & NOTTY != 0)?;
    Ok(if flags & NORETVAL != 0 { 0 } else { ret })
}

/// `ionotify(fd, action, flags, event)`: `_IO_NOTIFY` with the event in QNX's 32-bit form
/// (zero if `None`); returns the conditions met (the reply's `flags`).
pub fn ionotify(fd: i32, action: i32, flags: i32, event: Option<&SigEvent>) -> KResult<i32> {
    let msg = IoNotify {
        type_: _IO_NOTIFY,
        combine_len: size_of::<IoNotify>() as u16,
        action,
        flags,
        event: event.map(SigEvent32::from).unwrap_or_default(),
        ..Default::default()
    };
    let mut reply = IoNotifyReply::default();
    sendv(fd, &[msg.as_bytes()], &mut [reply.as_mut_bytes()])?;
    Ok(reply.flags as i32)
}

/// `stat(path, &st)` as QNX's libc does it: one `_IO_CONNECT_COMBINE_CLOSE` message carrying
/// an `_io_stat`, so the server opens the path with no access asked (a resource it would not
/// open for reading is stat'ed all the same), answers the `struct stat` (Linux's here) and
/// closes it. The errors of [`open`].
pub fn stat(path: &str) -> KResult<libc::stat> {
    stat_bytes(path.as_bytes())
}

/// [`stat`] of a path given as bytes.
pub fn stat_bytes(path: &[u8]) -> KResult<libc::stat> {
    let (norm, dir) = absolute_path(path)?;
    match stat_connect(&norm, dir) {
        (_, Some(st)) => Ok(st),
        (Connect::NoServer(e), None) => Err(e.unwrap_or(Errno::ENOENT)),
        (Connect::Failed(e) | Connect::Unresolvable(e), None) => Err(e),
        (Connect::Opened(_), None) => Err(Errno::EIO),
    }
}

/// What libqnxsim's interposed `stat` asks: `None` when no resource manager takes `path` (then
/// Linux's `stat` answers), else [`stat`]'s result.
pub fn stat_if_managed(path: &[u8]) -> Option<KResult<libc::stat>> {
    let (norm, dir) = absolute_path(path).ok()?;
    match stat_connect(&norm, dir) {
        (_, Some(st)) => Some(Ok(st)),
        (Connect::Failed(e), None) => Some(Err(e)),
        (Connect::Opened(_), None) => Some(Err(Errno::EIO)),
        (Connect::NoServer(_) | Connect::Unresolvable(_), None) => None,
    }
}

/// The stat combine message through QNX's connect engine: how it ended, and the `struct
/// stat` when a server answered it (its connection then detached already).
fn stat_connect(norm: &[u8], dir: bool) -> (Connect, Option<libc::stat>) {
    let mut reply = [0u8; size_of::<libc::stat>()];
    match connect(norm, dir, Request::Stat, &mut reply) {
        Connect::Opened(coid) => {
            // The server closed its side (the combine close); the connection goes too.
            let _ = qnx::connect_detach(coid);
            // SAFETY: `libc::stat` is a plain C struct of integers, valid for every bit
            // pattern, and `reply` holds exactly its size; read_unaligned needs no alignment.
            let st = unsafe { std::ptr::read_unaligned(reply.as_ptr().cast::<libc::stat>()) };
            (Connect::Opened(coid), Some(st))
        }
        other => (other, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_absolute_lexically() {
        let (p, dir) = absolute_path(b"/a//b/./c/../d/").unwrap();
        assert_eq!((p.as_slice(), dir), (&b"/a/b/d"[..], true));
        assert_eq!(absolute_path(b"/../..").unwrap().0, b"/");
        assert_eq!(absolute_path(b"").unwrap_err(), Errno::ENOENT);
        let cwd = std::env::current_dir().unwrap();
        let (p, dir) = absolute_path(b"x").unwrap();
        assert_eq!(p, cwd.join("x").to_str().unwrap().as_bytes());
        assert!(!dir);
    }

    #[test]
    fn the_connect_message_is_padded_to_8() {
        let open = Request::Open {
            oflag: libc::O_CREAT | libc::O_WRONLY,
            mode: 0o100644,
        };
        let m = connect_message(9, b"abc", open, true);
        assert_eq!(m.len(), 48);
        let c = IoConnect::from_bytes(&m).unwrap();
        assert_eq!((c.handle, c.path_len, c.mode, c.eflag), (9, 4, 0o644, 1));
        assert_eq!(&m[40..44], b"abc\0");
    }
}
