//! The Linux processes of a supervised kernel, as the tests of a supervisor's death find them
//! in /proc (by the test's own socket path, so that no other test's processes are touched):
//! its programs (their environment names the socket) and its supervisors (`procnto-sim
//! --kernel SOCKET`, started by the test or by a program), and how to kill them.

use super::Sup;
use std::path::Path;

/// Kills the test's own supervisor (SIGKILL) and reaps it.
pub fn kill_supervisor(sup: &mut Sup) {
    let _ = sup.0.kill();
    let _ = sup.0.wait();
}

/// A process's state letter (`/proc/PID/stat`), if it exists.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Whether `pid` runs (a zombie does not: a daemon supervisor killed is reparented, and its
/// new parent may be slow to reap it).
pub fn running(pid: i32) -> bool {
    proc_state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

/// Every running process (but this one) whose command line (`cmdline`) or environment
/// (`environ`) has `needle` as one of its NUL-separated items.
pub fn processes_naming(file: &str, needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(bytes) = std::fs::read(format!("/proc/{pid}/{file}")) else {
            continue;
        };
        if bytes
            .split(|&b| b == 0)
            .any(|item| item == needle.as_bytes())
            && running(pid)
        {
            found.push(pid);
        }
    }
    found
}

/// The supervisors serving (or started for) the kernel at `socket`: `procnto-sim --kernel
/// SOCKET ...` processes that run.
pub fn supervisors_of(socket: &Path) -> Vec<i32> {
    let s = socket.display().to_string();
    processes_naming("cmdline", &s)
        .into_iter()
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|b| {
                let args: Vec<&[u8]> = b.split(|&c| c == 0).collect();
                args.first().is_some_and(|a| a.ends_with(b"procnto-sim"))
                    && args
                        .windows(2)
                        .any(|w| w[0] == b"--kernel" && w[1] == s.as_bytes())
            })
        })
        .collect()
}

/// Every running process of the kernel at `socket`: its programs (their environment names it)
/// and its supervisors.
pub fn processes_of(socket: &Path) -> Vec<i32> {
    let mut v = processes_naming(
        "environ",
        &format!("{}={}", userlib::current::KERNEL_ENV, socket.display()),
    );
    v.extend(supervisors_of(socket));
    v.sort_unstable();
    v.dedup();
    v
}

pub fn sigkill(pid: i32) {
    // SAFETY: kill with integer arguments; `pid` is a process of this test's kernel, found by
    // the test's own socket path.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}
