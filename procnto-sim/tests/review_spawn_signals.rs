//! Review: spawn/exec chains and signals across real programs on one supervised kernel
//! (`capi/tests/c/review_spawn_signals.c`, one C program in many roles), as a porter would
//! combine them, against what QNX documents (`spawn*()`: the child inherits the signal mask and
//! the ignored signals, caught ones are reset to the default; a process-directed signal reaches
//! the whole process; a replaced or killed server's clients get ESRCH) and docs/deviations.md
//! ("exec": the old image goes when the new one makes its first kernel call):
//!
//! * `spawn*()` in every mode (P_WAIT, P_NOWAIT, P_NOWAITO, P_OVERLAY) from a program on the
//!   kernel with a caught, an ignored and a blocked signal: the child's mask and dispositions,
//!   and a SignalKill of the ignored signal to itself;
//! * a spawned child killed through the kernel (SignalKill from a third program, SIGTERM,
//!   SIGUSR1, a real-time signal) while it is RECEIVE-blocked, or while no thread of it is in
//!   the kernel: the parent's P_WAIT / waitpid status; a caught SIGUSR1 instead ends its
//!   receive with EINTR;
//! * a server that P_OVERLAYs itself while one client is REPLY-blocked on its
//!   `_NTO_CHF_UNBLOCK` channel and another SEND-blocked, both signalled first: both stay until
//!   the new image joins (then ESRCH, and its new channel serves them), or until the new image
//!   is killed before it joins (ESRCH from the supervisor's reaping);
//! * SIGTERM and SIGKILL from Linux, and SignalKill through the kernel, landing anywhere in a
//!   program that execs itself in a loop (between images, inside a new image's first call):
//!   the program dies of the signal and the supervisor reaps every image of it;
//! * a process-group kill (SIGTERM, SIGKILL) of a spawn chain (P_NOWAIT, P_NOWAITO, P_OVERLAY,
//!   grandchildren) whose members message each other: every member reaped, `pidin-sim` names
//!   none of them, the pools back at their baseline.
//!
//! Two defects it found were left as ignored tests, since their fixes lay in files this review
//! could not change (kernel-sim/src/kernel/entry.rs, userlib/src/current.rs): a SignalKill of
//! a program's own pid and a spawned child's priority (each test says what QNX does); both
//! are fixed, and their tests run, as does a third found later: a process-directed SignalKill
//! lost when it reached a program between an exec and the new image's first thread.
//!
//! Every program is bounded in time (alarm() in the C, killed by the parent's death through
//! PR_SET_PDEATHSIG, `finish`/`line` bounds here) and killed on every exit path; the kernel's
//! socket and the program live in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::Running;
use common::prog::blocked_on;
use common::rig::{mentions, Rig};
use common::wait_until;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::Duration;

/// Bound on a program's run.
const RUN: Duration = Duration::from_secs(40);

/// SIGRTMIN + 6 as glibc numbers it (SIGRTMIN is 34: glibc keeps two for itself).
const RT_SIGNAL: i32 = 40;

/// The suite's rig.
fn rig(tag: &str) -> Rig {
    Rig::new(tag, "review_spawn_signals")
}

/// Reads `r`'s lines until one starts with `prefix`: that line.
fn until_line(r: &mut Running, prefix: &str) -> String {
    loop {
        let l = r.line();
        if l.starts_with(prefix) {
            return l;
        }
    }
}

/// The numbers after "ready ": pid and chid.
fn ready(r: &mut Running) -> (i32, i32) {
    let l = until_line(r, "ready ");
    let w: Vec<i32> = l
        .split_whitespace()
        .skip(1)
        .map(|s| s.parse().expect("a number"))
        .collect();
    (w[0], w[1])
}

/// Sends `sig` to `pid` from Linux.
fn signal(pid: i32, sig: Signal) {
    kill(Pid::from_raw(pid), sig).expect("kill");
}

