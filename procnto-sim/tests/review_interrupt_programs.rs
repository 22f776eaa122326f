//! Review: simulated interrupts used from C by separate programs on one supervised kernel, as
//! driver ports use them (`capi/tests/c/review_interrupt_programs.c`, one program in many
//! roles). Two drivers sharing a level (each raise masks it once per attachment, each driver
//! unmasks its own, a request latched meanwhile reaches both); a driver killed with SIGKILL
//! while it holds the level masked (`_NTO_INTR_FLAGS_TRK_MSK`), while INTR-blocked, while its
//! handler runs, and one exiting without detaching: the other driver is not left with a masked
//! level, gets the latched request, and `pidin-sim` shows nothing of the dead. Pulse and
//! signal events raised by another program; `intr-sim`'s periodic raises; `_EXCLUSIVE`
//! refused for a second program; `_NTO_INTR_FLAGS_END` and the order of the others; another
//! program's interrupt id refused (never detached, masked or unmasked); InterruptWait in a
//! thread that did not attach, bounded by TimerTimeout; a raise with nobody attached.
//!
//! Every program is bounded in time (alarm() and TimerTimeout in the C, `finish`/`line` bounds
//! here) and killed on every exit path (`Running`, `Sup` kill and reap on drop); the
//! supervisor's socket and the programs' files live in a temporary directory removed on every
//! exit path. The kernel's state is polled (bounded), never assumed after a sleep.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{expect_summary, Running};
use common::rig::{mentions, Rig};
use common::{wait_until, WITHIN};
use kernel_sim::info::InterruptInfo;
use kernel_sim::ThreadState;
use std::path::Path;
use std::time::Duration;

/// The tool that raises levels from the shell.
const INTR_SIM: &str = env!("CARGO_BIN_EXE_intr-sim");
/// Bound on a program's run.
const RUN: Duration = Duration::from_secs(60);
/// `_NTO_INTR_FLAGS_*` (`<sys/neutrino.h>`).
const END: &str = "1";
const TRK_MSK: &str = "8";
const EXCLUSIVE: &str = "32";
/// errnos (Linux's, which QNX's match for these).
const EBUSY: i32 = 16;
const EPERM: i32 = 1;

/// What these programs need of the rig besides `common::rig`'s.
impl Rig {
    /// An `event` driver on `level` with `flags`, tagged `tag`, serving `n` interrupts: it,
    /// its attachment's id and the tid that attached.
    fn event_driver(&self, level: u32, flags: &str, tag: &str, n: u32) -> (Running, i32, i32) {
        let mut d = self.start(&[
            "event",
            &level.to_string(),
            flags,
            &self.dir_arg(),
            tag,
            &n.to_string(),
        ]);
        let w = ready(&mut d);
        assert_eq!(w[0], d.pid().to_string(), "{w:?}");
        (d, w[1].parse().unwrap(), w[2].parse().unwrap())
    }

