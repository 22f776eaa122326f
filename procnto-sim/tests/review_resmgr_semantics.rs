//! Review of the C resource-manager framework against QNX's documented behaviour
//! (`capi/tests/c/review_resmgr_semantics.c`): the iofunc defaults, iofunc_open's permission
//! checks, lseek, stat, devctl's conventions, the handler return forms, `_RESMGR_NOREPLY` with a
//! later reply, `resmgr_msgread`/`msgwrite` offsets, the unblock path (signal, kernel timeout,
//! `_RESMGR_DEFAULT`), OCB counts and `resmgr_detach` (with a client blocked), on the program's
//! own kernel, including the two defects its first run found (an `open(O_CREAT)`'s mode reached
//! the server without the client's umask; `stat(path)` returned before the combine message's
//! `close_ocb` ran). Every process is bounded in time and killed on every exit path; every file
//! lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use std::time::Duration;

/// The program's own kernel, whatever the test's environment says.
const OWN_KERNEL: &[(&str, &str)] = &[("QNXSIM_KERNEL", "")];

c_suite_tests!(
    "review_resmgr_semantics", 150, Duration::from_secs(90), env = OWN_KERNEL;
    review_resmgr_semantics_c99_linked_shared,
    review_resmgr_semantics_c99_linked_static,
    review_resmgr_semantics_cxx17_linked_shared
);
