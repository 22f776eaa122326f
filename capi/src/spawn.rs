//! QNX's `spawn*()` family of `<process.h>`: `spawnv`, `spawnve`, `spawnvp`, `spawnvpe` here;
//! `spawnl`, `spawnle`, `spawnlp`, `spawnlpe` are static inline functions of the header that
//! collect their list into an argument vector and call these.
//!
//! As QNX's C library does (its `spawnve.c`: the mode chooses the spawn flags, then P_WAIT
//! waits with `waitpid(pid, &status, 0)` and returns `status`), the mode says what happens:
//!
//! * `P_WAIT` (0): runs the program and waits for it to end; returns its status as `wait()`
//!   reports it (`WIFEXITED(r)`, `WEXITSTATUS(r)`: a child's `exit(3)` gives 0x300). A signal
//!   handler that interrupts the wait does not end it (QNX's returns -1 then).
//! * `P_NOWAIT` (1): returns the child's pid; the caller waits for it with `waitpid()`.
//! * `P_OVERLAY` (2): replaces the calling program (`exec`), which keeps its pid; returns only
//!   if that failed.
//! * `P_NOWAITO` (3): returns the child's pid; the child leaves no zombie: QNX starts it with
//!   `SPAWN_NOZOMBIE`; here a thread of the library waits for it and reaps it (until then it
//!   is a Linux child of the caller, which a `wait()` of the caller's may collect first).
//!
//! The child is made with `posix_spawn`/`posix_spawnp` (no `fork()`, whose handlers would take
//! every kernel's lock in a program with threads) and inherits the environment it is given:
//! `envp` of the `e` forms (NULL: the caller's, as QNX's `spawn()` does), the caller's
//! `environ` otherwise. A QNX program spawned by one on a shared kernel (`QNXSIM_KERNEL`)
//! thus joins that kernel, as the children of a QNX process share its system. Its first
//! thread joins at the spawning thread's priority and policy, as on QNX (in every mode:
//! `P_OVERLAY`'s image keeps them), through a record on the spawner's process of the kernel
//! (`userlib::current::record_spawn_sched`).
//!
//! Errors (-1 and `errno`; `errno` untouched on success): EINVAL for a mode QNX has not,
//! EFAULT for a NULL path or argv (QNX's docs say they can't be NULL, not which errno), EINVAL
//! for a NULL `argv[0]`, and what `posix_spawn`/`execve` give: ENOENT (no such program, an
//! empty path), EACCES, ENOEXEC, E2BIG, ENOMEM, ENOTDIR, ELOOP, ENAMETOOLONG, EAGAIN; ECHILD
//! from P_WAIT when the child was reaped before it could be waited for (`SIGCHLD` ignored).

use crate::{keep_errno, last_errno, plain};
use kernel_sim::{Errno, KResult};
use libc::{c_char, c_int, pid_t};
use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;

/// `P_WAIT`: the caller waits for the child; the result is its status.
pub const P_WAIT: c_int = 0;
/// `P_NOWAIT`: the caller goes on; the result is the child's pid.
pub const P_NOWAIT: c_int = 1;
/// `P_OVERLAY`: the child replaces the caller (`exec`).
pub const P_OVERLAY: c_int = 2;
/// `P_NOWAITO`: as `P_NOWAIT`, and the child leaves no zombie.
pub const P_NOWAITO: c_int = 3;

/// The search path when `PATH` is unset: glibc's for `posix_spawnp` and `execvp`.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

extern "C" {
    /// The C library's environment of this program.
    static mut environ: *const *const c_char;
}

/// The caller's environment (for a NULL `envp`).
fn own_environment() -> *const *const c_char {
    // SAFETY: reading the pointer value of glibc's `environ` (not through a reference); a
    // program that changes its environment while another thread spawns races as in C.
    unsafe { (&raw const environ).read() }
}

