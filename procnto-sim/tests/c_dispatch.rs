//! QNX's dispatch layer from C (`<sys/dispatch.h>`: `dispatch_create`, `message_attach`,
//! `pulse_attach`, `dispatch_block`, `dispatch_handler`, ...): the threaded suite
//! `capi/tests/c/dispatch_suite.c` on its own kernel (C99 linked shared and static, and C++17),
//! and the C dispatch name server `capi/tests/c/dispatch_server.c` in one program with the C
//! name_open client `capi/tests/c/name_client.c` in another, on a supervised kernel. Every
//! process is bounded in time and killed on every exit path (`Running` and `Sup` kill on drop);
//! every socket lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, build_shared, c_dir, expect_pass, expect_summary, Lang, Link, Running};
use common::*;
use procs::TempDir;
use std::time::Duration;

/// The checks dispatch_suite.c makes at the least.
const SUITE_CHECKS: u32 = 40;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

fn suite(lang: Lang, link: Link) {
    let dir = TempDir::new("c-dispatch-suite");
    let exe = dir.join(&format!("dispatch_suite-{lang:?}-{link:?}"));
    build(&[c_dir().join("dispatch_suite.c")], &exe, lang, link);
    expect_pass(&exe, &[], &[], SUITE_CHECKS, RUN_WITHIN);
}

#[test]
fn dispatch_suite_c99_linked_shared() {
    suite(Lang::C99, Link::Shared);
}

#[test]
fn dispatch_suite_c99_linked_static() {
    suite(Lang::C99, Link::Static);
}

#[test]
fn dispatch_suite_cxx17_linked_shared() {
    suite(Lang::Cxx17, Link::Shared);
}

/// The checks name_client.c and dispatch_server.c make at the least.
const CLIENT_CHECKS: u32 = 18;
const SERVER_CHECKS: u32 = 8;

#[test]
fn a_c_client_finds_a_c_dispatch_server_by_its_name_on_a_supervised_kernel() {
    let dir = TempDir::new("c-dispatch-xproc");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let server_exe = build_shared(&dir, "dispatch_server");
    let client_exe = build_shared(&dir, "name_client");
    let env = env(&socket);
    let name = "qnxsim/test/dispatch-echo";
    let mut server = Running::start(&server_exe, &[name], &env);
    server.ready();
    let client = Running::start(&client_exe, &[name], &env);
    expect_summary("name_client", client.finish(WITHIN), CLIENT_CHECKS);
    // The server ends once its client's connection goes.
    expect_summary("dispatch_server", server.finish(WITHIN), SERVER_CHECKS);
}
