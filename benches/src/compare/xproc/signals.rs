//! Ending cleanly on SIGTERM, SIGINT and SIGHUP while runs between processes are under way.
//!
//! A run's shared files ([`super::RunFiles`]) have names until the peer has opened or mapped
//! them, and its peer ([`super::Peer`]) lives until the run ends; a signal's default action
//! would end the program with neither cleaned up (the peer dies with it, by
//! `PR_SET_PDEATHSIG`, but the directory stays). So the first run between processes installs
//! handlers for those three signals (not for one that is ignored, as under `nohup`): a handler
//! only writes the signal's number to a pipe, and a thread reading the pipe does the work. It
//! kills every peer still tracked (through a pidfd: never a reused pid), removes every run
//! directory still tracked, reaps the peers, says so on stderr and exits with status
//! 128 + the signal's number.
//!
//! Everything tracked sits in one registry under a lock that the cleanup holds to the end, and a
//! run directory is made, and a peer started, under that lock: a signal never leaves one made but
//! not tracked. Once the cleanup has begun, a watchdog that sees its peer die does not end the
//! program itself, and a panic of another thread (a measuring thread whose peer was just killed)
//! parks that thread instead of unwinding, so the exit status is the signal's.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

/// The signals that end the program with a cleanup.
const SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// How long the cleanup waits for a killed peer to end before it exits anyway (the peer dies
/// with this program then, by `PR_SET_PDEATHSIG`).
const REAP_WAIT: Duration = Duration::from_secs(2);

/// `waitid`'s id type for a pidfd (Linux 5.4), which the libc crate does not name.
const P_PIDFD: libc::idtype_t = 3;

/// What a signal must clean up.
#[derive(Debug, Default)]
pub(super) struct Registry {
    dirs: Vec<PathBuf>,
    /// (pid, a pidfd of it) of each peer not yet reaped by its `Peer`.
    peers: Vec<(i32, OwnedFd)>,
}

impl Registry {
    /// Tracks a run directory (made, or about to be made, under this lock).
    pub(super) fn add_dir(&mut self, dir: &Path) {
        self.dirs.push(dir.to_path_buf());
    }

    /// Tracks a peer just started (under this lock). Without a pidfd (an old kernel) the peer
    /// is left to `PR_SET_PDEATHSIG`.
    pub(super) fn add_peer(&mut self, pid: i32) {
        if let Ok(fd) = super::process::pidfd_open(pid) {
            self.peers.push((pid, fd));
        }
    }
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    dirs: Vec::new(),
    peers: Vec::new(),
});

/// The write end of the handlers' pipe (-1 until installed).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

/// Set when the cleanup begins.
static TERMINATING: AtomicBool = AtomicBool::new(false);

/// The registry, locked (installing the handlers on first use). Hold it across making what is
/// to be tracked and tracking it.
pub(super) fn registry() -> MutexGuard<'static, Registry> {
    install();
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stops tracking `dir` (removed).
pub(super) fn forget_dir(dir: &Path) {
    registry().dirs.retain(|d| d != dir);
}

/// Stops tracking the peer `pid` (reaped, or about to be).
pub(super) fn forget_peer(pid: i32) {
    registry().peers.retain(|(p, _)| *p != pid);
}

/// Whether a signal's cleanup has begun: the program is about to exit with its status.
pub(super) fn terminating() -> bool {
    TERMINATING.load(Ordering::SeqCst)
}

/// Blocks the calling thread for good: the cleanup ends the program.
pub(super) fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

extern "C" fn on_signal(signo: libc::c_int) {
    // Async-signal-safe: a non-blocking write of one byte; errno is kept.
    // SAFETY: __errno_location is the calling thread's errno; write on a descriptor (or -1,
    // which fails harmlessly) from a byte on the stack.
    unsafe {
        let errno = *libc::__errno_location();
        let byte = signo as u8;
        libc::write(
            WAKE_FD.load(Ordering::SeqCst),
            std::ptr::from_ref(&byte).cast(),
            1,
        );
        *libc::__errno_location() = errno;
    }
}

/// Installs the handlers and starts the cleanup thread, once. If the pipe or the thread cannot
/// be had, the signals keep their default action.
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return;
        }
        // SAFETY: pipe2 returned two new descriptors that nothing else owns.
        let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fcntl with integer arguments on a descriptor we own.
        unsafe { libc::fcntl(wr.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        let started = std::thread::Builder::new()
            .name("xproc-signals".into())
            .spawn(move || cleanup_on_signal(rd));
        if started.is_err() {
            return;
        }
        // The handlers write here for the rest of the program.
        WAKE_FD.store(std::os::fd::IntoRawFd::into_raw_fd(wr), Ordering::SeqCst);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if terminating() {
                park_forever();
            }
            previous(info);
        }));
        for sig in SIGNALS {
            // SAFETY: sigaction on zeroed structures we own; the handler is async-signal-safe.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction == libc::SIG_IGN
                {
                    continue; // Ignored (nohup): stays ignored.
                }
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigfillset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    });
}

fn signal_name(signo: libc::c_int) -> String {
    match signo {
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGHUP => "SIGHUP".into(),
        n => format!("signal {n}"),
    }
}

/// The cleanup thread: waits for a signal's byte, then kills, removes, reaps and exits.
fn cleanup_on_signal(rd: OwnedFd) {
    let signo = loop {
        let mut byte = 0u8;
        // SAFETY: read of one byte into a byte we own, from a descriptor we own.
        let n = unsafe { libc::read(rd.as_raw_fd(), std::ptr::from_mut(&mut byte).cast(), 1) };
        if n == 1 {
            break libc::c_int::from(byte);
        }
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return; // The pipe is gone: nothing more to do.
    };
    TERMINATING.store(true, Ordering::SeqCst);
    // Held to the exit: nothing new is made or started from here on.
    let reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    for (_, fd) in &reg.peers {
        super::process::pidfd_kill(fd);
    }
    for d in &reg.dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    for (_, fd) in &reg.peers {
        // Reap it (unless its `Peer` did first): a killed peer must not stay a zombie.
        if super::process::poll_fds(&[fd], REAP_WAIT)[0] != 0 {
            // SAFETY: waitid on a pidfd we own into a siginfo we own.
            unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(
                    P_PIDFD,
                    fd.as_raw_fd() as libc::id_t,
                    &mut info,
                    libc::WEXITED,
                );
            }
        }
    }
    eprintln!(
        "benches: {}: {} peer{} killed, {} run director{} removed; the program ends",
        signal_name(signo),
        reg.peers.len(),
        if reg.peers.len() == 1 { "" } else { "s" },
        reg.dirs.len(),
        if reg.dirs.len() == 1 { "y" } else { "ies" },
    );
    std::process::exit(128 + signo)
}
