//! Timers: TimerCreate, TimerSettime, TimerInfo, TimerDestroy, and the firing of due timers,
//! all with explicit clock readings.

use super::{done, Bench, Buf, Entry, Out};
use crate::abi::consts::*;
use crate::abi::errno::Errno;
use crate::abi::types::{SigEvent, TimerInfo};
use crate::calls::timer::{fire_due, timer_create, timer_destroy, timer_info, timer_settime};
use crate::calls::{Caller, Effects, Step};

fn create(b: &Bench, me: Caller, clock: i32, ev: Option<SigEvent>) -> Result<Step, Errno> {
    b.run(|t, fx| timer_create(t, me, clock, ev, fx)).0
}

fn settime(
    b: &Bench,
    me: Caller,
    id: i32,
    flags: u32,
    value: u64,
    interval: u64,
    now: u64,
) -> Result<Step, Errno> {
    b.run(|t, _| timer_settime(t, me, id, flags, value, interval, [now, now], 0))
        .0
}

fn info(b: &Bench, me: Caller, id: i32, now: u64) -> TimerInfo {
    let out = Out::<TimerInfo>::default();
    assert_eq!(
        b.run(|t, _| timer_info(t, me, id, [now, now], out.addr()))
            .0,
        Ok(Step::Done(0))
    );
    out.get()
}

fn fire(b: &Bench, now: u64) -> (Option<u64>, Effects) {
    let mut fx = Effects::default();
    let next = b.tables(|t| fire_due(t, [now, now], &mut fx));
    b.check();
    (next, fx)
}

/// A process with a channel and a coid to it, for timers' pulses.
fn owner(b: &Bench) -> (Caller, i32, i32) {
    let me = b.spawn(10);
    let chid = b.channel(me, 0);
    let coid = b.attach(me, me, chid);
    (me, chid, coid)
}

#[test]
fn timer_create_settime_info_and_destroy_with_explicit_times() {
    let b = Bench::new();
    let (me, _, coid) = owner(&b);
    let live = b.live();
    let id = done(create(
        &b,
        me,
        CLOCK_MONOTONIC,
        Some(SigEvent::pulse(coid, 20, 3, 77)),
    )) as i32;
    assert!(id > 0);
    assert_eq!(b.live().timers, live.timers + 1);
    assert_eq!(
        b.live().pulses,
        live.pulses + 1,
        "a pulse timer reserves its pulse"
    );
    assert_eq!(
        info(&b, me, id, 5_000),
        TimerInfo {
            remaining: 0,
            expiry: 0,
            interval: 0,
            overruns: 0,
            fired: 0,
            clock: CLOCK_MONOTONIC
        },
        "created disarmed"
    );

    assert_eq!(settime(&b, me, id, 0, 1_000, 500, 5_000), Ok(Step::Done(0)));
    let i = info(&b, me, id, 5_600);
    assert_eq!((i.remaining, i.expiry, i.interval), (400, 6_000, 500));
    assert_eq!(
        info(&b, me, id, 9_999).remaining,
        1,
        "due but not fired: still armed"
    );

    // Re-arming writes the old state out; an absolute time is taken as is.
    let old = Out::<TimerInfo>::default();
    let r = b
        .run(|t, _| timer_settime(t, me, id, TIMER_ABSTIME, 8_000, 0, [5_500, 0], old.addr()))
        .0;
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!((old.get().remaining, old.get().interval), (500, 500));
    assert_eq!(
        info(&b, me, id, 7_000),
        TimerInfo {
            remaining: 1_000,
            expiry: 8_000,
            clock: CLOCK_MONOTONIC,
            ..Default::default()
        }
    );
    // Value 0 disarms.
    assert_eq!(settime(&b, me, id, 0, 0, 100, 7_000), Ok(Step::Done(0)));
    assert_eq!(info(&b, me, id, 7_000).remaining, 0);
    assert_eq!(fire(&b, 1 << 40).0, None, "nothing armed");

    assert_eq!(b.run(|t, _| timer_destroy(t, me, id)).0, Ok(Step::Done(0)));
    assert_eq!(b.live(), live, "the timer and its pulse are freed");
    assert_eq!(b.run(|t, _| timer_destroy(t, me, id)).0, Err(Errno::EINVAL));
}

