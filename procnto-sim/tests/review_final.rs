//! Review of 4642bc3..HEAD (process scenarios). Each `#[ignore = "DEFECT: ..."]` test fails on
//! the code as reviewed. Every program is bounded in time and killed on every path; every file
//! lives in a temporary directory removed on every path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, Lang, Link};
use kernel_sim::Kernel;
use procs::TempDir;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child killed and reaped on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The kernel's own `/proc` reads made outside the kernel lock, in the kernel's own threads,
/// still go through libqnxsim's interposed `open` (only reads under the lock are passed straight
/// to the system, `kernel_sim::signals::in_kernel_call`). The timer service of a kernel in a
/// plain memory file (no supervisor) looks for dead programs every `REAP_SLICE`
/// (`Kernel::reap_dead_programs` -> `program_alive` -> `open64("/proc/<pid>/stat")`); the
/// interposed `open` asks `path_may_be_managed`, whose `with_current` binds the calling
/// thread: the kernel's timer service thread becomes a QNX thread of the program's process
/// (`pidin` shows a thread the program never made; it blocks every signal, and is a candidate
/// for the process's signals).
#[test]
fn the_kernels_own_proc_reads_outside_the_lock_do_not_bind_its_timer_thread() {
    let dir = TempDir::new("review-final");
    let exe = dir.join("review_final");
    build(
        &[c_dir().join("review_final.c")],
        &exe,
        Lang::C99,
        Link::Shared,
    );
    let kfile = dir.join("kernel");
    let child = Command::new(&exe)
        .env("QNXSIM_KERNEL", &kfile)
        .env("QNXSIM_SLOG", "")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting review_final");
    let mut child = Killed(child);
    let out = child.0.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("review_final said nothing within 20 s");
    let pid: i32 = line
        .strip_prefix("ready ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    // This test program joins the kernel too: another live program for its timer service to
    // look at.
    let k = Kernel::open_shared(&kfile).expect("opening the kernel file");
    let me = k.process_attach_self().expect("attaching");
    let threads_of = |k: &Kernel| {
        k.listing()
            .snapshot
            .threads
            .iter()
            .filter(|t| t.pid == pid)
            .count()
    };
    // (Its timer service has had no other program to look at until now.)
    let first = threads_of(&k);
    let start = Instant::now();
    let mut most = first;
    let mut grew_after = None;
    while start.elapsed() < Duration::from_secs(3) {
        let n = threads_of(&k);
        if n > most && grew_after.is_none() {
            grew_after = Some(start.elapsed());
        }
        most = most.max(n);
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(child);
    let _ = k.process_destroy(me);
    drop(k);
    drop(dir);
    assert_eq!(
        most, 1,
        "the program made one thread (its main one), yet its process has {most} in the kernel \
         ({first} when this program joined, more {grew_after:?} later: its timer service's \
         first look at this program, within REAP_SLICE)"
    );
}
