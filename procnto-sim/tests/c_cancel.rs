//! `pthread_cancel` of a thread blocked in a kernel call, from C (`capi/tests/c/cancel_suite.c`):
//! QNX's kernel calls that are cancellation points (`MsgSend*` but the `*nc` forms,
//! `MsgReceive*`, `InterruptWait`, `delay()`, the sleeps) end and the thread is cancelled
//! (cleanup handlers, C++ destructors), with QNX's rules for its exchange (a SEND-blocked
//! message withdrawn unseen, a REPLY-blocked client released at once or, on an
//! `_NTO_CHF_UNBLOCK` channel, once its server answers the unblock pulse); `MsgSendnc` and a
//! thread with cancellation disabled are not ended; a thread in `MsgReceive` cancelled at 100
//! random moments never hangs; the kernel's threads and queues are as before. Compiled as C99
//! (linked shared and static) and C++17, on a program's own kernel and on a supervised one.
//!
//! Every program runs bounded in time and is killed on every exit path (`Running` kills and
//! reaps on drop); every file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build_suite, expect_pass, Lang, Link};
use common::*;
use procs::TempDir;
use std::time::Duration;

/// The checks cancel_suite.c makes (C99; C++17 adds one per case).
const MIN_CHECKS: u32 = 104;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(90);

c_suite_tests!("cancel_suite", MIN_CHECKS, RUN_WITHIN);

/// The suite as a program of a kernel a supervisor keeps (its threads and the kernel's
/// cancellation go through the shared region).
#[test]
fn suite_on_a_supervised_kernel() {
    let dir = TempDir::new("c-cancel-shared");
    let exe = build_suite(&dir, "cancel_suite", Lang::C99, Link::Shared);
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let env = env(&socket);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    expect_pass(&exe, &[], &env, MIN_CHECKS, RUN_WITHIN);
}
