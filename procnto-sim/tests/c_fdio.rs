//! Plain POSIX file calls in C programs linked with libqnxsim (`capi/src/fdio.rs`): the suite
//! `capi/tests/c/fdio_suite.c` (ordinary files, a pipe and /dev/null untouched; a resource
//! manager's path, served by a thread of the same program through the C resource-manager
//! layer, reached by open, read, write, pread, pwrite, lseek, fstat, fcntl, devctl, _devctl,
//! devctlv, ionotify, close), as C99 linked shared and static and as C++17; and the benchmark
//! `fdio_bench.c` of what interposition costs ordinary I/O, built linked with libqnxsim and
//! not, run once each: this test checks only that it runs and prints (never its timings).

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, cflags, expect_pass, lib_dir, Lang, Link};
use procs::TempDir;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The checks fdio_suite.c makes at the least.
const SUITE_CHECKS: u32 = 90;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

fn suite(lang: Lang, link: Link) {
    let dir = TempDir::new("c-fdio-suite");
    let exe = dir.join(&format!("fdio_suite-{lang:?}-{link:?}"));
    build(&[c_dir().join("fdio_suite.c")], &exe, lang, link);
    expect_pass(&exe, &[], &[], SUITE_CHECKS, RUN_WITHIN);
}

#[test]
fn fdio_suite_c99_linked_shared() {
    suite(Lang::C99, Link::Shared);
}

#[test]
fn fdio_suite_c99_linked_static() {
    suite(Lang::C99, Link::Static);
}

#[test]
fn fdio_suite_cxx17_linked_shared() {
    suite(Lang::Cxx17, Link::Shared);
}

/// Builds the benchmark with `-O2`, linked with libqnxsim (`--no-as-needed`, so that the
/// library is loaded though the program names none of its symbols) or not.
fn build_bench(out: &Path, with_qnxsim: bool) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.args(["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"])
        .args(cflags())
        .arg(c_dir().join("fdio_bench.c"))
        .arg("-o")
        .arg(out);
    if with_qnxsim {
        let lib = lib_dir();
        cmd.arg(format!("-L{}", lib.display()))
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            // An rpath, not a runpath: it wins over LD_LIBRARY_PATH, which `cargo test`
            // points at target/debug, where an older libqnxsim.so may lie.
            .arg("-Wl,--disable-new-dtags")
            .args(["-Wl,--no-as-needed", "-lqnxsim"]);
    }
    let o = cmd.output().unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(
        o.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs `exe` (small counts: this checks that it works, the figures come from release runs,
/// docs/results.md) and returns its output.
fn run_bench(exe: &Path) -> String {
    let mut child = Command::new(exe)
        .args(["20000", "3"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("starting the benchmark");
    let deadline = std::time::Instant::now() + RUN_WITHIN;
    loop {
        if child.try_wait().expect("waiting").is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not finish within {RUN_WITHIN:?}", exe.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = child.wait_with_output().expect("its output");
    assert!(o.status.success(), "{}: {}", exe.display(), o.status);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The ns figure of the line starting with `what`.
fn figure(out: &str, what: &str) -> f64 {
    out.lines()
        .find(|l| l.starts_with(what))
        .and_then(|l| l.split(": ").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no '{what}' figure in:\n{out}"))
}

#[test]
fn the_interposition_benchmark_runs_and_prints() {
    let dir = TempDir::new("c-fdio-bench");
    let plain = dir.join("fdio_bench-plain");
    let linked = dir.join("fdio_bench-qnxsim");
    build_bench(&plain, false);
    build_bench(&linked, true);
    let a = run_bench(&plain);
    let b = run_bench(&linked);
    assert!(a.contains("libqnxsim not linked"), "{a}");
    assert!(b.contains("libqnxsim linked"), "{b}");
    for what in ["read 1 byte", "open+close"] {
        let (x, y) = (figure(&a, what), figure(&b, what));
        println!(
            "{what}: {x:.1} ns without libqnxsim, {y:.1} ns with: ratio {:.2}",
            y / x
        );
    }
    let k = figure(&b, "open+close, kernel made");
    println!(
        "open+close in a program with a kernel: {k:.1} ns: ratio {:.2}",
        k / figure(&a, "open+close")
    );
    println!("without:\n{a}with:\n{b}");
}
