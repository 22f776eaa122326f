//! A review of exec on a shared kernel (bc70b0a) and of `<process.h>`'s `spawn*()` (4bb12c8),
//! through C programs (`capi/tests/c/review_exec_spawn*.c`):
//!
//! * a program exec'd while another of its threads holds the kernel lock (parked there by
//!   `QNXSIM_FAULT`): on a kernel file and on a supervised kernel, with and without another
//!   program of the kernel ending meanwhile;
//! * exec races: a program with two threads in kernel calls in tight loops exec'ing itself
//!   many times, beside a program working on the same kernel; the tables clean afterwards;
//! * fork, then exec in the child that joined the kernel: the parent's process survives;
//! * exec of a non-QNX program holding a client: the client released when it ends;
//! * spawn*(): bad modes, errno on success, environments, descriptors a child inherits, PATH
//!   with an empty entry, several threads spawning at once beside kernel calls, a signal
//!   storm during P_WAIT; `<process.h>` with `-pedantic` beside the system's headers.
//!
//! Every program runs bounded in time and is killed on every exit path (`Running` kills and
//! reaps on drop; the C programs die with their parent); every file lives in a temporary
//! directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build_shared, c_dir, cflags, expect_summary, Running};
use common::{watch, Sup, BIN, WITHIN};
use procs::TempDir;
use std::path::Path;
use std::time::{Duration, Instant};

/// The environment that puts a C program on the kernel `kernel` names.
fn on(kernel: &Path) -> Vec<(&'static str, String)> {
    vec![
        (userlib::current::KERNEL_ENV, kernel.display().to_string()),
        (userlib::current::SUPERVISOR_ENV, BIN.to_string()),
    ]
}

/// `on(kernel)` and more.
fn with(kernel: &Path, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut e = on(kernel);
    e.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    e
}

