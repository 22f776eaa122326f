//! The supervisor's admission protocol, and a program's side of it: how a program joins a
//! kernel that a supervisor (`procnto-sim`) keeps, and how the supervisor watches it.
//!
//! The supervisor makes the region in a memfd (no file left behind) and listens on a Unix
//! socket (its directory 0700, the socket 0600). A program connects; the supervisor checks its
//! peer credentials (same uid, or root's programs for a root supervisor), opens a pidfd on
//! it, and sends it the memfd (`SCM_RIGHTS`) with one byte; the program answers with its
//! image's tag ([`crate::objects::Process::os_image`]) before it maps the kernel
//! ([`crate::Kernel::open_fd`]). When the pidfd says the program ended, the supervisor runs
//! the kernel's teardown for the processes of the images admitted under that program
//! ([`crate::Kernel::reap_os_images`]): Linux may have given its pid to a new program that
//! joined meanwhile, whose processes are not the dead program's. The supervisor is never on
//! the message path: after admission, programs talk through the region alone.

use crate::abi::errno::{Errno, KResult};
use crate::kernel::Kernel;
use crate::region::Config;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The byte the supervisor sends with the region's descriptor.
const ADMITTED: u8 = b'K';

/// The byte a program sends before its image's tag (8 bytes, little-endian), in answer.
const IMAGE: u8 = b'I';

/// Where supervised kernels' sockets live: `$XDG_RUNTIME_DIR/qnxsim`, or `/tmp/qnxsim-UID`
/// without it. Created (mode 0700) if missing; EACCES if it exists but is not a directory the
/// caller owns alone.
pub fn runtime_dir() -> KResult<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let uid = nix::unistd::getuid().as_raw();
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("qnxsim"),
        None => std::env::temp_dir().join(format!("qnxsim-{uid}")),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_errno(&e)),
    }
    let m = std::fs::symlink_metadata(&dir).map_err(|e| io_errno(&e))?;
    if !m.is_dir() || m.uid() != uid || m.permissions().mode() & 0o077 != 0 {
        return Err(Errno::EACCES);
    }
    Ok(dir)
}

/// The socket of the supervised kernel `name`: `name` itself if it names a path (has a `/`),
/// else `NAME.sock` in [`runtime_dir`]. EINVAL for an empty name or one with a NUL.
pub fn socket_path(name: &str) -> KResult<PathBuf> {
    if name.is_empty() || name.contains('\0') {
        return Err(Errno::EINVAL);
    }
    let path = if name.contains('/') {
        PathBuf::from(name)
    } else {
        runtime_dir()?.join(format!("{name}.sock"))
    };
    // (A Unix socket's path holds at most 107 bytes and its terminating NUL.)
    if path.as_os_str().len() >= SUN_PATH {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(path)
}

/// Where the programs of the supervised kernel at `socket` keep its simulated physical memory
/// (userlib's `device`): the socket's path with `.phys` added, which names no other kernel's
/// (a kernel file's is its path with `.phys` added, and no kernel file's path ends in `.sock`
/// nor is a socket).
pub fn phys_path(socket: &Path) -> PathBuf {
    let mut p = socket.as_os_str().to_owned();
    p.push(".phys");
    PathBuf::from(p)
}

/// The size of `sockaddr_un`'s `sun_path` on Linux.
const SUN_PATH: usize = 108;

/// The kernel a tool serves or inspects: `given` (its `--kernel`), else `$QNXSIM_KERNEL`, else
/// `"default"`. EINVAL if `$QNXSIM_KERNEL` is needed and is not UTF-8 (a name or socket path
/// must be; it is not taken for unset).
pub fn kernel_name(given: Option<&str>) -> KResult<String> {
    if let Some(g) = given {
        return Ok(g.to_string());
    }
    match std::env::var_os("QNXSIM_KERNEL").filter(|s| !s.is_empty()) {
        None => Ok("default".into()),
        Some(v) => v.into_string().map_err(|_| Errno::EINVAL),
    }
}

/// The kernel a tool (`pidin-sim`, `intr-sim`) works on, and its name: `given` (its
/// `--kernel`), else `$QNXSIM_KERNEL`, else `"default"`; a supervised kernel is attached
/// through its supervisor's socket, a memory file mapped, and nothing is started. Err: the
/// message the tool prints before it exits with status 1.
pub fn open_named(given: Option<&str>) -> Result<(Kernel, String), String> {
    let Ok(name) = kernel_name(given) else {
        return Err("QNXSIM_KERNEL is not UTF-8: a kernel's name or path must be".into());
    };
    let opened = if is_supervised(&name) {
        socket_path(&name).and_then(|s| attach(&s))
    } else {
        Kernel::open_shared(Path::new(&name))
    };
    opened.map(|k| (k, name.clone())).map_err(|e| {
        // A socket nobody answers: its supervisor ended (killed, or crashed) without removing
        // it. Programs it admitted may still run their kernel, but it is reached only through
        // its supervisor (docs/deviations.md, "A supervisor that dies").
        let dead = e.raw() == libc::ECONNREFUSED && is_supervised(&name);
        let hint = if dead {
            " (its supervisor has ended; programs it admitted may still run that kernel, \
             which no tool can reach without its supervisor: restart them)"
        } else if e.raw() == libc::ENOENT || e.raw() == libc::ECONNREFUSED {
            " (is a program of it running? --kernel or QNXSIM_KERNEL names another kernel)"
        } else {
            ""
        };
        format!("cannot open the kernel {name:?}: {e}{hint}")
    })
}

/// Whether a kernel's name (`QNXSIM_KERNEL`, `--kernel`) names a supervised kernel: a name
/// without `/`, an existing socket, or a path ending in `.sock`. Any other path names a plain
/// memory file (`Kernel::create_shared`).
pub fn is_supervised(value: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::metadata(value).is_ok_and(|m| m.file_type().is_socket());
    !value.contains('/') || is_socket || value.ends_with(".sock")
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(libc::EIO))
}

