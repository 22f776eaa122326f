//! Review of the simulated interrupts (kernel-sim/src/calls/interrupt.rs), from outside:
//!
//! * QNX's `_NTO_INTR_FLAGS_PROCESS`: without it an attachment belongs to the thread that made
//!   it and is dissociated when that thread exits (its `_NTO_INTR_FLAGS_TRK_MSK` masks given
//!   back); with it the attachment lasts as long as the process ("The flags parameter", QNX's
//!   Getting Started).
//! * A shared kernel: a program killed parked under the lock inside an interrupt call (the
//!   fault hook's `locked` point: after the call changed the tables, before its undo record is
//!   committed) has the call undone: the level's mask count, latch and counters, and the
//!   attachment pool, are as before the call.
//! * A shared kernel: a program killed while its service thread runs a handler (the run taken,
//!   never reported done) gives the run's mask back at its reaping, and the pool comes back to
//!   its baseline.

mod support;

use support::*;

const TRK: u32 = _NTO_INTR_FLAGS_TRK_MSK;
const PROC: u32 = _NTO_INTR_FLAGS_PROCESS;

/// The attachments listed on `level`: (id, masks it holds, the level's mask count, a request
/// latched, raises of the level).
fn listed(k: &Kernel, level: u32) -> Vec<(i32, u32, u32, bool, u64)> {
    k.snapshot()
        .interrupts
        .into_iter()
        .filter(|i| i.level == level)
        .map(|i| (i.id, i.masks, i.level_mask, i.level_pending, i.level_raised))
        .collect()
}

/// InterruptWait(0) that never blocks: ETIMEDOUT when no `SIGEV_INTR` is pending.
fn poll_wait(t: &ThreadCtx) -> KResult<()> {
    arm(t, _NTO_TIMEOUT_INTR, None);
    t.interrupt_wait(0)
}

// ------------------------------------------------------------------ _NTO_INTR_FLAGS_PROCESS

/// QNX: "If you don't specify this flag, the interrupt handler will be dissociated from the
/// interrupt source when the thread that created the association in the first place exits",
/// and `_NTO_INTR_FLAGS_TRK_MSK` is "required to ensure an orderly unmasking of the interrupt
/// source should the process or thread exit". Here the attachment outlives its thread, holding
/// the level masked for good.
#[test]
fn without_the_process_flag_an_attachment_ends_with_its_thread_and_gives_its_masks_back() {
    let w = one();
    let before = w.k.pool_usage().interrupts.live;
    let keep =
        w.t.interrupt_attach_event(60, &SigEvent::intr(), 0)
            .unwrap();
    let bg = spawn(&w.k, w.p, 10, |c| {
        let id = c
            .interrupt_attach_event(60, &SigEvent::intr(), TRK)
            .unwrap();
        // Raised once: each attachment masks the level once.
        assert_eq!(c.kernel().interrupt_raise(60), Ok(2));
        id
    });
    let gone = bg.join();
    assert_eq!(poll_wait(&w.t), Ok(()), "our attachment got the raise");
    let ids: Vec<i32> = listed(&w.k, 60).iter().map(|l| l.0).collect();
    assert!(
        !ids.contains(&gone),
        "the exited thread's attachment {gone} is still listed: {ids:?}"
    );
    assert_eq!(
        w.k.pool_usage().interrupts.live,
        before + 1,
        "only ours left"
    );
    // Its TRK_MSK mask was given back: only ours holds the level now.
    assert_eq!(w.t.interrupt_unmask(60, keep), Ok(0));
    w.t.interrupt_detach(keep).unwrap();
    assert_eq!(w.k.pool_usage().interrupts.live, before);
}

/// With `_NTO_INTR_FLAGS_PROCESS` the attachment is the process's: it outlives its thread, and
/// any thread of the process unmasks and detaches it.
#[test]
fn with_the_process_flag_an_attachment_outlives_its_thread() {
    let w = one();
    let before = w.k.pool_usage().interrupts.live;
    let id = spawn(&w.k, w.p, 10, |c| {
        c.interrupt_attach_event(61, &SigEvent::intr(), PROC | TRK)
            .unwrap()
    })
    .join();
    assert_eq!(w.k.interrupt_raise(61), Ok(1));
    let l = listed(&w.k, 61);
    assert_eq!(l.len(), 1);
    assert_eq!((l[0].0, l[0].1, l[0].2), (id, 1, 1));
    assert_eq!(w.t.interrupt_unmask(61, id), Ok(0));
    w.t.interrupt_detach(id).unwrap();
    assert_eq!(w.k.pool_usage().interrupts.live, before);
}

