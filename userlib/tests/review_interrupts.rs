//! Review of userlib's interrupts (the per-process interrupt service thread) and simulated
//! device memory (`userlib::device`), from outside:
//!
//! * The service thread is a library thread: like the asyncmsg library's and select's watcher,
//!   it must block the signals aimed at the process, so that they go to the program's threads
//!   (kernel-sim's `thread_attach_internal`: "process-directed signals and events never pick
//!   it"). It is listed as internal, at priority 255.
//! * fork(): a child of a program with a service thread gets a fresh process whose own
//!   handlers run.
//! * Device memory: a register's atomic access must be aligned in memory, not only relative to
//!   the mapping; the physical memory file must follow the kernel's own rules (a non-UTF-8
//!   `QNXSIM_KERNEL` without '/' names no kernel: EINVAL, no stray file) and must not follow a
//!   symbolic link planted where `PATH.phys` goes (it would grow someone else's file to 1 TiB).
//!
//! Children are this binary re-run in a role (`child_entry`), bounded in time and killed on
//! every path; temporary directories are removed on every path.

#![cfg(not(loom))]

mod support;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use userlib::consts::*;
use userlib::device::DeviceMemory;
use userlib::interrupt::*;
use userlib::{Errno, SigEvent};

const ROLE: &str = "QNXSIM_REVIEW_ROLE";
const WITHIN: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------ helpers

/// A private temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::os::unix::fs::DirBuilderExt;
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "qnxsim-rv-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs this binary as a child in `role`, with `env` set (QNXSIM_KERNEL removed unless given)
/// and `cwd` as its directory; killed if it outlives [`WITHIN`]. Returns the lines it said
/// (those starting with "@@ ", without it).
fn run_child(role: &str, env: &[(&str, OsString)], cwd: &Path) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["child_entry", "--exact", "--ignored", "--nocapture"])
        .env_remove(userlib::current::KERNEL_ENV)
        .env(ROLE, role)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("starting a child");
    let until = Instant::now() + WITHIN;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child {role} did not end within {WITHIN:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("@@ ").map(str::to_string))
        .collect()
}

fn tell_parent(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "@@ {text}");
    let _ = out.flush();
}

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    // SAFETY: prctl with integer arguments: the child dies with its parent.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    match role.as_str() {
        "map" => {
            let r = DeviceMemory::map(0x1000, 0x10).map(|m| m.read32(0));
            tell_parent(&format!("map {r:?}"));
        }
        other => panic!("unknown role {other}"),
    }
}

/// The Linux tids of this program's interrupt service threads (named `intr-service-PID`,
/// which Linux cuts to 15 bytes).
fn service_threads() -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if comm.starts_with("intr-service-") {
            v.push(e.file_name().to_str().unwrap().parse().unwrap());
        }
    }
    v
}

/// The blocked-signal mask of this program's thread `tid` (`SigBlk` of its status); None if
/// the thread has ended meanwhile (another test's process, gone).
fn blocked_of(tid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("SigBlk:"))?;
    u64::from_str_radix(line["SigBlk:".len()..].trim(), 16).ok()
}

fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

// ------------------------------------------------------------------ the service thread

/// A process-directed signal (`kill(getpid(), SIGUSR1)`, or a `SIGEV_SIGNAL` event to the
/// process) may be taken by any thread that does not block it: the service thread must block
/// them, as the asyncmsg library thread and select's watcher do
/// (`kernel_sim::signals::block_in_this_thread`), or the program's handler runs in it, in the
/// middle of an interrupt handler's run.
#[test]
fn the_service_thread_blocks_the_signals_aimed_at_the_process() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let id = interrupt_attach(100, |_| None, 0).unwrap();
    wait_until("a service thread", || !service_threads().is_empty());
    for tid in service_threads() {
        let Some(m) = blocked_of(tid) else { continue };
        for sig in [libc::SIGUSR1, libc::SIGUSR2, libc::SIGTERM, libc::SIGINT] {
            assert!(
                m & bit(sig) != 0,
                "service thread {tid} takes signal {sig}: SigBlk {m:#x}"
            );
        }
    }
    interrupt_detach(id).unwrap();
}

