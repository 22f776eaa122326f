//! The C API given bad input (`capi/tests/c/bad_input.c`): the ranked calls of QNX programs
//! (kernel calls and their `_r` forms, names, dispatch, resource managers and `devctl`, thread
//! pools) with NULL pointers, negative or huge lengths and counts, ids that name nothing,
//! unknown flags, objects destroyed already and double frees; each expects QNX's errno (or
//! the one `docs/deviations.md` documents) and no crash, abort or hang. A threaded program on
//! its own kernel, compiled as C99 (linked shared and static) and as C++17, run bounded in
//! time.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_pass, Lang, Link};
use procs::TempDir;
use std::time::Duration;

/// The checks bad_input.c makes at the least.
const MIN_CHECKS: u32 = 250;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

fn bad_input(lang: Lang, link: Link) {
    let dir = TempDir::new("c-bad-input");
    let exe = dir.join(&format!("bad_input-{lang:?}-{link:?}"));
    build(&[c_dir().join("bad_input.c")], &exe, lang, link);
    expect_pass(&exe, &[], &[], MIN_CHECKS, RUN_WITHIN);
}

#[test]
fn bad_input_c99_linked_shared() {
    bad_input(Lang::C99, Link::Shared);
}

#[test]
fn bad_input_c99_linked_static() {
    bad_input(Lang::C99, Link::Static);
}

#[test]
fn bad_input_cxx17_linked_shared() {
    bad_input(Lang::Cxx17, Link::Shared);
}
