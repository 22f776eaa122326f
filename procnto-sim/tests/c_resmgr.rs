//! QNX's resource-manager layer from C (`<sys/resmgr.h>`, `<sys/iofunc.h>`): the threaded suite
//! `capi/tests/c/resmgr_suite.c` (a /dev/sample-like resource manager served by a thread pool,
//! its clients speaking the I/O protocol with raw kernel calls) on its own kernel, as C99
//! linked shared and static, and as C++17. Every process is bounded in time and killed on every
//! exit path; every file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_pass, Lang, Link};
use procs::TempDir;
use std::time::Duration;

/// The checks resmgr_suite.c makes at the least.
const SUITE_CHECKS: u32 = 95;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

fn suite(lang: Lang, link: Link) {
    let dir = TempDir::new("c-resmgr-suite");
    let exe = dir.join(&format!("resmgr_suite-{lang:?}-{link:?}"));
    build(&[c_dir().join("resmgr_suite.c")], &exe, lang, link);
    expect_pass(&exe, &[], &[], SUITE_CHECKS, RUN_WITHIN);
}

#[test]
fn resmgr_suite_c99_linked_shared() {
    suite(Lang::C99, Link::Shared);
}

#[test]
fn resmgr_suite_c99_linked_static() {
    suite(Lang::C99, Link::Static);
}

#[test]
fn resmgr_suite_cxx17_linked_shared() {
    suite(Lang::Cxx17, Link::Shared);
}
