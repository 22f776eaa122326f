#![cfg(loom)]
//! loom models of a simulated interrupt racing the driver that waits for it.
//!
//! * A raise from a device thread races the driver's InterruptWait and its kernel timeout
//!   (`_NTO_TIMEOUT_INTR`, which loom may fire wherever the wait blocks): the one `SIGEV_INTR`
//!   is taken exactly once, by that wait or, if it timed out first, by the next one, which
//!   then returns at once.
//! * A raise races the detach of a `_NTO_INTR_FLAGS_TRK_MSK` attachment: whichever comes
//!   first, the level ends unmasked with nothing latched, and every object is freed.
//!
//! Run with `--cfg loom` (see docs/toolbox.md, "loom, as it works here").

mod support;

use loom::thread;
use support::*;

const LEVEL: i32 = 3;

static COVER_WAIT: Coverage = Coverage::new(&[
    "the wait took the interrupt (it came while INTR-blocked or before)",
    "the wait timed out, the next one took the interrupt at once",
]);

#[test]
fn a_raise_racing_interrupt_wait_and_its_timeout_is_taken_exactly_once() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let start = k.pool_usage();
        let p = k.process_create().unwrap();
        let driver = k.thread_attach(p, 10).unwrap();
        let id = driver
            .interrupt_attach_event(LEVEL, &SigEvent::intr(), _NTO_INTR_FLAGS_TRK_MSK)
            .unwrap();
        let kd = k.clone();
        let device = thread::spawn(move || kd.interrupt_raise(LEVEL));

        arm_any_moment(&driver, _NTO_TIMEOUT_INTR);
        let first = driver.interrupt_wait(0);
        assert_eq!(
            device.join().unwrap(),
            Ok(1),
            "delivered: the level was unmasked"
        );
        // The raise has happened: a poll now finds the interrupt only if the first wait did not
        // take it.
        driver
            .timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, None)
            .unwrap();
        let second = driver.interrupt_wait(0);
        match (first, second) {
            (Ok(()), Err(Errno::ETIMEDOUT)) => COVER_WAIT.hit(0),
            (Err(Errno::ETIMEDOUT), Ok(())) => COVER_WAIT.hit(1),
            other => panic!("one interrupt, taken exactly once: {other:?}"),
        }
        assert_eq!(
            driver.interrupt_unmask(LEVEL, id),
            Ok(0),
            "masked once, by the raise"
        );
        driver.interrupt_detach(id).unwrap();
        drop(driver);
        k.process_destroy(p).unwrap();
        assert_freed(&k, start);
    });
    COVER_WAIT.check();
}

static COVER_DETACH: Coverage = Coverage::new(&[
    "raised first: the delivery's mask given back at the detach",
    "detached first: the raise found no attachment",
]);

#[test]
fn a_raise_racing_a_tracked_detach_leaves_the_level_unmasked() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let start = k.pool_usage();
        let p = k.process_create().unwrap();
        let driver = k.thread_attach(p, 10).unwrap();
        let id = driver
            .interrupt_attach_event(LEVEL, &SigEvent::intr(), _NTO_INTR_FLAGS_TRK_MSK)
            .unwrap();
        let kd = k.clone();
        let device = thread::spawn(move || kd.interrupt_raise(LEVEL));
        driver.interrupt_detach(id).unwrap();
        let delivered = device.join().unwrap().unwrap();
        COVER_DETACH.hit(if delivered == 1 { 0 } else { 1 });
        // Nothing holds the level: one mask makes the count 1, its unmask 0.
        assert_eq!(
            driver.interrupt_mask(LEVEL, -1),
            Ok(1),
            "the level was unmasked"
        );
        assert_eq!(driver.interrupt_unmask(LEVEL, -1), Ok(0));
        // Nothing latched: a new attachment gets nothing until the next raise.
        let id2 = driver
            .interrupt_attach_event(LEVEL, &SigEvent::intr(), 0)
            .unwrap();
        driver
            .timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, None)
            .unwrap();
        if delivered == 1 {
            // (The first attachment's SIGEV_INTR is the thread's, pending: taken here.)
            assert_eq!(driver.interrupt_wait(0), Ok(()));
            driver
                .timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, None)
                .unwrap();
        }
        assert_eq!(driver.interrupt_wait(0), Err(Errno::ETIMEDOUT));
        driver.interrupt_detach(id2).unwrap();
        drop(driver);
        k.process_destroy(p).unwrap();
        assert_freed(&k, start);
    });
    COVER_DETACH.check();
}
