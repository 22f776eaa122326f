//! `nanosleep()`, `clock_nanosleep()`, `sleep()` and `usleep()` from C
//! (`capi/tests/c/sleep_suite.c`), through libqnxsim's `<time.h>` and `<unistd.h>`: the
//! suite's results and errors (C99 linked shared and static, C++17); a thread of a program on a
//! shared kernel sleeping in each call (and in C++'s `std::this_thread::sleep_for`) is
//! NANOSLEEP-blocked in the kernel, as the kernel and `pidin-sim` show it, where it showed
//! RUNNING; a program that only sleeps starts no kernel.
//!
//! Every program runs bounded in time and is killed on every exit path (`Running` kills and
//! reaps on drop); every file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build_suite, Lang, Link, Running};
use common::*;
use kernel_sim::ThreadState;
use procs::TempDir;
use std::time::{Duration, Instant};

/// The checks sleep_suite.c makes.
const MIN_CHECKS: u32 = 49;
/// The bound on one run of it (it sleeps about 2 s).
const RUN_WITHIN: Duration = Duration::from_secs(60);

c_suite_tests!("sleep_suite", MIN_CHECKS, RUN_WITHIN);

/// The "sleeping TID CALL" lines of a `states` run, up to its "ready": (tid, call).
fn sleepers(p: &mut Running) -> Vec<(i32, String)> {
    let mut v = Vec::new();
    loop {
        let line = p.line();
        if line == "ready" {
            return v;
        }
        let mut w = line.split_whitespace();
        assert_eq!(w.next(), Some("sleeping"), "{line:?}");
        let tid = w.next().and_then(|t| t.parse().ok()).expect("a tid");
        v.push((tid, w.next().expect("a call").to_string()));
    }
}

/// Each call's thread, in a program on a supervised kernel, is NANOSLEEP-blocked in the kernel,
/// and `pidin-sim` lists it so.
fn sleepers_show_nanosleep(lang: Lang) {
    let dir = TempDir::new(&format!("c-sleep-states-{lang:?}"));
    let exe = build_suite(&dir, "sleep_suite", lang, Link::Shared);
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let k = watch(&socket);
    let mut p = Running::start(&exe, &["states"], &env(&socket));
    let pid = p.pid() as i32;
    let threads = sleepers(&mut p);
    let calls = if lang == Lang::Cxx17 { 5 } else { 4 };
    assert_eq!(threads.len(), calls, "{threads:?}");
    for (tid, call) in &threads {
        // (The thread prints its line just before it sleeps.)
        let until = Instant::now() + WITHIN;
        loop {
            let state = k.thread_info(pid, *tid).map(|i| i.state);
            if state == Ok(ThreadState::Nanosleep) {
                break;
            }
            assert!(
                Instant::now() < until,
                "{lang:?}: the thread in {call} (pid {pid} tid {tid}) is {state:?}\n{}",
                k.listing()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let (status, out, err) = run_pidin(&["--kernel", &socket.display().to_string()]);
    assert!(status.success(), "pidin-sim: {status}\n{err}");
    // (Its thread table: PID TID PRI BASE STATE ...; the process table's lines have numbers
    // where the state is.)
    for (tid, call) in &threads {
        let state = out
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|w| {
                w.len() >= 5
                    && w[0] == pid.to_string()
                    && w[1] == tid.to_string()
                    && w[4].chars().all(|c| c.is_ascii_uppercase())
            })
            .map(|w| w[4].to_string())
            .unwrap_or_else(|| panic!("no thread line of pid {pid} tid {tid} ({call}) in\n{out}"));
        assert_eq!(state, "NANOSLEEP", "{call}: pid {pid} tid {tid}\n{out}");
    }
    p.kill();
}

#[test]
fn threads_in_each_sleep_call_are_nanosleep_blocked_in_the_kernel_c99() {
    sleepers_show_nanosleep(Lang::C99);
}

#[test]
fn threads_in_each_sleep_call_and_sleep_for_are_nanosleep_blocked_in_the_kernel_cxx17() {
    sleepers_show_nanosleep(Lang::Cxx17);
}

/// A program that sleeps with each call and makes no kernel call sleeps in Linux's calls: it
/// gets their results, and no supervisor is started for it (the socket its environment names
/// is never made).
#[test]
fn a_program_that_only_sleeps_joins_no_kernel() {
    let dir = TempDir::new("c-sleep-plain");
    let exe = build_suite(&dir, "sleep_suite", Lang::C99, Link::Shared);
    let socket = socket_in(&dir);
    let (status, out, err) = Running::start(&exe, &["plain"], &env(&socket)).finish(RUN_WITHIN);
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert_eq!(out.trim(), "slept 0 0 0 0", "{err}");
    assert!(
        !socket.exists(),
        "sleeping started a kernel at {}",
        socket.display()
    );
}
