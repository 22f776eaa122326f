//! QNX's interrupt calls from C (`capi/tests/c/interrupts_suite.c`), as a porter's driver uses
//! them, on the simulated interrupts: the suite on the program's own kernel, compiled as C99
//! (linked shared and static) and as C++17 (InterruptAttachEvent with SIGEV_INTR and with
//! SIGEV_PULSE, InterruptAttach handlers that read their area and return an event or NULL, the
//! latch, the flags, every errno and the `_r` forms, TimerTimeout(_NTO_TIMEOUT_INTR),
//! InterruptLock/InterruptUnlock between a handler and a thread, InterruptDisable/Enable). And
//! across processes on one supervised kernel: a C driver program (InterruptAttachEvent +
//! InterruptWait + InterruptUnmask) served by a second C program raising the level
//! (`qnxsim_interrupt_raise`, the hardware); and a driver killed with SIGKILL while it holds
//! the level masked with `_NTO_INTR_FLAGS_TRK_MSK`: its teardown gives the mask back, so that a
//! restarted driver gets its interrupts.
//!
//! Every program runs bounded in time and is killed on every exit path (`Running`, `Prog` and
//! `Sup` kill and reap on drop); every file lives in a temporary directory removed on every
//! exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build_suite, expect_pass, Lang, Link};
use common::prog::{expect_ok, gone, remains_of, Prog};
use common::*;
use kernel_sim::Kernel;
use procs::TempDir;
use std::path::PathBuf;
use std::time::Duration;

/// The checks interrupts_suite.c makes at the least.
const MIN_CHECKS: u32 = 160;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(90);

c_suite_tests!("interrupts_suite", MIN_CHECKS, RUN_WITHIN);

/// QNX's `_r` forms leave errno alone, also when the call blocked until its TimerTimeout.
#[test]
fn an_r_call_that_timed_out_leaves_errno_alone() {
    let dir = TempDir::new("c-interrupts-r");
    let exe = build_suite(&dir, "interrupts_suite", Lang::C99, Link::Shared);
    expect_pass(&exe, &["r-timeout"], &[], 4, RUN_WITHIN);
}

// ------------------------------------------------------------------ across processes

/// A supervised kernel, watched, and the suite built (C99, shared) to run in its roles.
/// (Dropped in this order: the supervisor, then the directory of its socket.)
struct Setting {
    _sup: Sup,
    k: Kernel,
    exe: PathBuf,
    env: Vec<(&'static str, String)>,
    _dir: TempDir,
}

impl Setting {
    fn new(tag: &str) -> Setting {
        let dir = TempDir::new(tag);
        let socket = socket_in(&dir);
        let sup = Sup::start(&socket, &[]);
        let k = watch(&socket);
        let exe = build_suite(&dir, "interrupts_suite", Lang::C99, Link::Shared);
        let env = env(&socket);
        Setting {
            _sup: sup,
            k,
            exe,
            env,
            _dir: dir,
        }
    }

    fn start(&self, args: &[&str]) -> Prog {
        Prog::start(&self.exe, args, &self.env)
    }

    /// A driver role that said "ready PID ID": it, and its attachment's id.
    fn driver(&self, args: &[&str]) -> (Prog, i32) {
        let mut d = self.start(args);
        let line = d.line();
        let ready: Vec<i64> = numbers(
            line.strip_prefix("ready ")
                .unwrap_or_else(|| panic!("{}: {line:?}", d.what)),
        );
        assert_eq!(ready[0], i64::from(d.pid()), "{line:?}");
        assert!(ready[1] > 0, "the driver's InterruptAttachEvent: {line:?}");
        (d, ready[1] as i32)
    }

    /// The attachment `id` of `pid` as the kernel lists it: (level, masks it holds, the level's
    /// mask count, a request latched).
    fn attachment(&self, pid: i32, id: i32) -> Option<(u32, u32, u32, bool)> {
        self.k
            .snapshot()
            .interrupts
            .iter()
            .find(|i| i.pid == pid && i.id == id)
            .map(|i| (i.level, i.masks, i.level_mask, i.level_pending))
    }
}

/// One raise by the raiser program: what `qnxsim_interrupt_raise` returned.
fn raise(raiser: &mut Prog) -> i32 {
    raiser.say("raise");
    let line = raiser.line();
    line.strip_prefix("raised ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the raiser: {line:?}"))
}

/// A driver serving `n` interrupts raised by the raiser, one at a time: each raise reaches it
/// at once (the driver unmasked the level before saying "irq"), and wakes it once.
fn serve(raiser: &mut Prog, driver: &mut Prog, n: usize) {
    for i in 1..=n {
        assert_eq!(
            raise(raiser),
            1,
            "raise {i}: delivered to the driver's attachment"
        );
        assert_eq!(
            driver.line(),
            format!("irq {i}"),
            "the driver served raise {i}"
        );
    }
}

#[test]
fn a_c_driver_serves_interrupts_raised_by_another_program() {
    let s = Setting::new("c-interrupts-xproc");
    let mut raiser = s.start(&["raiser", "40"]);
    let (mut driver, id) = s.driver(&["serve", "40", "5"]);
    let (level, masks, mask, pending) = s
        .attachment(driver.pid(), id)
        .expect("the driver's attachment in the kernel's listing");
    assert_eq!((level, masks, mask, pending), (40, 0, 0, false));
    serve(&mut raiser, &mut driver, 5);
    expect_ok("the driver", driver.finish(WITHIN), 12);
    raiser.say("quit");
    let (status, _, err) = raiser.finish(WITHIN);
    assert!(status.success(), "the raiser: {status} {err}");
    assert!(
        !s.k.snapshot().interrupts.iter().any(|i| i.level == 40),
        "the driver detached"
    );
}

#[test]
fn a_driver_killed_holding_the_level_masked_with_trk_msk_leaves_it_unmasked() {
    let s = Setting::new("c-interrupts-kill");
    let mut raiser = s.start(&["raiser", "41"]);
    let (mut holder, id) = s.driver(&["hold", "41"]);
    let pid = holder.pid();
    assert_eq!(raise(&mut raiser), 1, "the first raise reaches the driver");
    assert_eq!(holder.line(), "holding");
    assert_eq!(
        s.attachment(pid, id),
        Some((41, 1, 1, false)),
        "the driver holds the level masked once"
    );
    assert_eq!(
        raise(&mut raiser),
        0,
        "a raise of the masked level is latched"
    );
    assert_eq!(s.attachment(pid, id), Some((41, 1, 1, true)));

    let status = holder.kill();
    assert!(!status.success(), "killed: {status}");
    let k = &s.k;
    wait_until("the killed driver's teardown", || {
        gone(k, pid) && !k.snapshot().interrupts.iter().any(|i| i.pid == pid)
    });
    assert!(gone(k, pid), "{}", remains_of(k, pid));

    // The restarted driver: the level was unmasked by the teardown (the latched request went
    // to no one), so each raise reaches it at once.
    let (mut driver, id2) = s.driver(&["serve", "41", "3"]);
    assert_eq!(
        s.attachment(driver.pid(), id2),
        Some((41, 0, 0, false)),
        "the restarted driver's level: unmasked, nothing latched"
    );
    serve(&mut raiser, &mut driver, 3);
    expect_ok("the restarted driver", driver.finish(WITHIN), 8);
    raiser.say("quit");
    let (status, _, err) = raiser.finish(WITHIN);
    assert!(status.success(), "the raiser: {status} {err}");
}
