//! ConnectClientInfo, ConnectServerInfo, ConnectFlags and MsgCurrent from C
//! (`capi/tests/c/connect_info_suite.c`): the
//! suite on a program's own kernel, compiled as C99 (linked shared and static) and as C++17;
//! two programs on a supervised kernel, where the server learns the client program's Linux pid
//! and uid; and `<sys/neutrino.h>` alone declaring what the calls need. Every program runs
//! bounded in time and is killed on every exit path; every file lives in a temporary directory
//! removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, build_suite, expect_summary, Lang, Link, Running};
use common::*;
use procs::TempDir;
use std::time::Duration;

/// The checks the one-program suite makes at the least.
const MIN_CHECKS: u32 = 80;
/// The checks of its server and client roles, at the least.
const SERVER_CHECKS: u32 = 10;
const CLIENT_CHECKS: u32 = 5;
/// The bound on one run.
const RUN_WITHIN: Duration = Duration::from_secs(60);

c_suite_tests!(
    "connect_info_suite", MIN_CHECKS, RUN_WITHIN;
    connect_info_c99_linked_shared, connect_info_c99_linked_static, connect_info_cxx17_linked_shared
);

/// The suite once more as an unprivileged user (uid and gid 65534, no groups) when the test
/// runs as root: the ids the server learns, and `iofunc_client_info`'s, must be the client's
/// own, which as root any root process's would match (`iofunc_client_info` once read the
/// Linux process whose pid was the simulated one's, a root daemon's here).
#[test]
fn connect_info_as_an_unprivileged_user() {
    let dir = TempDir::new("c-connect-info-nonroot");
    let exe = build_suite(&dir, "connect_info_suite", Lang::C99, Link::Static);
    let Some(ran) = common::cc::as_nobody(&dir, &exe, &[], RUN_WITHIN) else {
        return;
    };
    expect_summary("connect_info_suite as uid 65534", ran, MIN_CHECKS);
}

/// The server's "ready PID CHID": (PID, CHID).
fn ready(server: &mut Running) -> (String, String) {
    let line = server.line();
    let rest = line
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let (pid, chid) = rest
        .split_once(' ')
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    (pid.to_string(), chid.to_string())
}

#[test]
fn across_two_programs_the_server_learns_the_client_programs_linux_pid_and_uid() {
    let dir = TempDir::new("c-connect-info-xproc");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let exe = build_suite(&dir, "connect_info_suite", Lang::C99, Link::Shared);
    let env = env(&socket);
    let mut server = Running::start(&exe, &["server"], &env);
    let (pid, chid) = ready(&mut server);
    assert_eq!(
        pid,
        server.pid().to_string(),
        "a program's pid is its Linux pid"
    );
    let client = Running::start(&exe, &["client", &pid, &chid], &env);
    let client_pid = client.pid();
    let said = server.line();
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(said, format!("client {client_pid} uid {uid}"));
    // The client first (reaped), so that the server sees it gone.
    expect_summary("client", client.finish(WITHIN), CLIENT_CHECKS);
    expect_summary("server", server.finish(WITHIN), SERVER_CHECKS);
}

/// What the calls need, from `<sys/neutrino.h>` alone (QNX declares it there).
const ALONE: &str = r#"#include <sys/neutrino.h>
int main(void) {
    struct _client_info ci;
    struct _cred_info *cred = &ci.cred;
    struct _server_info si;
    int (*cci)(int, struct _client_info *, int) = ConnectClientInfo;
    int (*csi)(pid_t, int, struct _server_info *) = ConnectServerInfo;
    int (*cci_r)(int, struct _client_info *, int) = ConnectClientInfo_r;
    int (*csi_r)(pid_t, int, struct _server_info *) = ConnectServerInfo_r;
    if (sizeof ci != 76 || sizeof *cred != 60 || sizeof si != 64 || NGROUPS_MAX_QNX != 8) return 1;
    if (_NTO_CI_ENDIAN_BIG != 1 || _NTO_CI_BKGND_PGRP != 4 || _NTO_CI_ORPHAN_PGRP != 8 ||
        _NTO_CI_STOPPED != 0x80) return 2;
    if (cci(-1, &ci, NGROUPS_MAX_QNX) != 0 || ci.pid != getpid()) return 3;
    if (cci_r(-1, &ci, 0) != 0 || csi_r(0, -1, &si) != -EINVAL) return 4;
    if (csi(0, -1, &si) != -1 || errno != EINVAL) return 5;
    return 0;
}
"#;

#[test]
fn sys_neutrino_h_alone_declares_the_structs_and_the_calls() {
    let dir = TempDir::new("c-connect-info-header");
    for (lang, name) in [(Lang::C99, "alone.c"), (Lang::Cxx17, "alone.cc")] {
        let src = dir.join(name);
        std::fs::write(&src, ALONE).expect("writing a source");
        let exe = dir.join(&format!("alone-{lang:?}"));
        build(&[src], &exe, lang, Link::Shared);
        let (status, out, err) =
            Running::start(&exe, &[], &[] as &[(&str, &str)]).finish(RUN_WITHIN);
        assert!(
            status.success(),
            "{lang:?}: {status}\nstdout:\n{out}\nstderr:\n{err}"
        );
    }
}
