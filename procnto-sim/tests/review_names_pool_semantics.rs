//! Review of names, the dispatch layer and thread pools against QNX's documented behaviour
//! (`capi/tests/c/review_names_pool_semantics.c`): the porter's `name_attach(NULL)` +
//! `MsgReceive` loop (`_IO_CONNECT`, `_PULSE_CODE_UNBLOCK`, `_PULSE_CODE_DISCONNECT`,
//! `name_close` under a REPLY-blocked thread, `name_detach` under blocked clients, a receive
//! buffer smaller than a pulse), names on a dispatch handle with `message_attach`/`pulse_attach`
//! handlers (overlaps, pulse ranges, the kernel's negative codes, `_IO_BASE`..`_IO_MAX`),
//! `dispatch_unblock`, `dispatch_block` when the channel goes, and thread pools (threads made
//! under bursts of blocked handlers for several water marks, `unblock_func` from destroy and
//! control, destroy with handlers blocked, `POOL_FLAG_USE_SELF`), on the program's own kernel;
//! and the same program as a name server and its client in two programs on a supervised kernel.
//! Its first run found three defects, fixed since (the program's header lists them). Every
//! process is bounded in time and killed on every exit path; every
//! file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_pass, expect_summary, Lang, Link, Running};
use common::*;
use procs::TempDir;
use std::time::Duration;

/// The checks the program makes at the least (its default build, one kernel).
const CHECKS: u32 = 95;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(150);
/// The program's own kernel, whatever the test's environment says.
const OWN_KERNEL: &[(&str, &str)] = &[("QNXSIM_KERNEL", "")];
/// The program's source.
const NAME: &str = "review_names_pool_semantics";

fn review(lang: Lang, link: Link) {
    let dir = TempDir::new("c-review-names-pool");
    let exe = dir.join(&format!("{NAME}-{lang:?}-{link:?}"));
    build(&[c_dir().join(format!("{NAME}.c"))], &exe, lang, link);
    expect_pass(&exe, &[], OWN_KERNEL, CHECKS, RUN_WITHIN);
}

#[test]
fn review_names_pool_semantics_c99_linked_shared() {
    review(Lang::C99, Link::Shared);
}

#[test]
fn review_names_pool_semantics_c99_linked_static() {
    review(Lang::C99, Link::Static);
}

#[test]
fn review_names_pool_semantics_cxx17_linked_shared() {
    review(Lang::Cxx17, Link::Shared);
}

/// A C name server (`name_attach(NULL)`, `MsgReceive` on `attach->chid`) and its client as two
/// programs on a supervised kernel: two `name_open`s (two `_IO_CONNECT`s), the client's pid in
/// `_msg_info`, ENOSYS for an `_IO_*` type, and a disconnect pulse for `name_close` and another
/// for the client's exit without it.
#[test]
fn a_name_server_and_its_client_in_two_programs() {
    let dir = TempDir::new("c-review-names-xproc");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let exe = dir.join(NAME);
    build(
        &[c_dir().join(format!("{NAME}.c"))],
        &exe,
        Lang::C99,
        Link::Shared,
    );
    let env = env(&socket);
    let name = "review/np/xproc";
    let mut server = Running::start(&exe, &["server", name], &env);
    server.ready();
    let client = Running::start(&exe, &["client", name], &env);
    expect_summary("client", client.finish(WITHIN), 6);
    expect_summary("server", server.finish(WITHIN), 4);
}
