//! A typical QNX `/dev/something` resource manager, ported as written for QNX 7.1
//! (`capi/tests/c/porter_dev.c`: `resmgr_attach` with `iofunc_func_init`'s defaults, its own
//! open, io_read, io_write, io_devctl and close_ocb, and a second path with every default), in
//! a program of its own on a supervised kernel, used by `capi/tests/c/porter_dev_client.c`
//! with plain POSIX calls (open modes, `O_TRUNC`, `O_APPEND`, lseek, reads past the end,
//! writes extending the size, opens with their own offsets, devctl in/out/both/none, fcntl,
//! dup, fstat, stat, close, EACCES once it gave up root), its results compared with QNX's
//! iofunc defaults. A client killed while it holds the device open has its OCB closed (the
//! server checks it before it ends). C99, and the same sources as C++17. Every process is
//! bounded in time and killed on every exit path; every file lives in a temporary directory
//! removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_summary, Lang, Link, Running};
use common::*;
use procs::TempDir;

/// The checks porter_dev.c makes.
const SERVER_CHECKS: u32 = 10;
/// The checks porter_dev_client.c makes at the least (80 as root, which it gives up
/// part-way to be refused EACCES; 76 run by another user).
const CLIENT_CHECKS: u32 = 76;

fn run(lang: Lang) {
    let dir = TempDir::new("c-porter-dev");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let server_exe = dir.join("porter_dev");
    let client_exe = dir.join("porter_dev_client");
    build(
        &[c_dir().join("porter_dev.c")],
        &server_exe,
        lang,
        Link::Shared,
    );
    build(
        &[c_dir().join("porter_dev_client.c")],
        &client_exe,
        lang,
        Link::Shared,
    );
    let path = format!("/dev/qnxsim-test-porter-{lang:?}").to_lowercase();
    let env = env(&socket);
    let mut server = Running::start(&server_exe, &[&path], &env);
    server.ready();

    let client = Running::start(&client_exe, &[&path], &env);
    expect_summary("porter_dev_client", client.finish(WITHIN), CLIENT_CHECKS);

    // A client killed while it holds the device open (its OCB marked): the supervisor's
    // teardown disconnects it, and the layer runs the server's close_ocb for it.
    let mut holder = Running::start(&client_exe, &[&path, "hold"], &env);
    assert_eq!(holder.line(), "holding");
    let status = holder.kill();
    assert!(!status.success(), "{status}");

    expect_summary("porter_dev", server.finish(WITHIN), SERVER_CHECKS);
}

#[test]
fn a_ported_dev_resource_manager_in_c99() {
    run(Lang::C99);
}

#[test]
fn a_ported_dev_resource_manager_in_cxx17() {
    run(Lang::Cxx17);
}

#[test]
fn bad_arguments_are_refused_with_status_2() {
    let dir = TempDir::new("c-porter-dev-usage");
    for (name, args) in [
        ("porter_dev", &["/dev/x", "extra"][..]),
        ("porter_dev_client", &["/dev/x", "other"][..]),
    ] {
        let exe = dir.join(name);
        build(
            &[c_dir().join(format!("{name}.c"))],
            &exe,
            Lang::C99,
            Link::Shared,
        );
        let out = std::process::Command::new(&exe)
            .args(args)
            .env_remove(userlib::current::KERNEL_ENV)
            .output()
            .unwrap_or_else(|e| panic!("running {name}: {e}"));
        assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("usage: {name}")),
            "{name}: {out:?}"
        );
    }
}
