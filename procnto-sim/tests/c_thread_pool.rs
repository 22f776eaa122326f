//! QNX's thread pools from C (`<sys/dispatch.h>`: `thread_pool_create`, `thread_pool_start`,
//! `thread_pool_destroy`, `thread_pool_control`, `thread_pool_limits`): the threaded suite
//! `capi/tests/c/thread_pool_suite.c` with `thread_pool_custom.c` (a pool over
//! `THREAD_POOL_PARAM_T`/`THREAD_POOL_HANDLE_T` of its own) on its own kernel (C99 linked shared
//! and static, and C++17), and the C thread-pool name server `capi/tests/c/thread_pool_server.c`
//! in one program serving several `thread_pool_client.c` programs at once on a supervised
//! kernel. Every process is bounded in time and killed on every exit path (`Running` and `Sup`
//! kill on drop); every socket lives in a temporary directory removed on every exit
//! path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, build_shared, c_dir, expect_pass, expect_summary, Lang, Link, Running};
use common::*;
use procs::TempDir;
use std::time::Duration;

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

#[test]
fn a_c_thread_pool_name_server_serves_several_client_programs_at_once() {
    let dir = TempDir::new("c-thread-pool-xproc");
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let server_exe = build_shared(&dir, "thread_pool_server");
    let client_exe = build_shared(&dir, "thread_pool_client");
    let env = env(&socket);
    let name = "qnxsim/test/thread-pool";
    let nclients = CLIENTS.to_string();
    let mut server = Running::start(&server_exe, &[name, nclients.as_str()], &env);
    server.ready();
    // Every client at once: each one's first message is answered only once all of them are
    // in the server's handlers together.
    let indexes: Vec<String> = (1..=CLIENTS).map(|i| i.to_string()).collect();
    let running: Vec<Running> = indexes
        .iter()
        .map(|i| Running::start(&client_exe, &[name, i.as_str()], &env))
        .collect();
    for (i, r) in running.into_iter().enumerate() {
        expect_summary(
            &format!("thread_pool_client {}", i + 1),
            r.finish(WITHIN),
            CLIENT_CHECKS,
        );
    }
    // The server exits after its last client's quit.
    expect_summary("thread_pool_server", server.finish(WITHIN), SERVER_CHECKS);
}

/// A program whose first thread has ended is still running: the C thread-pool server's `main`
/// leaves with `pthread_exit` once its pool starts (`POOL_FLAG_EXIT_SELF`, as QNX servers do),
/// and Linux then shows the program as a zombie while its pool threads serve. On a kernel in a
/// plain memory file, whose programs look for dead programs every 200 ms and reap them, the
/// server must not be taken for dead: after several such looks (the server's own threads are
/// blocked in MsgReceive, so its timer service looks too), a client program is still served.
#[test]
fn a_c_thread_pool_server_whose_main_thread_ended_is_not_taken_for_dead() {
    let dir = TempDir::new("c-thread-pool-zombie-leader");
    let kernel = dir.join("kernel");
    let server_exe = build_shared(&dir, "thread_pool_server");
    let client_exe = build_shared(&dir, "thread_pool_client");
    let env = vec![(userlib::current::KERNEL_ENV, kernel.display().to_string())];
    let name = "qnxsim/test/thread-pool-zombie-leader";
    let mut server = Running::start(&server_exe, &[name, "1"], &env);
    server.ready();
    // (Several looks for dead programs: REAP_SLICE is 200 ms.)
    std::thread::sleep(Duration::from_millis(700));
    let client = Running::start(&client_exe, &[name, "1"], &env);
    expect_summary("thread_pool_client 1", client.finish(WITHIN), CLIENT_CHECKS);
    expect_summary("thread_pool_server", server.finish(WITHIN), SERVER_CHECKS);
}

/// A long message (past the region's 256-byte windows, so copied straight into the server's
/// buffer with `process_vm_writev`) to a server program whose first thread ended with
/// `pthread_exit` (a zombie in `/proc` while its serving thread runs) is delivered, and its long
/// reply comes back (`capi/tests/c/exit_self_echo.c`). Linux refuses `process_vm_*` on such a
/// program's pid, its first thread having no memory any more, and the kernel now tries its other
/// threads: the send failed with ESRVRFAULT.
#[test]
fn a_long_message_reaches_a_server_whose_main_thread_ended() {
    let dir = TempDir::new("c-exit-self-echo");
    let kernel = dir.join("kernel");
    let exe = build_shared(&dir, "exit_self_echo");
    let env = vec![(userlib::current::KERNEL_ENV, kernel.display().to_string())];
    let mut server = Running::start(&exe, &["server"], &env);
    server.ready();
    let ids = server.line();
    let [pid, chid] = ids.split(' ').collect::<Vec<_>>()[..] else {
        panic!("unexpected line {ids:?}")
    };
    // Its first thread has ended: a zombie while the serving thread runs.
    let stat = format!("/proc/{pid}/stat");
    let until = std::time::Instant::now() + WITHIN;
    loop {
        let s = std::fs::read_to_string(&stat).unwrap_or_default();
        let state = s
            .rsplit_once(')')
            .and_then(|(_, r)| r.trim_start().chars().next());
        if state == Some('Z') {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "its first thread did not end: {s}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let client = Running::start(&exe, &["client", pid, chid], &env);
    expect_summary("exit_self_echo client", client.finish(WITHIN), 3);
    let (st, out, err) = server.finish(WITHIN);
    assert!(st.success(), "the server: {st}\n{out}\n{err}");
}
