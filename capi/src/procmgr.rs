//! `<sys/procmgr.h>`: QNX's `procmgr_daemon`, over Linux's fork and setsid, and the checks of
//! `procmgr_ability` (its list walked by the header's `static inline`; see [`ability_word`]).
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
//!
//! `procmgr_ability(pid, word, ..., PROCMGR_AID_EOL)`: the simulation grants every ability
//! (no call here asks for one), so there is nothing to change: a well-formed list for the
//! calling process (pid 0 or its own) returns EOK. Another process's pid is EPERM (ESRCH if
//! there is no such process); a malformed word ([`ability_word`]), a subrange whose lower
//! limit is above its upper one, or a list without `PROCMGR_AID_EOL` within
//! [`ability::LIST_MAX`] words is EINVAL. It returns the errno value and leaves `errno` alone,
//! as QNX's does.

use kernel_sim::Errno;
use libc::{c_int, c_uint, pid_t};

/// `PROCMGR_DAEMON_NOCHDIR`: keep the working directory (else "/").
pub const PROCMGR_DAEMON_NOCHDIR: c_uint = 0x1;
/// `PROCMGR_DAEMON_NOCLOSE`: keep the descriptors above 2 (else closed).
pub const PROCMGR_DAEMON_NOCLOSE: c_uint = 0x2;
/// `PROCMGR_DAEMON_NODEVNULL`: keep descriptors 0, 1 and 2 (else /dev/null).
pub const PROCMGR_DAEMON_NODEVNULL: c_uint = 0x4;
/// `PROCMGR_DAEMON_KEEPUMASK`: keep the umask (else 0).
pub const PROCMGR_DAEMON_KEEPUMASK: c_uint = 0x8;

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
        return Err(crate::last_errno());
    }
    for fd in 0..3 {
        // SAFETY: two descriptor numbers; libqnxsim's dup2, which drops a resource manager's
        // descriptor it replaces from its table.
        if null != fd && unsafe { crate::fdio::dup2(null, fd) } < 0 {
            let e = crate::last_errno();
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

// ------------------------------------------------------------------ procmgr_ability

/// `procmgr_ability`'s words, as `<sys/procmgr.h>` defines them (QNX 7.1's values): an
/// ability identifier (`PROCMGR_AID_*`, bits 0..15), operations (`PROCMGR_AOP_*`) and domains
/// (`PROCMGR_ADN_*`).
pub mod ability {
    use libc::c_uint;

    /// `PROCMGR_AID_MASK`: the identifier's bits.
    pub const AID_MASK: c_uint = 0xffff;
    /// `PROCMGR_AID_EOL`: the list's end.
    pub const AID_EOL: c_uint = AID_MASK;
    /// The highest identifier `<sys/procmgr.h>` defines (`PROCMGR_AID_PRIVREG`).
    pub const AID_MAX: c_uint = 70;
    /// Identifiers below [`AID_MAX`] that QNX 7.1 leaves unassigned.
    pub const AID_UNASSIGNED: [c_uint; 1] = [67];
    /// `PROCMGR_AID_UNCREATED`: a custom ability not created yet, which QNX refuses here.
    pub const AID_UNCREATED: c_uint = 0x0010_0000;
    /// `PROCMGR_AOP_DENY`.
    pub const AOP_DENY: c_uint = 0x0001_0000;
    /// `PROCMGR_AOP_ALLOW`.
    pub const AOP_ALLOW: c_uint = 0x0002_0000;
    /// `PROCMGR_AOP_SUBRANGE`: two `uint64_t` (lower, upper) follow the word.
    pub const AOP_SUBRANGE: c_uint = 0x0004_0000;
    /// `PROCMGR_AOP_LOCK`.
    pub const AOP_LOCK: c_uint = 0x0008_0000;
    /// `PROCMGR_AOP_INHERIT_YES`.
    pub const AOP_INHERIT_YES: c_uint = 0x0040_0000;
    /// `PROCMGR_AOP_INHERIT_NO`.
    pub const AOP_INHERIT_NO: c_uint = 0x0080_0000;
    /// `PROCMGR_ADN_ROOT`.
    pub const ADN_ROOT: c_uint = 0x1000_0000;
    /// `PROCMGR_ADN_NONROOT`.
    pub const ADN_NONROOT: c_uint = 0x2000_0000;
    /// Every operation bit.
    pub const AOP_ALL: c_uint =
        AOP_DENY | AOP_ALLOW | AOP_SUBRANGE | AOP_LOCK | AOP_INHERIT_YES | AOP_INHERIT_NO;
    /// Every domain bit.
    pub const ADN_ALL: c_uint = ADN_ROOT | ADN_NONROOT;
    /// The operations `PROCMGR_AID_EOL` may carry (applied to the abilities not listed).
    pub const EOL_AOPS: c_uint = AOP_DENY | AOP_ALLOW | AOP_LOCK | AOP_INHERIT_YES | AOP_INHERIT_NO;
    /// The longest list `procmgr_ability` walks, its `PROCMGR_AID_EOL` word included
    /// (`_QNXSIM_PROCMGR_ABILITY_MAX`): a list without its end fails with EINVAL there.
    pub const LIST_MAX: usize = 1024;
}

/// Whether `word` is a well-formed ability word: EOK, or EINVAL for a bit outside the known
/// fields (`PROCMGR_AID_UNCREATED` and QNX's internal bits among them), `DENY` with `ALLOW`,
/// `INHERIT_YES` with `INHERIT_NO`; an identifier this header does not define; an ability with
/// no operation or no domain; operations on `PROCMGR_AID_EOL` other than `DENY`, `ALLOW`,
/// `LOCK`, or a domain without an operation (or the reverse) on it.
pub fn ability_word(word: c_uint) -> Result<(), Errno> {
    use ability::*;
    let aid = word & AID_MASK;
    let (aops, adns) = (word & AOP_ALL, word & ADN_ALL);
    if word & !(AID_MASK | AOP_ALL | ADN_ALL) != 0
        || aops & (AOP_DENY | AOP_ALLOW) == AOP_DENY | AOP_ALLOW
        || aops & (AOP_INHERIT_YES | AOP_INHERIT_NO) == AOP_INHERIT_YES | AOP_INHERIT_NO
    {
        return Err(Errno::EINVAL);
    }
    let ok = if aid == AID_EOL {
        // (Any of these, or a domain alone: what real programs end their lists with, as
        // `PROCMGR_ADN_NONROOT | PROCMGR_AID_EOL` or `..ALLOW | ..INHERIT_YES | ..EOL`.)
        aops & !EOL_AOPS == 0
    } else {
        aid <= AID_MAX && !AID_UNASSIGNED.contains(&aid) && aops != 0 && adns != 0
    };
    if ok {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// Whose abilities `pid` names: EOK for 0 or the caller's own pid; EPERM another process's
/// (changing another process's abilities is not done here: QNX's error for a caller without
/// `PROCMGR_AID_XPROCESS_ABLE`); ESRCH no such process (a negative pid among them).
pub fn ability_pid(pid: pid_t) -> Result<(), Errno> {
    // SAFETY: getpid has no preconditions.
    if pid == 0 || pid == unsafe { libc::getpid() } {
        return Ok(());
    }
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    // SAFETY: signal 0 only checks that the process exists (EPERM: it does, not ours).
    if unsafe { libc::kill(pid, 0) } == 0 || crate::last_errno() == Errno::EPERM {
        Err(Errno::EPERM)
    } else {
        Err(Errno::ESRCH)
    }
}

/// The errno value of `r` (EOK: 0).
fn errno_value(r: Result<(), Errno>) -> c_int {
    r.err().map_or(0, |e| e.0)
}

/// `procmgr_ability`'s first step (the header's `static inline procmgr_ability` walks its
/// variable arguments, stable Rust defining no C-variadic function): [`ability_pid`], as an
/// errno value. `errno` is left alone.
#[no_mangle]
pub extern "C" fn qnxsim_procmgr_ability_pid(pid: pid_t) -> c_int {
    // SAFETY: `__errno_location` returns the calling thread's errno, always valid to read.
    let saved = unsafe { *libc::__errno_location() };
    let r = errno_value(ability_pid(pid));
    crate::set_errno(Errno(saved));
    r
}

/// `procmgr_ability`'s check of each word of its list: [`ability_word`], as an errno value.
#[no_mangle]
pub extern "C" fn qnxsim_procmgr_ability_word(word: c_uint) -> c_int {
    errno_value(ability_word(word))
}
