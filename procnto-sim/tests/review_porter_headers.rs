//! Review of d35a197..HEAD (session 10): the findings that take a C program
//! (`capi/tests/c/review_porter_headers.c`, built here against libqnxsim.so, one mode per run).
//!
//! Every run is bounded in time; every process it starts (the program, the daemon and the
//! logger it makes, which leave its process group) is killed on every exit path; its files
//! live in a temporary directory removed on every exit path. The syslog scenario runs in a
//! private mount namespace of its own (a tmpfs `/dev`), which ends with its processes.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, Lang, Link, Running};
use procs::TempDir;
use std::path::{Path, PathBuf};

/// Kills, on drop, every process running `exe`.
struct KillAll(PathBuf);

impl KillAll {
    fn running(&self) -> Vec<i32> {
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        procs
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
            .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == self.0))
            .collect()
    }
}

impl Drop for KillAll {
    fn drop(&mut self) {
        for pid in self.running() {
            // SAFETY: kill with integer arguments, on a process running this test's program.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Builds the program into `dir`; its canonical path.
fn program(dir: &TempDir) -> PathBuf {
    let exe = dir.join("review_porter_headers");
    build(
        &[c_dir().join("review_porter_headers.c")],
        &exe,
        Lang::C99,
        Link::Shared,
    );
    std::fs::canonicalize(&exe).expect("the program's path")
}

/// Runs `exe ARGS` (no shared kernel) and returns its `RESULT` line (printed by the program or
/// by the daemon it made), then kills the program.
fn result_line(exe: &Path, args: &[&str]) -> String {
    result_line_in(exe, args, "")
}

/// [`result_line`] with `QNXSIM_KERNEL` set to `kernel`.
fn result_line_in(exe: &Path, args: &[&str], kernel: &str) -> String {
    let env = [("QNXSIM_KERNEL", kernel), ("QNXSIM_SLOG", "")];
    let mut run = Running::start(exe, args, &env);
    // (`line` fails the test after its bound; Running's drop kills the program.)
    loop {
        let l = run.line();
        if l.starts_with("RESULT") {
            let _ = run.kill();
            return l;
        }
    }
}

/// capi/src/register_event.rs:36 and capi/include/sys/neutrino.h:241: `SIGEV_FLAG_HANDLE` is
/// 0x200 here, but 0x2000 in QNX 7.1's `<sys/siginfo.h>`, where 0x200 is
/// `SIGEV_FLAG_OVERDRIVE` (`SIGEV_MAKE_OVERDRIVE`, a hint for DVFS). `check_delivery` takes
/// every event with 0x200 for a registered one and refuses it (EINVAL) as "not intact": a
/// plain event a QNX program marks for overdrive is never delivered. A false positive of the
/// registration check, on an unregistered event.
#[test]
fn a_plain_event_marked_for_overdrive_is_delivered() {
    let dir = TempDir::new("review-porter-headers-overdrive");
    let exe = program(&dir);
    let _killer = KillAll(exe.clone());
    let line = result_line(&exe, &["overdrive"]);
    assert!(line.contains("= 0 "), "{line}");
}

/// capi/src/register_event.rs:128 `register`: a struct registered again is "registered anew"
/// with a new handle, and the old handle stays in the program's table (`LIVE`) for ever. A
/// client that registers the same struct twice (say before each arm) and then withdraws it
/// has withdrawn only the last registration: the copy the server holds of an earlier one is
/// still delivered, and every such registration leaks a handle (after 2^31 of them
/// MsgRegisterEvent fails with EAGAIN for good, `NEXT` never wrapping). Registering a marked
/// struct should either replace its registration (withdraw the handle it carries, if it is
/// this program's) or be refused.
#[test]
fn a_struct_registered_twice_then_withdrawn_is_withdrawn() {
    let dir = TempDir::new("review-porter-headers-reregister");
    let exe = program(&dir);
    let _killer = KillAll(exe.clone());
    let line = result_line(&exe, &["reregister"]);
    assert!(line.contains("register 0, again 0, unregister 0"), "{line}");
    assert!(!line.contains("still delivered"), "{line}");
}

/// capi/src/slog.rs:128 and :165: `vslogf` and `slogb` run through `crate::guard`, whose
/// `own_work` binds the calling thread to the program's kernel: a program's first `slogf`
/// makes its kernel, or joins `QNXSIM_KERNEL`'s (creating a ~40 MB memory file, or starting a
/// supervisor for a name, and printing "qnxsim: ..." diagnostics when that fails), as a side
/// effect of a log line. Before `procmgr_daemon` that makes the parent a member of the shared
/// kernel that its `_exit` leaves behind for a reaper. Logging needs no kernel: `catch_unwind`
/// alone would do.
#[test]
fn slogf_makes_no_kernel() {
    let dir = TempDir::new("review-porter-headers-slog-kernel");
    let exe = program(&dir);
    let _killer = KillAll(exe.clone());
    let file = dir.join("kernel");
    let path = file.to_str().expect("a UTF-8 path");
    let line = result_line_in(&exe, &["slog-kernel", path], path);
    assert!(line.contains("logged"), "{line}");
    assert!(
        !file.exists(),
        "one slogf made QNXSIM_KERNEL's memory file {}",
        file.display()
    );
}

/// capi/src/procmgr.rs:36 `close_above_stdio`: the daemon closes every descriptor above 2,
/// glibc's syslog socket among them (opened by an `slogf` before the call, which QNX programs
/// do: "starting"), without `closelog`. glibc still believes it is connected on that number;
/// the daemon's next file takes it; the daemon's next `slogf` sends there, fails (ENOTSOCK),
/// and glibc's reconnect closes that descriptor (the program's file) and opens its socket on
/// the same number: the program's file descriptor is now syslog's socket, and its writes go to
/// the system log.
#[test]
fn a_daemons_file_survives_its_slogf() {
    let dir = TempDir::new("review-porter-headers-syslog");
    let exe = program(&dir);
    let _killer = KillAll(exe.clone());
    let file = dir.join("daemon-file");
    let line = result_line(&exe, &["syslog-fd", file.to_str().expect("a UTF-8 path")]);
    // (A private mount namespace with a /dev of its own takes root: without it, as on a CI
    // machine that runs the tests as a user, the scenario cannot be made, and is skipped.)
    // SAFETY: geteuid has no preconditions.
    if line.contains("setup failed") && unsafe { libc::geteuid() } != 0 {
        eprintln!("a_daemons_file_survives_its_slogf: skipped, not root ({line})");
        return;
    }
    assert!(
        !line.contains("setup failed") && !line.contains("no socket"),
        "the scenario could not be set up here: {line}"
    );
    assert!(line.contains("still its file"), "{line}");
    drop(_killer);
}
