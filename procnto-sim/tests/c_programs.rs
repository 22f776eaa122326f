//! C programs against libqnxsim: compiled by the system's C and C++ compilers with the strict
//! flags, linked shared and static, and run bounded in time.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_pass, Lang, Link};
use procs::TempDir;
use std::time::Duration;

#[test]
fn a_threaded_c_program_runs_on_its_own_kernel_in_c99_and_cxx17_shared_and_static() {
    let dir = TempDir::new("c-smoke");
    for (lang, link) in [
        (Lang::C99, Link::Shared),
        (Lang::Cxx17, Link::Shared),
        (Lang::C99, Link::Static),
    ] {
        let exe = dir.join(&format!("smoke-{lang:?}-{link:?}"));
        build(&[c_dir().join("smoke.c")], &exe, lang, link);
        expect_pass(&exe, &[], &[], 7, Duration::from_secs(20));
    }
}