    /// One raise by a separate C program (`qnxsim_interrupt_raise`): what it returned.
    fn raise_c(&self, level: u32) -> i32 {
        let (st, out, err) = self.start(&["raise", &level.to_string()]).finish(WITHIN);
        assert!(st.success(), "the raiser: {st} {out} {err}");
        out.lines()
            .find_map(|l| l.strip_prefix("raised "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("the raiser said {out:?}"))
    }

    /// `intr-sim --kernel SOCKET LEVEL ARGS...`, to its end: its stdout.
    fn intr_sim(&self, level: u32, args: &[&str]) -> String {
        let sock = self.socket.display().to_string();
        let lv = level.to_string();
        let mut all = vec!["--kernel", sock.as_str(), lv.as_str()];
        all.extend_from_slice(args);
        let (st, out, err) =
            Running::start(Path::new(INTR_SIM), &all, &[] as &[(&str, &str)]).finish(WITHIN);
        assert!(st.success(), "intr-sim {all:?}: {st}\n{out}\n{err}");
        out
    }

    /// The attachment `id` of `pid`, as the kernel lists it.
    fn att(&self, pid: u32, id: i32) -> Option<InterruptInfo> {
        self.k
            .snapshot()
            .interrupts
            .into_iter()
            .find(|i| i.pid == pid as i32 && i.id == id)
    }

    /// Level `l`'s (mask count, a request latched), attached or not.
    fn level(&self, l: u32) -> (u32, bool) {
        let s = self.k.snapshot();
        if let Some(i) = s.interrupts.iter().find(|i| i.level == l) {
            return (i.level_mask, i.level_pending);
        }
        s.masked_levels
            .iter()
            .find(|m| m.level == l)
            .map_or((0, false), |m| (m.mask, m.pending))
    }

    /// Waits until level `l` is at (`mask`, `pending`).
    fn level_is(&self, l: u32, mask: u32, pending: bool, what: &str) {
        let until = std::time::Instant::now() + WITHIN;
        loop {
            let now = self.level(l);
            if now == (mask, pending) {
                return;
            }
            assert!(
                std::time::Instant::now() < until,
                "{what}: level {l} is (mask, latched) {now:?}, want {:?}\n{}",
                (mask, pending),
                self.pidin()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until the attachment holds `masks` masks.
    fn holds(&self, pid: u32, id: i32, masks: u32, what: &str) {
        wait_until(what, || self.att(pid, id).is_some_and(|a| a.masks == masks));
    }

    /// Waits until thread `tid` of `pid` is INTR-blocked.
    fn intr_blocked(&self, pid: u32, tid: i32, what: &str) {
        wait_until(what, || {
            self.k
                .thread_info(pid as i32, tid)
                .is_ok_and(|i| i.state == ThreadState::Intr)
        });
    }

    /// `pidin-sim` must show nothing of `pid`.
    fn pidin_forgot(&self, pid: u32) {
        let text = self.pidin();
        assert!(
            !mentions(&text, pid),
            "pidin-sim still shows the dead program {pid}:\n{text}"
        );
    }
}

/// Reads `r`'s lines until one starts with `prefix` (a failed check before it fails the test):
/// that line.
fn until_line(r: &mut Running, prefix: &str) -> String {
    let mut seen = Vec::new();
    loop {
        let l = r.line();
        assert!(
            !l.starts_with("FAIL"),
            "waiting for {prefix:?}: {l}\nbefore:\n{}",
            seen.join("\n")
        );
        if l.starts_with(prefix) {
            return l;
        }
        seen.push(l);
    }
}

/// The words after "ready ".
fn ready(r: &mut Running) -> Vec<String> {
    until_line(r, "ready ")
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect()
}

/// A program's end: it passed at least `min` checks and failed none.
fn ok(who: &str, end: (std::process::ExitStatus, String, String), min: u32) {
    expect_summary(who, end, min);
}

/// The `N` of a "WORD N ..." line's `i`th number.
fn nth(line: &str, i: usize) -> i32 {
    line.split_whitespace()
        .nth(i)
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number {i} in {line:?}"))
}

// ------------------------------------------------------------------ two drivers, one level

#[test]
fn two_drivers_share_a_level_each_unmasking_its_own_mask_and_both_get_the_latched_request() {
    const L: u32 = 60;
    let rig = Rig::new("rv-intrprog-share", "review_interrupt_programs");
    let (mut a, aid, _) = rig.event_driver(L, "0", "a", 2);
    let (mut b, bid, _) = rig.event_driver(L, "0", "b", 2);
    let (ap, bp) = (a.pid(), b.pid());
    assert_eq!(
        rig.level(L),
        (0, false),
        "attached: unmasked, nothing latched"
    );

    assert_eq!(
        rig.raise_c(L),
        2,
        "one raise from a third program reaches both"
    );
    until_line(&mut a, "irq 1");
    until_line(&mut b, "irq 1");
    rig.holds(ap, aid, 1, "a holds one mask");
    rig.holds(bp, bid, 1, "b holds one mask");
    rig.level_is(L, 2, false, "one mask per attachment");

    rig.word("a.u1", "");
    assert_eq!(
        nth(&until_line(&mut a, "unmasked 1"), 2),
        1,
        "a's unmask: 1 left"
    );
    rig.holds(ap, aid, 0, "a gave its mask back");
    rig.level_is(L, 1, false, "b still holds the level masked");

    let out = rig.intr_sim(L, &[]);
    assert!(
        out.contains("masked or unattached"),
        "intr-sim's raise of the level b holds masked: {out}"
    );
    rig.level_is(L, 1, true, "the request is latched");
    assert_eq!(
        rig.att(ap, aid).map(|i| i.delivered),
        Some(1),
        "a got nothing yet"
    );

    rig.word("b.u1", "");
    until_line(&mut b, "unmasked 1");
    // b's unmask brought the count to 0: the latched request went to both at once.
    until_line(&mut a, "irq 2");
    until_line(&mut b, "irq 2");
    rig.level_is(
        L,
        2,
        false,
        "the latched request masked it once per attachment",
    );
    rig.word("a.u2", "");
    rig.word("b.u2", "");
    until_line(&mut a, "unmasked 2");
    until_line(&mut b, "unmasked 2");
    rig.level_is(L, 0, false, "both served");
    rig.word("a.end", "detach");
    rig.word("b.end", "detach");
    ok("driver a", a.finish(RUN), 8);
    ok("driver b", b.finish(RUN), 8);
    assert!(
        rig.k.snapshot().interrupts.iter().all(|i| i.level != L),
        "both detached"
    );
    rig.level_is(L, 0, false, "nothing left on the level");
}

// ------------------------------------------------------------------ kills

#[test]
fn a_driver_killed_holding_the_level_masked_passes_the_latched_request_to_the_other() {
    const L: u32 = 61;
    let rig = Rig::new("rv-intrprog-kill-masked", "review_interrupt_programs");
    let (mut a, aid, _) = rig.event_driver(L, TRK_MSK, "a", 1);
    let (mut b, bid, _) = rig.event_driver(L, "0", "b", 2);
    let (ap, bp) = (a.pid(), b.pid());
    assert_eq!(rig.raise_c(L), 2, "the raise reaches both");
    until_line(&mut a, "irq 1");
    until_line(&mut b, "irq 1");
    rig.word("a.u1", "keep");
    until_line(&mut a, "kept 1");
    rig.word("b.u1", "");
    until_line(&mut b, "unmasked 1");
    rig.holds(ap, aid, 1, "a holds the level masked");
    rig.holds(bp, bid, 0, "b does not");
    rig.level_is(L, 1, false, "masked once, by a");
    assert_eq!(rig.raise_c(L), 0, "a raise of the masked level is latched");
    rig.level_is(L, 1, true, "latched");

    let _ = a.kill();
    rig.reaped(ap);
    // a's teardown gave its tracked mask back: the count fell to 0 and the latched request
    // went to b.
    until_line(&mut b, "irq 2");
    rig.holds(bp, bid, 1, "b holds the mask of the latched request");
    rig.level_is(L, 1, false, "only b's mask is left");
    rig.pidin_forgot(ap);
    rig.word("b.u2", "");
    until_line(&mut b, "unmasked 2");
    rig.level_is(L, 0, false, "the count returned to 0");
    rig.word("b.end", "detach");
    ok("driver b", b.finish(RUN), 8);
    rig.level_is(L, 0, false, "nothing left on the level");
    assert!(rig.k.snapshot().interrupts.is_empty(), "no attachment left");
}

#[test]
fn a_driver_killed_while_intr_blocked_leaves_nothing_and_the_other_keeps_its_interrupts() {
    const L: u32 = 62;
    let rig = Rig::new("rv-intrprog-kill-blocked", "review_interrupt_programs");
    let (a, _aid, atid) = rig.event_driver(L, "0", "a", 1);
    let (mut b, _bid, btid) = rig.event_driver(L, "0", "b", 1);
    let (ap, bp) = (a.pid(), b.pid());
    rig.intr_blocked(ap, atid, "a INTR-blocked in InterruptWait");
    rig.intr_blocked(bp, btid, "b INTR-blocked in InterruptWait");
    let text = rig.pidin();
    for (p, t) in [(ap, atid), (bp, btid)] {
        assert!(
            text.lines().any(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() >= 5 && w[0] == p.to_string() && w[1] == t.to_string() && w[4] == "INTR"
            }),
            "pidin-sim shows pid {p} tid {t} INTR:\n{text}"
        );
    }
    let _ = a.kill();
    rig.reaped(ap);
    rig.pidin_forgot(ap);
    assert_eq!(rig.level(L), (0, false), "the level is as it was");
    assert_eq!(rig.raise_c(L), 1, "a raise now goes to b alone");
    until_line(&mut b, "irq 1");
    rig.word("b.u1", "");
    until_line(&mut b, "unmasked 1");
    rig.level_is(L, 0, false, "b served it");
    rig.word("b.end", "detach");
    ok("driver b", b.finish(RUN), 5);
}

#[test]
fn a_driver_killed_while_its_handler_runs_gives_the_handlers_mask_back() {
    const L: u32 = 63;
    let rig = Rig::new("rv-intrprog-kill-handler", "review_interrupt_programs");
    let mut h = rig.start(&["handler", &L.to_string()]);
    let hw = ready(&mut h);
    let hid: i32 = hw[1].parse().unwrap();
    assert!(hid > 0, "InterruptAttach: {hw:?}");
    let hp = h.pid();
    let (mut e, eid, _) = rig.event_driver(L, "0", "e", 2);
    let ep = e.pid();
    assert_eq!(
        rig.raise_c(L),
        2,
        "the raise reaches the handler and the event driver"
    );
    until_line(&mut h, "handler running");
    until_line(&mut e, "irq 1");
    rig.word("e.u1", "");
    until_line(&mut e, "unmasked 1");
    rig.holds(ep, eid, 0, "e gave its mask back");
    rig.level_is(L, 1, false, "the level stays masked while the handler runs");
    let out = rig.intr_sim(L, &[]);
    assert!(out.contains("masked or unattached"), "latched: {out}");
    rig.level_is(L, 1, true, "the request is latched");

    let _ = h.kill();
    rig.reaped(hp);
    until_line(&mut e, "irq 2");
    rig.level_is(
        L,
        1,
        false,
        "the handler's run gave its mask back; e holds its own",
    );
    rig.pidin_forgot(hp);
    rig.word("e.u2", "");
    until_line(&mut e, "unmasked 2");
    rig.level_is(L, 0, false, "the count returned to 0");
    rig.word("e.end", "detach");
    ok("driver e", e.finish(RUN), 8);
}

#[test]
fn a_driver_exiting_without_detaching_gives_its_tracked_mask_back() {
    const L: u32 = 64;
    let rig = Rig::new("rv-intrprog-exit", "review_interrupt_programs");
    let (mut a, aid, _) = rig.event_driver(L, TRK_MSK, "a", 1);
    let (mut b, _bid, _) = rig.event_driver(L, "0", "b", 2);
    let ap = a.pid();
    assert_eq!(rig.raise_c(L), 2);
    until_line(&mut a, "irq 1");
    until_line(&mut b, "irq 1");
    rig.word("a.u1", "keep");
    until_line(&mut a, "kept 1");
    rig.word("b.u1", "");
    until_line(&mut b, "unmasked 1");
    rig.holds(ap, aid, 1, "a holds the level masked");
    rig.level_is(L, 1, false, "masked by a");
    assert_eq!(rig.raise_c(L), 0, "latched");
    rig.word("a.end", "exit");
    ok("driver a (exits attached)", a.finish(RUN), 4);
    rig.reaped(ap);
    until_line(&mut b, "irq 2");
    rig.level_is(
        L,
        1,
        false,
        "a's exit gave its mask back, b holds the latched one's",
    );
    rig.pidin_forgot(ap);
    rig.word("b.u2", "");
    rig.word("b.end", "detach");
    ok("driver b", b.finish(RUN), 8);
    rig.level_is(L, 0, false, "nothing left");
}

/// docs/deviations.md and design.md ("Teardown"): without `_NTO_INTR_FLAGS_TRK_MSK` the masks an
/// attachment holds stay with the level when it goes (as on QNX: untracked). A driver killed so
/// leaves the level masked with nothing attached, as the kernel's listing and pidin-sim say; a
/// raise then is latched, a driver attached afterwards gets nothing until a program unmasks the
/// level by hand (id -1), and then gets the latched request.
#[test]
fn a_driver_killed_holding_an_untracked_mask_leaves_the_level_masked_as_documented() {
    const L: u32 = 74;
    let rig = Rig::new("rv-intrprog-untracked", "review_interrupt_programs");
    let lv = L.to_string();
    let (mut a, aid, _) = rig.event_driver(L, "0", "a", 1);
    let ap = a.pid();
    assert_eq!(rig.raise_c(L), 1);
    until_line(&mut a, "irq 1");
    rig.word("a.u1", "keep");
    until_line(&mut a, "kept 1");
    rig.holds(ap, aid, 1, "a holds the level masked");
    let _ = a.kill();
    rig.reaped(ap);
    rig.level_is(L, 1, false, "the untracked mask stays with the level");
    let text = rig.pidin();
    assert!(
        text.contains(&format!("interrupt {L}: no attachment; level mask 1")),
        "pidin-sim shows the level left masked:\n{text}"
    );
    rig.pidin_forgot(ap);
    assert_eq!(rig.raise_c(L), 0, "a raise of the masked level: latched");
    rig.level_is(L, 1, true, "latched");
    let (mut b, bid, btid) = rig.event_driver(L, "0", "b", 1);
    let bp = b.pid();
    rig.intr_blocked(bp, btid, "b waits");
    assert_eq!(
        rig.att(bp, bid)
            .map(|i| (i.delivered, i.level_mask, i.level_pending)),
        Some((0, 1, true)),
        "b's attachment: nothing delivered, the level still masked, the request latched"
    );
    let (st, out, _) = rig.start(&["unmask", &lv]).finish(RUN);
    // (Its count: 0, or 1 when the latched request it released has masked the level for b.)
    assert!(
        st.success() && (out.contains("unmasked 0") || out.contains("unmasked 1")),
        "{out}"
    );
    until_line(&mut b, "irq 1");
    rig.level_is(L, 1, false, "the latched request went to b, which holds it");
    rig.word("b.u1", "");
    rig.word("b.end", "detach");
    ok("driver b", b.finish(RUN), 6);
    rig.level_is(L, 0, false, "nothing left");
}

// ------------------------------------------------------------------ other events, other raisers

#[test]
fn pulse_and_signal_drivers_serve_raises_from_other_programs() {
    const LP: u32 = 65;
    const LS: u32 = 66;
    let rig = Rig::new("rv-intrprog-events", "review_interrupt_programs");
    let mut p = rig.start(&["pulse", &LP.to_string(), "3"]);
    ready(&mut p);
    let mut s = rig.start(&["signal", &LS.to_string(), "3"]);
    ready(&mut s);
    for i in 1..=3 {
        // Alternating raisers: a C program and intr-sim.
        if i % 2 == 1 {
            assert_eq!(rig.raise_c(LP), 1, "pulse raise {i}");
            let out = rig.intr_sim(LS, &[]);
            assert!(out.contains("delivered to 1 attachment"), "{out}");
        } else {
            let out = rig.intr_sim(LP, &[]);
            assert!(out.contains("delivered to 1 attachment"), "{out}");
            assert_eq!(rig.raise_c(LS), 1, "signal raise {i}");
        }
        until_line(&mut p, &format!("pulse {i}"));
        until_line(&mut s, &format!("sig {i}"));
        rig.level_is(LP, 0, false, "the pulse driver unmasked");
        rig.level_is(LS, 0, false, "the signal driver unmasked");
    }
    ok("pulse driver", p.finish(RUN), 12);
    ok("signal driver", s.finish(RUN), 8);
}

#[test]
fn periodic_raises_of_intr_sim_are_served_none_lost_beyond_the_latch() {
    const L: u32 = 67;
    let rig = Rig::new("rv-intrprog-periodic", "review_interrupt_programs");
    let mut d = rig.start(&["count", &L.to_string(), "1500"]);
    ready(&mut d);
    let out = rig.intr_sim(L, &["--count", "8", "--every", "0.05"]);
    let summary = out
        .lines()
        .find(|l| l.starts_with("8 raises of level"))
        .unwrap_or_else(|| panic!("intr-sim's summary: {out}"));
    let at_once = nth(summary, 5);
    let (st, dout, err) = d.finish(RUN);
    let served = dout
        .lines()
        .find_map(|l| l.strip_prefix("served "))
        .and_then(|n| n.parse::<i32>().ok())
        .unwrap_or_else(|| panic!("the driver: {dout}"));
    // Each raise delivered at once woke it once; the others were latched (one per unmask).
    assert!(
        served >= at_once.max(1) && served <= 8,
        "served {served}, intr-sim delivered {at_once} at once:\n{out}"
    );
    ok("counting driver", (st, dout, err), 3);
    rig.level_is(L, 0, false, "nothing left");
}

// ------------------------------------------------------------------ exclusive, order

#[test]
fn exclusive_is_refused_across_programs_both_ways() {
    const L: u32 = 68;
    let rig = Rig::new("rv-intrprog-exclusive", "review_interrupt_programs");
    let lv = L.to_string();
    let ebusy = EBUSY.to_string();
    let (a, _, _) = rig.event_driver(L, EXCLUSIVE, "a", 0);
    ok(
        "try plain",
        rig.start(&["try", &lv, "0", &ebusy]).finish(RUN),
        3,
    );
    ok(
        "try exclusive",
        rig.start(&["try", &lv, EXCLUSIVE, &ebusy]).finish(RUN),
        3,
    );
    rig.word("a.end", "detach");
    ok("exclusive driver", a.finish(RUN), 2);
    ok(
        "try exclusive alone",
        rig.start(&["try", &lv, EXCLUSIVE, "0"]).finish(RUN),
        6,
    );
    let (b, _, _) = rig.event_driver(L, "0", "b", 0);
    ok(
        "try exclusive beside a plain one",
        rig.start(&["try", &lv, EXCLUSIVE, &ebusy]).finish(RUN),
        3,
    );
    ok(
        "try plain beside a plain one",
        rig.start(&["try", &lv, "0", "0"]).finish(RUN),
        6,
    );
    rig.word("b.end", "detach");
    ok("plain driver", b.finish(RUN), 2);
    // An exclusive driver killed: its exclusivity goes with it.
    let (c, _, _) = rig.event_driver(L, EXCLUSIVE, "c", 0);
    let cp = c.pid();
    ok(
        "try plain beside an exclusive one",
        rig.start(&["try", &lv, "0", &ebusy]).finish(RUN),
        3,
    );
    let _ = c.kill();
    rig.reaped(cp);
    ok(
        "try exclusive after the exclusive one was killed",
        rig.start(&["try", &lv, EXCLUSIVE, "0"]).finish(RUN),
        6,
    );
}

/// Three programs attach pulse events to one collector's channel on one level: A (no flag), B
/// (`_NTO_INTR_FLAGS_END`), C (no flag), in that order; one raise. The codes in the order the
/// collector received them (the pulses have one priority, so in delivery order).
fn delivery_order(tag: &str) -> Vec<i32> {
    const L: u32 = 69;
    let rig = Rig::new(tag, "review_interrupt_programs");
    let mut col = rig.start(&["collector", "3"]);
    let w = ready(&mut col);
    let lv = L.to_string();
    let dir = rig.dir_arg();
    let mut drivers = Vec::new();
    for (code, flags, t) in [("1", "0", "pa"), ("2", END, "pb"), ("3", "0", "pc")] {
        let mut d = rig.start(&["pulse-to", &w[0], &w[1], &lv, flags, code, &dir, t]);
        ready(&mut d);
        drivers.push((d, t));
    }
    assert_eq!(rig.raise_c(L), 3, "one raise, three attachments");
    let line = until_line(&mut col, "order");
    let order: Vec<i32> = line
        .split_whitespace()
        .skip(1)
        .map(|w| w.parse().unwrap())
        .collect();
    ok("collector", col.finish(RUN), 3);
    for (d, t) in drivers {
        rig.word(&format!("{t}.end"), "");
        ok(t, d.finish(RUN), 4);
    }
    order
}

#[test]
fn the_end_flag_puts_a_programs_attachment_after_the_others() {
    let order = delivery_order("rv-intrprog-end");
    assert_eq!(order.len(), 3, "{order:?}");
    assert_eq!(
        order[2], 2,
        "the _NTO_INTR_FLAGS_END attachment last: {order:?}"
    );
}

/// QNX's InterruptAttach: a new attachment goes in front of the existing ones (it is called
/// first) unless `_NTO_INTR_FLAGS_END` puts it at the end. A, B (END), C attached in that
/// order are called C, A, B.
#[test]
fn a_new_attachment_is_called_before_the_existing_ones() {
    let order = delivery_order("rv-intrprog-front");
    assert_eq!(order, vec![3, 1, 2], "QNX's order: newest first, END last");
}

// ------------------------------------------------------------------ another program's id

/// A victim holding its level masked, an intruder program given its id: the intruder's output,
/// once its checks passed and the victim was found untouched.
fn intrude(tag: &str) -> String {
    const L: u32 = 70;
    let rig = Rig::new(tag, "review_interrupt_programs");
    let (mut v, vid, _) = rig.event_driver(L, "0", "v", 2);
    let vp = v.pid();
    assert_eq!(rig.raise_c(L), 1);
    until_line(&mut v, "irq 1");
    rig.holds(vp, vid, 1, "the victim holds the level masked");
    let (st, out, err) = rig
        .start(&["intruder", &L.to_string(), &vid.to_string()])
        .finish(RUN);
    // Whatever the errno, nothing of the victim's changed.
    let a = rig
        .att(vp, vid)
        .expect("the victim's attachment is still there");
    assert_eq!(a.masks, 1, "the victim still holds its mask:\n{out}");
    rig.level_is(L, 1, false, "the level still masked once");
    rig.word("v.u1", "");
    until_line(&mut v, "unmasked 1");
    assert_eq!(rig.raise_c(L), 1, "the victim still gets its interrupts");
    until_line(&mut v, "irq 2");
    rig.word("v.u2", "");
    rig.word("v.end", "detach");
    ok("victim", v.finish(RUN), 8);
    ok("intruder", (st, out.clone(), err), 8);
    out
}

#[test]
fn another_programs_interrupt_id_is_refused_and_never_detached_masked_or_unmasked() {
    let out = intrude("rv-intrprog-intruder");
    assert!(out.contains("detach -1 "), "{out}");
}

/// QNX 7's InterruptDetach: EPERM "the calling thread isn't in the process that attached the
/// handler or event identified by id" (EINVAL is for an id that does not exist).
#[test]
fn detaching_another_programs_id_is_eperm() {
    let out = intrude("rv-intrprog-eperm");
    let line = out
        .lines()
        .find(|l| l.starts_with("detach "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(nth(line, 2), EPERM, "InterruptDetach's errno: {line}");
    let line_r = out
        .lines()
        .find(|l| l.starts_with("detach_r "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(nth(line_r, 1), -EPERM, "InterruptDetach_r: {line_r}");
}

// ------------------------------------------------------------------ waits

#[test]
fn interrupt_wait_in_a_thread_that_did_not_attach_ends_only_by_its_timeout() {
    const L: u32 = 71;
    let rig = Rig::new("rv-intrprog-otherthread", "review_interrupt_programs");
    let mut d = rig.start(&["other-thread", &L.to_string()]);
    ready(&mut d);
    let tid = nth(&until_line(&mut d, "t-waiting"), 1);
    let pid = d.pid();
    rig.intr_blocked(pid, tid, "the second thread INTR-blocked");
    let text = rig.pidin();
    assert!(
        text.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() >= 5 && w[0] == pid.to_string() && w[1] == tid.to_string() && w[4] == "INTR"
        }),
        "pidin-sim shows the waiting thread INTR:\n{text}"
    );
    let out = rig.intr_sim(L, &[]);
    assert!(out.contains("delivered to 1 attachment"), "{out}");
    until_line(&mut d, "t-done");
    ok("other-thread", d.finish(RUN), 8);
    rig.level_is(L, 0, false, "nothing left");
}

#[test]
fn a_raise_with_nobody_attached_is_dropped_not_latched() {
    const L: u32 = 72;
    let rig = Rig::new("rv-intrprog-unattached", "review_interrupt_programs");
    let out = rig.intr_sim(L, &["--count", "3"]);
    assert!(out.contains("0 delivered at once"), "{out}");
    assert_eq!(
        rig.level(L),
        (0, false),
        "nothing latched on a level nobody holds"
    );
    assert_eq!(rig.raise_c(L), 0, "a C raise: no attachment");
    let d = rig.start(&["quiet", &L.to_string(), "400"]);
    ok(
        "a driver attached afterwards gets nothing",
        d.finish(RUN),
        3,
    );
    rig.level_is(L, 0, false, "nothing left");
}

// ------------------------------------------------------------------ kills under a stream of raises

/// Drivers killed one after another while `intr-sim` raises the level every few milliseconds
/// and a surviving driver serves it: event drivers with `_NTO_INTR_FLAGS_TRK_MSK` killed
/// holding the level masked, and handler drivers killed inside their handler. Each kill must
/// give the level back (else the survivor, and the next victim, never get an interrupt again),
/// and at the end the level is unmasked, nothing is attached and pidin-sim shows none of them.
#[test]
fn drivers_killed_under_a_stream_of_raises_leave_the_level_usable() {
    const L: u32 = 73;
    let rig = Rig::new("rv-intrprog-stream", "review_interrupt_programs");
    let base = rig.k.pool_usage();
    let lv = L.to_string();
    let mut survivor = rig.start(&["count", &lv, "3000"]);
    ready(&mut survivor);
    let sock = rig.socket.display().to_string();
    let raiser = Running::start(
        Path::new(INTR_SIM),
        &[
            "--kernel", &sock, &lv, "--count", "2500", "--every", "0.004", "--quiet",
        ],
        &[] as &[(&str, &str)],
    );
    let mut dead = Vec::new();
    for i in 0..6 {
        let tag = format!("v{i}");
        let v = if i % 2 == 0 {
            rig.word(&format!("{tag}.u1"), "keep");
            let (mut v, _, _) = rig.event_driver(L, TRK_MSK, &tag, 2);
            until_line(&mut v, "kept 1");
            v
        } else {
            let mut v = rig.start(&["handler", &lv]);
            ready(&mut v);
            until_line(&mut v, "handler running");
            v
        };
        let pid = v.pid();
        let _ = v.kill();
        rig.reaped(pid);
        dead.push(pid);
    }
    let (st, out, err) = raiser.finish(RUN);
    assert!(st.success(), "intr-sim: {st} {out} {err}");
    let (st, sout, serr) = survivor.finish(RUN);
    let served: i32 = sout
        .lines()
        .find_map(|l| l.strip_prefix("served "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the survivor: {sout}"));
    assert!(served >= 6, "the survivor served {served} of 2500 raises");
    ok("survivor", (st, sout, serr), 5);
    rig.level_is(L, 0, false, "the level unmasked at the end");
    assert!(rig.k.snapshot().interrupts.is_empty(), "nothing attached");
    for pid in dead {
        rig.pidin_forgot(pid);
    }
    // Every program's objects went back to the pools.
    let live = |u: &kernel_sim::info::PoolUsage| {
        [
            u.processes.live,
            u.threads.live,
            u.channels.live,
            u.connections.live,
            u.pulses.live,
            u.timers.live,
            u.interrupts.live,
        ]
    };
    let want = live(&base);
    wait_until("the pools back to where they were", || {
        live(&rig.k.pool_usage()) == want
    });
}
