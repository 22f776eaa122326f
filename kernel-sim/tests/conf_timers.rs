//! Timers: TimerCreate, TimerSettime, TimerInfo, TimerDestroy with SIGEV_PULSE events
//! (QNX: TimerCreate, TimerSettime, TimerInfo, TimerDestroy, `struct sigevent`).
//!
//! The pool checks here count timers too (`support::live`, `support::timers_live`).

mod support;

use std::time::{Duration, Instant};
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;
const MS: u64 = 1_000_000;

/// The timers these tests make on a [`One`], whose channel gets their pulses.
trait Timers {
    /// A timer on `clock` whose event is a pulse (priority 10, `code`, `value`) on the coid.
    fn timer(&self, clock: i32, code: i8, value: i32) -> i32;
}

impl Timers for One {
    fn timer(&self, clock: i32, code: i8, value: i32) -> i32 {
        let ev = SigEvent::pulse(self.coid, 10, code, value);
        self.t.timer_create(clock, Some(&ev)).unwrap()
    }
}

#[test]
fn one_shot_relative_timer_sends_exactly_one_pulse_then_reports_disarmed() {
    let w = one();
    let id = w.timer(CLOCK_MONOTONIC, 5, 55);
    assert!(id > 0);
    assert_eq!(timers_live(&w.k), 1);
    let fresh = w.t.timer_info(id).unwrap();
    assert_eq!((fresh.remaining, fresh.fired), (0, 0), "created disarmed");
    let t0 = Instant::now();
    let old = w.t.timer_settime(id, 0, 10 * MS, 0).unwrap();
    assert_eq!((old.remaining, old.interval, old.fired), (0, 0, 0));
    let p = receive_pulse(&w.t, w.chid);
    assert!(t0.elapsed() >= Duration::from_millis(10), "not early");
    assert_eq!((p.type_, p.subtype), (0, 0));
    assert_eq!((p.code, p.value_int()), (5, 55));
    assert_eq!(p.scoid, scoid_of(&w.k, w.p.pid, w.coid));
    std::thread::sleep(Duration::from_millis(40));
    assert_nothing_queued(&w.t, w.chid);
    let info = w.t.timer_info(id).unwrap();
    assert_eq!(info.remaining, 0);
    assert_eq!(info.fired, 1);
    assert_eq!(info.interval, 0);
    assert_eq!(info.overruns, 0);
    assert_eq!(info.clock, CLOCK_MONOTONIC);
    w.t.timer_destroy(id).unwrap();
    w.finish();
}

#[test]
fn periodic_timer_keeps_sending_pulses_and_counts_them() {
    let w = one();
    let id = w.timer(CLOCK_MONOTONIC, 6, 66);
    w.t.timer_settime(id, 0, 5 * MS, 5 * MS).unwrap();
    for _ in 0..4 {
        let p = receive_pulse(&w.t, w.chid);
        assert_eq!((p.code, p.value_int()), (6, 66));
    }
    let info = w.t.timer_info(id).unwrap();
    assert!(info.fired >= 4, "fired {}", info.fired);
    assert_eq!(info.interval, 5 * MS);
    assert!(info.remaining > 0, "still armed");
    // fired keeps growing.
    let mut later = info;
    wait_until(&format!("fired to grow past {}", info.fired), || {
        later = w.t.timer_info(id).unwrap();
        later.fired > info.fired
    });
    assert!(later.fired > info.fired);
    w.t.timer_destroy(id).unwrap();
    w.drain();
    w.finish();
}

#[test]
fn absolute_timer_fires_at_the_given_time_on_either_clock() {
    let w = one();
    for clock in [CLOCK_MONOTONIC, CLOCK_REALTIME] {
        let id = w.timer(clock, 7, clock);
        let at = now_ns(clock) + 15 * MS;
        w.t.timer_settime(id, TIMER_ABSTIME, at, 0).unwrap();
        let armed = w.t.timer_info(id).unwrap();
        assert!(armed.remaining > 0 && armed.remaining <= 15 * MS);
        assert_eq!(armed.clock, clock);
        let p = receive_pulse(&w.t, w.chid);
        assert!(now_ns(clock) >= at, "clock {clock}: not early");
        assert_eq!((p.code, p.value_int()), (7, clock));
        let info = w.t.timer_info(id).unwrap();
        assert_eq!((info.remaining, info.fired), (0, 1));
        w.t.timer_destroy(id).unwrap();
    }
    w.finish();
}

