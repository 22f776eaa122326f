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

use common::cc::{build, c_dir, expect_pass, Lang, Link};
use procs::TempDir;
use std::time::Duration;

/// The checks the program makes at the least.
const CHECKS: u32 = 150;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(90);
/// The program's own kernel, whatever the test's environment says.
const OWN_KERNEL: &[(&str, &str)] = &[("QNXSIM_KERNEL", "")];

/// Builds the program and runs it: it must fail no check.
fn review(lang: Lang, link: Link) {
    let dir = TempDir::new("c-review-resmgr-semantics");
    let exe = dir.join(&format!("review_resmgr_semantics-{lang:?}-{link:?}"));
    build(
        &[c_dir().join("review_resmgr_semantics.c")],
        &exe,
        lang,
        link,
    );
    expect_pass(&exe, &[], OWN_KERNEL, CHECKS, RUN_WITHIN);
}

#[test]
fn review_resmgr_semantics_c99_linked_shared() {
    review(Lang::C99, Link::Shared);
}

#[test]
fn review_resmgr_semantics_c99_linked_static() {
    review(Lang::C99, Link::Static);
}

#[test]
fn review_resmgr_semantics_cxx17_linked_shared() {
    review(Lang::Cxx17, Link::Shared);
}
