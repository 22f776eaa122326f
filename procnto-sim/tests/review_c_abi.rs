//! Review of the C ABI of 6d46e9e..HEAD (interrupts, device memory, clocks and the system
//! page, procmgr_ability, ConnectClientInfo/ConnectServerInfo): `capi/tests/c/review_c_abi.c`,
//! built here against libqnxsim (C99 and C++17). Its default mode checks the QNX idioms that
//! work and must pass; each defect is a mode of its own, run by an ignored test that fails
//! until the defect is fixed. The new headers are also compiled alone and together, in both
//! orders, as C99 and C++17 with `-pedantic`.
//!
//! Every program runs bounded in time and is killed on every exit path (`Running` kills and
//! reaps on drop); every file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, cflags, expect_pass, Lang, Link};
use procs::TempDir;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The bound on one run of the program.
const RUN_WITHIN: Duration = Duration::from_secs(60);
/// The checks the default mode makes.
const MIN_CHECKS: u32 = 44;

fn program(dir: &TempDir, lang: Lang) -> PathBuf {
    let exe = dir.join(&format!("review_c_abi-{lang:?}"));
    build(&[c_dir().join("review_c_abi.c")], &exe, lang, Link::Shared);
    exe
}

fn run_mode(mode: &str, min: u32) {
    let dir = TempDir::new("review-c-abi");
    let exe = program(&dir, Lang::C99);
    let args: Vec<&str> = if mode.is_empty() { vec![] } else { vec![mode] };
    expect_pass(&exe, &args, &[], min, RUN_WITHIN);
}

/// The idioms a QNX porter's program uses: `SYSPAGE_ENTRY(qtime)->cycles_per_sec`
/// arithmetic on `ClockCycles()` deltas, `ThreadCtl(_NTO_TCTL_IO, 0)` first,
/// `InterruptAttach(_NTO_INTR_FLAGS_TRK_MSK)` with a masking handler and an
/// `InterruptWait(0, NULL)` loop under a raise storm, `mmap_device_io` with `in8`/`out8`
/// loops, two mappings of one register block, 2000 maps and unmaps without descriptors kept,
/// procmgr_ability lists of real drivers, ConnectClientInfo/ConnectServerInfo errors and
/// errno, a forked child using each of them.
#[test]
fn the_idioms_of_a_qnx_driver_work_c99() {
    run_mode("", MIN_CHECKS);
}

#[test]
fn the_idioms_of_a_qnx_driver_work_cxx17() {
    let dir = TempDir::new("review-c-abi-cxx");
    let exe = program(&dir, Lang::Cxx17);
    expect_pass(&exe, &[], &[], MIN_CHECKS, RUN_WITHIN);
}

/// capi/src/neutrino.rs `client_info_out` writes `min(ngroups, groups the client has)`
/// groups: QNX's idiom `ConnectClientInfo(scoid, &ci, NGROUPS_MAX)` (8 on QNX, 65536 from
/// Linux's `<limits.h>`) writes past `struct _client_info` (12 words with 20 groups): a stack
/// overflow in the server, driven by the client's groups.
#[test]
fn connect_client_info_with_ngroups_max_stays_in_the_struct() {
    run_mode("ngroups_max", 3);
}

/// capi/src/procmgr.rs `ability_word`: `PROCMGR_AID_EOL` may carry only DENY, ALLOW, LOCK;
/// gdb's nto-procfs passes `ROOT | ALLOW | INHERIT_YES | EOL` and gets EINVAL.
#[test]
fn procmgr_ability_takes_inherit_on_the_eol_word() {
    run_mode("ability_eol_inherit", 2);
}

/// capi/src/procmgr.rs `ability_word`: a domain without an operation on `PROCMGR_AID_EOL` is
/// EINVAL; a public driver ends its list with `PROCMGR_ADN_NONROOT | PROCMGR_AID_EOL`.
#[test]
fn procmgr_ability_takes_a_domain_alone_on_the_eol_word() {
    run_mode("ability_eol_domain", 1);
}

/// The new headers, alone and all together in both orders, compile as C99, C11 and C++17
/// with `-Wall -Wextra -Werror -pedantic`.
#[test]
fn the_new_headers_compile_in_any_order_pedantic() {
    let dir = TempDir::new("review-c-abi-headers");
    let headers = [
        "sys/neutrino.h",
        "sys/syspage.h",
        "sys/procmgr.h",
        "sys/mman.h",
        "hw/inout.h",
        "qnxsim/interrupt.h",
    ];
    let mut sets: Vec<Vec<&str>> = headers.iter().map(|h| vec![*h]).collect();
    sets.push(headers.to_vec());
    sets.push(headers.iter().rev().copied().collect());
    let compilers = [
        (
            std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            "-std=c99",
            "c",
        ),
        (
            std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            "-std=c11",
            "c",
        ),
        (
            std::env::var("CXX").unwrap_or_else(|_| "c++".into()),
            "-std=c++17",
            "cc",
        ),
    ];
    for (i, set) in sets.iter().enumerate() {
        let mut text: String = set.iter().map(|h| format!("#include <{h}>\n")).collect();
        text.push_str("int main(void) { return 0; }\n");
        for (compiler, std, ext) in &compilers {
            let src = dir.join(&format!("h{i}.{ext}"));
            std::fs::write(&src, &text).expect("writing a source");
            let out = Command::new(compiler)
                .args([*std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", "-o"])
                .arg(src.with_extension("o"))
                .args(cflags())
                .arg(&src)
                .output()
                .unwrap_or_else(|e| panic!("running {compiler}: {e}"));
            assert!(
                out.status.success(),
                "{compiler} {std} on\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