#[test]
fn absolute_time_already_past_fires_at_once() {
    let w = one();
    for clock in [CLOCK_MONOTONIC, CLOCK_REALTIME] {
        let id = w.timer(clock, 8, clock);
        w.t.timer_settime(id, TIMER_ABSTIME, now_ns(clock) - 1_000_000_000, 0)
            .unwrap();
        let p = receive_pulse(&w.t, w.chid);
        assert_eq!((p.code, p.value_int()), (8, clock));
        w.t.timer_destroy(id).unwrap();
    }
    w.finish();
}

#[test]
fn rearming_with_value_0_disarms_the_timer() {
    let w = one();
    let id = w.timer(CLOCK_MONOTONIC, 9, 99);
    w.t.timer_settime(id, 0, 5 * MS, 5 * MS).unwrap();
    receive_pulse(&w.t, w.chid);
    receive_pulse(&w.t, w.chid);
    let old = w.t.timer_settime(id, 0, 0, 0).unwrap();
    assert!(old.remaining > 0, "was armed");
    assert_eq!(old.interval, 5 * MS);
    assert!(old.fired >= 2);
    w.drain();
    let fired = w.t.timer_info(id).unwrap().fired;
    std::thread::sleep(Duration::from_millis(30));
    assert_nothing_queued(&w.t, w.chid);
    let info = w.t.timer_info(id).unwrap();
    assert_eq!((info.remaining, info.interval), (0, 0));
    assert_eq!(info.fired, fired, "no expiry after disarming");
    // It can be armed again.
    w.t.timer_settime(id, 0, MS, 0).unwrap();
    assert_eq!(receive_pulse(&w.t, w.chid).code, 9);
    w.t.timer_destroy(id).unwrap();
    w.finish();
}

#[test]
fn armed_timer_reports_its_remaining_time_and_settime_returns_the_old_state() {
    let w = one();
    let id = w.timer(CLOCK_REALTIME, 1, 1);
    let ten_s = 10_000_000_000;
    w.t.timer_settime(id, 0, ten_s, 0).unwrap();
    let info = w.t.timer_info(id).unwrap();
    assert!(info.remaining > 0 && info.remaining <= ten_s);
    assert_eq!(
        (info.interval, info.fired, info.clock),
        (0, 0, CLOCK_REALTIME)
    );
    let old = w.t.timer_settime(id, 0, 2 * ten_s, 3 * ten_s).unwrap();
    assert!(old.remaining > 0 && old.remaining <= ten_s);
    assert_eq!(old.interval, 0);
    let info = w.t.timer_info(id).unwrap();
    assert!(info.remaining > ten_s && info.remaining <= 2 * ten_s);
    assert_eq!(info.interval, 3 * ten_s);
    let old = w.t.timer_settime(id, 0, 0, 0).unwrap();
    assert_eq!(old.interval, 3 * ten_s);
    assert_eq!(w.t.timer_info(id).unwrap().remaining, 0);
    w.t.timer_destroy(id).unwrap();
    assert_nothing_queued(&w.t, w.chid);
    w.finish();
}

#[test]
fn destroyed_timer_is_einval_for_every_timer_call() {
    let w = one();
    let id = w.timer(CLOCK_MONOTONIC, 1, 1);
    w.t.timer_settime(id, 0, 10_000_000_000, 0).unwrap();
    w.t.timer_destroy(id).unwrap();
    assert_eq!(timers_live(&w.k), 0);
    assert_eq!(w.t.timer_info(id), Err(Errno::EINVAL));
    assert_eq!(w.t.timer_settime(id, 0, MS, 0), Err(Errno::EINVAL));
    assert_eq!(w.t.timer_destroy(id), Err(Errno::EINVAL));
    // A new timer in the same slot does not answer to the old id.
    let id2 = w.timer(CLOCK_MONOTONIC, 1, 1);
    assert_ne!(id2, id);
    assert_eq!(w.t.timer_info(id), Err(Errno::EINVAL));
    assert_eq!(w.t.timer_destroy(id), Err(Errno::EINVAL));
    w.t.timer_info(id2).unwrap();
    w.t.timer_destroy(id2).unwrap();
    assert_nothing_queued(&w.t, w.chid);
    w.finish();
}

