//! Adversarial review of the documentation's promises about the C ABI and a shared kernel
//! (docs/c-api.md, docs/deviations.md): `capi/tests/c/review_docs_claims.c`, one mode per group
//! of claims, each check naming the document and line it rests on. A mode that shows the
//! project differing from its docs is kept and marked `#[ignore = "DEFECT: ..."]`.
//!
//! Every program runs bounded in time and is killed on every exit path (`Running` kills and
//! reaps on drop); every file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_summary, Lang, Link, Running};
use common::Sup;
use procs::TempDir;
use std::path::PathBuf;
use std::time::Duration;

/// The bound on one run of the program.
const RUN_WITHIN: Duration = Duration::from_secs(60);

fn program(dir: &TempDir) -> PathBuf {
    let exe = dir.join("review_docs_claims");
    build(
        &[c_dir().join("review_docs_claims.c")],
        &exe,
        Lang::C99,
        Link::Shared,
    );
    exe
}

/// Runs one mode in a program of its own kernel; returns its stderr.
fn run_mode(mode: &str, extra: &[&str], env: &[(&str, &str)], min: u32) -> String {
    let dir = TempDir::new("review-docs-claims");
    let exe = program(&dir);
    let mut args = vec![mode];
    args.extend_from_slice(extra);
    let (status, out, err) = Running::start(&exe, &args, env).finish(RUN_WITHIN);
    expect_summary(
        &format!("review_docs_claims {mode}"),
        (status, out, err.clone()),
        min,
    );
    err
}

// docs/c-api.md:64, 69, 70, 76, 89, 482, 640-641, 788; docs/deviations.md:10, 622, 627, 663,
// 675, 812, 820, 845, 926: the sizes and values the headers promise.
#[test]
fn the_documented_sizes_and_values_hold() {
    run_mode("values", &[], &[], 24);
}

// docs/c-api.md:500-503 (slogf's result, its cut, its EINVALs and the stderr line
// `PROGRAM: slog MAJOR.MINOR SEVERITY: MESSAGE`), docs/deviations.md:841-845.
#[test]
fn slogf_returns_the_size_cuts_at_1023_and_writes_the_documented_stderr_line() {
    let err = run_mode("slog", &[], &[("QNXSIM_SLOG", "stderr")], 9);
    // _SLOGC_TEST's major code, minor 7, severity WARNING, message "hello 5".
    let line = err
        .lines()
        .find(|l| l.contains("hello 5"))
        .unwrap_or_else(|| panic!("no slog line in stderr:\n{err}"));
    let (prog, rest) = line.split_once(": ").expect("PROGRAM: ...");
    assert_eq!(prog, "review_docs_claims", "{line}");
    let rest = rest.strip_prefix("slog ").expect("slog MAJOR.MINOR");
    let (code, rest) = rest.split_once(' ').expect("MAJOR.MINOR SEVERITY");
    assert!(code.ends_with(".7"), "minor 7: {line}");
    assert_eq!(rest, "WARNING: hello 5", "{line}");
    // The cut message: 1023 x's on its line.
    assert!(
        err.lines()
            .any(|l| l.ends_with(&format!(": {}", "x".repeat(1023)))),
        "the long message, cut at 1023 bytes"
    );
}

// docs/c-api.md:724-726: devctl/ionotify on a Linux fd and on no fd.
#[test]
fn devctl_and_ionotify_on_linux_fds_answer_as_documented() {
    run_mode("fds", &[], &[], 6);
}

// docs/c-api.md:773, 782, 785, 789; docs/deviations.md:684-688, 705: scheduling calls and
// ThreadCtl.
#[test]
fn scheduling_calls_and_thread_ctl_answer_as_documented() {
    run_mode("sched", &[], &[], 18);
}

// docs/deviations.md, getprio/setprio: "another process's pid names its thread 1, as on QNX; a
// pid no live process of the kernel has is ESRCH" (the program's parent, the test, is outside
// its kernel). Another program's thread 1: capi/tests/c/porter_names_client.c's probe.
#[test]
fn getprio_of_a_process_outside_the_kernel_is_esrch() {
    run_mode("getprio_other", &[], &[], 2);
}

// docs/c-api.md:488-490, docs/deviations.md:790-801: ClockTime, ClockPeriod, ClockCycles.
#[test]
fn clock_calls_answer_as_documented() {
    run_mode("clock", &[], &[], 8);
}

// docs/c-api.md:105-115, docs/deviations.md:731-736: TimerInfo, TIMER_ABSTIME, the default
// SIGALRM event and _NTO_TIMEOUT_NANOSLEEP.
#[test]
fn timers_answer_as_documented() {
    run_mode("timers", &[], &[], 20);
}

// docs/c-api.md:207-223 and 330, docs/deviations.md:774-781: name_attach's errors,
// name_open's _IO_CONNECT, name_close's disconnect, name_detach.
#[test]
fn names_answer_as_documented() {
    run_mode("names", &[], &[], 20);
}

// docs/c-api.md:530-540: spawn's results and errors.
#[test]
fn spawn_answers_as_documented() {
    let dir = TempDir::new("review-docs-claims-spawn");
    let d = dir.join("");
    run_mode("spawn", &[d.to_str().unwrap()], &[], 10);
}

// docs/deviations.md:745-746 (more than 65,536 iov parts, a NULL buffer: EFAULT) and 767-769
// (asyncmsg's recvbuf_callback ENOTSUP, NULL attr EFAULT).
#[test]
fn buffers_and_asyncmsg_arguments_are_checked_as_documented() {
    run_mode("iov", &[], &[], 5);
}

// docs/c-api.md:491-494: procmgr_ability for the caller, another process and none.
#[test]
fn procmgr_ability_answers_as_documented() {
    run_mode("procmgr", &[], &[], 3);
}

// docs/deviations.md:447-449: "Simulated processes made inside a program (process_create on a
// shared kernel ...) get pids above every Linux pid (from 4194305)".
#[test]
fn processes_made_inside_a_program_of_a_shared_kernel_get_pids_from_4194305() {
    let dir = TempDir::new("review-docs-claims-pids");
    let socket = common::socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let k = common::watch(&socket);
    let a = k.process_create().expect("process_create");
    let b = k.process_create().expect("process_create");
    assert!(a.pid >= 4_194_305, "pid {}", a.pid);
    assert!(b.pid >= 4_194_305 && b.pid != a.pid, "pid {}", b.pid);
    let _ = k.process_destroy(a);
    let _ = k.process_destroy(b);
}