/// Waits up to `within` for `cond`; whether it came.
fn came(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + within;
    while !cond() {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// A thread of the program parks in a kernel call holding the lock (QNXSIM_FAULT `locked`,
/// 20 s: longer than the test) as its main thread execs itself; the new image keeps the pid.
/// Starts it on `kernel` and returns it once its new image is up (printed "up PID"), and the
/// pid. `delay_ms`: how long the new image waits before its first kernel call.
fn exec_holding_the_lock(exe: &Path, kernel: &Path, delay_ms: &str) -> (Running, i32) {
    let env = with(
        kernel,
        &[
            ("QNXSIM_FAULT", "locked:60:20000000"),
            ("QNXSIM_FAULT_FD", "2"),
        ],
    );
    let mut p = Running::start(exe, &["hold-exec", delay_ms], &env);
    assert_eq!(p.line(), "exec");
    let up = p.line();
    let pid: i32 = up
        .strip_prefix("up ")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{up:?}"));
    assert_eq!(pid as u32, p.pid(), "the new image keeps the pid");
    (p, pid)
}

/// The end of an `exec_holding_the_lock` program: its old image's thread parked holding the
/// lock (the note `QNXSIM_FAULT_FD` writes), and its new image passed its checks.
fn expect_parked_then_passed(p: Running, pid: i32) {
    let (st, out, err) = p.finish(WITHIN);
    assert!(
        err.contains(&format!("{pid} locked 60")),
        "the old image's thread never parked holding the lock: {err}"
    );
    expect_summary("the new image", (st, out, err), 2);
}

#[test]
fn exec_with_a_thread_holding_the_lock_on_a_kernel_file_releases_it_at_the_first_mapping() {
    let dir = TempDir::new("rx-hold-file");
    let exe = build_shared(&dir, "review_exec_spawn");
    let file = dir.join("kernel");
    let mut member = Running::start(&exe, &["member"], &on(&file));
    member.ready();
    let (mut p, pid) = exec_holding_the_lock(&exe, &file, "500");
    // The new image maps the kernel and undoes the dead thread's call (on a kernel file the
    // lock was seen free already once the new image had printed its first line: something
    // before its first kernel call maps the kernel, so the hold is not asserted here).
    assert_eq!(p.line(), "after chid 1");
    expect_parked_then_passed(p, pid);
    // Every program of the kernel goes on.
    let worker = Running::start(&exe, &["worker", "200"], &on(&file));
    expect_summary("a worker after it", worker.finish(WITHIN), 2);
    let k = kernel_sim::Kernel::open_shared(&file).expect("mapping the kernel file");
    let l = k.listing();
    assert!(
        l.snapshot.processes.iter().all(|p| p.pid != pid),
        "nothing of the exec'd program left: {:?}",
        l.snapshot.processes
    );
    assert_eq!(l.pools.channels.live, 1, "the member's channel alone");
    drop(member);
}

#[test]
fn exec_with_a_thread_holding_the_lock_on_a_supervised_kernel_releases_it_at_the_first_mapping() {
    let dir = TempDir::new("rx-hold-sup");
    let exe = build_shared(&dir, "review_exec_spawn");
    let socket = dir.join("k.sock");
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let (mut p, pid) = exec_holding_the_lock(&exe, &socket, "300");
    assert_eq!(k.lock_owner(), Some(pid), "the dead thread holds the lock");
    assert_eq!(p.line(), "after chid 1");
    expect_parked_then_passed(p, pid);
    common::wait_until("the pid reaped", || {
        k.listing().snapshot.processes.iter().all(|q| q.pid != pid)
    });
}

/// The supervisor reaps a program that ended while the lock is held by an exec'd program's
/// dead thread: it waits for the lock, the holder's pid being alive (the new image). The new
/// image's first kernel call connects to the supervisor to map the kernel: the supervisor
/// admits it between its tries for the lock, and the new image's mapping releases the lock.
/// (The supervisor once admitted no one while it waited: the new image waited for ever, and
/// with it every program of the kernel.)
#[test]
fn exec_holding_the_lock_while_another_program_ends_on_a_supervised_kernel_does_not_hang() {
    let dir = TempDir::new("rx-hold-reap");
    let exe = build_shared(&dir, "review_exec_spawn");
    let socket = dir.join("k.sock");
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let mut member = Running::start(&exe, &["member"], &on(&socket));
    member.ready();
    // The new image waits 1.5 s before its first kernel call.
    let (mut p, pid) = exec_holding_the_lock(&exe, &socket, "1500");
    assert_eq!(k.lock_owner(), Some(pid), "the dead thread holds the lock");
    // Another program of the kernel ends meanwhile: the supervisor goes to reap it.
    member.kill();
    let line = p.line();
    assert_eq!(line, "after chid 1", "the new image joined its kernel");
    expect_parked_then_passed(p, pid);
}

/// Runs `spin-exec` (`images` execs, each with two threads in kernel calls in tight loops) on
/// `kernel` beside a worker making kernel calls throughout; both must finish and the kernel's
/// tables be clean. `k`: a view of the kernel (else mapped from the file at the end).
fn exec_race(exe: &Path, kernel: &Path, k: Option<&kernel_sim::Kernel>, images: &str) {
    let worker = Running::start(exe, &["worker", "4000"], &on(kernel));
    let mut p = Running::start(exe, &["spin-exec", images], &on(kernel));
    let fin = p.line();
    assert_eq!(fin, format!("final {}", p.pid()), "{fin:?}");
    expect_summary("the last image", p.finish(WITHIN), 3);
    expect_summary("the worker beside the execs", worker.finish(WITHIN), 2);
    let owned;
    let k = match k {
        Some(k) => k,
        None => {
            owned = kernel_sim::Kernel::open_shared(kernel).expect("mapping the kernel");
            &owned
        }
    };
    // (A supervisor reaps the programs a moment after they end.)
    let clean = came(WITHIN, || {
        let l = k.listing();
        l.pools.processes.live == 0
            && l.pools.channels.live == 0
            && l.pools.connections.live == 0
            && l.pools.threads.live == 0
            && l.pools.pulses.live == 0
    });
    assert!(
        clean,
        "the kernel's tables are not clean after the execs: {:?}",
        k.listing().pools
    );
    assert_eq!(k.lock_owner(), None);
}

#[test]
fn exec_races_on_a_supervised_kernel_leave_every_program_going_and_the_tables_clean() {
    let dir = TempDir::new("rx-race-sup");
    let exe = build_shared(&dir, "review_exec_spawn");
    let socket = dir.join("k.sock");
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    exec_race(&exe, &socket, Some(&k), "40");
}

#[test]
fn exec_races_on_a_kernel_file_leave_every_program_going_and_the_tables_clean() {
    let dir = TempDir::new("rx-race-file");
    let exe = build_shared(&dir, "review_exec_spawn");
    let file = dir.join("kernel");
    // (The kernel file made first, by a program that ends.)
    let w = Running::start(&exe, &["worker", "300"], &on(&file));
    expect_summary("the first worker", w.finish(WITHIN), 1);
    exec_race(&exe, &file, None, "40");
}

#[test]
fn a_forked_child_that_joined_the_kernel_and_execs_leaves_its_parent_s_process_alone() {
    let dir = TempDir::new("rx-fork-exec");
    let exe = build_shared(&dir, "review_exec_spawn");
    let socket = dir.join("k.sock");
    let _sup = Sup::start(&socket, &["--stay"]);
    let p = Running::start(&exe, &["fork-exec"], &on(&socket));
    expect_summary("fork-exec", p.finish(WITHIN), 6);
}

#[test]
fn a_server_that_execs_a_non_qnx_program_holds_its_client_until_that_program_ends() {
    let dir = TempDir::new("rx-exec-sleep");
    let exe = build_shared(&dir, "review_exec_spawn");
    let socket = dir.join("k.sock");
    let _sup = Sup::start(&socket, &["--stay"]);
    let k = watch(&socket);
    let mut server = Running::start(&exe, &["exec-sleep", "2000"], &on(&socket));
    let first = server.line();
    let w: Vec<&str> = first.split_whitespace().collect();
    assert!(w.len() == 4 && w[0] == "chid" && w[2] == "pid", "{first:?}");
    let (chid, pid) = (w[1], w[3]);
    let client = Running::start(&exe, &["client", pid, chid, "1500"], &on(&socket));
    assert_eq!(server.line(), "received");
    let (st, _, _) = server.finish(WITHIN);
    assert!(st.success(), "sleep: {st}");
    expect_summary("the client", client.finish(WITHIN), 3);
    let pid: i32 = pid.parse().unwrap();
    common::wait_until("the pid reaped", || {
        k.listing().snapshot.processes.iter().all(|q| q.pid != pid)
    });
}

/// The spawn checks of review_exec_spawn_calls.c, on a supervised kernel or alone.
fn spawn_calls(shared: bool) {
    let dir = TempDir::new("rx-spawn");
    let exe = build_shared(&dir, "review_exec_spawn_calls");
    let socket = dir.join("k.sock");
    let _sup = shared.then(|| Sup::start(&socket, &["--stay"]));
    let env = if shared { on(&socket) } else { Vec::new() };
    let p = Running::start(&exe, &[], &env);
    expect_summary(
        "review_exec_spawn_calls",
        p.finish(Duration::from_secs(60)),
        25,
    );
}

#[test]
fn spawn_calls_on_a_supervised_kernel() {
    spawn_calls(true);
}

#[test]
fn spawn_calls_without_a_kernel() {
    spawn_calls(false);
}

/// `<process.h>` with `-pedantic`, before and after `<spawn.h>`, `<sys/wait.h>` and
/// `<unistd.h>`, as C99 and C++17; each program runs its l forms.
#[test]
fn process_h_compiles_pedantic_in_either_order_beside_the_system_s_headers() {
    let dir = TempDir::new("rx-hdr");
    for (lang, compiler, std) in [
        (
            "c",
            std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            "-std=c99",
        ),
        (
            "c++",
            std::env::var("CXX").unwrap_or_else(|_| "c++".into()),
            "-std=c++17",
        ),
    ] {
        for order in ["1", "2"] {
            let out = dir.join(&format!("hdr-{lang}-{order}"));
            let lib = common::cc::lib_dir();
            let o = std::process::Command::new(&compiler)
                .args([std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-pthread"])
                .args(["-x", lang])
                .arg(format!("-DHDR_ORDER={order}"))
                .args(cflags())
                .arg(c_dir().join("review_exec_spawn_hdr.c"))
                .args(["-x", "none"])
                .arg("-o")
                .arg(&out)
                .arg(format!("-L{}", lib.display()))
                .arg(format!("-Wl,-rpath,{}", lib.display()))
                .arg("-Wl,--disable-new-dtags")
                .arg("-lqnxsim")
                .output()
                .expect("running the compiler");
            assert!(
                o.status.success(),
                "{compiler} {std} order {order}:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            let (st, out, err) = Running::start(&out, &[], &[] as &[(&str, &str)]).finish(WITHIN);
            assert!(st.success(), "{lang} order {order}: {st}\n{out}\n{err}");
        }
    }
}

/// Two copies of libqnxsim in one program (a host and a plugin each linked with its own, as
/// `review_exec_spawn_twice.c` dlopen's them): a copy's mapping of the kernel must not take
/// the kernel lock, held by a live thread of the other copy (same pid), for a dead earlier
/// image's hold. (Each copy once kept its own list of the kernels the image had mapped, and
/// did: the thread's ChannelCreate returned a chid that no longer existed. The holder's image
/// is now in the region, the same for every copy.) `QNXSIM_FAULT_HOLD_US` has every call hold
/// the lock 300 us, so that a mapping finds it held; 12 copies map in turn.
#[test]
fn a_second_copy_of_the_library_does_not_take_the_lock_from_a_live_thread_of_the_program() {
    let dir = TempDir::new("rx-twice");
    let exe = dir.join("twice");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let o = std::process::Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-g", "-pthread"])
        .arg(format!("-I{}", c_dir().display()))
        .arg(c_dir().join("review_exec_spawn_twice.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-ldl")
        .output()
        .expect("running the compiler");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lib = common::cc::lib_dir().join("libqnxsim.so");
    let copies: Vec<String> = (0..12)
        .map(|i| {
            let to = dir.join(&format!("libqnxsim-{i}.so"));
            std::fs::copy(&lib, &to).expect("copying libqnxsim.so");
            to.display().to_string()
        })
        .collect();
    let args: Vec<&str> = copies.iter().map(String::as_str).collect();
    let file = dir.join("kernel");
    let env = with(&file, &[("QNXSIM_FAULT_HOLD_US", "300")]);
    let p = Running::start(&exe, &args, &env);
    expect_summary("two copies of the library", p.finish(WITHIN), 5);
}

/// A program that made simulated processes with `Kernel::process_create` (pids above 2^22,
/// of its image) beside its own, then execs itself (std's `CommandExt::exec`): when the new
/// image attaches its process, every one of them goes, the channel of one with it, and the pid
/// is the new image's.
#[test]
fn a_rust_program_s_created_processes_go_when_its_new_image_attaches_its_process() {
    let dir = TempDir::new("rx-created");
    let file = dir.join("kernel");
    let path = file.display().to_string();
    let child = procs::Child::spawn("created-then-exec", &path);
    let made = child.line(WITHIN);
    let pids: Vec<i32> = made
        .strip_prefix("made ")
        .unwrap_or_else(|| panic!("{made:?}"))
        .split(' ')
        .map(|s| s.parse().expect("a pid"))
        .collect();
    let me = child.pid();
    assert_eq!(child.line(WITHIN), format!("attached {me}"));
    assert!(child.wait(WITHIN).success());
    let k = kernel_sim::Kernel::open_shared(&file).expect("mapping the kernel file");
    let l = k.listing();
    let left: Vec<i32> = l
        .snapshot
        .processes
        .iter()
        .map(|p| p.pid)
        .filter(|p| pids.contains(p))
        .collect();
    // (The new image's own process, of the same pid, stays: nothing reaps on a kernel file.)
    assert_eq!(left, [me], "left after the exec (made {pids:?})");
    assert_eq!(
        l.pools.channels.live, 0,
        "the created process's channel went"
    );
}

#[test]
#[ignore]
fn child_entry() {
    let Some((role, arg)) = procs::child_role() else {
        return;
    };
    procs::child_setup();
    let file = Path::new(&arg);
    match role.as_str() {
        "created-then-exec" => {
            let k = kernel_sim::Kernel::create_shared(file, kernel_sim::Config::small())
                .or_else(|_| kernel_sim::Kernel::open_shared(file))
                .expect("the kernel file");
            let own = k.process_attach_self().expect("process_attach_self");
            let a = k.process_create().expect("process_create");
            let b = k.process_create().expect("process_create");
            let t = k.thread_attach(a, 10).expect("thread_attach");
            t.channel_create(0).expect("channel_create");
            procs::tell_parent(&format!("made {} {} {}", own.pid, a.pid, b.pid));
            use std::os::unix::process::CommandExt;
            let err = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["child_entry", "--exact", "--ignored", "--nocapture"])
                .env("QNXSIM_TEST_ROLE", "mapped-again")
                .exec();
            panic!("exec: {err}");
        }
        "mapped-again" => {
            let k = kernel_sim::Kernel::open_shared(file).expect("mapping the kernel again");
            let own = k
                .process_attach_self()
                .expect("the new image's process_attach_self");
            procs::tell_parent(&format!("attached {}", own.pid));
        }
        other => panic!("unknown role {other}"),
    }
}