#[test]
fn timer_of_another_process_is_einval() {
    let w = one();
    let id = w.timer(CLOCK_MONOTONIC, 1, 1);
    let other = w.k.process_create().unwrap();
    let o = w.k.thread_attach(other, 10).unwrap();
    assert_eq!(o.timer_info(id), Err(Errno::EINVAL));
    assert_eq!(o.timer_settime(id, 0, MS, 0), Err(Errno::EINVAL));
    assert_eq!(o.timer_destroy(id), Err(Errno::EINVAL));
    // The owner's timer is untouched.
    let info = w.t.timer_info(id).unwrap();
    assert_eq!((info.remaining, info.fired), (0, 0));
    drop(o);
    w.k.process_destroy(other).unwrap();
    w.t.timer_destroy(id).unwrap();
    w.finish();
}

#[test]
fn garbage_timer_ids_and_settime_flags_are_einval() {
    let w = one();
    for id in [0, -1, i32::MIN, i32::MAX, 0x1234] {
        assert_eq!(w.t.timer_info(id), Err(Errno::EINVAL), "id {id:#x}");
        assert_eq!(w.t.timer_settime(id, 0, MS, 0), Err(Errno::EINVAL));
        assert_eq!(w.t.timer_destroy(id), Err(Errno::EINVAL));
    }
    let id = w.timer(CLOCK_MONOTONIC, 1, 1);
    for flags in [1, 2, 1 << 30, TIMER_ABSTIME | 1] {
        assert_eq!(
            w.t.timer_settime(id, flags, MS, 0),
            Err(Errno::EINVAL),
            "flags {flags:#x}"
        );
    }
    assert_eq!(w.t.timer_info(id).unwrap().remaining, 0, "left disarmed");
    w.t.timer_destroy(id).unwrap();
    w.finish();
}

#[test]
fn unknown_clock_is_einval_for_timer_create() {
    let w = one();
    let ev = SigEvent::pulse(w.coid, 10, 1, 1);
    for clock in [2, 3, 4, 7, -1, 99] {
        assert_eq!(
            w.t.timer_create(clock, Some(&ev)),
            Err(Errno::EINVAL),
            "clock {clock}"
        );
    }
    assert_eq!(timers_live(&w.k), 0);
    w.finish();
}

#[test]
fn exhausted_timer_pool_is_eagain_until_a_timer_is_destroyed() {
    let w = one_with(Config {
        max_timers: 2,
        ..Config::default()
    });
    let a = w.timer(CLOCK_MONOTONIC, 1, 1);
    let b = w.timer(CLOCK_REALTIME, 2, 2);
    let ev = SigEvent::pulse(w.coid, 10, 3, 3);
    assert_eq!(
        w.t.timer_create(CLOCK_MONOTONIC, Some(&ev)),
        Err(Errno::EAGAIN)
    );
    assert_eq!(timers_live(&w.k), 2);
    w.t.timer_destroy(a).unwrap();
    let c = w.t.timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
    w.t.timer_settime(c, 0, MS, 0).unwrap();
    assert_eq!(receive_pulse(&w.t, w.chid).code, 3);
    w.t.timer_destroy(b).unwrap();
    w.t.timer_destroy(c).unwrap();
    assert_eq!(timers_live(&w.k), 0);
    w.finish();
}

#[test]
fn timer_with_an_undeliverable_event_is_refused_at_create() {
    let w = one();
    let chid2 = w.t.channel_create(0).unwrap();
    let dead = w.t.connect_attach(0, 0, chid2, SIDE, 0).unwrap();
    w.t.channel_destroy(chid2).unwrap();
    let thread_ev = SigEvent {
        sigev_notify: sigev::SIGEV_THREAD,
        ..SigEvent::default()
    };
    let cases = [
        (
            SigEvent::pulse((SIDE | 0x44) as i32, 10, 1, 1),
            Errno::EINVAL,
        ),
        (SigEvent::pulse(7, 10, 1, 1), Errno::EINVAL),
        (SigEvent::pulse(dead, 10, 1, 1), Errno::EINVAL),
        (SigEvent::pulse(w.coid, 0, 1, 1), Errno::EINVAL),
        (SigEvent::signal(65), Errno::EINVAL),
        (thread_ev, Errno::EINVAL),
    ];
    for (ev, e) in cases {
        assert_eq!(
            w.t.timer_create(CLOCK_MONOTONIC, Some(&ev)),
            Err(e),
            "{ev:?}"
        );
    }
    assert_eq!(
        timers_live(&w.k),
        0,
        "no timer allocated for a refused event"
    );
    w.t.connect_detach(dead).unwrap();
    w.finish();
}