/// A program's side: connects to the supervisor at `socket` and maps the kernel it hands over.
/// ENOENT or ECONNREFUSED: no supervisor there; EACCES: it refused us (another user);
/// ECONNRESET: it ended before admitting us (killed; a supervisor of our user never refuses
/// us).
pub fn attach(socket: &Path) -> KResult<Kernel> {
    let s = UnixStream::connect(socket).map_err(|e| io_errno(&e))?;
    let (fd, supervisor) = receive_fds(&s)?;
    // Which image this is, for the supervisor's reaping (before any process of it can be
    // made). A supervisor that does not read it closed already: EPIPE, and no signal.
    let mut said = [0u8; 9];
    said[0] = IMAGE;
    said[1..].copy_from_slice(&crate::kernel::image_tag().to_le_bytes());
    let _ = nix::sys::socket::send(
        s.as_raw_fd(),
        &said,
        nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
    );
    let k = Kernel::open_fd(fd)?;
    // If the supervisor dies, this program reaps the kernel's dead programs itself (a failure
    // to watch leaves it as a program of a supervisor that never dies).
    if let Some(pidfd) = supervisor {
        let _ = k.watch_supervisor(pidfd);
    }
    Ok(k)
}

/// The kernel's memfd and the supervisor's pidfd (a supervisor of an earlier protocol sends
/// only the memfd).
fn receive_fds(s: &UnixStream) -> KResult<(OwnedFd, Option<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 2]);
    let msg = recvmsg::<()>(
        s.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| Errno(e as i32))?;
    let mut fds = Vec::new();
    for c in msg.cmsgs().map_err(|e| Errno(e as i32))? {
        if let ControlMessageOwned::ScmRights(raws) = c {
            for raw in raws {
                // SAFETY: the kernel just installed `raw` in our table for us (SCM_RIGHTS);
                // nothing else owns it.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
    }
    let mut fds = fds.into_iter();
    let (fd, supervisor) = (fds.next(), fds.next());
    match (msg.bytes, byte[0], fd) {
        (1, ADMITTED, Some(fd)) => Ok((fd, supervisor)),
        // Closed without a word: refused, or cut short.
        (0, _, _) => Err(closed_without_a_word(s)),
        _ => Err(Errno::EINVAL),
    }
}

/// Why a supervisor closed an admission without a word: it refuses a program of another user
/// alone (EACCES); one of our own user never refuses us, so it died (or failed) between
/// accepting us and answering: cut short (ECONNRESET, as when it dies before accepting), for
/// the caller to try again. (Its user is the one it listened as: the listener's credentials.)
fn closed_without_a_word(s: &UnixStream) -> Errno {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    match getsockopt(s, PeerCredentials) {
        Ok(c) if c.uid() == nix::unistd::geteuid().as_raw() => Errno(libc::ECONNRESET),
        _ => Errno::EACCES,
    }
}

/// A program the supervisor admitted and watches: one image of it, admitted once (a program
/// that execs is admitted again under its pid, with a pidfd on the same process, as is one
/// whose threads joined at the same moment).
#[derive(Debug)]
struct Admitted {
    pid: i32,
    pidfd: OwnedFd,
    image: Image,
}

/// The image an admitted program said it is.
#[derive(Debug)]
enum Image {
    /// Not said yet: the admission's connection, and what came of the tag so far.
    Pending(UnixStream, Vec<u8>),
    /// Its tag.
    Known(u64),
    /// It closed the connection without saying (it died first, or it is a program of an
    /// earlier protocol).
    Unknown,
}

impl Admitted {
    /// Reads what the program said of its image, if it said more (never waits).
    fn settle(&mut self) {
        use nix::sys::socket::{recv, MsgFlags};
        let Image::Pending(stream, got) = &mut self.image else {
            return;
        };
        let mut buf = [0u8; 9];
        let settled = loop {
            let want = 9 - got.len();
            match recv(stream.as_raw_fd(), &mut buf[..want], MsgFlags::MSG_DONTWAIT) {
                Ok(0) => break Some(Image::Unknown),
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    if got.len() == 9 {
                        let tag = u64::from_le_bytes(got[1..].try_into().unwrap_or([0; 8]));
                        break Some(if got[0] == IMAGE && tag != 0 {
                            Image::Known(tag)
                        } else {
                            Image::Unknown
                        });
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(nix::errno::Errno::EAGAIN) => break None,
                Err(_) => break Some(Image::Unknown),
            }
        };
        if let Some(image) = settled {
            self.image = image;
        }
    }

    /// Whether its pidfd says the program ended (never waits).
    fn ended(&self) -> bool {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(self.pidfd.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::ZERO).unwrap_or(0) > 0
            && fds[0].revents().is_some_and(|r| !r.is_empty())
    }
}

/// What a supervisor did, for its log and its tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A program joined.
    Admitted {
        /// Its Linux pid.
        pid: i32,
    },
    /// A program was refused (another user).
    Refused {
        /// Its Linux pid.
        pid: i32,
        /// Its uid.
        uid: u32,
    },
    /// A program ended; its simulated processes were torn down.
    Reaped {
        /// Its Linux pid.
        pid: i32,
        /// How many simulated processes were torn down.
        processes: usize,
    },
    /// A program died holding the kernel lock, in the middle of a call: the call was undone
    /// (`entries` before images put back) or was already complete, and the lock released,
    /// before the program was reaped.
    RecoveredLock {
        /// Its Linux pid.
        pid: i32,
        /// What was done (`Recovery::Undone` or `Recovery::Committed`).
        recovery: crate::kernel::Recovery,
    },
    /// A program died holding the kernel lock in a call too large to undo: the lock stays
    /// held, and every other program of the kernel waits for it (docs/deviations.md).
    DiedHoldingLock {
        /// Its Linux pid.
        pid: i32,
    },
}

/// What admits programs: the socket, the memfd it hands them, and what it admitted since the
/// supervisor last looked. Admission runs in [`Supervisor::step`] and also while the
/// supervisor waits for the kernel lock to reap a program (`Kernel::while_waiting`): a
/// program whose earlier image, replaced by `exec`, died holding the lock must be able to join
/// and release it (`Kernel::open_fd`), else the supervisor would wait for ever.
#[derive(Debug)]
struct Desk {
    memfd: OwnedFd,
    listener: UnixListener,
    arrivals: std::sync::Mutex<Vec<(Event, Option<Admitted>)>>,
}

impl Desk {
    /// Admits (or refuses) every program waiting at the socket.
    fn admit_pending(&self) {
        while let Ok((stream, _)) = self.listener.accept() {
            if let Some(arrival) = self.admit(stream) {
                self.arrivals
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(arrival);
            }
        }
    }

    /// What came of one program's request: the event, and the program to watch if admitted.
    fn take_arrivals(&self) -> Vec<(Event, Option<Admitted>)> {
        std::mem::take(&mut *self.arrivals.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn admit(&self, stream: UnixStream) -> Option<(Event, Option<Admitted>)> {
        use nix::sys::socket::{
            getsockopt, sendmsg, sockopt::PeerCredentials, ControlMessage, MsgFlags,
        };
        let _ = stream.set_nonblocking(false);
        let cred = getsockopt(&stream, PeerCredentials).ok()?;
        let (pid, uid) = (cred.pid(), cred.uid());
        let me = nix::unistd::getuid().as_raw();
        if uid != me {
            return Some((Event::Refused { pid, uid }, None));
        }
        // SAFETY: pidfd_open with integer arguments; a non-negative result is a new descriptor
        // we own.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if raw < 0 {
            return None; // Gone already.
        }
        // SAFETY: `raw` is the new pidfd, owned by nobody else.
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw as RawFd) };
        // The kernel's memfd, and a pidfd on this supervisor: a program watches it, to reap
        // the kernel's dead programs itself if the supervisor dies (`Kernel::watch_supervisor`).
        // (Opened here, not at `bind`: a supervisor that detaches forks after binding.)
        let my_pid = std::process::id() as libc::pid_t;
        // SAFETY: pidfd_open with integer arguments; a non-negative result is a new descriptor
        // we own.
        let me = unsafe { libc::syscall(libc::SYS_pidfd_open, my_pid, 0) };
        // SAFETY: `me`, if not negative, is the new pidfd, owned by nobody else.
        let me = (me >= 0).then(|| unsafe { OwnedFd::from_raw_fd(me as RawFd) });
        let mut fds = vec![self.memfd.as_raw_fd()];
        fds.extend(me.as_ref().map(|fd| fd.as_raw_fd()));
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let iov = [IoSlice::new(&[ADMITTED])];
        sendmsg::<()>(stream.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None).ok()?;
        // (Its tag comes once it has the descriptor: read when it has, never waited for.)
        let mut admitted = Admitted {
            pid,
            pidfd,
            image: Image::Pending(stream, Vec::new()),
        };
        admitted.settle();
        Some((Event::Admitted { pid }, Some(admitted)))
    }
}

