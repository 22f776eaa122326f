//! `roundtrip_profile`, the real binary (a target for callgrind): each model runs its round
//! trips intact, `srr-shared` on a kernel in a memory file that it removes afterwards (and when
//! a signal ends it), and bad
//! arguments are refused with status 2 and the usage. Every run is bounded in time and killed if
//! it outlasts its bound. Not a speed test.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_roundtrip_profile");

/// A few hundred round trips take well under a second; this only catches a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs the binary with `args`, killed if it outlasts [`LIMIT`]; returns its output and pid.
fn run(args: &[&str]) -> (Output, u32) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running roundtrip_profile");
    let pid = child.id();
    let start = Instant::now();
    while child.try_wait().expect("waiting").is_none() {
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("roundtrip_profile {args:?} still running after {LIMIT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (child.wait_with_output().expect("its output"), pid)
}

#[test]
fn every_model_runs_its_round_trips_intact_and_the_shared_kernel_leaves_no_file() {
    for model in ["srr", "srr-shared", "futex"] {
        let (out, pid) = run(&[model, "same", "300"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{model}: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("300 round trips, all intact: true"),
            "{model}: {stdout}"
        );
        let left = run_dirs(pid);
        assert!(left.is_empty(), "{model} left {left:?}");
    }
}

/// The run directories (`qnxsim-xproc-PID-N`, on /dev/shm or in the temporary directory) of
/// the process `pid`.
fn run_dirs(pid: u32) -> Vec<std::path::PathBuf> {
    let prefix = format!("qnxsim-xproc-{pid}-");
    [std::path::PathBuf::from("/dev/shm"), std::env::temp_dir()]
        .iter()
        .filter_map(|base| std::fs::read_dir(base).ok())
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// Ended by SIGTERM, SIGINT or SIGHUP in the middle of its round trips, `srr-shared` removes
/// its kernel's directory and exits with 128 + the signal's number.
#[test]
fn srr_shared_ended_by_a_signal_mid_run_removes_its_kernel_directory() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        let mut child = Command::new(BIN)
            .args(["srr-shared", "same", "10000000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("running roundtrip_profile");
        let pid = child.id();
        let start = Instant::now();
        while run_dirs(pid).is_empty() && start.elapsed() < LIMIT {
            std::thread::sleep(Duration::from_millis(5));
        }
        let made = !run_dirs(pid).is_empty();
        let still = child.try_wait().expect("waiting").is_none();
        kill(Pid::from_raw(pid as i32), sig).expect("signalling it");
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().expect("waiting") {
                break Some(st);
            }
            if start.elapsed() > LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(
            made && still,
            "{sig}: the run made no directory or ended first"
        );
        let status = status.unwrap_or_else(|| panic!("{sig}: still running after {LIMIT:?}"));
        assert_eq!(status.code(), Some(128 + sig as i32), "{sig}");
        let left = run_dirs(pid);
        assert!(left.is_empty(), "{sig}: left {left:?}");
    }
}

#[test]
fn bad_arguments_are_refused_with_the_usage_and_status_2() {
    for args in [
        &[][..],
        &["srr", "same"][..],
        &["pipe", "same", "10"][..],
        &["srr", "sideways", "10"][..],
        &["srr-shared", "same", "many"][..],
        &["srr", "same", "10", "extra"][..],
        &["srr", "same", "0"][..],
        &["srr", "same", "-1"][..],
        &["futex", "same", "10000001"][..],
        &["srr", "same", "18446744073709551616"][..],
    ] {
        let (out, _) = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("usage: roundtrip_profile"),
            "{args:?}"
        );
    }
}

#[test]
fn help_prints_the_usage_on_stdout_with_status_0() {
    for flag in ["--help", "-h"] {
        let (out, _) = run(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("usage: roundtrip_profile"),
            "{flag}"
        );
        assert!(out.stderr.is_empty(), "{flag}");
    }
}
