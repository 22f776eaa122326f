//! Review of `<sys/asyncmsg.h>` against QNX's documented asyncmsg behaviour
//! (`capi/tests/c/review_asyncmsg_semantics.c`): errnos and argument validation, synchronous
//! objects given to asyncmsg calls, per-connection order and fairness, the count and time
//! triggers (one set by `asyncmsg_connect_attr` on a connection attached without one: the
//! defect its first run found), callbacks (once each, err/buf/handle, order, thread, only after
//! a receiver took the message), EMSGSIZE, full queues, blocking flush, empty gets
//! (TimerTimeout, NULL ntime, a signal, a destroy), detach and channel destroy with messages
//! pending, putv, asyncmsg_malloc and concurrent producers, on the program's own kernel. Every
//! program is bounded in time and killed on every exit path; every file lives in a temporary
//! directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use std::time::Duration;

/// The program's own kernel, whatever the test's environment says.
const OWN_KERNEL: &[(&str, &str)] = &[("QNXSIM_KERNEL", "")];

c_suite_tests!(
    "review_asyncmsg_semantics", 100, Duration::from_secs(150), env = OWN_KERNEL;
    review_asyncmsg_semantics_c99_linked_shared,
    review_asyncmsg_semantics_c99_linked_static,
    review_asyncmsg_semantics_cxx17_linked_shared
);