/// The service thread is the library's: internal in the listing, at priority 255 (above every
/// program thread, as an ISR), and its handler's pulse still reaches the process.
#[test]
fn the_service_thread_is_internal_at_priority_255() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let me = userlib::current::with_current(|c| Ok(c.tid())).unwrap();
    let id = interrupt_attach(101, |_| Some(SigEvent::intr()), 0).unwrap();
    assert_eq!(k.interrupt_raise(101), Ok(1));
    userlib::qnx::timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, Some(LONG_NS)).unwrap();
    assert_eq!(interrupt_wait(0), Ok(()));
    let s = k.snapshot();
    let svc: Vec<_> = s
        .threads
        .iter()
        .filter(|t| t.pid == p.pid() && t.tid != me)
        .collect();
    assert_eq!(svc.len(), 1, "one more thread: the service thread");
    assert!(svc[0].internal, "listed as the library's");
    assert_eq!(svc[0].base_priority, 255);
    interrupt_detach(id).unwrap();
}

// ------------------------------------------------------------------ fork

/// Waits for `pid` with a deadline; kills it if it overstays. Its exit code, or None.
fn wait_child(pid: libc::pid_t) -> Option<i32> {
    let t0 = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        }
        if t0.elapsed() > WITHIN {
            // SAFETY: plain integers; then reap it.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Forks while another thread keeps starting service threads (each first handler of a process
/// takes the library's table of processes): no child finds the table held by a thread it does
/// not have; each attaches a handler of its own at once.
#[test]
fn forks_while_service_threads_start_never_leave_a_child_hung() {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let st = stop.clone();
    let churn = std::thread::spawn(move || {
        let k = kernel();
        let mut n = 0u32;
        while !st.load(Ordering::SeqCst) {
            let p = userlib::Process::new_in(&k).unwrap();
            let _ = run_in(&p, || {
                interrupt_attach(103, |_| None, _NTO_INTR_FLAGS_PROCESS)
            });
            drop(p);
            n += 1;
        }
        n
    });
    for _ in 0..30 {
        // SAFETY: the child only makes userlib calls (which fork.rs makes safe) and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            let code = match interrupt_attach(104, |_| None, 0) {
                Ok(id) if interrupt_detach(id).is_ok() => 0,
                _ => 20,
            };
            // SAFETY: ends the child without running the parent's atexit handlers or tests.
            unsafe { libc::_exit(code) };
        }
        assert_eq!(wait_child(pid), Some(0), "a child hung or failed");
    }
    stop.store(true, Ordering::SeqCst);
    assert!(
        churn.join().unwrap() > 0,
        "service threads were started meanwhile"
    );
}

/// A program with a handler (and so a service thread) forks: the child, on its fresh default
/// process, attaches a handler of its own, which runs (a new service thread) and wakes it.
#[test]
fn a_forked_child_of_a_program_with_a_service_thread_runs_its_own_handlers() {
    // The default kernel of this program (the test thread is not bound).
    let ran = Arc::new(AtomicU32::new(0));
    let r2 = ran.clone();
    let id = interrupt_attach(
        102,
        move |_| {
            r2.fetch_add(1, Ordering::SeqCst);
            Some(SigEvent::intr())
        },
        0,
    )
    .unwrap();
    interrupt_raise(102).unwrap();
    userlib::qnx::timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, Some(LONG_NS)).unwrap();
    assert_eq!(interrupt_wait(0), Ok(()));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    // SAFETY: the child only makes userlib calls (which fork.rs makes safe) and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let code = (|| {
            let seen = Arc::new(AtomicU32::new(0));
            let s2 = seen.clone();
            let Ok(cid) = interrupt_attach(
                102,
                move |_| {
                    s2.fetch_add(1, Ordering::SeqCst);
                    Some(SigEvent::intr())
                },
                0,
            ) else {
                return 10;
            };
            if interrupt_raise(102) != Ok(1) {
                return 11;
            }
            if userlib::qnx::timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, Some(LONG_NS))
                .is_err()
            {
                return 12;
            }
            if interrupt_wait(0).is_err() {
                return 13;
            }
            if seen.load(Ordering::SeqCst) != 1 {
                return 14;
            }
            if interrupt_detach(cid).is_err() {
                return 15;
            }
            0
        })();
        // SAFETY: ends the child without running the parent's atexit handlers or tests.
        unsafe { libc::_exit(code) };
    }
    assert_eq!(wait_child(pid), Some(0), "the child's handler ran");
    // The parent's own handler still runs.
    interrupt_raise(102).unwrap();
    userlib::qnx::timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, Some(LONG_NS)).unwrap();
    assert_eq!(interrupt_wait(0), Ok(()));
    assert_eq!(ran.load(Ordering::SeqCst), 2);
    interrupt_detach(id).unwrap();
}

