//! A QNX program that replaces itself with `exec` on a shared kernel
//! (`capi/tests/c/exec_image.c`): the new image keeps the pid and is a new process to the
//! kernel, as on QNX. What the replaced image left goes as the new image maps the kernel: its
//! channel, and with it the client REPLY-blocked there (ESRCH); the new image's first channel
//! is chid 1 again and serves. Before this, every kernel call of the new image failed with
//! EEXIST (its pid was taken by the old image's process). On a supervised kernel and on a
//! kernel file, with the kernel watched meanwhile: never two processes of that pid.
//!
//! Every program runs bounded in time and is killed on every exit path (`Running` kills and
//! reaps on drop); every file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build_shared, expect_summary, Running};
use common::{watch, Sup, BIN, WITHIN};
use procs::TempDir;
use std::path::Path;

/// Runs the server (which execs itself) and its client on the kernel `kernel` names, with `k`
/// (if given) watching: never two processes of the server's pid. Returns
/// the server's pid.
fn run(exe: &Path, kernel: &Path, k: Option<&kernel_sim::Kernel>) -> i32 {
    let env = [
        (userlib::current::KERNEL_ENV, kernel.display().to_string()),
        (userlib::current::SUPERVISOR_ENV, BIN.to_string()),
    ];
    let mut server = Running::start(exe, &["server"], &env);
    let first = server.line();
    let words: Vec<&str> = first.split_whitespace().collect();
    assert!(
        words.len() == 4 && words[0] == "chid" && words[2] == "pid",
        "{first:?}"
    );
    let (chid, pid) = (words[1], words[3]);
    assert_eq!(
        pid,
        server.pid().to_string(),
        "the server's pid is its Linux pid"
    );
    let client = Running::start(exe, &["client", pid, chid], &env);
    assert_eq!(server.line(), "received");
    assert_eq!(
        server.line(),
        "after chid 1",
        "the new image's first channel"
    );
    if let Some(k) = k {
        // (At most one: the old image's went as the new one attached. The new one may have
        // served its client and ended already, taking its process with it.)
        let of_pid: Vec<_> = k
            .listing()
            .snapshot
            .processes
            .iter()
            .filter(|p| p.pid.to_string() == pid)
            .map(|p| p.name.clone())
            .collect();
        assert!(of_pid.len() <= 1, "processes of the pid: {of_pid:?}");
    }
    expect_summary("the client", client.finish(WITHIN), 3);
    assert_eq!(server.line(), "served");
    expect_summary("the new image", server.finish(WITHIN), 5);
    pid.parse().expect("a pid")
}

#[test]
fn a_server_replaced_by_exec_on_a_supervised_kernel_releases_its_client_and_serves_again() {
    let dir = TempDir::new("exec-image");
    let exe = build_shared(&dir, "exec_image");
    let socket = dir.join("k.sock");
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let pid = run(&exe, &socket, Some(&k));
    // The supervisor reaps the new image at its end: nothing of the pid is left.
    common::wait_until("the server's pid gone from the kernel", || {
        k.listing().snapshot.processes.iter().all(|p| p.pid != pid)
    });
}

#[test]
fn a_server_replaced_by_exec_on_a_kernel_file_releases_its_client_and_serves_again() {
    let dir = TempDir::new("exec-image-file");
    let exe = build_shared(&dir, "exec_image");
    let file = dir.join("kernel");
    let pid = run(&exe, &file, None);
    let k = kernel_sim::Kernel::open_shared(&file).expect("mapping the kernel file");
    assert!(
        k.listing().snapshot.processes.iter().all(|p| p.pid != pid),
        "the new image destroyed its process at its exit, and nothing of the old is left"
    );
}
