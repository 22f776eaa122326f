//! QNX's `select_attach` from C (`<sys/dispatch.h>`: `select_attach`, `select_detach`,
//! `select_rearm` over Linux fds): the suite `capi/tests/c/select_suite.c` on its own kernel,
//! C99 linked shared and static, and C++17. Every run is bounded in time and killed on every
//! exit path; every build lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_pass, Lang, Link};
use procs::TempDir;
use std::time::Duration;

/// The checks select_suite.c makes at the least.
const SUITE_CHECKS: u32 = 60;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

fn suite(lang: Lang, link: Link) {
    let dir = TempDir::new("c-select-suite");
    let exe = dir.join(&format!("select_suite-{lang:?}-{link:?}"));
    build(&[c_dir().join("select_suite.c")], &exe, lang, link);
    expect_pass(&exe, &[], &[], SUITE_CHECKS, RUN_WITHIN);
}

#[test]
fn select_suite_c99_linked_shared() {
    suite(Lang::C99, Link::Shared);
}

#[test]
fn select_suite_c99_linked_static() {
    suite(Lang::C99, Link::Static);
}

#[test]
fn select_suite_cxx17_linked_shared() {
    suite(Lang::Cxx17, Link::Shared);
}
