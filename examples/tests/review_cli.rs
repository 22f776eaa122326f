//! A review of the workspace's command-line programs from the outside, as a new user and an
//! attacker would use them: bad options, bad paths, garbage in the environment. Each of the 11
//! defects its first run found (pidin-sim hanging on a FIFO or writing half its results,
//! procnto-sim killed by SIGHUP, a hanging or silent supervisor program, unexplained kernel
//! paths, benchmarks panicking on huge counts, `--help` as a usage error, an installer prefix
//! pkg-config flags cannot carry) has a test here, named after what should happen; the cheap
//! checks of behaviour that was right sit beside them.
//!
//! The programs of other packages (`procnto-sim`, `pidin-sim`, `intr-sim`, `qnxsim-install`,
//! the benchmarks) are looked for in this test's target directory (`target/<profile>/`, one
//! directory up from the test binary) and built there with cargo if missing. Every run is
//! bounded in time (a hang fails the test), and every test removes what it made: its
//! temporary directory, the processes it started.

#[allow(dead_code)] // (this binary uses a part of it)
mod common;

use common::bounded::{bounded, cmd, Dir, Outcome};
use common::tools::tool;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ECHO_SERVER: &str = env!("CARGO_BIN_EXE_echo-server");
const SRR_DEMO: &str = env!("CARGO_BIN_EXE_srr-demo");

// ------------------------------------------------------------------------------ helpers

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
}

/// A kernel in a plain memory file at `path`, for pidin-sim and intr-sim to open.
fn kernel_file(path: &Path) -> userlib::Kernel {
    userlib::Kernel::create_shared(path, userlib::Config::default()).expect("a kernel file")
}

/// A process to kill at the end of a test, whatever happens.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The pid written in `file`, killed at the end of a test (a grandchild of it).
struct KillPidInFile(PathBuf);