#[test]
fn timer_pulse_with_inherited_priority_takes_the_creating_threads_base_priority() {
    let w = one();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let coid = w.coid;
    let creator = spawn(&w.k, w.p, 30, move |c| {
        let ev = SigEvent::pulse(coid, -1, 4, 44);
        let id = c.timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
        c.timer_settime(id, 0, MS, 0).unwrap();
        // Stay alive until the pulse has been received.
        let _ = rx.recv_timeout(DEADLINE);
        id
    });
    let p = receive_pulse(&w.t, w.chid);
    assert_eq!((p.code, p.value_int()), (4, 44));
    assert_eq!(w.t.priority().unwrap(), (10, 30));
    let _ = tx.send(());
    let id = creator.join();
    w.t.timer_destroy(id).unwrap();
    w.finish();
}

#[test]
fn timer_keeps_firing_to_its_process_after_the_creating_thread_exits() {
    let w = one();
    let coid = w.coid;
    let creator = spawn(&w.k, w.p, 10, move |c| {
        let ev = SigEvent::pulse(coid, -1, 10, 1010);
        let id = c.timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
        c.timer_settime(id, 0, 5 * MS, 5 * MS).unwrap();
        id
    });
    let tid = creator.tid;
    let id = creator.join();
    wait_gone(&w.k, w.p.pid, tid);
    w.drain();
    for _ in 0..3 {
        let p = receive_pulse(&w.t, w.chid);
        assert_eq!((p.code, p.value_int()), (10, 1010));
    }
    // The timer belongs to the process: any of its threads may use and destroy it.
    assert!(w.t.timer_info(id).unwrap().fired >= 3);
    w.t.timer_destroy(id).unwrap();
    w.drain();
    w.finish();
}

#[test]
fn failed_deliveries_do_not_stop_a_periodic_timer() {
    let w = one();
    let chid2 = w.t.channel_create(0).unwrap();
    let coid2 = w.t.connect_attach(0, 0, chid2, SIDE, 0).unwrap();
    let ev = SigEvent::pulse(coid2, 10, 1, 1);
    let id = w.t.timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
    w.t.channel_destroy(chid2).unwrap();
    w.t.timer_settime(id, 0, 2 * MS, 2 * MS).unwrap();
    wait_until("the timer to fire 3 times", || {
        w.t.timer_info(id).unwrap().fired >= 3
    });
    // The timer's own pulse (reserved at TimerCreate) is the only pulse: nothing was queued.
    assert_eq!(live(&w.k)[4], 1, "nothing was queued anywhere");
    w.t.timer_destroy(id).unwrap();
    assert_eq!(live(&w.k)[4], 0, "the timer's pulse went with it");
    w.t.connect_detach(coid2).unwrap();
    w.finish();
}

#[test]
fn timer_with_a_signal_event_sends_the_signal_to_the_creating_thread() {
    let signo = install_rt_handler(7);
    let w = one();
    let ev = SigEvent::signal_thread(signo, 707, -70);
    let id = w.t.timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
    w.t.timer_settime(id, 0, MS, 0).unwrap();
    let r = wait_signal(signo, 1);
    assert_eq!((r.code, r.value, r.tid), (-70, 707, os_tid()));
    w.t.timer_destroy(id).unwrap();
    w.finish();
}