// ------------------------------------------------------------------ a shared kernel

/// Where a child starts (support/procs.rs); ignored in a normal run.
#[cfg(not(loom))]
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    shared::child(&role, &arg);
}

#[cfg(not(loom))]
mod shared {
    use super::*;
    use std::path::Path;
    use std::time::{Duration, Instant};

    const WITHIN: Duration = Duration::from_secs(20);

    fn join(path: &str) -> (Kernel, Pid, ThreadCtx) {
        let k = Kernel::open_shared(Path::new(path)).expect("open_shared");
        let p = k.process_attach_self().expect("process_attach_self");
        let t = k.thread_attach(p, 10).expect("thread_attach");
        (k, p, t)
    }

    /// "path level what": joins (two locked passes), says "attached", then makes its third
    /// locked pass, which the fault hook parks under the lock: `raise` raises `level`, `attach`
    /// attaches a SIGEV_INTR to it with `_NTO_INTR_FLAGS_NO_UNMASK`.
    fn parked(arg: &str) {
        let mut it = arg.split(' ');
        let path = it.next().unwrap();
        let level: i32 = it.next().unwrap().parse().unwrap();
        let what = it.next().unwrap();
        let (k, _p, t) = join(path);
        tell_parent("attached");
        match what {
            "raise" => {
                let _ = k.interrupt_raise(level);
            }
            "attach" => {
                let _ =
                    t.interrupt_attach_event(level, &SigEvent::intr(), _NTO_INTR_FLAGS_NO_UNMASK);
            }
            other => panic!("unknown call {other}"),
        }
        tell_parent("not parked");
        std::thread::sleep(Duration::from_secs(60));
    }

    /// "path level": attaches a handler to `level` (no TRK_MSK), takes the run of the raise
    /// the parent makes and never reports it done: says "ready ID", then "running", then
    /// sleeps until killed.
    fn stuck_handler(arg: &str) {
        let (path, level) = arg.split_once(' ').unwrap();
        let level: i32 = level.parse().unwrap();
        let (_k, _p, t) = join(path);
        let id = t.interrupt_attach_handler(level, 0).unwrap();
        tell_parent(&format!("ready {id}"));
        arm(&t, _NTO_TIMEOUT_INTR, Some(LONG));
        let got = t.interrupt_service_wait();
        assert_eq!(got, Ok(id));
        tell_parent("running");
        std::thread::sleep(Duration::from_secs(60));
    }

    pub(super) fn child(role: &str, arg: &str) {
        match role {
            "parked" => parked(arg),
            "stuck-handler" => stuck_handler(arg),
            other => panic!("unknown role {other}"),
        }
    }

    fn parent(dir: &TempDir) -> (Kernel, String, Pid, ThreadCtx) {
        let path = dir.join("kernel");
        let k = Kernel::create_shared(&path, Config::default()).expect("create_shared");
        let me = k.process_attach_self().unwrap();
        let t = k.thread_attach(me, 10).unwrap();
        (k, path.to_str().unwrap().to_string(), me, t)
    }