impl Drop for KillPidInFile {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

// ------------------------------------------------- pidin-sim: its recording's output paths

#[test]
fn pidin_sim_refuses_a_fifo_as_trace_file_instead_of_hanging() {
    let dir = Dir::new("cli-pidin-fifo");
    let k = dir.join("kernel");
    let _kernel = kernel_file(&k);
    let fifo = dir.join("trace.json");
    mkfifo(&fifo);
    let pidin = tool("procnto-sim", "pidin-sim");
    let k = k.to_str().unwrap();
    let f = fifo.to_str().unwrap();
    let r = bounded(
        cmd(&pidin, &["--kernel", k, "--trace", f, "--for", "1"]),
        Duration::from_secs(10),
    );
    assert!(
        r.status.is_some(),
        "pidin-sim --trace FIFO hangs in open(2) (SIGINT and SIGTERM, blocked for its signalfd, \
         cannot end it either); expected a refusal as compare's and srr-demo's:\n{}",
        r.show()
    );
    assert_ne!(r.code(), Some(0), "{}", r.show());
    assert!(
        r.stderr.contains(f),
        "the error does not name the path:\n{}",
        r.show()
    );
}

#[test]
fn pidin_sim_checks_a_device_output_path_before_it_records() {
    let dir = Dir::new("cli-pidin-dev");
    let k = dir.join("kernel");
    let _kernel = kernel_file(&k);
    let pidin = tool("procnto-sim", "pidin-sim");
    let k = k.to_str().unwrap();
    let r = bounded(
        cmd(
            &pidin,
            &["--kernel", k, "--trace", "/dev/null", "--for", "4"],
        ),
        Duration::from_secs(20),
    );
    assert_ne!(r.code(), Some(0), "{}", r.show());
    assert!(
        r.took < Duration::from_secs(2),
        "a device as --trace is found out only after the whole recording ({:?}):\n{}",
        r.took,
        r.show()
    );
    assert!(
        r.stderr.contains("/dev/null"),
        "the error does not name the path:\n{}",
        r.show()
    );
}

#[test]
fn pidin_sim_writes_no_trace_when_the_diagram_path_is_unusable() {
    let dir = Dir::new("cli-pidin-half");
    let k = dir.join("kernel");
    let _kernel = kernel_file(&k);
    let pidin = tool("procnto-sim", "pidin-sim");
    let trace = dir.join("t.json");
    let args = [
        "--kernel",
        k.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
        "--diagram",
        "/dev/null",
        "--for",
        "1",
    ];
    let r = bounded(cmd(&pidin, &args), Duration::from_secs(20));
    assert_ne!(r.code(), Some(0), "{}", r.show());
    assert!(
        !trace.exists(),
        "the run failed ({:?}) but left {} written: an unusable --diagram is found only after \
         recording\n{}",
        r.code(),
        trace.display(),
        r.show()
    );
}

#[test]
fn pidin_sim_refuses_what_it_should_with_status_2() {
    let pidin = tool("procnto-sim", "pidin-sim");
    for (args, says) in [
        (&["--for", "1"][..], "--for"),
        (&["--interval", "0", "--watch"], "--interval"),
        (&["--rows", "0"], "--rows"),
        (&["--watch", "--trace", "x.json"], "--watch"),
        (&["--bogus"], "--bogus"),
        (&["extra"], "extra"),
    ] {
        let r = bounded(cmd(&pidin, args), Duration::from_secs(10));
        assert_eq!(r.code(), Some(2), "{args:?}:\n{}", r.show());
        assert!(r.stderr.contains(says), "{args:?}:\n{}", r.show());
    }
    let dir = Dir::new("cli-pidin-bad-kernel");
    let small = dir.join("small");
    std::fs::write(&small, "hello").unwrap();
    for k in [
        dir.0.to_str().unwrap(),
        small.to_str().unwrap(),
        "/dev/null",
    ] {
        let r = bounded(cmd(&pidin, &["--kernel", k]), Duration::from_secs(10));
        assert_eq!(r.code(), Some(1), "--kernel {k}:\n{}", r.show());
        assert!(r.stderr.contains("cannot open the kernel"), "{}", r.show());
    }
    assert_eq!(std::fs::read_to_string(&small).unwrap(), "hello");
}

// -------------------------------------------------------------------------------- intr-sim

#[test]
fn intr_sim_refuses_bad_levels_counts_and_periods() {
    let intr = tool("procnto-sim", "intr-sim");
    for args in [
        &[][..],
        &["256"],
        &["--", "-1"],
        &["abc"],
        &["5", "6"],
        &["5", "--count", "0"],
        &["5", "--every", "0"],
        &["5", "--every", "nan"],
        &["5", "--every", "86401"],
    ] {
        let r = bounded(cmd(&intr, args), Duration::from_secs(10));
        assert_eq!(r.code(), Some(2), "{args:?}:\n{}", r.show());
        assert!(!r.stderr.contains("panicked"), "{}", r.show());
    }
    let dir = Dir::new("cli-intr");
    let k = dir.join("kernel");
    let _kernel = kernel_file(&k);
    let r = bounded(
        cmd(
            &intr,
            &["--kernel", k.to_str().unwrap(), "5", "--count", "2"],
        ),
        Duration::from_secs(10),
    );
    assert_eq!(r.code(), Some(0), "{}", r.show());
    assert!(r.stdout.contains("2 raises of level 5"), "{}", r.show());
}

// ----------------------------------------------------------------------------- procnto-sim

#[test]
fn procnto_sim_removes_its_socket_when_its_terminal_hangs_up() {
    let dir = Dir::new("cli-hup");
    let sock = dir.join("k.sock");
    let sup = tool("procnto-sim", "procnto-sim");
    let mut c = cmd(&sup, &["--kernel", sock.to_str().unwrap(), "--stay"]);
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut guard = KillOnDrop(Some(c.spawn().expect("starting procnto-sim")));
    let until = Instant::now() + Duration::from_secs(10);
    while !sock.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(sock.exists(), "procnto-sim made no socket");
    let pid = guard.0.as_ref().unwrap().id() as i32;
    kill(Pid::from_raw(pid), Signal::SIGHUP).unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    let mut status = None;
    while Instant::now() < until {
        if let Some(s) = guard.0.as_mut().unwrap().try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = sock.exists();
    let _ = std::fs::remove_file(&sock);
    assert!(
        !left,
        "procnto-sim ended by SIGHUP (its terminal closed; it handles SIGINT and SIGTERM) left \
         its socket {} behind (status {status:?}), and tore nothing down",
        sock.display()
    );
}

#[test]
fn procnto_sim_refuses_bad_kernels_and_options() {
    let sup = tool("procnto-sim", "procnto-sim");
    for args in [
        &["--linger", "-1"][..],
        &["--linger", "abc"],
        &["--linger", "86401"],
        &["--linger", "99999999999999999999"],
        &["--bogus"],
        &["extra"],
    ] {
        let r = bounded(cmd(&sup, args), Duration::from_secs(10));
        assert_eq!(r.code(), Some(2), "{args:?}:\n{}", r.show());
    }
    let dir = Dir::new("cli-sup-bad");
    let file = dir.join("file.sock");
    std::fs::write(&file, "keep me").unwrap();
    let long = format!("{}/{}.sock", dir.0.display(), "a".repeat(120));
    let missing = dir.join("no/such/k.sock");
    for k in [
        dir.0.to_str().unwrap(),
        file.to_str().unwrap(),
        &long,
        missing.to_str().unwrap(),
        "",
    ] {
        let r = bounded(
            cmd(&sup, &["--kernel", k, "--linger", "0"]),
            Duration::from_secs(10),
        );
        assert_eq!(r.code(), Some(1), "--kernel {k}:\n{}", r.show());
        assert!(r.stderr.contains("ERROR"), "{}", r.show());
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

// ------------------------------------------------ a program starting its kernel's supervisor

/// echo-server on the supervised kernel "k" of a private runtime directory, with
/// `QNXSIM_SUPERVISOR` set to `supervisor`.
fn echo_server_with_supervisor(dir: &Dir, supervisor: &Path, within: Duration) -> Outcome {
    let mut c = cmd(ECHO_SERVER, &["--idle", "1"]);
    c.env("XDG_RUNTIME_DIR", &dir.0)
        .env("QNXSIM_KERNEL", "k")
        .env("QNXSIM_SUPERVISOR", supervisor);
    bounded(c, within)
}

#[test]
fn a_supervisor_program_that_never_detaches_does_not_hang_the_program() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new("cli-sup-hang");
    let pidfile = dir.join("sup.pid");
    let _reap = KillPidInFile(pidfile.clone());
    let script = dir.join("not-a-supervisor");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho $$ > '{}'\nexec sleep 60\n",
            pidfile.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = echo_server_with_supervisor(&dir, &script, Duration::from_secs(20));
    assert!(
        r.status.is_some(),
        "a program whose QNXSIM_SUPERVISOR does not detach waits for it for ever (userlib runs \
         it with Command::status, unbounded):\n{}",
        r.show()
    );
    assert_ne!(r.code(), Some(0), "{}", r.show());
}

#[test]
fn a_supervisor_program_that_ends_without_serving_is_diagnosed() {
    let dir = Dir::new("cli-sup-false");
    let r = echo_server_with_supervisor(&dir, Path::new("/bin/false"), Duration::from_secs(20));
    assert_eq!(r.code(), Some(1), "{}", r.show());
    assert!(
        r.stderr.contains("qnxsim:") && r.stderr.contains("/bin/false"),
        "the supervisor (/bin/false) ended without serving the kernel, and the program says only \
         its call's errno (ENOENT), not why:\n{}",
        r.show()
    );
}

#[test]
fn a_missing_supervisor_program_is_diagnosed() {
    let dir = Dir::new("cli-sup-missing");
    let r = echo_server_with_supervisor(
        &dir,
        Path::new("/nonexistent/procnto-sim"),
        Duration::from_secs(20),
    );
    assert_eq!(r.code(), Some(1), "{}", r.show());
    assert!(
        r.stderr.contains("qnxsim: cannot start the supervisor"),
        "{}",
        r.show()
    );
}

#[test]
fn a_kernel_path_that_is_a_directory_is_diagnosed() {
    let dir = Dir::new("cli-kernel-dir");
    let mut c = cmd(ECHO_SERVER, &["--idle", "1"]);
    c.env("QNXSIM_KERNEL", &dir.0);
    let r = bounded(c, Duration::from_secs(20));
    assert_eq!(r.code(), Some(1), "{}", r.show());
    assert!(
        r.stderr.contains("qnxsim:"),
        "QNXSIM_KERNEL naming a directory gets no `qnxsim:` line saying why (a FIFO, a device or \
         a small file do: \"not a kernel file\"), only the call's EISDIR:\n{}",
        r.show()
    );
}

#[test]
fn a_kernel_path_that_is_a_fifo_or_device_is_refused_without_hanging() {
    let dir = Dir::new("cli-kernel-fifo");
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    for k in [fifo.as_path(), Path::new("/dev/null")] {
        let mut c = cmd(ECHO_SERVER, &["--idle", "1"]);
        c.env("QNXSIM_KERNEL", k);
        let r = bounded(c, Duration::from_secs(20));
        assert_eq!(r.code(), Some(1), "{}", r.show());
        assert!(r.stderr.contains("not a kernel file"), "{}", r.show());
    }
}

// ---------------------------------------------------------------------- the benchmarks' CLI

#[test]
fn srr_roundtrip_refuses_a_huge_iteration_count_instead_of_panicking() {
    let b = tool("benches", "srr_roundtrip");
    let r = bounded(
        cmd(&b, &["--iters", "18446744073709551615", "--runs", "1"]),
        Duration::from_secs(30),
    );
    assert!(
        !r.stderr.contains("panicked"),
        "srr_roundtrip --iters u64::MAX panics (no upper bound, unlike xproc_roundtrip's \
         1..=10000000):\n{}",
        r.show()
    );
    assert_eq!(r.code(), Some(2), "{}", r.show());
}

#[test]
fn async_throughput_refuses_a_huge_message_count_instead_of_aborting() {
    let b = tool("benches", "async_throughput");
    let r = bounded(
        cmd(&b, &["--msgs", "18446744073709551615", "--runs", "1"]),
        Duration::from_secs(30),
    );
    assert!(
        !r.stderr.contains("panicked"),
        "async_throughput --msgs u64::MAX panics and aborts (no upper bound, unlike \
         xproc_async's 1000..=100000000):\n{}",
        r.show()
    );
    assert_eq!(r.code(), Some(2), "{}", r.show());
}

#[test]
fn roundtrip_profile_help_is_not_a_usage_error() {
    let b = tool("benches", "roundtrip_profile");
    for flag in ["--help", "-h"] {
        let r = bounded(cmd(&b, &[flag]), Duration::from_secs(10));
        assert_eq!(
            r.code(),
            Some(0),
            "roundtrip_profile {flag} exits as for a usage error (every other program's --help \
             exits 0 with the usage on stdout):\n{}",
            r.show()
        );
        assert!(r.stdout.contains("usage"), "{}", r.show());
    }
}

#[test]
fn the_benchmarks_refuse_bad_numbers_with_status_2() {
    for (bin, args) in [
        ("srr_roundtrip", &["--runs", "0"][..]),
        ("srr_roundtrip", &["--runs", "abc"]),
        ("srr_roundtrip", &["--iters"]),
        ("srr_roundtrip", &["--bogus"]),
        ("async_throughput", &["--triggers", "1024"]),
        ("async_throughput", &["--triggers", ""]),
        ("async_throughput", &["--only", "bogus"]),
        ("xproc_roundtrip", &["--size", "7"]),
        ("xproc_roundtrip", &["--runs", "101"]),
        ("xproc_async", &["--batch", "257"]),
        ("xproc_async", &["--msgs", "999"]),
        ("roundtrip_profile", &["srr", "same", "-1"]),
        ("roundtrip_profile", &["bogus", "same", "1"]),
        ("compare", &["--runs", "0"]),
        ("compare", &["--full", "--tiny"]),
        ("compare", &["--only", ""]),
        ("compare", &["--only", "no such case"]),
        ("compare", &["--csv", "/dev/null"]),
    ] {
        let b = tool("benches", bin);
        let r = bounded(cmd(&b, args), Duration::from_secs(20));
        assert_eq!(r.code(), Some(2), "{bin} {args:?}:\n{}", r.show());
        assert!(
            r.stdout.is_empty() || bin == "compare",
            "{bin} {args:?}: {}",
            r.show()
        );
        assert!(
            !r.stderr.contains("panicked"),
            "{bin} {args:?}: {}",
            r.show()
        );
    }
    let dir = Dir::new("cli-compare-fifo");
    let fifo = dir.join("r.json");
    mkfifo(&fifo);
    let b = tool("benches", "compare");
    let r = bounded(
        cmd(&b, &["--json", fifo.to_str().unwrap()]),
        Duration::from_secs(20),
    );
    assert_eq!(r.code(), Some(2), "{}", r.show());
    assert!(r.stderr.contains("not a regular file"), "{}", r.show());
}

// ---------------------------------------------------------------------------- qnxsim-install

#[test]
fn qnxsim_install_refuses_bad_arguments_with_status_2() {
    let inst = tool("qnxsim", "qnxsim-install");
    for args in [
        &[][..],
        &["--prefix"],
        &["--prefix="],
        &["--prefix", "/tmp/x", "extra"],
        &["-x"],
    ] {
        let r = bounded(cmd(&inst, args), Duration::from_secs(10));
        assert_eq!(r.code(), Some(2), "{args:?}:\n{}", r.show());
        assert!(r.stderr.contains("usage: qnxsim-install"), "{}", r.show());
    }
    let r = bounded(cmd(&inst, &["--help"]), Duration::from_secs(10));
    assert_eq!(r.code(), Some(0), "{}", r.show());
}

#[test]
fn qnxsim_install_into_a_prefix_with_a_space_gives_usable_flags_or_refuses() {
    if Command::new("pkg-config")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("no pkg-config here: skipped");
        return;
    }
    let dir = Dir::new("cli-install-space");
    // What the installer copies: a stand-in library is enough to lay the files out.
    let from = dir.join("from");
    std::fs::create_dir_all(&from).unwrap();
    std::fs::write(from.join("libqnxsim.so"), b"").unwrap();
    let prefix = dir.join("my prefix");
    let inst = tool("qnxsim", "qnxsim-install");
    let r = bounded(
        cmd(
            &inst,
            &[
                "--prefix",
                prefix.to_str().unwrap(),
                "--from",
                from.to_str().unwrap(),
            ],
        ),
        Duration::from_secs(20),
    );
    if r.code() != Some(0) {
        return; // refused: fine, if it says so
    }
    let out = Command::new("pkg-config")
        .args(["--cflags", "--libs", "qnxsim"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .expect("pkg-config");
    let flags = String::from_utf8_lossy(&out.stdout).into_owned();
    // `cc prog.c $(pkg-config --cflags --libs qnxsim)`, as README.md says: split by the shell.
    let words: Vec<&str> = flags.split_whitespace().collect();
    let include = format!("-I{}/include/qnxsim", prefix.display());
    assert!(
        words.contains(&include.as_str()),
        "qnxsim-install accepted the prefix {:?} but its qnxsim.pc gives flags that break at the \
         space: {words:?}",
        prefix
    );
}

// ---------------------------------------------------------- the examples (cheap, right already)

#[test]
fn srr_demo_refuses_special_files_before_it_runs() {
    let dir = Dir::new("cli-srr-fifo");
    let fifo = dir.join("t.json");
    mkfifo(&fifo);
    for args in [
        vec!["--trace", fifo.to_str().unwrap()],
        vec!["--diagram", "/dev/null"],
        vec!["--trace", dir.0.to_str().unwrap()],
    ] {
        let r = bounded(cmd(SRR_DEMO, &args), Duration::from_secs(20));
        assert_eq!(r.code(), Some(2), "{args:?}:\n{}", r.show());
        assert!(r.stdout.is_empty(), "{}", r.show());
    }
}

#[test]
fn every_program_answers_help_and_version() {
    let mut programs: Vec<PathBuf> = [
        env!("CARGO_BIN_EXE_srr-demo"),
        env!("CARGO_BIN_EXE_event-loop"),
        env!("CARGO_BIN_EXE_sensors"),
        env!("CARGO_BIN_EXE_echo-server"),
        env!("CARGO_BIN_EXE_echo-client"),
        env!("CARGO_BIN_EXE_dev-sample"),
        env!("CARGO_BIN_EXE_dev-sample-client"),
        env!("CARGO_BIN_EXE_name-server"),
        env!("CARGO_BIN_EXE_name-client"),
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    for (pkg, bin) in [
        ("procnto-sim", "procnto-sim"),
        ("procnto-sim", "pidin-sim"),
        ("procnto-sim", "intr-sim"),
    ] {
        programs.push(tool(pkg, bin));
    }
    for p in &programs {
        for flag in ["--help", "-h", "--version"] {
            let r = bounded(cmd(p, &[flag]), Duration::from_secs(10));
            assert_eq!(r.code(), Some(0), "{} {flag}:\n{}", p.display(), r.show());
            assert!(!r.stdout.is_empty(), "{} {flag}", p.display());
        }
    }
}
