//! Review of 6fc6b44..HEAD (userlib side). Each `#[ignore = "DEFECT: ..."]` test fails on the
//! code as reviewed. Tests that need a process of their own run this test binary again with
//! `REVIEW_LATEST_INNER` naming the inner test (which does nothing without it).
#![cfg(not(loom))]

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INNER: &str = "REVIEW_LATEST_INNER";

/// Whether this process is the re-run for inner test `name`.
fn inner(name: &str) -> bool {
    std::env::var(INNER).is_ok_and(|v| v == name)
}

/// A temporary directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = std::env::temp_dir().join(format!("rvl-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits for `pid` with a deadline; kills it (SIGKILL) if it overstays. Its exit code, or
/// None if it had to be killed (or did not exit normally).
fn wait_pid(pid: libc::pid_t, deadline: Duration) -> Option<i32> {
    let t0 = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        }
        if r < 0 || t0.elapsed() > deadline {
            // SAFETY: plain integers; then reap it.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs inner test `name` in a process of its own with `envs`, killed after `deadline`.
/// Its exit code (None: killed) and its output.
fn run_inner(
    name: &str,
    envs: &[(&str, &std::ffi::OsStr)],
    deadline: Duration,
) -> (Option<i32>, String) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(INNER, name)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let t0 = Instant::now();
    let code = loop {
        match child.try_wait().unwrap() {
            Some(st) => break st.code(),
            None if t0.elapsed() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (code, text)
}

// ------------------------------------------------------------------ default_pair and fork

/// A program whose first QNX call is making the default kernel (here: starting the
/// supervisor of a supervised kernel, a slow fake one) forks in another thread before any
/// kernel of the program exists. The fork handlers (`kernel_sim::fork`, which bump the fork
/// generation in the child) are installed only when the first kernel is registered, so the
/// child keeps generation 0, and `MAKING` says "generation 0 is making it": the child's first
/// QNX call waits for a maker thread the child does not have, for ever.
#[test]
fn a_child_forked_while_the_first_default_kernel_is_made_gets_its_own() {
    let dir = TempDir::new("fork");
    let script = dir.0.join("slow-supervisor.sh");
    {
        let mut f = std::fs::File::create(&script).unwrap();
        f.write_all(b"#!/bin/sh\nsleep 2\nexit 1\n").unwrap();
    }
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.0.join("k.sock");
    let (code, out) = run_inner(
        "inner_fork_while_making",
        &[
            ("QNXSIM_KERNEL", sock.as_os_str()),
            ("QNXSIM_SUPERVISOR", script.as_os_str()),
        ],
        Duration::from_secs(20),
    );
    assert!(
        out.contains("CHILD "),
        "the inner run said nothing of its child:\n{out}"
    );
    assert_eq!(code, Some(0), "inner run:\n{out}");
}

/// The control: the same, in a program that made (and dropped) a kernel first, so the fork
/// handlers are installed and the child's generation is bumped: the child gets its own
/// default kernel at once (passes today; it shows the cause is the generation the child keeps).
#[test]
fn control_a_child_forked_while_the_default_kernel_is_made_after_a_first_kernel_gets_its_own() {
    let dir = TempDir::new("forkc");
    let script = dir.0.join("slow-supervisor.sh");
    {
        let mut f = std::fs::File::create(&script).unwrap();
        f.write_all(b"#!/bin/sh\nsleep 2\nexit 1\n").unwrap();
    }
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.0.join("k.sock");
    let (code, out) = run_inner(
        "inner_fork_while_making",
        &[
            ("QNXSIM_KERNEL", sock.as_os_str()),
            ("QNXSIM_SUPERVISOR", script.as_os_str()),
            ("REVIEW_LATEST_FIRST_KERNEL", std::ffi::OsStr::new("1")),
        ],
        Duration::from_secs(20),
    );
    assert!(
        out.contains("CHILD "),
        "the inner run said nothing of its child:\n{out}"
    );
    assert_eq!(code, Some(0), "inner run:\n{out}");
}

#[test]
#[ignore = "inner part of a_child_forked_while_the_first_default_kernel_is_made_gets_its_own"]
fn inner_fork_while_making() {
    if !inner("inner_fork_while_making") {
        return;
    }
    if std::env::var_os("REVIEW_LATEST_FIRST_KERNEL").is_some() {
        // A kernel made and dropped: the fork handlers are installed from now on.
        drop(userlib::Kernel::new(userlib::Config::default()).unwrap());
    }
    // The maker: its supervisor start takes 2 s (and then fails).
    let maker = std::thread::spawn(|| userlib::current::default_kernel().map(|_| ()));
    std::thread::sleep(Duration::from_millis(400));
    // SAFETY: the child only makes its first QNX call and exits with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // A kernel of its own (no supervisor): this should take milliseconds.
        std::env::remove_var("QNXSIM_KERNEL");
        let ok = userlib::current::default_kernel().is_ok();
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if ok { 0 } else { 3 }) };
    }
    let child = wait_pid(pid, Duration::from_secs(4));
    let made = maker.join().unwrap();
    println!("CHILD {child:?} (maker: {made:?})");
    assert_eq!(
        child,
        Some(0),
        "the forked child's first QNX call did not come back within 4 s (killed)"
    );
}

