//! QNX's `spawn*()` family from C (`capi/tests/c/spawn_suite.c`): every form (`spawnl`,
//! `spawnle`, `spawnlp`, `spawnlpe`, `spawnv`, `spawnve`, `spawnvp`, `spawnvpe`) in every mode
//! (`P_WAIT`, `P_NOWAIT`, `P_NOWAITO`, `P_OVERLAY`), their results (P_WAIT: the child's status
//! as `wait()` reports it), the arguments and environment the child gets, P_OVERLAY keeping
//! the pid, P_NOWAITO leaving no zombie, every errno, and two C programs on one supervised
//! kernel, the second spawned by the first and sending to it (also after overlaying itself);
//! compiled as C99 (linked shared and static) and as C++17. Also the suite without a shared
//! kernel (the checks across programs skipped, the rest the same).
//!
//! Every program runs bounded in time and is killed on every exit path (`Running` kills and
//! reaps on drop, the suite's children die with it); every file (the programs, the kernel's
//! socket) lives in a temporary directory removed on every exit path; after each run, no
//! program of that directory still runs.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build_suite, expect_pass, Lang, Link};
use common::{env, socket_in, wait_until, Sup};
use procs::TempDir;
use std::path::Path;
use std::time::Duration;

/// The checks spawn_suite.c makes on a shared kernel at the least, and without one.
const MIN_CHECKS: u32 = 239;
const MIN_CHECKS_ALONE: u32 = 224;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

/// The pids of the processes whose program lies in `dir` (what a run might leave behind).
fn running_from(dir: &Path) -> Vec<i32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.starts_with(dir))
        })
        .collect()
}

/// Runs the suite (on a supervised kernel in its directory if `shared`) and checks that it
/// passed and that none of its children outlived it.
fn suite(lang: Lang, link: Link, shared: bool) {
    let dir = TempDir::new("c-spawn");
    let exe = build_suite(&dir, "spawn_suite", lang, link);
    let socket = socket_in(&dir);
    let _sup = shared.then(|| Sup::start(&socket, &[]));
    let vars = if shared { env(&socket) } else { Vec::new() };
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let min = if shared { MIN_CHECKS } else { MIN_CHECKS_ALONE };
    expect_pass(&exe, &[], &vars, min, RUN_WITHIN);
    let home = exe.parent().expect("the suite's directory").to_path_buf();
    wait_until("the suite's children have all ended", || {
        running_from(&home).is_empty()
    });
}

#[test]
fn suite_c99_linked_shared() {
    suite(Lang::C99, Link::Shared, true);
}

#[test]
fn suite_c99_linked_static() {
    suite(Lang::C99, Link::Static, true);
}

#[test]
fn suite_cxx17_linked_shared() {
    suite(Lang::Cxx17, Link::Shared, true);
}

#[test]
fn suite_c99_without_a_shared_kernel() {
    suite(Lang::C99, Link::Shared, false);
}
