//! Review: public QNX programs ported unchanged (course exercises, training samples, Krten's
//! resource managers, the library reference's devctl sample), reduced to what they rely on
//! (`capi/tests/c/review_public_ports.c`, code of its own). The behaviours that worked are
//! checked as C99 (shared and static) and C++17; each project defect the ports met (all three
//! fixed since) is a build of the same program with a `PORTS_DEFECT_*` macro that checks the
//! fix (before it, the program did not compile or link).
//!
//! Every program runs on its own kernel (`QNXSIM_KERNEL` empty), bounded in time (the C's
//! `alarm` and every blocking call bounded by `TimerTimeout`; `finish` here) and killed on
//! every exit path; every file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{c_dir, cflags, expect_summary, lib_dir, Lang, Running};
use procs::TempDir;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The checks the program makes with no defect macro, at the least.
const MIN_CHECKS: u32 = 50;
/// The bound on one run.
const RUN_WITHIN: Duration = Duration::from_secs(90);
/// The program's own kernel, whatever the test's environment says.
const OWN_KERNEL: &[(&str, &str)] = &[("QNXSIM_KERNEL", "")];

c_suite_tests!("review_public_ports", MIN_CHECKS, RUN_WITHIN, env = OWN_KERNEL;
    public_ports_c99_linked_shared, public_ports_c99_linked_static,
    public_ports_cxx17_linked_shared);

/// Compiles the program with `-D<define>` as `lang` (`-Wall -Wextra -Werror`, the flags
/// pkg-config gives, libqnxsim linked shared) into `dir`: its path, or the compiler's
/// messages.
fn build_defined(dir: &TempDir, define: &str, lang: Lang) -> Result<PathBuf, String> {
    let cxx = lang == Lang::Cxx17;
    let compiler = if cxx {
        std::env::var("CXX").unwrap_or_else(|_| "c++".into())
    } else {
        std::env::var("CC").unwrap_or_else(|_| "cc".into())
    };
    let out = dir.join(&format!("review_public_ports-{define}-{lang:?}"));
    let lib = lib_dir();
    let mut cmd = Command::new(&compiler);
    cmd.arg(if cxx { "-std=c++17" } else { "-std=c99" })
        .args(["-Wall", "-Wextra", "-Werror", "-g", "-pthread"])
        .arg(format!("-D{define}"))
        .args(cflags());
    if cxx {
        cmd.args(["-x", "c++"]);
    }
    cmd.arg(c_dir().join("review_public_ports.c"));
    if cxx {
        cmd.args(["-x", "none"]);
    }
    cmd.arg("-o")
        .arg(&out)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-Wl,--disable-new-dtags")
        .arg("-lqnxsim");
    let o = cmd
        .output()
        .map_err(|e| format!("running {compiler}: {e}"))?;
    if o.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{compiler} -D{define} failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ))
    }
}

/// Runs `exe` (no arguments, its own kernel) to its end: it must pass at least `min` checks
/// and fail none.
fn run(exe: &Path, min: u32) {
    let who = exe.display().to_string();
    expect_summary(
        &who,
        Running::start(exe, &[], OWN_KERNEL).finish(RUN_WITHIN),
        min,
    );
}

/// Builds the program with `-D<define>` as `lang` and runs it (the build's failure is the
/// test's, with the compiler's messages).
fn defect_build_runs(tag: &str, define: &str, lang: Lang) {
    let dir = TempDir::new(tag);
    let exe = build_defined(&dir, define, lang).unwrap_or_else(|e| panic!("{e}"));
    run(&exe, MIN_CHECKS + 1);
}

/// Krten's resource managers (and many drivers) serve with `resmgr_context_alloc`, then
/// `resmgr_block`/`resmgr_handler` for ever, and stop with `resmgr_unblock` and
/// `resmgr_context_free`: QNX declares them in `<sys/dispatch.h>`
/// (`/work/shared/reference/qnx-resmgr.md` §1.4). Was a defect (libqnxsim neither declared
/// nor defined them); fixed in capi/include/sys/dispatch.h and capi/src/resmgr.rs, over the
/// dispatch calls. The program also checks that `resmgr_handler` serves the layer alone
/// (`message_attach`/`pulse_attach` handlers never run; other messages go to `other_func`,
/// else ENOSYS), `resmgr_block`'s ETIMEDOUT after a `dispatch_timeout`, and the EINVALs of a
/// NULL context, of a handle with nothing attached and of one with no `resmgr_attach`.
#[test]
fn resmgr_block_loop_serves_a_client() {
    defect_build_runs("review-ports-loop", "PORTS_DEFECT_RESMGR_LOOP", Lang::C99);
}

/// The same loop compiled as C++17.
#[test]
fn resmgr_block_loop_serves_a_client_cxx17() {
    defect_build_runs(
        "review-ports-loop-cxx",
        "PORTS_DEFECT_RESMGR_LOOP",
        Lang::Cxx17,
    );
}

/// QNX's `<stdlib.h>` defines `min(a, b)` and `max(a, b)` for C (openqnx
/// lib/c/public/stdlib.h, under `__EXT_QNX`, not for C++); read handlers copied from QNX's
/// documentation use `min` (`nbytes = min(nleft, msg->i.nbytes)`). Was a defect (libqnxsim
/// did not wrap `<stdlib.h>`: an implicit declaration, then a link error); fixed by
/// capi/include/stdlib.h over the system's (`#include_next`), as capi/include/unistd.h and
/// errno.h are.
#[test]
fn stdlib_min_max_for_c() {
    defect_build_runs("review-ports-minmax", "PORTS_DEFECT_MINMAX", Lang::C99);
}

/// The other half of QNX's rule, which holds: no `min`/`max` macro in C++ (they would break
/// `std::min`).
#[test]
fn stdlib_min_max_not_macros_in_cxx() {
    defect_build_runs(
        "review-ports-minmax-cxx",
        "PORTS_DEFECT_MINMAX",
        Lang::Cxx17,
    );
}

/// QNX's `<sys/stat.h>` has `S_IFNAM` (0x5000, a special named file) and `S_ISNAM`; the
/// library reference's sample resource managers (and the ported devctl and bbs ones) call
/// `iofunc_attr_init(&attr, S_IFNAM | 0666, 0, 0)`. Was a defect (an undeclared
/// identifier); fixed by capi/include/sys/stat.h over the system's, with `S_ISNAM` and the
/// `S_INSEM`.. subtypes. A client's fstat of the open device and stat of its path show the
/// mode.
#[test]
fn stat_s_ifnam_for_resource_managers() {
    defect_build_runs("review-ports-ifnam", "PORTS_DEFECT_IFNAM", Lang::C99);
}

/// The same as C++17.
#[test]
fn stat_s_ifnam_for_resource_managers_cxx17() {
    defect_build_runs("review-ports-ifnam-cxx", "PORTS_DEFECT_IFNAM", Lang::Cxx17);
}