/// Whether Linux process `pid` has ended (gone, or a zombie).
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// SignalKill(0, pid, 0, signo, SI_USER, 0) from another program of the kernel: its line.
fn signal_kill(rig: &Rig, pid: i32, signo: i32) -> String {
    let mut sk = rig.start(&["sk", &pid.to_string(), "0", &signo.to_string()]);
    let line = sk.line();
    let (st, _, err) = sk.finish(RUN);
    assert!(st.success(), "sk: {st} {err}");
    line
}

// ------------------------------------------------------------------ inheritance

/// What QNX's spawn*() give a child, in every mode: the signal mask (SIGRTMIN+1 blocked), the
/// ignored signals (SIGUSR2: a SignalKill of it changes nothing), the caught ones (SIGUSR1)
/// reset to SIG_DFL. P_WAIT and P_NOWAIT give the child's exit status 0; P_NOWAITO's child
/// leaves no zombie; P_OVERLAY's new image is the program itself.
#[test]
fn a_spawned_child_keeps_the_mask_and_ignored_signals_and_gets_caught_ones_reset_in_every_mode() {
    let rig = rig("rv-sp-inherit");
    let base = rig.settled();
    for mode in ["wait", "nowait", "nowaito", "overlay"] {
        let mut p = rig.start(&["inherit", mode]);
        let report = until_line(&mut p, "report ");
        for want in ["blocked=1", "usr1=dfl", "usr2=ign", "ign=1"] {
            assert!(
                report.split_whitespace().any(|w| w == want),
                "{mode}: {want} expected in {report:?}"
            );
        }
        let end = match mode {
            "wait" | "nowait" => Some("status exited 0"),
            "nowaito" => Some("gone"),
            _ => None,
        };
        if let Some(end) = end {
            assert_eq!(p.line(), end, "{mode}");
        }
        let pid = p.pid();
        let (st, out, err) = p.finish(RUN);
        assert!(st.success(), "{mode}: {st}\n{out}\n{err}");
        rig.reaped(pid);
    }
    rig.back_to(base, "after every spawn");
}

/// QNX: a spawned child inherits its parent's priority and scheduling policy (System
/// Architecture, "spawn()"), as an exec'd image keeps its process's: in every mode, the child
/// of a thread that set its priority to 21 (setprio) reports 21 (its first thread joins at
/// what the spawning thread recorded on its process: `Kernel::record_spawn_sched`).
#[test]
fn a_spawned_child_starts_at_its_parent_s_priority() {
    let rig = rig("rv-sp-prio");
    for mode in ["wait", "nowait", "nowaito", "overlay"] {
        let mut p = rig.start(&["inherit", mode]);
        let report = until_line(&mut p, "report ");
        assert!(
            report.split_whitespace().any(|w| w == "prio=21"),
            "{mode}: the parent ran at 21: {report:?}"
        );
        let _ = p.finish(RUN);
    }
}

/// QNX: the policy comes with the priority: the child of a thread that made itself SCHED_FIFO
/// (or SCHED_OTHER, or SCHED_RR) at 21 with SchedSet starts with that policy at 21, spawned or
/// exec'd.
#[test]
fn a_spawned_child_starts_with_its_parent_s_policy() {
    let rig = rig("rv-sp-policy");
    for policy in ["fifo", "other", "rr"] {
        for mode in ["wait", "nowait", "overlay"] {
            let mut p = rig.start(&["inherit", mode, policy]);
            let report = until_line(&mut p, "report ");
            let words: Vec<&str> = report.split_whitespace().collect();
            assert!(
                words.contains(&format!("policy={policy}").as_str()) && words.contains(&"prio=21"),
                "{mode}: the parent ran {policy} at 21: {report:?}"
            );
            let _ = p.finish(RUN);
        }
    }
}