#[test]
fn timer_calls_refuse_bad_clocks_flags_ids_and_other_processes_timers() {
    let b = Bench::new();
    let (me, _, coid) = owner(&b);
    let other = b.spawn(10);
    assert_eq!(create(&b, me, 7, None), Err(Errno::EINVAL));
    assert_eq!(
        create(
            &b,
            me,
            CLOCK_MONOTONIC,
            Some(SigEvent::pulse(coid + 1, 10, 1, 1))
        ),
        Err(Errno::EINVAL),
        "a pulse on a coid that is no connection: an event it could not deliver"
    );
    assert_eq!(
        create(&b, me, CLOCK_MONOTONIC, Some(SigEvent::signal(99))),
        Err(Errno::EINVAL)
    );
    assert_eq!(b.live().timers, 0);
    let id = done(create(&b, me, CLOCK_MONOTONIC, None)) as i32;
    assert_eq!(
        settime(&b, me, id, 1, 10, 0, 0),
        Err(Errno::EINVAL),
        "unknown flag"
    );
    for bad in [0, -1, id + 1, id | (1 << 20)] {
        assert_eq!(
            settime(&b, me, bad, 0, 10, 0, 0),
            Err(Errno::EINVAL),
            "id {bad:#x}"
        );
    }
    assert_eq!(
        settime(&b, other, id, 0, 10, 0, 0),
        Err(Errno::EINVAL),
        "not its timer"
    );
    assert_eq!(
        b.run(|t, _| timer_destroy(t, other, id)).0,
        Err(Errno::EINVAL)
    );
    // The pool (4) runs out.
    for _ in 0..3 {
        done(create(&b, me, CLOCK_REALTIME, None));
    }
    assert_eq!(create(&b, me, CLOCK_MONOTONIC, None), Err(Errno::EAGAIN));
}

#[test]
fn fire_due_delivers_a_pulse_rearms_a_periodic_timer_and_returns_the_time_to_the_next() {
    let b = Bench::new();
    let (me, chid, coid) = owner(&b);
    let ch = b.chan(me, chid);
    let periodic = done(create(
        &b,
        me,
        CLOCK_MONOTONIC,
        Some(SigEvent::pulse(coid, 20, 3, 77)),
    )) as i32;
    let later = done(create(
        &b,
        me,
        CLOCK_MONOTONIC,
        Some(SigEvent::pulse(coid, 20, 4, 88)),
    )) as i32;
    done(settime(&b, me, periodic, 0, 1_000, 500, 0));
    done(settime(&b, me, later, 0, 3_000, 0, 0));

    assert_eq!(fire(&b, 999).0, Some(1), "nothing due yet");
    assert_eq!(b.queued(ch), 0);
    let (next, fx) = fire(&b, 1_200);
    assert_eq!(next, Some(300), "the periodic one is next due at 1500");
    assert!(fx.wake.is_empty());
    assert_eq!(
        b.sendq(ch),
        [Entry::Pulse {
            code: 3,
            value: 77,
            prio: 20
        }]
    );
    let i = info(&b, me, periodic, 1_200);
    assert_eq!((i.fired, i.overruns, i.remaining), (1, 0, 300));

    // Taken by a receiver, the timer's pulse is not freed: it is the timer's.
    let pulses = b.live().pulses;
    let rbuf = Buf::zeroed(32);
    assert_eq!(b.receive(me, chid, rbuf, 0).0, Ok(Step::Done(0)));
    assert_eq!((rbuf.pulse().code, rbuf.pulse().value), (3, 77));
    assert_eq!(b.live().pulses, pulses);

    // A receiver waiting gets the next one straight away.
    assert_eq!(b.receive(me, chid, rbuf, 0).0, Ok(Step::Block));
    let (next, fx) = fire(&b, 1_500);
    assert_eq!(next, Some(500));
    assert_eq!(&fx.wake[..], &[me.thread.index]);
    assert_eq!(b.queued(ch), 0);
}

#[test]
fn fire_due_counts_the_periods_a_late_service_missed_as_overruns() {
    let b = Bench::new();
    let (me, _, coid) = owner(&b);
    let id = done(create(
        &b,
        me,
        CLOCK_MONOTONIC,
        Some(SigEvent::pulse(coid, 20, 3, 0)),
    )) as i32;
    done(settime(&b, me, id, 0, 1_000, 100, 0));
    let (next, _) = fire(&b, 1_350);
    assert_eq!(next, Some(50), "re-armed on the period's grid: 1400");
    let i = info(&b, me, id, 1_350);
    assert_eq!((i.fired, i.overruns), (1, 3));
}

