//! Review of timers, kernel timeouts, clocks and signal events from C against QNX's documented
//! behaviour (`capi/tests/c/review_timers_semantics.c`): the `SIGEV_*` macros and flags,
//! pulse timers (code, value, priority; relative, absolute past and future, both clocks;
//! periodic, disarmed, deleted with a pulse queued; `timer_gettime`, `timer_getoverrun`),
//! `TimerCreate`/`TimerSettime`/`TimerInfo`/`TimerDestroy` and their errnos, `TimerTimeout`
//! (NULL, zero and absolute times, the flags it returns, its one-shot life, disarming),
//! `ClockTime`, `ClockCycles`, `ClockPeriod`, `delay()` interrupted, `SIGEV_SIGNAL_THREAD` and
//! `SIGEV_SIGNAL_CODE` through `MsgDeliverEvent` to the right thread, `SignalKill` to a thread
//! and a process, and the `_r` forms; compiled as C99 (linked shared and static) and as C++17,
//! on the program's own kernel.
//!
//! Its first run found nine defects, fixed since (the program's header lists them).
//!
//! Every program runs bounded in time and is killed on every exit path; every file lives in a
//! temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use std::time::Duration;

/// The checks the program makes at the least.
const MIN_CHECKS: u32 = 150;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(120);
/// The program's own kernel, whatever the test's environment says.
const OWN_KERNEL: &[(&str, &str)] = &[("QNXSIM_KERNEL", "")];

c_suite_tests!("review_timers_semantics", MIN_CHECKS, RUN_WITHIN, env = OWN_KERNEL;
    review_timers_c99_linked_shared, review_timers_c99_linked_static,
    review_timers_cxx17_linked_shared);