// --------------------------------------------------------------- keep_callsites_live

/// `trace::keep_callsites_live` (called by every recorder) registers a dispatcher whose
/// `max_level_hint` is TRACE and leaks it: `tracing`'s global maximum level is TRACE for the
/// rest of the program, after every recorder is gone, so `kernel_sim::trace::enabled()` (the
/// one load that is meant to make a kernel event free with no subscriber) says yes for ever,
/// and every kernel call works out its events' fields and asks the dispatchers about them
/// (its doc: "off while no subscriber is installed"). A program or benchmark that made one
/// recorder pays that on every call afterwards (the per-call cost is printed).
#[test]
fn a_dropped_recorder_leaves_the_kernels_tracing_off() {
    let (code, out) = run_inner(
        "inner_recorder_leaves_tracing_on",
        &[],
        Duration::from_secs(60),
    );
    assert!(
        out.contains("BEFORE "),
        "the inner run said nothing:\n{out}"
    );
    assert_eq!(code, Some(0), "inner run:\n{out}");
}

/// ns per pulse sent and received on the default kernel.
fn pulse_round_ns(n: u32) -> f64 {
    use userlib::consts::*;
    use userlib::qnx::*;
    static CH: std::sync::OnceLock<(i32, i32)> = std::sync::OnceLock::new();
    let (chid, coid) = *CH.get_or_init(|| {
        let chid = channel_create(0).unwrap();
        let coid = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
        (chid, coid)
    });
    let mut buf = [0u8; 64];
    let t0 = Instant::now();
    for i in 0..n {
        msg_send_pulse(coid, 10, 1, i as i32).unwrap();
        msg_receive(chid, &mut buf, None).unwrap();
    }
    t0.elapsed().as_nanos() as f64 / f64::from(n)
}

#[test]
#[ignore = "inner part of a_dropped_recorder_leaves_the_kernels_tracing_off"]
fn inner_recorder_leaves_tracing_on() {
    if !inner("inner_recorder_leaves_tracing_on") {
        return;
    }
    let before = userlib::trace::enabled();
    let _ = pulse_round_ns(20_000);
    let t_before = (0..3)
        .map(|_| pulse_round_ns(50_000))
        .fold(f64::MAX, f64::min);
    {
        let (layer, guard) = userlib::seqchart::memory(userlib::seqchart::Options::default());
        drop(layer);
        drop(guard);
    }
    let after = userlib::trace::enabled();
    let t_after = (0..3)
        .map(|_| pulse_round_ns(50_000))
        .fold(f64::MAX, f64::min);
    println!(
        "BEFORE enabled={before} {t_before:.0} ns/round; AFTER a recorder made and dropped: \
         enabled={after} {t_after:.0} ns/round; max level now {}",
        tracing::level_filters::LevelFilter::current()
    );
    assert!(!before, "tracing was on before any recorder");
    assert!(
        !after,
        "kernel tracing stays enabled after the only recorder was dropped"
    );
}