#[test]
fn a_pulse_timer_whose_last_pulse_is_still_queued_merges_into_it_as_an_overrun() {
    let b = Bench::new();
    let (me, chid, coid) = owner(&b);
    let ch = b.chan(me, chid);
    let id = done(create(
        &b,
        me,
        CLOCK_MONOTONIC,
        Some(SigEvent::pulse(coid, 20, 3, 0)),
    )) as i32;
    done(settime(&b, me, id, 0, 100, 100, 0));
    fire(&b, 100);
    fire(&b, 200);
    fire(&b, 300);
    assert_eq!(b.queued(ch), 1, "one pulse, not three");
    let i = info(&b, me, id, 300);
    assert_eq!((i.fired, i.overruns), (1, 2));
}

#[test]
fn a_one_shot_timer_disarms_after_firing_and_a_signal_timer_records_the_signal() {
    let b = Bench::new();
    let me = b.spawn(10);
    let id = done(create(&b, me, CLOCK_REALTIME, None)) as i32;
    done(
        b.run(|t, _| timer_settime(t, me, id, 0, 50, 0, [0, 1_000], 0))
            .0,
    );
    let mut fx = Effects::default();
    assert_eq!(
        b.tables(|t| fire_due(t, [1_000_000, 1_049], &mut fx)),
        Some(1),
        "on its own clock"
    );
    let next = b.tables(|t| fire_due(t, [0, 1_050], &mut fx));
    assert_eq!(next, None, "one-shot: disarmed");
    assert_eq!(fx.signals.len(), 1);
    assert_eq!(
        (fx.signals[0].signo, fx.signals[0].proc),
        (libc::SIGALRM, me.proc)
    );
    let i = info(&b, me, id, 2_000);
    assert_eq!((i.fired, i.remaining, i.clock), (1, 0, CLOCK_REALTIME));
}

#[test]
fn a_null_event_timer_signals_sigalrm_with_si_timer_and_its_id_as_the_value() {
    let b = Bench::new();
    let me = b.spawn(10);
    let id = done(create(&b, me, CLOCK_MONOTONIC, None)) as i32;
    // A plain SIGEV_SIGNAL timer keeps its value and gets SI_TIMER too (QNX's ker_timer_create).
    let plain = done(create(
        &b,
        me,
        CLOCK_MONOTONIC,
        Some(SigEvent::signal_value(libc::SIGUSR1, 44)),
    )) as i32;
    done(settime(&b, me, id, 0, 10, 0, 0));
    done(settime(&b, me, plain, 0, 10, 0, 0));
    let (_, fx) = fire(&b, 10);
    let mut got: Vec<_> = fx
        .signals
        .iter()
        .map(|s| (s.signo, s.code, s.value))
        .collect();
    got.sort();
    let mut want = vec![
        (libc::SIGALRM, libc::SI_TIMER, id as u32 as u64),
        (libc::SIGUSR1, libc::SI_TIMER, 44),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn a_timer_delivers_to_the_thread_that_last_armed_it() {
    let b = Bench::new();
    let me = b.spawn(10);
    let other = b.thread(me.proc, 10);
    let id = done(create(
        &b,
        me,
        CLOCK_MONOTONIC,
        Some(SigEvent::signal_thread(libc::SIGUSR2, 321, -127)),
    )) as i32;
    // (Linux tids to tell the threads' signals apart.)
    b.tables(|t| t.threads.at_mut(me.thread.index).os_tid = 1_001);
    b.tables(|t| t.threads.at_mut(other.thread.index).os_tid = 1_002);
    let os_tid = |c: Caller| b.tables(|t| t.threads.at(c.thread.index).os_tid);
    done(settime(&b, other, id, 0, 10, 0, 0));
    let (_, fx) = fire(&b, 10);
    assert_eq!(fx.signals.len(), 1);
    assert_eq!(
        fx.signals[0].os_tid,
        os_tid(other),
        "the arming thread, not the creator"
    );
    // Disarming (value 0) does not change the target; arming again does.
    done(settime(&b, me, id, 0, 0, 0, 10));
    done(settime(&b, other, id, 0, 10, 0, 10));
    let (_, fx) = fire(&b, 20);
    assert_eq!(fx.signals[0].os_tid, os_tid(other));
    done(settime(&b, me, id, 0, 10, 0, 20));
    let (_, fx) = fire(&b, 30);
    assert_eq!(fx.signals[0].os_tid, os_tid(me));
}
