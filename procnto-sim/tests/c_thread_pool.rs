//! QNX's thread pools from C (`<sys/dispatch.h>`: `thread_pool_create`, `thread_pool_start`,
//! `thread_pool_destroy`, `thread_pool_control`, `thread_pool_limits`): the threaded suite
//! `capi/tests/c/thread_pool_suite.c` with `thread_pool_custom.c` (a pool over
//! `THREAD_POOL_PARAM_T`/`THREAD_POOL_HANDLE_T` of its own) on its own kernel (C99 linked shared
//! and static, and C++17), and the C thread-pool name server `capi/tests/c/thread_pool_server.c`
//! in one program serving several `thread_pool_client.c` programs at once on a supervised
//! kernel. Every process is bounded in time and killed on every exit path (`Running`, `Sup` and
//! `Server` kill on drop); every socket lives in a temporary directory removed on every exit
//! path.

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

/// The checks thread_pool_suite.c makes at the least.
const SUITE_CHECKS: u32 = 55;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(90);

fn suite(lang: Lang, link: Link) {
    let dir = TempDir::new("c-thread-pool-suite");
    let exe = dir.join(&format!("thread_pool_suite-{lang:?}-{link:?}"));
    build(
        &[
            c_dir().join("thread_pool_suite.c"),
            c_dir().join("thread_pool_custom.c"),
        ],
        &exe,
        lang,
        link,
    );
    expect_pass(&exe, &[], &[], SUITE_CHECKS, RUN_WITHIN);
}

#[test]
fn thread_pool_suite_c99_linked_shared() {
    suite(Lang::C99, Link::Shared);
}

#[test]
fn thread_pool_suite_c99_linked_static() {
    suite(Lang::C99, Link::Static);
}

#[test]
fn thread_pool_suite_cxx17_linked_shared() {
    suite(Lang::Cxx17, Link::Shared);
}

/// The checks thread_pool_client.c and thread_pool_server.c make at the least.
const CLIENT_CHECKS: u32 = 6;
const SERVER_CHECKS: u32 = 7;
/// The clients served at once.
const CLIENTS: usize = 4;

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
fn a_c_thread_pool_name_server_serves_several_client_programs_at_once() {
    let dir = TempDir::new("c-thread-pool-xproc");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let server_exe = dir.join("thread_pool_server");
    let client_exe = dir.join("thread_pool_client");
    build(
        &[c_dir().join("thread_pool_server.c")],
        &server_exe,
        Lang::C99,
        Link::Shared,
    );
    build(
        &[c_dir().join("thread_pool_client.c")],
        &client_exe,
        Lang::C99,
        Link::Shared,
    );
    let env = env(&socket);
    let name = "qnxsim/test/thread-pool";

    let nclients = CLIENTS.to_string();
    let mut child = Command::new(&server_exe)
        .args([name, nclients.as_str()])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting thread_pool_server");
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
        "thread_pool_server did not get ready"
    );

    // Every client at once: each one's first message is answered only once all of them are
    // in the server's handlers together.
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let indexes: Vec<String> = (1..=CLIENTS).map(|i| i.to_string()).collect();
    let running: Vec<Running> = indexes
        .iter()
        .map(|i| Running::start(&client_exe, &[name, i.as_str()], &env_refs))
        .collect();
    for (i, r) in running.into_iter().enumerate() {
        let (status, out, err) = r.finish(WITHIN);
        let (passed, failed) = summary(&out);
        assert!(
            status.success() && failed == 0 && passed >= CLIENT_CHECKS,
            "thread_pool_client {}: {status}, {passed} passed, {failed} failed\nstdout:\n{out}\nstderr:\n{err}",
            i + 1
        );
    }

    // The server exits after its last client's quit.
    while let Ok(line) = server.lines.recv_timeout(WITHIN) {
        server.out.push(line);
    }
    let until = Instant::now() + WITHIN;
    let status = loop {
        if let Some(s) = server
            .child
            .try_wait()
            .expect("waiting for thread_pool_server")
        {
            break s;
        }
        // (A panic here kills it: `Server`'s drop.)
        assert!(
            Instant::now() < until,
            "thread_pool_server did not end within {WITHIN:?}; its output:\n{}",
            server.out.join("\n")
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = server.out.join("\n");
    let (passed, failed) = summary(&out);
    assert!(
        status.success() && failed == 0 && passed >= SERVER_CHECKS,
        "thread_pool_server: {status}, {passed} passed, {failed} failed\nstdout:\n{out}"
    );
}
