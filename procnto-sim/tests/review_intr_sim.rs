//! Review of the simulated interrupts and device memory as programs and tools see them:
//!
//! * C's `InterruptDisable` in a child forked while a handler ran in the parent must not wait
//!   for that handler (the child has no service thread; on QNX it is a cli): the "interrupt
//!   gate" of capi/src/interrupt.rs is a process-wide static copied by fork() with the
//!   parent's handler counted as under way.
//! * A supervised kernel's `NAME.phys` lives as long as its kernel (supervisor.rs: "it lives
//!   as long as the kernel"; deviations.md: untouched memory reads as zero): a supervisor
//!   killed (SIGKILL) leaves it, and the next kernel of that name must not see the dead one's
//!   registers.
//! * `pidin-sim` shows an attachment and its INTR-blocked thread as the tutorial says.
//! * `intr-sim` refuses a non-UTF-8 `QNXSIM_KERNEL` with status 1 and raises nothing.
//!
//! Every program is bounded in time and killed on every path; every file lives in a temporary
//! directory removed on every path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, Lang, Link, Running};
use common::*;
use kernel_sim::consts::*;
use kernel_sim::types::SigEvent;
use kernel_sim::{Config, Kernel, ThreadState};
use procs::TempDir;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INTR_SIM: &str = env!("CARGO_BIN_EXE_intr-sim");

fn build_prog(dir: &TempDir) -> PathBuf {
    let exe = dir.join("review_interrupts_fork");
    build(
        &[c_dir().join("review_interrupts_fork.c")],
        &exe,
        Lang::C99,
        Link::Shared,
    );
    exe
}

/// Runs `exe ARGS` with `env`, bounded: its status and stdout.
fn run(exe: &std::path::Path, args: &[&str], env: &[(&str, String)]) -> (bool, String, String) {
    let (st, out, err) = Running::start(exe, args, env).finish(WITHIN);
    (st.success(), out, err)
}

/// Runs a tool with `args` and `env` (QNXSIM_KERNEL removed unless given), killed if it
/// outlives `WITHIN`: status code, stdout, stderr.
fn tool(exe: &str, args: &[&str], env: &[(&str, std::ffi::OsString)]) -> (i32, String, String) {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .env_remove("QNXSIM_KERNEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("starting the tool");
    let until = Instant::now() + WITHIN;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{exe} {args:?} did not end");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn interrupt_disable_in_a_child_forked_while_a_handler_ran_does_not_hang() {
    let dir = TempDir::new("rv-intr-fork");
    let exe = build_prog(&dir);
    let (ok, out, err) = run(&exe, &["fork"], &[]);
    assert!(ok, "{out}\n{err}");
    assert_eq!(out.trim(), "child ok", "{err}");
}

#[test]
fn a_new_kernel_of_a_name_does_not_see_the_registers_of_a_killed_one() {
    let dir = TempDir::new("rv-phys-stale");
    let exe = build_prog(&dir);
    let socket = socket_in(&dir);
    let phys = kernel_sim::supervisor::phys_path(&socket);
    {
        let sup = Sup::start(&socket, &[]);
        let _k = watch(&socket);
        let (ok, out, err) = run(&exe, &["write"], &env(&socket));
        assert!(ok && out.trim() == "wrote", "{out}\n{err}");
        drop(sup); // SIGKILL: no chance to remove NAME.phys
    }
    let left = phys.exists();
    let _ = std::fs::remove_file(&socket);
    let _sup = Sup::start(&socket, &[]);
    let _k = watch(&socket);
    let (ok, out, err) = run(&exe, &["read"], &env(&socket));
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        out.trim(),
        "reg 0x0",
        "a fresh kernel's untouched register (NAME.phys left behind: {left})"
    );
}

/// The tutorial: "pidin-sim lists each attachment with its level's mask count, latched request
/// and raises, and the waiting thread as INTR".
#[test]
fn pidin_sim_lists_the_attachment_and_the_intr_blocked_thread() {
    let dir = TempDir::new("rv-pidin-intr");
    let path = dir.join("kernel");
    let k = Kernel::create_shared(&path, Config::small()).expect("kernel");
    let me = k.process_attach_self().unwrap();
    let t = k.thread_attach(me, 10).unwrap();
    let id = t.interrupt_attach_event(5, &SigEvent::intr(), 0).unwrap();
    let path_s = path.to_str().unwrap().to_string();
    let (tid, waited) = std::thread::scope(|s| {
        let k2 = k.clone();
        let h = s.spawn(move || {
            let w = k2.thread_attach(me, 10).unwrap();
            let wid = w.interrupt_attach_event(6, &SigEvent::intr(), 0).unwrap();
            let tid = w.tid();
            (tid, wid, w)
        });
        let (tid, wid, w) = h.join().unwrap();
        let waiter = s.spawn(move || {
            w.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, Some(20_000_000_000))
                .unwrap();
            let r = w.interrupt_wait(0);
            let _ = w.interrupt_unmask(6, wid);
            let _ = w.interrupt_detach(wid);
            r
        });
        wait_until("the waiter to be INTR-blocked", || {
            k.thread_info(me.pid, tid)
                .is_ok_and(|i| i.state == ThreadState::Intr)
        });
        let (code, out, err) = tool(PIDIN, &["--kernel", &path_s], &[]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(&format!(
                "interrupt 5 id {id} of pid {} tid {}: event SIGEV_INTR",
                me.pid,
                t.tid()
            )),
            "{out}"
        );
        assert!(out.contains("INTR"), "the INTR-blocked thread: {out}");
        assert_eq!(k.interrupt_raise(6), Ok(1));
        (tid, waiter.join().unwrap())
    });
    assert!(tid > 0);
    assert_eq!(waited, Ok(()));
    t.interrupt_detach(id).unwrap();
    drop(t);
    k.process_destroy(me).unwrap();
}

#[test]
fn intr_sim_refuses_a_non_utf8_kernel_name_with_status_1() {
    use std::os::unix::ffi::OsStringExt;
    let name = std::ffi::OsString::from_vec(b"k\xff".to_vec());
    let (code, out, err) = tool(INTR_SIM, &["3"], &[("QNXSIM_KERNEL", name)]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("not UTF-8"), "{err}");
    assert!(out.is_empty(), "{out}");
}