/// QNX: a SignalKill of a process's own pid is a signal to that process: blocked, it stays
/// pending (the process goes on); unblocked with its default action, it ends the process. On a
/// shared kernel the program's own process is its Linux process, but the kernel treats the
/// signal as aimed at a simulated process of this program (`Kernel::apply` in
/// kernel/entry.rs): it destroys the program's kernel process and the program runs on, every
/// later call failing with ESRCH; a blocked signal is not left pending.
#[test]
fn a_signal_kill_of_its_own_pid_signals_the_program_itself() {
    let rig = rig("rv-sp-self");
    let mut p = rig.start(&["inherit", "wait"]);
    let report = until_line(&mut p, "report ");
    assert!(
        report.contains("pend=1") && report.contains("kernel=1"),
        "a blocked SIGRTMIN+1 stays pending and the process stays: {report:?}"
    );
    let _ = p.finish(RUN);
    let (st, out, _) = rig.start(&["selfkill", "15"]).finish(RUN);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(15), "SIGTERM to itself ends it: {out}");
}

// ------------------------------------------------------------------ SignalKill of a child

/// A child spawned by `mode` in role `target KIND`, killed with `signo` by SignalKill from a
/// third program: the lines its parent prints after the child's "ready" line.
fn kill_spawned(rig: &Rig, mode: &str, kind: &str, signo: i32) -> Vec<String> {
    let mut parent = rig.start(&["parent", mode, "target", kind]);
    let (pid, _) = ready(&mut parent);
    assert_eq!(
        signal_kill(rig, pid, signo),
        "sk 0",
        "{mode} {kind} {signo}"
    );
    let (st, out, err) = parent.finish(RUN);
    assert!(st.success(), "parent {mode} {kind}: {st}\n{out}\n{err}");
    rig.reaped(pid as u32);
    out.lines()
        .skip_while(|l| !l.starts_with("ready "))
        .skip(1)
        .map(String::from)
        .collect()
}

/// QNX's P_WAIT returns the child's status as wait() reports it, and waitpid() after P_NOWAIT
/// gives it too: a child a process-directed SignalKill ended (its default action) is
/// WIFSIGNALED with that signal, whether it was RECEIVE-blocked or had no thread in the kernel
/// (the thread that made its channel ended). The supervisor reaps it.
#[test]
fn a_child_ended_by_signal_kill_from_another_program_gives_its_parent_the_signal_status() {
    let rig = rig("rv-sp-sk");
    let base = rig.settled();
    for (mode, kind, signo) in [
        ("wait", "recv", 15),
        ("nowait", "recv", 10),
        ("wait", "recv", RT_SIGNAL),
        ("wait", "threadless", 15),
        ("nowait", "threadless", RT_SIGNAL),
    ] {
        let lines = kill_spawned(&rig, mode, kind, signo);
        let want = format!("status signaled {signo}");
        assert!(
            lines.last().is_some_and(|l| *l == want),
            "{mode} {kind}, signal {signo}: {lines:?}"
        );
    }
    rig.back_to(base, "after the killed children");
}

/// A caught SIGUSR1 from SignalKill does not end the child: its handler runs and its
/// MsgReceivePulse returns EINTR (it then exits 42, which P_WAIT reports).
#[test]
fn a_caught_signal_kill_interrupts_the_child_s_receive_and_p_wait_gives_its_exit() {
    let rig = rig("rv-sp-sk-caught");
    let base = rig.settled();
    let lines = kill_spawned(&rig, "wait", "usr1", 10);
    assert_eq!(lines, ["eintr usr1=1", "status exited 42"]);
    rig.back_to(base, "after the child");
}

// ------------------------------------------------------------------ exec under clients