/// Checks what every form checks before anything runs: the mode, the pointers, `argv[0]`.
///
/// # Safety
/// `argv` is NULL or a readable array of at least one pointer.
unsafe fn check(mode: c_int, path: *const c_char, argv: *const *const c_char) -> KResult<()> {
    if !(P_WAIT..=P_NOWAITO).contains(&mode) {
        return Err(Errno::EINVAL);
    }
    if path.is_null() || argv.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: non-NULL, and readable for its first element (the caller's promise).
    if unsafe { argv.read() }.is_null() {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Starts the child with `posix_spawn` (or `posix_spawnp` when `search`): its pid.
///
/// # Safety
/// `path` is a C string, `argv` and `envp` NULL-terminated arrays of C strings.
unsafe fn start(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    search: bool,
) -> KResult<pid_t> {
    let mut pid: pid_t = 0;
    let argv = argv.cast::<*mut c_char>();
    let envp = envp.cast::<*mut c_char>();
    let (none_fa, none_attr) = (std::ptr::null(), std::ptr::null());
    let r = if search {
        // SAFETY: the caller's strings and arrays; no file actions or attributes.
        unsafe { libc::posix_spawnp(&mut pid, path, none_fa, none_attr, argv, envp) }
    } else {
        // SAFETY: as above.
        unsafe { libc::posix_spawn(&mut pid, path, none_fa, none_attr, argv, envp) }
    };
    if r != 0 {
        return Err(Errno(r));
    }
    Ok(pid)
}

/// Waits for child `pid` to end (through signal handlers that interrupt the wait): its status
/// as `wait()` reports it. ECHILD if it was reaped already (`SIGCHLD` ignored).
fn wait_for(pid: pid_t) -> KResult<c_int> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: `status` is ours and writable.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(status);
        }
        let e = last_errno();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// Makes `pid` leave no zombie: a thread of the library waits for it and reaps it. The thread
/// is made with every signal blocked (it inherits the mask), so that no signal aimed at the
/// program runs one of its handlers there. If no thread can be made, the child is killed and
/// reaped, and the spawn fails with EAGAIN (as QNX's does when it lacks the resources to make
/// a child).
fn reap_later(pid: pid_t) -> KResult<()> {
    // SAFETY: all-zero sigset_t values are valid, then filled by sigfillset.
    let (mut all, mut old): (libc::sigset_t, libc::sigset_t) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    // SAFETY: both sets are ours.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
    }
    let reaper = std::thread::Builder::new()
        .name("qnxsim-reaper".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = wait_for(pid);
        });
    // SAFETY: the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    if reaper.is_ok() {
        return Ok(());
    }
    // SAFETY: kill(2) of our own child, which no one else reaps yet (we have not returned
    // its pid), so the pid still names it.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = wait_for(pid);
    Err(Errno::EAGAIN)
}

/// `P_OVERLAY`: executes `file` in place of this program, with `argv` and `envp`; returns
/// only on failure. With `search` and no '/' in `file`, the first `DIR/file` of `PATH` that
/// executes (execvp's search: an entry that is missing or not a directory is passed over, one
/// without execute permission remembered for EACCES; but without execvp's retry of a file
/// that is no program through `/bin/sh`, which QNX does not make: a script needs its `#!`).
/// The program keeps its pid, as on QNX; on a shared kernel the new image joins as a process
/// of that pid, and the kernel tears down what the old one left there.
///
/// # Safety
/// As [`spawn`], with `file` a C string.
unsafe fn overlay(
    file: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    search: bool,
) -> KResult<c_int> {
    let argv = argv.cast::<*const c_char>();
    let envp = envp.cast::<*const c_char>();
    // SAFETY: a C string (checked non-NULL; the caller's promise).
    let name = unsafe { CStr::from_ptr(file) }.to_bytes();
    if !search || name.is_empty() || name.contains(&b'/') {
        // SAFETY: the caller's C string and NULL-terminated arrays.
        unsafe { libc::execve(file, argv, envp) };
        return Err(last_errno());
    }
    let path = std::env::var_os("PATH");
    let dirs = path.as_deref().map_or(DEFAULT_PATH, OsStr::as_bytes);
    let mut denied = false;
    for dir in dirs.split(|&b| b == b':') {
        // (An empty entry is the current directory, as execvp takes it.)
        let mut full = if dir.is_empty() {
            b"./".to_vec()
        } else {
            let mut d = dir.to_vec();
            d.push(b'/');
            d
        };
        full.extend_from_slice(name);
        let Ok(full) = CString::new(full) else {
            continue;
        };
        // SAFETY: a C string of ours; the caller's NULL-terminated arrays.
        unsafe { libc::execve(full.as_ptr(), argv, envp) };
        match last_errno().0 {
            libc::EACCES => denied = true,
            libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
            e => return Err(Errno(e)),
        }
    }
    Err(if denied { Errno::EACCES } else { Errno::ENOENT })
}

