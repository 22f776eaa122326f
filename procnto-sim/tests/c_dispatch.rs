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

use common::cc::{build, c_dir, expect_pass, summary, Lang, Link, Running};
use common::*;
use procs::TempDir;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

/// A program killed and reaped on drop, whose stdout is read line by line.
struct Server {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    out: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_c_client_finds_a_c_dispatch_server_by_its_name_on_a_supervised_kernel() {
    let dir = TempDir::new("c-dispatch-xproc");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let server_exe = dir.join("dispatch_server");
    let client_exe = dir.join("name_client");
    build(
        &[c_dir().join("dispatch_server.c")],
        &server_exe,
        Lang::C99,
        Link::Shared,
    );
    build(
        &[c_dir().join("name_client.c")],
        &client_exe,
        Lang::C99,
        Link::Shared,
    );
    let env = env(&socket);
    let name = "qnxsim/test/dispatch-echo";

    let mut child = Command::new(&server_exe)
        .arg(name)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting dispatch_server");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut server = Server {
        child,
        lines,
        out: Vec::new(),
    };
    let ready = server.lines.recv_timeout(WITHIN);
    assert_eq!(
        ready.as_deref(),
        Ok("ready"),
        "dispatch_server did not get ready"
    );

    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, out, err) = Running::start(&client_exe, &[name], &env_refs).finish(WITHIN);
    let (passed, failed) = summary(&out);
    assert!(
        status.success() && failed == 0 && passed >= CLIENT_CHECKS,
        "name_client: {status}, {passed} passed, {failed} failed\nstdout:\n{out}\nstderr:\n{err}"
    );

    // The server ends once its client's connection goes.
    while let Ok(line) = server.lines.recv_timeout(WITHIN) {
        server.out.push(line);
    }
    let out = server.out.join("\n");
    let until = Instant::now() + WITHIN;
    let status = loop {
        if let Some(s) = server
            .child
            .try_wait()
            .expect("waiting for dispatch_server")
        {
            break s;
        }
        // (A panic here kills it: `Server`'s drop.)
        assert!(
            Instant::now() < until,
            "dispatch_server did not end within {WITHIN:?}; its output:\n{}",
            server.out.join("\n")
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let (passed, failed) = summary(&out);
    assert!(
        status.success() && failed == 0 && passed >= SERVER_CHECKS,
        "dispatch_server: {status}, {passed} passed, {failed} failed\nstdout:\n{out}"
    );
}
