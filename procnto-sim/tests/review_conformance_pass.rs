//! An outside tester's pass over the QNX reference (`../shared/reference/qnx-api.md`) through
//! the C API: `capi/tests/c/review_conformance_pass.c`, section by section (constants and
//! layouts, ChannelCreate/ConnectAttach and their errnos, every `_msg_info` and `_pulse` field,
//! the iov forms with empty and partial parts, MsgRead/MsgWrite past the end, the spent rcvid,
//! MsgError's EOK/ERESTART/-1, the one priority queue of pulses and messages, MsgDeliverEvent's
//! kinds, TimerTimeout's flags, result and `otime`, the unblock protocol, ChannelDestroy and
//! ConnectDetach with blocked threads, the death pulses, priority inheritance and boost, the
//! `_r` forms), compiled as C99 (libqnxsim linked shared and static) and as C++17, each run
//! bounded in time.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use std::time::Duration;

/// The checks the program makes at the least.
const MIN_CHECKS: u32 = 300;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(90);

c_suite_tests!("review_conformance_pass", MIN_CHECKS, RUN_WITHIN);
