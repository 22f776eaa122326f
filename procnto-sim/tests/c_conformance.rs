//! The C conformance suite (`capi/tests/c/conformance.c`): QNX Neutrino's documented results,
//! one check each, for a threaded program on its own kernel, compiled as C99 (linked shared
//! and static) and as C++17, and run bounded in time. And the headers' hygiene: every header of
//! `capi/include`, in several orders with the system's headers, compiles with
//! `-Wall -Wextra -Werror` as C99, C11 and C++17, and the programs link and run.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, cflags, expect_pass, include_dir, lib_dir, Lang, Link, Running};
use procs::TempDir;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The checks conformance.c makes at the least.
const MIN_CHECKS: u32 = 70;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

fn conformance(lang: Lang, link: Link) {
    let dir = TempDir::new("c-conformance");
    let exe = dir.join(&format!("conformance-{lang:?}-{link:?}"));
    build(&[c_dir().join("conformance.c")], &exe, lang, link);
    expect_pass(&exe, &[], &[], MIN_CHECKS, RUN_WITHIN);
}

#[test]
fn conformance_c99_linked_shared() {
    conformance(Lang::C99, Link::Shared);
}

#[test]
fn conformance_c99_linked_static() {
    conformance(Lang::C99, Link::Static);
}

#[test]
fn conformance_cxx17_linked_shared() {
    conformance(Lang::Cxx17, Link::Shared);
}

// ------------------------------------------------------------------ header hygiene

/// Every header of `capi/include`, as an `#include` name (`sys/neutrino.h`, ...), sorted.
fn qnx_headers() -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["", "sys", "hw", "qnxsim"] {
        let d = include_dir().join(sub);
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let name = e.expect("a directory entry").file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".h") {
                out.push(if sub.is_empty() {
                    name.to_string()
                } else {
                    format!("{sub}/{name}")
                });
            }
        }
    }
    out.sort();
    assert!(out.len() >= 16, "headers: {out:?}");
    // The resource-manager layer's headers, and the file calls' (devctl, ionotify), are among
    // them (checked by name, so that a rename does not drop them from the hygiene checks
    // unnoticed).
    for h in [
        "sys/resmgr.h",
        "sys/iofunc.h",
        "sys/iomsg.h",
        "sys/dispatch.h",
        "devctl.h",
        "sys/dcmd_all.h",
        "sys/iomgr.h",
    ] {
        assert!(out.iter().any(|o| o == h), "{h} missing from {out:?}");
    }
    out
}

/// The system headers QNX programs include beside QNX's.
const C_SYSTEM: &[&str] = &[
    "signal.h",
    "time.h",
    "pthread.h",
    "errno.h",
    "unistd.h",
    "sys/uio.h",
];
const CXX_SYSTEM: &[&str] = &["thread", "csignal", "ctime", "cerrno"];

fn includes(names: &[&str]) -> String {
    names.iter().map(|h| format!("#include <{h}>\n")).collect()
}

/// A program's body that uses what the headers give (macros renamed to libqnxsim's functions,
/// QNX's types and constants), so a header that breaks one of them under some order shows.
const C_BODY: &str = r#"
static void *thread_main(void *arg) { return arg; }
int main(void) {
    struct sigevent ev;
    struct _pulse pulse;
    struct _msg_info info;
    iov_t iov;
    char buf[4];
    timer_t t;
    int (*create)(clockid_t, struct sigevent *, timer_t *) = timer_create;
    (void)pulse; (void)info; (void)t; (void)create;
    SIGEV_PULSE_INIT(&ev, 0, SIGEV_PULSE_PRIO_INHERIT, 1, 0);
    SETIOV(&iov, buf, sizeof buf);
    if (GETIOVLEN(&iov) != sizeof buf || SIGEV_GET_TYPE(&ev) != SIGEV_PULSE) return 1;
    if (EOK != 0 || _IO_MAX != 0x1FF || ND_LOCAL_NODE != 0) return 2;
    if (sizeof(struct _pulse) != 24 || sizeof(struct _msg_info) != 64) return 3;
    if (pthread_create(NULL, NULL, thread_main, NULL) != 0) return 4;
    if (gettid() < 1 || getprio(0) < 1 || delay(1) != 0) return 5;
    if (ThreadCtl(_NTO_TCTL_IO, 0) != 0) return 6;
    return 0;
}
"#;

/// The C++ body: the C one's uses, and std::thread beside QNX's pthread_create.
const CXX_BODY: &str = r#"
static void *thread_main(void *arg) { return arg; }
int main() {
    struct sigevent ev;
    iov_t iov;
    char buf[4];
    int seen = 0;
    std::thread th([&seen] { seen = ChannelCreate(0) > 0 ? 1 : 2; });
    th.join();
    if (seen != 1) return 1;
    SIGEV_PULSE_INIT(&ev, 0, SIGEV_PULSE_PRIO_INHERIT, 1, 0);
    SETIOV(&iov, buf, sizeof buf);
    if (GETIOVLEN(&iov) != sizeof buf || SIGEV_GET_TYPE(&ev) != SIGEV_PULSE) return 2;
    if (EOK != 0 || _IO_MAX != 0x1FF || ND_LOCAL_NODE != 0) return 3;
    if (pthread_create(NULL, NULL, thread_main, NULL) != 0) return 4;
    if (gettid() < 1 || getprio(0) < 1 || delay(1) != 0) return 5;
    std::signal(SIGUSR1, SIG_IGN);
    if (std::time(nullptr) == 0) return 6;
    return 0;
}
"#;