/// What every form does: `envp` NULL gives the child the caller's environment.
///
/// # Safety
/// `path` is NULL or a C string; `argv` NULL or a NULL-terminated array of C strings; `envp`
/// NULL or a NULL-terminated array of C strings.
unsafe fn spawn(
    mode: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    search: bool,
) -> KResult<c_int> {
    // SAFETY: the caller's promise.
    unsafe { check(mode, path, argv) }?;
    let envp = if envp.is_null() {
        own_environment()
    } else {
        envp
    };
    // The new program's first thread joins its kernel at this thread's priority and policy,
    // as QNX starts it (and an exec'd image keeps its thread's): recorded on this program's
    // process, where the new program looks as it joins.
    userlib::current::record_spawn_sched();
    if mode == P_OVERLAY {
        // SAFETY: the caller's promise.
        return unsafe { overlay(path, argv, envp, search) };
    }
    // SAFETY: the caller's promise.
    let pid = unsafe { start(path, argv, envp, search) }?;
    match mode {
        P_WAIT => wait_for(pid),
        P_NOWAITO => reap_later(pid).map(|()| pid),
        _ => Ok(pid),
    }
}

/// `spawnv(mode, path, argv)`: runs the program at `path` with `argv` and this program's
/// environment; see the module's docs for the modes and the result.
///
/// # Safety
/// `path` is NULL or a C string; `argv` NULL or a NULL-terminated array of C strings.
#[no_mangle]
pub unsafe extern "C" fn spawnv(
    mode: c_int,
    path: *const c_char,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded (see `# Safety`).
    plain(keep_errno(|| unsafe {
        spawn(mode, path, argv, std::ptr::null(), false)
    }))
}

/// `spawnve(mode, path, argv, envp)`: `spawnv` with the environment `envp` (NULL: this
/// program's).
///
/// # Safety
/// As `spawnv`; `envp` NULL or a NULL-terminated array of C strings.
#[no_mangle]
pub unsafe extern "C" fn spawnve(
    mode: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded (see `# Safety`).
    plain(keep_errno(|| unsafe {
        spawn(mode, path, argv, envp, false)
    }))
}

/// `spawnvp(mode, file, argv)`: `spawnv`, with `file` searched for in `PATH` when it has no
/// '/'.
///
/// # Safety
/// As `spawnv`.
#[no_mangle]
pub unsafe extern "C" fn spawnvp(
    mode: c_int,
    file: *const c_char,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded (see `# Safety`).
    plain(keep_errno(|| unsafe {
        spawn(mode, file, argv, std::ptr::null(), true)
    }))
}

/// `spawnvpe(mode, file, argv, envp)`: `spawnvp` with the environment `envp` (NULL: this
/// program's).
///
/// # Safety
/// As `spawnve`.
#[no_mangle]
pub unsafe extern "C" fn spawnvpe(
    mode: c_int,
    file: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded (see `# Safety`).
    plain(keep_errno(|| unsafe {
        spawn(mode, file, argv, envp, true)
    }))
}

/// `_cmdname(buf)`: the path of the program this process runs (Linux's `/proc/self/exe`),
/// written to `buf` (at least `PATH_MAX` bytes, as QNX asks) with its NUL; returns `buf`.
/// NULL with errno EINVAL for a NULL `buf`, ENAMETOOLONG for a path of `PATH_MAX` bytes or
/// more, or what reading the link gives.
///
/// # Safety
/// `buf` is NULL or points to `PATH_MAX` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn _cmdname(buf: *mut c_char) -> *mut c_char {
    let r = keep_errno(|| {
        if buf.is_null() {
            return Err(Errno::EINVAL);
        }
        let path = std::fs::read_link("/proc/self/exe")
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let bytes = path.as_os_str().as_bytes();
        if bytes.len() >= libc::PATH_MAX as usize {
            return Err(Errno::ENAMETOOLONG);
        }
        // SAFETY: `buf` holds PATH_MAX bytes (the caller's promise); we write fewer.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
            *buf.add(bytes.len()) = 0;
        }
        Ok(buf)
    });
    r.unwrap_or_else(|e| {
        crate::set_errno(e);
        std::ptr::null_mut()
    })
}

/// `_cmdfd()`: a new read-only descriptor (close-on-exec) on the program this process runs,
/// which the caller closes; -1 and errno if it cannot be opened.
#[no_mangle]
pub extern "C" fn _cmdfd() -> c_int {
    plain(keep_errno(|| {
        // SAFETY: a constant NUL-terminated path; open makes a new descriptor.
        let fd =
            unsafe { libc::open(c"/proc/self/exe".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            Err(last_errno())
        } else {
            Ok(fd)
        }
    }))
}
