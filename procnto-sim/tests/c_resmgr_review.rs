//! Review checks of libqnxsim's C resource-manager layer and interposed file calls
//! (`capi/tests/c/resmgr_review.c`): a combine message whose last part sits near the end of
//! the receive buffer, and an fd of a resource manager closed behind libqnxsim's back whose
//! number Linux reuses. Every process is bounded in time and killed on every exit path; every
//! file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_pass, Lang, Link};
use procs::TempDir;
use std::time::Duration;

/// The checks resmgr_review.c makes at the least.
const CHECKS: u32 = 20;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

fn review(lang: Lang, link: Link) {
    let dir = TempDir::new("c-resmgr-review");
    let exe = dir.join(&format!("resmgr_review-{lang:?}-{link:?}"));
    build(&[c_dir().join("resmgr_review.c")], &exe, lang, link);
    expect_pass(&exe, &[], &[], CHECKS, RUN_WITHIN);
}

#[test]
fn resmgr_review_c99_linked_shared() {
    review(Lang::C99, Link::Shared);
}

#[test]
fn resmgr_review_c99_linked_static() {
    review(Lang::C99, Link::Static);
}
