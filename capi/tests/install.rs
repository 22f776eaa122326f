//! `qnxsim-install` as a C user runs it: install into a prefix, then build a QNX program with
//! nothing but `pkg-config --cflags --libs qnxsim` and run it. And its bad arguments.

#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use procs::TempDir;
use std::path::{Path, PathBuf};
use std::process::Command;

const INSTALL: &str = env!("CARGO_BIN_EXE_qnxsim-install");

/// Where cargo built the library for this test (`target/<profile>`, with it in `deps/`).
fn built_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn install(prefix: &Path) -> std::process::Output {
    Command::new(INSTALL)
        .arg("--prefix")
        .arg(prefix)
        .arg("--from")
        .arg(built_dir())
        .output()
        .unwrap()
}

#[test]
fn an_installed_qnxsim_builds_and_runs_a_qnx_c_program_through_pkg_config() {
    let dir = TempDir::new("install");
    let prefix = dir.join("prefix");
    let out = install(&prefix);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "lib/libqnxsim.so",
        "lib/libqnxsim.a",
        "lib/pkgconfig/qnxsim.pc",
        "include/qnxsim/sys/neutrino.h",
        "include/qnxsim/sys/siginfo.h",
        "include/qnxsim/process.h",
        "include/qnxsim/errno.h",
        "include/qnxsim/atomic.h",
        "include/qnxsim/gulliver.h",
        "include/qnxsim/sys/slog.h",
        "include/qnxsim/sys/procmgr.h",
    ] {
        assert!(prefix.join(f).is_file(), "{f} not installed");
    }
    // The README's second line, as written: cc prog.c $(pkg-config --cflags --libs qnxsim).
    let pkg = Command::new("pkg-config")
        .args(["--cflags", "--libs", "qnxsim"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .expect("pkg-config (.ci/run installs it)");
    assert!(
        pkg.status.success(),
        "{}",
        String::from_utf8_lossy(&pkg.stderr)
    );
    let flags = String::from_utf8(pkg.stdout).unwrap();
    let exe = dir.join("smoke");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/smoke.c");
    let cc = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg(&src)
        .args(flags.split_whitespace())
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    // It runs from the installed library (the rpath pkg-config gave), on its own kernel.
    // (Without cargo's LD_LIBRARY_PATH, which points at its own build of the library.)
    let run = Command::new(&exe)
        .env_remove("QNXSIM_KERNEL")
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.ends_with("8 passed, 0 failed\n"), "{stdout}");
    let ldd = Command::new("ldd")
        .arg(&exe)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    let ldd = String::from_utf8_lossy(&ldd.stdout);
    let installed = prefix.join("lib/libqnxsim.so");
    assert!(ldd.contains(&*installed.to_string_lossy()), "{ldd}");
}

#[test]
fn bad_arguments_are_refused_with_the_usage() {
    for args in [
        &[][..],
        &["--prefix"],
        &["--prefix", ""],
        &["--bogus"],
        &["--from", "/tmp"],
    ] {
        let out = Command::new(INSTALL).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("usage:"),
            "{args:?}"
        );
    }
    let help = Command::new(INSTALL).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("usage:"));
    // Nothing built where --from points: a clear failure, and nothing half-installed.
    let dir = TempDir::new("install-empty");
    let out = Command::new(INSTALL)
        .arg("--prefix")
        .arg(dir.join("p"))
        .arg("--from")
        .arg(dir.join("nothing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no libqnxsim.so"));
    assert!(!dir.join("p").exists());
}

#[test]
fn a_strict_c99_build_without_posix_says_what_to_add() {
    // glibc hides POSIX under -std=c99 with no feature macro: the headers say so at once,
    // instead of a page of unknown types.
    let dir = TempDir::new("strict");
    let src = dir.join("strict.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <sys/neutrino.h>\nint main(void) { return 0; }\n",
    )
    .unwrap();
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"])
        .arg(format!(
            "-I{}",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("include")
                .display()
        ))
        .arg(&src)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().find(|l| l.contains("error:")).unwrap_or("");
    assert!(
        first.contains("-D_DEFAULT_SOURCE"),
        "the first error says why: {err}"
    );
}