/// A server on an `_NTO_CHF_UNBLOCK` channel holding one client REPLY-blocked, another client
/// SEND-blocked, both signalled (SIGUSR1, caught): the REPLY-blocked one stays (the server got
/// an unblock pulse it never answers), the SEND-blocked one's MsgSend ends with EINTR and it
/// sends again. Then the server P_OVERLAYs itself: its new image prints "after-up" and makes no
/// kernel call yet. Returns the rig's baseline, the server, its pid and the two clients.
fn server_with_blocked_clients(rig: &Rig, again: &str) -> ([u32; 8], Running, i32, [Running; 2]) {
    let base = rig.settled();
    let mut server = rig.start(&["xserver", "2", &rig.dir_arg()]);
    let (spid, chid) = ready(&mut server);
    let (s, c) = (spid.to_string(), chid.to_string());
    let mut replying = rig.start(&["xclient", &s, &c, again]);
    assert_eq!(replying.line(), "client up");
    assert_eq!(server.line(), "holding");
    let mut sending = rig.start(&["xclient", &s, &c, again]);
    assert_eq!(sending.line(), "client up");
    let (rp, sp) = (replying.pid() as i32, sending.pid() as i32);
    wait_until("a client REPLY-blocked, another SEND-blocked", || {
        blocked_on(&rig.k, Some(rp), spid) == (0, 1) && blocked_on(&rig.k, Some(sp), spid) == (1, 0)
    });
    signal(rp, Signal::SIGUSR1);
    signal(sp, Signal::SIGUSR1);
    assert_eq!(sending.line(), "client EINTR", "SEND-blocked: EINTR");
    wait_until("the SEND-blocked client sent again", || {
        blocked_on(&rig.k, Some(sp), spid) == (1, 0)
    });
    rig.word("exec", "");
    assert_eq!(server.line(), "after-up");
    // (docs/deviations.md, "exec": until the new image's first kernel call, the old image's
    // channel and its blocked clients stay.)
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        (
            blocked_on(&rig.k, Some(rp), spid),
            blocked_on(&rig.k, Some(sp), spid)
        ),
        ((0, 1), (1, 0)),
        "the clients wait until the new image joins"
    );
    (base, server, spid, [replying, sending])
}

/// The new image joins: both clients get ESRCH (QNX: the old image's channel is gone), then
/// its new channel 1 serves each of them.
#[test]
fn a_server_replaced_by_p_overlay_releases_its_reply_and_send_blocked_clients_with_esrch() {
    let rig = rig("rv-sp-overlay");
    let (base, mut server, spid, clients) = server_with_blocked_clients(&rig, "1");
    rig.word("join", "");
    assert_eq!(server.line(), "after chid 1");
    for mut c in clients {
        assert_eq!(until_line(&mut c, "client E"), "client ESRCH");
        assert_eq!(c.line(), "client second ok");
        let (st, out, err) = c.finish(RUN);
        assert!(st.success(), "client: {st}\n{out}\n{err}");
    }
    let (st, out, err) = server.finish(RUN);
    assert!(st.success(), "the new image: {st}\n{out}\n{err}");
    rig.reaped(spid as u32);
    rig.back_to(base, "after the server and its clients");
}

/// The new image is killed (SIGTERM, from Linux) before its first kernel call: the supervisor
/// reaps the program, the old image's process with it, and both clients get ESRCH.
#[test]
fn a_new_image_killed_before_it_joins_releases_the_old_image_s_clients_with_esrch() {
    let rig = rig("rv-sp-overlay-kill");
    let (base, server, spid, clients) = server_with_blocked_clients(&rig, "0");
    signal(spid, Signal::SIGTERM);
    let (st, _, _) = server.finish(RUN);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(15), "the new image died of SIGTERM");
    rig.reaped(spid as u32);
    for mut c in clients {
        assert_eq!(until_line(&mut c, "client E"), "client ESRCH");
        let (st, out, err) = c.finish(RUN);
        assert!(st.success(), "client: {st}\n{out}\n{err}");
    }
    rig.back_to(base, "after the server and its clients");
}

// ------------------------------------------------------------------ an exec chain