    fn wait_lock_held_by(k: &Kernel, pid: i32) {
        let until = Instant::now() + WITHIN;
        while k.lock_owner() != Some(pid) {
            assert!(Instant::now() < until, "the child never held the lock");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// A raise made by a program killed before its call committed is undone: the level is not
    /// masked, nothing latched or counted, and no `SIGEV_INTR` reached the attached thread.
    #[test]
    fn a_raise_whose_program_died_under_the_lock_is_undone() {
        let dir = TempDir::new("rv-intr-undo-raise");
        let (k, path, me, t) = parent(&dir);
        let id = t.interrupt_attach_event(70, &SigEvent::intr(), 0).unwrap();
        let c = Child::spawn_with_env(
            "parked",
            &format!("{path} 70 raise"),
            &[("QNXSIM_FAULT", "locked:3:20000000")],
        );
        assert_eq!(c.line(WITHIN), "attached");
        let pid = c.pid();
        wait_lock_held_by(&k, pid);
        c.kill();
        // Our next call finds the holder dead, undoes its call and reaps it.
        assert_eq!(poll_wait(&t), Err(Errno::ETIMEDOUT), "no SIGEV_INTR left");
        assert_eq!(k.lock_owner(), None);
        assert_eq!(
            listed(&k, 70),
            vec![(id, 0, 0, false, 0)],
            "level 70 as before the raise"
        );
        assert_eq!(k.interrupt_raise(70), Ok(1), "and it still works");
        assert_eq!(poll_wait(&t), Ok(()));
        assert_eq!(t.interrupt_unmask(70, id), Ok(0));
        t.interrupt_detach(id).unwrap();
        assert_eq!(k.pool_usage().interrupts.live, 0);
        drop(t);
        k.process_destroy(me).unwrap();
    }

    /// An InterruptAttachEvent with `_NTO_INTR_FLAGS_NO_UNMASK` whose program died before it
    /// committed is undone: no attachment, and the level not left masked.
    #[test]
    fn an_attach_whose_program_died_under_the_lock_is_undone() {
        let dir = TempDir::new("rv-intr-undo-attach");
        let (k, path, me, t) = parent(&dir);
        let c = Child::spawn_with_env(
            "parked",
            &format!("{path} 71 attach"),
            &[("QNXSIM_FAULT", "locked:3:20000000")],
        );
        assert_eq!(c.line(WITHIN), "attached");
        let pid = c.pid();
        wait_lock_held_by(&k, pid);
        c.kill();
        let id = t.interrupt_attach_event(71, &SigEvent::intr(), 0).unwrap();
        assert_eq!(k.lock_owner(), None);
        assert_eq!(k.pool_usage().interrupts.live, 1, "only ours");
        assert_eq!(
            listed(&k, 71),
            vec![(id, 0, 0, false, 0)],
            "level 71 not left masked by the undone NO_UNMASK attach"
        );
        assert_eq!(k.interrupt_raise(71), Ok(1));
        assert_eq!(poll_wait(&t), Ok(()));
        assert_eq!(t.interrupt_unmask(71, id), Ok(0));
        t.interrupt_detach(id).unwrap();
        drop(t);
        k.process_destroy(me).unwrap();
    }

    /// A program killed while its handler runs (the run taken from InterruptServiceWait, never
    /// done) gives the run's mask back when reaped, even without TRK_MSK; a latched request
    /// then reaches the level's other attachment, and the pool is back to its baseline.
    #[test]
    fn a_program_killed_while_its_handler_runs_gives_the_runs_mask_back() {
        let dir = TempDir::new("rv-intr-stuck");
        let (k, path, me, t) = parent(&dir);
        let c = Child::spawn("stuck-handler", &format!("{path} 72"));
        let line = c.line(WITHIN);
        let hid: i32 = line
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("{line:?}"))
            .parse()
            .unwrap();
        let mine = t.interrupt_attach_event(72, &SigEvent::intr(), 0).unwrap();
        assert_eq!(k.interrupt_raise(72), Ok(2));
        assert_eq!(c.line(WITHIN), "running");
        assert_eq!(poll_wait(&t), Ok(()));
        assert_eq!(t.interrupt_unmask(72, mine), Ok(1), "the run holds a mask");
        assert_eq!(k.interrupt_raise(72), Ok(0), "latched");
        assert!(listed(&k, 72).iter().any(|l| l.0 == hid));
        let pid = c.pid();
        c.kill();
        assert_eq!(k.reap_os_process(pid), 1);
        assert_eq!(k.pool_usage().interrupts.live, 1, "only ours left");
        assert_eq!(poll_wait(&t), Ok(()), "the latched request reached us");
        assert_eq!(t.interrupt_unmask(72, mine), Ok(0));
        t.interrupt_detach(mine).unwrap();
        assert_eq!(k.pool_usage().interrupts.live, 0);
        drop(t);
        k.process_destroy(me).unwrap();
    }
}
