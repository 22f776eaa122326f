//! `<sys/procmgr.h>`: QNX's `procmgr_daemon`, over Linux's fork and setsid.
//!
//! QNX's process manager detaches the caller in place (same pid, session 1) and tells its
//! parent that it exited with `status`. Linux has no such call, so this does what `daemon(3)`
//! does: it forks, the parent `_exit`s with `status` (no `atexit` handlers, no stdio flush:
//! the program goes on in the child), and the child makes a new session and applies the
//! flags. The daemon is thus a new process with a new pid; on the simulated kernel it is a new
//! process too (a forked child's first QNX call starts one, `userlib::current`): on a shared
//! kernel (`QNXSIM_KERNEL`) it joins that kernel with its own pid, a full member whose
//! channels and names other programs reach; whatever the caller made before the call
//! (channels, connections, names) is its parent's and goes when the parent ends.

use kernel_sim::Errno;
use libc::{c_int, c_uint};

/// `PROCMGR_DAEMON_NOCHDIR`: keep the working directory (else "/").
pub const PROCMGR_DAEMON_NOCHDIR: c_uint = 0x1;
/// `PROCMGR_DAEMON_NOCLOSE`: keep the descriptors above 2 (else closed).
pub const PROCMGR_DAEMON_NOCLOSE: c_uint = 0x2;
/// `PROCMGR_DAEMON_NODEVNULL`: keep descriptors 0, 1 and 2 (else /dev/null).
pub const PROCMGR_DAEMON_NODEVNULL: c_uint = 0x4;
/// `PROCMGR_DAEMON_KEEPUMASK`: keep the umask (else 0).
pub const PROCMGR_DAEMON_KEEPUMASK: c_uint = 0x8;

/// The last `errno`, as an [`Errno`].
fn last_errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// Closes every descriptor above 2, through libqnxsim's `close` (so that a descriptor open on
/// a resource manager leaves its table).
fn close_above_stdio() {
    // glibc's syslog socket (opened by an `slogf` before the call) goes first through
    // `closelog`, so that glibc knows it is closed: closed behind its back, its number would
    // go to the daemon's next file, which glibc's next log line would then write to and close.
    // SAFETY: closelog takes no arguments; syslog reopens lazily on the next log.
    unsafe { libc::closelog() };
    let fds: Vec<c_int> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
            .filter(|&fd| fd > 2)
            .collect(),
        Err(_) => {
            // SAFETY: sysconf with a valid name.
            let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
            (3..max.clamp(3, 65536) as c_int).collect()
        }
    };
    // (The directory's own descriptor is among them, closed already: EBADF, harmless.)
    for fd in fds {
        // SAFETY: closing a descriptor number; none of them is in use by this thread's caller
        // any more (the program asked for them all to be closed).
        unsafe { crate::fdio::close(fd) };
    }
}

/// Descriptors 0, 1 and 2 onto /dev/null.
fn stdio_to_dev_null() -> Result<(), Errno> {
    // SAFETY: a NUL-terminated path and plain flags.
    let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
    if null < 0 {
        return Err(last_errno());
    }
    for fd in 0..3 {
        // SAFETY: two descriptor numbers; libqnxsim's dup2, which drops a resource manager's
        // descriptor it replaces from its table.
        if null != fd && unsafe { crate::fdio::dup2(null, fd) } < 0 {
            let e = last_errno();
            // SAFETY: our own descriptor.
            unsafe { libc::close(null) };
            return Err(e);
        }
    }
    if null > 2 {
        // SAFETY: our own descriptor.
        unsafe { libc::close(null) };
    }
    Ok(())
}

/// `procmgr_daemon(status, flags)`: see the module's text. In the daemon, the new session's id
/// (nonnegative); -1 and `errno` (fork's EAGAIN, ENOMEM; setsid's, chdir's, open's errors).
/// Flags other than the four `PROCMGR_DAEMON_*` are ignored.
#[no_mangle]
pub extern "C" fn procmgr_daemon(status: c_int, flags: c_uint) -> c_int {
    // SAFETY: fork; the child goes on as this program, the parent only calls _exit.
    match unsafe { libc::fork() } {
        -1 => return -1,
        0 => {}
        // SAFETY: ends the parent at once, running nothing of the program's.
        _ => unsafe { libc::_exit(status) },
    }
    // (The thread's binding names a kernel thread of the parent's process: the daemon's first
    // QNX call lets go of it, leaving the parent's thread alone, and joins the kernel as a new
    // process.)
    // SAFETY: setsid has no preconditions.
    let sid = unsafe { libc::setsid() };
    if sid < 0 {
        return -1;
    }
    if flags & PROCMGR_DAEMON_NOCHDIR == 0 {
        // SAFETY: a NUL-terminated path.
        if unsafe { libc::chdir(c"/".as_ptr()) } < 0 {
            return -1;
        }
    }
    if flags & PROCMGR_DAEMON_KEEPUMASK == 0 {
        // SAFETY: umask has no preconditions.
        unsafe { libc::umask(0) };
    }
    if flags & PROCMGR_DAEMON_NOCLOSE == 0 {
        close_above_stdio();
    }
    if flags & PROCMGR_DAEMON_NODEVNULL == 0 {
        if let Err(e) = stdio_to_dev_null() {
            crate::set_errno(e);
            return -1;
        }
    }
    sid
}