#[derive(Clone, Copy, Debug)]
enum Std {
    C99,
    C11,
    Cxx17,
}

/// Compiles `src` with the strict flags; links it (shared) into `out` when given, else
/// compiles only. Panics with the compiler's messages on failure.
fn compile(src: &Path, std: Std, out: Option<&Path>) {
    let (compiler, flag) = match std {
        Std::C99 => (
            std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            "-std=c99",
        ),
        Std::C11 => (
            std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            "-std=c11",
        ),
        Std::Cxx17 => (
            std::env::var("CXX").unwrap_or_else(|_| "c++".into()),
            "-std=c++17",
        ),
    };
    let mut cmd = Command::new(&compiler);
    cmd.args([flag, "-Wall", "-Wextra", "-Werror", "-pthread"])
        .args(cflags())
        .arg(src);
    match out {
        Some(exe) => {
            let lib = lib_dir();
            cmd.arg("-o")
                .arg(exe)
                .arg(format!("-L{}", lib.display()))
                .arg(format!("-Wl,-rpath,{}", lib.display()))
                // An rpath, not a runpath: it wins over LD_LIBRARY_PATH, which `cargo test`
                // points at target/debug, where an older libqnxsim.so may lie.
                .arg("-Wl,--disable-new-dtags")
                .arg("-lqnxsim");
        }
        None => {
            cmd.args(["-c", "-o"]).arg(src.with_extension("o"));
        }
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {compiler}: {e}"));
    assert!(
        output.status.success(),
        "{compiler} {flag} failed on {}:\n{}\n{}{}",
        src.display(),
        std::fs::read_to_string(src).unwrap_or_default(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("writing a source");
    p
}

fn run_ok(exe: &Path) {
    let (status, out, err) =
        Running::start(exe, &[], &[] as &[(&str, &str)]).finish(Duration::from_secs(20));
    assert!(
        status.success(),
        "{}: {status}\nstdout:\n{out}\nstderr:\n{err}",
        exe.display()
    );
}

#[test]
fn every_header_compiles_alone_and_in_any_order_with_the_system_headers_strictly() {
    let dir = TempDir::new("c-headers");
    let qnx = qnx_headers();
    let qnx: Vec<&str> = qnx.iter().map(String::as_str).collect();
    let reversed: Vec<&str> = qnx.iter().rev().copied().collect();
    let (sys_a, sys_b) = C_SYSTEM.split_at(3);

    // Each header on its own: it includes what it needs.
    for (i, h) in qnx.iter().enumerate() {
        let src = write(
            &dir,
            &format!("alone{i}.c"),
            &format!("#include <{h}>\nint main(void) {{ return 0; }}\n"),
        );
        compile(&src, Std::C99, None);
        let src = write(
            &dir,
            &format!("alone{i}.cc"),
            &format!("#include <{h}>\nint main() {{ return 0; }}\n"),
        );
        compile(&src, Std::Cxx17, None);
    }

    // All of them: before the system's, after them, reversed between them.
    let c_orders = [
        format!("{}{}", includes(&qnx), includes(C_SYSTEM)),
        format!("{}{}", includes(C_SYSTEM), includes(&qnx)),
        format!(
            "{}{}{}",
            includes(sys_a),
            includes(&reversed),
            includes(sys_b)
        ),
    ];
    for (i, order) in c_orders.iter().enumerate() {
        let src = write(&dir, &format!("order{i}.c"), &format!("{order}{C_BODY}"));
        for std in [Std::C99, Std::C11] {
            let exe = dir.join(&format!("order{i}-{std:?}"));
            compile(&src, std, Some(&exe));
            run_ok(&exe);
        }
    }

    let cxx_orders = [
        format!(
            "{}{}{}",
            includes(CXX_SYSTEM),
            includes(&qnx),
            includes(C_SYSTEM)
        ),
        format!(
            "{}{}{}",
            includes(&qnx),
            includes(CXX_SYSTEM),
            includes(C_SYSTEM)
        ),
        format!(
            "{}{}{}",
            includes(C_SYSTEM),
            includes(&reversed),
            includes(CXX_SYSTEM)
        ),
    ];
    for (i, order) in cxx_orders.iter().enumerate() {
        let src = write(&dir, &format!("order{i}.cc"), &format!("{order}{CXX_BODY}"));
        let exe = dir.join(&format!("order{i}-cxx"));
        compile(&src, Std::Cxx17, Some(&exe));
        run_ok(&exe);
    }
}
