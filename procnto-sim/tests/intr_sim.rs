//! `intr-sim`, the hardware of a shared kernel's simulated interrupts, run as a user would: it
//! raises a level that a program of the kernel waits on, honours the mask (a request made
//! while masked waits for the unmask), and refuses bad options and absent kernels with a
//! message and status 2 or 1, changing nothing.

use kernel_sim::consts::*;
use kernel_sim::types::SigEvent;
use kernel_sim::{Config, Errno, Kernel, ThreadCtx};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INTR_SIM: &str = env!("CARGO_BIN_EXE_intr-sim");
/// Bound on every run of the tool and every wait.
const WITHIN: Duration = Duration::from_secs(20);

/// A temporary directory, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("intr-sim-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs intr-sim with `args` (killed if it outlives `WITHIN`): status code, stdout, stderr.
fn intr_sim(args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(INTR_SIM)
        .args(args)
        .env_remove("QNXSIM_KERNEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting intr-sim");
    let until = Instant::now() + WITHIN;
    loop {
        if child.try_wait().expect("waiting for intr-sim").is_some() {
            break;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("intr-sim {args:?} did not end");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("intr-sim's output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A kernel in a memory file under `dir` that this test process joins, with a thread.
fn kernel_in(dir: &Path) -> (Kernel, ThreadCtx, String) {
    let path = dir.join("kernel");
    let k = Kernel::create_shared(&path, Config::small()).expect("kernel");
    let me = k.process_attach_self().expect("join");
    let t = k.thread_attach(me, 10).expect("thread");
    (k, t, path.to_str().unwrap().to_string())
}

/// InterruptWait bounded by a kernel timeout.
fn wait_bounded(t: &ThreadCtx) -> Result<(), Errno> {
    t.timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_INTR,
        Some(WITHIN.as_nanos() as u64),
    )
    .unwrap();
    t.interrupt_wait(0)
}

#[test]
fn a_raise_wakes_the_attached_thread_and_a_masked_level_waits_for_its_unmask() {
    let dir = TempDir::new("raise");
    let (k, t, path) = kernel_in(&dir.0);
    let id = t.interrupt_attach_event(7, &SigEvent::intr(), 0).unwrap();

    let (code, out, err) = intr_sim(&["--kernel", &path, "7"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("raise 1: level 7 delivered to 1 attachment"),
        "{out}"
    );
    assert_eq!(wait_bounded(&t), Ok(()));

    // Masked by that delivery: three raises make one request, delivered at the unmask.
    let (code, out, _) = intr_sim(&["--kernel", &path, "7", "--count", "3"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("3 raises of level 7: 0 delivered at once, 3 not"),
        "{out}"
    );
    let l = k.snapshot().interrupts;
    assert_eq!(
        (l[0].level_mask, l[0].level_pending, l[0].level_raised),
        (1, true, 4)
    );
    assert_eq!(
        t.interrupt_unmask(7, id),
        Ok(1),
        "redelivered: masked again"
    );
    assert_eq!(wait_bounded(&t), Ok(()));
    assert_eq!(t.interrupt_unmask(7, id), Ok(0));
    // Nothing more is pending: a poll times out.
    t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, None)
        .unwrap();
    assert_eq!(t.interrupt_wait(0), Err(Errno::ETIMEDOUT));

    // --every paces them; --quiet prints nothing.
    let t0 = Instant::now();
    let (code, out, err) = intr_sim(&[
        "--kernel", &path, "7", "--count", "2", "--every", "0.05", "--quiet",
    ]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert!(t0.elapsed() >= Duration::from_millis(100), "paced");
    assert_eq!(wait_bounded(&t), Ok(()));
    t.interrupt_detach(id).unwrap();
    // A level with no attachment: nothing delivered, said so.
    let (code, out, _) = intr_sim(&["--kernel", &path, "9"]);
    assert_eq!(code, 0);
    assert!(out.contains("level 9 masked or unattached"), "{out}");
}

#[test]
fn bad_options_are_refused_with_status_2_and_raise_nothing() {
    let dir = TempDir::new("bad");
    let (k, t, path) = kernel_in(&dir.0);
    let _id = t.interrupt_attach_event(3, &SigEvent::intr(), 0).unwrap();
    for args in [
        vec!["--kernel", path.as_str()],
        vec!["--kernel", &path, "256"],
        vec!["--kernel", &path, "-1"],
        vec!["--kernel", &path, "three"],
        vec!["--kernel", &path, "3", "--count", "0"],
        vec!["--kernel", &path, "3", "--count", "-4"],
        vec!["--kernel", &path, "3", "--every", "0"],
        vec!["--kernel", &path, "3", "--every", "nan"],
        vec!["--kernel", &path, "3", "--every", "1e9"],
        vec!["--kernel", &path, "3", "--bogus"],
    ] {
        let (code, out, err) = intr_sim(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(!err.is_empty(), "{args:?}: no message");
    }
    assert_eq!(k.snapshot().interrupts[0].level_raised, 0, "nothing raised");
}

#[test]
fn a_kernel_that_is_not_there_is_status_1_with_a_hint() {
    let dir = TempDir::new("absent");
    let missing = dir.0.join("no-such-kernel");
    let (code, out, err) = intr_sim(&["--kernel", missing.to_str().unwrap(), "3"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("cannot open the kernel"), "{err}");
    assert!(err.contains("is a program of it running?"), "{err}");
    // A file that is not a kernel.
    let junk = dir.0.join("junk");
    std::fs::write(&junk, b"not a kernel").unwrap();
    let (code, _, err) = intr_sim(&["--kernel", junk.to_str().unwrap(), "3"]);
    assert_eq!(code, 1, "{err}");
}
