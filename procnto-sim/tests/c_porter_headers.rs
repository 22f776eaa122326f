//! The porting headers QNX programs include besides message passing (`capi/tests/c/
//! porter_headers.c`): `<atomic.h>`, `<gulliver.h>`, `<sys/slog.h>`, `<sys/procmgr.h>`'s
//! `procmgr_daemon` (two daemons, which answer the test program over a supervised kernel the
//! test starts), and QNX 7.1's `MsgRegisterEvent`/`MsgUnregisterEvent` (also delivered by a
//! daemon in another program). Compiled as C99 and as C++17 (`-Wall -Wextra -Werror`, with the
//! new headers included before the existing ones in one translation unit and after them in
//! the other), run bounded in time; every process it starts, the daemons too, is killed on
//! every exit path, and its files live in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, summary, Lang, Link, Running};
use common::{env, socket_in, Sup};
use procs::TempDir;
use std::path::PathBuf;
use std::time::Duration;

/// The checks porter_headers.c makes, exactly.
const CHECKS: u32 = 106;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(90);

/// Kills, on drop, every process running `exe` (the program and the daemons it made, which
/// left its process group and session).
struct KillAll(PathBuf);

impl KillAll {
    fn running(&self) -> Vec<i32> {
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        procs
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
            .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == self.0))
            .collect()
    }
}

impl Drop for KillAll {
    fn drop(&mut self) {
        for pid in self.running() {
            // SAFETY: kill with integer arguments, on a process running this test's program.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

fn porter_headers(lang: Lang) {
    let dir = TempDir::new("c-porter-headers");
    let exe = dir.join(&format!("porter_headers-{lang:?}"));
    build(
        &[
            c_dir().join("porter_headers.c"),
            c_dir().join("porter_headers_order.c"),
        ],
        &exe,
        lang,
        Link::Shared,
    );
    let exe = std::fs::canonicalize(&exe).expect("the program's path");
    let killer = KillAll(exe.clone());
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let (status, out, err) = Running::start(&exe, &[], &env(&socket)).finish(RUN_WITHIN);
    // Every daemon it made has ended (it waits for them): none is left running.
    let left = killer.running();
    let (passed, failed) = summary(&out);
    assert!(
        status.success() && passed == CHECKS && failed == 0 && left.is_empty(),
        "{status}, {passed} passed, {failed} failed ({CHECKS} expected), left running: \
         {left:?}\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        out.lines().filter(|l| l.starts_with("daemon ")).count() == 2,
        "two daemons made:\n{out}"
    );
    drop(killer);
}

#[test]
fn porter_headers_c99() {
    porter_headers(Lang::C99);
}

#[test]
fn porter_headers_cxx17() {
    porter_headers(Lang::Cxx17);
}