/// A supervisor: the kernel it keeps, the desk that admits programs (its memfd and its
/// socket), and the programs it watches.
#[derive(Debug)]
pub struct Supervisor {
    kernel: Kernel,
    desk: std::sync::Arc<Desk>,
    socket: PathBuf,
    /// The socket's device and inode as bound: what the drop removes.
    bound: (u64, u64),
    /// Whether `bind` replaced a socket nobody answered (a supervisor that ended without
    /// removing it).
    replaced_stale: bool,
    watched: Vec<Admitted>,
    admitted_ever: bool,
}

impl Supervisor {
    /// Makes a kernel of `cfg` in a memfd and listens on `socket` (mode 0600). EADDRINUSE if
    /// a supervisor already answers there (a socket nobody answers is replaced); EEXIST if
    /// something other than a socket is there (it is left alone); ENAMETOOLONG if the path is
    /// too long for a socket.
    pub fn bind(socket: &Path, cfg: Config) -> KResult<Supervisor> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
        if socket.as_os_str().len() >= SUN_PATH {
            return Err(Errno::ENAMETOOLONG);
        }
        let memfd =
            nix::sys::memfd::memfd_create(c"qnxsim-kernel", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
                .map_err(|e| Errno(e as i32))?;
        let file = std::fs::File::from(memfd);
        // Mode 0600, as a kernel's plain memory file and the socket are (a memfd is made 0777:
        // reachable only through this process's descriptors, but /proc/PID/fd/N would show it
        // so to anyone let in there).
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let region = crate::region::Region::create_shared(&file, cfg)?;
        let kernel = Kernel::with_region(region, false)?;
        kernel.supervise();
        let memfd = OwnedFd::from(file);
        // Two supervisors finding the same stale socket must not both replace it: the check,
        // the removal and the bind are made under an exclusive lock on the socket's directory
        // (a lock file would be left behind).
        let dir = socket
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::fs::File::open(dir).map_err(|e| io_errno(&e))?;
        let _serialised = nix::fcntl::Flock::lock(dir, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| Errno(e as i32))?;
        let mut replaced_stale = false;
        let listener = match UnixListener::bind(socket) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                if UnixStream::connect(socket).is_ok() {
                    return Err(Errno(libc::EADDRINUSE));
                }
                // Only a socket is ever replaced: a file a program shares as a kernel of its
                // own, or anything else, is refused (a `--kernel` path given by mistake).
                let is_socket =
                    std::fs::symlink_metadata(socket).is_ok_and(|m| m.file_type().is_socket());
                if !is_socket {
                    return Err(Errno::EEXIST);
                }
                // A socket left by a supervisor that is gone: ours now.
                std::fs::remove_file(socket).map_err(|e| io_errno(&e))?;
                replaced_stale = true;
                UnixListener::bind(socket).map_err(|e| io_errno(&e))?
            }
            Err(e) => return Err(io_errno(&e)),
        };
        // (Ours: the one our drop removes, and no other.)
        let bound = std::fs::symlink_metadata(socket)
            .map(|m| (m.dev(), m.ino()))
            .map_err(|e| io_errno(&e))?;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io_errno(&e))?;
        listener.set_nonblocking(true).map_err(|e| io_errno(&e))?;
        // A new kernel's simulated physical memory starts empty: a file left by a supervisor
        // of this name that was killed is the dead kernel's (removed under the directory's
        // lock, before any program of ours can make it).
        let _ = std::fs::remove_file(phys_path(socket));
        let desk = std::sync::Arc::new(Desk {
            memfd,
            listener,
            arrivals: std::sync::Mutex::new(Vec::new()),
        });
        let admitting = desk.clone();
        kernel.while_waiting(move || admitting.admit_pending());
        Ok(Supervisor {
            kernel,
            desk,
            socket: socket.to_path_buf(),
            bound,
            replaced_stale,
            watched: Vec::new(),
            admitted_ever: false,
        })
    }

    /// The kernel it keeps.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Its socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Whether it replaced a socket nobody answered (a supervisor killed without removing it:
    /// programs that supervisor admitted may still run in a kernel no one can join now).
    pub fn replaced_stale(&self) -> bool {
        self.replaced_stale
    }

    /// Programs admitted and still running.
    pub fn programs(&self) -> usize {
        self.watched.len()
    }

    /// Whether it has admitted a program yet.
    pub fn admitted_any(&self) -> bool {
        self.admitted_ever
    }

    /// Waits up to `timeout` for something to do, then does it: admits programs that
    /// connected, reaps programs that ended. Returns what happened.
    pub fn step(&mut self, timeout: std::time::Duration) -> Vec<Event> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let (ready_listener, ended): (bool, Vec<usize>) = {
            let mut fds = vec![PollFd::new(self.desk.listener.as_fd(), PollFlags::POLLIN)];
            fds.extend(
                self.watched
                    .iter()
                    .map(|a| PollFd::new(a.pidfd.as_fd(), PollFlags::POLLIN)),
            );
            if poll(&mut fds, PollTimeout::from(ms)).unwrap_or(0) <= 0 {
                (false, Vec::new())
            } else {
                let hit = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                (
                    hit(&fds[0]),
                    (1..fds.len())
                        .filter(|&i| hit(&fds[i]))
                        .map(|i| i - 1)
                        .collect(),
                )
            }
        };
        let mut events = Vec::new();
        // By pid, taken before any reaping: a program admitted more than once (threads that
        // joined at the same moment) is watched more than once, and its reaping ends every
        // one of its watches, which shifts the positions of the others.
        let mut ended: Vec<i32> = ended.iter().map(|&i| self.watched[i].pid).collect();
        ended.sort_unstable();
        ended.dedup();
        for pid in ended {
            events.extend(self.reap(pid));
        }
        if ready_listener {
            self.desk.admit_pending();
        }
        // (Programs admitted now, or while a reaping above waited for the lock.)
        for (event, admitted) in self.desk.take_arrivals() {
            if let Some(a) = admitted {
                self.watched.push(a);
                self.admitted_ever = true;
            }
            events.push(event);
        }
        for a in &mut self.watched {
            a.settle();
        }
        events
    }

    /// Reaps the program of `pid` whose pidfd said it ended.
    fn reap(&mut self, pid: i32) -> Vec<Event> {
        // Its every watch ends: another connection of the same program (threads that joined at
        // once, an image that `exec` started) has a pidfd on the same process, which says so
        // too. A watch of the pid whose pidfd does not is a new program's, to which Linux gave
        // the pid since: it stays watched, and its images are not reaped.
        let (mut dead, live): (Vec<Admitted>, Vec<Admitted>) = std::mem::take(&mut self.watched)
            .into_iter()
            .partition(|a| a.pid == pid && a.ended());
        self.watched = live;
        if dead.is_empty() {
            return Vec::new();
        }
        // What the dead images said they are (all said it before they could make a process).
        let mut tags = Vec::new();
        let mut all_said = true;
        for a in &mut dead {
            a.settle();
            match a.image {
                Image::Known(tag) => tags.push(tag),
                _ => all_said = false,
            }
        }
        let images = if all_said {
            crate::kernel::Images::Only(tags)
        } else {
            // (An image that did not say: every image of the pid but those of the live
            // programs admitted under it, which said theirs before they could make a process.)
            let live = self
                .watched
                .iter_mut()
                .filter(|a| a.pid == pid)
                .filter_map(|a| {
                    a.settle();
                    match a.image {
                        Image::Known(tag) => Some(tag),
                        _ => None,
                    }
                })
                .collect();
            crate::kernel::Images::AllBut(live)
        };
        // Its pidfd said it ended: dead for the whole reaping, even should Linux already have
        // given its pid to another process (whose hold of the lock, begun by another image,
        // is left alone: `Kernel::alive`).
        let kernel = self.kernel.clone();
        kernel.program_ended(pid, images.clone(), || self.reap_ended(pid, &images))
    }

    fn reap_ended(&mut self, pid: i32, images: &crate::kernel::Images) -> Vec<Event> {
        let mut out = Vec::new();
        // (Taken over already, if the supervisor's own wait for the lock found it dead first.)
        let recovery = match self.kernel.take_recovery(pid) {
            Some(r) => r,
            None => self.kernel.recover_dead_lock_holder(pid),
        };
        match recovery {
            crate::kernel::Recovery::NotHeld => {}
            crate::kernel::Recovery::Unrecoverable => {
                out.push(Event::DiedHoldingLock { pid });
                return out;
            }
            recovery => out.push(Event::RecoveredLock { pid, recovery }),
        }
        let processes = self.kernel.reap_os_images(pid, images);
        out.push(Event::Reaped { pid, processes });
        out
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        use std::os::unix::fs::MetadataExt;
        // Only our own socket: another supervisor's that replaced it (ours was taken for
        // stale) is left serving.
        let ours =
            std::fs::symlink_metadata(&self.socket).is_ok_and(|m| (m.dev(), m.ino()) == self.bound);
        if ours {
            let _ = std::fs::remove_file(&self.socket);
            // The kernel's simulated physical memory (userlib's `device`), if a program made
            // it: it lives as long as the kernel.
            let _ = std::fs::remove_file(phys_path(&self.socket));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::image_tag;

    /// A private directory for a supervisor's socket, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            use std::os::unix::fs::DirBuilderExt;
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("qnxsim-sup-{tag}-{}-{n}", std::process::id()));
            std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn pidfd_of(pid: i32) -> OwnedFd {
        // SAFETY: pidfd_open with integer arguments; a non-negative result is ours.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        assert!(
            raw >= 0,
            "pidfd_open({pid}): {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: the new pidfd, owned by nobody else.
        unsafe { OwnedFd::from_raw_fd(raw as RawFd) }
    }

    /// `n` pidfds on a program that has ended (a child, reaped).
    fn ended_pidfds(n: usize) -> Vec<OwnedFd> {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let fds = (0..n).map(|_| pidfd_of(child.id() as i32)).collect();
        child.wait().unwrap();
        fds
    }

    fn processes_of(k: &Kernel, pid: i32) -> usize {
        k.snapshot()
            .processes
            .iter()
            .filter(|p| p.pid == pid)
            .count()
    }

    /// The region's memfd, what the supervisor hands a program, and its socket are its
    /// user's alone (mode 0600).
    #[test]
    fn the_region_and_the_socket_are_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = Dir::new("mode");
        let socket = dir.0.join("k.sock");
        let sup = Supervisor::bind(&socket, Config::small()).unwrap();
        let fd = sup.desk.memfd.as_raw_fd();
        let region = std::fs::metadata(format!("/proc/self/fd/{fd}")).unwrap();
        assert_eq!(
            region.permissions().mode() & 0o7777,
            0o600,
            "the region's memfd"
        );
        let sock = std::fs::symlink_metadata(&socket).unwrap();
        assert_eq!(sock.permissions().mode() & 0o7777, 0o600, "the socket");
    }

    /// A program says which image it is once admitted (`attach`): the supervisor knows it.
    #[test]
    fn an_admitted_program_says_its_image() {
        let dir = Dir::new("image");
        let socket = dir.0.join("k.sock");
        let mut sup = Supervisor::bind(&socket, Config::small()).unwrap();
        let joining = {
            let socket = socket.clone();
            std::thread::spawn(move || attach(&socket).map(|_| ()))
        };
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !joining.is_finished()
            || sup
                .watched
                .iter()
                .any(|a| !matches!(a.image, Image::Known(_)))
        {
            assert!(std::time::Instant::now() < until, "never admitted");
            sup.step(std::time::Duration::from_millis(5));
        }
        assert_eq!(joining.join().unwrap(), Ok(()));
        assert_eq!(sup.programs(), 1);
        assert!(matches!(sup.watched[0].image, Image::Known(t) if t == image_tag()));
    }

    /// A program admitted under pid P ended (twice admitted: a first image, and the one `exec`
    /// started), and Linux gave P to a new program (here: this test's process) that the
    /// supervisor admitted and that joined the kernel before the supervisor reaped the dead
    /// one. The reaping tears down the dead images' processes alone: the new program's
    /// process stays, and so does its watch, whose end is reaped in its turn. So too when the
    /// dead program never said its image (a program of an earlier protocol): every image of
    /// the pid but the live program's goes. (The supervisor once reaped by pid: the new
    /// program's process went, and its watch with it.)
    #[test]
    fn a_reaping_spares_the_program_that_reused_the_pid() {
        let dir = Dir::new("reuse");
        let socket = dir.0.join("k.sock");
        let mut sup = Supervisor::bind(&socket, Config::small()).unwrap();
        let k = sup.kernel().clone();
        let pid = std::process::id() as i32;
        for said in [true, false] {
            let (first, second) = (image_tag() ^ 0x11, image_tag() ^ 0x22);
            // The dead program's images' processes.
            for image in [first, second] {
                let p = k.process_create().unwrap();
                k.set_image_for_test(p, image);
            }
            // The new program's: its own, and one it made.
            let own = k.process_attach_self().unwrap();
            k.process_create().unwrap();
            let image = |t: u64| {
                if said {
                    Image::Known(t)
                } else {
                    Image::Unknown
                }
            };
            let mut dead = ended_pidfds(2);
            sup.watched.push(Admitted {
                pid,
                pidfd: dead.pop().unwrap(),
                image: image(first),
            });
            sup.watched.push(Admitted {
                pid,
                pidfd: pidfd_of(pid),
                image: Image::Known(image_tag()),
            });
            sup.watched.push(Admitted {
                pid,
                pidfd: dead.pop().unwrap(),
                image: image(second),
            });
            let events = sup.step(std::time::Duration::from_millis(100));
            assert_eq!(
                events,
                [Event::Reaped { pid, processes: 2 }],
                "the dead program's images' processes (said: {said})"
            );
            assert_eq!(sup.programs(), 1, "the new program is still watched");
            assert_eq!(processes_of(&k, pid), 1, "its process stays");
            assert_eq!(
                k.snapshot().processes.len(),
                2,
                "with the one it made ({said})"
            );
            // Its own end, later (here: its watch made to say so).
            sup.watched[0].pidfd = ended_pidfds(1).pop().unwrap();
            let events = sup.step(std::time::Duration::from_millis(100));
            assert_eq!(events, [Event::Reaped { pid, processes: 2 }]);
            assert_eq!(sup.programs(), 0);
            assert!(k.snapshot().processes.is_empty());
            let _ = own;
        }
    }
}