#[test]
fn process_destroy_frees_the_process_timers() {
    let k = Kernel::new(Config {
        max_timers: 2,
        ..Config::default()
    })
    .unwrap();
    let start = live(&k);
    let a = k.process_create().unwrap();
    let t = k.thread_attach(a, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    let coid = t.connect_attach(0, 0, chid, SIDE, 0).unwrap();
    for v in 0..2 {
        let id = t
            .timer_create(CLOCK_MONOTONIC, Some(&SigEvent::pulse(coid, 10, 1, v)))
            .unwrap();
        t.timer_settime(id, 0, MS, MS).unwrap();
    }
    assert_eq!(timers_live(&k), 2);
    receive_pulse(&t, chid);
    drop(t);
    k.process_destroy(a).unwrap();
    assert_eq!(timers_live(&k), 0);
    assert_eq!(live(&k), start, "timers, pulses and all else freed");
    // Another process gets the whole pool.
    let b = k.process_create().unwrap();
    let u = k.thread_attach(b, 10).unwrap();
    let chid = u.channel_create(0).unwrap();
    let coid = u.connect_attach(0, 0, chid, SIDE, 0).unwrap();
    let ev = SigEvent::pulse(coid, 10, 1, 1);
    let x = u.timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
    let y = u.timer_create(CLOCK_REALTIME, Some(&ev)).unwrap();
    u.timer_destroy(x).unwrap();
    u.timer_destroy(y).unwrap();
    drop(u);
    teardown(&k, &[b], start);
}

#[test]
fn a_pulse_timer_whose_last_pulse_is_still_queued_counts_overruns_instead_of_queueing_more() {
    let w = one();
    let id = w.timer(CLOCK_MONOTONIC, 6, 66);
    w.t.timer_settime(id, 0, MS, MS).unwrap();
    // Nobody receives for a while: the expiries merge into the one queued pulse.
    wait_until("5 overruns counted", || {
        w.t.timer_info(id).unwrap().overruns >= 5
    });
    assert_eq!(
        queued(&w.k, w.p.pid, w.chid),
        1,
        "one pulse queued, however many expiries"
    );
    assert_eq!(live(&w.k)[4], 1, "and it is the timer's own");
    w.t.timer_settime(id, 0, 0, 0).unwrap();
    let p = receive_pulse(&w.t, w.chid);
    assert_eq!((p.code, p.value_int()), (6, 66));
    assert_eq!(w.drain(), 0);
    w.t.timer_destroy(id).unwrap();
    w.finish();
}

#[test]
fn a_pulse_timer_keeps_notifying_when_others_have_exhausted_the_pulse_pool() {
    let w = one_with(Config {
        max_pulses: 4,
        ..Config::default()
    });
    let id = w.timer(CLOCK_MONOTONIC, 7, 77);
    // Another channel, never read, takes every pulse left.
    let chid2 = w.t.channel_create(0).unwrap();
    let coid2 = w.t.connect_attach(0, 0, chid2, SIDE, 0).unwrap();
    while w.t.msg_send_pulse(coid2, 10, 1, 1).is_ok() {}
    assert_eq!(w.t.msg_send_pulse(coid2, 10, 1, 1), Err(Errno::EAGAIN));
    // The timer still gets through, every time it is received (its expiries come while
    // nobody waits in a receive, so each must be queued). (Polled: the timer service may run
    // late on a loaded machine; a pulse that never comes fails after the bound.)
    w.t.timer_settime(id, 0, MS, MS).unwrap();
    for _ in 0..3 {
        let until = Instant::now() + Duration::from_secs(10);
        let p = loop {
            std::thread::sleep(Duration::from_millis(2));
            if let Some(p) = poll_pulse(&w.t, w.chid) {
                break p;
            }
            assert!(Instant::now() < until, "the timer's pulse is never queued");
        };
        assert_eq!((p.code, p.value_int()), (7, 77));
    }
    w.t.timer_destroy(id).unwrap();
    w.drain();
    w.t.channel_destroy(chid2).unwrap();
    w.t.connect_detach(coid2).unwrap();
    w.finish();
}

#[test]
fn timer_create_with_a_pulse_event_is_eagain_when_no_pulse_is_left() {
    let w = one_with(Config {
        max_pulses: 2,
        ..Config::default()
    });
    while w.t.msg_send_pulse(w.coid, 10, 1, 1).is_ok() {}
    let ev = SigEvent::pulse(w.coid, 10, 3, 3);
    assert_eq!(
        w.t.timer_create(CLOCK_MONOTONIC, Some(&ev)),
        Err(Errno::EAGAIN)
    );
    assert_eq!(timers_live(&w.k), 0, "no timer was left behind");
    // Other events need no pulse.
    let id =
        w.t.timer_create(CLOCK_MONOTONIC, Some(&SigEvent::none()))
            .unwrap();
    w.t.timer_destroy(id).unwrap();
    w.drain();
    w.finish();
}

#[test]
fn a_timer_with_a_sigev_intr_event_ends_its_threads_interrupt_wait() {
    // (A periodic SIGEV_INTR timer is what a driver's tick looks like to InterruptWait.)
    let w = one();
    let id =
        w.t.timer_create(CLOCK_MONOTONIC, Some(&SigEvent::intr()))
            .unwrap();
    w.t.timer_settime(id, 0, 2 * MS, 2 * MS).unwrap();
    for _ in 0..3 {
        w.t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, Some(10_000 * MS))
            .unwrap();
        assert_eq!(w.t.interrupt_wait(0), Ok(()));
    }
    assert!(w.t.timer_info(id).unwrap().fired >= 3);
    w.t.timer_destroy(id).unwrap();
    w.finish();
}