/// A program that P_OVERLAYs itself for ever (each image joins, makes a connection and a
/// pulse), killed at 12 moments, 0 to 110 ms after its first image joined, so that the signal
/// lands between images and inside images' first calls: from Linux (SIGTERM, SIGKILL) or, with
/// `via_kernel`, through the kernel (SignalKill of SIGTERM from another program). Each time the
/// program dies of the signal and the supervisor reaps every image of it; at the end the pools
/// are at their baseline and the lock is free.
fn exec_chain_killed(tag: &str, via_kernel: bool) {
    let rig = rig(tag);
    let base = rig.settled();
    let mut retried = 0;
    for round in 0..12u64 {
        let mut p = rig.start(&["chain"]);
        let pid = p.pid() as i32;
        assert_eq!(p.line(), format!("chain {pid}"));
        std::thread::sleep(Duration::from_millis(round * 10));
        let want = match (via_kernel, round % 2) {
            (false, 0) => {
                signal(pid, Signal::SIGTERM);
                15
            }
            (false, _) => {
                signal(pid, Signal::SIGKILL);
                9
            }
            (true, _) => {
                // (ESRCH only if the pid had no process of the kernel at that instant: between
                // a new image's teardown of the old one and its own attach. Counted, sent again.)
                let mut tries = 0;
                while signal_kill(&rig, pid, 15) != "sk 0" {
                    tries += 1;
                    assert!(tries < 50, "SignalKill never found the chain's pid");
                }
                retried += tries;
                15
            }
        };
        eprintln!("round {round}: signal {want} sent");
        let (st, out, err) = p.finish(RUN);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(st.signal(), Some(want), "round {round}: {st}\n{out}\n{err}");
        rig.reaped(pid as u32);
    }
    eprintln!("SignalKill found no process of the chain's pid {retried} times");
    rig.back_to(base, "after the chains");
    assert_eq!(rig.k.lock_owner(), None, "the kernel lock is free");
}

#[test]
fn linux_signals_landing_anywhere_in_an_exec_chain_end_it_and_every_image_is_reaped() {
    exec_chain_killed("rv-sp-chain", false);
}

/// The same with SignalKill through the kernel. A signal that finds the new image's process
/// before its first thread has attached goes to the Linux process all the same (it was once
/// dropped there, about one run in 50 under load, and the chain went on exec'ing itself).
#[test]
fn signal_kills_landing_anywhere_in_an_exec_chain_end_it_and_every_image_is_reaped() {
    exec_chain_killed("rv-sp-chain-sk", true);
}

// ------------------------------------------------------------------ a process group

/// A spawn chain in a process group of its own: the root (a server, 2 threads) spawns a client
/// (P_NOWAIT, which spawns a grandchild, which spawns another) and a middle program
/// (P_NOWAITO) that joins the kernel and P_OVERLAYs itself into a client with a child of its
/// own. Once 200 requests were served, `sig` goes to the whole group (kill(-pgid)): every
/// member ends, the supervisor reaps each, `pidin-sim` names none, the pools are back.
fn group_kill(tag: &str, sig: Signal) {
    let rig = rig(tag);
    let base = rig.settled();
    let mut root = rig.start(&["groot"]);
    let pgid: i32 = until_line(&mut root, "pgid ")[5..].parse().expect("pgid");
    assert_eq!(pgid, root.pid() as i32, "the root leads its group");
    // (7 lines: the root, 3 clients down the P_NOWAIT line, the middle program twice (before
    // and after its overlay) and its client; in any order around "served".)
    let (mut members, mut served) = (Vec::new(), false);
    while members.len() < 7 || !served {
        let l = root.line();
        if let Some(m) = l.strip_prefix("member ") {
            members.push(m.parse::<i32>().expect("a pid"));
        } else if l == "served" {
            served = true;
        }
    }
    members.sort_unstable();
    members.dedup();
    assert_eq!(
        members.len(),
        6,
        "6 programs (one pid twice: the overlay): {members:?}"
    );
    kill(Pid::from_raw(-pgid), sig).expect("kill(-pgid)");
    let (st, _, _) = root.finish(RUN);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(sig as i32), "the root died of it");
    wait_until("every member ended", || members.iter().all(|&m| ended(m)));
    for &m in &members {
        rig.reaped(m as u32);
    }
    rig.back_to(base, "after the group");
    let view = rig.pidin();
    for &m in &members {
        assert!(
            !mentions(&view, m as u32),
            "pidin-sim still names {m}:\n{view}"
        );
    }
}

#[test]
fn a_group_sigterm_of_a_spawn_chain_messaging_each_other_reaps_every_member() {
    group_kill("rv-sp-group-term", Signal::SIGTERM);
}

#[test]
fn a_group_sigkill_of_a_spawn_chain_messaging_each_other_reaps_every_member() {
    group_kill("rv-sp-group-kill", Signal::SIGKILL);
}