// ------------------------------------------------------------------ device memory

/// `read32` promises a panic for a misaligned register; a mapping at a physical address that
/// is not 4-aligned puts offset 0 at a misaligned address, where an `AtomicU32` access is
/// undefined behaviour (`AtomicU32::from_ptr` requires alignment). It must be refused: a panic
/// (or EINVAL at the map), never an unaligned atomic.
#[test]
fn a_register_misaligned_in_memory_is_refused() {
    let m = match DeviceMemory::map(0x2001, 0x10) {
        Err(e) => {
            assert_eq!(e, Errno::EINVAL);
            return;
        }
        Ok(m) => m,
    };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.read32(0)));
    assert!(
        r.is_err(),
        "read32 at physical 0x2001 made an unaligned atomic access"
    );
}

/// A non-UTF-8 `QNXSIM_KERNEL` without a '/' names no kernel (userlib refuses it, EINVAL, so
/// as not to make a file of that name); the device memory must not make `NAME.phys` in the
/// current directory either.
#[test]
fn a_non_utf8_kernel_name_makes_no_physical_memory_file() {
    use std::os::unix::ffi::OsStringExt;
    let dir = TempDir::new("phys-utf8");
    let name = OsString::from_vec(b"k\xff".to_vec());
    let said = run_child("map", &[(userlib::current::KERNEL_ENV, name)], &dir.0);
    let left: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "files made in the cwd: {left:?}");
    assert_eq!(
        said,
        vec![format!("map {:?}", Err::<u32, _>(Errno::EINVAL))]
    );
}

/// `PATH.phys` is opened with O_CREAT and without O_NOFOLLOW, then grown to 1 TiB + 64 KiB: a
/// symbolic link planted there (`/tmp/my-kernel.phys`, README's example directory, is anyone's
/// to make) makes the program grow the file it points to. The link must be refused, the target
/// left as it was.
#[test]
fn a_symlink_planted_at_the_physical_memory_path_is_not_followed() {
    let dir = TempDir::new("phys-link");
    let victim = dir.0.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let kernel = dir.0.join("kernel");
    let link = dir.0.join("kernel.phys");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    // A link planted before the kernel is made: the new kernel removes it (an earlier
    // kernel's file, for all it knows) and makes its own.
    let said = run_child(
        "map",
        &[(
            userlib::current::KERNEL_ENV,
            kernel.clone().into_os_string(),
        )],
        &dir.0,
    );
    let len = std::fs::metadata(&victim).unwrap().len();
    assert_eq!(
        len, 8,
        "the link's target was grown to {len} bytes ({said:?})"
    );
    let m = std::fs::symlink_metadata(&link).unwrap();
    assert!(
        m.file_type().is_file(),
        "the link was followed or kept: {said:?}"
    );
    // A link planted once the kernel exists: refused, not followed.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let said = run_child(
        "map",
        &[(userlib::current::KERNEL_ENV, kernel.into_os_string())],
        &dir.0,
    );
    let len = std::fs::metadata(&victim).unwrap().len();
    assert_eq!(
        len, 8,
        "the link's target was grown to {len} bytes ({said:?})"
    );
    assert_eq!(
        said,
        vec![format!("map {:?}", Err::<u32, _>(Errno::EACCES))],
        "the mapping went through the link"
    );
}
