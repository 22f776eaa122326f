//! The scheduling calls from C (`capi/tests/c/sched_suite.c`): `SchedGet`, `SchedSet`,
//! `SchedYield` and their `_r` forms, `pthread_setschedparam`, `pthread_getschedparam`,
//! `pthread_setschedprio`, `pthread_attr_setschedparam` with `PTHREAD_EXPLICIT_SCHED` and
//! `PTHREAD_INHERIT_SCHED`, `sched_get_priority_min`/`max`, `sched_setparam`,
//! `sched_getparam`, `sched_setscheduler`, `sched_getscheduler`: every errno, the priority a
//! server sees and takes, a server's boost and its return, a send queue in the order of
//! priorities set so (changed while queued too), compiled as C99 (linked shared and static)
//! and as C++17. Also: a program that set simulated `SCHED_RR` 50 on its threads leaves
//! every Linux thread of it `SCHED_OTHER` (read from `/proc/PID/task/*/stat`, which matters
//! when the test runs as root, where a real `SCHED_RR` would be granted).
//!
//! Every program runs bounded in time and is killed on every exit path (`Running` kills and
//! reaps on drop); every file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build_suite, expect_pass, Lang, Link, Running};
use procs::TempDir;
use std::time::Duration;

/// The checks sched_suite.c makes at the least.
const MIN_CHECKS: u32 = 148;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

/// With `QNXSIM_KERNEL` naming a kernel that cannot be reached (a memory file in a directory
/// that does not exist), `pthread_create` still makes a thread of the default scheduling (its
/// first QNX call fails, as before threads were attached at their creation) and refuses an
/// explicit attribute.
#[test]
fn with_no_kernel_to_be_had_a_default_thread_is_made_all_the_same() {
    let dir = TempDir::new("c-sched-unreachable");
    let exe = build_suite(&dir, "sched_suite", Lang::C99, Link::Shared);
    let nowhere = dir.join("missing").join("kernel");
    let nowhere = nowhere.display().to_string();
    expect_pass(
        &exe,
        &["unreachable"],
        &[(userlib::current::KERNEL_ENV, nowhere.as_str())],
        3,
        RUN_WITHIN,
    );
}

c_suite_tests!("sched_suite", MIN_CHECKS, RUN_WITHIN);

/// The policy (field 41) and real-time priority (field 40) of `/proc/PID/task/TID/stat`.
fn policy_of(stat: &str) -> (u32, u32) {
    // The command (field 2) may hold spaces: count from the parenthesis that ends it.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3.
    let field = |n: usize| fields[n - 3].parse::<u32>().expect("a number");
    (field(41), field(40))
}

/// `pthread_setschedparam(SCHED_RR, 50)` on two threads of a program sets their simulated
/// policy and priority only: every Linux thread of the program stays `SCHED_OTHER` (0) at
/// real-time priority 0. Run as root, where Linux would grant a real `SCHED_RR`; as another
/// user the check is made all the same.
#[test]
fn the_programs_linux_threads_stay_sched_other() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let dir = TempDir::new("c-sched-hold");
    for link in [Link::Shared, Link::Static] {
        let exe = build_suite(&dir, "sched_suite", Lang::C99, link);
        let mut run = Running::start(&exe, &["hold"], &[] as &[(&str, &str)]);
        run.ready();
        let tasks: Vec<_> = std::fs::read_dir(format!("/proc/{}/task", run.pid()))
            .expect("the program's threads")
            .flatten()
            .collect();
        assert!(tasks.len() >= 2, "{link:?}: its two threads at least");
        for t in tasks {
            let stat = std::fs::read_to_string(t.path().join("stat")).expect("a thread's stat");
            assert_eq!(
                policy_of(&stat),
                (0, 0),
                "{link:?} (root: {root}): a Linux thread of the program is not SCHED_OTHER 0: {stat}"
            );
        }
        run.kill();
    }
}
